/*
 * Maximum likelihood for any BTYD or sBG family, behind the descriptor of
 * btyd_internal.h: collapsing identical rows into weights, the damped Newton
 * optimiser on log-parameters (finite-difference Hessian of the analytic
 * gradient, refreshed by BFGS updates, or the family's analytic Hessian),
 * the starting points, standard errors, the fit options, and the budget
 * that bounds the cost of every fit (likelihood evaluations and seconds).
 *
 * Calls core/ only; a family's likelihood (and analytic Hessian) is reached
 * through the descriptor that the caller passes. Called by btyd.c and sbg.c.
 */
#include "btyd/btyd_internal.h"

#include <float.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MAXP CHURN__BTYD_MAXP

/* ---- collapsing identical rows ---------------------------------------------- */

typedef struct btyd_row {
    double x, tx, T, w;
} btyd_row;

/* Order by x first: the family log-likelihoods cache everything that depends
 * on x alone (lgamma, digamma) and recompute it only when x changes. */
static int row_cmp(const void *pa, const void *pb)
{
    const btyd_row *a = pa, *b = pb;
    if (a->x != b->x)
        return a->x < b->x ? -1 : 1;
    if (a->T != b->T)
        return a->T < b->T ? -1 : 1;
    if (a->tx != b->tx)
        return a->tx < b->tx ? -1 : 1;
    return 0;
}

/* (T, t_x) order within one x. */
static inline int row_less_ttx(const btyd_row *a, const btyd_row *b)
{
    return a->T < b->T || (a->T == b->T && a->tx < b->tx);
}

/* Sort rows[0..n) by (T, t_x): quicksort with the comparison inlined (median
 * of three, insertion sort below 16 rows, the smaller half first). */
static void sort_ttx(btyd_row *r, size_t n)
{
    while (n > 16) {
        size_t mid = n / 2;
        btyd_row t;
        if (row_less_ttx(&r[mid], &r[0])) {
            t = r[mid]; r[mid] = r[0]; r[0] = t;
        }
        if (row_less_ttx(&r[n - 1], &r[0])) {
            t = r[n - 1]; r[n - 1] = r[0]; r[0] = t;
        }
        if (row_less_ttx(&r[n - 1], &r[mid])) {
            t = r[n - 1]; r[n - 1] = r[mid]; r[mid] = t;
        }
        btyd_row pv = r[mid];
        size_t i = 0, j = n - 1;
        for (;;) {
            while (row_less_ttx(&r[i], &pv))
                i++;
            while (row_less_ttx(&pv, &r[j]))
                j--;
            if (i >= j)
                break;
            t = r[i]; r[i] = r[j]; r[j] = t;
            i++;
            j--;
        }
        /* [0, j] <= pivot <= [j+1, n) */
        size_t left = j + 1;
        if (left < n - left) {
            sort_ttx(r, left);
            r += left;
            n -= left;
        } else {
            sort_ttx(r + left, n - left);
            n = left;
        }
    }
    for (size_t i = 1; i < n; i++) {
        btyd_row v = r[i];
        size_t j = i;
        while (j > 0 && row_less_ttx(&v, &r[j - 1])) {
            r[j] = r[j - 1];
            j--;
        }
        r[j] = v;
    }
}

/* Sort the m rows by (x, T, t_x) as row_cmp does. The counts x are whole
 * numbers (checks.c): a counting sort by x into `tmp` when the largest is
 * below 4 m + 1024, then each x's rows by (T, t_x); else qsort. Returns the
 * array that holds the sorted rows (rows or tmp). */
static btyd_row *sort_rows(btyd_row *rows, btyd_row *tmp, size_t m)
{
    double xmax = 0;
    for (size_t i = 0; i < m; i++)
        xmax = fmax(xmax, rows[i].x);
    size_t nb = (size_t)xmax + 2;
    size_t *cnt = tmp && xmax < 4.0 * (double)m + 1024 ? churn__calloc(nb, sizeof *cnt) : NULL;
    if (!cnt) {
        qsort(rows, m, sizeof *rows, row_cmp);
        return rows;
    }
    for (size_t i = 0; i < m; i++)
        cnt[(size_t)rows[i].x + 1]++;
    for (size_t b = 1; b < nb; b++)
        cnt[b] += cnt[b - 1];
    for (size_t i = 0; i < m; i++)
        tmp[cnt[(size_t)rows[i].x]++] = rows[i];
    /* cnt[b] is now the end of bucket b */
    size_t start = 0;
    for (size_t b = 0; b + 1 < nb; b++) {
        if (cnt[b] > start + 1)
            sort_ttx(tmp + start, cnt[b] - start);
        start = cnt[b];
    }
    churn__free(cnt);
    return tmp;
}

/* Rows whose times take few distinct values (whole days or weeks in any unit:
 * a customer table built from dates has at most a few thousand) sort by
 * (T, t_x) without comparisons: each distinct value (T and t_x together) gets
 * its rank, and two stable counting sorts, by the rank of t_x and then by that
 * of T, order the rows; the counting sort by x that follows keeps that order
 * within each x. On the 100,000 frequent buyers of bench_btydfit (546 distinct
 * values) this is a fifth of the cost of the quicksort per x it replaces.
 * Continuous times exceed RANK_MAX distinct values early and fall back. */
#define RANK_MAX 4096
#define RANK_BITS 14 /* 16,384 slots: at most a quarter full */

typedef struct rank_slot {
    double v;
    uint32_t id;
} rank_slot;

static int rank_value_cmp(const void *pa, const void *pb)
{
    const rank_slot *a = pa, *b = pb;
    return a->v < b->v ? -1 : a->v > b->v;
}

/* The id of v in the table (inserted when new, ids in order of first sight),
 * or -1 when the table already holds RANK_MAX values. */
static inline int rank_id(rank_slot *tab, rank_slot *vals, uint32_t *nd, double v)
{
    uint64_t b;
    v += 0.0; /* -0 and +0 are one value */
    memcpy(&b, &v, sizeof b);
    size_t h = (size_t)((b * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - RANK_BITS));
    for (;;) {
        if (tab[h].v == v)
            return (int)tab[h].id;
        if (tab[h].v < 0) {
            if (*nd >= RANK_MAX)
                return -1;
            tab[h].v = v;
            tab[h].id = *nd;
            vals[*nd].v = v;
            vals[*nd].id = *nd;
            return (int)(*nd)++;
        }
        h = (h + 1) & (((size_t)1 << RANK_BITS) - 1);
    }
}

/* The rows with a weight (w NULL: all) in (T, t_x) order: the input
 * positions, in order[0..m). Returns 1, or 0 when the times have more than
 * RANK_MAX distinct values (or memory is short): the caller sorts by
 * comparison instead. */
