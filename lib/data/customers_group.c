/*
 * The customer table by grouping: every customer's transactions are gathered
 * (a counting sort by customer, in slices that bound the scratch memory),
 * put in time order, and summarised one customer at a time. This path makes
 * every column, including the two that need a customer's whole list of
 * purchases (gap_median, n_products), and accepts transactions in any order.
 *
 * Steps of churn__cust_build_grouped: count the rows of each customer ->
 * allocate the table and the scratch -> per slice of customers, gather their
 * rows and summarise each customer (calibration, holdout, one table row) ->
 * population columns -> keep the requested columns -> ids.
 *
 * Owns: churn__cust_build_grouped.
 * Calls: customers_population.c (churn__cust_population), customers_setup.c
 * (table, ids, large buffers) and core/.
 */
#include "core/internal.h"
#include "data/txlog_internal.h"

#include <stdlib.h>

#include "data/customers_internal.h"

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
 * 32 bits (rare enough that qsort serves them even when short), are sorted.
 * `iv` is scratch of m ints; `v` may be reordered. */
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
    qsort(v, m, sizeof *v, cmp_double);
    return 0.5 * (v[(m - 1) / 2] + v[m / 2]);
}

/* ---- the build's memory ------------------------------------------------------------ */

typedef struct tx_pair {
    double time, amount;
} tx_pair;

/* The rows are grouped in about SCRATCH_SHARE passes over the log, each
 * holding (time, amount) of rows / SCRATCH_SHARE rows: 16 / SCRATCH_SHARE
 * bytes per transaction, the size of a 32-bit row index. */
#define SCRATCH_SHARE 4
/* ... but small logs (up to this many rows, 64 MB of scratch) take one pass. */
#define SCRATCH_MIN_ROWS ((size_t)4 << 20)

/* Everything allocated during a build, freed in one place. */
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

/* What the steps of one build share: its parameters, then what the count of
 * pass 1 finds, then the table's columns. */
typedef struct group_build {
    const churn_txlog *log;
    const churn_customer_options *o;
    cust_clock k;               /* cutoff, holdout end, units, trend window, threshold */
    double cut, hold;           /* in units (UTC days, or calendar period indices) */
    double u, W;                /* the time unit and the trend window, in units */
    double H;                   /* threshold in units for duration/event */
    double limit, order_limit;  /* seconds: rows from `limit` on are ignored; an order
                                   before `order_limit` makes the customer a row */
    int has_holdout;
    const uint32_t *product;    /* NULL when the log has no products */
    size_t kmax;                /* most rows of one customer */
    size_t N;                   /* customers with an order by the cutoff: the rows */
    size_t budget;              /* rows gathered per slice */
    double *col[NCOL_ALL];      /* the table's columns (all of them, in list order) */
    const unsigned char *want;  /* the columns asked for: a sum that overflows in one
                                   of them is an error */
} group_build;

static void group_params(group_build *g, const churn_txlog *log,
                         const churn_customer_options *o, double cut, double hold,
                         int has_holdout)
{
    memset(g, 0, sizeof *g);
    g->log = log;
    g->o = o;
    clock_init(&g->k, o, cut, hold);
    g->cut = g->k.cut;
    g->hold = g->k.hold;
    g->u = g->k.u;
    g->W = g->k.W;
    g->H = g->k.H;
    g->limit = g->k.limit;
    g->order_limit = g->k.cal_end;
    g->has_holdout = has_holdout;
    const int has_products = log->product_ids.count > 0 && log->product;
    g->product = has_products ? log->product : NULL;
}

/* ---- pass 1: rows per customer ------------------------------------------------------ */

#define ORDER_FLAG ((uint32_t)1 << 31)

/* Count into off[c + 1] the rows of customer c up to the holdout end (or
 * cutoff), and mark the customers with an order by the cutoff (the table's
 * rows; an order is any row that is not a refund, an unknown amount too).
 * The order flag rides in bit 31 of the count (one random access per row)
 * when `flag_in_count`; a log of 2^31 rows or more keeps it in has_order
 * instead. */
