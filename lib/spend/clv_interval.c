/*
 * Delta-method intervals of the CLV scores (spend.h, churn_clv_interval):
 * P(alive), the expected purchases over the horizon, the expected spend, the
 * CLV and the value at risk of churn_clv_score(), each with an interval from
 * the covariance matrices of the BTYD and the Gamma-Gamma fits.
 *
 * Method. The two models are fitted separately, so the covariance of the
 * joint log-parameter vector (theta_btyd, theta_spend) is block-diagonal,
 * Cov(theta_i, theta_j) = Cov(p_i, p_j) / (p_i p_j) within each block. With
 * CLV = margin * spend * disc (disc the discounted expected purchases, a
 * function of the BTYD parameters only; spend of the Gamma-Gamma ones only):
 *     Var(log |CLV|) = g_disc' S_btyd g_disc + g_spend' S_spend g_spend,
 * g the gradients of log disc and log spend. Value at risk = CLV (1 - P) / P
 * (clv.c), so log |VaR| = log |CLV| - logit P and its BTYD gradient is
 * g_disc - g_logitP. Gradients are central differences in the log-parameters
 * (H_STEP, as btyd/intervals.c), taken by calling churn_clv_score() and
 * churn_gammagamma_expected_spend() on a copy of the model handle whose
 * parameter array is the moved one (the handle is otherwise shared, read-only),
 * block by block so the memory stays bounded. The point predictions are one
 * churn_clv_score() call over all rows, so its checks and messages (naming the
 * caller's row) come first and the values are the same bit for bit.
 *
 * churn_clv_interval_covariates: the same for a BTYD model with static
 * covariates. The free BTYD coordinates are then (log base parameters,
 * coefficients as they are), Cov = Cov(params) / (s_i s_j) with s = p for a base
 * parameter and 1 for a coefficient (as btyd/intervals_cov.c), the moved
 * predictions are churn_clv_score_covariates() on the block's covariate rows,
 * and a coefficient is moved by +-H_STEP instead of a factor exp(+-H_STEP).
 *
 * Calls core/ and clv.c, clv_covariates.c, gamma_gamma.c and btyd/'s
 * churn_btyd_model_covariates (their public functions).
 */
#include "core/internal.h"
#include "churn/covariates.h"

#include <gsl/gsl_cdf.h>
#include <stdio.h>

#define H_STEP 1e-4
#define BLOCK 256

/* What one interval call works on: the function's name (for messages), the covariates
 * (NULL for a plain model) and the number of base (log-scale) BTYD parameters. */
typedef struct ivctx {
    const char *fn;
    const churn_btyd_covariates *cov; /* the caller's, every row; NULL: plain */
    churn_btyd_covariates blk;        /* the block's rows (cov only) */
    size_t nb;
} ivctx;

CHURN_API void churn_clv_intervals_init(churn_clv_intervals *out)
{
    if (!out)
        return;
    churn_clv_intervals d = CHURN_CLV_INTERVALS_INIT;
    *out = d;
}

/* Re-raise the message of a call this function made under its own name. */
static int relay(const ivctx *c, int rc)
{
    char msg[768];
    snprintf(msg, sizeof msg, "%s", churn_last_error_message());
    const char *m = msg;
    static const char *const inner[] = {"churn_clv_score_covariates: ", "churn_clv_score: ",
                                        "churn_gammagamma_expected_spend: "};
    for (int j = 0; j < 3; j++)
        if (strncmp(m, inner[j], strlen(inner[j])) == 0)
            m += strlen(inner[j]);
    return churn__error(rc, "%s: %s", c->fn, m);
}

/* A prediction at moved parameters failed: out of memory stays what it is; anything else
 * (rows already passed at the fitted parameters) is a numerical failure there. */
static int moved_failure(const ivctx *c, int rc, const char *what, const char *model,
                         const char *param, size_t i0, size_t m)
{
    if (rc == CHURN_ENOMEM)
        return relay(c, rc);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", churn_last_error_message());
    return churn__error(CHURN_ENUMERIC, "%s: rows %zu-%zu: %s not finite with the %s parameter "
                        "'%s' moved by a factor exp(+-%g) or by +-%g (%s)", c->fn, i0, i0 + m - 1, what,
                        model, param, H_STEP, H_STEP, msg);
}

