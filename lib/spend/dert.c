/*
 * DERT, the discounted expected residual transactions of a customer
 * (spend.h): a closed form through the confluent hypergeometric U for the
 * Pareto/NBD (U by its integral representation), a numerical integral of the
 * conditional expectation for the BG/NBD and MBG/NBD, and for the
 * Gamma-Gompertz/NBD one integral of its remaining-lifetime survival, for
 * the MBG/CNBD-k one integral over the purchase rate; all by the quadrature
 * of core/special.c (no GSL: its U and integrators report failures through
 * the process-wide GSL error handler).
 *
 * References:
 *  - Fader, Hardie & Lee (2005), "RFM and CLV: Using iso-value curves for
 *    customer base analysis", JMR 42(4) — the Pareto/NBD DERT.
 *
 * Calls core/ and the public btyd/ functions (churn_btyd_p_alive,
 * churn_btyd_expected_purchases).
 */
#include "core/internal.h"

#include "core/special.h"

static double model_param(const churn_model *m, const char *name)
{
    for (size_t i = 0; i < m->nparams; i++)
        if (strcmp(m->param_names[i], name) == 0)
            return m->params[i];
    return NAN;
}

typedef struct dert_ctx {
    const churn_model *model;
    double delta, x, tx, T;
    int rc;
} dert_ctx;

/* log of e^{-s} E[X(T, T + s/delta) | history]: after integrating by parts
 * and substituting s = delta t, DERT = int_0^inf e^{-s} E(s / delta) ds. */
static double dert_integrand_log(double s, void *vp, double *mult)
{
    (void)mult;
    dert_ctx *c = vp;
    double e = 0;
    if (s <= 0)
        return -INFINITY;
    int rc = churn_btyd_expected_purchases(c->model, s / c->delta, 1, &c->x, &c->tx, &c->T, &e);
    if (rc) {
        c->rc = rc;
        return NAN;
    }
    return e > 0 ? log(e) - s : -INFINITY;
}

/* log of the integrand of the Pareto/NBD tail
 *   int_0^inf e^{-z u} (1 + u)^{-s} du = z^{s-1} U(s, s; z)
 * (integral representation of U(1, 2-s; z) and Kummer's transformation),
 * after u = e^v - 1: exp(-z (e^v - 1) - (s - 1) v) dv. p = {s, z}. */
static double pnbd_tail_log(double v, void *p, double *mult)
{
    (void)mult;
    const double *sz = p;
    return -sz[1] * expm1(v) - (sz[0] - 1.0) * v;
}

/* log z^{s-1} U(s, s; z) for s, z > 0 by quadrature (core/special.c), on
 * v in [0, log(1 + 1600/z)]: beyond it the integrand is below e^{-1600}
 * times its value at the end, where z e^v > 1600 dominates (s - 1) v.
 * (GSL's gsl_sf_hyperg_U reports under/overflow and non-convergence through
 * the process-wide GSL error handler, e.g. for z ~ 1e-9.) */
static int pnbd_tail(double s, double z, double *log_tail)
{
    double sz[2] = {s, z}, val, ls;
    double hi = log1p(1600.0 / z);
    if (!isfinite(hi) || churn__quad_log(pnbd_tail_log, sz, 1, 0.0, hi, 1e-12, 0.0, &val, &ls) !=
                             CHURN_OK || !(val > 0))
        return CHURN_ENUMERIC;
    *log_tail = ls + log(val);
    return CHURN_OK;
}

