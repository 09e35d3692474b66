/* Survival models: Kaplan-Meier, log-rank, Cox PH, AFT (survreg), concordance.
 * References: R 4.2.2 / survival 3.5.3 output in ../shared/data/survival
 * (see its README); closed forms and brute-force computations otherwise. */
#include "churn.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

/* ---- a small CSV reader for the reference files ---------------------------- */

typedef struct table {
    size_t nrow, ncol;
    char **names;
    char **cells; /* nrow * ncol strings */
} table;

static void table_free(table *t)
{
    for (size_t j = 0; j < t->ncol; j++)
        free(t->names[j]);
    for (size_t i = 0; i < t->nrow * t->ncol; i++)
        free(t->cells[i]);
    free(t->names);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

/* Split one line into fields (double quotes stripped). Returns the count. */
static size_t split_line(const char *line, char **out, size_t max)
{
    size_t n = 0;
    const char *p = line;
    char buf[256];
    for (;;) {
        size_t k = 0;
        int q = 0;
        while (*p && (q || (*p != ',' && *p != '\n' && *p != '\r'))) {
            if (*p == '"')
                q = !q;
            else if (k + 1 < sizeof buf)
                buf[k++] = *p;
            p++;
        }
        buf[k] = '\0';
        if (n < max)
            out[n] = strdup(buf);
        n++;
        if (*p != ',')
            break;
        p++;
    }
    return n;
}

static int table_read(table *t, const char *path)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[4096];
    char *fields[64];
    if (!fgets(line, sizeof line, f)) {
        fclose(f);
        return -1;
    }
    t->ncol = split_line(line, fields, 64);
    t->names = calloc(t->ncol, sizeof(char *));
    for (size_t j = 0; j < t->ncol; j++)
        t->names[j] = fields[j];
    size_t cap = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '\n' || line[0] == '\0')
            continue;
        size_t n = split_line(line, fields, 64);
        if (n != t->ncol) {
            for (size_t j = 0; j < n && j < 64; j++)
                free(fields[j]);
            continue;
        }
        if (t->nrow == cap) {
            cap = cap ? cap * 2 : 256;
            t->cells = realloc(t->cells, cap * t->ncol * sizeof(char *));
        }
        for (size_t j = 0; j < n; j++)
            t->cells[t->nrow * t->ncol + j] = fields[j];
        t->nrow++;
    }
    fclose(f);
    return 0;
}

static size_t table_col(const table *t, const char *name)
{
    for (size_t j = 0; j < t->ncol; j++)
        if (strcmp(t->names[j], name) == 0)
            return j;
    printf("\n  no column '%s'\n", name);
    CU_FAIL_FATAL("missing column");
    return 0;
}

static const char *table_str(const table *t, size_t i, size_t j) { return t->cells[i * t->ncol + j]; }

static double table_num(const table *t, size_t i, size_t j)
{
    const char *s = table_str(t, i, j);
    if (!*s || strcmp(s, "NA") == 0)
        return NAN;
    return strtod(s, NULL);
}

/* The value in column `val` of the row whose column `key` equals `k` (and
 * whose column `key2` equals `k2` when key2 is not NULL). */
static double lookup(const table *t, const char *key, const char *k, const char *key2,
                     const char *k2, const char *val)
{
    size_t a = table_col(t, key), c = table_col(t, val), b = key2 ? table_col(t, key2) : 0;
    for (size_t i = 0; i < t->nrow; i++)
        if (strcmp(table_str(t, i, a), k) == 0 && (!key2 || strcmp(table_str(t, i, b), k2) == 0))
            return table_num(t, i, c);
    printf("\n  no row %s=%s %s=%s\n", key, k, key2 ? key2 : "", k2 ? k2 : "");
    return NAN;
}

/* The lung data: time, event (status - 1), age, sex, ph.ecog. `cc` = the
 * complete cases used by the Cox fits (lung_cox_cc.csv). */
typedef struct lung {
    size_t n;
    double *time, *event, *x; /* x: n*3 row-major age, sex, ph.ecog */
    int64_t *sex;
} lung;

static void lung_free(lung *l)
{
    free(l->time);
    free(l->event);
    free(l->x);
    free(l->sex);
}

static int lung_read(lung *l, const char *file, const char *test)
{
    memset(l, 0, sizeof *l);
    char rel[128];
    snprintf(rel, sizeof rel, "survival/%s", file);
    const char *path = churn_test_data_path(rel);
    if (!path) {
        churn_test_skip(test, "../shared/data/survival is absent");
        return -1;
    }
    table t;
    if (table_read(&t, path) != 0) {
        CU_FAIL("cannot read the lung data");
        return -1;
    }
    size_t ct = table_col(&t, "time"), cs = table_col(&t, "status"), ca = table_col(&t, "age");
    size_t cx = table_col(&t, "sex"), ce = table_col(&t, "ph.ecog");
    l->n = t.nrow;
    l->time = malloc(l->n * sizeof(double));
    l->event = malloc(l->n * sizeof(double));
    l->x = malloc(3 * l->n * sizeof(double));
    l->sex = malloc(l->n * sizeof(int64_t));
    for (size_t i = 0; i < l->n; i++) {
        l->time[i] = table_num(&t, i, ct);
        l->event[i] = table_num(&t, i, cs) - 1; /* R's 1 = censored, 2 = dead */
        l->x[3 * i] = table_num(&t, i, ca);
        l->x[3 * i + 1] = table_num(&t, i, cx);
        l->x[3 * i + 2] = table_num(&t, i, ce);
        l->sex[i] = (int64_t)table_num(&t, i, cx);
    }
    table_free(&t);
    return 0;
}

static int ref_table(table *t, const char *file, const char *test)
{
    char rel[128];
    snprintf(rel, sizeof rel, "survival/%s", file);
    const char *path = churn_test_data_path(rel);
    if (!path) {
        churn_test_skip(test, "../shared/data/survival is absent");
        return -1;
    }
    if (table_read(t, path) != 0) {
        CU_FAIL("cannot read a reference file");
        return -1;
    }
    return 0;
}

static const char *const lung_names[] = {"age", "sex", "ph.ecog"};

/* ---- Kaplan-Meier ------------------------------------------------------------ */

/* Compare curve g of km with the rows of `ref` (rows [r0, r0 + nt)). */
static void check_km_rows(const churn_km *km, size_t g, const table *ref, size_t r0, size_t nt,
                          int has_censor_cols)
{
    size_t n = churn_km_num_times(km, g);
    CU_ASSERT_EQUAL_FATAL(n, nt);
    double *col[10];
    for (int c = 0; c < 10; c++) {
        col[c] = malloc(n * sizeof(double));
        CU_ASSERT_EQUAL(churn_km_column(km, g, c, col[c], n), CHURN_OK);
    }
    size_t ct = table_col(ref, "time"), cr = table_col(ref, "n.risk"),
           ce = table_col(ref, "n.event"), cs = table_col(ref, "surv"),
           cse = table_col(ref, "std.err"), cl = table_col(ref, "lower"),
           cu = table_col(ref, "upper");
    int bad = 0;
    for (size_t k = 0; k < n && !bad; k++) {
        size_t i = r0 + k;
        bad |= !churn_test_close(col[CHURN_KM_TIME][k], table_num(ref, i, ct), 0, "time",
                                 __FILE__, __LINE__);
        bad |= col[CHURN_KM_N_RISK][k] != table_num(ref, i, cr);
        bad |= col[CHURN_KM_N_EVENT][k] != table_num(ref, i, ce);
        bad |= !churn_test_close(col[CHURN_KM_SURV][k], table_num(ref, i, cs), 1e-9, "surv",
                                 __FILE__, __LINE__);
        bad |= !churn_test_close(col[CHURN_KM_STD_ERR][k], table_num(ref, i, cse), 1e-9,
                                 "std.err", __FILE__, __LINE__);
        bad |= !churn_test_close(col[CHURN_KM_LOWER][k], table_num(ref, i, cl), 1e-9, "lower",
                                 __FILE__, __LINE__);
        bad |= !churn_test_close(col[CHURN_KM_UPPER][k], table_num(ref, i, cu), 1e-9, "upper",
                                 __FILE__, __LINE__);
        if (has_censor_cols) {
            bad |= col[CHURN_KM_N_CENSOR][k] != table_num(ref, i, table_col(ref, "n.censor"));
            bad |= !churn_test_close(col[CHURN_KM_CUMHAZ][k],
                                     table_num(ref, i, table_col(ref, "cumhaz")), 1e-9, "cumhaz",
                                     __FILE__, __LINE__);
        }
        if (bad)
            printf("\n  first mismatch at curve %zu row %zu\n", g, k);
    }
    CU_ASSERT_FALSE(bad);
    for (int c = 0; c < 10; c++)
        free(col[c]);
}

