/*
 * Delta-method intervals of covariate models
 * (churn_btyd_predict_interval_covariates, issue 23 "Uncertainty").
 *
 * References:
 *  (1) BG/NBD's logit P(alive) at the customer's own parameters
 *      alpha_i = alpha e^(-g_t z_t), a_i = a e^(g_l z_l), b_i = b e^(g_l z_l)
 *      has a closed-form gradient in (log r, log alpha, log a, log b, g_t, g_l),
 *      written out below, so the interval is known exactly;
 *  (2) a plain model gives churn_btyd_predict_interval's limits;
 *  (3) coverage: 200 data sets of 4,000 customers in four covariate groups, each
 *      group simulated from the plain BG/NBD at its own parameters (so the truth
 *      is known without the covariate code), fitted with one trans and one life
 *      covariate, and the 90% intervals of fixed reference customers checked
 *      against the predictions of the plain model at their TRUE parameters.
 *
 * CLV intervals of covariate models (churn_clv_interval_covariates):
 *  (4) the chain rule assembled independently: each customer's plain BG/NBD at
 *      its own parameters, given the covariance J S J' of its log parameters
 *      (J the closed-form Jacobian of (log r, log alpha_i, log a_i, log b_i) in
 *      (log r, log alpha, log a, log b, g_t, g_l)), through the plain
 *      churn_clv_interval(), gives the same limits;
 *  (5) a plain model gives churn_clv_interval()'s results bit for bit;
 *  (6) coverage: 200 data sets as (3) with Gamma-Gamma spends, both models
 *      fitted, and the 90% CLV and value-at-risk intervals of the reference
 *      customers checked against the values at the TRUE parameters.
 *
 * Bootstrap intervals of covariate models (churn_btyd_bootstrap_interval_covariates):
 *  (7) the same limits for 1 and 3 threads; with 400 resamples of 6,000 customers
 *      the limits agree with the delta method's (both estimate the same sampling
 *      distribution, which is close to normal at this size);
 *  (8) coverage over 200 data sets of 2,000 customers with 200 resamples,
 *      against the truth as in (3) (CHURN_SLOW_TESTS=1; about 6 minutes).
 */
#include "churn.h"
#include "testutil.h"

#include <gsl/gsl_cdf.h>
#include <stdlib.h>
#include <string.h>

static const double R = 0.25, AL = 4.0, A = 0.8, B = 2.4, GT = 0.5, GL = -0.4;
static const char *const TN[1] = {"promo"}, *const LN[1] = {"b2b"};

/* n customers in 4 equal groups (z_t, z_l) in {0,1}^2, each simulated from BG/NBD at the
 * group's parameters; x, tx, T, zt, zl: n values each. */
static const double GG_P = 6.25, GG_Q = 3.74, GG_G = 15.44;

/* simulate_groups with the customers' mean repeat spends in zs (0 for x = 0), or without
 * (zs NULL). */
static void simulate_groups_spend(uint64_t seed, size_t n, double *x, double *tx, double *T,
                                  double *zt, double *zl, double *zs);

static void simulate_groups(uint64_t seed, size_t n, double *x, double *tx, double *T,
                            double *zt, double *zl)
{
    simulate_groups_spend(seed, n, x, tx, T, zt, zl, NULL);
}

static void simulate_groups_spend(uint64_t seed, size_t n, double *x, double *tx, double *T,
                                  double *zt, double *zl, double *zs)
{
    size_t g = n / 4;
    for (int k = 0; k < 4; k++) {
        int a = k & 1, b = k >> 1;
        churn_simulate_options o;
        churn_simulate_options_init(&o);
        o.model = CHURN_FAMILY_BGNBD;
        o.seed = seed * 4 + (uint64_t)k;
        o.days = 39 * 7;
        o.acquisition_days = 12 * 7;
        o.r = R;
        o.alpha = AL * exp(-GT * a);
        o.a = A * exp(GL * b);
        o.b = B * exp(GL * b);
        o.p = GG_P, o.q = GG_Q, o.gamma = GG_G;
        size_t off = (size_t)k * g, m = k == 3 ? n - off : g;
        CU_ASSERT_EQUAL_FATAL(churn_simulate_summary(&o, m, x + off, tx + off, T + off, NULL,
                                                     zs ? zs + off : NULL, NULL), CHURN_OK);
        for (size_t i = off; i < off + m; i++) {
            zt[i] = a;
            zl[i] = b;
            if (zs && isnan(zs[i]))
                zs[i] = 0; /* x = 0: no repeat spend, left out of the Gamma-Gamma fit */
        }
    }
}

static churn_btyd_covariates covs(const double *zt, const double *zl)
{
    churn_btyd_covariates c = CHURN_BTYD_COVARIATES_INIT;
    c.n_trans = 1, c.trans = zt, c.trans_names = TN;
    c.n_life = 1, c.life = zl, c.life_names = LN;
    return c;
}

static churn_model *fit_cov(uint64_t seed, size_t n)
{
    double *v = malloc(5 * n * sizeof *v);
    simulate_groups(seed, n, v, v + n, v + 2 * n, v + 3 * n, v + 4 * n);
    churn_btyd_covariates c = covs(v + 3 * n, v + 4 * n);
    churn_model *m = NULL;
    int rc = churn_btyd_fit_covariates(&m, CHURN_FAMILY_BGNBD, n, v, v + n, v + 2 * n, NULL, &c,
                                       NULL);
    free(v);
    if (rc != CHURN_OK) {
        churn_model_free(m);
        return NULL;
    }
    return m;
}

enum { PROF = 6 };
static const double X[PROF] = {1, 3, 6, 2, 1, 4}, TX[PROF] = {20, 30, 35, 5, 30, 10},
                    TT[PROF] = {35, 36, 38, 37, 36, 30}, ZT[PROF] = {0, 1, 0, 1, 1, 0},
                    ZL[PROF] = {0, 0, 1, 1, 1, 1};

