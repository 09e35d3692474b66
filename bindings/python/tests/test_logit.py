"""Logistic regression through Python against R's glm, glmnet and exact optima."""
import json
import os
import pickle

import numpy as np
import pandas as pd
import pytest

import churn


@pytest.fixture(scope="module")
def logistic(shared_data):
    return os.path.join(shared_data, "logistic")


def _glm(logistic, model, name="glm_binomial.csv"):
    g = pd.read_csv(os.path.join(logistic, name))
    return g[g["model"] == model].set_index("term")


def test_mtcars_matches_glm(logistic):
    mt = pd.read_csv(os.path.join(logistic, "mtcars.csv"))
    m = churn.LogisticRegression().fit(mt[["hp", "wt"]], mt["am"])
    ref = _glm(logistic, "mtcars: am ~ hp + wt")
    s = m.summary
    np.testing.assert_allclose(s["estimate"], ref["coef"], rtol=1e-7)
    np.testing.assert_allclose(s["se"], ref["se"], rtol=1e-6)
    np.testing.assert_allclose(s["z"], ref["z"], rtol=1e-6)
    np.testing.assert_allclose(s["p"], ref["p"], rtol=1e-5)
    np.testing.assert_allclose(s["odds_ratio"], np.exp(ref["coef"]), rtol=1e-6)
    f = m.fit_summary_
    r0 = ref.iloc[0]
    assert f["deviance"] == pytest.approx(r0["deviance"], rel=1e-9)
    assert f["null_deviance"] == pytest.approx(r0["null_deviance"], rel=1e-12)
    assert f["aic"] == pytest.approx(r0["aic"], rel=1e-9)
    assert m.loglik_ == pytest.approx(r0["loglik"], rel=1e-9)
    assert f["df_residual"] == r0["df_resid"] and f["converged"]
    assert m.feature_names_ == ["hp", "wt"]
    assert m.intercept_ == pytest.approx(r0["coef"], rel=1e-7)
    assert "odds_ratio" in m._repr_html_()


def test_infert_and_weighted_fits(logistic):
    inf = pd.read_csv(os.path.join(logistic, "infert.csv"))
    feats = ["age", "parity", "spontaneous", "induced"]
    m = churn.LogisticRegression().fit(inf[feats].to_numpy(), inf["case"].to_numpy(),
                                       feature_names=feats)
    ref = _glm(logistic, "infert: case ~ age + parity + spontaneous + induced")
    np.testing.assert_allclose(m.params_, ref["coef"], rtol=1e-7)
    np.testing.assert_allclose(m.standard_errors_, ref["se"], rtol=1e-6)
    mt = pd.read_csv(os.path.join(logistic, "mtcars.csv"))
    w = churn.LogisticRegression(class_weight="balanced").fit(mt[["hp", "wt"]], mt["am"])
    refw = _glm(logistic, "mtcars weighted (balanced class weights): am ~ hp + wt",
                "glm_binomial_weighted.csv")
    np.testing.assert_allclose(w.params_, refw["coef"], rtol=1e-7)
    np.testing.assert_allclose(w.standard_errors_, refw["se"], rtol=1e-6)
    # explicit sample weights = the balanced class weights
    n, n1 = len(mt), mt["am"].sum()
    sw = np.where(mt["am"] == 1, n / (2 * n1), n / (2 * (n - n1)))
    w2 = churn.LogisticRegression().fit(mt[["hp", "wt"]], mt["am"], sample_weight=sw)
    np.testing.assert_allclose(w2.params_, w.params_, rtol=1e-10)


def test_penalised_fits_match_exact_optima(logistic):
    bc = pd.read_csv(os.path.join(logistic, "breast_cancer_standardized.csv"))
    X, y = bc.drop(columns=["target"]), bc["target"]
    with open(os.path.join(logistic, "logit_sklearn_statsmodels.json")) as f:
        fits = json.load(f)["breast_cancer_sklearn"]["fits"]
    for key in ("l2_C1_EXACT_newton", "l2_C0.1_EXACT_newton", "l2_C1_balanced_EXACT_newton"):
        ref, s = fits[key], fits[key]["settings"]
        m = churn.LogisticRegression(penalty="l2", C=s["C"],
                                     class_weight=s["class_weight"]).fit(X, y)
        assert m.intercept_ == pytest.approx(ref["intercept"], abs=1e-9)
        np.testing.assert_allclose(m.coef_, [ref["coef"][c] for c in X.columns], atol=1e-9)
        assert np.isnan(m.summary["se"]).all()
    g = pd.read_csv(os.path.join(logistic, "glmnet_breast_cancer.csv"))
    for fit, pen in (("l1_C0.1", "l1"), ("elasticnet_C0.1_l1ratio0.5", "elasticnet")):
        r = g[g["fit"] == fit].set_index("term")
        m = churn.LogisticRegression(penalty=pen, lambda_=float(r["glmnet_lambda"].iloc[0]),
                                     l1_ratio=float(r["alpha"].iloc[0])).fit(X, y)
        np.testing.assert_allclose(m.params_[r.index], r["coef"], atol=1e-6)
        assert m.fit_summary_["nonzero"] == int((r["coef"].iloc[1:] != 0).sum())


