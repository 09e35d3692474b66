"""`churn features --covariates`, `churn fit pnbd --trans/--life`, and scoring a covariate
model with `churn predict` and `churn score --covariates` (issue 23; docs/models/covariates.md).

The truth is known by construction: two simulated Pareto/NBD groups that differ only in the
purchase-rate scale alpha (group 0: alpha 6, group 1: alpha 3 per week), marked by a 0/1
covariate. The covariate model alpha_i = alpha exp(-g z_i) then has g = log(6 / 3) exactly; the
fit must recover it within 3 standard errors. The scores are compared with the Python binding's
fit and scoring of the same table (the same C library, reached through ctypes), which is an
independent path through the data: pandas joins the covariates, not the command."""
import csv
import io
import json
import math
import os
import random
import sys

import pytest

ALPHA0, ALPHA1 = 6.0, 3.0  # per week, the two groups' purchase-rate scales
CUTOFF = "1998-06-30"


@pytest.fixture(scope="module")
def data(tmp_path_factory, churn_exe):
    import subprocess

    d = tmp_path_factory.mktemp("cov")

    def run(*args):
        subprocess.run([churn_exe, *map(str, args)], check=True, capture_output=True)

    common = ["--customers", 2000, "--r", 1, "--s", 0.6, "--beta", 12,
              "--acquisition-weeks", 26]
    run("simulate", *common, "--seed", 1, "--alpha", ALPHA0, "--id-prefix", "a",
        "-o", d / "a.csv")
    run("simulate", *common, "--seed", 2, "--alpha", ALPHA1, "--id-prefix", "b",
        "-o", d / "b.csv")
    a = (d / "a.csv").read_text().splitlines()
    b = (d / "b.csv").read_text().splitlines()
    (d / "tx.csv").write_text("\n".join(a + b[1:]) + "\n")
    ids = sorted({row["customer_id"] for row in csv.DictReader(open(d / "tx.csv"))})
    rng = random.Random(7)
    with open(d / "cov.csv", "w") as f:
        # noise: a covariate without effect (its estimate must be near 0)
        f.write("customer_id,group,noise\n")
        for i in ids:
            f.write(f"{i},{1 if i.startswith('b') else 0},{rng.gauss(0, 1):.6f}\n")
        f.write("nobody,1,0.5\n")  # a customer not in the log: ignored with a note
    return d


@pytest.fixture(scope="module")
def table(data, churn_exe):
    import subprocess

    p = subprocess.run([churn_exe, "features", data / "tx.csv", "--covariates",
                        data / "cov.csv", "--cutoff", CUTOFF, "-o", data / "cust.csv"],
                       capture_output=True, text=True, check=True)
    assert "1 row(s) of" in p.stderr and "'nobody'" in p.stderr
    return data / "cust.csv"


def read_csv(path_or_text):
    text = path_or_text if isinstance(path_or_text, str) else path_or_text.read_text()
    return list(csv.DictReader(io.StringIO(text)))


def test_features_appends_covariates_as_is(data, table):
    rows = read_csv(table)
    cov = {r["customer_id"]: r for r in read_csv(data / "cov.csv")}
    assert len(rows) == 4000
    header = list(rows[0].keys())
    # after the customer-table columns, before the declarations
    assert header[header.index("group") + 1] == "noise"
    assert header.index("noise") < header.index("time_unit_days")
    for r in rows:
        assert float(r["group"]) == float(cov[r["customer_id"]]["group"])
        assert float(r["noise"]) == float(cov[r["customer_id"]]["noise"])


def test_features_trans_life_select_columns(churn, data):
    out = churn("features", data / "tx.csv", "--covariates", data / "cov.csv",
                "--cutoff", CUTOFF, "--trans", "group", "--life", "group").stdout
    header = out.splitlines()[0].split(",")
    assert "group" in header and "noise" not in header
    p = churn("features", data / "tx.csv", "--covariates", data / "cov.csv", "--trans",
              "nosuch", check=False)
    assert p.returncode == 1 and "no column 'nosuch'" in p.stderr


def fit_json(churn, table, *args):
    p = churn("fit", "pnbd", table, "--json", *args)
    return json.loads(p.stdout)


