/**
 * @file churn/metrics.h
 * @brief Evaluating churn scores out of sample: ROC AUC, log loss, Brier
 *        score, precision/recall at k, lift and cumulative gains,
 *        calibration tables, time-dependent AUC for survival models,
 *        BTYD holdout checks (by calibration frequency, aggregate tracking of
 *        repeat purchases), and a time-split comparison of several models.
 *
 * Conventions shared by every function here:
 *  - `label` arrays hold 0.0 or 1.0 (1 = the event, e.g. "churned"); any
 *    other value, NaN included, is ::CHURN_EINVAL naming the row.
 *  - `score` arrays hold any finite number where higher means "more likely
 *    label 1"; `prob` arrays hold probabilities in [0, 1].
 *  - `weight` arrays are optional (NULL = every row weighs 1); weights must
 *    be finite and ≥ 0 and must not all be 0. A weight is a frequency weight:
 *    a row of weight 2 counts like two identical rows.
 *  - Rows are counted from 0 in error messages ("row 17, 'score' is NaN").
 *  - n = 0 is ::CHURN_EINVAL ("empty input"), never a NaN result.
 *
 * Harrell's concordance index for survival models lives with the survival
 * models (survival.h); the time-dependent AUC here complements it.
 *
 * Threading: every function is reentrant; inputs are borrowed read-only, so
 * any number of threads may evaluate concurrently, also with a shared model.
 */
#ifndef CHURN_METRICS_H
#define CHURN_METRICS_H

#include "common.h"
#include "customers.h"
#include "model.h"
#include "txlog.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- classification metrics ------------------------------------------------ */

/**
 * Area under the ROC curve, computed exactly as the Mann-Whitney statistic:
 * the (weighted) fraction of (label 1, label 0) pairs in which the label-1 row
 * has the higher score, a tie counting 1/2. Equal to scikit-learn's
 * `roc_auc_score(label, score, sample_weight=weight)`. O(n log n).
 * All-equal scores give exactly 0.5.
 *
 * @param[in]  n       number of rows (> 0)
 * @param[in]  score   n finite scores, higher = more likely label 1
 * @param[in]  label   n labels, 0 or 1
 * @param[in]  weight  n weights ≥ 0, or NULL
 * @param[out] auc     the AUC in [0, 1]
 * @return ::CHURN_OK; ::CHURN_EINVAL for NULL arguments, empty input, a NaN or
 *         infinite score, a label other than 0/1, a negative or NaN weight
 *         (message names the row), or when only one class has positive weight
 *         (the AUC is undefined); ::CHURN_ENOMEM
 * @since 1.0
 */
CHURN_API int churn_metrics_roc_auc(size_t n, const double *score, const double *label,
                                    const double *weight, double *auc);

/** Probability clipping used by churn_metrics_log_loss(): predictions are
 *  clipped to [eps, 1 - eps] with eps = DBL_EPSILON (2.220446049250313e-16),
 *  as scikit-learn's `log_loss(eps="auto")` does for float64 input. @since 1.0 */
#define CHURN_METRICS_LOG_LOSS_EPS 2.220446049250313080847e-16

/**
 * Mean (weighted) negative log-likelihood of the labels under the predicted
 * probabilities, natural log:
 * −Σ w_i [y_i log p_i + (1 − y_i) log(1 − p_i)] / Σ w_i,
 * with p_i clipped to [::CHURN_METRICS_LOG_LOSS_EPS, 1 − eps] so a confident
 * wrong prediction costs at most −log(eps) ≈ 36.04 instead of infinity.
 * Matches scikit-learn's `log_loss(label, prob, sample_weight=weight)`.
 * A single class is allowed (the loss is still defined).
 *
 * @param[in]  n         rows (> 0)
 * @param[in]  prob      n probabilities of label 1, in [0, 1]
 * @param[in]  label     n labels, 0 or 1
 * @param[in]  weight    n weights ≥ 0, or NULL
 * @param[out] log_loss  the mean log loss, ≥ 0
 * @return ::CHURN_OK; ::CHURN_EINVAL (NULL, empty, NaN or out-of-range
 *         probability, bad label or weight, all weights 0; the row is named)
 * @since 1.0
 */
CHURN_API int churn_metrics_log_loss(size_t n, const double *prob, const double *label,
                                     const double *weight, double *log_loss);

