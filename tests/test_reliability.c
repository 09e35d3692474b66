/* Reliability tests (issue 11):
 *  - allocation-failure injection over representative workloads: every
 *    failure is CHURN_ENOMEM (or OK with the same answer), leaves no live
 *    block and no half-built object (*out == NULL);
 *  - adversarial numerics, table-driven over the public numeric functions:
 *    each case gives its documented status with a message, or a finite
 *    answer (checked against a closed form where there is one);
 *  - regressions for inputs found by the fuzz targets (tests/fuzz/).
 * docs/reliability.md reports the counts this program prints.
 * Issue 19 item 8: a workload for every exported function that can allocate;
 * tests/alloc_entry_points.txt says which (checked here against lib/libchurn.map
 * and by tests/check_alloc_entry_points.py against the library's calls). */
#include <churn/btyd.h>
#include <churn/common.h>
#include <churn/customers.h>
#include <churn/logit.h>
#include <churn/metrics.h>
#include <churn/model.h>
#include <churn/report.h>
#include <churn/spend.h>
#include <churn/covariates.h>
#include <churn/survival.h>
#include <churn/simulate.h>
#include <churn/txlog.h>

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

/* ---- test data (plain arrays: nothing allocated by libchurn before the hook) ---- */

#define NB 40 /* BTYD customers */
static double b_x[NB], b_tx[NB], b_T[NB], b_z[NB];
#define NS 60 /* survival / logit rows */
static double s_x[NS * 2], s_dur[NS], s_ev[NS], s_y[NS];

/* deterministic LCG: no libchurn allocation, identical on every run */
static uint64_t lcg_state = 12345;
static double LCG(void)
{
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(lcg_state >> 11) * (1.0 / 9007199254740992.0);
}

#define NSIM 300 /* BG/NBD customers simulated from known parameters */
static double sim_x[NSIM], sim_tx[NSIM], sim_T[NSIM], sim_z[NSIM];

static void make_data(void)
{
    /* BG/NBD process, r = 1, alpha = 5, a = 1, b = 3 (Fader, Hardie & Lee 2005):
     * lambda ~ Exp(rate 5), p ~ Beta(1, 3), dropout after each repeat purchase w.p. p */
    for (int i = 0; i < NSIM; i++) {
        double T = 10 + 30 * LCG(), lambda = -log(1 - LCG()) / 5.0;
        double p = 1 - pow(1 - LCG(), 1.0 / 3.0), t = 0, x = 0, tx = 0;
        for (;;) {
            t += -log(1 - LCG()) / lambda;
            if (t > T)
                break;
            tx = t;
            x += 1;
            if (LCG() < p)
                break;
        }
        sim_x[i] = x, sim_tx[i] = x > 0 ? tx : 0, sim_T[i] = T;
    }
    for (int i = 0; i < NB; i++) {
        double T = 20 + 20 * LCG();
        double x = floor(6 * LCG() * LCG());
        b_T[i] = T;
        b_x[i] = x;
        b_tx[i] = x > 0 ? T * (0.2 + 0.8 * LCG()) : 0;
        b_z[i] = 10 + 30 * LCG();
    }
    for (int i = 0; i < NS; i++) {
        double a = LCG() * 2 - 1, b = LCG();
        s_x[2 * i] = a;
        s_x[2 * i + 1] = b;
        s_dur[i] = 1 + 10 * LCG() * exp(-0.5 * a);
        s_ev[i] = LCG() < 0.7;
        s_y[i] = LCG() < 1 / (1 + exp(-(a - 0.5 * b))); /* noisy: not separable */
    }
    s_y[0] = 0, s_y[1] = 1; /* both classes */
    s_ev[0] = 1;
    /* mean spends of the simulated customers, drawn last so every array above keeps its
     * values: uniform on [10, 40], enough repeat buyers (about 175) for Gamma-Gamma refits */
    for (int i = 0; i < NSIM; i++)
        sim_z[i] = 10 + 30 * LCG();
}

static const char csv_text[] =
    "customer_id,date,amount,quantity,product\n"
    "a,2024-01-01,10.5,1,p1\n"
    "b,2024-01-03,3,2,p2\n"
    "a,2024-02-01,7,1,p1\n"
    "c,2024-02-11T10:00:00Z,12,1,p3\n"
    "b,2024-03-04,3.25,1,p2\n"
    "\"d,e\",2024-03-05,1,1,p1\n"
    "a,2024-03-20,9,2,p3\n"
    "c,2024-04-01,1,1,p2\n"
    "f,2024-04-02,-5,1,p2\n"
    "b,2024-05-04,30,4,p4\n";

/* ---- the counting, failing allocator ---------------------------------------------- */

static long g_live;     /* blocks currently allocated through the hook */
static long g_count;    /* allocations (fresh + grow) so far */
static long g_fail_at;  /* index of the allocation to fail, -1 = none */
static long g_failed;   /* 1 once the failure has been injected */

static void *counting_alloc(void *ud, void *ptr, size_t nsize)
{
    (void)ud;
    if (nsize == 0) {
        if (ptr)
            g_live--;
        free(ptr);
        return NULL;
    }
    if (g_count++ == g_fail_at) {
        g_failed = 1;
        return NULL;
    }
    void *q = realloc(ptr, nsize);
    if (q && !ptr)
        g_live++;
    return q;
}

/* A workload makes its objects, runs, writes a digest of its result (up to
 * 64 numbers) and frees everything. It returns the status of the first call
 * that failed, and asserts itself that a failing constructor left *out NULL. */
typedef int (*workload_fn)(double *digest, size_t *nd);

static int out_null_violations;

#define OUT_MUST_BE_NULL(rc, ptr) \
    do { if ((rc) != CHURN_OK && (rc) != CHURN_ENOCONV && (ptr) != NULL) out_null_violations++; } while (0)

static void digest_params(const churn_model *m, double *d, size_t *nd)
{
    size_t np = churn_model_num_params(m);
    if (np > 60)
        np = 60;
    churn_model_params(m, d, np);
    d[np] = churn_model_loglik(m);
    *nd = np + 1;
}

static int wl_csv(double *d, size_t *nd)
{
    churn_txlog *log = (churn_txlog *)1;
    int rc = churn_txlog_new(&log);
    OUT_MUST_BE_NULL(rc, log);
    if (rc)
        return rc;
    churn_csv_options o = CHURN_CSV_OPTIONS_INIT;
    o.quantity_column = "quantity";
    o.product_column = "product";
    rc = churn_txlog_read_csv_buffer(log, csv_text, sizeof csv_text - 1, &o);
    if (rc == CHURN_OK) {
        size_t n = churn_txlog_num_transactions(log);
        d[0] = (double)n;
        d[1] = (double)churn_txlog_num_customers(log);
        d[2] = (double)churn_txlog_num_products(log);
        d[3] = d[4] = 0;
        for (size_t i = 0; i < n; i++) {
            d[3] += churn_txlog_times(log)[i];
            d[4] += churn_txlog_amounts(log)[i] * churn_txlog_quantities(log)[i];
        }
        *nd = 5;
    } else if (churn_txlog_num_transactions(log) != 0) {
        rc = -1000; /* a failed read must keep no row */
    }
    churn_txlog_free(log);
    return rc;
}

static int wl_customers(double *d, size_t *nd)
{
    churn_txlog *log = NULL;
    int rc = churn_txlog_new(&log);
    if (rc)
        return rc;
    rc = churn_txlog_read_csv_buffer(log, csv_text, sizeof csv_text - 1, NULL);
    if (rc == CHURN_OK) {
        churn_customers *t = (churn_customers *)1;
        churn_customer_options o = CHURN_CUSTOMER_OPTIONS_INIT;
        churn_parse_date("2024-03-31", 10, CHURN_DATE_ISO, &o.cutoff);
        churn_parse_date("2024-06-30", 10, CHURN_DATE_ISO, &o.holdout_end);
        o.time_unit = CHURN_UNIT_WEEK;
        rc = churn_customers_build(&t, log, &o);
        OUT_MUST_BE_NULL(rc, t);
        if (rc == CHURN_OK) {
            size_t nr = churn_customers_num_rows(t), nc = churn_customers_num_columns(t);
            d[0] = (double)nr;
            d[1] = (double)nc;
            size_t k = 2;
            for (size_t j = 0; j < nc && k < 64; j++) {
                const double *c = churn_customers_column_at(t, j);
                double s = 0;
                for (size_t i = 0; i < nr; i++)
                    s += isnan(c[i]) ? 0.5 : c[i];
                d[k++] = s;
            }
            size_t row = 99;
            int rf = churn_customers_find(t, "c", &row); /* builds the id index */
            if (rf == CHURN_OK && k < 64)
                d[k++] = (double)row;
            else if (rf != CHURN_OK)
                rc = rf;
            *nd = k;
            churn_customers_free(t);
        }
    }
    churn_txlog_free(log);
    return rc;
}

/* small weighted pattern tables: each fit converges in milliseconds */
static const double w_x[8] = {0, 1, 2, 0, 5, 3, 1, 4}, w_tx[8] = {0, 3, 30, 0, 8, 34, 5, 6};
static const double w_T[8] = {38, 38, 38, 30, 38, 35, 20, 25}, w_w[8] = {30, 10, 6, 20, 2, 4, 8, 15};
static const double bb_px[7] = {0, 1, 1, 2, 3, 5, 6}, bb_ptx[7] = {0, 1, 6, 4, 6, 6, 6};
static const double bb_pn[7] = {6, 6, 6, 6, 6, 6, 6}, bb_pw[7] = {300, 60, 30, 40, 50, 60, 80};

static int fit_btyd_family(int fam, double *d, size_t *nd)
{
    churn_model *m = (churn_model *)1;
    int rc = fam == CHURN_FAMILY_BGBB   ? churn_btyd_fit(&m, fam, 7, bb_px, bb_ptx, bb_pn, bb_pw, NULL)
             : fam == CHURN_FAMILY_BGNBD ? churn_btyd_fit(&m, fam, NSIM, sim_x, sim_tx, sim_T, NULL, NULL)
                                         : churn_btyd_fit(&m, fam, 8, w_x, w_tx, w_T, w_w, NULL);
    OUT_MUST_BE_NULL(rc, m);
    if (rc == CHURN_OK || rc == CHURN_ENOCONV) {
        digest_params(m, d, nd);
        churn_model_free(m);
    }
    return rc;
}
static int wl_bgnbd(double *d, size_t *nd) { return fit_btyd_family(CHURN_FAMILY_BGNBD, d, nd); }
static int wl_pnbd(double *d, size_t *nd) { return fit_btyd_family(CHURN_FAMILY_PNBD, d, nd); }
static int wl_bgbb(double *d, size_t *nd) { return fit_btyd_family(CHURN_FAMILY_BGBB, d, nd); }
/* A BG/NBD fit with one trans and one life covariate (covariates.h), then its scores. */
static int wl_covariates(double *d, size_t *nd)
{
    static double zt[NSIM], zl[NSIM];
    for (int i = 0; i < NSIM; i++) {
        zt[i] = (i % 7) / 3.0 - 1;
        zl[i] = i % 2;
    }
    const char *tn[] = {"t"}, *ln[] = {"l"};
    churn_btyd_covariates cov = CHURN_BTYD_COVARIATES_INIT;
    cov.n_trans = 1, cov.trans = zt, cov.trans_names = tn;
    cov.n_life = 1, cov.life = zl, cov.life_names = ln;
    churn_model *m = (churn_model *)1;
    int rc = churn_btyd_fit_covariates(&m, CHURN_FAMILY_BGNBD, NSIM, sim_x, sim_tx, sim_T, NULL,
                                       &cov, NULL);
    if (rc != CHURN_OK && rc != CHURN_ENOCONV) {
        OUT_MUST_BE_NULL(rc, m);
        return rc;
    }
    digest_params(m, d, nd);
    double pa[4];
    int rs = churn_btyd_score_covariates(m, 10, 4, sim_x, sim_tx, sim_T, &cov, pa, NULL);
    for (int i = 0; i < 4 && rs == CHURN_OK && *nd < 64; i++)
        d[(*nd)++] = pa[i];
    churn_model_free(m);
    return rc ? rc : rs;
}

/* A Pareto/NBD fit with one time-varying trans and one life covariate on a 10-period
 * grid (covariates.h, dyncov.c), then its scores and new-customer forecasts. */
