/**
 * @file churn/spend.h
 * @brief Spend and customer value: the Gamma-Gamma spend model, customer
 *        lifetime value (CLV) from any BTYD model, discounted expected
 *        residual transactions (DERT), value at risk, value tiers and
 *        data-driven alert rules.
 *
 * Units. Every time in this header is in the *model's* time unit: the unit
 * of the customer table the BTYD model was fitted on (weeks for the
 * published CDNOW fits; see churn_model_time_unit()). Discount rates always
 * say which period they apply to:
 *  - churn_clv_options::discount is a rate per *discount period* of
 *    churn_clv_options::period model time units (e.g. 0.01 per month with
 *    period = 4.345 weeks);
 *  - the `delta` of churn_dert() is a continuously compounded rate per model
 *    time unit. A rate d per period of length P converts as
 *    delta = log(1 + d) / P.
 *
 * Threading: fitted models are read-only and may be shared by any number of
 * scoring threads; an alert rule set may be evaluated concurrently once it is
 * built (adding rules needs exclusive access).
 */
#ifndef CHURN_SPEND_H
#define CHURN_SPEND_H

#include "common.h"
#include "model.h"
#include "customers.h"
#include "btyd.h"
#include "covariates.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Gamma-Gamma spend model ============================================ */

/**
 * Fitting options for churn_gammagamma_fit(). Initialise with
 * CHURN_GAMMAGAMMA_OPTIONS_INIT or churn_gammagamma_options_init(). Zero
 * means "default" for every field.
 * @since 1.0
 */
typedef struct churn_gammagamma_options {
    size_t struct_size;
    int max_iter;      /**< Newton iterations (default 200) */
    double tol;        /**< convergence tolerance on the largest gradient component of the
                            mean log-likelihood with respect to the log-parameters
                            (default 1e-9) */
    int no_std_errors; /**< 1: do not compute the covariance / standard errors (default 0) */
} churn_gammagamma_options;

#define CHURN_GAMMAGAMMA_OPTIONS_INIT { sizeof(churn_gammagamma_options), 0, 0.0, 0 }

/** Fill `opts` with the defaults. NULL is a no-op. @since 1.0 */
CHURN_API void churn_gammagamma_options_init(churn_gammagamma_options *opts);

/**
 * Fit the Gamma-Gamma model of average spend per transaction (Fader, Hardie
 * & Lee 2005, "RFM and CLV: Using iso-value curves", appendix; Fader & Hardie
 * 2013, "The Gamma-Gamma model of monetary value") by maximum likelihood.
 *
 * Model: a customer's transaction values are Gamma(p, nu) with a
 * customer-specific scale nu ~ Gamma(q, gamma) across customers, so a
 * customer's mean spend over x transactions, zbar, has the density given
 * in the 2013 note. The model's parameters are named "p", "q" and "gamma" (the
 * papers' p, q, γ; Python's lifetimes calls the third one `v`).
 *
 * Rows used by the fit: frequency x > 0 **and** monetary_value > 0 (and
 * weight > 0). One-time buyers (x = 0) carry no spend information under the
 * lifetimes convention (monetary_value 0); customers whose mean repeat spend
 * is zero or negative (free orders, refunds) fall outside the model's
 * support. Both are excluded from the fit and counted (see
 * churn_gammagamma_excluded()); churn_gammagamma_expected_spend() still
 * predicts for them (the population mean).
 *
 * The fit also records the weighted Pearson correlation between frequency
 * and monetary value over the rows used: the model assumes spend is
 * independent of purchase frequency, so a large |corr| warns that the
 * assumption is shaky (churn_gammagamma_freq_monetary_corr()). It is saved in
 * model files as the array "freq_monetary_corr".
 *
 * Optimisation: Newton's method on the log-parameters with the analytic
 * gradient and Hessian and a backtracking line search; the covariance of
 * (p, q, gamma) is the inverse of the observed information (negative Hessian
 * of the log-likelihood on the natural scale).
 *
 * @param[out] out             the fitted model (NULL on failure except ::CHURN_ENOCONV)
 * @param[in]  n               number of rows (customers, or patterns with weights)
 * @param[in]  frequency       n repeat-purchase counts x ≥ 0
 * @param[in]  monetary_value  n mean spends per repeat purchase zbar (finite; any sign)
 * @param[in]  weights         n row weights ≥ 0, or NULL (all 1)
 * @param[in]  opts            options or NULL
 * @return ::CHURN_OK; ::CHURN_EINVAL (NULL argument, or a row with a
 *         negative/non-finite value, named by row and column — a NaN
 *         monetary value, the customer table's mark of an unknown spend (a log
 *         without amounts, customers.h), says "the spend is unknown"; fewer
 *         than 2 usable rows); ::CHURN_ENOCONV (the model is still returned in *out
 *         for inspection); ::CHURN_ENUMERIC; ::CHURN_ENOMEM
 * @since 1.0
 */
