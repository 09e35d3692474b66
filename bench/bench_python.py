#!/usr/bin/python3
"""Bench of the Python binding's overhead (issue 9): scoring N customers through Python
vs the bare C call, in the same run.

Both sides score the same BG/NBD model on the same N customers (simulated with the C
library: frequency, recency, T) with a 52-week horizon:

- C alone: churn_btyd_score called through ctypes on preallocated float64 arrays
  (argument conversion of four pointers: nanoseconds; the time is the C loop);
- Python: BGNBD.score(52, frequency=x, recency=t_x, T=T), which checks and converts the
  inputs, allocates the outputs and returns a pandas DataFrame (p_alive,
  expected_purchases); and BGNBD.score on a customer-table DataFrame (columns taken
  from the frame, result indexed by customer id);
- BGNBD.expected_purchases on arrays (a numpy array back).

Each Python call is timed against its own bare C call in A-B-B-A blocks (C, Python,
Python, C) so that changes in machine load hit both; the median over blocks of the
Python/C time ratio is the figure of merit (the ratio of best times and of CPU times
are printed too).
Overhead = python / C - 1; the target is at most 10%.

usage: bench_python.py [--n N] [--repeat R]
env:   CHURN_BENCH_N (default 1000000), CHURN_BENCH_REPEAT (default 15 blocks),
       CHURN_LIBRARY (libchurn.so.1), PYTHONPATH (bindings/python)
"""
import argparse
import ctypes
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bindings", "python"))

import churn  # noqa: E402
from churn import _btyd  # noqa: E402


def timed(f, wall, cpu):
    c0, t0 = time.process_time(), time.perf_counter()
    f()
    wall.append(time.perf_counter() - t0)
    cpu.append(time.process_time() - c0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=int(os.environ.get("CHURN_BENCH_N", 1000000)))
    ap.add_argument("--repeat", type=int,
                    default=int(os.environ.get("CHURN_BENCH_REPEAT", 15)))
    a = ap.parse_args()
    n = a.n

    s = churn.simulate_summary(n, "bgnbd", seed=1)
    x = np.ascontiguousarray(s["frequency"].to_numpy())
    tx = np.ascontiguousarray(s["recency"].to_numpy())
    T = np.ascontiguousarray(s["T"].to_numpy())
    table = s[["frequency", "recency", "T"]].copy()
    bg = churn.BGNBD.from_params(r=0.2425945, alpha=4.4136019, a=0.7929199, b=2.4258881)
    h = bg._require()

    pa, ex = np.empty(n), np.empty(n)
    d = ctypes.POINTER(ctypes.c_double)
    px, ptx, pT, ppa, pex = (v.ctypes.data_as(d) for v in (x, tx, T, pa, ex))

    def c_score():
        assert _btyd._score(h, 52.0, n, px, ptx, pT, ppa, pex) == 0

    def c_expected():
        assert _btyd._expected(h, 52.0, n, px, ptx, pT, pex) == 0

    # (name, C baseline, Python call)
    pairs = [
        ("BGNBD.score(arrays) -> DataFrame", c_score,
         lambda: bg.score(52, frequency=x, recency=tx, T=T)),
        ("BGNBD.score(customer DataFrame) -> DataFrame", c_score,
         lambda: bg.score(52, table)),
        ("BGNBD.expected_purchases(arrays) -> ndarray", c_expected,
         lambda: bg.expected_purchases(52, frequency=x, recency=tx, T=T)),
    ]
    # same numbers both ways
    c_score()
    out = pairs[0][2]()
    assert np.array_equal(out["p_alive"].to_numpy(), pa)
    assert np.array_equal(out["expected_purchases"].to_numpy(), ex)
    res = []
    for name, cf, pf in pairs:
        cw, cc, pw, pc, blocks = [], [], [], [], []
        for _ in range(a.repeat):
            # A-B-B-A blocks: a drift in machine load hits both sides alike
            k = len(cw)
            timed(cf, cw, cc)
            timed(pf, pw, pc)
            timed(pf, pw, pc)
            timed(cf, cw, cc)
            blocks.append((pw[k] + pw[k + 1]) / (cw[k] + cw[k + 1]))
        res.append((name, min(cw), min(pw), float(np.median(blocks)), min(pc) / min(cc)))
    print(f"libchurn {churn.__version__}: {n} customers, BG/NBD P(alive) + E[X(52 weeks)], "
          f"{a.repeat} A-B-B-A blocks (C, Python, Python, C)")
    print(f"  {'Python call':46s} {'C best':>9s} {'Py best':>9s} {'best':>6s} {'median':>7s}"
          f" {'cpu':>6s}")
    worst = 0.0
    for name, cw, pw, med, cpu in res:
        worst = max(worst, med)
        print(f"  {name:46s} {cw * 1e3:7.1f}ms {pw * 1e3:7.1f}ms {pw / cw:6.3f} {med:7.3f}"
              f" {cpu:6.3f}")
    print("  best = ratio of the best times; median = median over blocks of the block's "
          "Python/C time; cpu = ratio of the best CPU times")
    print(f"worst median Python/C ratio {worst:.3f} (overhead {100 * (worst - 1):.1f}%, "
          f"target <= 10%): {'OK' if worst <= 1.10 else 'OVER'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
