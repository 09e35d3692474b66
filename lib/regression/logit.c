/*
 * Logistic-regression churn model (include/churn/logit.h, docs/models/logit.md).
 *
 * Everything works in an internal, standardised coordinate system:
 *   z_i = (1, (x_ij - c_j) / s_j for the kept columns j)
 * with c_j the weighted mean (0 without an intercept) and s_j the weighted
 * population SD (root mean square without an intercept). The map back to the
 * caller's scale is linear, so fitted values, deviance and the optimum are
 * exactly those of the raw design; standardising only improves the
 * conditioning of Z'WZ and makes one convergence tolerance fit all columns.
 * A penalty on the original coefficients b_j = beta_j / s_j becomes a
 * per-coordinate penalty factor (1/s_j for |.|, 1/s_j^2 for (.)^2).
 *
 * The data are never copied in full: every pass over the rows standardises a
 * block of rows into a small cache-resident buffer, then computes the linear
 * predictor (dgemv), the gradient (dgemv) and Z'WZ (dsyrk) of that block.
 */
#include "core/internal.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

/* LAPACK from OpenBLAS (Debian's libopenblas0 exports it), Fortran calling
 * convention with the hidden CHARACTER length arguments last. */
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info, size_t);
void dpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a, const int *lda,
             double *b, const int *ldb, int *info, size_t);
void dpotri_(const char *uplo, const int *n, double *a, const int *lda, int *info, size_t);
void dpstrf_(const char *uplo, const int *n, double *a, const int *lda, int *piv, int *rank,
             const double *tol, double *work, int *info, size_t);

/* R's glm.fit flags fitted probabilities within 10*DBL_EPSILON of 0 or 1
 * ("fitted probabilities numerically 0 or 1 occurred"); that is
 * |eta| > log((1 - eps)/eps) with eps = 10*DBL_EPSILON. */
#define LOGIT_EXTREME_ETA 33.7386
/* Collinearity: a column whose standardised variance not explained by the
 * previously pivoted columns falls below this is called dependent
 * (pivoted Cholesky of the correlation-scaled Z'WZ; LAPACK dpstrf). */
#define LOGIT_RANK_TOL 1e-10
/* Warm start: fits on at least this many rows first fit a systematic
 * subsample of LOGIT_SUBSAMPLE_ROWS rows (every s-th row). Only the starting
 * point of Newton's method changes, never the optimum it converges to. */
#define LOGIT_SUBSAMPLE_MIN 200000
#define LOGIT_SUBSAMPLE_ROWS 25000

#define WANT_GRAD 1
#define WANT_HESS 2

/* ---- small text buffer for notes and messages --------------------------- */

typedef struct sbuf {
    char *s;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) CHURN__PRINTF(2, 3);
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0)
        return;
    if (b->len + (size_t)need + 1 > b->cap) {
        size_t nc = (b->len + (size_t)need + 1) * 2;
        char *ns = churn__realloc(b->s, nc);
        if (!ns) {
            b->oom = 1;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)need;
}

/* ---- the design ----------------------------------------------------------- */

typedef struct logit_design {
    const double *x;
    size_t n, p, ld;
    int layout;
    const double *y;
    const double *w;  /* final weights (sample x class), n values, owned elsewhere */
    int intercept;
    size_t off;       /* 1 with an intercept, else 0 */
    size_t nkept;     /* kept feature columns */
    size_t k;         /* internal coordinates: off + nkept */
    size_t *col;      /* nkept kept column indices */
    double *center;   /* per kept column */
    double *scale;
    double *inv_scale;
    double *pf1, *pf2;/* per internal coordinate: L1 and L2 penalty factors (0 for b0) */
    int all_kept;     /* col[c] == c for every c */
    /* per original column (p values) */
    double *mean_all;   /* weighted (final weights) mean, used for centering */
    double *feature_mean;/* sample-weight mean, for contributions */
    double *sd_all;     /* weighted SD / RMS; 0 for dropped */
    unsigned char *dropped;
    size_t ndropped;
    double wsum;        /* sum of final weights */
    int integer_weights;/* every weight is an integer: R's rounded log-likelihood = weighted */
    size_t npos_rows;   /* rows with w > 0 */
} logit_design;

static inline double xat(const logit_design *d, size_t i, size_t j)
{
    return d->layout == CHURN_LOGIT_ROW_MAJOR ? d->x[i * d->ld + j] : d->x[j * d->ld + i];
}

static void design_free(logit_design *d)
{
    churn__free(d->col);
    churn__free(d->center);
    churn__free(d->scale);
    churn__free(d->inv_scale);
    churn__free(d->pf1);
    churn__free(d->pf2);
    churn__free(d->mean_all);
    churn__free(d->feature_mean);
    churn__free(d->sd_all);
    churn__free(d->dropped);
    memset(d, 0, sizeof *d);
}

/* Column moments with the final weights `w` (and, when `sw_for_mean` is set,
 * the plain sample-weight mean for contributions; sw NULL = unit weights),
 * the finiteness check of x, constant-column detection and the penalty
 * factors. Shifted sums around the first positive-weight row keep the
 * variance accurate (Chan, Golub & LeVeque 1983); a second exact pass is
 * made when the shift is far from the mean. `names` for messages. */
static int design_prepare(logit_design *d, const double *x, size_t n, size_t p, int layout,
                          size_t ld, const double *y, const double *w, const double *sw,
                          int want_feature_mean, int intercept, int standardize,
                          const char *const *names, int check_finite)
{
    memset(d, 0, sizeof *d);
    d->x = x;
    d->n = n;
    d->p = p;
    d->ld = ld;
    d->layout = layout;
    d->y = y;
    d->w = w;
    d->intercept = intercept;
    d->off = intercept ? 1 : 0;

    size_t r0 = n;
    double W = 0, Ws = 0;
    for (size_t i = 0; i < n; i++)
        if (w[i] > 0) {
            if (r0 == n)
                r0 = i;
            W += w[i];
            d->npos_rows++;
        }
    if (r0 == n)
        return churn__error(CHURN_EINVAL, "churn_logit: every row has weight 0");
    d->wsum = W;
    d->integer_weights = 1;
    for (size_t i = 0; i < n && d->integer_weights; i++)
        d->integer_weights = w[i] == rint(w[i]);

    size_t pp = p ? p : 1;
    double *shift = churn__calloc(pp, sizeof(double));
    double *s1 = churn__calloc(pp, sizeof(double));
    double *s2 = churn__calloc(pp, sizeof(double));
    double *m1 = churn__calloc(pp, sizeof(double));
    d->mean_all = churn__calloc(pp, sizeof(double));
    d->feature_mean = churn__calloc(pp, sizeof(double));
    d->sd_all = churn__calloc(pp, sizeof(double));
    d->dropped = churn__calloc(pp, 1);
    d->col = churn__calloc(pp, sizeof(size_t));
    d->center = churn__calloc(pp, sizeof(double));
    d->scale = churn__calloc(pp, sizeof(double));
    d->inv_scale = churn__calloc(pp, sizeof(double));
    d->pf1 = churn__calloc(pp + 1, sizeof(double));
    d->pf2 = churn__calloc(pp + 1, sizeof(double));
    int rc = CHURN_OK;
    if (!shift || !s1 || !s2 || !m1 || !d->mean_all || !d->feature_mean || !d->sd_all ||
        !d->dropped || !d->col || !d->center || !d->scale || !d->inv_scale || !d->pf1 ||
        !d->pf2) {
        rc = churn__nomem("the logit design");
        goto done;
    }
    for (size_t j = 0; j < p; j++)
        shift[j] = xat(d, r0, j);

    int bad = 0;
    if (layout == CHURN_LOGIT_ROW_MAJOR) {
        for (size_t i = 0; i < n; i++) {
            const double *row = x + i * ld;
            double wi = w[i];
            double swi = sw ? sw[i] : 1.0;
            if (check_finite)
                for (size_t j = 0; j < p; j++)
                    bad |= !isfinite(row[j]);
            if (wi > 0)
                for (size_t j = 0; j < p; j++) {
                    double v = row[j] - shift[j];
                    s1[j] += wi * v;
                    s2[j] += wi * v * v;
                }
            if (want_feature_mean && swi > 0) {
                for (size_t j = 0; j < p; j++)
                    m1[j] += swi * (row[j] - shift[j]);
            }
            if (want_feature_mean && swi > 0)
                Ws += swi;
        }
    } else {
        for (size_t j = 0; j < p; j++) {
            const double *c = x + j * ld;
            double a1 = 0, a2 = 0, am = 0, sh = shift[j];
            for (size_t i = 0; i < n; i++) {
                double v = c[i] - sh;
                if (check_finite)
                    bad |= !isfinite(v);
                double wi = w[i];
                if (wi > 0) {
                    a1 += wi * v;
                    a2 += wi * v * v;
                }
                if (want_feature_mean) {
                    double swi = sw ? sw[i] : 1.0;
                    if (swi > 0)
                        am += swi * v;
                }
            }
            s1[j] = a1;
            s2[j] = a2;
            m1[j] = am;
        }
        if (want_feature_mean)
            for (size_t i = 0; i < n; i++) {
                double swi = sw ? sw[i] : 1.0;
                if (swi > 0)
                    Ws += swi;
            }
    }
    if (bad) {
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < p; j++)
                if (!isfinite(xat(d, i, j))) {
                    rc = churn__error(CHURN_EINVAL, "churn_logit: row index %zu, column '%s': "
                                      "value %g is not a finite number", i,
                                      names[j], xat(d, i, j));
                    goto done;
                }
    }
    int redo = 0;
    for (size_t j = 0; j < p; j++) {
        double mj = s1[j] / W;
        double var = s2[j] / W - mj * mj;
        if (var < 0)
            var = 0;
        d->mean_all[j] = shift[j] + mj;
        d->sd_all[j] = sqrt(var);
        if (s2[j] > 0 && mj * mj > 1e4 * var)
            redo = 1;
        d->feature_mean[j] = want_feature_mean && Ws > 0 ? shift[j] + m1[j] / Ws : d->mean_all[j];
    }
    if (redo) {
        /* the shift was far from the mean: exact second pass around the mean */
        for (size_t j = 0; j < p; j++)
            s2[j] = 0;
        for (size_t i = 0; i < n; i++)
            if (w[i] > 0)
                for (size_t j = 0; j < p; j++) {
                    double v = xat(d, i, j) - d->mean_all[j];
                    s2[j] += w[i] * v * v;
                }
        for (size_t j = 0; j < p; j++)
            if (s2[j] > 0)
                d->sd_all[j] = sqrt(s2[j] / W);
    }
    d->nkept = 0;
    d->all_kept = 1;
    for (size_t j = 0; j < p; j++) {
        /* s2 == 0 exactly <=> every positive-weight value equals the shift */
        int constant = !(s2[j] > 0);
        double center, scale;
        if (intercept) {
            center = d->mean_all[j];
            scale = d->sd_all[j];
        } else {
            center = 0;
            /* root mean square: sum w x^2 = s2 + 2 K s1 + K^2 W */
            double ms = (s2[j] + 2 * shift[j] * s1[j] + shift[j] * shift[j] * W) / W;
            scale = ms > 0 ? sqrt(ms) : 0;
            constant = !(scale > 0);
        }
        if (constant || !(scale > 0) || !isfinite(scale)) {
            d->dropped[j] = 1;
            d->ndropped++;
            d->all_kept = 0;
            d->sd_all[j] = 0;
            continue;
        }
        size_t c = d->nkept++;
        d->col[c] = j;
        if (c != j)
            d->all_kept = 0;
        d->center[c] = center;
        d->scale[c] = scale;
        d->inv_scale[c] = 1.0 / scale;
        if (!intercept)
            d->sd_all[j] = scale;
    }
    d->k = d->off + d->nkept;
    for (size_t c = 0; c < d->nkept; c++) {
        /* penalty on b_j = beta_j / s_j unless the standardised coefficient is penalised */
        d->pf1[d->off + c] = standardize ? 1.0 : d->inv_scale[c];
        d->pf2[d->off + c] = standardize ? 1.0 : d->inv_scale[c] * d->inv_scale[c];
    }
