/*
 * The public logistic-regression fit (churn_logit_fit): validate the
 * arguments, prepare the design, optionally warm-start on a subsample,
 * minimise, and fill the model handle with the coefficients on the caller's
 * scale, their covariance (unpenalised fits) and the fit statistics.
 *
 * Calls: args.c (checks, weights, names), design.c (the design, the map back
 * to the caller's scale), pass.c (workspace), newton.c (the minimisation,
 * Cholesky), textbuf.c (the model note).
 */
#include "regression/regression_internal.h"

#include <cblas.h>

/* Warm start: fits on at least this many rows first fit a systematic
 * subsample of LOGIT_SUBSAMPLE_ROWS rows (every s-th row). Only the starting
 * point of Newton's method changes, never the optimum it converges to. */
#define LOGIT_SUBSAMPLE_MIN 200000
#define LOGIT_SUBSAMPLE_ROWS 25000

CHURN_API int churn_logit_options_init(churn_logit_options *opts)
{
    churn__ok();
    if (!opts)
        return churn__error(CHURN_EINVAL, "churn_logit_options_init: opts is NULL");
    churn_logit_options d = CHURN_LOGIT_OPTIONS_INIT;
    *opts = d;
    return CHURN_OK;
}

static int set_scalar(churn_model *m, const char *name, double v)
{
    return churn__model_set_array(m, name, &v, 1);
}

/* A new model with the parameter and feature names and the coefficients on
 * the caller's scale (also left in coef, 1 + p values). */
static int new_model(churn_model **m, const logit_design *d, const char *const *names,
                     const double *beta, const char **pn, double *coef)
{
    size_t p = d->p, kp = p + 1;
    pn[0] = "(Intercept)";
    for (size_t j = 0; j < p; j++)
        pn[1 + j] = names[j];
    int rc = churn__model_new(m, CHURN_FAMILY_LOGIT, kp, pn);
    if (rc)
        return rc;
    churn__logit_to_original(d, beta, coef);
    memcpy((*m)->params, coef, kp * sizeof(double));
    return churn__model_set_features(*m, names, p);
}

/* Covariance: inverse Fisher information (W * H)^-1 in the internal
 * coordinates, mapped with the Jacobian T of churn__logit_to_original:
 * cov = T V T'. Nothing is set when H is not positive definite. */
static int set_covariance(churn_model *m, const logit_design *d, const opt_res *res,
                          logit_ws *ws)
{
    size_t k = d->k, kp = d->p + 1;
    memcpy(ws->F, ws->Hsave, k * k * sizeof(double));
    int nk = (int)k, info = churn__logit_chol(ws->F, k);
    if (info == 0 && k > 0)
        dpotri_("U", &nk, ws->F, &nk, &info, 1);
    if (info != 0)
        return CHURN_OK;
    double *V = ws->F;
    /* dpotri fills the 'U' (Fortran) triangle: V[j*k + i], i <= j */
    for (size_t j = 0; j < k; j++)
        for (size_t i = 0; i < j; i++)
            V[i * k + j] = V[j * k + i];
    double sc = 1.0 / res->last.wsum;
    double *T = churn__calloc(kp * (k ? k : 1), sizeof(double));
    double *tmp = churn__calloc(kp * (k ? k : 1), sizeof(double));
    double *cov = churn__malloc(kp * kp * sizeof(double));
    int rc;
    if (!T || !tmp || !cov) {
        rc = churn__nomem("the covariance matrix");
        goto done;
    }
    if (d->off)
        T[0] = 1.0;
    for (size_t c = 0; c < d->nkept; c++) {
        T[0 * k + d->off + c] = -d->center[c] * d->inv_scale[c];
        T[(1 + d->col[c]) * k + d->off + c] = d->inv_scale[c];
    }
    /* tmp = T V (kp x k), cov = tmp T' (kp x kp) */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)kp, (int)k, (int)k, sc, T,
                (int)k, V, (int)k, 0.0, tmp, (int)k);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)kp, (int)kp, (int)k, 1.0,
                tmp, (int)k, T, (int)k, 0.0, cov, (int)kp);
    /* parameters that were not estimated: no variance */
    for (size_t a = 0; a < kp; a++) {
        int est = a == 0 ? d->intercept : !d->dropped[a - 1];
        if (!est)
            for (size_t b = 0; b < kp; b++)
                cov[a * kp + b] = cov[b * kp + a] = NAN;
    }
    rc = churn__model_set_cov(m, cov);
