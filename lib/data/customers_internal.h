/* Private to the customer table: the column list, the table's layout, the
 * per-customer state arithmetic shared by the grouping, one-pass and
 * incremental paths (customers_group.c, customers_stream.c,
 * customers_state.c), and the churn__cust_* helpers between the files of
 * the table. Each helper is owned by one file (named above its declarations);
 * the files call each other only downward:
 *   customers.c -> customers_stream.c, customers_group.c
 *   customers_stream.c, customers_group.c -> customers_population.c
 *   every file -> customers_setup.c */
#ifndef CHURN_CUSTOMERS_INTERNAL_H
#define CHURN_CUSTOMERS_INTERNAL_H

#include "core/internal.h"
#include "data/txlog_internal.h"

#include <math.h>

/* ---- columns --------------------------------------------------------------- */

enum {
    COL_FREQUENCY,
    COL_RECENCY,
    COL_T,
    COL_MONETARY,
    COL_N_ORDERS,
    COL_TOTAL_SPEND,
    COL_MEAN_ORDER,
    COL_FIRST,
    COL_LAST,
    COL_SINCE_LAST,
    COL_GAP_MEAN,
    COL_GAP_MEDIAN,
    COL_GAP_STD,
    COL_OVERDUE,
    COL_ORDERS_RECENT,
    COL_ORDERS_PRIOR,
    COL_SPEND_RECENT,
    COL_SPEND_PRIOR,
    COL_ORDERS_TREND,
    COL_SPEND_TREND,
    COL_N_PRODUCTS,
    COL_N_RETURNS,
    COL_RETURNS_AMOUNT,
    COL_NET_SPEND,
    COL_R_SCORE,
    COL_F_SCORE,
    COL_M_SCORE,
    COL_SEGMENT,
    COL_TIER,
    NCOL_BASE,
    COL_H_PURCHASES = NCOL_BASE,
    COL_H_SPEND,
    COL_CHURNED,
    COL_DURATION,
    COL_EVENT,
    NCOL_ALL
};

static const char *const col_names[NCOL_ALL] = {
    "frequency",       "recency",        "T",               "monetary_value",
    "n_orders",        "total_spend",    "mean_order_value", "first_purchase",
    "last_purchase",   "time_since_last", "gap_mean",       "gap_median",
    "gap_std",         "overdue_ratio",  "orders_recent",   "orders_prior",
    "spend_recent",    "spend_prior",    "orders_trend",    "spend_trend",
    "n_products",      "n_returns",      "returns_amount",  "net_spend",
    "r_score",         "f_score",        "m_score",         "rfm_segment",
    "value_tier",      "holdout_purchases", "holdout_spend", "churned",
    "duration",        "event",
};

struct churn_customers {
    size_t nrows, ncols;
    double *data;          /* ncols blocks of nrows doubles, in colid order */
    char **ids;            /* nrows pointers into idbuf */
    char *idbuf;
    uint32_t *slots;       /* open-addressing hash of rows by id, UINT32_MAX empty;
                              built by the first churn_customers_find (id_index) */
    size_t nslots;         /* its size: a power of two >= 2 * nrows */
    size_t nexcluded;
    double cutoff_day, holdout_day; /* UTC day numbers; holdout_day NaN when none */
    double time_unit;      /* days; with a calendar period its nominal length */
    int period;            /* CHURN_PERIOD_* */
    double pareto_share;
    double repeat_rate;    /* share of rows with n_orders >= 2 */
    double churn_rate;     /* share of rows with churned == 1; NaN without a holdout */
    unsigned char colid[NCOL_ALL]; /* column j of the table is column colid[j] of the
                                      list above (j < ncols) */
};

/* UTC day number of a time in seconds since the epoch. */
static inline double day_of(double t)
{
    /* floor(t / 86400) without a division, corrected to be exact: q * 86400
     * is exact for any day number a double time can reach at second
     * resolution, so the comparisons decide the day exactly. */
    double q = floor(t * (1.0 / CHURN_SECONDS_PER_DAY));
    double b = q * CHURN_SECONDS_PER_DAY;
    if (b > t)
        q -= 1;
    else if (b + CHURN_SECONDS_PER_DAY <= t)
        q += 1;
    return q;
}

/* ---- calendar periods ------------------------------------------------------------ */

