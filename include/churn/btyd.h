/**
 * @file churn/btyd.h
 * @brief Buy-till-you-die models: BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gompertz/NBD
 *        (non-contractual, continuous time), BG/BB (discrete opportunities) and the shifted
 *        beta-geometric sBG (contractual).
 *
 * Data follow lifetimes' definitions (customers.h): `frequency` x = number of
 * repeat purchase periods, `recency` t_x = time from first to last purchase,
 * `T` = time from first purchase to the end of calibration, all in one time
 * unit (weeks for the published CDNOW fits). For BG/BB, T is the number of
 * transaction opportunities n and recency the opportunity of the last
 * transaction (whole numbers, x ≤ t_x ≤ n). Every time argument of the
 * prediction functions (horizons `t`) is in the unit of the data the model
 * was fitted on (churn_model_time_unit() records it when known).
 *
 * Parameters, in the order of churn_model_param_name():
 *  - BG/NBD, MBG/NBD: r, alpha (purchase rate ~ Gamma(r, alpha)), a, b
 *    (dropout probability after a purchase ~ Beta(a, b));
 *  - Pareto/NBD: r, alpha (rate), s, beta (dropout rate ~ Gamma(s, beta));
 *  - Gamma-Gompertz/NBD (since 1.3; Bemmaor & Glady 2012, CLVTools' names):
 *    r, alpha (rate), b (Gompertz scale, per time unit), s, beta (the
 *    Gompertz eta ~ Gamma(s, beta)); lifetime survival
 *    S(t) = (beta / (beta - 1 + e^(b t)))^s. Its likelihood and predictions
 *    integrate over the lifetime by adaptive quadrature (docs/models/ggomnbd.md):
 *    10-100 times slower than Pareto/NBD.
 *  - BG/BB: alpha, beta (transaction probability), gamma, delta (dropout probability);
 *  - sBG: alpha, beta (churn probability per period ~ Beta(alpha, beta)).
 * Formulas, references and the penalty are documented in docs/models/btyd.md.
 *
 * Rows are validated before any computation: a bad row gives ::CHURN_EINVAL
 * and a message naming the (0-based) row and the column ('frequency',
 * 'recency', 'T', 'weights'). Valid input never gives NaN: either a finite
 * result or ::CHURN_ENUMERIC naming the row.
 *
 * Threading: fits are independent and may run concurrently; a fitted model is
 * immutable and predictions may run concurrently from many threads. No
 * function keeps state between calls.
 */
#ifndef CHURN_BTYD_H
#define CHURN_BTYD_H

#include "common.h"
#include <stdint.h>
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Default of churn_btyd_options.max_evaluations: likelihood evaluations of
 *  one fit, all starting points together. @since 1.2 */
#define CHURN_BTYD_DEFAULT_MAX_EVALUATIONS 2000

/**
 * Fitting options for every BTYD family and sBG. Initialise with
 * CHURN_BTYD_OPTIONS_INIT or churn_btyd_options_init(). Zero means "default"
 * for every numeric field.
 *
 * Bounded cost: a fit evaluates the log-likelihood (with its gradient, and
 * its Hessian where the family has an analytic one) at most
 * `max_evaluations` times, over all starting points, finite-difference
 * Hessians and line searches included, and stops at the next evaluation
 * after `max_seconds` seconds when that is set. One evaluation costs time
 * proportional to the number of distinct (x, t_x, T) rows. Reaching either
 * cap ends the fit with ::CHURN_ENOCONV and the best point found so far in
 * the model (the message names the cap). The standard errors of a
 * converged fit take at most 2k + 2 further evaluations (k parameters).
 *
 * The fields from `max_seconds` on were appended in 1.2: a program built
 * against 1.0 headers passes the shorter struct and gets their defaults.
 * @since 1.0
 */
typedef struct churn_btyd_options {
    size_t struct_size;  /**< sizeof(churn_btyd_options), set by the initialisers */
    int max_iter;        /**< Newton iterations per starting point (default 500) */
    double tol;          /**< convergence tolerance on the largest gradient component of
                              the (penalised) mean log-likelihood with respect to the
                              log-parameters (default 1e-10) */
    double l2_penalty;   /**< L2 penalty on the log-parameters, see churn_btyd_fit() (default 0) */
    int no_std_errors;   /**< 1: skip the Hessian and standard errors (default 0: compute them) */
    double max_seconds;  /**< time limit of the optimiser in seconds of the monotonic clock
                              (wall time, CLOCK_MONOTONIC), checked before every likelihood
                              evaluation; 0 = no limit (default). @since 1.2 */
    int max_evaluations; /**< most likelihood evaluations of one fit, all starting points
                              together (default ::CHURN_BTYD_DEFAULT_MAX_EVALUATIONS, 2000;
                              converged fits of the test data need at most ~65). @since 1.2 */
} churn_btyd_options;

/** Static initialiser for ::churn_btyd_options (all defaults). @since 1.0 */
#define CHURN_BTYD_OPTIONS_INIT { sizeof(churn_btyd_options), 0, 0.0, 0.0, 0, 0.0, 0 }

