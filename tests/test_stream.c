/*
 * The one-pass customer table (option `columns`, churn_customer_stream,
 * churn_txlog_read_csv_chunked) against the grouping path of
 * churn_customers_build, which test_customers.c checks against lifetimes'
 * CDNOW summary and the incremental state: on random logs every value must
 * be identical (same doubles, not merely close).
 */
#include "churn.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define DAY 86400.0

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;
static double urand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

typedef struct rtx {
    double time, amount;
    size_t cust, row;
} rtx;

static int cmp_time(const void *a, const void *b)
{
    const rtx *x = a, *y = b;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

static int cmp_cust_time(const void *a, const void *b)
{
    const rtx *x = a, *y = b;
    if (x->cust != y->cust)
        return x->cust < y->cust ? -1 : 1;
    return cmp_time(a, b);
}

/* A random log: C customers over ~500 days, with same-second and same-day
 * orders, refunds, zero-value orders, some customers first seen late.
 * Rows in the order given by `order`: 0 by time, 1 by customer then time,
 * 2 shuffled. */
static rtx *random_rows(size_t C, size_t *n_out, int order)
{
    size_t cap = 64, n = 0;
    rtx *tx = malloc(cap * sizeof *tx);
    double base = 1577836800.0; /* 2020-01-01 */
    for (size_t c = 0; c < C; c++) {
        size_t k = 1 + (size_t)(urand() * (c % 9 == 0 ? 50 : 8));
        double t = base + floor(urand() * 400) * DAY + floor(urand() * 80000);
        for (size_t j = 0; j < k; j++) {
            double u = urand();
            t += u < 0.1 ? 0 : u < 0.35 ? floor(urand() * 5000) : floor(urand() * 30) * DAY;
            double a = urand() < 0.08 ? -floor(urand() * 3000) / 100
                       : urand() < 0.08 ? 0
                                        : floor(urand() * 10000) / 100;
            if (n == cap) {
                cap *= 2;
                tx = realloc(tx, cap * sizeof *tx);
            }
            tx[n].time = t;
            tx[n].amount = a;
            tx[n].cust = c;
            tx[n].row = n;
            n++;
        }
    }
    if (order == 0)
        qsort(tx, n, sizeof *tx, cmp_time);
    else if (order == 1)
        qsort(tx, n, sizeof *tx, cmp_cust_time);
    else
        for (size_t i = n; i > 1; i--) {
            size_t j = (size_t)(urand() * i);
            rtx a = tx[i - 1];
            tx[i - 1] = tx[j];
            tx[j] = a;
        }
    *n_out = n;
    return tx;
}

static void append_rows(churn_txlog *log, const rtx *tx, size_t lo, size_t hi)
{
    char id[24];
    for (size_t i = lo; i < hi; i++) {
        snprintf(id, sizeof id, "cust%zu", tx[i].cust);
        CU_ASSERT_EQUAL_FATAL(churn_txlog_append(log, id, tx[i].time, tx[i].amount), CHURN_OK);
    }
}

/* Every column of `sub` equals the same column of `full`, row by row and id
 * by id; returns the number of values compared. */
static size_t compare_tables(const churn_customers *sub, const churn_customers *full,
                             size_t *mismatches)
{
    size_t N = churn_customers_num_rows(full), checked = 0;
    CU_ASSERT_EQUAL_FATAL(churn_customers_num_rows(sub), N);
    CU_ASSERT_EQUAL(churn_customers_num_excluded(sub), churn_customers_num_excluded(full));
    for (size_t r = 0; r < N; r++)
        CU_ASSERT_STRING_EQUAL(churn_customers_id(sub, r), churn_customers_id(full, r));
    for (size_t j = 0; j < churn_customers_num_columns(sub); j++) {
        const char *name = churn_customers_column_name(sub, j);
        const double *a = churn_customers_column_at(sub, j);
        const double *b = churn_customers_column(full, name);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        for (size_t r = 0; r < N; r++) {
            checked++;
            /* bitwise: -0.0 and 0.0 or two NaNs would differ (none expected) */
            if (memcmp(&a[r], &b[r], sizeof(double)) != 0) {
                if (*mismatches < 10)
                    printf("\n  %s row %zu: one pass %.17g grouping %.17g", name, r, a[r], b[r]);
                (*mismatches)++;
            }
        }
    }
    CU_ASSERT_EQUAL(churn_customers_repeat_rate(sub), churn_customers_repeat_rate(full));
    double c1, c2;
    if (churn_customers_churn_rate(full, &c2) == CHURN_OK) {
        CU_ASSERT_EQUAL_FATAL(churn_customers_churn_rate(sub, &c1), CHURN_OK);
        CU_ASSERT_EQUAL(c1, c2);
    }
    return checked;
}

/* Every column except the two that need grouping, as a `columns` list. */
static void streamable_columns(const churn_customers *full, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (size_t j = 0; j < churn_customers_num_columns(full); j++) {
        const char *name = churn_customers_column_name(full, j);
        if (strcmp(name, "gap_median") == 0 || strcmp(name, "n_products") == 0)
            continue;
        if (buf[0])
            strncat(buf, ", ", cap - strlen(buf) - 1);
        strncat(buf, name, cap - strlen(buf) - 1);
    }
}

static void set_options(churn_customer_options *o, int rep)
{
    static const double units[] = {CHURN_UNIT_DAY, CHURN_UNIT_WEEK, CHURN_UNIT_MONTH, 2.5};
    churn_customer_options_init(o);
    o->time_unit = units[rep % 4];
    o->same_day_once = rep % 2 == 0;
    o->first_purchase_counts = rep % 3 == 0;
    o->trend_window = 30 + 20 * (rep % 3);
    o->cutoff = 1577836800.0 + (300 + 20 * rep) * DAY + 3600;
    if (rep % 4 != 3) {
        o->holdout_end = o->cutoff + (60 + 10 * rep) * DAY;
        o->inactivity_threshold = rep % 2 ? 0 : 4;
    }
}

/* churn_customers_build with a `columns` list (one pass on ordered logs,
 * grouping fallback on shuffled ones) == the full grouping build. */
static void test_columns_equal_full_build(void)
{
    size_t checked = 0, mismatches = 0;
    for (int rep = 0; rep < 12; rep++) {
        size_t n;
        rtx *tx = random_rows(150, &n, rep % 3);
        churn_txlog *log = NULL;
        CU_ASSERT_EQUAL_FATAL(churn_txlog_new(&log), CHURN_OK);
        append_rows(log, tx, 0, n);
        churn_customer_options o;
        set_options(&o, rep);
        churn_customers *full = NULL, *sub = NULL;
        CU_ASSERT_EQUAL_FATAL(churn_customers_build(&full, log, &o), CHURN_OK);
        char cols[1024];
        streamable_columns(full, cols, sizeof cols);
        o.columns = cols;
        CU_ASSERT_EQUAL_FATAL(churn_customers_build(&sub, log, &o), CHURN_OK);
        CU_ASSERT_EQUAL(churn_customers_num_columns(sub), churn_customers_num_columns(full) - 2);
        CU_ASSERT_PTR_NULL(churn_customers_column(sub, "gap_median"));
        CU_ASSERT(strstr(churn_last_error_message(), "columns") != NULL);
        checked += compare_tables(sub, full, &mismatches);
        CU_ASSERT_EQUAL(churn_customers_pareto_share(sub), churn_customers_pareto_share(full));
        churn_customers_free(sub);
        /* a small list, in another order: canonical order, pareto not computed */
        o.columns = " T ,frequency,monetary_value , recency";
        CU_ASSERT_EQUAL_FATAL(churn_customers_build(&sub, log, &o), CHURN_OK);
        CU_ASSERT_EQUAL(churn_customers_num_columns(sub), 4);
        CU_ASSERT_STRING_EQUAL(churn_customers_column_name(sub, 0), "frequency");
        CU_ASSERT_STRING_EQUAL(churn_customers_column_name(sub, 2), "T");
        CU_ASSERT(isnan(churn_customers_pareto_share(sub)));
        checked += compare_tables(sub, full, &mismatches);
        churn_customers_free(sub);
        /* with a grouping column the subset comes from the grouping path */
        o.columns = "gap_median,n_orders,r_score";
        CU_ASSERT_EQUAL_FATAL(churn_customers_build(&sub, log, &o), CHURN_OK);
        checked += compare_tables(sub, full, &mismatches);
        churn_customers_free(sub);
        churn_customers_free(full);
        churn_txlog_free(log);
        free(tx);
    }
    CU_ASSERT_EQUAL(mismatches, 0);
    printf("\n  %zu values compared, %zu differ", checked, mismatches);
}

static int fold_cb(churn_txlog *log, void *ud)
{
    (void)log;
    return churn_customer_stream_fold(ud);
}

/* A stream fed in random chunks == the full build, for ordered logs. */
static void test_stream_equals_build(void)
{
    size_t checked = 0, mismatches = 0;
    for (int rep = 0; rep < 12; rep++) {
        size_t n;
        rtx *tx = random_rows(120, &n, rep % 2);
        churn_txlog *log = NULL;
        CU_ASSERT_EQUAL_FATAL(churn_txlog_new(&log), CHURN_OK);
        append_rows(log, tx, 0, n);
        churn_customer_options o;
        set_options(&o, rep);
        churn_customers *full = NULL, *streamed = NULL;
        CU_ASSERT_EQUAL_FATAL(churn_customers_build(&full, log, &o), CHURN_OK);
        if (rep % 3 == 2)
            o.columns = "frequency,recency,T,monetary_value,r_score,value_tier";
        churn_customer_stream *s = NULL;
        CU_ASSERT_EQUAL_FATAL(churn_customer_stream_new(&s, &o), CHURN_OK);
        o.columns = "garbage"; /* the stream keeps its own copy */
        churn_txlog *slog = churn_customer_stream_log(s);
        CU_ASSERT_PTR_NOT_NULL_FATAL(slog);
        size_t done = 0;
        while (done < n) {
            size_t k = 1 + (size_t)(urand() * (double)(n / 4));
            if (k > n - done)
                k = n - done;
            append_rows(slog, tx, done, done + k);
            done += k;
            CU_ASSERT_EQUAL_FATAL(churn_customer_stream_fold(s), CHURN_OK);
            CU_ASSERT_EQUAL(churn_txlog_num_transactions(slog), 0);
            CU_ASSERT_EQUAL(churn_customer_stream_rows_folded(s), done);
        }
        CU_ASSERT_EQUAL_FATAL(churn_customer_stream_finish(s, &streamed), CHURN_OK);
        CU_ASSERT_EQUAL(churn_customer_stream_fold(s), CHURN_EINVAL); /* finished */
        size_t expect = rep % 3 == 2 ? 6 : churn_customers_num_columns(full) - 2;
        CU_ASSERT_EQUAL(churn_customers_num_columns(streamed), expect);
        checked += compare_tables(streamed, full, &mismatches);
        churn_customers_free(streamed);
        churn_customer_stream_free(s);
        churn_customers_free(full);
        churn_txlog_free(log);
        free(tx);
    }
    CU_ASSERT_EQUAL(mismatches, 0);
    printf("\n  %zu values compared, %zu differ", checked, mismatches);
}

/* CSV read in chunks into a stream == the batch table of the whole file. */
static void test_stream_csv_chunked(void)
{
    size_t n;
    rtx *tx = random_rows(200, &n, 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/stream_chunked.csv", churn_test_tmp_dir());
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fprintf(f, "customer_id,date,amount\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "cust%zu,%.0f,%.2f\n", tx[i].cust, tx[i].time, tx[i].amount);
    fclose(f);
    churn_csv_options co = CHURN_CSV_OPTIONS_INIT;
    co.date_format = CHURN_DATE_EPOCH;
    churn_txlog *log = NULL;
    churn_txlog_new(&log);
    CU_ASSERT_EQUAL_FATAL(churn_txlog_read_csv(log, path, &co), CHURN_OK);
    churn_customer_options o;
    set_options(&o, 0);
    churn_customers *full = NULL, *streamed = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_customers_build(&full, log, &o), CHURN_OK);
    churn_customer_stream *s = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_customer_stream_new(&s, &o), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_txlog_read_csv_chunked(churn_customer_stream_log(s), path, &co,
                                                       37, fold_cb, s),
                          CHURN_OK);
    CU_ASSERT_EQUAL(churn_customer_stream_rows_folded(s), n);
    CU_ASSERT_EQUAL(churn_txlog_rows_read(churn_customer_stream_log(s)), n);
    CU_ASSERT_EQUAL_FATAL(churn_customer_stream_finish(s, &streamed), CHURN_OK);
    size_t mismatches = 0;
    size_t checked = compare_tables(streamed, full, &mismatches);
    CU_ASSERT_EQUAL(mismatches, 0);
    printf("\n  %zu rows in chunks of 37: %zu values compared, %zu differ", n, checked,
           mismatches);
    churn_customers_free(streamed);
    churn_customer_stream_free(s);

    /* a bad line after several chunks: the error names it, the rows of the
     * chunks before it stay folded, the rows after the last chunk are gone */
    f = fopen(path, "a");
    fprintf(f, "custX,notadate,1.00\n");
    fclose(f);
    CU_ASSERT_EQUAL_FATAL(churn_customer_stream_new(&s, &o), CHURN_OK);
    churn_txlog *slog = churn_customer_stream_log(s);
    CU_ASSERT_EQUAL(churn_txlog_read_csv_chunked(slog, path, &co, 37, fold_cb, s),
                    CHURN_EFORMAT);
    char line[32];
    snprintf(line, sizeof line, "line %zu", n + 2);
    CU_ASSERT(strstr(churn_last_error_message(), line) != NULL);
    CU_ASSERT_EQUAL(churn_customer_stream_rows_folded(s), n / 37 * 37);
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(slog), 0);
    churn_customer_stream_free(s);

    /* a callback that stops the read */
    churn_txlog *l2 = NULL;
    churn_txlog_new(&l2);
    CU_ASSERT_EQUAL(churn_txlog_read_csv_chunked(l2, path, &co, 0, fold_cb, NULL), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_txlog_read_csv_chunked(l2, path, &co, 5, NULL, NULL), CHURN_EINVAL);
    churn_txlog_free(l2);
    remove(path);
    churn_customers_free(full);
    churn_txlog_free(log);
    free(tx);
}

