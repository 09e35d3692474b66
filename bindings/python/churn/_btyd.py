"""Buy-till-you-die models: BG/NBD, MBG/NBD, Pareto/NBD, BG/BB, sBG."""
import ctypes

import numpy as np

from . import _lib
from ._arrays import as_f64, empty, optional_f64, ptr
from ._errors import ENOCONV, check, error_for
from ._model import Model, register

_vp = ctypes.c_void_p
_d = _lib.c_double_p


class BtydOptions(ctypes.Structure):
    """Mirror of churn_btyd_options."""

    _fields_ = [("struct_size", ctypes.c_size_t), ("max_iter", ctypes.c_int),
                ("tol", ctypes.c_double), ("l2_penalty", ctypes.c_double),
                ("no_std_errors", ctypes.c_int)]


_fit = _lib.fn("churn_btyd_fit", ctypes.c_int, ctypes.POINTER(_vp), ctypes.c_int, ctypes.c_size_t,
               _d, _d, _d, _d, ctypes.POINTER(BtydOptions))
_p_alive = _lib.fn("churn_btyd_p_alive", ctypes.c_int, _vp, ctypes.c_size_t, _d, _d, _d, _d)
_expected = _lib.fn("churn_btyd_expected_purchases", ctypes.c_int, _vp, ctypes.c_double,
                    ctypes.c_size_t, _d, _d, _d, _d)
_score = _lib.fn("churn_btyd_score", ctypes.c_int, _vp, ctypes.c_double, ctypes.c_size_t,
                 _d, _d, _d, _d, _d)
_expected_new = _lib.fn("churn_btyd_expected_purchases_new", ctypes.c_int, _vp, ctypes.c_size_t,
                        _d, _d)
_prob = _lib.fn("churn_btyd_prob_purchases", ctypes.c_int, _vp, ctypes.c_double, ctypes.c_size_t,
                _d, _d)
_prob_cond = _lib.fn("churn_btyd_prob_purchases_cond", ctypes.c_int, _vp, ctypes.c_double,
                     ctypes.c_double, ctypes.c_size_t, _d, _d, _d, _d)
_pnbd_alive_at = _lib.fn("churn_pnbd_p_alive_at", ctypes.c_int, _vp, ctypes.c_double,
                         ctypes.c_size_t, _d, _d, _d, _d)
_sbg_fit = _lib.fn("churn_sbg_fit", ctypes.c_int, ctypes.POINTER(_vp), ctypes.c_size_t, _d,
                   _lib.c_int_p, _d, ctypes.POINTER(BtydOptions))
_sbg_fit_surv = _lib.fn("churn_sbg_fit_survivors", ctypes.c_int, ctypes.POINTER(_vp),
                        ctypes.c_size_t, _d, ctypes.POINTER(BtydOptions))
_sbg_curve = _lib.fn("churn_sbg_curve", ctypes.c_int, _vp, ctypes.c_size_t, _d, _d)
_sbg_derl = _lib.fn("churn_sbg_derl", ctypes.c_int, _vp, ctypes.c_double, ctypes.c_size_t, _d, _d)

_FAMILY = {"bgnbd": 1, "mbgnbd": 2, "pnbd": 3, "bgbb": 4, "sbg": 5}


def _options(l2=0.0, max_iter=None, tol=None, std_errors=True):
    o = BtydOptions()
    o.struct_size = ctypes.sizeof(BtydOptions)
    o.max_iter = int(max_iter or 0)
    o.tol = float(tol or 0.0)
    o.l2_penalty = float(l2)
    o.no_std_errors = 0 if std_errors else 1
    return o


def _columns(data, frequency, recency, T, names=("frequency", "recency", "T")):
    """Take (frequency, recency, T) from a DataFrame/dict or explicit arrays."""
    if data is not None:
        cols = []
        for given, name in zip((frequency, recency, T), names):
            key = given if isinstance(given, str) else name
            if given is not None and not isinstance(given, str):
                cols.append(given)
            else:
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
    idx = getattr(data, "index", None)
    return idx if idx is not None and len(idx) == n else None


