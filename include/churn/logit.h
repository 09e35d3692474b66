/**
 * @file churn/logit.h
 * @brief Logistic-regression churn model: unpenalised, ridge (L2), lasso (L1)
 *        and elastic-net fits, cross-validation over a lambda path, standard
 *        errors, and per-customer explanations.
 *
 * The label is 1 for a customer who churned (no purchase in the holdout
 * window) and 0 otherwise; the model predicts P(label = 1), the churn
 * probability.
 *
 * **Design matrix.** The caller brings a dense matrix of `n` rows (customers)
 * and `p` columns (features) in either layout:
 *  - ::CHURN_LOGIT_ROW_MAJOR: element (i, j) is `x[i*ld + j]`, `ld >= p`;
 *  - ::CHURN_LOGIT_COL_MAJOR: element (i, j) is `x[j*ld + i]`, `ld >= n`.
 * Passing `ld = 0` means "packed" (`p` for row-major, `n` for column-major).
 * The matrix is borrowed for the duration of the call and never modified or
 * copied in full. An intercept column is added internally unless
 * churn_logit_options::intercept is 0.
 *
 * **Objective** (glmnet's scale; Friedman, Hastie & Tibshirani 2010, eq. 12):
 * @code
 *   minimise  -(1/W) sum_i w_i loglik_i(b0, b)  +  lambda * P(b)
 *   P(b) = alpha * ||b||_1 + (1 - alpha)/2 * ||b||_2^2      (b0 not penalised)
 * @endcode
 * where `W = sum_i w_i` and the first term is half the weighted mean
 * deviance. scikit-learn's `LogisticRegression(C=C, l1_ratio=r)` with unit
 * sample weights is the same problem with `lambda = 1/(n*C)` (in general
 * `1/(C*W)`) and `alpha = r` (`alpha = 0` for `penalty='l2'`, 1 for 'l1').
 * With churn_logit_options::standardize = 1 the penalty applies to the
 * coefficients of the standardised features (weighted mean 0, weighted
 * population SD 1, like glmnet's `standardize = TRUE`); coefficients are
 * always reported on the original scale of the features.
 *
 * **Solvers.** Unpenalised and L2 fits use Newton's method (IRLS): the
 * weighted cross-product Z'WZ is accumulated with OpenBLAS `dsyrk` over
 * blocks of rows, and the Newton system is solved by LAPACK Cholesky
 * (`dpotrf`/`dpotrs`). L1 and elastic-net fits use glmnet's scheme: an outer
 * quadratic approximation and an inner cyclic coordinate descent on the
 * covariance (Gram) form with an active set, followed by a backtracking line
 * search on the true objective (proximal Newton; Lee, Sun & Saunders 2014).
 * All fits converge to the exact optimum (max change of a standardised
 * coefficient below churn_logit_options::tol).
 *
 * **Degenerate data** (see docs/models/logit.md):
 *  - a constant feature (with an intercept) is dropped: its coefficient is
 *    reported as exactly 0 with NaN standard error, and the model note names
 *    it. Without an intercept only all-zero columns are dropped;
 *  - exactly or numerically collinear features (a column whose variance not
 *    explained by the others is below 1e-10 of its own) make an unpenalised
 *    fit fail with ::CHURN_ENUMERIC; the message names the columns involved
 *    and the linear relation. Penalised fits are unaffected;
 *  - complete or quasi-complete separation (no finite maximum-likelihood
 *    estimate) makes an unpenalised fit fail with ::CHURN_ESEPARATION naming
 *    the separating columns, or, with churn_logit_options::separation =
 *    ::CHURN_LOGIT_SEPARATION_NOTE, return the last iterate with
 *    churn_model_converged() = 0, no standard errors and the same words in
 *    churn_model_note(). Penalised fits always have a finite optimum.
 *
 * **Model handle.** Fits return a ::churn_model of family
 * ::CHURN_FAMILY_LOGIT whose parameters are "(Intercept)" followed by the
 * `p` feature coefficients (original scale; the intercept is 0 with NaN
 * standard error when fitted without one). Unpenalised fits carry the
 * covariance matrix (inverse Fisher information); penalised fits have NaN
 * standard errors. Everything prediction needs is saved in model files.
 *
 * Threading: every function here is reentrant; a fitted model may be used
 * by many threads at once for prediction.
 */
