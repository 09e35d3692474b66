/*
 * Cox proportional-hazards regression (Cox 1972) with Efron (1977) or
 * Breslow (1974) tie handling, case weights and an optional ridge penalty,
 * fitted by Newton-Raphson with step halving exactly as R survival's coxph
 * (coxfit6: start at b = 0, stop when |1 - loglik_old / loglik_new| <= eps).
 *
 * Cost per iteration: O(n p) for the risk-set sums plus one weighted Gram
 * matrix X' diag(q) X (BLAS dsyrk), after a single sort by duration. The
 * usual formulation accumulates S2(t) = sum_{risk set} w r x x' row by row
 * (O(n p^2) scalar work); here the order of summation is exchanged:
 *
 *   I(b) = sum_t dA(t) [S2(t)/S0(t) - xbar xbar']   (Efron: averaged over the
 *          d tied deaths with denominators S0 - (k/d) D0, k = 0..d-1)
 *        = sum_i w_i r_i c_i x_i x_i'  -  sum_t (rank-2 terms in S1(t), D1(t))
 *
 * where c_i = sum over event times t <= T_i of the hazard increment seen by
 * customer i (Efron: its own tied deaths get (1 - k/d) weights). The same
 * c_i give the score U = sum_deaths w x - sum_i w_i r_i c_i x_i. See Therneau
 * & Grambsch (2000) sec. 3.3 for the Efron formulas.
 *
 * This file owns the fit (churn_cox_fit) and the Efron/Breslow tie terms
 * that cox_zph.c shares; cox_predict.c reads the fitted model.
 *
 * Calls: concordance.c (of the linear predictor), surv_common.c (input
 * checks, feature names, row order, SPD inverse) and core/ (Cholesky factor
 * and solve, huge-page hint).
 */
#include "survival/survival_internal.h"

#include <cblas.h>
#include <stdio.h>

CHURN_API void churn_cox_options_init(churn_cox_options *opts)
{
    if (opts) {
        churn_cox_options d = CHURN_COX_OPTIONS_INIT;
        *opts = d;
    }
}

#define COX_CHUNK 2048 /* rows per dsyrk call */

/* Risk-set sums per distinct time are gathered in one of two ways:
 *  - "table" mode (few distinct times, e.g. integer days): one sequential pass
 *    over the rows adds w r x into a small per-block table;
 *  - "sorted" mode (mostly distinct times): the rows are copied once in
 *    decreasing-time order and summed sequentially.
 * Either way every pass over the n x p features is sequential. */
#define COX_TABLE_MAX 262144 /* blocks * p up to this: table mode (2 x 2 MiB) */

typedef struct cox_data {
    size_t n, p, nb;       /* rows, features, distinct-time blocks */
    const double *x;       /* n*p features, row-major (caller's, or the sorted copy) */
    const double *mean;    /* p weighted means: every formula uses x - mean */
    const double *w;       /* weights or NULL (1) */
    const double *ev;      /* events */
    uint32_t *blk;         /* block of each row (block 0 = latest time) */
    uint32_t *ord;         /* rows of the caller's data by increasing duration */
    double *btime;         /* nb block times */
    size_t *bdeaths;       /* nb numbers of deaths (rows) */
    int sorted;            /* rows are in block order (sorted mode) */
    size_t *bstart;        /* sorted mode: nb + 1 block boundaries */
    double *own;           /* sorted mode: the copies (x, w, ev) we own */
    int ties;
    const double *pen;     /* p penalty weights theta * s_j, or NULL */
} cox_data;

typedef struct cox_work {
    double *eta, *wr, *hb, *gb; /* n, n, nb, nb */
    double *S1, *D1, *xc, *chunk; /* p, p, p, COX_CHUNK * p */
    double *T0, *TD0, *Tdw, *T1, *TD1; /* table mode: nb, nb, nb, nb*p, nb*p */
    /* optional per-event-block outputs at the final b (baseline hazard) */
    double *bl_h, *bl_var, *bl_xbar, *bl_t;
    size_t bl_n;
} cox_work;

/* Flush `m` rows of the chunk into A (p x p, upper triangle). */
static void flush_chunk(double *A, const double *chunk, size_t m, size_t p)
{
    if (m)
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)p, (int)m, 1.0, chunk, (int)p,
                    1.0, A, (int)p);
}

/* Table mode: the per-block sums of the rows in one sequential pass, from the
 * weighted risks wk->wr: T0 = sum wr, T1 = sum wr x and, over the deaths,
 * TD0, TD1 and the death weights Tdw. */
static void table_sums(const cox_data *d, cox_work *wk)
{
    size_t n = d->n, p = d->p;
    const double *x = d->x, *wr = wk->wr;
    memset(wk->T0, 0, d->nb * sizeof(double));
    memset(wk->TD0, 0, d->nb * sizeof(double));
    memset(wk->Tdw, 0, d->nb * sizeof(double));
    memset(wk->T1, 0, d->nb * p * sizeof(double));
    memset(wk->TD1, 0, d->nb * p * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        const double *xi = x + i * p;
        size_t bk = d->blk[i];
        double r = wr[i], *t1 = wk->T1 + bk * p;
        wk->T0[bk] += r;
        for (size_t j = 0; j < p; j++)
            t1[j] += r * xi[j];
        if (d->ev[i] != 0) {
            double *td1 = wk->TD1 + bk * p;
            wk->TD0[bk] += r;
            wk->Tdw[bk] += d->w ? d->w[i] : 1.0;
            for (size_t j = 0; j < p; j++)
                td1[j] += r * xi[j];
        }
    }
}

/* Block bk of the backward pass: adds its rows to the risk-set sums *S0 and
 * wk->S1, and gives its deaths' sums *D0 and wk->D1 and their weight *dw;
 * from the rows themselves (sorted mode) or from the table (table mode). */
static void block_sums(const cox_data *d, cox_work *wk, size_t bk, double *S0, double *D0,
                       double *dw)
{
    size_t p = d->p;
    const double *x = d->x, *wr = wk->wr;
    double *S1 = wk->S1, *D1 = wk->D1;
    if (d->sorted) {
        double s0 = *S0, d0 = 0, dws = 0;
        memset(D1, 0, p * sizeof(double));
        for (size_t i = d->bstart[bk]; i < d->bstart[bk + 1]; i++) {
            const double *xi = x + i * p;
            double r = wr[i];
            s0 += r;
            for (size_t j = 0; j < p; j++)
                S1[j] += r * xi[j];
            if (d->ev[i] != 0) {
                d0 += r;
                dws += d->w ? d->w[i] : 1.0;
                for (size_t j = 0; j < p; j++)
                    D1[j] += r * xi[j];
            }
        }
        *S0 = s0;
        *D0 = d0;
        *dw = dws;
    } else {
        const double *t1 = wk->T1 + bk * p;
        *S0 += wk->T0[bk];
        for (size_t j = 0; j < p; j++)
            S1[j] += t1[j];
        *D0 = wk->TD0[bk];
        *dw = wk->Tdw[bk];
        memcpy(D1, wk->TD1 + bk * p, p * sizeof(double));
    }
}

