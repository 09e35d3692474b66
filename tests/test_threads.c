/* Thread safety (issue 11): fitted models shared read-only by 8 scoring
 * threads give exactly the single-threaded scores; independent fits on
 * separate handles in 4 threads equal the sequential fits; error messages
 * are thread-local. Run under ThreadSanitizer with tests/tsan.sh. */
#include <churn/btyd.h>
#include <churn/common.h>
#include <churn/logit.h>
#include <churn/model.h>
#include <churn/survival.h>
#include <churn/txlog.h>

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define NTHREADS 8
#define NFIT 4
#define NC 16000  /* customers scored (BG/NBD) */
#define NL 4000   /* customers scored (logit, Cox) */
#define NP 3      /* features */

static uint64_t lcg_state = 777;
static double uniform(void)
{
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(lcg_state >> 11) * (1.0 / 9007199254740992.0);
}

static double c_x[NC], c_tx[NC], c_T[NC];
static double l_x[NL * NP], l_y[NL], l_dur[NL], l_ev[NL];

static void make_data(void)
{
    /* BG/NBD process with r = 1, alpha = 5, a = 1, b = 3 (Fader, Hardie & Lee 2005):
     * lambda ~ Gamma(1, 5) = Exp, p ~ Beta(1, 3); drop out after a purchase w.p. p */
    for (int i = 0; i < NC; i++) {
        double T = 10 + 30 * uniform(), lambda = -log(1 - uniform()) / 5.0;
        double p = 1 - pow(1 - uniform(), 1.0 / 3.0), t = 0, x = 0, tx = 0;
        for (;;) {
            t += -log(1 - uniform()) / lambda;
            if (t > T)
                break;
            tx = t;
            x += 1;
            if (uniform() < p)
                break;
        }
        /* the first purchase at time 0 is not counted: x repeat purchases */
        c_T[i] = T;
        c_x[i] = x;
        c_tx[i] = x > 0 ? tx : 0;
    }
    for (int i = 0; i < NL; i++) {
        double lp = 0;
        for (int j = 0; j < NP; j++) {
            l_x[i * NP + j] = uniform() * 2 - 1;
            lp += (j + 1) * 0.5 * l_x[i * NP + j];
        }
        l_y[i] = uniform() < 1 / (1 + exp(-lp));
        l_dur[i] = 0.1 - log(uniform() + 1e-12) * exp(-0.5 * lp);
        l_ev[i] = uniform() < 0.8;
    }
}

/* ---- shared models, many readers ------------------------------------------------- */

static churn_model *g_bg, *g_lo, *g_cox;
static double ref_pa[NC], ref_ex[NC], ref_p[NL], ref_s[NL];
static double thr_pa[NC], thr_ex[NC], thr_p[NL], thr_s[NL];
static int thr_rc[NTHREADS];

static void *score_worker(void *arg)
{
    int t = (int)(intptr_t)arg;
    size_t c0 = (size_t)t * NC / NTHREADS, c1 = (size_t)(t + 1) * NC / NTHREADS;
    size_t l0 = (size_t)t * NL / NTHREADS, l1 = (size_t)(t + 1) * NL / NTHREADS;
    int rc = 0;
    /* several passes so the threads really overlap */
    for (int pass = 0; pass < 3 && rc == 0; pass++) {
        rc = churn_btyd_score(g_bg, 13, c1 - c0, c_x + c0, c_tx + c0, c_T + c0, thr_pa + c0,
                              thr_ex + c0);
        if (!rc)
            rc = churn_logit_predict(g_lo, l_x + l0 * NP, l1 - l0, NP, 0, 0, thr_p + l0, NULL);
        if (!rc)
            rc = churn_surv_predict(g_cox, l1 - l0, l_x + l0 * NP, 2.0, thr_s + l0, NULL, NULL);
    }
    thr_rc[t] = rc;
    return NULL;
}

