"""The `columns` option of customer_table and the streaming builder CustomerStream
(churn_customer_stream, churn_txlog_read_csv_chunked): both give exactly the values of
the full batch table."""
import ctypes

import numpy as np
import pandas as pd
import pytest

import churn
from churn._customers import CustomerOptions, _options_init

CUTOFF, HOLDOUT = "2023-09-30", "2024-01-31"
# the columns a stream leaves out (they need a customer's whole history)
BATCH_ONLY = ("gap_median", "n_products")


def random_log(seed=7, customers=250, string_ids=False):
    """Purchases of 2023-2024 with same-day repeats, zero-value orders, refunds, orders in
    the holdout and after it, times of day and amounts in cents; rows in random order."""
    rng = np.random.default_rng(seed)
    base = pd.Timestamp("2023-01-01").value // 10**9
    ids, times, amounts = [], [], []
    for c in range(customers):
        cid = f"c{c:04d}" if string_ids else 1000 + c
        day = rng.integers(0, 330)
        rate, drop = rng.uniform(0.02, 0.2), rng.uniform(0.01, 0.15)
        while day < 480:
            t = base + int(day) * 86400 + int(rng.integers(0, 86400))
            ids.append(cid)
            times.append(float(t))
            amounts.append(round(float(rng.gamma(2.0, 20.0)), 2) if rng.random() > 0.03
                           else 0.0)
            u = rng.random()
            if u < 0.08:    # a second order the same day
                ids.append(cid)
                times.append(float(t + 60))
                amounts.append(round(float(rng.uniform(1, 30)), 2))
            elif u < 0.12:  # a refund
                ids.append(cid)
                times.append(float(t + 3600))
                amounts.append(-round(amounts[-1] / 2, 2))
            if rng.random() < drop:
                break
            day += max(1, int(rng.exponential(1 / rate)))
    df = pd.DataFrame({"customer_id": ids, "date": times, "amount": amounts})
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def date_sorted(df):
    return df.sort_values("date", kind="stable").reset_index(drop=True)


@pytest.fixture(scope="module")
def log_df():
    return random_log()


@pytest.fixture(scope="module")
def batch(log_df):
    """The full table of the date-sorted log (every column, with a holdout)."""
    return churn.customer_table(date_sorted(log_df), cutoff=CUTOFF, holdout_end=HOLDOUT,
                                unit="week")


def assert_same_columns(sub, full, names=None):
    assert sub.index.equals(full.index)
    for c in (sub.columns if names is None else names):
        assert np.array_equal(sub[c].to_numpy(), full[c].to_numpy()), c


def test_options_struct_matches_the_library():
    o = CustomerOptions()
    _options_init(ctypes.byref(o))
    assert o.struct_size == ctypes.sizeof(CustomerOptions)  # `columns` is the last field
    assert o.columns is None


@pytest.mark.parametrize("order", ["random", "date"])
def test_columns_subset_equals_the_full_table(log_df, order):
    df = log_df if order == "random" else date_sorted(log_df)
    opts = dict(cutoff=CUTOFF, holdout_end=HOLDOUT, unit="week")
    full = churn.customer_table(df, **opts)
    assert len(full) > 150 and full.attrs["excluded"] > 0
    assert (full["n_returns"] > 0).any() and (full["holdout_purchases"] > 0).any()
    subsets = [
        ["frequency", "recency", "T", "monetary_value"],           # one pass when sorted
        ["event", "spend_trend", "gap_std", "net_spend", "value_tier", "churned",
         "duration", "orders_prior", "overdue_ratio", "holdout_spend"],
        ["gap_median", "n_products", "r_score", "frequency"],       # grouping
    ]
    for cols in subsets:
        sub = churn.customer_table(df, columns=cols, **opts)
        assert list(sub.columns) == cols  # a list keeps its order
        assert_same_columns(sub, full)
        assert sub.attrs["excluded"] == full.attrs["excluded"]
    # a comma-separated string (spaces ignored) gives the C table's order
    sub = churn.customer_table(df, columns=" T , frequency,churned", **opts)
    assert list(sub.columns) == ["frequency", "T", "churned"]
    assert_same_columns(sub, full)
    assert np.isnan(sub.attrs["pareto_share"])  # computed with value_tier only
    assert sub.attrs["churn_rate"] == full.attrs["churn_rate"]


def test_stream_in_chunks_equals_the_batch_table(log_df, batch):
    df = date_sorted(log_df)
    cuts = [0, 700, 701, 1900, 2600, len(df)]  # 5 chunks, one of a single row
    with churn.CustomerStream(CUTOFF, HOLDOUT, unit="week") as s:
        for lo, hi in zip(cuts[:-1], cuts[1:]):
            s.add(df.iloc[lo:hi])
            assert s.rows_folded == hi
        assert s.num_customers == log_df["customer_id"].nunique()
        table = s.finish()
        assert s.rows_folded == len(df)
    assert list(table.columns) == [c for c in batch.columns if c not in BATCH_ONLY]
    assert table.index.dtype == np.int64
    assert_same_columns(table, batch)
    for k in ("excluded", "customers", "repeat_rate", "churn_rate", "pareto_share"):
        assert table.attrs[k] == batch.attrs[k], k
    # arrays, string ids, a subset of columns, no holdout
    sdf = date_sorted(random_log(seed=11, customers=120, string_ids=True))
    cols = ["frequency", "recency", "T", "monetary_value", "r_score"]
    want = churn.customer_table(sdf, cutoff=CUTOFF, unit="day", columns=cols)
    s = churn.CustomerStream(cutoff=CUTOFF, columns=cols)
    for part in np.array_split(np.arange(len(sdf)), 3):
        p = sdf.iloc[part]
        s.add(p["customer_id"].to_numpy(), pd.to_datetime(p["date"], unit="s"),
              p["amount"].to_numpy())
    got = s.finish()
    assert list(got.columns) == cols and list(got.index) == list(want.index)
    assert_same_columns(got, want)
    with pytest.raises(churn.ChurnValueError, match="finished or closed"):
        s.add(sdf.iloc[:1])


