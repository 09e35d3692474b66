/*
 * BTYD models with static covariates (covariates.h; docs/models/covariates.md):
 * Pareto/NBD, BG/NBD, MBG/NBD and Gamma-Gompertz/NBD whose rate parameters
 * depend on each customer's covariates through exp(gamma' z).
 *
 * The log-likelihood is the plain family's, customer by customer, at the
 * customer's own log-parameters phi_i = log p + D_i theta_cov, which are
 * linear in the free parameters theta = (log p, free coefficients). So with
 * g_i and H_i the gradient and Hessian of customer i's log-likelihood in
 * phi_i (from the family descriptor: analytic where the family has its
 * Hessian, loglik_hess or large_hess, else central differences of its
 * analytic gradient), the total
 * gradient is sum_i A_i' g_i and the Hessian sum_i A_i' H_i A_i, where A_i
 * = d phi_i / d theta. Newton's method with a backtracking line search
 * maximises the (penalised) total, starting from the plain fit (on many
 * customers, from the optimum of a systematic subsample) and ending with one
 * more full Newton step after the convergence test.
 *
 * Which base parameter each process scales (the CLVTools parametrisation):
 * Pareto/NBD trans -> alpha (sign -), life -> beta (-); BG/NBD and MBG/NBD
 * trans -> alpha (-), life -> a (+) and b (+); Gamma-Gompertz/NBD trans ->
 * alpha (-), life -> beta (-); MBG/CNBD-k as MBG/NBD, with k fixed: the fit
 * runs on the fixed-k descriptor (r, alpha, a, b) and the model carries k first
 * (churn_mbgcnbd_fit_covariates; k chosen by likelihood as churn_mbgcnbd_fit).
 * Calls core/ (errors, allocation, Cholesky, models), checks.c, fit
 * (churn_btyd_fit for the start) and the family descriptors.
 */
#include "btyd/btyd_internal.h"
#include "churn/covariates.h"

#include <stdio.h>
#include <string.h>

#define NBMAX 5    /* base parameters of a family: 4, or 5 for Gamma-Gompertz/NBD */
#define FD_STEP 1e-5
#define MAX_STEP 2.0 /* longest Newton step in any coordinate of theta (newton()) */
#define FIXED ((size_t)-1) /* a coefficient fixed at 0 (covariate 0 for every customer) */

/* ---- the layout: which base parameter each process moves ----------------------- */

typedef struct {
    int n;           /* base parameters moved (1 or 2) */
    int idx[2];      /* their index among the four */
    double sign[2];  /* d log p_idx / d (gamma' z) */
} target;

typedef struct {
    const churn__btyd_family *fam;
    int nb;          /* base parameters (the family's: 4, or 5 for Gamma-Gompertz/NBD and
                        MBG/CNBD-k) */
    target trans, life;
    int kfix;        /* 1: base parameter 0 is MBG/CNBD-k's k, taken as it is (a whole
                        number: never through log and exp) */
} layout;

static int get_layout(int family, layout *L, const char *fn)
{
    L->kfix = 0;
    switch (family) {
    case CHURN_FAMILY_PNBD:
        L->fam = &churn__pnbd_family;
        L->nb = 4;
        L->trans = (target){1, {1, 0}, {-1, 0}};
        L->life = (target){1, {3, 0}, {-1, 0}};
        return CHURN_OK;
    case CHURN_FAMILY_BGNBD:
    case CHURN_FAMILY_MBGNBD:
        L->fam = family == CHURN_FAMILY_BGNBD ? &churn__bgnbd_family : &churn__mbgnbd_family;
        L->nb = 4;
        L->trans = (target){1, {1, 0}, {-1, 0}};
        L->life = (target){2, {2, 3}, {1, 1}};
        return CHURN_OK;
    case CHURN_FAMILY_GGOMNBD:
        /* (r, alpha, b, s, beta): alpha_i = alpha e^(-g_t'z_t), beta_i = beta e^(-g_l'z_l),
         * as CLVTools' ggomnbd_staticcov_LL_ind; the Gompertz b and the shape s shared */
        L->fam = &churn__ggomnbd_family;
        L->nb = 5;
        L->trans = (target){1, {1, 0}, {-1, 0}};
        L->life = (target){1, {4, 0}, {-1, 0}};
        return CHURN_OK;
    case CHURN_FAMILY_MBGCNBD:
        /* the model's (k, r, alpha, a, b), for scoring; fitting uses mbgc_fit_layout */
        L->fam = &churn__mbgcnbd_family;
        L->nb = 5;
        L->trans = (target){1, {2, 0}, {-1, 0}};
        L->life = (target){2, {3, 4}, {1, 1}};
        L->kfix = 1;
        return CHURN_OK;
    default:
        return churn__error(CHURN_EFAMILY, "%s: covariates are supported for the 'pnbd', "
                            "'bgnbd', 'mbgnbd', 'ggomnbd' and 'mbgcnbd' families, not '%s'",
                            fn, churn_family_name(family));
    }
}

/* The fit of MBG/CNBD-k with k fixed: the descriptor of (r, alpha, a, b) at that k, moved
 * as MBG/NBD's. */
static void mbgc_fit_layout(int k, layout *L)
{
    L->fam = &churn__mbgc_fit_family[k - 1];
    L->nb = 4;
    L->trans = (target){1, {1, 0}, {-1, 0}};
    L->life = (target){2, {2, 3}, {1, 1}};
    L->kfix = 0;
}

CHURN_API void churn_btyd_covariates_init(churn_btyd_covariates *cov)
{
    if (cov)
        *cov = (churn_btyd_covariates)CHURN_BTYD_COVARIATES_INIT;
}

CHURN_API void churn_btyd_cov_options_init(churn_btyd_cov_options *opts)
{
    if (opts) {
        *opts = (churn_btyd_cov_options)CHURN_BTYD_COV_OPTIONS_INIT;
        opts->max_iter = 200;
        opts->tol = 1e-9;
    }
}

/* A caller's struct of any size up to ours, the rest defaulted. */
static int read_cov(churn_btyd_covariates *c, const churn_btyd_covariates *user, const char *fn)
{
    churn_btyd_covariates_init(c);
    (void)fn; /* the message names the struct */
    return churn__opts_copy(c, sizeof *c, user, "churn_btyd_covariates");
}

/* Names present, non-empty and unique within the process; values finite. */
static int check_block(const char *fn, const char *proc, size_t n, size_t k, const double *z,
                       const char *const *names)
{
    if (k == 0)
        return CHURN_OK;
    if (!names || (n > 0 && !z))
        return churn__error(CHURN_EINVAL, "%s: %zu %s covariates without %s", fn, k, proc,
                            !names ? "names" : "values");
    for (size_t j = 0; j < k; j++) {
        if (!names[j] || !names[j][0])
            return churn__error(CHURN_EINVAL, "%s: %s covariate %zu has no name", fn, proc, j);
        for (size_t l = 0; l < j; l++)
            if (strcmp(names[l], names[j]) == 0)
                return churn__error(CHURN_EINVAL, "%s: %s covariate '%s' is given twice", fn,
                                    proc, names[j]);
        const double *col = z + j * n;
        for (size_t i = 0; i < n; i++)
            if (!isfinite(col[i]))
                return churn__error(CHURN_EINVAL, "%s: row %zu, %s covariate '%s': %g is not "
                                    "finite (covariates must be finite)", fn, i, proc,
                                    names[j], col[i]);
    }
    return CHURN_OK;
}

/* ---- the problem: data, covariates, free parameters -------------------------------- */

