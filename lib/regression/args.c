/*
 * The checks of the arguments shared by the fit, cross-validation and
 * prediction (matrix shape and layout, options), the labels and final
 * weights, and the default feature names.
 *
 * Calls: core/ only; no other regression file.
 */
#include "regression/regression_internal.h"

#include <stdio.h>

int churn__logit_check_matrix_args(const char *fn, const double *x, size_t n, size_t p,
                                   int layout, size_t *ld)
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

int churn__logit_check_options(const char *fn, churn_logit_options *o, int need_penalty)
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

double churn__logit_opts_alpha(const churn_logit_options *o)
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
int churn__logit_make_weights(const char *fn, const double *y, const double *sw, size_t n,
                              int cw, double **out)
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
int churn__logit_make_names(const char *const *given, size_t p, char ***owned,
                            const char *const **use)
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

void churn__logit_free_names(char **nm, size_t p)
{
    if (!nm)
        return;
    for (size_t j = 0; j < p; j++)
        churn__free(nm[j]);
    churn__free(nm);
}
