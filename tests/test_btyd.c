/*
 * BTYD models: BG/NBD, MBG/NBD, BG/BB and sBG (Pareto/NBD has test_pnbd.c).
 *
 * References: published fits and per-customer values in ../shared/data
 * (README.md there), predictions of the Python library lifetimes for every
 * CDNOW customer (lifetimes_clv.csv), the BTYD package's expected cumulative
 * repeat transactions, closed-form identities (pmf sums to 1, its mean is
 * E[X(t)]), finite differences of the log-likelihood, and parameter recovery
 * on customers simulated here from each model with a seeded generator.
 */
#include "churn.h"
#include "testutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- small readers for the reference files ---------------------------------- */

typedef struct table {
    size_t n, ncols;
    double *v; /* n * ncols, row-major */
} table;

static void table_free(table *t)
{
    free(t->v);
    memset(t, 0, sizeof *t);
}

/* Numeric CSV: '#' comment lines and the header are skipped; the first
 * `ncols` comma-separated fields of each row are read (text fields -> NaN). */
static int read_csv(const char *path, size_t ncols, table *t)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[4096];
    size_t cap = 0;
    int header = 1;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (header) {
            header = 0;
            continue;
        }
        if (t->n == cap) {
            cap = cap ? 2 * cap : 1024;
            t->v = realloc(t->v, cap * ncols * sizeof(double));
        }
        char *p = line;
        for (size_t j = 0; j < ncols; j++) {
            char *end;
            double v = strtod(p, &end);
            t->v[t->n * ncols + j] = end == p ? NAN : v;
            p = strchr(p, ',');
            if (!p) {
                for (size_t q = j + 1; q < ncols; q++)
                    t->v[t->n * ncols + q] = NAN;
                break;
            }
            p++;
        }
        t->n++;
    }
    fclose(f);
    return 0;
}

static double *column(const table *t, size_t j)
{
    double *c = malloc((t->n ? t->n : 1) * sizeof *c);
    for (size_t i = 0; i < t->n; i++)
        c[i] = t->v[i * t->ncols + j];
    return c;
}

/* CDNOW (x, t_x, T) in weeks at full precision, with lifetimes' P(alive) and
 * 52-week expected purchases, from lifetimes_clv.csv. */
typedef struct cdnow {
    size_t n;
    double *x, *tx, *T, *p_alive, *e52;
    table t;
} cdnow;

static int load_cdnow(cdnow *c, const char *test)
{
    memset(c, 0, sizeof *c);
    const char *path = churn_test_data_path("cdnow/lifetimes_clv.csv");
    if (!path) {
        churn_test_skip(test, "../shared/data/cdnow/lifetimes_clv.csv is absent");
        return -1;
    }
    if (read_csv(path, 9, &c->t) != 0) {
        CU_FAIL("cannot read lifetimes_clv.csv");
        return -1;
    }
    c->t.ncols = 9;
    c->n = c->t.n;
    c->x = column(&c->t, 1);
    c->tx = column(&c->t, 2);
    c->T = column(&c->t, 3);
    c->p_alive = column(&c->t, 5);
    c->e52 = column(&c->t, 6);
    return 0;
}

static void cdnow_free(cdnow *c)
{
    free(c->x);
    free(c->tx);
    free(c->T);
    free(c->p_alive);
    free(c->e52);
    table_free(&c->t);
}

static double param(const churn_model *m, const char *name)
{
    double v = NAN;
    CU_ASSERT_EQUAL(churn_model_param(m, name, &v, NULL), CHURN_OK);
    return v;
}

static double stderr_of(const churn_model *m, const char *name)
{
    double se = NAN;
    CU_ASSERT_EQUAL(churn_model_param(m, name, NULL, &se), CHURN_OK);
    return se;
}

/* ---- a seeded generator (xoshiro256**) and the distributions we need -------- */

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static void rng_seed(rng *g, uint64_t seed)
{
    for (int i = 0; i < 4; i++) { /* splitmix64 */
        uint64_t z = (seed += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        g->s[i] = z ^ (z >> 31);
    }
}

static double unif(rng *g)
{
    uint64_t *s = g->s;
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return ((r >> 11) + 0.5) * 0x1.0p-53; /* (0, 1) */
}

static double normal(rng *g)
{
    double u, v, s;
    do {
        u = 2 * unif(g) - 1;
        v = 2 * unif(g) - 1;
        s = u * u + v * v;
    } while (s >= 1 || s == 0);
    return u * sqrt(-2 * log(s) / s);
}

/* Gamma(shape, 1): Marsaglia & Tsang (2000), with the U^(1/shape) boost below 1. */
static double gamma_draw(rng *g, double shape)
{
    if (shape < 1)
        return gamma_draw(g, shape + 1) * pow(unif(g), 1 / shape);
    double d = shape - 1.0 / 3, c = 1 / sqrt(9 * d);
    for (;;) {
        double z = normal(g), v = 1 + c * z;
        if (v <= 0)
            continue;
        v = v * v * v;
        double u = unif(g);
        if (log(u) < 0.5 * z * z + d - d * v + d * log(v))
            return d * v;
    }
}

static double beta_draw(rng *g, double a, double b)
{
    double x = gamma_draw(g, a), y = gamma_draw(g, b);
    return x / (x + y);
}

/* ---- simulators of each model's process ---------------------------------------- */

/* BG/NBD (m = 0) and MBG/NBD (m = 1): Poisson purchases at rate
 * lambda ~ Gamma(r, alpha); after each repeat purchase (MBG: and at time 0)
 * the customer drops out with p ~ Beta(a, b). Ages T uniform in [26, 38] weeks. */
static void sim_bg(rng *g, int m, const double *p, size_t n, double *x, double *tx, double *T)
{
    for (size_t i = 0; i < n; i++) {
        T[i] = 26 + 12 * unif(g);
        double lam = gamma_draw(g, p[0]) / p[1], drop = beta_draw(g, p[2], p[3]);
        double t = 0, last = 0;
        int k = 0;
        if (!(m && unif(g) < drop)) {
            for (;;) {
                t += -log(unif(g)) / lam;
                if (!(t <= T[i]))
                    break;
                k++;
                last = t;
                if (unif(g) < drop)
                    break;
            }
        }
        x[i] = k;
        tx[i] = last;
    }
}

/* BG/BB: at each opportunity 1..n an alive customer dies with theta ~
 * Beta(gamma, delta), else transacts with p ~ Beta(alpha, beta); n in 4..8. */
static void sim_bgbb(rng *g, const double *p, size_t n, double *x, double *tx, double *T)
{
    for (size_t i = 0; i < n; i++) {
        int opp = 4 + (int)(5 * unif(g));
        double pt = beta_draw(g, p[0], p[1]), th = beta_draw(g, p[2], p[3]);
        int k = 0, last = 0;
        for (int j = 1; j <= opp; j++) {
            if (unif(g) < th)
                break;
            if (unif(g) < pt) {
                k++;
                last = j;
            }
        }
        x[i] = k;
        tx[i] = last;
        T[i] = opp;
    }
}

/* sBG: churn at the end of each period with theta ~ Beta(alpha, beta);
 * observed for 7 periods. */
static void sim_sbg(rng *g, const double *p, size_t n, double *periods, int *churned)
{
    for (size_t i = 0; i < n; i++) {
        double th = beta_draw(g, p[0], p[1]);
        int t;
        for (t = 1; t <= 7; t++)
            if (unif(g) < th)
                break;
        churned[i] = t <= 7;
        periods[i] = t <= 7 ? t : 7;
    }
}

/* ---- numerical stability points ------------------------------------------------- */

static void test_bgnbd_stability_points(void)
{
    /* ../shared/data/README.md: BG/NBD, r .25, alpha 4, a .8, b 2.5 */
    double p[4] = {0.25, 4, 0.8, 2.5}, ll = NAN, g[4];
    double x0 = 0, t0 = 0, T0 = 40;
    CU_ASSERT_EQUAL(churn_btyd_loglik(CHURN_FAMILY_BGNBD, 4, p, 1, &x0, &t0, &T0, NULL, &ll, g),
                    CHURN_OK);
    CT_NEAR(ll, -0.59947382, 1e-8);
    double x1 = 200, t1 = 38, T1 = 40;
    CU_ASSERT_EQUAL(churn_btyd_loglik(CHURN_FAMILY_BGNBD, 4, p, 1, &x1, &t1, &T1, NULL, &ll, g),
                    CHURN_OK);
    CU_ASSERT(isfinite(ll) && isfinite(g[0]) && isfinite(g[1]) && isfinite(g[2]) &&
              isfinite(g[3]));
    /* x in the thousands, and an early last purchase (P(alive) underflows) */
    double x2[3] = {5000, 5000, 3}, t2[3] = {39.9, 1, 5}, T2[3] = {40, 40, 1e6};
    CU_ASSERT_EQUAL(churn_btyd_loglik(CHURN_FAMILY_BGNBD, 4, p, 3, x2, t2, T2, NULL, &ll, g),
                    CHURN_OK);
    CU_ASSERT(isfinite(ll) && isfinite(g[0]) && isfinite(g[3]));
    CU_ASSERT_EQUAL(churn_btyd_loglik(CHURN_FAMILY_MBGNBD, 4, p, 3, x2, t2, T2, NULL, &ll, g),
                    CHURN_OK);
    CU_ASSERT(isfinite(ll) && isfinite(g[0]) && isfinite(g[3]));
}

/* BG/NBD and MBG/NBD per-row log-likelihood straight from FHL 2005 eq. (6)
 * (Batislam et al. 2007 for MBG/NBD) in long double with libm's lgammal,
 * logl and log1pl: the reference for the library's pass, which takes the
 * bracket's softplus with its own exp and log1p polynomials. */
static double bg_ref_row(const double *p, double x, double tx, double T, int m)
{
    long double r = p[0], al = p[1], a = p[2], b = p[3], xl = x;
    long double v = lgammal(r + xl) - lgammal(r) + r * logl(al) + lgammal(b + xl + m) -
                    lgammal(b) + lgammal(a + b) - lgammal(a + b + xl + m);
    long double l1 = -(r + xl) * logl(al + T);
    if (!m && x == 0)
        return (double)(v + l1);
    long double l2 = logl(a) - logl(b + xl - 1 + m) - (r + xl) * logl(al + tx);
    long double hi = l1 > l2 ? l1 : l2, lo = l1 > l2 ? l2 : l1;
    return (double)(v + hi + log1pl(expl(lo - hi)));
}

static void test_bgnbd_loglik_reference(void)
{
    /* rows whose softplus argument u = log(a/(b+x-1+m)) + (r+x) log((al+T)/(al+tx))
     * spans -10 .. 830 (beyond the clamp at 708), with rows on both sides of
     * u = 0 and of |u| = log(1 + sqrt 2) (where log1p switches its reduction) */
    const double p[4] = {2.5, 0.7, 0.8, 6};
    enum { NB = 96 };
    double bx[NB], btx[NB], bT[NB];
    size_t nb = 0;
    const double xs[6] = {0, 1, 2, 5, 30, 120}, Ts[3] = {1, 40, 5000};
    const double fr[4] = {0.001, 0.3, 0.9, 1};
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 3; j++)
            for (int q = 0; q < 4; q++) {
                bx[nb] = xs[i];
                bT[nb] = Ts[j];
                btx[nb++] = xs[i] == 0 ? 0 : fr[q] * Ts[j];
            }
    const double us[8] = {-0.8814, -0.88137358, -1e-9, 0, 1e-9, 0.88137358, 0.8814, 3};
    for (int q = 0; q < 8; q++) { /* x = 1, T = 40: solve u(tx) = us[q] for BG/NBD */
        double ratio = exp((us[q] - log(0.8 / 6)) / 3.5);
        bx[nb] = 1;
        bT[nb] = 40;
        btx[nb++] = (40.7 / ratio) - 0.7;
    }
    for (int m = 0; m <= 1; m++) {
        int fam = m ? CHURN_FAMILY_MBGNBD : CHURN_FAMILY_BGNBD;
        double worst = 0, refsum = 0, abssum = 0;
        for (size_t i = 0; i < nb; i++) {
            double ll = NAN, ref = bg_ref_row(p, bx[i], btx[i], bT[i], m);
            CU_ASSERT_EQUAL_FATAL(churn_btyd_loglik(fam, 4, p, 1, &bx[i], &btx[i], &bT[i], NULL,
                                                    &ll, NULL), CHURN_OK);
            /* relative, or absolute where the terms cancel to |ll| < 1 */
            worst = fmax(worst, fabs(ll - ref) / fmax(1.0, fabs(ref)));
            refsum += ref;
            abssum += fabs(ref);
        }
        CU_ASSERT(worst < 1e-13);
        /* all rows at once, 13 copies in a shuffled order (blocks, runs of one x,
         * the table of log(alpha + v)) */
        enum { COPIES = 13 };
        double X[COPIES * NB], TX[COPIES * NB], TT[COPIES * NB], ll = NAN;
        size_t n = 0;
        for (int c = 0; c < COPIES; c++)
            for (size_t i = 0; i < nb; i++) {
                size_t k = (i * 7 + (size_t)c) % nb;
                X[n] = bx[k];
                TX[n] = btx[k];
                TT[n++] = bT[k];
            }
        CU_ASSERT_EQUAL_FATAL(churn_btyd_loglik(fam, 4, p, n, X, TX, TT, NULL, &ll, NULL),
                              CHURN_OK);
        CU_ASSERT(fabs(ll - COPIES * refsum) <= 1e-13 * COPIES * abssum);
    }
}