CHURN_API int churn_gammagamma_fit(churn_model **out, size_t n, const double *frequency,
                                   const double *monetary_value, const double *weights,
                                   const churn_gammagamma_options *opts);

/**
 * Conditional expected mean spend per transaction (Fader & Hardie 2013
 * note; Fader, Hardie & Lee 2005, "RFM and CLV"):
 *
 *     E[Z | p, q, gamma; x, zbar] = (q - 1) / (p x + q - 1) * p gamma / (q - 1)
 *                                 + p x / (p x + q - 1) * zbar,
 *
 * a weighted average of the population mean and the customer's own mean.
 * Customers outside the fit's support — x = 0, or zbar ≤ 0 — get the
 * population mean p gamma / (q - 1) (their observed spend carries no
 * information the model can use).
 *
 * @param[in]  model           a ::CHURN_FAMILY_GAMMAGAMMA model
 * @param[in]  n               number of customers
 * @param[in]  frequency       n values x ≥ 0
 * @param[in]  monetary_value  n finite values zbar
 * @param[out] expected_spend  n values, in the currency of monetary_value
 * @return ::CHURN_OK, ::CHURN_EINVAL (bad row named; NaN: "the spend is
 *         unknown", as churn_gammagamma_fit()), ::CHURN_EFAMILY,
 *         ::CHURN_ENUMERIC (q ≤ 1, so the population mean is infinite, and
 *         a customer needs it)
 * @since 1.0
 */
CHURN_API int churn_gammagamma_expected_spend(const churn_model *model, size_t n,
                                              const double *frequency,
                                              const double *monetary_value,
                                              double *expected_spend);

/**
 * Population mean spend per transaction E[Z] = p gamma / (q - 1).
 * @param[out] mean
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_EFAMILY, ::CHURN_ENUMERIC (q ≤ 1)
 * @since 1.0
 */
CHURN_API int churn_gammagamma_mean_spend(const churn_model *model, double *mean);

/**
 * Weighted Pearson correlation between frequency and monetary value over the
 * rows the model was fitted on (see churn_gammagamma_fit()).
 * @param[out] corr  in [-1, 1]
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_EFAMILY, ::CHURN_EUNSUPPORTED
 *         (undefined: one of the two had no variation, or the model file has
 *         no such record)
 * @since 1.0
 */
CHURN_API int churn_gammagamma_freq_monetary_corr(const churn_model *model, double *corr);

/**
 * Weighted numbers of rows excluded from the fit.
 * @param[out] one_time     rows with x = 0 (may be NULL)
 * @param[out] nonpositive  rows with x > 0 but monetary_value ≤ 0 (may be NULL)
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_EFAMILY
 * @since 1.0
 */
CHURN_API int churn_gammagamma_excluded(const churn_model *model, double *one_time,
                                        double *nonpositive);

/* ==== customer lifetime value ============================================= */

/**
 * Settings of the non-contractual CLV. Initialise with
 * CHURN_CLV_OPTIONS_INIT or churn_clv_options_init(); the macro holds the
 * defaults (a zero `discount` is a valid rate, not "default").
 *
 * The CLV is Python lifetimes' `customer_lifetime_value` generalised to any
 * BTYD model and any time unit:
 *
 *     clv = margin * spend * sum_{i=1..horizon} (E[X(T, T + i P)] - E[X(T, T + (i-1) P)])
 *                                              / (1 + discount)^i
 *
 * with P = `period` in the model's time unit and E[X(T, T + t)] the BTYD
 * model's conditional expected purchases (churn_btyd_expected_purchases()).
 * @since 1.0
 */
typedef struct churn_clv_options {
    size_t struct_size;
    int horizon;      /**< number of discount periods H ≥ 1 (default 12) */
    double period;    /**< length of one discount period in the model's time unit
                           (> 0); 0 (default) = one month (30.4375 days) converted with
                           churn_model_time_unit(), an error when the model's unit is
                           unknown. lifetimes takes a month as 4.345 weeks: pass 4.345
                           to reproduce its numbers on weekly data. */
    double discount;  /**< discount rate per period, ≥ 0 (default 0.01) */
    double margin;    /**< profit margin applied to spend (default 1: revenue) */
} churn_clv_options;

#define CHURN_CLV_OPTIONS_INIT { sizeof(churn_clv_options), 12, 0.0, 0.01, 1.0 }

/** Fill `opts` with the defaults. NULL is a no-op. @since 1.0 */
CHURN_API void churn_clv_options_init(churn_clv_options *opts);

