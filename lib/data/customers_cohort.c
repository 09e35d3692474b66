/*
 * Cohort retention: customers grouped by the period of their first order,
 * and how many of each cohort order again in each later period.
 *
 * Owns: churn_cohort_options_init, churn_customers_cohort_table.
 * Calls: customers_setup.c (churn__cust_big_malloc) and core/.
 */
#include "core/internal.h"

#include <stdio.h>
#include "data/txlog_internal.h"

#include "data/customers_internal.h"

/* ---- options ------------------------------------------------------------------------ */

void churn_cohort_options_init(churn_cohort_options *opts)
{
    if (opts) {
        churn_cohort_options d = CHURN_COHORT_OPTIONS_INIT;
        *opts = d;
    }
}

/* ---- grouping rows by customer ------------------------------------------------ */

/* Counting sort of the rows with time < limit by customer: off has C+1
 * entries, idx the rows of customer c at idx[off[c] .. off[c+1]) in input
 * order. `has_order` (C bytes) is set for customers with an order
 * (amount >= 0, or unknown: NaN) among those rows. */
static int group_rows(const churn_txlog *log, double limit, size_t **off_out,
                      uint32_t **idx_out, unsigned char *has_order)
{
    size_t n = log->n, C = log->customer_ids.count;
    const uint32_t *cust = log->customer;
    const double *time = log->time, *amount = log->amount;
    size_t *off = churn__cust_big_malloc(churn__mul_size(C + 1, sizeof *off));
    if (!off)
        return churn__nomem("the customer index");
    memset(off, 0, (C + 1) * sizeof *off);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (time[i] < limit) {
            off[cust[i] + 1]++;
            m++;
            if (!(amount[i] < 0))
                has_order[cust[i]] = 1;
        }
    }
    for (size_t c = 0; c < C; c++)
        off[c + 1] += off[c];
    uint32_t *idx = churn__cust_big_malloc(churn__mul_size(m ? m : 1, sizeof *idx));
    if (!idx) {
        churn__free(off);
        return churn__nomem("the customer index");
    }
    /* Scatter using off[c] as the write cursor, then shift back. */
    for (size_t i = 0; i < n; i++)
        if (time[i] < limit)
            idx[off[cust[i]]++] = (uint32_t)i;
    for (size_t c = C; c > 0; c--)
        off[c] = off[c - 1];
    off[0] = 0;
    *off_out = off;
    *idx_out = idx;
    return CHURN_OK;
}

/* ---- cohorts --------------------------------------------------------------------- */

enum { PERIOD_DAYS, PERIOD_WEEK, PERIOD_MONTH, PERIOD_YEAR };

typedef struct period_map {
    int kind;
    double length, origin; /* PERIOD_DAYS: blocks of `length` days from day `origin` */
} period_map;

/* Period index of a UTC day (calendar periods: customers_internal.h). */
static int64_t period_of(const period_map *pm, double day)
{
    switch (pm->kind) {
    case PERIOD_WEEK:
        return (int64_t)cal_period_of(CHURN_PERIOD_WEEK, day);
    case PERIOD_MONTH:
        return (int64_t)cal_period_of(CHURN_PERIOD_MONTH, day);
    case PERIOD_YEAR:
        return (int64_t)cal_period_of(CHURN_PERIOD_YEAR, day);
    default:
        return (int64_t)floor((day - pm->origin) / pm->length);
    }
}

/* First UTC day (possibly fractional for custom lengths) of period p. */
static double period_start(const period_map *pm, int64_t p)
{
    switch (pm->kind) {
    case PERIOD_WEEK:
        return cal_period_start(CHURN_PERIOD_WEEK, (double)p);
    case PERIOD_MONTH:
        return cal_period_start(CHURN_PERIOD_MONTH, (double)p);
    case PERIOD_YEAR:
        return cal_period_start(CHURN_PERIOD_YEAR, (double)p);
    default:
        return pm->origin + (double)p * pm->length;
    }
}

/* What the steps of one cohort table share: the cutoff day, the periods and
 * the first one (p0), and their count P (the table is P x P). */
typedef struct cohort_plan {
    double cut, limit; /* limit in seconds: the first moment after the cutoff day */
    period_map pm;
    int64_t p0;
    size_t P;
} cohort_plan;


/* Periods of one cohort table at most: it has P x P cells (12 bytes each here,
 * and the caller's three arrays), so 5,000 periods are about 300 MB here. */
#define COHORT_MAX_PERIODS 5000