/* ---- CDNOW ---------------------------------------------------------------------- */

static void test_cdnow_bgnbd_fit(void)
{
    cdnow c;
    if (load_cdnow(&c, "cdnow_bgnbd_fit"))
        return;
    CU_ASSERT_EQUAL(c.n, 2357);
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_fit(&m, CHURN_FAMILY_BGNBD, c.n, c.x, c.tx, c.T, NULL, NULL),
                          CHURN_OK);
    /* Fader, Hardie & Lee (2005): r 0.2426, alpha 4.4136, a 0.7929, b 2.4259, LL -9582.43
     * (the README's 7-digit values) */
    CT_CLOSE(param(m, "r"), 0.2425945, 1e-4);
    CT_CLOSE(param(m, "alpha"), 4.4136019, 1e-4);
    CT_CLOSE(param(m, "a"), 0.7929199, 1e-3);
    CT_CLOSE(param(m, "b"), 2.4258881, 1e-3);
    CT_NEAR(churn_model_loglik(m), -9582.429, 0.01);
    CU_ASSERT_EQUAL(churn_model_converged(m), 1);
    CU_ASSERT(churn_model_iterations(m) > 0);
    CT_NEAR(churn_model_nobs(m), 2357, 0);
    CU_ASSERT_EQUAL(churn_model_family(m), CHURN_FAMILY_BGNBD);
    CU_ASSERT_EQUAL(churn_model_time_unit(m), 0);
    double se = stderr_of(m, "r");
    CU_ASSERT(se > 0.005 && se < 0.03);
    double cov[16];
    CU_ASSERT_EQUAL(churn_model_covariance(m, cov, 16), CHURN_OK);
    CT_CLOSE(sqrt(cov[0]), se, 1e-12);
    CT_CLOSE(cov[1], cov[4], 1e-12);

    /* weights: the same data collapsed by hand give the same fit */
    double *w = malloc(c.n * sizeof *w);
    size_t k = 0;
    double *x = malloc(c.n * sizeof *x), *tx = malloc(c.n * sizeof *tx),
           *T = malloc(c.n * sizeof *T);
    for (size_t i = 0; i < c.n; i++) {
        size_t j;
        for (j = 0; j < k; j++)
            if (x[j] == c.x[i] && tx[j] == c.tx[i] && T[j] == c.T[i])
                break;
        if (j == k) {
            x[k] = c.x[i];
            tx[k] = c.tx[i];
            T[k] = c.T[i];
            w[k++] = 0;
        }
        w[j] += 1;
    }
    churn_model *mw = NULL;
    CU_ASSERT_EQUAL(churn_btyd_fit(&mw, CHURN_FAMILY_BGNBD, k, x, tx, T, w, NULL), CHURN_OK);
    if (mw) {
        CT_CLOSE(param(mw, "r"), param(m, "r"), 1e-7);
        CT_CLOSE(param(mw, "b"), param(m, "b"), 1e-6);
        CT_NEAR(churn_model_loglik(mw), churn_model_loglik(m), 1e-6);
        CT_NEAR(churn_model_nobs(mw), 2357, 1e-9);
        CT_CLOSE(stderr_of(mw, "alpha"), stderr_of(m, "alpha"), 1e-5);
    }
    printf("\n  CDNOW BG/NBD: r %.7f alpha %.7f a %.7f b %.7f LL %.4f (%d iterations); "
           "%zu distinct rows of 2357\n", param(m, "r"), param(m, "alpha"), param(m, "a"),
           param(m, "b"), churn_model_loglik(m), churn_model_iterations(m), k);
    churn_model_free(mw);
    churn_model_free(m);
    free(w);
    free(x);
    free(tx);
    free(T);
    cdnow_free(&c);
}

static void test_cdnow_mbgnbd_fit(void)
{
    cdnow c;
    if (load_cdnow(&c, "cdnow_mbgnbd_fit"))
        return;
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(
        churn_btyd_fit(&m, CHURN_FAMILY_MBGNBD, c.n, c.x, c.tx, c.T, NULL, NULL), CHURN_OK);
    /* Batislam et al. (2007) model on CDNOW: r 0.525, alpha 6.183, a 0.891, b 1.614 */
    CT_NEAR(param(m, "r"), 0.525, 0.0005);
    CT_NEAR(param(m, "alpha"), 6.183, 0.0005);
    CT_NEAR(param(m, "a"), 0.891, 0.0005);
    CT_NEAR(param(m, "b"), 1.614, 0.0005);
    CU_ASSERT_EQUAL(churn_model_converged(m), 1);
    printf("\n  CDNOW MBG/NBD: r %.5f alpha %.5f a %.5f b %.5f LL %.4f\n", param(m, "r"),
           param(m, "alpha"), param(m, "a"), param(m, "b"), churn_model_loglik(m));
    churn_model_free(m);
    cdnow_free(&c);
}

static churn_model *published_bgnbd(void)
{
    /* README: r 0.2425945, alpha 4.4136019, a 0.7929199, b 2.4258881 */
    double p[4] = {0.2425945, 4.4136019, 0.7929199, 2.4258881};
    churn_model *m = NULL;
    CU_ASSERT_EQUAL(churn_btyd_model_new(&m, CHURN_FAMILY_BGNBD, 4, p), CHURN_OK);
    return m;
}

