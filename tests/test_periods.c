/*
 * Calendar periods of the customer table (churn_customer_options.period) and
 * BG/BB's P(alive) at the next opportunity (churn_bgbb_p_alive_at): issue 17,
 * items 5 and 6.
 *
 * References: dates written out by hand (checked with Python's datetime),
 * libc's gmtime_r as an independent calendar for random logs, the published
 * BG/BB fit and P(alive) table of Fader, Hardie & Shang (2010), and a BG/BB
 * simulation with known parameters that goes from transactions to a fit.
 */
#define _POSIX_C_SOURCE 200809L
#include "churn.h"
#include "testutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY 86400.0

/* Seconds since the epoch of midnight UTC on YYYY-MM-DD. */
static double date(const char *s)
{
    double t = 0;
    CU_ASSERT_EQUAL_FATAL(churn_parse_date(s, strlen(s), CHURN_DATE_ISO, &t), CHURN_OK);
    return t;
}

static double col(const churn_customers *t, const char *name, size_t row)
{
    const double *c = churn_customers_column(t, name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    return c[row];
}

static size_t row_of(const churn_customers *t, const char *id)
{
    size_t r = 0;
    CU_ASSERT_EQUAL_FATAL(churn_customers_find(t, id, &r), CHURN_OK);
    return r;
}

static int msg_has(const char *a, const char *b)
{
    const char *m = churn_last_error_message();
    int ok = strstr(m, a) != NULL && (!b || strstr(m, b) != NULL);
    if (!ok)
        printf("\n  message: %s", m);
    return ok;
}

/* ---- hand-made log: every kind of period -------------------------------------- */

/* A: 2019-03-15 (10), 2019-11-02 (20), 2021-01-01 (40); B: Saturday
 * 2023-06-24, Sunday 06-25, Monday 06-26 (5 each); C: 1968-12-31 (1),
 * Sunday 1969-12-28 (2), Monday 1969-12-29 (3), before 1970 (negative days).
 * Cutoff 2023-06-30 (a Friday). Expected values from Python's datetime. */
static churn_txlog *hand_log(void)
{
    churn_txlog *log = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_txlog_new(&log), CHURN_OK);
    static const struct {
        const char *id, *day;
        double amount;
    } rows[] = {
        {"A", "2019-03-15", 10}, {"B", "2023-06-24", 5}, {"C", "1968-12-31", 1},
        {"A", "2019-11-02", 20}, {"B", "2023-06-25", 5}, {"C", "1969-12-28", 2},
        {"A", "2021-01-01", 40}, {"B", "2023-06-26", 5}, {"C", "1969-12-29", 3},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        CU_ASSERT_EQUAL_FATAL(churn_txlog_append(log, rows[i].id, date(rows[i].day) + 3600 * i,
                                                 rows[i].amount),
                              CHURN_OK);
    return log;
}

typedef struct expect {
    const char *id;
    double freq, rec, T, first, last;
} expect;

static void check_kind(int period, const expect *e, double unit, const char *columns)
{
    churn_txlog *log = hand_log();
    churn_customer_options o;
    churn_customer_options_init(&o);
    o.cutoff = date("2023-06-30") + 7200;
    o.period = period;
    o.columns = columns;
    churn_customers *t = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_customers_build(&t, log, &o), CHURN_OK);
    CU_ASSERT_EQUAL(churn_customers_period(t), period);
    CU_ASSERT_EQUAL(churn_customers_time_unit(t), unit);
    CU_ASSERT_EQUAL(churn_customers_cutoff(t), date("2023-06-30"));
    for (int i = 0; i < 3; i++) {
        size_t r = row_of(t, e[i].id);
        CT_NEAR(col(t, "frequency", r), e[i].freq, 0);
        CT_NEAR(col(t, "recency", r), e[i].rec, 0);
        CT_NEAR(col(t, "T", r), e[i].T, 0);
        CT_NEAR(col(t, "first_purchase", r), e[i].first, 0);
        CT_NEAR(col(t, "last_purchase", r), e[i].last, 0);
        CT_NEAR(col(t, "time_since_last", r), e[i].T - e[i].rec, 0);
    }
    churn_customers_free(t);
    churn_txlog_free(log);
}

