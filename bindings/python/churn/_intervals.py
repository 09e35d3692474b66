"""Intervals for BTYD predictions from the fitted covariance (btyd.h,
churn_btyd_predict_interval; docs/models/intervals.md)."""
import ctypes

import numpy as np

from . import _lib
from ._arrays import empty, ptr
from ._btyd import _columns, _index
from ._errors import check

_d = _lib.c_double_p
_interval = _lib.fn("churn_btyd_predict_interval", ctypes.c_int, ctypes.c_void_p,
                    ctypes.c_double, ctypes.c_double, ctypes.c_size_t, _d, _d, _d, _d, _d, _d,
                    _d, _d, _d)


def predict_interval(model, horizon, data=None, frequency=None, recency=None, T=None,
                     level=0.9, *, unit=None, covariates=None):
    """P(alive) and expected purchases with delta-method intervals.

    The intervals reflect the uncertainty of the fitted parameters (the model's
    covariance matrix), built on the logit scale for P(alive) and the log scale for
    expected purchases; see docs/models/intervals.md for the method and its coverage
    on simulated data.

    Parameters
    ----------
    model : churn.BGNBD, churn.MBGNBD, churn.ParetoNBD or churn.BGBB
        A fitted model with a covariance matrix (``model.covariance_``).
    horizon : float
        Length of the prediction window in the model's time unit.
    data : pandas.DataFrame or dict, optional
        A customer table with frequency, recency and T columns (or pass the arrays).
    frequency, recency, T : str or array_like, optional
        Column names in `data`, or the arrays themselves.
    level : float, default 0.9
        Coverage of the intervals, strictly between 0 and 1.
    unit : str or float, optional
        Keyword only: the data's time unit when it does not carry
        ``attrs["time_unit"]`` (checked against the model's).
    covariates : pandas.DataFrame, optional
        Keyword only, required for a model fitted with covariates: each customer's
        covariates (indexed by customer id, or with the table's rows), matched by the
        names the model records. The interval then takes the covariance of the base
        parameters and every coefficient (``churn_btyd_predict_interval_covariates``).

    Returns
    -------
    pandas.DataFrame
        Columns p_alive, p_alive_lo, p_alive_hi, expected_purchases,
        expected_purchases_lo, expected_purchases_hi, indexed like `data`.

    Raises
    ------
    churn.ChurnError
        The model has no covariance matrix (built from given parameters), `level`
        is outside (0, 1), or a row or covariate value is invalid (the message names
        it).
    TypeError
        A covariate model without `covariates`.

    Examples
    --------
    >>> t = churn.simulate_summary(2000, "bgnbd", seed=3)
    >>> bg = churn.BGNBD().fit(t)
    >>> iv = churn.predict_interval(bg, 12, t, level=0.9)
    >>> bool(((iv.p_alive_lo <= iv.p_alive) & (iv.p_alive <= iv.p_alive_hi)).all())
    True

    A model with covariates takes them by name:

    >>> cov = pd.DataFrame({"promo": np.arange(len(t)) % 2}, index=t.index)
    >>> bgc = churn.BGNBD().fit(t, covariates=cov, trans=["promo"])
    >>> iv = churn.predict_interval(bgc, 12, t.head(4), covariates=cov)
    >>> bool((iv.expected_purchases_lo < iv.expected_purchases_hi).all())
    True
    """
    import pandas as pd
    from . import _covariates
    model.check_time_unit(data, unit)
    x, tx, T_ = _columns(data, frequency, recency, T)
    n = x.shape[0]
    if _covariates.has_covariates(model):
        cols = _covariates.interval_model(model, horizon, level, data, x, tx, T_, covariates)
    else:
        cols = [empty(n) for _ in range(6)]
        check(_interval(model._require(), float(horizon), float(level), n, ptr(x), ptr(tx),
                        ptr(T_), *[ptr(c) for c in cols]))
    names = ["p_alive", "p_alive_lo", "p_alive_hi", "expected_purchases",
             "expected_purchases_lo", "expected_purchases_hi"]
    idx = _index(data, n)
    return pd.DataFrame(dict(zip(names, cols)), index=idx if idx is not None else None)


class BootstrapOptions(ctypes.Structure):
    """Mirror of churn_bootstrap_options."""

    _fields_ = [("struct_size", ctypes.c_size_t), ("resamples", ctypes.c_size_t),
                ("seed", ctypes.c_uint64), ("threads", ctypes.c_int), ("level", ctypes.c_double)]


_boot_init = _lib.fn("churn_bootstrap_options_init", None, ctypes.POINTER(BootstrapOptions))
_boot = _lib.fn("churn_btyd_bootstrap_interval", ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t,
                _d, _d, _d, ctypes.c_double, ctypes.c_size_t, _d, _d, _d,
                ctypes.POINTER(BootstrapOptions), _d, _d, _d, _d,
                ctypes.POINTER(ctypes.c_size_t))