static void test_shared_models(void)
{
    int rc = churn_btyd_fit(&g_bg, CHURN_FAMILY_BGNBD, 3000, c_x, c_tx, c_T, NULL, NULL);
    if (rc)
        printf("\n  BG/NBD fit: %s", churn_last_error_message());
    CU_ASSERT_EQUAL_FATAL(rc, CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_logit_fit(&g_lo, l_x, NL, NP, 0, 0, l_y, NULL, NULL, NULL), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_cox_fit(&g_cox, NL, NP, l_x, NULL, l_dur, l_ev, NULL, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(churn_btyd_score(g_bg, 13, NC, c_x, c_tx, c_T, ref_pa, ref_ex), CHURN_OK);
    CU_ASSERT_EQUAL(churn_logit_predict(g_lo, l_x, NL, NP, 0, 0, ref_p, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(churn_surv_predict(g_cox, NL, l_x, 2.0, ref_s, NULL, NULL), CHURN_OK);

    pthread_t th[NTHREADS];
    for (int t = 0; t < NTHREADS; t++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[t], NULL, score_worker, (void *)(intptr_t)t), 0);
    for (int t = 0; t < NTHREADS; t++) {
        pthread_join(th[t], NULL);
        CU_ASSERT_EQUAL(thr_rc[t], CHURN_OK);
    }
    /* bitwise equal: the same arithmetic on the same inputs */
    CU_ASSERT_EQUAL(memcmp(ref_pa, thr_pa, sizeof ref_pa), 0);
    CU_ASSERT_EQUAL(memcmp(ref_ex, thr_ex, sizeof ref_ex), 0);
    CU_ASSERT_EQUAL(memcmp(ref_p, thr_p, sizeof ref_p), 0);
    CU_ASSERT_EQUAL(memcmp(ref_s, thr_s, sizeof ref_s), 0);
    printf("\n  %d threads scored %d BG/NBD + %d logit + %d Cox customers x 3 passes each; "
           "identical to one thread", NTHREADS, NC, NL, NL);
    churn_model_free(g_bg);
    churn_model_free(g_lo);
    churn_model_free(g_cox);
}

/* ---- independent fits in parallel ----------------------------------------------- */

#define NPAR 32
typedef struct {
    int which;           /* 0 BG/NBD, 1 logit, 2 Cox, 3 Weibull */
    int rc;
    size_t np;
    double par[NPAR];
    double loglik;
} fit_job;

static void run_fit(fit_job *j)
{
    churn_model *m = NULL;
    /* each job fits on its own slice of rows, so the four fits differ */
    size_t off = (size_t)j->which * (NL / 8), n = NL / 2;
    switch (j->which) {
    case 0:
        j->rc = churn_btyd_fit(&m, CHURN_FAMILY_BGNBD, 2000, c_x + off, c_tx + off, c_T + off, NULL,
                               NULL);
        break;
    case 1:
        j->rc = churn_logit_fit(&m, l_x + off * NP, n, NP, 0, 0, l_y + off, NULL, NULL, NULL);
        break;
    case 2:
        j->rc = churn_cox_fit(&m, n, NP, l_x + off * NP, NULL, l_dur + off, l_ev + off, NULL, NULL);
        break;
    default:
        j->rc = churn_aft_fit(&m, CHURN_FAMILY_WEIBULL, n, NP, l_x + off * NP, NULL, l_dur + off,
                              l_ev + off, NULL, NULL);
        break;
    }
    if (m) {
        j->np = churn_model_num_params(m);
        if (j->np > NPAR)
            j->np = NPAR;
        churn_model_params(m, j->par, j->np);
        j->loglik = churn_model_loglik(m);
        churn_model_free(m);
    }
}

static void *fit_worker(void *arg)
{
    run_fit(arg);
    return NULL;
}

static void test_parallel_fits(void)
{
    fit_job seq[NFIT], par[NFIT];
    memset(seq, 0, sizeof seq);
    memset(par, 0, sizeof par);
    for (int i = 0; i < NFIT; i++) {
        seq[i].which = par[i].which = i;
        run_fit(&seq[i]);
        if (seq[i].rc)
            printf("\n  fit %d: %s", i, churn_last_error_message());
        CU_ASSERT_EQUAL(seq[i].rc, CHURN_OK);
    }
    pthread_t th[NFIT];
    for (int i = 0; i < NFIT; i++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, fit_worker, &par[i]), 0);
    for (int i = 0; i < NFIT; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < NFIT; i++) {
        CU_ASSERT_EQUAL(par[i].rc, seq[i].rc);
        CU_ASSERT_EQUAL(par[i].np, seq[i].np);
        CU_ASSERT(par[i].np > 0);
        CU_ASSERT_EQUAL(memcmp(par[i].par, seq[i].par, seq[i].np * sizeof(double)), 0);
        CU_ASSERT(par[i].loglik == seq[i].loglik);
    }
    printf("\n  %d fits (BG/NBD 2000 rows, logit/Cox/Weibull %d rows) in parallel threads equal "
           "the sequential fits", NFIT, NL / 2);
}

/* ---- thread-local errors -------------------------------------------------------- */

static pthread_barrier_t g_barrier;
static int err_ok[NTHREADS];

static void *error_worker(void *arg)
{
    int t = (int)(intptr_t)arg;
    int rc, want;
    char row_text[32];
    /* every thread fails a different call, or on a different row */
    double x[NTHREADS + 1], tx[NTHREADS + 1], T[NTHREADS + 1], out[NTHREADS + 1];
    for (int i = 0; i <= NTHREADS; i++)
        x[i] = 1, tx[i] = 2, T[i] = 5;
    churn_model *m = NULL;
    static const double par[4] = {0.243, 4.414, 0.793, 2.426};
    churn_btyd_model_new(&m, CHURN_FAMILY_BGNBD, 4, par);
    if (t % 2 == 0) {
        tx[t] = 9; /* recency > T in row t */
        rc = churn_btyd_p_alive(m, NTHREADS + 1, x, tx, T, out);
        want = CHURN_EINVAL;
        snprintf(row_text, sizeof row_text, "row %d", t);
    } else if (t % 4 == 1) {
        churn_model *bad = (churn_model *)1;
        rc = churn_model_load_buffer(&bad, "{\"format\": 3", 12);
        if (bad != NULL)
            rc = -1000; /* a failed load must leave NULL */
        want = CHURN_EFORMAT;
        snprintf(row_text, sizeof row_text, "%s", "");
    } else {
        double d = t;
        rc = churn_parse_date("2023-02-29", 10, CHURN_DATE_ISO, &d);
        want = CHURN_EFORMAT;
        snprintf(row_text, sizeof row_text, "%s", "2023-02-29");
    }
    char mine[512];
    snprintf(mine, sizeof mine, "%s", churn_last_error_message());
    int code = churn_last_error_code();
    /* wait until every thread has set its error, then check ours is intact */
    pthread_barrier_wait(&g_barrier);
    err_ok[t] = rc == want && code == want && strcmp(mine, churn_last_error_message()) == 0 &&
                mine[0] != '\0' && strstr(mine, row_text) != NULL;
    if (!err_ok[t])
        printf("\n  thread %d: status %d, message '%s' now '%s'", t, rc, mine,
               churn_last_error_message());
    /* a success clears nothing of the other threads' errors */
    churn_clear_error();
    pthread_barrier_wait(&g_barrier);
    churn_model_free(m);
    return NULL;
}

static void test_thread_local_errors(void)
{
    pthread_barrier_init(&g_barrier, NULL, NTHREADS);
    pthread_t th[NTHREADS];
    for (int t = 0; t < NTHREADS; t++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[t], NULL, error_worker, (void *)(intptr_t)t), 0);
    for (int t = 0; t < NTHREADS; t++) {
        pthread_join(th[t], NULL);
        CU_ASSERT(err_ok[t]);
    }
    pthread_barrier_destroy(&g_barrier);
    /* the main thread's own error state is untouched by the workers */
    CU_ASSERT_EQUAL(churn_last_error_code(), CHURN_OK);
}

int main(void)
{
    make_data();
    churn_clear_error();
    CU_TestInfo tests[] = {
        {"8 threads share fitted models", test_shared_models},
        {"independent fits in parallel", test_parallel_fits},
        {"thread-local error messages", test_thread_local_errors},
        CU_TEST_INFO_NULL,
    };
    return churn_test_run("threads", tests);
}