static int rank_order(size_t n, const double *tx, const double *T, const double *w, size_t m,
                      uint32_t *order)
{
    if (n > UINT32_MAX)
        return 0;
    size_t tab_bytes = ((size_t)1 << RANK_BITS) * sizeof(rank_slot);
    size_t vals_bytes = RANK_MAX * sizeof(rank_slot);
    unsigned char *blk = churn__malloc(tab_bytes + vals_bytes + (RANK_MAX + 1) * sizeof(uint32_t) +
                                       churn__mul_size(n, 2 * sizeof(uint16_t) + sizeof(uint32_t)));
    if (!blk)
        return 0; /* (the caller's own allocation reports a real shortage) */
    rank_slot *tab = (rank_slot *)(void *)blk;
    rank_slot *vals = (rank_slot *)(void *)(blk + tab_bytes);
    uint32_t *cnt = (uint32_t *)(void *)(blk + tab_bytes + vals_bytes);
    uint32_t *tmp = cnt + RANK_MAX + 1;
    uint16_t *rT = (uint16_t *)(void *)(tmp + n), *rt = rT + n;
    for (size_t h = 0; h < ((size_t)1 << RANK_BITS); h++)
        tab[h].v = -1.0; /* times are >= 0 */
    uint32_t nd = 0;
    int ok = 1;
    for (size_t i = 0; i < n && ok; i++) {
        if (w && w[i] == 0)
            continue;
        int a = rank_id(tab, vals, &nd, T[i]), b = a < 0 ? -1 : rank_id(tab, vals, &nd, tx[i]);
        ok = b >= 0;
        rT[i] = (uint16_t)a;
        rt[i] = (uint16_t)b;
    }
    if (ok) {
        /* ids -> ranks (cnt doubles as the map) */
        qsort(vals, nd, sizeof *vals, rank_value_cmp);
        for (uint32_t k = 0; k < nd; k++)
            cnt[vals[k].id] = k;
        for (size_t i = 0; i < n; i++)
            if (!w || w[i] != 0) {
                rT[i] = (uint16_t)cnt[rT[i]];
                rt[i] = (uint16_t)cnt[rt[i]];
            }
        /* stable counting sort by the rank of t_x, then of T */
        memset(cnt, 0, (RANK_MAX + 1) * sizeof *cnt);
        for (size_t i = 0; i < n; i++)
            if (!w || w[i] != 0)
                cnt[rt[i] + 1]++;
        for (uint32_t k = 1; k <= nd; k++)
            cnt[k] += cnt[k - 1];
        for (size_t i = 0; i < n; i++)
            if (!w || w[i] != 0)
                tmp[cnt[rt[i]]++] = (uint32_t)i;
        memset(cnt, 0, (RANK_MAX + 1) * sizeof *cnt);
        for (size_t i = 0; i < m; i++)
            cnt[rT[tmp[i]] + 1]++;
        for (uint32_t k = 1; k <= nd; k++)
            cnt[k] += cnt[k - 1];
        for (size_t i = 0; i < m; i++)
            order[cnt[rT[tmp[i]]]++] = tmp[i];
    }
    churn__free(blk);
    return ok;
}

void churn__btyd_data_free(churn__btyd_data *d)
{
    churn__free(d->block);
    memset(d, 0, sizeof *d);
}

/* Rows are already validated. Zero-weight rows are dropped. */
int churn__btyd_collapse(churn__btyd_data *d, size_t n, const double *x, const double *tx,
                         const double *T, const double *w)
{
    memset(d, 0, sizeof *d);
    /* Whole counts below 4 n + 1024 (the usual case): the counting sort by x
     * scatters the input columns straight into the rows, in the order
     * sort_rows gives, so one array of n rows is written instead of two (on
     * 100,000 rows 3.2 MB less to fault in, and a pass less); else, the rows
     * in input order and sort_rows. */
    double xmax = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!w || w[i] != 0) {
            xmax = x[i] > xmax ? x[i] : xmax;
            m++;
        }
    size_t *cnt = NULL;
    btyd_row *rows = NULL;
    if (m > 0 && xmax < 4.0 * (double)m + 1024) {
        size_t nb = (size_t)xmax + 2;
        cnt = churn__calloc(nb, sizeof *cnt);
        /* the rows, then room for the collapsed columns (4 u <= 4 m doubles)
         * in the same block, which becomes d->block: one block, 2 MiB pages
         * where the system gives them (first-touch faults of 4 KiB pages
         * cost ~10 us each on a virtual machine, ~15 ms on 100,000 rows) */
        rows = cnt ? churn__malloc(churn__mul_size(m, 2 * sizeof *rows)) : NULL;
        if (rows) {
            churn__advise_huge(rows, 2 * m * sizeof *rows);
            /* the rows in (T, t_x) order when the times have few distinct
             * values (in the second half of the rows' block, which the
             * collapsed columns overwrite only later) */
            uint32_t *order = (uint32_t *)(void *)(rows + m);
            int ranked = rank_order(n, tx, T, w, m, order);
            for (size_t i = 0; i < n; i++)
                if (!w || w[i] != 0)
                    cnt[(size_t)x[i] + 1]++;
            for (size_t b = 1; b < nb; b++)
                cnt[b] += cnt[b - 1];
            for (size_t k = 0, i; k < (ranked ? m : n); k++) {
                i = ranked ? order[k] : k;
                double wi = w ? w[i] : 1.0;
                if (wi == 0)
                    continue;
                btyd_row *r = &rows[cnt[(size_t)x[i]]++];
                r->x = x[i];
                r->tx = tx[i];
                r->T = T[i];
                r->w = wi;
            }
            /* cnt[b] is now the end of bucket b */
            size_t start = 0;
            for (size_t b = 0; b + 1 < nb && !ranked; b++) {
                if (cnt[b] > start + 1)
                    sort_ttx(rows + start, cnt[b] - start);
                start = cnt[b];
            }
        }
        churn__free(cnt);
    }
    btyd_row *all = rows;
    double *cols = rows ? (double *)(void *)(rows + m) : NULL; /* in the rows' block */
    if (!rows) {
        rows = churn__malloc(churn__mul_size(n ? n : 1, 2 * sizeof *rows));
        if (!rows)
            return churn__nomem("the BTYD fitting rows");
        all = rows;
        m = 0;
        for (size_t i = 0; i < n; i++) {
            double wi = w ? w[i] : 1.0;
            if (wi == 0)
                continue;
            rows[m].x = x[i];
            rows[m].tx = tx[i];
            rows[m].T = T[i];
            rows[m].w = wi;
            m++;
        }
        rows = sort_rows(rows, n ? rows + n : NULL, m);
    }
    size_t u = 0;
    for (size_t i = 0; i < m; i++) {
        if (u > 0 && row_cmp(&rows[u - 1], &rows[i]) == 0)
            rows[u - 1].w += rows[i].w;
        else
            rows[u++] = rows[i];
    }
    if (cols) {
        d->block = (double *)(void *)all; /* freed as one */
    } else {
        d->block = churn__malloc(churn__mul_size(4 * (u ? u : 1), sizeof(double)));
        if (!d->block) {
            churn__free(all);
            return churn__nomem("the collapsed BTYD rows");
        }
        cols = d->block;
    }
    d->n = u;
    d->x = cols;
    d->tx = d->x + u;
    d->T = d->tx + u;
    d->w = d->T + u;
    d->wsum = 0;
    for (size_t i = 0; i < u; i++) {
        d->x[i] = rows[i].x;
        d->tx[i] = rows[i].tx;
        d->T[i] = rows[i].T;
        d->w[i] = rows[i].w;
        d->wsum += rows[i].w;
    }
    if ((void *)d->block != (void *)all)
        churn__free(all);
    return CHURN_OK;
}

