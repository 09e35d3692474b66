/**
 * @file churn/survival.h
 * @brief Survival models of customer lifetimes: Kaplan-Meier retention curves
 *        with the log-rank test, Cox proportional hazards, parametric
 *        accelerated-failure-time models (Weibull, exponential, log-logistic,
 *        log-normal) and Harrell's concordance index.
 *
 * Data conventions shared by every function here:
 *  - `duration[i]` is the time customer i was observed, in any unit (days,
 *    weeks, ...): finite and >= 0 (> 0 for the AFT models, which work on
 *    log time). Predictions and horizons are in the same unit.
 *  - `event[i]` is 1 when customer i churned at `duration[i]` and 0 when the
 *    customer was still active then (right-censored). Any other value is an
 *    error: recode R's 1/2 `status` as 0/1 first.
 *  - `weights[i]`, when not NULL, are case weights (finite, >= 0), with the
 *    meaning of R's `weights=`: integer weights give the same fit as
 *    repeating rows.
 *  - Covariates `x` are `n * p` doubles, **row-major** (row i holds the `p`
 *    features of customer i), finite.
 *  - Times are compared exactly: unlike R's `timefix`, times that differ in
 *    the last bits are not merged (on integer or rounded times this is the
 *    same).
 * Bad input fails with ::CHURN_EINVAL and a message naming the argument and
 * row ("churn_cox_fit: row 17: duration -3 is negative").
 *
 * Fitted Cox and AFT models are ::churn_model handles (model.h): the shared
 * accessors give the coefficients, standard errors, covariance, the maximised
 * log-likelihood and the feature names; churn_model_save() /
 * churn_model_load() keep everything the predict functions below need, so a
 * loaded model predicts identically. Parameter names are the feature names
 * for Cox; "(Intercept)", the feature names and "Log(scale)" (not for the
 * exponential) for AFT models, as in R's `survreg`.
 *
 * Threading: the fit functions and churn_concordance_index() use no shared
 * state and may run concurrently; a ::churn_km result and a fitted model are
 * immutable and may be read by any number of threads.
 *
 * References: Kaplan & Meier (1958); Greenwood (1926); Cox (1972); Efron
 * (1977); Breslow (1974); Harrell, Califf, Pryor, Lee & Rosati (1982);
 * Therneau & Grambsch, "Modeling Survival Data" (2000); Kalbfleisch &
 * Prentice, "The Statistical Analysis of Failure Time Data" (2002).
 */
#ifndef CHURN_SURVIVAL_H
#define CHURN_SURVIVAL_H

#include "common.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================== */
/** @name Kaplan-Meier retention curves */
/**@{*/

/** Opaque Kaplan-Meier result: one curve per group. @since 1.0 */
typedef struct churn_km churn_km;

/** Confidence-interval transforms for survival curves (R's `conf.type`). @since 1.0 */
typedef enum churn_conf_type {
    CHURN_CONF_LOG = 0,    /**< exp(log S +- z se): R's default "log" */
    CHURN_CONF_LOGLOG = 1, /**< on log(-log S): R's "log-log" */
    CHURN_CONF_PLAIN = 2,  /**< S +- z se(S), clipped to [0, 1]: R's "plain" */
    CHURN_CONF_NONE = 3    /**< no interval: lower = upper = S */
} churn_conf_type;

/**
 * Options for churn_km_fit(). Initialise with ::CHURN_KM_OPTIONS_INIT or
 * churn_km_options_init().
 * @since 1.0
 */
typedef struct churn_km_options {
    size_t struct_size;
    double conf_level; /**< two-sided confidence level in (0, 1); default 0.95 */
    int conf_type;     /**< a ::churn_conf_type; default ::CHURN_CONF_LOG */
} churn_km_options;

/** Defaults for ::churn_km_options. @since 1.0 */
#define CHURN_KM_OPTIONS_INIT { sizeof(churn_km_options), 0.95, CHURN_CONF_LOG }

/** Fill `opts` with the defaults (NULL is a no-op). @since 1.0 */
CHURN_API void churn_km_options_init(churn_km_options *opts);

