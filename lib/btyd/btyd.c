/*
 * Buy-till-you-die models, the generic part: input validation, collapsing
 * identical rows into weights, maximum likelihood on log-parameters (damped
 * Newton with a finite-difference Hessian of the analytic gradient, refreshed
 * by BFGS updates), standard errors, the vectorised public predict functions,
 * and the shifted beta-geometric (sBG) contractual model.
 *
 * Each non-contractual family's mathematics lives in its own file (bgnbd.c,
 * pnbd.c, bgbb.c) behind the churn__btyd_family descriptor (btyd_internal.h).
 */
#include "btyd/btyd_internal.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_sf_psi.h>
#include <stdio.h>
#include <stdlib.h>

#define MAXP 8

/* Fast BG/NBD and MBG/NBD scoring loop, defined in bgnbd.c (declared here
 * rather than in btyd_internal.h, which is shared with pnbd.c). Returns 0, or
 * 1 + the index of the first row that is invalid or gave a non-finite value. */
CHURN__HIDDEN size_t churn__bgnbd_score(const double *params, int modified, double t, size_t n,
                                       const double *x, const double *tx, const double *T,
                                       double *p_alive, double *expected);
/* BG/NBD and MBG/NBD log-likelihood with its analytic Hessian in the
 * log-parameters (bgnbd.c): Newton then needs one evaluation per iteration. */
typedef int (*loglik_hess_fn)(const double *p, size_t n, const double *x, const double *tx,
                              const double *T, const double *w, double *ll, double *grad,
                              double *hess);
CHURN__HIDDEN int churn__bgnbd_loglik_hess(const double *p, size_t n, const double *x,
                                          const double *tx, const double *T, const double *w,
                                          double *ll, double *grad, double *hess);
CHURN__HIDDEN int churn__mbgnbd_loglik_hess(const double *p, size_t n, const double *x,
                                           const double *tx, const double *T, const double *w,
                                           double *ll, double *grad, double *hess);

/* ---- sBG (Fader & Hardie 2007, "How to project customer retention") ------ */

static const char *const sbg_names[] = {"alpha", "beta"};

/* Rows: x = periods t, tx = 1 when the customer churned at the end of period
 * t, 0 when still active after t periods (censored). F&H 2007, the sBG model:
 *   P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta)
 *   S(t)     = B(alpha, beta + t) / B(alpha, beta)                         */
static int sbg_loglik(const double *p, size_t n, const double *per, const double *churned,
                      const double *unused, const double *w, double *ll, double *grad)
{
    (void)unused;
    double al = p[0], be = p[1];
    double lb0 = gsl_sf_lnbeta(al, be);
    double psab = gsl_sf_psi(al + be), psb = gsl_sf_psi(be);
    double s = 0, ga = 0, gb = 0;
    for (size_t i = 0; i < n; i++) {
        double t = per[i], wi = w ? w[i] : 1.0;
        if (wi == 0)
            continue;
        double psabt = gsl_sf_psi(al + be + t);
        if (churned[i] != 0) {
            s += wi * (gsl_sf_lnbeta(al + 1, be + t - 1) - lb0);
            if (grad) {
                /* psi(a+1) - psi(a) = 1/a */
                ga += wi * (1.0 / al - psabt + psab);
                gb += wi * (gsl_sf_psi(be + t - 1) - psabt - psb + psab);
            }
        } else if (t > 0) {
            s += wi * (gsl_sf_lnbeta(al, be + t) - lb0);
            if (grad) {
                ga += wi * (psab - psabt);
                gb += wi * (gsl_sf_psi(be + t) - psabt - psb + psab);
            }
        }
    }
    *ll = s;
    if (grad) {
        grad[0] = ga * al;
        grad[1] = gb * be;
    }
    return isfinite(s) ? CHURN_OK : CHURN_ENUMERIC;
}

static const churn__btyd_family sbg_family = {
    CHURN_FAMILY_SBG, 2, sbg_names, sbg_loglik, NULL, NULL, NULL, NULL, NULL,
};

static const churn__btyd_family *family_desc(int family)
{
    switch (family) {
    case CHURN_FAMILY_BGNBD:
        return &churn__bgnbd_family;
    case CHURN_FAMILY_MBGNBD:
        return &churn__mbgnbd_family;
    case CHURN_FAMILY_PNBD:
        return &churn__pnbd_family;
    case CHURN_FAMILY_BGBB:
        return &churn__bgbb_family;
    case CHURN_FAMILY_SBG:
        return &sbg_family;
    default:
        return NULL;
    }
}

/* ---- validation ------------------------------------------------------------ */

/* A whole number >= 0 that a double represents exactly (NaN fails). */
static int is_count(double v) { return v >= 0 && v < 9.0e15 && (double)(int64_t)v == v; }

/* One (x, t_x, T) row. `discrete` = BG/BB (whole opportunities); `fitting`
 * requires T > 0 (a row with T = 0 carries no information). */
static int check_row(const char *fn, int discrete, int fitting, size_t i, double x, double tx,
                     double T)
{
    if (!is_count(x))
        return churn__error(CHURN_EINVAL, "%s: row %zu, column 'frequency': %g is not a whole "
                            "number >= 0", fn, i, x);
    if (!isfinite(T) || T < 0 || (fitting && T == 0))
        return churn__error(CHURN_EINVAL, "%s: row %zu, column 'T': %g must be a finite number "
                            "%s 0", fn, i, T, fitting ? ">" : ">=");
    if (discrete && !is_count(T))
        return churn__error(CHURN_EINVAL, "%s: row %zu, column 'T': %g is not a whole number of "
                            "transaction opportunities", fn, i, T);
    if (!isfinite(tx) || tx < 0)
        return churn__error(CHURN_EINVAL, "%s: row %zu, column 'recency': %g must be a finite "
                            "number >= 0", fn, i, tx);
    if (tx > T)
        return churn__error(CHURN_EINVAL, "%s: row %zu, column 'recency': %g exceeds T = %g", fn,
                            i, tx, T);
    if (x == 0 && tx != 0)
        return churn__error(CHURN_EINVAL, "%s: row %zu, column 'recency': %g must be 0 when "
                            "frequency is 0", fn, i, tx);
    if (discrete) {
        if (!is_count(tx))
            return churn__error(CHURN_EINVAL, "%s: row %zu, column 'recency': %g is not a whole "
                                "opportunity number", fn, i, tx);
        if (x > tx)
            return churn__error(CHURN_EINVAL, "%s: row %zu, column 'frequency': %g transactions "
                                "cannot happen in the first %g opportunities (recency)", fn, i,
                                x, tx);
    }
    return CHURN_OK;
}

static int check_weight(const char *fn, size_t i, double w)
{
    if (!isfinite(w) || w < 0)
        return churn__error(CHURN_EINVAL, "%s: row %zu, column 'weights': %g must be a finite "
                            "number >= 0", fn, i, w);
    return CHURN_OK;
}

/* ---- collapsing identical rows ---------------------------------------------- */

typedef struct btyd_row {
    double x, tx, T, w;
} btyd_row;