/* Civil date of a UTC day number (proleptic Gregorian): the era-based
 * conversion described by H. Hinnant, "chrono-Compatible Low-Level Date
 * Algorithms" (days_from_civil / civil_from_days). Exact for any int64 day
 * whose year fits; callers keep days within 1e9 of 1970. */
static inline void civil_from_days(int64_t z, int64_t *y, int *m)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                                   /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);             /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                  /* [0, 11], March = 0 */
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static inline int64_t days_from_civil(int64_t y, int m)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = m > 2 ? m - 3 : m + 9;
    int64_t doy = (153 * mp + 2) / 5; /* first day of the month */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Floor division of p by d > 0. */
static inline int64_t floor_div(int64_t p, int64_t d)
{
    int64_t q = p / d;
    return (p % d != 0 && p < 0) ? q - 1 : q;
}

/* Index of the calendar period (CHURN_PERIOD_WEEK .. YEAR) holding UTC day
 * `day` (a whole number within 1e9 of 1970): weeks since the Monday
 * 1969-12-29, or months, quarters, years since year 0. Consecutive periods
 * have consecutive indices. */
static inline double cal_period_of(int period, double day)
{
    int64_t y;
    int m;
    switch (period) {
    case CHURN_PERIOD_WEEK: /* 1970-01-01 was a Thursday */
        return (double)floor_div((int64_t)day + 3, 7);
    case CHURN_PERIOD_MONTH:
        civil_from_days((int64_t)day, &y, &m);
        return (double)(y * 12 + (m - 1));
    case CHURN_PERIOD_QUARTER:
        civil_from_days((int64_t)day, &y, &m);
        return (double)(y * 4 + (m - 1) / 3);
    default: /* CHURN_PERIOD_YEAR */
        civil_from_days((int64_t)day, &y, &m);
        return (double)y;
    }
}

/* First UTC day of calendar period `p` (an index of cal_period_of). */
static inline double cal_period_start(int period, double p)
{
    int64_t i = (int64_t)p;
    switch (period) {
    case CHURN_PERIOD_WEEK:
        return (double)(7 * i - 3);
    case CHURN_PERIOD_MONTH: {
        int64_t y = floor_div(i, 12);
        return (double)days_from_civil(y, (int)(i - y * 12) + 1);
    }
    case CHURN_PERIOD_QUARTER: {
        int64_t y = floor_div(i, 4);
        return (double)days_from_civil(y, 3 * (int)(i - y * 4) + 1);
    }
    default:
        return (double)days_from_civil(i, 1);
    }
}

/* Nominal length in days of a calendar period (0 for none). */
static inline double cal_period_days(int period)
{
    switch (period) {
    case CHURN_PERIOD_WEEK: return CHURN_UNIT_WEEK;
    case CHURN_PERIOD_MONTH: return CHURN_UNIT_MONTH;
    case CHURN_PERIOD_QUARTER: return CHURN_UNIT_QUARTER;
    case CHURN_PERIOD_YEAR: return CHURN_UNIT_YEAR;
    default: return 0.0;
    }
}

/* Days of a build are kept within this distance of 1970 with a period. */
#define CAL_MAX_DAYS 1e9

/* How one build measures time. Without a period the units are UTC days and
 * durations are divided by the time unit; with one the units are period
 * indices and durations are whole periods (u = 1). */
typedef struct cust_clock {
    int period;              /* CHURN_PERIOD_* */
    double cut_day, hold_day; /* UTC days of the cutoff and the holdout end */
    double cut, hold;        /* the same in units (days or period indices) */
    double cal_end;          /* seconds: the first moment after the cutoff day */
    double limit;            /* seconds: the first moment after the holdout end day */
    double u;                /* durations: units per time unit */
    double W;                /* trend window, in units */
    double H;                /* lapse threshold of duration/event, in units */
} cust_clock;

/* The unit of UTC day `day`. */
static inline double clock_unit(const cust_clock *k, double day)
{
    return k->period ? cal_period_of(k->period, day) : day;
}

/* The day number stored in first_purchase / last_purchase for unit `d`. */
static inline double clock_day(const cust_clock *k, double d)
{
    return k->period ? cal_period_start(k->period, d) : d;
}

