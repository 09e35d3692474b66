/*
 * Parametric accelerated-failure-time models, parametrised as R's survreg:
 *   log T = b0 + x'b + sigma W,
 * W standard extreme-value (Weibull; exponential with sigma = 1), logistic
 * (log-logistic) or normal (log-normal). Kalbfleisch & Prentice (2002),
 * sections 2.2-2.3 and 3.6; Klein & Moeschberger (2003) ch. 12.
 *
 * With z = (log t - eta) / sigma and s = log sigma, a customer contributes
 *   event:    log f_W(z) - s - log t      (density of T: the -log t Jacobian
 *                                          makes it R's time-scale loglik)
 *   censored: log S_W(z)
 * Writing g(z) for log f_W or log S_W, the derivatives used by Newton-Raphson
 * are (x~ = (1, x)):
 *   dl/db = -g'(z) x~ / sigma,             dl/ds = -z g'(z) - event
 *   d2l/db db' = g''(z) x~ x~' / sigma^2,  d2l/db ds = (z g'' + g') x~ / sigma
 *   d2l/ds2 = z g' + z^2 g''.
 *
 * This file owns the fit (churn_aft_fit) and the per-family back ends of
 * predict.c (survival, curves with delta-method errors, medians, mean
 * residual life).
 *
 * Calls: concordance.c (of the linear predictor), surv_common.c (input
 * checks, feature names, SPD inverse) and core/ (Cholesky factor and
 * solve).
 */
#include "survival/survival_internal.h"

#include "core/special.h"

#include <gsl/gsl_math.h>
#include <gsl/gsl_sf_erf.h>

CHURN_API void churn_aft_options_init(churn_aft_options *opts)
{
    if (opts) {
        churn_aft_options d = CHURN_AFT_OPTIONS_INIT;
        *opts = d;
    }
}

enum { DIST_EV, DIST_LOGISTIC, DIST_NORMAL };

static int dist_of(int family)
{
    switch (family) {
    case CHURN_FAMILY_LOGLOGISTIC:
        return DIST_LOGISTIC;
    case CHURN_FAMILY_LOGNORMAL:
        return DIST_NORMAL;
    default:
        return DIST_EV;
    }
}

static const double LOG_SQRT_2PI = 0.91893853320467274178;

/* log of the standard normal upper tail Q(z), accurate in both tails.
 * gsl_sf_log_erfc has no error path (GSL 2.7 specfunc/erfc.c), for any x, but
 * returns -inf from x = 5e61 and NaN from about 1e62 on (found by fuzz_model: a
 * log-normal model with Log(scale) = -275 predicted S = NaN with CHURN_OK). Beyond
 * z = 1e8 the asymptotic series -z^2/2 - log z - log sqrt(2 pi) + log(1 - 1/z^2 + ...)
 * is exact in double (its next term is below 1e-16); -inf for z = inf. */
static double log_q(double z)
{
    if (z < 0)
        return log1p(-0.5 * erfc(-z / M_SQRT2));
    if (z > 1e8)
        return -0.5 * z * z - log(z) - LOG_SQRT_2PI;
    return gsl_sf_log_erfc(z / M_SQRT2) - M_LN2;
}

/* Inverse Mills ratio phi(z) / Q(z). gsl_sf_hazard(x) reports an error only
 * when exp() of about -x^2/2 underflows (x < -37), so it is called for
 * z >= -8 (and NaN, which takes its asymptotic branch) only. */
static double mills(double z)
{
    if (z < -8)
        return exp(-0.5 * z * z - LOG_SQRT_2PI - log_q(z));
    return gsl_sf_hazard(z);
}