static void test_closed_form(void)
{
    churn_model *m = fit_cov(7, 4000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL_FATAL(churn_model_num_params(m), 6);
    double p[6], cov[36];
    CU_ASSERT_EQUAL_FATAL(churn_model_params(m, p, 6), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_model_covariance(m, cov, 36), CHURN_OK);
    churn_btyd_covariates c = covs(ZT, ZL);
    double pa[PROF], lo[PROF], hi[PROF], e[PROF], elo[PROF], ehi[PROF];
    CU_ASSERT_EQUAL_FATAL(churn_btyd_predict_interval_covariates(m, 10, 0.9, PROF, X, TX, TT,
                                                                 &c, pa, lo, hi, e, elo, ehi),
                          CHURN_OK);
    double pa1[PROF], e1[PROF];
    CU_ASSERT_EQUAL_FATAL(churn_btyd_score_covariates(m, 10, PROF, X, TX, TT, &c, pa1, e1),
                          CHURN_OK);
    const double z = gsl_cdf_ugaussian_Pinv(0.95), s[6] = {p[0], p[1], p[2], p[3], 1, 1};
    for (int i = 0; i < PROF; i++) {
        CU_ASSERT(pa[i] == pa1[i] && e[i] == e1[i]); /* scoring's values, bit for bit */
        double r = p[0], al = p[1] * exp(-p[4] * ZT[i]), b = p[3] * exp(p[5] * ZL[i]);
        double x = X[i], tx = TX[i], T = TT[i], L = log((al + T) / (al + tx));
        double dA = -(r + x) * al * (1 / (al + T) - 1 / (al + tx)); /* d u / d log alpha_i */
        double g[6] = {-r * L, dA, -1, b / (b + x - 1), -ZT[i] * dA,
                       ZL[i] * (-1 + b / (b + x - 1))};
        double v = 0;
        for (int j = 0; j < 6; j++)
            for (int k = 0; k < 6; k++)
                v += g[j] * cov[j * 6 + k] / (s[j] * s[k]) * g[k];
        double u = log(pa[i]) - log1p(-pa[i]);
        CT_CLOSE(lo[i], 1 / (1 + exp(-(u - z * sqrt(v)))), 1e-7);
        CT_CLOSE(hi[i], 1 / (1 + exp(-(u + z * sqrt(v)))), 1e-7);
        CU_ASSERT(elo[i] < e[i] && e[i] < ehi[i]);
    }
    /* more than one block: the same limits as one customer at a time */
    enum { N = 600 };
    double *a = malloc(7 * N * sizeof *a), *L2 = malloc(2 * N * sizeof *L2);
    for (int i = 0; i < N; i++) {
        a[i] = X[i % PROF];
        a[N + i] = TX[i % PROF];
        a[2 * N + i] = TT[i % PROF] + i % 4;
        a[3 * N + i] = (i / 7) % 2;
        a[4 * N + i] = 0.1 * (i % 11);
    }
    churn_btyd_covariates cn = covs(a + 3 * N, a + 4 * N);
    CU_ASSERT_EQUAL_FATAL(churn_btyd_predict_interval_covariates(m, 10, 0.8, N, a, a + N,
                                                                 a + 2 * N, &cn, NULL, L2,
                                                                 NULL, NULL, NULL, L2 + N),
                          CHURN_OK);
    for (int i = 0; i < N; i += 41) {
        double l1, h1;
        churn_btyd_covariates c1 = covs(a + 3 * N + i, a + 4 * N + i);
        CU_ASSERT_EQUAL(churn_btyd_predict_interval_covariates(m, 10, 0.8, 1, a + i,
                                                               a + N + i, a + 2 * N + i, &c1,
                                                               NULL, &l1, NULL, NULL, NULL,
                                                               &h1), CHURN_OK);
        CT_CLOSE(L2[i], l1, 1e-12);
        CT_CLOSE(L2[N + i], h1, 1e-12);
    }
    free(a);
    free(L2);
    churn_model_free(m);
}

/* a plain model: the limits of churn_btyd_predict_interval */
static void test_plain_model(void)
{
    churn_simulate_options o;
    churn_simulate_options_init(&o);
    o.model = CHURN_FAMILY_PNBD;
    o.days = 39 * 7;
    o.seed = 4;
    enum { N = 2000 };
    double *v = malloc(3 * N * sizeof *v);
    CU_ASSERT_EQUAL_FATAL(churn_simulate_summary(&o, N, v, v + N, v + 2 * N, NULL, NULL, NULL),
                          CHURN_OK);
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_fit(&m, CHURN_FAMILY_PNBD, N, v, v + N, v + 2 * N, NULL,
                                         NULL), CHURN_OK);
    double a[6][PROF], b[6][PROF];
    CU_ASSERT_EQUAL_FATAL(churn_btyd_predict_interval_covariates(m, 13, 0.9, PROF, X, TX, TT,
                                                                 NULL, a[0], a[1], a[2], a[3],
                                                                 a[4], a[5]), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_btyd_predict_interval(m, 13, 0.9, PROF, X, TX, TT, b[0], b[1],
                                                      b[2], b[3], b[4], b[5]), CHURN_OK);
    for (int j = 0; j < 6; j++)
        for (int i = 0; i < PROF; i++)
            CT_CLOSE(a[j][i], b[j][i], 1e-10);
    free(v);
    churn_model_free(m);
}

