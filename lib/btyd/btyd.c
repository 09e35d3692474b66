/*
 * Buy-till-you-die models, the family-independent entry points (btyd.h):
 * the table from a CHURN_FAMILY_* to its descriptor, the fit, the model from
 * given parameters, the log-likelihood, and the vectorised predictions, each
 * run through the descriptor of the model's family.
 *
 * Each family's mathematics lives in its own file (bgnbd.c, pnbd.c, ggomnbd.c,
 * bgbb.c, sbg.c) behind the churn__btyd_family descriptor (btyd_internal.h).
 * Calls core/, checks.c, fit.c and the family files (bgnbd.c also for its
 * fast scoring loop; sbg.c for its descriptor only).
 */
#include "btyd/btyd_internal.h"

#include <stdio.h>
#include <string.h>

/* ---- the family table ---------------------------------------------------------- */

const churn__btyd_family *churn__btyd_family_desc(int family)
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
        return &churn__sbg_family;
    case CHURN_FAMILY_GGOMNBD:
        return &churn__ggomnbd_family;
    case CHURN_FAMILY_MBGCNBD:
        return &churn__mbgcnbd_family;
    default:
        return NULL;
    }
}

static int is_btyd_family(int family)
{
    return family == CHURN_FAMILY_BGNBD || family == CHURN_FAMILY_MBGNBD ||
           family == CHURN_FAMILY_PNBD || family == CHURN_FAMILY_BGBB ||
           family == CHURN_FAMILY_GGOMNBD;
}

/* ---- fit, models from given parameters, log-likelihood ------------------------- */

/* MBG/CNBD-k's k (params[0]) is a whole number in 1..CHURN__MBGC_KMAX. */
static int check_k(const char *fn, int family, const double *params)
{
    if (family != CHURN_FAMILY_MBGCNBD)
        return CHURN_OK;
    double k = params[0];
    if (!(k >= 1 && k <= CHURN__MBGC_KMAX && k == floor(k)))
        return churn__error(CHURN_EINVAL, "%s: parameter 'k' = %g of the MBG/CNBD-k model must "
                            "be a whole number in 1..%d", fn, k, CHURN__MBGC_KMAX);
    return CHURN_OK;
}

CHURN_API int churn_btyd_fit(churn_model **out, int family, size_t n, const double *frequency,
                             const double *recency, const double *T, const double *weights,
                             const churn_btyd_options *opts)
{
    static const char fn[] = "churn_btyd_fit";
    churn__ok();
    if (out)
        *out = NULL;
    if (!out || (n && (!frequency || !recency || !T)))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    if (!is_btyd_family(family))
        return churn__error(CHURN_EINVAL, "%s: family %d is not a BTYD family (bgnbd, mbgnbd, "
                            "pnbd, bgbb, ggomnbd; sBG has churn_sbg_fit, mbgcnbd "
                            "churn_mbgcnbd_fit)", fn, family);
    const churn__btyd_family *fam = churn__btyd_family_desc(family);
    churn_btyd_options o;
    int rc = churn__btyd_options(&o, opts, fn);
    if (rc)
        return rc;
    if (n == 0)
        return churn__error(CHURN_EINVAL, "%s: no rows to fit", fn);
    int discrete = family == CHURN_FAMILY_BGBB;
    double wsum = 0;
    for (size_t i = 0; i < n; i++) {
        rc = churn__btyd_check_row(fn, discrete, 1, i, frequency[i], recency[i], T[i]);
        if (!rc && weights)
            rc = churn__btyd_check_weight(fn, i, weights[i]);
        if (rc)
            return rc;
        wsum += weights ? weights[i] : 1.0;
    }
    if (!(wsum > 0) || !isfinite(wsum))
        return churn__error(CHURN_EINVAL, "%s: column 'weights': the weights sum to %g; need a "
                            "positive finite total", fn, wsum);
    churn__btyd_data d;
    rc = churn__btyd_collapse(&d, n, frequency, recency, T, weights);
    if (rc)
        return rc;
    rc = churn__btyd_fit_collapsed(out, fam, &d, wsum, &o, fn);
    churn__btyd_data_free(&d);
    return rc;
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
    const churn__btyd_family *fam = churn__btyd_family_desc(family);
    if (!fam)
        return churn__error(CHURN_EINVAL, "%s: family %d is not a BTYD or sBG family", fn,
                            family);
    int rc = churn__btyd_check_params(fn, fam, params, nparams);
    if (!rc)
        rc = check_k(fn, family, params);
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
    if (!params || !loglik || (n && (!frequency || !recency || !T)))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    if (!is_btyd_family(family))
        return churn__error(CHURN_EINVAL, "%s: family %d is not a BTYD family (bgnbd, mbgnbd, "
                            "pnbd, bgbb, ggomnbd)", fn, family);
    const churn__btyd_family *fam = churn__btyd_family_desc(family);
    int rc = churn__btyd_check_params(fn, fam, params, nparams);
    if (rc)
        return rc;
    int discrete = family == CHURN_FAMILY_BGBB;
    for (size_t i = 0; i < n; i++) {
        rc = churn__btyd_check_row(fn, discrete, 0, i, frequency[i], recency[i], T[i]);
        if (!rc && weights)
            rc = churn__btyd_check_weight(fn, i, weights[i]);
        if (rc)
            return rc;
    }
    double gl[CHURN__BTYD_MAXP];
    rc = fam->loglik(params, n, frequency, recency, T, weights, loglik, gradient ? gl : NULL);
    if (rc || !isfinite(*loglik))
        return churn__error(CHURN_ENUMERIC, "%s: the '%s' log-likelihood is not finite at these "
                            "parameters", fn, churn_family_name(family));
    if (gradient)
        for (size_t j = 0; j < nparams; j++)
            gradient[j] = gl[j] / params[j];
    return CHURN_OK;
}

