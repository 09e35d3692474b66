/*
 * What a fitted Cox model answers: the tests against b = 0
 * (churn_cox_test), the baseline cumulative hazard (churn_cox_baseline), and
 * the per-family back ends of predict.c: survival at a horizon, survival
 * curves with Tsiatis (1981) standard errors, and median times, all read from
 * the arrays churn_cox_fit() stored.
 *
 * Calls: surv_common.c (chi-square tail) and core/.
 */
#include "survival/survival_internal.h"

CHURN_API int churn_cox_test(const churn_model *m, int test, double *statistic, double *df,
                             double *p_value)
{
    churn__ok();
    int rc = churn__model_check(m, "churn_cox_test", 1, CHURN_FAMILY_COX);
    if (rc)
        return rc;
    if (test < CHURN_COX_TEST_LR || test > CHURN_COX_TEST_SCORE)
        return churn__error(CHURN_EINVAL, "churn_cox_test: test %d is not a churn_cox_test_kind",
                            test);
    size_t len = 0;
    const double *t = churn__model_array(m, "tests", &len);
    if (!t || len < 3)
        return churn__error(CHURN_EFORMAT, "churn_cox_test: the model has no 'tests' array");
    double k = (double)m->nparams;
    if (statistic)
        *statistic = t[test];
    if (df)
        *df = k;
    if (p_value)
        *p_value = churn__chisq_q(t[test], k);
    return CHURN_OK;
}

typedef struct cox_base {
    const double *time, *cumhaz, *varhaz, *xbar, *mean;
    size_t nt, p;
} cox_base;

static int get_base(const churn_model *m, cox_base *b, const char *fn)
{
    size_t n1 = 0, n2 = 0, n3 = 0, nm = 0, nx = 0;
    b->time = churn__model_array(m, "baseline_time", &n1);
    b->cumhaz = churn__model_array(m, "baseline_cumhaz", &n2);
    b->varhaz = churn__model_array(m, "baseline_varhaz", &n3);
    b->mean = churn__model_array(m, "x_mean", &nm);
    b->xbar = churn__model_array(m, "baseline_xbar", &nx);
    b->p = m->nfeatures;
    if (!b->time || !b->cumhaz || n1 != n2 || !b->mean || nm != m->nfeatures ||
        m->nparams != m->nfeatures)
        return churn__error(CHURN_EFORMAT, "%s: the Cox model lacks consistent arrays "
                            "baseline_time, baseline_cumhaz and x_mean", fn);
    for (size_t k = 0; k < n1; k++)
        if (!isfinite(b->time[k]) || !isfinite(b->cumhaz[k]) ||
            (k && (b->time[k] < b->time[k - 1] || b->cumhaz[k] < b->cumhaz[k - 1])))
            return churn__error(CHURN_EFORMAT, "%s: baseline_time/baseline_cumhaz[%zu] is not "
                                "finite and non-decreasing", fn, k);
    if (b->varhaz && n3 != n1)
        b->varhaz = NULL;
    if (b->xbar && nx != n1 * b->p)
        b->xbar = NULL;
    b->nt = n1;
    return CHURN_OK;
}

