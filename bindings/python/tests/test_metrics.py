"""Evaluation metrics and the model comparison through Python (scikit-learn as reference)."""
import io
import os

import numpy as np
import pandas as pd
import pytest

import churn


@pytest.fixture(scope="module")
def scored():
    rng = np.random.default_rng(11)
    n = 500
    y = (rng.random(n) < 0.3).astype(float)
    s = np.round(0.3 * y + rng.random(n), 2)  # rounded: many ties
    p = np.clip(s / s.max(), 0, 1)
    w = rng.integers(1, 4, n).astype(float)
    return y, s, p, w


def test_classification_metrics_match_sklearn(scored):
    skm = pytest.importorskip("sklearn.metrics")
    y, s, p, w = scored
    assert churn.roc_auc(y, s) == pytest.approx(skm.roc_auc_score(y, s), rel=1e-12)
    assert churn.roc_auc(y, s, w) == pytest.approx(skm.roc_auc_score(y, s, sample_weight=w),
                                                  rel=1e-12)
    assert churn.log_loss(y, p) == pytest.approx(skm.log_loss(y, p), rel=1e-10)
    assert churn.log_loss(y, p, w) == pytest.approx(skm.log_loss(y, p, sample_weight=w),
                                                   rel=1e-10)
    assert churn.brier_score(y, p, w) == pytest.approx(
        skm.brier_score_loss(y, p, sample_weight=w), rel=1e-12)
    # precision/recall at k without ties at the boundary
    order = np.argsort(-s, kind="stable")
    k = 50
    if s[order[k - 1]] != s[order[k]]:
        top = order[:k]
        pr, rc = churn.precision_recall_at_k(y, s, k)
        assert pr == pytest.approx(y[top].mean(), rel=1e-14)
        assert rc == pytest.approx(y[top].sum() / y.sum(), rel=1e-14)


def test_lift_and_calibration_tables(scored):
    cal = pytest.importorskip("sklearn.calibration")
    y, s, p, w = scored
    lt = churn.lift_table(y, s, bins=10)
    assert lt["weight"].sum() == pytest.approx(len(y))
    assert lt["positives"].sum() == pytest.approx(y.sum())
    assert lt["cumulative_gain"].iloc[-1] == pytest.approx(1.0)
    np.testing.assert_allclose(lt["lift"], lt["rate"] / y.mean(), rtol=1e-12)
    flat = churn.lift_table(y, np.ones_like(s), bins=5)
    np.testing.assert_allclose(flat["lift"], 1.0, rtol=1e-12)
    ct = churn.calibration_table(y, p, bins=10, strategy="uniform")
    prob_true, prob_pred = cal.calibration_curve(y, p, n_bins=10, strategy="uniform")
    full = ct[ct["weight"] > 0]
    np.testing.assert_allclose(full["observed"], prob_true, rtol=1e-12)
    np.testing.assert_allclose(full["mean_predicted"], prob_pred, rtol=1e-12)
    ece = np.sum(full["weight"] / len(y) * np.abs(full["mean_predicted"] - full["observed"]))
    assert ct.attrs["ece"] == pytest.approx(ece, rel=1e-12)
    q = churn.calibration_table(y, p, bins=4, strategy="quantile")
    np.testing.assert_allclose(q["weight"], len(y) / 4, rtol=1e-12)


def test_time_auc_without_censoring_is_the_auc(scored):
    y, s, p, w = scored
    rng = np.random.default_rng(5)
    d = rng.integers(1, 30, len(y)).astype(float)
    ev = np.ones_like(d)
    assert churn.time_auc(d, ev, s, 10.0) == pytest.approx(
        churn.roc_auc((d <= 10).astype(float), s), rel=1e-12)


def test_bad_arguments(scored):
    y, s, p, w = scored
    with pytest.raises(ValueError, match="row 3"):
        churn.roc_auc(np.where(np.arange(len(y)) == 3, 2.0, y), s)
    with pytest.raises(ValueError, match="row 0"):
        churn.log_loss(y, np.where(np.arange(len(y)) == 0, np.nan, p))
    with pytest.raises(ValueError, match="length"):
        churn.brier_score(y[:-1], p)
    with pytest.raises(ValueError, match="empty"):
        churn.roc_auc([], [])
    with pytest.raises(TypeError):
        churn.roc_auc(y, s.astype(str))
    with pytest.raises(ValueError, match="bins|nbins"):
        churn.lift_table(y, s, bins=0)


def test_holdout_and_tracking_cdnow(cdnow_table, cdnow_log, shared_data):
    bg = churn.BGNBD().fit(cdnow_table)
    h = churn.holdout_by_frequency(bg, 39, cdnow_table)
    e = bg.expected_purchases(39, cdnow_table)
    grp = np.minimum(cdnow_table["frequency"], 7)
    ref_act = cdnow_table.groupby(grp)["holdout_purchases"].mean()
    ref_exp = e.groupby(grp).mean()
    np.testing.assert_allclose(h["actual"], ref_act, rtol=1e-12)
    np.testing.assert_allclose(h["expected"], ref_exp, rtol=1e-10)
    assert h.attrs["mae"] == pytest.approx(np.mean(np.abs(e - cdnow_table[
        "holdout_purchases"])), rel=1e-10)
    pub = churn.BGNBD.from_params(0.2425945, 4.4136019, 0.7929199, 2.4258881)
    pub.set_time_unit("week")
    tr = churn.repeat_tracking(cdnow_log, pub, periods=78)
    ref = pd.read_csv(os.path.join(shared_data, "cdnow", "cdnow_cumulative_repeat_weekly.csv"))
    np.testing.assert_array_equal(tr["actual_cumulative"], ref["cumulative_repeat_transactions"])
    np.testing.assert_allclose(tr.loc[20:25, "expected_cumulative"],
                               [1312.458, 1387.346, 1460.392, 1531.713, 1601.418, 1669.6],
                               atol=2e-3)
    np.testing.assert_allclose(tr["expected"].cumsum(), tr["expected_cumulative"], rtol=1e-10)


def test_compare_models_matches_the_command(cdnow_log, cdnow_path, run_churn):
    c = churn.compare_models(cdnow_log, "1997-09-30", "1998-06-30", unit="week")
    assert list(c.table.index) == ["bgnbd", "pnbd", "logit", "cox"]
    p = run_churn("evaluate", cdnow_path, "--id", 1, "--time", 3, "--amount", 5,
                  "--no-header", "--date-format", "yyyymmdd", "--cutoff", "1997-09-30",
                  "--holdout-end", "1998-06-30")
    ref = pd.read_csv(io.StringIO(p.stdout)).set_index("model")
    np.testing.assert_allclose(c.table[ref.columns].to_numpy(dtype=float),
                               ref.to_numpy(dtype=float), rtol=1e-9)
    assert (c.table["status"] == "ok").all()
    assert len(c.scores) == 2357 and list(c.scores.columns)[0] == "p_churn_bgnbd"
    assert c.table.loc["logit", "auc"] == pytest.approx(
        churn.roc_auc(c.customers["churned"], c.scores["p_churn_logit"]), rel=1e-14)
    assert c.models["bgnbd"].loglik_ == pytest.approx(-9582.429, abs=1e-3)
    assert "<table" in c._repr_html_()
    with pytest.raises(ValueError, match="model|nosuch"):
        churn.compare_models(cdnow_log, "1997-09-30", "1998-06-30", models="nosuch")
