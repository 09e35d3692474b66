/**
 * @file churn/customers.h
 * @brief The customer table: one row per customer, named feature columns as
 *        of a cutoff date, holdout labels, population metrics, cohort
 *        retention, and an O(1) incremental per-customer state.
 *
 * ## Time
 * Every purchase is resolved to its **UTC calendar day**
 * (`day = floor(time / 86400)`, time in seconds since the epoch, see txlog.h).
 * The calibration period ends at the end of the cutoff's UTC day: a purchase
 * is in calibration iff `day(purchase) <= day(cutoff)`, as in lifetimes'
 * `summary_data_from_transaction_data(..., freq='D')`. The holdout period is
 * the days `day(cutoff) < day <= day(holdout_end)`. Purchases after the
 * cutoff never reach a calibration column.
 *
 * Durations (recency, T, gaps, ...) are in **time units** of
 * churn_customer_options::time_unit days: a number of days divided by the
 * unit, e.g. CHURN_UNIT_WEEK gives lifetimes' `freq='D', freq_multiplier=7`.
 *
 * ## Calendar periods (option `period`, @since 1.2)
 * Discrete-time models (BG/BB) count whole transaction opportunities: one
 * per year, quarter, month or week. With churn_customer_options::period set
 * to ::CHURN_PERIOD_YEAR, ::CHURN_PERIOD_QUARTER, ::CHURN_PERIOD_MONTH or
 * ::CHURN_PERIOD_WEEK, every purchase's UTC day is mapped to its **UTC
 * calendar period** (years and quarters and months of the proleptic
 * Gregorian calendar; weeks start on Monday, as ISO 8601 weeks) and counted
 * in whole periods:
 *  - all orders of one customer in one period are one purchase (the
 *    opportunity is used or not; its value is their sum);
 *  - `frequency` = periods with a purchase after the first one;
 *    `recency` = last purchase period - first purchase period;
 *    `T` = the cutoff's period - first purchase period; every duration
 *    column (time_since_last, gaps, duration) is in whole periods;
 *  - the calibration still ends with the cutoff's UTC day (no later purchase
 *    reaches a calibration column), and the cutoff's period counts as an
 *    opportunity in T: put the cutoff on the last day of a period, or on or
 *    after the day the periodic purchases are dated (a log of one row per
 *    customer and year dated January 1 may be cut on any day of the year);
 *  - the holdout counts purchases in the periods after the cutoff's period
 *    up to the holdout end's period (its days up to the holdout end day);
 *    a purchase after the cutoff day but in the cutoff's own period is in
 *    neither (its opportunity is already in T). `holdout_end` must fall in
 *    a later period than the cutoff;
 *  - the trend window is ceil(trend_window / nominal length) whole periods;
 *    the inactivity threshold is in periods;
 *  - `first_purchase` and `last_purchase` stay UTC day numbers: the first
 *    day of the purchase's period;
 *  - churn_customers_time_unit() reports the period's nominal length
 *    (::CHURN_UNIT_YEAR, ::CHURN_UNIT_QUARTER, ::CHURN_UNIT_MONTH,
 *    ::CHURN_UNIT_WEEK days) and churn_customers_period() the kind.
 * `time_unit` must then be left at its default (CHURN_UNIT_DAY) or equal the
 * nominal length, and `same_day_once` must be 1 (::CHURN_EINVAL otherwise,
 * naming both options). The days used (the first purchase through the
 * holdout end) must lie within 1e9 days of 1970-01-01 (::CHURN_ERANGE).
 * BTYD's dc.ElogToCbsCbt(per = "year") divides day differences by 365
 * instead (month 365/12, quarter 365/4) and merges only same-day purchases,
 * so its t.x and T.cal are fractional; its BG/BB walkthrough then gives the
 * number of opportunities by hand. On a log of one purchase day per
 * customer and period these periods give the whole numbers that
 * walkthrough rounds to.
 *
 * ## Orders, refunds, zero-value orders (the rule)
 *  - A transaction with amount >= 0 is an **order**. Zero-value orders
 *    (free samples, 100% vouchers) are orders: they count in `n_orders`,
 *    `frequency`, recency, gaps, and enter the spend means with value 0.
 *  - A transaction with amount < 0 is a **return/refund**. It is *not* an
 *    order: it never changes `frequency`, `recency`, `T`, `n_orders`, gaps,
 *    `monetary_value`, `total_spend` or `mean_order_value` (which describe
 *    purchases). It counts in `n_returns` (transactions, not merged by day)
 *    and `returns_amount` (sum of |amount|, >= 0), and lowers `net_spend`
 *    (= total_spend - returns_amount).
 *  - With `same_day_once` (default), all orders of one customer on one UTC day
 *    form one purchase whose value is the sum of their amounts (lifetimes,
 *    BTYD). Refunds are never merged into purchases. Without it, a
 *    customer's orders are taken in time order (ties in input order) and the
 *    first purchase is the earliest order.
 *  - A customer with no order on or before the cutoff day (first seen after
 *    the cutoff, or with refunds only) is **excluded** from the table and
 *    counted by churn_customers_num_excluded().
 *
 * ## Unknown amounts (logs without amounts, since 1.2)
 * A transaction whose amount is unknown (NaN: read or appended without an
 * amount, see txlog.h) is an **order**, never a refund: it counts in every
 * purchase column exactly as an order with an amount would, so a log read
 * with and without its amounts gives the same frequency, recency, T,
 * n_orders, gaps, order windows, n_products, R and F scores, segments and
 * labels, bit for bit. The **spend columns** read amounts:
 *  - a customer with an order of unknown amount on or before the cutoff day
 *    has NaN in monetary_value, total_spend, mean_order_value, spend_recent,
 *    spend_prior, spend_trend, returns_amount, net_spend, m_score and
 *    value_tier (the whole customer, not only the windows the order falls
 *    in: the customer's spend is unknown);
 *  - holdout_spend is NaN when an order of unknown amount falls on or before
 *    the holdout end day (in the calibration or the holdout);
 *  - m_score and value_tier rank total_spend among the customers whose spend
 *    is known (N in their rules is the number of those customers), so a
 *    mixed log ranks the known ones among themselves;
 *  - churn_customers_pareto_share() is NaN when any customer's spend is
 *    unknown; the repeat, churn and retention rates need no amount.
 * n_returns counts known refunds (0 in a log without amounts). The
 * incremental state (NaN amounts in churn_customer_state_add()) and the
 * streaming builder follow the same rule. The spend models refuse NaN spend
 * (spend.h); the BTYD models read no spend.
 *
 * ## Columns (all doubles, column-major; NaN only in the spend columns of a
 * customer with an unknown amount, see above)
 * BTYD inputs, exactly lifetimes' definitions:
 *  - `frequency`: number of repeat purchases (purchases - 1), or number of
 *    purchases when `first_purchase_counts` is set;
 *  - `recency`: last purchase day - first purchase day, in time units
 *    (0 for one-time buyers);
 *  - `T`: cutoff day - first purchase day, in time units;
 *  - `monetary_value`: mean value of the repeat purchases (0 when
 *    frequency is 0); mean of all purchases when `first_purchase_counts`.
 *
 * Order behaviour:
 *  - `n_orders`: number of purchases (after the same-day merge);
 *  - `total_spend`: sum of order amounts (>= 0, refunds not subtracted);
 *  - `mean_order_value`: total_spend / n_orders;
 *  - `first_purchase`, `last_purchase`: UTC day numbers (whole **days since
 *    1970-01-01**, not time units) of the first and last purchase, so that
 *    `day * 86400` is the purchase date at midnight UTC;
 *  - `time_since_last`: cutoff day - last purchase day, in time units
 *    (= T - recency);
 *  - `gap_mean`, `gap_median`, `gap_std`: mean, median and population
 *    standard deviation (divisor = number of gaps) of the gaps between
 *    consecutive purchases, in time units; 0 for one-time buyers (no gap);
 *    gap_std is 0 with a single gap;
 *  - `overdue_ratio`: time_since_last / gap_mean, the customer's lateness
 *    against their own rhythm (> 1 = later than usual); 0 when gap_mean is 0
 *    (one-time buyers: use frequency and time_since_last for them).
 *
 * Trends (W = churn_customer_options::trend_window days; orders only):
 *  - `orders_recent`, `spend_recent`: purchases and order amount on days
 *    `cutoff - W < day <= cutoff`;
 *  - `orders_prior`, `spend_prior`: the same for `cutoff - 2W < day <= cutoff - W`;
 *  - `orders_trend`, `spend_trend`: the bounded ratio
 *    `(recent - prior) / (recent + prior)` in [-1, 1]; 0 when both are 0.
 *
 * Breadth and returns:
 *  - `n_products`: distinct products among the calibration orders
 *    (0 when the log has no product column);
 *  - `n_returns`, `returns_amount`, `net_spend`: see the rule above.
 *
 * Segmentation (over the rows of the table):
 *  - `r_score`, `f_score`, `m_score`: quintile scores 1-5 of
 *    -time_since_last (recent = 5), n_orders and total_spend:
 *    `1 + floor(5 * b / N)` where b is the number of customers with a
 *    strictly worse value and N the number of rows; ties share a score;
 *  - `rfm_segment`: a code from the R and F scores, see ::churn_rfm_segment
 *    and churn_rfm_segment_name();
 *  - `value_tier`: 1 key account, 2 important, 3 ordinary
 *    (::churn_value_tier). A customer is in tier 1 when fewer than
 *    key_fraction*N customers have a strictly larger total_spend, tier 2 when
 *    fewer than (key_fraction+important_fraction)*N do, else 3 (ties at a
 *    boundary go to the better tier). churn_tiers_assign() (spend.h) applies
 *    the same rule to any value.
 *
 * Labels, only when a holdout end is given:
 *  - `holdout_purchases`: purchases (after the same-day merge) in the holdout;
 *  - `holdout_spend`: order amount in the holdout;
 *  - `churned`: 1 when holdout_purchases is 0, else 0;
 *  - `duration`, `event`: for survival models. Let L be the last purchase
 *    day on or before the holdout end and H the inactivity threshold in days.
 *    If `L + H <= holdout end day` the customer lapsed: event = 1 and
 *    duration = (L + H - first purchase day) in time units; otherwise
 *    event = 0 and duration = (holdout end day - first purchase day) in time
 *    units (censored). With the default threshold H = the holdout length,
 *    `event == churned` for every customer.
 *
 * Threading: a built table is read-only and may be shared by any number of
 * threads. The incremental state is plain data owned by the caller.
 */
