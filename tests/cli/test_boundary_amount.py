"""Logs without amounts (issue 17, item 4): `--amount none` on every subcommand that
reads transactions.

The reference for every purchase-count value is the same log read with its amounts:
a simulated log (positive amounts, so no refund changes a count) is written once with
and once without its amount column. The BTYD fit on CDNOW read without its dollar
column is checked against the published parameters (../shared/data/README.md).
"""
import csv
import io
import json
import os
import subprocess

import pytest

CUTOFF, HOLDOUT_END = "1997-12-31", "1998-06-30"
SPEND = ["monetary_value", "total_spend", "mean_order_value", "spend_recent", "spend_prior",
         "spend_trend", "returns_amount", "net_spend", "m_score", "value_tier",
         "holdout_spend"]


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(scope="module")
def logs(tmp_path_factory, churn_exe):
    """tx.csv (customer_id,date,amount) and the same rows without the amount column."""
    d = tmp_path_factory.mktemp("amount")
    tx = d / "tx.csv"
    p = subprocess.run([churn_exe, "simulate", "--model", "bgnbd", "--customers", "800",
                        "--seed", "17", "--acquisition-weeks", "30", "-o", str(tx)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    noamt = d / "noamt.csv"
    with open(tx, newline="") as f, open(noamt, "w", newline="") as g:
        w = csv.writer(g, lineterminator="\n")
        for r in csv.reader(f):
            w.writerow(r[:2])
    assert noamt.read_text().splitlines()[0] == "customer_id,date"
    return {"dir": d, "tx": tx, "noamt": noamt}


def test_default_options_refuse_and_say_how(churn, logs):
    p = churn("features", logs["noamt"], check=False)
    assert p.returncode == 1
    assert p.stderr == (f"churn features: reading transactions: {logs['noamt']}, line 1: column "
                        "'amount' (amount_column) not found in the header (columns: "
                        "'customer_id', 'date'); a log without amounts: amount_column \"\" "
                        "(the command: --amount none)\n")


def test_features_same_counts_spend_columns_absent(churn, logs):
    args = ["--cutoff", CUTOFF, "--holdout-end", HOLDOUT_END, "--unit", "week"]
    with_amounts = rows(churn("features", logs["tx"], *args).stdout)
    without = rows(churn("features", logs["noamt"], "--amount", "none", *args).stdout)
    cols_a, cols_b = list(with_amounts[0]), list(without[0])
    # the spend columns are absent (not empty cells); the others keep their order
    assert cols_b == [c for c in cols_a if c not in SPEND]
    assert len(cols_b) == len(cols_a) - len(SPEND) == 26  # with time_unit_days, cutoff
    assert len(without) == len(with_amounts) > 700
    for a, b in zip(with_amounts, without):
        for c in cols_b:
            assert a[c] == b[c], (a["customer_id"], c)
    # the spend columns asked for by name: a usage error naming the column
    p = churn("features", logs["noamt"], "--amount", "none", "--columns",
              "frequency, monetary_value", check=False)
    assert p.returncode == 2
    assert p.stderr.splitlines()[0] == ("churn features: --columns: 'monetary_value' needs "
                                        "amounts, and --amount none says the log has none "
                                        "(its spend is unknown)")
    sub = rows(churn("features", logs["noamt"], "--amount", "none", "--columns",
                     "frequency,recency,T").stdout)
    assert list(sub[0]) == ["customer_id", "frequency", "recency", "T", "time_unit_days",
                            "cutoff"]


def test_bgnbd_fit_and_score_identical(churn, logs):
    d = logs["dir"]
    args = ["--cutoff", CUTOFF, "--unit", "week"]
    ta, tb = d / "cust_a.csv", d / "cust_b.csv"
    churn("features", logs["tx"], *args, "-o", ta)
    churn("features", logs["noamt"], "--amount", "none", *args, "-o", tb)
    ma, mb = d / "bg_a.json", d / "bg_b.json"
    fa = churn("fit", "bgnbd", ta, "--unit", "week", "-o", ma).stdout
    fb = churn("fit", "bgnbd", tb, "--unit", "week", "-o", mb).stdout
    assert fa == fb.replace(str(tb), str(ta))
    assert json.loads(ma.read_text())["params"] == json.loads(mb.read_text())["params"]
    # churn score reads the raw log: the same scores with or without the amounts
    sa = churn("score", ma, logs["tx"], "--cutoff", CUTOFF, "--horizon", 52).stdout
    sb = churn("score", ma, logs["noamt"], "--amount", "none", "--cutoff", CUTOFF,
               "--horizon", 52).stdout
    assert sa == sb and len(rows(sb)) > 700
    # ... but not expected spend and CLV
    gg = d / "gg.json"
    churn("fit", "gammagamma", ta, "-o", gg)
    p = churn("score", ma, logs["noamt"], "--amount", "none", "--cutoff", CUTOFF,
              "--horizon", 52, "--spend", gg, check=False)
    assert p.returncode == 2
    assert p.stderr.splitlines()[0] == (
        "churn score: --spend needs amounts (expected spend and CLV read the spend), and "
        "--amount none says the log has none: the spend is missing. Score without --spend "
        "for P(alive) and expected purchases")
    # the Gamma-Gamma fit on the table without spend columns
    p = churn("fit", "gammagamma", tb, check=False)
    assert p.returncode == 1
    assert p.stderr == ("churn fit gammagamma: column 'monetary_value' not found in the "
                        "input table (a table of a log without amounts has no spend "
                        "columns: the spend models need amounts)\n")


def test_gammagamma_on_unknown_spend_cells(churn, tmp_path):
    # a table whose monetary_value is NaN (empty) for a customer: the library's message
    t = tmp_path / "t.csv"
    t.write_text("customer_id,frequency,monetary_value\na,2,10\nb,3,\nc,1,5\n")
    p = churn("fit", "gammagamma", t, check=False)
    assert p.returncode == 1
    assert ("churn_gammagamma_fit: row 1, column 'monetary_value' is NaN: the spend is "
            "unknown (a log without amounts); the Gamma-Gamma model needs the amounts of "
            "the purchases") in p.stderr


def test_logit_with_a_spend_feature_refused(churn, logs):
    d = logs["dir"]
    lab = d / "lab.csv"
    churn("features", logs["tx"], "--cutoff", CUTOFF, "--holdout-end", HOLDOUT_END, "--unit",
          "day", "-o", lab)
    m = d / "logit.json"
    churn("fit", "logit", lab, "--label", "churned", "--features",
          "frequency,recency,monetary_value", "-o", m)
    p = churn("score", m, logs["noamt"], "--amount", "none", "--cutoff", CUTOFF, "--unit",
              "day", check=False)
    assert p.returncode == 1
    assert p.stderr.splitlines()[0] == (
        f"churn score: {m}: the model reads 'monetary_value', which needs amounts, and "
        "--amount none says the log has none: the spend is missing (score a log with "
        "amounts, or fit a model without spend features)")


def test_report_refused(churn, logs):
    p = churn("report", logs["noamt"], "--amount", "none", check=False)
    assert p.returncode == 2
    assert p.stderr.splitlines()[0] == (
        "churn report: the report values customers by their spend (CLV, value at risk, "
        "tiers) and needs amounts, but --amount none says the log has none: the spend is "
        "missing. Without amounts use 'churn score' with a BTYD model (no --spend) for "
        "P(alive) and expected purchases")


def test_describe(churn, logs):
    a = json.loads(churn("describe", logs["tx"], "--json").stdout)
    b = json.loads(churn("describe", logs["noamt"], "--amount", "none", "--json").stdout)
    for k in ("customers", "transactions", "first_date", "last_date", "repeat_customers",
              "repeat_customer_rate", "rows_read"):
        assert a[k] == b[k]
    for k in ("revenue", "top20_revenue_share", "refunds", "refund_amount",
              "zero_amount_orders"):
        assert a[k] is not None and b[k] is None
    assert a["unknown_amounts"] == 0 and b["unknown_amounts"] == b["transactions"]
    text = churn("describe", logs["noamt"], "--amount", "none").stdout
    n = b["transactions"]
    assert f"revenue                unknown ({n:,} of {n:,} transactions have no amount)" \
        in text
    assert "refunds                unknown" in text


def test_cohorts_and_evaluate(churn, logs):
    ca = churn("cohorts", logs["tx"], "--cutoff", CUTOFF).stdout
    cb = churn("cohorts", logs["noamt"], "--amount", "none", "--cutoff", CUTOFF).stdout
    assert ca == cb and len(ca.splitlines()) > 5
    # evaluate: the default features leave monetary_value out without amounts, so the
    # comparison equals the one with amounts given the same five features by name
    args = ["--cutoff", CUTOFF, "--holdout-end", HOLDOUT_END, "--models", "bgnbd,logit,cox"]
    ea = churn("evaluate", logs["tx"], *args, "--features",
               "frequency,recency,T,overdue_ratio,orders_recent").stdout
    eb = churn("evaluate", logs["noamt"], "--amount", "none", *args).stdout
    assert ea == eb
    assert all(r["auc"] for r in rows(eb))
    p = churn("evaluate", logs["noamt"], "--amount", "none", *args, "--features",
              "frequency,total_spend", check=False)
    assert p.returncode == 1
    assert "feature 'total_spend' is NaN for customer" in p.stderr
    assert "the spend is unknown (a log without amounts)" in p.stderr


def test_cdnow_published_bgnbd_without_amounts(churn, shared_data, tmp_path):
    src = os.path.join(shared_data, "cdnow", "CDNOW_sample.txt")
    if not os.path.exists(src):
        pytest.skip("cdnow/CDNOW_sample.txt is absent")
    t = tmp_path / "cdnow.csv"
    churn("features", src, "--no-header", "--id", "1", "--time", "3", "--amount", "none",
          "--cutoff", "1997-09-30", "--unit", "week", "--columns", "frequency,recency,T",
          "-o", t)
    m = tmp_path / "bg.json"
    churn("fit", "bgnbd", t, "--unit", "week", "-o", m)
    model = json.loads(m.read_text())
    par = dict(zip(model["param_names"], model["params"]))
    # Fader, Hardie & Lee (2005): r 0.2426, alpha 4.4136, a 0.7929, b 2.4259
    assert par["r"] == pytest.approx(0.2425945, rel=1e-4)
    assert par["alpha"] == pytest.approx(4.4136019, rel=1e-4)
    assert par["a"] == pytest.approx(0.7929199, rel=1e-3)
    assert par["b"] == pytest.approx(2.4258881, rel=1e-3)