def test_fit_recovers_rate_ratio(churn, table):
    f = fit_json(churn, table, "--trans", "group,noise", "--life", "noise")
    assert f["converged"]
    g = f["params"]["trans.group"]
    truth = math.log(ALPHA0 / ALPHA1)
    assert abs(g["estimate"] - truth) < 3 * g["std_error"], (g, truth)
    assert 0 < g["std_error"] < 0.1
    # the Wald interval of a coefficient is estimate +- 1.96 SE (coefficients have any sign)
    assert g["ci95_lower"] == pytest.approx(g["estimate"] - 1.959963984540054 * g["std_error"],
                                            rel=1e-9)
    for name in ("trans.noise", "life.noise"):  # no effect: 0 within 3 SE
        p = f["params"][name]
        assert abs(p["estimate"]) < 3 * p["std_error"], (name, p)
    # the base alpha is group 0's (z = 0), in days: 6 weeks = 42 days
    a = f["params"]["alpha"]
    assert abs(a["estimate"] - 7 * ALPHA0) < 3 * a["std_error"], a


def test_fit_prints_coefficients(churn, table):
    out = churn("fit", "pnbd", table, "--trans", "group").stdout
    line = [ln for ln in out.splitlines() if ln.startswith("trans.group")]
    assert len(line) == 1 and len(line[0].split()) == 5


def test_fit_options_checked(churn, table):
    p = churn("fit", "bgbb", table, "--trans", "group", check=False)
    assert p.returncode == 2 and "--trans and --life are for pnbd" in p.stderr
    p = churn("fit", "pnbd", table, "--shared", "group", check=False)
    assert p.returncode == 2 and "need --trans or --life" in p.stderr
    p = churn("fit", "pnbd", table, "--trans", "nosuch", check=False)
    assert p.returncode == 1 and "'nosuch'" in p.stderr
    # --shared: one coefficient for both processes
    f = fit_json(churn, table, "--trans", "group", "--life", "group", "--shared", "group",
                 "--l2-trans", "0.5")
    assert f["params"]["trans.group"]["estimate"] == f["params"]["life.group"]["estimate"]


def python_churn():
    """The Python binding on this build's library, or a skip naming why not."""
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


def test_predict_and_score_equal_python(churn, data, table):
    pych, pd = python_churn()
    model = data / "m.json"
    churn("fit", "pnbd", table, "--trans", "group,noise", "--life", "noise", "-o", model)
    t = pd.read_csv(table, index_col="customer_id", dtype={"customer_id": str})
    cov = pd.read_csv(data / "cov.csv", index_col="customer_id", dtype={"customer_id": str})
    m = pych.ParetoNBD().fit(t[["frequency", "recency", "T"]], covariates=cov,
                             trans=["group", "noise"], life=["noise"])
    ref = m.score(30, t[["frequency", "recency", "T"]], covariates=cov)

    pred = pd.read_csv(io.StringIO(churn("--digits", 17, "predict", model, table,
                                         "--horizon", 30).stdout),
                       index_col="customer_id", dtype={"customer_id": str})
    assert list(pred.index) == list(ref.index)
    # an independent fit (Python's own join and arrays): equal to the optimiser's tolerance
    assert pred["p_alive"].values == pytest.approx(ref["p_alive"].values, rel=1e-8, abs=1e-12)
    assert pred["expected_purchases"].values == pytest.approx(
        ref["expected_purchases"].values, rel=1e-8)
    # the saved model scored by Python: the same numbers
    same = pych.load_model(str(model)).score(30, t[["frequency", "recency", "T"]],
                                             covariates=cov)
    assert pred["expected_purchases"].values == pytest.approx(
        same["expected_purchases"].values, rel=1e-13)
    # churn score: the log and the covariate file, joined by the command
    p = churn("--digits", 17, "score", model, data / "tx.csv", "--cutoff", CUTOFF,
              "--horizon", 30, "--covariates", data / "cov.csv")
    sc = pd.read_csv(io.StringIO(p.stdout), index_col="customer_id",
                     dtype={"customer_id": str}).loc[pred.index]
    assert sc["p_alive"].values == pytest.approx(pred["p_alive"].values, rel=1e-15)
    assert sc["expected_purchases"].values == pytest.approx(
        pred["expected_purchases"].values, rel=1e-15)
    assert "customers_scored=4000" in p.stderr
    # the covariate column is what predict reads: setting it to 0 changes every group-1
    # score and no group-0 score
    t0 = t.copy()
    t0["group"] = 0.0
    t0.to_csv(data / "cust0.csv")
    pred0 = pd.read_csv(io.StringIO(churn("--digits", 17, "predict", model, data / "cust0.csv",
                                          "--horizon", 30, "--unit", "day").stdout),
                        index_col="customer_id", dtype={"customer_id": str})
    a = [i for i in pred.index if i.startswith("a")]
    b = [i for i in pred.index if i.startswith("b")]
    assert (pred0.loc[a, "expected_purchases"] == pred.loc[a, "expected_purchases"]).all()
    assert (pred0.loc[b, "expected_purchases"] != pred.loc[b, "expected_purchases"]).all()


