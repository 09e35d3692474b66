"""churn.clv(..., interval=) against an independent delta-method computation in numpy:
the joint covariance of the BTYD and Gamma-Gamma log-parameters (block-diagonal, two
separate fits), gradients by central differences of churn.clv's point values at perturbed
parameters (models rebuilt with from_params), the limits built on the log / logit scale
here."""
import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import churn

PERIOD = 4.345


@pytest.fixture(scope="module")
def fitted():
    sim = churn.simulate_summary("bgnbd", 3000, seed=8)
    sim["monetary_value"] = sim.mean_spend.fillna(0.0)
    bg = churn.BGNBD().fit(sim)
    gg = churn.GammaGamma().fit(sim)
    table = pd.DataFrame({"frequency": [1.0, 3.0, 6.0, 0.0, 2.0],
                          "recency": [20.0, 30.0, 35.0, 0.0, 5.0],
                          "T": [35.0, 36.0, 38.0, 30.0, 37.0],
                          "monetary_value": [30.0, 45.0, 18.0, 0.0, 60.0]})
    return bg, gg, table


def _independent(bg, gg, table, level, margin):
    pb, pg = bg.params_.to_numpy(), gg.params_.to_numpy()
    Sb = np.asarray(bg.covariance_) / np.outer(pb, pb)
    Sg = np.asarray(gg.covariance_) / np.outer(pg, pg)

    def score(b, g):
        return churn.clv(churn.BGNBD.from_params(*b), churn.GammaGamma.from_params(*g), table,
                         period=PERIOD, margin=margin)

    base = score(pb, pg)
    h = 1e-5
    rows = {k: [] for k in ("pa", "clv", "var_b", "spend")}
    for j in range(4):
        up, dn = pb.copy(), pb.copy()
        up[j] *= np.exp(h)
        dn[j] *= np.exp(-h)
        u, d = score(up, pg), score(dn, pg)
        lpa = lambda s: np.log(s.p_alive) - np.log1p(-s.p_alive)
        with np.errstate(divide="ignore", invalid="ignore"):
            ga = ((lpa(u) - lpa(d)) / (2 * h)).to_numpy()
        gc = ((np.log(np.abs(u.clv)) - np.log(np.abs(d.clv))) / (2 * h)).to_numpy()
        rows["pa"].append(ga)
        rows["clv"].append(gc)
    for j in range(3):
        up, dn = pg.copy(), pg.copy()
        up[j] *= np.exp(h)
        dn[j] *= np.exp(-h)
        u, d = score(pb, up), score(pb, dn)
        rows["spend"].append(((np.log(u.expected_spend) - np.log(d.expected_spend))
                              / (2 * h)).to_numpy())
    ga, gc, gs = (np.array(rows[k]) for k in ("pa", "clv", "spend"))
    z = norm.ppf(0.5 + level / 2)
    vs = np.einsum("in,ij,jn->n", gs, Sg, gs)
    wc = z * np.sqrt(np.einsum("in,ij,jn->n", gc, Sb, gc) + vs)
    gv = gc - np.nan_to_num(ga)
    wv = z * np.sqrt(np.einsum("in,ij,jn->n", gv, Sb, gv) + vs)
    c, v = base.clv.to_numpy(), base.value_at_risk.to_numpy()
    lo_c = np.where(c > 0, c * np.exp(-wc), c * np.exp(wc))
    hi_c = np.where(c > 0, c * np.exp(wc), c * np.exp(-wc))
    lo_v = np.where(v > 0, v * np.exp(-wv), v * np.exp(wv))
    hi_v = np.where(v > 0, v * np.exp(wv), v * np.exp(-wv))
    es = base.expected_spend.to_numpy()
    return lo_c, hi_c, lo_v, hi_v, es * np.exp(-z * np.sqrt(vs)), es * np.exp(z * np.sqrt(vs))