/**
 * Kaplan-Meier estimate of the survival (retention) curve, overall or per
 * group, as R's `survfit(Surv(duration, event) ~ group)`.
 *
 * Each curve has one row per distinct duration of its group (event or
 * censoring), in increasing order, with: the number at risk (weighted count
 * with duration >= t), events and censorings at t, the product-limit survival
 * S(t), R's `std.err` (Greenwood's standard error of -log S(t), i.e. of the
 * cumulative hazard: sqrt(sum d / (n (n - d)))), the confidence limits, the
 * Nelson-Aalen cumulative hazard sum d / n and its standard error
 * sqrt(sum d / n^2) (R's `cumhaz` and `std.chaz`).
 *
 * Groups are the distinct values of `group`, in increasing order (as R's
 * strata of a numeric variable). After S(t) reaches 0 its `std_err` is
 * +INFINITY and the interval is [0, 0]; at S(t) = 1 the log-log interval is
 * [1, 1] (R gives NA in both cases). All-censored data are valid: S = 1.
 *
 * With non-integer weights R switches to a robust (infinitesimal jackknife)
 * variance; this function always uses the weighted Greenwood formula.
 *
 * Runs in O(n) for integer durations spanning at most a few times n values,
 * O(n) radix passes otherwise.
 *
 * @param[out] out       the result, NULL on failure; free with churn_km_free()
 * @param[in]  n         number of customers (>= 1)
 * @param[in]  duration  n durations (finite, >= 0)
 * @param[in]  event     n event indicators (0 or 1)
 * @param[in]  weights   n case weights (finite, >= 0), or NULL for 1
 * @param[in]  group     n group codes (cohort, segment, tier), or NULL for one curve
 * @param[in]  opts      options, or NULL for the defaults
 * @return ::CHURN_OK, ::CHURN_EINVAL (bad argument or row; the message names
 *         it), ::CHURN_ENOMEM
 * @since 1.0
 */
CHURN_API int churn_km_fit(churn_km **out, size_t n, const double *duration, const double *event,
                           const double *weights, const int64_t *group,
                           const churn_km_options *opts);

/** Free a Kaplan-Meier result. NULL is a no-op. @since 1.0 */
CHURN_API void churn_km_free(churn_km *km);

/** Number of curves (1 without groups; 0 for NULL). @since 1.0 */
CHURN_API size_t churn_km_num_groups(const churn_km *km);

/** Group code of curve `g` (0 without groups or when out of range). @since 1.0 */
CHURN_API int64_t churn_km_group_label(const churn_km *km, size_t g);

/** Number of rows (distinct durations) of curve `g` (0 when out of range). @since 1.0 */
CHURN_API size_t churn_km_num_times(const churn_km *km, size_t g);

/** Columns of a Kaplan-Meier curve, for churn_km_column(). @since 1.0 */
typedef enum churn_km_col {
    CHURN_KM_TIME = 0,     /**< distinct duration t */
    CHURN_KM_N_RISK = 1,   /**< (weighted) number at risk at t */
    CHURN_KM_N_EVENT = 2,  /**< (weighted) events at t */
    CHURN_KM_N_CENSOR = 3, /**< (weighted) censorings at t */
    CHURN_KM_SURV = 4,     /**< Kaplan-Meier S(t) */
    CHURN_KM_STD_ERR = 5,  /**< R's std.err: Greenwood SE of -log S(t) */
    CHURN_KM_LOWER = 6,    /**< lower confidence limit of S(t) */
    CHURN_KM_UPPER = 7,    /**< upper confidence limit of S(t) */
    CHURN_KM_CUMHAZ = 8,   /**< Nelson-Aalen cumulative hazard */
    CHURN_KM_STD_CHAZ = 9  /**< standard error of the Nelson-Aalen estimate */
} churn_km_col;

