/*
 * BTYD speed (issue 4): fit times on CDNOW and on simulated customers, and the
 * BG/NBD scoring throughput, next to a naive baseline of our own measured in
 * the same run and the targets / lifetimes numbers quoted in the issue
 * (lifetimes itself cannot be installed here: no PyPI).
 *
 * Baselines, written plainly in this file:
 *  - fit: GSL's vector_bfgs2 on the mean log-likelihood over log-parameters,
 *    every customer row evaluated with lgamma/lbeta/digamma (no collapsing of
 *    identical rows, no per-x caching), analytic gradient, from (1, 1, 1, 1);
 *  - scoring: P(alive) and E[X(t) | x, t_x, T] per customer through pow() and
 *    gsl_sf_hyperg_2F1 on the textbook form of FHL 2005 eq. (10).
 *
 * Times are CPU time of this thread (the machine is shared). Sizes:
 *   BENCH_BTYD_N      simulated customers for the big fits (default 1000000)
 *   BENCH_BTYD_SCORE  customers scored (default 5000000)
 *   BENCH_BTYD_REPS   repetitions of the CDNOW fits (default 50)
 *   CHURN_SHARED_DATA folder of the reference data (default ../shared/data)
 */
#include "churn.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_hyperg.h>
#include <gsl/gsl_sf_psi.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_clock.h"

static size_t env_size(const char *name, size_t def)
{
    const char *v = getenv(name);
    return v && *v ? (size_t)strtoull(v, NULL, 10) : def;
}

/* ---- data ----------------------------------------------------------------------- */

typedef struct rows {
    size_t n;
    double *x, *tx, *T;
} rows;

static int read_cdnow(rows *r)
{
    const char *dir = getenv("CHURN_SHARED_DATA");
    char path[4096];
    snprintf(path, sizeof path, "%s/cdnow/lifetimes_clv.csv",
             dir && *dir ? dir : BENCH_SOURCE_DIR "/../../shared/data");
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[1024];
    r->x = malloc(4000 * sizeof(double));
    r->tx = malloc(4000 * sizeof(double));
    r->T = malloc(4000 * sizeof(double));
    r->n = 0;
    while (fgets(line, sizeof line, f) && r->n < 4000) {
        double id;
        if (line[0] == '#' || line[0] == 'I')
            continue;
        if (sscanf(line, "%lf,%lf,%lf,%lf", &id, &r->x[r->n], &r->tx[r->n], &r->T[r->n]) == 4)
            r->n++;
    }
    fclose(f);
    return 0;
}

/* xoshiro256** and Gamma/Beta draws (Marsaglia & Tsang) */
static uint64_t rs[4];
static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
static void seed(uint64_t s)
{
    for (int i = 0; i < 4; i++) {
        uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        rs[i] = z ^ (z >> 31);
    }
}
static double unif(void)
{
    uint64_t r = rotl(rs[1] * 5, 7) * 9, t = rs[1] << 17;
    rs[2] ^= rs[0];
    rs[3] ^= rs[1];
    rs[1] ^= rs[2];
    rs[0] ^= rs[3];
    rs[2] ^= t;
    rs[3] = rotl(rs[3], 45);
    return ((r >> 11) + 0.5) * 0x1.0p-53;
}
static double gamma_draw(double a)
{
    if (a < 1)
        return gamma_draw(a + 1) * pow(unif(), 1 / a);
    double d = a - 1.0 / 3, c = 1 / sqrt(9 * d);
    for (;;) {
        double u1, u2, s;
        do {
            u1 = 2 * unif() - 1;
            u2 = 2 * unif() - 1;
            s = u1 * u1 + u2 * u2;
        } while (s >= 1 || s == 0);
        double z = u1 * sqrt(-2 * log(s) / s), v = 1 + c * z;
        if (v <= 0)
            continue;
        v = v * v * v;
        if (log(unif()) < 0.5 * z * z + d - d * v + d * log(v))
            return d * v;
    }
}