static void test_bgnbd_published_customers(void)
{
    churn_model *m = published_bgnbd();
    if (!m)
        return;
    double x = 26, tx = 30.857, T = 31, pa = NAN, e = NAN, e2 = NAN, pa2 = NAN;
    CU_ASSERT_EQUAL(churn_btyd_p_alive(m, 1, &x, &tx, &T, &pa), CHURN_OK);
    CU_ASSERT_EQUAL(churn_btyd_expected_purchases(m, 52, 1, &x, &tx, &T, &e), CHURN_OK);
    /* Published: P(alive) 0.96885, 25.7566 purchases in 52 weeks. scipy's
     * hyp2f1 with these very inputs gives 0.9688513 and 25.757273 (we agree
     * to 1e-12); the published 25.7566 is 2.7e-5 away, presumably rounding in
     * its source, so the expectation is checked to 5 significant digits. */
    CT_NEAR(pa, 0.96885, 5e-6);
    CT_NEAR(pa, 0.9688512938856009, 1e-12);
    CT_NEAR(e, 25.7566, 1e-3);
    CT_NEAR(e, 25.757272557109147, 1e-9);
    CU_ASSERT_EQUAL(churn_btyd_score(m, 52, 1, &x, &tx, &T, &pa2, &e2), CHURN_OK);
    CT_CLOSE(pa2, pa, 1e-13);
    CT_CLOSE(e2, e, 1e-11);
    double x2 = 2, tx2 = 30.43, T2 = 38.86;
    CU_ASSERT_EQUAL(churn_btyd_expected_purchases(m, 39, 1, &x2, &tx2, &T2, &e), CHURN_OK);
    CT_NEAR(e, 1.2259, 5e-5);
    churn_model_free(m);
}

/* lifetimes (BetaGeoFitter) P(alive) and 52-week conditional expectation for
 * every CDNOW customer, at the parameters stated in the file's header. */
static void test_lifetimes_predictions(void)
{
    cdnow c;
    if (load_cdnow(&c, "lifetimes_predictions"))
        return;
    double p[4] = {0.2425945434, 4.413602716, 0.7929218333, 2.425905729};
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&m, CHURN_FAMILY_BGNBD, 4, p), CHURN_OK);
    size_t n = c.n, rep = 3, N = n * rep; /* 3 copies: > 4096 rows exercises the score cache */
    double *x = malloc(N * sizeof *x), *tx = malloc(N * sizeof *tx), *T = malloc(N * sizeof *T);
    double *pa = malloc(N * sizeof *pa), *e = malloc(N * sizeof *e);
    double *pa1 = malloc(N * sizeof *pa), *e1 = malloc(N * sizeof *e);
    for (size_t i = 0; i < N; i++) {
        x[i] = c.x[i % n];
        tx[i] = c.tx[i % n];
        T[i] = c.T[i % n];
    }
    CU_ASSERT_EQUAL(churn_btyd_score(m, 52, N, x, tx, T, pa, e), CHURN_OK);
    CU_ASSERT_EQUAL(churn_btyd_p_alive(m, N, x, tx, T, pa1), CHURN_OK);
    CU_ASSERT_EQUAL(churn_btyd_expected_purchases(m, 52, N, x, tx, T, e1), CHURN_OK);
    double worst_pa = 0, worst_e = 0, worst_same = 0;
    for (size_t i = 0; i < N; i++) {
        worst_pa = fmax(worst_pa, fabs(pa[i] - c.p_alive[i % n]) / c.p_alive[i % n]);
        worst_e = fmax(worst_e, fabs(e[i] - c.e52[i % n]) / c.e52[i % n]);
        worst_same = fmax(worst_same, fabs(pa[i] - pa1[i]) + fabs(e[i] - e1[i]) / e1[i]);
    }
    printf("\n  vs lifetimes, %zu customers: max rel. diff P(alive) %.2e, E[52 weeks] %.2e\n", n,
           worst_pa, worst_e);
    CU_ASSERT(worst_pa < 1e-6);
    CU_ASSERT(worst_e < 1e-6);
    CU_ASSERT(worst_same < 1e-11);
    free(x);
    free(tx);
    free(T);
    free(pa);
    free(e);
    free(pa1);
    free(e1);
    churn_model_free(m);
    cdnow_free(&c);
}

/* BTYD package: expected cumulative repeat transactions of the 2,357
 * customers at weeks 20..25 since 1997-01-01 with the published BG/NBD
 * parameters. Customer i was born max(T) - T_i weeks after the start. */
static void test_cdnow_cumulative_repeat(void)
{
    cdnow c;
    if (load_cdnow(&c, "cdnow_cumulative_repeat"))
        return;
    churn_model *m = published_bgnbd();
    static const double ref[6] = {1312.458, 1387.346, 1460.392, 1531.713, 1601.418, 1669.6};
    double maxT = 0;
    for (size_t i = 0; i < c.n; i++)
        maxT = fmax(maxT, c.T[i]);
    double *age = malloc(c.n * sizeof *age), *e = malloc(c.n * sizeof *e);
    for (int w = 20; w <= 25; w++) {
        size_t k = 0;
        for (size_t i = 0; i < c.n; i++) {
            double a = w - (maxT - c.T[i]);
            if (a > 0)
                age[k++] = a;
        }
        CU_ASSERT_EQUAL(churn_btyd_expected_purchases_new(m, k, age, e), CHURN_OK);
        double s = 0;
        for (size_t i = 0; i < k; i++)
            s += e[i];
        CT_NEAR(s, ref[w - 20], 0.002);
    }
    free(age);
    free(e);
    churn_model_free(m);
    cdnow_free(&c);
}

/* ---- BG/BB on the donations table ---------------------------------------------- */

static void test_donations_bgbb(void)
{
    const char *path = churn_test_data_path("donations/donations.csv");
    if (!path) {
        churn_test_skip("donations_bgbb", "../shared/data/donations/donations.csv is absent");
        return;
    }
    table t;
    CU_ASSERT_EQUAL_FATAL(read_csv(path, 4, &t), 0);
    t.ncols = 4;
    double *x = column(&t, 0), *tx = column(&t, 1), *n = column(&t, 2), *w = column(&t, 3);
    double total = 0;
    for (size_t i = 0; i < t.n; i++)
        total += w[i];
    CT_NEAR(total, 11104, 0);
    churn_model *m = NULL;
    CU_ASSERT_EQUAL(churn_btyd_fit(&m, CHURN_FAMILY_BGBB, t.n, x, tx, n, w, NULL), CHURN_OK);
    if (m) {
        /* Fader, Hardie & Shang (2010): 1.2035, 0.7497, 0.6568, 2.7838, LL -33225.58 */
        CT_NEAR(param(m, "alpha"), 1.2035, 0.0005);
        CT_NEAR(param(m, "beta"), 0.7497, 0.0005);
        CT_NEAR(param(m, "gamma"), 0.6568, 0.0005);
        CT_NEAR(param(m, "delta"), 2.7838, 0.0005);
        CT_NEAR(churn_model_loglik(m), -33225.58, 0.01);
        CT_NEAR(churn_model_nobs(m), 11104, 1e-9);
        CU_ASSERT(stderr_of(m, "delta") > 0);
        printf("\n  donations BG/BB: %.5f %.5f %.5f %.5f LL %.3f\n", param(m, "alpha"),
               param(m, "beta"), param(m, "gamma"), param(m, "delta"), churn_model_loglik(m));

        /* P(alive) of (x 3, t_x 4, n 6), written out here from the FHS 2010 likelihood */
        double al = param(m, "alpha"), be = param(m, "beta"), ga = param(m, "gamma"),
               de = param(m, "delta");
#define LB(p, q) (lgamma(p) + lgamma(q) - lgamma((p) + (q)))
        double xx = 3, tt = 4, nn = 6;
        double alive = exp(LB(al + xx, be + nn - xx) - LB(al, be) + LB(ga, de + nn) - LB(ga, de));
        double L = alive;
        for (int i = 0; i <= nn - tt - 1; i++)
            L += exp(LB(al + xx, be + tt - xx + i) - LB(al, be) + LB(ga + 1, de + tt + i) -
                     LB(ga, de));
        double pa = NAN, e = NAN;
        CU_ASSERT_EQUAL(churn_btyd_p_alive(m, 1, &xx, &tt, &nn, &pa), CHURN_OK);
        CT_CLOSE(pa, alive / L, 1e-10);
        /* E[transactions in the next 5 opportunities]: FHS 2010's formula written out */
        double ns = 5, sum = 0;
        for (int i = 1; i <= ns; i++)
            sum += exp(LB(ga, de + nn + i) - LB(ga, de));
        double ref = exp(LB(al + xx + 1, be + nn - xx) - LB(al, be)) * sum / L;
#undef LB
        CU_ASSERT_EQUAL(churn_btyd_expected_purchases(m, ns, 1, &xx, &tt, &nn, &e), CHURN_OK);
        CT_CLOSE(e, ref, 1e-10);
    }
    churn_model_free(m);
    free(x);
    free(tx);
    free(n);
    free(w);
    table_free(&t);
}

/* ---- sBG (Fader & Hardie 2007) -------------------------------------------------- */

/* sbg_paper.csv: recency = the year the customer churned (1..7) or 8 = still
 * active after 7 years; cohort "highend" or "regular". */
static int load_sbg(const char *cohort, double **periods, int **churned, size_t *n)
{
    const char *path = churn_test_data_path("sbg/sbg_paper.csv");
    if (!path)
        return -1;
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[256], name[64];
    *periods = malloc(4000 * sizeof **periods);
    *churned = malloc(4000 * sizeof **churned);
    *n = 0;
    while (fgets(line, sizeof line, f)) {
        double id, rec, T;
        if (sscanf(line, "%lf,%lf,%lf,%63[^,\r\n]", &id, &rec, &T, name) != 4)
            continue;
        if (strcmp(name, cohort) != 0 || *n >= 4000)
            continue;
        (*churned)[*n] = rec < T;
        (*periods)[*n] = rec < T ? rec : T - 1;
        (*n)++;
    }
    fclose(f);
    return 0;
}

