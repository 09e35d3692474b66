/*
 * Pareto/NBD fit speed (issue 4): CDNOW and 1,000,000 simulated customers,
 * ours (churn_btyd_fit: rows collapsed, analytic gradient, lib/btyd/pnbd.c's
 * series/quadrature for the 2F1 terms) against a naive baseline measured in
 * the same run: the textbook likelihood with gsl_sf_hyperg_2F1 per customer,
 * no collapsing, Nelder-Mead on the log-parameters (what lifetimes does with
 * scipy's hyp2f1 and Nelder-Mead; lifetimes itself is not installable here).
 *
 * Targets (issue 4): CDNOW < 20 ms; 1,000,000 customers < 5 s on one core.
 * Quoted for lifetimes on this kind of machine: 0.9 s on CDNOW, ~220 s on
 * 100,000 customers.
 *
 * Environment:
 *   BENCH_PNBD_N        simulated customers (default 1000000)
 *   BENCH_PNBD_REPS     repetitions of the CDNOW fit (default 20; the median is shown)
 *   BENCH_PNBD_NAIVE_N  customers for the naive baseline's full fit on simulated data
 *                       (default 20000; 0 skips it)
 *   CHURN_SHARED_DATA   folder holding cdnow/lifetimes_clv.csv (default ../shared/data)
 *
 * Times are CPU seconds of this process (the fit is single-threaded), with the
 * wall-clock time alongside: the machine is shared, so wall time includes
 * waiting for a core.
 */
#include <churn.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sf_hyperg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_clock.h"

#ifndef BENCH_SOURCE_DIR
#define BENCH_SOURCE_DIR "."
#endif

typedef struct rows {
    size_t n;
    double *x, *tx, *T;
} rows;

static size_t env_size(const char *name, size_t dflt)
{
    const char *v = getenv(name);
    return v && *v ? (size_t)strtod(v, NULL) : dflt;
}

static int rows_alloc(rows *r, size_t n)
{
    r->n = n;
    r->x = malloc(n * sizeof(double));
    r->tx = malloc(n * sizeof(double));
    r->T = malloc(n * sizeof(double));
    return r->x && r->tx && r->T ? 0 : -1;
}

static void rows_free(rows *r)
{
    free(r->x);
    free(r->tx);
    free(r->T);
}

static int read_cdnow(rows *r)
{
    char path[4096];
    const char *d = getenv("CHURN_SHARED_DATA");
    if (d && *d)
        snprintf(path, sizeof path, "%s/cdnow/lifetimes_clv.csv", d);
    else
        snprintf(path, sizeof path, "%s/../../shared/data/cdnow/lifetimes_clv.csv",
                 BENCH_SOURCE_DIR);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    if (rows_alloc(r, 4096)) {
        fclose(fp);
        return -1;
    }
    size_t n = 0;
    char line[1024];
    while (fgets(line, sizeof line, fp) && n < 4096) {
        double id;
        if (line[0] != '#' && line[0] != 'I' &&
            sscanf(line, "%lf,%lf,%lf,%lf", &id, &r->x[n], &r->tx[n], &r->T[n]) == 4)
            n++;
    }
    fclose(fp);
    r->n = n;
    return n > 0 ? 0 : -1;
}

/* Pareto/NBD customers, T uniform on 26..78 weeks. daily = 1: purchase times
 * rounded to days and same-day purchases merged, as a transaction log in
 * days gives them (many customers share (x, t_x, T)); daily = 0: continuous
 * times, every row distinct (the worst case for collapsing). */
