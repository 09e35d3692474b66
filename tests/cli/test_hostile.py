"""Every subcommand over a hostile corpus (issue 19, docs/reliability.md "The command
on hostile input").

The corpus is tests/data/hostile/: transaction logs whose sums overflow, refunds of
-1e308, NaN/inf amounts, dates from 0001-01-01 to 9999-12-31 and epochs beyond them,
empty and header-only files, binary bytes; model files relabelled to another family,
truncated, or with parameters of 1e308; customer tables with inf cells or impossible
rows. Some runs append a fragment of the corpus to a simulated population.

For every run the test asserts three properties:

1. exit 0 implies every promised numeric cell is finite: every cell of a CSV output
   parses as a finite number, except the text columns (ids, dates, names) and the
   documented tokens ('inf' in median / mean_residual_life of survival predictions
   and Kaplan-Meier medians; an empty retention cell of 'churn cohorts' is a period
   not yet observed); JSON holds no NaN or infinity; text output no 'nan' or 'inf';
2. exit non-zero implies a message naming the cause: exit 1 or 2 (never a signal or
   an abort), and a 'churn <command>:' line on stderr; the cases of the issue check
   the words of the message (the customer, the column, the dates);
3. no run exceeds TIME_BOUND seconds or MEM_BOUND bytes of address space
   (RLIMIT_AS), and none says 'out of memory'.
"""
import csv
import io
import json
import math
import os
import re
import resource
import subprocess
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "data", "hostile")
GOLDEN = os.path.join(HERE, "..", "data", "models")
TIME_BOUND = 30.0          # seconds per run (the slowest run here takes well under 1 s)
MEM_BOUND = 3 << 30        # bytes of address space per run (RLIMIT_AS)

# Columns that hold text, not numbers.
TEXT_COLUMNS = {"customer_id", "id", "cohort", "cutoff", "tier", "alerts", "model", "group",
                "reason", "period", "date", "list"}  # list: report's save_now/win_back
# Documented tokens: +infinity where it is the answer ('not reached', no finite mean, or
# beyond the largest double), see docs/reliability.md.
INF_COLUMNS = {"median", "mean_residual_life"}
NONFINITE_WORD = re.compile(r"(?<![A-Za-z_])[-+]?(nan|inf|infinity)(?![A-Za-z_])", re.I)


def corpus(name):
    return os.path.join(CORPUS, name)


def golden(name):
    return os.path.join(GOLDEN, name)


def _limits():
    resource.setrlimit(resource.RLIMIT_AS, (MEM_BOUND, MEM_BOUND))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run(exe, args, tmp):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", LC_ALL="C")
    t0 = time.monotonic()
    try:
        p = subprocess.run([exe, *map(str, args)], capture_output=True, text=True,
                           errors="replace", timeout=TIME_BOUND, preexec_fn=_limits, env=env,
                           cwd=tmp)
    except subprocess.TimeoutExpired:
        pytest.fail(f"churn {' '.join(map(str, args))}: over {TIME_BOUND} s")
    p.seconds = time.monotonic() - t0
    return p


def check_csv(text, what, command):
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return
    header = rows[0]
    for r, row in enumerate(rows[1:], start=2):
        assert len(row) == len(header), f"{what}: line {r} has {len(row)} fields, header " \
                                         f"{len(header)}"
        for name, cell in zip(header, row):
            if name in TEXT_COLUMNS:
                continue
            if cell == "inf" and (name in INF_COLUMNS or command == "km"):
                continue
            if cell == "" and command == "cohorts" and re.fullmatch(r"p\d+", name):
                continue  # a period not yet observed at the cutoff
            if cell == "" and command == "evaluate" and name == "holdout_mae" and \
                    row[0] not in ("bgnbd", "mbgnbd", "pnbd"):
                continue  # holdout_mae only for BTYD models (docs/cli.md)
            try:
                v = float(cell)
            except ValueError:
                raise AssertionError(f"{what}: line {r}, column {name}: {cell!r} is not a "
                                     f"number") from None
            assert math.isfinite(v), f"{what}: line {r}, column {name}: {cell!r}"


