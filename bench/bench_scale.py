#!/usr/bin/env python3
"""Bench for issue 12: score a simulated transaction log end to end on one machine with
`churn score`, next to the two-step `churn features` + `churn predict` path and the same
job on a Dask LocalCluster with 2 workers (churn.dask.customer_table + churn.dask.score).

Usage (from the repository root):
    /usr/bin/python3 bench/bench_scale.py --customers 1000000 [--dask-customers 200000]
        [--churn build/bindings/cli/churn] [--threads 2] [--workdir /tmp/churn-bench] [--keep]

The issue's target is --customers 10000000 (~100 million transactions, a ~2.4 GB CSV).
Sizes are arguments so the bench can run small. The simulated log has about 10
transactions per customer (BG/NBD with r=2, alpha=12, a=0.3, b=6 per week, 78 weeks,
customers acquired over the first 26 weeks).

For the Dask part run with PYTHONPATH=bindings/python and CHURN_LIBRARY pointing at
libchurn.so.1 (the worker processes inherit the environment). --dask-customers 0 skips it.

Peak RSS of `churn score` is the max_rss_kb of its summary line (VmHWM); of the other
commands, os.wait4's ru_maxrss (this script keeps its own memory small because Linux
carries the parent's RSS high-water mark into a forked child's ru_maxrss); for Dask it
is the driver's peak plus each worker's peak (resource.getrusage inside the workers).

--memory-scaling runs only the memory check of issue 12: `churn score` (streaming and
--in-memory) on C customers with ~10 and ~100 transactions each and on 10*C customers
with ~10 each (a long-lived Pareto/NBD population), printing peak RSS per customer and
per transaction.
"""
import argparse
import filecmp
import os
import re
import resource
import shutil
import subprocess
import sys
import time

CUTOFF = "1997-12-31"
SIM = ["--model", "bgnbd", "--seed", "1", "--acquisition-weeks", "26", "--r", "2",
       "--alpha", "12", "--a", "0.3", "--b", "6"]


