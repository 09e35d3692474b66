"""Buy-till-you-die models: BG/NBD, MBG/NBD, Pareto/NBD, BG/BB, sBG."""
import ctypes

import numpy as np

from . import _lib
from ._arrays import as_f64, empty, optional_f64, ptr
from ._errors import ENOCONV, check, error_for
from ._estimator import fit_feedback
from ._model import Model, register

_vp = ctypes.c_void_p
_d = _lib.c_double_p


class BtydOptions(ctypes.Structure):
    """Mirror of churn_btyd_options."""

    _fields_ = [("struct_size", ctypes.c_size_t), ("max_iter", ctypes.c_int),
                ("tol", ctypes.c_double), ("l2_penalty", ctypes.c_double),
                ("no_std_errors", ctypes.c_int),
                # appended in libchurn 1.2 (churn_btyd_options_init@@CHURN_1.2 writes them)
                ("max_seconds", ctypes.c_double), ("max_evaluations", ctypes.c_int)]


_fit = _lib.fn("churn_btyd_fit", ctypes.c_int, ctypes.POINTER(_vp), ctypes.c_int, ctypes.c_size_t,
               _d, _d, _d, _d, ctypes.POINTER(BtydOptions))
_p_alive = _lib.fn("churn_btyd_p_alive", ctypes.c_int, _vp, ctypes.c_size_t, _d, _d, _d, _d)
_expected = _lib.fn("churn_btyd_expected_purchases", ctypes.c_int, _vp, ctypes.c_double,
                    ctypes.c_size_t, _d, _d, _d, _d)
_score = _lib.fn("churn_btyd_score", ctypes.c_int, _vp, ctypes.c_double, ctypes.c_size_t,
                 _d, _d, _d, _d, _d)
# the CLV's horizons in one pass (used through churn_clv_score by churn.clv)
_expected_path = _lib.fn("churn_btyd_expected_purchases_path", ctypes.c_int, _vp,
                         ctypes.c_size_t, _d, _d, _d, ctypes.c_size_t, _d, _d, _d)
_expected_new = _lib.fn("churn_btyd_expected_purchases_new", ctypes.c_int, _vp, ctypes.c_size_t,
                        _d, _d)
_prob = _lib.fn("churn_btyd_prob_purchases", ctypes.c_int, _vp, ctypes.c_double, ctypes.c_size_t,
                _d, _d)
_prob_cond = _lib.fn("churn_btyd_prob_purchases_cond", ctypes.c_int, _vp, ctypes.c_double,
                     ctypes.c_double, ctypes.c_size_t, _d, _d, _d, _d)
_pnbd_alive_at = _lib.fn("churn_pnbd_p_alive_at", ctypes.c_int, _vp, ctypes.c_double,
                         ctypes.c_size_t, _d, _d, _d, _d)
_bgbb_alive_at = _lib.fn("churn_bgbb_p_alive_at", ctypes.c_int, _vp, ctypes.c_double,
                         ctypes.c_size_t, _d, _d, _d, _d)
_sbg_fit = _lib.fn("churn_sbg_fit", ctypes.c_int, ctypes.POINTER(_vp), ctypes.c_size_t, _d,
                   _lib.c_int_p, _d, ctypes.POINTER(BtydOptions))
_sbg_fit_surv = _lib.fn("churn_sbg_fit_survivors", ctypes.c_int, ctypes.POINTER(_vp),
                        ctypes.c_size_t, _d, ctypes.POINTER(BtydOptions))
_sbg_curve = _lib.fn("churn_sbg_curve", ctypes.c_int, _vp, ctypes.c_size_t, _d, _d)
_sbg_derl = _lib.fn("churn_sbg_derl", ctypes.c_int, _vp, ctypes.c_double, ctypes.c_size_t, _d, _d)
_convert_unit = _lib.fn("churn_btyd_convert_time_unit", ctypes.c_int, _vp, ctypes.c_double)

_options_init = _lib.fn("churn_btyd_options_init", None, ctypes.POINTER(BtydOptions))
_model_new = _lib.fn("churn_btyd_model_new", ctypes.c_int, ctypes.POINTER(_vp), ctypes.c_int,
                     ctypes.c_size_t, _d)
_loglik = _lib.fn("churn_btyd_loglik", ctypes.c_int, ctypes.c_int, ctypes.c_size_t, _d,
                  ctypes.c_size_t, _d, _d, _d, _d, _d, _d)
_sbg_loglik = _lib.fn("churn_sbg_loglik", ctypes.c_int, ctypes.c_size_t, _d, ctypes.c_size_t,
                      _d, _lib.c_int_p, _d, _d, _d)


_FAMILY = {"bgnbd": 1, "mbgnbd": 2, "pnbd": 3, "bgbb": 4, "sbg": 5}
_PARAMS = {"bgnbd": ("r", "alpha", "a", "b"), "mbgnbd": ("r", "alpha", "a", "b"),
           "pnbd": ("r", "alpha", "s", "beta"), "bgbb": ("alpha", "beta", "gamma", "delta"),
           "sbg": ("alpha", "beta")}


def _from_params(cls, args, kwargs):
    names = _PARAMS[cls._family_name]
    kwargs = dict(kwargs)
    unit = kwargs.pop("unit", None)
    if args and kwargs:
        raise TypeError("pass the parameters by position or by name, not both")
    if kwargs:
        missing = [k for k in names if k not in kwargs]
        extra = [k for k in kwargs if k not in names]
        if missing or extra:
            raise TypeError(f"{cls.__name__}.from_params needs exactly {', '.join(names)}")
        args = [kwargs[k] for k in names]
    if len(args) == 1 and np.ndim(args[0]) == 1:
        args = list(args[0])
    v = as_f64(np.asarray(args, dtype=float), "params")
    h = _vp()
    check(_model_new(ctypes.byref(h), _FAMILY[cls._family_name], v.shape[0], ptr(v)))
    obj = cls()
    obj._set_handle(h.value)
    if unit is not None:
        obj.set_time_unit(unit)
    return obj


def loglik(family, params, data=None, frequency=None, recency=None, T=None, weights=None,
           gradient=False):
    """Weighted log-likelihood of a non-contractual BTYD family at `params`.

    Parameters
    ----------
    family : {'bgnbd', 'mbgnbd', 'pnbd', 'bgbb'}
        The family.
    params : array_like
        Natural-scale parameters in the family's order.
    data : pandas.DataFrame, optional
        A customer table, or pass the arrays.
    frequency, recency, T : str or array_like, optional
        Column names or arrays.
    weights : str or array_like, optional
        Customers per row.
    gradient : bool, default False
        Also return the gradient.

    Returns
    -------
    float or tuple
        The log-likelihood, or (log-likelihood, gradient array).

    Examples
    --------
    >>> round(churn.btyd_loglik("bgnbd", [0.25, 4, 0.8, 2.5], frequency=[0.0],
    ...                         recency=[0.0], T=[40.0]), 8)        # a peer's test point
    -0.59947382
    """
    if family not in ("bgnbd", "mbgnbd", "pnbd", "bgbb"):
        raise ValueError(f"family: '{family}' is not bgnbd, mbgnbd, pnbd or bgbb")
    x, tx, T_ = _columns(data, frequency, recency, T)
    w = None
    if weights is not None:
        w = as_f64(data[weights] if isinstance(weights, str) else weights, "weights",
                   x.shape[0])
    p = as_f64(params, "params")
    ll = ctypes.c_double()
    g = empty(p.shape[0]) if gradient else None
    check(_loglik(_FAMILY[family], p.shape[0], ptr(p), x.shape[0], ptr(x), ptr(tx), ptr(T_),
                  ptr(w), ctypes.byref(ll), ptr(g)))
    return (ll.value, g) if gradient else ll.value