/* The Pareto/NBD DERT in closed form; the P(alive) pass checks the rows. */
static int dert_pnbd(const churn_model *model, double delta, size_t n, const double *frequency,
                     const double *recency, const double *T, const char *fn, double *dert)
{
    /* FHL 2005: DERT = alpha^r beta^s delta^{s-1} Gamma(r+x+1) U(s, s; delta(beta+T))
     *                 / (Gamma(r) (alpha+T)^{r+x+1} L(r, alpha, s, beta | x, t_x, T)).
     * Since P(alive) = alpha^r beta^s Gamma(r+x) / (Gamma(r) (alpha+T)^{r+x}
     * (beta+T)^s L), this is
     *   DERT = P(alive) (r + x)/(alpha + T) (beta + T)^s delta^{s-1} U(s, s; delta(beta+T)),
     * which reuses the Pareto/NBD P(alive) (with its careful 2F1 handling)
     * instead of recomputing the likelihood L. */
    double r = model_param(model, "r"), alpha = model_param(model, "alpha");
    double s = model_param(model, "s"), beta = model_param(model, "beta");
    if (!(r > 0 && alpha > 0 && s > 0 && beta > 0 && isfinite(s)))
        return churn__error(CHURN_EINVAL, "%s: the Pareto/NBD model lacks positive "
                            "parameters r, alpha, s, beta", fn);
    int rc = churn_btyd_p_alive(model, n, frequency, recency, T, dert);
    for (size_t i = 0; !rc && i < n; i++) {
        double bt = beta + T[i], z = delta * bt, lt;
        if (!(z > 0) || !isfinite(z) || pnbd_tail(s, z, &lt) != CHURN_OK) {
            rc = churn__error(CHURN_ENUMERIC, "%s: row %zu: U(s, s; %g) failed", fn, i, z);
            break;
        }
        /* (beta+T)^s delta^{s-1} U(s,s;z) = (beta+T) z^{s-1} U(s,s;z). */
        if (dert[i] > 0)
            dert[i] *= exp(log(r + frequency[i]) - log(alpha + T[i]) + log(bt) + lt);
        if (!isfinite(dert[i]))
            rc = churn__error(CHURN_ENUMERIC, "%s: row %zu: DERT not finite", fn, i);
    }
    return rc;
}

/* Gamma-Gompertz/NBD: alive at T, lambda ~ Gamma(r+x, alpha+T) and the
 * remaining lifetime has survival S_T(u) = exp(s lw(T) - s lw(T+u)),
 * lw(t) = log(beta - 1 + e^(b t)) (docs/models/ggomnbd.md), so
 *   DERT = P(alive) (r+x)/(alpha+T) int_0^inf e^(-delta u) S_T(u) du,
 * one quadrature per customer in v = delta u on [0, 800] (S_T <= 1, so the
 * rest is below e^-800 of delta^-1). */
typedef struct gg_dert_ctx {
    double b, beta, s, T, lw0, delta;
} gg_dert_ctx;

static double gg_lw(double b, double beta, double t)
{
    return b * t + log1p((beta - 1.0) * exp(-b * t));
}

static double gg_dert_log(double v, void *vp, double *mult)
{
    (void)mult;
    const gg_dert_ctx *c = vp;
    return -v + c->s * (c->lw0 - gg_lw(c->b, c->beta, c->T + v / c->delta));
}

static int dert_ggomnbd(const churn_model *model, double delta, size_t n,
                        const double *frequency, const double *recency, const double *T,
                        const char *fn, double *dert)
{
    double r = model_param(model, "r"), alpha = model_param(model, "alpha");
    double b = model_param(model, "b"), s = model_param(model, "s");
    double beta = model_param(model, "beta");
    if (!(r > 0 && alpha > 0 && b > 0 && s > 0 && beta > 0))
        return churn__error(CHURN_EINVAL, "%s: the Gamma-Gompertz/NBD model lacks positive "
                            "parameters r, alpha, b, s, beta", fn);
    int rc = churn_btyd_p_alive(model, n, frequency, recency, T, dert); /* validates rows */
    for (size_t i = 0; !rc && i < n; i++) {
        gg_dert_ctx c = {b, beta, s, T[i], gg_lw(b, beta, T[i]), delta};
        double val = 0, ls = 0;
        int st = churn__quad_log(gg_dert_log, &c, 1, 0.0, 800.0, 1e-11, 0.0, &val, &ls);
        double tail = val > 0 ? exp(ls + log(val)) / delta : 0.0;
        double v = dert[i] * (r + frequency[i]) / (alpha + T[i]) * tail;
        if (st != CHURN_OK || !isfinite(v))
            rc = churn__error(CHURN_ENUMERIC, "%s: row %zu: the DERT integral did not "
                              "converge", fn, i);
        else
            dert[i] = v;
    }
    return rc;
}

