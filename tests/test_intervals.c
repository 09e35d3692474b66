/*
 * Delta-method intervals of BTYD predictions (churn_btyd_predict_interval,
 * issue 23 "Uncertainty").
 *
 * References: (1) the closed-form gradient of BG/NBD's logit P(alive) in the
 * log-parameters, written out by hand below, gives the interval exactly;
 * (2) coverage on simulated data with known parameters: 200 data sets of
 * 5,000 customers each, fitted, and the 90% interval of each of five
 * customer profiles checked against the prediction at the true parameters;
 * the nominal rate must hold within 3 percentage points on average over the
 * profiles (binomial SE of one profile: 2.1 points).
 */
#include "churn.h"
#include "testutil.h"

#include <gsl/gsl_cdf.h>
#include <stdlib.h>
#include <string.h>

static churn_model *fitted_bgnbd(uint64_t seed, size_t n, double **xs)
{
    churn_simulate_options o;
    churn_simulate_options_init(&o);
    o.model = CHURN_FAMILY_BGNBD;
    o.customers = n;
    o.seed = seed;
    o.days = 39 * 7;
    o.acquisition_days = 12 * 7;
    o.r = 0.25; o.alpha = 4.0; o.a = 0.8; o.b = 2.4;
    double *x = malloc(3 * n * sizeof *x), *tx = x + n, *T = x + 2 * n;
    CU_ASSERT_EQUAL_FATAL(churn_simulate_summary(&o, n, x, tx, T, NULL, NULL, NULL), CHURN_OK);
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_fit(&m, CHURN_FAMILY_BGNBD, n, x, tx, T, NULL, NULL),
                          CHURN_OK);
    if (xs)
        *xs = x;
    else
        free(x);
    return m;
}

/* BG/NBD, x > 0: logit P(alive) = -log A, A = a/(b+x-1) ((alpha+T)/(alpha+tx))^(r+x). */
static void test_closed_form(void)
{
    churn_model *m = fitted_bgnbd(11, 3000, NULL);
    double p[4], cov[16];
    CU_ASSERT_EQUAL_FATAL(churn_model_params(m, p, 4), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_model_covariance(m, cov, 16), CHURN_OK);
    double r = p[0], al = p[1], a = p[2], b = p[3];
    const double X[] = {1, 2, 5, 9}, TX[] = {3, 20, 30, 12}, TT[] = {35, 36, 38, 30};
    double pa[4], lo[4], hi[4], e[4], elo[4], ehi[4];
    CU_ASSERT_EQUAL_FATAL(churn_btyd_predict_interval(m, 10, 0.9, 4, X, TX, TT, pa, lo, hi,
                                                      e, elo, ehi), CHURN_OK);
    double z = gsl_cdf_ugaussian_Pinv(0.95);
    for (int i = 0; i < 4; i++) {
        double x = X[i], tx = TX[i], T = TT[i];
        double L = log((al + T) / (al + tx));
        double g[4] = {-r * L, -(r + x) * al * (1 / (al + T) - 1 / (al + tx)), -1,
                       b / (b + x - 1)};
        double v = 0;
        for (int j = 0; j < 4; j++)
            for (int k = 0; k < 4; k++)
                v += g[j] * cov[j * 4 + k] / (p[j] * p[k]) * g[k];
        double u = -log(a / (b + x - 1)) - (r + x) * L;
        CT_CLOSE(pa[i], 1 / (1 + exp(-u)), 1e-12);
        CT_CLOSE(lo[i], 1 / (1 + exp(-(u - z * sqrt(v)))), 1e-7);
        CT_CLOSE(hi[i], 1 / (1 + exp(-(u + z * sqrt(v)))), 1e-7);
        CU_ASSERT(lo[i] < pa[i] && pa[i] < hi[i]);
        CU_ASSERT(elo[i] < e[i] && e[i] < ehi[i]);
        /* the point predictions are the library's own */
        double pa1, e1;
        churn_btyd_score(m, 10, 1, &X[i], &TX[i], &TT[i], &pa1, &e1);
        CT_CLOSE(pa[i], pa1, 1e-14);
        CT_CLOSE(e[i], e1, 1e-12); /* score takes its own fast path */
    }
    /* frequency 0: BG/NBD's P(alive) is 1, its interval degenerate */
    double x0 = 0, t0 = 0, T0 = 30;
    CU_ASSERT_EQUAL(churn_btyd_predict_interval(m, 10, 0.9, 1, &x0, &t0, &T0, pa, lo, hi, NULL,
                                                NULL, NULL), CHURN_OK);
    CU_ASSERT(pa[0] == 1 && lo[0] == 1 && hi[0] == 1);
    churn_model_free(m);
}

