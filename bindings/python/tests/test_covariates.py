"""BTYD models with static covariates (covariates.h, docs/models/covariates.md).

Independent references:
- the log-likelihood of each customer written from the model's definition and
  integrated numerically with mpmath (Pareto/NBD: over the unobserved death time;
  BG/NBD: over the dropout probability p), its gradient by mpmath's numerical
  differentiation at 30 digits;
- the plain models' fits and predictions (covariates all zero or none);
- simulation with known covariate effects, written here in numpy (not the library's
  simulator): recovery within 3 standard errors at 100,000 customers, and standard
  errors against the spread of estimates over 100 data sets of 10,000 customers.
"""
import ctypes
import json

import mpmath as mp
import numpy as np
import pandas as pd
import pytest

import churn
from churn import _covariates as C

PNBD, BGNBD = 3, 1


# ---- independent likelihoods -----------------------------------------------------------

def _pnbd_li(r, al, s, be, x, tx, T):
    """log L of one Pareto/NBD customer: alive through T, or dead at tau in (t_x, T]."""
    A = lambda tau: mp.gamma(r + x) / mp.gamma(r) * al ** r / (al + tau) ** (r + x)
    alive = A(T) * (be / (be + T)) ** s
    dead = mp.quad(lambda tau: A(tau) * s * be ** s / (be + tau) ** (s + 1), [tx, T]) \
        if T > tx else 0
    return mp.log(alive + dead)


def _bgnbd_li(r, al, a, b, x, tx, T):
    """log L of one BG/NBD customer: integrate the dropout probability p ~ Beta(a, b)."""
    lam_T = mp.gamma(r + x) / mp.gamma(r) * al ** r / (al + T) ** (r + x)
    lam_t = mp.gamma(r + x) / mp.gamma(r) * al ** r / (al + tx) ** (r + x)
    dens = lambda p: p ** (a - 1) * (1 - p) ** (b - 1) / mp.beta(a, b)
    f = lambda p: dens(p) * ((1 - p) ** x * lam_T + (p * (1 - p) ** (x - 1) * lam_t if x > 0
                                                      else 0))
    return mp.log(mp.quad(f, [0, 0.5, 1]))


def _total(family, params, x, tx, T, zt, zl):
    base, kt = params[:4], zt.shape[1]
    gt, gl = params[4:4 + kt], params[4 + kt:]
    tot = mp.mpf(0)
    for i in range(len(x)):
        et = mp.fsum(mp.mpf(g) * float(z) for g, z in zip(gt, zt[i]))
        el = mp.fsum(mp.mpf(g) * float(z) for g, z in zip(gl, zl[i]))
        if family == PNBD:
            r, al, s, be = base
            tot += _pnbd_li(r, al * mp.exp(-et), s, be * mp.exp(-el), x[i], tx[i], T[i])
        else:
            r, al, a, b = base
            tot += _bgnbd_li(r, al * mp.exp(-et), a * mp.exp(el), b * mp.exp(el), x[i], tx[i],
                             T[i])
    return tot


CUSTOMERS = dict(x=np.array([0.0, 1, 3, 7, 2, 12]), tx=np.array([0.0, 4.5, 20.1, 30.0, 8.0, 38.2]),
                 T=np.array([30.0, 35.0, 36.0, 38.5, 40.0, 39.0]))
ZT = np.array([[0.3, 1.0], [-1.2, 0.0], [0.5, 1.0], [2.0, 0.0], [0.0, 1.0], [-0.4, 0.0]])
ZL = np.array([[1.0], [0.0], [1.0], [0.0], [0.3], [-0.7]])


def _cov_struct(zt, zl, keep, trans=("t1", "t2"), life=("l1",)):
    frame = {**{n: zt[:, j] for j, n in enumerate(trans)},
             **{n: zl[:, j] for j, n in enumerate(life)}}
    return C.make(frame, list(trans), list(life), zt.shape[0], keep)


