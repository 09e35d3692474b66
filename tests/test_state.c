/*
 * The per-order path of issue 18: every state column in one call
 * (churn_customer_state_values), the portable state encoding with its golden
 * files (tests/data/states/, which must decode in every later release), and
 * the alert rules evaluated on a state (churn_alerts_evaluate_state).
 *
 * References: the values of a hand-computed history (comments give the
 * arithmetic), the batch table of churn_customers_build() on a simulated log,
 * and bytes written by tests/data/states/make_golden.py from the documented
 * layout, independently of the C encoder.
 */
#include <churn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define DAY 86400.0
#define D0 19723.0 /* 2024-01-01 */

/* The history of v1_day_basic.hex: see make_golden.py. */
static void basic_state(churn_customer_state *s)
{
    CU_ASSERT_EQUAL_FATAL(churn_customer_state_init(s, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(churn_customer_state_add(s, D0 * DAY + 3600, 10.0), CHURN_OK);
    CU_ASSERT_EQUAL(churn_customer_state_add(s, D0 * DAY + 7200, 5.0), CHURN_OK);
    CU_ASSERT_EQUAL(churn_customer_state_add(s, (D0 + 10) * DAY + 43200, 20.0), CHURN_OK);
    CU_ASSERT_EQUAL(churn_customer_state_add(s, (D0 + 30) * DAY, 30.0), CHURN_OK);
    CU_ASSERT_EQUAL(churn_customer_state_add(s, (D0 + 31) * DAY + 6 * 3600, -7.0), CHURN_OK);
}

/* The expected columns of basic_state() as of 2024-03-01 (day D0 + 60), by hand:
 * purchases on days 0 (10 + 5 merged), 10 and 30; gaps 10 and 20. */
static const double basic_expected[16] = {
    2,         /* frequency: 3 purchases - 1 */
    30,        /* recency */
    60,        /* T */
    25,        /* monetary_value: (20 + 30) / 2 */
    3,         /* n_orders */
    65,        /* total_spend */
    65.0 / 3,  /* mean_order_value */
    D0,        /* first_purchase */
    D0 + 30,   /* last_purchase */
    30,        /* time_since_last */
    15,        /* gap_mean */
    5,         /* gap_std: population sd of {10, 20} */
    2,         /* overdue_ratio: 30 / 15 */
    1,         /* n_returns */
    7,         /* returns_amount */
    58,        /* net_spend */
};

static void test_columns_in_one_call(void)
{
    CU_ASSERT_EQUAL(churn_customer_state_num_columns(), 16);
    static const char *const names[16] = {
        "frequency", "recency", "T", "monetary_value", "n_orders", "total_spend",
        "mean_order_value", "first_purchase", "last_purchase", "time_since_last", "gap_mean",
        "gap_std", "overdue_ratio", "n_returns", "returns_amount", "net_spend"};
    for (size_t i = 0; i < 16; i++) {
        CU_ASSERT_STRING_EQUAL(churn_customer_state_column_name(i), names[i]);
        CU_ASSERT_EQUAL(churn_customer_state_column_index(names[i]), (int)i);
    }
    CU_ASSERT_PTR_NULL(churn_customer_state_column_name(16));
    CU_ASSERT_EQUAL(churn_customer_state_column_index("overdue_ratio"),
                    CHURN_STATE_COL_OVERDUE_RATIO);
    CU_ASSERT_EQUAL(churn_customer_state_column_index("spend_trend"), -1);
    CU_ASSERT_EQUAL(churn_customer_state_column_index("gap_median"), -1);
    CU_ASSERT_EQUAL(churn_customer_state_column_index("churned"), -1);
    CU_ASSERT_EQUAL(churn_customer_state_column_index("p_alive"), -2);
    CU_ASSERT_EQUAL(churn_customer_state_column_index(NULL), -2);

    churn_customer_state s;
    basic_state(&s);
    double cut = (D0 + 60) * DAY + 5000, v[16];
    CU_ASSERT_EQUAL_FATAL(churn_customer_state_values(&s, cut, v, 16), CHURN_OK);
    for (size_t i = 0; i < 16; i++) {
        double one;
        CU_ASSERT_EQUAL(churn_customer_state_value(&s, cut, names[i], &one), CHURN_OK);
        CU_ASSERT_EQUAL(memcmp(&one, &v[i], sizeof one), 0); /* bit for bit */
        CT_CLOSE(v[i], basic_expected[i], 1e-15);
    }
    double pre[3] = {-1, -1, -1};
    CU_ASSERT_EQUAL(churn_customer_state_values(&s, cut, pre, 2), CHURN_OK);
    CU_ASSERT_EQUAL(pre[1], 30);
    CU_ASSERT_EQUAL(pre[2], -1); /* a prefix writes n values only */
    CU_ASSERT_EQUAL(churn_customer_state_values(&s, cut, v, 17), CHURN_ERANGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(churn_last_error_message(), "16 columns"));
    CU_ASSERT_EQUAL(churn_customer_state_values(&s, cut, v, 0), CHURN_ERANGE);
    CU_ASSERT_EQUAL(churn_customer_state_values(&s, (D0 + 29) * DAY, v, 16), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_customer_state_values(NULL, cut, v, 16), CHURN_EINVAL);
    churn_customer_state e;
    churn_customer_state_init(&e, NULL);
    CU_ASSERT_EQUAL(churn_customer_state_values(&e, cut, v, 16), CHURN_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(churn_last_error_message(), "no order"));
}

/* Against the batch table on a simulated log: the per-customer states fed in the log's
 * order give the table's values bit for bit, in one call. */
static void test_values_equal_batch(void)
{
    churn_txlog *log = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_txlog_new(&log), CHURN_OK);
    churn_simulate_options so = CHURN_SIMULATE_OPTIONS_INIT;
    so.model = CHURN_FAMILY_BGNBD;
    so.customers = 500;
    so.seed = 5;
    CU_ASSERT_EQUAL_FATAL(churn_simulate_txlog(log, &so), CHURN_OK);
    churn_customer_options o = CHURN_CUSTOMER_OPTIONS_INIT;
    o.time_unit = CHURN_UNIT_WEEK;
    churn_customers *t = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_customers_build(&t, log, &o), CHURN_OK);
    size_t nc = churn_txlog_num_customers(log), ntx = churn_txlog_num_transactions(log);
    churn_customer_state *st = calloc(nc, sizeof *st);
    for (size_t c = 0; c < nc; c++)
        churn_customer_state_init(&st[c], &o);
    const uint32_t *cus = churn_txlog_customers(log);
    const double *tm = churn_txlog_times(log), *am = churn_txlog_amounts(log);
    /* transactions in time order (stable): the batch path's order */
    size_t *ord = malloc(ntx * sizeof *ord);
    for (size_t i = 0; i < ntx; i++)
        ord[i] = i;
    for (size_t i = 1; i < ntx; i++) { /* insertion sort is fine for a test log */
        size_t k = ord[i], j = i;
        while (j > 0 && tm[ord[j - 1]] > tm[k]) {
            ord[j] = ord[j - 1];
            j--;
        }
        ord[j] = k;
    }
    double cut = churn_customers_cutoff(t);
    for (size_t i = 0; i < ntx; i++)
        if (floor(tm[ord[i]] / DAY) <= floor(cut / DAY))
            CU_ASSERT_EQUAL(churn_customer_state_add(&st[cus[ord[i]]], tm[ord[i]], am[ord[i]]),
                            CHURN_OK);
    size_t checked = 0;
    for (size_t r = 0; r < churn_customers_num_rows(t); r++) {
        size_t c;
        CU_ASSERT_EQUAL_FATAL(churn_txlog_find_customer(log, churn_customers_id(t, r), &c),
                              CHURN_OK);
        double v[16];
        CU_ASSERT_EQUAL_FATAL(churn_customer_state_values(&st[c], cut, v, 16), CHURN_OK);
        for (size_t j = 0; j < 16; j++) {
            const double *col = churn_customers_column(t, churn_customer_state_column_name(j));
            CU_ASSERT_PTR_NOT_NULL_FATAL(col);
            checked += memcmp(&col[r], &v[j], sizeof(double)) == 0;
        }
    }
    CU_ASSERT_EQUAL(checked, 16 * churn_customers_num_rows(t));
    /* every state survives its encoding exactly */
    size_t same = 0;
    for (size_t c = 0; c < nc; c++) {
        unsigned char buf[CHURN_STATE_ENCODED_SIZE_V1];
        churn_customer_state d;
        CU_ASSERT_EQUAL(churn_customer_state_encode(&st[c], buf, sizeof buf, NULL), CHURN_OK);
        CU_ASSERT_EQUAL(churn_customer_state_decode(&d, buf, sizeof buf), CHURN_OK);
        same += memcmp(&d, &st[c], sizeof d) == 0;
    }
    CU_ASSERT_EQUAL(same, nc);
    free(ord);
    free(st);
    churn_customers_free(t);
    churn_txlog_free(log);
}