def check_json(text, what):
    def bad(c):
        raise AssertionError(f"{what}: JSON holds {c}")

    def walk(x):
        if isinstance(x, float):
            assert math.isfinite(x), f"{what}: JSON holds {x}"
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(json.loads(text, parse_constant=bad))


def check_output(text, what, command, kind):
    if kind == "csv":
        check_csv(text, what, command)
    elif kind == "json":
        check_json(text, what)
    else:
        allowed = command == "km"  # medians not reached print as 'inf' (docs/cli.md)
        for line in text.splitlines():
            m = NONFINITE_WORD.search(line)
            assert allowed or not m, f"{what}: {line!r}"


def check_properties(p, args, tmp, outputs):
    """The three properties of the module docstring for one run."""
    cmd = " ".join(map(str, args))
    command = str(args[0])
    assert p.seconds < TIME_BOUND
    assert "out of memory" not in p.stderr, f"churn {cmd}: {p.stderr}"
    if p.returncode == 0:
        for path, kind in outputs:
            full = os.path.join(tmp, path)
            if path == "-":
                check_output(p.stdout, f"churn {cmd} (stdout)", command, kind)
            elif os.path.exists(full):
                with open(full, encoding="utf-8", errors="replace") as f:
                    check_output(f.read(), f"churn {cmd} ({path})", command, kind)
        return
    assert p.returncode in (1, 2), f"churn {cmd}: exit {p.returncode} (a signal?)\n{p.stderr}"
    lines = [ln for ln in p.stderr.splitlines() if ln.startswith("churn ")]
    assert lines, f"churn {cmd}: exit {p.returncode} without a message:\n{p.stderr!r}"
    assert any(len(ln) > len(command) + 12 for ln in lines), f"churn {cmd}: {p.stderr!r}"


@pytest.fixture(scope="module")
def population(churn_exe, tmp_path_factory):
    """A simulated log of 300 customers, its customer table and fitted models, and the
    corpus fragments appended to the log."""
    d = tmp_path_factory.mktemp("hostile")
    base = d / "base.csv"
    subprocess.run([churn_exe, "simulate", "--customers", "300", "--seed", "3", "-o", base],
                   check=True, capture_output=True)
    for frag in ("append_spend_extreme.csv", "append_overflow.csv",
                 "append_refund_overflow.csv"):
        with open(base) as f, open(corpus(frag)) as g, open(d / ("pop_" + frag), "w") as o:
            o.write(f.read() + g.read())
    subprocess.run([churn_exe, "features", base, "--cutoff", "1997-09-30", "--holdout-end",
                    "1997-12-31", "--unit", "week", "-o", d / "table.csv"],
                   check=True, capture_output=True)
    subprocess.run([churn_exe, "fit", "bgnbd", d / "table.csv", "--unit", "week", "-o",
                    d / "bgnbd.json"], check=True, capture_output=True)
    subprocess.run([churn_exe, "fit", "gammagamma", d / "table.csv", "-o", d / "gg.json"],
                   check=True, capture_output=True)
    return d


TX = ["tx_overflow.csv", "tx_refund_overflow.csv", "tx_big_refunds.csv", "tx_ancient.csv",
      "tx_ancient_one.csv", "tx_epoch_negative.csv", "tx_epoch_huge.csv", "tx_far_future.csv",
      "tx_nan_amount.csv", "tx_empty.csv", "tx_header_only.csv", "tx_one_row.csv",
      "tx_binary.csv"]
POP = ["pop_append_spend_extreme.csv", "pop_append_overflow.csv",
       "pop_append_refund_overflow.csv"]
MODELS = ["model_bgnbd_relabelled_cox.json", "model_bgnbd_relabelled_weibull.json",
          "model_lognormal_intercept_1e308.json", "model_weibull_coef_1e308.json",
          "model_cox_coef_1e308.json", "model_loglogistic_scale_above_1.json",
          "model_bgnbd_extreme.json", "model_gammagamma_extreme.json",
          "model_truncated.json", "model_not_json.json"]
