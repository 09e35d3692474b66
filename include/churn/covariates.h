/**
 * @file covariates.h
 * @brief BTYD models whose purchase and dropout processes depend on
 *        customer covariates (static, time-invariant): Pareto/NBD, BG/NBD,
 *        MBG/NBD and Gamma-Gompertz/NBD.
 *
 * Each customer i has two covariate vectors, one for the purchase
 * ("trans") process and one for the attrition ("life") process (they may
 * share columns). The covariates scale the processes' rate parameters
 * (Fader & Hardie 2007, "Incorporating time-invariant covariates into the
 * Pareto/NBD and BG/NBD models"; the parametrisation of CLVTools):
 *
 *  - Pareto/NBD: alpha_i = alpha * exp(-gamma_trans' z_trans,i),
 *                beta_i  = beta  * exp(-gamma_life' z_life,i);
 *  - BG/NBD, MBG/NBD: alpha_i = alpha * exp(-gamma_trans' z_trans,i),
 *                a_i = a * exp(gamma_life' z_life,i),
 *                b_i = b * exp(gamma_life' z_life,i);
 *  - Gamma-Gompertz/NBD (r, alpha, b, s, beta; since 1.3 as well):
 *                alpha_i = alpha * exp(-gamma_trans' z_trans,i),
 *                beta_i  = beta  * exp(-gamma_life' z_life,i), r, b, s shared.
 *
 * So a positive trans coefficient raises the expected purchase rate
 * r / alpha_i by the factor exp(gamma); a positive life coefficient raises
 * the Pareto/NBD dropout rate s / beta_i (and the Gamma-Gompertz/NBD mean
 * frailty s / beta_i: faster dropout at every age). With every covariate 0 the model
 * is the plain one. docs/models/covariates.md gives the likelihood, the
 * mapping to CLVTools' coefficient names and the checks behind it.
 *
 * Model handle: a covariate model is a model of the plain family (pnbd,
 * bgnbd, mbgnbd, ggomnbd) with its four (ggomnbd: five) base parameters
 * followed by one coefficient per covariate, named "trans.<name>" and "life.<name>"; its model file has
 * format_version 2 and a "covariates" field (docs/model-format.md). The
 * plain prediction functions of btyd.h refuse it (they would ignore the
 * covariates): score it with churn_btyd_score_covariates().
 *
 * Threading: no global state; a fitted model may be shared by threads.
 */
#ifndef CHURN_COVARIATES_H
#define CHURN_COVARIATES_H

#include "btyd.h"
#include "common.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The covariates of n customers, borrowed from the caller (nothing is
 * copied or kept after the call returns). Matrices are column-major: the
 * value of covariate j for customer i is trans[j * n + i]. Every value must
 * be finite. Names are required, unique within a process, and what the
 * fitted model records (and what scoring matches by).
 * Initialise with CHURN_BTYD_COVARIATES_INIT or churn_btyd_covariates_init().
 * @since 1.3
 */
typedef struct churn_btyd_covariates {
    size_t struct_size;             /**< sizeof(churn_btyd_covariates) */
    size_t n_trans;                 /**< covariates of the purchase process (may be 0) */
    const double *trans;            /**< n x n_trans, column-major */
    const char *const *trans_names; /**< n_trans names */
    size_t n_life;                  /**< covariates of the attrition process (may be 0) */
    const double *life;             /**< n x n_life, column-major */
    const char *const *life_names;  /**< n_life names */
} churn_btyd_covariates;

/** Static initialiser for ::churn_btyd_covariates (no covariates). @since 1.3 */
#define CHURN_BTYD_COVARIATES_INIT { sizeof(churn_btyd_covariates), 0, NULL, NULL, 0, NULL, NULL }

/** Fill `cov` with no covariates. NULL is a no-op. Thread-safe. @since 1.3 */
CHURN_API void churn_btyd_covariates_init(churn_btyd_covariates *cov);

/**
 * Options of churn_btyd_fit_covariates(). Initialise with
 * CHURN_BTYD_COV_OPTIONS_INIT or churn_btyd_cov_options_init().
 * @since 1.3
 */
