/* Pareto/NBD through the public API: the CDNOW fit against the published
 * parameters, per-customer values against mpmath (tests/data/pnbd_ref.csv,
 * a different formula from lib/btyd/pnbd.c's), the gradient against finite
 * differences, predictions against a simulated Pareto/NBD process, parameter
 * recovery and standard errors, and extreme inputs. */
#include "testutil.h"

#include <churn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef CHURN_TEST_SOURCE_DIR
#define CHURN_TEST_SOURCE_DIR "."
#endif

/* ---- a small independent random number generator ----------------------------
 * (xoshiro256**, Blackman & Vigna 2018; gamma by Marsaglia & Tsang 2000).
 * Written here rather than taken from GSL because this test links only the
 * shared library. */
typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(rng *g)
{
    uint64_t *s = g->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static void rng_seed(rng *g, uint64_t seed)
{
    for (int i = 0; i < 4; i++) { /* splitmix64 */
        uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        g->s[i] = z ^ (z >> 31);
    }
}

/* uniform on (0, 1) */
static double runif(rng *g) { return ((double)(rng_next(g) >> 11) + 0.5) * 0x1.0p-53; }

static double rnorm(rng *g)
{
    for (;;) {
        double u = 2.0 * runif(g) - 1.0, v = 2.0 * runif(g) - 1.0, q = u * u + v * v;
        if (q > 0.0 && q < 1.0)
            return u * sqrt(-2.0 * log(q) / q);
    }
}

static double rgamma(rng *g, double shape)
{
    if (shape < 1.0)
        return rgamma(g, shape + 1.0) * pow(runif(g), 1.0 / shape);
    double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x = rnorm(g), v = 1.0 + c * x;
        if (v <= 0.0)
            continue;
        v = v * v * v;
        double u = runif(g);
        if (log(u) < 0.5 * x * x + d * (1.0 - v + log(v)))
            return d * v;
    }
}

static double rexp(rng *g) { return -log(runif(g)); }

/* One simulated cohort: calibration summary plus what happened afterwards. */
typedef struct cohort {
    size_t n;
    double *x, *tx, *T;
    int *alive_T, *alive_T52;  /* alive at T, at T + 52 */
    double *future52;          /* purchases in (T, T + 52] */
    double *count39;           /* purchases in (0, 39] (for the new-customer pmf) */
} cohort;

static void cohort_free(cohort *c)
{
    free(c->x);
    free(c->tx);
    free(c->T);
    free(c->alive_T);
    free(c->alive_T52);
    free(c->future52);
    free(c->count39);
}

/* lambda ~ Gamma(r, rate alpha), mu ~ Gamma(s, rate beta), lifetime ~ Exp(mu),
 * purchases Poisson(lambda) while alive; T uniform on [26, 78] weeks. */
static int simulate(cohort *c, size_t n, const double *p, uint64_t seed)
{
    rng g;
    rng_seed(&g, seed);
    memset(c, 0, sizeof *c);
    c->n = n;
    c->x = malloc(n * sizeof(double));
    c->tx = malloc(n * sizeof(double));
    c->T = malloc(n * sizeof(double));
    c->alive_T = malloc(n * sizeof(int));
    c->alive_T52 = malloc(n * sizeof(int));
    c->future52 = malloc(n * sizeof(double));
    c->count39 = malloc(n * sizeof(double));
    if (!c->x || !c->tx || !c->T || !c->alive_T || !c->alive_T52 || !c->future52 || !c->count39)
        return -1;
    for (size_t i = 0; i < n; i++) {
        double lambda = rgamma(&g, p[0]) / p[1], mu = rgamma(&g, p[2]) / p[3];
        double life = rexp(&g) / mu, T = 26.0 + 52.0 * runif(&g);
        double end = fmin(life, T + 52.0), t = 0.0, x = 0.0, tx = 0.0, fut = 0.0, c39 = 0.0;
        for (;;) {
            t += rexp(&g) / lambda;
            if (t > end)
                break;
            if (t <= T) {
                x += 1.0;
                tx = t;
            } else {
                fut += 1.0;
            }
            if (t <= 39.0)
                c39 += 1.0;
        }
        c->x[i] = x;
        c->tx[i] = tx;
        c->T[i] = T;
        c->alive_T[i] = life > T;
        c->alive_T52[i] = life > T + 52.0;
        c->future52[i] = fut;
        c->count39[i] = c39;
    }
    return 0;
}