static void test_km_overall(void)
{
    lung l;
    table ref;
    if (lung_read(&l, "lung.csv", "km overall") != 0)
        return;
    if (ref_table(&ref, "km_lung.csv", "km overall") != 0) {
        lung_free(&l);
        return;
    }
    churn_km *km = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_km_fit(&km, l.n, l.time, l.event, NULL, NULL, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(churn_km_num_groups(km), 1);
    check_km_rows(km, 0, &ref, 0, ref.nrow, 1);
    /* Same curve through the weighted (general) path with unit weights. */
    double *w = malloc(l.n * sizeof(double));
    for (size_t i = 0; i < l.n; i++)
        w[i] = 1.0;
    churn_km *km2 = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_km_fit(&km2, l.n, l.time, l.event, w, NULL, NULL), CHURN_OK);
    check_km_rows(km2, 0, &ref, 0, ref.nrow, 1);
    /* and the non-integer path: times / 7 (weeks) give the same survival */
    double *tw = malloc(l.n * sizeof(double));
    for (size_t i = 0; i < l.n; i++)
        tw[i] = l.time[i] / 7.0 + 0.5;
    churn_km *km3 = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_km_fit(&km3, l.n, tw, l.event, NULL, NULL, NULL), CHURN_OK);
    size_t nt = churn_km_num_times(km3, 0);
    CU_ASSERT_EQUAL(nt, ref.nrow);
    double *s = malloc(nt * sizeof(double));
    churn_km_column(km3, 0, CHURN_KM_SURV, s, nt);
    for (size_t k = 0; k < nt && k < ref.nrow; k++)
        CT_CLOSE(s[k], table_num(&ref, k, table_col(&ref, "surv")), 1e-12);
    free(s);
    free(tw);
    free(w);

    /* Summary (km_lung_summary.txt): median 310 (285, 363); rmean to the last
     * time 376.2747461478497, se 19.7077914213399. */
    double med, lo, hi, rm, rse;
    CU_ASSERT_EQUAL(churn_km_median(km, 0, &med, &lo, &hi), CHURN_OK);
    CT_CLOSE(med, 310, 0);
    CT_CLOSE(lo, 285, 0);
    CT_CLOSE(hi, 363, 0);
    CU_ASSERT_EQUAL(churn_km_rmean(km, 0, NAN, &rm, &rse), CHURN_OK);
    CT_CLOSE(rm, 376.2747461478497, 1e-12);
    CT_CLOSE(rse, 19.7077914213399, 1e-12);
    /* std.chaz = sqrt(sum d/n^2): check the first row by hand, 1/228 */
    double sc[1];
    double *all = malloc(churn_km_num_times(km, 0) * sizeof(double));
    churn_km_column(km, 0, CHURN_KM_STD_CHAZ, all, churn_km_num_times(km, 0));
    sc[0] = all[0];
    CT_CLOSE(sc[0], 1.0 / 228, 1e-14);
    free(all);
    /* survival_at: step function */
    double tt[3] = {0, 5, 5.5}, st[3];
    CU_ASSERT_EQUAL(churn_km_survival_at(km, 0, 3, tt, st), CHURN_OK);
    CT_CLOSE(st[0], 1, 0);
    CT_CLOSE(st[1], 0.99561403508771928, 1e-12);
    CT_CLOSE(st[2], 0.99561403508771928, 1e-12);
    /* log-rank needs groups: a single curve gives 0, 0, 1 */
    double chi, df, p;
    CU_ASSERT_EQUAL(churn_km_logrank(km, &chi, &df, &p), CHURN_OK);
    CU_ASSERT_EQUAL(df, 0);
    churn_km_free(km);
    churn_km_free(km2);
    churn_km_free(km3);
    table_free(&ref);
    lung_free(&l);
}

static void test_km_loglog(void)
{
    lung l;
    table ref;
    if (lung_read(&l, "lung.csv", "km log-log") != 0)
        return;
    if (ref_table(&ref, "km_lung_loglog_ci.csv", "km log-log") != 0) {
        lung_free(&l);
        return;
    }
    churn_km_options o;
    churn_km_options_init(&o);
    o.conf_type = CHURN_CONF_LOGLOG;
    churn_km *km = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_km_fit(&km, l.n, l.time, l.event, NULL, NULL, &o), CHURN_OK);
    size_t n = churn_km_num_times(km, 0);
    CU_ASSERT_EQUAL_FATAL(n, ref.nrow);
    double *lo = malloc(n * sizeof(double)), *hi = malloc(n * sizeof(double));
    churn_km_column(km, 0, CHURN_KM_LOWER, lo, n);
    churn_km_column(km, 0, CHURN_KM_UPPER, hi, n);
    int bad = 0;
    for (size_t k = 0; k < n && !bad; k++) {
        bad |= !churn_test_close(lo[k], table_num(&ref, k, 1), 1e-9, "lower", __FILE__, __LINE__);
        bad |= !churn_test_close(hi[k], table_num(&ref, k, 2), 1e-9, "upper", __FILE__, __LINE__);
    }
    CU_ASSERT_FALSE(bad);
    free(lo);
    free(hi);
    churn_km_free(km);
    table_free(&ref);
    lung_free(&l);
}

static void test_km_by_sex(void)
{
    lung l;
    table ref;
    if (lung_read(&l, "lung.csv", "km by sex") != 0)
        return;
    if (ref_table(&ref, "km_lung_by_sex.csv", "km by sex") != 0) {
        lung_free(&l);
        return;
    }
    churn_km *km = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_km_fit(&km, l.n, l.time, l.event, NULL, l.sex, NULL), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_km_num_groups(km), 2);
    CU_ASSERT_EQUAL(churn_km_group_label(km, 0), 1);
    CU_ASSERT_EQUAL(churn_km_group_label(km, 1), 2);
    size_t n1 = 0;
    for (size_t i = 0; i < ref.nrow; i++)
        n1 += strcmp(table_str(&ref, i, 0), "sex=1") == 0;
    check_km_rows(km, 0, &ref, 0, n1, 0);
    check_km_rows(km, 1, &ref, n1, ref.nrow - n1, 0);
    /* survdiff (km_lung_summary.txt): chisq 10.326741954885632 on 1 df,
     * p 0.00131116452; observed 112 / 53, expected 91.58173903 / 73.41826097 */
    double chi, df, p, nn, obs, ex;
    CU_ASSERT_EQUAL(churn_km_logrank(km, &chi, &df, &p), CHURN_OK);
    CT_CLOSE(chi, 10.326741954885632, 1e-12);
    CT_CLOSE(df, 1, 0);
    CT_CLOSE(p, 0.00131116452, 1e-8);
    CU_ASSERT_EQUAL(churn_km_group_events(km, 0, &nn, &obs, &ex), CHURN_OK);
    CT_CLOSE(nn, 138, 0);
    CT_CLOSE(obs, 112, 0);
    CT_CLOSE(ex, 91.58173903, 1e-9);
    CU_ASSERT_EQUAL(churn_km_group_events(km, 1, &nn, &obs, &ex), CHURN_OK);
    CT_CLOSE(nn, 90, 0);
    CT_CLOSE(obs, 53, 0);
    CT_CLOSE(ex, 73.41826097, 1e-9);
    churn_km_free(km);
    table_free(&ref);
    lung_free(&l);
}

/* Log-rank against a direct computation for three groups with ties. */
static void test_km_logrank_three_groups(void)
{
    enum { N = 300 };
    double t[N], e[N];
    int64_t g[N];
    unsigned s = 12345;
    for (int i = 0; i < N; i++) {
        s = s * 1103515245u + 12345u;
        g[i] = (int64_t)((s >> 16) % 3) - 1; /* -1, 0, 1: negative codes too */
        s = s * 1103515245u + 12345u;
        t[i] = (double)(1 + (s >> 16) % (20 + 10 * (g[i] + 1)));
        s = s * 1103515245u + 12345u;
        e[i] = ((s >> 16) % 4) != 0;
    }
    churn_km *km = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_km_fit(&km, N, t, e, NULL, g, NULL), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_km_num_groups(km), 3);
    CU_ASSERT_EQUAL(churn_km_group_label(km, 0), -1);
    /* direct: O - E and the hypergeometric covariance, time by time */
    double O[3] = {0}, E[3] = {0}, V[9] = {0};
    for (int tt = 1; tt <= 60; tt++) {
        double n[3] = {0}, d[3] = {0}, nt = 0, dt = 0;
        for (int i = 0; i < N; i++) {
            int k = (int)g[i] + 1;
            if (t[i] >= tt) {
                n[k]++;
                nt++;
            }
            if (t[i] == tt && e[i]) {
                d[k]++;
                dt++;
            }
        }
        if (dt == 0)
            continue;
        for (int a = 0; a < 3; a++) {
            O[a] += d[a];
            E[a] += dt * n[a] / nt;
            for (int b = 0; b < 3; b++)
                V[a * 3 + b] += dt * (nt - dt) / (nt - 1) * n[a] / nt * ((a == b) - n[b] / nt);
        }
    }
    /* chi = u' V22^-1 u on groups 2, 3 */
    double u1 = O[1] - E[1], u2 = O[2] - E[2];
    double det = V[4] * V[8] - V[5] * V[7];
    double chi_ref = (u1 * (V[8] * u1 - V[5] * u2) + u2 * (-V[7] * u1 + V[4] * u2)) / det;
    double chi, df, p;
    CU_ASSERT_EQUAL(churn_km_logrank(km, &chi, &df, &p), CHURN_OK);
    CT_CLOSE(chi, chi_ref, 1e-10);
    CT_CLOSE(df, 2, 0);
    CT_CLOSE(p, exp(-chi_ref / 2), 1e-10); /* chi-square 2 df tail */
    for (size_t k = 0; k < 3; k++) {
        double ex;
        churn_km_group_events(km, k, NULL, NULL, &ex);
        CT_CLOSE(ex, E[k], 1e-12);
    }
    churn_km_free(km);
}

