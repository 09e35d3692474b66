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
                     level=0.9, *, unit=None):
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

    Returns
    -------
    pandas.DataFrame
        Columns p_alive, p_alive_lo, p_alive_hi, expected_purchases,
        expected_purchases_lo, expected_purchases_hi, indexed like `data`.

    Raises
    ------
    churn.ChurnError
        The model has no covariance matrix (built from given parameters), `level`
        is outside (0, 1), or a row is invalid (the message names it).

    Examples
    --------
    >>> t = churn.simulate_summary(2000, "bgnbd", seed=3)
    >>> bg = churn.BGNBD().fit(t)
    >>> iv = churn.predict_interval(bg, 12, t, level=0.9)
    >>> bool(((iv.p_alive_lo <= iv.p_alive) & (iv.p_alive <= iv.p_alive_hi)).all())
    True
    """
    import pandas as pd
    model.check_time_unit(data, unit)
    x, tx, T_ = _columns(data, frequency, recency, T)
    n = x.shape[0]
    cols = [empty(n) for _ in range(6)]
    check(_interval(model._require(), float(horizon), float(level), n, ptr(x), ptr(tx),
                    ptr(T_), *[ptr(c) for c in cols]))
    names = ["p_alive", "p_alive_lo", "p_alive_hi", "expected_purchases",
             "expected_purchases_lo", "expected_purchases_hi"]
    idx = _index(data, n)
    return pd.DataFrame(dict(zip(names, cols)), index=idx if idx is not None else None)
