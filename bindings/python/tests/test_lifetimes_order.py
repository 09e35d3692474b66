"""lifetimes' calls, written exactly as a lifetimes user writes them, run on lifetimes
itself (../shared/peers) and on churn, with the numbers compared (issue 21).

Data: the CDNOW sample (39-week calibration, weeks) and a simulated BG/NBD table.
lifetimes' optimiser (Nelder-Mead/BFGS at tol 1e-7) and ours reach the same maximum to
about 5 significant digits, so fitted parameters are compared at rtol 1e-3 and the
predictions from the *same* parameters (ours built with from_params from lifetimes'
estimates) at rtol 1e-7.
"""
import numpy as np
import pandas as pd
import pytest

import churn
from _peers import import_peer


@pytest.fixture(scope="module")
def lt(shared_data):
    return import_peer(shared_data, "lifetimes")


@pytest.fixture(scope="module")
def sim_table():
    t = churn.simulate_summary(3000, model="bgnbd", seed=7, days=364.0, unit="week",
                               r=0.5, alpha=5.0, a=0.8, b=3.0)
    t["monetary_value"] = np.where(t["frequency"] > 0, t["mean_spend"], 0.0)
    return t


@pytest.fixture(params=["cdnow_table", "sim_table"])
def table(request):
    return request.getfixturevalue(request.param)


def test_bgnbd_lifetimes_calls(lt, table):
    f, r, T = table["frequency"], table["recency"], table["T"]
    theirs = lt.BetaGeoFitter().fit(f, r, T)
    ours = churn.BGNBD().fit(f, r, T)                       # lifetimes' positional order
    np.testing.assert_allclose(ours.params_[["r", "alpha", "a", "b"]].to_numpy(),
                               theirs.params_[["r", "alpha", "a", "b"]].to_numpy(),
                               rtol=1e-3)
    same = churn.BGNBD.from_params(*theirs.params_[["r", "alpha", "a", "b"]])
    np.testing.assert_allclose(same.conditional_probability_alive(f, r, T),
                               theirs.conditional_probability_alive(f, r, T), rtol=1e-7)
    np.testing.assert_allclose(
        same.conditional_expected_number_of_purchases_up_to_time(52, f, r, T),
        theirs.conditional_expected_number_of_purchases_up_to_time(52, f, r, T), rtol=1e-7)
    np.testing.assert_allclose(same.expected_number_of_purchases_up_to_time([10, 39, 78]),
                               theirs.expected_number_of_purchases_up_to_time(
                                   np.array([10, 39, 78])), rtol=1e-7)
    for k in (0, 1, 3):
        assert same.probability_of_n_purchases_up_to_time(39, k) == pytest.approx(
            theirs.probability_of_n_purchases_up_to_time(39, k), rel=1e-7)
    # the same lifetimes-order calls through our own names
    np.testing.assert_allclose(same.p_alive(f, r, T), same.p_alive(table), rtol=0)
    np.testing.assert_allclose(same.expected_purchases(52, f, r, T),
                               same.expected_purchases(52, table), rtol=0)
    assert list(same.p_alive(f, r, T).index) == list(table.index)


def test_pnbd_lifetimes_calls(lt, cdnow_table):
    t = cdnow_table
    f, r, T = t["frequency"], t["recency"], t["T"]
    theirs = lt.ParetoNBDFitter().fit(f, r, T)
    ours = churn.ParetoNBD().fit(f, r, T)
    names = ["r", "alpha", "s", "beta"]
    np.testing.assert_allclose(ours.params_[names].to_numpy(),
                               theirs.params_[names].to_numpy(), rtol=2e-3)
    same = churn.ParetoNBD.from_params(*theirs.params_[names])
    np.testing.assert_allclose(same.conditional_probability_alive(f, r, T),
                               theirs.conditional_probability_alive(f, r, T), rtol=1e-6)
    np.testing.assert_allclose(
        same.conditional_expected_number_of_purchases_up_to_time(52, f, r, T),
        theirs.conditional_expected_number_of_purchases_up_to_time(52, f, r, T), rtol=1e-6)
    rows = t.iloc[:20]
    for n in (0, 2):
        np.testing.assert_allclose(
            same.conditional_probability_of_n_purchases_up_to_time(
                n, 26, rows["frequency"], rows["recency"], rows["T"]),
            theirs.conditional_probability_of_n_purchases_up_to_time(
                n, 26, rows["frequency"], rows["recency"], rows["T"]), rtol=1e-6)


