/* Gamma-Gamma spend model, CLV, DERT, value tiers and alert rules (spend.h).
 *
 * References: the published CDNOW Gamma-Gamma fit (Fader, Hardie & Lee 2005;
 * ../shared/data/README.md), Python lifetimes' fit, expected spend and
 * 12-month CLV for every CDNOW customer (../shared/data/cdnow/lifetimes_clv.csv),
 * and direct numerical integration of the DERT definitions written here. */
#include "churn.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define CT_PI 3.14159265358979323846

/* ---- reference data ------------------------------------------------------ */

typedef struct cdnow {
    size_t n;
    double *x, *tx, *T, *zbar, *p_alive, *exp52, *spend, *clv;
    double bg[4];  /* lifetimes' BG/NBD r, alpha, a, b (file header) */
    double gg[3];  /* lifetimes' Gamma-Gamma p, q, v */
} cdnow;

static void cdnow_free(cdnow *d)
{
    free(d->x);
    free(d->tx);
    free(d->T);
    free(d->zbar);
    free(d->p_alive);
    free(d->exp52);
    free(d->spend);
    free(d->clv);
    memset(d, 0, sizeof *d);
}

/* lifetimes_clv.csv: '#' header lines with the fitted parameters, then
 * ID,x,t_x,T,zbar,p_alive,expected_purchases_52w,expected_spend,clv_12m. */
static int cdnow_load(cdnow *d)
{
    memset(d, 0, sizeof *d);
    const char *path = churn_test_data_path("cdnow/lifetimes_clv.csv");
    if (!path)
        return -1;
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t cap = 4096;
    double **cols[8] = {&d->x, &d->tx, &d->T, &d->zbar, &d->p_alive, &d->exp52, &d->spend,
                        &d->clv};
    for (int j = 0; j < 8; j++)
        *cols[j] = malloc(cap * sizeof(double));
    char line[2048];
    int got_bg = 0, got_gg = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') {
            if (sscanf(line, "# bgnbd r=%lf alpha=%lf a=%lf b=%lf", &d->bg[0], &d->bg[1],
                       &d->bg[2], &d->bg[3]) == 4)
                got_bg = 1;
            if (sscanf(line, "# gamma_gamma p=%lf q=%lf v=%lf", &d->gg[0], &d->gg[1],
                       &d->gg[2]) == 3)
                got_gg = 1;
            continue;
        }
        if (strncmp(line, "ID,", 3) == 0)
            continue;
        double id, v[8];
        if (sscanf(line, "%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf", &id, &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]) != 9)
            continue;
        if (d->n == cap)
            break;
        for (int j = 0; j < 8; j++)
            (*cols[j])[d->n] = v[j];
        d->n++;
    }
    fclose(f);
    if (!got_bg || !got_gg || d->n != 2357) {
        printf("\n  lifetimes_clv.csv: unexpected content (%zu rows, header %d %d)\n", d->n,
               got_bg, got_gg);
        cdnow_free(d);
        return -1;
    }
    return 0;
}

/* A model with given parameters, through the public model-file reader. */
static churn_model *model_with(const char *family, int k, const char *const *names,
                               const double *params, double unit_days)
{
    char buf[2048];
    int off = snprintf(buf, sizeof buf,
                       "{\"format\":\"libchurn-model\",\"format_version\":1,\"family\":\"%s\","
                       "\"time_unit_days\":%g,\"param_names\":[",
                       family, unit_days);
    for (int j = 0; j < k; j++)
        off += snprintf(buf + off, sizeof buf - off, "%s\"%s\"", j ? "," : "", names[j]);
    off += snprintf(buf + off, sizeof buf - off, "],\"params\":[");
    for (int j = 0; j < k; j++)
        off += snprintf(buf + off, sizeof buf - off, "%s%.17g", j ? "," : "", params[j]);
    off += snprintf(buf + off, sizeof buf - off, "],\"std_errors\":[");
    for (int j = 0; j < k; j++)
        off += snprintf(buf + off, sizeof buf - off, "%snull", j ? "," : "");
    snprintf(buf + off, sizeof buf - off,
             "],\"covariance\":null,\"fit\":{\"converged\":true},\"features\":[],"
             "\"arrays\":{},\"note\":\"\"}");
    churn_model *m = NULL;
    if (churn_model_load_buffer(&m, buf, strlen(buf)) != CHURN_OK) {
        printf("\n  model_with(%s): %s\n", family, churn_last_error_message());
        return NULL;
    }
    return m;
}

static const char *const bg_names[] = {"r", "alpha", "a", "b"};
static const char *const pnbd_names[] = {"r", "alpha", "s", "beta"};
static const char *const gg_names[] = {"p", "q", "gamma"};

/* The Gamma-Gamma log-likelihood written out independently (Fader & Hardie
 * 2013 note), for finite-difference checks of the library's Hessian. */
static double gg_ll(const double *par, size_t n, const double *x, const double *z)
{
    double p = par[0], q = par[1], g = par[2], s = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(x[i] > 0 && z[i] > 0))
            continue;
        double px = p * x[i];
        s += lgamma(px + q) - lgamma(px) - lgamma(q) + q * log(g) + px * log(x[i]) +
             (px - 1) * log(z[i]) - (px + q) * log(g + x[i] * z[i]);
    }
    return s;
}

/* ---- Gamma-Gamma ------------------------------------------------------------ */

