/* Pareto/NBD with time-varying covariates (covariates.h, churn_pnbd_dyncov_*):
 * - every coefficient 0 (or no covariates) is the plain Pareto/NBD: log-likelihood,
 *   gradient, fit and scores of churn_btyd_loglik / churn_btyd_fit / churn_btyd_score;
 * - a covariate constant in time is the static covariate model of
 *   churn_btyd_fit_covariates: fit, standard errors, scores, new-customer forecast;
 * - the gradient against central differences at non-zero coefficients;
 * - the model marker: static scoring refuses a dynamic model and the reverse, and it
 *   survives a save/load;
 * - every input error is named (row, period, column).
 * The likelihood against mpmath integration of the model's definition and the
 * parameter recovery on simulated data are in bindings/python/tests/test_dyncov.py. */
#include "churn.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define N 400
#define P 40

static double bound[P + 1], birth[N], x[N], tx[N], T[N], counts[P * N];
static double zt[P * N], zl[P * N], zeros[P * N];
static double zt_static[N], zl_static[N], zt_const[P * N], zl_const[P * N];
static const char *tn[] = {"promo"}, *ln[] = {"season"};

static unsigned long long rng_state = 88172645463325252ULL;
static double unif(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* Pareto/NBD customers (the library's simulator, weekly CDNOW-like parameters) acquired
 * over the first 15 of P weeks and observed to week P; their purchases spread over the
 * periods they lived in, the last in the period of birth + recency. */
static int setup(void)
{
    churn_simulate_options so;
    churn_simulate_options_init(&so);
    so.days = 7.0 * P;
    so.acquisition_days = 7.0 * 15;
    so.seed = 7;
    if (churn_simulate_summary(&so, N, x, tx, T, NULL, NULL, NULL) != CHURN_OK)
        return 1;
    for (int p = 0; p <= P; p++)
        bound[p] = p;
    for (int i = 0; i < N; i++) {
        birth[i] = P - T[i];
        int k = (int)x[i];
        if (k) {
            int first = (int)birth[i], last = (int)(birth[i] + tx[i]);
            if (last > P - 1)
                last = P - 1;
            counts[last * N + i] += 1;
            for (int j = 1; j < k; j++)
                counts[(first + (int)((last - first + 1) * unif())) * N + i] += 1;
        }
        zt_static[i] = unif() < 0.5 ? 1 : 0;
        zl_static[i] = 2 * unif() - 1;
        for (int p = 0; p < P; p++) {
            zt[p * N + i] = unif() < 0.25 ? 1 : 0;
            zl[p * N + i] = 0.5 * (2 * unif() - 1) + 0.3 * sin(p / 6.0);
            zt_const[p * N + i] = zt_static[i];
            zl_const[p * N + i] = zl_static[i];
        }
    }
    return 0;
}

static churn_btyd_dyncov grid(const double *t, const double *l, int with_counts)
{
    churn_btyd_dyncov dc;
    churn_btyd_dyncov_init(&dc);
    dc.n_periods = P;
    dc.boundaries = bound;
    dc.birth = birth;
    dc.counts = with_counts ? counts : NULL;
    dc.n_trans = t ? 1 : 0;
    dc.trans = t;
    dc.trans_names = tn;
    dc.n_life = l ? 1 : 0;
    dc.life = l;
    dc.life_names = ln;
    return dc;
}

static void test_zero_is_plain(void)
{
    churn_btyd_dyncov dc = grid(zt, zl, 1);
    const double pts[3][4] = {{0.55, 10.6, 0.6, 11.7}, {2.0, 3.0, 0.3, 40.0}, {0.2, 0.5, 3, 2}};
    for (int k = 0; k < 3; k++) {
        double par[6] = {pts[k][0], pts[k][1], pts[k][2], pts[k][3], 0, 0};
        double ll, g[6], ll0, g0[4];
        CU_ASSERT_EQUAL_FATAL(churn_pnbd_dyncov_loglik(6, par, N, x, tx, T, NULL, &dc, &ll, g),
                              CHURN_OK);
        CU_ASSERT_EQUAL_FATAL(churn_btyd_loglik(CHURN_FAMILY_PNBD, 4, par, N, x, tx, T, NULL,
                                                &ll0, g0), CHURN_OK);
        CT_CLOSE(ll, ll0, 1e-12);
        for (int j = 0; j < 4; j++)
            CT_CLOSE(g[j], g0[j], 1e-9);
    }
    /* the fit: covariates 0 everywhere, and no covariates at all */
    churn_model *plain = NULL, *m0 = NULL, *m1 = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_fit(&plain, CHURN_FAMILY_PNBD, N, x, tx, T, NULL, NULL),
                          CHURN_OK);
    churn_btyd_dyncov dz = grid(zeros, zeros, 1), dn = grid(NULL, NULL, 1);
    CU_ASSERT_EQUAL_FATAL(churn_pnbd_dyncov_fit(&m0, N, x, tx, T, NULL, &dz, NULL), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_pnbd_dyncov_fit(&m1, N, x, tx, T, NULL, &dn, NULL), CHURN_OK);
    double p[4], q[6], v[4], se[4], se0[6];
    churn_model_params(plain, p, 4);
    churn_model_std_errors(plain, se, 4);
    CU_ASSERT_EQUAL(churn_model_num_params(m0), 6);
    churn_model_params(m0, q, 6);
    churn_model_std_errors(m0, se0, 6);
    churn_model_params(m1, v, 4);
    for (int j = 0; j < 4; j++) {
        CT_CLOSE(q[j], p[j], 1e-8);
        CT_CLOSE(v[j], p[j], 1e-8);
        CT_CLOSE(se0[j], se[j], 1e-5);
    }
    CU_ASSERT_EQUAL(q[4], 0.0);
    CU_ASSERT_EQUAL(q[5], 0.0);
    CU_ASSERT(strstr(churn_model_note(m0), "'promo' is 0 for every customer") != NULL);
    CT_CLOSE(churn_model_loglik(m0), churn_model_loglik(plain), 1e-12);
    /* scores of the plain model through the dynamic path */
    double pa[N], ex[N], pa0[N], ex0[N];
    churn_btyd_dyncov ds = grid(zt, zl, 0);
    static double bound2[P + 40 + 1];
    for (int k = 0; k <= P + 40; k++)
        bound2[k] = k;
    static double zt2[(P + 40) * N], zl2[(P + 40) * N];
    ds.n_periods = P + 40;
    ds.boundaries = bound2;
    ds.trans = zt2;
    ds.life = zl2;
    CU_ASSERT_EQUAL_FATAL(churn_pnbd_dyncov_score(m0, 39.5, N, x, tx, T, &ds, pa, ex), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_btyd_score(plain, 39.5, N, x, tx, T, pa0, ex0), CHURN_OK);
    for (int i = 0; i < N; i++) {
        CT_CLOSE(pa[i], pa0[i], 1e-10);
        CT_CLOSE(ex[i], ex0[i], 1e-10);
    }
    churn_model_free(plain);
    churn_model_free(m0);
    churn_model_free(m1);
}

static void test_constant_is_static(void)
{
    churn_btyd_dyncov dc = grid(zt_const, zl_const, 1);
    churn_btyd_covariates sc;
    churn_btyd_covariates_init(&sc);
    sc.n_trans = 1;
    sc.trans = zt_static;
    sc.trans_names = tn;
    sc.n_life = 1;
    sc.life = zl_static;
    sc.life_names = ln;
    churn_model *ms = NULL, *md = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_fit_covariates(&ms, CHURN_FAMILY_PNBD, N, x, tx, T, NULL,
                                                    &sc, NULL), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_pnbd_dyncov_fit(&md, N, x, tx, T, NULL, &dc, NULL), CHURN_OK);
    double a[6], b[6], sa[6], sb[6];
    churn_model_params(ms, a, 6);
    churn_model_params(md, b, 6);
    churn_model_std_errors(ms, sa, 6);
    churn_model_std_errors(md, sb, 6);
    for (int j = 0; j < 6; j++) {
        CT_NEAR(b[j], a[j], 1e-6 * fmax(1, fabs(a[j])));
        CT_CLOSE(sb[j], sa[j], 1e-4);
    }
    CT_CLOSE(churn_model_loglik(md), churn_model_loglik(ms), 1e-10);
    /* scores and the new-customer forecast: the static model's */
    static double bound2[P + 20 + 1], zt2[(P + 20) * N], zl2[(P + 20) * N];
    for (int k = 0; k <= P + 20; k++)
        bound2[k] = k;
    for (int k = 0; k < P + 20; k++)
        for (int i = 0; i < N; i++) {
            zt2[k * N + i] = zt_static[i];
            zl2[k * N + i] = zl_static[i];
        }
    churn_btyd_dyncov ds = grid(zt2, zl2, 0);
    ds.n_periods = P + 20;
    ds.boundaries = bound2;
    double pa[N], ex[N], pa0[N], ex0[N], en[N], en0[N];
    CU_ASSERT_EQUAL_FATAL(churn_pnbd_dyncov_score(md, 17.25, N, x, tx, T, &ds, pa, ex),
                          CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_btyd_score_covariates(ms, 17.25, N, x, tx,
                                                      T, &sc, pa0, ex0), CHURN_OK);
    for (int i = 0; i < N; i++) {
        CT_CLOSE(pa[i], pa0[i], 1e-5);
        CT_CLOSE(ex[i], ex0[i], 1e-5);
    }
    CU_ASSERT_EQUAL_FATAL(churn_pnbd_dyncov_expected_new(md, 17.25, N, &ds, en), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_btyd_expected_new_covariates(ms, 17.25, N, &sc, en0), CHURN_OK);
    for (int i = 0; i < N; i++)
        CT_CLOSE(en[i], en0[i], 1e-5);
    /* the same model's parameters through both scoring paths: equal to rounding */
    double par[6];
    churn_model_params(md, par, 6);
    /* a static model with the dynamic fit's parameters: churn_btyd_loglik_covariates */
    double lls, lld;
    CU_ASSERT_EQUAL(churn_btyd_loglik_covariates(CHURN_FAMILY_PNBD, 6, par, N, x, tx, T, NULL,
                                                 &sc, &lls, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(churn_pnbd_dyncov_loglik(6, par, N, x, tx, T, NULL, &dc, &lld, NULL),
                    CHURN_OK);
    CT_CLOSE(lld, lls, 1e-12);
    churn_model_free(ms);
    churn_model_free(md);
}

static void test_gradient(void)
{
    churn_btyd_dyncov dc = grid(zt, zl, 1);
    const double pts[3][6] = {{0.55, 10.6, 0.6, 11.7, 0.4, -0.7},
                              {2.0, 3.0, 0.3, 40.0, -1.2, 1.5},
                              {0.2, 0.5, 3, 2, 2.0, 0.3}};
    for (int k = 0; k < 3; k++) {
        double g[6], ll;
        CU_ASSERT_EQUAL_FATAL(churn_pnbd_dyncov_loglik(6, pts[k], N, x, tx, T, NULL, &dc, &ll,
                                                       g), CHURN_OK);
        for (int j = 0; j < 6; j++) {
            double a[6], b[6], la, lb, h = 1e-5 * fmax(1, fabs(pts[k][j]));
            memcpy(a, pts[k], sizeof a);
            memcpy(b, pts[k], sizeof b);
            a[j] += h;
            b[j] -= h;
            churn_pnbd_dyncov_loglik(6, a, N, x, tx, T, NULL, &dc, &la, NULL);
            churn_pnbd_dyncov_loglik(6, b, N, x, tx, T, NULL, &dc, &lb, NULL);
            CT_NEAR(g[j], (la - lb) / (2 * h), 1e-5 * fmax(1, fabs(g[j])));
        }
    }
}

static void test_marker(void)
{
    churn_btyd_dyncov dc = grid(zt, zl, 1);
    churn_model *md = NULL, *ms = NULL, *back = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_pnbd_dyncov_fit(&md, N, x, tx, T, NULL, &dc, NULL), CHURN_OK);
    CU_ASSERT(churn_model_converged(md));
    churn_btyd_covariates sc;
    churn_btyd_covariates_init(&sc);
    sc.n_trans = 1;
    sc.trans = zt_static;
    sc.trans_names = tn;
    sc.n_life = 1;
    sc.life = zl_static;
    sc.life_names = ln;
    double pa[N], ex[N];
    CU_ASSERT_EQUAL(churn_btyd_score_covariates(md, 1, N, x, tx, T, &sc, pa, ex), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "churn_pnbd_dyncov_score") != NULL);
    CU_ASSERT_EQUAL(churn_btyd_score(md, 1, N, x, tx, T, pa, ex), CHURN_EINVAL);
    CU_ASSERT_EQUAL_FATAL(churn_btyd_fit_covariates(&ms, CHURN_FAMILY_PNBD, N, x, tx, T, NULL,
                                                    &sc, NULL), CHURN_OK);
    churn_btyd_dyncov ds = grid(zt, zl, 0);
    /* histories cut half a week before the grid ends, scored over that half week */
    double T0[N], tx0[N];
    for (int i = 0; i < N; i++) {
        T0[i] = T[i] - 0.5;
        tx0[i] = tx[i] < T0[i] ? tx[i] : T0[i];
    }
    CU_ASSERT_EQUAL(churn_pnbd_dyncov_score(ms, 0.5, N, x, tx0, T0, &ds, pa, ex), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "static covariates") != NULL);
    /* save / load keeps the marker and the scores */
    char path[512];
    snprintf(path, sizeof path, "%s/dyncov_model.json", churn_test_tmp_dir());
    CU_ASSERT_EQUAL_FATAL(churn_model_save(md, path), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_model_load(&back, path), CHURN_OK);
    double pb[N], eb[N];
    CU_ASSERT_EQUAL(churn_pnbd_dyncov_score(md, 0.5, N, x, tx0, T0, &ds, pa, ex), CHURN_OK);
    CU_ASSERT_EQUAL(churn_pnbd_dyncov_score(back, 0.5, N, x, tx0, T0, &ds, pb, eb), CHURN_OK);
    for (int i = 0; i < N; i++) {
        CU_ASSERT_EQUAL(pa[i], pb[i]);
        CU_ASSERT_EQUAL(ex[i], eb[i]);
    }
    CU_ASSERT_EQUAL(churn_btyd_score_covariates(back, 1, N, x, tx, T, &sc, pa, ex),
                    CHURN_EINVAL);
    remove(path);
    churn_model_free(md);
    churn_model_free(ms);
    churn_model_free(back);
}

