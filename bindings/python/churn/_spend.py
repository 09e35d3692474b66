"""Spend and customer value (include/churn/spend.h): the Gamma-Gamma model, CLV, DERT,
value at risk, value tiers, alert rules and the retention report, as DataFrames."""
import ctypes
from ctypes import POINTER, c_char_p, c_double, c_int, c_size_t, c_uint64, c_void_p

import numpy as np

from . import _lib, _report_html
from ._arrays import as_f64, empty, ptr
from ._btyd import _columns, _index, _series
from ._covariates import Covariates
from ._errors import ENOCONV, ERANGE, check, error_for
from ._intervals import BootstrapOptions, _boot_init
from ._model import Model, register

_d = _lib.c_double_p


class GammaGammaOptions(ctypes.Structure):
    """Mirror of churn_gammagamma_options."""

    _fields_ = [("struct_size", c_size_t), ("max_iter", c_int), ("tol", c_double),
                ("no_std_errors", c_int)]


class ClvOptions(ctypes.Structure):
    """Mirror of churn_clv_options."""

    _fields_ = [("struct_size", c_size_t), ("horizon", c_int), ("period", c_double),
                ("discount", c_double), ("margin", c_double)]


_fn = _lib.fn
_gg_init = _fn("churn_gammagamma_options_init", None, POINTER(GammaGammaOptions))
_gg_fit = _fn("churn_gammagamma_fit", c_int, POINTER(c_void_p), c_size_t, _d, _d, _d,
              POINTER(GammaGammaOptions))
_gg_expected = _fn("churn_gammagamma_expected_spend", c_int, c_void_p, c_size_t, _d, _d, _d)
_gg_mean = _fn("churn_gammagamma_mean_spend", c_int, c_void_p, _d)
_gg_corr = _fn("churn_gammagamma_freq_monetary_corr", c_int, c_void_p, _d)
_gg_excluded = _fn("churn_gammagamma_excluded", c_int, c_void_p, _d, _d)
_clv_init = _fn("churn_clv_options_init", None, POINTER(ClvOptions))
_clv_discounted = _fn("churn_clv_discounted_purchases", c_int, c_void_p, POINTER(ClvOptions),
                      c_size_t, _d, _d, _d, _d)
_clv_score = _fn("churn_clv_score", c_int, c_void_p, c_void_p, POINTER(ClvOptions), c_size_t,
                 _d, _d, _d, _d, _d, _d, _d, _d, _d)
_clv_score_cov = _fn("churn_clv_score_covariates", c_int, c_void_p, c_void_p,
                     POINTER(ClvOptions), c_size_t, _d, _d, _d, _d, POINTER(Covariates), _d, _d,
                     _d, _d, _d)


class ClvIntervals(ctypes.Structure):
    """Mirror of churn_clv_intervals (the output arrays of churn_clv_interval)."""

    _fields_ = [("struct_size", c_size_t)] + [
        (f"{q}{e}", _d) for q in ("p_alive", "expected_purchases", "expected_spend", "clv",
                                   "value_at_risk") for e in ("", "_lo", "_hi")]


_clv_intervals_init = _fn("churn_clv_intervals_init", None, POINTER(ClvIntervals))
_clv_interval = _fn("churn_clv_interval", c_int, c_void_p, c_void_p, POINTER(ClvOptions),
                    c_double, c_size_t, _d, _d, _d, _d, POINTER(ClvIntervals))
_clv_interval_cov = _fn("churn_clv_interval_covariates", c_int, c_void_p, c_void_p,
                        POINTER(ClvOptions), c_double, c_size_t, _d, _d, _d, _d,
                        POINTER(Covariates), POINTER(ClvIntervals))

_clv_bootstrap = _fn("churn_clv_bootstrap_interval", c_int, c_void_p, c_void_p,
                     POINTER(ClvOptions), c_size_t, _d, _d, _d, _d, c_size_t, _d, _d, _d, _d,
                     POINTER(BootstrapOptions), POINTER(ClvIntervals), POINTER(c_size_t))
_clv_contractual = _fn("churn_clv_contractual", c_int, c_void_p, c_double, c_double, c_size_t,
                       _d, _d)
_dert = _fn("churn_dert", c_int, c_void_p, c_double, c_size_t, _d, _d, _d, _d)
_dert_cov = _fn("churn_dert_covariates", c_int, c_void_p, c_double, c_size_t, _d, _d, _d,
                POINTER(Covariates), _d)
_tier_name = _fn("churn_tier_name", c_char_p, c_int)
_tiers_assign = _fn("churn_tiers_assign", c_int, c_size_t, _d, c_double, c_double,
                    _lib.c_int_p, _d)
_alerts_new = _fn("churn_alerts_new", c_int, POINTER(c_void_p))
_alerts_free = _fn("churn_alerts_free", None, c_void_p)
_alerts_add = _fn("churn_alerts_add", c_int, c_void_p, c_char_p, c_char_p, c_int, c_double)
_alerts_add_text = _fn("churn_alerts_add_text", c_int, c_void_p, c_char_p)
_alerts_add_defaults = _fn("churn_alerts_add_defaults", c_int, c_void_p)
_alerts_num_rules = _fn("churn_alerts_num_rules", c_size_t, c_void_p)
_alerts_rule = _fn("churn_alerts_rule", c_int, c_void_p, c_size_t, POINTER(c_char_p),
                   POINTER(c_char_p), _lib.c_int_p, _d)
_alerts_evaluate = _fn("churn_alerts_evaluate", c_int, c_void_p, c_size_t, c_size_t,
                       POINTER(c_char_p), POINTER(_d), POINTER(c_uint64))
_alerts_eval_state = _fn("churn_alerts_evaluate_state", c_int, c_void_p, c_void_p, c_double,
                         c_size_t, POINTER(c_char_p), _d, POINTER(c_uint64), POINTER(c_uint64))
_alerts_needs_history = _fn("churn_alerts_needs_history", c_int, c_void_p, POINTER(c_uint64))
_alerts_describe = _fn("churn_alerts_describe", c_int, c_void_p, c_uint64, c_char_p, c_size_t,
                       _lib.c_size_t_p)

TIER_NAMES = {1: "key", 2: "important", 3: "ordinary"}
_OPS = {"<": 1, "<=": 2, ">": 3, ">=": 4, "==": 5, "!=": 6}


def _spend_columns(data, frequency, monetary_value):
    if data is not None:
        if frequency is None or isinstance(frequency, str):
            frequency = data[frequency or "frequency"]
        if monetary_value is None or isinstance(monetary_value, str):
            monetary_value = data[monetary_value or "monetary_value"]
    if frequency is None or monetary_value is None:
        raise TypeError("pass a customer table, or frequency and monetary_value arrays")
    x = as_f64(frequency, "frequency")
    return x, as_f64(monetary_value, "monetary_value", x.shape[0])