static void coverage(int family, const char *name)
{
    enum { SETS = 200, N = 5000, PROF = 5 };
    const double X[PROF] = {0, 1, 3, 6, 2}, TX[PROF] = {0, 20, 30, 35, 5},
                 TT[PROF] = {30, 35, 36, 38, 37};
    const double t = 26, level = 0.9;
    churn_simulate_options o;
    churn_simulate_options_init(&o);
    o.model = family;
    o.customers = N;
    o.days = 39 * 7;
    o.acquisition_days = 12 * 7;
    double truth_p[4];
    size_t np;
    if (family == CHURN_FAMILY_BGNBD) {
        o.r = 0.25; o.alpha = 4.0; o.a = 0.8; o.b = 2.4;
        truth_p[0] = o.r; truth_p[1] = o.alpha; truth_p[2] = o.a; truth_p[3] = o.b;
    } else {
        o.r = 0.55; o.alpha = 10.6; o.s = 0.61; o.beta = 11.7;
        truth_p[0] = o.r; truth_p[1] = o.alpha; truth_p[2] = o.s; truth_p[3] = o.beta;
    }
    np = 4;
    churn_model *truth = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&truth, family, np, truth_p), CHURN_OK);
    double ta[PROF], te[PROF];
    CU_ASSERT_EQUAL_FATAL(churn_btyd_score(truth, t, PROF, X, TX, TT, ta, te), CHURN_OK);
    int hit_a[PROF] = {0}, hit_e[PROF] = {0}, sets = 0;
    double *x = malloc(3 * N * sizeof *x), *tx = x + N, *T = x + 2 * N;
    for (int s = 0; s < SETS; s++) {
        o.seed = 1000 + s;
        CU_ASSERT_EQUAL_FATAL(churn_simulate_summary(&o, N, x, tx, T, NULL, NULL, NULL),
                              CHURN_OK);
        churn_model *m = NULL;
        if (churn_btyd_fit(&m, family, N, x, tx, T, NULL, NULL) != CHURN_OK)
            continue;
        double pa[PROF], lo[PROF], hi[PROF], e[PROF], elo[PROF], ehi[PROF];
        if (churn_btyd_predict_interval(m, t, level, PROF, X, TX, TT, pa, lo, hi, e, elo,
                                        ehi) == CHURN_OK) {
            sets++;
            for (int i = 0; i < PROF; i++) {
                hit_a[i] += lo[i] <= ta[i] && ta[i] <= hi[i];
                hit_e[i] += elo[i] <= te[i] && te[i] <= ehi[i];
            }
        }
        churn_model_free(m);
    }
    free(x);
    churn_model_free(truth);
    CU_ASSERT(sets >= SETS - 2);
    double sum = 0;
    int counted = 0;
    printf("\n  %s, %d data sets of %d customers, 90%% intervals, coverage of the truth:\n",
           name, sets, (int)N);
    for (int i = 0; i < PROF; i++) {
        double ca = (double)hit_a[i] / sets, ce = (double)hit_e[i] / sets;
        printf("    x=%g t_x=%g T=%g: P(alive) %.3f (truth %.4f)  E[X(%g)] %.3f (truth %.4f)\n",
               X[i], TX[i], TT[i], ca, ta[i], t, ce, te[i]);
        if (!(family == CHURN_FAMILY_BGNBD && X[i] == 0)) { /* P(alive) = 1 exactly */
            sum += ca;
            counted++;
            CU_ASSERT(fabs(ca - level) <= 0.065); /* about 3 binomial SEs */
        }
        sum += ce;
        counted++;
        CU_ASSERT(fabs(ce - level) <= 0.065);
    }
    printf("    mean coverage %.4f over %d intervals\n", sum / counted, counted);
    CU_ASSERT(fabs(sum / counted - level) <= 0.03);
}