def _series(values, data, name):
    import pandas as pd
    idx = _index(data, values.shape[0])
    if idx is None:
        return values
    return pd.Series(values, index=idx, name=name)


class _Btyd(Model):
    """Shared behaviour of the (frequency, recency, T) models."""

    def fit(self, data=None, frequency=None, recency=None, T=None, weights=None, l2=0.0,
            max_iter=None, tol=None, std_errors=True):
        """Fit by maximum likelihood; returns self.

        `data` is a customer table (DataFrame with frequency, recency, T columns) or pass
        the arrays. `weights` = number of customers per row. `l2` is the L2 penalty on the
        log-parameters (docs/models/btyd.md). Raises ConvergenceError (with ``.model``)
        when the optimiser did not converge."""
        x, tx, T_ = _columns(data, frequency, recency, T)
        w = None
        if weights is not None:
            w = as_f64(data[weights] if isinstance(weights, str) else weights, "weights",
                       x.shape[0])
        o = _options(l2, max_iter, tol, std_errors)
        h = _vp()
        rc = _fit(ctypes.byref(h), _FAMILY[self._family_name], x.shape[0], ptr(x), ptr(tx),
                  ptr(T_), ptr(w), ctypes.byref(o))
        if rc == ENOCONV and h.value:
            err = error_for(rc)
            err.model = type(self)()._set_handle(h.value)
            raise err
        check(rc)
        return self._set_handle(h.value)

    def p_alive(self, data=None, frequency=None, recency=None, T=None):
        """P(customer still alive at the end of calibration)."""
        x, tx, T_ = _columns(data, frequency, recency, T)
        out = empty(x.shape[0])
        check(_p_alive(self._require(), x.shape[0], ptr(x), ptr(tx), ptr(T_), ptr(out)))
        return _series(out, data, "p_alive")

    def p_churn(self, data=None, frequency=None, recency=None, T=None):
        """1 - P(alive)."""
        return 1.0 - self.p_alive(data, frequency, recency, T)

    def expected_purchases(self, t, data=None, frequency=None, recency=None, T=None):
        """Conditional expected purchases in the next `t` time units given each history."""
        x, tx, T_ = _columns(data, frequency, recency, T)
        out = empty(x.shape[0])
        check(_expected(self._require(), float(t), x.shape[0], ptr(x), ptr(tx), ptr(T_),
                        ptr(out)))
        return _series(out, data, "expected_purchases")

    predict = expected_purchases

    def score(self, t, data=None, frequency=None, recency=None, T=None):
        """P(alive) and expected purchases in the next t, in one pass (a DataFrame)."""
        import pandas as pd
        x, tx, T_ = _columns(data, frequency, recency, T)
        pa, ex = empty(x.shape[0]), empty(x.shape[0])
        check(_score(self._require(), float(t), x.shape[0], ptr(x), ptr(tx), ptr(T_), ptr(pa),
                     ptr(ex)))
        return pd.DataFrame({"p_alive": pa, "expected_purchases": ex},
                            index=_index(data, x.shape[0]))

    def expected_purchases_new(self, t):
        """E[X(t)] for a customer who just made a first purchase (t: scalar or array)."""
        scalar = np.ndim(t) == 0
        tt = as_f64(t, "t")
        out = empty(tt.shape[0])
        check(_expected_new(self._require(), tt.shape[0], ptr(tt), ptr(out)))
        return float(out[0]) if scalar else out

    def prob_purchases(self, k, t):
        """P(X(t) = k) for a new customer (t: scalar or array)."""
        scalar = np.ndim(t) == 0
        tt = as_f64(t, "t")
        out = empty(tt.shape[0])
        check(_prob(self._require(), float(k), tt.shape[0], ptr(tt), ptr(out)))
        return float(out[0]) if scalar else out

    def conditional_prob_purchases(self, k, t, data=None, frequency=None, recency=None, T=None):
        """P(k purchases in the next t | history)."""
        x, tx, T_ = _columns(data, frequency, recency, T)
        out = empty(x.shape[0])
        check(_prob_cond(self._require(), float(k), float(t), x.shape[0], ptr(x), ptr(tx),
                         ptr(T_), ptr(out)))
        return _series(out, data, f"p_{k}_purchases")