/* ---- the optimisation problem ----------------------------------------------- */

/* Why an optimisation stopped early: its budget ran out. */
enum { STOP_NONE, STOP_EVALUATIONS, STOP_SECONDS };

typedef struct problem {
    const churn__btyd_family *fam;
    churn__btyd_hess_fn hess; /* analytic Hessian, or NULL: finite differences */
    const churn__btyd_data *d;
    size_t k;
    double l2;
    int evals;
    /* The budget, checked before every evaluation while `track` is set (the
     * optimisation; the standard errors afterwards are a bounded 2k + 2). */
    int track;
    int max_evals;
    int evals0;               /* evaluations spent before this problem (a warm start's) */
    double deadline;          /* monotonic clock, seconds; 0 = none */
    int stop;                 /* STOP_*: the budget ran out */
    /* The best point evaluated while tracking, and the starting point whose
     * run evaluated it: a fit that does not converge returns it. */
    double best_f;
    double best_theta[MAXP];
    size_t cur_start, best_start;
    /* The last evaluation with the full analytic Hessian (of the mean
     * objective without penalty, and the log-likelihood): the standard errors
     * and the model's log-likelihood at the optimum reuse it instead of
     * evaluating the same point again. */
    int have_last;
    double last_theta[MAXP], last_H[MAXP * MAXP], last_ll;
    /* The last value-and-gradient evaluation without the analytic Hessian:
     * the line search evaluates a point whose Hessian is costly first
     * without it, and again with it once accepted (line_search), which then
     * reuses this instead of a second pass (the same function at the same
     * point). */
    int have_lg;
    double lg_theta[MAXP], lg_gl[MAXP], lg_ll;
} problem;

/* Seconds on the monotonic clock (wall time that NTP and date changes do
 * not move), for max_seconds. */
static double monotonic_seconds(void)
{
    struct timespec ts;
#if defined(CLOCK_MONOTONIC)
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0)
        return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#endif
    if (timespec_get(&ts, TIME_UTC) == TIME_UTC)
        return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
    return 0;
}

/* Whether the budget allows one more evaluation (sets pb->stop when not).
 * The first evaluation is always allowed, so that a fit stopped by its
 * budget has a point to return. */
static int budget_left(problem *pb)
{
    if (!pb->track || pb->evals == pb->evals0)
        return 1;
    if (pb->stop)
        return 0;
    if (pb->evals >= pb->max_evals)
        pb->stop = STOP_EVALUATIONS;
    else if (pb->deadline > 0 && monotonic_seconds() >= pb->deadline)
        pb->stop = STOP_SECONDS;
    return !pb->stop;
}

/* Objective in log-parameters theta:
 *   f(theta) = -(1/W) sum_i w_i log L_i(exp(theta)) + l2 * sum_j theta_j^2
 * (W = total weight), with gradient g and, when the family has an analytic
 * one and H != NULL, Hessian H. Returns +inf when the family cannot evaluate
 * at theta (the line search then backs off). */
static double objective_h(problem *pb, const double *theta, double *g, double *H, double l2)
{
    double p[MAXP], gl[MAXP], hl[MAXP * MAXP], ll = 0;
    size_t k = pb->k;
    if (!budget_left(pb))
        return INFINITY;
    pb->evals++;
    for (size_t j = 0; j < k; j++) {
        if (!(fabs(theta[j]) < 700))
            return INFINITY;
        p[j] = exp(theta[j]);
    }
    const churn__btyd_data *d = pb->d;
    int full_h = H && pb->hess && (!pb->fam->hess_cheap || pb->fam->hess_cheap(p));
    int fd_h = H && pb->hess && !full_h;
    int rc;
    if (fd_h && pb->have_lg && memcmp(pb->lg_theta, theta, k * sizeof *theta) == 0) {
        ll = pb->lg_ll; /* (not a pass: not counted) */
        memcpy(gl, pb->lg_gl, k * sizeof *gl);
        pb->evals--;
        rc = CHURN_OK;
    } else {
        rc = full_h ? pb->hess(p, d->n, d->x, d->tx, d->T, d->w, &ll, g || fd_h ? gl : NULL, hl)
                    : pb->fam->loglik(p, d->n, d->x, d->tx, d->T, d->w, &ll,
                                      g || fd_h ? gl : NULL);
    }
    pb->have_lg = 0;
    if (rc != CHURN_OK || !isfinite(ll))
        return INFINITY;
    if (!full_h && (g || fd_h)) {
        pb->have_lg = 1;
        memcpy(pb->lg_theta, theta, k * sizeof *theta);
        memcpy(pb->lg_gl, gl, k * sizeof *gl);
        pb->lg_ll = ll;
    }
    if (fd_h) {
        /* the analytic Hessian would be costly here: forward differences of
         * the gradient (k more evaluations, counted), in the same units */
        for (size_t j = 0; j < k; j++) {
            double pj[MAXP], gj[MAXP], llj, h = 1e-7 * fmax(1.0, fabs(theta[j]));
            memcpy(pj, p, k * sizeof *p);
            pj[j] = exp(theta[j] + h);
            pb->evals++;
            if (pb->fam->loglik(pj, d->n, d->x, d->tx, d->T, d->w, &llj, gj) != CHURN_OK)
                return INFINITY;
            for (size_t i = 0; i < k; i++)
                hl[i * k + j] = (gj[i] - gl[i]) / h;
        }
        for (size_t i = 0; i < k; i++)
            for (size_t j = 0; j < i; j++)
                hl[i * k + j] = hl[j * k + i] = 0.5 * (hl[i * k + j] + hl[j * k + i]);
    }
    double f = -ll / d->wsum;
    for (size_t j = 0; j < k; j++) {
        f += l2 * theta[j] * theta[j];
        if (g) {
            g[j] = -gl[j] / d->wsum + 2.0 * l2 * theta[j];
            if (!isfinite(g[j]))
                return INFINITY;
        }
    }
    if (H && pb->hess)
        for (size_t i = 0; i < k; i++)
            for (size_t j = 0; j < k; j++) {
                H[i * k + j] = -hl[i * k + j] / d->wsum + (i == j ? 2.0 * l2 : 0);
                if (!isfinite(H[i * k + j]))
                    return INFINITY;
            }
    if (full_h || fd_h) {
        pb->have_last = full_h;
        memcpy(pb->last_theta, theta, k * sizeof *theta);
        for (size_t j = 0; j < k * k; j++)
            pb->last_H[j] = -hl[j] / d->wsum;
        pb->last_ll = ll;
    } else {
        pb->have_last = 0;
    }
    if (pb->track && f < pb->best_f) {
        pb->best_f = f;
        memcpy(pb->best_theta, theta, k * sizeof *theta);
        pb->best_start = pb->cur_start;
    }
    return f;
}