done:
    churn__free(shift);
    churn__free(s1);
    churn__free(s2);
    churn__free(m1);
    if (rc)
        design_free(d);
    return rc;
}

/* ---- workspace -------------------------------------------------------------- */

typedef struct logit_ws {
    size_t k, B;
    double *Z, *eta, *r;     /* block buffers: B*k, B, B */
    double *g, *H, *F;       /* gradient, Hessian (k*k), factor scratch (k*k) */
    double *Hsave;           /* Hessian of the last accepted pass (k*k) */
    double *gsave;
    double *delta, *dprev, *bprev, *b, *u, *tmp; /* k each */
    double *C;               /* k*k scratch for the rank check */
    int *piv;
} logit_ws;

static void ws_free(logit_ws *ws)
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

static int ws_alloc(logit_ws *ws, size_t k)
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
        ws_free(ws);
        return churn__nomem("the logit workspace");
    }
    return CHURN_OK;
}

/* ---- one pass over the rows ------------------------------------------------- */

typedef struct pass_res {
    double wsum;    /* sum of the weights visited */
    double loss;    /* (1/wsum) sum w_i * (-loglik_i) */
    double nll;     /* sum w_i * (-loglik_i) = deviance / 2 */
    double llr;     /* sum round(w_i) * loglik_i (R's binomial()$aic convention) */
    size_t extreme; /* positive-weight rows with |eta| > LOGIT_EXTREME_ETA */
} pass_res;

/* Standardise rows t*stride, t = i0..i0+b-1, into Z (b x k, row-major). */
static void fill_block(const logit_design *d, size_t i0, size_t b, size_t stride, double *Z)
{
    size_t k = d->k, off = d->off, nk = d->nkept;
    const double *cen = d->center, *is = d->inv_scale;
    if (d->layout == CHURN_LOGIT_ROW_MAJOR) {
        for (size_t t = 0; t < b; t++) {
            const double *src = d->x + (i0 + t) * stride * d->ld;
            double *z = Z + t * k;
            if (off)
                z[0] = 1.0;
            double *zf = z + off;
            if (d->all_kept) {
                for (size_t c = 0; c < nk; c++)
                    zf[c] = (src[c] - cen[c]) * is[c];
            } else {
                for (size_t c = 0; c < nk; c++)
                    zf[c] = (src[d->col[c]] - cen[c]) * is[c];
            }
        }
    } else {
        if (off)
            for (size_t t = 0; t < b; t++)
                Z[t * k] = 1.0;
        for (size_t c = 0; c < nk; c++) {
            const double *src = d->x + d->col[c] * d->ld + i0 * stride;
            double m = cen[c], s = is[c];
            double *z = Z + off + c;
            if (stride == 1)
                for (size_t t = 0; t < b; t++)
                    z[t * k] = (src[t] - m) * s;
            else
                for (size_t t = 0; t < b; t++)
                    z[t * k] = (src[t * stride] - m) * s;
        }
    }
}

/*
 * Loss, gradient and Hessian of f(beta) = -(1/W) sum_i w_i loglik_i over the
 * rows 0, stride, 2*stride, ... (McCullagh & Nelder 1989, sec. 4.4: for the
 * logit link the score is Z'(w (y - p)) and the Fisher information Z' diag(w
 * p (1-p)) Z). loglik_i = y_i eta_i - log(1 + e^eta_i), evaluated as
 * y eta - max(eta, 0) - log1p(e^-|eta|) so that no term overflows.
 */
static void logit_pass(const logit_design *d, const double *beta, size_t stride, int want,
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
        fill_block(d, i0, b, stride, Z);
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

/* ---- the fit specification ------------------------------------------------------ */

typedef struct fit_spec {
    double lambda, alpha;
    int max_iter;
    double tol;
    int unpenalised;   /* lambda == 0: rank check, separation handling, covariance */
    int separation;    /* churn_logit_separation */
    int quiet;         /* warm-start subsample: no rank check / separation words */
} fit_spec;

static double penalty_value(const logit_design *d, const fit_spec *s, const double *beta)
{
    if (!(s->lambda > 0))
        return 0;
    double l1 = 0, l2 = 0;
    for (size_t j = d->off; j < d->k; j++) {
        l1 += d->pf1[j] * fabs(beta[j]);
        l2 += d->pf2[j] * beta[j] * beta[j];
    }
    return s->lambda * (s->alpha * l1 + 0.5 * (1 - s->alpha) * l2);
}

typedef struct opt_res {
    int converged;
    int iterations;
    int separated;     /* separation detected (note mode) */
    pass_res last;     /* the pass at the last accepted point */
    double objective;
} opt_res;

/* Symmetric k x k matrix, Cholesky in place (LAPACK 'U' = row-major lower). */
static int chol(double *A, size_t k)
{
    int n = (int)k, info = 0;
    dpotrf_("U", &n, A, &n, &info, 1);
    return info;
}

static void chol_solve(const double *A, size_t k, double *b)
{
    int n = (int)k, one = 1, info = 0;
    dpotrs_("U", &n, &one, A, &n, b, &n, &info, 1);
}

/* Name of internal coordinate j. */
static const char *coord_name(const logit_design *d, const char *const *names, size_t j)
{
    if (j < d->off)
        return "(Intercept)";
    return names[d->col[j - d->off]];
}

/*
 * Collinearity diagnosis on Z'WZ (unpenalised fits, first iteration):
 * pivoted Cholesky (LAPACK dpstrf, Higham 2002 sec. 10.3) of the matrix
 * scaled to unit diagonal. Columns pivoted past the numerical rank are linear
 * combinations of the pivoted ones; solving the leading block for each gives
 * the relation, reported in the caller's units.
 */
static int rank_check(const logit_design *d, const double *H, const char *const *names,
                      logit_ws *ws)
{
    size_t k = d->k;
    double *C = ws->C, *dg = ws->tmp;
    for (size_t i = 0; i < k; i++) {
        dg[i] = H[i * k + i] > 0 ? sqrt(H[i * k + i]) : 0;
        if (!(dg[i] > 0)) {
            /* a column with no information at all (all IRLS weights 0 where it varies) */
            return churn__error(CHURN_ENUMERIC, "churn_logit_fit: column '%s' carries no "
                                "information (X'WX has a zero diagonal entry)",
                                coord_name(d, names, i));
        }
    }
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++)
            C[i * k + j] = H[i * k + j] / (dg[i] * dg[j]);
    memcpy(ws->F, C, k * k * sizeof(double));
    int n = (int)k, rank = 0, info = 0;
    double tol = LOGIT_RANK_TOL;
    dpstrf_("U", &n, ws->F, &n, ws->piv, &rank, &tol, ws->tmp + k, &info, 1);
    if (info < 0)
        return churn__error(CHURN_ENUMERIC, "churn_logit_fit: pivoted Cholesky failed (%d)", info);
    if (rank >= n)
        return CHURN_OK;
    /* First dependent column and its relation to the leading `rank` pivots. */
    size_t r = (size_t)rank;
    size_t jd = (size_t)ws->piv[r] - 1;
    double *coef = ws->u;
    for (size_t i = 0; i < r; i++)
        coef[i] = C[((size_t)ws->piv[i] - 1) * k + jd];
    if (r > 0) {
        int nr = rank, one = 1;
        /* the factor of the leading block is the leading r x r part of F (lda = k) */
        dpotrs_("U", &nr, &one, ws->F, &n, coef, &n, &info, 1);
    }
    sbuf msg = {0};
    sb_printf(&msg, "churn_logit_fit: collinear columns: ");
    /* z_jd/dg_jd = sum_i coef_i z_i/dg_i  ->  x_jd = sum_i a_i x_i + const */
    sbuf rel = {0};
    size_t ninv = 0;
    const char *jname = coord_name(d, names, jd);
    sb_printf(&rel, "'%s' =", jname);
    int has_const = 0;
    for (size_t i = 0; i < r; i++) {
        if (!(fabs(coef[i]) > 1e-6))
            continue;
        size_t ji = (size_t)ws->piv[i] - 1;
        if (ji < d->off) {
            has_const = 1;
            continue;
        }
        double a = coef[i] * dg[jd] / dg[ji];
        if (jd >= d->off)
            a *= d->scale[jd - d->off] / d->scale[ji - d->off];
        sb_printf(&rel, "%s %.6g*'%s'", ninv ? " +" : "", a, coord_name(d, names, ji));
        sb_printf(&msg, "%s'%s'", ninv ? ", " : "", coord_name(d, names, ji));
        ninv++;
    }
    (void)has_const;
    sb_printf(&msg, "%s'%s' are linearly dependent (%s + constant); X'WX has rank %d of %d. "
              "Drop one of them, or fit with a penalty (e.g. L2)", ninv ? " and " : "", jname,
              rel.s ? rel.s : "", rank, n);
    if (n - rank > 1)
        sb_printf(&msg, " (%d further dependent column(s))", n - rank - 1);
    int rc = churn__error(CHURN_ENUMERIC, "%s", msg.oom ? "churn_logit_fit: collinear columns"
                                                         : msg.s);
    churn__free(msg.s);
    churn__free(rel.s);
    return rc;
}