/**
 * Copy one column of curve `g` into a caller buffer.
 * Ask for the size with churn_km_num_times().
 * @param[in]  km
 * @param[in]  g       curve index, < churn_km_num_groups()
 * @param[in]  column  a ::churn_km_col
 * @param[out] out     caller buffer of `cap` doubles
 * @param[in]  cap     capacity; at least churn_km_num_times(km, g)
 * @return ::CHURN_OK, ::CHURN_EINVAL (NULL, unknown column), ::CHURN_ERANGE
 *         (`g` out of range or buffer too small)
 * @since 1.0
 */
CHURN_API int churn_km_column(const churn_km *km, size_t g, int column, double *out, size_t cap);

/**
 * Survival of curve `g` at arbitrary times (right-continuous step function;
 * 1 before the first row). Times beyond the last row keep the last value.
 * @param[in]  t     `nt` times (finite)
 * @param[out] surv  `nt` survival probabilities
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_ERANGE
 * @since 1.0
 */
CHURN_API int churn_km_survival_at(const churn_km *km, size_t g, size_t nt, const double *t,
                                   double *surv);

/**
 * Quantile of the lifetime distribution of curve `g` with its confidence
 * interval, by R's rule (`quantile.survfit`): the first time the curve
 * reaches S <= 1 - prob, or the midpoint of the flat stretch when the curve
 * sits exactly at 1 - prob; the limits apply the same rule to the lower and
 * upper confidence curves. `prob` = 0.5 gives the median survival.
 * A quantile the curve never reaches is +INFINITY ("not reached"; R's NA).
 * @param[in]  prob   probability of the event, in (0, 1)
 * @param[out] value  the quantile (may be NULL)
 * @param[out] lower  its lower confidence limit (may be NULL)
 * @param[out] upper  its upper confidence limit (may be NULL)
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_ERANGE
 * @since 1.0
 */
CHURN_API int churn_km_quantile(const churn_km *km, size_t g, double prob, double *value,
                                double *lower, double *upper);

/**
 * Median survival with its confidence interval: churn_km_quantile() at 0.5.
 * @since 1.0
 */
CHURN_API int churn_km_median(const churn_km *km, size_t g, double *median, double *lower,
                              double *upper);

/**
 * Restricted mean survival time: the area under curve `g` from 0 to `tau`,
 * with its standard error (as R's `print(survfit, rmean = tau)`).
 * @param[in]  tau    horizon (> 0); NaN or 0 means the largest duration of
 *                    the group (R's summary table when `rmean` is not given)
 * @param[out] rmean  restricted mean (may be NULL)
 * @param[out] se     its standard error (may be NULL)
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_ERANGE
 * @since 1.0
 */
CHURN_API int churn_km_rmean(const churn_km *km, size_t g, double tau, double *rmean,
                             double *se);

/**
 * Per-group counts for the log-rank test: customers, observed events and
 * expected events under equal hazards (R's `survdiff` N, Observed, Expected).
 * @param[out] n         (weighted) customers in group g (may be NULL)
 * @param[out] observed  (weighted) events (may be NULL)
 * @param[out] expected  expected events (may be NULL)
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_ERANGE
 * @since 1.0
 */
CHURN_API int churn_km_group_events(const churn_km *km, size_t g, double *n, double *observed,
                                    double *expected);

/**
 * Log-rank test that all groups share one survival curve (Mantel-Haenszel;
 * R's `survdiff(rho = 0)`): chi-square on (groups with expected events) - 1
 * degrees of freedom. With fewer than two such groups the statistic and df
 * are 0 and the p-value 1.
 * @param[out] chisq    test statistic (may be NULL)
 * @param[out] df       degrees of freedom (may be NULL)
 * @param[out] p_value  upper-tail chi-square p-value (may be NULL)
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_ENUMERIC (singular variance)
 * @since 1.0
 */
CHURN_API int churn_km_logrank(const churn_km *km, double *chisq, double *df, double *p_value);

/**@}*/

/* ======================================================================== */
/** @name Concordance */
/**@{*/

