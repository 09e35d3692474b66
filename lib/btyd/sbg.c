/*
 * The shifted beta-geometric (sBG) contractual model (Fader & Hardie 2007,
 * "How to project customer retention", JIM 21(1)): its likelihood and
 * descriptor, its fits (to individual periods or to a survivor curve), the
 * retention and survival curves, and the discounted expected residual
 * lifetime (Fader & Hardie 2010, "Customer-base valuation in a contractual
 * setting", Marketing Science 29(1)).
 *
 * Calls core/, checks.c and fit.c. Called by btyd.c (the descriptor only,
 * for churn_btyd_model_new).
 */
#include "btyd/btyd_internal.h"

#include "core/special.h"

static const char *const sbg_names[] = {"alpha", "beta"};

/* Rows: x = periods t, tx = 1 when the customer churned at the end of period
 * t, 0 when still active after t periods (censored). F&H 2007, the sBG model:
 *   P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta)
 *   S(t)     = B(alpha, beta + t) / B(alpha, beta)                         */
static int sbg_loglik(const double *p, size_t n, const double *per, const double *churned,
                      const double *unused, const double *w, double *ll, double *grad)
{
    (void)unused;
    double al = p[0], be = p[1];
    double lb0 = churn__lnbeta(al, be);
    double psab = churn__psi(al + be), psb = churn__psi(be);
    double s = 0, ga = 0, gb = 0;
    for (size_t i = 0; i < n; i++) {
        double t = per[i], wi = w ? w[i] : 1.0;
        if (wi == 0)
            continue;
        double psabt = churn__psi(al + be + t);
        if (churned[i] != 0) {
            s += wi * (churn__lnbeta(al + 1, be + t - 1) - lb0);
            if (grad) {
                /* psi(a+1) - psi(a) = 1/a */
                ga += wi * (1.0 / al - psabt + psab);
                gb += wi * (churn__psi(be + t - 1) - psabt - psb + psab);
            }
        } else if (t > 0) {
            s += wi * (churn__lnbeta(al, be + t) - lb0);
            if (grad) {
                ga += wi * (psab - psabt);
                gb += wi * (churn__psi(be + t) - psabt - psb + psab);
            }
        }
    }
    *ll = s;
    if (grad) {
        grad[0] = ga * al;
        grad[1] = gb * be;
    }
    return isfinite(s) ? CHURN_OK : CHURN_ENUMERIC;
}

const churn__btyd_family churn__sbg_family = {
    CHURN_FAMILY_SBG, 2, sbg_names, sbg_loglik, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL,
};

/* ---- fits ------------------------------------------------------------------- */

/* One (periods, churned, weight) row of churn_sbg_fit / churn_sbg_loglik. */
static int check_sbg_row(const char *fn, size_t i, double periods, int churned,
                         const double *weights)
{
    if (churned != 0 && churned != 1)
        return churn__error(CHURN_EINVAL, "%s: row %zu, column 'churned': %d must be 0 or 1", fn,
                            i, churned);
    if (!churn__btyd_is_count(periods) || (churned && periods < 1))
        return churn__error(CHURN_EINVAL, "%s: row %zu, column 'periods': %g must be a whole "
                            "number %s", fn, i, periods,
                            churned ? ">= 1 for a churned customer" : ">= 0");
    if (weights)
        return churn__btyd_check_weight(fn, i, weights[i]);
    return CHURN_OK;
}

CHURN_API int churn_sbg_fit(churn_model **out, size_t n, const double *periods,
                            const int *churned, const double *weights,
                            const churn_btyd_options *opts)
{
    static const char fn[] = "churn_sbg_fit";
    churn__ok();
    if (out)
        *out = NULL;
    if (!out || (n && (!periods || !churned)))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    churn_btyd_options o;
    int rc = churn__btyd_options(&o, opts, fn);
    if (rc)
        return rc;
    if (n == 0)
        return churn__error(CHURN_EINVAL, "%s: no rows to fit", fn);
    double *buf = churn__malloc(churn__mul_size(2 * n, sizeof(double)));
    if (!buf)
        return churn__nomem("the sBG rows");
    double *flag = buf, *zero = buf + n;
    double wsum = 0;
    for (size_t i = 0; i < n; i++) {
        if ((rc = check_sbg_row(fn, i, periods[i], churned[i], weights))) {
            churn__free(buf);
            return rc;
        }
        flag[i] = churned[i];
        zero[i] = 0;
        wsum += weights ? weights[i] : 1.0;
    }
    if (!(wsum > 0) || !isfinite(wsum)) {
        churn__free(buf);
        return churn__error(CHURN_EINVAL, "%s: column 'weights': the weights sum to %g; need a "
                            "positive finite total", fn, wsum);
    }
    churn__btyd_data d;
    rc = churn__btyd_collapse(&d, n, periods, flag, zero, weights);
    churn__free(buf);
    if (rc)
        return rc;
    rc = churn__btyd_fit_collapsed(out, &churn__sbg_family, &d, wsum, &o, fn);
    churn__btyd_data_free(&d);
    return rc;
}

