#!/usr/bin/python3
"""Bench of the customer table (issue 3) against pandas, on the same data, in one run.

Runs bench_features (C): it generates N transactions over C customers in memory,
times churn_customers_build for the same four columns pandas computes (option
`columns`) and for the whole table (~30 columns), and two floors (a plain
pass summing the amounts; per-customer sums), and writes the raw arrays. Then times
a pandas groupby computing only the core BTYD columns (frequency, recency, T,
monetary_value, lifetimes' definitions with same-day purchases merged) on the same
rows, checks that both agree, and prints the ratios and peak RSS.

usage: bench_features.py [--exe build/bench/bench_features] [--tx N] [--customers C]
env: BENCH_TX, BENCH_CUSTOMERS (defaults 10000000 and 1000000), BENCH_SHUFFLE=1.
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


def pandas_core(cust_id, times, amounts):
    """frequency, recency, T, monetary_value in days, cutoff = last day (lifetimes)."""
    df = pd.DataFrame({"c": cust_id, "day": np.floor(times / 86400.0).astype(np.int64),
                       "a": amounts})
    cut = df["day"].max()
    # one purchase per customer and day, value = the day's sum
    per_day = df.groupby(["c", "day"], sort=True)["a"].sum().reset_index()
    g = per_day.groupby("c", sort=False)
    agg = g.agg(first=("day", "min"), last=("day", "max"), n=("day", "size"),
                total=("a", "sum"), first_amount=("a", "first"))
    out = pd.DataFrame(index=agg.index)
    out["frequency"] = agg["n"] - 1
    out["recency"] = (agg["last"] - agg["first"]).astype(float)
    out["T"] = (cut - agg["first"]).astype(float)
    rep = out["frequency"] > 0
    out["monetary_value"] = np.where(rep, (agg["total"] - agg["first_amount"]) /
                                     out["frequency"].where(rep, 1), 0.0)
    return out


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--exe", default=os.environ.get("BENCH_FEATURES_EXE",
                                                    os.path.join(here, "..", "build", "bench",
                                                                 "bench_features")))
    ap.add_argument("--tx", type=float, default=float(os.environ.get("BENCH_TX", 1e7)))
    ap.add_argument("--customers", type=float,
                    default=float(os.environ.get("BENCH_CUSTOMERS", 1e6)))
    args = ap.parse_args()
    n, c = int(args.tx), int(args.customers)
    with tempfile.TemporaryDirectory(prefix="bench_features_") as d:
        p = subprocess.run([args.exe, str(n), str(c), d], capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"{args.exe} failed:\n{p.stderr}")
        res = dict(line.split(" ", 1) for line in p.stdout.strip().splitlines())
        cust = np.fromfile(os.path.join(d, "cust.u32"), dtype=np.uint32)
        times = np.fromfile(os.path.join(d, "time.f64"))
        amounts = np.fromfile(os.path.join(d, "amount.f64"))
        custid = np.fromfile(os.path.join(d, "custid.i64"), dtype=np.int64)
        ids = np.fromfile(os.path.join(d, "ids.i64"), dtype=np.int64)
        ours = {k: np.fromfile(os.path.join(d, k + ".f64"))
                for k in ("frequency", "recency", "T", "monetary_value")}
    cust_id = custid[cust]
    del cust
    best = best_cpu = float("inf")
    reps = 2 if n >= 5_000_000 else 3
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        ref = pandas_core(cust_id, times, amounts)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    # agreement check (not timed)
    ref = ref.reindex(ids)
    worst = max(float(np.max(np.abs(ref[k].to_numpy() - ours[k]) /
                             np.maximum(1.0, np.abs(ref[k].to_numpy())))) for k in ours)
    build = float(res["build_seconds"])
    floor = float(res["floor_sum_seconds"])
    gfloor = float(res["floor_groupsum_seconds"])
    core = float(res["build_core_seconds"])
    core_cpu = float(res["build_core_cpu_seconds"])
    build_cpu = float(res["build_cpu_seconds"])
    floor_cpu = float(res["floor_sum_cpu_seconds"])
    gfloor_cpu = float(res["floor_groupsum_cpu_seconds"])
    py_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"transactions            {n}")
    print(f"customers               {c} ({res['rows']} rows x {res['columns']} columns; "
          f"rows in {res['order']} order)")
    print("                          wall (best)   CPU (best)   [CPU = process time, steadier"
          " on a shared machine]")
    for name, w, cpu in [("floor: sum of amounts", floor, floor_cpu),
                         ("floor: per-customer sum", gfloor, gfloor_cpu),
                         ("churn: 4 core columns", core, core_cpu),
                         (f"churn: all {res['columns']} columns", build, build_cpu),
                         ("pandas groupby (4 cols)", best, best_cpu)]:
        print(f"{name:24s} {w * 1e3:10.1f} ms {cpu * 1e3:10.1f} ms")
    print("same 4 columns (columns='frequency,recency,T,monetary_value'):")
    print(f"  speed-up vs pandas    {best / core:10.1f} x {best_cpu / core_cpu:10.1f} x"
          "   (target >= 50)")
    print(f"  / sum floor           {core / floor:10.1f} x {core_cpu / floor_cpu:10.1f} x"
          "   (aim <= 5)")
    print(f"  / group-sum floor     {core / gfloor:10.1f} x {core_cpu / gfloor_cpu:10.1f} x")
    print(f"the whole table ({res['columns']} columns, incl. gap_median: grouping path):")
    print(f"  speed-up vs pandas    {best / build:10.1f} x {best_cpu / build_cpu:10.1f} x")
    print(f"  / sum floor           {build / floor:10.1f} x {build_cpu / floor_cpu:10.1f} x")
    print(f"max relative difference vs pandas on the core columns: {worst:.3g}")
    mb = 1024.0
    print(f"C process: log {int(res['log_bytes']) / 2**20:.0f} MB + table "
          f"{int(res['table_bytes']) / 2**20:.0f} MB; RSS after the log "
          f"{int(res['rss_after_log_kb']) / mb:.0f} MB, peak RSS "
          f"{int(res['peak_rss_kb']) / mb:.0f} MB (whole table)")
    pc, bc = int(res["peak_rss_core_kb"]), int(res["rss_before_core_kb"])
    if pc > 0:
        print(f"4-column build: peak RSS {pc / mb:.0f} MB, {(pc - bc) / mb:.0f} MB above the "
              f"{bc / mb:.0f} MB before it (table {int(res['rows']) * 32 / 2**20:.0f} MB + "
              "32 bytes per customer of running summaries + ids)")
    print(f"python process peak RSS {py_rss / mb:.0f} MB")
    if worst > 1e-9:
        sys.exit("the core columns differ from pandas")


if __name__ == "__main__":
    main()