@register("gammagamma")
class GammaGamma(Model):
    """Gamma-Gamma model of mean spend per transaction (Fader & Hardie 2013).

    Parameters p, q, gamma (lifetimes calls gamma ``v``). Fitted on the repeat buyers
    with a positive monetary value; everyone gets a prediction.

    Parameters
    ----------
    max_iter, tol : optional
        Optimiser limits used by :meth:`fit` when it is not given its own (None: C's
        defaults).
    std_errors : bool, default True
        Compute standard errors in :meth:`fit`.

    Examples
    --------
    >>> t = churn.simulate_summary(1000, model="bgnbd", seed=1, unit="week")
    >>> t["monetary_value"] = t["mean_spend"].fillna(0.0)
    >>> gg = churn.GammaGamma().fit(t)                 # or .fit(frequency, monetary_value)
    >>> gg.nobs_ == (t["frequency"] > 0).sum()
    True
    """

    def __init__(self, max_iter=None, tol=None, std_errors=True):
        super().__init__()
        self.max_iter = max_iter
        self.tol = tol
        self.std_errors = std_errors

    @classmethod
    def from_params(cls, *args, **kwargs):
        """A Gamma-Gamma model with known p, q, gamma (published estimates, a simulation).

        Parameters
        ----------
        *args, **kwargs : float
            p, q and gamma by position or by name (lifetimes' name ``v`` is accepted for
            gamma), e.g. ``GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)``.
        unit : str or float, optional
            Keyword only: the time unit recorded as ``time_unit_`` (spend has none of
            its own; it only travels with the model file).

        Returns
        -------
        GammaGamma
            A fitted model with those parameters (standard errors NaN).

        Examples
        --------
        >>> gg = churn.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
        >>> round(float(gg.expected_spend(frequency=[2.0], monetary_value=[40.0])[0]), 2)
        39.14
        """
        import json
        names = ("p", "q", "gamma")
        kwargs = dict(kwargs)
        unit = kwargs.pop("unit", None)
        if "v" in kwargs and "gamma" not in kwargs:
            kwargs["gamma"] = kwargs.pop("v")
        if args and kwargs:
            raise TypeError("pass the parameters by position or by name, not both")
        if kwargs:
            if sorted(kwargs) != sorted(names):
                raise TypeError("GammaGamma.from_params needs exactly p, q, gamma")
            args = [kwargs[k] for k in names]
        if len(args) == 1 and np.ndim(args[0]) == 1:
            args = list(args[0])
        if len(args) != 3:
            raise TypeError(f"GammaGamma.from_params needs 3 parameters (p, q, gamma), "
                            f"got {len(args)}")
        v = as_f64(np.asarray(args, dtype=float), "params")
        # No C constructor for spend models: the model file is the one way in, and its
        # reader checks the values (positive, finite) with its own messages.
        text = json.dumps({"format": "libchurn-model", "format_version": 1,
                           "family": "gammagamma", "time_unit_days": 0.0,
                           "param_names": list(names), "params": [float(a) for a in v],
                           "std_errors": [None] * 3, "covariance": None,
                           "fit": {"loglik": None, "nobs": 0.0, "converged": False,
                                   "iterations": 0},
                           "features": [], "arrays": {}, "note": ""})
        obj = cls.from_json(text)
        if unit is not None:
            obj.set_time_unit(unit)
        return obj

    def fit(self, data=None, frequency=None, monetary_value=None, weights=None,
            max_iter=None, tol=None, std_errors=None, *, progress=None):
        """Fit by maximum likelihood on a customer table or arrays; returns self.

        Also lifetimes' order: ``fit(frequency, monetary_value[, weights])`` with
        arrays, as ``GammaGammaFitter().fit(t["frequency"], t["monetary_value"])``.
        One-time buyers and non-positive spends are left out of the fit
        (``excluded_``).

        Parameters
        ----------
        data : pandas.DataFrame or array_like, optional
            A customer table with frequency and monetary_value columns, or (lifetimes'
            order) the frequency array.
        frequency, monetary_value : str or array_like, optional
            Column names in `data` or the arrays (in lifetimes' order: the
            monetary_value array and the weights).
        weights : str or array_like, optional
            Customers per row.
        max_iter, tol : optional
            Optimiser limits (None: the constructor's, then C's defaults).
        std_errors : bool, optional
            Compute standard errors (None: the constructor's, default True).
        progress : bool, optional
            Keyword only: elapsed-time feedback while fitting over more than 200,000
            rows (None: after 1.5 s; False: never; True: at once).

        Returns
        -------
        GammaGamma
            self, fitted.

        Raises
        ------
        churn.ConvergenceError
            No convergence (the partial fit is in ``.model``).

        Examples
        --------
        >>> t = churn.simulate_summary(1000, model="bgnbd", seed=1, unit="week")
        >>> t["monetary_value"] = t["mean_spend"].fillna(0.0)
        >>> gg = churn.GammaGamma().fit(t["frequency"], t["monetary_value"])
        >>> gg.params_.index.tolist()
        ['p', 'q', 'gamma']
        """
        from ._btyd import _is_column
        if _is_column(data):  # lifetimes: fit(frequency, monetary_value, weights)
            if monetary_value is not None and weights is not None:
                raise TypeError("weights given twice (third array and weights=)")
            data, frequency, monetary_value, weights = (None, data, frequency,
                                                        weights if weights is not None
                                                        else monetary_value)
        x, z = _spend_columns(data, frequency, monetary_value)
        w = None
        if weights is not None:
            w = as_f64(data[weights] if isinstance(weights, str) else weights, "weights",
                       x.shape[0])
        max_iter = self.__dict__.get("max_iter") if max_iter is None else max_iter
        tol = self.__dict__.get("tol") if tol is None else tol
        if std_errors is None:
            std_errors = self.__dict__.get("std_errors", True)
        o = GammaGammaOptions()
        _gg_init(ctypes.byref(o))
        o.max_iter = int(max_iter or 0)
        o.tol = float(tol or 0.0)
        o.no_std_errors = 0 if std_errors else 1
        h = c_void_p()
        from ._estimator import fit_feedback
        with fit_feedback(self, x.shape[0], progress):
            rc = _gg_fit(ctypes.byref(h), x.shape[0], ptr(x), ptr(z), ptr(w),
                         ctypes.byref(o))
        if rc == ENOCONV and h.value:
            err = error_for(rc)
            err.model = type(self)()._set_handle(h.value)
            raise err
        check(rc)
        self._set_handle(h.value)
        return self._record_unit(data)

    def expected_spend(self, data=None, frequency=None, monetary_value=None):
        """Conditional expected mean spend per transaction E[Z | x, zbar].

        Parameters
        ----------
        data : pandas.DataFrame or array_like, optional
            A customer table, or (lifetimes' order) the frequency array.
        frequency, monetary_value : str or array_like, optional
            Column names in `data` or the arrays (lifetimes' order: monetary_value
            second).

        Returns
        -------
        pandas.Series or numpy.ndarray
            Expected spend per transaction, indexed like `data`.

        Examples
        --------
        >>> gg = churn.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
        >>> np.round(gg.expected_spend(np.array([2.0]), np.array([40.0])), 2)
        array([39.14])
        """
        from ._btyd import _is_column
        if _is_column(data):
            data, frequency, monetary_value = None, data, frequency
        x, z = _spend_columns(data, frequency, monetary_value)
        out = empty(x.shape[0])
        check(_gg_expected(self._require(), x.shape[0], ptr(x), ptr(z), ptr(out)))
        return _series(out, data, "expected_spend")

    predict = expected_spend

    def conditional_expected_average_profit(self, frequency=None, monetary_value=None):
        """lifetimes' name of :meth:`expected_spend` (GammaGammaFitter's).

        Parameters
        ----------
        frequency, monetary_value : array_like or pandas.DataFrame
            The arrays in lifetimes' order, or a customer table as `frequency`.

        Returns
        -------
        pandas.Series or numpy.ndarray
            Expected spend per transaction.

        Examples
        --------
        >>> gg = churn.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
        >>> np.round(gg.conditional_expected_average_profit([2.0], [40.0]), 2)
        array([39.14])
        """
        if hasattr(frequency, "columns") or isinstance(frequency, dict):
            return self.expected_spend(frequency)
        return self.expected_spend(None, frequency, monetary_value)

    def customer_lifetime_value(self, transaction_prediction_model, frequency, recency, T,
                                monetary_value, time=12, discount_rate=0.01, freq="D"):
        """lifetimes' CLV call (GammaGammaFitter.customer_lifetime_value) on :func:`clv`.

        `time` monthly steps of `freq`'s month (30 days, 4.345 weeks, 1 month or 720
        hours, lifetimes' factors), each step's expected purchases times the expected
        spend, discounted by ``(1 + discount_rate) ** step``; the same sum as
        ``churn.clv(model, self, ..., horizon=time, period=factor,
        discount=discount_rate)["clv"]``.

        Parameters
        ----------
        transaction_prediction_model : BGNBD, MBGNBD or ParetoNBD
            A fitted purchase model.
        frequency, recency, T, monetary_value : array_like
            Per-customer arrays (or Series) in the purchase model's time unit.
        time : int, default 12
            Number of months.
        discount_rate : float, default 0.01
            Monthly discount rate.
        freq : {'D', 'W', 'M', 'H'}, default 'D'
            The time unit of recency and T: day, week, month or hour.

        Returns
        -------
        pandas.Series
            The CLV per customer, named 'clv' (indexed like `frequency` when it is a
            Series).

        Examples
        --------
        >>> bg = churn.BGNBD.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259)
        >>> gg = churn.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
        >>> v = gg.customer_lifetime_value(bg, [2.0], [30.43], [38.86], [40.0], freq="W")
        >>> bool(v.iloc[0] > 0), v.name
        (True, 'clv')
        """
        import pandas as pd
        factors = {"W": 4.345, "M": 1.0, "D": 30.0, "H": 30.0 * 24}
        if freq not in factors:
            raise ValueError(f"freq: '{freq}' is not one of D, W, M, H")
        data = pd.DataFrame({"frequency": np.asarray(frequency, dtype=float),
                             "recency": np.asarray(recency, dtype=float),
                             "T": np.asarray(T, dtype=float),
                             "monetary_value": np.asarray(monetary_value, dtype=float)},
                            index=frequency.index if isinstance(frequency, pd.Series)
                            else None)
        out = clv(transaction_prediction_model, self, data, horizon=int(time),
                  period=factors[freq], discount=discount_rate)
        return out["clv"]

    @property
    def mean_spend_(self):
        """Population mean spend per transaction p * gamma / (q - 1)."""
        v = c_double()
        check(_gg_mean(self._require(), ctypes.byref(v)))
        return v.value

    @property
    def freq_monetary_corr_(self):
        """Correlation of frequency and monetary value over the fitted rows (NaN when undefined);
        the model assumes independence.
        """
        v = c_double()
        rc = _gg_corr(self._require(), ctypes.byref(v))
        if rc != 0:
            return float("nan")
        return v.value

    @property
    def excluded_(self):
        """Rows left out of the fit: {'one_time': ..., 'nonpositive': ...}."""
        a, b = c_double(), c_double()
        check(_gg_excluded(self._require(), ctypes.byref(a), ctypes.byref(b)))
        return {"one_time": a.value, "nonpositive": b.value}

    def predict_frame(self, data, frequency="frequency", monetary_value="monetary_value"):
        """Scores as `churn predict` writes them for a spend model: expected_spend.

        Parameters
        ----------
        data : pandas.DataFrame
            A customer table.
        frequency, monetary_value : str or array_like
            Column names in `data` or arrays.

        Returns
        -------
        pandas.DataFrame
            expected_spend, indexed like `data`.

        Examples
        --------
        >>> gg = churn.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
        >>> t = pd.DataFrame({"frequency": [2.0, 0.0], "monetary_value": [40.0, 0.0]})
        >>> gg.predict_frame(t)["expected_spend"].round(2).tolist()
        [39.14, 35.22]
        """
        import pandas as pd
        return pd.DataFrame({"expected_spend": np.asarray(
            self.expected_spend(data, frequency, monetary_value))}, index=data.index)


