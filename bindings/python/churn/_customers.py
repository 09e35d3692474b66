"""The customer table (include/churn/customers.h) as pandas DataFrames: one row per
customer, cohort retention, population metrics and the O(1) incremental state."""
import ctypes
from ctypes import POINTER, c_char_p, c_double, c_int, c_size_t, c_void_p

import numpy as np

from . import _lib
from ._errors import EINVAL, OK, ChurnColumnError, ChurnValueError, check, error_for
from ._dates import check_date_format, time_arg
from ._ids import packed_index
from ._txlog import CsvOptions, TransactionLog

UNITS = {"day": 1.0, "days": 1.0, "d": 1.0, "week": 7.0, "weeks": 7.0, "w": 7.0,
         "month": 30.4375, "months": 30.4375, "m": 30.4375,
         "year": 365.25, "years": 365.25, "y": 365.25}

# Columns that are ranks over the rows of one table (see customers.h "Segmentation").
POPULATION_COLUMNS = ("r_score", "f_score", "m_score", "rfm_segment", "value_tier")


class CustomerOptions(ctypes.Structure):
    """Mirror of churn_customer_options."""

    _fields_ = [("struct_size", c_size_t), ("cutoff", c_double), ("holdout_end", c_double),
                ("time_unit", c_double), ("same_day_once", c_int),
                ("first_purchase_counts", c_int), ("trend_window", c_double),
                ("inactivity_threshold", c_double), ("key_fraction", c_double),
                ("important_fraction", c_double),
                ("columns", c_char_p),  # 1.1
                ("period", c_int)]  # 1.2; _options_init writes the whole C struct

# churn_period (customers.h): calendar periods of the table (option `period`).
PERIODS = {None: 0, "none": 0, "week": 1, "weeks": 1, "month": 2, "months": 2,
           "quarter": 3, "quarters": 3, "year": 4, "years": 4}


class CohortOptions(ctypes.Structure):
    """Mirror of churn_cohort_options."""

    _fields_ = [("struct_size", c_size_t), ("cutoff", c_double), ("period", c_double),
                ("calendar", c_int)]


class _StateStruct(ctypes.Structure):
    """Mirror of churn_customer_state (plain data)."""

    _fields_ = [("struct_size", c_size_t), ("time_unit", c_double), ("same_day_once", c_int),
                ("first_purchase_counts", c_int), ("last_time", c_double),
                ("n_transactions", c_double), ("n_orders", c_double), ("first_day", c_double),
                ("last_day", c_double), ("first_amount", c_double),
                ("repeat_amount", c_double), ("gap_sumsq", c_double), ("n_returns", c_double),
                ("returns_amount", c_double), ("reserved", c_double * 6)]


_fn = _lib.fn
_options_init = _fn("churn_customer_options_init", None, POINTER(CustomerOptions))
_build = _fn("churn_customers_build", c_int, POINTER(c_void_p), c_void_p,
             POINTER(CustomerOptions))
_free = _fn("churn_customers_free", None, c_void_p)
_num_rows = _fn("churn_customers_num_rows", c_size_t, c_void_p)
_num_columns = _fn("churn_customers_num_columns", c_size_t, c_void_p)
_column_name = _fn("churn_customers_column_name", c_char_p, c_void_p, c_size_t)
_column = _fn("churn_customers_column", _lib.c_double_p, c_void_p, c_char_p)
_find = _fn("churn_customers_find", c_int, c_void_p, c_char_p, _lib.c_size_t_p)
_column_at = _fn("churn_customers_column_at", _lib.c_double_p, c_void_p, c_size_t)
_id = _fn("churn_customers_id", c_char_p, c_void_p, c_size_t)
_num_excluded = _fn("churn_customers_num_excluded", c_size_t, c_void_p)
_cutoff = _fn("churn_customers_cutoff", c_double, c_void_p)
_holdout_end = _fn("churn_customers_holdout_end", c_double, c_void_p)
_time_unit = _fn("churn_customers_time_unit", c_double, c_void_p)
# for C tables; Python tables are DataFrames checked by Model.check_time_unit (attrs)
_check_model = _fn("churn_customers_check_model", c_int, c_void_p, c_void_p)
_period = _fn("churn_customers_period", c_int, c_void_p)
_period_name = _fn("churn_period_name", c_char_p, c_int)
_rfm_name = _fn("churn_rfm_segment_name", c_char_p, c_int)
_repeat_rate = _fn("churn_customers_repeat_rate", c_double, c_void_p)
_churn_rate = _fn("churn_customers_churn_rate", c_int, c_void_p, _lib.c_double_p)
_retention_rate = _fn("churn_customers_retention_rate", c_int, c_void_p, _lib.c_double_p)
_pareto_share = _fn("churn_customers_pareto_share", c_double, c_void_p)
_cohort_init = _fn("churn_cohort_options_init", None, POINTER(CohortOptions))
_cohort_table = _fn("churn_customers_cohort_table", c_int, c_void_p, POINTER(CohortOptions),
                    _lib.c_size_t_p, _lib.c_size_t_p, _lib.c_double_p, _lib.c_double_p,
                    _lib.c_double_p)
_state_init = _fn("churn_customer_state_init", c_int, POINTER(_StateStruct),
                  POINTER(CustomerOptions))
_state_add = _fn("churn_customer_state_add", c_int, POINTER(_StateStruct), c_double, c_double)
_state_value = _fn("churn_customer_state_value", c_int, POINTER(_StateStruct), c_double,
                   c_char_p, _lib.c_double_p)
_state_check_model = _fn("churn_customer_state_check_model", c_int, POINTER(_StateStruct),
                         c_void_p)
_state_ncols = _fn("churn_customer_state_num_columns", c_size_t)
_state_col_name = _fn("churn_customer_state_column_name", c_char_p, c_size_t)
_state_col_index = _fn("churn_customer_state_column_index", c_int, c_char_p)
_state_values = _fn("churn_customer_state_values", c_int, POINTER(_StateStruct), c_double,
                    _lib.c_double_p, c_size_t)
_state_encode = _fn("churn_customer_state_encode", c_int, POINTER(_StateStruct),
                    ctypes.c_char_p, c_size_t, _lib.c_size_t_p)
_state_decode = _fn("churn_customer_state_decode", c_int, POINTER(_StateStruct),
                    ctypes.c_char_p, c_size_t)
_stream_new = _fn("churn_customer_stream_new", c_int, POINTER(c_void_p),
                  POINTER(CustomerOptions))
_stream_free = _fn("churn_customer_stream_free", None, c_void_p)
_stream_log = _fn("churn_customer_stream_log", c_void_p, c_void_p)
_stream_fold = _fn("churn_customer_stream_fold", c_int, c_void_p)
_stream_rows_folded = _fn("churn_customer_stream_rows_folded", ctypes.c_uint64, c_void_p)
_stream_finish = _fn("churn_customer_stream_finish", c_int, c_void_p, POINTER(c_void_p))
# txlog.h: int (*churn_csv_chunk_fn)(churn_txlog *log, void *userdata)
_CHUNK_FN = ctypes.CFUNCTYPE(c_int, c_void_p, c_void_p)
_read_csv_chunked = _fn("churn_txlog_read_csv_chunked", c_int, c_void_p, c_char_p,
                        POINTER(CsvOptions), c_size_t, _CHUNK_FN, c_void_p)


