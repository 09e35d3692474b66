"""`churn fit ggomnbd --trans/--life` and scoring a Gamma-Gompertz/NBD covariate model with
`churn predict`, `churn score --covariates` and `churn report --model ggomnbd --covariates`
(issue 23; docs/models/covariates.md).

The truth is known by construction: two groups simulated by `churn simulate --model ggomnbd`
that differ only in the purchase-rate scale alpha (group 0: 6 weeks, group 1: 3 weeks),
marked by a 0/1 covariate; alpha_i = alpha exp(-g z_i) then has g = log 2 exactly, and the
life coefficient of the same column is 0. The Gompertz lifetime (b = 0.02 per week over
two years) is clearly not the Pareto/NBD limit, so b and beta are identified. The scores
are compared with the Python binding's fit of the same table (pandas joins the
covariates, not the command), and DERT with the plain model's at each customer's rates."""
import csv
import io
import json
import math
import os
import random
import sys

import pytest

CUTOFF = "1998-12-29"


@pytest.fixture(scope="module")
def data(tmp_path_factory, churn_exe):
    import subprocess

    d = tmp_path_factory.mktemp("covgg")

    def run(*args):
        subprocess.run([churn_exe, *map(str, args)], check=True, capture_output=True)

    common = ["--model", "ggomnbd", "--customers", 1500, "--r", 1, "--s", 0.6, "--beta", 0.3,
              "--b", 0.02, "--weeks", 104, "--acquisition-weeks", 26]
    run("simulate", *common, "--seed", 1, "--alpha", 6, "--id-prefix", "a", "-o", d / "a.csv")
    run("simulate", *common, "--seed", 2, "--alpha", 3, "--id-prefix", "b", "-o", d / "b.csv")
    a = (d / "a.csv").read_text().splitlines()
    b = (d / "b.csv").read_text().splitlines()
    (d / "tx.csv").write_text("\n".join(a + b[1:]) + "\n")
    ids = sorted({row["customer_id"] for row in csv.DictReader(open(d / "tx.csv"))})
    rng = random.Random(7)
    with open(d / "cov.csv", "w") as f:
        f.write("customer_id,group,noise\n")
        for i in ids:
            f.write(f"{i},{1 if i.startswith('b') else 0},{rng.gauss(0, 1):.6f}\n")
    # 17 digits: recency and T in weeks are fractions, which churn score computes exactly
    subprocess.run([churn_exe, "--digits", "17", "features", d / "tx.csv", "--covariates",
                    d / "cov.csv",
                    "--cutoff", CUTOFF, "--unit", "week", "-o", d / "cust.csv"],
                   capture_output=True, check=True)
    return d


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


def test_fit_recovers_the_rate_ratio_and_scores_equal_python(churn, data):
    pych, pd = python_churn()
    table, model = data / "cust.csv", data / "m.json"
    f = json.loads(churn("fit", "ggomnbd", table, "--trans", "group", "--life", "group",
                         "--json", "-o", model).stdout)
    g, se = f["params"]["trans.group"]["estimate"], f["params"]["trans.group"]["std_error"]
    assert abs(g - math.log(2)) < 3 * se, (g, se)
    gl, sel = f["params"]["life.group"]["estimate"], f["params"]["life.group"]["std_error"]
    assert abs(gl) < 3 * sel, (gl, sel)
    assert list(f["params"])[:5] == ["r", "alpha", "b", "s", "beta"]
    assert json.loads(model.read_text())["format_version"] == 2

    t = pd.read_csv(table, index_col="customer_id", dtype={"customer_id": str})
    cov = pd.read_csv(data / "cov.csv", index_col="customer_id", dtype={"customer_id": str})
    base = t[["frequency", "recency", "T"]]
    m = pych.GGompertzNBD().fit(base, covariates=cov, trans=["group"], life=["group"])
    for name, v in m.params_.items():
        assert f["params"][name]["estimate"] == pytest.approx(v, rel=1e-7), name
    ref = m.score(13, base, covariates=cov)
    pred = pd.read_csv(io.StringIO(churn("--digits", 17, "predict", model, table,
                                         "--horizon", 13).stdout),
                       index_col="customer_id", dtype={"customer_id": str})
    assert list(pred.index) == list(ref.index)
    assert pred["p_alive"].values == pytest.approx(ref["p_alive"].values, rel=1e-7, abs=1e-12)
    assert pred["expected_purchases"].values == pytest.approx(
        ref["expected_purchases"].values, rel=1e-7, abs=1e-12)
    # churn score: the log and the covariate file, joined by the command
    p = churn("--digits", 17, "score", model, data / "tx.csv", "--cutoff", CUTOFF,
              "--horizon", 13, "--covariates", data / "cov.csv")
    sc = pd.read_csv(io.StringIO(p.stdout), index_col="customer_id",
                     dtype={"customer_id": str}).loc[pred.index]
    assert sc["p_alive"].values == pytest.approx(pred["p_alive"].values, rel=1e-12)
    assert sc["expected_purchases"].values == pytest.approx(
        pred["expected_purchases"].values, rel=1e-12)
    # scoring without the covariates is refused, as for the other families
    p = churn("score", model, data / "tx.csv", "--cutoff", CUTOFF, "--horizon", 13,
              check=False)
    assert p.returncode == 2 and "give their values with --covariates FILE" in p.stderr


