"""Kaplan-Meier, Cox and AFT models through Python against R 4.2.2 / survival 3.5.3."""
import os
import pickle

import numpy as np
import pandas as pd
import pytest

import churn


@pytest.fixture(scope="module")
def surv_dir(shared_data):
    return os.path.join(shared_data, "survival")


def _csv(surv_dir, name):
    return pd.read_csv(os.path.join(surv_dir, name))


def test_kaplan_meier_lung(lung, surv_dir):
    km = churn.KaplanMeierFitter().fit(lung["time"], lung["event"])
    ref = _csv(surv_dir, "km_lung.csv")
    c = km.curve()
    np.testing.assert_array_equal(c.index, ref["time"])
    for ours, theirs in (("n_risk", "n.risk"), ("n_event", "n.event"),
                         ("n_censor", "n.censor")):
        np.testing.assert_array_equal(c[ours], ref[theirs])
    for ours, theirs in (("survival", "surv"), ("std_err", "std.err"), ("lower", "lower"),
                         ("upper", "upper"), ("cumhaz", "cumhaz")):
        np.testing.assert_allclose(c[ours], ref[theirs], rtol=1e-12)
    sf = km.survival_function_
    assert sf.iloc[0, 0] == 1.0 and sf.index[0] == 0
    np.testing.assert_allclose(sf.loc[ref["time"], "KM_estimate"], ref["surv"], rtol=1e-12)
    assert km.median_survival_time_ == 310
    assert tuple(km.median_confidence_interval_.iloc[0]) == (285, 363)
    rm, se = km.rmean()
    assert rm == pytest.approx(376.2747461478497, rel=1e-12)
    assert se == pytest.approx(19.7077914213399, rel=1e-10)
    assert km.survival_at(306.5) == km.survival_at(306)
    ci = km.confidence_interval_
    assert list(ci.columns) == ["KM_estimate_lower_0.95", "KM_estimate_upper_0.95"]
    ll = churn.KaplanMeierFitter(conf_type="log-log").fit("time", "event", data=lung)
    refll = _csv(surv_dir, "km_lung_loglog_ci.csv")
    cl = ll.curve()
    np.testing.assert_allclose(cl["lower"], refll["lower"], rtol=1e-10)
    np.testing.assert_allclose(cl["upper"], refll["upper"], rtol=1e-10)


def test_kaplan_meier_groups_and_logrank(lung, surv_dir):
    km = churn.KaplanMeierFitter().fit(lung["time"], lung["event"], groups=lung["sex"])
    assert km.groups_ == [1, 2]
    ref = _csv(surv_dir, "km_lung_by_sex.csv")
    for g in (1, 2):
        r = ref[ref["strata"] == f"sex={g}"]
        np.testing.assert_allclose(km.survival_at(r["time"].to_numpy(), group=g), r["surv"],
                                   rtol=1e-12)
        c = km.curve(g).loc[r["time"]]
        np.testing.assert_allclose(c["lower"], r["lower"], rtol=1e-10)
    t = km.logrank_test()
    assert t["chisq"] == pytest.approx(10.326741954885632, rel=1e-10)
    assert t["df"] == 1 and t["p"] == pytest.approx(0.00131116452, rel=1e-8)
    ev = km.group_events()
    assert list(ev["N"]) == [138, 90] and list(ev["observed"]) == [112, 53]
    np.testing.assert_allclose(ev["expected"], [91.58173903, 73.41826097], rtol=1e-9)
    assert churn.logrank_test(lung["time"], lung["event"],
                              lung["sex"].map({1: "m", 2: "f"}))["chisq"] == \
        pytest.approx(t["chisq"], rel=1e-14)
    assert set(km.survival_function_.columns) == {1, 2}
    assert "median" in km._repr_html_() and "2 curve" in km._repr_html_()
    with pytest.raises(ValueError, match="group"):
        km.survival_at(10.0)
    with pytest.raises(KeyError):
        km.survival_at(10.0, group=3)