/* "YYYY-MM-DD" of UTC day `day` (|day| <= 1e9) into buf (32 bytes). */
static const char *iso_day(double day, char *buf)
{
    int64_t z = (int64_t)day + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    int64_t y = yoe + era * 400 + (m <= 2);
    snprintf(buf, 32, "%04lld-%02d-%02d", (long long)y, m, d);
    return buf;
}

/* Check the options and the log, and lay out the periods. */
static int plan_cohorts(const churn_txlog *log, const churn_cohort_options *opts,
                        cohort_plan *cp)
{
    churn_cohort_options o = CHURN_COHORT_OPTIONS_INIT;
    int rc = churn__opts_copy(&o, sizeof o, opts, "churn_cohort_options");
    if (rc)
        return rc;
    if (!churn__finite(o.cutoff))
        return churn__error(CHURN_EINVAL, "option 'cutoff' must be finite (0 = last day)");
    if (!churn__finite(o.period) || o.period <= 0)
        return churn__error(CHURN_EINVAL, "option 'period' must be a positive number of days, "
                            "got %g", o.period);
    if (o.calendar != 0 && o.calendar != 1)
        return churn__error(CHURN_EINVAL, "option 'calendar' must be 0 or 1, got %d", o.calendar);
    size_t n = log->n;
    if (n > UINT32_MAX)
        return churn__error(CHURN_ERANGE, "churn_customers_cohort_table: the log has %zu rows; "
                            "at most 4294967295 are supported", n);
    if (o.cutoff == 0 && n == 0)
        return churn__error(CHURN_EINVAL, "churn_customers_cohort_table: the log is empty and "
                            "no 'cutoff' was given");
    double cut = o.cutoff != 0 ? day_of(o.cutoff) : day_of(log->max_time);
    double limit = (cut + 1) * CHURN_SECONDS_PER_DAY;

    /* First order day overall, for custom-length periods. */
    double first_day = HUGE_VAL;
    for (size_t i = 0; i < n; i++)
        if (log->time[i] < limit && !(log->amount[i] < 0)) {
            double d = day_of(log->time[i]);
            if (d <= cut && d < first_day)
                first_day = d;
        }
    if (first_day == HUGE_VAL)
        return churn__error(CHURN_EINVAL, "churn_customers_cohort_table: no order (amount >= 0 "
                            "or unknown) on or before the cutoff day");
    /* Periods are int64 and calendar arithmetic works on whole days: keep every
     * day used (first_day .. cut) well inside both (1e9 days ~ 2.7 million years). */
    if (fabs(first_day) > 1e9 || fabs(cut) > 1e9)
        return churn__error(CHURN_ERANGE, "churn_customers_cohort_table: purchase or cutoff "
                            "date more than 1e9 days from 1970-01-01 (day %.0f .. %.0f)",
                            first_day, cut);
    period_map pm = {PERIOD_DAYS, o.period, first_day};
    if (o.calendar) {
        if (o.period == CHURN_UNIT_DAY)
            pm.origin = 0;
        else if (o.period == CHURN_UNIT_WEEK)
            pm.kind = PERIOD_WEEK;
        else if (o.period == CHURN_UNIT_MONTH)
            pm.kind = PERIOD_MONTH;
        else if (o.period == CHURN_UNIT_YEAR)
            pm.kind = PERIOD_YEAR;
    }
    int64_t p0 = period_of(&pm, first_day), p1 = period_of(&pm, cut);
    if (p1 - p0 >= COHORT_MAX_PERIODS) {
        char d0[32], d1[32];
        return churn__error(CHURN_ERANGE, "churn_customers_cohort_table: the first order "
                            "(%s) and the cutoff (%s) are %lld periods of %g days apart: a "
                            "table of %lld x %lld cells; at most %d periods (use a longer "
                            "'period', a later first date or an earlier cutoff)",
                            iso_day(first_day, d0), iso_day(cut, d1), (long long)(p1 - p0 + 1),
                            o.period, (long long)(p1 - p0 + 1), (long long)(p1 - p0 + 1),
                            COHORT_MAX_PERIODS);
    }
    cp->cut = cut;
    cp->limit = limit;
    cp->pm = pm;
    cp->p0 = p0;
    cp->P = (size_t)(p1 - p0 + 1);
    return CHURN_OK;
}

/* act[cohort * P + k]: customers of the cohort with an order k periods after
 * it, counted once each (stamp, P x P cells, is the scratch that says so).
 * Customer c's rows are idx[off[c] .. off[c + 1]). */
