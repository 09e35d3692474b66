"""`churn predict --interval L` (issue 23, docs/models/intervals.md): the four limit
columns, checked against an independent delta-method computation of BG/NBD's logit
P(alive) from the saved model's covariance (closed-form gradient, written here), and
the refusals."""
import csv
import io
import json
import math

import pytest
from scipy.stats import norm


def _rows(text):
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def fitted(churn, tmp_path):
    tx = tmp_path / "tx.csv"
    churn("simulate", "--model", "bgnbd", "--customers", 4000, "--seed", 5, "--start",
          "2024-01-01", "--weeks", 52, "-o", tx)
    feat = tmp_path / "feat.csv"
    churn("features", tx, "--cutoff", "2024-10-01", "--unit", "week", "-o", feat)
    model = tmp_path / "bg.json"
    churn("fit", "bgnbd", feat, "-o", model)
    return feat, model


def test_limits_match_the_closed_form_delta_method(churn, fitted):
    feat, model = fitted
    out = _rows(churn("predict", model, feat, "--horizon", 12, "--interval", 0.8).stdout)
    table = {r["customer_id"]: r for r in csv.DictReader(open(feat))}
    m = json.load(open(model))
    r, al, a, b = m["params"]
    cov = m["covariance"]
    p = [r, al, a, b]
    z = norm.ppf(0.9)
    checked = 0
    for row in out:
        t = table[row["customer_id"]]
        x, tx, T = float(t["frequency"]), float(t["recency"]), float(t["T"])
        lo, hi = float(row["p_alive_lo"]), float(row["p_alive_hi"])
        e, elo, ehi = (float(row[k]) for k in ("expected_purchases", "expected_purchases_lo",
                                                "expected_purchases_hi"))
        assert elo <= e <= ehi
        if x == 0:
            assert lo == hi == float(row["p_alive"]) == 1.0
            continue
        L = math.log((al + T) / (al + tx))
        g = [-r * L, -(r + x) * al * (1 / (al + T) - 1 / (al + tx)), -1.0, b / (b + x - 1)]
        v = sum(g[i] * cov[i * 4 + j] / (p[i] * p[j]) * g[j] for i in range(4) for j in range(4))
        u = -math.log(a / (b + x - 1)) - (r + x) * L
        assert lo == pytest.approx(1 / (1 + math.exp(-(u - z * math.sqrt(v)))), rel=1e-6)
        assert hi == pytest.approx(1 / (1 + math.exp(-(u + z * math.sqrt(v)))), rel=1e-6)
        checked += 1
    assert checked > 1000


def test_refusals(churn, fitted, tmp_path):
    feat, model = fitted
    p = churn("predict", model, feat, "--horizon", 12, "--interval", 1.0, check=False)
    assert p.returncode == 2 and "strictly between 0 and 1" in p.stderr
    m = json.load(open(model))
    m["covariance"] = None
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(m))
    p = churn("predict", bare, feat, "--horizon", 12, "--interval", 0.9, check=False)
    assert p.returncode == 1 and "no covariance matrix" in p.stderr


def _python_churn():
    """The Python binding on the library this command links (skips when absent)."""
    import os
    import sys
    exe = os.environ["CHURN_EXE"]
    build = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(exe))))
    lib = os.path.join(build, "lib", "libchurn.so")
    src = os.path.join(os.environ.get("CHURN_SOURCE_ROOT", "."), "bindings", "python")
    if not os.path.exists(lib) or not os.path.isdir(src):
        pytest.skip(f"the Python binding or {lib} is absent")
    os.environ["CHURN_LIBRARY"] = lib
    if src not in sys.path:
        sys.path.insert(0, src)
    pd = pytest.importorskip("pandas")
    import churn
    return churn, pd