/* Integer weights = repeated rows, for the curve and the log-rank test. */
static void test_km_weights(void)
{
    enum { N = 60 };
    double t[N], e[N], w[N], tr[3 * N], er[3 * N];
    int64_t g[N], gr[3 * N];
    size_t m = 0;
    for (int i = 0; i < N; i++) {
        t[i] = (double)((i * 7) % 23) + 0.25;
        e[i] = (i % 3) != 0;
        g[i] = i % 2;
        w[i] = (double)(1 + i % 3);
        for (int r = 0; r < (int)w[i]; r++) {
            tr[m] = t[i];
            er[m] = e[i];
            gr[m] = g[i];
            m++;
        }
    }
    churn_km *a = NULL, *b = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_km_fit(&a, N, t, e, w, g, NULL), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_km_fit(&b, m, tr, er, NULL, gr, NULL), CHURN_OK);
    for (size_t k = 0; k < 2; k++) {
        size_t n = churn_km_num_times(a, k);
        CU_ASSERT_EQUAL_FATAL(n, churn_km_num_times(b, k));
        for (int c = 0; c < 10; c++) {
            double *x = malloc(n * sizeof(double)), *y = malloc(n * sizeof(double));
            churn_km_column(a, k, c, x, n);
            churn_km_column(b, k, c, y, n);
            for (size_t r = 0; r < n; r++) {
                if (isinf(x[r]) || isinf(y[r])) {
                    CU_ASSERT_EQUAL(x[r], y[r]);
                } else {
                    CT_CLOSE(x[r], y[r], 1e-12);
                }
            }
            free(x);
            free(y);
        }
    }
    double c1, c2;
    churn_km_logrank(a, &c1, NULL, NULL);
    churn_km_logrank(b, &c2, NULL, NULL);
    CT_CLOSE(c1, c2, 1e-12);
    churn_km_free(a);
    churn_km_free(b);
}

static void test_km_edge_cases(void)
{
    /* all censored: S = 1 everywhere, median not reached */
    double t[4] = {1, 2, 3, 4}, e0[4] = {0, 0, 0, 0};
    churn_km *km = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_km_fit(&km, 4, t, e0, NULL, NULL, NULL), CHURN_OK);
    double s[4], se[4], lo[4], hi[4];
    churn_km_column(km, 0, CHURN_KM_SURV, s, 4);
    churn_km_column(km, 0, CHURN_KM_STD_ERR, se, 4);
    churn_km_column(km, 0, CHURN_KM_LOWER, lo, 4);
    churn_km_column(km, 0, CHURN_KM_UPPER, hi, 4);
    for (int k = 0; k < 4; k++) {
        CU_ASSERT_EQUAL(s[k], 1.0);
        CU_ASSERT_EQUAL(se[k], 0.0);
        CU_ASSERT_EQUAL(lo[k], 1.0);
        CU_ASSERT_EQUAL(hi[k], 1.0);
    }
    double med;
    churn_km_median(km, 0, &med, NULL, NULL);
    CU_ASSERT(isinf(med) && med > 0);
    churn_km_free(km);
    /* everyone dies: S reaches 0, std.err infinite, interval [0, 0] */
    double e1[4] = {1, 1, 1, 1};
    CU_ASSERT_EQUAL_FATAL(churn_km_fit(&km, 4, t, e1, NULL, NULL, NULL), CHURN_OK);
    churn_km_column(km, 0, CHURN_KM_SURV, s, 4);
    churn_km_column(km, 0, CHURN_KM_STD_ERR, se, 4);
    churn_km_column(km, 0, CHURN_KM_LOWER, lo, 4);
    CT_CLOSE(s[1], 0.5, 0);
    CU_ASSERT_EQUAL(s[3], 0.0);
    CU_ASSERT(isinf(se[3]));
    CU_ASSERT_EQUAL(lo[3], 0.0);
    /* median with S exactly 0.5 on [2, 3): R's midpoint rule gives 2.5 */
    churn_km_median(km, 0, &med, NULL, NULL);
    CT_CLOSE(med, 2.5, 0);
    churn_km_free(km);
    /* bad input: message names the row */
    double tb[3] = {1, NAN, 2}, eb[3] = {1, 0, 1};
    CU_ASSERT_EQUAL(churn_km_fit(&km, 3, tb, eb, NULL, NULL, NULL), CHURN_EINVAL);
    CU_ASSERT_PTR_NULL(km);
    CU_ASSERT(strstr(churn_last_error_message(), "row 1") != NULL);
    CU_ASSERT(strstr(churn_last_error_message(), "duration") != NULL);
    tb[1] = -1;
    CU_ASSERT_EQUAL(churn_km_fit(&km, 3, tb, eb, NULL, NULL, NULL), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "negative") != NULL);
    tb[1] = 1;
    eb[2] = 2;
    CU_ASSERT_EQUAL(churn_km_fit(&km, 3, tb, eb, NULL, NULL, NULL), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row 2") != NULL);
    CU_ASSERT(strstr(churn_last_error_message(), "event") != NULL);
    eb[2] = 1;
    churn_km_options o;
    churn_km_options_init(&o);
    o.conf_level = 1.5;
    CU_ASSERT_EQUAL(churn_km_fit(&km, 3, tb, eb, NULL, NULL, &o), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "conf_level") != NULL);
    CU_ASSERT_EQUAL(churn_km_fit(&km, 0, tb, eb, NULL, NULL, NULL), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_km_fit(&km, 3, tb, eb, NULL, NULL, NULL), CHURN_OK);
    double buf[1];
    CU_ASSERT_EQUAL(churn_km_column(km, 0, CHURN_KM_SURV, buf, 1), CHURN_ERANGE);
    CU_ASSERT_EQUAL(churn_km_column(km, 5, CHURN_KM_SURV, buf, 1), CHURN_ERANGE);
    CU_ASSERT_EQUAL(churn_km_column(km, 0, 99, buf, 1), CHURN_EINVAL);
    churn_km_free(km);
    churn_km_free(NULL);
}

/* ---- concordance --------------------------------------------------------------- */

static void naive_concordance(size_t n, const double *t, const double *e, const double *x,
                              const double *w, int risk, double *cnt)
{
    memset(cnt, 0, 5 * sizeof(double));
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            if (i == j || !e[i])
                continue;
            double ww = (w ? w[i] * w[j] : 1.0);
            if (t[i] < t[j] || (t[i] == t[j] && !e[j])) {
                double a = risk ? x[i] : -x[i], b = risk ? x[j] : -x[j];
                if (a > b)
                    cnt[0] += ww;
                else if (a < b)
                    cnt[1] += ww;
                else
                    cnt[2] += ww;
            } else if (t[i] == t[j] && e[j] && i < j) {
                if (x[i] == x[j])
                    cnt[4] += ww;
                else
                    cnt[3] += ww;
            }
        }
}

