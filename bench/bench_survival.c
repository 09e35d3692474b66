/*
 * Survival benchmarks (issue 7), ours side by side with R's survival package
 * in the same run when Rscript is installed (Debian r-cran-survival), and a
 * naive O(n^2) Cox implementation on a subsample as a second reference.
 *
 *   1. Cox PH, Efron ties, n x p synthetic data with integer-day times and
 *      about half censored (default 1,000,000 x 20): ours vs R coxph.
 *   2. The same with continuous (untied) times.
 *   3. Kaplan-Meier on N durations (default 10,000,000), integer days and
 *      continuous: ours vs R survfit.
 *
 * Sizes: CHURN_BENCH_N (Cox rows), CHURN_BENCH_P (features), CHURN_BENCH_KM_N
 * (KM rows), CHURN_BENCH_NAIVE_N (naive subsample, default 1000);
 * CHURN_BENCH_R=0 skips R. Example, small: CHURN_BENCH_N=20000
 * CHURN_BENCH_KM_N=100000 build/bench/bench_survival
 */
#include "churn.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_clock.h"

#ifndef BENCH_SOURCE_DIR
#define BENCH_SOURCE_DIR "bench"
#endif

static size_t env_size(const char *name, size_t def)
{
    const char *s = getenv(name);
    return (s && *s) ? (size_t)strtoull(s, NULL, 10) : def;
}

/* xorshift64* */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static double unif(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return ((double)((rng_state * 2685821657736338717ULL) >> 11) + 0.5) / 9007199254740992.0;
}
static double gauss(void)
{
    return sqrt(-2 * log(unif())) * cos(2 * M_PI * unif());
}

/* Synthetic customers: x ~ N(0, 1), hazard exp(x'b)/365 per day, censoring
 * uniform on (0, 600) days: about half censored. `integer` rounds up to days. */
static void make_data(size_t n, size_t p, double *x, double *t, double *e, const double *beta,
                      int integer)
{
    for (size_t i = 0; i < n; i++) {
        double eta = 0;
        for (size_t j = 0; j < p; j++) {
            x[i * p + j] = gauss();
            eta += x[i * p + j] * beta[j];
        }
        double tt = -log(unif()) * 365.0 * exp(-eta);
        double c = unif() * 600.0;
        double obs = tt < c ? tt : c;
        e[i] = tt < c;
        t[i] = integer ? ceil(obs) : obs;
    }
}

static int write_bin(const char *path, const double *v, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(v, sizeof(double), n, f);
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

/* Naive Efron Newton-Raphson: for every event time, sums over the whole risk
 * set (O(n) each) -- the textbook formulation (Therneau & Grambsch 3.3). */
static int naive_cox(size_t n, size_t p, const double *x, const double *t, const double *e,
                     double *beta)
{
    double *u = calloc(p, sizeof *u), *I = calloc(p * p, sizeof *I), *S1 = calloc(p, sizeof *S1);
    double *D1 = calloc(p, sizeof *D1), *S2 = calloc(p * p, sizeof *S2), *D2 = calloc(p * p, sizeof *D2);
    double *r = malloc(n * sizeof *r);
    memset(beta, 0, p * sizeof *beta);
    for (int it = 0; it < 30; it++) {
        memset(u, 0, p * sizeof *u);
        memset(I, 0, p * p * sizeof *I);
        for (size_t i = 0; i < n; i++) {
            double eta = 0;
            for (size_t j = 0; j < p; j++)
                eta += x[i * p + j] * beta[j];
            r[i] = exp(eta);
        }
        for (size_t i = 0; i < n; i++) {
            if (!e[i])
                continue;
            int first = 1;
            for (size_t k = 0; k < i && first; k++)
                if (e[k] && t[k] == t[i])
                    first = 0;
            if (!first)
                continue;
            double S0 = 0, D0 = 0;
            size_t d = 0;
            memset(S1, 0, p * sizeof *S1);
            memset(D1, 0, p * sizeof *D1);
            memset(S2, 0, p * p * sizeof *S2);
            memset(D2, 0, p * p * sizeof *D2);
            for (size_t k = 0; k < n; k++) {
                if (t[k] < t[i])
                    continue;
                const double *xk = x + k * p;
                S0 += r[k];
                for (size_t a = 0; a < p; a++) {
                    S1[a] += r[k] * xk[a];
                    for (size_t b = 0; b < p; b++)
                        S2[a * p + b] += r[k] * xk[a] * xk[b];
                }
                if (t[k] == t[i] && e[k]) {
                    d++;
                    D0 += r[k];
                    for (size_t a = 0; a < p; a++) {
                        u[a] += xk[a];
                        D1[a] += r[k] * xk[a];
                        for (size_t b = 0; b < p; b++)
                            D2[a * p + b] += r[k] * xk[a] * xk[b];
                    }
                }
            }
            for (size_t q = 0; q < d; q++) {
                double f = (double)q / (double)d, den = S0 - f * D0;
                for (size_t a = 0; a < p; a++) {
                    double ma = (S1[a] - f * D1[a]) / den;
                    u[a] -= ma;
                    for (size_t b = 0; b < p; b++) {
                        double mb = (S1[b] - f * D1[b]) / den;
                        I[a * p + b] += (S2[a * p + b] - f * D2[a * p + b]) / den - ma * mb;
                    }
                }
            }
        }
        /* solve I step = u by Gaussian elimination (I is SPD) */
        double *A = malloc(p * (p + 1) * sizeof *A);
        for (size_t a = 0; a < p; a++) {
            for (size_t b = 0; b < p; b++)
                A[a * (p + 1) + b] = I[a * p + b];
            A[a * (p + 1) + p] = u[a];
        }
        for (size_t c = 0; c < p; c++)
            for (size_t a = c + 1; a < p; a++) {
                double f = A[a * (p + 1) + c] / A[c * (p + 1) + c];
                for (size_t b = c; b <= p; b++)
                    A[a * (p + 1) + b] -= f * A[c * (p + 1) + b];
            }
        double step_max = 0;
        for (size_t a = p; a-- > 0;) {
            double s = A[a * (p + 1) + p];
            for (size_t b = a + 1; b < p; b++)
                s -= A[a * (p + 1) + b] * A[b * (p + 1) + p];
            A[a * (p + 1) + p] = s / A[a * (p + 1) + a];
            beta[a] += A[a * (p + 1) + p];
            if (fabs(A[a * (p + 1) + p]) > step_max)
                step_max = fabs(A[a * (p + 1) + p]);
        }
        free(A);
        if (step_max < 1e-12)
            break;
    }
    free(u);
    free(I);
    free(S1);
    free(D1);
    free(S2);
    free(D2);
    free(r);
    return 0;
}

static double max_rel_diff(const double *a, const double *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]) / fmax(fabs(b[i]), 1e-12);
        if (d > m)
            m = d;
    }
    return m;
}

