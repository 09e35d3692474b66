/*
 * Kaplan-Meier curves with Greenwood errors, R's confidence intervals and
 * quantile rule, the restricted mean, and the log-rank test between groups.
 *
 * R equivalence: survival 3.5 survfit (survfitKM, survfit_confint,
 * quantile.survfit/findq, survmean), survdiff.
 *
 * Calls: surv_common.c (input checks, radix sort, row order, chi-square
 * tail) and core/ (Cholesky factor and solve, huge-page hint).
 */
#include "survival/survival_internal.h"

#include <gsl/gsl_cdf.h>
#include <stdio.h>
#include <stdint.h>

/* ---- Kaplan-Meier ------------------------------------------------------------------ */

enum { KM_NCOL = 10 };

/* A curve stores only its times and (weighted) event and censoring counts;
 * every other column is derived in one O(nt) pass when asked for, which keeps
 * a fit on 10^7 distinct durations at 24 bytes per row. */
typedef struct km_curve {
    int64_t label;
    size_t nt;
    double *time, *nev, *ncens; /* one block of 3 * nt doubles */
    double n_total, observed, expected;
} km_curve;

struct churn_km {
    size_t ng;
    km_curve *g;
    double conf_level, z;
    int conf_type;
    double lr_chisq, lr_df, lr_p;
    int lr_status;
    char lr_msg[160];
};

CHURN_API void churn_km_options_init(churn_km_options *opts)
{
    if (opts) {
        churn_km_options d = CHURN_KM_OPTIONS_INIT;
        *opts = d;
    }
}

CHURN_API void churn_km_free(churn_km *km)
{
    if (!km)
        return;
    for (size_t g = 0; g < km->ng; g++)
        churn__free(km->g[g].time);
    churn__free(km->g);
    churn__free(km);
}

static int curve_alloc(km_curve *c, size_t nt)
{
    c->nt = nt;
    c->time = churn__malloc(churn__mul_size(nt ? nt : 1, 3 * sizeof(double)));
    if (!c->time)
        return churn__nomem("a Kaplan-Meier curve");
    churn__advise_huge(c->time, 3 * nt * sizeof(double));
    c->nev = c->time + nt;
    c->ncens = c->nev + nt;
    memset(c->nev, 0, 2 * nt * sizeof(double));
    return CHURN_OK;
}

/* Confidence limits for one point, R's survfit_confint(): `se` is the
 * standard error of -log S (Greenwood). */
static void km_ci(int type, double z, double s, double se, double *lo, double *hi)
{
    if (type == CHURN_CONF_NONE) {
        *lo = *hi = s;
        return;
    }
    if (s <= 0) { /* R: NA; the curve has reached 0 and so has its interval */
        *lo = *hi = 0;
        return;
    }
    switch (type) {
    case CHURN_CONF_LOGLOG:
        if (s >= 1) {
            *lo = *hi = 1;
        } else {
            /* Kalbfleisch & Prentice (2002) eq. 1.15: interval for log(-log S),
             * whose standard error is se / |log S|. */
            double ls = log(s), se2 = z * se / ls;
            *lo = exp(-exp(log(-ls) - se2));
            *hi = exp(-exp(log(-ls) + se2));
        }
        break;
    case CHURN_CONF_PLAIN: {
        double h = z * se * s;
        *lo = fmax(s - h, 0);
        *hi = fmin(s + h, 1);
        break;
    }
    default: /* log */
        *lo = exp(log(s) - z * se);
        *hi = fmin(exp(log(s) + z * se), 1);
        break;
    }
}

/* Derived columns of a curve, in one pass; any output may be NULL.
 * Kaplan & Meier (1958) product limit; Greenwood (1926) variance of log S:
 * sum d / (n (n - d)); Nelson (1972) - Aalen (1978) cumulative hazard sum d/n
 * with variance sum d / n^2 (R's std.chaz for the KM fit). */