typedef struct {
    layout L;
    size_t n;
    const double *x, *tx, *T, *w;
    size_t kt, kl;
    const double *Zt, *Zl;
    /* free-parameter index of each trans / life coefficient */
    size_t *free_t, *free_l;
    size_t k;            /* free parameters: nb + distinct coefficients */
    const double *lam;   /* L2 penalty of each free parameter (k values), or NULL */
    double *work;        /* k*k + nb*k scratch for the Hessian */
} problem;

/* Customer i's log-parameters at theta (free parameters). */
static void customer_params(const problem *pb, const double *theta, size_t i, double *phi)
{
    int nb = pb->L.nb;
    for (int j = 0; j < nb; j++)
        phi[j] = theta[j];
    double et = 0, el = 0;
    for (size_t j = 0; j < pb->kt; j++)
        if (pb->free_t[j] != FIXED)
            et += theta[pb->free_t[j]] * pb->Zt[j * pb->n + i];
    for (size_t j = 0; j < pb->kl; j++)
        if (pb->free_l[j] != FIXED)
            el += theta[pb->free_l[j]] * pb->Zl[j * pb->n + i];
    for (int m = 0; m < pb->L.trans.n; m++)
        phi[pb->L.trans.idx[m]] += pb->L.trans.sign[m] * et;
    for (int m = 0; m < pb->L.life.n; m++)
        phi[pb->L.life.idx[m]] += pb->L.life.sign[m] * el;
}

/* One customer's log-likelihood, gradient and (if H) Hessian in phi. */
static int customer_eval(const problem *pb, size_t i, const double *phi, double *ll, double *g,
                         double *H)
{
    int nb = pb->L.nb;
    double p[NBMAX], one = 1;
    for (int j = 0; j < nb; j++)
        p[j] = exp(phi[j]);
    const churn__btyd_family *fam = pb->L.fam;
    /* The analytic Hessian where the family has one: BG/NBD's and MBG/NBD's always,
     * Pareto/NBD's where its tails take the series (hess_cheap; near |z| -> 1 it would
     * difference quadratures, and the central differences below are cheaper). One call
     * instead of 2 nb + 1 gradients: the bulk of a Pareto/NBD covariate fit's time. */
    churn__btyd_hess_fn hf = fam->loglik_hess;
    if (!hf && fam->large_hess && (!fam->hess_cheap || fam->hess_cheap(p)))
        hf = fam->large_hess;
    if (H && hf) {
        int rc = hf(p, 1, &pb->x[i], &pb->tx[i], &pb->T[i], &one, ll, g, H);
        return rc ? rc : (isfinite(*ll) ? CHURN_OK : CHURN_ENUMERIC);
    }
    int rc = fam->loglik(p, 1, &pb->x[i], &pb->tx[i], &pb->T[i], &one, ll, g);
    if (rc || !isfinite(*ll))
        return CHURN_ENUMERIC;
    if (!H)
        return CHURN_OK;
    for (int j = 0; j < nb; j++) {
        double gp[NBMAX], gm[NBMAX], lp, lm, q[NBMAX];
        memcpy(q, p, sizeof q);
        q[j] = exp(phi[j] + FD_STEP);
        if (fam->loglik(q, 1, &pb->x[i], &pb->tx[i], &pb->T[i], &one, &lp, gp))
            return CHURN_ENUMERIC;
        q[j] = exp(phi[j] - FD_STEP);
        if (fam->loglik(q, 1, &pb->x[i], &pb->tx[i], &pb->T[i], &one, &lm, gm))
            return CHURN_ENUMERIC;
        for (int l = 0; l < nb; l++)
            H[l * nb + j] = (gp[l] - gm[l]) / (2 * FD_STEP);
    }
    for (int j = 0; j < nb; j++) /* symmetrise */
        for (int l = 0; l < j; l++)
            H[j * nb + l] = H[l * nb + j] = 0.5 * (H[j * nb + l] + H[l * nb + j]);
    return CHURN_OK;
}

/* Penalised total log-likelihood at theta; gradient g (k) and Hessian H (k x k)
 * when non-NULL. Returns CHURN_OK or CHURN_ENUMERIC (first bad row in *bad). */
static int evaluate(const problem *pb, const double *theta, double *f, double *g, double *H,
                    size_t *bad)
{
    size_t k = pb->k;
    int nb = pb->L.nb;
    double total = 0;
    if (g)
        memset(g, 0, k * sizeof *g);
    if (H)
        memset(H, 0, k * k * sizeof *H);
    /* d phi_i / d theta = [I | column c = s_t zt_c + s_l zl_c], s_t and s_l the base
     * parameters each process moves (with their signs), zt_c and zl_c customer i's
     * trans and life covariate of free coefficient c (both for a shared one). So
     * A' g = (g, (g's_t) zt + (g's_l) zl) and A' H A has the blocks H, H s_t zt' +
     * H s_l zl' and zt zt' (s_t'H s_t) + (zt zl' + zl zt') (s_t'H s_l) + zl zl'
     * (s_l'H s_l): a few multiply-adds per coefficient, not a dense nb x k product. */
    double st[NBMAX] = {0}, sl[NBMAX] = {0};
    for (int m = 0; m < pb->L.trans.n; m++)
        st[pb->L.trans.idx[m]] += pb->L.trans.sign[m];
    for (int m = 0; m < pb->L.life.n; m++)
        sl[pb->L.life.idx[m]] += pb->L.life.sign[m];
    size_t kc = k - (size_t)nb;
    double *zt = pb->work, *zl = pb->work + kc;
    for (size_t i = 0; i < pb->n; i++) {
        double wi = pb->w ? pb->w[i] : 1;
        if (wi == 0)
            continue;
        double phi[NBMAX], ll, gi[NBMAX], Hi[NBMAX * NBMAX];
        customer_params(pb, theta, i, phi);
        if (customer_eval(pb, i, phi, &ll, gi, H ? Hi : NULL)) {
            if (bad)
                *bad = i;
            return CHURN_ENUMERIC;
        }
        total += wi * ll;
        if (!g && !H)
            continue;
        memset(zt, 0, 2 * kc * sizeof *zt);
        for (size_t j = 0; j < pb->kt; j++)
            if (pb->free_t[j] != FIXED)
                zt[pb->free_t[j] - (size_t)nb] += pb->Zt[j * pb->n + i];
        for (size_t j = 0; j < pb->kl; j++)
            if (pb->free_l[j] != FIXED)
                zl[pb->free_l[j] - (size_t)nb] += pb->Zl[j * pb->n + i];
        if (g) {
            double gt = 0, gl = 0;
            for (int b = 0; b < nb; b++) {
                g[b] += wi * gi[b];
                gt += gi[b] * st[b];
                gl += gi[b] * sl[b];
            }
            for (size_t c = 0; c < kc; c++)
                g[nb + c] += wi * (gt * zt[c] + gl * zl[c]);
        }
        if (H) {
            double vt[NBMAX], vl[NBMAX], ptt = 0, ptl = 0, pll = 0;
            for (int b = 0; b < nb; b++) {
                double a = 0, e = 0;
                for (int d = 0; d < nb; d++) {
                    H[b * k + d] += wi * Hi[b * nb + d];
                    a += Hi[b * nb + d] * st[d];
                    e += Hi[b * nb + d] * sl[d];
                }
                vt[b] = a;
                vl[b] = e;
                ptt += st[b] * a;
                ptl += st[b] * e;
                pll += sl[b] * e;
            }
            for (int b = 0; b < nb; b++)
                for (size_t c = 0; c < kc; c++)
                    H[b * k + nb + c] += wi * (vt[b] * zt[c] + vl[b] * zl[c]);
            for (size_t c = 0; c < kc; c++) {
                double at = wi * (zt[c] * ptt + zl[c] * ptl);
                double al = wi * (zt[c] * ptl + zl[c] * pll);
                for (size_t d = c; d < kc; d++)
                    H[(nb + c) * k + nb + d] += at * zt[d] + al * zl[d];
            }
        }
    }
    if (H)
        for (size_t r = 0; r < k; r++)
            for (size_t c = 0; c < r; c++)
                H[r * k + c] = H[c * k + r];
    /* the L2 penalty of each free coefficient (set up once by the fit) */
    for (size_t j = nb; pb->lam && j < k; j++) {
        total -= pb->lam[j] * theta[j] * theta[j];
        if (g)
            g[j] -= 2 * pb->lam[j] * theta[j];
        if (H)
            H[j * k + j] -= 2 * pb->lam[j];
    }
    if (!isfinite(total))
        return CHURN_ENUMERIC;
    *f = total;
    return CHURN_OK;
}