static void test_concordance_bruteforce(void)
{
    enum { N = 400 };
    double t[N], e[N], x[N], w[N];
    unsigned s = 99;
    for (int i = 0; i < N; i++) {
        s = s * 1103515245u + 12345u;
        t[i] = (double)((s >> 16) % 40);
        s = s * 1103515245u + 12345u;
        e[i] = ((s >> 16) % 3) != 0;
        s = s * 1103515245u + 12345u;
        x[i] = (double)((s >> 16) % 15) - 7;
        w[i] = 0.5 + (double)(i % 4);
    }
    for (int risk = 0; risk <= 1; risk++)
        for (int wt = 0; wt <= 1; wt++) {
            double c, cnt[5], ref[5];
            CU_ASSERT_EQUAL(churn_concordance_index(N, t, e, x, wt ? w : NULL, risk, &c, cnt),
                            CHURN_OK);
            naive_concordance(N, t, e, x, wt ? w : NULL, risk, ref);
            for (int k = 0; k < 5; k++)
                CT_CLOSE(cnt[k], ref[k], 1e-12);
            CT_CLOSE(c, (ref[0] + ref[2] / 2) / (ref[0] + ref[1] + ref[2]), 1e-12);
        }
    double c;
    x[0] = NAN;
    CU_ASSERT_EQUAL(churn_concordance_index(N, t, e, x, NULL, 1, &c, NULL), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row 0") != NULL);
}

/* ---- Cox ------------------------------------------------------------------------ */

static void check_cox(const char *ties_name, int ties)
{
    lung l;
    table coef, fit, vc;
    if (lung_read(&l, "lung_cox_cc.csv", ties_name) != 0)
        return;
    if (ref_table(&coef, "cox_lung_coef.csv", ties_name) || ref_table(&fit, "cox_lung_fit.csv", ties_name)) {
        lung_free(&l);
        return;
    }
    char vfile[64];
    snprintf(vfile, sizeof vfile, "cox_lung_vcov_%s.csv", ties_name);
    ref_table(&vc, vfile, ties_name);
    churn_cox_options o;
    churn_cox_options_init(&o);
    o.ties = ties;
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_cox_fit(&m, l.n, 3, l.x, lung_names, l.time, l.event, NULL, &o),
                          CHURN_OK);
    CU_ASSERT_EQUAL(churn_model_family(m), CHURN_FAMILY_COX);
    CU_ASSERT_EQUAL(churn_model_num_params(m), 3);
    CU_ASSERT_STRING_EQUAL(churn_model_param_name(m, 1), "sex");
    for (size_t j = 0; j < 3; j++) {
        double b, se;
        CU_ASSERT_EQUAL(churn_model_param(m, lung_names[j], &b, &se), CHURN_OK);
        CT_CLOSE(b, lookup(&coef, "ties", ties_name, "term", lung_names[j], "coef"), 1e-6);
        CT_CLOSE(se, lookup(&coef, "ties", ties_name, "term", lung_names[j], "se"), 1e-6);
    }
    double cov[9];
    CU_ASSERT_EQUAL(churn_model_covariance(m, cov, 9), CHURN_OK);
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 3; j++)
            CT_CLOSE(cov[i * 3 + j], table_num(&vc, i, j + 1), 1e-6);
    CT_CLOSE(churn_model_loglik(m), lookup(&fit, "ties", ties_name, NULL, NULL, "loglik"), 1e-9);
    CT_CLOSE(churn_surv_loglik_null(m),
             lookup(&fit, "ties", ties_name, NULL, NULL, "loglik_null"), 1e-9);
    CU_ASSERT_EQUAL(churn_model_iterations(m),
                    (int)lookup(&fit, "ties", ties_name, NULL, NULL, "iter"));
    CU_ASSERT(churn_model_converged(m));
    static const char *const tests[3] = {"lr_test", "wald_test", "score_test"};
    for (int k = 0; k < 3; k++) {
        double st, df, p;
        CU_ASSERT_EQUAL(churn_cox_test(m, k, &st, &df, &p), CHURN_OK);
        CT_CLOSE(st, lookup(&fit, "ties", ties_name, NULL, NULL, tests[k]), 1e-6);
        CT_CLOSE(df, 3, 0);
        /* chi-square tail with 3 df in closed form */
        CT_CLOSE(p, erfc(sqrt(st / 2)) + sqrt(2 * st / M_PI) * exp(-st / 2), 1e-10);
    }
    double c;
    CU_ASSERT_EQUAL(churn_surv_concordance(m, &c), CHURN_OK);
    CT_CLOSE(c, lookup(&fit, "ties", ties_name, NULL, NULL, "concordance"), 1e-6);
    CT_CLOSE(churn_surv_num_events(m), lookup(&fit, "ties", ties_name, NULL, NULL, "nevent"), 0);
    CT_CLOSE(churn_model_nobs(m), lookup(&fit, "ties", ties_name, NULL, NULL, "n"), 0);
    churn_model_free(m);
    table_free(&coef);
    table_free(&fit);
    table_free(&vc);
    lung_free(&l);
}

static void test_cox_efron(void) { check_cox("efron", CHURN_TIES_EFRON); }
static void test_cox_breslow(void) { check_cox("breslow", CHURN_TIES_BRESLOW); }

/* Wald test p-value for 1 df against the normal: coef 'sex' z and p from R. */
static void test_cox_pvalues(void)
{
    lung l;
    table coef;
    if (lung_read(&l, "lung_cox_cc.csv", "cox p-values") != 0)
        return;
    if (ref_table(&coef, "cox_lung_coef.csv", "cox p-values")) {
        lung_free(&l);
        return;
    }
    /* one-feature fit: the Wald test is z^2 and its p-value the two-sided normal p */
    double *xs = malloc(l.n * sizeof(double));
    for (size_t i = 0; i < l.n; i++)
        xs[i] = l.x[3 * i + 1];
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_cox_fit(&m, l.n, 1, xs, NULL, l.time, l.event, NULL, NULL),
                          CHURN_OK);
    CU_ASSERT_STRING_EQUAL(churn_model_feature_name(m, 0), "x1");
    double b, se, st, p;
    churn_model_param(m, "x1", &b, &se);
    churn_cox_test(m, CHURN_COX_TEST_WALD, &st, NULL, &p);
    CT_CLOSE(st, (b / se) * (b / se), 1e-10);
    CT_CLOSE(p, erfc(fabs(b / se) / sqrt(2.0)), 1e-8);
    churn_model_free(m);
    free(xs);
    table_free(&coef);
    lung_free(&l);
}

