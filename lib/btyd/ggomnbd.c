/*
 * Gamma-Gompertz/NBD (Bemmaor & Glady 2012, "Modeling purchasing behavior
 * with sudden 'death': a flexible customer lifetime model", Management
 * Science 58(5)): the family descriptor used by the generic BTYD machinery
 * (btyd.c, fit.c). Calls core/ only.
 *
 * Parameters (r, alpha, b, s, beta), named and ordered as in CLVTools'
 * `ggomnbd`: purchase rate lambda ~ Gamma(shape r, rate alpha); while alive a
 * customer buys as a Poisson(lambda) process. The lifetime is Gompertz with
 * scale b and individual eta, f(tau | eta) = b eta e^(b tau) exp(-eta (e^(b tau) - 1)),
 * eta ~ Gamma(shape s, rate beta); marginally (Bemmaor & Glady eq. 3)
 *   S(tau) = (beta / (beta - 1 + e^(b tau)))^s,
 *   f(tau) = b s beta^s e^(b tau) / (beta - 1 + e^(b tau))^(s+1).
 *
 * The likelihood of x repeat purchases, the last at t_x, observed until T
 * (Bemmaor & Glady eq. 6; CLVTools' `ggomnbd_nocov_LL_ind`):
 *   L = G(r+x)/G(r) alpha^r [ (alpha+T)^-(r+x) S(T)
 *                             + int_{t_x}^T (alpha+tau)^-(r+x) f(tau) dtau ].
 * The integral has no closed form: it is computed by the log-scaled adaptive
 * Gauss-Kronrod rule of core/special.c (our own routine; GSL's integrator is
 * not used, so nothing can reach GSL's error handler), with the five
 * derivatives of the integrand carried along as extra components so the
 * gradient is exact up to the quadrature tolerance.
 *
 * Numerically, lw(tau) = log(beta - 1 + e^(b tau)) is evaluated as
 * b tau + log1p((beta - 1) e^(-b tau)) (no overflow of e^(b tau)).
 */
#include "btyd/btyd_internal.h"
#include "core/special.h"

#include <float.h>

static const char *const gg_names[] = {"r", "alpha", "b", "s", "beta"};

/* Quadrature tolerance of the likelihood and of the predictions. */
#define GG_RTOL 1e-11

/* log(beta - 1 + e^(b tau)) for tau >= 0 (beta > 0 keeps it finite). */
static inline double gg_lw(double b, double beta, double tau)
{
    double bt = b * tau;
    return bt + log1p((beta - 1.0) * exp(-bt));
}

typedef struct gg_ll_ctx {
    double rx, alpha, b, s, beta, lconst; /* lconst = log b + log s + s log beta */
} gg_ll_ctx;

/* log of the integrand (alpha+tau)^-(r+x) f(tau) and the ratios of its
 * derivatives in (r, alpha, b, s, beta) to it. */
static double gg_ll_integrand(double tau, void *vctx, double *mult)
{
    const gg_ll_ctx *c = vctx;
    double la = log(c->alpha + tau), lw = gg_lw(c->b, c->beta, tau);
    double ebw = exp(-lw);                                        /* 1 / (beta-1+e^(b tau)) */
    double q = 1.0 / (1.0 + (c->beta - 1.0) * exp(-c->b * tau)); /* e^(b tau) ebw */
    mult[0] = -la;
    mult[1] = -c->rx / (c->alpha + tau);
    mult[2] = 1.0 / c->b + tau - (c->s + 1.0) * tau * q;
    mult[3] = 1.0 / c->s + log(c->beta) - lw;
    mult[4] = c->s / c->beta - (c->s + 1.0) * ebw;
    return -c->rx * la + c->lconst + c->b * tau - (c->s + 1.0) * lw;
}

