"""`churn score`: raw transactions -> scores in one run (issue 12).

The reference for every score is the two-step path the command replaces:
`churn features` (customer table) then `churn predict` with the same model.
"""
import csv
import gzip
import io
import math
import re
import subprocess

import pytest

CUTOFF = "1997-12-31"
SUMMARY = re.compile(
    r"^churn-score: rows_read=(\d+) rows_rejected=(\d+) customers_scored=(\d+) "
    r"customers_excluded=(\d+) seconds=([0-9.]+) max_rss_kb=(-?\d+) mode=(stream|memory) "
    r"(?:\w+=\S+ )*status=(ok|error|usage)$")  # keys are appended before status (scale.md)


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def summary(stderr):
    last = stderr.strip().splitlines()[-1]
    m = SUMMARY.match(last)
    assert m, f"no summary line at the end of stderr: {stderr!r}"
    keys = ["rows_read", "rows_rejected", "customers_scored", "customers_excluded"]
    d = {k: int(v) for k, v in zip(keys, m.groups()[:4])}
    d["seconds"] = float(m.group(5))
    d["max_rss_kb"] = int(m.group(6))
    d["mode"] = m.group(7)
    d["status"] = m.group(8)
    return d


def close(a, b, rtol=1e-9, atol=1e-12):
    """Both sides are CSV text with 10 significant digits."""
    a, b = float(a), float(b)
    return abs(a - b) <= atol + rtol * abs(b)