void churn__cox_tie_sums(int breslow, size_t dn, double dw, double S0, double D0, double *t)
{
    double h = 0, ge = 0, al = 0, be = 0, ga = 0;
    if (breslow || dn == 1) {
        h = dw / S0;
        al = dw / (S0 * S0);
    } else {
        double mw = dw / (double)dn;
        for (size_t k = 0; k < dn; k++) {
            double f = (double)k / (double)dn, den = S0 - f * D0;
            h += mw / den;
            ge += mw * f / den;
            al += mw / (den * den);
            be += mw * f / (den * den);
            ga += mw * f * f / (den * den);
        }
    }
    t[0] = h;
    t[1] = ge;
    t[2] = al;
    t[3] = be;
    t[4] = ga;
}

/* Linear predictors eta = x'b - mean'b and weighted risks wr = w exp(eta) into
 * wk; *ll receives sum w eta over the deaths. Returns -1 when a risk is not
 * finite. */
static int eval_risks(const cox_data *d, const double *b, cox_work *wk, double *ll)
{
    size_t n = d->n, p = d->p;
    const double *x = d->x, *mean = d->mean;
    double *eta = wk->eta, *wr = wk->wr;
    double shift = 0;
    for (size_t j = 0; j < p; j++)
        shift += mean[j] * b[j];
    double sum = 0;
    /* linear predictor: plain loops so that identical rows give identical eta */
    for (size_t i = 0; i < n; i++) {
        const double *xi = x + i * p;
        double e = 0;
        for (size_t j = 0; j < p; j++)
            e += xi[j] * b[j];
        e -= shift;
        eta[i] = e;
        double wi = d->w ? d->w[i] : 1.0;
        wr[i] = wi * exp(e);
        if (!isfinite(wr[i]))
            return -1;
        if (d->ev[i] != 0)
            sum += wi * e;
    }
    *ll = sum;
    return 0;
}

/* Terms of one event time with dn tied deaths of weight dw: the hazard
 * increment t[0] = h, the Efron part t[1] = g of the tied deaths' own
 * increments, and t[2..4] = al, be, ga of the information; the log of each
 * denominator is taken off *ll. The sums of churn__cox_tie_sums(), but
 * through i1 = 1/den (mw * i1 rounds differently from mw / den): the fit's
 * numbers stay as they were, so the two are not one function. */
static void eval_ties(int ties, size_t dn, double dw, double S0, double D0, double *ll,
                      double *t)
{
    double l = *ll, h = 0, g = 0, al = 0, be = 0, ga = 0;
    if (ties == CHURN_TIES_BRESLOW || dn == 1) {
        /* Breslow: every tied death sees the full risk set S0. */
        l -= dw * log(S0);
        h = dw / S0;
        al = dw / (S0 * S0);
    } else {
        /* Efron: the k-th of the dn tied deaths sees S0 - (k/dn) D0, with the
         * average death weight (Efron 1977; R's coxfit6). */
        double mw = dw / (double)dn;
        for (size_t k = 0; k < dn; k++) {
            double f = (double)k / (double)dn;
            double den = S0 - f * D0;
            double i1 = 1 / den, i2 = i1 * i1;
            l -= mw * log(den);
            h += mw * i1;
            g += mw * f * i1;
            al += mw * i2;
            be += mw * f * i2;
            ga += mw * f * f * i2;
        }
    }
    *ll = l;
    t[0] = h;
    t[1] = g;
    t[2] = al;
    t[3] = be;
    t[4] = ga;
}

/* The information terms of one event time, added to the chunk (flushed into
 * A when full); returns the chunk's new row count. sum_k mw a_k a_k' with
 * a_k = (S1 - f D1)/den_k (centred sums) is the quadratic form
 * [S1 D1] [[al, -be], [-be, ga]] [S1 D1]': two rank-1 rows for dsyrk. */
static size_t eval_gram_rows(const cox_data *d, cox_work *wk, double *A, size_t nchunk,
                             double S0, double D0, const double *t)
{
    size_t p = d->p;
    const double *mean = d->mean, *S1 = wk->S1, *D1 = wk->D1;
    double *xc = wk->xc;
    double al = t[2], be = t[3], ga = t[4];
    double *row = wk->chunk + nchunk * p;
    double sa = sqrt(al);
    for (size_t j = 0; j < p; j++) {
        double s1 = S1[j] - mean[j] * S0, d1 = D1[j] - mean[j] * D0;
        row[j] = sa * s1 - (be / sa) * d1;
        xc[j] = d1;
    }
    nchunk++;
    double rest = ga - be * be / al;
    if (rest > 0) {
        double sr = sqrt(rest);
        row += p;
        for (size_t j = 0; j < p; j++)
            row[j] = sr * xc[j];
        nchunk++;
    }
    if (nchunk + 2 > COX_CHUNK) {
        flush_chunk(A, wk->chunk, nchunk, p);
        nchunk = 0;
    }
    return nchunk;
}

/* survfit.coxph (agsurv, Efron type 3 / Breslow type 1): the hazard
 * increment h, variance increment al, and the xbar increment
 * sum_k mw a_k / den_k = al S1 - be D1 (centred) of block bk, as the
 * baseline row k (latest first). */
static void eval_store(const cox_data *d, cox_work *wk, size_t k, size_t bk, double S0,
                       double D0, const double *t)
{
    size_t p = d->p;
    const double *mean = d->mean, *S1 = wk->S1, *D1 = wk->D1;
    double al = t[2], be = t[3];
    wk->bl_t[k] = d->btime[bk];
    wk->bl_h[k] = t[0];
    wk->bl_var[k] = al;
    if (wk->bl_xbar)
        for (size_t j = 0; j < p; j++)
            wk->bl_xbar[k * p + j] = al * (S1[j] - mean[j] * S0) - be * (D1[j] - mean[j] * D0);
}

