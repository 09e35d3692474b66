/*
 * Special functions for the BTYD models (internal, hidden visibility).
 *
 * - log-space helpers (log-add-exp and friends);
 * - a log-scaled adaptive Gauss-Kronrod integrator for integrands whose
 *   magnitude spans hundreds of orders (likelihood pieces of customers with
 *   thousands of purchases);
 * - the Gauss hypergeometric function 2F1(a, b; c; z) for positive
 *   parameters and z < 1, returned as a logarithm;
 * - the Pareto/NBD "tail integral" J(t) = int_t^inf (alpha+tau)^-P (beta+tau)^-Q dtau
 *   (the 2F1 term of Schmittlein, Morrison & Colombo 1987 in the form of
 *   Fader & Hardie's likelihood note) with its derivatives.
 *
 * - GSL's lngamma, lnbeta, psi, psi_1, lnchoose behind their domain checks,
 *   and our own polygamma, incomplete beta/gamma and beta-density quadrature.
 *
 * Every function here is pure and thread-safe (no global state). None reaches
 * GSL's error handler: GSL is called only inside the domain where it reports
 * no error (see "GSL's error handler" in docs/abi.md).
 */
#ifndef CHURN_SPECIAL_H
#define CHURN_SPECIAL_H

#include "core/internal.h"

/* ---- log-space helpers ---------------------------------------------------- */

/* log(exp(a) + exp(b)) without overflow; -inf + -inf = -inf. */
static inline double churn__logaddexp(double a, double b)
{
    if (a < b) {
        double t = a;
        a = b;
        b = t;
    }
    if (b == -INFINITY)
        return a;
    return a + log1p(exp(b - a));
}

/* log(exp(a) - exp(b)) for a >= b (-inf when a == b). */
CHURN__HIDDEN double churn__logsubexp(double a, double b);

/* log(1 - exp(-x)) for x >= 0, accurate for small and large x
 * (Maechler 2012, "Accurately computing log(1 - exp(-|a|))"). */
CHURN__HIDDEN double churn__log1mexp(double x);

/* Digamma psi(x) for x > 0 (recurrence up to x >= 10, then the asymptotic
 * series, A&S 6.3.5 and 6.3.18); about 1e-15 relative. */
CHURN__HIDDEN double churn__digamma(double x);

/* Trigamma psi'(x) for x > 0, same method (A&S 6.4.6, 6.4.12). */
CHURN__HIDDEN double churn__trigamma(double x);

/* ---- log-scaled adaptive Gauss-Kronrod quadrature ------------------------- */

#define CHURN__QUAD_MAXCOMP 21 /* a value, 5 first and 15 second derivatives */

/* Integrand: returns log g0(u) (may be -inf) and, when ncomp > 1, fills
 * mult[k-1] for k = 1..ncomp-1 with g_k(u) / g0(u). The components are thus
 * g0 and g0 * mult[k]: a value and quantities such as its derivatives. */
typedef double (*churn__quad_fn)(double u, void *ctx, double *mult);

/* Integrate the ncomp components over [lo, hi] (finite, lo < hi) with a
 * global adaptive 7/15-point Gauss-Kronrod rule, every interval kept in its
 * own log scale. On return integral k = value[k] * exp(*log_scale).
 * Converged when every component's error estimate is <= rtol times the
 * integral of its absolute value. lg_err is the rounding error of the
 * log-integrand values (eps times the size of the terms summed in it): the
 * tolerance is raised to twice that noise floor, which would otherwise stop
 * convergence. Returns CHURN_OK, or CHURN_ENUMERIC when the integrand is not
 * finite or the tolerance was not reached (value still holds the best estimate). */
CHURN__HIDDEN int churn__quad_log(churn__quad_fn f, void *ctx, size_t ncomp, double lo, double hi,
                                  double rtol, double lg_err, double *value, double *log_scale);

/* ---- Gauss hypergeometric function ---------------------------------------- */

/* log 2F1(a, b; c; z) for a, b, c > 0 with c >= min(a, b), and z < 1 (the
 * function is then positive). Series (after a Pfaff transformation for
 * z < 0) away from z = 1, Euler's integral by adaptive quadrature near it.
 * Returns CHURN_OK, CHURN_EINVAL outside that domain, CHURN_ENUMERIC if
 * neither method reached double precision. */
CHURN__HIDDEN int churn__hyp2f1_log(double a, double b, double c, double z, double *log_value);

/* ---- the Pareto/NBD tail integral ----------------------------------------- */

/* J = int_t^inf (alpha + tau)^(-P) (beta + tau)^(-Q) dtau for alpha, beta > 0,
 * t >= 0, P, Q real with P + Q > 1. In hypergeometric form, for alpha >= beta,
 * J = (alpha+t)^(-a) / a * 2F1(a, Q; a+1; (alpha-beta)/(alpha+t)), a = P+Q-1
 * (Fader & Hardie 2005, "A note on deriving the Pareto/NBD model", section 3).
 * log_at = log(alpha + t), log_bt = log(beta + t) (callers have them already).
 * Writes log J and, when dlog != NULL, d log J / d(P, Q, alpha, beta).
 * Returns CHURN_OK or CHURN_ENUMERIC. */
CHURN__HIDDEN int churn__pnbd_tail(double P, double Q, double alpha, double beta, double t,
                                   double log_at, double log_bt, double *log_J, double *dlog);

/* The same in parts, for callers that combine several J in one logarithm:
 * J = exp(lpre) * S / (P + Q - 1), d[] = d log J / d(P, Q, alpha, beta)
 * (filled when want_grad). */
typedef struct churn__tail_parts {
    double lpre, S, d[4];
} churn__tail_parts;