@pytest.mark.parametrize("family,points", [
    (PNBD, [[0.55, 10.6, 0.61, 11.7, 0.4, -0.3, 0.6], [1.3, 4.0, 0.2, 30.0, -0.8, 0.5, -1.1],
            [0.2, 20.0, 1.5, 5.0, 0.0, 0.0, 0.0]]),
    (BGNBD, [[0.25, 4.0, 0.8, 2.4, 0.4, -0.3, 0.6], [1.1, 9.0, 2.5, 6.0, -0.8, 0.5, -1.1],
             [0.5, 2.0, 0.3, 1.2, 0.0, 0.0, 0.0]]),
])
def test_loglik_and_gradient_match_numerical_integration(family, points):
    mp.mp.dps = 30
    keep = []
    cov = _cov_struct(ZT, ZL, keep)
    c = CUSTOMERS
    for at, params in enumerate(points):
        ll, grad = C.loglik(family, np.array(params), c["x"], c["tx"], c["T"], None, cov)
        ref = _total(family, [mp.mpf(v) for v in params], c["x"], c["tx"], c["T"], ZT, ZL)
        assert ll == pytest.approx(float(ref), rel=1e-10)
        # the gradient at the first point (each component costs two integrations of
        # every customer at 20 digits)
        for j in range(len(params) if at == 0 else 0):
            def f(v, j=j):
                q = [mp.mpf(p) for p in params]
                q[j] = v
                return _total(family, q, c["x"], c["tx"], c["T"], ZT, ZL)
            d = mp.diff(f, mp.mpf(params[j]))
            assert grad[j] == pytest.approx(float(d), rel=1e-8, abs=1e-9), (params, j)


# ---- reduction to the plain models -------------------------------------------------------

def _sim_table(model, n, seed):
    t = churn.simulate_summary(n, model, seed=seed, acquisition_days=84)
    return t["frequency"].to_numpy(float), t["recency"].to_numpy(float), t["T"].to_numpy(float)


@pytest.mark.parametrize("model,code,cls", [("pnbd", PNBD, churn.ParetoNBD),
                                            ("bgnbd", BGNBD, churn.BGNBD)])
def test_zero_or_no_covariates_reproduce_the_plain_fit(model, code, cls):
    x, tx, T = _sim_table(model, 4000, 17)
    plain = cls().fit(pd.DataFrame({"frequency": x, "recency": tx, "T": T}))
    keep = []
    none = C.make({}, [], [], len(x), keep)
    h, rc = C.fit(code, x, tx, T, None, none, C.options())
    assert rc == 0
    m0 = churn.Model._wrap(h)
    np.testing.assert_allclose(m0.params_.to_numpy(), plain.params_.to_numpy(), rtol=1e-8)
    assert m0.loglik_ == pytest.approx(plain.loglik_, rel=1e-10)
    zeros = np.zeros((len(x), 2))
    cov = _cov_struct(zeros, zeros[:, :1], keep)
    h, rc = C.fit(code, x, tx, T, None, cov, C.options())
    assert rc == 0
    m = churn.Model._wrap(h)
    np.testing.assert_allclose(m.params_.to_numpy()[:4], plain.params_.to_numpy(), rtol=1e-8)
    assert np.all(m.params_.to_numpy()[4:] == 0)
    assert m.loglik_ == pytest.approx(plain.loglik_, rel=1e-10)
    assert "not identified" in m.note_
    # scoring with zero covariates equals the plain model's scores
    pa, ex = C.score(m._require(), 10.0, x[:200], tx[:200], T[:200],
                     _cov_struct(zeros[:200], zeros[:200, :1], keep))
    s = plain.score(10.0, pd.DataFrame({"frequency": x[:200], "recency": tx[:200],
                                        "T": T[:200]}))
    np.testing.assert_allclose(pa, s["p_alive"], rtol=1e-8)
    np.testing.assert_allclose(ex, s["expected_purchases"], rtol=1e-8)