static void test_coverage(void)
{
    enum { SETS = 200, N = 4000 };
    const double t = 26, level = 0.9;
    double ta[PROF], te[PROF];
    for (int i = 0; i < PROF; i++) { /* the truth: the plain model at the true parameters */
        double tp[4] = {R, AL * exp(-GT * ZT[i]), A * exp(GL * ZL[i]), B * exp(GL * ZL[i])};
        churn_model *truth = NULL;
        CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&truth, CHURN_FAMILY_BGNBD, 4, tp),
                              CHURN_OK);
        CU_ASSERT_EQUAL_FATAL(churn_btyd_score(truth, t, 1, &X[i], &TX[i], &TT[i], &ta[i],
                                               &te[i]), CHURN_OK);
        churn_model_free(truth);
    }
    churn_btyd_covariates c = covs(ZT, ZL);
    int hit_a[PROF] = {0}, hit_e[PROF] = {0}, sets = 0;
    for (int s = 0; s < SETS; s++) {
        churn_model *m = fit_cov(100 + (uint64_t)s, N);
        if (!m)
            continue;
        double alo[PROF], ahi[PROF], elo[PROF], ehi[PROF];
        if (churn_btyd_predict_interval_covariates(m, t, level, PROF, X, TX, TT, &c, NULL, alo,
                                                   ahi, NULL, elo, ehi) == CHURN_OK) {
            sets++;
            for (int i = 0; i < PROF; i++) {
                hit_a[i] += alo[i] <= ta[i] && ta[i] <= ahi[i];
                hit_e[i] += elo[i] <= te[i] && te[i] <= ehi[i];
            }
        }
        churn_model_free(m);
    }
    CU_ASSERT(sets >= SETS - 2);
    double sum = 0;
    printf("\n  BG/NBD with one trans and one life covariate, %d data sets of %d customers, "
           "90%% intervals, coverage of the truth:\n", sets, (int)N);
    for (int i = 0; i < PROF; i++) {
        double ca = (double)hit_a[i] / sets, ce = (double)hit_e[i] / sets;
        printf("    x=%g t_x=%g T=%g z=(%g,%g): P(alive) %.3f (truth %.4f)  E[X(%g)] %.3f "
               "(truth %.4f)\n", X[i], TX[i], TT[i], ZT[i], ZL[i], ca, ta[i], t, ce, te[i]);
        sum += ca + ce;
        CU_ASSERT(fabs(ca - level) <= 0.065);
        CU_ASSERT(fabs(ce - level) <= 0.065);
    }
    printf("    mean coverage %.4f over %d intervals\n", sum / (2 * PROF), 2 * PROF);
    CU_ASSERT(fabs(sum / (2 * PROF) - level) <= 0.03);
}

static void test_errors(void)
{
    churn_model *m = fit_cov(9, 2000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    churn_btyd_covariates c = covs(ZT, ZL);
    double lo[PROF], hi[PROF];
    const double bad_levels[] = {0, 1, -0.5, 1.5, NAN};
    for (int i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(churn_btyd_predict_interval_covariates(m, 5, bad_levels[i], PROF, X,
                                                               TX, TT, &c, NULL, lo, hi, NULL,
                                                               NULL, NULL), CHURN_EINVAL);
        CU_ASSERT(strstr(churn_last_error_message(), "level") != NULL);
    }
    CU_ASSERT_EQUAL(churn_btyd_predict_interval_covariates(m, 5, 0.9, PROF, X, TX, TT, &c,
                                                           NULL, NULL, NULL, NULL, NULL, NULL),
                    CHURN_EINVAL);
    /* a missing covariate is named */
    churn_btyd_covariates only_t = c;
    only_t.n_life = 0;
    CU_ASSERT_EQUAL(churn_btyd_predict_interval_covariates(m, 5, 0.9, PROF, X, TX, TT, &only_t,
                                                           NULL, lo, hi, NULL, NULL, NULL),
                    CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "'b2b'") != NULL);
    CU_ASSERT(strstr(churn_last_error_message(), "churn_btyd_predict_interval_covariates") !=
              NULL);
    /* a non-finite covariate value names the row */
    double zl[PROF];
    memcpy(zl, ZL, sizeof zl);
    zl[4] = NAN;
    churn_btyd_covariates bad = covs(ZT, zl);
    CU_ASSERT_EQUAL(churn_btyd_predict_interval_covariates(m, 5, 0.9, PROF, X, TX, TT, &bad,
                                                           NULL, lo, hi, NULL, NULL, NULL),
                    CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row 4") != NULL);
    /* no covariance: a fit without standard errors */
    churn_btyd_cov_options co;
    churn_btyd_cov_options_init(&co);
    co.no_std_errors = 1;
    enum { N = 2000 };
    double *v = malloc(5 * N * sizeof *v);
    simulate_groups(9, N, v, v + N, v + 2 * N, v + 3 * N, v + 4 * N);
    churn_btyd_covariates cf = covs(v + 3 * N, v + 4 * N);
    churn_model *m0 = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_fit_covariates(&m0, CHURN_FAMILY_BGNBD, N, v, v + N,
                                                    v + 2 * N, NULL, &cf, &co), CHURN_OK);
    CU_ASSERT_EQUAL(churn_btyd_predict_interval_covariates(m0, 5, 0.9, PROF, X, TX, TT, &c,
                                                           NULL, lo, hi, NULL, NULL, NULL),
                    CHURN_EUNSUPPORTED);
    CU_ASSERT(strstr(churn_last_error_message(), "covariance") != NULL);
    CU_ASSERT_EQUAL(churn_btyd_predict_interval_covariates(NULL, 5, 0.9, PROF, X, TX, TT, &c,
                                                           NULL, lo, hi, NULL, NULL, NULL),
                    CHURN_EINVAL);
    free(v);
    churn_model_free(m0);
    churn_model_free(m);
}

/* The covariate BG/NBD and the Gamma-Gamma model fitted to one simulated data set. */
static int fit_cov_spend(uint64_t seed, size_t n, churn_model **m, churn_model **gg)
{
    double *v = malloc(6 * n * sizeof *v);
    simulate_groups_spend(seed, n, v, v + n, v + 2 * n, v + 3 * n, v + 4 * n, v + 5 * n);
    churn_btyd_covariates c = covs(v + 3 * n, v + 4 * n);
    *m = *gg = NULL;
    int rc = churn_btyd_fit_covariates(m, CHURN_FAMILY_BGNBD, n, v, v + n, v + 2 * n, NULL, &c,
                                       NULL);
    if (!rc)
        rc = churn_gammagamma_fit(gg, n, v, v + 5 * n, NULL, NULL);
    free(v);
    return rc;
}