/**
 * Discounted expected purchases over the horizon,
 * sum_{i=1..H} (E[X(T, T + iP)] - E[X(T, T + (i-1)P)]) / (1 + d)^i
 * (the CLV of churn_clv_options without spend and margin).
 *
 * @param[in]  btyd        a fitted ::CHURN_FAMILY_BGNBD, ::CHURN_FAMILY_MBGNBD,
 *                         ::CHURN_FAMILY_PNBD or (since 1.3) ::CHURN_FAMILY_GGOMNBD or
 *                         ::CHURN_FAMILY_MBGCNBD model
 * @param[in]  opts        CLV settings or NULL (defaults; margin is ignored)
 * @param[in]  n           number of customers
 * @param[in]  frequency, recency, T  n customer histories as in btyd.h
 * @param[out] discounted  n values (number of purchases, discounted)
 * @return ::CHURN_OK, ::CHURN_EINVAL (bad option named, bad row named),
 *         ::CHURN_EFAMILY, ::CHURN_ENUMERIC, ::CHURN_ENOMEM
 * @since 1.0
 */
CHURN_API int churn_clv_discounted_purchases(const churn_model *btyd,
                                             const churn_clv_options *opts, size_t n,
                                             const double *frequency, const double *recency,
                                             const double *T, double *discounted);

/**
 * Score customers for value: P(alive), expected purchases and spend over the
 * horizon, CLV and value at risk, in one pass.
 *
 * Per customer:
 *  - p_alive: churn_btyd_p_alive(); P(churn) = 1 - p_alive;
 *  - expected_purchases: E[X(T, T + H P)], purchases expected over the whole
 *    horizon (undiscounted);
 *  - expected_spend: churn_gammagamma_expected_spend() when `spend` is a
 *    Gamma-Gamma model; when `spend` is NULL, monetary_value is taken as the
 *    caller's own expected spend per purchase;
 *  - clv: see ::churn_clv_options;
 *  - value_at_risk: the value the customer would bring if retained, times
 *    P(churn). For these models E[X(T, T+t) | history] = P(alive) ×
 *    E[X(T, T+t) | alive, history], so the value if retained (still alive
 *    now) is clv / p_alive, and
 *        value_at_risk = clv × (1 - p_alive) / p_alive = value_if_retained - clv:
 *    the expected value that walks out of the door because the customer may
 *    already have left. 0 when p_alive = 1, and 0 when p_alive underflows to 0
 *    (then clv is 0 as well and the model cannot say more).
 *
 * Every output may be NULL.
 *
 * Cost (since 1.2): the H horizons of a customer are computed in one pass
 * (churn_btyd_expected_purchases_path(), btyd.h), and n ≤ 16 allocates
 * nothing, so the per-order call (n = 1, H = 12) takes, on one core of a
 * 2020s x86 server: Pareto/NBD about 0.3-0.6 us (one P(alive) and 12 closed
 * forms); BG/NBD and MBG/NBD about 0.5-1.5 us for a customer with some
 * history and 2-4 us for a first order under a horizon much longer than
 * alpha + T (the series in t / (alpha + T + t) is then long). 1.0 and 1.1
 * took 12 separate model passes (about 2-3 us, 10-47 us for a new customer;
 * bench/bench_perorder.c measures both). Results agree with the per-horizon
 * computation within 1e-12 relative.
 * Since 1.3, BG/NBD and MBG/NBD tables of 256 customers or more (H ≤ 64) are
 * ordered by (frequency, T) so that the hypergeometric series is computed once
 * per distinct pair and only P(alive) per customer (the same values bit for
 * bit): 100,000 frequent buyers with 6,643 distinct pairs take about 8 ms,
 * against 35 ms in 1.2 (bench/bench_clv.py, docs/performance.md).
 *
 * @param[in] btyd            fitted BG/NBD, MBG/NBD, Pareto/NBD or (since 1.3)
 *                            Gamma-Gompertz/NBD (by quadrature, much slower than the
 *                            figures above) or MBG/CNBD-k model (series of incomplete
 *                            beta functions per period)
 * @param[in] spend           fitted Gamma-Gamma model, or NULL (see expected_spend)
 * @param[in] opts            CLV settings or NULL
 * @param[in] n               number of customers
 * @param[in] frequency, recency, T  customer histories (btyd.h)
 * @param[in] monetary_value  n mean repeat spends (or expected spends, spend == NULL)
 * @return ::CHURN_OK, ::CHURN_EINVAL (bad option / row named; a NaN monetary
 *         value — a customer whose spend is unknown, customers.h — says
 *         "the spend is unknown": CLV needs amounts, while
 *         churn_clv_discounted_purchases() needs none), ::CHURN_EFAMILY,
 *         ::CHURN_ENUMERIC, ::CHURN_ENOMEM
 * @since 1.0
 */
CHURN_API int churn_clv_score(const churn_model *btyd, const churn_model *spend,
                              const churn_clv_options *opts, size_t n, const double *frequency,
                              const double *recency, const double *T,
                              const double *monetary_value, double *p_alive,
                              double *expected_purchases, double *expected_spend, double *clv,
                              double *value_at_risk);

