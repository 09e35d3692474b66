/*
 * BG/BB (Fader, Hardie & Shang 2010, "Customer-base analysis in a
 * discrete-time noncontractual setting", Marketing Science 29(6)).
 *
 * At each of n discrete transaction opportunities an alive customer first
 * survives with probability 1 - theta and then transacts with probability p;
 * p ~ Beta(alpha, beta), theta ~ Beta(gamma, delta). Data per customer:
 * x transactions, t_x = the opportunity of the last one (0 when x = 0),
 * n opportunities (the `T` column). Parameters: alpha, beta, gamma, delta.
 */
#include "btyd/btyd_internal.h"

#include "core/special.h"

static const char *const bb_names[] = {"alpha", "beta", "gamma", "delta"};

/* Log-likelihood of one row (FHS 2010, the BG/BB likelihood):
 *   L = B(al+x, be+n-x)/B(al,be) * B(ga, de+n)/B(ga,de)                       [alive at n]
 *     + sum_{i=0}^{n-t_x-1} B(al+x, be+t_x-x+i)/B(al,be) * B(ga+1, de+t_x+i)/B(ga,de)
 *                                                           [died before t_x+i+1]
 * in log space: consecutive terms of the sum differ by
 *   log(be+t_x-x+i) - log(al+be+t_x+i) + log(de+t_x+i) - log(ga+de+t_x+i+1) < 0,
 * so the largest term is the alive term or the first of the sum. Digammas of
 * the gradient follow psi(z+1) = psi(z) + 1/z along the sum.
 * Returns log L and (if g) d log L / d(al, be, ga, de); *lalive = the alive term. */
typedef struct bb_consts {
    double al, be, ga, de, lb0, lg0, psa, psb, psab, psg, psd, psgd;
} bb_consts;

static void bb_init(bb_consts *k, const double *p, int grad)
{
    k->al = p[0];
    k->be = p[1];
    k->ga = p[2];
    k->de = p[3];
    k->lb0 = churn__lnbeta(k->al, k->be);
    k->lg0 = churn__lnbeta(k->ga, k->de);
    if (grad) {
        k->psa = churn__psi(k->al);
        k->psb = churn__psi(k->be);
        k->psab = churn__psi(k->al + k->be);
        k->psg = churn__psi(k->ga);
        k->psd = churn__psi(k->de);
        k->psgd = churn__psi(k->ga + k->de);
    }
}

static double bb_row(const bb_consts *k, double x, double tx, double n, double *g, double *lalive)
{
    double al = k->al, be = k->be, ga = k->ga, de = k->de;
    double lA = churn__lnbeta(al + x, be + n - x) - k->lb0 + churn__lnbeta(ga, de + n) - k->lg0;
    *lalive = lA;
    long nt = (long)(n - tx); /* number of terms in the sum */
    double l = nt > 0 ? churn__lnbeta(al + x, be + tx - x) - k->lb0 +
                            churn__lnbeta(ga + 1, de + tx) - k->lg0
                      : -INFINITY;
    double mx = fmax(lA, l);
    double eA = exp(lA - mx), sum = eA;
    double ga_ = 0, gb_ = 0, gg_ = 0, gd_ = 0;
    double psax = 0;
    if (g) {
        psax = churn__psi(al + x);
        double psabn = churn__psi(al + be + n), psgdn = churn__psi(ga + de + n);
        ga_ = eA * (psax - psabn - k->psa + k->psab);
        gb_ = eA * (churn__psi(be + n - x) - psabn - k->psb + k->psab);
        gg_ = eA * (k->psgd - psgdn);
        gd_ = eA * (churn__psi(de + n) - psgdn - k->psd + k->psgd);
    }
    if (nt > 0) {
        double P1 = 0, P2 = 0, P3 = 0, P4 = 0;
        if (g) {
            P1 = churn__psi(al + be + tx);     /* psi(al+be+tx+i) */
            P2 = churn__psi(be + tx - x);      /* psi(be+tx-x+i) */
            P3 = churn__psi(ga + de + tx + 1); /* psi(ga+de+tx+i+1) */
            P4 = churn__psi(de + tx);          /* psi(de+tx+i) */
        }
        for (long i = 0; i < nt; i++) {
            double e = exp(l - mx);
            sum += e;
            if (g) {
                ga_ += e * (psax - P1 - k->psa + k->psab);
                gb_ += e * (P2 - P1 - k->psb + k->psab);
                gg_ += e * (1 / ga - P3 + k->psgd);
                gd_ += e * (P4 - P3 - k->psd + k->psgd);
            }
            double u1 = be + tx - x + i, u2 = al + be + tx + i, u3 = de + tx + i,
                   u4 = ga + de + tx + i + 1;
            l += log(u1 / u2) + log(u3 / u4);
            if (g) {
                P1 += 1 / u2;
                P2 += 1 / u1;
                P3 += 1 / u4;
                P4 += 1 / u3;
            }
            /* terms decrease: stop once the rest cannot change the sum */
            if (e * (double)(nt - i) < 1e-17 * sum)
                break;
        }
    }
    if (g) {
        g[0] = ga_ / sum;
        g[1] = gb_ / sum;
        g[2] = gg_ / sum;
        g[3] = gd_ / sum;
    }
    return mx + log(sum);
}

static int bgbb_loglik(const double *p, size_t n, const double *x, const double *tx,
                       const double *T, const double *w, double *ll, double *grad)
{
    bb_consts k;
    bb_init(&k, p, grad != NULL);
    double s = 0, G[4] = {0, 0, 0, 0}, gi[4], lA;
    for (size_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        if (wi == 0)
            continue;
        s += wi * bb_row(&k, x[i], tx[i], T[i], grad ? gi : NULL, &lA);
        if (grad)
            for (int j = 0; j < 4; j++)
                G[j] += wi * gi[j];
    }
    *ll = s;
    if (grad)
        for (int j = 0; j < 4; j++)
            grad[j] = G[j] * p[j];
    return isfinite(s) ? CHURN_OK : CHURN_ENUMERIC;
}