/* S = Cov(theta) of a model, k x k: theta = log p for the first nb parameters, the rest
 * (covariate coefficients) as they are; `arg` names the model argument. */
static int log_cov(const ivctx *c, const churn_model *m, size_t nb, const char *arg, double *S)
{
    const char *FN = c->fn;
    size_t k = m->nparams;
    if (!m->cov)
        return churn__error(CHURN_EUNSUPPORTED, "%s: the '%s' model (%s) has no covariance "
                            "matrix (its fit had no positive-definite Hessian, it skipped "
                            "standard errors, or it was built from given parameters): "
                            "intervals need one", FN, arg, churn_family_name(m->family));
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++) {
            S[i * k + j] = m->cov[i * k + j] / ((i < nb ? m->params[i] : 1.0) *
                                                (j < nb ? m->params[j] : 1.0));
            if (!isfinite(S[i * k + j]))
                return churn__error(CHURN_EFORMAT, "%s: '%s' model: the covariance of '%s' "
                                    "and '%s' is not finite", FN, arg, m->param_names[i],
                                    m->param_names[j]);
        }
    for (size_t j = 0; j < k; j++)
        if (!(S[j * k + j] >= 0))
            return churn__error(CHURN_EFORMAT, "%s: '%s' model: the variance of '%s' is "
                                "negative", FN, arg, m->param_names[j]);
    return CHURN_OK;
}

/* g' S g over the k gradients g[j * B + i] of row i. */
static double quad(size_t k, const double *S, const double *g, size_t B, size_t i)
{
    double v = 0;
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; b < k; b++)
            v += g[a * B + i] * S[a * k + b] * g[b * B + i];
    return v > 0 ? v : 0;
}

static double logistic(double u)
{
    return u >= 0 ? 1 / (1 + exp(-u)) : exp(u) / (1 + exp(u));
}

/* Limits of a value v of any sign on the log scale of |v|, half-width hw. */
static void log_limits(double v, double hw, double *lo, double *hi)
{
    if (v > 0) {
        *lo = v * exp(-hw);
        *hi = v * exp(hw);
    } else if (v < 0) {
        *lo = v * exp(hw);
        *hi = v * exp(-hw);
    } else {
        *lo = *hi = v;
    }
}

static void put(double *dst, size_t i, double v)
{
    if (dst)
        dst[i] = v;
}

/* The BTYD scores of rows [i0, i0 + m) (every row when m = n and i0 = 0 with blk = 0) at
 * model `b`: the plain churn_clv_score, or churn_clv_score_covariates with the caller's
 * covariates (blk = 0) or the block's (blk = 1). */
static int score(const ivctx *c, int blk, const churn_model *b, const churn_model *spend,
                 const churn_clv_options *opts, size_t m, const double *x, const double *tx,
                 const double *T, const double *mv, double *pa, double *ep, double *es,
                 double *cl, double *va)
{
    if (!c->cov)
        return churn_clv_score(b, spend, opts, m, x, tx, T, mv, pa, ep, es, cl, va);
    return churn_clv_score_covariates(b, spend, opts, m, x, tx, T, mv, blk ? &c->blk : c->cov,
                                      pa, ep, es, cl, va);
}

static int interval_run(ivctx *c, const churn_model *btyd, const churn_model *spend,
                        const churn_clv_options *opts, double level, size_t n,
                        const double *frequency, const double *recency, const double *T,
                        const double *monetary_value, const churn_clv_intervals *out);

CHURN_API int churn_clv_interval(const churn_model *btyd, const churn_model *spend,
                                 const churn_clv_options *opts, double level, size_t n,
                                 const double *frequency, const double *recency,
                                 const double *T, const double *monetary_value,
                                 const churn_clv_intervals *out)
{
    churn__ok();
    ivctx c = {.fn = "churn_clv_interval"};
    if (btyd)
        c.nb = btyd->nparams;
    return interval_run(&c, btyd, spend, opts, level, n, frequency, recency, T,
                        monetary_value, out);
}

