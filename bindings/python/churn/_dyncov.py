"""Pareto/NBD with time-varying covariates (include/churn/covariates.h, second part;
docs/models/dyncov.md): the ctypes layer, arrays in and out. The long-format table
interface is :func:`churn.fit_pnbd_dyncov` (``_dyncov_table.py``)."""
import ctypes
from ctypes import POINTER, c_char_p, c_double, c_int, c_size_t, c_void_p

import numpy as np

from . import _lib
from ._covariates import CovOptions, _names, options
from ._errors import check

_d = _lib.c_double_p


class Dyncov(ctypes.Structure):
    """Mirror of churn_btyd_dyncov."""

    _fields_ = [("struct_size", c_size_t), ("n_periods", c_size_t), ("boundaries", _d),
                ("birth", _d), ("counts", _d), ("n_trans", c_size_t), ("trans", _d),
                ("trans_names", POINTER(c_char_p)), ("n_life", c_size_t), ("life", _d),
                ("life_names", POINTER(c_char_p))]


_init = _lib.fn("churn_btyd_dyncov_init", None, POINTER(Dyncov))
_loglik = _lib.fn("churn_pnbd_dyncov_loglik", c_int, c_size_t, _d, c_size_t, _d, _d, _d, _d,
                  POINTER(Dyncov), POINTER(c_double), _d)
_fit = _lib.fn("churn_pnbd_dyncov_fit", c_int, POINTER(c_void_p), c_size_t, _d, _d, _d, _d,
               POINTER(Dyncov), POINTER(CovOptions))
_score = _lib.fn("churn_pnbd_dyncov_score", c_int, c_void_p, c_double, c_size_t, _d, _d, _d,
                 POINTER(Dyncov), _d, _d)
_expected_new = _lib.fn("churn_pnbd_dyncov_expected_new", c_int, c_void_p, c_double, c_size_t,
                        POINTER(Dyncov), _d)


def _f64(a):
    return None if a is None else np.ascontiguousarray(a, dtype=np.float64)


def _p(a):
    return None if a is None else a.ctypes.data_as(_d)


def make(boundaries, birth, counts=None, trans=None, trans_names=(), life=None, life_names=(),
         keep=None):
    """A Dyncov struct. trans/life: arrays of shape (k, n_periods, n) (C order), so that
    value [j, p, i] sits at (j * n_periods + p) * n + i; counts: (n_periods, n)."""
    keep = [] if keep is None else keep
    b, br = _f64(boundaries), _f64(birth)
    c = Dyncov()
    _init(ctypes.byref(c))
    c.n_periods = b.shape[0] - 1
    c.boundaries, c.birth = _p(b), _p(br)
    keep += [b, br]
    if counts is not None:
        cn = _f64(counts)
        keep.append(cn)
        c.counts = _p(cn)
    for proc, z, names in (("trans", trans, trans_names), ("life", life, life_names)):
        names = list(names or [])
        if not names:
            continue
        z = _f64(z)
        nm = _names(names)
        keep += [z, nm]
        setattr(c, "n_" + proc, len(names))
        setattr(c, proc, _p(z))
        setattr(c, proc + "_names", nm)
    return c, keep


def loglik(params, x, tx, T, dc, weights=None):
    """(log-likelihood, gradient) of the C function."""
    p = _f64(params)
    x, tx, T, w = _f64(x), _f64(tx), _f64(T), _f64(weights)
    g = np.empty_like(p)
    ll = c_double()
    check(_loglik(p.shape[0], _p(p), x.shape[0], _p(x), _p(tx), _p(T), _p(w), ctypes.byref(dc),
                  ctypes.byref(ll), _p(g)))
    return ll.value, g


def fit(x, tx, T, dc, weights=None, opts=None):
    """(C model handle, status): the handle is set on ENOCONV too."""
    x, tx, T, w = _f64(x), _f64(tx), _f64(T), _f64(weights)
    h = c_void_p()
    opts = opts if opts is not None else options()
    rc = _fit(ctypes.byref(h), x.shape[0], _p(x), _p(tx), _p(T), _p(w), ctypes.byref(dc),
              ctypes.byref(opts))
    return h, rc


def score(h, t, x, tx, T, dc):
    """(P(alive), expected purchases in (T, T + t]) arrays."""
    x, tx, T = _f64(x), _f64(tx), _f64(T)
    n = x.shape[0]
    pa, ex = np.empty(n), np.empty(n)
    check(_score(h, float(t), n, _p(x), _p(tx), _p(T), ctypes.byref(dc), _p(pa), _p(ex)))
    return pa, ex


def expected_new(h, t, n, dc):
    out = np.empty(n)
    check(_expected_new(h, float(t), n, ctypes.byref(dc), _p(out)))
    return out