/* Order by x first: the family log-likelihoods cache everything that depends
 * on x alone (lgamma, digamma) and recompute it only when x changes. */
static int row_cmp(const void *pa, const void *pb)
{
    const btyd_row *a = pa, *b = pb;
    if (a->x != b->x)
        return a->x < b->x ? -1 : 1;
    if (a->T != b->T)
        return a->T < b->T ? -1 : 1;
    if (a->tx != b->tx)
        return a->tx < b->tx ? -1 : 1;
    return 0;
}

typedef struct btyd_data {
    size_t n;        /* distinct rows */
    double *block;   /* one allocation holding the four arrays */
    double *x, *tx, *T, *w;
    double wsum;
} btyd_data;

static void data_free(btyd_data *d)
{
    churn__free(d->block);
    memset(d, 0, sizeof *d);
}

/* Rows are already validated. Zero-weight rows are dropped. */
static int collapse(btyd_data *d, size_t n, const double *x, const double *tx, const double *T,
                    const double *w)
{
    memset(d, 0, sizeof *d);
    btyd_row *rows = churn__malloc(churn__mul_size(n ? n : 1, sizeof *rows));
    if (!rows)
        return churn__nomem("the BTYD fitting rows");
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        if (wi == 0)
            continue;
        rows[m].x = x[i];
        rows[m].tx = tx[i];
        rows[m].T = T[i];
        rows[m].w = wi;
        m++;
    }
    qsort(rows, m, sizeof *rows, row_cmp);
    size_t u = 0;
    for (size_t i = 0; i < m; i++) {
        if (u > 0 && row_cmp(&rows[u - 1], &rows[i]) == 0)
            rows[u - 1].w += rows[i].w;
        else
            rows[u++] = rows[i];
    }
    d->block = churn__malloc(churn__mul_size(4 * (u ? u : 1), sizeof(double)));
    if (!d->block) {
        churn__free(rows);
        return churn__nomem("the collapsed BTYD rows");
    }
    d->n = u;
    d->x = d->block;
    d->tx = d->x + u;
    d->T = d->tx + u;
    d->w = d->T + u;
    d->wsum = 0;
    for (size_t i = 0; i < u; i++) {
        d->x[i] = rows[i].x;
        d->tx[i] = rows[i].tx;
        d->T[i] = rows[i].T;
        d->w[i] = rows[i].w;
        d->wsum += rows[i].w;
    }
    churn__free(rows);
    return CHURN_OK;
}

/* ---- small dense linear algebra (k <= MAXP) ------------------------------------ */

/* In-place Cholesky A = L L^T (lower triangle). Returns 0 when A is positive definite. */
static int chol(size_t k, double *A)
{
    for (size_t j = 0; j < k; j++) {
        double s = A[j * k + j];
        for (size_t q = 0; q < j; q++)
            s -= A[j * k + q] * A[j * k + q];
        if (!(s > 0) || !isfinite(s))
            return -1;
        double d = sqrt(s);
        A[j * k + j] = d;
        for (size_t i = j + 1; i < k; i++) {
            double v = A[i * k + j];
            for (size_t q = 0; q < j; q++)
                v -= A[i * k + q] * A[j * k + q];
            A[i * k + j] = v / d;
        }
    }
    return 0;
}

/* Solve L L^T y = b in place. */
static void chol_solve(size_t k, const double *L, double *b)
{
    for (size_t i = 0; i < k; i++) {
        double v = b[i];
        for (size_t q = 0; q < i; q++)
            v -= L[i * k + q] * b[q];
        b[i] = v / L[i * k + i];
    }
    for (size_t i = k; i-- > 0;) {
        double v = b[i];
        for (size_t q = i + 1; q < k; q++)
            v -= L[q * k + i] * b[q];
        b[i] = v / L[i * k + i];
    }
}

/* ---- the optimisation problem ----------------------------------------------- */

typedef struct problem {
    const churn__btyd_family *fam;
    loglik_hess_fn hess; /* analytic Hessian, or NULL: finite differences */
    const btyd_data *d;
    size_t k;
    double l2;
    int evals;
} problem;

/* Objective in log-parameters theta:
 *   f(theta) = -(1/W) sum_i w_i log L_i(exp(theta)) + l2 * sum_j theta_j^2
 * (W = total weight), with gradient g and, when the family has an analytic
 * one and H != NULL, Hessian H. Returns +inf when the family cannot evaluate
 * at theta (the line search then backs off). */
static double objective_h(problem *pb, const double *theta, double *g, double *H, double l2)
{
    double p[MAXP], gl[MAXP], hl[MAXP * MAXP], ll = 0;
    size_t k = pb->k;
    pb->evals++;
    for (size_t j = 0; j < k; j++) {
        if (!(fabs(theta[j]) < 700))
            return INFINITY;
        p[j] = exp(theta[j]);
    }
    const btyd_data *d = pb->d;
    int rc = H && pb->hess
                 ? pb->hess(p, d->n, d->x, d->tx, d->T, d->w, &ll, g ? gl : NULL, hl)
                 : pb->fam->loglik(p, d->n, d->x, d->tx, d->T, d->w, &ll, g ? gl : NULL);
    if (rc != CHURN_OK || !isfinite(ll))
        return INFINITY;
    double f = -ll / d->wsum;
    for (size_t j = 0; j < k; j++) {
        f += l2 * theta[j] * theta[j];
        if (g) {
            g[j] = -gl[j] / d->wsum + 2.0 * l2 * theta[j];
            if (!isfinite(g[j]))
                return INFINITY;
        }
    }
    if (H && pb->hess)
        for (size_t i = 0; i < k; i++)
            for (size_t j = 0; j < k; j++) {
                H[i * k + j] = -hl[i * k + j] / d->wsum + (i == j ? 2.0 * l2 : 0);
                if (!isfinite(H[i * k + j]))
                    return INFINITY;
            }
    return f;
}

static double objective(problem *pb, const double *theta, double *g, double l2)
{
    return objective_h(pb, theta, g, NULL, l2);
}

/* Hessian of the objective by differences of the analytic gradient:
 * forward differences while iterating (k extra evaluations), central ones
 * for the covariance at the optimum. Returns 0, or -1 when the gradient is not
 * finite near theta. */
static int fd_hessian(problem *pb, const double *theta, const double *g0, double *H, int central,
                      double l2)
{
    size_t k = pb->k;
    double th[MAXP], gp[MAXP], gm[MAXP];
    if (pb->hess)
        return isfinite(objective_h(pb, theta, gp, H, l2)) ? 0 : -1;
    for (size_t j = 0; j < k; j++) {
        double h = (central ? 1e-5 : 1e-7) * fmax(1.0, fabs(theta[j]));
        memcpy(th, theta, k * sizeof *th);
        th[j] = theta[j] + h;
        if (!isfinite(objective(pb, th, gp, l2)))
            return -1;
        if (central) {
            th[j] = theta[j] - h;
            if (!isfinite(objective(pb, th, gm, l2)))
                return -1;
            for (size_t i = 0; i < k; i++)
                H[i * k + j] = (gp[i] - gm[i]) / (2 * h);
        } else {
            for (size_t i = 0; i < k; i++)
                H[i * k + j] = (gp[i] - g0[i]) / h;
        }
    }
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < i; j++)
            H[i * k + j] = H[j * k + i] = 0.5 * (H[i * k + j] + H[j * k + i]);
    return 0;
}