static void test_sbg_paper(void)
{
    static const struct {
        const char *cohort;
        double alpha, beta, ll;
    } ref[2] = {{"highend", 0.668, 3.806, -1611.158}, {"regular", 0.704, 1.182, -1680.265}};
    for (int c = 0; c < 2; c++) {
        double *periods;
        int *churned;
        size_t n;
        if (load_sbg(ref[c].cohort, &periods, &churned, &n) != 0) {
            churn_test_skip("sbg_paper", "../shared/data/sbg/sbg_paper.csv is absent");
            return;
        }
        CU_ASSERT_EQUAL(n, 1000);
        churn_model *m = NULL;
        CU_ASSERT_EQUAL(churn_sbg_fit(&m, n, periods, churned, NULL, NULL), CHURN_OK);
        if (m) {
            CT_NEAR(param(m, "alpha"), ref[c].alpha, 0.0005);
            CT_NEAR(param(m, "beta"), ref[c].beta, 0.0005);
            CT_NEAR(churn_model_loglik(m), ref[c].ll, 0.001);
            CU_ASSERT_EQUAL(churn_model_family(m), CHURN_FAMILY_SBG);
            CU_ASSERT(stderr_of(m, "alpha") > 0);
            printf("\n  sBG %s: alpha %.5f (%.5f) beta %.5f (%.5f) LL %.4f\n", ref[c].cohort,
                   param(m, "alpha"), stderr_of(m, "alpha"), param(m, "beta"),
                   stderr_of(m, "beta"), churn_model_loglik(m));
        }
        /* the same data as a survivor curve */
        double surv[8] = {0};
        for (size_t i = 0; i < n; i++)
            for (int t = 0; t < 8; t++)
                if (!churned[i] || periods[i] > t)
                    surv[t] += 1;
        churn_model *ms = NULL;
        CU_ASSERT_EQUAL(churn_sbg_fit_survivors(&ms, 8, surv, NULL), CHURN_OK);
        if (m && ms) {
            CT_CLOSE(param(ms, "alpha"), param(m, "alpha"), 1e-8);
            CT_CLOSE(param(ms, "beta"), param(m, "beta"), 1e-8);
            CT_NEAR(churn_model_loglik(ms), churn_model_loglik(m), 1e-8);
        }
        churn_model_free(m);
        churn_model_free(ms);
        free(periods);
        free(churned);
    }
}

static double lbeta_(double a, double b) { return lgamma(a) + lgamma(b) - lgamma(a + b); }

static void test_sbg_curve_derl(void)
{
    double p[2] = {0.668, 3.806};
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&m, CHURN_FAMILY_SBG, 2, p), CHURN_OK);
    double ret[12], surv[12];
    CU_ASSERT_EQUAL(churn_sbg_curve(m, 12, ret, surv), CHURN_OK);
    for (int t = 1; t <= 12; t++) {
        /* S(t) = B(alpha, beta + t) / B(alpha, beta) (F&H 2007) */
        double S = exp(lbeta_(p[0], p[1] + t) - lbeta_(p[0], p[1]));
        double Sm = exp(lbeta_(p[0], p[1] + t - 1) - lbeta_(p[0], p[1]));
        CT_CLOSE(surv[t - 1], S, 1e-12);
        CT_CLOSE(ret[t - 1], S / Sm, 1e-12);
    }
    /* DERL: sum over future renewals of S(n+k)/S(n-1) / (1+d)^k, n - 1 = renewals so far */
    double periods[4] = {0, 1, 4, 10}, derl[4];
    for (int di = 0; di < 3; di++) {
        double d = di == 0 ? 0.1 : di == 1 ? 0.01 : 0.5;
        CU_ASSERT_EQUAL(churn_sbg_derl(m, d, 4, periods, derl), CHURN_OK);
        for (int i = 0; i < 4; i++) {
            double nn = periods[i] + 1, s = 0;
            for (int k = 0; k < 200000; k++) {
                double term = exp(lbeta_(p[0], p[1] + nn + k) - lbeta_(p[0], p[1] + nn - 1) -
                                  k * log1p(d));
                s += term;
                if (term < 1e-17 * s)
                    break;
            }
            CT_CLOSE(derl[i], s, 1e-9);
        }
    }
    /* no discount: the expected residual lifetime (beta + n - 1)/(alpha - 1) needs alpha > 1 */
    CU_ASSERT_EQUAL(churn_sbg_derl(m, 0, 4, periods, derl), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "alpha") != NULL);
    churn_model_free(m);
    double p2[2] = {2.5, 3};
    CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&m, CHURN_FAMILY_SBG, 2, p2), CHURN_OK);
    CU_ASSERT_EQUAL(churn_sbg_derl(m, 0, 4, periods, derl), CHURN_OK);
    for (int i = 0; i < 4; i++)
        CT_CLOSE(derl[i], (p2[1] + periods[i]) / (p2[0] - 1), 1e-12);
    /* and the discounted value approaches it as d -> 0 */
    double dsmall;
    CU_ASSERT_EQUAL(churn_sbg_derl(m, 1e-6, 1, periods, &dsmall), CHURN_OK);
    CT_CLOSE(dsmall, derl[0], 1e-4);
    /* series (d >= 1e-3) and integral (d < 1e-3) meet continuously */
    double dlo, dhi;
    CU_ASSERT_EQUAL(churn_sbg_derl(m, 0.999999e-3, 1, periods + 2, &dlo), CHURN_OK);
    CU_ASSERT_EQUAL(churn_sbg_derl(m, 1.000001e-3, 1, periods + 2, &dhi), CHURN_OK);
    CU_ASSERT(dlo > dhi);
    CT_CLOSE(dlo, dhi, 1e-5);
    churn_model_free(m);
}

/* ---- closed-form consistency: pmf sums to 1, its mean is the expectation ---------- */

static void check_pmf(churn_model *m, double t, int kmax, const char *what)
{
    double ek = NAN, s = 0, mean = 0;
    for (int k = 0; k <= kmax; k++) {
        double pk = NAN, kk = k;
        CU_ASSERT_EQUAL(churn_btyd_prob_purchases(m, kk, 1, &t, &pk), CHURN_OK);
        CU_ASSERT(pk >= 0 && pk <= 1);
        s += pk;
        mean += k * pk;
    }
    CU_ASSERT_EQUAL(churn_btyd_expected_purchases_new(m, 1, &t, &ek), CHURN_OK);
    if (!churn_test_close(s, 1, 1e-9, what, __FILE__, __LINE__) ||
        !churn_test_close(mean, ek, 1e-8, what, __FILE__, __LINE__))
        CU_FAIL("pmf inconsistent with E[X(t)]");
}

static void check_cond_pmf(churn_model *m, double t, int kmax, double x, double tx, double T)
{
    double s = 0, mean = 0, e = NAN;
    for (int k = 0; k <= kmax; k++) {
        double pk = NAN;
        CU_ASSERT_EQUAL(churn_btyd_prob_purchases_cond(m, k, t, 1, &x, &tx, &T, &pk), CHURN_OK);
        s += pk;
        mean += k * pk;
    }
    CU_ASSERT_EQUAL(churn_btyd_expected_purchases(m, t, 1, &x, &tx, &T, &e), CHURN_OK);
    CT_CLOSE(s, 1, 1e-9);
    CT_CLOSE(mean, e, 1e-8);
}

static void test_pmf_consistency(void)
{
    static const double sets[][4] = {
        {0.2425945, 4.4136019, 0.7929199, 2.4258881}, /* CDNOW */
        {0.5, 2.0, 1.0, 3.0},                          /* a = 1: removable singularity */
        {1.3, 8.0, 0.3, 0.5},                          /* a + b < 1 */
        {2.0, 1.0, 3.5, 10.0},
    };
    for (int fam = CHURN_FAMILY_BGNBD; fam <= CHURN_FAMILY_MBGNBD; fam++)
        for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
            churn_model *m = NULL;
            CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&m, fam, 4, sets[s]), CHURN_OK);
            check_pmf(m, 52, 1500, fam == CHURN_FAMILY_BGNBD ? "bgnbd" : "mbgnbd");
            check_pmf(m, 0.5, 200, "short horizon");
            check_cond_pmf(m, 52, 1500, 26, 30.857, 31);
            check_cond_pmf(m, 10, 600, 0, 0, 20);
            churn_model_free(m);
        }
    /* very long horizons: E[X(t)] -> E[1/p] = (a+b-1)/(a-1) for a > 1, and the
     * series (alpha/(alpha+t) >= 1e-3) and the integral beyond meet continuously */
    for (int fam = CHURN_FAMILY_BGNBD; fam <= CHURN_FAMILY_MBGNBD; fam++) {
        double p[4] = {2.0, 1.0, 3.5, 10.0}, t[3] = {1e12, 998.999, 999.001}, e[3];
        churn_model *m = NULL;
        CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&m, fam, 4, p), CHURN_OK);
        CU_ASSERT_EQUAL(churn_btyd_expected_purchases_new(m, 3, t, e), CHURN_OK);
        /* MBG/NBD: b/(a+b) of the BG/NBD value with b+1 */
        double lim = fam == CHURN_FAMILY_BGNBD ? (3.5 + 10 - 1) / 2.5 : 10 / 13.5 * 13.5 / 2.5;
        CT_CLOSE(e[0], lim, 1e-8);
        CU_ASSERT(e[1] < e[2]);
        CT_CLOSE(e[1], e[2], 1e-5);
        churn_model_free(m);
    }
    static const double bb[][4] = {
        {1.2035, 0.7497, 0.6568, 2.7838}, /* donations */
        {1.2035, 0.7497, 1.0000001, 2.7838},
        {0.5, 2.0, 3.0, 1.5},
    };
    for (size_t s = 0; s < sizeof bb / sizeof bb[0]; s++) {
        churn_model *m = NULL;
        CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&m, CHURN_FAMILY_BGBB, 4, bb[s]), CHURN_OK);
        check_pmf(m, 6, 6, "bgbb n 6");
        check_pmf(m, 350, 350, "bgbb n 350 (closed form)"); /* > 200: closed-form E[X(n)] */
        check_cond_pmf(m, 10, 10, 3, 4, 6);
        check_cond_pmf(m, 5, 5, 0, 0, 6);
        double k7 = 7, t6 = 6, pk = -1;
        CU_ASSERT_EQUAL(churn_btyd_prob_purchases(m, k7, 1, &t6, &pk), CHURN_OK);
        CU_ASSERT_EQUAL(pk, 0);
        churn_model_free(m);
    }
}

