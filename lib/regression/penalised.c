/*
 * The penalty of the penalised fits: its value, the coordinate-descent
 * solver of the penalised quadratic model (the inner step of proximal
 * Newton) and the lambda path of cross-validation.
 *
 * Calls: design.c (churn__logit_null_start), pass.c (workspace, the gradient
 * at the null fit).
 */
#include "regression/regression_internal.h"

double churn__logit_penalty_value(const logit_design *d, const fit_spec *s,
                                  const double *beta)
{
    if (!(s->lambda > 0))
        return 0;
    double l1 = 0, l2 = 0;
    for (size_t j = d->off; j < d->k; j++) {
        l1 += d->pf1[j] * fabs(beta[j]);
        l2 += d->pf2[j] * beta[j] * beta[j];
    }
    return s->lambda * (s->alpha * l1 + 0.5 * (1 - s->alpha) * l2);
}

/*
 * Coordinate descent on the penalised quadratic model around beta
 * (Friedman, Hastie & Tibshirani 2010, sec. 2.1-2.2 "covariance updates"):
 *   q(b) = g'(b - beta) + 1/2 (b - beta)' H (b - beta) + lambda P(b)
 * u = H (b - beta) is kept up to date, so one coordinate update costs O(k).
 * Active-set cycling: one full sweep, then sweeps over the nonzero
 * coordinates until they settle, then a full sweep to confirm (sec. 2.6).
 * Update for coordinate j: b_j <- S(H_jj b_j - g_j - u_j, lambda alpha pf1_j) /
 * (H_jj + lambda (1 - alpha) pf2_j), S the soft-threshold (their eq. 6).
 */
void churn__logit_cd_quadratic(const logit_design *d, const fit_spec *s, const double *g,
                               const double *H, const double *beta, double *b, double *u)
{
    size_t k = d->k;
    double la = s->lambda * s->alpha, l2 = s->lambda * (1 - s->alpha);
    for (size_t j = 0; j < k; j++)
        u[j] = 0;
    for (size_t j = 0; j < k; j++) {
        double dj = b[j] - beta[j];
        if (dj != 0)
            for (size_t i = 0; i < k; i++)
                u[i] += H[i * k + j] * dj;
    }
    const double tol_in = 1e-14;
    int full = 1;
    for (int sweep = 0; sweep < 100000; sweep++) {
        double maxch = 0;
        int entered = 0;
        for (size_t j = 0; j < k; j++) {
            if (!full && b[j] == 0 && j >= d->off)
                continue;
            double hjj = H[j * k + j];
            double c = hjj * b[j] - g[j] - u[j];
            double bn;
            if (j < d->off) {
                bn = hjj > 0 ? c / hjj : b[j];
            } else {
                double th = la * d->pf1[j];
                double den = hjj + l2 * d->pf2[j];
                double sc = c > th ? c - th : (c < -th ? c + th : 0.0);
                bn = den > 0 ? sc / den : 0.0;
            }
            double dj = bn - b[j];
            if (dj != 0) {
                if (b[j] == 0)
                    entered = 1;
                b[j] = bn;
                for (size_t i = 0; i < k; i++)
                    u[i] += H[i * k + j] * dj;
                double ch = fabs(dj) * sqrt(hjj > 0 ? hjj : 1.0);
                if (ch > maxch)
                    maxch = ch;
            }
        }
        if (full) {
            if (maxch < tol_in && !entered)
                break;
            full = 0;
        } else if (maxch < tol_in) {
            full = 1;
        }
    }
}

/*
 * lambda_max: the smallest lambda at which the KKT conditions hold with
 * every feature coefficient 0 (Friedman et al. 2010, sec. 2.5):
 * max_j |grad_j f(null)| / (alpha pf_j); alpha floored at 1e-3 for ridge.
 * The path runs from lambda_max down to ratio * lambda_max, evenly on the log
 * scale; ratio 0 picks 1e-4 when there are more rows than columns, else 1e-2.
 */
int churn__logit_lambda_path(const logit_design *d, double alpha, double ratio, size_t L,
                             double *lambda)
{
    logit_ws ws;
    int rc = churn__logit_ws_alloc(&ws, d->k);
    double *beta = churn__calloc(d->k + 1, sizeof(double));
    if (!rc && !beta)
        rc = churn__nomem("coefficients");
    if (rc)
        goto done;
    churn__logit_null_start(d, beta);
    pass_res pr;
    churn__logit_pass(d, beta, 1, WANT_GRAD, &ws, &pr);
    double a = alpha > 1e-3 ? alpha : 1e-3, lmax = 0;
    for (size_t j = d->off; j < d->k; j++) {
        double v = fabs(ws.g[j]) / (a * d->pf1[j]);
        if (v > lmax)
            lmax = v;
    }
    if (!(lmax > 0) || !isfinite(lmax))
        lmax = 1.0;
    if (!(ratio > 0))
        ratio = d->npos_rows > d->nkept ? 1e-4 : 1e-2;
    for (size_t l = 0; l < L; l++)
        lambda[l] = L == 1 ? lmax : lmax * pow(ratio, (double)l / (double)(L - 1));
done:
    churn__logit_ws_free(&ws);
    churn__free(beta);
    return rc;
}
