/*
 * The population step of the customer table: columns that rank each
 * customer against all the others (R/F/M quintile scores, the RFM segment,
 * the value tier) and the Pareto share of the key tier. Both builders
 * (customers_group.c, customers_stream.c) call it once their per-customer
 * columns are done.
 *
 * Owns: churn__cust_population, churn_rfm_segment_name.
 * Calls: customers_setup.c (churn__cust_big_malloc) and core/.
 */
#include "core/internal.h"

#include <stdlib.h>

#include "data/customers_internal.h"

/* ---- ranks ------------------------------------------------------------------------ */

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

/* ---- scores, segments, tiers ------------------------------------------------------- */

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
    double *below = NULL, *above = NULL, *r_tmp = NULL, *f_tmp = NULL, *known = NULL;
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
    /* M score and tiers rank total_spend among the K customers whose spend is
     * known: an unknown amount makes a customer's total NaN (customers.h), and
     * such a customer gets NaN for both; the Pareto share, a share of everyone's
     * spend, is NaN when there is one. With some unknown, the known totals are
     * ranked packed into `known`. */
    size_t K = 0;
    const double *spend_of = total;
    for (size_t i = 0; i < N; i++)
        K += !isnan(total[i]);
    if (K < N) {
        if (!(known = churn__cust_big_malloc(churn__mul_size(N, sizeof *known)))) {
            rc = churn__nomem("the RFM scores");
            goto done;
        }
        for (size_t i = 0, k = 0; i < N; i++)
            if (!isnan(total[i]))
                known[k++] = total[i];
        spend_of = known;
    }
    if (K)
        rank_counts(spend_of, K, &rw, below, above);
    /* Tiers: ties at a boundary go to the better tier (same rule as
     * churn_tiers_assign in spend/tiers.c). */
    double key_cut = o->key_fraction * (double)K;
    double imp_cut = (o->key_fraction + o->important_fraction) * (double)K;
    double sum = 0, key_total = 0;
    for (size_t i = 0, k = 0; i < N; i++) {
        /* row i's spend rank is entry k: the known rows before it */
        if (seg_out)
            seg_out[i] = rfm_code((int)r_out[i], (int)f_out[i]);
        double spend = total[i];
        if (isnan(spend)) {
            if (m_out)
                m_out[i] = NAN;
            if (tier_out)
                tier_out[i] = NAN;
            continue;
        }
        double tier = above[k] < key_cut   ? CHURN_TIER_KEY
                      : above[k] < imp_cut ? CHURN_TIER_IMPORTANT
                                           : CHURN_TIER_ORDINARY;
        if (m_out)
            m_out[i] = quintile(below[k], K);
        k++;
        if (tier_out)
            tier_out[i] = tier;
        sum += spend;
        if (tier == CHURN_TIER_KEY)
            key_total += spend;
    }
    *pareto = K < N ? NAN : sum > 0 ? key_total / sum : 0.0;
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
    churn__free(known);
    return rc;
}
