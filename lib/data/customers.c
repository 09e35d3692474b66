/*
 * The customer table: per-customer features as of a cutoff, holdout labels,
 * population metrics, cohort retention, and the incremental state.
 *
 * Definitions of frequency / recency / T / monetary_value follow lifetimes'
 * summary_data_from_transaction_data (utils.py): times are truncated to the
 * period (a UTC day), the period of the observation end is included,
 * frequency = distinct purchase days - 1, recency = last - first,
 * T = end - first, monetary_value = mean of the non-first purchase days' sums.
 * Everything else is documented in include/churn/customers.h.
 *
 * The batch path and the incremental path share state_add_order() and
 * state_values(), so the incremental columns agree bit for bit whenever the
 * transactions reach both in the same order.
 */
#include "core/internal.h"
#include "data/txlog_internal.h"

#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "data/customers_internal.h"

/* Columns the incremental state can produce (see churn_customer_state_value). */
static int col_incremental(int j)
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

/* The column named by the `len` bytes at `name`, or -1. */
static int col_lookup(const char *name, size_t len)
{
    for (int j = 0; j < NCOL_ALL; j++)
        if (strlen(col_names[j]) == len && memcmp(col_names[j], name, len) == 0)
            return j;
    return -1;
}


/* ---- options ----------------------------------------------------------------- */

/* churn_customer_options grew in 1.1 (`columns`). A program built against the
 * 1.0 headers has a shorter struct, so its churn_customer_options_init must
 * not write the new tail: it binds to the CHURN_1.0 version below, which
 * fills the 1.0 prefix and sets struct_size to the 1.0 size (the option copy
 * then gives `columns` its default). Programs built since bind to the
 * default CHURN_1.1 version. A static archive has only the default. */
#define CUSTOMER_OPTIONS_SIZE_1_0 offsetof(churn_customer_options, columns)

CHURN_API_EXPORT void churn__customer_options_init_1_1(churn_customer_options *opts);
CHURN_API_EXPORT void churn__customer_options_init_1_1(churn_customer_options *opts)
{
    if (opts) {
        churn_customer_options d = CHURN_CUSTOMER_OPTIONS_INIT;
        *opts = d;
    }
}

#if defined(CHURN_SYMBOL_VERSIONS)
CHURN_API_EXPORT void churn__customer_options_init_1_0(churn_customer_options *opts);
CHURN_API_EXPORT void churn__customer_options_init_1_0(churn_customer_options *opts)
{
    if (opts) {
        churn_customer_options d = CHURN_CUSTOMER_OPTIONS_INIT;
        d.struct_size = CUSTOMER_OPTIONS_SIZE_1_0;
        memcpy(opts, &d, CUSTOMER_OPTIONS_SIZE_1_0);
    }
}
__asm__(".symver churn__customer_options_init_1_0, churn_customer_options_init@CHURN_1.0");
__asm__(".symver churn__customer_options_init_1_1, churn_customer_options_init@@CHURN_1.1");
#else
void churn_customer_options_init(churn_customer_options *opts)
{
    churn__customer_options_init_1_1(opts);
}
#endif

void churn_cohort_options_init(churn_cohort_options *opts)
{
    if (opts) {
        churn_cohort_options d = CHURN_COHORT_OPTIONS_INIT;
        *opts = d;
    }
}

int churn__cust_check_options(const churn_customer_options *o)
{
    if (!churn__finite(o->cutoff))
        return churn__error(CHURN_EINVAL, "option 'cutoff' must be finite (0 = last day in the log)");
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
    return CHURN_OK;
}



/* ---- incremental public API ------------------------------------------------------ */

int churn_customer_state_init(churn_customer_state *s, const churn_customer_options *opts)
{
    churn__ok();
    if (!s)
        return churn__error(CHURN_EINVAL, "churn_customer_state_init: 'state' is NULL");
    churn_customer_options o = CHURN_CUSTOMER_OPTIONS_INIT;
    int rc = churn__opts_copy(&o, sizeof o, opts, "churn_customer_options");
    if (rc)
        return rc;
    if ((rc = churn__cust_check_options(&o)))
        return rc;
    state_reset(s, &o);
    return CHURN_OK;
}

int churn_customer_state_add(churn_customer_state *s, double time, double amount)
{
    churn__ok();
    if (!s)
        return churn__error(CHURN_EINVAL, "churn_customer_state_add: 'state' is NULL");
    if (s->struct_size != sizeof *s || !(s->time_unit > 0))
        return churn__error(CHURN_EINVAL, "churn_customer_state_add: 'state' was not set up by "
                            "churn_customer_state_init");
    if (!churn__finite(time))
        return churn__error(CHURN_EINVAL, "churn_customer_state_add: 'time' is not finite");
    if (!churn__finite(amount))
        return churn__error(CHURN_EINVAL, "churn_customer_state_add: 'amount' is not finite");
    if (time < s->last_time)
        return churn__error(CHURN_EINVAL, "churn_customer_state_add: 'time' %.17g is earlier "
                            "than the previous transaction (%.17g); add purchases in time order",
                            time, s->last_time);
    s->last_time = time;
    s->n_transactions += 1;
    if (amount < 0)
        state_add_refund(s, amount);
    else
        state_add_order(s, day_of(time), amount);
    return CHURN_OK;
}

