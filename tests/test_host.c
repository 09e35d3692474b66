/* What the library never does to its host (docs/abi.md): it never reaches
 * GSL's error handler nor replaces the host's, never changes the locale,
 * signal dispositions, OpenBLAS's thread count or the environment, never
 * prints, and reads and writes numbers in text the same way under a
 * comma-decimal locale. Also the regressions of the inputs that aborted a
 * host (issue 18): a Weibull scale above 171.6 and churn_dert with a tiny
 * discount, checked against mpmath (50 digits; the values are in the tables
 * below, written by the snippet quoted with them). */
#define _GNU_SOURCE /* environ, setenv */
#include "testutil.h"

#include <churn.h>
#include <errno.h>
#include <fcntl.h>
#include <gsl/gsl_errno.h>
#include <locale.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;
int openblas_get_num_threads(void); /* OpenBLAS's own API (cblas.h) */

/* ---- models from model-file text --------------------------------------------- */

static churn_model *weibull(double intercept, double log_scale)
{
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"format\": \"libchurn-model\", \"format_version\": 1, \"library_version\": "
             "\"1.0.0\", \"family\": \"weibull\", \"time_unit_days\": 0, \"param_names\": "
             "[\"(Intercept)\", \"Log(scale)\"], \"params\": [%.17g, %.17g], \"std_errors\": "
             "[null, null], \"covariance\": null, \"fit\": {\"loglik\": 0, \"nobs\": 1, "
             "\"converged\": true, \"iterations\": 0}, \"features\": [], \"arrays\": {}, "
             "\"note\": \"\"}",
             intercept, log_scale);
    churn_model *m = NULL;
    int rc = churn_model_load_buffer(&m, buf, strlen(buf));
    CU_ASSERT_EQUAL(rc, CHURN_OK);
    return m;
}

static churn_model *btyd(int family, double p0, double p1, double p2, double p3)
{
    double p[4] = {p0, p1, p2, p3};
    churn_model *m = NULL;
    size_t np = family == CHURN_FAMILY_SBG ? 2 : 4;
    if (churn_btyd_model_new(&m, family, np, p) != CHURN_OK)
        return NULL;
    return m;
}

/* ---- the workload: every kind of GSL use, with the inputs that aborted -------- */

static int ok_or_documented(int rc)
{
    return rc == CHURN_OK || rc == CHURN_ENUMERIC || rc == CHURN_EINVAL || rc == CHURN_ENOCONV ||
           rc == CHURN_ESEPARATION || rc == CHURN_EFAMILY;
}

static void score_btyd(const churn_model *m, int all_deltas)
{
    double x[3] = {0, 1, 40}, tx[3] = {0, 9.99e-10, 30}, T[3] = {0, 1e-9, 52};
    double out[3], out2[3];
    CU_ASSERT(ok_or_documented(churn_btyd_p_alive(m, 3, x, tx, T, out)));
    CU_ASSERT(ok_or_documented(churn_btyd_expected_purchases(m, 52, 3, x, tx, T, out)));
    CU_ASSERT(ok_or_documented(churn_btyd_expected_purchases(m, 1e6, 3, x, tx, T, out)));
    CU_ASSERT(ok_or_documented(churn_btyd_score(m, 10, 3, x, tx, T, out, out2)));
    CU_ASSERT(ok_or_documented(churn_btyd_prob_purchases_cond(m, 2, 10, 3, x, tx, T, out)));
    double t[2] = {10, 1e5};
    CU_ASSERT(ok_or_documented(churn_btyd_expected_purchases_new(m, 2, t, out)));
    CU_ASSERT(ok_or_documented(churn_btyd_prob_purchases(m, 3, 2, t, out)));
    const double deltas[3] = {1e-12, 0.01, 1e6};
    for (int d = 0; d < (all_deltas ? 3 : 1); d++)
        CU_ASSERT(ok_or_documented(churn_dert(m, deltas[d], 3, x, tx, T, out)));
}