/* ---- the public log-likelihood -------------------------------------------------------- */

/* Free-parameter maps for the no-constraint layout (loglik, scoring). */
static void plain_maps(problem *pb)
{
    size_t nb = (size_t)pb->L.nb;
    for (size_t j = 0; j < pb->kt; j++)
        pb->free_t[j] = nb + j;
    for (size_t j = 0; j < pb->kl; j++)
        pb->free_l[j] = nb + pb->kt + j;
    pb->k = nb + pb->kt + pb->kl;
}

static int check_rows(const char *fn, size_t n, const double *x, const double *tx,
                      const double *T, const double *w, int fitting)
{
    for (size_t i = 0; i < n; i++) {
        int rc = churn__btyd_check_row(fn, 0, fitting, i, x[i], tx[i], T[i]);
        if (!rc && w)
            rc = churn__btyd_check_weight(fn, i, w[i]);
        if (rc)
            return rc;
    }
    return CHURN_OK;
}

#define MAXCOV 64 /* coefficients per process handled without allocation */
/* the fit's warm start: on at least 4 x this many customers, a subsample first */
#define COV_WARM_ROWS 8192

CHURN_API int churn_btyd_loglik_covariates(int family, size_t nparams, const double *params,
                                           size_t n, const double *frequency,
                                           const double *recency, const double *T,
                                           const double *weights,
                                           const churn_btyd_covariates *cov, double *loglik,
                                           double *gradient)
{
    churn__ok();
    static const char fn[] = "churn_btyd_loglik_covariates";
    layout L;
    churn_btyd_covariates c;
    if (family == CHURN_FAMILY_MBGCNBD)
        return churn__error(CHURN_EINVAL, "%s: MBG/CNBD-k's log-likelihood needs k and "
                            "litt: evaluate churn_mbgcnbd_loglik at each customer's own "
                            "parameters (churn_btyd_customer_params_covariates)", fn);
    int rc = get_layout(family, &L, fn);
    if (rc || (rc = read_cov(&c, cov, fn)))
        return rc;
    size_t nb = (size_t)L.nb;
    if (!params || !loglik || NEED(frequency) || NEED(recency) || NEED(T))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    if (c.n_trans > MAXCOV || c.n_life > MAXCOV)
        return churn__error(CHURN_EINVAL, "%s: at most %d covariates per process", fn, MAXCOV);
    if (nparams != nb + c.n_trans + c.n_life)
        return churn__error(CHURN_EINVAL, "%s: nparams is %zu; the %zu base parameters and "
                            "%zu + %zu coefficients make %zu", fn, nparams, nb, c.n_trans,
                            c.n_life, nb + c.n_trans + c.n_life);
    if ((rc = churn__btyd_check_params(fn, L.fam, params, nb)))
        return rc;
    for (size_t j = nb; j < nparams; j++)
        if (!isfinite(params[j]))
            return churn__error(CHURN_EINVAL, "%s: coefficient params[%zu] = %g is not finite",
                                fn, j, params[j]);
    if ((rc = check_block(fn, "trans", n, c.n_trans, c.trans, c.trans_names)) ||
        (rc = check_block(fn, "life", n, c.n_life, c.life, c.life_names)) ||
        (rc = check_rows(fn, n, frequency, recency, T, weights, 0)))
        return rc;
    size_t ft[MAXCOV], fl[MAXCOV];
    double work[NBMAX * (NBMAX + 2 * MAXCOV) * 2];
    problem pb = {L, n, frequency, recency, T, weights, c.n_trans, c.n_life, c.trans, c.life,
                  ft, fl, 0, NULL, work};
    plain_maps(&pb);
    double theta[NBMAX + 2 * MAXCOV], g[NBMAX + 2 * MAXCOV];
    for (size_t j = 0; j < nb; j++)
        theta[j] = log(params[j]);
    for (size_t j = nb; j < nparams; j++)
        theta[j] = params[j];
    size_t bad = 0;
    if (evaluate(&pb, theta, loglik, gradient ? g : NULL, NULL, &bad))
        return churn__error(CHURN_ENUMERIC, "%s: row %zu: the log-likelihood is not finite at "
                            "these parameters", fn, bad);
    if (gradient) {
        for (size_t j = 0; j < nb; j++)
            gradient[j] = g[j] / params[j];
        for (size_t j = nb; j < nparams; j++)
            gradient[j] = g[j];
    }
    return CHURN_OK;
}

/* ---- the fit ------------------------------------------------------------------------- */

/* Solve (-H + mu I) d = g by Cholesky, increasing mu until it is positive
 * definite. 0, or -1 when no mu up to 1e10 * max|H| works. Shared with
 * dyncov.c (btyd_internal.h). */
int churn__cov_newton_step(size_t k, const double *H, const double *g, double *d, double *M)
{
    double scale = 0;
    for (size_t j = 0; j < k; j++)
        scale = fmax(scale, fabs(H[j * k + j]));
    if (!(scale > 0) || !isfinite(scale))
        scale = 1;
    for (double mu = 0; mu <= 1e10 * scale; mu = mu ? mu * 10 : 1e-8 * scale) {
        for (size_t j = 0; j < k * k; j++)
            M[j] = -H[j];
        for (size_t j = 0; j < k; j++)
            M[j * k + j] += mu;
        if (churn__chol(M, k, 0) == 0) {
            memcpy(d, g, k * sizeof *d);
            churn__chol_solve(M, d, k);
            /* A step longer than MAX_STEP in any coordinate (a factor e^MAX_STEP in a base
             * parameter, MAX_STEP in a coefficient) is shortened to it: far from the
             * optimum the quadratic model can point at a distant region where the
             * likelihood happens to be higher than at the start but which is no optimum
             * (a Gamma-Gompertz/NBD fit of 10,000 customers from the plain start jumped to
             * b = 6e18, s = 0 and stayed there). Near the optimum the steps are far
             * shorter, so the optimum and its precision do not change. */
            double dmax = churn__cov_max_abs(k, d);
            if (dmax > MAX_STEP)
                for (size_t j = 0; j < k; j++)
                    d[j] *= MAX_STEP / dmax;
            return 0;
        }
    }
    return -1;
}

int churn__cov_options(const char *fn, const churn_btyd_cov_options *user,
                       churn_btyd_cov_options *o)
{
    int rc;
    churn_btyd_cov_options_init(o);
    if (user && (rc = churn__opts_copy(o, sizeof *o, user, "churn_btyd_cov_options")))
        return rc;
    if (!(o->l2_trans >= 0) || !isfinite(o->l2_trans) || !(o->l2_life >= 0) ||
        !isfinite(o->l2_life))
        return churn__error(CHURN_EINVAL, "%s: the L2 penalties l2_trans = %g and l2_life = %g "
                            "must be finite numbers >= 0", fn, o->l2_trans, o->l2_life);
    if (o->max_iter <= 0)
        o->max_iter = 200;
    if (!(o->tol > 0))
        o->tol = 1e-9;
    return CHURN_OK;
}

