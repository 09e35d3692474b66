#!/usr/bin/python3
"""Reference values for lib/core/special.c computed with mpmath at 50 digits.

Writes tests/data/hyp2f1_ref.csv, read by tests/test_special.c:

  kind=hyp2f1: p1..p4 = a, b, c, z;        logvalue = log 2F1(a, b; c; z)
  kind=tail:   p1..p5 = P, Q, alpha, beta, t;
               logvalue = log J, J = int_t^inf (alpha+tau)^-P (beta+tau)^-Q dtau,
               d1..d4 = d log J / d(P, Q, alpha, beta)

J is evaluated here through the Fader-Hardie hypergeometric form (not the
series or quadrature the C code uses), its derivatives by mpmath.diff.
Every input is a double printed with repr(), and mpmath starts from the same
double, so C and mpmath see identical arguments.

It also writes tests/data/pnbd_ref.csv, read by tests/test_pnbd.c: per-customer
Pareto/NBD log-likelihood, P(alive) and E[X(T, T+52) | x, t_x, T] from the
textbook A0 form of the likelihood (Fader & Hardie 2005 note, sections 3 and 5;
Schmittlein et al. 1987) evaluated with mpmath at 60 digits -- a different
formula from the one lib/btyd/pnbd.c uses.

Usage:  /usr/bin/python3 tests/special_ref.py            (write hyp2f1_ref.csv, ~7 min)
        /usr/bin/python3 tests/special_ref.py --pnbd     (write pnbd_ref.csv)
        /usr/bin/python3 tests/special_ref.py --check    (recompute hyp2f1_ref.csv, compare)
"""
import os
import sys

import mpmath as mp

mp.mp.dps = 50
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "data", "hyp2f1_ref.csv")