enum { OPT_CONVERGED, OPT_MAXITER, OPT_STALLED, OPT_BOUNDARY, OPT_NUMERIC };

typedef struct opt_result {
    int status;
    int iterations;
    double f;
    double gnorm;
    size_t boundary_param;  /* for OPT_BOUNDARY */
} opt_result;

/* Log-parameters beyond this are treated as running off to 0 or infinity:
 * the likelihood does not identify that parameter from these data. */
#define THETA_LIMIT 25.0
#define THETA_CONVERGED_LIMIT 20.0
#define MAX_STEP 3.0

static double inf_norm(size_t k, const double *v)
{
    double m = 0;
    for (size_t j = 0; j < k; j++)
        m = fmax(m, fabs(v[j]));
    return m;
}

/* Damped Newton: the Hessian is a finite difference of the analytic gradient,
 * kept up to date with BFGS updates while full steps are accepted and
 * recomputed when the line search has to back off. Levenberg damping keeps the
 * direction a descent direction where the Hessian is not positive definite. */
static void newton(problem *pb, double *theta, int max_iter, double tol, opt_result *res)
{
    size_t k = pb->k;
    double g[MAXP], H[MAXP * MAXP], Hn[MAXP * MAXP], L[MAXP * MAXP], dvec[MAXP], thn[MAXP],
        gn[MAXP];
    double l2 = pb->l2;
    int analytic = pb->hess != NULL;
    memset(res, 0, sizeof *res);
    double f = objective_h(pb, theta, g, analytic ? H : NULL, l2);
    if (!isfinite(f)) {
        res->status = OPT_NUMERIC;
        res->f = INFINITY;
        return;
    }
    int need_hessian = !analytic;
    int it;
    for (it = 0; it < max_iter; it++) {
        res->gnorm = inf_norm(k, g);
        if (res->gnorm <= tol) {
            res->status = OPT_CONVERGED;
            break;
        }
        if (need_hessian) {
            if (fd_hessian(pb, theta, g, H, 0, l2) != 0) {
                res->status = OPT_NUMERIC;
                break;
            }
            need_hessian = 0;
        }
        /* Levenberg damping until H + mu I is positive definite. */
        double maxdiag = 0;
        for (size_t j = 0; j < k; j++)
            maxdiag = fmax(maxdiag, fabs(H[j * k + j]));
        double mu = 0;
        int damped = 0;
        for (int tries = 0; tries < 60; tries++) {
            memcpy(L, H, k * k * sizeof *L);
            for (size_t j = 0; j < k; j++)
                L[j * k + j] += mu;
            if (chol(k, L) == 0)
                break;
            mu = mu == 0 ? 1e-8 * fmax(1.0, maxdiag) : mu * 10;
            damped = 1;
        }
        for (size_t j = 0; j < k; j++)
            dvec[j] = -g[j];
        chol_solve(k, L, dvec);
        double slope = 0;
        for (size_t j = 0; j < k; j++)
            slope += g[j] * dvec[j];
        if (!(slope < 0)) {
            /* not a descent direction (numerical trouble): steepest descent */
            for (size_t j = 0; j < k; j++)
                dvec[j] = -g[j];
            slope = -res->gnorm * res->gnorm;
            damped = 1;
        }
        double dn = inf_norm(k, dvec);
        if (dn > MAX_STEP) {
            for (size_t j = 0; j < k; j++)
                dvec[j] *= MAX_STEP / dn;
            slope *= MAX_STEP / dn;
            damped = 1;
        }
        double step = 1, fn = INFINITY;
        int accepted = 0;
        for (int ls = 0; ls < 60; ls++) {
            for (size_t j = 0; j < k; j++)
                thn[j] = theta[j] + step * dvec[j];
            fn = objective_h(pb, thn, gn, analytic ? Hn : NULL, l2);
            if (isfinite(fn)) {
                if (fn <= f + 1e-4 * step * slope) {
                    accepted = 1;
                    break;
                }
                /* Close to the optimum f cannot resolve the decrease any more
                 * (it is a mean of many rounded terms): accept a full step
                 * that is a wash in f but shrinks the gradient. */
                if (step == 1 && fabs(fn - f) <= 1e-13 * (1 + fabs(f)) &&
                    inf_norm(k, gn) < res->gnorm) {
                    accepted = 1;
                    break;
                }
            }
            step *= 0.5;
        }
        if (!accepted) {
            if (!analytic && !damped && !need_hessian) {
                /* a stale (BFGS-updated) Hessian may be to blame: refresh it */
                need_hessian = 1;
                continue;
            }
            res->status = OPT_STALLED;
            break;
        }
        /* BFGS update of H with s = step, y = change of gradient */
        double s[MAXP], y[MAXP], Hs[MAXP], sy = 0, sHs = 0;
        for (size_t j = 0; j < k; j++) {
            s[j] = thn[j] - theta[j];
            y[j] = gn[j] - g[j];
            sy += s[j] * y[j];
        }
        for (size_t i = 0; i < k; i++) {
            Hs[i] = 0;
            for (size_t j = 0; j < k; j++)
                Hs[i] += H[i * k + j] * s[j];
            sHs += s[i] * Hs[i];
        }
        if (analytic) {
            memcpy(H, Hn, k * k * sizeof *H);
        } else if (step < 1 || damped || !(sy > 1e-12 * sHs) || !(sHs > 0)) {
            need_hessian = 1;
        } else {
            for (size_t i = 0; i < k; i++)
                for (size_t j = 0; j < k; j++)
                    H[i * k + j] += y[i] * y[j] / sy - Hs[i] * Hs[j] / sHs;
        }
        memcpy(theta, thn, k * sizeof *theta);
        memcpy(g, gn, k * sizeof *g);
        f = fn;
        for (size_t j = 0; j < k; j++)
            if (fabs(theta[j]) > THETA_LIMIT) {
                res->status = OPT_BOUNDARY;
                res->boundary_param = j;
                res->iterations = it + 1;
                res->f = f;
                res->gnorm = inf_norm(k, g);
                return;
            }
    }
    if (it >= max_iter) {
        res->gnorm = inf_norm(k, g);
        res->status = res->gnorm <= tol ? OPT_CONVERGED : OPT_MAXITER;
    }
    res->iterations = it;
    res->f = f;
    /* A "converged" point with a parameter at e^+-20 is a likelihood that
     * keeps improving towards 0 or infinity so slowly that the gradient test
     * passed: report it as the boundary it is. */
    if (res->status == OPT_CONVERGED)
        for (size_t j = 0; j < k; j++)
            if (fabs(theta[j]) > THETA_CONVERGED_LIMIT) {
                res->status = OPT_BOUNDARY;
                res->boundary_param = j;
                break;
            }
}

/* Starting points (log scale). Times are scaled by the data (mean T and mean
 * x) so the starts do not depend on the time unit. */