/* BG/NBD (m = 0) / MBG/NBD (m = 1) customers, ages uniform in [26, 38] weeks. */
static void simulate(rows *r, size_t n, int m, const double *p)
{
    r->n = n;
    r->x = malloc(n * sizeof(double));
    r->tx = malloc(n * sizeof(double));
    r->T = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        double T = 26 + 12 * unif(), lam = gamma_draw(p[0]) / p[1];
        double g1 = gamma_draw(p[2]), drop = g1 / (g1 + gamma_draw(p[3]));
        double t = 0, last = 0;
        int k = 0;
        if (!(m && unif() < drop))
            for (;;) {
                t += -log(unif()) / lam;
                if (!(t <= T))
                    break;
                k++;
                last = t;
                if (unif() < drop)
                    break;
            }
        r->x[i] = k;
        r->tx[i] = last;
        r->T[i] = T;
    }
}

static void rows_free(rows *r)
{
    free(r->x);
    free(r->tx);
    free(r->T);
}

/* ---- the naive baseline --------------------------------------------------------------- */

/* FHL 2005 eq. (6) row by row: mean log-likelihood and gradient in log-params. */
static double naive_ll(const double *th, const rows *d, double *g)
{
    double r = exp(th[0]), al = exp(th[1]), a = exp(th[2]), b = exp(th[3]);
    double s = 0, G[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < d->n; i++) {
        double x = d->x[i], tx = d->tx[i], T = d->T[i];
        double A = gsl_sf_lngamma(r + x) - gsl_sf_lngamma(r) + r * log(al) +
                   gsl_sf_lnbeta(a, b + x) - gsl_sf_lnbeta(a, b) - (r + x) * log(al + T);
        double u = x > 0 ? log(a / (b + x - 1)) + (r + x) * (log(al + T) - log(al + tx)) : -1e300;
        double sp = u > 0 ? u + log1p(exp(-u)) : log1p(exp(u)), sg = x > 0 ? 1 / (1 + exp(-u)) : 0;
        s += A + sp;
        double dl = log(al + T) - log(al + tx);
        G[0] += gsl_sf_psi(r + x) - gsl_sf_psi(r) + log(al) - log(al + T) + sg * dl;
        G[1] += r / al - (r + x) / (al + T) + sg * (r + x) * (1 / (al + T) - 1 / (al + tx));
        G[2] += gsl_sf_psi(a) - gsl_sf_psi(a + b + x) - gsl_sf_psi(a) + gsl_sf_psi(a + b) + sg / a;
        G[3] += gsl_sf_psi(b + x) - gsl_sf_psi(a + b + x) - gsl_sf_psi(b) + gsl_sf_psi(a + b) -
                (x > 0 ? sg / (b + x - 1) : 0);
    }
    double p[4] = {r, al, a, b};
    if (g)
        for (int j = 0; j < 4; j++)
            g[j] = -G[j] * p[j] / d->n;
    return -s / d->n;
}

static double nf(const gsl_vector *v, void *d) { return naive_ll(v->data, d, NULL); }
static void ndf(const gsl_vector *v, void *d, gsl_vector *g) { naive_ll(v->data, d, g->data); }
static void nfdf(const gsl_vector *v, void *d, double *f, gsl_vector *g)
{
    *f = naive_ll(v->data, d, g->data);
}

/* Returns the total log-likelihood reached. */
static double naive_fit(const rows *d, double *params, int *iters)
{
    gsl_multimin_function_fdf fn = {nf, ndf, nfdf, 4, (void *)d};
    gsl_vector *x = gsl_vector_calloc(4);
    gsl_multimin_fdfminimizer *s =
        gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, 4);
    gsl_multimin_fdfminimizer_set(s, &fn, x, 0.1, 0.1);
    int it = 0, st;
    do {
        it++;
        if (gsl_multimin_fdfminimizer_iterate(s))
            break;
        st = gsl_multimin_test_gradient(s->gradient, 1e-8);
    } while (st == GSL_CONTINUE && it < 2000);
    for (int j = 0; j < 4; j++)
        params[j] = exp(gsl_vector_get(s->x, j));
    double ll = -s->f * d->n;
    *iters = it;
    gsl_multimin_fdfminimizer_free(s);
    gsl_vector_free(x);
    return ll;
}

