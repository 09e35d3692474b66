#!/usr/bin/python3
"""Static-covariate BTYD fits (issue 23): churn_btyd_fit_covariates on 100,000
customers with 2 purchase ("trans") and 2 dropout ("life") covariates.

Target (issue 23, "Must show"): Pareto/NBD in under 1 s of CPU on one core. BG/NBD and
Gamma-Gompertz/NBD are timed for information. The plain Pareto/NBD fit of the same
customers (churn_btyd_fit) is timed in the same run for scale.

Data, drawn with numpy (seed 5; the simulators of bindings/python/tests/
test_covariates.py and test_covariates_ggomnbd.py): trans covariates standard normal,
life covariates 0/1, effects trans (0.5, -0.3), life (0.7, -0.4);
  Pareto/NBD  r 0.55, alpha 10.6, s 0.61, beta 11.7 (per week), T ~ U(26, 52) weeks;
  BG/NBD      r 0.25, alpha 4.0, a 0.8, b 2.4, T ~ U(26, 52) weeks;
  GGomNBD     r 0.55, alpha 10.58, b 0.02, s 0.6, beta 0.3, T ~ U(52, 104) weeks.
Times are continuous, so no two customers share a row (nothing to collapse).

Method: CPU time of the calling thread (time.thread_time) around the one C call (the fit
is single-threaded: one core), minimum of R runs; the process is pinned to one CPU where
the system allows. Each fit's estimates are printed with their largest |z| against the
truth, so a fast wrong answer shows.

usage: /usr/bin/python3 bench/bench_covariates.py [--reps 3] [--gg-reps 1] [--n 100000]
Environment: CHURN_LIBRARY (the library to time), PYTHONPATH (bindings/python);
BENCH_COV_N, BENCH_COV_REPS, BENCH_COV_GG_REPS (0 skips Gamma-Gompertz/NBD, ~1 min a run).
"""
import argparse
import os
import sys
import time

import numpy as np

import churn
from churn import _covariates as C

PNBD, BGNBD, GG = 3, 1, 13
GT, GL = [0.5, -0.3], [0.7, -0.4]


def _covs(rng, n):
    return rng.normal(size=(n, 2)), rng.binomial(1, 0.5, size=(n, 2)).astype(float)


def sim_pnbd(n, seed, r=0.55, alpha=10.6, s=0.61, beta=11.7):
    rng = np.random.default_rng(seed)
    zt, zl = _covs(rng, n)
    lam = rng.gamma(r, 1 / (alpha * np.exp(-zt @ GT)))
    mu = rng.gamma(s, 1 / (beta * np.exp(-zl @ GL)))
    T = rng.uniform(26, 52, n)
    L = np.minimum(rng.exponential(1 / mu), T)
    x = rng.poisson(lam * L).astype(float)
    tx = np.where(x > 0, L * rng.uniform(size=n) ** (1 / np.maximum(x, 1)), 0.0)
    return (x, tx, T, zt, zl), np.array([r, alpha, s, beta] + GT + GL)


def sim_bgnbd(n, seed, r=0.25, alpha=4.0, a=0.8, b=2.4):
    rng = np.random.default_rng(seed)
    zt, zl = _covs(rng, n)
    lam = rng.gamma(r, 1 / (alpha * np.exp(-zt @ GT)))
    el = np.exp(zl @ GL)
    p = rng.beta(a * el, b * el)
    T = rng.uniform(26, 52, n)
    x, tx, t = np.zeros(n), np.zeros(n), np.zeros(n)
    act = np.ones(n, bool)
    while act.any():
        idx = np.flatnonzero(act)
        t[idx] += rng.exponential(1 / lam[idx])
        over = t[idx] > T[idx]
        act[idx[over]] = False
        ok = idx[~over]
        x[ok] += 1
        tx[ok] = t[ok]
        act[ok[rng.uniform(size=ok.size) < p[ok]]] = False
    return (x, tx, T, zt, zl), np.array([r, alpha, a, b] + GT + GL)


