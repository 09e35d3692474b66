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