/**
 * churn_clv_score() for a BTYD model with static covariates (covariates.h):
 * each customer is valued as the plain model at the customer's own parameters
 * (churn_btyd_customer_params_covariates()), with the same Gamma-Gamma spend
 * and CLV settings. A plain model gives churn_clv_score()'s values.
 * @param[in] btyd   a Pareto/NBD, BG/NBD, MBG/NBD or Gamma-Gompertz/NBD model
 *                   fitted with churn_btyd_fit_covariates() (or a plain one)
 * @param[in] cov    the customers' covariates, matched by name (covariates.h)
 * Other parameters, outputs and errors as churn_clv_score(); a message about a
 * customer names its row. Cost: one churn_clv_score() call per customer (no
 * sharing of work between customers with equal histories). Allocates n x 5
 * doubles. Thread-safe.
 * @since 1.3
 */
CHURN_API int churn_clv_score_covariates(const churn_model *btyd, const churn_model *spend,
                                         const churn_clv_options *opts, size_t n,
                                         const double *frequency, const double *recency,
                                         const double *T, const double *monetary_value,
                                         const churn_btyd_covariates *cov, double *p_alive,
                                         double *expected_purchases, double *expected_spend,
                                         double *clv, double *value_at_risk);

/**
 * churn_dert() for a BTYD model with static covariates (covariates.h): each
 * customer's DERT is the plain model's at the customer's own parameters
 * (churn_btyd_customer_params_covariates()). A plain model gives churn_dert()'s
 * values.
 * @param[in]  model  a Pareto/NBD, BG/NBD, MBG/NBD, Gamma-Gompertz/NBD or
 *                    MBG/CNBD-k model fitted with covariates (or a plain one)
 * @param[in]  delta  continuously compounded discount rate per model time unit (> 0)
 * @param[in]  n, frequency, recency, T  customer histories (btyd.h)
 * @param[in]  cov    the customers' covariates, matched by name (covariates.h)
 * @param[out] dert   n values
 * @return as churn_dert(); a message about a customer names its row. Cost: one
 *         churn_dert() call per customer. Allocates n x (number of base parameters)
 *         doubles and one model. Thread-safe.
 * @since 1.3
 */
CHURN_API int churn_dert_covariates(const churn_model *model, double delta, size_t n,
                                    const double *frequency, const double *recency,
                                    const double *T, const churn_btyd_covariates *cov,
                                    double *dert);

/**
 * Output arrays of churn_clv_interval(): for each of the five quantities of
 * churn_clv_score() the prediction and the lower and upper limits of its
 * interval. Every pointer is n doubles or NULL (not wanted); at least one must
 * be given. Initialise with CHURN_CLV_INTERVALS_INIT or churn_clv_intervals_init()
 * (every pointer NULL), then set the ones wanted. The arrays are the caller's.
 * @since 1.3
 */
typedef struct churn_clv_intervals {
    size_t struct_size; /**< sizeof(churn_clv_intervals) */
    double *p_alive, *p_alive_lo, *p_alive_hi;
    double *expected_purchases, *expected_purchases_lo, *expected_purchases_hi;
    double *expected_spend, *expected_spend_lo, *expected_spend_hi;
    double *clv, *clv_lo, *clv_hi;
    double *value_at_risk, *value_at_risk_lo, *value_at_risk_hi;
} churn_clv_intervals;

/** Static initialiser for ::churn_clv_intervals (every output NULL). @since 1.3 */
#define CHURN_CLV_INTERVALS_INIT                                                          \
    { sizeof(churn_clv_intervals), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
      NULL, NULL, NULL, NULL, NULL, NULL }

/** Fill `out` with every output NULL. NULL is a no-op. Thread-safe. @since 1.3 */
CHURN_API void churn_clv_intervals_init(churn_clv_intervals *out);

