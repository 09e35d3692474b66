/*
 * The customer table in one pass, without grouping the transactions by
 * customer: each customer keeps a small running summary that every
 * transaction updates in place, in the order the transactions arrive.
 *
 * This is exact (the same doubles as the grouping path, customers_group.c) as
 * long as each customer's transactions arrive in time order, which an
 * append-only log and most exports (sorted by date, or by customer then date)
 * satisfy. Two columns need a customer's whole list of purchases and are not
 * produced here: gap_median and n_products.
 *
 * Two users:
 *  - churn_customers_build() (customers.c), when the wanted columns allow
 *    it, summarises the whole log this way; when some customer's
 *    transactions are out of order this file answers CHURN__NOT_STREAMABLE
 *    and customers.c groups instead (customers_group.c);
 *  - churn_customer_stream (public), which folds a log chunk by chunk and
 *    drops the rows after each fold, so that memory grows with the number of
 *    customers, not transactions.
 *
 * The summary is split by how often it is touched: 16 bytes per customer that
 * every calibration order updates (hot_state), 16 bytes for the first
 * purchase (touched by the first day's orders only), 64 bytes for trends,
 * gaps, refunds and the holdout (extra_state, allocated only when one of
 * those columns is wanted), and the time of the customer's last transaction,
 * which checks that each customer's transactions arrive in time order. The
 * build skips that check (and its array) while the whole log is in time
 * order, which implies it: for the BTYD columns of a date-ordered log, a
 * transaction then costs one random 16-byte update.
 *
 * Owns: churn__cust_build_streaming and the churn_customer_stream_* functions.
 * Calls: customers_population.c (churn__cust_population), customers_setup.c
 * (setup, table, ids, large buffers), txlog.c (the stream's log) and core/.
 */
#include "data/customers_internal.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct hot_state {
    double repeat_amount; /* value of the purchases after the first */
    int32_t last_day;     /* UTC day of the last calibration purchase */
    uint32_t n_orders;    /* calibration purchases (after the same-day merge); 0 = none */
} hot_state;

typedef struct first_state {
    double first_amount; /* value of the first purchase */
    int32_t first_day;   /* its UTC day */
    int32_t unused;
} first_state;

typedef struct extra_state {
    double gap_sumsq;      /* sum of squared gaps between purchase days, days^2 */
    double returns_amount; /* sum of |refund| on or before the cutoff */
    double spend_recent, spend_prior;
    double h_spend;        /* order amount in the holdout */
    uint32_t n_returns;
    uint32_t orders_recent, orders_prior;
    uint32_t h_purchases;  /* purchases in the holdout */
    int32_t h_last;        /* last purchase day in the holdout; INT32_MIN = none */
    int32_t h_prev;        /* day of the previous holdout order; INT32_MIN = none */
} extra_state;

typedef struct sstate {
    hot_state *hot;
    first_state *first;
    double *last_time; /* per customer, -inf = none; NULL when the order is not checked */
    extra_state *ex;   /* NULL unless an extra column is wanted */
    size_t cap;        /* customers the arrays cover */
    int checked;       /* keep last_time: check each customer's time order */
    int extra;         /* keep ex */
    /* parameters */
    cust_clock k;            /* cutoff, holdout end, units, trend window, threshold */
    double cut, hold, limit; /* units (days or calendar period indices); limit in seconds:
                                transactions at or after it are ignored */
    double cal_end;          /* seconds: the first moment after the cutoff day */
    double recent_lo, prior_lo;
    int same_day_once;
    int period;              /* CHURN_PERIOD_*: units are calendar periods */
} sstate;

/* Why a fold stopped. */
enum { FOLD_OK, FOLD_ORDER, FOLD_RANGE, FOLD_UNSORTED };

