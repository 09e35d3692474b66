#!/usr/bin/python3
"""Bench of `churn report` (issue 5) against a pandas + SciPy pipeline doing the
same job, on the same transaction file, in one run.

1. Writes a simulated log of C customers (default 1,000,000): with
   `churn simulate --model bgnbd --customers C --seed 1 --acquisition-weeks 13
   --weeks 65 -o FILE` (BG/NBD at the published CDNOW parameters, customers
   acquired over 13 weeks, observed for 65 weeks, Gamma-Gamma spends) when the
   command has it, otherwise with the similar NumPy generator below.
2. Times `churn report FILE --unit week -o report.csv --timings` (wall clock
   and CPU of the child process; the command prints its per-stage times).
3. Times the baseline, written the way lifetimes does it with pandas/SciPy:
   read_csv, the lifetimes summary (same-day purchases merged, weeks), BG/NBD
   and Gamma-Gamma maximum likelihood with scipy.optimize (BFGS on
   log-parameters, numerical gradients), P(alive), the 12-month CLV from the
   hypergeometric expectation (months of 30.4375 days, 1% a month), value at
   risk, tiers by CLV rank, the three default alert flags, and the CSV.
4. Checks that both CLV columns agree and prints the times and the ratio.

usage: bench_report.py [--exe build/bindings/cli/churn] [--customers C] [--no-baseline]
env: CHURN_EXE, BENCH_CUSTOMERS (default 1000000)
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
from scipy import optimize, special


def generate(path, n, seed=1):
    """BG/NBD purchase histories, Gamma-Gamma spends, daily dates."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(0.25, 1 / 4.0, n) / 7.0 * 3.0  # purchases per day
    p = rng.beta(0.8, 2.5, n)
    start = rng.integers(0, 91, n).astype(float)
    end = 365.0
    nu = rng.gamma(3.0, 1 / 20.0, n)
    ids, days = [np.arange(n)], [start.copy()]
    cur = start.copy()
    alive = np.ones(n, bool)
    while alive.any():
        idx = np.nonzero(alive)[0]
        die = rng.random(idx.size) < p[idx]
        alive[idx[die]] = False
        idx = idx[~die]
        cur[idx] += rng.exponential(1 / lam[idx])
        ok = cur[idx] < end
        alive[idx[~ok]] = False
        idx = idx[ok]
        ids.append(idx)
        days.append(cur[idx].copy())
    ids = np.concatenate(ids)
    days = np.floor(np.concatenate(days)).astype("timedelta64[D]")
    amount = np.round(rng.gamma(4.0, 1.0, ids.size) / nu[ids], 2)
    dates = (np.datetime64("2023-01-01") + days).astype(str)
    pd.DataFrame({"customer_id": ids, "date": dates, "amount": amount}).to_csv(path, index=False)
    return ids.size


# ---- the baseline --------------------------------------------------------------

def summary(df, unit_days=7.0):
    """lifetimes' summary_data_from_transaction_data(freq='D', freq_multiplier=7)."""
    day = (pd.to_datetime(df["date"]).values.astype("datetime64[D]").astype(np.int64))
    d = pd.DataFrame({"c": df["customer_id"].values, "day": day, "a": df["amount"].values})
    cut = d["day"].max()
    per_day = d.groupby(["c", "day"], sort=True)["a"].sum().reset_index()
    g = per_day.groupby("c", sort=False)
    agg = g.agg(first=("day", "min"), last=("day", "max"), n=("day", "size"),
                total=("a", "sum"), first_amount=("a", "first"))
    x = (agg["n"] - 1).to_numpy(float)
    tx = (agg["last"] - agg["first"]).to_numpy(float) / unit_days
    T = (cut - agg["first"]).to_numpy(float) / unit_days
    m = np.where(x > 0, (agg["total"] - agg["first_amount"]).to_numpy() / np.maximum(x, 1), 0.0)
    return agg.index.to_numpy(), x, tx, T, m


def bgnbd_ll(logp, x, tx, T):
    r, al, a, b = np.exp(logp)
    A1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(al)
    A2 = (special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b) -
          special.gammaln(a + b + x))
    A3 = -(r + x) * np.log(al + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        A4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) -
                      (r + x) * np.log(al + tx), -np.inf)
    return np.sum(A1 + A2 + np.logaddexp(A3, A4))


def gg_ll(logp, x, z):
    p, q, g = np.exp(logp)
    px = p * x
    return np.sum(special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) +
                  q * np.log(g) + px * np.log(x) + (px - 1) * np.log(z) -
                  (px + q) * np.log(g + x * z))


def bgnbd_expected(par, t, x, tx, T):
    r, al, a, b = par
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, t / (al + T + t))
    first = (a + b + x - 1) / (a - 1) * (1 - ((al + T) / (al + T + t)) ** (r + x) * hyp)
    second = 1 + (x > 0) * (a / np.maximum(b + x - 1, 1e-300)) * ((al + T) / (al + tx)) ** (r + x)
    return first / second