/* ---- analytic gradients against finite differences -------------------------------- */

static void check_gradient(int family, const double *p, size_t n, const double *x,
                           const double *tx, const double *T, const double *w)
{
    double ll, g[4];
    CU_ASSERT_EQUAL_FATAL(churn_btyd_loglik(family, 4, p, n, x, tx, T, w, &ll, g), CHURN_OK);
    for (int j = 0; j < 4; j++) {
        double q[4], lp, lm, h = 1e-6 * p[j];
        memcpy(q, p, sizeof q);
        q[j] = p[j] + h;
        churn_btyd_loglik(family, 4, q, n, x, tx, T, w, &lp, NULL);
        q[j] = p[j] - h;
        churn_btyd_loglik(family, 4, q, n, x, tx, T, w, &lm, NULL);
        double fd = (lp - lm) / (2 * h);
        if (!churn_test_close(g[j], fd, 1e-6, churn_family_name(family), __FILE__, __LINE__))
            CU_FAIL("analytic gradient disagrees with finite differences");
    }
}

static void test_gradients(void)
{
    double x[7] = {0, 1, 2, 2, 7, 150, 3}, tx[7] = {0, 3.5, 10, 30, 20, 38, 0.5},
           T[7] = {40, 30, 35, 35, 39, 40, 39}, w[7] = {5, 1, 2, 1, 1, 1, 3};
    double p1[4] = {0.25, 4, 0.8, 2.5}, p2[4] = {1.5, 20, 2.2, 0.7};
    check_gradient(CHURN_FAMILY_BGNBD, p1, 7, x, tx, T, w);
    check_gradient(CHURN_FAMILY_BGNBD, p2, 7, x, tx, T, NULL);
    check_gradient(CHURN_FAMILY_MBGNBD, p1, 7, x, tx, T, w);
    check_gradient(CHURN_FAMILY_MBGNBD, p2, 7, x, tx, T, NULL);
    double bx[6] = {0, 1, 3, 6, 2, 5}, btx[6] = {0, 1, 4, 6, 6, 9}, bn[6] = {6, 6, 6, 6, 8, 12},
           bw[6] = {100, 20, 7, 3, 1, 2};
    double q1[4] = {1.2, 0.75, 0.66, 2.8}, q2[4] = {3, 0.3, 2, 0.5};
    check_gradient(CHURN_FAMILY_BGBB, q1, 6, bx, btx, bn, bw);
    check_gradient(CHURN_FAMILY_BGBB, q2, 6, bx, btx, bn, NULL);
    /* sBG */
    double per[5] = {1, 2, 7, 7, 3}, sw[5] = {131, 126, 491, 1, 90}, s[2] = {0.668, 3.806}, ll,
           g[2];
    int ch[5] = {1, 1, 0, 1, 1};
    CU_ASSERT_EQUAL_FATAL(churn_sbg_loglik(2, s, 5, per, ch, sw, &ll, g), CHURN_OK);
    for (int j = 0; j < 2; j++) {
        double q[2] = {s[0], s[1]}, lp, lm, h = 1e-6 * s[j];
        q[j] = s[j] + h;
        churn_sbg_loglik(2, q, 5, per, ch, sw, &lp, NULL);
        q[j] = s[j] - h;
        churn_sbg_loglik(2, q, 5, per, ch, sw, &lm, NULL);
        CT_CLOSE(g[j], (lp - lm) / (2 * h), 1e-6);
    }
}

/* ---- issue 23: Gamma-Gompertz/NBD and MBG/CNBD-k ---------------------------------------- */

/* GG/NBD: gradient against central differences (the quadrature carries the
 * derivatives); b -> 0 with beta/b fixed is the Pareto/NBD. MBG/CNBD-k: the
 * gradient likewise at k = 1, 3; k = 1 is the MBG/NBD likelihood and scores;
 * k must be whole; litt is checked. (Independent references: the Python tests
 * test_ggomnbd.py and test_mbgcnbd.py integrate the models' definitions.) */
static void test_new_families(void)
{
    double x[6] = {0, 1, 4, 12, 2, 30}, tx[6] = {0, 3.5, 20, 37.9, 10, 50.5},
           T[6] = {38, 38, 30, 38.5, 52, 51}, w[6] = {3, 1, 2, 1, 1, 1};
    double gp[5] = {0.55, 10.5, 0.05, 0.6, 0.4}, ll, g[5];
    CU_ASSERT_EQUAL_FATAL(churn_btyd_loglik(CHURN_FAMILY_GGOMNBD, 5, gp, 6, x, tx, T, w, &ll, g),
                          CHURN_OK);
    for (int j = 0; j < 5; j++) {
        double q[5], lp, lm, h = 1e-6 * gp[j];
        memcpy(q, gp, sizeof q);
        q[j] = gp[j] + h;
        churn_btyd_loglik(CHURN_FAMILY_GGOMNBD, 5, q, 6, x, tx, T, w, &lp, NULL);
        q[j] = gp[j] - h;
        churn_btyd_loglik(CHURN_FAMILY_GGOMNBD, 5, q, 6, x, tx, T, w, &lm, NULL);
        CT_CLOSE(g[j], (lp - lm) / (2 * h), 1e-6);
    }
    double b = 1e-8, gl[5] = {0.5534, 10.5802, b, 0.6061, 11.6562 * b},
           pl[4] = {0.5534, 10.5802, 0.6061, 11.6562}, l1, l2;
    CU_ASSERT_EQUAL(churn_btyd_loglik(CHURN_FAMILY_GGOMNBD, 5, gl, 6, x, tx, T, NULL, &l1, NULL),
                    CHURN_OK);
    CU_ASSERT_EQUAL(churn_btyd_loglik(CHURN_FAMILY_PNBD, 4, pl, 6, x, tx, T, NULL, &l2, NULL),
                    CHURN_OK);
    CT_CLOSE(l1, l2, 1e-6);

    double lt[6] = {0, 1.2527629685, 6.43775, 15.2, 1.8, 40.1};
    double mp[5] = {3, 1.5, 8.0, 0.7, 2.5}, mg[5];
    for (int k = 1; k <= 3; k += 2) {
        mp[0] = k;
        CU_ASSERT_EQUAL_FATAL(churn_mbgcnbd_loglik(5, mp, 6, x, tx, T, lt, w, &ll, mg), CHURN_OK);
        for (int j = 1; j < 5; j++) {
            double q[5], lp, lm, h = 1e-6 * mp[j];
            memcpy(q, mp, sizeof q);
            q[j] = mp[j] + h;
            churn_mbgcnbd_loglik(5, q, 6, x, tx, T, lt, w, &lp, NULL);
            q[j] = mp[j] - h;
            churn_mbgcnbd_loglik(5, q, 6, x, tx, T, lt, w, &lm, NULL);
            CT_CLOSE(mg[j], (lp - lm) / (2 * h), 1e-6);
        }
    }
    mp[0] = 1;
    CU_ASSERT_EQUAL(churn_mbgcnbd_loglik(5, mp, 6, x, tx, T, NULL, w, &l1, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(churn_btyd_loglik(CHURN_FAMILY_MBGNBD, 4, mp + 1, 6, x, tx, T, w, &l2, NULL),
                    CHURN_OK);
    CT_CLOSE(l1, l2, 1e-13);
    churn_model *mk = NULL, *mb = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&mk, CHURN_FAMILY_MBGCNBD, 5, mp), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&mb, CHURN_FAMILY_MBGNBD, 4, mp + 1), CHURN_OK);
    double pa1[6], pa2[6], e1[6], e2[6];
    CU_ASSERT_EQUAL(churn_btyd_score(mk, 26, 6, x, tx, T, pa1, e1), CHURN_OK);
    CU_ASSERT_EQUAL(churn_btyd_score(mb, 26, 6, x, tx, T, pa2, e2), CHURN_OK);
    for (int i = 0; i < 6; i++) {
        CT_CLOSE(pa1[i], pa2[i], 1e-12);
        CT_CLOSE(e1[i], e2[i], 1e-10);
    }
    churn_model_free(mk);
    churn_model_free(mb);
    /* errors name the fault */
    mp[0] = 2.5;
    CU_ASSERT_EQUAL(churn_mbgcnbd_loglik(5, mp, 6, x, tx, T, lt, NULL, &ll, NULL), CHURN_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(churn_last_error_message(), "'k'"));
    mp[0] = 2;
    CU_ASSERT_EQUAL(churn_mbgcnbd_loglik(5, mp, 6, x, tx, T, NULL, NULL, &ll, NULL), CHURN_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(churn_last_error_message(), "litt"));
    double badlt[6] = {0.3, 0, 0, 0, 0, 0};
    CU_ASSERT_EQUAL(churn_mbgcnbd_loglik(5, mp, 6, x, tx, T, badlt, NULL, &ll, NULL),
                    CHURN_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(churn_last_error_message(), "row 0"));
    churn_model *m = (churn_model *)1;
    CU_ASSERT_EQUAL(churn_mbgcnbd_fit(&m, 13, 6, x, tx, T, lt, NULL, NULL), CHURN_EINVAL);
    CU_ASSERT_PTR_NULL(m);
    CU_ASSERT_EQUAL(churn_btyd_fit(&m, CHURN_FAMILY_MBGCNBD, 6, x, tx, T, NULL, NULL),
                    CHURN_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(churn_last_error_message(), "churn_mbgcnbd_fit"));
}

