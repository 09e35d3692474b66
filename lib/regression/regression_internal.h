/*
 * Private declarations shared by the logistic-regression sources
 * (include/churn/logit.h, docs/models/logit.md). Each helper below names the
 * file that owns it. The files call each other only downwards (no cycle):
 *
 *   fit.c            -> args.c, design.c, pass.c, newton.c, textbuf.c
 *   cv.c             -> args.c, design.c, pass.c, penalised.c, newton.c
 *   logit_predict.c  -> args.c
 *   report.c         -> (nothing here)
 *   newton.c         -> design.c, pass.c, penalised.c, diagnose.c
 *   diagnose.c       -> design.c, textbuf.c
 *   penalised.c      -> design.c, pass.c
 *   pass.c           -> design.c
 *   design.c, args.c, textbuf.c -> (nothing here)
 *
 * Everything works in an internal, standardised coordinate system:
 *   z_i = (1, (x_ij - c_j) / s_j for the kept columns j)
 * with c_j the weighted mean (0 without an intercept) and s_j the weighted
 * population SD (root mean square without an intercept); see design.c.
 */
#ifndef CHURN_REGRESSION_INTERNAL_H
#define CHURN_REGRESSION_INTERNAL_H

#include "core/internal.h"

/* LAPACK from OpenBLAS (Debian's libopenblas0 exports it), Fortran calling
 * convention with the hidden CHARACTER length arguments last. */
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info, size_t);
void dpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a, const int *lda,
             double *b, const int *ldb, int *info, size_t);
void dpotri_(const char *uplo, const int *n, double *a, const int *lda, int *info, size_t);
void dpstrf_(const char *uplo, const int *n, double *a, const int *lda, int *piv, int *rank,
             const double *tol, double *work, int *info, size_t);

/* R's glm.fit flags fitted probabilities within 10*DBL_EPSILON of 0 or 1
 * ("fitted probabilities numerically 0 or 1 occurred"); that is
 * |eta| > log((1 - eps)/eps) with eps = 10*DBL_EPSILON. */
#define LOGIT_EXTREME_ETA 33.7386

/* What churn__logit_pass() computes besides the loss. */
#define WANT_GRAD 1
#define WANT_HESS 2

/* ---- textbuf.c: small text buffer for notes and messages ------------------ */

typedef struct sbuf {
    char *s;
    size_t len, cap;
    int oom;
} sbuf;

/* Append formatted text; on allocation failure set b->oom and stop appending. */
CHURN__HIDDEN void churn__sb_printf(sbuf *b, const char *fmt, ...) CHURN__PRINTF(2, 3);

/* ---- design.c: the standardised design ------------------------------------ */

typedef struct logit_design {
    const double *x;
    size_t n, p, ld;
    int layout;
    const double *y;
    const double *w;  /* final weights (sample x class), n values, owned elsewhere */
    int intercept;
    size_t off;       /* 1 with an intercept, else 0 */
    size_t nkept;     /* kept feature columns */
    size_t k;         /* internal coordinates: off + nkept */
    size_t *col;      /* nkept kept column indices */
    double *center;   /* per kept column */
    double *scale;
    double *inv_scale;
    double *pf1, *pf2;/* per internal coordinate: L1 and L2 penalty factors (0 for b0) */
    int all_kept;     /* col[c] == c for every c */
    /* per original column (p values) */
    double *mean_all;   /* weighted (final weights) mean, used for centering */
    double *feature_mean;/* sample-weight mean, for contributions */
    double *sd_all;     /* weighted SD / RMS; 0 for dropped */
    unsigned char *dropped;
    size_t ndropped;
    double wsum;        /* sum of final weights */
    int integer_weights;/* every weight is an integer: R's rounded log-likelihood = weighted */
    size_t npos_rows;   /* rows with w > 0 */
} logit_design;

/* x[i, j] of the caller's matrix in either layout (design.c's accessor). */
static inline double churn__logit_xat(const logit_design *d, size_t i, size_t j)
{
    return d->layout == CHURN_LOGIT_ROW_MAJOR ? d->x[i * d->ld + j] : d->x[j * d->ld + i];
}

/* Moments, kept columns, centering, scaling and penalty factors of the design
 * (arguments as in design.c); on failure the design is freed. */
CHURN__HIDDEN int churn__logit_design_prepare(logit_design *d, const double *x, size_t n,
                                              size_t p, int layout, size_t ld, const double *y,
                                              const double *w, const double *sw,
                                              int want_feature_mean, int intercept,
                                              int standardize, const char *const *names,
                                              int check_finite);
CHURN__HIDDEN void churn__logit_design_free(logit_design *d);
/* Standardise rows t*stride, t = i0..i0+b-1, into Z (b x k, row-major). */
CHURN__HIDDEN void churn__logit_fill_block(const logit_design *d, size_t i0, size_t b,
                                           size_t stride, double *Z);
/* Name of internal coordinate j ("(Intercept)" or the kept column's name). */
CHURN__HIDDEN const char *churn__logit_coord_name(const logit_design *d,
                                                  const char *const *names, size_t j);
/* Internal coefficients beta to the caller's scale; out has 1 + p values. */
CHURN__HIDDEN void churn__logit_to_original(const logit_design *d, const double *beta,
                                            double *out);