def test_stream_read_csv_equals_the_batch_table(tmp_path):
    df = date_sorted(random_log(seed=3, customers=60, string_ids=True))
    df["date"] = pd.to_datetime(df["date"], unit="s").dt.strftime("%Y-%m-%dT%H:%M:%S")
    path = tmp_path / "tx.csv"
    df.rename(columns={"customer_id": "cust"}).to_csv(path, index=False)
    want = churn.customer_table(churn.TransactionLog.read_csv(path, customer="cust"),
                                cutoff=CUTOFF, holdout_end=HOLDOUT)
    s = churn.CustomerStream(CUTOFF, HOLDOUT, customer="cust")
    s.read_csv(path, chunk_rows=37)
    assert s.rows_folded == len(df)
    got = s.finish()
    assert got.index.dtype == object and len(got) == len(want)
    assert_same_columns(got, want, [c for c in want.columns if c not in BATCH_ONLY])
    # an out-of-order transaction found by a chunk callback stops the read
    bad = tmp_path / "bad.csv"
    bad.write_text("customer_id,date,amount\nx1,2023-03-01,5\nx2,2023-03-02,5\n"
                   "x3,2023-03-03,5\nx2,2023-02-01,5\n")
    s = churn.CustomerStream(CUTOFF)
    with pytest.raises(churn.ChurnValueError, match="x2"):
        s.read_csv(bad, chunk_rows=2)
    s.close()
    with pytest.raises(ValueError, match="chunk_rows"):
        churn.CustomerStream(CUTOFF).read_csv(path, chunk_rows=0)


def test_stream_read_csv_reraises_an_exception_of_the_callback(tmp_path, monkeypatch):
    import churn._customers as cc
    path = tmp_path / "tx.csv"
    path.write_text("customer_id,date,amount\n" + "".join(
        f"c{i % 5},2023-03-{1 + i // 5:02d},{i}.5\n" for i in range(40)))
    calls = []

    def failing_fold(h):
        calls.append(h)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return cc._stream_fold.__wrapped__(h)

    failing_fold.__wrapped__ = cc._stream_fold
    monkeypatch.setattr(cc, "_stream_fold", failing_fold)
    s = churn.CustomerStream(CUTOFF)
    with pytest.raises(KeyboardInterrupt):
        s.read_csv(path, chunk_rows=10)
    assert s.rows_folded == 10  # the first chunk stays folded
    monkeypatch.undo()
    assert len(s.finish()) == 5


def test_errors(log_df):
    with pytest.raises(churn.ChurnError, match="nosuch") as e:
        churn.customer_table(log_df, cutoff=CUTOFF, columns=["frequency", "nosuch"])
    assert isinstance(e.value, KeyError) and isinstance(e.value, ValueError)  # 1.0: KeyError
    with pytest.raises(churn.ChurnColumnError, match="churned"):  # needs a holdout
        churn.customer_table(log_df, cutoff=CUTOFF, columns="frequency,churned")
    with pytest.raises(churn.ChurnError, match="bogus"):
        churn.CustomerStream(CUTOFF, columns="frequency, bogus")
    with pytest.raises(churn.ChurnError, match="gap_median"):
        churn.CustomerStream(CUTOFF, columns=["frequency", "gap_median"])
    with pytest.raises(churn.ChurnValueError, match="cutoff"):
        churn.CustomerStream()
    with pytest.raises(churn.ChurnValueError, match="cutoff"):
        churn.CustomerStream(cutoff=None, unit="week")
    # a customer's transactions out of time order, within one chunk and across chunks
    early = pd.DataFrame({"customer_id": ["k1", "k7", "k7"],
                          "date": ["2023-03-01", "2023-05-01", "2023-04-01"],
                          "amount": [1.0, 2.0, 3.0]})
    with pytest.raises(churn.ChurnValueError, match="'k7'"):
        churn.CustomerStream(CUTOFF).add(early)
    s = churn.CustomerStream(CUTOFF)
    s.add(early.iloc[:2])
    with pytest.raises(churn.ChurnValueError, match="'k7'.*2023-04-01"):
        s.add(early.iloc[2:])
    with pytest.raises(churn.ChurnValueError):  # unusable afterwards
        s.finish()
    s.close()
    s.close()  # idempotent
    # a bad chunk adds nothing and the stream goes on
    s = churn.CustomerStream(CUTOFF)
    with pytest.raises(ValueError):
        s.add(["a", "b"], [1.6e9, np.nan], [1.0, 2.0])
    assert s.rows_folded == 0
    with pytest.raises(KeyError, match="amount"):
        s.add(pd.DataFrame({"customer_id": [1], "date": [1.6e9]}))
    with pytest.raises(TypeError):
        s.add(["a"], [1.6e9])
    s.add({"customer_id": [], "date": [], "amount": []})  # an empty chunk
    s.add(["a"], [1.6e9], [1.0])  # a list of epoch seconds (2020-09-13), not nanoseconds
    t = s.finish()
    assert len(t) == 1 and t["first_purchase"].iloc[0] == pd.Timestamp("2020-09-13")
