/*
 * The Gamma-Gamma spend model (spend.h): its fit by Newton's method on the
 * log-parameters, the population and per-customer expected spend, and the
 * records a fit leaves in the model (frequency-spend correlation, rows left
 * out).
 *
 * References:
 *  - Fader, Hardie & Lee (2005), "RFM and CLV: Using iso-value curves for
 *    customer base analysis", JMR 42(4) — the Gamma-Gamma spend sub-model.
 *  - Fader & Hardie (2013), "The Gamma-Gamma model of monetary value" (note).
 *
 * Calls core/ only. Called by clv.c (churn_gammagamma_expected_spend).
 */
#include "core/internal.h"

#include "core/special.h"
#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- the fit ------------------------------------------------------------------ */

static const char *const gg_names[] = {"p", "q", "gamma"};

CHURN_API void churn_gammagamma_options_init(churn_gammagamma_options *opts)
{
    if (!opts)
        return;
    churn_gammagamma_options d = CHURN_GAMMAGAMMA_OPTIONS_INIT;
    *opts = d;
}

/* One usable row of the fit. */
typedef struct gg_row {
    double x, z, w;
} gg_row;

/* The data of a fit in the form the likelihood needs: rows sorted by x,
 * grouped by distinct x so the special functions (which depend on x only)
 * are evaluated once per group. */
typedef struct gg_data {
    size_t n;
    double *z;        /* the rows' mean spends, sorted by x (one block with w) */
    double *w;        /* their weights, or NULL: all 1 */
    size_t ng;
    double *gx, *gw;  /* distinct x and the total weight with that x */
    size_t *gend;     /* group k is rows [gend[k-1], gend[k]) (gend[-1] = 0) */
    double W;         /* total weight */
    double Lz1;       /* sum w x log z */
    double Lz0;       /* sum w log z */
    double Xlx;       /* sum w x log x */
} gg_data;

static int cmp_row_x(const void *a, const void *b)
{
    double u = ((const gg_row *)a)->x, v = ((const gg_row *)b)->x;
    return (u > v) - (u < v);
}

/* Sort rows by x, stably. Repeat counts are usually whole numbers below a few
 * thousand: a counting sort then (the stable order qsort's merge sort gives,
 * at a fraction of its callbacks); otherwise, or without memory for the
 * buckets, qsort. */
static void sort_rows_x(gg_row *rows, size_t n)
{
    double xmax = 0;
    int whole = 1;
    for (size_t i = 0; i < n; i++) {
        xmax = fmax(xmax, rows[i].x);
        whole &= rows[i].x == floor(rows[i].x);
    }
    size_t *cnt = NULL;
    gg_row *tmp = NULL;
    if (whole && n > 1 && xmax < 4.0 * (double)n + 1024) {
        cnt = churn__calloc((size_t)xmax + 2, sizeof *cnt);
        tmp = cnt ? churn__malloc(churn__mul_size(n, sizeof *tmp)) : NULL;
    }
    if (!tmp) {
        churn__free(cnt);
        qsort(rows, n, sizeof *rows, cmp_row_x);
        return;
    }
    size_t nb = (size_t)xmax + 2;
    for (size_t i = 0; i < n; i++)
        cnt[(size_t)rows[i].x + 1]++;
    for (size_t b = 1; b < nb; b++)
        cnt[b] += cnt[b - 1];
    for (size_t i = 0; i < n; i++)
        tmp[cnt[(size_t)rows[i].x]++] = rows[i];
    memcpy(rows, tmp, n * sizeof *rows);
    churn__free(tmp);
    churn__free(cnt);
}

/* The sums over the rows of one x group that the likelihood pass needs, with
 * s = gamma + x zbar: out[0] = sum w log s, out[1] = sum w / s, out[2] =
 * sum w / s^2 (w = 1 when NULL). The log is the pass's only libm call per row
 * and was most of a fit's CPU time; here it is computed four rows at a time
 * in straight-line arithmetic with GCC's and Clang's vector extensions (two
 * SSE2 registers per vector at the x86-64 baseline, one AVX2 register in the
 * x86-64-v3 clone GCC adds for processors that have it, with fused
 * multiply-adds, so the two agree to a few units in the last place):
 *   s = 2^e m, m in [sqrt(2)/2, sqrt(2)) from the bits of s,
 *   log s = e log 2 + 2 atanh(u), u = (m - 1) / (m + 1), |u| <= 0.1716,
 * atanh by its series to u^23 (truncation below 1e-19 relative), log 2 in two
 * parts (the high part has trailing zero bits, so e log2_hi is exact). It
 * agrees with libm's log to a few units in the last place. Lanes that are not
 * positive normal numbers, and the last n mod 4 rows, use libm's log. The
 * sums are four partial sums each, so their rounding differs from a
 * row-by-row sum by about 1e-16 relative. */
#define GG_LANES 4
#if defined(__GNUC__)
typedef double gg_vd __attribute__((vector_size(GG_LANES * sizeof(double))));
typedef int64_t gg_vi __attribute__((vector_size(GG_LANES * sizeof(int64_t))));