/* Starting point: the intercept-only fit. */
CHURN__HIDDEN void churn__logit_null_start(const logit_design *d, double *beta);

/* ---- pass.c: workspace and one pass over the rows ------------------------- */

typedef struct logit_ws {
    size_t k, B;
    double *Z, *eta, *r;     /* block buffers: B*k, B, B */
    double *g, *H, *F;       /* gradient, Hessian (k*k), factor scratch (k*k) */
    double *Hsave;           /* Hessian of the last accepted pass (k*k) */
    double *gsave;
    double *delta, *dprev, *bprev, *b, *u, *tmp; /* k each */
    double *C;               /* k*k scratch for the rank check */
    int *piv;
} logit_ws;

typedef struct pass_res {
    double wsum;    /* sum of the weights visited */
    double loss;    /* (1/wsum) sum w_i * (-loglik_i) */
    double nll;     /* sum w_i * (-loglik_i) = deviance / 2 */
    double llr;     /* sum round(w_i) * loglik_i (R's binomial()$aic convention) */
    size_t extreme; /* positive-weight rows with |eta| > LOGIT_EXTREME_ETA */
} pass_res;

CHURN__HIDDEN int churn__logit_ws_alloc(logit_ws *ws, size_t k);
CHURN__HIDDEN void churn__logit_ws_free(logit_ws *ws);
/* Loss (and with `want`, gradient ws->g and Hessian ws->H) over the rows
 * 0, stride, 2*stride, ... */
CHURN__HIDDEN void churn__logit_pass(const logit_design *d, const double *beta, size_t stride,
                                     int want, logit_ws *ws, pass_res *res);

/* ---- penalised.c: the penalty, coordinate descent, the lambda path -------- */

typedef struct fit_spec {
    double lambda, alpha;
    int max_iter;
    double tol;
    int unpenalised;   /* lambda == 0: rank check, separation handling, covariance */
    int separation;    /* churn_logit_separation */
    int quiet;         /* warm-start subsample: no rank check / separation words */
} fit_spec;

/* lambda P(beta) of the internal coefficients. */
CHURN__HIDDEN double churn__logit_penalty_value(const logit_design *d, const fit_spec *s,
                                                const double *beta);
/* Minimise the penalised quadratic model around beta in b (u: k scratch). */
CHURN__HIDDEN void churn__logit_cd_quadratic(const logit_design *d, const fit_spec *s,
                                             const double *g, const double *H,
                                             const double *beta, double *b, double *u);
/* The L decreasing lambdas of a path from lambda_max down to ratio * lambda_max
 * (ratio 0: the default); allocates and frees its own workspace. */
CHURN__HIDDEN int churn__logit_lambda_path(const logit_design *d, double alpha, double ratio,
                                           size_t L, double *lambda);

/* ---- diagnose.c: collinearity and separation ------------------------------ */

/* Collinearity diagnosis on Z'WZ = H; CHURN_ENUMERIC naming the columns. */
CHURN__HIDDEN int churn__logit_rank_check(const logit_design *d, const double *H,
                                          const char *const *names, logit_ws *ws);
/* Does direction `dir` separate the classes? Counts boundary rows. */
CHURN__HIDDEN int churn__logit_sep_test(const logit_design *d, const double *dir, logit_ws *ws,
                                        size_t *nboundary);
/* Describe a separation found along `dir`: an error, or a note (note mode). */
CHURN__HIDDEN int churn__logit_separation_error(const logit_design *d, const fit_spec *s,
                                                const double *dir, size_t nboundary,
                                                const char *const *names, logit_ws *ws,
                                                sbuf *note);

/* ---- newton.c: the minimisation ------------------------------------------- */

typedef struct opt_res {
    int converged;
    int iterations;
    int separated;     /* separation detected (note mode) */
    pass_res last;     /* the pass at the last accepted point */
    double objective;
} opt_res;

/* Symmetric k x k matrix, Cholesky in place (LAPACK 'U' = row-major lower). */
CHURN__HIDDEN int churn__logit_chol(double *A, size_t k);
/* Minimise f + lambda P from beta (overwritten with the solution). */
CHURN__HIDDEN int churn__logit_optimise(const logit_design *d, const fit_spec *s, double *beta,
                                        size_t stride, logit_ws *ws, const char *const *names,
                                        opt_res *res, sbuf *note);

/* ---- args.c: argument checks, weights and names --------------------------- */

CHURN__HIDDEN int churn__logit_check_matrix_args(const char *fn, const double *x, size_t n,
                                                 size_t p, int layout, size_t *ld);
CHURN__HIDDEN int churn__logit_check_options(const char *fn, churn_logit_options *o,
                                             int need_penalty);
/* The elastic-net mixing alpha that the penalty option implies. */
CHURN__HIDDEN double churn__logit_opts_alpha(const churn_logit_options *o);
/* Labels, weights and the final weights w = sample weight x class weight. */
CHURN__HIDDEN int churn__logit_make_weights(const char *fn, const double *y, const double *sw,
                                            size_t n, int cw, double **out);
/* Default names "x1".."xp" when the caller gives none. */
CHURN__HIDDEN int churn__logit_make_names(const char *const *given, size_t p, char ***owned,
                                          const char *const **use);
CHURN__HIDDEN void churn__logit_free_names(char **nm, size_t p);

#endif