/* ---- predictions ----------------------------------------------------------------- */


/* Check the model (family among the non-contractual ones, parameters valid)
 * and return its descriptor. */
static int model_family(const churn_model *m, const char *fn, const churn__btyd_family **fam)
{
    int rc = churn__model_check(m, fn, 6, CHURN_FAMILY_BGNBD, CHURN_FAMILY_MBGNBD,
                                CHURN_FAMILY_PNBD, CHURN_FAMILY_BGBB, CHURN_FAMILY_GGOMNBD,
                                CHURN_FAMILY_MBGCNBD);
    if (rc)
        return rc;
    *fam = churn__btyd_family_desc(m->family);
    if ((rc = churn__btyd_check_params(fn, *fam, m->params, m->nparams)))
        return rc;
    return check_k(fn, m->family, m->params);
}

static int check_rows(const char *fn, int family, size_t n, const double *x, const double *tx,
                      const double *T)
{
    int discrete = family == CHURN_FAMILY_BGBB;
    for (size_t i = 0; i < n; i++) {
        int rc = churn__btyd_check_row(fn, discrete, 0, i, x[i], tx[i], T[i]);
        if (rc)
            return rc;
    }
    return CHURN_OK;
}

/* ---- the shared shape of the vectorised predictions ------------------------------- */

/* What a vectorised prediction computes: per customer (frequency, recency,
 * T) of row i, or for a new customer at each horizon t[i]. */
enum prediction {
    Q_P_ALIVE,      /* churn_btyd_p_alive */
    Q_EXPECTED,     /* churn_btyd_expected_purchases (horizon t) */
    Q_COND_PMF,     /* churn_btyd_prob_purchases_cond (horizon t, count k) */
    Q_P_ALIVE_AT,   /* churn_pnbd_p_alive_at (horizon t) */
    Q_BGBB_ALIVE_AT, /* churn_bgbb_p_alive_at (m opportunities) */
    Q_EXPECTED_NEW, /* churn_btyd_expected_purchases_new (horizons t[i]) */
    Q_PMF,          /* churn_btyd_prob_purchases (horizons t[i], count k) */
};

/* The public function of each prediction, and the quantity named when a
 * value is not finite. */
