"""Predictions of the issue-23 models against independent references.

MBG/CNBD-k (Reutterer, Platzer & Schröder 2021):
- DERT against SciPy's double integral over (lambda, p) of the posterior written here from
  the model's definition (the likelihood of the history, alive with m = 0..k-1 Poisson
  events since the last purchase or dropped at it), the future purchases' discount
  factors z^(ck - m), z = lambda / (lambda + delta), summed over c given (lambda, p, m):
  the library instead folds m into one integral over lambda and integrates p against
  its Beta density by its own quadrature;
- discounted expected purchases and the PMF of a customer just acquired, against a
  numpy simulation of the process (Erlang-k gaps, the MBG coin at time 0 and after every
  purchase), within 4 standard errors, and the PMF by a chi-square test;
- k = 1: PMF, DERT and CLV equal the MBG/NBD's to 1e-10; the PMF sums to 1.

Gamma-Gompertz/NBD (Bemmaor & Glady 2012):
- the new customer's DERT, (r/alpha) E[(1 - e^(-delta tau)) / delta], by SciPy quadrature
  over the Gompertz-Gamma lifetime density;
- the new customer's PMF against a numpy simulation (chi-square), and it sums to 1;
- the conditional PMF sums to 1 and its mean is the conditional expectation.
"""
import math

import numpy as np
import pytest
from scipy import integrate, special, stats

import churn

PAR = dict(r=0.85, alpha=1.45, a=0.79, b=2.42)  # BTYDplus' MBG/CNBD-k illustration, weeks
DELTA = math.log(1.15) / 52.0


def mbgc(k, **kw):
    p = dict(PAR, **kw)
    return churn.MBGCNBDk.from_params(k=k, unit="week", **p)


def dert_reference(k, x, tx, T, delta, r, alpha, a, b):
    """DERT by dblquad over lambda and p of the posterior (from the definition)."""
    dT = T - tx
    A = alpha + T
    R = r + k * x
    lscale = -(R) * math.log(A / R)  # keep the integrand near 1 at the posterior mode

    def lik_alive(lam, p, m):
        # (1-p)^(x+1) lambda^(kx) e^(-lambda T) (lambda dT)^m / m!  (prod d^(k-1) dropped)
        return math.exp((x + 1) * math.log1p(-p) + k * x * math.log(lam) - lam * T
                        + (m * math.log(lam * dT) - math.lgamma(m + 1) if m else 0.0)
                        + lscale)

    def lik_dead(lam, p):
        return math.exp(x * math.log1p(-p) + math.log(p) + k * x * math.log(lam)
                        - lam * tx + lscale)

    def discounted(lam, p, m):
        # sum_c (1-p)^(c-1) z^(ck-m): the c-th future purchase comes ck - m events after T
        z = lam / (lam + delta)
        return z ** (k - m) / (1.0 - (1.0 - p) * z ** k)

    ms = range(k) if dT > 0 else range(1)
    # beyond hi both the alive posterior (shape <= R + k, rate A) and the dead part
    # (shape R, rate alpha + t_x) have no weight left
    hi = max((R + k + 40 * math.sqrt(R + k) + 40) / A, (R + 40 * math.sqrt(R) + 40) / (alpha + tx))
    opts = dict(epsabs=0, epsrel=1e-11)
    # the priors' end singularities lambda^(r-1), p^(a-1) are removed by lambda = w^(1/r),
    # p = v^(1/a): lambda^(r-1) dlambda = dw / r and p^(a-1) dp = dv / a, so the prior
    # weight is e^(-alpha lambda) (1-p)^(b-1) times constants that cancel in the ratio

    def weight(w, v):
        lam, p = w ** (1 / r), v ** (1 / a)
        return lam, p, math.exp(-alpha * lam) * (1 - p) ** (b - 1)

    def num(v, w):
        lam, p, pr = weight(w, v)
        if lam <= 0 or p <= 0 or p >= 1:
            return 0.0
        return pr * sum(lik_alive(lam, p, m) * discounted(lam, p, m) for m in ms)

    def den(v, w):
        lam, p, pr = weight(w, v)
        if lam <= 0 or p <= 0 or p >= 1:
            return 0.0
        return pr * (sum(lik_alive(lam, p, m) for m in ms) + lik_dead(lam, p))

    n = integrate.dblquad(num, 0, hi ** r, 0, 1, **opts)[0]
    d = integrate.dblquad(den, 0, hi ** r, 0, 1, **opts)[0]
    return n / d


