"""retention_report and compare_models on customer tables and already fitted models,
DataFrames where a TransactionLog is accepted, the one default unit, from_params on
every family (issue 21).

References: the C comparison (`churn evaluate`'s numbers) for the fitted-model path,
unit invariance of the BTYD models for the default unit, the Gamma-Gamma closed form
for GammaGamma.from_params.
"""
import numpy as np
import pandas as pd
import pytest

import churn


@pytest.fixture(scope="module")
def cdnow_df(cdnow_path):
    d = pd.read_csv(cdnow_path, sep=r"\s+", header=None,
                    names=["master", "customer_id", "date", "cds", "amount"])
    return d[["customer_id", "date", "amount"]]


@pytest.fixture(scope="module")
def reports(cdnow_log):
    week = churn.retention_report(cdnow_log, cutoff="1997-09-30", unit="week")
    default = churn.retention_report(cdnow_log, cutoff="1997-09-30")
    return week, default


def test_report_default_unit_is_day_and_numbers_do_not_depend_on_it(reports):
    week, day = reports
    assert day.attrs["time_unit"] == 1.0 and week.attrs["time_unit"] == 7.0
    day = day.loc[week.index]
    for c in ("p_alive", "expected_purchases", "expected_spend", "clv", "value_at_risk"):
        np.testing.assert_allclose(day[c], week[c], rtol=1e-6, err_msg=c)
    np.testing.assert_allclose(day["T"], 7 * week["T"], rtol=1e-12)
    assert (day["tier"] == week["tier"]).all() and (day["alerts"] == week["alerts"]).all()
    # the fitted model describes the same customers: alpha scales by 7, r, a, b do not
    bd, bw = day.attrs["model"].params_, week.attrs["model"].params_
    assert bd["alpha"] == pytest.approx(7 * bw["alpha"], rel=1e-4)
    assert bd["r"] == pytest.approx(bw["r"], rel=1e-4)


def test_report_from_table_and_fitted_models(cdnow_log, reports):
    week, _ = reports
    bg, gg = week.attrs["model"], week.attrs["spend_model"]
    table = churn.customer_table(cdnow_log, cutoff="1997-09-30", unit="week")
    r = churn.retention_report(table, model=bg, spend_model=gg)
    assert r.attrs["model"] is bg and r.attrs["spend_model"] is gg   # not refitted
    assert r.attrs["time_unit"] == 7.0                                # the table's own
    pd.testing.assert_frame_equal(r.drop(columns="alerts"), week.drop(columns="alerts"),
                                  check_exact=False, rtol=1e-12)
    assert (r["alerts"] == week["alerts"]).all()
    # a fitted model of another unit is refused, naming both
    with pytest.raises(churn.UnitMismatchError):
        churn.retention_report(churn.customer_table(cdnow_log, cutoff="1997-09-30"),
                               model=bg)


def test_report_from_minimal_table(reports):
    week, _ = reports
    t = week[["frequency", "recency", "T", "monetary_value"]].copy()
    t.attrs = {}
    r = churn.retention_report(t, unit="week")
    assert set(r.attrs["alerts_skipped"]) == {"overdue", "spend_down"}
    np.testing.assert_allclose(r.loc[week.index, "clv"], week["clv"], rtol=1e-6)
    with pytest.raises(KeyError, match="rule 'late' reads column 'overdue_ratio'"):
        churn.retention_report(t, unit="week", alerts=["late: overdue_ratio > 2"])
    with pytest.raises(TypeError, match="model"):
        churn.retention_report(t, unit="week", model=churn.GammaGamma())


def test_report_from_dataframe_of_transactions(cdnow_df, reports):
    week, _ = reports
    r = churn.retention_report(cdnow_df, cutoff="1997-09-30", unit="week")
    np.testing.assert_allclose(r["clv"].to_numpy(), week["clv"].to_numpy(), rtol=1e-9)


@pytest.fixture(scope="module")
def c_comparison(cdnow_log):
    return churn.compare_models(cdnow_log, "1997-09-30", "1998-06-30", unit="week",
                                models="bgnbd,pnbd,logit,cox")


def test_compare_fitted_models_reproduces_the_c_comparison(c_comparison):
    c = c_comparison
    table = c.customers
    f = churn.compare_models([c.models["bgnbd"], c.models["pnbd"]], table)
    assert f.holdout_length == pytest.approx(c.holdout_length) == 39.0
    cols = ["auc", "log_loss", "brier", "top_decile_lift", "holdout_mae"]
    pd.testing.assert_frame_equal(f.table[cols], c.table.loc[["bgnbd", "pnbd"], cols],
                                  check_exact=False, rtol=1e-10)
    np.testing.assert_allclose(f.scores["p_churn_bgnbd"], c.scores["p_churn_bgnbd"],
                               rtol=1e-10)
    # the keyword form, names from a dict, duplicates numbered
    g = churn.compare_models(table, models={"mine": c.models["bgnbd"]}, holdout=39)
    assert list(g.table.index) == ["mine"]
    h = churn.compare_models([c.models["bgnbd"], c.models["bgnbd"]], table)
    assert list(h.table.index) == ["bgnbd", "bgnbd_2"]
    # supervised models fitted on these labels are scored in sample (documented)
    s = churn.compare_models(table, models=[c.models["logit"], c.models["cox"]])
    assert (s.table["auc"] >= c.table.loc[["logit", "cox"], "auc"].to_numpy() - 1e-3).all()
    assert s.table["holdout_mae"].isna().all()


