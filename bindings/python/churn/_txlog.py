"""Transaction logs from pandas DataFrames, numpy arrays or CSV files."""
import ctypes

import numpy as np

try:
    import pandas as pd
except ImportError:  # pragma: no cover - pandas is a dependency, but arrays work without
    pd = None

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


def _c_strings(ids):
    """A `char **` of the ids' text (str(v) UTF-8), for append_arrays_str.

    Returns (pointer, keep): `keep` holds the bytes the pointers point into and must
    live until the C call returns. A column of strings (the usual case: ids read by
    pandas) is factorized first so that each distinct id is encoded once and the
    pointer array is built by numpy indexing; other object columns take str(v) of
    every element (ids such as 1 and 1.0 hash equal but print differently)."""
    n = len(ids)
    if n and pd is not None and pd.api.types.infer_dtype(ids, skipna=False) == "string":
        codes, uniq = pd.factorize(ids)
        keep = [str(v).encode() for v in uniq]
        addr = np.fromiter((ctypes.cast(ctypes.c_char_p(b), ctypes.c_void_p).value
                            for b in keep), dtype=np.uint64, count=len(keep))
        ptrs = np.ascontiguousarray(addr[codes])
        return ptrs.ctypes.data_as(ctypes.POINTER(ctypes.c_char_p)), (keep, ptrs)
    enc = (ctypes.c_char_p * n)(*[str(v).encode() for v in ids])
    return enc, enc


_csv_options_init = _lib.fn("churn_csv_options_init", None, ctypes.POINTER(CsvOptions))
_read_csv = _lib.fn("churn_txlog_read_csv", ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p,
                    ctypes.POINTER(CsvOptions))
_read_csv_buffer = _lib.fn("churn_txlog_read_csv_buffer", ctypes.c_int, ctypes.c_void_p,
                           ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(CsvOptions))
_append = _lib.fn("churn_txlog_append", ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p,
                  ctypes.c_double, ctypes.c_double)
_append_ex = _lib.fn("churn_txlog_append_ex", ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p,
                     ctypes.c_double, ctypes.c_double, ctypes.c_double, ctypes.c_char_p)
_find_customer = _lib.fn("churn_txlog_find_customer", ctypes.c_int, ctypes.c_void_p,
                         ctypes.c_char_p, _lib.c_size_t_p)
_format_date = _lib.fn("churn_format_date", ctypes.c_int, ctypes.c_double, ctypes.c_char_p,
                       ctypes.c_size_t)
_customers = _lib.fn("churn_txlog_customers", _lib.c_uint32_p, ctypes.c_void_p)
_times = _lib.fn("churn_txlog_times", _lib.c_double_p, ctypes.c_void_p)
_amounts = _lib.fn("churn_txlog_amounts", _lib.c_double_p, ctypes.c_void_p)
_quantities = _lib.fn("churn_txlog_quantities", _lib.c_double_p, ctypes.c_void_p)
_products = _lib.fn("churn_txlog_products", _lib.c_uint32_p, ctypes.c_void_p)
_num_products = _lib.fn("churn_txlog_num_products", ctypes.c_size_t, ctypes.c_void_p)
_product_id = _lib.fn("churn_txlog_product_id", ctypes.c_char_p, ctypes.c_void_p,
                      ctypes.c_size_t)


def format_date(seconds):
    """Epoch seconds -> ISO date text 'YYYY-MM-DD' (UTC), as the C library writes it."""
    buf = ctypes.create_string_buffer(32)
    check(_format_date(float(seconds), buf, 32))
    return buf.value.decode()