static int col_needs_extra(int j)
{
    switch (j) {
    case COL_GAP_STD: case COL_ORDERS_RECENT: case COL_ORDERS_PRIOR: case COL_SPEND_RECENT:
    case COL_SPEND_PRIOR: case COL_ORDERS_TREND: case COL_SPEND_TREND: case COL_N_RETURNS:
    case COL_RETURNS_AMOUNT: case COL_NET_SPEND:
        return 1;
    default:
        return j >= NCOL_BASE;
    }
}

static void sstate_free(sstate *S)
{
    churn__free(S->hot);
    churn__free(S->first);
    churn__free(S->last_time);
    churn__free(S->ex);
    S->hot = NULL;
    S->first = NULL;
    S->last_time = NULL;
    S->ex = NULL;
    S->cap = 0;
}

static void sstate_params(sstate *S, const churn_customer_options *o, double cut, double hold)
{
    clock_init(&S->k, o, cut, hold);
    S->cut = S->k.cut;
    S->hold = S->k.hold;
    S->limit = S->k.limit;
    S->cal_end = S->k.cal_end;
    S->recent_lo = S->cut - S->k.W;
    S->prior_lo = S->cut - 2 * S->k.W;
    S->same_day_once = o->same_day_once;
    S->period = S->k.period;
}

static void init_extra(sstate *S, size_t lo, size_t hi)
{
    memset(S->ex + lo, 0, (hi - lo) * sizeof *S->ex);
    for (size_t c = lo; c < hi; c++)
        S->ex[c].h_last = S->ex[c].h_prev = INT32_MIN;
}

static void init_range(sstate *S, size_t lo, size_t hi)
{
    memset(S->hot + lo, 0, (hi - lo) * sizeof *S->hot);
    memset(S->first + lo, 0, (hi - lo) * sizeof *S->first);
    if (S->last_time)
        for (size_t c = lo; c < hi; c++)
            S->last_time[c] = -HUGE_VAL;
    if (S->ex)
        init_extra(S, lo, hi);
}

/* Grow one array to `cap` entries of `size` bytes (huge-page hint as
 * churn__cust_big_malloc). */
static int grow(void **p, size_t cap, size_t size)
{
    size_t bytes = churn__mul_size(cap, size);
    void *q = churn__realloc(*p, bytes);
    if (!q)
        return churn__nomem("the per-customer summaries");
    churn__advise_huge(q, bytes);
    *p = q;
    return CHURN_OK;
}

/* Cover customers [0, C): grow the arrays S->checked and S->extra ask for (by
 * at least half, or to exactly C when `exact`) and initialise the new entries.
 * On failure nothing that was covered is lost. */
static int sstate_cover(sstate *S, size_t C, int exact)
{
    if (C <= S->cap && S->hot)
        return CHURN_OK;
    size_t cap = C ? C : 1;
    if (!exact && cap < S->cap + S->cap / 2)
        cap = S->cap + S->cap / 2;
    int rc = grow((void **)&S->hot, cap, sizeof *S->hot);
    if (!rc)
        rc = grow((void **)&S->first, cap, sizeof *S->first);
    if (!rc && S->checked)
        rc = grow((void **)&S->last_time, cap, sizeof *S->last_time);
    if (!rc && S->extra)
        rc = grow((void **)&S->ex, cap, sizeof *S->ex);
    if (rc)
        return rc;
    init_range(S, S->cap, cap);
    S->cap = cap;
    return CHURN_OK;
}

#ifndef PREFETCH_AHEAD
#define PREFETCH_AHEAD 16
#endif