/* Backward pass over the blocks, latest time first: the risk-set sums, the
 * hazard parts hb, gb of every block, the log-likelihood denominators (off
 * *ll) and the rank-2 terms of the information into A (p x p, upper
 * triangle); with `store`, the baseline rows. Returns the number of rows
 * stored. */
static size_t eval_blocks(const cox_data *d, cox_work *wk, double *A, int store, double *ll)
{
    size_t p = d->p;
    double S0 = 0;
    memset(wk->S1, 0, p * sizeof(double));
    memset(A, 0, p * p * sizeof(double));
    size_t nchunk = 0;
    size_t nbl = 0;
    for (size_t bk = 0; bk < d->nb; bk++) {
        double D0 = 0, dw = 0;
        size_t dn = d->bdeaths[bk];
        block_sums(d, wk, bk, &S0, &D0, &dw);
        wk->hb[bk] = wk->gb[bk] = 0;
        if (dn == 0)
            continue;
        double t[5];
        eval_ties(d->ties, dn, dw, S0, D0, ll, t);
        wk->hb[bk] = t[0];
        wk->gb[bk] = t[1];
        nchunk = eval_gram_rows(d, wk, A, nchunk, S0, D0, t);
        if (store)
            eval_store(d, wk, nbl++, bk, S0, D0, t);
    }
    flush_chunk(A, wk->chunk, nchunk, p);
    return nbl;
}

/* Score u and information imat = G - A, where A holds the rank-2 terms of
 * the backward pass and G = sum q (x - m)(x - m)' with q_i = w_i r_i c_i,
 * c_i = H(T_i) - [death] g(T_i); then the ridge penalty (on *ll too). */
static void eval_score_info(const cox_data *d, const double *b, cox_work *wk, double *u,
                            double *imat, double *ll)
{
    size_t n = d->n, p = d->p;
    const double *x = d->x, *mean = d->mean, *wr = wk->wr;
    double *A = imat;
    /* c_i: cumulative hazard per block (over hb), then q_i (over eta). */
    double H = 0;
    for (size_t bk = d->nb; bk-- > 0;) {
        H += wk->hb[bk];
        wk->hb[bk] = H;
    }
    double *q = wk->eta;
    for (size_t i = 0; i < n; i++) {
        size_t bk = d->blk[i];
        q[i] = wr[i] * (wk->hb[bk] - (d->ev[i] != 0 ? wk->gb[bk] : 0));
    }
    for (size_t j = 0; j < p * p; j++)
        A[j] = -A[j];
    memset(u, 0, p * sizeof(double));
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const double *xi = x + i * p;
        double qi = q[i] > 0 ? q[i] : 0;
        double coef = (d->ev[i] != 0 ? (d->w ? d->w[i] : 1.0) : 0) - q[i];
        double sq = sqrt(qi);
        double *row = wk->chunk + m * p;
        for (size_t j = 0; j < p; j++) {
            double v = xi[j] - mean[j];
            u[j] += coef * v;
            row[j] = sq * v;
        }
        if (++m == COX_CHUNK) {
            flush_chunk(A, wk->chunk, m, p);
            m = 0;
        }
    }
    flush_chunk(A, wk->chunk, m, p);
    for (size_t i = 0; i < p; i++) /* fill the lower triangle */
        for (size_t j = 0; j < i; j++)
            imat[i * p + j] = imat[j * p + i];
    if (d->pen) {
        for (size_t j = 0; j < p; j++) {
            *ll -= 0.5 * d->pen[j] * b[j] * b[j];
            u[j] -= d->pen[j] * b[j];
            imat[j * p + j] += d->pen[j];
        }
    }
}

/* Partial log-likelihood (penalised when d->pen), score u and information
 * imat (p x p, full) at b, in the centred parametrisation (x - mean).
 * Returns 0, or -1 when the likelihood is not finite. When `store` is set,
 * fills the baseline-hazard outputs of `wk` instead of u and imat (imat is
 * then scratch). Risk-set sums are accumulated uncentred (S1 = sum w r x)
 * and centred at use as S1 - mean S0. */
static int cox_eval(const cox_data *d, const double *b, double *loglik, double *u, double *imat,
                    cox_work *wk, int store)
{
    double ll = 0;
    if (eval_risks(d, b, wk, &ll) != 0)
        return -1;
    if (!d->sorted)
        table_sums(d, wk);
    size_t nbl = eval_blocks(d, wk, imat, store, &ll);
    if (!isfinite(ll))
        return -1;
    if (store) {
        /* the baseline pass needs neither the score nor the information */
        wk->bl_n = nbl;
        *loglik = ll;
        return 0;
    }
    eval_score_info(d, b, wk, u, imat, &ll);
    *loglik = ll;
    return 0;
}

static void free_data(cox_data *d)
{
    churn__free(d->ord);
    churn__free(d->blk);
    churn__free(d->btime);
    churn__free(d->bdeaths);
    churn__free(d->bstart);
    churn__free(d->own);
    /* callers free again on their common exit path after a failed setup */
    d->ord = NULL;
    d->blk = NULL;
    d->btime = NULL;
    d->bdeaths = NULL;
    d->bstart = NULL;
    d->own = NULL;
}

static void free_work(cox_work *w)
{
    churn__free(w->eta);
    churn__free(w->wr);
    churn__free(w->hb);
    churn__free(w->gb);
    churn__free(w->S1);
    churn__free(w->D1);
    churn__free(w->xc);
    churn__free(w->chunk);
    churn__free(w->T0);
    churn__free(w->TD0);
    churn__free(w->Tdw);
    churn__free(w->T1);
    churn__free(w->TD1);
    churn__free(w->bl_h);
    churn__free(w->bl_var);
    churn__free(w->bl_xbar);
    churn__free(w->bl_t);
    /* alloc_work() frees on failure and the caller frees again on exit */
    w->eta = NULL;
    w->wr = NULL;
    w->hb = NULL;
    w->gb = NULL;
    w->S1 = NULL;
    w->D1 = NULL;
    w->xc = NULL;
    w->chunk = NULL;
    w->T0 = NULL;
    w->TD0 = NULL;
    w->Tdw = NULL;
    w->T1 = NULL;
    w->TD1 = NULL;
    w->bl_h = NULL;
    w->bl_var = NULL;
    w->bl_xbar = NULL;
    w->bl_t = NULL;
}

/* Blocks of equal durations (block 0 = latest), their times and death
 * counts, each row's block; in sorted mode a copy of the rows in block order.
 * `mean` receives the weighted means of the features. */
