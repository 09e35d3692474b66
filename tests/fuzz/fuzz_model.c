/* libFuzzer target: churn_model_load_buffer() on arbitrary bytes, then every
 * accessor, a save_buffer/load round trip that must reproduce the parameters,
 * and one predict call of the loaded family on a small fixed input. A predict
 * call that returns CHURN_OK must give finite values (no NaN passed on
 * silently); a failure must carry a message. */
#include <churn/btyd.h>
#include <churn/common.h>
#include <churn/logit.h>
#include <churn/model.h>
#include <churn/spend.h>
#include <churn/survival.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void check_status(int rc)
{
    CHECK(rc <= 0 && rc >= CHURN_EUNIT);
    if (rc != CHURN_OK)
        CHECK(churn_last_error_message()[0] != '\0');
}

static void check_finite(int rc, size_t n, const double *v)
{
    check_status(rc);
    if (rc == CHURN_OK)
        for (size_t i = 0; i < n; i++)
            CHECK(!isnan(v[i]));
}

static void exercise_predict(const churn_model *m)
{
    static const double x[3] = {0, 2, 7}, tx[3] = {0, 5, 30}, T[3] = {10, 38, 38};
    static const double mz[3] = {0, 20.5, 10};
    double o1[3], o2[3], o3[3];
    int fam = churn_model_family(m);
    size_t p = churn_model_num_features(m);
    switch (fam) {
    case CHURN_FAMILY_BGNBD: case CHURN_FAMILY_MBGNBD: case CHURN_FAMILY_PNBD:
    case CHURN_FAMILY_BGBB: {
        static const double bx[3] = {0, 2, 5}, btx[3] = {0, 3, 6}, bT[3] = {6, 6, 6};
        int rc = churn_btyd_score(m, 4, 3, fam == CHURN_FAMILY_BGBB ? bx : x,
                                  fam == CHURN_FAMILY_BGBB ? btx : tx,
                                  fam == CHURN_FAMILY_BGBB ? bT : T, o1, o2);
        check_finite(rc, 3, o1);
        if (rc == CHURN_OK)
            check_finite(rc, 3, o2);
        double h[2] = {1, 4};
        check_finite(churn_btyd_expected_purchases_new(m, 2, h, o3), 2, o3);
        break;
    }
    case CHURN_FAMILY_SBG: {
        double per[3] = {0, 1, 5};
        check_finite(churn_sbg_curve(m, 3, o1, o2), 3, o1);
        check_finite(churn_sbg_derl(m, 0.1, 3, per, o3), 3, o3);
        break;
    }
    case CHURN_FAMILY_GAMMAGAMMA:
        check_finite(churn_gammagamma_expected_spend(m, 3, x, mz, o1), 3, o1);
        break;
    case CHURN_FAMILY_LOGIT: case CHURN_FAMILY_COX: case CHURN_FAMILY_WEIBULL:
    case CHURN_FAMILY_EXPONENTIAL: case CHURN_FAMILY_LOGLOGISTIC: case CHURN_FAMILY_LOGNORMAL: {
        if (p > 64)
            break;
        double feat[3 * 64];
        for (size_t i = 0; i < 3 * p; i++)
            feat[i] = (double)(i % 5) * 0.5 - 1.0;
        if (fam == CHURN_FAMILY_LOGIT) {
            check_finite(churn_logit_predict(m, p ? feat : NULL, 3, p, 0, 0, o1, o2), 3, o1);
        } else {
            int rc = churn_surv_predict(m, 3, feat, 2.5, o1, o2, o3);
            check_finite(rc, 3, o1);
            check_finite(churn_surv_median(m, 3, feat, o2), 0, o2);
        }
        break;
    }
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    churn_model *m = (churn_model *)1;
    int rc = churn_model_load_buffer(&m, (const char *)data, size);
    check_status(rc);
    if (rc != CHURN_OK) {
        CHECK(m == NULL);
        return 0;
    }
    CHECK(m != NULL);
    CHECK(churn_family_name(churn_model_family(m)) != NULL);
    size_t np = churn_model_num_params(m);
    double *par = np ? malloc(np * sizeof *par) : NULL, *se = np ? malloc(np * sizeof *se) : NULL;
    if (np && (!par || !se))
        abort();
    check_status(churn_model_params(m, par, np));
    (void)churn_model_std_errors(m, se, np);
    for (size_t i = 0; i < np; i++) {
        const char *nm = churn_model_param_name(m, i);
        CHECK(nm != NULL);
        double v;
        (void)churn_model_param(m, nm, &v, NULL);
    }
    for (size_t i = 0; i < churn_model_num_features(m); i++)
        CHECK(churn_model_feature_name(m, i) != NULL);
    (void)churn_model_loglik(m);
    (void)churn_model_note(m);
    (void)churn_model_time_unit(m);

    /* round trip: what we write we read back with the same parameters */
    size_t need = 0;
    rc = churn_model_save_buffer(m, NULL, 0, &need);
    CHECK(rc == CHURN_ERANGE || rc == CHURN_OK || rc == CHURN_EINVAL);
    if (need > 0 && rc == CHURN_ERANGE) {
        char *buf = malloc(need);
        CHECK(buf != NULL);
        CHECK(churn_model_save_buffer(m, buf, need, NULL) == CHURN_OK);
        churn_model *m2 = NULL;
        rc = churn_model_load_buffer(&m2, buf, need - 1);
        CHECK(rc == CHURN_OK);
        CHECK(churn_model_family(m2) == churn_model_family(m));
        CHECK(churn_model_num_params(m2) == np);
        double *par2 = np ? malloc(np * sizeof *par2) : NULL;
        CHECK(churn_model_params(m2, par2, np) == churn_model_params(m, par, np));
        for (size_t i = 0; i < np; i++)
            CHECK(par[i] == par2[i] || (isnan(par[i]) && isnan(par2[i])));
        free(par2);
        churn_model_free(m2);
        free(buf);
    }
    exercise_predict(m);
    free(par);
    free(se);
    churn_model_free(m);
    return 0;
}