typedef struct churn_btyd_cov_options {
    size_t struct_size;     /**< sizeof(churn_btyd_cov_options) */
    double l2_trans;        /**< L2 penalty lambda_trans >= 0: the fit maximises
                                 LL - lambda_trans * sum(gamma_trans^2) - lambda_life *
                                 sum(gamma_life^2) (sums over coefficients, LL the total
                                 log-likelihood; default 0) */
    double l2_life;         /**< L2 penalty of the life coefficients (default 0) */
    size_t n_shared;        /**< names present in both processes whose coefficient is
                                 constrained to be the same in both (default 0) */
    const char *const *shared; /**< n_shared names */
    int max_iter;           /**< Newton iterations (default 200) */
    double tol;             /**< convergence: largest gradient component of the penalised
                                 mean log-likelihood (default 1e-9) */
    int no_std_errors;      /**< 1: skip standard errors (default 0) */
} churn_btyd_cov_options;

/** Static initialiser for ::churn_btyd_cov_options (defaults). @since 1.3 */
#define CHURN_BTYD_COV_OPTIONS_INIT { sizeof(churn_btyd_cov_options), 0.0, 0.0, 0, NULL, 0, 0.0, 0 }

/** Fill `opts` with the defaults. NULL is a no-op. Thread-safe. @since 1.3 */
CHURN_API void churn_btyd_cov_options_init(churn_btyd_cov_options *opts);

/**
 * Log-likelihood of a covariate model at given parameters, and its
 * gradient: the sum over customers of w_i log L_i with the customer's
 * parameters given by the covariates (see the file comment).
 * @param[in]  family   ::CHURN_FAMILY_PNBD, ::CHURN_FAMILY_BGNBD, ::CHURN_FAMILY_MBGNBD or
 *                      ::CHURN_FAMILY_GGOMNBD
 * @param[in]  nparams  4 (GGOMNBD: 5) + cov->n_trans + cov->n_life
 * @param[in]  params   the base parameters (natural scale, > 0), then the
 *                      trans coefficients, then the life coefficients
 * @param[in]  n        customers
 * @param[in]  frequency, recency, T  histories as in churn_btyd_fit()
 * @param[in]  weights  n weights >= 0, or NULL for 1
 * @param[in]  cov      the covariates (NULL: none)
 * @param[out] loglik   the log-likelihood
 * @param[out] gradient nparams derivatives (base parameters on the natural
 *                      scale, coefficients as they are), or NULL
 * @return ::CHURN_OK; ::CHURN_EINVAL (NULL, a bad row, weight, covariate value
 *         or parameter, named); ::CHURN_EFAMILY; ::CHURN_ENUMERIC (not finite
 *         at these parameters). Allocates nothing. Thread-safe.
 * @since 1.3
 */
CHURN_API int churn_btyd_loglik_covariates(int family, size_t nparams, const double *params,
                                           size_t n, const double *frequency,
                                           const double *recency, const double *T,
                                           const double *weights,
                                           const churn_btyd_covariates *cov, double *loglik,
                                           double *gradient);

/**
 * Fit a covariate model by maximum likelihood (Newton's method on the
 * log base parameters and the coefficients, with the exact Hessian
 * assembled from each customer's; the start is the plain model's fit with
 * every coefficient 0, on 32,768 customers or more the optimum of a 1/8
 * subsample; one more Newton step after convergence, so the result does not
 * depend on the path). Standard errors and the covariance of all
 * parameters (base parameters on the natural scale) come from the inverse
 * of the negative Hessian of the penalised log-likelihood at the optimum.
 * @param[out] out      the fitted model (free with churn_model_free()); NULL on error
 * @param[in]  family   ::CHURN_FAMILY_PNBD, ::CHURN_FAMILY_BGNBD, ::CHURN_FAMILY_MBGNBD or
 *                      ::CHURN_FAMILY_GGOMNBD (whose likelihood is a quadrature per
 *                      customer: ~1 min of CPU on 100,000 customers)
 * @param[in]  n        customers
 * @param[in]  frequency, recency, T  histories (time unit of the caller's choosing)
 * @param[in]  weights  n weights >= 0, or NULL
 * @param[in]  cov      the covariates (required; may hold none)
 * @param[in]  opts     options, or NULL for the defaults
 * @return ::CHURN_OK; ::CHURN_EINVAL (NULL, bad rows, a non-finite covariate
 *         naming customer and covariate, duplicate or missing names, a shared
 *         name not in both processes, a covariate that is constant 0 for
 *         every customer); ::CHURN_EFAMILY; ::CHURN_ENOCONV (the message
 *         names what did not converge; the model is still returned in *out
 *         with converged = 0 when a finite point was reached);
 *         ::CHURN_ENOMEM. Thread-safe.
 * @since 1.3
 */
