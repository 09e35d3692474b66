/* Logs without amounts (issue 17, item 4): a CSV without an amount column,
 * arrays without amounts, the customer table's purchase-count columns equal
 * to those of the same log with amounts and its spend columns NaN (grouping,
 * one-pass, streaming and incremental paths), mixed logs, BTYD fits that do
 * not see the difference (CDNOW's published BG/NBD fit from a log read
 * without its amounts), and Gamma-Gamma / CLV refusing with a message that
 * says the spend is unknown. */
#include "churn.h"
#include "testutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400.0

/* The columns that read amounts: NaN for a customer whose spend is unknown
 * (customers.h, "Logs without amounts"). Every other column must not change. */
static const char *const spend_columns[] = {
    "monetary_value", "total_spend", "mean_order_value", "spend_recent", "spend_prior",
    "spend_trend", "returns_amount", "net_spend", "m_score", "value_tier", "holdout_spend",
};

static int is_spend_column(const char *name)
{
    for (size_t k = 0; k < sizeof spend_columns / sizeof spend_columns[0]; k++)
        if (strcmp(spend_columns[k], name) == 0)
            return 1;
    return 0;
}

static int same_double(double a, double b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* A small log: 5 customers, same-day orders, gaps, a holdout purchase, one
 * customer first seen after the cutoff. Days from 2024-01-01 (day 19723). */
#define N_TX 14
static const char *const tx_id[N_TX] = {"a", "a", "b", "a", "c", "b", "a", "d", "c",
                                        "b", "a", "e", "c", "d"};
static const double tx_day[N_TX] = {0, 0, 2, 7, 9, 15, 21, 25, 29, 40, 61, 65, 70, 72};
static const double tx_amount[N_TX] = {10, 5, 8, 20, 12, 7, 30, 4, 6, 9, 11, 15, 3, 2};
#define DAY0 19723.0
#define CUTOFF_DAY (DAY0 + 60)  /* calibration: days 0..60 */
#define HOLDOUT_DAY (DAY0 + 80) /* holdout: days 61..80 */

static churn_txlog *small_log(int with_amounts)
{
    double t[N_TX];
    for (size_t i = 0; i < N_TX; i++)
        t[i] = (DAY0 + tx_day[i]) * DAY + 3600.0 * (double)i; /* some hours into the day */
    churn_txlog *log = NULL;
    CU_ASSERT_FATAL(churn_txlog_new(&log) == CHURN_OK);
    CU_ASSERT_FATAL(churn_txlog_append_arrays_str(log, N_TX, tx_id, t,
                                                  with_amounts ? tx_amount : NULL, NULL,
                                                  NULL) == CHURN_OK);
    return log;
}

static churn_customer_options small_options(const char *columns)
{
    churn_customer_options o;
    churn_customer_options_init(&o);
    o.cutoff = CUTOFF_DAY * DAY;
    o.holdout_end = HOLDOUT_DAY * DAY;
    o.trend_window = 30;
    o.columns = columns;
    return o;
}

/* Tables a (with amounts) and b (without) of the same rows: the same rows
 * and columns; spend columns NaN in b everywhere, every other column equal
 * bit for bit. Returns the number of columns compared. */
static size_t compare_tables(const churn_customers *a, const churn_customers *b)
{
    size_t n = churn_customers_num_rows(a), nc = churn_customers_num_columns(a);
    CU_ASSERT_EQUAL_FATAL(churn_customers_num_rows(b), n);
    CU_ASSERT_EQUAL_FATAL(churn_customers_num_columns(b), nc);
    size_t bad = 0;
    for (size_t j = 0; j < nc; j++) {
        const char *name = churn_customers_column_name(a, j);
        CU_ASSERT_STRING_EQUAL(churn_customers_column_name(b, j), name);
        const double *ca = churn_customers_column_at(a, j), *cb = churn_customers_column_at(b, j);
        int spend = is_spend_column(name);
        for (size_t i = 0; i < n; i++) {
            CU_ASSERT_STRING_EQUAL(churn_customers_id(a, i), churn_customers_id(b, i));
            int ok = spend ? isnan(cb[i]) && isfinite(ca[i])
                           : isfinite(ca[i]) && same_double(ca[i], cb[i]);
            if (!ok && bad++ < 5)
                printf("\n  column %s, row %zu: with amounts %.17g, without %.17g", name, i,
                       ca[i], cb[i]);
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    return nc;
}

/* ---- reading ------------------------------------------------------------------ */

static void test_csv_without_amount_column(void)
{
    static const char text[] = "customer_id,date\na,2024-01-01\nb,2024-01-03\na,2024-01-20\n";
    churn_csv_options o;
    churn_csv_options_init(&o);
    churn_txlog *log = NULL;
    CU_ASSERT_FATAL(churn_txlog_new(&log) == CHURN_OK);
    /* default options: the "amount" column is required, and the message says how to
     * read a log without one */
    CU_ASSERT_EQUAL(churn_txlog_read_csv_buffer(log, text, strlen(text), &o), CHURN_EFORMAT);
    CU_ASSERT_STRING_EQUAL(churn_last_error_message(),
                           "<buffer>, line 1: column 'amount' (amount_column) not found in the "
                           "header (columns: 'customer_id', 'date'); a log without amounts: "
                           "amount_column \"\" (the command: --amount none)");
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 0);
    /* amount_column "": no amount column, every amount unknown (NaN) */
    o.amount_column = "";
    CU_ASSERT_EQUAL_FATAL(churn_txlog_read_csv_buffer(log, text, strlen(text), &o), CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 3);
    CU_ASSERT_EQUAL(churn_txlog_num_customers(log), 2);
    const double *am = churn_txlog_amounts(log), *t = churn_txlog_times(log);
    for (size_t i = 0; i < 3; i++)
        CU_ASSERT(isnan(am[i]));
    CU_ASSERT_EQUAL(t[2], 19742.0 * DAY); /* 2024-01-20 */
    churn_txlog_free(log);

    /* a file with amounts read as if it had none: the column is ignored */
    static const char with[] = "customer_id,date,amount\na,2024-01-01,5\n";
    CU_ASSERT_FATAL(churn_txlog_new(&log) == CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_read_csv_buffer(log, with, strlen(with), &o), CHURN_OK);
    CU_ASSERT(isnan(churn_txlog_amounts(log)[0]));
    churn_txlog_free(log);

    /* no header: two columns; the default third column is missing */
    static const char bare[] = "a 20240101\nb 20240103\n";
    churn_csv_options_init(&o);
    o.has_header = 0;
    CU_ASSERT_FATAL(churn_txlog_new(&log) == CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_read_csv_buffer(log, bare, strlen(bare), &o), CHURN_EFORMAT);
    CU_ASSERT(strstr(churn_last_error_message(), "line 1, column 3: missing") != NULL);
    o.amount_column = "";
    CU_ASSERT_EQUAL(churn_txlog_read_csv_buffer(log, bare, strlen(bare), &o), CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 2);
    CU_ASSERT(isnan(churn_txlog_amounts(log)[1]));
    churn_txlog_free(log);

    /* the id and time columns cannot be "none" */
    churn_csv_options_init(&o);
    o.id_column = "";
    CU_ASSERT_FATAL(churn_txlog_new(&log) == CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_read_csv_buffer(log, text, strlen(text), &o), CHURN_EINVAL);
    CU_ASSERT_STRING_EQUAL(churn_last_error_message(), "<buffer>: option id_column is empty");
    churn_txlog_free(log);
}

static void test_arrays_without_amounts(void)
{
    churn_txlog *log = NULL;
    CU_ASSERT_FATAL(churn_txlog_new(&log) == CHURN_OK);
    const int64_t ids[] = {7, 8, 7};
    const double t[] = {0, DAY, 2 * DAY}, q[] = {1, NAN, 3};
    CU_ASSERT_EQUAL(churn_txlog_append_arrays(log, 3, ids, t, NULL, q, NULL), CHURN_OK);
    const char *sids[] = {"x", "y"};
    CU_ASSERT_EQUAL(churn_txlog_append_arrays_str(log, 2, sids, t, NULL, NULL, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 5);
    CU_ASSERT_EQUAL(churn_txlog_num_customers(log), 4);
    for (size_t i = 0; i < 5; i++)
        CU_ASSERT(isnan(churn_txlog_amounts(log)[i]));
    CU_ASSERT_EQUAL(churn_txlog_quantities(log)[2], 3);
    /* a NaN inside an array of amounts stays an error (a missing value is not a
     * declared absence of amounts), and its message says how to declare one */
    const double a[] = {1, NAN};
    CU_ASSERT_EQUAL(churn_txlog_append_arrays_str(log, 2, sids, t, a, NULL, NULL), CHURN_EINVAL);
    CU_ASSERT_STRING_EQUAL(churn_last_error_message(),
                           "churn_txlog_append_arrays_str (row 1): amount nan is not a finite "
                           "number (for a log without amounts pass amounts = NULL to "
                           "churn_txlog_append_arrays*)");
    CU_ASSERT_EQUAL(churn_txlog_append(log, "x", 0, NAN), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "amounts = NULL") != NULL);
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 5);
    churn_txlog_free(log);
}

/* ---- the customer table ---------------------------------------------------------- */

static void test_table_without_amounts(void)
{
    churn_txlog *la = small_log(1), *lb = small_log(0);
    /* every column (the grouping path) and a subset without gap_median and
     * n_products (the one-pass path) */
    const char *subset = "frequency,recency,T,monetary_value,n_orders,total_spend,"
                         "mean_order_value,gap_std,spend_recent,spend_trend,orders_trend,"
                         "returns_amount,net_spend,m_score,f_score,value_tier,holdout_purchases,"
                         "holdout_spend,churned,duration,event";
    const char *lists[2] = {NULL, subset};
    for (int k = 0; k < 2; k++) {
        churn_customer_options o = small_options(lists[k]);
        churn_customers *ta = NULL, *tb = NULL;
        CU_ASSERT_FATAL(churn_customers_build(&ta, la, &o) == CHURN_OK);
        CU_ASSERT_FATAL(churn_customers_build(&tb, lb, &o) == CHURN_OK);
        CU_ASSERT_EQUAL(churn_customers_num_rows(tb), 4); /* e is first seen in the holdout */
        CU_ASSERT_EQUAL(churn_customers_num_excluded(tb), 1);
        size_t nc = compare_tables(ta, tb);
        CU_ASSERT_EQUAL(nc, k ? 21 : 34);
        /* customer a by hand: orders on days 0 (10 + 5), 7 (20), 21 (30), holdout 61 (11) */
        size_t r;
        CU_ASSERT_FATAL(churn_customers_find(tb, "a", &r) == CHURN_OK);
        CU_ASSERT_EQUAL(churn_customers_column(tb, "frequency")[r], 2);
        CU_ASSERT_EQUAL(churn_customers_column(tb, "recency")[r], 21);
        CU_ASSERT_EQUAL(churn_customers_column(tb, "T")[r], 60);
        CU_ASSERT_EQUAL(churn_customers_column(tb, "holdout_purchases")[r], 1);
        CU_ASSERT_EQUAL(churn_customers_column(ta, "monetary_value")[r], 25);
        CU_ASSERT_EQUAL(churn_customers_column(ta, "total_spend")[r], 65);
        CU_ASSERT_EQUAL(churn_customers_column(ta, "holdout_spend")[r], 11);
        CU_ASSERT(isnan(churn_customers_column(tb, "monetary_value")[r]));
        CU_ASSERT(isnan(churn_customers_column(tb, "holdout_spend")[r]));
        /* population metrics: the repeat rate needs no amount, the Pareto share does */
        CU_ASSERT_EQUAL(churn_customers_repeat_rate(tb), churn_customers_repeat_rate(ta));
        CU_ASSERT_EQUAL(churn_customers_repeat_rate(tb), 0.75); /* a, b, c of a b c d */
        CU_ASSERT(isnan(churn_customers_pareto_share(tb)));
        CU_ASSERT(isfinite(churn_customers_pareto_share(ta)));
        double ra, rb;
        CU_ASSERT_EQUAL(churn_customers_churn_rate(ta, &ra), CHURN_OK);
        CU_ASSERT_EQUAL(churn_customers_churn_rate(tb, &rb), CHURN_OK);
        CU_ASSERT_EQUAL(ra, rb);
        churn_customers_free(ta);
        churn_customers_free(tb);
    }
    churn_txlog_free(la);
    churn_txlog_free(lb);
}

/* The streaming builder and the incremental state follow the same rule. */
static void test_stream_and_state_without_amounts(void)
{
    churn_txlog *lb = small_log(0);
    churn_customer_options o = small_options(NULL);
    churn_customers *tb = NULL, *ts = NULL;
    CU_ASSERT_FATAL(churn_customers_build(&tb, lb, &o) == CHURN_OK);
    churn_customer_stream *s = NULL;
    CU_ASSERT_FATAL(churn_customer_stream_new(&s, &o) == CHURN_OK);
    double t[N_TX];
    for (size_t i = 0; i < N_TX; i++)
        t[i] = (DAY0 + tx_day[i]) * DAY + 3600.0 * (double)i;
    CU_ASSERT_FATAL(churn_txlog_append_arrays_str(churn_customer_stream_log(s), 7, tx_id, t,
                                                  NULL, NULL, NULL) == CHURN_OK);
    CU_ASSERT_EQUAL(churn_customer_stream_fold(s), CHURN_OK);
    CU_ASSERT_FATAL(churn_txlog_append_arrays_str(churn_customer_stream_log(s), N_TX - 7,
                                                  tx_id + 7, t + 7, NULL, NULL,
                                                  NULL) == CHURN_OK);
    CU_ASSERT_FATAL(churn_customer_stream_finish(s, &ts) == CHURN_OK);
    churn_customer_stream_free(s);
    /* the stream's columns (all but gap_median and n_products) equal the batch's */
    size_t n = churn_customers_num_rows(tb), bad = 0, nan_cols = 0;
    CU_ASSERT_EQUAL_FATAL(churn_customers_num_rows(ts), n);
    CU_ASSERT_EQUAL(churn_customers_num_columns(ts), 32);
    for (size_t j = 0; j < churn_customers_num_columns(ts); j++) {
        const char *name = churn_customers_column_name(ts, j);
        const double *cs = churn_customers_column_at(ts, j), *cb = churn_customers_column(tb, name);
        CU_ASSERT_FATAL(cb != NULL);
        nan_cols += isnan(cs[0]);
        for (size_t i = 0; i < n; i++)
            bad += !same_double(cs[i], cb[i]) || isnan(cs[i]) != is_spend_column(name);
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(nan_cols, 11);

    /* the state of customer a with NaN amounts: every incremental column equals the
     * table's, NaN included */
    churn_customer_state st;
    CU_ASSERT_FATAL(churn_customer_state_init(&st, &o) == CHURN_OK);
    for (size_t i = 0; i < N_TX; i++)
        if (strcmp(tx_id[i], "a") == 0 && tx_day[i] <= 60)
            CU_ASSERT_EQUAL(churn_customer_state_add(&st, t[i], NAN), CHURN_OK);
    static const char *const inc[] = {
        "frequency", "recency", "T", "monetary_value", "n_orders", "total_spend",
        "mean_order_value", "first_purchase", "last_purchase", "time_since_last", "gap_mean",
        "gap_std", "overdue_ratio", "n_returns", "returns_amount", "net_spend"};
    size_t r;
    CU_ASSERT_FATAL(churn_customers_find(tb, "a", &r) == CHURN_OK);
    bad = 0;
    for (size_t k = 0; k < sizeof inc / sizeof inc[0]; k++) {
        double v;
        CU_ASSERT_EQUAL(churn_customer_state_value(&st, CUTOFF_DAY * DAY, inc[k], &v), CHURN_OK);
        double want = churn_customers_column(tb, inc[k])[r];
        bad += !same_double(v, want) || isnan(v) != is_spend_column(inc[k]);
    }
    CU_ASSERT_EQUAL(bad, 0);
    double v;
    CU_ASSERT_EQUAL(churn_customer_state_value(&st, CUTOFF_DAY * DAY, "frequency", &v), CHURN_OK);
    CU_ASSERT_EQUAL(v, 2);
    /* infinity is still refused */
    CU_ASSERT_EQUAL(churn_customer_state_add(&st, t[13], INFINITY), CHURN_EINVAL);
    CU_ASSERT_STRING_EQUAL(churn_last_error_message(), "churn_customer_state_add: 'amount' is not "
                           "finite (NaN for an unknown amount)");
    churn_customers_free(tb);
    churn_customers_free(ts);
    churn_txlog_free(lb);
}

/* A log with some amounts unknown: those customers' spend columns are NaN,
 * the others' are as without them, and the spend ranks are taken among the
 * customers whose spend is known. */
static void test_mixed_log(void)
{
    const char *ids[] = {"k1", "k2", "k3", "k4", "u", "k1", "h"};
    const double day[] = {0, 1, 2, 3, 4, 10, 5};
    const double amount[] = {50, 10, 30, 20, 0, 40, 8};
    double t[7];
    for (size_t i = 0; i < 7; i++)
        t[i] = (DAY0 + day[i]) * DAY;
    churn_txlog *mixed = NULL, *known = NULL;
    CU_ASSERT_FATAL(churn_txlog_new(&mixed) == CHURN_OK && churn_txlog_new(&known) == CHURN_OK);
    /* mixed: k1..k4 with amounts, u's order without, then k1 and h with amounts, and
     * a holdout order of h without an amount */
    CU_ASSERT(churn_txlog_append_arrays_str(mixed, 4, ids, t, amount, NULL, NULL) == CHURN_OK);
    CU_ASSERT(churn_txlog_append_arrays_str(mixed, 1, ids + 4, t + 4, NULL, NULL, NULL) == 0);
    CU_ASSERT(churn_txlog_append_arrays_str(mixed, 2, ids + 5, t + 5, amount + 5, NULL,
                                            NULL) == CHURN_OK);
    const char *h = "h";
    double th = (DAY0 + 25) * DAY;
    CU_ASSERT(churn_txlog_append_arrays_str(mixed, 1, &h, &th, NULL, NULL, NULL) == CHURN_OK);
    /* known: the same without u, and h's holdout order with an amount */
    const char *kid[] = {"k1", "k2", "k3", "k4", "k1", "h", "h"};
    const double kt[] = {t[0], t[1], t[2], t[3], t[5], t[6], th};
    const double ka[] = {50, 10, 30, 20, 40, 8, 1};
    CU_ASSERT(churn_txlog_append_arrays_str(known, 7, kid, kt, ka, NULL, NULL) == CHURN_OK);
    churn_customer_options o;
    churn_customer_options_init(&o);
    o.cutoff = (DAY0 + 20) * DAY;
    o.holdout_end = (DAY0 + 30) * DAY;
    churn_customers *tm = NULL, *tk = NULL;
    CU_ASSERT_FATAL(churn_customers_build(&tm, mixed, &o) == CHURN_OK);
    CU_ASSERT_FATAL(churn_customers_build(&tk, known, &o) == CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_customers_num_rows(tm), 6);
    CU_ASSERT_EQUAL_FATAL(churn_customers_num_rows(tk), 5);
    size_t ru, rh, rhk;
    CU_ASSERT_FATAL(churn_customers_find(tm, "u", &ru) == CHURN_OK);
    CU_ASSERT_FATAL(churn_customers_find(tm, "h", &rh) == CHURN_OK);
    CU_ASSERT_FATAL(churn_customers_find(tk, "h", &rhk) == CHURN_OK);
    for (size_t k = 0; k < sizeof spend_columns / sizeof spend_columns[0]; k++) {
        const double *cm = churn_customers_column(tm, spend_columns[k]);
        const double *ck = churn_customers_column(tk, spend_columns[k]);
        CU_ASSERT_FATAL(cm && ck);
        CU_ASSERT(isnan(cm[ru])); /* u: unknown amount in calibration */
        /* h: known in calibration, unknown in the holdout: only holdout_spend is NaN */
        int want_nan = strcmp(spend_columns[k], "holdout_spend") == 0;
        CU_ASSERT(want_nan ? isnan(cm[rh]) : same_double(cm[rh], ck[rhk]));
        /* k1..k4: as in the log without u (m_score and value_tier rank the five
         * customers whose spend is known, as the table without u does) */
        for (size_t i = 0; i < 4; i++) {
            size_t rm, rk;
            CU_ASSERT_FATAL(churn_customers_find(tm, ids[i], &rm) == CHURN_OK);
            CU_ASSERT_FATAL(churn_customers_find(tk, ids[i], &rk) == CHURN_OK);
            if (!same_double(cm[rm], ck[rk]))
                printf("\n  %s of %s: mixed %g, known %g", spend_columns[k], ids[i], cm[rm],
                       ck[rk]);
            CU_ASSERT(same_double(cm[rm], ck[rk]));
        }
    }
    /* k1 (total 90) is the key account and m_score 5 of the five known */
    size_t r1;
    CU_ASSERT_FATAL(churn_customers_find(tm, "k1", &r1) == CHURN_OK);
    CU_ASSERT_EQUAL(churn_customers_column(tm, "value_tier")[r1], CHURN_TIER_KEY);
    CU_ASSERT_EQUAL(churn_customers_column(tm, "m_score")[r1], 5);
    CU_ASSERT_EQUAL(churn_customers_column(tm, "frequency")[ru], 0); /* u's order counts */
    CU_ASSERT(isnan(churn_customers_pareto_share(tm)));
    CT_CLOSE(churn_customers_pareto_share(tk), 90.0 / 158.0, 1e-15);
    churn_customers_free(tm);
    churn_customers_free(tk);
    churn_txlog_free(mixed);
    churn_txlog_free(known);
}

/* The ranks of a mixed log allocate a packed copy of the known totals: every
 * allocation of the build failed in turn leaves ENOMEM with a message and no
 * live block, in both builders. */
static long live_blocks, alloc_count, fail_at;

static void *counting_alloc(void *ud, void *ptr, size_t nsize)
{
    (void)ud;
    if (nsize == 0) {
        live_blocks -= ptr != NULL;
        free(ptr);
        return NULL;
    }
    if (alloc_count++ == fail_at)
        return NULL;
    void *q = realloc(ptr, nsize);
    live_blocks += q && !ptr;
    return q;
}

static void test_mixed_log_out_of_memory(void)
{
    churn_txlog *log = small_log(1);
    const char *u = "u";
    double tu = (DAY0 + 1) * DAY;
    CU_ASSERT_FATAL(churn_txlog_append_arrays_str(log, 1, &u, &tu, NULL, NULL, NULL) == 0);
    const char *lists[2] = {NULL, "n_orders,total_spend,m_score,value_tier"};
    for (int k = 0; k < 2; k++) {
        churn_customer_options o = small_options(lists[k]);
        long bad = 0, n_alloc = 0;
        for (fail_at = 0;; fail_at++) {
            churn_customers *t = NULL;
            live_blocks = alloc_count = 0;
            churn_set_allocator(counting_alloc, NULL);
            int rc = churn_customers_build(&t, log, &o);
            double pareto = churn_customers_pareto_share(t);
            churn_customers_free(t);
            churn_set_allocator(NULL, NULL);
            bad += live_blocks != 0 || (rc && (rc != CHURN_ENOMEM || t != NULL));
            if (rc == CHURN_OK) {
                CU_ASSERT(isnan(pareto));
                n_alloc = fail_at;
                break;
            }
        }
        CU_ASSERT_EQUAL(bad, 0);
        CU_ASSERT(n_alloc > 5);
    }
    churn_txlog_free(log);
}

static void test_cohorts_without_amounts(void)
{
    churn_txlog *la = small_log(1), *lb = small_log(0);
    churn_cohort_options o;
    churn_cohort_options_init(&o);
    o.period = CHURN_UNIT_MONTH;
    size_t ra = 0, ka = 0, rb = 0, kb = 0;
    CU_ASSERT_FATAL(churn_customers_cohort_table(la, &o, &ra, &ka, NULL, NULL, NULL) == 0);
    CU_ASSERT_FATAL(churn_customers_cohort_table(lb, &o, &rb, &kb, NULL, NULL, NULL) == 0);
    CU_ASSERT_EQUAL_FATAL(ra, rb);
    CU_ASSERT_EQUAL_FATAL(ka, kb);
    CU_ASSERT_EQUAL(ra, 3); /* January .. March 2024 */
    double aa[9], ab[9];
    CU_ASSERT_EQUAL(churn_customers_cohort_table(la, &o, &ra, &ka, NULL, aa, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(churn_customers_cohort_table(lb, &o, &rb, &kb, NULL, ab, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(memcmp(aa, ab, sizeof aa), 0);
    CU_ASSERT_EQUAL(ab[0], 4); /* a, b, c, d joined in January */
    churn_txlog_free(la);
    churn_txlog_free(lb);
}

/* ---- the spend models refuse, naming the row and the reason ------------------- */

static void test_spend_refuses_unknown_amounts(void)
{
    churn_txlog *lb = small_log(0);
    churn_customer_options o = small_options("frequency,recency,T,monetary_value");
    churn_customers *tb = NULL;
    CU_ASSERT_FATAL(churn_customers_build(&tb, lb, &o) == CHURN_OK);
    size_t n = churn_customers_num_rows(tb);
    const double *x = churn_customers_column(tb, "frequency");
    const double *tx = churn_customers_column(tb, "recency");
    const double *T = churn_customers_column(tb, "T");
    const double *mv = churn_customers_column(tb, "monetary_value");
    churn_model *gg = NULL;
    CU_ASSERT_EQUAL(churn_gammagamma_fit(&gg, n, x, mv, NULL, NULL), CHURN_EINVAL);
    CU_ASSERT_PTR_NULL(gg);
    CU_ASSERT_STRING_EQUAL(churn_last_error_message(),
                           "churn_gammagamma_fit: row 0, column 'monetary_value' is NaN: the "
                           "spend is unknown (a log without amounts); the Gamma-Gamma model "
                           "needs the amounts of the purchases");
    /* a fitted model cannot predict the spend of such customers either */
    CU_ASSERT_FATAL(churn_model_load(&gg, CHURN_TEST_SOURCE_DIR
                                     "/data/models/golden_v1_gammagamma.json") == CHURN_OK);
    double es[8];
    CU_ASSERT_EQUAL(churn_gammagamma_expected_spend(gg, n, x, mv, es), CHURN_EINVAL);
    CU_ASSERT_STRING_EQUAL(churn_last_error_message(),
                           "churn_gammagamma_expected_spend: row 0, column 'monetary_value' is "
                           "NaN: the spend is unknown (a log without amounts); the Gamma-Gamma "
                           "model needs the amounts of the purchases");
    /* CLV: refused with or without a spend model; the discounted purchases need no
     * amounts and equal those of the log with amounts */
    const double p[4] = {0.2425945, 4.4136019, 0.7929199, 2.4258881};
    churn_model *bg = NULL;
    CU_ASSERT_FATAL(churn_btyd_model_new(&bg, CHURN_FAMILY_BGNBD, 4, p) == CHURN_OK);
    churn_clv_options co;
    churn_clv_options_init(&co);
    co.period = 4.345;
    double clv[8];
    CU_ASSERT_EQUAL(churn_clv_score(bg, NULL, &co, n, x, tx, T, mv, NULL, NULL, NULL, clv, NULL),
                    CHURN_EINVAL);
    CU_ASSERT_STRING_EQUAL(churn_last_error_message(),
                           "churn_clv_score: row 0, column 'monetary_value' (expected spend) is "
                           "NaN: the spend is unknown (a log without amounts); CLV needs amounts "
                           "(churn_clv_discounted_purchases needs none)");
    CU_ASSERT_EQUAL(churn_clv_score(bg, gg, &co, n, x, tx, T, mv, NULL, NULL, NULL, clv, NULL),
                    CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "the spend is unknown") != NULL);
    churn_txlog *la = small_log(1);
    churn_customers *ta = NULL;
    CU_ASSERT_FATAL(churn_customers_build(&ta, la, &o) == CHURN_OK);
    double da[8], db[8];
    CU_ASSERT_EQUAL(churn_clv_discounted_purchases(bg, &co, n, x, tx, T, db), CHURN_OK);
    CU_ASSERT_EQUAL(churn_clv_discounted_purchases(bg, &co, n, churn_customers_column(ta,
                    "frequency"), churn_customers_column(ta, "recency"),
                    churn_customers_column(ta, "T"), da), CHURN_OK);
    CU_ASSERT_EQUAL(memcmp(da, db, n * sizeof *da), 0);
    churn_model_free(gg);
    churn_model_free(bg);
    churn_customers_free(ta);
    churn_customers_free(tb);
    churn_txlog_free(la);
    churn_txlog_free(lb);
}

/* ---- CDNOW read without its amounts ------------------------------------------------- */

static int read_cdnow(churn_txlog **log, const char *amount_column)
{
    const char *path = churn_test_data_path("cdnow/CDNOW_sample.txt");
    if (!path)
        return 0;
    churn_csv_options o;
    churn_csv_options_init(&o);
    o.has_header = 0;
    o.delimiter = ' ';
    o.date_format = CHURN_DATE_YYYYMMDD;
    o.id_column = "1";
    o.time_column = "3";
    o.amount_column = amount_column;
    CU_ASSERT_FATAL(churn_txlog_new(log) == CHURN_OK);
    CU_ASSERT_FATAL(churn_txlog_read_csv(*log, path, &o) == CHURN_OK);
    return 1;
}

static double param(const churn_model *m, const char *name)
{
    double v = NAN;
    churn_model_param(m, name, &v, NULL);
    return v;
}

static void test_cdnow_without_amounts(void)
{
    churn_txlog *la = NULL, *lb = NULL;
    if (!read_cdnow(&la, "5") || !read_cdnow(&lb, "")) {
        churn_test_skip("cdnow_without_amounts", "../shared/data/cdnow is absent");
        return;
    }
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(lb), 6919);
    churn_customer_options o;
    churn_customer_options_init(&o);
    o.cutoff = 10134.0 * DAY; /* 1997-09-30 */
    o.holdout_end = 10407.0 * DAY; /* 1998-06-30 */
    o.time_unit = CHURN_UNIT_WEEK;
    churn_customers *ta = NULL, *tb = NULL;
    CU_ASSERT_FATAL(churn_customers_build(&ta, la, &o) == CHURN_OK);
    CU_ASSERT_FATAL(churn_customers_build(&tb, lb, &o) == CHURN_OK);
    CU_ASSERT_EQUAL(churn_customers_num_rows(tb), 2357);
    compare_tables(ta, tb);
    /* BG/NBD on the log read without amounts: the published fit (Fader, Hardie & Lee
     * 2005; the README's 7-digit values), bit for bit the fit of the log with them */
    churn_model *ma = NULL, *mb = NULL;
    const double *x = churn_customers_column(tb, "frequency");
    const double *tx = churn_customers_column(tb, "recency");
    const double *T = churn_customers_column(tb, "T");
    CU_ASSERT_FATAL(churn_btyd_fit(&mb, CHURN_FAMILY_BGNBD, 2357, x, tx, T, NULL, NULL) == 0);
    CU_ASSERT_FATAL(churn_btyd_fit(&ma, CHURN_FAMILY_BGNBD, 2357,
                                   churn_customers_column(ta, "frequency"),
                                   churn_customers_column(ta, "recency"),
                                   churn_customers_column(ta, "T"), NULL, NULL) == 0);
    CT_CLOSE(param(mb, "r"), 0.2425945, 1e-4);
    CT_CLOSE(param(mb, "alpha"), 4.4136019, 1e-4);
    CT_CLOSE(param(mb, "a"), 0.7929199, 1e-3);
    CT_CLOSE(param(mb, "b"), 2.4258881, 1e-3);
    CT_NEAR(churn_model_loglik(mb), -9582.429, 0.01);
    double pa[4], pb[4];
    CU_ASSERT_EQUAL(churn_model_params(ma, pa, 4), CHURN_OK);
    CU_ASSERT_EQUAL(churn_model_params(mb, pb, 4), CHURN_OK);
    CU_ASSERT_EQUAL(memcmp(pa, pb, sizeof pa), 0);
    /* the Gamma-Gamma fit refuses the table without amounts */
    churn_model *gg = NULL;
    CU_ASSERT_EQUAL(churn_gammagamma_fit(&gg, 2357, x,
                                         churn_customers_column(tb, "monetary_value"), NULL,
                                         NULL), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "is NaN: the spend is unknown") != NULL);

    /* the model comparison: the default features leave monetary_value out, so logit
     * sees the same five features as on the log with amounts given them by name */
    churn_comparison_options co;
    churn_comparison_options_init(&co);
    co.cutoff = o.cutoff;
    co.holdout_end = o.holdout_end;
    co.models = "bgnbd,logit";
    churn_comparison *cb = NULL, *ca = NULL;
    CU_ASSERT_FATAL(churn_metrics_compare(&cb, lb, &co) == CHURN_OK);
    co.features = "frequency,recency,T,overdue_ratio,orders_recent";
    CU_ASSERT_FATAL(churn_metrics_compare(&ca, la, &co) == CHURN_OK);
    CU_ASSERT_STRING_EQUAL(churn_comparison_note(cb, 1), "default feature(s) dropped: "
                           "'monetary_value' (the spend is unknown: a log without amounts)");
    CU_ASSERT_STRING_EQUAL(churn_comparison_note(ca, 1), "");
    for (size_t i = 0; i < 2; i++) {
        double va = NAN, vb = NAN;
        CU_ASSERT_EQUAL(churn_comparison_value(ca, i, "auc", &va), CHURN_OK);
        CU_ASSERT_EQUAL(churn_comparison_value(cb, i, "auc", &vb), CHURN_OK);
        CU_ASSERT(isfinite(va) && va > 0.5);
        CU_ASSERT_EQUAL(va, vb);
    }
    churn_comparison_free(cb);
    cb = NULL;
    co.features = "frequency,monetary_value";
    CU_ASSERT_EQUAL(churn_metrics_compare(&cb, lb, &co), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "feature 'monetary_value' is NaN for customer "
                     "'00004': the spend is unknown (a log without amounts); leave the spend "
                     "columns out of option 'features'") != NULL);
    churn_comparison_free(ca);
    churn_model_free(ma);
    churn_model_free(mb);
    churn_customers_free(ta);
    churn_customers_free(tb);
    churn_txlog_free(la);
    churn_txlog_free(lb);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"csv_without_amount_column", test_csv_without_amount_column},
        {"arrays_without_amounts", test_arrays_without_amounts},
        {"table_without_amounts", test_table_without_amounts},
        {"stream_and_state_without_amounts", test_stream_and_state_without_amounts},
        {"mixed_log", test_mixed_log},
        {"mixed_log_out_of_memory", test_mixed_log_out_of_memory},
        {"cohorts_without_amounts", test_cohorts_without_amounts},
        {"spend_refuses_unknown_amounts", test_spend_refuses_unknown_amounts},
        {"cdnow_without_amounts", test_cdnow_without_amounts},
        CU_TEST_INFO_NULL,
    };
    return churn_test_run("amount", tests);
}
