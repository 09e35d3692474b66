/*
 * Lua binding speed (issue 10), the C side: the bare C call that
 * `model:score{frequency = .., recency = .., T = ..}` wraps, timed on the same
 * customers and model as bench/bench_lua.lua, which runs this program and
 * prints both numbers and their ratio (the interpreter is static, so the Lua
 * loop cannot be timed from C).
 *
 * Customers: K = 1000 histories from one formula shared with bench_lua.lua,
 * scored in turn with the published CDNOW BG/NBD parameters at a 52-week
 * horizon, one churn_btyd_score() call per customer (n = 1), as a CRM scores
 * one customer per request. Also reported: the vectorised call (n = K).
 *
 * Times are CPU time of the process (the machine is shared); the best of
 * BENCH_LUA_REPS runs (default 3) of N calls, N = argv[1] or BENCH_LUA_N
 * (default 2000000). Output lines are "key value" for the Lua driver.
 */
#include "churn.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_clock.h"

#define K 1000

static size_t env_size(const char *name, size_t def)
{
    const char *v = getenv(name);
    return v && *v ? (size_t)strtoull(v, NULL, 10) : def;
}

/* Customer i of the shared formula (bench_lua.lua: customer(i)). */
static void customer(int i, double *x, double *tx, double *T)
{
    *x = i % 30;
    *T = 10 + i % 40;
    *tx = *x > 0 ? *T * ((i * 7) % 10 + 1) / 11.0 : 0;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : env_size("BENCH_LUA_N", 2000000);
    size_t reps = env_size("BENCH_LUA_REPS", 3);
    const double params[4] = {0.2425945, 4.4136019, 0.7929199, 2.4258881};
    churn_model *m = NULL;
    if (churn_btyd_model_new(&m, CHURN_FAMILY_BGNBD, 4, params)) {
        fprintf(stderr, "bench_lua: %s\n", churn_last_error_message());
        return 1;
    }
    static double x[K], tx[K], T[K], pa[K], ex[K];
    for (int i = 0; i < K; i++)
        customer(i, &x[i], &tx[i], &T[i]);

    double best = 1e300, best_vec = 1e300, checksum = 0;
    for (size_t r = 0; r < reps; r++) {
        double sum = 0, t0 = bench_cpu();
        for (size_t i = 0; i < n; i++) {
            size_t k = i % K;
            double p, e;
            if (churn_btyd_score(m, 52.0, 1, &x[k], &tx[k], &T[k], &p, &e)) {
                fprintf(stderr, "bench_lua: %s\n", churn_last_error_message());
                return 1;
            }
            sum = sum + p + e; /* the association of the Lua loop */
        }
        double dt = bench_cpu() - t0;
        if (dt < best)
            best = dt;
        checksum = sum;

        size_t blocks = n / K ? n / K : 1;
        t0 = bench_cpu();
        for (size_t b = 0; b < blocks; b++)
            if (churn_btyd_score(m, 52.0, K, x, tx, T, pa, ex))
                return 1;
        dt = (bench_cpu() - t0) / ((double)blocks * K) * n;
        if (dt < best_vec)
            best_vec = dt;
    }
    printf("calls %zu\n", n);
    printf("c_ns_per_call %.2f\n", best / n * 1e9);
    printf("c_vector_ns_per_customer %.2f\n", best_vec / n * 1e9);
    printf("checksum %.17g\n", checksum);
    churn_model_free(m);
    return 0;
}