def test_scores_use_each_customers_own_parameters():
    params = np.array([0.55, 10.6, 0.61, 11.7, 0.4, -0.3, 0.6])
    m = _handle_from_params(PNBD, params, ("t1", "t2"), ("l1",))
    keep = []
    cov = _cov_struct(ZT, ZL, keep)
    c = CUSTOMERS
    pa, ex = C.score(m._require(), 13.0, c["x"], c["tx"], c["T"], cov)
    for i in range(len(c["x"])):
        al = 10.6 * np.exp(-(ZT[i] @ params[4:6]))
        be = 11.7 * np.exp(-(ZL[i] @ params[6:]))
        one = churn.ParetoNBD.from_params(r=0.55, alpha=al, s=0.61, beta=be)
        row = pd.DataFrame({"frequency": [c["x"][i]], "recency": [c["tx"][i]], "T": [c["T"][i]]})
        s = one.score(13.0, row)
        assert pa[i] == pytest.approx(s["p_alive"].iloc[0], rel=1e-12)
        assert ex[i] == pytest.approx(s["expected_purchases"].iloc[0], rel=1e-12)


def _handle_from_params(family, params, trans, life):
    """A covariate model from known parameters, through a format-2 model file."""
    names = (["r", "alpha", "s", "beta"] if family == PNBD else ["r", "alpha", "a", "b"]) + \
        [f"trans.{n}" for n in trans] + [f"life.{n}" for n in life]
    doc = {"format": "libchurn-model", "format_version": 2,
           "family": "pnbd" if family == PNBD else "bgnbd", "time_unit_days": 7.0,
           "param_names": names, "params": [float(v) for v in params],
           "std_errors": [None] * len(params), "covariance": None, "loglik": None,
           "nobs": 0, "converged": True, "iterations": 0}
    return churn.Model.from_json(json.dumps(doc))


# ---- model files, refusals -------------------------------------------------------------

def test_model_file_round_trip_and_plain_scoring_refused(tmp_path):
    x, tx, T = _sim_table("pnbd", 3000, 5)
    rng = np.random.default_rng(1)
    zt = rng.normal(size=(len(x), 1))
    keep = []
    cov = C.make({"promo": zt[:, 0]}, ["promo"], [], len(x), keep)
    h, rc = C.fit(PNBD, x, tx, T, None, cov, C.options())
    assert rc == 0
    m = churn.Model._wrap(h)
    path = tmp_path / "cov.json"
    m.save(str(path))
    doc = json.loads(path.read_text())
    assert doc["format_version"] == 2
    assert doc["param_names"][4] == "trans.promo"
    back = churn.load_model(str(path))
    np.testing.assert_array_equal(back.params_.to_numpy(), m.params_.to_numpy())
    pa1, _ = C.score(m._require(), 5, x, tx, T, cov)
    pa2, _ = C.score(back._require(), 5, x, tx, T, cov)
    np.testing.assert_array_equal(pa1, pa2)
    with pytest.raises(TypeError, match="pass covariates="):
        back.p_alive(pd.DataFrame({"frequency": x, "recency": tx, "T": T}))
    # the C function says the same without the binding's check
    from churn import _btyd
    from churn._arrays import empty, ptr
    out = empty(len(x))
    rc = _btyd._p_alive(back._require(), len(x), ptr(x), ptr(tx), ptr(T), ptr(out))
    assert rc != 0 and "covariate coefficients" in churn._lib.churn_last_error_message().decode()
    # a plain model still writes format 1
    plain = churn.ParetoNBD().fit(pd.DataFrame({"frequency": x, "recency": tx, "T": T}))
    plain.save(str(tmp_path / "plain.json"))
    assert json.loads((tmp_path / "plain.json").read_text())["format_version"] == 1
    # a format-1 file may not carry coefficients
    doc["format_version"] = 1
    with pytest.raises(churn.ChurnError, match="format_version 2"):
        churn.Model.from_json(json.dumps(doc))
    # scoring without the model's covariate names it
    other = C.make({"x": zt[:, 0]}, ["x"], [], len(x), keep)
    with pytest.raises(ValueError, match="trans covariate 'promo'"):
        C.score(m._require(), 5, x, tx, T, other)


