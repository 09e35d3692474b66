#!/usr/bin/python3
"""BTYD fits (issue 22): BG/NBD, Gamma-Gamma and Pareto/NBD on 100,000 frequent
buyers, ours (bench_btydfit, C) against lifetimes (../shared/peers) on the same
customer table in the same run, plus the Pareto/NBD fit on 1,000,000 customers
with continuous times (no peer: lifetimes would take hours).

Data: `churn simulate --model bgnbd --customers 100000 --seed 7 --r 2 --alpha 12
--a 0.3 --b 6 --weeks 78 --acquisition-weeks 26`, then `churn features --cutoff
1998-06-30 --unit week`. Continuous times: Pareto/NBD truth (r 0.55, alpha 10.58,
s 0.61, beta 11.66 per week), T uniform on [26, 78] weeks, drawn with numpy
(seed 22).

CPU seconds, minimum of R interleaved runs (ours, lifetimes, ours, ...); ours
is this thread's CPU time of the fit call alone (bench_btydfit: two fits in a
fresh process, "warm" the second, "cold" the first, which also pays for first
touching freshly mapped pages), lifetimes' the process time of its fit(). The
floor is one pass over the same columns.

usage: /usr/bin/python3 bench/bench_btydfit.py --exe build/bench/bench_btydfit
       --churn build/bindings/cli/churn [--reps 3] [--peer-pnbd-reps 1] [--tmp DIR]
       [--no-peer]   (e.g. with LD_LIBRARY_PATH at an older build, for before/after)
Environment: BENCH_BTYDFIT_N (100000), BENCH_BTYDFIT_REPS (3),
BENCH_BTYDFIT_BIG (1000000; 0 skips the continuous-time row),
BENCH_BTYDFIT_PEER_PNBD_REPS (1: lifetimes' Pareto/NBD takes ~80 s a run).
"""
import argparse
import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def peers_path():
    p = os.path.join(HERE, "..", "..", "shared", "peers")
    if not os.path.isdir(p):
        p = os.path.join(HERE, "..", "..", "..", "shared", "peers")
    return os.path.abspath(p)


def import_lifetimes():
    p = peers_path()
    if not os.path.isdir(os.path.join(p, "lifetimes")):
        print(f"lifetimes: {p} is absent, the peer columns are skipped")
        return None
    for sub in ("lifetimes", "autograd", "dill", "lifelines", "agamma", "formulaic", "imeta"):
        sys.path.insert(0, os.path.join(p, sub))
    try:
        import lifetimes
    except Exception as e:  # a broken peer tree: say so, time ours alone
        print(f"lifetimes: cannot import from {p} ({e}); the peer columns are skipped")
        return None
    return lifetimes