static const struct {
    const char *fn, *what;
} predictions[] = {
    [Q_P_ALIVE] = {"churn_btyd_p_alive", "P(alive)"},
    [Q_EXPECTED] = {"churn_btyd_expected_purchases", "the expected number of purchases"},
    [Q_COND_PMF] = {"churn_btyd_prob_purchases_cond", "P(X(T, T+t) = k | history)"},
    [Q_P_ALIVE_AT] = {"churn_pnbd_p_alive_at", "P(alive at T + t)"},
    [Q_BGBB_ALIVE_AT] = {"churn_bgbb_p_alive_at", "P(alive at opportunity n + m)"},
    [Q_EXPECTED_NEW] = {"churn_btyd_expected_purchases_new", "E[X(t)]"},
    [Q_PMF] = {"churn_btyd_prob_purchases", "P(X(t) = k)"},
};

/* Check the model, the arguments and every row (in this order: model, NULL
 * pointers, k, horizon, rows), then fill out[i] for each customer (frequency,
 * recency, T) of row i. The horizon t is an argument of every prediction but
 * P(alive), the count k of the conditional pmf only. A non-finite value
 * stops with CHURN_ENUMERIC naming the row. */
static int per_customer(const churn_model *model, enum prediction q, double t, double k,
                        size_t n, const double *x, const double *tx, const double *T,
                        double *out)
{
    churn__ok();
    const char *fn = predictions[q].fn;
    const churn__btyd_family *fam = &churn__pnbd_family;
    int rc;
    if (q == Q_P_ALIVE_AT || q == Q_BGBB_ALIVE_AT) {
        int only = q == Q_P_ALIVE_AT ? CHURN_FAMILY_PNBD : CHURN_FAMILY_BGBB;
        if (q == Q_BGBB_ALIVE_AT)
            fam = &churn__bgbb_family;
        if ((rc = churn__model_check(model, fn, 1, only)) ||
            (rc = churn__btyd_check_params(fn, fam, model->params, model->nparams)))
            return rc;
    } else if ((rc = model_family(model, fn, &fam))) {
        return rc;
    }
    if (NEED(x) || NEED(tx) || NEED(T) || NEED(out))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    if (q == Q_COND_PMF && !churn__btyd_is_count(k))
        return churn__error(CHURN_EINVAL, "%s: k = %g must be a whole number >= 0", fn, k);
    if (q == Q_BGBB_ALIVE_AT && !churn__btyd_is_count(t))
        return churn__error(CHURN_EINVAL, "%s: m = %g must be a whole number of opportunities "
                            ">= 0", fn, t);
    if (q != Q_P_ALIVE && (rc = churn__btyd_check_horizon(fn, model->family, t, "horizon t")))
        return rc;
    if ((rc = check_rows(fn, model->family, n, x, tx, T)))
        return rc;
    const double *p = model->params;
    for (size_t i = 0; i < n; i++) {
        switch (q) {
        case Q_P_ALIVE:
            out[i] = fam->p_alive(p, x[i], tx[i], T[i]);
            break;
        case Q_EXPECTED:
            out[i] = fam->cond_expected(p, t, x[i], tx[i], T[i]);
            break;
        case Q_COND_PMF:
            out[i] = fam->cond_pmf(p, t, k, x[i], tx[i], T[i]);
            break;
        case Q_BGBB_ALIVE_AT:
            out[i] = churn__bgbb_p_alive_at(p, t, x[i], tx[i], T[i]);
            break;
        default:
            out[i] = churn__pnbd_p_alive_at(p, t, x[i], tx[i], T[i]);
            break;
        }
        if (!isfinite(out[i]))
            return churn__btyd_nonfinite(fn, predictions[q].what, i);
    }
    return CHURN_OK;
}

/* The same for a new customer's E[X(t)] (Q_EXPECTED_NEW) or P(X(t) = k)
 * (Q_PMF) at each of n horizons t[i]. */