def test_bad_covariates_are_refused_with_names():
    x, tx, T = _sim_table("bgnbd", 500, 3)
    keep = []
    z = np.random.default_rng(2).normal(size=len(x))
    z[17] = np.nan
    cov = C.make({"spend": z}, ["spend"], [], len(x), keep)
    h, rc = C.fit(BGNBD, x, tx, T, None, cov, C.options())
    assert rc != 0
    msg = churn._lib.churn_last_error_message().decode()
    assert "'spend'" in msg and "row 17," in msg
    cov = C.make({"one": np.ones(len(x))}, [], ["one"], len(x), keep)
    h, rc = C.fit(BGNBD, x, tx, T, None, cov, C.options())
    assert rc != 0 and "same value" in churn._lib.churn_last_error_message().decode()
    cov = C.make({"a": (np.arange(len(x)) % 2).astype(float)}, ["a"], [], len(x), keep)
    h, rc = C.fit(BGNBD, x, tx, T, None, cov, C.options(shared=["a"]))
    assert rc != 0 and "not a life covariate" in churn._lib.churn_last_error_message().decode()


# ---- constraints and penalties ----------------------------------------------------------

def test_shared_coefficient_and_l2_penalty():
    """An equality constraint gives one coefficient in both processes, and the fit is the
    maximum of the constrained likelihood (checked with scipy on the C log-likelihood);
    an L2 penalty's optimum satisfies grad LL = 2 lambda gamma."""
    from scipy.optimize import minimize
    x, tx, T, zt, zl = sim_pnbd(8000, 0.55, 10.6, 0.61, 11.7, [0.5], [0.5], seed=9,
                                same=True)
    keep = []
    cov = C.make({"ch": zt[:, 0]}, ["ch"], ["ch"], len(x), keep)
    h, rc = C.fit(PNBD, x, tx, T, None, cov, C.options(shared=["ch"]))
    assert rc == 0
    m = churn.Model._wrap(h)
    p = m.params_.to_numpy()
    assert p[4] == p[5]

    def negll(v):
        q = np.concatenate([np.exp(v[:4]), [v[4], v[4]]])
        return -C.loglik(PNBD, q, x, tx, T, None, cov)[0]
    start = np.concatenate([np.log(p[:4]) + 0.05, [p[4] - 0.1]])
    res = minimize(negll, start, method="Nelder-Mead",
                   options={"xatol": 1e-9, "fatol": 1e-9, "maxiter": 20000, "maxfev": 20000})
    assert -res.fun <= m.loglik_ + 1e-6
    np.testing.assert_allclose(np.exp(res.x[:4]), p[:4], rtol=2e-3)
    assert res.x[4] == pytest.approx(p[4], abs=2e-3)

    cov2 = C.make({"t": zt[:, 0], "l": zl[:, 0]}, ["t"], ["l"], len(x), keep)
    h, rc = C.fit(PNBD, x, tx, T, None, cov2, C.options(l2_trans=50.0, l2_life=200.0))
    assert rc == 0
    pen = churn.Model._wrap(h).params_.to_numpy()
    h, rc = C.fit(PNBD, x, tx, T, None, cov2, C.options())
    free = churn.Model._wrap(h).params_.to_numpy()
    assert abs(pen[4]) < abs(free[4]) and abs(pen[5]) < abs(free[5])
    _, g = C.loglik(PNBD, pen, x, tx, T, None, cov2)
    assert g[4] == pytest.approx(2 * 50.0 * pen[4], rel=1e-5)
    assert g[5] == pytest.approx(2 * 200.0 * pen[5], rel=1e-5)


# ---- recovery on simulated data with known covariate effects ----------------------------

def sim_pnbd(n, r, alpha, s, beta, gt, gl, seed, same=False):
    rng = np.random.default_rng(seed)
    zt = rng.normal(size=(n, len(gt)))
    zl = zt.copy() if same else rng.binomial(1, 0.5, size=(n, len(gl))).astype(float)
    ai = alpha * np.exp(-zt @ np.asarray(gt, float))
    bi = beta * np.exp(-zl @ np.asarray(gl, float))
    lam, mu = rng.gamma(r, 1 / ai), rng.gamma(s, 1 / bi)
    T = rng.uniform(26, 52, n)
    L = np.minimum(rng.exponential(1 / mu), T)
    x = rng.poisson(lam * L).astype(float)
    tx = np.where(x > 0, L * rng.uniform(size=n) ** (1 / np.maximum(x, 1)), 0.0)
    return x, tx, T, zt, zl


