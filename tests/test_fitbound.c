/*
 * Bounded cost of the BTYD fits and of BG/NBD scoring at extreme parameters
 * (issue 19, item 5).
 *
 * The hostile tables: 1,000 customers with x uniform on 0..6, t_x uniform on
 * [0, T] (0 when x = 0) and T = 52 (or uniform on [1, 52]). Their likelihood
 * has its supremum at infinity along a ridge (BG/NBD's a and b, Pareto/NBD's
 * s and beta growing together), where the optimiser used to spend 66,000
 * evaluations (BG/NBD, 4 s) or minutes (Pareto/NBD). The tests count
 * evaluations through the max_evaluations cap (a fit that is not cut short by
 * a cap of N used fewer than N evaluations) rather than timing anything;
 * bench/bench_fitbound.c measures the time.
 */
#include "churn.h"
#include "testutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { NROWS = 1000 };

/* splitmix64: a fixed, portable stream for the tables. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double rng_unif(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

/* x uniform on 0..6, T = 52 (fixed_T) or uniform on [1, 52], t_x uniform on
 * [0, T] and 0 when x = 0. */
static void hostile_table(uint64_t seed, int fixed_T, double *x, double *tx, double *T)
{
    uint64_t s = seed;
    for (int i = 0; i < NROWS; i++) {
        x[i] = (double)(rng_next(&s) % 7);
        T[i] = fixed_T ? 52.0 : 1.0 + 51.0 * rng_unif(&s);
        tx[i] = x[i] == 0 ? 0.0 : T[i] * rng_unif(&s);
    }
}

static int fit(churn_model **m, int family, const double *x, const double *tx, const double *T,
               int max_evaluations)
{
    churn_btyd_options o;
    churn_btyd_options_init(&o);
    o.max_evaluations = max_evaluations;
    *m = NULL;
    return churn_btyd_fit(m, family, NROWS, x, tx, T, NULL, &o);
}

static int mentions(const char *what)
{
    return strstr(churn_last_error_message(), what) != NULL;
}

/* The model's log-likelihood is the one of its parameters (summed over the
 * rows as given rather than collapsed: Pareto/NBD's quadrature rows agree to
 * ~1e-12 relative, BG/NBD's sums to rounding even with a and b of 1e9). */
static void check_loglik_of_params(const churn_model *m, int family, const double *x,
                                   const double *tx, const double *T)
{
    double p[4], ll = NAN;
    CU_ASSERT_EQUAL_FATAL(churn_model_params(m, p, 4), CHURN_OK);
    for (int j = 0; j < 4; j++)
        CU_ASSERT(isfinite(p[j]) && p[j] > 0);
    CU_ASSERT_EQUAL(churn_btyd_loglik(family, 4, p, NROWS, x, tx, T, NULL, &ll, NULL), CHURN_OK);
    CT_CLOSE(churn_model_loglik(m), ll, family == CHURN_FAMILY_PNBD ? 1e-10 : 1e-12);
}

/* (a) The hostile tables end by themselves, OK or CHURN_ENOCONV, well within
 * the default cap: a cap of `bound` evaluations does not cut them short, and
 * gives bitwise the same model. Bounds: BG/NBD and MBG/NBD took 48-92
 * evaluations on these tables, Pareto/NBD up to 334. */
static void test_hostile_tables_end(void)
{
    static double x[NROWS], tx[NROWS], T[NROWS];
    static const struct {
        int family, bound;
    } cases[] = {{CHURN_FAMILY_BGNBD, 150}, {CHURN_FAMILY_MBGNBD, 150}, {CHURN_FAMILY_PNBD, 450}};
    for (int fixed = 1; fixed >= 0; fixed--)
        for (uint64_t seed = 1; seed <= 2; seed++) {
            hostile_table(seed, fixed, x, tx, T);
            for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
                int fam = cases[c].family;
                if (fam == CHURN_FAMILY_PNBD && seed > 1 && !fixed)
                    continue; /* ~10 ms per evaluation there: keep the test short */
                churn_model *m = NULL, *mb = NULL;
                int rc = fit(&m, fam, x, tx, T, 0);
                char msg[1024];
                snprintf(msg, sizeof msg, "%s", churn_last_error_message());
                printf("\n  %s, seed %d, %s T: status %d, %s", churn_family_name(fam), (int)seed,
                       fixed ? "fixed" : "uniform", rc, rc ? msg : "converged");
                CU_ASSERT(rc == CHURN_OK || rc == CHURN_ENOCONV);
                CU_ASSERT_PTR_NOT_NULL_FATAL(m);
                CU_ASSERT(strstr(msg, "max_evaluations") == NULL);
                check_loglik_of_params(m, fam, x, tx, T);
                /* the same fit under a cap of `bound` evaluations is not cut short */
                int rcb = fit(&mb, fam, x, tx, T, cases[c].bound);
                CU_ASSERT_EQUAL(rcb, rc);
                CU_ASSERT(!mentions("max_evaluations"));
                CU_ASSERT_PTR_NOT_NULL_FATAL(mb);
                double p[4], pb[4];
                churn_model_params(m, p, 4);
                churn_model_params(mb, pb, 4);
                CU_ASSERT(memcmp(p, pb, sizeof p) == 0);
                if (rc == CHURN_ENOCONV) {
                    CU_ASSERT_EQUAL(churn_model_converged(m), 0);
                    /* the ridge: the message names the parameters that run off */
                    CU_ASSERT(strstr(msg, "run off") != NULL || strstr(msg, "runs off") != NULL);
                }
                churn_model_free(m);
                churn_model_free(mb);
            }
        }
}