/* log L of one row and (if g != NULL) d log L / d(r, alpha, b, s, beta). */
static int gg_row(const double *p, double x, double tx, double T, double *ll, double *g)
{
    double r = p[0], al = p[1], b = p[2], s = p[3], be = p[4];
    double rx = r + x;
    double laT = log(al + T), lwT = gg_lw(b, be, T), lbe = log(be);
    /* log A, A = (alpha+T)^-(r+x) S(T), and d log A. */
    double lA = -rx * laT + s * (lbe - lwT);
    double qT = 1.0 / (1.0 + (be - 1.0) * exp(-b * T));
    double dA[5] = {-laT, -rx / (al + T), -s * T * qT, lbe - lwT, s / be - s * exp(-lwT)};
    double lI = -INFINITY, Iv[6] = {0};
    if (tx < T) {
        gg_ll_ctx c = {rx, al, b, s, be, log(b) + log(s) + s * lbe};
        double mag = rx * fabs(laT) + (s + 1.0) * fabs(lwT) + fabs(c.lconst) + b * T + 1.0;
        double lsc;
        if (churn__quad_log(gg_ll_integrand, &c, g ? 6 : 1, tx, T, GG_RTOL, DBL_EPSILON * mag,
                            Iv, &lsc) != CHURN_OK)
            return CHURN_ENUMERIC;
        if (Iv[0] > 0.0) {
            lI = lsc + log(Iv[0]);
            for (int j = 1; j < 6; j++)
                Iv[j] /= Iv[0]; /* (d I / d p_j) / I */
        }
    }
    double lsum = churn__logaddexp(lA, lI);
    *ll = lgamma(rx) - lgamma(r) + r * log(al) + lsum;
    if (!isfinite(*ll))
        return CHURN_ENUMERIC;
    if (g) {
        double wA = exp(lA - lsum), wI = lI == -INFINITY ? 0.0 : exp(lI - lsum);
        for (int j = 0; j < 5; j++)
            g[j] = wA * dA[j] + wI * Iv[j + 1];
        g[0] += churn__psi(rx) - churn__psi(r) + log(al);
        g[1] += r / al;
    }
    return CHURN_OK;
}

/* ---- the log-likelihood with its analytic Hessian ---------------------------- */

/* The integrand of gg_ll_integrand with, as components 6..20, the second
 * derivatives of the integrand over it: h_jk + h_j h_k (j <= k, row by row),
 * h = log of the integrand. With W = beta - 1 + e^(b tau), q = e^(b tau) / W:
 * h_bb = -1/b^2 - (s+1) tau^2 q (1-q), h_bs = -tau q, h_bbeta = (s+1) tau q / W,
 * h_ss = -1/s^2, h_sbeta = 1/beta - 1/W, h_betabeta = -s/beta^2 + (s+1)/W^2,
 * h_ralpha = -1/(alpha+tau), h_alphaalpha = (r+x)/(alpha+tau)^2, the rest 0. */
static double gg_hess_integrand(double tau, void *vctx, double *mult)
{
    const gg_ll_ctx *c = vctx;
    double lh = gg_ll_integrand(tau, vctx, mult);
    double at = c->alpha + tau, ebw = exp(-gg_lw(c->b, c->beta, tau));
    double q = 1.0 / (1.0 + (c->beta - 1.0) * exp(-c->b * tau));
    double h2[15] = {0.0}; /* (0,0) (0,1) .. (0,4) (1,1) .. (1,4) (2,2) .. (4,4) */
    h2[1] = -1.0 / at;
    h2[5] = c->rx / (at * at);
    h2[9] = -1.0 / (c->b * c->b) - (c->s + 1.0) * tau * tau * q * (1.0 - q);
    h2[10] = -tau * q;
    h2[11] = (c->s + 1.0) * tau * q * ebw;
    h2[12] = -1.0 / (c->s * c->s);
    h2[13] = 1.0 / c->beta - ebw;
    h2[14] = -c->s / (c->beta * c->beta) + (c->s + 1.0) * ebw * ebw;
    for (int j = 0, at2 = 0; j < 5; j++)
        for (int k = j; k < 5; k++, at2++)
            mult[5 + at2] = h2[at2] + mult[j] * mult[k];
    return lh;
}