def run(cmd, stdout=None):
    """Run a command; return (seconds, peak RSS in MB, stderr text)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=stdout or subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.read().decode()
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    rc = os.waitstatus_to_exitcode(status)
    p.returncode = rc
    if rc != 0:
        sys.exit(f"command failed ({rc}): {' '.join(cmd)}\n{err}")
    return dt, ru.ru_maxrss / 1024.0, err


def count_lines(path):
    n = 0
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 24)
            if not b:
                break
            n += b.count(b"\n")
    return n


def compare(cli_csv, dask_dir):
    """Largest |p_alive| difference between `churn score` and the Dask output."""
    import pandas as pd
    a = pd.read_csv(cli_csv, dtype={"customer_id": str}).set_index("customer_id")
    parts = [pd.read_csv(os.path.join(dask_dir, f), dtype={"customer_id": str})
             for f in sorted(os.listdir(dask_dir))]
    b = pd.concat(parts).set_index("customer_id")
    assert len(a) == len(b)
    b = b.loc[a.index]
    return float((a["p_alive"] - b["p_alive"]).abs().max())


def dask_job(tx, model, outdir, nworkers):
    """The same job on a LocalCluster: read CSV, customer table (shuffle by customer),
    score with the model file, write CSV parts. Returns (seconds, driver MB, worker MBs,
    scored rows)."""
    import dask.dataframe as dd
    import distributed

    import churn.dask as cd

    def peak_mb():
        import resource as r
        return r.getrusage(r.RUSAGE_SELF).ru_maxrss / 1024.0

    cluster = distributed.LocalCluster(n_workers=nworkers, threads_per_worker=1,
                                       processes=True, dashboard_address=None,
                                       memory_limit=0)
    client = distributed.Client(cluster)
    try:
        t0 = time.perf_counter()
        ddf = dd.read_csv(tx, blocksize=64 << 20, dtype={"customer_id": str})
        table = cd.customer_table(ddf, cutoff=CUTOFF, unit="week")
        scores = cd.score(table, model, horizon=52)
        if os.path.isdir(outdir):
            shutil.rmtree(outdir)
        scores.to_csv(os.path.join(outdir, "part-*.csv"))
        dt = time.perf_counter() - t0
        workers = list(client.run(peak_mb).values())
    finally:
        client.close()
        cluster.close()
    n = 0
    for f in sorted(os.listdir(outdir)):
        n += count_lines(os.path.join(outdir, f)) - 1
    return dt, peak_mb(), workers, n


# A long-lived Pareto/NBD population (purchase rate ~0.2/week, lifetimes ~1000 weeks):
# the number of transactions grows with the window length, the customers do not.
SIM_LONG = ["--model", "pnbd", "--seed", "7", "--r", "1", "--alpha", "5", "--s", "0.05",
            "--beta", "50"]


def memory_scaling(exe, workdir, customers, threads):
    """`churn score` peak RSS (the summary line's VmHWM) for (customers, transactions):
    C customers over 52 and over 520 weeks (about 10x the transactions), and 10*C
    customers over 52 weeks (from 1997-01-01, scored as of 2007-01-01, after the last
    transaction); streaming and --in-memory. Returns rows for the table."""
    summ = re.compile(r"rows_read=(\d+) .*customers_scored=(\d+) .*seconds=([0-9.]+) "
                      r"max_rss_kb=(\d+) mode=(\w+) status=ok")
    out = []
    jobs = [(customers, 52), (customers, 520), (10 * customers, 52)]
    for n, weeks in jobs:
        tx = os.path.join(workdir, f"long_{n}_{weeks}.csv")
        print(f"simulating {n} customers over {weeks} weeks ...", flush=True)
        run([exe, "simulate", *SIM_LONG, "--customers", str(n), "--weeks", str(weeks),
             "--acquisition-weeks", "0", "-o", tx])
        model = os.path.join(workdir, "long_bgnbd.json")
        if not os.path.exists(model):
            cust = os.path.join(workdir, "long_customers.csv")
            run([exe, "features", tx, "--cutoff", "1997-12-31", "--unit", "week",
                 "--columns", "frequency,recency,T,monetary_value", "-o", cust])
            run([exe, "fit", "bgnbd", cust, "--unit", "week", "-o", model])
        for mode in ("stream", "memory"):
            extra = [] if mode == "stream" else ["--in-memory"]
            # the cutoff is after the last transaction: every row is folded
            dt, _, err = run([exe, "score", model, tx, "--cutoff", "2007-01-01", "--horizon",
                              "52", "--threads", str(threads), "--quiet", *extra,
                              "-o", os.path.join(workdir, "long_scores.csv")])
            m = summ.search(err)
            assert m and m.group(5) == mode, err
            rows, scored, kb = int(m.group(1)), int(m.group(2)), int(m.group(4))
            out.append((mode, scored, rows, dt, kb / 1024.0))
            print(f"  {mode}: {scored} customers, {rows} transactions: {dt:.1f} s, peak "
                  f"{kb / 1024:.0f} MB ({kb * 1024 / scored:.0f} B/customer, "
                  f"{kb * 1024 / rows:.1f} B/transaction)", flush=True)
        os.remove(tx)
    print()
    print(f"{'mode':<8} {'customers':>10} {'transactions':>13} {'seconds':>9} {'peak MB':>9} "
          f"{'B/customer':>11} {'B/transaction':>14}")
    for mode, c, r, dt, mb in out:
        print(f"{mode:<8} {c:>10} {r:>13} {dt:9.1f} {mb:9.0f} {mb * 2**20 / c:11.0f} "
              f"{mb * 2**20 / r:14.1f}")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=int(os.environ.get("BENCH_CUSTOMERS",
                                                                         1_000_000)))
    ap.add_argument("--dask-customers", type=int, default=None,
                    help="size of the Dask run (default: min(customers, 200000); 0 = skip)")
    ap.add_argument("--churn", default=os.environ.get("CHURN_EXE", "build/bindings/cli/churn"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--workdir", default="/tmp/churn-bench-scale")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    ap.add_argument("--memory-scaling", action="store_true",
                    help="only the memory check: score C customers with ~10 and ~100 "
                         "transactions each, and 10*C customers with ~10 (C = --customers)")
    args = ap.parse_args()
    exe = os.path.abspath(args.churn)
    os.makedirs(args.workdir, exist_ok=True)
    if args.memory_scaling:
        memory_scaling(exe, args.workdir, args.customers, args.threads)
        if not args.keep:
            shutil.rmtree(args.workdir, ignore_errors=True)
        return
    w = lambda name: os.path.join(args.workdir, name)  # noqa: E731
    results = []

    def row(step, n_cust, rows, dt, mb, note=""):
        results.append((step, n_cust, rows, dt, mb, note))
        print(f"  {step}: {dt:.1f} s, peak {mb:.0f} MB {note}", flush=True)

    n = args.customers
    print(f"simulating {n} customers ...", flush=True)
    tx = w(f"tx_{n}.csv")
    dt, mb, _ = run([exe, "simulate", *SIM, "--customers", str(n), "-o", tx])
    rows = count_lines(tx) - 1
    size = os.path.getsize(tx)
    row("simulate", n, rows, dt, mb, f"({rows} transactions, {size / 1e9:.2f} GB)")

    # fit: features (week units) then fit bgnbd; this model is what gets scored
    cust, model = w("customers.csv"), w("bgnbd.json")
    dt, mb, _ = run([exe, "features", tx, "--cutoff", CUTOFF, "--unit", "week", "-o", cust])
    row("features", n, rows, dt, mb)
    t_features = dt
    dt, mb, _ = run([exe, "fit", "bgnbd", cust, "--unit", "week", "-o", model])
    row("fit bgnbd", n, rows, dt, mb)
    dt, mb, _ = run([exe, "predict", model, cust, "--horizon", "52", "-o", w("pred.csv")])
    row("predict", n, rows, dt, mb)
    t_two_step = t_features + dt
    results.append(("features + predict", n, rows, t_two_step, None, "two-step baseline"))

    summ = re.compile(r"churn-score: rows_read=(\d+) .*customers_scored=(\d+) .*"
                      r"seconds=([0-9.]+) max_rss_kb=(\d+) mode=(\w+) .*status=ok")
    t_score = {}
    for th in sorted({1, args.threads}):
        dt, mb, err = run([exe, "score", model, tx, "--cutoff", CUTOFF, "--horizon", "52",
                           "--threads", str(th), "-o", w(f"scores_{th}.csv")])
        m = summ.search(err)
        assert m and int(m.group(1)) == rows and int(m.group(2)) == n, err
        print(f"    summary line: max_rss_kb={m.group(4)} seconds={m.group(3)}")
        t_score[th] = dt
        row(f"score --threads {th}", n, rows, dt, int(m.group(4)) / 1024.0,
            f"({m.group(5)}; {rows / dt:,.0f} rows/s, {n / dt:,.0f} customers/s, "
            f"{int(m.group(4)) * 1024 / n:.0f} B/customer)")
    dt, mb, err = run([exe, "score", model, tx, "--cutoff", CUTOFF, "--horizon", "52",
                       "--threads", str(args.threads), "--in-memory", "-o",
                       w("scores_mem.csv")])
    m = summ.search(err)
    row(f"score --in-memory", n, rows, dt, int(m.group(4)) / 1024.0,
        f"({m.group(5)}; {rows / dt:,.0f} rows/s, {int(m.group(4)) * 1024 / rows:.0f} "
        "B/transaction)")
    assert filecmp.cmp(w("scores_mem.csv"), w("scores_1.csv"), shallow=False)
    # compare in chunks: a large parent's RSS would be inherited by the next children's
    # ru_maxrss (Linux keeps the high-water mark across fork + exec)
    same = filecmp.cmp(w("scores_1.csv"), w(f"scores_{args.threads}.csv"), shallow=False)
    print(f"  --threads {args.threads} output identical to --threads 1: {same}")

    dn = min(n, 200_000) if args.dask_customers is None else args.dask_customers
    t_dask = None
    if dn:
        dtx = tx
        if dn != n:
            dtx = w(f"tx_{dn}.csv")
            run([exe, "simulate", *SIM, "--customers", str(dn), "-o", dtx])
        drows = count_lines(dtx) - 1
        dt1, mb1, _ = run([exe, "score", model, dtx, "--cutoff", CUTOFF, "--horizon", "52",
                           "--threads", str(args.threads), "-o", w("scores_small.csv")])
        row(f"score --threads {args.threads}", dn, drows, dt1, mb1,
            f"({drows / dt1:,.0f} rows/s)")
        print(f"dask LocalCluster, {args.workers} workers, {dn} customers ...", flush=True)
        dt, dmb, wmb, nscored = dask_job(dtx, model, w("dask_scores"), args.workers)
        assert nscored == dn, (nscored, dn)
        total = dmb + sum(wmb)
        diff = compare(w("scores_small.csv"), w("dask_scores"))
        print(f"  dask vs churn score: max |p_alive difference| = {diff:.3g}")
        row(f"dask ({args.workers} workers)", dn, drows, dt, total,
            f"(driver {dmb:.0f} MB + workers {' + '.join(f'{x:.0f}' for x in wmb)} MB; "
            f"{drows / dt:,.0f} rows/s)")
        t_dask = (dt, dt1)

    print()
    print(f"{'step':<24} {'customers':>10} {'transactions':>13} {'seconds':>9} "
          f"{'peak MB':>9}  note")
    for step, nc, r, dt, mb, note in results:
        mbs = f"{mb:9.0f}" if mb is not None else f"{'':>9}"
        print(f"{step:<24} {nc:>10} {r:>13} {dt:9.2f} {mbs}  {note}")
    th = args.threads
    print(f"\nratio (features + predict) / score --threads {th}: "
          f"{t_two_step / t_score[th]:.2f}")
    print(f"ratio score --threads 1 / --threads {th}: {t_score[1] / t_score[th]:.2f}")
    if t_dask:
        print(f"ratio dask / score --threads {th} at {dn} customers: "
              f"{t_dask[0] / t_dask[1]:.2f}")
    if not args.keep:
        shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