static double objective(problem *pb, const double *theta, double *g, double l2)
{
    return objective_h(pb, theta, g, NULL, l2);
}

/* Hessian of the objective by differences of the analytic gradient:
 * forward differences while iterating (k extra evaluations), central ones
 * for the covariance at the optimum. Returns 0, or -1 when the gradient is not
 * finite near theta. */
static int fd_hessian(problem *pb, const double *theta, const double *g0, double *H, int central,
                      double l2)
{
    size_t k = pb->k;
    double th[MAXP], gp[MAXP], gm[MAXP];
    if (pb->hess)
        return isfinite(objective_h(pb, theta, gp, H, l2)) ? 0 : -1;
    for (size_t j = 0; j < k; j++) {
        double h = (central ? 1e-5 : 1e-7) * fmax(1.0, fabs(theta[j]));
        memcpy(th, theta, k * sizeof *th);
        th[j] = theta[j] + h;
        if (!isfinite(objective(pb, th, gp, l2)))
            return -1;
        if (central) {
            th[j] = theta[j] - h;
            if (!isfinite(objective(pb, th, gm, l2)))
                return -1;
            for (size_t i = 0; i < k; i++)
                H[i * k + j] = (gp[i] - gm[i]) / (2 * h);
        } else {
            for (size_t i = 0; i < k; i++)
                H[i * k + j] = (gp[i] - g0[i]) / h;
        }
    }
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < i; j++)
            H[i * k + j] = H[j * k + i] = 0.5 * (H[i * k + j] + H[j * k + i]);
    return 0;
}

enum { OPT_CONVERGED, OPT_MAXITER, OPT_STALLED, OPT_BOUNDARY, OPT_NUMERIC, OPT_BUDGET };

typedef struct opt_result {
    int status;
    int iterations;
    double f;
    double gnorm;
    size_t boundary_param;  /* for OPT_BOUNDARY */
} opt_result;

/* Log-parameters beyond this are treated as running off to 0 or infinity:
 * the likelihood does not identify that parameter from these data. */
#define THETA_LIMIT 25.0
#define THETA_CONVERGED_LIMIT 20.0
#define MAX_STEP 3.0
/* Line search: at most this many halvings of the step (2^-40 of a step of
 * at most MAX_STEP moves no log-parameter by more than 3e-12). Converged fits
 * of the test data never needed more than 2. */
#define LS_MAX_HALVINGS 40
/* An accepted step found after more halvings than this is no progress: the
 * local model is wrong (typically the objective is flat to its rounding
 * noise along a ridge and noise decides which trial point "decreases"). */
#define LS_PROGRESS_HALVINGS 10
/* Iterations in a row without progress (no real decrease of the objective
 * and no halving of the gradient) after which the optimiser stops. */
#define STALL_ITERATIONS 3
/* A parameter whose log moved further than this from its (data-scaled)
 * starting point, e^10 = 22026-fold, in a fit that did not converge is named
 * as running off. */
#define RUNOFF_DISTANCE 10.0

static double inf_norm(size_t k, const double *v)
{
    double m = 0;
    for (size_t j = 0; j < k; j++)
        m = fmax(m, fabs(v[j]));
    return m;
}

/* The damped Newton direction dvec at gradient g (inf-norm gnorm) and
 * Hessian H: Levenberg damping until H + mu I is positive definite, steepest
 * descent where that gives no descent direction, and the step capped at
 * MAX_STEP on the log scale. *slope receives g'dvec; returns 1 when the
 * direction is not the plain Newton one (damped, replaced or capped). */
static int newton_direction(size_t k, const double *H, const double *g, double gnorm,
                            double *dvec, double *slope_out)
{
    double L[MAXP * MAXP];
    /* Levenberg damping until H + mu I is positive definite. */
    double maxdiag = 0;
    for (size_t j = 0; j < k; j++)
        maxdiag = fmax(maxdiag, fabs(H[j * k + j]));
    double mu = 0;
    int damped = 0;
    for (int tries = 0; tries < 60; tries++) {
        memcpy(L, H, k * k * sizeof *L);
        for (size_t j = 0; j < k; j++)
            L[j * k + j] += mu;
        if (churn__chol(L, k, 0) == 0)
            break;
        mu = mu == 0 ? 1e-8 * fmax(1.0, maxdiag) : mu * 10;
        damped = 1;
    }
    for (size_t j = 0; j < k; j++)
        dvec[j] = -g[j];
    churn__chol_solve(L, dvec, k);
    double slope = 0;
    for (size_t j = 0; j < k; j++)
        slope += g[j] * dvec[j];
    if (!(slope < 0)) {
        /* not a descent direction (numerical trouble): steepest descent */
        for (size_t j = 0; j < k; j++)
            dvec[j] = -g[j];
        slope = -gnorm * gnorm;
        damped = 1;
    }
    double dn = inf_norm(k, dvec);
    if (dn > MAX_STEP) {
        for (size_t j = 0; j < k; j++)
            dvec[j] *= MAX_STEP / dn;
        slope *= MAX_STEP / dn;
        damped = 1;
    }
    *slope_out = slope;
    return damped;
}

/* Backtracking line search from theta along dvec (objective f, gradient
 * inf-norm gnorm, slope g'dvec): halve the step until the decrease is
 * sufficient. Fills the trial point thn, its objective *fn_out, gradient gn
 * and (analytic) Hessian Hn, and the step length *step_out; returns 1 when a
 * step was accepted. */
static int line_search(problem *pb, const double *theta, const double *dvec, double f,
                       double slope, double gnorm, double *thn, double *fn_out, double *gn,
                       double *Hn, double *step_out, int *halvings)
{
    size_t k = pb->k;
    double l2 = pb->l2;
    int analytic = pb->hess != NULL;
    double step = 1, fn = INFINITY;
    int accepted = 0, ls;
    for (ls = 0; ls <= LS_MAX_HALVINGS; ls++) {
        for (size_t j = 0; j < k; j++)
            thn[j] = theta[j] + step * dvec[j];
        /* where the family's Hessian is costly (hess_cheap false: k more
         * gradient passes), a trial point pays for it only once accepted */
        int defer = 0;
        if (analytic && pb->fam->hess_cheap) {
            double pn[MAXP];
            for (size_t j = 0; j < k; j++)
                pn[j] = exp(thn[j]);
            defer = !pb->fam->hess_cheap(pn);
        }
        fn = objective_h(pb, thn, gn, analytic && !defer ? Hn : NULL, l2);
        if (isfinite(fn)) {
            if (fn <= f + 1e-4 * step * slope) {
                accepted = 1;
            } else if (step == 1 && fabs(fn - f) <= 1e-13 * (1 + fabs(f)) &&
                       inf_norm(k, gn) < gnorm) {
                /* Close to the optimum f cannot resolve the decrease any
                 * more (it is a mean of many rounded terms): accept a full
                 * step that is a wash in f but shrinks the gradient. */
                accepted = 1;
            }
            /* (deferred: the same point again, with its Hessian; same f
             * and gn, reused, not evaluated again. Where the Hessian
             * fails, the trial fails as it would have.) */
            if (accepted && (!defer || isfinite(fn = objective_h(pb, thn, gn, Hn, l2))))
                break;
            accepted = 0;
        }
        if (pb->stop)
            break;
        step *= 0.5;
        /* The decrease the next trial must show is below what f resolves
         * (a few ulps): its outcome would be decided by rounding. */
        if (ls >= 3 && -1e-4 * step * slope <= 4 * DBL_EPSILON * (1 + fabs(f)))
            break;
    }
    *step_out = step;
    *fn_out = fn;
    *halvings = ls;
    return accepted;
}

