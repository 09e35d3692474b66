"""`churn fit logit` and `churn predict` with logit models, against R glm/glmnet and
scikit-learn references in ../shared/data/logistic."""
import csv
import json
import math
import os

import pytest

BC_COLS = [
    "mean_radius", "mean_texture", "mean_perimeter", "mean_area", "mean_smoothness",
    "mean_compactness", "mean_concavity", "mean_concave_points", "mean_symmetry",
    "mean_fractal_dimension", "radius_error", "texture_error", "perimeter_error", "area_error",
    "smoothness_error", "compactness_error", "concavity_error", "concave_points_error",
    "symmetry_error", "fractal_dimension_error", "worst_radius", "worst_texture",
    "worst_perimeter", "worst_area", "worst_smoothness", "worst_compactness", "worst_concavity",
    "worst_concave_points", "worst_symmetry", "worst_fractal_dimension"]


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def write_customers(path, rows, id_from=None):
    """Write rows (dicts) with a customer_id column first."""
    keys = [k for k in rows[0] if k != id_from]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer_id"] + keys)
        for i, r in enumerate(rows):
            w.writerow([r[id_from] if id_from else f"c{i + 1}"] + [r[k] for k in keys])
    return path


def glm_ref(shared_data, fname, model):
    rows = [r for r in read_csv(os.path.join(shared_data, "logistic", fname))
            if r["model"] == model]
    assert rows, model
    return rows


def close(a, b, rtol):
    return abs(a - b) <= rtol * abs(b)


@pytest.fixture
def mtcars(shared_data, tmp_path):
    rows = read_csv(os.path.join(shared_data, "logistic", "mtcars.csv"))
    return write_customers(tmp_path / "mtcars.csv", rows, id_from="model")


def fit_json(churn, *args):
    return json.loads(churn("fit", "logit", *args, "--json").stdout)


def check_glm(fit, ref):
    terms = {c["term"]: c for c in fit["coefficients"]}
    for r in ref:
        t = terms[r["term"]]
        assert close(t["estimate"], float(r["coef"]), 1e-6), r["term"]
        assert close(t["std_error"], float(r["se"]), 1e-6), r["term"]
        assert close(t["z"], float(r["z"]), 1e-6)
        assert close(t["p_value"], float(r["p"]), 1e-5)
        assert close(t["odds_ratio"], math.exp(float(r["coef"])), 1e-6)
    assert abs(fit["deviance"] - float(ref[0]["deviance"])) <= 1e-8
    assert abs(fit["null_deviance"] - float(ref[0]["null_deviance"])) <= 1e-8
    assert abs(fit["aic"] - float(ref[0]["aic"])) <= 1e-8
    assert fit["df_residual"] == float(ref[0]["df_resid"])
    assert fit["converged"]


def test_glm_mtcars(churn, shared_data, mtcars):
    fit = fit_json(churn, mtcars, "--label", "am", "--features", "hp,wt")
    check_glm(fit, glm_ref(shared_data, "glm_binomial.csv", "mtcars: am ~ hp + wt"))
    # the printed table names every term and reports the deviance
    out = churn("fit", "logit", mtcars, "--label", "am", "--features", "hp,wt").stdout
    assert "(Intercept)" in out and "hp" in out and "wt" in out
    assert "Residual deviance: 10.059110" in out and "AIC: 16.059110" in out


def test_glm_weighted(churn, shared_data, mtcars, tmp_path):
    ref = glm_ref(shared_data, "glm_binomial_weighted.csv",
                  "mtcars weighted (balanced class weights): am ~ hp + wt")
    check_glm(fit_json(churn, mtcars, "--label", "am", "--features", "hp,wt",
                       "--class-weight", "balanced"), ref)
    # the same weights as a column
    rows = read_csv(mtcars)
    n, n1 = len(rows), sum(r["am"] == "1" for r in rows)
    for r in rows:
        r["w"] = repr(n / (2 * n1) if r["am"] == "1" else n / (2 * (n - n1)))
    path = write_customers(tmp_path / "weighted.csv", rows, id_from="customer_id")
    check_glm(fit_json(churn, path, "--label", "am", "--features", "hp,wt", "--weights", "w"),
              ref)


@pytest.fixture
def breast(shared_data, tmp_path):
    rows = read_csv(os.path.join(shared_data, "logistic", "breast_cancer_standardized.csv"))
    return write_customers(tmp_path / "bc.csv", rows), len(rows)