CHURN__HIDDEN int churn__pnbd_tail_parts(double P, double Q, double alpha, double beta, double t,
                                         double log_at, double log_bt, int want_grad,
                                         churn__tail_parts *out);

/* log J with its gradient and Hessian (row-major 4 x 4) with respect to
 * (P, Q, alpha, beta). Exact sums on the series path; central differences of
 * the exact gradient on the quadrature path (|z| -> 1, ~1e-8 relative). */
CHURN__HIDDEN int churn__pnbd_tail_hess(double P, double Q, double alpha, double beta, double t,
                                        double log_at, double log_bt, double *log_J,
                                        double *grad, double *hess);

/* The coefficients of the Hessian series of one (P, Q) pair, kept across
 * calls that share P, Q, alpha >= beta or alpha < beta (the rows of one
 * purchase count in one likelihood pass): every further customer then pays
 * a power of z and ten multiply-adds per term instead of the recurrences
 * (and the recurrences past `cap` terms). The caller provides the memory:
 * c = cap x CHURN__TAIL_TABLE_WIDTH doubles, len = 0, PA = QB = 0; nothing
 * is allocated. One table per caller (not shared between threads). */
#define CHURN__TAIL_TABLE_WIDTH 10
typedef struct churn__tail_table {
    double PA, QB;           /* the oriented exponents the table is for */
    size_t len, cap;         /* entries filled, capacity */
    double *c;               /* cap x CHURN__TAIL_TABLE_WIDTH */
    double coef, hP, hQ, kPP, kPQ; /* the recurrences at entry len - 1 */
} churn__tail_table;

/* churn__pnbd_tail_hess through the table tb (NULL: none); the same values
 * to rounding (the terms are c_n z^n instead of a running product). */
CHURN__HIDDEN int churn__pnbd_tail_hess_table(churn__tail_table *tb, double P, double Q,
                                              double alpha, double beta, double t, double log_at,
                                              double log_bt, double *log_J, double *grad,
                                              double *hess);

/* Two tails with the same alpha, beta at once (P[k], Q[k], t[k], log_at[k],
 * log_bt[k] for k = 0, 1): the two series run in lockstep on vector lanes.
 * Same results as two churn__pnbd_tail_parts() calls. */
CHURN__HIDDEN int churn__pnbd_tail_pair(double alpha, double beta, const double *P, const double *Q,
                                        const double *t, const double *log_at,
                                        const double *log_bt, int want_grad,
                                        churn__tail_parts *out);

/* ---- GSL behind domain checks, and our own replacements ------------------- */

/* log Gamma(x) for x > 0 (+inf at +inf); NaN for x <= 0 or NaN. */
CHURN__HIDDEN double churn__lngamma(double x);
/* log B(a, b) for a, b > 0; NaN otherwise. */
CHURN__HIDDEN double churn__lnbeta(double a, double b);
/* Digamma psi(x) for x > 0; NaN otherwise. */
CHURN__HIDDEN double churn__psi(double x);
/* Trigamma psi'(x) for x > 0 (GSL inside 1e-150..1e150, churn__polygamma
 * outside); NaN otherwise. */
CHURN__HIDDEN double churn__psi_1(double x);
/* Polygamma psi^(n)(x) for n >= 0, x > 0 (n >= 2 by churn__polygamma). */
CHURN__HIDDEN double churn__psi_n(int n, double x);
/* Our polygamma psi^(n)(x) for 1 <= n <= 100, x > 0: recurrence to x >= 20,
 * then the asymptotic series (A&S 6.4.11); +-inf / 0 where it over/underflows. */
CHURN__HIDDEN double churn__polygamma(int n, double x);
/* log C(n, k) for integers 0 <= k <= n <= UINT_MAX given as doubles; NaN otherwise. */
CHURN__HIDDEN double churn__lnchoose(double n, double k);
/* Regularised incomplete beta I_x(a, b) for finite a, b > 0 and x in [0, 1]
 * (continued fraction, log-space prefactor: a result below DBL_MIN is 0, not
 * an error); NaN outside that domain or if the fraction does not converge. */
CHURN__HIDDEN double churn__beta_inc(double a, double b, double x);
/* log Gamma(a, x), the upper incomplete gamma function, for a > 0, x >= 0
 * (log Gamma(a) at x = 0, -inf at x = inf); NaN outside or without convergence. */
CHURN__HIDDEN double churn__log_gamma_upper(double a, double x);
/* log(Gamma(a, x) e^x) for a > 0, 0 <= x < inf, without the cancellation of
 * adding x to the log for large x (continued-fraction range); NaN as above. */
CHURN__HIDDEN double churn__log_gamma_upper_scaled(double a, double x);
/* Q(a, x) = Gamma(a, x) / Gamma(a) for a > 0 (1 for x <= 0); NaN as above. */
CHURN__HIDDEN double churn__gamma_q(double a, double x);

/* log h(p) of an integrand h, given p and q = 1 - p (each accurate near its 0). */
typedef double (*churn__beta_h_fn)(double p, double q, void *ctx);
/* log of int_0^1 h(p) p^(a-1) (1-p)^(b-1) dp for finite a, b > 0 and h smooth
 * on [0, 1] (bounded limits at the ends), which may change on the scale of
 * brk (0 < brk < 0.5, or 0 for none). The end singularities are removed by
 * p = s w^(1/a) on [0, s] and 1 - p = v^(1/b) / 2 on [1/2, 1] (s = brk or
 * 1/2), and each piece goes to churn__quad_log. CHURN_OK or CHURN_ENUMERIC. */
CHURN__HIDDEN int churn__beta_quad(churn__beta_h_fn h, void *ctx, double a, double b, double brk,
                                   double rtol, double *log_value);

#endif
