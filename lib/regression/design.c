/*
 * The logistic-regression design: column moments, the finiteness check of x,
 * constant-column detection, the standardisation of the kept columns, the
 * penalty factors, row blocks in standardised coordinates and the map of
 * coefficients back to the caller's scale.
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
 * block of rows into a small cache-resident buffer (churn__logit_fill_block).
 *
 * Calls: core/ only; no other regression file.
 */
#include "regression/regression_internal.h"

/* Scratch column sums of design_prepare: shifted first and second moments
 * with the final weights, the shifted sample-weight sum for the feature
 * means, and the total sample weight. */
typedef struct col_sums {
    double *shift, *s1, *s2, *m1;
    double Ws;
} col_sums;

void churn__logit_design_free(logit_design *d)
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

static void design_init(logit_design *d, const double *x, size_t n, size_t p, int layout,
                        size_t ld, const double *y, const double *w, int intercept)
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
}

/* The sum of the weights, the positive-weight rows and whether every weight
 * is an integer. Returns the first positive-weight row (n when none). */
static size_t weight_totals(logit_design *d)
{
    size_t n = d->n, r0 = n;
    const double *w = d->w;
    double W = 0;
    for (size_t i = 0; i < n; i++)
        if (w[i] > 0) {
            if (r0 == n)
                r0 = i;
            W += w[i];
            d->npos_rows++;
        }
    if (r0 == n)
        return r0;
    d->wsum = W;
    d->integer_weights = 1;
    for (size_t i = 0; i < n && d->integer_weights; i++)
        d->integer_weights = w[i] == rint(w[i]);
    return r0;
}

static int design_alloc(logit_design *d, size_t pp, col_sums *cs)
{
    cs->shift = churn__calloc(pp, sizeof(double));
    cs->s1 = churn__calloc(pp, sizeof(double));
    cs->s2 = churn__calloc(pp, sizeof(double));
    cs->m1 = churn__calloc(pp, sizeof(double));
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
    if (!cs->shift || !cs->s1 || !cs->s2 || !cs->m1 || !d->mean_all || !d->feature_mean ||
        !d->sd_all || !d->dropped || !d->col || !d->center || !d->scale || !d->inv_scale ||
        !d->pf1 || !d->pf2)
        return churn__nomem("the logit design");
    return CHURN_OK;
}

/* Shifted column sums of a row-major x in one sweep over the rows. Returns
 * whether a non-finite value was seen (only with check_finite). */
static int sums_row_major(const logit_design *d, const double *sw, int want_feature_mean,
                          int check_finite, col_sums *cs)
{
    size_t n = d->n, p = d->p;
    const double *shift = cs->shift;
    double *s1 = cs->s1, *s2 = cs->s2, *m1 = cs->m1;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        const double *row = d->x + i * d->ld;
        double wi = d->w[i];
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
            cs->Ws += swi;
    }
    return bad;
}

/* The same sums for a column-major x, one column at a time. */
static int sums_col_major(const logit_design *d, const double *sw, int want_feature_mean,
                          int check_finite, col_sums *cs)
{
    size_t n = d->n, p = d->p;
    const double *w = d->w;
    int bad = 0;
    for (size_t j = 0; j < p; j++) {
        const double *c = d->x + j * d->ld;
        double a1 = 0, a2 = 0, am = 0, sh = cs->shift[j];
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
        cs->s1[j] = a1;
        cs->s2[j] = a2;
        cs->m1[j] = am;
    }
    if (want_feature_mean)
        for (size_t i = 0; i < n; i++) {
            double swi = sw ? sw[i] : 1.0;
            if (swi > 0)
                cs->Ws += swi;
        }
    return bad;
}

/* The error naming the first non-finite value of x (row by row). */
static int nonfinite_error(const logit_design *d, const char *const *names)
{
    for (size_t i = 0; i < d->n; i++)
        for (size_t j = 0; j < d->p; j++)
            if (!isfinite(churn__logit_xat(d, i, j)))
                return churn__error(CHURN_EINVAL, "churn_logit: row index %zu, column '%s': "
                                    "value %g is not a finite number", i,
                                    names[j], churn__logit_xat(d, i, j));
    return CHURN_OK;
}

/* Means, SDs and feature means from the shifted sums. Returns whether the
 * shift was so far from a mean that the variance needs an exact pass. */