/**
 * churn_clv_score() with delta-method intervals: P(alive), the expected
 * purchases over the horizon, the expected spend, the CLV and the value at
 * risk, each with a `level` interval (0.9 gives the 5% and 95% limits), from
 * the fitted covariance matrices of both models. The predictions are those of
 * churn_clv_score() bit for bit.
 *
 * Method (docs/models/intervals.md). The BTYD model and the Gamma-Gamma model
 * are fitted separately, so the joint covariance of their log-parameters is
 * block-diagonal. CLV = margin x spend x discounted purchases factors, so on
 * the log scale the variance of log |CLV| is the BTYD part (the gradient of the
 * log discounted purchases in the BTYD log-parameters) plus the spend part (the
 * gradient of the log expected spend in log p, log q, log gamma). Value at risk
 * = CLV x (1 - P(alive)) / P(alive), so log |value at risk| = log |CLV| -
 * logit P(alive), and its BTYD gradient is the difference of the two. P(alive)
 * is on the logit scale, the expected purchases and spend on the log scale.
 * Gradients are central differences in the log-parameters (step 1e-4, as
 * churn_btyd_predict_interval()); a parameter whose variance is 0 is held
 * fixed. Every limit lies inside the quantity's range and has the sign of the
 * prediction (a negative margin gives negative values and limits). A
 * prediction at its boundary (P(alive) = 1 for BG/NBD's x = 0, a value of 0)
 * gets a zero-width interval, and so does the expected spend when `spend` is
 * NULL (monetary_value is then the caller's own, exact figure).
 *
 * The interval is the uncertainty of the estimated parameters (the spread of
 * the predictions that models fitted to data of this size would make), not the
 * randomness of the customer's future purchases.
 *
 * Cost: one churn_clv_score() pass, plus two per BTYD parameter and two
 * Gamma-Gamma expected spends per spend parameter, in blocks of 256
 * customers; memory about (3 k + 16) x 256 doubles plus 5 n.
 *
 * @param[in]  btyd   as churn_clv_score(), with a covariance matrix
 * @param[in]  spend  a fitted Gamma-Gamma model with a covariance matrix, or NULL
 *                    (monetary_value is then the expected spend, taken as exact)
 * @param[in]  opts   CLV settings or NULL, as churn_clv_score()
 * @param[in]  level  interval coverage, strictly between 0 and 1
 * @param[in]  n      number of customers
 * @param[in]  frequency, recency, T, monetary_value  as churn_clv_score()
 * @param[out] out    the output arrays (see ::churn_clv_intervals)
 * @return ::CHURN_OK; ::CHURN_EINVAL (NULL input, level outside (0, 1), every
 *         output NULL, and everything churn_clv_score() refuses, named as it
 *         does); ::CHURN_EFAMILY (the argument named);
 *         ::CHURN_EUNSUPPORTED (a model without a covariance matrix, named
 *         'btyd' or 'spend': given parameters, or a fit without a
 *         positive-definite Hessian); ::CHURN_EFORMAT (a covariance entry that
 *         is not finite, or a negative variance, named); ::CHURN_ENUMERIC (a
 *         prediction that is not finite at a moved parameter, naming the rows
 *         and the parameter); ::CHURN_ENOMEM. Thread-safe.
 * @since 1.3
 */
CHURN_API int churn_clv_interval(const churn_model *btyd, const churn_model *spend,
                                 const churn_clv_options *opts, double level, size_t n,
                                 const double *frequency, const double *recency,
                                 const double *T, const double *monetary_value,
                                 const churn_clv_intervals *out);

/**
 * churn_clv_interval() for a BTYD model with static covariates: each customer
 * is valued at its own parameters as churn_clv_score_covariates() does (the
 * point values are that function's bit for bit), and the intervals come from
 * the covariance of every fitted BTYD parameter (the base parameters and all
 * the coefficients) and of the Gamma-Gamma parameters.
 *
 * Method: as churn_clv_interval(), with the BTYD gradient taken in (log base
 * parameters, coefficients): a base parameter is moved by a factor
 * exp(+-1e-4), a coefficient by +-1e-4, and each moved model scores the
 * customers with their own covariates (docs/models/intervals.md, "Covariate
 * models"). A coefficient shared by both processes is stored twice with
 * perfectly correlated entries, so its effect through both processes counts.
 * A plain model (cov may then be NULL) gives churn_clv_interval()'s results.
 *
 * Cost: 2 k + 1 churn_clv_score_covariates() passes (k = base parameters +
 * coefficients), in blocks of 256 customers, plus the Gamma-Gamma part;
 * memory about (3 k + 16 + covariates) x 256 doubles plus 5 n.
 *
 * @param[in]  btyd   a Pareto/NBD, BG/NBD, MBG/NBD or Gamma-Gompertz/NBD model fitted
 *                    with churn_btyd_fit_covariates() (or a plain one), with a
 *                    covariance matrix
 * @param[in]  cov    the n customers' covariates, matched by name (covariates.h)
 * Other parameters, outputs and errors as churn_clv_interval(); a missing or
 * non-finite covariate is refused as churn_clv_score_covariates() refuses it,
 * naming the row and the covariate. Thread-safe.
 * @since 1.3
 */
CHURN_API int churn_clv_interval_covariates(const churn_model *btyd, const churn_model *spend,
                                            const churn_clv_options *opts, double level,
                                            size_t n, const double *frequency,
                                            const double *recency, const double *T,
                                            const double *monetary_value,
                                            const churn_btyd_covariates *cov,
                                            const churn_clv_intervals *out);

