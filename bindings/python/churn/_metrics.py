"""Evaluation of churn scores (include/churn/metrics.h): AUC, log loss, Brier, precision
and recall at k, lift/gains and calibration tables, time-dependent AUC, BTYD holdout
checks and the time-split model comparison, as numbers and DataFrames."""
import ctypes
from ctypes import POINTER, c_char_p, c_double, c_int, c_size_t, c_uint64, c_void_p

import numpy as np

from . import _lib
from ._arrays import as_f64, ptr
from ._btyd import _columns
from ._errors import check

_d = _lib.c_double_p


class TrackingOptions(ctypes.Structure):
    """Mirror of churn_tracking_options."""

    _fields_ = [("struct_size", c_size_t), ("origin", c_double), ("period_days", c_double),
                ("every_transaction", c_int)]


class ComparisonOptions(ctypes.Structure):
    """Mirror of churn_comparison_options."""

    _fields_ = [("struct_size", c_size_t), ("cutoff", c_double), ("holdout_end", c_double),
                ("time_unit", c_double), ("models", c_char_p), ("features", c_char_p),
                ("folds", c_size_t), ("seed", c_uint64), ("btyd_churn", c_int),
                ("lift_bins", c_size_t)]


_fn = _lib.fn
_auc = _fn("churn_metrics_roc_auc", c_int, c_size_t, _d, _d, _d, _d)
_log_loss = _fn("churn_metrics_log_loss", c_int, c_size_t, _d, _d, _d, _d)
_brier = _fn("churn_metrics_brier", c_int, c_size_t, _d, _d, _d, _d)
_pr_at_k = _fn("churn_metrics_precision_recall_at_k", c_int, c_size_t, _d, _d, _d, c_size_t,
               _d, _d)
_lift = _fn("churn_metrics_lift_table", c_int, c_size_t, _d, _d, _d, c_size_t, _d, _d, _d, _d,
            _d, _d)
_calib = _fn("churn_metrics_calibration", c_int, c_size_t, _d, _d, _d, c_size_t, c_int, _d, _d,
             _d, _d, _d, _d)
_time_auc = _fn("churn_metrics_time_auc", c_int, c_size_t, _d, _d, _d, _d, c_double, _d)
_holdout = _fn("churn_metrics_holdout_by_frequency", c_int, c_void_p, c_double, c_size_t, _d,
               _d, _d, _d, c_size_t, _d, _d, _d, _d)
_track_init = _fn("churn_tracking_options_init", None, POINTER(TrackingOptions))
_tracking = _fn("churn_metrics_repeat_tracking", c_int, c_void_p, c_void_p, c_size_t,
                POINTER(TrackingOptions), _d, _d, _d, _d)
_cmp_init = _fn("churn_comparison_options_init", None, POINTER(ComparisonOptions))
_compare = _fn("churn_metrics_compare", c_int, POINTER(c_void_p), c_void_p,
               POINTER(ComparisonOptions))
_cmp_free = _fn("churn_comparison_free", None, c_void_p)
_cmp_num = _fn("churn_comparison_num_models", c_size_t, c_void_p)
_cmp_name = _fn("churn_comparison_model_name", c_char_p, c_void_p, c_size_t)
_cmp_status = _fn("churn_comparison_status", c_int, c_void_p, c_size_t)
_cmp_note = _fn("churn_comparison_note", c_char_p, c_void_p, c_size_t)
_cmp_value = _fn("churn_comparison_value", c_int, c_void_p, c_size_t, c_char_p, _d)
_cmp_model = _fn("churn_comparison_model", c_void_p, c_void_p, c_size_t)
_cmp_scores = _fn("churn_comparison_scores", _d, c_void_p, c_size_t)
_cmp_customers = _fn("churn_comparison_customers", c_void_p, c_void_p)
_cmp_holdout = _fn("churn_comparison_holdout_length", c_double, c_void_p)


def _pair(y, s, weight, sname):
    a = as_f64(s, sname)
    n = a.shape[0]
    return a, as_f64(y, "label", n), (None if weight is None else as_f64(weight, "weight", n))