static void test_coverage_bgnbd(void)
{
    coverage(CHURN_FAMILY_BGNBD, "BG/NBD");
}

static void test_coverage_pnbd(void)
{
    coverage(CHURN_FAMILY_PNBD, "Pareto/NBD");
}

static void test_errors(void)
{
    churn_model *m = fitted_bgnbd(5, 1000, NULL);
    double x = 2, tx = 10, T = 30, out, lo, hi;
    const double bad_levels[] = {0, 1, -0.5, 1.5, NAN};
    for (int i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(churn_btyd_predict_interval(m, 5, bad_levels[i], 1, &x, &tx, &T, &out,
                                                    &lo, &hi, NULL, NULL, NULL), CHURN_EINVAL);
        CU_ASSERT(strstr(churn_last_error_message(), "level") != NULL);
    }
    CU_ASSERT_EQUAL(churn_btyd_predict_interval(m, -1, 0.9, 1, &x, &tx, &T, NULL, NULL, NULL,
                                                &out, &lo, &hi), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_btyd_predict_interval(m, 5, 0.9, 1, &x, &tx, &T, NULL, NULL, NULL,
                                                NULL, NULL, NULL), CHURN_EINVAL);
    double bx[2] = {2, 3}, btx[2] = {10, 40}, bT[2] = {30, 30};
    CU_ASSERT_EQUAL(churn_btyd_predict_interval(m, 5, 0.9, 2, bx, btx, bT, NULL, NULL, NULL,
                                                bx, btx, bT), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row 1") != NULL);
    double p[4];
    churn_model_params(m, p, 4);
    churn_model *given = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&given, CHURN_FAMILY_BGNBD, 4, p), CHURN_OK);
    CU_ASSERT_EQUAL(churn_btyd_predict_interval(given, 5, 0.9, 1, &x, &tx, &T, &out, &lo, &hi,
                                                NULL, NULL, NULL), CHURN_EUNSUPPORTED);
    CU_ASSERT(strstr(churn_last_error_message(), "covariance") != NULL);
    CU_ASSERT_EQUAL(churn_btyd_predict_interval(NULL, 5, 0.9, 1, &x, &tx, &T, &out, &lo, &hi,
                                                NULL, NULL, NULL), CHURN_EINVAL);
    churn_model_free(given);
    churn_model_free(m);
}

/* Bootstrap: the same limits for any number of threads (one random stream per
 * resample), and percentile intervals that cover the truth at their nominal rate. */
static void test_bootstrap_threads_agree(void)
{
    double *xs;
    churn_model *m = fitted_bgnbd(21, 1500, &xs);
    const double *x = xs, *tx = xs + 1500, *T = xs + 3000;
    churn_bootstrap_options o;
    churn_bootstrap_options_init(&o);
    o.resamples = 60;
    o.seed = 99;
    double a1[5], b1[5], c1[5], d1[5], a2[5], b2[5], c2[5], d2[5];
    size_t f1 = 9, f2 = 9;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_bootstrap_interval(m, 1500, x, tx, T, 13, 5, x + 40,
                                                        tx + 40, T + 40, &o, a1, b1, c1, d1,
                                                        &f1), CHURN_OK);
    o.threads = 3;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_bootstrap_interval(m, 1500, x, tx, T, 13, 5, x + 40,
                                                        tx + 40, T + 40, &o, a2, b2, c2, d2,
                                                        &f2), CHURN_OK);
    CU_ASSERT_EQUAL(f1, f2);
    for (int i = 0; i < 5; i++) {
        CU_ASSERT(a1[i] == a2[i] && b1[i] == b2[i] && c1[i] == c2[i] && d1[i] == d2[i]);
        CU_ASSERT(a1[i] <= b1[i] && c1[i] <= d1[i]);
    }
    o.resamples = 10;
    CU_ASSERT_EQUAL(churn_btyd_bootstrap_interval(m, 1500, x, tx, T, 13, 5, x, tx, T, &o, a1,
                                                  b1, c1, d1, NULL), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "resamples") != NULL);
    free(xs);
    churn_model_free(m);
}

