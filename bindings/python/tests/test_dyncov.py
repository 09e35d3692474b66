"""Pareto/NBD with time-varying covariates (churn_pnbd_dyncov_*; docs/models/dyncov.md)
against independent evaluations:

- the log-likelihood against the model's definition integrated numerically: the
  conditional likelihood given (lambda, mu) -- Poisson purchases at rate lambda * w(u)
  while alive, death with hazard mu * m(u), its tau integral exact per period -- averaged
  over the Gamma mixing densities of lambda and mu by 2-D Gauss-Laguerre quadrature
  (and by nested scipy quad, CHURN_SLOW_TESTS=1), and the
  lambda/mu-integrated form integrated over tau by mpmath at 30 digits, with its
  gradient by mpmath differentiation;
- parameter recovery on data simulated from the definition (dyncov_sim.py, a weekly
  promotion flag and a life flag per customer).
"""
import math

import numpy as np
import pytest

from churn import _dyncov as D
from dyncov_sim import simulate

mpmath = pytest.importorskip("mpmath")

# A small irregular grid (period lengths differ) and six customers with hand-placed purchases.
BOUNDS = [0.0, 1.5, 2.0, 4.0, 4.25, 7.0, 9.0]
CUSTOMERS = [
    # birth, purchase times (calendar), cutoff
    (0.2, [], 9.0),
    (0.0, [0.7, 1.9, 3.1], 9.0),
    (1.7, [2.1, 2.2, 6.5, 8.8], 9.0),
    (3.0, [4.1], 9.0),
    (0.5, [1.0, 1.2, 1.4, 1.45], 7.5),
    (6.2, [], 9.0),
]
RNG = np.random.default_rng(11)
ZT = RNG.normal(size=(len(BOUNDS) - 1, len(CUSTOMERS)))
ZL = RNG.normal(size=(len(BOUNDS) - 1, len(CUSTOMERS)))


def _period(u):
    for p in range(len(BOUNDS) - 1):
        if BOUNDS[p] <= u < BOUNDS[p + 1]:
            return p
    return len(BOUNDS) - 2


def _arrays():
    n, P = len(CUSTOMERS), len(BOUNDS) - 1
    birth = np.array([c[0] for c in CUSTOMERS])
    x = np.array([len(c[1]) for c in CUSTOMERS], dtype=float)
    tx = np.array([(c[1][-1] - c[0]) if c[1] else 0.0 for c in CUSTOMERS])
    T = np.array([c[2] - c[0] for c in CUSTOMERS])
    counts = np.zeros((P, n))
    for i, c in enumerate(CUSTOMERS):
        for t in c[1]:
            counts[_period(t), i] += 1
    dc, keep = D.make(BOUNDS, birth, counts, ZT[None], ["promo"], ZL[None], ["season"])
    return x, tx, T, dc, keep


def _pieces(i, gt, gl, lo, hi):
    """[(a, b, w, m)] in customer time over [lo, hi] for customer i."""
    b0 = CUSTOMERS[i][0]
    out = []
    for p in range(len(BOUNDS) - 1):
        a, e = max(BOUNDS[p] - b0, lo), min(BOUNDS[p + 1] - b0, hi)
        if e > a:
            out.append((a, e, math.exp(gt * ZT[p, i]), math.exp(gl * ZL[p, i])))
    return out


def _conditional(i, lam, mu, gt, gl):
    """The definition given (lambda, mu): prod_j lambda w(t_j) times P(no purchase
    except these, alive at T) + int_{t_x}^T density of death at tau (no purchase after
    t_x), each period's tau integral in closed form (rates constant there)."""
    b0, times, cut = CUSTOMERS[i]
    T = cut - b0
    tx = times[-1] - b0 if times else 0.0
    logw = sum(gt * ZT[_period(t), i] for t in times)
    front = lam ** len(times) * math.exp(logw)
    Lam = Mu = 0.0
    dead = 0.0
    for a, e, w, m in _pieces(i, gt, gl, 0.0, T):
        lo = max(a, tx)
        if e > lo:
            # death in [lo, e]: the rates are constant there
            L0, M0 = Lam + w * (lo - a), Mu + m * (lo - a)
            k = lam * w + mu * m
            dead += mu * m * math.exp(-lam * L0 - mu * M0) * -math.expm1(-k * (e - lo)) / k
        Lam += w * (e - a)
        Mu += m * (e - a)
    alive = math.exp(-lam * Lam - mu * Mu)
    return front * (alive + dead)