static const double truth[4] = {0.55, 10.5, 0.6, 11.5};

/* ---- CDNOW ------------------------------------------------------------------- */

static size_t read_cdnow(double **x, double **tx, double **T)
{
    const char *path = churn_test_data_path("cdnow/lifetimes_clv.csv");
    if (!path)
        return 0;
    FILE *fp = fopen(path, "r");
    if (!fp)
        return 0;
    size_t cap = 4096, n = 0;
    *x = malloc(cap * sizeof(double));
    *tx = malloc(cap * sizeof(double));
    *T = malloc(cap * sizeof(double));
    char line[1024];
    while (fgets(line, sizeof line, fp) && n < cap) {
        double id;
        if (line[0] == '#' || line[0] == 'I')
            continue;
        if (sscanf(line, "%lf,%lf,%lf,%lf", &id, &(*x)[n], &(*tx)[n], &(*T)[n]) == 4)
            n++;
    }
    fclose(fp);
    return n;
}

static void test_cdnow_fit(void)
{
    double *x = NULL, *tx = NULL, *T = NULL;
    size_t n = read_cdnow(&x, &tx, &T);
    if (n == 0) {
        churn_test_skip("cdnow fit", "../shared/data/cdnow/lifetimes_clv.csv not found");
        free(x), free(tx), free(T);
        return;
    }
    CU_ASSERT_EQUAL(n, 2357);
    churn_model *m = NULL;
    int rc = churn_btyd_fit(&m, CHURN_FAMILY_PNBD, n, x, tx, T, NULL, NULL);
    CU_ASSERT_EQUAL_FATAL(rc, CHURN_OK);
    double p[4], se[4];
    CU_ASSERT_EQUAL(churn_model_params(m, p, 4), CHURN_OK);
    CU_ASSERT_EQUAL(churn_model_std_errors(m, se, 4), CHURN_OK);
    /* Published (BTYD package; Fader & Hardie's Pareto/NBD note): the likelihood is
     * flat in beta, so LL to 0.01 and parameters to 0.5%. */
    CT_NEAR(churn_model_loglik(m), -9594.976, 0.01);
    CT_CLOSE(p[0], 0.5533971, 0.005);
    CT_CLOSE(p[1], 10.5801985, 0.005);
    CT_CLOSE(p[2], 0.6060625, 0.005);
    CT_CLOSE(p[3], 11.6562237, 0.005);
    CU_ASSERT(churn_model_converged(m));
    for (int k = 0; k < 4; k++)
        CU_ASSERT(se[k] > 0.0 && isfinite(se[k]));
    printf("\n  CDNOW Pareto/NBD: r %.6f alpha %.5f s %.6f beta %.5f LL %.4f (SE %.4f %.4f %.4f "
           "%.4f), %d iterations\n",
           p[0], p[1], p[2], p[3], churn_model_loglik(m), se[0], se[1], se[2], se[3],
           churn_model_iterations(m));
    churn_model_free(m);
    free(x), free(tx), free(T);
}

/* The README's customer: x 26, t_x 30.857, T 31 with the published parameters
 * gives P(alive) 0.99792 and 25.457 purchases in 52 weeks. Those published
 * figures match the 2-decimal summary (t_x 30.86): mpmath's textbook formula
 * gives 0.997917896 and 25.45532 there, 0.997871182 and 25.45413 at t_x 30.857. */
static void test_published_customer(void)
{
    const double p[4] = {0.5533971, 10.5801985, 0.6060625, 11.6562237};
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&m, CHURN_FAMILY_PNBD, 4, p), CHURN_OK);
    double x = 26, tx = 30.86, T = 31, pa = NAN, e = NAN;
    CU_ASSERT_EQUAL(churn_btyd_score(m, 52.0, 1, &x, &tx, &T, &pa, &e), CHURN_OK);
    CT_CLOSE(pa, 0.99792, 1e-5);
    CT_CLOSE(e, 25.457, 1e-4);
    churn_model_free(m);
}

/* Per-customer log-likelihood, P(alive) and 52-week expectation against
 * mpmath's evaluation of the textbook A0 form (tests/special_ref.py --pnbd). */
