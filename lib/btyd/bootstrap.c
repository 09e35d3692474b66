/*
 * Bootstrap intervals of BTYD predictions (btyd.h, churn_btyd_bootstrap_interval;
 * docs/models/intervals.md): resample the fitting customers with replacement, refit,
 * predict the scored customers, and take the percentiles of the refitted predictions.
 *
 * Each resample draws from its own random stream (splitmix64 seeded by the seed and
 * the resample's number), so the result depends on the seed only, never on the number
 * of threads or their timing. Threads (POSIX, opt-in) take resamples round-robin.
 * churn_btyd_bootstrap_interval_covariates does the same for a model with static
 * covariates: each resample carries its customers' covariate rows, the refit is
 * churn_btyd_fit_covariates with the caller's fit options, and the scores are
 * churn_btyd_score_covariates'.
 * Calls btyd.c's and covariates.c's public fits and predictions and core/ (errors,
 * allocation).
 */
#define _POSIX_C_SOURCE 200809L
#include "btyd/btyd_internal.h"
#include "churn/covariates.h"

#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>


CHURN_API void churn_bootstrap_options_init(churn_bootstrap_options *o)
{
    if (o)
        *o = (churn_bootstrap_options)CHURN_BOOTSTRAP_OPTIONS_INIT;
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

typedef struct {
    const churn_model *model;
    size_t nf;
    const double *xf, *txf, *Tf;
    double t;
    size_t n;
    const double *x, *tx, *T;
    size_t B;
    uint64_t seed;
    /* covariate models: the fitting customers' covariates, the refit's options, the
     * scored customers' covariates (NULL for a plain model) */
    const churn_btyd_covariates *cf, *cs;
    const churn_btyd_cov_options *fo;
    double *pa, *ex;   /* B x n each, resample-major */
    int *status;       /* per resample: CHURN_OK, or the failing status */
    size_t first, step;
} job;

/* Covariate columns of a job's fitting customers (0 for a plain model). */
static size_t n_cov_columns(const job *j)
{
    return j->cf ? j->cf->n_trans + j->cf->n_life : 0;
}

static void one_resample(job *j, size_t b, double *buf)
{
    const size_t nf = j->nf, nt = j->cf ? j->cf->n_trans : 0, nc = n_cov_columns(j);
    double *x = buf, *tx = buf + nf, *T = buf + 2 * nf, *z = buf + 3 * nf;
    uint64_t s = j->seed ^ (0x5851F42D4C957F2DULL * (uint64_t)(b + 1));
    for (size_t i = 0; i < nf; i++) {
        size_t k = (size_t)((double)(splitmix64(&s) >> 11) * 0x1.0p-53 * (double)nf);
        if (k >= nf)
            k = nf - 1;
        x[i] = j->xf[k], tx[i] = j->txf[k], T[i] = j->Tf[k];
        for (size_t c = 0; c < nc; c++) /* the customer's covariate row travels along */
            z[c * nf + i] = c < nt ? j->cf->trans[c * nf + k] : j->cf->life[(c - nt) * nf + k];
    }
    churn_model *m = NULL;
    int rc;
    if (j->cf) {
        churn_btyd_covariates cr = *j->cf;
        cr.trans = cr.n_trans ? z : NULL;
        cr.life = cr.n_life ? z + nt * nf : NULL;
        churn_btyd_cov_options o = *j->fo;
        o.no_std_errors = 1;
        rc = churn_btyd_fit_covariates(&m, churn_model_family(j->model), nf, x, tx, T, NULL,
                                       &cr, &o);
        if (rc == CHURN_OK)
            rc = churn_btyd_score_covariates(m, j->t, j->n, j->x, j->tx, j->T, j->cs,
                                             j->pa + b * j->n, j->ex + b * j->n);
    } else {
        churn_btyd_options o;
        churn_btyd_options_init(&o);
        o.no_std_errors = 1;
        rc = churn_btyd_fit(&m, churn_model_family(j->model), nf, x, tx, T, NULL, &o);
        if (rc == CHURN_OK)
            rc = churn_btyd_score(m, j->t, j->n, j->x, j->tx, j->T, j->pa + b * j->n,
                                  j->ex + b * j->n);
    }
    churn_model_free(m);
    j->status[b] = rc;
}

/* A thread's start routine: the name ends in _thread_main, which tells
 * tests/check_alloc_entry_points.py that only pthread_create calls it through a pointer. */
static void *bootstrap_thread_main(void *arg)
{
    job *j = arg;
    double *buf = churn__malloc(churn__mul_size(churn__mul_size(3 + n_cov_columns(j), j->nf),
                                                sizeof *buf));
    for (size_t b = j->first; b < j->B; b += j->step) {
        if (!buf)
            j->status[b] = CHURN_ENOMEM;
        else
            one_resample(j, b, buf);
    }
    churn__free(buf);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile of v[0..m) (sorted in place), linear interpolation (R type 7). */
static double quantile(double *v, size_t m, double q)
{
    qsort(v, m, sizeof *v, cmp_double);
    double h = (double)(m - 1) * q;
    size_t lo = (size_t)h;
    double f = h - (double)lo;
    return lo + 1 < m ? v[lo] + f * (v[lo + 1] - v[lo]) : v[lo];
}

/* The checks shared by both entry points, then the resamples and the percentiles;
 * `tmpl` holds the covariate parts (or NULLs). */
static int bootstrap_run(const char *FN, const churn_model *model, size_t n_fit,
                         const double *frequency_fit, const double *recency_fit,
                         const double *T_fit, double t, size_t n, const double *frequency,
                         const double *recency, const double *T,
                         const churn_bootstrap_options *opts, double *p_alive_lo,
                         double *p_alive_hi, double *expected_lo, double *expected_hi,
                         size_t *failed, const job *tmpl)
{
    int rc;
    churn_bootstrap_options o;
    churn_bootstrap_options_init(&o);
    if (opts && (rc = churn__opts_copy(&o, sizeof o, opts, "churn_bootstrap_options")))
        return rc;
    if (!frequency_fit || !recency_fit || !T_fit || NEED(frequency) || NEED(recency) ||
        NEED(T))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", FN);
    if (n_fit < 2)
        return churn__error(CHURN_EINVAL, "%s: n_fit = %zu: resampling needs at least 2 "
                            "customers", FN, n_fit);
    if (o.resamples < 20 || o.resamples > 100000)
        return churn__error(CHURN_EINVAL, "%s: resamples = %zu must lie in 20..100000", FN,
                            o.resamples);
    if (!(o.level > 0 && o.level < 1))
        return churn__error(CHURN_EINVAL, "%s: level = %g must lie strictly between 0 and 1",
                            FN, o.level);
    if (o.threads < 0 || o.threads > 256)
        return churn__error(CHURN_EINVAL, "%s: threads = %d must lie in 0..256", FN,
                            o.threads);
    if ((rc = churn__btyd_check_horizon(FN, model->family, t, "horizon t")))
        return rc;
    int discrete = model->family == CHURN_FAMILY_BGBB;
    for (size_t i = 0; i < n_fit; i++)
        if ((rc = churn__btyd_check_row(FN, discrete, 0, i, frequency_fit[i], recency_fit[i],
                                        T_fit[i])))
            return rc;
    for (size_t i = 0; i < n; i++)
        if ((rc = churn__btyd_check_row(FN, discrete, 0, i, frequency[i], recency[i], T[i])))
            return rc;
    size_t B = o.resamples;
    double *pa = churn__malloc(churn__mul_size(churn__mul_size(B, n ? n : 1), sizeof *pa));
    double *ex = churn__malloc(churn__mul_size(churn__mul_size(B, n ? n : 1), sizeof *ex));
    double *col = churn__malloc(churn__mul_size(B, sizeof *col));
    int *status = churn__calloc(B, sizeof *status);
    size_t nt = o.threads > 1 ? (size_t)o.threads : 1;
    if (nt > B)
        nt = B;
    job *jobs = churn__calloc(nt, sizeof *jobs);
    pthread_t *tid = churn__calloc(nt, sizeof *tid);
    int *running = churn__calloc(nt, sizeof *running);
    if (!pa || !ex || !col || !status || !jobs || !tid || !running) {
        rc = churn__nomem("bootstrap resamples");
        goto out;
    }
    /* thread k takes resamples k, k + nt, ...; a thread that cannot be created has
     * its share run by the calling thread afterwards */
    for (size_t k = 0; k < nt; k++) {
        jobs[k] = (job){model, n_fit, frequency_fit, recency_fit, T_fit, t, n, frequency,
                        recency, T, B, o.seed, tmpl->cf, tmpl->cs, tmpl->fo, pa, ex, status,
                        k, nt};
        running[k] = k > 0 && pthread_create(&tid[k], NULL, bootstrap_thread_main,
                                             &jobs[k]) == 0;
    }
    bootstrap_thread_main(&jobs[0]);
    for (size_t k = 1; k < nt; k++) {
        if (running[k])
            pthread_join(tid[k], NULL);
        else
            bootstrap_thread_main(&jobs[k]);
    }
    size_t ok = 0, bad = 0;
    for (size_t b = 0; b < B; b++) {
        if (status[b] == CHURN_ENOMEM) {
            rc = churn__nomem("bootstrap resample");
            goto out;
        }
        bad += status[b] != CHURN_OK;
    }
    ok = B - bad;
    if (failed)
        *failed = bad;
    if (ok < B / 2 + 1) {
        rc = churn__error(CHURN_ENOCONV, "%s: %zu of %zu resamples could not be fitted: the "
                          "data do not pin the model down well enough for a bootstrap", FN,
                          bad, B);
        goto out;
    }
    double qlo = (1 - o.level) / 2, qhi = 1 - qlo;
    for (size_t i = 0; i < n; i++) {
        for (int what = 0; what < 2; what++) {
            const double *src = what ? ex : pa;
            size_t m = 0;
            for (size_t b = 0; b < B; b++)
                if (status[b] == CHURN_OK)
                    col[m++] = src[b * n + i];
            double lo = quantile(col, m, qlo), hi = quantile(col, m, qhi);
            if (what == 0) {
                if (p_alive_lo)
                    p_alive_lo[i] = lo;
                if (p_alive_hi)
                    p_alive_hi[i] = hi;
            } else {
                if (expected_lo)
                    expected_lo[i] = lo;
                if (expected_hi)
                    expected_hi[i] = hi;
            }
        }
    }
    rc = CHURN_OK;
out:
    churn__free(pa);
    churn__free(ex);
    churn__free(col);
    churn__free(status);
    churn__free(jobs);
    churn__free(tid);
    churn__free(running);
    return rc;
}

CHURN_API int churn_btyd_bootstrap_interval(const churn_model *model, size_t n_fit,
                                            const double *frequency_fit,
                                            const double *recency_fit, const double *T_fit,
                                            double t, size_t n, const double *frequency,
                                            const double *recency, const double *T,
                                            const churn_bootstrap_options *opts,
                                            double *p_alive_lo, double *p_alive_hi,
                                            double *expected_lo, double *expected_hi,
                                            size_t *failed)
{
    static const char FN[] = "churn_btyd_bootstrap_interval";
    churn__ok();
    int rc = churn__model_check(model, FN, 4, CHURN_FAMILY_BGNBD, CHURN_FAMILY_MBGNBD,
                                CHURN_FAMILY_PNBD, CHURN_FAMILY_BGBB);
    if (rc)
        return rc;
    size_t kt = 0, kl = 0;
    if (churn_btyd_model_covariates(model, &kt, &kl) == CHURN_OK && kt + kl)
        return churn__error(CHURN_EINVAL, "%s: this '%s' model has covariates: use "
                            "churn_btyd_bootstrap_interval_covariates", FN,
                            churn_family_name(model->family));
    const job none = {0};
    return bootstrap_run(FN, model, n_fit, frequency_fit, recency_fit, T_fit, t, n, frequency,
                         recency, T, opts, p_alive_lo, p_alive_hi, expected_lo, expected_hi,
                         failed, &none);
}

/* The fitting covariates must be the model's, in its order: the refit then estimates the
 * same coefficients. */
static int check_fit_names(const char *FN, const churn_model *model, size_t nb, size_t kt,
                           size_t kl, const churn_btyd_covariates *c)
{
    if (c->n_trans != kt || c->n_life != kl)
        return churn__error(CHURN_EINVAL, "%s: 'cov_fit' has %zu trans and %zu life "
                            "covariates, the model %zu and %zu: give the covariates the model "
                            "was fitted with", FN, c->n_trans, c->n_life, kt, kl);
    if ((kt && (!c->trans || !c->trans_names)) || (kl && (!c->life || !c->life_names)))
        return churn__error(CHURN_EINVAL, "%s: 'cov_fit': NULL values or names", FN);
    for (size_t j = 0; j < kt + kl; j++) {
        const char *want = model->param_names[nb + j];
        const char *pre = j < kt ? "trans." : "life.";
        const char *got = j < kt ? c->trans_names[j] : c->life_names[j - kt];
        if (!got || strncmp(want, pre, strlen(pre)) != 0 || strcmp(want + strlen(pre), got))
            return churn__error(CHURN_EINVAL, "%s: 'cov_fit' %s covariate %zu is '%s', the "
                                "model's coefficient there is '%s': give the covariates in the "
                                "model's order", FN, j < kt ? "trans" : "life",
                                j < kt ? j : j - kt, got ? got : "(null)", want);
    }
    return CHURN_OK;
}

CHURN_API int churn_btyd_bootstrap_interval_covariates(
    const churn_model *model, size_t n_fit, const double *frequency_fit,
    const double *recency_fit, const double *T_fit, const churn_btyd_covariates *cov_fit,
    const churn_btyd_cov_options *fit_opts, double t, size_t n, const double *frequency,
    const double *recency, const double *T, const churn_btyd_covariates *cov,
    const churn_bootstrap_options *opts, double *p_alive_lo, double *p_alive_hi,
    double *expected_lo, double *expected_hi, size_t *failed)
{
    static const char FN[] = "churn_btyd_bootstrap_interval_covariates";
    churn__ok();
    int rc = churn__model_check(model, FN, 4, CHURN_FAMILY_BGNBD, CHURN_FAMILY_MBGNBD,
                                CHURN_FAMILY_PNBD, CHURN_FAMILY_GGOMNBD);
    if (rc)
        return rc;
    size_t kt = 0, kl = 0;
    if ((rc = churn_btyd_model_covariates(model, &kt, &kl)))
        return rc;
    churn_btyd_covariates cf = CHURN_BTYD_COVARIATES_INIT;
    churn_btyd_cov_options fo = CHURN_BTYD_COV_OPTIONS_INIT;
    if ((rc = churn__opts_copy(&cf, sizeof cf, cov_fit, "churn_btyd_covariates")) ||
        (rc = churn__opts_copy(&fo, sizeof fo, fit_opts, "churn_btyd_cov_options")))
        return rc;
    if (!cov_fit && kt + kl)
        return churn__error(CHURN_EINVAL, "%s: NULL 'cov_fit': the covariates the model was "
                            "fitted with are needed to refit it", FN);
    if ((rc = check_fit_names(FN, model, model->nparams - kt - kl, kt, kl, &cf)))
        return rc;
    for (size_t c = 0; c < kt + kl; c++) /* a refit would fail on every resample */
        for (size_t i = 0; i < n_fit; i++) {
            double v = c < kt ? cf.trans[c * n_fit + i] : cf.life[(c - kt) * n_fit + i];
            if (!isfinite(v))
                return churn__error(CHURN_EINVAL, "%s: 'cov_fit' row %zu, %s covariate '%s': "
                                    "%g is not finite (covariates must be finite)", FN, i,
                                    c < kt ? "trans" : "life",
                                    c < kt ? cf.trans_names[c] : cf.life_names[c - kt], v);
        }
    /* the scored customers, their covariates and the horizon, as scoring checks them */
    if ((rc = churn_btyd_score_covariates(model, t, n, frequency, recency, T, cov, NULL,
                                          NULL))) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s", churn_last_error_message());
        const char *m = strncmp(msg, "churn_btyd_score_covariates: ", 29) == 0 ? msg + 29 : msg;
        return churn__error(rc, "%s: %s", FN, m);
    }
    job tmpl = {0};
    tmpl.cf = &cf, tmpl.fo = &fo, tmpl.cs = cov;
    return bootstrap_run(FN, model, n_fit, frequency_fit, recency_fit, T_fit, t, n, frequency,
                         recency, T, opts, p_alive_lo, p_alive_hi, expected_lo, expected_hi,
                         failed, &tmpl);
}