def sim_bgnbd(n, r, alpha, a, b, gt, gl, seed):
    rng = np.random.default_rng(seed)
    zt = rng.normal(size=(n, len(gt)))
    zl = rng.binomial(1, 0.5, size=(n, len(gl))).astype(float)
    ai = alpha * np.exp(-zt @ np.asarray(gt, float))
    el = np.exp(zl @ np.asarray(gl, float))
    lam, p = rng.gamma(r, 1 / ai), rng.beta(a * el, b * el)
    T = rng.uniform(26, 52, n)
    x, tx, t = np.zeros(n), np.zeros(n), np.zeros(n)
    act = np.ones(n, bool)
    while act.any():
        idx = np.flatnonzero(act)
        t[idx] += rng.exponential(1 / lam[idx])
        over = t[idx] > T[idx]
        act[idx[over]] = False
        ok = idx[~over]
        x[ok] += 1
        tx[ok] = t[ok]
        act[ok[rng.uniform(size=ok.size) < p[ok]]] = False
    return x, tx, T, zt, zl


def _fit_sim(code, x, tx, T, zt, zl):
    keep = []
    frame = {"t1": zt[:, 0], "t2": zt[:, 1], "l1": zl[:, 0], "l2": zl[:, 1]}
    cov = C.make(frame, ["t1", "t2"], ["l1", "l2"], len(x), keep)
    h, rc = C.fit(code, x, tx, T, None, cov, C.options())
    assert rc == 0, churn._lib.churn_last_error_message()
    m = churn.Model._wrap(h)
    return m.params_.to_numpy(), np.asarray(m.standard_errors_)


@pytest.mark.parametrize("code,sim,base", [(PNBD, sim_pnbd, (0.55, 10.6, 0.61, 11.7)),
                                           (BGNBD, sim_bgnbd, (0.25, 4.0, 0.8, 2.4))])
def test_recovery_within_three_standard_errors(code, sim, base):
    gt, gl = [0.5, -0.3], [0.7, -0.4]
    x, tx, T, zt, zl = sim(100_000, *base, gt, gl, seed=5)
    est, se = _fit_sim(code, x, tx, T, zt, zl)
    truth = np.array(list(base) + gt + gl)
    z = (est - truth) / se
    assert np.all(np.abs(z) < 3), z


@pytest.mark.parametrize("code,sim,base", [(PNBD, "sim_pnbd", (0.55, 10.6, 0.61, 11.7)),
                                            (BGNBD, "sim_bgnbd", (0.25, 4.0, 0.8, 2.4))])
def test_standard_errors_agree_with_the_spread(code, sim, base):
    """100 data sets of 10,000 customers (Pareto/NBD and BG/NBD, 2 + 2 covariates): the
    mean standard error of each coefficient within 15% of the standard deviation of its
    estimates."""
    gt, gl = [0.5, -0.3], [0.7, -0.4]
    ests, ses = [], []
    for seed in range(100):
        x, tx, T, zt, zl = globals()[sim](10_000, *base, gt, gl, seed=100 + seed)
        e, s = _fit_sim(code, x, tx, T, zt, zl)
        ests.append(e)
        ses.append(s)
    ests, ses = np.array(ests), np.array(ses)
    ratio = ses[:, 4:].mean(0) / ests[:, 4:].std(0, ddof=1)
    assert np.all(np.abs(ratio - 1) < 0.15), ratio