/* Options: a coefficient shared by both processes and L2 penalties. At the optimum the
 * log-likelihood's gradient (churn_pnbd_dyncov_loglik) satisfies the constrained /
 * penalised first-order conditions: the two shared derivatives sum to 0, and each
 * penalised coefficient's derivative is 2 lambda gamma. */
static void test_options(void)
{
    static const char *both[] = {"promo"};
    churn_btyd_dyncov dc = grid(zt, zl, 1);
    dc.life_names = both; /* the life column is also called 'promo' */
    churn_btyd_cov_options o;
    churn_btyd_cov_options_init(&o);
    o.n_shared = 1;
    o.shared = both;
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_pnbd_dyncov_fit(&m, N, x, tx, T, NULL, &dc, &o), CHURN_OK);
    double p[6], g[6], ll;
    churn_model_params(m, p, 6);
    CU_ASSERT_EQUAL(p[4], p[5]);
    CU_ASSERT_EQUAL(churn_pnbd_dyncov_loglik(6, p, N, x, tx, T, NULL, &dc, &ll, g), CHURN_OK);
    CT_NEAR(g[4] + g[5], 0, 1e-5);
    CT_CLOSE(churn_model_loglik(m), ll, 1e-12);
    churn_model_free(m);

    dc = grid(zt, zl, 1);
    churn_btyd_cov_options_init(&o);
    o.l2_trans = 3;
    o.l2_life = 7;
    CU_ASSERT_EQUAL_FATAL(churn_pnbd_dyncov_fit(&m, N, x, tx, T, NULL, &dc, &o), CHURN_OK);
    churn_model_params(m, p, 6);
    CU_ASSERT_EQUAL(churn_pnbd_dyncov_loglik(6, p, N, x, tx, T, NULL, &dc, &ll, g), CHURN_OK);
    CT_NEAR(g[4], 2 * 3 * p[4], 1e-5);
    CT_NEAR(g[5], 2 * 7 * p[5], 1e-5);
    CU_ASSERT(fabs(p[4]) > 1e-4 && fabs(p[5]) > 1e-4);
    churn_model_free(m);
}