CHURN_API int churn_clv_interval_covariates(const churn_model *btyd, const churn_model *spend,
                                            const churn_clv_options *opts, double level,
                                            size_t n, const double *frequency,
                                            const double *recency, const double *T,
                                            const double *monetary_value,
                                            const churn_btyd_covariates *cov,
                                            const churn_clv_intervals *out)
{
    churn__ok();
    ivctx c = {.fn = "churn_clv_interval_covariates"};
    if (!btyd)
        return churn__error(CHURN_EINVAL, "%s: NULL model 'btyd'", c.fn);
    size_t kt = 0, kl = 0;
    int rc = churn_btyd_model_covariates(btyd, &kt, &kl);
    if (rc)
        return relay(&c, rc);
    c.nb = btyd->nparams - kt - kl;
    churn_btyd_covariates cv = CHURN_BTYD_COVARIATES_INIT;
    if ((rc = churn__opts_copy(&cv, sizeof cv, cov, "churn_btyd_covariates")))
        return rc;
    if (kt + kl) { /* a plain model reads no covariates: churn_clv_interval's path */
        if (!cv.trans) /* no values: the model needs none of them (checked by scoring) */
            cv.n_trans = 0;
        if (!cv.life)
            cv.n_life = 0;
        c.cov = &cv;
    }
    return interval_run(&c, btyd, spend, opts, level, n, frequency, recency, T,
                        monetary_value, out);
}