def time_unit_days(unit):
    """A time unit in days.

    Parameters
    ----------
    unit : str or float
        'day', 'week', 'month' (30.4375 days), 'year' (365.25), their plurals and
        one-letter forms, or a positive number of days.

    Returns
    -------
    float
        The unit in days.

    Raises
    ------
    ValueError, TypeError
        An unknown name or a non-numeric value.

    Examples
    --------
    >>> churn.time_unit_days("week"), churn.time_unit_days("month"), churn.time_unit_days(3)
    (7.0, 30.4375, 3.0)
    """
    if isinstance(unit, str):
        key = unit.strip().lower()
        if key in UNITS:
            return UNITS[key]
        try:
            return float(key)
        except ValueError:
            raise ValueError(f"unit: '{unit}' is not day, week, month, year or a number of "
                             "days") from None
    if isinstance(unit, bool) or not isinstance(unit, (int, float, np.integer, np.floating)):
        raise TypeError(f"unit: expected a name or a number of days, got {type(unit).__name__}")
    return float(unit)


def period_code(period):
    """None, 'week', 'month', 'quarter' or 'year' -> the C churn_period value."""
    key = period.strip().lower() if isinstance(period, str) else period
    if key not in PERIODS:
        raise ValueError(f"period: {period!r} is not None, 'week', 'month', 'quarter' or "
                         "'year'")
    return PERIODS[key]


def _to_log(data, customer, time, amount, quantity, product, date_format="auto",
            dayfirst=None):
    if isinstance(data, TransactionLog):
        return data
    if hasattr(data, "columns"):
        return TransactionLog.from_dataframe(data, customer=customer, time=time, amount=amount,
                                             quantity=quantity, product=product,
                                             date_format=date_format, dayfirst=dayfirst)
    raise TypeError("expected a churn.TransactionLog or a pandas DataFrame of transactions, "
                    f"got {type(data).__name__}")


def _columns_option(columns):
    """`columns` -> (the C option text or None, the names in the caller's order for the
    DataFrame, or None for the C table's order)."""
    if columns is None:
        return None, None
    if isinstance(columns, bytes):
        columns = columns.decode()
    if isinstance(columns, str):
        return columns.encode(), None
    names = [str(c) for c in columns]
    bad = [c for c in names if "," in c]
    if not names or bad:
        why = f"the name {bad[0]!r} holds a comma" if bad else "the list is empty"
        raise ChurnColumnError(f"columns: {why} (give a list of column names, a "
                               "comma-separated string, or None for all)", EINVAL)
    return ",".join(names).encode(), names


def _check_columns(rc):
    """check(), raising ChurnColumnError for a bad `columns` option."""
    if rc != OK:
        e = error_for(rc)
        if isinstance(e, ChurnValueError) and "option 'columns'" in str(e):
            raise ChurnColumnError(str(e), e.code) from None
        raise e


def _customer_options(cutoff, holdout_end, unit, same_day_once, first_purchase_counts,
                      trend_window, inactivity_threshold, key_fraction, important_fraction,
                      columns=None, date_format="auto", dayfirst=None, period=None):
    o = CustomerOptions()
    _options_init(ctypes.byref(o))
    o.cutoff = time_arg(cutoff, "cutoff", date_format, dayfirst)
    o.holdout_end = time_arg(holdout_end, "holdout_end", date_format, dayfirst)
    o.time_unit = time_unit_days(unit)
    o.period = period_code(period)
    o.same_day_once = 1 if same_day_once else 0
    o.first_purchase_counts = 1 if first_purchase_counts else 0
    if trend_window is not None:
        o.trend_window = float(trend_window)
    if inactivity_threshold is not None:
        o.inactivity_threshold = float(inactivity_threshold)
    if key_fraction is not None:
        o.key_fraction = float(key_fraction)
    if important_fraction is not None:
        o.important_fraction = float(important_fraction)
    o.columns = columns  # bytes or None; the structure keeps the bytes alive
    return o


def _timestamp(seconds):
    import pandas as pd
    return pd.Timestamp(seconds, unit="s") if seconds else None