def _scalar(f, *args):
    v = c_double()
    check(f(*args, ctypes.byref(v)))
    return v.value


def roc_auc(y_true, score, sample_weight=None):
    """Area under the ROC curve (exact Mann-Whitney; equal to scikit-learn's).

    Ties between a churner's and a stayer's score count one half.

    Parameters
    ----------
    y_true : array_like
        0/1 labels (1 = churned).
    score : array_like
        Scores, higher = more likely to churn (any scale).
    sample_weight : array_like, optional
        Weights of the rows.

    Returns
    -------
    float
        The AUC in [0, 1].

    Examples
    --------
        >>> y = [0, 0, 1, 1, 0, 1, 0, 1]
        >>> p = [0.1, 0.3, 0.7, 0.8, 0.4, 0.35, 0.2, 0.9]
    >>> round(churn.roc_auc(y, p), 4)
    0.9375
    """
    s, y, w = _pair(y_true, score, sample_weight, "score")
    return _scalar(_auc, s.shape[0], ptr(s), ptr(y), ptr(w))


def log_loss(y_true, prob, sample_weight=None):
    """Mean negative log-likelihood of 0/1 labels (scikit-learn's log_loss).

    Parameters
    ----------
    y_true : array_like
        0/1 labels.
    prob : array_like
        Predicted probabilities of label 1.
    sample_weight : array_like, optional
        Weights of the rows.

    Returns
    -------
    float
        The (weighted) mean of -log p(label).

    Examples
    --------
        >>> y = [0, 0, 1, 1, 0, 1, 0, 1]
        >>> p = [0.1, 0.3, 0.7, 0.8, 0.4, 0.35, 0.2, 0.9]
    >>> round(churn.log_loss(y, p), 4)
    0.3664
    """
    p, y, w = _pair(y_true, prob, sample_weight, "prob")
    return _scalar(_log_loss, p.shape[0], ptr(p), ptr(y), ptr(w))


def brier_score(y_true, prob, sample_weight=None):
    """Mean squared error of probabilities against 0/1 labels.

    Parameters
    ----------
    y_true : array_like
        0/1 labels.
    prob : array_like
        Predicted probabilities of label 1.
    sample_weight : array_like, optional
        Weights of the rows.

    Returns
    -------
    float
        The (weighted) mean of (p - y)^2.

    Examples
    --------
        >>> y = [0, 0, 1, 1, 0, 1, 0, 1]
        >>> p = [0.1, 0.3, 0.7, 0.8, 0.4, 0.35, 0.2, 0.9]
    >>> round(churn.brier_score(y, p), 4)
    0.1078
    """
    p, y, w = _pair(y_true, prob, sample_weight, "prob")
    return _scalar(_brier, p.shape[0], ptr(p), ptr(y), ptr(w))


def precision_recall_at_k(y_true, score, k, sample_weight=None):
    """(precision, recall) among the k highest-scored rows (ties split in proportion).

    Parameters
    ----------
    y_true : array_like
        0/1 labels.
    score : array_like
        Scores, higher = more likely to churn.
    k : int
        Number of rows targeted.
    sample_weight : array_like, optional
        Weights of the rows.

    Returns
    -------
    tuple of float
        Precision (churners among the k) and recall (share of all churners in the k).

    Examples
    --------
        >>> y = [0, 0, 1, 1, 0, 1, 0, 1]
        >>> p = [0.1, 0.3, 0.7, 0.8, 0.4, 0.35, 0.2, 0.9]
    >>> churn.precision_recall_at_k(y, p, 2)
    (1.0, 0.5)
    """
    s, y, w = _pair(y_true, score, sample_weight, "score")
    pr, rc = c_double(), c_double()
    check(_pr_at_k(s.shape[0], ptr(s), ptr(y), ptr(w), int(k), ctypes.byref(pr),
                   ctypes.byref(rc)))
    return pr.value, rc.value