#ifndef CHURN_LOGIT_H
#define CHURN_LOGIT_H

#include "common.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Matrix layouts for churn_logit_fit() and friends. @since 1.0 */
typedef enum churn_logit_layout {
    CHURN_LOGIT_ROW_MAJOR = 0, /**< x[i*ld + j]: one customer per row, contiguous */
    CHURN_LOGIT_COL_MAJOR = 1  /**< x[j*ld + i]: one feature per column, contiguous */
} churn_logit_layout;

/** Penalty families. @since 1.0 */
typedef enum churn_logit_penalty {
    CHURN_LOGIT_PENALTY_NONE = 0,      /**< maximum likelihood (R `glm(binomial)`) */
    CHURN_LOGIT_PENALTY_L2 = 1,        /**< ridge: alpha = 0 */
    CHURN_LOGIT_PENALTY_L1 = 2,        /**< lasso: alpha = 1 */
    CHURN_LOGIT_PENALTY_ELASTICNET = 3 /**< elastic net: alpha from the options */
} churn_logit_penalty;

/** Class weighting. @since 1.0 */
typedef enum churn_logit_class_weight {
    CHURN_LOGIT_CLASS_WEIGHT_NONE = 0,    /**< every row weighs its sample weight */
    CHURN_LOGIT_CLASS_WEIGHT_BALANCED = 1 /**< class c weighs n/(2*n_c) (scikit-learn's
                                               "balanced"; n, n_c count rows) times the
                                               sample weight */
} churn_logit_class_weight;

/** What an unpenalised fit does on separated data. @since 1.0 */
typedef enum churn_logit_separation {
    CHURN_LOGIT_SEPARATION_ERROR = 0, /**< fail with ::CHURN_ESEPARATION (default) */
    CHURN_LOGIT_SEPARATION_NOTE = 1   /**< return the last iterate, not converged, with a note */
} churn_logit_separation;

/**
 * Fit options. Initialise with ::CHURN_LOGIT_OPTIONS_INIT or
 * churn_logit_options_init(); NULL means all defaults.
 * @since 1.0
 */
typedef struct churn_logit_options {
    size_t struct_size; /**< sizeof(churn_logit_options) */
    int penalty;        /**< ::churn_logit_penalty; default ::CHURN_LOGIT_PENALTY_NONE */
    double lambda;      /**< penalty strength (>= 0, glmnet scale); must be 0 with no
                             penalty. Default 0 */
    double alpha;       /**< elastic-net mixing in [0, 1], used with
                             ::CHURN_LOGIT_PENALTY_ELASTICNET only. Default 0.5 */
    int intercept;      /**< 1 (default): fit an unpenalised intercept; 0: none */
    int standardize;    /**< 1: penalise standardised coefficients; 0 (default): penalise
                             coefficients on the features' own scale. No effect on
                             unpenalised fits */
    int class_weight;   /**< ::churn_logit_class_weight; default none */
    int max_iter;       /**< maximum outer (Newton) iterations; default 100 */
    double tol;         /**< convergence: the largest change of a standardised coefficient
                             in the last Newton step is below tol; penalised fits also stop
                             once Newton converges quadratically and the predicted distance
                             left to the optimum is below tol. Default 1e-9 */
    int separation;     /**< ::churn_logit_separation; default error */
} churn_logit_options;

/** Static initialiser with the defaults. @since 1.0 */
#define CHURN_LOGIT_OPTIONS_INIT \
    { sizeof(churn_logit_options), CHURN_LOGIT_PENALTY_NONE, 0.0, 0.5, 1, 0, \
      CHURN_LOGIT_CLASS_WEIGHT_NONE, 100, 1e-9, CHURN_LOGIT_SEPARATION_ERROR }

/**
 * Fill `opts` with the defaults (same as ::CHURN_LOGIT_OPTIONS_INIT).
 * @param[out] opts
 * @return ::CHURN_OK, or ::CHURN_EINVAL when `opts` is NULL
 * @since 1.0
 */
