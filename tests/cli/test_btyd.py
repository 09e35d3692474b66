"""`churn fit bgnbd|mbgnbd|pnbd|bgbb|sbg` and `churn predict` with BTYD models.

References: ../shared/data (published fits, lifetimes' predictions for CDNOW).
"""
import csv
import json
import math
import os

import pytest


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def cdnow_csv(shared_data, tmp_path):
    """CDNOW customer table (full precision) in the column names `churn features` writes,
    and lifetimes' predictions keyed by customer id."""
    src = os.path.join(shared_data, "cdnow", "lifetimes_clv.csv")
    if not os.path.exists(src):
        pytest.skip("cdnow/lifetimes_clv.csv is absent")
    with open(src) as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    path = tmp_path / "cdnow.csv"
    with open(path, "w") as f:
        f.write("customer_id,frequency,recency,T\n")
        for r in rows:
            f.write(f"{r['ID']},{r['x']},{r['t_x']},{r['T']}\n")
    ref = {r["ID"]: (float(r["p_alive"]), float(r["expected_purchases_52w"])) for r in rows}
    return path, ref


def params_of(stdout):
    """Parse the parameter table: name -> (estimate, se, lo, hi)."""
    out = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[0] != "parameter":
            try:
                out[parts[0]] = tuple(float(v) for v in parts[1:])
            except ValueError:
                pass
    return out


def loglik_of(stdout):
    for line in stdout.splitlines():
        if line.startswith("log-likelihood"):
            return float(line.split()[1])
    raise AssertionError("no log-likelihood line:\n" + stdout)


def test_fit_bgnbd_cdnow_and_predict(churn, cdnow_csv, tmp_path):
    path, ref = cdnow_csv
    model = tmp_path / "bgnbd.json"
    p = churn("fit", "bgnbd", path, "-o", model, "--unit", "week")
    par = params_of(p.stdout)
    # Fader, Hardie & Lee (2005): r 0.2426, alpha 4.4136, a 0.7929, b 2.4259, LL -9582.43
    assert par["r"][0] == pytest.approx(0.2426, abs=5e-5)
    assert par["alpha"][0] == pytest.approx(4.4136, abs=5e-4)
    assert par["a"][0] == pytest.approx(0.7929, abs=5e-4)
    assert par["b"][0] == pytest.approx(2.4259, abs=5e-4)
    assert loglik_of(p.stdout) == pytest.approx(-9582.43, abs=0.01)
    assert "converged yes" in p.stdout
    for est, se, lo, hi in par.values():
        assert se > 0 and lo < est < hi
    m = json.loads(model.read_text())
    assert m["family"] == "bgnbd" and m["time_unit_days"] == 7
    assert m["fit"]["converged"] is True

    scores = tmp_path / "scores.csv"
    # the summary file declares no unit: the weekly model refuses it until --unit says so
    p = churn("predict", model, path, "--horizon", "52", "-o", scores, check=False)
    assert p.returncode == 1 and "weeks (7 days)" in p.stderr and "--unit" in p.stderr
    assert not scores.exists()
    churn("predict", model, path, "--horizon", "52", "--unit", "week", "-o", scores)
    rows = read_csv(scores)
    assert list(rows[0].keys()) == ["customer_id", "p_alive", "expected_purchases", "p_churn"]
    assert len(rows) == 2357
    worst = 0.0
    for r in rows:
        pa, e = float(r["p_alive"]), float(r["expected_purchases"])
        assert float(r["p_churn"]) == pytest.approx(1 - pa, abs=1e-9)
        rpa, re_ = ref[r["customer_id"]]
        worst = max(worst, abs(pa - rpa) / rpa, abs(e - re_) / re_)
    # our fitted parameters vs lifetimes' (equal to ~1e-6): predictions agree closely
    assert worst < 2e-5


def test_fit_json(churn, cdnow_csv):
    path, _ = cdnow_csv
    p = churn("fit", "mbgnbd", path, "--json")
    j = json.loads(p.stdout)
    assert j["family"] == "mbgnbd" and j["converged"] is True and j["nobs"] == 2357
    # Batislam et al. (2007) model on CDNOW: r 0.525, alpha 6.183, a 0.891, b 1.614
    for name, ref in (("r", 0.525), ("alpha", 6.183), ("a", 0.891), ("b", 1.614)):
        est = j["params"][name]
        assert est["estimate"] == pytest.approx(ref, abs=5e-4)
        assert est["ci95_lower"] < est["estimate"] < est["ci95_upper"]
    assert isinstance(j["iterations"], int) and j["iterations"] > 0


