/* The customer table: lifetimes' summary on CDNOW, leakage, exclusions,
 * refunds, labels, segments, cohorts, and batch == incremental. */
#include "churn.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define DAY 86400.0

/* Days since 1970-01-01 of a proleptic Gregorian date, computed the slow,
 * obvious way (independent of the library's own date code). */
static double epoch_day(int y, int m, int d)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    long days = 0;
    for (int yy = 1970; yy < y; yy++)
        days += 365 + ((yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0);
    for (int mm = 1; mm < m; mm++)
        days += mdays[mm - 1] + (mm == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    return (double)(days + d - 1);
}

static double ymd(int y, int m, int d) { return epoch_day(y, m, d) * DAY; }

/* ---- CDNOW -------------------------------------------------------------------- */

typedef struct cdnow_row {
    long master, sample;
    double time, amount;
} cdnow_row;

/* Read CDNOW_sample.txt with a plain fscanf loop (independent of csv.c). */
static cdnow_row *read_cdnow(size_t *n)
{
    const char *path = churn_test_data_path("cdnow/CDNOW_sample.txt");
    if (!path)
        return NULL;
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t cap = 8192;
    cdnow_row *rows = malloc(cap * sizeof *rows);
    long master, sample, date, cds;
    double dollars;
    *n = 0;
    while (fscanf(f, "%ld %ld %ld %ld %lf", &master, &sample, &date, &cds, &dollars) == 5) {
        if (*n == cap)
            rows = realloc(rows, (cap *= 2) * sizeof *rows);
        rows[*n].master = master;
        rows[*n].sample = sample;
        rows[*n].time = ymd((int)(date / 10000), (int)(date / 100 % 100), (int)(date % 100));
        rows[*n].amount = dollars;
        (*n)++;
    }
    fclose(f);
    return rows;
}

static churn_txlog *cdnow_log(const cdnow_row *rows, size_t n, double upto)
{
    churn_txlog *log = NULL;
    CU_ASSERT_FATAL(churn_txlog_new(&log) == CHURN_OK);
    char id[32];
    for (size_t i = 0; i < n; i++) {
        if (rows[i].time > upto)
            continue;
        snprintf(id, sizeof id, "%ld", rows[i].master);
        CU_ASSERT_FATAL(churn_txlog_append(log, id, rows[i].time, rows[i].amount) == CHURN_OK);
    }
    return log;
}

/* Reads a CSV of numbers with one header line (skipping '#' lines) into
 * rows x ncol doubles. */
static double *read_numeric_csv(const char *path, size_t ncol, size_t *nrows)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char line[4096];
    size_t cap = 4096, n = 0;
    double *v = malloc(cap * ncol * sizeof *v);
    int header = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        if (!header) {
            header = 1;
            continue;
        }
        if (n == cap)
            v = realloc(v, (cap *= 2) * ncol * sizeof *v);
        char *p = line;
        for (size_t j = 0; j < ncol; j++) {
            v[n * ncol + j] = strtod(p, &p);
            if (*p == ',')
                p++;
        }
        n++;
    }
    fclose(f);
    *nrows = n;
    return v;
}