static const double MV[PROF] = {30, 45, 18, 60, 25, 40};

static churn_clv_intervals clv_outputs(double (*v)[PROF])
{
    churn_clv_intervals out = CHURN_CLV_INTERVALS_INIT;
    double **f[15] = {&out.p_alive, &out.p_alive_lo, &out.p_alive_hi, &out.expected_purchases,
                      &out.expected_purchases_lo, &out.expected_purchases_hi,
                      &out.expected_spend, &out.expected_spend_lo, &out.expected_spend_hi,
                      &out.clv, &out.clv_lo, &out.clv_hi, &out.value_at_risk,
                      &out.value_at_risk_lo, &out.value_at_risk_hi};
    for (int j = 0; j < 15; j++)
        *f[j] = v[j];
    return out;
}

/* A plain BG/NBD model with the given parameters and covariance, through a model file. */
static churn_model *plain_with_cov(const double p[4], const double C[16])
{
    char buf[4096];
    int k = snprintf(buf, sizeof buf, "{\"format\": \"libchurn-model\", \"format_version\": 1, "
                     "\"library_version\": \"1.0.0\", \"family\": \"bgnbd\", "
                     "\"time_unit_days\": 7, \"param_names\": [\"r\", \"alpha\", \"a\", "
                     "\"b\"], \"params\": [%.17g, %.17g, %.17g, %.17g], \"std_errors\": "
                     "[%.17g, %.17g, %.17g, %.17g], \"covariance\": [",
                     p[0], p[1], p[2], p[3], sqrt(C[0]), sqrt(C[5]), sqrt(C[10]), sqrt(C[15]));
    for (int j = 0; j < 16; j++)
        k += snprintf(buf + k, sizeof buf - (size_t)k, "%s%.17g", j ? ", " : "", C[j]);
    k += snprintf(buf + k, sizeof buf - (size_t)k, "], \"fit\": {\"loglik\": -1, \"nobs\": "
                  "4000, \"converged\": true, \"iterations\": 10}, \"features\": [], "
                  "\"arrays\": {}, \"note\": \"\"}");
    churn_model *m = NULL;
    CU_ASSERT_EQUAL(churn_model_load_buffer(&m, buf, (size_t)k), CHURN_OK);
    if (!m)
        printf("\n  model file refused: %s\n", churn_last_error_message());
    return m;
}

static void test_clv_chain_rule(void)
{
    churn_model *m, *gg;
    CU_ASSERT_EQUAL_FATAL(fit_cov_spend(7, 4000, &m, &gg), CHURN_OK);
    double p[6], cov[36];
    CU_ASSERT_EQUAL_FATAL(churn_model_params(m, p, 6), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_model_covariance(m, cov, 36), CHURN_OK);
    churn_clv_options o = CHURN_CLV_OPTIONS_INIT;
    o.period = 4.345;
    o.margin = 0.3;
    churn_btyd_covariates c = covs(ZT, ZL);
    double v[15][PROF];
    churn_clv_intervals out = clv_outputs(v);
    CU_ASSERT_EQUAL_FATAL(churn_clv_interval_covariates(m, gg, &o, 0.9, PROF, X, TX, TT, MV,
                                                        &c, &out), CHURN_OK);
    /* the points are churn_clv_score_covariates' bit for bit */
    double pc[5][PROF];
    CU_ASSERT_EQUAL_FATAL(churn_clv_score_covariates(m, gg, &o, PROF, X, TX, TT, MV, &c, pc[0],
                                                     pc[1], pc[2], pc[3], pc[4]), CHURN_OK);
    const double s[6] = {p[0], p[1], p[2], p[3], 1, 1};
    for (int i = 0; i < PROF; i++) {
        for (int q = 0; q < 5; q++)
            CU_ASSERT(v[3 * q][i] == pc[q][i]);
        /* J: d(log r, log alpha_i, log a_i, log b_i) / d(log r, log alpha, log a, log b,
         * g_t, g_l) */
        double J[4][6] = {{1, 0, 0, 0, 0, 0},
                          {0, 1, 0, 0, -ZT[i], 0},
                          {0, 0, 1, 0, 0, ZL[i]},
                          {0, 0, 0, 1, 0, ZL[i]}};
        double pi[4] = {p[0], p[1] * exp(-p[4] * ZT[i]), p[2] * exp(p[5] * ZL[i]),
                        p[3] * exp(p[5] * ZL[i])};
        double C[16];
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++) {
                double acc = 0;
                for (int u = 0; u < 6; u++)
                    for (int w = 0; w < 6; w++)
                        acc += J[a][u] * cov[u * 6 + w] / (s[u] * s[w]) * J[b][w];
                C[a * 4 + b] = acc * pi[a] * pi[b];
            }
        churn_model *one = plain_with_cov(pi, C);
        CU_ASSERT_PTR_NOT_NULL_FATAL(one);
        double w1[15][1];
        churn_clv_intervals o1 = CHURN_CLV_INTERVALS_INIT;
        double **f[15] = {&o1.p_alive, &o1.p_alive_lo, &o1.p_alive_hi, &o1.expected_purchases,
                          &o1.expected_purchases_lo, &o1.expected_purchases_hi,
                          &o1.expected_spend, &o1.expected_spend_lo, &o1.expected_spend_hi,
                          &o1.clv, &o1.clv_lo, &o1.clv_hi, &o1.value_at_risk,
                          &o1.value_at_risk_lo, &o1.value_at_risk_hi};
        for (int j = 0; j < 15; j++)
            *f[j] = w1[j];
        CU_ASSERT_EQUAL_FATAL(churn_clv_interval(one, gg, &o, 0.9, 1, &X[i], &TX[i], &TT[i],
                                                 &MV[i], &o1), CHURN_OK);
        for (int j = 0; j < 15; j++)
            CT_CLOSE(v[j][i], w1[j][0], 1e-6);
        CU_ASSERT(v[10][i] < v[9][i] && v[9][i] < v[11][i]); /* clv_lo < clv < clv_hi */
        churn_model_free(one);
    }
    churn_model_free(m);
    churn_model_free(gg);
}

