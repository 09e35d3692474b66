/*
 * Private interface of the btyd stage. Between the family-independent files
 * (btyd.c: the public entry points and the family table; fit.c: maximum
 * likelihood; checks.c: the input checks) and each family's mathematics
 * (bgnbd.c for BG/NBD and MBG/NBD, pnbd.c for Pareto/NBD, ggomnbd.c for
 * Gamma-Gompertz/NBD, bgbb.c, sbg.c).
 *
 * Parameters are passed on their natural scale (all > 0); the optimiser works
 * on log-parameters, so `loglik` returns the gradient with respect to
 * log(params): d ll / d log(p_j) = p_j * d ll / d p_j.
 */
#ifndef CHURN_BTYD_INTERNAL_H
#define CHURN_BTYD_INTERNAL_H

#include "core/internal.h"

/* A family's log-likelihood with its analytic Hessian in the log-parameters
 * (hess, k x k row-major): Newton then needs one evaluation per iteration. */
typedef int (*churn__btyd_hess_fn)(const double *p, size_t n, const double *x, const double *tx,
                                   const double *T, const double *w, double *ll, double *grad,
                                   double *hess);

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
    /* loglik with its analytic Hessian, or NULL: the fit then takes finite
     * differences of the gradient (BG/NBD and MBG/NBD have one). */
    churn__btyd_hess_fn loglik_hess;
    /* P(alive) and E[X(T, T + t[j]) | x, tx, T] for nh horizons at once,
     * sharing what the horizons have in common; the values of p_alive and
     * cond_expected to within rounding (1e-12 relative, tests/test_spend.c).
     * NULL: the caller loops over cond_expected. */
    void (*cond_expected_path)(const double *params, size_t nh, const double *t, double x,
                               double tx, double T, double *pa, double *expected);
    /* 0, or for a family whose evaluations are costly (Pareto/NBD, BG/NBD,
     * MBG/NBD): on data with at least 4 times as many distinct rows, the fit
     * first fits a systematic subsample of max(this, n/8) rows and starts
     * from its optimum, and Newton uses large_hess when loglik_hess is NULL
     * (fit.c). */
    size_t warm_start_rows;
    /* NULL, or whether loglik_hess costs about a few gradients at these
     * parameters; where it does not (Pareto/NBD near |z| -> 1, where its
     * quadrature rows take differences), the fit differences the gradient
     * instead (fit.c, objective_h). */
    int (*hess_cheap)(const double *params);
    /* NULL, or the analytic Hessian that the fit uses on data of at least
     * 4 x warm_start_rows distinct rows when loglik_hess is NULL (Pareto/NBD:
     * there it pays; loglik_hess stays NULL so that the other callers of the
     * descriptor keep differencing the gradient as before). The covariate fit
     * (covariates.c) uses it for each customer where hess_cheap allows
     * (Pareto/NBD; Gamma-Gompertz/NBD, whose warm_start_rows is 0 so that
     * fit.c never does). */
    churn__btyd_hess_fn large_hess;
} churn__btyd_family;

/* The descriptor of a CHURN_FAMILY_* (btyd.c), NULL for a family that is not one here. */
CHURN__HIDDEN const churn__btyd_family *churn__btyd_family_desc(int family);
CHURN__HIDDEN extern const churn__btyd_family churn__bgnbd_family;
CHURN__HIDDEN extern const churn__btyd_family churn__mbgnbd_family;
CHURN__HIDDEN extern const churn__btyd_family churn__pnbd_family;
CHURN__HIDDEN extern const churn__btyd_family churn__bgbb_family;
CHURN__HIDDEN extern const churn__btyd_family churn__sbg_family;
CHURN__HIDDEN extern const churn__btyd_family churn__ggomnbd_family;
/* MBG/CNBD-k (mbgcnbd.c): the 5-parameter descriptor (k, r, alpha, a, b) of
 * the predictions, and one 4-parameter descriptor (r, alpha, a, b) per fixed
 * k = 1..CHURN__MBGC_KMAX for the fit (k is chosen, not estimated). */
#define CHURN__MBGC_KMAX CHURN_MBGCNBD_KMAX
CHURN__HIDDEN extern const churn__btyd_family churn__mbgcnbd_family;
CHURN__HIDDEN extern const churn__btyd_family churn__mbgc_fit_family[CHURN__MBGC_KMAX];
/* Log-likelihood without the litt term, for fixed k (grad_log: 4 values). */
CHURN__HIDDEN int churn__mbgc_loglik_k(int k, const double *p, size_t n, const double *x,
                                       const double *tx, const double *T, const double *w,
                                       double *ll, double *grad_log);

/* Pareto/NBD P(alive at T + t | x, tx, T), in pnbd.c. */
/* BG/BB P(alive at opportunity n + m | x, t_x, n), m a whole number >= 0 (bgbb.c). */
CHURN__HIDDEN double churn__bgbb_p_alive_at(const double *params, double m, double x, double tx,
                                            double T);
CHURN__HIDDEN double churn__pnbd_p_alive_at(const double *params, double t, double x, double tx,
                                            double T);

/* ---- bgnbd.c: the fast scoring path of BG/NBD and MBG/NBD (used by btyd.c) ------ */

/* Scoring loop of churn_btyd_score (modified = 1 for MBG/NBD). Returns 0, or
 * 1 + the index of the first row that is invalid or gave a non-finite value. */