def customer_table(data, cutoff=None, holdout_end=None, unit="day", *, customer="customer_id",
                   time="date", amount="amount", quantity=None, product=None,
                   same_day_once=True, first_purchase_counts=False, trend_window=None,
                   inactivity_threshold=None, key_fraction=None, important_fraction=None,
                   columns=None, date_format="auto", dayfirst=None, period=None, typed=True,
                   progress=None):
    """The customer table as of `cutoff`: one row per customer, indexed by customer id.

    `data` is a :class:`TransactionLog` or a pandas DataFrame of transactions (column
    names `customer`, `time`, `amount` [, `quantity`, `product`]; times as datetimes,
    date strings or epoch seconds). ``amount=None``: the transactions have no amounts
    (customer and date only): the purchase columns are as with amounts, the spend
    columns (monetary_value, total_spend, mean_order_value, spend_recent, spend_prior,
    spend_trend, returns_amount, net_spend, m_score, value_tier, holdout_spend) are
    NaN and ``attrs["pareto_share"]`` is NaN (include/churn/customers.h, "Unknown
    amounts"; a log mixing rows with and without amounts follows the same rule per
    customer). Dates (`cutoff`, `holdout_end`) may be strings,
    datetimes or epoch seconds; `cutoff=None` means the day of the last transaction.
    `unit` is 'day', 'week', 'month', 'year' or a number of days.

    Columns are those of the C table (include/churn/customers.h): frequency, recency, T,
    monetary_value (lifetimes' definitions), n_orders, total_spend, ..., value_tier and,
    with `holdout_end`, holdout_purchases, holdout_spend, churned, duration, event.
    ``df.attrs`` holds cutoff, holdout_end, time_unit (days), excluded (customers with no
    order on or before the cutoff) and the population metrics (see
    :func:`population_metrics`).

    `columns` computes only the named columns (a list of names, kept in that order, or a
    comma-separated string, in the C table's order); None computes all of them. The
    values are the same as in the full table; a subset without ``gap_median`` and
    ``n_products`` is built in one pass without grouping the transactions when each
    customer's rows are in time order, which is faster and smaller. Without
    ``value_tier``, ``attrs["pareto_share"]`` is NaN (not computed). An unknown name (or
    a holdout column without `holdout_end`) raises :class:`churn.ChurnColumnError`
    (a KeyError and a ValueError) naming it.

    `period` ('year', 'quarter', 'month' or 'week'; None = days) counts UTC calendar
    periods, as BG/BB's whole transaction opportunities: all purchases of a period are
    one, frequency, recency, T and the other durations are whole periods (weeks start on
    Monday), first_purchase/last_purchase are each period's first day, and
    ``attrs["period"]`` names it (``attrs["time_unit"]`` is its nominal length, e.g.
    365.25). `unit` must then stay 'day' or equal that length. See docs/customers.md,
    "Calendar periods".

    Typed columns (issue 21; docs/python.md "Typed columns"): the C table holds doubles;
    the DataFrame gives ``value_tier`` as an ordered categorical 'key' < 'important' <
    'ordinary' (``churn.tier_name``), ``rfm_segment`` as a categorical of the ten
    :func:`rfm_segment_name` names, ``churned`` and ``event`` as bool, and
    ``first_purchase``/``last_purchase`` as datetime64[ns] (midnight UTC of the day).
    Missing values stay missing: a NaN tier or segment (no amounts) is a missing
    category, a NaN date is NaT, a NaN flag makes the column pandas' nullable
    'boolean' with ``pd.NA``; a value outside the codes raises. ``typed=False``
    returns every column float64 as the C table holds it, and
    :func:`table_to_float` converts a typed table back (what the command's CSV
    writes).

    ``progress``: None shows a bar when the call takes longer than 1.5 s (tqdm, on
    stderr), True at once, False never.

    Boundaries (issue 17; docs/python.md "Boundaries"):

    - ``attrs["time_unit"]`` travels with the table: models fitted from it record the
      unit and refuse tables of another unit (:class:`churn.UnitMismatchError`).
    - `date_format` ('auto' default, 'iso', 'yyyymmdd', 'epoch', 'epoch_ms',
      'epoch_us', 'epoch_ns' or a strftime pattern) and `dayfirst` (for texts such as
      '01/02/1997'; None makes them an error) read the time column, the cutoff and the
      holdout end. 'auto' follows the CSV reader: 8-digit numbers are YYYYMMDD (as
      ``pd.read_csv`` gives CDNOW's dates), other numbers epoch seconds, and numbers
      before 1900, after 2200 or all within a year of 1970 are errors saying what was
      assumed. A cutoff before every purchase raises :class:`churn.ChurnValueError`
      instead of returning an empty table.
    - A missing customer id is an error naming its row; whole-number float ids are
      integers. The index is int64 when every id is an integer literal without
      leading zeros, otherwise str, whatever the kind of `data`.

    Parameters
    ----------
    data : TransactionLog or pandas.DataFrame
        The transactions.
    cutoff : date, optional
        End of the calibration period (default: the last transaction's day).
    holdout_end : date, optional
        End of the holdout period (adds the holdout columns).
    unit : str or float, default 'day'
        Time unit of the durations.
    customer, time, amount, quantity, product : str or None
        Column names of a DataFrame (`amount` None: no amounts).
    same_day_once : bool, default True
        Purchases on one day count once (lifetimes' frequency).
    first_purchase_counts : bool, default False
        Count the first purchase in frequency and monetary_value.
    trend_window : float, optional
        Length of the recent/prior windows (time units).
    inactivity_threshold : float, optional
        Threshold of inactivity (time units).
    key_fraction, important_fraction : float, optional
        Shares of the key and important value tiers.
    columns : list of str or str, optional
        Compute only these columns.
    date_format : str, default 'auto'
        How to read dates (see above).
    dayfirst : bool, optional
        Day/month order of ambiguous date texts.
    period : str, optional
        Calendar periods ('year', 'quarter', 'month', 'week').
    typed : bool, default True
        Typed columns (categorical tiers and segments, bool flags, datetime64 purchase
        dates); False: every column float64 as the C table.
    progress : bool, optional
        None: a progress bar after 1.5 s; True: at once; False: never.

    Returns
    -------
    pandas.DataFrame
        One row per customer, indexed by customer id, with ``attrs``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 3],
    ...                    "date": pd.to_datetime(["1997-01-01", "1997-02-01",
    ...                                            "1997-01-05", "1997-03-01"]),
    ...                    "amount": [10.0, 20.0, 5.0, 7.5]})
    >>> t = churn.customer_table(tx, cutoff="1997-03-31", unit="week")
    >>> t[["frequency", "recency", "T"]].round(3)
                 frequency  recency       T
    customer_id
    1                  1.0    4.429  12.714
    2                  0.0    0.000  12.143
    3                  0.0    0.000   4.286
    >>> t["value_tier"].tolist(), t["first_purchase"].dt.strftime("%Y-%m-%d").tolist()
    (['key', 'ordinary', 'important'], ['1997-01-01', '1997-01-05', '1997-03-01'])
    """
    from ._progress import Steps
    check_date_format(date_format, dayfirst)
    spec, names = _columns_option(columns)
    o = _customer_options(cutoff, holdout_end, unit, same_day_once, first_purchase_counts,
                          trend_window, inactivity_threshold, key_fraction, important_fraction,
                          spec, date_format, dayfirst, period)
    with Steps(3, "customer table", progress) as bar:
        if isinstance(data, TransactionLog) or not hasattr(data, "columns"):
            log = _to_log(data, customer, time, amount, quantity, product, date_format,
                          dayfirst)
        else:  # the log keeps the caller's id texts: the index takes those str objects
            log = TransactionLog._from_frame(data, customer, time, amount, quantity,
                                             product, date_format, dayfirst, keep_texts=True)
        bar.update()
        h = c_void_p()
        _check_columns(_build(ctypes.byref(h), log._h, ctypes.byref(o)))
        bar.update()
        try:
            if _num_rows(h.value) == 0:
                _check_not_before_everything(_cutoff(h.value),
                                             _lib.churn_txlog_min_time(log._h),
                                             _lib.churn_txlog_num_transactions(log._h))
            t, h = h.value, None
            return table_frame(t, names, typed, own=True, log=log)  # frees the table
        finally:
            if h is not None:
                _free(h)
            bar.update()


def _check_not_before_everything(cutoff, first, n):
    """An empty table because the cutoff precedes every purchase is an error."""
    if n and np.isfinite(first) and cutoff < first:
        from ._txlog import format_date
        raise ChurnValueError(
            f"customer_table: the cutoff {format_date(cutoff)} is before every purchase "
            f"(the first of {n} transactions is on {format_date(first)}), so no customer "
            "has an order on or before it and the table would be empty: check the cutoff "
            "and how the dates were read (date_format=)", EINVAL)


# Typed columns (issue 21): the C table holds doubles; the DataFrame types these.
TIER_NAMES = ("key", "important", "ordinary")   # churn_tier_name(1..3)
BOOL_COLUMNS = ("churned", "event")
DATE_COLUMNS = ("first_purchase", "last_purchase")
TYPED_COLUMNS = ("value_tier", "rfm_segment") + BOOL_COLUMNS + DATE_COLUMNS
_NS_PER_DAY = 86400 * 10 ** 9


def _rfm_names():
    return tuple(_rfm_name(c).decode() for c in range(1, 11))


def _categorical(values, names, name, ordered):
    """Codes 1..len(names) (NaN = missing) -> a pandas Categorical of the names."""
    import pandas as pd
    miss = np.isnan(values)
    ok = miss | np.isin(values, np.arange(1, len(names) + 1))
    if not ok.all():
        r = int(np.flatnonzero(~ok)[0])
        raise ChurnValueError(f"{name}: row {r} holds {values[r]!r}, not a code 1.."
                              f"{len(names)} (typed=False keeps the C table's numbers)",
                              EINVAL)
    codes = np.where(miss, 0, values).astype(np.int8) - 1  # -1: missing
    return pd.Categorical.from_codes(codes, categories=list(names), ordered=ordered)