CHURN_API int churn_btyd_fit_covariates(churn_model **out, int family, size_t n,
                                        const double *frequency, const double *recency,
                                        const double *T, const double *weights,
                                        const churn_btyd_covariates *cov,
                                        const churn_btyd_cov_options *opts);

/**
 * MBG/CNBD-k (churn_mbgcnbd_fit(), btyd.h) with static covariates: the trans
 * covariates scale alpha_i = alpha exp(-g_t' z_t) and the life covariates
 * a_i = a exp(g_l' z_l), b_i = b exp(g_l' z_l), as for MBG/NBD; k is shared by
 * every customer. With k >= 1 it is fixed; with k = 0 the covariate model is
 * fitted for every k in 1..::CHURN_MBGCNBD_KMAX and the converged fit of the
 * largest log-likelihood is returned (its note lists every k's). The model's
 * parameters are k, r, alpha, a, b, then trans.<name> and life.<name>; k's
 * variance is 0. The log-likelihood includes sum_i w_i [(k-1) litt_i - x_i
 * log((k-1)!)], as churn_mbgcnbd_fit()'s. Scoring, CLV, intervals and the model
 * file work as for the other covariate families (churn_btyd_score_covariates(),
 * ...). Options as churn_btyd_fit_covariates() (L2 penalties, shared
 * coefficients).
 * @param[out] out     the fitted model (also set, not converged, on ::CHURN_ENOCONV)
 * @param[in]  k       1..::CHURN_MBGCNBD_KMAX, or 0 to choose k by likelihood
 * @param[in]  n, frequency, recency, T, weights  as churn_btyd_fit_covariates()
 * @param[in]  litt    n sums of log inter-purchase times (NULL allowed only when k = 1)
 * @param[in]  cov     the customers' covariates
 * @param[in]  opts    options or NULL
 * @return as churn_btyd_fit_covariates() (a bad 'litt' or k named). Thread-safe.
 * Cost: one covariate fit per k tried (12 with k = 0).
 * @since 1.3
 */
CHURN_API int churn_mbgcnbd_fit_covariates(churn_model **out, int k, size_t n,
                                           const double *frequency, const double *recency,
                                           const double *T, const double *litt,
                                           const double *weights,
                                           const churn_btyd_covariates *cov,
                                           const churn_btyd_cov_options *opts);


/**
 * Number of covariates of a model: trans in *n_trans, life in *n_life
 * (either may be NULL). 0 and 0 for a plain model.
 * @return ::CHURN_OK, ::CHURN_EINVAL (NULL model). Thread-safe.
 * @since 1.3
 */
CHURN_API int churn_btyd_model_covariates(const churn_model *model, size_t *n_trans,
                                          size_t *n_life);

/**
 * P(alive) and the conditional expected number of purchases in (T, T + t]
 * of a covariate model, each customer with its own covariates. The
 * covariates are matched to the model's by name within each process;
 * every covariate of the model must be given (extra columns are ignored).
 * A plain model is scored as by churn_btyd_score() (cov may then be NULL).
 * @param[in]  model      a covariate (or plain) Pareto/NBD, BG/NBD, MBG/NBD or
 *                        Gamma-Gompertz/NBD model
 * @param[in]  t          horizon, finite >= 0, in the model's time unit
 * @param[in]  n          customers
 * @param[in]  frequency, recency, T  histories
 * @param[in]  cov        their covariates
 * @param[out] p_alive    n values, or NULL
 * @param[out] expected   n values, or NULL
 * @return ::CHURN_OK; ::CHURN_EINVAL (NULL, a missing covariate named, a
 *         non-finite value naming customer and covariate, bad rows);
 *         ::CHURN_EFAMILY; ::CHURN_ENUMERIC (row named). Allocates nothing.
 *         Thread-safe.
 * @since 1.3
 */
CHURN_API int churn_btyd_score_covariates(const churn_model *model, double t, size_t n,
                                          const double *frequency, const double *recency,
                                          const double *T, const churn_btyd_covariates *cov,
                                          double *p_alive, double *expected);