def lift_table(y_true, score, bins=10, sample_weight=None):
    """Lift and cumulative gains over `bins` equal-weight bins by decreasing score.

    Bin 1 is the top-scored bin.

    Parameters
    ----------
    y_true : array_like
        0/1 labels.
    score : array_like
        Scores, higher = more likely to churn.
    bins : int, default 10
        Number of bins.
    sample_weight : array_like, optional
        Weights of the rows.

    Returns
    -------
    pandas.DataFrame
        weight, positives, rate, lift, cumulative_gain, cumulative_lift per bin.

    Examples
    --------
        >>> y = [0, 0, 1, 1, 0, 1, 0, 1]
        >>> p = [0.1, 0.3, 0.7, 0.8, 0.4, 0.35, 0.2, 0.9]
    >>> churn.lift_table(y, p, bins=2)["lift"].tolist()
    [1.5, 0.5]
    """
    import pandas as pd
    s, y, w = _pair(y_true, score, sample_weight, "score")
    b = int(bins)
    if b < 1:
        raise ValueError(f"bins: {bins} must be >= 1")
    out = [np.empty(b) for _ in range(6)]
    check(_lift(s.shape[0], ptr(s), ptr(y), ptr(w), b, *[ptr(a) for a in out]))
    return pd.DataFrame(dict(zip(("weight", "positives", "rate", "lift", "cumulative_gain",
                                  "cumulative_lift"), out)),
                        index=pd.RangeIndex(1, b + 1, name="bin"))


def calibration_table(y_true, prob, bins=10, strategy="uniform", sample_weight=None):
    """Reliability table per probability bin, with the expected calibration error.

    Parameters
    ----------
    y_true : array_like
        0/1 labels.
    prob : array_like
        Predicted probabilities.
    bins : int, default 10
        Number of bins.
    strategy : {'uniform', 'quantile'}, default 'uniform'
        Equal-width bins (scikit-learn's calibration_curve) or equal-weight bins.
    sample_weight : array_like, optional
        Weights of the rows.

    Returns
    -------
    pandas.DataFrame
        lower, upper, weight, mean_predicted, observed per bin; ``df.attrs['ece']`` is
        the expected calibration error.

    Examples
    --------
        >>> y = [0, 0, 1, 1, 0, 1, 0, 1]
        >>> p = [0.1, 0.3, 0.7, 0.8, 0.4, 0.35, 0.2, 0.9]
    >>> t = churn.calibration_table(y, p, bins=2)
    >>> t["observed"].tolist()
    [0.2, 1.0]
    """
    import pandas as pd
    if strategy not in ("uniform", "quantile"):
        raise ValueError(f"strategy: '{strategy}' is not 'uniform' or 'quantile'")
    p, y, w = _pair(y_true, prob, sample_weight, "prob")
    b = int(bins)
    if b < 1:
        raise ValueError(f"bins: {bins} must be >= 1")
    out = [np.empty(b) for _ in range(5)]
    ece = c_double()
    check(_calib(p.shape[0], ptr(p), ptr(y), ptr(w), b, 0 if strategy == "uniform" else 1,
                 *[ptr(a) for a in out], ctypes.byref(ece)))
    df = pd.DataFrame(dict(zip(("lower", "upper", "weight", "mean_predicted", "observed"),
                               out)), index=pd.RangeIndex(1, b + 1, name="bin"))
    df.attrs["ece"] = ece.value
    return df


def time_auc(duration, event, marker, horizon, sample_weight=None):
    """Cumulative/dynamic AUC at `horizon` with IPCW (Uno et al. 2007).

    Parameters
    ----------
    duration : array_like
        Observed lifetimes.
    event : array_like
        1 = churned (event), 0 = censored.
    marker : array_like
        Risk scores (higher = earlier churn).
    horizon : float
        Time at which cases (churned by then) are told from controls (still there).
    sample_weight : array_like, optional
        Weights of the rows.

    Returns
    -------
    float
        The time-dependent AUC.

    Examples
    --------
    >>> d = [2.0, 5, 3, 8, 6, 9, 1, 7]
    >>> e = [1, 1, 0, 1, 0, 0, 1, 1]
    >>> m = [0.9, 0.5, 0.6, 0.2, 0.3, 0.1, 0.95, 0.25]
    >>> round(churn.time_auc(d, e, m, horizon=4.0), 4)
    1.0
    """
    d = as_f64(duration, "duration")
    n = d.shape[0]
    e = as_f64(event, "event", n)
    m = as_f64(marker, "marker", n)
    w = None if sample_weight is None else as_f64(sample_weight, "weight", n)
    return _scalar(_time_auc, n, ptr(d), ptr(e), ptr(m), ptr(w), float(horizon))


