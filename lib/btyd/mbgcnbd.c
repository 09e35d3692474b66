/*
 * MBG/CNBD-k (Reutterer, Platzer & Schröder 2021, "Leveraging purchase
 * regularity for predicting customer behavior the easy way", IJRM 38(1);
 * BTYDplus' `mbgcnbd.*`): the family descriptors used by btyd.c and fit.c.
 * Calls core/ only.
 *
 * Parameters (k, r, alpha, a, b), in BTYDplus' order. While alive, a
 * customer's inter-purchase times are Erlang-k with rate lambda (the k-th
 * event of a Poisson(lambda) process; mean k / lambda), lambda ~ Gamma(r,
 * rate alpha); after every purchase, the first included (as in MBG/NBD), the
 * customer drops out with probability p ~ Beta(a, b). k = 1 is the MBG/NBD.
 *
 * Likelihood of x repeat purchases with inter-purchase times d_1..d_x (so
 * t_x = sum d_j, litt = sum log d_j), observed until T. Given lambda and p,
 *   L = lambda^(kx) e^(-lambda t_x) prod d_j^(k-1) / ((k-1)!)^x
 *       * [ (1-p)^(x+1) sum_{i<k} e^(-lambda (T-t_x)) (lambda (T-t_x))^i / i!   (alive, no purchase yet)
 *         + (1-p)^x p ]                                                       (dropped out at t_x)
 * and integrating lambda and p against their priors,
 *   log L = (k-1) litt - x log((k-1)!) + log(sum_{i<k} A_i + D),
 *   A_i = B(a, b+x+1)/B(a, b) (T-t_x)^i / i! G(r+kx+i)/G(r) alpha^r (alpha+T)^-(r+kx+i),
 *   D   = B(a+1, b+x)/B(a, b) G(r+kx)/G(r) alpha^r (alpha+t_x)^-(r+kx).
 * The litt term does not depend on (r, alpha, a, b): a fit with k fixed
 * needs only (x, t_x, T), and litt enters when likelihoods of different k
 * are compared (churn_mbgcnbd_fit adds it to the model's log-likelihood).
 *
 * Predictions (no simulation, no quadrature). Alive at T, the posterior is a
 * mixture over m = 0..k-1, the Poisson events since the last purchase, with
 * weights A_m / sum A: lambda | m ~ Gamma(r+kx+m, alpha+T) and
 * p ~ Beta(a, b+x+1). The c-th future purchase needs c k - m more events and
 * survival of the c-1 coins after the purchases before it, so
 *   P(X(T, T+t) >= c | alive, m) = E[(1-p)^(c-1)] P(NBD(r+kx+m, alpha+T; t) >= ck - m)
 *                                = B(a, b+x+c)/B(a, b+x+1) I_q(ck - m, r+kx+m),
 * q = t / (alpha+T+t), I the regularised incomplete beta (the negative
 * binomial tail). Then E[X(T, T+t)] = P(alive) sum_c sum_m w_m P(X >= c | m)
 * and P(X = c) = G(c) - G(c+1) with G(c) = P(X >= c). For a new customer
 * (right after the first purchase, m = 0, before the first coin):
 * P(X(t) >= c) = B(a, b+c)/B(a, b) I_q(ck, r), q = t/(alpha+t). The series
 * over c is summed until its terms fall below 1e-17 of the sum.
 */
#include "btyd/btyd_internal.h"
#include "core/special.h"

#include <float.h>

static const char *const mbgc_names[] = {"k", "r", "alpha", "a", "b"};
static const char *const mbgc_fit_names[] = {"r", "alpha", "a", "b"};

