"""Transaction logs from pandas DataFrames, numpy arrays or CSV files."""
import ctypes

import numpy as np

try:
    import pandas as pd
except ImportError:  # pragma: no cover - pandas is a dependency, but arrays work without
    pd = None

from . import _lib
from ._arrays import as_f64, ptr
from ._dates import to_epoch_seconds  # noqa: F401 - the dates of every Python input
from ._errors import check
from ._ids import id_column, id_text, ids_index, packed_ids, packed_index  # noqa: F401

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
        ("allow_empty", ctypes.c_int),           # 1.2
        ("max_record_bytes", ctypes.c_size_t),   # 1.2; the init writes the whole C struct
    ]


def _c_strings(ids):
    """A `char **` of the ids' text (UTF-8), for append_arrays_str.

    `ids` are texts (str), as :func:`churn._ids.id_column` returns them. Returns
    (pointer, keep): `keep` holds the bytes the pointers point into and must live until
    the C call returns. All texts are encoded with one ``"\\0".join(...).encode()``
    into one buffer and each row's pointer is the buffer's address plus its offset
    (a cumulative sum of the lengths): no per-row Python call (the C library interns
    the ids itself, so factorizing them first in Python would only hash them twice)."""
    return _pointers(ids.tolist() if hasattr(ids, "tolist") else list(ids), None)


def _pointers(texts, codes):
    """(char ** of texts[codes], keep): one buffer of the NUL-terminated texts
    (`codes` None: every text in order). ``keep[2]``: no text holds a NUL (C reads
    every text whole)."""
    raw = "\0".join(texts).encode() + b"\0"
    k = len(texts)
    ends = np.flatnonzero(np.frombuffer(raw, dtype=np.uint8) == 0)
    whole = ends.shape[0] == k
    if not whole:  # a text holds NUL itself: its C string ends there
        ends = np.cumsum(np.fromiter((len(t.encode()) + 1 for t in texts), dtype=np.int64,
                                     count=k)) - 1
    offsets = np.zeros(k, dtype=np.int64)
    offsets[1:] = ends[:-1] + 1
    buf = ctypes.create_string_buffer(raw, len(raw))
    offsets += ctypes.addressof(buf)
    ptrs = offsets.view(np.uint64) if codes is None else \
        np.ascontiguousarray(offsets.view(np.uint64)[codes])
    return ptrs.ctypes.data_as(ctypes.POINTER(ctypes.c_char_p)), (buf, ptrs, whole)


def _categorical_ids(ids, name):
    """A categorical id column: its categories are the distinct ids and its codes a free
    integer map, so only the categories are converted (``("int", int64 per row)`` or
    ``("text", (category texts, codes))``); None for other columns."""
    if pd is None or not isinstance(getattr(ids, "dtype", None), pd.CategoricalDtype):
        return None
    codes = np.asarray(ids.cat.codes if hasattr(ids, "cat") else ids.codes, dtype=np.int64)
    if codes.size and codes.min() < 0:
        from ._ids import _missing
        r = int(np.flatnonzero(codes < 0)[0])
        raise _missing(name, ids, r, ids.iloc[r] if hasattr(ids, "iloc") else ids[r])
    cats = ids.cat.categories if hasattr(ids, "cat") else ids.categories
    kind, cids = id_column(pd.Series(cats.to_numpy()), name)
    if kind == "int":
        return "int", np.ascontiguousarray(cids[codes])
    return "text", (cids.tolist(), codes)  # id_column's texts are str already


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