static void test_cdnow_summary(void)
{
    size_t n;
    cdnow_row *rows = read_cdnow(&n);
    const char *sum_path = churn_test_data_path("cdnow/cdnow_customers_summary_with_transactions.csv");
    if (!rows || !sum_path) {
        churn_test_skip("cdnow_summary", "../shared/data/cdnow is absent");
        free(rows);
        return;
    }
    CU_ASSERT_EQUAL(n, 6919);
    churn_txlog *log = cdnow_log(rows, n, HUGE_VAL);
    churn_customer_options o;
    churn_customer_options_init(&o);
    o.cutoff = ymd(1997, 9, 30);
    o.time_unit = CHURN_UNIT_WEEK;
    churn_customers *t = NULL;
    CU_ASSERT_FATAL(churn_customers_build(&t, log, &o) == CHURN_OK);
    CU_ASSERT_EQUAL(churn_customers_num_rows(t), 2357);
    CU_ASSERT_EQUAL(churn_customers_num_excluded(t), 0);
    const double *x = churn_customers_column(t, "frequency");
    const double *tx = churn_customers_column(t, "recency");
    const double *T = churn_customers_column(t, "T");
    const double *m = churn_customers_column(t, "monetary_value");
    CU_ASSERT_FATAL(x && tx && T && m);

    /* The 2-decimal summary is keyed by the sample id: map it to the master id. */
    long master_of[3000] = {0};
    for (size_t i = 0; i < n; i++)
        if (rows[i].sample > 0 && rows[i].sample < 3000)
            master_of[rows[i].sample] = rows[i].master;
    size_t nref;
    double *ref = read_numeric_csv(sum_path, 5, &nref);
    CU_ASSERT_EQUAL(nref, 2357);
    size_t bad = 0;
    const double tol = 0.005 + 1e-9;
    char id[32];
    for (size_t i = 0; i < nref; i++) {
        const double *r = ref + 5 * i;
        snprintf(id, sizeof id, "%ld", master_of[(long)r[0]]);
        size_t row;
        if (churn_customers_find(t, id, &row) != CHURN_OK) {
            bad++;
            continue;
        }
        if (fabs(x[row] - r[1]) > tol || fabs(tx[row] - r[2]) > tol ||
            fabs(T[row] - r[3]) > tol || fabs(m[row] - r[4]) > tol) {
            if (bad < 5)
                printf("\n  sample id %.0f: ours %g %g %g %g, reference %g %g %g %g", r[0],
                       x[row], tx[row], T[row], m[row], r[1], r[2], r[3], r[4]);
            bad++;
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    printf("\n  CDNOW vs 2-decimal summary: %zu of %zu customers outside 0.005", bad, nref);
    free(ref);

    /* lifetimes' full-precision columns (printed with 10 significant digits,
     * so the comparison is relative: |ours - ref| <= 1e-9 * max(1, |ref|)). */
    const char *lt_path = churn_test_data_path("cdnow/lifetimes_clv.csv");
    if (lt_path) {
        double *lt = read_numeric_csv(lt_path, 9, &nref);
        CU_ASSERT_EQUAL(nref, 2357);
        double worst = 0;
        bad = 0;
        for (size_t i = 0; i < nref; i++) {
            const double *r = lt + 9 * i;
            snprintf(id, sizeof id, "%.0f", r[0]);
            size_t row;
            if (churn_customers_find(t, id, &row) != CHURN_OK) {
                bad++;
                continue;
            }
            const double ours[4] = {x[row], tx[row], T[row], m[row]};
            for (int j = 0; j < 4; j++) {
                double err = fabs(ours[j] - r[1 + j]) / fmax(1.0, fabs(r[1 + j]));
                if (err > worst)
                    worst = err;
                bad += err > 1e-9;
            }
        }
        CU_ASSERT_EQUAL(bad, 0);
        printf("\n  CDNOW vs lifetimes full precision: worst relative error %.3g", worst);
        free(lt);
    }
    /* Repeat buyers: 946 (the Gamma-Gamma fit's sample size). */
    size_t repeat = 0;
    for (size_t i = 0; i < 2357; i++)
        repeat += x[i] > 0;
    CU_ASSERT_EQUAL(repeat, 946);
    CT_CLOSE(churn_customers_repeat_rate(t), 946.0 / 2357.0, 1e-15);
    churn_customers_free(t);
    churn_txlog_free(log);
    free(rows);
}

/* Calibration columns depend only on the rows up to the cutoff day, and
 * customers first seen later are excluded and counted. */
static void test_cdnow_leakage_and_exclusion(void)
{
    size_t n;
    cdnow_row *rows = read_cdnow(&n);
    if (!rows) {
        churn_test_skip("cdnow_leakage", "../shared/data/cdnow is absent");
        return;
    }
    double cutoff = ymd(1997, 2, 15);
    churn_txlog *full = cdnow_log(rows, n, HUGE_VAL);
    churn_txlog *part = cdnow_log(rows, n, cutoff + DAY - 1);
    churn_customer_options o;
    churn_customer_options_init(&o);
    o.cutoff = cutoff + 13 * 3600.0; /* mid-day: the whole cutoff day is calibration */
    o.time_unit = CHURN_UNIT_WEEK;
    churn_customers *a = NULL, *b = NULL, *h = NULL;
    CU_ASSERT_FATAL(churn_customers_build(&a, full, &o) == CHURN_OK);
    CU_ASSERT_FATAL(churn_customers_build(&b, part, &o) == CHURN_OK);
    o.holdout_end = ymd(1997, 9, 30);
    CU_ASSERT_FATAL(churn_customers_build(&h, full, &o) == CHURN_OK);

    /* Customers first seen after the cutoff, counted directly from the file. */
    long first_after = 0;
    long seen_before[30000] = {0}, seen_any[30000] = {0};
    for (size_t i = 0; i < n; i++) {
        seen_any[rows[i].master] = 1;
        if (rows[i].time <= cutoff)
            seen_before[rows[i].master] = 1;
    }
    long ncust = 0;
    for (long c = 0; c < 30000; c++) {
        ncust += seen_any[c];
        first_after += seen_any[c] && !seen_before[c];
    }
    CU_ASSERT_EQUAL(ncust, 2357);
    CU_ASSERT(first_after > 0);
    CU_ASSERT_EQUAL(churn_customers_num_excluded(a), (size_t)first_after);
    CU_ASSERT_EQUAL(churn_customers_num_rows(a), (size_t)(2357 - first_after));
    CU_ASSERT_EQUAL(churn_customers_num_excluded(b), 0);
    CU_ASSERT_EQUAL_FATAL(churn_customers_num_rows(a), churn_customers_num_rows(b));
    CU_ASSERT_EQUAL_FATAL(churn_customers_num_columns(a), churn_customers_num_columns(b));
    CU_ASSERT(churn_customers_num_columns(h) > churn_customers_num_columns(a));
    size_t N = churn_customers_num_rows(a), diffs = 0;
    for (size_t j = 0; j < churn_customers_num_columns(a); j++) {
        const char *name = churn_customers_column_name(a, j);
        const double *ca = churn_customers_column(a, name), *cb = churn_customers_column(b, name);
        const double *ch = churn_customers_column(h, name);
        for (size_t i = 0; i < N; i++) {
            CU_ASSERT_STRING_EQUAL(churn_customers_id(a, i), churn_customers_id(b, i));
            diffs += ca[i] != cb[i] || ca[i] != ch[i] || !isfinite(ca[i]);
        }
    }
    CU_ASSERT_EQUAL(diffs, 0);
    /* no NaN or infinity in any column, labels included */
    size_t nonfinite = 0;
    for (size_t j = 0; j < churn_customers_num_columns(h); j++)
        for (size_t i = 0; i < N; i++)
            nonfinite += !isfinite(churn_customers_column_at(h, j)[i]);
    CU_ASSERT_EQUAL(nonfinite, 0);
    CT_CLOSE(churn_customers_cutoff(a), cutoff, 1e-15);
    churn_customers_free(a);
    churn_customers_free(b);
    churn_customers_free(h);
    churn_txlog_free(full);
    churn_txlog_free(part);
    free(rows);
}

/* ---- hand-made logs ------------------------------------------------------------- */

static double col(const churn_customers *t, const char *name, const char *id)
{
    size_t row;
    const double *c = churn_customers_column(t, name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_FATAL(churn_customers_find(t, id, &row) == CHURN_OK);
    return c[row];
}

/* Refunds are returns (not orders), zero-value orders are orders. */
static void test_refunds_and_zero_orders(void)
{
    churn_txlog *log = NULL;
    churn_txlog_new(&log);
    double d0 = ymd(2024, 1, 1);
    /* customer a: orders on days 0 (10 + 5 same day), 10 (0: free), 30 (20);
     * refunds on days 12 (-4) and 30 (-6). */
    churn_txlog_append(log, "a", d0 + 3600, 10);
    churn_txlog_append(log, "a", d0 + 7200, 5);
    churn_txlog_append(log, "a", d0 + 10 * DAY, 0);
    churn_txlog_append(log, "a", d0 + 12 * DAY, -4);
    churn_txlog_append(log, "a", d0 + 30 * DAY + 100, 20);
    churn_txlog_append(log, "a", d0 + 30 * DAY + 200, -6);
    /* customer b: refund only -> excluded; customer c: after the cutoff -> excluded */
    churn_txlog_append(log, "b", d0 + 5 * DAY, -3);
    churn_txlog_append(log, "c", d0 + 50 * DAY, 7);
    churn_customer_options o;
    churn_customer_options_init(&o);
    o.cutoff = d0 + 40 * DAY;
    churn_customers *t = NULL;
    CU_ASSERT_FATAL(churn_customers_build(&t, log, &o) == CHURN_OK);
    CU_ASSERT_EQUAL(churn_customers_num_rows(t), 1);
    CU_ASSERT_EQUAL(churn_customers_num_excluded(t), 2);
    size_t row;
    CU_ASSERT_EQUAL(churn_customers_find(t, "b", &row), CHURN_ENOTFOUND);
    CU_ASSERT_EQUAL(churn_customers_find(t, "c", &row), CHURN_ENOTFOUND);
    CU_ASSERT(strstr(churn_last_error_message(), "'c'") != NULL);
    CU_ASSERT_EQUAL(col(t, "n_orders", "a"), 3);
    CU_ASSERT_EQUAL(col(t, "frequency", "a"), 2);
    CU_ASSERT_EQUAL(col(t, "recency", "a"), 30);
    CU_ASSERT_EQUAL(col(t, "T", "a"), 40);
    CU_ASSERT_EQUAL(col(t, "monetary_value", "a"), 10); /* (0 + 20) / 2 */
    CU_ASSERT_EQUAL(col(t, "total_spend", "a"), 35);
    CT_CLOSE(col(t, "mean_order_value", "a"), 35.0 / 3, 1e-15);
    CU_ASSERT_EQUAL(col(t, "n_returns", "a"), 2);
    CU_ASSERT_EQUAL(col(t, "returns_amount", "a"), 10);
    CU_ASSERT_EQUAL(col(t, "net_spend", "a"), 25);
    CU_ASSERT_EQUAL(col(t, "first_purchase", "a"), epoch_day(2024, 1, 1));
    CU_ASSERT_EQUAL(col(t, "last_purchase", "a"), epoch_day(2024, 1, 31));
    CU_ASSERT_EQUAL(col(t, "time_since_last", "a"), 10);
    CU_ASSERT_EQUAL(col(t, "gap_mean", "a"), 15);   /* gaps 10, 20 */
    CU_ASSERT_EQUAL(col(t, "gap_median", "a"), 15);
    CU_ASSERT_EQUAL(col(t, "gap_std", "a"), 5);     /* population std of {10, 20} */
    CT_CLOSE(col(t, "overdue_ratio", "a"), 10.0 / 15, 1e-15);
    churn_customers_free(t);

    /* first_purchase_counts and no same-day merge */
    o.first_purchase_counts = 1;
    o.same_day_once = 0;
    o.time_unit = CHURN_UNIT_WEEK;
    CU_ASSERT_FATAL(churn_customers_build(&t, log, &o) == CHURN_OK);
    CU_ASSERT_EQUAL(col(t, "n_orders", "a"), 4);
    CU_ASSERT_EQUAL(col(t, "frequency", "a"), 4);
    CU_ASSERT_EQUAL(col(t, "monetary_value", "a"), 35.0 / 4);
    CT_CLOSE(col(t, "recency", "a"), 30.0 / 7, 1e-15);
    CT_CLOSE(col(t, "gap_mean", "a"), 10.0 / 7, 1e-15); /* gaps 0, 10, 20 days */
    CT_CLOSE(col(t, "gap_median", "a"), 10.0 / 7, 1e-15);
    CT_CLOSE(col(t, "gap_std", "a"), sqrt(200.0 / 3) / 7, 1e-14);
    churn_customers_free(t);
    churn_txlog_free(log);
}

/* Holdout labels, survival durations, trends and products on a hand-made log. */
static void test_holdout_labels(void)
{
    churn_txlog *log = NULL;
    churn_txlog_new(&log);
    double d0 = ymd(2023, 1, 1); /* day 0; cutoff day 100; holdout end day 150 */
    /* p: days 0, 40, 90 (two orders), 120 (holdout), 160 (after the holdout) */
    churn_txlog_append_ex(log, "p", d0, 10, 1, "A");
    churn_txlog_append_ex(log, "p", d0 + 40 * DAY, 20, 1, "B");
    churn_txlog_append_ex(log, "p", d0 + 90 * DAY, 5, 1, "A");
    churn_txlog_append_ex(log, "p", d0 + 90 * DAY + 60, 5, 1, "C");
    churn_txlog_append_ex(log, "p", d0 + 120 * DAY, 30, 1, "D");
    churn_txlog_append_ex(log, "p", d0 + 125 * DAY, -30, 1, "D");
    churn_txlog_append(log, "p", d0 + 160 * DAY, 99);
    /* q: days 10, 60 only */
    churn_txlog_append(log, "q", d0 + 10 * DAY, 8);
    churn_txlog_append(log, "q", d0 + 60 * DAY, 12);
    /* r: day 100 (cutoff day), holdout on days 101 and 150 (the end day) twice */
    churn_txlog_append(log, "r", d0 + 100 * DAY + 80000, 1);
    churn_txlog_append(log, "r", d0 + 101 * DAY, 2);
    churn_txlog_append(log, "r", d0 + 150 * DAY, 3);
    churn_txlog_append(log, "r", d0 + 150 * DAY + 5, 4);
    churn_customer_options o;
    churn_customer_options_init(&o);
    o.cutoff = d0 + 100 * DAY;
    o.holdout_end = d0 + 150 * DAY;
    o.trend_window = 30;
    churn_customers *t = NULL;
    CU_ASSERT_FATAL(churn_customers_build(&t, log, &o) == CHURN_OK);
    CU_ASSERT_EQUAL(churn_customers_num_rows(t), 3);
    CU_ASSERT_EQUAL(col(t, "holdout_purchases", "p"), 1);
    CU_ASSERT_EQUAL(col(t, "holdout_spend", "p"), 30);
    CU_ASSERT_EQUAL(col(t, "churned", "p"), 0);
    CU_ASSERT_EQUAL(col(t, "holdout_purchases", "q"), 0);
    CU_ASSERT_EQUAL(col(t, "churned", "q"), 1);
    CU_ASSERT_EQUAL(col(t, "holdout_purchases", "r"), 2);
    CU_ASSERT_EQUAL(col(t, "holdout_spend", "r"), 9);
    CU_ASSERT_EQUAL(col(t, "churned", "r"), 0);
    /* Default threshold = holdout length (50 days): event == churned. */
    CU_ASSERT_EQUAL(col(t, "event", "q"), 1);
    CU_ASSERT_EQUAL(col(t, "duration", "q"), 60 + 50 - 10);
    CU_ASSERT_EQUAL(col(t, "event", "p"), 0);
    CU_ASSERT_EQUAL(col(t, "duration", "p"), 150);
    CU_ASSERT_EQUAL(col(t, "event", "r"), 0);
    CU_ASSERT_EQUAL(col(t, "duration", "r"), 50);
    /* Trends (W = 30): recent = days 71..100, prior = days 41..70. */
    CU_ASSERT_EQUAL(col(t, "orders_recent", "p"), 1);
    CU_ASSERT_EQUAL(col(t, "spend_recent", "p"), 10);
    CU_ASSERT_EQUAL(col(t, "orders_prior", "p"), 0); /* day 40 is outside both */
    CU_ASSERT_EQUAL(col(t, "orders_trend", "p"), 1);
    CU_ASSERT_EQUAL(col(t, "orders_prior", "q"), 1);
    CU_ASSERT_EQUAL(col(t, "spend_trend", "q"), -1);
    CU_ASSERT_EQUAL(col(t, "orders_trend", "r"), 1);
    CU_ASSERT_EQUAL(col(t, "n_products", "p"), 3); /* A, B, C by the cutoff */
    CU_ASSERT_EQUAL(col(t, "n_products", "q"), 0);
    /* calibration ignores the holdout refund */
    CU_ASSERT_EQUAL(col(t, "n_returns", "p"), 0);
    double rate;
    CU_ASSERT_EQUAL(churn_customers_churn_rate(t, &rate), CHURN_OK);
    CT_CLOSE(rate, 1.0 / 3, 1e-15);
    CU_ASSERT_EQUAL(churn_customers_retention_rate(t, &rate), CHURN_OK);
    CT_CLOSE(rate, 2.0 / 3, 1e-15);
    CT_CLOSE(churn_customers_holdout_end(t), d0 + 150 * DAY, 1e-15);
    churn_customers_free(t);

    /* Threshold of 3 weeks: p lapses 21 days after its day-120 purchase. */
    o.time_unit = CHURN_UNIT_WEEK;
    o.inactivity_threshold = 3;
    CU_ASSERT_FATAL(churn_customers_build(&t, log, &o) == CHURN_OK);
    CU_ASSERT_EQUAL(col(t, "event", "p"), 1);
    CT_CLOSE(col(t, "duration", "p"), 141.0 / 7, 1e-15);
    CU_ASSERT_EQUAL(col(t, "event", "q"), 1);
    CT_CLOSE(col(t, "duration", "q"), 71.0 / 7, 1e-15);
    CU_ASSERT_EQUAL(col(t, "event", "r"), 0);
    churn_customers_free(t);

    /* Without a holdout the label columns do not exist. */
    o.holdout_end = 0;
    CU_ASSERT_FATAL(churn_customers_build(&t, log, &o) == CHURN_OK);
    CU_ASSERT_PTR_NULL(churn_customers_column(t, "churned"));
    CU_ASSERT_EQUAL(churn_last_error_code(), CHURN_ENOTFOUND);
    CU_ASSERT(strstr(churn_last_error_message(), "churned") != NULL);
    CU_ASSERT_EQUAL(churn_customers_churn_rate(t, &rate), CHURN_EUNSUPPORTED);
    churn_customers_free(t);
    churn_txlog_free(log);
}

/* R/F/M quintiles, segment, value tier and the Pareto share. */
static void test_scores_and_tiers(void)
{
    churn_txlog *log = NULL;
    churn_txlog_new(&log);
    double d0 = ymd(2022, 3, 1);
    char id[16];
    /* customer i (1..10): i orders of 1 on days 0.., the last on day 10 + i,
     * plus one order of i*10 on day 0 (total spend 11 i). */
    for (int i = 1; i <= 10; i++) {
        snprintf(id, sizeof id, "c%d", i);
        churn_txlog_append(log, id, d0, 10.0 * i);
        for (int k = 1; k <= i; k++)
            churn_txlog_append(log, id, d0 + (10 + k) * DAY, 1);
    }
    churn_customer_options o;
    churn_customer_options_init(&o);
    o.cutoff = d0 + 30 * DAY;
    churn_customers *t = NULL;
    CU_ASSERT_FATAL(churn_customers_build(&t, log, &o) == CHURN_OK);
    for (int i = 1; i <= 10; i++) {
        snprintf(id, sizeof id, "c%d", i);
        /* i-1 customers are worse in every respect: score 1 + floor(5 (i-1) / 10) */
        double q = 1 + (i - 1) / 2;
        CU_ASSERT_EQUAL(col(t, "r_score", id), q);
        CU_ASSERT_EQUAL(col(t, "f_score", id), q);
        CU_ASSERT_EQUAL(col(t, "m_score", id), q);
        CU_ASSERT_EQUAL(col(t, "value_tier", id), i >= 9 ? 1 : i >= 6 ? 2 : 3);
    }
    CU_ASSERT_EQUAL(col(t, "rfm_segment", "c10"), CHURN_RFM_CHAMPIONS);
    CU_ASSERT_EQUAL(col(t, "rfm_segment", "c1"), CHURN_RFM_HIBERNATING);
    CU_ASSERT_EQUAL(col(t, "rfm_segment", "c5"), CHURN_RFM_NEED_ATTENTION);
    CU_ASSERT_STRING_EQUAL(churn_rfm_segment_name(CHURN_RFM_CHAMPIONS), "champions");
    CU_ASSERT_STRING_EQUAL(churn_rfm_segment_name(CHURN_RFM_CANT_LOSE), "can't lose them");
    CU_ASSERT_PTR_NULL(churn_rfm_segment_name(0));
    CU_ASSERT_PTR_NULL(churn_rfm_segment_name(11));
    CT_CLOSE(churn_customers_pareto_share(t), 11.0 * 19 / (11.0 * 55), 1e-15);
    churn_customers_free(t);
    churn_txlog_free(log);
}

/* ---- batch == incremental -------------------------------------------------------- */

typedef struct rtx {
    double time, amount;
    size_t row;
} rtx;

static int cmp_rtx(const void *a, const void *b)
{
    const rtx *x = a, *y = b;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static double urand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static void test_batch_equals_incremental(void)
{
    const char *cols[] = {"frequency", "recency", "T", "monetary_value", "n_orders",
                          "total_spend", "mean_order_value", "first_purchase", "last_purchase",
                          "time_since_last", "gap_mean", "gap_std", "overdue_ratio",
                          "n_returns", "returns_amount", "net_spend"};
    const size_t ncols = sizeof cols / sizeof *cols;
    const double units[] = {CHURN_UNIT_DAY, CHURN_UNIT_WEEK, CHURN_UNIT_MONTH, 2.5};
    size_t checked = 0, mismatches = 0;
    for (int rep = 0; rep < 8; rep++) {
        const size_t C = 60;
        size_t cap = 4000, n = 0;
        rtx *tx = malloc(cap * sizeof *tx);
        size_t *cust = malloc(cap * sizeof *cust);
        double base = ymd(2020, 1, 1);
        for (size_t c = 0; c < C; c++) {
            size_t k = 1 + (size_t)(urand() * (c % 7 == 0 ? 60 : 8));
            double t = base + floor(urand() * 200) * DAY;
            for (size_t j = 0; j < k; j++) {
                double u = urand();
                /* same second, same day, or days later */
                t += u < 0.15 ? 0 : u < 0.4 ? floor(urand() * 5000) : floor(urand() * 40) * DAY;
                double a = urand() < 0.1 ? -floor(urand() * 30) : urand() < 0.1 ? 0
                                                                    : floor(urand() * 10000) / 100;
                tx[n].time = t;
                tx[n].amount = a;
                cust[n] = c;
                n++;
            }
        }
        /* shuffle the rows */
        for (size_t i = n; i > 1; i--) {
            size_t j = (size_t)(urand() * i);
            rtx a = tx[i - 1];
            tx[i - 1] = tx[j];
            tx[j] = a;
            size_t b = cust[i - 1];
            cust[i - 1] = cust[j];
            cust[j] = b;
        }
        churn_txlog *log = NULL;
        churn_txlog_new(&log);
        char id[16];
        for (size_t i = 0; i < n; i++) {
            tx[i].row = i;
            snprintf(id, sizeof id, "id%zu", cust[i]);
            churn_txlog_append(log, id, tx[i].time, tx[i].amount);
        }
        churn_customer_options o;
        churn_customer_options_init(&o);
        o.time_unit = units[rep % 4];
        o.same_day_once = rep % 2 == 0;
        o.first_purchase_counts = rep % 3 == 0;
        o.cutoff = base + (150 + 40 * rep) * DAY + 4000;
        churn_customers *t = NULL;
        CU_ASSERT_FATAL(churn_customers_build(&t, log, &o) == CHURN_OK);
        rtx *mine = malloc(n * sizeof *mine);
        size_t rows_seen = 0;
        for (size_t c = 0; c < C; c++) {
            size_t k = 0;
            for (size_t i = 0; i < n; i++)
                if (cust[i] == c && floor(tx[i].time / DAY) <= floor(o.cutoff / DAY))
                    mine[k++] = tx[i];
            qsort(mine, k, sizeof *mine, cmp_rtx);
            churn_customer_state s;
            CU_ASSERT_FATAL(churn_customer_state_init(&s, &o) == CHURN_OK);
            int has_order = 0;
            for (size_t i = 0; i < k; i++) {
                CU_ASSERT_EQUAL(churn_customer_state_add(&s, mine[i].time, mine[i].amount),
                                CHURN_OK);
                has_order |= mine[i].amount >= 0;
            }
            snprintf(id, sizeof id, "id%zu", c);
            size_t row;
            int found = churn_customers_find(t, id, &row) == CHURN_OK;
            CU_ASSERT_EQUAL(found, has_order);
            if (!found)
                continue;
            rows_seen++;
            for (size_t j = 0; j < ncols; j++) {
                double v = NAN;
                CU_ASSERT_EQUAL(churn_customer_state_value(&s, o.cutoff, cols[j], &v), CHURN_OK);
                double b = churn_customers_column(t, cols[j])[row];
                checked++;
                if (v != b) {
                    mismatches++;
                    printf("\n  %s row %zu: incremental %.17g batch %.17g", cols[j], row, v, b);
                }
            }
        }
        CU_ASSERT_EQUAL(rows_seen, churn_customers_num_rows(t));
        free(mine);
        free(tx);
        free(cust);
        churn_customers_free(t);
        churn_txlog_free(log);
    }
    CU_ASSERT_EQUAL(mismatches, 0);
    printf("\n  batch == incremental: %zu values compared, %zu differ", checked, mismatches);
}

static void test_incremental_errors(void)
{
    churn_customer_state s;
    CU_ASSERT_EQUAL(churn_customer_state_init(NULL, NULL), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_customer_state_init(&s, NULL), CHURN_OK);
    double v;
    CU_ASSERT_EQUAL(churn_customer_state_value(&s, 0, "frequency", &v), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "no order") != NULL);
    CU_ASSERT_EQUAL(churn_customer_state_add(&s, 1000 * DAY, 5), CHURN_OK);
    CU_ASSERT_EQUAL(churn_customer_state_add(&s, 999 * DAY, 5), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "time order") != NULL);
    CU_ASSERT_EQUAL(churn_customer_state_add(&s, NAN, 5), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_customer_state_add(&s, 1001 * DAY, INFINITY), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "'amount'") != NULL);
    CU_ASSERT_EQUAL(churn_customer_state_value(&s, 1000 * DAY, "frequency", &v), CHURN_OK);
    CU_ASSERT_EQUAL(v, 0);
    CU_ASSERT_EQUAL(churn_customer_state_value(&s, 999 * DAY, "T", &v), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "'cutoff'") != NULL);
    CU_ASSERT_EQUAL(churn_customer_state_value(&s, 1000 * DAY, "gap_median", &v),
                    CHURN_EUNSUPPORTED);
    CU_ASSERT_EQUAL(churn_customer_state_value(&s, 1000 * DAY, "nope", &v), CHURN_ENOTFOUND);
    CU_ASSERT(strstr(churn_last_error_message(), "'nope'") != NULL);
    churn_customer_options o = CHURN_CUSTOMER_OPTIONS_INIT;
    o.time_unit = -1;
    CU_ASSERT_EQUAL(churn_customer_state_init(&s, &o), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "time_unit") != NULL);
}

