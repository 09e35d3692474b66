#!/usr/bin/python3
"""12-month discounted CLV (BG/NBD + Gamma-Gamma): churn_clv_score vs lifetimes (issue 22).

Usage (Debian's python3 with pandas):
    /usr/bin/python3 bench/bench_clv.py [--exe build/bench/bench_clv]
        [--churn build/bindings/cli/churn] [--customers N] [--reps K] [--dir DIR]

Builds the issue's data once into $CHURN_BENCH_DIR (default <tmp>/libchurn-bench):
`churn simulate --model bgnbd --customers N --seed 7 --r 2 --alpha 12 --a 0.3 --b 6
--weeks 78 --acquisition-weeks 26` (N = $BENCH_CLV_CUSTOMERS, default 100,000; the
window ends on 1998-06-30), and its customer table in weeks with the cutoff 1998-06-30
(`churn features --unit week`). bench_clv fits BG/NBD and Gamma-Gamma on it and times
churn_clv_score (12 periods of 4.345 weeks, 1% a period: lifetimes' definition); lifetimes
(../shared/peers, see its README; skipped with a message when absent) gets the same
parameters and times GammaGammaFitter.customer_lifetime_value(time=12, discount_rate=0.01,
freq='W') on the same customers. K interleaved rounds ($BENCH_CLV_REPS, default 3); the
minimum CPU time of each is reported, with the ratio, the floor (one pass over the four
columns), the cost of one call per customer and of a new customer, and the relative
difference between the two sums of CLV.
"""
import argparse
import os
import sys
import tempfile

import numpy as np
import pandas as pd

from _benchutil import find, run, self_cpu  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEERS = os.path.join(ROOT, "..", "shared", "peers")






def load_lifetimes():
    if not os.path.isdir(PEERS):
        print(f"lifetimes: skipped ({os.path.normpath(PEERS)} is absent)")
        return None
    for d in ("lifetimes", "autograd", "dill", "agamma"):
        sys.path.insert(0, os.path.join(PEERS, d))
    try:
        import lifetimes
    except ImportError as e:
        print(f"lifetimes: skipped (import failed: {e})")
        return None
    return lifetimes


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--exe", help="path of the bench_clv program")
    ap.add_argument("--churn", help="path of the churn command")
    ap.add_argument("--customers", type=int,
                    default=int(os.environ.get("BENCH_CLV_CUSTOMERS", "100000")))
    ap.add_argument("--reps", type=int, default=int(os.environ.get("BENCH_CLV_REPS", "3")))
    ap.add_argument("--dir", default=os.environ.get("CHURN_BENCH_DIR",
                                                   os.path.join(tempfile.gettempdir(),
                                                                "libchurn-bench")))
    args = ap.parse_args()
    exe = find(args.exe, "CHURN_BENCH_CLV_EXE", "bench/bench_clv", "bench_clv")
    churn = find(args.churn, "CHURN_EXE", "bindings/cli/churn", "the churn command")
    os.makedirs(args.dir, exist_ok=True)
    n = args.customers
    tx = os.path.join(args.dir, f"clv_tx_{n}.csv")
    table = os.path.join(args.dir, f"clv_customers_{n}.csv")
    cutoff = "1998-06-30"
    if not os.path.exists(tx):
        run([churn, "simulate", "--model", "bgnbd", "--customers", str(n), "--seed", "7",
             "--r", "2", "--alpha", "12", "--a", "0.3", "--b", "6", "--weeks", "78",
             "--acquisition-weeks", "26", "-o", tx + ".part"])
        os.replace(tx + ".part", tx)
    if not os.path.exists(table):
        run([churn, "features", tx, "--cutoff", cutoff, "--unit", "week", "--columns",
             "frequency,recency,T,monetary_value", "-o", table + ".part"])
        os.replace(table + ".part", table)
    lt = load_lifetimes()
    df = pd.read_csv(table)
    f, r, T, m = (df[c] for c in ("frequency", "recency", "T", "monetary_value"))

    ours = floor = single = new = peer = None
    params = clv_sum = peer_sum = None
    for k in range(args.reps):
        out = run([exe, tx, cutoff, "3"])
        lines = out.strip().splitlines()
        params = next(l for l in lines if l.startswith("customers "))
        last = dict(kv.split("=") for kv in lines[-1].split())
        c = float(last["cpu"])
        ours = c if ours is None else min(ours, c)
        floor = float(last["floor_cpu"]) if floor is None else min(floor, float(last["floor_cpu"]))
        single = float(last["single_us"]) if single is None else min(single, float(last["single_us"]))
        new = float(last["new_us"]) if new is None else min(new, float(last["new_us"]))
        clv_sum = float(last["clv_sum"])
        msg = f"round {k + 1}: churn_clv_score {c:.4f} s"
        if lt is not None:
            w = params.split(";")
            bg = [float(v) for v in w[1].split()[2::2]]
            gg = [float(v) for v in w[2].split()[2::2]]
            bgf = lt.BetaGeoFitter()
            bgf.params_ = pd.Series(dict(zip(("r", "alpha", "a", "b"), bg)))
            bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time  # as fit() does
            ggf = lt.GammaGammaFitter()
            ggf.params_ = pd.Series(dict(zip(("p", "q", "v"), gg)))
            c0 = self_cpu()
            clv = ggf.customer_lifetime_value(bgf, f, r, T, m, time=12, discount_rate=0.01,
                                              freq="W")
            pc = self_cpu() - c0
            peer_sum = float(np.sum(clv))
            peer = pc if peer is None else min(peer, pc)
            msg += f", lifetimes customer_lifetime_value {pc:.3f} s"
        print(msg + " CPU", flush=True)

    print(f"\n{params}")
    print(f"{n:,} customers, cutoff {cutoff}, weeks; minimum CPU seconds of {args.reps} "
          f"interleaved rounds")
    print(f"{'churn_clv_score (12 periods, BG/NBD + Gamma-Gamma)':52s} {ours:9.4f}")
    if peer is not None:
        print(f"{'lifetimes ' + lt.__version__ + ' customer_lifetime_value':52s} {peer:9.4f}")
    print(f"{'floor: one pass over the four columns':52s} {floor:9.6f}")
    print(f"one call per customer (n = 1): {single:.3f} us; a new customer (x = t_x = T = 0): "
          f"{new:.3f} us")
    if peer is not None:
        print(f"sum of CLV: ours {clv_sum:.10g}, lifetimes {peer_sum:.10g} "
              f"(relative difference {abs(clv_sum - peer_sum) / abs(peer_sum):.2g})")
        print(f"ratio lifetimes / churn_clv_score: {peer / ours:.1f}x (target >= 50x)")


if __name__ == "__main__":
    main()