static void test_bootstrap_coverage(void)
{
    enum { SETS = 200, N = 2000, PROF = 4, B = 300 };
    const double X[PROF] = {1, 3, 6, 2}, TX[PROF] = {20, 30, 35, 5}, TT[PROF] = {35, 36, 38, 37};
    const double t = 26, level = 0.9;
    double truth_p[4] = {0.25, 4.0, 0.8, 2.4};
    churn_model *truth = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&truth, CHURN_FAMILY_BGNBD, 4, truth_p),
                          CHURN_OK);
    double ta[PROF], te[PROF];
    CU_ASSERT_EQUAL_FATAL(churn_btyd_score(truth, t, PROF, X, TX, TT, ta, te), CHURN_OK);
    churn_simulate_options so;
    churn_simulate_options_init(&so);
    so.model = CHURN_FAMILY_BGNBD;
    so.customers = N;
    so.days = 39 * 7;
    so.acquisition_days = 12 * 7;
    so.r = 0.25; so.alpha = 4.0; so.a = 0.8; so.b = 2.4;
    churn_bootstrap_options o;
    churn_bootstrap_options_init(&o);
    o.resamples = B;
    o.threads = 2;
    o.level = level;
    int hit_a[PROF] = {0}, hit_e[PROF] = {0}, sets = 0;
    double *x = malloc(3 * N * sizeof *x), *tx = x + N, *T = x + 2 * N;
    for (int s = 0; s < SETS; s++) {
        so.seed = 5000 + s;
        o.seed = 77 + s;
        CU_ASSERT_EQUAL_FATAL(churn_simulate_summary(&so, N, x, tx, T, NULL, NULL, NULL),
                              CHURN_OK);
        churn_model *m = NULL;
        if (churn_btyd_fit(&m, CHURN_FAMILY_BGNBD, N, x, tx, T, NULL, NULL) != CHURN_OK) {
            churn_model_free(m);
            continue;
        }
        double alo[PROF], ahi[PROF], elo[PROF], ehi[PROF];
        if (churn_btyd_bootstrap_interval(m, N, x, tx, T, t, PROF, X, TX, TT, &o, alo, ahi,
                                          elo, ehi, NULL) == CHURN_OK) {
            sets++;
            for (int i = 0; i < PROF; i++) {
                hit_a[i] += alo[i] <= ta[i] && ta[i] <= ahi[i];
                hit_e[i] += elo[i] <= te[i] && te[i] <= ehi[i];
            }
        }
        churn_model_free(m);
    }
    free(x);
    churn_model_free(truth);
    CU_ASSERT(sets >= SETS - 2);
    double sum = 0;
    printf("\n  BG/NBD bootstrap (%d resamples), %d data sets of %d customers, 90%% intervals:\n",
           B, sets, (int)N);
    for (int i = 0; i < PROF; i++) {
        double ca = (double)hit_a[i] / sets, ce = (double)hit_e[i] / sets;
        printf("    x=%g t_x=%g T=%g: P(alive) %.3f  E[X(%g)] %.3f\n", X[i], TX[i], TT[i], ca,
               t, ce);
        sum += ca + ce;
        CU_ASSERT(fabs(ca - level) <= 0.065);
        CU_ASSERT(fabs(ce - level) <= 0.065);
    }
    printf("    mean coverage %.4f over %d intervals\n", sum / (2 * PROF), 2 * PROF);
    CU_ASSERT(fabs(sum / (2 * PROF) - level) <= 0.03);
}