/* g, g', g'' of one observation (see the header comment). */
static void dist_terms(int dist, int event, double z, double *g, double *g1, double *g2)
{
    switch (dist) {
    case DIST_EV: {
        double ez = exp(z);
        if (event) {
            *g = z - ez;
            *g1 = 1 - ez;
        } else {
            *g = -ez;
            *g1 = -ez;
        }
        *g2 = -ez;
        break;
    }
    case DIST_LOGISTIC: {
        double F = 1 / (1 + exp(-z)); /* logistic cdf */
        double l1p = log1p(exp(-fabs(z)));
        if (event) {
            *g = -fabs(z) - 2 * l1p; /* log(e^z / (1 + e^z)^2), symmetric in z */
            *g1 = 1 - 2 * F;
            *g2 = -2 * F * (1 - F);
        } else {
            *g = -(z > 0 ? z : 0) - l1p; /* log(1 - F) */
            *g1 = -F;
            *g2 = -F * (1 - F);
        }
        break;
    }
    default: {
        if (event) {
            *g = -0.5 * z * z - LOG_SQRT_2PI;
            *g1 = -z;
            *g2 = -1;
        } else {
            double lam = mills(z);
            *g = log_q(z);
            *g1 = -lam;
            *g2 = -lam * (lam - z);
        }
        break;
    }
    }
}

/* Survivor function of W and its hazard -d log S_W / dz. */
static double dist_surv(int dist, double z)
{
    switch (dist) {
    case DIST_EV:
        return exp(-exp(z));
    case DIST_LOGISTIC:
        return 1 / (1 + exp(z));
    default:
        return exp(log_q(z));
    }
}

static double dist_hazard(int dist, double z)
{
    switch (dist) {
    case DIST_EV:
        return exp(z);
    case DIST_LOGISTIC:
        return 1 / (1 + exp(-z));
    default:
        return mills(z);
    }
}

typedef struct aft_data {
    size_t n, p, k; /* rows, features, parameters (1 + p [+ 1]) */
    const double *x, *y_time, *event, *w;
    double *logt;
    int dist, fixed_scale;
} aft_data;

/* Log-likelihood, gradient (k) and negative Hessian (k x k) at theta.
 * Returns -1 when not finite. `q` = number of regression coefficients used
 * (1 for the intercept-only fit). */
static int aft_eval(const aft_data *d, size_t q, const double *theta, double *ll, double *grad,
                    double *negH)
{
    size_t k = q + (d->fixed_scale ? 0 : 1);
    double s = d->fixed_scale ? 0 : theta[q];
    double sigma = exp(s);
    double L = 0;
    if (grad) {
        memset(grad, 0, k * sizeof(double));
        memset(negH, 0, k * k * sizeof(double));
    }
    for (size_t i = 0; i < d->n; i++) {
        double w = d->w ? d->w[i] : 1.0;
        if (w == 0)
            continue;
        const double *xi = d->p ? d->x + i * d->p : NULL; /* x may be NULL when p = 0 */
        double eta = theta[0];
        for (size_t j = 1; j < q; j++)
            eta += xi[j - 1] * theta[j];
        int ev = d->event[i] != 0;
        double z = (d->logt[i] - eta) / sigma;
        double g, g1, g2;
        dist_terms(d->dist, ev, z, &g, &g1, &g2);
        L += w * (g - (ev ? s + d->logt[i] : 0));
        if (!grad)
            continue;
        double cb = -w * g1 / sigma;          /* dl/db = cb * x~ */
        double hbb = -w * g2 / (sigma * sigma); /* -d2l/db db' = hbb x~ x~' */
        for (size_t a = 0; a < q; a++) {
            double xa = a ? xi[a - 1] : 1.0;
            grad[a] += cb * xa;
            for (size_t b = 0; b <= a; b++) {
                double xb = b ? xi[b - 1] : 1.0;
                negH[a * k + b] += hbb * xa * xb;
            }
        }
        if (!d->fixed_scale) {
            grad[q] += w * (-z * g1 - ev);
            double hbs = -w * (z * g2 + g1) / sigma;
            for (size_t a = 0; a < q; a++)
                negH[q * k + a] += hbs * (a ? xi[a - 1] : 1.0);
            negH[q * k + q] += -w * (z * g1 + z * z * g2);
        }
    }
    if (!isfinite(L))
        return -1;
    if (grad)
        for (size_t a = 0; a < k; a++)
            for (size_t b = 0; b < a; b++)
                negH[b * k + a] = negH[a * k + b];
    *ll = L;
    return 0;
}