static void count_pass(const group_build *g, build_work *w, int flag_in_count)
{
    const churn_txlog *log = g->log;
    size_t n = log->n;
    const uint32_t *cust = log->customer;
    const double *time = log->time, *amount = log->amount;
    const double limit = g->limit, order_limit = g->order_limit;
    uint32_t *off = w->off;
    if (flag_in_count && log->max_time < order_limit) {
        /* Nothing to filter (the cutoff is the last day, no holdout): no
         * need to read the times. */
        for (size_t i = 0; i < n; i++) {
            uint32_t *cnt = off + cust[i] + 1;
            *cnt = (*cnt + 1) | (!(amount[i] < 0) ? ORDER_FLAG : 0);
        }
    } else if (flag_in_count) {
        for (size_t i = 0; i < n; i++) {
            double tm = time[i];
            if (tm < limit) {
                uint32_t *cnt = off + cust[i] + 1;
                *cnt = (*cnt + 1) | (tm < order_limit && !(amount[i] < 0) ? ORDER_FLAG : 0);
            }
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            double tm = time[i];
            if (tm < limit) {
                uint32_t c = cust[i];
                off[c + 1]++;
                if (tm < order_limit && !(amount[i] < 0))
                    w->has_order[c] = 1;
            }
        }
    }
}

/* Pass 1, then the counts into offsets: customer c's rows go to
 * [off[c], off[c + 1]), off[C] rows in all. Sets g->kmax and g->N. */
static int count_rows(group_build *g, build_work *w)
{
    size_t n = g->log->n, C = g->log->customer_ids.count;
    w->has_order = churn__calloc(C ? C : 1, 1);
    w->off = churn__cust_big_malloc(churn__mul_size(C + 1, sizeof *w->off));
    if (!w->has_order || !w->off)
        return churn__nomem("the customer index");
    uint32_t *off = w->off;
    memset(off, 0, (C + 1) * sizeof *off);
    const int flag_in_count = n < ((size_t)1 << 31);
    count_pass(g, w, flag_in_count);
    size_t kmax = 0, N = 0;
    for (size_t c = 0; c < C; c++) {
        uint32_t k = off[c + 1];
        if (flag_in_count) {
            w->has_order[c] = (unsigned char)(k >> 31);
            k &= ~ORDER_FLAG;
        }
        if (k > kmax)
            kmax = k;
        off[c + 1] = off[c] + k;
        N += w->has_order[c];
    }
    g->kmax = kmax;
    g->N = N;
    return CHURN_OK;
}

/* The table's data (every column) and the scratch of the gathering passes. */
static int alloc_table_and_scratch(group_build *g, build_work *w, churn_customers *t)
{
    const size_t N = g->N, C = g->log->customer_ids.count, kmax = g->kmax;
    const size_t m_total = w->off[C]; /* rows before `limit` */
    const uint32_t *product = g->product;
    t->data = churn__cust_big_malloc(churn__mul_size(churn__mul_size(t->ncols, N ? N : 1),
                                                     sizeof(double)));
    w->row_cust = churn__malloc(churn__mul_size(N ? N : 1, sizeof *w->row_cust));
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
    g->budget = budget;
    size_t kb = kmax ? kmax : 1;
    w->pairs = churn__cust_big_malloc(churn__mul_size(budget + 1, sizeof *w->pairs));
    w->pprod = product ? churn__cust_big_malloc(churn__mul_size(budget + 1, sizeof *w->pprod))
                       : NULL;
    w->cursor = churn__cust_big_malloc(churn__mul_size(C + 1, sizeof *w->cursor));
    w->recs = churn__malloc(churn__mul_size(kb, sizeof *w->recs));
    w->tmp = churn__malloc(churn__mul_size(kb, sizeof *w->tmp));
    w->days = churn__malloc(churn__mul_size(kb, sizeof *w->days));
    w->gaps = churn__malloc(churn__mul_size(kb, sizeof *w->gaps));
    w->igaps = churn__malloc(churn__mul_size(kb, sizeof *w->igaps));
    w->prods = churn__malloc(churn__mul_size(kb, sizeof *w->prods));
    if (!t->data || !w->row_cust || !w->pairs || (product && !w->pprod) || !w->cursor ||
        !w->recs || !w->tmp || !w->days || !w->gaps || !w->igaps || !w->prods)
        return churn__nomem("the customer table");
    for (size_t j = 0; j < t->ncols; j++)
        g->col[j] = t->data + j * N;
    return CHURN_OK;
}

