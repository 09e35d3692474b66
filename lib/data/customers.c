/*
 * The customer table: per-customer features as of a cutoff, holdout labels
 * and population metrics. This file is the public entry (the build, which
 * picks one of two builders), the accessors and the id lookup.
 *
 * Definitions of frequency / recency / T / monetary_value follow lifetimes'
 * summary_data_from_transaction_data (utils.py): times are truncated to the
 * period (a UTC day), the period of the observation end is included,
 * frequency = distinct purchase days - 1, recency = last - first,
 * T = end - first, monetary_value = mean of the non-first purchase days' sums.
 * Everything else is documented in include/churn/customers.h.
 *
 * The rest of the table, by step (arrows only downward):
 *   customers.c             build entry, accessors, find
 *     -> customers_stream.c     the one-pass builder and the public stream
 *     -> customers_group.c      the grouping builder (every column, any order)
 *          -> customers_population.c   R/F/M scores, segments, tiers
 *               -> customers_setup.c   options, columns, setup, table, ids
 *   customers_state.c       the incremental state -> customers_setup.c
 *   customers_cohort.c      cohort retention -> customers_setup.c
 *
 * With a calendar period (option `period`) the units are period indices
 * instead of days (cust_clock in customers_internal.h).
 *
 * Owns: churn_customers_build, the churn_customers_* accessors,
 * churn_customers_find and the population metrics.
 * Calls: customers_stream.c (churn__cust_build_streaming), customers_group.c
 * (churn__cust_build_grouped), customers_setup.c and core/.
 */
#include "core/internal.h"
#include "data/txlog_internal.h"

#include "data/customers_internal.h"

/* ---- build ---------------------------------------------------------------------- */

int churn_customers_build(churn_customers **out, const churn_txlog *log,
                          const churn_customer_options *opts)
{
    churn__ok();
    if (!out)
        return churn__error(CHURN_EINVAL, "churn_customers_build: 'out' is NULL");
    *out = NULL;
    if (!log)
        return churn__error(CHURN_EINVAL, "churn_customers_build: 'log' is NULL");
    size_t n = log->n;
    if (n > UINT32_MAX)
        return churn__error(CHURN_ERANGE, "churn_customers_build: the log has %zu rows; at most "
                            "4294967295 are supported", n);
    churn_customer_options o;
    double cut, hold;
    int has_holdout;
    unsigned char want[NCOL_ALL];
    int rc = churn__cust_setup("churn_customers_build", opts, n ? log->max_time : NAN,
                               "the log is empty and no 'cutoff' was given", &o, &cut, &hold,
                               &has_holdout, want);
    if (rc || (rc = churn__cust_check_days("churn_customers_build", &o, log)))
        return rc;
    /* Without the grouping columns, one pass over a log whose customers'
     * transactions are in time order is enough (and gives the same values). */
    int streamable = 1;
    for (int j = 0; j < NCOL_ALL; j++)
        if (want[j] && col_needs_grouping(j))
            streamable = 0;
    if (streamable) {
        rc = churn__cust_build_streaming(out, log, &o, want, cut, hold, has_holdout);
        if (rc != CHURN__NOT_STREAMABLE)
            return rc;
    }
    return churn__cust_build_grouped(out, log, &o, want, cut, hold, has_holdout);
}

/* ---- find ----------------------------------------------------------------------- */

static uint64_t hash_id(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* The id -> row hash of churn_customers_find, built on first use and
 * published atomically so that concurrent readers of a shared table are
 * safe (a losing builder frees its copy). Returns NULL when out of memory. */
static const uint32_t *id_index(const churn_customers *t)
{
    uint32_t *slots = __atomic_load_n(&t->slots, __ATOMIC_ACQUIRE);
    if (slots)
        return slots;
    size_t ns = t->nslots;
    slots = churn__cust_big_malloc(churn__mul_size(ns, sizeof *slots));
    if (!slots)
        return NULL;
    memset(slots, 0xff, ns * sizeof *slots);
    for (size_t r = 0; r < t->nrows; r++) {
        size_t j = hash_id(t->ids[r]) & (ns - 1);
        while (slots[j] != UINT32_MAX)
            j = (j + 1) & (ns - 1);
        slots[j] = (uint32_t)r;
    }
    uint32_t *expected = NULL;
    churn_customers *mt = (churn_customers *)t; /* the index is a cache, not state */
    if (!__atomic_compare_exchange_n(&mt->slots, &expected, slots, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        churn__free(slots);
        return expected;
    }
    return slots;
}

/* ---- accessors ------------------------------------------------------------------- */

/* Position of canonical column `id` in table t, or -1. */
static int column_pos(const churn_customers *t, int id)
{
    for (size_t j = 0; j < t->ncols; j++)
        if (t->colid[j] == id)
            return (int)j;
    return -1;
}

size_t churn_customers_num_rows(const churn_customers *t) { return t ? t->nrows : 0; }

size_t churn_customers_num_columns(const churn_customers *t) { return t ? t->ncols : 0; }

const char *churn_customers_column_name(const churn_customers *t, size_t j)
{
    if (!t || j >= t->ncols)
        return NULL;
    return col_names[t->colid[j]];
}

const double *churn_customers_column(const churn_customers *t, const char *name)
{
    churn__ok();
    if (!t || !name) {
        churn__error(CHURN_EINVAL, "churn_customers_column: '%s' is NULL", !t ? "table" : "name");
        return NULL;
    }
    int id = churn__cust_col_lookup(name, strlen(name));
    int j = id < 0 ? -1 : column_pos(t, id);
    if (j < 0) {
        if (id >= NCOL_BASE && !churn__finite(t->holdout_day))
            churn__error(CHURN_ENOTFOUND, "column '%s' exists only when the table is built with "
                         "a 'holdout_end'", name);
        else if (id >= 0)
            churn__error(CHURN_ENOTFOUND, "column '%s' was not asked for when the table was "
                         "built (option 'columns')", name);
        else
            churn__error(CHURN_ENOTFOUND, "no column '%s' in the customer table", name);
        return NULL;
    }
    return t->data + (size_t)j * t->nrows;
}

const double *churn_customers_column_at(const churn_customers *t, size_t j)
{
    churn__ok();
    if (!t) {
        churn__error(CHURN_EINVAL, "churn_customers_column_at: 'table' is NULL");
        return NULL;
    }
    if (j >= t->ncols) {
        churn__error(CHURN_ERANGE, "column index %zu out of range (the table has %zu columns)", j,
                     t->ncols);
        return NULL;
    }
    return t->data + j * t->nrows;
}

const char *churn_customers_id(const churn_customers *t, size_t row)
{
    if (!t || row >= t->nrows)
        return NULL;
    return t->ids[row];
}

/* Copy n NUL-terminated strings into buf, each with its NUL (two-call sizing). */
static int pack_ids(const char *fn, char *const *ids, size_t n, char *buf, size_t cap,
                    size_t *needed)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += strlen(ids[i]) + 1;
    if (needed)
        *needed = total;
    if (cap < total || (total && !buf))
        return churn__error(CHURN_ERANGE, "%s: the buffer holds %zu bytes, the ids take %zu",
                            fn, cap, total);
    char *p = buf;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(ids[i]) + 1;
        memcpy(p, ids[i], len);
        p += len;
    }
    return CHURN_OK;
}