#ifndef CHURN_CUSTOMERS_H
#define CHURN_CUSTOMERS_H

#include "common.h"
#include "txlog.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque customer table. @since 1.0 */
typedef struct churn_customers churn_customers;

/**
 * Calendar periods of churn_customer_options::period. Values are frozen.
 * @since 1.2
 */
typedef enum churn_period {
    CHURN_PERIOD_NONE = 0,    /**< UTC days and time units (the default) */
    CHURN_PERIOD_WEEK = 1,    /**< weeks starting on Monday (ISO 8601 weeks), UTC */
    CHURN_PERIOD_MONTH = 2,   /**< calendar months, UTC */
    CHURN_PERIOD_QUARTER = 3, /**< calendar quarters (January, April, July, October), UTC */
    CHURN_PERIOD_YEAR = 4     /**< calendar years, UTC */
} churn_period;

/**
 * Name of a calendar period: "none", "week", "month", "quarter", "year"
 * (the names the command and the bindings accept), a static string; NULL for
 * an unknown value. Thread-safe. @since 1.2
 */
CHURN_API const char *churn_period_name(int period);

/**
 * Options for churn_customers_build(). Initialise with
 * CHURN_CUSTOMER_OPTIONS_INIT or churn_customer_options_init(); NULL means
 * all defaults.
 * @since 1.0
 */