def ours(exe, csv, fit):
    """Two fits back to back in a fresh process: cpu = the second (warm), first = the first
    (cold: it also first-touches the pages glibc maps for its arrays)."""
    out = subprocess.run([exe, csv, fit, "2"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def make_frequent(churn, tmp, n):
    tx = os.path.join(tmp, f"btydfit_tx_{n}.csv")
    cu = os.path.join(tmp, f"btydfit_customers_{n}.csv")
    if not os.path.exists(cu):
        subprocess.run([churn, "simulate", "--model", "bgnbd", "--customers", str(n), "--seed",
                        "7", "--r", "2", "--alpha", "12", "--a", "0.3", "--b", "6", "--weeks",
                        "78", "--acquisition-weeks", "26", "-o", tx], check=True)
        subprocess.run([churn, "features", tx, "--cutoff", "1998-06-30", "--unit", "week",
                        "--columns", "frequency,recency,T,monetary_value", "-o", cu], check=True)
    return cu


def make_continuous(tmp, n):
    cu = os.path.join(tmp, f"btydfit_continuous_{n}.csv")
    if not os.path.exists(cu):
        rng = np.random.default_rng(22)
        lam = rng.gamma(0.55, 1 / 10.58, n)
        mu = rng.gamma(0.61, 1 / 11.66, n)
        T = 26 + 52 * rng.random(n)
        end = np.minimum(rng.exponential(1 / mu), T)
        x = rng.poisson(lam * end).astype(float)
        # the last of x uniform times on [0, end]: end * U^(1/x)
        tx = np.where(x > 0, end * rng.random(n) ** (1 / np.maximum(x, 1)), 0.0)
        np.savetxt(cu, np.column_stack([x, tx, T]), delimiter=",", fmt="%.17g",
                   header="frequency,recency,T", comments="")
    return cu


def read(csv):
    a = np.genfromtxt(csv, delimiter=",", names=True)
    return a


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exe", required=True)
    ap.add_argument("--churn", required=True)
    ap.add_argument("--n", type=int, default=int(os.environ.get("BENCH_BTYDFIT_N", 100000)))
    ap.add_argument("--big", type=int, default=int(os.environ.get("BENCH_BTYDFIT_BIG", 1000000)))
    ap.add_argument("--reps", type=int, default=int(os.environ.get("BENCH_BTYDFIT_REPS", 3)))
    ap.add_argument("--peer-pnbd-reps", type=int,
                    default=int(os.environ.get("BENCH_BTYDFIT_PEER_PNBD_REPS", 1)))
    ap.add_argument("--tmp", default=os.environ.get("TMPDIR", "/tmp"))
    ap.add_argument("--no-peer", action="store_true", help="time ours only")
    a = ap.parse_args()
    lt = None if a.no_peer else import_lifetimes()
    csv = make_frequent(a.churn, a.tmp, a.n)
    d = read(csv)
    f, r, T, m = d["frequency"], d["recency"], d["T"], d["monetary_value"]
    rep = (f > 0) & (m > 0)
    distinct = len(np.unique(np.column_stack([f, r, T]), axis=0))
    print(f"frequent buyers: {len(f)} customers, {distinct} distinct (x, t_x, T) rows, "
          f"{rep.sum()} repeat buyers; CPU seconds, min of {a.reps} interleaved runs")

    def peer(fit):
        if lt is None:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            c0 = time.process_time()
            if fit == "bgnbd":
                mod = lt.BetaGeoFitter().fit(f, r, T)
            elif fit == "gammagamma":
                mod = lt.GammaGammaFitter().fit(f[rep], m[rep])
            else:
                mod = lt.ParetoNBDFitter().fit(f, r, T)
            return time.process_time() - c0, mod

    rows = []
    floor = min(ours(a.exe, csv, "floor")["cpu"] for _ in range(a.reps))
    for fit, label in (("bgnbd", "BG/NBD fit"), ("gammagamma", "Gamma-Gamma fit"),
                       ("pnbd", "Pareto/NBD fit")):
        our_t, cold_t, peer_t, res, pmod = [], [], [], None, None
        npeer = a.peer_pnbd_reps if fit == "pnbd" else a.reps
        for k in range(a.reps):
            res = ours(a.exe, csv, fit)
            our_t.append(res["cpu"])
            cold_t.append(res["first"])
            if k < npeer:
                p = peer(fit)
                if p:
                    peer_t.append(p[0])
                    pmod = p[1]
        o, oc = min(our_t), min(cold_t)
        line = (f"{label:16s} ours {o:7.4f} s warm, {oc:7.4f} s cold (floor {floor:.4f} s, "
                f"{o / floor:4.0f}x)")
        if peer_t:
            pt = min(peer_t)
            line += (f"  lifetimes {pt:7.3f} s (min of {len(peer_t)})  ratio {pt / o:6.1f}x warm, "
                     f"{pt / oc:6.1f}x cold")
        print(line)
        print(f"{'':22s} ours: loglik {res['loglik']:.6f}, params "
              + ", ".join(f"{v:.6g}" for v in res["params"]) + f", {res['iterations']} iterations")
        if pmod is not None:
            print(f"{'':22s} lifetimes: params "
                  + ", ".join(f"{k}={v:.6g}" for k, v in pmod.params_.items()))
    if a.big > 0:
        big = make_continuous(a.tmp, a.big)
        bfloor = min(ours(a.exe, big, "floor")["cpu"] for _ in range(a.reps))
        t = [ours(a.exe, big, "pnbd") for _ in range(a.reps)]
        o, oc = min(x["cpu"] for x in t), min(x["first"] for x in t)
        print(f"Pareto/NBD fit, {a.big} customers, continuous times: ours {o:.4f} s warm, "
              f"{oc:.4f} s cold (floor {bfloor:.4f} s), loglik {t[0]['loglik']:.6f}, params "
              + ", ".join(f"{v:.6g}" for v in t[0]["params"]) + f", {t[0]['iterations']} iterations")


if __name__ == "__main__":
    main()
