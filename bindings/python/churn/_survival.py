"""Survival models of customer lifetimes (include/churn/survival.h), lifelines style:
Kaplan-Meier with the log-rank test, Cox proportional hazards, parametric AFT models
(Weibull, exponential, log-logistic, log-normal) and Harrell's concordance index."""
import ctypes
import math
from ctypes import POINTER, c_char_p, c_double, c_int, c_int64, c_size_t, c_void_p

import numpy as np

from . import _lib
from ._arrays import as_f64, ptr
from ._errors import ENOCONV, check, error_for
from ._estimator import EstimatorMixin
from ._logit import design_matrix
from ._model import Model, register

_d = _lib.c_double_p
_Z95 = 1.959963984540054


class KmOptions(ctypes.Structure):
    """Mirror of churn_km_options."""

    _fields_ = [("struct_size", c_size_t), ("conf_level", c_double), ("conf_type", c_int)]


class CoxOptions(ctypes.Structure):
    """Mirror of churn_cox_options."""

    _fields_ = [("struct_size", c_size_t), ("ties", c_int), ("l2_penalty", c_double),
                ("l2_scale", c_int), ("max_iter", c_int), ("tol", c_double),
                ("robust", c_int)]  # the init writes the whole C struct: every field


class AftOptions(ctypes.Structure):
    """Mirror of churn_aft_options."""

    _fields_ = [("struct_size", c_size_t), ("max_iter", c_int), ("tol", c_double)]


_fn = _lib.fn
_km_init = _fn("churn_km_options_init", None, POINTER(KmOptions))
_km_fit = _fn("churn_km_fit", c_int, POINTER(c_void_p), c_size_t, _d, _d, _d,
              POINTER(c_int64), POINTER(KmOptions))
_km_free = _fn("churn_km_free", None, c_void_p)
_km_num_groups = _fn("churn_km_num_groups", c_size_t, c_void_p)
_km_group_label = _fn("churn_km_group_label", c_int64, c_void_p, c_size_t)
_km_num_times = _fn("churn_km_num_times", c_size_t, c_void_p, c_size_t)
_km_column = _fn("churn_km_column", c_int, c_void_p, c_size_t, c_int, _d, c_size_t)
_km_survival_at = _fn("churn_km_survival_at", c_int, c_void_p, c_size_t, c_size_t, _d, _d)
_km_quantile = _fn("churn_km_quantile", c_int, c_void_p, c_size_t, c_double, _d, _d, _d)
_km_median = _fn("churn_km_median", c_int, c_void_p, c_size_t, _d, _d, _d)
_km_rmean = _fn("churn_km_rmean", c_int, c_void_p, c_size_t, c_double, _d, _d)
_km_group_events = _fn("churn_km_group_events", c_int, c_void_p, c_size_t, _d, _d, _d)
_km_logrank = _fn("churn_km_logrank", c_int, c_void_p, _d, _d, _d)
_concordance = _fn("churn_concordance_index", c_int, c_size_t, _d, _d, _d, _d, c_int, _d, _d)
_cox_init = _fn("churn_cox_options_init", None, POINTER(CoxOptions))
_cox_fit = _fn("churn_cox_fit", c_int, POINTER(c_void_p), c_size_t, c_size_t, _d,
               POINTER(c_char_p), _d, _d, _d, POINTER(CoxOptions))
_cox_test = _fn("churn_cox_test", c_int, c_void_p, c_int, _d, _d, _d)
_cox_baseline = _fn("churn_cox_baseline", c_int, c_void_p, c_int, _d, _d, c_size_t,
                    _lib.c_size_t_p)
_cox_zph = _fn("churn_cox_zph", c_int, c_void_p, c_size_t, _d, _d, _d, _d, _d, _d, _d)
_aft_init = _fn("churn_aft_options_init", None, POINTER(AftOptions))
_aft_fit = _fn("churn_aft_fit", c_int, POINTER(c_void_p), c_int, c_size_t, c_size_t, _d,
               POINTER(c_char_p), _d, _d, _d, POINTER(AftOptions))
_surv_predict = _fn("churn_surv_predict", c_int, c_void_p, c_size_t, _d, c_double, _d, _d, _d)
_surv_curve = _fn("churn_surv_curve", c_int, c_void_p, _d, c_size_t, _d, _d, _d)
_surv_median = _fn("churn_surv_median", c_int, c_void_p, c_size_t, _d, _d)
_surv_mrl = _fn("churn_surv_mean_residual_life", c_int, c_void_p, c_size_t, _d, c_double, _d)
_surv_loglik_null = _fn("churn_surv_loglik_null", c_double, c_void_p)
_surv_concordance = _fn("churn_surv_concordance", c_int, c_void_p, _d)
_surv_num_events = _fn("churn_surv_num_events", c_double, c_void_p)

_CONF = {"log": 0, "log-log": 1, "loglog": 1, "plain": 2, "none": 3, None: 3}
_KM_COLS = ("time", "n_risk", "n_event", "n_censor", "survival", "std_err", "lower", "upper",
            "cumhaz", "std_chaz")
_TESTS = {"lr": 0, "likelihood_ratio": 0, "wald": 1, "score": 2}


def _norm_p(z):
    """Two-sided normal p-value 2*Phi(-|z|) (NaN stays NaN)."""
    return np.array([math.erfc(abs(v) / math.sqrt(2.0)) if np.isfinite(v) else np.nan
                     for v in np.atleast_1d(z)])


def _events(event, n, name="event"):
    if event is None:
        return np.ones(n)
    a = np.asarray(event.to_numpy() if hasattr(event, "to_numpy") else event)
    if a.dtype == bool:
        a = a.astype(np.float64)
    return as_f64(a, name, n)


def _row_major(X, p=None, name="X"):
    x, n, k, layout, ld, names = design_matrix(X, p, name)
    if layout != 0:
        x = np.ascontiguousarray(x)
    return x, n, k, names


def _get(data, col, name):
    if isinstance(col, str):
        if data is None or col not in data:
            raise KeyError(f"column '{col}' ({name}) is not in the data")
        return data[col]
    return col