def bootstrap_interval(model, fit_data, horizon, data=None, level=0.9, resamples=200, seed=1,
                       threads=1, *, unit=None, covariates=None, fit_covariates=None,
                       shared=None, l2_trans=None, l2_life=None):
    """P(alive) and expected purchases intervals by resampling customers and refitting.

    The customers the model was fitted to (`fit_data`) are resampled with replacement
    `resamples` times, the model's family is refitted to each resample, the customers
    in `data` are scored with every refit, and the limits are percentiles of those
    scores. The result depends on `seed` only, whatever the number of `threads`.

    Parameters
    ----------
    model : churn.BGNBD, churn.MBGNBD, churn.ParetoNBD, churn.BGBB or churn.GGompertzNBD
        A fitted model (its family is refitted; GGompertzNBD only with covariates).
    fit_data : pandas.DataFrame
        The customer table the model was fitted to (frequency, recency, T).
    horizon : float
        Length of the prediction window in the model's time unit.
    data : pandas.DataFrame, optional
        The customers to score (default: `fit_data`).
    level : float, default 0.9
        Coverage of the intervals, strictly between 0 and 1.
    resamples : int, default 200
        Number of refits, 20..100000 (300 or more for 90% limits that hold their
        nominal rate; docs/models/intervals.md).
    seed : int, default 1
        Random seed.
    threads : int, default 1
        POSIX threads for the refits (the result does not depend on it).
    unit : str or float, optional
        Keyword only: the tables' time unit when they do not carry
        ``attrs["time_unit"]``.
    covariates : pandas.DataFrame, optional
        Keyword only, required for a model fitted with covariates: the customers'
        covariates (indexed by customer id, or with the rows of `data`). Each resample
        carries its customers' covariate rows, the model is refitted with covariates
        (``churn_btyd_bootstrap_interval_covariates``) and the customers in `data` are
        scored at their own parameters.
    fit_covariates : pandas.DataFrame, optional
        Keyword only: the fitting customers' covariates when `covariates` does not
        cover them (default: `covariates`, matched to `fit_data` by customer id).
    shared, l2_trans, l2_life : optional
        Keyword only: the equality constraints and L2 penalties of the refits. Default:
        those the model was fitted with in this session (``fit(..., shared=,
        l2_trans=, l2_life=)``), or none for a model loaded from a file; a different
        penalty or constraint refits a different model.

    Returns
    -------
    pandas.DataFrame
        Columns p_alive_lo, p_alive_hi, expected_purchases_lo, expected_purchases_hi
        indexed like `data`; ``attrs["failed_resamples"]`` counts refits left out.

    Raises
    ------
    churn.ChurnError
        A bad option or row (named), or half the resamples could not be refitted.

    Examples
    --------
    >>> t = churn.simulate_summary("bgnbd", 1000, seed=3)
    >>> bg = churn.BGNBD().fit(t)
    >>> iv = churn.bootstrap_interval(bg, t, 12, t.head(3), resamples=50, threads=2)
    >>> bool((iv.expected_purchases_lo <= iv.expected_purchases_hi).all())
    True

    A model with covariates refits with them:

    >>> cov = pd.DataFrame({"promo": (t.index % 2).astype(float)}, index=t.index)
    >>> bgc = churn.BGNBD().fit(t, covariates=cov, trans=["promo"])
    >>> ivc = churn.bootstrap_interval(bgc, t, 12, t.head(3), resamples=30, covariates=cov)
    >>> bool((ivc.p_alive_lo <= ivc.p_alive_hi).all())
    True
    """
    import pandas as pd
    model.check_time_unit(fit_data, unit)
    data = fit_data if data is None else data
    model.check_time_unit(data, unit)
    xf, txf, Tf = _columns(fit_data, None, None, None)
    x, tx, T_ = _columns(data, None, None, None)
    o = BootstrapOptions()
    _boot_init(ctypes.byref(o))
    o.resamples, o.seed, o.threads, o.level = int(resamples), int(seed), int(threads), \
        float(level)
    n = x.shape[0]
    from . import _covariates
    if _covariates.has_covariates(model):
        cols, nfail = _covariates.bootstrap_model(model, fit_data, xf, txf, Tf, data, x, tx,
                                                  T_, horizon, covariates, fit_covariates, o,
                                                  shared, l2_trans, l2_life)
        failed = ctypes.c_size_t(nfail)
    else:
        if covariates is not None or fit_covariates is not None:
            raise TypeError(f"covariates=: this {type(model).__name__} was fitted without "
                            f"covariates")
        cols = [empty(n) for _ in range(4)]
        failed = ctypes.c_size_t(0)
        check(_boot(model._require(), xf.shape[0], ptr(xf), ptr(txf), ptr(Tf),
                    float(horizon), n, ptr(x), ptr(tx), ptr(T_), ctypes.byref(o),
                    *[ptr(c) for c in cols], ctypes.byref(failed)))
    idx = _index(data, n)
    out = pd.DataFrame(dict(zip(["p_alive_lo", "p_alive_hi", "expected_purchases_lo",
                                 "expected_purchases_hi"], cols)),
                       index=idx if idx is not None else None)
    out.attrs["failed_resamples"] = failed.value
    return out
