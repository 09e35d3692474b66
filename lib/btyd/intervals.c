/*
 * Uncertainty of BTYD predictions from the fitted covariance (btyd.h,
 * churn_btyd_predict_interval): delta-method intervals for P(alive) and the
 * conditional expected number of purchases, computed in the same pass as the
 * predictions themselves.
 *
 * Method. The fit stores Cov(p) of the natural-scale parameters; with
 * theta = log p, Cov(theta_i, theta_j) = Cov(p_i, p_j) / (p_i p_j). For each
 * customer the gradient of the prediction in theta is taken by central
 * differences (step H_STEP, error O(H_STEP^2) relative, far below the
 * interval's own approximation), the variance is g' Cov(theta) g, and the
 * interval is built on the scale where the prediction is unbounded: logit for
 * P(alive) in (0, 1), log for E[X] > 0, then mapped back, so it always lies
 * inside the prediction's range. A parameter with variance 0 (MBG/CNBD-k's
 * k, chosen rather than estimated) is held fixed: it is never perturbed, so
 * an integer parameter stays an integer. A prediction at the boundary (P(alive) = 1
 * for BG/NBD's x = 0; E[X] = 0 at t = 0) has a degenerate interval there.
 * Calls core/ (model checks, errors), checks.c and btyd.c's family table.
 */
#include "btyd/btyd_internal.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <string.h>

#define H_STEP 1e-4

static const char *const FN = "churn_btyd_predict_interval";

/* Both predictions at natural-scale parameters p. */
static void predict(const churn__btyd_family *fam, const double *p, int want_e, double t,
                    double x, double tx, double T, double *pa, double *e)
{
    *pa = fam->p_alive(p, x, tx, T);
    *e = want_e ? fam->cond_expected(p, t, x, tx, T) : 0;
}

/* Half-width on the transformed scale: z * sqrt(g' S g). */
static double half_width(size_t k, const double *S, const double *g, double z)
{
    double v = 0;
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++)
            v += g[i] * S[i * k + j] * g[j];
    return v > 0 ? z * sqrt(v) : 0;
}

static double logistic(double u)
{
    return u >= 0 ? 1 / (1 + exp(-u)) : exp(u) / (1 + exp(u));
}