static const char one_pass[] = "frequency,recency,T,first_purchase,last_purchase,time_since_last";

static void test_weeks(void)
{
    /* weeks start on Monday: B's Saturday and Sunday are one week, Monday the next */
    static const expect e[] = {{"A", 2, 94, 224, 17966, 18624},
                               {"B", 1, 1, 1, 19527, 19534},
                               {"C", 2, 52, 2843, -367, -3}};
    check_kind(CHURN_PERIOD_WEEK, e, CHURN_UNIT_WEEK, NULL);
    check_kind(CHURN_PERIOD_WEEK, e, CHURN_UNIT_WEEK, one_pass);
}

static void test_months(void)
{
    static const expect e[] = {{"A", 2, 22, 51, 17956, 18628},
                               {"B", 0, 0, 0, 19509, 19509},
                               {"C", 1, 12, 654, -396, -31}};
    check_kind(CHURN_PERIOD_MONTH, e, CHURN_UNIT_MONTH, NULL);
    check_kind(CHURN_PERIOD_MONTH, e, CHURN_UNIT_MONTH, one_pass);
}

static void test_quarters(void)
{
    static const expect e[] = {{"A", 2, 8, 17, 17897, 18628},
                               {"B", 0, 0, 0, 19448, 19448},
                               {"C", 1, 4, 218, -457, -92}};
    check_kind(CHURN_PERIOD_QUARTER, e, CHURN_UNIT_QUARTER, NULL);
    check_kind(CHURN_PERIOD_QUARTER, e, CHURN_UNIT_QUARTER, one_pass);
}

static void test_years(void)
{
    static const expect e[] = {{"A", 1, 2, 4, 17897, 18628},
                               {"B", 0, 0, 0, 19358, 19358},
                               {"C", 1, 1, 55, -731, -365}};
    check_kind(CHURN_PERIOD_YEAR, e, CHURN_UNIT_YEAR, NULL);
    check_kind(CHURN_PERIOD_YEAR, e, CHURN_UNIT_YEAR, one_pass);
    /* the purchases of a year are one purchase: A's 2019 is worth 10 + 20 */
    churn_txlog *log = hand_log();
    churn_customer_options o;
    churn_customer_options_init(&o);
    o.period = CHURN_PERIOD_YEAR;
    o.time_unit = CHURN_UNIT_YEAR; /* the nominal length is accepted too */
    churn_customers *t = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_customers_build(&t, log, &o), CHURN_OK);
    size_t a = row_of(t, "A");
    CT_NEAR(col(t, "n_orders", a), 2, 0);
    CT_NEAR(col(t, "monetary_value", a), 40, 0);
    CT_NEAR(col(t, "mean_order_value", a), 35, 0);
    CT_NEAR(col(t, "gap_mean", a), 2, 0);
    CT_NEAR(col(t, "gap_median", a), 2, 0);
    churn_customers_free(t);
    churn_txlog_free(log);
}

/* ---- the holdout and a cutoff inside a period ------------------------------------ */

/* Cutoff 2020-06-30 (mid-year), holdout end 2022-03-01, yearly periods. P
 * buys in 2019, on 2020-03-01 (calibration), 2020-09-01 (after the cutoff,
 * in the cutoff's year: in neither), 2021-02-01 and 2021-05-01 (one holdout
 * purchase), 2022-02-01 (a second) and 2022-06-01 (after the holdout end).
 * Q buys on 2019-05-01 and 2020-09-01 only: no holdout purchase. */