/*
 * Separation test along a direction `dir` (the last Newton step, which in the
 * diverging regime is dominated by the recession direction: Albert &
 * Anderson 1984, Theorem 1 -- the MLE does not exist iff some d != 0 has
 * (2y_i - 1) z_i'd >= 0 for every row). Rows whose projection is below 1e-6 of
 * the largest one count as on the boundary (quasi-complete separation).
 */
static int sep_test(const logit_design *d, const double *dir, logit_ws *ws, size_t *nboundary)
{
    size_t k = d->k, B = ws->B, n = d->n;
    double maxabs = 0, worst = INFINITY;
    /* two sweeps: the scale first, then the signs */
    for (int sweep = 0; sweep < 2; sweep++) {
        size_t nb = 0;
        for (size_t i0 = 0; i0 < n; i0 += B) {
            size_t b = n - i0 < B ? n - i0 : B;
            fill_block(d, i0, b, 1, ws->Z);
            cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)b, (int)k, 1.0, ws->Z, (int)k, dir, 1,
                        0.0, ws->eta, 1);
            for (size_t t = 0; t < b; t++) {
                if (!(d->w[i0 + t] > 0))
                    continue;
                double s = ws->eta[t];
                if (sweep == 0) {
                    if (fabs(s) > maxabs)
                        maxabs = fabs(s);
                } else {
                    double signed_s = d->y[i0 + t] > 0.5 ? s : -s;
                    if (fabs(s) <= 1e-6 * maxabs)
                        nb++;
                    else if (signed_s < worst)
                        worst = signed_s;
                }
            }
        }
        if (sweep == 1)
            *nboundary = nb;
        if (!(maxabs > 0))
            return 0;
    }
    return worst > 0;
}

/* Does kept column c alone (with a threshold) separate the classes, at
 * least quasi-completely? True when every positive-weight value of one
 * class is <= every value of the other (per-class min and max). */
static int column_separates(const logit_design *d, size_t c)
{
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    size_t j = d->col[c];
    for (size_t i = 0; i < d->n; i++) {
        if (!(d->w[i] > 0))
            continue;
        int cls = d->y[i] == 1;
        double v = xat(d, i, j);
        if (v < lo[cls])
            lo[cls] = v;
        if (v > hi[cls])
            hi[cls] = v;
    }
    return hi[0] <= lo[1] || hi[1] <= lo[0];
}

static int separation_error(const logit_design *d, const fit_spec *s, const double *dir,
                            size_t nboundary, const char *const *names, logit_ws *ws, sbuf *note)
{
    double mx = 0;
    for (size_t j = d->off; j < d->k; j++)
        if (fabs(dir[j]) > mx)
            mx = fabs(dir[j]);
    sbuf m = {0};
    sb_printf(&m, "%s separation: ", nboundary ? "quasi-complete" : "complete");
    /* Name the columns that separate on their own when there are any (the
     * recession direction of a complete separation is not unique and may mix
     * in unrelated columns); otherwise the columns of the direction found. */
    unsigned char *pick = churn__calloc(d->k ? d->k : 1, 1);
    if (!pick)
        return churn__nomem("a message");
    size_t cnt = 0;
    for (size_t c = 0; c < d->nkept; c++)
        if (column_separates(d, c)) {
            pick[d->off + c] = 1;
            cnt++;
        }
    if (cnt == 0) {
        double *dd = ws->b;
        memcpy(dd, dir, d->k * sizeof(double));
        for (size_t j = d->off; j < d->k; j++)
            if (fabs(dir[j]) >= 1e-3 * mx && mx > 0) {
                pick[j] = 1;
                cnt++;
            } else {
                dd[j] = 0;
            }
        /* Greedy pruning, smallest component first: a column stays out when
         * the direction without it still separates with no more boundary rows. */
        for (size_t round = 0; round < d->k && cnt > 1; round++) {
            size_t jmin = d->k;
            for (size_t j = d->off; j < d->k; j++)
                if (pick[j] == 1 && (jmin == d->k || fabs(dd[j]) < fabs(dd[jmin])))
                    jmin = j;
            if (jmin == d->k)
                break;
            double keep = dd[jmin];
            dd[jmin] = 0;
            size_t nb = 0;
            if (sep_test(d, dd, ws, &nb) && nb <= nboundary) {
                pick[jmin] = 0;
                cnt--;
            } else {
                dd[jmin] = keep;
                pick[jmin] = 2; /* needed: not tried again */
            }
        }
    }
    size_t t = 0;
    sb_printf(&m, "%s ", cnt > 1 ? "a combination of columns" : "column");
    for (size_t j = d->off; j < d->k; j++)
        if (pick[j]) {
            sb_printf(&m, "%s'%s'", t == 0 ? "" : (t + 1 == cnt ? " and " : ", "),
                      coord_name(d, names, j));
            t++;
        }
    churn__free(pick);
    if (nboundary)
        sb_printf(&m, " predicts the label perfectly except for %zu row(s) on the boundary",
                  nboundary);
    else
        sb_printf(&m, " predicts the label perfectly");
    sb_printf(&m, ", so the maximum-likelihood coefficients are infinite; drop or coarsen "
                  "these columns, or fit with a penalty (e.g. L2)");
    int rc;
    if (m.oom) {
        rc = churn__nomem("a message");
    } else if (s->separation == CHURN_LOGIT_SEPARATION_NOTE && note) {
        sb_printf(note, "%s%s", note->len ? "; " : "", m.s);
        rc = note->oom ? churn__nomem("the model note") : CHURN_OK;
    } else {
        rc = churn__error(CHURN_ESEPARATION, "churn_logit_fit: %s", m.s);
    }
    churn__free(m.s);
    return rc;
}

/*
 * Coordinate descent on the penalised quadratic model around beta
 * (Friedman, Hastie & Tibshirani 2010, sec. 2.1-2.2 "covariance updates"):
 *   q(b) = g'(b - beta) + 1/2 (b - beta)' H (b - beta) + lambda P(b)
 * u = H (b - beta) is kept up to date, so one coordinate update costs O(k).
 * Active-set cycling: one full sweep, then sweeps over the nonzero
 * coordinates until they settle, then a full sweep to confirm (sec. 2.6).
 * Update for coordinate j: b_j <- S(H_jj b_j - g_j - u_j, lambda alpha pf1_j) /
 * (H_jj + lambda (1 - alpha) pf2_j), S the soft-threshold (their eq. 6).
 */
static void cd_quadratic(const logit_design *d, const fit_spec *s, const double *g,
                         const double *H, const double *beta, double *b, double *u)
{
    size_t k = d->k;
    double la = s->lambda * s->alpha, l2 = s->lambda * (1 - s->alpha);
    for (size_t j = 0; j < k; j++)
        u[j] = 0;
    for (size_t j = 0; j < k; j++) {
        double dj = b[j] - beta[j];
        if (dj != 0)
            for (size_t i = 0; i < k; i++)
                u[i] += H[i * k + j] * dj;
    }
    const double tol_in = 1e-14;
    int full = 1;
    for (int sweep = 0; sweep < 100000; sweep++) {
        double maxch = 0;
        int entered = 0;
        for (size_t j = 0; j < k; j++) {
            if (!full && b[j] == 0 && j >= d->off)
                continue;
            double hjj = H[j * k + j];
            double c = hjj * b[j] - g[j] - u[j];
            double bn;
            if (j < d->off) {
                bn = hjj > 0 ? c / hjj : b[j];
            } else {
                double th = la * d->pf1[j];
                double den = hjj + l2 * d->pf2[j];
                double sc = c > th ? c - th : (c < -th ? c + th : 0.0);
                bn = den > 0 ? sc / den : 0.0;
            }
            double dj = bn - b[j];
            if (dj != 0) {
                if (b[j] == 0)
                    entered = 1;
                b[j] = bn;
                for (size_t i = 0; i < k; i++)
                    u[i] += H[i * k + j] * dj;
                double ch = fabs(dj) * sqrt(hjj > 0 ? hjj : 1.0);
                if (ch > maxch)
                    maxch = ch;
            }
        }
        if (full) {
            if (maxch < tol_in && !entered)
                break;
            full = 0;
        } else if (maxch < tol_in) {
            full = 1;
        }
    }
}