static void test_gg_cdnow(void)
{
    cdnow d;
    if (cdnow_load(&d)) {
        churn_test_skip("gammagamma cdnow", "../shared/data/cdnow/lifetimes_clv.csv is absent");
        return;
    }
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_gammagamma_fit(&m, d.n, d.x, d.zbar, NULL, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(churn_model_family(m), CHURN_FAMILY_GAMMAGAMMA);
    double p, q, g;
    CU_ASSERT_EQUAL(churn_model_param(m, "p", &p, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(churn_model_param(m, "q", &q, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(churn_model_param(m, "gamma", &g, NULL), CHURN_OK);
    /* Published (FHL 2005): p 6.25, q 3.74, gamma 15.44, LL -4055.918 on 946 buyers. */
    CT_NEAR(p, 6.25, 0.005);
    CT_NEAR(q, 3.74, 0.005);
    CT_NEAR(g, 15.44, 0.005);
    CT_NEAR(churn_model_loglik(m), -4055.918, 0.001);
    CT_NEAR(churn_model_nobs(m), 946, 0);
    CU_ASSERT(churn_model_converged(m));
    /* lifetimes' optimum, 10 digits in the file header. */
    CT_CLOSE(p, d.gg[0], 1e-6);
    CT_CLOSE(q, d.gg[1], 1e-6);
    CT_CLOSE(g, d.gg[2], 1e-6);
    double one = -1, nonpos = -1;
    CU_ASSERT_EQUAL(churn_gammagamma_excluded(m, &one, &nonpos), CHURN_OK);
    CT_NEAR(one, 2357 - 946, 0);
    CT_NEAR(nonpos, 0, 0);

    /* A customer with mean spend 40 over 2 repeat purchases: 39.13 (README). */
    double x2 = 2, z40 = 40, e = 0;
    CU_ASSERT_EQUAL(churn_gammagamma_expected_spend(m, 1, &x2, &z40, &e), CHURN_OK);
    CT_NEAR(e, 39.13, 0.005);

    /* Standard errors = sqrt(diag(inverse observed information)); check the
     * covariance against a finite-difference Hessian of the log-likelihood
     * written out above. */
    double par[3] = {p, q, g}, H[9], cov[9];
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            double ha = 1e-4 * par[a], hb = 1e-4 * par[b], pp[3];
            double f[4];
            for (int s = 0; s < 4; s++) {
                memcpy(pp, par, sizeof pp);
                pp[a] += (s & 1 ? -ha : ha);
                pp[b] += (s & 2 ? -hb : hb);
                f[s] = gg_ll(pp, d.n, d.x, d.zbar);
            }
            H[a * 3 + b] = (f[0] - f[1] - f[2] + f[3]) / (4 * ha * hb);
        }
    CT_CLOSE(gg_ll(par, d.n, d.x, d.zbar), churn_model_loglik(m), 1e-10);
    CU_ASSERT_EQUAL(churn_model_covariance(m, cov, 9), CHURN_OK);
    /* cov * (-H) = I */
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            double s = 0;
            for (int k = 0; k < 3; k++)
                s += cov[a * 3 + k] * -H[k * 3 + b];
            CT_NEAR(s, a == b ? 1.0 : 0.0, 1e-3);
        }

    /* Correlation of frequency and monetary value over the 946 buyers,
     * computed here directly. */
    double sx = 0, sz = 0, sxx = 0, szz = 0, sxz = 0, k = 0;
    for (size_t i = 0; i < d.n; i++)
        if (d.x[i] > 0) {
            k++;
            sx += d.x[i];
            sz += d.zbar[i];
        }
    for (size_t i = 0; i < d.n; i++)
        if (d.x[i] > 0) {
            double u = d.x[i] - sx / k, v = d.zbar[i] - sz / k;
            sxx += u * u;
            szz += v * v;
            sxz += u * v;
        }
    double corr = 0;
    CU_ASSERT_EQUAL(churn_gammagamma_freq_monetary_corr(m, &corr), CHURN_OK);
    CT_CLOSE(corr, sxz / sqrt(sxx * szz), 1e-12);

    /* lifetimes' conditional expected spend for all 2,357 customers with its
     * own parameters (one-time buyers get the population mean). */
    churn_model *lm = model_with("gammagamma", 3, gg_names, d.gg, 7);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lm);
    double *es = malloc(d.n * sizeof *es);
    CU_ASSERT_EQUAL(churn_gammagamma_expected_spend(lm, d.n, d.x, d.zbar, es), CHURN_OK);
    int bad = 0;
    for (size_t i = 0; i < d.n; i++)
        bad += !churn_test_close(es[i], d.spend[i], 1e-8, "expected_spend", __FILE__, __LINE__);
    CU_ASSERT_EQUAL(bad, 0);
    double mean = 0;
    CU_ASSERT_EQUAL(churn_gammagamma_mean_spend(lm, &mean), CHURN_OK);
    CT_CLOSE(mean, 35.17037133, 1e-8); /* lifetimes' value for x = 0 */
    CU_ASSERT_EQUAL(churn_gammagamma_expected_spend(lm, 1, &x2, &z40, &e), CHURN_OK);
    CT_NEAR(e, 39.13, 0.005);

    /* Save + load predicts identically and keeps the fit record. */
    char path[1024];
    snprintf(path, sizeof path, "%s/test_spend_gg.json", churn_test_tmp_dir());
    CU_ASSERT_EQUAL(churn_model_save(m, path), CHURN_OK);
    churn_model *m2 = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_model_load(&m2, path), CHURN_OK);
    double e2 = 0, corr2 = 0, one2 = 0;
    CU_ASSERT_EQUAL(churn_gammagamma_expected_spend(m2, 1, &x2, &z40, &e2), CHURN_OK);
    double e1 = 0;
    churn_gammagamma_expected_spend(m, 1, &x2, &z40, &e1);
    CU_ASSERT_EQUAL(e1, e2);
    CU_ASSERT_EQUAL(churn_gammagamma_freq_monetary_corr(m2, &corr2), CHURN_OK);
    CU_ASSERT_EQUAL(corr, corr2);
    churn_gammagamma_excluded(m2, &one2, NULL);
    CU_ASSERT_EQUAL(one2, one);
    remove(path);

    free(es);
    churn_model_free(m);
    churn_model_free(m2);
    churn_model_free(lm);
    cdnow_free(&d);
}

/* Exclusion rule and weights on simulated Gamma-Gamma data with known truth. */
static double rng_u(unsigned long long *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return ((*s >> 11) + 0.5) / 9007199254740992.0;
}

/* Gamma(shape k, rate 1) by Marsaglia-Tsang (k >= 1) with the boost for k < 1. */
static double rng_gamma(unsigned long long *s, double k)
{
    if (k < 1)
        return rng_gamma(s, k + 1) * pow(rng_u(s), 1.0 / k);
    double d = k - 1.0 / 3, c = 1 / sqrt(9 * d);
    for (;;) {
        double u1 = rng_u(s), u2 = rng_u(s);
        double z = sqrt(-2 * log(u1)) * cos(2 * CT_PI * u2);
        double v = 1 + c * z;
        if (v <= 0)
            continue;
        v = v * v * v;
        if (log(rng_u(s)) < 0.5 * z * z + d - d * v + d * log(v))
            return d * v;
    }
}

static void test_gg_rules_and_weights(void)
{
    /* 20,000 customers, true p 4, q 3, gamma 20; x in 1..6. */
    const size_t n = 20000;
    double *x = malloc((n + 30) * sizeof *x), *z = malloc((n + 30) * sizeof *z);
    unsigned long long s = 42;
    for (size_t i = 0; i < n; i++) {
        x[i] = 1 + (double)(i % 6);
        double nu = rng_gamma(&s, 3.0) / 20.0; /* Gamma(q, rate gamma) */
        double tot = 0;
        for (int j = 0; j < (int)x[i]; j++)
            tot += rng_gamma(&s, 4.0) / nu;
        z[i] = tot / x[i];
    }
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_gammagamma_fit(&m, n, x, z, NULL, NULL), CHURN_OK);
    double est[3], se[3], truth[3] = {4, 3, 20};
    churn_model_params(m, est, 3);
    churn_model_std_errors(m, se, 3);
    for (int j = 0; j < 3; j++) {
        CU_ASSERT(fabs(est[j] - truth[j]) < 4 * se[j]);
        CU_ASSERT(se[j] > 0 && se[j] < 0.2 * truth[j]);
    }

    /* Appending one-time buyers, zero and negative mean spends changes nothing
     * in the fit; they are counted. */
    for (size_t i = n; i < n + 30; i++) {
        x[i] = (i % 3 == 0) ? 0 : 2;
        z[i] = (i % 3 == 0) ? 0 : (i % 3 == 1 ? 0.0 : -12.5);
    }
    churn_model *m2 = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_gammagamma_fit(&m2, n + 30, x, z, NULL, NULL), CHURN_OK);
    double est2[3];
    churn_model_params(m2, est2, 3);
    for (int j = 0; j < 3; j++)
        CU_ASSERT_EQUAL(est2[j], est[j]);
    double one, nonpos;
    churn_gammagamma_excluded(m2, &one, &nonpos);
    CT_NEAR(one, 10, 0);
    CT_NEAR(nonpos, 20, 0);
    /* ... and they get the population mean p gamma / (q - 1). */
    double pred[3], mean;
    CU_ASSERT_EQUAL(churn_gammagamma_expected_spend(m2, 3, x + n, z + n, pred), CHURN_OK);
    CU_ASSERT_EQUAL(churn_gammagamma_mean_spend(m2, &mean), CHURN_OK);
    CT_CLOSE(mean, est2[0] * est2[2] / (est2[1] - 1), 1e-14);
    for (int j = 0; j < 3; j++)
        CT_CLOSE(pred[j], mean, 1e-14);

    /* Weights: rows 0..999 once with weight 2 == those rows twice. */
    double *w = malloc(1000 * sizeof *w), *x2 = malloc(2000 * sizeof *x2),
           *z2 = malloc(2000 * sizeof *z2);
    for (size_t i = 0; i < 1000; i++) {
        w[i] = 2;
        x2[i] = x2[i + 1000] = x[i];
        z2[i] = z2[i + 1000] = z[i];
    }
    churn_model *mw = NULL, *md = NULL;
    CU_ASSERT_EQUAL(churn_gammagamma_fit(&mw, 1000, x, z, w, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(churn_gammagamma_fit(&md, 2000, x2, z2, NULL, NULL), CHURN_OK);
    double a[3], b[3];
    churn_model_params(mw, a, 3);
    churn_model_params(md, b, 3);
    for (int j = 0; j < 3; j++)
        CT_CLOSE(a[j], b[j], 1e-7);
    CT_CLOSE(churn_model_loglik(mw), churn_model_loglik(md), 1e-10);

    free(w);
    free(x2);
    free(z2);
    free(x);
    free(z);
    churn_model_free(m);
    churn_model_free(m2);
    churn_model_free(mw);
    churn_model_free(md);
}

static void test_gg_errors(void)
{
    double x[4] = {1, 2, 3, 4}, z[4] = {10, 20, 15, 12}, w[4] = {1, 1, 1, 1};
    churn_model *m = (churn_model *)1;
    x[2] = -1;
    CU_ASSERT_EQUAL(churn_gammagamma_fit(&m, 4, x, z, NULL, NULL), CHURN_EINVAL);
    CU_ASSERT_PTR_NULL(m);
    CU_ASSERT(strstr(churn_last_error_message(), "row 2") != NULL);
    CU_ASSERT(strstr(churn_last_error_message(), "frequency") != NULL);
    x[2] = 3;
    z[1] = NAN;
    CU_ASSERT_EQUAL(churn_gammagamma_fit(&m, 4, x, z, NULL, NULL), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row 1") != NULL);
    CU_ASSERT(strstr(churn_last_error_message(), "monetary_value") != NULL);
    z[1] = 20;
    w[3] = -1;
    CU_ASSERT_EQUAL(churn_gammagamma_fit(&m, 4, x, z, w, NULL), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "weights") != NULL);
    /* one usable row */
    double x1[3] = {0, 0, 2}, z1[3] = {0, 0, 5};
    CU_ASSERT_EQUAL(churn_gammagamma_fit(&m, 3, x1, z1, NULL, NULL), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "usable") != NULL);
    CU_ASSERT_EQUAL(churn_gammagamma_fit(NULL, 3, x1, z1, NULL, NULL), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_gammagamma_fit(&m, 3, NULL, z1, NULL, NULL), CHURN_EINVAL);
    /* bad option struct tail */
    struct {
        churn_gammagamma_options o;
        double extra;
    } big;
    memset(&big, 0, sizeof big);
    big.o.struct_size = sizeof big;
    big.extra = 1;
    CU_ASSERT_EQUAL(churn_gammagamma_fit(&m, 4, x, z, NULL, &big.o), CHURN_EINVAL);

    /* prediction errors */
    double gp[3] = {2, 0.8, 10};
    churn_model *g = model_with("gammagamma", 3, gg_names, gp, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    double mean, e, xx = 0, zz = 0;
    CU_ASSERT_EQUAL(churn_gammagamma_mean_spend(g, &mean), CHURN_ENUMERIC);
    CU_ASSERT(strstr(churn_last_error_message(), "q") != NULL);
    CU_ASSERT_EQUAL(churn_gammagamma_expected_spend(g, 1, &xx, &zz, &e), CHURN_ENUMERIC);
    xx = 3;
    zz = 10; /* p x + q - 1 > 0: finite even with q < 1 */
    CU_ASSERT_EQUAL(churn_gammagamma_expected_spend(g, 1, &xx, &zz, &e), CHURN_OK);
    CT_CLOSE(e, 2 * (10 + 30) / (6 + 0.8 - 1), 1e-14);
    xx = -1;
    CU_ASSERT_EQUAL(churn_gammagamma_expected_spend(g, 1, &xx, &zz, &e), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row 0") != NULL);
    double bp[4] = {0.24, 4.4, 0.79, 2.4};
    churn_model *bg = model_with("bgnbd", 4, bg_names, bp, 7);
    CU_ASSERT_EQUAL(churn_gammagamma_expected_spend(bg, 1, &xx, &zz, &e), CHURN_EFAMILY);
    CU_ASSERT_EQUAL(churn_gammagamma_freq_monetary_corr(g, &e), CHURN_EUNSUPPORTED);
    churn_model_free(g);
    churn_model_free(bg);
}

/* ---- CLV -------------------------------------------------------------------- */

static void test_clv_cdnow_lifetimes(void)
{
    cdnow d;
    if (cdnow_load(&d)) {
        churn_test_skip("clv cdnow", "../shared/data/cdnow/lifetimes_clv.csv is absent");
        return;
    }
    /* The file header's parameters and settings: 12 months of 4.345 weeks,
     * 1% a month, margin 1. */
    churn_model *bg = model_with("bgnbd", 4, bg_names, d.bg, 7);
    churn_model *gg = model_with("gammagamma", 3, gg_names, d.gg, 7);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gg);
    churn_clv_options o = CHURN_CLV_OPTIONS_INIT;
    o.horizon = 12;
    o.period = 4.345;
    o.discount = 0.01;
    o.margin = 1;
    size_t n = d.n;
    double *pa = malloc(n * sizeof *pa), *ep = malloc(n * sizeof *ep), *es = malloc(n * sizeof *es),
           *clv = malloc(n * sizeof *clv), *var = malloc(n * sizeof *var),
           *disc = malloc(n * sizeof *disc);
    CU_ASSERT_EQUAL_FATAL(churn_clv_score(bg, gg, &o, n, d.x, d.tx, d.T, d.zbar, pa, ep, es, clv,
                                          var),
                          CHURN_OK);
    int bad = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double rel = fabs(clv[i] - d.clv[i]) / d.clv[i];
        worst = fmax(worst, rel);
        bad += !churn_test_close(clv[i], d.clv[i], 1e-4, "clv_12m", __FILE__, __LINE__);
        bad += !churn_test_close(es[i], d.spend[i], 1e-8, "expected_spend", __FILE__, __LINE__);
        bad += !churn_test_close(pa[i], d.p_alive[i], 1e-6, "p_alive", __FILE__, __LINE__);
        /* value at risk = clv / p_alive * (1 - p_alive) */
        double want = pa[i] < 1 ? clv[i] * (1 - pa[i]) / pa[i] : 0;
        bad += !churn_test_near(var[i], want, 1e-9 * (1 + clv[i]), "value_at_risk", __FILE__,
                                __LINE__);
        if (bad > 20)
            break;
    }
    CU_ASSERT_EQUAL(bad, 0);
    printf("\n  CDNOW clv_12m: worst relative difference to lifetimes %.3g over %zu customers\n",
           worst, n);

    /* Margin scales linearly; discounted purchases are clv / (margin spend). */
    o.margin = 0.3;
    double *clv3 = malloc(n * sizeof *clv3);
    CU_ASSERT_EQUAL(churn_clv_score(bg, gg, &o, n, d.x, d.tx, d.T, d.zbar, NULL, NULL, NULL,
                                    clv3, NULL),
                    CHURN_OK);
    CU_ASSERT_EQUAL(churn_clv_discounted_purchases(bg, &o, n, d.x, d.tx, d.T, disc), CHURN_OK);
    for (size_t i = 0; i < 50; i++) {
        CT_CLOSE(clv3[i], 0.3 * clv[i], 1e-12);
        CT_CLOSE(disc[i] * es[i], clv[i], 1e-12);
    }
    /* Without a spend model, monetary_value is the caller's expected spend. */
    o.margin = 1;
    CU_ASSERT_EQUAL(churn_clv_score(bg, NULL, &o, n, d.x, d.tx, d.T, es, NULL, NULL, NULL, clv3,
                                    NULL),
                    CHURN_OK);
    for (size_t i = 0; i < 50; i++)
        CT_CLOSE(clv3[i], clv[i], 1e-14);
    /* expected_purchases is E[X(T, T + 12 * 4.345)] */
    double *e52 = malloc(n * sizeof *e52);
    CU_ASSERT_EQUAL(churn_btyd_expected_purchases(bg, 12 * 4.345, n, d.x, d.tx, d.T, e52),
                    CHURN_OK);
    for (size_t i = 0; i < 50; i++)
        CT_CLOSE(ep[i], e52[i], 1e-14);
    /* Customers with identical histories are valued once (n >= 256): the batch
     * equals customer-by-customer calls, and a bad row is still named by its
     * own index. */
    {
        double one_clv, one_pa, one_var;
        int diff = 0;
        for (size_t i = 0; i < 400; i++) {
            churn_clv_score(bg, gg, &o, 1, d.x + i, d.tx + i, d.T + i, d.zbar + i, &one_pa,
                            NULL, NULL, &one_clv, &one_var);
            diff += !churn_test_close(one_clv, clv[i], 1e-15, "clv", __FILE__, __LINE__);
            diff += !churn_test_close(one_pa, pa[i], 1e-15, "p_alive", __FILE__, __LINE__);
        }
        CU_ASSERT_EQUAL(diff, 0);
        double *Tb = malloc(n * sizeof *Tb);
        memcpy(Tb, d.T, n * sizeof *Tb);
        Tb[1234] = -2;
        CU_ASSERT(churn_clv_score(bg, gg, &o, n, d.x, d.tx, Tb, d.zbar, NULL, NULL, NULL, clv3,
                                  NULL) < 0);
        CU_ASSERT(strstr(churn_last_error_message(), "1234") != NULL);
        free(Tb);
    }
    /* Default period: one month (30.4375 days) in the model's unit (weeks). */
    churn_clv_options od = CHURN_CLV_OPTIONS_INIT, om = CHURN_CLV_OPTIONS_INIT;
    om.period = 30.4375 / 7;
    double dd[5], dm[5];
    CU_ASSERT_EQUAL(churn_clv_discounted_purchases(bg, &od, 5, d.x, d.tx, d.T, dd), CHURN_OK);
    CU_ASSERT_EQUAL(churn_clv_discounted_purchases(bg, &om, 5, d.x, d.tx, d.T, dm), CHURN_OK);
    for (int i = 0; i < 5; i++)
        CT_CLOSE(dd[i], dm[i], 1e-14);

    free(pa);
    free(ep);
    free(es);
    free(clv);
    free(var);
    free(disc);
    free(clv3);
    free(e52);
    churn_model_free(bg);
    churn_model_free(gg);
    cdnow_free(&d);
}