static size_t starting_points(int family, const btyd_data *d, double starts[][MAXP])
{
    double mx = 0, mT = 0;
    for (size_t i = 0; i < d->n; i++) {
        mx += d->w[i] * d->x[i];
        mT += d->w[i] * d->T[i];
    }
    mx /= d->wsum;
    mT /= d->wsum;
    double rate = (mx + 0.1) / fmax(mT, 1e-12); /* purchases per time unit */
    switch (family) {
    case CHURN_FAMILY_BGNBD:
    case CHURN_FAMILY_MBGNBD: {
        double s0[4] = {1, 1 / rate, 1, 1}, s1[4] = {0.3, 0.3 / rate, 0.8, 2.5},
               s2[4] = {1, 1, 1, 1};
        for (int j = 0; j < 4; j++) {
            starts[0][j] = log(s0[j]);
            starts[1][j] = log(s1[j]);
            starts[2][j] = log(s2[j]);
        }
        return 3;
    }
    case CHURN_FAMILY_PNBD: {
        double s0[4] = {1, 1 / rate, 1, mT}, s1[4] = {0.5, 0.5 / rate, 0.5, mT},
               s2[4] = {1, 1, 1, 1};
        for (int j = 0; j < 4; j++) {
            starts[0][j] = log(s0[j]);
            starts[1][j] = log(s1[j]);
            starts[2][j] = log(s2[j]);
        }
        return 3;
    }
    case CHURN_FAMILY_BGBB: {
        double s0[4] = {1, 1, 1, 1}, s1[4] = {0.5, 2, 0.5, 2}, s2[4] = {2, 0.5, 2, 0.5};
        for (int j = 0; j < 4; j++) {
            starts[0][j] = log(s0[j]);
            starts[1][j] = log(s1[j]);
            starts[2][j] = log(s2[j]);
        }
        return 3;
    }
    default: { /* sBG */
        starts[0][0] = 0;
        starts[0][1] = 0;
        starts[1][0] = log(0.5);
        starts[1][1] = log(3.0);
        return 2;
    }
    }
}

/* The generic fit on validated, collapsed data. */
static int fit_collapsed(churn_model **out, const churn__btyd_family *fam, const btyd_data *d,
                         double nobs, const churn_btyd_options *o, const char *fn)
{
    size_t k = fam->nparams;
    problem pb = {fam, NULL, d, k, o->l2_penalty, 0};
    if (fam->family == CHURN_FAMILY_BGNBD)
        pb.hess = churn__bgnbd_loglik_hess;
    else if (fam->family == CHURN_FAMILY_MBGNBD)
        pb.hess = churn__mbgnbd_loglik_hess;
    double starts[4][MAXP], theta[MAXP], best[MAXP];
    size_t ns = starting_points(fam->family, d, starts);
    opt_result res, bres;
    int have = 0, total_iter = 0;
    memset(&bres, 0, sizeof bres);
    bres.status = OPT_NUMERIC;
    bres.f = INFINITY;
    for (size_t s = 0; s < ns; s++) {
        memcpy(theta, starts[s], k * sizeof *theta);
        newton(&pb, theta, o->max_iter, o->tol, &res);
        total_iter += res.iterations;
        /* keep a converged result over any other; otherwise the lowest objective */
        int better = !have || (res.status == OPT_CONVERGED && bres.status != OPT_CONVERGED) ||
                     ((res.status == OPT_CONVERGED) == (bres.status == OPT_CONVERGED) &&
                      res.f < bres.f);
        if (better && isfinite(res.f)) {
            bres = res;
            memcpy(best, theta, k * sizeof *best);
            have = 1;
        }
        if (res.status == OPT_CONVERGED)
            break;
    }
    if (!have)
        return churn__error(CHURN_ENUMERIC, "%s: %s: the log-likelihood is not finite at any "
                            "starting point", fn, churn_family_name(fam->family));

    churn_model *m = NULL;
    int rc = churn__model_new(&m, fam->family, k, fam->names);
    if (rc)
        return rc;
    double p[MAXP], ll = 0;
    for (size_t j = 0; j < k; j++)
        p[j] = m->params[j] = exp(best[j]);
    fam->loglik(p, d->n, d->x, d->tx, d->T, d->w, &ll, NULL);
    m->loglik = ll;
    m->nobs = nobs;
    m->converged = bres.status == OPT_CONVERGED;
    m->iterations = total_iter;
    m->time_unit = 0;

    char note[256] = "";
    int flat = -1; /* a parameter the data do not identify (singular Hessian) */
    if (m->converged && !o->no_std_errors && o->l2_penalty == 0) {
        /* Observed information of the total log-likelihood in theta = log p is
         * W * H (H = Hessian of the mean); delta method to the natural scale:
         * Cov(p_i, p_j) = p_i p_j Cov(theta_i, theta_j). */
        double g0[MAXP], H[MAXP * MAXP], cov[MAXP * MAXP], e[MAXP];
        objective(&pb, best, g0, 0);
        if (fd_hessian(&pb, best, g0, H, 1, 0) == 0) {
            for (size_t j = 0; j < k * k; j++)
                H[j] *= d->wsum;
            if (chol(k, H) == 0) {
                for (size_t j = 0; j < k; j++) {
                    memset(e, 0, sizeof e);
                    e[j] = 1;
                    chol_solve(k, H, e);
                    for (size_t i = 0; i < k; i++)
                        cov[i * k + j] = e[i] * p[i] * p[j];
                }
                rc = churn__model_set_cov(m, cov);
            } else {
                /* Not a proper maximum: name the flattest direction's parameter. */
                double Hc[MAXP * MAXP];
                objective(&pb, best, g0, 0);
                fd_hessian(&pb, best, g0, Hc, 1, 0);
                flat = 0;
                for (size_t j = 1; j < k; j++)
                    if (Hc[j * k + j] < Hc[flat * k + flat])
                        flat = (int)j;
                m->converged = 0;
                snprintf(note, sizeof note, "the Hessian is not positive definite at the "
                         "optimum: parameter '%s' is not identified", fam->names[flat]);
            }
        } else {
            snprintf(note, sizeof note, "the Hessian could not be evaluated at the optimum: "
                     "standard errors are not available");
        }
    } else if (m->converged && o->l2_penalty > 0) {
        snprintf(note, sizeof note, "penalised fit (l2_penalty %g on the log-parameters): "
                 "standard errors are not reported", o->l2_penalty);
    }
    if (!rc && note[0])
        rc = churn__model_set_note(m, note);
    if (rc) {
        churn_model_free(m);
        return rc;
    }
    *out = m;
    if (m->converged)
        return CHURN_OK;
    if (flat >= 0)
        return churn__error(CHURN_ENOCONV, "%s: %s: the log-likelihood is flat in parameter '%s' "
                            "at the optimum (Hessian not positive definite): the data do not "
                            "identify it; a small l2_penalty gives a finite estimate", fn,
                            churn_family_name(fam->family), fam->names[flat]);
    switch (bres.status) {
    case OPT_BOUNDARY: {
        size_t j = bres.boundary_param;
        return churn__error(CHURN_ENOCONV, "%s: %s: parameter '%s' runs off to %s (%g): the data "
                            "do not identify it; a small l2_penalty gives a finite estimate", fn,
                            churn_family_name(fam->family), fam->names[j],
                            best[j] > 0 ? "infinity" : "zero", m->params[j]);
    }
    case OPT_MAXITER: {
        /* a likelihood still creeping towards a boundary: say which parameter */
        size_t jm = 0;
        for (size_t j = 1; j < k; j++)
            if (fabs(best[j]) > fabs(best[jm]))
                jm = j;
        if (fabs(best[jm]) > 15)
            return churn__error(CHURN_ENOCONV, "%s: %s: no convergence in %d iterations; "
                                "parameter '%s' (%g) appears to run off to %s: the data do not "
                                "identify it; a small l2_penalty gives a finite estimate", fn,
                                churn_family_name(fam->family), o->max_iter, fam->names[jm],
                                m->params[jm], best[jm] > 0 ? "infinity" : "zero");
        return churn__error(CHURN_ENOCONV, "%s: %s: no convergence in %d iterations (gradient "
                            "norm %g > tol %g)", fn, churn_family_name(fam->family),
                            o->max_iter, bres.gnorm, o->tol);
    }
    default:
        return churn__error(CHURN_ENOCONV, "%s: %s: the optimiser stalled with gradient norm %g "
                            "(tol %g)", fn, churn_family_name(fam->family), bres.gnorm, o->tol);
    }
}

