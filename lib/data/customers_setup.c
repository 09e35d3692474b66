/*
 * The bottom layer of the customer table, shared by every way of building
 * it: the option structs (with the ELF symbol versions of their init
 * function), option checks, column names, the setup of a build or a stream
 * (options -> cutoff and holdout days -> wanted columns), large buffers, and
 * the table's allocation, ids and release.
 *
 * Owns: churn_customer_options_init, churn_period_name, churn_customers_free,
 * churn__cust_check_options, churn__cust_check_days, churn__cust_col_lookup, churn__cust_setup,
 * churn__cust_big_malloc, churn__cust_table_new, churn__cust_table_rows,
 * churn__cust_copy_ids.
 * Calls: core/ only (no other customers_*.c file).
 */
#include "core/internal.h"
#include "data/txlog_internal.h"

#include <stddef.h>
#include <stdlib.h>

#include "data/customers_internal.h"

/* ---- options ----------------------------------------------------------------- */

/* churn_customer_options grew in 1.1 (`columns`) and in 1.2 (`period`). A
 * program built against older headers has a shorter struct, so its
 * churn_customer_options_init must not write the new tail: it binds to the
 * CHURN_1.0 or CHURN_1.1 version below, which fills the prefix it knows and
 * sets struct_size to that size (the option copy then gives the missing
 * fields their defaults). Programs built since bind to the default CHURN_1.2
 * version. A static archive has only the default. */
#define CUSTOMER_OPTIONS_SIZE_1_0 offsetof(churn_customer_options, columns)
#define CUSTOMER_OPTIONS_SIZE_1_1 offsetof(churn_customer_options, period)

CHURN_API_EXPORT void churn__customer_options_init_1_2(churn_customer_options *opts);
CHURN_API_EXPORT void churn__customer_options_init_1_2(churn_customer_options *opts)
{
    if (opts) {
        churn_customer_options d = CHURN_CUSTOMER_OPTIONS_INIT;
        *opts = d;
    }
}

#if defined(CHURN_SYMBOL_VERSIONS)
/* The defaults' first `size` bytes, with struct_size = size. */
static void init_prefix(churn_customer_options *opts, size_t size)
{
    if (opts) {
        churn_customer_options d = CHURN_CUSTOMER_OPTIONS_INIT;
        d.struct_size = size;
        memcpy(opts, &d, size);
    }
}

CHURN_API_EXPORT void churn__customer_options_init_1_0(churn_customer_options *opts);
CHURN_API_EXPORT void churn__customer_options_init_1_0(churn_customer_options *opts)
{
    init_prefix(opts, CUSTOMER_OPTIONS_SIZE_1_0);
}

CHURN_API_EXPORT void churn__customer_options_init_1_1(churn_customer_options *opts);
CHURN_API_EXPORT void churn__customer_options_init_1_1(churn_customer_options *opts)
{
    init_prefix(opts, CUSTOMER_OPTIONS_SIZE_1_1);
}
__asm__(".symver churn__customer_options_init_1_0, churn_customer_options_init@CHURN_1.0");
__asm__(".symver churn__customer_options_init_1_1, churn_customer_options_init@CHURN_1.1");
__asm__(".symver churn__customer_options_init_1_2, churn_customer_options_init@@CHURN_1.2");
#else
void churn_customer_options_init(churn_customer_options *opts)
{
    churn__customer_options_init_1_2(opts);
}
#endif

const char *churn_period_name(int period)
{
    static const char *const names[] = {"none", "week", "month", "quarter", "year"};
    return period >= CHURN_PERIOD_NONE && period <= CHURN_PERIOD_YEAR ? names[period] : NULL;
}

