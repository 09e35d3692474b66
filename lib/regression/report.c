/*
 * Reports on a fitted logistic model: the fit summary and the per-term
 * table (estimate, standard error, Wald z and p, odds-ratio interval),
 * copied into the caller's versioned structs.
 *
 * Calls: core/ only; no other regression file.
 */
#include "regression/regression_internal.h"

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