def test_score_interval_columns(churn, fitted, tmp_path):
    """churn score --interval: the P(alive) and expected-purchase limits are churn predict
    --interval's on the same customers; with --spend the CLV, spend and value-at-risk limits
    equal churn.clv(..., interval=) of the Python binding on the features table (the same
    saved models), appended after the existing columns."""
    feat, model = fitted
    tx = tmp_path / "tx.csv"
    gg = tmp_path / "gg.json"
    churn("fit", "gammagamma", feat, "-o", gg)
    common = [model, tx, "--cutoff", "2024-10-01", "--horizon", 12]
    plain = churn("--digits", 17, "score", *common, "--spend", gg).stdout.splitlines()
    out = churn("--digits", 17, "score", *common, "--spend", gg, "--interval", 0.8).stdout
    head = out.splitlines()[0].split(",")
    assert head[:9] == plain[0].split(",")
    assert head[9:] == ["p_alive_lo", "p_alive_hi", "expected_purchases_lo",
                        "expected_purchases_hi", "expected_spend_lo", "expected_spend_hi",
                        "clv_lo", "clv_hi", "value_at_risk", "value_at_risk_lo",
                        "value_at_risk_hi"]
    # the existing columns are unchanged
    assert [ln.split(",")[:9] for ln in out.splitlines()[1:]] == \
        [ln.split(",") for ln in plain[1:]]
    rows = {r["customer_id"]: r for r in _rows(out)}
    feat = tmp_path / "feat17.csv"  # every double written back exactly
    churn("--digits", 17, "features", tx, "--cutoff", "2024-10-01", "--unit", "week", "-o",
          feat)
    pred = _rows(churn("--digits", 17, "predict", model, feat, "--horizon", 12, "--interval",
                       0.8).stdout)
    for p in pred:
        r = rows[p["customer_id"]]
        for k in ("p_alive_lo", "p_alive_hi", "expected_purchases_lo", "expected_purchases_hi"):
            assert float(r[k]) == pytest.approx(float(p[k]), rel=1e-14)
    pych, pd = _python_churn()
    t = pd.read_csv(feat, index_col="customer_id", dtype={"customer_id": str})
    ref = pych.clv(pych.load_model(str(model)), pych.load_model(str(gg)),
                   t[["frequency", "recency", "T", "monetary_value"]], interval=0.8)
    got = pd.DataFrame.from_dict(rows, orient="index").astype(float).loc[ref.index]
    for k in ("clv", "expected_spend_lo", "expected_spend_hi", "clv_lo", "clv_hi",
              "value_at_risk", "value_at_risk_lo", "value_at_risk_hi"):
        # 1e-9: the limits are central differences (step 1e-4), which turn last-digit
        # differences of the moved predictions into about 1e-12 relative
        assert got[k].values == pytest.approx(ref[k].values, rel=1e-9, abs=1e-300), k
    assert (got.clv_lo < got.clv).all() and (got.clv < got.clv_hi).all()


def test_score_interval_refusals(churn, fitted, tmp_path):
    feat, model = fitted
    tx = tmp_path / "tx.csv"
    gg = tmp_path / "gg.json"
    churn("fit", "gammagamma", feat, "-o", gg)
    common = [model, tx, "--cutoff", "2024-10-01", "--horizon", 12]
    p = churn("score", *common, "--interval", 0, check=False)
    assert p.returncode == 2 and "strictly between 0 and 1" in p.stderr
    m = json.load(open(gg))
    m["covariance"] = None
    bare = tmp_path / "bare_gg.json"
    bare.write_text(json.dumps(m))
    p = churn("score", *common, "--spend", bare, "--interval", 0.9, check=False)
    assert p.returncode == 1 and "'spend'" in p.stderr and "covariance" in p.stderr
    m = json.load(open(model))
    m["covariance"] = None
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(m))
    p = churn("score", bare, tx, "--cutoff", "2024-10-01", "--horizon", 12, "--interval", 0.9,
              check=False)
    assert p.returncode == 1 and "no covariance matrix" in p.stderr


def test_ggomnbd_and_mbgcnbdk_intervals(churn, tmp_path):
    """Gamma-Gompertz/NBD and MBG/CNBD-k: churn predict --interval and churn score
    --interval give the same P(alive) and expected-purchase limits (both from
    churn_btyd_predict_interval), around the point scores, and score's CLV limits bracket
    its CLV. MBG/CNBD-k's k (chosen, variance 0) stays fixed."""
    for fam, sim in (("ggomnbd", ["--model", "ggomnbd"]),
                     ("mbgcnbdk", ["--model", "mbgcnbdk", "--k", 2])):
        tx = tmp_path / f"{fam}.csv"
        churn("simulate", *sim, "--customers", 4000, "--seed", 0, "--start", "2024-01-01",
              "--weeks", 52, "-o", tx)
        feat = tmp_path / f"{fam}_feat.csv"
        churn("--digits", 17, "features", tx, "--cutoff", "2024-10-01", "--unit", "week",
              *(["--litt"] if fam == "mbgcnbdk" else []), "-o", feat)
        model, gg = tmp_path / f"{fam}.json", tmp_path / f"{fam}_gg.json"
        fit = [fam, feat, "-o", model] + (["--k", 2] if fam == "mbgcnbdk" else [])
        p = churn("fit", *fit, check=False)
        if p.returncode != 0:
            pytest.fail(f"churn fit {fam}: {p.stderr}")
        churn("fit", "gammagamma", feat, "-o", gg)
        pred = {r["customer_id"]: r for r in _rows(churn(
            "--digits", 17, "predict", model, feat, "--horizon", 12, "--interval", 0.9).stdout)}
        out = _rows(churn("--digits", 17, "score", model, tx, "--cutoff", "2024-10-01",
                          "--horizon", 12, "--spend", gg, "--interval", 0.9).stdout)
        assert len(out) == len(pred) == 4000
        for r in out:
            p = pred[r["customer_id"]]
            for k in ("p_alive_lo", "p_alive_hi", "expected_purchases_lo",
                      "expected_purchases_hi"):
                assert float(r[k]) == pytest.approx(float(p[k]), rel=1e-12), (fam, k)
            assert float(r["p_alive_lo"]) <= float(r["p_alive"]) <= float(r["p_alive_hi"])
            assert float(r["clv_lo"]) <= float(r["clv"]) <= float(r["clv_hi"])
        assert any(float(r["p_alive_lo"]) < float(r["p_alive_hi"]) for r in out), fam