typedef struct churn_customer_options {
    size_t struct_size;
    /** End of calibration, seconds since the epoch; its whole UTC day is
     *  included. 0 (default) = the day of the last transaction in the log. */
    double cutoff;
    /** End of the holdout period, seconds since the epoch (its whole UTC day
     *  included); must fall on a later day than the cutoff. 0 (default) = no
     *  holdout: the label columns are absent. */
    double holdout_end;
    /** Time unit in days (> 0): CHURN_UNIT_DAY (default), CHURN_UNIT_WEEK,
     *  CHURN_UNIT_MONTH, CHURN_UNIT_YEAR or any positive number of days. */
    double time_unit;
    /** 1 (default): a customer's orders on one UTC day are one purchase whose
     *  value is their sum (lifetimes, BTYD); 0: every order is a purchase. */
    int same_day_once;
    /** 0 (default): frequency counts repeat purchases and monetary_value
     *  averages them (lifetimes); 1: both include the first purchase
     *  (lifetimes' include_first_transaction=True). */
    int first_purchase_counts;
    /** Trend window W in days (> 0, default 90). */
    double trend_window;
    /** Inactivity threshold for `duration`/`event`, in time units (>= 0).
     *  0 (default) = the holdout length, so that event == churned. */
    double inactivity_threshold;
    /** Share of customers in the key tier (value_tier 1), in (0, 1]; default 0.2. */
    double key_fraction;
    /** Share of customers in the important tier, in [0, 1 - key_fraction];
     *  default 0.3. */
    double important_fraction;
    /** The columns to compute: comma-separated names from the list above, in
     *  any order (spaces around names are ignored), e.g.
     *  "frequency,recency,T,monetary_value". The table holds them in the
     *  order of the list above. NULL (default) = every column. Borrowed for
     *  the call. An unknown name, an empty name or a holdout column without
     *  `holdout_end` is ::CHURN_EINVAL (the message names it).
     *
     *  Asking only for what a model needs saves time and memory: when neither
     *  `gap_median` nor `n_products` is asked for, a log whose transactions
     *  are in time order for each customer is summarised in one pass without
     *  grouping (see churn_customers_build()). @since 1.1 */
    const char *columns;
    /** Calendar periods (see "Calendar periods" above): ::CHURN_PERIOD_NONE
     *  (0, default: UTC days and `time_unit`), ::CHURN_PERIOD_WEEK,
     *  ::CHURN_PERIOD_MONTH, ::CHURN_PERIOD_QUARTER or ::CHURN_PERIOD_YEAR.
     *  The incremental state (churn_customer_state_init()) refuses it with
     *  ::CHURN_EUNSUPPORTED. @since 1.2 */
    int period;
} churn_customer_options;

/** Default customer options (C99 and C++ compatible). @since 1.0 */
#define CHURN_CUSTOMER_OPTIONS_INIT \
    { sizeof(churn_customer_options), 0.0, 0.0, CHURN_UNIT_DAY, 1, 0, 90.0, 0.0, 0.2, 0.3, NULL, \
      CHURN_PERIOD_NONE }

/** Fill `opts` with the defaults (NULL is a no-op). Thread-safe. @since 1.0 */
CHURN_API void churn_customer_options_init(churn_customer_options *opts);

/**
 * Build the customer table of `log` as of the cutoff.
 *
 * Rows are the customers with at least one order on or before the cutoff
 * day, in the log's customer order (first appearance). Cost: O(n + C) time
 * for n transactions and C customers, by one of two paths that give the same
 * values:
 *  - **one pass** (when the `columns` option leaves out `gap_median` and
 *    `n_products`): every transaction updates its customer's running summary
 *    in place (32 bytes per customer, plus 64 when trend, gap, refund or
 *    holdout columns are asked for). It needs each customer's transactions in
 *    time order: a log in time order overall (append-only, or read from a
 *    date-sorted file) needs no check; otherwise each customer's order is
 *    checked as it goes (8 bytes more per customer), and the build takes the
 *    second path when it does not hold;
 *  - **grouping**: a counting sort groups the rows by customer, in one
 *    sequential pass over the log per slice of customers (about 4 bytes of
 *    scratch per transaction, at least 64 MB, so usually 1 to 4 passes) plus
 *    20 bytes per customer.
 * Scratch is freed before returning. The log is not modified. Large buffers
 * are marked for transparent huge pages on Linux.
 *
 * @param[out] out   the new table (free with churn_customers_free()); NULL on failure
 * @param[in]  log   transactions (borrowed for the call; the table keeps no
 *                   pointer into it except a copy of the customer ids)
 * @param[in]  opts  options, or NULL for the defaults
 * @return ::CHURN_OK; ::CHURN_EINVAL (NULL argument, bad option — the message
 *         names it —, empty log without a cutoff, holdout end not after the
 *         cutoff day); ::CHURN_ENUMERIC (a customer's amounts add up beyond the
 *         largest double in a column asked for — monetary_value, total_spend,
 *         mean_order_value, the spend trends, returns_amount, net_spend,
 *         holdout_spend: the message names the customer and the column; such a
 *         sum is never stored as inf or NaN); ::CHURN_ENOMEM
 * @since 1.0
 */