static int get_options(churn_btyd_options *o, const churn_btyd_options *user, const char *fn)
{
    churn_btyd_options_init(o);
    int rc = churn__opts_copy(o, sizeof *o, user, "churn_btyd_options");
    if (rc)
        return rc;
    if (o->max_iter == 0)
        o->max_iter = 500;
    if (o->tol == 0)
        o->tol = 1e-10;
    if (o->max_iter < 0)
        return churn__error(CHURN_EINVAL, "%s: option max_iter %d must be > 0", fn, o->max_iter);
    if (!isfinite(o->tol) || o->tol < 0)
        return churn__error(CHURN_EINVAL, "%s: option tol %g must be a finite number > 0", fn,
                            o->tol);
    if (!isfinite(o->l2_penalty) || o->l2_penalty < 0)
        return churn__error(CHURN_EINVAL, "%s: option l2_penalty %g must be a finite number >= 0",
                            fn, o->l2_penalty);
    return CHURN_OK;
}

CHURN_API void churn_btyd_options_init(churn_btyd_options *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->struct_size = sizeof *opts;
    opts->max_iter = 500;
    opts->tol = 1e-10;
}

static int is_btyd_family(int family)
{
    return family == CHURN_FAMILY_BGNBD || family == CHURN_FAMILY_MBGNBD ||
           family == CHURN_FAMILY_PNBD || family == CHURN_FAMILY_BGBB;
}

CHURN_API int churn_btyd_fit(churn_model **out, int family, size_t n, const double *frequency,
                             const double *recency, const double *T, const double *weights,
                             const churn_btyd_options *opts)
{
    static const char fn[] = "churn_btyd_fit";
    churn__ok();
    churn__gsl_init();
    if (out)
        *out = NULL;
    if (!out || (n && (!frequency || !recency || !T)))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    if (!is_btyd_family(family))
        return churn__error(CHURN_EINVAL, "%s: family %d is not a BTYD family (bgnbd, mbgnbd, "
                            "pnbd, bgbb; sBG has churn_sbg_fit)", fn, family);
    const churn__btyd_family *fam = family_desc(family);
    churn_btyd_options o;
    int rc = get_options(&o, opts, fn);
    if (rc)
        return rc;
    if (n == 0)
        return churn__error(CHURN_EINVAL, "%s: no rows to fit", fn);
    int discrete = family == CHURN_FAMILY_BGBB;
    double wsum = 0;
    for (size_t i = 0; i < n; i++) {
        rc = check_row(fn, discrete, 1, i, frequency[i], recency[i], T[i]);
        if (!rc && weights)
            rc = check_weight(fn, i, weights[i]);
        if (rc)
            return rc;
        wsum += weights ? weights[i] : 1.0;
    }
    if (!(wsum > 0) || !isfinite(wsum))
        return churn__error(CHURN_EINVAL, "%s: column 'weights': the weights sum to %g; need a "
                            "positive finite total", fn, wsum);
    btyd_data d;
    rc = collapse(&d, n, frequency, recency, T, weights);
    if (rc)
        return rc;
    rc = fit_collapsed(out, fam, &d, wsum, &o, fn);
    data_free(&d);
    return rc;
}

/* ---- sBG fits --------------------------------------------------------------- */

CHURN_API int churn_sbg_fit(churn_model **out, size_t n, const double *periods,
                            const int *churned, const double *weights,
                            const churn_btyd_options *opts)
{
    static const char fn[] = "churn_sbg_fit";
    churn__ok();
    churn__gsl_init();
    if (out)
        *out = NULL;
    if (!out || (n && (!periods || !churned)))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    churn_btyd_options o;
    int rc = get_options(&o, opts, fn);
    if (rc)
        return rc;
    if (n == 0)
        return churn__error(CHURN_EINVAL, "%s: no rows to fit", fn);
    double *buf = churn__malloc(churn__mul_size(2 * n, sizeof(double)));
    if (!buf)
        return churn__nomem("the sBG rows");
    double *flag = buf, *zero = buf + n;
    double wsum = 0, wchurn = 0;
    for (size_t i = 0; i < n; i++) {
        if (churned[i] != 0 && churned[i] != 1)
            rc = churn__error(CHURN_EINVAL, "%s: row %zu, column 'churned': %d must be 0 or 1",
                              fn, i, churned[i]);
        else if (!is_count(periods[i]) || (churned[i] && periods[i] < 1))
            rc = churn__error(CHURN_EINVAL, "%s: row %zu, column 'periods': %g must be a whole "
                              "number %s", fn, i, periods[i],
                              churned[i] ? ">= 1 for a churned customer" : ">= 0");
        else if (weights)
            rc = check_weight(fn, i, weights[i]);
        if (rc) {
            churn__free(buf);
            return rc;
        }
        flag[i] = churned[i];
        zero[i] = 0;
        double wi = weights ? weights[i] : 1.0;
        wsum += wi;
        if (churned[i])
            wchurn += wi;
    }
    if (!(wsum > 0) || !isfinite(wsum)) {
        churn__free(buf);
        return churn__error(CHURN_EINVAL, "%s: column 'weights': the weights sum to %g; need a "
                            "positive finite total", fn, wsum);
    }
    btyd_data d;
    rc = collapse(&d, n, periods, flag, zero, weights);
    churn__free(buf);
    if (rc)
        return rc;
    (void)wchurn;
    rc = fit_collapsed(out, &sbg_family, &d, wsum, &o, fn);
    data_free(&d);
    return rc;
}

