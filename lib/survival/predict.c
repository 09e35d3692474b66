/*
 * The public survival predictions and summaries of a fitted Cox or AFT
 * model: check the model and the inputs once, then dispatch by family to the
 * back ends (churn_surv_predict, churn_surv_curve, churn_surv_median,
 * churn_surv_mean_residual_life; the stored null log-likelihood, event count
 * and concordance).
 *
 * Calls: cox_predict.c and aft.c (per-family back ends), surv_common.c
 * (feature checks) and core/.
 */
#include "survival/survival_internal.h"

/* A Cox or AFT model and n rows of its finite features; messages name `fn`. */
static int pred_check(const churn_model *m, const char *fn, size_t n, const double *x)
{
    churn__ok();
    if (!m)
        return churn__error(CHURN_EINVAL, "%s: model is NULL", fn);
    if (m->family != CHURN_FAMILY_COX && !churn__is_aft(m->family))
        return churn__error(CHURN_EFAMILY, "%s: not defined for a '%s' model", fn,
                            churn_family_name(m->family));
    return churn__surv_check_x(fn, n, m->nfeatures, x, m);
}

CHURN_API int churn_surv_predict(const churn_model *m, size_t n, const double *x, double horizon,
                                 double *survival, double *p_churn, double *linear_predictor)
{
    int rc = pred_check(m, "churn_surv_predict", n, x);
    if (rc)
        return rc;
    if (!isfinite(horizon) || horizon < 0)
        return churn__error(CHURN_EINVAL, "churn_surv_predict: horizon %g must be finite and "
                            ">= 0", horizon);
    double *s = survival;
    double *tmp = NULL;
    if (!s && p_churn) {
        tmp = churn__malloc(churn__mul_size(n ? n : 1, sizeof(double)));
        if (!tmp)
            return churn__nomem("predictions");
        s = tmp;
    }
    if (m->family == CHURN_FAMILY_COX)
        rc = churn__cox_predict(m, n, x, horizon, s, linear_predictor);
    else
        rc = churn__aft_predict(m, n, x, horizon, s, linear_predictor);
    if (!rc && p_churn)
        for (size_t i = 0; i < n; i++)
            p_churn[i] = 1 - s[i];
    churn__free(tmp);
    return rc;
}

CHURN_API int churn_surv_curve(const churn_model *m, const double *x, size_t nt,
                               const double *times, double *survival, double *std_err)
{
    int rc = pred_check(m, "churn_surv_curve", 1, x);
    if (rc)
        return rc;
    if (nt && (!times || !survival))
        return churn__error(CHURN_EINVAL, "churn_surv_curve: %s is NULL",
                            times ? "survival" : "times");
    for (size_t i = 0; i < nt; i++)
        if (!isfinite(times[i]) || times[i] < 0)
            return churn__error(CHURN_EINVAL, "churn_surv_curve: times[%zu] = %g must be finite "
                                "and >= 0", i, times[i]);
    if (m->family == CHURN_FAMILY_COX)
        return churn__cox_curve(m, x, nt, times, survival, std_err);
    return churn__aft_curve(m, x, nt, times, survival, std_err);
}

CHURN_API int churn_surv_median(const churn_model *m, size_t n, const double *x, double *median)
{
    int rc = pred_check(m, "churn_surv_median", n, x);
    if (rc)
        return rc;
    if (n && !median)
        return churn__error(CHURN_EINVAL, "churn_surv_median: median is NULL");
    if (m->family == CHURN_FAMILY_COX)
        return churn__cox_median(m, n, x, median);
    return churn__aft_median(m, n, x, median);
}

CHURN_API int churn_surv_mean_residual_life(const churn_model *m, size_t n, const double *x,
                                            double horizon, double *mrl)
{
    churn__ok();
    if (m && m->family == CHURN_FAMILY_COX)
        return churn__error(CHURN_EFAMILY, "churn_surv_mean_residual_life: not defined for a "
                            "'cox' model (its baseline hazard ends at the last event time)");
    int rc = pred_check(m, "churn_surv_mean_residual_life", n, x);
    if (rc)
        return rc;
    if (!isfinite(horizon) || horizon < 0)
        return churn__error(CHURN_EINVAL, "churn_surv_mean_residual_life: horizon %g must be "
                            "finite and >= 0", horizon);
    if (n && !mrl)
        return churn__error(CHURN_EINVAL, "churn_surv_mean_residual_life: mrl is NULL");
    return churn__aft_mrl(m, n, x, horizon, mrl);
}

static double stored_scalar(const churn_model *m, const char *name)
{
    size_t len = 0;
    const double *a = churn__model_array(m, name, &len);
    return (a && len >= 1) ? a[0] : NAN;
}

static int is_surv(const churn_model *m)
{
    return m && (m->family == CHURN_FAMILY_COX || churn__is_aft(m->family));
}

CHURN_API double churn_surv_loglik_null(const churn_model *m)
{
    return is_surv(m) ? stored_scalar(m, CHURN__SURV_LOGLIK_NULL) : NAN;
}

CHURN_API double churn_surv_num_events(const churn_model *m)
{
    return is_surv(m) ? stored_scalar(m, CHURN__SURV_NEVENTS) : NAN;
}

CHURN_API int churn_surv_concordance(const churn_model *m, double *c_index)
{
    churn__ok();
    if (!m || !c_index)
        return churn__error(CHURN_EINVAL, "churn_surv_concordance: NULL argument");
    if (!is_surv(m))
        return churn__error(CHURN_EFAMILY, "churn_surv_concordance: not defined for a '%s' "
                            "model", churn_family_name(m->family));
    double c = stored_scalar(m, CHURN__SURV_CONCORDANCE);
    if (isnan(c))
        return churn__error(CHURN_EFORMAT, "churn_surv_concordance: the model has no '%s' array",
                            CHURN__SURV_CONCORDANCE);
    *c_index = c;
    return CHURN_OK;
}