def test_cox_matches_coxph(lung_cc, surv_dir):
    data = lung_cc[["time", "event", "age", "sex", "ph.ecog"]]
    coef = _csv(surv_dir, "cox_lung_coef.csv")
    fit = _csv(surv_dir, "cox_lung_fit.csv").set_index("ties")
    for ties in ("efron", "breslow"):
        m = churn.CoxPHFitter(ties=ties).fit(data, duration_col="time", event_col="event")
        r = coef[coef["ties"] == ties].set_index("term")
        s = m.summary
        np.testing.assert_allclose(s["coef"], r["coef"], rtol=1e-7)
        np.testing.assert_allclose(s["exp(coef)"], r["exp_coef"], rtol=1e-7)
        np.testing.assert_allclose(s["se(coef)"], r["se"], rtol=1e-6)
        np.testing.assert_allclose(s["z"], r["z"], rtol=1e-6)
        np.testing.assert_allclose(s["p"], r["p"], rtol=1e-5)
        f = fit.loc[ties]
        assert m.log_likelihood_ == pytest.approx(f["loglik"], rel=1e-10)
        assert m.loglik_null_ == pytest.approx(f["loglik_null"], rel=1e-10)
        assert m.concordance_index_ == pytest.approx(f["concordance"], rel=1e-10)
        assert m.test("lr")["statistic"] == pytest.approx(f["lr_test"], rel=1e-7)
        assert m.test("wald")["statistic"] == pytest.approx(f["wald_test"], rel=1e-6)
        assert m.test("score")["statistic"] == pytest.approx(f["score_test"], rel=1e-7)
        assert m.num_events_ == f["nevent"] and m.nobs_ == f["n"]
    m = churn.CoxPHFitter().fit(data, duration_col="time", event_col="event")
    bh = _csv(surv_dir, "cox_lung_efron_basehaz.csv").set_index("time")
    ours = m.baseline(centered=True)  # event times only; R also lists censoring times
    assert len(ours) == 138 and set(ours.index) <= set(bh.index)
    np.testing.assert_allclose(ours.iloc[:, 0], bh.loc[ours.index, "cumhaz_centered"],
                               rtol=1e-8)
    np.testing.assert_allclose(m.baseline(centered=False).iloc[:, 0],
                               bh.loc[ours.index, "cumhaz_uncentered"], rtol=1e-8)
    sf = _csv(surv_dir, "cox_lung_efron_survfit_age60_sex1_ecog1.csv")
    cur = m.survival_curve(pd.Series({"age": 60.0, "sex": 1.0, "ph.ecog": 1.0}), sf["time"])
    np.testing.assert_allclose(cur["survival"], sf["surv"], rtol=1e-8)
    np.testing.assert_allclose(cur["std_err"], sf["std.err"], rtol=1e-6)
    np.testing.assert_allclose(cur["lower"], sf["lower"], rtol=1e-6)
    one = pd.DataFrame({"age": [60.0], "sex": [1.0], "ph.ecog": [1.0]})
    psf = m.predict_survival_function(one, times=sf["time"])
    np.testing.assert_allclose(psf.iloc[:, 0], sf["surv"], rtol=1e-8)
    lp = m.predict_log_partial_hazard(data)
    np.testing.assert_allclose(lp, (data[["age", "sex", "ph.ecog"]] -
                                    data[["age", "sex", "ph.ecog"]].mean()) @ m.params_,
                               rtol=1e-9, atol=1e-12)
    # lp is a risk score: say so (since 1.2 the default is lifelines' convention)
    assert churn.concordance_index(data["time"], lp, data["event"], score_is_risk=True) == \
        pytest.approx(m.concordance_index_, rel=1e-14)
    assert churn.concordance_index(data["time"], -lp, data["event"], score_is_risk=False) == \
        pytest.approx(m.concordance_index_, rel=1e-14)
    assert churn.concordance_index(data["time"], -lp, data["event"]) == \
        pytest.approx(m.concordance_index_, rel=1e-14)
    pc = m.predict_churn(data, 365)
    np.testing.assert_allclose(pc, 1 - m.predict_at(data, 365)["survival"], rtol=1e-14)
    med = m.predict_median(one)[0]
    assert m.predict_at(one, med)["survival"][0] <= 0.5
    ridge = churn.CoxPHFitter(l2_penalty=1.0).fit(data, duration_col="time",
                                                  event_col="event")
    ex = _csv(surv_dir, "cox_lung_extra.csv")
    rr = ex[ex["model"].str.startswith("efron ridge(theta=1,scale=FALSE)")]
    np.testing.assert_allclose(ridge.params_, rr["coef"], rtol=1e-6)


