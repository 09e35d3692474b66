#!/usr/bin/python3
"""The command's customer-table reader vs pandas.read_csv (issue 22).

Usage (Debian's python3 with pandas):
    /usr/bin/python3 bench/bench_table.py [--exe build/bench/bench_table]
        [--churn build/bindings/cli/churn] [--customers N] [--reps K] [--dir DIR]

Builds the data as the issue does, once, into $CHURN_BENCH_DIR (default
<tmp>/libchurn-bench): `churn simulate --model bgnbd --customers N --seed 7 --r 2
--alpha 12 --a 0.3 --b 6 --weeks 78 --acquisition-weeks 26` (N = $BENCH_TABLE_CUSTOMERS,
default 1,000,000), then `churn features --cutoff 1997-12-31 --holdout-end 1998-06-30`:
one row per customer, 37 columns (the id, 34 numbers, time_unit_days, cutoff). Then K
interleaved rounds ($BENCH_TABLE_REPS, default 3) of, on the same page-cached file:
  - bench_table: the command's reader cli_table_read (bindings/cli/cli.c) alone, and the
    floor, one pass over the same bytes counting the fields;
  - pandas.read_csv of the file (this process's CPU time);
  - `churn fit logit` on the file (the whole command, its CPU time as a child).
Reports the minimum CPU time (user + system) of each over the K rounds and the ratios;
CPU time varies less than wall time on a shared machine.
"""
import argparse
import os
import sys
import tempfile
import time

import pandas as pd

from _benchutil import find, run, self_cpu, child_cpu  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FEATURES = "frequency,recency,T,monetary_value,gap_mean,overdue_ratio,orders_recent,spend_trend"






def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--exe", help="path of the bench_table program")
    ap.add_argument("--churn", help="path of the churn command")
    ap.add_argument("--customers", type=int,
                    default=int(os.environ.get("BENCH_TABLE_CUSTOMERS", "1000000")))
    ap.add_argument("--reps", type=int, default=int(os.environ.get("BENCH_TABLE_REPS", "3")))
    ap.add_argument("--dir", default=os.environ.get("CHURN_BENCH_DIR",
                                                   os.path.join(tempfile.gettempdir(),
                                                                "libchurn-bench")))
    args = ap.parse_args()
    exe = find(args.exe, "CHURN_BENCH_TABLE_EXE", "bench/bench_table", "bench_table")
    churn = find(args.churn, "CHURN_EXE", "bindings/cli/churn", "the churn command")
    os.makedirs(args.dir, exist_ok=True)
    n = args.customers
    tx = os.path.join(args.dir, f"table_tx_{n}.csv")
    table = os.path.join(args.dir, f"table_customers_{n}.csv")
    if not os.path.exists(table):
        print(f"building {n:,} customers into {table} ...", flush=True)
        t0 = time.perf_counter()
        run([churn, "simulate", "--model", "bgnbd", "--customers", str(n), "--seed", "7",
             "--r", "2", "--alpha", "12", "--a", "0.3", "--b", "6", "--weeks", "78",
             "--acquisition-weeks", "26", "-o", tx])
        run([churn, "features", tx, "--cutoff", "1997-12-31", "--holdout-end", "1998-06-30",
             "-o", table + ".part"])
        os.replace(table + ".part", table)
        os.remove(tx)
        print(f"  done in {time.perf_counter() - t0:.1f} s", flush=True)
    mb = os.path.getsize(table) / 1e6
    with open(table, "rb") as f:  # warm the page cache for every reader
        while f.read(1 << 24):
            pass

    ours = floor = pandas = command = None
    rows = cols = None
    for k in range(args.reps):
        out = run([exe, table, "1"])
        last = dict(kv.split("=") for kv in out.strip().splitlines()[-1].split())
        c, fl = float(last["cpu"]), float(last["floor_cpu"])
        rows, cols = int(last["rows"]), int(last["cols"])
        c0 = self_cpu()
        df = pd.read_csv(table)
        pc = self_cpu() - c0
        shape = df.shape
        del df
        c0 = child_cpu()
        run([churn, "fit", "logit", table, "--label", "churned", "--features", FEATURES,
             "-o", os.devnull])
        cc = child_cpu() - c0
        print(f"round {k + 1}: reader {c:.3f} s, floor {fl:.3f} s, pandas.read_csv {pc:.3f} s, "
              f"churn fit logit {cc:.3f} s CPU", flush=True)
        ours = c if ours is None else min(ours, c)
        floor = fl if floor is None else min(floor, fl)
        pandas = pc if pandas is None else min(pandas, pc)
        command = cc if command is None else min(command, cc)
    if shape[0] != rows:
        sys.exit(f"row counts differ: the reader {rows}, pandas {shape[0]}")

    print(f"\nfile: {table}  {rows:,} rows x {shape[1]} columns, {mb:.1f} MB "
          f"(minimum CPU seconds of {args.reps} interleaved rounds)")
    print(f"{'':44s} {'CPU s':>8s} {'MB/s':>8s}")
    print(f"{'churn table reader (cli_table_read)':44s} {ours:8.3f} {mb / ours:8.1f}")
    print(f"{'pandas ' + pd.__version__ + ' read_csv':44s} {pandas:8.3f} {mb / pandas:8.1f}")
    print(f"{'floor: one pass over the bytes':44s} {floor:8.3f} {mb / floor:8.1f}")
    print(f"{'churn fit logit (whole command, 8 features)':44s} {command:8.3f}")
    print(f"ratio pandas.read_csv / churn table reader: {pandas / ours:.2f}x (target >= 3x)")
    print(f"ratio pandas.read_csv / churn fit logit:    {pandas / command:.2f}x")
    print(f"churn table reader / floor:                 {ours / floor:.2f}x")


if __name__ == "__main__":
    main()