int churn_customers_ids_packed(const churn_customers *t, char *buf, size_t cap, size_t *needed)
{
    churn__ok();
    if (needed)
        *needed = 0;
    if (!t)
        return churn__error(CHURN_EINVAL, "churn_customers_ids_packed: 'table' is NULL");
    return pack_ids("churn_customers_ids_packed", t->ids, t->nrows, buf, cap, needed);
}

int churn_customers_find(const churn_customers *t, const char *customer_id, size_t *row)
{
    churn__ok();
    if (!t || !customer_id || !row)
        return churn__error(CHURN_EINVAL, "churn_customers_find: '%s' is NULL",
                            !t ? "table" : !customer_id ? "customer_id" : "row");
    const uint32_t *slots = id_index(t);
    if (!slots)
        return churn__nomem("the customer id index");
    size_t j = hash_id(customer_id) & (t->nslots - 1);
    while (slots[j] != UINT32_MAX) {
        if (strcmp(t->ids[slots[j]], customer_id) == 0) {
            *row = slots[j];
            return CHURN_OK;
        }
        j = (j + 1) & (t->nslots - 1);
    }
    return churn__error(CHURN_ENOTFOUND, "customer '%s' is not in the table (unknown, or no "
                        "order on or before the cutoff)", customer_id);
}

size_t churn_customers_num_excluded(const churn_customers *t) { return t ? t->nexcluded : 0; }

double churn_customers_cutoff(const churn_customers *t)
{
    return t ? t->cutoff_day * CHURN_SECONDS_PER_DAY : 0.0;
}

double churn_customers_holdout_end(const churn_customers *t)
{
    return t && churn__finite(t->holdout_day) ? t->holdout_day * CHURN_SECONDS_PER_DAY : 0.0;
}

double churn_customers_time_unit(const churn_customers *t) { return t ? t->time_unit : 0.0; }

int churn_customers_check_model(const churn_customers *t, const churn_model *model)
{
    churn__ok();
    if (!t || !model)
        return churn__error(CHURN_EINVAL, "churn_customers_check_model: %s is NULL",
                            t ? "model" : "table");
    return churn_model_check_time_unit(model, t->time_unit);
}

int churn_customers_period(const churn_customers *t) { return t ? t->period : CHURN_PERIOD_NONE; }

/* ---- population metrics ------------------------------------------------------------ */

double churn_customers_repeat_rate(const churn_customers *t)
{
    return t ? t->repeat_rate : 0.0;
}

int churn_customers_churn_rate(const churn_customers *t, double *rate)
{
    churn__ok();
    if (!t || !rate)
        return churn__error(CHURN_EINVAL, "churn_customers_churn_rate: '%s' is NULL",
                            !t ? "table" : "rate");
    if (!churn__finite(t->holdout_day))
        return churn__error(CHURN_EUNSUPPORTED, "churn_customers_churn_rate: the table was "
                            "built without a 'holdout_end'");
    if (t->nrows == 0)
        return churn__error(CHURN_EINVAL, "churn_customers_churn_rate: the table has no rows");
    *rate = t->churn_rate;
    return CHURN_OK;
}

int churn_customers_retention_rate(const churn_customers *t, double *rate)
{
    double c;
    int rc = churn_customers_churn_rate(t, &c);
    if (rc)
        return rc;
    *rate = 1.0 - c;
    return CHURN_OK;
}

double churn_customers_pareto_share(const churn_customers *t) { return t ? t->pareto_share : 0.0; }