static void test_against_mpmath(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/data/pnbd_ref.csv", CHURN_TEST_SOURCE_DIR);
    FILE *fp = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    char line[1024];
    int rows = 0;
    double worst_ll = 0.0, worst_pa = 0.0, worst_e = 0.0;
    CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof line, fp));
    while (fgets(line, sizeof line, fp)) {
        double v[10];
        if (sscanf(line, "%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]) != 10)
            continue;
        rows++;
        double ll = NAN, pa = NAN, e = NAN;
        churn_model *m = NULL;
        CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&m, CHURN_FAMILY_PNBD, 4, v), CHURN_OK);
        CU_ASSERT_EQUAL(churn_btyd_loglik(CHURN_FAMILY_PNBD, 4, v, 1, &v[4], &v[5], &v[6], NULL,
                                          &ll, NULL),
                        CHURN_OK);
        CU_ASSERT_EQUAL(churn_btyd_score(m, 52.0, 1, &v[4], &v[5], &v[6], &pa, &e), CHURN_OK);
        churn_model_free(m);
        double ell = fabs(ll - v[7]) / fmax(1.0, fabs(v[7]));
        double epa = fabs(pa - v[8]) / v[8], ee = fabs(e - v[9]) / v[9];
        if (!(ell < 1e-12 && epa < 1e-10 && ee < 1e-10))
            printf("\n  row %d (x %g, t_x %g, T %g): ll %.17g vs %.17g, P(alive) %.17g vs %.17g, "
                   "E %.17g vs %.17g",
                   rows, v[4], v[5], v[6], ll, v[7], pa, v[8], e, v[9]);
        CU_ASSERT(ell < 1e-12);
        CU_ASSERT(epa < 1e-10);
        CU_ASSERT(ee < 1e-10);
        worst_ll = fmax(worst_ll, ell);
        worst_pa = fmax(worst_pa, epa);
        worst_e = fmax(worst_e, ee);
    }
    fclose(fp);
    CU_ASSERT(rows >= 20);
    printf("\n  %d customers vs mpmath: max rel. error loglik %.2g, P(alive) %.2g, E %.2g\n", rows,
           worst_ll, worst_pa, worst_e);
}

/* ---- gradient ------------------------------------------------------------------ */

static double grad_check(const double *p, size_t n, const double *x, const double *tx,
                         const double *T, const double *w)
{
    double ll, g[4], worst = 0.0, gmax = 0.0;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_loglik(CHURN_FAMILY_PNBD, 4, p, n, x, tx, T, w, &ll, g),
                          CHURN_OK);
    for (int k = 0; k < 4; k++)
        gmax = fmax(gmax, fabs(g[k] * p[k]));
    for (int k = 0; k < 4; k++) {
        double q[4], lp, lm, h = 1e-5 * p[k];
        memcpy(q, p, sizeof q);
        q[k] = p[k] + h;
        CU_ASSERT_EQUAL(churn_btyd_loglik(CHURN_FAMILY_PNBD, 4, q, n, x, tx, T, w, &lp, NULL),
                        CHURN_OK);
        q[k] = p[k] - h;
        CU_ASSERT_EQUAL(churn_btyd_loglik(CHURN_FAMILY_PNBD, 4, q, n, x, tx, T, w, &lm, NULL),
                        CHURN_OK);
        /* compare d ll / d log p_k, relative to the largest component */
        double fd = (lp - lm) / (2.0 * h) * p[k];
        double err = fabs(fd - g[k] * p[k]) / gmax;
        if (!(err <= worst))
            worst = isnan(err) ? INFINITY : err;
    }
    return worst;
}

