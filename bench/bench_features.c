/*
 * Bench of churn_customers_build (issue 3): N in-memory transactions over C
 * customers, generated here, against two floors measured in the same run:
 * a plain pass summing the amounts, and a per-customer sum (the cheapest
 * possible group-by).
 *
 * usage: bench_features [N [C [DIR]]]
 *   N    transactions (default 10000000; env BENCH_TX)
 *   C    customers (default 1000000; env BENCH_CUSTOMERS)
 *   DIR  when given, write the generated data and the table's core columns
 *        as raw little-endian arrays there (for bench_features.py's pandas run)
 * env BENCH_SHUFFLE=1: rows in random order instead of time order.
 * Prints "key value" lines.
 */
#include "churn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench_clock.h"

static uint64_t rng = 0x853c49e6748fea9bULL;
static inline uint64_t next_u64(void)
{
    /* xorshift64* */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ULL;
}
static inline double next_unit(void) { return (double)(next_u64() >> 11) * 0x1.0p-53; }

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static long current_rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * 4;
}

/* Peak RSS since the last reset_peak(): VmHWM, which writing "5" to
 * /proc/self/clear_refs resets (Linux >= 4.0). -1 when unavailable. */
static long hwm_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    long kb = -1;
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

static int reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f)
        return -1;
    int ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static int write_raw(const char *dir, const char *name, const void *p, size_t bytes)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, bytes, f) != bytes) {
        fprintf(stderr, "cannot write %s\n", path);
        if (f)
            fclose(f);
        return 1;
    }
    return fclose(f) != 0;
}

static size_t env_size(const char *name, size_t dflt)
{
    const char *s = getenv(name);
    return s && *s ? (size_t)strtod(s, NULL) : dflt;
}

