/*
 * The input checks that every BTYD and sBG entry point shares: a purchase
 * history row (x, t_x, T), a weight, a parameter vector, a horizon, and the
 * message for a prediction that is not finite.
 *
 * Calls core/ only. Called by btyd.c and sbg.c.
 */
#include "btyd/btyd_internal.h"

/* A whole number >= 0 that a double represents exactly (NaN fails). */
int churn__btyd_is_count(double v)
{
    return v >= 0 && v < 9.0e15 && (double)(int64_t)v == v;
}

/* One (x, t_x, T) row. `discrete` = BG/BB (whole opportunities); `fitting`
 * requires T > 0 (a row with T = 0 carries no information). */
int churn__btyd_check_row(const char *fn, int discrete, int fitting, size_t i, double x,
                          double tx, double T)
{
    if (!churn__btyd_is_count(x))
        return churn__error(CHURN_EINVAL, "%s: row %zu, column 'frequency': %g is not a whole "
                            "number >= 0", fn, i, x);
    if (!isfinite(T) || T < 0 || (fitting && T == 0))
        return churn__error(CHURN_EINVAL, "%s: row %zu, column 'T': %g must be a finite number "
                            "%s 0", fn, i, T, fitting ? ">" : ">=");
    if (discrete && !churn__btyd_is_count(T))
        return churn__error(CHURN_EINVAL, "%s: row %zu, column 'T': %g is not a whole number of "
                            "transaction opportunities", fn, i, T);
    if (!isfinite(tx) || tx < 0)
        return churn__error(CHURN_EINVAL, "%s: row %zu, column 'recency': %g must be a finite "
                            "number >= 0", fn, i, tx);
    if (tx > T)
        return churn__error(CHURN_EINVAL, "%s: row %zu, column 'recency': %g exceeds T = %g", fn,
                            i, tx, T);
    if (x == 0 && tx != 0)
        return churn__error(CHURN_EINVAL, "%s: row %zu, column 'recency': %g must be 0 when "
                            "frequency is 0", fn, i, tx);
    if (discrete) {
        if (!churn__btyd_is_count(tx))
            return churn__error(CHURN_EINVAL, "%s: row %zu, column 'recency': %g is not a whole "
                                "opportunity number", fn, i, tx);
        if (x > tx)
            return churn__error(CHURN_EINVAL, "%s: row %zu, column 'frequency': %g transactions "
                                "cannot happen in the first %g opportunities (recency)", fn, i,
                                x, tx);
    }
    return CHURN_OK;
}

int churn__btyd_check_weight(const char *fn, size_t i, double w)
{
    if (!isfinite(w) || w < 0)
        return churn__error(CHURN_EINVAL, "%s: row %zu, column 'weights': %g must be a finite "
                            "number >= 0", fn, i, w);
    return CHURN_OK;
}

int churn__btyd_check_params(const char *fn, const churn__btyd_family *fam, const double *params,
                             size_t nparams)
{
    if (nparams > fam->nparams && (fam->family == CHURN_FAMILY_PNBD ||
                                   fam->family == CHURN_FAMILY_BGNBD ||
                                   fam->family == CHURN_FAMILY_MBGNBD ||
                                   fam->family == CHURN_FAMILY_GGOMNBD))
        return churn__error(CHURN_EINVAL, "%s: this '%s' model has %zu covariate coefficients: "
                            "scoring it without the customers' covariates would ignore them; "
                            "use churn_btyd_score_covariates (covariates.h)", fn,
                            churn_family_name(fam->family), nparams - fam->nparams);
    if (nparams != fam->nparams)
        return churn__error(CHURN_EINVAL, "%s: a '%s' model has %zu parameters, got %zu", fn,
                            churn_family_name(fam->family), fam->nparams, nparams);
    for (size_t j = 0; j < nparams; j++)
        if (!isfinite(params[j]) || !(params[j] > 0))
            return churn__error(CHURN_EINVAL, "%s: parameter '%s' = %g must be a finite number "
                                "> 0", fn, fam->names[j], params[j]);
    return CHURN_OK;
}

int churn__btyd_check_horizon(const char *fn, int family, double t, const char *what)
{
    if (!isfinite(t) || t < 0)
        return churn__error(CHURN_EINVAL, "%s: %s %g must be a finite number >= 0", fn, what, t);
    if (family == CHURN_FAMILY_BGBB && !churn__btyd_is_count(t))
        return churn__error(CHURN_EINVAL, "%s: %s %g must be a whole number of transaction "
                            "opportunities for a bgbb model", fn, what, t);
    return CHURN_OK;
}

int churn__btyd_nonfinite(const char *fn, const char *what, size_t i)
{
    return churn__error(CHURN_ENUMERIC, "%s: row %zu: %s could not be computed (not finite)", fn,
                        i, what);
}