class TransactionLog:
    """A purchase history held by libchurn (customer, time, amount[, quantity, product]).

    Build it with :meth:`from_dataframe`, :meth:`from_arrays` or :meth:`read_csv`.

    A DataFrame works wherever a log is taken (:meth:`coerce`).

    Examples
    --------
    >>> log = churn.TransactionLog.from_arrays([1, 1, 2], ["1997-01-01", "1997-02-01",
    ...                                                  "1997-01-05"], [10.0, 20.0, 5.0])
    >>> log
    <TransactionLog: 3 transactions, 2 customers, 1997-01-01 .. 1997-02-01>
    """

    def __init__(self):
        h = ctypes.c_void_p()
        check(_lib.churn_txlog_new(ctypes.byref(h)))
        self._h = h.value
        self._refs = []
        self._id_texts = None

    def __del__(self):
        h, self._h = getattr(self, "_h", None), None
        if h:
            _lib.churn_txlog_free(h)

    # ---- pickling / copying: the rows, never the C handle ----
    def __getstate__(self):
        n = self.num_transactions
        state = {"ids": self.customer_ids(), "n": n}
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
        self._id_texts = None
        n = state["n"]
        if n:
            ids = state["ids"]
            enc, keep = _pointers(list(ids), np.asarray(state["customer"], dtype=np.int64))
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
            ids = ctypes.cast(ctypes.cast(enc, ctypes.c_void_p).value + lo * size,
                              ctypes.POINTER(ctypes.c_char_p))
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
        :meth:`from_arrays`.

        Parameters
        ----------
        path : str or os.PathLike
            The CSV file.
        customer, time, amount, quantity, product : str or int or None
            Columns by header name or 1-based position (`amount` None: no amounts).
        header : bool, default True
            The file has a header line.
        delimiter : str, optional
            None (detect), one character, 'tab' or 'space'.
        date_format : str, default 'auto'
            'auto', 'iso', 'yyyymmdd' or 'epoch'.
        skip_bad_rows : bool, default False
            Skip (and count) bad rows instead of failing.

        Returns
        -------
        TransactionLog

        Examples
        --------
        >>> lines = ["customer_id,date,amount", "1,1997-01-01,10", "2,1997-01-05,5"]
        >>> _ = open("tx.csv", "w").write(chr(10).join(lines) + chr(10))
        >>> churn.TransactionLog.read_csv("tx.csv").num_customers
        2
        """
        log = cls()
        o = cls._csv_options(customer, time, amount, quantity, product, header, delimiter,
                             date_format, skip_bad_rows)
        check(_read_csv(log._h, str(path).encode(), ctypes.byref(o)))
        return log

    @classmethod
    def read_csv_text(cls, text, customer="customer_id", time="date", amount="amount",
                      quantity=None, product=None, header=True, delimiter=None,
                      date_format="auto", skip_bad_rows=False):
        """As :meth:`read_csv`, from CSV text (str or bytes) in memory.

        Parameters
        ----------
        text : str or bytes
            The CSV text.
        customer, time, amount, quantity, product : str or int or None
            Columns, as in :meth:`read_csv`.
        header : bool, default True
            The text has a header line.
        delimiter : str, optional
            None (detect), one character, 'tab' or 'space'.
        date_format : str, default 'auto'
            'auto', 'iso', 'yyyymmdd' or 'epoch'.
        skip_bad_rows : bool, default False
            Skip (and count) bad rows.

        Returns
        -------
        TransactionLog

        Examples
        --------
        >>> text = chr(10).join(["customer_id,date,amount", "a,1997-01-01,10", "b,oops,5"])
        >>> log = churn.TransactionLog.read_csv_text(text, skip_bad_rows=True)
        >>> log.num_transactions, log.rows_skipped
        (1, 1)
        """
        log = cls()
        o = cls._csv_options(customer, time, amount, quantity, product, header, delimiter,
                             date_format, skip_bad_rows)
        raw = text.encode() if isinstance(text, str) else bytes(text)
        check(_read_csv_buffer(log._h, raw, len(raw), ctypes.byref(o)))
        return log

    def add(self, customer, time, amount=None, quantity=None, product=None, *,
            date_format="auto", dayfirst=None):
        """Append one purchase; returns self.

        Parameters
        ----------
        customer : int or str
            The customer id (whole-number floats are integers; missing is an error).
        time : date
            A datetime, date text or number, read as a value of a time column
            (see :meth:`from_dataframe` for `date_format` and `dayfirst`).
        amount : float or None
            The amount (negative: a refund); None: unknown (a purchase without an
            amount, see :meth:`from_arrays`).
        quantity : float, optional
        product : str, optional
        date_format : str, default "auto"
        dayfirst : bool, optional
            How to read `time`; see :meth:`from_dataframe`.

        Returns
        -------
        TransactionLog
            self.

        Examples
        --------
        >>> log = churn.TransactionLog().add("c1", "1997-01-01", 10.0).add("c1", "1997-01-08", 4.0)
        >>> log.num_transactions, log.customer_ids()
        (2, ['c1'])
        """
        from ._dates import time_arg
        if amount is None:
            return self.append([customer], [time], None,
                               None if quantity is None else [quantity],
                               None if product is None else [product],
                               date_format=date_format, dayfirst=dayfirst)
        t = time_arg(time, "time", date_format, dayfirst)
        cid = id_text(customer, "customer").encode()
        if quantity is None and product is None:
            check(_append(self._h, cid, t, float(amount)))
        else:
            check(_append_ex(self._h, cid, t, float(amount),
                             float("nan") if quantity is None else float(quantity),
                             None if product is None else str(product).encode()))
        return self

    def customer_index(self, customer):
        """Position of a customer id in :meth:`customer_ids`.

        Parameters
        ----------
        customer : int or str
            The customer id.

        Returns
        -------
        int

        Raises
        ------
        KeyError
            The customer is not in the log.

        Examples
        --------
        >>> log = churn.TransactionLog.from_arrays([1, 1, 2], ["1997-01-01", "1997-02-01",
        ...                                                  "1997-01-05"], [10.0, 20.0, 5.0])
        >>> log.customer_index(2)
        1
        """
        i = ctypes.c_size_t()
        check(_find_customer(self._h, id_text(customer).encode(), ctypes.byref(i)))
        return i.value

    @classmethod
    def from_arrays(cls, customer, time, amount=None, quantity=None, product=None, *,
                    date_format="auto", dayfirst=None):
        """Build a log from arrays (or lists, or pandas Series).

        Parameters
        ----------
        customer : array_like
            Customer ids: integers or text (whole-number floats are integers; a missing
            id is an error naming its row).
        time : array_like
            Datetimes, date texts or numbers; see :meth:`from_dataframe`.
        amount : array_like or None
            Amounts (negative: refunds). None: the log has no amounts (a common export
            of customer and date only); every amount is unknown, stored as NaN, and
            every purchase is an order. Purchase counts and the BTYD models are as with
            amounts; the customer table's spend columns are NaN and the spend models
            (Gamma-Gamma, CLV, :func:`churn.retention_report`) refuse them. A NaN inside
            an array of amounts is an error (a missing value is not an unknown amount).
        quantity, product : array_like, optional
        date_format : str, default "auto"
            How to read `time`; see :meth:`from_dataframe`.
        dayfirst : bool, optional
            For day/month texts such as '01/02/1997'; see :meth:`from_dataframe`.

        Returns
        -------
        TransactionLog

        Examples
        --------
        >>> log = churn.TransactionLog.from_arrays([1, 1, 2], ["1997-01-01", "1997-02-01",
        ...                                                  "1997-01-05"], [10.0, 20.0, 5.0])
        >>> log.num_transactions
        3
        """
        log = cls()
        log.append(customer, time, amount, quantity, product, date_format=date_format,
                   dayfirst=dayfirst)
        return log

    @classmethod
    def from_dataframe(cls, df, customer="customer_id", time="date", amount="amount",
                       quantity=None, product=None, *, date_format="auto", dayfirst=None):
        """Build a log from a pandas DataFrame of transactions.

        Parameters
        ----------
        df : pandas.DataFrame
            One row per transaction.
        customer, time, amount, quantity, product : str
            Column names (`amount` None: the frame has no amounts, every amount
            unknown, see :meth:`from_arrays`). Customer ids are integers or text; a missing id (NaN, None)
            is an error naming its row, and whole-number floats (1.0, as a merge leaves
            them) are the integers.
        date_format : str, default "auto"
            How to read the time column. "auto" reads datetimes as instants (naive =
            UTC), ISO text as ISO, 8-digit numbers or digit texts as YYYYMMDD (as the
            CSV reader and ``churn --date-format auto`` do: ``pd.read_csv`` gives
            CDNOW's 19970101 as int64), other numbers as epoch seconds, and checks
            that numbers give dates between 1900 and 2200 and not all within a year of
            1970. Otherwise 'iso', 'yyyymmdd', 'epoch' (seconds), 'epoch_ms',
            'epoch_us', 'epoch_ns', or a strftime pattern such as '%d/%m/%Y' (strict).
        dayfirst : bool, optional
            For texts such as '01/02/1997': True = day first, False = month first.
            None (default): such an ambiguous text is an error naming its row.

        Returns
        -------
        TransactionLog

        Raises
        ------
        KeyError
            A named column is absent.
        ValueError
            A missing id or date, an unparseable, ambiguous or implausible date; the
            message names the column and the row, and what was assumed.

        Examples
        --------
        >>> df = pd.DataFrame({"cid": ["a", "a", "b"], "ts": [19970101, 19970201, 19970105],
        ...                    "value": [10.0, 20.0, 5.0]})
        >>> log = churn.TransactionLog.from_dataframe(df, customer="cid", time="ts",
        ...                                           amount="value")
        >>> log.date_range[1]
        Timestamp('1997-02-01 00:00:00')
        """
        return cls._from_frame(df, customer, time, amount, quantity, product, date_format,
                               dayfirst)

    @classmethod
    def _from_frame(cls, df, customer, time, amount, quantity, product, date_format,
                    dayfirst, keep_texts=False):
        """:meth:`from_dataframe` after the column check. ``keep_texts=True`` (for
        :func:`churn.customer_table`): when the ids went to C as texts that C holds as
        they are (no NUL inside), ``log._id_texts`` is ``(texts, codes)``: the id text of
        row i is ``texts[i]`` (``codes`` None) or ``texts[codes[i]]`` (a categorical's
        categories); otherwise None."""
        for c in (customer, time, amount, quantity, product):
            if c is not None and c not in df.columns:
                raise KeyError(f"column '{c}' is not in the DataFrame "
                               f"(columns: {', '.join(map(str, df.columns))})")
        log = cls()
        log._append(df[customer], df[time], None if amount is None else df[amount],
                    None if quantity is None else df[quantity],
                    None if product is None else df[product], date_format, dayfirst,
                    (str(customer), str(time)), keep_texts)
        return log

    @classmethod
    def coerce(cls, obj, customer="customer_id", time="date", amount="amount",
               quantity=None, product=None, *, date_format="auto", dayfirst=None,
               name="transactions"):
        """`obj` as a TransactionLog: for functions that accept either a log or a DataFrame.

        Parameters
        ----------
        obj : TransactionLog or pandas.DataFrame
            A log is returned as it is (the column arguments are then ignored); a
            DataFrame of transactions is read with :meth:`from_dataframe`.
        customer, time, amount, quantity, product : str or None
            Column names of a DataFrame, with the documented defaults
            ``customer_id``, ``date``, ``amount``. ``amount=None``: no amounts (every
            amount unknown). When `amount` is left at "amount" and the frame has no
            such column, the amounts are unknown too (a frame of customer and date
            only, as plots of purchase counts need).
        date_format : str, default "auto"
        dayfirst : bool, optional
            How to read the time column; see :meth:`from_dataframe`.
        name : str, default "transactions"
            The argument's name in the TypeError for anything else.

        Returns
        -------
        TransactionLog

        Raises
        ------
        TypeError
            `obj` is neither a TransactionLog nor a DataFrame (the message names
            `name` and the type).
        KeyError
            A named column is absent.

        Examples
        --------
        >>> df = pd.DataFrame({"customer_id": [1, 1, 2],
        ...                    "date": ["1997-01-01", "1997-02-01", "1997-01-05"]})
        >>> log = churn.TransactionLog.coerce(df)
        >>> log.num_customers, log.num_transactions
        (2, 3)
        >>> churn.TransactionLog.coerce(log) is log
        True
        """
        if isinstance(obj, TransactionLog):
            return obj
        if pd is not None and isinstance(obj, pd.DataFrame):
            if amount == "amount" and "amount" not in obj.columns:
                amount = None
            return cls.from_dataframe(obj, customer=customer, time=time, amount=amount,
                                      quantity=quantity, product=product,
                                      date_format=date_format, dayfirst=dayfirst)
        raise TypeError(f"{name}: expected a churn.TransactionLog or a pandas DataFrame of "
                        f"transactions, got {type(obj).__name__}")

    def append(self, customer, time, amount=None, quantity=None, product=None, *,
               date_format="auto", dayfirst=None):
        """Append transactions given as arrays; returns self.

        Parameters
        ----------
        customer, time, amount, quantity, product
            As for :meth:`from_arrays`; ``amount=None`` appends purchases of unknown
            amount.
        date_format : str, default "auto"
        dayfirst : bool, optional
            How to read `time`; see :meth:`from_dataframe`.

        Returns
        -------
        TransactionLog
            self.

        Examples
        --------
        >>> log = churn.TransactionLog.from_arrays([1, 1, 2], ["1997-01-01", "1997-02-01",
        ...                                                  "1997-01-05"], [10.0, 20.0, 5.0])
        >>> log.append([3], ["1997-03-01"], [7.5]).num_customers
        3
        """
        return self._append(customer, time, amount, quantity, product, date_format,
                            dayfirst, ("customer", "time"))

    def _append(self, customer, time, amount, quantity, product, date_format, dayfirst,
                names, keep_texts=False):
        cat = _categorical_ids(customer, names[0])
        kind, ids = cat if cat is not None else id_column(customer, names[0])
        n = ids[1].shape[0] if isinstance(ids, tuple) else ids.shape[0]
        t = to_epoch_seconds(time, names[1], date_format, dayfirst)
        if t.shape[0] != n:
            raise ValueError(f"time: length {t.shape[0]} does not match {n} customer ids")
        a = None if amount is None else as_f64(amount, "amount", n)
        q = None if quantity is None else as_f64(quantity, "quantity", n)
        if kind == "int" and product is not None and \
                np.asarray(product).dtype.kind not in "iu":
            kind, ids = "text", ids.astype(str).astype(object)  # text products: text ids
            cat = None
        if kind == "int":
            ids64 = ids
            prod = None
            if product is not None:
                prod = np.ascontiguousarray(np.asarray(product), dtype=np.int64)
                if prod.shape[0] != n:
                    raise ValueError(f"product: length {prod.shape[0]} does not match {n}")
            check(_lib.churn_txlog_append_arrays(
                self._h, n, ids64.ctypes.data_as(_lib.c_int64_p), ptr(t), ptr(a), ptr(q),
                None if prod is None else prod.ctypes.data_as(_lib.c_int64_p)))
        else:
            enc, keep = _c_strings(ids) if cat is None else _pointers(*ids)
            penc = None
            if product is not None:
                pv = list(product)
                if len(pv) != n:
                    raise ValueError(f"product: length {len(pv)} does not match {n}")
                penc = (ctypes.c_char_p * n)(*[None if v is None else str(v).encode()
                                               for v in pv])
            check(_lib.churn_txlog_append_arrays_str(self._h, n, enc, ptr(t), ptr(a), ptr(q),
                                                     penc))
            if keep_texts and keep[2]:
                self._id_texts = (ids, None) if cat is None else \
                    (np.asarray(ids[0], dtype=object), ids[1])
            del keep  # the id bytes lived until the call returned
        return self

    @property
    def num_transactions(self):
        """Number of transactions (rows) in the log.
        """
        return _lib.churn_txlog_num_transactions(self._h)

    @property
    def num_customers(self):
        """Number of distinct customers in the log.
        """
        return _lib.churn_txlog_num_customers(self._h)

    def customer_ids(self):
        """The customer ids as text, in the order of first appearance.

        Read with one C call (``churn_txlog_customer_ids_packed``).

        Returns
        -------
        list of str

        Examples
        --------
        >>> log = churn.TransactionLog.from_arrays([1, 1, 2], ["1997-01-01", "1997-02-01",
        ...                                                  "1997-01-05"], [10.0, 20.0, 5.0])
        >>> log.customer_ids()
        ['1', '2']
        """
        return packed_ids(_lib.churn_txlog_customer_ids_packed, self._h)

    @property
    def date_range(self):
        """The first and last transaction times, as pandas Timestamps (UTC, naive).
        """
        import pandas as pd
        lo, hi = _lib.churn_txlog_min_time(self._h), _lib.churn_txlog_max_time(self._h)
        return (pd.Timestamp(lo, unit="s"), pd.Timestamp(hi, unit="s"))

    @property
    def rows_skipped(self):
        """Rows skipped by :meth:`read_csv` with ``skip_bad_rows=True``.
        """
        return _lib.churn_txlog_rows_skipped(self._h)

    def skip_messages(self):
        """The messages of the rows skipped by :meth:`read_csv` (file, line, column, why).

        Returns
        -------
        list of str

        Examples
        --------
        >>> text = chr(10).join(["customer_id,date,amount", "a,1997-01-01,10", "b,oops,5"])
        >>> log = churn.TransactionLog.read_csv_text(text, skip_bad_rows=True)
        >>> len(log.skip_messages())
        1
        """
        out, i = [], 0
        while True:
            m = _lib.churn_txlog_skip_message(self._h, i)
            if m is None:
                return out
            out.append(m.decode())
            i += 1

    def to_dataframe(self):
        """The transactions as a DataFrame, in input order.

        Returns
        -------
        pandas.DataFrame
            customer_id (int64 or str by the ids' rule), date (datetime64), amount
            [, quantity, product]; built with numpy from the log's arrays.

        Examples
        --------
        >>> log = churn.TransactionLog.from_arrays([1, 1, 2], ["1997-01-01", "1997-02-01",
        ...                                                  "1997-01-05"], [10.0, 20.0, 5.0])
        >>> log.to_dataframe()
           customer_id       date  amount
        0            1 1997-01-01    10.0
        1            1 1997-02-01    20.0
        2            2 1997-01-05     5.0
        """
        import pandas as pd
        n = self.num_transactions
        if n == 0:
            return pd.DataFrame({"customer_id": [], "date": pd.to_datetime([]), "amount": []})
        cust = np.ctypeslib.as_array(_customers(self._h), shape=(n,))
        ids = packed_index(_lib.churn_txlog_customer_ids_packed, self._h).to_numpy()
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