/* ---- pass 2: gather a slice of customers ---------------------------------------------- */

/* Scatter the rows of customers [lo, hi) into w->pairs (and w->pprod), in
 * input order, customer c's at off[c] - off[lo]. */
static void scatter_range(const group_build *g, build_work *w, size_t lo, size_t hi)
{
    const churn_txlog *log = g->log;
    size_t n = log->n, C = log->customer_ids.count;
    const uint32_t *cust = log->customer;
    const double *time = log->time, *amount = log->amount;
    const double limit = g->limit;
    const uint32_t *product = g->product, *off = w->off;
    const uint32_t base = off[lo], span_c = (uint32_t)(hi - lo);
    for (size_t c = lo; c < hi; c++)
        w->cursor[c] = off[c] - base;
    /* Branch-free: a row outside the range (or after the limit) goes to
     * the spare slot `budget` through the spare cursor cursor[C]. */
    w->cursor[C] = (uint32_t)g->budget;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = cust[i];
        double tm = time[i];
        uint32_t in = (c - (uint32_t)lo < span_c) & (tm < limit);
        uint32_t cc = in ? c : (uint32_t)C;
        uint32_t p = w->cursor[cc];
        w->cursor[cc] = p + in;
        w->pairs[p].time = tm;
        w->pairs[p].amount = amount[i];
        if (product)
            w->pprod[p] = product[i];
    }
}

/* ---- one customer ---------------------------------------------------------------------- */

/* Put a customer's k rows in time order when they are not; equal times keep
 * input order (the slice is in input order). */
static void sort_by_time(tx_pair *pr, uint32_t *pp, size_t k, build_work *w)
{
    int sorted = 1;
    for (size_t i = 1; i < k; i++)
        if (pr[i].time < pr[i - 1].time) {
            sorted = 0;
            break;
        }
    if (sorted)
        return;
    tx_rec *rec = w->recs;
    for (size_t i = 0; i < k; i++) {
        rec[i].time = pr[i].time;
        rec[i].amount = pr[i].amount;
        rec[i].row = (uint32_t)i;
        rec[i].product = pp ? pp[i] : UINT32_MAX;
    }
    sort_recs(rec, k, w->tmp);
    for (size_t i = 0; i < k; i++) {
        pr[i].time = rec[i].time;
        pr[i].amount = rec[i].amount;
        if (pp)
            pp[i] = rec[i].product;
    }
}

/* A customer's sums up to the cutoff day: the incremental state, the
 * purchase days (in w->days) and product ids (in w->prods), and the trend
 * windows. */
typedef struct calib_sums {
    churn_customer_state s;
    size_t nocc, nprod;
    double orders_recent, orders_prior, spend_recent, spend_prior;
} calib_sums;

/* Fold the rows up to the cutoff day; returns the index of the first row
 * after it. Days are taken in units (days or calendar periods). */