double churn__cov_max_abs(size_t k, const double *v)
{
    double m = 0;
    for (size_t j = 0; j < k; j++)
        m = fmax(m, fabs(v[j]));
    return m;
}

/* The scratch of newton(): k x k H, M, Ht and k-vectors g, d, trial, gt. */
typedef struct {
    double *H, *M, *g, *d, *trial, *gt, *Ht;
} nscratch;

/* Newton's method with a backtracking line search from theta, until the largest
 * gradient component per unit of weight is below tol; with `polish`, one more full
 * Newton step is then taken (quadratic convergence: it lands on the optimum to the
 * likelihood's precision, so the result does not depend on the path). On return
 * theta, *f and w->g, w->H hold the last point, *iters the iterations taken,
 * *converged whether the test was met (else why[] says what stopped it). CHURN_OK,
 * or CHURN_ENUMERIC (not finite; *bad the row, or (size_t)-1) without a message:
 * the caller words it. */
static int newton(const problem *pb, double *theta, int max_iter, double tol, double wsum,
                  int polish, const nscratch *w, double *f, int *iters, int *converged,
                  char *why, size_t whylen, size_t *bad)
{
    size_t k = pb->k;
    double *H = w->H, *g = w->g, *d = w->d, *trial = w->trial, ftrial;
    int it = 0;
    *converged = 0;
    *iters = 0;
    why[0] = 0;
    *bad = (size_t)-1;
    if (evaluate(pb, theta, f, g, H, bad))
        return CHURN_ENUMERIC;
    for (; it < max_iter; it++) {
        int small = churn__cov_max_abs(k, g) / wsum < tol;
        if (small && !polish) {
            *converged = 1;
            break;
        }
        if (churn__cov_newton_step(k, H, g, d, w->M)) {
            *converged = small;
            if (!small)
                snprintf(why, whylen, "no ascent direction (the Hessian is not finite)");
            break;
        }
        double step = 1, slope = 0;
        for (size_t j = 0; j < k; j++)
            slope += g[j] * d[j];
        if (small || slope <= 1e-13 * fmax(1.0, fabs(*f))) {
            /* The Newton decrement is at the rounding level of the total
             * log-likelihood: no line search can see an increase. Take the full
             * step (it only polishes the last digits) and stop: this is the
             * optimum to the precision the likelihood has. (Also the polishing step
             * after the convergence test.) */
            for (size_t j = 0; j < k; j++)
                trial[j] = theta[j] + d[j];
            if (evaluate(pb, trial, &ftrial, w->gt, w->Ht, NULL) == CHURN_OK &&
                ftrial >= *f - 1e-12 * fmax(1.0, fabs(*f))) {
                memcpy(theta, trial, k * sizeof *theta);
                memcpy(g, w->gt, k * sizeof *g);
                memcpy(H, w->Ht, k * k * sizeof *H);
                *f = ftrial;
            }
            *converged = 1;
            it++;
            break;
        }
        /* The full step is tried with its gradient and Hessian (it is nearly always
         * taken, and then they are the next iteration's); shorter ones without. */
        int moved = 0, h;
        for (h = 0; h < 60; h++, step *= 0.5) {
            for (size_t j = 0; j < k; j++)
                trial[j] = theta[j] + step * d[j];
            if (evaluate(pb, trial, &ftrial, h ? NULL : w->gt, h ? NULL : w->Ht, NULL) ==
                    CHURN_OK &&
                ftrial >= *f + 1e-4 * step * slope) {
                moved = 1;
                break;
            }
        }
        if (!moved) {
            /* no increase along the Newton direction: at the optimum to rounding? */
            if (churn__cov_max_abs(k, g) / wsum < 1e3 * tol)
                *converged = 1;
            else
                snprintf(why, whylen, "the line search found no increase (largest "
                         "gradient component %.3g per customer)", churn__cov_max_abs(k, g) / wsum);
            break;
        }
        memcpy(theta, trial, k * sizeof *theta);
        if (h == 0) {
            memcpy(g, w->gt, k * sizeof *g);
            memcpy(H, w->Ht, k * k * sizeof *H);
            *f = ftrial;
        } else if (evaluate(pb, theta, f, g, H, bad)) {
            *iters = it + 1;
            return CHURN_ENUMERIC;
        }
    }
    *iters = it;
    return CHURN_OK;
}

/* A coefficient column must tell customers apart. A column that is 0 for
 * every customer of positive weight (the "no covariates" case) leaves its
 * coefficient unidentified: it is fixed at 0 and flagged in zero[j]. Any
 * other constant column is the base parameter again: refused. */
static int check_varies(const char *fn, const char *proc, size_t n, size_t k, const double *z,
                        const char *const *names, const double *w, int *zero)
{
    for (size_t j = 0; j < k; j++) {
        const double *col = z + j * n;
        size_t first = n;
        int varies = 0;
        for (size_t i = 0; i < n && !varies; i++) {
            if (w && w[i] == 0)
                continue;
            if (first == n)
                first = i;
            else if (col[i] != col[first])
                varies = 1;
        }
        zero[j] = !varies && (first == n || col[first] == 0);
        if (!varies && !zero[j])
            return churn__error(CHURN_EINVAL, "%s: %s covariate '%s' has the same value (%g) "
                                "for every customer: its coefficient cannot be told apart from "
                                "the base parameter (drop it, or code a dummy against a "
                                "reference level)", fn, proc, names[j], col[first]);
    }
    return CHURN_OK;
}

int churn__cov_find_name(const char *const *names, size_t k, const char *s)
{
    for (size_t j = 0; j < k; j++)
        if (strcmp(names[j], s) == 0)
            return (int)j;
    return -1;
}

/* The model: base parameters, then "trans.<name>" and "life.<name>". */
static int build_model_fit(churn_model **out, int family, const problem *pb,
                           const churn_btyd_covariates *c, const double *theta,
                           const double *covt, const int *shared_life);

/* The fitted model: base parameters (MBG/CNBD-k's k first when mk > 0, with variance 0),
 * then the coefficients trans.<name> and life.<name>. */
static int build_model(churn_model **out, int family, int mk, const problem *pb,
                       const churn_btyd_covariates *c, const double *theta, const double *covt,
                       const int *shared_life)
{
    churn_model *m0 = NULL;
    int rc0 = build_model_fit(&m0, family, pb, c, theta, covt, shared_life);
    if (rc0 || !mk) {
        *out = m0;
        return rc0;
    }
    size_t np = m0->nparams + 1;
    char **names = churn__calloc(np, sizeof *names);
    double *cov = m0->cov ? churn__calloc(np * np, sizeof *cov) : NULL;
    churn_model *m = NULL;
    int rc = !names || (m0->cov && !cov) ? churn__nomem("covariate model") : CHURN_OK;
    if (!rc) {
        names[0] = (char *)"k";
        for (size_t j = 1; j < np; j++)
            names[j] = m0->param_names[j - 1];
        rc = churn__model_new(&m, family, np, (const char *const *)names);
    }
    if (!rc) {
        m->params[0] = mk;
        memcpy(m->params + 1, m0->params, (np - 1) * sizeof *m->params);
        const double *flag = NULL;
        size_t nf = 0;
        flag = churn__model_array(m0, "covariates_shared", &nf);
        if (flag && nf)
            rc = churn__model_set_array(m, "covariates_shared", flag, nf);
    }
    if (!rc && cov) { /* k is chosen, not estimated: its row and column are 0 */
        for (size_t i = 1; i < np; i++)
            for (size_t j = 1; j < np; j++)
                cov[i * np + j] = m0->cov[(i - 1) * (np - 1) + j - 1];
        rc = churn__model_set_cov(m, cov);
    } else if (!rc) {
        m->se[0] = 0.0;
        memcpy(m->se + 1, m0->se, (np - 1) * sizeof *m->se);
    }
    churn__free(names);
    churn__free(cov);
    churn_model_free(m0);
    if (rc) {
        churn_model_free(m);
        return rc;
    }
    *out = m;
    return CHURN_OK;
}