#define DYN_P 10
static int wl_dyncov(double *d, size_t *nd)
{
    static double bnd[DYN_P + 1], birth[NSIM], cnt[DYN_P * NSIM], zt[DYN_P * NSIM],
        zl[DYN_P * NSIM];
    double Tmax = 0;
    for (int i = 0; i < NSIM; i++)
        Tmax = sim_T[i] > Tmax ? sim_T[i] : Tmax;
    for (int p = 0; p <= DYN_P; p++)
        bnd[p] = (Tmax + 2) * p / DYN_P;
    memset(cnt, 0, sizeof cnt);
    for (int i = 0; i < NSIM; i++) {
        birth[i] = Tmax - sim_T[i];
        int last = 0;
        while (last + 1 < DYN_P && bnd[last + 1] <= birth[i] + sim_tx[i])
            last++;
        cnt[last * NSIM + i] = sim_x[i];
        for (int p = 0; p < DYN_P; p++) {
            zt[p * NSIM + i] = (i + p) % 3 == 0;
            zl[p * NSIM + i] = (i * p) % 2;
        }
    }
    const char *tn[] = {"t"}, *ln[] = {"l"};
    churn_btyd_dyncov dc = CHURN_BTYD_DYNCOV_INIT;
    dc.n_periods = DYN_P, dc.boundaries = bnd, dc.birth = birth, dc.counts = cnt;
    dc.n_trans = 1, dc.trans = zt, dc.trans_names = tn;
    dc.n_life = 1, dc.life = zl, dc.life_names = ln;
    churn_model *m = (churn_model *)1;
    int rc = churn_pnbd_dyncov_fit(&m, NSIM, sim_x, sim_tx, sim_T, NULL, &dc, NULL);
    if (rc != CHURN_OK && rc != CHURN_ENOCONV) {
        OUT_MUST_BE_NULL(rc, m);
        return rc;
    }
    digest_params(m, d, nd);
    double pa[4], ex[4];
    int rs = churn_pnbd_dyncov_score(m, 1, 4, sim_x, sim_tx, sim_T, &dc, pa, ex);
    if (rs == CHURN_OK)
        rs = churn_pnbd_dyncov_expected_new(m, 1, 4, &dc, ex + 0);
    for (int i = 0; i < 4 && rs == CHURN_OK && *nd < 64; i++)
        d[(*nd)++] = pa[i] + ex[i];
    churn_model_free(m);
    return rc ? rc : rs;
}

/* Bootstrap intervals of a BG/NBD fit, one thread (the failing allocator counts calls). */
static int wl_bootstrap(double *d, size_t *nd)
{
    churn_model *m = (churn_model *)1;
    int rc = churn_btyd_fit(&m, CHURN_FAMILY_BGNBD, NSIM, sim_x, sim_tx, sim_T, NULL, NULL);
    OUT_MUST_BE_NULL(rc, m);
    if (rc != CHURN_OK && rc != CHURN_ENOCONV)
        return rc;
    churn_bootstrap_options o;
    churn_bootstrap_options_init(&o);
    o.resamples = 20;
    double lo[3], hi[3];
    rc = churn_btyd_bootstrap_interval(m, NSIM, sim_x, sim_tx, sim_T, 10, 3, sim_x, sim_tx,
                                       sim_T, &o, lo, hi, NULL, NULL, NULL);
    for (int i = 0; i < 3 && rc == CHURN_OK && *nd + 2 <= 64; i++) {
        d[(*nd)++] = lo[i];
        d[(*nd)++] = hi[i];
    }
    churn_model_free(m);
    return rc;
}

/* The covariates of the covariate workloads (one per process: a 0/1 flag and a -1/0/1
 * code, z is 2 x NSIM) and the BG/NBD fitted with them to the simulated customers. */
static int fit_cov_bgnbd(double *z, churn_btyd_covariates *cov, churn_model **m)
{
    for (int i = 0; i < NSIM; i++) {
        z[i] = i % 2;
        z[NSIM + i] = (i % 3) - 1.0;
    }
    static const char *const tn[1] = {"promo"}, *const ln[1] = {"b2b"};
    churn_btyd_covariates_init(cov);
    cov->n_trans = 1, cov->trans = z, cov->trans_names = tn;
    cov->n_life = 1, cov->life = z + NSIM, cov->life_names = ln;
    *m = (churn_model *)1;
    int rc = churn_btyd_fit_covariates(m, CHURN_FAMILY_BGNBD, NSIM, sim_x, sim_tx, sim_T, NULL,
                                       cov, NULL);
    OUT_MUST_BE_NULL(rc, *m);
    return rc;
}

/* Delta-method intervals of a covariate BG/NBD (one covariate per process). */
static int wl_interval_cov(double *d, size_t *nd)
{
    double z[2 * NSIM];
    churn_btyd_covariates cov;
    churn_model *m;
    int rc = fit_cov_bgnbd(z, &cov, &m);
    if (rc != CHURN_OK && rc != CHURN_ENOCONV)
        return rc;
    double lo[4], hi[4];
    rc = churn_btyd_predict_interval_covariates(m, 10, 0.9, 4, sim_x, sim_tx, sim_T, &cov, NULL,
                                                lo, hi, NULL, NULL, NULL);
    for (int i = 0; i < 4 && rc == CHURN_OK && *nd + 2 <= 64; i++) {
        d[(*nd)++] = lo[i];
        d[(*nd)++] = hi[i];
    }
    churn_model_free(m);
    return rc;
}

/* MBG/CNBD-k with k = 1 (no litt needed): the per-k fit and the 5-parameter model */
static int wl_mbgcnbd(double *d, size_t *nd)
{
    churn_model *m = (churn_model *)1;
    int rc = churn_mbgcnbd_fit(&m, 1, NSIM, sim_x, sim_tx, sim_T, NULL, NULL, NULL);
    OUT_MUST_BE_NULL(rc, m);
    if (rc == CHURN_OK || rc == CHURN_ENOCONV) {
        digest_params(m, d, nd);
        churn_model_free(m);
    }
    return rc;
}

/* MBG/CNBD-k with one covariate per process, k = 2 fixed (litt: a made-up finite sum, 0 for
 * x = 0), then the scores of four customers. */
static int wl_mbgcnbd_cov(double *d, size_t *nd)
{
    double z[2 * NSIM], litt[NSIM];
    for (int i = 0; i < NSIM; i++) {
        z[i] = i % 2;
        z[NSIM + i] = (i % 3) - 1.0;
        litt[i] = sim_x[i] > 0 ? sim_x[i] * 0.5 : 0.0;
    }
    static const char *const tn[1] = {"promo"}, *const ln[1] = {"b2b"};
    churn_btyd_covariates cov;
    churn_btyd_covariates_init(&cov);
    cov.n_trans = 1, cov.trans = z, cov.trans_names = tn;
    cov.n_life = 1, cov.life = z + NSIM, cov.life_names = ln;
    churn_model *m = (churn_model *)1;
    int rc = churn_mbgcnbd_fit_covariates(&m, 2, NSIM, sim_x, sim_tx, sim_T, litt, NULL, &cov,
                                          NULL);
    OUT_MUST_BE_NULL(rc, m);
    if (rc != CHURN_OK && rc != CHURN_ENOCONV)
        return rc;
    double pa[4], ex[4];
    int sc = churn_btyd_score_covariates(m, 10, 4, sim_x, sim_tx, sim_T, &cov, pa, ex);
    if (sc == CHURN_OK) {
        digest_params(m, d, nd);
        for (int i = 0; i < 4 && *nd + 2 <= 64; i++) {
            d[(*nd)++] = pa[i];
            d[(*nd)++] = ex[i];
        }
    }
    churn_model_free(m);
    return sc ? sc : rc;
}

static int wl_sbg(double *d, size_t *nd)
{
    static const double surv[8] = {1000, 631, 468, 382, 326, 289, 262, 241};
    churn_model *m = (churn_model *)1;
    int rc = churn_sbg_fit_survivors(&m, 8, surv, NULL);
    OUT_MUST_BE_NULL(rc, m);
    if (rc == CHURN_OK) {
        digest_params(m, d, nd);
        churn_model_free(m);
    }
    return rc;
}

static int wl_gammagamma(double *d, size_t *nd)
{
    churn_model *m = (churn_model *)1;
    int rc = churn_gammagamma_fit(&m, NB, b_x, b_z, NULL, NULL);
    OUT_MUST_BE_NULL(rc, m);
    if (rc == CHURN_OK || rc == CHURN_ENOCONV) {
        digest_params(m, d, nd);
        churn_model_free(m);
    }
    return rc;
}

static int wl_logit(double *d, size_t *nd)
{
    static const char *const names[] = {"a", "b"};
    churn_model *m = (churn_model *)1;
    int rc = churn_logit_fit(&m, s_x, NS, 2, 0, 0, s_y, NULL, names, NULL);
    OUT_MUST_BE_NULL(rc, m);
    if (rc == CHURN_OK) {
        digest_params(m, d, nd);
        churn_model_free(m);
    }
    return rc;
}

static int wl_cox(double *d, size_t *nd)
{
    churn_model *m = (churn_model *)1;
    int rc = churn_cox_fit(&m, NS, 2, s_x, NULL, s_dur, s_ev, NULL, NULL);
    OUT_MUST_BE_NULL(rc, m);
    if (rc == CHURN_OK) {
        digest_params(m, d, nd);
        double sv[3];
        static const double x3[6] = {0, 0.5, -1, 0.2, 1, 1};
        int r2 = churn_surv_predict(m, 3, x3, 4.0, sv, NULL, NULL);
        if (r2 == CHURN_OK)
            memcpy(d + *nd, sv, sizeof sv), *nd += 3;
        else
            rc = r2;
        churn_model_free(m);
    }
    return rc;
}

static int wl_weibull(double *d, size_t *nd)
{
    churn_model *m = (churn_model *)1;
    int rc = churn_aft_fit(&m, CHURN_FAMILY_WEIBULL, NS, 2, s_x, NULL, s_dur, s_ev, NULL, NULL);
    OUT_MUST_BE_NULL(rc, m);
    if (rc == CHURN_OK) {
        digest_params(m, d, nd);
        churn_model_free(m);
    }
    return rc;
}

static int wl_save_load(double *d, size_t *nd)
{
    static const double par[4] = {0.243, 4.414, 0.793, 2.426};
    churn_model *m = NULL, *m2 = (churn_model *)1;
    int rc = churn_btyd_model_new(&m, CHURN_FAMILY_BGNBD, 4, par);
    if (rc)
        return rc;
    size_t need = 0;
    rc = churn_model_save_buffer(m, NULL, 0, &need);
    if (rc == CHURN_ERANGE) {
        char *buf = malloc(need);
        rc = churn_model_save_buffer(m, buf, need, NULL);
        if (rc == CHURN_OK) {
            rc = churn_model_load_buffer(&m2, buf, need - 1);
            OUT_MUST_BE_NULL(rc, m2);
            if (rc == CHURN_OK) {
                digest_params(m2, d, nd);
                churn_model_free(m2);
            }
        }
        free(buf);
    }
    churn_model_free(m);
    return rc;
}

static int wl_km(double *d, size_t *nd)
{
    churn_km *km = (churn_km *)1;
    int rc = churn_km_fit(&km, NS, s_dur, s_ev, NULL, NULL, NULL);
    OUT_MUST_BE_NULL(rc, km);
    if (rc == CHURN_OK) {
        static const double t[4] = {0.5, 2, 5, 40};
        double med = NAN, lo = NAN, hi = NAN, q = NAN, rm = NAN, se = NAN, sv[4];
        if (!(rc = churn_km_median(km, 0, &med, &lo, &hi)) &&
            !(rc = churn_km_quantile(km, 0, 0.25, &q, NULL, NULL)) &&
            !(rc = churn_km_rmean(km, 0, 8.0, &rm, &se)) &&
            !(rc = churn_km_survival_at(km, 0, 4, t, sv))) {
            d[0] = med, d[1] = q, d[2] = rm, d[3] = se;
            memcpy(d + 4, sv, sizeof sv);
            *nd = 8;
        }
        churn_km_free(km);
    }
    return rc;
}

static int wl_auc(double *d, size_t *nd)
{
    int rc = churn_metrics_roc_auc(NS, s_dur, s_y, NULL, d);
    *nd = 1;
    return rc;
}

/* ---- workloads of issue 19 item 8: one per public entry point that allocates ------
 * tests/alloc_entry_points.txt maps every exported function to the workload below
 * that calls it, or says why it allocates nothing; test_entry_point_list() checks it
 * against lib/libchurn.map and tests/check_alloc_entry_points.py against the calls in
 * the built library. */

#define PUT(v) ((void)(*nd < 64 ? (d[(*nd)++] = (v)) : 0.0))