def _ll_double_integral(i, params):
    """log of E_{lambda, mu}[conditional likelihood] by scipy 2-D quadrature."""
    from scipy import integrate, stats
    r, alpha, s, beta, gt, gl = params
    f = stats.gamma(r, scale=1 / alpha).pdf
    g = stats.gamma(s, scale=1 / beta).pdf
    # scale out the peak so quadpack works on O(1) values
    x = len(CUSTOMERS[i][1])
    lam_hi = stats.gamma(r + x, scale=1 / alpha).ppf(1 - 1e-15) * 20
    mu_hi = stats.gamma(s + 1, scale=1 / beta).ppf(1 - 1e-15) * 20

    def inner(lam):
        v, _ = integrate.quad(lambda mu: g(mu) * _conditional(i, lam, mu, gt, gl), 0, mu_hi,
                              epsabs=0, epsrel=1e-12, limit=200,
                              points=[s / beta] if s / beta < mu_hi else None)
        return f(lam) * v

    v, _ = integrate.quad(inner, 0, lam_hi, epsabs=0, epsrel=1e-11, limit=200,
                          points=[(r + x) / alpha])
    return math.log(v)


def _ll_gauss_laguerre(i, params, nodes=200):
    """log E_{lambda, mu}[conditional likelihood] by generalized Gauss-Laguerre
    quadrature in lambda and mu (weights lambda^(r+x-1) e^-lambda, mu^(s-1) e^-mu after
    scaling by alpha + Lambda(t_x), beta + M(t_x)), the conditional likelihood on the
    200 x 200 grid from the definition (death in each period after t_x in closed form)."""
    from scipy.special import gammaln, roots_genlaguerre
    r, alpha, s, beta, gt, gl = params
    b0, times, cut = CUSTOMERS[i]
    T = cut - b0
    tx = times[-1] - b0 if times else 0.0
    x = len(times)
    pieces = _pieces(i, gt, gl, 0.0, T)
    Ltx = sum(w * max(0.0, min(e, tx) - a) for a, e, w, m in pieces)
    Mtx = sum(m * max(0.0, min(e, tx) - a) for a, e, w, m in pieces)
    A0, B0 = alpha + Ltx, beta + Mtx
    zl, wl = roots_genlaguerre(nodes, r + x - 1)
    zm, wm = roots_genlaguerre(nodes, s - 1)
    lam, mu = zl[:, None] / A0, zm[None, :] / B0
    Lam = Mu = 0.0
    dead = np.zeros((nodes, nodes))
    for a, e, w, m in pieces:
        lo = max(a, tx)
        if e > lo:
            L0, M0 = Lam + w * (lo - a), Mu + m * (lo - a)
            k = lam * w + mu * m
            dead += (mu * m * np.exp(-lam * (L0 - Ltx) - mu * (M0 - Mtx))
                     * -np.expm1(-k * (e - lo)) / k)
        Lam += w * (e - a)
        Mu += m * (e - a)
    alive = np.exp(-lam * (Lam - Ltx) - mu * (Mu - Mtx))
    total = (wl[:, None] * wm[None, :] * (alive + dead)).sum()
    logw = sum(gt * ZT[_period(t), i] for t in times)
    return (r * math.log(alpha) - gammaln(r) - (r + x) * math.log(A0) + s * math.log(beta)
            - gammaln(s) - s * math.log(B0) + logw + math.log(total))