/* log L of one row, its gradient g and Hessian H (5 x 5) in the natural
 * parameters: log L = lgamma(r+x) - lgamma(r) + r log alpha + log(A + I) with
 * A = e^(lA) the alive term and I the integral; d2 log(A + I) = [A (d2 lA +
 * dlA dlA') + int e^h (d2 h + dh dh')] / (A + I) - g g'. */
static int gg_row_hess(const double *p, double x, double tx, double T, double *ll, double *g,
                       double *H)
{
    double r = p[0], al = p[1], b = p[2], s = p[3], be = p[4];
    double rx = r + x, aT = al + T;
    double laT = log(aT), lwT = gg_lw(b, be, T), lbe = log(be);
    double lA = -rx * laT + s * (lbe - lwT);
    double qT = 1.0 / (1.0 + (be - 1.0) * exp(-b * T)), ebwT = exp(-lwT);
    double dA[5] = {-laT, -rx / aT, -s * T * qT, lbe - lwT, s / be - s * ebwT};
    double HA[25] = {0.0};
    HA[0 * 5 + 1] = HA[1 * 5 + 0] = -1.0 / aT;
    HA[1 * 5 + 1] = rx / (aT * aT);
    HA[2 * 5 + 2] = -s * T * T * qT * (1.0 - qT);
    HA[2 * 5 + 3] = HA[3 * 5 + 2] = -T * qT;
    HA[2 * 5 + 4] = HA[4 * 5 + 2] = s * T * qT * ebwT;
    HA[3 * 5 + 4] = HA[4 * 5 + 3] = 1.0 / be - ebwT;
    HA[4 * 5 + 4] = -s / (be * be) + s * ebwT * ebwT;
    double lI = -INFINITY, Iv[21] = {0};
    if (tx < T) {
        gg_ll_ctx c = {rx, al, b, s, be, log(b) + log(s) + s * lbe};
        double mag = rx * fabs(laT) + (s + 1.0) * fabs(lwT) + fabs(c.lconst) + b * T + 1.0;
        double lsc;
        if (churn__quad_log(gg_hess_integrand, &c, 21, tx, T, GG_RTOL, DBL_EPSILON * mag, Iv,
                            &lsc) != CHURN_OK)
            return CHURN_ENUMERIC;
        if (Iv[0] > 0.0) {
            lI = lsc + log(Iv[0]);
            for (int j = 1; j < 21; j++)
                Iv[j] /= Iv[0];
        }
    }
    double lsum = churn__logaddexp(lA, lI);
    *ll = lgamma(rx) - lgamma(r) + r * log(al) + lsum;
    if (!isfinite(*ll))
        return CHURN_ENUMERIC;
    double wA = exp(lA - lsum), wI = lI == -INFINITY ? 0.0 : exp(lI - lsum);
    for (int j = 0; j < 5; j++)
        g[j] = wA * dA[j] + wI * Iv[j + 1];
    for (int j = 0, at2 = 0; j < 5; j++)
        for (int k = j; k < 5; k++, at2++) {
            double v = wA * (HA[j * 5 + k] + dA[j] * dA[k]) + wI * Iv[6 + at2] - g[j] * g[k];
            H[j * 5 + k] = H[k * 5 + j] = v;
        }
    g[0] += churn__psi(rx) - churn__psi(r) + log(al);
    g[1] += r / al;
    H[0] += churn__trigamma(rx) - churn__trigamma(r);
    H[1] += 1.0 / al;
    H[5] += 1.0 / al;
    H[6] -= r / (al * al);
    return CHURN_OK;
}

/* churn__btyd_hess_fn: the weighted sum over rows, gradient and Hessian in the
 * log-parameters (d2/dtheta_a dtheta_b = p_a p_b H_ab + [a = b] p_a g_a). The
 * covariate fit calls it once per customer instead of differencing gradients. */