/**
 * New-customer forecasts of a covariate model: E[X(t)], the expected number of
 * purchases in (0, t] of a customer acquired now (t time units after the first
 * purchase), for n prospective customers with their own covariates (matched by name
 * as in churn_btyd_score_covariates()). With a plain model (cov may then be NULL or
 * hold no covariate the model needs) the same for every row: the plain model's
 * churn_btyd_expected_purchases_new() at horizon t. For their CLV, multiply by a
 * Gamma-Gamma mean spend or use the discounted sums of spend.h.
 * @param[in]  model     a covariate (or plain) Pareto/NBD, BG/NBD, MBG/NBD or
 *                       Gamma-Gompertz/NBD model
 * @param[in]  t         horizon, finite >= 0, in the model's time unit
 * @param[in]  n         prospective customers
 * @param[in]  cov       their covariates
 * @param[out] expected  n values
 * @return ::CHURN_OK; ::CHURN_EINVAL (NULL, a missing covariate named, a
 *         non-finite value naming row and covariate, a bad horizon);
 *         ::CHURN_EFAMILY; ::CHURN_ENUMERIC (row named). Allocates nothing.
 *         Thread-safe.
 * @since 1.3
 */
CHURN_API int churn_btyd_expected_new_covariates(const churn_model *model, double t, size_t n,
                                                 const churn_btyd_covariates *cov,
                                                 double *expected);

/**
 * Each customer's own base parameters under a covariate model: the plain
 * family's parameters at which the customer is scored (Pareto/NBD: r, alpha_i,
 * s, beta_i; BG/NBD and MBG/NBD: r, alpha_i, a_i, b_i; Gamma-Gompertz/NBD: r,
 * alpha_i, b, s, beta_i), as the file comment defines them. Lets a caller hand
 * a customer to any plain-model function (churn_btyd_model_new() with these
 * values), and is what churn_clv_score_covariates() (spend.h) does.
 * Covariates are matched by name as in churn_btyd_score_covariates().
 * @param[in]  model   a covariate (or plain) Pareto/NBD, BG/NBD, MBG/NBD or
 *                     Gamma-Gompertz/NBD model
 * @param[in]  n       customers
 * @param[in]  cov     their covariates
 * @param[out] params  n x nb values, column-major (params[j * n + i] is base
 *                     parameter j of customer i), nb = churn_model_num_params()
 *                     minus the model's covariates (4, or 5 for Gamma-Gompertz/NBD)
 * @return ::CHURN_OK; ::CHURN_EINVAL (NULL, a missing covariate named, a
 *         non-finite value naming row and covariate); ::CHURN_EFAMILY;
 *         ::CHURN_ENUMERIC (a parameter scaled to 0 or infinity, row named).
 *         Allocates nothing. Thread-safe.
 * @since 1.3
 */
CHURN_API int churn_btyd_customer_params_covariates(const churn_model *model, size_t n,
                                                    const churn_btyd_covariates *cov,
                                                    double *params);

/* ============================================================================== * Time-varying (dynamic) covariates: Pareto/NBD (Bachmann, Meierer & Naef 2021).
 * docs/models/dyncov.md gives the likelihood, the conventions and the mapping to
 * CLVTools' SetDynamicCovariates / pnbd().
 * ===================================================================================== */

/**
 * Time-varying covariates of n customers on a calendar period grid, borrowed from
 * the caller (nothing is kept after the call). Covariates are piecewise constant:
 * period p is [boundaries[p], boundaries[p+1]). Customer i's purchase rate at
 * calendar time u is lambda_i * exp(g_trans' z_trans,i(u)) and its dropout hazard
 * mu_i * exp(g_life' z_life,i(u)), lambda ~ Gamma(r, alpha), mu ~ Gamma(s, beta);
 * a covariate constant in time gives the static model of churn_btyd_fit_covariates
 * (alpha_i = alpha exp(-g_trans' z), beta_i = beta exp(-g_life' z)).
 *
 * Calendar times (boundaries, birth) are in the model's time unit from any origin
 * (e.g. weeks since 1970-01-01); customer i's history (frequency, recency, T of the
 * calling function) starts at birth[i], its first purchase, so its span is
 * [birth[i], birth[i] + T[i]] (plus the horizon when scoring) and must lie inside
 * [boundaries[0], boundaries[n_periods]].
 *
 * Value of trans covariate j for customer i in period p: trans[(j * n_periods + p) * n + i]
 * (life the same). Only the periods a customer's span overlaps (and those holding its
 * counted purchases) are read, and those values must be finite; other cells may hold
 * anything (NaN included). At most 16 covariates per process.
 * Initialise with CHURN_BTYD_DYNCOV_INIT or churn_btyd_dyncov_init().
 * @since 1.3
 */