done:
    churn__free(cov);
    churn__free(T);
    churn__free(tmp);
    return rc;
}

/* Deviance, null deviance, AIC and the other fit statistics; the note. */
static int set_fit_statistics(churn_model *m, const logit_design *d,
                              const churn_logit_options *o, const fit_spec *s,
                              const opt_res *res, const double *coef, const char *note)
{
    size_t p = d->p;
    double rank = (double)d->k;
    double dev = 2 * res->last.nll;
    double sy = 0;
    for (size_t i = 0; i < d->n; i++)
        if (d->w[i] > 0)
            sy += d->w[i] * d->y[i];
    double ybar = d->intercept ? sy / d->wsum : 0.5;
    /* null deviance: -2 sum w [y log ybar + (1-y) log(1-ybar)] */
    double nulldev = -2 * (sy * log(ybar) + (d->wsum - sy) * log1p(-ybar));
    double aic = s->unpenalised ? -2 * res->last.llr + 2 * rank : NAN;
    size_t nonzero = 0;
    for (size_t j = 0; j < p; j++)
        if (coef[1 + j] != 0)
            nonzero++;
    m->loglik = res->last.llr;
    m->nobs = d->wsum;
    m->converged = res->converged;
    m->iterations = res->iterations;
    int rc = set_scalar(m, "deviance", dev);
    if (!rc) rc = set_scalar(m, "null_deviance", nulldev);
    if (!rc) rc = set_scalar(m, "aic", aic);
    if (!rc) rc = set_scalar(m, "lambda", s->lambda);
    if (!rc) rc = set_scalar(m, "alpha", s->alpha);
    if (!rc) rc = set_scalar(m, "penalty", o->penalty);
    if (!rc) rc = set_scalar(m, "intercept", d->intercept);
    if (!rc) rc = set_scalar(m, "standardize", o->standardize);
    if (!rc) rc = set_scalar(m, "nobs_rows", (double)d->npos_rows);
    if (!rc) rc = set_scalar(m, "sum_weights", d->wsum);
    if (!rc) rc = set_scalar(m, "rank", rank);
    if (!rc) rc = set_scalar(m, "nonzero", (double)nonzero);
    if (!rc) rc = set_scalar(m, "dropped", (double)d->ndropped);
    if (!rc) rc = set_scalar(m, "separated", res->separated);
    if (!rc) rc = churn__model_set_array(m, "feature_mean", d->feature_mean, p);
    if (!rc) rc = churn__model_set_array(m, "feature_sd", d->sd_all, p);
    if (!rc && note && *note)
        rc = churn__model_set_note(m, note);
    return rc;
}

/* Build the model handle from a finished fit. */
static int build_model(churn_model **out, const logit_design *d, const char *const *names,
                       const double *beta, const churn_logit_options *o, const fit_spec *s,
                       const opt_res *res, logit_ws *ws, const char *note)
{
    size_t kp = d->p + 1;
    const char **pn = churn__malloc(kp * sizeof(char *));
    double *coef = churn__malloc(kp * sizeof(double));
    churn_model *m = NULL;
    int rc = pn && coef ? new_model(&m, d, names, beta, pn, coef)
                        : churn__nomem("the logit model");
    if (!rc && s->unpenalised && res->converged && !res->separated)
        rc = set_covariance(m, d, res, ws);
    if (!rc)
        rc = set_fit_statistics(m, d, o, s, res, coef, note);
    churn__free(pn);
    churn__free(coef);
    if (rc) {
        churn_model_free(m);
        return rc;
    }
    *out = m;
    return CHURN_OK;
}

/* "dropped constant column(s) ..." for the model note. */
static void note_dropped(sbuf *note, const logit_design *d, const char *const *names)
{
    if (!d->ndropped)
        return;
    churn__sb_printf(note, "dropped constant column%s ", d->ndropped > 1 ? "s" : "");
    size_t t = 0;
    for (size_t j = 0; j < d->p; j++)
        if (d->dropped[j]) {
            churn__sb_printf(note, "%s'%s'", t ? ", " : "", names[j]);
            t++;
        }
    churn__sb_printf(note, " (coefficient fixed at 0)");
}