static void count_active(const churn_txlog *log, const cohort_plan *cp,
                         const unsigned char *has_order, const size_t *off, const uint32_t *idx,
                         double *act, uint32_t *stamp)
{
    const size_t C = log->customer_ids.count, P = cp->P;
    const double cut = cp->cut;
    for (size_t c = 0; c < C; c++) {
        if (!has_order[c])
            continue;
        double first = HUGE_VAL;
        for (size_t q = off[c]; q < off[c + 1]; q++) {
            uint32_t row = idx[q];
            double d = day_of(log->time[row]);
            if (!(log->amount[row] < 0) && d <= cut && d < first)
                first = d;
        }
        if (first == HUGE_VAL)
            continue;
        size_t ci = (size_t)(period_of(&cp->pm, first) - cp->p0);
        for (size_t q = off[c]; q < off[c + 1]; q++) {
            uint32_t row = idx[q];
            double d = day_of(log->time[row]);
            if (log->amount[row] < 0 || d > cut)
                continue;
            size_t k = (size_t)(period_of(&cp->pm, d) - cp->p0) - ci;
            size_t cell = ci * P + k;
            /* stamp = customer + 1 marks a cell already counted for c */
            if (stamp[cell] != (uint32_t)c + 1) {
                stamp[cell] = (uint32_t)c + 1;
                act[cell] += 1;
            }
        }
    }
}

/* The caller's arrays (any may be NULL) from the counts; -1 marks the cells
 * after the cutoff. */
static void fill_cohort_outputs(const cohort_plan *cp, const double *act, double *cohort_start,
                                double *active, double *retention)
{
    const size_t P = cp->P;
    for (size_t i = 0; i < P; i++) {
        if (cohort_start)
            cohort_start[i] = period_start(&cp->pm, cp->p0 + (int64_t)i) * CHURN_SECONDS_PER_DAY;
        double size = act[i * P];
        for (size_t k = 0; k < P; k++) {
            int observed = i + k < P;
            if (active)
                active[i * P + k] = observed ? act[i * P + k] : -1.0;
            if (retention)
                retention[i * P + k] =
                    observed ? (size > 0 ? act[i * P + k] / size : 0.0) : -1.0;
        }
    }
}

/* Plan the periods -> answer a size query, or check the buffers -> group the
 * rows by customer -> count each cohort's active customers -> fill the
 * caller's arrays. */
int churn_customers_cohort_table(const churn_txlog *log, const churn_cohort_options *opts,
                                 size_t *n_cohorts, size_t *n_periods, double *cohort_start,
                                 double *active, double *retention)
{
    churn__ok();
    if (!log || !n_cohorts || !n_periods)
        return churn__error(CHURN_EINVAL, "churn_customers_cohort_table: '%s' is NULL",
                            !log ? "log" : !n_cohorts ? "n_cohorts" : "n_periods");
    cohort_plan cp;
    memset(&cp, 0, sizeof cp);
    int rc = plan_cohorts(log, opts, &cp);
    if (rc)
        return rc;
    size_t P = cp.P, C = log->customer_ids.count;
    if (!cohort_start && !active && !retention) {
        *n_cohorts = P;
        *n_periods = P;
        return CHURN_OK;
    }
    if (*n_cohorts < P || *n_periods < P) {
        size_t cc = *n_cohorts, cn = *n_periods;
        *n_cohorts = P;
        *n_periods = P;
        return churn__error(CHURN_ERANGE, "churn_customers_cohort_table: the buffers hold %zu x "
                            "%zu cells, %zu x %zu are needed", cc, cn, P, P);
    }
    size_t cells = churn__mul_size(P, P);
    if (!cells)
        return churn__nomem("the cohort table");
    double *act = churn__calloc(cells, sizeof *act);
    uint32_t *stamp = churn__calloc(cells, sizeof *stamp);
    unsigned char *has_order = churn__calloc(C ? C : 1, 1);
    size_t *off = NULL;
    uint32_t *idx = NULL;
    if (!act || !stamp || !has_order) {
        rc = churn__nomem("the cohort table");
        goto done;
    }
    if ((rc = group_rows(log, cp.limit, &off, &idx, has_order)))
        goto done;
    count_active(log, &cp, has_order, off, idx, act, stamp);
    *n_cohorts = P;
    *n_periods = P;
    fill_cohort_outputs(&cp, act, cohort_start, active, retention);
    rc = CHURN_OK;
done:
    churn__free(act);
    churn__free(stamp);
    churn__free(has_order);
    churn__free(off);
    churn__free(idx);
    return rc;
}