def _options(l2=0.0, max_iter=None, tol=None, std_errors=True):
    o = BtydOptions()
    _options_init(ctypes.byref(o))
    o.max_iter = int(max_iter or 0)
    o.tol = float(tol or 0.0)
    o.l2_penalty = float(l2)
    o.no_std_errors = 0 if std_errors else 1
    return o


def _is_column(a):
    """True for a 1-D array-like given where a table is expected (lifetimes' order)."""
    if a is None or isinstance(a, (dict, str)) or hasattr(a, "columns"):
        return False
    return np.ndim(a) == 1


def _lifetimes_order(data, frequency, recency, T):
    """lifetimes' positional order, f(frequency, recency, T), maps onto ours,
    f(data, frequency, recency, T): a 1-D array in the `data` slot is the frequency and
    the next two are recency and T (a fourth array, T here, is refused)."""
    if not _is_column(data):
        return data, frequency, recency, T, None
    if T is not None and not isinstance(T, str):
        return None, data, frequency, recency, T
    if T is not None:
        raise TypeError("pass a customer table, or the frequency, recency and T arrays "
                        "(lifetimes' order), not arrays and column names")
    return None, data, frequency, recency, None


def _columns(data, frequency, recency, T, names=("frequency", "recency", "T")):
    """Take (frequency, recency, T) from a DataFrame/dict or explicit arrays; a 1-D
    array in the `data` slot starts lifetimes' positional order (frequency, recency,
    T)."""
    if _is_column(data):
        if T is not None:
            raise TypeError("four arrays given: pass frequency, recency and T (lifetimes' "
                            "order) or a customer table")
        data, frequency, recency, T = None, data, frequency, recency
        if frequency is None or recency is None or T is None:
            raise TypeError("lifetimes' order needs the frequency, recency and T arrays "
                            "(got an array where the customer table goes)")
    if data is not None:
        cols = []
        for given, name in zip((frequency, recency, T), names):
            key = given if isinstance(given, str) else name
            if given is not None and not isinstance(given, str):
                cols.append(given)
            else:
                if key == "T" and key not in data:  # BG/BB tables: periods or n
                    key = next((k for k in ("periods", "n") if k in data), key)
                if key not in data:
                    raise KeyError(f"column '{key}' not found (pass it by name or as an array)")
                cols.append(data[key])
        frequency, recency, T = cols
    if frequency is None or recency is None or T is None:
        raise TypeError("pass a customer table, or frequency, recency and T arrays")
    x = as_f64(frequency, "frequency")
    n = x.shape[0]
    return x, as_f64(recency, "recency", n), as_f64(T, "T", n)


def _index(data, n):
    """The pandas index of `data` (DataFrame/Series) when it has n rows, else None."""
    if not hasattr(data, "to_numpy"):
        return None
    idx = getattr(data, "index", None)
    return idx if idx is not None and len(idx) == n else None


def _series(values, data, name):
    import pandas as pd
    idx = _index(data, values.shape[0])
    if idx is None:
        return values
    return pd.Series(values, index=idx, name=name)


_DATA_DOC = """data : pandas.DataFrame or dict, optional
            A customer table with frequency, recency and T columns (or pass the
            arrays).
        frequency, recency, T : str or array_like, optional
            Column names in `data`, or the arrays themselves (in the model's time
            unit).
        unit : str or float, optional
            Keyword only: the time unit of the data ('day', 'week', 'month', 'year' or
            days), for data that do not carry it in ``attrs["time_unit"]``."""

_RAISES_DOC = """Raises
        ------
        churn.UnitMismatchError
            The data's time unit (``data.attrs["time_unit"]`` or `unit`) differs from
            the model's ``time_unit_``; the message names both.
        churn.ChurnValueError
            A bad value (the message names the row and column)."""


def _has_cov(model):
    """True for a fitted BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gompertz/NBD or MBG/CNBD-k
    model with covariate coefficients."""
    if getattr(model, "_family_name", None) not in ("bgnbd", "mbgnbd", "pnbd", "ggomnbd",
                                                    "mbgcnbd") or not model._h:
        return False
    from . import _covariates
    return _covariates.has_covariates(model)