/* The Hessian after the accepted step theta -> thn (gradients g -> gn): the
 * family's analytic one Hn, else a BFGS update of H with s = step, y = change
 * of gradient. Returns 1 when the difference Hessian must be recomputed
 * instead (a shortened or damped step, or an update that would not keep H
 * positive definite). */
static int update_hessian(size_t k, double *H, const double *Hn, const double *theta,
                          const double *thn, const double *g, const double *gn, int analytic,
                          double step, int damped)
{
    double s[MAXP], y[MAXP], Hs[MAXP], sy = 0, sHs = 0;
    for (size_t j = 0; j < k; j++) {
        s[j] = thn[j] - theta[j];
        y[j] = gn[j] - g[j];
        sy += s[j] * y[j];
    }
    for (size_t i = 0; i < k; i++) {
        Hs[i] = 0;
        for (size_t j = 0; j < k; j++)
            Hs[i] += H[i * k + j] * s[j];
        sHs += s[i] * Hs[i];
    }
    if (analytic) {
        memcpy(H, Hn, k * k * sizeof *H);
    } else if (step < 1 || damped || !(sy > 1e-12 * sHs) || !(sHs > 0)) {
        return 1;
    } else {
        for (size_t i = 0; i < k; i++)
            for (size_t j = 0; j < k; j++)
                H[i * k + j] += y[i] * y[j] / sy - Hs[i] * Hs[j] / sHs;
    }
    return 0;
}

/* Damped Newton: the Hessian is a finite difference of the analytic gradient,
 * kept up to date with BFGS updates while full steps are accepted and
 * recomputed when the line search has to back off. Levenberg damping keeps the
 * direction a descent direction where the Hessian is not positive definite.
 *
 * The run stops early (OPT_STALLED) after STALL_ITERATIONS iterations in a
 * row without progress: the objective did not fall by more than its rounding
 * (or only through a step that took more than LS_PROGRESS_HALVINGS halvings)
 * and the gradient did not halve. That is where a likelihood that keeps
 * creeping towards a boundary (two parameters running off together along a
 * ridge) becomes flat to rounding: without this rule the optimiser used to
 * spend its 500 iterations there, each with a 60-step line search. It stops
 * with OPT_BUDGET when the problem's budget runs out. */
static void newton(problem *pb, double *theta, int max_iter, double tol, opt_result *res)
{
    size_t k = pb->k;
    double g[MAXP], H[MAXP * MAXP], Hn[MAXP * MAXP], dvec[MAXP], thn[MAXP], gn[MAXP];
    double l2 = pb->l2;
    int analytic = pb->hess != NULL;
    memset(res, 0, sizeof *res);
    double f = objective_h(pb, theta, g, analytic ? H : NULL, l2);
    if (!isfinite(f)) {
        res->status = pb->stop ? OPT_BUDGET : OPT_NUMERIC;
        res->f = INFINITY;
        return;
    }
    int need_hessian = !analytic;
    int it, idle = 0;
    double f_ref = f, g_ref = inf_norm(k, g); /* at the last progress */
    for (it = 0; it < max_iter; it++) {
        res->gnorm = inf_norm(k, g);
        if (res->gnorm <= tol) {
            res->status = OPT_CONVERGED;
            break;
        }
        if (need_hessian) {
            if (fd_hessian(pb, theta, g, H, 0, l2) != 0) {
                res->status = pb->stop ? OPT_BUDGET : OPT_NUMERIC;
                break;
            }
            need_hessian = 0;
        }
        double slope;
        int damped = newton_direction(k, H, g, res->gnorm, dvec, &slope);
        double step, fn;
        int halvings;
        int accepted = line_search(pb, theta, dvec, f, slope, res->gnorm, thn, &fn, gn, Hn,
                                   &step, &halvings);
        if (pb->stop) {
            res->status = OPT_BUDGET;
            break;
        }
        if (!accepted) {
            if (!analytic && !damped && !need_hessian) {
                /* a stale (BFGS-updated) Hessian may be to blame: refresh it */
                need_hessian = 1;
                if (++idle >= STALL_ITERATIONS) {
                    res->status = OPT_STALLED;
                    break;
                }
                continue;
            }
            res->status = OPT_STALLED;
            break;
        }
        need_hessian = update_hessian(k, H, Hn, theta, thn, g, gn, analytic, step, damped);
        memcpy(theta, thn, k * sizeof *theta);
        memcpy(g, gn, k * sizeof *g);
        f = fn;
        double gn_norm = inf_norm(k, g);
        if ((halvings <= LS_PROGRESS_HALVINGS && f < f_ref - 1e-13 * (1 + fabs(f_ref))) ||
            gn_norm < 0.5 * g_ref) {
            idle = 0;
            f_ref = f;
            g_ref = gn_norm;
        } else if (++idle >= STALL_ITERATIONS) {
            it++;
            res->status = OPT_STALLED;
            break;
        }
        for (size_t j = 0; j < k; j++)
            if (fabs(theta[j]) > THETA_LIMIT) {
                res->status = OPT_BOUNDARY;
                res->boundary_param = j;
                res->iterations = it + 1;
                res->f = f;
                res->gnorm = inf_norm(k, g);
                return;
            }
    }
    if (it >= max_iter) {
        res->gnorm = inf_norm(k, g);
        res->status = res->gnorm <= tol ? OPT_CONVERGED : OPT_MAXITER;
    }
    res->iterations = it;
    res->f = f;
    /* A "converged" point with a parameter at e^+-20 is a likelihood that
     * keeps improving towards 0 or infinity so slowly that the gradient test
     * passed: report it as the boundary it is. */
    if (res->status == OPT_CONVERGED)
        for (size_t j = 0; j < k; j++)
            if (fabs(theta[j]) > THETA_CONVERGED_LIMIT) {
                res->status = OPT_BOUNDARY;
                res->boundary_param = j;
                break;
            }
}

/* Three starting points of a four-parameter family, on the log scale. */
static size_t log_starts(const double s[3][4], double starts[][MAXP])
{
    for (int k = 0; k < 3; k++)
        for (int j = 0; j < 4; j++)
            starts[k][j] = log(s[k][j]);
    return 3;
}

/* Starting points (log scale). Times are scaled by the data (mean T and mean
 * x) so the starts do not depend on the time unit. */
