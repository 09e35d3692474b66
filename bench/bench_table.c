/*
 * bench_table: time the `churn` command's customer-table reader (cli_table_read of
 * bindings/cli/cli.c, compiled into this program) on one file, and its floor.
 *
 *   bench_table FILE [REPEATS]
 *
 * Prints one line per repeat and a final machine-readable line
 *   cpu=<best CPU s> wall=<best wall s> floor_cpu=<best CPU s> rows=<n> cols=<k> bytes=<size>
 * used by bench/bench_table.py. The floor is a single pass over the same bytes: read in
 * blocks of a megabyte and count the fields (commas and line breaks), with nothing parsed
 * or stored. CPU time is the whole process's (user + system), which varies less than wall
 * time on a shared machine.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench_clock.h"

/* One pass over the file's bytes: the fields it holds. */
static size_t floor_pass(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    static char buf[1 << 20];
    size_t n, fields = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        for (size_t i = 0; i < n; i++)
            fields += buf[i] == ',' || buf[i] == '\n';
    fclose(f);
    return fields;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_table FILE [REPEATS]\n");
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
    double best = -1, best_wall = -1, best_floor = -1, sum = 0;
    size_t rows = 0, cols = 0, fields = 0;
    for (int k = 0; k < repeats; k++) {
        cli_table t;
        double t0 = bench_wall(), c0 = bench_cpu();
        if (cli_table_read("bench", argv[1], NULL, &t) != CLI_EXIT_OK)
            return 1;
        double dt = bench_wall() - t0, dc = bench_cpu() - c0;
        rows = t.nrows;
        cols = t.ncols;
        for (size_t j = 0; j < t.ncols; j++) /* a checksum, so that nothing is optimised out */
            if ((int)j != t.id_col && t.nrows && t.cols[j][0] == t.cols[j][0])
                sum += t.cols[j][0];
        cli_table_free(&t);
        c0 = bench_cpu();
        fields = floor_pass(argv[1]);
        double df = bench_cpu() - c0;
        printf("run %d: reader %.3f s CPU (%.3f s wall), floor %.3f s CPU\n", k + 1, dc, dt, df);
        if (best < 0 || dc < best)
            best = dc;
        if (best_wall < 0 || dt < best_wall)
            best_wall = dt;
        if (best_floor < 0 || df < best_floor)
            best_floor = df;
    }
    printf("cpu=%.6f wall=%.6f floor_cpu=%.6f rows=%zu cols=%zu fields=%zu bytes=%lld check=%g\n",
           best, best_wall, best_floor, rows, cols, fields, (long long)st.st_size, sum);
    return 0;
}
