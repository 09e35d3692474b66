/*
 * Cross-validation over a lambda path (churn_logit_cross_validate) and the
 * result handle: stratified folds, a warm-started path fit per fold, the
 * held-out deviance or AUC, and the choice of lambda_min and lambda_1se as
 * in cv.glmnet.
 *
 * Calls: args.c (checks, weights, names), design.c (the designs, the map back
 * to the caller's scale), pass.c (workspace), penalised.c (the lambda path),
 * newton.c (the fits).
 */
#include "regression/regression_internal.h"

#include <stdlib.h>

struct churn_logit_cv {
    size_t nlambda, nfolds;
    int metric;
    double *lambda, *mean, *sd;
    size_t imin, i1se;
};

CHURN_API int churn_logit_cv_options_init(churn_logit_cv_options *opts)
{
    churn__ok();
    if (!opts)
        return churn__error(CHURN_EINVAL, "churn_logit_cv_options_init: opts is NULL");
    churn_logit_cv_options d = CHURN_LOGIT_CV_OPTIONS_INIT;
    *opts = d;
    return CHURN_OK;
}

CHURN_API void churn_logit_cv_free(churn_logit_cv *cv)
{
    if (!cv)
        return;
    churn__free(cv->lambda);
    churn__free(cv->mean);
    churn__free(cv->sd);
    churn__free(cv);
}

CHURN_API size_t churn_logit_cv_num_lambda(const churn_logit_cv *cv)
{
    return cv ? cv->nlambda : 0;
}

CHURN_API int churn_logit_cv_path(const churn_logit_cv *cv, double *lambda, double *mean,
                                  double *sd, size_t cap)
{
    churn__ok();
    if (!cv)
        return churn__error(CHURN_EINVAL, "churn_logit_cv_path: cv is NULL");
    if ((lambda || mean || sd) && cap < cv->nlambda)
        return churn__error(CHURN_ERANGE, "churn_logit_cv_path: cap = %zu, the path has %zu "
                            "lambdas", cap, cv->nlambda);
    size_t nb = cv->nlambda * sizeof(double);
    if (lambda)
        memcpy(lambda, cv->lambda, nb);
    if (mean)
        memcpy(mean, cv->mean, nb);
    if (sd)
        memcpy(sd, cv->sd, nb);
    return CHURN_OK;
}

CHURN_API double churn_logit_cv_lambda_min(const churn_logit_cv *cv)
{
    return cv ? cv->lambda[cv->imin] : NAN;
}

CHURN_API double churn_logit_cv_lambda_1se(const churn_logit_cv *cv)
{
    return cv ? cv->lambda[cv->i1se] : NAN;
}

CHURN_API int churn_logit_cv_metric_used(const churn_logit_cv *cv) { return cv ? cv->metric : -1; }

/* splitmix64 (Steele, Lea & Flood 2014): a tiny, well-mixed seeded generator. */
static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

typedef struct scored {
    double s, w;
    int y;
} scored;

static int cmp_scored(const void *a, const void *b)
{
    double x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return (x > y) - (x < y);
}

/* Weighted ROC AUC = P(score_pos > score_neg) + P(tie)/2 (Mann-Whitney),
 * by one sort and a sweep over tie groups. */
static double weighted_auc(scored *v, size_t m)
{
    qsort(v, m, sizeof *v, cmp_scored);
    double wneg_below = 0, sum = 0, wp = 0, wn = 0;
    for (size_t a = 0; a < m;) {
        size_t b = a;
        double gp = 0, gn = 0;
        while (b < m && v[b].s == v[a].s) {
            if (v[b].y)
                gp += v[b].w;
            else
                gn += v[b].w;
            b++;
        }
        sum += gp * (wneg_below + 0.5 * gn);
        wneg_below += gn;
        wp += gp;
        wn += gn;
        a = b;
    }
    return (wp > 0 && wn > 0) ? sum / (wp * wn) : NAN;
}

/* The working arrays of one cross-validation, K folds by L lambdas. */
typedef struct cv_work {
    const double *x, *y;
    size_t n, p, ld;
    int layout;
    const churn_logit_options *o;
    const churn_logit_cv_options *co;
    const char *const *names;
    double alpha;     /* elastic-net mixing of the path */
    double *w;        /* final weights of every row */
    double *wf;       /* training weights of the current fold */
    size_t *fold;     /* fold of each row; K for the zero-weight rows */
    size_t *idx;      /* scratch for the shuffle */
    double *score;    /* held-out score, K x L */
    double *fold_w;   /* held-out weight of each fold */
    double *coef;     /* 1 + p coefficients on the caller's scale */
    scored *sv;       /* held-out scores for the AUC */
} cv_work;