# ======================================================================== Kaplan-Meier
class KaplanMeierFitter(EstimatorMixin):
    """Kaplan-Meier retention curves, overall or per group, as R's survfit.

    ``fit(durations, event_observed, weights=None, groups=None)`` then:
    ``survival_function_``, ``confidence_interval_``, ``event_table`` (every column of
    the C curve), ``median_survival_time_`` (+ ``median_confidence_interval_``),
    ``survival_at(t)``, ``quantile(p)``, ``rmean(tau)``, ``logrank_test()`` (groups),
    ``plot()``. lifelines' ``fit(durations, event_observed, label=...)`` works as written.

    Parameters
    ----------
    conf_level : float, default 0.95
        Level of the confidence intervals.
    conf_type : {'log', 'log-log', 'plain', 'none'}, default 'log'
        Interval transform ('log' is R's default).
    label : str, default 'KM_estimate'
        Name of the single curve (lifelines' default).

    Examples
    --------
    >>> km = churn.KaplanMeierFitter().fit([1.0, 2, 3, 4, 5], [1, 1, 0, 1, 1])
    >>> km.survival_at([1, 2, 3, 4, 5]).round(2).tolist()    # 4/5, 3/5, 3/5, 3/10, 0
    [0.8, 0.6, 0.6, 0.3, 0.0]
    """

    def __init__(self, conf_level=0.95, conf_type="log", label="KM_estimate"):
        self.conf_level = conf_level
        self.conf_type = conf_type
        self.label = label
        self._h = None
        self._validate_params()

    def _validate_params(self):
        if self.conf_type not in _CONF:
            raise ValueError(f"conf_type: '{self.conf_type}' is not log, log-log, plain or "
                             f"none")

    def __del__(self):
        h, self._h = getattr(self, "_h", None), None
        if h:
            _km_free(h)

    # pickling / copying: the fitting data (refitted on load), never the C handle
    def __getstate__(self):
        state = {k: v for k, v in self.__dict__.items() if k != "_h"}
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._h = None
        if state.get("_inputs") is not None:
            labels, days = self.group_labels_, state.get("time_unit_")
            self.fit(*self._inputs)
            self.group_labels_, self.time_unit_ = labels, days

    def fit(self, durations, event_observed=None, weights=None, groups=None, data=None, *,
            label=None, unit=None):
        """Fit the curves; returns self.

        Parameters
        ----------
        durations : str or array_like
            Lifetimes (a column name with `data`).
        event_observed : str or array_like, optional
            1 = churned, 0 = censored (None: every row an event).
        weights : str or array_like, optional
            Case weights.
        groups : str or array_like, optional
            One curve per distinct value, in sorted order.
        data : pandas.DataFrame, optional
            Where the column names point.
        label : str, optional
            Keyword only: the curve's name (lifelines' spelling; the constructor's `label`).
        unit : str or float, optional
            Keyword only: the time unit of the durations ('day', 'week', ... or days per
            unit), recorded as ``time_unit_`` (days per unit) so plots name it. Default:
            ``data.attrs["time_unit"]`` (or the durations Series' own attrs, as a
            customer table carries it), else unknown (``time_unit_`` None).

        Returns
        -------
        KaplanMeierFitter
            self.

        Examples
        --------
        >>> d = pd.DataFrame({"t": [1.0, 2, 3, 4, 5, 2, 4, 6, 8, 9],
        ...                    "e": [1, 1, 0, 1, 1, 0, 1, 1, 0, 1],
        ...                    "tier": ["a"] * 5 + ["b"] * 5})
        >>> km = churn.KaplanMeierFitter().fit("t", "e", groups="tier", data=d)
        >>> km.groups_
        ['a', 'b']
        >>> d.attrs["time_unit"] = 7.0          # as a customer table in weeks carries it
        >>> churn.KaplanMeierFitter().fit("t", "e", data=d).time_unit_
        7.0
        """
        if label is not None:
            self.label = label
        from ._units import data_unit
        carrier = data if data is not None else durations
        days = data_unit(carrier if hasattr(carrier, "attrs") else None, unit)
        dur = as_f64(_get(data, durations, "durations"), "duration")
        n = dur.shape[0]
        ev = _events(_get(data, event_observed, "event_observed"), n)
        w = None if weights is None else as_f64(_get(data, weights, "weights"), "weights", n)
        g = None
        self.group_labels_ = [None]
        if groups is not None:
            gv = _get(data, groups, "groups")
            gv = np.asarray(gv.to_numpy() if hasattr(gv, "to_numpy") else gv)
            if gv.shape != (n,):
                raise ValueError(f"groups: length {gv.shape[0] if gv.ndim else 1} does not "
                                 f"match {n}")
            labels, codes = np.unique(gv, return_inverse=True)
            g = np.ascontiguousarray(codes, dtype=np.int64)
            self.group_labels_ = list(labels)
        o = KmOptions()
        _km_init(ctypes.byref(o))
        o.conf_level = float(self.conf_level)
        o.conf_type = _CONF[self.conf_type]
        h = c_void_p()
        check(_km_fit(ctypes.byref(h), n, ptr(dur), ptr(ev), ptr(w),
                      None if g is None else g.ctypes.data_as(POINTER(c_int64)),
                      ctypes.byref(o)))
        if self._h:
            _km_free(self._h)
        self._h = h.value
        self.time_unit_ = days
        self._inputs = (dur, ev, w, None if groups is None else gv)
        if groups is not None:
            self.group_labels_ = [self.group_labels_[_km_group_label(self._h, i)]
                                  for i in range(_km_num_groups(self._h))]
        return self

    def _require(self):
        if not self._h:
            raise RuntimeError("KaplanMeierFitter is not fitted: call fit()")
        return self._h

    def _g(self, group):
        labels = self.group_labels_
        if group is None:
            if len(labels) != 1:
                raise ValueError("several groups were fitted: pass group=")
            return 0
        try:
            return labels.index(group)
        except ValueError:
            raise KeyError(f"group {group!r} was not fitted (groups: {labels})") from None

    def _column(self, g, col):
        h = self._require()
        k = _km_num_times(h, g)
        out = np.empty(k)
        check(_km_column(h, g, col, ptr(out), k))
        return out

    def curve(self, group=None):
        """All columns of one curve as a DataFrame indexed by time.

        Parameters
        ----------
        group : optional
            The group's value (None for the single curve).

        Returns
        -------
        pandas.DataFrame
            n_risk, n_event, n_censor, survival, std_err, lower, upper, cumhaz, std_chaz.

        Examples
        --------
        >>> km = churn.KaplanMeierFitter().fit([1.0, 2, 3, 4, 5], [1, 1, 0, 1, 1])
        >>> km.curve()["n_risk"].tolist()
        [5.0, 4.0, 3.0, 2.0, 1.0]
        """
        import pandas as pd
        g = self._g(group)
        cols = {name: self._column(g, j) for j, name in enumerate(_KM_COLS)}
        t = cols.pop("time")
        return pd.DataFrame(cols, index=pd.Index(t, name="time"))

    @property
    def event_table(self):
        """Every curve, long format: [group,] time, n_risk, n_event, n_censor, survival, std_err,
        lower, upper, cumhaz, std_chaz.
        """
        import pandas as pd
        parts = []
        for lab in self.group_labels_:
            c = self.curve(lab).reset_index()
            if lab is not None:
                c.insert(0, "group", lab)
            parts.append(c)
        return pd.concat(parts, ignore_index=True)

    @property
    def groups_(self):
        """The group values, in the order of the curves (empty without groups)."""
        return [g for g in self.group_labels_ if g is not None]

    def _label(self, g):
        lab = self.group_labels_[g]
        return self.label if lab is None else lab

    @property
    def survival_function_(self):
        """S(t) as a DataFrame indexed by time (0 and every distinct duration), one column per
        curve (named `label`, or by group).
        """
        import pandas as pd
        times = np.unique(np.concatenate([[0.0]] + [self._column(g, 0) for g in
                                                    range(len(self.group_labels_))]))
        cols = {self._label(g): self.survival_at(times, group=self.group_labels_[g])
                for g in range(len(self.group_labels_))}
        return pd.DataFrame(cols, index=pd.Index(times, name="timeline"))

    @property
    def confidence_interval_(self):
        """Lower and upper confidence limits per curve, indexed by time (step
        functions carried forward; 1 before the first time)."""
        import pandas as pd
        times = np.unique(np.concatenate([[0.0]] + [self._column(g, 0) for g in
                                                    range(len(self.group_labels_))]))
        cols = {}
        for g in range(len(self.group_labels_)):
            t = self._column(g, 0)
            pos = np.searchsorted(t, times, side="right") - 1
            for j, side in ((6, "lower"), (7, "upper")):
                v = self._column(g, j)
                cols[f"{self._label(g)}_{side}_{self.conf_level:g}"] = np.where(
                    pos >= 0, v[np.maximum(pos, 0)], 1.0)
        return pd.DataFrame(cols, index=pd.Index(times, name="timeline"))

    def survival_at(self, t, group=None):
        """S(t) of a curve at any times (right-continuous step function).

        ``predict`` is the same method (lifelines' name).

        Parameters
        ----------
        t : float or array_like
            Times.
        group : optional
            The group's value (None for the single curve).

        Returns
        -------
        float or numpy.ndarray

        Examples
        --------
        >>> km = churn.KaplanMeierFitter().fit([1.0, 2, 3, 4, 5], [1, 1, 0, 1, 1])
        >>> round(km.survival_at(3.5), 12)
        0.6
        """
        scalar = np.ndim(t) == 0
        tt = as_f64(t, "t")
        out = np.empty(tt.shape[0])
        check(_km_survival_at(self._require(), self._g(group), tt.shape[0], ptr(tt), ptr(out)))
        return float(out[0]) if scalar else out

    predict = survival_at

    def quantile(self, p, group=None):
        """(quantile, lower, upper) of the lifetime distribution at probability p.

        As R's quantile.survfit; inf when not reached.

        Parameters
        ----------
        p : float
            Probability of having churned (0.5: the median).
        group : optional
            The group's value.

        Returns
        -------
        tuple of float

        Examples
        --------
        >>> km = churn.KaplanMeierFitter().fit([1.0, 2, 3, 4, 5], [1, 1, 0, 1, 1])
        >>> km.quantile(0.5)[0]
        4.0
        """
        v, lo, hi = c_double(), c_double(), c_double()
        check(_km_quantile(self._require(), self._g(group), float(p), ctypes.byref(v),
                           ctypes.byref(lo), ctypes.byref(hi)))
        return v.value, lo.value, hi.value

    def _per_group(self, f):
        import pandas as pd
        if len(self.group_labels_) == 1:
            return f(None)
        return pd.Series({lab: f(lab) for lab in self.group_labels_})

    def median(self, group=None):
        """(median lifetime, lower, upper confidence limits); inf when not reached.

        Parameters
        ----------
        group : optional
            The group's value.

        Returns
        -------
        tuple of float

        Examples
        --------
        >>> km = churn.KaplanMeierFitter().fit([1.0, 2, 3, 4, 5], [1, 1, 0, 1, 1])
        >>> km.median()[0]
        4.0
        """
        v, lo, hi = c_double(), c_double(), c_double()
        check(_km_median(self._require(), self._g(group), ctypes.byref(v), ctypes.byref(lo),
                         ctypes.byref(hi)))
        return v.value, lo.value, hi.value

    @property
    def median_survival_time_(self):
        """Median lifetime (inf when the curve stays above 1/2); a Series per group."""
        return self._per_group(lambda g: self.median(g)[0])

    @property
    def median_confidence_interval_(self):
        """Confidence limits of the median lifetime per curve (DataFrame with lower, upper)."""
        import pandas as pd
        rows = {self._label(i): self.median(lab)[1:]
                for i, lab in enumerate(self.group_labels_)}
        return pd.DataFrame.from_dict(rows, orient="index", columns=["lower", "upper"])

    def rmean(self, tau=None, group=None):
        """(restricted mean survival time up to tau, its SE).

        Parameters
        ----------
        tau : float, optional
            Upper limit (None: the largest time).
        group : optional
            The group's value.

        Returns
        -------
        tuple of float

        Examples
        --------
        >>> km = churn.KaplanMeierFitter().fit([1.0, 2, 3, 4, 5], [1, 1, 0, 1, 1])
        >>> round(km.rmean()[0], 4)          # 1 + 0.8 + 0.6 + 0.6 + 0.3: the area under S
        3.3
        """
        v, se = c_double(), c_double()
        check(_km_rmean(self._require(), self._g(group), float("nan") if tau is None else
                        float(tau), ctypes.byref(v), ctypes.byref(se)))
        return v.value, se.value

    def group_events(self):
        """Per group N, observed and expected events (R's survdiff table).

        Returns
        -------
        pandas.DataFrame
            N, observed, expected per group.

        Examples
        --------
        >>> d = pd.DataFrame({"t": [1.0, 2, 3, 4, 5, 2, 4, 6, 8, 9],
        ...                    "e": [1, 1, 0, 1, 1, 0, 1, 1, 0, 1],
        ...                    "tier": ["a"] * 5 + ["b"] * 5})
        >>> km = churn.KaplanMeierFitter().fit("t", "e", groups="tier", data=d)
        >>> km.group_events()["N"].tolist()
        [5.0, 5.0]
        """
        import pandas as pd
        rows = []
        for g in range(len(self.group_labels_)):
            a, b, c = c_double(), c_double(), c_double()
            check(_km_group_events(self._require(), g, ctypes.byref(a), ctypes.byref(b),
                                   ctypes.byref(c)))
            rows.append({"N": a.value, "observed": b.value, "expected": c.value})
        return pd.DataFrame(rows, index=pd.Index([self._label(g) for g in
                                                  range(len(self.group_labels_))],
                                                 name="group"))

    def logrank_test(self):
        """Log-rank test that the groups share one curve.

        Returns
        -------
        dict
            chisq, df, p.

        Examples
        --------
        >>> d = pd.DataFrame({"t": [1.0, 2, 3, 4, 5, 2, 4, 6, 8, 9],
        ...                    "e": [1, 1, 0, 1, 1, 0, 1, 1, 0, 1],
        ...                    "tier": ["a"] * 5 + ["b"] * 5})
        >>> km = churn.KaplanMeierFitter().fit("t", "e", groups="tier", data=d)
        >>> km.logrank_test()["df"]
        1.0
        """
        a, b, c = c_double(), c_double(), c_double()
        check(_km_logrank(self._require(), ctypes.byref(a), ctypes.byref(b), ctypes.byref(c)))
        return {"chisq": a.value, "df": b.value, "p": c.value}

    def plot(self, ax=None, ci=True, **kw):
        """Plot the curves with confidence bands (see churn.plotting.plot_km).

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw on.
        ci : bool, default True
            Draw the confidence bands.
        **kw
            Passed to the plotting function.

        Returns
        -------
        matplotlib.axes.Axes

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> km = churn.KaplanMeierFitter().fit([1.0, 2, 3, 4, 5], [1, 1, 0, 1, 1])
        >>> ax = km.plot()
        """
        from .plotting import plot_km
        return plot_km(self, ax=ax, ci=ci, **kw)

    def _repr_html_(self):
        if not self._h:
            return "<p>KaplanMeierFitter: not fitted</p>"
        import pandas as pd
        rows = {}
        for i, lab in enumerate(self.group_labels_):
            med, lo, hi = self.median(lab)
            rows[self._label(i)] = {"customers": float(self._column(i, 1)[0]),
                                    "events": float(np.sum(self._column(i, 2))),
                                    "median": med, f"median lower {self.conf_level:g}": lo,
                                    f"median upper {self.conf_level:g}": hi}
        head = (f"<p><b>KaplanMeierFitter</b> ({len(rows)} curve(s), {self.conf_type} "
                f"{self.conf_level:.0%} intervals)</p>")
        return head + pd.DataFrame.from_dict(rows, orient="index").to_html(
            float_format=lambda v: f"{v:.6g}")

    def __repr__(self):
        if not self._h:
            return "<KaplanMeierFitter: not fitted>"
        return f"<KaplanMeierFitter: {len(self.group_labels_)} curve(s)>"


