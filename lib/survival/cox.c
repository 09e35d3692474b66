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

/* ---- accessors and predictions ------------------------------------------------- */

CHURN_API int churn_cox_test(const churn_model *m, int test, double *statistic, double *df,
                             double *p_value)
{
    churn__ok();
    int rc = churn__model_check(m, "churn_cox_test", 1, CHURN_FAMILY_COX);
    if (rc)
        return rc;
    if (test < CHURN_COX_TEST_LR || test > CHURN_COX_TEST_SCORE)
        return churn__error(CHURN_EINVAL, "churn_cox_test: test %d is not a churn_cox_test_kind",
                            test);
    size_t len = 0;
    const double *t = churn__model_array(m, "tests", &len);
    if (!t || len < 3)
        return churn__error(CHURN_EFORMAT, "churn_cox_test: the model has no 'tests' array");
    double k = (double)m->nparams;
    if (statistic)
        *statistic = t[test];
    if (df)
        *df = k;
    if (p_value)
        *p_value = churn__chisq_q(t[test], k);
    return CHURN_OK;
}

typedef struct cox_base {
    const double *time, *cumhaz, *varhaz, *xbar, *mean;
    size_t nt, p;
} cox_base;

static int get_base(const churn_model *m, cox_base *b, const char *fn)
{
    size_t n1 = 0, n2 = 0, n3 = 0, nm = 0, nx = 0;
    b->time = churn__model_array(m, "baseline_time", &n1);
    b->cumhaz = churn__model_array(m, "baseline_cumhaz", &n2);
    b->varhaz = churn__model_array(m, "baseline_varhaz", &n3);
    b->mean = churn__model_array(m, "x_mean", &nm);
    b->xbar = churn__model_array(m, "baseline_xbar", &nx);
    b->p = m->nfeatures;
    if (!b->time || !b->cumhaz || n1 != n2 || !b->mean || nm != m->nfeatures ||
        m->nparams != m->nfeatures)
        return churn__error(CHURN_EFORMAT, "%s: the Cox model lacks consistent arrays "
                            "baseline_time, baseline_cumhaz and x_mean", fn);
    for (size_t k = 0; k < n1; k++)
        if (!isfinite(b->time[k]) || !isfinite(b->cumhaz[k]) ||
            (k && (b->time[k] < b->time[k - 1] || b->cumhaz[k] < b->cumhaz[k - 1])))
            return churn__error(CHURN_EFORMAT, "%s: baseline_time/baseline_cumhaz[%zu] is not "
                                "finite and non-decreasing", fn, k);
    if (b->varhaz && n3 != n1)
        b->varhaz = NULL;
    if (b->xbar && nx != n1 * b->p)
        b->xbar = NULL;
    b->nt = n1;
    return CHURN_OK;
}

/* Index of the last baseline time <= t, or -1. */
static ptrdiff_t base_index(const cox_base *b, double t)
{
    size_t lo = 0, hi = b->nt;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->time[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (ptrdiff_t)lo - 1;
}

static double centred_lp(const churn_model *m, const cox_base *b, const double *xi)
{
    double e = 0;
    for (size_t j = 0; j < b->p; j++)
        e += (xi[j] - b->mean[j]) * m->params[j];
    return e;
}

int churn__cox_predict(const churn_model *m, size_t n, const double *x, double horizon,
                       double *surv, double *lp)
{
    cox_base b;
    int rc = get_base(m, &b, "churn_surv_predict");
    if (rc)
        return rc;
    ptrdiff_t k = base_index(&b, horizon);
    double H0 = k < 0 ? 0 : b.cumhaz[k];
    for (size_t i = 0; i < n; i++) {
        double e = centred_lp(m, &b, x + i * b.p);
        if (lp)
            lp[i] = e;
        if (surv)
            surv[i] = exp(-H0 * exp(e));
    }
    return CHURN_OK;
}

int churn__cox_curve(const churn_model *m, const double *x, size_t nt, const double *times,
                     double *surv, double *std_err)
{
    cox_base b;
    int rc = get_base(m, &b, "churn_surv_curve");
    if (rc)
        return rc;
    if (std_err && (!b.varhaz || !b.xbar || !m->cov))
        return churn__error(CHURN_EUNSUPPORTED, "churn_surv_curve: this Cox model was stored "
                            "without its baseline variance arrays; std_err is unavailable");
    size_t p = b.p;
    double e = centred_lp(m, &b, x), r = exp(e);
    for (size_t i = 0; i < nt; i++) {
        ptrdiff_t k = base_index(&b, times[i]);
        double H0 = k < 0 ? 0 : b.cumhaz[k];
        surv[i] = exp(-H0 * r);
        if (!std_err)
            continue;
        if (k < 0) {
            std_err[i] = 0;
            continue;
        }
        /* Tsiatis (1981) / survfit.coxph: var H(t|x) = r^2 [varhaz(t) + d' V d],
         * d = sum (xbar(s) - x) dH0(s) over s <= t (centred covariates). */
        double q = 0;
        for (size_t j = 0; j < p; j++) {
            double dj = b.xbar[k * p + j] - (x[j] - b.mean[j]) * H0;
            double s = 0;
            for (size_t l = 0; l < p; l++) {
                double dl = b.xbar[k * p + l] - (x[l] - b.mean[l]) * H0;
                s += m->cov[j * p + l] * dl;
            }
            q += dj * s;
        }
        double v = b.varhaz[k] + q;
        std_err[i] = r * sqrt(v > 0 ? v : 0);
    }
    return CHURN_OK;
}

int churn__cox_median(const churn_model *m, size_t n, const double *x, double *median)
{
    cox_base b;
    int rc = get_base(m, &b, "churn_surv_median");
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        double r = exp(centred_lp(m, &b, x + i * b.p));
        /* first time with S <= 1/2, i.e. H0 >= log 2 / r (H0 non-decreasing) */
        double target = M_LN2 / r;
        size_t lo = 0, hi = b.nt;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (b.cumhaz[mid] >= target)
                hi = mid;
            else
                lo = mid + 1;
        }
        median[i] = lo < b.nt ? b.time[lo] : INFINITY;
    }
    return CHURN_OK;
}