static void workload(void)
{
    /* Weibull (and the other AFT families) with scales far beyond 171.6 */
    const double log_scales[] = {-3, 5.5, 6, 10, 50, 700};
    for (size_t i = 0; i < sizeof log_scales / sizeof *log_scales; i++) {
        churn_model *m = weibull(1.0, log_scales[i]);
        double s[2], med[2], mrl[2], times[3] = {0, 2, 1e300}, curve[3];
        CU_ASSERT(ok_or_documented(churn_surv_predict(m, 2, NULL, 2.0, s, NULL, NULL)));
        CU_ASSERT(ok_or_documented(churn_surv_median(m, 2, NULL, med)));
        CU_ASSERT(ok_or_documented(churn_surv_mean_residual_life(m, 2, NULL, 2.0, mrl)));
        CU_ASSERT(ok_or_documented(churn_surv_mean_residual_life(m, 2, NULL, 1e300, mrl)));
        CU_ASSERT(ok_or_documented(churn_surv_curve(m, NULL, 3, times, curve, NULL)));
        churn_model_free(m);
    }
    /* BTYD families at ordinary and extreme parameters; DERT with a tiny delta */
    const int fams[4] = {CHURN_FAMILY_BGNBD, CHURN_FAMILY_MBGNBD, CHURN_FAMILY_PNBD,
                         CHURN_FAMILY_BGBB};
    const double base[4][4] = {{0.2426, 4.4136, 0.7929, 2.4259},
                               {0.525, 6.183, 0.891, 1.614},
                               {0.5534, 10.5802, 0.6061, 11.6562},
                               {1.204, 0.750, 0.657, 2.783}};
    /* (test_reliability scores 1e-12 and 1e12 too, under the same aborting handler) */
    const double extremes[] = {1e-300, 1e300};
    for (int f = 0; f < 4; f++) {
        churn_model *m = btyd(fams[f], base[f][0], base[f][1], base[f][2], base[f][3]);
        CU_ASSERT_PTR_NOT_NULL(m);
        if (m)
            score_btyd(m, 1);
        churn_model_free(m);
        for (int j = 0; j < 4; j++)
            for (size_t e = 0; e < sizeof extremes / sizeof *extremes; e++) {
                double p[4];
                memcpy(p, base[f], sizeof p);
                p[j] = extremes[e];
                churn_model *mx = btyd(fams[f], p[0], p[1], p[2], p[3]);
                if (mx)
                    score_btyd(mx, 0);
                churn_model_free(mx);
            }
    }
    /* sBG and its DERL (the beta-density quadrature) */
    churn_model *sbg = btyd(CHURN_FAMILY_SBG, 0.704, 1.182, 0, 0);
    double per[2] = {1, 50}, derl[2];
    CU_ASSERT(ok_or_documented(churn_sbg_derl(sbg, 1e-6, 2, per, derl)));
    CU_ASSERT(ok_or_documented(churn_sbg_derl(sbg, 0.1, 2, per, derl)));
    churn_model_free(sbg);
    /* fits that use lngamma / psi / the chi-square tail: Gamma-Gamma, sBG, Cox tests */
    double fr[6] = {1, 2, 3, 5, 8, 13}, mv[6] = {10, 12, 9, 30, 11, 15};
    churn_model *gg = NULL;
    CU_ASSERT(ok_or_documented(churn_gammagamma_fit(&gg, 6, fr, mv, NULL, NULL)));
    churn_model_free(gg);
    double dur[8] = {1, 2, 3, 4, 5, 6, 7, 8}, ev[8] = {1, 1, 0, 1, 1, 0, 1, 1};
    double xc[8] = {0.1, 0.5, -0.2, 1.0, 0.3, -1.0, 2.0, 0.0};
    churn_model *cox = NULL;
    if (ok_or_documented(churn_cox_fit(&cox, 8, 1, xc, NULL, dur, ev, NULL, NULL)) && cox) {
        double st, df, pv;
        for (int t = 0; t < 3; t++)
            CU_ASSERT(ok_or_documented(churn_cox_test(cox, t, &st, &df, &pv)));
    }
    churn_model_free(cox);
    churn_model *aft = NULL;
    CU_ASSERT(ok_or_documented(
        churn_aft_fit(&aft, CHURN_FAMILY_LOGNORMAL, 8, 1, xc, NULL, dur, ev, NULL, NULL)));
    if (aft) {
        double mrl[1], xi[1] = {40};
        CU_ASSERT(ok_or_documented(churn_surv_mean_residual_life(aft, 1, xi, 1e9, mrl)));
    }
    churn_model_free(aft);
    /* logistic regression through OpenBLAS, with degenerate designs (no columns
     * left: OpenBLAS's xerbla would print on an illegal dimension) */
    double xl[6] = {1, 1, 1, 1, 1, 1}, yl[6] = {0, 1, 0, 1, 1, 0};
    churn_logit_options lo = CHURN_LOGIT_OPTIONS_INIT;
    for (int intercept = 0; intercept < 2; intercept++)
        for (size_t p = 0; p < 2; p++) {
            churn_model *lm = NULL;
            lo.intercept = intercept;
            CU_ASSERT(ok_or_documented(churn_logit_fit(&lm, xl, 6, p, 0, p, yl, NULL, NULL, &lo)));
            churn_model_free(lm);
        }
    /* the simulator (its random number generators) */
    churn_txlog *log = NULL;
    CU_ASSERT_EQUAL(churn_txlog_new(&log), CHURN_OK);
    churn_simulate_options so = CHURN_SIMULATE_OPTIONS_INIT;
    so.customers = 50;
    CU_ASSERT_EQUAL(churn_simulate_txlog(log, &so), CHURN_OK);
    churn_txlog_free(log);
}