/* Newton-Raphson with step halving and a Levenberg fallback when the
 * negative Hessian is not positive definite. theta (k) is updated in place;
 * cov (k x k) receives the inverse observed information. */
static int aft_newton(const aft_data *d, size_t q, double *theta, int max_iter, double tol,
                      double *loglik, double *cov, int *iters, int *converged)
{
    size_t k = q + (d->fixed_scale ? 0 : 1);
    double *grad = churn__malloc(k * sizeof(double)), *negH = churn__malloc(k * k * sizeof(double));
    double *L = churn__malloc(k * k * sizeof(double)), *step = churn__malloc(k * sizeof(double));
    double *trial = churn__malloc(k * sizeof(double));
    if (!grad || !negH || !L || !step || !trial) {
        churn__free(grad);
        churn__free(negH);
        churn__free(L);
        churn__free(step);
        churn__free(trial);
        return churn__nomem("AFT work space");
    }
    int rc = CHURN_OK, it = 0;
    double ll = 0;
    *converged = 0;
    if (aft_eval(d, q, theta, &ll, grad, negH) != 0) {
        rc = churn__error(CHURN_ENUMERIC, "churn_aft_fit: the log-likelihood at the start values "
                          "is not finite");
        goto done;
    }
    for (it = 1; it <= max_iter; it++) {
        double lambda = 0;
        for (int tries = 0;; tries++) {
            memcpy(L, negH, k * k * sizeof(double));
            for (size_t a = 0; a < k; a++)
                L[a * k + a] += lambda * (1 + fabs(negH[a * k + a]));
            if (churn__chol(L, k, CHURN__SURV_CHOL_TOL) == 0)
                break;
            if (tries > 40) {
                rc = churn__error(CHURN_ENUMERIC, "churn_aft_fit: the information matrix is "
                                  "singular: the features are collinear");
                goto done;
            }
            lambda = lambda ? lambda * 10 : 1e-6;
        }
        memcpy(step, grad, k * sizeof(double));
        churn__chol_solve(L, step, k);
        double big = 0;
        for (size_t a = 0; a < k; a++) {
            double r = fabs(step[a]) / (1 + fabs(theta[a]));
            if (r > big)
                big = r;
        }
        /* keep a single step from throwing the scale or intercept far away */
        double f = big > 5 ? 5 / big : 1.0;
        double newll = 0;
        int accepted = 0;
        for (int h = 0; h < 60; h++, f /= 2) {
            for (size_t a = 0; a < k; a++)
                trial[a] = theta[a] + f * step[a];
            if (aft_eval(d, q, trial, &newll, NULL, NULL) == 0 &&
                newll >= ll - 1e-12 * fabs(ll)) {
                accepted = 1;
                break;
            }
        }
        if (!accepted) {
            /* no ascent possible along the Newton direction: at the optimum to
             * machine precision */
            *converged = big < 1e-6;
            break;
        }
        memcpy(theta, trial, k * sizeof(double));
        double change = fabs(newll - ll);
        ll = newll;
        if (aft_eval(d, q, theta, &ll, grad, negH) != 0) {
            rc = churn__error(CHURN_ENUMERIC, "churn_aft_fit: the log-likelihood is not finite "
                              "at iteration %d", it);
            goto done;
        }
        if ((big * f < 1e-10) || (change <= tol * (fabs(ll) + tol) && big * f < 1e-5)) {
            *converged = 1;
            break;
        }
    }
    if (it > max_iter)
        it = max_iter;
    memcpy(L, negH, k * k * sizeof(double));
    if (churn__chol(L, k, CHURN__SURV_CHOL_TOL) != 0) {
        rc = churn__error(CHURN_ENUMERIC, "churn_aft_fit: the information matrix at the estimate "
                          "is singular (collinear features, or the MLE does not exist)");
        goto done;
    }
    churn__spd_inverse(L, cov, k, step);
    *loglik = ll;
    *iters = it;
done:
    churn__free(grad);
    churn__free(negH);
    churn__free(L);
    churn__free(step);
    churn__free(trial);
    return rc;
}

/* Everything one churn_aft_fit() call holds besides the data (which has the
 * parameter count k; the coefficients are q = 1 + p). */