/**
 * Fill `opts` with the defaults (max_iter 500, tol 1e-10, no penalty,
 * standard errors on, max_seconds 0 = no time limit, max_evaluations
 * ::CHURN_BTYD_DEFAULT_MAX_EVALUATIONS). NULL is a no-op. Thread-safe.
 *
 * The struct grew in 1.2: programs linked against 1.0 bind to the
 * `churn_btyd_options_init@CHURN_1.0` symbol version, which writes only the
 * 1.0 prefix of the struct (and sets struct_size to its size).
 * @since 1.0
 */
CHURN_API void churn_btyd_options_init(churn_btyd_options *opts);

/**
 * Fit a non-contractual BTYD model by maximum likelihood.
 *
 * Identical (x, t_x, T) rows are merged into weights first. The weighted
 * log-likelihood is maximised over the log-parameters theta = log(params)
 * by damped Newton iterations (analytic gradient; analytic Hessian for
 * BG/NBD and MBG/NBD, finite differences of the analytic gradient otherwise)
 * from several scale-free starting points. The objective is
 * @code
 *   f(theta) = (1/W) sum_i w_i log L_i(exp(theta)) - l2_penalty * sum_j theta_j^2,
 * @endcode
 * W = total weight: the penalty acts on the mean log-likelihood, so its
 * strength does not depend on the number of customers, and it shrinks every
 * parameter towards 1. Standard errors and the covariance (churn_model_std_errors(),
 * churn_model_covariance()) are the inverse observed information in theta,
 * carried to the natural scale by the delta method; they are not reported
 * for penalised fits (l2_penalty > 0), when the fit did not converge, or with
 * `no_std_errors`. The reported log-likelihood is the unpenalised total
 * sum_i w_i log L_i; nobs is W. The model's time unit is left at 0 (unknown):
 * record it with churn_model_set_time_unit().
 *
 * @param[out] out        the fitted model, freed with churn_model_free(); NULL on
 *                        failure other than ::CHURN_ENOCONV
 * @param[in]  family     ::CHURN_FAMILY_BGNBD, ::CHURN_FAMILY_MBGNBD, ::CHURN_FAMILY_PNBD,
 *                        ::CHURN_FAMILY_BGBB or (since 1.3) ::CHURN_FAMILY_GGOMNBD
 * @param[in]  n          number of rows (customers, or patterns when weighted), > 0
 * @param[in]  frequency  n repeat-purchase counts x, whole numbers ≥ 0
 * @param[in]  recency    n recencies 0 ≤ t_x ≤ T (t_x = 0 when x = 0; BG/BB: whole
 *                        numbers with x ≤ t_x)
 * @param[in]  T          n ages T > 0 (BG/BB: whole number of opportunities ≥ 1)
 * @param[in]  weights    n row weights ≥ 0 (number of customers with that row), or NULL
 *                        for 1 each; the total must be > 0
 * @param[in]  opts       options or NULL for the defaults
 * @return ::CHURN_OK; ::CHURN_EINVAL naming the first bad row and column (or
 *         option); ::CHURN_ENOCONV when the optimiser did not converge, stalled
 *         (the objective no longer decreases beyond its rounding), hit a cap of
 *         its budget (`max_evaluations`, `max_seconds`: the message names it), or
 *         a parameter is not identified by the data (runs off to 0 or infinity,
 *         or a flat likelihood) — the model is still returned in *out with
 *         converged = 0 and the best point the optimiser evaluated, so the caller
 *         can inspect it, and the message names the parameters that run off;
 *         ::CHURN_ENUMERIC when the likelihood cannot be evaluated anywhere;
 *         ::CHURN_EUNSUPPORTED (family not built); ::CHURN_ENOMEM
 * Thread-safe.
 * @since 1.0
 */
CHURN_API int churn_btyd_fit(churn_model **out, int family, size_t n, const double *frequency,
                             const double *recency, const double *T, const double *weights,
                             const churn_btyd_options *opts);

/** The largest k of churn_mbgcnbd_fit(). @since 1.3 */
#define CHURN_MBGCNBD_KMAX 12