typedef struct churn_btyd_dyncov {
    size_t struct_size;         /**< sizeof(churn_btyd_dyncov) */
    size_t n_periods;           /**< periods of the grid (>= 1) */
    const double *boundaries;   /**< n_periods + 1 strictly ascending calendar times */
    const double *birth;        /**< n calendar times of the customers' first purchases */
    const double *counts;       /**< n x n_periods, column-major (counts[p * n + i]): repeat
                                     purchases of customer i in period p, whole numbers >= 0
                                     summing to its frequency, the last non-zero period holding
                                     birth + recency; needed by the fit and the log-likelihood,
                                     not by scoring (may be NULL there) */
    size_t n_trans;             /**< covariates of the purchase process (may be 0) */
    const double *trans;        /**< n x n_periods x n_trans values (layout above) */
    const char *const *trans_names; /**< n_trans names, unique */
    size_t n_life;              /**< covariates of the attrition process (may be 0) */
    const double *life;         /**< n x n_periods x n_life values */
    const char *const *life_names;  /**< n_life names, unique */
} churn_btyd_dyncov;

/** Static initialiser for ::churn_btyd_dyncov (empty). @since 1.3 */
#define CHURN_BTYD_DYNCOV_INIT \
    { sizeof(churn_btyd_dyncov), 0, NULL, NULL, NULL, 0, NULL, NULL, 0, NULL, NULL }

/** Fill `dc` with an empty grid and no covariates. NULL is a no-op. Thread-safe. @since 1.3 */
CHURN_API void churn_btyd_dyncov_init(churn_btyd_dyncov *dc);

/**
 * Log-likelihood of the Pareto/NBD with time-varying covariates, and its gradient:
 * the sum over customers of w_i log L_i (docs/models/dyncov.md). With every
 * coefficient 0 it is the plain Pareto/NBD log-likelihood of churn_btyd_loglik().
 * @param[in]  nparams  4 + dc->n_trans + dc->n_life
 * @param[in]  params   r, alpha, s, beta (natural scale, > 0), then the trans
 *                      coefficients, then the life coefficients
 * @param[in]  n        customers
 * @param[in]  frequency, recency, T  histories in the grid's time unit
 * @param[in]  weights  n weights >= 0, or NULL for 1
 * @param[in]  dc       the grid, births, per-period counts and covariates (required)
 * @param[out] loglik   the log-likelihood
 * @param[out] gradient nparams derivatives (base parameters on the natural scale), or NULL
 * @return ::CHURN_OK; ::CHURN_EINVAL (NULL; a grid not ascending; a customer's span
 *         outside the grid; counts not whole, outside the span, not summing to the
 *         frequency or not ending in the period of the last purchase; a non-finite
 *         covariate — each naming row, period and column); ::CHURN_ENUMERIC (row named).
 *         Thread-safe.
 * @since 1.3
 */
CHURN_API int churn_pnbd_dyncov_loglik(size_t nparams, const double *params, size_t n,
                                       const double *frequency, const double *recency,
                                       const double *T, const double *weights,
                                       const churn_btyd_dyncov *dc, double *loglik,
                                       double *gradient);

/**
 * Fit the Pareto/NBD with time-varying covariates by maximum likelihood: Newton's
 * method on (log r, log alpha, log s, log beta, coefficients) with the exact
 * Hessian, from the plain Pareto/NBD fit with every coefficient 0. Standard errors
 * and the covariance come from the inverse negative Hessian at the optimum. The
 * options are those of churn_btyd_fit_covariates() (L2 penalties, shared
 * coefficients, max_iter, tol, no_std_errors).
 *
 * The model is a 'pnbd' model with coefficients "trans.<name>" and "life.<name>"
 * and the array "covariates_dynamic" = [1] (model file format 2): the plain and the
 * static-covariate scoring functions refuse it; score it with churn_pnbd_dyncov_score().
 * @param[out] out   the model (free with churn_model_free()); NULL on error
 * @param[in]  n, frequency, recency, T, weights  as in churn_pnbd_dyncov_loglik()
 * @param[in]  dc    grid, births, counts, covariates (required)
 * @param[in]  opts  options, or NULL for the defaults
 * @return ::CHURN_OK; ::CHURN_EINVAL (as churn_pnbd_dyncov_loglik(), and a covariate
 *         with one non-zero value for every customer and period); ::CHURN_ENOCONV (the
 *         message says what did not converge; the model is still returned with
 *         converged = 0); ::CHURN_ENUMERIC; ::CHURN_ENOMEM. Thread-safe.
 * @since 1.3
 */