TABLES = ["table_surv.csv", "table_surv_inf.csv", "table_header_only.csv",
          "table_btyd_bad.csv", "table_btyd_ok.csv"]


def tx_path(name, pop):
    return pop / name if name.startswith("pop_") else corpus(name)


def epoch_opts(name):
    return ["--date-format", "epoch"] if "epoch" in name else []


def tx_runs(name, pop):
    """Every subcommand that reads transactions, on one log."""
    tx, e = tx_path(name, pop), epoch_opts(name)
    cut = ["--cutoff", "1997-09-30"] if name.startswith("pop_") else []
    return [
        (["describe", tx, *e], [("-", "text")]),
        (["describe", tx, "--json", *e], [("-", "json")]),
        (["features", tx, *cut, *e, "-o", "out.csv"], [("out.csv", "csv")]),
        (["features", tx, *cut, *e, "--columns", "frequency,recency,T,monetary_value",
          "-o", "out.csv"], [("out.csv", "csv")]),
        (["cohorts", tx, *e, "-o", "out.csv"], [("out.csv", "csv")]),
        (["report", tx, *cut, *e, "--json", "--rejects", "rej.csv", "-o", "out.csv"],
         [("-", "json"), ("out.csv", "csv"), ("rej.csv", "csv")]),
        (["evaluate", tx, "--cutoff", "1997-09-30", "--holdout-end", "1997-12-31",
          "--models", "bgnbd,logit,cox,weibull", *e, "-o", "out.csv"],
         [("out.csv", "csv")]),
        (["score", pop / "bgnbd.json", tx, "--cutoff", "1997-09-30", "--horizon", "10",
          "--spend", pop / "gg.json", "--rejects", "rej.csv", *e, "-o", "out.csv"],
         [("out.csv", "csv"), ("rej.csv", "csv")]),
        (["score", pop / "bgnbd.json", tx, "--cutoff", "1997-09-30", "--horizon", "10",
          "--in-memory", *e, "-o", "out.csv"], [("out.csv", "csv")]),
    ]


def model_runs(name, pop):
    m = corpus(name)
    return [
        (["predict", m, corpus("table_surv.csv"), "--horizon", "10", "--unit", "week",
          "--rejects", "rej.csv", "-o", "out.csv"], [("out.csv", "csv"), ("rej.csv", "csv")]),
        (["predict", m, corpus("table_btyd_ok.csv"), "--horizon", "10", "--unit", "week",
          "-o", "out.csv"], [("out.csv", "csv")]),
        (["score", m, pop / "base.csv", "--cutoff", "1997-09-30", "--horizon", "10",
          "--unit", "week", "--rejects", "rej.csv", "-o", "out.csv"],
         [("out.csv", "csv"), ("rej.csv", "csv")]),
    ]


def table_runs(name):
    t = corpus(name)
    return [
        (["fit", "bgnbd", t, "-o", "m.json"], [("-", "text"), ("m.json", "json")]),
        (["fit", "gammagamma", t, "-o", "m.json"], [("-", "text"), ("m.json", "json")]),
        (["fit", "logit", t, "--label", "a", "--features", "b"], [("-", "text")]),
        (["fit", "weibull", t, "--duration", "a", "--event", "b", "--features", "b"],
         [("-", "text")]),
        (["km", t, "--duration", "a", "--event", "b", "-o", "out.csv"], [("out.csv", "csv")]),
        (["predict", golden("golden_v1_weibull.json"), t, "--horizon", "10", "--unit", "week",
          "-o", "out.csv"], [("out.csv", "csv")]),
        (["predict", golden("golden_v1_cox.json"), t, "--horizon", "10", "--unit", "week",
          "-o", "out.csv"], [("out.csv", "csv")]),
        (["predict", golden("golden_v1_bgnbd.json"), t, "--horizon", "10", "--unit", "week",
          "-o", "out.csv"], [("out.csv", "csv")]),
    ]


