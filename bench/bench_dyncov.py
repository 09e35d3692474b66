#!/usr/bin/python3
"""Bench of the Pareto/NBD with time-varying covariates (issue 23): fitting 10,000
customers x 104 weekly periods with one trans and one life covariate, target < 5 s of
CPU on one core; next to it, in the same run, the plain Pareto/NBD fit of the same
customers (churn_btyd_fit, the dynamic fit's starting point) for scale.

Data: bindings/python/tests/dyncov_sim.py (the definition: per customer a weekly 0/1
promotion flag raising the purchase rate by exp(0.7), and a 0/1 flag raising the dropout
hazard by exp(0.5); r = 0.8, alpha = 4, s = 0.6, beta = 30 per week; first purchases
uniform over the first 52 weeks). Simulation is outside the clock.

CPU time (time.process_time: the machine is shared), min of R repeats; the fit includes
the input checks, the plain start, the Newton iterations and the standard errors.

usage: bench_dyncov.py [--n N] [--periods P] [--repeat R]
env:   CHURN_BENCH_N (10000), CHURN_BENCH_PERIODS (104), CHURN_BENCH_REPEAT (3),
       CHURN_LIBRARY, PYTHONPATH
"""
import argparse
import ctypes
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bindings", "python"))
sys.path.insert(0, os.path.join(HERE, "..", "bindings", "python", "tests"))

from churn import _dyncov, _lib  # noqa: E402
from dyncov_sim import simulate  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=int(os.environ.get("CHURN_BENCH_N", 10000)))
    ap.add_argument("--periods", type=int,
                    default=int(os.environ.get("CHURN_BENCH_PERIODS", 104)))
    ap.add_argument("--repeat", type=int,
                    default=int(os.environ.get("CHURN_BENCH_REPEAT", 3)))
    a = ap.parse_args()
    truth = [0.8, 4.0, 0.6, 30.0]
    s = simulate(a.n, a.periods, truth, 0.7, 0.5, seed=1, birth_span=52)
    dc, keep = _dyncov.make(s["boundaries"], s["birth"], s["counts"], s["trans"], ["promo"],
                            s["life"], ["season"])
    x, tx, T = (np.ascontiguousarray(s[k]) for k in ("x", "tx", "T"))
    lib = _lib.lib
    plain_fit = _lib.fn("churn_btyd_fit", ctypes.c_int, ctypes.POINTER(ctypes.c_void_p),
                        ctypes.c_int, ctypes.c_size_t, _lib.c_double_p, _lib.c_double_p,
                        _lib.c_double_p, _lib.c_double_p, ctypes.c_void_p)
    p = lambda v: v.ctypes.data_as(_lib.c_double_p)  # noqa: E731
    t_dyn, t_plain = [], []
    for _ in range(a.repeat):
        t0 = time.process_time()
        h, rc = _dyncov.fit(x, tx, T, dc)
        t_dyn.append(time.process_time() - t0)
        assert rc == 0, rc
        k = lib.churn_model_num_params(h)
        v = np.zeros(k)
        lib.churn_model_params(h, p(v), k)
        it = lib.churn_model_iterations(h)
        lib.churn_model_free(h)
        hp = ctypes.c_void_p()
        t0 = time.process_time()
        rc = plain_fit(ctypes.byref(hp), 3, x.shape[0], p(x), p(tx), p(T), None, None)
        t_plain.append(time.process_time() - t0)
        lib.churn_model_free(hp)
    print(f"customers {a.n}, periods {a.periods}, mean repeat purchases {x.mean():.2f}")
    print("estimates r alpha s beta trans.promo life.season: " +
          " ".join(f"{u:.4g}" for u in v) + f" (Newton iterations {it})")
    print(f"time-varying Pareto/NBD fit (1 trans + 1 life): {min(t_dyn):.3f} s CPU "
          f"(min of {a.repeat}; target < 5 s)")
    print(f"plain Pareto/NBD fit, same customers:          {min(t_plain):.3f} s CPU")


if __name__ == "__main__":
    main()