/**
 * Fit MBG/CNBD-k (Reutterer, Platzer & Schröder 2021; BTYDplus' `mbgcnbd`):
 * while alive a customer's inter-purchase times are Erlang-k with rate lambda
 * ~ Gamma(r, alpha) (k = 1: exponential), and after every purchase, the first
 * included, the customer drops out with probability p ~ Beta(a, b); k = 1 is
 * MBG/NBD. The model's parameters are k, r, alpha, a, b (BTYDplus' order);
 * predictions go through churn_btyd_p_alive(), churn_btyd_expected_purchases(),
 * churn_btyd_score(), churn_btyd_expected_purchases_new(),
 * churn_btyd_prob_purchases() and churn_btyd_prob_purchases_cond() (series of
 * incomplete beta functions, no simulation: docs/models/mbgcnbdk.md).
 *
 * k is not estimated: with k ≥ 1 it is fixed; with k = 0 every k in
 * 1..::CHURN_MBGCNBD_KMAX is fitted and the converged fit of the largest
 * log-likelihood is returned (the model's note lists every k's
 * log-likelihood). Its standard error is 0. The log-likelihood includes
 * sum_i w_i [(k-1) litt_i - x_i log((k-1)!)], which needs `litt`.
 *
 * @param[out] out        the fitted model (free with churn_model_free()); also set,
 *                        not converged, on ::CHURN_ENOCONV
 * @param[in]  k          1..::CHURN_MBGCNBD_KMAX, or 0 to choose k by likelihood
 * @param[in]  n          rows (> 0)
 * @param[in]  frequency, recency, T  n rows as for churn_btyd_fit()
 * @param[in]  litt       n sums of the logarithms of the x inter-purchase times
 *                        (time units of T; 0 when x = 0); may be NULL only when k = 1
 * @param[in]  weights    n row weights or NULL
 * @param[in]  opts       options or NULL (as churn_btyd_fit())
 * @return ::CHURN_OK; ::CHURN_EINVAL naming the bad row and column ('litt' among
 *         them) or k; ::CHURN_ENOCONV (see churn_btyd_fit()); ::CHURN_ENUMERIC;
 *         ::CHURN_ENOMEM
 * Thread-safe.
 * @since 1.3
 */
CHURN_API int churn_mbgcnbd_fit(churn_model **out, int k, size_t n, const double *frequency,
                                const double *recency, const double *T, const double *litt,
                                const double *weights, const churn_btyd_options *opts);

/**
 * The MBG/CNBD-k log-likelihood sum_i w_i log L_i, litt term included, at
 * params = (k, r, alpha, a, b), and optionally its gradient with respect to
 * the natural-scale parameters (gradient[0], for the discrete k, is NaN).
 *
 * @param[in]  nparams   5
 * @param[in]  params    k (a whole number 1..::CHURN_MBGCNBD_KMAX), r, alpha, a, b (> 0)
 * @param[in]  n, frequency, recency, T, weights  as churn_btyd_loglik()
 * @param[in]  litt      n sums of log inter-purchase times (NULL allowed when k = 1)
 * @param[out] loglik    the log-likelihood
 * @param[out] gradient  5 values, or NULL
 * @return ::CHURN_OK; ::CHURN_EINVAL (bad parameter, k or row); ::CHURN_ENUMERIC
 * Thread-safe.
 * @since 1.3
 */
CHURN_API int churn_mbgcnbd_loglik(size_t nparams, const double *params, size_t n,
                                   const double *frequency, const double *recency,
                                   const double *T, const double *litt, const double *weights,
                                   double *loglik, double *gradient);

/**
 * Build a BTYD or sBG model from known parameters (published estimates, a
 * simulation truth), for prediction. The model has no standard errors (NaN),
 * no covariance, log-likelihood NaN, converged = 0 and iterations 0.
 *
 * @param[out] out      the new model (NULL on failure); free with churn_model_free()
 * @param[in]  family   ::CHURN_FAMILY_BGNBD, ::CHURN_FAMILY_MBGNBD, ::CHURN_FAMILY_PNBD,
 *                      ::CHURN_FAMILY_BGBB, ::CHURN_FAMILY_SBG or ::CHURN_FAMILY_GGOMNBD
 * @param[in]  nparams  number of values in `params` (4; 2 for sBG; 5 for GG/NBD)
 * @param[in]  params   natural-scale values, all finite and > 0, in the order of
 *                      churn_model_param_name(): r, alpha, a, b (BG/NBD, MBG/NBD);
 *                      r, alpha, s, beta (Pareto/NBD); alpha, beta, gamma, delta (BG/BB);
 *                      r, alpha, b, s, beta (Gamma-Gompertz/NBD);
 *                      alpha, beta (sBG)
 * @return ::CHURN_OK; ::CHURN_EINVAL naming the bad parameter; ::CHURN_ENOMEM
 * Thread-safe.
 * @since 1.0
 */
CHURN_API int churn_btyd_model_new(churn_model **out, int family, size_t nparams,
                                   const double *params);

/**
 * Weighted log-likelihood sum_i w_i log L(params | x_i, t_x,i, T_i) of a
 * non-contractual BTYD family, and optionally its gradient with respect to the
 * natural-scale parameters. With n = 1 and no weights this is one customer's
 * log-likelihood (a density in continuous time: it can be positive). Rows are
 * validated as in churn_btyd_fit(), except that T = 0 is accepted.
 *
 * @param[in]  family     ::CHURN_FAMILY_BGNBD, ::CHURN_FAMILY_MBGNBD, ::CHURN_FAMILY_PNBD,
 *                        ::CHURN_FAMILY_BGBB or ::CHURN_FAMILY_GGOMNBD
 * @param[in]  nparams    4 (5 for ::CHURN_FAMILY_GGOMNBD)
 * @param[in]  params     natural-scale parameters (see churn_btyd_model_new())
 * @param[in]  n          rows
 * @param[in]  frequency  n values x
 * @param[in]  recency    n values t_x
 * @param[in]  T          n values T
 * @param[in]  weights    n weights ≥ 0, or NULL for 1
 * @param[out] loglik     the sum
 * @param[out] gradient   nparams partial derivatives, or NULL
 * @return ::CHURN_OK; ::CHURN_EINVAL naming the bad row/column/parameter;
 *         ::CHURN_ENUMERIC when the value is not finite; ::CHURN_EUNSUPPORTED
 * Thread-safe.
 * @since 1.0
 */
