/*
 * The workspace of a fit and one pass over the rows: the loss, gradient and
 * Hessian of the logistic log-likelihood, computed block by block on rows
 * standardised into a small cache-resident buffer, with BLAS doing the
 * linear predictor (dgemv), the gradient (dgemv) and Z'WZ (dsyrk).
 *
 * Calls: design.c (churn__logit_fill_block).
 */
#include "regression/regression_internal.h"

#include <cblas.h>

void churn__logit_ws_free(logit_ws *ws)
{
    churn__free(ws->Z);
    churn__free(ws->eta);
    churn__free(ws->r);
    churn__free(ws->g);
    churn__free(ws->H);
    churn__free(ws->F);
    churn__free(ws->Hsave);
    churn__free(ws->gsave);
    churn__free(ws->delta);
    churn__free(ws->dprev);
    churn__free(ws->bprev);
    churn__free(ws->b);
    churn__free(ws->u);
    churn__free(ws->tmp);
    churn__free(ws->C);
    churn__free(ws->piv);
    memset(ws, 0, sizeof *ws);
}

int churn__logit_ws_alloc(logit_ws *ws, size_t k)
{
    memset(ws, 0, sizeof *ws);
    size_t kk = k ? k : 1;
    ws->k = k;
    /* about 256 KiB of standardised rows: stays in L2 between the three BLAS calls */
    ws->B = 32768 / kk;
    if (ws->B < 64)
        ws->B = 64;
    if (ws->B > 4096)
        ws->B = 4096;
    ws->Z = churn__malloc(churn__mul_size(ws->B * kk, sizeof(double)));
    ws->eta = churn__malloc(ws->B * sizeof(double));
    ws->r = churn__malloc(ws->B * sizeof(double));
    ws->g = churn__calloc(kk, sizeof(double));
    ws->H = churn__calloc(kk * kk, sizeof(double));
    ws->F = churn__calloc(kk * kk, sizeof(double));
    ws->Hsave = churn__calloc(kk * kk, sizeof(double));
    ws->gsave = churn__calloc(kk, sizeof(double));
    ws->delta = churn__calloc(kk, sizeof(double));
    ws->dprev = churn__calloc(kk, sizeof(double));
    ws->bprev = churn__calloc(kk, sizeof(double));
    ws->b = churn__calloc(kk, sizeof(double));
    ws->u = churn__calloc(kk, sizeof(double));
    ws->tmp = churn__calloc(3 * kk, sizeof(double));
    ws->C = churn__calloc(kk * kk, sizeof(double));
    ws->piv = churn__calloc(kk, sizeof(int));
    if (!ws->Z || !ws->eta || !ws->r || !ws->g || !ws->H || !ws->F || !ws->Hsave || !ws->gsave ||
        !ws->delta || !ws->dprev || !ws->bprev || !ws->b || !ws->u || !ws->tmp || !ws->C ||
        !ws->piv) {
        churn__logit_ws_free(ws);
        return churn__nomem("the logit workspace");
    }
    return CHURN_OK;
}


/*
 * Loss, gradient and Hessian of f(beta) = -(1/W) sum_i w_i loglik_i over the
 * rows 0, stride, 2*stride, ... (McCullagh & Nelder 1989, sec. 4.4: for the
 * logit link the score is Z'(w (y - p)) and the Fisher information Z' diag(w
 * p (1-p)) Z). loglik_i = y_i eta_i - log(1 + e^eta_i), evaluated as
 * y eta - max(eta, 0) - log1p(e^-|eta|) so that no term overflows.
 */
void churn__logit_pass(const logit_design *d, const double *beta, size_t stride, int want,
                       logit_ws *ws, pass_res *res)
{
    size_t k = d->k, B = ws->B;
    size_t nvis = (d->n + stride - 1) / stride;
    double *Z = ws->Z, *eta = ws->eta, *r = ws->r, *g = ws->g, *H = ws->H;
    double wsum = 0, nll = 0, llr = 0;
    size_t extreme = 0;
    if (want & WANT_GRAD)
        memset(g, 0, k * sizeof(double));
    if (want & WANT_HESS)
        memset(H, 0, k * k * sizeof(double));
    for (size_t i0 = 0; i0 < nvis; i0 += B) {
        size_t b = nvis - i0 < B ? nvis - i0 : B;
        churn__logit_fill_block(d, i0, b, stride, Z);
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)b, (int)k, 1.0, Z, (int)k, beta, 1, 0.0,
                    eta, 1);
        for (size_t t = 0; t < b; t++) {
            size_t row = (i0 + t) * stride;
            double wi = d->w[row];
            double e = eta[t], a = fabs(e);
            double ex = exp(-a), opx = 1.0 + ex;
            double pr = e >= 0 ? 1.0 / opx : ex / opx;
            double yi = d->y[row];
            double ll = yi * e - (e > 0 ? e : 0) - log1p(ex);
            if (wi > 0) {
                nll -= wi * ll;
                llr += rint(wi) * ll;
                wsum += wi;
                if (a > LOGIT_EXTREME_ETA)
                    extreme++;
            }
            r[t] = wi * (yi - pr);
            /* sqrt of the IRLS weight w p (1 - p) = w e^-|eta| / (1 + e^-|eta|)^2 */
            eta[t] = sqrt(wi * ex) / opx;
        }
        if (want & WANT_GRAD)
            cblas_dgemv(CblasRowMajor, CblasTrans, (int)b, (int)k, -1.0, Z, (int)k, r, 1, 1.0, g,
                        1);
        if (want & WANT_HESS) {
            for (size_t t = 0; t < b; t++) {
                double s = eta[t];
                double *z = Z + t * k;
                for (size_t j = 0; j < k; j++)
                    z[j] *= s;
            }
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)k, (int)b, 1.0, Z, (int)k,
                        1.0, H, (int)k);
        }
    }
    double inv = wsum > 0 ? 1.0 / wsum : 0.0;
    if (want & WANT_GRAD)
        for (size_t j = 0; j < k; j++)
            g[j] *= inv;
    if (want & WANT_HESS)
        for (size_t i = 0; i < k; i++) {
            for (size_t j = i; j < k; j++)
                H[i * k + j] *= inv;
            for (size_t j = 0; j < i; j++)
                H[i * k + j] = H[j * k + i];
        }
    res->wsum = wsum;
    res->nll = nll;
    res->loss = nll * inv;
    res->llr = llr;
    res->extreme = extreme;
}