def logrank_test(durations, event_observed, groups, weights=None):
    """Log-rank test of equal survival across groups.

    Parameters
    ----------
    durations : array_like
        Lifetimes.
    event_observed : array_like
        1 = churned, 0 = censored.
    groups : array_like
        Group of each row.
    weights : array_like, optional
        Case weights.

    Returns
    -------
    dict
        chisq, df, p.

    Examples
    --------
    >>> r = churn.logrank_test([1.0, 2, 3, 4, 5, 2, 4, 6, 8, 9], [1, 1, 0, 1, 1, 0, 1, 1, 0, 1],
    ...                        ["a"] * 5 + ["b"] * 5)
    >>> sorted(r)
    ['chisq', 'df', 'p']
    """
    return KaplanMeierFitter(conf_type="none").fit(durations, event_observed, weights,
                                                   groups).logrank_test()


def concordance_index(durations, scores, event_observed=None, weights=None,
                      score_is_risk=False, counts=False):
    """Harrell's concordance index of `scores` against censored durations.

    The name, argument order and convention are lifelines'
    (``lifelines.utils.concordance_index(event_times, predicted_scores,
    event_observed)``): a higher score predicts a *longer* survival (a predicted
    lifetime, a median, ``-partial_hazard``). For risk scores -- churn probability,
    Cox linear predictor or partial hazard, where a higher score predicts an earlier
    event -- pass ``score_is_risk=True`` (R's ``concordance(..., reverse=TRUE)``);
    the result is then what ``CoxPHFitter.concordance_index_`` reports.

    Parameters
    ----------
    durations : array_like
        Observed times (event or censoring).
    scores : array_like
        Predicted scores: survival-like by default, risk-like with
        ``score_is_risk=True``.
    event_observed : array_like, optional
        1 (or True) for an observed event, 0 for censored; default all events.
    weights : array_like, optional
        Case weights.
    score_is_risk : bool, default False
        True when a higher score means an earlier event. Before libchurn 1.2 this
        defaulted to True, the opposite of lifelines; since 1.2 the default follows
        lifelines' name.
    counts : bool, default False
        Also return the weighted pair counts.

    Returns
    -------
    float or (float, dict)
        C in [0, 1] (0.5 = random ordering); with ``counts=True`` also the counts
        concordant, discordant, tied_x, tied_y, tied_xy.

    Examples
    --------
    >>> df = pd.DataFrame({"duration": [5.0, 8, 3, 9, 12, 4, 7, 10, 6, 11],
    ...                    "event": [1, 1, 0, 1, 0, 1, 1, 0, 1, 1],
    ...                    "age": [60.0, 45, 70, 50, 40, 65, 55, 48, 58, 42]})
    >>> cox = churn.CoxPHFitter().fit(df, "duration", "event")
    >>> a = churn.concordance_index(df["duration"], -cox.predict_partial_hazard(df),
    ...                             df["event"])            # lifelines' form
    >>> b = churn.concordance_index(df["duration"], cox.predict_partial_hazard(df),
    ...                             df["event"], score_is_risk=True)   # the same value
    >>> a == b == cox.concordance_index_
    True
    """
    dur = as_f64(durations, "duration")
    n = dur.shape[0]
    s = as_f64(scores, "score", n)
    ev = _events(event_observed, n)
    w = None if weights is None else as_f64(weights, "weights", n)
    c = c_double()
    cnt = np.empty(5)
    check(_concordance(n, ptr(dur), ptr(ev), ptr(s), ptr(w), 1 if score_is_risk else 0,
                       ctypes.byref(c), ptr(cnt)))
    if counts:
        return c.value, dict(zip(("concordant", "discordant", "tied_x", "tied_y", "tied_xy"),
                                 cnt))
    return c.value