/* objects borrowed by the workloads, made before any failure is injected (with the
 * default allocator) and freed after: a simulated log, fitted models, a CSV file */
static churn_txlog *g_sim_log;
static churn_model *g_gg, *g_cox, *g_weibull;
static char g_csv_path[1024];
static char g_model_path[1024];
static double s_prob[NS], s_score[NS];
static int64_t s_group[NS];
#define SIM_START 852076800.0 /* 1997-01-01 */

static int wl_txlog_append(double *d, size_t *nd)
{
    churn_txlog *log = (churn_txlog *)1;
    int rc = churn_txlog_new(&log);
    OUT_MUST_BE_NULL(rc, log);
    if (rc)
        return rc;
    static const int64_t ids[5] = {7, 8, 7, 9, 123456789012LL};
    static const int64_t prods[5] = {1, 2, 1, 3, 2};
    static const double t[5] = {1e9, 1e9 + 86400, 1e9 + 2 * 86400, 1e9 + 5 * 86400, 1e9 + 9e5};
    static const double a[5] = {1, 2.5, 3, 4, 5}, q[5] = {1, 1, 2, 1, 3};
    static const char *const sid[3] = {"x", "y", "customer with a long id of 40 characters"};
    static const char *const sprod[3] = {"p", "q", "p"};
    if (!(rc = churn_txlog_append(log, "a", 1e9, 10)) &&
        !(rc = churn_txlog_append_ex(log, "b", 1e9 + 3600, 4, 2, "shoes")) &&
        !(rc = churn_txlog_append_arrays(log, 5, ids, t, a, q, prods)) &&
        !(rc = churn_txlog_append_arrays_str(log, 3, sid, t, a, q, sprod))) {
        PUT((double)churn_txlog_num_transactions(log));
        PUT((double)churn_txlog_num_customers(log));
        PUT((double)churn_txlog_num_products(log));
        size_t row = 99;
        PUT(churn_txlog_find_customer(log, "123456789012", &row) == CHURN_OK ? (double)row : -1);
    }
    churn_txlog_free(log);
    return rc;
}

static int count_rows_cb(churn_txlog *log, void *ud)
{
    *(double *)ud += (double)churn_txlog_num_transactions(log);
    return CHURN_OK;
}

static int wl_csv_file(double *d, size_t *nd)
{
    churn_txlog *log = NULL;
    int rc = churn_txlog_new(&log);
    if (rc)
        return rc;
    rc = churn_txlog_read_csv(log, g_csv_path, NULL);
    if (rc == CHURN_OK) {
        PUT((double)churn_txlog_num_transactions(log));
        PUT((double)churn_txlog_num_customers(log));
    }
    churn_txlog_free(log);
    return rc;
}

static int wl_csv_chunked(double *d, size_t *nd)
{
    churn_txlog *log = NULL;
    int rc = churn_txlog_new(&log);
    if (rc)
        return rc;
    double seen = 0;
    rc = churn_txlog_read_csv_chunked(log, g_csv_path, NULL, 3, count_rows_cb, &seen);
    if (rc == CHURN_OK) {
        PUT(seen);
        PUT((double)churn_txlog_num_customers(log));
    }
    churn_txlog_free(log);
    return rc;
}

static int wl_parse_date(double *d, size_t *nd)
{
    /* an epoch number of more than 127 characters is copied to the heap for strtod */
    char epoch[160];
    memset(epoch, '0', sizeof epoch);
    memcpy(epoch, "1700000000.", 11);
    epoch[sizeof epoch - 2] = '7';
    epoch[sizeof epoch - 1] = '\0';
    static const char *const dates[] = {"2024-02-29", "2024-02-29T23:59:59Z", NULL};
    static const int formats[] = {CHURN_DATE_ISO, CHURN_DATE_AUTO, CHURN_DATE_EPOCH};
    int rc = CHURN_OK;
    for (size_t i = 0; i < 3 && rc == CHURN_OK; i++) {
        const char *text = dates[i] ? dates[i] : epoch;
        double t = NAN;
        rc = churn_parse_date(text, strlen(text), formats[i], &t);
        PUT(t);
    }
    return rc;
}

static void sim_options(churn_simulate_options *o, size_t customers)
{
    churn_simulate_options_init(o);
    o->model = CHURN_FAMILY_BGNBD;
    o->customers = customers;
    o->seed = 7;
    o->days = 273;
    o->acquisition_days = 60;
    o->holdout_days = 273;
    o->r = 0.8, o->alpha = 6, o->a = 1.5, o->b = 4, o->p = 3, o->q = 5, o->gamma = 20;
}

static int wl_simulate(double *d, size_t *nd)
{
    churn_simulate_options o;
    sim_options(&o, 30);
    churn_txlog *log = NULL;
    int rc = churn_txlog_new(&log);
    if (rc)
        return rc;
    rc = churn_simulate_txlog(log, &o);
    if (rc == CHURN_OK) {
        PUT((double)churn_txlog_num_transactions(log));
        PUT(churn_txlog_max_time(log));
        double x[30], tx[30], T[30], xh[30], z[30];
        int alive[30];
        rc = churn_simulate_summary(&o, 30, x, tx, T, xh, z, alive);
        if (rc == CHURN_OK) {
            double s = 0;
            for (int i = 0; i < 30; i++)
                s += x[i] + tx[i] + T[i] + xh[i] + alive[i];
            PUT(s);
        }
    }
    churn_txlog_free(log);
    return rc;
}

static int wl_cohort(double *d, size_t *nd)
{
    churn_txlog *log = NULL;
    int rc = churn_txlog_new(&log);
    if (rc)
        return rc;
    rc = churn_txlog_read_csv_buffer(log, csv_text, sizeof csv_text - 1, NULL);
    if (rc == CHURN_OK) {
        size_t nc = 0, np = 0;
        rc = churn_customers_cohort_table(log, NULL, &nc, &np, NULL, NULL, NULL);
        if (rc == CHURN_OK && nc <= 8 && np <= 8) {
            double start[8], active[64], ret[64];
            rc = churn_customers_cohort_table(log, NULL, &nc, &np, start, active, ret);
            if (rc == CHURN_OK) {
                PUT((double)nc);
                PUT(start[0]);
                for (size_t i = 0; i < nc * np; i++)
                    PUT(active[i] + ret[i]);
            }
        } else if (rc == CHURN_OK) {
            rc = -1001;
        }
    }
    churn_txlog_free(log);
    return rc;
}

static int wl_model_file(double *d, size_t *nd)
{
    static const double par[4] = {0.243, 4.414, 0.793, 2.426};
    churn_model *m = NULL, *m2 = (churn_model *)1;
    int rc = churn_btyd_model_new(&m, CHURN_FAMILY_MBGNBD, 4, par);
    if (rc)
        return rc;
    rc = churn_model_save(m, g_model_path);
    if (rc == CHURN_OK) {
        rc = churn_model_load(&m2, g_model_path);
        OUT_MUST_BE_NULL(rc, m2);
        if (rc == CHURN_OK) {
            digest_params(m2, d, nd);
            churn_model_free(m2);
        }
    }
    churn_model_free(m);
    return rc;
}

static int wl_sbg_customers(double *d, size_t *nd)
{
    static const double per[8] = {1, 2, 3, 4, 5, 6, 7, 7};
    static const int churned[8] = {1, 1, 1, 1, 1, 1, 1, 0};
    static const double w[8] = {369, 163, 86, 56, 37, 27, 21, 241};
    churn_model *m = (churn_model *)1;
    int rc = churn_sbg_fit(&m, 8, per, churned, w, NULL);
    OUT_MUST_BE_NULL(rc, m);
    if (rc == CHURN_OK) {
        digest_params(m, d, nd);
        churn_model_free(m);
    }
    return rc;
}

static int wl_convert_unit(double *d, size_t *nd)
{
    static const double par[4] = {0.243, 4.414, 0.793, 2.426};
    churn_model *m = NULL;
    int rc = churn_btyd_model_new(&m, CHURN_FAMILY_BGNBD, 4, par);
    if (rc)
        return rc;
    if (!(rc = churn_model_set_time_unit(m, CHURN_UNIT_WEEK)) &&
        !(rc = churn_btyd_convert_time_unit(m, CHURN_UNIT_DAY)))
        digest_params(m, d, nd);
    churn_model_free(m);
    return rc;
}

static int wl_clv(double *d, size_t *nd)
{
    static const double par[4] = {0.243, 4.414, 0.793, 2.426};
    churn_model *m = NULL;
    int rc = churn_btyd_model_new(&m, CHURN_FAMILY_BGNBD, 4, par);
    if (rc)
        return rc;
    churn_clv_options o = CHURN_CLV_OPTIONS_INIT;
    o.period = 4.345;
    double disc[NB], pa[NB], ep[NB], es[NB], clv[NB], var[NB];
    if (!(rc = churn_clv_discounted_purchases(m, &o, NB, b_x, b_tx, b_T, disc)) &&
        !(rc = churn_clv_score(m, g_gg, &o, NB, b_x, b_tx, b_T, b_z, pa, ep, es, clv, var))) {
        double s = 0;
        for (int i = 0; i < NB; i++)
            s += disc[i] + pa[i] + ep[i] + es[i] + clv[i] + var[i];
        PUT(s);
    }
    churn_model_free(m);
    return rc;
}

/* CLV and DERT of a covariate BG/NBD (one covariate per process): each customer's own
 * parameters, then one CLV and one DERT per customer. */
static int wl_clv_cov(double *d, size_t *nd)
{
    double z[2 * NSIM];
    churn_btyd_covariates cov;
    churn_model *m;
    int rc = fit_cov_bgnbd(z, &cov, &m);
    if (rc != CHURN_OK && rc != CHURN_ENOCONV)
        return rc;
    double p[4 * 4], mv[4] = {20, 35, 10, 50}, clv[4], var[4];
    churn_clv_options o = CHURN_CLV_OPTIONS_INIT;
    o.period = 4.345;
    double dert[4];
    if (!(rc = churn_btyd_customer_params_covariates(m, 4, &cov, p)) &&
        !(rc = churn_clv_score_covariates(m, g_gg, &o, 4, sim_x, sim_tx, sim_T, mv, &cov, NULL,
                                          NULL, NULL, clv, var)) &&
        !(rc = churn_dert_covariates(m, 0.01, 4, sim_x, sim_tx, sim_T, &cov, dert))) {
        double s = 0;
        for (int i = 0; i < 4; i++)
            s += clv[i] + var[i] + p[i] + dert[i];
        PUT(s);
    }
    churn_model_free(m);
    return rc;
}

/* Bootstrap intervals of a covariate BG/NBD: 20 covariate refits of the first NB_COV
 * simulated customers (every allocation of the workload is failed once, so a workload of
 * 20 refits of all NSIM customers took 40 s). */
#define NB_COV 80
static int wl_bootstrap_cov(double *d, size_t *nd)
{
    double z[2 * NB_COV];
    for (int i = 0; i < NB_COV; i++) {
        z[i] = i % 2;
        z[NB_COV + i] = (i % 3) - 1.0;
    }
    static const char *const tn[1] = {"promo"}, *const ln[1] = {"b2b"};
    churn_btyd_covariates cov;
    churn_btyd_covariates_init(&cov);
    cov.n_trans = 1, cov.trans = z, cov.trans_names = tn;
    cov.n_life = 1, cov.life = z + NB_COV, cov.life_names = ln;
    churn_model *m = (churn_model *)1;
    int rc = churn_btyd_fit_covariates(&m, CHURN_FAMILY_BGNBD, NB_COV, sim_x, sim_tx, sim_T,
                                       NULL, &cov, NULL);
    OUT_MUST_BE_NULL(rc, m);
    if (rc != CHURN_OK && rc != CHURN_ENOCONV)
        return rc;
    churn_bootstrap_options o;
    churn_bootstrap_options_init(&o);
    o.resamples = 20;
    double lo[3], hi[3];
    size_t failed = 0;
    rc = churn_btyd_bootstrap_interval_covariates(m, NB_COV, sim_x, sim_tx, sim_T, &cov, NULL,
                                                  10, 3, sim_x, sim_tx, sim_T, &cov, &o, lo,
                                                  hi, NULL, NULL, &failed);
    for (int i = 0; i < 3 && rc == CHURN_OK && *nd + 2 <= 64; i++) {
        d[(*nd)++] = lo[i];
        d[(*nd)++] = hi[i];
    }
    churn_model_free(m);
    return rc;
}

/* Delta-method intervals of the CLV of a covariate BG/NBD (one covariate per process) and
 * the fitted Gamma-Gamma model. */