static int read_r_results(const char *path, double *coef, size_t p, double *secs)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int ok = fscanf(f, "%lf", secs) == 1;
    for (size_t j = 0; ok && j < p; j++)
        ok = fscanf(f, "%lf", &coef[j]) == 1;
    fclose(f);
    return ok ? 0 : -1;
}

int main(void)
{
    size_t n = env_size("CHURN_BENCH_N", 1000000), p = env_size("CHURN_BENCH_P", 20);
    size_t nkm = env_size("CHURN_BENCH_KM_N", 10000000);
    size_t nnaive = env_size("CHURN_BENCH_NAIVE_N", 1000);
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep our lines in order with R's */
    const char *renv = getenv("CHURN_BENCH_R");
    int use_r = !(renv && strcmp(renv, "0") == 0) && system("Rscript --version >/dev/null 2>&1") == 0;
    char dir[] = "/tmp/churn_bench_survXXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    printf("survival bench: Cox n = %zu x p = %zu, KM n = %zu; R %s\n", n, p, nkm,
           use_r ? "found (Rscript)" : "not run");
    double *beta = malloc(p * sizeof *beta);
    for (size_t j = 0; j < p; j++)
        beta[j] = 0.05 * (double)((j % 5) + 1) * ((j % 2) ? -1 : 1);
    double *x = malloc(n * p * sizeof *x), *t = malloc(n * sizeof *t), *e = malloc(n * sizeof *e);
    double *xc = malloc(n * p * sizeof *xc), *coef = malloc(p * sizeof *coef);
    double *rcoef = malloc(p * sizeof *rcoef);
    if (!beta || !x || !t || !e || !xc || !coef || !rcoef) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    int status = 0;
    for (int integer = 1; integer >= 0; integer--) {
        make_data(n, p, x, t, e, beta, integer);
        double cens = 0;
        for (size_t i = 0; i < n; i++)
            cens += e[i] == 0;
        const char *label = integer ? "integer-day times (tied)" : "continuous times (untied)";
        printf("\n== Cox PH, Efron ties, %s: %.1f%% censored\n", label, 100 * cens / (double)n);
        churn_model *m = NULL;
        double t0 = bench_wall(), c0 = bench_cpu();
        int rc = churn_cox_fit(&m, n, p, x, NULL, t, e, NULL, NULL);
        double ours = bench_wall() - t0, ours_cpu = bench_cpu() - c0;
        if (rc) {
            printf("ours: FAILED: %s\n", churn_last_error_message());
            status = 1;
            continue;
        }
        churn_model_params(m, coef, p);
        printf("ours:  %.3f s wall, %.3f s CPU (%d iterations), coef[0..2] = %.6f %.6f %.6f "
               "(truth %.2f %.2f %.2f)\n",
               ours, ours_cpu, churn_model_iterations(m), coef[0], coef[1], coef[2], beta[0],
               beta[1], beta[2]);
        churn_model_free(m);
        if (use_r) {
            /* R reads column-major binary files */
            for (size_t j = 0; j < p; j++)
                for (size_t i = 0; i < n; i++)
                    xc[j * n + i] = x[i * p + j];
            char px[600], pt[600], pe[600], pr[600], cmd[4000];
            snprintf(px, sizeof px, "%s/x.bin", dir);
            snprintf(pt, sizeof pt, "%s/t.bin", dir);
            snprintf(pe, sizeof pe, "%s/e.bin", dir);
            snprintf(pr, sizeof pr, "%s/r_cox.txt", dir);
            if (write_bin(px, xc, n * p) || write_bin(pt, t, n) || write_bin(pe, e, n)) {
                printf("R: cannot write the data files\n");
            } else {
                snprintf(cmd, sizeof cmd, "Rscript %s/bench_survival.R cox %s %s %s %zu %zu %s",
                         BENCH_SOURCE_DIR, px, pt, pe, n, p, pr);
                double rsecs;
                if (system(cmd) != 0 || read_r_results(pr, rcoef, p, &rsecs) != 0) {
                    printf("R: coxph failed\n");
                } else {
                    printf("R coxph: %.3f s; ratio R / ours = %.1f; max relative coefficient "
                           "difference %.2e\n",
                           rsecs, rsecs / ours, max_rel_diff(coef, rcoef, p));
                }
            }
            remove(px);
            remove(pt);
            remove(pe);
            remove(pr);
        }
        if (integer && nnaive > 0 && nnaive <= n) {
            double *nb = malloc(p * sizeof *nb), *ob = malloc(p * sizeof *ob);
            t0 = bench_wall();
            churn_model *ms = NULL;
            churn_cox_options o;
            churn_cox_options_init(&o);
            o.tol = 1e-14;
            o.max_iter = 50;
            churn_cox_fit(&ms, nnaive, p, x, NULL, t, e, NULL, &o);
            double ours_s = bench_wall() - t0;
            churn_model_params(ms, ob, p);
            churn_model_free(ms);
            t0 = bench_wall();
            naive_cox(nnaive, p, x, t, e, nb);
            double naive_s = bench_wall() - t0;
            printf("naive O(n^2) Efron Newton on the first %zu rows: %.3f s vs ours %.4f s "
                   "(ratio %.0f); max relative coefficient difference %.2e\n",
                   nnaive, naive_s, ours_s, naive_s / ours_s, max_rel_diff(ob, nb, p));
            free(nb);
            free(ob);
        }
    }
    free(x);
    free(xc);
    free(e);
    free(t);

    /* ---- Kaplan-Meier ---- */
    double *kt = malloc(nkm * sizeof *kt), *ke = malloc(nkm * sizeof *ke);
    if (!kt || !ke) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (int integer = 1; integer >= 0; integer--) {
        for (size_t i = 0; i < nkm; i++) {
            double tt = -log(unif()) * 365.0, c = unif() * 600.0;
            double obs = tt < c ? tt : c;
            kt[i] = integer ? ceil(obs) : obs;
            ke[i] = tt < c;
        }
        churn_km *km = NULL;
        double t0 = bench_wall(), c0 = bench_cpu();
        int rc = churn_km_fit(&km, nkm, kt, ke, NULL, NULL, NULL);
        double ours = bench_wall() - t0, ours_cpu = bench_cpu() - c0;
        if (rc) {
            printf("KM: FAILED: %s\n", churn_last_error_message());
            status = 1;
            continue;
        }
        double med;
        churn_km_median(km, 0, &med, NULL, NULL);
        printf("\n== Kaplan-Meier, %zu %s durations\nours:  %.3f s wall, %.3f s CPU (%zu distinct "
               "times, median %.4g)\n",
               nkm, integer ? "integer-day" : "continuous", ours, ours_cpu,
               churn_km_num_times(km, 0), med);
        churn_km_free(km);
        if (use_r) {
            char pt[600], pe[600], pr[600], cmd[4000];
            snprintf(pt, sizeof pt, "%s/kt.bin", dir);
            snprintf(pe, sizeof pe, "%s/ke.bin", dir);
            snprintf(pr, sizeof pr, "%s/r_km.txt", dir);
            if (write_bin(pt, kt, nkm) == 0 && write_bin(pe, ke, nkm) == 0) {
                snprintf(cmd, sizeof cmd, "Rscript %s/bench_survival.R km %s %s %zu %s",
                         BENCH_SOURCE_DIR, pt, pe, nkm, pr);
                double rsecs, rmed;
                if (system(cmd) != 0 || read_r_results(pr, &rmed, 1, &rsecs) != 0)
                    printf("R: survfit failed\n");
                else
                    printf("R survfit: %.3f s; ratio R / ours = %.1f; R median %.4g\n", rsecs,
                           rsecs / ours, rmed);
            }
            remove(pt);
            remove(pe);
            remove(pr);
        }
    }
    free(kt);
    free(ke);
    free(beta);
    free(coef);
    free(rcoef);
    remove(dir);
    printf("\ntargets (issue 7): Cox tied < 2 s, Cox untied < 3 s, KM 1e7 < 0.5 s\n");
    return status;
}