def _ll_mpmath(i, params):
    """log L_i with lambda and mu integrated out (Gamma integrals) and the tau integral
    by mpmath quadrature at 30 digits, split at the period boundaries."""
    mp = mpmath.mp
    r, alpha, s, beta, gt, gl = [mpmath.mpf(v) for v in params]
    b0, times, cut = CUSTOMERS[i]
    T = mpmath.mpf(cut) - b0
    tx = mpmath.mpf(times[-1]) - b0 if times else mpmath.mpf(0)
    x = len(times)
    pieces = []
    Lam = Mu = mpmath.mpf(0)
    for p in range(len(BOUNDS) - 1):
        a, e = max(mpmath.mpf(BOUNDS[p]) - b0, 0), min(mpmath.mpf(BOUNDS[p + 1]) - b0, T)
        if e > a:
            w, m = mpmath.exp(gt * ZT[p, i]), mpmath.exp(gl * ZL[p, i])
            pieces.append((a, e, w, m, Lam, Mu))
            Lam += w * (e - a)
            Mu += m * (e - a)
    tail = mpmath.mpf(0)
    for a, e, w, m, L0, M0 in pieces:
        lo = max(a, tx)
        if e <= lo:
            continue
        tail += mp.quad(lambda t: m * (alpha + L0 + w * (t - a)) ** -(r + x)
                        * (beta + M0 + m * (t - a)) ** -(s + 1), [lo, e])
    logw = sum(gt * ZT[_period(t), i] for t in times)
    G = (alpha + Lam) ** -(r + x) * (beta / (beta + Mu)) ** s + s * beta ** s * tail
    return (mpmath.loggamma(r + x) - mpmath.loggamma(r) + r * mpmath.log(alpha) + logw
            + mpmath.log(G))


POINTS = [(0.55, 10.6, 0.6, 11.7, 0.4, -0.7), (2.0, 1.3, 0.3, 4.0, -1.2, 1.5),
          (0.2, 0.5, 3.0, 2.0, 2.0, 0.3)]


def _one(i, x, tx, T, params):
    """The C log-likelihood of customer i alone (weights select the row)."""
    w = np.zeros(len(CUSTOMERS))
    w[i] = 1
    return D.loglik(params, x, tx, T, _dc_global(), weights=w)


_DC = {}


def _dc_global():
    if "dc" not in _DC:
        _DC["arrays"] = _arrays()
        _DC["dc"] = _DC["arrays"][3]
    return _DC["dc"]


def test_loglik_matches_mpmath_per_customer():
    mpmath.mp.dps = 30
    x, tx, T, dc, keep = _arrays()
    _DC["dc"], _DC["keep"] = dc, keep
    for params in POINTS:
        for i in range(len(CUSTOMERS)):
            ll, _ = _one(i, x, tx, T, params)
            ref = float(_ll_mpmath(i, params))
            assert ll == pytest.approx(ref, rel=1e-10, abs=0), (params, i)


def test_gradient_matches_mpmath_derivative():
    mpmath.mp.dps = 25
    x, tx, T, dc, keep = _arrays()
    _DC["dc"], _DC["keep"] = dc, keep
    for params in POINTS[:2]:
        _, g = D.loglik(params, x, tx, T, dc)
        for j in range(6):
            def total(v, j=j):
                q = list(params)
                q[j] = v
                return sum(_ll_mpmath(i, q) for i in range(len(CUSTOMERS)))
            ref = float(mpmath.diff(total, mpmath.mpf(params[j])))
            assert g[j] == pytest.approx(ref, rel=1e-8, abs=1e-10), (params, j)


def test_loglik_matches_the_definition_gauss_laguerre():
    """The closed form itself against the definition: the conditional likelihood given
    (lambda, mu) averaged over both Gamma densities by 200 x 200 Gauss-Laguerre, every
    customer at every point (agrees with the mpmath form to 2.3e-10 or better)."""
    pytest.importorskip("scipy")
    x, tx, T, dc, keep = _arrays()
    _DC["dc"], _DC["keep"] = dc, keep
    for params in POINTS:
        for i in range(len(CUSTOMERS)):
            ll, _ = _one(i, x, tx, T, params)
            assert ll == pytest.approx(_ll_gauss_laguerre(i, params), rel=1e-8, abs=0), \
                (params, i)