/* Fold rows [0, n) into the summaries. `full` selects the extra columns;
 * `checked` checks each customer's time order with S->last_time, otherwise
 * the rows must be in time order overall (FOLD_UNSORTED at the first that is
 * not, before anything of it is folded). Both are constants at each call
 * site. On FOLD_ORDER / FOLD_RANGE / FOLD_UNSORTED, *bad is the row; the rows
 * before it are folded. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline int fold_rows(sstate *S, const uint32_t *cust, const double *time,
                            const double *amount, size_t n, int full, int checked, size_t *bad)
{
    hot_state *hot = S->hot;
    first_state *first = S->first;
    double *last_time = S->last_time;
    extra_state *ex = S->ex;
    const double cut = S->cut, limit = S->limit, recent_lo = S->recent_lo,
                 prior_lo = S->prior_lo, cal_end = S->cal_end;
    const int merge = S->same_day_once, period = S->period;
    /* The day (or calendar period) of the previous row: consecutive rows of a
     * log in time order mostly share it, and computing it is most of a row's
     * arithmetic. */
    double day_lo = HUGE_VAL, day_hi = -HUGE_VAL, day = 0, prev = -HUGE_VAL;
    for (size_t i = 0; i < n; i++) {
#if defined(__GNUC__)
        /* The summaries are touched at random: ask for them a few rows ahead
         * so that several cache misses are in flight at once. */
        if (i + PREFETCH_AHEAD < n) {
            uint32_t ca = cust[i + PREFETCH_AHEAD];
            __builtin_prefetch(&hot[ca], 1, 3);
            if (checked)
                __builtin_prefetch(&last_time[ca], 1, 3);
            if (full)
                __builtin_prefetch(&ex[ca], 1, 3);
        }
#endif
        double t = time[i];
        if (!checked) {
            if (t < prev) {
                *bad = i;
                return FOLD_UNSORTED;
            }
            prev = t;
        }
        if (!(t < limit))
            continue; /* after the last day that counts */
        uint32_t c = cust[i];
        if (checked) {
            if (t < last_time[c]) {
                *bad = i;
                return FOLD_ORDER;
            }
            last_time[c] = t;
        }
        if (!(t >= day_lo && t < day_hi)) {
            day = day_of(t);
            if (period) {
                day = cal_period_of(period, day);
                day_lo = cal_period_start(period, day) * CHURN_SECONDS_PER_DAY;
                day_hi = cal_period_start(period, day + 1) * CHURN_SECONDS_PER_DAY;
            } else {
                day_lo = day * CHURN_SECONDS_PER_DAY;
                day_hi = day_lo + CHURN_SECONDS_PER_DAY;
            }
        }
        double a = amount[i], d = day;
        if (period && t >= cal_end && d <= cut)
            continue; /* after the cutoff day, in the cutoff's period: in neither */
        if (a < 0) {
            if (full && d <= cut) {
                ex[c].n_returns++;
                ex[c].returns_amount -= a;
            }
            continue;
        }
        if (!(d >= -2147483647.0 && d <= 2147483647.0)) {
            *bad = i;
            return FOLD_RANGE;
        }
        int32_t di = (int32_t)d;
        if (d > cut) {
            /* a holdout order (the limit admits none without a holdout) */
            if (full) {
                extra_state *e = &ex[c];
                if (!(merge && di == e->h_prev))
                    e->h_purchases++;
                e->h_prev = di;
                e->h_spend += a;
                e->h_last = di;
            }
            continue;
        }
        hot_state *h = &hot[c];
        if (h->n_orders == 0) {
            h->n_orders = 1;
            h->last_day = di;
            first[c].first_amount = a;
            first[c].first_day = di;
        } else if (merge && di == h->last_day) {
            if (h->n_orders == 1)
                first[c].first_amount += a;
            else
                h->repeat_amount += a;
            if (full) {
                if (d > recent_lo)
                    ex[c].spend_recent += a;
                else if (d > prior_lo)
                    ex[c].spend_prior += a;
            }
            continue;
        } else {
            if (h->n_orders == UINT32_MAX) {
                *bad = i;
                return FOLD_RANGE;
            }
            if (full) {
                double gap = d - (double)h->last_day;
                ex[c].gap_sumsq += gap * gap;
            }
            h->last_day = di;
            h->n_orders++;
            h->repeat_amount += a;
        }
        /* a new purchase */
        if (full) {
            if (d > recent_lo) {
                ex[c].orders_recent++;
                ex[c].spend_recent += a;
            } else if (d > prior_lo) {
                ex[c].orders_prior++;
                ex[c].spend_prior += a;
            }
        }
    }
    return FOLD_OK;
}