/* Index of the last baseline time <= t, or -1. */
static ptrdiff_t base_index(const cox_base *b, double t)
{
    size_t lo = 0, hi = b->nt;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->time[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (ptrdiff_t)lo - 1;
}

static double centred_lp(const churn_model *m, const cox_base *b, const double *xi)
{
    double e = 0;
    for (size_t j = 0; j < b->p; j++)
        e += (xi[j] - b->mean[j]) * m->params[j];
    return e;
}

/* The centred linear predictor of row `row`, refused when it is not finite (features,
 * coefficients or the stored feature means beyond a double): every Cox prediction reads
 * it through here. */
static int checked_lp(const churn_model *m, const cox_base *b, const double *xi,
                      const char *fn, size_t row, double *e)
{
    *e = centred_lp(m, b, xi);
    if (!isfinite(*e))
        return churn__error(CHURN_ENUMERIC, "%s: row %zu: the linear predictor is not finite "
                            "(features, coefficients or the model's feature means beyond a "
                            "double)", fn, row);
    return CHURN_OK;
}

/* S(t | x) = exp(-H0(t) exp(lp)). Before the first event time H0 = 0 and S = 1 whatever the
 * hazard ratio, also when exp(lp) overflows (0 * inf would give NaN); a huge hazard ratio
 * with H0 > 0 gives S = 0, the true limit. */
static double cox_survival(double H0, double e)
{
    return H0 > 0 ? exp(-H0 * exp(e)) : 1.0;
}

int churn__cox_predict(const churn_model *m, size_t n, const double *x, double horizon,
                       double *surv, double *lp)
{
    cox_base b;
    int rc = get_base(m, &b, "churn_surv_predict");
    if (rc)
        return rc;
    ptrdiff_t k = base_index(&b, horizon);
    double H0 = k < 0 ? 0 : b.cumhaz[k];
    for (size_t i = 0; i < n; i++) {
        double e;
        if ((rc = checked_lp(m, &b, x + i * b.p, "churn_surv_predict", i, &e)))
            return rc;
        if (lp)
            lp[i] = e;
        if (surv)
            surv[i] = cox_survival(H0, e);
    }
    return CHURN_OK;
}

int churn__cox_curve(const churn_model *m, const double *x, size_t nt, const double *times,
                     double *surv, double *std_err)
{
    cox_base b;
    int rc = get_base(m, &b, "churn_surv_curve");
    if (rc)
        return rc;
    if (std_err && (!b.varhaz || !b.xbar || !m->cov))
        return churn__error(CHURN_EUNSUPPORTED, "churn_surv_curve: this Cox model was stored "
                            "without its baseline variance arrays; std_err is unavailable");
    size_t p = b.p;
    double e;
    if ((rc = checked_lp(m, &b, x, "churn_surv_curve", 0, &e)))
        return rc;
    double r = exp(e);
    for (size_t i = 0; i < nt; i++) {
        ptrdiff_t k = base_index(&b, times[i]);
        double H0 = k < 0 ? 0 : b.cumhaz[k];
        surv[i] = cox_survival(H0, e);
        if (!std_err)
            continue;
        if (k < 0) {
            std_err[i] = 0;
            continue;
        }
        /* Tsiatis (1981) / survfit.coxph: var H(t|x) = r^2 [varhaz(t) + d' V d],
         * d = sum (xbar(s) - x) dH0(s) over s <= t (centred covariates). */
        double q = 0;
        for (size_t j = 0; j < p; j++) {
            double dj = b.xbar[k * p + j] - (x[j] - b.mean[j]) * H0;
            double s = 0;
            for (size_t l = 0; l < p; l++) {
                double dl = b.xbar[k * p + l] - (x[l] - b.mean[l]) * H0;
                s += m->cov[j * p + l] * dl;
            }
            q += dj * s;
        }
        double v = b.varhaz[k] + q;
        std_err[i] = r * sqrt(v > 0 ? v : 0);
    }
    return CHURN_OK;
}

int churn__cox_median(const churn_model *m, size_t n, const double *x, double *median)
{
    cox_base b;
    int rc = get_base(m, &b, "churn_surv_median");
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        double e;
        if ((rc = checked_lp(m, &b, x + i * b.p, "churn_surv_median", i, &e)))
            return rc;
        double r = exp(e);
        /* first time with S <= 1/2, i.e. H0 >= log 2 / r (H0 non-decreasing) */
        double target = M_LN2 / r;
        size_t lo = 0, hi = b.nt;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (b.cumhaz[mid] >= target)
                hi = mid;
            else
                lo = mid + 1;
        }
        median[i] = lo < b.nt ? b.time[lo] : INFINITY;
    }
    return CHURN_OK;
}

CHURN_API int churn_cox_baseline(const churn_model *m, int centered, double *times,
                                 double *cumhaz, size_t cap, size_t *n)
{
    churn__ok();
    int rc = churn__model_check(m, "churn_cox_baseline", 1, CHURN_FAMILY_COX);
    if (rc)
        return rc;
    cox_base b;
    if ((rc = get_base(m, &b, "churn_cox_baseline")))
        return rc;
    if (n)
        *n = b.nt;
    if (cap == 0)
        return CHURN_OK;
    if (cap < b.nt)
        return churn__error(CHURN_ERANGE, "churn_cox_baseline: buffers hold %zu values, need %zu",
                            cap, b.nt);
    if (!times || !cumhaz)
        return churn__error(CHURN_EINVAL, "churn_cox_baseline: NULL buffer");
    /* Uncentred: H0(t) at x = 0 is the centred hazard times exp(-mean'b). */
    double shift = 0;
    for (size_t j = 0; j < b.p; j++)
        shift += b.mean[j] * m->params[j];
    double f = centered ? 1.0 : exp(-shift);
    for (size_t k = 0; k < b.nt; k++) {
        times[k] = b.time[k];
        cumhaz[k] = b.cumhaz[k] * f;
    }
    return CHURN_OK;
}