/* a plain model: churn_clv_interval's results bit for bit */
/* DERT of a covariate model (churn_dert_covariates): each customer's is the plain
 * BG/NBD's at the customer's own parameters, written here from docs/models/covariates.md
 * (alpha e^(-g_t z_t), a e^(g_l z_l), b e^(g_l z_l)), to 1e-12; a plain model gives
 * churn_dert's values; bad delta and missing covariates are refused by name. */
static void test_dert(void)
{
    churn_model *m = fit_cov(11, 4000);
    CU_ASSERT_FATAL(m != NULL);
    double p[6], dert[PROF];
    CU_ASSERT_EQUAL_FATAL(churn_model_params(m, p, 6), CHURN_OK);
    churn_btyd_covariates c = covs(ZT, ZL);
    const double delta = 0.02;
    CU_ASSERT_EQUAL_FATAL(churn_dert_covariates(m, delta, PROF, X, TX, TT, &c, dert), CHURN_OK);
    for (int i = 0; i < PROF; i++) {
        double own[4] = {p[0], p[1] * exp(-p[4] * ZT[i]), p[2] * exp(p[5] * ZL[i]),
                         p[3] * exp(p[5] * ZL[i])}, ref = NAN;
        churn_model *pm = NULL;
        CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&pm, CHURN_FAMILY_BGNBD, 4, own), CHURN_OK);
        CU_ASSERT_EQUAL(churn_dert(pm, delta, 1, &X[i], &TX[i], &TT[i], &ref), CHURN_OK);
        CT_CLOSE(dert[i], ref, 1e-12);
        CU_ASSERT(ref > 0);
        churn_model_free(pm);
    }
    /* the four groups differ: the covariates are used */
    CU_ASSERT(fabs(dert[1] / dert[0] - 1) > 1e-3);
    /* a plain model: churn_dert itself */
    churn_model *pm = NULL;
    double d2[PROF], d3[PROF];
    CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&pm, CHURN_FAMILY_BGNBD, 4, p), CHURN_OK);
    CU_ASSERT_EQUAL(churn_dert_covariates(pm, delta, PROF, X, TX, TT, NULL, d2), CHURN_OK);
    CU_ASSERT_EQUAL(churn_dert(pm, delta, PROF, X, TX, TT, d3), CHURN_OK);
    CU_ASSERT(memcmp(d2, d3, sizeof d2) == 0);
    churn_model_free(pm);
    /* refusals */
    CU_ASSERT_EQUAL(churn_dert_covariates(m, 0.0, PROF, X, TX, TT, &c, dert), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "churn_dert_covariates") != NULL);
    CU_ASSERT(strstr(churn_last_error_message(), "delta") != NULL);
    churn_btyd_covariates c1 = c;
    c1.n_life = 0, c1.life = NULL, c1.life_names = NULL;
    CU_ASSERT_EQUAL(churn_dert_covariates(m, delta, PROF, X, TX, TT, &c1, dert), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "b2b") != NULL);
    CU_ASSERT_EQUAL(churn_dert_covariates(NULL, delta, PROF, X, TX, TT, &c, dert), CHURN_EINVAL);
    double badT[PROF];
    memcpy(badT, TT, sizeof badT);
    badT[3] = -1;
    CU_ASSERT_EQUAL(churn_dert_covariates(m, delta, PROF, X, TX, badT, &c, dert), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row 3") != NULL);
    churn_model_free(m);
}

static void test_clv_plain(void)
{
    churn_simulate_options so;
    churn_simulate_options_init(&so);
    so.model = CHURN_FAMILY_PNBD;
    so.days = 39 * 7;
    so.seed = 5;
    so.p = GG_P, so.q = GG_Q, so.gamma = GG_G;
    enum { N = 2000 };
    double *v = malloc(4 * N * sizeof *v);
    CU_ASSERT_EQUAL_FATAL(churn_simulate_summary(&so, N, v, v + N, v + 2 * N, NULL, v + 3 * N,
                                                 NULL), CHURN_OK);
    for (int i = 0; i < N; i++)
        if (isnan(v[3 * N + i]))
            v[3 * N + i] = 0;
    churn_model *m = NULL, *gg = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_fit(&m, CHURN_FAMILY_PNBD, N, v, v + N, v + 2 * N, NULL,
                                         NULL), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_gammagamma_fit(&gg, N, v, v + 3 * N, NULL, NULL), CHURN_OK);
    double a[15][PROF], b[15][PROF];
    churn_clv_intervals oa = clv_outputs(a), ob = clv_outputs(b);
    churn_clv_options o = CHURN_CLV_OPTIONS_INIT;
    o.period = 4.345;
    CU_ASSERT_EQUAL_FATAL(churn_clv_interval_covariates(m, gg, &o, 0.8, PROF, X, TX, TT, MV,
                                                        NULL, &oa), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_clv_interval(m, gg, &o, 0.8, PROF, X, TX, TT, MV, &ob),
                          CHURN_OK);
    CU_ASSERT(memcmp(a, b, sizeof a) == 0);
    free(v);
    churn_model_free(m);
    churn_model_free(gg);
}

