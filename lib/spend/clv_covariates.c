/*
 * CLV and DERT of a BTYD model with static covariates (spend.h,
 * churn_clv_score_covariates, churn_dert_covariates): every customer valued as the
 * plain model at the customer's own parameters.
 * The parameters come from churn_btyd_customer_params_covariates() (btyd/'s public
 * function, so the covariate parametrisation lives in one place, covariates.c);
 * a plain model of the same family is built once and its parameters set per
 * customer before each one-customer churn_clv_score() call (which allocates nothing).
 * Calls core/ (model allocation, errors) and the public functions of btyd/ and clv.c.
 */
#include "core/internal.h"
#include "churn/covariates.h"
#include "churn/spend.h"

#include <stdio.h>
#include <string.h>

static const char FN[] = "churn_clv_score_covariates";
static const char FN_DERT[] = "churn_dert_covariates";

/* The inner call's error again, under the function fn's name and the caller's row. */
static int relay_as(const char *fn, int rc, const char *inner, size_t row, int per_row)
{
    char msg[768];
    snprintf(msg, sizeof msg, "%s", churn_last_error_message());
    const char *m = msg;
    size_t len = strlen(inner);
    if (strncmp(m, inner, len) == 0 && m[len] == ':')
        m += len + 1 + (m[len + 1] == ' ');
    if (per_row && strncmp(m, "row 0, ", 7) == 0)
        return churn__error(rc, "%s: row %zu, %s", fn, row, m + 7);
    if (per_row)
        return churn__error(rc, "%s: row %zu: %s", fn, row, m);
    return churn__error(rc, "%s: %s", fn, m);
}

static int relay(int rc, const char *inner, size_t row, int per_row)
{
    return relay_as(FN, rc, inner, row, per_row);
}

CHURN_API int churn_clv_score_covariates(const churn_model *btyd, const churn_model *spend,
                                         const churn_clv_options *opts, size_t n,
                                         const double *frequency, const double *recency,
                                         const double *T, const double *monetary_value,
                                         const churn_btyd_covariates *cov, double *p_alive,
                                         double *expected_purchases, double *expected_spend,
                                         double *clv, double *value_at_risk)
{
    churn__ok();
    if (!btyd)
        return churn__error(CHURN_EINVAL, "%s: NULL model 'btyd'", FN);
    if (n && (!frequency || !recency || !T || !monetary_value))
        return churn__error(CHURN_EINVAL, "%s: NULL input array", FN);
    size_t kt = 0, kl = 0;
    int rc = churn_btyd_model_covariates(btyd, &kt, &kl);
    if (rc)
        return relay(rc, "churn_btyd_model_covariates", 0, 0);
    if (kt + kl == 0) { /* a plain model: churn_clv_score itself */
        rc = churn_clv_score(btyd, spend, opts, n, frequency, recency, T, monetary_value,
                             p_alive, expected_purchases, expected_spend, clv, value_at_risk);
        return rc ? relay(rc, "churn_clv_score", 0, 0) : CHURN_OK;
    }
    size_t nb = btyd->nparams - kt - kl;
    /* the checks of the covariates, the families and the options, before any row */
    if ((rc = churn_btyd_customer_params_covariates(btyd, 0, cov, NULL)))
        return relay(rc, "churn_btyd_customer_params_covariates", 0, 0);
    churn_model *plain = NULL;
    if ((rc = churn__model_new(&plain, btyd->family, nb,
                               (const char *const *)btyd->param_names)))
        return rc;
    plain->time_unit = btyd->time_unit;
    memcpy(plain->params, btyd->params, nb * sizeof *plain->params);
    if ((rc = churn_clv_score(plain, spend, opts, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                              NULL, NULL))) {
        churn_model_free(plain);
        return relay(rc, "churn_clv_score", 0, 0);
    }
    if (n == 0) {
        churn_model_free(plain);
        return CHURN_OK;
    }
    double *P = churn__malloc(churn__mul_size(churn__mul_size(n, nb), sizeof *P));
    if (!P) {
        churn_model_free(plain);
        return churn__nomem("customer parameters");
    }
    if ((rc = churn_btyd_customer_params_covariates(btyd, n, cov, P)))
        rc = relay(rc, "churn_btyd_customer_params_covariates", 0, 0);
    for (size_t i = 0; i < n && !rc; i++) {
        for (size_t j = 0; j < nb; j++)
            plain->params[j] = P[j * n + i];
        rc = churn_clv_score(plain, spend, opts, 1, frequency + i, recency + i, T + i,
                             monetary_value + i, p_alive ? p_alive + i : NULL,
                             expected_purchases ? expected_purchases + i : NULL,
                             expected_spend ? expected_spend + i : NULL, clv ? clv + i : NULL,
                             value_at_risk ? value_at_risk + i : NULL);
        if (rc)
            rc = relay(rc, "churn_clv_score", i, 1);
    }
    churn__free(P);
    churn_model_free(plain);
    return rc;
}

CHURN_API int churn_dert_covariates(const churn_model *model, double delta, size_t n,
                                    const double *frequency, const double *recency,
                                    const double *T, const churn_btyd_covariates *cov,
                                    double *dert)
{
    churn__ok();
    if (!model)
        return churn__error(CHURN_EINVAL, "%s: NULL model", FN_DERT);
    if (n && (!frequency || !recency || !T || !dert))
        return churn__error(CHURN_EINVAL, "%s: NULL input or output array", FN_DERT);
    size_t kt = 0, kl = 0;
    int rc = churn_btyd_model_covariates(model, &kt, &kl);
    if (rc)
        return relay_as(FN_DERT, rc, "churn_btyd_model_covariates", 0, 0);
    if (kt + kl == 0) { /* a plain model: churn_dert itself */
        rc = churn_dert(model, delta, n, frequency, recency, T, dert);
        return rc ? relay_as(FN_DERT, rc, "churn_dert", 0, 0) : CHURN_OK;
    }
    size_t nb = model->nparams - kt - kl;
    /* the covariates, the family and delta checked before any row */
    if ((rc = churn_btyd_customer_params_covariates(model, 0, cov, NULL)))
        return relay_as(FN_DERT, rc, "churn_btyd_customer_params_covariates", 0, 0);
    churn_model *plain = NULL;
    if ((rc = churn__model_new(&plain, model->family, nb,
                               (const char *const *)model->param_names)))
        return rc;
    plain->time_unit = model->time_unit;
    memcpy(plain->params, model->params, nb * sizeof *plain->params);
    if ((rc = churn_dert(plain, delta, 0, NULL, NULL, NULL, NULL))) {
        churn_model_free(plain);
        return relay_as(FN_DERT, rc, "churn_dert", 0, 0);
    }
    double *P = n ? churn__malloc(churn__mul_size(churn__mul_size(n, nb), sizeof *P)) : NULL;
    if (n && !P) {
        churn_model_free(plain);
        return churn__nomem("customer parameters");
    }
    if (n && (rc = churn_btyd_customer_params_covariates(model, n, cov, P)))
        rc = relay_as(FN_DERT, rc, "churn_btyd_customer_params_covariates", 0, 0);
    for (size_t i = 0; i < n && !rc; i++) {
        for (size_t j = 0; j < nb; j++)
            plain->params[j] = P[j * n + i];
        if ((rc = churn_dert(plain, delta, 1, frequency + i, recency + i, T + i, dert + i)))
            rc = relay_as(FN_DERT, rc, "churn_dert", i, 1);
    }
    churn__free(P);
    churn_model_free(plain);
    return rc;
}