static void test_gradient(void)
{
    /* rows covering the series and the quadrature paths, x = 0, t_x = T, huge x */
    const double x[] = {0, 0, 1, 2, 26, 5, 250, 3000, 7};
    const double tx[] = {0, 0, 0.5, 30.43, 30.857, 39, 19, 30, 10};
    const double T[] = {38.86, 20, 39, 38.86, 31, 39, 20, 40, 1e5};
    const double w[] = {3, 1, 2, 1, 1, 1, 1, 1, 1};
    const size_t n = sizeof x / sizeof x[0];
    const double params[][4] = {
        {0.5533971, 10.5801985, 0.6060625, 11.6562237}, /* CDNOW, alpha < beta */
        {0.8, 14.0, 0.9, 9.0},                          /* alpha > beta */
        {0.8, 7.0, 1.3, 7.0},                           /* alpha == beta */
        {2.0, 1e4, 0.5, 1.0},                           /* alpha >> beta: |z| -> 1 */
        {0.3, 0.05, 2.0, 500.0},                        /* beta >> alpha */
        {1.5, 3.0, 1.0, 9.0},                           /* s == 1 */
    };
    double worst = 0.0;
    for (size_t j = 0; j < sizeof params / sizeof params[0]; j++) {
        double e = grad_check(params[j], n, x, tx, T, w);
        if (!(e < 1e-6))
            printf("\n  parameter set %zu: gradient relative error %.3g", j, e);
        CU_ASSERT(e < 1e-6);
        worst = fmax(worst, e);
    }
    double *cx = NULL, *ctx = NULL, *cT = NULL;
    size_t cn = read_cdnow(&cx, &ctx, &cT);
    if (cn > 0) {
        /* away from the optimum, where the gradient is not ~0 */
        const double p[4] = {0.7, 8.0, 0.45, 15.0};
        double e = grad_check(p, cn, cx, ctx, cT, NULL);
        CU_ASSERT(e < 1e-6);
        worst = fmax(worst, e);
    }
    free(cx), free(ctx), free(cT);
    printf("\n  analytic vs central-difference gradient: max relative error %.2g\n", worst);
}

/* ---- simulation -------------------------------------------------------------------- */

static cohort big;
static int big_ok;

static int suite_init(void)
{
    big_ok = simulate(&big, 100000, truth, 20240601) == 0;
    return 0;
}

static int suite_clean(void)
{
    cohort_free(&big);
    return 0;
}

/* Predictions at the true parameters against what the simulated customers
 * did after T: alive at T, alive at T + 52, purchases in (T, T + 52], the
 * probability of no purchase then, and the new-customer pmf and mean at 39
 * weeks. Each check is a z-score over 100,000 independent customers. */