/* E[X(T, T + t) | alive at T, x, T] of BG/NBD (m = 0) or MBG/NBD (m = 1) from FHL 2005
 * eq. 10 as printed, (C/(a-1)) [1 - ((al+T)/(al+T+t))^(r+x) 2F1(r+x, b'; C; z)] with
 * b' = b+x+m, C = a+b'-1, z = t/(al+T+t), the Gauss series summed term by term in long
 * double (every term positive): an evaluation independent of the library's Euler-transformed
 * series and its shared coefficients. */
static long double indep_alive_expected(const double *p, int m, double x, double T, double t)
{
    long double r = p[0] + x, al = (long double)p[1] + T, a = p[2], b = (long double)p[3] + x + m;
    long double C = a + b - 1, z = t / (al + t);
    long double term = 1, sum = 1;
    for (int k = 0; k < 100000; k++) {
        term *= (r + k) * (b + k) / ((C + k) * (k + 1)) * z;
        sum += term;
        if (term < 1e-22L * sum && k > 5)
            break;
    }
    return C / (a - 1) * (1 - powl(al / (al + t), r) * sum);
}

static long double indep_p_alive(const double *p, int m, double x, double tx, double T)
{
    if (!m && x == 0)
        return 1;
    long double u = (long double)p[2] / ((long double)p[3] + x - 1 + m) *
                    powl(((long double)p[1] + T) / ((long double)p[1] + tx), p[0] + x);
    return 1 / (1 + u);
}

