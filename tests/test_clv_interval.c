/*
 * Delta-method intervals of the CLV scores (churn_clv_interval, issue 23
 * "Uncertainty": CLV and value at risk).
 *
 * References:
 *  (1) the Gamma-Gamma expected spend E = p (gamma + x z) / (p x + q - 1) has
 *      the closed-form gradient in the log-parameters written out below, so its
 *      interval is known exactly; the CLV's variance on the log scale is the
 *      BTYD part plus that spend part (independent fits), checked as a sum;
 *  (2) with one discount period and no discounting, the CLV of a spend of 1 is
 *      E[X(T, T + P)], whose interval churn_btyd_predict_interval() gives
 *      independently (a different code path through the family's predictions);
 *  (3) coverage on simulated data with known BG/NBD and Gamma-Gamma parameters:
 *      200 data sets of 5,000 customers, both models fitted, and the 90%
 *      intervals of CLV and value at risk of fixed reference customers checked
 *      against the values computed from the TRUE parameters (binomial SE of one
 *      profile 2.1 points; the mean over profiles must be within 3 points).
 */
#include "churn.h"
#include "testutil.h"

#include <gsl/gsl_cdf.h>
#include <stdlib.h>
#include <string.h>

enum { N_FIT = 3000 };

static const double GG_P = 6.25, GG_Q = 3.74, GG_G = 15.44;

/* A BG/NBD and a Gamma-Gamma model fitted to one simulated data set. */
static int fit_pair(uint64_t seed, size_t n, churn_model **btyd, churn_model **spend)
{
    churn_simulate_options o;
    churn_simulate_options_init(&o);
    o.model = CHURN_FAMILY_BGNBD;
    o.customers = n;
    o.seed = seed;
    o.days = 39 * 7;
    o.acquisition_days = 12 * 7;
    o.r = 0.25; o.alpha = 4.0; o.a = 0.8; o.b = 2.4;
    o.p = GG_P; o.q = GG_Q; o.gamma = GG_G;
    double *x = malloc(4 * n * sizeof *x), *tx = x + n, *T = x + 2 * n, *z = x + 3 * n;
    int rc = churn_simulate_summary(&o, n, x, tx, T, NULL, z, NULL);
    for (size_t i = 0; i < n; i++)
        if (isnan(z[i]))
            z[i] = 0; /* x = 0: no repeat spend, excluded from the Gamma-Gamma fit */
    *btyd = *spend = NULL;
    if (!rc)
        rc = churn_btyd_fit(btyd, CHURN_FAMILY_BGNBD, n, x, tx, T, NULL, NULL);
    if (!rc)
        rc = churn_gammagamma_fit(spend, n, x, z, NULL, NULL);
    free(x);
    return rc;
}

static churn_clv_intervals all_outputs(double (*v)[8])
{
    churn_clv_intervals out = CHURN_CLV_INTERVALS_INIT;
    out.p_alive = v[0]; out.p_alive_lo = v[1]; out.p_alive_hi = v[2];
    out.expected_purchases = v[3]; out.expected_purchases_lo = v[4];
    out.expected_purchases_hi = v[5];
    out.expected_spend = v[6]; out.expected_spend_lo = v[7]; out.expected_spend_hi = v[8];
    out.clv = v[9]; out.clv_lo = v[10]; out.clv_hi = v[11];
    out.value_at_risk = v[12]; out.value_at_risk_lo = v[13]; out.value_at_risk_hi = v[14];
    return out;
}

static const double X[8] = {1, 2, 5, 9, 0, 3, 1, 4}, TX[8] = {3, 20, 30, 12, 0, 35, 30, 8},
                    TT[8] = {35, 36, 38, 30, 30, 37, 36, 25},
                    Z[8] = {20, 55, 31, 12, 0, 80, 40, 25};

