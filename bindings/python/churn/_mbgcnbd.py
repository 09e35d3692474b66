"""MBG/CNBD-k (Reutterer, Platzer & Schröder 2021; BTYDplus' ``mbgcnbd``): the class
:class:`MBGCNBDk`, the per-customer sum of log inter-purchase times (:func:`litt`) and
the Wheat & Morrison regularity diagnostic (:func:`estimate_regularity`).

Kept in its own module (registers 'mbgcnbd' with ``_btyd``'s tables and subclasses its
``_Btyd``) so the shared classes of ``_btyd.py`` stay untouched.
"""
import ctypes

import numpy as np
import pandas as pd

from . import _btyd, _lib
from ._arrays import as_f64, empty, ptr
from ._errors import ENOCONV, check, error_for
from ._model import register

_vp = ctypes.c_void_p
_d = _lib.c_double_p

_fit = _lib.fn("churn_mbgcnbd_fit", ctypes.c_int, ctypes.POINTER(_vp), ctypes.c_int,
               ctypes.c_size_t, _d, _d, _d, _d, _d, ctypes.POINTER(_btyd.BtydOptions))
_loglik = _lib.fn("churn_mbgcnbd_loglik", ctypes.c_int, ctypes.c_size_t, _d, ctypes.c_size_t,
                  _d, _d, _d, _d, _d, _d, _d)

KMAX = 12
_btyd._FAMILY["mbgcnbd"] = 14
_btyd._PARAMS["mbgcnbd"] = ("k", "r", "alpha", "a", "b")


def _litt_arg(data, litt, n):
    if litt is None:
        if data is not None and "litt" in getattr(data, "columns", ()):
            litt = "litt"
        else:
            return None
    return as_f64(data[litt] if isinstance(litt, str) else litt, "litt", n)


def mbgcnbd_loglik(params, data=None, frequency=None, recency=None, T=None, litt=None,
                   weights=None, gradient=False):
    """MBG/CNBD-k log-likelihood at `params` = (k, r, alpha, a, b), litt term included.

    Parameters
    ----------
    params : array_like
        k (a whole number 1..12), r, alpha, a, b.
    data : DataFrame, optional
        Customer table with the columns named by `frequency`, `recency`, `T`, `litt`.
    frequency, recency, T : str or array_like, optional
        Columns of `data` (defaults 'frequency', 'recency', 'T') or arrays.
    litt : str or array_like, optional
        Sum of the logarithms of each customer's inter-purchase times (default: the
        column 'litt' when `data` has one); may be omitted only when k = 1.
    weights : str or array_like, optional
        Customers per row.
    gradient : bool, default False
        Also return the gradient in (k, r, alpha, a, b) (NaN for the discrete k).

    Returns
    -------
    float or (float, ndarray)
    """
    x, tx, T_ = _btyd._columns(data, frequency, recency, T)
    lt = _litt_arg(data, litt, x.shape[0])
    w = None
    if weights is not None:
        w = as_f64(data[weights] if isinstance(weights, str) else weights, "weights",
                   x.shape[0])
    p = as_f64(params, "params")
    ll = ctypes.c_double()
    g = empty(p.shape[0]) if gradient else None
    check(_loglik(p.shape[0], ptr(p), x.shape[0], ptr(x), ptr(tx), ptr(T_), ptr(lt), ptr(w),
                  ctypes.byref(ll), ptr(g)))
    return (ll.value, g) if gradient else ll.value


@register("mbgcnbd")
class MBGCNBDk(_btyd._Btyd):
    """MBG/CNBD-k (Reutterer, Platzer & Schröder 2021), BTYDplus' ``mbgcnbd``.

    While alive a customer's inter-purchase times are Erlang-k with rate
    lambda ~ Gamma(r, alpha) (mean k / lambda); after every purchase, the first
    included, the customer drops out with probability p ~ Beta(a, b). k = 1 is the
    MBG/NBD. Parameters k, r, alpha, a, b (BTYDplus' order); k is chosen, not
    estimated (standard error 0). Predictions are those of the other BTYD classes
    (``p_alive``, ``expected_purchases``, ``score``, ``expected_purchases_new``,
    ``prob_purchases``, ``conditional_prob_purchases``): closed-form series of
    incomplete beta functions, docs/models/mbgcnbdk.md.

    The likelihood needs, besides (frequency, recency, T), ``litt``: the sum of the
    logarithms of each customer's inter-purchase times (see :func:`churn.litt`).
    """

    def fit(self, data=None, frequency=None, recency=None, T=None, litt=None, k=None,
            weights=None, l2=0.0, max_iter=None, tol=None, std_errors=True, *, unit=None):
        """Fit by maximum likelihood, with k fixed or chosen by likelihood.

        Parameters
        ----------
        data : DataFrame, optional
            Customer table; `frequency`, `recency`, `T`, `litt` name its columns.
        frequency, recency, T : str or array_like, optional
            The columns or arrays x, t_x, T.
        litt : str or array_like, optional
            Sum of log inter-purchase times per customer (default: the column 'litt'
            when `data` has one); required unless k = 1.
        k : int, optional
            Fixed k in 1..12; None (default) fits every k and keeps the largest
            log-likelihood (the model's ``note_`` lists them).
        weights : str or array_like, optional
            Customers per row.
        l2, max_iter, tol, std_errors
            As :meth:`churn.BGNBD.fit`.
        unit : str or float, optional
            The unit of arrays (checked against a table's own).

        Returns
        -------
        self

        Raises
        ------
        churn.ConvergenceError
            The fit did not converge (the partial fit is in ``.model``).
        """
        from ._units import data_unit
        data_unit(data, unit)
        x, tx, T_ = _btyd._columns(data, frequency, recency, T)
        lt = _litt_arg(data, litt, x.shape[0])
        w = None
        if weights is not None:
            w = as_f64(data[weights] if isinstance(weights, str) else weights, "weights",
                       x.shape[0])
        kk = 0 if k is None else int(k)
        o = _btyd._options(l2, max_iter, tol, std_errors)
        h = _vp()
        rc = _fit(ctypes.byref(h), kk, x.shape[0], ptr(x), ptr(tx), ptr(T_), ptr(lt), ptr(w),
                  ctypes.byref(o))
        if rc == ENOCONV and h.value:
            err = error_for(rc)
            err.model = type(self)()._set_handle(h.value)._record_unit(data, unit)
            raise err
        check(rc)
        self._set_handle(h.value)
        self._record_unit(data, unit)
        return self

    def loglik(self, data=None, frequency=None, recency=None, T=None, weights=None, *,
               litt=None, unit=None):
        """Log-likelihood of this model's parameters (litt term included).

        Parameters
        ----------
        data : DataFrame, optional
            Customer table.
        frequency, recency, T : str or array_like, optional
            Columns or arrays.
        weights : str or array_like, optional
            Customers per row.
        litt : str or array_like, optional
            Sum of log inter-purchase times (default: the column 'litt').
        unit : str or float, optional
            The unit of arrays.

        Returns
        -------
        float
        """
        self._check(data, unit)
        return mbgcnbd_loglik(self.params_.to_numpy(), data, frequency, recency, T, litt,
                              weights)


