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


def litt_table(churn, tmp_path, tx, name="cl.csv"):
    """The customer table of `tx` (weeks) with litt computed here from the transactions
    (purchases merged by day), as the `table` fixture does."""
    feats = tmp_path / ("f_" + name)
    churn("features", tx, "--unit", "week", "-o", feats)
    days = defaultdict(set)
    for r in read_csv(tx):
        days[r["customer_id"]].add(datetime.date.fromisoformat(r["date"]).toordinal())
    litt = {c: sum(math.log((b - a) / 7.0) for a, b in zip(sorted(d), sorted(d)[1:]))
            for c, d in days.items()}
    out = tmp_path / name
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer_id", "frequency", "recency", "T", "monetary_value", "litt"])
        for r in read_csv(feats):
            w.writerow([r["customer_id"], r["frequency"], r["recency"], r["T"],
                        r["monetary_value"], repr(litt[r["customer_id"]])])
    return out


def test_simulate_k3_recovered(churn, tmp_path):
    """`churn simulate --model mbgcnbdk --k 3` draws regular buyers (BTYDplus' illustrative
    parameters, per week); `churn features --litt` adds litt, and `churn fit mbgcnbdk`
    chooses k = 3 by likelihood and lands within 3 standard errors of every true
    parameter."""
    tx = tmp_path / "tx.csv"
    churn("simulate", "--model", "mbgcnbdk", "--k", 3, "--customers", 6000, "--seed", 11,
          "-o", tx)
    table = tmp_path / "c.csv"
    churn("features", tx, "--unit", "week", "--litt", "-o", table)  # the command alone
    fit = json.loads(churn("fit", "mbgcnbdk", table, "--json").stdout)
    assert fit["family"] == "mbgcnbd"
    assert fit["params"]["k"]["estimate"] == 3
    truth = {"r": 0.85, "alpha": 1.45, "a": 0.79, "b": 2.42}
    for name, v in truth.items():
        est, se = fit["params"][name]["estimate"], fit["params"][name]["std_error"]
        assert se > 0 and abs(est - v) < 3 * se, (name, est, se, v)


def test_simulate_k1_is_mbgnbd(churn, tmp_path):
    """k = 1 draws the MBG/NBD customers of the same parameters, byte for byte."""
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    common = ["--customers", 300, "--seed", 5, "--r", 0.85, "--alpha", 1.45, "--a", 0.79,
              "--b", 2.42]
    churn("simulate", "--model", "mbgnbd", *common, "-o", a)
    churn("simulate", "--model", "mbgcnbdk", "--k", 1, *common, "-o", b)
    assert a.read_text() == b.read_text()


def test_simulate_options_checked(churn):
    p = churn("simulate", "--model", "pnbd", "--k", 2, check=False)
    assert p.returncode == 2 and "--k" in p.stderr and "mbgcnbdk" in p.stderr
    p = churn("simulate", "--model", "mbgcnbdk", "--k", 13, check=False)
    assert p.returncode == 2 and "13" in p.stderr


def test_dert_and_clv(churn, tmp_path):
    """`churn predict --dert` and `churn score --spend` take an MBG/CNBD-k model; with k = 1
    both equal the MBG/NBD's numbers (the same parameters)."""
    tx = tmp_path / "tx.csv"
    churn("simulate", "--model", "mbgcnbdk", "--k", 2, "--customers", 400, "--seed", 8,
          "-o", tx)
    table = litt_table(churn, tmp_path, tx)
    mk = tmp_path / "mk.json"
    churn("fit", "mbgcnbdk", table, "--unit", "week", "--k", 1, "-o", mk)
    params = {n: v["estimate"] for n, v in json.loads(
        churn("fit", "mbgcnbdk", table, "--unit", "week", "--k", 1, "--json").stdout
    )["params"].items()}
    mb = tmp_path / "mb.json"
    churn("fit", "mbgnbd", table, "--unit", "week", "-o", mb)
    gg = tmp_path / "gg.json"
    churn("fit", "gammagamma", table, "--unit", "week", "-o", gg)
    outs = {}
    for name, model in (("k", mk), ("m", mb)):
        o = tmp_path / f"p_{name}.csv"
        churn("--digits", 17, "predict", model, table, "--horizon", 26, "--unit", "week",
              "--dert", 0.0027, "-o", o)
        s = tmp_path / f"s_{name}.csv"
        churn("--digits", 17, "score", model, tx, "--cutoff", "1998-06-30", "--horizon", 26,
              "--spend", gg, "-o", s)
        outs[name] = (read_csv(o), read_csv(s))
    assert params["k"] == 1
    (pk, sk), (pm, sm) = outs["k"], outs["m"]
    assert len(pk) == 400 and len(sk) == len(sm) > 0
    # the two fits agree to ~1e-7 in the parameters (the optimiser's tolerance)
    for rk, rm in zip(pk, pm):
        assert float(rk["dert"]) == pytest.approx(float(rm["dert"]), rel=1e-5)
        assert float(rk["dert"]) > 0
    for rk, rm in zip(sk, sm):
        assert float(rk["clv"]) == pytest.approx(float(rm["clv"]), rel=1e-5, abs=1e-9)