static void naive_score(const double *p, double t, const rows *d, double *pa, double *e)
{
    double r = p[0], al = p[1], a = p[2], b = p[3];
    for (size_t i = 0; i < d->n; i++) {
        double x = d->x[i], tx = d->tx[i], T = d->T[i];
        double q = x > 0 ? a / (b + x - 1) * pow((al + T) / (al + tx), r + x) : 0;
        pa[i] = 1 / (1 + q);
        gsl_sf_result F;
        gsl_sf_hyperg_2F1_e(r + x, b + x, a + b + x - 1, t / (al + T + t), &F);
        e[i] = (a + b + x - 1) / (a - 1) *
               (1 - pow((al + T) / (al + T + t), r + x) * F.val) * pa[i];
    }
}

/* ---- measurements ---------------------------------------------------------------- */

static double fit_time(int family, const rows *d, int reps, churn_model **keep)
{
    double best = INFINITY;
    for (int k = 0; k < reps; k++) {
        churn_model *m = NULL;
        double t0 = bench_clock(CLOCK_THREAD_CPUTIME_ID);
        int rc = churn_btyd_fit(&m, family, d->n, d->x, d->tx, d->T, NULL, NULL);
        double dt = bench_clock(CLOCK_THREAD_CPUTIME_ID) - t0;
        if (rc != CHURN_OK)
            fprintf(stderr, "fit failed: %s\n", churn_last_error_message());
        best = fmin(best, dt);
        if (keep && k == reps - 1)
            *keep = m;
        else
            churn_model_free(m);
    }
    return best;
}