def _clv_options(horizon=12, period=None, discount=0.01, margin=1.0):
    o = ClvOptions()
    _clv_init(ctypes.byref(o))
    if isinstance(horizon, bool) or int(horizon) != horizon:
        raise TypeError(f"horizon: expected a whole number of periods, got {horizon!r}")
    o.horizon = int(horizon)
    o.period = 0.0 if period is None else float(period)
    o.discount = float(discount)
    o.margin = float(margin)
    return o


def clv(btyd, spend=None, data=None, *, frequency=None, recency=None, T=None,
        monetary_value=None, horizon=12, period=None, discount=0.01, margin=1.0, unit=None,
        interval=None, covariates=None):
    """Score customers for value in one pass (``churn_clv_score``), optionally with intervals.

    Parameters
    ----------
    btyd : BGNBD, MBGNBD, ParetoNBD, GGompertzNBD or MBGCNBDk
        A fitted purchase model.
    spend : GammaGamma, optional
        A fitted spend model, or None to take monetary_value as each customer's own
        expected spend.
    data : pandas.DataFrame, optional
        A customer table (frequency, recency, T, monetary_value), or pass the arrays.
    frequency, recency, T, monetary_value : str or array_like, optional
        Column names in `data` or arrays.
    horizon : int, default 12
        Number of discount periods.
    period : float, optional
        Length of a discount period in the model's time unit (None: one month
        converted with the model's unit; lifetimes uses 4.345 weeks).
    discount : float, default 0.01
        Discount rate per period.
    margin : float, default 1
        Profit margin applied to spend.
    unit : str or float, optional
        The data's time unit, for data that do not carry ``attrs["time_unit"]``.
    interval : float, optional
        Keyword only: a level strictly between 0 and 1 (e.g. 0.9) adds delta-method
        intervals from both models' covariance matrices (``churn_clv_interval``;
        docs/models/intervals.md): the columns p_alive_lo, p_alive_hi,
        expected_purchases_lo, expected_purchases_hi, expected_spend_lo,
        expected_spend_hi, clv_lo, clv_hi, value_at_risk_lo and value_at_risk_hi
        are appended. Both models need a covariance matrix (a fit with standard
        errors, not ``from_params``); with ``spend=None`` the given spend is taken
        as exact.
    covariates : pandas.DataFrame, optional
        Keyword only: for a model fitted with covariates, every customer's covariates
        (index = customer id as in `data`, or the same rows), matched to the model's by
        name; each customer is valued as the plain model at its own parameters
        (``churn_clv_score_covariates``). With `interval`, the intervals come from
        the covariance of every fitted parameter, coefficients included
        (``churn_clv_interval_covariates``).

    Returns
    -------
    pandas.DataFrame
        p_alive, p_churn, expected_purchases (over the whole horizon),
        expected_spend, clv and value_at_risk, indexed like `data`; with `interval`,
        the ten limit columns after them.

    Raises
    ------
    churn.UnitMismatchError
        The table's time unit (``data.attrs["time_unit"]`` or `unit`) differs from
        ``btyd.time_unit_``; the message names both.
    churn.ChurnError
        With `interval`: a level outside (0, 1), or a model without a covariance
        matrix (the message names the 'btyd' or 'spend' argument).

    Examples
    --------
    >>> bg = churn.BGNBD.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259, unit="week")
    >>> gg = churn.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
    >>> t = pd.DataFrame({"frequency": [2.0, 0.0], "recency": [30.43, 0.0],
    ...                   "T": [38.86, 38.86], "monetary_value": [40.0, 0.0]})
    >>> list(churn.clv(bg, gg, t, period=4.345).columns)
    ['p_alive', 'p_churn', 'expected_purchases', 'expected_spend', 'clv', 'value_at_risk']

    With 90% intervals from fitted models:

    >>> sim = churn.simulate_summary("bgnbd", 2000, seed=4)
    >>> sim["monetary_value"] = sim.mean_spend.fillna(0.0)
    >>> bg = churn.BGNBD().fit(sim)
    >>> gg = churn.GammaGamma().fit(sim)
    >>> v = churn.clv(bg, gg, sim.head(3), period=4.345, interval=0.9)
    >>> bool(((v.clv_lo < v.clv) & (v.clv < v.clv_hi)).all())
    True
    >>> list(v.columns[6:8])
    ['p_alive_lo', 'p_alive_hi']
    """
    import pandas as pd
    btyd.check_time_unit(data, unit)
    x, tx, T_ = _columns(data, frequency, recency, T)
    n = x.shape[0]
    if data is not None and (monetary_value is None or isinstance(monetary_value, str)):
        monetary_value = data[monetary_value or "monetary_value"]
    if monetary_value is None:
        raise TypeError("clv needs monetary_value (a column of the table or an array)")
    mv = as_f64(monetary_value, "monetary_value", n)
    o = _clv_options(horizon, period, discount, margin)
    pa, ep, es, cv, var = empty(n), empty(n), empty(n), empty(n), empty(n)
    cov = None
    if covariates is not None:
        from . import _covariates
        trans, life = _covariates.model_names(btyd)
        frame = _covariates.aligned(covariates, _index(data, n), n)
        keep = []
        cov = _covariates.make(frame, trans, life, n, keep)
        if interval is None:
            check(_clv_score_cov(btyd._require(),
                                 spend._require() if spend is not None else None,
                                 ctypes.byref(o), n, ptr(x), ptr(tx), ptr(T_), ptr(mv),
                                 ctypes.byref(cov), ptr(pa), ptr(ep), ptr(es), ptr(cv),
                                 ptr(var)))
            return pd.DataFrame({"p_alive": pa, "p_churn": 1.0 - pa, "expected_purchases": ep,
                                 "expected_spend": es, "clv": cv, "value_at_risk": var},
                                index=_index(data, n))
    if interval is not None:
        if isinstance(interval, bool):
            raise TypeError(f"interval: expected a level such as 0.9, got {interval!r}")
        out = ClvIntervals()
        _clv_intervals_init(ctypes.byref(out))
        cols = {}
        for q, point in (("p_alive", pa), ("expected_purchases", ep), ("expected_spend", es),
                         ("clv", cv), ("value_at_risk", var)):
            setattr(out, q, ptr(point))
            for e in ("_lo", "_hi"):
                cols[q + e] = empty(n)
                setattr(out, q + e, ptr(cols[q + e]))
        sp = spend._require() if spend is not None else None
        if cov is not None:
            check(_clv_interval_cov(btyd._require(), sp, ctypes.byref(o), float(interval), n,
                                    ptr(x), ptr(tx), ptr(T_), ptr(mv), ctypes.byref(cov),
                                    ctypes.byref(out)))
        else:
            check(_clv_interval(btyd._require(), sp, ctypes.byref(o), float(interval), n,
                                ptr(x), ptr(tx), ptr(T_), ptr(mv), ctypes.byref(out)))
        frame = {"p_alive": pa, "p_churn": 1.0 - pa, "expected_purchases": ep,
                 "expected_spend": es, "clv": cv, "value_at_risk": var}
        frame.update(cols)
        return pd.DataFrame(frame, index=_index(data, n))
    check(_clv_score(btyd._require(), spend._require() if spend is not None else None,
                     ctypes.byref(o), n, ptr(x), ptr(tx), ptr(T_), ptr(mv), ptr(pa), ptr(ep),
                     ptr(es), ptr(cv), ptr(var)))
    return pd.DataFrame({"p_alive": pa, "p_churn": 1.0 - pa, "expected_purchases": ep,
                         "expected_spend": es, "clv": cv, "value_at_risk": var},
                        index=_index(data, n))