/** Indices of the pair counts written by churn_concordance_index(). @since 1.0 */
typedef enum churn_concordance_count {
    CHURN_CONC_CONCORDANT = 0, /**< comparable pairs ordered as the score predicts */
    CHURN_CONC_DISCORDANT = 1, /**< comparable pairs ordered against it */
    CHURN_CONC_TIED_X = 2,     /**< comparable pairs with equal scores */
    CHURN_CONC_TIED_Y = 3,     /**< pairs of events at the same time, different scores */
    CHURN_CONC_TIED_XY = 4,    /**< pairs of events at the same time with equal scores */
    CHURN_CONC_NCOUNTS = 5     /**< length of the counts array */
} churn_concordance_count;

/**
 * Harrell's concordance index (C-index) of a score against censored
 * durations, as R's `concordance()`: over comparable pairs, (concordant +
 * tied_x / 2) / (concordant + discordant + tied_x). A pair (i, j) is
 * comparable when i had the event and duration[i] < duration[j], or the
 * durations are equal and j is censored (a customer censored at t was still
 * at risk at t). Pairs of events at the same time are counted as tied_y /
 * tied_xy and left out. With weights each pair counts w_i * w_j.
 * O(n log n) (balanced binary indexed tree over the ranked scores).
 *
 * @param[in]  n               number of customers
 * @param[in]  duration        n durations (finite, >= 0)
 * @param[in]  event           n event indicators (0/1)
 * @param[in]  score           n scores (finite)
 * @param[in]  weights         n case weights, or NULL
 * @param[in]  score_is_risk   1 when a higher score predicts an earlier event
 *                             (Cox linear predictor, churn probability); 0
 *                             when it predicts a longer lifetime (predicted
 *                             time, AFT linear predictor)
 * @param[out] c_index         the concordance, in [0, 1]; 0.5 when no pair
 *                             is comparable
 * @param[out] counts          ::CHURN_CONC_NCOUNTS weighted pair counts, or NULL
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_ENOMEM
 * @since 1.0
 */
CHURN_API int churn_concordance_index(size_t n, const double *duration, const double *event,
                                      const double *score, const double *weights,
                                      int score_is_risk, double *c_index, double *counts);

/**@}*/

/* ======================================================================== */
/** @name Cox proportional hazards */
/**@{*/

/** Tie handling of the Cox partial likelihood. @since 1.0 */
typedef enum churn_ties {
    CHURN_TIES_EFRON = 0,  /**< Efron (1977): R's default */
    CHURN_TIES_BRESLOW = 1 /**< Breslow (1974) */
} churn_ties;

/**
 * Options for churn_cox_fit(). Initialise with ::CHURN_COX_OPTIONS_INIT or
 * churn_cox_options_init().
 * @since 1.0
 */
typedef struct churn_cox_options {
    size_t struct_size;
    int ties;          /**< a ::churn_ties; default ::CHURN_TIES_EFRON */
    double l2_penalty; /**< ridge penalty theta >= 0 (default 0): the fit maximises
                            loglik - theta/2 * sum_j s_j b_j^2, as R's ridge(theta) */
    int l2_scale;      /**< 0 (default): s_j = 1 (R's ridge(scale = FALSE));
                            1: s_j = sample variance of feature j (ridge(scale = TRUE)) */
    int max_iter;      /**< Newton-Raphson iterations (default 20, R's iter.max) */
    double tol;        /**< convergence: relative change of the log-likelihood
                            (default 1e-9, R's eps) */
    int robust;        /**< 1: the covariance (and SEs, Wald test) is the robust sandwich
                            V (sum w_i^2 L_i L_i') V from the score residuals L_i, one
                            cluster per row, as R's coxph(robust = TRUE) / cluster(id);
                            the model-based one is kept as the array "naive_cov".
                            Default 0. */
} churn_cox_options;

/** Defaults for ::churn_cox_options. @since 1.0 */
#define CHURN_COX_OPTIONS_INIT \
    { sizeof(churn_cox_options), CHURN_TIES_EFRON, 0.0, 0, 20, 1e-9, 0 }

/** Fill `opts` with the defaults (NULL is a no-op). @since 1.0 */
CHURN_API void churn_cox_options_init(churn_cox_options *opts);