CHURN_API int churn_pnbd_dyncov_fit(churn_model **out, size_t n, const double *frequency,
                                    const double *recency, const double *T,
                                    const double *weights, const churn_btyd_dyncov *dc,
                                    const churn_btyd_cov_options *opts);

/**
 * P(alive at T) and the conditional expected number of purchases in (T, T + t] of
 * a Pareto/NBD with time-varying covariates, using the covariates of the periods
 * after T for the forecast:
 * E = P(alive) (r + x)/(alpha + Lambda(T)) int_T^{T+t} w(u) ((beta + M(T))/(beta + M(u)))^s du.
 * Covariates are matched to the model's by name (extra columns are ignored); counts
 * are not needed. A plain Pareto/NBD model is scored as such (every coefficient 0).
 * The grid must reach birth + T + t for every customer.
 * @param[in]  model   from churn_pnbd_dyncov_fit() (or a plain 'pnbd' model)
 * @param[in]  t       horizon, finite >= 0
 * @param[in]  n, frequency, recency, T  histories
 * @param[in]  dc      grid, births and covariates
 * @param[out] p_alive, expected  n values each, or NULL
 * @return ::CHURN_OK; ::CHURN_EFAMILY; ::CHURN_EINVAL (a static-covariate model, a
 *         missing covariate, bad rows or grid, named); ::CHURN_ENUMERIC (row named);
 *         ::CHURN_ENOMEM. Thread-safe.
 * @since 1.3
 */
CHURN_API int churn_pnbd_dyncov_score(const churn_model *model, double t, size_t n,
                                      const double *frequency, const double *recency,
                                      const double *T, const churn_btyd_dyncov *dc,
                                      double *p_alive, double *expected);

/**
 * New-customer forecast of a Pareto/NBD with time-varying covariates: E[X(t)], the
 * expected purchases in (0, t] after a first purchase at calendar time dc->birth[i],
 * E = r/alpha int_0^t w(u) (beta/(beta + M(u)))^s du, with the covariates of the
 * periods the horizon covers.
 * @param[in]  model     as for churn_pnbd_dyncov_score()
 * @param[in]  t         horizon, finite >= 0
 * @param[in]  n         prospective customers
 * @param[in]  dc        grid, births (acquisition times) and covariates
 * @param[out] expected  n values
 * @return as churn_pnbd_dyncov_score(). Thread-safe.
 * @since 1.3
 */
CHURN_API int churn_pnbd_dyncov_expected_new(const churn_model *model, double t, size_t n,
                                             const churn_btyd_dyncov *dc, double *expected);
/**
 * churn_btyd_predict_interval() for a covariate model: P(alive) and the
 * conditional expected number of purchases in (T, T + t] of each customer at
 * its own parameters (its covariates matched by name as in
 * churn_btyd_score_covariates()), each with a delta-method interval of
 * coverage `level` from the covariance of every fitted parameter: the four
 * base parameters and all the coefficients.
 *
 * The gradient is taken by central differences in (log base parameters,
 * coefficients), step 1e-4, and the interval built on the logit scale for
 * P(alive) and the log scale for E[X], as churn_btyd_predict_interval() does
 * (docs/models/intervals.md, "Covariate models"). A plain model (cov may then
 * be NULL) gives churn_btyd_predict_interval()'s limits to within the
 * differencing error. The point predictions are churn_btyd_score_covariates()'s
 * bit for bit.
 *
 * Cost: 2 k + 1 scoring passes (k = 4 + coefficients), in blocks of 256
 * customers; memory 2 n + (2 k + 4 + covariates) x 256 doubles.
 * @param[in]  model      a covariate (or plain) Pareto/NBD, BG/NBD or MBG/NBD model
 *                        with a covariance matrix
 * @param[in]  t          horizon, finite >= 0, in the model's time unit
 * @param[in]  level      interval coverage, strictly between 0 and 1
 * @param[in]  n          customers
 * @param[in]  frequency, recency, T  histories
 * @param[in]  cov        their covariates (as churn_btyd_score_covariates())
 * @param[out] p_alive, p_alive_lo, p_alive_hi      n values each, or NULL
 * @param[out] expected, expected_lo, expected_hi   n values each, or NULL
 *                        (at least one output when n > 0)
 * @return ::CHURN_OK; ::CHURN_EINVAL (NULL, level outside (0, 1), every output
 *         NULL, and what churn_btyd_score_covariates() refuses: a missing
 *         covariate, a non-finite value, a bad row, named); ::CHURN_EFAMILY;
 *         ::CHURN_EUNSUPPORTED (no covariance matrix: a model built from given
 *         parameters or fitted without standard errors); ::CHURN_EFORMAT (a
 *         non-finite covariance entry or a negative variance, named);
 *         ::CHURN_ENUMERIC (row or rows named); ::CHURN_ENOMEM. Thread-safe.
 * @since 1.3
 */