static int fold(sstate *S, const churn_txlog *log, size_t *bad)
{
    const uint32_t *c = log->customer;
    const double *t = log->time, *a = log->amount;
    size_t n = log->n;
    if (S->last_time)
        return S->ex ? fold_rows(S, c, t, a, n, 1, 1, bad) : fold_rows(S, c, t, a, n, 0, 1, bad);
    return S->ex ? fold_rows(S, c, t, a, n, 1, 0, bad) : fold_rows(S, c, t, a, n, 0, 0, bad);
}

/* Where emit() writes: the table's columns by list position (NULL = not a
 * column), with `tmp` standing in for the inputs of the population step
 * (last_purchase, n_orders, total_spend) that are not columns. */
typedef struct emit_cols {
    double *col[NCOL_ALL];
    double *tmp;
    int pop; /* some population column is wanted */
} emit_cols;

/* The wanted columns of table t (of t->nrows rows), and row_cust. */
static int emit_alloc(churn_customers *t, const unsigned char *want, uint32_t **row_cust,
                      emit_cols *ec)
{
    const size_t N = t->nrows;
    const unsigned char *ids = t->colid;
    size_t nw = 0;
    for (int j = 0; j < NCOL_ALL; j++)
        if (want[j])
            t->colid[nw++] = (unsigned char)j;
    t->ncols = nw;
    t->data = churn__cust_big_malloc(churn__mul_size(churn__mul_size(nw ? nw : 1, N ? N : 1),
                                                     sizeof(double)));
    *row_cust = churn__malloc(churn__mul_size(N ? N : 1, sizeof **row_cust));
    /* population columns read last_purchase, n_orders, total_spend: kept in
     * scratch when they are not columns of the table */
    int pop = want[COL_R_SCORE] || want[COL_F_SCORE] || want[COL_M_SCORE] ||
              want[COL_SEGMENT] || want[COL_TIER];
    double **col = ec->col;
    ec->pop = pop;
    if (!t->data || !*row_cust)
        return churn__nomem("the customer table"); /* before any offset from t->data */
    for (size_t k = 0; k < nw; k++)
        col[ids[k]] = t->data + k * N;
    if (pop) {
        size_t need = !col[COL_LAST] + !col[COL_N_ORDERS] + !col[COL_TOTAL_SPEND];
        if (need) {
            ec->tmp = churn__cust_big_malloc(churn__mul_size(churn__mul_size(need, N ? N : 1),
                                                             sizeof(double)));
            if (ec->tmp) {
                double *p = ec->tmp;
                if (!col[COL_LAST])
                    col[COL_LAST] = p, p += N;
                if (!col[COL_N_ORDERS])
                    col[COL_N_ORDERS] = p, p += N;
                if (!col[COL_TOTAL_SPEND])
                    col[COL_TOTAL_SPEND] = p;
            }
        }
    }
    /* with tmp missing any of the three may be NULL, not only the last one */
    if (pop && (!col[COL_LAST] || !col[COL_N_ORDERS] || !col[COL_TOTAL_SPEND]))
        return churn__nomem("the customer table");
    return CHURN_OK;
}

/* Every column of customer c (who has an order by the cutoff) but the
 * population ones, into v[COL_...]; H is the threshold in days for
 * duration/event. Returns 1 when the customer churned in the holdout. */