# ======================================================================== regression models
class _SurvivalRegression(Model):
    """Shared fit-data handling and predictions of Cox and AFT models."""

    def _data(self, data, duration_col, event_col, weights_col, features):
        """(x, n, p, names, duration, event, weights) from a DataFrame or arrays."""
        if hasattr(data, "columns") and isinstance(duration_col, str):
            used = {duration_col, event_col, weights_col}
            if features is None:
                features = [c for c in data.columns if c not in used]
            else:
                features = list(features)
                missing = [c for c in features if c not in data.columns]
                if missing:
                    raise KeyError(f"feature column '{missing[0]}' is not in the data")
            X = data[features]
            dur = _get(data, duration_col, "duration_col")
            ev = None if event_col is None else _get(data, event_col, "event_col")
            w = None if weights_col is None else _get(data, weights_col, "weights_col")
        else:
            X, dur, ev, w = data, duration_col, event_col, weights_col
            if dur is None:
                raise TypeError("pass durations (duration_col) with the feature matrix")
        if X is None or (hasattr(X, "shape") and len(X.shape) == 2 and X.shape[1] == 0):
            n = len(dur)
            x, p, names = np.empty((n, 0)), 0, []
        else:
            x, n, p, names = _row_major(X)
            if features is not None and names is None:
                names = list(features)
        duration = as_f64(dur, "duration", n)
        event = _events(ev, n)
        weights = None if w is None else as_f64(w, "weights", n)
        return x, n, p, names, duration, event, weights

    def _x(self, X):
        h = self._require()
        self.check_time_unit(X)  # a table of another known unit is refused
        names = self.feature_names_
        if hasattr(X, "columns"):
            missing = [c for c in names if c not in X.columns]
            if missing:
                raise KeyError(f"column '{missing[0]}' (a feature of the model) is not in X")
            X = X[names]
        if len(names) == 0:
            n = len(X) if X is not None else 1
            return h, np.empty((n, 0)), n
        x, n, p, _ = _row_major(X, len(names))
        return h, x, n

    def _index(self, X, n):
        idx = getattr(X, "index", None)
        return idx if idx is not None and len(idx) == n else None

    def predict_at(self, X, horizon):
        """Survival S(horizon | x), p_churn = 1 - S and the linear predictor per customer.

        Parameters
        ----------
        X : pandas.DataFrame or array_like
            Customers with the model's feature columns (matched by name in a DataFrame).
        horizon : float
            The time, in the model's unit.

        Returns
        -------
        pandas.DataFrame
            p_churn, survival, linear_predictor.

        Examples
        --------
        >>> df = pd.DataFrame({"duration": [5.0, 8, 3, 9, 12, 4, 7, 10, 6, 11],
        ...                    "event": [1, 1, 0, 1, 0, 1, 1, 0, 1, 1],
        ...                    "age": [60.0, 45, 70, 50, 40, 65, 55, 48, 58, 42]})
        >>> cph = churn.CoxPHFitter().fit(df)
        >>> r = cph.predict_at(df, 6.0)
        >>> bool(np.allclose(r["p_churn"] + r["survival"], 1))
        True
        """
        import pandas as pd
        h, x, n = self._x(X)
        s, pc, lp = np.empty(n), np.empty(n), np.empty(n)
        check(_surv_predict(h, n, x.ctypes.data_as(_d), float(horizon), ptr(s), ptr(pc),
                            ptr(lp)))
        return pd.DataFrame({"p_churn": pc, "survival": s, "linear_predictor": lp},
                            index=self._index(X, n))

    def predict_churn(self, X, horizon):
        """P(churn before `horizon`) = 1 - S(horizon | x).

        Parameters
        ----------
        X : pandas.DataFrame or array_like
            Customers with the model's feature columns (matched by name in a DataFrame).
        horizon : float
            The time, in the model's unit.

        Returns
        -------
        pandas.Series

        Examples
        --------
        >>> df = pd.DataFrame({"duration": [5.0, 8, 3, 9, 12, 4, 7, 10, 6, 11],
        ...                    "event": [1, 1, 0, 1, 0, 1, 1, 0, 1, 1],
        ...                    "age": [60.0, 45, 70, 50, 40, 65, 55, 48, 58, 42]})
        >>> cph = churn.CoxPHFitter().fit(df)
        >>> bool(cph.predict_churn(df, 6.0).between(0, 1).all())
        True
        """
        return self.predict_at(X, horizon)["p_churn"]

    def predict_linear_predictor(self, X):
        """The linear predictor per customer (Cox: centered; AFT: the location).

        Parameters
        ----------
        X : pandas.DataFrame or array_like
            Customers with the model's feature columns (matched by name in a DataFrame).

        Returns
        -------
        pandas.Series

        Examples
        --------
        >>> df = pd.DataFrame({"duration": [5.0, 8, 3, 9, 12, 4, 7, 10, 6, 11],
        ...                    "event": [1, 1, 0, 1, 0, 1, 1, 0, 1, 1],
        ...                    "age": [60.0, 45, 70, 50, 40, 65, 55, 48, 58, 42]})
        >>> cph = churn.CoxPHFitter().fit(df)
        >>> cph.predict_linear_predictor(df).shape
        (10,)
        """
        return self.predict_at(X, 0.0)["linear_predictor"]

    def predict_survival_function(self, X, times=None):
        """S(t | x) as a DataFrame: rows = times, one column per customer (lifelines' layout).

        Parameters
        ----------
        X : pandas.DataFrame or array_like
            Customers with the model's feature columns (matched by name in a DataFrame).
        times : array_like, optional
            Times (default: the baseline event times for Cox, 101 points for AFT).

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        >>> df = pd.DataFrame({"duration": [5.0, 8, 3, 9, 12, 4, 7, 10, 6, 11],
        ...                    "event": [1, 1, 0, 1, 0, 1, 1, 0, 1, 1],
        ...                    "age": [60.0, 45, 70, 50, 40, 65, 55, 48, 58, 42]})
        >>> cph = churn.CoxPHFitter().fit(df)
        >>> cph.predict_survival_function(df.iloc[:2], times=[3.0, 6.0]).shape
        (2, 2)
        """
        import pandas as pd
        h, x, n = self._x(X)
        t = self._default_times() if times is None else as_f64(times, "times")
        out = np.empty((t.shape[0], n))
        s = np.empty(n)
        for k, tk in enumerate(t):
            check(_surv_predict(h, n, x.ctypes.data_as(_d), float(tk), ptr(s), None, None))
            out[k] = s
        idx = self._index(X, n)
        return pd.DataFrame(out, index=pd.Index(t, name="timeline"),
                            columns=idx if idx is not None else None)

    def survival_curve(self, x, times, conf_level=0.95):
        """One customer's S(t | x) with the standard error of -log S and log-scale limits.

        Parameters
        ----------
        x : array_like or pandas.Series
            The customer's features (a Series is matched by name).
        times : array_like
            Times.
        conf_level : float, default 0.95
            Level of the limits.

        Returns
        -------
        pandas.DataFrame
            survival, std_err, lower, upper indexed by time.

        Examples
        --------
        >>> df = pd.DataFrame({"duration": [5.0, 8, 3, 9, 12, 4, 7, 10, 6, 11],
        ...                    "event": [1, 1, 0, 1, 0, 1, 1, 0, 1, 1],
        ...                    "age": [60.0, 45, 70, 50, 40, 65, 55, 48, 58, 42]})
        >>> cph = churn.CoxPHFitter().fit(df)
        >>> list(cph.survival_curve([50.0], [3.0, 6.0]).columns)
        ['survival', 'std_err', 'lower', 'upper']
        """
        import pandas as pd
        from statistics import NormalDist
        h = self._require()
        names = self.feature_names_
        if hasattr(x, "to_numpy") and not hasattr(x, "columns"):  # a Series, by name
            x = x[names].to_numpy(dtype=float) if len(names) else np.empty(0)
        xv = np.ascontiguousarray(np.asarray(x, dtype=np.float64).reshape(-1))
        if xv.shape[0] != len(names):
            raise ValueError(f"x: {xv.shape[0]} values, the model has {len(names)} features")
        t = as_f64(times, "times")
        s, se = np.empty(t.shape[0]), np.empty(t.shape[0])
        check(_surv_curve(h, xv.ctypes.data_as(_d) if len(names) else None, t.shape[0],
                          ptr(t), ptr(s), ptr(se)))
        z = NormalDist().inv_cdf(0.5 + conf_level / 2.0)
        return pd.DataFrame({"survival": s, "std_err": se, "lower": s * np.exp(-z * se),
                             "upper": np.minimum(s * np.exp(z * se), 1.0)},
                            index=pd.Index(t, name="timeline"))

    def predict_median(self, X):
        """Median lifetime per customer (inf when not reached).

        Parameters
        ----------
        X : pandas.DataFrame or array_like
            Customers with the model's feature columns (matched by name in a DataFrame).

        Returns
        -------
        pandas.Series or numpy.ndarray

        Examples
        --------
        >>> df = pd.DataFrame({"duration": [5.0, 8, 3, 9, 12, 4, 7, 10, 6, 11],
        ...                    "event": [1, 1, 0, 1, 0, 1, 1, 0, 1, 1],
        ...                    "age": [60.0, 45, 70, 50, 40, 65, 55, 48, 58, 42]})
        >>> wf = churn.WeibullAFTFitter().fit(df)
        >>> bool((wf.predict_median(df) > 0).all())
        True
        """
        import pandas as pd
        h, x, n = self._x(X)
        out = np.empty(n)
        check(_surv_median(h, n, x.ctypes.data_as(_d), ptr(out)))
        idx = self._index(X, n)
        return pd.Series(out, index=idx, name="median") if idx is not None else out

    @property
    def loglik_null_(self):
        """Log-likelihood of the model without features."""
        return _surv_loglik_null(self._require())

    @property
    def log_likelihood_(self):
        """Log-likelihood at the estimates (lifelines' name of ``loglik_``)."""
        return self.loglik_

    @property
    def num_events_(self):
        """Number of events (churns) in the fitting data."""
        return _surv_num_events(self._require())

    @property
    def concordance_index_(self):
        """Harrell's C of the model's predictions on its fitting data."""
        v = c_double()
        check(_surv_concordance(self._require(), ctypes.byref(v)))
        return v.value

    def _default_times(self):
        return np.linspace(0.0, 1.0, 2)

    def _lifelines_fit_args(self, duration_col, event_col, label):
        self.label_ = label if label is not None else type(self).__name__
        self.duration_col = duration_col if isinstance(duration_col, str) else None
        self.event_col = event_col if isinstance(event_col, str) else None

    def print_summary(self, decimals=2, style=None, columns=None):
        """Print the fit and its coefficient table, as lifelines' ``print_summary()``.

        The library itself never prints; this prints because it is asked to (stdout,
        like lifelines). For the numbers use :attr:`summary`.

        Parameters
        ----------
        decimals : int, default 2
            Digits after the decimal point.
        style : None
            Accepted for lifelines' signature; only plain text is printed (notebooks
            display the model's HTML by evaluating it).
        columns : list of str, optional
            The summary columns to show (default: all).

        Returns
        -------
        None

        Examples
        --------
        >>> df = pd.DataFrame({"duration": [5.0, 8, 3, 9, 12, 4, 7, 10],
        ...                    "event": [1, 1, 0, 1, 0, 1, 1, 0],
        ...                    "age": [60.0, 45, 70, 50, 40, 65, 55, 48]})
        >>> churn.CoxPHFitter().fit(df, "duration", "event").print_summary()
        <churn.CoxPHFitter: fitted with 8 total observations, 3 right-censored ...>
        ...
        """
        lines = self._summary_text(decimals, columns)
        print("\n".join(lines))

    def _summary_text(self, decimals=2, columns=None):
        import pandas as pd
        s = self.summary
        if columns is not None:
            s = s[list(columns)]
        n = self.nobs_
        ev = self.num_events_
        head = [f"<churn.{type(self).__name__}: fitted with {n:g} total observations, "
                f"{n - ev:g} right-censored observations>"]
        info = [("model", getattr(self, "label_", None) or type(self).__name__),
                ("duration col", repr(getattr(self, "duration_col", None))),
                ("event col", repr(getattr(self, "event_col", None))),
                ("number of observations", f"{n:g}"),
                ("number of events observed", f"{ev:g}"),
                ("log-likelihood", f"{self.loglik_:.{decimals}f}")]
        pen = getattr(self, "penalizer", None)
        if pen:
            info.append(("penalizer", f"{pen:g}"))
        try:
            info.append(("concordance", f"{self.concordance_index_:.{decimals}f}"))
        except Exception:  # pragma: no cover - a model without it
            pass
        width = max(len(k) for k, _ in info)
        head += [f"{k:>{width}} = {v}" for k, v in info]
        with pd.option_context("display.width", 200, "display.max_columns", 50):
            table = s.to_string(float_format=lambda v: f"{v:.{decimals}f}")
        return head + ["", table]

    def plot(self, columns=None, hazard_ratios=False, ax=None, **errorbar_kwargs):
        """Coefficients with 95% confidence intervals (lifelines' ``plot()``).

        See :func:`churn.plot_coefficients` (matplotlib, imported here).

        Parameters
        ----------
        columns : list of str, optional
            Coefficients to show (default all).
        hazard_ratios : bool, default False
            exp(coef) on a log axis.
        ax : matplotlib.axes.Axes, optional
            Axes to draw on.
        **errorbar_kwargs
            Passed to ``Axes.errorbar``.

        Returns
        -------
        matplotlib.axes.Axes

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> df = pd.DataFrame({"duration": [5.0, 8, 3, 9, 12, 4, 7, 10],
        ...                    "event": [1, 1, 0, 1, 0, 1, 1, 0],
        ...                    "age": [60.0, 45, 70, 50, 40, 65, 55, 48]})
        >>> churn.CoxPHFitter().fit(df).plot().get_xlabel()
        'log(HR) (95% CI)'
        """
        from ._coefplot import plot_coefficients
        return plot_coefficients(self, ax=ax, columns=columns, hazard_ratios=hazard_ratios,
                                 **errorbar_kwargs)