static int build_model_fit(churn_model **out, int family, const problem *pb,
                           const churn_btyd_covariates *c, const double *theta,
                           const double *covt, const int *shared_life)
{
    size_t nb = (size_t)pb->L.nb, kt = pb->kt, kl = pb->kl, np = nb + kt + kl;
    char **names = churn__calloc(np, sizeof *names);
    double *par = churn__malloc(np * sizeof *par), *cov = NULL;
    double *flag = churn__malloc((kt + kl ? kt + kl : 1) * sizeof *flag);
    int rc = (!names || !par || !flag) ? churn__nomem("covariate model") : CHURN_OK;
    const char *const *bn = pb->L.fam->names;
    size_t *where = NULL;
    if (!rc) {
        where = churn__malloc(np * sizeof *where);
        rc = where ? CHURN_OK : churn__nomem("covariate model");
    }
    for (size_t j = 0; !rc && j < np; j++) {
        const char *proc = j < nb ? "" : j < nb + kt ? "trans." : "life.";
        const char *nm = j < nb ? bn[j] : j < nb + kt ? c->trans_names[j - nb]
                                                      : c->life_names[j - nb - kt];
        size_t len = strlen(proc) + strlen(nm) + 1;
        names[j] = churn__malloc(len);
        if (!names[j]) {
            rc = churn__nomem("covariate names");
            break;
        }
        snprintf(names[j], len, "%s%s", proc, nm);
        where[j] = j < nb ? j : j < nb + kt ? pb->free_t[j - nb] : pb->free_l[j - nb - kt];
        par[j] = j < nb ? exp(theta[j]) : where[j] == FIXED ? 0 : theta[where[j]];
    }
    for (size_t j = 0; !rc && j < kt + kl; j++)
        flag[j] = j >= kt && shared_life[j - kt] ? 1 : 0;
    churn_model *m = NULL;
    if (!rc)
        rc = churn__model_new(&m, family, np, (const char *const *)names);
    if (!rc) {
        memcpy(m->params, par, np * sizeof *par);
        if (kt + kl)
            rc = churn__model_set_array(m, "covariates_shared", flag, kt + kl);
    }
    if (!rc && covt) {
        cov = churn__malloc(np * np * sizeof *cov);
        if (!cov)
            rc = churn__nomem("covariance matrix");
        for (size_t i = 0; !rc && i < np; i++)
            for (size_t j = 0; j < np; j++) {
                double di = i < nb ? par[i] : 1, dj = j < nb ? par[j] : 1;
                cov[i * np + j] = where[i] == FIXED || where[j] == FIXED
                                      ? NAN : covt[where[i] * pb->k + where[j]] * di * dj;
            }
        if (!rc)
            rc = churn__model_set_cov(m, cov);
    }
    for (size_t j = 0; names && j < np; j++)
        churn__free(names[j]);
    churn__free(names);
    churn__free(par);
    churn__free(flag);
    churn__free(where);
    churn__free(cov);
    if (rc) {
        churn_model_free(m);
        return rc;
    }
    *out = m;
    return CHURN_OK;
}

/* The plain model's log base parameters (the start): the family's fit, or with mk > 0
 * MBG/CNBD-k's fixed-k fit. Returns CHURN_OK or CHURN_ENOCONV with theta set, or the
 * failure. */
static int plain_start(int family, int mk, size_t n, const double *x, const double *tx,
                       const double *T, const double *w, double *theta, const char *fn)
{
    churn_btyd_options bo, o;
    churn_btyd_options_init(&bo);
    bo.no_std_errors = 1;
    churn_model *plain = NULL;
    int rc;
    if (!mk) {
        rc = churn_btyd_fit(&plain, family, n, x, tx, T, w, &bo);
    } else if (!(rc = churn__btyd_options(&o, &bo, fn))) {
        churn__btyd_data d;
        if (!(rc = churn__btyd_collapse(&d, n, x, tx, T, w))) {
            rc = churn__btyd_fit_collapsed(&plain, &churn__mbgc_fit_family[mk - 1], &d, d.wsum,
                                           &o, fn);
            churn__btyd_data_free(&d);
        }
    }
    if (plain && (rc == CHURN_OK || rc == CHURN_ENOCONV)) {
        for (size_t j = 0; j < plain->nparams; j++)
            theta[j] = log(plain->params[j]);
        churn_model_free(plain);
        return rc;
    }
    churn_model_free(plain);
    return rc ? rc : CHURN_ENUMERIC;
}

static int fit_cov(churn_model **out, int family, int mk, const double *litt, size_t n,
                   const double *frequency, const double *recency, const double *T,
                   const double *weights, const churn_btyd_covariates *cov,
                   const churn_btyd_cov_options *opts, const char *fn);

CHURN_API int churn_btyd_fit_covariates(churn_model **out, int family, size_t n,
                                        const double *frequency, const double *recency,
                                        const double *T, const double *weights,
                                        const churn_btyd_covariates *cov,
                                        const churn_btyd_cov_options *opts)
{
    churn__ok();
    static const char fn[] = "churn_btyd_fit_covariates";
    if (out)
        *out = NULL;
    if (family == CHURN_FAMILY_MBGCNBD)
        return churn__error(CHURN_EINVAL, "%s: MBG/CNBD-k needs k and litt: fit it with "
                            "churn_mbgcnbd_fit_covariates", fn);
    return fit_cov(out, family, 0, NULL, n, frequency, recency, T, weights, cov, opts, fn);
}

