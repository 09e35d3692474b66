#!/usr/bin/python3
"""L2 logistic regression, 1,000,000 x 30: churn_logit_fit vs scikit-learn's
LogisticRegression at its defaults (lbfgs, C = 1, tol 1e-4), in the same run.

bench_logit (C) generates the data once, writes it as .npy and times our fit;
this script loads the same arrays, times scikit-learn, then computes the exact
optimum of the common objective with a tight Newton iteration in numpy (not
timed) and reports how far each solver stopped from it.

usage: /usr/bin/python3 bench/bench_logit.py --exe build/bench/bench_logit
       [--n 1000000] [--p 30] [--repeat 3] [--tmp /tmp]
Sizes also from BENCH_LOGIT_N / BENCH_LOGIT_P.
"""
import argparse
import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np


def exact_optimum(X, y, C, start):
    """Newton on C*sum(logloss) + 0.5*|w|^2 (intercept unpenalised) until |step| < 1e-13."""
    n, p = X.shape
    beta = np.array(start, dtype=float)  # [b0, w]
    for it in range(100):
        eta = beta[0] + X @ beta[1:]
        pr = 1.0 / (1.0 + np.exp(-eta))
        r = pr - y
        g = np.empty(p + 1)
        g[0] = C * r.sum()
        g[1:] = C * (X.T @ r) + beta[1:]
        w = C * pr * (1 - pr)
        H = np.empty((p + 1, p + 1))
        H[0, 0] = w.sum()
        H[0, 1:] = H[1:, 0] = X.T @ w
        H[1:, 1:] = (X * w[:, None]).T @ X + np.eye(p)
        step = np.linalg.solve(H, g)
        beta -= step
        if np.max(np.abs(step)) < 1e-13:
            break
    return beta


def objective(X, y, C, beta):
    eta = beta[0] + X @ beta[1:]
    ll = y * eta - np.logaddexp(0, eta)
    return -C * ll.sum() + 0.5 * beta[1:] @ beta[1:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exe", required=True)
    ap.add_argument("--n", type=int, default=int(os.environ.get("BENCH_LOGIT_N", 1000000)))
    ap.add_argument("--p", type=int, default=int(os.environ.get("BENCH_LOGIT_P", 30)))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tmp", default=os.environ.get("TMPDIR", "/tmp"))
    a = ap.parse_args()

    print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')} "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '(unset)')} "
          f"cpus={os.cpu_count()}")
    out = subprocess.run([a.exe, str(a.n), str(a.p), str(a.repeat), a.tmp], check=True,
                         capture_output=True, text=True).stdout
    ours = json.loads(out)
    X = np.load(os.path.join(a.tmp, "bench_logit_X.npy"))
    y = np.load(os.path.join(a.tmp, "bench_logit_y.npy"))
    n, p = X.shape

    import sklearn
    from sklearn.linear_model import LogisticRegression
    times, cpus, clf = [], [], None
    for _ in range(a.repeat):
        clf = LogisticRegression()  # defaults: lbfgs, C=1.0, tol=1e-4, max_iter=100
        t0, c0 = time.perf_counter(), time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(X, y)
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    sk = np.concatenate([clf.intercept_, clf.coef_.ravel()])

    our = np.array(ours["params"])
    exact = exact_optimum(X, y, 1.0, our)
    f_exact = objective(X, y, 1.0, exact)
    d_ours = np.max(np.abs(our - exact))
    d_sk = np.max(np.abs(sk - exact))
    t_ours, t_sk = min(ours["seconds"]), min(times)
    print(f"data: {n} x {p}, {int(y.sum())} positives; L2, C = 1 (lambda = 1/n = {1 / n:.3g})")
    print(f"libchurn churn_logit_fit  : {t_ours:8.3f} s (min of {ours['seconds']}), "
          f"{ours['iterations']} Newton iterations on the full data, converged={ours['converged']}")
    print(f"sklearn {sklearn.__version__} lbfgs (default): {t_sk:8.3f} s (min of "
          f"{[round(t, 3) for t in times]}), n_iter={int(clf.n_iter_[0])}")
    print(f"distance to the exact optimum (max |coef - exact|): libchurn {d_ours:.3g}, "
          f"lbfgs {d_sk:.3g}")
    print(f"objective gap (C*sum logloss + |w|^2/2): libchurn "
          f"{objective(X, y, 1.0, our) - f_exact:.3g}, lbfgs {objective(X, y, 1.0, sk) - f_exact:.3g}")
    c_ours, c_sk = min(ours["cpu_seconds"]), min(cpus)
    print(f"CPU seconds (all threads): libchurn {c_ours:.3f} (min of {ours['cpu_seconds']}), "
          f"lbfgs {c_sk:.3f} (min of {[round(t, 3) for t in cpus]})")
    print(f"load average at the end: {os.getloadavg()}")
    print(f"time ratio libchurn / lbfgs = {t_ours / t_sk:.3f} wall, {c_ours / c_sk:.3f} CPU "
          f"(target <= 0.5)")
    ok = d_ours <= 1e-6
    print("exact optimum to 1e-6:", "yes" if ok else "NO")
    for f in ("bench_logit_X.npy", "bench_logit_y.npy"):
        os.remove(os.path.join(a.tmp, f))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