/* `speedup` = how many times faster we are (times: base/ours; rates: ours/base). */
static void line(const char *what, double ours, double base, int is_rate, const char *target)
{
    printf("%-46s %12.4g %12.4g %8.1fx  %s\n", what, ours, base,
           is_rate ? ours / base : base / ours, target);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    gsl_set_error_handler_off();
    size_t nbig = env_size("BENCH_BTYD_N", 1000000), nscore = env_size("BENCH_BTYD_SCORE", 5000000);
    int reps = (int)env_size("BENCH_BTYD_REPS", 50);
    printf("%-46s %12s %12s %9s  %s\n", "measurement (CPU time, one core)", "libchurn",
           "naive", "speedup", "target / lifetimes (quoted in the issue)");

    rows cd = {0, NULL, NULL, NULL};
    if (read_cdnow(&cd) == 0) {
        churn_model *m = NULL;
        double t = fit_time(CHURN_FAMILY_BGNBD, &cd, reps, &m);
        double p[4];
        int it;
        double t0 = bench_clock(CLOCK_THREAD_CPUTIME_ID);
        double llb = naive_fit(&cd, p, &it);
        double tb = bench_clock(CLOCK_THREAD_CPUTIME_ID) - t0;
        line("BG/NBD fit, CDNOW 2357 customers [ms]", 1e3 * t, 1e3 * tb, 0,
             "< 2 ms; lifetimes ~140 ms");
        printf("    LL ours %.4f (%d iterations), naive %.4f (%d BFGS iterations)\n",
               churn_model_loglik(m), churn_model_iterations(m), llb, it);
        churn_model_free(m);
        t = fit_time(CHURN_FAMILY_MBGNBD, &cd, reps, NULL);
        printf("%-46s %12.4g\n", "MBG/NBD fit, CDNOW [ms]", 1e3 * t);
        t = fit_time(CHURN_FAMILY_PNBD, &cd, reps < 5 ? reps : 5, NULL);
        printf("%-46s %12.4g  (Pareto/NBD math: lib/btyd/pnbd.c; target < 20 ms)\n",
               "Pareto/NBD fit, CDNOW [ms]", 1e3 * t);
    } else {
        printf("(CDNOW data not found: set CHURN_SHARED_DATA)\n");
    }

    double truth[4] = {0.25, 4.0, 0.8, 2.5};
    seed(42);
    rows big;
    simulate(&big, nbig, 0, truth);
    {
        churn_model *m = NULL;
        double t = fit_time(CHURN_FAMILY_BGNBD, &big, 1, &m);
        double p[4];
        int it;
        double t0 = bench_clock(CLOCK_THREAD_CPUTIME_ID);
        double llb = naive_fit(&big, p, &it);
        double tb = bench_clock(CLOCK_THREAD_CPUTIME_ID) - t0;
        char what[80];
        snprintf(what, sizeof what, "BG/NBD fit, %zu simulated [s]", nbig);
        line(what, t, tb, 0, "lifetimes ~1.4 s per 100,000 customers");
        double est[4];
        churn_model_params(m, est, 4);
        printf("    estimates r %.4f alpha %.4f a %.4f b %.4f (truth 0.25 4 0.8 2.5); "
               "LL ours %.2f, naive %.2f\n", est[0], est[1], est[2], est[3],
               churn_model_loglik(m), llb);
        churn_model_free(m);
    }
    rows bigm;
    double truth_m[4] = {0.5, 6.0, 0.9, 1.6};
    simulate(&bigm, nbig, 1, truth_m);
    {
        char what[80];
        snprintf(what, sizeof what, "MBG/NBD fit, %zu simulated [s]", nbig);
        printf("%-46s %12.4g\n", what, fit_time(CHURN_FAMILY_MBGNBD, &bigm, 1, NULL));
    }
    rows_free(&bigm);

    /* scoring: P(alive) + expected purchases in 52 weeks */
    churn_model *m = NULL;
    double pub[4] = {0.2425945, 4.4136019, 0.7929199, 2.4258881};
    churn_btyd_model_new(&m, CHURN_FAMILY_BGNBD, 4, pub);
    double *pa = malloc(nscore * sizeof *pa), *e = malloc(nscore * sizeof *e);
    size_t nb = nscore / 20 > 0 ? nscore / 20 : 1;
    double *pab = malloc(nb * sizeof *pab), *eb = malloc(nb * sizeof *eb);
    for (int kind = 0; kind < 2; kind++) {
        rows s;
        if (kind == 0) {
            if (!cd.n)
                continue;
            s.n = nscore;
            s.x = malloc(nscore * sizeof(double));
            s.tx = malloc(nscore * sizeof(double));
            s.T = malloc(nscore * sizeof(double));
            for (size_t i = 0; i < nscore; i++) {
                s.x[i] = cd.x[i % cd.n];
                s.tx[i] = cd.tx[i % cd.n];
                s.T[i] = cd.T[i % cd.n];
            }
        } else {
            s.n = nscore;
            s.x = malloc(nscore * sizeof(double));
            s.tx = malloc(nscore * sizeof(double));
            s.T = malloc(nscore * sizeof(double));
            for (size_t i = 0; i < nscore; i++) {
                s.x[i] = big.x[i % big.n];
                s.tx[i] = big.tx[i % big.n];
                s.T[i] = big.T[i % big.n];
            }
        }
        double t0 = bench_clock(CLOCK_THREAD_CPUTIME_ID);
        churn_btyd_score(m, 52, s.n, s.x, s.tx, s.T, pa, e);
        double t = bench_clock(CLOCK_THREAD_CPUTIME_ID) - t0;
        rows sb = {nb, s.x, s.tx, s.T};
        t0 = bench_clock(CLOCK_THREAD_CPUTIME_ID);
        naive_score(pub, 52, &sb, pab, eb);
        double tb = bench_clock(CLOCK_THREAD_CPUTIME_ID) - t0;
        double worst = 0;
        for (size_t i = 0; i < nb; i++)
            worst = fmax(worst, fabs(e[i] - eb[i]) / fmax(eb[i], 1e-300));
        line(kind == 0 ? "BG/NBD scoring, CDNOW rows [M customers/s]"
                       : "BG/NBD scoring, simulated rows [M customers/s]",
             s.n / t / 1e6, nb / tb / 1e6, 1, ">= 5 M/s per core");
        printf("    max rel. diff of E[X(52)] from the naive path: %.1e\n", worst);
        rows_free(&s);
    }
    churn_model_free(m);
    free(pa);
    free(e);
    free(pab);
    free(eb);
    rows_free(&big);
    if (cd.n)
        rows_free(&cd);
    return 0;
}