def holdout_by_frequency(model, holdout_length, data=None, actual="holdout_purchases",
                         max_frequency=7, *, frequency=None, recency=None, T=None,
                         unit=None):
    """Mean actual vs predicted holdout purchases by calibration frequency.

    Frequencies 0..max-1 and 'max+' (Fader, Hardie & Lee 2005, Fig. 4), from a
    customer table with a holdout.

    Parameters
    ----------
    model : BGNBD, MBGNBD or ParetoNBD
        A fitted purchase model.
    holdout_length : float
        Length of the holdout window in the model's time unit.
    data : pandas.DataFrame, optional
        A customer table with a holdout, or pass the arrays.
    actual : str or array_like, default "holdout_purchases"
        Actual holdout purchases (a column name or an array).
    max_frequency : int, default 7
        Frequencies from this value on are pooled.
    frequency, recency, T : str or array_like, optional
        Column names in `data` or arrays.
    unit : str or float, optional
        The data's time unit, for data that do not carry ``attrs["time_unit"]``.

    Returns
    -------
    pandas.DataFrame
        customers, actual, expected per frequency; ``df.attrs['mae']`` is the mean
        absolute error per customer.

    Raises
    ------
    churn.UnitMismatchError
        The data's time unit differs from the model's; the message names both.

    Examples
    --------
    >>> t = churn.simulate_summary(2000, model="bgnbd", seed=4, holdout_days=182,
    ...                            unit="week", r=0.5, alpha=5.0, a=0.8, b=3.0)
    >>> bg = churn.BGNBD.from_params(r=0.5, alpha=5.0, a=0.8, b=3.0)
    >>> h = churn.holdout_by_frequency(bg, 26, t)
    >>> list(h.columns), h.attrs["mae"] < 1.5
    (['customers', 'actual', 'expected'], True)
    """
    import pandas as pd
    model.check_time_unit(data, unit)
    x, tx, T_ = _columns(data, frequency, recency, T)
    n = x.shape[0]
    act = as_f64(data[actual] if isinstance(actual, str) else actual, "actual", n)
    k = int(max_frequency) + 1
    cust, ma, me = np.empty(k), np.empty(k), np.empty(k)
    mae = c_double()
    check(_holdout(model._require(), float(holdout_length), n, ptr(x), ptr(tx), ptr(T_),
                   ptr(act), int(max_frequency), ptr(cust), ptr(ma), ptr(me),
                   ctypes.byref(mae)))
    labels = [str(i) for i in range(k - 1)] + [f"{k - 1}+"]
    df = pd.DataFrame({"customers": cust, "actual": ma, "expected": me},
                      index=pd.Index(labels, name="frequency"))
    df.attrs["mae"] = mae.value
    return df