static void test_predictions_vs_simulation(void)
{
    CU_ASSERT_FATAL(big_ok);
    size_t n = big.n;
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&m, CHURN_FAMILY_PNBD, 4, truth), CHURN_OK);
    double *pa = malloc(n * sizeof *pa), *e = malloc(n * sizeof *e), *pa52 = malloc(n * sizeof *pa52),
           *p0 = malloc(n * sizeof *p0);
    CU_ASSERT_FATAL(pa && e && pa52 && p0);
    CU_ASSERT_EQUAL(churn_btyd_score(m, 52.0, n, big.x, big.tx, big.T, pa, e), CHURN_OK);
    CU_ASSERT_EQUAL(churn_pnbd_p_alive_at(m, 52.0, n, big.x, big.tx, big.T, pa52), CHURN_OK);
    CU_ASSERT_EQUAL(churn_btyd_prob_purchases_cond(m, 0.0, 52.0, n, big.x, big.tx, big.T, p0),
                    CHURN_OK);
    double d_alive = 0, v_alive = 0, d_alive52 = 0, v_alive52 = 0, d_fut = 0, v_fut = 0, d0 = 0,
           v0 = 0;
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT(pa[i] >= 0.0 && pa[i] <= 1.0);
        d_alive += big.alive_T[i] - pa[i];
        v_alive += pa[i] * (1.0 - pa[i]);
        d_alive52 += big.alive_T52[i] - pa52[i];
        v_alive52 += pa52[i] * (1.0 - pa52[i]);
        d_fut += big.future52[i] - e[i];
        v_fut += (big.future52[i] - e[i]) * (big.future52[i] - e[i]);
        double none = big.future52[i] == 0.0;
        d0 += none - p0[i];
        v0 += p0[i] * (1.0 - p0[i]);
    }
    double z[4] = {d_alive / sqrt(v_alive), d_alive52 / sqrt(v_alive52), d_fut / sqrt(v_fut),
                   d0 / sqrt(v0)};
    printf("\n  z-scores vs simulation: alive at T %.2f, alive at T+52 %.2f, purchases in 52 "
           "weeks %.2f, no purchase in 52 weeks %.2f",
           z[0], z[1], z[2], z[3]);
    for (int k = 0; k < 4; k++)
        CU_ASSERT(fabs(z[k]) < 4.0);

    /* New customers: the distribution of purchases in (0, 39]. */
    double t39 = 39.0, mean39 = 0.0;
    CU_ASSERT_EQUAL(churn_btyd_expected_purchases_new(m, 1, &t39, &mean39), CHURN_OK);
    double s = 0, ss = 0;
    for (size_t i = 0; i < n; i++) {
        s += big.count39[i];
        ss += big.count39[i] * big.count39[i];
    }
    double sim_mean = s / n, sim_sd = sqrt(ss / n - sim_mean * sim_mean);
    double zm = (sim_mean - mean39) / (sim_sd / sqrt((double)n));
    CU_ASSERT(fabs(zm) < 4.0);
    printf(", E[X(39)] %.2f", zm);
    const double ks[] = {0, 1, 2, 5, 10};
    double psum = 0.0, pmean = 0.0;
    for (size_t j = 0; j < sizeof ks / sizeof ks[0]; j++) {
        double pk = NAN, cnt = 0;
        CU_ASSERT_EQUAL(churn_btyd_prob_purchases(m, ks[j], 1, &t39, &pk), CHURN_OK);
        for (size_t i = 0; i < n; i++)
            cnt += big.count39[i] == ks[j];
        double zk = (cnt / n - pk) / sqrt(pk * (1.0 - pk) / n);
        printf(", P(X(39)=%g) %.2f", ks[j], zk);
        CU_ASSERT(fabs(zk) < 4.0);
    }
    /* the pmf sums to one and its mean is E[X(t)] (closed form) */
    for (int k = 0; k < 400; k++) {
        double pk;
        churn_btyd_prob_purchases(m, k, 1, &t39, &pk);
        psum += pk;
        pmean += k * pk;
    }
    CT_CLOSE(psum, 1.0, 1e-10);
    CT_CLOSE(pmean, mean39, 1e-9);
    /* the conditional pmf of one customer sums to one with mean E[X | history] */
    double cx = 4, ctx = 20, cT = 40, ce, csum = 0, cmean = 0;
    CU_ASSERT_EQUAL(churn_btyd_expected_purchases(m, 52.0, 1, &cx, &ctx, &cT, &ce), CHURN_OK);
    for (int k = 0; k < 400; k++) {
        double pk;
        churn_btyd_prob_purchases_cond(m, k, 52.0, 1, &cx, &ctx, &cT, &pk);
        csum += pk;
        cmean += k * pk;
    }
    CT_CLOSE(csum, 1.0, 1e-10);
    CT_CLOSE(cmean, ce, 1e-9);
    printf("\n");
    churn_model_free(m);
    free(pa), free(e), free(pa52), free(p0);
}

/* Parameter recovery at 100,000 customers: every estimate within 3 reported
 * standard errors of the truth. */
static void test_recovery(void)
{
    CU_ASSERT_FATAL(big_ok);
    churn_model *m = NULL;
    int rc = churn_btyd_fit(&m, CHURN_FAMILY_PNBD, big.n, big.x, big.tx, big.T, NULL, NULL);
    CU_ASSERT_EQUAL_FATAL(rc, CHURN_OK);
    double p[4], se[4];
    churn_model_params(m, p, 4);
    churn_model_std_errors(m, se, 4);
    printf("\n  100,000 simulated customers:");
    for (int k = 0; k < 4; k++) {
        printf(" %s %.4f (SE %.4f, truth %.2f, %.2f SE)", churn_model_param_name(m, k), p[k],
               se[k], truth[k], (p[k] - truth[k]) / se[k]);
        CU_ASSERT(fabs(p[k] - truth[k]) <= 3.0 * se[k]);
    }
    printf("\n");
    churn_model_free(m);
}

/* The reported standard errors agree with the spread of the estimates over
 * repeated samples of 10,000 customers within 25%. The issue asks for 20
 * seeds; but the standard deviation of 20 estimates is itself uncertain by
 * ~16% (1/sqrt(2*19)), so a 25% band would be only 1.5 of its standard errors
 * wide, and seeds 1000..1019 do land outside it for r and alpha (ratio 1.36)
 * while 200 seeds give 1.02. The check therefore runs 100 seeds (~7% noise)
 * and also prints the ratio for the first 20. */