CHURN_API int churn_sbg_fit_survivors(churn_model **out, size_t n, const double *survivors,
                                      const churn_btyd_options *opts)
{
    static const char fn[] = "churn_sbg_fit_survivors";
    churn__ok();
    if (out)
        *out = NULL;
    if (!out || !survivors)
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    if (n < 2)
        return churn__error(CHURN_EINVAL, "%s: the survivor curve needs at least 2 entries (the "
                            "cohort size and the survivors after period 1), got %zu", fn, n);
    for (size_t t = 0; t < n; t++) {
        if (!isfinite(survivors[t]) || survivors[t] < 0)
            return churn__error(CHURN_EINVAL, "%s: survivors[%zu] = %g must be a finite number "
                                ">= 0", fn, t, survivors[t]);
        if (t > 0 && survivors[t] > survivors[t - 1])
            return churn__error(CHURN_EINVAL, "%s: survivors[%zu] = %g exceeds survivors[%zu] = "
                                "%g (the curve must not increase)", fn, t, survivors[t], t - 1,
                                survivors[t - 1]);
    }
    if (!(survivors[0] > 0))
        return churn__error(CHURN_EINVAL, "%s: survivors[0] (the cohort size) must be > 0", fn);
    /* F&H 2007's likelihood of a survivor table: n_t = S_{t-1} - S_t customers churn at t,
     * S_{n-1} are censored. */
    double *periods = churn__malloc(churn__mul_size(2 * n, sizeof(double)));
    int *churned = churn__malloc(churn__mul_size(n, sizeof(int)));
    if (!periods || !churned) {
        churn__free(periods);
        churn__free(churned);
        return churn__nomem("the sBG survivor rows");
    }
    double *w = periods + n;
    for (size_t t = 1; t < n; t++) {
        periods[t - 1] = (double)t;
        churned[t - 1] = 1;
        w[t - 1] = survivors[t - 1] - survivors[t];
    }
    periods[n - 1] = (double)(n - 1);
    churned[n - 1] = 0;
    w[n - 1] = survivors[n - 1];
    int rc = churn_sbg_fit(out, n, periods, churned, w, opts);
    churn__free(periods);
    churn__free(churned);
    return rc;
}

CHURN_API int churn_sbg_loglik(size_t nparams, const double *params, size_t n,
                               const double *periods, const int *churned, const double *weights,
                               double *loglik, double *gradient)
{
    static const char fn[] = "churn_sbg_loglik";
    churn__ok();
    if (!params || !loglik || (n && (!periods || !churned)))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    int rc = churn__btyd_check_params(fn, &churn__sbg_family, params, nparams);
    if (rc)
        return rc;
    double s = 0, gs[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
        if ((rc = check_sbg_row(fn, i, periods[i], churned[i], weights)))
            return rc;
        double flag = churned[i], li, gi[2];
        sbg_loglik(params, 1, &periods[i], &flag, NULL, weights ? &weights[i] : NULL, &li, gi);
        s += li;
        gs[0] += gi[0];
        gs[1] += gi[1];
    }
    if (!isfinite(s))
        return churn__error(CHURN_ENUMERIC, "%s: the log-likelihood is not finite", fn);
    *loglik = s;
    if (gradient) {
        gradient[0] = gs[0] / params[0];
        gradient[1] = gs[1] / params[1];
    }
    return CHURN_OK;
}

/* ---- predictions ------------------------------------------------------------ */

static int sbg_model(const churn_model *m, const char *fn)
{
    int rc = churn__model_check(m, fn, 1, CHURN_FAMILY_SBG);
    if (rc)
        return rc;
    return churn__btyd_check_params(fn, &churn__sbg_family, m->params, m->nparams);
}