CHURN_API int churn_btyd_predict_interval(const churn_model *model, double t, double level,
                                          size_t n, const double *frequency,
                                          const double *recency, const double *T,
                                          double *p_alive, double *p_alive_lo,
                                          double *p_alive_hi, double *expected,
                                          double *expected_lo, double *expected_hi)
{
    churn__ok();
    int rc = churn__model_check(model, FN, 6, CHURN_FAMILY_BGNBD, CHURN_FAMILY_MBGNBD,
                                CHURN_FAMILY_PNBD, CHURN_FAMILY_BGBB, CHURN_FAMILY_GGOMNBD,
                                CHURN_FAMILY_MBGCNBD);
    if (rc)
        return rc;
    const churn__btyd_family *fam = churn__btyd_family_desc(model->family);
    if ((rc = churn__btyd_check_params(FN, fam, model->params, model->nparams)))
        return rc;
    if (NEED(frequency) || NEED(recency) || NEED(T))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", FN);
    int want_a = p_alive || p_alive_lo || p_alive_hi;
    int want_e = expected || expected_lo || expected_hi;
    if (n > 0 && !want_a && !want_e)
        return churn__error(CHURN_EINVAL, "%s: every output is NULL", FN);
    if (!(level > 0 && level < 1))
        return churn__error(CHURN_EINVAL, "%s: level = %g must lie strictly between 0 and 1 "
                            "(e.g. 0.9 for a 90%% interval)", FN, level);
    if (want_e && (rc = churn__btyd_check_horizon(FN, model->family, t, "horizon t")))
        return rc;
    if (!model->cov)
        return churn__error(CHURN_EUNSUPPORTED, "%s: this '%s' model has no covariance matrix "
                            "(its fit had no positive-definite Hessian, or it was built from "
                            "given parameters): intervals need one", FN,
                            churn_family_name(model->family));
    size_t k = model->nparams;
    const double *p = model->params;
    double S[CHURN__BTYD_MAXP * CHURN__BTYD_MAXP];
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++) {
            S[i * k + j] = model->cov[i * k + j] / (p[i] * p[j]);
            if (!isfinite(S[i * k + j]))
                return churn__error(CHURN_EFORMAT, "%s: the covariance of '%s' and '%s' is "
                                    "not finite", FN, model->param_names[i],
                                    model->param_names[j]);
        }
    for (size_t j = 0; j < k; j++)
        if (!(S[j * k + j] >= 0))
            return churn__error(CHURN_EFORMAT, "%s: the variance of '%s' is negative", FN,
                                model->param_names[j]);
    for (size_t i = 0; i < n; i++)
        if ((rc = churn__btyd_check_row(FN, model->family == CHURN_FAMILY_BGBB, 0, i,
                                        frequency[i], recency[i], T[i])))
            return rc;
    double z = gsl_cdf_ugaussian_Pinv(0.5 + level / 2);
    for (size_t i = 0; i < n; i++) {
        double x = frequency[i], tx = recency[i], TT = T[i];
        double pa, e, ga[CHURN__BTYD_MAXP], ge[CHURN__BTYD_MAXP], q[CHURN__BTYD_MAXP];
        predict(fam, p, want_e, t, x, tx, TT, &pa, &e);
        if (!isfinite(pa))
            return churn__btyd_nonfinite(FN, "P(alive)", i);
        if (!isfinite(e))
            return churn__btyd_nonfinite(FN, "the expected number of purchases", i);
        memcpy(q, p, k * sizeof *q);
        for (size_t j = 0; j < k; j++) {
            if (S[j * k + j] == 0) { /* not estimated (MBG/CNBD-k's k): no variance to carry */
                ga[j] = ge[j] = 0;
                continue;
            }
            double up_a, up_e, dn_a, dn_e;
            q[j] = p[j] * exp(H_STEP);
            predict(fam, q, want_e, t, x, tx, TT, &up_a, &up_e);
            q[j] = p[j] * exp(-H_STEP);
            predict(fam, q, want_e, t, x, tx, TT, &dn_a, &dn_e);
            q[j] = p[j];
            ga[j] = (up_a - dn_a) / (2 * H_STEP);
            ge[j] = (up_e - dn_e) / (2 * H_STEP);
            if (!isfinite(ga[j]) || !isfinite(ge[j]))
                return churn__btyd_nonfinite(FN, "the gradient of the prediction", i);
        }
        /* P(alive) on the logit scale: d logit(pa) = d pa / (pa (1 - pa)). */
        double lo_a = pa, hi_a = pa;
        if (pa > 0 && pa < 1) {
            for (size_t j = 0; j < k; j++)
                ga[j] /= pa * (1 - pa);
            double u = log(pa) - log1p(-pa), hw = half_width(k, S, ga, z);
            lo_a = logistic(u - hw);
            hi_a = logistic(u + hw);
        }
        /* E[X] on the log scale. */
        double lo_e = e, hi_e = e;
        if (want_e && e > 0) {
            for (size_t j = 0; j < k; j++)
                ge[j] /= e;
            double hw = half_width(k, S, ge, z);
            lo_e = e * exp(-hw);
            hi_e = e * exp(hw);
        }
        if (p_alive)
            p_alive[i] = pa;
        if (p_alive_lo)
            p_alive_lo[i] = lo_a;
        if (p_alive_hi)
            p_alive_hi[i] = hi_a;
        if (expected)
            expected[i] = e;
        if (expected_lo)
            expected_lo[i] = lo_e;
        if (expected_hi)
            expected_hi[i] = hi_e;
    }
    return CHURN_OK;
}