static int customer_values(const sstate *S, size_t c, const churn_customer_options *o,
                           int has_holdout, double H, double *v)
{
    const double cut = S->cut, hold = S->hold, u = S->k.u;
    const hot_state *h = &S->hot[c];
    cust_summary s = {h->n_orders, S->first[c].first_day, h->last_day,
                      S->first[c].first_amount, h->repeat_amount, 0, 0, 0};
    int churned = 0;
    if (S->ex) {
        const extra_state *e = &S->ex[c];
        s.gap_sumsq = e->gap_sumsq;
        s.n_returns = e->n_returns;
        s.returns_amount = e->returns_amount;
        v[COL_ORDERS_RECENT] = e->orders_recent;
        v[COL_ORDERS_PRIOR] = e->orders_prior;
        v[COL_SPEND_RECENT] = e->spend_recent;
        v[COL_SPEND_PRIOR] = e->spend_prior;
        v[COL_ORDERS_TREND] = trend_ratio(e->orders_recent, e->orders_prior);
        v[COL_SPEND_TREND] = trend_ratio(e->spend_recent, e->spend_prior);
        if (has_holdout) {
            double last_any = e->h_last != INT32_MIN ? (double)e->h_last : s.last_day;
            holdout_values(e->h_purchases, e->h_spend, s.first_day, last_any, H, hold, u, v);
            churned = e->h_purchases == 0;
        }
    }
    summary_values(&s, u, o->first_purchase_counts, cut, v); /* after the trends: see
                                                                    spend_unknown_values */
    if (has_holdout && S->ex && isnan(v[COL_TOTAL_SPEND]))
        v[COL_H_SPEND] = NAN; /* an unknown amount up to the holdout end, as the grouping */
    v[COL_FIRST] = clock_day(&S->k, v[COL_FIRST]);
    v[COL_LAST] = clock_day(&S->k, v[COL_LAST]);
    return churned;
}

/* The table of the customers [0, C) with an order on or before the cutoff:
 * allocate it -> one row per such customer -> the rates -> the population
 * columns -> the ids. */
static int emit(const sstate *S, const churn_txlog *log, size_t C,
                const churn_customer_options *o, const unsigned char *want, int has_holdout,
                churn_customers **out)
{
    const double H = S->k.H;
    size_t N = 0;
    for (size_t c = 0; c < C; c++)
        N += S->hot[c].n_orders > 0;
    uint32_t *row_cust = NULL;
    emit_cols ec = {{NULL}, NULL, 0};
    churn_customers *t = churn__cust_table_new(&S->k, has_holdout, o);
    if (!t)
        return churn__nomem("the customer table");
    churn__cust_table_rows(t, N, C);
    int rc = emit_alloc(t, want, &row_cust, &ec);
    if (rc)
        goto done;
    double **col = ec.col;
    const unsigned char *ids = t->colid;
    const size_t nw = t->ncols;
    size_t r = 0, repeaters = 0, churned = 0;
    for (size_t c = 0; c < C; c++) {
        const hot_state *h = &S->hot[c];
        if (!h->n_orders)
            continue;
        double v[NCOL_ALL];
        churned += (size_t)customer_values(S, c, o, has_holdout, H, v);
        int bad = values_overflow(v, want, has_holdout ? NCOL_ALL : NCOL_BASE);
        if (bad >= 0) {
            rc = churn__cust_overflow(log, c, bad);
            goto done;
        }
        repeaters += h->n_orders >= 2;
        for (size_t k = 0; k < nw; k++)
            if (ids[k] < COL_R_SCORE || ids[k] > COL_TIER)
                t->data[k * N + r] = v[ids[k]];
        if (ec.pop) {
            col[COL_LAST][r] = v[COL_LAST];
            col[COL_N_ORDERS][r] = v[COL_N_ORDERS];
            col[COL_TOTAL_SPEND][r] = v[COL_TOTAL_SPEND];
        }
        row_cust[r++] = (uint32_t)c;
    }
    t->repeat_rate = N ? (double)repeaters / (double)N : 0.0;
    t->churn_rate = has_holdout && N ? (double)churned / (double)N : NAN;
    if (ec.pop && (rc = churn__cust_population(N, S->k.cut_day, col[COL_LAST],
                                               col[COL_N_ORDERS], col[COL_TOTAL_SPEND],
                                               col[COL_R_SCORE], col[COL_F_SCORE],
                                               col[COL_M_SCORE], col[COL_SEGMENT],
                                               col[COL_TIER], o, &t->pareto_share)))
        goto done;
    if (!want[COL_TIER])
        t->pareto_share = NAN; /* computed with the tiers only */
    rc = churn__cust_copy_ids(t, log, row_cust);
done:
    churn__free(row_cust);
    churn__free(ec.tmp);
    if (rc) {
        churn_customers_free(t);
        return rc;
    }
    *out = t;
    return CHURN_OK;
}