/*
 * Minimise F(beta) = f(beta) + lambda P(beta) from the starting point in
 * `beta` (overwritten with the solution). Newton's method for alpha = 0
 * (ridge) and no penalty; proximal Newton with the CD inner solver for
 * alpha > 0. Step halving when F increases (R's glm.fit does the same for
 * a non-finite or increasing deviance). Converged when the largest change of
 * a standardised coefficient in the last step is below tol; the pass saved
 * in res->last (and ws->Hsave) is at the point the last step started from.
 */
static int optimise(const logit_design *d, const fit_spec *s, double *beta, size_t stride,
                    logit_ws *ws, const char *const *names, opt_res *res, sbuf *note)
{
    size_t k = d->k;
    memset(res, 0, sizeof *res);
    double Facc = INFINITY, Fprev_acc = INFINITY;
    int have_acc = 0, halvings = 0, last_sep_check = -100, was_cut = 0;
    double sprev = INFINITY;
    double la2 = s->lambda * (1 - s->alpha);
    int use_cd = s->lambda > 0 && s->alpha > 0;
    pass_res pr;
    for (int it = 0;;) {
        logit_pass(d, beta, stride, WANT_GRAD | WANT_HESS, ws, &pr);
        double F = pr.loss + penalty_value(d, s, beta);
        if (have_acc && !(F <= Facc + 1e-13 * fabs(Facc) + 1e-15)) {
            if (++halvings <= 50) {
                for (size_t j = 0; j < k; j++) {
                    ws->delta[j] *= 0.5;
                    beta[j] = ws->bprev[j] + ws->delta[j];
                }
                continue;
            }
            /* no decrease along a descent direction: bprev is optimal to rounding */
            memcpy(beta, ws->bprev, k * sizeof(double));
            res->converged = 1;
            break;
        }
        was_cut = halvings > 0;
        halvings = 0;
        have_acc = 1;
        Fprev_acc = Facc;
        Facc = F;
        res->last = pr;
        res->objective = F;
        memcpy(ws->bprev, beta, k * sizeof(double));
        memcpy(ws->Hsave, ws->H, k * k * sizeof(double));
        memcpy(ws->gsave, ws->g, k * sizeof(double));

        if (it == 0 && s->unpenalised && !s->quiet) {
            int rc = rank_check(d, ws->H, names, ws);
            if (rc)
                return rc;
        }
        if (it >= s->max_iter) {
            res->iterations = it;
            if (s->unpenalised && !s->quiet && pr.extreme > 0) {
                size_t nb = 0;
                if (sep_test(d, ws->dprev, ws, &nb)) {
                    res->separated = 1;
                    return separation_error(d, s, ws->dprev, nb, names, ws, note);
                }
            }
            return churn__error(CHURN_ENOCONV, "churn_logit_fit: no convergence in %d "
                                "iterations (increase max_iter or the penalty)", s->max_iter);
        }
        /* ---- the step ---- */
        if (!use_cd) {
            double *Fm = ws->F;
            memcpy(Fm, ws->H, k * k * sizeof(double));
            for (size_t j = 0; j < k; j++)
                ws->delta[j] = -ws->g[j];
            if (la2 > 0)
                for (size_t j = d->off; j < k; j++) {
                    Fm[j * k + j] += la2 * d->pf2[j];
                    ws->delta[j] -= la2 * d->pf2[j] * beta[j];
                }
            int info = chol(Fm, k);
            if (info != 0) {
                if (!s->unpenalised || s->quiet)
                    return churn__error(CHURN_ENUMERIC, "churn_logit_fit: the Newton system "
                                        "is not positive definite at iteration %d", it + 1);
                size_t nb = 0;
                if (it > 0 && pr.extreme > 0 && sep_test(d, ws->dprev, ws, &nb)) {
                    res->separated = 1;
                    res->iterations = it;
                    return separation_error(d, s, ws->dprev, nb, names, ws, note);
                }
                return churn__error(CHURN_ENUMERIC, "churn_logit_fit: X'WX became singular at "
                                    "iteration %d (fitted probabilities numerically 0 or 1 "
                                    "for %zu rows)", it + 1, pr.extreme);
            }
            chol_solve(Fm, k, ws->delta);
        } else {
            memcpy(ws->b, beta, k * sizeof(double));
            cd_quadratic(d, s, ws->g, ws->H, beta, ws->b, ws->u);
            for (size_t j = 0; j < k; j++)
                ws->delta[j] = ws->b[j] - beta[j];
        }
        double maxstep = 0;
        for (size_t j = 0; j < k; j++) {
            if (!isfinite(ws->delta[j]))
                return churn__error(CHURN_ENUMERIC, "churn_logit_fit: non-finite Newton step for "
                                    "'%s' at iteration %d", coord_name(d, names, j), it + 1);
            if (fabs(ws->delta[j]) > maxstep)
                maxstep = fabs(ws->delta[j]);
        }
        /* Diverging towards separation: the objective has stalled while the
         * coefficients keep moving and some fits are numerically 0 or 1. */
        if (s->unpenalised && !s->quiet && pr.extreme > 0 && it >= 3 && maxstep >= s->tol &&
            Fprev_acc - F < 1e-10 * (F + 0.01) && it - last_sep_check >= 5) {
            last_sep_check = it;
            size_t nb = 0;
            if (sep_test(d, ws->delta, ws, &nb)) {
                res->separated = 1;
                res->iterations = it + 1;
                for (size_t j = 0; j < k; j++)
                    beta[j] += ws->delta[j];
                return separation_error(d, s, ws->delta, nb, names, ws, note);
            }
        }
        memcpy(ws->dprev, ws->delta, k * sizeof(double));
        for (size_t j = 0; j < k; j++)
            beta[j] += ws->delta[j];
        it++;
        res->iterations = it;
        int done = maxstep < s->tol;
        /* Penalised fits report no standard errors, so they may stop as soon
         * as Newton is seen to converge quadratically (Nocedal & Wright 2006,
         * Thm. 3.5: e_{k+1} <= C e_k^2): with C estimated from the last two
         * full steps, the distance left after this step is about C s^2. */
        if (!done && !s->unpenalised && !was_cut && sprev < 1e-2 && maxstep < sprev) {
            double cq = maxstep / (sprev * sprev);
            if (cq <= 10 && (cq > 1 ? cq : 1.0) * maxstep * maxstep < s->tol) {
                done = 1;
                /* The pass in res->last is at the point before this step, where
                 * the smooth gradient is not 0 (it balances the penalty): move
                 * the loss along the step by Taylor's theorem, error O(s^3). */
                double gd = 0, dhd = 0;
                for (size_t i = 0; i < k; i++) {
                    double hd = 0;
                    for (size_t j = 0; j < k; j++)
                        hd += ws->Hsave[i * k + j] * ws->delta[j];
                    gd += ws->gsave[i] * ws->delta[i];
                    dhd += ws->delta[i] * hd;
                }
                if (d->integer_weights) {
                    res->last.loss += gd + 0.5 * dhd;
                    res->last.nll = res->last.loss * res->last.wsum;
                    res->last.llr = -res->last.nll;
                } else {
                    /* R's log-likelihood with rounded weights needs the rows */
                    logit_pass(d, beta, stride, 0, ws, &res->last);
                }
                res->objective = res->last.loss + penalty_value(d, s, beta);
            }
        }
        sprev = maxstep;
        if (done) {
            res->converged = 1;
            break;
        }
    }
    return CHURN_OK;
}

/* Starting point: the intercept-only fit, b0 = logit(weighted mean of y). */
static void null_start(const logit_design *d, double *beta)
{
    for (size_t j = 0; j < d->k; j++)
        beta[j] = 0;
    if (d->off) {
        double sy = 0;
        for (size_t i = 0; i < d->n; i++)
            if (d->w[i] > 0)
                sy += d->w[i] * d->y[i];
        double ybar = sy / d->wsum;
        beta[0] = log(ybar / (1 - ybar));
    }
}

/* ---- input checks ------------------------------------------------------------- */

static int check_matrix_args(const char *fn, const double *x, size_t n, size_t p, int layout,
                             size_t *ld)
{
    if (n == 0)
        return churn__error(CHURN_EINVAL, "%s: n = 0 rows", fn);
    if (p > 0 && !x)
        return churn__error(CHURN_EINVAL, "%s: x is NULL with p = %zu columns", fn, p);
    if (layout != CHURN_LOGIT_ROW_MAJOR && layout != CHURN_LOGIT_COL_MAJOR)
        return churn__error(CHURN_EINVAL, "%s: layout %d is neither CHURN_LOGIT_ROW_MAJOR (0) "
                            "nor CHURN_LOGIT_COL_MAJOR (1)", fn, layout);
    size_t need = layout == CHURN_LOGIT_ROW_MAJOR ? p : n;
    if (*ld == 0)
        *ld = need;
    if (*ld < need)
        return churn__error(CHURN_EINVAL, "%s: leading dimension ld = %zu is smaller than %s = "
                            "%zu for the %s layout", fn, *ld,
                            layout == CHURN_LOGIT_ROW_MAJOR ? "p" : "n", need,
                            layout == CHURN_LOGIT_ROW_MAJOR ? "row-major" : "column-major");
    size_t outer = layout == CHURN_LOGIT_ROW_MAJOR ? n : p;
    if (outer && *ld && churn__mul_size(outer, *ld) == 0)
        return churn__error(CHURN_EINVAL, "%s: n*ld overflows", fn);
    if ((n > (size_t)INT32_MAX || p > 100000))
        return churn__error(CHURN_EINVAL, "%s: %zu x %zu is larger than supported (n < 2^31, "
                            "p <= 100000)", fn, n, p);
    return CHURN_OK;
}