def test_fit_pnbd_cdnow(churn, cdnow_csv):
    path, _ = cdnow_csv
    p = churn("fit", "pnbd", path, check=False)
    if "not available" in p.stderr:
        pytest.skip("Pareto/NBD is not in this build")
    assert p.returncode == 0, p.stderr
    # Pareto/NBD on CDNOW: LL -9594.98 (beta is flat: parameters to 0.5%)
    assert loglik_of(p.stdout) == pytest.approx(-9594.98, abs=0.01)
    par = params_of(p.stdout)
    assert par["r"][0] == pytest.approx(0.5534, rel=5e-3)
    assert par["alpha"][0] == pytest.approx(10.5802, rel=5e-3)


def test_fit_bgbb_donations(churn, shared_data, tmp_path):
    src = os.path.join(shared_data, "donations", "donations.csv")
    if not os.path.exists(src):
        pytest.skip("donations/donations.csv is absent")
    model = tmp_path / "bgbb.json"
    # columns frequency, recency, periods, weights: taken as they are
    p = churn("fit", "bgbb", src, "-o", model)
    par = params_of(p.stdout)
    # Fader, Hardie & Shang (2010): 1.2035, 0.7497, 0.6568, 2.7838, LL -33225.58
    for name, ref in (("alpha", 1.2035), ("beta", 0.7497), ("gamma", 0.6568), ("delta", 2.7838)):
        assert par[name][0] == pytest.approx(ref, abs=5e-4)
    assert loglik_of(p.stdout) == pytest.approx(-33225.58, abs=0.01)
    assert "fitted on 11104 customers" in p.stdout
    # the same with explicit column options
    p2 = churn("fit", "bgbb", src, "--T", "periods", "--weights", "weights")
    assert params_of(p2.stdout)["delta"][0] == par["delta"][0]
    # predictions over 5 more opportunities
    out = tmp_path / "bb.csv"
    churn("predict", model, src, "--horizon", "5", "-o", out)
    rows = read_csv(out)
    assert len(rows) == 22
    for r in rows:
        pa, e = float(r["p_alive"]), float(r["expected_purchases"])
        assert 0 <= pa <= 1 and 0 <= e <= 5
    # a non-integer horizon is an error for opportunities
    bad = churn("predict", model, src, "--horizon", "2.5", check=False)
    assert bad.returncode == 1 and "whole number" in bad.stderr


@pytest.fixture
def sbg_tables(shared_data, tmp_path):
    src = os.path.join(shared_data, "sbg", "sbg_paper.csv")
    if not os.path.exists(src):
        pytest.skip("sbg/sbg_paper.csv is absent")
    out = {}
    for cohort in ("highend", "regular"):
        rows = [r for r in read_csv(src) if r["cohorts"] == cohort]
        path = tmp_path / f"{cohort}.csv"
        surv = [len(rows)] + [sum(1 for r in rows if int(r["recency"]) > t) for t in range(1, 8)]
        with open(path, "w") as f:
            f.write("customer_id,periods,churned\n")
            for r in rows:
                churned = int(r["recency"]) < int(r["T"])
                periods = int(r["recency"]) if churned else int(r["T"]) - 1
                f.write(f"{r['customer_id']},{periods},{int(churned)}\n")
        spath = tmp_path / f"{cohort}_survivors.csv"
        spath.write_text("survivors\n" + "\n".join(str(s) for s in surv) + "\n")
        out[cohort] = (path, spath)
    return out


@pytest.mark.parametrize("cohort,alpha,beta,ll", [("highend", 0.668, 3.806, -1611.158),
                                                  ("regular", 0.704, 1.182, -1680.265)])
def test_fit_sbg_paper(churn, sbg_tables, tmp_path, cohort, alpha, beta, ll):
    table, survivors = sbg_tables[cohort]
    for args in ((table,), ("--survivors", survivors)):
        p = churn("fit", "sbg", *args, "-o", tmp_path / "sbg.json")
        par = params_of(p.stdout)
        assert par["alpha"][0] == pytest.approx(alpha, abs=5e-4)
        assert par["beta"][0] == pytest.approx(beta, abs=5e-4)
        assert loglik_of(p.stdout) == pytest.approx(ll, abs=1e-3)
    out = tmp_path / "sbg_scores.csv"
    churn("predict", tmp_path / "sbg.json", table, "--horizon", "3", "--discount", "0.1",
          "-o", out)
    rows = read_csv(out)
    assert list(rows[0].keys()) == ["customer_id", "p_alive", "expected_purchases", "p_churn",
                                    "derl"]
    a, b = float(params_of(p.stdout)["alpha"][0]), float(params_of(p.stdout)["beta"][0])
    for r in rows[:50]:
        n = int(float(next(q for q in read_csv(table) if q["customer_id"] == r["customer_id"])
                      ["periods"]))
        # retention at the next renewal: (beta + n) / (alpha + beta + n) (F&H 2007)
        assert float(r["p_alive"]) == pytest.approx((b + n) / (a + b + n), rel=1e-5)