static void test_stream_errors(void)
{
    churn_customer_stream *s = NULL;
    churn_customer_options o = CHURN_CUSTOMER_OPTIONS_INIT;
    CU_ASSERT_EQUAL(churn_customer_stream_new(&s, &o), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "'cutoff'") != NULL);
    CU_ASSERT_PTR_NULL(s);
    o.cutoff = 1600000000.0;
    o.columns = "frequency,gap_median";
    CU_ASSERT_EQUAL(churn_customer_stream_new(&s, &o), CHURN_EUNSUPPORTED);
    CU_ASSERT(strstr(churn_last_error_message(), "gap_median") != NULL);
    o.columns = "frequency,bogus_col";
    CU_ASSERT_EQUAL(churn_customer_stream_new(&s, &o), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "'bogus_col'") != NULL);
    o.columns = "frequency,,T";
    CU_ASSERT_EQUAL(churn_customer_stream_new(&s, &o), CHURN_EINVAL);
    o.columns = "";
    CU_ASSERT_EQUAL(churn_customer_stream_new(&s, &o), CHURN_EINVAL);
    o.columns = "churned";
    CU_ASSERT_EQUAL(churn_customer_stream_new(&s, &o), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "holdout_end") != NULL);
    /* the same messages from churn_customers_build */
    churn_txlog *log = NULL;
    churn_txlog_new(&log);
    churn_txlog_append(log, "a", 1599000000.0, 10);
    churn_customers *t = NULL;
    o.columns = "frequency;recency";
    CU_ASSERT_EQUAL(churn_customers_build(&t, log, &o), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "frequency;recency") != NULL);
    CU_ASSERT_PTR_NULL(t);
    churn_txlog_free(log);
    CU_ASSERT_EQUAL(churn_customer_stream_fold(NULL), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_customer_stream_finish(NULL, &t), CHURN_EINVAL);
    CU_ASSERT_PTR_NULL(churn_customer_stream_log(NULL));
    churn_customer_stream_free(NULL);

    /* out of order for one customer: named, and the stream is unusable */
    o.columns = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_customer_stream_new(&s, &o), CHURN_OK);
    churn_txlog *slog = churn_customer_stream_log(s);
    churn_txlog_append(slog, "alice", 1590000000.0, 10);
    churn_txlog_append(slog, "bob", 1590000000.0, 10);
    CU_ASSERT_EQUAL(churn_customer_stream_fold(s), CHURN_OK);
    churn_txlog_append(slog, "bob", 1591000000.0, 10);
    churn_txlog_append(slog, "alice", 1589000000.0, 5); /* before her first */
    CU_ASSERT_EQUAL(churn_customer_stream_fold(s), CHURN_EINVAL);
    const char *m = churn_last_error_message();
    CU_ASSERT(strstr(m, "'alice'") != NULL && strstr(m, "transaction 4") != NULL);
    CU_ASSERT_EQUAL(churn_customer_stream_finish(s, &t), CHURN_EINVAL);
    CU_ASSERT_PTR_NULL(t);
    churn_customer_stream_free(s);

    /* rows after the holdout end are ignored, even out of order; customers
     * seen only then are excluded and counted */
    o.holdout_end = o.cutoff + 30 * DAY;
    CU_ASSERT_EQUAL_FATAL(churn_customer_stream_new(&s, &o), CHURN_OK);
    slog = churn_customer_stream_log(s);
    churn_txlog_append(slog, "alice", o.cutoff - 5 * DAY, 10);
    churn_txlog_append(slog, "alice", o.cutoff + 90 * DAY, 10);
    churn_txlog_append(slog, "alice", o.cutoff + 10 * DAY, 7);
    churn_txlog_append(slog, "carol", o.cutoff + 60 * DAY, 3);
    CU_ASSERT_EQUAL_FATAL(churn_customer_stream_finish(s, &t), CHURN_OK);
    CU_ASSERT_EQUAL(churn_customers_num_rows(t), 1);
    CU_ASSERT_EQUAL(churn_customers_num_excluded(t), 1);
    CU_ASSERT_EQUAL(churn_customers_column(t, "holdout_spend")[0], 7.0);
    churn_customers_free(t);
    churn_customer_stream_free(s);
}