int churn__cust_check_options(const churn_customer_options *o)
{
    if (!churn__finite(o->cutoff))
        return churn__error(CHURN_EINVAL, "option 'cutoff' must be finite (0 = last day in the "
                            "log)");
    if (!churn__finite(o->holdout_end))
        return churn__error(CHURN_EINVAL, "option 'holdout_end' must be finite (0 = none)");
    if (!churn__finite(o->time_unit) || o->time_unit <= 0)
        return churn__error(CHURN_EINVAL, "option 'time_unit' must be a positive number of days, "
                            "got %g", o->time_unit);
    if (o->same_day_once != 0 && o->same_day_once != 1)
        return churn__error(CHURN_EINVAL, "option 'same_day_once' must be 0 or 1, got %d",
                            o->same_day_once);
    if (o->first_purchase_counts != 0 && o->first_purchase_counts != 1)
        return churn__error(CHURN_EINVAL, "option 'first_purchase_counts' must be 0 or 1, got %d",
                            o->first_purchase_counts);
    if (!churn__finite(o->trend_window) || o->trend_window <= 0)
        return churn__error(CHURN_EINVAL, "option 'trend_window' must be a positive number of "
                            "days, got %g", o->trend_window);
    if (!churn__finite(o->inactivity_threshold) || o->inactivity_threshold < 0)
        return churn__error(CHURN_EINVAL, "option 'inactivity_threshold' must be >= 0 time "
                            "units, got %g", o->inactivity_threshold);
    if (!churn__finite(o->key_fraction) || o->key_fraction <= 0 || o->key_fraction > 1)
        return churn__error(CHURN_EINVAL, "option 'key_fraction' must be in (0, 1], got %g",
                            o->key_fraction);
    if (!churn__finite(o->important_fraction) || o->important_fraction < 0 ||
        o->important_fraction > 1 - o->key_fraction + 1e-12)
        return churn__error(CHURN_EINVAL, "option 'important_fraction' must be in [0, 1 - "
                            "key_fraction], got %g", o->important_fraction);
    if (o->period < CHURN_PERIOD_NONE || o->period > CHURN_PERIOD_YEAR)
        return churn__error(CHURN_EINVAL, "option 'period' must be CHURN_PERIOD_NONE (0), "
                            "_WEEK (1), _MONTH (2), _QUARTER (3) or _YEAR (4), got %d",
                            o->period);
    if (o->period != CHURN_PERIOD_NONE) {
        const char *name = churn_period_name(o->period);
        double len = cal_period_days(o->period);
        if (o->time_unit != CHURN_UNIT_DAY && o->time_unit != len)
            return churn__error(CHURN_EINVAL, "option 'time_unit' (%g days) does not match "
                                "option 'period' (%s): durations are whole %ss; leave "
                                "'time_unit' at its default or set it to %g days", o->time_unit,
                                name, name, len);
        if (!o->same_day_once)
            return churn__error(CHURN_EINVAL, "option 'same_day_once' = 0 cannot be combined "
                                "with option 'period' (%s): a period with purchases is one "
                                "purchase", name);
    }
    return CHURN_OK;
}

/* ---- large buffers ---------------------------------------------------------------- */

/* Allocate a large working or result buffer with the huge-page hint: first-touch
 * page faults otherwise dominate the build on fresh memory (hundreds of MB for
 * 10^6 customers). */
void *churn__cust_big_malloc(size_t bytes)
{
    void *p = churn__malloc(bytes);
    churn__advise_huge(p, bytes);
    return p;
}

/* ---- columns ------------------------------------------------------------------- */

int churn__cust_col_lookup(const char *name, size_t len)
{
    for (int j = 0; j < NCOL_ALL; j++)
        if (strlen(col_names[j]) == len && memcmp(col_names[j], name, len) == 0)
            return j;
    return -1;
}

/* want[j] = 1 for the columns named in `spec` (NULL = all `ncols`); an
 * unknown name, a holdout column beyond `ncols`, or an empty list fails with
 * CHURN_EINVAL naming it. `who` prefixes the message. */
static int parse_columns(const char *spec, size_t ncols, unsigned char *want, const char *who)
{
    memset(want, 0, NCOL_ALL);
    if (!spec) {
        memset(want, 1, ncols);
        return CHURN_OK;
    }
    const char *p = spec;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *q = p;
        while (*q && *q != ',')
            q++;
        const char *e = q;
        while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        size_t len = (size_t)(e - p);
        if (len == 0)
            return churn__error(CHURN_EINVAL, "%s: option 'columns' has an empty name (in "
                                "'%.200s'); give comma-separated column names", who, spec);
        int j = churn__cust_col_lookup(p, len);
        if (j < 0)
            return churn__error(CHURN_EINVAL, "%s: option 'columns': no column '%.*s' in the "
                                "customer table (see churn/customers.h)", who,
                                (int)(len > 100 ? 100 : len), p);
        if ((size_t)j >= ncols)
            return churn__error(CHURN_EINVAL, "%s: option 'columns': column '%s' needs a "
                                "'holdout_end'", who, col_names[j]);
        want[j] = 1;
        if (!*q)
            break;
        p = q + 1;
    }
    return CHURN_OK;
}