def to_epoch_seconds(values, name="time"):
    """Datetimes, date strings or numbers (taken as epoch seconds) -> float64 seconds."""
    import pandas as pd
    dt = getattr(values, "dtype", None)
    if dt is None and isinstance(values, (list, tuple)):
        # a plain list: numbers are epoch seconds as for arrays (pandas would take them
        # as nanoseconds)
        arr = np.asarray(values)
        if arr.dtype.kind in "iuf":
            values, dt = arr, arr.dtype
    if dt is not None and pd.api.types.is_numeric_dtype(dt) and not \
            pd.api.types.is_bool_dtype(dt):
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
        self._int_ids = None  # True while every id appended was an integer

    def __del__(self):
        h, self._h = getattr(self, "_h", None), None
        if h:
            _lib.churn_txlog_free(h)

    # ---- pickling / copying: the rows, never the C handle ----
    def __getstate__(self):
        n = self.num_transactions
        state = {"ids": self.customer_ids(), "int_ids": self._int_ids, "n": n}
        if n:
            state["customer"] = np.ctypeslib.as_array(_customers(self._h), shape=(n,)).copy()
            state["times"] = np.ctypeslib.as_array(_times(self._h), shape=(n,)).copy()
            state["amounts"] = np.ctypeslib.as_array(_amounts(self._h), shape=(n,)).copy()
            qp = _quantities(self._h)   # NULL when no row has a quantity
            q = np.ctypeslib.as_array(qp, shape=(n,)).copy() if qp else None
            state["quantities"] = None if q is None or np.isnan(q).all() else q
            if _num_products(self._h) and _products(self._h):
                prod = np.ctypeslib.as_array(_products(self._h), shape=(n,)).copy()
                names = [_product_id(self._h, i).decode()
                         for i in range(_num_products(self._h))]
                state["products"] = [None if v >= len(names) else names[v]
                                     for v in prod.tolist()]
        return state

    def __setstate__(self, state):
        h = ctypes.c_void_p()
        check(_lib.churn_txlog_new(ctypes.byref(h)))
        self._h = h.value
        self._refs = []
        self._int_ids = state["int_ids"]
        n = state["n"]
        if n:
            ids = state["ids"]
            enc = (ctypes.c_char_p * n)(*[ids[i].encode() for i in state["customer"]])
            q = state.get("quantities")
            prods = state.get("products")
            penc = None if prods is None else (ctypes.c_char_p * n)(
                *[None if v is None else v.encode() for v in prods])
            self._append_runs(n, enc, state["times"], state["amounts"], q, penc)

    def _append_runs(self, n, enc, times, amounts, q, penc):
        """Append rows whose unknown amounts are NaN (a pickled log): each run of rows
        with or without amounts in one C call, amounts NULL for the unknown ones."""
        unknown = np.isnan(amounts)
        cuts = np.flatnonzero(np.diff(unknown.astype(np.int8))) + 1
        size = ctypes.sizeof(ctypes.c_char_p)
        for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, n]):
            lo, hi = int(lo), int(hi)
            ids = ctypes.cast(ctypes.addressof(enc) + lo * size, ctypes.POINTER(ctypes.c_char_p))
            prods = None if penc is None else ctypes.cast(ctypes.addressof(penc) + lo * size,
                                                          ctypes.POINTER(ctypes.c_char_p))
            check(_lib.churn_txlog_append_arrays_str(
                self._h, hi - lo, ids, ptr(times[lo:hi]),
                None if unknown[lo] else ptr(amounts[lo:hi]),
                None if q is None else ptr(q[lo:hi]), prods))

    @staticmethod
    def _csv_options(customer, time, amount, quantity, product, header, delimiter,
                     date_format, skip_bad_rows):
        o = CsvOptions()
        _csv_options_init(ctypes.byref(o))
        o.has_header = 1 if header else 0
        if delimiter is not None:
            named = {"tab": 9, "space": 32, "whitespace": 32}
            if delimiter in named:
                o.delimiter = named[delimiter]
            elif isinstance(delimiter, str) and len(delimiter) == 1:
                o.delimiter = ord(delimiter)
            else:
                raise ValueError(f"delimiter: {delimiter!r} is not one character, 'tab' or "
                                 "'space'")
        if date_format not in DATE_FORMATS:
            raise ValueError(f"date_format: {date_format!r} is not one of "
                             f"{', '.join(DATE_FORMATS)}")
        o.date_format = DATE_FORMATS[date_format]
        o.skip_bad_rows = 1 if skip_bad_rows else 0
        for field, v in (("id_column", customer), ("time_column", time),
                         ("amount_column", amount), ("quantity_column", quantity),
                         ("product_column", product)):
            if v is not None:
                setattr(o, field, str(v).encode())  # the struct keeps the bytes alive
        if amount is None:
            o.amount_column = b""  # the C reader's "no amount column": amounts unknown
        return o

    @classmethod
    def read_csv(cls, path, customer="customer_id", time="date", amount="amount",
                 quantity=None, product=None, header=True, delimiter=None,
                 date_format="auto", skip_bad_rows=False):
        """Read a CSV file with the C reader (columns by header name or 1-based position).

        `delimiter`: None (detect), one character, 'tab' or 'space' (runs of blanks);
        `date_format`: 'auto', 'iso', 'yyyymmdd' or 'epoch'. Bad rows fail with the file,
        line and column in the message unless `skip_bad_rows` (then see
        :attr:`rows_skipped` and :meth:`skip_messages`). ``amount=None`` reads a file
        without an amount column (customer, date): every amount is unknown (NaN), see
        :meth:`from_arrays`."""
        log = cls()
        o = cls._csv_options(customer, time, amount, quantity, product, header, delimiter,
                             date_format, skip_bad_rows)
        check(_read_csv(log._h, str(path).encode(), ctypes.byref(o)))
        log._int_ids = False
        return log

    @classmethod
    def read_csv_text(cls, text, customer="customer_id", time="date", amount="amount",
                      quantity=None, product=None, header=True, delimiter=None,
                      date_format="auto", skip_bad_rows=False):
        """As :meth:`read_csv`, from CSV text (str or bytes) in memory."""
        log = cls()
        o = cls._csv_options(customer, time, amount, quantity, product, header, delimiter,
                             date_format, skip_bad_rows)
        raw = text.encode() if isinstance(text, str) else bytes(text)
        check(_read_csv_buffer(log._h, raw, len(raw), ctypes.byref(o)))
        log._int_ids = False
        return log

    def add(self, customer, time, amount=None, quantity=None, product=None):
        """Append one purchase.

        Parameters
        ----------
        customer : str or int
            Customer id.
        time : str, datetime or float
            Date of the purchase (a date text, a datetime or epoch seconds).
        amount : float or None
            Amount (negative: a refund); None: unknown (a purchase without an amount,
            see :meth:`from_arrays`).
        quantity : float, optional
            Units bought.
        product : str or int, optional
            Product or category id.

        Returns
        -------
        TransactionLog
            self.
        """
        from ._customers import time_arg
        if amount is None:
            return self.append([customer], [time_arg(time, "time")], None,
                               None if quantity is None else [quantity],
                               None if product is None else [product])
        t = time_arg(time, "time")
        cid = str(customer).encode()
        if quantity is None and product is None:
            check(_append(self._h, cid, t, float(amount)))
        else:
            check(_append_ex(self._h, cid, t, float(amount),
                             float("nan") if quantity is None else float(quantity),
                             None if product is None else str(product).encode()))
        is_int = isinstance(customer, (int, np.integer)) and not isinstance(customer, bool)
        self._int_ids = is_int if self._int_ids is None else (self._int_ids and is_int)
        return self

    def customer_index(self, customer):
        """Position of a customer id in :meth:`customer_ids` (KeyError when absent)."""
        i = ctypes.c_size_t()
        check(_find_customer(self._h, str(customer).encode(), ctypes.byref(i)))
        return i.value

    @classmethod
    def from_arrays(cls, customer, time, amount=None, quantity=None, product=None):
        """Build a log from arrays, one element per purchase.

        Parameters
        ----------
        customer : array-like of int or str
            Customer ids.
        time : array-like
            Purchase times: datetimes, date strings or epoch seconds.
        amount : array-like of float or None
            Amounts (negative: refunds). None: the log has no amounts (a common export
            of customer and date only); every amount is unknown, stored as NaN, and
            every purchase is an order. Purchase counts and the BTYD models are as with
            amounts; the customer table's spend columns are NaN and the spend models
            (Gamma-Gamma, CLV, :func:`churn.retention_report`) refuse them. A NaN inside
            an array of amounts is an error (a missing value is not an unknown amount).
        quantity : array-like of float, optional
            Units bought (NaN: unknown).
        product : array-like, optional
            Product or category ids.

        Returns
        -------
        TransactionLog
        """
        log = cls()
        log.append(customer, time, amount, quantity, product)
        return log

    @classmethod
    def from_dataframe(cls, df, customer="customer_id", time="date", amount="amount",
                       quantity=None, product=None):
        """Build a log from a pandas DataFrame; column names are arguments.

        Parameters
        ----------
        df : pandas.DataFrame
            One row per purchase.
        customer, time : str
            Names of the customer id and purchase time columns.
        amount : str or None
            Name of the amount column; None: the frame has no amounts (every amount
            unknown, see :meth:`from_arrays`).
        quantity, product : str, optional
            Names of the quantity and product columns.

        Returns
        -------
        TransactionLog
        """
        for c in (customer, time, amount, quantity, product):
            if c is not None and c not in df.columns:
                raise KeyError(f"column '{c}' is not in the DataFrame "
                               f"(columns: {', '.join(map(str, df.columns))})")
        return cls.from_arrays(df[customer], df[time], None if amount is None else df[amount],
                               None if quantity is None else df[quantity],
                               None if product is None else df[product])

    def append(self, customer, time, amount=None, quantity=None, product=None):
        """Append purchases given as arrays (as :meth:`from_arrays`); returns self.

        Parameters
        ----------
        customer, time, amount, quantity, product
            As :meth:`from_arrays`; ``amount=None`` appends purchases of unknown amount.

        Returns
        -------
        TransactionLog
            self.
        """
        ids = np.asarray(customer.to_numpy() if hasattr(customer, "to_numpy") else customer)
        n = ids.shape[0]
        t = to_epoch_seconds(time)
        if t.shape[0] != n:
            raise ValueError(f"time: length {t.shape[0]} does not match {n} customer ids")
        a = None if amount is None else as_f64(amount, "amount", n)
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
            if self._int_ids is None:
                self._int_ids = True
        else:
            enc, keep = _c_strings(ids)
            penc = None
            if product is not None:
                pv = list(product)
                if len(pv) != n:
                    raise ValueError(f"product: length {len(pv)} does not match {n}")
                penc = (ctypes.c_char_p * n)(*[None if v is None else str(v).encode()
                                               for v in pv])
            check(_lib.churn_txlog_append_arrays_str(self._h, n, enc, ptr(t), ptr(a), ptr(q),
                                                     penc))
            del keep  # the id bytes lived until the call returned
            self._int_ids = False
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

    def to_dataframe(self):
        """The transactions as a DataFrame: customer_id, date (datetime64), amount
        [, quantity, product], in input order."""
        import pandas as pd
        from ._customers import customer_ids_index
        n = self.num_transactions
        if n == 0:
            return pd.DataFrame({"customer_id": [], "date": pd.to_datetime([]), "amount": []})
        cust = np.ctypeslib.as_array(_customers(self._h), shape=(n,))
        ids = customer_ids_index(self.customer_ids(), bool(self._int_ids)).to_numpy()
        t = np.ctypeslib.as_array(_times(self._h), shape=(n,))
        a = np.ctypeslib.as_array(_amounts(self._h), shape=(n,)).copy()
        out = {"customer_id": ids[cust],
               "date": pd.to_datetime(np.round(t * 1e6).astype(np.int64), unit="us"),
               "amount": a}
        qp = _quantities(self._h)       # NULL when no row has a quantity
        q = np.ctypeslib.as_array(qp, shape=(n,)) if qp else None
        if q is not None and not np.isnan(q).all():
            out["quantity"] = q.copy()
        if _num_products(self._h) and _products(self._h):
            prod = np.ctypeslib.as_array(_products(self._h), shape=(n,))
            names = np.array([_product_id(self._h, i).decode()
                              for i in range(_num_products(self._h))] + [None], dtype=object)
            out["product"] = names[np.minimum(prod, len(names) - 1)]
        return pd.DataFrame(out)

    def __len__(self):
        return self.num_transactions

    def __repr__(self):
        if self.num_transactions == 0:
            return "<TransactionLog: empty>"
        lo, hi = self.date_range
        return (f"<TransactionLog: {self.num_transactions} transactions, "
                f"{self.num_customers} customers, {lo.date()} .. {hi.date()}>")