CHURN_AVX2_CLONES
static void gg_group_sums(const double *z, const double *w, size_t n, double x, double gam,
                          double *out)
{
    const double LN2_HI = 6.93147180369123816490e-01, LN2_LO = 1.90821492927058770002e-10;
    const gg_vd one = {1, 1, 1, 1}, zero = {0, 0, 0, 0};
    gg_vd aL = zero, aI = zero, aI2 = zero;
    size_t i = 0;
    for (; i + GG_LANES <= n; i += GG_LANES) {
        gg_vd zz, ww = one;
        memcpy(&zz, z + i, sizeof zz);
        if (w)
            memcpy(&ww, w + i, sizeof ww);
        gg_vd sv = gam + x * zz;
        gg_vi bad = (sv < DBL_MIN) | (sv > DBL_MAX) | (sv != sv);
        if (bad[0] | bad[1] | bad[2] | bad[3]) {
            gg_vd L;
            for (int j = 0; j < GG_LANES; j++)
                L[j] = log(sv[j]);
            gg_vd inv = one / sv;
            aL += ww * L;
            aI += ww * inv;
            aI2 += ww * inv * inv;
            continue;
        }
        gg_vi b;
        memcpy(&b, &sv, sizeof b);
        gg_vi e = ((b >> 52) & 0x7ff) - 1023;
        gg_vi mb = (b & INT64_C(0x000fffffffffffff)) | INT64_C(0x3ff0000000000000);
        gg_vd m;
        memcpy(&m, &mb, sizeof m);
        gg_vi big = m > 1.4142135623730950488; /* -1 where true */
        gg_vd mh = m * 0.5;
        gg_vi mbits, mhbits;
        memcpy(&mbits, &m, sizeof mbits);
        memcpy(&mhbits, &mh, sizeof mhbits);
        mbits = (big & mhbits) | (~big & mbits);
        memcpy(&m, &mbits, sizeof m);
        e -= big;
        gg_vd f = m - 1.0;
        gg_vd u = f / (2.0 + f), u2 = u * u;
        gg_vd t = {1.0 / 23, 1.0 / 23, 1.0 / 23, 1.0 / 23}; /* the series, Horner from u^22 */
        t = t * u2 + 1.0 / 21;
        t = t * u2 + 1.0 / 19;
        t = t * u2 + 1.0 / 17;
        t = t * u2 + 1.0 / 15;
        t = t * u2 + 1.0 / 13;
        t = t * u2 + 1.0 / 11;
        t = t * u2 + 1.0 / 9;
        t = t * u2 + 1.0 / 7;
        t = t * u2 + 1.0 / 5;
        t = t * u2 + 1.0 / 3;
        gg_vd ed = __builtin_convertvector(e, gg_vd);
        gg_vd L = ed * LN2_HI + (ed * LN2_LO + (2.0 * u + 2.0 * u * (u2 * t)));
        gg_vd inv = one / sv;
        aL += ww * L;
        aI += ww * inv;
        aI2 += ww * inv * inv;
    }
    double sL = (aL[0] + aL[1]) + (aL[2] + aL[3]);
    double sI = (aI[0] + aI[1]) + (aI[2] + aI[3]);
    double sI2 = (aI2[0] + aI2[1]) + (aI2[2] + aI2[3]);
    for (; i < n; i++) {
        double wi = w ? w[i] : 1.0, sv = gam + x * z[i], inv = 1.0 / sv;
        sL += wi * log(sv);
        sI += wi * inv;
        sI2 += wi * inv * inv;
    }
    out[0] = sL;
    out[1] = sI;
    out[2] = sI2;
}
#else
static void gg_group_sums(const double *z, const double *w, size_t n, double x, double gam,
                          double *out)
{
    double sL = 0, sI = 0, sI2 = 0;
    for (size_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0, sv = gam + x * z[i], inv = 1.0 / sv;
        sL += wi * log(sv);
        sI += wi * inv;
        sI2 += wi * inv * inv;
    }
    out[0] = sL;
    out[1] = sI;
    out[2] = sI2;
}
#endif


/* Weighted log-likelihood of the Gamma-Gamma model at natural-scale
 * parameters par = (p, q, gamma), with gradient g and Hessian H (row-major
 * 3x3) on the natural scale when requested.
 *
 * Per row (Fader & Hardie 2013 note: density of the mean zbar of x
 * Gamma(p, nu) spends with nu ~ Gamma(q, gamma)):
 *   log f = lnG(px+q) - lnG(px) - lnG(q) + q log(gamma) + px log(x)
 *           + (px-1) log(zbar) - (px+q) log(gamma + x zbar).
 * Terms depending on x only are summed per group; the data-only terms
 * (px-1) log zbar are the precomputed sums Lz1, Lz0. Derivatives follow by
 * differentiating term by term (psi = digamma, psi1 = trigamma). */