static int wl_clv_interval_cov(double *d, size_t *nd)
{
    double z[2 * NSIM];
    churn_btyd_covariates cov;
    churn_model *m;
    int rc = fit_cov_bgnbd(z, &cov, &m);
    if (rc != CHURN_OK && rc != CHURN_ENOCONV)
        return rc;
    double mv[4] = {20, 35, 10, 50}, lo[4], hi[4], vlo[4], vhi[4];
    churn_clv_options o = CHURN_CLV_OPTIONS_INIT;
    o.period = 4.345;
    churn_clv_intervals out = CHURN_CLV_INTERVALS_INIT;
    out.clv_lo = lo;
    out.clv_hi = hi;
    out.value_at_risk_lo = vlo;
    out.value_at_risk_hi = vhi;
    rc = churn_clv_interval_covariates(m, g_gg, &o, 0.9, 4, sim_x, sim_tx, sim_T, mv, &cov,
                                       &out);
    for (int i = 0; i < 4 && rc == CHURN_OK && *nd + 4 <= 64; i++) {
        d[(*nd)++] = lo[i];
        d[(*nd)++] = hi[i];
        d[(*nd)++] = vlo[i];
        d[(*nd)++] = vhi[i];
    }
    churn_model_free(m);
    return rc;
}

/* Delta-method intervals of the CLV scores: a fitted BG/NBD (it has a covariance) and the
 * fitted Gamma-Gamma model; more than one block of customers. */
static int wl_clv_interval(double *d, size_t *nd)
{
    churn_model *m = (churn_model *)1;
    int rc = churn_btyd_fit(&m, CHURN_FAMILY_BGNBD, NSIM, sim_x, sim_tx, sim_T, NULL, NULL);
    OUT_MUST_BE_NULL(rc, m);
    if (rc != CHURN_OK && rc != CHURN_ENOCONV)
        return rc;
    churn_clv_options o = CHURN_CLV_OPTIONS_INIT;
    o.period = 4.345;
    double lo[NB], hi[NB], vlo[NB], vhi[NB];
    churn_clv_intervals out = CHURN_CLV_INTERVALS_INIT;
    out.clv_lo = lo;
    out.clv_hi = hi;
    out.value_at_risk_lo = vlo;
    out.value_at_risk_hi = vhi;
    rc = churn_clv_interval(m, g_gg, &o, 0.9, NB, b_x, b_tx, b_T, b_z, &out);
    if (rc == CHURN_OK) {
        double s = 0;
        for (int i = 0; i < NB; i++)
            s += lo[i] + hi[i] + vlo[i] + vhi[i];
        PUT(s);
    }
    churn_model_free(m);
    return rc;
}

/* Bootstrap intervals of the CLV scores, one thread: BG/NBD and Gamma-Gamma refits. */
static int wl_clv_bootstrap(double *d, size_t *nd)
{
    churn_model *m = (churn_model *)1;
    /* the 300 simulated customers: Gamma-Gamma refits of resamples of the 40-customer
     * set (20 repeat buyers, spends unrelated to frequency) fail on about 40% of
     * resamples, so whether half of 20 fail was a matter of rounding */
    int rc = churn_btyd_fit(&m, CHURN_FAMILY_BGNBD, NSIM, sim_x, sim_tx, sim_T, NULL, NULL);
    OUT_MUST_BE_NULL(rc, m);
    if (rc != CHURN_OK && rc != CHURN_ENOCONV)
        return rc;
    churn_clv_options o = CHURN_CLV_OPTIONS_INIT;
    o.period = 4.345;
    churn_bootstrap_options bo;
    churn_bootstrap_options_init(&bo);
    bo.resamples = 20;
    double lo[4], hi[4];
    churn_clv_intervals out = CHURN_CLV_INTERVALS_INIT;
    out.clv_lo = lo;
    out.clv_hi = hi;
    size_t failed = 0;
    rc = churn_clv_bootstrap_interval(m, g_gg, &o, NSIM, sim_x, sim_tx, sim_T, sim_z, 4, b_x,
                                      b_tx, b_T, b_z, &bo, &out, &failed);
    for (int i = 0; i < 4 && rc == CHURN_OK && *nd + 2 <= 64; i++) {
        d[(*nd)++] = lo[i];
        d[(*nd)++] = hi[i];
    }
    churn_model_free(m);
    return rc;
}

static int wl_tiers(double *d, size_t *nd)
{
    int tier[NB];
    double share = NAN;
    int rc = churn_tiers_assign(NB, b_z, 0.2, 0.3, tier, &share);
    if (rc == CHURN_OK) {
        double s = 0;
        for (int i = 0; i < NB; i++)
            s += tier[i] * (i + 1);
        PUT(s);
        PUT(share);
    }
    return rc;
}

static int wl_alerts(double *d, size_t *nd)
{
    churn_alerts *a = (churn_alerts *)1;
    int rc = churn_alerts_new(&a);
    OUT_MUST_BE_NULL(rc, a);
    if (rc)
        return rc;
    static const char *const names[4] = {"p_alive", "overdue_ratio", "spend_trend", "clv"};
    static const double c0[3] = {0.1, 0.9, 0.5}, c1[3] = {3, 1, 2.5}, c2[3] = {-0.5, 0, 0.2};
    static const double c3[3] = {5, 50, 25};
    const double *const cols[4] = {c0, c1, c2, c3};
    if (!(rc = churn_alerts_add(a, "small", "clv", CHURN_ALERT_LT, 10)) &&
        !(rc = churn_alerts_add_text(a, "big: clv >= 25")) &&
        !(rc = churn_alerts_add_defaults(a))) {
        uint64_t fired[3];
        rc = churn_alerts_evaluate(a, 3, 4, names, cols, fired);
        if (rc == CHURN_OK) {
            char buf[256];
            size_t need = 0;
            rc = churn_alerts_describe(a, fired[0], buf, sizeof buf, &need);
            PUT((double)churn_alerts_num_rules(a));
            for (int i = 0; i < 3; i++)
                PUT((double)fired[i]);
            PUT((double)need);
        }
    }
    churn_alerts_free(a);
    return rc;
}

static int wl_logit_cv(double *d, size_t *nd)
{
    static const char *const names[] = {"a", "b"};
    churn_logit_cv_options co = CHURN_LOGIT_CV_OPTIONS_INIT;
    co.nfolds = 3;
    co.nlambda = 6;
    churn_logit_options lo = CHURN_LOGIT_OPTIONS_INIT;
    lo.penalty = CHURN_LOGIT_PENALTY_L1;
    churn_logit_cv *cv = (churn_logit_cv *)1;
    int rc = churn_logit_cross_validate(&cv, s_x, NS, 2, 0, 0, s_y, NULL, names, &lo, &co);
    OUT_MUST_BE_NULL(rc, cv);
    if (rc == CHURN_OK) {
        PUT((double)churn_logit_cv_num_lambda(cv));
        PUT(churn_logit_cv_lambda_min(cv));
        PUT(churn_logit_cv_lambda_1se(cv));
        churn_logit_cv_free(cv);
    }
    return rc;
}

static int wl_km_groups(double *d, size_t *nd)
{
    churn_km *km = (churn_km *)1;
    int rc = churn_km_fit(&km, NS, s_dur, s_ev, NULL, s_group, NULL);
    OUT_MUST_BE_NULL(rc, km);
    if (rc)
        return rc;
    double chisq = NAN, df = NAN, p = NAN, n = NAN, o = NAN, e = NAN;
    if (!(rc = churn_km_logrank(km, &chisq, &df, &p)) &&
        !(rc = churn_km_group_events(km, 1, &n, &o, &e))) {
        PUT((double)churn_km_num_groups(km));
        PUT(chisq), PUT(df), PUT(p), PUT(n), PUT(o), PUT(e);
    }
    churn_km_free(km);
    return rc;
}

static int wl_concordance(double *d, size_t *nd)
{
    double c = NAN, counts[CHURN_CONC_NCOUNTS];
    int rc = churn_concordance_index(NS, s_dur, s_ev, s_score, NULL, 1, &c, counts);
    if (rc == CHURN_OK) {
        PUT(c);
        for (int i = 0; i < CHURN_CONC_NCOUNTS; i++)
            PUT(counts[i]);
    }
    return rc;
}

static int wl_cox_zph(double *d, size_t *nd)
{
    double chisq[3], df[3], p[3];
    int rc = churn_cox_zph(g_cox, NS, s_x, s_dur, s_ev, NULL, chisq, df, p);
    if (rc == CHURN_OK)
        for (int i = 0; i < 3; i++)
            PUT(chisq[i]), PUT(df[i]), PUT(p[i]);
    return rc;
}

static int wl_surv_curve(double *d, size_t *nd)
{
    static const double x1[2] = {0.3, 0.5}, times[4] = {0.5, 2, 4, 9};
    double s[4], se[4];
    int rc = CHURN_OK;
    for (int m = 0; m < 2 && rc == CHURN_OK; m++) { /* Cox, then Weibull with std errors */
        rc = churn_surv_curve(m ? g_weibull : g_cox, x1, 4, times, s, se);
        if (rc == CHURN_OK)
            for (int i = 0; i < 4; i++)
                PUT(s[i]), PUT(se[i]);
    }
    return rc;
}

static int wl_pr_at_k(double *d, size_t *nd)
{
    double prec = NAN, rec = NAN;
    int rc = churn_metrics_precision_recall_at_k(NS, s_score, s_y, NULL, 12, &prec, &rec);
    PUT(prec), PUT(rec);
    return rc;
}

static int wl_lift(double *d, size_t *nd)
{
    double bw[5], pos[5], rate[5], lift[5], gain[5], cl[5];
    int rc = churn_metrics_lift_table(NS, s_score, s_y, NULL, 5, bw, pos, rate, lift, gain, cl);
    if (rc == CHURN_OK)
        for (int i = 0; i < 5; i++)
            PUT(bw[i] + pos[i] + rate[i] + lift[i] + gain[i] + cl[i]);
    return rc;
}

static int wl_calibration(double *d, size_t *nd)
{
    double lo[5], hi[5], bw[5], mp[5], ob[5], ece = NAN;
    int rc = churn_metrics_calibration(NS, s_prob, s_y, NULL, 5, CHURN_CALIBRATION_QUANTILE,
                                       lo, hi, bw, mp, ob, &ece);
    if (rc == CHURN_OK) {
        for (int i = 0; i < 5; i++)
            PUT(lo[i] + hi[i] + bw[i] + mp[i] + ob[i]);
        PUT(ece);
    }
    return rc;
}

static int wl_time_auc(double *d, size_t *nd)
{
    double auc = NAN;
    int rc = churn_metrics_time_auc(NS, s_dur, s_ev, s_score, NULL, 4.0, &auc);
    PUT(auc);
    return rc;
}

static int wl_holdout_freq(double *d, size_t *nd)
{
    static const double par[4] = {0.243, 4.414, 0.793, 2.426};
    churn_model *m = NULL;
    int rc = churn_btyd_model_new(&m, CHURN_FAMILY_BGNBD, 4, par);
    if (rc)
        return rc;
    double cu[5], ma[5], me[5], mae = NAN;
    rc = churn_metrics_holdout_by_frequency(m, 39, NB, b_x, b_tx, b_T, b_x, 4, cu, ma, me, &mae);
    if (rc == CHURN_OK) {
        for (int i = 0; i < 5; i++)
            PUT(cu[i]), PUT(me[i]);
        PUT(mae);
    }
    churn_model_free(m);
    return rc;
}

static int wl_tracking(double *d, size_t *nd)
{
    static const double par[4] = {0.8, 6, 1.5, 4};
    churn_model *m = NULL;
    int rc = churn_btyd_model_new(&m, CHURN_FAMILY_BGNBD, 4, par);
    if (rc)
        return rc;
    churn_model_set_time_unit(m, CHURN_UNIT_WEEK);
    double ac[10], ec[10], ai[10], ei[10];
    rc = churn_metrics_repeat_tracking(g_sim_log, m, 10, NULL, ac, ec, ai, ei);
    if (rc == CHURN_OK)
        for (int i = 0; i < 10; i++)
            PUT(ac[i] + ec[i] + ai[i] + ei[i]);
    churn_model_free(m);
    return rc;
}