/* Every allocation of a one-pass build and of a stream fails in turn:
 * CHURN_ENOMEM, nothing leaked (ASan), and the stream survives a failed fold. */
static void test_stream_allocation_failures(void)
{
    size_t n;
    rtx *tx = random_rows(40, &n, 0);
    churn_txlog *log = NULL;
    churn_txlog_new(&log);
    append_rows(log, tx, 0, n);
    churn_customer_options o;
    set_options(&o, 1);
    o.columns = "frequency,recency,T,monetary_value,r_score,rfm_segment,churned";
    churn_customers *ref = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_customers_build(&ref, log, &o), CHURN_OK);
    int succeeded = 0, nomem = 0;
    churn_set_allocator(churn_test_failing_alloc, NULL);
    for (long k = 0; k < 100 && !succeeded; k++) {
        churn_test_alloc_countdown = k;
        churn_customers *t = NULL;
        int rc = churn_customers_build(&t, log, &o);
        if (rc == CHURN_OK)
            succeeded = 1;
        else
            nomem += rc == CHURN_ENOMEM;
        CU_ASSERT(rc == CHURN_OK || rc == CHURN_ENOMEM);
        churn_customers_free(t);
    }
    CU_ASSERT(succeeded && nomem > 3);
    succeeded = 0;
    for (long k = 0; k < 400 && !succeeded; k++) {
        churn_test_alloc_countdown = k;
        churn_customer_stream *s = NULL;
        churn_customers *t = NULL;
        int rc = churn_customer_stream_new(&s, &o);
        if (rc == CHURN_OK) {
            /* appends may fail too: retry each row until it is in */
            for (size_t i = 0; i < n && rc == CHURN_OK; i++) {
                char id[24];
                snprintf(id, sizeof id, "cust%zu", tx[i].cust);
                rc = churn_txlog_append(churn_customer_stream_log(s), id, tx[i].time,
                                        tx[i].amount);
                if (rc == CHURN_OK && i % 50 == 49)
                    rc = churn_customer_stream_fold(s);
            }
            if (rc == CHURN_OK)
                rc = churn_customer_stream_finish(s, &t);
        }
        CU_ASSERT(rc == CHURN_OK || rc == CHURN_ENOMEM);
        if (rc == CHURN_OK) {
            churn_test_alloc_countdown = -1;
            size_t mismatches = 0;
            compare_tables(t, ref, &mismatches);
            CU_ASSERT_EQUAL(mismatches, 0);
            succeeded = 1;
        }
        churn_customers_free(t);
        churn_customer_stream_free(s);
    }
    churn_test_alloc_countdown = -1;
    churn_set_allocator(NULL, NULL);
    CU_ASSERT(succeeded);
    churn_customers_free(ref);
    churn_txlog_free(log);
    free(tx);
}