def test_loglik_matches_the_definition_double_integral():
    """Checks the closed form itself: the (lambda, mu) mixture of the conditional
    likelihood, integrated numerically, for every customer at one point. About 8 minutes
    (nested scipy quad with Python integrands): run with CHURN_SLOW_TESTS=1."""
    import os
    if not os.environ.get("CHURN_SLOW_TESTS"):
        pytest.skip("the 2-D definition check takes ~8 minutes; set CHURN_SLOW_TESTS=1")
    pytest.importorskip("scipy")
    x, tx, T, dc, keep = _arrays()
    _DC["dc"], _DC["keep"] = dc, keep
    for params in POINTS[:1]:
        for i in range(len(CUSTOMERS)):
            ll, _ = _one(i, x, tx, T, params)
            assert ll == pytest.approx(_ll_double_integral(i, params), rel=1e-8, abs=0), \
                (params, i)


def test_zero_coefficients_are_the_plain_pareto_nbd():
    from churn import btyd_loglik
    x, tx, T, dc, keep = _arrays()
    for params in POINTS:
        ll, g = D.loglik(list(params[:4]) + [0.0, 0.0], x, tx, T, dc)
        ll0 = btyd_loglik("pnbd", params[:4], x, tx, T)
        ll0 = ll0[0] if isinstance(ll0, tuple) else ll0
        assert ll == pytest.approx(ll0, rel=1e-12)


def _params_se(h):
    from churn import _lib
    lib = _lib.lib
    k = lib.churn_model_num_params(h)
    v, se = np.zeros(k), np.zeros(k)
    lib.churn_model_params(h, v.ctypes.data_as(_lib.c_double_p), k)
    lib.churn_model_std_errors(h, se.ctypes.data_as(_lib.c_double_p), k)
    return v, se


def test_parameter_recovery_on_simulated_promotions():
    truth = np.array([0.8, 4.0, 0.6, 30.0, 0.7, 0.5])
    s = simulate(8000, 60, truth[:4], truth[4], truth[5], seed=5)
    dc, keep = D.make(s["boundaries"], s["birth"], s["counts"], s["trans"], ["promo"],
                      s["life"], ["season"])
    h, rc = D.fit(s["x"], s["tx"], s["T"], dc)
    assert rc == 0
    from churn import _lib
    v, se = _params_se(h)
    _lib.lib.churn_model_free(h)
    z = (v - truth) / se
    assert np.all(np.abs(z) < 3), (v, se, z)
    # the promotion effect is estimated, not assumed: a clear signal
    assert v[4] / se[4] > 10


def test_parameter_recovery_at_100000_customers():
    """Issue 23: at 100,000 customers (52 weekly periods, weekly promotion and season flags
    drawn per customer and week) every estimate is within 3 standard errors of the truth.
    About 10 s of CPU."""
    truth = np.array([0.8, 4.0, 0.6, 30.0, 0.7, 0.5])
    s = simulate(100_000, 52, truth[:4], truth[4], truth[5], seed=5)
    dc, keep = D.make(s["boundaries"], s["birth"], s["counts"], s["trans"], ["promo"],
                      s["life"], ["season"])
    h, rc = D.fit(s["x"], s["tx"], s["T"], dc)
    assert rc == 0
    from churn import _lib
    v, se = _params_se(h)
    _lib.lib.churn_model_free(h)
    z = (v - truth) / se
    assert np.all(np.abs(z) < 3), (v, se, z)