CHURN_API int churn_customers_build(churn_customers **out, const churn_txlog *log,
                                    const churn_customer_options *opts);

/** Free a table. NULL is a no-op. @since 1.0 */
CHURN_API void churn_customers_free(churn_customers *t);

/** Number of rows (customers in the table). 0 for NULL. @since 1.0 */
CHURN_API size_t churn_customers_num_rows(const churn_customers *t);

/** Number of columns: those asked for with the `columns` option (default all;
 *  the holdout columns only exist with a holdout end). @since 1.0 */
CHURN_API size_t churn_customers_num_columns(const churn_customers *t);

/**
 * Name of column `j` (0 <= j < num_columns), a static string; NULL when out
 * of range. @since 1.0
 */
CHURN_API const char *churn_customers_column_name(const churn_customers *t, size_t j);

/**
 * Borrowed pointer to the `num_rows` values of the named column (contiguous,
 * owned by the table, valid until churn_customers_free()). Zero-copy: a
 * binding may wrap it directly.
 * @return the column, or NULL with ::CHURN_ENOTFOUND (message names the
 *         column) when absent, ::CHURN_EINVAL for a NULL argument
 * @since 1.0
 */
CHURN_API const double *churn_customers_column(const churn_customers *t, const char *name);

/** Column `j` by position, or NULL (::CHURN_ERANGE) when out of range. @since 1.0 */
CHURN_API const double *churn_customers_column_at(const churn_customers *t, size_t j);

/**
 * Original id text of the customer in `row`, owned by the table; NULL when
 * out of range. @since 1.0
 */
CHURN_API const char *churn_customers_id(const churn_customers *t, size_t row);

/**
 * Every row's customer id in one call (what churn_customers_id() gives row
 * by row): the ids in row order, each followed by one NUL byte, copied into
 * `buf`. A binding reads a million ids this way with one call instead of a
 * million.
 *
 * @param[in]  t       a table
 * @param[out] buf     destination (may be NULL when cap is 0)
 * @param[in]  cap     its capacity in bytes
 * @param[out] needed  bytes the ids take: the sum over rows of strlen(id) + 1
 *                     (0 for a table without rows; may be NULL)
 * @return ::CHURN_OK; ::CHURN_EINVAL (NULL table);
 *         ::CHURN_ERANGE (cap too small: *needed is set, nothing written)
 * No allocation. Thread-safe for an unmodified table.
 * @since 1.3
 */
CHURN_API int churn_customers_ids_packed(const churn_customers *t, char *buf, size_t cap,
                                         size_t *needed);

/**
 * Find the row of a customer id. The first call builds a hash index of the
 * ids (O(rows), 8 bytes per row); later calls are O(1). Safe to call from
 * several threads on a shared table.
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_ENOTFOUND (not in the log, or
 *         excluded from the table), ::CHURN_ENOMEM (building the index)
 * @since 1.0
 */
CHURN_API int churn_customers_find(const churn_customers *t, const char *customer_id,
                                   size_t *row);

/** Customers of the log left out: no order on or before the cutoff day. @since 1.0 */
CHURN_API size_t churn_customers_num_excluded(const churn_customers *t);

/** The cutoff used: midnight UTC starting the cutoff day, seconds since the epoch. @since 1.0 */
CHURN_API double churn_customers_cutoff(const churn_customers *t);

/** The holdout end used (midnight UTC of its day), or 0 when none. @since 1.0 */
CHURN_API double churn_customers_holdout_end(const churn_customers *t);

/** The time unit in days; with calendar periods, the period's nominal
 *  length (CHURN_UNIT_YEAR, CHURN_UNIT_QUARTER, CHURN_UNIT_MONTH or
 *  CHURN_UNIT_WEEK days: the durations themselves are whole periods).
 *  @since 1.0 */
CHURN_API double churn_customers_time_unit(const churn_customers *t);

/**
 * Check that this table may meet `model`: churn_model_check_time_unit() with
 * the table's time unit. Call it before passing the table's columns to a
 * model's prediction functions, which take plain arrays and cannot see units.
 * @return ::CHURN_OK; ::CHURN_EUNIT (the message names both units);
 *         ::CHURN_EINVAL (NULL argument)
 * Thread-safe.
 * @since 1.2
 */
CHURN_API int churn_customers_check_model(const churn_customers *t, const churn_model *model);

/** The calendar period the table was built with (::churn_period;
 *  ::CHURN_PERIOD_NONE for days, and for NULL). @since 1.2 */
CHURN_API int churn_customers_period(const churn_customers *t);

/* ---- segments ------------------------------------------------------------ */

/**
 * RFM segment codes, from the R score (recency) and F score (frequency):
 * @since 1.0
 */