def test_sklearn_l2_exact(churn, shared_data, breast):
    path, n = breast
    with open(os.path.join(shared_data, "logistic", "logit_sklearn_statsmodels.json")) as f:
        exact = json.load(f)["breast_cancer_sklearn"]["fits"]["l2_C1_EXACT_newton"]
    fit = fit_json(churn, path, "--label", "target", "--penalty", "l2", "--lambda",
                   repr(1.0 / n))  # C = 1 -> lambda = 1/(n C)
    terms = {c["term"]: c["estimate"] for c in fit["coefficients"]}
    assert abs(terms["(Intercept)"] - exact["intercept"]) <= 1e-6
    for k, v in exact["coef"].items():
        assert abs(terms[k] - v) <= 1e-6, k
    assert fit["aic"] is None and all(c["std_error"] is None for c in fit["coefficients"])


@pytest.mark.parametrize("name", ["l1_C0.1", "elasticnet_C0.1_l1ratio0.5", "l2_C0.1"])
def test_glmnet(churn, shared_data, breast, name):
    path, _ = breast
    ref = [r for r in read_csv(os.path.join(shared_data, "logistic", "glmnet_breast_cancer.csv"))
           if r["fit"] == name]
    lam, alpha = ref[0]["glmnet_lambda"], float(ref[0]["alpha"])
    pen = {0.0: ["--penalty", "l2"], 1.0: ["--penalty", "l1"]}.get(
        alpha, ["--penalty", "elasticnet", "--alpha", repr(alpha)])
    fit = fit_json(churn, path, "--label", "target", "--features", ",".join(BC_COLS), *pen,
                   "--lambda", lam)
    terms = {c["term"]: c["estimate"] for c in fit["coefficients"]}
    for r in ref:
        assert abs(terms[r["term"]] - float(r["coef"])) <= 1e-5, r["term"]
        assert (terms[r["term"]] == 0) == (float(r["coef"]) == 0), r["term"]


# ---- tests that need no reference data -------------------------------------------------

def synthetic(path, n=400, seed=3):
    """A small churn table with known structure: recency raises churn, frequency lowers it."""
    import random
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        rec = rnd.uniform(0, 100)
        freq = rnd.randint(0, 12)
        spend = rnd.lognormvariate(3, 0.5)
        eta = -1 + 0.04 * rec - 0.3 * freq
        y = 1 if rnd.random() < 1 / (1 + math.exp(-eta)) else 0
        rows.append({"customer_id": f"C{i:04d}", "recency": rec, "frequency": freq,
                     "spend": spend, "churned": y})
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def test_save_predict_explain(churn, tmp_path):
    data = synthetic(tmp_path / "customers.csv")
    model = tmp_path / "model.json"
    fit = fit_json(churn, data, "--label", "churned", "-o", model)  # features default: all others
    assert [c["term"] for c in fit["coefficients"]] == ["(Intercept)", "recency", "frequency",
                                                        "spend"]
    b = {c["term"]: c["estimate"] for c in fit["coefficients"]}
    assert b["recency"] > 0 and b["frequency"] < 0
    out = tmp_path / "scores.csv"
    churn("predict", model, data, "-o", out, "--explain", "--top", "2")
    scores = read_csv(out)
    rows = read_csv(data)
    assert list(scores[0]) == ["customer_id", "p_churn", "linear_predictor", "reason_1",
                               "contribution_1", "reason_2", "contribution_2"]
    means = {k: sum(float(r[k]) for r in rows) / len(rows) for k in ("recency", "frequency",
                                                                     "spend")}
    for s, r in zip(scores, rows):
        assert s["customer_id"] == r["customer_id"]
        eta = b["(Intercept)"] + sum(b[k] * float(r[k]) for k in means)
        assert abs(float(s["linear_predictor"]) - eta) <= 1e-8 * max(1, abs(eta))
        assert abs(float(s["p_churn"]) - 1 / (1 + math.exp(-eta))) <= 1e-9
        contrib = {k: b[k] * (float(r[k]) - means[k]) for k in means}
        top = sorted((v, k) for k, v in contrib.items() if v > 0)[::-1]
        if top:
            assert s["reason_1"] == top[0][1]
            assert abs(float(s["contribution_1"]) - top[0][0]) <= 1e-8 * max(1, top[0][0])
        else:
            assert s["reason_1"] == ""
    # the saved model predicts identically to a second save/load round
    again = tmp_path / "scores2.csv"
    churn("predict", model, data, "-o", again, "--explain", "--top", "2")
    assert open(out).read() == open(again).read()
    assert "p_churn" in churn("predict", model, "--help").stdout