/**
 * Bootstrap intervals of the CLV scores: the n_fit customers the models were
 * fitted to are resampled with replacement `resamples` times; for each resample
 * the BTYD model's family is refitted (default options, no standard errors) and,
 * when `spend` is given, a Gamma-Gamma model is refitted to the same resampled
 * customers (a customer's history and spend travel together); the n scored
 * customers are scored with churn_clv_score() and every pair of refits, and the
 * limits are the (1 - level)/2 and (1 + level)/2 percentiles (linear
 * interpolation) of each score. The point values written to `out` are
 * churn_clv_score() with the given models. Each resample has its own random
 * stream (from opts->seed and its number), so the limits depend on the seed
 * only, whatever the number of threads. A resample whose refit or scores fail is
 * left out and counted in *failed.
 *
 * Like churn_clv_interval() the interval is the uncertainty of the estimated
 * parameters, here without the delta method's normal approximation
 * (docs/models/intervals.md).
 *
 * Cost: `resamples` BTYD fits and Gamma-Gamma fits of n_fit customers and
 * scoring passes of n; memory 5 x resamples x n doubles.
 * @param[in]  btyd     a fitted BG/NBD, MBG/NBD, Pareto/NBD or Gamma-Gompertz/NBD
 *                      model (its family is refitted; its parameters give the point
 *                      values; its time unit is given to the refits)
 * @param[in]  spend    a fitted Gamma-Gamma model, or NULL (monetary_value is then
 *                      each customer's expected spend, exact, and only the BTYD
 *                      model is refitted)
 * @param[in]  clv_opts CLV settings or NULL, as churn_clv_score()
 * @param[in]  n_fit    customers the models were fitted to (>= 2)
 * @param[in]  frequency_fit, recency_fit, T_fit, monetary_fit  their histories and
 *                      mean spends (as churn_gammagamma_fit() reads them)
 * @param[in]  n        customers to score
 * @param[in]  frequency, recency, T, monetary_value  as churn_clv_score()
 * @param[in]  opts     resamples, seed, threads and level, or NULL for the defaults
 * @param[out] out      the output arrays (see ::churn_clv_intervals)
 * @param[out] failed   resamples left out, or NULL
 * @return ::CHURN_OK; ::CHURN_EINVAL (NULL, every output NULL, bad option named, a
 *         bad scored or fitting row named); ::CHURN_EFAMILY; ::CHURN_ENOCONV (half
 *         the resamples or more could not be refitted or scored); ::CHURN_ENOMEM.
 *         Thread-safe.
 * @since 1.3
 */
CHURN_API int churn_clv_bootstrap_interval(const churn_model *btyd, const churn_model *spend,
                                           const churn_clv_options *clv_opts, size_t n_fit,
                                           const double *frequency_fit,
                                           const double *recency_fit, const double *T_fit,
                                           const double *monetary_fit, size_t n,
                                           const double *frequency, const double *recency,
                                           const double *T, const double *monetary_value,
                                           const churn_bootstrap_options *opts,
                                           const churn_clv_intervals *out, size_t *failed);

/**
 * Contractual CLV from a shifted-beta-geometric model: value per period ×
 * discounted expected residual lifetime (churn_sbg_derl(); Fader & Hardie
 * 2010, "Customer-base valuation in a contractual setting").
 *
 * @param[in]  sbg               a fitted ::CHURN_FAMILY_SBG model
 * @param[in]  value_per_period  margin earned per period from an active customer (finite)
 * @param[in]  discount          discount rate per period (≥ 0)
 * @param[in]  n                 number of customers
 * @param[in]  periods           n renewals made so far (as churn_sbg_derl())
 * @param[out] clv               n values
 * @return as churn_sbg_derl(), plus ::CHURN_EINVAL for a non-finite value
 * @since 1.0
 */
CHURN_API int churn_clv_contractual(const churn_model *sbg, double value_per_period,
                                    double discount, size_t n, const double *periods,
                                    double *clv);

/**
 * Discounted expected residual transactions (DERT) with continuous
 * discounting: DERT = ∫_0^∞ e^{-delta t} dE[X(T, T + t) | history], the
 * present value of the customer's future purchases counted in units of one
 * purchase (Fader, Hardie & Lee 2005, "RFM and CLV").
 *  - Pareto/NBD: the closed form of FHL 2005, with the confluent
 *    hypergeometric function of the second kind U(s, s; delta (beta + T)).
 *  - Gamma-Gompertz/NBD (since 1.3): P(alive) (r+x)/(alpha+T) times
 *    ∫_0^∞ e^{-delta u} S_T(u) du, S_T the survival of the remaining
 *    lifetime, by one adaptive quadrature per customer (1e-11).
 *  - BG/NBD and MBG/NBD: the integral
 *    delta ∫_0^∞ e^{-delta t}
 *    E[X(T, T + t) | history] dt (integrated by parts) evaluated by adaptive
 *    quadrature (relative tolerance 1e-10); a few hundred model evaluations
 *    per customer.
 *  - MBG/CNBD-k (since 1.3): P(alive) times one integral over the purchase
 *    rate of the closed geometric sum over future purchases, whose Beta mean
 *    over the dropout probability is itself a quadrature (relative tolerance
 *    1e-10; about 15 ms a customer; docs/models/mbgcnbdk.md).
 *
 * @param[in]  model   fitted Pareto/NBD, BG/NBD, MBG/NBD, Gamma-Gompertz/NBD or
 *                     (since 1.3) MBG/CNBD-k model
 * @param[in]  delta   continuously compounded discount rate per model time unit (> 0);
 *                     from a rate d per period of P units, delta = log(1 + d) / P
 * @param[in]  n       number of customers
 * @param[in]  frequency, recency, T  customer histories (btyd.h)
 * @param[out] dert    n values
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_EFAMILY, ::CHURN_ENUMERIC, ::CHURN_ENOMEM
 * @since 1.0
 */