/* log L without the litt term; g (if not NULL) = d log L / d(r, alpha, a, b). */
static int mbgc_row(int k, const double *p, double x, double tx, double T, double *ll, double *g,
                    double *lalive)
{
    double r = p[0], al = p[1], a = p[2], b = p[3];
    double rkx = r + k * x;
    double lab = lgamma(a + b) - lgamma(b), labx = lgamma(a + b + x + 1.0);
    double lbA = lgamma(b + x + 1.0) + lab - labx;
    double lbD = log(a) + lgamma(b + x) + lab - labx;
    double lg0 = lgamma(rkx) - lgamma(r) + r * log(al);
    double laT = log(al + T), latx = log(al + tx);
    double lterm[CHURN__MBGC_KMAX + 1];
    int nt = 0;
    double dT = T - tx, ldT = dT > 0 ? log(dT) : -INFINITY;
    for (int i = 0; i < k; i++) {
        if (i > 0 && !(dT > 0))
            break;
        lterm[nt++] = lbA + lg0 + lgamma(rkx + i) - lgamma(rkx) + (i ? i * ldT : 0.0) -
                      lgamma(i + 1.0) - (rkx + i) * laT;
    }
    double la = -INFINITY;
    for (int i = 0; i < nt; i++)
        la = churn__logaddexp(la, lterm[i]);
    double lD = lbD + lg0 - rkx * latx;
    double lsum = churn__logaddexp(la, lD);
    *ll = lsum;
    if (lalive)
        *lalive = la;
    if (!isfinite(lsum))
        return CHURN_ENUMERIC;
    if (g) {
        double pr = churn__psi(r), pab = churn__psi(a + b), pabx = churn__psi(a + b + x + 1.0),
               pb = churn__psi(b);
        double dAa = pab - pabx, dAb = churn__psi(b + x + 1.0) - pb - pabx + pab;
        double dDa = 1.0 / a - pabx + pab, dDb = churn__psi(b + x) - pb - pabx + pab;
        double wD = exp(lD - lsum);
        g[0] = wD * (churn__psi(rkx) - pr + log(al) - latx);
        g[1] = wD * (r / al - rkx / (al + tx));
        g[2] = wD * dDa;
        g[3] = wD * dDb;
        for (int i = 0; i < nt; i++) {
            double wi = exp(lterm[i] - lsum);
            g[0] += wi * (churn__psi(rkx + i) - pr + log(al) - laT);
            g[1] += wi * (r / al - (rkx + i) / (al + T));
            g[2] += wi * dAa;
            g[3] += wi * dAb;
        }
    }
    return CHURN_OK;
}

int churn__mbgc_loglik_k(int k, const double *p, size_t n, const double *x, const double *tx,
                         const double *T, const double *w, double *ll, double *grad_log)
{
    double sum = 0.0, gs[4] = {0};
    for (size_t i = 0; i < n; i++) {
        double li, gi[4];
        int rc = mbgc_row(k, p, x[i], tx[i], T[i], &li, grad_log ? gi : NULL, NULL);
        if (rc)
            return rc;
        double wi = w ? w[i] : 1.0;
        sum += wi * li;
        if (grad_log)
            for (int j = 0; j < 4; j++)
                gs[j] += wi * gi[j];
    }
    *ll = sum;
    if (grad_log)
        for (int j = 0; j < 4; j++)
            grad_log[j] = gs[j] * p[j];
    return isfinite(sum) ? CHURN_OK : CHURN_ENUMERIC;
}

/* ---- the fit descriptors, one per k (k is fixed in a fit) ------------------------ */

#define MBGC_FIT(K)                                                                           \
    static int mbgc_ll_##K(const double *p, size_t n, const double *x, const double *tx,     \
                           const double *T, const double *w, double *ll, double *g)           \
    {                                                                                         \
        return churn__mbgc_loglik_k(K, p, n, x, tx, T, w, ll, g);                             \
    }
MBGC_FIT(1)
MBGC_FIT(2)
MBGC_FIT(3)
MBGC_FIT(4)
MBGC_FIT(5)
MBGC_FIT(6)
MBGC_FIT(7)
MBGC_FIT(8)
MBGC_FIT(9)
MBGC_FIT(10)
MBGC_FIT(11)
MBGC_FIT(12)
#undef MBGC_FIT

/* The predictions take k from params[0]; the fit descriptors never predict. */
#define MBGC_DESC(K)                                                                       \
    {CHURN_FAMILY_MBGCNBD, 4, mbgc_fit_names, mbgc_ll_##K, NULL, NULL, NULL, NULL, NULL, NULL, \
     NULL, 0, NULL, NULL}
const churn__btyd_family churn__mbgc_fit_family[CHURN__MBGC_KMAX] = {
    MBGC_DESC(1), MBGC_DESC(2), MBGC_DESC(3),  MBGC_DESC(4),  MBGC_DESC(5),  MBGC_DESC(6),
    MBGC_DESC(7), MBGC_DESC(8), MBGC_DESC(9), MBGC_DESC(10), MBGC_DESC(11), MBGC_DESC(12),
};
#undef MBGC_DESC

/* ---- predictions ------------------------------------------------------------------- */

/* k = params[0] when it is a whole number in 1..CHURN__MBGC_KMAX, else 0. */
static int mbgc_k(const double *params)
{
    double k = params[0];
    return (k >= 1 && k <= CHURN__MBGC_KMAX && k == floor(k)) ? (int)k : 0;
}

/* The whole-sample log-likelihood of the 5-parameter model (litt excluded):
 * used by churn_btyd_loglik-style callers; the k component of the gradient is 0. */
static int mbgc_loglik(const double *params, size_t n, const double *x, const double *tx,
                       const double *T, const double *w, double *ll, double *grad_log)
{
    int k = mbgc_k(params);
    if (!k)
        return CHURN_ENUMERIC;
    double g[4];
    int rc = churn__mbgc_loglik_k(k, params + 1, n, x, tx, T, w, ll, grad_log ? g : NULL);
    if (!rc && grad_log) {
        grad_log[0] = 0.0;
        for (int j = 0; j < 4; j++)
            grad_log[j + 1] = g[j];
    }
    return rc;
}