/**
 * Fit a Cox proportional-hazards model, as R's
 * `coxph(Surv(duration, event) ~ x, weights = weights, ties = ...)`.
 *
 * Newton-Raphson with step halving on the partial likelihood, from b = 0,
 * with R's stopping rule; each iteration costs O(n p^2) after one sort by
 * duration (risk-set sums accumulated from the latest time backwards).
 * The model stores: coefficients (named after the features), covariance =
 * inverse (penalised) information, maximised log-likelihood (unpenalised,
 * as R's `loglik[2]`), the covariate means, the baseline cumulative hazard
 * at the event times (the Efron- or Breslow-type estimator that matches
 * `ties`, as R's `basehaz`/`survfit`), the LR, Wald and score tests, and the
 * concordance of the linear predictor.
 *
 * @param[out] out            the model (family ::CHURN_FAMILY_COX), NULL on failure
 * @param[in]  n              number of customers
 * @param[in]  p              number of features (>= 1)
 * @param[in]  x              n*p features, row-major
 * @param[in]  feature_names  p names (copied), or NULL for "x1", "x2", ...
 * @param[in]  duration       n durations (finite, >= 0)
 * @param[in]  event          n event indicators (0/1); at least one event
 * @param[in]  weights        n case weights, or NULL
 * @param[in]  opts           options, or NULL for the defaults
 * @return ::CHURN_OK; ::CHURN_EINVAL (bad argument or row, no events, a
 *         constant feature: the message names it); ::CHURN_ENUMERIC
 *         (collinear features or a non-finite likelihood); ::CHURN_ENOCONV
 *         (no convergence in max_iter iterations: the model is still
 *         returned in `*out`, with churn_model_converged() = 0);
 *         ::CHURN_ENOMEM
 * @since 1.0
 */
CHURN_API int churn_cox_fit(churn_model **out, size_t n, size_t p, const double *x,
                            const char *const *feature_names, const double *duration,
                            const double *event, const double *weights,
                            const churn_cox_options *opts);

/** Tests of a Cox fit against b = 0. @since 1.0 */
typedef enum churn_cox_test_kind {
    CHURN_COX_TEST_LR = 0,    /**< likelihood ratio: 2 (loglik - loglik at b = 0) */
    CHURN_COX_TEST_WALD = 1,  /**< Wald: b' V^-1 b */
    CHURN_COX_TEST_SCORE = 2  /**< score (log-rank): U(0)' I(0)^-1 U(0) */
} churn_cox_test_kind;

/**
 * One of the global tests of a Cox fit (R's `summary(coxph)`).
 * @param[in]  test       a ::churn_cox_test_kind
 * @param[out] statistic  chi-square statistic (may be NULL)
 * @param[out] df         degrees of freedom = number of features (may be NULL)
 * @param[out] p_value    upper-tail p-value (may be NULL)
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_EFAMILY
 * @since 1.0
 */
CHURN_API int churn_cox_test(const churn_model *model, int test, double *statistic, double *df,
                             double *p_value);

/**
 * The baseline cumulative hazard at the event times, as R's
 * `basehaz(fit, centered)`: with `centered` = 1 for a customer at the
 * covariate means (R's default), with 0 for all covariates 0.
 * Size query: call with `cap` = 0 (buffers may be NULL) to get `*n`.
 * @param[in]  centered  1 or 0
 * @param[out] times     `cap` doubles: event times, increasing (may be NULL if cap is 0)
 * @param[out] cumhaz    `cap` doubles: cumulative hazard at those times
 * @param[in]  cap       capacity of both buffers
 * @param[out] n         number of event times (may be NULL)
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_EFAMILY, ::CHURN_ERANGE (cap
 *         too small but not 0), ::CHURN_EFORMAT (the model lacks the arrays)
 * @since 1.0
 */
CHURN_API int churn_cox_baseline(const churn_model *model, int centered, double *times,
                                 double *cumhaz, size_t cap, size_t *n);

