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
    and ordered as in CLVTools; b and alpha are per time unit of the data, beta
    and r, s have no unit. b -> 0 with beta / b fixed gives the Pareto/NBD.

    The likelihood and the predictions integrate over the lifetime numerically
    (adaptive Gauss-Kronrod quadrature, docs/models/ggomnbd.md), so fitting and
    scoring are 10-100 times slower than :class:`ParetoNBD`. Methods are those of
    the other BTYD classes: ``fit``, ``p_alive``, ``expected_purchases``, ``score``,
    ``predict_frame``, ``expected_purchases_new``, ``prob_purchases``,
    ``conditional_prob_purchases``, ``loglik``; ``churn.clv`` and ``churn.dert``
    accept the fitted model.

    Examples
    --------
    >>> import churn
    >>> m = churn.GGompertzNBD.from_params(r=0.55, alpha=10.58, b=0.02, s=0.6, beta=0.3)
    >>> float(m.expected_purchases_new([52.0])[0]) > 0
    True
    """

    def loglik(self, data=None, frequency=None, recency=None, T=None, weights=None, *,
               unit=None):
        """Log-likelihood of this model's parameters on the given customers.

        Parameters
        ----------
        data : DataFrame, optional
            Customer table; `frequency`, `recency`, `T` name its columns (defaults
            'frequency', 'recency', 'T') or are arrays when `data` is None.
        frequency, recency, T : str or array_like, optional
            The columns or arrays x, t_x, T.
        weights : str or array_like, optional
            Customers per row (a column name or an array).
        unit : str or float, optional
            The unit of arrays (checked against the model's).

        Returns
        -------
        float
        """
        self._check(data, unit)
        return ggomnbd_loglik(self.params_.to_numpy(), data, frequency, recency, T, weights)


def ggomnbd_loglik(params, data=None, frequency=None, recency=None, T=None, weights=None,
                   gradient=False):
    """Weighted Gamma-Gompertz/NBD log-likelihood at `params` (r, alpha, b, s, beta).

    Parameters
    ----------
    params : array_like
        The five natural-scale parameters r, alpha, b, s, beta (all > 0).
    data : DataFrame, optional
        Customer table holding the columns named by `frequency`, `recency`, `T`.
    frequency, recency, T : str or array_like, optional
        Columns of `data` (defaults 'frequency', 'recency', 'T') or arrays.
    weights : str or array_like, optional
        Customers per row.
    gradient : bool, default False
        Also return the gradient with respect to the natural-scale parameters.

    Returns
    -------
    float or (float, ndarray)
        The log-likelihood, with its gradient when `gradient` is True.

    Raises
    ------
    churn.ChurnValueError
        A bad row (the message names the row and column) or parameter.
    churn.NumericalError
        The likelihood is not finite at these parameters.
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
