"""Transactions without amounts (issue 17, item 4): ``amount=None`` in read_csv,
from_dataframe, from_arrays, add, customer_table, CustomerState and CustomerStream.

References: the same transactions with their amounts (every purchase column equal,
bit for bit; the spend columns NaN), and the published BG/NBD fit of CDNOW read
without its dollar column (../shared/data/README.md)."""
import pickle

import numpy as np
import pandas as pd
import pytest

import churn

CUTOFF, HOLDOUT_END = "1997-12-31", "1998-06-30"
SPEND = ["monetary_value", "total_spend", "mean_order_value", "spend_recent", "spend_prior",
         "spend_trend", "returns_amount", "net_spend", "m_score", "value_tier",
         "holdout_spend"]
SPEND_UNKNOWN = ("the spend is unknown (a log without amounts); the Gamma-Gamma model needs "
                 "the amounts of the purchases")


@pytest.fixture(scope="module")
def tx():
    """800 customers simulated from BG/NBD with Gamma-Gamma amounts (all positive), in
    1997 and the first half of 1998."""
    return churn.simulate("bgnbd", customers=800, seed=5, acquisition_days=120,
                          id_prefix="c", as_frame=True)


def table(data, **kw):
    return churn.customer_table(data, cutoff=CUTOFF, holdout_end=HOLDOUT_END, unit="week",
                                **kw)


def assert_same_but_spend(with_amounts, without):
    # the C table's numbers: value_tier (a spend column) is a category, NaN when unknown
    with_amounts, without = churn.table_to_float(with_amounts), churn.table_to_float(without)
    assert list(without.columns) == list(with_amounts.columns)
    assert list(without.index) == list(with_amounts.index)
    for c in with_amounts.columns:
        a, b = with_amounts[c].to_numpy(), without[c].to_numpy()
        if c in SPEND:
            assert np.isnan(b).all() and np.isfinite(a).all(), c
        else:
            assert np.isfinite(a).all() and np.array_equal(a, b), c


def test_customer_table_without_amounts(tx):
    t_a = table(tx)
    t_b = table(tx.drop(columns="amount"), amount=None)
    assert len(t_b) == 800
    assert_same_but_spend(t_a, t_b)
    assert np.isnan(t_b.attrs["pareto_share"]) and np.isfinite(t_a.attrs["pareto_share"])
    for k in ("repeat_rate", "churn_rate", "retention_rate", "excluded"):
        assert t_b.attrs[k] == t_a.attrs[k]
    # the same from a log built by from_arrays without amounts, and from_dataframe
    log = churn.TransactionLog.from_arrays(tx["customer_id"], tx["date"])
    assert np.isnan(log.to_dataframe()["amount"]).all()
    assert_same_but_spend(t_a, table(log))
    log2 = churn.TransactionLog.from_dataframe(tx[["customer_id", "date"]], amount=None)
    assert_same_but_spend(t_a, table(log2))


def test_read_csv_without_amount_column(tx, tmp_path):
    p = tmp_path / "tx.csv"
    tx[["customer_id", "date"]].to_csv(p, index=False, date_format="%Y-%m-%dT%H:%M:%S")
    with pytest.raises(churn.ChurnValueError) as e:
        churn.TransactionLog.read_csv(p)
    assert str(e.value).endswith("not found in the header (columns: 'customer_id', 'date'); "
                                 "a log without amounts: amount_column \"\" (the command: "
                                 "--amount none)")
    log = churn.TransactionLog.read_csv(p, amount=None)
    assert len(log) == len(tx) > 2000
    t_a = table(tx)
    t_b = table(log)
    t_b.index = t_b.index.astype(object)
    assert_same_but_spend(t_a, t_b)
    # the streaming builder reads it too, and gives the batch values
    with churn.CustomerStream(cutoff=CUTOFF, holdout_end=HOLDOUT_END, unit="week",
                              amount=None) as s:
        s.read_csv(p, chunk_rows=500)
        st = s.finish()
    st, t_b = churn.table_to_float(st), churn.table_to_float(t_b)
    for c in st.columns:
        assert np.array_equal(st[c].to_numpy(), t_b[c].to_numpy(), equal_nan=True), c
    # and DataFrame chunks without an amount column
    with churn.CustomerStream(cutoff=CUTOFF, holdout_end=HOLDOUT_END, unit="week",
                              amount=None) as s:
        half = len(tx) // 2
        s.add(tx.iloc[:half][["customer_id", "date"]])
        s.add(tx["customer_id"].iloc[half:], tx["date"].iloc[half:])
        st2 = churn.table_to_float(s.finish())
    for c in st2.columns:
        assert np.array_equal(st2[c].to_numpy(), t_b[c].to_numpy(), equal_nan=True), c


def test_nan_in_an_amount_column_is_still_an_error():
    df = pd.DataFrame({"customer_id": [1, 2], "date": ["2024-01-01", "2024-01-02"],
                       "amount": [1.0, np.nan]})
    with pytest.raises(churn.ChurnValueError, match="row 1"):
        churn.TransactionLog.from_dataframe(df)
    with pytest.raises(KeyError, match="amount"):
        churn.TransactionLog.from_dataframe(df.drop(columns="amount"))