def _finish_fit(self, rc, h):
    if rc == ENOCONV and h.value:
        err = error_for(rc)
        err.model = type(self)()._set_handle(h.value)
        raise err
    check(rc)
    return self._set_handle(h.value)


def _names_arg(names, p):
    if not names:
        return None, None
    enc = [str(s).encode() for s in names]
    return (c_char_p * p)(*enc), enc


@register("cox")
class CoxPHFitter(_SurvivalRegression):
    """Cox proportional hazards, as R's coxph (Efron or Breslow ties, optional ridge).

    ``fit(df, duration_col='duration', event_col='event', features=None,
    weights_col=None)`` or ``fit(X, duration_array, event_array)``. Then ``summary``
    (coef, exp(coef), se, z, p, 95% CIs), ``hazard_ratios_``, ``concordance_index_``,
    ``log_likelihood_``, ``test('lr'|'wald'|'score')``, ``baseline_cumulative_hazard_``,
    ``predict_survival_function``, ``predict_partial_hazard``, ``predict_median``,
    ``predict_churn(X, horizon)``, ``check_assumptions(df)`` (cox.zph), and lifelines'
    ``print_summary()`` and ``plot()``.

    Parameters
    ----------
    ties : {'efron', 'breslow'}, default 'efron'
        Handling of tied event times.
    l2_penalty : float, default 0
        Ridge penalty on R's scale (ridge(theta)).
    l2_scale : bool, default False
        Scale the penalty by each feature's variance (ridge(scale = TRUE)).
    max_iter : int, default 20
        Newton-Raphson iterations.
    tol : float, default 1e-9
        Convergence tolerance on the log-likelihood.
    penalizer : float, default 0
        lifelines' spelling of the ridge: n * penalizer / 2 * sum((b_j * sd_j)^2),
        the same fit as ``CoxPHFitter(penalizer=...)`` of lifelines. Give it or
        `l2_penalty`, not both.
    l1_ratio : float, default 0
        lifelines' elastic-net mixing; only 0 (the ridge) is available.

    Examples
    --------
    >>> df = pd.DataFrame({"duration": [5.0, 8, 3, 9, 12, 4, 7, 10, 6, 11],
    ...                    "event": [1, 1, 0, 1, 0, 1, 1, 0, 1, 1],
    ...                    "age": [60.0, 45, 70, 50, 40, 65, 55, 48, 58, 42]})
    >>> cph = churn.CoxPHFitter().fit(df)
    >>> cph.hazard_ratios_.index.tolist(), bool(cph.hazard_ratios_["age"] > 1)
    (['age'], True)
    """

    ties = "efron"
    l2_penalty = 0.0
    l2_scale = False
    max_iter = 20
    tol = 1e-9
    penalizer = 0.0
    l1_ratio = 0.0

    def __init__(self, ties="efron", l2_penalty=0.0, l2_scale=False, max_iter=20, tol=1e-9,
                 penalizer=0.0, l1_ratio=0.0):
        super().__init__()
        self.ties, self.l2_penalty, self.l2_scale = ties, l2_penalty, l2_scale
        self.max_iter, self.tol = max_iter, tol
        self.penalizer, self.l1_ratio = penalizer, l1_ratio
        self._validate_params()

    @classmethod
    def from_params(cls, params, *, baseline=None, x_mean=None, unit=None):
        """A Cox model with known coefficients and baseline cumulative hazard.

        The coefficients alone give hazard ratios but no survival probabilities, so
        the baseline cumulative hazard is required: H0(t) at the covariates `x_mean`
        (lifelines' ``baseline_cumulative_hazard_`` and R's ``basehaz(fit)`` give it at
        the mean covariates). Predictions are then
        S(t | x) = exp(-H0(t) exp(beta'(x - x_mean))), with H0 a step function.

        Parameters
        ----------
        params : dict or pandas.Series
            Feature -> coefficient (log hazard ratio), as ``params_`` returns them.
        baseline : pandas.DataFrame, pandas.Series or dict
            Keyword only: the baseline cumulative hazard indexed by time (a one-column
            DataFrame as :meth:`baseline` returns, a Series, or {time: H0}); times and
            values finite and non-decreasing.
        x_mean : dict or pandas.Series, optional
            Keyword only: the covariate values at which `baseline` holds, by feature
            (default 0 for every feature: an uncentered baseline).
        unit : str or float, optional
            Keyword only: the time unit of the durations.

        Returns
        -------
        CoxPHFitter
            A model with those coefficients (standard errors NaN).

        Raises
        ------
        TypeError
            `baseline` is missing.
        ValueError
            A coefficient, time or hazard that is not finite, or a baseline that
            decreases (the message names it).

        Examples
        --------
        >>> m = churn.CoxPHFitter.from_params({"age": np.log(2.0)},
        ...                                   baseline={1.0: 0.1, 2.0: 0.3}, x_mean={"age": 0.0})
        >>> s = m.predict_survival_function(pd.DataFrame({"age": [1.0]}), times=[2.0])
        >>> round(float(np.asarray(s).ravel()[0]), 6)          # exp(-0.3 * 2)
        0.548812
        """
        import pandas as pd
        from ._model import _from_values, _named_values
        names, vals = _named_values(params, "CoxPHFitter.from_params")
        if baseline is None:
            raise TypeError("CoxPHFitter.from_params: pass baseline= (the baseline cumulative "
                            "hazard by time: a Cox model's survival predictions need it; "
                            "baseline_cumulative_hazard_ of a fitted model gives it)")
        if isinstance(baseline, pd.DataFrame):
            if baseline.shape[1] != 1:
                raise ValueError("baseline: a DataFrame with one column (the cumulative "
                                 "hazard) indexed by time")
            baseline = baseline.iloc[:, 0]
        if isinstance(baseline, dict):
            baseline = pd.Series(baseline)
        times = np.asarray(baseline.index, dtype=np.float64)
        cum = np.asarray(baseline, dtype=np.float64)
        order = np.argsort(times, kind="stable")
        times, cum = times[order], cum[order]
        for what, v in (("time", times), ("cumulative hazard", cum)):
            bad = np.flatnonzero(~np.isfinite(v))
            if bad.size:
                raise ValueError(f"baseline: {what} {v[bad[0]]} at position {bad[0]} is not "
                                 f"finite")
        dec = np.flatnonzero(np.diff(cum) < 0)
        if dec.size:
            raise ValueError(f"baseline: the cumulative hazard decreases at time "
                             f"{times[dec[0] + 1]}")
        means = dict(x_mean.items()) if x_mean is not None else {}
        unknown = [k for k in means if k not in names]
        if unknown:
            raise ValueError(f"x_mean: '{unknown[0]}' is not a feature of params")
        xm = [float(means.get(n, 0.0)) for n in names]
        return _from_values(cls, names, vals, names, unit,
                            arrays={"baseline_time": times, "baseline_cumhaz": cum,
                                    "x_mean": xm})

    def _validate_params(self):
        if self.ties not in ("efron", "breslow"):
            raise ValueError(f"ties: '{self.ties}' is not 'efron' or 'breslow'")
        if not np.isscalar(self.penalizer) or not self.penalizer >= 0:
            raise ValueError(f"penalizer: {self.penalizer!r} is not a number >= 0 (per-"
                             f"coefficient arrays are not supported)")
        if self.l1_ratio != 0:
            raise ValueError(f"l1_ratio: {self.l1_ratio!r}: only the ridge (l1_ratio=0) "
                             f"penalty is available for Cox models")
        if self.penalizer and self.l2_penalty:
            raise ValueError("pass penalizer (lifelines' scale) or l2_penalty (R's ridge "
                             "theta), not both")

    def fit(self, data, duration_col="duration", event_col="event", features=None,
            weights_col=None, *, label=None, progress=None):
        """Fit by maximum partial likelihood (Newton-Raphson, R's coxph).

        ``fit(df, duration_col='duration', event_col='event', features=None,
        weights_col=None)`` (lifelines' spelling: every column that is not the
        duration, event or weights is a feature) or ``fit(X, durations, events)``.

        Parameters
        ----------
        data : pandas.DataFrame or array_like
            The fitting table, or the feature matrix.
        duration_col, event_col : str or array_like
            Column names (DataFrame) or the arrays (matrix); event 1 = churned, 0 =
            censored, None = every row an event.
        features : list of str, optional
            The feature columns (default: all the others).
        weights_col : str or array_like, optional
            Case weights.
        label : str, optional
            Keyword only: a name for the model in :meth:`print_summary` and the
            title of :meth:`plot` (lifelines' ``label``).
        progress : bool, optional
            Keyword only: elapsed-time feedback while fitting over more than 200,000
            rows (None: after 1.5 s; False: never; True: at once).

        Returns
        -------
        CoxPHFitter
            self, fitted.

        Raises
        ------
        churn.ConvergenceError, churn.NumericalError, ValueError
            As the C fit reports them (the message names the row or column).

        Examples
        --------
        >>> df = pd.DataFrame({"duration": [5.0, 8, 3, 9, 12, 4, 7, 10],
        ...                    "event": [1, 1, 0, 1, 0, 1, 1, 0],
        ...                    "age": [60.0, 45, 70, 50, 40, 65, 55, 48]})
        >>> cph = churn.CoxPHFitter().fit(df, duration_col="duration", event_col="event")
        >>> cph.summary.index.tolist()
        ['age']
        """
        self._validate_params()
        x, n, p, names, dur, ev, w = self._data(data, duration_col, event_col, weights_col,
                                                features)
        o = CoxOptions()
        _cox_init(ctypes.byref(o))
        o.ties = 0 if self.ties == "efron" else 1
        if self.penalizer:
            # lifelines: loglik - n * penalizer / 2 * sum (b_j sd_j)^2 on features scaled
            # by their SD = R's ridge(theta = n * penalizer, scale = TRUE)
            o.l2_penalty = float(self.penalizer) * n
            o.l2_scale = 1
        else:
            o.l2_penalty = float(self.l2_penalty)
            o.l2_scale = 1 if self.l2_scale else 0
        o.max_iter = int(self.max_iter)
        o.tol = float(self.tol)
        cn, keep = _names_arg(names, p)
        h = c_void_p()
        from ._estimator import fit_feedback
        with fit_feedback(self, n, progress):
            rc = _cox_fit(ctypes.byref(h), n, p, x.ctypes.data_as(_d) if p else None, cn,
                          ptr(dur), ptr(ev), ptr(w), ctypes.byref(o))
        self._lifelines_fit_args(duration_col, event_col, label)
        return _finish_fit(self, rc, h)._record_unit(data)

    @property
    def summary(self):
        """Coefficient table: coef, exp(coef), se(coef), z, p and the 95% limits of coef and
        exp(coef), indexed by covariate.
        """
        import pandas as pd
        est = self._vector(_lib.churn_model_params)
        se = self._vector(_lib.churn_model_std_errors)
        z = est / se
        return pd.DataFrame({"coef": est, "exp(coef)": np.exp(est), "se(coef)": se, "z": z,
                             "p": _norm_p(z), "coef lower 95%": est - _Z95 * se,
                             "coef upper 95%": est + _Z95 * se,
                             "exp(coef) lower 95%": np.exp(est - _Z95 * se),
                             "exp(coef) upper 95%": np.exp(est + _Z95 * se)},
                            index=pd.Index(self.param_names, name="covariate"))

    @property
    def hazard_ratios_(self):
        """exp(coef) per covariate (a Series named 'exp(coef)')."""
        return np.exp(self.params_).rename("exp(coef)")

    def test(self, kind="lr"):
        """Global test against b = 0.

        Parameters
        ----------
        kind : {'lr', 'wald', 'score'}, default 'lr'
            Likelihood-ratio, Wald or score (log-rank) test.

        Returns
        -------
        dict
            statistic, df, p.

        Examples
        --------
        >>> df = pd.DataFrame({"duration": [5.0, 8, 3, 9, 12, 4, 7, 10, 6, 11],
        ...                    "event": [1, 1, 0, 1, 0, 1, 1, 0, 1, 1],
        ...                    "age": [60.0, 45, 70, 50, 40, 65, 55, 48, 58, 42]})
        >>> cph = churn.CoxPHFitter().fit(df)
        >>> cph.test("wald")["df"]
        1.0
        """
        if kind not in _TESTS:
            raise ValueError(f"kind: '{kind}' is not lr, wald or score")
        a, b, c = c_double(), c_double(), c_double()
        check(_cox_test(self._require(), _TESTS[kind], ctypes.byref(a), ctypes.byref(b),
                        ctypes.byref(c)))
        return {"statistic": a.value, "df": b.value, "p": c.value}

    def log_likelihood_ratio_test(self):
        """The likelihood-ratio test against b = 0 (lifelines' name of ``test('lr')``).

        Returns
        -------
        dict
            statistic, df, p.

        Examples
        --------
        >>> df = pd.DataFrame({"duration": [5.0, 8, 3, 9, 12, 4, 7, 10, 6, 11],
        ...                    "event": [1, 1, 0, 1, 0, 1, 1, 0, 1, 1],
        ...                    "age": [60.0, 45, 70, 50, 40, 65, 55, 48, 58, 42]})
        >>> cph = churn.CoxPHFitter().fit(df)
        >>> cph.log_likelihood_ratio_test() == cph.test("lr")
        True
        """
        return self.test("lr")

    def baseline(self, centered=True):
        """Baseline cumulative hazard at the event times (R's basehaz).

        Parameters
        ----------
        centered : bool, default True
            At the mean covariates (R's default) or at zero.

        Returns
        -------
        pandas.DataFrame
            'baseline cumulative hazard' indexed by time.

        Examples
        --------
        >>> df = pd.DataFrame({"duration": [5.0, 8, 3, 9, 12, 4, 7, 10, 6, 11],
        ...                    "event": [1, 1, 0, 1, 0, 1, 1, 0, 1, 1],
        ...                    "age": [60.0, 45, 70, 50, 40, 65, 55, 48, 58, 42]})
        >>> cph = churn.CoxPHFitter().fit(df)
        >>> bool(cph.baseline().iloc[:, 0].is_monotonic_increasing)
        True
        """
        import pandas as pd
        h = self._require()
        n = c_size_t(0)
        check(_cox_baseline(h, 1 if centered else 0, None, None, 0, ctypes.byref(n)))
        t, H = np.empty(n.value), np.empty(n.value)
        check(_cox_baseline(h, 1 if centered else 0, ptr(t), ptr(H), n.value, ctypes.byref(n)))
        return pd.DataFrame({"baseline cumulative hazard": H},
                            index=pd.Index(t, name="timeline"))

    @property
    def baseline_cumulative_hazard_(self):
        """The centered baseline cumulative hazard (lifelines' name; :meth:`baseline`)."""
        return self.baseline(True)

    @property
    def baseline_survival_(self):
        """exp(-baseline cumulative hazard), indexed by time."""
        b = self.baseline(True)
        return np.exp(-b).rename(columns={"baseline cumulative hazard": "baseline survival"})

    def _default_times(self):
        return self.baseline(True).index.to_numpy()

    def predict_log_partial_hazard(self, X):
        """(x - means)'b, as R's predict(type='lp').

        Parameters
        ----------
        X : pandas.DataFrame or array_like
            Customers with the model's feature columns (matched by name in a DataFrame).

        Returns
        -------
        pandas.Series or numpy.ndarray

        Examples
        --------
        >>> df = pd.DataFrame({"duration": [5.0, 8, 3, 9, 12, 4, 7, 10, 6, 11],
        ...                    "event": [1, 1, 0, 1, 0, 1, 1, 0, 1, 1],
        ...                    "age": [60.0, 45, 70, 50, 40, 65, 55, 48, 58, 42]})
        >>> cph = churn.CoxPHFitter().fit(df)
        >>> average = df[["age"]].mean().to_frame().T
        >>> round(float(cph.predict_log_partial_hazard(average).iloc[0]), 12)
        0.0
        """
        return self.predict_linear_predictor(X)

    def predict_partial_hazard(self, X):
        """exp((x - means)'b), lifelines' partial hazard.

        Parameters
        ----------
        X : pandas.DataFrame or array_like
            Customers with the model's feature columns (matched by name in a DataFrame).

        Returns
        -------
        pandas.Series or numpy.ndarray

        Examples
        --------
        >>> df = pd.DataFrame({"duration": [5.0, 8, 3, 9, 12, 4, 7, 10, 6, 11],
        ...                    "event": [1, 1, 0, 1, 0, 1, 1, 0, 1, 1],
        ...                    "age": [60.0, 45, 70, 50, 40, 65, 55, 48, 58, 42]})
        >>> cph = churn.CoxPHFitter().fit(df)
        >>> bool((cph.predict_partial_hazard(df) > 0).all())
        True
        """
        return np.exp(self.predict_log_partial_hazard(X))

    def check_assumptions(self, data, duration_col="duration", event_col="event",
                          weights_col=None):
        """Proportional-hazards test (R's cox.zph, transform 'km') on the fitting data.

        Parameters
        ----------
        data : pandas.DataFrame or array_like
            The fitting data.
        duration_col, event_col : str or array_like
            As in :meth:`fit`.
        weights_col : str or array_like, optional
            As in :meth:`fit`.

        Returns
        -------
        pandas.DataFrame
            chisq, df, p per feature and GLOBAL.

        Examples
        --------
        >>> df = pd.DataFrame({"duration": [5.0, 8, 3, 9, 12, 4, 7, 10, 6, 11],
        ...                    "event": [1, 1, 0, 1, 0, 1, 1, 0, 1, 1],
        ...                    "age": [60.0, 45, 70, 50, 40, 65, 55, 48, 58, 42]})
        >>> cph = churn.CoxPHFitter().fit(df)
        >>> cph.check_assumptions(df).index.tolist()
        ['age', 'GLOBAL']
        """
        import pandas as pd
        names = self.feature_names_
        x, n, p, _, dur, ev, w = self._data(data, duration_col, event_col, weights_col, names)
        chisq, df, pv = np.empty(p + 1), np.empty(p + 1), np.empty(p + 1)
        check(_cox_zph(self._require(), n, x.ctypes.data_as(_d), ptr(dur), ptr(ev), ptr(w),
                       ptr(chisq), ptr(df), ptr(pv)))
        return pd.DataFrame({"chisq": chisq, "df": df, "p": pv},
                            index=pd.Index(list(names) + ["GLOBAL"], name="covariate"))

    def predict_frame(self, data, horizon):
        """Scores as `churn predict` writes them: p_churn, survival, linear_predictor.

        Parameters
        ----------
        data : pandas.DataFrame
            Customers with the feature columns.
        horizon : float
            Time at which churn is scored.

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        >>> df = pd.DataFrame({"duration": [5.0, 8, 3, 9, 12, 4, 7, 10, 6, 11],
        ...                    "event": [1, 1, 0, 1, 0, 1, 1, 0, 1, 1],
        ...                    "age": [60.0, 45, 70, 50, 40, 65, 55, 48, 58, 42]})
        >>> cph = churn.CoxPHFitter().fit(df)
        >>> list(cph.predict_frame(df, 6.0).columns)
        ['p_churn', 'survival', 'linear_predictor']
        """
        return self.predict_at(data, horizon)

    def _repr_html_(self):
        if not getattr(self, "_h", None):
            return "<p>CoxPHFitter: not fitted</p>"
        head = (f"<p><b>CoxPHFitter</b> ({self.ties if hasattr(self, 'ties') else ''}) &mdash; "
                f"n = {self.nobs_:g}, events = {self.num_events_:g}, log-likelihood = "
                f"{self.loglik_:.3f} (null {self.loglik_null_:.3f}), concordance = "
                f"{self.concordance_index_:.4f}</p>")
        return head + self.summary.to_html(float_format=lambda v: f"{v:.6g}")