def test_compare_fitted_models_on_transactions(cdnow_df, c_comparison):
    c = c_comparison
    f = churn.compare_models(cdnow_df, "1997-09-30", "1998-06-30",
                             models=[c.models["bgnbd"]])
    # the table is built in the model's unit (weeks), so the numbers are the C ones
    assert f.holdout_length == pytest.approx(39.0)
    assert f.table.loc["bgnbd", "auc"] == pytest.approx(c.table.loc["bgnbd", "auc"],
                                                        rel=1e-12)


def test_compare_default_unit_day_same_metrics(cdnow_log, c_comparison):
    d = churn.compare_models(cdnow_log, "1997-09-30", "1998-06-30",
                             models="bgnbd,pnbd")
    assert d.holdout_length == pytest.approx(273.0)
    np.testing.assert_allclose(d.table[["auc", "log_loss", "brier", "holdout_mae"]],
                               c_comparison.table.loc[["bgnbd", "pnbd"],
                                                      ["auc", "log_loss", "brier",
                                                       "holdout_mae"]], rtol=1e-5)


def test_compare_errors(c_comparison):
    t = c_comparison.customers
    bg = c_comparison.models["bgnbd"]
    with pytest.raises(KeyError, match="churned"):
        churn.compare_models([bg], t.drop(columns="churned"))
    with pytest.raises(TypeError, match="not both"):
        churn.compare_models(t, models=["logit", bg])
    with pytest.raises(ValueError, match="holdout"):
        churn.compare_models([bg], t[["frequency", "recency", "T", "churned"]].copy()
                             .pipe(lambda d: d.__setattr__("attrs", {}) or d))
    with pytest.raises(TypeError, match="cutoff and holdout_end"):
        churn.compare_models(t.reset_index())


def test_repeat_tracking_accepts_a_dataframe(cdnow_df, cdnow_log):
    a = churn.repeat_tracking(cdnow_log, periods=78, origin="1997-01-01")
    b = churn.repeat_tracking(cdnow_df, periods=78, origin="1997-01-01")
    pd.testing.assert_frame_equal(a, b)


def test_gamma_gamma_from_params_closed_form():
    p, q, g = 6.25, 3.74, 15.44
    gg = churn.GammaGamma.from_params(p=p, q=q, gamma=g)
    x = np.array([1.0, 2.0, 10.0])
    z = np.array([40.0, 40.0, 25.0])
    w = (q - 1) / (p * x + q - 1)
    expected = w * p * g / (q - 1) + (1 - w) * z          # Fader, Hardie & Lee (2005) eq. 5
    np.testing.assert_allclose(gg.expected_spend(None, x, z), expected, rtol=1e-12)
    assert gg.mean_spend_ == pytest.approx(p * g / (q - 1), rel=1e-12)
    assert churn.GammaGamma.from_params(p, q, g).params_.equals(gg.params_)
    assert churn.GammaGamma.from_params(p=p, q=q, v=g).params_["gamma"] == g
    back = churn.GammaGamma.from_json(gg.to_json())
    assert back.params_.equals(gg.params_)
    with pytest.raises(churn.ChurnValueError, match="'p'"):
        churn.GammaGamma.from_params(-1.0, q, g)
    with pytest.raises(TypeError, match="p, q, gamma"):
        churn.GammaGamma.from_params(p=p, q=q)


@pytest.mark.parametrize("cls", [churn.BGNBD, churn.MBGNBD, churn.ParetoNBD, churn.BGBB,
                                 churn.SBG, churn.GammaGamma, churn.LogisticRegression,
                                 churn.WeibullAFTFitter, churn.ExponentialAFTFitter,
                                 churn.LogLogisticAFTFitter, churn.LogNormalAFTFitter,
                                 churn.CoxPHFitter])
def test_every_model_family_has_from_params(cls):
    assert callable(getattr(cls, "from_params"))