int churn_customer_state_value(const churn_customer_state *s, double cutoff, const char *column,
                               double *value)
{
    churn__ok();
    if (!s || !column || !value)
        return churn__error(CHURN_EINVAL, "churn_customer_state_value: '%s' is NULL",
                            !s ? "state" : !column ? "column" : "value");
    if (s->struct_size != sizeof *s || !(s->time_unit > 0))
        return churn__error(CHURN_EINVAL, "churn_customer_state_value: 'state' was not set up "
                            "by churn_customer_state_init");
    int j = col_lookup(column, strlen(column));
    if (j < 0)
        return churn__error(CHURN_ENOTFOUND, "churn_customer_state_value: no column '%s'",
                            column);
    if (!col_incremental(j))
        return churn__error(CHURN_EUNSUPPORTED, "churn_customer_state_value: column '%s' needs "
                            "the whole history or the population; use churn_customers_build",
                            column);
    if (!churn__finite(cutoff))
        return churn__error(CHURN_EINVAL, "churn_customer_state_value: 'cutoff' is not finite");
    if (j == COL_N_RETURNS || j == COL_RETURNS_AMOUNT) {
        *value = j == COL_N_RETURNS ? s->n_returns : s->returns_amount;
        return CHURN_OK;
    }
    if (s->n_orders == 0)
        return churn__error(CHURN_EINVAL, "churn_customer_state_value: column '%s': the state "
                            "holds no order yet", column);
    double cut = day_of(cutoff);
    if (cut < s->last_day)
        return churn__error(CHURN_EINVAL, "churn_customer_state_value: 'cutoff' (day %.0f) is "
                            "before the last order added (day %.0f)", cut, s->last_day);
    double v[NCOL_ALL];
    state_values(s, cut, v);
    *value = v[j];
    return CHURN_OK;
}

/* ---- large buffers ---------------------------------------------------------------- */

/* Allocate a large working or result buffer. On Linux, ask for transparent
 * huge pages on its page-aligned interior: first-touch page faults otherwise
 * dominate the build on fresh memory (hundreds of MB for 10^6 customers).
 * madvise is only a hint; its failure changes nothing. */