static inline void clock_init(cust_clock *k, const churn_customer_options *o, double cut_day,
                              double hold_day)
{
    k->period = o->period;
    k->cut_day = cut_day;
    k->hold_day = hold_day;
    k->cut = clock_unit(k, cut_day);
    k->hold = clock_unit(k, hold_day);
    k->cal_end = (cut_day + 1) * CHURN_SECONDS_PER_DAY;
    k->limit = (hold_day + 1) * CHURN_SECONDS_PER_DAY;
    if (k->period) {
        k->u = 1.0;
        k->W = ceil(o->trend_window / cal_period_days(k->period));
        k->H = o->inactivity_threshold > 0 ? o->inactivity_threshold : k->hold - k->cut;
    } else {
        k->u = o->time_unit;
        k->W = o->trend_window;
        k->H = o->inactivity_threshold > 0 ? o->inactivity_threshold * o->time_unit
                                           : hold_day - cut_day;
    }
}

/* ---- the per-customer state shared by the batch and incremental paths --------- */

static inline void state_reset(churn_customer_state *s, const churn_customer_options *o)
{
    memset(s, 0, sizeof *s);
    s->struct_size = sizeof *s;
    s->time_unit = o->time_unit;
    s->same_day_once = o->same_day_once;
    s->first_purchase_counts = o->first_purchase_counts;
    s->last_time = -HUGE_VAL;
}

/* Add one order (amount >= 0) on UTC day `day`; days arrive non-decreasing. */
static inline void state_add_order(churn_customer_state *s, double day, double amount)
{
    if (s->n_orders == 0) {
        s->first_day = s->last_day = day;
        s->n_orders = 1;
        s->first_amount = amount;
        return;
    }
    if (s->same_day_once && day == s->last_day) {
        if (s->n_orders == 1)
            s->first_amount += amount;
        else
            s->repeat_amount += amount;
        return;
    }
    double gap = day - s->last_day;
    s->gap_sumsq += gap * gap;
    s->last_day = day;
    s->n_orders += 1;
    s->repeat_amount += amount;
}

static inline void state_add_refund(churn_customer_state *s, double amount)
{
    s->n_returns += 1;
    s->returns_amount -= amount;
}

/* A customer's running summary: k purchases (after the same-day merge), the
 * first and last purchase days, the first purchase's value and the later
 * ones', the sum of squared gaps (days^2), and the refunds. */
typedef struct cust_summary {
    double k, first_day, last_day, first_amount, repeat_amount, gap_sumsq;
    double n_returns, returns_amount;
} cust_summary;

/* The rule for unknown amounts (NaN: a log read without amounts, see
 * customers.h): a customer with an order of unknown amount on or before the
 * cutoff day has every calibration spend column NaN. Unknown amounts are
 * orders, so the sums of the orders' values (first_amount + repeat_amount) are
 * NaN exactly then; this sets the columns that read amounts, in v[COL_...].
 * The trend windows' spend is among them: callers set it before. */
static inline void spend_unknown_values(double *v)
{
    v[COL_MONETARY] = v[COL_TOTAL_SPEND] = v[COL_MEAN_ORDER] = NAN;
    v[COL_SPEND_RECENT] = v[COL_SPEND_PRIOR] = v[COL_SPEND_TREND] = NAN;
    v[COL_RETURNS_AMOUNT] = v[COL_NET_SPEND] = NAN;
}

/* All incremental columns as of UTC day `cut` (>= last_day, k >= 1), in time
 * units of u days, into v[COL_...]; other entries are left alone, except that
 * a customer with an unknown amount gets spend_unknown_values(). */
static inline void summary_values(const cust_summary *s, double u, int first_purchase_counts,
                                  double cut, double *v)
{
    double k = s->k;
    double gaps = k - 1, span = s->last_day - s->first_day;
    double total = s->first_amount + s->repeat_amount;
    double gap_mean = gaps > 0 ? span / gaps / u : 0.0;
    double since_last = (cut - s->last_day) / u;
    v[COL_FREQUENCY] = first_purchase_counts ? k : k - 1;
    v[COL_RECENCY] = span / u;
    v[COL_T] = (cut - s->first_day) / u;
    if (first_purchase_counts)
        v[COL_MONETARY] = total / k;
    else
        v[COL_MONETARY] = k > 1 ? s->repeat_amount / (k - 1) : 0.0;
    v[COL_N_ORDERS] = k;
    v[COL_TOTAL_SPEND] = total;
    v[COL_MEAN_ORDER] = total / k;
    v[COL_FIRST] = s->first_day;
    v[COL_LAST] = s->last_day;
    v[COL_SINCE_LAST] = since_last;
    v[COL_GAP_MEAN] = gap_mean;
    /* Population variance of the gaps from integer-valued sums, exact while
     * they stay below 2^53 days^2: (m*S2 - S1^2) / m^2. */
    double num = gaps * s->gap_sumsq - span * span;
    v[COL_GAP_STD] = gaps > 0 && num > 0 ? sqrt(num) / gaps / u : 0.0;
    v[COL_OVERDUE] = gap_mean > 0 ? since_last / gap_mean : 0.0;
    v[COL_N_RETURNS] = s->n_returns;
    v[COL_RETURNS_AMOUNT] = s->returns_amount;
    v[COL_NET_SPEND] = total - s->returns_amount;
    if (isnan(total))
        spend_unknown_values(v);
}