/* ---- encoding ---------------------------------------------------------------------- */

static size_t read_hex(const char *name, unsigned char *buf, size_t cap)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/data/states/%s", CHURN_TEST_SOURCE_DIR, name);
    FILE *f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    size_t n = 0;
    unsigned v;
    while (n < cap && fscanf(f, "%2x", &v) == 1)
        buf[n++] = (unsigned char)v;
    fclose(f);
    return n;
}

static void test_golden_day_basic(void)
{
    unsigned char gold[256], mine[256];
    size_t n = read_hex("v1_day_basic.hex", gold, sizeof gold);
    CU_ASSERT_EQUAL_FATAL(n, CHURN_STATE_ENCODED_SIZE_V1);
    churn_customer_state s;
    memset(&s, 0xAB, sizeof s); /* decode needs no initialised state */
    CU_ASSERT_EQUAL_FATAL(churn_customer_state_decode(&s, gold, n), CHURN_OK);
    double v[16], cut = (D0 + 60) * DAY;
    CU_ASSERT_EQUAL_FATAL(churn_customer_state_values(&s, cut, v, 16), CHURN_OK);
    for (size_t i = 0; i < 16; i++)
        CT_CLOSE(v[i], basic_expected[i], 1e-15);
    /* the library encodes the same history to the same bytes */
    churn_customer_state b;
    basic_state(&b);
    size_t need = 0;
    CU_ASSERT_EQUAL(churn_customer_state_encode(&b, mine, sizeof mine, &need), CHURN_OK);
    CU_ASSERT_EQUAL(need, n);
    CU_ASSERT_EQUAL(memcmp(mine, gold, n), 0);
    /* and the decoded state continues exactly: an order on day 40 */
    CU_ASSERT_EQUAL(churn_customer_state_add(&s, (D0 + 40) * DAY, 4.0), CHURN_OK);
    CU_ASSERT_EQUAL(churn_customer_state_add(&b, (D0 + 40) * DAY, 4.0), CHURN_OK);
    double w[16];
    churn_customer_state_values(&s, cut, v, 16);
    churn_customer_state_values(&b, cut, w, 16);
    CU_ASSERT_EQUAL(memcmp(v, w, sizeof v), 0);
    CT_CLOSE(v[0], 3, 0);          /* frequency */
    CT_CLOSE(v[11], sqrt(((10 - 40 / 3.0) * (10 - 40 / 3.0) + (20 - 40 / 3.0) * (20 - 40 / 3.0) +
                          (10 - 40 / 3.0) * (10 - 40 / 3.0)) / 3), 1e-14); /* gaps 10, 20, 10 */
}

