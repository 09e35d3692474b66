"""BTYD models with static covariates (include/churn/covariates.h;
docs/models/covariates.md): the ctypes layer and the table plumbing used by the
model classes' ``fit(..., covariates=, trans=, life=)`` and scoring."""
import ctypes
from ctypes import POINTER, c_char_p, c_double, c_int, c_size_t, c_void_p

import numpy as np

from . import _lib
from ._errors import check

_d = _lib.c_double_p


class Covariates(ctypes.Structure):
    """Mirror of churn_btyd_covariates."""

    _fields_ = [("struct_size", c_size_t), ("n_trans", c_size_t), ("trans", _d),
                ("trans_names", POINTER(c_char_p)), ("n_life", c_size_t), ("life", _d),
                ("life_names", POINTER(c_char_p))]


class CovOptions(ctypes.Structure):
    """Mirror of churn_btyd_cov_options."""

    _fields_ = [("struct_size", c_size_t), ("l2_trans", c_double), ("l2_life", c_double),
                ("n_shared", c_size_t), ("shared", POINTER(c_char_p)), ("max_iter", c_int),
                ("tol", c_double), ("no_std_errors", c_int)]


_cov_init = _lib.fn("churn_btyd_covariates_init", None, POINTER(Covariates))
_opt_init = _lib.fn("churn_btyd_cov_options_init", None, POINTER(CovOptions))
_loglik = _lib.fn("churn_btyd_loglik_covariates", c_int, c_int, c_size_t, _d, c_size_t, _d, _d,
                  _d, _d, POINTER(Covariates), POINTER(c_double), _d)
_fit = _lib.fn("churn_btyd_fit_covariates", c_int, POINTER(c_void_p), c_int, c_size_t, _d, _d,
               _d, _d, POINTER(Covariates), POINTER(CovOptions))
_model_cov = _lib.fn("churn_btyd_model_covariates", c_int, c_void_p, POINTER(c_size_t),
                     POINTER(c_size_t))
_expected_new = _lib.fn("churn_btyd_expected_new_covariates", c_int, c_void_p, c_double,
                        c_size_t, POINTER(Covariates), _d)
_score = _lib.fn("churn_btyd_score_covariates", c_int, c_void_p, c_double, c_size_t, _d, _d, _d,
                 POINTER(Covariates), _d, _d)


_customer_params = _lib.fn("churn_btyd_customer_params_covariates", c_int, c_void_p, c_size_t,
                           POINTER(Covariates), _d)
_interval = _lib.fn("churn_btyd_predict_interval_covariates", c_int, c_void_p, c_double,
                    c_double, c_size_t, _d, _d, _d, POINTER(Covariates), _d, _d, _d, _d, _d,
                    _d)

_mbgc_fit = _lib.fn("churn_mbgcnbd_fit_covariates", c_int, POINTER(c_void_p), c_int, c_size_t,
                    _d, _d, _d, _d, _d, POINTER(Covariates), POINTER(CovOptions))

_boot = _lib.fn("churn_btyd_bootstrap_interval_covariates", c_int, c_void_p, c_size_t, _d, _d,
                _d, POINTER(Covariates), POINTER(CovOptions), c_double, c_size_t, _d, _d, _d,
                POINTER(Covariates), c_void_p, _d, _d, _d, _d, POINTER(c_size_t))


def _names(names):
    arr = (c_char_p * max(1, len(names)))()
    for i, s in enumerate(names):
        arr[i] = str(s).encode()
    return arr


def _block(frame, cols, n, what):
    """Column-major float64 block of `cols` from `frame`, checked finite."""
    if not cols:
        return None
    out = np.empty((len(cols), n), dtype=np.float64)
    for j, c in enumerate(cols):
        if c not in frame:
            raise KeyError(f"{what} covariate column '{c}' not found")
        v = frame[c]
        if getattr(v.dtype, "kind", "f") == "b":
            v = v.astype(np.float64)
        try:
            out[j] = np.asarray(v, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{what} covariate '{c}' is not numeric ({v.dtype}); code "
                            f"categories as 0/1 dummies") from e
    return out


def make(frame, trans, life, n, keep):
    """(Covariates struct, keep-alive list) for n customers from a DataFrame/dict."""
    trans, life = list(trans or []), list(life or [])
    zt, zl = _block(frame, trans, n, "trans"), _block(frame, life, n, "life")
    c = Covariates()
    _cov_init(ctypes.byref(c))
    if trans:
        nt = _names(trans)
        keep += [zt, nt]
        c.n_trans, c.trans, c.trans_names = len(trans), zt.ctypes.data_as(_d), nt
    if life:
        nl = _names(life)
        keep += [zl, nl]
        c.n_life, c.life, c.life_names = len(life), zl.ctypes.data_as(_d), nl
    return c