/* ---- GSL's error handler -------------------------------------------------------- */

static int host_handler_calls;

static void host_handler(const char *reason, const char *file, int line, int gsl_errno)
{
    (void)reason;
    (void)file;
    (void)line;
    (void)gsl_errno;
    host_handler_calls++;
}

static void test_gsl_handler_kept(void)
{
    /* A host installs its own GSL handler; the library must leave it in place
     * and never call it (no GSL error is reachable). */
    gsl_error_handler_t *before = gsl_set_error_handler(host_handler);
    host_handler_calls = 0;
    workload();
    gsl_error_handler_t *now = gsl_set_error_handler(before);
    CU_ASSERT(now == host_handler);
    CU_ASSERT_EQUAL(host_handler_calls, 0);
    if (host_handler_calls)
        printf("\n  GSL error handler called %d times\n", host_handler_calls);
}

/* ---- the abort regressions against mpmath --------------------------------------- */

/* Weibull, survreg parametrisation: intercept b0 = 1 (lam = e), scale sigma =
 * exp(log_scale), S(h) = exp(-(h/lam)^(1/sigma)), median = lam (log 2)^sigma,
 * MRL(h) = lam sigma Gamma(sigma, u) e^u with u = (h/lam)^(1/sigma). mpmath:
 *   sg = exp(L); u = (h/e)**(1/sg); S = exp(-u); med = e*log(2)**sg
 *   lm = 1 + log(sg) + log(gammainc(sg, u, inf)) + u   (mean: 1 + loggamma(1+sg))
 * MRL +inf where lm > log(DBL_MAX) = 709.78 (the true value is beyond a double). */
static const struct {
    double L, h, surv, median, mrl;
} weibull_ref[] = {
    {5.0, 2.0, 0.36864005272391562068, 6.4669321871094493328e-24, 1.4887648816153231458e+260},
    {5.1, 2.0, 0.36856767105352851537, 2.1192539873235336952e-26, 2.7111696016956850384e+294},
    {6.0, 2.0, 0.36815925469659427125, 1.6546352666616921684e-64, INFINITY},
    {10.0, 2.0, 0.36788456613541908689, 0.0, INFINITY},
    {50.0, 2.0, 0.3678794411714423216, 0.0, INFINITY},
    {700.0, 2.0, 0.3678794411714423216, 0.0, INFINITY},
    {5.0, 1e6, 0.33615326438797231545, 6.4669321871094493328e-24, 1.6326432689904398263e+260},
    {-3.0, 271.8281828459045, 0.0, 2.6691295183502834005, 9.1271920705026401467e-40},
    {0.0, 2.0, 0.479141708788015318, 1.8841693853637201099, 2.7182818284590452354},
    {-1.0, 0.0, 1.0, 2.3754037703241021246, 2.4178852217805277186},
};