CHURN_API int churn_btyd_loglik(int family, size_t nparams, const double *params, size_t n,
                                const double *frequency, const double *recency, const double *T,
                                const double *weights, double *loglik, double *gradient);

/**
 * Probability that each customer is still alive at the end of calibration
 * (at T; BG/BB: still alive through opportunity n, which is not the
 * published tables' P(alive): see churn_bgbb_p_alive_at(), m = 1). For BG/NBD a customer
 * with x = 0 is alive with probability 1 (dropout happens only after repeat
 * purchases); MBG/NBD lets customers drop out at their first purchase.
 *
 * @param[in]  model      a BG/NBD, MBG/NBD, Pareto/NBD or BG/BB model
 * @param[in]  n          number of customers
 * @param[in]  frequency  n values x (validated as for churn_btyd_fit(); T = 0 allowed:
 *                        a brand-new customer)
 * @param[in]  recency    n values t_x
 * @param[in]  T          n values T
 * @param[out] p_alive    n values in [0, 1]
 * @return ::CHURN_OK, ::CHURN_EINVAL (bad row, named; NULL argument),
 *         ::CHURN_EFAMILY, ::CHURN_ENUMERIC (row named), ::CHURN_EUNSUPPORTED
 * Thread-safe.
 * @since 1.0
 */
CHURN_API int churn_btyd_p_alive(const churn_model *model, size_t n, const double *frequency,
                                 const double *recency, const double *T, double *p_alive);

/**
 * Conditional expected number of purchases in (T, T + t] given each
 * customer's history (for BG/BB: in the next t opportunities).
 * @param[in]  model      a BG/NBD, MBG/NBD, Pareto/NBD or BG/BB model
 * @param[in]  t          horizon in the model's time unit, finite ≥ 0 (BG/BB: a whole
 *                        number of opportunities)
 * @param[in]  n          number of customers
 * @param[in]  frequency  n values x
 * @param[in]  recency    n values t_x
 * @param[in]  T          n values T
 * @param[out] expected   n values ≥ 0
 * @return as churn_btyd_p_alive(); ::CHURN_EINVAL also for a bad horizon
 * Thread-safe.
 * @since 1.0
 */
CHURN_API int churn_btyd_expected_purchases(const churn_model *model, double t, size_t n,
                                            const double *frequency, const double *recency,
                                            const double *T, double *expected);

/**
 * P(alive) and conditional expected purchases in (T, T + t] in one pass: the
 * scoring hot path (no allocation; for BG/NBD and MBG/NBD several million
 * customers per second per core). Either output may be NULL. Same values as
 * churn_btyd_p_alive() and churn_btyd_expected_purchases().
 * @param[in]  model      a BG/NBD, MBG/NBD, Pareto/NBD or BG/BB model
 * @param[in]  t          horizon in the model's time unit, finite ≥ 0
 * @param[in]  n          number of customers
 * @param[in]  frequency  n values x
 * @param[in]  recency    n values t_x
 * @param[in]  T          n values T
 * @param[out] p_alive    n values, or NULL
 * @param[out] expected   n values, or NULL
 * @return as churn_btyd_expected_purchases()
 * Thread-safe.
 * @since 1.0
 */
CHURN_API int churn_btyd_score(const churn_model *model, double t, size_t n,
                               const double *frequency, const double *recency, const double *T,
                               double *p_alive, double *expected);

/**
 * P(alive) and the conditional expected purchases E[X(T, T + t[j]) | x, t_x,
 * T] at `nh` horizons for each customer, sharing the work the horizons have
 * in common: the path of the expected purchases that a discounted CLV sums
 * (churn_clv_score() uses it). The values equal churn_btyd_p_alive() and
 * churn_btyd_expected_purchases() at each horizon to rounding (within 1e-12
 * relative).
 *  - BG/NBD, MBG/NBD: P(alive) once, and the coefficients of the Gauss
 *    hypergeometric series computed once for all horizons (they do not depend
 *    on the horizon), each horizon then a polynomial in t / (alpha + T + t);
 *    a horizon whose series bound is not met this way is computed alone.
 *    Since 1.3 the series part, E[X(T, T + t) | alive at T], which depends on
 *    x and T but not on t_x, is computed once for consecutive rows with the
 *    same frequency and T (bit for bit the same values): rows ordered by
 *    (x, T) cost one P(alive) each after the first (churn_clv_score() orders
 *    them so).
 *  - Pareto/NBD: P(alive), the costly part, once; each horizon a closed form.
 * Cost for one customer and 12 horizons: about 0.3-1 us on one core (BG/NBD;
 * more for a short history under a long horizon, where the series is long),
 * and one Pareto/NBD P(alive) plus 12 closed forms; no allocation.
 *
 * @param[in]  model      a BG/NBD, MBG/NBD or Pareto/NBD model
 * @param[in]  n          number of customers
 * @param[in]  frequency, recency, T  n histories as in churn_btyd_p_alive()
 * @param[in]  nh         number of horizons
 * @param[in]  t          nh horizons in the model's time unit, finite ≥ 0 (any order)
 * @param[out] p_alive    n values, or NULL
 * @param[out] expected   n × nh values, row-major: customer i, horizon j at
 *                        expected[i * nh + j] (may be NULL when nh is 0)
 * @return ::CHURN_OK, ::CHURN_EINVAL (NULL, a bad horizon t[j] or row named),
 *         ::CHURN_EFAMILY, ::CHURN_ENOTFITTED, ::CHURN_ENUMERIC (row named)
 * Thread-safe.
 * @since 1.2
 */
