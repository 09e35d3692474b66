"""The customer table (include/churn/customers.h) as pandas DataFrames: one row per
customer, cohort retention, population metrics and the O(1) incremental state."""
import ctypes
from ctypes import POINTER, c_char_p, c_double, c_int, c_size_t, c_void_p

import numpy as np

from . import _lib
from ._errors import check
from ._txlog import TransactionLog, to_epoch_seconds

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
                ("important_fraction", c_double)]


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


def time_unit_days(unit):
    """'day', 'week', 'month', 'year' or a positive number of days -> days."""
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


def time_arg(value, name):
    """A date argument (string, datetime, Timestamp, datetime64 or epoch seconds) -> seconds."""
    if value is None:
        return 0.0
    if isinstance(value, bool):
        raise TypeError(f"{name}: expected a date, got a bool")
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    return float(to_epoch_seconds([value], name)[0])


def _to_log(data, customer, time, amount, quantity, product):
    if isinstance(data, TransactionLog):
        return data
    if hasattr(data, "columns"):
        return TransactionLog.from_dataframe(data, customer=customer, time=time, amount=amount,
                                             quantity=quantity, product=product)
    raise TypeError("expected a churn.TransactionLog or a pandas DataFrame of transactions, "
                    f"got {type(data).__name__}")


def _customer_options(cutoff, holdout_end, unit, same_day_once, first_purchase_counts,
                      trend_window, inactivity_threshold, key_fraction, important_fraction):
    o = CustomerOptions()
    _options_init(ctypes.byref(o))
    o.cutoff = time_arg(cutoff, "cutoff")
    o.holdout_end = time_arg(holdout_end, "holdout_end")
    o.time_unit = time_unit_days(unit)
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
    return o


def _timestamp(seconds):
    import pandas as pd
    return pd.Timestamp(seconds, unit="s") if seconds else None


def customer_ids_index(ids, int_ids, name="customer_id"):
    """pandas Index of customer ids: integers when the log was built from integer ids."""
    import pandas as pd
    if int_ids:
        try:
            return pd.Index(np.array([int(v) for v in ids], dtype=np.int64), name=name)
        except ValueError:
            pass
    return pd.Index(ids, dtype=object, name=name)


def customer_table(data, cutoff=None, holdout_end=None, unit="day", *, customer="customer_id",
                   time="date", amount="amount", quantity=None, product=None,
                   same_day_once=True, first_purchase_counts=False, trend_window=None,
                   inactivity_threshold=None, key_fraction=None, important_fraction=None,
                   columns=None):
    """The customer table as of `cutoff`: one row per customer, indexed by customer id.

    `data` is a :class:`TransactionLog` or a pandas DataFrame of transactions (column
    names `customer`, `time`, `amount` [, `quantity`, `product`]; times as datetimes,
    date strings or epoch seconds). Dates (`cutoff`, `holdout_end`) may be strings,
    datetimes or epoch seconds; `cutoff=None` means the day of the last transaction.
    `unit` is 'day', 'week', 'month', 'year' or a number of days.

    Columns are those of the C table (include/churn/customers.h): frequency, recency, T,
    monetary_value (lifetimes' definitions), n_orders, total_spend, ..., value_tier and,
    with `holdout_end`, holdout_purchases, holdout_spend, churned, duration, event.
    ``df.attrs`` holds cutoff, holdout_end, time_unit (days), excluded (customers with no
    order on or before the cutoff) and the population metrics (see
    :func:`population_metrics`). `columns` (a list of names) copies only those columns
    out of the C table (KeyError naming an unknown one).
    """
    log = _to_log(data, customer, time, amount, quantity, product)
    o = _customer_options(cutoff, holdout_end, unit, same_day_once, first_purchase_counts,
                          trend_window, inactivity_threshold, key_fraction, important_fraction)
    h = c_void_p()
    check(_build(ctypes.byref(h), log._h, ctypes.byref(o)))
    try:
        return table_frame(h.value, getattr(log, "_int_ids", False), columns)
    finally:
        _free(h)