CHURN_API int churn_logit_options_init(churn_logit_options *opts);

/**
 * Fit a logistic regression of `y` on the columns of `x`.
 *
 * @param[out] out            the fitted model (family ::CHURN_FAMILY_LOGIT); NULL on
 *                            failure. Free with churn_model_free().
 * @param[in]  x              design matrix, `n` x `p`, layout `layout`, leading
 *                            dimension `ld` (see the file comment); may be NULL when p = 0
 * @param[in]  n              number of rows (customers), >= 1
 * @param[in]  p              number of feature columns, >= 0
 * @param[in]  layout         ::churn_logit_layout
 * @param[in]  ld             leading dimension (0 = packed)
 * @param[in]  y              `n` labels, each exactly 0 or 1 (1 = churned)
 * @param[in]  weights        `n` finite sample weights >= 0, or NULL for all 1. Rows of
 *                            weight 0 are ignored
 * @param[in]  feature_names  `p` names for reports and model files, or NULL for
 *                            "x1".."xp"; copied
 * @param[in]  opts           options, or NULL for the defaults
 * @return ::CHURN_OK;
 *         ::CHURN_EINVAL (NULL pointer, n = 0, bad `ld`/layout, a NaN or infinite value --
 *         the message names the row and column --, a label other than 0/1, a negative
 *         weight, only one class, an invalid option -- named);
 *         ::CHURN_ENUMERIC (collinear columns in an unpenalised fit; named);
 *         ::CHURN_ESEPARATION (separated data in an unpenalised fit; the columns are named);
 *         ::CHURN_ENOCONV (no convergence within max_iter);
 *         ::CHURN_ENOMEM.
 * Thread-safe (reentrant); `x`, `y` and `weights` are only read.
 * @since 1.0
 */
CHURN_API int churn_logit_fit(churn_model **out, const double *x, size_t n, size_t p, int layout,
                              size_t ld, const double *y, const double *weights,
                              const char *const *feature_names, const churn_logit_options *opts);

/**
 * The fit-level report of a logit model. The caller sets `struct_size`
 * (sizeof as its headers know it); churn_logit_summary() fills that prefix.
 * @since 1.0
 */
typedef struct churn_logit_summary {
    size_t struct_size;   /**< sizeof(churn_logit_summary), set by the caller */
    double deviance;      /**< residual deviance -2 sum w_i loglik_i */
    double null_deviance; /**< deviance of the intercept-only model (p = 1/2 without
                               an intercept) */
    double aic;           /**< R's binomial AIC: -2 sum round(w_i) loglik_i + 2*rank
                               (NaN for penalised fits) */
    double loglik;        /**< sum round(w_i) loglik_i, as R's logLik(glm) reports; with
                               integer weights this is the weighted log-likelihood */
    double nobs;          /**< rows with a positive weight */
    double sum_weights;   /**< W = sum of the final weights (sample x class) */
    double df_residual;   /**< nobs - rank */
    double lambda;        /**< penalty strength (0 when unpenalised) */
    double alpha;         /**< elastic-net mixing actually used */
    int penalty;          /**< ::churn_logit_penalty */
    int intercept;        /**< 1 when fitted with an intercept */
    int standardize;      /**< the standardize option used */
    int converged;        /**< 1 when converged */
    int iterations;       /**< outer (Newton) iterations on the full data */
    int separated;        /**< 1 when separation was detected (note mode) */
    size_t rank;          /**< estimated parameters incl. the intercept, excl. dropped columns */
    size_t nonzero;       /**< nonzero feature coefficients */
    size_t dropped;       /**< constant columns dropped */
} churn_logit_summary;

/**
 * Fill `out` with the model's fit report.
 * @param[in]  model  a ::CHURN_FAMILY_LOGIT model (fitted or loaded)
 * @param[out] out    caller struct with `struct_size` set
 * @return ::CHURN_OK, ::CHURN_EINVAL (NULL, bad struct_size), ::CHURN_EFAMILY
 * Thread-safe.
 * @since 1.0
 */
CHURN_API int churn_logit_summary_get(const churn_model *model, churn_logit_summary *out);