CHURN_API int churn_sbg_curve(const churn_model *model, size_t n, double *retention,
                              double *survival)
{
    static const char fn[] = "churn_sbg_curve";
    churn__ok();
    int rc = sbg_model(model, fn);
    if (rc)
        return rc;
    double al = model->params[0], be = model->params[1], S = 1;
    for (size_t i = 0; i < n; i++) {
        double t = (double)(i + 1);
        /* F&H 2007, retention rate: r_t = (beta + t - 1) / (alpha + beta + t - 1);
         * S(t) = prod r_j */
        double r = (be + t - 1) / (al + be + t - 1);
        S *= r;
        if (retention)
            retention[i] = r;
        if (survival)
            survival[i] = S;
    }
    return CHURN_OK;
}

/* DERL as an integral over the posterior churn probability: given n-1
 * renewals theta ~ Beta(alpha, beta+n-1), and sum_k (1-theta)^(k+1) z^k =
 * (1-theta) / (1 - z (1-theta)) = (1-theta) (1+d) / (d + theta), z = 1/(1+d).
 * For small d (the series needs ~30/d terms); the integrand changes over
 * theta ~ d, the break point of churn__beta_quad (core/special.c). */
static double derl_integrand_log(double th, double q, void *v)
{
    double d = *(const double *)v;
    return log(q) + log1p(d) - log(d + th);
}

static double derl_integral(double al, double be, double nn, double d)
{
    double lv, b = be + nn - 1;
    if (churn__beta_quad(derl_integrand_log, &d, al, b, d < 0.5 ? d : 0, 1e-11, &lv) != CHURN_OK)
        return NAN;
    return exp(lv - churn__lnbeta(al, b));
}

/* 2F1(1, b; c; z) = sum_k (b)_k / (c)_k z^k for 0 <= z < 1, c > b > 0. The
 * term ratio (b+k)/(c+k) z rises towards z, so the tail after a term h is at
 * most h z / (1 - z). NaN when maxterms are not enough. */
static double hyp2f1_1bc(double b, double c, double z, long maxterms)
{
    double s = 1, h = 1, zr = z / (1 - z);
    for (long k = 0; k < maxterms; k++) {
        h *= (b + k) / (c + k) * z;
        s += h;
        if (h * zr <= 1e-16 * s)
            return s;
    }
    return NAN;
}

CHURN_API int churn_sbg_derl(const churn_model *model, double discount, size_t n,
                             const double *periods, double *derl)
{
    static const char fn[] = "churn_sbg_derl";
    churn__ok();
    int rc = sbg_model(model, fn);
    if (rc)
        return rc;
    if (NEED(periods) || NEED(derl))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    double al = model->params[0], be = model->params[1];
    if (!isfinite(discount) || discount < 0)
        return churn__error(CHURN_EINVAL, "%s: discount %g must be a finite rate >= 0 per period",
                            fn, discount);
    if (discount == 0 && !(al > 1))
        return churn__error(CHURN_EINVAL, "%s: discount 0 needs alpha > 1 (alpha = %g: the "
                            "expected residual lifetime is infinite)", fn, al);
    for (size_t i = 0; i < n; i++) {
        double np = periods[i];
        if (!isfinite(np) || np < 0)
            return churn__error(CHURN_EINVAL, "%s: row %zu, column 'periods': %g must be a "
                                "finite number >= 0", fn, i, np);
        /* Fader & Hardie (2010) eq. (6), with n - 1 = periods renewals so far:
         *   DERL = B(alpha, beta + n) / B(alpha, beta + n - 1)
         *          * 2F1(1, beta + n; alpha + beta + n; 1 / (1 + d))
         * evaluated just before the n-th renewal decision (that payment is not
         * discounted). B(a, b+n)/B(a, b+n-1) = (b+n-1)/(a+b+n-1). */
        double nn = np + 1;
        double lead = (be + nn - 1) / (al + be + nn - 1);
        double F;
        if (discount == 0) {
            /* 2F1(1, b; c; 1) = (c - 1) / (c - b - 1) when c - b > 1 */
            F = (al + be + nn - 1) / (al - 1);
            derl[i] = lead * F;
        } else {
            F = discount >= 1e-3 ? hyp2f1_1bc(be + nn, al + be + nn, 1 / (1 + discount), 1000000L)
                                 : NAN;
            derl[i] = isfinite(F) ? lead * F : derl_integral(al, be, nn, discount);
        }
        if (!isfinite(derl[i]))
            return churn__btyd_nonfinite(fn, "DERL", i);
    }
    return CHURN_OK;
}
