"""BTYD models through Python: the published CDNOW, donations and sBG results."""
import os
import pickle

import numpy as np
import pandas as pd
import pytest

import churn

BGNBD_PUB = {"r": 0.2425945, "alpha": 4.4136019, "a": 0.7929199, "b": 2.4258881}
PNBD_PUB = {"r": 0.5533971, "alpha": 10.5801985, "s": 0.6060625, "beta": 11.6562237}


def test_bgnbd_cdnow_published_fit(cdnow_table):
    m = churn.BGNBD().fit(cdnow_table)
    assert m.converged_
    for k, v in BGNBD_PUB.items():
        assert m.params_[k] == pytest.approx(v, rel=1e-5), k
    assert m.loglik_ == pytest.approx(-9582.429, abs=1e-3)
    assert m.nobs_ == 2357
    assert m.time_unit_ == 7.0  # recorded from the customer table
    s = m.summary
    assert list(s.columns) == ["estimate", "se", "lower 95%", "upper 95%"]
    assert (s["lower 95%"] < s["estimate"]).all() and (s["estimate"] < s["upper 95%"]).all()
    assert "BGNBD" in repr(m) and "-9582.43" in repr(m)
    assert "<table" in m._repr_html_()


def test_pnbd_and_mbgnbd_cdnow(cdnow_table):
    p = churn.ParetoNBD().fit(cdnow_table)
    assert p.loglik_ == pytest.approx(-9594.976, abs=1e-2)
    for k, v in PNBD_PUB.items():
        assert p.params_[k] == pytest.approx(v, rel=2e-3), k
    mb = churn.MBGNBD().fit(cdnow_table)
    for k, v in {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}.items():
        assert mb.params_[k] == pytest.approx(v, rel=2e-3), k


def _bgnbd_expected_mpmath(r, al, a, b, x, tx, T, t):
    """Fader, Hardie & Lee (2005) eq. 10 with mpmath's 2F1: an independent reference."""
    mp = pytest.importorskip("mpmath")
    hyp = mp.hyp2f1(r + x, b + x, a + b + x - 1, t / (al + T + t))
    num = (a + b + x - 1) / (a - 1) * (1 - ((al + T) / (al + T + t)) ** (r + x) * hyp)
    den = 1 + (x > 0) * a / (b + x - 1) * ((al + T) / (al + tx)) ** (r + x)
    return float(num / den)


def test_per_customer_predictions_published_params():
    bg = churn.BGNBD.from_params(**BGNBD_PUB)
    pa = bg.p_alive(frequency=26, recency=30.857, T=31)[0]
    e52 = bg.expected_purchases(52, frequency=26, recency=30.857, T=31)[0]
    assert pa == pytest.approx(0.9688523, abs=5e-6)
    # published 25.7566 (rounded); the closed form evaluated with mpmath is the exact check
    assert e52 == pytest.approx(25.7566, abs=1e-3)
    assert e52 == pytest.approx(_bgnbd_expected_mpmath(*BGNBD_PUB.values(), 26, 30.857, 31,
                                                       52), rel=1e-10)
    e39 = bg.expected_purchases(39, frequency=2, recency=30.43, T=38.86)[0]
    assert e39 == pytest.approx(1.2259, abs=1e-4)
    sc = bg.score(52, frequency=[26], recency=[30.857], T=[31])
    assert sc["p_alive"][0] == pa
    assert sc["expected_purchases"][0] == pytest.approx(e52, rel=1e-12)
    pn = churn.ParetoNBD.from_params(**PNBD_PUB)
    assert pn.p_alive(frequency=26, recency=30.857, T=31)[0] == pytest.approx(0.99792,
                                                                             abs=1e-4)
    assert pn.expected_purchases(52, frequency=26, recency=30.857, T=31)[0] == \
        pytest.approx(25.457, abs=5e-3)
    assert pn.p_alive_at(0, frequency=[26], recency=[30.857], T=[31])[0] == pytest.approx(
        pn.p_alive(frequency=26, recency=30.857, T=31)[0], rel=1e-12)


def test_loglik_stability_points():
    p = [0.25, 4.0, 0.8, 2.5]
    assert churn.btyd_loglik("bgnbd", p, frequency=[0], recency=[0], T=[40]) == \
        pytest.approx(-0.59947382, abs=1e-8)
    assert np.isfinite(churn.btyd_loglik("bgnbd", p, frequency=[200], recency=[38], T=[40]))
    ll, g = churn.btyd_loglik("bgnbd", p, frequency=[3, 0], recency=[10, 0], T=[40, 40],
                              gradient=True)
    h = 1e-6
    for j in range(4):
        q = list(p)
        q[j] += h
        up = churn.btyd_loglik("bgnbd", q, frequency=[3, 0], recency=[10, 0], T=[40, 40])
        q[j] -= 2 * h
        dn = churn.btyd_loglik("bgnbd", q, frequency=[3, 0], recency=[10, 0], T=[40, 40])
        assert g[j] == pytest.approx((up - dn) / (2 * h), rel=1e-5)


