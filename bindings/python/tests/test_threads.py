"""Copies, pickles, threads and processes: no C handle is ever shared by two objects."""
import concurrent.futures as cf
import copy
import multiprocessing
import pickle

import numpy as np
import pandas as pd
import pytest

import churn


def _score_in_child(model, x, tx, T):
    return model.p_alive(frequency=x, recency=tx, T=T)


@pytest.fixture(scope="module")
def data():
    log = churn.simulate("pnbd", customers=400, seed=5, acquisition_days=30)
    table = churn.customer_table(log, cutoff="1998-03-31", holdout_end="1998-06-30",
                                 unit="week")
    return log, table


def test_copies_and_pickles_of_handle_objects(data):
    log, table = data
    for clone in (copy.copy(log), copy.deepcopy(log), pickle.loads(pickle.dumps(log))):
        assert clone._h != log._h and len(clone) == len(log)
        t2 = churn.customer_table(clone, cutoff="1998-03-31", holdout_end="1998-06-30",
                                  unit="week")
        pd.testing.assert_frame_equal(t2, table, check_exact=True)
    del clone
    alerts = churn.Alerts(["dormant: p_alive < 0.2"], defaults=True)
    a2 = pickle.loads(pickle.dumps(alerts))
    assert a2._h != alerts._h
    pd.testing.assert_frame_equal(a2.rules, alerts.rules)
    km = churn.KaplanMeierFitter().fit(table["duration"], table["event"],
                                       groups=table["value_tier"])
    k2 = copy.deepcopy(km)
    assert k2._h != km._h
    pd.testing.assert_frame_equal(k2.survival_function_, km.survival_function_)
    bg = churn.BGNBD().fit(table)
    b2 = copy.copy(bg)
    assert b2._h != bg._h
    del bg  # frees its handle; the copy must keep working
    assert b2.p_alive(table).notna().all()
    s = churn.CustomerState(unit="week").add("2024-01-01", 5.0)
    assert pickle.loads(pickle.dumps(s)).value("n_orders", "2024-02-01") == 1


def test_threads_share_a_model_and_keep_their_own_errors(data):
    _, table = data
    bg = churn.BGNBD().fit(table)
    want = bg.score(26, table)
    x, tx, T = (table[c].to_numpy() for c in ("frequency", "recency", "T"))

    def work(i):
        if i % 3 == 0:  # a failing call on this thread
            try:
                bg.p_alive(frequency=x, recency=-tx - 1, T=T)
            except ValueError as e:
                return str(e)
            return "no error"
        return bg.score(26, table)

    with cf.ThreadPoolExecutor(max_workers=4) as ex:
        results = list(ex.map(work, range(24)))
    for i, r in enumerate(results):
        if i % 3 == 0:
            assert "recency" in r and "row 0" in r
        else:
            pd.testing.assert_frame_equal(r, want, check_exact=True)


def test_spawned_process_scores_a_pickled_model(data):
    _, table = data
    bg = churn.BGNBD().fit(table)
    x, tx, T = (table[c].to_numpy() for c in ("frequency", "recency", "T"))
    ctx = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=1, mp_context=ctx) as ex:
        got = ex.submit(_score_in_child, bg, x, tx, T).result(timeout=120)
    np.testing.assert_array_equal(got, bg.p_alive(frequency=x, recency=tx, T=T))
