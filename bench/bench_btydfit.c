/*
 * BTYD fits (issue 22): the C side of bench/bench_btydfit.py. Reads a customer
 * table written by `churn features` (columns frequency, recency, T,
 * monetary_value, found by header name), fits one family `reps` times and
 * prints one JSON line: the minimum CPU seconds of one fit ("cpu") and those of
 * the first ("first": it also pays for first touching the freshly mapped
 * pages, costly on a virtual machine), the log-likelihood,
 * the parameters and the iterations. Also times the floor: one pass over the
 * same columns (a sum of x log(T) + t_x, which the compiler cannot drop).
 *
 * usage: bench_btydfit customers.csv bgnbd|pnbd|gammagamma|floor [reps]
 * CPU time is this thread's (the fits are single-threaded).
 */
#include <churn.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_clock.h"

static double cpu_now(void) { return bench_clock(CLOCK_THREAD_CPUTIME_ID); }

typedef struct table {
    size_t n, cap;
    double *x, *tx, *T, *m;
} table;

static int push(table *t, double x, double tx, double T, double m)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 4096;
        double *a = realloc(t->x, cap * sizeof *a), *b, *c, *d;
        if (!a)
            return -1;
        t->x = a;
        if (!(b = realloc(t->tx, cap * sizeof *b)))
            return -1;
        t->tx = b;
        if (!(c = realloc(t->T, cap * sizeof *c)))
            return -1;
        t->T = c;
        if (!(d = realloc(t->m, cap * sizeof *d)))
            return -1;
        t->m = d;
        t->cap = cap;
    }
    t->x[t->n] = x;
    t->tx[t->n] = tx;
    t->T[t->n] = T;
    t->m[t->n] = m;
    t->n++;
    return 0;
}

/* The 0-based positions of the four columns in the header line. */
static int read_table(const char *path, table *t)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    static char line[1 << 16];
    int col[4] = {-1, -1, -1, -1};
    static const char *const want[4] = {"frequency", "recency", "T", "monetary_value"};
    if (!fgets(line, sizeof line, fp)) {
        fclose(fp);
        return -1;
    }
    line[strcspn(line, "\r\n")] = '\0';
    int c = 0;
    for (char *tok = strtok(line, ","); tok; tok = strtok(NULL, ","), c++)
        for (int j = 0; j < 4; j++)
            if (strcmp(tok, want[j]) == 0)
                col[j] = c;
    if (col[0] < 0 || col[1] < 0 || col[2] < 0) {
        fclose(fp);
        return -1;
    }
    while (fgets(line, sizeof line, fp)) {
        double v[4] = {0, 0, 0, NAN};
        char *p = line;
        for (int k = 0; *p && *p != '\n'; k++) {
            char *end = p + strcspn(p, ",\n");
            for (int j = 0; j < 4; j++)
                if (col[j] == k)
                    v[j] = strtod(p, NULL);
            p = *end == ',' ? end + 1 : end;
        }
        if (push(t, v[0], v[1], v[2], v[3]))
            return -1;
    }
    fclose(fp);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s customers.csv bgnbd|pnbd|gammagamma|floor [reps]\n", argv[0]);
        return 2;
    }
    table t = {0};
    if (read_table(argv[1], &t)) {
        fprintf(stderr, "%s: cannot read frequency, recency, T from %s\n", argv[0], argv[1]);
        return 1;
    }
    int reps = argc > 3 ? atoi(argv[3]) : 3;
    const char *what = argv[2];
    double best = INFINITY, first = NAN, ll = NAN, par[4] = {NAN, NAN, NAN, NAN};
    int iters = 0, np = 4;
    size_t nfit = t.n;
    double *x = t.x, *m = t.m;
    if (strcmp(what, "gammagamma") == 0) {
        /* repeat buyers with a known spend, as lifetimes' GammaGammaFitter is given */
        x = malloc(t.n * sizeof *x);
        m = malloc(t.n * sizeof *m);
        nfit = 0;
        for (size_t i = 0; i < t.n; i++)
            if (t.x[i] > 0 && t.m[i] > 0) {
                x[nfit] = t.x[i];
                m[nfit++] = t.m[i];
            }
        np = 3;
    }
    for (int r = 0; r < reps; r++) {
        churn_model *mod = NULL;
        int rc = 0;
        double c0 = cpu_now();
        if (strcmp(what, "bgnbd") == 0)
            rc = churn_btyd_fit(&mod, CHURN_FAMILY_BGNBD, t.n, t.x, t.tx, t.T, NULL, NULL);
        else if (strcmp(what, "pnbd") == 0)
            rc = churn_btyd_fit(&mod, CHURN_FAMILY_PNBD, t.n, t.x, t.tx, t.T, NULL, NULL);
        else if (strcmp(what, "gammagamma") == 0)
            rc = churn_gammagamma_fit(&mod, nfit, x, m, NULL, NULL);
        else if (strcmp(what, "floor") == 0) {
            volatile double s = 0;
            double acc = 0;
            for (size_t i = 0; i < t.n; i++)
                acc += t.x[i] * log(t.T[i]) + t.tx[i];
            s = acc;
            ll = s;
        } else {
            fprintf(stderr, "%s: unknown fit '%s'\n", argv[0], what);
            return 2;
        }
        double c1 = cpu_now() - c0;
        if (rc) {
            fprintf(stderr, "%s: %s fit failed: %s\n", argv[0], what, churn_last_error_message());
            return 1;
        }
        if (r == 0)
            first = c1;
        if (c1 < best)
            best = c1;
        if (mod) {
            ll = churn_model_loglik(mod);
            churn_model_params(mod, par, (size_t)np);
            iters = churn_model_iterations(mod);
            churn_model_free(mod);
        }
    }
    printf("{\"fit\": \"%s\", \"n\": %zu, \"cpu\": %.6f, \"first\": %.6f, \"loglik\": %.17g, "
           "\"params\": [", what, nfit, best, first, ll);
    for (int j = 0; j < np && isfinite(par[0]); j++)
        printf("%s%.17g", j ? ", " : "", par[j]);
    printf("], \"iterations\": %d}\n", iters);
    return 0;
}