static int check_options(const char *fn, churn_logit_options *o, int need_penalty)
{
    if (o->penalty < CHURN_LOGIT_PENALTY_NONE || o->penalty > CHURN_LOGIT_PENALTY_ELASTICNET)
        return churn__error(CHURN_EINVAL, "%s: option 'penalty' = %d is not a churn_logit_penalty",
                            fn, o->penalty);
    if (need_penalty && o->penalty == CHURN_LOGIT_PENALTY_NONE)
        return churn__error(CHURN_EINVAL, "%s: option 'penalty' must be L2, L1 or elastic net "
                            "for cross-validation over lambda", fn);
    if (!need_penalty) {
        if (!isfinite(o->lambda) || o->lambda < 0)
            return churn__error(CHURN_EINVAL, "%s: option 'lambda' = %g must be finite and >= 0",
                                fn, o->lambda);
        if (o->penalty == CHURN_LOGIT_PENALTY_NONE && o->lambda != 0)
            return churn__error(CHURN_EINVAL, "%s: option 'lambda' = %g given without a penalty "
                                "(set 'penalty')", fn, o->lambda);
    }
    if (o->penalty == CHURN_LOGIT_PENALTY_ELASTICNET && !(o->alpha >= 0 && o->alpha <= 1))
        return churn__error(CHURN_EINVAL, "%s: option 'alpha' = %g must be in [0, 1]", fn,
                            o->alpha);
    if (o->intercept != 0 && o->intercept != 1)
        return churn__error(CHURN_EINVAL, "%s: option 'intercept' = %d must be 0 or 1", fn,
                            o->intercept);
    if (o->standardize != 0 && o->standardize != 1)
        return churn__error(CHURN_EINVAL, "%s: option 'standardize' = %d must be 0 or 1", fn,
                            o->standardize);
    if (o->class_weight != CHURN_LOGIT_CLASS_WEIGHT_NONE &&
        o->class_weight != CHURN_LOGIT_CLASS_WEIGHT_BALANCED)
        return churn__error(CHURN_EINVAL, "%s: option 'class_weight' = %d is not a "
                            "churn_logit_class_weight", fn, o->class_weight);
    if (o->max_iter < 1)
        return churn__error(CHURN_EINVAL, "%s: option 'max_iter' = %d must be >= 1", fn,
                            o->max_iter);
    if (!isfinite(o->tol) || !(o->tol > 0))
        return churn__error(CHURN_EINVAL, "%s: option 'tol' = %g must be a finite number > 0", fn,
                            o->tol);
    if (o->separation != CHURN_LOGIT_SEPARATION_ERROR &&
        o->separation != CHURN_LOGIT_SEPARATION_NOTE)
        return churn__error(CHURN_EINVAL, "%s: option 'separation' = %d is not a "
                            "churn_logit_separation", fn, o->separation);
    return CHURN_OK;
}

static double opts_alpha(const churn_logit_options *o)
{
    switch (o->penalty) {
    case CHURN_LOGIT_PENALTY_L1:
        return 1.0;
    case CHURN_LOGIT_PENALTY_ELASTICNET:
        return o->alpha;
    default:
        return 0.0;
    }
}

/* Labels, weights and the final weights w = sample weight x class weight. */
static int make_weights(const char *fn, const double *y, const double *sw, size_t n, int cw,
                        double **out)
{
    *out = NULL;
    if (!y)
        return churn__error(CHURN_EINVAL, "%s: y is NULL", fn);
    double cnt[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
        if (!(y[i] == 0 || y[i] == 1))
            return churn__error(CHURN_EINVAL, "%s: row index %zu: label %g is not 0 or 1", fn, i,
                                y[i]);
        if (sw && !(isfinite(sw[i]) && sw[i] >= 0))
            return churn__error(CHURN_EINVAL, "%s: row index %zu: weight %g must be finite and "
                                ">= 0", fn, i, sw[i]);
        if (!sw || sw[i] > 0)
            cnt[y[i] == 1]++;
    }
    if (cnt[0] == 0 && cnt[1] == 0)
        return churn__error(CHURN_EINVAL, "%s: every row has weight 0", fn);
    if (cnt[0] == 0 || cnt[1] == 0)
        return churn__error(CHURN_EINVAL, "%s: the label has only one class (every row with a "
                            "positive weight is %d); a logistic model needs both", fn,
                            cnt[0] == 0 ? 1 : 0);
    double *w = churn__malloc(churn__mul_size(n, sizeof(double)));
    if (!w)
        return churn__nomem("weights");
    double c0 = 1, c1 = 1;
    if (cw == CHURN_LOGIT_CLASS_WEIGHT_BALANCED) {
        /* scikit-learn's compute_class_weight("balanced"): n / (n_classes * n_c) */
        double tot = cnt[0] + cnt[1];
        c0 = tot / (2 * cnt[0]);
        c1 = tot / (2 * cnt[1]);
    }
    for (size_t i = 0; i < n; i++)
        w[i] = (sw ? sw[i] : 1.0) * (y[i] == 1 ? c1 : c0);
    *out = w;
    return CHURN_OK;
}

/* Default names "x1".."xp" when the caller gives none. */
static int make_names(const char *const *given, size_t p, char ***owned, const char *const **use)
{
    *owned = NULL;
    if (given) {
        for (size_t j = 0; j < p; j++)
            if (!given[j])
                return churn__error(CHURN_EINVAL, "churn_logit: feature_names[%zu] is NULL", j);
        *use = given;
        return CHURN_OK;
    }
    char **nm = churn__calloc(p ? p : 1, sizeof(char *));
    if (!nm)
        return churn__nomem("feature names");
    for (size_t j = 0; j < p; j++) {
        nm[j] = churn__malloc(24);
        if (!nm[j]) {
            for (size_t i = 0; i < j; i++)
                churn__free(nm[i]);
            churn__free(nm);
            return churn__nomem("feature names");
        }
        snprintf(nm[j], 24, "x%zu", j + 1);
    }
    *owned = nm;
    *use = (const char *const *)nm;
    return CHURN_OK;
}

static void free_names(char **nm, size_t p)
{
    if (!nm)
        return;
    for (size_t j = 0; j < p; j++)
        churn__free(nm[j]);
    churn__free(nm);
}

/* Coefficients on the caller's scale: b_j = beta_j / s_j,
 * b0 = beta_0 - sum_j b_j c_j. out has 1 + p values. */
static void to_original(const logit_design *d, const double *beta, double *out)
{
    for (size_t j = 0; j <= d->p; j++)
        out[j] = 0;
    double b0 = d->off ? beta[0] : 0;
    for (size_t c = 0; c < d->nkept; c++) {
        double bj = beta[d->off + c] * d->inv_scale[c];
        out[1 + d->col[c]] = bj;
        b0 -= bj * d->center[c];
    }
    out[0] = b0;
}

/* ---- the public fit ---------------------------------------------------------------- */

CHURN_API int churn_logit_options_init(churn_logit_options *opts)
{
    churn__ok();
    if (!opts)
        return churn__error(CHURN_EINVAL, "churn_logit_options_init: opts is NULL");
    churn_logit_options d = CHURN_LOGIT_OPTIONS_INIT;
    *opts = d;
    return CHURN_OK;
}

static int set_scalar(churn_model *m, const char *name, double v)
{
    return churn__model_set_array(m, name, &v, 1);
}

