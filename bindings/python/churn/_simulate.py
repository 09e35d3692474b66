"""Purchase histories simulated from known BTYD processes (include/churn/simulate.h)."""
import ctypes
from ctypes import POINTER, c_char_p, c_double, c_int, c_size_t, c_uint64, c_void_p

import numpy as np

from . import _lib
from ._errors import check
from ._txlog import TransactionLog

_d = _lib.c_double_p
_MODELS = {"pnbd": 3, "bgnbd": 1, "mbgnbd": 2, "ggomnbd": 13, "mbgcnbd": 14, "mbgcnbdk": 14}


class SimulateOptions(ctypes.Structure):
    """Mirror of churn_simulate_options."""

    _fields_ = [("struct_size", c_size_t), ("model", c_int), ("customers", c_size_t),
                ("seed", c_uint64), ("start", c_double), ("days", c_double),
                ("acquisition_days", c_double), ("holdout_days", c_double),
                ("time_unit", c_double), ("r", c_double), ("alpha", c_double),
                ("s", c_double), ("beta", c_double), ("a", c_double), ("b", c_double),
                ("p", c_double), ("q", c_double), ("gamma", c_double),
                ("id_prefix", c_char_p), ("k", c_int)]


_init = _lib.fn("churn_simulate_options_init", None, POINTER(SimulateOptions))
_txlog = _lib.fn("churn_simulate_txlog", c_int, c_void_p, POINTER(SimulateOptions))
_summary = _lib.fn("churn_simulate_summary", c_int, POINTER(SimulateOptions), c_size_t, _d, _d,
                   _d, _d, _d, _lib.c_int_p)


def _options(model, customers, seed, start, days, acquisition_days, holdout_days, unit,
             params, id_prefix):
    from ._customers import time_arg, time_unit_days
    if model not in _MODELS:
        raise ValueError(f"model: '{model}' is not pnbd, bgnbd, mbgnbd, ggomnbd or mbgcnbd")
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
        if v is None:
            continue
        if k == "k":
            if isinstance(v, bool) or int(v) != v:
                raise ValueError(f"k: {v!r} is not a whole number (the Erlang shape of "
                                 "mbgcnbd, 1..12)")
            o.k = int(v)
        else:
            setattr(o, k, float(v))
    if id_prefix:
        o.id_prefix = str(id_prefix).encode()
    return o


_DEFAULT = object()  # `customers` not given


def _order(fn, model, customers):
    """(model, customers) from either positional order.

    The documented order is ``(model, customers)`` for both functions. Before 1.3
    :func:`simulate_summary` took ``(customers, model)``; a call in that order is
    recognised by type (the model is a name, the number of customers a whole number),
    so ``simulate_summary(1000, "bgnbd")`` and ``simulate_summary(1000)`` keep working.
    Anything else that is not a name and a number raises TypeError naming both."""
    if customers is _DEFAULT:
        customers = 1000
        if not isinstance(model, str) and isinstance(model, (int, np.integer)) and \
                not isinstance(model, bool):
            return "pnbd", model  # simulate_summary(5000): the old first argument
    if isinstance(model, str):
        return model, customers
    if isinstance(customers, str) and isinstance(model, (int, np.integer, float)) and \
            not isinstance(model, bool):
        return customers, model   # the old order (customers, model)
    raise TypeError(f"{fn}(model, customers): model must be 'pnbd', 'bgnbd', 'mbgnbd', "
                    "'ggomnbd' or 'mbgcnbd' "
                    f"and customers a whole number; got model={model!r}, "
                    f"customers={customers!r}")