typedef struct aft_fit {
    size_t p;                /* features */
    double *theta, *cov, *lp;
    const char **names;      /* k parameter names (pointers into fnames) */
    char **fnames;           /* p feature names (copies or x1..xp) */
    double wsum, ybar, yy;   /* total weight, weighted mean and spread of log t */
    double ll0, ll;          /* log-likelihoods: intercept only, full model */
    int iters, conv;
} aft_fit;

/* The family, the options (copied into *o) and the inputs; *nevents receives
 * the weighted number of events. */
static int aft_check(const char *fn, int family, const churn_aft_options *opts,
                     churn_aft_options *o, size_t n, size_t p, const double *x,
                     const double *duration, const double *event, const double *weights,
                     double *nevents)
{
    if (!churn__is_aft(family))
        return churn__error(CHURN_EINVAL, "%s: family %d ('%s') is not weibull, exponential, "
                            "loglogistic or lognormal", fn, family, churn_family_name(family));
    int rc = churn__opts_copy(o, sizeof *o, opts, "churn_aft_options");
    if (rc)
        return rc;
    if (o->max_iter < 1 || o->max_iter > 10000)
        return churn__error(CHURN_EINVAL, "%s: max_iter %d must be in [1, 10000]", fn,
                            o->max_iter);
    if (!(o->tol > 0) || !isfinite(o->tol))
        return churn__error(CHURN_EINVAL, "%s: tol %g must be > 0", fn, o->tol);
    if (p > 10000)
        return churn__error(CHURN_EINVAL, "%s: p = %zu features is too many", fn, p);
    rc = churn__surv_check(fn, n, duration, event, weights, 1, nevents);
    if (rc)
        return rc;
    rc = churn__surv_check_x(fn, n, p, x, NULL);
    if (rc)
        return rc;
    if (!(*nevents > 0))
        return churn__error(CHURN_EINVAL, "%s: no events (every row is censored or has weight "
                            "0): the maximum-likelihood estimate does not exist", fn);
    return CHURN_OK;
}

static void aft_fit_free(aft_fit *f)
{
    if (f->fnames)
        for (size_t j = 0; j < f->p; j++)
            churn__free(f->fnames[j]);
    churn__free(f->fnames);
    churn__free(f->names);
    churn__free(f->theta);
    churn__free(f->cov);
    churn__free(f->lp);
}

/* log t of every row into d->logt, and the weighted mean and spread of log t
 * (the start values of the intercept-only fit). */
static void aft_log_times(aft_data *d, const double *duration, aft_fit *f)
{
    const double *weights = d->w;
    double wsum = 0, ybar = 0, yy = 0;
    for (size_t i = 0; i < d->n; i++) {
        double w = weights ? weights[i] : 1.0;
        d->logt[i] = log(duration[i]);
        wsum += w;
        ybar += w * d->logt[i];
    }
    ybar /= wsum;
    for (size_t i = 0; i < d->n; i++) {
        double w = weights ? weights[i] : 1.0;
        yy += w * (d->logt[i] - ybar) * (d->logt[i] - ybar);
    }
    f->wsum = wsum;
    f->ybar = ybar;
    f->yy = yy;
}

/* The feature names (copies, or x1..xp); a constant feature (collinear with
 * the intercept, which takes its information) is an error. */
static int aft_features(const char *fn, const aft_data *d, const char *const *feature_names,
                        aft_fit *f)
{
    size_t n = d->n, p = d->p;
    const double *x = d->x;
    int rc = churn__surv_feature_names(p, feature_names, f->fnames);
    if (rc)
        return rc;
    for (size_t j = 0; j < p; j++) {
        int constant = 1;
        for (size_t i = 1; i < n && constant; i++)
            constant = x[i * p + j] == x[j];
        if (constant)
            return churn__error(CHURN_EINVAL, "%s: feature '%s' is constant (collinear with the "
                                "intercept); drop it", fn, f->fnames[j]);
    }
    return CHURN_OK;
}

/* Intercept-only fit first (R's survreg also reports it as loglik[1]), from
 * the mean and spread of log t; then the full model from there. */