/**
 * One row of the coefficient table (Wald statistics). The caller sets
 * `struct_size`.
 * @since 1.0
 */
typedef struct churn_logit_term {
    size_t struct_size;  /**< sizeof(churn_logit_term), set by the caller */
    double estimate;     /**< coefficient on the original scale (log-odds per unit) */
    double std_error;    /**< from the inverse Fisher information; NaN for penalised fits
                              and dropped columns */
    double z;            /**< estimate / std_error (NaN when no std_error) */
    double p_value;      /**< two-sided normal p-value 2*Phi(-|z|) (NaN when no std_error) */
    double odds_ratio;   /**< exp(estimate) */
    double odds_ratio_low;  /**< exp(estimate - 1.959964*std_error) (NaN when no std_error) */
    double odds_ratio_high; /**< exp(estimate + 1.959964*std_error) (NaN when no std_error) */
} churn_logit_term;

/**
 * Coefficient-table row `i` (0 = "(Intercept)", 1+j = feature j; names from
 * churn_model_param_name()).
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_EFAMILY, ::CHURN_ERANGE (i out of range)
 * Thread-safe.
 * @since 1.0
 */
CHURN_API int churn_logit_term_get(const churn_model *model, size_t i, churn_logit_term *out);

/**
 * Churn probabilities and linear predictors for `n` customers.
 *
 * @param[in]  model             a ::CHURN_FAMILY_LOGIT model
 * @param[in]  x                 `n` x `p` features in the training column order,
 *                               `p` = churn_model_num_features()
 * @param[in]  n, p, layout, ld  as for churn_logit_fit()
 * @param[out] p_churn           `n` probabilities P(label = 1), or NULL
 * @param[out] linear_predictor  `n` log-odds, or NULL
 * @return ::CHURN_OK, ::CHURN_EINVAL (sizes, NaN/inf value -- row and column named),
 *         ::CHURN_EFAMILY
 * Thread-safe; the outputs are untouched on failure only up to the failing row.
 * @since 1.0
 */
CHURN_API int churn_logit_predict(const churn_model *model, const double *x, size_t n, size_t p,
                                  int layout, size_t ld, double *p_churn,
                                  double *linear_predictor);

/**
 * Per-customer explanations: contribution[i*p + j] = b_j * (x_ij - mean_j),
 * where mean_j is the training mean of feature j (weighted by the sample
 * weights, not the class weights) stored in the model. For every row,
 * linear_predictor = baseline + sum_j contribution[i*p + j], with
 * baseline = b0 + sum_j b_j*mean_j (the log-odds of the average training
 * customer). Positive contributions push a customer toward churn.
 *
 * @param[in]  model, x, n, p, layout, ld  as for churn_logit_predict()
 * @param[out] contributions  `n*p` doubles, row-major (one row per customer)
 * @param[out] baseline       the baseline log-odds, or NULL
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_EFAMILY
 * Thread-safe.
 * @since 1.0
 */
CHURN_API int churn_logit_contributions(const churn_model *model, const double *x, size_t n,
                                        size_t p, int layout, size_t ld, double *contributions,
                                        double *baseline);

/** Cross-validation metrics. @since 1.0 */
typedef enum churn_logit_cv_metric {
    CHURN_LOGIT_CV_DEVIANCE = 0, /**< held-out weighted mean binomial deviance (lower is better) */
    CHURN_LOGIT_CV_AUC = 1       /**< held-out weighted ROC AUC (higher is better) */
} churn_logit_cv_metric;

/**
 * Cross-validation options. Initialise with ::CHURN_LOGIT_CV_OPTIONS_INIT or
 * churn_logit_cv_options_init(); NULL means all defaults.
 * @since 1.0
 */
typedef struct churn_logit_cv_options {
    size_t struct_size;      /**< sizeof(churn_logit_cv_options) */
    size_t nfolds;           /**< K >= 2 (at most the number of rows); default 5 */
    uint64_t seed;           /**< fold assignment seed; same seed, same folds. Default 1 */
    size_t nlambda;          /**< path length >= 1; default 100 */
    double lambda_min_ratio; /**< smallest/largest lambda in (0, 1); 0 = glmnet's rule
                                  (1e-4 when nobs > p, else 1e-2). Default 0 */
    int metric;              /**< ::churn_logit_cv_metric; default deviance */
} churn_logit_cv_options;

