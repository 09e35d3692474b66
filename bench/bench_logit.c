/*
 * Speed of churn_logit_fit on a synthetic dense problem (default 1,000,000 x 30),
 * L2 penalty with scikit-learn's default C = 1 (lambda = 1/n on glmnet's scale).
 *
 * usage: bench_logit [n [p [repeat [outdir]]]]   (or BENCH_LOGIT_N / BENCH_LOGIT_P)
 *
 * Generates the data once (deterministic), writes outdir/X.npy (n x p, C order)
 * and outdir/y.npy so bench/bench_logit.py can time scikit-learn on the very same
 * numbers, then times our fit `repeat` times and prints one JSON object on stdout.
 */
#include "churn.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_clock.h"

static uint64_t rng_state = 20240601;

static uint64_t next_u64(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double uniform(void) { return ((double)(next_u64() >> 11) + 0.5) * 0x1.0p-53; }

/* Box-Muller, one value per call (simple and reproducible) */
static double normal(void)
{
    return sqrt(-2 * log(uniform())) * cos(6.283185307179586 * uniform());
}

static int write_npy(const char *path, const double *data, size_t n, size_t p, int two_d)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    char dict[128];
    if (two_d)
        snprintf(dict, sizeof dict, "{'descr': '<f8', 'fortran_order': False, 'shape': (%zu, %zu), }",
                 n, p);
    else
        snprintf(dict, sizeof dict, "{'descr': '<f8', 'fortran_order': False, 'shape': (%zu,), }",
                 n);
    size_t len = strlen(dict), total = 10 + len + 1;
    size_t pad = (64 - total % 64) % 64;
    uint16_t hlen = (uint16_t)(len + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    unsigned char hl[2] = {(unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};
    fwrite(hl, 1, 2, f);
    fwrite(dict, 1, len, f);
    for (size_t i = 0; i < pad; i++)
        fputc(' ', f);
    fputc('\n', f);
    size_t cnt = two_d ? n * p : n;
    int ok = fwrite(data, sizeof(double), cnt, f) == cnt;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

int main(int argc, char **argv)
{
    size_t n = 1000000, p = 30;
    int repeat = 3;
    const char *outdir = "/tmp";
    if (getenv("BENCH_LOGIT_N"))
        n = (size_t)strtoull(getenv("BENCH_LOGIT_N"), NULL, 10);
    if (getenv("BENCH_LOGIT_P"))
        p = (size_t)strtoull(getenv("BENCH_LOGIT_P"), NULL, 10);
    if (argc > 1)
        n = (size_t)strtoull(argv[1], NULL, 10);
    if (argc > 2)
        p = (size_t)strtoull(argv[2], NULL, 10);
    if (argc > 3)
        repeat = atoi(argv[3]);
    if (argc > 4)
        outdir = argv[4];
    if (n < 10 || p < 1 || repeat < 1) {
        fprintf(stderr, "usage: bench_logit [n [p [repeat [outdir]]]]\n");
        return 2;
    }
    double *x = malloc(n * p * sizeof *x), *y = malloc(n * sizeof *y);
    double *beta = malloc(p * sizeof *beta);
    if (!x || !y || !beta) {
        fprintf(stderr, "bench_logit: out of memory\n");
        return 1;
    }
    /* correlated features (a shared factor), uneven scales and means; the true
     * coefficients apply to the unscaled factor draws z */
    for (size_t j = 0; j < p; j++)
        beta[j] = 0.6 * sin(1.0 + (double)j) / sqrt((double)p) * 3;
    for (size_t i = 0; i < n; i++) {
        double common = normal(), eta = -0.8;
        for (size_t j = 0; j < p; j++) {
            double z = 0.8 * normal() + 0.6 * common;
            eta += beta[j] * z;
            x[i * p + j] = z * (1.0 + (double)(j % 4)) + (double)(j % 3);
        }
        y[i] = uniform() < 1.0 / (1.0 + exp(-eta)) ? 1.0 : 0.0;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/bench_logit_X.npy", outdir);
    if (write_npy(path, x, n, p, 1) != 0) {
        fprintf(stderr, "bench_logit: cannot write %s\n", path);
        return 1;
    }
    snprintf(path, sizeof path, "%s/bench_logit_y.npy", outdir);
    if (write_npy(path, y, n, 1, 0) != 0) {
        fprintf(stderr, "bench_logit: cannot write %s\n", path);
        return 1;
    }
    churn_logit_options o;
    churn_logit_options_init(&o);
    o.penalty = CHURN_LOGIT_PENALTY_L2;
    o.lambda = 1.0 / (double)n; /* scikit-learn C = 1 */
    double *secs = malloc((size_t)repeat * sizeof *secs);
    double *cpu = malloc((size_t)repeat * sizeof *cpu);
    churn_model *m = NULL;
    for (int r = 0; r < repeat; r++) {
        churn_model_free(m);
        m = NULL;
        double t0 = bench_wall(), c0 = bench_cpu();
        int rc = churn_logit_fit(&m, x, n, p, CHURN_LOGIT_ROW_MAJOR, 0, y, NULL, NULL, &o);
        secs[r] = bench_wall() - t0;
        cpu[r] = bench_cpu() - c0;
        if (rc) {
            fprintf(stderr, "bench_logit: fit failed: %s\n", churn_last_error_message());
            return 1;
        }
    }
    size_t k = churn_model_num_params(m);
    double *b = malloc(k * sizeof *b);
    churn_model_params(m, b, k);
    const char *core = getenv("OPENBLAS_CORETYPE");
    printf("{\"n\": %zu, \"p\": %zu, \"lambda\": %.17g, \"seconds\": [", n, p, o.lambda);
    for (int r = 0; r < repeat; r++)
        printf("%s%.6f", r ? ", " : "", secs[r]);
    printf("], \"cpu_seconds\": [");
    for (int r = 0; r < repeat; r++)
        printf("%s%.6f", r ? ", " : "", cpu[r]);
    printf("], \"iterations\": %d, \"converged\": %d, \"openblas_coretype\": %s%s%s, "
           "\"params\": [",
           churn_model_iterations(m), churn_model_converged(m), core ? "\"" : "",
           core ? core : "null", core ? "\"" : "");
    for (size_t j = 0; j < k; j++)
        printf("%s%.17g", j ? ", " : "", b[j]);
    printf("]}\n");
    churn_model_free(m);
    free(b);
    free(secs);
    free(cpu);
    free(x);
    free(y);
    free(beta);
    return 0;
}
