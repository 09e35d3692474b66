"""Customer tables, cohorts, population metrics and the incremental state."""
import os

import numpy as np
import pandas as pd
import pytest

import churn


def test_cdnow_table_matches_lifetimes(cdnow_table, lifetimes_ref):
    # lifetimes' summary_data_from_transaction_data(freq='D', freq_multiplier=7)
    t = cdnow_table
    assert len(t) == 2357 and len(lifetimes_ref) == 2357
    j = t.join(lifetimes_ref, how="inner", rsuffix="_ref")
    assert len(j) == 2357
    np.testing.assert_array_equal(j["frequency"], j["x"])
    np.testing.assert_allclose(j["recency"], j["t_x"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(j["T"], j["T_ref"], rtol=1e-9)
    np.testing.assert_allclose(j["monetary_value"], j["zbar"], rtol=1e-9, atol=1e-9)
    assert t.attrs["time_unit"] == 7.0
    assert t.attrs["cutoff"] == pd.Timestamp("1997-09-30")
    assert t.attrs["holdout_end"] == pd.Timestamp("1998-06-30")
    assert t.attrs["excluded"] == 0


def test_cdnow_population_metrics(cdnow_table):
    t = cdnow_table
    m = churn.population_metrics(t)
    assert m["customers"] == 2357
    assert m["repeat_rate"] == pytest.approx(np.mean(t["n_orders"] >= 2), rel=1e-15)
    assert m["churn_rate"] == pytest.approx(np.mean(t["holdout_purchases"] == 0), rel=1e-15)
    assert m["retention_rate"] == pytest.approx(1 - m["churn_rate"], rel=1e-15)
    key = t["value_tier"] == "key"  # typed: churn.tier_name(1)
    assert m["pareto_share"] == pytest.approx(t.loc[key, "total_spend"].sum()
                                              / t["total_spend"].sum(), rel=1e-12)
    assert churn.rfm_segment_name(1) == "champions"
    assert churn.rfm_segment_name(999) is None


def test_table_matches_the_command(cdnow_path, cdnow_table, run_churn, tmp_path):
    out = tmp_path / "customers.csv"
    run_churn("features", cdnow_path, "--id", 1, "--time", 3, "--amount", 5, "--no-header",
              "--date-format", "yyyymmdd", "--cutoff", "1997-09-30", "--holdout-end",
              "1998-06-30", "--unit", "week", "-o", out)
    c = pd.read_csv(out, dtype={"customer_id": str})
    c.index = c.pop("customer_id").astype(np.int64)
    # the declarations that travel with the command's table match the Python table's attrs
    assert (c.pop("time_unit_days") == cdnow_table.attrs["time_unit"]).all()
    assert (c.pop("cutoff") == "1997-09-30").all()
    assert list(c.columns) == list(cdnow_table.columns)
    c = c.loc[cdnow_table.index]
    # the command prints 10 significant digits
    # (the command writes the C table's numbers: compare with the untyped table)
    np.testing.assert_allclose(c.to_numpy(), churn.table_to_float(cdnow_table).to_numpy(),
                               rtol=1e-9, atol=1e-12)


def test_dataframe_input_dates_and_ids():
    df = pd.DataFrame({
        "cust": [10, 20, 10, 10, 20, 30],
        "when": ["2024-01-01", "2024-01-03", "2024-01-15", "2024-02-01", "2024-02-10",
                 "2024-03-05"],
        "value": [10.0, 5.0, 20.0, 30.0, -5.0, 7.0],
    })
    t = churn.customer_table(df, cutoff="2024-02-29", customer="cust", time="when",
                             amount="value")
    assert t.index.dtype == np.int64 and list(t.index) == [10, 20]  # 30 starts later
    assert t.attrs["excluded"] == 1
    assert t.loc[10, "frequency"] == 2 and t.loc[10, "recency"] == 31
    assert t.loc[10, "T"] == 59
    assert t.loc[10, "monetary_value"] == 25.0
    assert t.loc[20, "n_returns"] == 1 and t.loc[20, "returns_amount"] == 5.0
    assert t.loc[20, "net_spend"] == 0.0
    # datetimes (tz-aware too) and string ids give the same numbers
    df2 = df.assign(when=pd.to_datetime(df["when"]).dt.tz_localize("UTC"),
                    cust=df["cust"].map(lambda v: f"c{v}"))
    t2 = churn.customer_table(df2, cutoff=pd.Timestamp("2024-02-29"), customer="cust",
                              time="when", amount="value")
    assert list(t2.index) == ["c10", "c20"]
    np.testing.assert_array_equal(t2.to_numpy(), t.to_numpy())
    # the cutoff as epoch seconds
    t3 = churn.customer_table(df, cutoff=pd.Timestamp("2024-02-29").timestamp(),
                              customer="cust", time="when", amount="value")
    np.testing.assert_array_equal(t3.to_numpy(), t.to_numpy())


def test_units_and_holdout_labels():
    log = churn.TransactionLog.from_arrays(["a", "a", "a", "b"],
                                           ["2024-01-01", "2024-01-08", "2024-02-05",
                                            "2024-01-02"], [1.0, 2.0, 3.0, 4.0])
    w = churn.customer_table(log, cutoff="2024-01-29", holdout_end="2024-02-26", unit="week")
    d = churn.customer_table(log, cutoff="2024-01-29", holdout_end="2024-02-26", unit=1)
    assert w.loc["a", "T"] == 4 and d.loc["a", "T"] == 28
    assert w.loc["a", "holdout_purchases"] == 1 and w.loc["a", "churned"] == 0
    assert w.loc["b", "churned"] == 1
    assert churn.population_metrics(w)["churn_rate"] == 0.5
    with pytest.raises(ValueError, match="unit"):
        churn.customer_table(log, unit="fortnight")
    with pytest.raises(TypeError):
        churn.customer_table(log, unit=[7])


def test_bad_arguments():
    log = churn.TransactionLog.from_arrays(["a"], ["2024-01-10"], [1.0])
    with pytest.raises(ValueError, match="holdout"):
        churn.customer_table(log, cutoff="2024-01-10", holdout_end="2024-01-01")
    with pytest.raises(ValueError, match="time_unit|unit"):
        churn.customer_table(log, unit=-7)
    with pytest.raises(ValueError, match="date"):
        churn.customer_table(log, cutoff="not a date")
    with pytest.raises(TypeError):
        churn.customer_table(log, cutoff=True)
    with pytest.raises(TypeError, match="TransactionLog"):
        churn.customer_table([1, 2, 3])
    with pytest.raises(KeyError, match="nope"):
        churn.customer_table(pd.DataFrame({"a": [1]}), customer="nope")
    with pytest.raises(ValueError, match="row 1"):
        churn.customer_table(pd.DataFrame({"customer_id": [1, 2], "date": ["2024-01-01",
                                                                           "2024-01-02"],
                                           "amount": [1.0, np.nan]}))


def test_cohort_table_against_pandas(cdnow_log):
    c = churn.cohort_table(cdnow_log, period="month")
    # independent computation with pandas: cohort = month of the first order
    tx = cdnow_log.to_dataframe()
    tx["month"] = tx["date"].dt.to_period("M")
    first = tx.groupby("customer_id")["month"].min().rename("cohort")
    tx = tx.join(first, on="customer_id")
    tx["k"] = (tx["month"] - tx["cohort"]).apply(lambda d: d.n)
    active = tx.groupby(["cohort", "k"])["customer_id"].nunique().unstack(fill_value=0)
    sizes = first.value_counts().sort_index()
    for cohort, size in sizes.items():
        row = c.loc[pd.Timestamp(cohort.start_time)]
        assert row["customers"] == size
        for k in range(4):
            assert row[k] == pytest.approx(active.loc[cohort, k] / size, rel=1e-12)
    assert c.index[0] == pd.Timestamp("1997-01-01")
    assert len(c) == 18  # Jan 1997 .. Jun 1998
    assert np.isnan(c.iloc[-1, 2])  # not observed after the cutoff's period
    counts = churn.cohort_table(cdnow_log, period="month", counts=True)
    assert counts.iloc[0, 1] == counts.iloc[0]["customers"]
    with pytest.raises(ValueError, match="period"):
        churn.cohort_table(cdnow_log, period=-1)


def test_incremental_state_equals_the_batch_table():
    log = churn.simulate("pnbd", customers=40, seed=7, acquisition_days=60, days=300)
    tx = log.to_dataframe().sort_values(["customer_id", "date"], kind="stable")
    cutoff = pd.Timestamp("1997-10-28")
    # the state gives the C table's numbers (first_purchase as a day number, ...)
    table = churn.table_to_float(churn.customer_table(log, cutoff=cutoff, unit="week"))
    checked = 0
    for cid, rows in tx.groupby("customer_id"):
        s = churn.CustomerState(unit="week")
        rows = rows[rows["date"] < cutoff + pd.Timedelta(days=1)]
        if cid not in table.index:
            continue
        for when, amt in zip(rows["date"], rows["amount"]):
            s.add(when, amt)
        v = s.values(cutoff)
        for col in churn.CustomerState.INCREMENTAL:
            assert v[col] == pytest.approx(table.loc[cid, col], rel=1e-12, abs=1e-12), col
        clone = churn.CustomerState.from_bytes(s.to_bytes())
        assert clone.value("frequency", cutoff) == v["frequency"]
        checked += 1
    assert checked >= 30
    s = churn.CustomerState()
    s.add("2024-01-05", 1.0)
    with pytest.raises(ValueError, match="earlier|time"):
        s.add("2024-01-01", 1.0)
    with pytest.raises(TypeError):  # batch-only column: CHURN_EUNSUPPORTED
        s.value("gap_median", "2024-01-05")
    with pytest.raises(KeyError):
        s.value("no_such_column", "2024-01-05")


def test_transaction_log_round_trip_to_dataframe(tmp_path):
    log = churn.simulate("bgnbd", customers=25, seed=2)
    df = log.to_dataframe()
    assert len(df) == len(log) and df["customer_id"].dtype == np.int64
    again = churn.TransactionLog.from_dataframe(df)
    a = churn.table_to_float(churn.customer_table(log, cutoff="1998-06-30", unit="week"))
    b = churn.table_to_float(churn.customer_table(again, cutoff="1998-06-30", unit="week"))
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())
    path = tmp_path / "tx.csv"
    df.to_csv(path, index=False)
    c = churn.table_to_float(churn.customer_table(churn.TransactionLog.read_csv(path),
                                                  cutoff="1998-06-30", unit="week"))
    np.testing.assert_allclose(c.to_numpy(), a.to_numpy(), rtol=1e-12)
    assert os.path.getsize(path) > 0


def test_log_helpers_and_selected_columns():
    text = "customer_id,date,amount\na,2024-01-01,10\nb,2024-01-03,5\na,2024-01-20,7\n"
    log = churn.TransactionLog.read_csv_text(text)
    log.add("c", "2024-01-21", 3.0).add("a", pd.Timestamp("2024-01-22"), 1.0, quantity=2,
                                        product="p1")
    assert len(log) == 5 and log.customer_index("c") == 2
    with pytest.raises(KeyError, match="zzz"):
        log.customer_index("zzz")
    t = churn.customer_table(log, cutoff="2024-01-22", columns=["frequency", "T"])
    assert list(t.columns) == ["frequency", "T"] and t.loc["a", "frequency"] == 2
    with pytest.raises(KeyError, match="nosuch"):
        churn.customer_table(log, columns=["frequency", "nosuch"])
    with pytest.raises(ValueError, match="line 3|row"):
        churn.TransactionLog.read_csv_text("customer_id,date,amount\na,2024-01-01,1\n"
                                           "b,notadate,2\n")
    skipped = churn.TransactionLog.read_csv_text(
        "customer_id,date,amount\na,2024-01-01,1\nb,notadate,2\n", skip_bad_rows=True)
    assert skipped.rows_skipped == 1 and len(skipped.skip_messages()) == 1
    with pytest.raises(ValueError, match="delimiter"):
        churn.TransactionLog.read_csv_text(text, delimiter=";;")
    from churn._txlog import format_date
    assert format_date(pd.Timestamp("1997-09-30").timestamp()) == "1997-09-30"