/* Build the model handle from a finished fit. */
static int build_model(churn_model **out, const logit_design *d, const char *const *names,
                       const double *beta, const churn_logit_options *o, const fit_spec *s,
                       const opt_res *res, logit_ws *ws, const char *note)
{
    size_t p = d->p, kp = p + 1;
    int rc;
    const char **pn = churn__malloc(kp * sizeof(char *));
    double *coef = churn__malloc(kp * sizeof(double));
    double *cov = NULL, *T = NULL, *tmp = NULL;
    churn_model *m = NULL;
    if (!pn || !coef) {
        rc = churn__nomem("the logit model");
        goto fail;
    }
    pn[0] = "(Intercept)";
    for (size_t j = 0; j < p; j++)
        pn[1 + j] = names[j];
    rc = churn__model_new(&m, CHURN_FAMILY_LOGIT, kp, pn);
    if (rc)
        goto fail;
    to_original(d, beta, coef);
    memcpy(m->params, coef, kp * sizeof(double));
    rc = churn__model_set_features(m, names, p);
    if (rc)
        goto fail;

    /* covariance: inverse Fisher information (W * H)^-1 in the internal
     * coordinates, mapped with the Jacobian T of to_original: cov = T V T'. */
    size_t k = d->k;
    if (s->unpenalised && res->converged && !res->separated) {
        memcpy(ws->F, ws->Hsave, k * k * sizeof(double));
        int nk = (int)k, info = chol(ws->F, k);
        if (info == 0 && k > 0)
            dpotri_("U", &nk, ws->F, &nk, &info, 1);
        if (info == 0) {
            double *V = ws->F;
            /* dpotri fills the 'U' (Fortran) triangle: V[j*k + i], i <= j */
            for (size_t j = 0; j < k; j++)
                for (size_t i = 0; i < j; i++)
                    V[i * k + j] = V[j * k + i];
            double sc = 1.0 / res->last.wsum;
            T = churn__calloc(kp * (k ? k : 1), sizeof(double));
            tmp = churn__calloc(kp * (k ? k : 1), sizeof(double));
            cov = churn__malloc(kp * kp * sizeof(double));
            if (!T || !tmp || !cov) {
                rc = churn__nomem("the covariance matrix");
                goto fail;
            }
            if (d->off)
                T[0] = 1.0;
            for (size_t c = 0; c < d->nkept; c++) {
                T[0 * k + d->off + c] = -d->center[c] * d->inv_scale[c];
                T[(1 + d->col[c]) * k + d->off + c] = d->inv_scale[c];
            }
            /* tmp = T V (kp x k), cov = tmp T' (kp x kp) */
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)kp, (int)k, (int)k, sc, T,
                        (int)k, V, (int)k, 0.0, tmp, (int)k);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)kp, (int)kp, (int)k, 1.0,
                        tmp, (int)k, T, (int)k, 0.0, cov, (int)kp);
            /* parameters that were not estimated: no variance */
            for (size_t a = 0; a < kp; a++) {
                int est = a == 0 ? d->intercept : !d->dropped[a - 1];
                if (!est)
                    for (size_t b = 0; b < kp; b++)
                        cov[a * kp + b] = cov[b * kp + a] = NAN;
            }
            rc = churn__model_set_cov(m, cov);
            if (rc)
                goto fail;
        }
    }
    double rank = (double)k;
    double dev = 2 * res->last.nll;
    double sy = 0;
    for (size_t i = 0; i < d->n; i++)
        if (d->w[i] > 0)
            sy += d->w[i] * d->y[i];
    double ybar = d->intercept ? sy / d->wsum : 0.5;
    /* null deviance: -2 sum w [y log ybar + (1-y) log(1-ybar)] */
    double nulldev = -2 * (sy * log(ybar) + (d->wsum - sy) * log1p(-ybar));
    double aic = s->unpenalised ? -2 * res->last.llr + 2 * rank : NAN;
    size_t nonzero = 0;
    for (size_t j = 0; j < p; j++)
        if (coef[1 + j] != 0)
            nonzero++;
    m->loglik = res->last.llr;
    m->nobs = d->wsum;
    m->converged = res->converged;
    m->iterations = res->iterations;
    rc = set_scalar(m, "deviance", dev);
    if (!rc) rc = set_scalar(m, "null_deviance", nulldev);
    if (!rc) rc = set_scalar(m, "aic", aic);
    if (!rc) rc = set_scalar(m, "lambda", s->lambda);
    if (!rc) rc = set_scalar(m, "alpha", s->alpha);
    if (!rc) rc = set_scalar(m, "penalty", o->penalty);
    if (!rc) rc = set_scalar(m, "intercept", d->intercept);
    if (!rc) rc = set_scalar(m, "standardize", o->standardize);
    if (!rc) rc = set_scalar(m, "nobs_rows", (double)d->npos_rows);
    if (!rc) rc = set_scalar(m, "sum_weights", d->wsum);
    if (!rc) rc = set_scalar(m, "rank", rank);
    if (!rc) rc = set_scalar(m, "nonzero", (double)nonzero);
    if (!rc) rc = set_scalar(m, "dropped", (double)d->ndropped);
    if (!rc) rc = set_scalar(m, "separated", res->separated);
    if (!rc) rc = churn__model_set_array(m, "feature_mean", d->feature_mean, p);
    if (!rc) rc = churn__model_set_array(m, "feature_sd", d->sd_all, p);
    if (!rc && note && *note)
        rc = churn__model_set_note(m, note);
    if (rc)
        goto fail;
    churn__free(pn);
    churn__free(coef);
    churn__free(cov);
    churn__free(T);
    churn__free(tmp);
    *out = m;
    return CHURN_OK;
fail:
    churn__free(pn);
    churn__free(coef);
    churn__free(cov);
    churn__free(T);
    churn__free(tmp);
    churn_model_free(m);
    return rc;
}

CHURN_API int churn_logit_fit(churn_model **out, const double *x, size_t n, size_t p, int layout,
                              size_t ld, const double *y, const double *weights,
                              const char *const *feature_names, const churn_logit_options *opts)
{
    churn__ok();
    static const char fn[] = "churn_logit_fit";
    if (!out)
        return churn__error(CHURN_EINVAL, "%s: out is NULL", fn);
    *out = NULL;
    churn_logit_options o = CHURN_LOGIT_OPTIONS_INIT;
    int rc = churn__opts_copy(&o, sizeof o, opts, "churn_logit_options");
    if (rc)
        return rc;
    rc = check_options(fn, &o, 0);
    if (!rc)
        rc = check_matrix_args(fn, x, n, p, layout, &ld);
    if (rc)
        return rc;
    double *w = NULL;
    rc = make_weights(fn, y, weights, n, o.class_weight, &w);
    if (rc)
        return rc;
    char **owned = NULL;
    const char *const *names = NULL;
    logit_design d;
    logit_ws ws;
    memset(&d, 0, sizeof d);
    memset(&ws, 0, sizeof ws);
    double *beta = NULL, *beta0 = NULL;
    sbuf note = {0};
    rc = make_names(feature_names, p, &owned, &names);
    if (rc)
        goto done;
    rc = design_prepare(&d, x, n, p, layout, ld, y, w, weights, 1, o.intercept, o.standardize,
                        names, 1);
    if (rc)
        goto done;
    rc = ws_alloc(&ws, d.k);
    beta = churn__calloc(d.k + 1, sizeof(double));
    beta0 = churn__calloc(d.k + 1, sizeof(double));
    if (!rc && (!beta || !beta0))
        rc = churn__nomem("coefficients");
    if (rc)
        goto done;
    if (d.ndropped) {
        sb_printf(&note, "dropped constant column%s ", d.ndropped > 1 ? "s" : "");
        size_t t = 0;
        for (size_t j = 0; j < p; j++)
            if (d.dropped[j]) {
                sb_printf(&note, "%s'%s'", t ? ", " : "", names[j]);
                t++;
            }
        sb_printf(&note, " (coefficient fixed at 0)");
    }

    fit_spec s;
    s.lambda = o.penalty == CHURN_LOGIT_PENALTY_NONE ? 0.0 : o.lambda;
    s.alpha = opts_alpha(&o);
    s.max_iter = o.max_iter;
    s.tol = o.tol;
    s.unpenalised = !(s.lambda > 0);
    s.separation = o.separation;
    s.quiet = 0;

    null_start(&d, beta);
    opt_res res;
    /* Warm start from a systematic subsample on large data (see LOGIT_SUBSAMPLE_MIN). */
    if (d.npos_rows >= LOGIT_SUBSAMPLE_MIN && !(s.lambda > 0 && s.alpha > 0)) {
        size_t stride = n / LOGIT_SUBSAMPLE_ROWS;
        fit_spec sq = s;
        sq.quiet = 1;
        sq.tol = 1e-6;
        sq.max_iter = 30;
        memcpy(beta0, beta, d.k * sizeof(double));
        int wrc = optimise(&d, &sq, beta0, stride, &ws, names, &res, NULL);
        int usable = wrc == CHURN_OK && res.converged && res.last.extreme == 0;
        for (size_t j = 0; usable && j < d.k; j++)
            usable = isfinite(beta0[j]);
        if (usable)
            memcpy(beta, beta0, d.k * sizeof(double));
        churn__ok();
    }
    rc = optimise(&d, &s, beta, 1, &ws, names, &res, &note);
    if (rc)
        goto done;
    if (res.last.extreme > 0 && !res.separated)
        sb_printf(&note, "%sfitted probabilities numerically 0 or 1 for %zu row(s)",
                  note.len ? "; " : "", res.last.extreme);
    if (note.oom) {
        rc = churn__nomem("the model note");
        goto done;
    }
    rc = build_model(out, &d, names, beta, &o, &s, &res, &ws, note.s);
done:
    churn__free(note.s);
    churn__free(beta);
    churn__free(beta0);
    ws_free(&ws);
    design_free(&d);
    free_names(owned, p);
    churn__free(w);
    return rc;
}

/* ---- reports ----------------------------------------------------------------------- */

static double scalar_or(const churn_model *m, const char *name, double dflt)
{
    size_t len = 0;
    const double *v = churn__model_array(m, name, &len);
    return (v && len >= 1) ? v[0] : dflt;
}

/* Copy a filled output struct into the caller's, which may be older (shorter)
 * or newer (longer: the unknown tail is zeroed). */
static int copy_out(void *dst, const void *src, size_t ours, const char *what)
{
    size_t theirs = *(const size_t *)dst;
    if (theirs < sizeof(size_t))
        return churn__error(CHURN_EINVAL, "%s: struct_size %zu is too small (set it to sizeof "
                            "the struct)", what, theirs);
    size_t nb = theirs < ours ? theirs : ours;
    memcpy((char *)dst + sizeof(size_t), (const char *)src + sizeof(size_t),
           nb - sizeof(size_t));
    if (theirs > ours)
        memset((char *)dst + ours, 0, theirs - ours);
    return CHURN_OK;
}

CHURN_API int churn_logit_summary_get(const churn_model *m, churn_logit_summary *out)
{
    churn__ok();
    int rc = churn__model_check(m, "churn_logit_summary_get", 1, CHURN_FAMILY_LOGIT);
    if (rc)
        return rc;
    if (!out)
        return churn__error(CHURN_EINVAL, "churn_logit_summary_get: out is NULL");
    churn_logit_summary s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    s.deviance = scalar_or(m, "deviance", NAN);
    s.null_deviance = scalar_or(m, "null_deviance", NAN);
    s.aic = scalar_or(m, "aic", NAN);
    s.loglik = m->loglik;
    s.nobs = scalar_or(m, "nobs_rows", NAN);
    s.sum_weights = scalar_or(m, "sum_weights", m->nobs);
    s.rank = (size_t)scalar_or(m, "rank", 0);
    s.df_residual = s.nobs - (double)s.rank;
    s.lambda = scalar_or(m, "lambda", 0);
    s.alpha = scalar_or(m, "alpha", 0);
    s.penalty = (int)scalar_or(m, "penalty", 0);
    s.intercept = (int)scalar_or(m, "intercept", 1);
    s.standardize = (int)scalar_or(m, "standardize", 0);
    s.converged = m->converged;
    s.iterations = m->iterations;
    s.separated = (int)scalar_or(m, "separated", 0);
    s.nonzero = (size_t)scalar_or(m, "nonzero", 0);
    s.dropped = (size_t)scalar_or(m, "dropped", 0);
    return copy_out(out, &s, sizeof s, "churn_logit_summary_get");
}