static int gg_eval(const gg_data *d, const double *par, double *ll, double *g, double *H)
{
    const double p = par[0], q = par[1], gam = par[2];
    double A = 0, B = 0, C1 = 0, C0 = 0, D1 = 0, D0 = 0;
    for (size_t k = 0, i = 0; k < d->ng; k++) {
        const double x = d->gx[k];
        double sum[3];
        gg_group_sums(d->z + i, d->w ? d->w + i : NULL, d->gend[k] - i, x, gam, sum);
        i = d->gend[k];
        /* x is the group's: sum w x L = x sum w L, and the same for the others */
        A += x * sum[0];
        B += sum[0];
        C1 += x * sum[1];
        C0 += sum[1];
        D1 += x * sum[2];
        D0 += sum[2];
    }
    /* GSL only through the domain-checked wrappers of core/special.h: a
     * non-finite value (bad parameters) is CHURN_ENUMERIC. */
    double lq = churn__lngamma(q), psq = 0, ps1q = 0;
    if (!isfinite(lq))
        return CHURN_ENUMERIC;
    if ((g || H) && (!isfinite(psq = churn__psi(q)) || !isfinite(ps1q = churn__psi_1(q))))
        return CHURN_ENUMERIC;
    double sl = 0, sgp = 0, sgq = 0, hpp = 0, hpq = 0, hqq = 0;
    for (size_t k = 0; k < d->ng; k++) {
        double x = d->gx[k], w = d->gw[k];
        double a = p * x + q, b = p * x;
        double la = churn__lngamma(a), lb = churn__lngamma(b);
        if (!isfinite(la) || !isfinite(lb))
            return CHURN_ENUMERIC;
        sl += w * (la - lb);
        if (g) {
            double pa = churn__psi(a), pb = churn__psi(b);
            if (!isfinite(pa) || !isfinite(pb))
                return CHURN_ENUMERIC;
            sgp += w * x * (pa - pb);
            sgq += w * pa;
        }
        if (H) {
            double ta = churn__psi_1(a), tb = churn__psi_1(b);
            if (!isfinite(ta) || !isfinite(tb))
                return CHURN_ENUMERIC;
            hpp += w * x * x * (ta - tb);
            hpq += w * x * ta;
            hqq += w * ta;
        }
    }
    const double W = d->W, lg = log(gam);
    *ll = sl - W * lq + W * q * lg + p * d->Xlx + p * d->Lz1 - d->Lz0 - p * A - q * B;
    if (!isfinite(*ll))
        return CHURN_ENUMERIC;
    if (g) {
        g[0] = sgp + d->Xlx + d->Lz1 - A;
        g[1] = sgq - W * psq + W * lg - B;
        g[2] = W * q / gam - (p * C1 + q * C0);
    }
    if (H) {
        H[0] = hpp;
        H[1] = H[3] = hpq;
        H[2] = H[6] = -C1;
        H[4] = hqq - W * ps1q;
        H[5] = H[7] = W / gam - C0;
        H[8] = -W * q / (gam * gam) + p * D1 + q * D0;
    }
    return CHURN_OK;
}

/* Evaluate on the log scale: theta = log(par); gradient and Hessian with
 * respect to theta (chain rule: d/dtheta_j = par_j d/dpar_j). */
static int gg_eval_log(const gg_data *d, const double *theta, double *ll, double *gt, double *Ht,
                       double *Hnat)
{
    double par[3], g[3], H[9];
    for (int j = 0; j < 3; j++) {
        par[j] = exp(theta[j]);
        if (!(par[j] > 0.0) || !isfinite(par[j]))
            return CHURN_ENUMERIC;
    }
    int rc = gg_eval(d, par, ll, gt ? g : NULL, Ht ? H : NULL);
    if (rc)
        return rc;
    if (gt)
        for (int j = 0; j < 3; j++)
            gt[j] = par[j] * g[j];
    if (Ht)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 3; k++)
                Ht[j * 3 + k] = par[j] * par[k] * H[j * 3 + k] + (j == k ? par[j] * g[j] : 0.0);
    if (Ht && Hnat)
        memcpy(Hnat, H, sizeof H);
    return CHURN_OK;
}

static void gg_data_free(gg_data *d)
{
    churn__free(d->z);
    churn__free(d->gx);
    churn__free(d->gw);
    churn__free(d->gend);
}

/* Newton's method with a backtracking line search on theta = log(params).
 * The Hessian is made positive definite by a growing ridge when needed. */
