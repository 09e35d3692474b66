/*
 * Delta-method intervals of a covariate model's predictions (covariates.h,
 * churn_btyd_predict_interval_covariates): P(alive) and the conditional
 * expected purchases of each customer, at the customer's own parameters, with
 * an interval from the covariance of ALL the fitted parameters (the base
 * parameters and every coefficient).
 *
 * Method, as intervals.c: the free coordinates are theta = (log p, gamma) —
 * log for the positive base parameters (four, five for Gamma-Gompertz/NBD), the coefficients as they are —
 * so Cov(theta) = Cov(params) / (s_i s_j) with s = p for a base parameter and 1
 * for a coefficient. The gradient of logit P(alive) and log E[X] in theta is
 * taken by central differences (step H_STEP in log p and in gamma) of
 * churn_btyd_score_covariates() on a copy of the model handle whose parameter
 * array is the moved one, block by block (the block's covariate rows copied),
 * so the covariates are matched by name exactly as in scoring. A coefficient
 * shared by both processes is stored twice with perfectly correlated entries,
 * so g' Cov g counts its effect through both processes. The point
 * predictions are one churn_btyd_score_covariates() call over every row, so
 * its checks and messages (naming the caller's row and covariate) come first.
 * Calls core/ and covariates.c (its public functions).
 */
#include "btyd/btyd_internal.h"
#include "churn/covariates.h"

#include <gsl/gsl_cdf.h>
#include <stdio.h>
#include <string.h>

#define H_STEP 1e-4
#define BLOCK 256

static const char FN[] = "churn_btyd_predict_interval_covariates";

static int relay(int rc)
{
    char msg[768];
    snprintf(msg, sizeof msg, "%s", churn_last_error_message());
    const char *m = msg;
    static const char inner[] = "churn_btyd_score_covariates: ";
    if (strncmp(m, inner, sizeof inner - 1) == 0)
        m += sizeof inner - 1;
    return churn__error(rc, "%s: %s", FN, m);
}

static double logistic(double u)
{
    return u >= 0 ? 1 / (1 + exp(-u)) : exp(u) / (1 + exp(u));
}

/* g' S g over the k gradients g[j * BLOCK + i] of row i. */
static double quad(size_t k, const double *S, const double *g, size_t i)
{
    double v = 0;
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; b < k; b++)
            v += g[a * BLOCK + i] * S[a * k + b] * g[b * BLOCK + i];
    return v > 0 ? v : 0;
}