CHURN_API int churn_logit_term_get(const churn_model *m, size_t i, churn_logit_term *out)
{
    churn__ok();
    int rc = churn__model_check(m, "churn_logit_term_get", 1, CHURN_FAMILY_LOGIT);
    if (rc)
        return rc;
    if (!out)
        return churn__error(CHURN_EINVAL, "churn_logit_term_get: out is NULL");
    if (i >= m->nparams)
        return churn__error(CHURN_ERANGE, "churn_logit_term_get: term %zu out of range (the model "
                            "has %zu)", i, m->nparams);
    churn_logit_term t;
    memset(&t, 0, sizeof t);
    t.struct_size = sizeof t;
    t.estimate = m->params[i];
    t.std_error = m->se[i];
    t.odds_ratio = exp(t.estimate);
    if (isfinite(t.std_error) && t.std_error > 0) {
        /* Wald test: z = b/se, two-sided p = 2 Phi(-|z|) = erfc(|z|/sqrt 2) */
        t.z = t.estimate / t.std_error;
        t.p_value = erfc(fabs(t.z) / sqrt(2.0));
        t.odds_ratio_low = exp(t.estimate - 1.959963984540054 * t.std_error);
        t.odds_ratio_high = exp(t.estimate + 1.959963984540054 * t.std_error);
    } else {
        t.std_error = NAN;
        t.z = t.p_value = t.odds_ratio_low = t.odds_ratio_high = NAN;
    }
    return copy_out(out, &t, sizeof t, "churn_logit_term_get");
}

/* ---- prediction ---------------------------------------------------------------------- */

static int check_predict_args(const char *fn, const churn_model *m, const double *x, size_t n,
                              size_t p, int layout, size_t *ld)
{
    int rc = churn__model_check(m, fn, 1, CHURN_FAMILY_LOGIT);
    if (rc)
        return rc;
    if (m->nparams != m->nfeatures + 1)
        return churn__error(CHURN_EFORMAT, "%s: the model has %zu parameters for %zu features "
                            "(expected features + 1)", fn, m->nparams, m->nfeatures);
    if (p != m->nfeatures)
        return churn__error(CHURN_EINVAL, "%s: x has p = %zu columns, the model was fitted on %zu",
                            fn, p, m->nfeatures);
    return check_matrix_args(fn, x, n, p, layout, ld);
}

static int bad_value(const char *fn, const churn_model *m, size_t i, size_t j, double v)
{
    return churn__error(CHURN_EINVAL, "%s: row index %zu, column '%s': value %g is not a finite "
                        "number", fn, i, m->feature_names[j], v);
}

CHURN_API int churn_logit_predict(const churn_model *m, const double *x, size_t n, size_t p,
                                  int layout, size_t ld, double *p_churn,
                                  double *linear_predictor)
{
    churn__ok();
    static const char fn[] = "churn_logit_predict";
    int rc = check_predict_args(fn, m, x, n, p, layout, &ld);
    if (rc)
        return rc;
    const double *b = m->params;
    for (size_t i = 0; i < n; i++) {
        double eta = b[0];
        for (size_t j = 0; j < p; j++) {
            double v = layout == CHURN_LOGIT_ROW_MAJOR ? x[i * ld + j] : x[j * ld + i];
            if (!isfinite(v))
                return bad_value(fn, m, i, j, v);
            eta += b[1 + j] * v;
        }
        if (linear_predictor)
            linear_predictor[i] = eta;
        if (p_churn)
            p_churn[i] = eta >= 0 ? 1.0 / (1.0 + exp(-eta)) : exp(eta) / (1.0 + exp(eta));
    }
    return CHURN_OK;
}

CHURN_API int churn_logit_contributions(const churn_model *m, const double *x, size_t n,
                                        size_t p, int layout, size_t ld, double *contributions,
                                        double *baseline)
{
    churn__ok();
    static const char fn[] = "churn_logit_contributions";
    int rc = check_predict_args(fn, m, x, n, p, layout, &ld);
    if (rc)
        return rc;
    if (!contributions && p > 0)
        return churn__error(CHURN_EINVAL, "%s: contributions is NULL", fn);
    size_t len = 0;
    const double *mean = churn__model_array(m, "feature_mean", &len);
    if (!mean || len != p)
        return churn__error(CHURN_EFORMAT, "%s: the model has no 'feature_mean' array of %zu "
                            "values", fn, p);
    const double *b = m->params;
    double base = b[0];
    for (size_t j = 0; j < p; j++)
        base += b[1 + j] * mean[j];
    if (baseline)
        *baseline = base;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < p; j++) {
            double v = layout == CHURN_LOGIT_ROW_MAJOR ? x[i * ld + j] : x[j * ld + i];
            if (!isfinite(v))
                return bad_value(fn, m, i, j, v);
            contributions[i * p + j] = b[1 + j] * (v - mean[j]);
        }
    return CHURN_OK;
}

/* ---- cross-validation ------------------------------------------------------------------ */

struct churn_logit_cv {
    size_t nlambda, nfolds;
    int metric;
    double *lambda, *mean, *sd;
    size_t imin, i1se;
};

CHURN_API int churn_logit_cv_options_init(churn_logit_cv_options *opts)
{
    churn__ok();
    if (!opts)
        return churn__error(CHURN_EINVAL, "churn_logit_cv_options_init: opts is NULL");
    churn_logit_cv_options d = CHURN_LOGIT_CV_OPTIONS_INIT;
    *opts = d;
    return CHURN_OK;
}

CHURN_API void churn_logit_cv_free(churn_logit_cv *cv)
{
    if (!cv)
        return;
    churn__free(cv->lambda);
    churn__free(cv->mean);
    churn__free(cv->sd);
    churn__free(cv);
}

CHURN_API size_t churn_logit_cv_num_lambda(const churn_logit_cv *cv) { return cv ? cv->nlambda : 0; }

CHURN_API int churn_logit_cv_path(const churn_logit_cv *cv, double *lambda, double *mean,
                                  double *sd, size_t cap)
{
    churn__ok();
    if (!cv)
        return churn__error(CHURN_EINVAL, "churn_logit_cv_path: cv is NULL");
    if ((lambda || mean || sd) && cap < cv->nlambda)
        return churn__error(CHURN_ERANGE, "churn_logit_cv_path: cap = %zu, the path has %zu "
                            "lambdas", cap, cv->nlambda);
    size_t nb = cv->nlambda * sizeof(double);
    if (lambda)
        memcpy(lambda, cv->lambda, nb);
    if (mean)
        memcpy(mean, cv->mean, nb);
    if (sd)
        memcpy(sd, cv->sd, nb);
    return CHURN_OK;
}

CHURN_API double churn_logit_cv_lambda_min(const churn_logit_cv *cv)
{
    return cv ? cv->lambda[cv->imin] : NAN;
}

CHURN_API double churn_logit_cv_lambda_1se(const churn_logit_cv *cv)
{
    return cv ? cv->lambda[cv->i1se] : NAN;
}

CHURN_API int churn_logit_cv_metric_used(const churn_logit_cv *cv) { return cv ? cv->metric : -1; }

/* splitmix64 (Steele, Lea & Flood 2014): a tiny, well-mixed seeded generator. */
static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

typedef struct scored {
    double s, w;
    int y;
} scored;

static int cmp_scored(const void *a, const void *b)
{
    double x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return (x > y) - (x < y);
}

/* Weighted ROC AUC = P(score_pos > score_neg) + P(tie)/2 (Mann-Whitney),
 * by one sort and a sweep over tie groups. */
static double weighted_auc(scored *v, size_t m)
{
    qsort(v, m, sizeof *v, cmp_scored);
    double wneg_below = 0, sum = 0, wp = 0, wn = 0;
    for (size_t a = 0; a < m;) {
        size_t b = a;
        double gp = 0, gn = 0;
        while (b < m && v[b].s == v[a].s) {
            if (v[b].y)
                gp += v[b].w;
            else
                gn += v[b].w;
            b++;
        }
        sum += gp * (wneg_below + 0.5 * gn);
        wneg_below += gn;
        wp += gp;
        wn += gn;
        a = b;
    }
    return (wp > 0 && wn > 0) ? sum / (wp * wn) : NAN;
}