CHURN_API int churn_cox_baseline(const churn_model *m, int centered, double *times,
                                 double *cumhaz, size_t cap, size_t *n)
{
    churn__ok();
    int rc = churn__model_check(m, "churn_cox_baseline", 1, CHURN_FAMILY_COX);
    if (rc)
        return rc;
    cox_base b;
    if ((rc = get_base(m, &b, "churn_cox_baseline")))
        return rc;
    if (n)
        *n = b.nt;
    if (cap == 0)
        return CHURN_OK;
    if (cap < b.nt)
        return churn__error(CHURN_ERANGE, "churn_cox_baseline: buffers hold %zu values, need %zu",
                            cap, b.nt);
    if (!times || !cumhaz)
        return churn__error(CHURN_EINVAL, "churn_cox_baseline: NULL buffer");
    /* Uncentred: H0(t) at x = 0 is the centred hazard times exp(-mean'b). */
    double shift = 0;
    for (size_t j = 0; j < b.p; j++)
        shift += b.mean[j] * m->params[j];
    double f = centered ? 1.0 : exp(-shift);
    for (size_t k = 0; k < b.nt; k++) {
        times[k] = b.time[k];
        cumhaz[k] = b.cumhaz[k] * f;
    }
    return CHURN_OK;
}

CHURN_API int churn_cox_zph(const churn_model *m, size_t n, const double *x,
                            const double *duration, const double *event, const double *weights,
                            double *chisq, double *df, double *p_value)
{
    churn__ok();
    static const char fn[] = "churn_cox_zph";
    int rc = churn__model_check(m, fn, 1, CHURN_FAMILY_COX);
    if (rc)
        return rc;
    if (!chisq)
        return churn__error(CHURN_EINVAL, "%s: chisq is NULL", fn);
    size_t p = m->nfeatures;
    if (p == 0 || m->nparams != p)
        return churn__error(CHURN_EFORMAT, "%s: the Cox model has no features", fn);
    if ((rc = churn__surv_check(fn, n, duration, event, weights, 0, NULL)) ||
        (rc = churn__surv_check_x(fn, n, p, x, m)))
        return rc;
    size_t len = 0;
    const double *tie = churn__model_array(m, "ties", &len);
    int efron = !(tie && len >= 1 && tie[0] == CHURN_TIES_BRESLOW);
    const double *penal = churn__model_array(m, "l2_penalty", &len);
    double theta = (penal && len >= 2) ? penal[0] : 0;
    int scale = (penal && len >= 2) ? penal[1] != 0 : 0;
    const double *b = m->params;
    size_t q = 2 * p;

    /* Grambsch & Therneau (1994), as R survival >= 3.0 computes it: the score
     * test, at (b_hat, 0), for adding x * g(t) to the model, g = the
     * Kaplan-Meier transform 1 - S(t-) centred over the events. With V_t and
     * U_t the information and score contributions of event time t:
     *   u = (0, sum_t g_t U_t),
     *   I = [[sum V_t, sum g_t V_t], [sum g_t V_t, sum g_t^2 V_t]].
     * The V_t sums use the Gram rewriting of cox_eval, once per power of g. */
    uint32_t *ord = churn__malloc(churn__mul_size(n, sizeof(uint32_t)));
    double *mean = churn__calloc(p, sizeof(double)), *wr = churn__malloc(n * sizeof(double));
    double *S1 = churn__malloc(p * sizeof(double)), *D1 = churn__malloc(p * sizeof(double));
    double *u2 = churn__calloc(p, sizeof(double));
    double *M = churn__calloc(3 * p * p, sizeof(double)); /* Gram parts, m = 0, 1, 2 */
    double *A = churn__calloc(3 * p * p, sizeof(double)); /* risk-set mean parts */
    double *info = churn__malloc(q * q * sizeof(double)), *sub = churn__malloc(q * q * sizeof(double));
    double *rhs = churn__malloc(q * sizeof(double)), *sd2 = churn__calloc(p, sizeof(double));
    /* per event time (at most n): g, cumulative g^m h sums, Efron g parts */
    double *bg = churn__malloc(n * sizeof(double)), *bh = churn__malloc(n * sizeof(double));
    double *bge = churn__malloc(n * sizeof(double));
    if (!ord || !mean || !wr || !S1 || !D1 || !u2 || !M || !A || !info || !sub || !rhs || !sd2 ||
        !bg || !bh || !bge) {
        rc = churn__nomem("the proportional-hazards test");
        goto done;
    }
    if ((rc = churn__sort_order(n, duration, ord)))
        goto done;
    double wsum = 0;
    for (size_t i = 0; i < n; i++) {
        double w = weights ? weights[i] : 1.0;
        wsum += w;
        for (size_t j = 0; j < p; j++)
            mean[j] += w * x[i * p + j];
    }
    for (size_t j = 0; j < p; j++)
        mean[j] /= wsum;
    double shift = 0;
    for (size_t j = 0; j < p; j++)
        shift += mean[j] * b[j];
    for (size_t i = 0; i < n; i++) {
        double e = -shift;
        for (size_t j = 0; j < p; j++)
            e += x[i * p + j] * b[j];
        wr[i] = (weights ? weights[i] : 1.0) * exp(e);
    }
    /* g at each distinct event time, increasing: unweighted KM just before t
     * (R: survfitKM without weights, findInterval(left.open = TRUE)). */
    size_t nbk = 0, nev_rows = 0;
    double gsum = 0;
    {
        double surv = 1, atrisk = (double)n;
        size_t k = 0;
        while (k < n) {
            size_t k2 = k;
            double t = duration[ord[k]], d = 0;
            while (k2 < n && duration[ord[k2]] == t) {
                d += event[ord[k2]] != 0;
                k2++;
            }
            if (d > 0) {
                bg[nbk++] = 1 - surv; /* S(t-) */
                gsum += d * (1 - surv);
                nev_rows += (size_t)d;
            }
            surv *= (atrisk - d) / atrisk;
            atrisk -= (double)(k2 - k);
            k = k2;
        }
    }
    for (size_t e = 0; e < nbk; e++)
        bg[e] -= gsum / (double)nev_rows;
    /* Backward pass (latest time first): risk-set sums, U_t and the A parts. */
    {
        double S0 = 0;
        memset(S1, 0, p * sizeof(double));
        size_t e = nbk, k = n;
        while (k > 0) {
            size_t k0 = k;
            double t = duration[ord[k - 1]];
            double D0 = 0, dw = 0;
            size_t dn = 0;
            memset(D1, 0, p * sizeof(double));
            double *U = rhs; /* sum of w (x - mean) over the deaths */
            memset(U, 0, p * sizeof(double));
            while (k0 > 0 && duration[ord[k0 - 1]] == t) {
                size_t i = ord[--k0];
                const double *xi = x + i * p;
                S0 += wr[i];
                for (size_t j = 0; j < p; j++)
                    S1[j] += wr[i] * (xi[j] - mean[j]);
                if (event[i] != 0) {
                    double w = weights ? weights[i] : 1.0;
                    D0 += wr[i];
                    dw += w;
                    dn++;
                    for (size_t j = 0; j < p; j++) {
                        D1[j] += wr[i] * (xi[j] - mean[j]);
                        U[j] += w * (xi[j] - mean[j]);
                    }
                }
            }
            k = k0;
            if (dn == 0)
                continue;
            e--;
            double h = 0, ge = 0, al = 0, be = 0, ga = 0;
            if (!efron || dn == 1) {
                h = dw / S0;
                al = dw / (S0 * S0);
            } else {
                double mw = dw / (double)dn;
                for (size_t kk = 0; kk < dn; kk++) {
                    double f = (double)kk / (double)dn, den = S0 - f * D0;
                    h += mw / den;
                    ge += mw * f / den;
                    al += mw / (den * den);
                    be += mw * f / (den * den);
                    ga += mw * f * f / (den * den);
                }
            }
            double g = bg[e];
            bh[e] = h;
            bge[e] = ge;
            for (size_t j = 0; j < p; j++)
                u2[j] += g * (U[j] - (h * S1[j] - ge * D1[j]));
            double gm = 1;
            for (int pw = 0; pw < 3; pw++, gm *= g)
                for (size_t a = 0; a < p; a++)
                    for (size_t c = 0; c < p; c++)
                        A[pw * p * p + a * p + c] +=
                            gm * (al * S1[a] * S1[c] - be * (S1[a] * D1[c] + D1[a] * S1[c]) +
                                  ga * D1[a] * D1[c]);
        }
    }
    /* Forward: c^(m)_i = sum_{event times <= T_i} g^m h - [death] g(T_i)^m ge(T_i). */
    {
        double H[3] = {0, 0, 0};
        size_t e = 0, k = 0;
        double *xc = rhs;
        while (k < n) {
            size_t k2 = k;
            double t = duration[ord[k]];
            size_t dn = 0;
            while (k2 < n && duration[ord[k2]] == t)
                dn += event[ord[k2++]] != 0;
            double g = 0, ge = 0;
            if (dn) {
                g = bg[e];
                ge = bge[e];
                H[0] += bh[e];
                H[1] += g * bh[e];
                H[2] += g * g * bh[e];
                e++;
            }
            for (size_t kk = k; kk < k2; kk++) {
                size_t i = ord[kk];
                int died = event[i] != 0;
                double c[3] = {H[0] - (died ? ge : 0), H[1] - (died ? g * ge : 0),
                               H[2] - (died ? g * g * ge : 0)};
                for (size_t j = 0; j < p; j++)
                    xc[j] = x[i * p + j] - mean[j];
                for (int pw = 0; pw < 3; pw++) {
                    double f = wr[i] * c[pw];
                    double *Mp = M + pw * p * p;
                    for (size_t a = 0; a < p; a++)
                        for (size_t cc = 0; cc <= a; cc++)
                            Mp[a * p + cc] += f * xc[a] * xc[cc];
                }
            }
            k = k2;
        }
    }
    if (theta > 0 && scale) {
        double *mu = rhs;
        memset(mu, 0, p * sizeof(double));
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < p; j++)
                mu[j] += x[i * p + j] / (double)n;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < p; j++)
                sd2[j] += (x[i * p + j] - mu[j]) * (x[i * p + j] - mu[j]) / (double)(n - 1);
    }
    for (size_t a = 0; a < q; a++)
        for (size_t c = 0; c <= a; c++) {
            size_t pw = (a >= p) + (c >= p), aa = a % p, cc = c % p;
            size_t lo = aa > cc ? aa : cc, hi = aa > cc ? cc : aa; /* M is lower-filled */
            double v = M[pw * p * p + lo * p + hi] - A[pw * p * p + aa * p + cc];
            if (a == c && theta > 0) /* R adds the penalty to both diagonal blocks */
                v += theta * (scale ? sd2[aa] : 1.0);
            info[a * q + c] = info[c * q + a] = v;
        }
    /* per feature (1 df), then global (p df) */
    for (size_t t = 0; t <= p; t++) {
        size_t k = t < p ? p + 1 : q;
        for (size_t a = 0; a < k; a++) {
            size_t ia = (t < p && a == p) ? p + t : a;
            rhs[a] = ia >= p ? u2[ia - p] : 0;
            for (size_t c = 0; c < k; c++) {
                size_t ic = (t < p && c == p) ? p + t : c;
                sub[a * k + c] = info[ia * q + ic];
            }
        }
        double *u0 = bh; /* reuse as a copy of rhs */
        memcpy(u0, rhs, k * sizeof(double));
        if (churn__spd_factor(sub, k) != 0) {
            rc = churn__error(CHURN_ENUMERIC, "%s: the information matrix of the test is "
                              "singular", fn);
            goto done;
        }
        churn__spd_solve(sub, rhs, k);
        double st = 0;
        for (size_t a = 0; a < k; a++)
            st += rhs[a] * u0[a];
        double dfv = t < p ? 1.0 : (double)p;
        chisq[t] = st;
        if (df)
            df[t] = dfv;
        if (p_value)
            p_value[t] = churn__chisq_q(st, dfv);
    }
done:
    churn__free(ord);
    churn__free(mean);
    churn__free(wr);
    churn__free(S1);
    churn__free(D1);
    churn__free(u2);
    churn__free(M);
    churn__free(A);
    churn__free(info);
    churn__free(sub);
    churn__free(rhs);
    churn__free(sd2);
    churn__free(bg);
    churn__free(bh);
    churn__free(bge);
    return rc;
}
