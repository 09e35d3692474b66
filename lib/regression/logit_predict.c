/*
 * Prediction with a fitted logistic model: churn probabilities and linear
 * predictors, and the per-feature contributions to the linear predictor
 * relative to the training means.
 *
 * Calls: args.c (churn__logit_check_matrix_args).
 */
#include "regression/regression_internal.h"

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
    return churn__logit_check_matrix_args(fn, x, n, p, layout, ld);
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
