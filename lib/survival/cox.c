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
 * This file owns the fit (churn_cox_fit); cox_predict.c reads the fitted
 * model, cox_zph.c tests it.
 *
 * Calls: concordance.c (of the linear predictor), surv_common.c (input
 * checks, row order, SPD solve, huge-page hint) and core/.
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

/* Partial log-likelihood (penalised when d->pen), score u and information
 * imat (p x p, full) at b, in the centred parametrisation (x - mean).
 * Returns 0, or -1 when the likelihood is not finite. When `store` is set,
 * fills the baseline-hazard outputs of `wk`. Risk-set sums are accumulated
 * uncentred (S1 = sum w r x) and centred at use as S1 - mean S0. */
static int cox_eval(const cox_data *d, const double *b, double *loglik, double *u, double *imat,
                    cox_work *wk, int store)
{
    size_t n = d->n, p = d->p;
    const double *x = d->x, *mean = d->mean;
    double *eta = wk->eta, *wr = wk->wr;
    double shift = 0;
    for (size_t j = 0; j < p; j++)
        shift += mean[j] * b[j];
    double ll = 0;
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
            ll += wi * e;
    }
    if (!d->sorted) {
        /* table mode: per-block sums in one sequential pass */
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
    double S0 = 0;
    double *S1 = wk->S1, *D1 = wk->D1, *A = imat, *xc = wk->xc;
    memset(S1, 0, p * sizeof(double));
    memset(A, 0, p * p * sizeof(double));
    size_t nchunk = 0;
    size_t nbl = 0;
    /* Backward pass over the blocks, latest time first. */
    for (size_t bk = 0; bk < d->nb; bk++) {
        double D0 = 0, dw = 0;
        size_t dn = d->bdeaths[bk];
        if (d->sorted) {
            memset(D1, 0, p * sizeof(double));
            for (size_t i = d->bstart[bk]; i < d->bstart[bk + 1]; i++) {
                const double *xi = x + i * p;
                double r = wr[i];
                S0 += r;
                for (size_t j = 0; j < p; j++)
                    S1[j] += r * xi[j];
                if (d->ev[i] != 0) {
                    D0 += r;
                    dw += d->w ? d->w[i] : 1.0;
                    for (size_t j = 0; j < p; j++)
                        D1[j] += r * xi[j];
                }
            }
        } else {
            const double *t1 = wk->T1 + bk * p;
            S0 += wk->T0[bk];
            for (size_t j = 0; j < p; j++)
                S1[j] += t1[j];
            D0 = wk->TD0[bk];
            dw = wk->Tdw[bk];
            memcpy(D1, wk->TD1 + bk * p, p * sizeof(double));
        }
        wk->hb[bk] = wk->gb[bk] = 0;
        if (dn == 0)
            continue;
        double h = 0, g = 0, al = 0, be = 0, ga = 0;
        if (d->ties == CHURN_TIES_BRESLOW || dn == 1) {
            /* Breslow: every tied death sees the full risk set S0. */
            ll -= dw * log(S0);
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
                ll -= mw * log(den);
                h += mw * i1;
                g += mw * f * i1;
                al += mw * i2;
                be += mw * f * i2;
                ga += mw * f * f * i2;
            }
        }
        wk->hb[bk] = h;
        wk->gb[bk] = g;
        /* sum_k mw a_k a_k' with a_k = (S1 - f D1)/den_k (centred sums) is the
         * quadratic form [S1 D1] [[al, -be], [-be, ga]] [S1 D1]': two rank-1
         * rows for dsyrk. */
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
        if (store) {
            /* survfit.coxph (agsurv, Efron type 3 / Breslow type 1): hazard
             * increment h, variance increment al, and the xbar increment
             * sum_k mw a_k / den_k = al S1 - be D1 (centred). Latest first. */
            wk->bl_t[nbl] = d->btime[bk];
            wk->bl_h[nbl] = h;
            wk->bl_var[nbl] = al;
            if (wk->bl_xbar)
                for (size_t j = 0; j < p; j++)
                    wk->bl_xbar[nbl * p + j] =
                        al * (S1[j] - mean[j] * S0) - be * (D1[j] - mean[j] * D0);
            nbl++;
        }
    }
    flush_chunk(A, wk->chunk, nchunk, p);
    if (!isfinite(ll))
        return -1;
    if (store) {
        /* the baseline pass needs neither the score nor the information */
        wk->bl_n = nbl;
        *loglik = ll;
        return 0;
    }
    /* c_i = H(T_i) - [death] g(T_i): cumulative hazard per block (over hb),
     * then q_i = w_i r_i c_i (over eta). */
    double H = 0;
    for (size_t bk = d->nb; bk-- > 0;) {
        H += wk->hb[bk];
        wk->hb[bk] = H;
    }
    double *q = eta;
    for (size_t i = 0; i < n; i++) {
        size_t bk = d->blk[i];
        q[i] = wr[i] * (wk->hb[bk] - (d->ev[i] != 0 ? wk->gb[bk] : 0));
    }
    /* Score and G = sum q (x - m)(x - m)'; imat = G - A. */
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
            ll -= 0.5 * d->pen[j] * b[j] * b[j];
            u[j] -= d->pen[j] * b[j];
            imat[j * p + j] += d->pen[j];
        }
    }
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