static int per_horizon(const churn_model *model, enum prediction q, double k, size_t n,
                       const double *t, double *out)
{
    churn__ok();
    const char *fn = predictions[q].fn;
    const churn__btyd_family *fam;
    int rc = model_family(model, fn, &fam);
    if (rc)
        return rc;
    if (NEED(t) || NEED(out))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    if (q == Q_PMF && !churn__btyd_is_count(k))
        return churn__error(CHURN_EINVAL, "%s: k = %g must be a whole number >= 0", fn, k);
    for (size_t i = 0; i < n; i++) {
        char what[32];
        snprintf(what, sizeof what, "t[%zu]", i);
        if ((rc = churn__btyd_check_horizon(fn, model->family, t[i], what)))
            return rc;
        out[i] = q == Q_PMF ? fam->pmf(model->params, t[i], k)
                            : fam->expected_new(model->params, t[i]);
        if (!isfinite(out[i]))
            return churn__btyd_nonfinite(fn, predictions[q].what, i);
    }
    return CHURN_OK;
}

/* ---- the public predictions -------------------------------------------------------- */

CHURN_API int churn_btyd_p_alive(const churn_model *model, size_t n, const double *frequency,
                                 const double *recency, const double *T, double *p_alive)
{
    return per_customer(model, Q_P_ALIVE, 0, 0, n, frequency, recency, T, p_alive);
}

CHURN_API int churn_btyd_expected_purchases(const churn_model *model, double t, size_t n,
                                            const double *frequency, const double *recency,
                                            const double *T, double *expected)
{
    return per_customer(model, Q_EXPECTED, t, 0, n, frequency, recency, T, expected);
}

CHURN_API int churn_btyd_score(const churn_model *model, double t, size_t n,
                               const double *frequency, const double *recency, const double *T,
                               double *p_alive, double *expected)
{
    static const char fn[] = "churn_btyd_score";
    churn__ok();
    const churn__btyd_family *fam;
    int rc = model_family(model, fn, &fam);
    if (rc)
        return rc;
    if (NEED(frequency) || NEED(recency) || NEED(T))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    if ((rc = churn__btyd_check_horizon(fn, model->family, t, "horizon t")))
        return rc;
    if (model->family == CHURN_FAMILY_BGNBD || model->family == CHURN_FAMILY_MBGNBD) {
        size_t bad = churn__bgnbd_score(model->params, model->family == CHURN_FAMILY_MBGNBD, t, n,
                                        frequency, recency, T, p_alive, expected);
        if (bad == 0)
            return CHURN_OK;
        size_t i = bad - 1;
        if ((rc = churn__btyd_check_row(fn, 0, 0, i, frequency[i], recency[i], T[i])))
            return rc;
        return churn__btyd_nonfinite(fn, "P(alive) or the expected number of purchases", i);
    }
    if ((rc = check_rows(fn, model->family, n, frequency, recency, T)))
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (p_alive) {
            p_alive[i] = fam->p_alive(model->params, frequency[i], recency[i], T[i]);
            if (!isfinite(p_alive[i]))
                return churn__btyd_nonfinite(fn, "P(alive)", i);
        }
        if (expected) {
            expected[i] = fam->cond_expected(model->params, t, frequency[i], recency[i], T[i]);
            if (!isfinite(expected[i]))
                return churn__btyd_nonfinite(fn, "the expected number of purchases", i);
        }
    }
    return CHURN_OK;
}