/* MBG/CNBD-k with k = 1 fixed is MBG/NBD: the same fit, the same covariance of
 * (r, alpha, a, b), so the same intervals; k (variance 0) is never perturbed. */
static void test_mbgcnbd_k1_equals_mbgnbd(void)
{
    enum { N = 3000 };
    churn_simulate_options o;
    churn_simulate_options_init(&o);
    o.model = CHURN_FAMILY_MBGNBD;
    o.customers = N;
    o.seed = 31;
    o.days = 39 * 7;
    o.acquisition_days = 12 * 7;
    o.r = 0.25; o.alpha = 4.0; o.a = 0.8; o.b = 2.4;
    double *x = malloc(4 * N * sizeof *x), *tx = x + N, *T = x + 2 * N, *litt = x + 3 * N;
    CU_ASSERT_EQUAL_FATAL(churn_simulate_summary(&o, N, x, tx, T, NULL, NULL, NULL), CHURN_OK);
    for (size_t i = 0; i < N; i++)
        litt[i] = 0;
    churn_model *mb = NULL, *mc = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_fit(&mb, CHURN_FAMILY_MBGNBD, N, x, tx, T, NULL, NULL),
                          CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_mbgcnbd_fit(&mc, 1, N, x, tx, T, litt, NULL, NULL), CHURN_OK);
    const double X[] = {0, 1, 4, 7}, TX[] = {0, 12, 30, 20}, TT[] = {30, 35, 36, 38};
    double a1[4], al1[4], ah1[4], e1[4], el1[4], eh1[4];
    double a2[4], al2[4], ah2[4], e2[4], el2[4], eh2[4];
    CU_ASSERT_EQUAL_FATAL(churn_btyd_predict_interval(mb, 13, 0.8, 4, X, TX, TT, a1, al1, ah1,
                                                      e1, el1, eh1), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_btyd_predict_interval(mc, 13, 0.8, 4, X, TX, TT, a2, al2, ah2,
                                                      e2, el2, eh2), CHURN_OK);
    for (int i = 0; i < 4; i++) {
        /* both fits stop at tol 1e-9 of the gradient: the estimates agree to ~1e-7 */
        CT_CLOSE(a2[i], a1[i], 1e-6);
        CT_CLOSE(al2[i], al1[i], 1e-5);
        CT_CLOSE(ah2[i], ah1[i], 1e-5);
        CT_CLOSE(e2[i], e1[i], 1e-6);
        CT_CLOSE(el2[i], el1[i], 1e-5);
        CT_CLOSE(eh2[i], eh1[i], 1e-5);
        CU_ASSERT(el2[i] < e2[i] && e2[i] < eh2[i]);
    }
    free(x);
    churn_model_free(mb);
    churn_model_free(mc);
}

/* Gamma-Gompertz/NBD: the interval equals the delta method written out here
 * independently, with a gradient on the natural scale by central differences of
 * churn_btyd_score at models built from given parameters, and the variance
 * g' Cov(p) g of the fitted natural-scale covariance. */