static void test_standard_errors(void)
{
    enum { MAXSEEDS = 400 };
    static double est[MAXSEEDS][4], se[MAXSEEDS][4];
    /* CHURN_PNBD_SE_SEEDS overrides the number of seeds (for a closer look). */
    const char *env = getenv("CHURN_PNBD_SE_SEEDS");
    int SEEDS = env ? atoi(env) : 100;
    if (SEEDS < 20 || SEEDS > MAXSEEDS)
        SEEDS = 100;
    for (int r = 0; r < SEEDS; r++) {
        cohort c;
        CU_ASSERT_FATAL(simulate(&c, 10000, truth, 1000 + (uint64_t)r) == 0);
        churn_model *m = NULL;
        int rc = churn_btyd_fit(&m, CHURN_FAMILY_PNBD, c.n, c.x, c.tx, c.T, NULL, NULL);
        CU_ASSERT_EQUAL_FATAL(rc, CHURN_OK);
        churn_model_params(m, est[r], 4);
        churn_model_std_errors(m, se[r], 4);
        churn_model_free(m);
        cohort_free(&c);
    }
    for (int pass = 0; pass < 2; pass++) {
        int ns = pass == 0 ? 20 : SEEDS;
        printf("\n  %d x 10,000 customers, mean reported SE / SD of estimates:", ns);
        for (int k = 0; k < 4; k++) {
            double mean = 0, sd = 0, mse = 0;
            for (int r = 0; r < ns; r++) {
                mean += est[r][k] / ns;
                mse += se[r][k] / ns;
            }
            for (int r = 0; r < ns; r++)
                sd += (est[r][k] - mean) * (est[r][k] - mean) / (ns - 1);
            sd = sqrt(sd);
            printf(" %.3f", mse / sd);
            if (pass == 1)
                CU_ASSERT(fabs(mse / sd - 1.0) <= 0.25);
        }
    }
    printf("\n");
}

/* ---- extreme inputs ------------------------------------------------------------------ */

static void test_extremes(void)
{
    const double p[4] = {0.5533971, 10.5801985, 0.6060625, 11.6562237};
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&m, CHURN_FAMILY_PNBD, 4, p), CHURN_OK);
    /* thousands of purchases, very long T, t_x = T, x = 0 */
    const double x[] = {3000, 20000, 7, 5, 0, 1};
    const double tx[] = {30, 39.5, 10, 39, 0, 1e-9};
    const double T[] = {40, 40, 1e5, 39, 1e6, 1e6};
    size_t n = sizeof x / sizeof x[0];
    double pa[6], e[6], pa52[6], ll, g[4];
    CU_ASSERT_EQUAL(churn_btyd_score(m, 52.0, n, x, tx, T, pa, e), CHURN_OK);
    CU_ASSERT_EQUAL(churn_pnbd_p_alive_at(m, 52.0, n, x, tx, T, pa52), CHURN_OK);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT(pa[i] >= 0.0 && pa[i] <= 1.0);
        CU_ASSERT(isfinite(e[i]) && e[i] >= 0.0);
        CU_ASSERT(pa52[i] >= 0.0 && pa52[i] <= pa[i]);
        CU_ASSERT_EQUAL(churn_btyd_loglik(CHURN_FAMILY_PNBD, 4, p, 1, &x[i], &tx[i], &T[i], NULL,
                                          &ll, g),
                        CHURN_OK);
        CU_ASSERT(isfinite(ll) && isfinite(g[0]) && isfinite(g[1]) && isfinite(g[2]) &&
                  isfinite(g[3]));
    }
    CU_ASSERT_EQUAL(pa[3], 1.0); /* last purchase at T */
    /* P(X(t) = k) for a huge k is tiny, not NaN */
    double t = 52.0, pk = NAN;
    CU_ASSERT_EQUAL(churn_btyd_prob_purchases(m, 5000.0, 1, &t, &pk), CHURN_OK);
    CU_ASSERT(pk >= 0.0 && pk < 1e-100);
    churn_model_free(m);

    /* All one-time buyers: the rate parameters are not identified. Either a
     * finite fit or a clear status with a message, never NaN. */
    enum { N1 = 500 };
    double x1[N1], tx1[N1], T1[N1];
    for (int i = 0; i < N1; i++) {
        x1[i] = 0.0;
        tx1[i] = 0.0;
        T1[i] = 10.0 + (i % 40);
    }
    int rc = churn_btyd_fit(&m, CHURN_FAMILY_PNBD, N1, x1, tx1, T1, NULL, NULL);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", churn_last_error_message());
    printf("\n  all one-time buyers: status %d (%s) %s\n", rc, churn_strerror(rc), msg);
    if (rc == CHURN_OK || m) {
        double q[4];
        churn_model_params(m, q, 4);
        for (int k = 0; k < 4; k++)
            CU_ASSERT(isfinite(q[k]) && q[k] > 0.0);
        CU_ASSERT(isfinite(churn_model_loglik(m)));
    }
    if (rc != CHURN_OK)
        CU_ASSERT(strlen(msg) > 0);
    churn_model_free(m);
    m = NULL;

    /* Everyone active (t_x = T): also finite or a clear status. */
    for (int i = 0; i < N1; i++) {
        x1[i] = 1.0 + (i % 7);
        tx1[i] = T1[i];
    }
    rc = churn_btyd_fit(&m, CHURN_FAMILY_PNBD, N1, x1, tx1, T1, NULL, NULL);
    snprintf(msg, sizeof msg, "%s", churn_last_error_message());
    printf("  everyone active: status %d (%s) %s\n", rc, churn_strerror(rc), msg);
    if (m) {
        double q[4];
        churn_model_params(m, q, 4);
        for (int k = 0; k < 4; k++)
            CU_ASSERT(isfinite(q[k]) && q[k] > 0.0);
    }
    if (rc != CHURN_OK)
        CU_ASSERT(strlen(msg) > 0);
    churn_model_free(m);
}