def sim_ggomnbd(n, seed, r=0.55, alpha=10.58, b=0.02, s=0.6, beta=0.3):
    rng = np.random.default_rng(seed)
    zt, zl = _covs(rng, n)
    lam = rng.gamma(r, 1 / (alpha * np.exp(-zt @ GT)))
    eta = rng.gamma(s, 1 / (beta * np.exp(-zl @ GL)))
    T = rng.uniform(52, 104, n)
    L = np.minimum(np.log1p(rng.exponential(size=n) / eta) / b, T)
    x = rng.poisson(lam * L).astype(float)
    tx = np.where(x > 0, L * rng.uniform(size=n) ** (1 / np.maximum(x, 1)), 0.0)
    return (x, tx, T, zt, zl), np.array([r, alpha, b, s, beta] + GT + GL)


def time_fit(code, data, reps):
    x, tx, T, zt, zl = data
    keep = []
    frame = {"t1": zt[:, 0], "t2": zt[:, 1], "l1": zl[:, 0], "l2": zl[:, 1]}
    cov = C.make(frame, ["t1", "t2"], ["l1", "l2"], len(x), keep)
    opts = C.options()
    best, m = float("inf"), None
    for _ in range(reps):
        t0 = time.thread_time()
        h, rc = C.fit(code, x, tx, T, None, cov, opts)
        dt = time.thread_time() - t0
        if rc != 0:
            raise SystemExit(f"fit failed ({rc}): {churn._lib.churn_last_error_message()}")
        m = churn.Model._wrap(h)
        best = min(best, dt)
    return best, m


def time_plain(data, reps):
    import pandas as pd
    x, tx, T = data[:3]
    df = pd.DataFrame({"frequency": x, "recency": tx, "T": T})
    best = float("inf")
    for _ in range(reps):
        t0 = time.thread_time()
        churn.ParetoNBD(std_errors=False).fit(df)
        best = min(best, time.thread_time() - t0)
    return best


def report(name, dt, m, truth):
    est, se = m.params_.to_numpy(), np.asarray(m.standard_errors_)
    z = np.abs(est - truth) / se
    print(f"{name:<34} {dt:8.3f} s   Newton iterations {m.iterations_:2d}   "
          f"max |z| vs truth {z.max():.2f}")
    print("    " + "  ".join(f"{k}={v:.6g}" for k, v in m.params_.items()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=int(os.environ.get("BENCH_COV_N", 100_000)))
    ap.add_argument("--reps", type=int, default=int(os.environ.get("BENCH_COV_REPS", 3)))
    ap.add_argument("--gg-reps", type=int,
                    default=int(os.environ.get("BENCH_COV_GG_REPS", 1)))
    a = ap.parse_args()
    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    except (AttributeError, OSError):
        pass
    print(f"static-covariate fits, {a.n} customers, 2 trans + 2 life covariates; CPU s of "
          f"the fit call, min of {a.reps} (Gamma-Gompertz/NBD: {a.gg_reps})")
    data, truth = sim_pnbd(a.n, 5)
    print(f"{'plain Pareto/NBD (churn_btyd_fit)':<34} {time_plain(data, a.reps):8.3f} s")
    dt, m = time_fit(PNBD, data, a.reps)
    report("Pareto/NBD with covariates", dt, m, truth)
    target = dt < 1.0
    data, truth = sim_bgnbd(a.n, 5)
    dt_bg, m = time_fit(BGNBD, data, a.reps)
    report("BG/NBD with covariates", dt_bg, m, truth)
    if a.gg_reps > 0:
        data, truth = sim_ggomnbd(a.n, 5)
        dt_gg, m = time_fit(GG, data, a.gg_reps)
        report("Gamma-Gompertz/NBD with covariates", dt_gg, m, truth)
    print(f"target: Pareto/NBD with covariates < 1 s: {'met' if target else 'NOT met'} "
          f"({dt:.3f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