int churn__cust_setup(const char *who, const churn_customer_options *opts, double last_time,
                      const char *no_cutoff, churn_customer_options *o, double *cut,
                      double *hold, int *has_holdout, unsigned char *want)
{
    churn_customer_options d = CHURN_CUSTOMER_OPTIONS_INIT;
    *o = d;
    int rc = churn__opts_copy(o, sizeof *o, opts, "churn_customer_options");
    if (rc || (rc = churn__cust_check_options(o)))
        return rc;
    if (o->cutoff == 0 && isnan(last_time))
        return churn__error(CHURN_EINVAL, "%s: %s", who, no_cutoff);
    *cut = day_of(o->cutoff != 0 ? o->cutoff : last_time);
    *has_holdout = o->holdout_end != 0;
    *hold = *has_holdout ? day_of(o->holdout_end) : *cut;
    if (*has_holdout && *hold <= *cut)
        return churn__error(CHURN_EINVAL, "%s: 'holdout_end' (day %.0f) must be on a later day "
                            "than 'cutoff' (day %.0f)", who, *hold, *cut);
    if (o->period != CHURN_PERIOD_NONE) {
        const char *name = churn_period_name(o->period);
        if (fabs(*cut) > CAL_MAX_DAYS || fabs(*hold) > CAL_MAX_DAYS)
            return churn__error(CHURN_ERANGE, "%s: option 'period' (%s): the cutoff or holdout "
                                "end is more than 1e9 days from 1970-01-01", who, name);
        if (*has_holdout && cal_period_of(o->period, *hold) <= cal_period_of(o->period, *cut))
            return churn__error(CHURN_EINVAL, "%s: option 'period' (%s): 'holdout_end' (day "
                                "%.0f) must fall in a later %s than 'cutoff' (day %.0f)", who,
                                name, *hold, name, *cut);
    }
    return parse_columns(o->columns, *has_holdout ? NCOL_ALL : NCOL_BASE, want, who);
}

int churn__cust_check_days(const char *who, const churn_customer_options *o,
                           const churn_txlog *log)
{
    if (o->period == CHURN_PERIOD_NONE || log->n == 0 ||
        day_of(log->min_time) >= -CAL_MAX_DAYS)
        return CHURN_OK;
    return churn__error(CHURN_ERANGE, "%s: option 'period' (%s): a transaction is dated more "
                        "than 1e9 days before 1970-01-01", who, churn_period_name(o->period));
}

/* ---- the table ------------------------------------------------------------------ */

void churn_customers_free(churn_customers *t)
{
    if (!t)
        return;
    churn__free(t->data);
    churn__free(t->ids);
    churn__free(t->idbuf);
    churn__free(t->slots);
    churn__free(t);
}

churn_customers *churn__cust_table_new(const cust_clock *k, int has_holdout,
                                       const churn_customer_options *o)
{
    churn_customers *t = churn__calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->cutoff_day = k->cut_day;
    t->holdout_day = has_holdout ? k->hold_day : NAN;
    t->period = k->period;
    t->time_unit = k->period ? cal_period_days(k->period) : o->time_unit;
    return t;
}

void churn__cust_table_rows(churn_customers *t, size_t N, size_t C)
{
    t->nrows = N;
    t->nexcluded = C - N;
    t->nslots = 16;
    while (t->nslots < 2 * N)
        t->nslots *= 2;
}

int churn__cust_overflow(const churn_txlog *log, size_t c, int j)
{
    const char *id = c < log->customer_ids.count ? log->customer_ids.strings[c] : "?";
    return churn__error(CHURN_ENUMERIC,
                        "customer '%s': %s overflows: the sum of its amounts is beyond the "
                        "largest double (1.8e308); amounts this large are not money",
                        id, col_names[j]);
}

/* Copy the ids of the included customers (one buffer). */
int churn__cust_copy_ids(churn_customers *t, const churn_txlog *log, const uint32_t *rows_to_cust)
{
    size_t N = t->nrows, total = 0;
    for (size_t r = 0; r < N; r++)
        total += strlen(log->customer_ids.strings[rows_to_cust[r]]) + 1;
    t->ids = churn__cust_big_malloc(churn__mul_size(N ? N : 1, sizeof *t->ids));
    t->idbuf = churn__cust_big_malloc(total ? total : 1);
    if (!t->ids || !t->idbuf)
        return churn__nomem("the customer ids");
    char *p = t->idbuf;
    for (size_t r = 0; r < N; r++) {
        const char *s = log->customer_ids.strings[rows_to_cust[r]];
        size_t len = strlen(s) + 1;
        memcpy(p, s, len);
        t->ids[r] = p;
        p += len;
    }
    return CHURN_OK;
}