CHURN_API int churn_btyd_expected_purchases_path(const churn_model *model, size_t n,
                                                 const double *frequency,
                                                 const double *recency, const double *T,
                                                 size_t nh, const double *t, double *p_alive,
                                                 double *expected)
{
    static const char fn[] = "churn_btyd_expected_purchases_path";
    churn__ok();
    int rc = churn__model_check(model, fn, 5, CHURN_FAMILY_BGNBD, CHURN_FAMILY_MBGNBD,
                                CHURN_FAMILY_PNBD, CHURN_FAMILY_GGOMNBD, CHURN_FAMILY_MBGCNBD);
    if (rc)
        return rc;
    const churn__btyd_family *fam = churn__btyd_family_desc(model->family);
    if ((rc = churn__btyd_check_params(fn, fam, model->params, model->nparams)) ||
        (rc = check_k(fn, model->family, model->params)))
        return rc;
    if (NEED(frequency) || NEED(recency) || NEED(T) || (n && nh && !expected) ||
        (nh && !t))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    for (size_t j = 0; j < nh; j++) {
        if (t[j] >= 0 && t[j] < HUGE_VAL)
            continue; /* a valid horizon of these families: no message to format */
        char what[32];
        snprintf(what, sizeof what, "t[%zu]", j);
        if ((rc = churn__btyd_check_horizon(fn, model->family, t[j], what)))
            return rc;
    }
    if ((rc = check_rows(fn, model->family, n, frequency, recency, T)))
        return rc;
    const double *p = model->params;
    /* g: E[X(T, T + t) | alive at T] of the last (x, T), reused while the rows repeat it */
    enum { ALIVE_PATH_MAXH = 64 };
    double g[ALIVE_PATH_MAXH], gx = NAN, gT = NAN;
    const int modified = model->family == CHURN_FAMILY_MBGNBD;
    const int reuse = (model->family == CHURN_FAMILY_BGNBD || modified) &&
                      nh <= ALIVE_PATH_MAXH;
    for (size_t i = 0; i < n; i++) {
        double pa, *e = expected ? expected + i * nh : NULL;
        if (e && reuse) {
            if (!(frequency[i] == gx && T[i] == gT)) {
                churn__bgnbd_alive_path(p, modified, nh, t, frequency[i], T[i], g);
                gx = frequency[i];
                gT = T[i];
            }
            pa = fam->p_alive(p, frequency[i], recency[i], T[i]);
            for (size_t j = 0; j < nh; j++)
                e[j] = g[j] * pa;
        } else if (e && fam->cond_expected_path) {
            fam->cond_expected_path(p, nh, t, frequency[i], recency[i], T[i], &pa, e);
        } else {
            pa = fam->p_alive(p, frequency[i], recency[i], T[i]);
            for (size_t j = 0; e && j < nh; j++)
                e[j] = fam->cond_expected(p, t[j], frequency[i], recency[i], T[i]);
        }
        if (!isfinite(pa))
            return churn__btyd_nonfinite(fn, "P(alive)", i);
        if (p_alive)
            p_alive[i] = pa;
        for (size_t j = 0; e && j < nh; j++)
            if (!isfinite(e[j]))
                return churn__btyd_nonfinite(fn, "the expected number of purchases", i);
    }
    return CHURN_OK;
}

CHURN_API int churn_btyd_expected_purchases_new(const churn_model *model, size_t n,
                                                const double *t, double *expected)
{
    return per_horizon(model, Q_EXPECTED_NEW, 0, n, t, expected);
}

CHURN_API int churn_btyd_prob_purchases(const churn_model *model, double k, size_t n,
                                        const double *t, double *prob)
{
    return per_horizon(model, Q_PMF, k, n, t, prob);
}

CHURN_API int churn_btyd_prob_purchases_cond(const churn_model *model, double k, double t,
                                             size_t n, const double *frequency,
                                             const double *recency, const double *T,
                                             double *prob)
{
    return per_customer(model, Q_COND_PMF, t, k, n, frequency, recency, T, prob);
}

CHURN_API int churn_pnbd_p_alive_at(const churn_model *model, double t, size_t n,
                                    const double *frequency, const double *recency,
                                    const double *T, double *p_alive)
{
    return per_customer(model, Q_P_ALIVE_AT, t, 0, n, frequency, recency, T, p_alive);
}

/* ---- explicit change of time unit ---------------------------------------- */

