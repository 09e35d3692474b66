/*
 * Spend and customer value: the Gamma-Gamma spend model, CLV from any BTYD
 * model, DERT, value at risk, value tiers and alert rules (spend.h).
 *
 * References:
 *  - Fader, Hardie & Lee (2005), "RFM and CLV: Using iso-value curves for
 *    customer base analysis", JMR 42(4) — Gamma-Gamma spend sub-model and the
 *    Pareto/NBD DERT.
 *  - Fader & Hardie (2013), "The Gamma-Gamma model of monetary value" (note).
 *  - Python lifetimes' customer_lifetime_value(): the monthly-step CLV whose
 *    definition churn_clv_options reproduces.
 */
#include "core/internal.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_hyperg.h>
#include <gsl/gsl_sf_psi.h>
#include <stdlib.h>

/* ======================================================================== */
/* small dense helpers for the 3-parameter Newton iteration                  */
/* ======================================================================== */

/* Cholesky of a symmetric k x k matrix (row-major) into L (lower). Returns 0
 * when A is positive definite. */
static int chol(const double *A, double *L, int k)
{
    for (int i = 0; i < k * k; i++)
        L[i] = 0.0;
    for (int j = 0; j < k; j++) {
        double d = A[j * k + j];
        for (int m = 0; m < j; m++)
            d -= L[j * k + m] * L[j * k + m];
        if (!(d > 0.0) || !isfinite(d))
            return -1;
        L[j * k + j] = sqrt(d);
        for (int i = j + 1; i < k; i++) {
            double s = A[i * k + j];
            for (int m = 0; m < j; m++)
                s -= L[i * k + m] * L[j * k + m];
            L[i * k + j] = s / L[j * k + j];
        }
    }
    return 0;
}

/* Solve L L' x = b in place. */
static void chol_solve(const double *L, double *b, int k)
{
    for (int i = 0; i < k; i++) {
        double s = b[i];
        for (int m = 0; m < i; m++)
            s -= L[i * k + m] * b[m];
        b[i] = s / L[i * k + i];
    }
    for (int i = k - 1; i >= 0; i--) {
        double s = b[i];
        for (int m = i + 1; m < k; m++)
            s -= L[m * k + i] * b[m];
        b[i] = s / L[i * k + i];
    }
}

/* ======================================================================== */
/* Gamma-Gamma                                                               */
/* ======================================================================== */

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
    gg_row *rows;
    size_t ng;
    double *gx, *gw;  /* distinct x and the total weight with that x */
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
    for (size_t i = 0; i < d->n; i++) {
        const gg_row *r = &d->rows[i];
        double s = gam + r->x * r->z;
        double L = log(s), inv = 1.0 / s;
        A += r->w * r->x * L;
        B += r->w * L;
        if (g) {
            C1 += r->w * r->x * inv;
            C0 += r->w * inv;
        }
        if (H) {
            D1 += r->w * r->x * inv * inv;
            D0 += r->w * inv * inv;
        }
    }
    gsl_sf_result lq, psq, ps1q;
    if (gsl_sf_lngamma_e(q, &lq) != GSL_SUCCESS)
        return CHURN_ENUMERIC;
    if ((g || H) && (gsl_sf_psi_e(q, &psq) != GSL_SUCCESS ||
                     gsl_sf_psi_1_e(q, &ps1q) != GSL_SUCCESS))
        return CHURN_ENUMERIC;
    double sl = 0, sgp = 0, sgq = 0, hpp = 0, hpq = 0, hqq = 0;
    for (size_t k = 0; k < d->ng; k++) {
        double x = d->gx[k], w = d->gw[k];
        double a = p * x + q, b = p * x;
        gsl_sf_result la, lb;
        if (gsl_sf_lngamma_e(a, &la) != GSL_SUCCESS || gsl_sf_lngamma_e(b, &lb) != GSL_SUCCESS)
            return CHURN_ENUMERIC;
        sl += w * (la.val - lb.val);
        if (g) {
            gsl_sf_result pa, pb;
            if (gsl_sf_psi_e(a, &pa) != GSL_SUCCESS || gsl_sf_psi_e(b, &pb) != GSL_SUCCESS)
                return CHURN_ENUMERIC;
            sgp += w * x * (pa.val - pb.val);
            sgq += w * pa.val;
        }
        if (H) {
            gsl_sf_result ta, tb;
            if (gsl_sf_psi_1_e(a, &ta) != GSL_SUCCESS || gsl_sf_psi_1_e(b, &tb) != GSL_SUCCESS)
                return CHURN_ENUMERIC;
            hpp += w * x * x * (ta.val - tb.val);
            hpq += w * x * ta.val;
            hqq += w * ta.val;
        }
    }
    const double W = d->W, lg = log(gam);
    *ll = sl - W * lq.val + W * q * lg + p * d->Xlx + p * d->Lz1 - d->Lz0 - p * A - q * B;
    if (!isfinite(*ll))
        return CHURN_ENUMERIC;
    if (g) {
        g[0] = sgp + d->Xlx + d->Lz1 - A;
        g[1] = sgq - W * psq.val + W * lg - B;
        g[2] = W * q / gam - (p * C1 + q * C0);
    }
    if (H) {
        H[0] = hpp;
        H[1] = H[3] = hpq;
        H[2] = H[6] = -C1;
        H[4] = hqq - W * ps1q.val;
        H[5] = H[7] = W / gam - C0;
        H[8] = -W * q / (gam * gam) + p * D1 + q * D0;
    }
    return CHURN_OK;
}

/* Evaluate on the log scale: theta = log(par); gradient and Hessian with
 * respect to theta (chain rule: d/dtheta_j = par_j d/dpar_j). */
static int gg_eval_log(const gg_data *d, const double *theta, double *ll, double *gt, double *Ht)
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
    return CHURN_OK;
}