/* The extra state: for its columns, and with a holdout for the churn rate. */
static int want_extra(const unsigned char *want, int has_holdout)
{
    if (has_holdout)
        return 1;
    for (int j = 0; j < NCOL_ALL; j++)
        if (want[j] && col_needs_extra(j))
            return 1;
    return 0;
}

int churn__cust_build_streaming(churn_customers **out, const churn_txlog *log,
                                const churn_customer_options *o, const unsigned char *want,
                                double cut, double hold, int has_holdout)
{
    size_t C = log->customer_ids.count;
    if (C > UINT32_MAX)
        return CHURN__NOT_STREAMABLE;
    sstate S;
    memset(&S, 0, sizeof S);
    sstate_params(&S, o, cut, hold);
    S.extra = want_extra(want, has_holdout);
    /* A log in time order (append-only, or read from a date-sorted file)
     * needs no per-customer check; otherwise start again with it. */
    int rc = sstate_cover(&S, C, 1);
    size_t bad = 0;
    if (rc == CHURN_OK && (rc = fold(&S, log, &bad)) == FOLD_UNSORTED) {
        sstate_free(&S);
        S.checked = 1;
        if ((rc = sstate_cover(&S, C, 1)) == CHURN_OK)
            rc = fold(&S, log, &bad);
    }
    if (rc != FOLD_OK) {
        sstate_free(&S);
        return rc < 0 ? rc : CHURN__NOT_STREAMABLE;
    }
    rc = emit(&S, log, C, o, want, has_holdout, out);
    sstate_free(&S);
    return rc;
}

/* ---- the public streaming builder ------------------------------------------------ */

struct churn_customer_stream {
    churn_customer_options o; /* columns points into `columns` below */
    char *columns;
    unsigned char want[NCOL_ALL];
    int has_holdout;
    sstate S;
    churn_txlog *log;
    uint64_t folded; /* rows folded so far */
    int state;       /* 0 open, 1 finished, 2 failed */
};

int churn_customer_stream_new(churn_customer_stream **out, const churn_customer_options *opts)
{
    churn__ok();
    if (!out)
        return churn__error(CHURN_EINVAL, "churn_customer_stream_new: 'out' is NULL");
    *out = NULL;
    churn_customer_options o;
    double cut, hold;
    int has_holdout;
    unsigned char want[NCOL_ALL];
    int rc = churn__cust_setup("churn_customer_stream_new", opts, NAN,
                               "option 'cutoff' is required (the last day of a stream is not "
                               "known in advance)", &o, &cut, &hold, &has_holdout, want);
    if (rc)
        return rc;
    for (int j = 0; j < NCOL_ALL; j++) {
        if (!want[j] || !col_needs_grouping(j))
            continue;
        if (o.columns)
            return churn__error(CHURN_EUNSUPPORTED, "churn_customer_stream_new: column '%s' "
                                "needs every purchase of a customer at once; a stream cannot "
                                "produce it (use churn_customers_build)", col_names[j]);
        want[j] = 0; /* "every column" of a stream leaves them out */
    }
    churn_customer_stream *s = churn__calloc(1, sizeof *s);
    if (!s)
        return churn__nomem("the customer stream");
    if (o.columns) {
        size_t len = strlen(o.columns) + 1;
        if (!(s->columns = churn__malloc(len))) {
            churn__free(s);
            return churn__nomem("the customer stream");
        }
        memcpy(s->columns, o.columns, len);
        o.columns = s->columns;
    }
    s->o = o;
    memcpy(s->want, want, sizeof want);
    s->has_holdout = has_holdout;
    sstate_params(&s->S, &o, cut, hold);
    s->S.checked = 1; /* chunks may come in any customer order */
    s->S.extra = want_extra(want, has_holdout);
    if ((rc = churn_txlog_new(&s->log)) || (rc = sstate_cover(&s->S, 1024, 1))) {
        churn_customer_stream_free(s);
        return rc;
    }
    *out = s;
    return CHURN_OK;
}