def simulate_runs():
    return [
        (["simulate", "--customers", "0", "-o", "out.csv"], [("out.csv", "csv")]),
        (["simulate", "--customers", "5", "--r", "1e300", "-o", "out.csv"],
         [("out.csv", "csv")]),
        (["simulate", "--customers", "5", "--weeks", "1e9", "-o", "out.csv"],
         [("out.csv", "csv")]),
    ]


def all_runs(pop):
    runs = []
    for name in TX + POP:
        runs += [(name, r) for r in tx_runs(name, pop)]
    for name in MODELS:
        runs += [(name, r) for r in model_runs(name, pop)]
    for name in TABLES:
        runs += [(name, r) for r in table_runs(name)]
    runs += [("simulate", r) for r in simulate_runs()]
    return runs


def test_every_subcommand_on_the_hostile_corpus(churn_exe, population, tmp_path):
    """The three properties over every run (217 runs)."""
    t0 = time.monotonic()
    runs = all_runs(population)
    assert len(runs) > 200
    for k, (name, (args, outputs)) in enumerate(runs):
        d = tmp_path / f"run{k}"
        d.mkdir()
        p = run(churn_exe, args, d)
        check_properties(p, args, d, outputs)
    # the whole property test stays cheap enough for every build
    assert time.monotonic() - t0 < 120


def stderr_of(churn_exe, args, tmp):
    p = run(churn_exe, args, tmp)
    return p.returncode, p.stdout, p.stderr


# ---- the cases of issue 19, with the words their messages must carry ------------------


def test_overflowing_sums_are_errors_naming_the_customer(churn_exe, tmp_path):
    for args in (["features", corpus("tx_overflow.csv"), "--cutoff", "2024-06-01"],
                 ["features", corpus("tx_overflow.csv"), "--cutoff", "2024-06-01", "--columns",
                  "frequency,total_spend"],
                 ["features", corpus("tx_refund_overflow.csv"), "--cutoff", "2024-06-01"]):
        rc, out, err = stderr_of(churn_exe, args, tmp_path)
        assert rc == 1 and "customer 'big'" in err and "overflows" in err, err
    # the columns that do not read the sums are still there
    rc, out, err = stderr_of(churn_exe, ["features", corpus("tx_overflow.csv"), "--cutoff",
                                         "2024-06-01", "--columns", "frequency,recency"],
                             tmp_path)
    assert rc == 0 and out.splitlines()[0].startswith("customer_id,frequency,recency")
    for name in ("tx_overflow.csv", "tx_refund_overflow.csv"):
        rc, out, err = stderr_of(churn_exe, ["describe", corpus(name)], tmp_path)
        assert rc == 1 and "customer 'big'" in err and "overflows" in err, err
        assert "inf" not in out
    # a finite but large refund total: exponent notation, not 309 digits
    rc, out, err = stderr_of(churn_exe, ["describe", corpus("tx_big_refunds.csv")], tmp_path)
    numbers = [w for w in out.split() if re.match(r"^\(?-?[0-9]", w)]
    assert rc == 0 and "-2.000000e+307" in out and max(map(len, numbers)) < 20