static void test_closed_form(void)
{
    churn_model *m, *gg;
    CU_ASSERT_EQUAL_FATAL(fit_pair(11, N_FIT, &m, &gg), CHURN_OK);
    double v[15][8], u[15][8];
    churn_clv_intervals out = all_outputs(v), out0 = all_outputs(u);
    churn_clv_options o = CHURN_CLV_OPTIONS_INIT;
    o.period = 4.345;
    o.margin = 0.3;
    CU_ASSERT_EQUAL_FATAL(churn_clv_interval(m, gg, &o, 0.9, 8, X, TX, TT, Z, &out), CHURN_OK);
    /* the point predictions are churn_clv_score's, bit for bit */
    double pa[8], ep[8], es[8], clv[8], var[8];
    CU_ASSERT_EQUAL_FATAL(churn_clv_score(m, gg, &o, 8, X, TX, TT, Z, pa, ep, es, clv, var),
                          CHURN_OK);
    for (int i = 0; i < 8; i++)
        CU_ASSERT(pa[i] == v[0][i] && ep[i] == v[3][i] && es[i] == v[6][i] &&
                  clv[i] == v[9][i] && var[i] == v[12][i]);
    /* spend: closed-form gradient of log E in (log p, log q, log gamma) */
    double g3[3], cov[9];
    CU_ASSERT_EQUAL_FATAL(churn_model_params(gg, g3, 3), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_model_covariance(gg, cov, 9), CHURN_OK);
    const double p = g3[0], q = g3[1], gam = g3[2], zq = gsl_cdf_ugaussian_Pinv(0.95);
    double var_spend[8];
    for (int i = 0; i < 8; i++) {
        double x = X[i], zb = Z[i], g[3];
        if (x > 0 && zb > 0) {
            double den = p * x + q - 1;
            g[0] = 1 - p * x / den;
            g[1] = -q / den;
            g[2] = gam / (gam + x * zb);
        } else { /* the population mean p gamma / (q - 1) */
            g[0] = 1;
            g[1] = -q / (q - 1);
            g[2] = 1;
        }
        double s2 = 0;
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++)
                s2 += g[a] * cov[a * 3 + b] / (g3[a] * g3[b]) * g[b];
        var_spend[i] = s2;
        CT_CLOSE(v[7][i], es[i] * exp(-zq * sqrt(s2)), 1e-7);
        CT_CLOSE(v[8][i], es[i] * exp(zq * sqrt(s2)), 1e-7);
    }
    /* CLV: Var(log CLV) = BTYD part (the same call without the spend model, spend
     * given as exact) + spend part */
    churn_clv_intervals outs = out0;
    CU_ASSERT_EQUAL_FATAL(churn_clv_interval(m, NULL, &o, 0.9, 8, X, TX, TT, es, &outs),
                          CHURN_OK);
    for (int i = 0; i < 8; i++) {
        CU_ASSERT(u[7][i] == es[i] && u[8][i] == es[i]); /* given spend: exact */
        CT_CLOSE(u[9][i], clv[i], 1e-13);
        double hb = log(u[11][i] / u[9][i]) / zq, h = log(v[11][i] / v[9][i]) / zq;
        CT_CLOSE(h * h, hb * hb + var_spend[i], 1e-6);
        CT_CLOSE(log(v[9][i] / v[10][i]), log(v[11][i] / v[9][i]), 1e-9); /* symmetric */
        CU_ASSERT(v[10][i] < v[9][i] && v[9][i] < v[11][i]);
        if (X[i] > 0) {
            CU_ASSERT(v[13][i] < v[12][i] && v[12][i] < v[14][i]);
            CU_ASSERT(v[1][i] < v[0][i] && v[0][i] < v[2][i]);
        } else { /* BG/NBD: P(alive) = 1 at x = 0, no value at risk */
            CU_ASSERT(v[0][i] == 1 && v[1][i] == 1 && v[2][i] == 1);
            CU_ASSERT(v[12][i] == 0 && v[13][i] == 0 && v[14][i] == 0);
        }
    }
    /* one period, no discounting, spend 1, margin 1: CLV = E[X(T, T + P)], and its
     * interval is churn_btyd_predict_interval's; VaR = E (1 - P) / P, whose log
     * variance is that of log E - logit P, below from the P(alive) and E limits
     * only when the two are perfectly correlated: so check the CLV and P(alive). */
    churn_clv_options o1 = CHURN_CLV_OPTIONS_INIT;
    o1.period = 10;
    o1.horizon = 1;
    o1.discount = 0;
    double ones[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    CU_ASSERT_EQUAL_FATAL(churn_clv_interval(m, NULL, &o1, 0.8, 8, X, TX, TT, ones, &outs),
                          CHURN_OK);
    double bp[8], blo[8], bhi[8], be[8], belo[8], behi[8];
    CU_ASSERT_EQUAL_FATAL(churn_btyd_predict_interval(m, 10, 0.8, 8, X, TX, TT, bp, blo, bhi,
                                                      be, belo, behi), CHURN_OK);
    for (int i = 0; i < 8; i++) {
        CT_CLOSE(u[9][i], be[i], 1e-11);
        CT_CLOSE(u[10][i], belo[i], 1e-6);
        CT_CLOSE(u[11][i], behi[i], 1e-6);
        CT_CLOSE(u[4][i], belo[i], 1e-6); /* expected purchases over the horizon */
        CT_CLOSE(u[1][i], blo[i], 1e-7);
        CT_CLOSE(u[2][i], bhi[i], 1e-7);
    }
    /* a negative margin: negative values, limits in order, same relative width */
    o.margin = -0.3;
    CU_ASSERT_EQUAL_FATAL(churn_clv_interval(m, gg, &o, 0.9, 8, X, TX, TT, Z, &outs),
                          CHURN_OK);
    for (int i = 0; i < 8; i++) {
        CT_CLOSE(u[9][i], -v[9][i], 1e-14);
        CT_CLOSE(u[10][i], -v[11][i], 1e-12);
        CT_CLOSE(u[11][i], -v[10][i], 1e-12);
    }
    churn_model_free(m);
    churn_model_free(gg);
}