CHURN_API int churn_btyd_predict_interval_covariates(
    const churn_model *model, double t, double level, size_t n, const double *frequency,
    const double *recency, const double *T, const churn_btyd_covariates *cov, double *p_alive,
    double *p_alive_lo, double *p_alive_hi, double *expected, double *expected_lo,
    double *expected_hi);

/**
 * churn_btyd_bootstrap_interval() for a model with static covariates: the n_fit
 * customers the model was fitted to are resampled with replacement, each with its
 * covariate row; the model is refitted to each resample with
 * churn_btyd_fit_covariates() (the model's family, `fit_opts` with standard errors
 * skipped); the n scored customers are predicted at their own parameters with every
 * refit (churn_btyd_score_covariates()); the limits are the (1 - level)/2 and
 * (1 + level)/2 percentiles of those predictions. Seeded and threaded as
 * churn_btyd_bootstrap_interval(): the limits depend on opts->seed only.
 *
 * @param[in]  model      a Pareto/NBD, BG/NBD, MBG/NBD or Gamma-Gompertz/NBD model
 *                        fitted with churn_btyd_fit_covariates()
 * @param[in]  n_fit      fitting customers (>= 2)
 * @param[in]  frequency_fit, recency_fit, T_fit  their histories
 * @param[in]  cov_fit    their covariates: the model's trans and life covariates, by
 *                        name and in the model's order (n_fit rows, column-major)
 * @param[in]  fit_opts   the options the model was fitted with (L2 penalties, shared
 *                        coefficients, iterations), or NULL for the defaults; a
 *                        different penalty or constraint refits a different model
 * @param[in]  t          horizon, finite >= 0, in the model's time unit
 * @param[in]  n          scored customers
 * @param[in]  frequency, recency, T  their histories
 * @param[in]  cov        their covariates, matched by name (churn_btyd_score_covariates())
 * @param[in]  opts       resamples, seed, threads, level (churn_bootstrap_options), or NULL
 * @param[out] p_alive_lo, p_alive_hi, expected_lo, expected_hi  n values each, or NULL
 * @param[out] failed     resamples left out because their refit or scores failed, or NULL
 * @return ::CHURN_OK; ::CHURN_EINVAL (NULL, a bad option, a bad row, a covariate of
 *         `cov_fit` that is not the model's or not finite, a missing covariate of
 *         `cov`: each named); ::CHURN_EFAMILY; ::CHURN_ENOCONV (half the resamples or
 *         more could not be refitted); ::CHURN_ENOMEM. Thread-safe.
 * Cost: `resamples` covariate fits of n_fit customers; memory 2 x resamples x n
 * doubles plus (3 + covariates) x n_fit per thread.
 * @since 1.3
 */
CHURN_API int churn_btyd_bootstrap_interval_covariates(
    const churn_model *model, size_t n_fit, const double *frequency_fit,
    const double *recency_fit, const double *T_fit, const churn_btyd_covariates *cov_fit,
    const churn_btyd_cov_options *fit_opts, double t, size_t n, const double *frequency,
    const double *recency, const double *T, const churn_btyd_covariates *cov,
    const churn_bootstrap_options *opts, double *p_alive_lo, double *p_alive_hi,
    double *expected_lo, double *expected_hi, size_t *failed);

#ifdef __cplusplus
}
#endif

#endif /* CHURN_COVARIATES_H */