/* MBG/CNBD-k (Reutterer, Platzer & Schröder 2021; docs/models/mbgcnbdk.md). Alive at T,
 * with m = 0..k-1 Poisson events since the last purchase, lambda | m ~ Gamma(R + m, A),
 * R = r + k x, A = alpha + T, and p ~ Beta(a, b') with b' = b + x + 1. The c-th future
 * purchase comes ck - m events after T, so E[e^(-delta tau_c) | lambda] = z^(ck - m) with
 * z = lambda / (lambda + delta), and it happens when the c - 1 coins before it said
 * "stay": (1-p)^(c-1). Summing the geometric series over c,
 *   DERT = P(alive) E[ z^(k-m) / (1 - (1-p) z^k) ].
 * The posterior of (lambda, m) is Gamma(lambda; R, A) (lambda dT)^m / m! / W with
 * dT = T - t_x and W = sum_{m<k} G(R+m)/G(R) (dT/A)^m / m!, so with
 * (lambda dT)^m z^-m = ((lambda + delta) dT)^m
 *   DERT = P(alive) / W int Gamma(lambda; R, A) z^k H(1 - z^k)
 *                         sum_{m<k} ((lambda + delta) dT)^m / m! dlambda,
 *   H(eps) = E_p[1 / (p + (1-p) eps)]  (= 2F1(1, b'; a+b'; 1 - eps)),
 * (churn__beta_quad integrates against p^(a-1) (1-p)^(b'-1): divided by B(a, b')),
 * H by quadrature against the Beta(a, b') density (eps = 1 - z^k by expm1, accurate as
 * z -> 1), the outer integral over v = log(A lambda) by the quadrature of core/special.c. */
typedef struct mbgc_dert_ctx {
    double R, A, a, bp, delta, ldT, lW, lB; /* lB = log B(a, b') */
    int k;
    int rc;
} mbgc_dert_ctx;

static double mbgc_h_log(double p, double q, void *vp)
{
    const double *eps = vp;
    return -log(p + q * *eps);
}

static double mbgc_dert_log(double v, void *vp, double *mult)
{
    (void)mult;
    mbgc_dert_ctx *c = vp;
    double u = exp(v), lam = u / c->A;
    if (!(lam > 0))
        return -INFINITY;
    double lz = -log1p(c->delta / lam); /* log z */
    double eps = -expm1(c->k * lz);     /* 1 - z^k */
    double lH;
    if (eps >= 1.0) {
        lH = 0.0; /* z^k = 0: H(1) = 1 */
    } else {
        /* H lies in [1, 1/eps] (p + (1-p) eps lies in [eps, 1]): outside it, beyond
         * rounding, the quadrature against Beta(a, b') failed (a Beta density far
         * narrower than the rule resolves, such as a = 1e300), and the integral is
         * reported as not converged rather than returned wrong */
        if (churn__beta_quad(mbgc_h_log, &eps, c->a, c->bp, eps < 0.25 ? eps : 0.0, 1e-12,
                             &lH) != CHURN_OK ||
            !(lH - c->lB > -1e-8 && lH - c->lB < -log(eps) + 1e-8)) {
            c->rc = CHURN_ENUMERIC;
            return NAN;
        }
    }
    double ls = 0.0; /* log sum_{m<k} ((lambda + delta) dT)^m / m! */
    if (c->ldT > -INFINITY) {
        double l1 = log(lam + c->delta) + c->ldT;
        for (int m = 1; m < c->k; m++)
            ls = churn__logaddexp(ls, m * l1 - lgamma(m + 1.0));
    }
    return c->R * v - u - lgamma(c->R) + c->k * lz + lH - c->lB + ls - c->lW;
}

static int dert_mbgcnbd(const churn_model *model, double delta, size_t n,
                        const double *frequency, const double *recency, const double *T,
                        const char *fn, double *dert)
{
    double kd = model_param(model, "k"), r = model_param(model, "r");
    double alpha = model_param(model, "alpha"), a = model_param(model, "a");
    double b = model_param(model, "b");
    if (!(r > 0 && alpha > 0 && a > 0 && b > 0 && kd >= 1 && kd == floor(kd)))
        return churn__error(CHURN_EINVAL, "%s: the MBG/CNBD-k model lacks a whole k >= 1 and "
                            "positive parameters r, alpha, a, b", fn);
    int k = (int)kd;
    int rc = churn_btyd_p_alive(model, n, frequency, recency, T, dert); /* validates rows */
    for (size_t i = 0; !rc && i < n; i++) {
        double x = frequency[i], dT = T[i] - recency[i];
        mbgc_dert_ctx c = {r + k * x, alpha + T[i], a, b + x + 1.0, delta,
                           dT > 0 ? log(dT) : -INFINITY, 0.0, 0.0, k, CHURN_OK};
        c.lB = churn__lnbeta(a, c.bp);
        for (int m = 1; dT > 0 && m < k; m++)
            c.lW = churn__logaddexp(c.lW, lgamma(c.R + m) - lgamma(c.R) +
                                              m * (c.ldT - log(c.A)) - lgamma(m + 1.0));
        /* the integrand is about u^(S-1) e^-u in u = A lambda with S between R + 1 and
         * R + k + 1 (times H, which grows at most like lambda^(1-a)): below lo it is under
         * e^-750 of its peak, above hi under e^-750 */
        double Sl = c.R + 1.0, Sh = c.R + k + 2.0;
        double lo = log(Sl) - 750.0 / Sl - 40.0 / sqrt(Sl) - 5.0;
        double hi = log(Sh) + log1p(40.0 / sqrt(Sh) + 750.0 / Sh) + 1.0;
        double val = 0, ls = 0;
        int st = churn__quad_log(mbgc_dert_log, &c, 1, lo, hi, 1e-10, 0.0, &val, &ls);
        double v = dert[i] > 0 && val > 0 ? dert[i] * exp(ls + log(val)) : 0.0;
        if (st != CHURN_OK || c.rc != CHURN_OK || !isfinite(v))
            rc = churn__error(CHURN_ENUMERIC, "%s: row %zu: the DERT integral did not "
                              "converge", fn, i);
        else
            dert[i] = v;
    }
    return rc;
}