@pytest.mark.parametrize("k,x,tx,T", [(2, 2, 30.43, 38.86), (3, 4, 20.0, 30.0),
                                      (3, 0, 0.0, 38.0), (1, 3, 12.0, 40.0), (5, 6, 30.0, 31.0)])
def test_mbgcnbd_dert_vs_integration(k, x, tx, T):
    m = mbgc(k)
    got = churn.dert(m, DELTA, frequency=[float(x)], recency=[tx], T=[T])[0]
    ref = dert_reference(k, x, tx, T, DELTA, **PAR)
    assert got == pytest.approx(ref, rel=1e-8)


def simulate_new(k, n, horizon, seed, r, alpha, a, b):
    """Purchase times (a list per customer is too slow: a padded array) of n customers
    just acquired at 0, up to `horizon` weeks: lambda, p, the coin at 0, Erlang-k gaps."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    alive = rng.random(n) >= p  # the MBG coin right after the first purchase
    t = np.zeros(n)
    times = []
    while alive.any():
        t = t + rng.gamma(k, 1.0, n) / lam
        alive &= t <= horizon
        times.append(np.where(alive, t, np.inf))
        alive &= rng.random(n) >= p
    return np.array(times).T if times else np.full((n, 0), np.inf)


@pytest.fixture(scope="module")
def sim3():
    return simulate_new(3, 200_000, 53.0, 7, **PAR)


def test_mbgcnbd_new_customer_discounted_vs_simulation(sim3):
    m = mbgc(3)
    h = dict(frequency=[0.0], recency=[0.0], T=[0.0])
    # discounted purchases: 12 monthly periods at 1% (purchases of period j weigh 1.01^-j)
    P = 4.345
    j = np.ceil(sim3 / P)
    w = np.where(j <= 12, 1.01 ** -np.minimum(j, 12), 0.0).sum(axis=1)
    got = churn.discounted_purchases(m, horizon=12, period=P, discount=0.01, **h)[0]
    assert abs(got - w.mean()) < 4 * w.std(ddof=1) / math.sqrt(w.size)


def test_mbgcnbd_pmf_vs_simulation(sim3):
    m = mbgc(3)
    t = 39.0
    counts = (sim3 <= t).sum(axis=1)
    n = counts.size
    ks = np.arange(0, 12)
    probs = np.array([m.prob_purchases(int(kk), t) for kk in ks])
    obs = np.array([(counts == kk).sum() for kk in ks])
    tail_p, tail_o = 1 - probs.sum(), n - obs.sum()
    exp_ = np.append(probs, tail_p) * n
    o = np.append(obs, tail_o)
    keep = exp_ > 5
    chi2 = (((o - exp_) ** 2) / exp_)[keep].sum()
    assert stats.chi2.sf(chi2, keep.sum() - 1) > 1e-3, (chi2, o, exp_)


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_mbgcnbd_pmf_sums_to_one(k):
    m = mbgc(k)
    tot = sum(m.prob_purchases(kk, 10.0) for kk in range(400))
    assert tot == pytest.approx(1.0, abs=1e-9)
    h = dict(frequency=[3.0], recency=[30.0], T=[40.0])
    cond = [m.conditional_prob_purchases(kk, 26.0, **h)[0] for kk in range(300)]
    assert sum(cond) == pytest.approx(1.0, abs=1e-9)
    mean = sum(kk * c for kk, c in enumerate(cond))
    assert mean == pytest.approx(m.expected_purchases(26.0, **h)[0], rel=1e-8)


def test_mbgcnbd_k1_equals_mbgnbd():
    m1 = mbgc(1)
    mb = churn.MBGNBD.from_params(unit="week", **PAR)
    h = dict(frequency=[0.0, 2.0, 7.0], recency=[0.0, 30.43, 35.0], T=[38.86, 38.86, 38.86])
    for kk in range(6):
        assert m1.prob_purchases(kk, 39.0) == pytest.approx(mb.prob_purchases(kk, 39.0),
                                                            abs=1e-10)
        np.testing.assert_allclose(m1.conditional_prob_purchases(kk, 26.0, **h),
                                   mb.conditional_prob_purchases(kk, 26.0, **h), atol=1e-10)
    np.testing.assert_allclose(churn.dert(m1, DELTA, **h), churn.dert(mb, DELTA, **h),
                               rtol=1e-10)
    gg = churn.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
    t = dict(h, monetary_value=[0.0, 40.0, 25.0])
    a = churn.clv(m1, gg, frequency=t["frequency"], recency=t["recency"], T=t["T"],
                  monetary_value=t["monetary_value"], period=4.345)
    b = churn.clv(mb, gg, frequency=t["frequency"], recency=t["recency"], T=t["T"],
                  monetary_value=t["monetary_value"], period=4.345)
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-10, atol=1e-12)


def test_mbgcnbd_clv_grows_with_k_regularity_and_is_finite():
    """CLV of k = 3 on a table with repeated histories (the distinct-triples path of
    churn_clv_score, n >= 256) equals the row-by-row values."""
    m = mbgc(3)
    gg = churn.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
    rng = np.random.default_rng(1)
    base = np.array([[0, 0, 38.0], [2, 30.43, 38.86], [5, 20.0, 30.0], [1, 3.0, 38.0]])
    rows = base[rng.integers(0, 4, 400)]
    mv = np.where(rows[:, 0] > 0, 30.0, 0.0)
    big = churn.clv(m, gg, frequency=rows[:, 0], recency=rows[:, 1], T=rows[:, 2],
                    monetary_value=mv, period=4.345)
    one = [churn.clv(m, gg, frequency=[r[0]], recency=[r[1]], T=[r[2]],
                     monetary_value=[v], period=4.345)["clv"][0] for r, v in zip(rows[:8], mv)]
    np.testing.assert_allclose(big["clv"].to_numpy()[:8], one, rtol=1e-13)
    assert np.all(np.isfinite(big["clv"])) and np.all(big["clv"] >= 0)


# ---- Gamma-Gompertz/NBD ----------------------------------------------------------------

GG = dict(r=0.55, alpha=10.58, b=0.02, s=0.6, beta=0.3)  # weeks; a clearly ageing lifetime


def gg_density(tau, b, s, beta):
    """f(tau) = b s beta^s e^(b tau) / (beta - 1 + e^(b tau))^(s+1), in logs."""
    lw = b * tau + math.log1p((beta - 1) * math.exp(-b * tau))
    return math.exp(math.log(b * s) + s * math.log(beta) + b * tau - (s + 1) * lw)


def test_ggomnbd_new_customer_dert_vs_integration():
    m = churn.GGompertzNBD.from_params(unit="week", **GG)
    r, al, b, s, be = (GG[k] for k in ("r", "alpha", "b", "s", "beta"))
    # alive at 0 for sure: DERT = (r/alpha) E[(1 - e^(-delta tau)) / delta]
    f = lambda tau: gg_density(tau, b, s, be) * -math.expm1(-DELTA * tau) / DELTA
    # beyond 5000 weeks S(tau) < (beta e^(-100))^s: nothing left
    ref = r / al * integrate.quad(f, 0, 5000.0, epsabs=0, epsrel=1e-11, limit=400,
                                  points=[50, 200, 1000])[0]
    got = churn.dert(m, DELTA, frequency=[0.0], recency=[0.0], T=[0.0])[0]
    assert got == pytest.approx(ref, rel=1e-8)


def test_ggomnbd_pmf_vs_simulation_and_sums():
    m = churn.GGompertzNBD.from_params(unit="week", **GG)
    rng = np.random.default_rng(3)
    n, t = 200_000, 52.0
    lam = rng.gamma(GG["r"], 1 / GG["alpha"], n)
    eta = rng.gamma(GG["s"], 1 / GG["beta"], n)
    tau = np.log1p(rng.exponential(1.0, n) / eta) / GG["b"]
    counts = rng.poisson(lam * np.minimum(tau, t))
    ks = np.arange(0, 10)
    probs = np.array([m.prob_purchases(int(kk), t) for kk in ks])
    assert sum(m.prob_purchases(kk, t) for kk in range(300)) == pytest.approx(1.0, abs=1e-9)
    obs = np.array([(counts == kk).sum() for kk in ks])
    exp_ = np.append(probs, 1 - probs.sum()) * n
    o = np.append(obs, n - obs.sum())
    keep = exp_ > 5
    chi2 = (((o - exp_) ** 2) / exp_)[keep].sum()
    assert stats.chi2.sf(chi2, keep.sum() - 1) > 1e-3, (chi2, o, exp_)
    # conditional PMF: sums to 1, mean = conditional expectation
    h = dict(frequency=[3.0], recency=[30.0], T=[40.0])
    cond = [m.conditional_prob_purchases(kk, 26.0, **h)[0] for kk in range(200)]
    assert sum(cond) == pytest.approx(1.0, abs=1e-8)
    mean = sum(kk * c for kk, c in enumerate(cond))
    assert mean == pytest.approx(m.expected_purchases(26.0, **h)[0], rel=1e-7)