static int aft_fit_both(const aft_data *d, const churn_aft_options *o, aft_fit *f)
{
    size_t q = d->p + 1;
    int conv0 = 0;
    double sd = sqrt(f->yy / f->wsum);
    double s0 = d->fixed_scale ? 0 : log(sd > 1e-3 ? sd : 1e-3);
    double th0[2] = {f->ybar, s0};
    double cov0[4];
    int rc = aft_newton(d, 1, th0, o->max_iter, o->tol, &f->ll0, cov0, &f->iters, &conv0);
    if (rc)
        return rc;
    f->theta[0] = th0[0];
    if (!d->fixed_scale)
        f->theta[q] = th0[1];
    return aft_newton(d, q, f->theta, o->max_iter, o->tol, &f->ll, f->cov, &f->iters, &f->conv);
}

/* The model: parameters named (Intercept), the features and Log(scale), the
 * covariance, the summary numbers, and the arrays of a survival model (null
 * log-likelihood, events, concordance of the linear predictor). */
static int aft_model(const aft_data *d, int family, const double *duration, double nevents,
                     aft_fit *f, churn_model **mp)
{
    size_t n = d->n, p = d->p, q = p + 1, k = d->k;
    const double *x = d->x, *theta = f->theta;
    f->names[0] = "(Intercept)";
    for (size_t j = 0; j < p; j++)
        f->names[j + 1] = f->fnames[j];
    if (!d->fixed_scale)
        f->names[q] = "Log(scale)";
    int rc = churn__model_new(mp, family, k, f->names);
    if (rc)
        return rc;
    churn_model *m = *mp;
    memcpy(m->params, theta, k * sizeof(double));
    if ((rc = churn__model_set_cov(m, f->cov)) ||
        (rc = churn__model_set_features(m, (const char *const *)f->fnames, p)))
        return rc;
    m->loglik = f->ll;
    m->nobs = f->wsum;
    m->converged = f->conv;
    m->iterations = f->iters;
    for (size_t i = 0; i < n; i++) {
        double e = theta[0];
        for (size_t j = 0; j < p; j++)
            e += x[i * p + j] * theta[j + 1];
        f->lp[i] = e;
    }
    double cidx = 0.5;
    if ((rc = churn__model_set_array(m, CHURN__SURV_LOGLIK_NULL, &f->ll0, 1)) ||
        (rc = churn__model_set_array(m, CHURN__SURV_NEVENTS, &nevents, 1)) ||
        (rc = churn_concordance_index(n, duration, d->event, f->lp, d->w, 0, &cidx, NULL)) ||
        (rc = churn__model_set_array(m, CHURN__SURV_CONCORDANCE, &cidx, 1)))
        return rc;
    return CHURN_OK;
}

CHURN_API int churn_aft_fit(churn_model **out, int family, size_t n, size_t p, const double *x,
                            const char *const *feature_names, const double *duration,
                            const double *event, const double *weights,
                            const churn_aft_options *opts)
{
    churn__ok();
    static const char fn[] = "churn_aft_fit";
    if (!out)
        return churn__error(CHURN_EINVAL, "%s: out is NULL", fn);
    *out = NULL;
    churn_aft_options o = CHURN_AFT_OPTIONS_INIT;
    double nevents = 0;
    int rc = aft_check(fn, family, opts, &o, n, p, x, duration, event, weights, &nevents);
    if (rc)
        return rc;

    aft_data d;
    memset(&d, 0, sizeof d);
    d.n = n;
    d.p = p;
    d.x = x;
    d.event = event;
    d.w = weights;
    d.dist = dist_of(family);
    d.fixed_scale = family == CHURN_FAMILY_EXPONENTIAL;
    aft_fit f;
    memset(&f, 0, sizeof f);
    f.p = p;
    size_t k = d.k = p + 1 + (d.fixed_scale ? 0 : 1);
    d.logt = churn__malloc(churn__mul_size(n, sizeof(double)));
    f.theta = churn__calloc(k, sizeof(double));
    f.cov = churn__malloc(k * k * sizeof(double));
    f.lp = churn__malloc(churn__mul_size(n, sizeof(double)));
    f.names = churn__calloc(k, sizeof *f.names);
    f.fnames = churn__calloc(p + 1, sizeof *f.fnames);
    churn_model *m = NULL;
    if (!d.logt || !f.theta || !f.cov || !f.lp || !f.names || !f.fnames)
        rc = churn__nomem("AFT fit work space");
    if (!rc) {
        aft_log_times(&d, duration, &f);
        rc = aft_features(fn, &d, feature_names, &f);
    }
    if (!rc)
        rc = aft_fit_both(&d, &o, &f);
    if (!rc)
        rc = aft_model(&d, family, duration, nevents, &f, &m);
    if (!rc) {
        *out = m;
        m = NULL;
        if (!f.conv)
            rc = churn__error(CHURN_ENOCONV, "%s: no convergence in %d iterations; the model "
                              "is returned with converged = 0", fn, o.max_iter);
    }
    churn_model_free(m);
    aft_fit_free(&f);
    churn__free(d.logt);
    return rc;
}