class _AFT(_SurvivalRegression):
    """Accelerated-failure-time model (R's survreg): log T = b0 + x'b + scale * W.

    Parameters
    ----------
    max_iter : int, default 50
        Newton iterations.
    tol : float, default 1e-12
        Convergence tolerance.
    penalizer : float, default 0
        lifelines' spelling; only 0 (maximum likelihood) is available.

    Examples
    --------
    >>> df = pd.DataFrame({"duration": [5.0, 8, 3, 9, 12, 4, 7, 10, 6, 11],
    ...                    "event": [1, 1, 0, 1, 0, 1, 1, 0, 1, 1],
    ...                    "age": [60.0, 45, 70, 50, 40, 65, 55, 48, 58, 42]})
    >>> wf = churn.WeibullAFTFitter().fit(df)
    >>> wf.params_.index.tolist()
    ['(Intercept)', 'age', 'Log(scale)']
    """

    _family_code = None
    max_iter = 50
    tol = 1e-12
    penalizer = 0.0

    def __init__(self, max_iter=50, tol=1e-12, penalizer=0.0):
        super().__init__()
        self.max_iter, self.tol = max_iter, tol
        self.penalizer = penalizer
        self._validate_params()

    @classmethod
    def from_params(cls, params, *, unit=None):
        """An AFT model with known parameters (a published model, a simulation truth).

        Parameters
        ----------
        params : dict or pandas.Series
            Name -> value as ``params_`` returns them: '(Intercept)', one entry per
            feature, and 'Log(scale)' (not for the exponential, whose scale is 1).
        unit : str or float, optional
            Keyword only: the time unit of the durations (recorded as
            ``time_unit_``).

        Returns
        -------
        _AFT
            A model of this class with those parameters (standard errors NaN).

        Examples
        --------
        >>> m = churn.WeibullAFTFitter.from_params({"(Intercept)": np.log(10.0),
        ...                                         "Log(scale)": 0.0})
        >>> round(float(m.predict_median(np.zeros((1, 0)))[0]), 4)    # 10 * log(2)
        6.9315
        """
        from ._model import _from_values, _named_values
        names, vals = _named_values(params, f"{cls.__name__}.from_params")
        feats = [n for n in names if n not in ("(Intercept)", "Log(scale)")]
        return _from_values(cls, names, vals, feats, unit)

    def _validate_params(self):
        if self.penalizer != 0:
            raise ValueError(f"penalizer: {self.penalizer!r}: the AFT models are fitted by "
                             f"maximum likelihood without a penalty (penalizer=0 only)")

    def fit(self, data, duration_col="duration", event_col="event", features=None,
            weights_col=None, *, label=None, progress=None):
        """Fit by maximum likelihood (R's survreg); returns self.

        Parameters
        ----------
        data : pandas.DataFrame or array_like
            The fitting table (features = every other column unless given; none allowed),
            or the feature matrix (None for an intercept-only model).
        duration_col, event_col : str or array_like
            Column names or arrays.
        features : list of str, optional
            The feature columns.
        weights_col : str or array_like, optional
            Case weights.
        label : str, optional
            Keyword only: names the model in :meth:`print_summary` and :meth:`plot`.
        progress : bool, optional
            Keyword only: elapsed-time feedback while fitting over more than 200,000
            rows (None: after 1.5 s; False: never; True: at once).

        Returns
        -------
        self

        Examples
        --------
        >>> df = pd.DataFrame({"duration": [5.0, 8, 3, 9, 12, 4, 7, 10, 6, 11],
        ...                    "event": [1, 1, 0, 1, 0, 1, 1, 0, 1, 1],
        ...                    "age": [60.0, 45, 70, 50, 40, 65, 55, 48, 58, 42]})
        >>> wf = churn.WeibullAFTFitter().fit(df)
        >>> wf.converged_
        True
        """
        self._validate_params()
        x, n, p, names, dur, ev, w = self._data(data, duration_col, event_col, weights_col,
                                                features)
        self._lifelines_fit_args(duration_col, event_col, label)
        o = AftOptions()
        _aft_init(ctypes.byref(o))
        o.max_iter = int(self.max_iter)
        o.tol = float(self.tol)
        cn, keep = _names_arg(names, p)
        h = c_void_p()
        from ._estimator import fit_feedback
        with fit_feedback(self, n, progress):
            rc = _aft_fit(ctypes.byref(h), self._family_code, n, p,
                          x.ctypes.data_as(_d) if p else None, cn, ptr(dur), ptr(ev),
                          ptr(w), ctypes.byref(o))
        return _finish_fit(self, rc, h)._record_unit(data)

    @property
    def summary(self):
        """Coefficient table: coef, exp(coef), se(coef), z, p and the 95% limits of coef, indexed
        by parameter.
        """
        import pandas as pd
        est = self._vector(_lib.churn_model_params)
        se = self._vector(_lib.churn_model_std_errors)
        z = est / se
        return pd.DataFrame({"coef": est, "exp(coef)": np.exp(est), "se(coef)": se, "z": z,
                             "p": _norm_p(z), "coef lower 95%": est - _Z95 * se,
                             "coef upper 95%": est + _Z95 * se},
                            index=pd.Index(self.param_names, name="parameter"))

    @property
    def scale_(self):
        """The scale sigma (1 for the exponential)."""
        ps = self.params_
        return float(np.exp(ps["Log(scale)"])) if "Log(scale)" in ps.index else 1.0

    def mean_residual_life(self, X, horizon=0.0):
        """E[T - h | T > h, x] for customers active at h = horizon.

        Parameters
        ----------
        X : pandas.DataFrame or array_like
            Customers with the model's feature columns (matched by name in a DataFrame).
        horizon : float, default 0
            The time h they have survived.

        Returns
        -------
        pandas.Series or numpy.ndarray

        Examples
        --------
        >>> df = pd.DataFrame({"duration": [5.0, 8, 3, 9, 12, 4, 7, 10, 6, 11],
        ...                    "event": [1, 1, 0, 1, 0, 1, 1, 0, 1, 1],
        ...                    "age": [60.0, 45, 70, 50, 40, 65, 55, 48, 58, 42]})
        >>> wf = churn.WeibullAFTFitter().fit(df)
        >>> bool((wf.mean_residual_life(df, 5.0) > 0).all())
        True
        """
        import pandas as pd
        h, x, n = self._x(X)
        out = np.empty(n)
        check(_surv_mrl(h, n, x.ctypes.data_as(_d), float(horizon), ptr(out)))
        idx = self._index(X, n)
        return pd.Series(out, index=idx, name="mean_residual_life") if idx is not None else out

    def predict_expectation(self, X):
        """Expected lifetime E[T | x] (lifelines' name; ``mean_residual_life(X, 0)``).

        Parameters
        ----------
        X : pandas.DataFrame or array_like
            Customers with the model's feature columns (matched by name in a DataFrame).

        Returns
        -------
        pandas.Series or numpy.ndarray

        Examples
        --------
        >>> df = pd.DataFrame({"duration": [5.0, 8, 3, 9, 12, 4, 7, 10, 6, 11],
        ...                    "event": [1, 1, 0, 1, 0, 1, 1, 0, 1, 1],
        ...                    "age": [60.0, 45, 70, 50, 40, 65, 55, 48, 58, 42]})
        >>> wf = churn.WeibullAFTFitter().fit(df)
        >>> bool((wf.predict_expectation(df) > 0).all())
        True
        """
        return self.mean_residual_life(X, 0.0)

    def _default_times(self):
        med = np.asarray(self.predict_median(np.zeros((1, len(self.feature_names_)))))
        top = float(med[0]) * 4 if np.isfinite(med[0]) else 10.0
        return np.linspace(0.0, top, 101)

    def predict_frame(self, data, horizon):
        """Scores as `churn predict` writes them.

        Columns p_churn, survival, linear_predictor, median, mean_residual_life.

        Parameters
        ----------
        data : pandas.DataFrame
            Customers with the feature columns.
        horizon : float
            Time at which churn is scored.

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        >>> df = pd.DataFrame({"duration": [5.0, 8, 3, 9, 12, 4, 7, 10, 6, 11],
        ...                    "event": [1, 1, 0, 1, 0, 1, 1, 0, 1, 1],
        ...                    "age": [60.0, 45, 70, 50, 40, 65, 55, 48, 58, 42]})
        >>> wf = churn.WeibullAFTFitter().fit(df)
        >>> wf.predict_frame(df, 6.0).columns[-1]
        'mean_residual_life'
        """
        out = self.predict_at(data, horizon)
        out["median"] = np.asarray(self.predict_median(data))
        out["mean_residual_life"] = np.asarray(self.mean_residual_life(data, horizon))
        return out