static void test_holdout(void)
{
    churn_txlog *log = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_txlog_new(&log), CHURN_OK);
    const char *p[] = {"2019-05-01", "2020-03-01", "2020-09-01", "2021-02-01",
                       "2021-05-01", "2022-02-01", "2022-06-01"};
    for (size_t i = 0; i < 7; i++)
        CU_ASSERT_EQUAL(churn_txlog_append(log, "P", date(p[i]), 10.0 * (double)(i + 1)),
                        CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_append(log, "Q", date("2019-05-01"), 1), CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_append(log, "Q", date("2020-09-01"), 1), CHURN_OK);
    for (int pass = 0; pass < 3; pass++) {
        churn_customer_options o;
        churn_customer_options_init(&o);
        o.cutoff = date("2020-06-30");
        o.holdout_end = date("2022-03-01");
        o.period = CHURN_PERIOD_YEAR;
        if (pass == 1)
            o.columns = "frequency,recency,T,monetary_value,holdout_purchases,holdout_spend,"
                        "churned,duration,event";
        churn_customers *t = NULL;
        if (pass < 2) {
            CU_ASSERT_EQUAL_FATAL(churn_customers_build(&t, log, &o), CHURN_OK);
        } else {
            /* the streaming builder, chunk by chunk */
            o.columns = "frequency,recency,T,monetary_value,holdout_purchases,holdout_spend,"
                        "churned,duration,event";
            churn_customer_stream *s = NULL;
            CU_ASSERT_EQUAL_FATAL(churn_customer_stream_new(&s, &o), CHURN_OK);
            const char *ids[] = {"P", "Q"};
            const double *tm = churn_txlog_times(log), *am = churn_txlog_amounts(log);
            const uint32_t *cu = churn_txlog_customers(log);
            for (size_t i = 0; i < churn_txlog_num_transactions(log); i++) {
                CU_ASSERT_EQUAL(churn_txlog_append(churn_customer_stream_log(s), ids[cu[i]], tm[i],
                                                   am[i]),
                                CHURN_OK);
                if (i % 3 == 2)
                    CU_ASSERT_EQUAL(churn_customer_stream_fold(s), CHURN_OK);
            }
            CU_ASSERT_EQUAL_FATAL(churn_customer_stream_finish(s, &t), CHURN_OK);
            churn_customer_stream_free(s);
        }
        size_t r = row_of(t, "P");
        CT_NEAR(col(t, "frequency", r), 1, 0);
        CT_NEAR(col(t, "recency", r), 1, 0);
        CT_NEAR(col(t, "T", r), 1, 0);
        CT_NEAR(col(t, "monetary_value", r), 20, 0);
        CT_NEAR(col(t, "holdout_purchases", r), 2, 0);
        CT_NEAR(col(t, "holdout_spend", r), 40 + 50 + 60, 0);
        CT_NEAR(col(t, "churned", r), 0, 0);
        /* default threshold = the holdout's 2 years; last purchase 2022: censored
         * at the holdout end's year, 2022 - 2019 */
        CT_NEAR(col(t, "event", r), 0, 0);
        CT_NEAR(col(t, "duration", r), 3, 0);
        r = row_of(t, "Q");
        CT_NEAR(col(t, "frequency", r), 0, 0);
        CT_NEAR(col(t, "T", r), 1, 0);
        CT_NEAR(col(t, "holdout_purchases", r), 0, 0);
        CT_NEAR(col(t, "churned", r), 1, 0);
        /* last purchase 2019 + 2 years <= 2022: lapsed at 2021, 2 years after 2019 */
        CT_NEAR(col(t, "event", r), 1, 0);
        CT_NEAR(col(t, "duration", r), 2, 0);
        churn_customers_free(t);
    }
    churn_txlog_free(log);
}

/* ---- the boundary: a yearly log dated January 1 ------------------------ */

/* Seven yearly donations (1995 .. 2001 on January 1) and one (1995 only),
 * cutoff 2002-01-01: with --unit year T = 2557 / 365.25 = 7.000684 and BG/BB
 * refuses the table; with calendar years T = 7 and the fit takes it. */