CHURN_API int churn_btyd_convert_time_unit(churn_model *m, double unit_days)
{
    churn__ok();
    if (!m)
        return churn__error(CHURN_EINVAL, "churn_btyd_convert_time_unit: model is NULL");
    if (!isfinite(unit_days) || !(unit_days > 0))
        return churn__error(CHURN_EINVAL, "churn_btyd_convert_time_unit: unit_days %g must be a "
                            "finite number > 0", unit_days);
    /* parameters multiplied by c (Gamma rates of a rate per unit) and, for
     * the Gompertz b (itself a rate per unit), divided by it */
    const char *scaled[2] = {"alpha", NULL};
    int divide[2] = {0, 0};
    switch (m->family) {
    case CHURN_FAMILY_BGNBD:
    case CHURN_FAMILY_MBGNBD:
    case CHURN_FAMILY_MBGCNBD: break;
    case CHURN_FAMILY_PNBD: scaled[1] = "beta"; break;
    case CHURN_FAMILY_GGOMNBD: scaled[1] = "b"; divide[1] = 1; break;
    case CHURN_FAMILY_BGBB:
    case CHURN_FAMILY_SBG:
        return churn__error(CHURN_EUNSUPPORTED, "churn_btyd_convert_time_unit: a '%s' model "
                            "counts discrete opportunities and has no time unit to convert",
                            churn_family_name(m->family));
    default:
        return churn__error(CHURN_EFAMILY, "churn_btyd_convert_time_unit: a '%s' model is not "
                            "a continuous-time BTYD model", churn_family_name(m->family));
    }
    if (!(m->time_unit > 0))
        return churn__error(CHURN_EUNIT, "churn_btyd_convert_time_unit: the '%s' model's time "
                            "unit is unknown; record it with churn_model_set_time_unit() first",
                            churn_family_name(m->family));
    double c0 = m->time_unit / unit_days;
    size_t k = m->nparams, idx[2];
    double cs[2] = {divide[0] ? 1.0 / c0 : c0, divide[1] ? 1.0 / c0 : c0};
    size_t ns = 0;
    for (int j = 0; j < 2 && scaled[j]; j++) {
        size_t i = 0;
        while (i < k && strcmp(m->param_names[i], scaled[j]) != 0)
            i++;
        if (i == k)
            return churn__error(CHURN_EFAMILY, "churn_btyd_convert_time_unit: the '%s' model "
                                "has no parameter '%s'", churn_family_name(m->family), scaled[j]);
        idx[ns++] = i;
    }
    for (size_t j = 0; j < ns; j++)
        if (!isfinite(m->params[idx[j]] * cs[j]) || !(m->params[idx[j]] * cs[j] > 0))
            return churn__error(CHURN_ENUMERIC, "churn_btyd_convert_time_unit: %s = %g times %g "
                                "overflows", m->param_names[idx[j]], m->params[idx[j]], cs[j]);
    char from[64], to[64], note[256];
    churn_time_unit_describe(m->time_unit, from, sizeof from);
    churn_time_unit_describe(unit_days, to, sizeof to);
    snprintf(note, sizeof note, "converted from %s to %s; the log-likelihood refers to %s",
             from, to, from);
    const char *old = m->note ? m->note : "";
    size_t need = strlen(old) + strlen(note) + 3;
    char *joined = churn__malloc(need);
    if (!joined)
        return churn__nomem("model note");
    snprintf(joined, need, "%s%s%s", old, *old ? "; " : "", note);
    int rc = churn__model_set_note(m, joined);
    churn__free(joined);
    if (rc)
        return rc;
    for (size_t j = 0; j < ns; j++) {
        size_t i = idx[j];
        double c = cs[j];
        m->params[i] *= c;
        if (m->se)
            m->se[i] *= c;
        if (m->cov)
            for (size_t q = 0; q < k; q++) {
                m->cov[i * k + q] *= c;
                m->cov[q * k + i] *= c;
            }
    }
    m->time_unit = unit_days;
    return CHURN_OK;
}

CHURN_API int churn_bgbb_p_alive_at(const churn_model *model, double m, size_t n,
                                    const double *frequency, const double *recency,
                                    const double *T, double *p_alive)
{
    return per_customer(model, Q_BGBB_ALIVE_AT, m, 0, n, frequency, recency, T, p_alive);
}

/* ---- MBG/CNBD-k: fit with k fixed or chosen, log-likelihood with litt ---------------- */

/* Rows (x, t_x, T) as for every BTYD fit, and litt: finite, 0 when x = 0. */
int churn__mbgc_check_rows(const char *fn, int fitting, size_t n, const double *x,
                           const double *tx, const double *T, const double *litt,
                           const double *w)
{
    for (size_t i = 0; i < n; i++) {
        int rc = churn__btyd_check_row(fn, 0, fitting, i, x[i], tx[i], T[i]);
        if (!rc && w)
            rc = churn__btyd_check_weight(fn, i, w[i]);
        if (rc)
            return rc;
        if (litt && (!isfinite(litt[i]) || (x[i] == 0 && litt[i] != 0)))
            return churn__error(CHURN_EINVAL, "%s: row %zu: column 'litt' = %g must be a finite "
                                "sum of log inter-purchase times (0 when frequency is 0)", fn,
                                i, litt[i]);
    }
    return CHURN_OK;
}

