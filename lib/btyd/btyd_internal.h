/*
 * Private interface between the generic BTYD machinery (btyd.c: validation,
 * collapsing identical rows, optimisation, Hessian, standard errors, the
 * vectorised public predict functions) and each family's mathematics
 * (bgnbd.c for BG/NBD and MBG/NBD, pnbd.c for Pareto/NBD, bgbb.c, sbg in btyd.c).
 *
 * Parameters are passed on their natural scale (all > 0); the optimiser works
 * on log-parameters, so `loglik` returns the gradient with respect to
 * log(params): d ll / d log(p_j) = p_j * d ll / d p_j.
 */
#ifndef CHURN_BTYD_INTERNAL_H
#define CHURN_BTYD_INTERNAL_H

#include "core/internal.h"

typedef struct churn__btyd_family {
    int family;              /* CHURN_FAMILY_* */
    size_t nparams;
    const char *const *names;
    /* Weighted sum over rows of log L_i and (if grad_log != NULL) its gradient
     * with respect to log(params). Rows are already validated. Returns CHURN_OK,
     * or CHURN_ENUMERIC when the value is not finite at these parameters. */
    int (*loglik)(const double *params, size_t n, const double *x, const double *tx,
                  const double *T, const double *w, double *ll, double *grad_log);
    /* Per-customer predictions at natural-scale params. */
    double (*p_alive)(const double *params, double x, double tx, double T);
    double (*cond_expected)(const double *params, double t, double x, double tx, double T);
    double (*expected_new)(const double *params, double t);
    /* P(X(t) = k) for a new customer. Every member is required. */
    double (*pmf)(const double *params, double t, double k);
    /* P(X(T, T+t) = k | x, tx, T). */
    double (*cond_pmf)(const double *params, double t, double k, double x, double tx, double T);
} churn__btyd_family;

CHURN__HIDDEN extern const churn__btyd_family churn__bgnbd_family;
CHURN__HIDDEN extern const churn__btyd_family churn__mbgnbd_family;
CHURN__HIDDEN extern const churn__btyd_family churn__pnbd_family;
CHURN__HIDDEN extern const churn__btyd_family churn__bgbb_family;

/* Pareto/NBD P(alive at T + t | x, tx, T), in pnbd.c. */
CHURN__HIDDEN double churn__pnbd_p_alive_at(const double *params, double t, double x, double tx,
                                            double T);

#endif