@pytest.fixture(scope="module")
def world(tmp_path_factory, churn_exe):
    """A simulated BG/NBD log (with customers acquired after the cutoff), and fitted models."""
    d = tmp_path_factory.mktemp("score")

    def run(*args):
        p = subprocess.run([churn_exe, *map(str, args)], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        return p

    tx = d / "tx.csv"
    run("simulate", "--model", "bgnbd", "--customers", 1500, "--seed", 11,
        "--acquisition-weeks", 40, "-o", tx)
    # three customers first seen after the cutoff: excluded from the table
    with open(tx, "a") as f:
        f.write("new1,1998-01-05,10.5\nnew2,1998-02-01,3\nnew3,1998-03-01,7\nnew1,1998-03-02,1\n")
    cust = d / "cust.csv"
    # daily units: recency and T are whole numbers, so the customer table written by
    # `churn features` is exact and the two-step path loses nothing to CSV rounding
    run("features", tx, "--cutoff", CUTOFF, "--unit", "day", "-o", cust)
    lab = d / "lab.csv"
    run("features", tx, "--cutoff", CUTOFF, "--holdout-end", "1998-06-30", "--unit", "day",
        "-o", lab)
    m = {}
    m["bgnbd"] = d / "bgnbd.json"
    run("fit", "bgnbd", cust, "--unit", "day", "-o", m["bgnbd"])
    m["bgnbd_nounit"] = d / "bgnbd_nounit.json"
    # a hand-made table (no time_unit_days declaration) gives a model of unknown unit
    bare = d / "cust_bare.csv"
    with open(cust) as src, open(bare, "w") as dst:
        for line in src:
            dst.write(",".join(line.rstrip("\n").split(",")[:-2]) + "\n")
    run("fit", "bgnbd", bare, "-o", m["bgnbd_nounit"])
    m["gg"] = d / "gg.json"
    run("fit", "gammagamma", cust, "-o", m["gg"])
    m["logit"] = d / "logit.json"
    run("fit", "logit", lab, "--label", "churned", "--features",
        "frequency,recency,T,orders_recent", "-o", m["logit"])
    m["cox"] = d / "cox.json"
    run("fit", "cox", lab, "--duration", "T", "--event", "churned", "--features",
        "frequency,recency", "--unit", "day", "-o", m["cox"])
    return {"dir": d, "tx": tx, "cust": cust, "lab": lab, "m": m}


def test_bgnbd_equals_features_then_predict(churn, world):
    m = world["m"]["bgnbd"]
    s = churn("score", m, world["tx"], "--cutoff", CUTOFF, "--horizon", 70)
    got = rows(s.stdout)
    assert list(got[0].keys()) == ["customer_id", "frequency", "recency", "T", "p_alive",
                                   "p_churn", "expected_purchases"]
    ref = rows(churn("predict", m, world["cust"], "--horizon", 70).stdout)
    cust = rows(world["cust"].read_text())
    assert [r["customer_id"] for r in got] == [r["customer_id"] for r in ref]
    assert len(got) > 500
    for g, r, c in zip(got, ref, cust):
        for k in ("p_alive", "p_churn", "expected_purchases"):
            assert close(g[k], r[k]), (g["customer_id"], k, g[k], r[k])
        for k in ("frequency", "recency", "T"):
            assert close(g[k], c[k]), (g["customer_id"], k, g[k], c[k])
    # customers first seen after the cutoff are left out and counted
    sm = summary(s.stderr)
    assert sm["status"] == "ok"
    assert sm["customers_scored"] == len(got)
    n_ids = len({r["customer_id"] for r in rows(world["tx"].read_text())})
    assert sm["customers_excluded"] == n_ids - len(got) > 0
    assert sm["rows_read"] == len(world["tx"].read_text().splitlines()) - 1
    assert sm["rows_rejected"] == 0


def test_spend_and_clv_match_predict(churn, world):
    m, gg = world["m"]["bgnbd"], world["m"]["gg"]
    got = rows(churn("score", m, world["tx"], "--cutoff", CUTOFF, "--horizon", 70,
                     "--spend", gg).stdout)
    assert list(got[0].keys())[-2:] == ["expected_spend", "clv"]
    ref = rows(churn("predict", gg, world["cust"]).stdout)
    for g, r in zip(got, ref):
        assert g["customer_id"] == r["customer_id"]
        assert close(g["expected_spend"], r["expected_spend"])
        assert float(g["clv"]) >= 0
    assert sum(float(g["clv"]) for g in got) > 0


def test_gzip_stdin_and_threads_identical(churn, churn_exe, world, tmp_path):
    m, tx = world["m"]["bgnbd"], world["tx"]
    base = churn("score", m, tx, "--cutoff", CUTOFF, "--horizon", 70).stdout
    gz = tmp_path / "tx.csv.gz"
    with gzip.open(gz, "wb") as f:
        f.write(tx.read_bytes())
    assert churn("score", m, gz, "--cutoff", CUTOFF, "--horizon", 70).stdout == base
    # stdin, plain and gzip
    exe = churn_exe
    for data in (tx.read_bytes(), gz.read_bytes()):
        p = subprocess.run([exe, "score", str(m), "-", "--cutoff", CUTOFF, "--horizon", "70",
                            "-o", "-"], input=data, capture_output=True)
        assert p.returncode == 0, p.stderr
        assert p.stdout.decode() == base
    # threads: byte-identical, also with a file output
    for n in (2, 3):
        assert churn("score", m, tx, "--cutoff", CUTOFF, "--horizon", 70, "--threads",
                     n).stdout == base
    spend = ["--spend", world["m"]["gg"]]
    assert churn("score", m, tx, "--cutoff", CUTOFF, "--horizon", 70, *spend).stdout == \
        churn("score", m, gz, "--cutoff", CUTOFF, "--horizon", 70, *spend, "--threads",
              2).stdout
    out = tmp_path / "s.csv"
    churn("score", m, gz, "--cutoff", CUTOFF, "--horizon", 70, "--threads", 2, "-o", out)
    assert out.read_text() == base


def test_unit_rules(churn, world):
    tx = world["tx"]
    m, nounit = world["m"]["bgnbd"], world["m"]["bgnbd_nounit"]
    base = churn("score", m, tx, "--cutoff", CUTOFF, "--horizon", 70).stdout
    # a model without a recorded unit needs --unit
    p = churn("score", nounit, tx, "--cutoff", CUTOFF, "--horizon", 70, check=False)
    assert p.returncode == 2 and "--unit" in p.stderr
    assert summary(p.stderr)["status"] == "usage"
    assert churn("score", nounit, tx, "--cutoff", CUTOFF, "--horizon", 70, "--unit",
                 "day").stdout == base
    # a --unit that contradicts the model's is refused
    p = churn("score", m, tx, "--cutoff", CUTOFF, "--horizon", 70, "--unit", "week",
              check=False)
    assert p.returncode == 2 and "unit" in p.stderr


def test_logit_and_cox_equal_predict(churn, world):
    for fam, extra, cols in (("logit", [], ["p_churn", "linear_predictor"]),
                             ("cox", ["--horizon", 420],
                              ["p_churn", "survival", "linear_predictor"])):
        m = world["m"][fam]
        got = rows(churn("score", m, world["tx"], "--cutoff", CUTOFF, "--unit", "day",
                         *extra).stdout)
        assert list(got[0].keys()) == ["customer_id"] + cols
        ref = rows(churn("predict", m, world["lab"], *extra).stdout)
        assert len(got) == len(ref) > 500
        for g, r in zip(got, ref):
            assert g["customer_id"] == r["customer_id"]
            for k in cols:
                assert close(g[k], r[k]), (fam, g["customer_id"], k, g[k], r[k])
        assert len({g["p_churn"] for g in got}) > 10


def test_bad_rows_counted(churn, world, tmp_path):
    lines = world["tx"].read_text().splitlines()
    bad = lines[:5] + ["42,not-a-date,3.0", "43,1997-02-01,abc"] + lines[5:]
    f = tmp_path / "bad.csv"
    f.write_text("\n".join(bad) + "\n")
    m = world["m"]["bgnbd"]
    p = churn("score", m, f, "--cutoff", CUTOFF, "--horizon", 70, check=False)
    assert p.returncode == 1
    assert "line 6" in p.stderr and "date" in p.stderr
    assert summary(p.stderr)["status"] == "error"
    p = churn("score", m, f, "--cutoff", CUTOFF, "--horizon", 70, "--skip-bad-rows")
    sm = summary(p.stderr)
    assert sm["rows_rejected"] == 2 and sm["rows_read"] == len(bad) - 1
    assert p.stdout == churn("score", m, world["tx"], "--cutoff", CUTOFF, "--horizon",
                             70).stdout


def test_errors_and_exit_codes(churn, world, tmp_path):
    m, tx = world["m"]["bgnbd"], world["tx"]
    # missing --cutoff: usage
    p = churn("score", m, tx, "--horizon", 70, check=False)
    assert p.returncode == 2 and "--cutoff" in p.stderr
    assert summary(p.stderr)["status"] == "usage"
    # missing arguments, bad option values
    assert churn("score", m, check=False).returncode == 2
    assert churn("score", m, tx, "--cutoff", CUTOFF, "--horizon", 70, "--threads", 0,
                 check=False).returncode == 2
    assert churn("score", m, tx, "--cutoff", CUTOFF, "--bogus", check=False).returncode == 2
    p = churn("score", m, tx, "--cutoff", CUTOFF, check=False)
    assert p.returncode == 2 and "--horizon" in p.stderr
    # bad model file
    bad = tmp_path / "bad.json"
    bad.write_text("{ this is not json")
    p = churn("score", bad, tx, "--cutoff", CUTOFF, "--horizon", 70, check=False)
    assert p.returncode == 1 and "model" in p.stderr and "bad.json" in p.stderr
    assert summary(p.stderr)["status"] == "error"
    p = churn("score", tmp_path / "none.json", tx, "--cutoff", CUTOFF, "--horizon", 70,
              check=False)
    assert p.returncode == 1 and "none.json" in p.stderr
    # a gamma-gamma model cannot score on its own; --spend must be gamma-gamma
    p = churn("score", world["m"]["gg"], tx, "--cutoff", CUTOFF, "--horizon", 70, "--unit",
              "week", check=False)
    assert p.returncode == 1 and "gammagamma" in p.stderr
    p = churn("score", m, tx, "--cutoff", CUTOFF, "--horizon", 70, "--spend", m, check=False)
    assert p.returncode == 1 and "gammagamma" in p.stderr
    # bad CSV: missing column, unreadable file
    nocol = tmp_path / "nocol.csv"
    nocol.write_text("customer_id,when,amount\n1,1997-01-01,3\n")
    p = churn("score", m, nocol, "--cutoff", CUTOFF, "--horizon", 70, check=False)
    assert p.returncode == 1 and "date" in p.stderr and "nocol.csv" in p.stderr
    p = churn("score", m, tmp_path / "missing.csv", "--cutoff", CUTOFF, "--horizon", 70,
              check=False)
    assert p.returncode == 1 and "missing.csv" in p.stderr
    # unwritable output
    p = churn("score", m, tx, "--cutoff", CUTOFF, "--horizon", 70, "-o",
              tmp_path / "no" / "dir" / "s.csv", check=False)
    assert p.returncode == 1 and "s.csv" in p.stderr


def test_help_and_quiet(churn, world):
    p = churn("score", "--help")
    assert "--threads" in p.stdout and "churn-score:" in p.stdout and "--skip-bad-rows" in p.stdout
    p = churn("score", world["m"]["bgnbd"], world["tx"], "--cutoff", CUTOFF, "--horizon", 70,
              "--quiet")
    assert len(p.stderr.strip().splitlines()) == 1  # only the summary
    assert summary(p.stderr)["status"] == "ok"


def _run_on_tty(exe, args):
    """Run with stderr on a pseudo-terminal (progress mode); return (rc, stdout, stderr)."""
    import os
    import pty
    master, slave = pty.openpty()
    p = subprocess.Popen([exe, *map(str, args)], stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    out = p.stdout.read()
    p.wait()
    err = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        err += chunk
    os.close(master)
    return p.returncode, out.decode(), err.decode(errors="replace")


def test_progress_mode_same_output(churn, churn_exe, world, tmp_path):
    """On a terminal the input goes through the progress reader: same scores, and
    errors still name the real file."""
    m, tx = world["m"]["bgnbd"], world["tx"]
    base = churn("score", m, tx, "--cutoff", CUTOFF, "--horizon", 70).stdout
    gz = tmp_path / "tx.csv.gz"
    with gzip.open(gz, "wb") as f:
        f.write(tx.read_bytes())
    for src in (tx, gz):
        rc, out, err = _run_on_tty(churn_exe, ["score", m, src, "--cutoff", CUTOFF,
                                               "--horizon", 70, "--threads", 2])
        assert rc == 0, err
        assert out == base
        assert summary(err.replace("\r", "\n").replace("\x1b[K", ""))["status"] == "ok"
    bad = tmp_path / "bad.csv"
    bad.write_text("customer_id,date,amount\n1,1997-01-01,3\n2,nope,4\n")
    rc, out, err = _run_on_tty(churn_exe, ["score", m, bad, "--cutoff", CUTOFF,
                                           "--horizon", 70])
    assert rc == 1 and "bad.csv, line 3" in err and "/dev/fd" not in err


def test_stream_equals_in_memory(churn, world):
    """The default streaming read gives byte-identical scores to --in-memory, for a
    BTYD model with --spend, a logit and a Cox model, in small chunks too."""
    tx, m = world["tx"], world["m"]
    jobs = [[m["bgnbd"], "--horizon", 70, "--spend", m["gg"]],
            [m["logit"], "--unit", "day"],
            [m["cox"], "--horizon", 30]]
    for job in jobs:
        base = churn("score", job[0], tx, "--cutoff", CUTOFF, *job[1:], "--in-memory")
        assert summary(base.stderr)["mode"] == "memory"
        for extra in ([], ["--chunk-rows", 777]):
            p = churn("score", job[0], tx, "--cutoff", CUTOFF, *job[1:], *extra)
            sm = summary(p.stderr)
            assert sm["mode"] == "stream" and sm["status"] == "ok"
            assert p.stdout == base.stdout
            assert sm["customers_excluded"] == 3


def test_unsorted_input(churn, world, tmp_path):
    """A file whose customers' rows are out of time order is read again into memory
    (with a note); on standard input it fails with a hint to sort."""
    import random
    lines = world["tx"].read_text().splitlines()
    body = lines[1:]
    random.Random(5).shuffle(body)
    shuffled = tmp_path / "shuffled.csv"
    shuffled.write_text("\n".join([lines[0]] + body) + "\n")
    m = world["m"]["bgnbd"]
    base = churn("score", m, world["tx"], "--cutoff", CUTOFF, "--horizon", 70).stdout
    p = churn("score", m, shuffled, "--cutoff", CUTOFF, "--horizon", 70)
    assert "note:" in p.stderr and "into memory" in p.stderr and "customer '" in p.stderr
    assert summary(p.stderr)["mode"] == "memory"
    assert sorted(p.stdout.splitlines()) == sorted(base.splitlines())
    p = churn("score", m, "-", "--cutoff", CUTOFF, "--horizon", 70,
              input=shuffled.read_text(), check=False)
    assert p.returncode == 1 and "sort" in p.stderr and "time order" in p.stderr
    assert summary(p.stderr)["status"] == "error"
    # sorted by customer then date streams as well as sorted by date
    by_cust = sorted(lines[1:], key=lambda r: (r.split(",")[0], r.split(",")[1]))
    f = tmp_path / "by_customer.csv"
    f.write_text("\n".join([lines[0]] + by_cust) + "\n")
    p = churn("score", m, f, "--cutoff", CUTOFF, "--horizon", 70)
    assert summary(p.stderr)["mode"] == "stream"
    assert sorted(p.stdout.splitlines()) == sorted(base.splitlines())


def test_memory_bounded_by_customers(churn, tmp_path):
    """Ten times the transactions for the same customers: the streaming peak RSS
    stays (nearly) flat while the in-memory peak grows with the transactions."""
    logs = {}
    for weeks in (52, 520):
        tx = tmp_path / f"tx{weeks}.csv"
        churn("simulate", "--model", "pnbd", "--customers", 20000, "--seed", 3, "--weeks",
              weeks, "--r", 2, "--alpha", 4, "--s", 0.05, "--beta", 50, "-o", tx)
        logs[weeks] = tx
    cust = tmp_path / "c.csv"
    churn("features", logs[52], "--unit", "week", "-o", cust)
    model = tmp_path / "m.json"
    churn("fit", "bgnbd", cust, "--unit", "week", "-o", model)
    rss, nrows = {}, {}
    for weeks, tx in logs.items():
        for mode in ("stream", "memory"):
            extra = ["--chunk-rows", 20000] if mode == "stream" else ["--in-memory"]
            p = churn("score", model, tx, "--cutoff", "2000-01-01", "--horizon", 10, *extra,
                      "-o", tmp_path / "s.csv")
            sm = summary(p.stderr)
            rss[weeks, mode] = sm["max_rss_kb"]
            nrows[weeks] = sm["rows_read"]
    assert nrows[520] > 8 * nrows[52]
    grow_mem = rss[520, "memory"] - rss[52, "memory"]
    grow_stream = rss[520, "stream"] - rss[52, "stream"]
    print(f"rows {nrows}; peak RSS kB {rss}")
    assert grow_mem > 20000  # the in-memory log grows by > 20 MB
    assert grow_stream < 0.15 * grow_mem