static int gg_optimise(const gg_data *d, double *theta, int max_iter, double tol, double *ll_out,
                       int *iters, int *converged, double *Hnat_out)
{
    double ll, g[3], H[9], Hnat[9], Hnat_n[9];
    int rc = gg_eval_log(d, theta, &ll, g, H, Hnat);
    if (rc)
        return churn__error(CHURN_ENUMERIC, "churn_gammagamma_fit: log-likelihood not finite at "
                            "the starting values");
    *converged = 0;
    int it = 0;
    for (; it < max_iter; it++) {
        double gmax = 0;
        for (int j = 0; j < 3; j++)
            gmax = fmax(gmax, fabs(g[j]));
        if (gmax / d->W < tol) {
            *converged = 1;
            break;
        }
        double M[9], L[9], dir[3];
        double mu = 0, dmax = 0;
        for (int j = 0; j < 9; j++)
            M[j] = -H[j];
        for (int j = 0; j < 3; j++)
            dmax = fmax(dmax, fabs(M[j * 4]));
        for (int tries = 0;; tries++) {
            double Mm[9];
            memcpy(Mm, M, sizeof Mm);
            for (int j = 0; j < 3; j++)
                Mm[j * 4] += mu;
            memcpy(L, Mm, sizeof L);
            if (churn__chol(L, 3, 0) == 0)
                break;
            if (tries > 60)
                return churn__error(CHURN_ENUMERIC, "churn_gammagamma_fit: Hessian is not "
                                    "finite at iteration %d", it);
            mu = mu == 0 ? 1e-8 * (dmax + 1.0) : mu * 10.0;
        }
        memcpy(dir, g, sizeof dir);
        churn__chol_solve(L, dir, 3);
        /* Keep a step within a factor e^3 on each parameter. */
        double smax = fmax(fabs(dir[0]), fmax(fabs(dir[1]), fabs(dir[2])));
        if (smax > 3.0)
            for (int j = 0; j < 3; j++)
                dir[j] *= 3.0 / smax;
        double slope = g[0] * dir[0] + g[1] * dir[1] + g[2] * dir[2];
        /* slope = g' M^{-1} g is the Newton decrement: with M the observed
         * information, the squared distance to the optimum in units of
         * standard errors (~ 2 (ll_max - ll)). */
        if (smax <= 3.0 && slope < 1e-15 * (1.0 + fabs(ll))) {
            *converged = 1;
            break;
        }
        double trial[3], ll_new = 0, gn[3], Hn[9];
        if (smax <= 3.0 && slope < 1e-2) {
            /* Within 0.1 standard errors: the quadratic model is accurate, so
             * take the full Newton step without a line search. (On large
             * data the remaining gain in ll is below its rounding noise and
             * a line search could not see it; the gradient and Hessian still
             * can.) Stop when the step no longer shrinks the gradient: the
             * optimum is then located to within its numerical noise. */
            for (int j = 0; j < 3; j++)
                trial[j] = theta[j] + dir[j];
            if (gg_eval_log(d, trial, &ll_new, gn, Hn, Hnat_n) == CHURN_OK) {
                double gnew = fmax(fabs(gn[0]), fmax(fabs(gn[1]), fabs(gn[2])));
                if (gnew >= gmax) {
                    *converged = slope < 1e-6;
                    break;
                }
                memcpy(theta, trial, sizeof trial);
                ll = ll_new;
                memcpy(g, gn, sizeof gn);
                memcpy(H, Hn, sizeof Hn);
                memcpy(Hnat, Hnat_n, sizeof Hnat);
                continue;
            }
        }
        double step = 1.0;
        int accepted = 0;
        for (int k = 0; k < 60; k++, step *= 0.5) {
            for (int j = 0; j < 3; j++)
                trial[j] = theta[j] + step * dir[j];
            /* with the derivatives: the log per row dominates their cost,
             * and the accepted point needs them */
            if (gg_eval_log(d, trial, &ll_new, gn, Hn, Hnat_n) == CHURN_OK &&
                ll_new >= ll + 1e-4 * step * slope) {
                accepted = 1;
                break;
            }
        }
        if (!accepted) {
            /* No ascent possible at machine precision: converged if close
             * to the optimum in standard-error units, otherwise stuck. */
            *converged = slope < 1e-6;
            break;
        }
        memcpy(theta, trial, sizeof trial);
        ll = ll_new;
        memcpy(g, gn, sizeof gn);
        memcpy(H, Hn, sizeof Hn);
        memcpy(Hnat, Hnat_n, sizeof Hnat);
    }
    *iters = it;
    *ll_out = ll;
    memcpy(Hnat_out, Hnat, sizeof Hnat);
    return CHURN_OK;
}

/* Copy and check the fit options; resolve the defaults of max_iter and tol. */
static int gg_settings(const churn_gammagamma_options *opts, churn_gammagamma_options *o)
{
    churn_gammagamma_options d = CHURN_GAMMAGAMMA_OPTIONS_INIT;
    *o = d;
    int rc = churn__opts_copy(o, sizeof *o, opts, "churn_gammagamma_options");
    if (rc)
        return rc;
    if (o->max_iter < 0)
        return churn__error(CHURN_EINVAL, "churn_gammagamma_fit: option max_iter = %d is negative",
                            o->max_iter);
    if (!(o->tol >= 0) || !isfinite(o->tol))
        return churn__error(CHURN_EINVAL, "churn_gammagamma_fit: option tol must be finite and "
                            ">= 0");
    if (o->max_iter == 0)
        o->max_iter = 200;
    if (o->tol == 0)
        o->tol = 1e-9;
    return CHURN_OK;
}

/* The message for a NaN monetary value: the customer table gives NaN spend
 * columns to customers with an order of unknown amount (customers.h). */
#define GG_SPEND_UNKNOWN "the spend is unknown (a log without amounts); the Gamma-Gamma " \
                         "model needs the amounts of the purchases"

/* Validate every row and count the usable ones (weight > 0, frequency > 0,
 * monetary value > 0); the weight of the rows left out goes to one_time
 * (frequency 0) and nonpos (monetary value <= 0). */