static int wl_compare(double *d, size_t *nd)
{
    churn_comparison_options o;
    churn_comparison_options_init(&o);
    o.cutoff = SIM_START + 272 * 86400.0;
    o.holdout_end = SIM_START + 545 * 86400.0;
    o.models = "bgnbd,logit";
    o.folds = 2;
    churn_comparison *c = (churn_comparison *)1;
    int rc = churn_metrics_compare(&c, g_sim_log, &o);
    OUT_MUST_BE_NULL(rc, c);
    if (rc == CHURN_OK) {
        PUT((double)churn_comparison_num_models(c));
        for (size_t i = 0; i < churn_comparison_num_models(c); i++) {
            double v = NAN;
            churn_comparison_value(c, i, "auc", &v);
            PUT(v);
        }
        churn_comparison_free(c);
    }
    return rc;
}

/* The HTML page of the retention report (issue 25): its length and a checksum of its bytes
 * must be the same after any allocation failure it recovers from. */
static int wl_report_html(double *d, size_t *nd)
{
    static char idbuf[NS][8];
    static const char *ids[NS], *al[NS];
    double pa[NS], clv[NS], var[NS], rec[NS], T[NS], start[3] = {0, 2678400, 5097600};
    double ret[9] = {1, 0.5, 0.25, 1, 0.4, -1, 1, -1, -1}, size[3] = {10, 0, 20};
    int tier[NS];
    for (size_t i = 0; i < NS; i++) {
        snprintf(idbuf[i], sizeof idbuf[i], "c<%zu>", i);
        ids[i] = idbuf[i];
        al[i] = i % 3 ? "overdue;spend_down" : NULL;
        pa[i] = s_ev[i] ? 0.2 + 0.01 * (double)i : 0.9 - 0.01 * (double)i;
        clv[i] = 10 * s_dur[i] * pa[i];
        var[i] = 10 * s_dur[i] * (1 - pa[i]);
        T[i] = s_dur[i] + 1;
        rec[i] = s_dur[i] / 2;
        tier[i] = 1 + (int)(i % 3);
    }
    churn_report_page pg = CHURN_REPORT_PAGE_INIT;
    pg.n = NS, pg.customer_id = ids, pg.alerts = al, pg.p_alive = pa, pg.clv = clv;
    pg.value_at_risk = var, pg.tier = tier, pg.recency = rec, pg.T = T, pg.top = 5;
    pg.n_cohorts = 3, pg.cohort_start = start, pg.cohort_retention = ret;
    pg.cohort_size = size;
    size_t len = 0;
    int rc = churn_report_html(&pg, NULL, 0, &len);
    if (rc)
        return rc;
    char *buf = malloc(len + 1);
    if (!buf)
        return CHURN_ENOMEM;
    if (!(rc = churn_report_html(&pg, buf, len + 1, &len))) {
        double sum = 0;
        for (size_t k = 0; k < len; k++)
            sum += (double)(unsigned char)buf[k] * (double)(k % 97 + 1);
        PUT((double)len);
        PUT(sum);
    }
    free(buf);
    return rc;
}

static int wl_stream(double *d, size_t *nd)
{
    churn_customer_options o = CHURN_CUSTOMER_OPTIONS_INIT;
    churn_parse_date("2024-03-31", 10, CHURN_DATE_ISO, &o.cutoff);
    churn_parse_date("2024-06-30", 10, CHURN_DATE_ISO, &o.holdout_end);
    o.time_unit = CHURN_UNIT_WEEK;
    churn_customer_stream *s = (churn_customer_stream *)1;
    int rc = churn_customer_stream_new(&s, &o);
    OUT_MUST_BE_NULL(rc, s);
    if (rc)
        return rc;
    churn_customers *t = (churn_customers *)1;
    if (!(rc = churn_txlog_read_csv_buffer(churn_customer_stream_log(s), csv_text,
                                           sizeof csv_text - 1, NULL)) &&
        !(rc = churn_customer_stream_fold(s))) {
        rc = churn_customer_stream_finish(s, &t);
        OUT_MUST_BE_NULL(rc, t);
        if (rc == CHURN_OK) {
            size_t nr = churn_customers_num_rows(t), nc = churn_customers_num_columns(t);
            PUT((double)nr), PUT((double)nc);
            for (size_t j = 0; j < nc; j++) {
                const double *c = churn_customers_column_at(t, j);
                double sum = 0;
                for (size_t i = 0; i < nr; i++)
                    sum += isnan(c[i]) ? 0.5 : c[i];
                PUT(sum);
            }
            churn_customers_free(t);
        }
    }
    churn_customer_stream_free(s);
    return rc;
}

/* the borrowed objects, made and freed outside the injection */
static int make_shared_objects(void)
{
    for (int i = 0; i < NS; i++) {
        s_prob[i] = s_x[2 * i + 1];
        s_score[i] = s_x[2 * i] + 0.3 * s_x[2 * i + 1];
        s_group[i] = i % 3 == 0 ? 20 : 10;
    }
    snprintf(g_csv_path, sizeof g_csv_path, "%s/reliability_alloc.csv", churn_test_tmp_dir());
    snprintf(g_model_path, sizeof g_model_path, "%s/reliability_alloc.json",
             churn_test_tmp_dir());
    FILE *f = fopen(g_csv_path, "wb");
    if (!f || fwrite(csv_text, 1, sizeof csv_text - 1, f) != sizeof csv_text - 1) {
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    churn_simulate_options o;
    sim_options(&o, 150);
    if (churn_txlog_new(&g_sim_log) || churn_simulate_txlog(g_sim_log, &o))
        return -1;
    if (churn_gammagamma_fit(&g_gg, NB, b_x, b_z, NULL, NULL))
        return -1;
    if (churn_cox_fit(&g_cox, NS, 2, s_x, NULL, s_dur, s_ev, NULL, NULL))
        return -1;
    if (churn_aft_fit(&g_weibull, CHURN_FAMILY_WEIBULL, NS, 2, s_x, NULL, s_dur, s_ev, NULL,
                      NULL))
        return -1;
    return 0;
}

static void free_shared_objects(void)
{
    churn_txlog_free(g_sim_log);
    churn_model_free(g_gg);
    churn_model_free(g_cox);
    churn_model_free(g_weibull);
    g_sim_log = NULL, g_gg = g_cox = g_weibull = NULL;
    remove(g_csv_path);
    remove(g_model_path);
}

static int same_digest(const double *a, size_t na, const double *b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (!(a[i] == b[i] || (isnan(a[i]) && isnan(b[i]))))
            return 0;
    return 1;
}

static long total_sites, total_ok_after_failure;

static void run_injection(const char *name, workload_fn fn)
{
    double ref[64], dig[64];
    size_t nref = 0, nd = 0;
    clock_t t0 = clock();
    /* reference run, counting allocations */
    g_live = 0, g_count = 0, g_fail_at = -1, g_failed = 0;
    churn_set_allocator(counting_alloc, NULL);
    int rc0 = fn(ref, &nref);
    churn_set_allocator(NULL, NULL);
    long nalloc = g_count;
    CU_ASSERT_EQUAL(g_live, 0);
    if (rc0 != CHURN_OK) {
        printf("\n  %s: reference run failed: %d %s\n", name, rc0, churn_last_error_message());
        CU_FAIL("reference run failed");
        return;
    }
    if (nalloc == 0) {
        printf("\n  %s: the workload allocates nothing: it tests no failure\n", name);
        CU_FAIL("workload without an allocation");
    }
    long bad = 0, ok_after = 0;
    for (long k = 0; k < nalloc; k++) {
        g_live = 0, g_count = 0, g_fail_at = k, g_failed = 0;
        out_null_violations = 0;
        churn_set_allocator(counting_alloc, NULL);
        nd = 0;
        int rc = fn(dig, &nd);
        churn_set_allocator(NULL, NULL);
        int good;
        if (rc == CHURN_ENOMEM)
            good = churn_last_error_message()[0] != '\0';
        else if (rc == rc0)
            good = same_digest(dig, nd, ref, nref), ok_after++;
        else
            good = 0;
        if (!good || g_live != 0 || out_null_violations) {
            if (bad++ < 5)
                printf("\n  %s: failing allocation %ld of %ld: status %d (%s), %ld live blocks, "
                       "%d non-NULL outputs", name, k, nalloc, rc, churn_last_error_message(),
                       g_live, out_null_violations);
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    total_sites += nalloc;
    total_ok_after_failure += ok_after;
    printf("\n  %-12s %4ld allocations failed one at a time (%ld recovered with the same result; "
           "%.2f s)", name, nalloc, ok_after, (double)(clock() - t0) / CLOCKS_PER_SEC);
    fflush(stdout);
}

/* The workloads; tests/alloc_entry_points.txt names them. */
static const struct { const char *name; workload_fn fn; } wl[] = {
    {"csv", wl_csv},         {"customers", wl_customers}, {"bgnbd", wl_bgnbd}, {"covariates", wl_covariates},
    {"dyncov", wl_dyncov},
    {"pnbd", wl_pnbd},       {"bgbb", wl_bgbb},           {"sbg", wl_sbg},
    {"mbgcnbd", wl_mbgcnbd}, {"mbgcnbd_cov", wl_mbgcnbd_cov}, {"bootstrap", wl_bootstrap}, {"interval_cov", wl_interval_cov},
    {"gammagamma", wl_gammagamma}, {"logit", wl_logit},   {"cox", wl_cox},
    {"weibull", wl_weibull}, {"save/load", wl_save_load}, {"km", wl_km},
    {"roc_auc", wl_auc},
    /* issue 19 item 8 */
    {"txlog_append", wl_txlog_append}, {"csv_file", wl_csv_file},
    {"csv_chunked", wl_csv_chunked},   {"parse_date", wl_parse_date},
    {"simulate", wl_simulate},         {"cohort", wl_cohort},
    {"stream", wl_stream},             {"model_file", wl_model_file},
    {"sbg_customers", wl_sbg_customers}, {"convert_unit", wl_convert_unit},
    {"clv", wl_clv}, {"clv_interval", wl_clv_interval}, {"clv_cov", wl_clv_cov},
    {"clv_interval_cov", wl_clv_interval_cov}, {"bootstrap_cov", wl_bootstrap_cov},
    {"clv_bootstrap", wl_clv_bootstrap},                   {"tiers", wl_tiers},
    {"alerts", wl_alerts},             {"logit_cv", wl_logit_cv},
    {"km_groups", wl_km_groups},       {"concordance", wl_concordance},
    {"cox_zph", wl_cox_zph},           {"surv_curve", wl_surv_curve},
    {"pr_at_k", wl_pr_at_k},           {"lift", wl_lift},
    {"calibration", wl_calibration},   {"time_auc", wl_time_auc},
    {"holdout_freq", wl_holdout_freq}, {"tracking", wl_tracking},
    {"compare", wl_compare},
    /* issue 25 */
    {"report_html", wl_report_html},
};

static void test_allocation_failures(void)
{
    CU_ASSERT_EQUAL_FATAL(make_shared_objects(), 0);
    total_sites = total_ok_after_failure = 0;
    for (size_t i = 0; i < sizeof wl / sizeof wl[0]; i++)
        run_injection(wl[i].name, wl[i].fn);
    free_shared_objects();
    printf("\n  allocation-failure injection: %ld allocation points over %zu workloads\n",
           total_sites, sizeof wl / sizeof wl[0]);
}

/* Every function of lib/libchurn.map has a line in tests/alloc_entry_points.txt
 * naming existing workloads or saying "no-alloc: reason", so that a new exported
 * function cannot be forgotten. (tests/check_alloc_entry_points.py, suite abi,
 * also checks the claims against the calls of the built library.) */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + len, 1, cap - 1 - len, f)) > 0) {
        len += got;
        if (len == cap - 1) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

static int is_workload(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof wl / sizeof wl[0]; i++)
        if (strlen(wl[i].name) == len && memcmp(wl[i].name, name, len) == 0)
            return 1;
    return 0;
}

