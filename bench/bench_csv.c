/*
 * bench_csv: time churn_txlog_read_csv on one file.
 *
 *   bench_csv FILE [REPEATS]
 *
 * Prints one line per repeat and a final machine-readable line
 *   seconds=<best wall> cpu=<best CPU> rows=<n> customers=<k> bytes=<file size>
 * used by bench/bench_csv.py. Default CSV options (header customer_id,date,amount).
 * CPU time (user + system of this process) is reported too: on a shared
 * machine it varies less than wall time.
 */
#include "churn.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "bench_clock.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_csv FILE [REPEATS]\n");
        return 2;
    }
    int repeats = argc > 2 ? atoi(argv[2]) : 1;
    if (repeats < 1)
        repeats = 1;
    struct stat st;
    if (stat(argv[1], &st) != 0) {
        perror(argv[1]);
        return 1;
    }
    double best = -1, best_cpu = -1;
    size_t rows = 0, customers = 0;
    for (int k = 0; k < repeats; k++) {
        churn_txlog *log = NULL;
        if (churn_txlog_new(&log) != CHURN_OK)
            return 1;
        double t0 = bench_wall(), c0 = bench_cpu();
        int rc = churn_txlog_read_csv(log, argv[1], NULL);
        double dt = bench_wall() - t0;
        double dc = bench_cpu() - c0;
        if (rc != CHURN_OK) {
            fprintf(stderr, "bench_csv: %s\n", churn_last_error_message());
            churn_txlog_free(log);
            return 1;
        }
        rows = churn_txlog_num_transactions(log);
        customers = churn_txlog_num_customers(log);
        churn_txlog_free(log);
        printf("run %d: %.3f s (CPU %.3f s)\n", k + 1, dt, dc);
        if (best < 0 || dt < best)
            best = dt;
        if (best_cpu < 0 || dc < best_cpu)
            best_cpu = dc;
    }
    printf("seconds=%.6f cpu=%.6f rows=%zu customers=%zu bytes=%lld\n", best, best_cpu, rows,
           customers, (long long)st.st_size);
    return 0;
}