/* More than one block of 256 customers: the same values as customer by customer. */
static void test_blocks(void)
{
    churn_model *m, *gg;
    CU_ASSERT_EQUAL_FATAL(fit_pair(12, N_FIT, &m, &gg), CHURN_OK);
    enum { N = 700 };
    double *a = malloc(4 * N * sizeof *a), *lo = malloc(2 * N * sizeof *lo);
    for (int i = 0; i < N; i++) {
        a[i] = X[i % 8];
        a[N + i] = TX[i % 8];
        a[2 * N + i] = TT[i % 8] + (i % 5);
        a[3 * N + i] = Z[i % 8] + i;
    }
    churn_clv_options o = CHURN_CLV_OPTIONS_INIT;
    o.period = 4.345;
    churn_clv_intervals out = CHURN_CLV_INTERVALS_INIT;
    out.clv_lo = lo;
    out.value_at_risk_hi = lo + N;
    CU_ASSERT_EQUAL_FATAL(churn_clv_interval(m, gg, &o, 0.95, N, a, a + N, a + 2 * N,
                                             a + 3 * N, &out), CHURN_OK);
    for (int i = 0; i < N; i += 37) {
        double l1, h1;
        churn_clv_intervals one = CHURN_CLV_INTERVALS_INIT;
        one.clv_lo = &l1;
        one.value_at_risk_hi = &h1;
        CU_ASSERT_EQUAL(churn_clv_interval(m, gg, &o, 0.95, 1, a + i, a + N + i,
                                           a + 2 * N + i, a + 3 * N + i, &one), CHURN_OK);
        CT_CLOSE(lo[i], l1, 1e-12);
        CT_CLOSE(lo[N + i], h1, 1e-12);
    }
    free(a);
    free(lo);
    churn_model_free(m);
    churn_model_free(gg);
}

