/*
 * BTYD holdout checks (metrics.h): a fitted BTYD model's expected purchases
 * in the holdout against the actual ones, by calibration-period frequency,
 * and the weekly (or any period) tracking of cumulative repeat purchases.
 *
 * References:
 *  - Fader, Hardie & Lee (2005), "Counting your customers the easy way",
 *    Marketing Science 24(2), sec. 5 — the tracking plot.
 *
 * Calls core/, the public data/ functions (churn_txlog_*) and the public
 * btyd/ predictions (churn_btyd_expected_purchases*). Calls no other file of
 * evaluate/.
 */
#include "core/internal.h"

#include <stdlib.h>

CHURN_API int churn_metrics_holdout_by_frequency(const churn_model *model, double holdout_length,
                                                 size_t n, const double *frequency,
                                                 const double *recency, const double *T,
                                                 const double *actual, size_t max_frequency,
                                                 double *customers, double *mean_actual,
                                                 double *mean_expected, double *mae)
{
    static const char fn[] = "churn_metrics_holdout_by_frequency";
    churn__ok();
    if (!model || !frequency || !recency || !T || !actual)
        return churn__error(CHURN_EINVAL, "%s: NULL model or input array", fn);
    int rc = churn__model_check(model, fn, 4, CHURN_FAMILY_BGNBD, CHURN_FAMILY_MBGNBD,
                                CHURN_FAMILY_PNBD, CHURN_FAMILY_BGBB);
    if (rc)
        return rc;
    if (n == 0)
        return churn__error(CHURN_EINVAL, "%s: empty input (n = 0)", fn);
    if (!churn__finite(holdout_length) || !(holdout_length > 0.0))
        return churn__error(CHURN_EINVAL, "%s: 'holdout_length' is %g (must be finite and > 0)",
                            fn, holdout_length);
    if (max_frequency > 100000)
        return churn__error(CHURN_EINVAL, "%s: 'max_frequency' %zu is too large", fn,
                            max_frequency);
    for (size_t i = 0; i < n; i++)
        if (!churn__finite(actual[i]) || actual[i] < 0.0)
            return churn__error(CHURN_EINVAL, "%s: row %zu, 'actual' is %.17g (must be finite "
                                "and >= 0)", fn, i, actual[i]);
    size_t nb = max_frequency + 1;
    double *expected = churn__malloc(churn__mul_size(n, sizeof *expected));
    double *acc = churn__calloc(nb, 3 * sizeof *acc);
    if (!expected || !acc) {
        churn__free(expected);
        churn__free(acc);
        return churn__nomem("the holdout table");
    }
    /* validates frequency/recency/T and names the bad row */
    rc = churn_btyd_expected_purchases(model, holdout_length, n, frequency, recency, T, expected);
    if (rc) {
        churn__free(expected);
        churn__free(acc);
        return rc;
    }
    double abs_err = 0.0;
    for (size_t i = 0; i < n; i++) {
        double x = floor(frequency[i]);
        size_t b = x >= (double)max_frequency ? max_frequency : (size_t)x;
        acc[3 * b] += 1.0;
        acc[3 * b + 1] += actual[i];
        acc[3 * b + 2] += expected[i];
        abs_err += fabs(expected[i] - actual[i]);
    }
    for (size_t b = 0; b < nb; b++) {
        double cnt = acc[3 * b];
        if (customers)
            customers[b] = cnt;
        if (mean_actual)
            mean_actual[b] = cnt > 0.0 ? acc[3 * b + 1] / cnt : NAN;
        if (mean_expected)
            mean_expected[b] = cnt > 0.0 ? acc[3 * b + 2] / cnt : NAN;
    }
    if (mae)
        *mae = abs_err / (double)n;
    churn__free(expected);
    churn__free(acc);
    return CHURN_OK;
}

CHURN_API void churn_tracking_options_init(churn_tracking_options *opts)
{
    if (opts) {
        churn_tracking_options d = CHURN_TRACKING_OPTIONS_INIT;
        *opts = d;
    }
}