def test_model_classes_take_covariates_by_customer_id():
    """fit(table, covariates=df, trans=, life=) aligns a shuffled covariate frame by
    customer id, gives the C fit's numbers, and scoring needs the covariates."""
    x, tx, T, zt, zl = sim_pnbd(20_000, 0.55, 10.6, 0.61, 11.7, [0.5], [0.7], seed=3)
    ids = [f"c{i}" for i in range(len(x))]
    table = pd.DataFrame({"frequency": x, "recency": tx, "T": T}, index=ids)
    cov = pd.DataFrame({"promo": zt[:, 0], "b2b": zl[:, 0].astype(bool)}, index=ids)
    m = churn.ParetoNBD().fit(table, covariates=cov.sample(frac=1, random_state=1),
                              trans=["promo"], life=["b2b"])
    keep = []
    h, rc = C.fit(PNBD, x, tx, T, None, C.make(cov, ["promo"], ["b2b"], len(x), keep),
                  C.options())
    assert rc == 0
    direct = churn.Model._wrap(h)
    np.testing.assert_array_equal(m.params_.to_numpy(), direct.params_.to_numpy())
    assert list(m.params_.index[4:]) == ["trans.promo", "life.b2b"]
    s = m.score(10, table.head(50), covariates=cov)
    pa, ex = C.score(direct._require(), 10, x[:50], tx[:50], T[:50],
                     C.make(cov.head(50), ["promo"], ["b2b"], 50, keep))
    np.testing.assert_array_equal(s["p_alive"], pa)
    np.testing.assert_array_equal(s["expected_purchases"], ex)
    np.testing.assert_array_equal(m.p_alive(table.head(50), covariates=cov), pa)
    with pytest.raises(TypeError, match="pass covariates="):
        m.p_alive(table.head(5))
    with pytest.raises(KeyError, match="no row"):
        m.fit(table, covariates=cov.iloc[1:], trans=["promo"])
    with pytest.raises(TypeError, match="GGompertzNBD and MBGCNBDk, not BGBB"):
        churn.BGBB().fit(table, covariates=cov, trans=["promo"])


def test_golden_format_2_file():
    """A format-2 file written by hand to the specification loads, and its scores are the
    plain Pareto/NBD's at each customer's own alpha_i and beta_i."""
    import os
    path = os.path.join(os.environ.get("CHURN_SOURCE_ROOT", "."), "tests", "data", "models",
                        "golden_v2_pnbd_covariates.json")
    m = churn.load_model(path)
    assert list(m.params_.index) == ["r", "alpha", "s", "beta", "trans.promo", "life.b2b"]
    t = pd.DataFrame({"frequency": [0.0, 2, 5], "recency": [0.0, 10, 30], "T": [30.0, 32, 38]})
    cov = pd.DataFrame({"promo": [1.0, -0.5, 0.0], "b2b": [0.0, 1.0, 1.0]})
    s = m.score(8, t, covariates=cov)
    for i in range(3):
        one = churn.ParetoNBD.from_params(
            r=0.55, alpha=10.6 * np.exp(-0.5 * cov.promo[i]), s=0.61,
            beta=11.7 * np.exp(0.7 * cov.b2b[i]))
        ref = one.score(8, t.iloc[[i]])
        assert s["p_alive"].iloc[i] == pytest.approx(ref["p_alive"].iloc[0], rel=1e-13)
        assert s["expected_purchases"].iloc[i] == pytest.approx(
            ref["expected_purchases"].iloc[0], rel=1e-13)


def test_new_customer_forecasts_use_each_customers_own_parameters():
    """E[X(t)] of prospective customers with covariates equals the plain model's
    new-customer forecast at each one's own alpha_i, beta_i; zero covariates give the
    plain model's."""
    m = churn.load_model(__import__("os").path.join(
        __import__("os").environ.get("CHURN_SOURCE_ROOT", "."), "tests", "data", "models",
        "golden_v2_pnbd_covariates.json"))
    cov = pd.DataFrame({"promo": [1.0, -0.5, 0.0], "b2b": [0.0, 1.0, 0.0]},
                       index=["p1", "p2", "p3"])
    e = m.expected_purchases_new(26.0, covariates=cov)
    assert list(e.index) == ["p1", "p2", "p3"]
    for i in range(3):
        one = churn.ParetoNBD.from_params(r=0.55, alpha=10.6 * np.exp(-0.5 * cov.promo.iloc[i]),
                                          s=0.61, beta=11.7 * np.exp(0.7 * cov.b2b.iloc[i]))
        assert e.iloc[i] == pytest.approx(one.expected_purchases_new(26.0), rel=1e-13)
    plain = churn.ParetoNBD.from_params(r=0.55, alpha=10.6, s=0.61, beta=11.7)
    assert e.iloc[2] == pytest.approx(plain.expected_purchases_new(26.0), rel=1e-13)
    with pytest.raises(TypeError, match="covariates="):
        m.expected_purchases_new(26.0)