static int cox_prepare(cox_data *d, size_t n, size_t p, const double *x, const double *duration,
                       const double *event, const double *weights, double *mean)
{
    memset(d, 0, sizeof *d);
    d->n = n;
    d->p = p;
    d->x = x;
    d->mean = mean;
    d->w = weights;
    d->ev = event;
    uint32_t *ord = d->ord = churn__malloc(churn__mul_size(n, sizeof(uint32_t)));
    d->blk = churn__malloc(churn__mul_size(n, sizeof(uint32_t)));
    if (!ord || !d->blk) {
        free_data(d);
        return churn__nomem("Cox fit data");
    }
    int rc = churn__sort_order(n, duration, ord); /* increasing */
    if (rc) {
        free_data(d);
        return rc;
    }
    double wsum = 0;
    memset(mean, 0, p * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        double w = weights ? weights[i] : 1.0;
        wsum += w;
        for (size_t j = 0; j < p; j++)
            mean[j] += w * x[i * p + j];
    }
    for (size_t j = 0; j < p; j++)
        mean[j] = wsum > 0 ? mean[j] / wsum : 0;
    size_t nb = 0;
    for (size_t k = 0; k < n; k++)
        nb += k == 0 || duration[ord[k]] != duration[ord[k - 1]];
    d->nb = nb;
    d->btime = churn__malloc(nb * sizeof(double));
    d->bdeaths = churn__calloc(nb, sizeof(size_t));
    d->sorted = churn__mul_size(nb, p) > COX_TABLE_MAX;
    if (d->sorted) {
        d->bstart = churn__malloc((nb + 1) * sizeof(size_t));
        d->own = churn__malloc(churn__mul_size(n, (p + 2) * sizeof(double)));
        if (d->own)
            churn__advise_huge(d->own, n * (p + 2) * sizeof(double));
    }
    if (!d->btime || !d->bdeaths || (d->sorted && (!d->bstart || !d->own))) {
        free_data(d);
        return churn__nomem("Cox fit data");
    }
    double *xs = d->own, *ws = xs ? xs + n * p : NULL, *es = ws ? ws + n : NULL;
    /* Walk from the latest time down: block bk, position k in block order. */
    size_t bk = (size_t)-1;
    for (size_t k = 0; k < n; k++) {
        size_t i = ord[n - 1 - k];
        if (k == 0 || duration[i] != duration[ord[n - k]]) {
            bk++;
            d->btime[bk] = duration[i];
            if (d->sorted)
                d->bstart[bk] = k;
        }
        d->bdeaths[bk] += event[i] != 0;
        if (d->sorted) {
            memcpy(xs + k * p, x + i * p, p * sizeof(double));
            ws[k] = weights ? weights[i] : 1.0;
            es[k] = event[i];
            d->blk[k] = (uint32_t)bk;
        } else {
            d->blk[i] = (uint32_t)bk;
        }
    }
    if (d->sorted) {
        d->bstart[nb] = n;
        d->x = xs;
        d->w = ws;
        d->ev = es;
    }
    return CHURN_OK;
}

static int alloc_work(cox_work *w, const cox_data *d)
{
    memset(w, 0, sizeof *w);
    size_t n = d->n, p = d->p, nb = d->nb;
    w->eta = churn__malloc(churn__mul_size(n, sizeof(double)));
    w->wr = churn__malloc(churn__mul_size(n, sizeof(double)));
    w->hb = churn__malloc(churn__mul_size(nb, sizeof(double)));
    w->gb = churn__malloc(churn__mul_size(nb, sizeof(double)));
    w->S1 = churn__malloc(p * sizeof(double));
    w->D1 = churn__malloc(p * sizeof(double));
    w->xc = churn__malloc(p * sizeof(double));
    w->chunk = churn__malloc(churn__mul_size(COX_CHUNK, p * sizeof(double)));
    int bad = !w->eta || !w->wr || !w->hb || !w->gb || !w->S1 || !w->D1 || !w->xc || !w->chunk;
    if (!d->sorted && !bad) {
        w->T0 = churn__malloc(nb * sizeof(double));
        w->TD0 = churn__malloc(nb * sizeof(double));
        w->Tdw = churn__malloc(nb * sizeof(double));
        w->T1 = churn__malloc(nb * p * sizeof(double));
        w->TD1 = churn__malloc(nb * p * sizeof(double));
        bad = !w->T0 || !w->TD0 || !w->Tdw || !w->T1 || !w->TD1;
    }
    if (bad) {
        free_work(w);
        return churn__nomem("Cox fit work space");
    }
    return CHURN_OK;
}

/* Baseline arrays larger than this (event times x features) are not stored:
 * the model file would be huge; churn_surv_curve() then gives no std_err. */
#define COX_MAX_XBAR 2000000

static int store_baseline(churn_model *m, cox_work *wk, size_t p)
{
    size_t T = wk->bl_n;
    int with_xbar = wk->bl_xbar != NULL;
    double *tt = churn__malloc((T ? T : 1) * sizeof(double));
    double *H = churn__malloc((T ? T : 1) * sizeof(double));
    double *V = churn__malloc((T ? T : 1) * sizeof(double));
    double *X = with_xbar ? churn__malloc(churn__mul_size(T ? T : 1, p * sizeof(double))) : NULL;
    int rc = CHURN_OK;
    if (!tt || !H || !V || (with_xbar && !X)) {
        rc = churn__nomem("the baseline hazard");
        goto done;
    }
    /* Reverse to increasing time and accumulate. */
    double h = 0, v = 0;
    for (size_t k = 0; k < T; k++) {
        size_t src = T - 1 - k;
        tt[k] = wk->bl_t[src];
        h += wk->bl_h[src];
        v += wk->bl_var[src];
        H[k] = h;
        V[k] = v;
        if (X)
            for (size_t j = 0; j < p; j++)
                X[k * p + j] = wk->bl_xbar[src * p + j] + (k ? X[(k - 1) * p + j] : 0);
    }
    if ((rc = churn__model_set_array(m, "baseline_time", tt, T)) ||
        (rc = churn__model_set_array(m, "baseline_cumhaz", H, T)) ||
        (rc = churn__model_set_array(m, "baseline_varhaz", V, T)))
        goto done;
    if (X)
        rc = churn__model_set_array(m, "baseline_xbar", X, T * p);
done:
    churn__free(tt);
    churn__free(H);
    churn__free(V);
    churn__free(X);
    return rc;
}

/* Risks r = exp(x'b - mean'b) (into wk->eta) and weighted risks w r (into
 * wk->wr) at the estimate, for the score residuals. */