static void test_coverage(void)
{
    enum { SETS = 200, N = 5000, PROF = 5 };
    const double PX[PROF] = {1, 3, 6, 2, 0}, PTX[PROF] = {20, 30, 35, 5, 0},
                 PT[PROF] = {35, 36, 38, 37, 30}, PZ[PROF] = {30, 45, 18, 60, 0};
    const double level = 0.9;
    churn_clv_options o = CHURN_CLV_OPTIONS_INIT;
    o.period = 4.345; /* weeks per month */
    o.horizon = 12;
    o.margin = 0.25;
    /* the truth: CLV and value at risk from the true parameters */
    const double tp[4] = {0.25, 4.0, 0.8, 2.4};
    churn_model *truth = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&truth, CHURN_FAMILY_BGNBD, 4, tp), CHURN_OK);
    double tdisc[PROF], tpa[PROF], tclv[PROF], tvar[PROF];
    CU_ASSERT_EQUAL_FATAL(churn_clv_discounted_purchases(truth, &o, PROF, PX, PTX, PT, tdisc),
                          CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_btyd_p_alive(truth, PROF, PX, PTX, PT, tpa), CHURN_OK);
    for (int i = 0; i < PROF; i++) {
        double es = PX[i] > 0 && PZ[i] > 0
                        ? GG_P * (GG_G + PX[i] * PZ[i]) / (GG_P * PX[i] + GG_Q - 1)
                        : GG_P * GG_G / (GG_Q - 1);
        tclv[i] = o.margin * es * tdisc[i];
        tvar[i] = tpa[i] < 1 ? tclv[i] * (1 - tpa[i]) / tpa[i] : 0;
    }
    int hit_c[PROF] = {0}, hit_v[PROF] = {0}, sets = 0;
    for (int s = 0; s < SETS; s++) {
        churn_model *m, *gg;
        if (fit_pair(3000 + s, N, &m, &gg) == CHURN_OK) {
            double c[PROF], clo[PROF], chi[PROF], vlo[PROF], vhi[PROF];
            churn_clv_intervals out = CHURN_CLV_INTERVALS_INIT;
            out.clv = c;
            out.clv_lo = clo;
            out.clv_hi = chi;
            out.value_at_risk_lo = vlo;
            out.value_at_risk_hi = vhi;
            if (churn_clv_interval(m, gg, &o, level, PROF, PX, PTX, PT, PZ, &out) ==
                CHURN_OK) {
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
    churn_model_free(truth);
    CU_ASSERT(sets >= SETS - 2);
    double sum = 0;
    int counted = 0;
    printf("\n  BG/NBD + Gamma-Gamma, %d data sets of %d customers, 90%% intervals, coverage "
           "of the true-parameter values:\n", sets, (int)N);
    for (int i = 0; i < PROF; i++) {
        double cc = (double)hit_c[i] / sets, cv = (double)hit_v[i] / sets;
        printf("    x=%g t_x=%g T=%g zbar=%g: CLV %.3f (truth %.3f)  value at risk %.3f "
               "(truth %.3f)\n", PX[i], PTX[i], PT[i], PZ[i], cc, tclv[i], cv, tvar[i]);
        sum += cc;
        counted++;
        CU_ASSERT(fabs(cc - level) <= 0.065); /* about 3 binomial SEs */
        if (PX[i] > 0) { /* x = 0: P(alive) = 1, value at risk 0 exactly */
            sum += cv;
            counted++;
            CU_ASSERT(fabs(cv - level) <= 0.065);
        }
    }
    printf("    mean coverage %.4f over %d intervals\n", sum / counted, counted);
    CU_ASSERT(fabs(sum / counted - level) <= 0.03);
}

/* The fitting sample of a data set: histories and mean spends (0 for x = 0). */
static double *sample(uint64_t seed, size_t n)
{
    churn_simulate_options o;
    churn_simulate_options_init(&o);
    o.model = CHURN_FAMILY_BGNBD;
    o.seed = seed;
    o.days = 39 * 7;
    o.acquisition_days = 12 * 7;
    o.r = 0.25; o.alpha = 4.0; o.a = 0.8; o.b = 2.4;
    o.p = GG_P; o.q = GG_Q; o.gamma = GG_G;
    double *v = malloc(4 * n * sizeof *v);
    CU_ASSERT_EQUAL_FATAL(churn_simulate_summary(&o, n, v, v + n, v + 2 * n, NULL, v + 3 * n,
                                                 NULL), CHURN_OK);
    for (size_t i = 0; i < n; i++)
        if (isnan(v[3 * n + i]))
            v[3 * n + i] = 0;
    return v;
}

/* Bootstrap: the same limits for 1 and 3 threads, points equal to churn_clv_score, and
 * limits close to the delta method's with many resamples. */
static void test_bootstrap_threads_agree(void)
{
    enum { N = 2000 };
    double *v = sample(31, N);
    churn_model *m = NULL, *gg = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_fit(&m, CHURN_FAMILY_BGNBD, N, v, v + N, v + 2 * N, NULL,
                                         NULL), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_gammagamma_fit(&gg, N, v, v + 3 * N, NULL, NULL), CHURN_OK);
    churn_clv_options o = CHURN_CLV_OPTIONS_INIT;
    o.period = 4.345;
    churn_bootstrap_options bo;
    churn_bootstrap_options_init(&bo);
    bo.resamples = 40;
    bo.seed = 5;
    double a[15][8], b[15][8];
    churn_clv_intervals oa = all_outputs(a), ob = all_outputs(b);
    size_t fa = 9, fb = 9;
    CU_ASSERT_EQUAL_FATAL(churn_clv_bootstrap_interval(m, gg, &o, N, v, v + N, v + 2 * N,
                                                       v + 3 * N, 8, X, TX, TT, Z, &bo, &oa,
                                                       &fa), CHURN_OK);
    bo.threads = 3;
    CU_ASSERT_EQUAL_FATAL(churn_clv_bootstrap_interval(m, gg, &o, N, v, v + N, v + 2 * N,
                                                       v + 3 * N, 8, X, TX, TT, Z, &bo, &ob,
                                                       &fb), CHURN_OK);
    CU_ASSERT_EQUAL(fa, fb);
    CU_ASSERT(memcmp(a, b, sizeof a) == 0);
    double pa[8], ep[8], es[8], clv[8], var[8];
    CU_ASSERT_EQUAL_FATAL(churn_clv_score(m, gg, &o, 8, X, TX, TT, Z, pa, ep, es, clv, var),
                          CHURN_OK);
    for (int i = 0; i < 8; i++) {
        CU_ASSERT(a[9][i] == clv[i] && a[12][i] == var[i] && a[0][i] == pa[i]);
        CU_ASSERT(a[10][i] <= a[11][i] && a[13][i] <= a[14][i]);
    }
    /* a bad fitting row is named as the caller's row */
    v[2 * N + 17] = -1;
    CU_ASSERT_EQUAL(churn_clv_bootstrap_interval(m, gg, &o, N, v, v + N, v + 2 * N, v + 3 * N,
                                                 8, X, TX, TT, Z, &bo, &oa, NULL),
                    CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "17") != NULL);
    CU_ASSERT(strstr(churn_last_error_message(), "churn_clv_bootstrap_interval") != NULL);
    bo.resamples = 10;
    CU_ASSERT_EQUAL(churn_clv_bootstrap_interval(m, gg, &o, N, v, v + N, v + 2 * N, v + 3 * N,
                                                 8, X, TX, TT, Z, &bo, &oa, NULL),
                    CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "resamples") != NULL);
    free(v);
    churn_model_free(m);
    churn_model_free(gg);
}