static void test_cox_baseline_and_curve(void)
{
    lung l;
    table bh, sf, res;
    if (lung_read(&l, "lung_cox_cc.csv", "cox baseline") != 0)
        return;
    if (ref_table(&bh, "cox_lung_efron_basehaz.csv", "cox baseline") ||
        ref_table(&sf, "cox_lung_efron_survfit_age60_sex1_ecog1.csv", "cox baseline") ||
        ref_table(&res, "cox_lung_efron_residuals.csv", "cox baseline")) {
        lung_free(&l);
        return;
    }
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_cox_fit(&m, l.n, 3, l.x, lung_names, l.time, l.event, NULL, NULL),
                          CHURN_OK);
    size_t nt = 0;
    CU_ASSERT_EQUAL(churn_cox_baseline(m, 1, NULL, NULL, 0, &nt), CHURN_OK);
    CU_ASSERT_EQUAL(nt, 138); /* distinct event times */
    double *bt = malloc(nt * sizeof(double)), *bc = malloc(nt * sizeof(double));
    double *bu = malloc(nt * sizeof(double));
    CU_ASSERT_EQUAL(churn_cox_baseline(m, 1, bt, bc, nt, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(churn_cox_baseline(m, 0, bt, bu, nt, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(churn_cox_baseline(m, 0, bt, bu, 3, NULL), CHURN_ERANGE);
    /* R's basehaz lists every time; ours only event times: compare the step
     * function at R's times */
    int bad = 0;
    for (size_t i = 0; i < bh.nrow && !bad; i++) {
        double t = table_num(&bh, i, 0);
        double hc = 0, hu = 0;
        for (size_t k = 0; k < nt && bt[k] <= t; k++) {
            hc = bc[k];
            hu = bu[k];
        }
        bad |= !churn_test_close(hc, table_num(&bh, i, 2), 1e-6, "cumhaz_centered", __FILE__,
                                 __LINE__);
        bad |= !churn_test_close(hu, table_num(&bh, i, 1), 1e-6, "cumhaz_uncentered", __FILE__,
                                 __LINE__);
    }
    CU_ASSERT_FALSE(bad);
    /* survfit(fit, newdata = age 60, sex 1, ph.ecog 1): surv, std.err, log CI */
    double x0[3] = {60, 1, 1};
    size_t n = sf.nrow;
    double *t = malloc(n * sizeof(double)), *s = malloc(n * sizeof(double));
    double *se = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++)
        t[i] = table_num(&sf, i, 0);
    CU_ASSERT_EQUAL(churn_surv_curve(m, x0, n, t, s, se), CHURN_OK);
    bad = 0;
    for (size_t i = 0; i < n && !bad; i++) {
        bad |= !churn_test_close(s[i], table_num(&sf, i, 1), 1e-6, "surv", __FILE__, __LINE__);
        bad |= !churn_test_close(se[i], table_num(&sf, i, 2), 1e-6, "std.err", __FILE__,
                                 __LINE__);
        double z = 1.959963984540054;
        bad |= !churn_test_close(s[i] * exp(-z * se[i]), table_num(&sf, i, 3), 1e-6, "lower",
                                 __FILE__, __LINE__);
        bad |= !churn_test_close(fmin(s[i] * exp(z * se[i]), 1), table_num(&sf, i, 4), 1e-6,
                                 "upper", __FILE__, __LINE__);
        if (bad)
            printf("\n  at row %zu (t = %g)\n", i, t[i]);
    }
    CU_ASSERT_FALSE(bad);
    /* predict: survival at a horizon = the curve; p_churn = 1 - S; lp centred as R */
    double sh, pc, lp, med;
    CU_ASSERT_EQUAL(churn_surv_predict(m, 1, x0, 365, &sh, &pc, &lp), CHURN_OK);
    double s365;
    double h365 = 365;
    churn_surv_curve(m, x0, 1, &h365, &s365, NULL);
    CT_CLOSE(sh, s365, 1e-15);
    CT_CLOSE(pc, 1 - s365, 1e-14);
    /* median = first curve time with S <= 0.5 */
    CU_ASSERT_EQUAL(churn_surv_median(m, 1, x0, &med), CHURN_OK);
    double ref_med = INFINITY;
    for (size_t i = 0; i < n; i++)
        if (table_num(&sf, i, 1) <= 0.5) {
            ref_med = t[i];
            break;
        }
    CT_CLOSE(med, ref_med, 0);
    /* linear predictors of every row against residuals(fit)'s lp column */
    double *lps = malloc(l.n * sizeof(double));
    CU_ASSERT_EQUAL(churn_surv_predict(m, l.n, l.x, 100, NULL, NULL, lps), CHURN_OK);
    bad = 0;
    for (size_t i = 0; i < l.n && !bad; i++)
        bad |= !churn_test_near(lps[i], table_num(&res, i, 1), 1e-6, "lp", __FILE__, __LINE__);
    CU_ASSERT_FALSE(bad);
    CU_ASSERT_EQUAL(churn_surv_mean_residual_life(m, 1, x0, 10, &med), CHURN_EFAMILY);
    free(lps);
    free(t);
    free(s);
    free(se);
    free(bt);
    free(bc);
    free(bu);
    churn_model_free(m);
    table_free(&bh);
    table_free(&sf);
    table_free(&res);
    lung_free(&l);
}

static void test_cox_ridge(void)
{
    lung l;
    table ex;
    if (lung_read(&l, "lung_cox_cc.csv", "cox ridge") != 0)
        return;
    if (ref_table(&ex, "cox_lung_extra.csv", "cox ridge")) {
        lung_free(&l);
        return;
    }
    const char *model = "efron ridge(theta=1,scale=FALSE) penalty=theta/2*sum(b^2)";
    churn_cox_options o;
    churn_cox_options_init(&o);
    o.l2_penalty = 1;
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_cox_fit(&m, l.n, 3, l.x, lung_names, l.time, l.event, NULL, &o),
                          CHURN_OK);
    static const char *const rn[3] = {"ridge(age)", "ridge(sex)", "ridge(ph.ecog)"};
    double b[3], se[3];
    churn_model_params(m, b, 3);
    churn_model_std_errors(m, se, 3);
    for (int j = 0; j < 3; j++) {
        CT_CLOSE(b[j], lookup(&ex, "model", model, "term", rn[j], "coef"), 1e-6);
        CT_CLOSE(se[j], lookup(&ex, "model", model, "term", rn[j], "se"), 1e-6);
    }
    CT_CLOSE(churn_model_loglik(m), lookup(&ex, "model", model, "term", rn[0], "loglik"), 1e-9);
    churn_model_free(m);

    /* scale = TRUE: R 4.2.2, survival 3.5.3,
     * coxph(Surv(time, status) ~ ridge(age, sex, ph.ecog, theta = 1, scale = TRUE), lung_cox_cc)
     * coef 0.01103235 -0.54868744 0.46070888; se 0.009232854 0.167067161 0.113199512 */
    o.l2_scale = 1;
    CU_ASSERT_EQUAL_FATAL(churn_cox_fit(&m, l.n, 3, l.x, lung_names, l.time, l.event, NULL, &o),
                          CHURN_OK);
    churn_model_params(m, b, 3);
    churn_model_std_errors(m, se, 3);
    const double rb[3] = {0.01103235, -0.54868744, 0.46070888};
    const double rse[3] = {0.009232854, 0.167067161, 0.113199512};
    for (int j = 0; j < 3; j++) {
        CT_CLOSE(b[j], rb[j], 1e-6);
        CT_CLOSE(se[j], rse[j], 1e-6);
    }
    /* identity: the scaled penalty on x = the unscaled one on x / sd */
    double sd[3];
    for (int j = 0; j < 3; j++) {
        double mu = 0, ss = 0;
        for (size_t i = 0; i < l.n; i++)
            mu += l.x[3 * i + j];
        mu /= (double)l.n;
        for (size_t i = 0; i < l.n; i++)
            ss += (l.x[3 * i + j] - mu) * (l.x[3 * i + j] - mu);
        sd[j] = sqrt(ss / (double)(l.n - 1));
    }
    double *xs = malloc(3 * l.n * sizeof(double));
    for (size_t i = 0; i < 3 * l.n; i++)
        xs[i] = l.x[i] / sd[i % 3];
    churn_model *m2 = NULL;
    o.l2_scale = 0;
    CU_ASSERT_EQUAL_FATAL(churn_cox_fit(&m2, l.n, 3, xs, lung_names, l.time, l.event, NULL, &o),
                          CHURN_OK);
    double b2[3];
    churn_model_params(m2, b2, 3);
    for (int j = 0; j < 3; j++)
        CT_CLOSE(b2[j] / sd[j], b[j], 1e-8);
    free(xs);
    churn_model_free(m);
    churn_model_free(m2);
    table_free(&ex);
    lung_free(&l);
}

/* Case weights. Breslow: integer weights = repeated rows. Efron: R averages
 * the weights of tied deaths (not the same as repeating rows), so compare
 * with R 4.2.2 / survival 3.5.3:
 *   w <- 1 + (0:(nrow(d) - 1)) %% 3
 *   coxph(Surv(time, status) ~ age + sex + ph.ecog, data = d, weights = w) */
static void test_cox_weights(void)
{
    lung l;
    if (lung_read(&l, "lung_cox_cc.csv", "cox weights") != 0)
        return;
    size_t n = l.n, m = 0;
    double *w = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        w[i] = (double)(1 + i % 3);
        m += (size_t)w[i];
    }
    double *t = malloc(m * sizeof(double)), *e = malloc(m * sizeof(double));
    double *x = malloc(3 * m * sizeof(double));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (int r = 0; r < (int)w[i]; r++, k++) {
            t[k] = l.time[i];
            e[k] = l.event[i];
            memcpy(x + 3 * k, l.x + 3 * i, 3 * sizeof(double));
        }
    churn_cox_options o;
    churn_cox_options_init(&o);
    o.ties = CHURN_TIES_BRESLOW;
    o.tol = 1e-12;
    churn_model *a = NULL, *b = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_cox_fit(&a, n, 3, l.x, NULL, l.time, l.event, w, &o), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_cox_fit(&b, m, 3, x, NULL, t, e, NULL, &o), CHURN_OK);
    double pa[3], pb[3], sa[3], sb[3];
    churn_model_params(a, pa, 3);
    churn_model_params(b, pb, 3);
    churn_model_std_errors(a, sa, 3);
    churn_model_std_errors(b, sb, 3);
    for (int j = 0; j < 3; j++) {
        CT_CLOSE(pa[j], pb[j], 1e-8);
        CT_CLOSE(sa[j], sb[j], 1e-8);
    }
    CT_CLOSE(churn_model_loglik(a), churn_model_loglik(b), 1e-10);
    double x0[3] = {60, 1, 1}, h = 400, s1, s2;
    churn_surv_predict(a, 1, x0, h, &s1, NULL, NULL);
    churn_surv_predict(b, 1, x0, h, &s2, NULL, NULL);
    CT_CLOSE(s1, s2, 1e-8);
    churn_model_free(a);
    churn_model_free(b);

    CU_ASSERT_EQUAL_FATAL(churn_cox_fit(&a, n, 3, l.x, NULL, l.time, l.event, w, NULL), CHURN_OK);
    const double rb[3] = {0.00799969808591815, -0.37043101014832569, 0.37888478849466162};
    const double rse[3] = {0.00653085932101928, 0.11718618938687696, 0.07901870466656137};
    churn_model_params(a, pa, 3);
    churn_model_std_errors(a, sa, 3);
    for (int j = 0; j < 3; j++) {
        CT_CLOSE(pa[j], rb[j], 1e-6);
        CT_CLOSE(sa[j], rse[j], 1e-6);
    }
    CT_CLOSE(churn_surv_loglik_null(a), -1717.88877465138, 1e-9);
    CT_CLOSE(churn_model_loglik(a), -1700.03435148042, 1e-9);
    double c;
    churn_surv_concordance(a, &c);
    CT_CLOSE(c, 0.616559587597450, 1e-9);
    /* summary(survfit(fit, newdata = (60, 1, 1)), times = c(100, 400)): surv and
     * its std.err, which summary() gives for S itself (= S * se of the cumhaz) */
    double ts[2] = {100, 400}, sv[2], se[2];
    CU_ASSERT_EQUAL(churn_surv_curve(a, x0, 2, ts, sv, se), CHURN_OK);
    CT_CLOSE(sv[0], 0.851944217465048, 1e-8);
    CT_CLOSE(sv[1], 0.340620734640903, 1e-8);
    CT_CLOSE(sv[0] * se[0], 0.0185032164213980, 1e-6);
    CT_CLOSE(sv[1] * se[1], 0.0306590743858166, 1e-6);
    churn_model_free(a);
    free(w);
    free(t);
    free(e);
    free(x);
    lung_free(&l);
}