int churn__mbgc_check_args(const char *fn, const void *out, int k, size_t n, const double *x,
                           const double *tx, const double *T, const double *litt)
{
    if (!out || (n && (!x || !tx || !T)))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    if (k < 0 || k > CHURN__MBGC_KMAX)
        return churn__error(CHURN_EINVAL, "%s: k = %d must be in 1..%d, or 0 to choose k by "
                            "likelihood", fn, k, CHURN__MBGC_KMAX);
    if (k != 1 && n && !litt)
        return churn__error(CHURN_EINVAL, "%s: column 'litt' is NULL: k = %d needs the sum of "
                            "log inter-purchase times of every customer", fn, k);
    return CHURN_OK;
}

/* sum_i w_i [(k-1) litt_i - x_i log((k-1)!)]: the part of the log-likelihood
 * that only k changes (0 when k = 1). */
double churn__mbgc_litt_term(int k, size_t n, const double *x, const double *litt,
                             const double *w)
{
    if (k == 1)
        return 0.0;
    double s = 0.0, lf = lgamma((double)k);
    for (size_t i = 0; i < n; i++)
        s += (w ? w[i] : 1.0) * ((k - 1) * litt[i] - x[i] * lf);
    return s;
}

/* The fitted 4-parameter model of a fixed k as the 5-parameter MBG/CNBD-k model. */
static int mbgc_widen(churn_model **out, churn_model *m4, int k, double lconst)
{
    churn_model *m = NULL;
    int rc = churn__model_new(&m, CHURN_FAMILY_MBGCNBD, 5, churn__mbgcnbd_family.names);
    if (rc)
        return rc;
    m->params[0] = k;
    memcpy(m->params + 1, m4->params, 4 * sizeof *m->params);
    if (m4->cov) {
        double cov[25] = {0};
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                cov[(i + 1) * 5 + j + 1] = m4->cov[i * 4 + j];
        rc = churn__model_set_cov(m, cov); /* k is chosen, not estimated: variance 0 */
    } else {
        m->se[0] = 0.0;
        memcpy(m->se + 1, m4->se, 4 * sizeof *m->se);
    }
    if (!rc && m4->note)
        rc = churn__model_set_note(m, m4->note);
    if (rc) {
        churn_model_free(m);
        return rc;
    }
    m->loglik = m4->loglik + lconst;
    m->nobs = m4->nobs;
    m->converged = m4->converged;
    m->iterations = m4->iterations;
    *out = m;
    return CHURN_OK;
}

