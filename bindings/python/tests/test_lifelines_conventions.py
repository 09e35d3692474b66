"""lifelines' spellings on our survival models (penalizer=, label=, print_summary(),
plot()) run side by side with lifelines itself from ../shared/peers, on R's lung data,
and the coefficient plot of churn.plot_coefficients rendered headless (issue 21)."""
import io
import contextlib

import numpy as np
import pandas as pd
import pytest

import churn
from _peers import import_peer

COLS = ["time", "event", "age", "sex", "ph.ecog"]


@pytest.fixture(scope="module")
def ll(shared_data):
    return import_peer(shared_data, "lifelines")


@pytest.fixture(scope="module")
def lung3(lung_cc):
    return lung_cc[COLS].copy()


@pytest.fixture(scope="module")
def plt():
    mpl = pytest.importorskip("matplotlib", reason="matplotlib is not installed")
    mpl.use("Agg")
    import matplotlib.pyplot as p
    yield p
    p.close("all")


@pytest.mark.parametrize("penalizer", [0.0, 0.1, 1.0])
def test_cox_same_numbers_as_lifelines(ll, lung3, penalizer):
    theirs = ll.CoxPHFitter(penalizer=penalizer).fit(lung3, duration_col="time",
                                                     event_col="event")
    ours = churn.CoxPHFitter(penalizer=penalizer).fit(lung3, duration_col="time",
                                                      event_col="event")
    names = ["age", "sex", "ph.ecog"]
    # lifelines stops Newton-Raphson at |step| < 1e-7; R's coxph and ours go further
    np.testing.assert_allclose(ours.params_[names], theirs.params_[names], rtol=2e-5)
    np.testing.assert_allclose(ours.standard_errors_[names], theirs.standard_errors_[names],
                               rtol=2e-5)
    assert ours.concordance_index_ == pytest.approx(theirs.concordance_index_, abs=1e-9)
    if penalizer == 0:
        assert ours.loglik_ == pytest.approx(theirs.log_likelihood_, abs=1e-6)
        np.testing.assert_allclose(ours.summary["p"], theirs.summary["p"], rtol=1e-4)
    assert ours.get_params()["penalizer"] == penalizer


def test_cox_penalizer_and_l2_penalty_refuse_each_other():
    with pytest.raises(ValueError, match="not both"):
        churn.CoxPHFitter(penalizer=0.1, l2_penalty=1.0)
    with pytest.raises(ValueError, match="l1_ratio"):
        churn.CoxPHFitter(penalizer=0.1, l1_ratio=0.5)
    with pytest.raises(ValueError, match="penalizer"):
        churn.WeibullAFTFitter(penalizer=0.1)


def test_print_summary_like_lifelines(ll, lung3):
    theirs = ll.CoxPHFitter().fit(lung3, "time", "event")
    ours = churn.CoxPHFitter().fit(lung3, "time", "event", label="lung")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert ours.print_summary(decimals=3) is None
    text = out.getvalue()
    n = int(theirs._n_examples)
    events = int(theirs.event_observed.sum())
    assert f"fitted with {n} total observations, {n - events} right-censored" in text
    assert "duration col = 'time'" in text and "event col = 'event'" in text
    assert f"number of events observed = {events}" in text
    assert "model = lung" in text
    assert f"log-likelihood = {theirs.log_likelihood_:.3f}" in text
    for name in ("age", "sex", "ph.ecog"):
        assert name in text


def test_cox_plot_labels_match_lifelines(ll, lung3, plt):
    theirs = ll.CoxPHFitter().fit(lung3, "time", "event")
    ours = churn.CoxPHFitter().fit(lung3, "time", "event", label="lung")
    ax_t = theirs.plot()
    ax_o = ours.plot()
    assert ax_o.get_xlabel() == ax_t.get_xlabel() == "log(HR) (95% CI)"
    assert sorted(t.get_text() for t in ax_o.get_yticklabels()) == \
        sorted(t.get_text() for t in ax_t.get_yticklabels())
    assert ax_o.get_title() == "lung"
    hr = ours.plot(hazard_ratios=True, columns=["sex"])
    assert hr.get_xlabel() == "HR (95% CI)"
    assert [t.get_text() for t in hr.get_yticklabels()] == ["sex"]
    assert hr.get_xscale() == "log"
    with pytest.raises(KeyError, match="'weight' is not a coefficient"):
        ours.plot(columns=["weight"])