def repeat_tracking(log, model=None, periods=78, origin=None, period_days=7.0,
                    every_transaction=False, *, customer="customer_id", time="date",
                    amount="amount", date_format="auto", dayfirst=None):
    """Actual (and with a BTYD `model`, expected) repeat purchases per period.

    Fader, Hardie & Lee (2005), Figs. 2-3: cumulative and incremental repeat
    transactions of the customers in `log`, period 1..n from `origin`.

    Parameters
    ----------
    log : TransactionLog or pandas.DataFrame
        Transactions; a DataFrame is read as :meth:`churn.TransactionLog.from_dataframe`
        reads it, with the columns named by `customer`, `time`, `amount`.
    model : BGNBD, MBGNBD or ParetoNBD, optional
        Adds the expected columns.
    periods : int, default 78
        Number of periods.
    origin : date, optional
        Start of period 1 (default: the first purchase in the log).
    period_days : float, default 7
        Length of a period in days.
    every_transaction : bool, default False
        Count every transaction, not only repeat ones.
    customer, time, amount : str
        Keyword only: column names of a DataFrame.
    date_format : str, default "auto"
        Keyword only: how to read the dates (as :func:`churn.customer_table`).
    dayfirst : bool, optional
        Keyword only: day-first dates.

    Returns
    -------
    pandas.DataFrame
        Indexed by period 1..n: actual, actual_cumulative [, expected,
        expected_cumulative].

    Examples
    --------
    >>> df = pd.DataFrame({"customer_id": [1, 1, 2, 2, 2],
    ...                    "date": ["2024-01-01", "2024-01-09", "2024-01-02",
    ...                             "2024-01-03", "2024-01-20"],
    ...                    "amount": [10.0, 12, 5, 7, 9]})
    >>> churn.repeat_tracking(df, periods=3, origin="2024-01-01")["actual"].tolist()
    [1.0, 1.0, 1.0]
    """
    import pandas as pd
    from ._customers import _to_log, time_arg
    log = _to_log(log, customer, time, amount, None, None, date_format, dayfirst)
    n = int(periods)
    if n < 1:
        raise ValueError(f"periods: {periods} must be >= 1")
    o = TrackingOptions()
    _track_init(ctypes.byref(o))
    o.origin = time_arg(origin, "origin")
    o.period_days = float(period_days)
    o.every_transaction = 1 if every_transaction else 0
    ac, ai = np.empty(n), np.empty(n)
    ec = ei = None
    if model is not None:
        ec, ei = np.empty(n), np.empty(n)
    check(_tracking(log._h, None if model is None else model._require(), n, ctypes.byref(o),
                    ptr(ac), ptr(ec), ptr(ai), ptr(ei)))
    cols = {"actual": ai, "actual_cumulative": ac}
    if model is not None:
        cols.update({"expected": ei, "expected_cumulative": ec})
    return pd.DataFrame(cols, index=pd.RangeIndex(1, n + 1, name="period"))


class Comparison:
    """Result of :func:`compare_models`.

    ``table`` (one row per model: auc, log_loss, brier, top_decile_lift, holdout_mae,
    status, note), ``scores`` (churn probabilities per customer and model; out of
    sample for the families compare_models fitted), ``customers`` (the evaluated
    customer table with its holdout labels), ``models`` (the models scored) and
    ``holdout_length`` (time units). Built by :func:`compare_models`, not by hand.

    Parameters
    ----------
    h : ctypes handle
        The C comparison (borrowed; copied into Python objects).

    Examples
    --------
    >>> t = churn.simulate_summary(500, model="bgnbd", seed=5, holdout_days=182,
    ...                            unit="week")
    >>> t["churned"] = (t["holdout_purchases"] == 0).astype(float)
    >>> cmp = churn.compare_models([churn.BGNBD().fit(t)], t, holdout=26)
    >>> type(cmp).__name__, cmp.table.columns[0]
    ('Comparison', 'auc')
    """

    METRICS = ("auc", "log_loss", "brier", "top_decile_lift", "holdout_mae")

    def __init__(self, h):
        import pandas as pd
        from ._customers import table_frame
        from ._model import Model
        rows, scores, models = [], {}, {}
        self.customers = table_frame(_cmp_customers(h))
        n = len(self.customers)
        for i in range(_cmp_num(h)):
            name = _cmp_name(h, i).decode()
            row = {"model": name}
            st = _cmp_status(h, i)
            for m in self.METRICS:
                v = c_double()
                row[m] = v.value if _cmp_value(h, i, m.encode(), ctypes.byref(v)) == 0 else \
                    np.nan
            row["status"] = _lib.churn_strerror(st).decode() if st else "ok"
            row["note"] = (_cmp_note(h, i) or b"").decode()
            rows.append(row)
            sp = _cmp_scores(h, i)
            if sp:
                scores[f"p_churn_{name}"] = np.ctypeslib.as_array(sp, shape=(n,)).copy()
            mp = _cmp_model(h, i)
            if mp:
                # The comparison owns its models: copy each through its model file.
                need = c_size_t(0)
                _lib.churn_model_save_buffer(mp, None, 0, ctypes.byref(need))
                buf = ctypes.create_string_buffer(need.value)
                check(_lib.churn_model_save_buffer(mp, buf, need.value, None))
                models[name] = Model.from_json(buf.value.decode())
        self.holdout_length = _cmp_holdout(h)
        self.table = pd.DataFrame(rows).set_index("model")
        self.scores = pd.DataFrame(scores, index=self.customers.index)
        self.models = models

    def __repr__(self):
        return f"<Comparison of {len(self.table)} models>\n{self.table.iloc[:, :5]}"

    def _repr_html_(self):
        return ("<p><b>Model comparison</b> (holdout length "
                f"{self.holdout_length:g} time units, {len(self.customers)} customers)</p>"
                + self.table.to_html(float_format=lambda v: f"{v:.4f}"))


