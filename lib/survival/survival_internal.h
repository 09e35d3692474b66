/*
 * Private declarations shared by the survival sources. The files call
 * downward only (no two call each other):
 *
 *   predict.c       public predictions: dispatch to cox_predict.c and aft.c
 *   cox_zph.c       proportional-hazards test; calls cox.c
 *   cox_predict.c   Cox tests, baseline and prediction back ends
 *   cox.c           Cox fit; calls concordance.c
 *   aft.c           AFT fit and prediction back ends; calls concordance.c
 *   km.c            Kaplan-Meier curves and the log-rank test
 *   concordance.c   Harrell's concordance index
 *   surv_common.c   input checks, feature names, radix sort, SPD inverse,
 *                   chi-square tail
 *
 * and every file may call surv_common.c and core/.
 */
#ifndef CHURN_SURVIVAL_INTERNAL_H
#define CHURN_SURVIVAL_INTERNAL_H

#include "core/internal.h"

/* ---- surv_common.c ---- */

/* Check the common survival inputs: n >= 1, non-NULL arrays, finite
 * durations >= 0 (> 0 when `positive`), events exactly 0 or 1, weights finite
 * and >= 0. Messages name `fn`, the argument and the row. Counts the events
 * (weighted) into *events when not NULL. */
CHURN__HIDDEN int churn__surv_check(const char *fn, size_t n, const double *duration,
                                    const double *event, const double *weights, int positive,
                                    double *events);

/* Check n*p features are finite; the message names the row and the feature. */
CHURN__HIDDEN int churn__surv_check_x(const char *fn, size_t n, size_t p, const double *x,
                                      const churn_model *m);

/* The p feature names of a fit into `names` (p NULL entries): copies of
 * feature_names[j], or "x1".."xp" where it or its entry is NULL. On failure
 * the names made so far stay in `names` for the caller to free. */
CHURN__HIDDEN int churn__surv_feature_names(size_t p, const char *const *feature_names,
                                            char **names);

/* LSD radix sort of the n keys `k` (with the companion row indices `ix`
 * unless NULL), using scratch arrays `k2`/`ix2` of the same length. Stable.
 * Returns 1 when the result ended in the scratch arrays, 0 when in the
 * originals, -1 when out of memory (no error set). */
CHURN__HIDDEN int churn__radix_sort(size_t n, uint64_t *k, uint32_t *ix, uint64_t *k2,
                                    uint32_t *ix2);

/* Stable ascending order of n doubles by an LSD radix sort (ties keep input
 * order). `order` receives n row indices. n must be < 2^32. The keys must not
 * be NaN; -0.0 sorts as 0.0. */
CHURN__HIDDEN int churn__sort_order(size_t n, const double *keys, uint32_t *order);

/* Small dense symmetric positive-definite matrices (k x k, row-major) are
 * factored with churn__chol (core/linalg.c) at R's relative pivot tolerance
 * (toler.chol = eps^0.75, as in cholesky2), and solved with churn__chol_solve.
 * The inverse from the factor, made exactly symmetric (`col` is k doubles of
 * scratch): */
#define CHURN__SURV_CHOL_TOL 1.8189894035458617e-12
CHURN__HIDDEN void churn__spd_inverse(const double *L, double *inv, size_t k, double *col);

/* Regularised upper chi-square tail. */
CHURN__HIDDEN double churn__chisq_q(double x, double df);

/* ---- concordance.c ---- */

/* churn_concordance_index() without the input checks, optionally with the
 * rows' increasing-duration order already known (NULL: sorted here). */
CHURN__HIDDEN int churn__concordance_ordered(size_t n, const double *duration,
                                             const double *event, const double *score,
                                             const double *weights, int score_is_risk,
                                             const uint32_t *time_order, double *c_index,
                                             double *counts);

/* ---- this header ---- */

/* Family checks. */
static inline int churn__is_aft(int f)
{
    return f == CHURN_FAMILY_WEIBULL || f == CHURN_FAMILY_EXPONENTIAL ||
           f == CHURN_FAMILY_LOGLOGISTIC || f == CHURN_FAMILY_LOGNORMAL;
}

/* ---- cox.c ---- */

/* Hazard terms of one event time with dn tied deaths of total weight dw, the
 * risk-set sum S0 and the deaths' sum D0 of weighted risks (Breslow when
 * `breslow` or dn == 1, else Efron: the k-th death sees S0 - (k/dn) D0, with
 * the mean death weight). t receives h = sum mw / den_k, the Efron part
 * sum mw (k/dn) / den_k, and al, be, ga = sum mw {1, k/dn, (k/dn)^2} / den_k^2. */
CHURN__HIDDEN void churn__cox_tie_sums(int breslow, size_t dn, double dw, double S0,
                                       double D0, double *t);

/* ---- cox_predict.c and aft.c: per-family prediction back ends for
 * predict.c (inputs already checked) ---- */
CHURN__HIDDEN int churn__cox_predict(const churn_model *m, size_t n, const double *x,
                                     double horizon, double *surv, double *lp);
CHURN__HIDDEN int churn__cox_curve(const churn_model *m, const double *x, size_t nt,
                                   const double *times, double *surv, double *std_err);
CHURN__HIDDEN int churn__cox_median(const churn_model *m, size_t n, const double *x,
                                    double *median);
CHURN__HIDDEN int churn__aft_predict(const churn_model *m, size_t n, const double *x,
                                     double horizon, double *surv, double *lp);
CHURN__HIDDEN int churn__aft_curve(const churn_model *m, const double *x, size_t nt,
                                   const double *times, double *surv, double *std_err);
CHURN__HIDDEN int churn__aft_median(const churn_model *m, size_t n, const double *x,
                                    double *median);
CHURN__HIDDEN int churn__aft_mrl(const churn_model *m, size_t n, const double *x, double horizon,
                                 double *mrl);

/* Names of the model arrays written by cox.c and aft.c and read by predict.c
 * (docs/models/survival.md). */
#define CHURN__SURV_LOGLIK_NULL "loglik_null"
#define CHURN__SURV_CONCORDANCE "concordance"
#define CHURN__SURV_NEVENTS "n_events"

#endif