def clv_bootstrap_interval(btyd, spend, fit_data, data=None, *, level=0.9, resamples=300,
                           seed=1, threads=1, horizon=12, period=None, discount=0.01,
                           margin=1.0, unit=None):
    """CLV scores with bootstrap intervals (``churn_clv_bootstrap_interval``).

    The customers the models were fitted to (`fit_data`) are resampled with
    replacement `resamples` times; the BTYD model's family and (when `spend` is given)
    a Gamma-Gamma model are refitted to each resample, the customers in `data` are
    scored with :func:`clv` and every pair of refits, and the limits are percentiles of
    those scores. The result depends on `seed` only, whatever the number of `threads`.

    Parameters
    ----------
    btyd : BGNBD, MBGNBD, ParetoNBD or GGompertzNBD
        A fitted purchase model (its family is refitted; its own scores are the point
        values).
    spend : GammaGamma or None
        A fitted spend model (refitted to the same resamples), or None to take
        monetary_value as each customer's exact expected spend.
    fit_data : pandas.DataFrame
        The customer table the models were fitted to (frequency, recency, T,
        monetary_value).
    data : pandas.DataFrame, optional
        The customers to score (default: `fit_data`).
    level : float, default 0.9
        Coverage of the intervals, strictly between 0 and 1.
    resamples : int, default 300
        Number of refits, 20..100000 (300 or more for 90% limits that hold their
        nominal rate; docs/models/intervals.md).
    seed : int, default 1
        Random seed.
    threads : int, default 1
        POSIX threads for the refits (the result does not depend on it).
    horizon, period, discount, margin
        As for :func:`clv`.
    unit : str or float, optional
        The tables' time unit when they do not carry ``attrs["time_unit"]``.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`clv` (p_alive, p_churn, expected_purchases,
        expected_spend, clv, value_at_risk) and the ten limit columns of
        ``clv(..., interval=level)`` after them, indexed like `data`;
        ``attrs["failed_resamples"]`` counts the resamples left out.

    Raises
    ------
    churn.ChurnError
        A bad option or row (named), or half the resamples could not be refitted.

    Examples
    --------
    >>> sim = churn.simulate_summary("bgnbd", 1000, seed=4)
    >>> sim["monetary_value"] = sim.mean_spend.fillna(0.0)
    >>> bg, gg = churn.BGNBD().fit(sim), churn.GammaGamma().fit(sim)
    >>> v = churn.clv_bootstrap_interval(bg, gg, sim, sim.head(3), resamples=40, threads=2,
    ...                                  period=4.345)
    >>> bool((v.clv_lo <= v.clv_hi).all())
    True
    """
    import pandas as pd
    btyd.check_time_unit(fit_data, unit)
    data = fit_data if data is None else data
    btyd.check_time_unit(data, unit)

    def arrays(frame):
        x, tx, T_ = _columns(frame, None, None, None)
        return x, tx, T_, as_f64(frame["monetary_value"], "monetary_value", x.shape[0])

    xf, txf, Tf, zf = arrays(fit_data)
    x, tx, T_, mv = arrays(data)
    n = x.shape[0]
    o = _clv_options(horizon, period, discount, margin)
    bo = BootstrapOptions()
    _boot_init(ctypes.byref(bo))
    bo.resamples, bo.seed, bo.threads, bo.level = int(resamples), int(seed), int(threads), \
        float(level)
    out = ClvIntervals()
    _clv_intervals_init(ctypes.byref(out))
    cols = {}
    for q in ("p_alive", "expected_purchases", "expected_spend", "clv", "value_at_risk"):
        for e in ("", "_lo", "_hi"):
            cols[q + e] = empty(n)
            setattr(out, q + e, ptr(cols[q + e]))
    failed = c_size_t(0)
    check(_clv_bootstrap(btyd._require(), spend._require() if spend is not None else None,
                         ctypes.byref(o), xf.shape[0], ptr(xf), ptr(txf), ptr(Tf), ptr(zf), n,
                         ptr(x), ptr(tx), ptr(T_), ptr(mv), ctypes.byref(bo),
                         ctypes.byref(out), ctypes.byref(failed)))
    frame = {"p_alive": cols["p_alive"], "p_churn": 1.0 - cols["p_alive"]}
    for q in ("expected_purchases", "expected_spend", "clv", "value_at_risk"):
        frame[q] = cols[q]
    for q in ("p_alive", "expected_purchases", "expected_spend", "clv", "value_at_risk"):
        frame[q + "_lo"], frame[q + "_hi"] = cols[q + "_lo"], cols[q + "_hi"]
    res = pd.DataFrame(frame, index=_index(data, n))
    res.attrs["failed_resamples"] = failed.value
    return res


