"""Gamma-Gompertz/NBD with static covariates (covariates.h, docs/models/covariates.md):
alpha_i = alpha exp(-g_trans' z_trans,i), beta_i = beta exp(-g_life' z_life,i), with r, b
and s shared (CLVTools' ggomnbd_staticcov_LL_ind).

Independent references:
- the log-likelihood from the model's definition: given eta, a Gompertz lifetime
  S(t | eta) = exp(-eta (e^(b t) - 1)) with eta ~ Gamma(s, rate beta_i), purchases a
  Poisson(lambda) process with lambda ~ Gamma(r, rate alpha_i) (NBD given the lifetime);
  eta and the death time integrated numerically with SciPy, to 1e-8 relative; and the
  same with eta integrated in closed form (the marginal lifetime) at 30 digits with
  mpmath, whose numerical derivatives check the gradient of every parameter and
  coefficient to 1e-8;
- the covariance: the inverse of the Hessian obtained by differencing the C gradient;
- the plain Gamma-Gompertz/NBD fit (covariates all zero, or none), on simulated data
  where b and beta are identified;
- simulation with known covariate effects, written here in numpy (not the library's
  simulator): recovery within 3 standard errors at 100,000 customers (a slow test:
  about a minute).
"""
import json
import math

import mpmath as mp
import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

import churn
from churn import _covariates as C

GG = 13
NAMES = ("r", "alpha", "b", "s", "beta")
TRUTH = (0.55, 10.58, 0.02, 0.6, 0.3)


# ---- independent likelihoods -----------------------------------------------------------

def _li_by_eta(r, al, b, s, be, x, tx, T):
    """log L of one customer from the definition: lambda integrated out (NBD), then the
    Gompertz death time and eta ~ Gamma(s, rate be) numerically (SciPy)."""
    lnb = math.lgamma(r + x) - math.lgamma(r) + r * math.log(al)

    def given_eta(eta):
        S = lambda t: math.exp(-eta * math.expm1(b * t))  # noqa: E731
        alive = math.exp(lnb - (r + x) * math.log(al + T)) * S(T)
        dead = integrate.quad(lambda t: math.exp(lnb - (r + x) * math.log(al + t)) * b * eta
                              * math.exp(b * t) * S(t), tx, T, epsabs=0, epsrel=1e-12,
                              limit=200)[0] if tx < T else 0.0
        return alive + dead

    m = s / be
    tot = sum(integrate.quad(lambda e: given_eta(e) * stats.gamma.pdf(e, s, scale=1 / be), lo,
                             hi, epsabs=0, epsrel=1e-12, limit=400)[0]
              for lo, hi in [(0, m), (m, 10 * m), (10 * m, np.inf)])
    return math.log(tot)


def _li_marginal(r, al, b, s, be, x, tx, T):
    """log L of one customer with eta integrated in closed form: S(t) = (be / (be - 1 +
    e^(b t)))^s and its density, the death time by mpmath quadrature."""
    S = lambda t: (be / (be - 1 + mp.exp(b * t))) ** s  # noqa: E731
    f = lambda t: b * s * be ** s * mp.exp(b * t) / (be - 1 + mp.exp(b * t)) ** (s + 1)  # noqa: E731
    nb = lambda t: mp.exp(mp.loggamma(r + x) - mp.loggamma(r)) * al ** r / (al + t) ** (r + x)  # noqa: E731
    L = nb(T) * S(T)
    if tx < T:
        L += mp.quad(lambda t: nb(t) * f(t), [tx, T])
    return mp.log(L)


def _rates(params, zt, zl, i, num=float):
    base, kt = params[:5], zt.shape[1]
    gt, gl = params[5:5 + kt], params[5 + kt:]
    et = sum(num(g) * float(z) for g, z in zip(gt, zt[i]))
    el = sum(num(g) * float(z) for g, z in zip(gl, zl[i]))
    r, al, b, s, be = base
    exp = mp.exp if num is mp.mpf else math.exp
    return r, al * exp(-et), b, s, be * exp(-el)


def _total_marginal(params, x, tx, T, zt, zl):
    return mp.fsum(_li_marginal(*_rates(params, zt, zl, i, mp.mpf), mp.mpf(x[i]),
                                mp.mpf(tx[i]), mp.mpf(T[i])) for i in range(len(x)))


CUST = dict(x=np.array([0.0, 1, 4, 12, 2, 30]), tx=np.array([0.0, 3.5, 20.0, 37.9, 10.0, 50.5]),
            T=np.array([38.0, 38.0, 30.0, 38.5, 52.0, 51.0]))
