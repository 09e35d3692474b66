"""Gamma-Gompertz/NBD (Bemmaor & Glady 2012): the class :class:`GGompertzNBD`.

Kept in its own module so that the family's additions do not touch the
shared classes of ``_btyd.py``; it registers the family name 'ggomnbd' with
``_btyd``'s tables and subclasses its ``_Btyd``.
"""
import ctypes

from . import _btyd
from ._arrays import as_f64, empty, ptr
from ._errors import check
from ._model import register

_btyd._FAMILY["ggomnbd"] = 13
_btyd._PARAMS["ggomnbd"] = ("r", "alpha", "b", "s", "beta")


@register("ggomnbd")
class GGompertzNBD(_btyd._Btyd):
    """Gamma-Gompertz/NBD (Bemmaor & Glady 2012), CLVTools' ``ggomnbd``.

    While alive a customer buys as a Poisson process with rate
    lambda ~ Gamma(shape r, rate alpha); the lifetime is Gompertz,
    S(t | eta) = exp(-eta (e^(b t) - 1)), with eta ~ Gamma(shape s, rate beta), so
    S(t) = (beta / (beta - 1 + e^(b t)))^s. Parameters r, alpha, b, s, beta, named
    and ordered as in CLVTools; alpha and 1/b are times in the data's unit, r, s and
    beta have no unit. b -> 0 with beta / b fixed gives the Pareto/NBD (whose beta is
    that ratio); on CDNOW the data sit in that limit, where b and beta are identified
    only through beta / b (docs/models/ggomnbd.md).

    The likelihood and the predictions integrate over the lifetime numerically
    (adaptive Gauss-Kronrod quadrature, docs/models/ggomnbd.md), so fitting and
    scoring are 10-100 times slower than :class:`ParetoNBD`. Methods are those of
    the other BTYD classes: ``fit``, ``p_alive``, ``expected_purchases``, ``score``,
    ``predict_frame``, ``expected_purchases_new``, ``prob_purchases``,
    ``conditional_prob_purchases``, ``loglik``; ``churn.clv`` and ``churn.dert``
    accept the fitted model.

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

    See Also
    --------
    ggomnbd_loglik : the log-likelihood at given parameters.
    ParetoNBD : the b -> 0 limit, with closed-form predictions.

    Examples
    --------
    CLVTools' estimate on CDNOW (weeks; its test_correctness_ggomnbd.R). P(alive) of
    a customer with 2 repeat purchases, the last at week 30.43 of 38.86, and of one
    with none; a new customer's expected purchases over 52 weeks,
    r / alpha * integral_0^52 S(u) du (both checked against mpmath quadrature of
    docs/models/ggomnbd.md's formulas):

    >>> m = churn.GGompertzNBD.from_params(r=0.55313, alpha=10.5758, b=0.0000011,
    ...                                    s=0.60682, beta=0.000013, unit="week")
    >>> np.round(m.p_alive(frequency=[2.0, 0.0], recency=[30.43, 0.0],
    ...                    T=[38.86, 38.86]), 4)
    array([0.8694, 0.2971])
    >>> np.round(m.expected_purchases_new([52.0]), 4)
    array([1.4789])
    """

    def loglik(self, data=None, frequency=None, recency=None, T=None, weights=None, *,
               unit=None):
        """Log-likelihood of this model's parameters on the given customers.

        The sum over customers (times `weights`) of B&G's eq. 6, the integral over
        the lifetime by quadrature; the same number as :func:`ggomnbd_loglik` at
        ``self.params_``.

        Parameters
        ----------
        data : DataFrame, optional
            Customer table; `frequency`, `recency`, `T` name its columns (defaults
            'frequency', 'recency', 'T') or are arrays when `data` is None.
        frequency, recency, T : str or array_like, optional
            The columns or arrays x (repeat purchases), t_x (time of the last one)
            and T (time observed), in the model's time unit.
        weights : str or array_like, optional
            Customers per row (a column name or an array).
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
            A bad row (the message names the row and column).

        Examples
        --------
        Two CDNOW-like customers at CLVTools' CDNOW estimate (weeks); the sum of
        the rows' log-likelihoods -0.522835 and -9.549716 (mpmath quadrature):

        >>> m = churn.GGompertzNBD.from_params(r=0.55313, alpha=10.5758, b=0.0000011,
        ...                                    s=0.60682, beta=0.000013)
        >>> round(m.loglik(frequency=[0.0, 2.0], recency=[0.0, 30.43],
        ...                T=[38.86, 38.86]), 6)
        -10.07255
        """
        self._check(data, unit)
        return ggomnbd_loglik(self.params_.to_numpy(), data, frequency, recency, T, weights)