class _Btyd(Model):
    """Shared behaviour of the (frequency, recency, T) models.

    Time units: a model fitted from a customer table records the table's unit
    (``time_unit_``); predictions on a table of another known unit raise
    :class:`churn.UnitMismatchError`. Arrays, and DataFrames without
    ``attrs["time_unit"]``, are taken to be in the model's unit (the caller owns it;
    declare it with ``unit=`` to have it checked).
    """

    def __init__(self, l2=0.0, max_iter=None, tol=None, std_errors=True, progress=None):
        super().__init__()
        self.l2 = l2
        self.max_iter = max_iter
        self.tol = tol
        self.std_errors = std_errors
        self.progress = progress

    @classmethod
    def from_params(cls, *args, **kwargs):
        """A model with known parameters (published estimates, a simulation truth).

        Parameters
        ----------
        *args, **kwargs : float
            The family's parameters by position or by name, e.g.
            ``BGNBD.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259)``.
        unit : str or float, optional
            Keyword only: the time unit the parameters refer to (recorded as
            ``time_unit_``, so that data of another unit are refused). Default unknown.

        Returns
        -------
        Model
            A fitted model of this class.

        Examples
        --------
        >>> bg = churn.BGNBD.from_params(r=0.2425945, alpha=4.4136019, a=0.7929199,
        ...                             b=2.4258881, unit="week")   # CDNOW, published
        >>> bg.time_unit_
        7.0
        """
        return _from_params(cls, args, kwargs)

    def _check(self, data, unit):
        self.check_time_unit(data, unit)

    def _arg(self, name, given, default):
        """A fit argument: given, else the constructor's, else the default."""
        if given is not None:
            return given
        v = getattr(self, name, None)
        return default if v is None else v

    def loglik(self, data=None, frequency=None, recency=None, T=None, weights=None, *,
               unit=None):
        """Log-likelihood of this model's parameters on the given customers.

        Parameters
        ----------
        %(data)s
        weights : str or array_like, optional
            Customers per row (a column name or an array).

        Returns
        -------
        float

        %(raises)s

        Examples
        --------
        >>> bg = churn.BGNBD.from_params(r=0.2425945, alpha=4.4136019, a=0.7929199,
        ...                             b=2.4258881, unit="week")   # CDNOW, published
        >>> m = churn.BGNBD.from_params(r=0.25, alpha=4.0, a=0.8, b=2.5)
        >>> round(m.loglik(frequency=[0.0], recency=[0.0], T=[40.0]), 8)   # a peer's value
        -0.59947382
        """
        self._check(data, unit)
        return loglik(self._family_name, self.params_.to_numpy(), data, frequency, recency,
                      T, weights)

    def predict_frame(self, data, horizon, frequency="frequency", recency="recency", T="T",
                      *, unit=None):
        """Scores as `churn predict` writes them.

        Parameters
        ----------
        data : pandas.DataFrame
            A customer table.
        horizon : float
            Length of the prediction window in the model's time unit.
        frequency, recency, T : str or array_like, optional
            Column names or arrays.
        unit : str or float, optional
            The data's time unit when it does not carry ``attrs["time_unit"]``.

        Returns
        -------
        pandas.DataFrame
            p_alive, p_churn and expected_purchases, indexed like `data`.

        %(raises)s

        Examples
        --------
        >>> bg = churn.BGNBD.from_params(r=0.2425945, alpha=4.4136019, a=0.7929199,
        ...                             b=2.4258881, unit="week")   # CDNOW, published
        >>> t = pd.DataFrame({"frequency": [2.0], "recency": [30.43], "T": [38.86]})
        >>> list(bg.predict_frame(t, 39).columns)
        ['p_alive', 'p_churn', 'expected_purchases']
        """
        out = self.score(horizon, data, frequency, recency, T, unit=unit)
        out.insert(1, "p_churn", 1.0 - out["p_alive"])
        return out

    def fit(self, data=None, frequency=None, recency=None, T=None, weights=None, l2=None,
            max_iter=None, tol=None, std_errors=None, *, unit=None, progress=None,
            covariates=None, trans=None, life=None, shared=None, l2_trans=0.0,
            l2_life=0.0):
        """Fit by maximum likelihood.

        Also lifetimes' order: ``fit(frequency, recency, T[, weights])`` with arrays
        (``BetaGeoFitter().fit(t["frequency"], t["recency"], t["T"])`` works unchanged).

        Parameters
        ----------
        %(data)s
            The fitted model records the data's unit (``time_unit_``).
        weights : str or array_like, optional
            Number of customers per row.
        l2 : float, optional
            L2 penalty on the log-parameters (docs/models/btyd.md); None: the
            constructor's `l2` (default 0). Not lifetimes' ``penalizer_coef``, which
            penalises the parameters themselves.
        max_iter, tol : optional
            Optimiser limits (None: the constructor's, else C's defaults).
        std_errors : bool, optional
            Compute standard errors (None: the constructor's, default True).
        progress : bool, optional
            Keyword only: elapsed-time feedback (churn._progress.Busy) while C fits
            more than 200,000 rows; None shows it after 1.5 s, False never, True at
            once. None: the constructor's `progress`.
        covariates : pandas.DataFrame, optional
            Keyword only (BGNBD, MBGNBD, ParetoNBD, GGompertzNBD): static customer
            covariates, indexed by customer id like the table (or with the table's rows
            in order); numeric or bool columns. See docs/models/covariates.md for the
            parametrisation.
        trans, life : list of str, optional
            Keyword only: columns of `covariates` that act on the purchase process
            (trans) and on the dropout process (life). The fitted coefficients appear
            in ``params_`` as ``trans.<name>`` and ``life.<name>``.
        shared : list of str, optional
            Keyword only: names in both `trans` and `life` whose coefficient is
            constrained to be the same in both processes.
        l2_trans, l2_life : float, default 0
            Keyword only: L2 penalties on the coefficients of each process (the fit
            maximises LL - l2_trans * sum(gamma_trans**2) - l2_life * sum(gamma_life**2)).

        Returns
        -------
        self

        Raises
        ------
        churn.ConvergenceError
            The optimiser did not converge (the partial fit is in ``.model``).
        churn.UnitMismatchError
            `unit` contradicts ``data.attrs["time_unit"]``.

        Examples
        --------
        >>> t = churn.simulate_summary(2000, model="bgnbd", seed=1, unit="week")
        >>> bg = churn.BGNBD().fit(t)                       # a customer table
        >>> same = churn.BGNBD().fit(t["frequency"], t["recency"], t["T"])  # lifetimes' order
        >>> bool(np.allclose(bg.params_, same.params_))
        True
        """
        from ._units import data_unit
        data, frequency, recency, T, lt_weights = _lifetimes_order(data, frequency,
                                                                   recency, T)
        if lt_weights is not None:
            if weights is not None:
                raise TypeError("weights given twice (fourth array and weights=)")
            weights = lt_weights
        data_unit(data, unit)  # a declared unit must agree with the table's own
        x, tx, T_ = _columns(data, frequency, recency, T)
        w = None
        if weights is not None:
            w = as_f64(data[weights] if isinstance(weights, str) else weights, "weights",
                       x.shape[0])
        progress = self._arg("progress", progress, None)
        if covariates is not None or trans or life:
            from . import _covariates
            hv = _covariates.fit_model(
                self, data, x, tx, T_, w, covariates, trans, life, shared, l2_trans, l2_life,
                self._arg("max_iter", max_iter, None), self._arg("tol", tol, None),
                self._arg("std_errors", std_errors, True),
                fit_feedback(self, x.shape[0], progress))
            self._set_handle(hv)
            # what a bootstrap refit needs to fit the same model (churn.bootstrap_interval)
            self._cov_fit_options = {"shared": list(shared or []), "l2_trans": l2_trans,
                                     "l2_life": l2_life}
            return self._record_unit(data, unit)
        o = _options(self._arg("l2", l2, 0.0), self._arg("max_iter", max_iter, None),
                     self._arg("tol", tol, None), self._arg("std_errors", std_errors, True))
        h = _vp()
        n = x.shape[0]
        with fit_feedback(self, n, progress):
            rc = _fit(ctypes.byref(h), _FAMILY[self._family_name], n, ptr(x), ptr(tx),
                      ptr(T_), ptr(w), ctypes.byref(o))
        if rc == ENOCONV and h.value:
            err = error_for(rc)
            err.model = type(self)()._set_handle(h.value)._record_unit(data, unit)
            raise err
        check(rc)
        self._set_handle(h.value)
        return self._record_unit(data, unit)

    def convert_time_unit(self, unit):
        """A copy of this model that describes the same customers in another time unit.

        Converting on purpose (``churn_btyd_convert_time_unit``): with c = old unit / new
        unit, alpha (and Pareto/NBD's beta) is multiplied by c, with its standard error
        and covariance; r, a, b, s are unchanged, so P(alive) and expected purchases over
        the same calendar span are the same. The log-likelihood still refers to the
        original unit (the note says so). This model is left unchanged.

        Parameters
        ----------
        unit : str or float
            'day', 'week', 'month', 'year' or a number of days.

        Returns
        -------
        Model
            A new model of the same class with ``time_unit_`` = `unit`.

        Raises
        ------
        churn.UnitMismatchError
            This model's unit is unknown (``set_time_unit`` first).
        churn.ChurnTypeError
            BG/BB and sBG count discrete opportunities and have no time unit.

        Examples
        --------
        >>> bg = churn.BGNBD.from_params(r=0.2425945, alpha=4.4136019, a=0.7929199,
        ...                             b=2.4258881, unit="week")
        >>> days = bg.convert_time_unit("day")
        >>> w = bg.expected_purchases(52, [26.0], [30.857], [31.0])
        >>> d = days.expected_purchases(364, [26.0], [7 * 30.857], [7 * 31.0])
        >>> bool(np.allclose(w, d)), days.time_unit_
        (True, 1.0)
        """
        from ._customers import time_unit_days
        days = time_unit_days(unit)
        self._require()
        new = self._copy()
        check(_convert_unit(new._h, days))
        return new

    def p_alive(self, data=None, frequency=None, recency=None, T=None, *, unit=None,
                covariates=None):
        """P(customer still alive at the end of calibration).

        Parameters
        ----------
        %(data)s
        covariates : pandas.DataFrame, optional
            Keyword only: the customers' covariates, required by a model fitted with
            ``covariates=`` (same columns; indexed by customer id or in the table's rows).

        Returns
        -------
        pandas.Series or numpy.ndarray
            A Series indexed like `data` (array for array inputs).

        %(raises)s

        Examples
        --------
        >>> bg = churn.BGNBD.from_params(r=0.2425945, alpha=4.4136019, a=0.7929199,
        ...                             b=2.4258881, unit="week")   # CDNOW, published
        >>> np.round(bg.p_alive([26.0], [30.857], [31.0]), 4)        # published: 0.9688523
        array([0.9689])
        """
        self._check(data, unit)
        x, tx, T_ = _columns(data, frequency, recency, T)
        if covariates is not None or _has_cov(self):
            from . import _covariates
            pa, _ = _covariates.score_model(self, None, data, x, tx, T_, covariates)
            return _series(pa, data, "p_alive")
        out = empty(x.shape[0])
        check(_p_alive(self._require(), x.shape[0], ptr(x), ptr(tx), ptr(T_), ptr(out)))
        return _series(out, data, "p_alive")

    def p_churn(self, data=None, frequency=None, recency=None, T=None, *, unit=None):
        """1 - P(alive).

        Parameters
        ----------
        %(data)s

        Returns
        -------
        pandas.Series or numpy.ndarray

        %(raises)s

        Examples
        --------
        >>> bg = churn.BGNBD.from_params(r=0.2425945, alpha=4.4136019, a=0.7929199,
        ...                             b=2.4258881, unit="week")   # CDNOW, published
        >>> np.round(bg.p_churn([26.0], [30.857], [31.0]), 4)
        array([0.0311])
        """
        return 1.0 - self.p_alive(data, frequency, recency, T, unit=unit)

    def expected_purchases(self, t, data=None, frequency=None, recency=None, T=None, *,
                           unit=None, covariates=None):
        """Conditional expected purchases in the next `t` time units given each history.

        Parameters
        ----------
        t : float
            Length of the window, in the model's time unit.
        %(data)s
        covariates : pandas.DataFrame, optional
            Keyword only: the customers' covariates, required by a model fitted with
            ``covariates=`` (same columns; indexed by customer id or in the table's rows).

        Returns
        -------
        pandas.Series or numpy.ndarray

        %(raises)s

        Examples
        --------
        >>> bg = churn.BGNBD.from_params(r=0.2425945, alpha=4.4136019, a=0.7929199,
        ...                             b=2.4258881, unit="week")   # CDNOW, published
        >>> np.round(bg.expected_purchases(39, [2.0], [30.43], [38.86]), 4)   # published 1.2259
        array([1.2259])
        """
        self._check(data, unit)
        x, tx, T_ = _columns(data, frequency, recency, T)
        if covariates is not None or _has_cov(self):
            from . import _covariates
            _, ex = _covariates.score_model(self, float(t), data, x, tx, T_, covariates)
            return _series(ex, data, "expected_purchases")
        out = empty(x.shape[0])
        check(_expected(self._require(), float(t), x.shape[0], ptr(x), ptr(tx), ptr(T_),
                        ptr(out)))
        return _series(out, data, "expected_purchases")

    predict = expected_purchases

    def score(self, t, data=None, frequency=None, recency=None, T=None, *, unit=None,
              covariates=None):
        """P(alive) and expected purchases in the next `t`, in one pass.

        Parameters
        ----------
        t : float
            Length of the window, in the model's time unit.
        %(data)s
        covariates : pandas.DataFrame, optional
            Keyword only: the customers' covariates, required by a model fitted with
            ``covariates=`` (same columns; indexed by customer id or in the table's rows).

        Returns
        -------
        pandas.DataFrame
            Columns p_alive and expected_purchases.

        %(raises)s

        Examples
        --------
        >>> bg = churn.BGNBD.from_params(r=0.2425945, alpha=4.4136019, a=0.7929199,
        ...                             b=2.4258881, unit="week")   # CDNOW, published
        >>> t = pd.DataFrame({"frequency": [26.0], "recency": [30.857], "T": [31.0]})
        >>> bg.score(52, t).round(3).values.tolist()                # published 0.969, 25.757
        [[0.969, 25.757]]
        """
        import pandas as pd
        self._check(data, unit)
        x, tx, T_ = _columns(data, frequency, recency, T)
        n = x.shape[0]
        if covariates is not None or _has_cov(self):
            from . import _covariates
            pa, ex = _covariates.score_model(self, float(t), data, x, tx, T_, covariates)
            return pd.DataFrame({"p_alive": pa, "expected_purchases": ex},
                                index=_index(data, n))
        # one (2, n) block: C writes both columns, pandas wraps it without a copy
        block = np.empty((2, n))
        check(_score(self._require(), float(t), n, ptr(x), ptr(tx), ptr(T_), ptr(block[0]),
                     ptr(block[1])))
        return pd.DataFrame(block.T, columns=["p_alive", "expected_purchases"],
                            index=_index(data, n), copy=False)

    def expected_purchases_new(self, t, *, covariates=None):
        """E[X(t)] for a customer who just made a first purchase.

        Parameters
        ----------
        t : float or array_like
            Time since the first purchase, in the model's time unit.
        covariates : pandas.DataFrame, optional
            Keyword only, for a model fitted with covariates: one row per prospective
            customer (the model's covariate columns); `t` is then one horizon and the
            result one value per row (a Series indexed like `covariates`).

        Returns
        -------
        float, numpy.ndarray or pandas.Series

        Examples
        --------
        >>> bg = churn.BGNBD.from_params(r=0.2425945, alpha=4.4136019, a=0.7929199,
        ...                             b=2.4258881, unit="week")   # CDNOW, published
        >>> round(bg.expected_purchases_new(39), 4) > 0
        True
        """
        if covariates is not None or _has_cov(self):
            import pandas as pd
            from . import _covariates
            if covariates is None:
                raise TypeError(f"this {type(self).__name__} has covariates: pass covariates= "
                                f"(one row per prospective customer)")
            if np.ndim(t) != 0:
                raise TypeError("with covariates=, t is one horizon")
            out = _covariates.expected_new(self, float(t), covariates)
            idx = getattr(covariates, "index", None)
            return pd.Series(out, index=idx, name="expected_purchases_new")
        scalar = np.ndim(t) == 0
        tt = as_f64(t, "t")
        out = empty(tt.shape[0])
        check(_expected_new(self._require(), tt.shape[0], ptr(tt), ptr(out)))
        return float(out[0]) if scalar else out

    def prob_purchases(self, k, t):
        """P(X(t) = k) for a new customer.

        Parameters
        ----------
        k : int
            Number of repeat purchases.
        t : float or array_like
            Time since the first purchase, in the model's time unit.

        Returns
        -------
        float or numpy.ndarray

        Examples
        --------
        >>> bg = churn.BGNBD.from_params(r=0.2425945, alpha=4.4136019, a=0.7929199,
        ...                             b=2.4258881, unit="week")   # CDNOW, published
        >>> round(sum(bg.prob_purchases(k, 39) for k in range(200)), 6)
        1.0
        """
        scalar = np.ndim(t) == 0
        tt = as_f64(t, "t")
        out = empty(tt.shape[0])
        check(_prob(self._require(), float(k), tt.shape[0], ptr(tt), ptr(out)))
        return float(out[0]) if scalar else out

    def conditional_prob_purchases(self, k, t, data=None, frequency=None, recency=None,
                                   T=None, *, unit=None):
        """P(k purchases in the next `t` | history).

        Parameters
        ----------
        k : int
            Number of purchases.
        t : float
            Length of the window, in the model's time unit.
        %(data)s

        Returns
        -------
        pandas.Series or numpy.ndarray

        %(raises)s

        Examples
        --------
        >>> bg = churn.BGNBD.from_params(r=0.2425945, alpha=4.4136019, a=0.7929199,
        ...                             b=2.4258881, unit="week")   # CDNOW, published
        >>> p = [bg.conditional_prob_purchases(k, 39, frequency=[2.0], recency=[30.43],
        ...                                    T=[38.86])[0] for k in range(100)]
        >>> round(sum(p), 6)
        1.0
        """
        self._check(data, unit)
        x, tx, T_ = _columns(data, frequency, recency, T)
        out = empty(x.shape[0])
        check(_prob_cond(self._require(), float(k), float(t), x.shape[0], ptr(x), ptr(tx),
                         ptr(T_), ptr(out)))
        return _series(out, data, f"p_{k}_purchases")

    # ---- lifetimes' names (BetaGeoFitter, ParetoNBDFitter, ModifiedBetaGeoFitter) ----
    def conditional_probability_alive(self, frequency=None, recency=None, T=None, *,
                                      unit=None):
        """lifetimes' name of :meth:`p_alive`: P(alive) given each history.

        Parameters
        ----------
        frequency, recency, T : array_like or pandas.DataFrame
            The arrays in lifetimes' order, or a customer table as `frequency`.
        unit : str or float, optional
            Keyword only: the data's time unit, checked against the model's.

        Returns
        -------
        pandas.Series or numpy.ndarray
            P(alive), a Series indexed like the first argument when it has an index.

        Examples
        --------
        >>> bg = churn.BGNBD.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259)
        >>> np.round(bg.conditional_probability_alive([26.0], [30.857], [31.0]), 4)
        array([0.9689])
        """
        return self.p_alive(frequency, recency, T, unit=unit)

    def conditional_expected_number_of_purchases_up_to_time(self, t, frequency=None,
                                                            recency=None, T=None, *,
                                                            unit=None):
        """lifetimes' name of :meth:`expected_purchases`: E[purchases in the next t].

        Parameters
        ----------
        t : float
            Length of the window, in the model's time unit.
        frequency, recency, T : array_like or pandas.DataFrame
            The arrays in lifetimes' order, or a customer table as `frequency`.
        unit : str or float, optional
            Keyword only: the data's time unit, checked against the model's.

        Returns
        -------
        pandas.Series or numpy.ndarray
            Expected purchases per customer.

        Examples
        --------
        >>> bg = churn.BGNBD.from_params(r=0.2425945, alpha=4.4136019, a=0.7929199,
        ...                             b=2.4258881)
        >>> f = bg.conditional_expected_number_of_purchases_up_to_time
        >>> np.round(f(52, [26.0], [30.857], [31.0]), 3)
        array([25.757])
        """
        return self.expected_purchases(t, frequency, recency, T, unit=unit)

    def expected_number_of_purchases_up_to_time(self, t):
        """lifetimes' name of :meth:`expected_purchases_new`: E[X(t)] of a new customer.

        Parameters
        ----------
        t : float or array_like
            Time since the first purchase, in the model's time unit.

        Returns
        -------
        float or numpy.ndarray
            Expected repeat purchases by `t`.

        Examples
        --------
        >>> bg = churn.BGNBD.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259)
        >>> bg.expected_number_of_purchases_up_to_time(39) > 0
        True
        """
        return self.expected_purchases_new(t)

    def probability_of_n_purchases_up_to_time(self, t, n):
        """lifetimes' name of :meth:`prob_purchases` (arguments in lifetimes' order).

        Parameters
        ----------
        t : float or array_like
            Time since the first purchase, in the model's time unit.
        n : int
            Number of repeat purchases.

        Returns
        -------
        float or numpy.ndarray
            P(X(t) = n) for a new customer.

        Examples
        --------
        >>> bg = churn.BGNBD.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259)
        >>> p = [bg.probability_of_n_purchases_up_to_time(39, k) for k in range(200)]
        >>> round(sum(p), 6)
        1.0
        """
        return self.prob_purchases(n, t)

    def conditional_probability_of_n_purchases_up_to_time(self, n, t, frequency=None,
                                                          recency=None, T=None, *,
                                                          unit=None):
        """lifetimes' name of :meth:`conditional_prob_purchases` (ParetoNBDFitter's).

        Parameters
        ----------
        n : int
            Number of purchases.
        t : float
            Length of the window, in the model's time unit.
        frequency, recency, T : array_like or pandas.DataFrame
            The arrays in lifetimes' order, or a customer table as `frequency`.
        unit : str or float, optional
            Keyword only: the data's time unit, checked against the model's.

        Returns
        -------
        pandas.Series or numpy.ndarray
            P(n purchases in the next t | history).

        Examples
        --------
        >>> pn = churn.ParetoNBD.from_params(r=0.5534, alpha=10.58, s=0.6061, beta=11.66)
        >>> f = pn.conditional_probability_of_n_purchases_up_to_time
        >>> p = sum(f(k, 52, [2.0], [30.43], [38.86]) for k in range(100))
        >>> np.round(p, 6)
        array([1.])
        """
        return self.conditional_prob_purchases(n, t, frequency, recency, T, unit=unit)