def test_non_finite_predictions(churn_exe, tmp_path):
    # log-normal intercept 1e308: the median and the mean residual life are beyond a
    # double: the documented token, never an empty cell
    rc, out, err = stderr_of(churn_exe, ["predict", corpus("model_lognormal_intercept_1e308.json"),
                                         corpus("table_surv.csv"), "--horizon", "10"], tmp_path)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rc == 0 and rows and all(r["median"] == "inf" for r in rows)
    assert all(r["mean_residual_life"] == "inf" and r["p_churn"] == "0" for r in rows)
    # Weibull coefficient 1e308 on 'a': b'x is +-inf for a = 2, -2, 1e300: those customers
    # are left out; a = 1 and 0.5 give b'x = 1e308 and 5e307, a median beyond a double
    rc, out, err = stderr_of(churn_exe, ["predict", corpus("model_weibull_coef_1e308.json"),
                                         corpus("table_surv.csv"), "--horizon", "10",
                                         "--rejects", "rej.csv"], tmp_path)
    ids = [r["customer_id"] for r in csv.DictReader(io.StringIO(out))]
    rej = list(csv.DictReader(open(tmp_path / "rej.csv")))
    assert rc == 0 and ids == ["x", "y", "z"]
    assert {r["customer_id"] for r in rej} == {"w", "v", "huge"}
    assert all("linear_predictor" in r["reason"] for r in rej)
    assert "3 of 6 customers left out" in err and "customer 'w'" in err
    # log-logistic scale >= 1: the mean does not exist: 'inf' is the true answer
    rc, out, err = stderr_of(churn_exe, ["predict", corpus("model_loglogistic_scale_above_1.json"),
                                         corpus("table_surv.csv"), "--horizon", "10"], tmp_path)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rc == 0 and rows and all(r["mean_residual_life"] == "inf" for r in rows)
    assert all(math.isfinite(float(r["median"])) for r in rows if r["median"] != "inf")


def test_one_bad_customer_does_not_sink_the_batch(churn_exe, population, tmp_path):
    pop = population
    args = ["score", pop / "bgnbd.json", pop / "pop_append_spend_extreme.csv", "--cutoff",
            "1997-09-30", "--horizon", "10", "--spend", pop / "gg.json", "--rejects",
            "rej.csv", "-o", "out.csv"]
    for threads in ("1", "2"):
        rc, out, err = stderr_of(churn_exe, [*args, "--threads", threads], tmp_path)
        assert rc == 0, err
        summary = dict(kv.split("=", 1) for kv in err.strip().splitlines()[-1].split()[1:])
        assert summary["customers_scored"] == "300" and summary["customers_unscorable"] == "1"
        assert summary["customers_excluded"] == "1" and summary["status"] == "ok"
        rej = list(csv.DictReader(open(tmp_path / "rej.csv")))
        assert [r["customer_id"] for r in rej] == ["zz"] and "expected spend" in rej[0]["reason"]
        assert "beyond the largest double" in rej[0]["reason"]
        scored = list(csv.DictReader(open(tmp_path / "out.csv")))
        assert len(scored) == 300 and "zz" not in {r["customer_id"] for r in scored}
    # report: the spend fit leaves zz out and says so; zz is not valued
    rc, out, err = stderr_of(churn_exe, ["report", pop / "pop_append_spend_extreme.csv",
                                         "--cutoff", "1997-09-30", "--rejects", "rej.csv",
                                         "-o", "out.csv"], tmp_path)
    assert rc == 0, err
    assert "spend fit leaves out 1 customer" in err and "'zz'" in err
    assert [r["customer_id"] for r in csv.DictReader(open(tmp_path / "rej.csv"))] == ["zz"]
    assert len(list(csv.DictReader(open(tmp_path / "out.csv")))) == 300
    # evaluate: the supervised fits leave zz out (and say so) instead of failing
    rc, out, err = stderr_of(churn_exe, ["evaluate", pop / "pop_append_spend_extreme.csv",
                                         "--cutoff", "1997-09-30", "--holdout-end",
                                         "1997-12-31", "--models", "bgnbd,logit,cox"],
                             tmp_path)
    assert rc == 0, err
    assert "leave out 1 customer" in err and "'zz'" in err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["model"] for r in rows] == ["bgnbd", "logit", "cox"]
    assert all(math.isfinite(float(r["auc"])) for r in rows)
    # overflowing sums stay an error naming the customer (docs/reliability.md)
    rc, out, err = stderr_of(churn_exe, ["score", pop / "bgnbd.json",
                                         pop / "pop_append_overflow.csv", "--cutoff",
                                         "1997-09-30", "--horizon", "10", "--spend",
                                         pop / "gg.json"], tmp_path)
    assert rc == 1 and "customer 'big'" in err and "overflows" in err