CHURN_API int churn_btyd_expected_purchases_path(const churn_model *model, size_t n,
                                                 const double *frequency,
                                                 const double *recency, const double *T,
                                                 size_t nh, const double *t, double *p_alive,
                                                 double *expected);

/**
 * Predictions with delta-method intervals from the fitted covariance:
 * P(alive) and the conditional expected number of purchases in (T, T + t],
 * each with a `level` interval (0.9 gives the 5% and 95% limits), computed in
 * one pass over the customers.
 *
 * The interval reflects the uncertainty of the estimated parameters (the
 * fit's covariance matrix, churn_model_covariance()), not the randomness of
 * the customer's future purchases: it is the interval of the prediction a
 * model fitted to data of this size would make. It is built on the logit
 * scale for P(alive) and on the log scale for E[X], so it stays inside (0, 1)
 * and (0, inf); the gradient in log-parameters is taken by central
 * differences. A prediction on its boundary (BG/NBD's P(alive) = 1 at
 * frequency 0, E[X] = 0 at t = 0) gets a zero-width interval. See
 * docs/models/intervals.md for the method and its coverage on simulated data.
 *
 * @param[in]  model      a fitted BG/NBD, MBG/NBD, Pareto/NBD, BG/BB,
 *                        Gamma-Gompertz/NBD or MBG/CNBD-k model with a
 *                        covariance matrix (MBG/CNBD-k's k is held fixed: it
 *                        is chosen, not estimated, and has variance 0)
 * @param[in]  t          horizon in the model's time unit, finite >= 0 (BG/BB:
 *                        whole opportunities); ignored when the three
 *                        expected outputs are NULL
 * @param[in]  level      interval coverage, strictly between 0 and 1
 * @param[in]  n          number of customers
 * @param[in]  frequency, recency, T  n histories as in churn_btyd_p_alive()
 * @param[out] p_alive, p_alive_lo, p_alive_hi      n values each, or NULL
 * @param[out] expected, expected_lo, expected_hi   n values each, or NULL
 *                        (at least one output must be non-NULL when n > 0)
 * @return ::CHURN_OK; ::CHURN_EINVAL (NULL, level outside (0, 1), a bad horizon
 *         or row, named); ::CHURN_EFAMILY; ::CHURN_ENOTFITTED;
 *         ::CHURN_EUNSUPPORTED (the model has no covariance matrix);
 *         ::CHURN_EFORMAT (a covariance entry that is not finite or a
 *         negative variance, naming the parameter); ::CHURN_ENUMERIC (row named).
 *         Outputs are unspecified on error.
 * Thread-safe; allocates nothing.
 * @since 1.3
 */
CHURN_API int churn_btyd_predict_interval(const churn_model *model, double t, double level,
                                          size_t n, const double *frequency,
                                          const double *recency, const double *T,
                                          double *p_alive, double *p_alive_lo,
                                          double *p_alive_hi, double *expected,
                                          double *expected_lo, double *expected_hi);

/**
 * Options of churn_btyd_bootstrap_interval(). Initialise with
 * CHURN_BOOTSTRAP_OPTIONS_INIT or churn_bootstrap_options_init().
 * @since 1.3
 */
typedef struct churn_bootstrap_options {
    size_t struct_size;  /**< sizeof(churn_bootstrap_options) */
    size_t resamples;    /**< refits, 20..100000 (default 200) */
    uint64_t seed;       /**< random seed (default 1); the result depends on it only */
    int threads;         /**< 0 or 1: the calling thread (default); k > 1: k POSIX threads
                              (the result is the same for any number) */
    double level;        /**< interval coverage in (0, 1) (default 0.9) */
} churn_bootstrap_options;

/** Static initialiser for ::churn_bootstrap_options (defaults). @since 1.3 */
#define CHURN_BOOTSTRAP_OPTIONS_INIT { sizeof(churn_bootstrap_options), 200, 1, 1, 0.9 }