static int gg_loglik_hess(const double *p, size_t n, const double *x, const double *tx,
                          const double *T, const double *w, double *ll, double *grad,
                          double *hess)
{
    double sum = 0.0, gs[5] = {0}, hs[25] = {0};
    for (size_t i = 0; i < n; i++) {
        double li, gi[5], hi[25];
        int rc = gg_row_hess(p, x[i], tx[i], T[i], &li, gi, hi);
        if (rc)
            return rc;
        double wi = w ? w[i] : 1.0;
        sum += wi * li;
        for (int j = 0; j < 5; j++)
            gs[j] += wi * gi[j];
        for (int j = 0; j < 25; j++)
            hs[j] += wi * hi[j];
    }
    *ll = sum;
    for (int a = 0; a < 5; a++) {
        if (grad)
            grad[a] = gs[a] * p[a];
        for (int b = 0; b < 5; b++) {
            hess[a * 5 + b] = p[a] * p[b] * hs[a * 5 + b] + (a == b ? p[a] * gs[a] : 0.0);
            if (!isfinite(hess[a * 5 + b]))
                return CHURN_ENUMERIC;
        }
    }
    return isfinite(sum) ? CHURN_OK : CHURN_ENUMERIC;
}

static int gg_loglik(const double *p, size_t n, const double *x, const double *tx,
                     const double *T, const double *w, double *ll, double *grad_log)
{
    double sum = 0.0, gs[5] = {0};
    for (size_t i = 0; i < n; i++) {
        double li, gi[5];
        int rc = gg_row(p, x[i], tx[i], T[i], &li, grad_log ? gi : NULL);
        if (rc)
            return rc;
        double wi = w ? w[i] : 1.0;
        sum += wi * li;
        if (grad_log)
            for (int j = 0; j < 5; j++)
                gs[j] += wi * gi[j];
    }
    *ll = sum;
    if (grad_log)
        for (int j = 0; j < 5; j++)
            grad_log[j] = gs[j] * p[j];
    return isfinite(sum) ? CHURN_OK : CHURN_ENUMERIC;
}

/* ---- predictions ------------------------------------------------------------ */

/* P(alive at T | x, t_x, T) = (alpha+T)^-(r+x) S(T) / [ the bracket of L ]
 * (Bemmaor & Glady eq. 8). */
static double gg_p_alive(const double *p, double x, double tx, double T)
{
    double ll, r = p[0], al = p[1], s = p[3], be = p[4];
    if (gg_row(p, x, tx, T, &ll, NULL) != CHURN_OK)
        return NAN;
    double lA = -(r + x) * log(al + T) + s * (log(be) - gg_lw(p[2], be, T));
    double lbr = ll - (lgamma(r + x) - lgamma(r) + r * log(al));
    double pa = exp(lA - lbr);
    return pa > 1.0 ? 1.0 : pa;
}

typedef struct gg_surv_ctx {
    double b, beta, s, T0, lw0;
} gg_surv_ctx;

/* log of the remaining-lifetime survival S(T0+u) / S(T0) = exp(s lw(T0) - s lw(T0+u)). */
static double gg_surv_integrand(double u, void *vctx, double *mult)
{
    const gg_surv_ctx *c = vctx;
    (void)mult;
    return c->s * (c->lw0 - gg_lw(c->b, c->beta, c->T0 + u));
}

/* E[min(remaining lifetime, t) | alive at age T0] = int_0^t S(T0+u)/S(T0) du. */
static double gg_alive_time(const double *p, double T0, double t)
{
    if (t == 0.0)
        return 0.0;
    gg_surv_ctx c = {p[2], p[4], p[3], T0, gg_lw(p[2], p[4], T0)};
    double v, lsc;
    double mag = p[3] * (fabs(c.lw0) + p[2] * (T0 + t) + fabs(log(p[4]))) + 1.0;
    if (churn__quad_log(gg_surv_integrand, &c, 1, 0.0, t, GG_RTOL, DBL_EPSILON * mag, &v,
                        &lsc) != CHURN_OK)
        return NAN;
    return v > 0.0 ? v * exp(lsc) : 0.0;
}