def ggomnbd_loglik(params, data=None, frequency=None, recency=None, T=None, weights=None,
                   gradient=False):
    """Weighted Gamma-Gompertz/NBD log-likelihood at `params` (r, alpha, b, s, beta).

    For x repeat purchases, the last at t_x, observed until T (Bemmaor & Glady's
    eq. 6, CLVTools' ``ggomnbd_nocov_LL_ind``), each row contributes
    log[Gamma(r+x)/Gamma(r) alpha^r ((alpha+T)^-(r+x) S(T)
    + integral_{t_x}^T (alpha+tau)^-(r+x) f(tau) dtau)], the integral by adaptive
    quadrature (relative tolerance 1e-11); the rows are summed with `weights`.

    Parameters
    ----------
    params : array_like
        The five natural-scale parameters r, alpha, b, s, beta (all > 0; alpha and
        1/b in the time unit of the data).
    data : DataFrame, optional
        Customer table holding the columns named by `frequency`, `recency`, `T`.
    frequency, recency, T : str or array_like, optional
        Columns of `data` (defaults 'frequency', 'recency', 'T') or arrays: x, t_x
        and T.
    weights : str or array_like, optional
        Customers per row.
    gradient : bool, default False
        Also return the gradient with respect to the natural-scale parameters
        (r, alpha, b, s, beta), integrated alongside the likelihood.

    Returns
    -------
    float or (float, ndarray)
        The log-likelihood, with its gradient (5 values) when `gradient` is True.

    Raises
    ------
    churn.ChurnValueError
        A bad row (the message names the row and column), a parameter that is not
        a finite number > 0, or not 5 parameters.
    churn.NumericalError
        The likelihood is not finite at these parameters.

    See Also
    --------
    GGompertzNBD.loglik : the same at a model's parameters.

    Examples
    --------
    One customer, 2 repeat purchases, the last at week 30.43 of 38.86, with a clearly
    Gompertz lifetime (b = 0.02 a week); mpmath quadrature of eq. 6 gives
    -9.568756009:

    >>> round(churn.ggomnbd_loglik([0.55, 10.58, 0.02, 0.6, 0.3], frequency=[2.0],
    ...                            recency=[30.43], T=[38.86]), 6)
    -9.568756
    >>> ll, g = churn.ggomnbd_loglik([0.55, 10.58, 0.02, 0.6, 0.3], frequency=[2.0],
    ...                              recency=[30.43], T=[38.86], gradient=True)
    >>> g.shape
    (5,)

    As b -> 0 with beta / b = 11.67 fixed it is the Pareto/NBD's:

    >>> gg = churn.ggomnbd_loglik([0.55, 10.58, 1e-8, 0.6, 11.67e-8], frequency=[2.0],
    ...                           recency=[30.43], T=[38.86])
    >>> pn = churn.btyd_loglik("pnbd", [0.55, 10.58, 0.6, 11.67], frequency=[2.0],
    ...                        recency=[30.43], T=[38.86])
    >>> round(gg, 5), round(pn, 5)
    (-9.54962, -9.54962)
    """
    x, tx, T_ = _btyd._columns(data, frequency, recency, T)
    w = None
    if weights is not None:
        w = as_f64(data[weights] if isinstance(weights, str) else weights, "weights",
                   x.shape[0])
    p = as_f64(params, "params")
    ll = ctypes.c_double()
    g = empty(p.shape[0]) if gradient else None
    check(_btyd._loglik(13, p.shape[0], ptr(p), x.shape[0], ptr(x), ptr(tx), ptr(T_), ptr(w),
                        ctypes.byref(ll), ptr(g)))
    return (ll.value, g) if gradient else ll.value


__all__ = ["GGompertzNBD", "ggomnbd_loglik"]