static void test_entry_point_list(void)
{
    char *map = read_text(CHURN_TEST_SOURCE_DIR "/../lib/libchurn.map");
    char *list = read_text(CHURN_TEST_SOURCE_DIR "/alloc_entry_points.txt");
    CU_ASSERT_PTR_NOT_NULL_FATAL(map);
    CU_ASSERT_PTR_NOT_NULL_FATAL(list);
    /* comments out of the map, then every "churn_name;" is an exported function */
    for (char *c = strstr(map, "/*"); c; c = strstr(c, "/*")) {
        char *e = strstr(c + 2, "*/");
        size_t n = e ? (size_t)(e + 2 - c) : strlen(c);
        memset(c, ' ', n);
    }
    size_t nsym = 0, missing = 0, bad = 0, covered = 0;
    for (char *p = strstr(map, "churn_"); p; p = strstr(p, "churn_")) {
        size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_");
        char *q = p + n;
        while (*q == ' ' || *q == '\t')
            q++;
        if (*q != ';' || (p > map && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))) {
            p += n;
            continue;
        }
        nsym++;
        /* its line in the list: at a line start, followed by blanks */
        const char *line = NULL;
        for (char *l = list; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
            if (strncmp(l, p, n) == 0 && (l[n] == ' ' || l[n] == '\t')) {
                line = l + n;
                break;
            }
        if (!line) {
            if (missing++ < 10)
                printf("\n  %.*s is exported but not in tests/alloc_entry_points.txt", (int)n, p);
            p += n;
            continue;
        }
        line += strspn(line, " \t");
        size_t ll = strcspn(line, "\n#");
        if (ll >= 9 && strncmp(line, "no-alloc:", 9) == 0 && ll > 10) {
            p += n;
            continue;
        }
        /* comma-separated workload names */
        int ok = ll > 0;
        for (const char *w = line; ok && w < line + ll;) {
            size_t wl_len = strcspn(w, ", \t\n#");
            if (wl_len > (size_t)(line + ll - w))
                wl_len = (size_t)(line + ll - w);
            ok = wl_len > 0 && is_workload(w, wl_len);
            w += wl_len;
            w += strspn(w, ", \t");
        }
        if (!ok) {
            if (bad++ < 10)
                printf("\n  %.*s: '%.*s' is neither workloads of this test nor 'no-alloc: reason'",
                       (int)n, p, (int)ll, line);
        } else {
            covered++;
        }
        p += n;
    }
    printf("\n  %zu exported functions: %zu with allocation-failure workloads, %zu no-alloc",
           nsym, covered, nsym - covered - missing - bad);
    CU_ASSERT(nsym > 150);
    CU_ASSERT_EQUAL(missing, 0);
    CU_ASSERT_EQUAL(bad, 0);
    free(map);
    free(list);
}

/* The model campaign's seeds: tests/fuzz/corpus/model/<family>.json is, for every
 * family, a file written by the library that loads as that family (issue 19: the
 * BG/BB and sBG seeds did not load, so no valid file of theirs seeded the campaign). */
static void test_model_seeds_load(void)
{
    int n = 0;
    for (int fam = CHURN_FAMILY_BGNBD; fam <= CHURN_FAMILY_LOGNORMAL; fam++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/fuzz/corpus/model/%s.json", CHURN_TEST_SOURCE_DIR,
                 churn_family_name(fam));
        churn_model *m = NULL;
        int rc = churn_model_load(&m, path);
        if (rc != CHURN_OK)
            printf("\n  %s: %s", path, churn_last_error_message());
        CU_ASSERT_EQUAL(rc, CHURN_OK);
        if (m) {
            CU_ASSERT_EQUAL(churn_model_family(m), fam);
            CU_ASSERT(churn_model_num_params(m) > 0);
            n += churn_model_family(m) == fam;
        }
        churn_model_free(m);
    }
    printf("\n  %d of 12 family seeds load as their family", n);
}

/* ---- adversarial numerics ------------------------------------------------------------
 * Each case names the status the documentation promises. EXPECT_FINITE: CHURN_OK and
 * every output finite (plus, where the case says so, equal to a closed form). Every
 * failing case must leave a message. */

#define EXPECT_FINITE 1
#define EXPECT_FINITE_OR_ENUMERIC 2 /* a documented numerical limit: finite, or ENUMERIC */
static int adv_cases, adv_bad;
static clock_t adv_clock;

static void adv_check(const char *name, int rc, int expect, const double *out, size_t nout,
                      int allow_inf)
{
    adv_cases++;
    int good = 1;
    if (getenv("CHURN_RELIABILITY_TIMES")) {
        printf("\n  %.3f s  %s", (double)(clock() - adv_clock) / CLOCKS_PER_SEC, name);
        adv_clock = clock();
    }
    if (expect == EXPECT_FINITE_OR_ENUMERIC && rc == CHURN_ENUMERIC)
        expect = CHURN_ENUMERIC;
    else if (expect == EXPECT_FINITE_OR_ENUMERIC)
        expect = EXPECT_FINITE;
    if (expect == EXPECT_FINITE) {
        good = rc == CHURN_OK;
        for (size_t i = 0; good && i < nout; i++)
            good = !isnan(out[i]) && (allow_inf || isfinite(out[i]));
    } else {
        good = rc == expect && churn_last_error_message()[0] != '\0';
    }
    if (!good) {
        adv_bad++;
        printf("\n  case '%s': status %d (%s), expected %d;", name, rc, churn_last_error_message(),
               expect);
        for (size_t i = 0; i < nout && i < 4; i++)
            printf(" out[%zu] = %g", i, out[i]);
    }
    CU_ASSERT(good);
}

#define ADV(name, expect, call, out, nout) \
    do { double *o_ = (out); for (size_t i_ = (nout); i_-- > 0;) o_[i_] = NAN; \
         churn_clear_error(); adv_check(name, (call), expect, o_, (nout), 0); } while (0)
#define ADV_INF(name, expect, call, out, nout) \
    do { churn_clear_error(); adv_check(name, (call), expect, (out), (nout), 1); } while (0)

static void adv_btyd_score(const char *fam_name, const churn_model *m, int bgbb)
{
    char nm[128];
    double pa[2], ex[2];
    const double good_x = bgbb ? 2 : 2, good_tx = bgbb ? 3 : 10, good_T = bgbb ? 6 : 30;
    struct { const char *what; double x, tx, T, t; int expect; } rows[] = {
        {"x NaN", NAN, good_tx, good_T, 4, CHURN_EINVAL},
        {"x +inf", INFINITY, good_tx, good_T, 4, CHURN_EINVAL},
        {"x -inf", -INFINITY, good_tx, good_T, 4, CHURN_EINVAL},
        {"x negative", -1, good_tx, good_T, 4, CHURN_EINVAL},
        {"x fractional", 1.5, good_tx, good_T, 4, CHURN_EINVAL},
        {"recency NaN", good_x, NAN, good_T, 4, CHURN_EINVAL},
        {"recency negative", good_x, -1, good_T, 4, CHURN_EINVAL},
        {"recency > T", good_x, good_T + 1, good_T, 4, CHURN_EINVAL},
        {"T NaN", good_x, good_tx, NAN, 4, CHURN_EINVAL},
        {"T +inf", good_x, good_tx, INFINITY, 4, CHURN_EINVAL},
        {"T negative", 0, 0, -1, 4, CHURN_EINVAL},
        {"horizon NaN", good_x, good_tx, good_T, NAN, CHURN_EINVAL},
        {"horizon +inf", good_x, good_tx, good_T, INFINITY, CHURN_EINVAL},
        {"horizon negative", good_x, good_tx, good_T, -1, CHURN_EINVAL},
        {"horizon 0", good_x, good_tx, good_T, 0, EXPECT_FINITE},
        {"x = 0, T = 0 (new customer)", 0, 0, 0, 4, EXPECT_FINITE},
        {"recency = T", good_x, good_T, good_T, 4, EXPECT_FINITE},
        {"x = 1e7, recency = T", 1e7, bgbb ? 1e7 : good_T, bgbb ? 1e7 : good_T, 4, EXPECT_FINITE},
        {"x = 1e7, early recency", 1e7, bgbb ? 1e7 : 1, bgbb ? 2e7 : good_T, 4, EXPECT_FINITE},
        /* BG/BB's P(alive) sums over the n - x - 1 unobserved opportunities: O(n), so
         * its huge-T case is 1e5 (1e9 is finite too, but takes about 30 s) */
        {"T huge, x = 0", 0, 0, bgbb ? 1e5 : 1e9, 4, EXPECT_FINITE},
        {"horizon 1e9", good_x, good_tx, good_T, 1e9, EXPECT_FINITE_OR_ENUMERIC},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        snprintf(nm, sizeof nm, "%s score: %s", fam_name, rows[i].what);
        double x[2] = {rows[i].x, 0}, tx[2] = {rows[i].tx, 0}, T[2] = {rows[i].T, 1};
        pa[0] = pa[1] = ex[0] = ex[1] = NAN;
        churn_clear_error();
        int rc = churn_btyd_score(m, rows[i].t, 2, x, tx, T, pa, ex);
        double both[4] = {pa[0], pa[1], ex[0], ex[1]};
        adv_check(nm, rc, rows[i].expect, both, 4, 0);
        if (rc == CHURN_OK) {
            CU_ASSERT(pa[0] >= 0 && pa[0] <= 1 && ex[0] >= 0);
            if (rows[i].t == 0)
                CU_ASSERT_EQUAL(ex[0], 0); /* nothing expected in an empty window */
        }
    }
    /* empty input: nothing to do, nothing written */
    pa[0] = 42;
    ADV_INF("score n = 0", EXPECT_FINITE, churn_btyd_score(m, 4, 0, pa, pa, pa, pa, ex), pa, 1);
    CU_ASSERT_EQUAL(pa[0], 42);
}