def test_bgbb_donations(shared_data):
    d = pd.read_csv(os.path.join(shared_data, "donations", "donations.csv"))
    m = churn.BGBB().fit(d)  # frequency, recency, periods, weights columns
    for k, v in {"alpha": 1.2035, "beta": 0.7497, "gamma": 0.6568, "delta": 2.7838}.items():
        assert m.params_[k] == pytest.approx(v, abs=2e-3), k
    assert m.loglik_ == pytest.approx(-33225.58, abs=0.01)
    assert m.nobs_ == 11104


def test_sbg_paper(shared_data):
    s = pd.read_csv(os.path.join(shared_data, "sbg", "sbg_paper.csv"))
    pub = {"highend": (0.668, 3.806, -1611.158), "regular": (0.704, 1.182, -1680.265)}
    for cohort, g in s.groupby("cohorts"):
        churned = (g["recency"] < 8).astype(int)
        periods = np.where(churned == 1, g["recency"], 7)
        m = churn.SBG().fit(periods, churned)
        a, b, ll = pub[cohort]
        assert m.params_["alpha"] == pytest.approx(a, abs=1e-3)
        assert m.params_["beta"] == pytest.approx(b, abs=1e-3)
        assert m.loglik_ == pytest.approx(ll, abs=1e-3)
        assert m.loglik(periods, churned) == pytest.approx(m.loglik_, rel=1e-12)
        # survivor curve of the same customers gives the same fit
        surv = [len(g)] + [int((g["recency"] > t).sum()) for t in range(1, 8)]
        m2 = churn.SBG().fit(survivors=surv)
        assert m2.params_["alpha"] == pytest.approx(m.params_["alpha"], rel=1e-6)
        ret = m.retention(7)
        # S(t) of the sBG: B(a, b + t) / B(a, b), product of r_t
        assert ret["survival"].iloc[-1] == pytest.approx(np.prod(ret["retention"]), rel=1e-12)
        assert m.derl(0.1, [1, 5]).shape == (2,)


def test_bad_arguments_raise_with_the_c_message():
    bg = churn.BGNBD.from_params(**BGNBD_PUB)
    with pytest.raises(ValueError, match=r"row 1, column 'recency'.*-1"):
        bg.p_alive(frequency=[1, 2], recency=[1, -1], T=[3, 3])
    with pytest.raises(ValueError, match=r"row 1, column 'frequency'.*nan"):
        bg.p_alive(frequency=[1, np.nan], recency=[1, 1], T=[3, 3])
    with pytest.raises(ValueError, match="exceeds T"):
        bg.expected_purchases(10, frequency=[1, 2], recency=[1, 4], T=[3, 3])
    with pytest.raises(ValueError, match="length 1 does not match 2"):
        bg.p_alive(frequency=[1, 2], recency=[1], T=[3, 3])
    with pytest.raises(TypeError, match="expected numbers"):
        bg.p_alive(frequency=["a", "b"], recency=[1, 1], T=[3, 3])
    with pytest.raises(ValueError, match="1-D"):
        bg.p_alive(frequency=np.ones((2, 2)), recency=[1, 1], T=[3, 3])
    with pytest.raises(TypeError, match="bgnbd"):  # CHURN_EFAMILY
        churn.ParetoNBD.p_alive_at(bg, 1.0, frequency=[1], recency=[1], T=[3])
    with pytest.raises(ValueError, match="recency"):
        churn.BGNBD().fit(frequency=[1, 2], recency=[-1, 1], T=[3, 3])
    with pytest.raises(ValueError, match="alpha|param"):
        churn.BGNBD.from_params(r=1, alpha=-1, a=1, b=1)
    with pytest.raises(TypeError):
        churn.BGNBD.from_params(r=1, alpha=1, a=1)
    with pytest.raises(KeyError, match="recency"):
        bg.p_alive(pd.DataFrame({"frequency": [1], "T": [2]}))
    with pytest.raises(RuntimeError, match="not fitted"):
        churn.BGNBD().p_alive(frequency=[1], recency=[1], T=[2])
    with pytest.raises(churn.ConvergenceError) as e:
        churn.BGNBD().fit(frequency=[1, 2, 3], recency=[1, 1, 1], T=[2, 2, 2], max_iter=1)
    assert isinstance(e.value.model, churn.BGNBD)
    with pytest.raises(ValueError, match="churned"):
        churn.SBG().fit([1, 2], [1, 2])


def test_predictions_keep_the_index_and_pickle(cdnow_table):
    m = churn.BGNBD().fit(cdnow_table)
    pa = m.p_alive(cdnow_table)
    assert isinstance(pa, pd.Series) and (pa.index == cdnow_table.index).all()
    f = m.predict_frame(cdnow_table.head(5), horizon=52)
    assert list(f.columns) == ["p_alive", "p_churn", "expected_purchases"]
    clone = pickle.loads(pickle.dumps(m))
    assert type(clone) is churn.BGNBD
    np.testing.assert_array_equal(clone.p_alive(cdnow_table), pa)
    assert clone.loglik(cdnow_table) == pytest.approx(m.loglik_, rel=1e-10)
