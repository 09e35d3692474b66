/*
 * DERT, the discounted expected residual transactions of a customer
 * (spend.h): a closed form through the confluent hypergeometric U for the
 * Pareto/NBD, a numerical integral of the conditional expectation for the
 * BG/NBD and MBG/NBD.
 *
 * References:
 *  - Fader, Hardie & Lee (2005), "RFM and CLV: Using iso-value curves for
 *    customer base analysis", JMR 42(4) — the Pareto/NBD DERT.
 *
 * Calls core/ and the public btyd/ functions (churn_btyd_p_alive,
 * churn_btyd_expected_purchases).
 */
#include "core/internal.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_sf_hyperg.h>

static double model_param(const churn_model *m, const char *name)
{
    for (size_t i = 0; i < m->nparams; i++)
        if (strcmp(m->param_names[i], name) == 0)
            return m->params[i];
    return NAN;
}

typedef struct dert_ctx {
    const churn_model *model;
    double delta, x, tx, T;
    int rc;
} dert_ctx;

/* e^{-s} E[X(T, T + s/delta) | history]: after integrating by parts and
 * substituting s = delta t, DERT = ∫_0^∞ e^{-s} E(s / delta) ds. */
static double dert_integrand(double s, void *vp)
{
    dert_ctx *c = vp;
    double e = 0;
    if (s <= 0)
        return 0.0;
    int rc = churn_btyd_expected_purchases(c->model, s / c->delta, 1, &c->x, &c->tx, &c->T, &e);
    if (rc) {
        c->rc = rc;
        return NAN;
    }
    return exp(-s) * e;
}

/* e^{-z u} (1 + u)^{-s} with p = {s, z}: integrand of the fallback when GSL's
 * U(s, s; z) fails, since ∫_0^∞ e^{-z u} (1 + u)^{-s} du = z^{s-1} U(s, s; z)
 * (integral representation of U(1, 2-s; z) and Kummer's transformation). */
static double pnbd_tail_f(double u, void *p)
{
    const double *sz = p;
    return exp(-sz[1] * u - sz[0] * log1p(u));
}

/* The Pareto/NBD DERT in closed form; the P(alive) pass checks the rows. */
static int dert_pnbd(const churn_model *model, double delta, size_t n, const double *frequency,
                     const double *recency, const double *T, gsl_integration_workspace *ws,
                     const char *fn, double *dert)
{
    /* FHL 2005: DERT = alpha^r beta^s delta^{s-1} Gamma(r+x+1) U(s, s; delta(beta+T))
     *                 / (Gamma(r) (alpha+T)^{r+x+1} L(r, alpha, s, beta | x, t_x, T)).
     * Since P(alive) = alpha^r beta^s Gamma(r+x) / (Gamma(r) (alpha+T)^{r+x}
     * (beta+T)^s L), this is
     *   DERT = P(alive) (r + x)/(alpha + T) (beta + T)^s delta^{s-1} U(s, s; delta(beta+T)),
     * which reuses the Pareto/NBD P(alive) (with its careful 2F1 handling)
     * instead of recomputing the likelihood L. */
    double r = model_param(model, "r"), alpha = model_param(model, "alpha");
    double s = model_param(model, "s"), beta = model_param(model, "beta");
    if (!(r > 0 && alpha > 0 && s > 0 && beta > 0))
        return churn__error(CHURN_EINVAL, "%s: the Pareto/NBD model lacks positive "
                            "parameters r, alpha, s, beta", fn);
    int rc = churn_btyd_p_alive(model, n, frequency, recency, T, dert);
    for (size_t i = 0; !rc && i < n; i++) {
        double bt = beta + T[i], z = delta * bt;
        gsl_sf_result_e10 u;
        double tail; /* = z^{s-1} U(s, s; z) */
        if (gsl_sf_hyperg_U_e10_e(s, s, z, &u) == GSL_SUCCESS && u.val > 0) {
            tail = exp((s - 1.0) * log(z) + log(u.val) + u.e10 * 2.30258509299404568402);
        } else {
            int ok = 0;
            double sz[2] = {s, z};
            tail = 0;
            gsl_function f;
            f.function = pnbd_tail_f;
            f.params = sz;
            double err;
            ok = gsl_integration_qagiu(&f, 0.0, 0.0, 1e-12, 1000, ws, &tail, &err) ==
                 GSL_SUCCESS;
            if (!ok) {
                rc = churn__error(CHURN_ENUMERIC, "%s: row %zu: U(s, s; %g) failed", fn, i,
                                  z);
                break;
            }
        }
        /* (beta+T)^s delta^{s-1} U(s,s;z) = (beta+T) z^{s-1} U(s,s;z). */
        dert[i] *= (r + frequency[i]) / (alpha + T[i]) * bt * tail;
        if (!isfinite(dert[i]))
            rc = churn__error(CHURN_ENUMERIC, "%s: row %zu: DERT not finite", fn, i);
    }
    return rc;
}

/* The BG/NBD or MBG/NBD DERT of n rows, by numerical integration. */
static int dert_bgnbd(const churn_model *model, double delta, size_t n, const double *frequency,
                      const double *recency, const double *T, gsl_integration_workspace *ws,
                      const char *fn, double *dert)
{
    /* BG/NBD, MBG/NBD: DERT = ∫_0^∞ e^{-delta t} dE(t) = delta ∫_0^∞ e^{-delta t} E(t) dt
     * by parts (E(0) = 0 and e^{-delta t} E(t) -> 0), with E(t) = E[X(T, T+t) | history]. */
    int rc = churn_btyd_p_alive(model, n, frequency, recency, T, dert); /* validates rows */
    for (size_t i = 0; !rc && i < n; i++) {
        dert_ctx c = {model, delta, frequency[i], recency[i], T[i], CHURN_OK};
        gsl_function f;
        f.function = dert_integrand;
        f.params = &c;
        double val = 0, err = 0;
        int st = gsl_integration_qagiu(&f, 0.0, 0.0, 1e-10, 1000, ws, &val, &err);
        if (c.rc)
            rc = c.rc;
        else if (st != GSL_SUCCESS || !isfinite(val))
            rc = churn__error(CHURN_ENUMERIC, "%s: row %zu: the DERT integral did not "
                              "converge (%s)", fn, i, gsl_strerror(st));
        else
            dert[i] = val;
    }
    return rc;
}

CHURN_API int churn_dert(const churn_model *model, double delta, size_t n,
                         const double *frequency, const double *recency, const double *T,
                         double *dert)
{
    churn__ok();
    static const char fn[] = "churn_dert";
    int rc = churn__model_check(model, fn, 3, CHURN_FAMILY_PNBD, CHURN_FAMILY_BGNBD,
                                CHURN_FAMILY_MBGNBD);
    if (rc)
        return rc;
    if (!isfinite(delta) || !(delta > 0))
        return churn__error(CHURN_EINVAL, "%s: delta = %g; need a finite discount rate > 0", fn,
                            delta);
    if (n && (!frequency || !recency || !T || !dert))
        return churn__error(CHURN_EINVAL, "%s: NULL array", fn);
    if (n == 0)
        return CHURN_OK;
    churn__gsl_init();
    gsl_integration_workspace *ws = gsl_integration_workspace_alloc(1000);
    if (!ws)
        return churn__nomem("an integration workspace");
    if (model->family == CHURN_FAMILY_PNBD)
        rc = dert_pnbd(model, delta, n, frequency, recency, T, ws, fn, dert);
    else
        rc = dert_bgnbd(model, delta, n, frequency, recency, T, ws, fn, dert);
    gsl_integration_workspace_free(ws);
    return rc;
}