def _fill_docs(cls):
    for name, f in list(vars(cls).items()):
        doc = getattr(f, "__doc__", None)
        if callable(f) and doc and "%(" in doc:
            f.__doc__ = doc % {"data": _DATA_DOC, "raises": _RAISES_DOC}
    return cls


_fill_docs(_Btyd)


@register("bgnbd")
class BGNBD(_Btyd):
    """BG/NBD (Fader, Hardie & Lee 2005). Parameters r, alpha, a, b.

    The constructor's arguments are the defaults of :meth:`fit` (scikit-learn's
    ``get_params``/``set_params``). lifetimes' BetaGeoFitter calls work as written
    (``fit(frequency, recency, T)``, ``conditional_probability_alive``, ...).

    Parameters
    ----------
    l2 : float, default 0
        L2 penalty on the log-parameters used by :meth:`fit` (docs/models/btyd.md).
    max_iter, tol : optional
        Optimiser limits used by :meth:`fit` (None: C's defaults).
    std_errors : bool, default True
        Compute standard errors in :meth:`fit`.
    progress : bool, optional
        Feedback while fitting over more than 200,000 customers (None: after 1.5 s).

    Examples
    --------
    >>> t = churn.simulate_summary(2000, model="bgnbd", seed=1, unit="week")
    >>> bg = churn.BGNBD().fit(t)
    >>> bg.param_names, bg.converged_
    (['r', 'alpha', 'a', 'b'], True)
    """