static void test_build_errors(void)
{
    churn_txlog *log = NULL;
    churn_txlog_new(&log);
    churn_customers *t = (churn_customers *)1;
    CU_ASSERT_EQUAL(churn_customers_build(&t, log, NULL), CHURN_EINVAL);
    CU_ASSERT_PTR_NULL(t);
    CU_ASSERT(strstr(churn_last_error_message(), "empty") != NULL);
    CU_ASSERT_EQUAL(churn_customers_build(&t, NULL, NULL), CHURN_EINVAL);
    churn_customer_options o = CHURN_CUSTOMER_OPTIONS_INIT;
    o.cutoff = 100 * DAY;
    CU_ASSERT_EQUAL(churn_customers_build(&t, log, &o), CHURN_OK); /* empty table */
    CU_ASSERT_EQUAL(churn_customers_num_rows(t), 0);
    CU_ASSERT_EQUAL(churn_customers_repeat_rate(t), 0);
    churn_customers_free(t);
    churn_txlog_append(log, "x", 50 * DAY, 1);
    const struct {
        const char *field;
        double value;
    } bad[] = {{"time_unit", 0}, {"trend_window", -1}, {"inactivity_threshold", -2},
               {"key_fraction", 1.5}, {"important_fraction", 0.9}, {"holdout_end", 100 * DAY},
               {"cutoff", NAN}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        churn_customer_options b = CHURN_CUSTOMER_OPTIONS_INIT;
        b.cutoff = 100 * DAY;
        if (strcmp(bad[i].field, "time_unit") == 0) b.time_unit = bad[i].value;
        if (strcmp(bad[i].field, "trend_window") == 0) b.trend_window = bad[i].value;
        if (strcmp(bad[i].field, "inactivity_threshold") == 0) b.inactivity_threshold = bad[i].value;
        if (strcmp(bad[i].field, "key_fraction") == 0) b.key_fraction = bad[i].value;
        if (strcmp(bad[i].field, "important_fraction") == 0) b.important_fraction = bad[i].value;
        if (strcmp(bad[i].field, "holdout_end") == 0) b.holdout_end = bad[i].value;
        if (strcmp(bad[i].field, "cutoff") == 0) b.cutoff = bad[i].value;
        CU_ASSERT_EQUAL(churn_customers_build(&t, log, &b), CHURN_EINVAL);
        CU_ASSERT_PTR_NULL(t);
        if (!strstr(churn_last_error_message(), bad[i].field))
            printf("\n  message for %s: %s", bad[i].field, churn_last_error_message());
        CU_ASSERT(strstr(churn_last_error_message(), bad[i].field) != NULL);
    }
    o.same_day_once = 2;
    CU_ASSERT_EQUAL(churn_customers_build(&t, log, &o), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "same_day_once") != NULL);
    /* a newer struct with a non-zero unknown tail is rejected */
    struct {
        churn_customer_options o;
        double extra;
    } big;
    memset(&big, 0, sizeof big);
    churn_customer_options_init(&big.o);
    big.o.struct_size = sizeof big;
    big.extra = 1;
    CU_ASSERT_EQUAL(churn_customers_build(&t, log, &big.o), CHURN_EINVAL);
    /* column accessors */
    CU_ASSERT_EQUAL(churn_customers_build(&t, log, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(churn_customers_num_rows(t), 1);
    CU_ASSERT_PTR_NULL(churn_customers_column(t, "bogus"));
    CU_ASSERT_EQUAL(churn_last_error_code(), CHURN_ENOTFOUND);
    CU_ASSERT(strstr(churn_last_error_message(), "'bogus'") != NULL);
    CU_ASSERT_PTR_NULL(churn_customers_column_at(t, 999));
    CU_ASSERT_EQUAL(churn_last_error_code(), CHURN_ERANGE);
    CU_ASSERT_PTR_NULL(churn_customers_column_name(t, 999));
    CU_ASSERT_STRING_EQUAL(churn_customers_column_name(t, 0), "frequency");
    CU_ASSERT_PTR_NULL(churn_customers_id(t, 1));
    CU_ASSERT_STRING_EQUAL(churn_customers_id(t, 0), "x");
    /* no NaN anywhere, even for a one-time buyer */
    for (size_t j = 0; j < churn_customers_num_columns(t); j++)
        CU_ASSERT(isfinite(churn_customers_column_at(t, j)[0]));
    churn_customers_free(t);
    churn_customers_free(NULL);
    churn_txlog_free(log);
}

/* ---- cohorts ------------------------------------------------------------------------ */

static void test_cohorts(void)
{
    churn_txlog *log = NULL;
    churn_txlog_new(&log);
    /* Jan cohort: a (Jan, Feb, Apr), b (Jan, Mar); Feb cohort: c (Feb, Feb, Mar);
     * Mar cohort: none; Apr cohort: d (Apr). e: refund in Jan then first order in
     * Mar -> Mar cohort. f: first order in May, after the cutoff -> ignored. */
    churn_txlog_append(log, "a", ymd(2021, 1, 5), 10);
    churn_txlog_append(log, "a", ymd(2021, 2, 7), 10);
    churn_txlog_append(log, "a", ymd(2021, 4, 30) + 86399, 10);
    churn_txlog_append(log, "b", ymd(2021, 1, 31), 10);
    churn_txlog_append(log, "b", ymd(2021, 3, 1), 10);
    churn_txlog_append(log, "c", ymd(2021, 2, 1), 10);
    churn_txlog_append(log, "c", ymd(2021, 2, 20), 10);
    churn_txlog_append(log, "c", ymd(2021, 3, 3), 10);
    churn_txlog_append(log, "d", ymd(2021, 4, 2), 10);
    churn_txlog_append(log, "e", ymd(2021, 1, 9), -5);
    churn_txlog_append(log, "e", ymd(2021, 3, 9), 5);
    churn_txlog_append(log, "f", ymd(2021, 5, 9), 5);
    churn_cohort_options o;
    churn_cohort_options_init(&o);
    o.cutoff = ymd(2021, 4, 30);
    size_t nc = 0, np = 0;
    CU_ASSERT_EQUAL(churn_customers_cohort_table(log, &o, &nc, &np, NULL, NULL, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(nc, 4);
    CU_ASSERT_EQUAL(np, 4);
    double start[4], act[16], ret[16];
    size_t c2 = 3, p2 = 4;
    CU_ASSERT_EQUAL(churn_customers_cohort_table(log, &o, &c2, &p2, start, act, ret), CHURN_ERANGE);
    CU_ASSERT_EQUAL(c2, 4);
    CU_ASSERT_EQUAL(churn_customers_cohort_table(log, &o, &nc, &np, start, act, ret), CHURN_OK);
    const double want[16] = {2, 1, 1, 1,   /* Jan: a+b, a, b, a */
                             1, 1, 0, -1,  /* Feb: c, c, nobody in Apr */
                             1, 0, -1, -1, /* Mar: e */
                             1, -1, -1, -1};
    for (int i = 0; i < 16; i++)
        CU_ASSERT_EQUAL(act[i], want[i]);
    CU_ASSERT_EQUAL(ret[1], 0.5);
    CU_ASSERT_EQUAL(ret[0], 1);
    CU_ASSERT_EQUAL(ret[9], 0);
    CU_ASSERT_EQUAL(ret[15], -1);
    CU_ASSERT_EQUAL(start[0], ymd(2021, 1, 1));
    CU_ASSERT_EQUAL(start[3], ymd(2021, 4, 1));

    /* Calendar weeks start on Monday: 2021-01-04 was a Monday. */
    o.period = CHURN_UNIT_WEEK;
    o.cutoff = ymd(2021, 1, 31);
    CU_ASSERT_EQUAL(churn_customers_cohort_table(log, &o, &nc, &np, NULL, NULL, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(nc, 4); /* weeks of Jan 4, 11, 18, 25 */
    double s4[4], a4[16];
    CU_ASSERT_EQUAL(churn_customers_cohort_table(log, &o, &nc, &np, s4, a4, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(s4[0], ymd(2021, 1, 4));
    CU_ASSERT_EQUAL(a4[0], 1);  /* a */
    CU_ASSERT_EQUAL(a4[12], 1); /* b, week of Jan 25 */
    /* Fixed 10-day blocks from the first order (Jan 5): Jan 5-14, 15-24, 25-Feb 3. */
    o.calendar = 0;
    o.period = 10;
    o.cutoff = ymd(2021, 2, 3);
    CU_ASSERT_EQUAL(churn_customers_cohort_table(log, &o, &nc, &np, NULL, NULL, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(nc, 3);
    double s3[3], a3[9];
    CU_ASSERT_EQUAL(churn_customers_cohort_table(log, &o, &nc, &np, s3, a3, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(s3[1], ymd(2021, 1, 15));
    const double want3[9] = {1, 0, 0, 0, 0, -1, 2, -1, -1}; /* a; -; b and c */
    for (int i = 0; i < 9; i++)
        CU_ASSERT_EQUAL(a3[i], want3[i]);
    o.period = -1;
    CU_ASSERT_EQUAL(churn_customers_cohort_table(log, &o, &nc, &np, NULL, NULL, NULL),
                    CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "'period'") != NULL);
    churn_txlog_free(log);
}

/* ---- allocation failures ------------------------------------------------------------ */


/* Every allocation of a build (and of a cohort table) is made to fail in
 * turn: the call reports CHURN_ENOMEM and leaks nothing (ASan/valgrind). */
static void test_allocation_failures(void)
{
    churn_txlog *log = NULL;
    churn_txlog_new(&log);
    double d0 = ymd(2023, 1, 1);
    for (int c = 0; c < 20; c++) {
        char id[16], prod[16];
        snprintf(id, sizeof id, "c%d", c);
        for (int k = 0; k <= c % 5; k++) {
            snprintf(prod, sizeof prod, "p%d", (c + k) % 4);
            churn_txlog_append_ex(log, id, d0 + (double)((c * 7 + k * 13) % 120) * DAY,
                                  k == 3 ? -2.0 : 10.0 + k, 1, prod);
        }
    }
    churn_customer_options o = CHURN_CUSTOMER_OPTIONS_INIT;
    o.cutoff = d0 + 80 * DAY;
    o.holdout_end = d0 + 120 * DAY;
    int succeeded = 0, nomem = 0;
    churn_set_allocator(churn_test_failing_alloc, NULL);
    for (long k = 0; k < 200 && !succeeded; k++) {
        churn_test_alloc_countdown = k;
        churn_customers *t = NULL;
        int rc = churn_customers_build(&t, log, &o);
        if (rc == CHURN_OK) {
            size_t row;
            churn_test_alloc_countdown = 0; /* the lazy id index cannot be built either */
            CU_ASSERT_EQUAL(churn_customers_find(t, "c1", &row), CHURN_ENOMEM);
            churn_test_alloc_countdown = -1;
            CU_ASSERT_EQUAL(churn_customers_find(t, "c1", &row), CHURN_OK);
            churn_customers_free(t);
            succeeded = 1;
        } else {
            CU_ASSERT_EQUAL(rc, CHURN_ENOMEM);
            CU_ASSERT_PTR_NULL(t);
            nomem++;
        }
    }
    CU_ASSERT(succeeded);
    CU_ASSERT(nomem > 5);
    succeeded = 0;
    for (long k = 0; k < 50 && !succeeded; k++) {
        churn_test_alloc_countdown = k;
        churn_cohort_options co = CHURN_COHORT_OPTIONS_INIT;
        size_t nc = 8, np = 8;
        double act[64];
        int rc = churn_customers_cohort_table(log, &co, &nc, &np, NULL, act, NULL);
        CU_ASSERT(rc == CHURN_OK || rc == CHURN_ENOMEM);
        succeeded = rc == CHURN_OK;
    }
    CU_ASSERT(succeeded);
    churn_test_alloc_countdown = -1;
    churn_set_allocator(NULL, NULL);
    churn_txlog_free(log);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"CDNOW: lifetimes summary (x, t_x, T, zbar)", test_cdnow_summary},
        {"CDNOW: no leakage, exclusions counted", test_cdnow_leakage_and_exclusion},
        {"refunds and zero-value orders", test_refunds_and_zero_orders},
        {"holdout labels, durations, trends", test_holdout_labels},
        {"RFM scores, segments, tiers", test_scores_and_tiers},
        {"batch == incremental on random logs", test_batch_equals_incremental},
        {"incremental errors", test_incremental_errors},
        {"build errors and accessors", test_build_errors},
        {"cohort table", test_cohorts},
        {"allocation failures", test_allocation_failures},
        CU_TEST_INFO_NULL,
    };
    return churn_test_run("customers", tests);
}