static void test_errors(void)
{
    const double p[4] = {0.55, 10.5, 0.6, 11.5}, bg[4] = {0.24, 4.4, 0.79, 2.4};
    churn_model *m = NULL, *b = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&m, CHURN_FAMILY_PNBD, 4, p), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&b, CHURN_FAMILY_BGNBD, 4, bg), CHURN_OK);
    double x = 2, tx = 5, T = 10, out;
    /* P(alive at T + t) is Pareto/NBD only */
    CU_ASSERT_EQUAL(churn_pnbd_p_alive_at(b, 1.0, 1, &x, &tx, &T, &out), CHURN_EFAMILY);
    CU_ASSERT(strstr(churn_last_error_message(), "churn_pnbd_p_alive_at") != NULL);
    /* a negative horizon, a recency beyond T: named in the message */
    CU_ASSERT_EQUAL(churn_pnbd_p_alive_at(m, -1.0, 1, &x, &tx, &T, &out), CHURN_EINVAL);
    double bad_tx = 11;
    CU_ASSERT_EQUAL(churn_btyd_p_alive(m, 1, &x, &bad_tx, &T, &out), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row 0") != NULL);
    /* non-positive parameters */
    const double neg[4] = {0.55, -1.0, 0.6, 11.5};
    double ll;
    CU_ASSERT_EQUAL(churn_btyd_loglik(CHURN_FAMILY_PNBD, 4, neg, 1, &x, &tx, &T, NULL, &ll, NULL),
                    CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "alpha") != NULL);
    churn_model_free(m);
    churn_model_free(b);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"CDNOW fit vs published parameters", test_cdnow_fit},
        {"published CDNOW customer", test_published_customer},
        {"per-customer values vs mpmath", test_against_mpmath},
        {"gradient vs finite differences", test_gradient},
        {"predictions vs simulated customers", test_predictions_vs_simulation},
        {"parameter recovery at 100,000 customers", test_recovery},
        {"standard errors vs spread over repeated samples", test_standard_errors},
        {"extreme inputs", test_extremes},
        {"errors", test_errors},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{(char *)"pnbd", suite_init, suite_clean, NULL, NULL, tests},
                             CU_SUITE_INFO_NULL};
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    if (CU_register_suites(suites) != CUE_SUCCESS) {
        CU_cleanup_registry();
        return 1;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    unsigned run = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    return (failed > 0 || run == 0) ? 1 : 0;
}