def _purchase_days(transactions, customer, time, unit_days):
    df = pd.DataFrame({"c": transactions[customer].to_numpy(),
                       "t": pd.to_datetime(transactions[time]).to_numpy()})
    # the customer table's same-day merge: one purchase per customer and day
    df["day"] = df["t"].values.astype("datetime64[D]").astype(np.int64)
    df = df.drop_duplicates(["c", "day"]).sort_values(["c", "day"])
    df["gap"] = df.groupby("c")["day"].diff() / float(unit_days)
    return df


def litt(transactions, customer="customer_id", time="date", cutoff=None, unit="week"):
    """Per customer, the sum of the logarithms of the inter-purchase times (``litt``).

    Purchases are merged by day (as the customer table's ``frequency``), times are in
    `unit`, and only purchases on or before `cutoff` count, so ``litt`` goes with the
    customer table of the same cutoff and unit. 0 for one-time buyers.

    Parameters
    ----------
    transactions : DataFrame
        One row per transaction with the columns `customer` and `time`.
    customer, time : str
        Column names (defaults 'customer_id', 'date').
    cutoff : str or datetime, optional
        Last day counted (default: all).
    unit : str or float
        Time unit: 'day', 'week' (default), 'month', 'year' or a number of days.

    Returns
    -------
    pandas.Series
        Indexed by customer id, named 'litt'.
    """
    from ._customers import time_unit_days
    tr = transactions
    if cutoff is not None:
        tr = tr[pd.to_datetime(tr[time]) < pd.Timestamp(cutoff) + pd.Timedelta(days=1)]
    df = _purchase_days(tr, customer, time, time_unit_days(unit))
    out = np.log(df["gap"]).groupby(df["c"]).sum(min_count=1).fillna(0.0)
    out.index.name = customer
    return out.rename("litt")


def estimate_regularity(transactions, customer="customer_id", time="date", min_purchases=3):
    """Wheat & Morrison (1990) estimate of k, the regularity of inter-purchase times.

    For each customer with at least `min_purchases` purchase days, the last two
    inter-purchase times t1, t2 give M = t1 / (t1 + t2). Under Erlang-k inter-purchase
    times M ~ Beta(k, k), Var(M) = 1 / (4 (2k + 1)), so k = (1 - 4 Var(M)) / (8 Var(M))
    (BTYDplus' ``estimateRegularity(method = "wheat")``). About 1 says exponential
    (NBD-type models suffice); clearly above 1 says regular purchasing, where
    MBG/CNBD-k with k > 1 is worth fitting.

    Parameters
    ----------
    transactions : DataFrame
        One row per transaction with the columns `customer` and `time`.
    customer, time : str
        Column names.
    min_purchases : int, default 3
        Purchase days a customer needs to contribute (at least 3: two gaps).

    Returns
    -------
    float
        The estimate of k (NaN with fewer than 2 contributing customers).
    """
    if min_purchases < 3:
        raise ValueError(f"min_purchases: {min_purchases} < 3 (two inter-purchase times "
                         "are needed)")
    df = _purchase_days(transactions, customer, time, 1.0)
    n = df.groupby("c")["day"].transform("size")
    df = df[n >= min_purchases]
    last2 = df.groupby("c")["gap"].apply(lambda g: g.to_numpy()[-2:])
    m = np.array([g[0] / (g[0] + g[1]) for g in last2 if len(g) == 2 and g.sum() > 0])
    if m.size < 2:
        return float("nan")
    v = m.var(ddof=1)
    return float((1.0 - 4.0 * v) / (8.0 * v))


__all__ = ["MBGCNBDk", "mbgcnbd_loglik", "litt", "estimate_regularity"]