CHURN_API int churn_mbgcnbd_fit(churn_model **out, int k, size_t n, const double *frequency,
                                const double *recency, const double *T, const double *litt,
                                const double *weights, const churn_btyd_options *opts)
{
    static const char fn[] = "churn_mbgcnbd_fit";
    churn__ok();
    if (out)
        *out = NULL;
    int rc = churn__mbgc_check_args(fn, out, k, n, frequency, recency, T, litt);
    if (rc)
        return rc;
    churn_btyd_options o;
    if ((rc = churn__btyd_options(&o, opts, fn)))
        return rc;
    if (n == 0)
        return churn__error(CHURN_EINVAL, "%s: no rows to fit", fn);
    if ((rc = churn__mbgc_check_rows(fn, 1, n, frequency, recency, T, k == 1 ? NULL : litt,
                                     weights)))
        return rc;
    double wsum = 0;
    for (size_t i = 0; i < n; i++)
        wsum += weights ? weights[i] : 1.0;
    if (!(wsum > 0) || !isfinite(wsum))
        return churn__error(CHURN_EINVAL, "%s: column 'weights': the weights sum to %g; need a "
                            "positive finite total", fn, wsum);
    churn__btyd_data d;
    if ((rc = churn__btyd_collapse(&d, n, frequency, recency, T, weights)))
        return rc;
    int k0 = k ? k : 1, k1 = k ? k : CHURN__MBGC_KMAX;
    churn_model *best = NULL;
    int best_rc = CHURN_OK;
    char tried[512] = "";
    size_t len = 0;
    for (int kk = k0; kk <= k1; kk++) {
        churn_model *m4 = NULL, *m5 = NULL;
        int frc = churn__btyd_fit_collapsed(&m4, &churn__mbgc_fit_family[kk - 1], &d, wsum, &o,
                                            fn);
        if (!m4) {
            if (k || frc == CHURN_ENOMEM) { /* a k that cannot be fitted at all when choosing: skip */
                churn_model_free(best);
                churn__btyd_data_free(&d);
                return frc;
            }
            churn__ok();
            continue;
        }
        int wrc = mbgc_widen(&m5, m4, kk,
                             churn__mbgc_litt_term(kk, n, frequency, litt, weights));
        churn_model_free(m4);
        if (wrc) {
            churn_model_free(best);
            churn__btyd_data_free(&d);
            return wrc;
        }
        if (!k && len < sizeof tried - 40)
            len += (size_t)snprintf(tried + len, sizeof tried - len, "%sk=%d: %.10g%s",
                                    len ? ", " : "", kk, m5->loglik, frc ? " (not converged)" : "");
        /* choosing k: the best converged fit; a fixed k keeps its own */
        if (!best || (frc == CHURN_OK && (best_rc != CHURN_OK || m5->loglik > best->loglik))) {
            churn_model_free(best);
            best = m5;
            best_rc = frc;
        } else {
            churn_model_free(m5);
        }
    }
    churn__btyd_data_free(&d);
    if (!best)
        return best_rc ? best_rc
                       : churn__error(CHURN_ENUMERIC, "%s: no k in 1..%d gave a fit", fn, k1);
    if (!k) {
        char note[640];
        snprintf(note, sizeof note, "k = %g chosen by likelihood among %s", best->params[0],
                 tried);
        if ((rc = churn__model_set_note(best, note))) {
            churn_model_free(best);
            return rc;
        }
    }
    *out = best;
    if (best_rc)
        return churn__error(best_rc, "%s: the fit with k = %g did not converge; the model "
                            "holds the best point found", fn, best->params[0]);
    return CHURN_OK;
}

CHURN_API int churn_mbgcnbd_loglik(size_t nparams, const double *params, size_t n,
                                   const double *frequency, const double *recency,
                                   const double *T, const double *litt, const double *weights,
                                   double *loglik, double *gradient)
{
    static const char fn[] = "churn_mbgcnbd_loglik";
    churn__ok();
    if (!params || !loglik || (n && (!frequency || !recency || !T)))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    int rc = churn__btyd_check_params(fn, &churn__mbgcnbd_family, params, nparams);
    if (!rc)
        rc = check_k(fn, CHURN_FAMILY_MBGCNBD, params);
    if (rc)
        return rc;
    int k = (int)params[0];
    if (k != 1 && n && !litt)
        return churn__error(CHURN_EINVAL, "%s: column 'litt' is NULL: k = %d needs the sum of "
                            "log inter-purchase times of every customer", fn, k);
    if ((rc = churn__mbgc_check_rows(fn, 0, n, frequency, recency, T, k == 1 ? NULL : litt,
                                     weights)))
        return rc;
    double gl[4];
    rc = churn__mbgc_loglik_k(k, params + 1, n, frequency, recency, T, weights, loglik,
                              gradient ? gl : NULL);
    if (rc || !isfinite(*loglik))
        return churn__error(CHURN_ENUMERIC, "%s: the MBG/CNBD-k log-likelihood is not finite at "
                            "these parameters", fn);
    *loglik += churn__mbgc_litt_term(k, n, frequency, litt, weights);
    if (gradient) {
        gradient[0] = NAN; /* k is discrete */
        for (int j = 0; j < 4; j++)
            gradient[j + 1] = gl[j] / params[j + 1];
    }
    return CHURN_OK;
}