def test_add_without_amount_and_pickle_mixed_log():
    log = churn.TransactionLog()
    log.add("a", "2024-01-01", 10.0)
    log.add("a", "2024-01-05")            # amount unknown
    log.add("b", "2024-01-06", None, quantity=2)
    log.add("b", "2024-01-09", -3.0)      # a refund, known
    df = log.to_dataframe()
    assert df["amount"].tolist()[0] == 10.0 and df["amount"].tolist()[3] == -3.0
    assert np.isnan(df["amount"].to_numpy()[1:3]).all()
    back = pickle.loads(pickle.dumps(log))
    pd.testing.assert_frame_equal(back.to_dataframe(), df)
    t = churn.customer_table(back, cutoff="2024-01-31")
    # both customers have an order of unknown amount: every spend column NaN; b's refund
    # is still counted
    assert t["n_orders"].tolist() == [2.0, 1.0]
    assert t["n_returns"].tolist() == [0.0, 1.0]
    assert t[SPEND[:-1]].isna().all().all()


def test_state_without_amounts(tx):
    t_b = churn.table_to_float(table(tx.drop(columns="amount"), amount=None))
    cid = t_b.index[0]
    mine = tx[(tx["customer_id"] == cid) & (tx["date"] < "1998-01-01")]
    s = churn.CustomerState(unit="week")
    for when in mine["date"]:
        s.add(when)                       # no amount: unknown
    v = s.values(CUTOFF)
    for c in churn.CustomerState.INCREMENTAL:
        want = t_b.loc[cid, c]
        assert (np.isnan(v[c]) and np.isnan(want)) or v[c] == want, c
        assert np.isnan(v[c]) == (c in SPEND), c


def test_spend_models_refuse(tx):
    t_a = table(tx)
    t_b = table(tx.drop(columns="amount"), amount=None)
    with pytest.raises(churn.ChurnValueError) as e:
        churn.GammaGamma().fit(t_b)
    assert str(e.value) == ("churn_gammagamma_fit: row 0, column 'monetary_value' is NaN: "
                            + SPEND_UNKNOWN)
    gg = churn.GammaGamma().fit(t_a)
    with pytest.raises(churn.ChurnValueError, match="is NaN: the spend is unknown"):
        gg.expected_spend(t_b)
    bg = churn.BGNBD().fit(t_b)
    # the BTYD fit does not see the amounts: the same parameters, bit for bit
    assert np.array_equal(bg.params_.to_numpy(), churn.BGNBD().fit(t_a).params_.to_numpy())
    with pytest.raises(churn.ChurnValueError) as e:
        churn.clv(bg, None, t_b, period=4.345)
    assert str(e.value) == (
        "churn_clv_score: row 0, column 'monetary_value' (expected spend) is NaN: the spend "
        "is unknown (a log without amounts); CLV needs amounts "
        "(churn_clv_discounted_purchases needs none)")
    d_a = churn.discounted_purchases(bg, t_a, period=4.345)
    d_b = churn.discounted_purchases(bg, t_b, period=4.345)
    assert np.array_equal(np.asarray(d_a), np.asarray(d_b))
    with pytest.raises(ValueError) as e:
        churn.retention_report(tx.drop(columns="amount"), cutoff=CUTOFF, amount=None)
    assert str(e.value).startswith("retention_report values customers by their spend (CLV, "
                                   "value at risk, tiers) and needs amounts, but amount=None "
                                   "says the transactions have none: the spend is missing.")
    log = churn.TransactionLog.from_arrays(tx["customer_id"], tx["date"])
    with pytest.raises(churn.ChurnValueError, match="is NaN: the spend is unknown"):
        churn.retention_report(log, cutoff=CUTOFF)


def test_cohort_table_without_amounts(tx):
    a = churn.cohort_table(tx, period="month", cutoff=CUTOFF)
    b = churn.cohort_table(tx.drop(columns="amount"), period="month", cutoff=CUTOFF,
                           amount=None)
    pd.testing.assert_frame_equal(a, b)
    assert a["customers"].sum() > 100


def test_cdnow_published_bgnbd_without_amounts(cdnow_path, cdnow_table):
    log = churn.TransactionLog.read_csv(cdnow_path, customer=1, time=3, amount=None,
                                        header=False, delimiter="whitespace",
                                        date_format="yyyymmdd")
    t = churn.customer_table(log, cutoff="1997-09-30", unit="week",
                             columns=["frequency", "recency", "T", "monetary_value"])
    assert len(t) == 2357 and t["monetary_value"].isna().all()
    m = churn.BGNBD().fit(t)
    # Fader, Hardie & Lee (2005): r 0.2426, alpha 4.4136, a 0.7929, b 2.4259
    assert m.params_["r"] == pytest.approx(0.2425945, rel=1e-4)
    assert m.params_["alpha"] == pytest.approx(4.4136019, rel=1e-4)
    assert m.params_["a"] == pytest.approx(0.7929199, rel=1e-3)
    assert m.params_["b"] == pytest.approx(2.4258881, rel=1e-3)
    ref = churn.BGNBD().fit(cdnow_table)
    assert np.array_equal(m.params_.to_numpy(), ref.params_.to_numpy())


def test_dask_customer_table_without_amounts(tx):
    dd = pytest.importorskip("dask.dataframe")
    import churn.dask as cd
    d = dd.from_pandas(tx.drop(columns="amount"), npartitions=3)
    t = cd.customer_table(d, cutoff=CUTOFF, unit="week", amount=None)
    t = t.compute(scheduler="synchronous")
    ref = churn.customer_table(tx, cutoff=CUTOFF, unit="week")
    t = t.loc[ref.index]
    assert len(t) == 800
    for c in t.columns:  # the population columns are left out of a partitioned table
        if c in SPEND:
            assert t[c].isna().all(), c
        else:
            assert np.array_equal(t[c].to_numpy(), ref[c].to_numpy()), c