static int column_moments(logit_design *d, const col_sums *cs, int want_feature_mean)
{
    double W = d->wsum, Ws = cs->Ws;
    const double *shift = cs->shift, *s1 = cs->s1, *s2 = cs->s2, *m1 = cs->m1;
    int redo = 0;
    for (size_t j = 0; j < d->p; j++) {
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
    return redo;
}

/* The shift was far from the mean: exact second pass around the mean. */
static void exact_variance(logit_design *d, double *s2)
{
    size_t n = d->n, p = d->p;
    const double *w = d->w;
    for (size_t j = 0; j < p; j++)
        s2[j] = 0;
    for (size_t i = 0; i < n; i++)
        if (w[i] > 0)
            for (size_t j = 0; j < p; j++) {
                double v = churn__logit_xat(d, i, j) - d->mean_all[j];
                s2[j] += w[i] * v * v;
            }
    for (size_t j = 0; j < p; j++)
        if (s2[j] > 0)
            d->sd_all[j] = sqrt(s2[j] / d->wsum);
}

/* Drop the constant columns; center and scale of the kept ones. */
static void keep_columns(logit_design *d, const col_sums *cs)
{
    double W = d->wsum;
    const double *shift = cs->shift, *s1 = cs->s1, *s2 = cs->s2;
    d->nkept = 0;
    d->all_kept = 1;
    for (size_t j = 0; j < d->p; j++) {
        /* s2 == 0 exactly <=> every positive-weight value equals the shift */
        int constant = !(s2[j] > 0);
        double center, scale;
        if (d->intercept) {
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
        if (!d->intercept)
            d->sd_all[j] = scale;
    }
    d->k = d->off + d->nkept;
}

static void penalty_factors(logit_design *d, int standardize)
{
    for (size_t c = 0; c < d->nkept; c++) {
        /* penalty on b_j = beta_j / s_j unless the standardised coefficient is penalised */
        d->pf1[d->off + c] = standardize ? 1.0 : d->inv_scale[c];
        d->pf2[d->off + c] = standardize ? 1.0 : d->inv_scale[c] * d->inv_scale[c];
    }
}

/* Column moments with the final weights `w` (and, when `want_feature_mean`
 * is set, the plain sample-weight mean for contributions; sw NULL = unit
 * weights), the finiteness check of x, constant-column detection and the
 * penalty factors. Shifted sums around the first positive-weight row keep the
 * variance accurate (Chan, Golub & LeVeque 1983); a second exact pass is
 * made when the shift is far from the mean. `names` for messages. */
int churn__logit_design_prepare(logit_design *d, const double *x, size_t n, size_t p,
                                int layout, size_t ld, const double *y, const double *w,
                                const double *sw, int want_feature_mean, int intercept,
                                int standardize, const char *const *names, int check_finite)
{
    design_init(d, x, n, p, layout, ld, y, w, intercept);
    size_t r0 = weight_totals(d);
    if (r0 == n)
        return churn__error(CHURN_EINVAL, "churn_logit: every row has weight 0");
    col_sums cs = {0};
    int rc = design_alloc(d, p ? p : 1, &cs);
    if (rc)
        goto done;
    for (size_t j = 0; j < p; j++)
        cs.shift[j] = churn__logit_xat(d, r0, j);
    int bad = layout == CHURN_LOGIT_ROW_MAJOR
                  ? sums_row_major(d, sw, want_feature_mean, check_finite, &cs)
                  : sums_col_major(d, sw, want_feature_mean, check_finite, &cs);
    if (bad) {
        rc = nonfinite_error(d, names);
        if (rc)
            goto done;
    }
    if (column_moments(d, &cs, want_feature_mean))
        exact_variance(d, cs.s2);
    keep_columns(d, &cs);
    if (d->k == 0) {
        /* nothing to estimate; BLAS/LAPACK would get zero dimensions, and
         * OpenBLAS's xerbla prints about them (docs/abi.md: never prints) */
        rc = churn__error(CHURN_EINVAL, "churn_logit: nothing to estimate: option 'intercept' "
                          "is 0 and %s", p ? "every column was dropped (all zero)" :
                                             "there are no columns (p = 0)");
        goto done;
    }
    penalty_factors(d, standardize);
done:
    churn__free(cs.shift);
    churn__free(cs.s1);
    churn__free(cs.s2);
    churn__free(cs.m1);
    if (rc)
        churn__logit_design_free(d);
    return rc;
}

void churn__logit_fill_block(const logit_design *d, size_t i0, size_t b, size_t stride,
                             double *Z)
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

/* Name of internal coordinate j. */
const char *churn__logit_coord_name(const logit_design *d, const char *const *names, size_t j)
{
    if (j < d->off)
        return "(Intercept)";
    return names[d->col[j - d->off]];
}

/* Coefficients on the caller's scale: b_j = beta_j / s_j,
 * b0 = beta_0 - sum_j b_j c_j. out has 1 + p values. */
void churn__logit_to_original(const logit_design *d, const double *beta, double *out)
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

/* Starting point: the intercept-only fit, b0 = logit(weighted mean of y). */
void churn__logit_null_start(const logit_design *d, double *beta)
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