/* ---- model files ---------------------------------------------------------------------- */

static void test_save_load_roundtrip(void)
{
    cdnow c;
    if (load_cdnow(&c, "save_load_roundtrip"))
        return;
    churn_model *m = NULL, *back = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_fit(&m, CHURN_FAMILY_BGNBD, c.n, c.x, c.tx, c.T, NULL, NULL),
                          CHURN_OK);
    char path[1024];
    snprintf(path, sizeof path, "%s/test_btyd_model.json", churn_test_tmp_dir());
    CU_ASSERT_EQUAL_FATAL(churn_model_save(m, path), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_model_load(&back, path), CHURN_OK);
    size_t n = c.n;
    double *a = malloc(4 * n * sizeof *a), *b = a + n, *a2 = a + 2 * n, *b2 = a + 3 * n;
    CU_ASSERT_EQUAL(churn_btyd_score(m, 52, n, c.x, c.tx, c.T, a, b), CHURN_OK);
    CU_ASSERT_EQUAL(churn_btyd_score(back, 52, n, c.x, c.tx, c.T, a2, b2), CHURN_OK);
    CU_ASSERT(memcmp(a, a2, 2 * n * sizeof *a) == 0);
    CU_ASSERT_EQUAL(churn_model_family(back), CHURN_FAMILY_BGNBD);
    CU_ASSERT_EQUAL(churn_model_converged(back), 1);
    CU_ASSERT_EQUAL(churn_model_iterations(back), churn_model_iterations(m));
    CU_ASSERT_EQUAL(churn_model_loglik(back), churn_model_loglik(m));
    CU_ASSERT_EQUAL(stderr_of(back, "b"), stderr_of(m, "b"));
    CU_ASSERT_STRING_EQUAL(churn_model_param_name(back, 1), "alpha");
    double t[3] = {1, 10, 100}, e1[3], e2[3];
    CU_ASSERT_EQUAL(churn_btyd_expected_purchases_new(m, 3, t, e1), CHURN_OK);
    CU_ASSERT_EQUAL(churn_btyd_expected_purchases_new(back, 3, t, e2), CHURN_OK);
    CU_ASSERT(memcmp(e1, e2, sizeof e1) == 0);
    churn_model_free(back);
    churn_model_free(m);
    remove(path);

    /* sBG */
    double surv[8] = {1000, 869, 743, 653, 593, 551, 517, 491};
    CU_ASSERT_EQUAL_FATAL(churn_sbg_fit_survivors(&m, 8, surv, NULL), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_model_save(m, path), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_model_load(&back, path), CHURN_OK);
    double per[3] = {0, 3, 9}, d1[3], d2[3];
    CU_ASSERT_EQUAL(churn_sbg_derl(m, 0.1, 3, per, d1), CHURN_OK);
    CU_ASSERT_EQUAL(churn_sbg_derl(back, 0.1, 3, per, d2), CHURN_OK);
    CU_ASSERT(memcmp(d1, d2, sizeof d1) == 0);
    /* published high-end fit from the survivor counts of F&H 2007, table 1 */
    CT_NEAR(param(m, "alpha"), 0.668, 0.0005);
    CT_NEAR(param(m, "beta"), 3.806, 0.0005);
    churn_model_free(back);
    churn_model_free(m);
    remove(path);
    free(a);
    cdnow_free(&c);
}

/* ---- parameter recovery on simulated customers ------------------------------------ */

typedef struct sim_case {
    int family;
    double truth[4];
    const char *names[4];
} sim_case;

static const sim_case sim_cases[] = {
    {CHURN_FAMILY_BGNBD, {0.25, 4.0, 0.8, 2.5}, {"r", "alpha", "a", "b"}},
    {CHURN_FAMILY_MBGNBD, {0.5, 6.0, 0.9, 1.6}, {"r", "alpha", "a", "b"}},
    {CHURN_FAMILY_BGBB, {1.2, 0.75, 0.66, 2.8}, {"alpha", "beta", "gamma", "delta"}},
    {CHURN_FAMILY_SBG, {0.7, 1.2, 0, 0}, {"alpha", "beta", NULL, NULL}},
};

/* Simulate n customers from the case's model with `seed` and fit it.
 * Returns the fit status; the model in *out. */
static int simulate_and_fit(const sim_case *sc, size_t n, uint64_t seed, churn_model **out)
{
    rng g;
    rng_seed(&g, seed);
    double *x = malloc(3 * n * sizeof *x), *tx = x + n, *T = x + 2 * n;
    int *ch = malloc(n * sizeof *ch);
    int rc;
    if (sc->family == CHURN_FAMILY_SBG) {
        sim_sbg(&g, sc->truth, n, x, ch);
        rc = churn_sbg_fit(out, n, x, ch, NULL, NULL);
    } else {
        if (sc->family == CHURN_FAMILY_BGBB)
            sim_bgbb(&g, sc->truth, n, x, tx, T);
        else
            sim_bg(&g, sc->family == CHURN_FAMILY_MBGNBD, sc->truth, n, x, tx, T);
        rc = churn_btyd_fit(out, sc->family, n, x, tx, T, NULL, NULL);
    }
    free(x);
    free(ch);
    return rc;
}

/* 100,000 customers: every estimate within 3 reported standard errors of the truth. */
static void test_recovery_100k(void)
{
    for (size_t c = 0; c < sizeof sim_cases / sizeof sim_cases[0]; c++) {
        const sim_case *sc = &sim_cases[c];
        churn_model *m = NULL;
        CU_ASSERT_EQUAL(simulate_and_fit(sc, 100000, 1000 + c, &m), CHURN_OK);
        if (!m)
            continue;
        size_t k = churn_model_num_params(m);
        double est[4], se[4];
        churn_model_params(m, est, 4);
        churn_model_std_errors(m, se, 4);
        printf("\n  %s, 100k simulated:", churn_family_name(sc->family));
        for (size_t j = 0; j < k; j++) {
            double z = (est[j] - sc->truth[j]) / se[j];
            printf(" %s %.4f (se %.4f, truth %.3g, z %+.2f)", churn_model_param_name(m, j),
                   est[j], se[j], sc->truth[j], z);
            CU_ASSERT(se[j] > 0 && fabs(z) < 3);
        }
        churn_model_free(m);
    }
}

/* Seeds x 10,000 customers: each parameter's spread around the truth (RMS of
 * estimate - truth over the seeds) against the mean reported standard error,
 * within 25%. The issue asks for 20 seeds; with 20 the spread itself carries
 * ~16% sampling error and, for MBG/NBD, heavy tails (at 10,000 customers its
 * b is only known to ~25%, and one seed in twenty lands 4-5 SE out), so the
 * 25% check would pass or fail with the seed set. With 100 seeds (~7%
 * sampling error) the 25% band is a real test. The first 20 seeds' ratios are
 * printed too. ~5 s in all. */
static void test_se_calibration(void)
{
    enum { SEEDS = 100, FIRST = 20, N = 10000 };
    for (size_t c = 0; c < sizeof sim_cases / sizeof sim_cases[0]; c++) {
        const sim_case *sc = &sim_cases[c];
        size_t k = sc->family == CHURN_FAMILY_SBG ? 2 : 4;
        double sumse[4] = {0}, sumd2[4] = {0}, r20[4] = {0};
        int ok = 0;
        for (int s = 0; s < SEEDS; s++) {
            churn_model *m = NULL;
            int rc = simulate_and_fit(sc, N, 50000 + 1000 * c + s, &m);
            CU_ASSERT_EQUAL(rc, CHURN_OK);
            if (rc == CHURN_OK) {
                double est[4], se[4];
                churn_model_params(m, est, 4);
                churn_model_std_errors(m, se, 4);
                for (size_t j = 0; j < k; j++) {
                    double d = est[j] - sc->truth[j];
                    sumd2[j] += d * d;
                    sumse[j] += se[j];
                }
                ok++;
            }
            churn_model_free(m);
            if (s + 1 == FIRST)
                for (size_t j = 0; j < k; j++)
                    r20[j] = sqrt(sumd2[j] / FIRST) / (sumse[j] / FIRST);
        }
        if (ok < SEEDS)
            continue;
        printf("\n  %s, %d seeds x %d: spread / mean SE:", churn_family_name(sc->family), SEEDS, N);
        for (size_t j = 0; j < k; j++) {
            double ratio = sqrt(sumd2[j] / SEEDS) / (sumse[j] / SEEDS);
            printf(" %s %.3f", sc->names[j], ratio);
            CU_ASSERT(ratio > 0.75 && ratio < 1.25);
        }
        printf(" (first %d seeds:", FIRST);
        for (size_t j = 0; j < k; j++)
            printf(" %.3f", r20[j]);
        printf(")");
    }
}

/* ---- edge cases: finite answers or a clear error, never NaN ------------------------- */

static int all_finite(const churn_model *m)
{
    double p[4];
    size_t k = churn_model_num_params(m);
    churn_model_params(m, p, 4);
    for (size_t j = 0; j < k; j++)
        if (!isfinite(p[j]) || !(p[j] > 0))
            return 0;
    return 1;
}