@pytest.mark.parametrize("extra", [[], ["--cutoff", "1997-09-30"], ["--first-purchase-counts"],
                                   ["--unit", "day"]])
def test_features_litt_equals_reference(churn, tmp_path, extra):
    """`churn features --litt` is the sum of log gaps between purchase days up to the cutoff
    (computed here from the CSV), in the table's unit, row by row."""
    tx = tmp_path / "tx.csv"
    churn("simulate", "--model", "mbgcnbdk", "--k", 2, "--customers", 500, "--seed", 21,
          "-o", tx)
    out = tmp_path / "f.csv"
    args = ["--unit", "week"] + extra if "--unit" not in extra else extra
    churn("features", tx, *args, "--litt", "-o", out)
    unit = 1.0 if "day" in extra else 7.0
    cutoff = (datetime.date.fromisoformat(extra[1]).toordinal() if "--cutoff" in extra
              else None)
    days = defaultdict(set)
    for r in read_csv(tx):
        d = datetime.date.fromisoformat(r["date"]).toordinal()
        if cutoff is None or d <= cutoff:
            days[r["customer_id"]].add(d)
    rows = read_csv(out)
    assert len(rows) == len(days) and "litt" in rows[0]
    for r in rows:
        d = sorted(days[r["customer_id"]])
        ref = sum(math.log((b - a) / unit) for a, b in zip(d, d[1:]))
        assert float(r["litt"]) == pytest.approx(ref, rel=1e-9, abs=1e-9)


def test_features_litt_refusals(churn, tmp_path):
    tx = tmp_path / "tx.csv"
    churn("simulate", "--model", "mbgcnbdk", "--customers", 20, "-o", tx)
    for bad in (["--no-same-day-merge"], ["--period", "month"]):
        p = churn("features", tx, "--litt", *bad, check=False)
        assert p.returncode == 2 and "--litt" in p.stderr, p.stderr