static void gg_data_free(gg_data *d)
{
    churn__free(d->rows);
    churn__free(d->gx);
    churn__free(d->gw);
}

/* Newton's method with a backtracking line search on theta = log(params).
 * The Hessian is made positive definite by a growing ridge when needed. */
static int gg_optimise(const gg_data *d, double *theta, int max_iter, double tol, double *ll_out,
                       int *iters, int *converged)
{
    double ll, g[3], H[9];
    int rc = gg_eval_log(d, theta, &ll, g, H);
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
            if (chol(Mm, L, 3) == 0)
                break;
            if (tries > 60)
                return churn__error(CHURN_ENUMERIC, "churn_gammagamma_fit: Hessian is not "
                                    "finite at iteration %d", it);
            mu = mu == 0 ? 1e-8 * (dmax + 1.0) : mu * 10.0;
        }
        memcpy(dir, g, sizeof dir);
        chol_solve(L, dir, 3);
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
            if (gg_eval_log(d, trial, &ll_new, gn, Hn) == CHURN_OK) {
                double gnew = fmax(fabs(gn[0]), fmax(fabs(gn[1]), fabs(gn[2])));
                if (gnew >= gmax) {
                    *converged = slope < 1e-6;
                    break;
                }
                memcpy(theta, trial, sizeof trial);
                ll = ll_new;
                memcpy(g, gn, sizeof gn);
                memcpy(H, Hn, sizeof Hn);
                continue;
            }
        }
        double step = 1.0;
        int accepted = 0;
        for (int k = 0; k < 60; k++, step *= 0.5) {
            for (int j = 0; j < 3; j++)
                trial[j] = theta[j] + step * dir[j];
            if (gg_eval_log(d, trial, &ll_new, NULL, NULL) == CHURN_OK &&
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
        if (gg_eval_log(d, theta, &ll, g, H) != CHURN_OK)
            return churn__error(CHURN_ENUMERIC, "churn_gammagamma_fit: derivatives not finite "
                                "at iteration %d", it);
    }
    *iters = it;
    *ll_out = ll;
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
    churn_gammagamma_options o = CHURN_GAMMAGAMMA_OPTIONS_INIT;
    int rc = churn__opts_copy(&o, sizeof o, opts, "churn_gammagamma_options");
    if (rc)
        return rc;
    if (o.max_iter < 0)
        return churn__error(CHURN_EINVAL, "churn_gammagamma_fit: option max_iter = %d is negative",
                            o.max_iter);
    if (!(o.tol >= 0) || !isfinite(o.tol))
        return churn__error(CHURN_EINVAL, "churn_gammagamma_fit: option tol must be finite and "
                            ">= 0");
    int max_iter = o.max_iter ? o.max_iter : 200;
    double tol = o.tol > 0 ? o.tol : 1e-9;

    /* Validate and count usable rows. */
    size_t nuse = 0;
    double one_time = 0, nonpos = 0;
    for (size_t i = 0; i < n; i++) {
        double x = frequency[i], z = monetary_value[i], w = weights ? weights[i] : 1.0;
        if (!isfinite(x) || x < 0)
            return churn__error(CHURN_EINVAL, "churn_gammagamma_fit: row %zu, column 'frequency': "
                                "%g is not a finite number >= 0", i, x);
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

    gg_data d;
    memset(&d, 0, sizeof d);
    d.rows = churn__malloc(churn__mul_size(nuse, sizeof *d.rows));
    if (!d.rows)
        return churn__nomem("the Gamma-Gamma fit's rows");
    double sw = 0, sx = 0, sz = 0;
    for (size_t i = 0, k = 0; i < n; i++) {
        double x = frequency[i], z = monetary_value[i], w = weights ? weights[i] : 1.0;
        if (w > 0 && x > 0 && z > 0) {
            d.rows[k].x = x;
            d.rows[k].z = z;
            d.rows[k].w = w;
            k++;
            sw += w;
            sx += w * x;
            sz += w * z;
        }
    }
    d.n = nuse;
    qsort(d.rows, nuse, sizeof *d.rows, cmp_row_x);
    size_t ng = 1;
    for (size_t i = 1; i < nuse; i++)
        ng += d.rows[i].x != d.rows[i - 1].x;
    d.gx = churn__malloc(churn__mul_size(ng, sizeof(double)));
    d.gw = churn__malloc(churn__mul_size(ng, sizeof(double)));
    if (!d.gx || !d.gw) {
        gg_data_free(&d);
        return churn__nomem("the Gamma-Gamma fit's groups");
    }
    /* Weighted correlation between x and zbar over the rows used (the model
     * assumes spend independent of frequency). */
    double mx = sx / sw, mz = sz / sw, cxx = 0, czz = 0, cxz = 0;
    size_t gi = 0;
    for (size_t i = 0; i < nuse; i++) {
        const gg_row *r = &d.rows[i];
        if (i == 0 || r->x != d.rows[i - 1].x) {
            d.gx[gi] = r->x;
            d.gw[gi] = 0;
            gi++;
        }
        d.gw[gi - 1] += r->w;
        double lz = log(r->z);
        d.W += r->w;
        d.Lz1 += r->w * r->x * lz;
        d.Lz0 += r->w * lz;
        d.Xlx += r->w * r->x * log(r->x);
        cxx += r->w * (r->x - mx) * (r->x - mx);
        czz += r->w * (r->z - mz) * (r->z - mz);
        cxz += r->w * (r->x - mx) * (r->z - mz);
    }
    d.ng = ng;
    double corr = (cxx > 0 && czz > 0) ? cxz / sqrt(cxx * czz) : NAN;
    if (isfinite(corr))
        corr = fmax(-1.0, fmin(1.0, corr));

    churn__gsl_init();
    /* Start: p = 1, q = 2 and gamma = the mean spend, so that the population
     * mean p gamma / (q - 1) equals the observed mean. */
    double theta[3] = {0.0, log(2.0), log(mz)};
    double ll = NAN;
    int iters = 0, converged = 0;
    rc = gg_optimise(&d, theta, max_iter, tol, &ll, &iters, &converged);
    if (rc) {
        gg_data_free(&d);
        return rc;
    }
    churn_model *m = NULL;
    rc = churn__model_new(&m, CHURN_FAMILY_GAMMAGAMMA, 3, gg_names);
    if (rc) {
        gg_data_free(&d);
        return rc;
    }
    double par[3];
    for (int j = 0; j < 3; j++)
        m->params[j] = par[j] = exp(theta[j]);
    m->loglik = ll;
    m->nobs = d.W;
    m->converged = converged;
    m->iterations = iters;
    double excl[2] = {one_time, nonpos};
    rc = churn__model_set_array(m, "freq_monetary_corr", &corr, 1);
    if (!rc)
        rc = churn__model_set_array(m, "excluded", excl, 2);
    if (!rc && !o.no_std_errors) {
        /* Covariance = inverse observed information on the natural scale. */
        double g[3], H[9], I[9], L[9], cov[9];
        double llc;
        if (gg_eval(&d, par, &llc, g, H) == CHURN_OK) {
            for (int j = 0; j < 9; j++)
                I[j] = -H[j];
            if (chol(I, L, 3) == 0) {
                for (int j = 0; j < 3; j++) {
                    double e[3] = {0, 0, 0};
                    e[j] = 1.0;
                    chol_solve(L, e, 3);
                    for (int k = 0; k < 3; k++)
                        cov[k * 3 + j] = e[k];
                }
                rc = churn__model_set_cov(m, cov);
            } else {
                rc = churn__model_set_note(m, "observed information not positive definite: "
                                           "no standard errors");
            }
        }
    }
    gg_data_free(&d);
    if (rc) {
        churn_model_free(m);
        return rc;
    }
    *out = m;
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
        if (!isfinite(e))
            return churn__error(CHURN_ENUMERIC, "%s: row %zu: expected spend is infinite with "
                                "q = %g (needs q > 1 for the population mean)", fn, i, q);
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

/* ======================================================================== */
/* customer lifetime value                                                   */
/* ======================================================================== */

CHURN_API void churn_clv_options_init(churn_clv_options *opts)
{
    if (!opts)
        return;
    churn_clv_options d = CHURN_CLV_OPTIONS_INIT;
    *opts = d;
}

/* Copy and check the CLV options; resolve the default period from the
 * model's time unit so days and months are never silently mixed. */
static int clv_settings(const churn_model *btyd, const churn_clv_options *opts, const char *fn,
                        churn_clv_options *o)
{
    churn_clv_options d = CHURN_CLV_OPTIONS_INIT;
    *o = d;
    int rc = churn__opts_copy(o, sizeof *o, opts, "churn_clv_options");
    if (rc)
        return rc;
    if (o->horizon < 1)
        return churn__error(CHURN_EINVAL, "%s: option horizon = %d; need at least 1 period", fn,
                            o->horizon);
    if (!isfinite(o->period) || o->period < 0)
        return churn__error(CHURN_EINVAL, "%s: option period = %g is not a finite number >= 0",
                            fn, o->period);
    if (o->period == 0) {
        if (!(btyd->time_unit > 0))
            return churn__error(CHURN_EINVAL, "%s: option period is 0 (one month) but the model's "
                                "time unit is unknown; give the period length in the model's "
                                "time unit", fn);
        o->period = CHURN_UNIT_MONTH / btyd->time_unit;
    }
    if (!isfinite(o->discount) || o->discount < 0)
        return churn__error(CHURN_EINVAL, "%s: option discount = %g is not a finite rate >= 0",
                            fn, o->discount);
    if (!isfinite(o->margin))
        return churn__error(CHURN_EINVAL, "%s: option margin is not finite", fn);
    return CHURN_OK;
}

/* The model passes of the CLV on n customers: P(alive) (when pa != NULL),
 * the discounted expected purchases (lifetimes' customer_lifetime_value
 * without spend, generalised to any time unit) and the undiscounted expected
 * purchases over the whole horizon (when last != NULL). */
static int clv_passes(const churn_model *btyd, const churn_clv_options *o, size_t n,
                      const double *x, const double *tx, const double *T, double *pa,
                      double *disc, double *last)
{
    double *prev = churn__calloc(n ? n : 1, sizeof(double));
    double *cur = churn__malloc(churn__mul_size(n ? n : 1, sizeof(double)));
    if (!prev || !cur) {
        churn__free(prev);
        churn__free(cur);
        return churn__nomem("CLV work arrays");
    }
    for (size_t i = 0; i < n; i++)
        disc[i] = 0.0;
    int rc = pa ? churn_btyd_p_alive(btyd, n, x, tx, T, pa) : CHURN_OK;
    for (int k = 1; !rc && k <= o->horizon; k++) {
        const double factor = pow(1.0 + o->discount, -(double)k);
        rc = churn_btyd_expected_purchases(btyd, k * o->period, n, x, tx, T, cur);
        if (rc)
            break;
        /* E[X(T, T + kP)] - E[X(T, T + (k-1)P)]: purchases in period k */
        for (size_t i = 0; i < n; i++)
            disc[i] += (cur[i] - prev[i]) * factor;
        double *t = prev;
        prev = cur;
        cur = t;
    }
    if (!rc && last)
        memcpy(last, prev, n * sizeof(double));
    for (size_t i = 0; !rc && i < n; i++)
        if (!isfinite(disc[i]))
            rc = churn__error(CHURN_ENUMERIC, "row %zu: discounted expected purchases not finite",
                              i);
    churn__free(prev);
    churn__free(cur);
    return rc;
}

/* Distinct (x, t_x, T) triples of n rows: map[i] = index of row i's triple
 * among the *nu distinct ones, stored in u (3 * nu doubles: x, t_x, T
 * blocks). Open addressing on the bit patterns. Returns 0, or -1 when out of
 * memory or n is too large for 32-bit indices (the caller then skips it). */
static int distinct_triples(size_t n, const double *x, const double *tx, const double *T,
                            uint32_t **map_out, double **u_out, size_t *nu_out)
{
    if (n >= UINT32_MAX / 4)
        return -1;
    size_t cap = 64;
    while (cap < 2 * n)
        cap <<= 1;
    uint32_t *slot = churn__malloc(cap * sizeof *slot);
    uint32_t *map = churn__malloc(n * sizeof *map);
    double *u = churn__malloc(churn__mul_size(3 * n, sizeof(double)));
    if (!slot || !map || !u) {
        churn__free(slot);
        churn__free(map);
        churn__free(u);
        return -1;
    }
    memset(slot, 0xff, cap * sizeof *slot);
    size_t nu = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t a, b, c;
        memcpy(&a, &x[i], 8);
        memcpy(&b, &tx[i], 8);
        memcpy(&c, &T[i], 8);
        uint64_t h = a * 0x9E3779B97F4A7C15ULL;
        h = (h ^ (h >> 29) ^ b) * 0xBF58476D1CE4E5B9ULL;
        h = (h ^ (h >> 31) ^ c) * 0x94D049BB133111EBULL;
        h ^= h >> 32;
        size_t k = (size_t)h & (cap - 1);
        for (;;) {
            uint32_t j = slot[k];
            if (j == UINT32_MAX) {
                slot[k] = (uint32_t)nu;
                u[nu] = x[i];
                u[n + nu] = tx[i];
                u[2 * n + nu] = T[i];
                map[i] = (uint32_t)nu++;
                break;
            }
            if (memcmp(&u[j], &x[i], 8) == 0 && memcmp(&u[n + j], &tx[i], 8) == 0 &&
                memcmp(&u[2 * n + j], &T[i], 8) == 0) {
                map[i] = j;
                break;
            }
            k = (k + 1) & (cap - 1);
        }
    }
    churn__free(slot);
    /* compact the three blocks to nu entries each */
    memmove(u + nu, u + n, nu * sizeof(double));
    memmove(u + 2 * nu, u + 2 * n, nu * sizeof(double));
    *map_out = map;
    *u_out = u;
    *nu_out = nu;
    return 0;
}

/* clv_passes() on the distinct (x, t_x, T) triples only: customers with the
 * same history get the same predictions, and real tables repeat histories a
 * lot (one-time buyers who started on the same day, ...), so the model
 * passes — a hypergeometric function per customer and period — run on far
 * fewer rows. On any failure the direct path reruns, so error messages name
 * the caller's row. */
static int clv_discounted(const churn_model *btyd, const churn_clv_options *o, size_t n,
                          const double *x, const double *tx, const double *T, double *pa,
                          double *disc, double *last)
{
    uint32_t *map = NULL;
    double *u = NULL;
    size_t nu = 0;
    if (n < 256 || distinct_triples(n, x, tx, T, &map, &u, &nu) != 0)
        return clv_passes(btyd, o, n, x, tx, T, pa, disc, last);
    if (nu > n / 10 * 9) {
        churn__free(map);
        churn__free(u);
        return clv_passes(btyd, o, n, x, tx, T, pa, disc, last);
    }
    double *out = churn__malloc(churn__mul_size(3 * nu, sizeof(double)));
    int rc = out ? clv_passes(btyd, o, nu, u, u + nu, u + 2 * nu, pa ? out : NULL, out + nu,
                              last ? out + 2 * nu : NULL)
                 : CHURN_ENOMEM;
    if (rc == CHURN_OK) {
        for (size_t i = 0; i < n; i++) {
            uint32_t j = map[i];
            if (pa)
                pa[i] = out[j];
            disc[i] = out[nu + j];
            if (last)
                last[i] = out[2 * nu + j];
        }
    }
    churn__free(out);
    churn__free(map);
    churn__free(u);
    if (rc)
        rc = clv_passes(btyd, o, n, x, tx, T, pa, disc, last);
    return rc;
}

CHURN_API int churn_clv_discounted_purchases(const churn_model *btyd,
                                             const churn_clv_options *opts, size_t n,
                                             const double *frequency, const double *recency,
                                             const double *T, double *discounted)
{
    churn__ok();
    static const char fn[] = "churn_clv_discounted_purchases";
    int rc = churn__model_check(btyd, fn, 3, CHURN_FAMILY_BGNBD, CHURN_FAMILY_MBGNBD,
                                CHURN_FAMILY_PNBD);
    if (rc)
        return rc;
    if (n && (!frequency || !recency || !T || !discounted))
        return churn__error(CHURN_EINVAL, "%s: NULL array", fn);
    churn_clv_options o;
    if ((rc = clv_settings(btyd, opts, fn, &o)))
        return rc;
    return clv_discounted(btyd, &o, n, frequency, recency, T, NULL, discounted, NULL);
}

CHURN_API int churn_clv_score(const churn_model *btyd, const churn_model *spend,
                              const churn_clv_options *opts, size_t n, const double *frequency,
                              const double *recency, const double *T,
                              const double *monetary_value, double *p_alive,
                              double *expected_purchases, double *expected_spend, double *clv,
                              double *value_at_risk)
{
    churn__ok();
    static const char fn[] = "churn_clv_score";
    int rc = churn__model_check(btyd, fn, 3, CHURN_FAMILY_BGNBD, CHURN_FAMILY_MBGNBD,
                                CHURN_FAMILY_PNBD);
    if (rc)
        return rc;
    if (spend && (rc = churn__model_check(spend, fn, 1, CHURN_FAMILY_GAMMAGAMMA)))
        return rc;
    if (n && (!frequency || !recency || !T || !monetary_value))
        return churn__error(CHURN_EINVAL, "%s: NULL input array", fn);
    churn_clv_options o;
    if ((rc = clv_settings(btyd, opts, fn, &o)))
        return rc;
    if (n == 0)
        return CHURN_OK;
    /* Work arrays for outputs the caller does not want. */
    size_t nb = churn__mul_size(n, sizeof(double));
    double *pa = p_alive, *es = expected_spend, *disc = NULL, *own[3] = {NULL, NULL, NULL};
    if (!nb)
        return churn__nomem("CLV arrays");
    if (!pa && !(pa = own[0] = churn__malloc(nb)))
        return churn__nomem("CLV arrays");
    if (!es && !(es = own[1] = churn__malloc(nb))) {
        churn__free(own[0]);
        return churn__nomem("CLV arrays");
    }
    if (!(disc = own[2] = churn__malloc(nb))) {
        churn__free(own[0]);
        churn__free(own[1]);
        return churn__nomem("CLV arrays");
    }
    rc = clv_discounted(btyd, &o, n, frequency, recency, T, pa, disc, expected_purchases);
    if (!rc) {
        if (spend) {
            rc = churn_gammagamma_expected_spend(spend, n, frequency, monetary_value, es);
        } else {
            for (size_t i = 0; i < n && !rc; i++) {
                if (!isfinite(monetary_value[i]))
                    rc = churn__error(CHURN_EINVAL, "%s: row %zu, column 'monetary_value' "
                                      "(expected spend): %g is not finite", fn, i,
                                      monetary_value[i]);
                es[i] = monetary_value[i];
            }
        }
    }
    if (!rc) {
        for (size_t i = 0; i < n; i++) {
            double c = o.margin * es[i] * disc[i];
            double var = 0.0;
            /* value_if_retained = clv / P(alive); value at risk =
             * value_if_retained * P(churn) (see spend.h). */
            if (pa[i] > 0 && pa[i] < 1)
                var = c * ((1.0 - pa[i]) / pa[i]);
            if (!isfinite(c) || !isfinite(var)) {
                rc = churn__error(CHURN_ENUMERIC, "%s: row %zu: CLV not finite (spend %g, "
                                  "discounted purchases %g, P(alive) %g)", fn, i, es[i],
                                  disc[i], pa[i]);
                break;
            }
            if (clv)
                clv[i] = c;
            if (value_at_risk)
                value_at_risk[i] = var;
        }
    }
    for (int j = 0; j < 3; j++)
        churn__free(own[j]);
    return rc;
}

CHURN_API int churn_clv_contractual(const churn_model *sbg, double value_per_period,
                                    double discount, size_t n, const double *periods,
                                    double *clv)
{
    churn__ok();
    static const char fn[] = "churn_clv_contractual";
    int rc = churn__model_check(sbg, fn, 1, CHURN_FAMILY_SBG);
    if (rc)
        return rc;
    if (!isfinite(value_per_period))
        return churn__error(CHURN_EINVAL, "%s: value_per_period is not finite", fn);
    if (n && !clv)
        return churn__error(CHURN_EINVAL, "%s: 'clv' is NULL", fn);
    rc = churn_sbg_derl(sbg, discount, n, periods, clv);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        clv[i] *= value_per_period;
    return CHURN_OK;
}

/* ======================================================================== */
/* DERT                                                                      */
/* ======================================================================== */

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

/* e^{-s} E[X(T, T + s/delta) | history]: after integrating by parts and
 * substituting s = delta t, DERT = ∫_0^∞ e^{-s} E(s / delta) ds. */
static double dert_integrand(double s, void *vp)
{
    dert_ctx *c = vp;
    double e = 0;
    if (s <= 0)
        return 0.0;
    int rc = churn_btyd_expected_purchases(c->model, s / c->delta, 1, &c->x, &c->tx, &c->T, &e);
    if (rc) {
        c->rc = rc;
        return NAN;
    }
    return exp(-s) * e;
}

/* e^{-z u} (1 + u)^{-s} with p = {s, z}: integrand of the fallback when GSL's
 * U(s, s; z) fails, since ∫_0^∞ e^{-z u} (1 + u)^{-s} du = z^{s-1} U(s, s; z)
 * (integral representation of U(1, 2-s; z) and Kummer's transformation). */
static double pnbd_tail_f(double u, void *p)
{
    const double *sz = p;
    return exp(-sz[1] * u - sz[0] * log1p(u));
}

CHURN_API int churn_dert(const churn_model *model, double delta, size_t n,
                         const double *frequency, const double *recency, const double *T,
                         double *dert)
{
    churn__ok();
    static const char fn[] = "churn_dert";
    int rc = churn__model_check(model, fn, 3, CHURN_FAMILY_PNBD, CHURN_FAMILY_BGNBD,
                                CHURN_FAMILY_MBGNBD);
    if (rc)
        return rc;
    if (!isfinite(delta) || !(delta > 0))
        return churn__error(CHURN_EINVAL, "%s: delta = %g; need a finite discount rate > 0", fn,
                            delta);
    if (n && (!frequency || !recency || !T || !dert))
        return churn__error(CHURN_EINVAL, "%s: NULL array", fn);
    if (n == 0)
        return CHURN_OK;
    churn__gsl_init();
    gsl_integration_workspace *ws = gsl_integration_workspace_alloc(1000);
    if (!ws)
        return churn__nomem("an integration workspace");
    if (model->family == CHURN_FAMILY_PNBD) {
        /* FHL 2005: DERT = alpha^r beta^s delta^{s-1} Gamma(r+x+1) U(s, s; delta(beta+T))
         *                 / (Gamma(r) (alpha+T)^{r+x+1} L(r, alpha, s, beta | x, t_x, T)).
         * Since P(alive) = alpha^r beta^s Gamma(r+x) / (Gamma(r) (alpha+T)^{r+x}
         * (beta+T)^s L), this is
         *   DERT = P(alive) (r + x)/(alpha + T) (beta + T)^s delta^{s-1} U(s, s; delta(beta+T)),
         * which reuses the Pareto/NBD P(alive) (with its careful 2F1 handling)
         * instead of recomputing the likelihood L. */
        double r = model_param(model, "r"), alpha = model_param(model, "alpha");
        double s = model_param(model, "s"), beta = model_param(model, "beta");
        if (!(r > 0 && alpha > 0 && s > 0 && beta > 0)) {
            gsl_integration_workspace_free(ws);
            return churn__error(CHURN_EINVAL, "%s: the Pareto/NBD model lacks positive "
                                "parameters r, alpha, s, beta", fn);
        }
        rc = churn_btyd_p_alive(model, n, frequency, recency, T, dert);
        for (size_t i = 0; !rc && i < n; i++) {
            double bt = beta + T[i], z = delta * bt;
            gsl_sf_result_e10 u;
            double tail; /* = z^{s-1} U(s, s; z) */
            if (gsl_sf_hyperg_U_e10_e(s, s, z, &u) == GSL_SUCCESS && u.val > 0) {
                tail = exp((s - 1.0) * log(z) + log(u.val) + u.e10 * 2.30258509299404568402);
            } else {
                int ok = 0;
                double sz[2] = {s, z};
                tail = 0;
                gsl_function f;
                f.function = pnbd_tail_f;
                f.params = sz;
                double err;
                ok = gsl_integration_qagiu(&f, 0.0, 0.0, 1e-12, 1000, ws, &tail, &err) ==
                     GSL_SUCCESS;
                if (!ok) {
                    rc = churn__error(CHURN_ENUMERIC, "%s: row %zu: U(s, s; %g) failed", fn, i,
                                      z);
                    break;
                }
            }
            /* (beta+T)^s delta^{s-1} U(s,s;z) = (beta+T) z^{s-1} U(s,s;z). */
            dert[i] *= (r + frequency[i]) / (alpha + T[i]) * bt * tail;
            if (!isfinite(dert[i]))
                rc = churn__error(CHURN_ENUMERIC, "%s: row %zu: DERT not finite", fn, i);
        }
    } else {
        /* BG/NBD, MBG/NBD: DERT = ∫_0^∞ e^{-delta t} dE(t) = delta ∫_0^∞ e^{-delta t} E(t) dt
         * by parts (E(0) = 0 and e^{-delta t} E(t) -> 0), with E(t) = E[X(T, T+t) | history]. */
        rc = churn_btyd_p_alive(model, n, frequency, recency, T, dert); /* validates rows */
        for (size_t i = 0; !rc && i < n; i++) {
            dert_ctx c = {model, delta, frequency[i], recency[i], T[i], CHURN_OK};
            gsl_function f;
            f.function = dert_integrand;
            f.params = &c;
            double val = 0, err = 0;
            int st = gsl_integration_qagiu(&f, 0.0, 0.0, 1e-10, 1000, ws, &val, &err);
            if (c.rc)
                rc = c.rc;
            else if (st != GSL_SUCCESS || !isfinite(val))
                rc = churn__error(CHURN_ENUMERIC, "%s: row %zu: the DERT integral did not "
                                  "converge (%s)", fn, i, gsl_strerror(st));
            else
                dert[i] = val;
        }
    }
    gsl_integration_workspace_free(ws);
    return rc;
}

/* ======================================================================== */
/* tiers                                                                     */
/* ======================================================================== */

CHURN_API const char *churn_tier_name(int tier)
{
    switch (tier) {
    case CHURN_TIER_KEY: return "key";
    case CHURN_TIER_IMPORTANT: return "important";
    case CHURN_TIER_ORDINARY: return "ordinary";
    default: return "";
    }
}

/* The k-th smallest (0-based) of a[0..n-1], reordering a: quickselect with a
 * median-of-three pivot, O(n) on average. */
static double select_kth(double *a, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        double x = a[lo], y = a[mid], z = a[hi];
        double pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        size_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                double t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return a[k];
    }
    return a[k];
}