/* ---- predictions ---------------------------------------------------------------- */

typedef struct aft_par {
    const double *b; /* intercept + p coefficients */
    double sigma;
    size_t p, k;
    int dist;
} aft_par;

static int get_par(const churn_model *m, aft_par *a, const char *fn)
{
    size_t p = m->nfeatures;
    int fixed = m->family == CHURN_FAMILY_EXPONENTIAL;
    if (m->nparams != p + 1 + (fixed ? 0 : 1))
        return churn__error(CHURN_EFORMAT, "%s: the '%s' model has %zu parameters for %zu "
                            "features", fn, churn_family_name(m->family), m->nparams, p);
    a->b = m->params;
    a->sigma = fixed ? 1.0 : exp(m->params[p + 1]);
    a->p = p;
    a->k = m->nparams;
    a->dist = dist_of(m->family);
    if (!isfinite(a->sigma) || !(a->sigma > 0))
        return churn__error(CHURN_EFORMAT, "%s: Log(scale) gives no finite scale", fn);
    return CHURN_OK;
}

static double aft_lp(const aft_par *a, const double *xi)
{
    double e = a->b[0];
    for (size_t j = 0; j < a->p; j++)
        e += xi[j] * a->b[j + 1];
    return e;
}

int churn__aft_predict(const churn_model *m, size_t n, const double *x, double horizon,
                       double *surv, double *lp)
{
    aft_par a;
    int rc = get_par(m, &a, "churn_surv_predict");
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        double e = aft_lp(&a, a.p ? x + i * a.p : x);
        if (lp)
            lp[i] = e;
        if (surv)
            surv[i] = horizon > 0 ? dist_surv(a.dist, (log(horizon) - e) / a.sigma) : 1.0;
    }
    return CHURN_OK;
}

int churn__aft_curve(const churn_model *m, const double *x, size_t nt, const double *times,
                     double *surv, double *std_err)
{
    aft_par a;
    int rc = get_par(m, &a, "churn_surv_curve");
    if (rc)
        return rc;
    if (std_err && !m->cov)
        return churn__error(CHURN_EUNSUPPORTED, "churn_surv_curve: the model has no covariance "
                            "matrix; std_err is unavailable");
    double e = aft_lp(&a, x);
    size_t k = a.k;
    double *g = std_err ? churn__malloc(k * sizeof(double)) : NULL;
    if (std_err && !g)
        return churn__nomem("a gradient");
    for (size_t i = 0; i < nt; i++) {
        if (!(times[i] > 0)) {
            surv[i] = 1;
            if (std_err)
                std_err[i] = 0;
            continue;
        }
        double z = (log(times[i]) - e) / a.sigma;
        surv[i] = dist_surv(a.dist, z);
        if (!std_err)
            continue;
        /* delta method for -log S(t|x): d/dtheta = h_W(z) dz/dtheta, with
         * dz/db = -x~/sigma and dz/dlog(sigma) = -z */
        double hz = dist_hazard(a.dist, z);
        g[0] = -hz / a.sigma;
        for (size_t j = 0; j < a.p; j++)
            g[j + 1] = -hz * x[j] / a.sigma;
        if (k > a.p + 1)
            g[a.p + 1] = -hz * z;
        double v = 0;
        for (size_t r = 0; r < k; r++)
            for (size_t c = 0; c < k; c++)
                v += g[r] * m->cov[r * k + c] * g[c];
        std_err[i] = sqrt(v > 0 ? v : 0);
    }
    churn__free(g);
    return CHURN_OK;
}