def test_standard_errors_are_the_inverse_observed_information():
    """The fit's standard errors equal those of the inverse of minus the Hessian obtained
    here by central differences of the C gradient at the estimate (1e-6 relative)."""
    from churn import _lib
    truth = np.array([0.8, 4.0, 0.6, 30.0, 0.7, 0.5])
    s = simulate(10_000, 52, truth[:4], truth[4], truth[5], seed=1003)
    dc, keep = D.make(s["boundaries"], s["birth"], s["counts"], s["trans"], ["promo"],
                      s["life"], ["season"])
    h, rc = D.fit(s["x"], s["tx"], s["T"], dc)
    assert rc == 0
    v, se = _params_se(h)
    _lib.lib.churn_model_free(h)
    k = len(v)
    H = np.zeros((k, k))
    for j in range(k):
        e = np.zeros(k)
        e[j] = 1e-5 * abs(v[j])
        gp = D.loglik(v + e, s["x"], s["tx"], s["T"], dc)[1]
        gm = D.loglik(v - e, s["x"], s["tx"], s["T"], dc)[1]
        H[:, j] = (gp - gm) / (2 * e[j])
    H = (H + H.T) / 2
    assert se == pytest.approx(np.sqrt(np.diag(np.linalg.inv(-H))), rel=1e-6)


def test_standard_errors_agree_with_the_spread():
    """Issue 23: over 100 simulated data sets of 10,000 customers x 104 weekly periods
    (the issue's speed-target scale; seeds 1000-1099, fixed before the run), the mean
    standard error of every parameter is within 15% of the standard deviation of its
    estimates. The standard deviation of 100 estimates is itself uncertain by about 7%
    (1/sqrt(2 x 99)), so 15% is about two of its standard errors; docs/models/dyncov.md
    lists the other configurations run. About 3 minutes of CPU."""
    from churn import _lib
    truth = np.array([0.8, 4.0, 0.6, 30.0, 0.7, 0.5])
    est, ses = [], []
    for seed in range(1000, 1100):
        s = simulate(10_000, 104, truth[:4], truth[4], truth[5], seed=seed)
        dc, keep = D.make(s["boundaries"], s["birth"], s["counts"], s["trans"], ["promo"],
                          s["life"], ["season"])
        h, rc = D.fit(s["x"], s["tx"], s["T"], dc)
        assert rc == 0, seed
        v, se = _params_se(h)
        _lib.lib.churn_model_free(h)
        est.append(v)
        ses.append(se)
    est, ses = np.array(est), np.array(ses)
    ratio = ses.mean(axis=0) / est.std(axis=0, ddof=1)
    assert np.all(np.abs(ratio - 1) < 0.15), ratio
    # and the estimates are centred on the truth (mean within 3 of its standard errors)
    zbar = (est.mean(axis=0) - truth) / (est.std(axis=0, ddof=1) / np.sqrt(len(est)))
    assert np.all(np.abs(zbar) < 3), zbar


def _long_tables(n=1500, seed=3):
    """Transactions (customer_id, date) of Pareto/NBD customers acquired over 20 weeks,
    and a long covariate table (customer_id, period_start, promo) constant in time."""
    import pandas as pd
    rng = np.random.default_rng(seed)
    weeks = pd.date_range("2024-01-01", periods=40, freq="W-MON")
    lam = rng.gamma(0.8, 1 / 3.0, n)
    life = rng.exponential(1 / rng.gamma(1.5, 1 / 15.0, n))
    rows = []
    for c in range(n):
        day0 = weeks[0] + pd.Timedelta(days=int(rng.integers(0, 140)))
        rows.append((c, day0))
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[c])
            if t > life[c] or t * 7 > 400:
                break
            d = day0 + pd.Timedelta(days=int(t * 7))
            if d > pd.Timestamp("2024-09-15"):
                break
            rows.append((c, d))
    tx = pd.DataFrame(rows, columns=["customer_id", "date"])
    z = (rng.random(n) < 0.4).astype(float)
    cov = pd.DataFrame([(c, w, z[c]) for c in range(n) for w in weeks],
                       columns=["customer_id", "period_start", "promo"])
    return tx, cov, z