static size_t fold_calibration(const group_build *g, build_work *w, const tx_pair *pr,
                               const uint32_t *pp, size_t k, calib_sums *cs)
{
    const double cut = g->cut, W = g->W;
    churn_customer_state *s = &cs->s;
    state_reset(s, g->o);
    s->time_unit = g->u; /* 1 with a calendar period: durations in whole periods */
    size_t nocc = 0, nprod = 0, i = 0;
    double orders_recent = 0, orders_prior = 0, spend_recent = 0, spend_prior = 0;
    double recent_lo = cut - W, prior_lo = cut - 2 * W;
    for (; i < k; i++) {
        if (pr[i].time >= g->k.cal_end)
            break;
        double d = clock_unit(&g->k, day_of(pr[i].time));
        double am = pr[i].amount;
        if (am < 0) {
            state_add_refund(s, am);
            continue;
        }
        double before = s->n_orders;
        state_add_order(s, d, am);
        if (s->n_orders != before) {
            w->days[nocc++] = d;
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
            w->prods[nprod++] = pp[i];
    }
    cs->nocc = nocc;
    cs->nprod = nprod;
    cs->orders_recent = orders_recent;
    cs->orders_prior = orders_prior;
    cs->spend_recent = spend_recent;
    cs->spend_prior = spend_prior;
    return i;
}

/* Holdout sums: purchases (same-day merge as in calibration), spend, and the
 * last purchase day overall (in units). With a calendar period, the orders
 * after the cutoff day but in the cutoff's period count in neither. */
typedef struct holdout_sums {
    double purchases, spend, last_any;
} holdout_sums;

static void fold_holdout(const group_build *g, const tx_pair *pr, size_t i, size_t k,
                         double last_day, holdout_sums *hs)
{
    const double cut = g->cut;
    double h_purchases = 0, h_spend = 0, last_any = last_day, prev_day = NAN;
    for (; i < k; i++) {
        double am = pr[i].amount;
        if (pr[i].time >= g->limit)
            break;
        if (am < 0)
            continue;
        double d = clock_unit(&g->k, day_of(pr[i].time));
        if (d <= cut)
            continue; /* a calendar period's rest after the cutoff day */
        if (!(g->o->same_day_once && d == prev_day))
            h_purchases += 1;
        prev_day = d;
        h_spend += am;
        last_any = d;
    }
    hs->purchases = h_purchases;
    hs->spend = h_spend;
    hs->last_any = last_any;
}

/* Row r of the table from a customer's sums; CHURN_ENUMERIC when a wanted
 * column's sum of amounts overflowed (values_overflow: the column, else -1
 * into *bad). */
static void write_row(const group_build *g, build_work *w, const calib_sums *cs,
                      const holdout_sums *hs, size_t r, int *bad)
{
    double *const *col = g->col;
    const double cut = g->cut, u = g->u;
    double v[NCOL_ALL];
    v[COL_SPEND_RECENT] = cs->spend_recent;
    v[COL_SPEND_PRIOR] = cs->spend_prior;
    v[COL_SPEND_TREND] = trend_ratio(cs->spend_recent, cs->spend_prior);
    state_values(&cs->s, cut, v); /* NaN spend columns for an unknown amount */
    v[COL_FIRST] = clock_day(&g->k, v[COL_FIRST]);
    v[COL_LAST] = clock_day(&g->k, v[COL_LAST]);
    for (int j = 0; j < NCOL_BASE; j++)
        if (col_incremental(j))
            col[j][r] = v[j];
    /* Median gap from the purchase days. */
    double median = 0;
    if (cs->nocc > 1) {
        size_t m = cs->nocc - 1;
        for (size_t q = 0; q < m; q++)
            w->gaps[q] = w->days[q + 1] - w->days[q];
        median = median_of(w->gaps, m, w->igaps) / u;
    }
    col[COL_GAP_MEDIAN][r] = median;
    col[COL_ORDERS_RECENT][r] = cs->orders_recent;
    col[COL_ORDERS_PRIOR][r] = cs->orders_prior;
    col[COL_SPEND_RECENT][r] = v[COL_SPEND_RECENT];
    col[COL_SPEND_PRIOR][r] = v[COL_SPEND_PRIOR];
    col[COL_ORDERS_TREND][r] = trend_ratio(cs->orders_recent, cs->orders_prior);
    col[COL_SPEND_TREND][r] = v[COL_SPEND_TREND];
    col[COL_N_PRODUCTS][r] =
        cs->nprod ? (double)count_distinct_u32(w->prods, cs->nprod) : 0.0;
    if (g->has_holdout) {
        /* holdout_spend is unknown when an order's amount is, up to the holdout end */
        holdout_values(hs->purchases, isnan(v[COL_TOTAL_SPEND]) ? NAN : hs->spend,
                       cs->s.first_day, hs->last_any, g->H, g->hold, u, v);
        for (int j = NCOL_BASE; j < NCOL_ALL; j++)
            col[j][r] = v[j];
    }
    *bad = values_overflow(v, g->want, g->has_holdout ? NCOL_ALL : NCOL_BASE);
}

/* Table row r from the k rows of one customer at slot a of the slice. */
static int summarise_customer(const group_build *g, build_work *w, size_t a, size_t k,
                              size_t r)
{
    tx_pair *pr = w->pairs + a;
    uint32_t *pp = g->product ? w->pprod + a : NULL;
    sort_by_time(pr, pp, k, w);
    calib_sums cs;
    size_t i = fold_calibration(g, w, pr, pp, k, &cs);
    holdout_sums hs;
    fold_holdout(g, pr, i, k, cs.s.last_day, &hs);
    int bad;
    write_row(g, w, &cs, &hs, r, &bad);
    return bad;
}

/* Every customer with an order by the cutoff, a slice of customers at a
 * time; w->row_cust[r] is the customer of row r. CHURN_ENUMERIC naming the
 * first customer whose wanted sum of amounts overflowed. */
static int summarise_customers(const group_build *g, build_work *w)
{
    const size_t C = g->log->customer_ids.count, budget = g->budget;
    const uint32_t *off = w->off;
    size_t r = 0;
    for (size_t lo = 0, hi; lo < C; lo = hi) {
        hi = lo + 1;
        while (hi < C && off[hi + 1] - off[lo] <= budget)
            hi++;
        scatter_range(g, w, lo, hi);
        const uint32_t base = off[lo];
        for (size_t c = lo; c < hi; c++) {
            if (!w->has_order[c])
                continue;
            int bad = summarise_customer(g, w, off[c] - base, off[c + 1] - off[c], r);
            if (bad >= 0)
                return churn__cust_overflow(g->log, c, bad);
            w->row_cust[r] = (uint32_t)c;
            r++;
        }
    }
    return CHURN_OK;
}

/* Release the grouping scratch before the population pass. */
static void release_grouping(build_work *w)
{
    churn__free(w->pairs);
    w->pairs = NULL;
    churn__free(w->pprod);
    w->pprod = NULL;
    churn__free(w->cursor);
    w->cursor = NULL;
    churn__free(w->off);
    w->off = NULL;
}

/* ---- the whole table ------------------------------------------------------------------- */

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

/* Population columns, the repeat and churn rates, the Pareto share. */
static int population_step(group_build *g, churn_customers *t, const unsigned char *want)
{
    double **col = g->col;
    int rc = churn__cust_population(g->N, g->k.cut_day, col[COL_LAST], col[COL_N_ORDERS],
                                    col[COL_TOTAL_SPEND], col[COL_R_SCORE], col[COL_F_SCORE],
                                    col[COL_M_SCORE], col[COL_SEGMENT], col[COL_TIER], g->o,
                                    &t->pareto_share);
    if (rc)
        return rc;
    set_rates(t, col[COL_N_ORDERS], g->has_holdout ? col[COL_CHURNED] : NULL);
    if (!want[COL_TIER])
        t->pareto_share = NAN; /* as the one-pass path: not asked for */
    return CHURN_OK;
}

int churn__cust_build_grouped(churn_customers **out, const churn_txlog *log,
                              const churn_customer_options *o, const unsigned char *want,
                              double cut, double hold, int has_holdout)
{
    group_build g;
    group_params(&g, log, o, cut, hold, has_holdout);
    build_work w;
    memset(&w, 0, sizeof w);
    churn_customers *t = churn__cust_table_new(&g.k, has_holdout, o);
    if (!t)
        return churn__nomem("the customer table");
    t->ncols = has_holdout ? NCOL_ALL : NCOL_BASE;
    for (size_t j = 0; j < t->ncols; j++)
        t->colid[j] = (unsigned char)j;
    int rc = count_rows(&g, &w);
    if (rc)
        goto fail;
    churn__cust_table_rows(t, g.N, log->customer_ids.count);
    if ((rc = alloc_table_and_scratch(&g, &w, t)))
        goto fail;
    g.want = want;
    if ((rc = summarise_customers(&g, &w)))
        goto fail;
    release_grouping(&w);
    if ((rc = population_step(&g, t, want)))
        goto fail;
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