static double mbgc_p_alive(const double *params, double x, double tx, double T)
{
    int k = mbgc_k(params);
    double ll, la;
    if (!k || mbgc_row(k, params + 1, x, tx, T, &ll, NULL, &la) != CHURN_OK)
        return NAN;
    double pa = exp(la - ll);
    return pa > 1.0 ? 1.0 : pa;
}

/* The series G(c) = P(X >= c), c = 1, 2, ...: for a customer alive at T
 * (cond = 1: weights over m, Beta(a, b+x+1) coins) or a new customer (cond = 0).
 * With want_c >= 0 returns G(want_c) - G(want_c + 1); with want_c < 0 the sum
 * of G(c) over c >= 1 (the expectation). NaN if the series does not settle. */
static double mbgc_series(const double *params, int cond, double t, double x, double tx,
                          double T, double want_c)
{
    int k = mbgc_k(params);
    if (!k || !(t >= 0))
        return NAN;
    double r = params[1], al = params[2], a = params[3], b = params[4];
    double rk = r, aT = al, bb = b;
    double lw[CHURN__MBGC_KMAX];
    int nm = 1;
    lw[0] = 0.0;
    if (cond) {
        rk = r + k * x;
        aT = al + T;
        bb = b + x + 1.0; /* E[(1-p)^(c-1)] under Beta(a, b+x+1) */
        double dT = T - tx, lsum = -INFINITY;
        for (int m = 0; m < k; m++) {
            if (m > 0 && !(dT > 0))
                break;
            lw[m] = lgamma(rk + m) - lgamma(rk) + (m ? m * log(dT) : 0.0) - lgamma(m + 1.0) -
                    m * log(aT);
            lsum = churn__logaddexp(lsum, lw[m]);
            nm = m + 1;
        }
        for (int m = 0; m < nm; m++)
            lw[m] -= lsum;
    } else {
        bb = b; /* new customer: P(X >= c) needs c coins survived: E[(1-p)^c] */
    }
    if (t == 0.0)
        return want_c < 0 ? 0.0 : (want_c == 0 ? 1.0 : 0.0);
    double q = t / (aT + t);
    /* log E[(1-p)^j] under Beta(a, bb), j = c-1 (cond) or c (new) */
    double lab0 = lgamma(a + bb) - lgamma(bb);
    double total = 0.0, prev = 1.0; /* G(0) = 1 */
    for (long c = 1; c <= 1000000; c++) {
        double j = cond ? (double)(c - 1) : (double)c;
        double lsurv = lgamma(bb + j) - lgamma(a + bb + j) + lab0;
        double G = 0.0;
        for (int m = 0; m < nm; m++) {
            double I = churn__beta_inc((double)c * k - m, rk + m, q);
            if (isnan(I))
                return NAN;
            G += exp(lw[m]) * I;
        }
        G *= exp(lsurv);
        if (want_c >= 0) {
            if ((double)(c - 1) == want_c)
                return prev - G;
            if (G == 0.0) /* G(c) = 0 for a c <= want_c: so is P(X = want_c) */
                return 0.0;
        } else {
            total += G;
            if (G <= 1e-17 * total || G == 0.0)
                return total;
        }
        prev = G;
    }
    return NAN;
}

static double mbgc_cond_expected(const double *params, double t, double x, double tx, double T)
{
    double pa = mbgc_p_alive(params, x, tx, T);
    return pa * mbgc_series(params, 1, t, x, tx, T, -1.0);
}

static double mbgc_expected_new(const double *params, double t)
{
    return mbgc_series(params, 0, t, 0, 0, 0, -1.0);
}

static double mbgc_pmf(const double *params, double t, double c)
{
    return mbgc_series(params, 0, t, 0, 0, 0, c);
}

static double mbgc_cond_pmf(const double *params, double t, double c, double x, double tx,
                            double T)
{
    double pa = mbgc_p_alive(params, x, tx, T);
    double pr = c == 0.0 ? 1.0 - pa : 0.0;
    /* alive: P(X = c | alive) from the series (G(0) = 1) */
    return pr + pa * mbgc_series(params, 1, t, x, tx, T, c);
}

const churn__btyd_family churn__mbgcnbd_family = {
    CHURN_FAMILY_MBGCNBD, 5, mbgc_names, mbgc_loglik, mbgc_p_alive, mbgc_cond_expected,
    mbgc_expected_new, mbgc_pmf, mbgc_cond_pmf, NULL, NULL, 0, NULL, NULL,
};