static void curve_derive(const churn_km *km, const km_curve *c, double *nr, double *s,
                         double *se, double *lo, double *hi, double *ch, double *sch)
{
    const double *d = c->nev, *cn = c->ncens;
    double atrisk = c->n_total, surv = 1, greenwood = 0, chaz = 0, vchaz = 0;
    for (size_t k = 0; k < c->nt; k++) {
        double nk = atrisk, dk = d[k];
        if (dk > 0 && nk > 0) {
            double left = nk - dk;
            if (left <= 1e-12 * nk) {
                surv = 0;
                greenwood = INFINITY;
            } else {
                surv *= left / nk;
                greenwood += dk / (nk * left);
            }
            chaz += dk / nk;
            vchaz += dk / (nk * nk);
        }
        if (nr)
            nr[k] = nk;
        if (s)
            s[k] = surv;
        if (se)
            se[k] = sqrt(greenwood);
        if (lo || hi) {
            double l, h;
            km_ci(km->conf_type, km->z, surv, sqrt(greenwood), &l, &h);
            if (lo)
                lo[k] = l;
            if (hi)
                hi[k] = h;
        }
        if (ch)
            ch[k] = chaz;
        if (sch)
            sch[k] = sqrt(vchaz);
        atrisk -= dk + cn[k];
        if (atrisk < 0)
            atrisk = 0;
    }
}

static void curve_finish(km_curve *c, double n_total)
{
    double observed = 0;
    for (size_t k = 0; k < c->nt; k++)
        observed += c->nev[k];
    c->n_total = n_total;
    c->observed = observed;
}

/* Group codes -> dense indices 0..G-1 in increasing code order. */
static int map_groups(size_t n, const int64_t *group, uint32_t *gidx, int64_t **labels, size_t *ng)
{
    *labels = NULL;
    *ng = 0;
    uint64_t *k = churn__malloc(churn__mul_size(n, 2 * sizeof(uint64_t)));
    uint32_t *ix = churn__malloc(churn__mul_size(n, 2 * sizeof(uint32_t)));
    if (!k || !ix) {
        churn__free(k);
        churn__free(ix);
        return churn__nomem("group codes");
    }
    for (size_t i = 0; i < n; i++) {
        k[i] = (uint64_t)group[i] ^ ((uint64_t)1 << 63);
        ix[i] = (uint32_t)i;
    }
    int sw = churn__radix_sort(n, k, ix, k + n, ix + n);
    if (sw < 0) {
        churn__free(k);
        churn__free(ix);
        return churn__nomem("group codes");
    }
    uint64_t *sk = sw ? k + n : k;
    uint32_t *si = sw ? ix + n : ix;
    size_t g = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && sk[i] != sk[i - 1])
            g++;
        gidx[si[i]] = (uint32_t)g;
    }
    size_t G = g + 1;
    int64_t *lab = churn__malloc(G * sizeof *lab);
    if (!lab) {
        churn__free(k);
        churn__free(ix);
        return churn__nomem("group labels");
    }
    g = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && sk[i] != sk[i - 1])
            g++;
        lab[g] = (int64_t)(sk[i] ^ ((uint64_t)1 << 63));
    }
    churn__free(k);
    churn__free(ix);
    *labels = lab;
    *ng = G;
    return CHURN_OK;
}

/* Log-rank test from per-group expected/observed and the hypergeometric
 * covariance V (G*G), as survdiff: groups with expected > 0, the first
 * of them dropped (Mantel 1966; Peto & Peto 1972). */