/** Static initialiser with the defaults. @since 1.0 */
#define CHURN_LOGIT_CV_OPTIONS_INIT \
    { sizeof(churn_logit_cv_options), 5, 1, 100, 0.0, CHURN_LOGIT_CV_DEVIANCE }

/**
 * Fill `opts` with the defaults.
 * @return ::CHURN_OK, or ::CHURN_EINVAL when `opts` is NULL
 * @since 1.0
 */
CHURN_API int churn_logit_cv_options_init(churn_logit_cv_options *opts);

/** Opaque cross-validation result. @since 1.0 */
typedef struct churn_logit_cv churn_logit_cv;

/**
 * K-fold cross-validation of a penalised fit over a lambda path.
 *
 * The path has `nlambda` values spaced evenly on the log scale from
 * lambda_max (the smallest lambda at which every feature coefficient is 0;
 * computed with alpha = max(alpha, 0.001) as glmnet does for ridge) down to
 * lambda_max * lambda_min_ratio. Folds are stratified by label: the rows of
 * each class are shuffled with a generator seeded by `seed` and dealt to the
 * folds in turn. For each fold the path is fitted with warm starts on the
 * other folds and scored on the held-out fold. Per lambda, the mean is the
 * fold-weight-weighted mean of the fold scores and the SD their weighted
 * spread across folds; lambda_min optimises the mean and lambda_1se is the
 * largest lambda whose mean is within one standard error (SD/sqrt(K)) of the
 * optimum (Hastie, Tibshirani & Friedman 2009, sec. 7.10).
 *
 * @param[out] out      the result; NULL on failure. Free with churn_logit_cv_free().
 * @param[in]  x, n, p, layout, ld, y, weights, feature_names  as for churn_logit_fit()
 * @param[in]  opts     fit options; the penalty must be L2, L1 or elastic net
 *                      (`lambda` is ignored)
 * @param[in]  cv_opts  CV options or NULL
 * @return ::CHURN_OK, ::CHURN_EINVAL (as churn_logit_fit(), no penalty, bad CV
 *         option -- named), ::CHURN_ENOCONV, ::CHURN_ENOMEM
 * Thread-safe (reentrant).
 * @since 1.0
 */
CHURN_API int churn_logit_cross_validate(churn_logit_cv **out, const double *x, size_t n,
                                         size_t p, int layout, size_t ld, const double *y,
                                         const double *weights, const char *const *feature_names,
                                         const churn_logit_options *opts,
                                         const churn_logit_cv_options *cv_opts);

/** Free a CV result; NULL is a no-op. @since 1.0 */
CHURN_API void churn_logit_cv_free(churn_logit_cv *cv);

/** Number of lambdas on the path (0 for NULL). @since 1.0 */
CHURN_API size_t churn_logit_cv_num_lambda(const churn_logit_cv *cv);

/**
 * Copy the path: lambda (decreasing) and, per lambda, the metric's mean and
 * SD across folds. Any output pointer may be NULL.
 * @param[in] cap  capacity of each non-NULL array, >= churn_logit_cv_num_lambda()
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_ERANGE (cap too small)
 * @since 1.0
 */
CHURN_API int churn_logit_cv_path(const churn_logit_cv *cv, double *lambda, double *mean,
                                  double *sd, size_t cap);

/** The lambda optimising the mean CV metric (NaN for NULL). @since 1.0 */
CHURN_API double churn_logit_cv_lambda_min(const churn_logit_cv *cv);

/** The largest lambda within one standard error of the best (NaN for NULL). @since 1.0 */
CHURN_API double churn_logit_cv_lambda_1se(const churn_logit_cv *cv);

/** The metric used (::churn_logit_cv_metric; -1 for NULL). @since 1.0 */
CHURN_API int churn_logit_cv_metric_used(const churn_logit_cv *cv);

#ifdef __cplusplus
}
#endif

#endif /* CHURN_LOGIT_H */