/**
 * Brier score: the (weighted) mean squared difference between the predicted
 * probability and the 0/1 label, Σ w_i (p_i − y_i)² / Σ w_i. Matches
 * scikit-learn's `brier_score_loss(label, prob, sample_weight=weight)`.
 * Same arguments and errors as churn_metrics_log_loss().
 * @param[out] brier  the Brier score in [0, 1]
 * @since 1.0
 */
CHURN_API int churn_metrics_brier(size_t n, const double *prob, const double *label,
                                  const double *weight, double *brier);

/**
 * Precision and recall among the k highest-scored rows: precision = weighted
 * label-1 share of those rows, recall = their share of all label-1 weight.
 *
 * Ties at the boundary: when the k-th and (k+1)-th rows tie on score, the tied
 * group is split in proportion, i.e. it contributes the fraction of its weight
 * and of its label-1 weight that falls inside the top k rows. This is the
 * expected value under a random order of the tied rows and does not depend on
 * the input order.
 *
 * @param[in]  k          number of rows, 1 ≤ k ≤ n
 * @param[out] precision  may be NULL
 * @param[out] recall     may be NULL
 * @return ::CHURN_OK; ::CHURN_EINVAL (bad input as churn_metrics_roc_auc(),
 *         k out of range, recall requested with no label-1 weight, precision
 *         requested when the top k rows all have weight 0)
 * @since 1.0
 */
CHURN_API int churn_metrics_precision_recall_at_k(size_t n, const double *score,
                                                  const double *label, const double *weight,
                                                  size_t k, double *precision, double *recall);

/**
 * Lift and cumulative gains table over `nbins` equal-weight bins of the rows
 * ordered by decreasing score (nbins = 10 gives deciles; bin 0 is the top).
 *
 * Each bin holds exactly 1/nbins of the total weight (n/nbins rows when
 * unweighted, fractional when n is not a multiple of nbins). A group of rows
 * with tied scores that straddles a bin boundary is split across the bins in
 * proportion to the weight falling on each side, its label-1 weight too — the
 * expected value under a random order of the tied rows. So the table does not
 * depend on the input order, and all-equal scores give lift 1 in every bin.
 *
 * Every output array has `nbins` entries and may be NULL:
 * @param[out] bin_weight       weight (rows) in the bin
 * @param[out] positives        label-1 weight in the bin
 * @param[out] rate             positives / bin_weight
 * @param[out] lift             rate / overall label-1 rate (top-decile lift = lift[0])
 * @param[out] cumulative_gain  share of all label-1 weight in bins 0..b, in [0, 1]
 * @param[out] cumulative_lift  cumulative_gain / ((b + 1) / nbins)
 * @param[in]  nbins            1 ≤ nbins ≤ n
 * @return ::CHURN_OK; ::CHURN_EINVAL (bad input as churn_metrics_roc_auc(),
 *         nbins out of range, no label-1 weight so lift is undefined); ::CHURN_ENOMEM
 * @since 1.0
 */
CHURN_API int churn_metrics_lift_table(size_t n, const double *score, const double *label,
                                       const double *weight, size_t nbins, double *bin_weight,
                                       double *positives, double *rate, double *lift,
                                       double *cumulative_gain, double *cumulative_lift);

/** Binning strategies for churn_metrics_calibration(). @since 1.0 */
typedef enum churn_calibration_binning {
    /** nbins equal-width bins of [0, 1] with edges k/nbins; a probability equal to an
     *  inner edge belongs to the lower bin (right-closed, as scikit-learn's
     *  `calibration_curve(strategy="uniform")`); empty bins are allowed. */
    CHURN_CALIBRATION_UNIFORM = 0,
    /** nbins equal-weight bins of the rows sorted by probability, ties at a boundary
     *  split in proportion as in churn_metrics_lift_table(); no bin is empty. */
    CHURN_CALIBRATION_QUANTILE = 1
} churn_calibration_binning;