static void logrank_finish(churn_km *km, double *V)
{
    size_t G = km->ng, k = 0;
    size_t *use = churn__malloc(G * sizeof *use);
    double *a = churn__malloc(churn__mul_size(G * G + 1, sizeof(double)));
    double *b = churn__malloc(G * sizeof(double));
    double *b0 = churn__malloc(G * sizeof(double));
    if (!use || !a || !b || !b0) {
        km->lr_status = CHURN_ENOMEM;
        snprintf(km->lr_msg, sizeof km->lr_msg, "out of memory for the log-rank test");
        goto done;
    }
    for (size_t g = 0; g < G; g++)
        if (km->g[g].expected > 0)
            use[k++] = g;
    km->lr_chisq = 0;
    km->lr_df = 0;
    km->lr_p = 1;
    km->lr_status = CHURN_OK;
    if (k < 2)
        goto done;
    size_t m = k - 1;
    for (size_t i = 0; i < m; i++) {
        size_t gi = use[i + 1];
        b[i] = b0[i] = km->g[gi].observed - km->g[gi].expected;
        for (size_t j = 0; j < m; j++)
            a[i * m + j] = V[gi * G + use[j + 1]];
    }
    if (churn__chol(a, m, CHURN__SURV_CHOL_TOL) != 0) {
        km->lr_status = CHURN_ENUMERIC;
        snprintf(km->lr_msg, sizeof km->lr_msg,
                 "churn_km_logrank: the variance matrix of the observed - expected events is "
                 "singular");
        goto done;
    }
    churn__chol_solve(a, b, m);
    double chi = 0;
    for (size_t i = 0; i < m; i++)
        chi += b[i] * b0[i];
    km->lr_chisq = chi;
    km->lr_df = (double)m;
    km->lr_p = churn__chisq_q(chi, (double)m);
done:
    churn__free(use);
    churn__free(a);
    churn__free(b);
    churn__free(b0);
}

/* Dense histogram path: every duration an integer in [0, range). */
static int km_dense(churn_km *km, size_t n, const double *duration, const double *event,
                    const double *weights, size_t range)
{
    double *dv = churn__calloc(range, sizeof(double));
    double *cv = churn__calloc(range, sizeof(double));
    uint32_t *cnt = churn__calloc(range, sizeof(uint32_t));
    if (!dv || !cv || !cnt) {
        churn__free(dv);
        churn__free(cv);
        churn__free(cnt);
        return churn__nomem("a Kaplan-Meier histogram");
    }
    double total = 0;
    if (weights) {
        for (size_t i = 0; i < n; i++) {
            size_t t = (size_t)duration[i];
            double w = weights[i];
            cnt[t]++;
            if (event[i] != 0)
                dv[t] += w;
            else
                cv[t] += w;
            total += w;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            size_t t = (size_t)duration[i];
            cnt[t]++;
            if (event[i] != 0)
                dv[t] += 1;
            else
                cv[t] += 1;
        }
        total = (double)n;
    }
    size_t nt = 0;
    for (size_t t = 0; t < range; t++)
        nt += cnt[t] != 0;
    km_curve *c = &km->g[0];
    int rc = curve_alloc(c, nt);
    if (!rc) {
        size_t k = 0;
        for (size_t t = 0; t < range; t++)
            if (cnt[t]) {
                c->time[k] = (double)t;
                c->nev[k] = dv[t];
                c->ncens[k] = cv[t];
                k++;
            }
        curve_finish(c, total);
    }
    churn__free(dv);
    churn__free(cv);
    churn__free(cnt);
    return rc;
}

/* Unweighted, ungrouped: sort (duration bits << 1 | event) keys only. */
static int km_keys(churn_km *km, size_t n, const double *duration, const double *event)
{
    /* One block of 3n doubles serves first as the two radix buffers (keys
     * (duration bits << 1 | event)), then as the curve: time at [0, nt),
     * censorings at [n, n + nt), events at [2n, 2n + nt). Row r <= key i, so
     * a write into the buffer holding the sorted keys never overtakes the
     * read position. */
    double *B = churn__malloc(churn__mul_size(n, 3 * sizeof(double)));
    if (!B)
        return churn__nomem("a Kaplan-Meier curve");
    churn__advise_huge(B, 3 * n * sizeof(double));
    uint64_t *k = (uint64_t *)(void *)B;
    for (size_t i = 0; i < n; i++) {
        double d = duration[i] == 0 ? 0.0 : duration[i];
        uint64_t u;
        memcpy(&u, &d, sizeof u); /* d >= 0: the bit pattern is monotone */
        k[i] = (u << 1) | (event[i] != 0);
    }
    int sw = churn__radix_sort(n, k, NULL, k + n, NULL);
    if (sw < 0) {
        churn__free(B);
        return churn__nomem("a sort buffer");
    }
    const uint64_t *sk = sw ? k + n : k;
    double *time = B, *ncens = B + n, *nev = B + 2 * n;
    size_t r = (size_t)-1;
    uint64_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t key = sk[i], tb = key >> 1;
        if (i == 0 || tb != prev) {
            prev = tb;
            r++;
            double t;
            memcpy(&t, &tb, sizeof t);
            time[r] = t;
            ncens[r] = 0;
            nev[r] = 0;
        }
        if (key & 1)
            nev[r] += 1;
        else
            ncens[r] += 1;
    }
    size_t nt = r + 1;
    if (nt < n) {
        memmove(B + nt, ncens, nt * sizeof(double));
        memmove(B + 2 * nt, nev, nt * sizeof(double));
        double *nb = churn__realloc(B, 3 * nt * sizeof(double));
        if (nb)
            B = nb;
    }
    km_curve *c = &km->g[0];
    c->nt = nt;
    c->time = B;
    c->ncens = B + nt;
    c->nev = B + 2 * nt;
    curve_finish(c, (double)n);
    return CHURN_OK;
}

