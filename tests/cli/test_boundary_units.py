"""Issue 17, item 1 (command): the time unit and the cutoff travel with the data.

`churn features` declares them on every row (time_unit_days, cutoff); `churn fit` records
the unit in the model; `churn predict` and `churn score` compare the two and refuse a
mismatch with a message naming both units. Converting on purpose is --convert-unit, checked
against the exact invariance of BG/NBD under a change of unit (alpha scales with the unit).
"""
import csv
import io
import json

import pytest

CUTOFF = "2024-12-01"


def table(text):
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(scope="module")
def world(tmp_path_factory, churn_exe):
    import subprocess

    d = tmp_path_factory.mktemp("units")

    def run(*args):
        p = subprocess.run([churn_exe, *map(str, args)], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        return p

    tx = d / "tx.csv"
    run("simulate", "--model", "bgnbd", "--customers", 1500, "--seed", 5, "--start",
        "2024-01-01", "--weeks", 52, "--acquisition-weeks", 20, "-o", tx)
    weeks, days = d / "f_weeks.csv", d / "f_days.csv"
    run("features", tx, "--cutoff", CUTOFF, "--unit", "week", "-o", weeks)
    run("features", tx, "--cutoff", CUTOFF, "-o", days)
    model = d / "m.json"
    run("fit", "bgnbd", weeks, "-o", model)
    return {"d": d, "tx": tx, "weeks": weeks, "days": days, "model": model}


def test_features_declare_unit_and_cutoff(world):
    rows = table(world["weeks"].read_text())
    assert {r["time_unit_days"] for r in rows} == {"7"}
    assert {r["cutoff"] for r in rows} == {CUTOFF}
    rows = table(world["days"].read_text())
    assert {r["time_unit_days"] for r in rows} == {"1"}


def test_fit_records_the_tables_unit(world):
    m = json.loads(world["model"].read_text())
    assert m["time_unit_days"] == 7


def test_score_refuses_other_unit_and_keeps_todays_numbers(churn, world):
    """The issue's first flow: features in weeks, fit, score with --unit day."""
    p = churn("score", world["model"], world["tx"], "--cutoff", CUTOFF, "--unit", "day",
              "--horizon", 52, check=False)
    assert p.returncode == 2
    assert "weeks (7 days)" in p.stderr and "days (1 day)" in p.stderr
    assert "status=usage" in p.stderr
    # matching units (said or taken from the model) give the numbers of the weekly table
    said = churn("score", world["model"], world["tx"], "--cutoff", CUTOFF, "--unit", "week",
                 "--horizon", 52).stdout
    taken = churn("score", world["model"], world["tx"], "--cutoff", CUTOFF, "--horizon",
                  52).stdout
    assert said == taken
    pred = table(churn("predict", world["model"], world["weeks"], "--horizon", 52).stdout)
    got = table(said)
    assert len(got) == len(pred) == 1500
    for g, r in zip(got, pred):
        assert g["customer_id"] == r["customer_id"]
        assert abs(float(g["p_alive"]) - float(r["p_alive"])) <= 1e-9
        # predict reads the table printed to 10 significant digits
        assert abs(float(g["expected_purchases"]) - float(r["expected_purchases"])) <= \
            1e-8 * max(1.0, float(r["expected_purchases"]))


def test_predict_refuses_a_table_in_other_units(churn, world):
    p = churn("predict", world["model"], world["days"], "--horizon", 52, check=False)
    assert p.returncode == 1
    assert "weeks (7 days)" in p.stderr and "days (1 day)" in p.stderr
    assert p.stdout == ""
    # --unit cannot contradict the table's own declaration
    p = churn("predict", world["model"], world["days"], "--horizon", 52, "--unit", "week",
              check=False)
    assert p.returncode == 1 and "time_unit_days" in p.stderr


def test_convert_unit_on_purpose(churn, world):
    """A weekly model converted to days scores the daily table as the weekly model scores
    the weekly one: 52 weeks = 364 days (BG/NBD depends on time through alpha + t)."""
    weekly = table(churn("predict", world["model"], world["weeks"], "--horizon", 52).stdout)
    p = churn("predict", world["model"], world["days"], "--horizon", 364, "--convert-unit")
    assert "converted from weeks (7 days) to days (1 day)" in p.stderr
    daily = table(p.stdout)
    worst = max(abs(float(a["p_alive"]) - float(b["p_alive"])) for a, b in zip(weekly, daily))
    assert worst < 1e-8
    worst = max(abs(float(a["expected_purchases"]) - float(b["expected_purchases"])) /
                max(float(b["expected_purchases"]), 1e-12) for a, b in zip(weekly, daily))
    assert worst < 1e-8
    s = churn("score", world["model"], world["tx"], "--cutoff", CUTOFF, "--unit", "day",
              "--horizon", 364, "--convert-unit")
    assert "--convert-unit" in s.stderr
    scored = table(s.stdout)
    assert max(abs(float(a["p_alive"]) - float(b["p_alive"]))
               for a, b in zip(weekly, scored)) < 1e-8


def test_one_side_unknown_needs_unit(churn, world, tmp_path):
    """A hand-made table (no declaration) meets a weekly model: refused until --unit."""
    bare = tmp_path / "bare.csv"
    with open(world["weeks"]) as src, open(bare, "w") as dst:
        for line in src:
            dst.write(",".join(line.rstrip("\n").split(",")[:-2]) + "\n")
    p = churn("predict", world["model"], bare, "--horizon", 52, check=False)
    assert p.returncode == 1
    assert "weeks (7 days)" in p.stderr and "declares no time unit" in p.stderr
    assert "--unit" in p.stderr
    ok = churn("predict", world["model"], bare, "--horizon", 52, "--unit", "week").stdout
    ref = churn("predict", world["model"], world["weeks"], "--horizon", 52).stdout
    assert ok == ref
    # fitting such a table records no unit and says so; scoring it needs --unit
    m0 = tmp_path / "m0.json"
    p = churn("fit", "bgnbd", bare, "-o", m0)
    assert "declares no time unit" in p.stderr
    assert json.loads(m0.read_text())["time_unit_days"] == 0
    p = churn("predict", m0, world["days"], "--horizon", 52, check=False)
    assert p.returncode == 1 and "records no time unit" in p.stderr
    # --unit declares the model's unit, which must then match the table
    assert churn("predict", m0, world["weeks"], "--horizon", 52, "--unit", "week").stdout == ref


def test_fit_unit_must_agree_with_declaration(churn, world, tmp_path):
    p = churn("fit", "bgnbd", world["weeks"], "--unit", "day", "-o", tmp_path / "x.json",
              check=False)
    assert p.returncode == 1
    assert "weeks (7 days)" in p.stderr and "days (1 day)" in p.stderr
    assert not (tmp_path / "x.json").exists()


def test_declarations_must_be_constant(churn, world, tmp_path):
    lines = world["weeks"].read_text().splitlines()
    bad = tmp_path / "mixed.csv"
    last = lines[2].rsplit(",", 2)
    lines[2] = f"{last[0]},1,{last[2]}"
    bad.write_text("\n".join(lines) + "\n")
    p = churn("fit", "bgnbd", bad, check=False)
    assert p.returncode == 1 and "time_unit_days" in p.stderr and "line 3" in p.stderr
    lines = world["weeks"].read_text().splitlines()
    lines[4] = lines[4].rsplit(",", 1)[0] + ",2024-11-30"
    bad.write_text("\n".join(lines) + "\n")
    p = churn("fit", "bgnbd", bad, check=False)
    assert p.returncode == 1 and "cutoff" in p.stderr and "line 5" in p.stderr


def test_survival_and_logit_record_and_check(churn, world, tmp_path):
    lab = tmp_path / "lab.csv"
    churn("features", world["tx"], "--cutoff", "2024-09-01", "--holdout-end", CUTOFF,
          "--unit", "week", "-o", lab)
    labd = tmp_path / "labd.csv"
    churn("features", world["tx"], "--cutoff", "2024-09-01", "--holdout-end", CUTOFF,
          "-o", labd)
    for fam, args in (("weibull", ["--duration", "duration", "--event", "event"]),
                      ("logit", ["--label", "churned"])):
        m = tmp_path / f"{fam}.json"
        churn("fit", fam, lab, "--features", "frequency,recency,T", *args, "-o", m)
        assert json.loads(m.read_text())["time_unit_days"] == 7
        extra = ["--horizon", 10] if fam == "weibull" else []
        churn("predict", m, lab, *extra)
        p = churn("predict", m, labd, *extra, check=False)
        assert p.returncode == 1
        assert "weeks (7 days)" in p.stderr and "days (1 day)" in p.stderr


def test_cutoff_before_every_purchase_warns(churn, world):
    p = churn("features", world["tx"], "--cutoff", "2020-01-01")
    assert "the cutoff is before every purchase" in p.stderr and "1500" in p.stderr
    assert len(p.stdout.strip().splitlines()) == 1  # the header only