def _is_model(m):
    from ._model import Model
    return isinstance(m, Model)


def _fitted_models(models):
    """[(name, model)] when `models` is a fitted model, a list of them or a dict of
    them; None when it names families (the C comparison fits them)."""
    if models is None or isinstance(models, str):
        return None
    if _is_model(models):
        models = [models]
    if isinstance(models, dict):
        items = list(models.items())
    else:
        items = list(models)
        if all(isinstance(m, str) for m in items):
            return None
        items = [(None, m) for m in items]
    bad = [m for _, m in items if not _is_model(m)]
    if bad:
        raise TypeError(f"models: mix of family names and fitted models, or a "
                        f"{type(bad[0]).__name__}: pass family names (fitted here, as "
                        f"`churn evaluate` does) or fitted models, not both")
    out, seen = [], {}
    for name, m in items:
        m._require()
        if name is None:
            name = m.family
        base, k = str(name), seen.get(str(name), 0)
        seen[base] = k + 1
        out.append((base if k == 0 else f"{base}_{k + 1}", m))
    return out


def _holdout_length(table, holdout):
    if holdout is not None:
        h = float(holdout)
        if not h > 0:
            raise ValueError(f"holdout: {holdout!r} must be a positive length in the "
                             f"table's time unit")
        return h
    a = getattr(table, "attrs", {}) or {}
    c, e, u = a.get("cutoff"), a.get("holdout_end"), a.get("time_unit")
    if c is None or e is None or not u:
        raise ValueError("holdout: the table does not say its holdout window (attrs "
                         "cutoff, holdout_end, time_unit): pass holdout=<length in the "
                         "table's time unit>")
    import pandas as pd
    return (pd.Timestamp(e) - pd.Timestamp(c)) / pd.Timedelta(days=1) / float(u)


def _score_fitted(items, table, holdout, btyd_churn, lift_bins, progress):
    import pandas as pd
    from ._btyd import _Btyd
    from ._logit import LogisticRegression
    from ._progress import Steps
    from ._survival import _SurvivalRegression
    if "churned" not in table.columns:
        raise KeyError("column 'churned' not found: compare_models needs the holdout labels; "
                       "build the table with churn.customer_table(..., holdout_end=...)")
    y = np.asarray(table["churned"], dtype=np.float64)
    rows, scores = [], {}
    with Steps(len(items), "scoring models", progress, unit="model") as bar:
        for name, m in items:
            row = {"model": name}
            mae = np.nan
            if isinstance(m, _Btyd):
                if btyd_churn == "no-purchase":
                    sc = np.asarray(m.conditional_prob_purchases(0, holdout, table))
                else:
                    sc = 1.0 - np.asarray(m.p_alive(table))
                if "holdout_purchases" in table.columns:
                    e = np.asarray(m.expected_purchases(holdout, table))
                    mae = float(np.mean(np.abs(e - table["holdout_purchases"].to_numpy())))
            elif isinstance(m, LogisticRegression):
                sc = np.asarray(m.predict_churn(table))
            elif isinstance(m, _SurvivalRegression):
                sc = np.asarray(m.predict_churn(table, holdout))
            else:
                raise TypeError(f"models: {type(m).__name__} does not score churn (a BTYD "
                                f"model, LogisticRegression, CoxPHFitter or an AFT fitter)")
            row["auc"] = roc_auc(y, sc)
            row["log_loss"] = log_loss(y, sc)
            row["brier"] = brier_score(y, sc)
            row["top_decile_lift"] = float(lift_table(y, sc, bins=lift_bins)["lift"].iloc[0])
            row["holdout_mae"] = mae
            row["status"] = "ok"
            row["note"] = "fitted by the caller: scored as given, not refitted"
            rows.append(row)
            scores[f"p_churn_{name}"] = sc
            bar.update()
    cmp = Comparison.__new__(Comparison)
    cmp.customers = table
    cmp.holdout_length = holdout
    cmp.table = pd.DataFrame(rows).set_index("model")
    cmp.scores = pd.DataFrame(scores, index=table.index)
    cmp.models = dict(items)
    return cmp