CHURN_API int churn_btyd_predict_interval_covariates(
    const churn_model *model, double t, double level, size_t n, const double *frequency,
    const double *recency, const double *T, const churn_btyd_covariates *cov, double *p_alive,
    double *p_alive_lo, double *p_alive_hi, double *expected, double *expected_lo,
    double *expected_hi)
{
    churn__ok();
    if (!model)
        return churn__error(CHURN_EINVAL, "%s: NULL model", FN);
    if (NEED(frequency) || NEED(recency) || NEED(T))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", FN);
    int want_a = p_alive || p_alive_lo || p_alive_hi;
    int want_e = expected || expected_lo || expected_hi;
    if (n > 0 && !want_a && !want_e)
        return churn__error(CHURN_EINVAL, "%s: every output is NULL", FN);
    if (!(level > 0 && level < 1))
        return churn__error(CHURN_EINVAL, "%s: level = %g must lie strictly between 0 and 1 "
                            "(e.g. 0.9 for a 90%% interval)", FN, level);
    churn_btyd_covariates c = CHURN_BTYD_COVARIATES_INIT;
    int rc = churn__opts_copy(&c, sizeof c, cov, "churn_btyd_covariates");
    if (rc)
        return rc;
    /* the family, the covariates' names and the horizon, as scoring checks them */
    if ((rc = churn_btyd_score_covariates(model, t, 0, NULL, NULL, NULL, cov, NULL, NULL)))
        return relay(rc);
    const size_t k = model->nparams;
    if (!model->cov)
        return churn__error(CHURN_EUNSUPPORTED, "%s: this '%s' model has no covariance matrix "
                            "(its fit had no positive-definite Hessian, skipped standard "
                            "errors, or it was built from given parameters): intervals need "
                            "one", FN, churn_family_name(model->family));
    if (!c.trans) /* no values: the model needs none of them (checked by scoring) */
        c.n_trans = 0;
    if (!c.life)
        c.n_life = 0;
    size_t nt = c.n_trans, nl = c.n_life;
    double *S = churn__malloc(churn__mul_size(k * k + k, sizeof(double)));
    if (!S)
        return churn__nomem("interval covariance");
    double *scale = S + k * k;
    size_t kt = 0, kl = 0;
    churn_btyd_model_covariates(model, &kt, &kl);
    const size_t nb = k - kt - kl; /* base parameters: 4, or 5 for Gamma-Gompertz/NBD */
    for (size_t j = 0; j < k; j++)
        scale[j] = j < nb ? model->params[j] : 1.0;
    for (size_t i = 0; i < k && !rc; i++)
        for (size_t j = 0; j < k && !rc; j++) {
            S[i * k + j] = model->cov[i * k + j] / (scale[i] * scale[j]);
            if (!isfinite(S[i * k + j]))
                rc = churn__error(CHURN_EFORMAT, "%s: the covariance of '%s' and '%s' is not "
                                  "finite", FN, model->param_names[i], model->param_names[j]);
        }
    for (size_t j = 0; j < k && !rc; j++)
        if (!(S[j * k + j] >= 0))
            rc = churn__error(CHURN_EFORMAT, "%s: the variance of '%s' is negative", FN,
                              model->param_names[j]);
    if (rc || n == 0) {
        churn__free(S);
        return rc;
    }
    /* point values over all rows, gradients (2k) and moved values (4) per block, the
     * block's covariates, the moved parameters */
    size_t wlen = churn__mul_size(2, n);
    wlen += (2 * k + 4 + nt + nl) * BLOCK + k;
    double *w = churn__malloc(churn__mul_size(wlen, sizeof(double)));
    if (!w) {
        churn__free(S);
        return churn__nomem("interval work arrays");
    }
    double *pa = w, *ex = w + n, *gA = w + 2 * n, *gE = gA + k * BLOCK, *upA = gE + k * BLOCK,
           *dnA = upA + BLOCK, *upE = dnA + BLOCK, *dnE = upE + BLOCK, *zt = dnE + BLOCK,
           *zl = zt + nt * BLOCK, *q = zl + nl * BLOCK;
    rc = churn_btyd_score_covariates(model, t, n, frequency, recency, T, cov, pa,
                                     want_e ? ex : NULL);
    if (rc)
        rc = relay(rc);
    if (!want_e)
        for (size_t i = 0; i < n; i++)
            ex[i] = 0;
    const double z = gsl_cdf_ugaussian_Pinv(0.5 + level / 2);
    churn_model moved = *model; /* the same handle with a moved parameter array */
    moved.params = q;
    memcpy(q, model->params, k * sizeof *q);
    for (size_t i0 = 0; i0 < n && !rc; i0 += BLOCK) {
        const size_t m = n - i0 < BLOCK ? n - i0 : BLOCK;
        churn_btyd_covariates bc = c;
        for (size_t j = 0; j < nt; j++)
            memcpy(zt + j * m, c.trans + j * n + i0, m * sizeof *zt);
        for (size_t j = 0; j < nl; j++)
            memcpy(zl + j * m, c.life + j * n + i0, m * sizeof *zl);
        bc.trans = nt ? zt : NULL;
        bc.life = nl ? zl : NULL;
        for (size_t j = 0; j < k && !rc; j++) {
            if (S[j * k + j] == 0) {
                for (size_t i = 0; i < m; i++)
                    gA[j * BLOCK + i] = gE[j * BLOCK + i] = 0;
                continue;
            }
            const double p0 = model->params[j];
            q[j] = j < nb ? p0 * exp(H_STEP) : p0 + H_STEP;
            rc = churn_btyd_score_covariates(&moved, t, m, frequency + i0, recency + i0,
                                             T + i0, &bc, upA, want_e ? upE : NULL);
            q[j] = j < nb ? p0 * exp(-H_STEP) : p0 - H_STEP;
            if (!rc)
                rc = churn_btyd_score_covariates(&moved, t, m, frequency + i0, recency + i0,
                                                 T + i0, &bc, dnA, want_e ? dnE : NULL);
            q[j] = p0;
            if (rc) {
                if (rc == CHURN_ENOMEM) {
                    rc = relay(rc);
                } else {
                    char msg[512];
                    snprintf(msg, sizeof msg, "%s", churn_last_error_message());
                    rc = churn__error(CHURN_ENUMERIC, "%s: rows %zu-%zu: the predictions are "
                                      "not finite with '%s' moved by %g (%s)", FN, i0,
                                      i0 + m - 1, model->param_names[j], H_STEP, msg);
                }
                break;
            }
            for (size_t i = 0; i < m; i++) {
                gA[j * BLOCK + i] = (upA[i] - dnA[i]) / (2 * H_STEP);
                gE[j * BLOCK + i] = want_e ? (upE[i] - dnE[i]) / (2 * H_STEP) : 0;
                if (!isfinite(gA[j * BLOCK + i]) || !isfinite(gE[j * BLOCK + i]))
                    rc = churn__btyd_nonfinite(FN, "the gradient of the prediction", i0 + i);
            }
        }
        for (size_t i = 0; i < m && !rc; i++) {
            const size_t r = i0 + i;
            const double P = pa[r], E = ex[r];
            double lo_a = P, hi_a = P, lo_e = E, hi_e = E;
            if (P > 0 && P < 1) {
                for (size_t j = 0; j < k; j++)
                    gA[j * BLOCK + i] /= P * (1 - P);
                double u = log(P) - log1p(-P), hw = z * sqrt(quad(k, S, gA, i));
                lo_a = logistic(u - hw);
                hi_a = logistic(u + hw);
            }
            if (want_e && E > 0) {
                for (size_t j = 0; j < k; j++)
                    gE[j * BLOCK + i] /= E;
                double hw = z * sqrt(quad(k, S, gE, i));
                lo_e = E * exp(-hw);
                hi_e = E * exp(hw);
            }
            if (p_alive)
                p_alive[r] = P;
            if (p_alive_lo)
                p_alive_lo[r] = lo_a;
            if (p_alive_hi)
                p_alive_hi[r] = hi_a;
            if (expected)
                expected[r] = E;
            if (expected_lo)
                expected_lo[r] = lo_e;
            if (expected_hi)
                expected_hi[r] = hi_e;
        }
    }
    churn__free(S);
    churn__free(w);
    return rc;
}