@register("bgnbd")
class BGNBD(_Btyd):
    """BG/NBD (Fader, Hardie & Lee 2005). Parameters r, alpha, a, b."""


@register("mbgnbd")
class MBGNBD(_Btyd):
    """MBG/NBD (Batislam, Denizel & Filiztekin 2007). Parameters r, alpha, a, b."""


@register("pnbd")
class ParetoNBD(_Btyd):
    """Pareto/NBD (Schmittlein, Morrison & Colombo 1987). Parameters r, alpha, s, beta."""

    def p_alive_at(self, t, data=None, frequency=None, recency=None, T=None):
        """P(alive at T + t | history)."""
        x, tx, T_ = _columns(data, frequency, recency, T)
        out = empty(x.shape[0])
        check(_pnbd_alive_at(self._require(), float(t), x.shape[0], ptr(x), ptr(tx), ptr(T_),
                             ptr(out)))
        return _series(out, data, "p_alive")


@register("bgbb")
class BGBB(_Btyd):
    """BG/BB for discrete opportunities (Fader, Hardie & Shang 2010). Parameters alpha,
    beta, gamma, delta. Data: frequency, recency (opportunity of the last transaction)
    and T = number of opportunities (a 'periods' or 'n' column is accepted too)."""

    def fit(self, data=None, frequency=None, recency=None, T=None, weights=None, **kw):
        if data is not None and T is None and "T" not in data:
            for alt in ("periods", "n"):
                if alt in data:
                    T = alt
        if data is not None and weights is None and "weights" in data:
            weights = "weights"
        return super().fit(data, frequency, recency, T, weights, **kw)


@register("sbg")
class SBG(Model):
    """Shifted beta-geometric contractual retention model (Fader & Hardie 2007)."""

    def fit(self, periods=None, churned=None, weights=None, survivors=None, l2=0.0,
            max_iter=None, tol=None):
        """Fit from per-customer (periods, churned) arrays, or from a survivor curve."""
        o = _options(l2, max_iter, tol)
        h = _vp()
        if survivors is not None:
            s = as_f64(survivors, "survivors")
            rc = _sbg_fit_surv(ctypes.byref(h), s.shape[0], ptr(s), ctypes.byref(o))
        else:
            p = as_f64(periods, "periods")
            n = p.shape[0]
            c = np.ascontiguousarray(np.asarray(churned), dtype=np.intc)
            if c.shape[0] != n:
                raise ValueError(f"churned: length {c.shape[0]} does not match {n}")
            w = optional_f64(weights, "weights", n)
            rc = _sbg_fit(ctypes.byref(h), n, ptr(p), c.ctypes.data_as(_lib.c_int_p), ptr(w),
                          ctypes.byref(o))
        check(rc)
        return self._set_handle(h.value)

    def retention(self, n):
        """Retention rates r_1..r_n and survival S(1)..S(n) as a DataFrame."""
        import pandas as pd
        r, s = empty(n), empty(n)
        check(_sbg_curve(self._require(), int(n), ptr(r), ptr(s)))
        return pd.DataFrame({"retention": r, "survival": s},
                            index=pd.RangeIndex(1, n + 1, name="period"))

    def derl(self, discount, periods):
        """Discounted expected residual lifetime after `periods` renewals."""
        p = as_f64(periods, "periods")
        out = empty(p.shape[0])
        check(_sbg_derl(self._require(), float(discount), p.shape[0], ptr(p), ptr(out)))
        return out