def test_messages_name_the_cause(churn_exe, population, tmp_path):
    rc, out, err = stderr_of(churn_exe, ["score", corpus("model_bgnbd_relabelled_cox.json"),
                                         population / "base.csv", "--cutoff", "1997-09-30",
                                         "--horizon", "10", "--unit", "week"], tmp_path)
    # the loader checks each family's parameters: the relabelled file fails on load,
    # naming the family and the fields (the 'columns' message of the issue is gone)
    assert rc == 1 and "relabelled" in err and "a 'cox' model has one coefficient per " \
        "feature" in err and "'r', 'alpha', 'a', 'b'" in err
    assert "'columns'" not in err
    rc, out, err = stderr_of(churn_exe, ["cohorts", corpus("tx_ancient.csv")], tmp_path)
    assert rc == 1 and "0001-01-01" in err and "1998-01-01" in err
    assert "out of memory" not in err
    epoch = corpus("tx_epoch_negative.csv")
    for args in (["features", epoch], ["report", epoch], ["describe", epoch],
                 ["score", population / "bgnbd.json", epoch, "--cutoff", "1970-01-05",
                  "--horizon", "4"],
                 ["score", population / "bgnbd.json", epoch, "--cutoff", "1970-01-05",
                  "--horizon", "4", "--in-memory"]):
        rc, out, err = stderr_of(churn_exe, [*args, "--date-format", "epoch"], tmp_path)
        assert rc == 1 and "transaction 1 (customer 'a')" in err, (args, err)
        assert "0001-01-01 .. 9999-12-31" in err
    rc, out, err = stderr_of(churn_exe, ["features", corpus("tx_far_future.csv"), "--cutoff",
                                         "2024-06-01"], tmp_path)
    assert rc == 0


def test_no_scorable_customer_is_a_failure(churn_exe, population, tmp_path):
    # every expected spend beyond a double: the model, not the data, is at fault
    rc, out, err = stderr_of(churn_exe, ["score", population / "bgnbd.json",
                                         population / "base.csv", "--cutoff", "1997-09-30",
                                         "--horizon", "10", "--spend",
                                         corpus("model_gammagamma_extreme.json"), "--rejects",
                                         "rej.csv", "-o", "out.csv"], tmp_path)
    assert rc == 1 and "no customer could be scored" in err and "expected spend" in err
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "rej.csv").exists()
    assert err.strip().splitlines()[-1].endswith("status=error")
    # the rejects go to a file: standard output carries the scores
    rc, out, err = stderr_of(churn_exe, ["score", population / "bgnbd.json",
                                         population / "base.csv", "--cutoff", "1997-09-30",
                                         "--horizon", "10", "--rejects", "-"], tmp_path)
    assert rc == 2 and "--rejects needs a file name" in err and out == ""


def test_predict_leaves_out_the_rows_it_cannot_score(churn_exe, tmp_path):
    # recency > T, a negative count, a count of 1e300: left out with the library's reason;
    # the two valid customers are scored as they would be alone
    for family in ("bgnbd", "pnbd", "bgbb"):
        args = ["predict", golden(f"golden_v1_{family}.json"), corpus("table_btyd_bad.csv"),
                "--horizon", "5", "--unit", "week", "--rejects", "rej.csv"]
        rc, out, err = stderr_of(churn_exe, args, tmp_path)
        assert rc == 0, err
        assert [r["customer_id"] for r in csv.DictReader(io.StringIO(out))] == ["ok", "zero"]
        rej = {r["customer_id"]: r["reason"] for r in csv.DictReader(open(tmp_path / "rej.csv"))}
        assert set(rej) == {"bad_rec", "neg", "big"}
        assert "'recency': 30 exceeds T = 20" in rej["bad_rec"] and "line 3" in rej["bad_rec"]
        assert "row 0" not in " ".join(rej.values())
        rc, alone, err = stderr_of(churn_exe, ["predict", golden(f"golden_v1_{family}.json"),
                                               corpus("table_btyd_ok.csv"), "--horizon", "5",
                                               "--unit", "week"], tmp_path)
        assert out.splitlines()[1] == alone.splitlines()[1]  # customer 'ok'