/* Efron/Breslow likelihood, score and information against a naive O(n^2)
 * evaluation on random tied data, via a one-step fit (max_iter = 0 gives the
 * score test at b = 0). */
static double naive_cox_loglik(size_t n, size_t p, const double *x, const double *t,
                               const double *e, const double *b, int efron)
{
    double ll = 0;
    for (size_t i = 0; i < n; i++) {
        if (!e[i])
            continue;
        /* first event at this time handles the whole tie group */
        int first = 1;
        for (size_t j = 0; j < i; j++)
            if (e[j] && t[j] == t[i])
                first = 0;
        if (!first)
            continue;
        double S0 = 0, D0 = 0;
        size_t d = 0;
        for (size_t j = 0; j < n; j++) {
            double eta = 0;
            for (size_t k = 0; k < p; k++)
                eta += x[j * p + k] * b[k];
            if (t[j] >= t[i])
                S0 += exp(eta);
            if (t[j] == t[i] && e[j]) {
                D0 += exp(eta);
                d++;
                ll += eta;
            }
        }
        for (size_t k = 0; k < d; k++)
            ll -= log(S0 - (efron ? (double)k / (double)d * D0 : 0));
    }
    return ll;
}

static void test_cox_vs_naive(void)
{
    enum { N = 300, P = 3 };
    double x[N * P], t[N], e[N];
    unsigned s = 4242;
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < P; k++) {
            s = s * 1103515245u + 12345u;
            x[i * P + k] = ((double)((s >> 8) % 10000) / 10000.0 - 0.5) * (k + 1);
        }
        s = s * 1103515245u + 12345u;
        double u = ((double)((s >> 8) % 100000) + 0.5) / 100000.0;
        t[i] = floor(-log(u) * 30 * exp(-x[i * P])) + 1; /* heavy ties */
        s = s * 1103515245u + 12345u;
        e[i] = ((s >> 8) % 10) < 7;
    }
    for (int ties = 0; ties <= 1; ties++) {
        churn_cox_options o;
        churn_cox_options_init(&o);
        o.ties = ties;
        o.tol = 1e-13;
        churn_model *m = NULL;
        CU_ASSERT_EQUAL_FATAL(churn_cox_fit(&m, N, P, x, NULL, t, e, NULL, &o), CHURN_OK);
        double b[P], zero[P] = {0};
        churn_model_params(m, b, P);
        double ll = naive_cox_loglik(N, P, x, t, e, b, ties == 0);
        CT_CLOSE(churn_model_loglik(m), ll, 1e-10);
        CT_CLOSE(churn_surv_loglik_null(m), naive_cox_loglik(N, P, x, t, e, zero, ties == 0),
                 1e-10);
        /* the estimate maximises the naive likelihood: numeric gradient ~ 0 and
         * the numeric Hessian's inverse matches the covariance */
        double cov[P * P], H[P * P];
        churn_model_covariance(m, cov, P * P);
        const double h = 1e-4;
        for (int a = 0; a < P; a++) {
            double bp[P], bm[P];
            memcpy(bp, b, sizeof bp);
            memcpy(bm, b, sizeof bm);
            bp[a] += h;
            bm[a] -= h;
            double g = (naive_cox_loglik(N, P, x, t, e, bp, ties == 0) -
                        naive_cox_loglik(N, P, x, t, e, bm, ties == 0)) / (2 * h);
            CT_NEAR(g, 0, 1e-5);
            for (int c = 0; c < P; c++) {
                double pp[P], pm[P], mp[P], mm[P];
                memcpy(pp, b, sizeof pp);
                memcpy(pm, b, sizeof pm);
                memcpy(mp, b, sizeof mp);
                memcpy(mm, b, sizeof mm);
                pp[a] += h; pp[c] += h;
                pm[a] += h; pm[c] -= h;
                mp[a] -= h; mp[c] += h;
                mm[a] -= h; mm[c] -= h;
                H[a * P + c] = -(naive_cox_loglik(N, P, x, t, e, pp, ties == 0) -
                                 naive_cox_loglik(N, P, x, t, e, pm, ties == 0) -
                                 naive_cox_loglik(N, P, x, t, e, mp, ties == 0) +
                                 naive_cox_loglik(N, P, x, t, e, mm, ties == 0)) / (4 * h * h);
            }
        }
        /* cov * H = I */
        for (int a = 0; a < P; a++)
            for (int c = 0; c < P; c++) {
                double v = 0;
                for (int k = 0; k < P; k++)
                    v += cov[a * P + k] * H[k * P + c];
                CT_NEAR(v, a == c, 1e-4);
            }
        churn_model_free(m);
    }
}

static void test_cox_errors(void)
{
    double x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, t[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    double e[8] = {1, 0, 1, 1, 0, 1, 0, 1}, c[8] = {0};
    churn_model *m = (churn_model *)&m;
    /* monotone likelihood (x orders the times perfectly): like R, no
     * convergence in 20 iterations, b = -19.20731 (R 4.2.2: coxph(Surv(t, e) ~ x)),
     * the model is returned with a note */
    CU_ASSERT_EQUAL(churn_cox_fit(&m, 8, 1, x, NULL, t, e, NULL, NULL), CHURN_ENOCONV);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_FALSE(churn_model_converged(m));
    double bsep;
    churn_model_params(m, &bsep, 1);
    CT_CLOSE(bsep, -19.20731, 1e-6);
    CU_ASSERT(strstr(churn_model_note(m), "infinite") != NULL);
    churn_model_free(m);
    x[0] = 4;
    x[3] = 1;
    x[6] = 2;
    CU_ASSERT_EQUAL(churn_cox_fit(&m, 8, 1, x, NULL, t, c, NULL, NULL), CHURN_EINVAL);
    CU_ASSERT_PTR_NULL(m);
    CU_ASSERT(strstr(churn_last_error_message(), "no events") != NULL);
    t[3] = NAN;
    CU_ASSERT_EQUAL(churn_cox_fit(&m, 8, 1, x, NULL, t, e, NULL, NULL), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row 3") != NULL);
    t[3] = -4;
    CU_ASSERT_EQUAL(churn_cox_fit(&m, 8, 1, x, NULL, t, e, NULL, NULL), CHURN_EINVAL);
    t[3] = 4;
    e[2] = 0.5;
    CU_ASSERT_EQUAL(churn_cox_fit(&m, 8, 1, x, NULL, t, e, NULL, NULL), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "event") != NULL);
    e[2] = 1;
    x[5] = INFINITY;
    CU_ASSERT_EQUAL(churn_cox_fit(&m, 8, 1, x, NULL, t, e, NULL, NULL), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row 5") != NULL);
    x[5] = 6;
    double x2[16];
    for (int i = 0; i < 8; i++) {
        x2[2 * i] = x[i];
        x2[2 * i + 1] = 3;
    }
    const char *nm[2] = {"tenure", "plan"};
    CU_ASSERT_EQUAL(churn_cox_fit(&m, 8, 2, x2, nm, t, e, NULL, NULL), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "'plan'") != NULL);
    for (int i = 0; i < 8; i++)
        x2[2 * i + 1] = 2 * x[i];
    CU_ASSERT_EQUAL(churn_cox_fit(&m, 8, 2, x2, nm, t, e, NULL, NULL), CHURN_ENUMERIC);
    churn_cox_options o;
    churn_cox_options_init(&o);
    o.ties = 7;
    CU_ASSERT_EQUAL(churn_cox_fit(&m, 8, 1, x, NULL, t, e, NULL, &o), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "ties") != NULL);
    double w[8] = {1, 1, 1, -1, 1, 1, 1, 1};
    CU_ASSERT_EQUAL(churn_cox_fit(&m, 8, 1, x, NULL, t, e, w, NULL), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "weight") != NULL);
    /* family checks on predictions */
    CU_ASSERT_EQUAL(churn_cox_fit(&m, 8, 1, x, NULL, t, e, NULL, NULL), CHURN_OK);
    double s;
    double bad[1] = {NAN};
    CU_ASSERT_EQUAL(churn_surv_predict(m, 1, bad, 3, &s, NULL, NULL), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "'x1'") != NULL);
    CU_ASSERT_EQUAL(churn_surv_predict(m, 1, x, -3, &s, NULL, NULL), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "horizon") != NULL);
    churn_model_free(m);
}

