"""`churn fit mbgcnbd` (MBG/CNBD-k, issue 23): k = 1 is `churn fit mbgnbd`; k chosen
by likelihood from a litt column; `churn predict` scores the model."""
import csv
import datetime
import json
import math
from collections import defaultdict

import pytest


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def table(churn, tmp_path):
    """Simulated MBG/NBD customers (exponential gaps: k = 1 is the truth), with litt
    computed here from the transactions (purchases merged by day, weeks)."""
    tx = tmp_path / "tx.csv"
    feats = tmp_path / "c.csv"
    churn("simulate", "--model", "mbgnbd", "--customers", 2000, "--seed", 4, "-o", tx)
    churn("features", tx, "--unit", "week", "-o", feats)
    days = defaultdict(set)
    for r in read_csv(tx):
        days[r["customer_id"]].add(datetime.date.fromisoformat(r["date"]).toordinal())
    litt = {c: sum(math.log((b - a) / 7.0) for a, b in zip(sorted(d), sorted(d)[1:]))
            for c, d in days.items()}
    rows = read_csv(feats)
    out = tmp_path / "cl.csv"
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer_id", "frequency", "recency", "T", "litt"])
        for r in rows:
            w.writerow([r["customer_id"], r["frequency"], r["recency"], r["T"],
                        repr(litt[r["customer_id"]])])
    return out


def test_k1_equals_mbgnbd(churn, table, tmp_path):
    a = json.loads(churn("fit", "mbgnbd", table, "--unit", "week", "--json").stdout)
    b = json.loads(churn("fit", "mbgcnbd", table, "--unit", "week", "--k", 1, "--json").stdout)
    assert b["family"] == "mbgcnbd" and b["params"]["k"]["estimate"] == 1
    assert b["loglik"] == pytest.approx(a["loglik"], rel=1e-12)
    for name in ("r", "alpha", "a", "b"):
        assert b["params"][name]["estimate"] == pytest.approx(a["params"][name]["estimate"],
                                                              rel=1e-6)


def test_k_chosen_and_predict(churn, table, tmp_path):
    model = tmp_path / "m.json"
    p = churn("fit", "mbgcnbd", table, "--unit", "week", "--json", "-o", model)
    fit = json.loads(p.stdout)
    assert fit["params"]["k"]["estimate"] == 1  # exponential gaps: k = 1 fits best
    out = tmp_path / "s.csv"
    churn("predict", model, table, "--horizon", 26, "--unit", "week", "-o", out)
    rows = read_csv(out)
    assert len(rows) == 2000 and all(0 <= float(r["p_alive"]) <= 1 for r in rows)


def test_options_are_checked(churn, table):
    p = churn("fit", "bgnbd", table, "--k", 2, check=False)
    assert p.returncode == 2 and "mbgcnbd" in p.stderr
    p = churn("fit", "mbgcnbd", table, "--litt", "nope", check=False)
    assert p.returncode != 0 and "nope" in p.stderr