/** Fill `opts` with the defaults. NULL is a no-op. Thread-safe. @since 1.3 */
CHURN_API void churn_bootstrap_options_init(churn_bootstrap_options *opts);

/**
 * Bootstrap intervals of P(alive) and the conditional expected purchases in
 * (T, T + t]: the n_fit fitting customers are resampled with replacement
 * `resamples` times, the model's family is refitted to each resample (default
 * fit options, no standard errors), the n scored customers are predicted with
 * every refit, and the limits are the (1 - level)/2 and (1 + level)/2
 * percentiles of those predictions. Like churn_btyd_predict_interval() the
 * interval is the uncertainty of the estimated parameters, here without the
 * delta method's normal approximation (docs/models/intervals.md).
 *
 * Cost: `resamples` fits of n_fit customers; memory 2 x resamples x n doubles.
 * @param[in]  model      a fitted BG/NBD, MBG/NBD, Pareto/NBD or BG/BB model (its
 *                        family is refitted; its parameters are not used)
 * @param[in]  n_fit      customers the model was fitted to (>= 2)
 * @param[in]  frequency_fit, recency_fit, T_fit  their histories
 * @param[in]  t          horizon, finite >= 0, in the model's time unit
 * @param[in]  n          customers to score
 * @param[in]  frequency, recency, T  their histories
 * @param[in]  opts       options, or NULL for the defaults
 * @param[out] p_alive_lo, p_alive_hi, expected_lo, expected_hi  n values each, or NULL
 * @param[out] failed     resamples whose refit failed and were left out, or NULL
 * @return ::CHURN_OK; ::CHURN_EINVAL (NULL, bad option named, bad row named, a
 *         model with covariates: churn_btyd_bootstrap_interval_covariates() refits
 *         those); ::CHURN_EFAMILY; ::CHURN_ENOCONV (half the resamples or more could
 *         not be refitted); ::CHURN_ENOMEM. Thread-safe.
 * @since 1.3
 */
CHURN_API int churn_btyd_bootstrap_interval(const churn_model *model, size_t n_fit,
                                            const double *frequency_fit,
                                            const double *recency_fit, const double *T_fit,
                                            double t, size_t n, const double *frequency,
                                            const double *recency, const double *T,
                                            const churn_bootstrap_options *opts,
                                            double *p_alive_lo, double *p_alive_hi,
                                            double *expected_lo, double *expected_hi,
                                            size_t *failed);

/**
 * Unconditional expected number of purchases E[X(t)] in (0, t] of a customer
 * who has just made a first purchase, for each of n horizons `t` (BG/BB: t
 * opportunities).
 * @param[in]  model     a BG/NBD, MBG/NBD, Pareto/NBD or BG/BB model
 * @param[in]  n         number of horizons
 * @param[in]  t         n horizons, finite ≥ 0 (the message names t[i] when not)
 * @param[out] expected  n values ≥ 0
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_EFAMILY, ::CHURN_ENUMERIC, ::CHURN_EUNSUPPORTED
 * Thread-safe.
 * @since 1.0
 */
CHURN_API int churn_btyd_expected_purchases_new(const churn_model *model, size_t n,
                                                const double *t, double *expected);

/**
 * Probability of exactly `k` purchases in (0, t] for a new customer,
 * P(X(t) = k), for each of n horizons.
 * @param[in]  model  a BG/NBD, MBG/NBD, Pareto/NBD or BG/BB model
 * @param[in]  k      whole number ≥ 0
 * @param[in]  n      number of horizons
 * @param[in]  t      n horizons, finite ≥ 0
 * @param[out] prob   n probabilities
 * @return as churn_btyd_expected_purchases_new()
 * Thread-safe.
 * @since 1.0
 */
CHURN_API int churn_btyd_prob_purchases(const churn_model *model, double k, size_t n,
                                        const double *t, double *prob);

/**
 * Probability of exactly `k` purchases in (T, T + t] given each customer's
 * history: (1 - P(alive)) [k = 0] + P(alive) P(X(t) = k | posterior parameters).
 * @param[in]  model      a BG/NBD, MBG/NBD, Pareto/NBD or BG/BB model
 * @param[in]  k          whole number ≥ 0
 * @param[in]  t          horizon, finite ≥ 0
 * @param[in]  n          number of customers
 * @param[in]  frequency  n values x
 * @param[in]  recency    n values t_x
 * @param[in]  T          n values T
 * @param[out] prob       n probabilities
 * @return as churn_btyd_expected_purchases()
 * Thread-safe.
 * @since 1.0
 */
CHURN_API int churn_btyd_prob_purchases_cond(const churn_model *model, double k, double t,
                                             size_t n, const double *frequency,
                                             const double *recency, const double *T,
                                             double *prob);

/**
 * Pareto/NBD: probability that each customer is alive at the future time
 * T + t (t ≥ 0) given history.
 * @param[in]  model      a Pareto/NBD model (::CHURN_EFAMILY otherwise)
 * @param[in]  t          time after T, finite ≥ 0
 * @param[in]  n          number of customers
 * @param[in]  frequency  n values x
 * @param[in]  recency    n values t_x
 * @param[in]  T          n values T
 * @param[out] p_alive    n values in [0, 1]
 * @return as churn_btyd_expected_purchases()
 * Thread-safe.
 * @since 1.0
 */