def compare_models(data, cutoff=None, holdout_end=None, unit=None,
                   models="bgnbd,pnbd,logit,cox", features=None, folds=5, seed=1,
                   btyd_churn="no-purchase", lift_bins=10, *, customer="customer_id",
                   time="date", amount="amount", date_format="auto", dayfirst=None,
                   holdout=None, progress=None):
    """Time-split comparison of churn models on one holdout window (as `churn evaluate`).

    Two ways in:

    - Families to fit (``models="bgnbd,pnbd,logit,cox"``, the default): from
      transactions, as the command does: the customer table as of `cutoff` with
      labels up to `holdout_end`, every family fitted (the supervised ones
      cross-fitted in `folds`, so every score is out of sample) and scored.
    - Models you already fitted: ``compare_models([bg, pnbd], table)`` (or
      ``compare_models(table, models={"bg": bg, "logit": lr})``, or transactions with
      `cutoff` and `holdout_end`): each model is scored as it is, never refitted, on a
      customer table with holdout labels (:func:`churn.customer_table` with
      ``holdout_end=``). A model fitted on those same labels (a logistic regression
      of ``churned``) is scored in sample: its metrics are optimistic.

    Parameters
    ----------
    data : TransactionLog, pandas.DataFrame or list of fitted models
        Transactions (a log, or a DataFrame with the `customer`, `time`, `amount`
        columns), a customer table with holdout labels (index = customer id;
        frequency, recency, T, churned, holdout_purchases and the features of the
        models), or -- as the first argument -- the fitted models, with the table
        second.
    cutoff, holdout_end : date, optional
        End of calibration and of the holdout window (required for transactions; a
        customer table has its own). With fitted models first, `cutoff` is the table.
    unit : str or float, optional
        Time unit of the customer table and models built from transactions; default:
        the fitted models' unit when they carry one, else ``"day"``, as
        :func:`churn.customer_table` (before this release the default here was
        "week"; ``unit="week"`` keeps the old numbers: auc, log loss, Brier and lift
        do not depend on the unit, holdout_mae neither; holdout_length is in `unit`).
    models : str, list of str, fitted model(s) or dict of name -> fitted model
        Families to fit and compare (lists or comma-separated strings), or fitted
        models to score.
    features : list of str or str, optional
        Features of the regression models fitted from family names.
    folds, seed : int
        Cross-fitting folds of the supervised families and the seed of the folds.
    btyd_churn : {'no-purchase', 'not-alive'}
        How a BTYD model scores churn: P(no purchase in the holdout | history) or
        1 - P(alive).
    lift_bins : int, default 10
        Bins of the lift table whose first bin is ``top_decile_lift``.
    customer, time, amount : str
        Column names of a DataFrame of transactions.
    date_format : str, default "auto"
        How to read the dates, as in :func:`churn.customer_table`.
    dayfirst : bool, optional
        Day-first dates, as in :func:`churn.customer_table`.
    holdout : float, optional
        Keyword only, fitted models: the holdout length in the table's time unit
        (default: from the table's ``attrs`` cutoff, holdout_end and time_unit).
    progress : bool, optional
        Keyword only: a progress bar over the models (tqdm; shown after 1.5 s, True:
        at once, False: never).

    Returns
    -------
    Comparison
        ``table`` (one row per model: auc, log_loss, brier, top_decile_lift,
        holdout_mae, status, note), ``scores``, ``customers``, ``models`` and
        ``holdout_length``.

    Examples
    --------
    >>> t = churn.simulate_summary(800, model="bgnbd", seed=5, holdout_days=182,
    ...                            unit="week")
    >>> t["churned"] = (t["holdout_purchases"] == 0).astype(float)
    >>> bg = churn.BGNBD().fit(t)
    >>> pn = churn.ParetoNBD().fit(t)
    >>> cmp = churn.compare_models([bg, pn], t, holdout=26)
    >>> list(cmp.table.index), bool((cmp.table["auc"] > 0.5).all())
    (['bgnbd', 'pnbd'], True)
    """
    from ._customers import _to_log, customer_table, time_arg, time_unit_days
    from ._progress import Busy
    from ._spend import DEFAULT_UNIT, _is_customer_table
    if btyd_churn not in ("no-purchase", "not-alive"):
        raise ValueError(f"btyd_churn: '{btyd_churn}' is not 'no-purchase' or 'not-alive'")
    fitted = None
    if _is_model(data) or (isinstance(data, (list, tuple, dict)) and data and
                           all(_is_model(m) for m in
                               (data.values() if isinstance(data, dict) else data))):
        fitted = _fitted_models(data)
        data, cutoff = cutoff, None
        if data is None:
            raise TypeError("compare_models(models, table): the customer table (or "
                            "transactions) goes second")
    elif not (models is None or isinstance(models, str)):
        fitted = _fitted_models(models)
    if fitted is not None:
        if _is_customer_table(data, time):
            table = data
        else:
            if holdout_end is None:
                raise TypeError("fitted models on transactions: pass cutoff and holdout_end "
                                "(keywords), or a customer table built with holdout_end=")
            known = [m.time_unit_ for _, m in fitted if getattr(m, "time_unit_", 0) > 0]
            u = time_unit_days(unit) if unit is not None else (
                known[0] if known else time_unit_days(DEFAULT_UNIT))
            table = customer_table(data, cutoff=cutoff, holdout_end=holdout_end, unit=u,
                                   customer=customer, time=time, amount=amount,
                                   date_format=date_format, dayfirst=dayfirst)
        return _score_fitted(fitted, table, _holdout_length(table, holdout), btyd_churn,
                             lift_bins, progress)
    if cutoff is None or holdout_end is None:
        raise TypeError("compare_models: pass cutoff and holdout_end (the families are "
                        "fitted on transactions), or fitted models and a customer table")
    log = _to_log(data, customer, time, amount, None, None, date_format, dayfirst)
    o = ComparisonOptions()
    _cmp_init(ctypes.byref(o))
    o.cutoff = time_arg(cutoff, "cutoff", date_format, dayfirst)
    o.holdout_end = time_arg(holdout_end, "holdout_end", date_format, dayfirst)
    o.time_unit = time_unit_days(DEFAULT_UNIT if unit is None else unit)
    keep = []
    for field, v in (("models", models), ("features", features)):
        if v is not None:
            b = (v if isinstance(v, str) else ",".join(v)).encode()
            keep.append(b)
            setattr(o, field, b)
    o.folds = int(folds)
    o.seed = int(seed)
    o.btyd_churn = 0 if btyd_churn == "no-purchase" else 1
    o.lift_bins = int(lift_bins)
    h = c_void_p()
    names = "bgnbd,pnbd,logit,cox" if models is None else (
        models if isinstance(models, str) else ",".join(models))
    # one C call fits every family (cross-fitted): elapsed-time feedback around it
    with Busy(f"comparing {names} ({int(folds)} folds)", progress):
        check(_compare(ctypes.byref(h), log._h, ctypes.byref(o)))
    try:
        return Comparison(h.value)
    finally:
        _cmp_free(h)


__all__ = ["roc_auc", "log_loss", "brier_score", "precision_recall_at_k", "lift_table",
           "calibration_table", "time_auc", "holdout_by_frequency", "repeat_tracking",
           "compare_models", "Comparison"]