CHURN_API int churn_sbg_fit_survivors(churn_model **out, size_t n, const double *survivors,
                                      const churn_btyd_options *opts)
{
    static const char fn[] = "churn_sbg_fit_survivors";
    churn__ok();
    if (out)
        *out = NULL;
    if (!out || !survivors)
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    if (n < 2)
        return churn__error(CHURN_EINVAL, "%s: the survivor curve needs at least 2 entries (the "
                            "cohort size and the survivors after period 1), got %zu", fn, n);
    for (size_t t = 0; t < n; t++) {
        if (!isfinite(survivors[t]) || survivors[t] < 0)
            return churn__error(CHURN_EINVAL, "%s: survivors[%zu] = %g must be a finite number "
                                ">= 0", fn, t, survivors[t]);
        if (t > 0 && survivors[t] > survivors[t - 1])
            return churn__error(CHURN_EINVAL, "%s: survivors[%zu] = %g exceeds survivors[%zu] = "
                                "%g (the curve must not increase)", fn, t, survivors[t], t - 1,
                                survivors[t - 1]);
    }
    if (!(survivors[0] > 0))
        return churn__error(CHURN_EINVAL, "%s: survivors[0] (the cohort size) must be > 0", fn);
    /* F&H 2007's likelihood of a survivor table: n_t = S_{t-1} - S_t customers churn at t, S_{n-1} are censored. */
    double *periods = churn__malloc(churn__mul_size(2 * n, sizeof(double)));
    int *churned = churn__malloc(churn__mul_size(n, sizeof(int)));
    if (!periods || !churned) {
        churn__free(periods);
        churn__free(churned);
        return churn__nomem("the sBG survivor rows");
    }
    double *w = periods + n;
    for (size_t t = 1; t < n; t++) {
        periods[t - 1] = (double)t;
        churned[t - 1] = 1;
        w[t - 1] = survivors[t - 1] - survivors[t];
    }
    periods[n - 1] = (double)(n - 1);
    churned[n - 1] = 0;
    w[n - 1] = survivors[n - 1];
    int rc = churn_sbg_fit(out, n, periods, churned, w, opts);
    churn__free(periods);
    churn__free(churned);
    return rc;
}

/* ---- models from given parameters, log-likelihood ----------------------------- */

static int check_params(const char *fn, const churn__btyd_family *fam, const double *params,
                        size_t nparams)
{
    if (nparams != fam->nparams)
        return churn__error(CHURN_EINVAL, "%s: a '%s' model has %zu parameters, got %zu", fn,
                            churn_family_name(fam->family), fam->nparams, nparams);
    for (size_t j = 0; j < nparams; j++)
        if (!isfinite(params[j]) || !(params[j] > 0))
            return churn__error(CHURN_EINVAL, "%s: parameter '%s' = %g must be a finite number "
                                "> 0", fn, fam->names[j], params[j]);
    return CHURN_OK;
}

CHURN_API int churn_btyd_model_new(churn_model **out, int family, size_t nparams,
                                   const double *params)
{
    static const char fn[] = "churn_btyd_model_new";
    churn__ok();
    if (out)
        *out = NULL;
    if (!out || !params)
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    const churn__btyd_family *fam = family_desc(family);
    if (!fam)
        return churn__error(CHURN_EINVAL, "%s: family %d is not a BTYD or sBG family", fn,
                            family);
    int rc = check_params(fn, fam, params, nparams);
    if (rc)
        return rc;
    churn_model *m = NULL;
    rc = churn__model_new(&m, family, nparams, fam->names);
    if (rc)
        return rc;
    memcpy(m->params, params, nparams * sizeof *params);
    *out = m;
    return CHURN_OK;
}

CHURN_API int churn_btyd_loglik(int family, size_t nparams, const double *params, size_t n,
                                const double *frequency, const double *recency, const double *T,
                                const double *weights, double *loglik, double *gradient)
{
    static const char fn[] = "churn_btyd_loglik";
    churn__ok();
    churn__gsl_init();
    if (!params || !loglik || (n && (!frequency || !recency || !T)))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    if (!is_btyd_family(family))
        return churn__error(CHURN_EINVAL, "%s: family %d is not a BTYD family (bgnbd, mbgnbd, "
                            "pnbd, bgbb)", fn, family);
    const churn__btyd_family *fam = family_desc(family);
    int rc = check_params(fn, fam, params, nparams);
    if (rc)
        return rc;
    int discrete = family == CHURN_FAMILY_BGBB;
    for (size_t i = 0; i < n; i++) {
        rc = check_row(fn, discrete, 0, i, frequency[i], recency[i], T[i]);
        if (!rc && weights)
            rc = check_weight(fn, i, weights[i]);
        if (rc)
            return rc;
    }
    double gl[MAXP];
    rc = fam->loglik(params, n, frequency, recency, T, weights, loglik, gradient ? gl : NULL);
    if (rc || !isfinite(*loglik))
        return churn__error(CHURN_ENUMERIC, "%s: the '%s' log-likelihood is not finite at these "
                            "parameters", fn, churn_family_name(family));
    if (gradient)
        for (size_t j = 0; j < nparams; j++)
            gradient[j] = gl[j] / params[j];
    return CHURN_OK;
}

CHURN_API int churn_sbg_loglik(size_t nparams, const double *params, size_t n,
                               const double *periods, const int *churned, const double *weights,
                               double *loglik, double *gradient)
{
    static const char fn[] = "churn_sbg_loglik";
    churn__ok();
    churn__gsl_init();
    if (!params || !loglik || (n && (!periods || !churned)))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    int rc = check_params(fn, &sbg_family, params, nparams);
    if (rc)
        return rc;
    double s = 0, gs[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
        if (churned[i] != 0 && churned[i] != 1)
            return churn__error(CHURN_EINVAL, "%s: row %zu, column 'churned': %d must be 0 or 1",
                                fn, i, churned[i]);
        if (!is_count(periods[i]) || (churned[i] && periods[i] < 1))
            return churn__error(CHURN_EINVAL, "%s: row %zu, column 'periods': %g must be a "
                                "whole number %s", fn, i, periods[i],
                                churned[i] ? ">= 1 for a churned customer" : ">= 0");
        if (weights && (rc = check_weight(fn, i, weights[i])))
            return rc;
        double flag = churned[i], li, gi[2];
        sbg_loglik(params, 1, &periods[i], &flag, NULL, weights ? &weights[i] : NULL, &li, gi);
        s += li;
        gs[0] += gi[0];
        gs[1] += gi[1];
    }
    if (!isfinite(s))
        return churn__error(CHURN_ENUMERIC, "%s: the log-likelihood is not finite", fn);
    *loglik = s;
    if (gradient) {
        gradient[0] = gs[0] / params[0];
        gradient[1] = gs[1] / params[1];
    }
    return CHURN_OK;
}

/* ---- predictions ----------------------------------------------------------------- */

/* Check the model (family among the non-contractual ones, parameters valid)
 * and return its descriptor. */
static int model_family(const churn_model *m, const char *fn, const churn__btyd_family **fam)
{
    int rc = churn__model_check(m, fn, 4, CHURN_FAMILY_BGNBD, CHURN_FAMILY_MBGNBD,
                                CHURN_FAMILY_PNBD, CHURN_FAMILY_BGBB);
    if (rc)
        return rc;
    *fam = family_desc(m->family);
    return check_params(fn, *fam, m->params, m->nparams);
}