#define EXPECT_ERR(call, text)                                                                  \
    do {                                                                                        \
        CU_ASSERT_EQUAL((call), CHURN_EINVAL);                                                  \
        if (!strstr(churn_last_error_message(), text)) {                                        \
            printf("\nmessage '%s' lacks '%s'\n", churn_last_error_message(), text);            \
            CU_FAIL("message");                                                                 \
        }                                                                                       \
    } while (0)

static void test_errors(void)
{
    double par[6] = {0.5, 10, 0.6, 11, 0, 0}, ll;
    churn_btyd_dyncov dc = grid(zt, zl, 1);
    EXPECT_ERR(churn_pnbd_dyncov_loglik(6, par, N, x, tx, T, NULL, NULL, &ll, NULL),
               "NULL dynamic covariates");
    static double bad_bound[P + 1];
    memcpy(bad_bound, bound, sizeof bound);
    bad_bound[7] = bad_bound[6];
    dc.boundaries = bad_bound;
    EXPECT_ERR(churn_pnbd_dyncov_loglik(6, par, N, x, tx, T, NULL, &dc, &ll, NULL),
               "boundary 7 (6) is not after boundary 6");
    dc = grid(zt, zl, 1);
    static double b2[N];
    memcpy(b2, birth, sizeof birth);
    b2[5] = -1;
    dc.birth = b2;
    EXPECT_ERR(churn_pnbd_dyncov_loglik(6, par, N, x, tx, T, NULL, &dc, &ll, NULL),
               "row 5: the customer's calendar span");
    dc = grid(zt, zl, 1);
    static double c2[P * N];
    memcpy(c2, counts, sizeof counts);
    int row = -1;
    for (int i = 0; i < N && row < 0; i++)
        if (x[i] > 1)
            row = i;
    int per = (int)(birth[row] + tx[row]);
    c2[per * N + row] += 1;
    dc.counts = c2;
    char want[128];
    snprintf(want, sizeof want, "row %d: the per-period counts sum to %g, the frequency is %g",
             row, x[row] + 1, x[row]);
    EXPECT_ERR(churn_pnbd_dyncov_loglik(6, par, N, x, tx, T, NULL, &dc, &ll, NULL), want);
    c2[per * N + row] -= 2; /* maybe negative */
    if (c2[per * N + row] < 0) {
        snprintf(want, sizeof want, "row %d, period %d, column 'counts'", row, per);
        EXPECT_ERR(churn_pnbd_dyncov_loglik(6, par, N, x, tx, T, NULL, &dc, &ll, NULL), want);
    }
    memcpy(c2, counts, sizeof counts);
    /* move the last purchase one period earlier than birth + recency */
    if (per > (int)birth[row]) {
        c2[per * N + row] -= 1;
        c2[(per - 1) * N + row] += 1;
        if (c2[per * N + row] == 0) {
            snprintf(want, sizeof want, "row %d: the last purchase", row);
            EXPECT_ERR(churn_pnbd_dyncov_loglik(6, par, N, x, tx, T, NULL, &dc, &ll, NULL),
                       want);
        }
    }
    dc = grid(zt, zl, 1);
    static double z2[P * N];
    memcpy(z2, zl, sizeof zl);
    z2[30 * N + 17] = NAN;
    dc.life = z2;
    EXPECT_ERR(churn_pnbd_dyncov_loglik(6, par, N, x, tx, T, NULL, &dc, &ll, NULL),
               "row 17, period 30, life covariate 'season': nan is not finite");
    /* a NaN in a period before a customer's birth is never read */
    memcpy(z2, zl, sizeof zl);
    int late = -1;
    for (int i = 0; i < N && late < 0; i++)
        if (birth[i] > 3)
            late = i;
    z2[0 * N + late] = NAN;
    CU_ASSERT_EQUAL(churn_pnbd_dyncov_loglik(6, par, N, x, tx, T, NULL, &dc, &ll, NULL),
                    CHURN_OK);
    /* a customer born exactly on a period boundary: the period before is not read */
    static double b3[N];
    memcpy(b3, birth, sizeof birth);
    int on = -1;
    for (int i = 0; i < N && on < 0; i++)
        if (birth[i] > 3 && x[i] == 0)
            on = i;
    b3[on] = floor(birth[on]);
    double T3[N];
    memcpy(T3, T, sizeof T3);
    T3[on] = P - b3[on];
    memcpy(z2, zl, sizeof zl);
    z2[((int)b3[on] - 1) * N + on] = NAN;
    dc = grid(zt, z2, 1);
    dc.birth = b3;
    CU_ASSERT_EQUAL(churn_pnbd_dyncov_loglik(6, par, N, x, tx, T3, NULL, &dc, &ll, NULL),
                    CHURN_OK);
    /* a horizon beyond the grid */
    dc = grid(zt, zl, 0);
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&m, CHURN_FAMILY_PNBD, 4, par), CHURN_OK);
    double pa[N], ex[N];
    EXPECT_ERR(churn_pnbd_dyncov_score(m, 1.0, N, x, tx, T, &dc, pa, ex),
               "row 0: the customer's calendar span");
    churn_model_free(m);
    /* a covariate with one non-zero value everywhere */
    static double ones[P * N];
    for (int k = 0; k < P * N; k++)
        ones[k] = 2;
    dc = grid(ones, NULL, 1);
    churn_model *mf = NULL;
    EXPECT_ERR(churn_pnbd_dyncov_fit(&mf, N, x, tx, T, NULL, &dc, NULL),
               "trans covariate 'promo' has the same value (2)");
    CU_ASSERT_PTR_NULL(mf);
}

int main(void)
{
    if (setup())
        return 1;
    CU_TestInfo tests[] = {
        {"coefficients 0: the plain Pareto/NBD", test_zero_is_plain},
        {"covariates constant in time: the static model", test_constant_is_static},
        {"gradient vs central differences", test_gradient},
        {"dynamic model marker, save/load", test_marker},
        {"shared coefficient and L2 penalties: first-order conditions", test_options},
        {"input errors named", test_errors},
        CU_TEST_INFO_NULL,
    };
    return churn_test_run("dyncov", tests);
}