typedef enum churn_rfm_segment {
    CHURN_RFM_CHAMPIONS = 1,           /**< R 5,   F 4-5 */
    CHURN_RFM_LOYAL = 2,               /**< R 3-4, F 4-5 */
    CHURN_RFM_POTENTIAL_LOYALISTS = 3, /**< R 4-5, F 2-3 */
    CHURN_RFM_NEW = 4,                 /**< R 5,   F 1 */
    CHURN_RFM_PROMISING = 5,           /**< R 4,   F 1 */
    CHURN_RFM_NEED_ATTENTION = 6,      /**< R 3,   F 3 */
    CHURN_RFM_ABOUT_TO_SLEEP = 7,      /**< R 3,   F 1-2 */
    CHURN_RFM_AT_RISK = 8,             /**< R 1-2, F 3-4 */
    CHURN_RFM_CANT_LOSE = 9,           /**< R 1-2, F 5 */
    CHURN_RFM_HIBERNATING = 10         /**< R 1-2, F 1-2 */
} churn_rfm_segment;

/**
 * Name of an RFM segment code ("champions", "loyal customers", "potential
 * loyalists", "new customers", "promising", "need attention",
 * "about to sleep", "at risk", "can't lose them", "hibernating"), a static
 * string; NULL for an unknown code. Thread-safe. @since 1.0
 */
CHURN_API const char *churn_rfm_segment_name(int code);

/** Value tiers (column `value_tier`). Values are frozen. @since 1.0 */
typedef enum churn_value_tier {
    CHURN_TIER_KEY = 1,       /**< key accounts: the top key_fraction of customers */
    CHURN_TIER_IMPORTANT = 2, /**< the next important_fraction */
    CHURN_TIER_ORDINARY = 3   /**< the rest */
} churn_value_tier;

/* ---- population metrics ---------------------------------------------------- */

/** Share of the table's customers with at least two purchases (n_orders >= 2);
 *  0 for an empty table. @since 1.0 */
CHURN_API double churn_customers_repeat_rate(const churn_customers *t);

/**
 * Share of the table's customers with no purchase in the holdout (mean of
 * `churned`).
 * @param[out] rate  the churn rate in [0, 1]
 * @return ::CHURN_OK, ::CHURN_EINVAL (NULL, or an empty table),
 *         ::CHURN_EUNSUPPORTED (built without a holdout end)
 * @since 1.0
 */
CHURN_API int churn_customers_churn_rate(const churn_customers *t, double *rate);

/** 1 - churn rate; same rules as churn_customers_churn_rate(). @since 1.0 */
CHURN_API int churn_customers_retention_rate(const churn_customers *t, double *rate);

/** Share of total_spend held by the key tier (the Pareto share, e.g. 0.8 for
 *  "20% of customers bring 80% of revenue"); 0 when total spend is 0; NaN
 *  when the table was built with a `columns` list without `value_tier`
 *  (not computed), or when some customer's spend is unknown (a log without
 *  amounts, since 1.2). @since 1.0 */
CHURN_API double churn_customers_pareto_share(const churn_customers *t);

/* ---- cohorts --------------------------------------------------------------- */

/**
 * Options for churn_customers_cohort_table(). @since 1.0
 */
typedef struct churn_cohort_options {
    size_t struct_size;
    /** Last day observed, seconds since the epoch; 0 (default) = day of the
     *  last transaction in the log. Later transactions are ignored. */
    double cutoff;
    /** Period length in days (> 0); default CHURN_UNIT_MONTH. */
    double period;
    /** 1 (default): a period of CHURN_UNIT_DAY, CHURN_UNIT_WEEK,
     *  CHURN_UNIT_MONTH or CHURN_UNIT_YEAR means UTC calendar days, weeks
     *  starting on Monday, calendar months or calendar years. Otherwise (and
     *  with 0) periods are consecutive blocks of `period` days starting on the
     *  day of the log's first order. */
    int calendar;
} churn_cohort_options;

/** Default cohort options. @since 1.0 */
#define CHURN_COHORT_OPTIONS_INIT { sizeof(churn_cohort_options), 0.0, CHURN_UNIT_MONTH, 1 }

/** Fill `opts` with the defaults (NULL is a no-op). @since 1.0 */
CHURN_API void churn_cohort_options_init(churn_cohort_options *opts);

/**
 * Retention by acquisition cohort.
 *
 * A customer's cohort is the period of their first order (amount >= 0) on or
 * before the cutoff. Cohorts run from the period of the log's first order to
 * the cutoff's period (empty cohorts included, size 0); offsets k = 0 ..
 * n_periods-1 count periods since acquisition. Cell (i, k) holds the number
 * of customers of cohort i with at least one order in period i + k
 * (`active`) and that number divided by the cohort size (`retention`; 1 at
 * k = 0, 0 for an empty cohort). Cells after the cutoff's period
 * (i + k > n_cohorts - 1) are not observed and hold -1. The cutoff's
 * period is usually only partly observed.
 *
 * Sizes: call with all three buffers NULL to get `*n_cohorts` and
 * `*n_periods` (n_periods == n_cohorts). Otherwise pass in `*n_cohorts` and
 * `*n_periods` the capacity of the buffers (rows and columns); the function
 * sets them to the sizes used and fills row-major buffers with row stride
 * `*n_periods`.
 *
 * @param[in]     log           transactions
 * @param[in]     opts          options or NULL
 * @param[in,out] n_cohorts     cohorts (rows)
 * @param[in,out] n_periods     offsets (columns)
 * @param[out]    cohort_start  n_cohorts start times of the cohort periods
 *                              (midnight UTC, seconds since the epoch), or NULL
 * @param[out]    active        n_cohorts*n_periods counts, or NULL
 * @param[out]    retention     n_cohorts*n_periods shares, or NULL
 * @return ::CHURN_OK; ::CHURN_EINVAL (NULL log/sizes, bad option, no order on
 *         or before the cutoff); ::CHURN_ERANGE (buffers too small; sizes set;
 *         a purchase/cutoff day more than 1e9 days from 1970-01-01, or more
 *         than 5,000 periods from the first order to the cutoff: the message
 *         names both dates);
 *         ::CHURN_ENOMEM
 * @since 1.0
 */