/* Bootstrap coverage of CLV and value at risk against the true-parameter values. */
static void test_bootstrap_coverage(void)
{
    enum { SETS = 200, N = 2000, PROF = 4, B = 300 };
    const double PX[PROF] = {1, 3, 6, 2}, PTX[PROF] = {20, 30, 35, 5},
                 PT[PROF] = {35, 36, 38, 37}, PZ[PROF] = {30, 45, 18, 60};
    const double level = 0.9;
    churn_clv_options o = CHURN_CLV_OPTIONS_INIT;
    o.period = 4.345;
    o.margin = 0.25;
    const double tp[4] = {0.25, 4.0, 0.8, 2.4};
    churn_model *truth = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&truth, CHURN_FAMILY_BGNBD, 4, tp), CHURN_OK);
    double tdisc[PROF], tpa[PROF], tclv[PROF], tvar[PROF];
    CU_ASSERT_EQUAL_FATAL(churn_clv_discounted_purchases(truth, &o, PROF, PX, PTX, PT, tdisc),
                          CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_btyd_p_alive(truth, PROF, PX, PTX, PT, tpa), CHURN_OK);
    for (int i = 0; i < PROF; i++) {
        double es = GG_P * (GG_G + PX[i] * PZ[i]) / (GG_P * PX[i] + GG_Q - 1);
        tclv[i] = o.margin * es * tdisc[i];
        tvar[i] = tclv[i] * (1 - tpa[i]) / tpa[i];
    }
    churn_model_free(truth);
    churn_bootstrap_options bo;
    churn_bootstrap_options_init(&bo);
    bo.resamples = B;
    bo.threads = 2;
    bo.level = level;
    int hit_c[PROF] = {0}, hit_v[PROF] = {0}, sets = 0;
    for (int s = 0; s < SETS; s++) {
        double *v = sample(7000 + (uint64_t)s, N);
        churn_model *m = NULL, *gg = NULL;
        if (churn_btyd_fit(&m, CHURN_FAMILY_BGNBD, N, v, v + N, v + 2 * N, NULL, NULL) ==
                CHURN_OK &&
            churn_gammagamma_fit(&gg, N, v, v + 3 * N, NULL, NULL) == CHURN_OK) {
            double clo[PROF], chi[PROF], vlo[PROF], vhi[PROF];
            churn_clv_intervals out = CHURN_CLV_INTERVALS_INIT;
            out.clv_lo = clo, out.clv_hi = chi;
            out.value_at_risk_lo = vlo, out.value_at_risk_hi = vhi;
            bo.seed = 300 + (uint64_t)s;
            if (churn_clv_bootstrap_interval(m, gg, &o, N, v, v + N, v + 2 * N, v + 3 * N, PROF,
                                             PX, PTX, PT, PZ, &bo, &out, NULL) == CHURN_OK) {
                sets++;
                for (int i = 0; i < PROF; i++) {
                    hit_c[i] += clo[i] <= tclv[i] && tclv[i] <= chi[i];
                    hit_v[i] += vlo[i] <= tvar[i] && tvar[i] <= vhi[i];
                }
            }
        }
        churn_model_free(m);
        churn_model_free(gg);
        free(v);
    }
    CU_ASSERT(sets >= SETS - 2);
    double sum = 0;
    printf("\n  BG/NBD + Gamma-Gamma bootstrap (%d resamples), %d data sets of %d customers, "
           "90%% intervals:\n", B, sets, (int)N);
    for (int i = 0; i < PROF; i++) {
        double cc = (double)hit_c[i] / sets, cv = (double)hit_v[i] / sets;
        printf("    x=%g t_x=%g T=%g zbar=%g: CLV %.3f  value at risk %.3f\n", PX[i], PTX[i],
               PT[i], PZ[i], cc, cv);
        sum += cc + cv;
        CU_ASSERT(fabs(cc - level) <= 0.065);
        CU_ASSERT(fabs(cv - level) <= 0.065);
    }
    printf("    mean coverage %.4f over %d intervals\n", sum / (2 * PROF), 2 * PROF);
    CU_ASSERT(fabs(sum / (2 * PROF) - level) <= 0.03);
}