CHURN_API int churn_mbgcnbd_fit_covariates(churn_model **out, int k, size_t n,
                                           const double *frequency, const double *recency,
                                           const double *T, const double *litt,
                                           const double *weights,
                                           const churn_btyd_covariates *cov,
                                           const churn_btyd_cov_options *opts)
{
    churn__ok();
    static const char fn[] = "churn_mbgcnbd_fit_covariates";
    if (out)
        *out = NULL;
    int rc = churn__mbgc_check_args(fn, out, k, n, frequency, recency, T, litt);
    if (rc || (n && (rc = churn__mbgc_check_rows(fn, 1, n, frequency, recency, T,
                                                 k == 1 ? NULL : litt, weights))))
        return rc;
    int k0 = k ? k : 1, k1 = k ? k : CHURN__MBGC_KMAX;
    churn_model *best = NULL;
    int best_rc = CHURN_OK;
    char tried[512] = "", best_msg[600] = "";
    size_t len = 0;
    for (int kk = k0; kk <= k1; kk++) {
        churn_model *m = NULL;
        int frc = fit_cov(&m, CHURN_FAMILY_MBGCNBD, kk, litt, n, frequency, recency, T,
                          weights, cov, opts, fn);
        if (!m) {
            /* bad input fails every k alike, and a fixed k keeps its own failure; when
             * choosing, a k whose likelihood cannot be evaluated is skipped */
            if (k || frc != CHURN_ENUMERIC) {
                churn_model_free(best);
                return frc;
            }
            churn__ok();
            continue;
        }
        if (!k && len < sizeof tried - 40)
            len += (size_t)snprintf(tried + len, sizeof tried - len, "%sk=%d: %.10g%s",
                                    len ? ", " : "", kk, m->loglik,
                                    frc ? " (not converged)" : "");
        if (!best || (frc == CHURN_OK && (best_rc != CHURN_OK || m->loglik > best->loglik))) {
            churn_model_free(best);
            best = m;
            best_rc = frc;
            snprintf(best_msg, sizeof best_msg, "%s", frc ? churn_last_error_message() : "");
        } else {
            churn_model_free(m);
        }
        churn__ok();
    }
    if (!best)
        return churn__error(CHURN_ENUMERIC, "%s: the log-likelihood is not finite for any k in "
                            "1..%d", fn, k1);
    if (!k) {
        char note[1200];
        snprintf(note, sizeof note, "k = %g chosen by likelihood among %s%s%s", best->params[0],
                 tried, best->note ? "; " : "", best->note ? best->note : "");
        if ((rc = churn__model_set_note(best, note))) {
            churn_model_free(best);
            return rc;
        }
    }
    *out = best;
    if (best_rc)
        return churn__error(best_rc, "%s", best_msg);
    return CHURN_OK;
}