static void test_adversarial(void)
{
    adv_cases = adv_bad = 0;
    adv_clock = clock();
    double o[8];
    churn_model *bg = NULL, *pn = NULL, *bb = NULL, *sbg = NULL;
    static const double bgp[4] = {0.243, 4.414, 0.793, 2.426};   /* F-H-L 2005, CDNOW */
    static const double pnp[4] = {0.553, 10.578, 0.606, 11.669}; /* F-H 2005 note, CDNOW */
    static const double bbp[4] = {1.204, 0.750, 0.657, 2.783};   /* F-H-S 2010, donations */
    static const double sbp[2] = {0.668, 3.806};                 /* F-H 2007, regular */
    CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&bg, CHURN_FAMILY_BGNBD, 4, bgp), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&pn, CHURN_FAMILY_PNBD, 4, pnp), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&bb, CHURN_FAMILY_BGBB, 4, bbp), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&sbg, CHURN_FAMILY_SBG, 2, sbp), CHURN_OK);
    adv_btyd_score("bgnbd", bg, 0);
    adv_btyd_score("pnbd", pn, 0);
    adv_btyd_score("bgbb", bb, 1);

    /* closed forms: BG/NBD P(alive | x = 0) = 1 (F-H-L 2005, eq. 11 with x = 0) */
    {
        double x = 0, tx = 0, T = 30;
        ADV("bgnbd p_alive x = 0 is 1", EXPECT_FINITE, churn_btyd_p_alive(bg, 1, &x, &tx, &T, o), o, 1);
        CT_NEAR(o[0], 1.0, 0);
    }
    /* model parameters: tiny, huge, zero, negative, non-finite */
    struct { const char *what; double v; int expect; } pv[] = {
        {"1e-300", 1e-300, EXPECT_FINITE}, {"1e-12", 1e-12, EXPECT_FINITE},
        {"1e12", 1e12, EXPECT_FINITE},     {"1e300", 1e300, EXPECT_FINITE},
        {"0", 0, CHURN_EINVAL},            {"-1", -1, CHURN_EINVAL},
        {"NaN", NAN, CHURN_EINVAL},        {"+inf", INFINITY, CHURN_EINVAL},
    };
    static const int fams[4] = {CHURN_FAMILY_BGNBD, CHURN_FAMILY_PNBD, CHURN_FAMILY_BGBB,
                                CHURN_FAMILY_SBG};
    for (int f = 0; f < 4; f++) {
        size_t np = fams[f] == CHURN_FAMILY_SBG ? 2 : 4;
        for (size_t k = 0; k < sizeof pv / sizeof pv[0]; k++) {
            for (size_t j = 0; j < np; j++) {
                double par[4];
                memcpy(par, fams[f] == CHURN_FAMILY_BGNBD ? bgp : fams[f] == CHURN_FAMILY_PNBD
                            ? pnp : fams[f] == CHURN_FAMILY_BGBB ? bbp : sbp, np * sizeof(double));
                par[j] = pv[k].v;
                char nm[128];
                snprintf(nm, sizeof nm, "%s model_new: param %zu = %s",
                         churn_family_name(fams[f]), j, pv[k].what);
                churn_model *m = (churn_model *)1;
                churn_clear_error();
                int rc = churn_btyd_model_new(&m, fams[f], np, par);
                int expect = pv[k].expect == EXPECT_FINITE ? CHURN_OK : pv[k].expect;
                adv_check(nm, rc, expect == CHURN_OK ? EXPECT_FINITE : expect, NULL, 0, 0);
                if (rc != CHURN_OK) {
                    CU_ASSERT_PTR_NULL(m);
                    continue;
                }
                /* an extreme but valid model scores finitely, or says why it cannot */
                snprintf(nm, sizeof nm, "%s score with param %zu = %s",
                         churn_family_name(fams[f]), j, pv[k].what);
                double x[3] = {0, 2, 5}, tx[3] = {0, 3, 6}, T[3] = {6, 6, 6}, per[3] = {0, 1, 5};
                for (int i = 0; i < 6; i++)
                    o[i] = NAN;
                churn_clear_error();
                rc = fams[f] == CHURN_FAMILY_SBG ? churn_sbg_derl(m, 0.1, 3, per, o)
                                                 : churn_btyd_score(m, 4, 3, x, tx, T, o, o + 3);
                adv_cases++;
                if (rc == CHURN_OK) {
                    for (int i = 0; i < (fams[f] == CHURN_FAMILY_SBG ? 3 : 6); i++)
                        if (!isfinite(o[i])) {
                            adv_bad++;
                            printf("\n  case '%s': OK but out[%d] = %g", nm, i, o[i]);
                            CU_FAIL("non-finite result with CHURN_OK");
                            break;
                        }
                } else if (churn_last_error_message()[0] == '\0' ||
                           (rc != CHURN_ENUMERIC && rc != CHURN_EINVAL)) {
                    adv_bad++;
                    printf("\n  case '%s': status %d without a documented meaning", nm, rc);
                    CU_FAIL("undocumented status");
                }
                churn_model_free(m);
            }
        }
    }

    /* fits on degenerate data */
    {
        churn_model *m = (churn_model *)1;
        double x1 = 2, tx1 = 10, T1 = 30, zero[4] = {0, 0, 0, 0}, Ts[4] = {10, 20, 30, 40};
        double w0[4] = {0, 0, 0, 0}, wn[4] = {1, NAN, 1, 1};
        ADV("bgnbd fit n = 0", CHURN_EINVAL,
            churn_btyd_fit(&m, CHURN_FAMILY_BGNBD, 0, &x1, &tx1, &T1, NULL, NULL), o, 0);
        CU_ASSERT_PTR_NULL(m);
        int rc = churn_btyd_fit(&m, CHURN_FAMILY_BGNBD, 1, &x1, &tx1, &T1, NULL, NULL);
        adv_cases++;
        /* one customer cannot identify four parameters: no silent optimum */
        CU_ASSERT(rc == CHURN_ENOCONV || rc == CHURN_EINVAL || rc == CHURN_ENUMERIC);
        if (rc == CHURN_ENOCONV)
            CU_ASSERT(m && !churn_model_converged(m));
        churn_model_free(m);
        m = NULL;
        rc = churn_btyd_fit(&m, CHURN_FAMILY_BGNBD, 4, zero, zero, Ts, NULL, NULL);
        adv_cases++;
        CU_ASSERT(rc == CHURN_ENOCONV || rc == CHURN_EINVAL || rc == CHURN_ENUMERIC);
        CU_ASSERT(churn_last_error_message()[0] != '\0');
        churn_model_free(m);
        m = NULL;
        ADV("bgnbd fit all weights 0", CHURN_EINVAL,
            churn_btyd_fit(&m, CHURN_FAMILY_BGNBD, 4, zero, zero, Ts, w0, NULL), o, 0);
        ADV("bgnbd fit weight NaN", CHURN_EINVAL,
            churn_btyd_fit(&m, CHURN_FAMILY_BGNBD, 4, zero, zero, Ts, wn, NULL), o, 0);
        double par[4] = {1, NAN, 1, 1}, ll;
        ADV("btyd_loglik NaN param", CHURN_EINVAL,
            churn_btyd_loglik(CHURN_FAMILY_BGNBD, 4, par, 1, &x1, &tx1, &T1, NULL, &ll, NULL), o, 0);
        double ok4[4] = {0.243, 4.414, 0.793, 2.426};
        ADV("btyd_loglik length 1", EXPECT_FINITE,
            churn_btyd_loglik(CHURN_FAMILY_BGNBD, 4, ok4, 1, &x1, &tx1, &T1, NULL, o, NULL), o, 1);
    }
    /* sBG */
    {
        churn_model *m = (churn_model *)1;
        double up[3] = {100, 120, 90}, zero0[3] = {0, 0, 0}, one[1] = {100};
        double flat[4] = {100, 100, 100, 100};
        ADV("sbg survivors increasing", CHURN_EINVAL, churn_sbg_fit_survivors(&m, 3, up, NULL), o, 0);
        ADV("sbg survivors[0] = 0", CHURN_EINVAL, churn_sbg_fit_survivors(&m, 3, zero0, NULL), o, 0);
        ADV("sbg survivors length 1", CHURN_EINVAL, churn_sbg_fit_survivors(&m, 1, one, NULL), o, 0);
        CU_ASSERT_PTR_NULL(m);
        int rc = churn_sbg_fit_survivors(&m, 4, flat, NULL);
        adv_cases++;
        /* nobody churns: the churn probability runs to 0, not identified */
        CU_ASSERT(rc == CHURN_ENOCONV || rc == CHURN_EINVAL);
        churn_model_free(m);
        double per[1] = {2};
        ADV("sbg derl discount -1", CHURN_EINVAL, churn_sbg_derl(sbg, -1, 1, per, o), o, 0);
        ADV("sbg derl discount NaN", CHURN_EINVAL, churn_sbg_derl(sbg, NAN, 1, per, o), o, 0);
        per[0] = -1;
        ADV("sbg derl periods -1", CHURN_EINVAL, churn_sbg_derl(sbg, 0.1, 1, per, o), o, 0);
        per[0] = 1e7;
        ADV("sbg derl periods 1e7", EXPECT_FINITE, churn_sbg_derl(sbg, 0.1, 1, per, o), o, 1);
    }
    /* Gamma-Gamma */
    {
        churn_model *m = (churn_model *)1;
        double x[3] = {1, 2, 3}, z[3] = {10, NAN, 12}, xneg[3] = {1, -2, 3}, z2[3] = {10, 11, 12};
        double x0[3] = {0, 0, 0};
        ADV("gammagamma fit monetary NaN", CHURN_EINVAL, churn_gammagamma_fit(&m, 3, x, z, NULL, NULL), o, 0);
        ADV("gammagamma fit frequency negative", CHURN_EINVAL,
            churn_gammagamma_fit(&m, 3, xneg, z2, NULL, NULL), o, 0);
        ADV("gammagamma fit length 1", CHURN_EINVAL, churn_gammagamma_fit(&m, 1, x, z2, NULL, NULL), o, 0);
        ADV("gammagamma fit all x = 0", CHURN_EINVAL, churn_gammagamma_fit(&m, 3, x0, z2, NULL, NULL), o, 0);
        CU_ASSERT_PTR_NULL(m);
        ADV("gammagamma fit n = 0", CHURN_EINVAL, churn_gammagamma_fit(&m, 0, x, z2, NULL, NULL), o, 0);
    }
    /* logistic regression */
    {
        churn_model *m = (churn_model *)1;
        double xs[6] = {1, 2, 3, 4, 5, 6}, ys[6] = {0, 0, 0, 1, 1, 1};
        ADV("logit separable data", CHURN_ESEPARATION,
            churn_logit_fit(&m, xs, 6, 1, 0, 0, ys, NULL, NULL, NULL), o, 0);
        CU_ASSERT_PTR_NULL(m);
        double xn[6] = {1, 2, NAN, 4, 5, 6}, ybad[6] = {0, 1, 2, 1, 0, 1}, yone[6] = {1, 1, 1, 1, 1, 1};
        double xi[6] = {1, 2, 3, INFINITY, 5, 6};
        ADV("logit x NaN", CHURN_EINVAL, churn_logit_fit(&m, xn, 6, 1, 0, 0, ys, NULL, NULL, NULL), o, 0);
        ADV("logit x +inf", CHURN_EINVAL, churn_logit_fit(&m, xi, 6, 1, 0, 0, ys, NULL, NULL, NULL), o, 0);
        ADV("logit label 2", CHURN_EINVAL, churn_logit_fit(&m, xs, 6, 1, 0, 0, ybad, NULL, NULL, NULL), o, 0);
        ADV("logit one class", CHURN_EINVAL, churn_logit_fit(&m, xs, 6, 1, 0, 0, yone, NULL, NULL, NULL), o, 0);
        ADV("logit length 1", CHURN_EINVAL, churn_logit_fit(&m, xs, 1, 1, 0, 0, ys, NULL, NULL, NULL), o, 0);
        ADV("logit n = 0", CHURN_EINVAL, churn_logit_fit(&m, xs, 0, 1, 0, 0, ys, NULL, NULL, NULL), o, 0);
        CU_ASSERT_PTR_NULL(m);
        /* a penalised fit on separable data exists and predicts in [0, 1] */
        churn_logit_options lo;
        churn_logit_options_init(&lo);
        lo.penalty = CHURN_LOGIT_PENALTY_L2;
        lo.lambda = 0.1;
        ADV("logit separable data, L2", EXPECT_FINITE,
            churn_logit_fit(&m, xs, 6, 1, 0, 0, ys, NULL, NULL, &lo), o, 0);
        if (m) {
            double xp[3] = {-1e300, 3.5, 1e300};
            ADV("logit predict +-1e300", EXPECT_FINITE,
                churn_logit_predict(m, xp, 3, 1, 0, 0, o, NULL), o, 3);
            CU_ASSERT(o[0] >= 0 && o[0] < 1e-6 && o[2] > 1 - 1e-6 && o[2] <= 1);
            double xq[1] = {NAN};
            ADV("logit predict NaN", CHURN_EINVAL, churn_logit_predict(m, xq, 1, 1, 0, 0, o, NULL), o, 0);
            churn_model_free(m);
        }
    }
    /* survival: Cox, Weibull, Kaplan-Meier */
    {
        churn_model *m = (churn_model *)1;
        double x[5] = {0.5, -1, 2, 0.3, 1.1}, d[5] = {3, 5, 1, 8, 2}, ev0[5] = {0, 0, 0, 0, 0};
        double ev1[5] = {1, 1, 1, 1, 1}, dneg[5] = {3, -5, 1, 8, 2}, dnan[5] = {3, NAN, 1, 8, 2};
        double dz[5] = {3, 0, 1, 8, 2}, xc[5] = {1, 1, 1, 1, 1};
        ADV("cox all censored", CHURN_EINVAL, churn_cox_fit(&m, 5, 1, x, NULL, d, ev0, NULL, NULL), o, 0);
        ADV("cox duration negative", CHURN_EINVAL, churn_cox_fit(&m, 5, 1, x, NULL, dneg, ev1, NULL, NULL), o, 0);
        ADV("cox duration NaN", CHURN_EINVAL, churn_cox_fit(&m, 5, 1, x, NULL, dnan, ev1, NULL, NULL), o, 0);
        ADV("cox constant feature", CHURN_EINVAL, churn_cox_fit(&m, 5, 1, xc, NULL, d, ev1, NULL, NULL), o, 0);
        ADV("cox n = 0", CHURN_EINVAL, churn_cox_fit(&m, 0, 1, x, NULL, d, ev1, NULL, NULL), o, 0);
        CU_ASSERT_PTR_NULL(m);
        int rc = churn_cox_fit(&m, 5, 1, x, NULL, d, ev1, NULL, NULL);
        ADV("cox all events", EXPECT_FINITE, rc, o, 0);
        if (m) {
            ADV("cox predict", EXPECT_FINITE, churn_surv_predict(m, 5, x, 4, o, NULL, NULL), o, 5);
            ADV("cox predict horizon +inf", CHURN_EINVAL,
                churn_surv_predict(m, 5, x, INFINITY, o, NULL, NULL), o, 0);
            double xn[1] = {NAN};
            ADV("cox predict x NaN", CHURN_EINVAL, churn_surv_predict(m, 1, xn, 4, o, NULL, NULL), o, 0);
            churn_model_free(m);
            m = NULL;
        }
        /* Cox on data ordered perfectly by x: the coefficient runs off (monotone likelihood) */
        double xm[5] = {1, 2, 3, 4, 5}, dm[5] = {5, 4, 3, 2, 1};
        rc = churn_cox_fit(&m, 5, 1, xm, NULL, dm, ev1, NULL, NULL);
        adv_cases++;
        if (rc == CHURN_OK || rc == CHURN_ENOCONV) {
            double b;
            churn_model_params(m, &b, 1);
            CU_ASSERT(!isnan(b));
        } else {
            CU_ASSERT(rc == CHURN_ENUMERIC || rc == CHURN_ESEPARATION);
        }
        churn_model_free(m);
        m = NULL;
        ADV("weibull duration 0", CHURN_EINVAL,
            churn_aft_fit(&m, CHURN_FAMILY_WEIBULL, 5, 1, x, NULL, dz, ev1, NULL, NULL), o, 0);
        ADV("weibull all censored", CHURN_EINVAL,
            churn_aft_fit(&m, CHURN_FAMILY_WEIBULL, 5, 1, x, NULL, d, ev0, NULL, NULL), o, 0);
        CU_ASSERT_PTR_NULL(m);
        rc = churn_aft_fit(&m, CHURN_FAMILY_WEIBULL, 5, 0, NULL, NULL, d, ev1, NULL, NULL);
        ADV("weibull all events, intercept only", EXPECT_FINITE, rc, o, 0);
        if (m) {
            ADV("weibull predict", EXPECT_FINITE, churn_surv_predict(m, 1, NULL, 4, o, o + 1, o + 2), o, 3);
            ADV("weibull median", EXPECT_FINITE, churn_surv_median(m, 1, NULL, o), o, 1);
            churn_model_free(m);
        }
        churn_km *km = (churn_km *)1;
        ADV("km n = 0", CHURN_EINVAL, churn_km_fit(&km, 0, d, ev1, NULL, NULL, NULL), o, 0);
        CU_ASSERT_PTR_NULL(km);
        ADV("km duration NaN", CHURN_EINVAL, churn_km_fit(&km, 5, dnan, ev1, NULL, NULL, NULL), o, 0);
        rc = churn_km_fit(&km, 5, d, ev0, NULL, NULL, NULL);
        ADV("km all censored", EXPECT_FINITE, rc, o, 0);
        if (km) {
            double t = 4, s = NAN, lo = NAN, hi = NAN;
            /* nobody churned: S(t) = 1 exactly */
            rc = churn_km_survival_at(km, 0, 1, &t, &s);
            ADV_INF("km all censored S(4)", EXPECT_FINITE, rc, &s, 1);
            CU_ASSERT_EQUAL(s, 1.0);
            double med = 0;
            rc = churn_km_median(km, 0, &med, &lo, &hi);
            adv_cases++;
            /* not reached: +inf, or a documented error; never NaN */
            CU_ASSERT(rc != CHURN_OK || !isnan(med));
            churn_km_free(km);
            km = NULL;
        }
        rc = churn_km_fit(&km, 1, d, ev1, NULL, NULL, NULL);
        ADV("km length 1", EXPECT_FINITE, rc, o, 0);
        if (km) {
            double t = 3, s = NAN;
            ADV_INF("km length 1 S(3) = 0", EXPECT_FINITE, churn_km_survival_at(km, 0, 1, &t, &s), &s, 1);
            CU_ASSERT_EQUAL(s, 0.0);
            churn_km_free(km);
        }
    }
    /* metrics */
    {
        double p[4] = {0, 1, 0.5, 0.25}, y[4] = {1, 0, 1, 0}, y1[4] = {1, 1, 1, 1}, pnan[4] = {0, NAN, 1, 1};
        ADV("roc_auc one class", CHURN_EINVAL, churn_metrics_roc_auc(4, p, y1, NULL, o), o, 0);
        ADV("roc_auc score NaN", CHURN_EINVAL, churn_metrics_roc_auc(4, pnan, y, NULL, o), o, 0);
        ADV("roc_auc n = 0", CHURN_EINVAL, churn_metrics_roc_auc(0, p, y, NULL, o), o, 0);
        ADV("log_loss confident and wrong", EXPECT_FINITE, churn_metrics_log_loss(1, p, y, NULL, o), o, 1);
        CT_CLOSE(o[0], -log(CHURN_METRICS_LOG_LOSS_EPS), 1e-12); /* clipped, documented */
        ADV("log_loss prob 1.5", CHURN_EINVAL, churn_metrics_log_loss(1, (double[]){1.5}, y, NULL, o), o, 0);
        ADV("brier length 1", EXPECT_FINITE, churn_metrics_brier(1, p + 3, y, NULL, o), o, 1);
        CT_NEAR(o[0], 0.75 * 0.75, 1e-15);
        double w0[4] = {0, 0, 0, 0};
        ADV("brier all weights 0", CHURN_EINVAL, churn_metrics_brier(4, p, y, w0, o), o, 0);
    }
    /* transaction log and dates */
    {
        churn_txlog *log = NULL;
        CU_ASSERT_EQUAL_FATAL(churn_txlog_new(&log), CHURN_OK);
        ADV("txlog append time NaN", CHURN_EINVAL, churn_txlog_append(log, "a", NAN, 1), o, 0);
        ADV("txlog append amount +inf", CHURN_EINVAL, churn_txlog_append(log, "a", 0, INFINITY), o, 0);
        ADV("txlog append empty id", CHURN_EINVAL, churn_txlog_append(log, "", 0, 1), o, 0);
        CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 0);
        churn_customers *t = (churn_customers *)1;
        ADV("customers on an empty log", CHURN_EINVAL, churn_customers_build(&t, log, NULL), o, 0);
        CU_ASSERT_PTR_NULL(t);
        churn_txlog_free(log);
        double when;
        ADV("parse_date 2023-02-29", CHURN_EFORMAT, churn_parse_date("2023-02-29", 10, CHURN_DATE_ISO, &when), o, 0);
        ADV("parse_date garbage", CHURN_EFORMAT, churn_parse_date("12x", 3, CHURN_DATE_AUTO, &when), o, 0);
    }
    churn_model_free(bg);
    churn_model_free(pn);
    churn_model_free(bb);
    churn_model_free(sbg);
    printf("\n  adversarial numerics: %d cases, %d not as documented\n", adv_cases, adv_bad);
}