static size_t starting_points(int family, const churn__btyd_data *d, double starts[][MAXP])
{
    double mx = 0, mT = 0;
    for (size_t i = 0; i < d->n; i++) {
        mx += d->w[i] * d->x[i];
        mT += d->w[i] * d->T[i];
    }
    mx /= d->wsum;
    mT /= d->wsum;
    double rate = (mx + 0.1) / fmax(mT, 1e-12); /* purchases per time unit */
    switch (family) {
    case CHURN_FAMILY_BGNBD:
    case CHURN_FAMILY_MBGNBD:
    case CHURN_FAMILY_MBGCNBD: {
        const double s[3][4] = {{1, 1 / rate, 1, 1}, {0.3, 0.3 / rate, 0.8, 2.5}, {1, 1, 1, 1}};
        return log_starts(s, starts);
    }
    case CHURN_FAMILY_PNBD: {
        const double s[3][4] = {{1, 1 / rate, 1, mT}, {0.5, 0.5 / rate, 0.5, mT}, {1, 1, 1, 1}};
        return log_starts(s, starts);
    }
    case CHURN_FAMILY_BGBB: {
        const double s[3][4] = {{1, 1, 1, 1}, {0.5, 2, 0.5, 2}, {2, 0.5, 2, 0.5}};
        return log_starts(s, starts);
    }
    case CHURN_FAMILY_GGOMNBD: {
        /* For small b the Gompertz lifetime is Pareto/NBD-like with beta / b
         * in the role of the Pareto/NBD beta: start there (b ~ 1/mean T). */
        const double s[3][5] = {{1, 1 / rate, 1 / mT, 1, 1},
                                {0.5, 0.5 / rate, 0.1 / mT, 0.5, 0.1},
                                {1, 1 / rate, 0.01 / mT, 1, 0.01}};
        for (int k = 0; k < 3; k++)
            for (int j = 0; j < 5; j++)
                starts[k][j] = log(s[k][j]);
        return 3;
    }
    default: { /* sBG */
        starts[0][0] = 0;
        starts[0][1] = 0;
        starts[1][0] = log(0.5);
        starts[1][1] = log(3.0);
        return 2;
    }
    }
}

/* Newton from each starting point in turn, stopping at the first start that
 * converges or when the budget runs out. best receives the converged
 * log-parameters, or else the best point evaluated by any run (the lowest
 * objective), bres that run's result with f the best objective (status
 * OPT_BUDGET when the budget ran out), start the starting point of that run,
 * total_iter the iterations of all starts. Returns 0, or -1 when the
 * objective is not finite anywhere the optimiser looked. */
static int best_of_starts(problem *pb, const churn_btyd_options *o, const double *warm,
                          double *best, double *start, opt_result *bres, int *total_iter)
{
    size_t k = pb->k;
    double starts[5][MAXP], theta[MAXP];
    size_t ns = starting_points(pb->fam->family, pb->d, warm ? starts + 1 : starts);
    if (warm) {
        memcpy(starts[0], warm, k * sizeof *warm);
        ns++;
    }
    opt_result res[5];
    int converged = 0;
    *total_iter = 0;
    memset(bres, 0, sizeof *bres);
    memset(res, 0, sizeof res);
    pb->track = 1;
    pb->best_f = INFINITY;
    pb->best_start = 0;
    for (size_t s = 0; s < ns && !pb->stop; s++) {
        pb->cur_start = s;
        memcpy(theta, starts[s], k * sizeof *theta);
        newton(pb, theta, o->max_iter, o->tol, &res[s]);
        *total_iter += res[s].iterations;
        if (res[s].status == OPT_CONVERGED) {
            *bres = res[s];
            memcpy(best, theta, k * sizeof *best);
            memcpy(start, starts[s], k * sizeof *start);
            converged = 1;
            break;
        }
    }
    pb->track = 0;
    if (converged)
        return 0;
    if (!isfinite(pb->best_f))
        return -1;
    *bres = res[pb->best_start];
    bres->f = pb->best_f;
    if (pb->stop)
        bres->status = OPT_BUDGET;
    memcpy(best, pb->best_theta, k * sizeof *best);
    memcpy(start, starts[pb->best_start], k * sizeof *start);
    return 0;
}

/* Standard errors of the converged, unpenalised fit m at the log-parameters
 * best (natural-scale p). Where they cannot be had, a note says why (cap
 * bytes); a Hessian that is not positive definite also marks the fit not
 * converged and names in *flat the parameter the data do not identify. */
static int std_errors(problem *pb, churn_model *m, const double *best, const double *p,
                      char *note, size_t cap, int *flat)
{
    size_t k = pb->k;
    const churn__btyd_family *fam = pb->fam;
    int rc = CHURN_OK;
    /* Observed information of the total log-likelihood in theta = log p is
     * W * H (H = Hessian of the mean); delta method to the natural scale:
     * Cov(p_i, p_j) = p_i p_j Cov(theta_i, theta_j). */
    double g0[MAXP], H[MAXP * MAXP], cov[MAXP * MAXP], e[MAXP];
    int ok;
    if (pb->have_last && memcmp(pb->last_theta, best, k * sizeof *best) == 0) {
        /* the optimiser's last evaluation was at the optimum, with the
         * analytic Hessian of all rows */
        memcpy(H, pb->last_H, k * k * sizeof *H);
        ok = 1;
    } else {
        /* where the family's Hessian would difference the gradient anyway,
         * central differences of the gradient, as without it */
        if (pb->hess && pb->fam->hess_cheap && !pb->fam->hess_cheap(p))
            pb->hess = NULL;
        if (!pb->hess) /* (the analytic Hessian comes with its own gradient) */
            objective(pb, best, g0, 0);
        ok = fd_hessian(pb, best, g0, H, 1, 0) == 0;
    }
    if (ok) {
        for (size_t j = 0; j < k * k; j++)
            H[j] *= pb->d->wsum;
        if (churn__chol(H, k, 0) == 0) {
            for (size_t j = 0; j < k; j++) {
                memset(e, 0, sizeof e);
                e[j] = 1;
                churn__chol_solve(H, e, k);
                for (size_t i = 0; i < k; i++)
                    cov[i * k + j] = e[i] * p[i] * p[j];
            }
            rc = churn__model_set_cov(m, cov);
        } else {
            /* Not a proper maximum: name the flattest direction's parameter. */
            double Hc[MAXP * MAXP];
            objective(pb, best, g0, 0);
            fd_hessian(pb, best, g0, Hc, 1, 0);
            *flat = 0;
            for (size_t j = 1; j < k; j++)
                if (Hc[j * k + j] < Hc[*flat * k + *flat])
                    *flat = (int)j;
            m->converged = 0;
            snprintf(note, cap, "the Hessian is not positive definite at the "
                     "optimum: parameter '%s' is not identified", fam->names[*flat]);
        }
    } else {
        snprintf(note, cap, "the Hessian could not be evaluated at the optimum: "
                 "standard errors are not available");
    }
    return rc;
}

/* The parameters that moved more than RUNOFF_DISTANCE on the log scale from
 * the starting point of the run that found the best point, the furthest
 * first, as "; parameter 'b' (1.4e+09) appears to run off to infinity
 * together with 'a' (3.3e+08): ...". Empty when none did. With `only_with`
 * = j < k, just " together with ..." for the parameters other than j. */