static void test_weibull_large_scale(void)
{
    for (size_t i = 0; i < sizeof weibull_ref / sizeof *weibull_ref; i++) {
        churn_model *m = weibull(1.0, weibull_ref[i].L);
        double s = NAN, med = NAN, mrl = NAN;
        CU_ASSERT_EQUAL(churn_surv_predict(m, 1, NULL, weibull_ref[i].h, &s, NULL, NULL), CHURN_OK);
        CU_ASSERT_EQUAL(churn_surv_median(m, 1, NULL, &med), CHURN_OK);
        CU_ASSERT_EQUAL(churn_surv_mean_residual_life(m, 1, NULL, weibull_ref[i].h, &mrl),
                        CHURN_OK);
        CT_CLOSE(s, weibull_ref[i].surv, 1e-12);
        if (weibull_ref[i].median == 0) {
            CU_ASSERT(med >= 0 && med < 1e-300);
        } else {
            CT_CLOSE(med, weibull_ref[i].median, 1e-11);
        }
        if (isinf(weibull_ref[i].mrl)) {
            CU_ASSERT(mrl == INFINITY);
        } else {
            CT_CLOSE(mrl, weibull_ref[i].mrl, 1e-11);
        }
        churn_model_free(m);
    }
    /* u = (1e20)^(1/sigma) = e^925 is beyond a double: MRL ~ lam sigma u^(sigma-1) ~ e^-881 */
    churn_model *m = weibull(1.0, -3.0);
    double mrl = NAN;
    CU_ASSERT_EQUAL(churn_surv_mean_residual_life(m, 1, NULL, 1e20 * M_E, &mrl), CHURN_OK);
    CU_ASSERT(mrl >= 0 && mrl < 1e-300);
    churn_model_free(m);
}

/* churn_dert(delta 1e-12, x 1, recency 9.99e-10, T 1e-9). Pareto/NBD (FHL 2005):
 * DERT / P(alive) = (r+x)/(alpha+T) (beta+T) z^(s-1) U(s, s; z), z = delta (beta+T);
 * mpmath: z**(s-1) * hyperu(s, s, z). BG/NBD with a > 1: as delta -> 0 the DERT
 * tends to P(alive) E[1/p | alive] = P(alive) (a+b+x-1)/(a-1), the expected
 * number of all future purchases (one per survived coin flip). */
static void test_dert_tiny_delta(void)
{
    double x = 1, tx = 9.99e-10, T = 1e-9, pa = NAN, d = NAN;
    static const struct {
        double s, ratio;
    } pnbd[] = {{0.61, 71451.228312510742803}, {2.5, 1.1397920604548285546}};
    for (int i = 0; i < 2; i++) {
        churn_model *m = btyd(CHURN_FAMILY_PNBD, 0.55, 10.58, pnbd[i].s, 11.67);
        CU_ASSERT_EQUAL(churn_btyd_p_alive(m, 1, &x, &tx, &T, &pa), CHURN_OK);
        CU_ASSERT_EQUAL(churn_dert(m, 1e-12, 1, &x, &tx, &T, &d), CHURN_OK);
        CT_CLOSE(d / pa, pnbd[i].ratio, 1e-9);
        churn_model_free(m);
    }
    /* an ordinary case too: delta 0.1, x 2, T 30 (mpmath 0.55935587953382096044) */
    churn_model *m = btyd(CHURN_FAMILY_PNBD, 0.55, 10.58, 0.61, 11.67);
    double x2 = 2, tx2 = 20, T2 = 30;
    CU_ASSERT_EQUAL(churn_btyd_p_alive(m, 1, &x2, &tx2, &T2, &pa), CHURN_OK);
    CU_ASSERT_EQUAL(churn_dert(m, 0.1, 1, &x2, &tx2, &T2, &d), CHURN_OK);
    CT_CLOSE(d / pa, 0.55935587953382096044, 1e-9);
    churn_model_free(m);

    const double a = 2.5, b = 2.426;
    m = btyd(CHURN_FAMILY_BGNBD, 0.243, 4.414, a, b);
    CU_ASSERT_EQUAL(churn_btyd_p_alive(m, 1, &x, &tx, &T, &pa), CHURN_OK);
    CU_ASSERT_EQUAL(churn_dert(m, 1e-12, 1, &x, &tx, &T, &d), CHURN_OK);
    CT_CLOSE(d / pa, (a + b + x - 1) / (a - 1), 1e-6);
    churn_model_free(m);
}