static int gg_count_rows(size_t n, const double *frequency, const double *monetary_value,
                         const double *weights, size_t *nuse_out, double *one_time_out,
                         double *nonpos_out)
{
    size_t nuse = 0;
    double one_time = 0, nonpos = 0;
    for (size_t i = 0; i < n; i++) {
        double x = frequency[i], z = monetary_value[i], w = weights ? weights[i] : 1.0;
        if (!isfinite(x) || x < 0)
            return churn__error(CHURN_EINVAL, "churn_gammagamma_fit: row %zu, column 'frequency': "
                                "%g is not a finite number >= 0", i, x);
        if (isnan(z))
            return churn__error(CHURN_EINVAL, "churn_gammagamma_fit: row %zu, column "
                                "'monetary_value' is NaN: " GG_SPEND_UNKNOWN, i);
        if (!isfinite(z))
            return churn__error(CHURN_EINVAL, "churn_gammagamma_fit: row %zu, column "
                                "'monetary_value': %g is not finite", i, z);
        if (!isfinite(w) || w < 0)
            return churn__error(CHURN_EINVAL, "churn_gammagamma_fit: row %zu, column 'weights': "
                                "%g is not a finite number >= 0", i, w);
        if (w == 0)
            continue;
        if (x == 0)
            one_time += w;
        else if (z <= 0)
            nonpos += w;
        else
            nuse++;
    }
    if (nuse < 2)
        return churn__error(CHURN_EINVAL, "churn_gammagamma_fit: %zu usable row(s) with "
                            "frequency > 0 and monetary_value > 0; need at least 2", nuse);
    *nuse_out = nuse;
    *one_time_out = one_time;
    *nonpos_out = nonpos;
    return CHURN_OK;
}

/* The data-only sums of d's rows: the weights per group gw and in all W, and
 * Lz1, Lz0, Xlx; log z by gg_group_sums (x = 1, gamma = 0), four rows at a
 * time, as the pass takes log(gamma + x z) (libm's log per row was a sixth of
 * a fit on the issue-22 bench). */
static void gg_data_sums(gg_data *d)
{
    d->W = d->Lz1 = d->Lz0 = d->Xlx = 0;
    for (size_t k = 0, i = 0; k < d->ng; k++) {
        const double x = d->gx[k], lx = log(x); /* the same value for every row of the group */
        double sum[3], gw = 0;
        gg_group_sums(d->z + i, d->w ? d->w + i : NULL, d->gend[k] - i, 1.0, 0.0, sum);
        if (d->w)
            for (; i < d->gend[k]; i++)
                gw += d->w[i];
        else
            gw = (double)(d->gend[k] - i);
        i = d->gend[k];
        d->gw[k] = gw;
        d->W += gw;
        d->Lz1 += x * sum[0];
        d->Lz0 += sum[0];
        d->Xlx += gw * x * lx;
    }
}

/* Every step-th row of d (by group, so that every x keeps its share), with
 * weights scaled so that each group's total is d's: the data of the warm
 * start of a large fit (churn_gammagamma_fit). On failure sub holds nothing
 * to free. */
static int gg_data_sub(gg_data *sub, const gg_data *d, size_t step)
{
    memset(sub, 0, sizeof *sub);
    size_t m = 0;
    for (size_t k = 0, i = 0; k < d->ng; k++) {
        m += (d->gend[k] - i + step - 1) / step;
        i = d->gend[k];
    }
    sub->z = churn__malloc(churn__mul_size(m, 2 * sizeof(double)));
    sub->gx = churn__malloc(churn__mul_size(d->ng, sizeof(double)));
    sub->gw = churn__malloc(churn__mul_size(d->ng, sizeof(double)));
    sub->gend = churn__malloc(churn__mul_size(d->ng, sizeof(size_t)));
    if (!sub->z || !sub->gx || !sub->gw || !sub->gend) {
        gg_data_free(sub);
        return churn__nomem("the Gamma-Gamma fit's subsample");
    }
    sub->w = sub->z + m;
    size_t j = 0;
    for (size_t k = 0, i = 0; k < d->ng; k++) {
        size_t j0 = j;
        double wsub = 0;
        for (size_t r = i; r < d->gend[k]; r += step, j++) {
            sub->z[j] = d->z[r];
            sub->w[j] = d->w ? d->w[r] : 1.0;
            wsub += sub->w[j];
        }
        double scale = d->gw[k] / wsub;
        for (size_t r = j0; r < j; r++)
            sub->w[r] *= scale;
        sub->gx[k] = d->gx[k];
        sub->gend[k] = j;
        i = d->gend[k];
    }
    sub->n = m;
    sub->ng = d->ng;
    gg_data_sums(sub);
    return CHURN_OK;
}

/* Build the likelihood's data from the nuse usable rows: the rows sorted by
 * x, their groups by distinct x and the data-only sums. Also returns the
 * weighted mean spend (the starting gamma) and the weighted correlation
 * between x and zbar (the model assumes spend independent of frequency).
 * On failure d holds nothing to free. */
