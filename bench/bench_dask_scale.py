#!/usr/bin/env python3
"""Bench for issue 12, Dask half: fit and score a simulated transaction log that is
already partitioned by customer, on a distributed.LocalCluster (default 2 worker
processes, one thread each).

Usage (from the repository root):
    PYTHONPATH=bindings/python CHURN_LIBRARY=$PWD/build/lib/libchurn.so.1 \\
    /usr/bin/python3 bench/bench_dask_scale.py --customers 10000000 [--shards 20]
        [--workers 2] [--jobs 2] [--gzip] [--churn build/bindings/cli/churn]
        [--workdir /tmp/churn-bench-dask] [--keep] [--reuse]

Input: K shards, each written by `churn simulate` with the model parameters of
bench_scale.py (BG/NBD r=2, alpha=12, a=0.3, b=6 per week, 78 weeks, acquisition over
26 weeks), `--customers N/K`, seed i+1 and id prefix "s<i>_" for shard i, so the shards
hold disjoint customers: the layout of a data lake partitioned by customer. --jobs
shards are generated at a time; --gzip compresses them (gzip -1).

The Dask job, on a LocalCluster started for each pass (so each pass's worker peaks are
its own):
  1. fit:   dd.read_csv(shards, blocksize=None) (one partition per shard) ->
            churn.dask.customer_table(partitioned=True, no shuffle) ->
            churn.dask.fit_btyd('bgnbd') (only the distinct (frequency, recency, T) rows
            with counts reach the driver); the model is saved as a model file;
  2. score: the same table -> churn.dask.score(model file, horizon=52) -> to_csv parts
            (part-NNNN.csv holds shard NNNN's customers).
The table is not persisted between the passes: each pass reads the CSVs again, so a
worker holds one shard at a time.

Checks: the scored row count equals --customers; for two shards (the first and the
last) `churn score` with the same model file on that shard alone gives the same
customers and p_alive (largest absolute difference printed; the CSVs carry 10
significant digits). For reference the model is also fitted on shard 0 alone with
`churn features` + `churn fit bgnbd --unit week`.

Peak RSS: the driver's (this process, getrusage) and each worker's (getrusage inside
the worker via client.run at the end of the pass, with its CPU seconds, which are less
sensitive than wall time to other jobs on the machine); `churn simulate`'s from
os.wait4.
"""
import argparse
import gzip
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_scale import CUTOFF, SIM, run  # noqa: E402

TRUE = {"r": 2.0, "alpha": 12.0, "a": 0.3, "b": 6.0}


def sim_args(seed):
    """SIM with the seed replaced."""
    out, i = [], 0
    while i < len(SIM):
        if SIM[i] == "--seed":
            i += 2
            continue
        out.append(SIM[i])
        i += 1
    return out + ["--seed", str(seed)]


def count_rows(path):
    """Data rows of a CSV (plain or gzip), header excluded."""
    opener = gzip.open if path.endswith(".gz") else open
    n = 0
    with opener(path, "rb") as f:
        while True:
            b = f.read(1 << 24)
            if not b:
                break
            n += b.count(b"\n")
    return n - 1


def self_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def self_cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def worker_usage():
    """(peak RSS MB, CPU seconds) of the calling process; run in the workers."""
    import resource as r
    u = r.getrusage(r.RUSAGE_SELF)
    return u.ru_maxrss / 1024.0, u.ru_utime + u.ru_stime


def generate(exe, n, k, workdir, use_gzip, jobs, reuse):
    """Write K shards, `jobs` at a time; returns (paths, seconds, largest `churn simulate`
    peak MB, shards written)."""
    from concurrent.futures import ThreadPoolExecutor
    sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
    ext = ".csv.gz" if use_gzip else ".csv"
    paths = [os.path.join(workdir, f"shard-{i:03d}{ext}") for i in range(k)]
    todo = [i for i in range(k) if not (reuse and os.path.exists(paths[i]))]

    def one(i):
        cmd = [exe, "simulate", *sim_args(i + 1), "--customers", str(sizes[i]),
               "--id-prefix", f"s{i}_"]
        tmp = paths[i] + ".tmp"
        if use_gzip:
            with open(tmp, "wb") as out:
                p = subprocess.Popen(cmd, stdout=subprocess.PIPE)
                z = subprocess.Popen(["gzip", "-1", "-c"], stdin=p.stdout, stdout=out)
                p.stdout.close()
                _, status, ru = os.wait4(p.pid, 0)
                p.returncode = os.waitstatus_to_exitcode(status)
                zrc = z.wait()
        else:
            p = subprocess.Popen(cmd + ["-o", tmp])
            _, status, ru = os.wait4(p.pid, 0)
            p.returncode, zrc = os.waitstatus_to_exitcode(status), 0
        if p.returncode != 0 or zrc != 0:
            raise RuntimeError(f"shard {i}: churn simulate ({p.returncode}) or gzip ({zrc}) "
                               "failed")
        os.replace(tmp, paths[i])
        print(f"  shard {i}: {sizes[i]} customers", flush=True)
        return ru.ru_maxrss / 1024.0

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        peaks = list(pool.map(one, todo))
    return paths, time.perf_counter() - t0, max(peaks, default=0.0), len(todo)


