"""Transaction logs from pandas DataFrames, numpy arrays or CSV files."""
import ctypes

import numpy as np

from . import _lib
from ._arrays import as_f64, ptr
from ._errors import check

DATE_FORMATS = {"auto": 0, "iso": 1, "yyyymmdd": 2, "epoch": 3}


class CsvOptions(ctypes.Structure):
    """Mirror of churn_csv_options (size-versioned; struct_size set automatically)."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("has_header", ctypes.c_int),
        ("delimiter", ctypes.c_int),
        ("date_format", ctypes.c_int),
        ("skip_bad_rows", ctypes.c_int),
        ("id_column", ctypes.c_char_p),
        ("time_column", ctypes.c_char_p),
        ("amount_column", ctypes.c_char_p),
        ("quantity_column", ctypes.c_char_p),
        ("product_column", ctypes.c_char_p),
        ("max_messages", ctypes.c_size_t),
    ]


_csv_options_init = _lib.fn("churn_csv_options_init", None, ctypes.POINTER(CsvOptions))
_read_csv = _lib.fn("churn_txlog_read_csv", ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p,
                    ctypes.POINTER(CsvOptions))


def to_epoch_seconds(values, name="time"):
    """Datetimes, date strings or numbers (taken as epoch seconds) -> float64 seconds."""
    import pandas as pd
    if hasattr(values, "dtype") and np.issubdtype(getattr(values, "dtype"), np.number):
        return as_f64(values, name)
    s = pd.Series(values) if not isinstance(values, pd.Series) else values
    if pd.api.types.is_datetime64_any_dtype(s):
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        t = s.astype("datetime64[ns]")
    else:
        try:
            t = pd.to_datetime(s, utc=True).dt.tz_localize(None).astype("datetime64[ns]")
        except (ValueError, TypeError) as e:
            raise ValueError(f"column '{name}': cannot parse as dates: {e}") from None
    if t.isna().any():
        row = int(np.flatnonzero(t.isna().to_numpy())[0])
        raise ValueError(f"column '{name}', row {row}: missing or unparseable date")
    return t.to_numpy().view("int64").astype(np.float64) / 1e9


class TransactionLog:
    """A purchase history held by libchurn (customer, time, amount[, quantity, product]).

    Build it with :meth:`from_dataframe`, :meth:`from_arrays` or :meth:`read_csv`.
    """

    def __init__(self):
        h = ctypes.c_void_p()
        check(_lib.churn_txlog_new(ctypes.byref(h)))
        self._h = h.value
        self._refs = []

    def __del__(self):
        h, self._h = getattr(self, "_h", None), None
        if h:
            _lib.churn_txlog_free(h)

    @classmethod
    def read_csv(cls, path, customer="customer_id", time="date", amount="amount",
                 quantity=None, product=None, header=True, delimiter=None,
                 date_format="auto", skip_bad_rows=False):
        """Read a CSV file with the C reader (columns by header name or 1-based position)."""
        log = cls()
        o = CsvOptions()
        _csv_options_init(ctypes.byref(o))
        o.has_header = 1 if header else 0
        if delimiter is not None:
            o.delimiter = {"tab": 9, "space": 32, "whitespace": 32}.get(delimiter, None) or \
                ord(delimiter)
        o.date_format = DATE_FORMATS[date_format]
        o.skip_bad_rows = 1 if skip_bad_rows else 0
        keep = []
        for field, v in (("id_column", customer), ("time_column", time),
                         ("amount_column", amount), ("quantity_column", quantity),
                         ("product_column", product)):
            if v is not None:
                b = str(v).encode()
                keep.append(b)
                setattr(o, field, b)
        check(_read_csv(log._h, str(path).encode(), ctypes.byref(o)))
        return log

    @classmethod
    def from_arrays(cls, customer, time, amount, quantity=None, product=None):
        """Customer ids (int or str), times (datetimes, date strings or epoch seconds), amounts."""
        log = cls()
        log.append(customer, time, amount, quantity, product)
        return log

    @classmethod
    def from_dataframe(cls, df, customer="customer_id", time="date", amount="amount",
                       quantity=None, product=None):
        """Build a log from a pandas DataFrame; column names are arguments."""
        for c in (customer, time, amount, quantity, product):
            if c is not None and c not in df.columns:
                raise KeyError(f"column '{c}' is not in the DataFrame "
                               f"(columns: {', '.join(map(str, df.columns))})")
        return cls.from_arrays(df[customer], df[time], df[amount],
                               None if quantity is None else df[quantity],
                               None if product is None else df[product])

    def append(self, customer, time, amount, quantity=None, product=None):
        ids = np.asarray(customer.to_numpy() if hasattr(customer, "to_numpy") else customer)
        n = ids.shape[0]
        t = to_epoch_seconds(time)
        if t.shape[0] != n:
            raise ValueError(f"time: length {t.shape[0]} does not match {n} customer ids")
        a = as_f64(amount, "amount", n)
        q = None if quantity is None else as_f64(quantity, "quantity", n)
        if ids.dtype.kind in "iu":
            ids64 = np.ascontiguousarray(ids, dtype=np.int64)
            prod = None
            if product is not None:
                prod = np.ascontiguousarray(np.asarray(product), dtype=np.int64)
                if prod.shape[0] != n:
                    raise ValueError(f"product: length {prod.shape[0]} does not match {n}")
            check(_lib.churn_txlog_append_arrays(
                self._h, n, ids64.ctypes.data_as(_lib.c_int64_p), ptr(t), ptr(a), ptr(q),
                None if prod is None else prod.ctypes.data_as(_lib.c_int64_p)))
        else:
            enc = (ctypes.c_char_p * n)(*[str(v).encode() for v in ids])
            penc = None
            if product is not None:
                pv = list(product)
                if len(pv) != n:
                    raise ValueError(f"product: length {len(pv)} does not match {n}")
                penc = (ctypes.c_char_p * n)(*[None if v is None else str(v).encode()
                                               for v in pv])
            check(_lib.churn_txlog_append_arrays_str(self._h, n, enc, ptr(t), ptr(a), ptr(q),
                                                     penc))
        return self

    @property
    def num_transactions(self):
        return _lib.churn_txlog_num_transactions(self._h)

    @property
    def num_customers(self):
        return _lib.churn_txlog_num_customers(self._h)

    def customer_ids(self):
        return [_lib.churn_txlog_customer_id(self._h, i).decode()
                for i in range(self.num_customers)]

    @property
    def date_range(self):
        import pandas as pd
        lo, hi = _lib.churn_txlog_min_time(self._h), _lib.churn_txlog_max_time(self._h)
        return (pd.Timestamp(lo, unit="s"), pd.Timestamp(hi, unit="s"))

    @property
    def rows_skipped(self):
        return _lib.churn_txlog_rows_skipped(self._h)

    def skip_messages(self):
        out, i = [], 0
        while True:
            m = _lib.churn_txlog_skip_message(self._h, i)
            if m is None:
                return out
            out.append(m.decode())
            i += 1

    def __len__(self):
        return self.num_transactions

    def __repr__(self):
        if self.num_transactions == 0:
            return "<TransactionLog: empty>"
        lo, hi = self.date_range
        return (f"<TransactionLog: {self.num_transactions} transactions, "
                f"{self.num_customers} customers, {lo.date()} .. {hi.date()}>")