CHURN_API int churn_pnbd_p_alive_at(const churn_model *model, double t, size_t n,
                                    const double *frequency, const double *recency,
                                    const double *T, double *p_alive);

/**
 * Convert a fitted continuous-time BTYD model to another time unit, on
 * purpose: afterwards it describes the same customers with durations in
 * units of `unit_days` days, so that data in that unit can be scored
 * (churn_model_check_time_unit() then passes for it).
 *
 * Purchase and dropout rates scale with the unit: with c = old unit / new
 * unit, BG/NBD and MBG/NBD's alpha and Pareto/NBD's alpha and beta are
 * multiplied by c (a rate lambda ~ Gamma(r, alpha) per old unit is lambda / c
 * ~ Gamma(r, c alpha) per new unit); r, a, b and s are unchanged. For
 * Gamma-Gompertz/NBD (since 1.3) alpha is multiplied by c and the Gompertz
 * scale b (a rate per unit) divided by it; r, s, beta are unchanged; for
 * MBG/CNBD-k (since 1.3) alpha is multiplied by c (lambda is the rate of the
 * Erlang events) and k, r, a, b are unchanged. Standard
 * errors and the covariance are scaled accordingly. The log-likelihood is
 * kept as fitted (it refers to the original unit) and the model's note says
 * so. BG/BB and sBG count discrete opportunities and have no conversion.
 *
 * @param[in,out] model      a fitted ::CHURN_FAMILY_BGNBD, ::CHURN_FAMILY_MBGNBD,
 *                           ::CHURN_FAMILY_PNBD or ::CHURN_FAMILY_GGOMNBD model whose
 *                           unit is known
 * @param[in]     unit_days  the new time unit in days (finite > 0)
 * @return ::CHURN_OK; ::CHURN_EINVAL (NULL, bad unit); ::CHURN_EUNIT (the
 *         model's unit is unknown: nothing to convert from);
 *         ::CHURN_EUNSUPPORTED (BG/BB, sBG); ::CHURN_EFAMILY (not a BTYD
 *         model); ::CHURN_ENOMEM. On failure the model is unchanged.
 * Not thread-safe for this model (it writes it); do not convert a model that
 * other threads are scoring.
 * @since 1.2
 */
CHURN_API int churn_btyd_convert_time_unit(churn_model *model, double unit_days);

/**
 * BG/BB: probability that each customer is alive at transaction opportunity
 * n + m given the history (x, t_x, n) (Fader, Hardie & Shang 2010):
 *   P(alive at n + m) = B(alpha+x, beta+n-x)/B(alpha,beta)
 *                       * B(gamma, delta+n+m)/B(gamma,delta) / L(x, t_x, n).
 * m = 1 is the convention of the published tables (FHS 2010, "the
 * probability that the customer is alive in period n + 1") and of lifetimes'
 * BetaGeoBetaBinomFitter.conditional_probability_alive(1, ...); the command
 * and the bindings call it `p_alive` for BG/BB. m = 0 is
 * churn_btyd_p_alive()'s BG/BB value, "alive through opportunity n" (the
 * bindings' `p_alive_through`). Each extra opportunity multiplies by
 * (delta+n+j)/(gamma+delta+n+j), j = 0 .. m-1.
 * @param[in]  model      a BG/BB model (::CHURN_EFAMILY otherwise)
 * @param[in]  m          opportunities after n, a whole number >= 0
 * @param[in]  n          number of customers
 * @param[in]  frequency  n values x (whole numbers, as for churn_btyd_fit())
 * @param[in]  recency    n values t_x
 * @param[in]  T          n values n (opportunities observed)
 * @param[out] p_alive    n values in [0, 1]
 * @return ::CHURN_OK; ::CHURN_EINVAL (NULL argument, m not a whole number
 *         >= 0, bad row named); ::CHURN_EFAMILY; ::CHURN_ENUMERIC (row named)
 * Thread-safe.
 * @since 1.2
 */
CHURN_API int churn_bgbb_p_alive_at(const churn_model *model, double m, size_t n,
                                    const double *frequency, const double *recency,
                                    const double *T, double *p_alive);

/* ---- shifted beta-geometric (contractual) ---- */