static int check_rows(const char *fn, int family, size_t n, const double *x, const double *tx,
                      const double *T)
{
    int discrete = family == CHURN_FAMILY_BGBB;
    for (size_t i = 0; i < n; i++) {
        int rc = check_row(fn, discrete, 0, i, x[i], tx[i], T[i]);
        if (rc)
            return rc;
    }
    return CHURN_OK;
}

static int check_horizon(const char *fn, int family, double t, const char *what)
{
    if (!isfinite(t) || t < 0)
        return churn__error(CHURN_EINVAL, "%s: %s %g must be a finite number >= 0", fn, what, t);
    if (family == CHURN_FAMILY_BGBB && !is_count(t))
        return churn__error(CHURN_EINVAL, "%s: %s %g must be a whole number of transaction "
                            "opportunities for a bgbb model", fn, what, t);
    return CHURN_OK;
}

static int nonfinite(const char *fn, const char *what, size_t i)
{
    return churn__error(CHURN_ENUMERIC, "%s: row %zu: %s could not be computed (not finite)", fn,
                        i, what);
}

#define NEED(ptr) ((ptr) == NULL && n > 0)

CHURN_API int churn_btyd_p_alive(const churn_model *model, size_t n, const double *frequency,
                                 const double *recency, const double *T, double *p_alive)
{
    static const char fn[] = "churn_btyd_p_alive";
    churn__ok();
    churn__gsl_init();
    const churn__btyd_family *fam;
    int rc = model_family(model, fn, &fam);
    if (rc)
        return rc;
    if (NEED(frequency) || NEED(recency) || NEED(T) || NEED(p_alive))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    if ((rc = check_rows(fn, model->family, n, frequency, recency, T)))
        return rc;
    for (size_t i = 0; i < n; i++) {
        p_alive[i] = fam->p_alive(model->params, frequency[i], recency[i], T[i]);
        if (!isfinite(p_alive[i]))
            return nonfinite(fn, "P(alive)", i);
    }
    return CHURN_OK;
}

CHURN_API int churn_btyd_expected_purchases(const churn_model *model, double t, size_t n,
                                            const double *frequency, const double *recency,
                                            const double *T, double *expected)
{
    static const char fn[] = "churn_btyd_expected_purchases";
    churn__ok();
    churn__gsl_init();
    const churn__btyd_family *fam;
    int rc = model_family(model, fn, &fam);
    if (rc)
        return rc;
    if (NEED(frequency) || NEED(recency) || NEED(T) || NEED(expected))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    if ((rc = check_horizon(fn, model->family, t, "horizon t")))
        return rc;
    if ((rc = check_rows(fn, model->family, n, frequency, recency, T)))
        return rc;
    for (size_t i = 0; i < n; i++) {
        expected[i] = fam->cond_expected(model->params, t, frequency[i], recency[i], T[i]);
        if (!isfinite(expected[i]))
            return nonfinite(fn, "the expected number of purchases", i);
    }
    return CHURN_OK;
}

CHURN_API int churn_btyd_score(const churn_model *model, double t, size_t n,
                               const double *frequency, const double *recency, const double *T,
                               double *p_alive, double *expected)
{
    static const char fn[] = "churn_btyd_score";
    churn__ok();
    churn__gsl_init();
    const churn__btyd_family *fam;
    int rc = model_family(model, fn, &fam);
    if (rc)
        return rc;
    if (NEED(frequency) || NEED(recency) || NEED(T))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    if ((rc = check_horizon(fn, model->family, t, "horizon t")))
        return rc;
    if (model->family == CHURN_FAMILY_BGNBD || model->family == CHURN_FAMILY_MBGNBD) {
        size_t bad = churn__bgnbd_score(model->params, model->family == CHURN_FAMILY_MBGNBD, t, n,
                                        frequency, recency, T, p_alive, expected);
        if (bad == 0)
            return CHURN_OK;
        size_t i = bad - 1;
        if ((rc = check_row(fn, 0, 0, i, frequency[i], recency[i], T[i])))
            return rc;
        return nonfinite(fn, "P(alive) or the expected number of purchases", i);
    }
    if ((rc = check_rows(fn, model->family, n, frequency, recency, T)))
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (p_alive) {
            p_alive[i] = fam->p_alive(model->params, frequency[i], recency[i], T[i]);
            if (!isfinite(p_alive[i]))
                return nonfinite(fn, "P(alive)", i);
        }
        if (expected) {
            expected[i] = fam->cond_expected(model->params, t, frequency[i], recency[i], T[i]);
            if (!isfinite(expected[i]))
                return nonfinite(fn, "the expected number of purchases", i);
        }
    }
    return CHURN_OK;
}

CHURN_API int churn_btyd_expected_purchases_new(const churn_model *model, size_t n,
                                                const double *t, double *expected)
{
    static const char fn[] = "churn_btyd_expected_purchases_new";
    churn__ok();
    churn__gsl_init();
    const churn__btyd_family *fam;
    int rc = model_family(model, fn, &fam);
    if (rc)
        return rc;
    if (NEED(t) || NEED(expected))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    for (size_t i = 0; i < n; i++) {
        char what[32];
        snprintf(what, sizeof what, "t[%zu]", i);
        if ((rc = check_horizon(fn, model->family, t[i], what)))
            return rc;
        expected[i] = fam->expected_new(model->params, t[i]);
        if (!isfinite(expected[i]))
            return nonfinite(fn, "E[X(t)]", i);
    }
    return CHURN_OK;
}

CHURN_API int churn_btyd_prob_purchases(const churn_model *model, double k, size_t n,
                                        const double *t, double *prob)
{
    static const char fn[] = "churn_btyd_prob_purchases";
    churn__ok();
    churn__gsl_init();
    const churn__btyd_family *fam;
    int rc = model_family(model, fn, &fam);
    if (rc)
        return rc;
    if (NEED(t) || NEED(prob))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    if (!is_count(k))
        return churn__error(CHURN_EINVAL, "%s: k = %g must be a whole number >= 0", fn, k);
    for (size_t i = 0; i < n; i++) {
        char what[32];
        snprintf(what, sizeof what, "t[%zu]", i);
        if ((rc = check_horizon(fn, model->family, t[i], what)))
            return rc;
        prob[i] = fam->pmf(model->params, t[i], k);
        if (!isfinite(prob[i]))
            return nonfinite(fn, "P(X(t) = k)", i);
    }
    return CHURN_OK;
}

CHURN_API int churn_btyd_prob_purchases_cond(const churn_model *model, double k, double t,
                                             size_t n, const double *frequency,
                                             const double *recency, const double *T,
                                             double *prob)
{
    static const char fn[] = "churn_btyd_prob_purchases_cond";
    churn__ok();
    churn__gsl_init();
    const churn__btyd_family *fam;
    int rc = model_family(model, fn, &fam);
    if (rc)
        return rc;
    if (NEED(frequency) || NEED(recency) || NEED(T) || NEED(prob))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    if (!is_count(k))
        return churn__error(CHURN_EINVAL, "%s: k = %g must be a whole number >= 0", fn, k);
    if ((rc = check_horizon(fn, model->family, t, "horizon t")))
        return rc;
    if ((rc = check_rows(fn, model->family, n, frequency, recency, T)))
        return rc;
    for (size_t i = 0; i < n; i++) {
        prob[i] = fam->cond_pmf(model->params, t, k, frequency[i], recency[i], T[i]);
        if (!isfinite(prob[i]))
            return nonfinite(fn, "P(X(T, T+t) = k | history)", i);
    }
    return CHURN_OK;
}