def table_frame(t, int_ids=False, columns=None):
    """Copy a C customer table (borrowed handle) into a DataFrame with its attrs."""
    import pandas as pd
    from ._errors import error_for
    n = _num_rows(t)
    cols = {}
    names = ([_column_name(t, j).decode() for j in range(_num_columns(t))]
             if columns is None else [str(c) for c in columns])
    for name in names:
        p = _column(t, name.encode())
        if not p:
            raise error_for(_lib.churn_last_error_code())
        cols[name] = (np.ctypeslib.as_array(p, shape=(n,)).copy() if n else
                      np.empty(0, dtype=np.float64))
    ids = [_id(t, i).decode() for i in range(n)]
    attrs = {"cutoff": _timestamp(_cutoff(t)), "holdout_end": _timestamp(_holdout_end(t)),
             "time_unit": _time_unit(t), "excluded": int(_num_excluded(t))}
    attrs.update(_metrics(t))
    df = pd.DataFrame(cols, index=customer_ids_index(ids, int_ids))
    df.attrs.update(attrs)
    return df


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
    """Repeat rate, churn and retention rates (with a holdout), Pareto share of the key
    tier, customers and excluded customers of a table from :func:`customer_table`, as a
    pandas Series (computed by the C library when the table was built)."""
    import pandas as pd
    keys = ("customers", "excluded", "repeat_rate", "churn_rate", "retention_rate",
            "pareto_share")
    if not all(k in table.attrs for k in keys):
        raise ValueError("population_metrics needs a table built by churn.customer_table "
                         "(its attrs hold the metrics)")
    return pd.Series({k: (np.nan if table.attrs[k] is None else table.attrs[k]) for k in keys},
                     name="value", dtype=float)


def rfm_segment_name(code):
    """Name of an RFM segment code ('champions', 'at risk', ...); None when unknown."""
    s = _rfm_name(int(code))
    return None if s is None else s.decode()


def cohort_table(data, period="month", cutoff=None, calendar=True, counts=False, *,
                 customer="customer_id", time="date", amount="amount"):
    """Retention by acquisition cohort as a DataFrame.

    Rows: cohorts (indexed by the start of the cohort's period); column ``customers``
    (cohort size) then offsets 0, 1, ... (periods since acquisition): the share of the
    cohort with an order in that period, or the number of such customers with
    ``counts=True``. Cells after the cutoff's period are NaN (not observed).
    `period`: 'day', 'week', 'month' (default), 'year' or a number of days.
    """
    import pandas as pd
    log = _to_log(data, customer, time, amount, None, None)
    o = CohortOptions()
    _cohort_init(ctypes.byref(o))
    o.cutoff = time_arg(cutoff, "cutoff")
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
    for the same transactions. The state is plain data: :meth:`to_bytes` /
    :meth:`from_bytes` store it (same library version and platform).
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

    def add(self, time, amount):
        """Add one transaction (amount >= 0: order, < 0: refund); returns self."""
        check(_state_add(ctypes.byref(self._s), time_arg(time, "time"), float(amount)))
        return self

    def value(self, column, cutoff):
        """One feature as of `cutoff` (a date or epoch seconds)."""
        v = c_double()
        check(_state_value(ctypes.byref(self._s), time_arg(cutoff, "cutoff"),
                           str(column).encode(), ctypes.byref(v)))
        return v.value

    def values(self, cutoff, columns=None):
        """Several features as of `cutoff` as a pandas Series (default: all incremental)."""
        import pandas as pd
        cols = self.INCREMENTAL if columns is None else columns
        return pd.Series({c: self.value(c, cutoff) for c in cols}, dtype=float)

    def to_bytes(self):
        return bytes(self._s)

    @classmethod
    def from_bytes(cls, raw):
        obj = cls.__new__(cls)
        if len(raw) != ctypes.sizeof(_StateStruct):
            raise ValueError(f"state: {len(raw)} bytes, expected {ctypes.sizeof(_StateStruct)}")
        obj._s = _StateStruct.from_buffer_copy(raw)
        return obj

    def __reduce__(self):
        return (CustomerState.from_bytes, (self.to_bytes(),))

    def __repr__(self):
        return (f"<CustomerState: {self._s.n_orders:g} orders, {self._s.n_returns:g} returns, "
                f"unit {self._s.time_unit:g} days>")


__all__ = ["customer_table", "cohort_table", "population_metrics", "rfm_segment_name",
           "CustomerState", "time_unit_days", "POPULATION_COLUMNS"]