static void test_yearly_log_to_bgbb(void)
{
    churn_txlog *log = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_txlog_new(&log), CHURN_OK);
    char id[16], day[16];
    for (int c = 0; c < 40; c++) {
        snprintf(id, sizeof id, "d%d", c);
        for (int y = 1995; y <= 2002; y++) {
            if (y > 1995 && (c * 7 + y * 3) % (2 + c % 4) != 0)
                continue;
            if (y > 1995 + 1 + c % 7)
                break;
            snprintf(day, sizeof day, "%d-01-01", y);
            CU_ASSERT_EQUAL(churn_txlog_append(log, id, date(day), 25), CHURN_OK);
        }
    }
    churn_customer_options o;
    churn_customer_options_init(&o);
    o.cutoff = date("2002-01-01");
    o.time_unit = CHURN_UNIT_YEAR;
    churn_customers *t = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_customers_build(&t, log, &o), CHURN_OK);
    size_t n = churn_customers_num_rows(t);
    const double *x = churn_customers_column(t, "frequency"),
                 *tx = churn_customers_column(t, "recency"), *T = churn_customers_column(t, "T");
    CT_CLOSE(T[0], 2557 / 365.25, 1e-12);
    churn_model *m = NULL;
    CU_ASSERT_EQUAL(churn_btyd_fit(&m, CHURN_FAMILY_BGBB, n, x, tx, T, NULL, NULL),
                    CHURN_EINVAL);
    CU_ASSERT(msg_has("whole", NULL));
    churn_customers_free(t);

    o.time_unit = CHURN_UNIT_DAY;
    o.period = CHURN_PERIOD_YEAR;
    CU_ASSERT_EQUAL_FATAL(churn_customers_build(&t, log, &o), CHURN_OK);
    x = churn_customers_column(t, "frequency");
    tx = churn_customers_column(t, "recency");
    T = churn_customers_column(t, "T");
    for (size_t i = 0; i < n; i++) {
        CT_NEAR(T[i], 7, 0);
        CU_ASSERT(tx[i] == floor(tx[i]) && x[i] == floor(x[i]) && x[i] <= tx[i]);
    }
    int rc = churn_btyd_fit(&m, CHURN_FAMILY_BGBB, n, x, tx, T, NULL, NULL);
    CU_ASSERT(rc == CHURN_OK || rc == CHURN_ENOCONV); /* accepted: 40 customers */
    churn_model_free(m);
    churn_customers_free(t);
    churn_txlog_free(log);
}

/* ---- option errors -------------------------------------------------------------- */

static void test_errors(void)
{
    churn_txlog *log = hand_log();
    churn_customers *t = NULL;
    churn_customer_options o;
    churn_customer_options_init(&o);
    CU_ASSERT_EQUAL(o.period, CHURN_PERIOD_NONE);
    o.period = 7;
    CU_ASSERT_EQUAL(churn_customers_build(&t, log, &o), CHURN_EINVAL);
    CU_ASSERT(msg_has("option 'period'", "got 7"));
    o.period = CHURN_PERIOD_YEAR;
    o.time_unit = CHURN_UNIT_WEEK;
    CU_ASSERT_EQUAL(churn_customers_build(&t, log, &o), CHURN_EINVAL);
    CU_ASSERT(msg_has("option 'time_unit' (7 days) does not match option 'period' (year)",
                      "365.25"));
    o.time_unit = CHURN_UNIT_DAY;
    o.same_day_once = 0;
    CU_ASSERT_EQUAL(churn_customers_build(&t, log, &o), CHURN_EINVAL);
    CU_ASSERT(msg_has("'same_day_once'", "'period' (year)"));
    o.same_day_once = 1;
    o.cutoff = date("2023-02-01");
    o.holdout_end = date("2023-12-31");
    CU_ASSERT_EQUAL(churn_customers_build(&t, log, &o), CHURN_EINVAL);
    CU_ASSERT(msg_has("'holdout_end'", "must fall in a later year than 'cutoff'"));
    o.period = CHURN_PERIOD_MONTH; /* the same dates are months apart: fine */
    CU_ASSERT_EQUAL(churn_customers_build(&t, log, &o), CHURN_OK);
    churn_customers_free(t);
    t = NULL;
    o.holdout_end = 0;
    o.cutoff = 2e9 * DAY;
    CU_ASSERT_EQUAL(churn_customers_build(&t, log, &o), CHURN_ERANGE);
    CU_ASSERT(msg_has("option 'period' (month)", "1e9 days"));
    CU_ASSERT_PTR_NULL(t);
    /* the incremental state counts days: it refuses a period */
    churn_customer_state st;
    o.cutoff = 0;
    CU_ASSERT_EQUAL(churn_customer_state_init(&st, &o), CHURN_EUNSUPPORTED);
    CU_ASSERT(msg_has("churn_customer_state_init: option 'period' (month)", "not supported"));
    CU_ASSERT_STRING_EQUAL(churn_period_name(CHURN_PERIOD_QUARTER), "quarter");
    CU_ASSERT_STRING_EQUAL(churn_period_name(CHURN_PERIOD_NONE), "none");
    CU_ASSERT_PTR_NULL(churn_period_name(5));
    CU_ASSERT_EQUAL(churn_customers_period(NULL), CHURN_PERIOD_NONE);
    churn_txlog_free(log);
    /* a transaction dated more than 1e9 days before 1970 */
    CU_ASSERT_EQUAL_FATAL(churn_txlog_new(&log), CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_append(log, "old", -1.5e9 * DAY, 1), CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_append(log, "old", date("2020-01-01"), 1), CHURN_OK);
    o.period = CHURN_PERIOD_WEEK;
    CU_ASSERT_EQUAL(churn_customers_build(&t, log, &o), CHURN_ERANGE);
    CU_ASSERT(msg_has("option 'period' (week)", "before 1970"));
    churn_txlog_free(log);
}