static void test_clv_coverage(void)
{
    enum { SETS = 200, N = 4000 };
    const double level = 0.9;
    churn_clv_options o = CHURN_CLV_OPTIONS_INIT;
    o.period = 4.345;
    o.horizon = 12;
    o.margin = 0.25;
    double tclv[PROF], tvar[PROF];
    for (int i = 0; i < PROF; i++) { /* the truth: the plain model at the true parameters */
        double tp[4] = {R, AL * exp(-GT * ZT[i]), A * exp(GL * ZL[i]), B * exp(GL * ZL[i])};
        churn_model *truth = NULL;
        CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&truth, CHURN_FAMILY_BGNBD, 4, tp),
                              CHURN_OK);
        double disc, pa;
        CU_ASSERT_EQUAL_FATAL(churn_clv_discounted_purchases(truth, &o, 1, &X[i], &TX[i],
                                                             &TT[i], &disc), CHURN_OK);
        CU_ASSERT_EQUAL_FATAL(churn_btyd_p_alive(truth, 1, &X[i], &TX[i], &TT[i], &pa),
                              CHURN_OK);
        double es = GG_P * (GG_G + X[i] * MV[i]) / (GG_P * X[i] + GG_Q - 1);
        tclv[i] = o.margin * es * disc;
        tvar[i] = tclv[i] * (1 - pa) / pa;
        churn_model_free(truth);
    }
    churn_btyd_covariates c = covs(ZT, ZL);
    int hit_c[PROF] = {0}, hit_v[PROF] = {0}, sets = 0;
    for (int s = 0; s < SETS; s++) {
        churn_model *m, *gg;
        if (fit_cov_spend(500 + (uint64_t)s, N, &m, &gg) == CHURN_OK) {
            double clo[PROF], chi[PROF], vlo[PROF], vhi[PROF];
            churn_clv_intervals out = CHURN_CLV_INTERVALS_INIT;
            out.clv_lo = clo, out.clv_hi = chi;
            out.value_at_risk_lo = vlo, out.value_at_risk_hi = vhi;
            if (churn_clv_interval_covariates(m, gg, &o, level, PROF, X, TX, TT, MV, &c,
                                              &out) == CHURN_OK) {
                sets++;
                for (int i = 0; i < PROF; i++) {
                    hit_c[i] += clo[i] <= tclv[i] && tclv[i] <= chi[i];
                    hit_v[i] += vlo[i] <= tvar[i] && tvar[i] <= vhi[i];
                }
            }
        }
        churn_model_free(m);
        churn_model_free(gg);
    }
    CU_ASSERT(sets >= SETS - 2);
    double sum = 0;
    printf("\n  BG/NBD with one trans and one life covariate + Gamma-Gamma, %d data sets of "
           "%d customers, 90%% CLV intervals, coverage of the truth:\n", sets, (int)N);
    for (int i = 0; i < PROF; i++) {
        double cc = (double)hit_c[i] / sets, cv = (double)hit_v[i] / sets;
        printf("    x=%g t_x=%g T=%g zbar=%g z=(%g,%g): CLV %.3f (truth %.3f)  value at risk "
               "%.3f (truth %.3f)\n", X[i], TX[i], TT[i], MV[i], ZT[i], ZL[i], cc, tclv[i], cv,
               tvar[i]);
        sum += cc + cv;
        CU_ASSERT(fabs(cc - level) <= 0.065);
        CU_ASSERT(fabs(cv - level) <= 0.065);
    }
    printf("    mean coverage %.4f over %d intervals\n", sum / (2 * PROF), 2 * PROF);
    CU_ASSERT(fabs(sum / (2 * PROF) - level) <= 0.03);
}

static void test_clv_errors(void)
{
    churn_model *m, *gg;
    CU_ASSERT_EQUAL_FATAL(fit_cov_spend(9, 2000, &m, &gg), CHURN_OK);
    churn_btyd_covariates c = covs(ZT, ZL);
    churn_clv_options o = CHURN_CLV_OPTIONS_INIT;
    o.period = 4.345;
    double lo[PROF];
    churn_clv_intervals out = CHURN_CLV_INTERVALS_INIT;
    out.clv_lo = lo;
    CU_ASSERT_EQUAL(churn_clv_interval_covariates(m, gg, &o, 1.0, PROF, X, TX, TT, MV, &c,
                                                  &out), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "churn_clv_interval_covariates: level") !=
              NULL);
    churn_btyd_covariates only_t = c;
    only_t.n_life = 0;
    CU_ASSERT_EQUAL(churn_clv_interval_covariates(m, gg, &o, 0.9, PROF, X, TX, TT, MV,
                                                  &only_t, &out), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "'b2b'") != NULL);
    double zl[PROF];
    memcpy(zl, ZL, sizeof zl);
    zl[2] = INFINITY;
    churn_btyd_covariates bad = covs(ZT, zl);
    CU_ASSERT_EQUAL(churn_clv_interval_covariates(m, gg, &o, 0.9, PROF, X, TX, TT, MV, &bad,
                                                  &out), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row 2") != NULL);
    CU_ASSERT(strstr(churn_last_error_message(), "churn_clv_interval_covariates") != NULL);
    /* a spend model without a covariance */
    churn_model *g0 = NULL;
    churn_gammagamma_options go;
    churn_gammagamma_options_init(&go);
    go.no_std_errors = 1;
    double fx[4] = {1, 2, 3, 4}, fz[4] = {10, 30, 20, 50};
    CU_ASSERT_EQUAL_FATAL(churn_gammagamma_fit(&g0, 4, fx, fz, NULL, &go) == CHURN_OK ||
                          g0 != NULL, 1);
    CU_ASSERT_EQUAL(churn_clv_interval_covariates(m, g0, &o, 0.9, PROF, X, TX, TT, MV, &c,
                                                  &out), CHURN_EUNSUPPORTED);
    CU_ASSERT(strstr(churn_last_error_message(), "'spend'") != NULL);
    CU_ASSERT_EQUAL(churn_clv_interval_covariates(NULL, gg, &o, 0.9, PROF, X, TX, TT, MV, &c,
                                                  &out), CHURN_EINVAL);
    churn_model_free(g0);
    churn_model_free(m);
    churn_model_free(gg);
}