/**
 * Calibration table (reliability diagram): per bin of predicted probability,
 * the mean prediction and the observed label-1 rate, and the expected
 * calibration error ECE = Σ_b (W_b / W) |mean_predicted_b − observed_b|
 * (Naeini, Cooper & Hauskrecht 2015), weights W_b of the bins.
 *
 * Every output array has `nbins` entries and may be NULL. An empty bin
 * (only possible with ::CHURN_CALIBRATION_UNIFORM) has bin_weight 0 and NaN
 * mean_predicted and observed (no data), and adds nothing to the ECE.
 * @param[in]  prob            n probabilities in [0, 1]
 * @param[in]  nbins           ≥ 1 (≤ n for quantile bins)
 * @param[in]  binning         a ::churn_calibration_binning value
 * @param[out] lower           lower edge (uniform) or smallest prediction (quantile)
 * @param[out] upper           upper edge (uniform) or largest prediction (quantile)
 * @param[out] bin_weight      weight (rows) in the bin
 * @param[out] mean_predicted  weighted mean prediction in the bin
 * @param[out] observed        weighted label-1 rate in the bin
 * @param[out] ece             expected calibration error in [0, 1]; may be NULL
 * @return ::CHURN_OK; ::CHURN_EINVAL (bad input as churn_metrics_log_loss(),
 *         bad nbins or binning); ::CHURN_ENOMEM
 * @since 1.0
 */
CHURN_API int churn_metrics_calibration(size_t n, const double *prob, const double *label,
                                        const double *weight, size_t nbins, int binning,
                                        double *lower, double *upper, double *bin_weight,
                                        double *mean_predicted, double *observed, double *ece);

/* ---- survival metrics ------------------------------------------------------ */

/**
 * Cumulative/dynamic time-dependent AUC at a horizon t (Heagerty, Lumley &
 * Pepe 2000; IPCW estimator of Uno et al. 2007 and Hung & Chiang 2010):
 * the probability that a customer who churns by t (case: duration ≤ t,
 * event 1) has a higher marker than one still active after t (control:
 * duration > t), ties counting 1/2.
 *
 * Censoring is handled by inverse probability of censoring weights: each case
 * i weighs w_i / G(T_i−), where G is the Kaplan-Meier estimate of the
 * censoring survival function on these same rows (censorings at a time tied
 * with events are taken to happen after them, so G(T_i−), the probability of
 * being still uncensored just before T_i, is the right weight). Controls all
 * share 1/G(t), which cancels. Cases censored before t (duration ≤ t, event 0)
 * are neither cases nor controls. Without censoring this equals the ordinary
 * AUC of the marker against the label 1(duration ≤ t). O(n log n).
 *
 * @param[in]  n         rows (> 0)
 * @param[in]  duration  n finite durations ≥ 0 (time to event or censoring)
 * @param[in]  event     n event indicators, 0 (censored) or 1 (churned)
 * @param[in]  marker    n finite risk scores, higher = earlier churn
 *                       (e.g. P(churn by t), or a Cox linear predictor)
 * @param[in]  weight    n weights ≥ 0, or NULL
 * @param[in]  horizon   t > 0, in the unit of `duration`
 * @param[out] auc       the AUC at t, in [0, 1]
 * @return ::CHURN_OK; ::CHURN_EINVAL (bad input, the row named; no case or
 *         no control at this horizon); ::CHURN_ENOMEM
 * @since 1.0
 */
CHURN_API int churn_metrics_time_auc(size_t n, const double *duration, const double *event,
                                     const double *marker, const double *weight, double horizon,
                                     double *auc);

/* ---- BTYD holdout checks ----------------------------------------------------- */

/**
 * Predicted vs actual holdout purchases by calibration frequency, the check
 * of Fader, Hardie & Lee (2005, Figure 4): customers are grouped by repeat
 * frequency x = 0, 1, ..., max_frequency − 1 and "max_frequency or more"; for
 * each group the mean actual number of purchases in the holdout and the mean
 * conditional expectation E[X(T, T + holdout_length) | x, t_x, T] from
 * churn_btyd_expected_purchases().
 *
 * @param[in]  model           a fitted BG/NBD, MBG/NBD, Pareto/NBD or BG/BB model
 * @param[in]  holdout_length  holdout length in the model's time unit, > 0
 * @param[in]  n               customers (> 0)
 * @param[in]  frequency       n calibration frequencies x ≥ 0 (a fractional x
 *                             goes to the group of floor(x))
 * @param[in]  recency         n recencies t_x
 * @param[in]  T               n calibration ages T
 * @param[in]  actual          n actual holdout purchase counts ≥ 0
 * @param[in]  max_frequency   last group index (7 for the usual 0, 1, ..., 7+), 0..100000
 * @param[out] customers       max_frequency + 1 customer counts, or NULL
 * @param[out] mean_actual     max_frequency + 1 group means (NaN for an empty group), or NULL
 * @param[out] mean_expected   max_frequency + 1 group means (NaN for an empty group), or NULL
 * @param[out] mae             mean absolute error per customer,
 *                             Σ |expected_i − actual_i| / n; may be NULL
 * @return ::CHURN_OK; ::CHURN_EINVAL (bad row or argument, named);
 *         ::CHURN_EFAMILY; ::CHURN_ENOMEM
 * @since 1.0
 */