ZT = np.array([[0.3, 1.0], [-1.2, 0.0], [0.5, 1.0], [2.0, 0.0], [0.0, 1.0], [-0.4, 0.0]])
ZL = np.array([[1.0], [0.0], [1.0], [0.0], [0.3], [-0.7]])
POINTS = [[0.55, 10.5, 0.02, 0.6, 0.3, 0.4, -0.3, 0.6],
          [1.2, 3.0, 0.05, 2.0, 0.5, -0.8, 0.5, -1.1],
          [0.3, 20.0, 0.0001, 0.2, 4.0, 0.0, 0.0, 0.0]]


def _cov(zt, zl, keep, trans=("t1", "t2"), life=("l1",)):
    frame = {**{n: zt[:, j] for j, n in enumerate(trans)},
             **{n: zl[:, j] for j, n in enumerate(life)}}
    return C.make(frame, list(trans), list(life), zt.shape[0], keep)


@pytest.mark.parametrize("at", range(len(POINTS)))
def test_loglik_and_gradient_match_the_model_definition(at):
    params = POINTS[at]
    keep = []
    c = CUST
    ll, grad = C.loglik(GG, np.array(params), c["x"], c["tx"], c["T"], None,
                        _cov(ZT, ZL, keep))
    # the definition: eta and the death time integrated numerically, customer by customer
    by_eta = sum(_li_by_eta(*_rates(params, ZT, ZL, i), c["x"][i], c["tx"][i], c["T"][i])
                 for i in range(len(c["x"])))
    assert ll == pytest.approx(by_eta, rel=1e-8)
    mp.mp.dps = 30
    ref = _total_marginal([mp.mpf(v) for v in params], c["x"], c["tx"], c["T"], ZT, ZL)
    assert ll == pytest.approx(float(ref), rel=1e-10)
    # the gradient (natural-scale base parameters, coefficients as they are)
    mp.mp.dps = 20
    for j in range(len(params)):
        def f(v, j=j):
            q = [mp.mpf(p) for p in params]
            q[j] = v
            return _total_marginal(q, c["x"], c["tx"], c["T"], ZT, ZL)
        d = mp.diff(f, mp.mpf(params[j]))
        assert grad[j] == pytest.approx(float(d), rel=1e-8, abs=1e-10), (params, j)


# ---- simulation with covariates -----------------------------------------------------------

def sim_ggomnbd(n, r, alpha, b, s, beta, gt, gl, seed, tmin=52.0, tmax=104.0):
    """Customers from the model: lambda ~ Gamma(r, rate alpha_i), eta ~ Gamma(s, rate
    beta_i), a Gompertz lifetime given eta (inverse of S(t | eta) = exp(-eta (e^(b t) - 1))),
    Poisson purchases while alive, observed for T ~ U(tmin, tmax); trans covariates
    normal, life covariates 0/1."""
    rng = np.random.default_rng(seed)
    zt = rng.normal(size=(n, len(gt)))
    zl = rng.binomial(1, 0.5, size=(n, len(gl))).astype(float)
    ai = alpha * np.exp(-zt @ np.asarray(gt, float))
    bi = beta * np.exp(-zl @ np.asarray(gl, float))
    lam, eta = rng.gamma(r, 1 / ai), rng.gamma(s, 1 / bi)
    T = rng.uniform(tmin, tmax, n)
    tau = np.log1p(rng.exponential(size=n) / eta) / b
    L = np.minimum(tau, T)
    x = rng.poisson(lam * L).astype(float)
    tx = np.where(x > 0, L * rng.uniform(size=n) ** (1 / np.maximum(x, 1)), 0.0)
    return x, tx, T, zt, zl


def test_simulator_lifetime_matches_the_marginal_survival():
    """The numpy simulator's lifetimes follow S(t) = (beta / (beta - 1 + e^(b t)))^s."""
    rng = np.random.default_rng(3)
    r, al, b, s, be = TRUTH
    eta = rng.gamma(s, 1 / be, 400_000)
    tau = np.log1p(rng.exponential(size=eta.size) / eta) / b
    for t in (10.0, 52.0, 104.0):
        want = (be / (be - 1 + math.exp(b * t))) ** s
        assert np.mean(tau > t) == pytest.approx(want, abs=4 * math.sqrt(want / eta.size) + 1e-4)


# ---- reduction to the plain model ---------------------------------------------------------