/* The fitting sample of fit_cov: histories and covariates (5 n doubles). */
static double *cov_sample(uint64_t seed, size_t n)
{
    double *v = malloc(5 * n * sizeof *v);
    simulate_groups(seed, n, v, v + n, v + 2 * n, v + 3 * n, v + 4 * n);
    return v;
}

static void test_bootstrap(void)
{
    enum { N = 6000 };
    double *v = cov_sample(21, N);
    churn_btyd_covariates cf = covs(v + 3 * N, v + 4 * N), c = covs(ZT, ZL);
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_fit_covariates(&m, CHURN_FAMILY_BGNBD, N, v, v + N,
                                                    v + 2 * N, NULL, &cf, NULL), CHURN_OK);
    churn_bootstrap_options o;
    churn_bootstrap_options_init(&o);
    o.resamples = 40;
    o.seed = 9;
    double a[4][PROF], b[4][PROF];
    size_t fa = 99, fb = 99;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_bootstrap_interval_covariates(
                              m, N, v, v + N, v + 2 * N, &cf, NULL, 26, PROF, X, TX, TT, &c, &o,
                              a[0], a[1], a[2], a[3], &fa), CHURN_OK);
    o.threads = 3;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_bootstrap_interval_covariates(
                              m, N, v, v + N, v + 2 * N, &cf, NULL, 26, PROF, X, TX, TT, &c, &o,
                              b[0], b[1], b[2], b[3], &fb), CHURN_OK);
    CU_ASSERT(memcmp(a, b, sizeof a) == 0);
    CU_ASSERT(fa == 0 && fb == 0);
    /* 400 resamples against the delta method */
    o.resamples = 400;
    o.threads = 2;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_bootstrap_interval_covariates(
                              m, N, v, v + N, v + 2 * N, &cf, NULL, 26, PROF, X, TX, TT, &c, &o,
                              a[0], a[1], a[2], a[3], &fa), CHURN_OK);
    double pa[PROF], d[4][PROF], e[PROF];
    CU_ASSERT_EQUAL_FATAL(churn_btyd_predict_interval_covariates(m, 26, 0.9, PROF, X, TX, TT,
                                                                 &c, pa, d[0], d[1], e, d[2],
                                                                 d[3]), CHURN_OK);
    /* each limit, and each interval's width; a 5% percentile of 400 resamples has a
     * Monte Carlo error of about 6% of its distance from the centre */
    double wl = 0, ww = 0;
    for (int i = 0; i < PROF; i++) {
        CU_ASSERT(a[0][i] < pa[i] && pa[i] < a[1][i]);
        CU_ASSERT(a[2][i] < e[i] && e[i] < a[3][i]);
        for (int q = 0; q < 4; q++)
            wl = fmax(wl, fabs(a[q][i] - d[q][i]) / d[q][i]);
        for (int q = 0; q < 4; q += 2)
            ww = fmax(ww, fabs((a[q + 1][i] - a[q][i]) / (d[q + 1][i] - d[q][i]) - 1));
    }
    printf("\n  bootstrap (400 resamples) vs delta method, %d customers: limits within %.3f, "
           "widths within %.3f (relative)\n", (int)N, wl, ww);
    CU_ASSERT(wl < 0.04);
    CU_ASSERT(ww < 0.15);
    free(v);
    churn_model_free(m);
}

static void test_bootstrap_coverage(void)
{
    if (!(getenv("CHURN_SLOW_TESTS") && atoi(getenv("CHURN_SLOW_TESTS")) > 0)) {
        printf("\n  SKIP: 40,000 covariate refits (about 6 min on 2 cores); "
               "CHURN_SLOW_TESTS=1 runs them (docs/models/intervals.md has the result)\n");
        return;
    }
    const int SETS = 200;
    enum { N = 2000 };
    const double t = 26, level = 0.9;
    double ta[PROF], te[PROF];
    for (int i = 0; i < PROF; i++) {
        double tp[4] = {R, AL * exp(-GT * ZT[i]), A * exp(GL * ZL[i]), B * exp(GL * ZL[i])};
        churn_model *truth = NULL;
        CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&truth, CHURN_FAMILY_BGNBD, 4, tp),
                              CHURN_OK);
        CU_ASSERT_EQUAL_FATAL(churn_btyd_score(truth, t, 1, &X[i], &TX[i], &TT[i], &ta[i],
                                               &te[i]), CHURN_OK);
        churn_model_free(truth);
    }
    churn_btyd_covariates c = covs(ZT, ZL);
    churn_bootstrap_options o;
    churn_bootstrap_options_init(&o);
    o.resamples = 200;
    o.threads = 2;
    int hit_a[PROF] = {0}, hit_e[PROF] = {0}, sets = 0;
    for (int s = 0; s < SETS; s++) {
        double *v = cov_sample(700 + (uint64_t)s, N);
        churn_btyd_covariates cf = covs(v + 3 * N, v + 4 * N);
        churn_model *m = NULL;
        if (churn_btyd_fit_covariates(&m, CHURN_FAMILY_BGNBD, N, v, v + N, v + 2 * N, NULL,
                                      &cf, NULL) == CHURN_OK) {
            double lo[PROF], hi[PROF], elo[PROF], ehi[PROF];
            o.seed = 100 + (uint64_t)s;
            if (churn_btyd_bootstrap_interval_covariates(m, N, v, v + N, v + 2 * N, &cf, NULL,
                                                         t, PROF, X, TX, TT, &c, &o, lo, hi,
                                                         elo, ehi, NULL) == CHURN_OK) {
                sets++;
                for (int i = 0; i < PROF; i++) {
                    hit_a[i] += lo[i] <= ta[i] && ta[i] <= hi[i];
                    hit_e[i] += elo[i] <= te[i] && te[i] <= ehi[i];
                }
            }
        }
        churn_model_free(m);
        free(v);
    }
    CU_ASSERT(sets >= SETS - 2);
    double sum = 0;
    printf("\n  bootstrap (200 resamples), BG/NBD with one trans and one life covariate, %d "
           "data sets of %d customers, 90%% intervals, coverage of the truth:\n", sets,
           (int)N);
    for (int i = 0; i < PROF; i++) {
        double ca = (double)hit_a[i] / sets, ce = (double)hit_e[i] / sets;
        printf("    x=%g t_x=%g T=%g z=(%g,%g): P(alive) %.3f  E[X(%g)] %.3f\n", X[i], TX[i],
               TT[i], ZT[i], ZL[i], ca, t, ce);
        sum += ca + ce;
        /* about 3 binomial SEs at this number of sets */
        CU_ASSERT(fabs(ca - level) <= 0.065);
        CU_ASSERT(fabs(ce - level) <= 0.065);
    }
    printf("    mean coverage %.4f over %d intervals\n", sum / (2 * PROF), 2 * PROF);
    CU_ASSERT(fabs(sum / (2 * PROF) - level) <= 0.03);
}