static int gg_data_build(gg_data *d, size_t n, const double *frequency,
                         const double *monetary_value, const double *weights, size_t nuse,
                         double *mean_spend, double *corr_out)
{
    memset(d, 0, sizeof *d);
    d->z = churn__malloc(churn__mul_size(nuse, (weights ? 2 : 1) * sizeof(double)));
    if (!d->z)
        return churn__nomem("the Gamma-Gamma fit's rows");
    d->w = weights ? d->z + nuse : NULL;
    double sw = 0, sx = 0, sz = 0, xmax = 0;
    int whole = 1;
    for (size_t i = 0; i < n; i++) {
        double x = frequency[i], z = monetary_value[i], w = weights ? weights[i] : 1.0;
        if (w > 0 && x > 0 && z > 0) {
            sw += w;
            sx += w * x;
            sz += w * z;
            xmax = fmax(xmax, x);
            whole &= x == floor(x);
        }
    }
    /* Whole counts (the usual case): a stable counting sort by x that
     * scatters the usable rows' spends (and weights) straight from the input
     * into d->z (d->w), the x of each row being its group's; otherwise rows
     * of (x, z, w) in input order, sort_rows_x, and the same arrays from
     * them. The order is the one sort_rows_x gives either way, so the sums
     * below are the same to the last bit. */
    size_t *cnt = NULL, ng = 0;
    if (whole && nuse > 1 && xmax < 4.0 * (double)nuse + 1024)
        cnt = churn__calloc((size_t)xmax + 2, sizeof *cnt);
    if (cnt) {
        size_t nb = (size_t)xmax + 2;
        for (size_t i = 0; i < n; i++) {
            double x = frequency[i], z = monetary_value[i], w = weights ? weights[i] : 1.0;
            if (w > 0 && x > 0 && z > 0)
                cnt[(size_t)x + 1]++;
        }
        for (size_t b = 1; b < nb; b++) {
            ng += cnt[b] > 0;
            cnt[b] += cnt[b - 1];
        }
        d->gx = churn__malloc(churn__mul_size(ng, sizeof(double)));
        d->gw = churn__malloc(churn__mul_size(ng, sizeof(double)));
        d->gend = churn__malloc(churn__mul_size(ng, sizeof(size_t)));
        if (!d->gx || !d->gw || !d->gend) {
            churn__free(cnt);
            gg_data_free(d);
            return churn__nomem("the Gamma-Gamma fit's groups");
        }
        for (size_t i = 0; i < n; i++) {
            double x = frequency[i], z = monetary_value[i], w = weights ? weights[i] : 1.0;
            if (w > 0 && x > 0 && z > 0) {
                size_t at = cnt[(size_t)x]++;
                d->z[at] = z;
                if (d->w)
                    d->w[at] = w;
            }
        }
        /* cnt[b] is now the end of bucket b (rows with x = b) */
        for (size_t b = 1, k = 0; b + 1 < nb; b++)
            if (cnt[b] > cnt[b - 1]) {
                d->gx[k] = (double)b;
                d->gend[k++] = cnt[b];
            }
        churn__free(cnt);
    } else {
        gg_row *rows = churn__malloc(churn__mul_size(nuse, sizeof *rows));
        if (!rows) {
            gg_data_free(d);
            return churn__nomem("the Gamma-Gamma fit's rows");
        }
        for (size_t i = 0, k = 0; i < n; i++) {
            double x = frequency[i], z = monetary_value[i], w = weights ? weights[i] : 1.0;
            if (w > 0 && x > 0 && z > 0) {
                rows[k].x = x;
                rows[k].z = z;
                rows[k].w = w;
                k++;
            }
        }
        sort_rows_x(rows, nuse);
        ng = 1;
        for (size_t i = 1; i < nuse; i++)
            ng += rows[i].x != rows[i - 1].x;
        d->gx = churn__malloc(churn__mul_size(ng, sizeof(double)));
        d->gw = churn__malloc(churn__mul_size(ng, sizeof(double)));
        d->gend = churn__malloc(churn__mul_size(ng, sizeof(size_t)));
        if (!d->gx || !d->gw || !d->gend) {
            churn__free(rows);
            gg_data_free(d);
            return churn__nomem("the Gamma-Gamma fit's groups");
        }
        for (size_t i = 0, k = 0; i < nuse; i++) {
            if (i > 0 && rows[i].x != rows[i - 1].x)
                d->gend[k++] = i;
            d->gx[k] = rows[i].x;
            d->z[i] = rows[i].z;
            if (d->w)
                d->w[i] = rows[i].w;
        }
        d->gend[ng - 1] = nuse;
        churn__free(rows);
    }
    d->n = nuse;
    d->ng = ng;
    gg_data_sums(d);
    double mx = sx / sw, mz = sz / sw, cxx = 0, czz = 0, cxz = 0;
    for (size_t k = 0, i = 0; k < ng; k++) {
        const double x = d->gx[k];
        for (; i < d->gend[k]; i++) {
            const double w = d->w ? d->w[i] : 1.0, z = d->z[i];
            cxx += w * (x - mx) * (x - mx);
            czz += w * (z - mz) * (z - mz);
            cxz += w * (x - mx) * (z - mz);
        }
    }
    double corr = (cxx > 0 && czz > 0) ? cxz / sqrt(cxx * czz) : NAN;
    if (isfinite(corr))
        corr = fmax(-1.0, fmin(1.0, corr));
    *mean_spend = mz;
    *corr_out = corr;
    return CHURN_OK;
}