int churn__aft_median(const churn_model *m, size_t n, const double *x, double *median)
{
    aft_par a;
    int rc = get_par(m, &a, "churn_surv_median");
    if (rc)
        return rc;
    /* median of W: log(log 2) for the extreme-value law, 0 for the symmetric ones */
    double w50 = a.dist == DIST_EV ? log(M_LN2) : 0.0;
    for (size_t i = 0; i < n; i++)
        median[i] = exp(aft_lp(&a, a.p ? x + i * a.p : x) + a.sigma * w50);
    return CHURN_OK;
}

/* log of the Weibull mean residual life at h: with shape k = 1/sigma and
 * scale lam = e^mu, the integral of S from h to infinity is
 * lam sigma Gamma(sigma, u), u = (h/lam)^(1/sigma), divided by S(h) = e^-u:
 *   log MRL = mu + log sigma + log(Gamma(sigma, u) e^u)
 * (the mean lam Gamma(1 + sigma) at h = 0). All in logs (core/special.c has
 * the scaled incomplete gamma), so a scale sigma beyond 171.6, where
 * Gamma(sigma) overflows, gives the true value or +inf when that exceeds
 * DBL_MAX; u beyond DBL_MAX uses Gamma(a, u) e^u ~ u^(a-1). */
static double weibull_log_mrl(double mu, double sg, double h)
{
    if (!(h > 0))
        return mu + churn__lngamma(sg + 1);
    double log_u = (log(h) - mu) / sg;
    double ls = log_u > 700 ? (sg - 1) * log_u : churn__log_gamma_upper_scaled(sg, exp(log_u));
    return mu + log(sg) + ls;
}

int churn__aft_mrl(const churn_model *m, size_t n, const double *x, double horizon, double *mrl)
{
    aft_par a;
    int rc = get_par(m, &a, "churn_surv_mean_residual_life");
    if (rc)
        return rc;
    double sg = a.sigma;
    for (size_t i = 0; i < n; i++) {
        double mu = aft_lp(&a, a.p ? x + i * a.p : x), lam = exp(mu), h = horizon, v;
        switch (a.dist) {
        case DIST_EV:
            v = exp(weibull_log_mrl(mu, sg, h));
            break;
        case DIST_LOGISTIC: {
            if (sg >= 1) {
                v = INFINITY; /* the mean of a log-logistic with shape <= 1 is infinite */
                break;
            }
            /* integral of S from h: lam sigma B(sigma, 1 - sigma) I_{1/(1+v0)}(1 - sigma,
             * sigma), v0 = (h/lam)^(1/sigma); S(h) = 1/(1 + v0). */
            double v0 = h > 0 ? pow(h / lam, 1 / sg) : 0;
            double B = M_PI / sin(M_PI * sg);
            double Ib = v0 > 0 ? churn__beta_inc(1 - sg, sg, 1 / (1 + v0)) : 1;
            v = lam * sg * B * Ib * (1 + v0);
            break;
        }
        default: {
            /* log-normal: E[(T - h)+] = e^(mu + sigma^2/2) Q(z - sigma) - h Q(z),
             * z = (log h - mu)/sigma; divided by Q(z). */
            double em = exp(mu + 0.5 * sg * sg);
            if (!(h > 0)) {
                v = em;
            } else {
                double z = (log(h) - mu) / sg;
                v = em * exp(log_q(z - sg) - log_q(z)) - h;
            }
            break;
        }
        }
        if (isnan(v))
            return churn__error(CHURN_ENUMERIC, "churn_surv_mean_residual_life: row %zu: the "
                                "incomplete gamma/beta function did not converge", i);
        if (v < 0)
            v = 0;
        mrl[i] = v;
    }
    return CHURN_OK;
}
