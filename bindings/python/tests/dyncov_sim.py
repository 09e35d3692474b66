"""Simulator of the Pareto/NBD with time-varying covariates (docs/models/dyncov.md),
written from the model's definition and independent of the library: per customer
lambda ~ Gamma(r, alpha), mu ~ Gamma(s, beta); in each calendar period the purchase
intensity is lambda * exp(g_trans' z_trans) and the dropout hazard mu * exp(g_life' z_life),
both constant within the period. The death time solves mu * M(tau) = E, E ~ Exp(1);
purchases are a Poisson process while alive (counts per period Poisson, times uniform).
Shared by tests/test_dyncov.py and bench/bench_dyncov.py."""
import numpy as np


def simulate(n, n_periods, params, g_trans, g_life, seed, birth_span=None, p_trans=0.2,
             p_life=0.3):
    """Simulated customers on a grid of unit periods [0, 1), ..., [P-1, P), cutoff P.

    Covariates: one 0/1 trans flag per customer and period (Bernoulli p_trans, e.g. a
    weekly promotion) and one 0/1 life flag (Bernoulli p_life). Returns a dict with
    boundaries, birth, x, tx, T, counts (P, n), trans (1, P, n), life (1, P, n).
    """
    rng = np.random.default_rng(seed)
    r, alpha, s, beta = params
    P = n_periods
    B = np.arange(P + 1, dtype=float)
    span = birth_span if birth_span is not None else P / 2
    birth = rng.uniform(0, span, n)
    zt = (rng.random((P, n)) < p_trans).astype(float)
    zl = (rng.random((P, n)) < p_life).astype(float)
    lam = rng.gamma(r, 1 / alpha, n)
    mu = rng.gamma(s, 1 / beta, n)
    E = rng.exponential(1.0, n)
    cutoff = float(P)
    death = np.full(n, np.inf)
    Macc = np.zeros(n)
    for p in range(P):
        a = np.maximum(B[p], birth)
        e = np.full(n, B[p + 1])
        seg = np.clip(e - a, 0, None)
        rate = mu * np.exp(g_life * zl[p])
        inc = rate * seg
        dies = np.isinf(death) & (Macc + inc >= E) & (seg > 0)
        death[dies] = a[dies] + (E[dies] - Macc[dies]) / rate[dies]
        Macc += inc
    end = np.minimum(death, cutoff)
    counts = np.zeros((P, n))
    last = np.zeros(n)
    for p in range(P):
        a = np.maximum(B[p], birth)
        e = np.minimum(B[p + 1], end)
        seg = np.clip(e - a, 0, None)
        k = rng.poisson(lam * np.exp(g_trans * zt[p]) * seg)
        counts[p] = k
        got = k > 0
        # the latest of k uniform times in the alive part of the period
        u = rng.random(n) ** (1.0 / np.maximum(k, 1))
        last[got] = a[got] + u[got] * seg[got]
    x = counts.sum(axis=0)
    tx = np.where(x > 0, last - birth, 0.0)
    T = cutoff - birth
    return {"boundaries": B, "birth": birth, "x": x, "tx": tx, "T": T, "counts": counts,
            "trans": zt[None, :, :], "life": zl[None, :, :]}