def test_report_interval_columns(churn, fitted, tmp_path):
    """churn report --interval: the ten limit columns are appended to -o after the existing
    ones (which are unchanged), and equal churn score --spend --interval's for the same
    customers with the models churn fit gives on the same table (the report fits its own;
    the estimates agree to the optimiser's tolerance, hence 1e-6). The JSON lists carry the
    limits of P(alive), CLV and value at risk; a level outside (0, 1) is refused."""
    feat, model = fitted
    tx = tmp_path / "tx.csv"
    common = [tx, "--cutoff", "2024-10-01", "--unit", "week"]
    plain = tmp_path / "rep.csv"
    churn("--digits", 17, "report", *common, "-o", plain)
    withiv = tmp_path / "rep_iv.csv"
    p = churn("--digits", 17, "report", *common, "--interval", 0.8, "--json", "-o", withiv)
    head = open(withiv).readline().strip().split(",")
    head0 = open(plain).readline().strip().split(",")
    assert head[:len(head0)] == head0
    assert head[len(head0):] == ["p_alive_lo", "p_alive_hi", "expected_purchases_lo",
                                 "expected_purchases_hi", "expected_spend_lo",
                                 "expected_spend_hi", "clv_lo", "clv_hi", "value_at_risk_lo",
                                 "value_at_risk_hi"]
    rows = _rows(open(withiv).read())
    assert [list(r.values())[:len(head0)] for r in rows] == \
        [list(r.values()) for r in _rows(open(plain).read())]
    feat17 = tmp_path / "feat17.csv"
    churn("--digits", 17, "features", *common, "-o", feat17)
    bg, gg = tmp_path / "bg17.json", tmp_path / "gg17.json"
    churn("fit", "bgnbd", feat17, "-o", bg)
    churn("fit", "gammagamma", feat17, "-o", gg)
    sc = {r["customer_id"]: r for r in _rows(churn(
        "--digits", 17, "score", bg, *common, "--horizon", 12, "--spend", gg, "--interval",
        0.8).stdout)}
    checked = 0
    for r in rows:
        s = sc[r["customer_id"]]
        for k in ("clv", "p_alive_lo", "p_alive_hi", "expected_spend_lo", "expected_spend_hi",
                  "clv_lo", "clv_hi", "value_at_risk_lo", "value_at_risk_hi"):
            assert float(r[k]) == pytest.approx(float(s[k]), rel=1e-6, abs=1e-12), k
        assert float(r["clv_lo"]) <= float(r["clv"]) <= float(r["clv_hi"])
        checked += 1
    assert checked == len(sc)
    summary = json.loads(p.stdout)
    assert summary["interval"] == 0.8
    byid = {r["customer_id"]: r for r in rows}
    for c in summary["save_now"]["top"] + summary["win_back"]["top"] + summary["top"]:
        for k in ("p_alive_lo", "p_alive_hi", "clv_lo", "clv_hi", "value_at_risk_lo",
                  "value_at_risk_hi"):
            assert c[k] == pytest.approx(float(byid[c["customer_id"]][k]), rel=1e-11)
    assert json.loads(churn("report", *common, "--json").stdout)["interval"] is None
    for bad in (0, 1, 1.5, "nan"):
        q = churn("report", *common, "--interval", bad, check=False)
        assert q.returncode == 2 and "--interval" in q.stderr