static int cmp_double_asc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Copy and check the tracking options; resolve the default period (a week)
 * and origin (midnight of the first purchase's day). */
static int tracking_settings(const churn_txlog *log, const churn_model *model, size_t nperiods,
                             const churn_tracking_options *opts, int want_expected,
                             churn_tracking_options *o)
{
    static const char fn[] = "churn_metrics_repeat_tracking";
    churn_tracking_options d = CHURN_TRACKING_OPTIONS_INIT;
    *o = d;
    int rc = churn__opts_copy(o, sizeof *o, opts, "churn_tracking_options");
    if (rc)
        return rc;
    if (!log)
        return churn__error(CHURN_EINVAL, "%s: 'log' is NULL", fn);
    if (nperiods == 0)
        return churn__error(CHURN_EINVAL, "%s: 'nperiods' is 0", fn);
    if (!model && want_expected)
        return churn__error(CHURN_EINVAL, "%s: expected purchases requested without a model", fn);
    if (model && (rc = churn__model_check(model, fn, 3, CHURN_FAMILY_BGNBD, CHURN_FAMILY_MBGNBD,
                                          CHURN_FAMILY_PNBD)))
        return rc;
    if (!churn__finite(o->origin))
        return churn__error(CHURN_EINVAL, "%s: option 'origin' is not finite", fn);
    if (!churn__finite(o->period_days) || o->period_days < 0.0)
        return churn__error(CHURN_EINVAL, "%s: option 'period_days' is %g (must be > 0)", fn,
                            o->period_days);
    if (o->period_days == 0.0)
        o->period_days = 7.0;
    if (churn_txlog_num_transactions(log) == 0)
        return churn__error(CHURN_EINVAL, "%s: the transaction log is empty", fn);
    if (o->origin == 0.0)
        o->origin = floor(churn_txlog_min_time(log) / CHURN_SECONDS_PER_DAY) *
                    CHURN_SECONDS_PER_DAY;
    return CHURN_OK;
}

/* Count the repeat purchases of each period into inc[0..nperiods) and
 * collect each customer's first purchase time into first[]; returns how many
 * customers have one. The purchase times are grouped by customer (counting
 * sort into t_sorted with the offsets start[] and the cursors fill[]), then
 * each customer's times are ordered. */
static size_t tracking_repeats(const churn_txlog *log, const churn_tracking_options *o,
                               size_t nperiods, size_t *start, double *t_sorted, size_t *fill,
                               double *first, double *inc)
{
    size_t ntx = churn_txlog_num_transactions(log), ncust = churn_txlog_num_customers(log);
    const uint32_t *cust = churn_txlog_customers(log);
    const double *times = churn_txlog_times(log);
    const double period = o->period_days * CHURN_SECONDS_PER_DAY;
    for (size_t i = 0; i < ntx; i++)
        start[cust[i] + 1]++;
    for (size_t c = 0; c < ncust; c++)
        start[c + 1] += start[c];
    memcpy(fill, start, ncust * sizeof *fill);
    for (size_t i = 0; i < ntx; i++)
        t_sorted[fill[cust[i]]++] = times[i];

    size_t nfirst = 0;
    for (size_t c = 0; c < ncust; c++) {
        double *tc = t_sorted + start[c];
        size_t m = start[c + 1] - start[c];
        if (m == 0)
            continue;
        qsort(tc, m, sizeof *tc, cmp_double_asc);
        first[nfirst++] = tc[0];
        double last_day = floor(tc[0] / CHURN_SECONDS_PER_DAY);
        for (size_t j = 1; j < m; j++) {
            double day = floor(tc[j] / CHURN_SECONDS_PER_DAY);
            if (!o->every_transaction && day == last_day)
                continue;
            last_day = day;
            /* the repeat counts from the first period whose end is after it */
            double q = (tc[j] - o->origin) / period;
            if (q < 0.0) {
                inc[0] += 1.0;
            } else if (q < (double)nperiods) {
                size_t p = (size_t)floor(q);
                if (p < nperiods)
                    inc[p] += 1.0;
            }
        }
    }
    return nfirst;
}

/* Expected cumulative repeat purchases (Fader, Hardie & Lee 2005, sec. 5):
 * Σ_i E[X(e_p − t0_i)] over customers born before e_p. Customers sharing a
 * first-purchase time share the term, so evaluate each distinct t0 once.
 * Sorts and compacts first[0..nfirst) in place. */
static int tracking_expected(const churn_model *model, const churn_tracking_options *o,
                             size_t nperiods, double *first, size_t nfirst,
                             double *expected_cumulative, double *expected_incremental)
{
    const double period = o->period_days * CHURN_SECONDS_PER_DAY;
    double unit = churn_model_time_unit(model);
    double unit_s = (unit > 0.0 ? unit : o->period_days) * CHURN_SECONDS_PER_DAY;
    qsort(first, nfirst, sizeof *first, cmp_double_asc);
    size_t nd = 0;
    /* distinct first-purchase times with multiplicities, in place */
    double *mult = churn__malloc(churn__mul_size(nfirst, sizeof *mult));
    double *dt = churn__malloc(churn__mul_size(nfirst, sizeof *dt));
    double *ex = churn__malloc(churn__mul_size(nfirst, sizeof *ex));
    int rc = CHURN_OK;
    if (!mult || !dt || !ex) {
        rc = churn__nomem("the tracking work arrays");
        goto done;
    }
    for (size_t i = 0; i < nfirst; i++) {
        if (nd > 0 && first[nd - 1] == first[i]) {
            mult[nd - 1] += 1.0;
        } else {
            first[nd] = first[i];
            mult[nd++] = 1.0;
        }
    }
    double prev = 0.0;
    for (size_t p = 0; p < nperiods; p++) {
        double end = o->origin + (double)(p + 1) * period;
        size_t m = 0;
        while (m < nd && first[m] < end) {
            dt[m] = (end - first[m]) / unit_s;
            m++;
        }
        double total = 0.0;
        if (m > 0) {
            rc = churn_btyd_expected_purchases_new(model, m, dt, ex);
            if (rc)
                goto done;
            for (size_t i = 0; i < m; i++)
                total += mult[i] * ex[i];
        }
        if (expected_cumulative)
            expected_cumulative[p] = total;
        if (expected_incremental)
            expected_incremental[p] = total - prev;
        prev = total;
    }
done:
    churn__free(mult);
    churn__free(dt);
    churn__free(ex);
    return rc;
}

CHURN_API int churn_metrics_repeat_tracking(const churn_txlog *log, const churn_model *model,
                                            size_t nperiods, const churn_tracking_options *opts,
                                            double *actual_cumulative,
                                            double *expected_cumulative,
                                            double *actual_incremental,
                                            double *expected_incremental)
{
    churn__ok();
    const int want_expected = expected_cumulative || expected_incremental;
    churn_tracking_options o;
    int rc = tracking_settings(log, model, nperiods, opts, want_expected, &o);
    if (rc)
        return rc;
    size_t ntx = churn_txlog_num_transactions(log), ncust = churn_txlog_num_customers(log);
    size_t *start = churn__calloc(ncust + 1, sizeof *start);
    double *t_sorted = churn__malloc(churn__mul_size(ntx, sizeof *t_sorted));
    double *first = churn__malloc(churn__mul_size(ncust ? ncust : 1, sizeof *first));
    double *inc = churn__calloc(nperiods, sizeof *inc);
    size_t *fill = churn__malloc(churn__mul_size(ncust ? ncust : 1, sizeof *fill));
    if (!start || !t_sorted || !first || !inc || !fill) {
        rc = churn__nomem("the tracking work arrays");
        goto done;
    }
    size_t nfirst = tracking_repeats(log, &o, nperiods, start, t_sorted, fill, first, inc);
    double run = 0.0;
    for (size_t p = 0; p < nperiods; p++) {
        if (actual_incremental)
            actual_incremental[p] = inc[p];
        run += inc[p];
        if (actual_cumulative)
            actual_cumulative[p] = run;
    }
    if (model && want_expected)
        rc = tracking_expected(model, &o, nperiods, first, nfirst, expected_cumulative,
                               expected_incremental);
done:
    churn__free(start);
    churn__free(t_sorted);
    churn__free(first);
    churn__free(inc);
    churn__free(fill);
    return rc;
}