CHURN_API int churn_metrics_holdout_by_frequency(const churn_model *model, double holdout_length,
                                                 size_t n, const double *frequency,
                                                 const double *recency, const double *T,
                                                 const double *actual, size_t max_frequency,
                                                 double *customers, double *mean_actual,
                                                 double *mean_expected, double *mae);

/**
 * Options for churn_metrics_repeat_tracking(). Initialise with
 * CHURN_TRACKING_OPTIONS_INIT or churn_tracking_options_init(); zero means
 * default for every field.
 * @since 1.0
 */
typedef struct churn_tracking_options {
    size_t struct_size;
    double origin;        /**< start of period 1, seconds since the epoch
                               (default 0: midnight UTC of the earliest purchase's day) */
    double period_days;   /**< length of a period in days (default 7: weeks) */
    int every_transaction;/**< 0 (default): purchases on the same UTC calendar day by one
                               customer count once, as the BTYD models assume; 1: every
                               transaction counts */
} churn_tracking_options;

#define CHURN_TRACKING_OPTIONS_INIT { sizeof(churn_tracking_options), 0.0, 0.0, 0 }

/** Fill `opts` with the defaults. @since 1.0 */
CHURN_API void churn_tracking_options_init(churn_tracking_options *opts);

/**
 * Aggregate tracking of repeat purchases per period (Fader, Hardie & Lee 2005,
 * Figures 2 and 3), actual from a transaction log and expected from a BTYD model.
 *
 * Period p (p = 1..nperiods) ends at e_p = origin + p · period_days days.
 *  - Actual: a repeat purchase is every purchase of a customer after the first
 *    one (with the same-day rule of the options: the first purchase day's other
 *    purchases are not repeats, later days count once each).
 *    actual_cumulative[p−1] = number of repeat purchases made before e_p.
 *  - Expected: expected_cumulative[p−1] = Σ_i E[X(e_p − t0_i)] over customers
 *    whose first purchase t0_i is before e_p, with E[X(t)] the unconditional
 *    expectation for a new customer (churn_btyd_expected_purchases_new()),
 *    t in the model's time unit (churn_model_time_unit(); when it is 0,
 *    the model is taken to be in units of `period_days`).
 *  - The incremental arrays hold the per-period differences (period p alone).
 *
 * Every customer in the log takes part (filter the log first for a cohort).
 *
 * @param[in]  log                  transactions (at least one)
 * @param[in]  model                BG/NBD, MBG/NBD or Pareto/NBD model, or NULL
 *                                  (then the expected arrays must be NULL)
 * @param[in]  nperiods             number of periods (> 0)
 * @param[in]  opts                 options or NULL
 * @param[out] actual_cumulative    nperiods values, or NULL
 * @param[out] expected_cumulative  nperiods values, or NULL
 * @param[out] actual_incremental   nperiods values, or NULL
 * @param[out] expected_incremental nperiods values, or NULL
 * @return ::CHURN_OK; ::CHURN_EINVAL; ::CHURN_EFAMILY; ::CHURN_ENOMEM
 * @since 1.0
 */
CHURN_API int churn_metrics_repeat_tracking(const churn_txlog *log, const churn_model *model,
                                            size_t nperiods, const churn_tracking_options *opts,
                                            double *actual_cumulative,
                                            double *expected_cumulative,
                                            double *actual_incremental,
                                            double *expected_incremental);

/* ---- time-split comparison of churn models --------------------------------------- */

/**
 * How BTYD models turn into a churn probability in churn_metrics_compare().
 * @since 1.0
 */
