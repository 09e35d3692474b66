"""`churn fit cox|weibull|...`, `churn km` and `churn predict` for survival models,
against R 4.2.2 / survival 3.5.3 output in ../shared/data/survival."""
import csv
import json
import math
import os

import pytest


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def num(s):
    return float("nan") if s in ("", "NA") else float(s)


def close(a, b, rtol):
    return abs(a - b) <= rtol * max(abs(b), 1e-300)


@pytest.fixture
def surv_dir(shared_data):
    d = os.path.join(shared_data, "survival")
    if not os.path.isdir(d):
        pytest.skip("../shared/data/survival is absent")
    return d


def write_customers(src, dst, extra=None):
    """Copy an R lung file into a customer table: customer_id column, event = status - 1."""
    rows = read_csv(src)
    names = ["customer_id"] + list(rows[0].keys()) + ["event"]
    with open(dst, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(names)
        for i, r in enumerate(rows):
            vals = [f"c{i + 1}"] + [r[k] for k in rows[0].keys()]
            vals.append(str(int(float(r["status"])) - 1))
            w.writerow(vals)
    return dst


@pytest.fixture
def lung_cc(surv_dir, tmp_path):
    return write_customers(os.path.join(surv_dir, "lung_cox_cc.csv"), tmp_path / "lung_cc.csv")


@pytest.fixture
def lung(surv_dir, tmp_path):
    return write_customers(os.path.join(surv_dir, "lung.csv"), tmp_path / "lung.csv")


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_fit_cox_matches_r(churn, lung_cc, surv_dir, tmp_path, ties):
    model = tmp_path / "cox.json"
    p = churn("fit", "cox", lung_cc, "--duration", "time", "--event", "event",
              "--features", "age,sex,ph.ecog", "--ties", ties, "--json", "-o", model)
    fit = json.loads(p.stdout)
    assert fit["family"] == "cox" and fit["ties"] == ties
    coefs = {c["term"]: c for c in fit["coefficients"]}
    for r in read_csv(os.path.join(surv_dir, "cox_lung_coef.csv")):
        if r["ties"] != ties:
            continue
        c = coefs[r["term"]]
        assert close(c["coef"], num(r["coef"]), 1e-6)
        assert close(c["se"], num(r["se"]), 1e-6)
        assert close(c["exp_coef"], num(r["exp_coef"]), 1e-6)
        assert close(c["p"], num(r["p"]), 1e-5)
    ref = [r for r in read_csv(os.path.join(surv_dir, "cox_lung_fit.csv")) if r["ties"] == ties][0]
    assert close(fit["loglik"], num(ref["loglik"]), 1e-9)
    assert close(fit["loglik_null"], num(ref["loglik_null"]), 1e-9)
    assert close(fit["tests"]["likelihood_ratio"]["statistic"], num(ref["lr_test"]), 1e-6)
    assert close(fit["tests"]["wald"]["statistic"], num(ref["wald_test"]), 1e-6)
    assert close(fit["tests"]["score"]["statistic"], num(ref["score_test"]), 1e-6)
    assert close(fit["concordance"], num(ref["concordance"]), 1e-6)
    assert fit["events"] == num(ref["nevent"]) and fit["n"] == num(ref["n"])
    assert fit["iterations"] == int(ref["iter"]) and fit["converged"]
    saved = json.loads(model.read_text())
    assert saved["family"] == "cox" and saved["features"] == ["age", "sex", "ph.ecog"]


def test_fit_cox_text_summary(churn, lung_cc):
    p = churn("fit", "cox", lung_cc, "--duration", "time", "--event", "event",
              "--features", "age,sex,ph.ecog")
    assert "Efron" in p.stdout and "concordance 0.637135" in p.stdout
    assert "likelihood ratio test  30.5007 on 3 df" in p.stdout


@pytest.mark.parametrize("dist", ["weibull", "exponential", "loglogistic", "lognormal"])
def test_fit_aft_matches_survreg(churn, lung_cc, surv_dir, tmp_path, dist):
    p = churn("fit", dist, lung_cc, "--duration", "time", "--event", "event",
              "--features", "age,sex,ph.ecog", "--json", "-o", tmp_path / "m.json")
    fit = json.loads(p.stdout)
    coefs = {c["term"]: c for c in fit["coefficients"]}
    ref = [r for r in read_csv(os.path.join(surv_dir, "survreg_lung.csv")) if r["dist"] == dist]
    assert len(ref) >= 4
    for r in ref:
        c = coefs[r["term"]]
        assert close(c["coef"], num(r["value"]), 1e-6), r["term"]
        assert close(c["se"], num(r["se"]), 1e-6), r["term"]
    assert close(fit["scale"], num(ref[0]["scale"]), 1e-6)
    assert close(fit["loglik"], num(ref[0]["loglik"]), 1e-9)
    assert close(fit["loglik_null"], num(ref[0]["loglik_intercept_only"]), 1e-9)


def test_km_overall_matches_survfit(churn, lung, surv_dir, tmp_path):
    out = tmp_path / "km.csv"
    p = churn("km", lung, "--duration", "time", "--event", "event", "-o", out)
    got = read_csv(out)
    ref = read_csv(os.path.join(surv_dir, "km_lung.csv"))
    assert len(got) == len(ref)
    for g, r in zip(got, ref):
        assert num(g["time"]) == num(r["time"])
        assert num(g["n_risk"]) == num(r["n.risk"])
        assert num(g["n_event"]) == num(r["n.event"])
        assert num(g["n_censor"]) == num(r["n.censor"])
        # the CSV carries 10 significant digits
        for a, b in [("survival", "surv"), ("std_err", "std.err"), ("lower", "lower"),
                     ("upper", "upper"), ("cumhaz", "cumhaz")]:
            assert close(num(g[a]), num(r[b]), 1e-9 + 6e-10), (g["time"], a)
    # the summary on stdout: median 310 (285, 363) as km_lung_summary.txt
    line = [l for l in p.stdout.splitlines() if l.startswith("all")][0].split()
    assert [float(v) for v in line[3:6]] == [310, 285, 363]


def test_km_by_sex_json_and_logrank(churn, lung, surv_dir):
    p = churn("km", lung, "--duration", "time", "--event", "event", "--by", "sex", "--json")
    doc = json.loads(p.stdout)
    assert [g["group"] for g in doc["groups"]] == [1, 2]
    ref = read_csv(os.path.join(surv_dir, "km_lung_by_sex.csv"))
    for g in doc["groups"]:
        rows = [r for r in ref if r["strata"] == f"sex={g['group']}"]
        c = g["curve"]
        assert len(c["time"]) == len(rows)
        for k, r in enumerate(rows):
            assert c["time"][k] == num(r["time"])
            assert c["n_risk"][k] == num(r["n.risk"])
            for a, b in [("survival", "surv"), ("std_err", "std.err"), ("lower", "lower"),
                         ("upper", "upper")]:
                assert close(c[a][k], num(r[b]), 1e-9), (g["group"], k, a)
    # survdiff: chisq 10.326741954885632 on 1 df; expected 91.58173903 / 73.41826097
    assert close(doc["logrank"]["chisq"], 10.326741954885632, 1e-12)
    assert doc["logrank"]["df"] == 1
    assert close(doc["logrank"]["p"], 0.00131116452, 1e-8)
    assert close(doc["groups"][0]["expected"], 91.58173903, 1e-9)
    assert doc["groups"][0]["events"] == 112 and doc["groups"][1]["events"] == 53


def test_km_loglog(churn, lung, surv_dir):
    p = churn("km", lung, "--duration", "time", "--event", "event", "--conf-type", "log-log",
              "--json")
    c = json.loads(p.stdout)["groups"][0]["curve"]
    ref = read_csv(os.path.join(surv_dir, "km_lung_loglog_ci.csv"))
    for k, r in enumerate(ref):
        assert close(c["lower"][k], num(r["lower"]), 1e-9)
        assert close(c["upper"][k], num(r["upper"]), 1e-9)


def test_predict_cox_matches_survfit(churn, lung_cc, surv_dir, tmp_path):
    model = tmp_path / "cox.json"
    churn("fit", "cox", lung_cc, "--duration", "time", "--event", "event",
          "--features", "age,sex,ph.ecog", "-o", model)
    cust = tmp_path / "new.csv"
    cust.write_text("customer_id,age,sex,ph.ecog\nA,60,1,1\nB,70,2,0\n")
    out = tmp_path / "scores.csv"
    churn("predict", model, cust, "--horizon", 365, "-o", out)
    rows = read_csv(out)
    assert list(rows[0].keys()) == ["customer_id", "p_churn", "survival", "linear_predictor"]
    ref = read_csv(os.path.join(surv_dir, "cox_lung_efron_survfit_age60_sex1_ecog1.csv"))
    s365 = [num(r["surv"]) for r in ref if num(r["time"]) <= 365][-1]
    assert rows[0]["customer_id"] == "A"
    assert close(num(rows[0]["survival"]), s365, 1e-8)
    assert close(num(rows[0]["p_churn"]), 1 - s365, 1e-8)
    for r in rows:
        assert abs(num(r["p_churn"]) + num(r["survival"]) - 1) < 1e-9
    # lp centred at the covariate means (R's predict(type = "lp"))
    coef = {r["term"]: num(r["coef"]) for r in read_csv(os.path.join(surv_dir, "cox_lung_coef.csv"))
            if r["ties"] == "efron"}
    data = read_csv(lung_cc)
    means = {k: sum(float(d[k]) for d in data) / len(data) for k in coef}
    lp = sum(coef[k] * ({"age": 70, "sex": 2, "ph.ecog": 0}[k] - means[k]) for k in coef)
    assert close(num(rows[1]["linear_predictor"]), lp, 1e-7)


def test_predict_aft(churn, lung_cc, surv_dir, tmp_path):
    model = tmp_path / "wb.json"
    churn("fit", "weibull", lung_cc, "--duration", "time", "--event", "event",
          "--features", "age,sex,ph.ecog", "-o", model)
    cust = tmp_path / "new.csv"
    cust.write_text("customer_id,age,sex,ph.ecog\nA,60,1,1\n")
    p = churn("predict", model, cust, "--horizon", 200)
    row = list(csv.DictReader(p.stdout.splitlines()))[0]
    ref = {r["term"]: num(r["value"]) for r in read_csv(os.path.join(surv_dir, "survreg_lung.csv"))
           if r["dist"] == "weibull"}
    lp = ref["(Intercept)"] + 60 * ref["age"] + ref["sex"] + ref["ph.ecog"]
    scale = math.exp(ref["Log(scale)"])
    # Weibull: S(t) = exp(-(t / e^lp)^(1/scale)); median e^lp (log 2)^scale
    assert close(num(row["linear_predictor"]), lp, 1e-7)
    assert close(num(row["survival"]), math.exp(-(200 / math.exp(lp)) ** (1 / scale)), 1e-6)
    assert close(num(row["median"]), math.exp(lp) * math.log(2) ** scale, 1e-6)
    assert num(row["mean_residual_life"]) > 0


def test_errors_name_the_row_and_column(churn, lung_cc, tmp_path, surv_dir):
    # R's 1/2 status coding is rejected, naming the customer and the column
    p = churn("fit", "cox", lung_cc, "--duration", "time", "--event", "status",
              "--features", "age", check=False)
    assert p.returncode == 1
    assert "'status'" in p.stderr and "c1" in p.stderr
    # missing values: error naming the row, or skipped with --drop-missing
    lung_full = write_customers(os.path.join(surv_dir, "lung.csv"), tmp_path / "full.csv")
    p = churn("fit", "cox", lung_full, "--duration", "time", "--event", "event",
              "--features", "age,ph.ecog", check=False)
    assert p.returncode == 1 and "'ph.ecog'" in p.stderr
    p = churn("fit", "cox", lung_full, "--duration", "time", "--event", "event",
              "--features", "age,sex,ph.ecog", "--drop-missing", "--json")
    assert "skipped 1 row" in p.stderr
    assert json.loads(p.stdout)["n"] == 227
    # negative duration
    bad = tmp_path / "bad.csv"
    bad.write_text("customer_id,t,e,x\na,1,1,0\nb,-2,0,1\nc,3,1,1\n")
    p = churn("km", bad, "--duration", "t", "--event", "e", check=False)
    assert p.returncode == 1 and "'t'" in p.stderr and "'b'" in p.stderr
    # all censored: KM is fine (S = 1, median not reached), Cox refuses
    cens = tmp_path / "cens.csv"
    cens.write_text("customer_id,t,e,x\na,1,0,0\nb,2,0,1\nc,3,0,1\n")
    p = churn("km", cens, "--duration", "t", "--event", "e", "--json")
    g = json.loads(p.stdout)["groups"][0]
    assert g["median"] == "inf" and g["curve"]["survival"] == [1.0, 1.0, 1.0]
    p = churn("fit", "cox", cens, "--duration", "t", "--event", "e", "--features", "x",
              check=False)
    assert p.returncode == 1 and "no events" in p.stderr
    # usage errors
    p = churn("fit", "cox", lung_cc, "--duration", "time", check=False)
    assert p.returncode == 2
    p = churn("km", lung_cc, "--duration", "time", "--event", "event", "--bogus", check=False)
    assert p.returncode == 2
    p = churn("fit", "weibull", lung_cc, "--duration", "time", "--event", "event",
              "--ties", "breslow", check=False)
    assert p.returncode == 2


def test_help(churn):
    for args in (["km", "--help"], ["fit", "cox", "--help"], ["fit", "weibull", "--help"]):
        p = churn(*args)
        assert p.returncode == 0 and "usage" in p.stdout


def test_fit_cox_ridge_and_robust(churn, lung_cc, surv_dir):
    extra = read_csv(os.path.join(surv_dir, "cox_lung_extra.csv"))
    p = churn("fit", "cox", lung_cc, "--duration", "time", "--event", "event",
              "--features", "age,sex,ph.ecog", "--l2", 1, "--json")
    fit = json.loads(p.stdout)
    ridge = {r["term"]: r for r in extra if r["model"].startswith("efron ridge(theta=1,scale=FALSE)")}
    for c in fit["coefficients"]:
        r = ridge[f"ridge({c['term']})"]
        assert close(c["coef"], num(r["coef"]), 1e-6) and close(c["se"], num(r["se"]), 1e-6)
    assert close(fit["loglik"], num(next(iter(ridge.values()))["loglik"]), 1e-9)
    p = churn("fit", "cox", lung_cc, "--duration", "time", "--event", "event",
              "--features", "age,sex,ph.ecog", "--robust", "--json")
    fit = json.loads(p.stdout)
    assert fit["robust_se"] is True
    rob = {r["term"]: r for r in extra if r["model"] == "efron+cluster(id) robust"}
    for c in fit["coefficients"]:
        assert close(c["se"], num(rob[c["term"]]["robust_se"]), 1e-6)