CHURN_API int churn_dert(const churn_model *model, double delta, size_t n,
                         const double *frequency, const double *recency, const double *T,
                         double *dert);

/* ==== value tiers ========================================================= */

/** Name of a ::churn_value_tier (customers.h): "key", "important",
 *  "ordinary"; "" for anything else. Static string. @since 1.0 */
CHURN_API const char *churn_tier_name(int tier);

/**
 * Assign value tiers (::churn_value_tier of customers.h) by any value, e.g.
 * CLV, with the customer table's rule for `value_tier`: a customer is
 * ::CHURN_TIER_KEY when fewer than key_fraction × n customers have a strictly
 * larger value, ::CHURN_TIER_IMPORTANT when fewer than (key_fraction +
 * important_fraction) × n do, else ::CHURN_TIER_ORDINARY (ties at a boundary
 * go to the better tier). The usual choice is 0.2 and 0.3: the top 20% are
 * key accounts, the next 30% important.
 *
 * @param[in]  n                   number of customers
 * @param[in]  value               n finite values (e.g. CLV)
 * @param[in]  key_fraction        in [0, 1]
 * @param[in]  important_fraction  in [0, 1 - key_fraction]
 * @param[out] tier                n ::churn_value_tier values (may be NULL)
 * @param[out] key_share           share of the total value held by the key tier
 *                                 (0 when the total is not positive); may be NULL
 * @return ::CHURN_OK, ::CHURN_EINVAL (naming the row or argument), ::CHURN_ENOMEM
 * @since 1.0
 */
CHURN_API int churn_tiers_assign(size_t n, const double *value, double key_fraction,
                                 double important_fraction, int *tier, double *key_share);

/* ==== alert rules ========================================================= */

/** A set of alert rules (conditions on named per-customer fields). @since 1.0 */
typedef struct churn_alerts churn_alerts;

/** Comparison operators of alert rules. Values are frozen. @since 1.0 */
typedef enum churn_alert_op {
    CHURN_ALERT_LT = 1, /**< field <  threshold */
    CHURN_ALERT_LE = 2, /**< field <= threshold */
    CHURN_ALERT_GT = 3, /**< field >  threshold */
    CHURN_ALERT_GE = 4, /**< field >= threshold */
    CHURN_ALERT_EQ = 5, /**< field == threshold */
    CHURN_ALERT_NE = 6  /**< field != threshold */
} churn_alert_op;

/** At most this many rules per set (one bit each in a uint64_t mask). @since 1.0 */
#define CHURN_ALERTS_MAX 64

/**
 * Create an empty rule set.
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_ENOMEM
 * @since 1.0
 */
CHURN_API int churn_alerts_new(churn_alerts **out);

/** Free a rule set. NULL is a no-op. @since 1.0 */
CHURN_API void churn_alerts_free(churn_alerts *alerts);

/**
 * Append a rule "field op threshold". Rule i sets bit i (1 << i) of the masks
 * churn_alerts_evaluate() returns.
 * @param[in] name       rule name for reports (copied; non-empty, no ';')
 * @param[in] field      name of the per-customer field it tests (copied)
 * @param[in] op         a ::churn_alert_op
 * @param[in] threshold  finite
 * @return ::CHURN_OK, ::CHURN_EINVAL (naming the bad argument), ::CHURN_ERANGE
 *         (already ::CHURN_ALERTS_MAX rules), ::CHURN_ENOMEM
 * @since 1.0
 */
CHURN_API int churn_alerts_add(churn_alerts *alerts, const char *name, const char *field,
                               int op, double threshold);

/**
 * Append a rule written as text: "[name:] field op threshold", with op one
 * of < <= > >= == !=, e.g. "dormant: p_alive < 0.3". Without a name the
 * rule's text (blanks removed) names it.
 * @return as churn_alerts_add(), ::CHURN_EFORMAT for unparsable text (quoted
 *         in the message)
 * @since 1.0
 */
CHURN_API int churn_alerts_add_text(churn_alerts *alerts, const char *rule);

/**
 * Append the three standard warning signals: "p_alive_low: p_alive < 0.3",
 * "overdue: overdue_ratio > 2" (a gap twice the customer's own rhythm) and
 * "spend_down: spend_trend < -0.333333" (spend in the recent trend window
 * down by more than half against the window before). customers.h defines
 * spend_trend = (recent - prior) / (recent + prior), so a drop of a fraction
 * f (recent = (1 - f) prior) is spend_trend = -f / (2 - f): -1/3 for 50%.
 * @since 1.0
 */
CHURN_API int churn_alerts_add_defaults(churn_alerts *alerts);

/** Number of rules (0 for NULL). @since 1.0 */
CHURN_API size_t churn_alerts_num_rules(const churn_alerts *alerts);

/**
 * Describe rule `i`. Strings are owned by the rule set. Any output may be NULL.
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_ERANGE (no rule i)
 * @since 1.0
 */
