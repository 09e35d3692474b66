"""churn.dask on a distributed.LocalCluster with two worker processes: the customer table,
scoring with map_partitions, and fits from per-partition sums equal to the
single-machine fits."""
import numpy as np
import pandas as pd
import pytest

import churn

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
import churn.dask as cd  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # tornado, distributed

CUTOFF, HOLDOUT_END = "1997-12-31", "1998-06-30"
FEATURES = ["frequency", "recency", "T", "monetary_value", "orders_recent"]


@pytest.fixture(scope="module")
def client():
    # Worker processes inherit CHURN_LIBRARY and PYTHONPATH from this process.
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def tx():
    t = churn.simulate("pnbd", customers=3000, seed=3, acquisition_days=84, days=365,
                       holdout_days=182, as_frame=True)
    return t.sample(frac=1.0, random_state=1).reset_index(drop=True)  # not by customer


@pytest.fixture(scope="module")
def local_table(tx):
    return churn.customer_table(tx, cutoff=CUTOFF, holdout_end=HOLDOUT_END, unit="week")


@pytest.fixture(scope="module")
def dist_table(client, tx):
    ddf = dd.from_pandas(tx, npartitions=4)
    return cd.customer_table(ddf, cutoff=CUTOFF, holdout_end=HOLDOUT_END,
                             unit="week").persist()


def test_customer_table_equals_local(client, tx, dist_table, local_table):
    got = dist_table.compute().sort_index()
    want = local_table.drop(columns=list(churn._customers.POPULATION_COLUMNS)).sort_index()
    assert dist_table.npartitions == 4
    assert list(got.columns) == list(want.columns)
    pd.testing.assert_frame_equal(got, want, check_exact=True, check_names=False)
    # already partitioned by customer (indexed, known divisions): no shuffle, same table
    indexed = dd.from_pandas(tx.set_index("customer_id").sort_index(), npartitions=3)
    again = cd.customer_table(indexed, cutoff=CUTOFF, holdout_end=HOLDOUT_END,
                              unit="week").compute().sort_index()
    pd.testing.assert_frame_equal(again, want, check_exact=True, check_names=False)
    # no cutoff: the day of the last transaction, found in one pass over the partitions
    nocut = cd.customer_table(indexed, unit="week", columns=["frequency", "T"])
    local = churn.customer_table(tx, unit="week", columns=["frequency", "T"])
    pd.testing.assert_frame_equal(nocut.compute().sort_index(), local.sort_index(),
                                  check_exact=True, check_names=False)


@pytest.mark.parametrize("family,cls", [("bgnbd", churn.BGNBD), ("pnbd", churn.ParetoNBD)])
def test_btyd_fit_from_sufficient_statistics(client, dist_table, local_table, family, cls):
    m = cd.fit_btyd(dist_table, family)
    stats = cd.collapse(local_table, ["frequency", "recency", "T"])
    pd.testing.assert_frame_equal(m.stats_, stats, check_exact=True)
    assert m.stats_["weight"].sum() == len(local_table)
    assert len(m.stats_) < len(local_table)  # compressed
    same = cls().fit(stats, weights="weight")
    np.testing.assert_array_equal(m.params_, same.params_)  # identical, bit for bit
    raw = cls().fit(local_table)
    np.testing.assert_allclose(m.params_, raw.params_, rtol=1e-8)
    assert m.loglik_ == pytest.approx(raw.loglik_, rel=1e-12)
    assert m.time_unit_ == 7.0


def test_gammagamma_fit(client, dist_table, local_table):
    m = cd.fit_gammagamma(dist_table)
    raw = churn.GammaGamma().fit(local_table)
    np.testing.assert_allclose(m.params_, raw.params_, rtol=1e-8)
    assert m.excluded_ == raw.excluded_
    assert m.loglik_ == pytest.approx(raw.loglik_, rel=1e-12)


def test_logit_newton_with_distributed_sums(client, dist_table, local_table):
    m = cd.fit_logit(dist_table, FEATURES, "churned")
    c = churn.LogisticRegression().fit(local_table[FEATURES], local_table["churned"])
    np.testing.assert_allclose(m.params_, c.params_, rtol=1e-8)
    np.testing.assert_allclose(m.standard_errors_, c.standard_errors_, rtol=1e-8)
    fs, cs = m.fit_summary_, c.fit_summary_
    for k in ("deviance", "null_deviance", "aic", "loglik", "nobs", "rank"):
        assert fs[k] == pytest.approx(cs[k], rel=1e-10), k
    # the model file is a C model: contributions use the stored training means
    x = local_table[FEATURES].head(50)
    np.testing.assert_allclose(m.contributions(x), c.contributions(x), rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(m.predict_churn(x), c.predict_churn(x), rtol=1e-8)
    m2 = cd.fit_logit(dist_table, FEATURES, "churned", lambda_=0.01)
    c2 = churn.LogisticRegression(penalty="l2", lambda_=0.01).fit(local_table[FEATURES],
                                                                  local_table["churned"])
    np.testing.assert_allclose(m2.params_, c2.params_, rtol=1e-8)
    assert np.isnan(m2.standard_errors_).all()


def test_score_ships_the_model_file(client, dist_table, local_table, tmp_path):
    bg = churn.BGNBD().fit(local_table)
    got = cd.score(dist_table, bg, horizon=26).compute().sort_index()
    want = bg.predict_frame(local_table, horizon=26).sort_index()
    pd.testing.assert_frame_equal(got, want, check_exact=True, check_names=False)
    lm = churn.LogisticRegression().fit(local_table[FEATURES], local_table["churned"])
    path = tmp_path / "logit.json"
    lm.save(path)
    got = cd.score(dist_table, str(path)).compute().sort_index()
    want = lm.predict_frame(local_table).sort_index()
    pd.testing.assert_frame_equal(got, want, check_exact=True, check_names=False)
    cox = churn.CoxPHFitter().fit(local_table, "duration", "event", FEATURES)
    got = cd.score(dist_table, cox, horizon=13).compute().sort_index()
    pd.testing.assert_frame_equal(got, cox.predict_frame(local_table, 13).sort_index(),
                                  check_exact=True, check_names=False)


def test_errors_come_back_with_the_message(client, dist_table):
    bad = dist_table.assign(frequency=dist_table["frequency"].where(
        dist_table["frequency"] < 5, np.nan))
    with pytest.raises(ValueError, match="frequency"):
        cd.fit_logit(bad, FEATURES, "churned")
    with pytest.raises(ValueError, match="frequency"):
        cd.fit_btyd(bad.fillna(-1.0), "bgnbd")
    with pytest.raises(ValueError, match="model"):
        cd.fit_btyd(dist_table, "cox")


def test_progress_feedback(dist_table, capsys):
    pytest.importorskip("tqdm")
    cd.fit_logit(dist_table, FEATURES, "churned", progress=False)
    assert capsys.readouterr().err == ""
    cd.fit_logit(dist_table, FEATURES, "churned", progress=True)
    assert "logit Newton iterations" in capsys.readouterr().err