void churn__cust_advise_huge(void *p, size_t bytes)
{
#if defined(MADV_HUGEPAGE)
    if (p && bytes >= ((size_t)4 << 20)) {
        uintptr_t page = 2u << 20;
        uintptr_t lo = ((uintptr_t)p + page - 1) & ~(page - 1);
        uintptr_t hi = ((uintptr_t)p + bytes) & ~(page - 1);
        if (hi > lo)
            (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
    }
#else
    (void)p;
    (void)bytes;
#endif
}

void *churn__cust_big_malloc(size_t bytes)
{
    void *p = churn__malloc(bytes);
    churn__cust_advise_huge(p, bytes);
    return p;
}

/* ---- small sorts ------------------------------------------------------------- */

typedef struct tx_rec {
    double time, amount;
    uint32_t row, product;
} tx_rec;

static inline int rec_less(const tx_rec *a, const tx_rec *b)
{
    return a->time < b->time || (a->time == b->time && a->row < b->row);
}

/* Sort by (time, row): insertion sort for short runs, bottom-up merge sort
 * (with `tmp` of k records) otherwise. */
static void sort_recs(tx_rec *r, size_t k, tx_rec *tmp)
{
    if (k <= 32) {
        for (size_t i = 1; i < k; i++) {
            tx_rec x = r[i];
            size_t j = i;
            while (j > 0 && rec_less(&x, &r[j - 1])) {
                r[j] = r[j - 1];
                j--;
            }
            r[j] = x;
        }
        return;
    }
    tx_rec *src = r, *dst = tmp;
    for (size_t w = 1; w < k; w *= 2) {
        for (size_t lo = 0; lo < k; lo += 2 * w) {
            size_t mid = lo + w < k ? lo + w : k, hi = lo + 2 * w < k ? lo + 2 * w : k;
            size_t a = lo, b = mid, o = lo;
            while (a < mid && b < hi)
                dst[o++] = rec_less(&src[b], &src[a]) ? src[b++] : src[a++];
            while (a < mid)
                dst[o++] = src[a++];
            while (b < hi)
                dst[o++] = src[b++];
        }
        tx_rec *t = src;
        src = dst;
        dst = t;
    }
    if (src != r)
        memcpy(r, src, k * sizeof *r);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static void sort_doubles(double *v, size_t k)
{
    if (k <= 32) {
        for (size_t i = 1; i < k; i++) {
            double x = v[i];
            size_t j = i;
            while (j > 0 && x < v[j - 1]) {
                v[j] = v[j - 1];
                j--;
            }
            v[j] = x;
        }
    } else {
        qsort(v, k, sizeof *v, cmp_double);
    }
}

static size_t count_distinct_u32(uint32_t *v, size_t k)
{
    if (k <= 32) {
        for (size_t i = 1; i < k; i++) {
            uint32_t x = v[i];
            size_t j = i;
            while (j > 0 && x < v[j - 1]) {
                v[j] = v[j - 1];
                j--;
            }
            v[j] = x;
        }
    } else {
        qsort(v, k, sizeof *v, cmp_u32);
    }
    size_t d = 0;
    for (size_t i = 0; i < k; i++)
        d += (i == 0 || v[i] != v[i - 1]);
    return d;
}

/* Median of m >= 1 whole-day gaps, exact. Short lists (the usual case) use
 * branch-free rank counting on 32-bit integers, which compilers vectorise:
 * element i has rank #{j < i : v[j] <= v[i]} + #{j > i : v[j] < v[i]}, a
 * permutation of 0..m-1; the median is the mean of the elements of rank
 * (m-1)/2 and m/2 (one element when m is odd). Long lists, or gaps beyond
 * 32 bits, are sorted. `iv` is scratch of m ints; `v` may be reordered. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("O3")))
#endif
static double median_small_int(const int32_t *v, size_t m)
{
    size_t h1 = (m - 1) / 2, h2 = m / 2;
    int32_t lo = 0, hi = 0;
    for (size_t i = 0; i < m; i++) {
        int32_t x = v[i];
        int rank = 0;
        for (size_t j = 0; j < i; j++)
            rank += v[j] <= x;
        for (size_t j = i + 1; j < m; j++)
            rank += v[j] < x;
        lo = (size_t)rank == h1 ? x : lo;
        hi = (size_t)rank == h2 ? x : hi;
    }
    return 0.5 * ((double)lo + (double)hi);
}

static double median_of(double *v, size_t m, int32_t *iv)
{
    if (m <= 64) {
        int fits = 1;
        for (size_t i = 0; i < m; i++) {
            fits &= v[i] <= 2147483647.0;
            iv[i] = fits ? (int32_t)v[i] : 0;
        }
        if (fits)
            return median_small_int(iv, m);
    }
    sort_doubles(v, m);
    return 0.5 * (v[(m - 1) / 2] + v[m / 2]);
}

/* LSD radix sort of (key, row) pairs by key, 8-bit digits, skipping digits
 * that are equal for every key. `k2`/`r2` are scratch of n entries. */
static void radix_sort_pairs(uint64_t *key, uint32_t *row, uint64_t *k2, uint32_t *r2, size_t n)
{
    size_t hist[8][256];
    memset(hist, 0, sizeof hist);
    for (size_t i = 0; i < n; i++) {
        uint64_t x = key[i];
        for (int d = 0; d < 8; d++)
            hist[d][(x >> (8 * d)) & 0xff]++;
    }
    for (int d = 0; d < 8; d++) {
        size_t *h = hist[d];
        int trivial = 0;
        for (int b = 0; b < 256; b++)
            if (h[b] == n) {
                trivial = 1;
                break;
            }
        if (trivial)
            continue;
        size_t sum = 0;
        for (int b = 0; b < 256; b++) {
            size_t c = h[b];
            h[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++) {
            size_t p = h[(key[i] >> (8 * d)) & 0xff]++;
            k2[p] = key[i];
            r2[p] = row[i];
        }
        memcpy(key, k2, n * sizeof *key);
        memcpy(row, r2, n * sizeof *row);
    }
}

/* Order-preserving map of a finite double onto uint64. */
static inline uint64_t double_key(double x)
{
    x += 0.0; /* -0.0 -> +0.0 so that ties compare equal */
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return (b >> 63) ? ~b : (b | 0x8000000000000000ULL);
}

/* For each row, the number of rows with a strictly smaller (below) and
 * strictly larger (above) value. */
typedef struct rank_work {
    uint64_t *key, *k2;
    uint32_t *row, *r2;
} rank_work;

static void rank_counts(const double *v, size_t n, rank_work *w, double *below, double *above)
{
    for (size_t i = 0; i < n; i++) {
        w->key[i] = double_key(v[i]);
        w->row[i] = (uint32_t)i;
    }
    radix_sort_pairs(w->key, w->row, w->k2, w->r2, n);
    for (size_t p = 0; p < n;) {
        size_t q = p;
        while (q < n && w->key[q] == w->key[p])
            q++;
        for (size_t i = p; i < q; i++) {
            if (below)
                below[w->row[i]] = (double)p;
            if (above)
                above[w->row[i]] = (double)(n - q);
        }
        p = q;
    }
}

/* The same for non-negative integer keys below `range`, by counting;
 * `hist` has range + 1 entries. */
static void rank_counts_int(const double *v, size_t n, size_t range, size_t *hist, double *below,
                            double *above)
{
    memset(hist, 0, (range + 1) * sizeof *hist);
    for (size_t i = 0; i < n; i++)
        hist[(size_t)v[i]]++;
    /* hist[x] -> number of keys < x; hist[range] = n */
    size_t sum = 0;
    for (size_t x = 0; x <= range; x++) {
        size_t c = hist[x];
        hist[x] = sum;
        sum += c;
    }
    for (size_t i = 0; i < n; i++) {
        size_t x = (size_t)v[i];
        if (below)
            below[i] = (double)hist[x];
        if (above)
            above[i] = (double)(n - hist[x + 1]);
    }
}

/* Quintile score 1..5 from the number b of strictly worse customers among n. */
static inline double quintile(double b, size_t n)
{
    /* 1 + floor(5 b / n) by exact comparisons (b, n < 2^53) */
    double b5 = 5.0 * b, dn = (double)n;
    return 1.0 + (double)((b5 >= dn) + (b5 >= 2 * dn) + (b5 >= 3 * dn) + (b5 >= 4 * dn));
}

static int rfm_code(int r, int f)
{
    if (r <= 2)
        return f <= 2 ? CHURN_RFM_HIBERNATING : f <= 4 ? CHURN_RFM_AT_RISK : CHURN_RFM_CANT_LOSE;
    if (r == 3)
        return f <= 2 ? CHURN_RFM_ABOUT_TO_SLEEP : f == 3 ? CHURN_RFM_NEED_ATTENTION
                                                           : CHURN_RFM_LOYAL;
    if (r == 4)
        return f == 1 ? CHURN_RFM_PROMISING : f <= 3 ? CHURN_RFM_POTENTIAL_LOYALISTS
                                                      : CHURN_RFM_LOYAL;
    return f == 1 ? CHURN_RFM_NEW : f <= 3 ? CHURN_RFM_POTENTIAL_LOYALISTS : CHURN_RFM_CHAMPIONS;
}

const char *churn_rfm_segment_name(int code)
{
    static const char *const names[] = {
        NULL,          "champions",       "loyal customers", "potential loyalists",
        "new customers", "promising",     "need attention",  "about to sleep",
        "at risk",     "can't lose them", "hibernating",
    };
    if (code < 1 || code > 10)
        return NULL;
    return names[code];
}

/* ---- grouping rows by customer ------------------------------------------------ */

/* Counting sort of the rows with time < limit by customer: off has C+1
 * entries, idx the rows of customer c at idx[off[c] .. off[c+1]) in input
 * order. `has_order` (C bytes, may be NULL) is set for customers with an
 * order (amount >= 0) at time < order_limit. */
static int group_rows(const churn_txlog *log, double limit, double order_limit, size_t **off_out,
                      uint32_t **idx_out, unsigned char *has_order, size_t *kmax_out)
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
        double t = time[i];
        if (t < limit) {
            off[cust[i] + 1]++;
            m++;
            if (has_order && t < order_limit && amount[i] >= 0)
                has_order[cust[i]] = 1;
        }
    }
    size_t kmax = 0;
    for (size_t c = 0; c < C; c++) {
        if (off[c + 1] > kmax)
            kmax = off[c + 1];
        off[c + 1] += off[c];
    }
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
    *kmax_out = kmax;
    return CHURN_OK;
}

/* ---- batch build ---------------------------------------------------------------- */

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

static uint64_t hash_id(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
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

/* Everything allocated during a build, freed in one place. */
typedef struct tx_pair {
    double time, amount;
} tx_pair;

/* The rows are grouped in about SCRATCH_SHARE passes over the log, each
 * holding (time, amount) of rows / SCRATCH_SHARE rows: 16 / SCRATCH_SHARE
 * bytes per transaction, the size of a 32-bit row index. */
#define SCRATCH_SHARE 4
/* ... but small logs (up to this many rows, 64 MB of scratch) take one pass. */
#define SCRATCH_MIN_ROWS ((size_t)4 << 20)

typedef struct build_work {
    uint32_t *off;
    uint32_t *cursor;
    tx_pair *pairs;
    uint32_t *pprod;
    unsigned char *has_order;
    uint32_t *row_cust;
    tx_rec *recs, *tmp;
    double *days, *gaps;
    int32_t *igaps;
    uint32_t *prods;
} build_work;

static void build_work_free(build_work *w)
{
    churn__free(w->off);
    churn__free(w->cursor);
    churn__free(w->pairs);
    churn__free(w->pprod);
    churn__free(w->has_order);
    churn__free(w->row_cust);
    churn__free(w->recs);
    churn__free(w->tmp);
    churn__free(w->days);
    churn__free(w->gaps);
    churn__free(w->igaps);
    churn__free(w->prods);
}

/* Population columns: R/F/M scores, RFM segment, value tier, Pareto share. */
int churn__cust_population(size_t N, double cutoff_day, const double *last,
                           const double *n_orders, const double *total, double *r_out,
                           double *f_out, double *m_out, double *seg_out, double *tier_out,
                           const churn_customer_options *o, double *pareto)
{
    *pareto = 0.0;
    if (N == 0)
        return CHURN_OK;
    rank_work rw = {NULL, NULL, NULL, NULL};
    double *below = NULL, *above = NULL, *r_tmp = NULL, *f_tmp = NULL;
    size_t *hist = NULL;
    int rc = CHURN_OK;
    rw.key = churn__cust_big_malloc(churn__mul_size(N, sizeof(uint64_t)));
    rw.k2 = churn__cust_big_malloc(churn__mul_size(N, sizeof(uint64_t)));
    rw.row = churn__cust_big_malloc(churn__mul_size(N, sizeof(uint32_t)));
    rw.r2 = churn__cust_big_malloc(churn__mul_size(N, sizeof(uint32_t)));
    below = churn__cust_big_malloc(churn__mul_size(N, sizeof(double)));
    above = churn__cust_big_malloc(churn__mul_size(N, sizeof(double)));
    /* the segment needs R and F even when they are not columns of the table */
    if (seg_out && !r_out)
        r_out = r_tmp = churn__cust_big_malloc(churn__mul_size(N, sizeof(double)));
    if (seg_out && !f_out)
        f_out = f_tmp = churn__cust_big_malloc(churn__mul_size(N, sizeof(double)));
    if (!rw.key || !rw.k2 || !rw.row || !rw.r2 || !below || !above ||
        (seg_out && (!r_out || !f_out))) {
        rc = churn__nomem("the RFM scores");
        goto done;
    }
    /* R: recent is better, so the worse customers are those with a strictly
     * larger time since the last purchase: whole days (cut - last_purchase).
     * F: n_orders. Both are small integers: rank them by counting. */
    double *days_since = below, maxd = 0, maxf = 0;
    for (size_t i = 0; i < N; i++) {
        days_since[i] = cutoff_day - last[i];
        maxd = fmax(maxd, days_since[i]);
        maxf = fmax(maxf, n_orders[i]);
    }
    /* times far beyond any calendar (e.g. a 40-digit epoch) must not reach the
     * size_t conversion: such a range takes the sorting path (fuzz regression) */
    double span = fmax(maxd, maxf);
    size_t range = span < 4.0 * (double)N + 65536 ? (size_t)span + 1 : SIZE_MAX;
    hist = range <= 4 * N + 65536 ? churn__malloc(churn__mul_size(range + 1, sizeof *hist))
                                  : NULL;
    if (r_out) {
        if (hist) {
            rank_counts_int(days_since, N, range, hist, NULL, above);
        } else {
            memcpy(above, days_since, N * sizeof *above);
            rank_counts(above, N, &rw, NULL, above);
        }
        for (size_t i = 0; i < N; i++)
            r_out[i] = quintile(above[i], N);
    }
    if (f_out) {
        if (hist)
            rank_counts_int(n_orders, N, range, hist, below, NULL);
        else
            rank_counts(n_orders, N, &rw, below, NULL);
        for (size_t i = 0; i < N; i++)
            f_out[i] = quintile(below[i], N);
    }
    rank_counts(total, N, &rw, below, above);
    /* Tiers: ties at a boundary go to the better tier (same rule as
     * churn_tiers_assign in spend.c). */
    double key_cut = o->key_fraction * (double)N;
    double imp_cut = (o->key_fraction + o->important_fraction) * (double)N;
    double sum = 0, key_total = 0;
    for (size_t i = 0; i < N; i++) {
        if (m_out)
            m_out[i] = quintile(below[i], N);
        if (seg_out)
            seg_out[i] = rfm_code((int)r_out[i], (int)f_out[i]);
        double spend = total[i];
        double tier = above[i] < key_cut   ? CHURN_TIER_KEY
                      : above[i] < imp_cut ? CHURN_TIER_IMPORTANT
                                           : CHURN_TIER_ORDINARY;
        if (tier_out)
            tier_out[i] = tier;
        sum += spend;
        if (tier == CHURN_TIER_KEY)
            key_total += spend;
    }
    *pareto = sum > 0 ? key_total / sum : 0.0;
done:
    churn__free(hist);
    churn__free(rw.key);
    churn__free(rw.k2);
    churn__free(rw.row);
    churn__free(rw.r2);
    churn__free(below);
    churn__free(above);
    churn__free(r_tmp);
    churn__free(f_tmp);
    return rc;
}

static void set_rates(churn_customers *t, const double *n_orders, const double *churned)
{
    size_t N = t->nrows, rep = 0, ch = 0;
    for (size_t i = 0; i < N; i++)
        rep += n_orders[i] >= 2;
    t->repeat_rate = N ? (double)rep / (double)N : 0.0;
    if (churned) {
        for (size_t i = 0; i < N; i++)
            ch += churned[i] != 0;
        t->churn_rate = N ? (double)ch / (double)N : NAN;
    } else {
        t->churn_rate = NAN;
    }
}

/* Drop the columns not in want[] (t holds every column in list order). */
static int keep_columns(churn_customers *t, const unsigned char *want)
{
    size_t nw = 0, N = t->nrows;
    for (size_t j = 0; j < t->ncols; j++)
        nw += want[j] != 0;
    if (nw == t->ncols)
        return CHURN_OK;
    double *data = churn__cust_big_malloc(churn__mul_size(churn__mul_size(nw ? nw : 1, N ? N : 1),
                                                          sizeof(double)));
    if (!data)
        return churn__nomem("the customer table");
    size_t k = 0;
    for (size_t j = 0; j < t->ncols; j++) {
        if (!want[j])
            continue;
        if (N)
            memcpy(data + k * N, t->data + j * N, N * sizeof *data);
        t->colid[k++] = (unsigned char)j;
    }
    churn__free(t->data);
    t->data = data;
    t->ncols = nw;
    return CHURN_OK;
}

int churn__cust_pos(const churn_customers *t, int id)
{
    for (size_t j = 0; j < t->ncols; j++)
        if (t->colid[j] == id)
            return (int)j;
    return -1;
}

int churn__cust_parse_columns(const char *spec, size_t ncols, unsigned char *want,
                              const char *who)
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
        int j = col_lookup(p, len);
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
    return churn__cust_parse_columns(o->columns, *has_holdout ? NCOL_ALL : NCOL_BASE, want, who);
}

int churn_customers_build(churn_customers **out, const churn_txlog *log,
                          const churn_customer_options *opts)
{
    churn__ok();
    if (!out)
        return churn__error(CHURN_EINVAL, "churn_customers_build: 'out' is NULL");
    *out = NULL;
    if (!log)
        return churn__error(CHURN_EINVAL, "churn_customers_build: 'log' is NULL");
    size_t n = log->n, C = log->customer_ids.count;
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
    if (rc)
        return rc;
    const size_t ncols_all = has_holdout ? NCOL_ALL : NCOL_BASE;
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
    const double u = o.time_unit, W = o.trend_window;
    /* Threshold H in days for duration/event; 0 means the holdout length. */
    double H = o.inactivity_threshold > 0 ? o.inactivity_threshold * u : hold - cut;

    build_work w;
    memset(&w, 0, sizeof w);
    churn_customers *t = churn__calloc(1, sizeof *t);
    if (!t)
        return churn__nomem("the customer table");
    t->cutoff_day = cut;
    t->holdout_day = has_holdout ? hold : NAN;
    t->time_unit = u;
    t->ncols = ncols_all;
    for (size_t j = 0; j < ncols_all; j++)
        t->colid[j] = (unsigned char)j;

    w.has_order = churn__calloc(C ? C : 1, 1);
    w.off = churn__cust_big_malloc(churn__mul_size(C + 1, sizeof *w.off));
    if (!w.has_order || !w.off) {
        rc = churn__nomem("the customer index");
        goto fail;
    }
    const uint32_t *cust = log->customer;
    const double *time = log->time, *amount = log->amount;
    const int has_products = log->product_ids.count > 0 && log->product;
    const uint32_t *product = has_products ? log->product : NULL;
    const double limit = (hold + 1) * CHURN_SECONDS_PER_DAY;
    const double order_limit = (cut + 1) * CHURN_SECONDS_PER_DAY;

    /* Pass 1: rows per customer up to the holdout end (or cutoff), and which
     * customers have an order by the cutoff (the table's rows). The order
     * flag rides in bit 31 of the count (one random access per row); a log
     * of 2^31 rows or more keeps it in has_order instead. */
    uint32_t *off = w.off;
    memset(off, 0, (C + 1) * sizeof *off);
    const int flag_in_count = n < ((size_t)1 << 31);
    const uint32_t FLAG = (uint32_t)1 << 31;
    if (flag_in_count && log->max_time < order_limit) {
        /* Nothing to filter (the cutoff is the last day, no holdout): no
         * need to read the times. */
        for (size_t i = 0; i < n; i++) {
            uint32_t *cnt = off + cust[i] + 1;
            *cnt = (*cnt + 1) | (amount[i] >= 0 ? FLAG : 0);
        }
    } else if (flag_in_count) {
        for (size_t i = 0; i < n; i++) {
            double tm = time[i];
            if (tm < limit) {
                uint32_t *cnt = off + cust[i] + 1;
                *cnt = (*cnt + 1) | (tm < order_limit && amount[i] >= 0 ? FLAG : 0);
            }
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            double tm = time[i];
            if (tm < limit) {
                uint32_t c = cust[i];
                off[c + 1]++;
                if (tm < order_limit && amount[i] >= 0)
                    w.has_order[c] = 1;
            }
        }
    }
    size_t kmax = 0, N = 0;
    for (size_t c = 0; c < C; c++) {
        uint32_t k = off[c + 1];
        if (flag_in_count) {
            w.has_order[c] = (unsigned char)(k >> 31);
            k &= ~FLAG;
        }
        if (k > kmax)
            kmax = k;
        off[c + 1] = off[c] + k;
        N += w.has_order[c];
    }
    const size_t m_total = off[C];
    t->nrows = N;
    t->nexcluded = C - N;
    t->nslots = 16;
    while (t->nslots < 2 * N)
        t->nslots *= 2;
    t->data = churn__cust_big_malloc(churn__mul_size(churn__mul_size(t->ncols, N ? N : 1), sizeof(double)));
    w.row_cust = churn__malloc(churn__mul_size(N ? N : 1, sizeof *w.row_cust));
    /* The rows are grouped by customer in slices of at most `budget` rows
     * (customer ranges), each gathered by one sequential pass over the log:
     * the scratch copy stays at (time, amount) of budget rows. */
    size_t budget = m_total / SCRATCH_SHARE;
    if (budget < SCRATCH_MIN_ROWS)
        budget = m_total < SCRATCH_MIN_ROWS ? m_total : SCRATCH_MIN_ROWS;
    if (budget < kmax)
        budget = kmax;
    if (budget < 1)
        budget = 1;
    size_t kb = kmax ? kmax : 1;
    w.pairs = churn__cust_big_malloc(churn__mul_size(budget + 1, sizeof *w.pairs));
    w.pprod = product ? churn__cust_big_malloc(churn__mul_size(budget + 1, sizeof *w.pprod)) : NULL;
    w.cursor = churn__cust_big_malloc(churn__mul_size(C + 1, sizeof *w.cursor));
    w.recs = churn__malloc(churn__mul_size(kb, sizeof *w.recs));
    w.tmp = churn__malloc(churn__mul_size(kb, sizeof *w.tmp));
    w.days = churn__malloc(churn__mul_size(kb, sizeof *w.days));
    w.gaps = churn__malloc(churn__mul_size(kb, sizeof *w.gaps));
    w.igaps = churn__malloc(churn__mul_size(kb, sizeof *w.igaps));
    w.prods = churn__malloc(churn__mul_size(kb, sizeof *w.prods));
    if (!t->data || !w.row_cust || !w.pairs || (product && !w.pprod) || !w.cursor || !w.recs ||
        !w.tmp || !w.days || !w.gaps || !w.igaps || !w.prods) {
        rc = churn__nomem("the customer table");
        goto fail;
    }
    double *col[NCOL_ALL];
    for (size_t j = 0; j < t->ncols; j++)
        col[j] = t->data + j * N;

    size_t r = 0;
    for (size_t lo = 0, hi; lo < C; lo = hi) {
        hi = lo + 1;
        while (hi < C && off[hi + 1] - off[lo] <= budget)
            hi++;
        /* Pass 2 (per range): scatter the range's rows, in input order. */
        const uint32_t base = off[lo], span_c = (uint32_t)(hi - lo);
        for (size_t c = lo; c < hi; c++)
            w.cursor[c] = off[c] - base;
        /* Branch-free: a row outside the range (or after the limit) goes to
         * the spare slot `budget` through the spare cursor cursor[C]. */
        w.cursor[C] = (uint32_t)budget;
        for (size_t i = 0; i < n; i++) {
            uint32_t c = cust[i];
            double tm = time[i];
            uint32_t in = (c - (uint32_t)lo < span_c) & (tm < limit);
            uint32_t cc = in ? c : (uint32_t)C;
            uint32_t p = w.cursor[cc];
            w.cursor[cc] = p + in;
            w.pairs[p].time = tm;
            w.pairs[p].amount = amount[i];
            if (product)
                w.pprod[p] = product[i];
        }
        for (size_t c = lo; c < hi; c++) {
            if (!w.has_order[c])
                continue;
            size_t a = off[c] - base, k = off[c + 1] - off[c];
            tx_pair *pr = w.pairs + a;
            uint32_t *pp = product ? w.pprod + a : NULL;
            int sorted = 1;
            for (size_t i = 1; i < k; i++)
                if (pr[i].time < pr[i - 1].time) {
                    sorted = 0;
                    break;
                }
            if (!sorted) {
                /* Equal times keep input order (the slice is in input order). */
                tx_rec *rec = w.recs;
                for (size_t i = 0; i < k; i++) {
                    rec[i].time = pr[i].time;
                    rec[i].amount = pr[i].amount;
                    rec[i].row = (uint32_t)i;
                    rec[i].product = pp ? pp[i] : UINT32_MAX;
                }
                sort_recs(rec, k, w.tmp);
                for (size_t i = 0; i < k; i++) {
                    pr[i].time = rec[i].time;
                    pr[i].amount = rec[i].amount;
                    if (pp)
                        pp[i] = rec[i].product;
                }
            }
            churn_customer_state s;
            state_reset(&s, &o);
            size_t nocc = 0, nprod = 0, i = 0;
            double orders_recent = 0, orders_prior = 0, spend_recent = 0, spend_prior = 0;
            double recent_lo = cut - W, prior_lo = cut - 2 * W;
            for (; i < k; i++) {
                double d = day_of(pr[i].time);
                if (d > cut)
                    break;
                double am = pr[i].amount;
                if (am < 0) {
                    state_add_refund(&s, am);
                    continue;
                }
                double before = s.n_orders;
                state_add_order(&s, d, am);
                if (s.n_orders != before) {
                    w.days[nocc++] = d;
                    if (d > recent_lo)
                        orders_recent += 1;
                    else if (d > prior_lo)
                        orders_prior += 1;
                }
                if (d > recent_lo)
                    spend_recent += am;
                else if (d > prior_lo)
                    spend_prior += am;
                if (pp && pp[i] != UINT32_MAX)
                    w.prods[nprod++] = pp[i];
            }
            /* Holdout: purchases (same-day merge as in calibration) and spend. */
            double h_purchases = 0, h_spend = 0, last_any = s.last_day, prev_day = NAN;
            for (; i < k; i++) {
                double d = day_of(pr[i].time), am = pr[i].amount;
                if (d > hold)
                    break;
                if (am < 0)
                    continue;
                if (!(o.same_day_once && d == prev_day))
                    h_purchases += 1;
                prev_day = d;
                h_spend += am;
                last_any = d;
            }

            double v[NCOL_ALL];
            state_values(&s, cut, v);
            for (int j = 0; j < NCOL_BASE; j++)
                if (col_incremental(j))
                    col[j][r] = v[j];
            /* Median gap from the purchase days. */
            double median = 0;
            if (nocc > 1) {
                size_t m = nocc - 1;
                for (size_t g = 0; g < m; g++)
                    w.gaps[g] = w.days[g + 1] - w.days[g];
                median = median_of(w.gaps, m, w.igaps) / u;
            }
            col[COL_GAP_MEDIAN][r] = median;
            col[COL_ORDERS_RECENT][r] = orders_recent;
            col[COL_ORDERS_PRIOR][r] = orders_prior;
            col[COL_SPEND_RECENT][r] = spend_recent;
            col[COL_SPEND_PRIOR][r] = spend_prior;
            col[COL_ORDERS_TREND][r] = trend_ratio(orders_recent, orders_prior);
            col[COL_SPEND_TREND][r] = trend_ratio(spend_recent, spend_prior);
            col[COL_N_PRODUCTS][r] = nprod ? (double)count_distinct_u32(w.prods, nprod) : 0.0;
            if (has_holdout) {
                col[COL_H_PURCHASES][r] = h_purchases;
                col[COL_H_SPEND][r] = h_spend;
                col[COL_CHURNED][r] = h_purchases == 0 ? 1.0 : 0.0;
                /* Survival label: lapse when the threshold passes before the end. */
                if (last_any + H <= hold) {
                    col[COL_EVENT][r] = 1.0;
                    col[COL_DURATION][r] = (last_any + H - s.first_day) / u;
                } else {
                    col[COL_EVENT][r] = 0.0;
                    col[COL_DURATION][r] = (hold - s.first_day) / u;
                }
            }
            w.row_cust[r] = (uint32_t)c;
            r++;
        }
    }
    /* Release the grouping scratch before the population pass. */
    churn__free(w.pairs);
    w.pairs = NULL;
    churn__free(w.pprod);
    w.pprod = NULL;
    churn__free(w.cursor);
    w.cursor = NULL;
    churn__free(w.off);
    w.off = NULL;
    if ((rc = churn__cust_population(N, cut, col[COL_LAST], col[COL_N_ORDERS],
                                     col[COL_TOTAL_SPEND], col[COL_R_SCORE], col[COL_F_SCORE],
                                     col[COL_M_SCORE], col[COL_SEGMENT], col[COL_TIER], &o,
                                     &t->pareto_share)))
        goto fail;
    set_rates(t, col[COL_N_ORDERS], has_holdout ? col[COL_CHURNED] : NULL);
    if (!want[COL_TIER])
        t->pareto_share = NAN; /* as the one-pass path: not asked for */
    if ((rc = keep_columns(t, want)))
        goto fail;
    if ((rc = churn__cust_copy_ids(t, log, w.row_cust)))
        goto fail;
    build_work_free(&w);
    *out = t;
    return CHURN_OK;
fail:
    build_work_free(&w);
    churn_customers_free(t);
    return rc;
}

/* ---- accessors ------------------------------------------------------------------- */

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
    int id = col_lookup(name, strlen(name));
    int j = id < 0 ? -1 : churn__cust_pos(t, id);
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

/* ---- cohorts --------------------------------------------------------------------- */

/* Civil date of a UTC day number (proleptic Gregorian): the era-based
 * conversion described by H. Hinnant, "chrono-Compatible Low-Level Date
 * Algorithms" (days_from_civil / civil_from_days). */
static void civil_from_days(int64_t z, int64_t *y, int *m)
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

static int64_t days_from_civil(int64_t y, int m)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = m > 2 ? m - 3 : m + 9;
    int64_t doy = (153 * mp + 2) / 5; /* first day of the month */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

enum { PERIOD_DAYS, PERIOD_WEEK, PERIOD_MONTH, PERIOD_YEAR };

typedef struct period_map {
    int kind;
    double length, origin; /* PERIOD_DAYS: blocks of `length` days from day `origin` */
} period_map;

/* Period index of a UTC day. */
static int64_t period_of(const period_map *pm, double day)
{
    int64_t y;
    int m;
    switch (pm->kind) {
    case PERIOD_WEEK: /* 1970-01-01 was a Thursday; weeks start on Monday */
        return (int64_t)floor((day + 3) / 7);
    case PERIOD_MONTH:
        civil_from_days((int64_t)day, &y, &m);
        return y * 12 + (m - 1);
    case PERIOD_YEAR:
        civil_from_days((int64_t)day, &y, &m);
        return y;
    default:
        return (int64_t)floor((day - pm->origin) / pm->length);
    }
}

/* First UTC day (possibly fractional for custom lengths) of period p. */
static double period_start(const period_map *pm, int64_t p)
{
    switch (pm->kind) {
    case PERIOD_WEEK:
        return (double)(7 * p - 3);
    case PERIOD_MONTH: {
        int64_t y = p >= 0 ? p / 12 : -((-p + 11) / 12);
        int m = (int)(p - y * 12) + 1;
        return (double)days_from_civil(y, m);
    }
    case PERIOD_YEAR:
        return (double)days_from_civil(p, 1);
    default:
        return pm->origin + (double)p * pm->length;
    }
}

int churn_customers_cohort_table(const churn_txlog *log, const churn_cohort_options *opts,
                                 size_t *n_cohorts, size_t *n_periods, double *cohort_start,
                                 double *active, double *retention)
{
    churn__ok();
    if (!log || !n_cohorts || !n_periods)
        return churn__error(CHURN_EINVAL, "churn_customers_cohort_table: '%s' is NULL",
                            !log ? "log" : !n_cohorts ? "n_cohorts" : "n_periods");
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
    size_t n = log->n, C = log->customer_ids.count;
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
        if (log->time[i] < limit && log->amount[i] >= 0) {
            double d = day_of(log->time[i]);
            if (d <= cut && d < first_day)
                first_day = d;
        }
    if (first_day == HUGE_VAL)
        return churn__error(CHURN_EINVAL, "churn_customers_cohort_table: no order (amount >= 0) "
                            "on or before the cutoff day");
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
    if (p1 - p0 >= (int64_t)1 << 24)
        return churn__error(CHURN_ERANGE, "churn_customers_cohort_table: %lld periods; use a "
                            "longer 'period'", (long long)(p1 - p0 + 1));
    size_t P = (size_t)(p1 - p0 + 1);
    if (!cohort_start && !active && !retention) {
        *n_cohorts = P;
        *n_periods = P;
        return CHURN_OK;
    }
    if (*n_cohorts < P || *n_periods < P) {
        size_t cc = *n_cohorts, cp = *n_periods;
        *n_cohorts = P;
        *n_periods = P;
        return churn__error(CHURN_ERANGE, "churn_customers_cohort_table: the buffers hold %zu x "
                            "%zu cells, %zu x %zu are needed", cc, cp, P, P);
    }
    size_t cells = churn__mul_size(P, P);
    if (!cells)
        return churn__nomem("the cohort table");
    double *act = churn__calloc(cells, sizeof *act);
    uint32_t *stamp = churn__calloc(cells, sizeof *stamp);
    unsigned char *has_order = churn__calloc(C ? C : 1, 1);
    size_t *off = NULL;
    uint32_t *idx = NULL;
    size_t kmax = 0;
    if (!act || !stamp || !has_order) {
        rc = churn__nomem("the cohort table");
        goto done;
    }
    if ((rc = group_rows(log, limit, limit, &off, &idx, has_order, &kmax)))
        goto done;
    for (size_t c = 0; c < C; c++) {
        if (!has_order[c])
            continue;
        double first = HUGE_VAL;
        for (size_t q = off[c]; q < off[c + 1]; q++) {
            uint32_t row = idx[q];
            double d = day_of(log->time[row]);
            if (log->amount[row] >= 0 && d <= cut && d < first)
                first = d;
        }
        if (first == HUGE_VAL)
            continue;
        size_t ci = (size_t)(period_of(&pm, first) - p0);
        for (size_t q = off[c]; q < off[c + 1]; q++) {
            uint32_t row = idx[q];
            double d = day_of(log->time[row]);
            if (log->amount[row] < 0 || d > cut)
                continue;
            size_t k = (size_t)(period_of(&pm, d) - p0) - ci;
            size_t cell = ci * P + k;
            /* stamp = customer + 1 marks a cell already counted for c */
            if (stamp[cell] != (uint32_t)c + 1) {
                stamp[cell] = (uint32_t)c + 1;
                act[cell] += 1;
            }
        }
    }
    *n_cohorts = P;
    *n_periods = P;
    for (size_t i = 0; i < P; i++) {
        if (cohort_start)
            cohort_start[i] = period_start(&pm, p0 + (int64_t)i) * CHURN_SECONDS_PER_DAY;
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
    rc = CHURN_OK;
done:
    churn__free(act);
    churn__free(stamp);
    churn__free(has_order);
    churn__free(off);
    churn__free(idx);
    return rc;
}