/* ---- random logs: the three builders against gmtime_r ---------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static double urand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* The calendar period of a time, from libc's UTC calendar (independent of
 * the library's date arithmetic). */
static long ref_period(int period, double t)
{
    time_t s = (time_t)floor(t);
    struct tm tm;
    gmtime_r(&s, &tm);
    long y = tm.tm_year + 1900L;
    switch (period) {
    case CHURN_PERIOD_WEEK: {
        long day = (long)floor(t / DAY);
        long monday = day - (tm.tm_wday + 6) % 7;
        return (monday + 3) / 7; /* 1969-12-29 (day -3) is week 0 */
    }
    case CHURN_PERIOD_MONTH:
        return y * 12 + tm.tm_mon;
    case CHURN_PERIOD_QUARTER:
        return y * 4 + tm.tm_mon / 3;
    default:
        return y;
    }
}

#define NCUST 300

static void test_random_logs(void)
{
    churn_txlog *log = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_txlog_new(&log), CHURN_OK);
    double base = date("2018-01-01");
    char id[16];
    size_t n = 0;
    for (int c = 0; c < NCUST; c++) {
        snprintf(id, sizeof id, "c%d", c);
        double t = base + floor(urand() * 900) * DAY + floor(urand() * DAY);
        int k = 1 + (int)(urand() * 12);
        for (int j = 0; j < k; j++) {
            double a = urand() < 0.1 ? -5 : floor(urand() * 100);
            CU_ASSERT_EQUAL(churn_txlog_append(log, id, t, a), CHURN_OK);
            n++;
            double u = urand();
            t += u < 0.3 ? floor(urand() * 3 * DAY) : floor(urand() * 120 * DAY);
        }
    }
    const uint32_t *cu = churn_txlog_customers(log);
    const double *tm = churn_txlog_times(log), *am = churn_txlog_amounts(log);
    double cut = date("2019-08-17") + 5000, hold = date("2020-11-20");
    long errors = 0;
    for (int period = CHURN_PERIOD_WEEK; period <= CHURN_PERIOD_YEAR; period++) {
        churn_customer_options o;
        churn_customer_options_init(&o);
        o.cutoff = cut;
        o.holdout_end = hold;
        o.period = period;
        churn_customers *g = NULL, *p = NULL, *s = NULL;
        CU_ASSERT_EQUAL_FATAL(churn_customers_build(&g, log, &o), CHURN_OK);
        o.columns = "frequency,recency,T,monetary_value,first_purchase,last_purchase,gap_mean,"
                    "gap_std,orders_recent,orders_prior,spend_recent,n_returns,r_score,"
                    "value_tier,holdout_purchases,holdout_spend,churned,duration,event";
        CU_ASSERT_EQUAL_FATAL(churn_customers_build(&p, log, &o), CHURN_OK);
        churn_customer_stream *st = NULL;
        CU_ASSERT_EQUAL_FATAL(churn_customer_stream_new(&st, &o), CHURN_OK);
        for (size_t i = 0; i < n; i++) {
            snprintf(id, sizeof id, "%s", churn_txlog_customer_id(log, cu[i]));
            CU_ASSERT_EQUAL(churn_txlog_append(churn_customer_stream_log(st), id, tm[i], am[i]),
                            CHURN_OK);
            if (i % 97 == 0)
                CU_ASSERT_EQUAL(churn_customer_stream_fold(st), CHURN_OK);
        }
        CU_ASSERT_EQUAL_FATAL(churn_customer_stream_finish(st, &s), CHURN_OK);
        churn_customer_stream_free(st);
        size_t N = churn_customers_num_rows(g);
        CU_ASSERT_EQUAL_FATAL(churn_customers_num_rows(p), N);
        CU_ASSERT_EQUAL_FATAL(churn_customers_num_rows(s), N);
        /* the one-pass and streaming tables equal the grouping table bit for bit */
        for (size_t j = 0; j < churn_customers_num_columns(p); j++) {
            const char *name = churn_customers_column_name(p, j);
            const double *a = churn_customers_column_at(p, j), *b = churn_customers_column(g, name),
                         *c = churn_customers_column(s, name);
            CU_ASSERT_PTR_NOT_NULL_FATAL(c);
            for (size_t r = 0; r < N; r++)
                if (memcmp(&a[r], &b[r], sizeof *a) || memcmp(&c[r], &b[r], sizeof *c)) {
                    if (errors++ < 10)
                        printf("\n  period %d %s row %zu: %g %g %g", period, name, r, a[r],
                               b[r], c[r]);
                }
        }
        /* frequency, recency, T and holdout_purchases against gmtime_r */
        long pc = ref_period(period, cut), ph = ref_period(period, hold);
        double cut_end = floor(cut / DAY) * DAY + DAY, hold_end = floor(hold / DAY) * DAY + DAY;
        for (size_t r = 0; r < N; r++) {
            size_t ci = 0;
            CU_ASSERT_EQUAL_FATAL(churn_txlog_find_customer(log, churn_customers_id(g, r), &ci),
                                  CHURN_OK);
            long first = 0, last = 0, prev = 0, hprev = 0;
            double freq = -1, hp = 0;
            for (size_t i = 0; i < n; i++) {
                if (cu[i] != ci || am[i] < 0)
                    continue;
                long q = ref_period(period, tm[i]);
                if (tm[i] < cut_end) {
                    if (freq < 0) {
                        first = q;
                        freq = 0;
                    } else if (q != prev) {
                        freq += 1;
                    }
                    prev = last = q;
                } else if (tm[i] < hold_end && q > pc) {
                    if (q != hprev)
                        hp += 1;
                    hprev = q;
                }
            }
            if (churn_customers_column(g, "frequency")[r] != freq ||
                churn_customers_column(g, "recency")[r] != (double)(last - first) ||
                churn_customers_column(g, "T")[r] != (double)(pc - first) ||
                churn_customers_column(g, "holdout_purchases")[r] != hp) {
                if (errors++ < 10)
                    printf("\n  period %d customer %s: want x %g t_x %ld T %ld x* %g", period,
                           churn_customers_id(g, r), freq, last - first, pc - first, hp);
            }
        }
        (void)ph;
        churn_customers_free(g);
        churn_customers_free(p);
        churn_customers_free(s);
    }
    CU_ASSERT_EQUAL(errors, 0);
    churn_txlog_free(log);
}