static void test_golden_week_unknown(void)
{
    unsigned char gold[256];
    size_t n = read_hex("v1_week_unknown.hex", gold, sizeof gold);
    churn_customer_state s;
    CU_ASSERT_EQUAL_FATAL(churn_customer_state_decode(&s, gold, n), CHURN_OK);
    double v[16], cut = (D0 + 21) * DAY;
    CU_ASSERT_EQUAL_FATAL(churn_customer_state_values(&s, cut, v, 16), CHURN_OK);
    CT_CLOSE(v[0], 3, 0);            /* frequency counts the first purchase */
    CT_CLOSE(v[1], 2, 1e-15);        /* recency: 14 days = 2 weeks */
    CT_CLOSE(v[2], 3, 1e-15);        /* T: 21 days */
    CU_ASSERT(isnan(v[3]) && isnan(v[5]) && isnan(v[15])); /* unknown amount */
    CT_CLOSE(v[4], 3, 0);            /* same-day orders kept apart */
    CT_CLOSE(v[10], 1, 1e-15);       /* gap mean: (0 + 14) / 2 days = 1 week */
    CT_CLOSE(v[11], 1, 1e-15);       /* population sd of {0, 14} days = 7 days */
    CU_ASSERT(isnan(v[14]));         /* returns_amount with an unknown spend */
    /* same history through the library */
    churn_customer_options o = CHURN_CUSTOMER_OPTIONS_INIT;
    o.time_unit = CHURN_UNIT_WEEK;
    o.same_day_once = 0;
    o.first_purchase_counts = 1;
    churn_customer_state b;
    churn_customer_state_init(&b, &o);
    churn_customer_state_add(&b, D0 * DAY, 12.5);
    churn_customer_state_add(&b, D0 * DAY, 7.5);
    churn_customer_state_add(&b, (D0 + 14) * DAY, NAN);
    double w[16];
    churn_customer_state_values(&b, cut, w, 16);
    for (int i = 0; i < 16; i++)
        CU_ASSERT(memcmp(&v[i], &w[i], 8) == 0 || (isnan(v[i]) && isnan(w[i])));
}