@register("mbgnbd")
class MBGNBD(_Btyd):
    """MBG/NBD (Batislam, Denizel & Filiztekin 2007). Parameters r, alpha, a, b.

    Parameters
    ----------
    l2 : float, default 0
        L2 penalty on the log-parameters used by :meth:`fit` (docs/models/btyd.md).
    max_iter, tol : optional
        Optimiser limits used by :meth:`fit` (None: C's defaults).
    std_errors : bool, default True
        Compute standard errors in :meth:`fit`.
    progress : bool, optional
        Feedback while fitting over more than 200,000 customers (None: after 1.5 s).

    Examples
    --------
    >>> t = churn.simulate_summary(2000, model="mbgnbd", seed=1, unit="week")
    >>> churn.MBGNBD().fit(t).param_names
    ['r', 'alpha', 'a', 'b']
    """


@register("pnbd")
class ParetoNBD(_Btyd):
    """Pareto/NBD (Schmittlein, Morrison & Colombo 1987). Parameters r, alpha, s, beta.

    Parameters
    ----------
    l2 : float, default 0
        L2 penalty on the log-parameters used by :meth:`fit` (docs/models/btyd.md).
    max_iter, tol : optional
        Optimiser limits used by :meth:`fit` (None: C's defaults).
    std_errors : bool, default True
        Compute standard errors in :meth:`fit`.
    progress : bool, optional
        Feedback while fitting over more than 200,000 customers (None: after 1.5 s).

    Examples
    --------
    >>> pn = churn.ParetoNBD.from_params(r=0.5533971, alpha=10.5801985, s=0.6060625,
    ...                                  beta=11.6562237)    # CDNOW, published
    >>> np.round(pn.p_alive([26.0], [30.857], [31.0]), 4)
    array([0.9979])
    """

    def p_alive_at(self, t, data=None, frequency=None, recency=None, T=None, *, unit=None):
        """P(alive at T + t | history).

        Parameters
        ----------
        t : float
            Time after the end of calibration, in the model's time unit.
        data, frequency, recency, T, unit
            As for :meth:`p_alive`.

        Returns
        -------
        pandas.Series or numpy.ndarray

        Raises
        ------
        churn.UnitMismatchError
            The data's time unit differs from the model's.

        Examples
        --------
        >>> pn = churn.ParetoNBD.from_params(r=0.5533971, alpha=10.5801985, s=0.6060625,
        ...                                  beta=11.6562237)
        >>> a = pn.p_alive_at(26, frequency=[2.0], recency=[30.43], T=[38.86])
        >>> bool(a[0] < pn.p_alive(frequency=[2.0], recency=[30.43], T=[38.86])[0])
        True
        """
        self._check(data, unit)
        x, tx, T_ = _columns(data, frequency, recency, T)
        out = empty(x.shape[0])
        check(_pnbd_alive_at(self._require(), float(t), x.shape[0], ptr(x), ptr(tx), ptr(T_),
                             ptr(out)))
        return _series(out, data, "p_alive")