/* ---- simulation: a yearly log with known BG/BB parameters -> a BG/BB fit ------- */

static uint64_t sim_state;
static double sunif(void)
{
    /* splitmix64 */
    uint64_t z = (sim_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}

static double snorm(void)
{
    return sqrt(-2 * log(sunif())) * cos(6.283185307179586 * sunif());
}

/* Gamma(a, 1) by Marsaglia & Tsang (2000), with the a < 1 boost. */
static double sgamma(double a)
{
    if (a < 1)
        return sgamma(a + 1) * pow(sunif(), 1 / a);
    double d = a - 1.0 / 3, c = 1 / sqrt(9 * d);
    for (;;) {
        double z = snorm(), v = 1 + c * z;
        if (v <= 0)
            continue;
        v = v * v * v;
        double u = sunif();
        if (log(u) < 0.5 * z * z + d - d * v + d * log(v))
            return d * v;
    }
}

static double sbeta(double a, double b)
{
    double x = sgamma(a);
    return x / (x + sgamma(b));
}

/* 100,000 donors who first give in 2010 (any day, any hour); in each of the
 * six years 2011 .. 2016 an alive donor first dies with theta ~
 * Beta(gamma, delta), else gives with p ~ Beta(alpha, beta), one to three
 * times on random days of that year (merged into one opportunity). Cutoff
 * 2016-12-31; every estimate within 3 reported standard errors. */
static void test_simulated_yearly_bgbb(void)
{
    enum { N = 100000 };
    const double truth[4] = {1.2, 0.75, 0.66, 2.78};
    sim_state = 20240517;
    churn_txlog *log = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_txlog_new(&log), CHURN_OK);
    double year_start[8];
    char buf[16];
    for (int y = 0; y < 8; y++) {
        snprintf(buf, sizeof buf, "%d-01-01", 2010 + y);
        year_start[y] = date(buf);
    }
    /* transactions of each customer in time order, customers one after another */
    int64_t *ids = malloc(sizeof *ids * N * 8);
    double *times = malloc(sizeof *times * N * 8), *amounts = malloc(sizeof *amounts * N * 8);
    size_t n = 0;
    double truth_x = 0;
    for (int c = 0; c < N; c++) {
        double p = sbeta(truth[0], truth[1]), th = sbeta(truth[2], truth[3]);
        for (int y = 0; y <= 6; y++) {
            if (y > 0) {
                if (sunif() < th)
                    break;
                if (!(sunif() < p))
                    continue;
                truth_x += 1;
            }
            double len = year_start[y + 1] - year_start[y];
            int k = y == 0 ? 1 : 1 + (int)(3 * sunif());
            double t[3];
            for (int j = 0; j < k; j++)
                t[j] = year_start[y] + floor(sunif() * len);
            for (int j = 1; j < k; j++) /* in time order */
                for (int i = j; i > 0 && t[i] < t[i - 1]; i--) {
                    double s = t[i];
                    t[i] = t[i - 1];
                    t[i - 1] = s;
                }
            for (int j = 0; j < k; j++) {
                ids[n] = c;
                times[n] = t[j];
                amounts[n] = 10 + j;
                n++;
            }
        }
    }
    CU_ASSERT_EQUAL_FATAL(churn_txlog_append_arrays(log, n, ids, times, amounts, NULL, NULL), CHURN_OK);
    free(ids);
    free(times);
    free(amounts);
    churn_customer_options o;
    churn_customer_options_init(&o);
    o.cutoff = date("2016-12-31");
    o.period = CHURN_PERIOD_YEAR;
    o.columns = "frequency,recency,T";
    churn_customers *t = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_customers_build(&t, log, &o), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_customers_num_rows(t), N);
    const double *x = churn_customers_column(t, "frequency"),
                 *tx = churn_customers_column(t, "recency"), *T = churn_customers_column(t, "T");
    double sx = 0;
    for (size_t i = 0; i < N; i++) {
        sx += x[i];
        CU_ASSERT(T[i] == 6);
    }
    CT_NEAR(sx, truth_x, 0); /* every opportunity used is one repeat purchase */
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_fit(&m, CHURN_FAMILY_BGBB, N, x, tx, T, NULL, NULL),
                          CHURN_OK);
    double est[4], se[4];
    churn_model_params(m, est, 4);
    churn_model_std_errors(m, se, 4);
    printf("\n  yearly log, %zu transactions -> BG/BB:", n);
    for (int j = 0; j < 4; j++) {
        double z = (est[j] - truth[j]) / se[j];
        printf(" %s %.4f (se %.4f, truth %.3g, z %+.2f)", churn_model_param_name(m, (size_t)j),
               est[j], se[j], truth[j], z);
        CU_ASSERT(se[j] > 0 && fabs(z) < 3);
    }
    churn_model_free(m);
    churn_customers_free(t);
    churn_txlog_free(log);
}