def test_cv(churn, tmp_path):
    data = synthetic(tmp_path / "customers.csv")
    args = [data, "--label", "churned", "--cv", "5", "--penalty", "l1", "--standardize",
            "--nlambda", "15", "--seed", "7"]
    a = fit_json(churn, *args)
    b = fit_json(churn, *args)
    assert a["cv"] == b["cv"]  # deterministic for a seed
    cv = a["cv"]
    assert len(cv["lambda"]) == len(cv["mean"]) == len(cv["sd"]) == 15
    assert cv["lambda"] == sorted(cv["lambda"], reverse=True)
    i = cv["lambda"].index(cv["lambda_min"])
    assert cv["mean"][i] == min(cv["mean"])
    assert cv["lambda_1se"] >= cv["lambda_min"]
    assert a["lambda"] == cv["lambda_chosen"] == cv["lambda_min"]
    one = fit_json(churn, *args, "--cv-rule", "1se", "--cv-metric", "auc")
    assert one["cv"]["metric"] == "auc" and one["lambda"] == one["cv"]["lambda_1se"]
    assert all(0.5 <= m <= 1 for m in one["cv"]["mean"][1:])
    text = churn("fit", "logit", *args).stdout
    assert "Cross-validation: 5 folds" in text


def test_errors(churn, tmp_path):
    data = synthetic(tmp_path / "customers.csv", n=60)
    p = churn("fit", "logit", data, "--label", "gone", check=False)
    assert p.returncode == 1 and "'gone'" in p.stderr
    p = churn("fit", "logit", data, "--label", "churned", "--features", "recency,nope",
              check=False)
    assert p.returncode == 1 and "'nope'" in p.stderr
    p = churn("fit", "logit", data, "--cv", "5", "--lambda", "0.1", check=False)
    assert p.returncode == 2
    p = churn("fit", "logit", data, "--penalty", "l3", check=False)
    assert p.returncode == 2 and "l3" in p.stderr
    assert "--penalty" in churn("fit", "logit", "--help").stdout
    # a missing value names the customer and the column
    rows = read_csv(data)
    rows[4]["spend"] = ""
    bad = write_customers(tmp_path / "bad.csv", rows, id_from="customer_id")
    p = churn("fit", "logit", bad, "--label", "churned", check=False)
    assert p.returncode == 1 and "C0004" in p.stderr and "'spend'" in p.stderr
    # separation names the column; --allow-separation saves with a note
    rows = read_csv(data)
    for r in rows:
        r["leak"] = r["churned"]
    sep = write_customers(tmp_path / "sep.csv", rows, id_from="customer_id")
    p = churn("fit", "logit", sep, "--label", "churned", check=False)
    assert p.returncode == 1 and "separation" in p.stderr and "'leak'" in p.stderr
    fit = fit_json(churn, sep, "--label", "churned", "--allow-separation")
    assert fit["separated"] and not fit["converged"] and "'leak'" in fit["note"]
    # collinear columns are named
    rows = read_csv(data)
    for r in rows:
        r["double_recency"] = 2 * float(r["recency"])
    col = write_customers(tmp_path / "col.csv", rows, id_from="customer_id")
    p = churn("fit", "logit", col, "--label", "churned", check=False)
    assert p.returncode == 1 and "'recency'" in p.stderr and "'double_recency'" in p.stderr
    # predicting with a table that lacks a model feature
    model = tmp_path / "m.json"
    churn("fit", "logit", data, "--label", "churned", "-o", model)
    lack = tmp_path / "lack.csv"
    with open(lack, "w") as f:
        f.write("customer_id,recency\nA,3\n")
    p = churn("predict", model, lack, check=False)
    assert p.returncode == 1 and "'frequency'" in p.stderr


def test_text_column_is_an_error_only_when_used(churn, tmp_path):
    rows = ["customer_id,email,frequency,churned"]
    for i in range(40):
        rows.append(f"c{i},user{i}@example.com,{i % 7},{1 if (i * 37) % 11 < 5 else 0}")
    p = tmp_path / "mixed.csv"
    p.write_text("\n".join(rows) + "\n")
    ok = churn("fit", "logit", p, "--label", "churned", "--features", "frequency",
               "-o", tmp_path / "m.json")
    assert ok.returncode == 0
    bad = churn("fit", "logit", p, "--label", "churned", "--features", "frequency,email",
                check=False)
    assert bad.returncode == 1
    assert "line 2" in bad.stderr and "'email'" in bad.stderr and "not a number" in bad.stderr