/* P(alive at n | x, t_x, n): the alive term of the likelihood over the
 * likelihood (FHS 2010's P(alive), here for alive through opportunity n;
 * multiply by (delta+n)/(gamma+delta+n) for alive at n+1). */
static double bgbb_p_alive(const double *p, double x, double tx, double T)
{
    bb_consts k;
    bb_init(&k, p, 0);
    double lA, ll = bb_row(&k, x, tx, T, NULL, &lA);
    return fmin(1.0, exp(lA - ll));
}

/* P(alive at n + m | x, t_x, n) = P(alive through n) * P(survive m more |
 * alive at n) (FHS 2010; m = 1 is their P(alive in period n + 1)): the
 * second factor is B(gamma, delta+n+m)/B(gamma, delta+n) under the posterior
 * of theta, prod_{j<m} (delta+n+j)/(gamma+delta+n+j). */
double churn__bgbb_p_alive_at(const double *p, double m, double x, double tx, double T)
{
    double pa = bgbb_p_alive(p, x, tx, T);
    if (m == 0 || pa == 0)
        return pa;
    double ga = p[2], de = p[3];
    double ls = churn__lnbeta(ga, de + T + m) - churn__lnbeta(ga, de + T);
    return pa * exp(ls);
}

/* E[X(n*)] for a customer alive at 0 (FHS 2010, expected transactions):
 *   alpha/(alpha+beta) * sum_{i=1}^{n*} B(gamma, delta+i)/B(gamma, delta)
 * = alpha/(alpha+beta) * delta/(gamma-1)
 *   * [1 - Gamma(gamma+delta) Gamma(1+delta+n*) / (Gamma(gamma+delta+n*) Gamma(1+delta))].
 * The sum for short horizons; the closed form otherwise, written as
 * -delta expm1(D)/(gamma-1) with D the log of the gamma ratio, and D/(gamma-1)
 * from its Taylor series in gamma-1 when gamma is near 1 (0/0 there). */
static double bb_alive_expected(double al, double be, double ga, double de, double ns)
{
    double lead = al / (al + be);
    if (ns <= 200) {
        double s = 0, term = 1;
        for (double j = 0; j < ns; j++) {
            term *= (de + j) / (ga + de + j);
            s += term;
        }
        return lead * s;
    }
    double g = ga - 1, Dg;
    if (fabs(g) < 1e-3) {
        double fact = 1, gp = 1;
        Dg = 0;
        for (int j = 0; j < 5; j++) {
            fact *= (j + 1);
            Dg += gp / fact * (churn__psi_n(j, 1 + de) - churn__psi_n(j, 1 + de + ns));
            gp *= g;
        }
    } else {
        Dg = (churn__lngamma(ga + de) - churn__lngamma(1 + de) + churn__lngamma(1 + de + ns) -
              churn__lngamma(ga + de + ns)) / g;
    }
    double D = g * Dg;
    double r = D == 0 ? 1 : expm1(D) / D;
    return lead * de * (-Dg) * r;
}

/* Given alive at n the future is a new customer with the posterior
 * parameters (alpha+x, beta+n-x, gamma, delta+n): FHS 2010's conditional expectation. */
static double bgbb_cond_expected(const double *p, double t, double x, double tx, double T)
{
    double pa = bgbb_p_alive(p, x, tx, T);
    if (t == 0 || pa == 0)
        return 0;
    return pa * bb_alive_expected(p[0] + x, p[1] + T - x, p[2], p[3] + T, t);
}

static double bgbb_expected_new(const double *p, double t)
{
    return bb_alive_expected(p[0], p[1], p[2], p[3], t);
}

/* P(X(n) = k) for a new customer (FHS 2010):
 *   C(n,k) B(al+k, be+n-k)/B(al,be) B(ga, de+n)/B(ga,de)
 *   + sum_{i=k}^{n-1} C(i,k) B(al+k, be+i-k)/B(al,be) B(ga+1, de+i)/B(ga,de) */
static double bb_pmf(double al, double be, double ga, double de, double n, double k)
{
    if (k > n)
        return 0;
    double lb0 = churn__lnbeta(al, be), lg0 = churn__lnbeta(ga, de);
    double v = exp(churn__lnchoose(n, k) + churn__lnbeta(al + k, be + n - k) -
                   lb0 + churn__lnbeta(ga, de + n) - lg0);
    for (double i = k; i < n; i++)
        v += exp(churn__lnchoose(i, k) + churn__lnbeta(al + k, be + i - k) -
                 lb0 + churn__lnbeta(ga + 1, de + i) - lg0);
    return v;
}

static double bgbb_pmf(const double *p, double t, double k)
{
    if (t > 4.0e9)
        return NAN;
    return bb_pmf(p[0], p[1], p[2], p[3], t, k);
}

static double bgbb_cond_pmf(const double *p, double t, double k, double x, double tx, double T)
{
    if (t > 4.0e9)
        return NAN;
    double pa = bgbb_p_alive(p, x, tx, T);
    double v = pa * bb_pmf(p[0] + x, p[1] + T - x, p[2], p[3] + T, t, k);
    return k == 0 ? v + (1 - pa) : v;
}

const churn__btyd_family churn__bgbb_family = {
    CHURN_FAMILY_BGBB, 4,           bb_names,          bgbb_loglik,  bgbb_p_alive,
    bgbb_cond_expected, bgbb_expected_new, bgbb_pmf, bgbb_cond_pmf, NULL, NULL, 0, NULL, NULL,
};