@pytest.mark.parametrize("margin", [0.25, -0.5])
def test_matches_independent_delta_method(fitted, margin):
    bg, gg, table = fitted
    out = churn.clv(bg, gg, table, period=PERIOD, margin=margin, interval=0.9)
    lo_c, hi_c, lo_v, hi_v, lo_s, hi_s = _independent(bg, gg, table, 0.9, margin)
    np.testing.assert_allclose(out.clv_lo, lo_c, rtol=1e-6)
    np.testing.assert_allclose(out.clv_hi, hi_c, rtol=1e-6)
    np.testing.assert_allclose(out.value_at_risk_lo, lo_v, rtol=1e-6, atol=1e-300)
    np.testing.assert_allclose(out.value_at_risk_hi, hi_v, rtol=1e-6, atol=1e-300)
    np.testing.assert_allclose(out.expected_spend_lo, lo_s, rtol=1e-7)
    np.testing.assert_allclose(out.expected_spend_hi, hi_s, rtol=1e-7)
    assert (out.clv_lo < out.clv_hi).all()


def test_columns_appended_and_points_unchanged(fitted):
    bg, gg, table = fitted
    plain = churn.clv(bg, gg, table, period=PERIOD)
    out = churn.clv(bg, gg, table, period=PERIOD, interval=0.8)
    assert list(out.columns[:6]) == list(plain.columns)
    assert list(out.columns[6:]) == [f"{q}_{e}" for q in (
        "p_alive", "expected_purchases", "expected_spend", "clv", "value_at_risk")
        for e in ("lo", "hi")]
    pd.testing.assert_frame_equal(out[plain.columns], plain)  # bit for bit
    # the x = 0 customer: BG/NBD P(alive) = 1, value at risk 0, zero-width intervals
    assert out.p_alive_lo[3] == out.p_alive_hi[3] == 1.0
    assert out.value_at_risk_lo[3] == out.value_at_risk_hi[3] == 0.0


def test_refusals_name_the_argument(fitted):
    bg, gg, table = fitted
    with pytest.raises(churn.ChurnError, match="level"):
        churn.clv(bg, gg, table, period=PERIOD, interval=1.0)
    given = churn.GammaGamma.from_params(*gg.params_.to_numpy())
    with pytest.raises(churn.ChurnError, match="'spend'.*covariance"):
        churn.clv(bg, given, table, period=PERIOD, interval=0.9)
    with pytest.raises(churn.ChurnError, match="'btyd'.*covariance"):
        churn.clv(churn.BGNBD.from_params(*bg.params_.to_numpy()), gg, table, period=PERIOD,
                  interval=0.9)
    with pytest.raises(TypeError):
        churn.clv(bg, gg, table, period=PERIOD, interval=True)


def test_bootstrap_agrees_with_the_delta_method(fitted):
    """With 400 resamples the percentile limits of CLV and value at risk land within a few
    per cent of the delta method's (both estimate the same sampling spread), the point
    values are churn.clv's, and 1 or 2 threads give the same limits."""
    bg, gg, table = fitted
    fit = churn.simulate_summary("bgnbd", 3000, seed=8)
    fit["monetary_value"] = fit.mean_spend.fillna(0.0)
    rows = table[table.frequency > 0]
    boot = churn.clv_bootstrap_interval(bg, gg, fit, rows, resamples=400, seed=3, threads=2,
                                        period=PERIOD)
    delta = churn.clv(bg, gg, rows, period=PERIOD, interval=0.9)
    assert list(boot.columns) == list(delta.columns)
    pd.testing.assert_frame_equal(boot[delta.columns[:6]], delta[delta.columns[:6]])
    for c in ("clv_lo", "clv_hi", "value_at_risk_lo", "value_at_risk_hi",
              "expected_spend_lo", "expected_spend_hi"):
        np.testing.assert_allclose(boot[c], delta[c], rtol=0.04, err_msg=c)
    one = churn.clv_bootstrap_interval(bg, gg, fit, rows, resamples=40, seed=3, threads=1,
                                       period=PERIOD)
    two = churn.clv_bootstrap_interval(bg, gg, fit, rows, resamples=40, seed=3, threads=2,
                                       period=PERIOD)
    pd.testing.assert_frame_equal(one, two)
    with pytest.raises(churn.ChurnError, match="resamples"):
        churn.clv_bootstrap_interval(bg, gg, fit, rows, resamples=5, period=PERIOD)