@pytest.mark.parametrize("ours_cls,their_name,convert", [
    (churn.WeibullAFTFitter, "WeibullFitter",
     lambda p: {"lambda_": np.exp(p["(Intercept)"]), "rho_": np.exp(-p["Log(scale)"])}),
    (churn.ExponentialAFTFitter, "ExponentialFitter",
     lambda p: {"lambda_": np.exp(p["(Intercept)"])}),
    (churn.LogNormalAFTFitter, "LogNormalFitter",
     lambda p: {"mu_": p["(Intercept)"], "sigma_": np.exp(p["Log(scale)"])}),
    (churn.LogLogisticAFTFitter, "LogLogisticFitter",
     lambda p: {"alpha_": np.exp(p["(Intercept)"]), "beta_": np.exp(-p["Log(scale)"])}),
], ids=["weibull", "exponential", "lognormal", "loglogistic"])
def test_aft_intercept_only_same_as_lifelines(ll, lung3, ours_cls, their_name, convert):
    # lifelines' AFT regression needs formulaic for its intercept; its univariate fitters
    # are the same models without covariates
    theirs = getattr(ll, their_name)().fit(lung3["time"], lung3["event"], label="lung")
    ours = ours_cls().fit(lung3[["time", "event"]], "time", "event", label="lung")
    for name, v in convert(ours.params_).items():
        assert v == pytest.approx(getattr(theirs, name), rel=1e-5), name
    assert ours.loglik_ == pytest.approx(theirs.log_likelihood_, abs=1e-5)
    assert ours.label_ == theirs._label == "lung"


def test_aft_print_summary_and_plot(lung3, plt):
    m = churn.WeibullAFTFitter().fit(lung3, "time", "event")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        m.print_summary()
    assert "WeibullAFTFitter" in out.getvalue() and "Log(scale)" in out.getvalue()
    ax = m.plot()
    assert ax.get_xlabel() == "coef (95% CI)"
    assert {t.get_text() for t in ax.get_yticklabels()} == {
        "(Intercept)", "age", "sex", "ph.ecog", "Log(scale)"}


def test_km_label_in_fit_like_lifelines(ll, lung3):
    theirs = ll.KaplanMeierFitter().fit(lung3["time"], lung3["event"], label="all patients")
    ours = churn.KaplanMeierFitter().fit(lung3["time"], lung3["event"], label="all patients")
    assert ours.label == "all patients"
    sf = ours.survival_function_
    assert list(sf.columns) == list(theirs.survival_function_.columns)
    common = theirs.survival_function_.index.intersection(sf.index)
    np.testing.assert_allclose(sf.loc[common].to_numpy()[:, 0],
                               theirs.survival_function_.loc[common].to_numpy()[:, 0],
                               rtol=1e-12)


def test_logit_coefficient_plot_headless(plt):
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"tenure": rng.normal(size=400), "tickets": rng.normal(size=400),
                      "discount": rng.normal(size=400)})
    y = (rng.random(400) < 1 / (1 + np.exp(-(0.3 + X["tenure"] - X["tickets"])))).astype(int)
    m = churn.LogisticRegression().fit(X, y)
    ax = churn.plot_coefficients(m)
    assert ax.get_xlabel() == "log(OR) (95% CI)"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["tenure", "tickets", "discount"]
    # the points are the estimates, the bars their Wald intervals
    line = ax.lines[0]
    np.testing.assert_allclose(line.get_xdata(), m.coef_)
    ax2 = m.plot(odds_ratios=True)
    assert ax2.get_xlabel() == "OR (95% CI)"
    ax3 = churn.plot_coefficients(m, include_intercept=True)
    assert ax3.get_yticklabels()[0].get_text() == "(Intercept)"
    ax3.figure.canvas.draw()  # renders headless without error