typedef enum churn_btyd_churn_score {
    /** P(churn) = P(no purchase in the holdout | history) (default): the model's
     *  probability of exactly the churn label, churn_btyd_prob_purchases_cond() with
     *  k = 0 over the holdout length. */
    CHURN_BTYD_CHURN_NO_PURCHASE = 0,
    /** P(churn) = 1 − P(alive at the cutoff). A poor churn score for BG/NBD, where a
     *  customer with no repeat purchase is alive with probability 1 by construction
     *  (Fader, Hardie & Lee 2005), so one-time buyers, most of the churners, get
     *  P(churn) = 0; and an alive customer may still make no purchase in the holdout. */
    CHURN_BTYD_CHURN_NOT_ALIVE = 1
} churn_btyd_churn_score;

/**
 * Options for churn_metrics_compare(). Initialise with
 * CHURN_COMPARISON_OPTIONS_INIT or churn_comparison_options_init(); zero
 * means default for every field except the two dates, which are required.
 * @since 1.0
 */
typedef struct churn_comparison_options {
    size_t struct_size;
    double cutoff;        /**< end of calibration, seconds since the epoch (its UTC day
                               included, see customers.h); required */
    double holdout_end;   /**< end of the holdout, seconds since the epoch (its UTC day
                               included), a later day than the cutoff; required */
    double time_unit;     /**< time unit in days of the features and models (default 7) */
    const char *models;   /**< comma-separated families to fit: bgnbd, mbgnbd, pnbd, logit,
                               cox, weibull, exponential, loglogistic, lognormal
                               (default "bgnbd,pnbd,logit,cox") */
    const char *features; /**< comma-separated customer-table columns used by logit and the
                               survival models (default CHURN_COMPARISON_DEFAULT_FEATURES,
                               without monetary_value when some customer's spend is unknown:
                               a log without amounts, customers.h). A column given here that
                               is NaN for some customer is ::CHURN_EINVAL naming it */
    size_t folds;         /**< cross-fitting folds K for the supervised models (default 5);
                               1 = fit and score on the same customers (optimistic) */
    uint64_t seed;        /**< seed of the fold assignment (default 1) */
    int btyd_churn;       /**< a ::churn_btyd_churn_score (default NO_PURCHASE) */
    size_t lift_bins;     /**< bins of the lift table whose first bin gives
                               `top_decile_lift` (default 10) */
} churn_comparison_options;

#define CHURN_COMPARISON_OPTIONS_INIT \
    { sizeof(churn_comparison_options), 0.0, 0.0, 0.0, NULL, NULL, 0, 0, 0, 0 }

/** Default feature set of the supervised models in churn_metrics_compare(): the
 *  BTYD summary plus two signs of lapsing (customers.h defines the columns). @since 1.0 */
#define CHURN_COMPARISON_DEFAULT_FEATURES \
    "frequency,recency,T,monetary_value,overdue_ratio,orders_recent"

/** Fill `opts` with the defaults. @since 1.0 */
CHURN_API void churn_comparison_options_init(churn_comparison_options *opts);

/** Opaque result of churn_metrics_compare(). Immutable; may be read by many threads. @since 1.0 */
typedef struct churn_comparison churn_comparison;