CHURN_API int churn_customers_cohort_table(const churn_txlog *log,
                                           const churn_cohort_options *opts,
                                           size_t *n_cohorts, size_t *n_periods,
                                           double *cohort_start, double *active,
                                           double *retention);

/* ---- incremental per-customer state ------------------------------------------ */

/**
 * The running state of one customer: O(1) memory, updated in O(1) per
 * purchase, yielding the same values as churn_customers_build() for the
 * columns listed at churn_customer_state_value(). Plain data: the raw bytes
 * of the struct are only valid with the same library version and platform;
 * to store a state next to the customer record, use the portable encoding
 * churn_customer_state_encode() / churn_customer_state_decode() (since 1.2),
 * which every later release of `libchurn.so.1` decodes. Fields are private
 * to the library: read features only through churn_customer_state_value()
 * or churn_customer_state_values().
 *
 * Purchases must be added in time order (non-decreasing time, refunds
 * included): churn_customer_state_add() rejects an earlier time.
 * @since 1.0
 */
typedef struct churn_customer_state {
    size_t struct_size;
    double time_unit;          /**< days per time unit */
    int same_day_once;         /**< as in churn_customer_options */
    int first_purchase_counts; /**< as in churn_customer_options */
    double last_time;          /**< time of the last transaction added (seconds) */
    double n_transactions;     /**< transactions added (orders and refunds) */
    double n_orders;           /**< purchases (after the same-day merge) */
    double first_day;          /**< UTC day of the first order */
    double last_day;           /**< UTC day of the last order */
    double first_amount;       /**< value of the first purchase */
    double repeat_amount;      /**< value of the other purchases */
    double gap_sumsq;          /**< sum of squared gaps, in days^2 */
    double n_returns;          /**< refunds */
    double returns_amount;     /**< sum of |refund| */
    double reserved[6];        /**< zero */
} churn_customer_state;

/**
 * Start an empty state with the time unit, same_day_once and
 * first_purchase_counts of `opts` (NULL = defaults; other options are
 * ignored, except `period`).
 * @return ::CHURN_OK, ::CHURN_EINVAL (NULL state or bad option),
 *         ::CHURN_EUNSUPPORTED (option `period` set, since 1.2: the state
 *         counts days; build a table for calendar periods)
 * @since 1.0
 */
CHURN_API int churn_customer_state_init(churn_customer_state *s,
                                        const churn_customer_options *opts);

/**
 * Add one transaction (amount >= 0: order; < 0: refund; NaN: an order of
 * unknown amount, whose spend columns are then NaN as in the batch table —
 * see "Unknown amounts" above; since 1.2). O(1).
 * @param[in] time    seconds since the epoch, >= the time of the previous call
 * @param[in] amount  finite, or NaN (unknown)
 * @return ::CHURN_OK, ::CHURN_EINVAL (NULL, non-finite time, infinite
 *         amount, time earlier than the previous transaction: the state is
 *         unchanged)
 * @since 1.0
 */
CHURN_API int churn_customer_state_add(churn_customer_state *s, double time, double amount);

/**
 * One feature of the state as of `cutoff` (seconds since the epoch; its day
 * must not be before the day of the last order added). The value equals the
 * batch table's column for a log holding the same transactions, bit for bit
 * when they were added in the batch path's order (time, then input order);
 * another order of same-time transactions can only change the rounding of
 * the sums of amounts.
 *
 * Incremental columns: frequency, recency, T, monetary_value, n_orders,
 * total_spend, mean_order_value, first_purchase, last_purchase,
 * time_since_last, gap_mean, gap_std, overdue_ratio, n_returns,
 * returns_amount, net_spend. `gap_median` has no exact O(1) update and is
 * not offered (::CHURN_EUNSUPPORTED), nor are the window, breadth, score,
 * tier and label columns, which need the history or the population.
 *
 * @param[out] value  the feature
 * @return ::CHURN_OK; ::CHURN_EINVAL (NULL, non-finite cutoff, cutoff day
 *         before the last order, no order added yet for an order column);
 *         ::CHURN_EUNSUPPORTED (a batch-only column); ::CHURN_ENOTFOUND
 *         (unknown name)
 * @since 1.0
 */
CHURN_API int churn_customer_state_value(const churn_customer_state *s, double cutoff,
                                         const char *column, double *value);

/**
 * Check that this state's features may meet `model`: churn_model_check_time_unit()
 * with the state's time unit (set by churn_customer_state_init()). A state
 * built in days and a model fitted in weeks fail with ::CHURN_EUNIT instead
 * of a wrong P(alive); call it before scoring the state's features.
 * @return ::CHURN_OK; ::CHURN_EUNIT (the message names both units);
 *         ::CHURN_EINVAL (NULL argument, state not initialised)
 * Thread-safe.
 * @since 1.2
 */
CHURN_API int churn_customer_state_check_model(const churn_customer_state *s,
                                               const churn_model *model);

/**
 * Number of columns churn_customer_state_values() fills: 16 in 1.2. A later
 * 1.x may append columns (never reorder them). Thread-safe. @since 1.2
 */
CHURN_API size_t churn_customer_state_num_columns(void);