def test_zero_or_no_covariates_reproduce_the_plain_fit():
    """On data where b and beta are identified (Gompertz b = 0.02 per week, 52-104 weeks;
    on CDNOW they run off together), no covariates and all-zero covariates give the
    plain Gamma-Gompertz/NBD fit to 1e-8 (2e-10 seen), and its scores."""
    x, tx, T, _, _ = sim_ggomnbd(4000, *TRUTH, [0.0], [0.0], seed=17)
    table = pd.DataFrame({"frequency": x, "recency": tx, "T": T})
    # the plain fit at a tight tolerance: at its default it stops ~1e-8 short in b, where
    # the covariate fit's last Newton step lands on the optimum
    plain = churn.GGompertzNBD(tol=1e-12).fit(table)
    keep = []
    h, rc = C.fit(GG, x, tx, T, None, C.make({}, [], [], len(x), keep), C.options())
    assert rc == 0, churn._lib.churn_last_error_message()
    m0 = churn.Model._wrap(h)
    np.testing.assert_allclose(m0.params_.to_numpy(), plain.params_.to_numpy(), rtol=1e-8)
    assert m0.loglik_ == pytest.approx(plain.loglik_, rel=1e-10)
    zeros = np.zeros((len(x), 2))
    h, rc = C.fit(GG, x, tx, T, None, _cov(zeros, zeros[:, :1], keep), C.options())
    assert rc == 0, churn._lib.churn_last_error_message()
    m = churn.Model._wrap(h)
    assert list(m.params_.index) == list(NAMES) + ["trans.t1", "trans.t2", "life.l1"]
    np.testing.assert_allclose(m.params_.to_numpy()[:5], plain.params_.to_numpy(), rtol=1e-8)
    assert np.all(m.params_.to_numpy()[5:] == 0)
    assert m.loglik_ == pytest.approx(plain.loglik_, rel=1e-10)
    assert "not identified" in m.note_
    pa, ex = C.score(m._require(), 10.0, x[:100], tx[:100], T[:100],
                     _cov(zeros[:100], zeros[:100, :1], keep))
    s = plain.score(10.0, table.head(100))
    np.testing.assert_allclose(pa, s["p_alive"], rtol=1e-8)
    np.testing.assert_allclose(ex, s["expected_purchases"], rtol=1e-8)


# ---- scoring, model files -------------------------------------------------------------

def _handle(params, trans=("t1", "t2"), life=("l1",)):
    names = list(NAMES) + [f"trans.{n}" for n in trans] + [f"life.{n}" for n in life]
    doc = {"format": "libchurn-model", "format_version": 2, "family": "ggomnbd",
           "time_unit_days": 7.0, "param_names": names, "params": [float(v) for v in params],
           "std_errors": [None] * len(params), "covariance": None, "loglik": None,
           "nobs": 0, "converged": True, "iterations": 0}
    return churn.Model.from_json(json.dumps(doc))


def test_scores_and_new_customer_forecasts_use_each_customers_own_rates():
    params = POINTS[0]
    m = _handle(params)
    keep = []
    c = CUST
    pa, ex = C.score(m._require(), 13.0, c["x"], c["tx"], c["T"], _cov(ZT, ZL, keep))
    frame = pd.DataFrame({"t1": ZT[:, 0], "t2": ZT[:, 1], "l1": ZL[:, 0]})
    new = m.expected_purchases_new(26.0, covariates=frame)
    for i in range(len(c["x"])):
        r, al, b, s, be = _rates(params, ZT, ZL, i)
        one = churn.GGompertzNBD.from_params(r=r, alpha=al, b=b, s=s, beta=be)
        row = pd.DataFrame({"frequency": [c["x"][i]], "recency": [c["tx"][i]],
                            "T": [c["T"][i]]})
        ref = one.score(13.0, row)
        assert pa[i] == pytest.approx(ref["p_alive"].iloc[0], rel=1e-12)
        assert ex[i] == pytest.approx(ref["expected_purchases"].iloc[0], rel=1e-12)
        assert new.iloc[i] == pytest.approx(one.expected_purchases_new(26.0), rel=1e-12)
    # the plain functions refuse the model rather than ignore its covariates
    with pytest.raises(TypeError, match="pass covariates="):
        m.p_alive(pd.DataFrame({"frequency": c["x"], "recency": c["tx"], "T": c["T"]}))
    from churn import _btyd
    from churn._arrays import empty, ptr
    out = empty(len(c["x"]))
    rc = _btyd._p_alive(m._require(), len(c["x"]), ptr(c["x"]), ptr(c["tx"]), ptr(c["T"]),
                        ptr(out))
    assert rc != 0 and "covariate coefficients" in \
        churn._lib.churn_last_error_message().decode()
    # a missing covariate is named
    with pytest.raises(ValueError, match="life covariate 'l1'"):
        C.score(m._require(), 5, c["x"], c["tx"], c["T"],
                C.make({"t1": ZT[:, 0], "t2": ZT[:, 1]}, ["t1", "t2"], [], 6, keep))