/**
 * Time-based validation of several churn models on one holdout window.
 *
 * 1. Split: the customer table of `log` (customers.h) as of the cutoff, with
 *    holdout labels up to holdout_end. Customers first seen after the cutoff are
 *    not in it. The label is `churned` (no purchase in the holdout).
 * 2. Fit and score every listed model on these customers, giving each a
 *    probability of churn:
 *    - BTYD (bgnbd, mbgnbd, pnbd) are fitted on the calibration columns
 *      frequency, recency, T only, never seeing the holdout; P(churn) as set by
 *      ::churn_btyd_churn_score. They also predict the holdout purchase count
 *      E[X(T, T + τ) | x, t_x, T], τ = holdout length, scored by `holdout_mae`.
 *    - logit: logistic regression (unpenalised) of `churned` on the feature columns.
 *    - cox and the AFT families: survival models of the table's `duration` and
 *      `event` (with the default inactivity threshold, event = churned) on the
 *      feature columns; P(churn) = 1 − S(τ | x), the model's probability of a
 *      lifetime shorter than the holdout length (a monotone function of the
 *      risk score; its calibration as a label probability is approximate).
 *    The supervised models learn from the holdout labels, so they are
 *    cross-fitted: customers are shuffled (seed) into K folds and each fold is
 *    scored by a model fitted on the other folds. Every score is out of sample.
 * 3. Metrics, on the holdout labels of all customers: `auc`
 *    (churn_metrics_roc_auc()), `log_loss`, `brier`, `top_decile_lift`
 *    (lift[0] of churn_metrics_lift_table() with lift_bins bins), and for BTYD
 *    `holdout_mae` (mean absolute error of the predicted holdout purchases).
 *
 * A model whose fit fails does not fail the call: its status and message are
 * kept (churn_comparison_status(), churn_comparison_note()). When the caller
 * names no `features`, a default feature that is constant over the customers
 * (e.g. T when every customer was acquired the same day) or collinear with the
 * default features before it is dropped, and the note of each supervised model
 * names it; so is monetary_value when some customer's spend is unknown (a log
 * without amounts, customers.h). A feature the caller named is never dropped
 * (its fit fails with a message naming it; a NaN feature — an unknown spend —
 * fails the call with ::CHURN_EINVAL naming the feature and the customer). A
 * customer with a feature beyond 1e150 in magnitude (a fit squares its features,
 * and the square would overflow) is left out of the supervised fits and still
 * scored; the note of each supervised model counts them and names the first. A BTYD fit that
 * did not converge (::CHURN_ENOCONV) is still scored, with that status.
 *
 * @param[out] out   the comparison (free with churn_comparison_free()); NULL on failure
 * @param[in]  log   transactions
 * @param[in]  opts  options (the dates are required)
 * @return ::CHURN_OK; ::CHURN_EINVAL (missing dates, unknown model or feature
 *         name, fewer customers than folds, a holdout where every customer or
 *         none churned); ::CHURN_ENOTFOUND (feature column); ::CHURN_ENOMEM
 * @since 1.0
 */
CHURN_API int churn_metrics_compare(churn_comparison **out, const churn_txlog *log,
                                    const churn_comparison_options *opts);

/** Free a comparison. NULL is a no-op. @since 1.0 */
CHURN_API void churn_comparison_free(churn_comparison *c);

/** Number of models compared (0 for NULL). @since 1.0 */
CHURN_API size_t churn_comparison_num_models(const churn_comparison *c);

/** Short family name of model `i` ("bgnbd", "logit", ...); NULL when out of range. @since 1.0 */
CHURN_API const char *churn_comparison_model_name(const churn_comparison *c, size_t i);

/**
 * Status of model `i`: ::CHURN_OK, ::CHURN_ENOCONV (scored anyway), or the
 * error its fit or scoring failed with; ::CHURN_ERANGE when `i` is out of range.
 * @since 1.0
 */
CHURN_API int churn_comparison_status(const churn_comparison *c, size_t i);

/** Message about model `i` (why it failed, non-convergence); "" when none; NULL when
 *  out of range. @since 1.0 */
CHURN_API const char *churn_comparison_note(const churn_comparison *c, size_t i);

/**
 * One metric of model `i`: "auc", "log_loss", "brier", "top_decile_lift",
 * "holdout_mae" (BTYD only).
 * @param[out] value  the metric
 * @return ::CHURN_OK; ::CHURN_ERANGE (i); ::CHURN_ENOTFOUND (unknown metric);
 *         ::CHURN_EUNSUPPORTED (holdout_mae of a non-BTYD model); the model's
 *         own error status when it failed
 * @since 1.0
 */
CHURN_API int churn_comparison_value(const churn_comparison *c, size_t i, const char *metric,
                                     double *value);

/**
 * The model fitted on all customers (for its parameters; the scores of the
 * supervised models come from the cross-fitted folds). Owned by the
 * comparison; NULL when out of range or the fit failed.
 * @since 1.0
 */
CHURN_API const churn_model *churn_comparison_model(const churn_comparison *c, size_t i);

/**
 * The out-of-sample churn probabilities of model `i`, one per customer in
 * the order of churn_comparison_customers(). Owned by the comparison; NULL
 * when out of range or the model failed.
 * @since 1.0
 */
CHURN_API const double *churn_comparison_scores(const churn_comparison *c, size_t i);

/**
 * The customer table the models were evaluated on (with the holdout labels).
 * Owned by the comparison.
 * @since 1.0
 */
CHURN_API const churn_customers *churn_comparison_customers(const churn_comparison *c);

/** Holdout length in time units (τ). NaN for NULL. @since 1.0 */
CHURN_API double churn_comparison_holdout_length(const churn_comparison *c);

#ifdef __cplusplus
}
#endif

#endif /* CHURN_METRICS_H */