def aligned(covariates, index, n):
    """The covariate frame in the row order of a customer table with `index`."""
    import pandas as pd
    if covariates is None:
        raise TypeError("covariates: pass a DataFrame of covariates (index = customer id, "
                        "or the same rows as the table)")
    if isinstance(covariates, dict):
        covariates = pd.DataFrame(covariates)
    if index is not None and isinstance(covariates, pd.DataFrame) and \
            not covariates.index.equals(index) and len(index) == n:
        missing = index.difference(covariates.index)
        if len(missing):
            raise KeyError(f"covariates: {len(missing)} customers of the table have no row, "
                           f"e.g. {list(missing[:3])}")
        covariates = covariates.loc[index]
    if len(covariates) != n:
        raise ValueError(f"covariates: {len(covariates)} rows for {n} customers")
    return covariates


def options(l2_trans=0.0, l2_life=0.0, shared=(), max_iter=None, tol=None, std_errors=True):
    o = CovOptions()
    _opt_init(ctypes.byref(o))
    o.l2_trans, o.l2_life = float(l2_trans), float(l2_life)
    shared = list(shared or [])
    if shared:
        o.n_shared, o.shared = len(shared), _names(shared)
    if max_iter:
        o.max_iter = int(max_iter)
    if tol:
        o.tol = float(tol)
    o.no_std_errors = 0 if std_errors else 1
    return o


def loglik(family_code, params, x, tx, T, weights, cov):
    """Total log-likelihood and gradient of a covariate model (C)."""
    from ._arrays import ptr
    p = np.ascontiguousarray(params, dtype=np.float64)
    g = np.empty_like(p)
    ll = c_double()
    check(_loglik(family_code, p.shape[0], ptr(p), x.shape[0], ptr(x), ptr(tx), ptr(T),
                  ptr(weights), ctypes.byref(cov), ctypes.byref(ll), ptr(g)))
    return ll.value, g


def fit(family_code, x, tx, T, weights, cov, opts):
    """A C model handle (ENOCONV raises after the handle is kept by the caller)."""
    from ._arrays import ptr
    h = c_void_p()
    rc = _fit(ctypes.byref(h), family_code, x.shape[0], ptr(x), ptr(tx), ptr(T), ptr(weights),
              ctypes.byref(cov), ctypes.byref(opts))
    return h, rc


def counts(h):
    a, b = c_size_t(), c_size_t()
    check(_model_cov(h, ctypes.byref(a), ctypes.byref(b)))
    return a.value, b.value


def score(h, t, x, tx, T, cov):
    from ._arrays import empty, ptr
    n = x.shape[0]
    pa, ex = empty(n), empty(n)
    check(_score(h, float(t), n, ptr(x), ptr(tx), ptr(T), ctypes.byref(cov), ptr(pa), ptr(ex)))
    return pa, ex


# ---- the model classes' side (BGNBD, MBGNBD, ParetoNBD, GGompertzNBD) -----------------

COVARIATE_FAMILIES = {"bgnbd": 1, "mbgnbd": 2, "pnbd": 3, "ggomnbd": 13}


def model_names(model):
    """(trans names, life names) of a fitted model's coefficients."""
    names = list(model.params_.index)
    return ([n[6:] for n in names if n.startswith("trans.")],
            [n[5:] for n in names if n.startswith("life.")])


def has_covariates(model):
    return model._h is not None and counts(model._h) != (0, 0)


def _fit_inputs(data, x, covariates, trans, life, shared, l2_trans, l2_life, max_iter, tol,
                std_errors):
    """(Covariates struct, options, keep-alive list) of a fit with covariates."""
    from ._btyd import _index
    if not trans and not life:
        raise TypeError("covariates=: name the columns of the purchase process (trans=) "
                        "and/or of the dropout process (life=)")
    n = x.shape[0]
    frame = aligned(covariates, _index(data, n), n)
    keep = []
    cov = make(frame, trans, life, n, keep)
    opts = options(l2_trans, l2_life, shared, max_iter, tol, std_errors)
    keep.append(opts)
    return cov, opts, keep


def fit_model(model, data, x, tx, T, w, covariates, trans, life, shared, l2_trans, l2_life,
              max_iter, tol, std_errors, feedback):
    """Fit `model` (a _Btyd) with covariates; returns the C handle (raises on error)."""
    from ._errors import error_for
    fam = model._family_name
    if fam not in COVARIATE_FAMILIES:
        raise TypeError(f"covariates are supported for BGNBD, MBGNBD, ParetoNBD, "
                        f"GGompertzNBD and MBGCNBDk, not {type(model).__name__}")
    cov, opts, keep = _fit_inputs(data, x, covariates, trans, life, shared, l2_trans, l2_life,
                                  max_iter, tol, std_errors)
    with feedback:
        h, rc = fit(COVARIATE_FAMILIES[fam], x, tx, T, w, cov, opts)
    if rc != 0:
        err = error_for(rc)
        if h.value:
            err.model = type(model)()._set_handle(h.value)
        raise err
    return h.value