def own_model(cls, p, promo, b2b):
    """The plain Pareto/NBD or BG/NBD at one customer's own parameters under a fitted
    model with params_ p (trans.promo, life.b2b), written out from
    docs/models/covariates.md: alpha_i = alpha exp(-g_t z_t); beta_i = beta exp(-g_l z_l)
    (Pareto/NBD) or a_i = a exp(g_l z_l), b_i = b exp(g_l z_l) (BG/NBD)."""
    et, el = p["trans.promo"] * promo, p["life.b2b"] * b2b
    if cls is churn.ParetoNBD:
        return cls.from_params(r=p["r"], alpha=p["alpha"] * np.exp(-et), s=p["s"],
                               beta=p["beta"] * np.exp(-el), unit="week")
    return cls.from_params(r=p["r"], alpha=p["alpha"] * np.exp(-et), a=p["a"] * np.exp(el),
                           b=p["b"] * np.exp(el), unit="week")


def test_clv_of_a_covariate_model_values_each_customer_at_its_own_parameters():
    """churn.clv(model, gg, table, covariates=) (churn_clv_score_covariates) equals, for
    every customer, churn.clv of a plain model built here from the customer's own
    parameters (alpha_i = alpha exp(-g_t'z), beta_i = beta exp(-g_l'z) for Pareto/NBD;
    alpha_i, a_i = a exp(g_l'z), b_i = b exp(g_l'z) for BG/NBD, written out here from
    docs/models/covariates.md), with the same Gamma-Gamma model. A covariate model
    without covariates= is refused."""
    rng = np.random.default_rng(8)
    for cls, sim, base in ((churn.ParetoNBD, sim_pnbd, (0.55, 10.6, 0.61, 11.7)),
                           (churn.BGNBD, sim_bgnbd, (0.25, 4.0, 0.8, 2.4))):
        x, tx, T, zt, zl = sim(6000, *base, [0.4], [0.6], seed=12)
        ids = [f"c{i}" for i in range(len(x))]
        mv = np.where(x > 0, rng.gamma(6.0, 5.0, len(x)), 0.0)
        table = pd.DataFrame({"frequency": x, "recency": tx, "T": T, "monetary_value": mv},
                             index=ids)
        table.attrs["time_unit"] = 7.0
        cov = pd.DataFrame({"promo": zt[:, 0], "b2b": zl[:, 0]}, index=ids)
        m = cls().fit(table, covariates=cov, trans=["promo"], life=["b2b"])
        gg = churn.GammaGamma().fit(table[table.frequency > 0])
        sub = table.iloc[:40]
        got = churn.clv(m, gg, sub, covariates=cov.sample(frac=1, random_state=2),
                        period=4.345)
        for cid, row in sub.iterrows():
            own = own_model(cls, m.params_, cov.at[cid, "promo"], cov.at[cid, "b2b"])
            ref = churn.clv(own, gg, sub.loc[[cid]], period=4.345)
            for k in ("p_alive", "expected_purchases", "expected_spend", "clv",
                      "value_at_risk"):
                assert got.at[cid, k] == pytest.approx(ref[k].iloc[0], rel=1e-12), (cls, k)
        with pytest.raises(churn.ChurnValueError, match="covariate"):
            churn.clv(m, gg, sub, period=4.345)
        check_clv_interval_chain_rule(cls, m, gg, sub.iloc[:6], cov)