static void cv_work_free(cv_work *cw)
{
    churn__free(cw->w);
    churn__free(cw->wf);
    churn__free(cw->fold);
    churn__free(cw->idx);
    churn__free(cw->score);
    churn__free(cw->fold_w);
    churn__free(cw->coef);
    churn__free(cw->sv);
}

static int check_cv_options(const char *fn, const churn_logit_cv_options *co)
{
    if (co->nfolds < 2)
        return churn__error(CHURN_EINVAL, "%s: option 'nfolds' = %zu must be >= 2", fn,
                            co->nfolds);
    if (co->nlambda < 1 || co->nlambda > 100000)
        return churn__error(CHURN_EINVAL, "%s: option 'nlambda' = %zu must be in [1, 100000]", fn,
                            co->nlambda);
    if (!(co->lambda_min_ratio >= 0 && co->lambda_min_ratio < 1))
        return churn__error(CHURN_EINVAL, "%s: option 'lambda_min_ratio' = %g must be in [0, 1)",
                            fn, co->lambda_min_ratio);
    if (co->metric != CHURN_LOGIT_CV_DEVIANCE && co->metric != CHURN_LOGIT_CV_AUC)
        return churn__error(CHURN_EINVAL, "%s: option 'metric' = %d is not a "
                            "churn_logit_cv_metric", fn, co->metric);
    return CHURN_OK;
}

/* The result handle and the working arrays. */
static int cv_alloc(cv_work *cw, churn_logit_cv **out)
{
    size_t n = cw->n, K = cw->co->nfolds, L = cw->co->nlambda;
    churn_logit_cv *cv = churn__calloc(1, sizeof *cv);
    *out = cv;
    cw->wf = churn__malloc(n * sizeof(double));
    cw->fold = churn__malloc(n * sizeof(size_t));
    cw->idx = churn__malloc(n * sizeof(size_t));
    cw->score = churn__calloc(K * L, sizeof(double));
    cw->fold_w = churn__calloc(K, sizeof(double));
    cw->coef = churn__calloc(cw->p + 1, sizeof(double));
    cw->sv = churn__malloc(n * sizeof(scored));
    if (!cv || !cw->wf || !cw->fold || !cw->idx || !cw->score || !cw->fold_w || !cw->coef ||
        !cw->sv)
        return churn__nomem("cross-validation");
    cv->nlambda = L;
    cv->nfolds = K;
    cv->metric = cw->co->metric;
    cv->lambda = churn__calloc(L, sizeof(double));
    cv->mean = churn__calloc(L, sizeof(double));
    cv->sd = churn__calloc(L, sizeof(double));
    if (!cv->lambda || !cv->mean || !cv->sd)
        return churn__nomem("cross-validation");
    return CHURN_OK;
}

/* Stratified folds: shuffle each class (Fisher-Yates) and deal in turn. */
static void stratified_folds(cv_work *cw)
{
    size_t n = cw->n, K = cw->co->nfolds;
    size_t *fold = cw->fold, *idx = cw->idx;
    uint64_t state = cw->co->seed;
    size_t pos = 0;
    for (size_t i = 0; i < n; i++)
        fold[i] = K; /* zero-weight rows are in no fold */
    for (int cls = 0; cls < 2; cls++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (cw->w[i] > 0 && (cw->y[i] == 1) == cls)
                idx[m++] = i;
        for (size_t t = m; t > 1; t--) {
            size_t r = (size_t)((double)(splitmix64(&state) >> 11) * 0x1.0p-53 * (double)t);
            if (r >= t)
                r = t - 1;
            size_t tmp = idx[t - 1];
            idx[t - 1] = idx[r];
            idx[r] = tmp;
        }
        for (size_t t = 0; t < m; t++)
            fold[idx[t]] = (pos++) % K;
    }
}

/* The training weights of fold f (its own rows weigh 0) and its held-out
 * weight; an error when the training rows hold one class only. */
