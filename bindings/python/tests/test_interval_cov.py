"""churn.predict_interval with a covariate model against an independent delta-method
computation in numpy: each customer's own parameters written out here from the model's
definition (covariates.h: BG/NBD alpha_i = alpha exp(-g_t z_t), a_i = a exp(g_l z_l),
b_i = b exp(g_l z_l); Pareto/NBD alpha_i as that, beta_i = beta exp(-g_l z_l)), the
predictions of the PLAIN model at those parameters (from_params), gradients by central
differences in (log base parameters, coefficients), and the full covariance."""
import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import churn


def _own(family, p, zt, zl):
    """Customer's plain parameters from (base, g_t, g_l)."""
    r, alpha, c, d, gt, gl = p
    if family == "bgnbd":
        return r, alpha * np.exp(-gt * zt), c * np.exp(gl * zl), d * np.exp(gl * zl)
    return r, alpha * np.exp(-gt * zt), c, d * np.exp(-gl * zl)


@pytest.mark.parametrize("cls,family", [(churn.BGNBD, "bgnbd"), (churn.ParetoNBD, "pnbd")])
def test_matches_independent_delta_method(cls, family):
    t = churn.simulate_summary(3000, family, seed=11)
    rng = np.random.default_rng(2)
    cov = pd.DataFrame({"promo": rng.integers(0, 2, len(t)).astype(float),
                        "b2b": rng.normal(size=len(t))}, index=t.index)
    m = cls().fit(t, covariates=cov, trans=["promo"], life=["b2b"])
    p = m.params_.to_numpy()
    C = np.asarray(m.covariance_)
    scale = np.r_[p[:4], 1.0, 1.0]
    S = C / np.outer(scale, scale)
    rows = t[t.frequency > 0].iloc[[3, 10, 25, 40, 77]]
    z = cov.loc[rows.index]
    level, horizon = 0.8, 20.0
    iv = churn.predict_interval(m, horizon, rows, level=level, covariates=cov)
    h = 1e-5
    for i, (cid, row) in enumerate(rows.iterrows()):
        zt, zl = z.promo[cid], z.b2b[cid]
        x, tx, T = row["frequency"], row["recency"], row["T"]

        def pred(q):
            plain = cls.from_params(*_own(family, q, zt, zl))
            pa = plain.p_alive(frequency=[x], recency=[tx], T=[T])[0]
            e = plain.expected_purchases(horizon, [x], [tx], [T])[0]
            return np.log(pa) - np.log1p(-pa), np.log(e)

        ga, ge = np.zeros(6), np.zeros(6)
        for j in range(6):
            up, dn = p.copy(), p.copy()
            if j < 4:
                up[j] *= np.exp(h)
                dn[j] *= np.exp(-h)
            else:
                up[j] += h
                dn[j] -= h
            (au, eu), (ad, ed) = pred(up), pred(dn)
            ga[j], ge[j] = (au - ad) / (2 * h), (eu - ed) / (2 * h)
        q = norm.ppf(0.5 + level / 2)
        u, le = pred(p)
        wa, we = q * np.sqrt(ga @ S @ ga), q * np.sqrt(ge @ S @ ge)
        np.testing.assert_allclose(iv.p_alive_lo.iloc[i], 1 / (1 + np.exp(-(u - wa))), rtol=1e-6)
        np.testing.assert_allclose(iv.p_alive_hi.iloc[i], 1 / (1 + np.exp(-(u + wa))), rtol=1e-6)
        np.testing.assert_allclose(iv.expected_purchases_lo.iloc[i], np.exp(le - we), rtol=1e-6)
        np.testing.assert_allclose(iv.expected_purchases_hi.iloc[i], np.exp(le + we), rtol=1e-6)
    # the point values are the model's own scores
    np.testing.assert_array_equal(iv.p_alive, m.p_alive(rows, covariates=cov))


def test_covariate_model_needs_covariates():
    t = churn.simulate_summary(1000, "bgnbd", seed=5)
    cov = pd.DataFrame({"promo": np.arange(len(t)) % 2 * 1.0}, index=t.index)
    m = churn.BGNBD().fit(t, covariates=cov, trans=["promo"])
    with pytest.raises(TypeError, match="covariates="):
        churn.predict_interval(m, 10, t.head(3))
    with pytest.raises(churn.ChurnError, match="level"):
        churn.predict_interval(m, 10, t.head(3), level=1.5, covariates=cov)
    with pytest.raises(KeyError, match="promo"):
        churn.predict_interval(m, 10, t.head(3), covariates=cov.rename(columns={"promo": "x"}))


def test_bootstrap_of_a_covariate_model_refits_with_covariates():
    """churn.bootstrap_interval of a covariate model (churn_btyd_bootstrap_interval_covariates):
    the same limits for 1 and 2 threads and for the fitting customers' covariates given in
    a frame of their own; with 300 resamples the limits bracket the prediction and lie
    near the delta method's; the refits keep the fit's equality constraint (an explicit
    shared=[] refits another model and gives other limits); a model fitted without
    covariates refuses covariates=."""
    t = churn.simulate_summary(4000, "pnbd", seed=12)
    rng = np.random.default_rng(5)
    cov = pd.DataFrame({"promo": rng.integers(0, 2, len(t)).astype(float),
                        "b2b": rng.integers(0, 2, len(t)).astype(float)}, index=t.index)
    m = churn.ParetoNBD().fit(t, covariates=cov, trans=["promo", "b2b"], life=["b2b"],
                              shared=["b2b"])
    rows = t[t.frequency > 0].iloc[[1, 5, 9]]
    a = churn.bootstrap_interval(m, t, 20, rows, resamples=40, seed=3, covariates=cov)
    b = churn.bootstrap_interval(m, t, 20, rows, resamples=40, seed=3, threads=2,
                                 covariates=cov.loc[rows.index], fit_covariates=cov)
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs["failed_resamples"] == 0
    other = churn.bootstrap_interval(m, t, 20, rows, resamples=40, seed=3, covariates=cov,
                                     shared=[])
    assert not np.allclose(other.to_numpy(), a.to_numpy(), rtol=1e-6)
    big = churn.bootstrap_interval(m, t, 20, rows, resamples=300, seed=4, threads=2,
                                   covariates=cov)
    d = churn.predict_interval(m, 20, rows, covariates=cov)
    for c in ("p_alive", "expected_purchases"):
        assert (big[c + "_lo"] < d[c]).all() and (d[c] < big[c + "_hi"]).all()
        for e in ("_lo", "_hi"):
            assert big[c + e].to_numpy() == pytest.approx(d[c + e].to_numpy(), rel=0.05)
    plain = churn.ParetoNBD().fit(t)
    with pytest.raises(TypeError, match="without covariates"):
        churn.bootstrap_interval(plain, t, 20, rows, resamples=20, covariates=cov)