def test_logit_from_params_predicts_like_the_fit():
    rng = np.random.default_rng(11)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    y = (rng.random(300) < 1 / (1 + np.exp(-(0.5 + X["a"] - 2 * X["b"])))).astype(int)
    fit = churn.LogisticRegression().fit(X, y)
    back = churn.LogisticRegression.from_params(fit.params_)
    np.testing.assert_allclose(back.predict_proba(X), fit.predict_proba(X), rtol=1e-12)
    sk = churn.LogisticRegression.from_params(coef=fit.coef_, intercept=fit.intercept_,
                                              feature_names=["a", "b"],
                                              classes=["stay", "churn"])
    np.testing.assert_allclose(sk.decision_function(X), fit.decision_function(X),
                               rtol=1e-12)
    assert list(sk.classes_) == ["churn", "stay"]
    eta = 0.3 + 2.0 * X["a"].to_numpy()                      # closed form
    m = churn.LogisticRegression.from_params({"(Intercept)": 0.3, "a": 2.0})
    np.testing.assert_allclose(m.predict_churn(X[["a"]]), 1 / (1 + np.exp(-eta)),
                               rtol=1e-12)
    with pytest.raises(ValueError, match="feature_mean"):
        m.contributions(X[["a"]])                            # no training data: says so


@pytest.mark.parametrize("cls", [churn.WeibullAFTFitter, churn.ExponentialAFTFitter,
                                 churn.LogLogisticAFTFitter, churn.LogNormalAFTFitter])
def test_aft_from_params_predicts_like_the_fit(lung_cc, cls):
    d = lung_cc[["time", "event", "age", "sex"]]
    fit = cls().fit(d, "time", "event")
    back = cls.from_params(fit.params_, unit="day")
    assert back.time_unit_ == 1.0
    np.testing.assert_allclose(back.predict_median(d), fit.predict_median(d), rtol=1e-12)
    np.testing.assert_allclose(back.predict_churn(d, 365.0), fit.predict_churn(d, 365.0),
                               rtol=1e-12)


def test_cox_from_params_needs_the_baseline():
    with pytest.raises(TypeError, match="baseline cumulative hazard"):
        churn.CoxPHFitter.from_params({"age": 0.01})


def test_btyd_fit_progress_argument_is_quiet_when_false(capsys):
    t = churn.simulate_summary(300, model="bgnbd", seed=2, unit="week")
    churn.BGNBD(progress=False).fit(t)
    churn.BGNBD().fit(t, progress=False)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


@pytest.mark.parametrize("fit", [
    lambda t, p: churn.BGNBD().fit(t, progress=p),
    lambda t, p: churn.GammaGamma().fit(t.assign(monetary_value=t["mean_spend"].fillna(0)),
                                        progress=p),
    lambda t, p: churn.LogisticRegression().fit(t[["frequency", "recency"]],
                                                (t["holdout_purchases"] == 0).astype(int),
                                                progress=p),
    lambda t, p: churn.CoxPHFitter().fit(t.assign(event=1.0)[["T", "event", "frequency"]],
                                         "T", "event", progress=p),
], ids=["bgnbd", "gammagamma", "logit", "cox"])
def test_fits_over_many_rows_get_busy_feedback(monkeypatch, fit):
    import churn._estimator as est
    import churn._progress as prog
    seen = []

    class Recorder:
        def __init__(self, desc, progress=None):
            seen.append((desc, progress))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(prog, "Busy", Recorder)
    t = churn.simulate_summary(400, model="bgnbd", seed=2, holdout_days=91, unit="week")
    monkeypatch.setattr(est, "BUSY_ROWS", 1000)
    fit(t, None)                       # few rows: quiet (progress False)
    monkeypatch.setattr(est, "BUSY_ROWS", 100)
    fit(t, None)                       # many rows: shown after the delay (None)
    fit(t, False)                      # silenced
    assert [p for _, p in seen] == [False, None, False]
    assert "400 rows" in seen[1][0]


def test_cumulative_transactions_from_a_dataframe(cdnow_df):
    # FHL (2005) Fig. 2 through a DataFrame: the published parameters' expected
    # cumulative repeat transactions at weeks 20-25 (../shared/data/README.md)
    bg = churn.BGNBD.from_params(r=0.2425945, alpha=4.4136019, a=0.7929199, b=2.4258881,
                                 unit="week")
    tr = churn.repeat_tracking(cdnow_df, bg, periods=78, origin="1997-01-01")
    np.testing.assert_allclose(tr.loc[20:25, "expected_cumulative"],
                               [1312.458, 1387.346, 1460.392, 1531.713, 1601.418, 1669.6],
                               rtol=2e-4)
    assert tr.loc[20:25, "actual_cumulative"].tolist() == [1359, 1414, 1484, 1517, 1573,
                                                           1672]
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import churn.plotting as cp
    ax = cp.plot_cumulative_transactions(bg, cdnow_df, origin="1997-01-01")
    assert len(ax.lines) == 2       # the plot of issue 21's AttributeError, from a DataFrame
    import matplotlib.pyplot as plt
    plt.close("all")