def test_cox_zph(lung_cc, surv_dir):
    data = lung_cc[["time", "event", "age", "sex", "ph.ecog"]]
    m = churn.CoxPHFitter().fit(data, duration_col="time", event_col="event")
    z = m.check_assumptions(data, "time", "event")
    ref = _csv(surv_dir, "cox_lung_efron_zph_km.csv").set_index("term")
    np.testing.assert_allclose(z.loc[ref.index, "chisq"], ref["chisq"], rtol=1e-6)


def test_aft_models_match_survreg(lung_cc, surv_dir):
    ref = _csv(surv_dir, "survreg_lung.csv")
    data = lung_cc[["time", "event", "age", "sex", "ph.ecog"]]
    classes = {"weibull": churn.WeibullAFTFitter, "exponential": churn.ExponentialAFTFitter,
               "loglogistic": churn.LogLogisticAFTFitter,
               "lognormal": churn.LogNormalAFTFitter}
    for dist, cls in classes.items():
        r = ref[ref["dist"] == dist].set_index("term")
        m = cls().fit(data, duration_col="time", event_col="event")
        np.testing.assert_allclose(m.params_[r.index], r["value"], rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(m.standard_errors_[r.index], r["se"], rtol=1e-5)
        assert m.scale_ == pytest.approx(r["scale"].iloc[0], rel=1e-6)
        assert m.loglik_ == pytest.approx(r["loglik"].iloc[0], rel=1e-9)
        assert m.loglik_null_ == pytest.approx(r["loglik_intercept_only"].iloc[0], rel=1e-8)
        f = m.predict_frame(data.head(5), 200)
        assert list(f.columns) == ["p_churn", "survival", "linear_predictor", "median",
                                   "mean_residual_life"]
        # S(median) = 1/2
        med = m.predict_median(data.head(3))
        for i in range(3):
            s = m.predict_at(data.iloc[[i]], med.iloc[i])["survival"].iloc[0]
            assert s == pytest.approx(0.5, rel=1e-9)
    w = churn.WeibullAFTFitter().fit(data, duration_col="time", event_col="event")
    assert "Log(scale)" in w.summary.index
    clone = pickle.loads(pickle.dumps(w))
    np.testing.assert_array_equal(clone.predict_median(data), w.predict_median(data))


def test_bad_arguments(lung_cc):
    data = lung_cc[["time", "event", "age", "sex"]].copy()
    bad = data.copy()
    bad.loc[4, "time"] = -3
    with pytest.raises(ValueError, match=r"row 4.*-3|duration"):
        churn.CoxPHFitter().fit(bad, duration_col="time", event_col="event")
    bad = data.copy()
    bad.loc[2, "event"] = 2
    with pytest.raises(ValueError, match="row 2|event"):
        churn.KaplanMeierFitter().fit(bad["time"], bad["event"])
    bad = data.copy()
    bad.loc[7, "age"] = np.nan
    with pytest.raises(ValueError, match="age|row 7"):
        churn.WeibullAFTFitter().fit(bad, duration_col="time", event_col="event")
    with pytest.raises(ValueError, match="length"):
        churn.KaplanMeierFitter().fit([1, 2, 3], [1, 0])
    with pytest.raises(TypeError):
        churn.KaplanMeierFitter().fit(["a", "b"], [1, 0])
    with pytest.raises(KeyError, match="nope"):
        churn.CoxPHFitter().fit(data, duration_col="time", event_col="event",
                                features=["nope"])
    with pytest.raises(ValueError, match="ties"):
        churn.CoxPHFitter(ties="exact")
    m = churn.CoxPHFitter().fit(data, duration_col="time", event_col="event")
    with pytest.raises(KeyError, match="sex"):
        m.predict_churn(data[["age"]], 100)
    with pytest.raises(TypeError):  # Cox has no mean residual life (CHURN_EFAMILY)
        churn.WeibullAFTFitter.mean_residual_life(m, data[["age", "sex"]], 10)