static int fit_cov(churn_model **out, int family, int mk, const double *litt, size_t n,
                   const double *frequency, const double *recency, const double *T,
                   const double *weights, const churn_btyd_covariates *cov,
                   const churn_btyd_cov_options *opts, const char *fn)
{
    layout L;
    churn_btyd_covariates c;
    churn_btyd_cov_options o;
    int rc = CHURN_OK;
    if (mk)
        mbgc_fit_layout(mk, &L);
    else if ((rc = get_layout(family, &L, fn)))
        return rc;
    const size_t nb = (size_t)L.nb;
    if (!out || !cov || NEED(frequency) || NEED(recency) || NEED(T))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    if ((rc = read_cov(&c, cov, fn)))
        return rc;
    if ((rc = churn__cov_options(fn, opts, &o)))
        return rc;
    if (n == 0)
        return churn__error(CHURN_EINVAL, "%s: no customers", fn);
    if ((rc = check_block(fn, "trans", n, c.n_trans, c.trans, c.trans_names)) ||
        (rc = check_block(fn, "life", n, c.n_life, c.life, c.life_names)) ||
        (rc = check_rows(fn, n, frequency, recency, T, weights, 1)))
        return rc;
    if (o.n_shared && !o.shared)
        return churn__error(CHURN_EINVAL, "%s: n_shared is %zu but shared is NULL", fn,
                            o.n_shared);
    size_t kt = c.n_trans, kl = c.n_life;
    size_t *ft = churn__malloc((kt + kl + 1) * sizeof *ft);
    int *shared_life = churn__calloc(kl + 1, sizeof *shared_life);
    int *zero = churn__calloc(kt + kl + 1, sizeof *zero);
    if (!ft || !shared_life || !zero) {
        churn__free(ft);
        churn__free(shared_life);
        churn__free(zero);
        return churn__nomem("covariate layout");
    }
    if ((rc = check_varies(fn, "trans", n, kt, c.trans, c.trans_names, weights, zero)) ||
        (rc = check_varies(fn, "life", n, kl, c.life, c.life_names, weights, zero + kt))) {
        churn__free(ft);
        churn__free(shared_life);
        churn__free(zero);
        return rc;
    }
    size_t *fl = ft + kt;
    for (size_t s = 0; s < o.n_shared; s++) {
        const char *nm = o.shared[s];
        int jt = nm ? churn__cov_find_name(c.trans_names, kt, nm) : -1;
        int jl = nm ? churn__cov_find_name(c.life_names, kl, nm) : -1;
        if (jt < 0 || jl < 0) {
            churn__free(ft);
            churn__free(shared_life);
            churn__free(zero);
            return churn__error(CHURN_EINVAL, "%s: shared covariate '%s' must be among both "
                                "the trans and the life covariates (%s)", fn, nm ? nm : "(null)",
                                jt < 0 ? "not a trans covariate" : "not a life covariate");
        }
        shared_life[jl] = jt + 1;
    }
    size_t k = nb;
    for (size_t j = 0; j < kt; j++)
        ft[j] = zero[j] ? FIXED : k++;
    for (size_t j = 0; j < kl; j++)
        fl[j] = shared_life[j] ? ft[shared_life[j] - 1] : zero[kt + j] ? FIXED : k++;

    double *mem = churn__malloc((4 * k * k + 2 * nb * k + 8 * k) * sizeof *mem);
    if (!mem) {
        churn__free(ft);
        churn__free(shared_life);
        churn__free(zero);
        return churn__nomem("covariate fit");
    }
    double *H = mem, *M = H + k * k, *covt = M + k * k, *Ht = covt + k * k;
    double *work = Ht + k * k, *theta = work + 2 * nb * k, *g = theta + k, *d = g + k,
           *trial = d + k, *e = trial + k, *lam = e + k, *gt = lam + k, *lam_sub = gt + k;
    /* a coefficient's penalty: lambda of every process it belongs to (a shared one, both) */
    memset(lam, 0, k * sizeof *lam);
    for (size_t j = 0; j < kt; j++)
        if (ft[j] != FIXED)
            lam[ft[j]] += o.l2_trans;
    for (size_t j = 0; j < kl; j++)
        if (fl[j] != FIXED)
            lam[fl[j]] += o.l2_life;
    problem pb = {L, n, frequency, recency, T, weights, kt, kl, c.trans, c.life, ft, fl, k,
                  lam, work};
    double wsum = 0;
    for (size_t i = 0; i < n; i++)
        wsum += weights ? weights[i] : 1;
    nscratch ns = {H, M, g, d, trial, gt, Ht};

    /* On many customers, Newton first runs on a systematic subsample (from the plain
     * model's fit on it) and the full data start from its optimum: a few full passes
     * instead of one per iteration from the plain fit. The optimum is the full data's
     * either way (the same convergence test on the full data ends the fit). */
    int warm = 0;
    size_t ms = n >= 4 * COV_WARM_ROWS ? (n / 8 > COV_WARM_ROWS ? n / 8 : COV_WARM_ROWS) : 0;
    double *sub = ms ? churn__malloc(ms * (4 + kt + kl) * sizeof *sub) : NULL;
    if (sub) {
        double *sx = sub, *stx = sx + ms, *sT = stx + ms, *sw = sT + ms, *sz = sw + ms;
        double swsum = 0;
        for (size_t r = 0; r < ms; r++) {
            size_t i = (size_t)((double)r * (double)n / (double)ms);
            sx[r] = frequency[i];
            stx[r] = recency[i];
            sT[r] = T[i];
            sw[r] = weights ? weights[i] : 1;
            swsum += sw[r];
            for (size_t j = 0; j < kt + kl; j++)
                sz[j * ms + r] = j < kt ? c.trans[j * n + i] : c.life[(j - kt) * n + i];
        }
        for (size_t j = 0; j < k; j++)
            lam_sub[j] = wsum > 0 ? lam[j] * swsum / wsum : 0;
        problem sp = {L, ms, sx, stx, sT, weights ? sw : NULL, kt, kl, sz, sz + kt * ms, ft, fl,
                      k, lam_sub, work};
        int prc = plain_start(family, mk, ms, sx, stx, sT, sp.w, trial, fn);
        if (prc == CHURN_OK || prc == CHURN_ENOCONV) {
            for (size_t j = nb; j < k; j++)
                trial[j] = 0;
            double fs;
            int sit, sconv;
            char swhy[200];
            size_t sbad;
            memcpy(theta, trial, k * sizeof *theta);
            if (newton(&sp, theta, o.max_iter, o.tol, swsum, 0, &ns, &fs, &sit, &sconv, swhy,
                       sizeof swhy, &sbad) == CHURN_OK)
                warm = 1;
        }
        churn__free(sub);
    }
    churn__ok(); /* the subsample's failures, if any, are not the caller's */

    double f = 0;
    size_t bad = 0;
    int it = 0, converged = 0;
    char why[200] = "";
    /* from the subsample's optimum; if the full data's likelihood is not finite
     * there, from the plain fit as without a subsample */
    if (warm) {
        rc = newton(&pb, theta, o.max_iter, o.tol, wsum, 1, &ns, &f, &it, &converged, why,
                    sizeof why, &bad);
        if (rc == CHURN_ENUMERIC && it == 0)
            warm = 0;
    }
    /* start: the plain model, every coefficient 0 */
    char plain_msg[200] = ""; /* why the plain fit did not converge, if it did not */
    if (!warm) {
        rc = plain_start(family, mk, n, frequency, recency, T, weights, theta, fn);
        if (rc == CHURN_ENOCONV)
            snprintf(plain_msg, sizeof plain_msg, "%s", churn_last_error_message());
        if (rc && rc != CHURN_ENOCONV) {
            churn__free(mem);
            churn__free(ft);
            churn__free(shared_life);
            churn__free(zero);
            return rc;
        }
        for (size_t j = nb; j < k; j++)
            theta[j] = 0;
        rc = newton(&pb, theta, o.max_iter, o.tol, wsum, 1, &ns, &f, &it, &converged, why,
                    sizeof why, &bad);
    }
    if (rc == CHURN_ENUMERIC) {
        char where[48] = "", at[160] = "";
        if (bad != (size_t)-1)
            snprintf(where, sizeof where, "row %zu: ", bad);
        /* what failed: that row's log-likelihood itself, or only its derivatives
         * (the Hessian, analytic or by differences of the gradient: it fails first
         * where a base parameter has run off, e.g. the Gamma-Gompertz/NBD's b -> 0) */
        const char *what = "the log-likelihood is not finite";
        if (bad != (size_t)-1 && bad < n) {
            double phi[NBMAX], q[NBMAX], ll = NAN, one = 1;
            customer_params(&pb, theta, bad, phi);
            for (size_t j = 0; j < nb; j++)
                q[j] = exp(phi[j]);
            if (pb.L.fam->loglik(q, 1, &pb.x[bad], &pb.tx[bad], &pb.T[bad], &one, &ll, NULL) ==
                    CHURN_OK && isfinite(ll))
                what = "the gradient or Hessian of the log-likelihood is not finite (the "
                       "log-likelihood is)";
        }
        if (it == 0) {
            /* the point: the base parameters it started from */
            int len = snprintf(at, sizeof at, " (");
            for (size_t j = 0; j < nb && len > 0 && (size_t)len < sizeof at; j++)
                len += snprintf(at + len, sizeof at - (size_t)len, "%s%s %g", j ? ", " : "",
                                pb.L.fam->names[j], exp(theta[j]));
            if (len > 0 && (size_t)len < sizeof at)
                snprintf(at + len, sizeof at - (size_t)len, ")");
        }
        rc = churn__error(CHURN_ENUMERIC, "%s: %s%s %s%s%s%s", fn, where, what,
                          it > 0 ? "during the fit"
                          : warm ? "at the subsample's optimum" : "at the plain model's fit",
                          at, it == 0 && plain_msg[0] ? "; that fit did not converge: " : "",
                          it == 0 ? plain_msg : "");
    }
    if (!rc && !converged && !why[0])
        snprintf(why, sizeof why, "%d Newton iterations (max_iter) were not enough", it);

    /* covariance: inverse of the negative (penalised) Hessian */
    int have_cov = 0;
    char note[256] = "";
    if (!rc && !o.no_std_errors) {
        for (size_t j = 0; j < k * k; j++)
            M[j] = -H[j];
        if (churn__chol(M, k, 0) == 0) {
            for (size_t j = 0; j < k; j++) {
                memset(e, 0, k * sizeof *e);
                e[j] = 1;
                churn__chol_solve(M, e, k);
                for (size_t i = 0; i < k; i++)
                    covt[i * k + j] = e[i];
            }
            have_cov = 1;
        } else {
            converged = 0;
            snprintf(note, sizeof note, "the Hessian is not negative definite at the optimum: "
                     "some coefficients are not identified (collinear covariates?)");
        }
    }
    for (size_t j = 0; j < kt + kl; j++) {
        if (!zero[j])
            continue;
        size_t len = strlen(note);
        snprintf(note + len, sizeof note - len, "%s%s covariate '%s' is 0 for every customer: "
                 "its coefficient is not identified and fixed at 0", len ? "; " : "",
                 j < kt ? "trans" : "life", j < kt ? c.trans_names[j] : c.life_names[j - kt]);
    }
    churn_model *m = NULL;
    if (!rc)
        rc = build_model(&m, family, mk, &pb, &c, theta, have_cov ? covt : NULL, shared_life);
    if (!rc) {
        /* the unpenalised log-likelihood at the optimum */
        problem up = pb;
        up.lam = NULL;
        double ll;
        m->loglik = evaluate(&up, theta, &ll, NULL, NULL, NULL) == CHURN_OK ? ll : NAN;
        if (mk) /* MBG/CNBD-k: the part that only k changes, as churn_mbgcnbd_fit */
            m->loglik += churn__mbgc_litt_term(mk, n, frequency, litt, weights);
        m->nobs = wsum;
        m->converged = converged;
        m->iterations = it;
        if (!converged) {
            char msg[512];
            snprintf(msg, sizeof msg, "covariate fit did not converge: %s%s%s", why,
                     note[0] ? "; " : "", note);
            churn__model_set_note(m, msg);
        } else if (note[0]) {
            churn__model_set_note(m, note);
        }
    }
    churn__free(mem);
    churn__free(ft);
    churn__free(shared_life);
    churn__free(zero);
    if (rc)
        return rc;
    *out = m;
    if (!m->converged)
        return churn__error(CHURN_ENOCONV, "%s: %s%s%s", fn, why[0] ? why : "not converged",
                            note[0] ? "; " : "", note);
    return CHURN_OK;
}

/* ---- a model's covariates, scoring ---------------------------------------------------- */

/* Covariate counts of a model from its parameter names (no base parameter's name has
 * either prefix). */
static void count_cov(const churn_model *m, size_t *kt, size_t *kl)
{
    *kt = *kl = 0;
    for (size_t j = 0; j < m->nparams; j++) {
        if (strncmp(m->param_names[j], "trans.", 6) == 0)
            (*kt)++;
        else if (strncmp(m->param_names[j], "life.", 5) == 0)
            (*kl)++;
    }
}

CHURN_API int churn_btyd_model_covariates(const churn_model *model, size_t *n_trans,
                                          size_t *n_life)
{
    churn__ok();
    if (!model)
        return churn__error(CHURN_EINVAL, "churn_btyd_model_covariates: NULL model");
    size_t kt = 0, kl = 0;
    if (model->family == CHURN_FAMILY_PNBD || model->family == CHURN_FAMILY_BGNBD ||
        model->family == CHURN_FAMILY_MBGNBD || model->family == CHURN_FAMILY_GGOMNBD ||
        model->family == CHURN_FAMILY_MBGCNBD)
        count_cov(model, &kt, &kl);
    if (n_trans)
        *n_trans = kt;
    if (n_life)
        *n_life = kl;
    return CHURN_OK;
}