/* ---- fuzz regressions (tests/fuzz/corpus/csv/regress_*) ------------------------------ */

/* csv.c resolve_columns(): the "column not found" message lists the header
 * in a 240-byte buffer; when a name crossed the end, ", ..." was appended
 * past it (stack overflow found by fuzz_csv). Sweep header widths so that
 * the listing ends at every offset near the limit. */
static void test_regress_header_listing(void)
{
    char buf[1024];
    int checked = 0;
    /* a first name of `width` characters, then `ncol` one-letter names: the listing
     * grows by 5 bytes a name from width + 2, so every end offset is reached */
    for (int width = 1; width <= 70; width++) {
        for (int ncol = 0; ncol <= 60; ncol += 1) {
            size_t len = 0;
            for (int c = 0; c < width; c++)
                buf[len++] = (char)('a' + c % 26);
            for (int j = 0; j < ncol; j++) {
                buf[len++] = ',';
                buf[len++] = (char)('a' + j % 26);
            }
            memcpy(buf + len, "\n1,2,3\n", 7);
            len += 7;
            churn_txlog *log = NULL;
            CU_ASSERT_EQUAL_FATAL(churn_txlog_new(&log), CHURN_OK);
            churn_csv_options o = CHURN_CSV_OPTIONS_INIT;
            o.id_column = "no_such_column";
            int rc = churn_txlog_read_csv_buffer(log, buf, len, &o);
            CU_ASSERT_EQUAL(rc, CHURN_EFORMAT);
            const char *msg = churn_last_error_message();
            CU_ASSERT_PTR_NOT_NULL(strstr(msg, "no_such_column"));
            CU_ASSERT(strlen(msg) < 1024);
            churn_txlog_free(log);
            checked++;
        }
    }
    printf("\n  %d header layouts", checked);
}

/* customers.c cohort table: periods are int64 and calendar arithmetic works on
 * whole days, so a far-future purchase (1e20 s ~ 3e12 years) must be refused
 * with a range error naming the days, never converted out of range. */
static void test_cohort_far_future(void)
{
    churn_txlog *log = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_txlog_new(&log), CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_append(log, "a", 0.0 + 86400 * 10, 5.0), CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_append(log, "b", 1e20, 5.0), CHURN_OK);
    for (int period = 0; period < 4; period++) {
        churn_cohort_options o = CHURN_COHORT_OPTIONS_INIT;
        o.period = period == 0 ? CHURN_UNIT_DAY : period == 1 ? CHURN_UNIT_WEEK
                 : period == 2 ? CHURN_UNIT_MONTH : CHURN_UNIT_YEAR;
        size_t nc = 0, np = 0;
        int rc = churn_customers_cohort_table(log, &o, &nc, &np, NULL, NULL, NULL);
        CU_ASSERT_EQUAL(rc, CHURN_ERANGE);
        CU_ASSERT(strstr(churn_last_error_message(), "1e9 days") != NULL);
    }
    churn_txlog_free(log);
}

/* customers.c RFM ranking: a 47-digit epoch time (accepted by the CSV reader
 * as a finite number of seconds) made days-since-last-purchase overflow the
 * conversion to size_t (UBSan, found by fuzz_csv). The table must build and
 * its scores stay in range. */
static void test_regress_huge_epoch(void)
{
    static const char text[] = "a 19970107777777777777777777777777777777777777775 -.5\n"
                               "991a 70301 7\n";
    churn_txlog *log = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_txlog_new(&log), CHURN_OK);
    churn_csv_options o = CHURN_CSV_OPTIONS_INIT;
    o.has_header = 0;
    o.delimiter = ' ';
    int rc = churn_txlog_read_csv_buffer(log, text, sizeof text - 1, &o);
    CU_ASSERT_EQUAL(rc, CHURN_OK);
    if (rc == CHURN_OK) {
        churn_customers *t = NULL;
        rc = churn_customers_build(&t, log, NULL);
        CU_ASSERT(rc == CHURN_OK || (rc == CHURN_EINVAL && churn_last_error_message()[0]));
        if (rc == CHURN_OK) {
            const double *r = churn_customers_column(t, "r_score");
            CU_ASSERT_PTR_NOT_NULL(r);
            for (size_t i = 0; r && i < churn_customers_num_rows(t); i++)
                CU_ASSERT(r[i] >= 1 && r[i] <= 5);
            churn_customers_free(t);
        }
    }
    churn_txlog_free(log);
}

/* fuzz_model (issue 19 campaign): a log-normal model with Log(scale) = -275 loaded
 * and predicted S(2.5) = NaN with CHURN_OK: gsl_sf_log_erfc returns NaN for
 * arguments above about 1e62. With sigma = exp(-275) the distribution is a point
 * mass at exp(linear predictor) (1.06 .. 1.12 here): S = 1 before it, 0 after,
 * the median is exp(lp) and the mean residual life at 0.5 is exp(lp) - 0.5. */
static void test_regress_lognormal_tiny_scale(void)
{
    churn_model *m = NULL;
    int rc = churn_model_load(&m, CHURN_TEST_SOURCE_DIR
                              "/fuzz/corpus/model/regress_lognormal_tiny_scale.json");
    CU_ASSERT_EQUAL_FATAL(rc, CHURN_OK);
    static const double x[6] = {-1, -0.5, 0, 0.5, 1, -1};
    double s[3], pc[3], lp[3], med[3], mrl[3];
    static const double h[4] = {0.5, 1.0, 2.5, 100};
    for (int k = 0; k < 4; k++) {
        CU_ASSERT_EQUAL(churn_surv_predict(m, 3, x, h[k], s, pc, lp), CHURN_OK);
        for (int i = 0; i < 3; i++) {
            CU_ASSERT_EQUAL(s[i], h[k] < 1.05 ? 1.0 : 0.0);
            CU_ASSERT_EQUAL(pc[i], 1.0 - s[i]);
        }
    }
    CU_ASSERT_EQUAL(churn_surv_median(m, 3, x, med), CHURN_OK);
    CU_ASSERT_EQUAL(churn_surv_mean_residual_life(m, 3, x, 0.5, mrl), CHURN_OK);
    for (int i = 0; i < 3; i++) {
        CT_CLOSE(med[i], exp(lp[i]), 1e-12);
        CT_CLOSE(mrl[i], exp(lp[i]) - 0.5, 1e-12);
    }
    churn_model_free(m);
}

int main(void)
{
    make_data();
    CU_TestInfo tests[] = {
        {"allocation failures", test_allocation_failures},
        {"entry-point list", test_entry_point_list},
        {"fuzz model seeds load", test_model_seeds_load},
        {"adversarial numerics", test_adversarial},
        {"fuzz regression: csv header listing", test_regress_header_listing},
        {"fuzz regression: huge epoch in customers", test_regress_huge_epoch},
        {"far-future date in the cohort table", test_cohort_far_future},
        {"fuzz regression: log-normal with a tiny scale", test_regress_lognormal_tiny_scale},
        CU_TEST_INFO_NULL,
    };
    return churn_test_run("reliability", tests);
}