def test_fit_with_covariates_recovers_the_group_effect(churn, tmp_path):
    """`churn fit mbgcnbdk --trans grp` (churn_mbgcnbd_fit_covariates, issue 23): two groups
    of regular buyers simulated with alpha 1.45 and 1.45 e^-0.6 (group 1 buys faster),
    joined to a covariate file by `churn features --covariates`: k = 3 is chosen, the
    coefficient trans.grp lands within 3 standard errors of 0.6, the fit equals the Python
    binding's on the same table, and `churn predict` / `churn score --covariates` score
    each customer at its own parameters (the same numbers both ways)."""
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    common = ["--model", "mbgcnbdk", "--k", 3, "--customers", 5000, "--r", 0.85, "--a", 0.79,
              "--b", 2.42]
    churn("simulate", *common, "--alpha", 1.45, "--seed", 21, "--id-prefix", "a", "-o", a)
    churn("simulate", *common, "--alpha", 1.45 * math.exp(-0.6), "--seed", 22, "--id-prefix",
          "b", "-o", b)
    tx = tmp_path / "tx.csv"
    lines_b = b.read_text().splitlines()
    tx.write_text(a.read_text() + "\n".join(lines_b[1:]) + "\n")
    ids = {r["customer_id"] for r in read_csv(tx)}
    cov = tmp_path / "cov.csv"
    cov.write_text("customer_id,grp\n" + "".join(
        f"{c},{1 if c.startswith('b') else 0}\n" for c in sorted(ids)))
    table = tmp_path / "c.csv"
    churn("--digits", 17, "features", tx, "--unit", "week", "--litt", "--covariates", cov,
          "-o", table)
    model = tmp_path / "m.json"
    fit = json.loads(churn("fit", "mbgcnbdk", table, "--trans", "grp", "--json", "-o",
                           model).stdout)
    assert fit["params"]["k"]["estimate"] == 3
    est, se = fit["params"]["trans.grp"]["estimate"], fit["params"]["trans.grp"]["std_error"]
    assert abs(est - 0.6) < 3 * se, (est, se)
    from test_covariates import python_churn
    pych, pd = python_churn()
    t = pd.read_csv(table, index_col="customer_id", dtype={"customer_id": str})
    m = pych.MBGCNBDk().fit(t, covariates=t[["grp"]], trans=["grp"], unit="week")
    for name, v in m.params_.items():
        assert fit["params"][name]["estimate"] == pytest.approx(v, rel=1e-7), name
    pred = pd.read_csv(__import__("io").StringIO(churn(
        "--digits", 17, "predict", model, table, "--horizon", 26).stdout),
        index_col="customer_id", dtype={"customer_id": str})
    ref = pych.load_model(str(model)).score(26, t, covariates=t[["grp"]])
    assert pred["p_alive"].values == pytest.approx(ref.loc[pred.index, "p_alive"].values,
                                                   rel=1e-12)
    sc = pd.read_csv(__import__("io").StringIO(churn(
        "--digits", 17, "score", model, tx, "--cutoff", fit_cutoff(table), "--horizon", 26,
        "--covariates", cov).stdout), index_col="customer_id", dtype={"customer_id": str})
    assert sc["expected_purchases"].values == pytest.approx(
        pred.loc[sc.index, "expected_purchases"].values, rel=1e-9)


def fit_cutoff(table):
    return read_csv(table)[0]["cutoff"]


def test_report_model_mbgcnbdk(churn, tmp_path):
    """`churn report --model mbgcnbdk` (issue 23): the report fits MBG/CNBD-k on the customer
    table it builds, with litt computed from the log, k chosen by likelihood (3 on regular
    buyers simulated with k = 3) or fixed by --k. Its fit equals `churn features --litt` +
    `churn fit mbgcnbdk` on the same log, and its p_alive and expected purchases equal
    `churn predict` with that model (1e-9). --k with another model is a usage error."""
    tx = tmp_path / "tx.csv"
    churn("simulate", "--model", "mbgcnbdk", "--k", 3, "--customers", 3000, "--seed", 31,
          "-o", tx)
    rep_csv = tmp_path / "rep.csv"
    rep = json.loads(churn("--digits", 17, "report", tx, "--model", "mbgcnbdk", "--json",
                           "-o", rep_csv).stdout)
    assert rep["model"]["family"] == "mbgcnbd"
    assert rep["model"]["params"]["k"]["estimate"] == 3
    table = tmp_path / "c.csv"
    churn("--digits", 17, "features", tx, "--unit", "week", "--litt", "-o", table)
    model = tmp_path / "m.json"
    fit = json.loads(churn("fit", "mbgcnbdk", table, "--json", "-o", model).stdout)
    for name, v in fit["params"].items():
        assert rep["model"]["params"][name]["estimate"] == pytest.approx(v["estimate"],
                                                                        rel=1e-9), name
    pred = {r["customer_id"]: r for r in read_csv_text(churn(
        "--digits", 17, "predict", model, table, "--horizon", 12 * 30.4375 / 7).stdout)}
    rows = read_csv(rep_csv)
    assert len(rows) == 3000
    for r in rows:
        p = pred[r["customer_id"]]
        assert float(r["p_alive"]) == pytest.approx(float(p["p_alive"]), rel=1e-9)
        assert float(r["expected_purchases"]) == pytest.approx(
            float(p["expected_purchases"]), rel=1e-9, abs=1e-12)
    rep2 = json.loads(churn("report", tx, "--model", "mbgcnbdk", "--k", 2, "--json").stdout)
    assert rep2["model"]["params"]["k"]["estimate"] == 2
    bad = churn("report", tx, "--model", "pnbd", "--k", 2, check=False)
    assert bad.returncode == 2 and "--k is for --model mbgcnbdk" in bad.stderr


def read_csv_text(text):
    return list(csv.DictReader(text.splitlines()))