def baseline(path, out):
    t = {}
    t0 = time.perf_counter()
    df = pd.read_csv(path)
    t["read_csv"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ids, x, tx, T, m = summary(df)
    t["summary"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = optimize.minimize(lambda p: -bgnbd_ll(p, x, tx, T) / x.size, np.zeros(4),
                            method="BFGS", options={"gtol": 1e-8})
    par = np.exp(res.x)
    t["BG/NBD fit"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rep = (x > 0) & (m > 0)
    gres = optimize.minimize(lambda p: -gg_ll(p, x[rep], m[rep]) / rep.sum(), np.zeros(3),
                             method="BFGS", options={"gtol": 1e-8})
    gp, gq, gg = np.exp(gres.x)
    t["Gamma-Gamma fit"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    r, al, a, b = par
    pa = 1 / (1 + (x > 0) * (a / np.maximum(b + x - 1, 1e-300)) * ((al + T) / (al + tx)) ** (r + x))
    spend = np.where(rep, gp * (gg + x * m) / (gp * x + gq - 1), gp * gg / (gq - 1))
    period = 30.4375 / 7
    clv = np.zeros_like(x)
    prev = np.zeros_like(x)
    for i in range(1, 13):
        cur = bgnbd_expected(par, i * period, x, tx, T)
        clv += spend * (cur - prev) / 1.01 ** i
        prev = cur
    var = np.where(pa < 1, clv * (1 - pa) / pa, 0.0)
    order = np.argsort(-clv, kind="stable")
    tier = np.full(x.size, "ordinary", dtype=object)
    tier[order[: int(np.ceil(0.2 * x.size))]] = "key"
    tier[order[int(np.ceil(0.2 * x.size)): int(np.ceil(0.5 * x.size))]] = "important"
    alerts = np.where(pa < 0.3, "p_alive_low", "")
    t["scoring"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    pd.DataFrame({"customer_id": ids, "frequency": x, "recency": tx, "T": T,
                  "monetary_value": m, "p_alive": pa, "p_churn": 1 - pa,
                  "expected_purchases": prev, "expected_spend": spend, "clv": clv,
                  "value_at_risk": var, "tier": tier, "alerts": alerts}).to_csv(out, index=False)
    t["write csv"] = time.perf_counter() - t0
    return t, pd.Series(clv, index=ids), par


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--exe", default=os.environ.get(
        "CHURN_EXE", os.path.join(here, "..", "build", "cmd", "churn")))
    ap.add_argument("--customers", type=float,
                    default=float(os.environ.get("BENCH_CUSTOMERS", 1e6)))
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args()
    n = int(args.customers)
    with tempfile.TemporaryDirectory(prefix="bench_report_") as d:
        tx = os.path.join(d, "tx.csv")
        t0 = time.perf_counter()
        sim = subprocess.run([args.exe, "simulate", "--model", "bgnbd", "--customers", str(n),
                              "--seed", "1", "--acquisition-weeks", "13", "--weeks", "65",
                              "-o", tx], capture_output=True, text=True)
        if sim.returncode == 0 and os.path.exists(tx) and os.path.getsize(tx) > 0:
            how = "churn simulate"
            ntx = sum(1 for _ in open(tx)) - 1
        else:
            how = "NumPy generator (churn simulate unavailable: " + \
                (sim.stderr.strip().splitlines() or ["?"])[0] + ")"
            ntx = generate(tx, n)
        gen = time.perf_counter() - t0
        print(f"log: {n} customers, {ntx} transactions, "
              f"{os.path.getsize(tx) / 2**20:.0f} MB CSV, from {how} in {gen:.1f} s")

        out = os.path.join(d, "report.csv")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        p = subprocess.run([args.exe, "report", tx, "--unit", "week", "-o", out, "--timings",
                            "--top", "5"], capture_output=True, text=True)
        ours = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if p.returncode != 0:
            sys.exit(f"churn report failed:\n{p.stderr}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        print(p.stdout)
        print(p.stderr)
        print(f"churn report: {ours:.2f} s wall, {cpu:.2f} s CPU, peak RSS "
              f"{after.ru_maxrss / 1024:.0f} MB")
        if args.no_baseline:
            return
        t0, c0 = time.perf_counter(), time.process_time()
        tb, clv_ref, par = baseline(tx, os.path.join(d, "baseline.csv"))
        base, bcpu = time.perf_counter() - t0, time.process_time() - c0
        for k, v in tb.items():
            print(f"  baseline {k:16s} {v:8.2f} s wall")
        print(f"pandas + SciPy baseline: {base:.2f} s wall, {bcpu:.2f} s CPU")
        print(f"ratio baseline / churn report: {base / ours:.1f} x wall, {bcpu / cpu:.1f} x CPU")
        mine = pd.read_csv(out, usecols=["customer_id", "clv"]).set_index("customer_id")["clv"]
        common = clv_ref.reindex(mine.index)
        rel = np.abs(mine.to_numpy() - common.to_numpy()) / np.maximum(common.to_numpy(), 1e-9)
        print(f"CLV agreement: median relative difference {np.median(rel):.2e}, "
              f"99th percentile {np.quantile(rel, 0.99):.2e} (the two fits differ by the "
              f"optimisers' tolerances; baseline BG/NBD r, alpha, a, b = "
              f"{', '.join(f'{v:.6g}' for v in par)})")


if __name__ == "__main__":
    main()