/* The discounted expected purchases of many random customers whose (x, T) repeat, as a CLV
 * table does (customers acquired on the same days): the batch (rows grouped by (x, T) since
 * issue 22) equals the independent evaluation above within 1e-10, and, bit for bit, the
 * direct path (batches of fewer than 256 rows are never grouped) and single-row calls. */
static void test_clv_grouped_matches_independent(void)
{
    static const double sets[][4] = {
        {2, 12, 0.3, 6},                  /* the issue-22 simulation's frequent buyers */
        {0.2426, 4.4136, 0.7929, 2.4259}, /* CDNOW (FHL 2005) */
        {0.8, 3, 2.5, 4},                 /* a > 1 */
    };
    enum { N = 4000, SMALL_N = 200 };
    double *x = malloc(N * sizeof *x), *tx = malloc(N * sizeof *tx), *T = malloc(N * sizeof *T);
    double *disc = malloc(N * sizeof *disc), *d1 = malloc(N * sizeof *d1);
    double *clv = malloc(N * sizeof *clv), *m = malloc(N * sizeof *m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x && tx && T && disc && d1 && clv && m);
    static const double gg[3] = {6.25, 3.74, 15.44};
    churn_model *spend = model_with("gammagamma", 3, gg_names, gg, 7);
    CU_ASSERT_PTR_NOT_NULL_FATAL(spend);
    unsigned long long st = 20261207ULL;
    double worst = 0;
    for (int fam = 0; fam < 2; fam++) {
        for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
            churn_model *bg = model_with(fam ? "mbgnbd" : "bgnbd", 4, bg_names, sets[s], 7);
            CU_ASSERT_PTR_NOT_NULL_FATAL(bg);
            for (size_t i = 0; i < N; i++) {
                /* 26 acquisition weeks on a daily grid, x in 0..29: a few hundred pairs */
                st = st * 6364136223846793005ULL + 1442695040888963407ULL;
                unsigned u1 = (unsigned)(st >> 33);
                T[i] = 52 + (double)(u1 % 20) / 7.0;
                x[i] = (double)((u1 >> 8) % 30);
                st = st * 6364136223846793005ULL + 1442695040888963407ULL;
                double v = (double)(st >> 11) / 9007199254740992.0;
                tx[i] = x[i] == 0 ? 0 : v * T[i];
                m[i] = 10 + 40 * v;
            }
            churn_clv_options o = CHURN_CLV_OPTIONS_INIT;
            o.horizon = 12;
            o.period = 4.345;
            o.discount = 0.01;
            CU_ASSERT_EQUAL_FATAL(churn_clv_discounted_purchases(bg, &o, N, x, tx, T, disc),
                                  CHURN_OK);
            /* the direct path, in batches too small to be grouped */
            for (size_t i0 = 0; i0 < N; i0 += SMALL_N)
                CU_ASSERT_EQUAL_FATAL(churn_clv_discounted_purchases(bg, &o, SMALL_N, x + i0,
                                                                     tx + i0, T + i0, d1 + i0),
                                      CHURN_OK);
            int bad = 0;
            for (size_t i = 0; i < N; i++) {
                bad += memcmp(&disc[i], &d1[i], sizeof disc[i]) != 0;
                long double want = 0, prev = 0, f = 1;
                long double pa = indep_p_alive(sets[s], fam, x[i], tx[i], T[i]);
                for (int k = 1; k <= 12; k++) {
                    long double e = pa * indep_alive_expected(sets[s], fam, x[i], T[i],
                                                              k * 4.345);
                    f /= 1.01L;
                    want += (e - prev) * f;
                    prev = e;
                }
                double rel = fabs(disc[i] - (double)want) / (double)want;
                worst = fmax(worst, rel);
                if (!churn_test_close(disc[i], (double)want, 1e-10, "discounted purchases",
                                      __FILE__, __LINE__) && ++bad > 10)
                    break;
            }
            CU_ASSERT_EQUAL(bad, 0);
            /* churn_clv_score: the batch and single-customer calls agree bit for bit */
            CU_ASSERT_EQUAL_FATAL(churn_clv_score(bg, spend, &o, N, x, tx, T, m, NULL, NULL,
                                                  NULL, clv, NULL),
                                  CHURN_OK);
            int differ = 0;
            for (size_t i = 0; i < N; i += 7) {
                double one;
                CU_ASSERT_EQUAL_FATAL(churn_clv_score(bg, spend, &o, 1, x + i, tx + i, T + i,
                                                      m + i, NULL, NULL, NULL, &one, NULL),
                                      CHURN_OK);
                differ += memcmp(&one, &clv[i], sizeof one) != 0;
            }
            CU_ASSERT_EQUAL(differ, 0);
            churn_model_free(bg);
        }
    }
    printf("\n  grouped CLV: worst relative difference to FHL eq. 10 (long double) %.3g\n",
           worst);
    churn_model_free(spend);
    free(x);
    free(tx);
    free(T);
    free(disc);
    free(d1);
    free(clv);
    free(m);
}