/**
 * Test of the proportional-hazards assumption from scaled Schoenfeld
 * residuals, as R's `cox.zph(fit, transform = "km")`: one chi-square (1 df)
 * per feature and a global test (p df). Needs the data the model was fitted
 * on (the same rows, weights and options).
 * @param[in]  model     a Cox model from churn_cox_fit()
 * @param[in]  n, x, duration, event, weights  the fitting data
 * @param[out] chisq     p + 1 statistics: features then global
 * @param[out] df        p + 1 degrees of freedom (may be NULL)
 * @param[out] p_value   p + 1 p-values (may be NULL)
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_EFAMILY, ::CHURN_ENUMERIC,
 *         ::CHURN_ENOMEM
 * @since 1.0
 */
CHURN_API int churn_cox_zph(const churn_model *model, size_t n, const double *x,
                            const double *duration, const double *event, const double *weights,
                            double *chisq, double *df, double *p_value);

/**@}*/

/* ======================================================================== */
/** @name Parametric accelerated-failure-time models (R survreg) */
/**@{*/

/**
 * Options for churn_aft_fit(). Initialise with ::CHURN_AFT_OPTIONS_INIT or
 * churn_aft_options_init().
 * @since 1.0
 */
typedef struct churn_aft_options {
    size_t struct_size;
    int max_iter; /**< Newton-Raphson iterations (default 50) */
    double tol;   /**< convergence: relative change of the log-likelihood (default 1e-12) */
} churn_aft_options;

/** Defaults for ::churn_aft_options. @since 1.0 */
#define CHURN_AFT_OPTIONS_INIT { sizeof(churn_aft_options), 50, 1e-12 }

/** Fill `opts` with the defaults (NULL is a no-op). @since 1.0 */
CHURN_API void churn_aft_options_init(churn_aft_options *opts);

/**
 * Fit a parametric accelerated-failure-time model, as R's
 * `survreg(Surv(duration, event) ~ x, dist = ...)`:
 * log T = b0 + x'b + sigma W with W standard extreme-value (Weibull,
 * exponential with sigma = 1), logistic (log-logistic) or normal
 * (log-normal). Maximum likelihood by Newton-Raphson with step halving over
 * (b, log sigma). Parameters: "(Intercept)", the features, "Log(scale)"
 * (absent for the exponential); their covariance is the inverse observed
 * information. The log-likelihood is on the time scale (it includes the
 * -log t Jacobian of the events), as R reports it; the intercept-only
 * log-likelihood is available with churn_surv_loglik_null().
 *
 * @param[out] out       the model, NULL on failure
 * @param[in]  family    ::CHURN_FAMILY_WEIBULL, ::CHURN_FAMILY_EXPONENTIAL,
 *                       ::CHURN_FAMILY_LOGLOGISTIC or ::CHURN_FAMILY_LOGNORMAL
 * @param[in]  n, p, x, feature_names  as churn_cox_fit(); p may be 0
 * @param[in]  duration  n durations (finite, > 0)
 * @param[in]  event     n event indicators (0/1); at least one event
 * @param[in]  weights   n case weights, or NULL
 * @param[in]  opts      options, or NULL for the defaults
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_ENUMERIC, ::CHURN_ENOCONV
 *         (model still returned), ::CHURN_ENOMEM
 * @since 1.0
 */
CHURN_API int churn_aft_fit(churn_model **out, int family, size_t n, size_t p, const double *x,
                            const char *const *feature_names, const double *duration,
                            const double *event, const double *weights,
                            const churn_aft_options *opts);

/**@}*/

/* ======================================================================== */
/** @name Predictions of every survival family (Cox and AFT) */
/**@{*/