/* ---- BG/BB P(alive) at opportunity n + m ----------------------------------------- */

#define LB(p, q) (lgamma(p) + lgamma(q) - lgamma((p) + (q)))

/* FHS 2010's P(alive in period n + m), written out from the likelihood. */
static double ref_alive(const double *q, double x, double tx, double n, double m)
{
    double al = q[0], be = q[1], ga = q[2], de = q[3];
    double L = exp(LB(al + x, be + n - x) - LB(al, be) + LB(ga, de + n) - LB(ga, de));
    for (int i = 0; i <= n - tx - 1; i++)
        L += exp(LB(al + x, be + tx - x + i) - LB(al, be) + LB(ga + 1, de + tx + i) -
                 LB(ga, de));
    return exp(LB(al + x, be + n - x) - LB(al, be) + LB(ga, de + n + m) - LB(ga, de)) / L;
}

static void test_bgbb_p_alive_at(void)
{
    /* the published fit of the donations data (FHS 2010) and its table of
     * P(alive in 2002) for the 1995 cohort, n = 6 */
    const double q[4] = {1.204, 0.750, 0.657, 2.783};
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&m, CHURN_FAMILY_BGBB, 4, q), CHURN_OK);
    double x[3] = {0, 2, 6}, tx[3] = {0, 4, 6}, n[3] = {6, 6, 6}, pub[3] = {0.11, 0.59, 0.93};
    double next[3], through[3], at0[3], at3[3];
    CU_ASSERT_EQUAL(churn_bgbb_p_alive_at(m, 1, 3, x, tx, n, next), CHURN_OK);
    CU_ASSERT_EQUAL(churn_bgbb_p_alive_at(m, 0, 3, x, tx, n, at0), CHURN_OK);
    CU_ASSERT_EQUAL(churn_bgbb_p_alive_at(m, 3, 3, x, tx, n, at3), CHURN_OK);
    CU_ASSERT_EQUAL(churn_btyd_p_alive(m, 3, x, tx, n, through), CHURN_OK);
    printf("\n  P(alive at n+1): %.4f %.4f %.4f; through n: %.4f %.4f %.4f", next[0], next[1],
           next[2], through[0], through[1], through[2]);
    for (int i = 0; i < 3; i++) {
        CT_NEAR(next[i], pub[i], 0.005); /* the table's two decimals */
        CT_CLOSE(next[i], ref_alive(q, x[i], tx[i], n[i], 1), 1e-12);
        CT_CLOSE(at3[i], ref_alive(q, x[i], tx[i], n[i], 3), 1e-12);
        CU_ASSERT_EQUAL(at0[i], through[i]);
        CT_CLOSE(next[i], through[i] * (q[3] + 6) / (q[2] + q[3] + 6), 1e-12);
    }
    /* (6, 6): alive through n is not the published 0.93 */
    CU_ASSERT(fabs(through[2] - 0.93) > 0.02);
    CU_ASSERT_EQUAL(churn_bgbb_p_alive_at(m, 0.5, 3, x, tx, n, next), CHURN_EINVAL);
    CU_ASSERT(msg_has("churn_bgbb_p_alive_at", "whole number"));
    CU_ASSERT_EQUAL(churn_bgbb_p_alive_at(m, -1, 3, x, tx, n, next), CHURN_EINVAL);
    double bad = 7;
    CU_ASSERT_EQUAL(churn_bgbb_p_alive_at(m, 1, 1, &bad, tx, n, next), CHURN_EINVAL);
    churn_model_free(m);
    const double pn[4] = {0.55, 10.6, 0.61, 11.7};
    CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&m, CHURN_FAMILY_PNBD, 4, pn), CHURN_OK);
    CU_ASSERT_EQUAL(churn_bgbb_p_alive_at(m, 1, 3, x, tx, n, next), CHURN_EFAMILY);
    churn_model_free(m);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"weeks start on Monday", test_weeks},
        {"calendar months", test_months},
        {"calendar quarters", test_quarters},
        {"calendar years", test_years},
        {"holdout in later periods", test_holdout},
        {"yearly log dated Jan 1 to BG/BB", test_yearly_log_to_bgbb},
        {"option errors", test_errors},
        {"random logs: three builders and gmtime_r", test_random_logs},
        {"simulated yearly log recovers BG/BB (100k)", test_simulated_yearly_bgbb},
        {"BG/BB P(alive) at n + m", test_bgbb_p_alive_at},
        CU_TEST_INFO_NULL,
    };
    return churn_test_run("periods", tests);
}