static void test_golden_empty(void)
{
    unsigned char gold[256], mine[256];
    size_t n = read_hex("v1_empty_month.hex", gold, sizeof gold);
    churn_customer_state s, b;
    CU_ASSERT_EQUAL_FATAL(churn_customer_state_decode(&s, gold, n), CHURN_OK);
    churn_customer_options o = CHURN_CUSTOMER_OPTIONS_INIT;
    o.time_unit = CHURN_UNIT_MONTH;
    churn_customer_state_init(&b, &o);
    CU_ASSERT_EQUAL(memcmp(&s, &b, sizeof s), 0);
    CU_ASSERT_EQUAL(churn_customer_state_encode(&b, mine, sizeof mine, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(memcmp(mine, gold, n), 0);
    /* any first order is accepted after decoding, even far in the past */
    CU_ASSERT_EQUAL(churn_customer_state_add(&s, -1e9, 1.0), CHURN_OK);
}

static void test_encoding_errors(void)
{
    unsigned char gold[256], buf[256];
    size_t n = read_hex("v1_day_basic.hex", gold, sizeof gold), need = 0;
    churn_customer_state s;
    basic_state(&s);
    CU_ASSERT_EQUAL(churn_customer_state_encode(&s, buf, 10, &need), CHURN_ERANGE);
    CU_ASSERT_EQUAL(need, 108);
    CU_ASSERT_EQUAL(churn_customer_state_encode(&s, NULL, 0, &need), CHURN_ERANGE);
    CU_ASSERT_EQUAL(churn_customer_state_encode(NULL, buf, sizeof buf, &need), CHURN_EINVAL);
    /* every single flipped bit is detected */
    size_t detected = 0;
    for (size_t i = 0; i < n * 8; i++) {
        memcpy(buf, gold, n);
        buf[i / 8] ^= (unsigned char)(1u << (i % 8));
        churn_customer_state d;
        int rc = churn_customer_state_decode(&d, buf, n);
        detected += rc == CHURN_EFORMAT || rc == CHURN_EVERSION;
    }
    CU_ASSERT_EQUAL(detected, n * 8);
    /* truncated, too long, not a state */
    CU_ASSERT_EQUAL(churn_customer_state_decode(&s, gold, n - 1), CHURN_EFORMAT);
    memcpy(buf, gold, n);
    buf[n] = 0;
    CU_ASSERT_EQUAL(churn_customer_state_decode(&s, buf, n + 1), CHURN_EFORMAT);
    CU_ASSERT_EQUAL(churn_customer_state_decode(&s, (const unsigned char *)"hello", 5),
                    CHURN_EFORMAT);
    CU_ASSERT_EQUAL(churn_customer_state_decode(&s, gold, 0), CHURN_EFORMAT);
    /* a newer format version with a valid checksum: a clear version error */
    memcpy(buf, gold, n);
    buf[4] = 2;
    uint32_t crc = 0xFFFFFFFFu; /* CRC-32 (ISO-HDLC), bitwise: independent of zlib */
    for (size_t i = 0; i < n - 4; i++) {
        crc ^= buf[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    crc ^= 0xFFFFFFFFu;
    for (int k = 0; k < 4; k++)
        buf[n - 4 + k] = (unsigned char)(crc >> (8 * k));
    CU_ASSERT_EQUAL(churn_customer_state_decode(&s, buf, n), CHURN_EVERSION);
    CU_ASSERT_PTR_NOT_NULL(strstr(churn_last_error_message(), "format version 2"));
    /* our bitwise CRC agrees with the golden file's (zlib's) on the original bytes */
    crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n - 4; i++) {
        crc ^= gold[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    crc ^= 0xFFFFFFFFu;
    CU_ASSERT_EQUAL(crc, (uint32_t)gold[n - 4] | (uint32_t)gold[n - 3] << 8 |
                             (uint32_t)gold[n - 2] << 16 | (uint32_t)gold[n - 1] << 24);
}

/* ---- alert rules on a state -------------------------------------------------------- */

static void test_default_alerts_on_state(void)
{
    churn_alerts *a = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_alerts_new(&a), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_alerts_add_defaults(a), CHURN_OK);
    uint64_t hist = 0;
    CU_ASSERT_EQUAL(churn_alerts_needs_history(a, &hist), CHURN_OK);
    CU_ASSERT_EQUAL(hist, 4u); /* spend_down reads spend_trend */
    churn_customer_state s;
    basic_state(&s);
    const char *names[] = {"p_alive", "clv"};
    double scores[] = {0.2, 100.0};
    uint64_t fired = 99, skipped = 99;
    /* as of day 61: overdue_ratio = 31/15 > 2, p_alive 0.2 < 0.3 */
    CU_ASSERT_EQUAL(churn_alerts_evaluate_state(a, &s, (D0 + 61) * DAY, 2, names, scores,
                                                &fired, &skipped), CHURN_OK);
    CU_ASSERT_EQUAL(fired, 3u);
    CU_ASSERT_EQUAL(skipped, 4u);
    /* as of day 60: overdue_ratio = 2 exactly, not > 2 */
    scores[0] = 0.5;
    CU_ASSERT_EQUAL(churn_alerts_evaluate_state(a, &s, (D0 + 60) * DAY, 2, names, scores,
                                                &fired, &skipped), CHURN_OK);
    CU_ASSERT_EQUAL(fired, 0u);
    CU_ASSERT_EQUAL(skipped, 4u);
    /* the caller's own exact spend_trend is used, and wins over nothing */
    const char *n3[] = {"p_alive", "spend_trend", "overdue_ratio"};
    double s3[] = {0.5, -0.5, 0.0};
    CU_ASSERT_EQUAL(churn_alerts_evaluate_state(a, &s, (D0 + 61) * DAY, 3, n3, s3, &fired,
                                                &skipped), CHURN_OK);
    CU_ASSERT_EQUAL(fired, 4u); /* overdue_ratio 0 from the caller wins over the state's */
    CU_ASSERT_EQUAL(skipped, 0u);
    /* a field that is no column and not given: an error naming it */
    CU_ASSERT_EQUAL(churn_alerts_evaluate_state(a, &s, (D0 + 61) * DAY, 1, names + 1,
                                                scores + 1, &fired, &skipped), CHURN_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(churn_last_error_message(), "p_alive"));
    CU_ASSERT_EQUAL(churn_alerts_evaluate_state(a, &s, (D0 + 61) * DAY, 2, names, scores,
                                                &fired, NULL), CHURN_EINVAL);
    /* NaN never fires */
    CU_ASSERT_EQUAL(churn_alerts_add_text(a, "spendy: total_spend > 0"), CHURN_OK);
    churn_customer_state u;
    churn_customer_state_init(&u, NULL);
    churn_customer_state_add(&u, D0 * DAY, NAN);
    scores[0] = 0.9;
    CU_ASSERT_EQUAL(churn_alerts_evaluate_state(a, &u, D0 * DAY, 2, names, scores, &fired,
                                                &skipped), CHURN_OK);
    CU_ASSERT_EQUAL(fired, 0u);
    churn_alerts_free(a);
}

/* ---- the CLV's horizons in one pass ------------------------------------------------ */

/* An independent reference for BG/NBD: E[X(t) | alive at 0] = E_p[(1 - (1 + p t/alpha)^-r) / p]
 * over p ~ Beta(a, b) (the Poisson rate integrated out), by tanh-sinh quadrature on (0, 1)
 * (exact to ~1e-14 with the endpoint singularity of p^(a-1)). */
static double bg_alive_expected_ref(double r, double al, double a, double b, double t)
{
    const double pi = 3.14159265358979323846, h = 1.0 / 64;
    double tau = t / al, sum = 0, lb = lgamma(a) + lgamma(b) - lgamma(a + b);
    for (int k = -6 * 64; k <= 6 * 64; k++) {
        double u = k * h, s = pi / 2 * sinh(u);
        double e = exp(-2 * fabs(s));
        double small = e / (1 + e);                   /* the endpoint's side, accurate */
        double p = s < 0 ? small : 1 - small, q = s < 0 ? 1 - small : small;
        double w = pi / 2 * cosh(u) * 2 * e / ((1 + e) * (1 + e)); /* dp/du */
        if (p <= 0 || q <= 0 || w == 0)
            continue;
        double hp = -expm1(-r * log1p(p * tau)) / p;
        sum += w * exp((a - 1) * log(p) + (b - 1) * log(q) - lb) * hp;
    }
    return sum * h;
}

/* FHL 2008 note: P(alive | x, tx, T) for BG/NBD. */
static double bg_p_alive_ref(const double *p, double x, double tx, double T)
{
    if (x == 0)
        return 1;
    return 1 / (1 + p[2] / (p[3] + x - 1) * pow((p[1] + T) / (p[1] + tx), p[0] + x));
}

static void test_expected_path(void)
{
    /* CDNOW's BG/NBD (weeks) and the same in days (alpha x 7); Pareto/NBD (weeks) */
    const double pw[4] = {0.243, 4.414, 0.793, 2.426}, pd[4] = {0.243, 30.898, 0.793, 2.426};
    const double pp[4] = {0.553, 10.578, 0.606, 11.669}, pa2[4] = {2.5, 8.0, 1.7, 0.9};
    const double hist[][3] = {{0, 0, 0},   {0, 0, 30},  {1, 3, 10},   {2, 20, 20},
                              {5, 40, 60}, {20, 70, 78}, {100, 300, 310}, {3, 0.5, 1}};
    const size_t nhist = sizeof hist / sizeof hist[0];
    struct {
        int family;
        const double *p;
        double period;
    } cases[] = {{CHURN_FAMILY_BGNBD, pw, 4.345},   {CHURN_FAMILY_BGNBD, pd, 30.4375},
                 {CHURN_FAMILY_MBGNBD, pw, 4.345},  {CHURN_FAMILY_BGNBD, pa2, 4.345},
                 {CHURN_FAMILY_PNBD, pp, 4.345},    {CHURN_FAMILY_PNBD, pp, 1.0}};
    double worst_old = 0, worst_ref = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        churn_model *m = NULL;
        CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&m, cases[c].family, 4, cases[c].p), CHURN_OK);
        double t[12];
        for (int k = 0; k < 12; k++)
            t[k] = (k + 1) * cases[c].period;
        for (size_t i = 0; i < nhist; i++) {
            const double *hh = hist[i];
            double pa, e[12];
            CU_ASSERT_EQUAL_FATAL(churn_btyd_expected_purchases_path(m, 1, &hh[0], &hh[1],
                                                                     &hh[2], 12, t, &pa, e),
                                  CHURN_OK);
            double pa_old;
            churn_btyd_p_alive(m, 1, &hh[0], &hh[1], &hh[2], &pa_old);
            CU_ASSERT_EQUAL(pa, pa_old);
            for (int k = 0; k < 12; k++) {
                double old;
                CU_ASSERT_EQUAL(churn_btyd_expected_purchases(m, t[k], 1, &hh[0], &hh[1],
                                                              &hh[2], &old), CHURN_OK);
                double d = fabs(e[k] - old) / fmax(fabs(old), 1e-300);
                worst_old = fmax(worst_old, d);
                CT_CLOSE(e[k], old, 1e-12);
                double ref;
                const double *p = cases[c].p;
                double x = hh[0], tx = hh[1], T = hh[2];
                if (cases[c].family == CHURN_FAMILY_BGNBD)
                    ref = bg_p_alive_ref(p, x, tx, T) *
                          bg_alive_expected_ref(p[0] + x, p[1] + T, p[2], p[3] + x, t[k]);
                else if (cases[c].family == CHURN_FAMILY_MBGNBD)
                    ref = 1 / (1 + p[2] / (p[3] + x) *
                                       pow((p[1] + T) / (p[1] + tx), p[0] + x)) *
                          bg_alive_expected_ref(p[0] + x, p[1] + T, p[2], p[3] + x + 1, t[k]);
                else if (tx == T) /* Pareto/NBD alive for sure: the closed form alone */
                    ref = (p[0] + x) * (p[3] + T) / ((p[1] + T) * (p[2] - 1)) *
                          (1 - pow((p[3] + T) / (p[3] + T + t[k]), p[2] - 1));
                else
                    continue;
                worst_ref = fmax(worst_ref, fabs(e[k] - ref) / fabs(ref));
                CT_CLOSE(e[k], ref, 1e-10);
            }
        }
        churn_model_free(m);
    }
    printf("\n    path vs per-horizon: max rel diff %.2e; vs quadrature/closed form %.2e\n",
           worst_old, worst_ref);
    /* errors name the horizon */
    churn_model *m = NULL;
    churn_btyd_model_new(&m, CHURN_FAMILY_BGNBD, 4, pw);
    double x = 1, tx = 1, T = 2, bad[2] = {1, -1}, pa, e[2];
    CU_ASSERT_EQUAL(churn_btyd_expected_purchases_path(m, 1, &x, &tx, &T, 2, bad, &pa, e),
                    CHURN_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(churn_last_error_message(), "t[1]"));
    churn_model_free(m);
}

/* churn_clv_score equals the CLV of spend.h computed from the per-horizon calls (release
 * cf0ccef's computation) within 1e-12, for one customer and for a batch. */
static void test_clv_equals_per_horizon(void)
{
    const double pw[4] = {0.243, 4.414, 0.793, 2.426}, pp[4] = {0.553, 10.578, 0.606, 11.669};
    const int fam[2] = {CHURN_FAMILY_BGNBD, CHURN_FAMILY_PNBD};
    const double *par[2] = {pw, pp};
    enum { N = 300 };
    double x[N], tx[N], T[N], mv[N];
    for (int i = 0; i < N; i++) { /* a deterministic spread of histories */
        x[i] = i % 7 == 0 ? 0 : (double)(i % 23);
        T[i] = (double)(i % 79);
        tx[i] = x[i] == 0 ? 0 : T[i] * ((i * 37) % 100) / 100.0;
        mv[i] = 10 + i % 50;
    }
    for (int f = 0; f < 2; f++) {
        churn_model *m = NULL;
        churn_btyd_model_new(&m, fam[f], 4, par[f]);
        churn_clv_options o = CHURN_CLV_OPTIONS_INIT;
        o.period = 4.345;
        o.discount = 0.01;
        double pa[N], ep[N], clv[N], var[N];
        CU_ASSERT_EQUAL_FATAL(churn_clv_score(m, NULL, &o, N, x, tx, T, mv, pa, ep, NULL, clv,
                                              var), CHURN_OK);
        for (int i = 0; i < N; i++) {
            double p1, e1, c1, v1;
            CU_ASSERT_EQUAL(churn_clv_score(m, NULL, &o, 1, &x[i], &tx[i], &T[i], &mv[i], &p1,
                                            &e1, NULL, &c1, &v1), CHURN_OK);
            CU_ASSERT(p1 == pa[i] && e1 == ep[i] && c1 == clv[i] && v1 == var[i]);
            double prev = 0, disc = 0, cur = 0;
            for (int k = 1; k <= 12; k++) {
                churn_btyd_expected_purchases(m, k * o.period, 1, &x[i], &tx[i], &T[i], &cur);
                disc += (cur - prev) * pow(1.01, -(double)k);
                prev = cur;
            }
            CT_CLOSE(clv[i], mv[i] * disc, 1e-12);
            CT_CLOSE(ep[i], cur, 1e-12);
        }
        churn_model_free(m);
    }
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"every state column in one call", test_columns_in_one_call},
        {"state columns equal the batch table bit for bit", test_values_equal_batch},
        {"golden v1 state (days) decodes to its values", test_golden_day_basic},
        {"golden v1 state (weeks, unknown amount)", test_golden_week_unknown},
        {"golden v1 empty state", test_golden_empty},
        {"corrupt, truncated and newer encodings are errors", test_encoding_errors},
        {"default alert rules run on a state", test_default_alerts_on_state},
        {"expected purchases at 12 horizons in one pass", test_expected_path},
        {"CLV equals the per-horizon computation", test_clv_equals_per_horizon},
        CU_TEST_INFO_NULL,
    };
    return churn_test_run("state", tests);
}
