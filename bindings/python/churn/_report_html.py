"""The retention report as one self-contained HTML page (issue 25): ``report.to_html()``.

The page is rendered by the library (``churn_report_html``, include/churn/report.h), the same
code as ``churn report --html``: the summary, the save-now and win-back lists, value-tier
shares, the P(alive) distribution, retention by acquisition cohort and Kaplan-Meier retention
by tier, with the charts as inline SVG. :func:`churn.retention_report` returns a
:class:`RetentionReport`, a pandas DataFrame with this one extra method.
"""
import ctypes
from ctypes import POINTER, c_char_p, c_double, c_int, c_size_t, c_void_p

import numpy as np
import pandas as pd

from . import _lib
from ._errors import check


class _Page(ctypes.Structure):
    """Mirror of churn_report_page (include/churn/report.h); fields only appended."""

    _fields_ = [("struct_size", c_size_t), ("title", c_char_p), ("cutoff", c_char_p),
                ("model", c_char_p), ("currency", c_char_p), ("time_unit_days", c_double),
                ("horizon", c_int), ("period", c_double), ("discount", c_double),
                ("margin", c_double), ("alive_threshold", c_double), ("top", c_size_t),
                ("n", c_size_t), ("customer_id", POINTER(c_char_p)),
                ("p_alive", POINTER(c_double)), ("clv", POINTER(c_double)),
                ("value_at_risk", POINTER(c_double)), ("tier", POINTER(c_int)),
                ("alerts", POINTER(c_char_p)), ("recency", POINTER(c_double)),
                ("T", POINTER(c_double)), ("n_cohorts", c_size_t),
                ("cohort_start", POINTER(c_double)), ("cohort_retention", POINTER(c_double)),
                ("cohort_size", POINTER(c_double)), ("cohort_period_days", c_double)]


_page_init = _lib.fn("churn_report_page_init", None, POINTER(_Page))
_report_html = _lib.fn("churn_report_html", c_int, POINTER(_Page), c_void_p, c_size_t,
                       POINTER(c_size_t))

_TIER_CODES = {"key": 1, "important": 2, "ordinary": 3}


def _doubles(values):
    a = np.ascontiguousarray(np.asarray(values, dtype=float))
    return a, a.ctypes.data_as(POINTER(c_double))


def _texts(values):
    enc = [None if v is None or (isinstance(v, float) and np.isnan(v)) or v == ""
           else str(v).encode("utf-8") for v in values]
    return (c_char_p * max(len(enc), 1))(*enc)


def render_html(report, alive_threshold=0.5, top=20, transactions=None, title=None,
                currency=None, cohort_period="month", **transaction_columns):
    """The retention report as one self-contained HTML5 page.

    Parameters
    ----------
    report : pandas.DataFrame
        A report of :func:`churn.retention_report` (indexed by customer id, with its
        p_alive, clv, value_at_risk, tier, alerts, recency and T columns, and its attrs).
    alive_threshold : float, default 0.5
        P(alive) that splits the save-now list (P(alive) >= it) from the win-back list
        (below it); strictly between 0 and 1, as ``churn report --alive-threshold``.
    top : int, default 20
        Customers shown in each list.
    transactions : TransactionLog or pandas.DataFrame, optional
        The transactions the report was made from: adds the chart of retention by
        acquisition cohort (:func:`churn.cohort_table` as of the report's cutoff).
    title : str, optional
        Page title (default "Retention report").
    currency : str, optional
        Name of the money unit of the amounts (default "amount units").
    cohort_period : str or float, default "month"
        Period of the cohort chart.
    **transaction_columns
        ``customer``, ``time``, ``amount``, ``date_format``, ``dayfirst`` for a
        `transactions` DataFrame, as in :func:`churn.cohort_table`.

    Returns
    -------
    str
        The page (UTF-8 text): no script, font, image file or URL.

    Raises
    ------
    ValueError
        A missing column, a threshold outside (0, 1), or a value the library refuses
        (the message names the row and the field).

    Examples
    --------
    >>> log = churn.simulate("bgnbd", customers=300, seed=3, start="2024-01-01", days=364,
    ...                      acquisition_days=90)
    >>> report = churn.retention_report(log, cutoff="2024-10-01")
    >>> page = churn._report_html.render_html(report, top=5, transactions=log)
    >>> page.startswith("<!DOCTYPE html>") and "Win back" in page
    True
    """
    need = ["p_alive", "clv", "value_at_risk", "tier"]
    missing = [c for c in need if c not in report.columns]
    if missing:
        raise ValueError(f"to_html: the report has no column {missing[0]!r} (a report of "
                         "churn.retention_report is expected)")
    if not 0 < alive_threshold < 1:
        raise ValueError(f"to_html: alive_threshold {alive_threshold} must be strictly "
                         "between 0 and 1")
    attrs = report.attrs
    pg = _Page()
    _page_init(ctypes.byref(pg))
    keep = []  # every buffer the struct points into, alive until the call returns
    n = len(report)
    ids = _texts(report.index.astype(str))
    tier = np.ascontiguousarray([_TIER_CODES.get(str(t), 0) for t in report["tier"]],
                                dtype=np.intc)
    pg.n, pg.customer_id = n, ids
    pa, pg.p_alive = _doubles(report["p_alive"])
    clv, pg.clv = _doubles(report["clv"])
    var, pg.value_at_risk = _doubles(report["value_at_risk"])
    pg.tier = tier.ctypes.data_as(POINTER(c_int))
    keep += [ids, tier, pa, clv, var]
    if "alerts" in report.columns:
        al = _texts(report["alerts"])
        pg.alerts = al
        keep.append(al)
    if "recency" in report.columns and "T" in report.columns:
        rec, pg.recency = _doubles(report["recency"])
        T, pg.T = _doubles(report["T"])
        keep += [rec, T]
    texts = {}
    for field, value in (("title", title), ("currency", currency),
                         ("model", _model_name(attrs.get("model"))),
                         ("cutoff", _date_text(attrs.get("cutoff")))):
        if value is not None:
            texts[field] = str(value).encode("utf-8")
            setattr(pg, field, texts[field])
    if attrs.get("time_unit"):
        pg.time_unit_days = float(attrs["time_unit"])
    cs = attrs.get("clv_settings") or {}
    if cs:
        pg.horizon = int(cs["horizon"])
        pg.period = float(cs["period"])
        pg.discount = float(cs["discount"])
        pg.margin = float(cs["margin"])
    pg.alive_threshold = float(alive_threshold)
    pg.top = int(top)
    if transactions is not None:
        from ._customers import cohort_table
        from ._customers import time_unit_days
        ct = cohort_table(transactions, period=cohort_period, cutoff=attrs.get("cutoff"),
                          counts=True, **transaction_columns)
        size = ct["customers"].to_numpy(dtype=float)
        cells = ct.drop(columns="customers").to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            ret = np.where(size[:, None] > 0, cells / np.maximum(size, 1)[:, None], 0.0)
        ret[np.isnan(cells)] = -1.0
        start = (ct.index.asi8 / 1e9).astype(float)
        st, pg.cohort_start = _doubles(start)
        rt, pg.cohort_retention = _doubles(ret.ravel())
        sz, pg.cohort_size = _doubles(size)
        keep += [st, rt, sz]
        pg.n_cohorts = len(ct)
        pg.cohort_period_days = time_unit_days(cohort_period)
    length = c_size_t(0)
    check(_report_html(ctypes.byref(pg), None, 0, ctypes.byref(length)))
    buf = ctypes.create_string_buffer(length.value + 1)
    check(_report_html(ctypes.byref(pg), buf, length.value + 1, ctypes.byref(length)))
    return buf.raw[: length.value].decode("utf-8")