static void test_edge_cases(void)
{
    enum { N = 500 };
    double x[N], tx[N], T[N];
    /* one-time buyers only: a and b are not identified */
    for (int i = 0; i < N; i++) {
        x[i] = 0;
        tx[i] = 0;
        T[i] = 10 + i % 30;
    }
    churn_model *m = NULL;
    int rc = churn_btyd_fit(&m, CHURN_FAMILY_BGNBD, N, x, tx, T, NULL, NULL);
    CU_ASSERT_EQUAL(rc, CHURN_ENOCONV);
    CU_ASSERT(strstr(churn_last_error_message(), "runs off") != NULL);
    CU_ASSERT_PTR_NOT_NULL(m);
    if (m) {
        CU_ASSERT(all_finite(m));
        CU_ASSERT_EQUAL(churn_model_converged(m), 0);
        CU_ASSERT(isfinite(churn_model_loglik(m)));
    }
    churn_model_free(m);
    /* with a penalty the fit is defined */
    churn_btyd_options o = CHURN_BTYD_OPTIONS_INIT;
    o.l2_penalty = 0.01;
    m = NULL;
    CU_ASSERT_EQUAL(churn_btyd_fit(&m, CHURN_FAMILY_BGNBD, N, x, tx, T, NULL, &o), CHURN_OK);
    if (m) {
        CU_ASSERT(all_finite(m));
        CU_ASSERT(isnan(stderr_of(m, "r"))); /* penalised: no standard errors */
        double pa[N], e[N];
        CU_ASSERT_EQUAL(churn_btyd_score(m, 52, N, x, tx, T, pa, e), CHURN_OK);
        for (int i = 0; i < N; i++)
            CU_ASSERT(pa[i] == 1 && isfinite(e[i]) && e[i] >= 0);
    }
    churn_model_free(m);

    /* everyone active: every last purchase at the end of the window */
    for (int i = 0; i < N; i++) {
        x[i] = 1 + i % 5;
        T[i] = 20 + i % 10;
        tx[i] = T[i];
    }
    for (int fam = CHURN_FAMILY_BGNBD; fam <= CHURN_FAMILY_MBGNBD; fam++) {
        m = NULL;
        rc = churn_btyd_fit(&m, fam, N, x, tx, T, NULL, NULL);
        CU_ASSERT(rc == CHURN_OK || rc == CHURN_ENOCONV);
        CU_ASSERT_PTR_NOT_NULL(m);
        if (m) {
            CU_ASSERT(all_finite(m));
            double pa[N], e[N];
            CU_ASSERT_EQUAL(churn_btyd_score(m, 52, N, x, tx, T, pa, e), CHURN_OK);
            for (int i = 0; i < N; i++)
                CU_ASSERT(isfinite(pa[i]) && isfinite(e[i]));
        }
        churn_model_free(m);
    }

    /* extreme rows with the CDNOW model: x in the thousands, very long T, T = 0 */
    m = published_bgnbd();
    double ex[6] = {5000, 5000, 3, 0, 12000, 40}, etx[6] = {40, 0.5, 1e6 - 1, 0, 1e5, 1},
           eT[6] = {40, 40, 1e6, 0, 1e5, 1e7};
    double pa[6], e[6], e1[6];
    for (int fam = CHURN_FAMILY_BGNBD; fam <= CHURN_FAMILY_MBGNBD; fam++) {
        CU_ASSERT_EQUAL(churn_btyd_score(m, 52, 6, ex, etx, eT, pa, e), CHURN_OK);
        CU_ASSERT_EQUAL(churn_btyd_expected_purchases(m, 52, 6, ex, etx, eT, e1), CHURN_OK);
        for (int i = 0; i < 6; i++) {
            CU_ASSERT(isfinite(pa[i]) && pa[i] >= 0 && pa[i] <= 1);
            CU_ASSERT(isfinite(e[i]) && e[i] >= 0);
            CT_CLOSE(e[i], e1[i], 1e-10);
        }
        /* a heavy buyer who bought at the very end: alive, and buying less
         * than the (r + x)/(alpha + T) a week he would without dropout */
        double rate = (5000 + 0.25) / (40 + 4.4);
        CU_ASSERT(pa[0] > 0.9 && e[0] > 0.3 * 52 * rate && e[0] < 52 * rate);
        CU_ASSERT(pa[1] < 1e-10); /* 5000 purchases, then silence for 39.5 weeks */
        double enew, t52 = 52, pr[4];
        churn_model_params(m, pr, 4);
        churn_btyd_expected_purchases_new(m, 1, &t52, &enew);
        if (fam == CHURN_FAMILY_BGNBD) { /* T = 0: a brand-new customer */
            CT_NEAR(pa[3], 1, 0);
            CT_CLOSE(e[3], enew, 1e-12);
        } else { /* MBG/NBD: already gone with probability a/(a+b) */
            CT_CLOSE(pa[3], pr[3] / (pr[2] + pr[3]), 1e-12);
            CT_CLOSE(e[3], enew, 1e-12);
        }
        /* horizon far beyond the data (z -> 1) */
        double big = 1e7;
        CU_ASSERT_EQUAL(churn_btyd_score(m, big, 6, ex, etx, eT, pa, e), CHURN_OK);
        for (int i = 0; i < 6; i++)
            CU_ASSERT(isfinite(e[i]) && e[i] >= 0);
        churn_model_free(m);
        double mp[4] = {0.525, 6.183, 0.891, 1.614};
        m = NULL;
        churn_btyd_model_new(&m, CHURN_FAMILY_MBGNBD, 4, mp);
    }
    churn_model_free(m);
}

/* ---- errors name the row and column ---------------------------------------------------- */

static int err_names(int rc, int want, const char *a, const char *b)
{
    const char *msg = churn_last_error_message();
    int ok = rc == want && strstr(msg, a) && (!b || strstr(msg, b));
    if (!ok)
        printf("\n  status %d (want %d), message: %s\n", rc, want, msg);
    return ok;
}

/* The fit collapses identical rows after ordering them by (x, T, t_x): by the
 * ranks of the distinct times when they are few (whole days), else by
 * comparison. Either way the fit's log-likelihood must be the sum of the
 * rows' own log-likelihoods at its parameters (churn_btyd_loglik one row at a
 * time: no collapse), a permutation of the rows must give the same fit, and
 * zero-weight rows and -0 times must count as absent and as 0. */
static uint64_t lcg_next(uint64_t *s)
{
    *s = *s * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return *s >> 11;
}

