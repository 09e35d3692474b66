/**
 * @file churn/report.h
 * @brief The retention report as one self-contained HTML5 page (issue 25):
 *        the summary, the save-now and win-back lists, value-tier shares,
 *        the P(alive) distribution, retention by acquisition cohort and
 *        Kaplan-Meier retention by tier, with the charts as inline SVG.
 *
 * The page holds no script, no font, no image file and no URL: it opens
 * offline, prints (print style sheet, charts kept whole on a page) and reads
 * on a phone (the charts scale with the width through their viewBox, wide
 * tables scroll). Every text that comes from the caller (ids, alert names,
 * the title) is escaped for HTML. Numbers are written in the C locale.
 *
 * The two lists (docs/report.md, "The two action lists"):
 *  - save now: customers with p_alive >= alive_threshold, ranked by
 *    value_at_risk (the expected loss over the horizon), largest first;
 *  - win back: customers with p_alive < alive_threshold, ranked by
 *    value_if_active = clv + value_at_risk (the value over the horizon of a
 *    customer won back), largest first.
 * Ties keep the input order. These are the lists of `churn report`.
 *
 * Threading: reentrant; the inputs are borrowed read-only for the call.
 */
#ifndef CHURN_REPORT_H
#define CHURN_REPORT_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * What the page shows. A size-versioned input struct: initialise it with
 * ::CHURN_REPORT_PAGE_INIT or churn_report_page_init(), then set the fields;
 * fields are only ever appended. Pointers are borrowed for the call.
 *
 * Per-customer arrays have `n` entries, all in the same customer order.
 * Required: `customer_id`, `p_alive` (in [0, 1]), `clv`, `value_at_risk`
 * (finite, >= 0), `tier` (::CHURN_TIER_KEY, ::CHURN_TIER_IMPORTANT or
 * ::CHURN_TIER_ORDINARY). Optional (NULL: left out): `alerts` (the fired rule
 * names of each customer, e.g. "overdue;spend_down"; a NULL entry is none),
 * `recency` and `T` (time units; both or neither: the Kaplan-Meier chart),
 * and the cohort matrix (the cohort chart).
 *
 * @since 1.3
 */
typedef struct churn_report_page {
    size_t struct_size;
    /** Page title (UTF-8); NULL: "Retention report". */
    const char *title;
    /** Cutoff date as text, e.g. "1997-09-30"; NULL: not shown. */
    const char *cutoff;
    /** Purchase model name for the summary, e.g. "bgnbd"; NULL: not shown. */
    const char *model;
    /** Name of the money unit of the amounts, on axes and in tables (e.g. "USD"); NULL:
     *  "amount units". */
    const char *currency;
    /** Time unit of recency and T, in days (> 0); default 7 (weeks). */
    double time_unit_days;
    /** The CLV settings, shown in the summary: periods (> 0, default 12), period length
     *  in time units (> 0, default 30.4375 / time_unit_days when 0), discount rate
     *  per period (>= 0, default 0.01) and margin (default 1). */
    int horizon;
    double period, discount, margin;
    /** P(alive) that splits the lists, in (0, 1); default 0.5. */
    double alive_threshold;
    /** Customers shown in each list (default 20; 0: none). */
    size_t top;
    /** Number of customers (>= 1). */
    size_t n;
    const char *const *customer_id;
    const double *p_alive, *clv, *value_at_risk;
    const int *tier;
    const char *const *alerts;
    const double *recency, *T;
    /** Cohorts (rows) of `cohort_retention`, as churn_customers_cohort_table() gives it:
     *  row-major n_cohorts x n_cohorts shares in [0, 1], -1 where not observed;
     *  `cohort_start` the n_cohorts period starts (seconds since the epoch, UTC);
     *  `cohort_size` (optional) the customers of each cohort (empty cohorts are
     *  skipped); `cohort_period_days` the period length in days (default 30.4375:
     *  months). At most the last 24 non-empty cohorts and 24 offsets are drawn. */
    size_t n_cohorts;
    const double *cohort_start, *cohort_retention, *cohort_size;
    double cohort_period_days;
} churn_report_page;

/** Defaults for ::churn_report_page. @since 1.3 */
#define CHURN_REPORT_PAGE_INIT                                                                 \
    { sizeof(churn_report_page), NULL, NULL, NULL, NULL, 7.0, 12, 0.0, 0.01, 1.0, 0.5, 20, 0,  \
      NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, 30.4375 }

/** Fill `page` with the defaults (NULL is a no-op). @since 1.3 */
CHURN_API void churn_report_page_init(churn_report_page *page);

/**
 * Render the retention report as one self-contained HTML5 page (UTF-8).
 *
 * The page has, in order: the summary (customers, cutoff, model, CLV
 * settings, total CLV, total value at risk, the key tier's share of the
 * value, the sizes and totals of both lists), the save-now list (rank, id,
 * P(alive), CLV, value at risk, tier, alerts), the win-back list (rank, id,
 * P(alive), value if won back, CLV, tier, alerts), value-tier shares of
 * customers and of CLV (the 80/20 picture), the P(alive) distribution (20 bins,
 * the threshold marked), retention by acquisition cohort (a heat map, with the
 * cohort fields given), and Kaplan-Meier retention by tier (with recency and
 * T: a customer with p_alive below the threshold counts as lost at their last
 * purchase, time `recency`; the others are censored at `T`; time since the
 * first purchase). Totals are sums over all `n` customers, printed with two
 * decimals.
 *
 * Sizes: with `buf` NULL nothing is written and `*len` receives the page's
 * length in bytes without the NUL (::CHURN_OK); then pass a buffer of at least
 * `*len + 1` bytes. The page is built in memory through the allocator hook
 * (churn_set_allocator()), copied with its NUL, and freed: the caller owns
 * `buf` throughout.
 *
 * @param[in]  page  what to show (see ::churn_report_page)
 * @param[out] buf   caller buffer of `cap` bytes, or NULL to ask for the size
 * @param[in]  cap   capacity of `buf` in bytes
 * @param[out] len   the page's length in bytes (without the NUL); may not be NULL
 * @return ::CHURN_OK; ::CHURN_EINVAL (NULL page or len, a bad struct_size, n = 0, a
 *         missing required array, a bad option, or a customer row whose p_alive,
 *         clv, value_at_risk or tier is out of range: the message names the field
 *         and the row); ::CHURN_ERANGE (`cap` <= `*len`: nothing written, `*len` set);
 *         ::CHURN_ENOMEM
 * Thread-safe (reentrant).
 * @since 1.3
 */
CHURN_API int churn_report_html(const churn_report_page *page, char *buf, size_t cap,
                                size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* CHURN_REPORT_H */
