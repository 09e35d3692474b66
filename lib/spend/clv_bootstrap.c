/*
 * Bootstrap intervals of the CLV scores (spend.h, churn_clv_bootstrap_interval;
 * docs/models/intervals.md): resample the fitting customers with replacement, refit
 * the BTYD model and the Gamma-Gamma model to the SAME resample (a customer's purchase
 * history and spend travel together), score the customers with every pair of refits
 * (churn_clv_score), and take the percentiles of the five scores.
 *
 * Each resample draws from its own random stream (splitmix64 seeded by the seed and the
 * resample's number, as btyd/bootstrap.c), so the result depends on the seed only, never
 * on the number of threads. Threads (POSIX, opt-in) take resamples round-robin.
 * Calls core/ and the public fits and scores (churn_btyd_fit, churn_gammagamma_fit in
 * gamma_gamma.c, churn_clv_score in clv.c).
 */
#define _POSIX_C_SOURCE 200809L
#include "core/internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char FN[] = "churn_clv_bootstrap_interval";

enum { NQ = 5 }; /* p_alive, expected purchases, expected spend, clv, value at risk */

static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

typedef struct {
    const churn_model *btyd, *spend;
    const churn_clv_options *clv;
    size_t nf;
    const double *xf, *txf, *Tf, *zf;
    size_t n;
    const double *x, *tx, *T, *z;
    size_t B;
    uint64_t seed;
    double *scores;    /* B x NQ x n, resample-major */
    int *status;       /* per resample: CHURN_OK, or the failing status */
    size_t first, step;
} job;

static void one_resample(job *j, size_t b, double *buf)
{
    double *x = buf, *tx = buf + j->nf, *T = buf + 2 * j->nf, *z = buf + 3 * j->nf;
    uint64_t s = j->seed ^ (0x5851F42D4C957F2DULL * (uint64_t)(b + 1));
    for (size_t i = 0; i < j->nf; i++) {
        size_t k = (size_t)((double)(next_u64(&s) >> 11) * 0x1.0p-53 * (double)j->nf);
        if (k >= j->nf)
            k = j->nf - 1;
        x[i] = j->xf[k], tx[i] = j->txf[k], T[i] = j->Tf[k], z[i] = j->zf[k];
    }
    churn_btyd_options bo;
    churn_btyd_options_init(&bo);
    bo.no_std_errors = 1;
    churn_model *m = NULL, *g = NULL;
    int rc = churn_btyd_fit(&m, churn_model_family(j->btyd), j->nf, x, tx, T, NULL, &bo);
    if (rc == CHURN_OK && j->btyd->time_unit > 0)
        m->time_unit = j->btyd->time_unit; /* the CLV's default period is a month */
    if (rc == CHURN_OK && j->spend) {
        churn_gammagamma_options go;
        churn_gammagamma_options_init(&go);
        go.no_std_errors = 1;
        rc = churn_gammagamma_fit(&g, j->nf, x, z, NULL, &go);
    }
    double *o = j->scores + b * NQ * j->n;
    if (rc == CHURN_OK)
        rc = churn_clv_score(m, g, j->clv, j->n, j->x, j->tx, j->T, j->z, o, o + j->n,
                             o + 2 * j->n, o + 3 * j->n, o + 4 * j->n);
    churn_model_free(m);
    churn_model_free(g);
    j->status[b] = rc;
}

/* A thread's start routine: the name ends in _thread_main, which tells
 * tests/check_alloc_entry_points.py that only pthread_create calls it through a pointer. */
