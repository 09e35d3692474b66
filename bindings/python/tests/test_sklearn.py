"""scikit-learn's estimator protocol on every model class (issue 21).

The estimators are exercised by scikit-learn itself (clone, cross_val_score with
roc_auc, GridSearchCV over the penalty, a Pipeline with StandardScaler), and the
coefficients are compared with scikit-learn's own LogisticRegression at the same
penalty (same objective: sum of log-losses + ||b||^2 / (2C), intercept unpenalised).
"""
import pickle

import numpy as np
import pandas as pd
import pytest

import churn

sklearn = pytest.importorskip("sklearn", reason="scikit-learn is not installed "
                              "(Debian: python3-sklearn)")
from sklearn.base import clone  # noqa: E402
from sklearn.linear_model import LogisticRegression as SkLogit  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score  # noqa
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

def sk_logit(**kw):
    """scikit-learn's LogisticRegression solved to the same precision as ours: newton-cg
    (its lbfgs stops early on these unscaled features, 1e-4 away at C = 1)."""
    return SkLogit(solver="newton-cg", tol=1e-10, max_iter=200, **kw)


ALL_MODELS = [churn.BGNBD, churn.MBGNBD, churn.ParetoNBD, churn.BGBB, churn.SBG,
              churn.GammaGamma, churn.LogisticRegression, churn.KaplanMeierFitter,
              churn.CoxPHFitter, churn.WeibullAFTFitter, churn.ExponentialAFTFitter,
              churn.LogLogisticAFTFitter, churn.LogNormalAFTFitter]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(20261207)
    n = 600
    X = pd.DataFrame({"recency": rng.gamma(2.0, 5.0, n), "spend": rng.normal(0, 1, n),
                      "tickets": rng.poisson(1.5, n).astype(float)})
    eta = -1.0 + 0.08 * X["recency"] - 0.6 * X["spend"] + 0.3 * X["tickets"]
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-eta))).astype(int)
    return X, pd.Series(y, name="churned")


@pytest.mark.parametrize("cls", ALL_MODELS, ids=lambda c: c.__name__)
def test_clone_contract(cls):
    m = cls()
    params = m.get_params()
    c = clone(m)
    assert type(c) is cls and c is not m
    for k, v in params.items():
        assert c.get_params()[k] is v or c.get_params()[k] == v
    # set_params round trip, unknown names refused with the valid ones listed
    if params:
        k = sorted(params)[0]
        assert m.set_params(**{k: params[k]}) is m
    with pytest.raises(ValueError, match="invalid parameter 'no_such'"):
        m.set_params(no_such=1)


def test_constructor_arguments_are_attributes():
    m = churn.CoxPHFitter(penalizer=0.1, l2_penalty=0.0)
    assert m.get_params()["penalizer"] == 0.1
    bg = churn.BGNBD(l2=0.01, max_iter=50)
    assert bg.get_params() == {"l2": 0.01, "max_iter": 50, "std_errors": True, "tol": None,
                               "progress": None}
    assert clone(bg).l2 == 0.01
    km = churn.KaplanMeierFitter(label="tenure")
    assert clone(km).label == "tenure"


def test_set_params_validates_and_keeps_old_values():
    m = churn.LogisticRegression(penalty="l2")
    with pytest.raises(ValueError, match="penalty"):
        m.set_params(penalty="l3")
    assert m.penalty == "l2"
    km = churn.KaplanMeierFitter()
    with pytest.raises(ValueError, match="conf_type"):
        km.set_params(conf_type="logit")
    assert km.conf_type == "log"
    cox = churn.CoxPHFitter()
    with pytest.raises(ValueError, match="ties"):
        cox.set_params(ties="exact")
    assert cox.ties == "efron"


def test_loaded_model_reports_defaults(tmp_path, data):
    X, y = data
    m = churn.LogisticRegression(penalty="l2", C=0.3).fit(X, y)
    m.save(tmp_path / "m.json")
    back = churn.load_model(tmp_path / "m.json")
    assert back.get_params()["penalty"] == "none"   # the file keeps the fit, not the args
    assert pickle.loads(pickle.dumps(m)).get_params()["C"] == 0.3


def test_same_coefficients_as_sklearn(data):
    X, y = data
    for C in (0.01, 0.1, 1.0):
        ours = churn.LogisticRegression(penalty="l2", C=C, tol=1e-12).fit(X, y)
        sk = sk_logit(penalty="l2", C=C).fit(X, y)
        np.testing.assert_allclose(ours.coef_, sk.coef_[0], atol=1e-8)
        assert ours.intercept_ == pytest.approx(sk.intercept_[0], abs=1e-8)
        np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X), atol=1e-9)
        assert ours.score(X, y) == pytest.approx(sk.score(X, y))
    ours = churn.LogisticRegression().fit(X, y)            # unpenalised maximum likelihood
    sk = sk_logit(penalty=None).fit(X, y)
    np.testing.assert_allclose(ours.coef_, sk.coef_[0], atol=1e-7)