static void test_errors(void)
{
    churn_model *m, *gg;
    CU_ASSERT_EQUAL_FATAL(fit_pair(5, 1000, &m, &gg), CHURN_OK);
    churn_clv_options o = CHURN_CLV_OPTIONS_INIT;
    o.period = 4.345;
    double x = 2, tx = 10, T = 30, z = 20, lo, hi;
    churn_clv_intervals out = CHURN_CLV_INTERVALS_INIT;
    out.clv_lo = &lo;
    out.clv_hi = &hi;
    const double bad_levels[] = {0, 1, -0.5, 1.5, NAN};
    for (int i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(churn_clv_interval(m, gg, &o, bad_levels[i], 1, &x, &tx, &T, &z, &out),
                        CHURN_EINVAL);
        CU_ASSERT(strstr(churn_last_error_message(), "level") != NULL);
    }
    churn_clv_intervals none = CHURN_CLV_INTERVALS_INIT;
    CU_ASSERT_EQUAL(churn_clv_interval(m, gg, &o, 0.9, 1, &x, &tx, &T, &z, &none),
                    CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "every output") != NULL);
    CU_ASSERT_EQUAL(churn_clv_interval(m, gg, &o, 0.9, 1, &x, &tx, &T, &z, NULL), CHURN_EINVAL);
    /* a bad row is named as churn_clv_score names it, under this function's name */
    double bx[2] = {2, 3}, btx[2] = {10, 40}, bT[2] = {30, 30}, bz[2] = {20, 20}, l2[2];
    out.clv_lo = l2;
    out.clv_hi = NULL;
    CU_ASSERT_EQUAL(churn_clv_interval(m, gg, &o, 0.9, 2, bx, btx, bT, bz, &out),
                    CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "churn_clv_interval") != NULL);
    CU_ASSERT(strstr(churn_last_error_message(), "row 1") != NULL);
    out.clv_lo = &lo;
    /* models without a covariance: each argument named */
    double p[4], g3[3];
    churn_model_params(m, p, 4);
    churn_model_params(gg, g3, 3);
    churn_model *given = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&given, CHURN_FAMILY_BGNBD, 4, p), CHURN_OK);
    CU_ASSERT_EQUAL(churn_clv_interval(given, gg, &o, 0.9, 1, &x, &tx, &T, &z, &out),
                    CHURN_EUNSUPPORTED);
    CU_ASSERT(strstr(churn_last_error_message(), "'btyd'") != NULL);
    CU_ASSERT(strstr(churn_last_error_message(), "covariance") != NULL);
    churn_model *gg0 = NULL;
    churn_gammagamma_options go;
    churn_gammagamma_options_init(&go);
    go.no_std_errors = 1;
    double fx[4] = {1, 2, 3, 4}, fz[4] = {10, 30, 20, 50};
    CU_ASSERT_EQUAL_FATAL(churn_gammagamma_fit(&gg0, 4, fx, fz, NULL, &go) == CHURN_OK ||
                          gg0 != NULL, 1);
    CU_ASSERT_EQUAL(churn_clv_interval(m, gg0, &o, 0.9, 1, &x, &tx, &T, &z, &out),
                    CHURN_EUNSUPPORTED);
    CU_ASSERT(strstr(churn_last_error_message(), "'spend'") != NULL);
    /* the wrong family in either argument */
    CU_ASSERT_EQUAL(churn_clv_interval(gg, gg, &o, 0.9, 1, &x, &tx, &T, &z, &out),
                    CHURN_EFAMILY);
    CU_ASSERT(strstr(churn_last_error_message(), "churn_clv_interval") != NULL);
    CU_ASSERT_EQUAL(churn_clv_interval(m, m, &o, 0.9, 1, &x, &tx, &T, &z, &out),
                    CHURN_EFAMILY);
    CU_ASSERT(strstr(churn_last_error_message(), "spend") != NULL);
    /* a bad option */
    o.horizon = 0;
    CU_ASSERT_EQUAL(churn_clv_interval(m, gg, &o, 0.9, 1, &x, &tx, &T, &z, &out),
                    CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "horizon") != NULL);
    churn_model_free(gg0);
    churn_model_free(given);
    churn_model_free(m);
    churn_model_free(gg);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"CLV intervals: closed-form spend part, BTYD part, sum, sign", test_closed_form},
        {"CLV intervals: blocks of customers agree with one at a time", test_blocks},
        {"CLV and value-at-risk intervals cover the truth at their nominal rate",
         test_coverage},
        {"bad level, outputs, rows and models are refused", test_errors},
        {"bootstrap: the same limits for 1 and 3 threads", test_bootstrap_threads_agree},
        {"bootstrap CLV intervals cover the truth at their nominal rate",
         test_bootstrap_coverage},
        CU_TEST_INFO_NULL,
    };
    return churn_test_run("clv_interval", tests);
}