static void runoff_clause(const churn__btyd_family *fam, const churn_model *m, const double *best,
                          const double *start, size_t only_with, char *buf, size_t cap)
{
    size_t k = fam->nparams, jm = only_with;
    buf[0] = '\0';
    int len = 0, first = 1;
    if (only_with >= k) {
        for (size_t j = 0; j < k; j++)
            if (fabs(best[j] - start[j]) > RUNOFF_DISTANCE &&
                (jm >= k || fabs(best[j] - start[j]) > fabs(best[jm] - start[jm])))
                jm = j;
        if (jm >= k)
            return;
        len = snprintf(buf, cap, "; parameter '%s' (%g) appears to run off to %s",
                       fam->names[jm], m->params[jm], best[jm] > start[jm] ? "infinity" : "zero");
    }
    for (size_t j = 0; j < k && len >= 0 && (size_t)len < cap; j++)
        if (j != jm && fabs(best[j] - start[j]) > RUNOFF_DISTANCE) {
            len += snprintf(buf + len, cap - (size_t)len, "%s'%s' (%g)",
                            first ? " together with " : ", ", fam->names[j], m->params[j]);
            first = 0;
        }
    if (only_with < k)
        return;
    if (len > 0 && (size_t)len < cap)
        snprintf(buf + len, cap - (size_t)len, ": the data do not identify %s; a small "
                 "l2_penalty gives a finite estimate", first ? "it" : "them");
}

/* The error of a fit that did not converge: which parameter the data do not
 * identify, how the optimiser stopped, or which cap of the budget ended it. */
static int fit_failure(const churn__btyd_family *fam, const churn_model *m, const double *best,
                       const double *start, const opt_result *bres, int flat,
                       const problem *pb, const churn_btyd_options *o, double seconds,
                       const char *fn)
{
    const char *name = churn_family_name(fam->family);
    char runoff[320];
    if (flat >= 0)
        return churn__error(CHURN_ENOCONV, "%s: %s: the log-likelihood is flat in parameter '%s' "
                            "at the optimum (Hessian not positive definite): the data do not "
                            "identify it; a small l2_penalty gives a finite estimate", fn,
                            name, fam->names[flat]);
    if (bres->status == OPT_BOUNDARY) {
        size_t j = bres->boundary_param;
        runoff_clause(fam, m, best, start, j, runoff, sizeof runoff);
        return churn__error(CHURN_ENOCONV, "%s: %s: parameter '%s' runs off to %s (%g)%s: the "
                            "data do not identify %s; a small l2_penalty gives a finite estimate",
                            fn, name, fam->names[j], best[j] > 0 ? "infinity" : "zero",
                            m->params[j], runoff, runoff[0] ? "them" : "it");
    }
    runoff_clause(fam, m, best, start, fam->nparams, runoff, sizeof runoff);
    switch (bres->status) {
    case OPT_BUDGET:
        if (pb->stop == STOP_SECONDS)
            return churn__error(CHURN_ENOCONV, "%s: %s: stopped by the time limit max_seconds "
                                "= %g after %.3g s and %d likelihood evaluations, without "
                                "convergence (gradient norm %g, tol %g); the model holds the "
                                "best point found%s", fn, name, o->max_seconds, seconds,
                                pb->evals, bres->gnorm, o->tol, runoff);
        return churn__error(CHURN_ENOCONV, "%s: %s: stopped by the cap max_evaluations = %d "
                            "likelihood evaluations, without convergence (gradient norm %g, "
                            "tol %g); the model holds the best point found%s", fn, name,
                            o->max_evaluations, bres->gnorm, o->tol, runoff);
    case OPT_MAXITER:
        return churn__error(CHURN_ENOCONV, "%s: %s: no convergence in %d iterations (gradient "
                            "norm %g > tol %g)%s", fn, name, o->max_iter, bres->gnorm, o->tol,
                            runoff);
    default:
        return churn__error(CHURN_ENOCONV, "%s: %s: the optimiser stalled after %d likelihood "
                            "evaluations with gradient norm %g (tol %g): the objective no longer "
                            "decreases beyond its rounding%s", fn, name, pb->evals, bres->gnorm,
                            o->tol, runoff);
    }
}

/* Every m-th of the n distinct rows, m = n / rows (they are sorted by x, so
 * every purchase count keeps its share), weights scaled so that the total is
 * that of all rows: the rows whose Hessian steers the Newton steps of a large
 * fit (problem.sub). */
static int subsample(churn__btyd_data *sub, const churn__btyd_data *d, size_t rows)
{
    size_t step = d->n / rows, u = (d->n + step - 1) / step;
    memset(sub, 0, sizeof *sub);
    sub->block = churn__malloc(churn__mul_size(4 * u, sizeof(double)));
    if (!sub->block)
        return churn__nomem("the BTYD Hessian subsample");
    sub->x = sub->block;
    sub->tx = sub->x + u;
    sub->T = sub->tx + u;
    sub->w = sub->T + u;
    double ws = 0;
    for (size_t i = 0, j = 0; i < d->n; i += step, j++) {
        sub->x[j] = d->x[i];
        sub->tx[j] = d->tx[i];
        sub->T[j] = d->T[i];
        sub->w[j] = d->w[i];
        ws += d->w[i];
    }
    sub->n = u;
    double scale = d->wsum / ws;
    for (size_t j = 0; j < u; j++)
        sub->w[j] *= scale;
    sub->wsum = d->wsum;
    return CHURN_OK;
}

/* The generic fit on validated, collapsed data: the best of the starting
 * points, the model at its optimum, standard errors, and the error of a fit
 * that did not converge (the model is returned all the same). */
