#!/usr/bin/python3
"""CSV reader speed: libchurn's churn_txlog_read_csv vs pandas.read_csv with date parsing.

Usage (Debian's python3 with pandas):
    /usr/bin/python3 bench/bench_csv.py [ROWS] [--exe build/bench/bench_csv] [--repeat K]

ROWS defaults to $CHURN_BENCH_ROWS or 10,000,000. The generated file
(customer_id,date,amount; ~ROWS/10 customers, dates in time order over two
years, lognormal amounts with 1% refunds and 0.5% free orders) is written once
into $CHURN_BENCH_DIR (default: <tmp>/libchurn-bench) and reused by later runs.
Both readers run in the same run on the same (page-cached) file; the best of K
runs of each is reported, with MB/s and the speed ratio, in wall-clock time and
in CPU time (user + system), which varies less on a busy shared machine.
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def generate(path, rows, seed=20240501):
    rng = np.random.default_rng(seed)
    ncust = max(1, rows // 10)
    ids = rng.permutation(ncust) + 100001           # customer ids as integers
    start = np.datetime64("2022-01-01")
    chunk = 1_000_000
    tmp = path + ".part"
    # dates in time order: sorted uniform offsets over two years, drawn per chunk
    day_edges = np.linspace(0, 730, num=(rows + chunk - 1) // chunk + 1)
    with open(tmp, "w") as f:
        f.write("customer_id,date,amount\n")
        done, k = 0, 0
        while done < rows:
            m = min(chunk, rows - done)
            cust = ids[rng.integers(0, ncust, size=m)]
            days = np.sort(rng.uniform(day_edges[k], day_edges[k + 1], size=m)).astype(np.int64)
            dates = (start + days.astype("timedelta64[D]")).astype(str)
            cents = np.round(rng.lognormal(3.0, 1.0, size=m) * 100).astype(np.int64)
            u = rng.uniform(size=m)
            cents[u < 0.01] *= -1
            cents[(u >= 0.01) & (u < 0.015)] = 0
            amount = cents / 100.0
            pd.DataFrame({"customer_id": cust, "date": dates, "amount": amount}).to_csv(
                f, header=False, index=False, float_format="%.2f")
            done += m
            k += 1
    os.replace(tmp, path)


def find_exe(given):
    cands = [given] if given else []
    env = os.environ.get("CHURN_BENCH_EXE")
    if env:
        cands.append(env)
    for d in sorted(os.listdir(ROOT)):
        if d.startswith("build"):
            cands.append(os.path.join(ROOT, d, "bench", "bench_csv"))
    for c in cands:
        if c and os.path.exists(c):
            return c
    sys.exit("bench_csv program not found: build it (ninja -C <builddir> bench/bench_csv) "
             "and pass --exe")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rows", nargs="?", type=int,
                    default=int(os.environ.get("CHURN_BENCH_ROWS", "10000000")))
    ap.add_argument("--exe", help="path of the bench_csv program")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each reader (best is kept)")
    ap.add_argument("--dir", default=os.environ.get("CHURN_BENCH_DIR",
                                                   os.path.join(tempfile.gettempdir(),
                                                                "libchurn-bench")))
    args = ap.parse_args()
    exe = find_exe(args.exe)
    os.makedirs(args.dir, exist_ok=True)
    path = os.path.join(args.dir, f"tx_{args.rows}.csv")
    if not os.path.exists(path):
        print(f"generating {args.rows:,} rows into {path} ...", flush=True)
        t0 = time.perf_counter()
        generate(path, args.rows)
        print(f"  done in {time.perf_counter() - t0:.1f} s", flush=True)
    mb = os.path.getsize(path) / 1e6
    with open(path, "rb") as f:           # warm the page cache for both readers
        while f.read(1 << 24):
            pass

    out = subprocess.run([exe, path, str(args.repeat)], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"bench_csv failed:\n{out.stdout}{out.stderr}")
    last = dict(kv.split("=") for kv in out.stdout.strip().splitlines()[-1].split())
    ours, ours_cpu, ours_rows = float(last["seconds"]), float(last["cpu"]), int(last["rows"])

    def cpu():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    best = best_cpu = None
    for _ in range(args.repeat):
        t0, c0 = time.perf_counter(), cpu()
        df = pd.read_csv(path, parse_dates=["date"])
        dt, dc = time.perf_counter() - t0, cpu() - c0
        best = dt if best is None else min(best, dt)
        best_cpu = dc if best_cpu is None else min(best_cpu, dc)
    assert str(df["date"].dtype).startswith("datetime64"), "pandas did not parse the dates"
    pd_rows = len(df)
    del df
    if pd_rows != ours_rows:
        sys.exit(f"row counts differ: libchurn {ours_rows}, pandas {pd_rows}")

    print(f"file: {path}  {ours_rows:,} rows, {last['customers']} customers, {mb:.1f} MB")
    print(f"{'reader':36s} {'wall s':>8s} {'MB/s':>8s} {'M rows/s':>9s} {'CPU s':>8s}")
    print(f"{'libchurn churn_txlog_read_csv':36s} {ours:8.3f} {mb / ours:8.1f} "
          f"{ours_rows / ours / 1e6:9.2f} {ours_cpu:8.3f}")
    print(f"{'pandas ' + pd.__version__ + ' read_csv(parse_dates)':36s} {best:8.3f} "
          f"{mb / best:8.1f} {pd_rows / best / 1e6:9.2f} {best_cpu:8.3f}")
    print(f"ratio (pandas / libchurn): wall time {best / ours:.2f}x, CPU time "
          f"{best_cpu / ours_cpu:.2f}x")


if __name__ == "__main__":
    main()