static void test_clv_errors(void)
{
    double bp[4] = {0.2426, 4.4136, 0.7929, 2.4259}, gp[3] = {6.25, 3.74, 15.44};
    churn_model *bg = model_with("bgnbd", 4, bg_names, bp, 0); /* unknown unit */
    churn_model *gg = model_with("gammagamma", 3, gg_names, gp, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gg);
    double x[2] = {2, 0}, tx[2] = {30, 0}, T[2] = {38, 38}, z[2] = {40, 0}, c[2];
    /* period 0 (= one month) needs the model's time unit */
    CU_ASSERT_EQUAL(churn_clv_score(bg, gg, NULL, 2, x, tx, T, z, NULL, NULL, NULL, c, NULL),
                    CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "period") != NULL);
    churn_clv_options o = CHURN_CLV_OPTIONS_INIT;
    o.period = 4.345;
    CU_ASSERT_EQUAL(churn_clv_score(bg, gg, &o, 2, x, tx, T, z, NULL, NULL, NULL, c, NULL),
                    CHURN_OK);
    o.horizon = 0;
    CU_ASSERT_EQUAL(churn_clv_score(bg, gg, &o, 2, x, tx, T, z, NULL, NULL, NULL, c, NULL),
                    CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "horizon") != NULL);
    o.horizon = 12;
    o.discount = -0.1;
    CU_ASSERT_EQUAL(churn_clv_score(bg, gg, &o, 2, x, tx, T, z, NULL, NULL, NULL, c, NULL),
                    CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "discount") != NULL);
    o.discount = 0.01;
    o.margin = NAN;
    CU_ASSERT_EQUAL(churn_clv_score(bg, gg, &o, 2, x, tx, T, z, NULL, NULL, NULL, c, NULL),
                    CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "margin") != NULL);
    o.margin = 1;
    /* models swapped: wrong family, and the message names the argument at fault
     * (it used to read "not defined for a 'bgnbd' model" for a bad spend model) */
    CU_ASSERT_EQUAL(churn_clv_score(gg, bg, &o, 2, x, tx, T, z, NULL, NULL, NULL, c, NULL),
                    CHURN_EFAMILY);
    CU_ASSERT(strstr(churn_last_error_message(), "argument 'btyd' is a 'gammagamma' model") !=
              NULL);
    CU_ASSERT_EQUAL(churn_clv_score(bg, bg, &o, 2, x, tx, T, z, NULL, NULL, NULL, c, NULL),
                    CHURN_EFAMILY);
    CU_ASSERT(strstr(churn_last_error_message(),
                     "argument 'spend' is a 'bgnbd' model; it must be a 'gammagamma' model") !=
              NULL);
    CU_ASSERT(strstr(churn_last_error_message(), "'btyd'") == NULL);
    /* bad customer row */
    z[1] = NAN;
    CU_ASSERT_EQUAL(churn_clv_score(bg, gg, &o, 2, x, tx, T, z, NULL, NULL, NULL, c, NULL),
                    CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row 1") != NULL);
    z[1] = 0;
    T[0] = -1;
    CU_ASSERT(churn_clv_score(bg, gg, &o, 2, x, tx, T, z, NULL, NULL, NULL, c, NULL) < 0);
    T[0] = 38;
    CU_ASSERT_EQUAL(churn_clv_score(bg, gg, &o, 2, NULL, tx, T, z, NULL, NULL, NULL, c, NULL),
                    CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_clv_discounted_purchases(NULL, &o, 2, x, tx, T, c), CHURN_EINVAL);
    /* zero discount: discounted purchases = expected purchases over the horizon */
    o.discount = 0;
    double e[2];
    CU_ASSERT_EQUAL(churn_clv_discounted_purchases(bg, &o, 2, x, tx, T, c), CHURN_OK);
    CU_ASSERT_EQUAL(churn_btyd_expected_purchases(bg, 12 * 4.345, 2, x, tx, T, e), CHURN_OK);
    CT_CLOSE(c[0], e[0], 1e-12);
    CT_CLOSE(c[1], e[1], 1e-12);
    churn_model_free(bg);
    churn_model_free(gg);
}

/* ---- DERT -------------------------------------------------------------------- */

/* ∫_a^b f by 10-point Gauss-Legendre. */
static const double gl_x[5] = {0.1488743389816312, 0.4333953941292472, 0.6794095682990244,
                               0.8650633666889845, 0.9739065285171717};
static const double gl_w[5] = {0.2955242247147529, 0.2692667193099963, 0.2190863625159820,
                               0.1494513491505806, 0.0666713443086881};