/* ---- process-wide state and output ------------------------------------------------ */

static const int watched_signals[] = {SIGINT, SIGTERM, SIGPIPE, SIGFPE, SIGSEGV, SIGABRT,
                                      SIGBUS, SIGCHLD, SIGALRM, SIGUSR1};
#define NSIG_WATCHED (sizeof watched_signals / sizeof *watched_signals)

static char *environment_text(void)
{
    size_t len = 1;
    for (char **e = environ; *e; e++)
        len += strlen(*e) + 1;
    char *s = malloc(len);
    if (!s)
        return NULL;
    s[0] = '\0';
    for (char **e = environ; *e; e++) {
        strcat(s, *e);
        strcat(s, "\n");
    }
    return s;
}

/* The workload again, now under GSL's default handler, which aborts the
 * process on any GSL error (testutil.c installs it before every test program). */
static void test_no_global_state_no_output(void)
{
    struct sigaction before[NSIG_WATCHED], after;
    for (size_t i = 0; i < NSIG_WATCHED; i++)
        sigaction(watched_signals[i], NULL, &before[i]);
    char *loc_before = strdup(setlocale(LC_ALL, NULL));
    int threads_before = openblas_get_num_threads();
    char *env_before = environment_text();
    gsl_error_handler_t *h_before = gsl_set_error_handler(NULL);
    gsl_set_error_handler(h_before);

    /* stdout and stderr go to files while the library runs: they must stay empty */
    char path_out[4096], path_err[4096];
    snprintf(path_out, sizeof path_out, "%s/test_host_stdout.txt", churn_test_tmp_dir());
    snprintf(path_err, sizeof path_err, "%s/test_host_stderr.txt", churn_test_tmp_dir());
    fflush(stdout);
    fflush(stderr);
    int save_out = dup(1), save_err = dup(2);
    int fo = open(path_out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fe = open(path_err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CU_ASSERT(fo >= 0 && fe >= 0 && save_out >= 0 && save_err >= 0);
    dup2(fo, 1);
    dup2(fe, 2);
    unsigned failures_before = CU_get_number_of_failures();
    workload();
    /* an error in every stage: a message is recorded, nothing is printed */
    churn_model *m = NULL;
    double nanv = NAN;
    (void)churn_btyd_fit(&m, CHURN_FAMILY_BGNBD, 1, &nanv, &nanv, &nanv, NULL, NULL);
    (void)churn_model_load_buffer(&m, "{", 1);
    fflush(stdout);
    fflush(stderr);
    dup2(save_out, 1);
    dup2(save_err, 2);
    close(save_out);
    close(save_err);
    close(fo);
    close(fe);
    CU_ASSERT_EQUAL(CU_get_number_of_failures(), failures_before);
    struct stat so, se;
    CU_ASSERT(stat(path_out, &so) == 0 && so.st_size == 0);
    CU_ASSERT(stat(path_err, &se) == 0 && se.st_size == 0);

    for (size_t i = 0; i < NSIG_WATCHED; i++) {
        sigaction(watched_signals[i], NULL, &after);
        CU_ASSERT(after.sa_handler == before[i].sa_handler);
        CU_ASSERT_EQUAL(after.sa_flags, before[i].sa_flags);
    }
    CU_ASSERT_STRING_EQUAL(setlocale(LC_ALL, NULL), loc_before);
    CU_ASSERT_EQUAL(openblas_get_num_threads(), threads_before);
    char *env_after = environment_text();
    CU_ASSERT(env_before && env_after && strcmp(env_before, env_after) == 0);
    gsl_error_handler_t *h_after = gsl_set_error_handler(h_before);
    CU_ASSERT(h_after == h_before);
    free(env_before);
    free(env_after);
    free(loc_before);
}

/* ---- a comma-decimal locale ---------------------------------------------------------- */

/* Switch the process to de_DE.UTF-8 (decimal comma). When the system has no
 * such locale, build it with localedef into the test folder and point
 * LOCPATH there (no root-wide change). 1 on success. */
static int use_comma_locale(void)
{
    const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "de_DE"};
    for (int i = 0; i < 3; i++)
        if (setlocale(LC_ALL, names[i]))
            return strcmp(localeconv()->decimal_point, ",") == 0;
    char dir[4096], cmd[3 * 4096 + 200];
    snprintf(dir, sizeof dir, "%s/locale", churn_test_tmp_dir());
    mkdir(dir, 0755);
    snprintf(cmd, sizeof cmd,
             "test -f '%s/de_DE.UTF-8/LC_NUMERIC' || "
             "localedef -i de_DE -f UTF-8 '%s/de_DE.UTF-8' >/dev/null 2>&1 || "
             "test -f '%s/de_DE.UTF-8/LC_NUMERIC'",
             dir, dir, dir);
    if (system(cmd) != 0)
        return 0;
    setenv("LOCPATH", dir, 1);
    if (!setlocale(LC_ALL, "de_DE.UTF-8"))
        return 0;
    return strcmp(localeconv()->decimal_point, ",") == 0;
}

static void test_comma_locale(void)
{
    char *saved = strdup(setlocale(LC_ALL, NULL));
    if (!use_comma_locale()) {
        churn_test_skip("comma locale",
                        "de_DE.UTF-8 is neither installed nor buildable with localedef "
                        "(Debian: apt-get install locales)");
        setlocale(LC_ALL, saved);
        free(saved);
        return;
    }
    char probe[32];
    snprintf(probe, sizeof probe, "%.1f", 0.5);
    CU_ASSERT_STRING_EQUAL(probe, "0,5"); /* the locale is really in effect */

    /* alert rules: "p_alive < 0.3" (strtod gave "unexpected text '.3'") */
    churn_alerts *a = NULL;
    CU_ASSERT_EQUAL(churn_alerts_new(&a), CHURN_OK);
    CU_ASSERT_EQUAL(churn_alerts_add_text(a, "p_alive < 0.3"), CHURN_OK);
    CU_ASSERT_EQUAL(churn_alerts_add_text(a, "big: clv >= 1e3"), CHURN_OK);
    CU_ASSERT_EQUAL(churn_alerts_add_text(a, "p_alive < 0,3"), CHURN_EFORMAT);
    const char *name, *field;
    int op;
    double th = NAN;
    CU_ASSERT_EQUAL(churn_alerts_rule(a, 0, &name, &field, &op, &th), CHURN_OK);
    CU_ASSERT_EQUAL(th, 0.3);
    double pa[2] = {0.29, 0.31}, clv[2] = {1000, 999.5};
    const char *cols[2] = {"p_alive", "clv"};
    const double *colv[2] = {pa, clv};
    uint64_t fired[2] = {0, 0};
    CU_ASSERT_EQUAL(churn_alerts_evaluate(a, 2, 2, cols, colv, fired), CHURN_OK);
    CU_ASSERT_EQUAL(fired[0], 3u);
    CU_ASSERT_EQUAL(fired[1], 0u);
    char text[256];
    size_t need = 0;
    CU_ASSERT_EQUAL(churn_alerts_describe(a, 3, text, sizeof text, &need), CHURN_OK);
    CU_ASSERT(strchr(text, ',') == NULL || strstr(text, "0,3") == NULL);
    churn_alerts_free(a);

    /* error messages: numbers with a decimal point */
    churn_km *km = NULL;
    double dur[2] = {1, 2}, ev[2] = {1, 0};
    churn_km_options ko = CHURN_KM_OPTIONS_INIT;
    ko.conf_level = 1.5;
    CU_ASSERT_EQUAL(churn_km_fit(&km, 2, dur, ev, NULL, NULL, &ko), CHURN_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(churn_last_error_message(), "1.5"));

    /* CSV numbers and dates */
    const char csv[] = "customer_id,date,amount\n"
                       "a,2024-01-02,12.5\n"
                       "a,2024-01-09T10:30:15.5,0.25\n"
                       "b,2024-02-01,1e3\n";
    churn_txlog *log = NULL;
    CU_ASSERT_EQUAL(churn_txlog_new(&log), CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_read_csv_buffer(log, csv, sizeof csv - 1, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 3u);
    const double *amt = churn_txlog_amounts(log);
    if (amt && churn_txlog_num_transactions(log) == 3) {
        CU_ASSERT_EQUAL(amt[0], 12.5);
        CU_ASSERT_EQUAL(amt[1], 0.25);
        CU_ASSERT_EQUAL(amt[2], 1000.0);
    }
    churn_txlog_free(log);
    char date[32];
    CU_ASSERT_EQUAL(churn_format_date(1704196800.0, date, sizeof date), CHURN_OK);
    CU_ASSERT_STRING_EQUAL(date, "2024-01-02");

    /* model files: save under the comma locale, load, same parameters; the
     * text has decimal points */
    double p[4] = {0.2425945, 4.4136019, 0.7929199, 2.4258881}, back[4];
    churn_model *m = NULL, *m2 = NULL;
    CU_ASSERT_EQUAL(churn_btyd_model_new(&m, CHURN_FAMILY_BGNBD, 4, p), CHURN_OK);
    static char buf[1 << 16];
    need = 0;
    CU_ASSERT_EQUAL(churn_model_save_buffer(m, buf, sizeof buf, &need), CHURN_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "0.242594"));
    CU_ASSERT_PTR_NULL(strstr(buf, "0,242594"));
    CU_ASSERT_EQUAL(churn_model_load_buffer(&m2, buf, strlen(buf)), CHURN_OK);
    CU_ASSERT_EQUAL(churn_model_params(m2, back, 4), CHURN_OK);
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(back[i], p[i]);
    churn_model_free(m);
    churn_model_free(m2);
    const char golden[] = "{\"format\": \"libchurn-model\", \"format_version\": 1, "
                          "\"library_version\": \"1.0.0\", \"family\": \"bgnbd\", "
                          "\"time_unit_days\": 7, \"param_names\": [\"r\", \"alpha\", \"a\", "
                          "\"b\"], \"params\": [0.2425945, 4.4136019, 0.7929199, 2.4258881], "
                          "\"std_errors\": [null, null, null, null], \"covariance\": null, "
                          "\"fit\": {\"loglik\": -9582.429, \"nobs\": 2357, \"converged\": "
                          "true, \"iterations\": 0}, \"features\": [], \"arrays\": {}}";
    CU_ASSERT_EQUAL(churn_model_load_buffer(&m2, golden, sizeof golden - 1), CHURN_OK);
    CU_ASSERT_EQUAL(churn_model_params(m2, back, 4), CHURN_OK);
    CU_ASSERT_EQUAL(back[0], 0.2425945);
    churn_model_free(m2);

    /* the time-unit text */
    char unit[64];
    churn_time_unit_describe(7.5, unit, sizeof unit);
    CU_ASSERT_PTR_NOT_NULL(strstr(unit, "7.5"));

    /* and the library changed nothing: still the comma locale */
    snprintf(probe, sizeof probe, "%.1f", 0.5);
    CU_ASSERT_STRING_EQUAL(probe, "0,5");
    setlocale(LC_ALL, saved);
    free(saved);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"GSL handler of the host kept and never called", test_gsl_handler_kept},
        {"Weibull scale beyond 171.6 vs mpmath", test_weibull_large_scale},
        {"churn_dert with delta 1e-12 vs mpmath", test_dert_tiny_delta},
        {"aborting GSL handler: no global state changed, nothing printed",
         test_no_global_state_no_output},
        {"comma-decimal locale: rules, CSV, model files, messages", test_comma_locale},
        CU_TEST_INFO_NULL,
    };
    return churn_test_run("host", tests);
}