/* The same from the incremental state. */
static inline void state_values(const churn_customer_state *s, double cut, double *v)
{
    cust_summary m = {s->n_orders,     s->first_day, s->last_day, s->first_amount,
                      s->repeat_amount, s->gap_sumsq, s->n_returns, s->returns_amount};
    summary_values(&m, s->time_unit, s->first_purchase_counts, cut, v);
}

/* The holdout columns into v[COL_...] (COL_H_PURCHASES .. COL_EVENT) of a
 * customer with `purchases` and `spend` in the holdout, first purchase on
 * `first_day`, last purchase overall on `last_any`: a lapse (event) when the
 * inactivity threshold of H units passes before the holdout end `hold`, in
 * time units of u units (days or periods, see cust_clock). */
static inline void holdout_values(double purchases, double spend, double first_day,
                                  double last_any, double H, double hold, double u, double *v)
{
    v[COL_H_PURCHASES] = purchases;
    v[COL_H_SPEND] = spend;
    v[COL_CHURNED] = purchases == 0 ? 1.0 : 0.0;
    if (last_any + H <= hold) {
        v[COL_EVENT] = 1.0;
        v[COL_DURATION] = (last_any + H - first_day) / u;
    } else {
        v[COL_EVENT] = 0.0;
        v[COL_DURATION] = (hold - first_day) / u;
    }
}

static inline double trend_ratio(double recent, double prior)
{
    double s = recent + prior;
    return s > 0 ? (recent - prior) / s : 0.0;
}

/* Columns that are sums of amounts (or ratios of them): a sum beyond the
 * largest double (1.8e308) overflows to +-inf, and inf - inf or inf / inf
 * gives NaN, which would pass for an unknown amount. */
static inline int col_is_amount_sum(int j)
{
    switch (j) {
    case COL_MONETARY: case COL_TOTAL_SPEND: case COL_MEAN_ORDER: case COL_SPEND_RECENT:
    case COL_SPEND_PRIOR: case COL_SPEND_TREND: case COL_RETURNS_AMOUNT: case COL_NET_SPEND:
    case COL_H_SPEND:
        return 1;
    default:
        return 0;
    }
}

/* The first wanted column (want[j] != 0, j < n) of one customer's values
 * v[COL_...] whose sum overflowed, or -1. Amounts in a log are finite, so
 * with every amount known (total_spend not NaN) each such column is finite
 * unless a sum overflowed; with an unknown amount they are all NaN by the
 * rule of spend_unknown_values (and holdout_spend with one after the cutoff),
 * so only an infinite value is an overflow there. */
static inline int values_overflow(const double *v, const unsigned char *want, int n)
{
    int unknown = isnan(v[COL_TOTAL_SPEND]);
    for (int j = 0; j < n; j++) {
        if (!want[j] || !col_is_amount_sum(j))
            continue;
        /* holdout_spend is NaN for an unknown amount after the cutoff; a sum of
         * orders (>= 0) overflows to +inf, never NaN */
        if (unknown || j == COL_H_SPEND ? isinf(v[j]) : !isfinite(v[j]))
            return j;
    }
    return -1;
}

/* Columns the incremental state can produce (see churn_customer_state_value);
 * the grouping build takes them from the same state. */
static inline int col_incremental(int j)
{
    switch (j) {
    case COL_FREQUENCY: case COL_RECENCY: case COL_T: case COL_MONETARY:
    case COL_N_ORDERS: case COL_TOTAL_SPEND: case COL_MEAN_ORDER: case COL_FIRST:
    case COL_LAST: case COL_SINCE_LAST: case COL_GAP_MEAN: case COL_GAP_STD:
    case COL_OVERDUE: case COL_N_RETURNS: case COL_RETURNS_AMOUNT: case COL_NET_SPEND:
        return 1;
    default:
        return 0;
    }
}

