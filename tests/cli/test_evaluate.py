"""churn evaluate: the model comparison on a holdout window."""
import csv
import io
import json
import os

import numpy as np
import pytest

HEADER = ["model", "auc", "log_loss", "brier", "top_decile_lift", "holdout_mae"]
CDNOW_OPTS = ["--no-header", "--delim", "space", "--id", "2", "--time", "3", "--amount", "5",
              "--date-format", "yyyymmdd"]
SPLIT = ["--cutoff", "1997-09-30", "--holdout-end", "1998-06-30"]


def cdnow(shared_data):
    path = os.path.join(shared_data, "cdnow", "CDNOW_sample.txt")
    if not os.path.exists(path):
        pytest.skip(f"{path} is absent")
    return path


def table(text):
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == HEADER
    return {r[0]: r[1:] for r in rows[1:]}


def synthetic_log(path, n=300, seed=7):
    """Customers buying at their own rate until they leave; some leave before the cutoff."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2023-01-01")
    with open(path, "w") as f:
        f.write("customer_id,date,amount\n")
        for c in range(n):
            t = rng.integers(0, 60)
            life = rng.exponential(250)
            rate = rng.gamma(2.0, 1 / 40)
            first = True
            while t < 500 and (first or t < life):
                f.write(f"c{c},{start + np.timedelta64(int(t), 'D')},{rng.uniform(5, 50):.2f}\n")
                first = False
                t += 1 + rng.exponential(1 / rate)
    return path


def test_help(churn):
    p = churn("evaluate", "--help")
    assert "--holdout-end" in p.stdout
    assert "model,auc,log_loss,brier,top_decile_lift,holdout_mae" in p.stdout


def test_cdnow_comparison(churn, shared_data, tmp_path):
    """Issue 8: on CDNOW (cutoff 1997-09-30, holdout to 1998-06-30) the table reports AUC,
    log loss and top-decile lift for BG/NBD, Pareto/NBD and logistic regression; the
    numbers are recomputed here with scikit-learn from the per-customer scores."""
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    scores = tmp_path / "scores.csv"
    p = churn("evaluate", cdnow(shared_data), *CDNOW_OPTS, *SPLIT,
              "--models", "bgnbd,pnbd,logit,cox", "--scores", scores)
    t = table(p.stdout)
    assert list(t) == ["bgnbd", "pnbd", "logit", "cox"]
    print("\n" + p.stdout)
    for model, row in t.items():
        auc, ll, brier, lift, mae = row
        assert 0.6 < float(auc) < 1.0
        assert float(ll) > 0 and 0 < float(brier) < 0.25
        assert 1.0 < float(lift) < 1 / 0.7
        if model in ("bgnbd", "pnbd"):
            assert 0 < float(mae) < 2
        else:
            assert mae == ""
    import pandas as pd
    s = pd.read_csv(scores)
    assert len(s) == 2357
    for model in t:
        y, q = s["churned"].to_numpy(), s[f"p_churn_{model}"].to_numpy()
        assert float(t[model][0]) == pytest.approx(roc_auc_score(y, q), abs=1e-9)
        assert float(t[model][1]) == pytest.approx(log_loss(y, q), abs=1e-9)
        assert float(t[model][2]) == pytest.approx(brier_score_loss(y, q), abs=1e-9)
        # top decile = the 235.7 highest-scored customers; a group of tied scores that
        # straddles the boundary counts with the fraction of it inside (docs/evaluation.md)
        assert float(t[model][3]) == pytest.approx(top_lift(q, y, 0.1), abs=1e-9)


def top_lift(q, y, share):
    cap = share * len(q)
    pos = inside = 0.0
    for v in sorted(set(q), reverse=True):
        g = q == v
        c = g.sum()
        take = max(0.0, min(c, cap - inside))
        pos += y[g].sum() * take / c
        inside += take
        if inside >= cap:
            break
    return pos / cap / y.mean()


def test_cdnow_labels_independent(churn, shared_data):
    """The holdout labels, recomputed from the raw file with pandas."""
    import pandas as pd
    path = cdnow(shared_data)
    d = pd.read_csv(path, sep=r"\s+", header=None, names=["m", "id", "date", "n", "v"],
                    dtype={"date": str})
    d["date"] = pd.to_datetime(d["date"])
    hold = d[(d.date > "1997-09-30") & (d.date <= "1998-06-30")].id.unique()
    churn_rate = 1 - len(hold) / d.id.nunique()
    p = churn("evaluate", path, *CDNOW_OPTS, *SPLIT, "--models", "bgnbd", "--json")
    j = json.loads(p.stdout)
    assert j["customers"] == 2357
    assert j["customers_excluded"] == 0
    assert j["holdout_length"] == pytest.approx(39.0)
    assert j["churn_rate"] == pytest.approx(churn_rate, abs=1e-12)
    m = j["models"][0]
    assert m["model"] == "bgnbd" and m["status"] == "ok"
    for k in HEADER[1:]:
        assert isinstance(m[k], float)


def test_output_file_and_json(churn, tmp_path):
    tx = synthetic_log(tmp_path / "tx.csv")
    args = ["evaluate", tx, "--cutoff", "2023-10-01", "--holdout-end", "2024-03-31",
            "--models", "bgnbd,logit", "--unit", "day"]
    p = churn(*args)
    out = tmp_path / "table.csv"
    churn(*args, "-o", out)
    assert out.read_text() == p.stdout
    t = table(p.stdout)
    assert list(t) == ["bgnbd", "logit"]
    assert t["bgnbd"][4] != "" and t["logit"][4] == ""
    j = json.loads(churn(*args, "--json").stdout)
    assert [m["model"] for m in j["models"]] == ["bgnbd", "logit"]
    assert j["models"][1]["holdout_mae"] is None
    assert float(t["logit"][0]) == pytest.approx(j["models"][1]["auc"], rel=1e-9)
    # fold count and seed change the supervised scores, not BTYD ones
    t2 = table(churn(*args, "--folds", "3", "--seed", "9").stdout)
    assert t2["bgnbd"] == t["bgnbd"]


def test_errors(churn, tmp_path):
    tx = synthetic_log(tmp_path / "tx.csv", n=80)
    base = ["evaluate", tx, "--cutoff", "2023-10-01", "--holdout-end", "2024-03-31"]
    p = churn("evaluate", tx, "--holdout-end", "2024-03-31", check=False)
    assert p.returncode == 2 and "--cutoff" in p.stderr
    p = churn("evaluate", tx, "--cutoff", "2023-10-01", check=False)
    assert p.returncode == 2 and "--holdout-end" in p.stderr
    p = churn("evaluate", tx, "--cutoff", "2023-10-01", "--holdout-end", "2023-09-01",
              check=False)
    assert p.returncode == 2 and "after --cutoff" in p.stderr
    p = churn(*base, "--models", "bgnbd,sbg", check=False)
    assert p.returncode == 1 and "'sbg'" in p.stderr
    p = churn(*base, "--models", "logit", "--features", "frequency,nope", check=False)
    assert p.returncode == 1 and "'nope'" in p.stderr
    p = churn(*base, "--btyd-churn", "maybe", check=False)
    assert p.returncode == 2 and "maybe" in p.stderr
    p = churn(*base, "--bogus", check=False)
    assert p.returncode == 2 and "--bogus" in p.stderr
    # a model that fails (collinear features) leaves empty cells, the others are reported
    p = churn(*base, "--models", "bgnbd,logit", "--features", "recency,T,time_since_last",
              check=False)
    assert p.returncode == 1 and "model logit failed" in p.stderr and "collinear" in p.stderr
    t = table(p.stdout)
    assert t["logit"] == [""] * 5 and t["bgnbd"][0] != ""
    # everyone buys in the holdout: one class, AUC undefined
    one = tmp_path / "one.csv"
    one.write_text("customer_id,date,amount\n" +
                   "".join(f"c{i},2023-0{1 + i % 5}-01,1\nc{i},2024-01-0{1 + i % 5},1\n"
                           for i in range(20)))
    p = churn("evaluate", one, "--cutoff", "2023-10-01", "--holdout-end", "2024-03-31",
              check=False)
    assert p.returncode == 1 and "one class" in p.stderr


def test_not_alive_score(churn, shared_data):
    """1 - P(alive) as the BTYD churn score: BG/NBD gives every one-time buyer
    P(alive) = 1, so on CDNOW its ranking is worse than chance."""
    p = churn("evaluate", cdnow(shared_data), *CDNOW_OPTS, *SPLIT, "--models", "bgnbd,pnbd",
              "--btyd-churn", "not-alive")
    t = table(p.stdout)
    print("\n" + p.stdout)
    assert float(t["bgnbd"][0]) < 0.5