static void robust_risks(const cox_data *d, const double *b, cox_work *wk)
{
    size_t n = d->n, p = d->p;
    const double *x = d->x, *mean = d->mean;
    double shift = 0;
    for (size_t j = 0; j < p; j++)
        shift += mean[j] * b[j];
    double *r = wk->eta;
    for (size_t i = 0; i < n; i++) {
        double e = -shift;
        for (size_t j = 0; j < p; j++)
            e += x[i * p + j] * b[j];
        r[i] = exp(e);
        wk->wr[i] = (d->w ? d->w[i] : 1.0) * r[i];
    }
}

/* Per event block, into `per` (stride 3 p + 2): C0 = h, the Efron part gE,
 * C1 = sum_k h_k a_k (p), G = sum_k (k/d) h_k a_k (p) and abar (p); then C0
 * and C1 cumulated over increasing time (blocks nb-1 .. 0). */
static void robust_blocks(const cox_data *d, cox_work *wk, double *per, size_t stride)
{
    size_t p = d->p, nb = d->nb;
    const double *mean = d->mean;
    double S0 = 0, *S1 = wk->S1, *D1 = wk->D1;
    memset(S1, 0, p * sizeof(double));
    for (size_t bk = 0; bk < nb; bk++) {
        double D0 = 0, dw = 0;
        size_t dn = d->bdeaths[bk];
        block_sums(d, wk, bk, &S0, &D0, &dw);
        if (dn == 0)
            continue;
        double t[5];
        churn__cox_tie_sums(d->ties == CHURN_TIES_BRESLOW, dn, dw, S0, D0, t);
        double h = t[0], ge = t[1], al = t[2], be = t[3], ga = t[4];
        double *q = per + bk * stride;
        q[0] = h;
        q[1] = ge;
        for (size_t j = 0; j < p; j++) {
            double s1 = S1[j] - mean[j] * S0, d1 = D1[j] - mean[j] * D0;
            q[2 + j] = al * s1 - be * d1;                       /* sum_k h_k a_k */
            q[2 + p + j] = be * s1 - ga * d1;                   /* sum_k (k/d) h_k a_k */
            q[2 + 2 * p + j] = (h * s1 - ge * d1) / dw;         /* abar */
        }
    }
    /* cumulative over increasing time (blocks nb-1 .. 0) for C0 and C1 */
    for (size_t bk = nb - 1; bk-- > 0;) {
        double *q = per + bk * stride, *prev = q + stride;
        q[0] += prev[0];
        for (size_t j = 0; j < p; j++)
            q[2 + j] += prev[2 + j];
    }
}

/* Bm = sum_i (w_i L_i)(w_i L_i)' (p x p, full) from the score residuals
 * L_i = delta_i (x_i - abar) - r_i (x_i C0_i - C1_i). */
static void robust_meat(const cox_data *d, cox_work *wk, const double *per, size_t stride,
                        double *Bm)
{
    size_t n = d->n, p = d->p;
    const double *x = d->x, *mean = d->mean, *r = wk->eta;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const double *q = per + (size_t)d->blk[i] * stride;
        int died = d->ev[i] != 0;
        double C0 = q[0] - (died ? q[1] : 0);
        double w = d->w ? d->w[i] : 1.0;
        double *row = wk->chunk + m * p;
        for (size_t j = 0; j < p; j++) {
            double xc = x[i * p + j] - mean[j];
            double C1 = q[2 + j] - (died ? q[2 + p + j] : 0);
            double Lj = (died ? xc - q[2 + 2 * p + j] : 0) - r[i] * (xc * C0 - C1);
            row[j] = w * Lj;
        }
        if (++m == COX_CHUNK) {
            flush_chunk(Bm, wk->chunk, m, p);
            m = 0;
        }
    }
    flush_chunk(Bm, wk->chunk, m, p);
    for (size_t a = 0; a < p; a++)
        for (size_t c = 0; c < a; c++)
            Bm[a * p + c] = Bm[c * p + a];
}

/* out = V Bm V (p x p). */
static void sandwich(size_t p, const double *V, const double *Bm, double *out)
{
    for (size_t a = 0; a < p; a++)
        for (size_t c = 0; c < p; c++) {
            double v = 0;
            for (size_t k = 0; k < p; k++) {
                double t = 0;
                for (size_t l = 0; l < p; l++)
                    t += Bm[k * p + l] * V[l * p + c];
                v += V[a * p + k] * t;
            }
            out[a * p + c] = v;
        }
}

/* Robust (sandwich) covariance V B V, B = sum_i (w_i L_i)(w_i L_i)', from the
 * score residuals L_i at b (Lin & Wei 1989; Therneau & Grambsch 2000 sec. 7.2;
 * R's coxscore2 and residuals(type = "dfbeta", weighted = TRUE)):
 *   L_i = delta_i (x_i - abar(T_i)) - r_i sum_{t <= T_i} sum_k c_k (x_i - a_k(t)) h_k(t),
 * with the Efron terms k = 0..d-1 (a_k = (S1 - k/d D1)/(S0 - k/d D0),
 * h_k = mean death weight / den_k, abar = the plain average of the a_k) and
 * c_k = 1 - k/d for the customer's own tied death, 1 otherwise. Written as
 * L_i = delta_i (x_i - abar) - r_i (x_i C0_i - C1_i) with cumulative sums over
 * event times. `V` is the p x p model-based covariance; `out` gets V B V. */
static int cox_robust(const cox_data *d, const double *b, const double *V, cox_work *wk,
                      double *out)
{
    size_t p = d->p, nb = d->nb;
    double *per = churn__calloc(churn__mul_size(nb, 3 * p + 2), sizeof(double));
    double *Bm = churn__calloc(p * p, sizeof(double));
    if (!per || !Bm) {
        churn__free(per);
        churn__free(Bm);
        return churn__nomem("the robust covariance");
    }
    /* per block: [C0, gE, C1 (p), G (p), abar (p)] */
    const size_t stride = 3 * p + 2;
    robust_risks(d, b, wk);
    if (!d->sorted)
        table_sums(d, wk);
    robust_blocks(d, wk, per, stride);
    robust_meat(d, wk, per, stride, Bm);
    sandwich(p, V, Bm, out);
    churn__free(per);
    churn__free(Bm);
    return CHURN_OK;
}

/* Everything one churn_cox_fit() call holds: the work buffers (p or p x p
 * doubles), the prepared data and the results carried from step to step. */