CHURN_API int churn_pnbd_p_alive_at(const churn_model *model, double t, size_t n,
                                    const double *frequency, const double *recency,
                                    const double *T, double *p_alive)
{
    static const char fn[] = "churn_pnbd_p_alive_at";
    churn__ok();
    churn__gsl_init();
    int rc = churn__model_check(model, fn, 1, CHURN_FAMILY_PNBD);
    if (rc)
        return rc;
    if ((rc = check_params(fn, &churn__pnbd_family, model->params, model->nparams)))
        return rc;
    if (NEED(frequency) || NEED(recency) || NEED(T) || NEED(p_alive))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    if ((rc = check_horizon(fn, model->family, t, "horizon t")))
        return rc;
    if ((rc = check_rows(fn, model->family, n, frequency, recency, T)))
        return rc;
    for (size_t i = 0; i < n; i++) {
        p_alive[i] = churn__pnbd_p_alive_at(model->params, t, frequency[i], recency[i], T[i]);
        if (!isfinite(p_alive[i]))
            return nonfinite(fn, "P(alive at T + t)", i);
    }
    return CHURN_OK;
}

/* ---- sBG predictions -------------------------------------------------------------- */

static int sbg_model(const churn_model *m, const char *fn)
{
    int rc = churn__model_check(m, fn, 1, CHURN_FAMILY_SBG);
    if (rc)
        return rc;
    return check_params(fn, &sbg_family, m->params, m->nparams);
}

CHURN_API int churn_sbg_curve(const churn_model *model, size_t n, double *retention,
                              double *survival)
{
    static const char fn[] = "churn_sbg_curve";
    churn__ok();
    int rc = sbg_model(model, fn);
    if (rc)
        return rc;
    double al = model->params[0], be = model->params[1], S = 1;
    for (size_t i = 0; i < n; i++) {
        double t = (double)(i + 1);
        /* F&H 2007, retention rate: r_t = (beta + t - 1) / (alpha + beta + t - 1); S(t) = prod r_j */
        double r = (be + t - 1) / (al + be + t - 1);
        S *= r;
        if (retention)
            retention[i] = r;
        if (survival)
            survival[i] = S;
    }
    return CHURN_OK;
}

/* DERL as an integral over the posterior churn probability: given n-1
 * renewals theta ~ Beta(alpha, beta+n-1), and sum_k (1-theta)^(k+1) z^k =
 * (1-theta) / (1 - z (1-theta)), z = 1/(1+d). For small d (the series needs
 * ~30/d terms); the integrand peaks over theta ~ d, a QAGP break point. */
typedef struct derl_params {
    double z, d, am1, bm1, lb;
} derl_params;

static double derl_integrand(double th, void *v)
{
    const derl_params *q = v;
    if (!(th > 0 && th < 1))
        return 0;
    return (1 - th) / (1 - q->z * (1 - th)) *
           exp(q->am1 * log(th) + q->bm1 * log1p(-th) - q->lb);
}

static double derl_integral(double al, double be, double nn, double d)
{
    derl_params q = {1 / (1 + d), d, al - 1, be + nn - 2, gsl_sf_lnbeta(al, be + nn - 1)};
    gsl_function F = {derl_integrand, &q};
    gsl_integration_workspace *w = gsl_integration_workspace_alloc(512);
    if (!w)
        return NAN;
    double pts[3] = {0, d, 1}, res = NAN, err;
    int st = d < 0.5 ? gsl_integration_qagp(&F, pts, 3, 0, 1e-11, 512, w, &res, &err)
                     : gsl_integration_qags(&F, 0, 1, 0, 1e-11, 512, w, &res, &err);
    gsl_integration_workspace_free(w);
    return st == GSL_SUCCESS ? res : NAN;
}

/* 2F1(1, b; c; z) = sum_k (b)_k / (c)_k z^k for 0 <= z < 1, c > b > 0. The
 * term ratio (b+k)/(c+k) z rises towards z, so the tail after a term h is at
 * most h z / (1 - z). NaN when maxterms are not enough. */
static double hyp2f1_1bc(double b, double c, double z, long maxterms)
{
    double s = 1, h = 1, zr = z / (1 - z);
    for (long k = 0; k < maxterms; k++) {
        h *= (b + k) / (c + k) * z;
        s += h;
        if (h * zr <= 1e-16 * s)
            return s;
    }
    return NAN;
}

CHURN_API int churn_sbg_derl(const churn_model *model, double discount, size_t n,
                             const double *periods, double *derl)
{
    static const char fn[] = "churn_sbg_derl";
    churn__ok();
    churn__gsl_init();
    int rc = sbg_model(model, fn);
    if (rc)
        return rc;
    if (NEED(periods) || NEED(derl))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    double al = model->params[0], be = model->params[1];
    if (!isfinite(discount) || discount < 0)
        return churn__error(CHURN_EINVAL, "%s: discount %g must be a finite rate >= 0 per period",
                            fn, discount);
    if (discount == 0 && !(al > 1))
        return churn__error(CHURN_EINVAL, "%s: discount 0 needs alpha > 1 (alpha = %g: the "
                            "expected residual lifetime is infinite)", fn, al);
    for (size_t i = 0; i < n; i++) {
        double np = periods[i];
        if (!isfinite(np) || np < 0)
            return churn__error(CHURN_EINVAL, "%s: row %zu, column 'periods': %g must be a "
                                "finite number >= 0", fn, i, np);
        /* Fader & Hardie (2010) eq. (6), with n - 1 = periods renewals so far:
         *   DERL = B(alpha, beta + n) / B(alpha, beta + n - 1)
         *          * 2F1(1, beta + n; alpha + beta + n; 1 / (1 + d))
         * evaluated just before the n-th renewal decision (that payment is not
         * discounted). B(a, b+n)/B(a, b+n-1) = (b+n-1)/(a+b+n-1). */
        double nn = np + 1;
        double lead = (be + nn - 1) / (al + be + nn - 1);
        double F;
        if (discount == 0) {
            /* 2F1(1, b; c; 1) = (c - 1) / (c - b - 1) when c - b > 1 */
            F = (al + be + nn - 1) / (al - 1);
            derl[i] = lead * F;
        } else {
            F = discount >= 1e-3 ? hyp2f1_1bc(be + nn, al + be + nn, 1 / (1 + discount), 1000000L)
                                 : NAN;
            derl[i] = isfinite(F) ? lead * F : derl_integral(al, be, nn, discount);
        }
        if (!isfinite(derl[i]))
            return nonfinite(fn, "DERL", i);
    }
    return CHURN_OK;
}