void churn_customer_stream_free(churn_customer_stream *s)
{
    if (!s)
        return;
    sstate_free(&s->S);
    churn_txlog_free(s->log);
    churn__free(s->columns);
    churn__free(s);
}

churn_txlog *churn_customer_stream_log(churn_customer_stream *s) { return s ? s->log : NULL; }

uint64_t churn_customer_stream_rows_folded(const churn_customer_stream *s)
{
    return s ? s->folded : 0;
}

int churn_customer_stream_fold(churn_customer_stream *s)
{
    churn__ok();
    if (!s)
        return churn__error(CHURN_EINVAL, "churn_customer_stream_fold: 'stream' is NULL");
    if (s->state)
        return churn__error(CHURN_EINVAL, "churn_customer_stream_fold: the stream is %s",
                            s->state == 1 ? "finished" : "unusable after an earlier error");
    churn_txlog *log = s->log;
    int rc = churn__cust_check_days("churn_customer_stream_fold", &s->o, log);
    if (rc) {
        s->state = 2;
        return rc;
    }
    rc = sstate_cover(&s->S, log->customer_ids.count, 0);
    if (rc)
        return rc; /* nothing folded: the stream stays usable */
    size_t bad = 0;
    rc = fold(&s->S, log, &bad);
    if (rc != FOLD_OK) {
        s->state = 2;
        char when[64] = "", before[64] = "";
        double t = log->time[bad];
        double last = s->S.last_time[log->customer[bad]];
        if (churn_format_date(t, when, sizeof when))
            churn__snprintf_c(when, sizeof when, "%.17g", t);
        if (rc == FOLD_ORDER) {
            if (churn_format_date(last, before, sizeof before))
                churn__snprintf_c(before, sizeof before, "%.17g", last);
            return churn__error(CHURN_EINVAL, "customer stream: transaction %llu (customer "
                                "'%s', %s) is earlier than that customer's transaction of %s "
                                "already folded; a stream needs each customer's transactions "
                                "in time order (sort the input by date, or by customer and "
                                "date)", (unsigned long long)(s->folded + bad + 1),
                                log->customer_ids.strings[log->customer[bad]], when, before);
        }
        return churn__error(CHURN_ERANGE, "customer stream: transaction %llu (customer '%s', "
                            "%s): the day or the count of purchases is beyond the supported "
                            "range", (unsigned long long)(s->folded + bad + 1),
                            log->customer_ids.strings[log->customer[bad]], when);
    }
    s->folded += log->n;
    log->n = 0; /* the rows are summarised; the ids stay (the table needs them) */
    return CHURN_OK;
}

int churn_customer_stream_finish(churn_customer_stream *s, churn_customers **out)
{
    churn__ok();
    if (!out)
        return churn__error(CHURN_EINVAL, "churn_customer_stream_finish: 'out' is NULL");
    *out = NULL;
    if (!s)
        return churn__error(CHURN_EINVAL, "churn_customer_stream_finish: 'stream' is NULL");
    int rc = churn_customer_stream_fold(s);
    if (rc)
        return rc;
    s->state = 1;
    size_t C = s->log->customer_ids.count;
    rc = emit(&s->S, s->log, C, &s->o, s->want, s->has_holdout, out);
    if (rc)
        s->state = 2;
    return rc;
}