/**
 * Name of the state's column `i` (0-based) in the order of
 * churn_customer_state_values(), a static string; NULL when `i` >=
 * churn_customer_state_num_columns(). The order (frozen, only appended to):
 *
 *  | i | column          | i  | column        |
 *  |---|-----------------|----|---------------|
 *  | 0 | frequency       | 8  | last_purchase |
 *  | 1 | recency         | 9  | time_since_last |
 *  | 2 | T               | 10 | gap_mean      |
 *  | 3 | monetary_value  | 11 | gap_std       |
 *  | 4 | n_orders        | 12 | overdue_ratio |
 *  | 5 | total_spend     | 13 | n_returns     |
 *  | 6 | mean_order_value| 14 | returns_amount|
 *  | 7 | first_purchase  | 15 | net_spend     |
 *
 * The CHURN_STATE_COL_* macros name these indices. Thread-safe. @since 1.2
 */
CHURN_API const char *churn_customer_state_column_name(size_t i);

/** Indices of churn_customer_state_values()'s columns (see
 *  churn_customer_state_column_name()). @since 1.2 */
#define CHURN_STATE_COL_FREQUENCY 0
#define CHURN_STATE_COL_RECENCY 1
#define CHURN_STATE_COL_T 2
#define CHURN_STATE_COL_MONETARY_VALUE 3
#define CHURN_STATE_COL_N_ORDERS 4
#define CHURN_STATE_COL_TOTAL_SPEND 5
#define CHURN_STATE_COL_MEAN_ORDER_VALUE 6
#define CHURN_STATE_COL_FIRST_PURCHASE 7
#define CHURN_STATE_COL_LAST_PURCHASE 8
#define CHURN_STATE_COL_TIME_SINCE_LAST 9
#define CHURN_STATE_COL_GAP_MEAN 10
#define CHURN_STATE_COL_GAP_STD 11
#define CHURN_STATE_COL_OVERDUE_RATIO 12
#define CHURN_STATE_COL_N_RETURNS 13
#define CHURN_STATE_COL_RETURNS_AMOUNT 14
#define CHURN_STATE_COL_NET_SPEND 15

/**
 * Index of the state column named `column` in the order of
 * churn_customer_state_values(), without touching the thread's error
 * message: >= 0 for a state column; -1 for a column of the customer table
 * that the state cannot give (gap_median, the trend windows, n_products,
 * scores, tiers, labels: they need the history or the population); -2 for a
 * name that is no customer-table column (or NULL). Thread-safe. @since 1.2
 */
CHURN_API int churn_customer_state_column_index(const char *column);

/**
 * Every state column as of `cutoff` in one call: out[i] = the value
 * churn_customer_state_value() gives for churn_customer_state_column_name(i),
 * for i < n (the first n columns; n may be smaller than
 * churn_customer_state_num_columns() to ask for a prefix). O(1): about as
 * cheap as one churn_customer_state_value() call.
 *
 * @param[in]  cutoff  seconds since the epoch, its day not before the last order's
 * @param[out] out     n doubles
 * @param[in]  n       1 .. churn_customer_state_num_columns()
 * @return ::CHURN_OK; ::CHURN_EINVAL (NULL, state not initialised, non-finite
 *         cutoff, cutoff day before the last order, no order added yet);
 *         ::CHURN_ERANGE (n is 0 or more than the number of columns; the
 *         message gives the number)
 * Thread-safe for distinct or unmodified states.
 * @since 1.2
 */
CHURN_API int churn_customer_state_values(const churn_customer_state *s, double cutoff,
                                          double *out, size_t n);

/* ---- portable encoding of the state (for storing it in a database) ---------- */

/** Current format version written by churn_customer_state_encode(). @since 1.2 */
#define CHURN_STATE_FORMAT_VERSION 1
/** Size in bytes of an encoding of format version 1. A later library may
 *  write a longer, newer format: ask churn_customer_state_encode() for the
 *  size rather than relying on this constant. @since 1.2 */
#define CHURN_STATE_ENCODED_SIZE_V1 108

/**
 * Encode a state into portable bytes that every later release of
 * `libchurn.so.1` decodes, on any platform: the state a CRM stores next to
 * the customer record for years.
 *
 * Format version 1 (108 bytes, all integers and IEEE-754 binary64 doubles
 * little-endian whatever the host's byte order):
 *
 *  | offset | size | field |
 *  |--------|------|-------|
 *  | 0   | 4 | magic "CHST" |
 *  | 4   | 2 | format version (1) |
 *  | 6   | 2 | ABI major of the library (1) |
 *  | 8   | 4 | total length in bytes, checksum included (108) |
 *  | 12  | 4 | flags: bit 0 same_day_once, bit 1 first_purchase_counts; others 0 |
 *  | 16  | 8 | time unit in days |
 *  | 24  | 8 | time of the last transaction (seconds; -inf when none) |
 *  | 32  | 8 | transactions added |
 *  | 40  | 8 | purchases (after the same-day merge) |
 *  | 48  | 8 | UTC day of the first order |
 *  | 56  | 8 | UTC day of the last order |
 *  | 64  | 8 | value of the first purchase (NaN: unknown) |
 *  | 72  | 8 | value of the other purchases (NaN: unknown) |
 *  | 80  | 8 | sum of squared gaps (days^2) |
 *  | 88  | 8 | refunds |
 *  | 96  | 8 | sum of refunded amounts |
 *  | 104 | 4 | CRC-32 (zlib's, ISO-HDLC) of bytes 0 .. 103 |
 *
 * A later format version keeps the header (bytes 0 .. 15) and the checksum
 * last, and may append fields before it; the length field says where it is.
 *
 * @param[in]  s       an initialised state
 * @param[out] buf     destination (may be NULL when cap is 0)
 * @param[in]  cap     its capacity in bytes
 * @param[out] needed  bytes the encoding takes (may be NULL)
 * @return ::CHURN_OK; ::CHURN_EINVAL (NULL state, state not initialised);
 *         ::CHURN_ERANGE (cap too small: *needed is set, nothing written)
 * Thread-safe for distinct or unmodified states.
 * @since 1.2
 */