typedef struct cox_fit {
    size_t n, p;
    char **names;                  /* p feature names (copies or x1..xp) */
    double *mean, *sd2, *pen;      /* weighted means, sample variances, penalty weights */
    double *beta, *newbeta;        /* last accepted and trial coefficients */
    double *u, *step, *imat, *L;   /* score, Newton step, information and its factor */
    double *var, *col;             /* covariance, a column of scratch */
    cox_data d;
    cox_work wk;                   /* after fit_baseline: bl_n event times, bl_xbar or NULL */
    double loglik_null, score_test, newlk;
    int converged, iter;
} cox_fit;

/* The options (copied into *o) and the inputs; *nevents receives the weighted
 * number of events. */
static int fit_check(const char *fn, const churn_cox_options *opts, churn_cox_options *o,
                     size_t n, size_t p, const double *x, const double *duration,
                     const double *event, const double *weights, double *nevents)
{
    int rc = churn__opts_copy(o, sizeof *o, opts, "churn_cox_options");
    if (rc)
        return rc;
    if (o->ties != CHURN_TIES_EFRON && o->ties != CHURN_TIES_BRESLOW)
        return churn__error(CHURN_EINVAL, "%s: ties %d is not CHURN_TIES_EFRON or "
                            "CHURN_TIES_BRESLOW", fn, o->ties);
    if (!isfinite(o->l2_penalty) || o->l2_penalty < 0)
        return churn__error(CHURN_EINVAL, "%s: l2_penalty %g must be finite and >= 0", fn,
                            o->l2_penalty);
    if (o->max_iter < 0 || o->max_iter > 10000)
        return churn__error(CHURN_EINVAL, "%s: max_iter %d must be in [0, 10000]", fn,
                            o->max_iter);
    if (!(o->tol > 0) || !isfinite(o->tol))
        return churn__error(CHURN_EINVAL, "%s: tol %g must be > 0", fn, o->tol);
    if (p == 0)
        return churn__error(CHURN_EINVAL, "%s: p is 0 (a Cox model needs at least one feature)",
                            fn);
    if (p > 10000)
        return churn__error(CHURN_EINVAL, "%s: p = %zu features is too many", fn, p);
    rc = churn__surv_check(fn, n, duration, event, weights, 0, nevents);
    if (rc)
        return rc;
    rc = churn__surv_check_x(fn, n, p, x, NULL);
    if (rc)
        return rc;
    if (!(*nevents > 0))
        return churn__error(CHURN_EINVAL, "%s: no events (every row is censored or has weight "
                            "0): the partial likelihood is flat", fn);
    return CHURN_OK;
}

/* The feature names (copies, or x1..xp), then the work buffers. */
static int fit_alloc(cox_fit *f, const char *const *feature_names)
{
    size_t p = f->p;
    f->names = churn__calloc(p, sizeof *f->names);
    if (!f->names)
        return churn__nomem("feature names");
    int rc = churn__surv_feature_names(p, feature_names, f->names);
    f->mean = churn__malloc(p * sizeof(double));
    f->sd2 = churn__calloc(p, sizeof(double));
    f->beta = churn__calloc(p, sizeof(double));
    f->newbeta = churn__calloc(p, sizeof(double));
    f->u = churn__malloc(p * sizeof(double));
    f->step = churn__malloc(p * sizeof(double));
    f->imat = churn__malloc(p * p * sizeof(double));
    f->L = churn__malloc(p * p * sizeof(double));
    f->var = churn__malloc(p * p * sizeof(double));
    f->col = churn__malloc(p * sizeof(double));
    if (!rc && (!f->mean || !f->sd2 || !f->beta || !f->newbeta || !f->u || !f->step ||
                !f->imat || !f->L || !f->var || !f->col))
        rc = churn__nomem("Cox fit work space");
    return rc;
}

static void fit_free(cox_fit *f)
{
    if (f->names)
        for (size_t j = 0; j < f->p; j++)
            churn__free(f->names[j]);
    churn__free(f->names);
    churn__free(f->mean);
    churn__free(f->sd2);
    churn__free(f->pen);
    churn__free(f->beta);
    churn__free(f->newbeta);
    churn__free(f->u);
    churn__free(f->step);
    churn__free(f->imat);
    churn__free(f->L);
    churn__free(f->var);
    churn__free(f->col);
    free_data(&f->d);
    free_work(&f->wk);
}

/* Sample variances of the features into sd2 (R's ridge(scale = TRUE)
 * weights). A constant feature makes the information singular: name it. */
static int fit_variances(cox_fit *f, const double *x, const char *fn)
{
    size_t n = f->n, p = f->p;
    double *sd2 = f->sd2;
    /* row-wise passes (x is row-major): means, then squared deviations */
    double *mu = f->col;
    memset(mu, 0, p * sizeof(double));
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < p; j++)
            mu[j] += x[i * p + j];
    for (size_t j = 0; j < p; j++)
        mu[j] /= (double)n;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < p; j++) {
            double dv = x[i * p + j] - mu[j];
            sd2[j] += dv * dv;
        }
    for (size_t j = 0; j < p; j++) {
        sd2[j] = n > 1 ? sd2[j] / (double)(n - 1) : 0;
        if (!(sd2[j] > 0))
            return churn__error(CHURN_EINVAL, "%s: feature '%s' is constant (no information "
                                "about its coefficient); drop it", fn, f->names[j]);
    }
    return CHURN_OK;
}

/* The tie method and the ridge penalty weights theta (s_j) into the data. */
static int fit_penalty(cox_fit *f, const churn_cox_options *o)
{
    f->d.ties = o->ties;
    if (o->l2_penalty > 0) {
        f->pen = churn__malloc(f->p * sizeof(double));
        if (!f->pen)
            return churn__nomem("penalty weights");
        for (size_t j = 0; j < f->p; j++)
            f->pen[j] = o->l2_penalty * (o->l2_scale ? f->sd2[j] : 1.0);
        f->d.pen = f->pen;
    }
    return CHURN_OK;
}

/* The start of Newton-Raphson at b = 0: the null log-likelihood, the score
 * test U' I^-1 U, and the first trial b = I^-1 U. */
static int fit_start(cox_fit *f, const char *fn)
{
    size_t p = f->p;
    double ll0 = 0;
    if (cox_eval(&f->d, f->beta, &ll0, f->u, f->imat, &f->wk, 0) != 0)
        return churn__error(CHURN_ENUMERIC, "%s: the partial likelihood at b = 0 is not finite",
                            fn);
    memcpy(f->L, f->imat, p * p * sizeof(double));
    if (churn__chol(f->L, p, CHURN__SURV_CHOL_TOL) != 0)
        return churn__error(CHURN_ENUMERIC, "%s: the information matrix at b = 0 is singular: "
                            "the features are collinear", fn);
    /* Score test at b = 0: U' I^-1 U. */
    memcpy(f->step, f->u, p * sizeof(double));
    churn__chol_solve(f->L, f->step, p);
    double score_test = 0;
    for (size_t j = 0; j < p; j++)
        score_test += f->u[j] * f->step[j];
    f->score_test = score_test;
    f->loglik_null = ll0; /* penalty is 0 at b = 0 */
    for (size_t j = 0; j < p; j++)
        f->newbeta[j] = f->beta[j] + f->step[j];
    return CHURN_OK;
}