# ---- the fit: Python class, covariance, recovery -----------------------------------------

def test_class_fit_with_covariates_model_file_and_covariance(tmp_path):
    """GGompertzNBD().fit(table, covariates=df, trans=, life=) aligns a shuffled frame by
    customer id and gives the C fit's numbers; the model file is format 2 and scores the
    same after loading; the covariance is the inverse of the Hessian obtained by
    differencing the C gradient (the fit's Hessian is analytic)."""
    x, tx, T, zt, zl = sim_ggomnbd(6000, *TRUTH, [0.5], [0.7], seed=3)
    ids = [f"c{i}" for i in range(len(x))]
    table = pd.DataFrame({"frequency": x, "recency": tx, "T": T}, index=ids)
    cov = pd.DataFrame({"promo": zt[:, 0], "b2b": zl[:, 0].astype(bool)}, index=ids)
    m = churn.GGompertzNBD().fit(table, covariates=cov.sample(frac=1, random_state=1),
                                 trans=["promo"], life=["b2b"])
    keep = []
    cs = C.make(cov, ["promo"], ["b2b"], len(x), keep)
    h, rc = C.fit(GG, x, tx, T, None, cs, C.options())
    assert rc == 0
    direct = churn.Model._wrap(h)
    np.testing.assert_array_equal(m.params_.to_numpy(), direct.params_.to_numpy())
    assert list(m.params_.index) == list(NAMES) + ["trans.promo", "life.b2b"]
    s = m.score(10, table.head(50), covariates=cov)
    pa, ex = C.score(direct._require(), 10, x[:50], tx[:50], T[:50],
                     C.make(cov.head(50), ["promo"], ["b2b"], 50, keep))
    np.testing.assert_array_equal(s["p_alive"], pa)
    np.testing.assert_array_equal(s["expected_purchases"], ex)
    with pytest.raises(TypeError, match="pass covariates="):
        m.p_alive(table.head(5))
    path = tmp_path / "gg.json"
    m.save(str(path))
    doc = json.loads(path.read_text())
    assert doc["format_version"] == 2 and doc["family"] == "ggomnbd"
    back = churn.load_model(str(path))
    np.testing.assert_array_equal(back.score(10, table.head(50), covariates=cov)["p_alive"],
                                  s["p_alive"])
    # the covariance against a differenced Hessian of the C log-likelihood
    p = m.params_.to_numpy()
    k = len(p)
    Hn = np.empty((k, k))
    for j in range(k):
        h_j = 1e-5 * (abs(p[j]) if j < 5 else 1.0)
        up, dn = p.copy(), p.copy()
        up[j] += h_j
        dn[j] -= h_j
        Hn[:, j] = (C.loglik(GG, up, x, tx, T, None, cs)[1]
                    - C.loglik(GG, dn, x, tx, T, None, cs)[1]) / (2 * h_j)
    Hn = 0.5 * (Hn + Hn.T)
    se = np.sqrt(np.diag(np.linalg.inv(-Hn)))
    np.testing.assert_allclose(np.asarray(m.standard_errors_), se, rtol=1e-4)
    # other families are still refused, by name
    with pytest.raises(TypeError, match="GGompertzNBD and MBGCNBDk, not BGBB"):
        churn.BGBB().fit(table, covariates=cov, trans=["promo"])


def test_recovery_within_three_standard_errors():
    """100,000 customers, 2 + 2 covariates: every estimate within 3 standard errors."""
    gt, gl = [0.5, -0.3], [0.7, -0.4]
    x, tx, T, zt, zl = sim_ggomnbd(100_000, *TRUTH, gt, gl, seed=5)
    keep = []
    frame = {"t1": zt[:, 0], "t2": zt[:, 1], "l1": zl[:, 0], "l2": zl[:, 1]}
    h, rc = C.fit(GG, x, tx, T, None, C.make(frame, ["t1", "t2"], ["l1", "l2"], len(x), keep),
                  C.options())
    assert rc == 0, churn._lib.churn_last_error_message()
    m = churn.Model._wrap(h)
    est, se = m.params_.to_numpy(), np.asarray(m.standard_errors_)
    truth = np.array(list(TRUTH) + gt + gl)
    z = (est - truth) / se
    assert np.all(np.abs(z) < 3), z