static void test_bootstrap_errors(void)
{
    enum { N = 1500 };
    double *v = cov_sample(31, N);
    churn_btyd_covariates cf = covs(v + 3 * N, v + 4 * N), c = covs(ZT, ZL);
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_fit_covariates(&m, CHURN_FAMILY_BGNBD, N, v, v + N,
                                                    v + 2 * N, NULL, &cf, NULL), CHURN_OK);
    churn_bootstrap_options o;
    churn_bootstrap_options_init(&o);
    o.resamples = 20;
    double lo[PROF], hi[PROF];
    /* the plain entry point refuses a covariate model instead of refitting it plain */
    CU_ASSERT_EQUAL(churn_btyd_bootstrap_interval(m, N, v, v + N, v + 2 * N, 26, PROF, X, TX,
                                                  TT, &o, lo, hi, NULL, NULL, NULL),
                    CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "churn_btyd_bootstrap_interval_covariates") !=
              NULL);
    /* fitting covariates that are not the model's, in its order */
    churn_btyd_covariates sw = cf;
    sw.trans_names = LN;
    CU_ASSERT_EQUAL(churn_btyd_bootstrap_interval_covariates(m, N, v, v + N, v + 2 * N, &sw,
                                                             NULL, 26, PROF, X, TX, TT, &c, &o,
                                                             lo, hi, NULL, NULL, NULL),
                    CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "'b2b'") != NULL);
    CU_ASSERT(strstr(churn_last_error_message(), "trans.promo") != NULL);
    churn_btyd_covariates one = cf;
    one.n_life = 0;
    CU_ASSERT_EQUAL(churn_btyd_bootstrap_interval_covariates(m, N, v, v + N, v + 2 * N, &one,
                                                             NULL, 26, PROF, X, TX, TT, &c, &o,
                                                             lo, hi, NULL, NULL, NULL),
                    CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_btyd_bootstrap_interval_covariates(m, N, v, v + N, v + 2 * N, NULL,
                                                             NULL, 26, PROF, X, TX, TT, &c, &o,
                                                             lo, hi, NULL, NULL, NULL),
                    CHURN_EINVAL);
    v[4 * N + 17] = NAN;
    CU_ASSERT_EQUAL(churn_btyd_bootstrap_interval_covariates(m, N, v, v + N, v + 2 * N, &cf,
                                                             NULL, 26, PROF, X, TX, TT, &c, &o,
                                                             lo, hi, NULL, NULL, NULL),
                    CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row 17") != NULL);
    v[4 * N + 17] = 0;
    /* the scored customers' covariates, as scoring checks them */
    churn_btyd_covariates only_t = c;
    only_t.n_life = 0;
    CU_ASSERT_EQUAL(churn_btyd_bootstrap_interval_covariates(m, N, v, v + N, v + 2 * N, &cf,
                                                             NULL, 26, PROF, X, TX, TT, &only_t,
                                                             &o, lo, hi, NULL, NULL, NULL),
                    CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "churn_btyd_bootstrap_interval_covariates: ") ==
              churn_last_error_message());
    CU_ASSERT(strstr(churn_last_error_message(), "'b2b'") != NULL);
    o.resamples = 5;
    CU_ASSERT_EQUAL(churn_btyd_bootstrap_interval_covariates(m, N, v, v + N, v + 2 * N, &cf,
                                                             NULL, 26, PROF, X, TX, TT, &c, &o,
                                                             lo, hi, NULL, NULL, NULL),
                    CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "resamples") != NULL);
    free(v);
    churn_model_free(m);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"covariate BG/NBD P(alive) interval equals the closed-form delta method",
         test_closed_form},
        {"a plain model gives churn_btyd_predict_interval's limits", test_plain_model},
        {"covariate-model intervals cover the truth at their nominal rate", test_coverage},
        {"bad level, outputs, covariates and models are refused", test_errors},
        {"covariate CLV intervals equal the plain intervals with the chain-rule covariance",
         test_clv_chain_rule},
        {"a plain model gives churn_clv_interval's results", test_clv_plain},
        {"covariate DERT is the plain DERT at each customer's own parameters", test_dert},
        {"covariate CLV intervals cover the truth at their nominal rate", test_clv_coverage},
        {"CLV intervals: bad level, covariates and models are refused", test_clv_errors},
        {"bootstrap: threads agree, limits close to the delta method's", test_bootstrap},
        {"bootstrap intervals cover the truth at their nominal rate", test_bootstrap_coverage},
        {"bootstrap: covariates not the model's, bad rows and options are refused",
         test_bootstrap_errors},
        CU_TEST_INFO_NULL,
    };
    return churn_test_run("interval_cov", tests);
}