def discounted_purchases(btyd, data=None, *, frequency=None, recency=None, T=None, horizon=12,
                         period=None, discount=0.01, unit=None):
    """Discounted expected purchases over the horizon (the CLV without spend).

    Parameters
    ----------
    btyd : BGNBD, MBGNBD, ParetoNBD, GGompertzNBD or MBGCNBDk
        A fitted purchase model.
    data : pandas.DataFrame, optional
        A customer table, or pass the arrays.
    frequency, recency, T : str or array_like, optional
        Column names in `data` or arrays.
    horizon, period, discount
        As for :func:`clv`.
    unit : str or float, optional
        The data's time unit, for data that do not carry ``attrs["time_unit"]``.

    Returns
    -------
    pandas.Series or numpy.ndarray

    Raises
    ------
    churn.UnitMismatchError
        The data's time unit differs from the model's; the message names both.

    Examples
    --------
    >>> bg = churn.BGNBD.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259, unit="week")
    >>> d = churn.discounted_purchases(bg, frequency=[2.0], recency=[30.43], T=[38.86],
    ...                                period=4.345)
    >>> bool(0 < d[0] < bg.expected_purchases(52, [2.0], [30.43], [38.86])[0])
    True
    """
    btyd.check_time_unit(data, unit)
    x, tx, T_ = _columns(data, frequency, recency, T)
    o = _clv_options(horizon, period, discount)
    out = empty(x.shape[0])
    check(_clv_discounted(btyd._require(), ctypes.byref(o), x.shape[0], ptr(x), ptr(tx),
                          ptr(T_), ptr(out)))
    return _series(out, data, "discounted_purchases")


def dert(btyd, delta, data=None, *, frequency=None, recency=None, T=None, unit=None,
         covariates=None):
    """Discounted expected residual transactions (DERT).

    Parameters
    ----------
    btyd : BGNBD, MBGNBD, ParetoNBD, GGompertzNBD or MBGCNBDk
        A fitted purchase model, with or without static covariates.
    delta : float
        Continuously compounded discount rate per model time unit (from d per period
        of P units: log(1 + d) / P).
    data : pandas.DataFrame, optional
        A customer table, or pass the arrays.
    frequency, recency, T : str or array_like, optional
        Column names in `data` or arrays.
    unit : str or float, optional
        The data's time unit, for data that do not carry ``attrs["time_unit"]``.
    covariates : pandas.DataFrame, optional
        For a model fitted with covariates: the customers' covariates (columns named as
        in the fit, aligned by index with `data`, or row for row with the arrays). Each
        customer's DERT is then the plain model's at the customer's own parameters
        (``churn_dert_covariates``).

    Returns
    -------
    pandas.Series or numpy.ndarray

    Raises
    ------
    churn.UnitMismatchError
        The data's time unit differs from the model's; the message names both.

    Examples
    --------
    >>> bg = churn.BGNBD.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259, unit="week")
    >>> v = churn.dert(bg, np.log(1.15) / 52, frequency=[2.0, 0.0], recency=[30.43, 0.0],
    ...                T=[38.86, 38.86])
    >>> bool(v[0] > v[1] > 0)
    True
    """
    btyd.check_time_unit(data, unit)
    x, tx, T_ = _columns(data, frequency, recency, T)
    n = x.shape[0]
    out = empty(n)
    if covariates is not None:
        from . import _covariates
        trans, life = _covariates.model_names(btyd)
        frame = _covariates.aligned(covariates, _index(data, n), n)
        keep = []
        cov = _covariates.make(frame, trans, life, n, keep)
        check(_dert_cov(btyd._require(), float(delta), n, ptr(x), ptr(tx), ptr(T_),
                        ctypes.byref(cov), ptr(out)))
    else:
        check(_dert(btyd._require(), float(delta), n, ptr(x), ptr(tx), ptr(T_), ptr(out)))
    return _series(out, data, "dert")