/* E[X(T, T+t) | x, t_x, T] = P(alive) (r+x)/(alpha+T) int_0^t S(T+u)/S(T) du:
 * alive at T, the posteriors are lambda ~ Gamma(r+x, alpha+T) and
 * eta ~ Gamma(s, beta - 1 + e^(bT)), independent (CLVTools' `ggomnbd` CET). */
static double gg_cond_expected(const double *p, double t, double x, double tx, double T)
{
    double pa = gg_p_alive(p, x, tx, T);
    return pa * (p[0] + x) / (p[1] + T) * gg_alive_time(p, T, t);
}

/* E[X(t)] = r/alpha int_0^t S(u) du for a customer acquired at 0. */
static double gg_expected_new(const double *p, double t)
{
    return p[0] / p[1] * gg_alive_time(p, 0.0, t);
}

typedef struct gg_pmf_ctx {
    double r, alpha, b, s, beta, T0, lw0, k, lcoef;
} gg_pmf_ctx;

/* f_rem(u) NB(k | u): the remaining lifetime ends at u after k purchases. */
static double gg_pmf_integrand(double u, void *vctx, double *mult)
{
    const gg_pmf_ctx *c = vctx;
    (void)mult;
    double lw = gg_lw(c->b, c->beta, c->T0 + u);
    double lf = log(c->s) + log(c->b) + c->s * c->lw0 + c->b * (c->T0 + u) - (c->s + 1.0) * lw;
    double lnb = c->lcoef + c->r * (log(c->alpha) - log(c->alpha + u));
    if (c->k > 0.0)
        lnb += c->k * (log(u) - log(c->alpha + u));
    return lf + lnb;
}

/* P(k purchases in the next t | alive at age T0, lambda ~ Gamma(r, alpha)):
 * S_rem(t) NB(k | t) + int_0^t f_rem(u) NB(k | u) du, NB the negative
 * binomial count of a Poisson-gamma process over a window u. */
static double gg_pmf_from(const double *p, double r, double al, double T0, double t, double k)
{
    if (t == 0.0)
        return k == 0.0 ? 1.0 : 0.0;
    double b = p[2], s = p[3], be = p[4];
    double lw0 = gg_lw(b, be, T0);
    double lcoef = lgamma(r + k) - lgamma(r) - lgamma(k + 1.0);
    double alive = s * (lw0 - gg_lw(b, be, T0 + t)) + lcoef + r * (log(al) - log(al + t)) +
                   k * (log(t) - log(al + t));
    gg_pmf_ctx c = {r, al, b, s, be, T0, lw0, k, lcoef};
    double v, lsc;
    double mag = (s + 1.0) * (fabs(lw0) + b * (T0 + t)) + (r + k) * fabs(log(al + t)) +
                 fabs(lcoef) + k * fabs(log(t)) + 1.0;
    if (churn__quad_log(gg_pmf_integrand, &c, 1, 0.0, t, GG_RTOL, DBL_EPSILON * mag, &v,
                        &lsc) != CHURN_OK)
        return NAN;
    double lp = v > 0.0 ? churn__logaddexp(alive, lsc + log(v)) : alive;
    double pr = exp(lp);
    return pr > 1.0 ? 1.0 : pr;
}

static double gg_pmf(const double *p, double t, double k)
{
    return gg_pmf_from(p, p[0], p[1], 0.0, t, k);
}

/* Dead at T: no purchases; alive at T: the posterior lambda ~ Gamma(r+x,
 * alpha+T) and the remaining Gompertz lifetime from age T. */
static double gg_cond_pmf(const double *p, double t, double k, double x, double tx, double T)
{
    double pa = gg_p_alive(p, x, tx, T);
    double pr = pa * gg_pmf_from(p, p[0] + x, p[1] + T, T, t, k);
    if (k == 0.0)
        pr += 1.0 - pa;
    return pr;
}

const churn__btyd_family churn__ggomnbd_family = {
    CHURN_FAMILY_GGOMNBD, 5, gg_names, gg_loglik, gg_p_alive, gg_cond_expected,
    gg_expected_new, gg_pmf, gg_cond_pmf, NULL, NULL, 0, NULL, gg_loglik_hess,
};