static void test_ggomnbd_delta(void)
{
    enum { N = 4000 };
    churn_simulate_options o;
    churn_simulate_options_init(&o);
    o.model = CHURN_FAMILY_GGOMNBD;
    o.customers = N;
    o.seed = 0;
    o.days = 39 * 7;
    o.acquisition_days = 12 * 7;
    o.r = 0.55; o.alpha = 10.6; o.b = 0.02; o.s = 0.6; o.beta = 0.3;
    double *x = malloc(3 * N * sizeof *x), *tx = x + N, *T = x + 2 * N;
    CU_ASSERT_EQUAL_FATAL(churn_simulate_summary(&o, N, x, tx, T, NULL, NULL, NULL), CHURN_OK);
    churn_model *m = NULL;
    int rc = churn_btyd_fit(&m, CHURN_FAMILY_GGOMNBD, N, x, tx, T, NULL, NULL);
    CU_ASSERT_EQUAL_FATAL(rc, CHURN_OK);
    double p[5], cov[25];
    CU_ASSERT_EQUAL_FATAL(churn_model_params(m, p, 5), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_model_covariance(m, cov, 25), CHURN_OK);
    const double X[] = {1, 3, 6}, TX[] = {10, 30, 35}, TT[] = {35, 36, 38}, t = 26;
    double pa[3], lo[3], hi[3], e[3], elo[3], ehi[3];
    CU_ASSERT_EQUAL_FATAL(churn_btyd_predict_interval(m, t, 0.9, 3, X, TX, TT, pa, lo, hi, e,
                                                      elo, ehi), CHURN_OK);
    double z = gsl_cdf_ugaussian_Pinv(0.95);
    for (int i = 0; i < 3; i++) {
        double ga[5], ge[5];
        for (int j = 0; j < 5; j++) {
            double q[5], h = 1e-5 * p[j], up[2], dn[2];
            memcpy(q, p, sizeof q);
            churn_model *mm = NULL;
            q[j] = p[j] + h;
            CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&mm, CHURN_FAMILY_GGOMNBD, 5, q),
                                  CHURN_OK);
            churn_btyd_score(mm, t, 1, &X[i], &TX[i], &TT[i], &up[0], &up[1]);
            churn_model_free(mm);
            q[j] = p[j] - h;
            CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&mm, CHURN_FAMILY_GGOMNBD, 5, q),
                                  CHURN_OK);
            churn_btyd_score(mm, t, 1, &X[i], &TX[i], &TT[i], &dn[0], &dn[1]);
            churn_model_free(mm);
            ga[j] = (up[0] - dn[0]) / (2 * h) / (pa[i] * (1 - pa[i])); /* d logit */
            ge[j] = (up[1] - dn[1]) / (2 * h) / e[i];                  /* d log */
        }
        double va = 0, ve = 0;
        for (int j = 0; j < 5; j++)
            for (int k = 0; k < 5; k++) {
                va += ga[j] * cov[j * 5 + k] * ga[k];
                ve += ge[j] * cov[j * 5 + k] * ge[k];
            }
        double u = log(pa[i] / (1 - pa[i]));
        CT_CLOSE(lo[i], 1 / (1 + exp(-(u - z * sqrt(va)))), 1e-5);
        CT_CLOSE(hi[i], 1 / (1 + exp(-(u + z * sqrt(va)))), 1e-5);
        CT_CLOSE(elo[i], e[i] * exp(-z * sqrt(ve)), 1e-5);
        CT_CLOSE(ehi[i], e[i] * exp(z * sqrt(ve)), 1e-5);
        CU_ASSERT(lo[i] < pa[i] && pa[i] < hi[i] && elo[i] < e[i] && e[i] < ehi[i]);
    }
    free(x);
    churn_model_free(m);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"BG/NBD P(alive) interval equals the closed-form delta method", test_closed_form},
        {"BG/NBD intervals cover the truth at their nominal rate", test_coverage_bgnbd},
        {"Pareto/NBD intervals cover the truth at their nominal rate", test_coverage_pnbd},
        {"bad level, horizon, rows and models are refused", test_errors},
        {"MBG/CNBD-k at k = 1 gives MBG/NBD's intervals", test_mbgcnbd_k1_equals_mbgnbd},
        {"Gamma-Gompertz/NBD interval equals an independent delta method", test_ggomnbd_delta},
        {"bootstrap: the same limits for 1 and 3 threads", test_bootstrap_threads_agree},
        {"bootstrap intervals cover the truth at their nominal rate", test_bootstrap_coverage},
        CU_TEST_INFO_NULL,
    };
    return churn_test_run("intervals", tests);
}