/* DERT by its definition, ∫_0^∞ e^{-delta t} dE(t) = ∫_0^∞ e^{-s} E(s / delta) ds
 * (by parts, s = delta t), with E(t) the model's conditional expected
 * purchases, integrated here by composite Gauss-Legendre on [0, 60]
 * (e^{-60} is negligible) for all n customers at once. */
static void dert_by_definition(const churn_model *m, double delta, size_t n, const double *x,
                               const double *tx, const double *T, double *out)
{
    double *e = malloc(n * sizeof *e);
    for (size_t i = 0; i < n; i++)
        out[i] = 0;
    /* finer panels near 0 where most of the weight is */
    double edges[200];
    int ne = 0;
    for (double a = 0; a < 60; a += (a < 10 ? 0.25 : 1.0))
        edges[ne++] = a;
    edges[ne++] = 60;
    for (int k = 0; k + 1 < ne; k++) {
        double a = edges[k], b = edges[k + 1], c = (a + b) / 2, h = (b - a) / 2;
        for (int j = 0; j < 10; j++) {
            double s = c + (j < 5 ? -gl_x[j] : gl_x[j - 5]) * h;
            double w = gl_w[j < 5 ? j : j - 5] * h;
            churn_btyd_expected_purchases(m, s / delta, n, x, tx, T, e);
            for (size_t i = 0; i < n; i++)
                out[i] += w * exp(-s) * e[i];
        }
    }
    free(e);
}

static void test_dert_pnbd(void)
{
    cdnow d;
    if (cdnow_load(&d)) {
        churn_test_skip("dert pnbd", "../shared/data/cdnow/lifetimes_clv.csv is absent");
        return;
    }
    /* Published Pareto/NBD CDNOW fit (README), 15% a year in weeks as FHL 2005. */
    double pp[4] = {0.5533971, 10.5801985, 0.6060625, 11.6562237};
    churn_model *m = model_with("pnbd", 4, pnbd_names, pp, 7);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    double delta = log(1.15) / 52;
    /* every 12th customer plus the heaviest buyer */
    size_t k = 0, cap = d.n / 12 + 2;
    double *x = malloc(cap * sizeof *x), *tx = malloc(cap * sizeof *tx),
           *T = malloc(cap * sizeof *T), *a = malloc(cap * sizeof *a),
           *b = malloc(cap * sizeof *b);
    size_t imax = 0;
    for (size_t i = 0; i < d.n; i++) {
        if (d.x[i] > d.x[imax])
            imax = i;
        if (i % 12 == 0) {
            x[k] = d.x[i];
            tx[k] = d.tx[i];
            T[k] = d.T[i];
            k++;
        }
    }
    x[k] = d.x[imax];
    tx[k] = d.tx[imax];
    T[k] = d.T[imax];
    k++;
    CU_ASSERT_EQUAL_FATAL(churn_dert(m, delta, k, x, tx, T, a), CHURN_OK);
    dert_by_definition(m, delta, k, x, tx, T, b);
    int bad = 0;
    double worst = 0;
    for (size_t i = 0; i < k; i++) {
        worst = fmax(worst, fabs(a[i] - b[i]) / b[i]);
        bad += !churn_test_close(a[i], b[i], 1e-6, "pnbd dert", __FILE__, __LINE__);
    }
    CU_ASSERT_EQUAL(bad, 0);
    printf("\n  Pareto/NBD DERT vs integral of the definition: worst rel. diff %.3g over %zu "
           "customers\n", worst, k);
    /* A larger delta (10% a week) exercises U(s, s; z) at larger z. */
    CU_ASSERT_EQUAL(churn_dert(m, log(1.1), 10, x, tx, T, a), CHURN_OK);
    dert_by_definition(m, log(1.1), 10, x, tx, T, b);
    for (size_t i = 0; i < 10; i++)
        CT_CLOSE(a[i], b[i], 1e-6);
    CU_ASSERT_EQUAL(churn_dert(m, 0, 1, x, tx, T, a), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "delta") != NULL);
    free(x);
    free(tx);
    free(T);
    free(a);
    free(b);
    churn_model_free(m);
    cdnow_free(&d);
}

/* tanh-sinh quadrature on (0, 1): nodes and weights (handles integrable
 * endpoint singularities). */
#define TS_N 160
static void tanh_sinh(double *u, double *um, double *w, int *n)
{
    const double h = 1.0 / 24;
    int k = 0;
    for (int j = -TS_N; j <= TS_N; j++) {
        double t = j * h, sh = CT_PI / 2 * sinh(t);
        double e = exp(-2 * fabs(sh));
        /* x = (1 + tanh(sh)) / 2 and 1 - x without cancellation */
        double small = e / (1 + e); /* = (1 - tanh|sh|)/2 */
        double x = sh >= 0 ? 1 - small : small, xm = sh >= 0 ? small : 1 - small;
        double c = cosh(sh);
        double wt = h * (CT_PI / 4) * cosh(t) / (c * c);
        if (x <= 0 || xm <= 0 || wt < 1e-300)
            continue;
        u[k] = x;
        um[k] = xm;
        w[k] = wt;
        k++;
    }
    *n = k;
}

/* BG/NBD: given alive, the future is purchases at rate lambda, each followed
 * by death with probability p; the discounted count is
 * sum_k (lambda/(lambda+delta))^k (1-p)^{k-1} = lambda / (delta + p lambda).
 * Posterior given alive: lambda ~ Gamma(r + x, alpha + T), p ~ Beta(a, b + x),
 * independent. DERT = P(alive) E[lambda / (delta + p lambda)], by 2-D
 * tanh-sinh quadrature here. */
static double bgnbd_dert_2d(const double *bp, double delta, double x, double T, double p_alive)
{
    static double u[2 * TS_N + 1], um[2 * TS_N + 1], w[2 * TS_N + 1];
    static int nn = 0;
    if (!nn)
        tanh_sinh(u, um, w, &nn);
    double r = bp[0], al = bp[1], a = bp[2], b = bp[3];
    double k = r + x, c = al + T, bb = b + x;
    double lbeta = lgamma(a) + lgamma(bb) - lgamma(a + bb);
    double s = 0;
    for (int i = 0; i < nn; i++) {
        /* lambda = (u / (1 - u)) / c */
        double lam = u[i] / um[i] / c;
        /* Jacobian 1 / (c (1-u)^2) times the Gamma density, in logs so that
         * an infinite Jacobian never meets a zero density */
        double wdens = exp(-2 * log(um[i]) - log(c) + k * log(c) + (k - 1) * log(lam) -
                           c * lam - lgamma(k));
        double inner = 0;
        for (int j = 0; j < nn; j++) {
            double p = u[j];
            double bd = exp((a - 1) * log(p) + (bb - 1) * log(um[j]) - lbeta);
            inner += w[j] * bd * lam / (delta + p * lam);
        }
        s += w[i] * wdens * inner;
    }
    return p_alive * s;
}

