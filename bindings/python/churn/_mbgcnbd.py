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

    Per customer with x repeat purchases, the last at t_x, observed until T
    (docs/models/mbgcnbdk.md): (k-1) litt - x log((k-1)!) + log(sum_{i<k} A_i + D),
    A_i for "alive, i Poisson events since the last purchase" and D for "dropped out
    at the last purchase"; rows summed with `weights`. The litt term, which does not
    depend on (r, alpha, a, b), is included (BTYDplus' convention).

    Parameters
    ----------
    params : array_like
        k (a whole number 1..12), r, alpha, a, b (r, alpha, a, b finite and > 0;
        alpha in the time unit of the data).
    data : DataFrame, optional
        Customer table with the columns named by `frequency`, `recency`, `T`, `litt`.
    frequency, recency, T : str or array_like, optional
        Columns of `data` (defaults 'frequency', 'recency', 'T') or arrays: x, t_x
        and T.
    litt : str or array_like, optional
        Sum of the natural logarithms of each customer's inter-purchase times, in the
        unit of T (default: the column 'litt' when `data` has one; see
        :func:`churn.litt`); may be omitted only when k = 1.
    weights : str or array_like, optional
        Customers per row.
    gradient : bool, default False
        Also return the gradient in (k, r, alpha, a, b) (NaN for the discrete k).

    Returns
    -------
    float or (float, ndarray)
        The log-likelihood, with its gradient (5 values) when `gradient` is True.

    Raises
    ------
    churn.ChurnValueError
        k not a whole number in 1..12, another parameter not a finite number > 0,
        `litt` missing with k > 1, or a bad row (the message names the row and
        column).

    See Also
    --------
    MBGCNBDk.loglik : the same at a model's parameters.

    Examples
    --------
    One customer with gaps of 14 and 16.43 weeks (x = 2, t_x = 30.43), observed for
    38.86 weeks, at Batislam et al.'s CDNOW MBG/NBD estimate with k = 2; mpmath
    integration of the model's definition over lambda gives -8.917493908:

    >>> litt = np.log(14.0) + np.log(16.43)
    >>> round(churn.mbgcnbd_loglik([2, 0.525, 6.183, 0.891, 1.614], frequency=[2.0],
    ...                            recency=[30.43], T=[38.86], litt=[litt]), 6)
    -8.917494

    k = 1 is the MBG/NBD, and needs no litt:

    >>> a = churn.mbgcnbd_loglik([1, 0.525, 6.183, 0.891, 1.614], frequency=[2.0],
    ...                          recency=[30.43], T=[38.86])
    >>> b = churn.btyd_loglik("mbgnbd", [0.525, 6.183, 0.891, 1.614], frequency=[2.0],
    ...                       recency=[30.43], T=[38.86])
    >>> round(a, 6), round(b, 6)
    (-9.485551, -9.485551)
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
    lambda ~ Gamma(shape r, rate alpha) (mean k / lambda); after every purchase, the
    first included, the customer drops out with probability p ~ Beta(a, b). k = 1 is
    the MBG/NBD. Parameters k, r, alpha, a, b (BTYDplus' order); alpha is a time in
    the data's unit, the others have none; k is a whole number in 1..12, chosen, not
    estimated (standard error 0). Predictions are those of the other BTYD classes
    (``p_alive``, ``expected_purchases``, ``score``, ``expected_purchases_new``,
    ``prob_purchases``, ``conditional_prob_purchases``): closed-form series of
    incomplete beta functions, docs/models/mbgcnbdk.md. :func:`churn.dert`,
    :func:`churn.discounted_purchases` and :func:`churn.clv` (with a
    :class:`GammaGamma` spend model) accept the fitted model, and
    ``churn.simulate("mbgcnbd", n, k=K)`` draws customers from it.

    The likelihood needs, besides (frequency, recency, T), ``litt``: the sum of the
    logarithms of each customer's inter-purchase times (see :func:`churn.litt`).

    Parameters
    ----------
    l2, max_iter, tol, std_errors, progress : optional
        Accepted as by every BTYD class and stored as attributes, but
        :meth:`MBGCNBDk.fit` does not read them: give `l2`, `max_iter`, `tol`,
        `std_errors` to :meth:`fit` itself (its defaults: 0, C's limits, C's
        tolerance, True); `progress` has no effect.

    See Also
    --------
    litt : the per-customer column the likelihood needs.
    estimate_regularity : is k > 1 worth fitting?
    MBGNBD : the k = 1 model.

    Examples
    --------
    At Batislam et al.'s CDNOW MBG/NBD estimate (weeks), P(alive) of a customer with
    2 repeat purchases, the last at week 30.43 of 38.86, and of one with none; k = 1
    is the MBG/NBD's closed form 1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x)),
    and with k = 3 the same silence says less about dropout (both checked against
    docs/models/mbgcnbdk.md's sum_i A_i / (sum_i A_i + D) in mpmath):

    >>> h = dict(frequency=[2.0, 0.0], recency=[30.43, 0.0], T=[38.86, 38.86])
    >>> m1 = churn.MBGCNBDk.from_params(k=1, r=0.525, alpha=6.183, a=0.891, b=1.614)
    >>> np.round(m1.p_alive(**h), 4)
    array([0.7062, 0.3897])
    >>> m3 = churn.MBGCNBDk.from_params(k=3, r=0.525, alpha=6.183, a=0.891, b=1.614)
    >>> np.round(m3.p_alive(**h), 4)
    array([0.7638, 0.5279])

    DERT (15% a year, continuously) and the probability of no purchase in the next 26
    weeks; at k = 1 the DERT is the MBG/NBD's:

    >>> mbg = churn.MBGNBD.from_params(r=0.525, alpha=6.183, a=0.891, b=1.614)
    >>> d = np.log(1.15) / 52
    >>> bool(np.allclose(churn.dert(m1, d, **h), churn.dert(mbg, d, **h), rtol=1e-10))
    True
    >>> p0 = m3.conditional_prob_purchases(0, 26.0, **h)
    >>> bool(np.all((p0 > 1 - m3.p_alive(**h)) & (p0 < 1)))
    True
    """

    def fit(self, data=None, frequency=None, recency=None, T=None, litt=None, k=None,
            weights=None, l2=None, max_iter=None, tol=None, std_errors=None, *, unit=None,
            covariates=None, trans=None, life=None, shared=None, l2_trans=0.0, l2_life=0.0):
        """Fit by maximum likelihood, with k fixed or chosen by likelihood.

        Each k is a damped Newton fit of (r, alpha, a, b) with the analytic gradient;
        with `k` None every k = 1..12 is fitted and the converged fit of the largest
        log-likelihood (litt term included) is kept.

        Parameters
        ----------
        data : DataFrame, optional
            Customer table; `frequency`, `recency`, `T`, `litt` name its columns.
        frequency, recency, T : str or array_like, optional
            The columns or arrays x, t_x, T (defaults 'frequency', 'recency', 'T').
        litt : str or array_like, optional
            Sum of log inter-purchase times per customer, in the unit of T (default:
            the column 'litt' when `data` has one; see :func:`churn.litt`); required
            unless k = 1.
        k : int, optional
            Fixed k in 1..12; None (default) fits every k and keeps the largest
            log-likelihood (the model's ``note_`` lists them).
        weights : str or array_like, optional
            Customers per row.
        l2 : float, optional
            L2 penalty on the log-parameters (docs/models/btyd.md); None: the
            constructor's `l2` (default 0).
        max_iter, tol : optional
            Optimiser limits (None: the constructor's, else C's defaults).
        std_errors : bool, optional
            Compute standard errors (k's is 0); None: the constructor's (default True).
        unit : str or float, optional
            Keyword only: the unit of arrays (checked against a table's own); the
            fitted model records the data's unit (``time_unit_``).
        covariates : pandas.DataFrame, optional
            Keyword only: customer covariates (index = customer id, or the table's
            rows) for a fit with static covariates
            (``churn_mbgcnbd_fit_covariates``): `trans` columns scale
            alpha_i = alpha exp(-g'z), `life` columns a_i = a exp(g'z) and
            b_i = b exp(g'z), as for :class:`MBGNBD`; k is shared and fixed or chosen
            by likelihood as without covariates (docs/models/covariates.md).
        trans, life : list of str, optional
            Keyword only: the covariate columns of the purchase and dropout processes.
        shared : list of str, optional
            Keyword only: columns in both whose coefficient is the same in both.
        l2_trans, l2_life : float, default 0
            Keyword only: L2 penalties on the coefficients.

        Returns
        -------
        self

        Raises
        ------
        churn.ConvergenceError
            The fit did not converge (the partial fit is in ``.model``).
        churn.ChurnValueError
            `litt` missing with k other than 1, `k` outside 1..12, or a bad row (the
            message names the row and column).
        churn.UnitMismatchError
            `unit` contradicts ``data.attrs["time_unit"]``.

        Examples
        --------
        Customers simulated from the MBG/NBD (exponential gaps): k chosen by
        likelihood is 1, and the fit with k = 1 is the MBG/NBD's own:

        >>> log = churn.simulate("mbgnbd", 500, seed=1, as_frame=True)
        >>> table = churn.customer_table(log, unit="week")
        >>> table = table.join(churn.litt(log, unit="week"))
        >>> m = churn.MBGCNBDk().fit(table)
        >>> int(m.params_["k"])
        1
        >>> mbg = churn.MBGNBD().fit(table)
        >>> bool(np.allclose(m.params_[["r", "alpha", "a", "b"]], mbg.params_))
        True
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
        if covariates is not None or trans or life:
            from . import _covariates
            hv = _covariates.fit_mbgcnbd(
                self, data, x, tx, T_, lt, w, kk, covariates, trans, life, shared, l2_trans,
                l2_life, self._arg("max_iter", max_iter, None), self._arg("tol", tol, None),
                self._arg("std_errors", std_errors, True))
            self._set_handle(hv)
            return self._record_unit(data, unit)
        o = _btyd._options(self._arg("l2", l2, 0.0), self._arg("max_iter", max_iter, None),
                           self._arg("tol", tol, None), self._arg("std_errors", std_errors, True))
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

        The same number as :func:`mbgcnbd_loglik` at ``self.params_``.

        Parameters
        ----------
        data : DataFrame, optional
            Customer table.
        frequency, recency, T : str or array_like, optional
            Columns or arrays x, t_x, T (defaults 'frequency', 'recency', 'T'), in
            the model's time unit.
        weights : str or array_like, optional
            Customers per row.
        litt : str or array_like, optional
            Keyword only: sum of log inter-purchase times (default: the column
            'litt'); required unless k = 1.
        unit : str or float, optional
            Keyword only: the unit of arrays (checked against the model's).

        Returns
        -------
        float
            The log-likelihood.

        Raises
        ------
        churn.UnitMismatchError
            The data's time unit differs from the model's.
        churn.ChurnValueError
            `litt` missing with k > 1, or a bad row.

        Examples
        --------
        A customer table with a 'litt' column (gaps of 14 and 16.43 weeks) at
        k = 3; mpmath integration of the model's definition gives -7.698956835:

        >>> t = pd.DataFrame({"frequency": [2.0], "recency": [30.43], "T": [38.86],
        ...                   "litt": [np.log(14.0) + np.log(16.43)]})
        >>> m = churn.MBGCNBDk.from_params(k=3, r=2.0, alpha=6.0, a=0.8, b=6.0)
        >>> round(m.loglik(t), 6)
        -7.698957
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
        One row per transaction with the columns `customer` and `time` (datetimes or
        date strings).
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

    See Also
    --------
    MBGCNBDk.fit : uses the column.

    Examples
    --------
    Customer a buys on 1, 8 (twice: one purchase day) and 22 January: gaps of 1 and
    2 weeks, litt = log 1 + log 2; b buys once:

    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "a", "a", "b"],
    ...                    "date": ["2024-01-01", "2024-01-08", "2024-01-08",
    ...                             "2024-01-22", "2024-01-03"]})
    >>> churn.litt(tx)
    customer_id
    a    0.693147
    b    0.000000
    Name: litt, dtype: float64

    In days the gaps are 7 and 14 (log 7 + log 14 = 4.584967):

    >>> float(np.round(churn.litt(tx, unit="day")["a"], 6))
    4.584967
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

    For each customer with at least `min_purchases` purchase days (purchases merged
    by day), the last two inter-purchase times t1, t2 give M = t1 / (t1 + t2). Under
    Erlang-k inter-purchase times M ~ Beta(k, k), Var(M) = 1 / (4 (2k + 1)), so
    k = (1 - 4 Var(M)) / (8 Var(M)), with the sample variance (ddof 1) of M
    (BTYDplus' ``estimateRegularity(method = "wheat")``). About 1 says exponential
    (NBD-type models suffice); clearly above 1 says regular purchasing, where
    MBG/CNBD-k with k > 1 is worth fitting. The ratio has no unit.

    Parameters
    ----------
    transactions : DataFrame
        One row per transaction with the columns `customer` and `time`.
    customer, time : str
        Column names (defaults 'customer_id', 'date').
    min_purchases : int, default 3
        Purchase days a customer needs to contribute (at least 3: two gaps).

    Returns
    -------
    float
        The estimate of k (NaN with fewer than 2 contributing customers).

    Raises
    ------
    ValueError
        `min_purchases` is below 3.

    Examples
    --------
    Three customers whose last two gaps are 7 and 7, 4 and 6, 6 and 4 days: M is
    0.5, 0.4, 0.6, Var(M) = 0.01, so k = (1 - 0.04) / 0.08 = 12:

    >>> tx = pd.DataFrame({"customer_id": [1, 1, 1, 2, 2, 2, 3, 3, 3],
    ...                    "date": ["2024-01-01", "2024-01-08", "2024-01-15",
    ...                             "2024-01-01", "2024-01-05", "2024-01-11",
    ...                             "2024-01-01", "2024-01-07", "2024-01-11"]})
    >>> round(churn.estimate_regularity(tx), 6)
    12.0
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