/* Newton-Raphson with step halving (R's coxfit6 driver): stop when
 * |1 - loglik_old / loglik_new| <= tol; newbeta, u and imat end at the
 * estimate. */
static int fit_newton(cox_fit *f, const churn_cox_options *o, const char *fn)
{
    size_t p = f->p;
    double *beta = f->beta, *newbeta = f->newbeta;
    double best = f->loglik_null, newlk = 0;
    int converged = 0, halving = 0, iter = 0, have_new = 0;
    if (o->max_iter == 0) {
        newlk = f->loglik_null;
        have_new = 1;
        memcpy(newbeta, beta, p * sizeof(double));
    }
    for (iter = 1; iter <= o->max_iter; iter++) {
        int bad = cox_eval(&f->d, newbeta, &newlk, f->u, f->imat, &f->wk, 0) != 0;
        have_new = !bad;
        if (!bad && fabs(best - newlk) <= o->tol * fabs(newlk) && !halving) {
            converged = 1;
            break;
        }
        if (iter == o->max_iter)
            break;
        if (bad || newlk < best) {
            halving = 1;
            for (size_t j = 0; j < p; j++)
                newbeta[j] = (newbeta[j] + beta[j]) / 2;
        } else {
            halving = 0;
            best = newlk;
            memcpy(f->L, f->imat, p * p * sizeof(double));
            if (churn__chol(f->L, p, CHURN__SURV_CHOL_TOL) != 0)
                return churn__error(CHURN_ENUMERIC, "%s: the information matrix is singular at "
                                    "iteration %d: the features are collinear", fn, iter);
            memcpy(f->step, f->u, p * sizeof(double));
            churn__chol_solve(f->L, f->step, p);
            for (size_t j = 0; j < p; j++) {
                beta[j] = newbeta[j];
                newbeta[j] += f->step[j];
            }
        }
    }
    if (iter > o->max_iter)
        iter = o->max_iter;
    if (!have_new) {
        /* fall back to the last accepted b */
        memcpy(newbeta, beta, p * sizeof(double));
        if (cox_eval(&f->d, newbeta, &newlk, f->u, f->imat, &f->wk, 0) != 0)
            return churn__error(CHURN_ENUMERIC, "%s: the partial likelihood is not finite", fn);
    }
    f->newlk = newlk;
    f->converged = converged;
    f->iter = iter;
    return CHURN_OK;
}

/* The model-based covariance: the inverse information at the estimate. */
static int fit_covariance(cox_fit *f, const char *fn)
{
    size_t p = f->p;
    memcpy(f->L, f->imat, p * p * sizeof(double));
    if (churn__chol(f->L, p, CHURN__SURV_CHOL_TOL) != 0)
        return churn__error(CHURN_ENUMERIC, "%s: the information matrix at the estimate is "
                            "singular: the features are collinear", fn);
    churn__spd_inverse(f->L, f->var, p, f->col);
    return CHURN_OK;
}

/* Final pass at the estimate for the baseline hazard (and the unpenalised
 * log-likelihood, R's loglik[2]: the store pass returns before the penalty
 * is applied). Uses step and L as scratch. */
static int fit_baseline(cox_fit *f, const char *fn)
{
    size_t p = f->p;
    cox_work *wk = &f->wk;
    size_t nev_blocks = 0;
    for (size_t bk = 0; bk < f->d.nb; bk++)
        nev_blocks += f->d.bdeaths[bk] > 0;
    int with_xbar = churn__mul_size(nev_blocks, p) <= COX_MAX_XBAR;
    wk->bl_t = churn__malloc((nev_blocks + 1) * sizeof(double));
    wk->bl_h = churn__malloc((nev_blocks + 1) * sizeof(double));
    wk->bl_var = churn__malloc((nev_blocks + 1) * sizeof(double));
    if (with_xbar)
        wk->bl_xbar = churn__malloc(churn__mul_size(nev_blocks + 1, p * sizeof(double)));
    if (!wk->bl_t || !wk->bl_h || !wk->bl_var || (with_xbar && !wk->bl_xbar))
        return churn__nomem("the baseline hazard");
    double llf;
    if (cox_eval(&f->d, f->newbeta, &llf, f->step, f->L, wk, 1) != 0)
        return churn__error(CHURN_ENUMERIC, "%s: the partial likelihood is not finite", fn);
    f->newlk = llf;
    return CHURN_OK;
}

/* A new model with the coefficients, the covariance (the robust one when
 * asked, keeping the model-based one as naive_cov), the feature names and
 * the fit's summary numbers. */
static int fit_model(cox_fit *f, const churn_cox_options *o, const double *weights,
                     churn_model **mp)
{
    size_t p = f->p;
    int rc = churn__model_new(mp, CHURN_FAMILY_COX, p, (const char *const *)f->names);
    if (rc)
        return rc;
    churn_model *m = *mp;
    memcpy(m->params, f->newbeta, p * sizeof(double));
    if (o->robust) {
        double *rob = churn__malloc(p * p * sizeof(double));
        if (!rob)
            return churn__nomem("the robust covariance");
        rc = cox_robust(&f->d, f->newbeta, f->var, &f->wk, rob);
        if (!rc)
            rc = churn__model_set_array(m, "naive_cov", f->var, p * p);
        if (!rc)
            memcpy(f->var, rob, p * p * sizeof(double));
        churn__free(rob);
        if (rc)
            return rc;
    }
    if ((rc = churn__model_set_cov(m, f->var)) ||
        (rc = churn__model_set_features(m, (const char *const *)f->names, p)))
        return rc;
    m->loglik = f->newlk;
    double wsum = 0;
    for (size_t i = 0; i < f->n; i++)
        wsum += weights ? weights[i] : 1.0;
    m->nobs = wsum;
    m->converged = f->converged;
    m->iterations = f->iter;
    return CHURN_OK;
}

/* The Wald statistic b' V^-1 b against b = 0: with the robust covariance
 * when asked (as R; NAN when it is singular), else b' I b. */