def test_gamma_gamma_and_clv_lifetimes_calls(lt, table):
    rb = table[table["frequency"] > 0]
    theirs = lt.GammaGammaFitter().fit(rb["frequency"], rb["monetary_value"])
    ours = churn.GammaGamma().fit(rb["frequency"], rb["monetary_value"])
    np.testing.assert_allclose(ours.params_.to_numpy(),
                               theirs.params_[["p", "q", "v"]].to_numpy(), rtol=2e-3)
    # one-time buyers in the arrays are left out by our fit, as lifetimes' users do by hand
    everyone = churn.GammaGamma().fit(table["frequency"], table["monetary_value"])
    np.testing.assert_allclose(everyone.params_, ours.params_, rtol=1e-12)
    gg = churn.GammaGamma.from_params(*theirs.params_[["p", "q", "v"]])
    assert gg.params_["gamma"] == churn.GammaGamma.from_params(
        **{"p": 1.0, "q": 2.0, "v": theirs.params_["v"]}).params_["gamma"]
    np.testing.assert_allclose(
        gg.conditional_expected_average_profit(rb["frequency"], rb["monetary_value"]),
        theirs.conditional_expected_average_profit(rb["frequency"], rb["monetary_value"]),
        rtol=1e-9)
    bgf = lt.BetaGeoFitter().fit(table["frequency"], table["recency"], table["T"])
    bg = churn.BGNBD.from_params(*bgf.params_[["r", "alpha", "a", "b"]])
    args = (rb["frequency"], rb["recency"], rb["T"], rb["monetary_value"])
    theirs_clv = theirs.customer_lifetime_value(bgf, *args, time=12, discount_rate=0.01,
                                                freq="W")
    ours_clv = gg.customer_lifetime_value(bg, *args, time=12, discount_rate=0.01, freq="W")
    assert ours_clv.name == "clv"
    np.testing.assert_allclose(ours_clv.to_numpy(), np.asarray(theirs_clv), rtol=1e-6)
    # and the same number from our own call
    ours_own = churn.clv(bg, gg, rb, horizon=12, period=4.345, discount=0.01)["clv"]
    np.testing.assert_allclose(ours_own.to_numpy(), ours_clv.to_numpy(), rtol=1e-12)


def test_lifetimes_order_errors():
    bg = churn.BGNBD.from_params(r=0.24, alpha=4.4, a=0.79, b=2.4)
    with pytest.raises(TypeError, match="frequency, recency and T"):
        bg.p_alive([1.0, 2.0], [3.0, 4.0])                 # T missing
    with pytest.raises(ValueError, match="recency"):
        bg.p_alive([1.0, 2.0], [3.0], [5.0, 6.0])           # lengths differ: named
    with pytest.raises(TypeError, match="weights given twice"):
        churn.BGNBD().fit([1.0, 2.0], [1.0, 2.0], [3.0, 3.0], [1, 1], weights=[1, 1])


def test_bgbb_lifetimes_calls(lt, shared_data):
    import os
    d = pd.read_csv(os.path.join(shared_data, "donations", "donations.csv"))
    f, r, n, w = d["frequency"], d["recency"], d["periods"], d["weights"]
    theirs = lt.BetaGeoBetaBinomFitter().fit(f, r, n, weights=w)
    ours = churn.BGBB().fit(f, r, n, w)                     # lifetimes' positional order
    names = ["alpha", "beta", "gamma", "delta"]
    np.testing.assert_allclose(ours.params_[names].to_numpy(),
                               theirs.params_[names].to_numpy(), rtol=2e-3)
    same = churn.BGBB.from_params(*theirs.params_[names])
    for m in (0, 1, 3):
        np.testing.assert_allclose(same.conditional_probability_alive(m, f, r, n),
                                   theirs.conditional_probability_alive(m, f, r, n),
                                   rtol=1e-8)
    np.testing.assert_allclose(
        same.conditional_expected_number_of_purchases_up_to_time(5, f, r, n),
        theirs.conditional_expected_number_of_purchases_up_to_time(5, f, r, n), rtol=1e-8)