/* The BG/NBD or MBG/NBD DERT of n rows, by numerical integration. */
static int dert_bgnbd(const churn_model *model, double delta, size_t n, const double *frequency,
                      const double *recency, const double *T, const char *fn, double *dert)
{
    /* BG/NBD, MBG/NBD: DERT = int_0^inf e^{-delta t} dE(t) = delta int_0^inf e^{-delta t} E(t) dt
     * by parts (E(0) = 0 and e^{-delta t} E(t) -> 0), with E(t) = E[X(T, T+t) | history].
     * E is concave with E(0) = 0, so E(s/delta) <= s E(1/delta) for s >= 1 and the
     * integral beyond s = 50 is below 51 e^{-50} / (e^{-1} - e^{-2}) < 1e-19 of the
     * total (which exceeds int_1^2 e^{-s} E(1/delta) ds): the range is [0, 50]. */
    int rc = churn_btyd_p_alive(model, n, frequency, recency, T, dert); /* validates rows */
    for (size_t i = 0; !rc && i < n; i++) {
        dert_ctx c = {model, delta, frequency[i], recency[i], T[i], CHURN_OK};
        double val = 0, ls = 0;
        int st = churn__quad_log(dert_integrand_log, &c, 1, 0.0, 50.0, 1e-10, 0.0, &val, &ls);
        double v = val > 0 ? exp(ls + log(val)) : 0.0;
        if (c.rc)
            rc = c.rc;
        else if (st != CHURN_OK || !isfinite(v))
            rc = churn__error(CHURN_ENUMERIC, "%s: row %zu: the DERT integral did not "
                              "converge", fn, i);
        else
            dert[i] = v;
    }
    return rc;
}

CHURN_API int churn_dert(const churn_model *model, double delta, size_t n,
                         const double *frequency, const double *recency, const double *T,
                         double *dert)
{
    churn__ok();
    static const char fn[] = "churn_dert";
    int rc = churn__model_check(model, fn, 5, CHURN_FAMILY_PNBD, CHURN_FAMILY_BGNBD,
                                CHURN_FAMILY_MBGNBD, CHURN_FAMILY_GGOMNBD, CHURN_FAMILY_MBGCNBD);
    if (rc)
        return rc;
    if (!isfinite(delta) || !(delta > 0))
        return churn__error(CHURN_EINVAL, "%s: delta = %g; need a finite discount rate > 0", fn,
                            delta);
    if (n && (!frequency || !recency || !T || !dert))
        return churn__error(CHURN_EINVAL, "%s: NULL array", fn);
    if (n == 0)
        return CHURN_OK;
    if (model->family == CHURN_FAMILY_PNBD)
        return dert_pnbd(model, delta, n, frequency, recency, T, fn, dert);
    if (model->family == CHURN_FAMILY_GGOMNBD)
        return dert_ggomnbd(model, delta, n, frequency, recency, T, fn, dert);
    if (model->family == CHURN_FAMILY_MBGCNBD)
        return dert_mbgcnbd(model, delta, n, frequency, recency, T, fn, dert);
    return dert_bgnbd(model, delta, n, frequency, recency, T, fn, dert);
}