static int interval_run(ivctx *c, const churn_model *btyd, const churn_model *spend,
                        const churn_clv_options *opts, double level, size_t n,
                        const double *frequency, const double *recency, const double *T,
                        const double *monetary_value, const churn_clv_intervals *out)
{
    const char *FN = c->fn;
    churn_clv_intervals o = CHURN_CLV_INTERVALS_INIT;
    int rc = churn__opts_copy(&o, sizeof o, out, "churn_clv_intervals");
    if (rc)
        return rc;
    if (!out)
        return churn__error(CHURN_EINVAL, "%s: 'out' is NULL", FN);
    double *const outs[15] = {o.p_alive, o.p_alive_lo, o.p_alive_hi, o.expected_purchases,
                              o.expected_purchases_lo, o.expected_purchases_hi,
                              o.expected_spend, o.expected_spend_lo, o.expected_spend_hi,
                              o.clv, o.clv_lo, o.clv_hi, o.value_at_risk,
                              o.value_at_risk_lo, o.value_at_risk_hi};
    int any = 0;
    for (int j = 0; j < 15; j++)
        any |= outs[j] != NULL;
    if (!any)
        return churn__error(CHURN_EINVAL, "%s: every output of 'out' is NULL", FN);
    if (!(level > 0 && level < 1))
        return churn__error(CHURN_EINVAL, "%s: level = %g must lie strictly between 0 and 1 "
                            "(e.g. 0.9 for a 90%% interval)", FN, level);
    if (n && (!frequency || !recency || !T || !monetary_value))
        return churn__error(CHURN_EINVAL, "%s: NULL input array", FN);
    /* the models' families, the covariates' names and the options, as scoring checks them */
    if ((rc = score(c, 0, btyd, spend, opts, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                    NULL)))
        return relay(c, rc);
    const size_t k = btyd->nparams, ks = spend ? spend->nparams : 0, nb = c->nb;
    const size_t nt = c->cov ? c->cov->n_trans : 0, nl = c->cov ? c->cov->n_life : 0;
    double *S = churn__malloc(churn__mul_size(k * k + ks * ks, sizeof(double)));
    if (!S)
        return churn__nomem("interval covariance");
    double *Ss = S + k * k;
    if ((rc = log_cov(c, btyd, nb, "btyd", S)) ||
        (spend && (rc = log_cov(c, spend, ks, "spend", Ss)))) {
        churn__free(S);
        return rc;
    }
    if (n == 0) {
        churn__free(S);
        return CHURN_OK;
    }
    /* the point predictions over every row */
    double *base = churn__malloc(churn__mul_size(5 * n, sizeof(double)));
    /* per block: 3 k + ks gradients, 6 moved BTYD outputs, 2 moved spends, 1 spare, the
     * block's covariates */
    size_t wlen = (3 * k + ks + 9 + nt + nl) * BLOCK;
    double *w = churn__malloc(churn__mul_size(wlen, sizeof(double)));
    double *q = churn__malloc(churn__mul_size(k + ks + 1, sizeof(double)));
    if (!base || !w || !q) {
        churn__free(S);
        churn__free(base);
        churn__free(w);
        churn__free(q);
        return churn__nomem("interval work arrays");
    }
    double *pa = base, *ep = base + n, *es = base + 2 * n, *cl = base + 3 * n,
           *va = base + 4 * n;
    rc = score(c, 0, btyd, spend, opts, n, frequency, recency, T, monetary_value, pa, ep, es,
               cl, va);
    if (rc)
        rc = relay(c, rc);
    double *gA = w, *gE = w + k * BLOCK, *gC = w + 2 * k * BLOCK, *gS = w + 3 * k * BLOCK;
    double *m6 = gS + ks * BLOCK;
    double *upA = m6, *dnA = m6 + BLOCK, *upE = m6 + 2 * BLOCK, *dnE = m6 + 3 * BLOCK,
           *upC = m6 + 4 * BLOCK, *dnC = m6 + 5 * BLOCK, *upS = m6 + 6 * BLOCK,
           *dnS = m6 + 7 * BLOCK, *zb = m6 + 9 * BLOCK;
    const double z = gsl_cdf_ugaussian_Pinv(0.5 + level / 2);
    churn_model mb = *btyd; /* the same handle with a moved parameter array */
    mb.params = q;
    churn_model ms;
    if (spend) {
        ms = *spend;
        ms.params = q + k;
    }
    for (size_t i0 = 0; i0 < n && !rc; i0 += BLOCK) {
        const size_t m = n - i0 < BLOCK ? n - i0 : BLOCK;
        const double *x = frequency + i0, *tx = recency + i0, *TT = T + i0,
                     *mv = monetary_value + i0;
        if (c->cov) { /* the block's covariate rows, column-major */
            c->blk = *c->cov;
            for (size_t j = 0; j < nt; j++)
                memcpy(zb + j * m, c->cov->trans + j * n + i0, m * sizeof *zb);
            for (size_t j = 0; j < nl; j++)
                memcpy(zb + (nt + j) * m, c->cov->life + j * n + i0, m * sizeof *zb);
            c->blk.trans = nt ? zb : NULL;
            c->blk.life = nl ? zb + nt * m : NULL;
        }
        memcpy(q, btyd->params, k * sizeof *q);
        for (size_t j = 0; j < k && !rc; j++) {
            if (S[j * k + j] == 0) { /* held fixed (e.g. MBG/CNBD-k's chosen k) */
                for (size_t i = 0; i < m; i++)
                    gA[j * BLOCK + i] = gE[j * BLOCK + i] = gC[j * BLOCK + i] = 0;
                continue;
            }
            /* a base parameter moves by a factor, a coefficient by a step */
            const double p0 = btyd->params[j];
            q[j] = j < nb ? p0 * exp(H_STEP) : p0 + H_STEP;
            rc = score(c, 1, &mb, spend, opts, m, x, tx, TT, mv, upA, upE, NULL, upC, NULL);
            q[j] = j < nb ? p0 * exp(-H_STEP) : p0 - H_STEP;
            if (!rc)
                rc = score(c, 1, &mb, spend, opts, m, x, tx, TT, mv, dnA, dnE, NULL, dnC, NULL);
            q[j] = p0;
            if (rc) {
                rc = moved_failure(c, rc, "the scores are", "BTYD", btyd->param_names[j], i0,
                                   m);
                break;
            }
            for (size_t i = 0; i < m; i++) {
                gA[j * BLOCK + i] = (upA[i] - dnA[i]) / (2 * H_STEP);
                gE[j * BLOCK + i] = (upE[i] - dnE[i]) / (2 * H_STEP);
                gC[j * BLOCK + i] = (upC[i] - dnC[i]) / (2 * H_STEP);
            }
        }
        if (spend)
            memcpy(q + k, spend->params, ks * sizeof *q);
        for (size_t j = 0; j < ks && !rc; j++) {
            if (Ss[j * ks + j] == 0) {
                for (size_t i = 0; i < m; i++)
                    gS[j * BLOCK + i] = 0;
                continue;
            }
            q[k + j] = spend->params[j] * exp(H_STEP);
            rc = churn_gammagamma_expected_spend(&ms, m, x, mv, upS);
            q[k + j] = spend->params[j] * exp(-H_STEP);
            if (!rc)
                rc = churn_gammagamma_expected_spend(&ms, m, x, mv, dnS);
            q[k + j] = spend->params[j];
            if (rc) {
                rc = moved_failure(c, rc, "the expected spend is", "spend",
                                   spend->param_names[j], i0, m);
                break;
            }
            for (size_t i = 0; i < m; i++)
                gS[j * BLOCK + i] = (upS[i] - dnS[i]) / (2 * H_STEP);
        }
        if (rc)
            break;
        for (size_t i = 0; i < m; i++) {
            const size_t r = i0 + i;
            const double P = pa[r], E = ep[r], Z = es[r], C = cl[r], V = va[r];
            /* transformed scales: logit P, log E, log spend, log |CLV| */
            int interior = P > 0 && P < 1;
            for (size_t j = 0; j < k; j++) {
                gA[j * BLOCK + i] = interior ? gA[j * BLOCK + i] / (P * (1 - P)) : 0;
                gE[j * BLOCK + i] = E > 0 ? gE[j * BLOCK + i] / E : 0;
                gC[j * BLOCK + i] = C != 0 ? gC[j * BLOCK + i] / C : 0;
            }
            for (size_t j = 0; j < ks; j++)
                gS[j * BLOCK + i] = Z > 0 ? gS[j * BLOCK + i] / Z : 0;
            for (size_t j = 0; j < k + ks; j++) {
                int fin = j < k ? isfinite(gA[j * BLOCK + i]) && isfinite(gE[j * BLOCK + i]) &&
                                      isfinite(gC[j * BLOCK + i])
                                : isfinite(gS[(j - k) * BLOCK + i]);
                if (!fin) {
                    rc = churn__error(CHURN_ENUMERIC, "%s: row %zu: the gradient of the "
                                      "scores in '%s' is not finite", FN, r,
                                      j < k ? btyd->param_names[j]
                                            : spend->param_names[j - k]);
                    break;
                }
            }
            if (rc)
                break;
            double vS = spend ? quad(ks, Ss, gS, BLOCK, i) : 0;
            double lo, hi;
            /* P(alive) on the logit scale */
            lo = hi = P;
            if (interior) {
                double u = log(P) - log1p(-P), hw = z * sqrt(quad(k, S, gA, BLOCK, i));
                lo = logistic(u - hw);
                hi = logistic(u + hw);
            }
            put(o.p_alive, r, P);
            put(o.p_alive_lo, r, lo);
            put(o.p_alive_hi, r, hi);
            /* expected purchases and spend on the log scale */
            log_limits(E, z * sqrt(quad(k, S, gE, BLOCK, i)), &lo, &hi);
            put(o.expected_purchases, r, E);
            put(o.expected_purchases_lo, r, lo);
            put(o.expected_purchases_hi, r, hi);
            log_limits(Z, z * sqrt(vS), &lo, &hi);
            put(o.expected_spend, r, Z);
            put(o.expected_spend_lo, r, lo);
            put(o.expected_spend_hi, r, hi);
            /* CLV: log |CLV| = log |margin| + log spend + log disc */
            log_limits(C, z * sqrt(quad(k, S, gC, BLOCK, i) + vS), &lo, &hi);
            put(o.clv, r, C);
            put(o.clv_lo, r, lo);
            put(o.clv_hi, r, hi);
            /* value at risk: log |VaR| = log |CLV| - logit P (0 at P = 0 or 1) */
            double vV = 0;
            for (size_t a = 0; a < k; a++)
                for (size_t b = 0; b < k; b++)
                    vV += (gC[a * BLOCK + i] - gA[a * BLOCK + i]) * S[a * k + b] *
                          (gC[b * BLOCK + i] - gA[b * BLOCK + i]);
            log_limits(V, z * sqrt((vV > 0 ? vV : 0) + vS), &lo, &hi);
            put(o.value_at_risk, r, V);
            put(o.value_at_risk_lo, r, lo);
            put(o.value_at_risk_hi, r, hi);
        }
    }
    churn__free(S);
    churn__free(base);
    churn__free(w);
    churn__free(q);
    return rc;
}