def _boolean(values, name):
    """0/1 (NaN = missing) -> bool, or pandas' nullable 'boolean' when a value is NaN."""
    import pandas as pd
    miss = np.isnan(values)
    ok = miss | (values == 0) | (values == 1)
    if not ok.all():
        r = int(np.flatnonzero(~ok)[0])
        raise ChurnValueError(f"{name}: row {r} holds {values[r]!r}, not 0 or 1", EINVAL)
    b = values == 1
    return pd.arrays.BooleanArray(b, miss) if miss.any() else b


def _datetime(days, name):
    """UTC day numbers (days since 1970-01-01; NaN = missing) -> datetime64[ns] (NaT)."""
    miss = np.isnan(days)
    lo, hi = -106751, 106750  # the days datetime64[ns] holds (1677-09-22 .. 2262-04-10)
    bad = ~miss & ((days < lo) | (days > hi))
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise ChurnValueError(f"{name}: row {r} is day {days[r]:g} since 1970-01-01, beyond "
                              "the dates pandas holds (1677 .. 2262); typed=False keeps the "
                              "day numbers", EINVAL)
    ns = np.where(miss, 0, days).astype(np.int64) * _NS_PER_DAY
    ns[miss] = np.iinfo(np.int64).min  # NaT
    return ns.view("datetime64[ns]")


def typed_column(name, values):
    """A C table column (float64) as the DataFrame types it; other columns unchanged.

    ``value_tier`` -> ordered categorical 'key' < 'important' < 'ordinary'
    (``churn_tier_name``), ``rfm_segment`` -> categorical of the ten
    ``churn_rfm_segment_name`` names, ``churned``/``event`` -> bool (pandas' nullable
    'boolean' with ``pd.NA`` when a value is NaN), ``first_purchase``/``last_purchase``
    -> datetime64[ns] at midnight UTC (NaN -> NaT). A value outside the code set raises
    (never a silent NaN)."""
    if name == "value_tier":
        return _categorical(values, TIER_NAMES, name, True)
    if name == "rfm_segment":
        return _categorical(values, _rfm_names(), name, False)
    if name in BOOL_COLUMNS:
        return _boolean(values, name)
    if name in DATE_COLUMNS:
        return _datetime(values, name)
    return values