static int simulate(rows *r, size_t n, const double *p, int daily, unsigned long seed)
{
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    if (!g || rows_alloc(r, n)) {
        gsl_rng_free(g);
        return -1;
    }
    gsl_rng_set(g, seed);
    for (size_t i = 0; i < n; i++) {
        double lambda = gsl_ran_gamma(g, p[0], 1.0 / p[1]);
        double mu = gsl_ran_gamma(g, p[2], 1.0 / p[3]);
        double life = gsl_ran_exponential(g, 1.0 / mu);
        double T = 26.0 + 52.0 * gsl_rng_uniform(g);
        if (daily)
            T = floor(T * 7.0) / 7.0;
        double end = fmin(life, T), t = 0.0, x = 0.0, tx = 0.0, lastday = 0.0;
        for (;;) {
            t += gsl_ran_exponential(g, 1.0 / lambda);
            if (t > end)
                break;
            if (daily) {
                double day = floor(t * 7.0);
                if (day > lastday && day / 7.0 <= T) {
                    x += 1.0;
                    tx = day / 7.0;
                    lastday = day;
                }
            } else {
                x += 1.0;
                tx = t;
            }
        }
        r->x[i] = x;
        r->tx[i] = tx;
        r->T[i] = T;
    }
    gsl_rng_free(g);
    return 0;
}

static int cmp_triple(const void *a, const void *b)
{
    const double *u = a, *v = b;
    for (int k = 0; k < 3; k++)
        if (u[k] != v[k])
            return u[k] < v[k] ? -1 : 1;
    return 0;
}

static size_t distinct_rows(const rows *r)
{
    double *t = malloc(r->n * 3 * sizeof(double));
    if (!t)
        return 0;
    for (size_t i = 0; i < r->n; i++) {
        t[3 * i] = r->x[i];
        t[3 * i + 1] = r->tx[i];
        t[3 * i + 2] = r->T[i];
    }
    qsort(t, r->n, 3 * sizeof(double), cmp_triple);
    size_t d = r->n ? 1 : 0;
    for (size_t i = 1; i < r->n; i++)
        d += cmp_triple(&t[3 * i], &t[3 * (i - 1)]) != 0;
    free(t);
    return d;
}

typedef struct fit_result {
    double cpu, wall, ll, p[4];
    int rc, iters;
} fit_result;

static fit_result ours(const rows *r)
{
    fit_result f;
    churn_model *m = NULL;
    double c0 = bench_cpu(), w0 = bench_wall();
    f.rc = churn_btyd_fit(&m, CHURN_FAMILY_PNBD, r->n, r->x, r->tx, r->T, NULL, NULL);
    f.cpu = bench_cpu() - c0;
    f.wall = bench_wall() - w0;
    f.ll = m ? churn_model_loglik(m) : NAN;
    f.iters = m ? churn_model_iterations(m) : 0;
    if (m)
        churn_model_params(m, f.p, 4);
    churn_model_free(m);
    return f;
}

/* ---- the naive baseline ---------------------------------------------------------- */

typedef struct naive {
    const rows *r;
    long evals, gsl_failures;
} naive;

static double logsum(double a, double b) { return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b)); }

/* Textbook individual log-likelihood (Fader & Hardie 2005 note, eq. 22 with
 * the A0 term), in logs as lifetimes writes it. Returns NAN when GSL fails. */
static double naive_row(const double *p, double x, double tx, double T, long *fails)
{
    double r = p[0], al = p[1], s = p[2], be = p[3], a = r + s + x;
    double b = al >= be ? s + 1.0 : r + x, big = al >= be ? al : be, d = fabs(al - be);
    gsl_sf_result F1, F2;
    int e1 = gsl_sf_hyperg_2F1_e(a, b, a + 1.0, d / (big + tx), &F1);
    int e2 = gsl_sf_hyperg_2F1_e(a, b, a + 1.0, d / (big + T), &F2);
    if (e1 || e2 || !(F1.val > 0) || !(F2.val > 0)) {
        (*fails)++;
        return NAN;
    }
    double l1 = log(F1.val) - a * log(big + tx), l2 = log(F2.val) - a * log(big + T);
    double la0 = l1 > l2 ? l1 + log1p(-exp(l2 - l1)) : -INFINITY;
    double lalive = -(r + x) * log(al + T) - s * log(be + T);
    double lv = la0 == -INFINITY ? lalive : logsum(lalive, log(s) - log(a) + la0);
    return lgamma(r + x) - lgamma(r) + r * log(al) + s * log(be) + lv;
}

