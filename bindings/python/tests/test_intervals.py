"""churn.predict_interval against an independent delta-method computation in numpy
(gradient by central differences of the library's point predictions at perturbed
parameters, the interval built on the logit/log scale here)."""
import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import churn


def _independent(model, cls, horizon, table, level):
    p = model.params_.to_numpy()
    cov = np.asarray(model.covariance_)
    S = cov / np.outer(p, p)
    pa = model.p_alive(table).to_numpy()
    e = np.asarray(model.expected_purchases(horizon, table))
    h = 1e-5
    ga, ge = [], []
    for j in range(len(p)):
        up, dn = p.copy(), p.copy()
        up[j] *= np.exp(h)
        dn[j] *= np.exp(-h)
        mu, md = cls.from_params(*up), cls.from_params(*dn)
        lu = np.log(mu.p_alive(table).to_numpy()) - np.log1p(-mu.p_alive(table).to_numpy())
        ld = np.log(md.p_alive(table).to_numpy()) - np.log1p(-md.p_alive(table).to_numpy())
        ga.append((lu - ld) / (2 * h))
        ge.append((np.log(np.asarray(mu.expected_purchases(horizon, table)))
                   - np.log(np.asarray(md.expected_purchases(horizon, table)))) / (2 * h))
    ga, ge = np.array(ga), np.array(ge)
    z = norm.ppf(0.5 + level / 2)
    wa = z * np.sqrt(np.einsum("in,ij,jn->n", ga, S, ga))
    we = z * np.sqrt(np.einsum("in,ij,jn->n", ge, S, ge))
    u = np.log(pa) - np.log1p(-pa)
    return (1 / (1 + np.exp(-(u - wa))), 1 / (1 + np.exp(-(u + wa))),
            e * np.exp(-we), e * np.exp(we))


@pytest.mark.parametrize("cls,model", [(churn.ParetoNBD, "pnbd"), (churn.BGNBD, "bgnbd")])
def test_matches_independent_delta_method(cls, model):
    t = churn.simulate_summary(3000, model, seed=21, acquisition_days=84)
    m = cls().fit(t)
    rows = t[t["frequency"] > 0].head(50)
    iv = churn.predict_interval(m, 13, rows, level=0.8)
    lo, hi, elo, ehi = _independent(m, cls, 13, rows, 0.8)
    np.testing.assert_allclose(iv["p_alive_lo"], lo, rtol=2e-6)
    np.testing.assert_allclose(iv["p_alive_hi"], hi, rtol=2e-6)
    np.testing.assert_allclose(iv["expected_purchases_lo"], elo, rtol=2e-6)
    np.testing.assert_allclose(iv["expected_purchases_hi"], ehi, rtol=2e-6)
    assert list(iv.index) == list(rows.index)


def test_refuses_a_model_without_covariance():
    m = churn.BGNBD.from_params(r=0.24, alpha=4.4, a=0.79, b=2.4)
    t = pd.DataFrame({"frequency": [2.0], "recency": [10.0], "T": [30.0]})
    with pytest.raises(churn.ChurnError, match="covariance"):
        churn.predict_interval(m, 10, t)
    m = churn.BGNBD().fit(churn.simulate_summary(1000, "bgnbd", seed=2))
    with pytest.raises(ValueError, match="level"):
        churn.predict_interval(m, 10, t, level=1.5)


def test_bootstrap_matches_the_c_function_and_brackets_the_delta_interval():
    """churn.bootstrap_interval gives the same limits for 1 and 2 threads, and with many
    resamples its 90% limits lie close to the delta method's (the two approximate the
    same sampling distribution; docs/models/intervals.md)."""
    t = churn.simulate_summary("bgnbd", 3000, seed=8, acquisition_days=84)
    bg = churn.BGNBD().fit(t)
    rows = t[t["frequency"] > 1].head(5)
    a = churn.bootstrap_interval(bg, t, 13, rows, resamples=400, seed=4)
    b = churn.bootstrap_interval(bg, t, 13, rows, resamples=400, seed=4, threads=2)
    pd.testing.assert_frame_equal(a, b)
    d = churn.predict_interval(bg, 13, rows, level=0.9)
    for col in ("expected_purchases_lo", "expected_purchases_hi"):
        np.testing.assert_allclose(a[col], d[col], rtol=0.06)
    with pytest.raises(ValueError, match="resamples"):
        churn.bootstrap_interval(bg, t, 13, rows, resamples=5)
