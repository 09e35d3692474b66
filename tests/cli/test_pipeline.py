"""Issue 20: a scheduler can trust the command's exit status, output file and summary line.

-o FILE is written to a temporary file and renamed when complete (a kill or a full disk
leaves FILE as it was); SIGTERM and a closed pipe leave the summary line with their own
status; an output path that cannot be written fails before any input is read.
"""
import math
import os
import resource
import signal
import subprocess
import time

import pytest

CUTOFF = "2024-12-01"


@pytest.fixture(scope="module")
def big(tmp_path_factory, churn_exe):
    d = tmp_path_factory.mktemp("pipeline")
    tx = d / "tx.csv"
    subprocess.run([churn_exe, "simulate", "--model", "bgnbd", "--customers", "300000",
                    "--seed", "9", "--start", "2024-01-01", "--weeks", "52", "-o", str(tx)],
                   check=True, capture_output=True)
    feats = d / "f.csv"
    subprocess.run([churn_exe, "features", str(tx), "--cutoff", CUTOFF, "--unit", "week",
                    "--columns", "frequency,recency,T", "-o", str(feats)],
                   check=True, capture_output=True)
    model = d / "m.json"
    subprocess.run([churn_exe, "fit", "bgnbd", str(feats), "-o", str(model)], check=True,
                   capture_output=True)
    return {"d": d, "tx": tx, "model": model}


def last_line(text):
    return text.strip().splitlines()[-1]


def temporaries(folder):
    return [p for p in os.listdir(folder) if ".churn-" in p]


def test_sigterm_mid_write_leaves_target_and_summary(churn_exe, big, tmp_path):
    out = tmp_path / "scores.csv"
    out.write_text("yesterday's scores\n")
    p = subprocess.Popen([churn_exe, "score", str(big["model"]), str(big["tx"]), "--cutoff",
                          CUTOFF, "--horizon", "52", "--in-memory", "-o", str(out)],
                         stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 20
    while not temporaries(tmp_path) and time.time() < deadline and p.poll() is None:
        time.sleep(0.005)
    assert temporaries(tmp_path), "the temporary output never appeared"
    p.send_signal(signal.SIGTERM)
    err = p.communicate(timeout=30)[1]
    assert p.returncode == -signal.SIGTERM  # the shell reports 143
    assert out.read_text() == "yesterday's scores\n"
    assert temporaries(tmp_path) == []
    line = last_line(err)
    assert line.startswith("churn-score: ") and line.endswith("status=interrupted")


def test_complete_run_replaces_target(churn, big, tmp_path):
    out = tmp_path / "scores.csv"
    out.write_text("old\n")
    out.chmod(0o640)
    churn("score", big["model"], big["tx"], "--cutoff", CUTOFF, "--horizon", 52, "-o", out)
    lines = out.read_text().splitlines()
    assert len(lines) == 300001 and lines[0].startswith("customer_id,")
    assert oct(out.stat().st_mode & 0o777) == oct(0o640)  # the target's permissions kept
    assert temporaries(tmp_path) == []


def _full_disk(folder):
    """A 1 MiB tmpfs under `folder` when this process may mount one, else None."""
    mnt = folder / "tiny"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
                       capture_output=True)
    return mnt if r.returncode == 0 else None


def test_full_disk_leaves_target_and_names_reason(churn_exe, big, tmp_path):
    mnt = _full_disk(tmp_path)
    try:
        folder = mnt or tmp_path
        out = folder / "features.csv"
        out.write_text("old\n")
        kw = {}
        if mnt is None:  # no mount permission: a file-size limit is the same kind of failure
            def limit():
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
            kw["preexec_fn"] = limit
        p = subprocess.run([churn_exe, "features", str(big["tx"]), "--cutoff", CUTOFF,
                            "-o", str(out)], capture_output=True, text=True, **kw)
        assert p.returncode == 1
        reason = "No space left on device" if mnt else "File too large"
        assert reason in p.stderr and "features.csv" in p.stderr
        assert out.read_text() == "old\n"
        assert temporaries(folder) == []
    finally:
        if mnt:
            subprocess.run(["umount", str(mnt)], check=False)