/* Columns that need each customer's whole list of purchases (grouping): the
 * streaming path cannot produce them. */
static inline int col_needs_grouping(int j) { return j == COL_GAP_MEDIAN || j == COL_N_PRODUCTS; }

/* ---- customers_setup.c: options, columns, setup, the table ------------------ */

/* Validate every option (the message names the option). */
CHURN__HIDDEN int churn__cust_check_options(const churn_customer_options *o);
/* The column named by the `len` bytes at `name`, or -1. */
CHURN__HIDDEN int churn__cust_col_lookup(const char *name, size_t len);
/* The options of a build or a stream, checked: copied into *o, the cutoff
 * and holdout end days, and the wanted columns. `last_time` is the default
 * cutoff (NaN = none: `no_cutoff` is the message). `who` prefixes messages. */
CHURN__HIDDEN int churn__cust_setup(const char *who, const churn_customer_options *opts,
                                    double last_time, const char *no_cutoff,
                                    churn_customer_options *o, double *cut, double *hold,
                                    int *has_holdout, unsigned char *want);
/* With a calendar period: CHURN_ERANGE when a transaction of `log` is dated
 * more than CAL_MAX_DAYS before 1970 (later ones are past the holdout end,
 * which setup keeps within it). `who` prefixes the message. */
CHURN__HIDDEN int churn__cust_check_days(const char *who, const churn_customer_options *o,
                                         const churn_txlog *log);
/* malloc of a large buffer, with a transparent-huge-page hint. */
CHURN__HIDDEN void *churn__cust_big_malloc(size_t bytes);
/* A new empty table (no rows, no columns) for the cutoff and holdout end
 * (when has_holdout) of clock k, with the time unit and period of `o`, or
 * NULL (no message set). */
CHURN__HIDDEN churn_customers *churn__cust_table_new(const cust_clock *k, int has_holdout,
                                                     const churn_customer_options *o);
/* Its N rows, of C customers in the log, and the size of its id hash. */
CHURN__HIDDEN void churn__cust_table_rows(churn_customers *t, size_t N, size_t C);
/* CHURN_ENUMERIC: customer c of `log` has column j whose sum of amounts
 * overflowed (values_overflow); the message names the customer and column. */
CHURN__HIDDEN int churn__cust_overflow(const churn_txlog *log, size_t c, int j);
/* Copy the ids of log customers rows_to_cust[0..t->nrows) into t. */
CHURN__HIDDEN int churn__cust_copy_ids(churn_customers *t, const churn_txlog *log,
                                       const uint32_t *rows_to_cust);

/* ---- customers_population.c: the columns ranked over all customers -------------- */

/* R/F/M scores, segment and tier of N customers from their last purchase
 * day, n_orders and total_spend; outputs may be NULL (not wanted). Sets
 * *pareto (the key tier's share of total spend). */
CHURN__HIDDEN int churn__cust_population(size_t N, double cutoff_day, const double *last,
                                         const double *n_orders, const double *total,
                                         double *r_out, double *f_out, double *m_out,
                                         double *seg_out, double *tier_out,
                                         const churn_customer_options *o, double *pareto);

/* ---- customers_group.c and customers_stream.c: the two builders ------------------ */

/* Both build the table of the columns want[] of `log` from the setup's
 * options, cutoff and holdout days into *out. */

/* customers_group.c: any column, transactions in any order. */
CHURN__HIDDEN int churn__cust_build_grouped(churn_customers **out, const churn_txlog *log,
                                            const churn_customer_options *o,
                                            const unsigned char *want, double cut, double hold,
                                            int has_holdout);
/* customers_stream.c: in one pass (no grouping column may be wanted).
 * Returns CHURN_OK, or CHURN__NOT_STREAMABLE (no error message set) when
 * some customer's transactions are not in time order or a day is out of the
 * int32 range: the caller then groups instead. */
#define CHURN__NOT_STREAMABLE 1
CHURN__HIDDEN int churn__cust_build_streaming(churn_customers **out, const churn_txlog *log,
                                              const churn_customer_options *o,
                                              const unsigned char *want, double cut,
                                              double hold, int has_holdout);

#endif