def test_errors_name_row_and_column(churn, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("customer_id,frequency,recency,T\nc1,2,5,10\nc2,1,-3,10\nc3,0,0,10\n")
    p = churn("fit", "bgnbd", bad, check=False)
    assert p.returncode == 1
    assert "recency" in p.stderr and "c2" in p.stderr and "line 3" in p.stderr
    bad.write_text("customer_id,frequency,recency,T\nc1,2,12,10\n")
    p = churn("fit", "mbgnbd", bad, check=False)
    assert p.returncode == 1 and "exceeds T" in p.stderr and "c1" in p.stderr
    bad.write_text("customer_id,frequency,recency,T\nc1,NaN,1,10\n")
    p = churn("fit", "bgnbd", bad, check=False)
    assert p.returncode == 1 and "frequency" in p.stderr
    p = churn("fit", "bgnbd", bad, "--recency", "nope", check=False)
    assert p.returncode == 1 and "nope" in p.stderr
    p = churn("fit", "bgnbd", bad, "--l2", "-1", check=False)
    assert p.returncode == 2
    p = churn("fit", "bgnbd", bad, "--survivors", "x.csv", check=False)
    assert p.returncode == 2


def test_one_time_buyers_only(churn, tmp_path):
    t = tmp_path / "ones.csv"
    t.write_text("customer_id,frequency,recency,T\n" +
                 "".join(f"c{i},0,0,{10 + i % 30}\n" for i in range(300)))
    model = tmp_path / "m.json"
    p = churn("fit", "bgnbd", t, "-o", model, check=False)
    assert p.returncode == 1
    assert "warning" in p.stderr and "converged NO" in p.stdout
    assert "nan" not in p.stdout.lower()
    # a small penalty makes the fit well defined
    p = churn("fit", "bgnbd", t, "--l2", "0.01", "-o", model)
    assert "converged yes" in p.stdout and "penalised" in p.stdout


def test_predict_needs_horizon_and_help(churn, cdnow_csv, tmp_path):
    path, _ = cdnow_csv
    model = tmp_path / "m.json"
    churn("fit", "bgnbd", path, "-o", model)
    p = churn("predict", model, path, check=False)
    assert p.returncode == 2 and "--horizon" in p.stderr
    assert "usage" in churn("fit", "bgnbd", "--help").stdout
    assert "p_alive" in churn("predict", model, "--help").stdout


def hostile_table(path, seed, n=1000):
    """Issue 19's table: x uniform on 0..6, T = 52, t_x uniform on [0, T] (0 when x = 0).
    Its BG/NBD and Pareto/NBD likelihoods have their supremum at infinity along a ridge."""
    import random
    rng = random.Random(seed)
    with open(path, "w") as f:
        f.write("customer_id,frequency,recency,T\n")
        for i in range(n):
            x = rng.randint(0, 6)
            f.write(f"c{i},{x},{0.0 if x == 0 else rng.uniform(0, 52):.6f},52\n")


def test_fit_budget_options(churn, tmp_path):
    """--max-evaluations and --max-seconds bound a fit; a ridge ends with a warning naming
    the parameters that run off, and -o saves the best point found."""
    t = tmp_path / "hostile.csv"
    hostile_table(t, 1)
    model = tmp_path / "m.json"
    p = churn("fit", "pnbd", t, "--max-evaluations", "5", "-o", model, check=False,
              timeout=120)
    assert p.returncode == 1 and "converged NO" in p.stdout
    assert "max_evaluations = 5" in p.stderr and "best point" in p.stderr
    saved = json.loads(model.read_text())
    assert saved["fit"]["converged"] is False
    assert all(v > 0 and math.isfinite(v) for v in saved["params"])
    p = churn("fit", "pnbd", t, "--max-seconds", "0.000001", check=False, timeout=120)
    assert p.returncode == 1 and "max_seconds" in p.stderr
    # left alone, the ridge is found and named, well within the default budget
    p = churn("fit", "bgnbd", t, check=False, timeout=120)
    assert p.returncode == 1 and "run" in p.stderr and "off to infinity" in p.stderr
    assert "'a'" in p.stderr and "'b'" in p.stderr and "max_evaluations" not in p.stderr
    for bad in (["--max-evaluations", "0"], ["--max-evaluations", "x"], ["--max-seconds", "-1"]):
        p = churn("fit", "bgnbd", t, *bad, check=False)
        assert p.returncode == 2 and bad[0] in p.stderr
    assert "--max-evaluations" in churn("fit", "bgnbd", "--help").stdout