static double fit_wald(cox_fit *f, const churn_cox_options *o)
{
    size_t p = f->p;
    const double *newbeta = f->newbeta;
    double wald = 0;
    if (o->robust) {
        /* R: the Wald test with the robust variance */
        memcpy(f->L, f->var, p * p * sizeof(double));
        memcpy(f->step, newbeta, p * sizeof(double));
        if (churn__chol(f->L, p, CHURN__SURV_CHOL_TOL) == 0) {
            churn__chol_solve(f->L, f->step, p);
            for (size_t i = 0; i < p; i++)
                wald += newbeta[i] * f->step[i];
        } else {
            wald = NAN;
        }
    } else {
        for (size_t i = 0; i < p; i++)
            for (size_t j = 0; j < p; j++)
                wald += newbeta[i] * f->imat[i * p + j] * newbeta[j];
    }
    return wald;
}

/* The model's arrays: means, null log-likelihood, events, the tests against
 * b = 0 (R's summary.coxph: LR, Wald, score), the options and the baseline. */
static int fit_arrays(cox_fit *f, const churn_cox_options *o, double nevents, churn_model *m,
                      const char *fn)
{
    int rc;
    double wald = fit_wald(f, o);
    double tests[3] = {2 * (f->newlk - f->loglik_null), wald, f->score_test};
    if (!isfinite(wald))
        return churn__error(CHURN_ENUMERIC, "%s: the robust covariance is singular", fn);
    double ties = o->ties, penal[2] = {o->l2_penalty, o->l2_scale ? 1.0 : 0.0};
    if ((rc = churn__model_set_array(m, "x_mean", f->mean, f->p)) ||
        (rc = churn__model_set_array(m, CHURN__SURV_LOGLIK_NULL, &f->loglik_null, 1)) ||
        (rc = churn__model_set_array(m, CHURN__SURV_NEVENTS, &nevents, 1)) ||
        (rc = churn__model_set_array(m, "tests", tests, 3)) ||
        (rc = churn__model_set_array(m, "ties", &ties, 1)) ||
        (rc = churn__model_set_array(m, "l2_penalty", penal, 2)) ||
        (rc = store_baseline(m, &f->wk, f->p)))
        return rc;
    return CHURN_OK;
}

/* Concordance of the linear predictor (R's coxph: reverse = TRUE). */
static int fit_concordance(const cox_fit *f, const double *x, const double *duration,
                           const double *event, const double *weights, churn_model *m)
{
    size_t n = f->n, p = f->p;
    double *lp = churn__malloc(churn__mul_size(n, sizeof(double)));
    if (!lp)
        return churn__nomem("linear predictors");
    for (size_t i = 0; i < n; i++) {
        double e = 0;
        for (size_t j = 0; j < p; j++)
            e += (x[i * p + j] - f->mean[j]) * f->newbeta[j];
        lp[i] = e;
    }
    double cidx = 0.5;
    int rc = churn__concordance_ordered(n, duration, event, lp, weights, 1, f->d.ord, &cidx,
                                        NULL);
    churn__free(lp);
    if (!rc)
        rc = churn__model_set_array(m, CHURN__SURV_CONCORDANCE, &cidx, 1);
    return rc;
}

/* The model's note: R's warning for coefficients that may be infinite
 * (monotone likelihood: one more Newton step would still move them), and
 * whether the baseline variance arrays were left out. */
static int fit_note(const cox_fit *f, const churn_cox_options *o, churn_model *m)
{
    size_t p = f->p;
    char note[512] = "";
    size_t len = 0;
    for (size_t j = 0; j < p; j++) {
        double s = 0;
        for (size_t k = 0; k < p; k++)
            s += f->var[j * p + k] * f->u[k];
        if (fabs(s) > o->tol && fabs(s) > sqrt(o->tol) * fabs(f->newbeta[j]) && len < 400)
            len += (size_t)snprintf(note + len, sizeof note - len,
                                    "%sthe coefficient of '%s' may be infinite (the "
                                    "likelihood converged before it)", len ? "; " : "",
                                    f->names[j]);
    }
    if (!f->wk.bl_xbar && len < 400)
        len += (size_t)snprintf(note + len, sizeof note - len,
                                "%sbaseline variance arrays not stored (%zu event times x %zu "
                                "features): survival curves have no std_err",
                                len ? "; " : "", f->wk.bl_n, p);
    if (len)
        return churn__model_set_note(m, note);
    return CHURN_OK;
}

CHURN_API int churn_cox_fit(churn_model **out, size_t n, size_t p, const double *x,
                            const char *const *feature_names, const double *duration,
                            const double *event, const double *weights,
                            const churn_cox_options *opts)
{
    churn__ok();
    static const char fn[] = "churn_cox_fit";
    if (!out)
        return churn__error(CHURN_EINVAL, "%s: out is NULL", fn);
    *out = NULL;
    churn_cox_options o = CHURN_COX_OPTIONS_INIT;
    double nevents = 0;
    int rc = fit_check(fn, opts, &o, n, p, x, duration, event, weights, &nevents);
    if (rc)
        return rc;
    cox_fit f;
    memset(&f, 0, sizeof f);
    f.n = n;
    f.p = p;
    churn_model *m = NULL;
    rc = fit_alloc(&f, feature_names);
    if (!rc)
        rc = cox_prepare(&f.d, n, p, x, duration, event, weights, f.mean);
    if (!rc)
        rc = fit_variances(&f, x, fn);
    if (!rc)
        rc = fit_penalty(&f, &o);
    if (!rc)
        rc = alloc_work(&f.wk, &f.d);
    if (!rc)
        rc = fit_start(&f, fn);
    if (!rc)
        rc = fit_newton(&f, &o, fn);
    if (!rc)
        rc = fit_covariance(&f, fn);
    if (!rc)
        rc = fit_baseline(&f, fn);
    if (!rc)
        rc = fit_model(&f, &o, weights, &m);
    if (!rc)
        rc = fit_arrays(&f, &o, nevents, m, fn);
    if (!rc)
        rc = fit_concordance(&f, x, duration, event, weights, m);
    if (!rc)
        rc = fit_note(&f, &o, m);
    if (!rc) {
        *out = m;
        m = NULL;
        if (!f.converged)
            rc = churn__error(CHURN_ENOCONV, "%s: no convergence in %d iterations (relative "
                              "change of the log-likelihood above %g); the model is returned "
                              "with converged = 0", fn, o.max_iter, o.tol);
    }
    churn_model_free(m);
    fit_free(&f);
    return rc;
}