/* A covariate model met by a caller's covariates: the family layout and, for each of
 * the model's kt + kl coefficients, the caller's column (matched by name). */
typedef struct {
    layout L;
    size_t kt, kl;
    const double *colp[2 * MAXCOV];
} scoring;

static int scoring_setup(scoring *sc, const churn_model *model, size_t n,
                         const churn_btyd_covariates *cov, const char *fn)
{
    int rc = churn__model_check(model, fn, 5, CHURN_FAMILY_PNBD, CHURN_FAMILY_BGNBD,
                                CHURN_FAMILY_MBGNBD, CHURN_FAMILY_GGOMNBD,
                                CHURN_FAMILY_MBGCNBD);
    churn_btyd_covariates c;
    if (!rc && churn__model_array(model, "covariates_dynamic", NULL))
        return churn__error(CHURN_EINVAL, "%s: this model has time-varying covariates "
                            "(churn_pnbd_dyncov_fit): score it with churn_pnbd_dyncov_score "
                            "and the customers' per-period covariates", fn);
    if (rc || (rc = get_layout(model->family, &sc->L, fn)) || (rc = read_cov(&c, cov, fn)))
        return rc;
    size_t nb = (size_t)sc->L.nb;
    if ((rc = churn__btyd_check_params(fn, sc->L.fam, model->params, nb)))
        return rc;
    count_cov(model, &sc->kt, &sc->kl);
    size_t kt = sc->kt, kl = sc->kl;
    if (kt > MAXCOV || kl > MAXCOV || nb + kt + kl != model->nparams)
        return churn__error(CHURN_EFORMAT, "%s: the model's parameters beyond the first %zu "
                            "must be named trans.<name> or life.<name>", fn, nb);
    for (size_t j = 0; j < kt + kl; j++) {
        int life = j >= kt;
        const char *nm = model->param_names[nb + j] + (life ? 5 : 6);
        size_t have = life ? c.n_life : c.n_trans;
        const char *const *names = life ? c.life_names : c.trans_names;
        const double *z = life ? c.life : c.trans;
        int at = names ? churn__cov_find_name(names, have, nm) : -1;
        if (at < 0)
            return churn__error(CHURN_EINVAL, "%s: the model needs the %s covariate '%s', "
                                "which was not given", fn, life ? "life" : "trans", nm);
        if (n > 0 && !z)
            return churn__error(CHURN_EINVAL, "%s: %s covariates without values", fn,
                                life ? "life" : "trans");
        sc->colp[j] = z + (size_t)at * n;
    }
    return CHURN_OK;
}

/* Customer i's natural-scale parameters p (nb values). */
static int scoring_params(const scoring *sc, const churn_model *model, size_t i, double *p,
                          const char *fn)
{
    size_t nb = (size_t)sc->L.nb;
    double et = 0, el = 0, phi[NBMAX];
    for (size_t j = 0; j < sc->kt + sc->kl; j++) {
        double z = sc->colp[j][i];
        if (!isfinite(z))
            return churn__error(CHURN_EINVAL, "%s: row %zu, covariate '%s': %g is not finite "
                                "(covariates must be finite)", fn, i,
                                model->param_names[nb + j], z);
        if (j < sc->kt)
            et += model->params[nb + j] * z;
        else
            el += model->params[nb + j] * z;
    }
    for (size_t j = 0; j < nb; j++)
        phi[j] = log(model->params[j]);
    for (int m = 0; m < sc->L.trans.n; m++)
        phi[sc->L.trans.idx[m]] += sc->L.trans.sign[m] * et;
    for (int m = 0; m < sc->L.life.n; m++)
        phi[sc->L.life.idx[m]] += sc->L.life.sign[m] * el;
    for (size_t j = 0; j < nb; j++)
        p[j] = sc->L.kfix && j == 0 ? model->params[0] : exp(phi[j]);
    return CHURN_OK;
}

CHURN_API int churn_btyd_score_covariates(const churn_model *model, double t, size_t n,
                                          const double *frequency, const double *recency,
                                          const double *T, const churn_btyd_covariates *cov,
                                          double *p_alive, double *expected)
{
    churn__ok();
    static const char fn[] = "churn_btyd_score_covariates";
    scoring sc;
    int rc = scoring_setup(&sc, model, n, cov, fn);
    if (rc)
        return rc;
    if (NEED(frequency) || NEED(recency) || NEED(T))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    if ((rc = churn__btyd_check_horizon(fn, model->family, t, "horizon t")))
        return rc;
    for (size_t i = 0; i < n; i++) {
        double p[NBMAX];
        if ((rc = churn__btyd_check_row(fn, 0, 0, i, frequency[i], recency[i], T[i])) ||
            (rc = scoring_params(&sc, model, i, p, fn)))
            return rc;
        double pa = sc.L.fam->p_alive(p, frequency[i], recency[i], T[i]);
        double ex = expected ? sc.L.fam->cond_expected(p, t, frequency[i], recency[i], T[i])
                             : 0;
        if (!isfinite(pa))
            return churn__btyd_nonfinite(fn, "P(alive)", i);
        if (!isfinite(ex))
            return churn__btyd_nonfinite(fn, "the expected number of purchases", i);
        if (p_alive)
            p_alive[i] = pa;
        if (expected)
            expected[i] = ex;
    }
    return CHURN_OK;
}

CHURN_API int churn_btyd_expected_new_covariates(const churn_model *model, double t, size_t n,
                                                 const churn_btyd_covariates *cov,
                                                 double *expected)
{
    churn__ok();
    static const char fn[] = "churn_btyd_expected_new_covariates";
    scoring sc;
    int rc = scoring_setup(&sc, model, n, cov, fn);
    if (rc)
        return rc;
    if (NEED(expected))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    if ((rc = churn__btyd_check_horizon(fn, model->family, t, "horizon t")))
        return rc;
    for (size_t i = 0; i < n; i++) {
        double p[NBMAX];
        if ((rc = scoring_params(&sc, model, i, p, fn)))
            return rc;
        expected[i] = sc.L.fam->expected_new(p, t);
        if (!isfinite(expected[i]))
            return churn__btyd_nonfinite(fn, "E[X(t)]", i);
    }
    return CHURN_OK;
}

CHURN_API int churn_btyd_customer_params_covariates(const churn_model *model, size_t n,
                                                    const churn_btyd_covariates *cov,
                                                    double *params)
{
    churn__ok();
    static const char fn[] = "churn_btyd_customer_params_covariates";
    scoring sc;
    int rc = scoring_setup(&sc, model, n, cov, fn);
    if (rc)
        return rc;
    if (NEED(params))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    size_t nb = (size_t)sc.L.nb;
    for (size_t i = 0; i < n; i++) {
        double p[NBMAX];
        if ((rc = scoring_params(&sc, model, i, p, fn)))
            return rc;
        for (size_t j = 0; j < nb; j++) {
            if (!isfinite(p[j]) || !(p[j] > 0))
                return churn__error(CHURN_ENUMERIC, "%s: row %zu: parameter '%s' at this "
                                    "customer's covariates is %g (the coefficients scale it "
                                    "out of the finite positive numbers)", fn, i,
                                    model->param_names[j], p[j]);
            params[j * n + i] = p[j];
        }
    }
    return CHURN_OK;
}