def _model_covariates(model, data, n, covariates, keep):
    """The Covariates struct of a covariate model's n customers (rows of `data`)."""
    from ._btyd import _index
    trans, life = model_names(model)
    if covariates is None:
        raise TypeError(f"this {type(model).__name__} has covariates (trans {trans}, life "
                        f"{life}): pass covariates= (a DataFrame indexed by customer id, or "
                        f"with the table's rows)")
    frame = aligned(covariates, _index(data, n), n)
    return make(frame, trans, life, n, keep)


def score_model(model, t, data, x, tx, T, covariates):
    """(p_alive, expected) arrays of a covariate model for these customers."""
    keep = []
    cov = _model_covariates(model, data, x.shape[0], covariates, keep)
    return score(model._require(), 0.0 if t is None else t, x, tx, T, cov)


def expected_new(model, t, covariates):
    """E[X(t)] of prospective customers with these covariates (one per row)."""
    from ._arrays import empty, ptr
    import pandas as pd
    trans, life = model_names(model)
    if isinstance(covariates, dict):
        covariates = pd.DataFrame(covariates)
    n = len(covariates)
    keep = []
    cov = make(covariates, trans, life, n, keep)
    out = empty(n)
    check(_expected_new(model._require(), float(t), n, ctypes.byref(cov), ptr(out)))
    return out


def interval_model(model, t, level, data, x, tx, T, covariates):
    """Six arrays (p_alive, its limits, expected, its limits) of a covariate model."""
    from ._arrays import empty, ptr
    n = x.shape[0]
    keep = []
    cov = _model_covariates(model, data, n, covariates, keep)
    cols = [empty(n) for _ in range(6)]
    check(_interval(model._require(), float(t), float(level), n, ptr(x), ptr(tx), ptr(T),
                    ctypes.byref(cov), *[ptr(c) for c in cols]))
    return cols


def bootstrap_model(model, fit_data, xf, txf, Tf, data, x, tx, T, t, covariates,
                    fit_covariates, boot_opts, shared, l2_trans, l2_life):
    """(four limit arrays, failed resamples) of a covariate model's bootstrap."""
    from ._arrays import empty, ptr
    from ._btyd import _index
    keep = []
    trans, life = model_names(model)
    fit_cov = covariates if fit_covariates is None else fit_covariates
    if fit_cov is None:
        raise TypeError(f"this {type(model).__name__} has covariates (trans {trans}, life "
                        f"{life}): pass covariates= (and fit_covariates= when the fitting "
                        f"customers' are in another frame)")
    nf = xf.shape[0]
    cf = make(aligned(fit_cov, _index(fit_data, nf), nf), trans, life, nf, keep)
    cs = _model_covariates(model, data, x.shape[0], covariates, keep)
    remembered = getattr(model, "_cov_fit_options", {})
    fo = options(remembered.get("l2_trans", 0.0) if l2_trans is None else l2_trans,
                 remembered.get("l2_life", 0.0) if l2_life is None else l2_life,
                 remembered.get("shared", []) if shared is None else shared)
    keep.append(fo)
    n = x.shape[0]
    cols = [empty(n) for _ in range(4)]
    failed = c_size_t(0)
    check(_boot(model._require(), nf, ptr(xf), ptr(txf), ptr(Tf), ctypes.byref(cf),
                ctypes.byref(fo), float(t), n, ptr(x), ptr(tx), ptr(T), ctypes.byref(cs),
                ctypes.byref(boot_opts), *[ptr(c) for c in cols], ctypes.byref(failed)))
    return cols, failed.value


def fit_mbgcnbd(model, data, x, tx, T, litt, w, k, covariates, trans, life, shared, l2_trans,
                l2_life, max_iter, tol, std_errors):
    """MBGCNBDk.fit with covariates (churn_mbgcnbd_fit_covariates); the C handle."""
    from ._arrays import ptr
    from ._errors import error_for
    n = x.shape[0]
    cov, opts, keep = _fit_inputs(data, x, covariates, trans, life, shared, l2_trans, l2_life,
                                  max_iter, tol, std_errors)
    h = c_void_p()
    rc = _mbgc_fit(ctypes.byref(h), int(k), n, ptr(x), ptr(tx), ptr(T), ptr(litt), ptr(w),
                   ctypes.byref(cov), ctypes.byref(opts))
    if rc != 0:
        err = error_for(rc)
        if h.value:
            err.model = type(model)()._set_handle(h.value)
        raise err
    model._cov_fit_options = {"shared": list(shared or []), "l2_trans": l2_trans,
                              "l2_life": l2_life}
    return h.value