def hyp_cases():
    cases = []
    # Likelihood forms: 2F1(a, b; a+1; z) with a = r+s+x, b = s+1 or r+x.
    for (r, s) in [(0.5534, 0.6061), (0.05, 3.0), (2.5, 0.1), (1.0, 1.0)]:
        for x in [0, 1, 7, 250, 4000]:
            a = r + s + x
            for b in [s + 1.0, r + x]:
                if b <= 0:
                    continue
                for z in [1e-12, 0.0925, 0.5, 0.74, 0.9, 0.999, 1 - 1e-8, 1 - 1e-12,
                          -1e-12, -0.5, -10.0, -1e6]:
                    cases.append((a, b, a + 1.0, z))
    # pmf forms: 2F1(r+s+i, s+1; r+s+x+1; z).
    for (r, s, x) in [(0.5534, 0.6061, 3), (0.5534, 0.6061, 40), (2.0, 0.3, 12)]:
        for i in [0, x // 2, x]:
            for z in [0.09, 0.6, 0.95, 1 - 1e-10, -0.4, -3.0]:
                cases.append((r + s + i, s + 1.0, r + s + x + 1.0, z))
    # Large a and b, and c close to a + b (the logarithmic case at z -> 1).
    for (a, b) in [(1e4, 1e4), (1e4, 2.5), (3.5, 1e4), (150.0, 80.0)]:
        for dc in [0.0, 1e-9, -1e-9, 0.5, -0.5, 3.0]:
            c = a + b + dc
            for z in [0.3, 0.75, 0.9, 0.99, 1 - 1e-12, -0.9, -1e3]:
                cases.append((a, b, c, z))
    # small c (>= min(a, b)), small b
    for (a, b, c) in [(0.3, 0.2, 0.25), (2.0, 1e-6, 1e-3), (1e-3, 5.0, 0.5), (7.0, 0.5, 0.5)]:
        for z in [0.2, 0.8, 1 - 1e-12, -2.0]:
            cases.append((a, b, c, z))
    return cases


def tail_cases():
    cases = []
    # CDNOW-like, extreme ratios alpha/beta (|z| -> 1 in the hypergeometric form),
    # alpha == beta, alpha ~ beta, large purchase counts, long T.
    params = [(0.5534, 10.5802, 0.6061, 11.6562), (0.2426, 4.41, 0.79, 2.43),
              (2.0, 1e4, 0.5, 1.0), (0.3, 0.01, 2.0, 500.0), (1.0, 3.0, 1.0, 3.0),
              (0.7, 5.0, 0.4, 5.0 * (1 + 1e-9)), (0.05, 1e-3, 5.0, 1e3)]
    for (r, al, s, be) in params:
        for x in [0, 2, 26, 3000]:
            for t in [0.0, 0.5, 30.857, 1e4]:
                cases.append((r + x, s + 1.0, al, be, t))      # the dying-in-(t_x, T) term
                cases.append((r + x + 1.0, s, al, be, t))      # the alive-at-T term
    return cases


def log_hyp(a, b, c, z):
    a, b, c, z = (mp.mpf(v) for v in (a, b, c, z))
    if z < 0 and c >= b:
        # Pfaff (A&S 15.3.4), an exact identity: mpmath's own series at a
        # negative argument with a ~ 1e4 does not converge within its limits.
        return -a * mp.log(1 - z) + mp.log(mp.hyp2f1(a, c - b, c, z / (z - 1), maxterms=10**6))
    return mp.log(mp.hyp2f1(a, b, c, z, maxterms=10**6))


def log_tail(P, Q, al, be, t):
    a = P + Q - 1
    if al >= be:
        return -a * mp.log(al + t) - mp.log(a) + mp.log(mp.hyp2f1(a, Q, a + 1, (al - be) / (al + t)))
    return -a * mp.log(be + t) - mp.log(a) + mp.log(mp.hyp2f1(a, P, a + 1, (be - al) / (be + t)))


def rows():
    out = []
    for (a, b, c, z) in hyp_cases():
        try:
            v = log_hyp(a, b, c, z)
        except (ValueError, mp.libmp.NoConvergence):
            # mpmath cannot certify these (e.g. a = b = 1e4 at z = 0.99); left out.
            print("mpmath gave no value for 2F1%r: not in the table" % ((a, b, c, z),),
                  file=sys.stderr)
            continue
        out.append(["hyp2f1", repr(float(a)), repr(float(b)), repr(float(c)), repr(float(z)), "0",
                    mp.nstr(v, 30), "0", "0", "0", "0"])
    for (P, Q, al, be, t) in tail_cases():
        args = [mp.mpf(v) for v in (P, Q, al, be)]
        v = log_tail(*args, mp.mpf(t))
        d = []
        for k in range(4):
            def f(h, k=k):
                aa = list(args)
                aa[k] = aa[k] + h
                return log_tail(*aa, mp.mpf(t))
            d.append(mp.diff(f, 0))
        out.append(["tail"] + [repr(float(v_)) for v_ in (P, Q, al, be, t)] +
                   [mp.nstr(v, 30)] + [mp.nstr(x, 30) for x in d])
    return out


HEADER = "kind,p1,p2,p3,p4,p5,logvalue,d1,d2,d3,d4"
PNBD_OUT = os.path.join(HERE, "data", "pnbd_ref.csv")
PNBD_HEADER = "r,alpha,s,beta,x,t_x,T,loglik,p_alive,expected_52"


def pnbd_row(r, al, s, be, x, tx, T, t=52):
    """Textbook Pareto/NBD quantities for one customer (A0 form)."""
    with mp.workdps(60):
        r, al, s, be, x, tx, T = (mp.mpf(v) for v in (r, al, s, be, x, tx, T))
        a = r + s + x
        if al >= be:
            F = lambda u: mp.hyp2f1(a, s + 1, a + 1, (al - be) / (al + u)) / (al + u) ** a
        else:
            F = lambda u: mp.hyp2f1(a, r + x, a + 1, (be - al) / (be + u)) / (be + u) ** a
        A0 = F(tx) - F(T)
        alive = 1 / ((al + T) ** (r + x) * (be + T) ** s)
        ll = (mp.loggamma(r + x) - mp.loggamma(r) + r * mp.log(al) + s * mp.log(be) +
              mp.log(alive + s / a * A0))
        pa = alive / (alive + s / a * A0)
        if s == 1:  # the limit s -> 1
            ce = pa * (r + x) * (be + T) / (al + T) * mp.log((be + T + t) / (be + T))
        else:
            ce = pa * (r + x) * (be + T) / ((al + T) * (s - 1)) * (1 - ((be + T) / (be + T + t)) ** (s - 1))
        return ll, pa, ce


def pnbd_cases():
    pub = (0.5533971, 10.5801985, 0.6060625, 11.6562237)
    rows = [(26, 30.857, 31.0), (26, 30.86, 31.0), (0, 0.0, 38.86), (2, 30.43, 38.86),
            (1, 0.5, 39.0), (5, 38.9, 39.0), (3000, 30.0, 40.0), (7, 10.0, 1e5),
            (40, 77.99999, 78.0)]
    out = [pub + rw for rw in rows]
    # alpha >> beta and beta >> alpha (|z| near 1 in the 2F1 terms), alpha == beta
    for prm in [(2.0, 1e4, 0.5, 1.0), (0.3, 0.05, 2.0, 500.0), (0.8, 7.0, 1.3, 7.0),
                (1.5, 3.0, 1.0, 9.0)]:
        for rw in [(0, 0.0, 20.0), (4, 3.0, 20.0), (250, 19.0, 20.0)]:
            out.append(prm + rw)
    return out


def pnbd_table():
    lines = [PNBD_HEADER]
    for c in pnbd_cases():
        ll, pa, ce = pnbd_row(*c)
        lines.append(",".join([repr(float(v)) for v in c] + [mp.nstr(v, 30) for v in (ll, pa, ce)]))
    return "\n".join(lines) + "\n"


def main():
    if "--pnbd" in sys.argv:
        text = pnbd_table()
        with open(PNBD_OUT, "w") as f:
            f.write(text)
        print("wrote", text.count("\n") - 1, "rows to", PNBD_OUT)
        return 0
    table = rows()
    text = HEADER + "\n" + "\n".join(",".join(r) for r in table) + "\n"
    if "--check" in sys.argv:
        with open(OUT) as f:
            old = f.read().splitlines()[1:]
        new = text.splitlines()[1:]
        bad = 0
        for o, n in zip(old, new):
            fo, fn = o.split(","), n.split(",")
            if fo[:6] != fn[:6] or any(abs(mp.mpf(x) - mp.mpf(y)) > mp.mpf("1e-25") * (1 + abs(mp.mpf(y)))
                                       for x, y in zip(fo[6:], fn[6:])):
                bad += 1
                print("differs:", o, "vs", n)
        if len(old) != len(new):
            bad += 1
            print("row count differs", len(old), len(new))
        print("ok" if not bad else "%d rows differ" % bad)
        return 1 if bad else 0
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write(text)
    print("wrote", len(table), "rows to", OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