/* Issue 19 item 1: a sum of amounts beyond the largest double is CHURN_ENUMERIC
 * naming the customer and the column, in the one-pass, grouping and streaming
 * builders, and only when a column that reads it is asked for. */
static void expect_overflow(int rc, const char *column)
{
    CU_ASSERT_EQUAL(rc, CHURN_ENUMERIC);
    const char *m = churn_last_error_message();
    CU_ASSERT(strstr(m, "customer 'big'") != NULL);
    CU_ASSERT(strstr(m, column) != NULL);
    CU_ASSERT(strstr(m, "overflows") != NULL);
}

static void test_amount_overflow(void)
{
    churn_txlog *log = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_txlog_new(&log), CHURN_OK);
    const double day = 86400.0;
    CU_ASSERT_EQUAL(churn_txlog_append(log, "ok", 1 * day, 10.0), CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_append(log, "big", 2 * day, 1e308), CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_append(log, "big", 3 * day, 1e308), CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_append(log, "ok", 4 * day, 20.0), CHURN_OK);
    churn_customer_options o = CHURN_CUSTOMER_OPTIONS_INIT;
    o.cutoff = 10 * day;
    churn_customers *t = NULL;
    /* every column (grouping path) */
    expect_overflow(churn_customers_build(&t, log, &o), "total_spend");
    CU_ASSERT_PTR_NULL(t);
    /* one pass; monetary_value (the repeat order's 1e308) is finite, the total is not */
    o.columns = "frequency,recency,T,monetary_value,total_spend";
    expect_overflow(churn_customers_build(&t, log, &o), "total_spend");
    o.columns = "frequency,gap_median,net_spend"; /* grouping: net_spend = inf - 0 */
    expect_overflow(churn_customers_build(&t, log, &o), "net_spend");
    /* no column reads the sums: the table builds, with the right counts */
    o.columns = "frequency,recency,T,monetary_value";
    CU_ASSERT_EQUAL_FATAL(churn_customers_build(&t, log, &o), CHURN_OK);
    size_t r = 0;
    CU_ASSERT_EQUAL(churn_customers_find(t, "big", &r), CHURN_OK);
    CU_ASSERT_EQUAL(churn_customers_column(t, "frequency")[r], 1.0);
    CU_ASSERT_EQUAL(churn_customers_column(t, "monetary_value")[r], 1e308);
    churn_customers_free(t);
    t = NULL;
    /* the streaming builder */
    o.columns = "frequency,mean_order_value";
    churn_customer_stream *s = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_customer_stream_new(&s, &o), CHURN_OK);
    churn_txlog *sl = churn_customer_stream_log(s);
    churn_txlog_append(sl, "ok", 1 * day, 10.0);
    churn_txlog_append(sl, "big", 2 * day, 1e308);
    churn_txlog_append(sl, "big", 3 * day, 1e308);
    expect_overflow(churn_customer_stream_finish(s, &t), "mean_order_value");
    CU_ASSERT_PTR_NULL(t);
    churn_customer_stream_free(s);
    /* refunds: returns_amount = 2e308 */
    churn_txlog *lr = NULL;
    churn_txlog_new(&lr);
    churn_txlog_append(lr, "big", 1 * day, 5.0);
    churn_txlog_append(lr, "big", 2 * day, -1e308);
    churn_txlog_append(lr, "big", 3 * day, -1e308);
    o.columns = "returns_amount";
    expect_overflow(churn_customers_build(&t, lr, &o), "returns_amount");
    churn_txlog_free(lr);
    churn_txlog_free(log);
}