static void test_collapse_orders(void)
{
    enum { N = 6000 };
    double *x = malloc(N * sizeof *x), *tx = malloc(N * sizeof *tx), *T = malloc(N * sizeof *T),
           *w = malloc(N * sizeof *w);
    double *px = malloc(N * sizeof *px), *ptx = malloc(N * sizeof *ptx),
           *pT = malloc(N * sizeof *pT), *pw = malloc(N * sizeof *pw);
    CU_ASSERT_FATAL(x && tx && T && w && px && ptx && pT && pw);
    static const int fams[2] = {CHURN_FAMILY_BGNBD, CHURN_FAMILY_PNBD};
    for (int jitter = 0; jitter < 2; jitter++) {
        uint64_t seed = 20261207;
        for (size_t i = 0; i < N; i++) {
            /* a buyer at rate lambda per week who drops out after each
             * purchase with probability p (BG/NBD's story), times rounded
             * down to whole days */
            double U = ((double)lcg_next(&seed) + 0.5) / 9007199254740992.0;
            double lambda = 0.05 + 0.6 * U * U;
            double p = 0.5 * ((double)lcg_next(&seed) + 0.5) / 9007199254740992.0;
            int Tdays = 182 + (int)(lcg_next(&seed) % 365), k = 0;
            double t = 0, last = 0;
            for (;;) {
                double u = ((double)lcg_next(&seed) + 0.5) / 9007199254740992.0;
                t += -log(u) / lambda * 7.0; /* days */
                if (t > Tdays)
                    break;
                k++;
                last = floor(t);
                if (((double)lcg_next(&seed) + 0.5) / 9007199254740992.0 < p)
                    break;
            }
            x[i] = k;
            /* continuous times: every value distinct (> 4,096 of them) */
            T[i] = Tdays / 7.0 + (jitter ? 1e-6 * (double)i : 0.0);
            tx[i] = k ? last / 7.0 + (jitter ? 5e-7 * (double)i : 0.0) : (i % 2 ? -0.0 : 0.0);
            w[i] = i % 17 == 3 ? 0.0 : (i % 5 == 0 ? 2.0 : 1.0);
        }
        /* a permutation of the rows */
        size_t *perm = malloc(N * sizeof *perm);
        CU_ASSERT_FATAL(perm != NULL);
        for (size_t i = 0; i < N; i++)
            perm[i] = i;
        for (size_t i = N - 1; i > 0; i--) {
            size_t j = (size_t)(lcg_next(&seed) % (i + 1)), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (size_t i = 0; i < N; i++) {
            px[i] = x[perm[i]];
            ptx[i] = tx[perm[i]];
            pT[i] = T[perm[i]];
            pw[i] = w[perm[i]];
        }
        free(perm);
        for (int f = 0; f < 2; f++) {
            churn_model *m = NULL, *mp = NULL;
            CU_ASSERT_EQUAL_FATAL(churn_btyd_fit(&m, fams[f], N, x, tx, T, w, NULL), CHURN_OK);
            CU_ASSERT_EQUAL_FATAL(churn_btyd_fit(&mp, fams[f], N, px, ptx, pT, pw, NULL),
                                  CHURN_OK);
            double p[4], pp[4], ref = 0, nw = 0;
            churn_model_params(m, p, 4);
            churn_model_params(mp, pp, 4);
            for (int j = 0; j < 4; j++)
                CT_CLOSE(pp[j], p[j], 1e-12);
            for (size_t i = 0; i < N; i++) {
                double li = 0;
                if (w[i] == 0)
                    continue;
                CU_ASSERT_EQUAL_FATAL(churn_btyd_loglik(fams[f], 4, p, 1, &x[i], &tx[i], &T[i],
                                                        NULL, &li, NULL), CHURN_OK);
                ref += w[i] * li;
                nw += w[i];
            }
            CT_CLOSE(churn_model_loglik(m), ref, 1e-11);
            CT_NEAR(churn_model_nobs(m), nw, 1e-9);
            churn_model_free(m);
            churn_model_free(mp);
        }
    }
    free(x);
    free(tx);
    free(T);
    free(w);
    free(px);
    free(ptx);
    free(pT);
    free(pw);
}

static void test_errors(void)
{
    double x[3] = {1, 2, 0}, tx[3] = {5, 8, 0}, T[3] = {10, 10, 10};
    churn_model *m = (churn_model *)&m; /* must be reset to NULL on failure */
    tx[1] = -1;
    CU_ASSERT(err_names(churn_btyd_fit(&m, CHURN_FAMILY_BGNBD, 3, x, tx, T, NULL, NULL),
                        CHURN_EINVAL, "row 1", "'recency'"));
    CU_ASSERT_PTR_NULL(m);
    tx[1] = 11;
    CU_ASSERT(err_names(churn_btyd_fit(&m, CHURN_FAMILY_MBGNBD, 3, x, tx, T, NULL, NULL),
                        CHURN_EINVAL, "row 1", "exceeds T"));
    tx[1] = 8;
    x[2] = NAN;
    CU_ASSERT(err_names(churn_btyd_fit(&m, CHURN_FAMILY_BGNBD, 3, x, tx, T, NULL, NULL),
                        CHURN_EINVAL, "row 2", "'frequency'"));
    x[2] = 1.5;
    CU_ASSERT(err_names(churn_btyd_fit(&m, CHURN_FAMILY_BGNBD, 3, x, tx, T, NULL, NULL),
                        CHURN_EINVAL, "row 2", "'frequency'"));
    x[2] = 0;
    T[0] = NAN;
    CU_ASSERT(err_names(churn_btyd_fit(&m, CHURN_FAMILY_BGNBD, 3, x, tx, T, NULL, NULL),
                        CHURN_EINVAL, "row 0", "'T'"));
    T[0] = 10;
    tx[2] = 1; /* no purchases but a recency */
    CU_ASSERT(err_names(churn_btyd_fit(&m, CHURN_FAMILY_BGNBD, 3, x, tx, T, NULL, NULL),
                        CHURN_EINVAL, "row 2", "'recency'"));
    tx[2] = 0;
    double w[3] = {1, -2, 1};
    CU_ASSERT(err_names(churn_btyd_fit(&m, CHURN_FAMILY_BGNBD, 3, x, tx, T, w, NULL),
                        CHURN_EINVAL, "row 1", "'weights'"));
    CU_ASSERT(err_names(churn_btyd_fit(&m, CHURN_FAMILY_SBG, 3, x, tx, T, NULL, NULL),
                        CHURN_EINVAL, "family", NULL));
    churn_btyd_options o = CHURN_BTYD_OPTIONS_INIT;
    o.l2_penalty = -1;
    CU_ASSERT(err_names(churn_btyd_fit(&m, CHURN_FAMILY_BGNBD, 3, x, tx, T, NULL, &o),
                        CHURN_EINVAL, "l2_penalty", NULL));
    /* BG/BB: whole opportunities, x <= t_x */
    double bx[2] = {3, 1}, btx[2] = {2, 1}, bn[2] = {6, 6};
    CU_ASSERT(err_names(churn_btyd_fit(&m, CHURN_FAMILY_BGBB, 2, bx, btx, bn, NULL, NULL),
                        CHURN_EINVAL, "row 0", "'frequency'"));
    bx[0] = 1;
    bn[1] = 6.5;
    CU_ASSERT(err_names(churn_btyd_fit(&m, CHURN_FAMILY_BGBB, 2, bx, btx, bn, NULL, NULL),
                        CHURN_EINVAL, "row 1", "'T'"));
    /* sBG */
    double per[2] = {3, 0};
    int ch[2] = {1, 1};
    CU_ASSERT(err_names(churn_sbg_fit(&m, 2, per, ch, NULL, NULL), CHURN_EINVAL, "row 1",
                        "'periods'"));
    ch[1] = 2;
    CU_ASSERT(err_names(churn_sbg_fit(&m, 2, per, ch, NULL, NULL), CHURN_EINVAL, "row 1",
                        "'churned'"));
    double surv[3] = {100, 50, 60};
    CU_ASSERT(err_names(churn_sbg_fit_survivors(&m, 3, surv, NULL), CHURN_EINVAL, "survivors[2]",
                        NULL));
    /* predictions */
    m = published_bgnbd();
    double pa[3];
    tx[1] = -1;
    CU_ASSERT(err_names(churn_btyd_score(m, 52, 3, x, tx, T, pa, NULL), CHURN_EINVAL, "row 1",
                        "'recency'"));
    CU_ASSERT(err_names(churn_btyd_p_alive(m, 3, x, tx, T, pa), CHURN_EINVAL, "row 1",
                        "'recency'"));
    tx[1] = 8;
    CU_ASSERT(err_names(churn_btyd_expected_purchases(m, NAN, 3, x, tx, T, pa), CHURN_EINVAL,
                        "horizon", NULL));
    CU_ASSERT(err_names(churn_sbg_curve(m, 3, pa, NULL), CHURN_EFAMILY, "bgnbd", NULL));
    CU_ASSERT(err_names(churn_pnbd_p_alive_at(m, 1, 3, x, tx, T, pa), CHURN_EFAMILY, "bgnbd",
                        NULL));
    CU_ASSERT(err_names(churn_btyd_p_alive(NULL, 3, x, tx, T, pa), CHURN_EINVAL, "NULL", NULL));
    double bad[4] = {0.2, -1, 1, 1};
    churn_model *m2 = NULL;
    CU_ASSERT(err_names(churn_btyd_model_new(&m2, CHURN_FAMILY_BGNBD, 4, bad), CHURN_EINVAL,
                        "'alpha'", NULL));
    churn_model_free(m);
}

/* ---- out of memory: every allocation failure gives CHURN_ENOMEM and leaks nothing -- */

static long alloc_budget = -1; /* allocations left before failing; -1 = unlimited */

static void *failing_alloc(void *ud, void *ptr, size_t nsize)
{
    (void)ud;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    if (alloc_budget == 0)
        return NULL;
    if (alloc_budget > 0)
        alloc_budget--;
    return realloc(ptr, nsize);
}

static void test_out_of_memory(void)
{
    double x[6] = {0, 1, 2, 2, 5, 0}, tx[6] = {0, 3, 10, 30, 20, 0}, T[6] = {40, 30, 35, 35, 39, 12};
    double per[3] = {1, 2, 7};
    int ch[3] = {1, 1, 0};
    double surv[4] = {100, 80, 70, 65};
    CU_ASSERT_EQUAL_FATAL(churn_set_allocator(failing_alloc, NULL), CHURN_OK);
    int saw_ok = 0;
    for (long k = 0; k < 40 && !saw_ok; k++) {
        churn_model *m = NULL, *s1 = NULL, *s2 = NULL;
        alloc_budget = k;
        int r1 = churn_btyd_fit(&m, CHURN_FAMILY_BGNBD, 6, x, tx, T, NULL, NULL);
        alloc_budget = k;
        int r2 = churn_sbg_fit(&s1, 3, per, ch, NULL, NULL);
        alloc_budget = k;
        int r3 = churn_sbg_fit_survivors(&s2, 4, surv, NULL);
        alloc_budget = -1;
        CU_ASSERT(r1 == CHURN_OK || r1 == CHURN_ENOCONV || (r1 == CHURN_ENOMEM && !m));
        CU_ASSERT(r2 == CHURN_OK || (r2 == CHURN_ENOMEM && !s1));
        CU_ASSERT(r3 == CHURN_OK || (r3 == CHURN_ENOMEM && !s2));
        saw_ok = (r1 == CHURN_OK || r1 == CHURN_ENOCONV) && r2 == CHURN_OK && r3 == CHURN_OK;
        churn_model_free(m);
        churn_model_free(s1);
        churn_model_free(s2);
    }
    CU_ASSERT(saw_ok);
    churn_set_allocator(NULL, NULL);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"bgnbd stability points", test_bgnbd_stability_points},
        {"bgnbd loglik against libm", test_bgnbd_loglik_reference},
        {"cdnow bgnbd fit", test_cdnow_bgnbd_fit},
        {"cdnow mbgnbd fit", test_cdnow_mbgnbd_fit},
        {"bgnbd published customers", test_bgnbd_published_customers},
        {"lifetimes predictions", test_lifetimes_predictions},
        {"cdnow cumulative repeat transactions", test_cdnow_cumulative_repeat},
        {"donations bgbb", test_donations_bgbb},
        {"sbg paper", test_sbg_paper},
        {"sbg curve and derl", test_sbg_curve_derl},
        {"pmf consistency", test_pmf_consistency},
        {"gradients", test_gradients},
        {"ggomnbd and mbgcnbd", test_new_families},
        {"save/load round trip", test_save_load_roundtrip},
        {"edge cases", test_edge_cases},
        {"collapse by ranks and by comparison", test_collapse_orders},
        {"errors", test_errors},
        {"out of memory", test_out_of_memory},
        {"recovery 100k", test_recovery_100k},
        {"se calibration over seeds", test_se_calibration},
        CU_TEST_INFO_NULL,
    };
    return churn_test_run("btyd", tests);
}