@register("bgbb")
class BGBB(_Btyd):
    """BG/BB for discrete opportunities (Fader, Hardie & Shang 2010).

    Parameters alpha, beta, gamma, delta. Data: frequency, recency (opportunity of
    the last transaction) and T = number of opportunities (a 'periods' or 'n' column
    is accepted too); from transactions, ``churn.customer_table(..., period="year")``
    counts them. ``p_alive`` is alive at the next opportunity (the published tables'
    convention), ``p_alive_through`` alive through the last one observed.

    Parameters
    ----------
    l2 : float, default 0
        L2 penalty on the log-parameters used by :meth:`fit` (docs/models/btyd.md).
    max_iter, tol : optional
        Optimiser limits used by :meth:`fit` (None: C's defaults).
    std_errors : bool, default True
        Compute standard errors in :meth:`fit`.
    progress : bool, optional
        Feedback while fitting over more than 200,000 customers (None: after 1.5 s).

    Examples
    --------
    >>> bb = churn.BGBB.from_params(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
    >>> x, tx, n = [0.0, 2.0, 6.0], [0.0, 4.0, 6.0], [6.0, 6.0, 6.0]
    >>> np.round(bb.p_alive(frequency=x, recency=tx, T=n), 2)     # the paper's table
    array([0.11, 0.59, 0.93])
    """

    def p_alive_at(self, m, data=None, frequency=None, recency=None, T=None, *, unit=None):
        """P(alive at opportunity n + m | history), `m` a whole number of opportunities >= 0
        (Fader, Hardie & Shang 2010; lifetimes' ``conditional_probability_alive(m, ...)``).
        m = 1 is :meth:`p_alive`, m = 0 :meth:`p_alive_through`.

        Parameters
        ----------
        m : int
            Opportunities after the n observed.
        data : pandas.DataFrame, optional
            Customer table with frequency, recency and T columns (or pass the arrays).
        frequency, recency, T : str or array_like, optional
            Column names or arrays (T: the number of opportunities).
        unit : str or float, optional
            The data's time unit, checked against the model's (as :meth:`BGNBD.p_alive`).

        Returns
        -------
        pandas.Series or numpy.ndarray
            Probabilities, indexed like `data`.

        Examples
        --------
        >>> bb = churn.BGBB.from_params(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
        >>> x, tx, n = [0.0, 2.0, 6.0], [0.0, 4.0, 6.0], [6.0, 6.0, 6.0]
        >>> np.round(bb.p_alive_at(1, frequency=x, recency=tx, T=n), 2)
        array([0.11, 0.59, 0.93])
        """
        self._check(data, unit)
        x, tx, T_ = _columns(data, frequency, recency, T)
        out = empty(x.shape[0])
        check(_bgbb_alive_at(self._require(), float(m), x.shape[0], ptr(x), ptr(tx), ptr(T_),
                             ptr(out)))
        return _series(out, data, "p_alive")

    def p_alive(self, data=None, frequency=None, recency=None, T=None, *, unit=None):
        """P(alive at the next opportunity, n + 1 | history): the P(alive) of Fader, Hardie
        & Shang's (2010) tables and of lifetimes' ``conditional_probability_alive(1, ...)``
        (for their donations fit at n = 6: (x, t_x) = (0, 0) -> 0.11, (2, 4) -> 0.59,
        (6, 6) -> 0.93). :meth:`p_alive_through` is alive through opportunity n.

        Parameters
        ----------
        data : pandas.DataFrame, optional
            Customer table with frequency, recency and T columns (or pass the arrays).
        frequency, recency, T : str or array_like, optional
            Column names or arrays (T: the number of opportunities).
        unit : str or float, optional
            The data's time unit, checked against the model's (as :meth:`BGNBD.p_alive`).

        Returns
        -------
        pandas.Series or numpy.ndarray
            Probabilities, indexed like `data`.

        Examples
        --------
        >>> bb = churn.BGBB.from_params(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
        >>> x, tx, n = [0.0, 2.0, 6.0], [0.0, 4.0, 6.0], [6.0, 6.0, 6.0]
        >>> np.round(bb.p_alive(frequency=x, recency=tx, T=n), 2)
        array([0.11, 0.59, 0.93])
        """
        return self.p_alive_at(1, data, frequency, recency, T, unit=unit)

    def conditional_probability_alive(self, m_periods_in_future, frequency=None,
                                      recency=None, n_periods=None, *, unit=None):
        """lifetimes' BetaGeoBetaBinomFitter name of :meth:`p_alive_at` (its order).

        Parameters
        ----------
        m_periods_in_future : int
            Opportunities after the n observed (1: :meth:`p_alive`).
        frequency, recency, n_periods : array_like or pandas.DataFrame
            The arrays in lifetimes' order, or a customer table as `frequency`.
        unit : str or float, optional
            Keyword only: the data's time unit, checked against the model's.

        Returns
        -------
        pandas.Series or numpy.ndarray
            Probabilities.

        Examples
        --------
        >>> bb = churn.BGBB.from_params(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
        >>> np.round(bb.conditional_probability_alive(1, [0.0, 2.0, 6.0], [0.0, 4.0, 6.0],
        ...                                           [6.0, 6.0, 6.0]), 2)
        array([0.11, 0.59, 0.93])
        """
        return self.p_alive_at(m_periods_in_future, frequency, recency, n_periods, unit=unit)

    def p_alive_through(self, data=None, frequency=None, recency=None, T=None, *,
                        unit=None):
        """P(alive through opportunity n | history): C's ``churn_btyd_p_alive`` for BG/BB
        (1.0 for a customer who used every opportunity).

        Parameters
        ----------
        data : pandas.DataFrame, optional
            Customer table with frequency, recency and T columns (or pass the arrays).
        frequency, recency, T : str or array_like, optional
            Column names or arrays (T: the number of opportunities).
        unit : str or float, optional
            The data's time unit, checked against the model's (as :meth:`BGNBD.p_alive`).

        Returns
        -------
        pandas.Series or numpy.ndarray
            Probabilities, indexed like `data`.

        Examples
        --------
        >>> bb = churn.BGBB.from_params(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
        >>> x, tx, n = [0.0, 2.0, 6.0], [0.0, 4.0, 6.0], [6.0, 6.0, 6.0]
        >>> bb.p_alive_through(frequency=x, recency=tx, T=n)[2]        # used every opportunity
        1.0
        """
        out = super().p_alive(data, frequency, recency, T, unit=unit)
        return out.rename("p_alive_through") if hasattr(out, "rename") else out

    def score(self, t, data=None, frequency=None, recency=None, T=None, *, unit=None):
        """p_alive (at the next opportunity), expected purchases in the next `t`
        opportunities and p_alive_through (a DataFrame).

        Parameters
        ----------
        t : int
            Horizon in opportunities.
        data : pandas.DataFrame, optional
            Customer table with frequency, recency and T columns (or pass the arrays).
        frequency, recency, T : str or array_like, optional
            Column names or arrays (T: the number of opportunities).
        unit : str or float, optional
            The data's time unit, checked against the model's (as :meth:`BGNBD.p_alive`).

        Returns
        -------
        pandas.DataFrame
            Columns p_alive, expected_purchases, p_alive_through.

        Examples
        --------
        >>> bb = churn.BGBB.from_params(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
        >>> x, tx, n = [0.0, 2.0, 6.0], [0.0, 4.0, 6.0], [6.0, 6.0, 6.0]
        >>> t = pd.DataFrame({"frequency": x, "recency": tx, "T": n})
        >>> list(bb.score(5, t).columns)
        ['p_alive', 'expected_purchases', 'p_alive_through']
        """
        out = super().score(t, data, frequency, recency, T, unit=unit)
        through = out["p_alive"].to_numpy()
        out["p_alive"] = np.asarray(self.p_alive(data, frequency, recency, T, unit=unit))
        out["p_alive_through"] = through
        return out

    def fit(self, data=None, frequency=None, recency=None, T=None, weights=None, **kw):
        """Fit by maximum likelihood, as :meth:`BGNBD.fit`.

        T (the number of opportunities) is also read from a 'periods' or 'n' column and
        `weights` from a 'weights' column when present.

        Parameters
        ----------
        data : pandas.DataFrame or array_like, optional
            A customer table, or (lifetimes' order) the frequency array.
        frequency, recency, T : str or array_like, optional
            Column names or arrays (T: the number of opportunities).
        weights : str or array_like, optional
            Customers per row.
        **kw
            l2, max_iter, tol, std_errors, unit, progress as for :meth:`BGNBD.fit`.

        Returns
        -------
        BGBB
            self, fitted.

        Examples
        --------
        >>> t = pd.DataFrame({"frequency": [0, 1, 2, 3, 4, 5, 6, 1, 2, 6],
        ...                   "recency": [0, 2, 4, 5, 6, 6, 6, 1, 6, 6],
        ...                   "n": [6] * 10, "weights": [30, 10, 8, 8, 9, 10, 25, 6, 5, 20]})
        >>> churn.BGBB().fit(t).nobs_
        131.0
        """
        if not (hasattr(data, "columns") or isinstance(data, dict)):
            return super().fit(data, frequency, recency, T, weights, **kw)
        if data is not None and T is None and "T" not in data:
            for alt in ("periods", "n"):
                if alt in data:
                    T = alt
        if data is not None and weights is None and "weights" in data:
            weights = "weights"
        return super().fit(data, frequency, recency, T, weights, **kw)