def simulate(model="pnbd", customers=_DEFAULT, seed=1, start=None, days=546.0,
             acquisition_days=0.0, holdout_days=0.0, unit="week", *, r=None, alpha=None,
             s=None, beta=None, a=None, b=None, p=None, q=None, gamma=None, id_prefix="",
             as_frame=False, k=None):
    """Simulate purchase histories from a known BTYD process.

    Every customer buys at acquisition, then follows the model (include/churn/
    simulate.h). Parameters left None take the published CDNOW fit of `model`,
    rescaled to `unit`. Deterministic for a given seed.

    Parameters
    ----------
    model : {'pnbd', 'bgnbd', 'mbgnbd', 'ggomnbd', 'mbgcnbd'}, default 'pnbd'
        The process ('ggomnbd', Gamma-Gompertz/NBD, has illustrative defaults: the
        Pareto/NBD r, alpha, Gompertz scale b = 0.02 per week, s = 0.6, beta = 0.3;
        'mbgcnbd' (also spelled 'mbgcnbdk'), MBG/CNBD-k, those of BTYDplus'
        documentation: k = 3, r = 0.85, alpha = 1.45, a = 0.79, b = 2.42 per week).
        ``simulate(model, customers)`` is the order of both simulate functions;
        ``(customers, model)`` is recognised by type (see :func:`simulate_summary`).
    customers : int, default 1000
        Number of customers (ids 1..customers, after `id_prefix`).
    seed : int, default 1
        Random seed.
    start : date, optional
        Start of the calibration window (default 1997-01-01).
    days : float, default 546.0
        Length of the calibration window in days (546 = 78 weeks).
    acquisition_days : float, default 0.0
        Customers are acquired uniformly over the first `acquisition_days` days.
    holdout_days : float, default 0.0
        Days simulated after the calibration window.
    unit : str or float, default 'week'
        Time unit of the parameters ('day', 'week', ... or days).
    r, alpha, s, beta, a, b, p, q, gamma : float, optional
        Model parameters (per `unit`); None takes the CDNOW fit.
    id_prefix : str, default ''
        Text put before every customer number.
    as_frame : bool, default False
        Return the transactions as a DataFrame (customer_id, date, amount) instead
        of a :class:`TransactionLog`; built with numpy from the log's arrays, without
        a per-customer Python step.
    k : int, optional
        'mbgcnbd' only: the Erlang shape of the inter-purchase times, 1..12 (None:
        3); k = 1 draws exactly the customers of 'mbgnbd' with the same parameters.

    Returns
    -------
    TransactionLog or pandas.DataFrame

    Examples
    --------
    >>> log = churn.simulate("bgnbd", 100, seed=3)
    >>> log.num_customers
    100
    >>> df = churn.simulate("bgnbd", 100, seed=3, as_frame=True)
    >>> list(df.columns), len(df) == log.num_transactions
    (['customer_id', 'date', 'amount'], True)

    Regular buyers (MBG/CNBD-k with k = 3): the gaps between purchase days are less
    variable than exponential ones, and Wheat & Morrison's estimate says so:

    >>> reg = churn.simulate("mbgcnbd", 2000, seed=4, k=3, as_frame=True)
    >>> bool(churn.estimate_regularity(reg) > 2)
    True
    """
    model, customers = _order("simulate", model, customers)
    o = _options(model, customers, seed, start, days, acquisition_days, holdout_days, unit,
                 dict(r=r, alpha=alpha, s=s, beta=beta, a=a, b=b, p=p, q=q, gamma=gamma, k=k),
                 id_prefix)
    log = TransactionLog()
    check(_txlog(log._h, ctypes.byref(o)))
    return log.to_dataframe() if as_frame else log


def simulate_summary(customers=_DEFAULT, model=_DEFAULT, seed=1, days=546.0,
                     acquisition_days=0.0, holdout_days=0.0, unit="week", *, r=None,
                     alpha=None, s=None, beta=None, a=None, b=None, p=None, q=None,
                     gamma=None, k=None):
    """The per-customer summary of simulated customers, without building a log.

    The same customers as :func:`simulate` with the same arguments (purchases not
    merged by day).

    Parameters
    ----------
    customers : int, default 1000
        Number of customers. The documented positional order is that of
        :func:`simulate`, ``simulate_summary("bgnbd", 500)``; the order of releases
        before 1.3, ``simulate_summary(500, "bgnbd")`` (and ``simulate_summary(500,
        model="bgnbd")``), keeps working: the first two arguments are told apart by
        type (a model is a name, customers a whole number). Keyword calls are
        unaffected.
    model : {'pnbd', 'bgnbd', 'mbgnbd', 'ggomnbd', 'mbgcnbd'}, default 'pnbd'
        The process, with the defaults of :func:`simulate`.
    seed : int, default 1
        Random seed.
    days, acquisition_days, holdout_days : float
        As for :func:`simulate`.
    unit : str or float, default 'week'
        Time unit of the parameters and of the returned durations.
    r, alpha, s, beta, a, b, p, q, gamma : float, optional
        Model parameters; None takes the CDNOW fit.
    k : int, optional
        'mbgcnbd' only: the Erlang shape (None: 3).

    Returns
    -------
    pandas.DataFrame
        Indexed by customer_id 1..customers: frequency, recency, T,
        holdout_purchases, mean_spend (NaN when frequency is 0) and alive (bool).

    Examples
    --------
    >>> s = churn.simulate_summary("bgnbd", 500, seed=2)
    >>> s.shape, s.index[0]
    ((500, 6), 1)
    >>> churn.simulate_summary(500, "bgnbd", seed=2).equals(s)   # the old order
    True
    """
    import pandas as pd
    if isinstance(customers, str):
        # simulate_summary("bgnbd", 500): the order of simulate
        model, customers = customers, model
    if model is _DEFAULT:
        model = "pnbd"
    model, customers = _order("simulate_summary", model, customers)
    o = _options(model, customers, seed, None, days, acquisition_days, holdout_days, unit,
                 dict(r=r, alpha=alpha, s=s, beta=beta, a=a, b=b, p=p, q=q, gamma=gamma, k=k),
                 "")
    n = int(customers)
    x, tx, T, xh, ms = (np.empty(n) for _ in range(5))
    alive = np.empty(n, dtype=np.intc)
    check(_summary(ctypes.byref(o), n, *(a_.ctypes.data_as(_d) for a_ in (x, tx, T, xh, ms)),
                   alive.ctypes.data_as(_lib.c_int_p)))
    return pd.DataFrame({"frequency": x, "recency": tx, "T": T, "holdout_purchases": xh,
                         "mean_spend": ms, "alive": alive.astype(bool)},
                        index=pd.RangeIndex(1, n + 1, name="customer_id"))


__all__ = ["simulate", "simulate_summary"]