def test_dert_of_a_covariate_model_is_the_plain_dert_at_own_parameters():
    """churn.dert(model, delta, table, covariates=) (churn_dert_covariates) equals, for every
    customer, churn.dert of a plain model built here from the customer's own parameters
    (docs/models/covariates.md); covariates given in another row order are aligned by
    index; a covariate model without covariates= is refused."""
    for cls, sim, base in ((churn.ParetoNBD, sim_pnbd, (0.55, 10.6, 0.61, 11.7)),
                           (churn.BGNBD, sim_bgnbd, (0.25, 4.0, 0.8, 2.4))):
        x, tx, T, zt, zl = sim(6000, *base, [0.4], [0.6], seed=13)
        ids = [f"c{i}" for i in range(len(x))]
        table = pd.DataFrame({"frequency": x, "recency": tx, "T": T}, index=ids)
        table.attrs["time_unit"] = 7.0
        cov = pd.DataFrame({"promo": zt[:, 0], "b2b": zl[:, 0]}, index=ids)
        m = cls().fit(table, covariates=cov, trans=["promo"], life=["b2b"])
        sub = table.iloc[:30]
        delta = np.log(1.15) / 52
        got = churn.dert(m, delta, sub, covariates=cov.sample(frac=1, random_state=3))
        for cid, row in sub.iterrows():
            own = own_model(cls, m.params_, cov.at[cid, "promo"], cov.at[cid, "b2b"])
            ref = churn.dert(own, delta, sub.loc[[cid]])
            assert got[cid] == pytest.approx(ref.iloc[0], rel=1e-12), cls
        assert got.nunique() > 1
        with pytest.raises(churn.ChurnValueError, match="covariate"):
            churn.dert(m, delta, sub)


def check_clv_interval_chain_rule(cls, m, gg, sub, cov):
    """churn.clv(model, gg, covariates=, interval=) (churn_clv_interval_covariates) equals,
    for each customer, churn.clv(own, gg, interval=) of the plain model at the customer's
    own parameters whose covariance is J S J' (S the fitted covariance of (log base
    parameters, coefficients), J the Jacobian of the customer's log parameters in them,
    written out here from docs/models/covariates.md), loaded from a model file."""
    got = churn.clv(m, gg, sub, covariates=cov, period=4.345, interval=0.9)
    p = m.params_
    names = list(p.index)
    C = m.covariance_.loc[names, names].to_numpy()
    scale = np.array([p[k] if "." not in k else 1.0 for k in names])
    S = C / np.outer(scale, scale)
    base = names[:4]
    for cid, row in sub.iterrows():
        zt, zl = cov.at[cid, "promo"], cov.at[cid, "b2b"]
        et, el = p["trans.promo"] * zt, p["life.b2b"] * zl
        J = np.zeros((4, len(names)))
        J[np.arange(4), np.arange(4)] = 1.0
        J[1, names.index("trans.promo")] = -zt          # alpha_i = alpha exp(-g_t z_t)
        if cls is churn.ParetoNBD:
            own = [p["r"], p["alpha"] * np.exp(-et), p["s"], p["beta"] * np.exp(-el)]
            J[3, names.index("life.b2b")] = -zl         # beta_i = beta exp(-g_l z_l)
        else:
            own = [p["r"], p["alpha"] * np.exp(-et), p["a"] * np.exp(el), p["b"] * np.exp(el)]
            J[2, names.index("life.b2b")] = zl          # a_i = a exp(g_l z_l)
            J[3, names.index("life.b2b")] = zl          # b_i = b exp(g_l z_l)
        own = np.array(own)
        Ci = (J @ S @ J.T) * np.outer(own, own)
        text = json.dumps({"format": "libchurn-model", "format_version": 1,
                           "library_version": "1.0.0", "family": cls._family_name,
                           "time_unit_days": 7, "param_names": base, "params": list(own),
                           "std_errors": list(np.sqrt(np.diag(Ci))),
                           "covariance": list(Ci.ravel()),
                           "fit": {"loglik": -1.0, "nobs": 6000, "converged": True,
                                   "iterations": 1},
                           "features": [], "arrays": {}, "note": ""})
        one = cls.from_json(text)
        ref = churn.clv(one, gg, sub.loc[[cid]], period=4.345, interval=0.9)
        for k in ref.columns:
            assert got.at[cid, k] == pytest.approx(ref[k].iloc[0], rel=1e-6), (cls, cid, k)
        assert got.at[cid, "clv_lo"] < got.at[cid, "clv"] < got.at[cid, "clv_hi"]