@register("weibull")
class WeibullAFTFitter(_AFT):
    """Weibull AFT (R's survreg dist='weibull').

    Parameters
    ----------
    max_iter : int, default 50
        Newton iterations.
    tol : float, default 1e-12
        Convergence tolerance.
    penalizer : float, default 0
        lifelines' spelling; only 0 (maximum likelihood) is available.

    Examples
    --------
    >>> df = pd.DataFrame({"duration": [5.0, 8, 3, 9, 12, 4, 7, 10, 6, 11],
    ...                    "event": [1, 1, 0, 1, 0, 1, 1, 0, 1, 1],
    ...                    "age": [60.0, 45, 70, 50, 40, 65, 55, 48, 58, 42]})
    >>> churn.WeibullAFTFitter().fit(df).family
    'weibull'
    """

    _family_code = 9


@register("exponential")
class ExponentialAFTFitter(_AFT):
    """Exponential AFT (R's survreg dist='exponential'; scale fixed at 1).

    Parameters
    ----------
    max_iter : int, default 50
        Newton iterations.
    tol : float, default 1e-12
        Convergence tolerance.
    penalizer : float, default 0
        lifelines' spelling; only 0 (maximum likelihood) is available.

    Examples
    --------
    >>> df = pd.DataFrame({"duration": [5.0, 8, 3, 9, 12, 4, 7, 10, 6, 11],
    ...                    "event": [1, 1, 0, 1, 0, 1, 1, 0, 1, 1],
    ...                    "age": [60.0, 45, 70, 50, 40, 65, 55, 48, 58, 42]})
    >>> churn.ExponentialAFTFitter().fit(df).family
    'exponential'
    """

    _family_code = 10