def table_to_float(table):
    """The customer table with every column float64, as the C library holds it.

    Parameters
    ----------
    table : pandas.DataFrame
        A table from :func:`customer_table` (typed columns) or any frame with some
        of its columns.

    Returns
    -------
    pandas.DataFrame
        A copy: ``value_tier`` 1/2/3 (key, important, ordinary), ``rfm_segment``
        1..10 (``churn_rfm_segment_name`` order), ``churned``/``event`` 0/1,
        ``first_purchase``/``last_purchase`` UTC days since 1970-01-01; missing
        values (NaN, ``pd.NA``, NaT) are NaN. Other columns are converted with
        ``astype(float)``; ``attrs`` are kept.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "amount": [10.0, 20.0, 5.0],
    ...                    "date": pd.to_datetime(["1997-01-01", "1997-02-01",
    ...                                            "1997-01-05"])})
    >>> t = churn.customer_table(tx, columns=["frequency", "first_purchase"])
    >>> t["first_purchase"].dt.strftime("%Y-%m-%d").tolist()
    ['1997-01-01', '1997-01-05']
    >>> churn.table_to_float(t)["first_purchase"].tolist()
    [9862.0, 9866.0]
    """
    import pandas as pd
    out = {}
    for name in table.columns:
        col = table[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            codes = col.cat.codes.to_numpy().astype(np.int64)  # -1: missing
            cats = list(col.cat.categories)
            names = TIER_NAMES if name == "value_tier" else (
                _rfm_names() if name == "rfm_segment" else tuple(cats))
            pos = {c: i + 1.0 for i, c in enumerate(names)}
            remap = np.array([pos.get(c, np.nan) for c in cats] + [np.nan])
            out[name] = remap[np.where(codes < 0, len(cats), codes)]
        elif pd.api.types.is_datetime64_any_dtype(col.dtype):
            ns = col.to_numpy(dtype="datetime64[ns]").view(np.int64)
            v = np.floor_divide(ns, _NS_PER_DAY).astype(np.float64)
            v[col.isna().to_numpy()] = np.nan
            out[name] = v
        elif pd.api.types.is_bool_dtype(col.dtype) or str(col.dtype) == "boolean":
            out[name] = col.astype("float64").to_numpy(na_value=np.nan) \
                if str(col.dtype) == "boolean" else col.to_numpy().astype(np.float64)
        else:
            out[name] = col.to_numpy(dtype=np.float64)
    df = pd.DataFrame(out, index=table.index)
    df.attrs.update(table.attrs)
    return df


class _CTableMemory:
    """Owns a C customer table whose column block a numpy array views (no copy): the
    table is freed when the last array (and so the last DataFrame block) viewing it
    goes away."""

    def __init__(self, t, k, n):
        self._t = t
        self.__array_interface__ = {
            "data": (ctypes.cast(_column_at(t, 0), c_void_p).value, False),
            "shape": (k, n), "typestr": "<f8", "version": 3}

    def __del__(self):
        t, self._t = self._t, None
        if t:
            _free(t)


def _c_block(t, n, k):
    """The table's k columns as one (k, n) array viewing the C memory, when they are
    one contiguous block in column order (else None)."""
    if not n or not k:
        return None
    base = ctypes.cast(_column_at(t, 0), c_void_p).value
    for j in range(k):
        if ctypes.cast(_column_at(t, j), c_void_p).value != base + 8 * n * j:
            return None
    return np.asarray(_CTableMemory(t, k, n))


def _frame_of_blocks(block, names, special, extra, index):
    """A DataFrame whose float columns are views of `block` rows (runs of consecutive
    columns, one pandas block each) and whose typed columns are their own blocks: no
    copy of the floats. Uses pandas' internals API (make_block, BlockManager); None
    when that API is not there or refuses, and the caller copies instead."""
    import pandas as pd
    try:
        from pandas.core.internals import BlockManager
        from pandas.core.internals.api import make_block
        blocks, j, k = [], 0, len(names)
        while j < k:
            if names[j] in special:
                v = extra[names[j]]
                if isinstance(v, np.ndarray):
                    v = v.reshape(1, -1)
                blocks.append(make_block(v, placement=[j], ndim=2))
                j += 1
                continue
            e = j
            while e < k and names[e] not in special:
                e += 1
            blocks.append(make_block(block[j:e], placement=slice(j, e), ndim=2))
            j = e
        mgr = BlockManager(blocks, [pd.Index(names), index])
        if hasattr(pd.DataFrame, "_from_mgr"):
            return pd.DataFrame._from_mgr(mgr, axes=mgr.axes)
        return pd.DataFrame(mgr)
    except Exception:  # noqa: BLE001 - any pandas version difference: copy instead
        return None


def _index_of_log_texts(t, log):
    """The index of table `t` from the id texts its log kept (``log._id_texts``, the
    caller's str objects: no str is made per id), or None (then the ids are read
    from the table). Only when the table has every customer of the log: its rows are
    then the log's customers in order of first appearance, and customer c's first
    row is where the running maximum of the rows' customer numbers reaches c."""
    kept = getattr(log, "_id_texts", None)
    if kept is None or _num_excluded(t) != 0:
        return None
    n, k = _lib.churn_txlog_num_transactions(log._h), _num_rows(t)
    if k != _lib.churn_txlog_num_customers(log._h) or n == 0:
        return None
    from ._ids import ids_index
    from ._txlog import _customers as _row_customers
    cust = np.ctypeslib.as_array(_row_customers(log._h), shape=(n,))
    top = np.maximum.accumulate(cust)
    first = np.flatnonzero(np.r_[True, top[1:] != top[:-1]])
    if first.shape[0] != k or top[-1] != k - 1:
        return None
    texts, codes = kept
    return ids_index(texts[first] if codes is None else texts[codes[first]])


def table_frame(t, columns=None, typed=True, own=False, log=None):
    """A C customer table as a DataFrame with its attrs.

    The index follows the ids (see churn._ids.ids_index), never the path they came
    through; the ids come in one C call (``churn_customers_ids_packed``). ``own=True``
    hands the table to this function: when its columns are one contiguous block in
    the order asked for, the DataFrame's float blocks view the C memory (no copy; the
    table is freed with the last view), otherwise the float columns are copied into
    one 2-D block that becomes the frame's block and the table is freed here. The
    typed columns (:func:`typed_column`) are converted copies. `log`: the log the
    table was built from; when it kept the caller's id texts
    (``TransactionLog._from_frame(keep_texts=True)``) and the table has all its
    customers, the index is made of those str objects (same values, order and
    int64/str rule as the ids read from the table)."""
    import pandas as pd
    from ._errors import error_for
    try:
        n = _num_rows(t)
        k = _num_columns(t)
        c_names = [_column_name(t, j).decode() for j in range(k)]
        names = c_names if columns is None else [str(c) for c in columns]
        special = {c for c in names if typed and c in TYPED_COLUMNS}
        plain = [c for c in names if c not in special]
        cols = {}
        for name in names:
            p = _column(t, name.encode())
            if not p:
                raise error_for(_lib.churn_last_error_code())
            cols[name] = np.ctypeslib.as_array(p, shape=(n,)) if n else np.empty(0)
        extra = {c: typed_column(c, cols[c].copy()) for c in names if c in special}
        index = None if log is None else _index_of_log_texts(t, log)
        if index is None:
            index = packed_index(_lib.churn_customers_ids_packed, t)
        attrs = {"cutoff": _timestamp(_cutoff(t)), "holdout_end": _timestamp(_holdout_end(t)),
                 "time_unit": _time_unit(t), "excluded": int(_num_excluded(t))}
        if _period(t):
            attrs["period"] = _period_name(_period(t)).decode()
        attrs.update(_metrics(t))
        df, cblock = None, None
        if own and names == c_names:
            cblock = _c_block(t, n, k)  # keeps the table (and `cols`) alive from here
            if cblock is not None:
                t = None  # the block's owner frees the table with the last view
                df = _frame_of_blocks(cblock, names, special, extra, index)
        if df is None:
            block = np.empty((len(plain), n), dtype=np.float64)
            for r, name in enumerate(plain):
                block[r] = cols[name]
            df = pd.DataFrame(block.T, index=index, columns=plain, copy=False)
            for j, name in enumerate(names):
                if name in extra:
                    df.insert(j, name, extra[name])
        df.attrs.update(attrs)
        del cols, cblock  # after the copies: `cols` may view the C block
        return df
    finally:
        if own and t:
            _free(t)


def _metrics(t):
    out = {"customers": int(_num_rows(t)), "repeat_rate": _repeat_rate(t),
           "pareto_share": _pareto_share(t), "churn_rate": None, "retention_rate": None}
    if _num_rows(t) and _holdout_end(t):
        v = c_double()
        check(_churn_rate(t, ctypes.byref(v)))
        out["churn_rate"] = v.value
        check(_retention_rate(t, ctypes.byref(v)))
        out["retention_rate"] = v.value
    return out


def population_metrics(table):
    """Population metrics of a table from :func:`customer_table`.

    Repeat rate, churn and retention rates (with a holdout), Pareto share of the key
    tier, customers and excluded customers, computed by the C library when the table
    was built (its ``attrs``).

    Parameters
    ----------
    table : pandas.DataFrame
        A table from :func:`customer_table`.

    Returns
    -------
    pandas.Series
        customers, excluded, repeat_rate, churn_rate, retention_rate, pareto_share
        (NaN when not computed).

    Raises
    ------
    ValueError
        The frame carries no metrics (not built by :func:`customer_table`).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "amount": [10.0, 20.0, 5.0],
    ...                    "date": ["1997-01-01", "1997-02-01", "1997-01-05"]})
    >>> m = churn.population_metrics(churn.customer_table(tx))
    >>> m["customers"], m["repeat_rate"]
    (2.0, 0.5)
    """
    import pandas as pd
    keys = ("customers", "excluded", "repeat_rate", "churn_rate", "retention_rate",
            "pareto_share")
    if not all(k in table.attrs for k in keys):
        raise ValueError("population_metrics needs a table built by churn.customer_table "
                         "(its attrs hold the metrics)")
    return pd.Series({k: (np.nan if table.attrs[k] is None else table.attrs[k]) for k in keys},
                     name="value", dtype=float)


def rfm_segment_name(code):
    """Name of an RFM segment code (``churn_rfm_segment_name``).

    Parameters
    ----------
    code : int
        1 .. 10 (column ``rfm_segment`` of ``typed=False`` tables).

    Returns
    -------
    str or None
        'champions', 'loyal customers', ..., 'hibernating'; None for an unknown code.

    Examples
    --------
    >>> churn.rfm_segment_name(1), churn.rfm_segment_name(10), churn.rfm_segment_name(99)
    ('champions', 'hibernating', None)
    """
    s = _rfm_name(int(code))
    return None if s is None else s.decode()


def cohort_table(data, period="month", cutoff=None, calendar=True, counts=False, *,
                 customer="customer_id", time="date", amount="amount", date_format="auto",
                 dayfirst=None):
    """Retention by acquisition cohort as a DataFrame.

    Rows: cohorts (indexed by the start of the cohort's period); column ``customers``
    (cohort size) then offsets 0, 1, ... (periods since acquisition): the share of the
    cohort with an order in that period, or the number of such customers with
    ``counts=True``. Cells after the cutoff's period are NaN (not observed).

    Parameters
    ----------
    data : TransactionLog or pandas.DataFrame
        The transactions.
    period : str or float, default 'month'
        'day', 'week', 'month', 'year' or a number of days.
    cutoff : date, optional
        Last day observed (default: the last transaction's day).
    calendar : bool, default True
        Calendar periods (months start on the 1st) rather than fixed lengths.
    counts : bool, default False
        Customers instead of shares.
    customer, time, amount : str
        Column names of a DataFrame.
    date_format : str, default 'auto'
        How to read dates, as in :func:`customer_table`.
    dayfirst : bool, optional
        Day/month order of ambiguous date texts.

    Returns
    -------
    pandas.DataFrame
        ``attrs["period_days"]`` holds the period's length.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "amount": [10.0, 20.0, 5.0],
    ...                    "date": ["1997-01-01", "1997-02-01", "1997-01-05"]})
    >>> c = churn.cohort_table(tx, "month", cutoff="1997-02-28")
    >>> c.loc["1997-01-01"].tolist()      # 2 customers, half came back in February
    [2.0, 1.0, 0.5]
    """
    import pandas as pd
    log = _to_log(data, customer, time, amount, None, None, date_format, dayfirst)
    o = CohortOptions()
    _cohort_init(ctypes.byref(o))
    o.cutoff = time_arg(cutoff, "cutoff", date_format, dayfirst)
    o.period = time_unit_days(period)
    o.calendar = 1 if calendar else 0
    nc, npd = c_size_t(0), c_size_t(0)
    check(_cohort_table(log._h, ctypes.byref(o), ctypes.byref(nc), ctypes.byref(npd), None,
                        None, None))
    r, k = nc.value, npd.value
    start = np.empty(r)
    active = np.empty(r * k)
    ret = np.empty(r * k)
    d = _lib.c_double_p
    check(_cohort_table(log._h, ctypes.byref(o), ctypes.byref(nc), ctypes.byref(npd),
                        start.ctypes.data_as(d), active.ctypes.data_as(d),
                        ret.ctypes.data_as(d)))
    r, k = nc.value, npd.value
    active = active[: r * k].reshape(r, k)
    ret = ret[: r * k].reshape(r, k)
    cells = (active if counts else ret).copy()
    cells[active < 0] = np.nan
    df = pd.DataFrame(cells, index=pd.DatetimeIndex(pd.to_datetime(start[:r], unit="s"),
                                                   name="cohort"),
                      columns=pd.RangeIndex(k, name="period"))
    df.insert(0, "customers", active[:, 0] if k else np.zeros(r))
    df.attrs["period_days"] = o.period
    return df


class CustomerState:
    """The O(1) running state of one customer (churn_customer_state).

    Add transactions in time order with :meth:`add`; read features as of a cutoff with
    :meth:`value` / :meth:`values`. The values equal the batch customer table's columns
    for the same transactions. :meth:`to_bytes` / :meth:`from_bytes` store it in the
    portable, versioned encoding of ``churn_customer_state_encode`` (108 bytes, fixed byte
    order, checksummed), which every later release decodes on any platform.

    Parameters
    ----------
    unit : str or float, default 'day'
        Time unit of the durations.
    same_day_once : bool, default True
        Purchases on one day count once.
    first_purchase_counts : bool, default False
        As in :func:`customer_table`.

    Examples
    --------
    >>> s = churn.CustomerState(unit="week")
    >>> _ = s.add("1997-01-01", 10.0).add("1997-01-15", 20.0)
    >>> s.value("frequency", "1997-03-01"), round(s.value("T", "1997-03-01"), 3)
    (1.0, 8.429)
    """

    INCREMENTAL = ("frequency", "recency", "T", "monetary_value", "n_orders", "total_spend",
                   "mean_order_value", "first_purchase", "last_purchase", "time_since_last",
                   "gap_mean", "gap_std", "overdue_ratio", "n_returns", "returns_amount",
                   "net_spend")

    def __init__(self, unit="day", same_day_once=True, first_purchase_counts=False):
        o = _customer_options(None, None, unit, same_day_once, first_purchase_counts,
                              None, None, None, None)
        self._s = _StateStruct()
        check(_state_init(ctypes.byref(self._s), ctypes.byref(o)))

    def add(self, time, amount=None):
        """Add one transaction, in time order.

        Parameters
        ----------
        time : str, datetime or float
            Date of the transaction (a date text, a datetime or epoch seconds).
        amount : float or None
            >= 0: an order; < 0: a refund; None (or NaN): an order of unknown amount,
            after which the spend values are NaN, as in :func:`customer_table`.

        Returns
        -------
        CustomerState
            self.

        Examples
        --------
        >>> s = churn.CustomerState().add("1997-01-01", 10.0)
        >>> s.value("n_orders", "1997-01-31")
        1.0
        """
        a = float("nan") if amount is None else float(amount)
        check(_state_add(ctypes.byref(self._s), time_arg(time, "time"), a))
        return self

    def value(self, column, cutoff):
        """One feature as of `cutoff`.

        Parameters
        ----------
        column : str
            A column of :attr:`INCREMENTAL`.
        cutoff : str, datetime or float
            A date or epoch seconds, not before the last order's day.

        Returns
        -------
        float

        Examples
        --------
        >>> s = churn.CustomerState(unit="week")
        >>> _ = s.add("1997-01-01", 10.0).add("1997-01-15", 20.0)
        >>> s.value("recency", "1997-03-01")
        2.0
        """
        v = c_double()
        check(_state_value(ctypes.byref(self._s), time_arg(cutoff, "cutoff"),
                           str(column).encode(), ctypes.byref(v)))
        return v.value

    def check_model(self, model):
        """Check that this state's features may be scored by `model` (same time unit).

        Parameters
        ----------
        model : churn.Model
            A fitted model whose ``time_unit_`` is compared with the state's unit
            (``churn_customer_state_check_model``).

        Returns
        -------
        CustomerState
            self, when the units agree.

        Raises
        ------
        churn.UnitMismatchError
            The units differ, or the model's unit is unknown for a family whose
            parameters are rates per unit of time; the message names both.

        Examples
        --------
        >>> s = churn.CustomerState(unit="week").add("1997-01-01", 10.0)
        >>> bg = churn.BGNBD.from_params(r=0.24, alpha=4.41, a=0.79, b=2.43)
        >>> _ = bg.set_time_unit("week")
        >>> s.check_model(bg) is s
        True
        """
        check(_state_check_model(ctypes.byref(self._s), model._require()))
        return self

    def values(self, cutoff, columns=None):
        """Several features as of `cutoff` as a pandas Series.

        Parameters
        ----------
        cutoff : str, datetime or float
            A date or epoch seconds, not before the last order's day.
        columns : list of str, optional
            Columns of :attr:`INCREMENTAL` (default: all of them).

        Returns
        -------
        pandas.Series
            float64, indexed by column name.

        Examples
        --------
        >>> s = churn.CustomerState(unit="week")
        >>> _ = s.add("1997-01-01", 10.0).add("1997-01-15", 20.0)
        >>> s.values("1997-03-01", ["frequency", "total_spend"]).tolist()
        [1.0, 30.0]
        """
        import pandas as pd
        if columns is None:
            return pd.Series(self.array(cutoff), index=list(self.INCREMENTAL), dtype=float)
        return pd.Series({c: self.value(c, cutoff) for c in columns}, dtype=float)

    def array(self, cutoff):
        """Every incremental feature as of `cutoff` in one call, as a numpy array.

        Parameters
        ----------
        cutoff : str, datetime or float
            A date or epoch seconds, not before the last order's day.

        Returns
        -------
        numpy.ndarray
            ``churn_customer_state_num_columns()`` values in the order of
            :attr:`INCREMENTAL` (``churn_customer_state_values``).

        Examples
        --------
        >>> s = churn.CustomerState(unit="week")
        >>> _ = s.add("1997-01-01", 10.0).add("1997-01-15", 20.0)
        >>> s.array("1997-03-01")[:2]
        array([1., 2.])
        """
        n = _state_ncols()
        out = np.empty(n)
        check(_state_values(ctypes.byref(self._s), time_arg(cutoff, "cutoff"),
                            out.ctypes.data_as(_lib.c_double_p), n))
        return out

    def to_bytes(self):
        """The state in the portable encoding (``churn_customer_state_encode``).

        Returns
        -------
        bytes
            108 bytes (format version 1) that :meth:`from_bytes` of this and every later
            release reads back, on any platform.

        Examples
        --------
        >>> s = churn.CustomerState(unit="week")
        >>> _ = s.add("1997-01-01", 10.0).add("1997-01-15", 20.0)
        >>> len(s.to_bytes())
        108
        """
        need = c_size_t(0)
        buf = ctypes.create_string_buffer(256)
        check(_state_encode(ctypes.byref(self._s), buf, len(buf), ctypes.byref(need)))
        return buf.raw[: need.value]

    @classmethod
    def from_bytes(cls, raw):
        """A state from bytes written by :meth:`to_bytes`.

        Parameters
        ----------
        raw : bytes
            The portable encoding. For compatibility, the raw struct bytes that
            :meth:`to_bytes` returned before release 1.2 (same library version and
            platform only) are still accepted when they have exactly the struct's size
            and lack the encoding's header.

        Returns
        -------
        CustomerState

        Raises
        ------
        churn.ChurnError
            Corrupt bytes (``CHURN_EFORMAT``) or a newer format version
            (``CHURN_EVERSION``); the message says which.

        Examples
        --------
        >>> s = churn.CustomerState(unit="week")
        >>> _ = s.add("1997-01-01", 10.0).add("1997-01-15", 20.0)
        >>> churn.CustomerState.from_bytes(s.to_bytes()).value("frequency", "1997-03-01")
        1.0
        """
        obj = cls.__new__(cls)
        raw = bytes(raw)
        if len(raw) == ctypes.sizeof(_StateStruct) and raw[:4] != b"CHST":
            obj._s = _StateStruct.from_buffer_copy(raw)
            return obj
        obj._s = _StateStruct()
        check(_state_decode(ctypes.byref(obj._s), raw, len(raw)))
        return obj

    def __reduce__(self):
        return (CustomerState.from_bytes, (self.to_bytes(),))

    def __repr__(self):
        return (f"<CustomerState: {self._s.n_orders:g} orders, {self._s.n_returns:g} returns, "
                f"unit {self._s.time_unit:g} days>")


class _StreamLog(TransactionLog):
    """The stream's own log (a borrowed handle: the stream owns and frees it). Reuses
    TransactionLog's conversions of DataFrame columns and arrays."""

    def __init__(self, handle):  # pylint: disable=super-init-not-called
        self._h = handle
        self._refs = []

    def __del__(self):
        self._h = None

    def __getstate__(self):
        raise TypeError("the log of a CustomerStream cannot be pickled")


class CustomerStream:
    """The customer table of transactions that arrive in chunks (churn_customer_stream).

    The stream keeps a summary per customer, not the transactions, so its memory grows
    with the number of customers only: feed it a log too large for memory chunk by
    chunk (:meth:`add` for DataFrames or arrays, :meth:`read_csv` for a CSV file), then
    :meth:`finish` returns the same DataFrame :func:`customer_table` would build from
    all the rows::

        with churn.CustomerStream(cutoff="1997-09-30", unit="week",
                                  columns=["frequency", "recency", "T",
                                           "monetary_value"]) as s:
            for chunk in pd.read_csv("tx.csv", chunksize=1_000_000):
                s.add(chunk)
            table = s.finish()

    `cutoff` is required (a stream's last day is not known in advance). Other options
    are those of :func:`customer_table` (`period` included); `customer`, `time`, `amount`
    name the DataFrame columns (and the CSV columns of :meth:`read_csv`); ``amount=None``:
    the data has no amounts (spend columns NaN, as in :func:`customer_table`). Every
    column is offered except
    ``gap_median`` and ``n_products``, which need a customer's whole history: None
    (all) leaves them out and asking for them raises :class:`churn.ChurnTypeError`.

    Each customer's transactions must arrive in time order (data sorted by date, or by
    customer then date); an earlier transaction after a later one of the same customer
    raises ChurnValueError naming the customer, and the stream is then unusable.
    Transactions after the holdout end (after the cutoff without a holdout) are
    ignored. `date_format` and `dayfirst` read the dates (of :meth:`add`, and the
    cutoff) as in :func:`customer_table`; a cutoff before every transaction makes
    :meth:`finish` raise instead of returning an empty table. One thread at a time per
    stream.

    Parameters
    ----------
    cutoff : date
        End of the calibration period (required).
    holdout_end : date, optional
        End of the holdout period.
    unit : str or float, default 'day'
        Time unit of the durations.
    customer, time, amount : str or None
        Column names (`amount` None: no amounts).
    same_day_once, first_purchase_counts : bool
        As in :func:`customer_table`.
    trend_window, inactivity_threshold, key_fraction, important_fraction : float, optional
        As in :func:`customer_table`.
    columns : list of str or str, optional
        Columns to compute.
    date_format : str, default 'auto'
        How to read dates.
    dayfirst : bool, optional
        Day/month order of ambiguous date texts.
    period : str, optional
        Calendar periods, as in :func:`customer_table`.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "amount": [10.0, 20.0, 5.0],
    ...                    "date": pd.to_datetime(["1997-01-01", "1997-02-01",
    ...                                            "1997-01-05"])})
    >>> with churn.CustomerStream(cutoff="1997-03-01", columns=["frequency", "T"]) as s:
    ...     _ = s.add(tx.iloc[:2]).add(tx.iloc[2:])
    ...     t = s.finish()
    >>> t["frequency"].tolist(), t.index.tolist()
    ([1.0, 0.0], [1, 2])
    """

    _h = None
    _rows_at_close = 0

    def __init__(self, cutoff=None, holdout_end=None, unit="day", *, customer="customer_id",
                 time="date", amount="amount", same_day_once=True,
                 first_purchase_counts=False, trend_window=None, inactivity_threshold=None,
                 key_fraction=None, important_fraction=None, columns=None,
                 date_format="auto", dayfirst=None, period=None):
        check_date_format(date_format, dayfirst)
        spec, self._names = _columns_option(columns)
        o = _customer_options(cutoff, holdout_end, unit, same_day_once, first_purchase_counts,
                              trend_window, inactivity_threshold, key_fraction,
                              important_fraction, spec, date_format, dayfirst,
                              period)
        h = c_void_p()
        _check_columns(_stream_new(ctypes.byref(h), ctypes.byref(o)))
        self._h = h.value
        self._log = _StreamLog(_stream_log(self._h))
        self._customer, self._time, self._amount = customer, time, amount
        self._date_format, self._dayfirst = date_format, dayfirst
        self._cutoff = o.cutoff
        self._first_time = float("inf")  # the earliest transaction seen

    # ---- lifetime ----
    def close(self):
        """Free the C stream (idempotent); :meth:`finish` closes the stream too.

        Returns
        -------
        None

        Examples
        --------
        >>> s = churn.CustomerStream(cutoff="1997-03-01")
        >>> s.close(); s.close()
        >>> s.rows_folded
        0
        """
        h, self._h = self._h, None
        if h:
            self._rows_at_close = int(_stream_rows_folded(h))
            self._log._h = None
            _stream_free(h)

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _handle(self):
        if not self._h:
            raise ChurnValueError("the CustomerStream is finished or closed", EINVAL)
        return self._h

    # ---- input ----
    def add(self, data, time=None, amount=None):
        """Append a chunk of transactions and fold it into the summaries; returns self.

        `data` is a pandas DataFrame (or a dict of arrays) with the stream's `customer`,
        `time` and `amount` columns, or the customer ids with `time` and `amount` given
        as arrays. Ids are integers or text; times are datetimes, date strings or epoch
        seconds, as in :func:`customer_table`. A chunk with a bad value (NaN, an
        unparseable date) raises and adds nothing.

        Parameters
        ----------
        data : pandas.DataFrame, dict or array_like
            A chunk with the stream's columns, or the customer ids.
        time, amount : array_like, optional
            Times and amounts when `data` holds the ids.

        Returns
        -------
        CustomerStream
            self.

        Examples
        --------
        >>> s = churn.CustomerStream(cutoff="1997-03-01")
        >>> _ = s.add([1, 1, 2], ["1997-01-01", "1997-02-01", "1997-01-05"], [10.0, 20.0, 5.0])
        >>> s.rows_folded, s.num_customers
        (3, 2)
        >>> s.close()
        """
        self._handle()
        if time is None and amount is None:
            if not (hasattr(data, "columns") or isinstance(data, dict)):
                raise TypeError("add(): give a DataFrame (or a dict of arrays), or "
                                "add(customer_ids, time, amount)")
            for c in (self._customer, self._time, self._amount):
                if c is not None and c not in data:
                    cols = list(data.columns) if hasattr(data, "columns") else list(data)
                    raise KeyError(f"column '{c}' is not in the data "
                                   f"(columns: {', '.join(map(str, cols))})")
            ids, t = data[self._customer], data[self._time]
            a = None if self._amount is None else data[self._amount]
        elif time is None or (amount is None and self._amount is not None):
            raise TypeError("add(customer_ids, time, amount): give both time and amount, "
                            "or a DataFrame alone (amount may be left out when the stream "
                            "was made with amount=None)")
        else:
            ids, t, a = data, time, amount
        if len(ids):
            self._log._append(ids, t, a, None, None, self._date_format, self._dayfirst,
                              (str(self._customer), str(self._time)))
        self._note_first_time()
        check(_stream_fold(self._h))
        return self

    def _note_first_time(self):
        """Keep the earliest time of the rows about to be folded (for finish())."""
        if _lib.churn_txlog_num_transactions(self._log._h):
            self._first_time = min(self._first_time,
                                   _lib.churn_txlog_min_time(self._log._h))

    def read_csv(self, path, chunk_rows=1 << 20, *, customer=None, time=None, amount=None,
                 header=True, delimiter=None, date_format="auto", skip_bad_rows=False):
        """Read a CSV file into the stream with the C reader, folding every `chunk_rows`
        rows, so that memory stays bounded whatever the file's size; returns self.

        Columns default to the stream's `customer`, `time`, `amount` names (a header
        name or a 1-based position); the other arguments are those of
        :meth:`churn.TransactionLog.read_csv`. On an error (a bad row, a transaction
        out of time order) the chunks already folded stay folded.

        Parameters
        ----------
        path : str or os.PathLike
            The CSV file.
        chunk_rows : int, default 1048576
            Rows per chunk folded.
        customer, time, amount : str or int, optional
            Columns (names or 1-based positions); default the stream's names.
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
        CustomerStream
            self.

        Examples
        --------
        >>> lines = ["customer_id,date,amount", "1,1997-01-01,10", "1,1997-02-01,20",
        ...          "2,1997-01-05,5"]
        >>> _ = open("tx.csv", "w").write(chr(10).join(lines) + chr(10))
        >>> s = churn.CustomerStream(cutoff="1997-03-01").read_csv("tx.csv", chunk_rows=2)
        >>> s.rows_folded
        3
        >>> s.close()
        """
        h = self._handle()
        chunk_rows = int(chunk_rows)
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows: {chunk_rows}; must be at least 1")
        o = TransactionLog._csv_options(
            self._customer if customer is None else customer,
            self._time if time is None else time,
            self._amount if amount is None else amount, None, None, header, delimiter,
            date_format, skip_bad_rows)
        raised = []

        def on_chunk(_log, _userdata):
            try:
                self._note_first_time()
                return _stream_fold(h)
            except BaseException as e:  # noqa: BLE001 - re-raised after the C call
                raised.append(e)
                return EINVAL

        callback = _CHUNK_FN(on_chunk)  # referenced until the C call returns
        rc = _read_csv_chunked(self._log._h, str(path).encode(), ctypes.byref(o), chunk_rows,
                               callback, None)
        if raised:
            raise raised[0]
        check(rc)
        return self

    # ---- state ----
    @property
    def rows_folded(self):
        """Transactions folded so far."""
        return int(_stream_rows_folded(self._h)) if self._h else self._rows_at_close

    @property
    def num_customers(self):
        """Customers seen so far (including those the table will exclude)."""
        return int(_lib.churn_txlog_num_customers(self._log._h)) if self._h else 0

    @property
    def rows_skipped(self):
        """Rows skipped by :meth:`read_csv` with ``skip_bad_rows=True``."""
        return self._log.rows_skipped if self._h else 0

    def finish(self):
        """Fold what remains and return the customer table; the stream is closed afterwards.

        Returns
        -------
        pandas.DataFrame
            The table :func:`customer_table` would build from all the rows (typed columns,
            ``attrs``).

        Examples
        --------
        >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "amount": [10.0, 20.0, 5.0],
        ...                    "date": pd.to_datetime(["1997-01-01", "1997-02-01",
        ...                                            "1997-01-05"])})
        >>> s = churn.CustomerStream(cutoff="1997-03-01", columns=["n_orders"]).add(tx)
        >>> s.finish()["n_orders"].tolist()
        [2.0, 1.0]
        """
        h = c_void_p()
        folded = int(_stream_rows_folded(self._handle()))
        check(_stream_finish(self._handle(), ctypes.byref(h)))
        try:
            if _num_rows(h.value) == 0:
                _check_not_before_everything(self._cutoff, self._first_time,
                                             max(folded, int(_stream_rows_folded(self._h))))
            return table_frame(h.value, self._names)
        finally:
            _free(h)
            self.close()

    def __repr__(self):
        if not self._h:
            return f"<CustomerStream: closed, {self._rows_at_close} transactions folded>"
        return (f"<CustomerStream: {self.rows_folded} transactions folded, "
                f"{self.num_customers} customers, cutoff "
                f"{_timestamp(self._cutoff).date()}>")


__all__ = ["customer_table", "cohort_table", "population_metrics", "rfm_segment_name",
           "table_to_float", "typed_column", "TIER_NAMES", "TYPED_COLUMNS",
           "CustomerState", "CustomerStream", "time_unit_days", "POPULATION_COLUMNS"]