CHURN__HIDDEN size_t churn__bgnbd_score(const double *params, int modified, double t, size_t n,
                                       const double *x, const double *tx, const double *T,
                                       double *p_alive, double *expected);

/* E[X(T, T + t[j]) | alive at T, x, T] of BG/NBD (modified = 0) or MBG/NBD (1) at nh
 * horizons: the descriptor's cond_expected_path without its P(alive) factor, so that
 * cond_expected_path's expected[j] is exactly g[j] * p_alive(x, tx, T). Given alive at T the
 * posterior depends on x and T only, not t_x: churn_btyd_expected_purchases_path computes g
 * once for consecutive rows with the same (x, T) (the CLV orders its rows so, clv.c). */
CHURN__HIDDEN void churn__bgnbd_alive_path(const double *params, int modified, size_t nh,
                                           const double *t, double x, double T, double *g);

/* ---- checks.c: input checks shared by the entry points -------------------- */

/* A whole number >= 0 that a double represents exactly (NaN fails). */
CHURN__HIDDEN int churn__btyd_is_count(double v);
/* One (x, t_x, T) row. `discrete` = BG/BB (whole opportunities); `fitting`
 * requires T > 0 (a row with T = 0 carries no information). */
CHURN__HIDDEN int churn__btyd_check_row(const char *fn, int discrete, int fitting, size_t i,
                                        double x, double tx, double T);
CHURN__HIDDEN int churn__btyd_check_weight(const char *fn, size_t i, double w);
/* nparams finite positive parameters, as many as the family has. */
CHURN__HIDDEN int churn__btyd_check_params(const char *fn, const churn__btyd_family *fam,
                                           const double *params, size_t nparams);
/* A finite horizon >= 0; a whole number of opportunities for BG/BB. */
CHURN__HIDDEN int churn__btyd_check_horizon(const char *fn, int family, double t,
                                            const char *what);
/* The error of row i's prediction `what` that is not finite. */
CHURN__HIDDEN int churn__btyd_nonfinite(const char *fn, const char *what, size_t i);
/* An array argument that is NULL although there are n > 0 rows (a variable
 * `n` in scope). */
#define NEED(ptr) ((ptr) == NULL && n > 0)

/* ---- fit.c: maximum likelihood ----------------------------------------------- */

/* The most parameters a family has. */
#define CHURN__BTYD_MAXP 8

/* Validated rows with identical (x, t_x, T) collapsed into one weighted row. */
typedef struct churn__btyd_data {
    size_t n;        /* distinct rows */
    double *block;   /* one allocation holding the four arrays */
    double *x, *tx, *T, *w;
    double wsum;
} churn__btyd_data;

/* Rows are already validated. Zero-weight rows are dropped. */
CHURN__HIDDEN int churn__btyd_collapse(churn__btyd_data *d, size_t n, const double *x,
                                       const double *tx, const double *T, const double *w);
CHURN__HIDDEN void churn__btyd_data_free(churn__btyd_data *d);
/* covariates.c, shared with dyncov.c: the damped Newton direction (-H + mu I) d = g,
 * shortened to at most 2 in any coordinate (0, or -1 when no mu up to 1e10 max|H| makes
 * it positive definite; M is k x k scratch), the largest |v_j|, and the index of name s
 * among k names (or -1). */
CHURN__HIDDEN int churn__cov_newton_step(size_t k, const double *H, const double *g, double *d,
                                         double *M);
CHURN__HIDDEN double churn__cov_max_abs(size_t k, const double *v);
/* The caller's churn_btyd_cov_options over the defaults, the L2 penalties checked and
 * max_iter / tol defaulted (200, 1e-9), for the static and the time-varying fits. */
CHURN__HIDDEN int churn__cov_options(const char *fn, const churn_btyd_cov_options *user,
                                     churn_btyd_cov_options *o);
CHURN__HIDDEN int churn__cov_find_name(const char *const *names, size_t k, const char *s);
/* btyd.c, shared with covariates.c: MBG/CNBD-k's row checks (litt NULL: not checked) and
 * the part of its log-likelihood that only k changes, sum_i w_i [(k-1) litt_i - x_i
 * log((k-1)!)] (0 when k = 1). */
CHURN__HIDDEN int churn__mbgc_check_rows(const char *fn, int fitting, size_t n, const double *x,
                                         const double *tx, const double *T, const double *litt,
                                         const double *w);
/* The argument checks of churn_mbgcnbd_fit and churn_mbgcnbd_fit_covariates: out and the
 * histories not NULL, k in 0..KMAX, litt given unless k = 1. */
CHURN__HIDDEN int churn__mbgc_check_args(const char *fn, const void *out, int k, size_t n,
                                         const double *x, const double *tx, const double *T,
                                         const double *litt);
CHURN__HIDDEN double churn__mbgc_litt_term(int k, size_t n, const double *x, const double *litt,
                                           const double *w);
/* Copy the user's options over the defaults and check them. */
CHURN__HIDDEN int churn__btyd_options(churn_btyd_options *o, const churn_btyd_options *user,
                                      const char *fn);
/* The fit of family `fam` on collapsed data of total weight nobs (with the
 * family's analytic Hessian where it has one). */
CHURN__HIDDEN int churn__btyd_fit_collapsed(churn_model **out, const churn__btyd_family *fam,
                                            const churn__btyd_data *d, double nobs,
                                            const churn_btyd_options *o, const char *fn);

#endif