@register("loglogistic")
class LogLogisticAFTFitter(_AFT):
    """Log-logistic AFT (R's survreg dist='loglogistic').

    Parameters
    ----------
    max_iter : int, default 50
        Newton iterations.
    tol : float, default 1e-12
        Convergence tolerance.
    penalizer : float, default 0
        lifelines' spelling; only 0 (maximum likelihood) is available.

    Examples
    --------
    >>> df = pd.DataFrame({"duration": [5.0, 8, 3, 9, 12, 4, 7, 10, 6, 11],
    ...                    "event": [1, 1, 0, 1, 0, 1, 1, 0, 1, 1],
    ...                    "age": [60.0, 45, 70, 50, 40, 65, 55, 48, 58, 42]})
    >>> churn.LogLogisticAFTFitter().fit(df).family
    'loglogistic'
    """

    _family_code = 11


@register("lognormal")
class LogNormalAFTFitter(_AFT):
    """Log-normal AFT (R's survreg dist='lognormal').

    Parameters
    ----------
    max_iter : int, default 50
        Newton iterations.
    tol : float, default 1e-12
        Convergence tolerance.
    penalizer : float, default 0
        lifelines' spelling; only 0 (maximum likelihood) is available.

    Examples
    --------
    >>> df = pd.DataFrame({"duration": [5.0, 8, 3, 9, 12, 4, 7, 10, 6, 11],
    ...                    "event": [1, 1, 0, 1, 0, 1, 1, 0, 1, 1],
    ...                    "age": [60.0, 45, 70, 50, 40, 65, 55, 48, 58, 42]})
    >>> churn.LogNormalAFTFitter().fit(df).family
    'lognormal'
    """

    _family_code = 12


__all__ = ["KaplanMeierFitter", "logrank_test", "concordance_index", "CoxPHFitter",
           "WeibullAFTFitter", "ExponentialAFTFitter", "LogLogisticAFTFitter",
           "LogNormalAFTFitter"]