/* Curves of the general path from the rows in increasing-duration `order`:
 * count each group's distinct times (and total weight into `tot`), allocate,
 * then add the event and censoring weights. `last` and `cnt` are G entries of
 * scratch. */
static int km_group_curves(churn_km *km, size_t n, const double *duration, const double *event,
                           const double *weights, const uint32_t *gidx, const uint32_t *order,
                           double *last, size_t *cnt, double *tot)
{
    size_t G = km->ng;
    int rc = CHURN_OK;
    for (size_t g = 0; g < G; g++)
        last[g] = NAN;
    for (size_t k = 0; k < n; k++) {
        size_t i = order[k], g = gidx ? gidx[i] : 0;
        if (!(duration[i] == last[g])) {
            cnt[g]++;
            last[g] = duration[i];
        }
        tot[g] += weights ? weights[i] : 1.0;
    }
    for (size_t g = 0; g < G && !rc; g++)
        rc = curve_alloc(&km->g[g], cnt[g]);
    if (rc)
        return rc;
    for (size_t g = 0; g < G; g++) {
        last[g] = NAN;
        cnt[g] = 0;
    }
    for (size_t k = 0; k < n; k++) {
        size_t i = order[k], g = gidx ? gidx[i] : 0;
        km_curve *c = &km->g[g];
        if (!(duration[i] == last[g])) {
            c->time[cnt[g]++] = duration[i];
            last[g] = duration[i];
        }
        double w = weights ? weights[i] : 1.0;
        if (event[i] != 0)
            c->nev[cnt[g] - 1] += w;
        else
            c->ncens[cnt[g] - 1] += w;
    }
    for (size_t g = 0; g < G; g++)
        curve_finish(&km->g[g], tot[g]);
    return CHURN_OK;
}

/* Log-rank test between the G >= 2 groups: walk the distinct times of all
 * groups together (rows in increasing-duration `order`, `tot` the groups'
 * total weights). At each time, E_g += d n_g / n and V_gh += d (n - d)/(n - 1)
 * n_g/n (delta_gh - n_h/n) (hypergeometric variance; Mantel 1966). */