/* (a) The point returned is the best seen: the evaluations are deterministic,
 * so a larger cap sees a longer prefix of the same sequence and its best point
 * can only be better (higher log-likelihood; without a penalty the objective
 * is -loglik/W). */
static void test_best_point_monotone_in_cap(void)
{
    static double x[NROWS], tx[NROWS], T[NROWS];
    hostile_table(3, 1, x, tx, T);
    static const struct {
        int family;
        int caps[8];
    } cases[] = {{CHURN_FAMILY_BGNBD, {1, 2, 5, 10, 20, 40, 80, 0}},
                 {CHURN_FAMILY_PNBD, {1, 4, 12, 30, 0}}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int fam = cases[c].family;
        double prev = -INFINITY;
        for (int k = 0; cases[c].caps[k]; k++) {
            churn_model *m = NULL;
            int rc = fit(&m, fam, x, tx, T, cases[c].caps[k]);
            CU_ASSERT(rc == CHURN_OK || rc == CHURN_ENOCONV);
            CU_ASSERT_PTR_NOT_NULL_FATAL(m);
            double ll = churn_model_loglik(m);
            CU_ASSERT(ll >= prev);
            check_loglik_of_params(m, fam, x, tx, T);
            prev = ll;
            churn_model_free(m);
        }
    }
}

/* (b) A small cap ends the fit with CHURN_ENOCONV and a model; so does a time
 * limit that has passed before the second evaluation. */
static void test_caps(void)
{
    static double x[NROWS], tx[NROWS], T[NROWS];
    hostile_table(4, 0, x, tx, T);
    for (int fam = CHURN_FAMILY_BGNBD; fam <= CHURN_FAMILY_BGBB; fam++) {
        if (fam == CHURN_FAMILY_BGBB)
            for (int i = 0; i < NROWS; i++) { /* whole opportunities, x <= t_x <= n */
                T[i] = 10;
                tx[i] = x[i] == 0 ? 0 : fmin(10, x[i] + floor(tx[i] / 52 * (10 - x[i])));
            }
        churn_model *m = NULL;
        CU_ASSERT_EQUAL(fit(&m, fam, x, tx, T, 3), CHURN_ENOCONV);
        CU_ASSERT(mentions("max_evaluations = 3"));
        CU_ASSERT(mentions(churn_family_name(fam)));
        CU_ASSERT_PTR_NOT_NULL_FATAL(m);
        CU_ASSERT_EQUAL(churn_model_converged(m), 0);
        check_loglik_of_params(m, fam, x, tx, T);
        churn_model_free(m);

        churn_btyd_options o;
        churn_btyd_options_init(&o);
        o.max_seconds = 1e-9;
        m = NULL;
        CU_ASSERT_EQUAL(churn_btyd_fit(&m, fam, NROWS, x, tx, T, NULL, &o), CHURN_ENOCONV);
        CU_ASSERT(mentions("max_seconds"));
        CU_ASSERT_PTR_NOT_NULL(m);
        churn_model_free(m);
    }
    /* sBG shares the budget */
    double per[6] = {1, 2, 3, 4, 5, 5};
    int ch[6] = {1, 1, 1, 1, 0, 1};
    churn_btyd_options o;
    churn_btyd_options_init(&o);
    o.max_evaluations = 1;
    churn_model *m = NULL;
    CU_ASSERT_EQUAL(churn_sbg_fit(&m, 6, per, ch, NULL, &o), CHURN_ENOCONV);
    CU_ASSERT(mentions("max_evaluations = 1"));
    CU_ASSERT_PTR_NOT_NULL(m);
    churn_model_free(m);
    /* the defaults and bad values */
    churn_btyd_options_init(&o);
    CU_ASSERT_EQUAL(o.max_evaluations, CHURN_BTYD_DEFAULT_MAX_EVALUATIONS);
    CU_ASSERT_EQUAL(o.max_seconds, 0.0);
    o.max_evaluations = -1;
    m = NULL;
    CU_ASSERT_EQUAL(churn_btyd_fit(&m, CHURN_FAMILY_BGNBD, NROWS, x, tx, T, NULL, &o),
                    CHURN_EINVAL);
    CU_ASSERT(mentions("max_evaluations"));
    CU_ASSERT_PTR_NULL(m);
    churn_btyd_options_init(&o);
    o.max_seconds = NAN;
    CU_ASSERT_EQUAL(churn_btyd_fit(&m, CHURN_FAMILY_BGNBD, NROWS, x, tx, T, NULL, &o),
                    CHURN_EINVAL);
    CU_ASSERT(mentions("max_seconds"));
    CU_ASSERT_PTR_NULL(m);
}