int main(int argc, char **argv)
{
    size_t N = argc > 1 ? (size_t)strtod(argv[1], NULL) : env_size("BENCH_TX", 10000000);
    size_t C = argc > 2 ? (size_t)strtod(argv[2], NULL) : env_size("BENCH_CUSTOMERS", 1000000);
    const char *dir = argc > 3 ? argv[3] : NULL;
    int shuffle = getenv("BENCH_SHUFFLE") && atoi(getenv("BENCH_SHUFFLE"));
    if (N == 0 || C == 0 || C > N) {
        fprintf(stderr, "need 0 < customers <= transactions\n");
        return 2;
    }

    /* Two years of purchases: customer uniform, time increasing with the row
     * (an append-only log), amounts log-uniform between 5 and 500. */
    churn_txlog *log = NULL;
    if (churn_txlog_new(&log))
        return 1;
    const double t0 = 1609459200.0, span = 2 * 365.0 * 86400.0; /* from 2021-01-01 */
    const size_t chunk = 1u << 20;
    int64_t *ids = malloc(chunk * sizeof *ids);
    double *times = malloc(chunk * sizeof *times), *amounts = malloc(chunk * sizeof *amounts);
    if (!ids || !times || !amounts)
        return 1;
    /* Every customer appears at least once: the first C rows take them in
     * a random order. */
    uint32_t *perm = malloc(C * sizeof *perm);
    for (size_t c = 0; c < C; c++)
        perm[c] = (uint32_t)c;
    for (size_t c = C; c > 1; c--) {
        size_t j = next_u64() % c;
        uint32_t x = perm[c - 1];
        perm[c - 1] = perm[j];
        perm[j] = x;
    }
    for (size_t done = 0; done < N;) {
        size_t m = N - done < chunk ? N - done : chunk;
        for (size_t i = 0; i < m; i++) {
            size_t row = done + i;
            ids[i] = row < C ? perm[row] : (int64_t)(next_u64() % C);
            double frac = shuffle ? next_unit() : (double)row / (double)N;
            times[i] = floor(t0 + frac * span);
            amounts[i] = floor(5.0 * exp(next_unit() * 4.6051702) * 100) / 100;
        }
        if (churn_txlog_append_arrays(log, m, ids, times, amounts, NULL, NULL)) {
            fprintf(stderr, "append: %s\n", churn_last_error_message());
            return 1;
        }
        done += m;
    }
    free(ids);
    free(times);
    free(amounts);
    free(perm);

    const double *amt = churn_txlog_amounts(log);
    const uint32_t *cust = churn_txlog_customers(log);
    long rss_log = current_rss_kb();

    /* Floor 1: one pass summing the amounts. */
    double best_sum = 1e30, cpu_sum = 1e30, total = 0;
    for (int rep = 0; rep < 5; rep++) {
        double s0 = bench_wall(), c0 = bench_cpu(), s = 0;
        for (size_t i = 0; i < N; i++)
            s += amt[i];
        double dt = bench_wall() - s0, dc = bench_cpu() - c0;
        if (dt < best_sum)
            best_sum = dt;
        if (dc < cpu_sum)
            cpu_sum = dc;
        total = s;
    }
    /* Floor 2: per-customer sums (the cheapest group-by). */
    double *per = calloc(C, sizeof *per), best_group = 1e30, cpu_group = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        memset(per, 0, C * sizeof *per);
        double s0 = bench_wall(), c0 = bench_cpu();
        for (size_t i = 0; i < N; i++)
            per[cust[i]] += amt[i];
        double dt = bench_wall() - s0, dc = bench_cpu() - c0;
        if (dt < best_group)
            best_group = dt;
        if (dc < cpu_group)
            cpu_group = dc;
    }
    free(per);

    long peak_before = peak_rss_kb();
    churn_customers *t = NULL;
    double best_build = 1e30, cpu_build = 1e30;
    int reps = N >= 5000000 ? 3 : 5;
    for (int rep = 0; rep < reps; rep++) {
        churn_customers_free(t);
        t = NULL;
        double s0 = bench_wall(), c0 = bench_cpu();
        if (churn_customers_build(&t, log, NULL)) {
            fprintf(stderr, "build: %s\n", churn_last_error_message());
            return 1;
        }
        double dt = bench_wall() - s0, dc = bench_cpu() - c0;
        if (dt < best_build)
            best_build = dt;
        if (dc < cpu_build)
            cpu_build = dc;
    }
    long peak_after = peak_rss_kb();
    size_t rows = churn_customers_num_rows(t), ncols = churn_customers_num_columns(t);

    /* The same four columns pandas computes: option `columns` (one pass when
     * the log is in time order, grouping otherwise). Timed after the full
     * table so that its peak RSS above is the full build's. */
    /* keep the full table's four columns, free the rest: the 4-column build's
     * own peak is then measured from the log alone */
    double *ref4 = malloc(4 * (rows ? rows : 1) * sizeof *ref4);
    const char *core_names[] = {"frequency", "recency", "T", "monetary_value"};
    for (size_t j = 0; j < 4; j++)
        memcpy(ref4 + j * rows, churn_customers_column(t, core_names[j]), rows * sizeof *ref4);
    if (!dir) { /* the raw output below needs the table's ids */
        churn_customers_free(t);
        t = NULL;
    }
    long rss_before_core = current_rss_kb();
    int peak_reset = reset_peak() == 0;
    churn_customer_options co = CHURN_CUSTOMER_OPTIONS_INIT;
    co.columns = "frequency,recency,T,monetary_value";
    churn_customers *ct = NULL;
    double best_core = 1e30, cpu_core = 1e30;
    for (int rep = 0; rep < reps + 2; rep++) {
        churn_customers_free(ct);
        ct = NULL;
        double s0 = bench_wall(), c0 = bench_cpu();
        if (churn_customers_build(&ct, log, &co)) {
            fprintf(stderr, "build (core columns): %s\n", churn_last_error_message());
            return 1;
        }
        double dt = bench_wall() - s0, dc = bench_cpu() - c0;
        if (dt < best_core)
            best_core = dt;
        if (dc < cpu_core)
            cpu_core = dc;
    }
    long peak_core = peak_reset ? hwm_kb() : -1;
    for (size_t j = 0; j < 4; j++) {
        const double *a = churn_customers_column_at(ct, j);
        const double *b = ref4 + j * rows;
        if (churn_customers_num_rows(ct) != rows || memcmp(a, b, rows * sizeof *a) != 0) {
            fprintf(stderr, "core column %s differs from the full table's\n",
                    churn_customers_column_name(ct, j));
            return 1;
        }
    }
    churn_customers_free(ct);
    free(ref4);

    printf("transactions %zu\n", N);
    printf("customers %zu\n", C);
    printf("rows %zu\n", rows);
    printf("columns %zu\n", ncols);
    printf("order %s\n", shuffle ? "random" : "time");
    printf("checksum %.6f\n", total);
    printf("floor_sum_seconds %.6f\n", best_sum);
    printf("floor_groupsum_seconds %.6f\n", best_group);
    printf("build_seconds %.6f\n", best_build);
    printf("floor_sum_cpu_seconds %.6f\n", cpu_sum);
    printf("floor_groupsum_cpu_seconds %.6f\n", cpu_group);
    printf("build_cpu_seconds %.6f\n", cpu_build);
    printf("build_core_seconds %.6f\n", best_core);
    printf("build_core_cpu_seconds %.6f\n", cpu_core);
    printf("rss_before_core_kb %ld\n", rss_before_core);
    printf("peak_rss_core_kb %ld\n", peak_core);
    printf("build_over_floor_sum %.2f\n", best_build / best_sum);
    printf("build_over_floor_groupsum %.2f\n", best_build / best_group);
    size_t row_bytes = sizeof(uint32_t) + 2 * sizeof(double) +
                       (churn_txlog_quantities(log) ? sizeof(double) : 0) +
                       (churn_txlog_products(log) ? sizeof(uint32_t) : 0);
    printf("log_bytes %zu\n", N * row_bytes);
    printf("table_bytes %zu\n", rows * ncols * sizeof(double));
    printf("rss_after_log_kb %ld\n", rss_log);
    printf("peak_rss_before_build_kb %ld\n", peak_before);
    printf("peak_rss_kb %ld\n", peak_after);

    if (dir) {
        /* Raw data for the pandas run, and our core columns to check it. */
        int bad = write_raw(dir, "cust.u32", cust, N * sizeof *cust) ||
                  write_raw(dir, "time.f64", churn_txlog_times(log), N * sizeof(double)) ||
                  write_raw(dir, "amount.f64", amt, N * sizeof(double));
        int64_t *rid = malloc(rows * sizeof *rid);
        for (size_t r = 0; r < rows; r++)
            rid[r] = strtoll(churn_customers_id(t, r), NULL, 10);
        bad |= write_raw(dir, "ids.i64", rid, rows * sizeof *rid);
        free(rid);
        const char *core[] = {"frequency", "recency", "T", "monetary_value"};
        char name[64];
        for (int j = 0; j < 4; j++) {
            snprintf(name, sizeof name, "%s.f64", core[j]);
            bad |= write_raw(dir, name, churn_customers_column(t, core[j]), rows * sizeof(double));
        }
        /* customer index -> original id, for the raw cust column */
        int64_t *cid = malloc(churn_txlog_num_customers(log) * sizeof *cid);
        for (size_t c = 0; c < churn_txlog_num_customers(log); c++)
            cid[c] = strtoll(churn_txlog_customer_id(log, c), NULL, 10);
        bad |= write_raw(dir, "custid.i64", cid, churn_txlog_num_customers(log) * sizeof *cid);
        free(cid);
        if (bad)
            return 1;
    }
    churn_customers_free(t);
    churn_txlog_free(log);
    return 0;
}