static double naive_f(const gsl_vector *v, void *ctx)
{
    naive *nv = ctx;
    double p[4], ll = 0.0;
    for (int k = 0; k < 4; k++) {
        double th = gsl_vector_get(v, (size_t)k);
        if (!(fabs(th) < 30))
            return INFINITY;
        p[k] = exp(th);
    }
    nv->evals++;
    for (size_t i = 0; i < nv->r->n; i++) {
        double li = naive_row(p, nv->r->x[i], nv->r->tx[i], nv->r->T[i], &nv->gsl_failures);
        if (!isfinite(li))
            return INFINITY;
        ll += li;
    }
    return -ll / (double)nv->r->n;
}

static fit_result naive_fit(const rows *r, long *evals, long *fails)
{
    fit_result f;
    naive nv = {r, 0, 0};
    gsl_multimin_function fn = {naive_f, 4, &nv};
    gsl_vector *x0 = gsl_vector_alloc(4), *step = gsl_vector_alloc(4);
    gsl_vector_set_all(x0, 0.0); /* lifetimes starts from all parameters = 1 */
    gsl_vector_set_all(step, 0.5);
    gsl_multimin_fminimizer *mm = gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2, 4);
    double c0 = bench_cpu(), w0 = bench_wall();
    gsl_multimin_fminimizer_set(mm, &fn, x0, step);
    int it = 0, status = GSL_CONTINUE;
    while (status == GSL_CONTINUE && it < 5000) {
        it++;
        if (gsl_multimin_fminimizer_iterate(mm))
            break;
        status = gsl_multimin_test_size(gsl_multimin_fminimizer_size(mm), 1e-7);
    }
    f.cpu = bench_cpu() - c0;
    f.wall = bench_wall() - w0;
    f.rc = status == GSL_SUCCESS ? 0 : -1;
    f.iters = it;
    f.ll = -gsl_multimin_fminimizer_minimum(mm) * (double)r->n;
    for (int k = 0; k < 4; k++)
        f.p[k] = exp(gsl_vector_get(mm->x, (size_t)k));
    gsl_multimin_fminimizer_free(mm);
    gsl_vector_free(x0);
    gsl_vector_free(step);
    *evals = nv.evals;
    *fails = nv.gsl_failures;
    return f;
}

/* One naive evaluation over all rows (the baseline's per-iteration cost). */
static double naive_eval_time(const rows *r, const double *p, long *fails)
{
    double c0 = bench_cpu(), ll = 0.0;
    for (size_t i = 0; i < r->n; i++) {
        double li = naive_row(p, r->x[i], r->tx[i], r->T[i], fails);
        if (isfinite(li))
            ll += li;
    }
    volatile double sink = ll;
    (void)sink;
    return bench_cpu() - c0;
}

static int cmp_double(const void *a, const void *b)
{
    double u = *(const double *)a, v = *(const double *)b;
    return u < v ? -1 : u > v;
}

static void print_fit(const char *what, fit_result f)
{
    printf("  %-44s %9.4f s CPU %9.4f s wall  rc %d, %d iterations, LL %.4f\n", what, f.cpu,
           f.wall, f.rc, f.iters, f.ll);
    printf("  %-44s r %.4f alpha %.4f s %.4f beta %.4f\n", "", f.p[0], f.p[1], f.p[2], f.p[3]);
}