static void *clv_bootstrap_thread_main(void *arg)
{
    job *j = arg;
    double *buf = churn__malloc(churn__mul_size(4 * j->nf, sizeof *buf));
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

/* The q-quantile of sorted v[0..m), linear interpolation (R type 7). */
static double sorted_quantile(const double *v, size_t m, double q)
{
    double h = (double)(m - 1) * q;
    size_t lo = (size_t)h;
    double f = h - (double)lo;
    return lo + 1 < m ? v[lo] + f * (v[lo + 1] - v[lo]) : v[lo];
}

CHURN_API int churn_clv_bootstrap_interval(const churn_model *btyd, const churn_model *spend,
                                           const churn_clv_options *clv_opts, size_t n_fit,
                                           const double *frequency_fit,
                                           const double *recency_fit, const double *T_fit,
                                           const double *monetary_fit, size_t n,
                                           const double *frequency, const double *recency,
                                           const double *T, const double *monetary_value,
                                           const churn_bootstrap_options *opts,
                                           const churn_clv_intervals *out, size_t *failed)
{
    churn__ok();
    churn_clv_intervals io = CHURN_CLV_INTERVALS_INIT;
    int rc = churn__opts_copy(&io, sizeof io, out, "churn_clv_intervals");
    if (rc)
        return rc;
    if (!out)
        return churn__error(CHURN_EINVAL, "%s: 'out' is NULL", FN);
    double *const dst[NQ][3] = {
        {io.p_alive, io.p_alive_lo, io.p_alive_hi},
        {io.expected_purchases, io.expected_purchases_lo, io.expected_purchases_hi},
        {io.expected_spend, io.expected_spend_lo, io.expected_spend_hi},
        {io.clv, io.clv_lo, io.clv_hi},
        {io.value_at_risk, io.value_at_risk_lo, io.value_at_risk_hi}};
    int any = 0;
    for (int q = 0; q < NQ; q++)
        for (int e = 0; e < 3; e++)
            any |= dst[q][e] != NULL;
    if (!any)
        return churn__error(CHURN_EINVAL, "%s: every output of 'out' is NULL", FN);
    churn_bootstrap_options o;
    churn_bootstrap_options_init(&o);
    if (opts && (rc = churn__opts_copy(&o, sizeof o, opts, "churn_bootstrap_options")))
        return rc;
    if (!frequency_fit || !recency_fit || !T_fit || !monetary_fit ||
        (n && (!frequency || !recency || !T || !monetary_value)))
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
    size_t B = o.resamples, nn = n ? n : 1;
    double *scores = churn__malloc(churn__mul_size(churn__mul_size(B, NQ * nn),
                                                   sizeof *scores));
    double *point = churn__malloc(churn__mul_size(NQ * nn, sizeof *point));
    double *col = churn__malloc(churn__mul_size(B, sizeof *col));
    int *status = churn__calloc(B, sizeof *status);
    size_t nt = o.threads > 1 ? (size_t)o.threads : 1;
    if (nt > B)
        nt = B;
    job *jobs = churn__calloc(nt, sizeof *jobs);
    pthread_t *tid = churn__calloc(nt, sizeof *tid);
    int *running = churn__calloc(nt, sizeof *running);
    if (!scores || !point || !col || !status || !jobs || !tid || !running) {
        rc = churn__nomem("bootstrap resamples");
        goto out;
    }
    /* the point values at the given models: their checks (models, options, every scored
     * row) first, with the caller's row in the message */
    rc = churn_clv_score(btyd, spend, clv_opts, n, frequency, recency, T, monetary_value,
                         point, point + nn, point + 2 * nn, point + 3 * nn, point + 4 * nn);
    if (rc) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s", churn_last_error_message());
        rc = churn__error(rc, "%s: scoring: %s", FN, msg);
        goto out;
    }
    /* the fitting rows, checked once here so that the message names the caller's row
     * (inside a resample the row numbers are the resample's) */
    double ll;
    rc = churn_btyd_loglik(btyd->family, btyd->nparams, btyd->params, n_fit, frequency_fit,
                           recency_fit, T_fit, NULL, &ll, NULL);
    if (rc == CHURN_ENUMERIC)
        rc = CHURN_OK; /* a value, not a row, at fault: the refits will tell */
    if (!rc && spend) {
        double *tmp = churn__malloc(churn__mul_size(n_fit, sizeof *tmp));
        rc = tmp ? churn_gammagamma_expected_spend(spend, n_fit, frequency_fit, monetary_fit,
                                                   tmp)
                 : CHURN_ENOMEM;
        churn__free(tmp);
        if (rc == CHURN_ENUMERIC)
            rc = CHURN_OK;
    }
    if (rc) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s", churn_last_error_message());
        rc = rc == CHURN_ENOMEM ? churn__nomem("bootstrap fitting rows")
                                : churn__error(rc, "%s: fitting rows: %s", FN, msg);
        goto out;
    }
    for (size_t k = 0; k < nt; k++) {
        jobs[k] = (job){btyd, spend, clv_opts, n_fit, frequency_fit, recency_fit, T_fit,
                        monetary_fit, n, frequency, recency, T, monetary_value, B, o.seed,
                        scores, status, k, nt};
        running[k] = k > 0 && pthread_create(&tid[k], NULL, clv_bootstrap_thread_main,
                                             &jobs[k]) == 0;
    }
    clv_bootstrap_thread_main(&jobs[0]);
    for (size_t k = 1; k < nt; k++) {
        if (running[k])
            pthread_join(tid[k], NULL);
        else
            clv_bootstrap_thread_main(&jobs[k]);
    }
    size_t bad = 0;
    for (size_t b = 0; b < B; b++) {
        if (status[b] == CHURN_ENOMEM) {
            rc = churn__nomem("bootstrap resample");
            goto out;
        }
        bad += status[b] != CHURN_OK;
    }
    if (failed)
        *failed = bad;
    if (B - bad < B / 2 + 1) {
        rc = churn__error(CHURN_ENOCONV, "%s: %zu of %zu resamples could not be fitted or "
                          "scored: the data do not pin the models down well enough for a "
                          "bootstrap (check the fitting rows with churn_btyd_fit and "
                          "churn_gammagamma_fit)", FN, bad, B);
        goto out;
    }
    double qlo = (1 - o.level) / 2, qhi = 1 - qlo;
    for (size_t i = 0; i < n; i++)
        for (int q = 0; q < NQ; q++) {
            if (dst[q][0])
                dst[q][0][i] = point[(size_t)q * nn + i];
            if (!dst[q][1] && !dst[q][2])
                continue;
            size_t m = 0;
            for (size_t b = 0; b < B; b++)
                if (status[b] == CHURN_OK)
                    col[m++] = scores[(b * NQ + (size_t)q) * n + i];
            qsort(col, m, sizeof *col, cmp_double);
            if (dst[q][1])
                dst[q][1][i] = sorted_quantile(col, m, qlo);
            if (dst[q][2])
                dst[q][2][i] = sorted_quantile(col, m, qhi);
        }
    rc = CHURN_OK;
out:
    churn__free(scores);
    churn__free(point);
    churn__free(col);
    churn__free(status);
    churn__free(jobs);
    churn__free(tid);
    churn__free(running);
    return rc;
}
