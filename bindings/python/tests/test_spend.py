"""Gamma-Gamma, CLV, DERT, tiers, alerts and the retention report through Python."""
import numpy as np
import pandas as pd
import pytest

import churn


@pytest.fixture(scope="module")
def fitted(cdnow_table):
    return churn.BGNBD().fit(cdnow_table), churn.GammaGamma().fit(cdnow_table)


def test_gammagamma_cdnow(fitted, cdnow_table):
    _, gg = fitted
    assert gg.params_["p"] == pytest.approx(6.25, abs=5e-3)
    assert gg.params_["q"] == pytest.approx(3.74, abs=5e-3)
    assert gg.params_["gamma"] == pytest.approx(15.44, abs=5e-3)
    assert gg.loglik_ == pytest.approx(-4055.918, abs=1e-3)
    assert gg.nobs_ == 946
    assert gg.excluded_ == {"one_time": 1411.0, "nonpositive": 0.0}
    p, q, g = gg.params_
    assert gg.mean_spend_ == pytest.approx(p * g / (q - 1), rel=1e-14)
    rep = cdnow_table["frequency"] > 0
    corr = np.corrcoef(cdnow_table.loc[rep, "frequency"],
                       cdnow_table.loc[rep, "monetary_value"])[0, 1]
    assert gg.freq_monetary_corr_ == pytest.approx(corr, rel=1e-10)
    # README: mean spend 40 over 2 repeat purchases -> 39.13
    assert gg.expected_spend(frequency=[2], monetary_value=[40])[0] == pytest.approx(39.13,
                                                                                     abs=5e-3)