def clv_contractual(sbg, value_per_period, discount, periods):
    """Contractual CLV from an sBG model: value per period x DERL.

    Parameters
    ----------
    sbg : SBG
        A fitted shifted-beta-geometric model.
    value_per_period : float
        Margin per period of a customer.
    discount : float
        Discount rate per period.
    periods : array_like
        Renewals each customer has made so far.

    Returns
    -------
    numpy.ndarray
        The expected discounted residual value per customer.

    Examples
    --------
    >>> sbg = churn.SBG.from_params(alpha=0.704, beta=1.182)
    >>> v = churn.clv_contractual(sbg, 100.0, 0.1, [1, 5])
    >>> bool(v[1] > v[0])                 # survivors of more renewals are worth more
    True
    """
    p = as_f64(periods, "periods")
    out = empty(p.shape[0])
    check(_clv_contractual(sbg._require(), float(value_per_period), float(discount),
                           p.shape[0], ptr(p), ptr(out)))
    return _series(out, periods, "clv")


def tier_name(tier):
    """The name of a value tier code: 1 'key', 2 'important', 3 'ordinary'.

    Parameters
    ----------
    tier : int
        A tier code.

    Returns
    -------
    str
        The name ('' for anything else).

    Examples
    --------
    >>> churn.tier_name(1), churn.tier_name(3), churn.tier_name(7)
    ('key', 'ordinary', '')
    """
    return _tier_name(int(tier)).decode()


def assign_tiers(value, key_fraction=0.2, important_fraction=0.3, names=True):
    """Value tiers by any value (e.g. CLV) with the customer table's rule.

    The top `key_fraction` of customers by value are 'key', the next
    `important_fraction` 'important', the rest 'ordinary'.

    Parameters
    ----------
    value : array_like or pandas.Series
        The value per customer.
    key_fraction : float, default 0.2
        Share of customers in the key tier.
    important_fraction : float, default 0.3
        Share of customers in the important tier.
    names : bool, default True
        Tier names, or the codes 1/2/3.

    Returns
    -------
    tuple
        (tiers, key_share): the tiers (a Series indexed like `value` when it is one)
        and the share of the total value held by the key tier.

    Examples
    --------
    >>> tiers, share = churn.assign_tiers([100.0, 50, 20, 10, 5, 5, 4, 3, 2, 1])
    >>> list(tiers[:4]), round(share, 3)
    (['key', 'key', 'important', 'important'], 0.75)
    """
    import pandas as pd
    v = as_f64(value, "value")
    tier = np.empty(v.shape[0], dtype=np.intc)
    share = c_double()
    check(_tiers_assign(v.shape[0], ptr(v), float(key_fraction), float(important_fraction),
                        tier.ctypes.data_as(_lib.c_int_p), ctypes.byref(share)))
    idx = _index(value, v.shape[0])
    if names:
        cat = pd.Categorical.from_codes(tier - 1, ["key", "important", "ordinary"])
        out = pd.Series(cat, index=idx, name="tier")
    else:
        out = pd.Series(tier.astype(np.int64), index=idx, name="tier")
    return out, share.value


