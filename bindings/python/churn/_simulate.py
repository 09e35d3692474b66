"""Purchase histories simulated from known BTYD processes (include/churn/simulate.h)."""
import ctypes
from ctypes import POINTER, c_char_p, c_double, c_int, c_size_t, c_uint64, c_void_p

import numpy as np

from . import _lib
from ._errors import check
from ._txlog import TransactionLog

_d = _lib.c_double_p
_MODELS = {"pnbd": 3, "bgnbd": 1, "mbgnbd": 2, "ggomnbd": 13}


class SimulateOptions(ctypes.Structure):
    """Mirror of churn_simulate_options."""

    _fields_ = [("struct_size", c_size_t), ("model", c_int), ("customers", c_size_t),
                ("seed", c_uint64), ("start", c_double), ("days", c_double),
                ("acquisition_days", c_double), ("holdout_days", c_double),
                ("time_unit", c_double), ("r", c_double), ("alpha", c_double),
                ("s", c_double), ("beta", c_double), ("a", c_double), ("b", c_double),
                ("p", c_double), ("q", c_double), ("gamma", c_double),
                ("id_prefix", c_char_p)]


_init = _lib.fn("churn_simulate_options_init", None, POINTER(SimulateOptions))
_txlog = _lib.fn("churn_simulate_txlog", c_int, c_void_p, POINTER(SimulateOptions))
_summary = _lib.fn("churn_simulate_summary", c_int, POINTER(SimulateOptions), c_size_t, _d, _d,
                   _d, _d, _d, _lib.c_int_p)


def _options(model, customers, seed, start, days, acquisition_days, holdout_days, unit,
             params, id_prefix):
    from ._customers import time_arg, time_unit_days
    if model not in _MODELS:
        raise ValueError(f"model: '{model}' is not pnbd, bgnbd, mbgnbd or ggomnbd")
    o = SimulateOptions()
    _init(ctypes.byref(o))
    o.model = _MODELS[model]
    if isinstance(customers, bool) or int(customers) != customers or customers < 0:
        raise ValueError(f"customers: {customers!r} is not a non-negative whole number")
    o.customers = int(customers)
    o.seed = int(seed)
    if start is not None:
        o.start = time_arg(start, "start")
    o.days = float(days)
    o.acquisition_days = float(acquisition_days)
    o.holdout_days = float(holdout_days)
    o.time_unit = time_unit_days(unit)
    for k, v in params.items():
        if v is not None:
            setattr(o, k, float(v))
    if id_prefix:
        o.id_prefix = str(id_prefix).encode()
    return o


def simulate(model="pnbd", customers=1000, seed=1, start=None, days=546.0, acquisition_days=0.0,
             holdout_days=0.0, unit="week", *, r=None, alpha=None, s=None, beta=None, a=None,
             b=None, p=None, q=None, gamma=None, id_prefix="", as_frame=False):
    """Simulate purchase histories (every customer buys at acquisition, then follows the
    model); returns a :class:`TransactionLog` (or its DataFrame with ``as_frame=True``).

    Parameters left None take the published CDNOW fit of `model` ('pnbd', 'bgnbd',
    'mbgnbd'; 'ggomnbd' (Gamma-Gompertz/NBD) has illustrative defaults: the Pareto/NBD
    r, alpha, Gompertz scale b = 0.02 per week, s = 0.6, beta = 0.3), rescaled to `unit`. `start` defaults to 1997-01-01, `days` (546 = 78
    weeks) is the calibration window, `holdout_days` more days are simulated after it.
    Deterministic for a given seed."""
    o = _options(model, customers, seed, start, days, acquisition_days, holdout_days, unit,
                 dict(r=r, alpha=alpha, s=s, beta=beta, a=a, b=b, p=p, q=q, gamma=gamma),
                 id_prefix)
    log = TransactionLog()
    check(_txlog(log._h, ctypes.byref(o)))
    return log.to_dataframe() if as_frame else log


def simulate_summary(customers=1000, model="pnbd", seed=1, days=546.0, acquisition_days=0.0,
                     holdout_days=0.0, unit="week", *, r=None, alpha=None, s=None, beta=None,
                     a=None, b=None, p=None, q=None, gamma=None):
    """The per-customer summary of the same simulated customers as :func:`simulate`
    (purchases not merged by day), without building a log: DataFrame with frequency,
    recency, T, holdout_purchases, mean_spend (NaN when frequency is 0) and alive."""
    import pandas as pd
    o = _options(model, customers, seed, None, days, acquisition_days, holdout_days, unit,
                 dict(r=r, alpha=alpha, s=s, beta=beta, a=a, b=b, p=p, q=q, gamma=gamma), "")
    n = int(customers)
    x, tx, T, xh, ms = (np.empty(n) for _ in range(5))
    alive = np.empty(n, dtype=np.intc)
    check(_summary(ctypes.byref(o), n, *(a_.ctypes.data_as(_d) for a_ in (x, tx, T, xh, ms)),
                   alive.ctypes.data_as(_lib.c_int_p)))
    return pd.DataFrame({"frequency": x, "recency": tx, "T": T, "holdout_purchases": xh,
                         "mean_spend": ms, "alive": alive.astype(bool)},
                        index=pd.RangeIndex(1, n + 1, name="customer_id"))


__all__ = ["simulate", "simulate_summary"]