def test_predictions_explanations_and_cv(logistic):
    bc = pd.read_csv(os.path.join(logistic, "breast_cancer_standardized.csv"))
    X, y = bc.drop(columns=["target"]).iloc[:, :6], bc["target"]
    m = churn.LogisticRegression().fit(X, y)
    p = m.predict_churn(X)
    eta = m.decision_function(X)
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-eta)), rtol=1e-12)
    np.testing.assert_allclose(eta, m.intercept_ + X.to_numpy() @ m.coef_, rtol=1e-10)
    pp = m.predict_proba(X.to_numpy())
    assert pp.shape == (len(X), 2)
    np.testing.assert_allclose(pp[:, 1], p, rtol=0, atol=0)
    assert set(np.unique(m.predict(X))) <= {0, 1}
    # column order of a DataFrame does not matter; Fortran order passes without copy
    np.testing.assert_array_equal(m.predict_churn(X[X.columns[::-1]]), p)
    np.testing.assert_allclose(m.predict_churn(np.asfortranarray(X.to_numpy())), p,
                               rtol=1e-15)
    c = m.contributions(X)
    np.testing.assert_allclose(c.sum(axis=1) + c.attrs["baseline"], eta, rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(c.iloc[:, 0], m.coef_[0] * (X.iloc[:, 0] - X.iloc[:, 0].mean()),
                               rtol=1e-9, atol=1e-12)
    e = m.explain(X, top=2)
    assert list(e.columns) == ["reason_1", "contribution_1", "reason_2", "contribution_2"]
    assert (e["contribution_1"].dropna() >= e["contribution_2"].fillna(-1).loc[
        e["contribution_1"].dropna().index]).all()
    pen = churn.LogisticRegression(penalty="l2")
    cv1 = pen.cross_validate(X, y, nfolds=4, nlambda=15, seed=3)
    cv2 = pen.cross_validate(X, y, nfolds=4, nlambda=15, seed=3)
    pd.testing.assert_frame_equal(cv1.path, cv2.path)
    assert cv1.lambda_1se >= cv1.lambda_min
    assert cv1.path["lambda"].is_monotonic_decreasing
    best = cv1.path.loc[cv1.path["mean"].idxmin(), "lambda"]
    assert cv1.lambda_min == best
    fitted = churn.LogisticRegression(penalty="l2").fit(X, y, cv=4, nlambda=15, seed=3)
    assert fitted.fit_summary_["lambda"] == pytest.approx(cv1.lambda_min, rel=1e-15)
    clone = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(clone.predict_churn(X), fitted.predict_churn(X))
    assert clone.cv_.lambda_min == cv1.lambda_min


def test_bad_arguments(logistic):
    mt = pd.read_csv(os.path.join(logistic, "mtcars.csv"))
    X = mt[["hp", "wt"]].copy()
    X.loc[3, "wt"] = np.nan
    with pytest.raises(ValueError, match=r"row index 3, column 'wt'"):
        churn.LogisticRegression().fit(X, mt["am"])
    y = mt["am"].copy()
    y[5] = 2
    with pytest.raises(ValueError, match="5"):
        churn.LogisticRegression().fit(mt[["hp", "wt"]], y)
    with pytest.raises(ValueError, match="length 31 does not match 32"):
        churn.LogisticRegression().fit(mt[["hp", "wt"]], mt["am"][:-1])
    with pytest.raises(TypeError, match="model"):
        churn.LogisticRegression().fit(mt[["hp", "model"]], mt["am"])
    with pytest.raises(ValueError, match="weight"):
        churn.LogisticRegression().fit(mt[["hp", "wt"]], mt["am"],
                                       sample_weight=-np.ones(32))
    with pytest.raises(ValueError, match="class"):
        churn.LogisticRegression().fit(mt[["hp", "wt"]], np.zeros(32))
    with pytest.raises(churn.NumericalError, match="hp|wt|separat"):
        churn.LogisticRegression().fit(mt[["hp", "wt"]], (mt["wt"] > 3).astype(float))
    with pytest.raises(ValueError, match="penalty"):
        churn.LogisticRegression(penalty="l3")
    m = churn.LogisticRegression().fit(mt[["hp", "wt"]], mt["am"])
    with pytest.raises(KeyError, match="wt"):
        m.predict_churn(mt[["hp"]])
    with pytest.raises(ValueError, match="3 columns"):
        m.predict_churn(np.ones((2, 3)))
    bad = mt[["hp", "wt"]].copy()
    bad.loc[1, "hp"] = np.inf
    with pytest.raises(ValueError, match="hp"):
        m.predict_churn(bad)