class Alerts:
    """A set of alert rules ("field op threshold") evaluated per customer in C.

    ``Alerts(["dormant: p_alive < 0.2"], defaults=True)`` adds the standard three rules
    (p_alive_low, overdue, spend_down) then the given ones.

    Parameters
    ----------
    rules : str or sequence of str, optional
        Rules as text: '[name:] field op threshold', op one of < <= > >= == !=.
    defaults : bool, default False
        Start with the standard three rules.

    Examples
    --------
    >>> a = churn.Alerts(["dormant: p_alive < 0.2"], defaults=True)
    >>> len(a), a.rules["name"].tolist()[-1]
    (4, 'dormant')
    """

    def __init__(self, rules=(), defaults=False):
        h = c_void_p()
        check(_alerts_new(ctypes.byref(h)))
        self._h = h.value
        if defaults:
            check(_alerts_add_defaults(self._h))
        for r in ([rules] if isinstance(rules, str) else rules):
            self.add(r)

    def __del__(self):
        h, self._h = getattr(self, "_h", None), None
        if h:
            _alerts_free(h)

    # pickling / copying: the rules, never the C handle
    def __getstate__(self):
        return {"rules": self.rules.to_dict("records")}

    def __setstate__(self, state):
        h = c_void_p()
        check(_alerts_new(ctypes.byref(h)))
        self._h = h.value
        for r in state["rules"]:
            self.add(r["name"], r["field"], r["op"], r["threshold"])

    def add(self, rule, field=None, op=None, threshold=None):
        """Add a rule as text, or as (name, field, op, threshold); returns self.

        Parameters
        ----------
        rule : str
            '[name:] field op threshold', or the rule's name when `field` is given.
        field : str, optional
            The column the rule tests.
        op : {'<', '<=', '>', '>=', '==', '!='}, optional
            The comparison.
        threshold : float, optional
            The value compared with.

        Returns
        -------
        Alerts
            self.

        Examples
        --------
        >>> a = churn.Alerts().add("big: clv > 500").add("late", "overdue_ratio", ">", 2)
        >>> a.rules["field"].tolist()
        ['clv', 'overdue_ratio']
        """
        if field is None:
            check(_alerts_add_text(self._h, str(rule).encode()))
        else:
            if op not in _OPS:
                raise ValueError(f"op: '{op}' is not one of {' '.join(_OPS)}")
            check(_alerts_add(self._h, str(rule).encode(), str(field).encode(), _OPS[op],
                              float(threshold)))
        return self

    def __len__(self):
        return _alerts_num_rules(self._h)

    @property
    def rules(self):
        """The rules as a DataFrame (name, field, op, threshold)."""
        import pandas as pd
        inv = {v: k for k, v in _OPS.items()}
        rows = []
        for i in range(len(self)):
            name, field, op, thr = c_char_p(), c_char_p(), c_int(), c_double()
            check(_alerts_rule(self._h, i, ctypes.byref(name), ctypes.byref(field),
                               ctypes.byref(op), ctypes.byref(thr)))
            rows.append({"name": name.value.decode(), "field": field.value.decode(),
                         "op": inv.get(op.value, "?"), "threshold": thr.value})
        return pd.DataFrame(rows, columns=["name", "field", "op", "threshold"])

    def evaluate(self, data):
        """Evaluate every rule on the numeric columns of `data`, in C.

        Parameters
        ----------
        data : pandas.DataFrame or dict of arrays
            The customers; non-numeric columns are ignored. A NaN never fires a rule.

        Returns
        -------
        numpy.ndarray
            Bit masks (uint64): bit i set when rule i fired for the row.

        Examples
        --------
        >>> a = churn.Alerts(["low: p_alive < 0.2", "big: clv > 100"])
        >>> a.evaluate(pd.DataFrame({"p_alive": [0.1, 0.5], "clv": [150.0, 10.0]})).tolist()
        [3, 0]
        """
        names, arrays = [], []
        n = None
        for k in data.keys():
            col = data[k]
            a = np.asarray(col.to_numpy() if hasattr(col, "to_numpy") else col)
            if a.dtype.kind not in "biuf" or a.ndim != 1:
                continue
            a = np.ascontiguousarray(a, dtype=np.float64)
            if n is None:
                n = a.shape[0]
            elif a.shape[0] != n:
                raise ValueError(f"column '{k}': length {a.shape[0]} does not match {n}")
            names.append(str(k).encode())
            arrays.append(a)
        if n is None:
            raise ValueError("evaluate: no numeric column")
        cnames = (c_char_p * len(names))(*names)
        cols = (_d * len(arrays))(*[ptr(a) for a in arrays])
        fired = np.zeros(n, dtype=np.uint64)
        check(_alerts_evaluate(self._h, n, len(names), cnames, cols,
                               fired.ctypes.data_as(POINTER(c_uint64))))
        return fired

    def evaluate_state(self, state, cutoff, scores=None):
        """Evaluate every rule for one customer on the per-order path.

        Parameters
        ----------
        state : churn.CustomerState
            The customer's incremental state; its columns (e.g. ``overdue_ratio``) are
            read as of `cutoff`.
        cutoff : str, datetime or float
            A date or epoch seconds.
        scores : dict, optional
            The customer's scores by name (e.g. ``{"p_alive": 0.2, "clv": 31.0}``); a name
            here wins over a state column of the same name.

        Returns
        -------
        tuple of int
            ``(fired, skipped)`` bit masks: bit i of `skipped` is set when rule i tests a
            column the state cannot give (such as ``spend_trend`` of the default rule
            ``spend_down``) and `scores` does not hold it; such a rule is not evaluated
            (``churn_alerts_evaluate_state``).

        Examples
        --------
        >>> a = churn.Alerts(["low: p_alive < 0.2"])
        >>> s = churn.CustomerState()
        >>> s = s.add("2024-01-05", 20.0)
        >>> a.evaluate_state(s, "2024-06-30", {"p_alive": 0.1})
        (1, 0)
        """
        from ._dates import time_arg
        scores = scores or {}
        names = (c_char_p * max(len(scores), 1))(*[str(k).encode() for k in scores])
        vals = np.ascontiguousarray([float(v) for v in scores.values()] or [0.0])
        fired, skipped = c_uint64(), c_uint64()
        check(_alerts_eval_state(self._h, ctypes.addressof(state._s), time_arg(cutoff, "cutoff"),
                                 len(scores), names, ptr(vals), ctypes.byref(fired),
                                 ctypes.byref(skipped)))
        return fired.value, skipped.value

    @property
    def needs_history(self):
        """Bit mask of the rules a customer state alone cannot evaluate
        (``churn_alerts_needs_history``).
        """
        m = c_uint64()
        check(_alerts_needs_history(self._h, ctypes.byref(m)))
        return m.value

    def describe(self, mask):
        """Names of the rules set in `mask`, joined with ';'.

        Parameters
        ----------
        mask : int
            A bit mask from :meth:`evaluate`.

        Returns
        -------
        str
            The rule names ('' for 0).

        Examples
        --------
        >>> a = churn.Alerts(["low: p_alive < 0.2", "big: clv > 100"])
        >>> a.describe(3)
        'low;big'
        """
        need = c_size_t(0)
        rc = _alerts_describe(self._h, int(mask), None, 0, ctypes.byref(need))
        if rc not in (0, ERANGE):
            check(rc)
        buf = ctypes.create_string_buffer(max(need.value, 1))
        check(_alerts_describe(self._h, int(mask), buf, need.value, None))
        return buf.value.decode()

    def labels(self, data):
        """The fired rule names per row (';'-joined strings), as a pandas Series.

        Parameters
        ----------
        data : pandas.DataFrame
            The customers (as for :meth:`evaluate`).

        Returns
        -------
        pandas.Series
            Named 'alerts', indexed like `data`.

        Examples
        --------
        >>> a = churn.Alerts(["low: p_alive < 0.2", "big: clv > 100"])
        >>> a.labels(pd.DataFrame({"p_alive": [0.1, 0.5], "clv": [150.0, 10.0]})).tolist()
        ['low;big', '']
        """
        import pandas as pd
        fired = self.evaluate(data)
        cache = {}
        out = []
        for m in fired.tolist():
            if m not in cache:
                cache[m] = self.describe(m)
            out.append(cache[m])
        return pd.Series(out, index=getattr(data, "index", None), name="alerts", dtype=object)

    def __repr__(self):
        return f"<Alerts: {len(self)} rules>"


DEFAULT_UNIT = "day"  # one default for customer_table, retention_report, compare_models


def _is_customer_table(data, time="date"):
    """A DataFrame that is a customer table (frequency, recency, T columns, no
    transaction time column), not transactions."""
    if not hasattr(data, "columns"):
        return False
    cols = set(map(str, data.columns))
    return {"frequency", "recency", "T"} <= cols and (time is None or time not in cols)


def _fitted(model, kinds, what):
    """`model` when it is a fitted instance of one of `kinds`, else None."""
    if isinstance(model, str):
        return None
    if not isinstance(model, kinds):
        raise TypeError(f"{what}: expected a family name or a fitted "
                        f"{' or '.join(k.__name__ for k in kinds)}, got "
                        f"{type(model).__name__}")
    model._require()
    return model