static fit_spec spec_from_options(const churn_logit_options *o)
{
    fit_spec s;
    s.lambda = o->penalty == CHURN_LOGIT_PENALTY_NONE ? 0.0 : o->lambda;
    s.alpha = churn__logit_opts_alpha(o);
    s.max_iter = o->max_iter;
    s.tol = o->tol;
    s.unpenalised = !(s.lambda > 0);
    s.separation = o->separation;
    s.quiet = 0;
    return s;
}

/* Warm start from a systematic subsample on large data (see
 * LOGIT_SUBSAMPLE_MIN): beta moves to the subsample's optimum when that fit
 * converged cleanly; any failure of it is forgotten. beta0 is k scratch. */
static void warm_start(const logit_design *d, const fit_spec *s, double *beta, double *beta0,
                       logit_ws *ws, const char *const *names)
{
    if (!(d->npos_rows >= LOGIT_SUBSAMPLE_MIN && !(s->lambda > 0 && s->alpha > 0)))
        return;
    size_t stride = d->n / LOGIT_SUBSAMPLE_ROWS;
    fit_spec sq = *s;
    sq.quiet = 1;
    sq.tol = 1e-6;
    sq.max_iter = 30;
    opt_res res;
    memcpy(beta0, beta, d->k * sizeof(double));
    int wrc = churn__logit_optimise(d, &sq, beta0, stride, ws, names, &res, NULL);
    int usable = wrc == CHURN_OK && res.converged && res.last.extreme == 0;
    for (size_t j = 0; usable && j < d->k; j++)
        usable = isfinite(beta0[j]);
    if (usable)
        memcpy(beta, beta0, d->k * sizeof(double));
    churn__ok();
}

CHURN_API int churn_logit_fit(churn_model **out, const double *x, size_t n, size_t p, int layout,
                              size_t ld, const double *y, const double *weights,
                              const char *const *feature_names, const churn_logit_options *opts)
{
    churn__ok();
    static const char fn[] = "churn_logit_fit";
    if (!out)
        return churn__error(CHURN_EINVAL, "%s: out is NULL", fn);
    *out = NULL;
    churn_logit_options o = CHURN_LOGIT_OPTIONS_INIT;
    int rc = churn__opts_copy(&o, sizeof o, opts, "churn_logit_options");
    if (rc)
        return rc;
    rc = churn__logit_check_options(fn, &o, 0);
    if (!rc)
        rc = churn__logit_check_matrix_args(fn, x, n, p, layout, &ld);
    if (rc)
        return rc;
    double *w = NULL;
    rc = churn__logit_make_weights(fn, y, weights, n, o.class_weight, &w);
    if (rc)
        return rc;
    char **owned = NULL;
    const char *const *names = NULL;
    logit_design d;
    logit_ws ws;
    memset(&d, 0, sizeof d);
    memset(&ws, 0, sizeof ws);
    double *beta = NULL, *beta0 = NULL;
    sbuf note = {0};
    rc = churn__logit_make_names(feature_names, p, &owned, &names);
    if (rc)
        goto done;
    rc = churn__logit_design_prepare(&d, x, n, p, layout, ld, y, w, weights, 1, o.intercept,
                                     o.standardize, names, 1);
    if (rc)
        goto done;
    rc = churn__logit_ws_alloc(&ws, d.k);
    beta = churn__calloc(d.k + 1, sizeof(double));
    beta0 = churn__calloc(d.k + 1, sizeof(double));
    if (!rc && (!beta || !beta0))
        rc = churn__nomem("coefficients");
    if (rc)
        goto done;
    note_dropped(&note, &d, names);
    fit_spec s = spec_from_options(&o);
    churn__logit_null_start(&d, beta);
    warm_start(&d, &s, beta, beta0, &ws, names);
    opt_res res;
    rc = churn__logit_optimise(&d, &s, beta, 1, &ws, names, &res, &note);
    if (rc)
        goto done;
    if (res.last.extreme > 0 && !res.separated)
        churn__sb_printf(&note, "%sfitted probabilities numerically 0 or 1 for %zu row(s)",
                         note.len ? "; " : "", res.last.extreme);
    if (note.oom) {
        rc = churn__nomem("the model note");
        goto done;
    }
    rc = build_model(out, &d, names, beta, &o, &s, &res, &ws, note.s);
done:
    churn__free(note.s);
    churn__free(beta);
    churn__free(beta0);
    churn__logit_ws_free(&ws);
    churn__logit_design_free(&d);
    churn__logit_free_names(owned, p);
    churn__free(w);
    return rc;
}