static int km_logrank(churn_km *km, size_t n, const double *duration, const double *event,
                      const double *weights, const uint32_t *gidx, const uint32_t *order,
                      const double *tot)
{
    size_t G = km->ng;
    double *V = churn__calloc(G * G, sizeof(double));
    double *nrisk = churn__malloc(G * sizeof(double));
    if (!V || !nrisk) {
        churn__free(V);
        churn__free(nrisk);
        return churn__nomem("log-rank work space");
    }
    double ntot = 0;
    for (size_t g = 0; g < G; g++) {
        nrisk[g] = tot[g];
        ntot += tot[g];
        km->g[g].expected = 0;
    }
    size_t k = 0;
    while (k < n) {
        double t = duration[order[k]];
        double dsum = 0, leave = 0;
        size_t k2 = k;
        while (k2 < n && duration[order[k2]] == t) {
            size_t i = order[k2];
            double w = weights ? weights[i] : 1.0;
            dsum += event[i] != 0 ? w : 0;
            leave += w;
            k2++;
        }
        if (dsum > 0 && ntot > 0) {
            double vf = ntot > 1 ? dsum * (ntot - dsum) / (ntot - 1) : 0;
            for (size_t g = 0; g < G; g++) {
                if (nrisk[g] <= 0)
                    continue;
                double fg = nrisk[g] / ntot;
                km->g[g].expected += dsum * fg;
                if (vf > 0) {
                    V[g * G + g] += vf * fg;
                    for (size_t h = 0; h < G; h++)
                        if (nrisk[h] > 0)
                            V[g * G + h] -= vf * fg * nrisk[h] / ntot;
                }
            }
        }
        for (size_t kk = k; kk < k2; kk++) {
            size_t i = order[kk], g = gidx[i];
            nrisk[g] -= weights ? weights[i] : 1.0;
        }
        ntot -= leave;
        k = k2;
    }
    logrank_finish(km, V);
    churn__free(V);
    churn__free(nrisk);
    return CHURN_OK;
}

/* General path: weights and/or groups; also computes the log-rank test. */
static int km_general(churn_km *km, size_t n, const double *duration, const double *event,
                      const double *weights, const uint32_t *gidx)
{
    size_t G = km->ng;
    int rc = CHURN_OK;
    uint32_t *order = churn__malloc(churn__mul_size(n, sizeof(uint32_t)));
    double *last = churn__malloc(churn__mul_size(G, sizeof(double)));
    size_t *cnt = churn__calloc(G, sizeof(size_t));
    double *tot = churn__calloc(G, sizeof(double));
    if (!order || !last || !cnt || !tot)
        rc = churn__nomem("Kaplan-Meier work space");
    if (!rc)
        rc = churn__sort_order(n, duration, order);
    if (!rc)
        rc = km_group_curves(km, n, duration, event, weights, gidx, order, last, cnt, tot);
    if (!rc && G >= 2)
        rc = km_logrank(km, n, duration, event, weights, gidx, order, tot);
    churn__free(order);
    churn__free(last);
    churn__free(cnt);
    churn__free(tot);
    return rc;
}

CHURN_API int churn_km_fit(churn_km **out, size_t n, const double *duration, const double *event,
                           const double *weights, const int64_t *group,
                           const churn_km_options *opts)
{
    churn__ok();
    if (!out)
        return churn__error(CHURN_EINVAL, "churn_km_fit: out is NULL");
    *out = NULL;
    churn_km_options o = CHURN_KM_OPTIONS_INIT;
    int rc = churn__opts_copy(&o, sizeof o, opts, "churn_km_options");
    if (rc)
        return rc;
    if (!(o.conf_level > 0 && o.conf_level < 1))
        return churn__error(CHURN_EINVAL, "churn_km_fit: conf_level %g must be in (0, 1)",
                            o.conf_level);
    if (o.conf_type < CHURN_CONF_LOG || o.conf_type > CHURN_CONF_NONE)
        return churn__error(CHURN_EINVAL, "churn_km_fit: conf_type %d is not a churn_conf_type",
                            o.conf_type);
    rc = churn__surv_check("churn_km_fit", n, duration, event, weights, 0, NULL);
    if (rc)
        return rc;
    double z = gsl_cdf_ugaussian_Qinv((1 - o.conf_level) / 2);

    churn_km *km = churn__calloc(1, sizeof *km);
    if (!km)
        return churn__nomem("a Kaplan-Meier result");
    km->conf_level = o.conf_level;
    km->conf_type = o.conf_type;
    km->z = z;
    km->lr_status = CHURN_EUNSUPPORTED;
    snprintf(km->lr_msg, sizeof km->lr_msg, "churn_km_logrank: the curves have no groups");

    uint32_t *gidx = NULL;
    int64_t *labels = NULL;
    size_t G = 1;
    if (group) {
        gidx = churn__malloc(churn__mul_size(n, sizeof(uint32_t)));
        if (!gidx) {
            churn_km_free(km);
            return churn__nomem("group indices");
        }
        rc = map_groups(n, group, gidx, &labels, &G);
        if (rc) {
            churn__free(gidx);
            churn_km_free(km);
            return rc;
        }
    }
    km->g = churn__calloc(G, sizeof *km->g);
    if (!km->g) {
        churn__free(gidx);
        churn__free(labels);
        churn_km_free(km);
        return churn__nomem("Kaplan-Meier curves");
    }
    km->ng = G;
    for (size_t g = 0; g < G; g++)
        km->g[g].label = labels ? labels[g] : 0;
    churn__free(labels);

    if (!group) {
        /* Integer durations over a range comparable to n: one histogram pass. */
        double maxd = 0;
        int integral = 1;
        for (size_t i = 0; i < n && integral; i++) {
            double d = duration[i];
            if (d != floor(d) || d > 4.0 * (double)n + 4096.0)
                integral = 0;
            else if (d > maxd)
                maxd = d;
        }
        if (integral)
            rc = km_dense(km, n, duration, event, weights, (size_t)maxd + 1);
        else if (!weights)
            rc = km_keys(km, n, duration, event);
        else
            rc = km_general(km, n, duration, event, weights, NULL);
    } else {
        rc = km_general(km, n, duration, event, weights, gidx);
    }
    churn__free(gidx);
    if (rc) {
        churn_km_free(km);
        return rc;
    }
    *out = km;
    return CHURN_OK;
}