def test_clv_matches_lifetimes(fitted, cdnow_table, lifetimes_ref):
    bg, gg = fitted
    c = churn.clv(bg, gg, cdnow_table, period=4.345, discount=0.01, horizon=12)
    j = c.join(lifetimes_ref, how="inner", rsuffix="_ref")
    assert len(j) == 2357
    # lifetimes' own fitted parameters differ from ours in the 7th digit
    np.testing.assert_allclose(j["p_alive"], j["p_alive_ref"], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(j["expected_spend"], j["expected_spend_ref"], rtol=1e-6)
    np.testing.assert_allclose(j["clv"], j["clv_12m"], rtol=1e-5)
    e52 = bg.expected_purchases(52, cdnow_table)
    np.testing.assert_allclose(e52.loc[j.index], j["expected_purchases_52w"], rtol=1e-5)
    # value at risk = clv (1 - p_alive) / p_alive
    ok = c["p_alive"] > 1e-9
    np.testing.assert_allclose(c.loc[ok, "value_at_risk"],
                               c.loc[ok, "clv"] * (1 - c.loc[ok, "p_alive"]) /
                               c.loc[ok, "p_alive"], rtol=1e-10)
    dp = churn.discounted_purchases(bg, cdnow_table, period=4.345)
    np.testing.assert_allclose(dp * c["expected_spend"], c["clv"], rtol=1e-12)
    half = churn.clv(bg, gg, cdnow_table, period=4.345, margin=0.5)
    np.testing.assert_allclose(half["clv"], 0.5 * c["clv"], rtol=1e-14)


def test_dert_equals_the_discounted_integral(fitted, cdnow_table):
    integrate = pytest.importorskip("scipy.integrate")
    bg, _ = fitted
    delta = np.log(1.01) / 4.345
    rows = cdnow_table.iloc[[0, 1, 5]]
    d = churn.dert(bg, delta, rows)
    for (cid, r), v in zip(rows.iterrows(), d):
        def f(t):
            return delta * np.exp(-delta * t) * bg.expected_purchases(
                t, frequency=[r["frequency"]], recency=[r["recency"]], T=[r["T"]])[0]
        ref, _ = integrate.quad(f, 0, np.inf, epsabs=1e-12, epsrel=1e-10, limit=200)
        assert v == pytest.approx(ref, rel=1e-7)


def test_tiers_and_contractual_clv():
    v = pd.Series([50.0, 10, 40, 30, 20, 0, 0, 5, 1, 2], index=list("abcdefghij"))
    tiers, share = churn.assign_tiers(v, 0.2, 0.3)
    assert list(tiers[tiers == "key"].index) == ["a", "c"]
    assert list(tiers[tiers == "important"].index) == ["b", "d", "e"]
    assert share == pytest.approx(90 / 158, rel=1e-14)
    codes, _ = churn.assign_tiers(v, names=False)
    assert codes["a"] == 1 and codes["j"] == 3
    assert churn.tier_name(2) == "important" and churn.tier_name(9) == ""
    with pytest.raises(ValueError, match="row 1"):
        churn.assign_tiers([1.0, np.nan])
    with pytest.raises(ValueError, match="fraction"):
        churn.assign_tiers([1.0, 2.0], 0.9, 0.5)
    sbg = churn.SBG.from_params(alpha=0.668, beta=3.806)
    np.testing.assert_allclose(churn.clv_contractual(sbg, 100.0, 0.1, [1, 3]),
                               100.0 * sbg.derl(0.1, [1, 3]), rtol=1e-14)


def test_alerts():
    a = churn.Alerts(["dormant: p_alive < 0.2", "big: clv >= 100"], defaults=True)
    assert len(a) == 5
    r = a.rules
    assert list(r["name"]) == ["p_alive_low", "overdue", "spend_down", "dormant", "big"]
    assert r.loc[3, "op"] == "<" and r.loc[3, "threshold"] == 0.2
    df = pd.DataFrame({"p_alive": [0.1, 0.9, np.nan], "clv": [150.0, 5.0, 100.0],
                       "overdue_ratio": [3.0, 0.5, 1.0], "spend_trend": [0.0, -0.5, 0.0],
                       "name": ["x", "y", "z"]})
    fired = a.evaluate(df)
    assert fired.dtype == np.uint64
    assert a.describe(fired[0]) == "p_alive_low;overdue;dormant;big"
    assert a.describe(fired[1]) == "spend_down"
    assert a.describe(fired[2]) == "big"  # NaN never fires
    assert list(a.labels(df)) == ["p_alive_low;overdue;dormant;big", "spend_down", "big"]
    a.add("low", "clv", "<", 1.0)
    assert len(a) == 6
    with pytest.raises(ValueError, match="p_alive <<"):
        churn.Alerts(["p_alive << 3"])
    with pytest.raises(KeyError, match="nosuch"):
        churn.Alerts(["x: nosuch > 1"]).evaluate(df)
    with pytest.raises(ValueError, match="op"):
        a.add("bad", "clv", "=>", 1.0)


def test_retention_report_matches_the_command(cdnow_log, cdnow_path, run_churn, tmp_path):
    # the command's default unit is week; Python's is day since issue 21 (docs/python.md),
    # so the same report is asked for with unit="week" (the old default, explicitly)
    r = churn.retention_report(cdnow_log, cutoff="1997-09-30", unit="week")
    assert r["value_at_risk"].is_monotonic_decreasing
    assert list(r.columns) == ["frequency", "recency", "T", "monetary_value", "p_alive",
                               "p_churn", "expected_purchases", "expected_spend", "clv",
                               "value_at_risk", "tier", "alerts"]
    assert r.attrs["model"].loglik_ == pytest.approx(-9582.429, abs=1e-3)
    out = tmp_path / "report.csv"
    run_churn("report", cdnow_path, "--id", 1, "--time", 3, "--amount", 5, "--no-header",
              "--date-format", "yyyymmdd", "--cutoff", "1997-09-30", "-o", out)
    c = pd.read_csv(out, dtype={"customer_id": str, "alerts": str},
                    keep_default_na=False).set_index("customer_id")
    c = c.loc[r.index]
    num = ["frequency", "recency", "T", "monetary_value", "p_alive", "p_churn",
           "expected_purchases", "expected_spend", "clv", "value_at_risk"]
    np.testing.assert_allclose(c[num].to_numpy(dtype=float), r[num].to_numpy(dtype=float),
                               rtol=2e-9, atol=1e-12)
    assert list(c["tier"]) == list(r["tier"].astype(str))
    assert list(c["alerts"]) == list(r["alerts"])
    with pytest.raises(ValueError, match="model"):
        churn.retention_report(cdnow_log, model="cox")
    with pytest.raises(ValueError):
        churn.retention_report(cdnow_log, alerts=["nonsense"])