def test_missing_covariate_row(churn, data):
    lines = (data / "cov.csv").read_text().splitlines()
    gone = lines[5].split(",")[0]
    (data / "cov_missing.csv").write_text("\n".join(lines[:5] + lines[6:]) + "\n")
    p = churn("features", data / "tx.csv", "--covariates", data / "cov_missing.csv",
              check=False)
    assert p.returncode == 1 and p.stdout == ""
    assert f"no row for customer '{gone}'" in p.stderr


def test_non_numeric_covariate(churn, data):
    lines = (data / "cov.csv").read_text().splitlines()
    f = lines[10].split(",")
    lines[10] = ",".join([f[0], "x1", f[2]])
    (data / "cov_text.csv").write_text("\n".join(lines) + "\n")
    p = churn("features", data / "tx.csv", "--covariates", data / "cov_text.csv",
              check=False)
    assert p.returncode == 1
    assert "line 11, column 'group': 'x1' is not a number" in p.stderr


def test_missing_covariate_value(churn, data, table):
    lines = (data / "cov.csv").read_text().splitlines()
    f = lines[7].split(",")
    lines[7] = ",".join([f[0], "", f[2]])
    (data / "cov_empty.csv").write_text("\n".join(lines) + "\n")
    p = churn("features", data / "tx.csv", "--covariates", data / "cov_empty.csv",
              check=False)
    assert p.returncode == 1
    assert f"line 8, column 'group': the value is missing (customer '{f[0]}'" in p.stderr
    # a customer table with a missing covariate: the fit names customer and line
    rows = table.read_text().splitlines()
    k = rows[0].split(",").index("group")
    cells = rows[5].split(",")
    cells[k] = ""
    rows[5] = ",".join(cells)
    (data / "cust_empty.csv").write_text("\n".join(rows) + "\n")
    p = churn("fit", "pnbd", data / "cust_empty.csv", "--trans", "group", check=False)
    assert p.returncode == 1
    assert f"(customer '{cells[0]}', line 6 of" in p.stderr and "'group'" in p.stderr


def test_duplicate_covariate_row(churn, data):
    lines = (data / "cov.csv").read_text().splitlines()
    (data / "cov_dup.csv").write_text("\n".join(lines + [lines[3]]) + "\n")
    p = churn("features", data / "tx.csv", "--covariates", data / "cov_dup.csv",
              check=False)
    assert p.returncode == 1
    assert f"customer '{lines[3].split(',')[0]}' has two rows (lines 4 and {len(lines) + 1})" \
        in p.stderr


def test_scoring_without_covariates_refused(churn, data, table):
    model = data / "m_err.json"
    churn("fit", "pnbd", table, "--trans", "group", "-o", model)
    lines = table.read_text().splitlines()
    head = lines[0].split(",")
    k = head.index("group")
    (data / "nogroup.csv").write_text(
        "\n".join(",".join(c for j, c in enumerate(ln.split(",")) if j != k) for ln in lines)
        + "\n")
    p = churn("predict", model, data / "nogroup.csv", "--horizon", 30, check=False)
    assert p.returncode == 1 and p.stdout == ""
    assert "no column 'group', a covariate of the model" in p.stderr
    p = churn("score", model, data / "tx.csv", "--cutoff", CUTOFF, "--horizon", 30,
              check=False)
    assert p.returncode == 2 and "give their values with --covariates FILE" in p.stderr
    p = churn("predict", model, data / "nogroup.csv", "--horizon", 30, "--interval", 0.9,
              check=False)
    assert p.returncode == 1 and "no column 'group', a covariate of the model" in p.stderr