static int fold_weights(cv_work *cw, size_t f, const char *fn)
{
    double tr[2] = {0, 0};
    for (size_t i = 0; i < cw->n; i++) {
        cw->wf[i] = cw->fold[i] == f ? 0.0 : cw->w[i];
        if (cw->wf[i] > 0)
            tr[cw->y[i] == 1] += cw->wf[i];
        if (cw->fold[i] == f)
            cw->fold_w[f] += cw->w[i];
    }
    if (tr[0] == 0 || tr[1] == 0)
        return churn__error(CHURN_EINVAL, "%s: the training rows of fold %zu hold only one "
                            "class; use fewer folds", fn, f + 1);
    return CHURN_OK;
}

/* The held-out deviance (per unit weight) or AUC of fold f with the
 * coefficients in cw->coef. */
static int held_out_score(cv_work *cw, const logit_design *df, size_t f, const char *fn,
                          double *score)
{
    const double *coef = cw->coef, *w = cw->w, *y = cw->y;
    size_t m = 0;
    double dev = 0;
    for (size_t i = 0; i < cw->n; i++) {
        if (cw->fold[i] != f)
            continue;
        double eta = coef[0];
        for (size_t j = 0; j < cw->p; j++)
            eta += coef[1 + j] * churn__logit_xat(df, i, j);
        double ll = y[i] * eta - (eta > 0 ? eta : 0) - log1p(exp(-fabs(eta)));
        dev -= 2 * w[i] * ll;
        cw->sv[m].s = eta;
        cw->sv[m].w = w[i];
        cw->sv[m].y = y[i] == 1;
        m++;
    }
    if (cw->co->metric == CHURN_LOGIT_CV_DEVIANCE) {
        *score = dev / cw->fold_w[f];
        return CHURN_OK;
    }
    *score = weighted_auc(cw->sv, m);
    if (!isfinite(*score))
        return churn__error(CHURN_EINVAL, "%s: held-out fold %zu holds only one class, "
                            "so its AUC is undefined; use fewer folds or the deviance",
                            fn, f + 1);
    return CHURN_OK;
}

/* Fit the whole lambda path on the training rows of fold f, each fit
 * warm-started from the previous one, and score each on the held-out rows. */
static int fold_path(cv_work *cw, const double *lambda, size_t f, const char *fn)
{
    const churn_logit_options *o = cw->o;
    size_t L = cw->co->nlambda;
    logit_design df;
    logit_ws ws;
    memset(&ws, 0, sizeof ws);
    double *beta = NULL;
    int rc = churn__logit_design_prepare(&df, cw->x, cw->n, cw->p, cw->layout, cw->ld, cw->y,
                                         cw->wf, NULL, 0, o->intercept, o->standardize,
                                         cw->names, 0);
    if (rc)
        return rc;
    rc = churn__logit_ws_alloc(&ws, df.k);
    if (!rc) {
        beta = churn__calloc(df.k + 1, sizeof(double));
        if (!beta)
            rc = churn__nomem("coefficients");
    }
    if (rc)
        goto done;
    churn__logit_null_start(&df, beta);
    for (size_t l = 0; l < L; l++) {
        fit_spec s;
        s.lambda = lambda[l];
        s.alpha = cw->alpha;
        s.max_iter = o->max_iter;
        s.tol = o->tol;
        s.unpenalised = 0;
        s.separation = o->separation;
        s.quiet = 1;
        opt_res res;
        rc = churn__logit_optimise(&df, &s, beta, 1, &ws, cw->names, &res, NULL);
        if (rc)
            goto done;
        churn__logit_to_original(&df, beta, cw->coef);
        rc = held_out_score(cw, &df, f, fn, &cw->score[f * L + l]);
        if (rc)
            goto done;
    }
done:
    churn__logit_design_free(&df);
    churn__logit_ws_free(&ws);
    churn__free(beta);
    return rc;
}

/* Aggregate: fold-weight-weighted mean and spread, like cv.glmnet. */
static void aggregate(churn_logit_cv *cv, const cv_work *cw)
{
    size_t K = cv->nfolds, L = cv->nlambda;
    const double *fold_w = cw->fold_w, *score = cw->score;
    double Wt = 0;
    for (size_t f = 0; f < K; f++)
        Wt += fold_w[f];
    for (size_t l = 0; l < L; l++) {
        double mu = 0, v = 0;
        for (size_t f = 0; f < K; f++)
            mu += fold_w[f] * score[f * L + l];
        mu /= Wt;
        for (size_t f = 0; f < K; f++) {
            double dd = score[f * L + l] - mu;
            v += fold_w[f] * dd * dd;
        }
        v = v / Wt * (double)K / (double)(K - 1);
        cv->mean[l] = mu;
        cv->sd[l] = sqrt(v);
    }
}