def test_cross_val_score_roc_auc_matches_sklearn(data):
    X, y = data
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    ours = cross_val_score(churn.LogisticRegression(penalty="l2", C=0.5, tol=1e-12), X, y,
                           scoring="roc_auc", cv=cv)
    sk = cross_val_score(sk_logit(C=0.5), X, y, scoring="roc_auc",
                         cv=cv)
    assert ours.shape == (5,)
    np.testing.assert_allclose(ours, sk, atol=1e-9)
    assert 0.6 < ours.mean() < 0.95


def test_grid_search_over_penalty(data):
    X, y = data
    grid = {"penalty": ["l2"], "C": [1e-4, 0.01, 1.0]}
    g = GridSearchCV(churn.LogisticRegression(tol=1e-12), grid, scoring="roc_auc",
                     cv=StratifiedKFold(4, shuffle=True, random_state=1)).fit(X, y)
    s = GridSearchCV(sk_logit(), grid, scoring="roc_auc",
                     cv=StratifiedKFold(4, shuffle=True, random_state=1)).fit(X, y)
    assert g.best_params_ == s.best_params_
    np.testing.assert_allclose(g.cv_results_["mean_test_score"],
                               s.cv_results_["mean_test_score"], atol=1e-6)
    assert isinstance(g.best_estimator_, churn.LogisticRegression)
    assert g.best_estimator_.C == g.best_params_["C"]
    # the elastic net is searchable too (no sklearn comparison: different solver scale)
    g2 = GridSearchCV(churn.LogisticRegression(penalty="elasticnet"),
                      {"l1_ratio": [0.2, 0.8], "lambda_": [0.001, 0.01]},
                      scoring="roc_auc", cv=3).fit(X, y)
    assert set(g2.best_params_) == {"l1_ratio", "lambda_"}


def test_pipeline_with_scaler(data):
    X, y = data
    ours = Pipeline([("scale", StandardScaler()),
                     ("logit", churn.LogisticRegression(penalty="l2", C=0.2, tol=1e-12))])
    sk = Pipeline([("scale", StandardScaler()),
                   ("logit", sk_logit(C=0.2))])
    ours.fit(X, y)
    sk.fit(X, y)
    np.testing.assert_allclose(ours[-1].coef_, sk[-1].coef_[0], atol=1e-8)
    np.testing.assert_allclose(ours.predict_proba(X)[:, 1], sk.predict_proba(X)[:, 1],
                               atol=1e-9)
    assert roc_auc_score(y, ours.predict_proba(X)[:, 1]) == pytest.approx(
        roc_auc_score(y, sk.predict_proba(X)[:, 1]), abs=1e-9)


@pytest.mark.parametrize("labels", [("no", "yes"), (False, True), (1, 2), ("stay", "churn")])
def test_two_valued_labels_like_sklearn(data, labels):
    X, y01 = data
    y = np.where(y01.to_numpy() == 1, labels[1], labels[0])
    ours = churn.LogisticRegression(penalty="l2", C=1.0, tol=1e-12).fit(X, y)
    sk = sk_logit(C=1.0).fit(X, y)
    assert list(ours.classes_) == list(sk.classes_)
    np.testing.assert_allclose(ours.coef_, sk.coef_[0], atol=1e-8)   # same positive class
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X), atol=1e-9)
    assert list(np.asarray(ours.predict(X))) == list(sk.predict(X))
    assert ours.score(X, y) == pytest.approx(sk.score(X, y))
    auc = cross_val_score(churn.LogisticRegression(), X, y, scoring="roc_auc", cv=3)
    assert np.all((auc > 0.6) & (auc < 0.95))


def test_label_errors(data):
    X, _ = data
    n = len(X)
    with pytest.raises(ValueError, match="exactly two classes, got 3"):
        churn.LogisticRegression().fit(X, np.array(["a", "b", "c"] * (n // 3)))
    y = np.array(["no", "yes"] * (n // 2), dtype=object)
    y[7] = None
    with pytest.raises(ValueError, match="row 7: the label is missing"):
        churn.LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="y"):
        churn.LogisticRegression().fit(X, np.array(["no", "yes"] * 3))  # wrong length


def test_01_labels_unchanged(data):
    X, y = data
    m = churn.LogisticRegression().fit(X, y.astype(float))
    assert list(m.classes_) == [0, 1]
    pred = m.predict(X)
    assert pred.dtype == np.int64 and pred.name == "churned"
    assert set(np.unique(pred)) <= {0, 1}