static void test_dert_bgnbd(void)
{
    double bp[4] = {0.2425945, 4.4136019, 0.7929199, 2.4258881};
    churn_model *m = model_with("bgnbd", 4, bg_names, bp, 7);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    double x[5] = {0, 2, 26, 1, 7}, tx[5] = {0, 30.43, 30.857, 1.71, 29.43},
           T[5] = {38.86, 38.86, 31, 38.86, 38.86};
    double delta = log(1.15) / 52, dn[5], pa[5];
    CU_ASSERT_EQUAL_FATAL(churn_dert(m, delta, 5, x, tx, T, dn), CHURN_OK);
    CU_ASSERT_EQUAL(churn_btyd_p_alive(m, 5, x, tx, T, pa), CHURN_OK);
    for (int i = 0; i < 5; i++) {
        double ref = bgnbd_dert_2d(bp, delta, x[i], T[i], pa[i]);
        CT_CLOSE(dn[i], ref, 1e-6);
    }
    double sbgp[2] = {0.704, 1.182};
    static const char *const sbg_names[] = {"alpha", "beta"};
    churn_model *sbg = model_with("sbg", 2, sbg_names, sbgp, 0);
    CU_ASSERT_EQUAL(churn_dert(sbg, delta, 5, x, tx, T, dn), CHURN_EFAMILY);
    churn_model_free(sbg);
    churn_model_free(m);
}

static void test_clv_contractual(void)
{
    double sp[2] = {0.704, 1.182};
    static const char *const sbg_names[] = {"alpha", "beta"};
    churn_model *m = model_with("sbg", 2, sbg_names, sp, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    double periods[3] = {1, 3, 7}, derl[3], clv[3];
    int rc = churn_sbg_derl(m, 0.1, 3, periods, derl);
    CU_ASSERT_EQUAL_FATAL(rc, CHURN_OK);
    CU_ASSERT_EQUAL(churn_clv_contractual(m, 50, 0.1, 3, periods, clv), CHURN_OK);
    for (int i = 0; i < 3; i++)
        CT_CLOSE(clv[i], 50 * derl[i], 1e-15);
    CU_ASSERT_EQUAL(churn_clv_contractual(m, NAN, 0.1, 3, periods, clv), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "value_per_period") != NULL);
    double bp[4] = {0.24, 4.4, 0.79, 2.4};
    churn_model *bg = model_with("bgnbd", 4, bg_names, bp, 7);
    CU_ASSERT_EQUAL(churn_clv_contractual(bg, 50, 0.1, 3, periods, clv), CHURN_EFAMILY);
    churn_model_free(bg);
    churn_model_free(m);
}

/* ---- tiers and alerts on a hand-made table --------------------------------- */

static void test_tiers(void)
{
    /* 10 customers: key = top 2, important = next 3, ordinary = 5. */
    double v[10] = {5, 100, 1, 30, 0, 50, 10, 20, 2, 3};
    int tier[10];
    double share = -1;
    CU_ASSERT_EQUAL(churn_tiers_assign(10, v, 0.2, 0.3, tier, &share), CHURN_OK);
    int want[10] = {3, 1, 3, 2, 3, 1, 2, 2, 3, 3};
    for (int i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(tier[i], want[i]);
    CT_CLOSE(share, 150.0 / 221.0, 1e-15);
    /* ties at the boundary go to the better tier */
    double t[5] = {10, 10, 10, 1, 1};
    CU_ASSERT_EQUAL(churn_tiers_assign(5, t, 0.2, 0.2, tier, &share), CHURN_OK);
    CU_ASSERT_EQUAL(tier[0], CHURN_TIER_KEY);
    CU_ASSERT_EQUAL(tier[1], CHURN_TIER_KEY);
    CU_ASSERT_EQUAL(tier[2], CHURN_TIER_KEY);
    CU_ASSERT_EQUAL(tier[3], CHURN_TIER_ORDINARY);
    CT_CLOSE(share, 30.0 / 32.0, 1e-15);
    CU_ASSERT_STRING_EQUAL(churn_tier_name(CHURN_TIER_KEY), "key");
    CU_ASSERT_STRING_EQUAL(churn_tier_name(CHURN_TIER_IMPORTANT), "important");
    CU_ASSERT_STRING_EQUAL(churn_tier_name(CHURN_TIER_ORDINARY), "ordinary");
    CU_ASSERT_STRING_EQUAL(churn_tier_name(9), "");
    /* all-zero values: share 0 */
    double z[3] = {0, 0, 0};
    CU_ASSERT_EQUAL(churn_tiers_assign(3, z, 0.2, 0.3, NULL, &share), CHURN_OK);
    CU_ASSERT_EQUAL(share, 0.0);
    /* errors name the argument or row */
    v[4] = NAN;
    CU_ASSERT_EQUAL(churn_tiers_assign(10, v, 0.2, 0.3, tier, &share), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row 4") != NULL);
    v[4] = 0;
    CU_ASSERT_EQUAL(churn_tiers_assign(10, v, 1.2, 0.3, tier, &share), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "key_fraction") != NULL);
    CU_ASSERT_EQUAL(churn_tiers_assign(10, v, 0.5, 0.6, tier, &share), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "important_fraction") != NULL);
    CU_ASSERT_EQUAL(churn_tiers_assign(0, NULL, 0.2, 0.3, NULL, &share), CHURN_OK);

    /* random values with many ties, against counting strictly larger values
     * directly (O(n^2)) */
    unsigned long long s = 7;
    for (int rep = 0; rep < 20; rep++) {
        size_t n = 1 + (size_t)(rng_u(&s) * 300);
        double *val = malloc(n * sizeof *val), kf = rng_u(&s) * 0.5, imf = rng_u(&s) * 0.5;
        int *tr = malloc(n * sizeof *tr), levels = 1 + (int)(rng_u(&s) * 20);
        for (size_t i = 0; i < n; i++)
            val[i] = floor(rng_u(&s) * levels) - 3;
        CU_ASSERT_EQUAL(churn_tiers_assign(n, val, kf, imf, tr, &share), CHURN_OK);
        double tot = 0, top = 0;
        int bad = 0;
        for (size_t i = 0; i < n; i++) {
            size_t larger = 0;
            for (size_t j = 0; j < n; j++)
                larger += val[j] > val[i];
            int w = (double)larger < kf * (double)n          ? CHURN_TIER_KEY
                    : (double)larger < (kf + imf) * (double)n ? CHURN_TIER_IMPORTANT
                                                             : CHURN_TIER_ORDINARY;
            bad += tr[i] != w;
            tot += val[i];
            top += w == CHURN_TIER_KEY ? val[i] : 0;
        }
        CU_ASSERT_EQUAL(bad, 0);
        CT_NEAR(share, tot > 0 ? top / tot : 0.0, 1e-12);
        free(val);
        free(tr);
    }
}