def retention_report(data, cutoff=None, unit=None, model="bgnbd", horizon=12, period=None,
                     discount=0.01, margin=1.0, alerts=(), default_alerts=True,
                     trend_window=None, *, customer="customer_id", time="date",
                     amount="amount", date_format="auto", dayfirst=None, spend_model=None,
                     progress=None):
    """The retention report (as `churn report`): the ranked retention list.

    From transactions: builds the customer table as of `cutoff`, fits the purchase
    model and the Gamma-Gamma spend model, and values every customer. From a customer
    table (index = customer id, as :func:`churn.customer_table` returns it) the table
    is used as it is; and a purchase `model` (and `spend_model`) already fitted is used
    as it is, never refitted -- so the report of a notebook's own models is one call.

    Parameters
    ----------
    data : TransactionLog, pandas.DataFrame of transactions, or customer table
        Transactions (a DataFrame with the `customer`, `time`, `amount` columns), or a
        customer table: a DataFrame with frequency, recency, T and monetary_value
        columns and no `time` column (more columns feed the alert rules).
    cutoff : date, optional
        End of calibration for transactions (default: the last day of the log);
        ignored for a customer table, which has its own (``attrs["cutoff"]``).
    unit : str or float, optional
        Time unit of the table and the models. Default: the unit the data or the
        fitted model carry (a table's ``attrs["time_unit"]``, ``model.time_unit_``),
        else ``"day"``, the default of :func:`churn.customer_table` (before this
        release the default here was "week"; pass ``unit="week"`` for the old table
        columns -- the probabilities, CLV, value at risk and ranking do not depend on
        the unit).
    model : {'bgnbd', 'mbgnbd', 'pnbd'} or a fitted BGNBD, MBGNBD or ParetoNBD
        The purchase model: a family to fit, or a fitted model used as it is.
    horizon, period, discount, margin
        The CLV settings of :func:`clv` (`period` None: one month in `unit`).
    alerts : sequence of str, optional
        Extra alert rules; `default_alerts` adds the standard three.
    default_alerts : bool, default True
        Add the standard rules (on a customer table without their fields, e.g.
        overdue_ratio, those rules are left out and ``attrs["alerts_skipped"]`` names
        them; a rule of your own on a missing field is a KeyError).
    trend_window : float, optional
        Window of the trend columns, in days (transactions only).
    customer, time, amount : str
        Column names of a DataFrame of transactions.
    date_format : str, default "auto"
        How to read the dates, as in :func:`churn.customer_table`.
    dayfirst : bool, optional
        Day-first dates, as in :func:`churn.customer_table`.
    spend_model : GammaGamma, optional
        Keyword only: a fitted spend model used as it is (default: fit one).
    progress : bool, optional
        Keyword only: feedback while fitting over many customers (see
        :meth:`churn.BGNBD.fit`).

    Returns
    -------
    RetentionReport
        A pandas DataFrame (with ``to_html()``: the page of ``churn report --html``),
        indexed by customer id, sorted by value_at_risk (largest first; ties keep the
        table order): frequency, recency, T, monetary_value, p_alive, p_churn,
        expected_purchases, expected_spend, clv, value_at_risk, tier
        ('key'/'important'/'ordinary' by CLV: top 20% / next 30%) and alerts (fired
        rule names joined with ';'). ``df.attrs`` holds the models ('model',
        'spend_model'), 'key_share', 'cutoff', 'time_unit' and the CLV settings.

    Raises
    ------
    ValueError
        ``amount=None`` (transactions without amounts): the report needs spend; a log
        without amounts fails the spend model with "the spend is unknown".
    churn.UnitMismatchError
        A fitted model of another time unit than the table's or `unit`.

    Examples
    --------
    >>> t = churn.simulate_summary(500, model="bgnbd", seed=3, unit="week")
    >>> t["monetary_value"] = np.where(t["frequency"] > 0, t["mean_spend"], 0.0)
    >>> bg = churn.BGNBD().fit(t, unit="week")
    >>> r = churn.retention_report(t, model=bg, unit="week")
    >>> r.attrs["model"] is bg, list(r.columns[:4])
    (True, ['frequency', 'recency', 'T', 'monetary_value'])
    """
    import pandas as pd
    from ._btyd import BGNBD, MBGNBD, ParetoNBD
    from ._customers import customer_table, time_unit_days
    from ._units import data_unit
    if amount is None:
        raise ValueError("retention_report values customers by their spend (CLV, value at "
                         "risk, tiers) and needs amounts, but amount=None says the "
                         "transactions have none: the spend is missing. Without amounts fit "
                         "a BTYD model (e.g. churn.BGNBD) for P(alive) and expected purchases")
    classes = {"bgnbd": BGNBD, "mbgnbd": MBGNBD, "pnbd": ParetoNBD}
    bt = _fitted(model, (BGNBD, MBGNBD, ParetoNBD), "model")
    if bt is None and model not in classes:
        raise ValueError(f"model: '{model}' is not bgnbd, mbgnbd or pnbd")
    gg = None if spend_model is None else _fitted(spend_model, (GammaGamma,), "spend_model")
    rules = Alerts(alerts, defaults=default_alerts)  # bad rules fail before any work
    is_table = _is_customer_table(data, time)
    if is_table:
        table = data
        unit_days = data_unit(table, unit)
    else:
        unit_days = None if unit is None else time_unit_days(unit)
    if unit_days is None:
        known = [m.time_unit_ for m in (bt, gg) if m is not None and m.time_unit_ > 0]
        unit_days = known[0] if known else time_unit_days(DEFAULT_UNIT)
    if not is_table:
        table = customer_table(data, cutoff=cutoff, unit=unit_days, trend_window=trend_window,
                               customer=customer, time=time, amount=amount,
                               date_format=date_format, dayfirst=dayfirst)
    if len(table) == 0:
        raise ValueError("no customer has an order on or before the cutoff")
    if "monetary_value" not in table.columns:
        raise KeyError("column 'monetary_value' not found: the report values customers by "
                       "their spend (build the table from transactions with amounts)")
    if bt is None:
        try:
            bt = classes[model]().fit(table, unit=unit_days, progress=progress)
        except Exception as e:  # keep going on non-convergence, as the command does
            if getattr(e, "model", None) is None:
                raise
            bt = e.model
        bt.set_time_unit(unit_days)
    else:
        bt.check_time_unit(table, unit_days)
    if gg is None:
        try:
            gg = GammaGamma().fit(table)
        except Exception as e:
            if getattr(e, "model", None) is None:
                raise
            gg = e.model
        gg.set_time_unit(unit_days)
    if period is None:
        period = 30.4375 / unit_days
    scores = clv(bt, gg, table, horizon=horizon, period=period, discount=discount,
                 margin=margin, unit=unit_days)
    tiers, key_share = assign_tiers(scores["clv"], 0.2, 0.3)
    fields = pd.concat([table, scores], axis=1)
    skipped = []
    if len(rules):
        have = set(map(str, fields.columns))
        spec = rules.rules
        missing = spec[~spec["field"].isin(have)]
        if len(missing):
            given = Alerts(alerts)
            own = set(given.rules["name"]) if len(given) else set()
            mine = missing[missing["name"].isin(own)]
            if len(mine):
                r = mine.iloc[0]
                raise KeyError(f"alerts: rule '{r['name']}' reads column '{r['field']}', "
                               f"which the customer table does not have")
            skipped = list(missing["name"])
            kept = spec[spec["field"].isin(have)]
            rules = Alerts()
            for r in kept.itertuples(index=False):
                rules.add(r.name, r.field, r.op, r.threshold)
    out = pd.concat([table[["frequency", "recency", "T", "monetary_value"]], scores], axis=1)
    out["tier"] = tiers
    out["alerts"] = rules.labels(fields)
    order = np.argsort(-out["value_at_risk"].to_numpy(), kind="stable")
    out = out.iloc[order]
    out.attrs.update({"model": bt, "spend_model": gg, "key_share": key_share,
                      "cutoff": table.attrs.get("cutoff"), "time_unit": unit_days,
                      "excluded": table.attrs.get("excluded"),
                      "alerts_skipped": skipped,
                      "clv_settings": {"horizon": horizon, "period": period,
                                       "discount": discount, "margin": margin}})
    return _report_html.as_report(out)  # issue 25: adds report.to_html()


__all__ = ["GammaGamma", "clv", "discounted_purchases", "dert", "clv_contractual",
           "assign_tiers", "tier_name", "Alerts", "retention_report"]