/* coxph(..., robust) = cluster(id) with one row per id: cox_lung_extra.csv */
static void test_cox_robust(void)
{
    lung l;
    table ex;
    if (lung_read(&l, "lung_cox_cc.csv", "cox robust") != 0)
        return;
    if (ref_table(&ex, "cox_lung_extra.csv", "cox robust")) {
        lung_free(&l);
        return;
    }
    const char *model = "efron+cluster(id) robust";
    churn_cox_options o;
    churn_cox_options_init(&o);
    o.robust = 1;
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_cox_fit(&m, l.n, 3, l.x, lung_names, l.time, l.event, NULL, &o),
                          CHURN_OK);
    for (int j = 0; j < 3; j++) {
        double b, se;
        churn_model_param(m, lung_names[j], &b, &se);
        CT_CLOSE(b, lookup(&ex, "model", model, "term", lung_names[j], "coef"), 1e-6);
        CT_CLOSE(se, lookup(&ex, "model", model, "term", lung_names[j], "robust_se"), 1e-6);
    }
    churn_model_free(m);
    /* with integer weights, Breslow and Efron (R 4.2.2, survival 3.5.3:
     * coxph(..., weights = w, ties = ..., robust = TRUE), w = 1 + (0:226) %% 3) */
    double *w = malloc(l.n * sizeof(double));
    for (size_t i = 0; i < l.n; i++)
        w[i] = (double)(1 + i % 3);
    static const double rse[2][3] = {{0.011521955599796, 0.175548202319580, 0.130547080292484},
                                     {0.011487721801775, 0.175159492436308, 0.130318121455757}};
    for (int ties = 0; ties <= 1; ties++) {
        o.ties = ties;
        CU_ASSERT_EQUAL_FATAL(churn_cox_fit(&m, l.n, 3, l.x, lung_names, l.time, l.event, w, &o),
                              CHURN_OK);
        double se[3];
        churn_model_std_errors(m, se, 3);
        for (int j = 0; j < 3; j++)
            CT_CLOSE(se[j], rse[ties][j], 1e-6);
        churn_model_free(m);
    }
    free(w);
    table_free(&ex);
    lung_free(&l);
}

/* cox.zph(fit, transform = "km") against cox_lung_efron_zph_km.csv */
static void test_cox_zph(void)
{
    lung l;
    table ref;
    if (lung_read(&l, "lung_cox_cc.csv", "cox zph") != 0)
        return;
    if (ref_table(&ref, "cox_lung_efron_zph_km.csv", "cox zph")) {
        lung_free(&l);
        return;
    }
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_cox_fit(&m, l.n, 3, l.x, lung_names, l.time, l.event, NULL, NULL),
                          CHURN_OK);
    double chi[4], df[4], p[4];
    CU_ASSERT_EQUAL_FATAL(churn_cox_zph(m, l.n, l.x, l.time, l.event, NULL, chi, df, p),
                          CHURN_OK);
    static const char *const terms[4] = {"age", "sex", "ph.ecog", "GLOBAL"};
    for (int k = 0; k < 4; k++) {
        CT_CLOSE(chi[k], lookup(&ref, "term", terms[k], NULL, NULL, "chisq"), 1e-6);
        CT_CLOSE(df[k], lookup(&ref, "term", terms[k], NULL, NULL, "df"), 0);
        CT_CLOSE(p[k], lookup(&ref, "term", terms[k], NULL, NULL, "p"), 1e-6);
    }
    churn_model_free(m);
    /* Breslow: R 4.2.2 cox.zph(coxph(..., ties = "breslow")) */
    churn_cox_options o;
    churn_cox_options_init(&o);
    o.ties = CHURN_TIES_BRESLOW;
    CU_ASSERT_EQUAL_FATAL(churn_cox_fit(&m, l.n, 3, l.x, lung_names, l.time, l.event, NULL, &o),
                          CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_cox_zph(m, l.n, l.x, l.time, l.event, NULL, chi, df, p),
                          CHURN_OK);
    const double rb[4] = {0.188085661154335, 2.297197354933806, 2.051708611740464,
                          4.451012333769295};
    for (int k = 0; k < 4; k++)
        CT_CLOSE(chi[k], rb[k], 1e-6);
    churn_model_free(m);
    table_free(&ref);
    lung_free(&l);
}

/* save + load predicts identically */
static void test_cox_save_load(void)
{
    lung l;
    if (lung_read(&l, "lung_cox_cc.csv", "cox save/load") != 0)
        return;
    churn_model *m = NULL, *m2 = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_cox_fit(&m, l.n, 3, l.x, lung_names, l.time, l.event, NULL, NULL),
                          CHURN_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/test_survival_cox.json", churn_test_tmp_dir());
    CU_ASSERT_EQUAL_FATAL(churn_model_save(m, path), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_model_load(&m2, path), CHURN_OK);
    remove(path);
    double x0[3] = {60, 1, 1}, ts[4] = {0, 100, 365, 2000}, a[4], b[4], sa[4], sb[4];
    churn_surv_curve(m, x0, 4, ts, a, sa);
    CU_ASSERT_EQUAL(churn_surv_curve(m2, x0, 4, ts, b, sb), CHURN_OK);
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(a[i], b[i]);
        CU_ASSERT_EQUAL(sa[i], sb[i]);
    }
    double *p1 = malloc(l.n * sizeof(double)), *p2 = malloc(l.n * sizeof(double));
    churn_surv_predict(m, l.n, l.x, 300, NULL, p1, NULL);
    churn_surv_predict(m2, l.n, l.x, 300, NULL, p2, NULL);
    for (size_t i = 0; i < l.n; i++)
        CU_ASSERT_EQUAL(p1[i], p2[i]);
    double c1, c2, st1, st2;
    churn_surv_concordance(m, &c1);
    churn_surv_concordance(m2, &c2);
    CU_ASSERT_EQUAL(c1, c2);
    churn_cox_test(m, CHURN_COX_TEST_SCORE, &st1, NULL, NULL);
    churn_cox_test(m2, CHURN_COX_TEST_SCORE, &st2, NULL, NULL);
    CU_ASSERT_EQUAL(st1, st2);
    free(p1);
    free(p2);
    churn_model_free(m);
    churn_model_free(m2);
    lung_free(&l);
}

/* ---- AFT (survreg) ------------------------------------------------------------ */