static void test_alerts(void)
{
    churn_alerts *al = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_alerts_new(&al), CHURN_OK);
    CU_ASSERT_EQUAL(churn_alerts_add_defaults(al), CHURN_OK);
    CU_ASSERT_EQUAL(churn_alerts_add_text(al, "vip_at_risk: value_at_risk >= 100"), CHURN_OK);
    CU_ASSERT_EQUAL(churn_alerts_add_text(al, "  frequency==0 "), CHURN_OK);
    CU_ASSERT_EQUAL(churn_alerts_num_rules(al), 5);
    const char *name, *field;
    int op;
    double th;
    CU_ASSERT_EQUAL(churn_alerts_rule(al, 4, &name, &field, &op, &th), CHURN_OK);
    CU_ASSERT_STRING_EQUAL(name, "frequency==0");
    CU_ASSERT_STRING_EQUAL(field, "frequency");
    CU_ASSERT_EQUAL(op, CHURN_ALERT_EQ);
    CU_ASSERT_EQUAL(th, 0.0);
    CU_ASSERT_EQUAL(churn_alerts_rule(al, 3, &name, &field, &op, &th), CHURN_OK);
    CU_ASSERT_STRING_EQUAL(name, "vip_at_risk");
    CU_ASSERT_EQUAL(op, CHURN_ALERT_GE);
    CU_ASSERT_EQUAL(th, 100.0);
    CU_ASSERT_EQUAL(churn_alerts_rule(al, 5, &name, NULL, NULL, NULL), CHURN_ERANGE);

    /* 6 customers, answers worked out by hand:
     *   0: p_alive 0.9, overdue 1,   trend 0,    var 10,  x 3 -> none
     *   1: p_alive 0.2, overdue 3,   trend -1,   var 150, x 2 -> all of 0..3
     *   2: p_alive 0.3, overdue 2,   trend -0.4, var 100, x 1 -> spend_down, vip (0.3 !< 0.3, 2 !> 2)
     *   3: p_alive 0.1, overdue NaN, trend NaN,  var 0,   x 0 -> p_alive_low, frequency==0
     *   4: p_alive 1,   overdue 0,   trend 0.5,  var 0,   x 0 -> frequency==0
     *   5: p_alive 0.29,overdue 2.01,trend -1/3, var 99.9,x 5 -> p_alive_low, overdue */
    double pa[6] = {0.9, 0.2, 0.3, 0.1, 1, 0.29}, od[6] = {1, 3, 2, NAN, 0, 2.01},
           tr[6] = {0, -1, -0.4, NAN, 0.5, -1.0 / 3.0}, var[6] = {10, 150, 100, 0, 0, 99.9},
           x[6] = {3, 2, 1, 0, 0, 5}, other[6] = {0};
    const char *names[5] = {"other", "frequency", "spend_trend", "overdue_ratio", "p_alive"};
    const double *cols[5] = {other, x, tr, od, pa};
    uint64_t fired[6];
    /* value_at_risk is missing: the rule and field are named */
    CU_ASSERT_EQUAL(churn_alerts_evaluate(al, 6, 5, names, cols, fired), CHURN_ENOTFOUND);
    CU_ASSERT(strstr(churn_last_error_message(), "vip_at_risk") != NULL);
    CU_ASSERT(strstr(churn_last_error_message(), "value_at_risk") != NULL);
    const char *names6[6] = {"other", "frequency", "spend_trend", "overdue_ratio", "p_alive",
                             "value_at_risk"};
    const double *cols6[6] = {other, x, tr, od, pa, var};
    CU_ASSERT_EQUAL(churn_alerts_evaluate(al, 6, 6, names6, cols6, fired), CHURN_OK);
    uint64_t want[6] = {0, 0xF, 0x4 | 0x8, 0x1 | 0x10, 0x10, 0x1 | 0x2};
    for (int i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(fired[i], want[i]);
    char buf[128];
    size_t need = 0;
    CU_ASSERT_EQUAL(churn_alerts_describe(al, fired[1], buf, sizeof buf, &need), CHURN_OK);
    CU_ASSERT_STRING_EQUAL(buf, "p_alive_low;overdue;spend_down;vip_at_risk");
    CU_ASSERT_EQUAL(need, strlen(buf) + 1);
    CU_ASSERT_EQUAL(churn_alerts_describe(al, 0, buf, sizeof buf, NULL), CHURN_OK);
    CU_ASSERT_STRING_EQUAL(buf, "");
    CU_ASSERT_EQUAL(churn_alerts_describe(al, fired[1], buf, 5, &need), CHURN_ERANGE);
    /* one customer at a time gives the same answer */
    for (int i = 0; i < 6; i++) {
        const double *one[6] = {other + i, x + i, tr + i, od + i, pa + i, var + i};
        uint64_t f1;
        CU_ASSERT_EQUAL(churn_alerts_evaluate(al, 1, 6, names6, one, &f1), CHURN_OK);
        CU_ASSERT_EQUAL(f1, want[i]);
    }
    /* != never fires on NaN */
    churn_alerts *ne = NULL;
    churn_alerts_new(&ne);
    CU_ASSERT_EQUAL(churn_alerts_add(ne, "od_nonzero", "overdue_ratio", CHURN_ALERT_NE, 0),
                    CHURN_OK);
    CU_ASSERT_EQUAL(churn_alerts_evaluate(ne, 6, 6, names6, cols6, fired), CHURN_OK);
    uint64_t wne[6] = {1, 1, 1, 0, 0, 1};
    for (int i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(fired[i], wne[i]);

    /* bad rules */
    CU_ASSERT_EQUAL(churn_alerts_add_text(al, "p_alive ~ 3"), CHURN_EFORMAT);
    CU_ASSERT(strstr(churn_last_error_message(), "p_alive ~ 3") != NULL);
    CU_ASSERT_EQUAL(churn_alerts_add_text(al, "x: p_alive < abc"), CHURN_EFORMAT);
    CU_ASSERT_EQUAL(churn_alerts_add_text(al, "x: p_alive < 1 junk"), CHURN_EFORMAT);
    CU_ASSERT_EQUAL(churn_alerts_add_text(al, ": p_alive < 1"), CHURN_EFORMAT);
    CU_ASSERT_EQUAL(churn_alerts_add_text(al, "< 1"), CHURN_EFORMAT);
    CU_ASSERT_EQUAL(churn_alerts_add(al, "a;b", "p_alive", CHURN_ALERT_LT, 1), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_alerts_add(al, "ok", "p_alive", 99, 1), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_alerts_add(al, "ok", "p_alive", CHURN_ALERT_LT, NAN), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_alerts_num_rules(al), 5);
    /* at most CHURN_ALERTS_MAX rules */
    for (size_t i = churn_alerts_num_rules(ne); i < CHURN_ALERTS_MAX; i++)
        CU_ASSERT_EQUAL(churn_alerts_add(ne, "r", "p_alive", CHURN_ALERT_LT, 0.5), CHURN_OK);
    CU_ASSERT_EQUAL(churn_alerts_add(ne, "r", "p_alive", CHURN_ALERT_LT, 0.5), CHURN_ERANGE);
    CU_ASSERT_EQUAL(churn_alerts_evaluate(ne, 6, 6, names6, cols6, fired), CHURN_OK);
    CU_ASSERT_EQUAL(fired[0], 1); /* rule 0 (od != 0) only: p_alive 0.9 */
    CU_ASSERT_EQUAL(fired[3], ~(uint64_t)1); /* rules 1..63 fire on p_alive 0.1 */
    churn_alerts_free(ne);
    churn_alerts_free(al);
    churn_alerts_free(NULL);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"Gamma-Gamma on CDNOW", test_gg_cdnow},
        {"Gamma-Gamma exclusion rule and weights", test_gg_rules_and_weights},
        {"Gamma-Gamma errors", test_gg_errors},
        {"CLV vs lifetimes on CDNOW", test_clv_cdnow_lifetimes},
        {"CLV errors", test_clv_errors},
        {"CLV grouped by (x, T) vs FHL eq. 10 and the direct path",
         test_clv_grouped_matches_independent},
        {"Pareto/NBD DERT", test_dert_pnbd},
        {"BG/NBD DERT", test_dert_bgnbd},
        {"contractual CLV", test_clv_contractual},
        {"value tiers", test_tiers},
        {"alert rules", test_alerts},
        CU_TEST_INFO_NULL,
    };
    return churn_test_run("spend", tests);
}