/* Standard errors: covariance = inverse observed information on the natural
 * scale, from the Hessian H of the optimiser's last evaluation at the
 * optimum (natural scale; gg_optimise hands it over instead of a new pass). */
static int gg_set_cov(churn_model *m, const double *H)
{
    double I[9], L[9], cov[9];
    for (int j = 0; j < 9; j++)
        I[j] = -H[j];
    memcpy(L, I, sizeof L);
    if (churn__chol(L, 3, 0) != 0)
        return churn__model_set_note(m, "observed information not positive definite: "
                                     "no standard errors");
    for (int j = 0; j < 3; j++) {
        double e[3] = {0, 0, 0};
        e[j] = 1.0;
        churn__chol_solve(L, e, 3);
        for (int k = 0; k < 3; k++)
            cov[k * 3 + j] = e[k];
    }
    return churn__model_set_cov(m, cov);
}

/* The model of the fit at the optimum theta = log(par), with its records. */
static int gg_model(churn_model **out, const gg_data *d, const double *theta, double ll,
                    int iters, int converged, const double *excl, double corr,
                    int no_std_errors, const double *H)
{
    churn_model *m = NULL;
    int rc = churn__model_new(&m, CHURN_FAMILY_GAMMAGAMMA, 3, gg_names);
    if (rc)
        return rc;
    for (int j = 0; j < 3; j++)
        m->params[j] = exp(theta[j]);
    m->loglik = ll;
    m->nobs = d->W;
    m->converged = converged;
    m->iterations = iters;
    rc = churn__model_set_array(m, "freq_monetary_corr", &corr, 1);
    if (!rc)
        rc = churn__model_set_array(m, "excluded", excl, 2);
    if (!rc && !no_std_errors)
        rc = gg_set_cov(m, H);
    if (rc) {
        churn_model_free(m);
        return rc;
    }
    *out = m;
    return CHURN_OK;
}

CHURN_API int churn_gammagamma_fit(churn_model **out, size_t n, const double *frequency,
                                   const double *monetary_value, const double *weights,
                                   const churn_gammagamma_options *opts)
{
    churn__ok();
    if (!out)
        return churn__error(CHURN_EINVAL, "churn_gammagamma_fit: 'out' is NULL");
    *out = NULL;
    if (!frequency || !monetary_value)
        return churn__error(CHURN_EINVAL, "churn_gammagamma_fit: %s is NULL",
                            !frequency ? "frequency" : "monetary_value");
    churn_gammagamma_options o;
    int rc = gg_settings(opts, &o);
    if (rc)
        return rc;
    size_t nuse = 0;
    double excl[2]; /* weight of the one-time buyers, of the non-positive spends */
    if ((rc = gg_count_rows(n, frequency, monetary_value, weights, &nuse, &excl[0], &excl[1])))
        return rc;
    gg_data d;
    double mz = 0, corr = NAN;
    if ((rc = gg_data_build(&d, n, frequency, monetary_value, weights, nuse, &mz, &corr)))
        return rc;

    /* Start: p = 1, q = 2 and gamma = the mean spend, so that the population
     * mean p gamma / (q - 1) equals the observed mean. */
    double theta[3] = {0.0, log(2.0), log(mz)};
    double ll = NAN, H[9];
    int iters = 0, converged = 0;
    /* A large fit starts from the optimum of every 8th row (to tolerance
     * 1e-6): the passes over all rows then fall from 7 to 3 on the issue-22
     * frequent buyers. The gradient of all rows decides convergence, so the
     * optimum is the same; where the subsample does not converge, the fit
     * starts as for small data. */
    if (nuse >= 32768 && o.max_iter > 0) {
        gg_data sub;
        if ((rc = gg_data_sub(&sub, &d, 8))) {
            gg_data_free(&d);
            return rc;
        }
        double wt[3], wll, wH[9];
        int witer = 0, wconv = 0;
        memcpy(wt, theta, sizeof wt);
        if (gg_optimise(&sub, wt, o.max_iter, 1e-6, &wll, &witer, &wconv, wH) == CHURN_OK &&
            wconv)
            memcpy(theta, wt, sizeof wt);
        churn__ok(); /* (a failed warm start leaves no error behind) */
        gg_data_free(&sub);
    }
    rc = gg_optimise(&d, theta, o.max_iter, o.tol, &ll, &iters, &converged, H);
    if (!rc)
        rc = gg_model(out, &d, theta, ll, iters, converged, excl, corr, o.no_std_errors, H);
    gg_data_free(&d);
    if (rc)
        return rc;
    const double *par = (*out)->params;
    if (!converged)
        return churn__error(CHURN_ENOCONV, "churn_gammagamma_fit: no convergence after %d "
                            "iterations (p %g, q %g, gamma %g; the spends may show no "
                            "heterogeneity)", iters, par[0], par[1], par[2]);
    return CHURN_OK;
}

/* The parameters (p, q, gamma) of a Gamma-Gamma model, looked up by name so
 * a hand-edited model file with reordered parameters still works. */