/* (d) BG/NBD scoring at extreme parameters against mpmath (tests/fitbound_ref.py). */
#include "fitbound_ref.h"

static void test_extreme_scoring(void)
{
    double worst_e = 0, worst_p = 0;
    for (size_t i = 0; i < sizeof bg_refs / sizeof bg_refs[0]; i++) {
        const struct bg_ref *r = &bg_refs[i];
        churn_model *m = NULL;
        CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&m, CHURN_FAMILY_BGNBD, 4, r->p), CHURN_OK);
        double pa = NAN, e = NAN, e2 = NAN;
        CU_ASSERT_EQUAL(churn_btyd_score(m, r->t, 1, &r->x, &r->tx, &r->T, &pa, &e), CHURN_OK);
        CU_ASSERT_EQUAL(churn_btyd_expected_purchases(m, r->t, 1, &r->x, &r->tx, &r->T, &e2),
                        CHURN_OK);
        CT_CLOSE(pa, r->p_alive, 1e-13);
        CT_CLOSE(e, r->expected, 1e-9);
        CT_CLOSE(e2, r->expected, 1e-9);
        worst_p = fmax(worst_p, fabs(pa - r->p_alive) / r->p_alive);
        worst_e = fmax(worst_e, fmax(fabs(e - r->expected), fabs(e2 - r->expected)) / r->expected);
        churn_model_free(m);
    }
    printf("\n  %zu customers at extreme parameters vs mpmath: P(alive) max rel. error %.2g, "
           "expected purchases %.2g", sizeof bg_refs / sizeof bg_refs[0], worst_p, worst_e);
    /* a whole table with the ridge model: every value finite, and the same as
     * one customer at a time (the scoring loop's cache and fast path agree) */
    static double x[5000], tx[5000], T[5000], pa[5000], e[5000];
    uint64_t s = 7;
    for (int i = 0; i < 5000; i++) {
        x[i] = (double)(rng_next(&s) % 7);
        T[i] = 52.0;
        tx[i] = x[i] == 0 ? 0.0 : 52.0 * rng_unif(&s);
    }
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&m, CHURN_FAMILY_BGNBD, 4, bg_refs[0].p),
                          CHURN_OK);
    CU_ASSERT_EQUAL(churn_btyd_score(m, 52, 5000, x, tx, T, pa, e), CHURN_OK);
    int bad = 0;
    for (int i = 0; i < 5000; i += 97) {
        double e1;
        churn_btyd_expected_purchases(m, 52, 1, &x[i], &tx[i], &T[i], &e1);
        if (!(isfinite(e[i]) && e[i] > 0 && fabs(e[i] - e1) <= 1e-12 * e1))
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    churn_model_free(m);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"hostile tables end within the evaluation cap", test_hostile_tables_end},
        {"the point returned is the best seen", test_best_point_monotone_in_cap},
        {"max_evaluations and max_seconds caps", test_caps},
        {"BG/NBD scoring at extreme parameters vs mpmath", test_extreme_scoring},
        CU_TEST_INFO_NULL,
    };
    return churn_test_run("fitbound", tests);
}