CHURN_API int churn_logit_cross_validate(churn_logit_cv **out, const double *x, size_t n,
                                         size_t p, int layout, size_t ld, const double *y,
                                         const double *weights, const char *const *feature_names,
                                         const churn_logit_options *opts,
                                         const churn_logit_cv_options *cv_opts)
{
    churn__ok();
    static const char fn[] = "churn_logit_cross_validate";
    if (!out)
        return churn__error(CHURN_EINVAL, "%s: out is NULL", fn);
    *out = NULL;
    churn_logit_options o = CHURN_LOGIT_OPTIONS_INIT;
    churn_logit_cv_options co = CHURN_LOGIT_CV_OPTIONS_INIT;
    int rc = churn__opts_copy(&o, sizeof o, opts, "churn_logit_options");
    if (!rc)
        rc = churn__opts_copy(&co, sizeof co, cv_opts, "churn_logit_cv_options");
    if (!rc)
        rc = check_options(fn, &o, 1);
    if (!rc)
        rc = check_matrix_args(fn, x, n, p, layout, &ld);
    if (rc)
        return rc;
    if (co.nfolds < 2)
        return churn__error(CHURN_EINVAL, "%s: option 'nfolds' = %zu must be >= 2", fn,
                            co.nfolds);
    if (co.nlambda < 1 || co.nlambda > 100000)
        return churn__error(CHURN_EINVAL, "%s: option 'nlambda' = %zu must be in [1, 100000]", fn,
                            co.nlambda);
    if (!(co.lambda_min_ratio >= 0 && co.lambda_min_ratio < 1))
        return churn__error(CHURN_EINVAL, "%s: option 'lambda_min_ratio' = %g must be in [0, 1)",
                            fn, co.lambda_min_ratio);
    if (co.metric != CHURN_LOGIT_CV_DEVIANCE && co.metric != CHURN_LOGIT_CV_AUC)
        return churn__error(CHURN_EINVAL, "%s: option 'metric' = %d is not a "
                            "churn_logit_cv_metric", fn, co.metric);

    double *w = NULL, *wf = NULL, *score = NULL, *fold_w = NULL, *beta = NULL, *coef = NULL;
    size_t *fold = NULL, *idx = NULL;
    scored *sv = NULL;
    char **owned = NULL;
    const char *const *names = NULL;
    churn_logit_cv *cv = NULL;
    logit_design d, df;
    logit_ws ws;
    memset(&d, 0, sizeof d);
    memset(&df, 0, sizeof df);
    memset(&ws, 0, sizeof ws);
    size_t K = co.nfolds, L = co.nlambda;

    rc = make_weights(fn, y, weights, n, o.class_weight, &w);
    if (!rc)
        rc = make_names(feature_names, p, &owned, &names);
    if (!rc)
        rc = design_prepare(&d, x, n, p, layout, ld, y, w, weights, 0, o.intercept,
                            o.standardize, names, 1);
    if (rc)
        goto done;
    if (K > d.npos_rows) {
        rc = churn__error(CHURN_EINVAL, "%s: option 'nfolds' = %zu exceeds the %zu rows with a "
                          "positive weight", fn, K, d.npos_rows);
        goto done;
    }
    cv = churn__calloc(1, sizeof *cv);
    wf = churn__malloc(n * sizeof(double));
    fold = churn__malloc(n * sizeof(size_t));
    idx = churn__malloc(n * sizeof(size_t));
    score = churn__calloc(K * L, sizeof(double));
    fold_w = churn__calloc(K, sizeof(double));
    coef = churn__calloc(p + 1, sizeof(double));
    sv = churn__malloc(n * sizeof(scored));
    if (!cv || !wf || !fold || !idx || !score || !fold_w || !coef || !sv) {
        rc = churn__nomem("cross-validation");
        goto done;
    }
    cv->nlambda = L;
    cv->nfolds = K;
    cv->metric = co.metric;
    cv->lambda = churn__calloc(L, sizeof(double));
    cv->mean = churn__calloc(L, sizeof(double));
    cv->sd = churn__calloc(L, sizeof(double));
    if (!cv->lambda || !cv->mean || !cv->sd) {
        rc = churn__nomem("cross-validation");
        goto done;
    }

    /* lambda_max: the smallest lambda at which the KKT conditions hold with
     * every feature coefficient 0 (Friedman et al. 2010, sec. 2.5):
     * max_j |grad_j f(null)| / (alpha pf_j); alpha floored at 1e-3 for ridge. */
    double alpha = opts_alpha(&o);
    {
        rc = ws_alloc(&ws, d.k);
        beta = churn__calloc(d.k + 1, sizeof(double));
        if (!rc && !beta)
            rc = churn__nomem("coefficients");
        if (rc)
            goto done;
        null_start(&d, beta);
        pass_res pr;
        logit_pass(&d, beta, 1, WANT_GRAD, &ws, &pr);
        double a = alpha > 1e-3 ? alpha : 1e-3, lmax = 0;
        for (size_t j = d.off; j < d.k; j++) {
            double v = fabs(ws.g[j]) / (a * d.pf1[j]);
            if (v > lmax)
                lmax = v;
        }
        if (!(lmax > 0) || !isfinite(lmax))
            lmax = 1.0;
        double ratio = co.lambda_min_ratio > 0 ? co.lambda_min_ratio
                                               : (d.npos_rows > d.nkept ? 1e-4 : 1e-2);
        for (size_t l = 0; l < L; l++)
            cv->lambda[l] = L == 1 ? lmax : lmax * pow(ratio, (double)l / (double)(L - 1));
        ws_free(&ws);
        churn__free(beta);
        beta = NULL;
    }

    /* Stratified folds: shuffle each class (Fisher-Yates) and deal in turn. */
    uint64_t state = co.seed;
    size_t pos = 0;
    for (size_t i = 0; i < n; i++)
        fold[i] = K; /* zero-weight rows are in no fold */
    for (int cls = 0; cls < 2; cls++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (w[i] > 0 && (y[i] == 1) == cls)
                idx[m++] = i;
        for (size_t t = m; t > 1; t--) {
            size_t r = (size_t)((double)(splitmix64(&state) >> 11) * 0x1.0p-53 * (double)t);
            if (r >= t)
                r = t - 1;
            size_t tmp = idx[t - 1];
            idx[t - 1] = idx[r];
            idx[r] = tmp;
        }
        for (size_t t = 0; t < m; t++)
            fold[idx[t]] = (pos++) % K;
    }

    for (size_t f = 0; f < K; f++) {
        double tr[2] = {0, 0};
        for (size_t i = 0; i < n; i++) {
            wf[i] = fold[i] == f ? 0.0 : w[i];
            if (wf[i] > 0)
                tr[y[i] == 1] += wf[i];
            if (fold[i] == f)
                fold_w[f] += w[i];
        }
        if (tr[0] == 0 || tr[1] == 0) {
            rc = churn__error(CHURN_EINVAL, "%s: the training rows of fold %zu hold only one "
                              "class; use fewer folds", fn, f + 1);
            goto done;
        }
        rc = design_prepare(&df, x, n, p, layout, ld, y, wf, NULL, 0, o.intercept,
                            o.standardize, names, 0);
        if (!rc)
            rc = ws_alloc(&ws, df.k);
        if (!rc) {
            beta = churn__calloc(df.k + 1, sizeof(double));
            if (!beta)
                rc = churn__nomem("coefficients");
        }
        if (rc)
            goto done;
        null_start(&df, beta);
        for (size_t l = 0; l < L; l++) {
            fit_spec s;
            s.lambda = cv->lambda[l];
            s.alpha = alpha;
            s.max_iter = o.max_iter;
            s.tol = o.tol;
            s.unpenalised = 0;
            s.separation = o.separation;
            s.quiet = 1;
            opt_res res;
            rc = optimise(&df, &s, beta, 1, &ws, names, &res, NULL);
            if (rc)
                goto done;
            to_original(&df, beta, coef);
            /* held-out score */
            size_t m = 0;
            double dev = 0;
            for (size_t i = 0; i < n; i++) {
                if (fold[i] != f)
                    continue;
                double eta = coef[0];
                for (size_t j = 0; j < p; j++)
                    eta += coef[1 + j] * xat(&df, i, j);
                double ll = y[i] * eta - (eta > 0 ? eta : 0) - log1p(exp(-fabs(eta)));
                dev -= 2 * w[i] * ll;
                sv[m].s = eta;
                sv[m].w = w[i];
                sv[m].y = y[i] == 1;
                m++;
            }
            double sc;
            if (co.metric == CHURN_LOGIT_CV_DEVIANCE) {
                sc = dev / fold_w[f];
            } else {
                sc = weighted_auc(sv, m);
                if (!isfinite(sc)) {
                    rc = churn__error(CHURN_EINVAL, "%s: held-out fold %zu holds only one class, "
                                      "so its AUC is undefined; use fewer folds or the deviance",
                                      fn, f + 1);
                    goto done;
                }
            }
            score[f * L + l] = sc;
        }
        design_free(&df);
        ws_free(&ws);
        churn__free(beta);
        beta = NULL;
    }

    /* Aggregate: fold-weight-weighted mean and spread, like cv.glmnet. */
    double Wt = 0;
    for (size_t f = 0; f < K; f++)
        Wt += fold_w[f];
    for (size_t l = 0; l < L; l++) {
        double mu = 0, v = 0;
        for (size_t f = 0; f < K; f++)
            mu += fold_w[f] * score[f * L + l];
        mu /= Wt;
        for (size_t f = 0; f < K; f++) {
            double dd = score[f * L + l] - mu;
            v += fold_w[f] * dd * dd;
        }
        v = v / Wt * (double)K / (double)(K - 1);
        cv->mean[l] = mu;
        cv->sd[l] = sqrt(v);
    }
    int higher = co.metric == CHURN_LOGIT_CV_AUC;
    size_t best = 0;
    for (size_t l = 1; l < L; l++)
        if (higher ? cv->mean[l] > cv->mean[best] : cv->mean[l] < cv->mean[best])
            best = l;
    double se = cv->sd[best] / sqrt((double)K);
    size_t one = best;
    for (size_t l = 0; l < best; l++) {
        int ok = higher ? cv->mean[l] >= cv->mean[best] - se : cv->mean[l] <= cv->mean[best] + se;
        if (ok) {
            one = l;
            break;
        }
    }
    cv->imin = best;
    cv->i1se = one;
    *out = cv;
    cv = NULL;
done:
    churn_logit_cv_free(cv);
    design_free(&d);
    design_free(&df);
    ws_free(&ws);
    churn__free(w);
    churn__free(wf);
    churn__free(fold);
    churn__free(idx);
    churn__free(score);
    churn__free(fold_w);
    churn__free(beta);
    churn__free(coef);
    churn__free(sv);
    free_names(owned, p);
    return rc;
}