def test_closed_pipe_gives_broken_pipe_summary(churn_exe, big):
    p = subprocess.Popen([churn_exe, "score", str(big["model"]), str(big["tx"]), "--cutoff",
                          CUTOFF, "--horizon", "52"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    first = p.stdout.readline()
    p.stdout.close()  # as `| head -1` does
    err = p.stderr.read()
    p.wait(timeout=60)
    assert first.startswith("customer_id,")
    assert p.returncode == 141
    line = last_line(err)
    assert line.startswith("churn-score: ") and line.endswith("status=broken_pipe")


def test_unwritable_target_fails_before_reading(churn_exe, big, tmp_path):
    # standard input that never ends: a check after reading would hang
    r, w = os.pipe()
    try:
        p = subprocess.run([churn_exe, "score", str(big["model"]), "-", "--cutoff", CUTOFF,
                            "--horizon", "52", "-o", str(tmp_path / "no" / "such" / "x.csv")],
                           stdin=r, capture_output=True, text=True, timeout=10)
    finally:
        os.close(r)
        os.close(w)
    assert p.returncode == 1
    assert "no/such" in p.stderr and "No such file or directory" in p.stderr
    assert last_line(p.stderr).endswith("status=error")
    p = subprocess.run([churn_exe, "features", str(big["tx"]), "-o", str(tmp_path)],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 1 and "is a directory" in p.stderr


def test_evaluate_drops_constant_default_feature(churn, tmp_path):
    """Every customer acquired the same day: T is constant. The default feature set drops
    it with a note (exit 0); a feature list naming T still fails, naming the problem."""
    tx = tmp_path / "tx.csv"
    churn("simulate", "--model", "bgnbd", "--customers", 3000, "--seed", 4, "--start",
          "2024-01-01", "--weeks", 52, "-o", tx)
    p = churn("evaluate", tx, "--cutoff", "2024-09-01", "--holdout-end", "2024-12-31")
    assert "'T' (constant)" in p.stderr
    rows = [r.split(",") for r in p.stdout.strip().splitlines()[1:]]
    assert {r[0] for r in rows} == {"bgnbd", "pnbd", "logit", "cox"}
    assert all(0.5 < float(r[1]) < 1 for r in rows)  # every model has an AUC
    p = churn("evaluate", tx, "--cutoff", "2024-09-01", "--holdout-end", "2024-12-31",
              "--models", "cox", "--features", "frequency,T", check=False)
    assert p.returncode == 1 and "collinear" in p.stderr


def test_dert_in_predict_and_report(churn, tmp_path):
    """--dert: DERT = delta * integral of exp(-delta t) E[X(T, T + t)] dt, checked against
    scipy's quadrature of the BG/NBD closed form (Fader, Hardie & Lee 2005, eq. 10)."""
    scipy = pytest.importorskip("scipy")
    from scipy import integrate, special
    r, alpha, a, b = 0.2425945, 4.4136019, 0.7929199, 2.4258881
    model = tmp_path / "bg.json"
    model.write_text('{"format": "libchurn-model", "format_version": 1, "family": "bgnbd", '
                     '"time_unit_days": 7, "param_names": ["r", "alpha", "a", "b"], '
                     f'"params": [{r}, {alpha}, {a}, {b}], "std_errors": [0, 0, 0, 0]}}')
    rows = [(0, 0.0, 38.86), (2, 30.43, 38.86), (26, 30.857, 31.0), (1, 2.0, 35.0)]
    table = tmp_path / "t.csv"
    table.write_text("customer_id,frequency,recency,T,time_unit_days\n" +
                     "".join(f"c{i},{x},{tx},{T},7\n" for i, (x, tx, T) in enumerate(rows)))

    def expected(t, x, tx, T):
        z = t / (alpha + T + t)
        head = (a + b + x - 1) / (a - 1)
        tail = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * \
            special.hyp2f1(r + x, b + x, a + b + x - 1, z)
        alive = 1 + (x > 0) * (a / (b + x - 1)) * ((alpha + T) / (alpha + tx)) ** (r + x)
        return head * tail / alive

    delta = 0.15 / 52  # 15% a year, continuously compounded, per week
    out = churn("predict", model, table, "--horizon", 52, "--dert", delta).stdout.splitlines()
    assert out[0] == "customer_id,p_alive,expected_purchases,p_churn,dert"
    for line, (x, tx, T) in zip(out[1:], rows):
        got = float(line.split(",")[4])
        ref = delta * integrate.quad(lambda t: math.exp(-delta * t) * expected(t, x, tx, T),
                                     0, float("inf"), epsabs=0, epsrel=1e-11, limit=500)[0]
        assert abs(got - ref) <= 1e-7 * ref, (x, tx, T, got, ref)
        # and the 52-week expectation is the closed form too
        assert abs(float(line.split(",")[2]) - expected(52, x, tx, T)) <= 1e-8
    p = churn("predict", tmp_path / "bg.json", table, "--horizon", 52, "--dert", 0,
              check=False)
    assert p.returncode == 2 and "--dert" in p.stderr
    # the report gains the column; a lower rate gives a larger value
    tx = tmp_path / "tx.csv"
    churn("simulate", "--model", "bgnbd", "--customers", 500, "--seed", 2, "--start",
          "2024-01-01", "--weeks", 52, "--acquisition-weeks", 20, "-o", tx)
    hi, lo = tmp_path / "hi.csv", tmp_path / "lo.csv"
    churn("report", tx, "--cutoff", "2024-11-01", "--dert", 0.01, "-o", hi)
    churn("report", tx, "--cutoff", "2024-11-01", "--dert", 0.001, "-o", lo)
    hrows = [l.split(",") for l in hi.read_text().splitlines()]
    lrows = [l.split(",") for l in lo.read_text().splitlines()]
    # dert keeps its place after alerts (column 14); the action-list columns of issue 25
    # come after it
    k = hrows[0].index("dert")
    assert k == 13 and hrows[0][k - 1] == "alerts" and len(hrows) == 501
    assert all(0 < float(h[k]) < float(l[k]) for h, l in zip(hrows[1:], lrows[1:]))


def _summary(stderr):
    line = last_line(stderr)
    assert line.startswith("churn-score: ")
    return dict(kv.split("=", 1) for kv in line.split()[1:])


def test_truncated_gzip_is_an_error(churn_exe, big, tmp_path):
    """A gzip stream cut at a line boundary (no trailer) or at a random byte: exit 1 naming
    the file and how far it got, with or without --skip-bad-rows."""
    import gzip
    import zlib
    data = big["tx"].read_bytes()
    lines = data.split(b"\n")
    half = b"\n".join(lines[:len(lines) // 2]) + b"\n"
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    linecut = tmp_path / "linecut.csv.gz"
    linecut.write_bytes(c.compress(half) + c.flush(zlib.Z_SYNC_FLUSH))  # no gzip trailer
    whole = gzip.compress(data)
    bytecut = tmp_path / "bytecut.csv.gz"
    bytecut.write_bytes(whole[:len(whole) * 11 // 20])
    for path in (linecut, bytecut):
        for extra in ([], ["--skip-bad-rows"]):
            p = subprocess.run([churn_exe, "score", str(big["model"]), str(path), "--cutoff",
                                CUTOFF, "--horizon", "52", *extra], capture_output=True,
                               text=True)
            assert p.returncode == 1, (path, extra)
            assert path.name in p.stderr and "truncated or corrupt" in p.stderr
            s = _summary(p.stderr)
            assert s["status"] == "error" and int(s["rows_read"]) > 100000
            p = subprocess.run([churn_exe, "describe", str(path), *extra], capture_output=True,
                               text=True)
            assert p.returncode == 1 and "truncated or corrupt" in p.stderr


def test_header_only_input_is_an_empty_night(churn_exe, big, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("customer_id,date,amount\n")
    out = tmp_path / "scores.csv"
    p = subprocess.run([churn_exe, "score", str(big["model"]), str(empty), "--cutoff", CUTOFF,
                        "--horizon", "52", "-o", str(out)], capture_output=True, text=True)
    assert p.returncode == 0
    assert out.read_text() == "customer_id,frequency,recency,T,p_alive,p_churn,expected_purchases\n"
    s = _summary(p.stderr)
    assert s["status"] == "empty" and s["customers_scored"] == "0" and s["rows_read"] == "0"
    # from standard input, in memory too
    p = subprocess.run([churn_exe, "score", str(big["model"]), "-", "--cutoff", CUTOFF,
                        "--horizon", "52", "--in-memory"], input="customer_id,date,amount\n",
                       capture_output=True, text=True)
    assert p.returncode == 0 and _summary(p.stderr)["status"] == "empty"


def test_rows_read_is_exact_on_failure(churn_exe, big, tmp_path):
    lines = big["tx"].read_text().splitlines()
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines[:5501] + ["x,notadate,1"] + lines[5501:9000]) + "\n")
    for extra in (["--chunk-rows", "1000"], ["--in-memory"]):
        p = subprocess.run([churn_exe, "score", str(big["model"]), str(bad), "--cutoff", CUTOFF,
                            "--horizon", "52", *extra], capture_output=True, text=True)
        assert p.returncode == 1 and "line 5502" in p.stderr
        assert _summary(p.stderr)["rows_read"] == "5501"  # 5500 good rows and the bad one


def test_binary_and_endless_input_fail_fast(churn_exe, tmp_path):
    for args in (["describe", "/dev/zero"], ["fit", "bgnbd", "/dev/zero"]):
        p = subprocess.run([churn_exe, *args], capture_output=True, text=True, timeout=5)
        assert p.returncode == 1 and "/dev/zero" in p.stderr and "NUL byte" in p.stderr
    endless = tmp_path / "endless.csv"
    with open(endless, "w") as f:
        f.write("customer_id,date,amount\n")
        f.write("x" * (20 << 20))
    p = subprocess.run([churn_exe, "describe", str(endless)], capture_output=True, text=True,
                       timeout=10)
    assert p.returncode == 1 and "byte offset 24" in p.stderr and "line 2" in p.stderr