def _churned(churned, n):
    a = np.asarray(churned.to_numpy() if hasattr(churned, "to_numpy") else churned)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"churned: expected 0/1 numbers, got dtype {a.dtype}")
    if a.ndim != 1 or a.shape[0] != n:
        raise ValueError(f"churned: length {a.shape[0] if a.ndim else 1} does not match {n}")
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        row = int(np.flatnonzero(~np.isfinite(a))[0])
        raise ValueError(f"churned: row {row} is not 0 or 1")
    c = np.ascontiguousarray(a, dtype=np.intc)
    if not np.array_equal(c, a):
        row = int(np.flatnonzero(c != a)[0])
        raise ValueError(f"churned: row {row} is not 0 or 1")
    return c


@register("sbg")
class SBG(Model):
    """Shifted beta-geometric contractual retention model (Fader & Hardie 2007).

    Parameters
    ----------
    l2 : float, default 0
        L2 penalty used by :meth:`fit`.
    max_iter, tol : optional
        Optimiser limits used by :meth:`fit`.

    Examples
    --------
    >>> sbg = churn.SBG().fit(survivors=[1000, 631, 468, 382, 326, 289, 262, 241])
    >>> sbg.params_.round(3).tolist()          # Fader & Hardie (2007): 0.704, 1.182
    [0.704, 1.182]
    """

    def __init__(self, l2=0.0, max_iter=None, tol=None):
        super().__init__()
        self.l2 = l2
        self.max_iter = max_iter
        self.tol = tol

    @classmethod
    def from_params(cls, *args, **kwargs):
        """An sBG model with known alpha, beta.

        Parameters
        ----------
        *args, **kwargs : float
            alpha and beta by position or by name (``unit=`` as for the other
            families is accepted but an sBG counts discrete periods).

        Returns
        -------
        SBG

        Examples
        --------
        >>> sbg = churn.SBG.from_params(alpha=0.704, beta=1.182)
        >>> sbg.retention(1)["retention"].round(3).tolist()
        [0.627]
        """
        return _from_params(cls, args, kwargs)

    def loglik(self, periods, churned, weights=None):
        """Log-likelihood of this model's (alpha, beta) on per-customer lifetimes.

        Parameters
        ----------
        periods : array_like
            Periods each customer was observed.
        churned : array_like
            1 when the customer churned after `periods`, 0 when still active.
        weights : array_like, optional
            Customers per row.

        Returns
        -------
        float

        Examples
        --------
        >>> sbg = churn.SBG().fit(survivors=[1000, 631, 468, 382, 326, 289, 262, 241])
        >>> round(sbg.loglik([1, 2, 3, 3, 7, 7], [1, 1, 1, 0, 0, 1]), 4)
        -11.4503
        """
        p = as_f64(periods, "periods")
        n = p.shape[0]
        c = _churned(churned, n)
        w = optional_f64(weights, "weights", n)
        v = self.params_.to_numpy()
        ll = ctypes.c_double()
        check(_sbg_loglik(v.shape[0], ptr(v), n, ptr(p), c.ctypes.data_as(_lib.c_int_p),
                          ptr(w), ctypes.byref(ll), None))
        return ll.value

    def fit(self, periods=None, churned=None, weights=None, survivors=None, l2=None,
            max_iter=None, tol=None):
        """Fit from per-customer (periods, churned) arrays, or from a survivor curve.

        Parameters
        ----------
        periods : array_like, optional
            Periods each customer was observed.
        churned : array_like, optional
            1 = churned after `periods`, 0 = still active.
        weights : array_like, optional
            Customers per row.
        survivors : array_like, optional
            Survivors at periods 0, 1, 2, ... (instead of the per-customer arrays).
        l2, max_iter, tol : optional
            None: the constructor's arguments.

        Returns
        -------
        SBG
            self, fitted.

        Examples
        --------
        >>> sbg = churn.SBG().fit(survivors=[1000, 631, 468, 382, 326, 289, 262, 241])
        >>> sbg.converged_
        True
        """
        d = self.get_params()
        o = _options(d["l2"] if l2 is None else l2, max_iter or d["max_iter"],
                     tol or d["tol"])
        h = _vp()
        if survivors is not None:
            s = as_f64(survivors, "survivors")
            rc = _sbg_fit_surv(ctypes.byref(h), s.shape[0], ptr(s), ctypes.byref(o))
        else:
            p = as_f64(periods, "periods")
            n = p.shape[0]
            c = _churned(churned, n)
            w = optional_f64(weights, "weights", n)
            rc = _sbg_fit(ctypes.byref(h), n, ptr(p), c.ctypes.data_as(_lib.c_int_p), ptr(w),
                          ctypes.byref(o))
        check(rc)
        return self._set_handle(h.value)

    def retention(self, n):
        """Retention rates r_1..r_n and survival S(1)..S(n) as a DataFrame.

        Parameters
        ----------
        n : int
            Number of periods.

        Returns
        -------
        pandas.DataFrame
            retention and survival, indexed by period 1..n.

        Examples
        --------
        >>> sbg = churn.SBG().fit(survivors=[1000, 631, 468, 382, 326, 289, 262, 241])
        >>> sbg.retention(2)["survival"].round(4).tolist()
        [0.6267, 0.4738]
        """
        import pandas as pd
        r, s = empty(n), empty(n)
        check(_sbg_curve(self._require(), int(n), ptr(r), ptr(s)))
        return pd.DataFrame({"retention": r, "survival": s},
                            index=pd.RangeIndex(1, n + 1, name="period"))

    def predict_frame(self, data, horizon, periods="periods", discount=None):
        """Scores as `churn predict` writes them for an sBG model.

        From the periods each customer has survived so far: p_alive (probability of
        renewing at the next renewal, S(n+1)/S(n)), expected_purchases (expected
        renewals in the next `horizon` periods, sum_k S(n+k)/S(n)), p_churn, and derl
        with a `discount`.

        Parameters
        ----------
        data : pandas.DataFrame
            Customers.
        horizon : int
            Whole number of periods.
        periods : str or array_like, default 'periods'
            A column of `data` or an array.
        discount : float, optional
            Adds the derl column.

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        >>> sbg = churn.SBG().fit(survivors=[1000, 631, 468, 382, 326, 289, 262, 241])
        >>> sbg.predict_frame(pd.DataFrame({"periods": [0, 4]}), 2)["p_alive"].round(4).tolist()
        [0.6267, 0.8804]
        """
        import pandas as pd
        per = as_f64(data[periods] if isinstance(periods, str) else periods, "periods")
        if not np.all((per >= 0) & (per == np.floor(per))):
            row = int(np.flatnonzero(~((per >= 0) & (per == np.floor(per))))[0])
            raise ValueError(f"periods: row {row}: {per[row]} is not a whole number >= 0")
        h = float(horizon)
        if h != np.floor(h) or h < 0:
            raise ValueError(f"horizon: {horizon} is not a whole number of periods")
        h = int(h)
        length = int(per.max(initial=0)) + h + 1
        S = np.empty(length + 1)
        S[0] = 1.0
        check(_sbg_curve(self._require(), length, None, ptr(S[1:])))
        n = per.astype(np.int64)
        pa = S[n + 1] / S[n]
        e = np.zeros(per.shape[0])
        for k in range(1, h + 1):  # summed in the command's order
            e += S[n + k] / S[n]
        out = pd.DataFrame({"p_alive": pa, "expected_purchases": e, "p_churn": 1.0 - pa},
                           index=_index(data, per.shape[0]))
        if discount is not None:
            out["derl"] = self.derl(discount, per)
        return out

    def derl(self, discount, periods):
        """Discounted expected residual lifetime after `periods` renewals.

        Parameters
        ----------
        discount : float
            Discount rate per period.
        periods : array_like
            Renewals made so far.

        Returns
        -------
        numpy.ndarray

        Examples
        --------
        >>> sbg = churn.SBG().fit(survivors=[1000, 631, 468, 382, 326, 289, 262, 241])
        >>> sbg.derl(0.1, [0, 4]).round(3).tolist()
        [2.964, 5.894]
        """
        p = as_f64(periods, "periods")
        out = empty(p.shape[0])
        check(_sbg_derl(self._require(), float(discount), p.shape[0], ptr(p), ptr(out)))
        return out
