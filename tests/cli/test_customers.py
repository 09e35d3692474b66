"""`churn features` and `churn cohorts` on CDNOW and on small hand-made logs."""
import csv
import io
import json
import os

import pandas as pd
import pytest

CDNOW_OPTS = ["--no-header", "--delim", "space", "--time", "3", "--amount", "5"]


def cdnow_path(shared_data):
    return os.path.join(shared_data, "cdnow", "CDNOW_sample.txt")


def raw_cdnow(shared_data):
    """The raw file read with pandas, independently of the command."""
    df = pd.read_csv(cdnow_path(shared_data), sep=r"\s+", header=None,
                     names=["master", "sample", "date", "cds", "dollars"])
    df["date"] = pd.to_datetime(df["date"].astype(str), format="%Y%m%d")
    return df


def read_table(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_features_match_published_summary(churn, shared_data, tmp_path):
    out = tmp_path / "customers.csv"
    churn("features", cdnow_path(shared_data), *CDNOW_OPTS, "--id", "2",
          "--cutoff", "1997-09-30", "--unit", "week", "-o", out)
    ours = pd.read_csv(out, dtype={"customer_id": str})
    assert len(ours) == 2357
    assert list(ours.columns[:5]) == ["customer_id", "frequency", "recency", "T",
                                      "monetary_value"]
    ours["ID"] = ours["customer_id"].astype(int)
    ref = pd.read_csv(os.path.join(shared_data, "cdnow",
                                   "cdnow_customers_summary_with_transactions.csv"))
    m = ref.merge(ours, on="ID", how="outer", validate="one_to_one")
    assert len(m) == 2357
    for theirs, mine in [("x", "frequency"), ("t_x", "recency"), ("T_x", "T_y"),
                         ("zbar", "monetary_value")]:
        err = (m[theirs] - m[mine]).abs().max()
        assert err <= 0.005 + 1e-9, (mine, err)
    # no NaN anywhere
    assert not ours.drop(columns=["customer_id"]).isna().any().any()


def test_features_match_lifetimes_full_precision(churn, shared_data):
    p = churn("features", cdnow_path(shared_data), *CDNOW_OPTS, "--id", "1",
              "--cutoff", "1997-09-30", "--unit", "week")
    ours = pd.read_csv(io.StringIO(p.stdout), dtype={"customer_id": str})
    ours["ID"] = ours["customer_id"].astype(int)
    ref = pd.read_csv(os.path.join(shared_data, "cdnow", "lifetimes_clv.csv"), comment="#")
    m = ref.merge(ours, on="ID", validate="one_to_one")
    assert len(m) == 2357
    for theirs, mine in [("x", "frequency"), ("t_x", "recency"), ("T_x", "T_y"),
                         ("zbar", "monetary_value")]:
        rel = ((m[theirs] - m[mine]).abs() / m[theirs].abs().clip(lower=1)).max()
        assert rel <= 1e-9, (mine, rel)


def test_features_default_cutoff_and_holdout(churn, shared_data):
    raw = raw_cdnow(shared_data)
    # Without --cutoff: the last date in the log (1998-06-30), unit day.
    p = churn("features", cdnow_path(shared_data), *CDNOW_OPTS, "--id", "1")
    ours = pd.read_csv(io.StringIO(p.stdout), dtype={"customer_id": str})
    ours["master"] = ours["customer_id"].astype(int)
    last = raw["date"].max()
    first = raw.groupby("master")["date"].min()
    expect_T = (last - first).dt.days
    got = ours.set_index("master")["T"]
    assert (got.sort_index() == expect_T.sort_index()).all()

    # Holdout labels against pandas on the raw rows.
    p = churn("features", cdnow_path(shared_data), *CDNOW_OPTS, "--id", "1",
              "--cutoff", "1997-09-30", "--holdout-end", "1998-06-30", "--unit", "week")
    lab = pd.read_csv(io.StringIO(p.stdout), dtype={"customer_id": str})
    lab["master"] = lab["customer_id"].astype(int)
    lab = lab.set_index("master")
    hold = raw[(raw["date"] > "1997-09-30") & (raw["date"] <= "1998-06-30")]
    h_days = hold.groupby("master")["date"].nunique().reindex(lab.index, fill_value=0)
    h_spend = hold.groupby("master")["dollars"].sum().reindex(lab.index, fill_value=0)
    assert (lab["holdout_purchases"] == h_days).all()
    assert ((lab["holdout_spend"] - h_spend).abs() < 1e-6).all()
    assert (lab["churned"] == (h_days == 0).astype(int)).all()
    assert (lab["event"] == lab["churned"]).all()  # default threshold = holdout length


def test_features_refunds_and_options(churn, tmp_path):
    tx = tmp_path / "tx.csv"
    tx.write_text("customer_id,date,amount\n"
                  "a,2024-01-01,10\n"
                  "a,2024-01-01,5\n"
                  "a,2024-01-11,0\n"
                  "a,2024-01-13,-4\n"
                  "a,2024-01-31,20\n"
                  "b,2024-01-05,-3\n"
                  "c,2024-03-01,7\n")
    p = churn("features", tx, "--cutoff", "2024-02-10")
    assert "2 customer(s)" in p.stderr  # b (refund only) and c (after the cutoff)
    rows = read_table(p.stdout)
    assert len(rows) == 1
    a = rows[0]
    assert a["customer_id"] == "a"
    assert float(a["frequency"]) == 2
    assert float(a["monetary_value"]) == 10
    assert float(a["total_spend"]) == 35
    assert float(a["n_returns"]) == 1
    assert float(a["returns_amount"]) == 4
    assert float(a["net_spend"]) == 31
    assert float(a["T"]) == 40
    p = churn("features", tx, "--cutoff", "2024-02-10", "--no-same-day-merge",
              "--first-purchase-counts", "--unit", "7")
    a = read_table(p.stdout)[0]
    assert float(a["frequency"]) == 4
    assert abs(float(a["T"]) - 40 / 7) < 1e-9


def test_features_columns(churn, shared_data):
    """--columns gives exactly the full table's columns (one-pass path on the
    date-ordered CDNOW file), in the documented order; bad names fail."""
    tx = cdnow_path(shared_data)
    opts = [*CDNOW_OPTS, "--id", "2", "--cutoff", "1997-09-30", "--holdout-end",
            "1998-06-30", "--unit", "week"]
    full = pd.read_csv(io.StringIO(churn("features", tx, *opts).stdout))
    sub = pd.read_csv(io.StringIO(churn("features", tx, *opts, "--columns",
                                        "churned, T,frequency,gap_std,r_score").stdout))
    assert list(sub.columns) == ["customer_id", "frequency", "T", "gap_std", "r_score",
                                 "churned", "time_unit_days", "cutoff"]
    assert (sub["time_unit_days"] == 7).all() and (sub["cutoff"] == "1997-09-30").all()
    assert (sub.to_numpy() == full[sub.columns].to_numpy()).all()
    p = churn("features", tx, *opts, "--columns", "frequency,nope", check=False)
    assert p.returncode == 1 and "'nope'" in p.stderr


def test_features_errors(churn, tmp_path):
    p = churn("features", "--help")
    assert "--holdout-end" in p.stdout and "--cutoff" in p.stdout
    p = churn("features", tmp_path / "missing.csv", check=False)
    assert p.returncode == 1 and "missing.csv" in p.stderr
    tx = tmp_path / "tx.csv"
    tx.write_text("customer_id,date,amount\na,2024-01-01,10\n")
    p = churn("features", tx, "--unit", "fortnight", check=False)
    assert p.returncode == 2 and "--unit" in p.stderr
    p = churn("features", tx, "--cutoff", "2024-13-45", check=False)
    assert p.returncode == 2 and "--cutoff" in p.stderr
    p = churn("features", tx, "--cutoff", "2024-02-01", "--holdout-end", "2024-01-15",
              check=False)
    assert p.returncode == 1 and "holdout_end" in p.stderr
    p = churn("features", tx, "--holdout-end", "2024-03-01", check=False)
    assert p.returncode == 2 and "--cutoff" in p.stderr
    p = churn("features", tx, "--trend-window", "0", check=False)
    assert p.returncode == 2 and "--trend-window" in p.stderr
    p = churn("features", tx, "--bogus", check=False)
    assert p.returncode == 2 and "--bogus" in p.stderr
    p = churn("features", check=False)
    assert p.returncode == 2


def test_cohorts_cdnow(churn, shared_data):
    raw = raw_cdnow(shared_data)
    raw = raw[raw["date"] <= "1997-09-30"]
    first = raw.groupby("master")["date"].min().dt.to_period("M")
    raw = raw.assign(cohort=raw["master"].map(first), period=raw["date"].dt.to_period("M"))
    raw["k"] = (raw["period"] - raw["cohort"]).apply(lambda d: d.n)
    active = raw.groupby(["cohort", "k"])["master"].nunique()
    sizes = first.value_counts().sort_index()

    p = churn("cohorts", cdnow_path(shared_data), *CDNOW_OPTS, "--id", "1",
              "--cutoff", "1997-09-30")
    rows = read_table(p.stdout)
    assert [r["cohort"] for r in rows][:3] == ["1997-01-01", "1997-02-01", "1997-03-01"]
    assert len(rows) == 9  # Jan .. Sep 1997, empty cohorts included
    for r in rows[:3]:
        c = pd.Period(r["cohort"][:7], "M")
        assert int(r["customers"]) == sizes[c]
        for k in range(9):
            cell = r[f"p{k}"]
            if c.month - 1 + k > 8:
                assert cell == ""
            else:
                want = active.get((c, k), 0) / sizes[c]
                assert abs(float(cell) - want) < 1e-9
    assert rows[5]["customers"] == "0"

    p = churn("cohorts", cdnow_path(shared_data), *CDNOW_OPTS, "--id", "1",
              "--cutoff", "1997-09-30", "--json")
    js = json.loads(p.stdout)
    jan = js["cohorts"][0]
    assert jan["start"] == "1997-01-01"
    assert jan["customers"] == sizes[pd.Period("1997-01", "M")]
    assert len(jan["active"]) == 9
    assert jan["active"][1] == active[(pd.Period("1997-01", "M"), 1)]
    assert len(js["cohorts"][8]["active"]) == 1


def test_cohorts_weeks_counts_and_errors(churn, tmp_path):
    tx = tmp_path / "tx.csv"
    tx.write_text("customer_id,date,amount\n"
                  "a,2021-01-05,1\n"   # week of Mon 2021-01-04
                  "a,2021-01-12,1\n"   # next week
                  "b,2021-01-10,1\n"   # Sunday: still the week of 01-04
                  "b,2021-01-25,1\n")  # three weeks later
    p = churn("cohorts", tx, "--period", "week", "--counts")
    rows = read_table(p.stdout)
    assert [r["cohort"] for r in rows] == ["2021-01-04", "2021-01-11", "2021-01-18",
                                           "2021-01-25"]
    assert [rows[0][f"p{k}"] for k in range(4)] == ["2", "1", "0", "1"]
    assert rows[3]["p1"] == ""
    p = churn("cohorts", tx, "--period", "0", check=False)
    assert p.returncode == 2 and "--period" in p.stderr
    p = churn("cohorts", tmp_path / "nope.csv", check=False)
    assert p.returncode == 1 and "nope.csv" in p.stderr
    p = churn("cohorts", "--help")
    assert "--period" in p.stdout