/**
 * Per-customer scores at a horizon from a Cox or AFT model.
 *  - survival: S(horizon | x);
 *  - p_churn: 1 - S(horizon | x), the probability of churning before the horizon;
 *  - linear_predictor: for Cox (x - means)'b, centred as R's
 *    `predict(type = "lp")`; for AFT b0 + x'b (the location of log T).
 * Cox survival is exp(-H0(t) exp(lp)) with the stored baseline (a step
 * function: beyond the last event time it stays at its last value).
 * Output pointers may be NULL.
 * @param[in]  model    a fitted Cox or AFT model
 * @param[in]  n        number of customers
 * @param[in]  x        n * p features, row-major, p = churn_model_num_features()
 * @param[in]  horizon  time horizon (finite, >= 0), in the fitting unit
 * @param[out] survival, p_churn, linear_predictor  n values each, or NULL
 * @return ::CHURN_OK, ::CHURN_EINVAL (NULL, non-finite feature: the message
 *         names row and feature), ::CHURN_EFAMILY, ::CHURN_EFORMAT (a loaded
 *         model lacks its arrays)
 * @since 1.0
 */
CHURN_API int churn_surv_predict(const churn_model *model, size_t n, const double *x,
                                 double horizon, double *survival, double *p_churn,
                                 double *linear_predictor);

/**
 * The survival curve S(t | x) of one customer at `nt` times, with the
 * standard error of the cumulative hazard -log S(t | x) (R's `std.err` of
 * `survfit(coxph, newdata)`; for AFT models the delta-method error from
 * the parameter covariance). Confidence limits on the log scale are
 * S exp(-+ z std_err).
 * @param[in]  x         p features of the customer
 * @param[in]  times     nt times (finite, >= 0)
 * @param[out] survival  nt values
 * @param[out] std_err   nt values, or NULL
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_EFAMILY, ::CHURN_EUNSUPPORTED
 *         (std_err asked of a Cox model saved without its variance arrays,
 *         see docs/models/survival.md)
 * @since 1.0
 */
CHURN_API int churn_surv_curve(const churn_model *model, const double *x, size_t nt,
                               const double *times, double *survival, double *std_err);

/**
 * Median lifetime of each customer: the time t where S(t | x) = 1/2. For Cox,
 * the first event time where S(t | x) <= 1/2, +INFINITY when the curve stays
 * above 1/2 ("not reached").
 * @param[out] median  n values
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_EFAMILY
 * @since 1.0
 */
CHURN_API int churn_surv_median(const churn_model *model, size_t n, const double *x,
                                double *median);

/**
 * Mean residual lifetime E[T - h | T > h, x] of customers still active at
 * h = `horizon` (AFT models only). Closed forms: incomplete gamma (Weibull,
 * exponential), incomplete beta (log-logistic; +INFINITY when the scale is
 * >= 1, where the mean does not exist), normal tail (log-normal). A value
 * beyond the largest double is +INFINITY (a Weibull scale above ~171.6 makes
 * Gamma(1 + scale) overflow: its mean is e^b0 Gamma(1 + scale)).
 * @param[out] mrl  n values
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_EFAMILY (Cox: the baseline
 *         hazard ends at the last event time, so the mean is not defined),
 *         ::CHURN_ENUMERIC (an incomplete gamma/beta series did not converge:
 *         row named; never a NaN)
 * @since 1.0
 */
CHURN_API int churn_surv_mean_residual_life(const churn_model *model, size_t n, const double *x,
                                            double horizon, double *mrl);

/**
 * The log-likelihood of the null model: Cox at b = 0 (R's `loglik[1]`),
 * AFT with the intercept (and scale) only (R's `loglik[1]` of survreg).
 * NaN for NULL or another family.
 * @since 1.0
 */
CHURN_API double churn_surv_loglik_null(const churn_model *model);

/**
 * Concordance of the model's predictions on the fitting data (Harrell's C,
 * see churn_concordance_index(); for Cox equal to R's `fit$concordance`).
 * @param[out] c_index  the concordance
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_EFAMILY
 * @since 1.0
 */
CHURN_API int churn_surv_concordance(const churn_model *model, double *c_index);

/**
 * Number of events the model was fitted on (weighted). NaN for NULL or
 * another family.
 * @since 1.0
 */
CHURN_API double churn_surv_num_events(const churn_model *model);

/**@}*/

#ifdef __cplusplus
}
#endif

#endif /* CHURN_SURVIVAL_H */