def start_cluster(nworkers):
    import distributed
    cluster = distributed.LocalCluster(n_workers=nworkers, threads_per_worker=1,
                                       processes=True, dashboard_address=None,
                                       memory_limit=0)
    return cluster, distributed.Client(cluster)


def table_of(shards):
    import dask.dataframe as dd

    import churn.dask as cd
    ddf = dd.read_csv(shards, blocksize=None, dtype={"customer_id": str},
                      compression="gzip" if shards[0].endswith(".gz") else None)
    assert ddf.npartitions == len(shards), ddf.npartitions
    return cd.customer_table(ddf, cutoff=CUTOFF, unit="week", partitioned=True)


def dask_fit(shards, nworkers, model_path):
    """Pass 1: returns (seconds, [(worker MB, worker CPU s)], distinct rows, customers,
    params)."""
    import churn.dask as cd
    cluster, client = start_cluster(nworkers)
    try:
        t0 = time.perf_counter()
        m = cd.fit_btyd(table_of(shards), "bgnbd", unit="week")
        dt = time.perf_counter() - t0
        workers = list(client.run(worker_usage).values())
    finally:
        client.close()
        cluster.close()
    m.save(model_path)
    stats = m.stats_
    return dt, workers, len(stats), float(stats["weight"].sum()), dict(m.params_)


def dask_score(shards, nworkers, model_path, outdir):
    """Pass 2: returns (seconds, [(worker MB, worker CPU s)])."""
    import churn.dask as cd
    if os.path.isdir(outdir):
        shutil.rmtree(outdir)
    cluster, client = start_cluster(nworkers)
    try:
        t0 = time.perf_counter()
        scores = cd.score(table_of(shards), model_path, horizon=52)
        scores.to_csv(os.path.join(outdir, "part-*.csv"), name_function=lambda i: f"{i:04d}")
        dt = time.perf_counter() - t0
        workers = list(client.run(worker_usage).values())
    finally:
        client.close()
        cluster.close()
    return dt, workers


def cli_fit(exe, shard, workdir):
    """Reference: churn features + churn fit bgnbd on one shard; returns params."""
    cust, model = os.path.join(workdir, "shard0_customers.csv"), \
        os.path.join(workdir, "shard0_bgnbd.json")
    t = run([exe, "features", shard, "--cutoff", CUTOFF, "--unit", "week", "-o", cust])[0]
    t += run([exe, "fit", "bgnbd", cust, "--unit", "week", "-o", model])[0]
    with open(model, encoding="utf-8") as f:
        doc = json.load(f)
    return t, dict(zip(doc["param_names"], doc["params"]))