/* lambda_min: the best mean score; lambda_1se: the largest lambda whose mean
 * is within one standard error of the best. */
static void choose_lambdas(churn_logit_cv *cv)
{
    size_t K = cv->nfolds, L = cv->nlambda;
    int higher = cv->metric == CHURN_LOGIT_CV_AUC;
    size_t best = 0;
    for (size_t l = 1; l < L; l++)
        if (higher ? cv->mean[l] > cv->mean[best] : cv->mean[l] < cv->mean[best])
            best = l;
    double se = cv->sd[best] / sqrt((double)K);
    size_t one = best;
    for (size_t l = 0; l < best; l++) {
        int ok = higher ? cv->mean[l] >= cv->mean[best] - se : cv->mean[l] <= cv->mean[best] + se;
        if (ok) {
            one = l;
            break;
        }
    }
    cv->imin = best;
    cv->i1se = one;
}

CHURN_API int churn_logit_cross_validate(churn_logit_cv **out, const double *x, size_t n,
                                         size_t p, int layout, size_t ld, const double *y,
                                         const double *weights, const char *const *feature_names,
                                         const churn_logit_options *opts,
                                         const churn_logit_cv_options *cv_opts)
{
    churn__ok();
    static const char fn[] = "churn_logit_cross_validate";
    if (!out)
        return churn__error(CHURN_EINVAL, "%s: out is NULL", fn);
    *out = NULL;
    churn_logit_options o = CHURN_LOGIT_OPTIONS_INIT;
    churn_logit_cv_options co = CHURN_LOGIT_CV_OPTIONS_INIT;
    int rc = churn__opts_copy(&o, sizeof o, opts, "churn_logit_options");
    if (!rc)
        rc = churn__opts_copy(&co, sizeof co, cv_opts, "churn_logit_cv_options");
    if (!rc)
        rc = churn__logit_check_options(fn, &o, 1);
    if (!rc)
        rc = churn__logit_check_matrix_args(fn, x, n, p, layout, &ld);
    if (!rc)
        rc = check_cv_options(fn, &co);
    if (rc)
        return rc;

    cv_work cw = {.x = x, .y = y, .n = n, .p = p, .ld = ld, .layout = layout, .o = &o,
                  .co = &co, .alpha = churn__logit_opts_alpha(&o)};
    char **owned = NULL;
    churn_logit_cv *cv = NULL;
    logit_design d;
    memset(&d, 0, sizeof d);
    rc = churn__logit_make_weights(fn, y, weights, n, o.class_weight, &cw.w);
    if (!rc)
        rc = churn__logit_make_names(feature_names, p, &owned, &cw.names);
    if (!rc)
        rc = churn__logit_design_prepare(&d, x, n, p, layout, ld, y, cw.w, weights, 0,
                                         o.intercept, o.standardize, cw.names, 1);
    if (!rc && co.nfolds > d.npos_rows)
        rc = churn__error(CHURN_EINVAL, "%s: option 'nfolds' = %zu exceeds the %zu rows with a "
                          "positive weight", fn, co.nfolds, d.npos_rows);
    if (!rc)
        rc = cv_alloc(&cw, &cv);
    if (!rc)
        rc = churn__logit_lambda_path(&d, cw.alpha, co.lambda_min_ratio, co.nlambda,
                                      cv->lambda);
    if (!rc)
        stratified_folds(&cw);
    for (size_t f = 0; !rc && f < co.nfolds; f++) {
        rc = fold_weights(&cw, f, fn);
        if (!rc)
            rc = fold_path(&cw, cv->lambda, f, fn);
    }
    if (!rc) {
        aggregate(cv, &cw);
        choose_lambdas(cv);
        *out = cv;
        cv = NULL;
    }
    churn_logit_cv_free(cv);
    churn__logit_design_free(&d);
    cv_work_free(&cw);
    churn__logit_free_names(owned, p);
    return rc;
}