def test_predict_interval_with_covariates_equals_python(churn, data, table):
    """churn predict --interval with a covariate model: the limits of
    churn.predict_interval(..., covariates=) on the same saved model (the command joins the
    covariates from the table, Python from its own frame), the point values churn predict's
    own, and each interval around its prediction."""
    pych, pd = python_churn()
    model = data / "m_iv.json"
    churn("fit", "pnbd", table, "--trans", "group", "--life", "noise", "-o", model)
    out = churn("--digits", 17, "predict", model, table, "--horizon", 30, "--interval", 0.8)
    got = pd.read_csv(io.StringIO(out.stdout), index_col="customer_id",
                      dtype={"customer_id": str})
    assert list(got.columns[-4:]) == ["p_alive_lo", "p_alive_hi", "expected_purchases_lo",
                                      "expected_purchases_hi"]
    plain = pd.read_csv(io.StringIO(churn("--digits", 17, "predict", model, table,
                                          "--horizon", 30).stdout),
                        index_col="customer_id", dtype={"customer_id": str})
    assert (got["expected_purchases"] == plain["expected_purchases"]).all()
    t = pd.read_csv(table, index_col="customer_id", dtype={"customer_id": str})
    cov = pd.read_csv(data / "cov.csv", index_col="customer_id", dtype={"customer_id": str})
    ref = pych.predict_interval(pych.load_model(str(model)), 30,
                                t[["frequency", "recency", "T"]], level=0.8, covariates=cov,
                                unit="day")
    for c in ["p_alive_lo", "p_alive_hi", "expected_purchases_lo", "expected_purchases_hi"]:
        assert got[c].values == pytest.approx(ref.loc[got.index, c].values, rel=1e-14)
    assert (got["expected_purchases_lo"] < got["expected_purchases"]).all()
    assert (got["expected_purchases"] < got["expected_purchases_hi"]).all()
    # churn score --interval: the same limits from the log and the covariate file
    p = churn("--digits", 17, "score", model, data / "tx.csv", "--cutoff", CUTOFF,
              "--horizon", 30, "--covariates", data / "cov.csv", "--interval", 0.8)
    sc = pd.read_csv(io.StringIO(p.stdout), index_col="customer_id",
                     dtype={"customer_id": str}).loc[got.index]
    for c in ["p_alive_lo", "p_alive_hi", "expected_purchases_lo", "expected_purchases_hi"]:
        assert sc[c].values == pytest.approx(got[c].values, rel=1e-9)
    # CLV intervals of a covariate model: churn.clv(..., covariates=, interval=)'s limits
    # (churn_clv_interval_covariates; its chain rule is checked in test_interval_cov.c and
    # bindings/python/tests/test_covariates.py)
    gg = data / "gg_iv.json"
    churn("fit", "gammagamma", table, "-o", gg)
    p = churn("--digits", 17, "score", model, data / "tx.csv", "--cutoff", CUTOFF,
              "--horizon", 30, "--covariates", data / "cov.csv", "--spend", gg, "--interval",
              0.8)
    sc = pd.read_csv(io.StringIO(p.stdout), index_col="customer_id",
                     dtype={"customer_id": str}).loc[got.index]
    ref = pych.clv(pych.load_model(str(model)), pych.load_model(str(gg)), t, covariates=cov,
                   period=30.4375, horizon=12, interval=0.8, unit="day")
    for c in ["clv", "clv_lo", "clv_hi", "expected_spend_lo", "expected_spend_hi",
              "value_at_risk", "value_at_risk_lo", "value_at_risk_hi"]:
        assert sc[c].values == pytest.approx(ref.loc[sc.index, c].values, rel=1e-9), c
    assert (sc["clv_lo"] < sc["clv"]).all() and (sc["clv"] < sc["clv_hi"]).all()
    # the spend model needs a covariance too: one given by its parameters has none
    gg0 = data / "gg0.json"
    gg0.write_text(pych.GammaGamma.from_params(p=6.0, q=4.0, gamma=15.0).to_json())
    p = churn("score", model, data / "tx.csv", "--cutoff", CUTOFF, "--horizon", 30,
              "--covariates", data / "cov.csv", "--spend", gg0, "--interval", 0.8, check=False)
    assert p.returncode == 1 and "--interval: " + str(gg0) in p.stderr