def check_shard(exe, model_path, shard, part, workdir):
    """`churn score` on one shard vs the Dask part for it: (customers, max |dp_alive|,
    max relative difference of expected_purchases)."""
    import pandas as pd
    out = os.path.join(workdir, "check.csv")
    run([exe, "score", model_path, shard, "--cutoff", CUTOFF, "--horizon", "52",
         "--quiet", "-o", out])
    a = pd.read_csv(out, dtype={"customer_id": str}).set_index("customer_id")
    b = pd.read_csv(part, dtype={"customer_id": str}).set_index("customer_id")
    os.remove(out)
    if len(a) != len(b) or not a.index.sort_values().equals(b.index.sort_values()):
        sys.exit(f"{part}: customers differ from `churn score` on {shard}")
    b = b.loc[a.index]
    dp = float((a["p_alive"] - b["p_alive"]).abs().max())
    de = float(((a["expected_purchases"] - b["expected_purchases"]).abs()
                / a["expected_purchases"].abs().clip(lower=1e-300)).max())
    return len(a), dp, de


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=10_000_000)
    ap.add_argument("--shards", type=int, default=None,
                    help="number of shards (default: customers / 500000, at least 1)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=2, help="shards generated at a time")
    ap.add_argument("--gzip", action="store_true", help="gzip the shards")
    ap.add_argument("--churn", default=os.environ.get("CHURN_EXE", "build/bindings/cli/churn"))
    ap.add_argument("--workdir", default="/tmp/churn-bench-dask")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    ap.add_argument("--reuse", action="store_true",
                    help="reuse shards already in --workdir (same sizes assumed)")
    args = ap.parse_args()
    exe = os.path.abspath(args.churn)
    n = args.customers
    k = args.shards or max(1, math.ceil(n / 500_000))
    os.makedirs(args.workdir, exist_ok=True)
    w = lambda name: os.path.join(args.workdir, name)  # noqa: E731

    print(f"simulating {n} customers in {k} shards ({args.jobs} at a time) ...", flush=True)
    shards, t_sim, sim_mb, made = generate(exe, n, k, args.workdir, args.gzip, args.jobs,
                                           args.reuse)
    size = sum(os.path.getsize(p) for p in shards)
    print(f"  {made} shards written in {t_sim:.1f} s (simulate peak {sim_mb:.0f} MB each "
          f"at most); {size / 1e9:.2f} GB on disk", flush=True)
    t0 = time.perf_counter()
    rows = sum(count_rows(p) for p in shards)
    print(f"  {rows} transactions ({time.perf_counter() - t0:.1f} s to count)", flush=True)

    t_cli, cli_params = cli_fit(exe, shards[0], args.workdir)
    print(f"churn features + fit bgnbd on shard 0 alone: {t_cli:.1f} s, "
          + ", ".join(f"{p} {v:.4f}" for p, v in cli_params.items()), flush=True)

    model = w("bgnbd_dask.json")
    mb = lambda ws: " + ".join(f"{m:.0f}" for m, _ in ws)  # noqa: E731
    cpu = lambda ws: " + ".join(f"{c:.0f}" for _, c in ws)  # noqa: E731
    print(f"dask LocalCluster, {args.workers} workers x 1 thread, {k} partitions "
          f"(load average {os.getloadavg()[0]:.1f})", flush=True)
    c0 = self_cpu()
    t_fit, wfit, distinct, fitted, params = dask_fit(shards, args.workers, model)
    c_fit = self_cpu() - c0
    assert round(fitted) == n, (fitted, n)
    print(f"  fit_btyd: {t_fit:.1f} s, {distinct} distinct (frequency, recency, T) rows "
          f"for {fitted:.0f} customers; workers {mb(wfit)} MB peak, {cpu(wfit)} CPU s; "
          f"driver {c_fit:.1f} CPU s (load average {os.getloadavg()[0]:.1f})", flush=True)
    print("  params: " + ", ".join(f"{p} {v:.4f} (true {TRUE[p]:g})"
                                   for p, v in params.items()), flush=True)
    outdir = w("scores")
    t_score, wscore = dask_score(shards, args.workers, model, outdir)
    driver = self_mb()
    parts = [os.path.join(outdir, f"part-{i:04d}.csv") for i in range(k)]
    scored = sum(count_rows(p) for p in parts)
    assert scored == n, (scored, n)
    print(f"  score + to_csv: {t_score:.1f} s ({rows / t_score:,.0f} rows/s), {scored} "
          f"customers scored; workers {mb(wscore)} MB peak, {cpu(wscore)} CPU s "
          f"(load average {os.getloadavg()[0]:.1f})", flush=True)
    print(f"  driver peak {driver:.0f} MB", flush=True)

    for i in sorted({0, k - 1}):
        nc, dp, de = check_shard(exe, model, shards[i], parts[i], args.workdir)
        print(f"  shard {i}: churn score vs dask, {nc} customers: max |p_alive difference| "
              f"= {dp:.3g}, max relative expected_purchases difference = {de:.3g}",
              flush=True)

    total = t_fit + t_score
    print()
    print(f"{'customers':>10} {'transactions':>13} {'shards':>6} {'fit s':>7} "
          f"{'score s':>8} {'total s':>8} {'rows/s':>9} {'driver MB':>9} "
          f"{'fit workers MB':>15} {'score workers MB':>17}")
    print(f"{n:>10} {rows:>13} {k:>6} {t_fit:7.1f} {t_score:8.1f} {total:8.1f} "
          f"{rows / total:9,.0f} {driver:9.0f} {mb(wfit):>15} {mb(wscore):>17}")
    if not args.keep:
        shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