int churn__btyd_fit_collapsed(churn_model **out, const churn__btyd_family *fam,
                              const churn__btyd_data *d, double nobs, const churn_btyd_options *o,
                              const char *fn)
{
    size_t k = fam->nparams;
    int rc;
    problem pb;
    memset(&pb, 0, sizeof pb);
    pb.fam = fam;
    pb.hess = fam->loglik_hess;
    /* a family with warm_start_rows has its analytic Hessian for data that
     * large only (below, differences of the gradient cost no more) */
    if (!pb.hess && fam->large_hess && fam->warm_start_rows > 0 &&
        d->n >= 4 * fam->warm_start_rows)
        pb.hess = fam->large_hess;
    pb.d = d;
    pb.k = k;
    pb.l2 = o->l2_penalty;
    pb.max_evals = o->max_evaluations;
    double t0 = o->max_seconds > 0 ? monotonic_seconds() : 0;
    if (o->max_seconds > 0)
        pb.deadline = t0 + o->max_seconds;
    double best[MAXP], start[MAXP];
    opt_result bres;
    int total_iter = 0;
    /* A large fit of a family whose evaluations are costly starts from the
     * optimum of a systematic subsample (family.warm_start_rows): Newton then
     * needs fewer passes over all rows. The gradient of all rows decides
     * convergence, so the optimum is the same. */
    double warm[MAXP];
    int have_warm = 0;
    if (pb.hess && fam->warm_start_rows > 0 && d->n >= 4 * fam->warm_start_rows) {
        churn__btyd_data sub;
        rc = subsample(&sub, d, d->n / 8 > fam->warm_start_rows ? d->n / 8 : fam->warm_start_rows);
        if (rc)
            return rc;
        problem ps = pb;
        ps.d = &sub;
        /* its own cap: on a ridge (a fit that runs off) the subsample does
         * not converge, and the full fit then goes the way it would without
         * loglik_hess */
        ps.max_evals = pb.max_evals < 60 ? pb.max_evals : 60;
        double wstart[MAXP];
        opt_result wres;
        int witer = 0;
        churn_btyd_options wo = *o;
        wo.tol = 1e-6;
        if (best_of_starts(&ps, &wo, NULL, warm, wstart, &wres, &witer) == 0 &&
            wres.status == OPT_CONVERGED)
            have_warm = 1;
        else
            pb.hess = fam->loglik_hess; /* NULL for Pareto/NBD: differences */
        /* the subsample's passes count against the budget; the full fit
         * still gets its first evaluation */
        pb.evals = pb.evals0 = ps.evals;
        churn__btyd_data_free(&sub);
    }
    pb.have_last = 0;
    rc = best_of_starts(&pb, o, have_warm ? warm : NULL, best, start, &bres, &total_iter);
    if (rc != 0) {
        if (pb.stop)
            return churn__error(CHURN_ENUMERIC, "%s: %s: the log-likelihood was not finite at "
                                "the %d points evaluated before the budget ran out "
                                "(max_evaluations %d, max_seconds %g)", fn,
                                churn_family_name(fam->family), pb.evals, o->max_evaluations,
                                o->max_seconds);
        return churn__error(CHURN_ENUMERIC, "%s: %s: the log-likelihood is not finite at any "
                            "starting point", fn, churn_family_name(fam->family));
    }
    double seconds = o->max_seconds > 0 ? monotonic_seconds() - t0 : 0;

    churn_model *m = NULL;
    rc = churn__model_new(&m, fam->family, k, fam->names);
    if (rc)
        return rc;
    double p[MAXP], ll = 0;
    for (size_t j = 0; j < k; j++)
        p[j] = m->params[j] = exp(best[j]);
    if (pb.have_last && memcmp(pb.last_theta, best, k * sizeof *best) == 0)
        ll = pb.last_ll; /* the optimiser's last evaluation was at the optimum */
    else
        fam->loglik(p, d->n, d->x, d->tx, d->T, d->w, &ll, NULL);
    m->loglik = ll;
    m->nobs = nobs;
    m->converged = bres.status == OPT_CONVERGED;
    m->iterations = total_iter;
    m->time_unit = 0;

    char note[256] = "";
    int flat = -1; /* a parameter the data do not identify (singular Hessian) */
    if (m->converged && !o->no_std_errors && o->l2_penalty == 0) {
        rc = std_errors(&pb, m, best, p, note, sizeof note, &flat);
    } else if (m->converged && o->l2_penalty > 0) {
        churn__snprintf_c(note, sizeof note, "penalised fit (l2_penalty %g on the log-parameters): "
                 "standard errors are not reported", o->l2_penalty);
    }
    if (!rc && note[0])
        rc = churn__model_set_note(m, note);
    if (rc) {
        churn_model_free(m);
        return rc;
    }
    *out = m;
    if (m->converged)
        return CHURN_OK;
    return fit_failure(fam, m, best, start, &bres, flat, &pb, o, seconds, fn);
}

/* churn_btyd_options grew in 1.2 (max_seconds, max_evaluations). A program
 * built against the 1.0 headers has the shorter struct, so its
 * churn_btyd_options_init must not write the new tail: it binds to the
 * CHURN_1.0 version below, which fills the 1.0 prefix and sets struct_size to
 * the 1.0 size (the option copy then gives the new fields their defaults).
 * Programs built since bind to the default CHURN_1.2 version. A static
 * archive has only the default (docs/abi.md, "Growing a struct that has an
 * _init() function"; the same pattern as lib/data/customers_setup.c). */
#define BTYD_OPTIONS_SIZE_1_0 offsetof(churn_btyd_options, max_seconds)

CHURN_API_EXPORT void churn__btyd_options_init_1_2(churn_btyd_options *opts);
CHURN_API_EXPORT void churn__btyd_options_init_1_2(churn_btyd_options *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->struct_size = sizeof *opts;
    opts->max_iter = 500;
    opts->tol = 1e-10;
    opts->max_seconds = 0;
    opts->max_evaluations = CHURN_BTYD_DEFAULT_MAX_EVALUATIONS;
}

#if defined(CHURN_SYMBOL_VERSIONS)
CHURN_API_EXPORT void churn__btyd_options_init_1_0(churn_btyd_options *opts);
CHURN_API_EXPORT void churn__btyd_options_init_1_0(churn_btyd_options *opts)
{
    if (opts) {
        churn_btyd_options d;
        churn__btyd_options_init_1_2(&d);
        d.struct_size = BTYD_OPTIONS_SIZE_1_0;
        memcpy(opts, &d, BTYD_OPTIONS_SIZE_1_0);
    }
}
__asm__(".symver churn__btyd_options_init_1_0, churn_btyd_options_init@CHURN_1.0");
__asm__(".symver churn__btyd_options_init_1_2, churn_btyd_options_init@@CHURN_1.2");
#else
void churn_btyd_options_init(churn_btyd_options *opts)
{
    churn__btyd_options_init_1_2(opts);
}
#endif

int churn__btyd_options(churn_btyd_options *o, const churn_btyd_options *user, const char *fn)
{
    churn__btyd_options_init_1_2(o);
    int rc = churn__opts_copy(o, sizeof *o, user, "churn_btyd_options");
    if (rc)
        return rc;
    if (o->max_iter == 0)
        o->max_iter = 500;
    if (o->tol == 0)
        o->tol = 1e-10;
    if (o->max_evaluations == 0)
        o->max_evaluations = CHURN_BTYD_DEFAULT_MAX_EVALUATIONS;
    if (o->max_iter < 0)
        return churn__error(CHURN_EINVAL, "%s: option max_iter %d must be > 0", fn, o->max_iter);
    if (!isfinite(o->tol) || o->tol < 0)
        return churn__error(CHURN_EINVAL, "%s: option tol %g must be a finite number > 0", fn,
                            o->tol);
    if (!isfinite(o->l2_penalty) || o->l2_penalty < 0)
        return churn__error(CHURN_EINVAL, "%s: option l2_penalty %g must be a finite number >= 0",
                            fn, o->l2_penalty);
    if (o->max_evaluations < 0)
        return churn__error(CHURN_EINVAL, "%s: option max_evaluations %d must be > 0 (0 = the "
                            "default %d)", fn, o->max_evaluations,
                            CHURN_BTYD_DEFAULT_MAX_EVALUATIONS);
    if (!isfinite(o->max_seconds) || o->max_seconds < 0)
        return churn__error(CHURN_EINVAL, "%s: option max_seconds %g must be a finite number "
                            ">= 0 (0 = no time limit)", fn, o->max_seconds);
    return CHURN_OK;
}