def test_report_with_covariates_equals_predict(churn, data, table):
    """churn report --covariates fits the same model from the log and values each customer
    with its own rates: its p_alive and expected purchases over the horizon (12 periods of
    30.4375 days = 365.25 days) equal churn predict's with the model churn fit gives."""
    model = data / "m_rep.json"
    churn("fit", "pnbd", table, "--trans", "group", "--life", "noise", "-o", model)
    pred = {r["customer_id"]: r for r in read_csv(
        churn("--digits", 17, "predict", model, table, "--horizon", 365.25).stdout)}
    out = data / "rep.csv"
    p = churn("report", data / "tx.csv", "--cutoff", CUTOFF, "--unit", "day", "--model", "pnbd",
              "--covariates", data / "cov.csv", "--trans", "group", "--life", "noise",
              "--json", "-o", out)
    summary = json.loads(p.stdout)
    fit = json.loads(churn("fit", "pnbd", table, "--trans", "group", "--life", "noise",
                           "--json").stdout)
    for name in ("alpha", "trans.group", "life.noise"):
        assert summary["model"]["params"][name]["estimate"] == pytest.approx(
            fit["params"][name]["estimate"], rel=1e-9)
    rows = read_csv(out)
    assert len(rows) == 4000
    for r in rows:
        q = pred[r["customer_id"]]
        assert float(r["p_alive"]) == pytest.approx(float(q["p_alive"]), rel=1e-9)
        assert float(r["expected_purchases"]) == pytest.approx(
            float(q["expected_purchases"]), rel=1e-9, abs=1e-12)
    p = churn("report", data / "tx.csv", "--covariates", data / "cov.csv", check=False)
    assert p.returncode == 2 and "--covariates needs --trans" in p.stderr


def test_report_interval_with_covariates_equals_python(churn, data, table):
    """churn report --covariates --interval: every customer's CLV, spend and value-at-risk
    limits equal churn.clv(..., covariates=, interval=) of the Python binding with the
    models churn fit gives on the same table (the report fits its own: estimates agree to
    the optimiser's tolerance, hence 1e-6)."""
    pych, pd = python_churn()
    out = data / "rep_iv.csv"
    churn("--digits", 17, "report", data / "tx.csv", "--cutoff", CUTOFF, "--unit", "day",
          "--model", "pnbd", "--covariates", data / "cov.csv", "--trans", "group", "--life",
          "noise", "--interval", 0.9, "-o", out)
    got = pd.read_csv(out, index_col="customer_id", dtype={"customer_id": str})
    model, gg = data / "m_repiv.json", data / "gg_repiv.json"
    churn("fit", "pnbd", table, "--trans", "group", "--life", "noise", "-o", model)
    churn("fit", "gammagamma", table, "-o", gg)
    t = pd.read_csv(table, index_col="customer_id", dtype={"customer_id": str})
    cov = pd.read_csv(data / "cov.csv", index_col="customer_id", dtype={"customer_id": str})
    ref = pych.clv(pych.load_model(str(model)), pych.load_model(str(gg)), t, covariates=cov,
                   period=30.4375, horizon=12, interval=0.9, unit="day").loc[got.index]
    assert len(got) == 4000
    for c in ["clv", "p_alive_lo", "p_alive_hi", "expected_purchases_lo",
              "expected_purchases_hi", "expected_spend_lo", "expected_spend_hi", "clv_lo",
              "clv_hi", "value_at_risk_lo", "value_at_risk_hi"]:
        assert got[c].values == pytest.approx(ref[c].values, rel=1e-6, abs=1e-12), c
    assert (got.clv_lo < got.clv).all() and (got.clv < got.clv_hi).all()