CHURN_API size_t churn_km_num_groups(const churn_km *km) { return km ? km->ng : 0; }

CHURN_API int64_t churn_km_group_label(const churn_km *km, size_t g)
{
    return (km && g < km->ng) ? km->g[g].label : 0;
}

CHURN_API size_t churn_km_num_times(const churn_km *km, size_t g)
{
    return (km && g < km->ng) ? km->g[g].nt : 0;
}

static int km_group(const churn_km *km, size_t g, const char *fn)
{
    churn__ok();
    if (!km)
        return churn__error(CHURN_EINVAL, "%s: km is NULL", fn);
    if (g >= km->ng)
        return churn__error(CHURN_ERANGE, "%s: group %zu out of range (the result has %zu)", fn,
                            g, km->ng);
    return CHURN_OK;
}

CHURN_API int churn_km_column(const churn_km *km, size_t g, int column, double *out, size_t cap)
{
    int rc = km_group(km, g, "churn_km_column");
    if (rc)
        return rc;
    if (column < 0 || column >= KM_NCOL)
        return churn__error(CHURN_EINVAL, "churn_km_column: column %d is not a churn_km_col",
                            column);
    const km_curve *c = &km->g[g];
    if (cap < c->nt)
        return churn__error(CHURN_ERANGE, "churn_km_column: buffer holds %zu values, group %zu "
                            "has %zu rows", cap, g, c->nt);
    if (c->nt && !out)
        return churn__error(CHURN_EINVAL, "churn_km_column: out is NULL");
    if (!c->nt)
        return CHURN_OK;
    switch (column) {
    case CHURN_KM_TIME:
        memcpy(out, c->time, c->nt * sizeof(double));
        break;
    case CHURN_KM_N_EVENT:
        memcpy(out, c->nev, c->nt * sizeof(double));
        break;
    case CHURN_KM_N_CENSOR:
        memcpy(out, c->ncens, c->nt * sizeof(double));
        break;
    case CHURN_KM_N_RISK:
        curve_derive(km, c, out, NULL, NULL, NULL, NULL, NULL, NULL);
        break;
    case CHURN_KM_SURV:
        curve_derive(km, c, NULL, out, NULL, NULL, NULL, NULL, NULL);
        break;
    case CHURN_KM_STD_ERR:
        curve_derive(km, c, NULL, NULL, out, NULL, NULL, NULL, NULL);
        break;
    case CHURN_KM_LOWER:
        curve_derive(km, c, NULL, NULL, NULL, out, NULL, NULL, NULL);
        break;
    case CHURN_KM_UPPER:
        curve_derive(km, c, NULL, NULL, NULL, NULL, out, NULL, NULL);
        break;
    case CHURN_KM_CUMHAZ:
        curve_derive(km, c, NULL, NULL, NULL, NULL, NULL, out, NULL);
        break;
    default:
        curve_derive(km, c, NULL, NULL, NULL, NULL, NULL, NULL, out);
        break;
    }
    return CHURN_OK;
}