/**
 * Fit sBG (Fader & Hardie 2007) from per-customer lifetimes, by maximum
 * likelihood as in churn_btyd_fit() (same options, penalty and diagnostics).
 * A customer who churned at the end of period t contributes
 * P(T = t) = B(alpha+1, beta+t-1)/B(alpha, beta); one still active after t
 * periods (t renewals) contributes S(t) = B(alpha, beta+t)/B(alpha, beta).
 * @param[out] out       the fitted model (see churn_btyd_fit() for ::CHURN_ENOCONV)
 * @param[in]  n         customers (or patterns with weights), > 0
 * @param[in]  periods   number of periods each customer stayed: a churned customer who
 *                       left at the end of period t has t (≥ 1); a still-active customer
 *                       observed for t periods has t (≥ 0); whole numbers
 * @param[in]  churned   1 = churned after `periods`, 0 = still active (censored)
 * @param[in]  weights   n weights ≥ 0, or NULL
 * @param[in]  opts      options or NULL
 * @return ::CHURN_OK; ::CHURN_EINVAL naming the row and column ('periods',
 *         'churned', 'weights'); ::CHURN_ENOCONV; ::CHURN_ENOMEM
 * Thread-safe.
 * @since 1.0
 */
CHURN_API int churn_sbg_fit(churn_model **out, size_t n, const double *periods,
                            const int *churned, const double *weights,
                            const churn_btyd_options *opts);

/**
 * Fit sBG from a survivor curve: survivors[0] = cohort size at the start,
 * survivors[t] = customers still active after t periods (non-increasing).
 * Equivalent to churn_sbg_fit() with survivors[t-1] - survivors[t] customers
 * churned at t and survivors[n-1] still active after n-1 periods (F&H 2007).
 * Counts need not be whole numbers (shares work too; the log-likelihood
 * scales with them).
 * @param[out] out        the fitted model
 * @param[in]  n          number of entries (≥ 2)
 * @param[in]  survivors  n finite values ≥ 0, survivors[0] > 0
 * @param[in]  opts       options or NULL
 * @return as churn_sbg_fit(); the message names survivors[i] when the curve is bad
 * Thread-safe.
 * @since 1.0
 */
CHURN_API int churn_sbg_fit_survivors(churn_model **out, size_t n, const double *survivors,
                                      const churn_btyd_options *opts);

/**
 * sBG weighted log-likelihood of per-customer lifetimes (same data as
 * churn_sbg_fit()) at `params` = (alpha, beta), and optionally its gradient
 * with respect to (alpha, beta).
 * @param[in]  nparams   2
 * @param[in]  params    alpha, beta > 0
 * @param[in]  n         rows
 * @param[in]  periods   n periods (see churn_sbg_fit())
 * @param[in]  churned   n flags 0/1
 * @param[in]  weights   n weights ≥ 0, or NULL
 * @param[out] loglik    the sum
 * @param[out] gradient  2 partial derivatives, or NULL
 * @return ::CHURN_OK, ::CHURN_EINVAL (bad row/column/parameter, named), ::CHURN_ENUMERIC
 * Thread-safe.
 * @since 1.0
 */
CHURN_API int churn_sbg_loglik(size_t nparams, const double *params, size_t n,
                               const double *periods, const int *churned, const double *weights,
                               double *loglik, double *gradient);

/**
 * sBG retention rates r_t = S(t)/S(t-1) = (beta + t - 1)/(alpha + beta + t - 1)
 * and survival S(t) = prod_{j<=t} r_j for t = 1..n (F&H 2007).
 * Either output may be NULL.
 * @param[in]  model      an sBG model (::CHURN_EFAMILY otherwise)
 * @param[in]  n          number of periods
 * @param[out] retention  n values, or NULL
 * @param[out] survival   n values, or NULL
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_EFAMILY
 * Thread-safe.
 * @since 1.0
 */
CHURN_API int churn_sbg_curve(const churn_model *model, size_t n, double *retention,
                              double *survival);

/**
 * sBG discounted expected residual lifetime (DERL) of an active customer who
 * has renewed `periods` times (made periods + 1 payments), evaluated just
 * before the next renewal decision, at discount rate `discount` per period
 * (Fader & Hardie 2010, "Customer-base valuation in a contractual setting",
 * eq. 6, with n - 1 = periods):
 * @code
 *   DERL = B(alpha, beta+n)/B(alpha, beta+n-1) * 2F1(1, beta+n; alpha+beta+n; 1/(1+d))
 *        = sum_{k>=0} S(n+k)/S(n-1) / (1+d)^k
 * @endcode
 * the expected number of future payments, the next one undiscounted. Multiply
 * by the value per period for the residual value. discount = 0 gives the
 * expected residual lifetime (beta + n - 1)/(alpha - 1), finite only for alpha > 1.
 * @param[in]  model     an sBG model (::CHURN_EFAMILY otherwise)
 * @param[in]  discount  rate per period, finite ≥ 0
 * @param[in]  n         number of customers
 * @param[in]  periods   n renewal counts ≥ 0 (need not be whole numbers)
 * @param[out] derl      n values
 * @return ::CHURN_OK, ::CHURN_EINVAL (bad discount, row 'periods', or discount 0
 *         with alpha ≤ 1), ::CHURN_EFAMILY, ::CHURN_ENUMERIC
 * Thread-safe.
 * @since 1.0
 */
CHURN_API int churn_sbg_derl(const churn_model *model, double discount, size_t n,
                             const double *periods, double *derl);

#ifdef __cplusplus
}
#endif

#endif /* CHURN_BTYD_H */