/* Issue 19 item 6: emit_alloc took column offsets from the table's block before
 * checking it (UBSan under .ci/quickstart: zero offset applied to a null pointer).
 * Failing the first allocation of finish() after the folds reaches that block:
 * CHURN_ENOMEM with a message, no table. */
static void test_stream_finish_nomem(void)
{
    churn_customer_options o = CHURN_CUSTOMER_OPTIONS_INIT;
    o.cutoff = 10 * 86400.0;
    o.columns = "frequency,recency";
    int failed = 0, ok = 0;
    for (long k = 0; k < 40 && !ok; k++) {
        churn_customer_stream *s = NULL;
        CU_ASSERT_EQUAL_FATAL(churn_customer_stream_new(&s, &o), CHURN_OK);
        churn_txlog *sl = churn_customer_stream_log(s);
        churn_txlog_append(sl, "a", 86400.0, 1.0);
        churn_txlog_append(sl, "a", 2 * 86400.0, 1.0);
        CU_ASSERT_EQUAL(churn_customer_stream_fold(s), CHURN_OK);
        churn_customers *t = NULL;
        churn_set_allocator(churn_test_failing_alloc, NULL);
        churn_test_alloc_countdown = k;
        int rc = churn_customer_stream_finish(s, &t);
        churn_test_alloc_countdown = -1;
        churn_set_allocator(NULL, NULL);
        CU_ASSERT(rc == CHURN_OK || rc == CHURN_ENOMEM);
        if (rc == CHURN_ENOMEM) {
            failed++;
            CU_ASSERT_PTR_NULL(t);
            CU_ASSERT(strstr(churn_last_error_message(), "memory") != NULL);
        }
        ok = rc == CHURN_OK;
        churn_customers_free(t);
        churn_customer_stream_free(s);
    }
    CU_ASSERT(ok && failed >= 1);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"columns option: subset == full build, ordered and shuffled logs",
         test_columns_equal_full_build},
        {"stream in chunks == full build", test_stream_equals_build},
        {"CSV read in chunks into a stream", test_stream_csv_chunked},
        {"stream errors", test_stream_errors},
        {"allocation failures (one pass, stream)", test_stream_allocation_failures},
        {"a sum of amounts that overflows names the customer", test_amount_overflow},
        {"finish() with the table's block failing to allocate", test_stream_finish_nomem},
        CU_TEST_INFO_NULL,
    };
    return churn_test_run("stream", tests);
}
