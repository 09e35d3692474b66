"""Issue 17, item 9 (command): which column is the customer id of a table.

Without a customer_id (or id) column the rows are numbered 1..n, with a note; the first
column is never taken silently as the id (so `--features treatment` finds a first column
called treatment). `--id COL` names the id column on every command that reads a table.
The Cox coefficients are checked against a simulation with known truth.
"""
import csv
import io
import json
import math
import random

import pytest


def table(text):
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(scope="module")
def trial(tmp_path_factory):
    """A two-arm trial whose first column is the treatment: hazard 0.05 exp(0.7 treatment
    + 0.02 (age - 45)), uniform censoring on [0, 40]."""
    rng = random.Random(7)
    d = tmp_path_factory.mktemp("ids")
    rows = []
    for i in range(2000):
        tr = i % 2
        age = rng.uniform(20, 70)
        lam = 0.05 * math.exp(0.7 * tr + 0.02 * (age - 45))
        t, c = rng.expovariate(lam), rng.uniform(0, 40)
        rows.append((tr, age, min(t, c), int(t <= c), f"P{i:04d}"))
    path = d / "trial.csv"
    with open(path, "w") as f:
        f.write("treatment,age,duration,event,patient\n")
        for tr, age, dur, ev, pid in rows:
            f.write(f"{tr},{age:.4f},{dur:.6f},{ev},{pid}\n")
    return path


def test_first_column_is_not_taken_as_id(churn, trial, tmp_path):
    m = tmp_path / "cox.json"
    p = churn("fit", "cox", trial, "--features", "treatment,age", "--duration", "duration",
              "--event", "event", "--id", "patient", "--json", "-o", m)
    coef = dict(zip(json.loads(m.read_text())["param_names"],
                    json.loads(m.read_text())["params"]))
    se = dict(zip(json.loads(m.read_text())["param_names"],
                  json.loads(m.read_text())["std_errors"]))
    # truth 0.7 and 0.02, within 4 standard errors
    assert abs(coef["treatment"] - 0.7) < 4 * se["treatment"]
    assert abs(coef["age"] - 0.02) < 4 * se["age"]
    # without --id the patient column is only a (text) column: rows are numbered, with a note
    p = churn("fit", "cox", trial, "--features", "treatment,age", "--duration", "duration",
              "--event", "event", "-o", tmp_path / "cox2.json")
    assert "no customer_id column" in p.stderr and "--id COL" in p.stderr
    assert json.loads((tmp_path / "cox2.json").read_text())["params"] == \
        json.loads(m.read_text())["params"]


def test_predict_writes_the_named_ids_or_numbers_with_a_note(churn, trial, tmp_path):
    m = tmp_path / "cox.json"
    churn("fit", "cox", trial, "--features", "treatment,age", "--duration", "duration",
          "--event", "event", "--id", "patient", "-o", m)
    named = churn("predict", m, trial, "--horizon", 10, "--id", "patient")
    assert named.stderr == ""
    rows = table(named.stdout)
    assert [r["customer_id"] for r in rows[:3]] == ["P0000", "P0001", "P0002"]
    numbered = churn("predict", m, trial, "--horizon", 10)
    assert "rows are numbered 1..2000" in numbered.stderr
    nrows = table(numbered.stdout)
    assert [r["customer_id"] for r in nrows[:3]] == ["1", "2", "3"]
    assert [r["p_churn"] for r in nrows] == [r["p_churn"] for r in rows]
    quiet = churn("predict", m, trial, "--horizon", 10, "--id", "none")
    assert quiet.stderr == "" and quiet.stdout == numbered.stdout


def test_unknown_or_empty_id_column(churn, trial, tmp_path):
    m = tmp_path / "cox.json"
    churn("fit", "cox", trial, "--features", "treatment,age", "--duration", "duration",
          "--event", "event", "--id", "patient", "-o", m)
    p = churn("predict", m, trial, "--horizon", 10, "--id", "customer", check=False)
    assert p.returncode == 1
    assert "no column 'customer'" in p.stderr and "treatment, age, duration" in p.stderr
    lines = trial.read_text().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0] + ","
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    p = churn("predict", m, bad, "--horizon", 10, "--id", "patient", check=False)
    assert p.returncode == 1 and "line 4" in p.stderr and "id" in p.stderr


def test_id_spellings_are_found_with_a_note(churn, tmp_path):
    """The CDNOW summary's 'ID' column is the id (any case), with a note naming it."""
    f = tmp_path / "summary.csv"
    f.write_text("ID,x,t_x,T\n7,2,30.43,38.86\n8,0,0,38.86\n9,1,1.0,38.0\n")
    m = tmp_path / "m.json"
    json_text = ('{"format": "libchurn-model", "format_version": 1, "family": "bgnbd", '
                 '"time_unit_days": 7, "param_names": ["r", "alpha", "a", "b"], '
                 '"params": [0.2425945, 4.4136019, 0.7929199, 2.4258881], '
                 '"std_errors": [0, 0, 0, 0]}')
    m.write_text(json_text)
    p = churn("predict", m, f, "--horizon", 39, "--frequency", "x", "--recency", "t_x",
              "--unit", "week")
    assert "using column 'ID' as the customer id" in p.stderr
    rows = table(p.stdout)
    assert [r["customer_id"] for r in rows] == ["7", "8", "9"]
    # the published example: x 2, t_x 30.43, T 38.86 -> 1.2259 purchases in 39 weeks
    assert abs(float(rows[0]["expected_purchases"]) - 1.2259) < 5e-4


def test_every_table_command_takes_id(churn):
    for args in (("fit", "bgnbd"), ("fit", "gammagamma"), ("fit", "logit"), ("fit", "cox"),
                 ("fit", "weibull"), ("km",)):
        assert "--id COL" in churn(*args, "--help").stdout, args