CHURN_API int churn_customer_state_encode(const churn_customer_state *s, unsigned char *buf,
                                          size_t cap, size_t *needed);

/**
 * Decode bytes written by churn_customer_state_encode() of this or any
 * earlier release of ABI major 1 into `*s` (which need not be initialised;
 * it is written only on success). The decoded state continues exactly where
 * the encoded one stopped: every feature and every later
 * churn_customer_state_add() is as if the state had never left memory.
 *
 * @return ::CHURN_OK; ::CHURN_EINVAL (NULL argument); ::CHURN_EFORMAT (not a
 *         state encoding, truncated, wrong length, checksum mismatch, unknown
 *         flags or impossible values — the message says which);
 *         ::CHURN_EVERSION (a newer format version or another ABI major than
 *         this library reads; the message gives both)
 * Thread-safe.
 * @since 1.2
 */
CHURN_API int churn_customer_state_decode(churn_customer_state *s, const unsigned char *buf,
                                          size_t len);

/* ---- streaming: the table of a log too large for memory -------------------- */

/**
 * Opaque builder of a customer table from transactions that arrive in chunks,
 * holding a summary per customer instead of the transactions: memory grows
 * with the number of customers (about 40 bytes each, plus 64 with trend, gap,
 * refund or holdout columns, plus the interned ids), not with the number of
 * transactions.
 *
 * Use: churn_customer_stream_new(); append rows to the stream's own log
 * (churn_customer_stream_log(): churn_txlog_append*, or
 * churn_txlog_read_csv_chunked() with a callback that calls
 * churn_customer_stream_fold()); churn_customer_stream_finish() returns the
 * table. The values equal churn_customers_build()'s on the same rows.
 *
 * Requirements: option `cutoff` must be set (the last day of a stream is not
 * known in advance), and each customer's transactions must arrive in time
 * order (a file sorted by date, or by customer and date): an earlier
 * transaction after a later one of the same customer fails the fold with
 * ::CHURN_EINVAL, naming the customer and the transaction's position in the
 * stream. Transactions after the holdout end (or after the cutoff without a
 * holdout) are ignored unchecked. Calendar periods (option `period`) are
 * supported as in churn_customers_build(). `gap_median` and `n_products` need each
 * customer's whole history: asking for them is ::CHURN_EUNSUPPORTED, and
 * "every column" (`columns` NULL) leaves them out.
 *
 * Threading: one thread at a time per stream; streams are independent.
 * @since 1.1
 */
typedef struct churn_customer_stream churn_customer_stream;

/**
 * Start a stream with the options of churn_customers_build() (copied,
 * including the `columns` text).
 * @return ::CHURN_OK; ::CHURN_EINVAL (NULL out, bad option, no cutoff,
 *         holdout end not after the cutoff day); ::CHURN_EUNSUPPORTED
 *         (gap_median or n_products asked for); ::CHURN_ENOMEM
 * @since 1.1
 */
CHURN_API int churn_customer_stream_new(churn_customer_stream **out,
                                        const churn_customer_options *opts);

/** Free a stream (and its log). NULL is a no-op. @since 1.1 */
CHURN_API void churn_customer_stream_free(churn_customer_stream *s);

/**
 * The stream's log, owned by the stream: append rows to it with any txlog
 * function. Each fold summarises its rows and empties it of rows (the
 * customer ids stay, as the table needs them). NULL for a NULL stream.
 * @since 1.1
 */
CHURN_API churn_txlog *churn_customer_stream_log(churn_customer_stream *s);

/**
 * Summarise the rows of the stream's log into the per-customer state and
 * drop them. O(rows). After a failure other than ::CHURN_ENOMEM the stream
 * is unusable (every later call fails).
 * @return ::CHURN_OK; ::CHURN_EINVAL (NULL, finished or failed stream, a
 *         transaction out of time order for its customer — the message names
 *         the customer, the date and the transaction number counted from 1
 *         over the whole stream); ::CHURN_ERANGE (a day beyond +-2^31 days or
 *         2^32 purchases of one customer); ::CHURN_ENOMEM
 * @since 1.1
 */
CHURN_API int churn_customer_stream_fold(churn_customer_stream *s);

/** Transactions folded so far. @since 1.1 */
CHURN_API uint64_t churn_customer_stream_rows_folded(const churn_customer_stream *s);

/**
 * Fold what remains and build the table (free it with
 * churn_customers_free()). The stream is finished afterwards: only
 * churn_customer_stream_free() remains.
 * @return as churn_customer_stream_fold(); ::CHURN_EINVAL for a NULL `out`;
 *         ::CHURN_ENUMERIC for a sum of amounts beyond the largest double, as
 *         churn_customers_build()
 * @since 1.1
 */
CHURN_API int churn_customer_stream_finish(churn_customer_stream *s, churn_customers **out);

#ifdef __cplusplus
}
#endif

#endif /* CHURN_CUSTOMERS_H */