/* Index of the last row with time <= t, or -1. */
static ptrdiff_t last_le(const double *time, size_t nt, double t)
{
    size_t lo = 0, hi = nt;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (time[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (ptrdiff_t)lo - 1;
}

CHURN_API int churn_km_survival_at(const churn_km *km, size_t g, size_t nt, const double *t,
                                   double *surv)
{
    int rc = km_group(km, g, "churn_km_survival_at");
    if (rc)
        return rc;
    if (nt && (!t || !surv))
        return churn__error(CHURN_EINVAL, "churn_km_survival_at: NULL array");
    const km_curve *c = &km->g[g];
    for (size_t i = 0; i < nt; i++)
        if (!isfinite(t[i]))
            return churn__error(CHURN_EINVAL, "churn_km_survival_at: t[%zu] is not finite", i);
    double *s = churn__malloc((c->nt ? c->nt : 1) * sizeof(double));
    if (!s)
        return churn__nomem("a survival curve");
    curve_derive(km, c, NULL, s, NULL, NULL, NULL, NULL, NULL);
    for (size_t i = 0; i < nt; i++) {
        ptrdiff_t k = last_le(c->time, c->nt, t[i]);
        surv[i] = k < 0 ? 1.0 : s[k];
    }
    churn__free(s);
    return CHURN_OK;
}

/* R's findq (quantile.survfit): x = (0, times), F = (0, 1 - s) for the curve
 * `s` (the estimate or a confidence limit); `skip_ci_na` drops the rows where
 * the estimate `surv` is 0 (where R's confidence limits are NA).
 * Returns +INFINITY when not reached. */
static double findq(const km_curve *c, const double *surv, const double *s, int skip_ci_na,
                    double p)
{
    const double tol = 1.4901161193847656e-08; /* sqrt(.Machine$double.eps) */
    const double *time = c->time;
    size_t nt = c->nt;
    double ymax = 0;
    for (size_t k = 0; k < nt; k++)
        if (!(skip_ci_na && surv[k] <= 0) && 1 - s[k] > ymax)
            ymax = 1 - s[k];
    if (ymax < p)
        return INFINITY;
    double xmax = nt ? time[nt - 1] : 0;
    /* Distinct F values with the first time each is reached. */
    double x_i1 = NAN, x_i2 = NAN, y_last = 0;
    int have1 = 0, have2 = 0;
    double prev = 0;
    /* point 0: (0, 0) */
    if (0 + tol >= p) {
        x_i1 = 0;
        have1 = 1;
    }
    if (0 - tol >= p) {
        x_i2 = 0;
        have2 = 1;
    }
    y_last = 0;
    for (size_t k = 0; k < nt; k++) {
        if (skip_ci_na && surv[k] <= 0)
            continue;
        double y = 1 - s[k];
        if (y == prev)
            continue; /* duplicated(y): keep the first time */
        prev = y;
        if (!have1 && y + tol >= p) {
            x_i1 = time[k];
            have1 = 1;
        }
        if (!have2 && y - tol >= p) {
            x_i2 = time[k];
            have2 = 1;
        }
        y_last = y;
    }
    double q = (have1 && have2) ? (x_i1 + x_i2) / 2 : INFINITY;
    if (fabs(p - y_last) < tol && have1)
        q = (x_i1 + xmax) / 2;
    return q;
}

CHURN_API int churn_km_quantile(const churn_km *km, size_t g, double prob, double *value,
                                double *lower, double *upper)
{
    int rc = km_group(km, g, "churn_km_quantile");
    if (rc)
        return rc;
    if (!(prob > 0 && prob < 1))
        return churn__error(CHURN_EINVAL, "churn_km_quantile: prob %g must be in (0, 1)", prob);
    const km_curve *c = &km->g[g];
    double *s = churn__malloc(churn__mul_size(c->nt ? c->nt : 1, 3 * sizeof(double)));
    if (!s)
        return churn__nomem("a survival curve");
    double *lo = s + c->nt, *hi = lo + c->nt;
    curve_derive(km, c, NULL, s, NULL, lo, hi, NULL, NULL);
    int ci_na = km->conf_type != CHURN_CONF_NONE;
    if (value)
        *value = findq(c, s, s, 0, prob);
    /* The lower survival limit reaches 1 - prob first: the lower time limit. */
    if (lower)
        *lower = findq(c, s, lo, ci_na, prob);
    if (upper)
        *upper = findq(c, s, hi, ci_na, prob);
    churn__free(s);
    return CHURN_OK;
}

CHURN_API int churn_km_median(const churn_km *km, size_t g, double *median, double *lower,
                              double *upper)
{
    return churn_km_quantile(km, g, 0.5, median, lower, upper);
}

CHURN_API int churn_km_rmean(const churn_km *km, size_t g, double tau, double *rmean, double *se)
{
    int rc = km_group(km, g, "churn_km_rmean");
    if (rc)
        return rc;
    const km_curve *c = &km->g[g];
    const double *time = c->time, *d = c->nev;
    if (isnan(tau) || tau == 0)
        tau = c->nt ? time[c->nt - 1] : 0;
    if (!(tau > 0) || !isfinite(tau))
        return churn__error(CHURN_EINVAL, "churn_km_rmean: tau %g must be finite and > 0", tau);
    double *surv = churn__malloc(churn__mul_size(c->nt ? c->nt : 1, 2 * sizeof(double)));
    if (!surv)
        return churn__nomem("a survival curve");
    double *nr = surv + c->nt;
    curve_derive(km, c, nr, surv, NULL, NULL, NULL, NULL, NULL);
    /* Area under the step function up to tau; its variance (Klein & Moeschberger
     * 2003, eq. 4.5.2): sum over event times t_k <= tau of A_k^2 d_k / (n_k (n_k - d_k)),
     * A_k = area from t_k to tau. As R's survmean. */
    size_t m = 0;
    while (m < c->nt && time[m] <= tau)
        m++;
    double area = 0, prev_t = 0, prev_s = 1;
    for (size_t k = 0; k < m; k++) {
        area += (time[k] - prev_t) * prev_s;
        prev_t = time[k];
        prev_s = surv[k];
    }
    area += (tau - prev_t) * prev_s;
    double var = 0, tail = (tau - prev_t) * prev_s;
    for (size_t k = m; k-- > 0;) {
        double left = nr[k] - d[k];
        double hh = left > 0 ? d[k] / (nr[k] * left) : 0;
        var += tail * tail * hh;
        if (k > 0)
            tail += (time[k] - time[k - 1]) * surv[k - 1];
    }
    churn__free(surv);
    if (rmean)
        *rmean = area;
    if (se)
        *se = sqrt(var);
    return CHURN_OK;
}

CHURN_API int churn_km_group_events(const churn_km *km, size_t g, double *n, double *observed,
                                    double *expected)
{
    int rc = km_group(km, g, "churn_km_group_events");
    if (rc)
        return rc;
    if (n)
        *n = km->g[g].n_total;
    if (observed)
        *observed = km->g[g].observed;
    if (expected)
        *expected = km->ng >= 2 ? km->g[g].expected : km->g[g].observed;
    return CHURN_OK;
}

CHURN_API int churn_km_logrank(const churn_km *km, double *chisq, double *df, double *p_value)
{
    churn__ok();
    if (!km)
        return churn__error(CHURN_EINVAL, "churn_km_logrank: km is NULL");
    if (km->ng < 2) {
        if (chisq)
            *chisq = 0;
        if (df)
            *df = 0;
        if (p_value)
            *p_value = 1;
        return CHURN_OK;
    }
    if (km->lr_status)
        return churn__error(km->lr_status, "%s", km->lr_msg);
    if (chisq)
        *chisq = km->lr_chisq;
    if (df)
        *df = km->lr_df;
    if (p_value)
        *p_value = km->lr_p;
    return CHURN_OK;
}
