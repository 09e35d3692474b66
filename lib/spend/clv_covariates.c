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

/* The plain model of covariate model m's family at its base parameters (*nb of
 * them), after the checks of the covariates and the family; the caller sets each
 * customer's parameters into it. */
static int plain_of(const char *fn, const churn_model *m, size_t kt, size_t kl,
                    const churn_btyd_covariates *cov, churn_model **plain, size_t *nb)
{
    int rc;
    *plain = NULL;
    *nb = m->nparams - kt - kl;
    if ((rc = churn_btyd_customer_params_covariates(m, 0, cov, NULL)))
        return relay_as(fn, rc, "churn_btyd_customer_params_covariates", 0, 0);
    if ((rc = churn__model_new(plain, m->family, *nb, (const char *const *)m->param_names)))
        return rc;
    (*plain)->time_unit = m->time_unit;
    memcpy((*plain)->params, m->params, *nb * sizeof *(*plain)->params);
    return CHURN_OK;
}

/* The n customers' own parameters (n x nb, column-major) in a new block *P. */
static int own_params(const char *fn, const churn_model *m, size_t n, size_t nb,
                      const churn_btyd_covariates *cov, double **P)
{
    *P = churn__malloc(churn__mul_size(churn__mul_size(n, nb), sizeof **P));
    if (!*P)
        return churn__nomem("customer parameters");
    int rc = churn_btyd_customer_params_covariates(m, n, cov, *P);
    return rc ? relay_as(fn, rc, "churn_btyd_customer_params_covariates", 0, 0) : CHURN_OK;
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
    /* the checks of the covariates, the families and the options, before any row */
    churn_model *plain = NULL;
    size_t nb = 0;
    if ((rc = plain_of(FN, btyd, kt, kl, cov, &plain, &nb)))
        return rc;
    if ((rc = churn_clv_score(plain, spend, opts, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                              NULL, NULL))) {
        churn_model_free(plain);
        return relay(rc, "churn_clv_score", 0, 0);
    }
    double *P = NULL;
    if (n)
        rc = own_params(FN, btyd, n, nb, cov, &P);
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
    /* the covariates, the family and delta checked before any row */
    churn_model *plain = NULL;
    size_t nb = 0;
    if ((rc = plain_of(FN_DERT, model, kt, kl, cov, &plain, &nb)))
        return rc;
    if ((rc = churn_dert(plain, delta, 0, NULL, NULL, NULL, NULL))) {
        churn_model_free(plain);
        return relay_as(FN_DERT, rc, "churn_dert", 0, 0);
    }
    double *P = NULL;
    if (n)
        rc = own_params(FN_DERT, model, n, nb, cov, &P);
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