def test_golden_format_2_file(source_root):
    """A format-2 Gamma-Gompertz/NBD file written by hand to the specification loads, and its
    scores and new-customer forecasts are the plain model's at each customer's own alpha_i
    and beta_i (life.b2b = -0.7: a B2B customer's beta is beta e^0.7, slower dropout)."""
    import os
    m = churn.load_model(os.path.join(source_root, "tests", "data", "models",
                                      "golden_v2_ggomnbd_covariates.json"))
    assert list(m.params_.index) == list(NAMES) + ["trans.promo", "life.b2b"]
    t = pd.DataFrame({"frequency": [0.0, 2, 5], "recency": [0.0, 10, 30], "T": [30.0, 32, 38]})
    cov = pd.DataFrame({"promo": [1.0, -0.5, 0.0], "b2b": [0.0, 1.0, 1.0]})
    s = m.score(8, t, covariates=cov)
    new = m.expected_purchases_new(26.0, covariates=cov)
    for i in range(3):
        one = churn.GGompertzNBD.from_params(
            r=0.55, alpha=10.58 * math.exp(-0.5 * cov.promo[i]), b=0.02, s=0.6,
            beta=0.3 * math.exp(0.7 * cov.b2b[i]))
        ref = one.score(8, t.iloc[[i]])
        assert s["p_alive"].iloc[i] == pytest.approx(ref["p_alive"].iloc[0], rel=1e-13)
        assert s["expected_purchases"].iloc[i] == pytest.approx(
            ref["expected_purchases"].iloc[0], rel=1e-13)
        assert new.iloc[i] == pytest.approx(one.expected_purchases_new(26.0), rel=1e-13)


def test_fit_from_the_plain_start_does_not_run_off():
    """Regression: on these 10,000 customers (2 + 2 covariates) the first Newton step from
    the plain fit used to jump to b = 6e18, s = 0 (a region where the likelihood is higher
    than at the start but which is no optimum) and the fit ended not converged after 200
    iterations (minutes). With the step capped (at most a factor e^2 per base parameter, 2
    per coefficient) it converges, every estimate within 3 standard errors of the truth."""
    gt, gl = [0.5, -0.3], [0.7, -0.4]
    x, tx, T, zt, zl = sim_ggomnbd(10_000, *TRUTH, gt, gl, seed=1000)
    keep = []
    frame = {"t1": zt[:, 0], "t2": zt[:, 1], "l1": zl[:, 0], "l2": zl[:, 1]}
    h, rc = C.fit(GG, x, tx, T, None, C.make(frame, ["t1", "t2"], ["l1", "l2"], len(x), keep),
                  C.options())
    assert rc == 0, churn._lib.churn_last_error_message()
    m = churn.Model._wrap(h)
    z = (m.params_.to_numpy() - np.array(list(TRUTH) + gt + gl)) / np.asarray(m.standard_errors_)
    assert np.all(np.abs(z) < 3), z


def test_plain_start_run_off_is_named():
    """Seed 1013 of the by-hand SE-vs-spread runs (docs/models/covariates.md): the plain
    Gamma-Gompertz/NBD fit runs off towards the Pareto/NBD limit (b ~ 4e-8, beta ~ 2e-6) and
    the covariate fit cannot start there. The error says what failed at which point: the
    row's gradient or Hessian is not finite (its log-likelihood is), the plain fit's parameters,
    and that the plain fit itself did not converge (its own message). About 1 minute."""
    gt, gl = [0.5, -0.3], [0.7, -0.4]
    x, tx, T, zt, zl = sim_ggomnbd(10_000, *TRUTH, gt, gl, seed=1013)
    keep = []
    frame = {"t1": zt[:, 0], "t2": zt[:, 1], "l1": zl[:, 0], "l2": zl[:, 1]}
    h, rc = C.fit(GG, x, tx, T, None, C.make(frame, ["t1", "t2"], ["l1", "l2"], len(x), keep),
                  C.options())
    msg = churn._lib.churn_last_error_message().decode()
    assert rc == -9, msg  # CHURN_ENUMERIC
    assert "the gradient or Hessian of the log-likelihood is not finite (the log-likelihood " \
        "is) at the plain model's fit" in msg, msg
    assert "at the plain model's fit (r " in msg and ", b 4." in msg, msg
    assert "that fit did not converge: churn_btyd_fit: ggomnbd:" in msg, msg