@pytest.mark.parametrize("family,cls", [("bgnbd", "BGNBD"), ("mbgnbd", "MBGNBD")])
def test_bg_families_equal_python(churn, data, table, family, cls):
    """BG/NBD and MBG/NBD with covariates: the command's fit and scores equal the Python
    binding's (its own join of the covariate file and its own arrays)."""
    pych, pd = python_churn()
    model = data / f"m_{family}.json"
    f = json.loads(churn("fit", family, table, "--trans", "group", "--life", "group", "--json",
                         "-o", model).stdout)
    t = pd.read_csv(table, index_col="customer_id", dtype={"customer_id": str})
    cov = pd.read_csv(data / "cov.csv", index_col="customer_id", dtype={"customer_id": str})
    base = t[["frequency", "recency", "T"]]
    m = getattr(pych, cls)().fit(base, covariates=cov, trans=["group"], life=["group"])
    for name, v in m.params_.items():
        assert f["params"][name]["estimate"] == pytest.approx(v, rel=1e-7), name
    ref = m.score(30, base, covariates=cov)
    pred = pd.read_csv(io.StringIO(churn("--digits", 17, "predict", model, table,
                                         "--horizon", 30).stdout),
                       index_col="customer_id", dtype={"customer_id": str})
    assert pred["p_alive"].values == pytest.approx(ref["p_alive"].values, rel=1e-7, abs=1e-12)
    assert pred["expected_purchases"].values == pytest.approx(
        ref["expected_purchases"].values, rel=1e-7, abs=1e-12)


def own_rates(params, z_trans, z_life):
    """Pareto/NBD at one customer's rates (docs/models/covariates.md):
    alpha_i = alpha exp(-g_t z_t), beta_i = beta exp(-g_l z_l)."""
    return (params["r"], params["alpha"] * math.exp(-params["trans.group"] * z_trans),
            params["s"], params["beta"] * math.exp(-params["life.noise"] * z_life))


def test_dert_and_clv_at_own_rates(churn, data, table):
    """predict --dert and score --spend of a covariate model: each customer's DERT and CLV
    are the plain Pareto/NBD's at its own rates, written here from the parametrisation and
    computed by the Python binding's plain models."""
    pych, pd = python_churn()
    model = data / "m_dert.json"
    f = json.loads(churn("fit", "pnbd", table, "--trans", "group", "--life", "noise", "--json",
                         "-o", model).stdout)
    est = {k: v["estimate"] for k, v in f["params"].items()}
    delta = 0.0005
    pred = pd.read_csv(io.StringIO(churn("--digits", 17, "predict", model, table, "--horizon",
                                         30, "--dert", delta).stdout),
                       index_col="customer_id", dtype={"customer_id": str})
    t = pd.read_csv(table, index_col="customer_id", dtype={"customer_id": str})
    gg = data / "gg.json"
    churn("fit", "gammagamma", table, "-o", gg)
    spend = pych.load_model(str(gg))
    sc = pd.read_csv(io.StringIO(churn("--digits", 17, "score", model, data / "tx.csv",
                                       "--cutoff", CUTOFF, "--horizon", 30, "--spend", gg,
                                       "--covariates", data / "cov.csv").stdout),
                     index_col="customer_id", dtype={"customer_id": str})
    sample = list(t.index[::97])  # both groups, every kind of history
    for cid in sample:
        row = t.loc[[cid]]
        plain = pych.ParetoNBD.from_params(*own_rates(est, row["group"].iloc[0],
                                                      row["noise"].iloc[0]), unit="day")
        d = pych.dert(plain, delta, frequency=row["frequency"].values,
                      recency=row["recency"].values, T=row["T"].values, unit="day")
        assert pred.loc[cid, "dert"] == pytest.approx(float(d[0]), rel=1e-10), cid
        c = pych.clv(plain, spend, frequency=row["frequency"].values,
                     recency=row["recency"].values, T=row["T"].values,
                     monetary_value=row["monetary_value"].values, unit="day")
        # 1e-8: the table's monetary_value has 10 digits, score's own is exact
        assert sc.loc[cid, "clv"] == pytest.approx(float(c["clv"].iloc[0]), rel=1e-8), cid