def _model_name(model):
    name = getattr(model, "_family_name", None) or getattr(type(model), "__name__", None)
    return None if model is None else str(name).lower().replace("paretonbd", "pnbd")


def _date_text(cutoff):
    if cutoff is None:
        return None
    try:
        return pd.Timestamp(cutoff).strftime("%Y-%m-%d")
    except (TypeError, ValueError):
        return str(cutoff)


class RetentionReport(pd.DataFrame):
    """The DataFrame of :func:`churn.retention_report`, with :meth:`to_html`.

    Everything else is a pandas DataFrame; frames derived from it (slices, copies,
    arithmetic) are plain DataFrames. ``pandas.DataFrame.to_html(report)`` still gives
    pandas' HTML table.

    Examples
    --------
    >>> log = churn.simulate("bgnbd", customers=300, seed=3, start="2024-01-01", days=364)
    >>> report = churn.retention_report(log, cutoff="2024-10-01")
    >>> type(report).__name__, isinstance(report, pd.DataFrame), type(report.head()).__name__
    ('RetentionReport', True, 'DataFrame')
    """

    @property
    def _constructor(self):
        return pd.DataFrame

    def to_html(self, path=None, *, alive_threshold=0.5, top=20, transactions=None,
                title=None, currency=None, cohort_period="month", **transaction_columns):
        """The report as one self-contained HTML5 page, as ``churn report --html``.

        Parameters
        ----------
        path : str or os.PathLike, optional
            Also write the page to this file (UTF-8).
        alive_threshold : float, default 0.5
            P(alive) that splits save now (at or above it) from win back (below it).
        top : int, default 20
            Customers shown in each list.
        transactions : TransactionLog or pandas.DataFrame, optional
            The report's transactions: adds the cohort chart.
        title : str, optional
            Page title (default "Retention report").
        currency : str, optional
            Name of the money unit (default "amount units").
        cohort_period : str or float, default "month"
            Period of the cohort chart.
        **transaction_columns
            Column names and date reading of a `transactions` DataFrame, as in
            :func:`churn.cohort_table`.

        Returns
        -------
        str
            The page.

        Examples
        --------
        >>> log = churn.simulate("bgnbd", customers=300, seed=3, start="2024-01-01",
        ...                      days=364, acquisition_days=90)
        >>> report = churn.retention_report(log, cutoff="2024-10-01")
        >>> page = report.to_html(top=5, transactions=log)
        >>> "<script" in page, page.count("<svg ")
        (False, 4)
        """
        page = render_html(self, alive_threshold=alive_threshold, top=top,
                           transactions=transactions, title=title, currency=currency,
                           cohort_period=cohort_period, **transaction_columns)
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(page)
        return page


def as_report(frame):
    """`frame` (a retention report) as a :class:`RetentionReport`, attrs kept.

    Parameters
    ----------
    frame : pandas.DataFrame
        The report built by :func:`churn.retention_report`.

    Returns
    -------
    RetentionReport
        The same rows, columns and attrs.

    Examples
    --------
    >>> frame = pd.DataFrame({"p_alive": [0.9]}, index=["c1"])
    >>> frame.attrs["cutoff"] = "2024-10-01"
    >>> churn._report_html.as_report(frame).attrs["cutoff"]
    '2024-10-01'
    """
    out = RetentionReport(frame)
    out.attrs.update(frame.attrs)
    return out