CHURN_API int churn_alerts_rule(const churn_alerts *alerts, size_t i, const char **name,
                                const char **field, int *op, double *threshold);

/**
 * Evaluate every rule for n customers. Fields are looked up by name among
 * the `ncols` columns given; a NaN field value never fires a rule (e.g. the
 * overdue ratio of a one-time buyer, who has no rhythm yet). Cost: one
 * comparison per rule and customer — cheap enough to re-run on every order
 * (n = 1 with pointers to the customer's values).
 *
 * @param[in]  alerts   the rule set
 * @param[in]  n        number of customers
 * @param[in]  ncols    number of named columns
 * @param[in]  names    ncols column names
 * @param[in]  columns  ncols pointers to n doubles each
 * @param[out] fired    n masks: bit i set when rule i fired for that customer
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_ENOTFOUND (a rule's field is not
 *         among the columns; names the rule and field)
 * @since 1.0
 */
CHURN_API int churn_alerts_evaluate(const churn_alerts *alerts, size_t n, size_t ncols,
                                    const char *const *names, const double *const *columns,
                                    uint64_t *fired);

/**
 * Evaluate every rule for one customer on the per-order path: the fields come
 * from the caller's scores for this customer (`names`/`scores`, e.g. p_alive,
 * expected_purchases, clv, value_at_risk from churn_clv_score()) and from the
 * customer's incremental state as of `cutoff` (the columns of
 * churn_customer_state_values(), e.g. overdue_ratio). A name among the
 * scores wins over a state column of the same name.
 *
 * A rule whose field is a customer-table column that the state cannot give
 * (churn_customer_state_column_index() = -1: the trend windows such as
 * spend_trend of the default rule "spend_down", gap_median, n_products,
 * scores, tiers, labels) and that the caller did not pass among the scores is
 * **not evaluated**: its bit is set in `*skipped`, never in `*fired`. No rule
 * is evaluated on an approximation of a column (a windowed spend trend would
 * need the customer's history). So the default rules
 * (churn_alerts_add_defaults()) run on a state: p_alive_low from the scores,
 * overdue from the state, spend_down skipped (or evaluated, when the caller
 * passes its own exact "spend_trend" among the scores).
 * churn_alerts_needs_history() says which rules these are before any
 * evaluation. A NaN field never fires a rule, as in churn_alerts_evaluate().
 *
 * Cost: one churn_customer_state_values() plus one comparison per rule and a
 * string comparison per rule and score name; no allocation (about 0.1 us for
 * the default rules).
 *
 * @param[in]  alerts   the rule set
 * @param[in]  state    the customer's state (customers.h), with at least one order
 * @param[in]  cutoff   seconds since the epoch, as churn_customer_state_values()
 * @param[in]  nscores  number of named scores (may be 0)
 * @param[in]  names    nscores names (may be NULL when nscores is 0)
 * @param[in]  scores   nscores values
 * @param[out] fired    bit i set when rule i fired
 * @param[out] skipped  bit i set when rule i was not evaluated (see above)
 * @return ::CHURN_OK; ::CHURN_EINVAL (NULL argument, and the errors of
 *         churn_customer_state_values() when a rule reads the state);
 *         ::CHURN_ENOTFOUND (a rule's field is neither a score given nor a
 *         customer-table column; names the rule and field)
 * Thread-safe for a built rule set.
 * @since 1.2
 */
CHURN_API int churn_alerts_evaluate_state(const churn_alerts *alerts,
                                          const churn_customer_state *state, double cutoff,
                                          size_t nscores, const char *const *names,
                                          const double *scores, uint64_t *fired,
                                          uint64_t *skipped);

/**
 * Which rules churn_alerts_evaluate_state() cannot evaluate from a state
 * alone: bit i set when rule i tests a customer-table column that the
 * incremental state does not provide (churn_customer_state_column_index() =
 * -1, e.g. "spend_down" on spend_trend among the defaults). Such a rule
 * applies to a customer table (churn_alerts_evaluate()) or to a caller who
 * passes the column among the scores.
 * @param[out] mask  the rules
 * @return ::CHURN_OK, ::CHURN_EINVAL (NULL argument)
 * @since 1.2
 */
CHURN_API int churn_alerts_needs_history(const churn_alerts *alerts, uint64_t *mask);

/**
 * The names of the rules set in `fired`, joined with ';' (e.g.
 * "p_alive_low;overdue"; "" for 0), into a caller buffer.
 * @param[out] buf     destination (may be NULL when cap is 0)
 * @param[in]  cap     its capacity in bytes
 * @param[out] needed  bytes needed including the NUL (may be NULL)
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_ERANGE (buffer too small)
 * @since 1.0
 */
CHURN_API int churn_alerts_describe(const churn_alerts *alerts, uint64_t fired, char *buf,
                                    size_t cap, size_t *needed);

#ifdef __cplusplus
}
#endif

#endif /* CHURN_SPEND_H */