def test_dert_at_own_rates_and_report(churn, data):
    """predict --dert: each customer's DERT is the plain Gamma-Gompertz/NBD's at its own
    alpha_i = alpha exp(-g_t z), beta_i = beta exp(-g_l z) (Python's plain model); churn
    report --model ggomnbd --covariates fits the same model from the log and gives
    predict's P(alive)."""
    pych, pd = python_churn()
    table, model = data / "cust.csv", data / "m_dert.json"
    f = json.loads(churn("fit", "ggomnbd", table, "--trans", "group", "--life", "noise",
                         "--json", "-o", model).stdout)
    est = {k: v["estimate"] for k, v in f["params"].items()}
    delta = 0.01
    pred = pd.read_csv(io.StringIO(churn("--digits", 17, "predict", model, table, "--horizon",
                                         52, "--dert", delta).stdout),
                       index_col="customer_id", dtype={"customer_id": str})
    t = pd.read_csv(table, index_col="customer_id", dtype={"customer_id": str})
    for cid in list(t.index[::251]):
        row = t.loc[[cid]]
        plain = pych.GGompertzNBD.from_params(
            r=est["r"], alpha=est["alpha"] * math.exp(-est["trans.group"] * row["group"].iloc[0]),
            b=est["b"], s=est["s"],
            beta=est["beta"] * math.exp(-est["life.noise"] * row["noise"].iloc[0]), unit="week")
        d = pych.dert(plain, delta, frequency=row["frequency"].values,
                      recency=row["recency"].values, T=row["T"].values, unit="week")
        assert pred.loc[cid, "dert"] == pytest.approx(float(d[0]), rel=1e-10), cid
        one = plain.score(52, row[["frequency", "recency", "T"]])
        assert pred.loc[cid, "p_alive"] == pytest.approx(one["p_alive"].iloc[0], rel=1e-12)

    out = data / "rep.csv"
    p = churn("report", data / "tx.csv", "--cutoff", CUTOFF, "--unit", "week", "--model",
              "ggomnbd", "--covariates", data / "cov.csv", "--trans", "group", "--life",
              "noise", "--json", "-o", out)
    summary = json.loads(p.stdout)
    for name in ("alpha", "b", "trans.group", "life.noise"):
        assert summary["model"]["params"][name]["estimate"] == pytest.approx(est[name],
                                                                             rel=1e-9)
    rows = {r["customer_id"]: r for r in csv.DictReader(open(out))}
    assert len(rows) == len(t)
    for cid in list(t.index[::97]):
        assert float(rows[cid]["p_alive"]) == pytest.approx(pred.loc[cid, "p_alive"], rel=1e-9)


def test_other_families_still_refused(churn, data):
    p = churn("fit", "bgbb", data / "cust.csv", "--trans", "group", check=False)
    assert p.returncode == 2
    assert "--trans and --life are for pnbd, bgnbd, mbgnbd, ggomnbd and mbgcnbdk models" \
        in p.stderr
    assert "'bgbb'" in p.stderr
    p = churn("report", data / "tx.csv", "--model", "bgbb", check=False)
    assert p.returncode == 2 and "not bgnbd, mbgnbd, pnbd, ggomnbd or mbgcnbdk" in p.stderr