static int gg_params(const churn_model *m, const char *fn, double *par)
{
    int rc = churn__model_check(m, fn, 1, CHURN_FAMILY_GAMMAGAMMA);
    if (rc)
        return rc;
    for (int j = 0; j < 3; j++) {
        size_t i = 0;
        while (i < m->nparams && strcmp(m->param_names[i], gg_names[j]) != 0)
            i++;
        if (i == m->nparams)
            return churn__error(CHURN_EINVAL, "%s: the model has no parameter '%s'", fn,
                                gg_names[j]);
        par[j] = m->params[i];
        if (!(par[j] > 0) || !isfinite(par[j]))
            return churn__error(CHURN_EINVAL, "%s: parameter '%s' = %g is not a positive number",
                                fn, gg_names[j], par[j]);
    }
    return CHURN_OK;
}

CHURN_API int churn_gammagamma_mean_spend(const churn_model *model, double *mean)
{
    churn__ok();
    double par[3];
    int rc = gg_params(model, "churn_gammagamma_mean_spend", par);
    if (rc)
        return rc;
    if (!mean)
        return churn__error(CHURN_EINVAL, "churn_gammagamma_mean_spend: 'mean' is NULL");
    if (!(par[1] > 1))
        return churn__error(CHURN_ENUMERIC, "churn_gammagamma_mean_spend: q = %g <= 1, the "
                            "population mean spend is infinite", par[1]);
    *mean = par[0] * par[2] / (par[1] - 1.0);
    return CHURN_OK;
}

CHURN_API int churn_gammagamma_expected_spend(const churn_model *model, size_t n,
                                              const double *frequency,
                                              const double *monetary_value,
                                              double *expected_spend)
{
    churn__ok();
    static const char fn[] = "churn_gammagamma_expected_spend";
    double par[3];
    int rc = gg_params(model, fn, par);
    if (rc)
        return rc;
    if (n && (!frequency || !monetary_value || !expected_spend))
        return churn__error(CHURN_EINVAL, "%s: NULL array", fn);
    const double p = par[0], q = par[1], gam = par[2];
    const double pop = q > 1 ? p * gam / (q - 1.0) : INFINITY;
    for (size_t i = 0; i < n; i++) {
        double x = frequency[i], z = monetary_value[i];
        if (!isfinite(x) || x < 0)
            return churn__error(CHURN_EINVAL, "%s: row %zu, column 'frequency': %g is not a "
                                "finite number >= 0", fn, i, x);
        if (isnan(z))
            return churn__error(CHURN_EINVAL, "%s: row %zu, column 'monetary_value' is NaN: "
                                GG_SPEND_UNKNOWN, fn, i);
        if (!isfinite(z))
            return churn__error(CHURN_EINVAL, "%s: row %zu, column 'monetary_value': %g is not "
                                "finite", fn, i, z);
        double e;
        if (x == 0 || z <= 0) {
            /* Outside the model's support: the prior (population) mean. */
            e = pop;
        } else {
            /* Posterior mean of the customer's mean spend p/nu with
             * nu | data ~ Gamma(p x + q, gamma + x zbar) (FH 2013 note):
             * a weighted average of pop and zbar with weight p x / (p x + q - 1). */
            double den = p * x + q - 1.0;
            e = den > 0 ? p * (gam + x * z) / den : INFINITY;
        }
        if (!isfinite(e) && !(q > 1))
            return churn__error(CHURN_ENUMERIC, "%s: row %zu: expected spend is infinite with "
                                "q = %g (needs q > 1 for the population mean)", fn, i, q);
        if (!isfinite(e))
            return churn__error(CHURN_ENUMERIC, "%s: row %zu: expected spend is beyond the "
                                "largest double (monetary value %g, frequency %g)", fn, i, z, x);
        expected_spend[i] = e;
    }
    return CHURN_OK;
}

CHURN_API int churn_gammagamma_freq_monetary_corr(const churn_model *model, double *corr)
{
    churn__ok();
    static const char fn[] = "churn_gammagamma_freq_monetary_corr";
    int rc = churn__model_check(model, fn, 1, CHURN_FAMILY_GAMMAGAMMA);
    if (rc)
        return rc;
    if (!corr)
        return churn__error(CHURN_EINVAL, "%s: 'corr' is NULL", fn);
    size_t len;
    const double *c = churn__model_array(model, "freq_monetary_corr", &len);
    if (!c || len != 1)
        return churn__error(CHURN_EUNSUPPORTED, "%s: the model has no 'freq_monetary_corr' "
                            "record", fn);
    if (!isfinite(c[0]))
        return churn__error(CHURN_EUNSUPPORTED, "%s: undefined (frequency or monetary value "
                            "did not vary among the customers fitted)", fn);
    *corr = c[0];
    return CHURN_OK;
}

CHURN_API int churn_gammagamma_excluded(const churn_model *model, double *one_time,
                                        double *nonpositive)
{
    churn__ok();
    static const char fn[] = "churn_gammagamma_excluded";
    int rc = churn__model_check(model, fn, 1, CHURN_FAMILY_GAMMAGAMMA);
    if (rc)
        return rc;
    size_t len;
    const double *e = churn__model_array(model, "excluded", &len);
    if (one_time)
        *one_time = (e && len == 2) ? e[0] : 0.0;
    if (nonpositive)
        *nonpositive = (e && len == 2) ? e[1] : 0.0;
    return CHURN_OK;
}
