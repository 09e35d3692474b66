/**
 * @file churn/btyd.h
 * @brief Buy-till-you-die models: BG/NBD, MBG/NBD, Pareto/NBD (non-contractual,
 *        continuous time), BG/BB (discrete opportunities) and the shifted
 *        beta-geometric sBG (contractual).
 *
 * Data follow lifetimes' definitions (customers.h): `frequency` x = number of
 * repeat purchase periods, `recency` t_x = time from first to last purchase,
 * `T` = time from first purchase to the end of calibration, all in one time
 * unit (weeks for the published CDNOW fits). For BG/BB, T is the number of
 * transaction opportunities n and recency the opportunity of the last
 * transaction.
 *
 * Threading: fits are independent; predictions read a shared model and may
 * run concurrently from many threads.
 */
#ifndef CHURN_BTYD_H
#define CHURN_BTYD_H

#include "common.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Fitting options for every BTYD family. Initialise with
 * CHURN_BTYD_OPTIONS_INIT or churn_btyd_options_init(). Zero means "default"
 * for every numeric field.
 * @since 1.0
 */
typedef struct churn_btyd_options {
    size_t struct_size;
    int max_iter;        /**< optimiser iterations (default 500) */
    double tol;          /**< convergence tolerance on the gradient norm of the mean
                              log-likelihood (default 1e-10) */
    double l2_penalty;   /**< L2 penalty on the log-parameters, see churn_btyd_fit() (default 0) */
    int no_std_errors;   /**< 1: skip the Hessian and standard errors (default 0: compute them) */
} churn_btyd_options;

#define CHURN_BTYD_OPTIONS_INIT { sizeof(churn_btyd_options), 0, 0.0, 0.0, 0 }

/** Fill `opts` with the defaults. @since 1.0 */
CHURN_API void churn_btyd_options_init(churn_btyd_options *opts);

/**
 * Fit a BTYD model by maximum likelihood.
 *
 * @param[out] out        the fitted model (NULL on failure)
 * @param[in]  family     ::CHURN_FAMILY_BGNBD, ::CHURN_FAMILY_MBGNBD, ::CHURN_FAMILY_PNBD
 *                        or ::CHURN_FAMILY_BGBB
 * @param[in]  n          number of rows (customers, or patterns when weighted)
 * @param[in]  frequency  n repeat-purchase counts x ≥ 0
 * @param[in]  recency    n recencies 0 ≤ t_x ≤ T (t_x = 0 when x = 0)
 * @param[in]  T          n ages T > 0 (BG/BB: number of opportunities)
 * @param[in]  weights    n row weights ≥ 0 (number of customers with that row), or NULL
 * @param[in]  opts       options or NULL
 * @return ::CHURN_OK; ::CHURN_EINVAL naming the first bad row and column;
 *         ::CHURN_ENOCONV when the optimiser did not converge (the model is
 *         still returned in *out so the caller can inspect it);
 *         ::CHURN_ENUMERIC; ::CHURN_ENOMEM
 * @since 1.0
 */
CHURN_API int churn_btyd_fit(churn_model **out, int family, size_t n, const double *frequency,
                             const double *recency, const double *T, const double *weights,
                             const churn_btyd_options *opts);

/**
 * Probability that each customer is still alive at the end of calibration.
 * @param[out] p_alive  n values in [0, 1]
 * @return ::CHURN_OK, ::CHURN_EINVAL (bad row, named), ::CHURN_EFAMILY
 * @since 1.0
 */
CHURN_API int churn_btyd_p_alive(const churn_model *model, size_t n, const double *frequency,
                                 const double *recency, const double *T, double *p_alive);

/**
 * Conditional expected number of purchases in (T, T + t] given each
 * customer's history (for BG/BB: in the next t opportunities).
 * @param[in]  t         horizon in the model's time unit, ≥ 0
 * @param[out] expected  n values
 * @since 1.0
 */
CHURN_API int churn_btyd_expected_purchases(const churn_model *model, double t, size_t n,
                                            const double *frequency, const double *recency,
                                            const double *T, double *expected);

/**
 * P(alive) and conditional expected purchases in one pass (the scoring hot
 * path). Either output may be NULL.
 * @since 1.0
 */
CHURN_API int churn_btyd_score(const churn_model *model, double t, size_t n,
                               const double *frequency, const double *recency, const double *T,
                               double *p_alive, double *expected);

/**
 * Unconditional expected number of purchases E[X(t)] in (0, t] of a customer
 * who has just made a first purchase, for each of n horizons `t`.
 * @since 1.0
 */
CHURN_API int churn_btyd_expected_purchases_new(const churn_model *model, size_t n,
                                                const double *t, double *expected);

/**
 * Probability of exactly `k` purchases in (0, t] for a new customer,
 * P(X(t) = k), for each of n horizons.
 * @since 1.0
 */
CHURN_API int churn_btyd_prob_purchases(const churn_model *model, double k, size_t n,
                                        const double *t, double *prob);

/**
 * Probability of exactly `k` purchases in (T, T + t] given each customer's
 * history.
 * @since 1.0
 */
CHURN_API int churn_btyd_prob_purchases_cond(const churn_model *model, double k, double t,
                                             size_t n, const double *frequency,
                                             const double *recency, const double *T,
                                             double *prob);

/**
 * Pareto/NBD: probability that each customer is alive at the future time
 * T + t (t ≥ 0) given history.
 * @since 1.0
 */
CHURN_API int churn_pnbd_p_alive_at(const churn_model *model, double t, size_t n,
                                    const double *frequency, const double *recency,
                                    const double *T, double *p_alive);

/* ---- shifted beta-geometric (contractual) ---- */

/**
 * Fit sBG from per-customer lifetimes.
 * @param[in] n         customers (or patterns with weights)
 * @param[in] periods   number of periods each customer stayed: a churned customer who
 *                      left at the end of period t has t (≥ 1); a still-active customer
 *                      observed for t periods has t
 * @param[in] churned   1 = churned after `periods`, 0 = still active (censored)
 * @param[in] weights   n weights, or NULL
 * @since 1.0
 */
CHURN_API int churn_sbg_fit(churn_model **out, size_t n, const double *periods,
                            const int *churned, const double *weights,
                            const churn_btyd_options *opts);

/**
 * Fit sBG from a survivor curve: survivors[0] = cohort size at the start,
 * survivors[t] = customers still active after t periods (non-increasing).
 * @param[in] n  number of entries (≥ 2)
 * @since 1.0
 */
CHURN_API int churn_sbg_fit_survivors(churn_model **out, size_t n, const double *survivors,
                                      const churn_btyd_options *opts);

/**
 * sBG retention rates r_t = S(t)/S(t-1) and survival S(t) for t = 1..n.
 * Either output may be NULL.
 * @since 1.0
 */
CHURN_API int churn_sbg_curve(const churn_model *model, size_t n, double *retention,
                              double *survival);

/**
 * sBG discounted expected residual lifetime (DERL) of a customer who has
 * renewed `periods` times, at discount rate `discount` per period
 * (Fader & Hardie 2010, eq. 6): expected number of future payments, discounted.
 * @since 1.0
 */
CHURN_API int churn_sbg_derl(const churn_model *model, double discount, size_t n,
                             const double *periods, double *derl);

#ifdef __cplusplus
}
#endif

#endif /* CHURN_BTYD_H */