CHURN_API int churn_tiers_assign(size_t n, const double *value, double key_fraction,
                                 double important_fraction, int *tier, double *key_share)
{
    churn__ok();
    static const char fn[] = "churn_tiers_assign";
    if (n && !value)
        return churn__error(CHURN_EINVAL, "%s: 'value' is NULL", fn);
    if (!(key_fraction >= 0 && key_fraction <= 1))
        return churn__error(CHURN_EINVAL, "%s: key_fraction = %g is not in [0, 1]", fn,
                            key_fraction);
    if (!(important_fraction >= 0 && key_fraction + important_fraction <= 1 + 1e-12))
        return churn__error(CHURN_EINVAL, "%s: important_fraction = %g is not in [0, 1 - "
                            "key_fraction]", fn, important_fraction);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(value[i]))
            return churn__error(CHURN_EINVAL, "%s: row %zu, value %g is not finite", fn, i,
                                value[i]);
    if (key_share)
        *key_share = 0.0;
    if (n == 0)
        return CHURN_OK;
    /* The customer table's value_tier rule (customers.h): key when fewer than
     * c1 = key_fraction n customers have a strictly larger value. With
     * k1 = ceil(c1), that is value >= the k1-th largest value (ties share a
     * tier), so two order statistics (O(n) selection, no sort) decide every
     * customer's tier. */
    const double c1 = key_fraction * (double)n;
    const double c2 = (key_fraction + important_fraction) * (double)n;
    size_t k1 = (size_t)ceil(c1), k2 = (size_t)ceil(c2);
    double *work = churn__malloc(churn__mul_size(n, sizeof *work));
    if (!work)
        return churn__nomem("the ranking of customers");
    memcpy(work, value, n * sizeof *work);
    double t1 = k1 == 0 ? INFINITY : select_kth(work, n, n - (k1 < n ? k1 : n));
    double t2 = k2 == 0 ? INFINITY : select_kth(work, n, n - (k2 < n ? k2 : n));
    churn__free(work);
    double total = 0, top = 0;
    for (size_t i = 0; i < n; i++) {
        double v = value[i];
        int t = v >= t1 ? CHURN_TIER_KEY : v >= t2 ? CHURN_TIER_IMPORTANT : CHURN_TIER_ORDINARY;
        total += v;
        if (t == CHURN_TIER_KEY)
            top += v;
        if (tier)
            tier[i] = t;
    }
    if (key_share)
        *key_share = total > 0 ? top / total : 0.0;
    return CHURN_OK;
}