int main(void)
{
    size_t nbig = env_size("BENCH_PNBD_N", 1000000);
    size_t reps = env_size("BENCH_PNBD_REPS", 20);
    size_t nnaive = env_size("BENCH_PNBD_NAIVE_N", 20000);
    const double truth[4] = {0.55, 10.5, 0.6, 11.5};
    gsl_set_error_handler_off();
    if (reps < 1)
        reps = 1;

    printf("Pareto/NBD fit benchmark (issue 4). Targets: CDNOW < 20 ms; 1,000,000 customers < 5 s.\n");
    printf("lifetimes (quoted, not installable here): 0.9 s on CDNOW, ~220 s on 100,000 customers.\n\n");

    rows cd;
    if (read_cdnow(&cd) == 0) {
        double *cpu = malloc(reps * sizeof(double)), *wall = malloc(reps * sizeof(double));
        fit_result f = {0};
        for (size_t k = 0; k < reps; k++) {
            f = ours(&cd);
            cpu[k] = f.cpu;
            wall[k] = f.wall;
        }
        qsort(cpu, reps, sizeof *cpu, cmp_double);
        qsort(wall, reps, sizeof *wall, cmp_double);
        f.cpu = cpu[reps / 2];
        f.wall = wall[reps / 2];
        printf("CDNOW, %zu customers (%zu distinct rows):\n", cd.n, distinct_rows(&cd));
        print_fit("ours, median of reps", f);
        long evals = 0, fails = 0;
        fit_result nf = naive_fit(&cd, &evals, &fails);
        print_fit("naive (GSL 2F1 per row, Nelder-Mead)", nf);
        printf("  %-44s %ld likelihood evaluations, %ld GSL 2F1 failures\n", "", evals, fails);
        printf("  => ours %.1f ms CPU (target 20 ms); naive / ours = %.0fx; lifetimes 0.9 s / "
               "ours = %.0fx\n\n",
               f.cpu * 1e3, nf.cpu / f.cpu, 0.9 / f.cpu);
        free(cpu);
        free(wall);
        rows_free(&cd);
    } else {
        printf("CDNOW: cdnow/lifetimes_clv.csv not found (set CHURN_SHARED_DATA); skipped\n\n");
    }

    for (int daily = 1; daily >= 0; daily--) {
        rows big;
        if (simulate(&big, nbig, truth, daily, 42 + (unsigned long)daily)) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
        size_t nd = distinct_rows(&big);
        printf("%zu simulated customers, %s (%zu distinct rows), truth r %.2f alpha %.2f s %.2f "
               "beta %.2f:\n",
               nbig, daily ? "times in days" : "continuous times", nd, truth[0], truth[1],
               truth[2], truth[3]);
        fit_result f = ours(&big);
        print_fit("ours", f);
        /* the baseline's cost per evaluation over every customer, and its
         * evaluation count measured on CDNOW-sized problems (~hundreds) */
        long fails = 0;
        double te = naive_eval_time(&big, truth, &fails);
        double ll_ours = 0.0;
        double c0 = bench_cpu();
        churn_btyd_loglik(CHURN_FAMILY_PNBD, 4, truth, big.n, big.x, big.tx, big.T, NULL, &ll_ours,
                          (double[4]){0});
        double to = bench_cpu() - c0;
        printf("  %-44s %9.4f s CPU per evaluation (%ld GSL failures); ours, uncollapsed, with "
               "gradient: %.4f s (%.0f ns/row)\n",
               "naive likelihood over all rows", te, fails, to, to / (double)big.n * 1e9);
        printf("  => ours %.2f s CPU (target 5 s)\n", f.cpu);
        if (daily && nnaive > 0) {
            rows sub = big;
            sub.n = nnaive < big.n ? nnaive : big.n;
            long evals = 0;
            fails = 0;
            fit_result nf = naive_fit(&sub, &evals, &fails);
            fit_result fo = ours(&sub);
            char what[96];
            snprintf(what, sizeof what, "naive full fit, first %zu customers", sub.n);
            print_fit(what, nf);
            printf("  %-44s %ld evaluations, %ld GSL failures\n", "", evals, fails);
            snprintf(what, sizeof what, "ours, same %zu customers", sub.n);
            print_fit(what, fo);
            printf("  => naive / ours = %.0fx on %zu customers; naive projected to all %zu: "
                   "%.0f s (= %ld evaluations x %.2f s)\n",
                   nf.cpu / fo.cpu, sub.n, nbig, (double)evals * te, evals, te);
        }
        printf("\n");
        rows_free(&big);
    }
    return 0;
}