static void check_survreg(const char *dist, int family)
{
    lung l;
    table ref;
    if (lung_read(&l, "lung_cox_cc.csv", dist) != 0)
        return;
    if (ref_table(&ref, "survreg_lung.csv", dist)) {
        lung_free(&l);
        return;
    }
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(
        churn_aft_fit(&m, family, l.n, 3, l.x, lung_names, l.time, l.event, NULL, NULL),
        CHURN_OK);
    static const char *const terms[5] = {"(Intercept)", "age", "sex", "ph.ecog", "Log(scale)"};
    size_t k = family == CHURN_FAMILY_EXPONENTIAL ? 4 : 5;
    CU_ASSERT_EQUAL(churn_model_num_params(m), k);
    for (size_t j = 0; j < k; j++) {
        double v, se;
        CU_ASSERT_EQUAL(churn_model_param(m, terms[j], &v, &se), CHURN_OK);
        CT_CLOSE(v, lookup(&ref, "dist", dist, "term", terms[j], "value"), 1e-6);
        CT_CLOSE(se, lookup(&ref, "dist", dist, "term", terms[j], "se"), 1e-6);
    }
    if (k == 5) {
        double ls;
        churn_model_param(m, "Log(scale)", &ls, NULL);
        CT_CLOSE(exp(ls), lookup(&ref, "dist", dist, "term", "age", "scale"), 1e-6);
    }
    CT_CLOSE(churn_model_loglik(m), lookup(&ref, "dist", dist, "term", "age", "loglik"), 1e-9);
    CT_CLOSE(churn_surv_loglik_null(m),
             lookup(&ref, "dist", dist, "term", "age", "loglik_intercept_only"), 1e-9);
    CU_ASSERT(churn_model_converged(m));

    /* predictions: S(median) = 1/2; p_churn = 1 - S; curve = predict */
    double x0[3] = {60, 1, 1}, med, s, pc, lp;
    CU_ASSERT_EQUAL(churn_surv_median(m, 1, x0, &med), CHURN_OK);
    CU_ASSERT_EQUAL(churn_surv_predict(m, 1, x0, med, &s, &pc, &lp), CHURN_OK);
    CT_CLOSE(s, 0.5, 1e-12);
    CT_CLOSE(pc, 0.5, 1e-12);
    double b[5];
    churn_model_params(m, b, 5);
    CT_CLOSE(lp, b[0] + 60 * b[1] + b[2] + b[3], 1e-14);
    /* mean residual life at h against numeric integration of S from h on */
    double hz[2] = {0, 200};
    for (int q = 0; q < 2; q++) {
        double mrl;
        CU_ASSERT_EQUAL(churn_surv_mean_residual_life(m, 1, x0, hz[q], &mrl), CHURN_OK);
        double sh;
        churn_surv_predict(m, 1, x0, hz[q], &sh, NULL, NULL);
        /* integrate S over u = log t: int S(t) dt = int S(e^u) e^u du */
        double integral = 0, du = 1e-3;
        double u0 = hz[q] > 0 ? log(hz[q]) : -30;
        for (double u = u0; u < 30; u += du) {
            double t1 = exp(u + du / 2), st;
            churn_surv_predict(m, 1, x0, t1, &st, NULL, NULL);
            integral += st * t1 * du;
        }
        double ref_mrl = integral / sh - (hz[q] > 0 ? 0 : 0);
        CT_CLOSE(mrl, ref_mrl, 1e-5);
    }
    /* save/load identical */
    char path[512];
    snprintf(path, sizeof path, "%s/test_survival_%s.json", churn_test_tmp_dir(), dist);
    churn_model *m2 = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_model_save(m, path), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_model_load(&m2, path), CHURN_OK);
    remove(path);
    double s2, lp2, se1, se2, t300 = 300;
    churn_surv_predict(m2, 1, x0, med, &s2, NULL, &lp2);
    CU_ASSERT_EQUAL(s, s2);
    CU_ASSERT_EQUAL(lp, lp2);
    churn_surv_curve(m, x0, 1, &t300, &s, &se1);
    churn_surv_curve(m2, x0, 1, &t300, &s2, &se2);
    CU_ASSERT_EQUAL(se1, se2);
    CU_ASSERT(se1 > 0 && isfinite(se1));
    churn_model_free(m2);
    churn_model_free(m);
    table_free(&ref);
    lung_free(&l);
}

static void test_survreg_weibull(void) { check_survreg("weibull", CHURN_FAMILY_WEIBULL); }
static void test_survreg_exponential(void)
{
    check_survreg("exponential", CHURN_FAMILY_EXPONENTIAL);
}
static void test_survreg_loglogistic(void)
{
    check_survreg("loglogistic", CHURN_FAMILY_LOGLOGISTIC);
}
static void test_survreg_lognormal(void) { check_survreg("lognormal", CHURN_FAMILY_LOGNORMAL); }

/* Intercept-only Weibull on all 228 rows (survreg_lung.csv, last row). */
static void test_survreg_intercept_only(void)
{
    lung l;
    table ref;
    if (lung_read(&l, "lung.csv", "survreg intercept") != 0)
        return;
    if (ref_table(&ref, "survreg_lung.csv", "survreg intercept")) {
        lung_free(&l);
        return;
    }
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_aft_fit(&m, CHURN_FAMILY_WEIBULL, l.n, 0, NULL, NULL, l.time,
                                        l.event, NULL, NULL),
                          CHURN_OK);
    const char *d = "weibull (intercept only, n=228)";
    double b, se, ls;
    churn_model_param(m, "(Intercept)", &b, &se);
    churn_model_param(m, "Log(scale)", &ls, NULL);
    CT_CLOSE(b, lookup(&ref, "dist", d, NULL, NULL, "value"), 1e-6);
    CT_CLOSE(se, lookup(&ref, "dist", d, NULL, NULL, "se"), 1e-6);
    CT_CLOSE(exp(ls), lookup(&ref, "dist", d, NULL, NULL, "scale"), 1e-6);
    CT_CLOSE(churn_model_loglik(m), lookup(&ref, "dist", d, NULL, NULL, "loglik"), 1e-9);
    churn_model_free(m);
    table_free(&ref);
    lung_free(&l);
}

static void test_aft_errors(void)
{
    double x[6] = {1, 2, 3, 4, 5, 6}, t[6] = {1, 2, 3, 4, 5, 6}, e[6] = {1, 0, 1, 1, 0, 1};
    churn_model *m = NULL;
    t[2] = 0;
    CU_ASSERT_EQUAL(churn_aft_fit(&m, CHURN_FAMILY_WEIBULL, 6, 1, x, NULL, t, e, NULL, NULL),
                    CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row 2") != NULL);
    t[2] = 3;
    double c[6] = {0};
    CU_ASSERT_EQUAL(churn_aft_fit(&m, CHURN_FAMILY_WEIBULL, 6, 1, x, NULL, t, c, NULL, NULL),
                    CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "no events") != NULL);
    CU_ASSERT_EQUAL(churn_aft_fit(&m, CHURN_FAMILY_COX, 6, 1, x, NULL, t, e, NULL, NULL),
                    CHURN_EINVAL);
    CU_ASSERT_PTR_NULL(m);
}

/* Weibull recovers known parameters from simulated data (large n). */
static void test_aft_simulated(void)
{
    enum { N = 20000 };
    double *x = malloc(N * sizeof(double)), *t = malloc(N * sizeof(double));
    double *e = malloc(N * sizeof(double));
    unsigned long long s = 7;
    const double b0 = 3.0, b1 = -0.5, sigma = 0.6;
    for (int i = 0; i < N; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = (double)(s >> 11) / 9007199254740992.0 * 2 - 1;
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double u = ((double)(s >> 11) + 0.5) / 9007199254740992.0;
        double w = log(-log(u)); /* standard extreme-value (minimum) */
        double tt = exp(b0 + b1 * x[i] + sigma * w);
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double c = ((double)(s >> 11) / 9007199254740992.0) * 60;
        t[i] = tt < c ? tt : c;
        e[i] = tt < c;
    }
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_aft_fit(&m, CHURN_FAMILY_WEIBULL, N, 1, x, NULL, t, e, NULL, NULL),
                          CHURN_OK);
    double p[3], se[3];
    churn_model_params(m, p, 3);
    churn_model_std_errors(m, se, 3);
    CT_NEAR(p[0], b0, 4 * se[0]);
    CT_NEAR(p[1], b1, 4 * se[1]);
    CT_NEAR(exp(p[2]), sigma, 4 * se[2] * sigma);
    churn_model_free(m);
    free(x);
    free(t);
    free(e);
}

static void test_family_checks(void)
{
    double s;
    CU_ASSERT_EQUAL(churn_surv_predict(NULL, 1, NULL, 1, &s, NULL, NULL), CHURN_EINVAL);
    CU_ASSERT(isnan(churn_surv_loglik_null(NULL)));
    double c;
    CU_ASSERT_EQUAL(churn_surv_concordance(NULL, &c), CHURN_EINVAL);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"KM overall vs R survfit", test_km_overall},
        {"KM log-log CI vs R", test_km_loglog},
        {"KM by sex + log-rank vs R", test_km_by_sex},
        {"log-rank, 3 groups vs direct", test_km_logrank_three_groups},
        {"KM weights = repeated rows", test_km_weights},
        {"KM edge cases and errors", test_km_edge_cases},
        {"concordance vs brute force", test_concordance_bruteforce},
        {"Cox Efron vs R coxph", test_cox_efron},
        {"Cox Breslow vs R coxph", test_cox_breslow},
        {"Cox Wald p-value", test_cox_pvalues},
        {"Cox baseline + survfit vs R", test_cox_baseline_and_curve},
        {"Cox ridge vs R", test_cox_ridge},
        {"Cox weights = repeated rows", test_cox_weights},
        {"Cox vs naive likelihood", test_cox_vs_naive},
        {"Cox errors", test_cox_errors},
        {"Cox save/load", test_cox_save_load},
        {"Cox zph vs R cox.zph", test_cox_zph},
        {"Cox robust SE vs R", test_cox_robust},
        {"survreg Weibull vs R", test_survreg_weibull},
        {"survreg exponential vs R", test_survreg_exponential},
        {"survreg log-logistic vs R", test_survreg_loglogistic},
        {"survreg log-normal vs R", test_survreg_lognormal},
        {"survreg intercept only vs R", test_survreg_intercept_only},
        {"AFT errors", test_aft_errors},
        {"AFT Weibull simulation", test_aft_simulated},
        {"family checks", test_family_checks},
        CU_TEST_INFO_NULL,
    };
    return churn_test_run("survival", tests);
}