def test_table_interface_constant_covariate_is_the_static_fit():
    """fit_pnbd_dyncov on long tables with a covariate constant in time: the histories
    are customer_table's (unit week) and the fit is ParetoNBD().fit(covariates=...)'s."""
    import pandas as pd
    import churn
    tx, cov, z = _long_tables()
    m = churn.fit_pnbd_dyncov(tx, cov, trans=["promo"], cutoff="2024-09-15")
    tab = churn.customer_table(tx, cutoff="2024-09-15", unit="week", amount=None)
    st = pd.DataFrame({"promo": z[tab.index.to_numpy()]}, index=tab.index)
    ms = churn.ParetoNBD().fit(tab, covariates=st, trans=["promo"])
    assert list(m.params_.index) == list(ms.params_.index)
    np.testing.assert_allclose(m.params_.values, ms.params_.values, rtol=1e-6)
    np.testing.assert_allclose(m.standard_errors_.values, ms.standard_errors_.values,
                               rtol=1e-4)
    s = churn.score_pnbd_dyncov(m, tx, cov, t=4, cutoff="2024-09-15")
    np.testing.assert_allclose(s[["frequency", "recency", "T"]].to_numpy(),
                               tab.loc[s.index, ["frequency", "recency", "T"]].to_numpy(),
                               rtol=0, atol=1e-9)
    exp_static = ms.expected_purchases(4, tab, covariates=st)
    np.testing.assert_allclose(s["expected_purchases"].to_numpy(),
                               np.asarray(exp_static.loc[s.index]), rtol=1e-5)
    # the plain scoring methods refuse the dynamic model
    with pytest.raises(churn.ChurnError, match="time-varying"):
        m.p_alive(tab, covariates=st)


def test_golden_format_2_dyncov_file():
    """A format-2 Pareto/NBD file with time-varying covariates written by hand
    (tests/data/models/golden_v2_pnbd_dyncov.json) loads; with covariates constant in time
    its scores equal the static-covariate model's at the same parameters (the dynamic model
    reduces to it: docs/models/dyncov.md), and scoring it as a static model is refused."""
    import os
    import pandas as pd
    import churn
    path = os.path.join(os.environ.get("CHURN_SOURCE_ROOT", "."), "tests", "data", "models",
                        "golden_v2_pnbd_dyncov.json")
    m = churn.load_model(path)
    assert list(m.params_.index) == ["r", "alpha", "s", "beta", "trans.promo", "life.season"]
    x, tx, T = np.array([0.0, 2, 5]), np.array([0.0, 10, 30]), np.array([30.0, 32, 38])
    zt, zl = np.array([1.0, 0.0, 1.0]), np.array([0.0, 1.0, 1.0])
    P, t = 60, 8.0
    birth = P - 20 - T  # every span inside the grid [0, P), cutoff at P - 20
    dc, keep = D.make(np.arange(P + 1, dtype=float), birth, None,
                      np.broadcast_to(zt, (1, P, 3)).copy(), ["promo"],
                      np.broadcast_to(zl, (1, P, 3)).copy(), ["season"])
    pa, ex = D.score(m._require(), t, x, tx, T, dc)
    static = churn.ParetoNBD.from_json(open(path).read().replace(
        ', "covariates_dynamic": [1]', ""))
    ref = static.score(t, pd.DataFrame({"frequency": x, "recency": tx, "T": T}),
                       covariates=pd.DataFrame({"promo": zt, "season": zl}))
    assert pa == pytest.approx(ref.p_alive.to_numpy(), rel=1e-10)
    assert ex == pytest.approx(ref.expected_purchases.to_numpy(), rel=1e-10)
    with pytest.raises(churn.ChurnError, match="time-varying"):
        m.score(t, pd.DataFrame({"frequency": x, "recency": tx, "T": T}),
                covariates=pd.DataFrame({"promo": zt, "season": zl}))
