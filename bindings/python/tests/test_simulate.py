"""Simulation: determinism, agreement with the command, parameter recovery."""
import numpy as np
import pandas as pd
import pytest

import churn


def test_deterministic_and_consistent_with_the_summary():
    a = churn.simulate("bgnbd", customers=300, seed=9, as_frame=True)
    b = churn.simulate("bgnbd", customers=300, seed=9, as_frame=True)
    pd.testing.assert_frame_equal(a, b)
    assert a["customer_id"].nunique() == 300 and (a["amount"] > 0).all()
    c = churn.simulate("bgnbd", customers=300, seed=10, as_frame=True)
    assert len(c) != len(a) or not np.array_equal(c["amount"], a["amount"])
    s = churn.simulate_summary(300, "bgnbd", seed=9)
    # the summary counts every purchase (no same-day merge): compare with such a table
    t = churn.customer_table(a, cutoff="1998-06-30", unit="week", same_day_once=False)
    np.testing.assert_array_equal(t["frequency"].to_numpy(), s.loc[t.index, "frequency"])
    assert (s["T"] == 78).all()
    rep = s["frequency"] > 0
    np.testing.assert_allclose(t.loc[rep[rep].index, "monetary_value"],
                               s.loc[rep, "mean_spend"], rtol=1e-9)


def test_same_customers_as_the_command(run_churn, tmp_path):
    out = tmp_path / "tx.csv"
    run_churn("simulate", "--model", "pnbd", "--customers", 200, "--seed", 4,
              "--acquisition-weeks", 12, "-o", out)
    c = churn.customer_table(churn.TransactionLog.read_csv(out), cutoff="1998-06-30",
                             unit="week")
    p = churn.customer_table(churn.simulate("pnbd", customers=200, seed=4,
                                            acquisition_days=84), cutoff="1998-06-30",
                             unit="week")
    c.index = c.index.astype(np.int64)
    c, p = c.sort_index(), p.sort_index()  # the command writes in date order
    assert list(c.index) == list(range(1, 201))
    for col in ("frequency", "recency", "T", "n_orders"):
        np.testing.assert_array_equal(c[col], p[col])
    np.testing.assert_allclose(c["total_spend"], p["total_spend"], atol=0.005 * 60)


def test_parameter_recovery_bgnbd():
    truth = {"r": 0.8, "alpha": 5.0, "a": 1.2, "b": 3.0}
    s = churn.simulate_summary(4000, "bgnbd", seed=21, **truth)
    m = churn.BGNBD().fit(s)
    z = (m.params_ - pd.Series(truth)) / m.standard_errors_
    assert (z.abs() < 4).all(), z


def test_bad_options():
    with pytest.raises(ValueError, match="model"):
        churn.simulate("cox")
    with pytest.raises(ValueError, match="alpha"):
        churn.simulate("bgnbd", customers=5, alpha=-1)
    with pytest.raises(ValueError, match="customers"):
        churn.simulate("bgnbd", customers=2.5)
    with pytest.raises(ValueError, match="acquisition"):
        churn.simulate("pnbd", customers=5, days=10, acquisition_days=20)


def test_one_argument_order_and_the_old_one_by_type():
    """simulate(model, customers) and simulate_summary(model, customers); the order of
    releases before 1.3, simulate_summary(customers, model), is recognised by type."""
    new = churn.simulate_summary("bgnbd", 50, seed=4)
    assert new.equals(churn.simulate_summary(50, "bgnbd", seed=4))        # old order
    assert new.equals(churn.simulate_summary(customers=50, model="bgnbd", seed=4))
    assert len(churn.simulate_summary(40)) == 40                          # old: customers
    assert churn.simulate(60, "bgnbd", seed=4).num_customers == 60
    a = churn.simulate("bgnbd", 60, seed=4, as_frame=True)
    assert a.equals(churn.simulate(model="bgnbd", customers=60, seed=4, as_frame=True))
    with pytest.raises(TypeError, match=r"simulate_summary\(model, customers\)"):
        churn.simulate_summary(10, 20)
    assert churn.simulate_summary(50, model="bgnbd", seed=4).equals(new)  # old, mixed
    assert churn.simulate_summary(model="bgnbd", customers=50, seed=4).equals(new)
    assert len(churn.simulate_summary("bgnbd")) == 1000
    assert len(churn.simulate_summary(model="bgnbd")) == 1000
    assert churn.simulate_summary().equals(churn.simulate_summary("pnbd", 1000))