static int store_baseline(churn_model *m, cox_work *wk, size_t p, int with_xbar)
{
    size_t T = wk->bl_n;
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
    size_t n = d->n, p = d->p, nb = d->nb;
    double *per = churn__calloc(churn__mul_size(nb, 3 * p + 2), sizeof(double));
    double *Bm = churn__calloc(p * p, sizeof(double)), *L = churn__malloc(p * sizeof(double));
    if (!per || !Bm || !L) {
        churn__free(per);
        churn__free(Bm);
        churn__free(L);
        return churn__nomem("the robust covariance");
    }
    /* per block: [C0, gE, C1 (p), G (p), abar (p)] */
    const size_t stride = 3 * p + 2;
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
    double S0 = 0, *S1 = wk->S1, *D1 = wk->D1;
    memset(S1, 0, p * sizeof(double));
    if (!d->sorted) {
        memset(wk->T0, 0, nb * sizeof(double));
        memset(wk->TD0, 0, nb * sizeof(double));
        memset(wk->Tdw, 0, nb * sizeof(double));
        memset(wk->T1, 0, nb * p * sizeof(double));
        memset(wk->TD1, 0, nb * p * sizeof(double));
        for (size_t i = 0; i < n; i++) {
            size_t bk = d->blk[i];
            double ri = wk->wr[i];
            wk->T0[bk] += ri;
            for (size_t j = 0; j < p; j++)
                wk->T1[bk * p + j] += ri * x[i * p + j];
            if (d->ev[i] != 0) {
                wk->TD0[bk] += ri;
                wk->Tdw[bk] += d->w ? d->w[i] : 1.0;
                for (size_t j = 0; j < p; j++)
                    wk->TD1[bk * p + j] += ri * x[i * p + j];
            }
        }
    }
    for (size_t bk = 0; bk < nb; bk++) {
        double D0 = 0, dw = 0;
        size_t dn = d->bdeaths[bk];
        if (d->sorted) {
            memset(D1, 0, p * sizeof(double));
            for (size_t i = d->bstart[bk]; i < d->bstart[bk + 1]; i++) {
                double ri = wk->wr[i];
                S0 += ri;
                for (size_t j = 0; j < p; j++)
                    S1[j] += ri * x[i * p + j];
                if (d->ev[i] != 0) {
                    D0 += ri;
                    dw += d->w ? d->w[i] : 1.0;
                    for (size_t j = 0; j < p; j++)
                        D1[j] += ri * x[i * p + j];
                }
            }
        } else {
            S0 += wk->T0[bk];
            for (size_t j = 0; j < p; j++)
                S1[j] += wk->T1[bk * p + j];
            D0 = wk->TD0[bk];
            dw = wk->Tdw[bk];
            memcpy(D1, wk->TD1 + bk * p, p * sizeof(double));
        }
        if (dn == 0)
            continue;
        double h = 0, ge = 0, al = 0, be = 0, ga = 0;
        if (d->ties == CHURN_TIES_BRESLOW || dn == 1) {
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
    /* out = V Bm V */
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
    (void)L;
    churn__free(per);
    churn__free(Bm);
    churn__free(L);
    return CHURN_OK;
}

CHURN_API int churn_cox_fit(churn_model **out, size_t n, size_t p, const double *x,
                            const char *const *feature_names, const double *duration,
                            const double *event, const double *weights,
                            const churn_cox_options *opts)
{
    churn__ok();
    churn__gsl_init();
    static const char fn[] = "churn_cox_fit";
    if (!out)
        return churn__error(CHURN_EINVAL, "%s: out is NULL", fn);
    *out = NULL;
    churn_cox_options o = CHURN_COX_OPTIONS_INIT;
    int rc = churn__opts_copy(&o, sizeof o, opts, "churn_cox_options");
    if (rc)
        return rc;
    if (o.ties != CHURN_TIES_EFRON && o.ties != CHURN_TIES_BRESLOW)
        return churn__error(CHURN_EINVAL, "%s: ties %d is not CHURN_TIES_EFRON or "
                            "CHURN_TIES_BRESLOW", fn, o.ties);
    if (!isfinite(o.l2_penalty) || o.l2_penalty < 0)
        return churn__error(CHURN_EINVAL, "%s: l2_penalty %g must be finite and >= 0", fn,
                            o.l2_penalty);
    if (o.max_iter < 0 || o.max_iter > 10000)
        return churn__error(CHURN_EINVAL, "%s: max_iter %d must be in [0, 10000]", fn,
                            o.max_iter);
    if (!(o.tol > 0) || !isfinite(o.tol))
        return churn__error(CHURN_EINVAL, "%s: tol %g must be > 0", fn, o.tol);
    if (p == 0)
        return churn__error(CHURN_EINVAL, "%s: p is 0 (a Cox model needs at least one feature)",
                            fn);
    if (p > 10000)
        return churn__error(CHURN_EINVAL, "%s: p = %zu features is too many", fn, p);
    double nevents = 0;
    rc = churn__surv_check(fn, n, duration, event, weights, 0, &nevents);
    if (rc)
        return rc;
    rc = churn__surv_check_x(fn, n, p, x, NULL);
    if (rc)
        return rc;
    if (!(nevents > 0))
        return churn__error(CHURN_EINVAL, "%s: no events (every row is censored or has weight "
                            "0): the partial likelihood is flat", fn);

    /* Names: copies, or x1..xp. */
    char **names = churn__calloc(p, sizeof *names);
    if (!names)
        return churn__nomem("feature names");
    for (size_t j = 0; j < p && !rc; j++) {
        if (feature_names && feature_names[j]) {
            names[j] = churn__strdup(feature_names[j]);
        } else {
            names[j] = churn__malloc(24);
            if (names[j])
                snprintf(names[j], 24, "x%zu", j + 1);
        }
        if (!names[j])
            rc = churn__nomem("feature names");
    }
    double *mean = churn__malloc(p * sizeof(double));
    double *sd2 = churn__calloc(p, sizeof(double));
    double *pen = NULL;
    double *beta = churn__calloc(p, sizeof(double)), *newbeta = churn__calloc(p, sizeof(double));
    double *u = churn__malloc(p * sizeof(double)), *step = churn__malloc(p * sizeof(double));
    double *imat = churn__malloc(p * p * sizeof(double)), *L = churn__malloc(p * p * sizeof(double));
    double *var = churn__malloc(p * p * sizeof(double)), *col = churn__malloc(p * sizeof(double));
    double *lp = NULL;
    cox_data d;
    cox_work wk;
    memset(&d, 0, sizeof d);
    memset(&wk, 0, sizeof wk);
    churn_model *m = NULL;
    if (!rc && (!mean || !sd2 || !beta || !newbeta || !u || !step || !imat || !L || !var || !col))
        rc = churn__nomem("Cox fit work space");
    if (!rc)
        rc = cox_prepare(&d, n, p, x, duration, event, weights, mean);
    if (rc)
        goto done;
    /* Constant features make the information singular: name them. Sample
     * variances are also R's ridge(scale = TRUE) weights. */
    {
        /* row-wise passes (x is row-major): means, then squared deviations */
        double *mu = col;
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
            if (!(sd2[j] > 0)) {
                rc = churn__error(CHURN_EINVAL, "%s: feature '%s' is constant (no information "
                                  "about its coefficient); drop it", fn, names[j]);
                goto done;
            }
        }
    }
    d.ties = o.ties;
    if (o.l2_penalty > 0) {
        pen = churn__malloc(p * sizeof(double));
        if (!pen) {
            rc = churn__nomem("penalty weights");
            goto done;
        }
        for (size_t j = 0; j < p; j++)
            pen[j] = o.l2_penalty * (o.l2_scale ? sd2[j] : 1.0);
        d.pen = pen;
    }
    if ((rc = alloc_work(&wk, &d)))
        goto done;

    /* ---- Newton-Raphson with step halving (R's coxfit6 driver) ---- */
    double ll0 = 0, best, newlk = 0;
    if (cox_eval(&d, beta, &ll0, u, imat, &wk, 0) != 0) {
        rc = churn__error(CHURN_ENUMERIC, "%s: the partial likelihood at b = 0 is not finite", fn);
        goto done;
    }
    memcpy(L, imat, p * p * sizeof(double));
    if (churn__spd_factor(L, p) != 0) {
        rc = churn__error(CHURN_ENUMERIC, "%s: the information matrix at b = 0 is singular: the "
                          "features are collinear", fn);
        goto done;
    }
    /* Score test at b = 0: U' I^-1 U. */
    memcpy(step, u, p * sizeof(double));
    churn__spd_solve(L, step, p);
    double score_test = 0;
    for (size_t j = 0; j < p; j++)
        score_test += u[j] * step[j];
    double loglik_null = ll0; /* penalty is 0 at b = 0 */
    best = ll0;
    for (size_t j = 0; j < p; j++)
        newbeta[j] = beta[j] + step[j];
    int converged = 0, halving = 0, iter = 0, have_new = 0;
    if (o.max_iter == 0) {
        newlk = ll0;
        have_new = 1;
        memcpy(newbeta, beta, p * sizeof(double));
    }
    for (iter = 1; iter <= o.max_iter; iter++) {
        int bad = cox_eval(&d, newbeta, &newlk, u, imat, &wk, 0) != 0;
        have_new = !bad;
        if (!bad && fabs(best - newlk) <= o.tol * fabs(newlk) && !halving) {
            converged = 1;
            break;
        }
        if (iter == o.max_iter)
            break;
        if (bad || newlk < best) {
            halving = 1;
            for (size_t j = 0; j < p; j++)
                newbeta[j] = (newbeta[j] + beta[j]) / 2;
        } else {
            halving = 0;
            best = newlk;
            memcpy(L, imat, p * p * sizeof(double));
            if (churn__spd_factor(L, p) != 0) {
                rc = churn__error(CHURN_ENUMERIC, "%s: the information matrix is singular at "
                                  "iteration %d: the features are collinear", fn, iter);
                goto done;
            }
            memcpy(step, u, p * sizeof(double));
            churn__spd_solve(L, step, p);
            for (size_t j = 0; j < p; j++) {
                beta[j] = newbeta[j];
                newbeta[j] += step[j];
            }
        }
    }
    if (iter > o.max_iter)
        iter = o.max_iter;
    if (!have_new) {
        /* fall back to the last accepted b */
        memcpy(newbeta, beta, p * sizeof(double));
        if (cox_eval(&d, newbeta, &newlk, u, imat, &wk, 0) != 0) {
            rc = churn__error(CHURN_ENUMERIC, "%s: the partial likelihood is not finite", fn);
            goto done;
        }
    }
    memcpy(L, imat, p * p * sizeof(double));
    if (churn__spd_factor(L, p) != 0) {
        rc = churn__error(CHURN_ENUMERIC, "%s: the information matrix at the estimate is "
                          "singular: the features are collinear", fn);
        goto done;
    }
    churn__spd_inverse(L, var, p, col);

    /* Final pass at the estimate for the baseline hazard (and the unpenalised
     * log-likelihood). */
    size_t nev_blocks = 0;
    for (size_t bk = 0; bk < d.nb; bk++)
        nev_blocks += d.bdeaths[bk] > 0;
    int with_xbar = churn__mul_size(nev_blocks, p) <= COX_MAX_XBAR;
    wk.bl_t = churn__malloc((nev_blocks + 1) * sizeof(double));
    wk.bl_h = churn__malloc((nev_blocks + 1) * sizeof(double));
    wk.bl_var = churn__malloc((nev_blocks + 1) * sizeof(double));
    if (with_xbar)
        wk.bl_xbar = churn__malloc(churn__mul_size(nev_blocks + 1, p * sizeof(double)));
    if (!wk.bl_t || !wk.bl_h || !wk.bl_var || (with_xbar && !wk.bl_xbar)) {
        rc = churn__nomem("the baseline hazard");
        goto done;
    }
    {
        double llf;
        /* unpenalised log-likelihood (R's loglik[2]): the store pass returns
         * before the penalty is applied */
        double *u2 = step, *i2 = L;
        int bad = cox_eval(&d, newbeta, &llf, u2, i2, &wk, 1);
        if (bad) {
            rc = churn__error(CHURN_ENUMERIC, "%s: the partial likelihood is not finite", fn);
            goto done;
        }
        newlk = llf;
    }

    /* ---- the model ---- */
    rc = churn__model_new(&m, CHURN_FAMILY_COX, p, (const char *const *)names);
    if (rc)
        goto done;
    memcpy(m->params, newbeta, p * sizeof(double));
    if (o.robust) {
        double *rob = churn__malloc(p * p * sizeof(double));
        if (!rob) {
            rc = churn__nomem("the robust covariance");
            goto done;
        }
        rc = cox_robust(&d, newbeta, var, &wk, rob);
        if (!rc)
            rc = churn__model_set_array(m, "naive_cov", var, p * p);
        if (!rc)
            memcpy(var, rob, p * p * sizeof(double));
        churn__free(rob);
        if (rc)
            goto done;
    }
    if ((rc = churn__model_set_cov(m, var)) ||
        (rc = churn__model_set_features(m, (const char *const *)names, p)))
        goto done;
    m->loglik = newlk;
    double wsum = 0;
    for (size_t i = 0; i < n; i++)
        wsum += weights ? weights[i] : 1.0;
    m->nobs = wsum;
    m->converged = converged;
    m->iterations = iter;
    /* Tests against b = 0 (R's summary.coxph): LR, Wald b' V^-1 b, score. */
    double wald = 0;
    if (o.robust) {
        /* R: the Wald test with the robust variance */
        memcpy(L, var, p * p * sizeof(double));
        memcpy(step, newbeta, p * sizeof(double));
        if (churn__spd_factor(L, p) == 0) {
            churn__spd_solve(L, step, p);
            for (size_t i = 0; i < p; i++)
                wald += newbeta[i] * step[i];
        } else {
            wald = NAN;
        }
    } else {
        for (size_t i = 0; i < p; i++)
            for (size_t j = 0; j < p; j++)
                wald += newbeta[i] * imat[i * p + j] * newbeta[j];
    }
    double tests[3] = {2 * (newlk - loglik_null), wald, score_test};
    if (!isfinite(wald)) {
        rc = churn__error(CHURN_ENUMERIC, "%s: the robust covariance is singular", fn);
        goto done;
    }
    double ties = o.ties, penal[2] = {o.l2_penalty, o.l2_scale ? 1.0 : 0.0};
    if ((rc = churn__model_set_array(m, "x_mean", mean, p)) ||
        (rc = churn__model_set_array(m, CHURN__SURV_LOGLIK_NULL, &loglik_null, 1)) ||
        (rc = churn__model_set_array(m, CHURN__SURV_NEVENTS, &nevents, 1)) ||
        (rc = churn__model_set_array(m, "tests", tests, 3)) ||
        (rc = churn__model_set_array(m, "ties", &ties, 1)) ||
        (rc = churn__model_set_array(m, "l2_penalty", penal, 2)) ||
        (rc = store_baseline(m, &wk, p, with_xbar)))
        goto done;
    /* Concordance of the linear predictor (R's coxph: reverse = TRUE). */
    lp = churn__malloc(churn__mul_size(n, sizeof(double)));
    if (!lp) {
        rc = churn__nomem("linear predictors");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        double e = 0;
        for (size_t j = 0; j < p; j++)
            e += (x[i * p + j] - mean[j]) * newbeta[j];
        lp[i] = e;
    }
    double cidx = 0.5;
    if ((rc = churn__concordance_ordered(n, duration, event, lp, weights, 1, d.ord, &cidx,
                                         NULL)) ||
        (rc = churn__model_set_array(m, CHURN__SURV_CONCORDANCE, &cidx, 1)))
        goto done;
    /* R's warning for coefficients that may be infinite (monotone likelihood):
     * one more Newton step would still move them. */
    {
        char note[512] = "";
        size_t len = 0;
        for (size_t j = 0; j < p; j++) {
            double s = 0;
            for (size_t k = 0; k < p; k++)
                s += var[j * p + k] * u[k];
            if (fabs(s) > o.tol && fabs(s) > sqrt(o.tol) * fabs(newbeta[j]) && len < 400)
                len += (size_t)snprintf(note + len, sizeof note - len,
                                        "%sthe coefficient of '%s' may be infinite (the "
                                        "likelihood converged before it)", len ? "; " : "",
                                        names[j]);
        }
        if (!with_xbar && len < 400)
            len += (size_t)snprintf(note + len, sizeof note - len,
                                    "%sbaseline variance arrays not stored (%zu event times x %zu "
                                    "features): survival curves have no std_err",
                                    len ? "; " : "", nev_blocks, p);
        if (len && (rc = churn__model_set_note(m, note)))
            goto done;
    }
    if (!converged) {
        *out = m;
        m = NULL;
        rc = churn__error(CHURN_ENOCONV, "%s: no convergence in %d iterations (relative change "
                          "of the log-likelihood above %g); the model is returned with "
                          "converged = 0", fn, o.max_iter, o.tol);
        goto done;
    }
    *out = m;
    m = NULL;
done:
    churn_model_free(m);
    if (names)
        for (size_t j = 0; j < p; j++)
            churn__free(names[j]);
    churn__free(names);
    churn__free(mean);
    churn__free(sd2);
    churn__free(pen);
    churn__free(beta);
    churn__free(newbeta);
    churn__free(u);
    churn__free(step);
    churn__free(imat);
    churn__free(L);
    churn__free(var);
    churn__free(col);
    churn__free(lp);
    free_data(&d);
    free_work(&wk);
    return rc;
}