/* ======================================================================== */
/* alert rules                                                               */
/* ======================================================================== */

typedef struct alert_rule {
    char *name;
    char *field;
    int op;
    double threshold;
} alert_rule;

struct churn_alerts {
    size_t n;
    alert_rule rules[CHURN_ALERTS_MAX];
};

CHURN_API int churn_alerts_new(churn_alerts **out)
{
    churn__ok();
    if (!out)
        return churn__error(CHURN_EINVAL, "churn_alerts_new: 'out' is NULL");
    *out = churn__calloc(1, sizeof **out);
    if (!*out)
        return churn__nomem("an alert rule set");
    return CHURN_OK;
}

CHURN_API void churn_alerts_free(churn_alerts *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++) {
        churn__free(a->rules[i].name);
        churn__free(a->rules[i].field);
    }
    churn__free(a);
}

static const char *op_text(int op)
{
    switch (op) {
    case CHURN_ALERT_LT: return "<";
    case CHURN_ALERT_LE: return "<=";
    case CHURN_ALERT_GT: return ">";
    case CHURN_ALERT_GE: return ">=";
    case CHURN_ALERT_EQ: return "==";
    case CHURN_ALERT_NE: return "!=";
    default: return NULL;
    }
}

CHURN_API int churn_alerts_add(churn_alerts *a, const char *name, const char *field, int op,
                               double threshold)
{
    churn__ok();
    static const char fn[] = "churn_alerts_add";
    if (!a)
        return churn__error(CHURN_EINVAL, "%s: rule set is NULL", fn);
    if (!name || !*name || strchr(name, ';'))
        return churn__error(CHURN_EINVAL, "%s: rule name must be non-empty text without ';'",
                            fn);
    if (!field || !*field)
        return churn__error(CHURN_EINVAL, "%s: rule '%s': field name is empty", fn, name);
    if (!op_text(op))
        return churn__error(CHURN_EINVAL, "%s: rule '%s': operator %d is not a churn_alert_op",
                            fn, name, op);
    if (!isfinite(threshold))
        return churn__error(CHURN_EINVAL, "%s: rule '%s': threshold is not finite", fn, name);
    if (a->n >= CHURN_ALERTS_MAX)
        return churn__error(CHURN_ERANGE, "%s: rule '%s': a set holds at most %d rules", fn, name,
                            CHURN_ALERTS_MAX);
    char *nm = churn__strdup(name), *fd = churn__strdup(field);
    if (!nm || !fd) {
        churn__free(nm);
        churn__free(fd);
        return churn__nomem("an alert rule");
    }
    alert_rule *r = &a->rules[a->n++];
    r->name = nm;
    r->field = fd;
    r->op = op;
    r->threshold = threshold;
    return CHURN_OK;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

CHURN_API int churn_alerts_add_text(churn_alerts *a, const char *rule)
{
    churn__ok();
    static const char fn[] = "churn_alerts_add_text";
    if (!a || !rule)
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    char name[128], field[128], autoname[256];
    const char *p = rule, *colon = strchr(rule, ':');
    size_t nn = 0;
    if (colon) {
        const char *s = rule, *e = colon;
        while (s < e && is_blank(*s))
            s++;
        while (e > s && is_blank(e[-1]))
            e--;
        nn = (size_t)(e - s);
        if (nn == 0 || nn >= sizeof name)
            return churn__error(CHURN_EFORMAT, "%s: rule '%s': empty or over-long name before ':'",
                                fn, rule);
        memcpy(name, s, nn);
        name[nn] = '\0';
        p = colon + 1;
    }
    while (is_blank(*p))
        p++;
    size_t nf = 0;
    while (p[nf] && !is_blank(p[nf]) && !strchr("<>=!", p[nf]))
        nf++;
    if (nf == 0 || nf >= sizeof field)
        return churn__error(CHURN_EFORMAT, "%s: rule '%s': expected 'field op threshold'", fn,
                            rule);
    memcpy(field, p, nf);
    field[nf] = '\0';
    p += nf;
    while (is_blank(*p))
        p++;
    int op = 0;
    if (p[0] == '<' && p[1] == '=')
        op = CHURN_ALERT_LE, p += 2;
    else if (p[0] == '>' && p[1] == '=')
        op = CHURN_ALERT_GE, p += 2;
    else if (p[0] == '=' && p[1] == '=')
        op = CHURN_ALERT_EQ, p += 2;
    else if (p[0] == '!' && p[1] == '=')
        op = CHURN_ALERT_NE, p += 2;
    else if (p[0] == '<')
        op = CHURN_ALERT_LT, p += 1;
    else if (p[0] == '>')
        op = CHURN_ALERT_GT, p += 1;
    else
        return churn__error(CHURN_EFORMAT, "%s: rule '%s': expected one of < <= > >= == != after "
                            "'%s'", fn, rule, field);
    char *end;
    double th = strtod(p, &end);
    if (end == p)
        return churn__error(CHURN_EFORMAT, "%s: rule '%s': expected a number after the operator",
                            fn, rule);
    while (is_blank(*end))
        end++;
    if (*end)
        return churn__error(CHURN_EFORMAT, "%s: rule '%s': unexpected text '%s' after the "
                            "threshold", fn, rule, end);
    if (!isfinite(th))
        return churn__error(CHURN_EFORMAT, "%s: rule '%s': threshold is not finite", fn, rule);
    if (!colon) {
        size_t k = 0;
        for (const char *s = rule; *s && k + 1 < sizeof autoname; s++)
            if (!is_blank(*s))
                autoname[k++] = *s;
        autoname[k] = '\0';
    }
    return churn_alerts_add(a, colon ? name : autoname, field, op, th);
}

CHURN_API int churn_alerts_add_defaults(churn_alerts *a)
{
    churn__ok();
    int rc = churn_alerts_add(a, "p_alive_low", "p_alive", CHURN_ALERT_LT, 0.3);
    if (!rc)
        rc = churn_alerts_add(a, "overdue", "overdue_ratio", CHURN_ALERT_GT, 2.0);
    if (!rc)
        rc = churn_alerts_add(a, "spend_down", "spend_trend", CHURN_ALERT_LT, -1.0 / 3.0);
    return rc;
}

CHURN_API size_t churn_alerts_num_rules(const churn_alerts *a) { return a ? a->n : 0; }

CHURN_API int churn_alerts_rule(const churn_alerts *a, size_t i, const char **name,
                                const char **field, int *op, double *threshold)
{
    churn__ok();
    if (!a)
        return churn__error(CHURN_EINVAL, "churn_alerts_rule: rule set is NULL");
    if (i >= a->n)
        return churn__error(CHURN_ERANGE, "churn_alerts_rule: rule %zu of %zu", i, a->n);
    if (name)
        *name = a->rules[i].name;
    if (field)
        *field = a->rules[i].field;
    if (op)
        *op = a->rules[i].op;
    if (threshold)
        *threshold = a->rules[i].threshold;
    return CHURN_OK;
}

CHURN_API int churn_alerts_evaluate(const churn_alerts *a, size_t n, size_t ncols,
                                    const char *const *names, const double *const *columns,
                                    uint64_t *fired)
{
    churn__ok();
    static const char fn[] = "churn_alerts_evaluate";
    if (!a)
        return churn__error(CHURN_EINVAL, "%s: rule set is NULL", fn);
    if ((ncols && (!names || !columns)) || (n && !fired))
        return churn__error(CHURN_EINVAL, "%s: NULL array", fn);
    const double *col[CHURN_ALERTS_MAX];
    for (size_t r = 0; r < a->n; r++) {
        col[r] = NULL;
        for (size_t j = 0; j < ncols; j++)
            if (names[j] && strcmp(names[j], a->rules[r].field) == 0) {
                col[r] = columns[j];
                break;
            }
        if (!col[r] && n)
            return churn__error(CHURN_ENOTFOUND, "%s: rule '%s' tests field '%s', which is not "
                                "among the %zu columns given", fn, a->rules[r].name,
                                a->rules[r].field, ncols);
    }
    for (size_t i = 0; i < n; i++)
        fired[i] = 0;
    /* One pass per rule over a contiguous column: a branch-free comparison
     * the compiler can vectorise. NaN compares false under every operator
     * (for != explicitly). */
    for (size_t r = 0; r < a->n; r++) {
        const double *v = col[r], t = a->rules[r].threshold;
        const uint64_t bit = (uint64_t)1 << r;
        switch (a->rules[r].op) {
        case CHURN_ALERT_LT:
            for (size_t i = 0; i < n; i++)
                fired[i] |= (v[i] < t) ? bit : 0;
            break;
        case CHURN_ALERT_LE:
            for (size_t i = 0; i < n; i++)
                fired[i] |= (v[i] <= t) ? bit : 0;
            break;
        case CHURN_ALERT_GT:
            for (size_t i = 0; i < n; i++)
                fired[i] |= (v[i] > t) ? bit : 0;
            break;
        case CHURN_ALERT_GE:
            for (size_t i = 0; i < n; i++)
                fired[i] |= (v[i] >= t) ? bit : 0;
            break;
        case CHURN_ALERT_EQ:
            for (size_t i = 0; i < n; i++)
                fired[i] |= (v[i] == t) ? bit : 0;
            break;
        default:
            for (size_t i = 0; i < n; i++)
                fired[i] |= (v[i] == v[i] && v[i] != t) ? bit : 0;
            break;
        }
    }
    return CHURN_OK;
}

CHURN_API int churn_alerts_describe(const churn_alerts *a, uint64_t fired, char *buf, size_t cap,
                                    size_t *needed)
{
    churn__ok();
    static const char fn[] = "churn_alerts_describe";
    if (!a || (!buf && cap))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    size_t len = 0;
    for (size_t r = 0; r < a->n; r++)
        if (fired & ((uint64_t)1 << r))
            len += strlen(a->rules[r].name) + (len ? 1 : 0);
    if (needed)
        *needed = len + 1;
    if (cap < len + 1)
        return churn__error(CHURN_ERANGE, "%s: buffer of %zu bytes, need %zu", fn, cap, len + 1);
    size_t k = 0;
    for (size_t r = 0; r < a->n; r++)
        if (fired & ((uint64_t)1 << r)) {
            if (k)
                buf[k++] = ';';
            size_t l = strlen(a->rules[r].name);
            memcpy(buf + k, a->rules[r].name, l);
            k += l;
        }
    buf[k] = '\0';
    return CHURN_OK;
}
