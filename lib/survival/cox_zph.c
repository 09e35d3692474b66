/*
 * The proportional-hazards test of a fitted Cox model (churn_cox_zph):
 * Grambsch & Therneau (1994), as R survival >= 3.0 computes it (cox.zph with
 * the Kaplan-Meier time transform), per feature and global.
 *
 * Calls: surv_common.c (input checks, row order, SPD solve, chi-square
 * tail) and core/.
 */
#include "survival/survival_internal.h"

CHURN_API int churn_cox_zph(const churn_model *m, size_t n, const double *x,
                            const double *duration, const double *event, const double *weights,
                            double *chisq, double *df, double *p_value)
{
    churn__ok();
    static const char fn[] = "churn_cox_zph";
    int rc = churn__model_check(m, fn, 1, CHURN_FAMILY_COX);
    if (rc)
        return rc;
    if (!chisq)
        return churn__error(CHURN_EINVAL, "%s: chisq is NULL", fn);
    size_t p = m->nfeatures;
    if (p == 0 || m->nparams != p)
        return churn__error(CHURN_EFORMAT, "%s: the Cox model has no features", fn);
    if ((rc = churn__surv_check(fn, n, duration, event, weights, 0, NULL)) ||
        (rc = churn__surv_check_x(fn, n, p, x, m)))
        return rc;
    size_t len = 0;
    const double *tie = churn__model_array(m, "ties", &len);
    int efron = !(tie && len >= 1 && tie[0] == CHURN_TIES_BRESLOW);
    const double *penal = churn__model_array(m, "l2_penalty", &len);
    double theta = (penal && len >= 2) ? penal[0] : 0;
    int scale = (penal && len >= 2) ? penal[1] != 0 : 0;
    const double *b = m->params;
    size_t q = 2 * p;

    /* Grambsch & Therneau (1994), as R survival >= 3.0 computes it: the score
     * test, at (b_hat, 0), for adding x * g(t) to the model, g = the
     * Kaplan-Meier transform 1 - S(t-) centred over the events. With V_t and
     * U_t the information and score contributions of event time t:
     *   u = (0, sum_t g_t U_t),
     *   I = [[sum V_t, sum g_t V_t], [sum g_t V_t, sum g_t^2 V_t]].
     * The V_t sums use the Gram rewriting of cox_eval, once per power of g. */
    uint32_t *ord = churn__malloc(churn__mul_size(n, sizeof(uint32_t)));
    double *mean = churn__calloc(p, sizeof(double)), *wr = churn__malloc(n * sizeof(double));
    double *S1 = churn__malloc(p * sizeof(double)), *D1 = churn__malloc(p * sizeof(double));
    double *u2 = churn__calloc(p, sizeof(double));
    double *M = churn__calloc(3 * p * p, sizeof(double)); /* Gram parts, m = 0, 1, 2 */
    double *A = churn__calloc(3 * p * p, sizeof(double)); /* risk-set mean parts */
    double *info = churn__malloc(q * q * sizeof(double)), *sub = churn__malloc(q * q * sizeof(double));
    double *rhs = churn__malloc(q * sizeof(double)), *sd2 = churn__calloc(p, sizeof(double));
    /* per event time (at most n): g, cumulative g^m h sums, Efron g parts */
    double *bg = churn__malloc(n * sizeof(double)), *bh = churn__malloc(n * sizeof(double));
    double *bge = churn__malloc(n * sizeof(double));
    if (!ord || !mean || !wr || !S1 || !D1 || !u2 || !M || !A || !info || !sub || !rhs || !sd2 ||
        !bg || !bh || !bge) {
        rc = churn__nomem("the proportional-hazards test");
        goto done;
    }
    if ((rc = churn__sort_order(n, duration, ord)))
        goto done;
    double wsum = 0;
    for (size_t i = 0; i < n; i++) {
        double w = weights ? weights[i] : 1.0;
        wsum += w;
        for (size_t j = 0; j < p; j++)
            mean[j] += w * x[i * p + j];
    }
    for (size_t j = 0; j < p; j++)
        mean[j] /= wsum;
    double shift = 0;
    for (size_t j = 0; j < p; j++)
        shift += mean[j] * b[j];
    for (size_t i = 0; i < n; i++) {
        double e = -shift;
        for (size_t j = 0; j < p; j++)
            e += x[i * p + j] * b[j];
        wr[i] = (weights ? weights[i] : 1.0) * exp(e);
    }
    /* g at each distinct event time, increasing: unweighted KM just before t
     * (R: survfitKM without weights, findInterval(left.open = TRUE)). */
    size_t nbk = 0, nev_rows = 0;
    double gsum = 0;
    {
        double surv = 1, atrisk = (double)n;
        size_t k = 0;
        while (k < n) {
            size_t k2 = k;
            double t = duration[ord[k]], d = 0;
            while (k2 < n && duration[ord[k2]] == t) {
                d += event[ord[k2]] != 0;
                k2++;
            }
            if (d > 0) {
                bg[nbk++] = 1 - surv; /* S(t-) */
                gsum += d * (1 - surv);
                nev_rows += (size_t)d;
            }
            surv *= (atrisk - d) / atrisk;
            atrisk -= (double)(k2 - k);
            k = k2;
        }
    }
    for (size_t e = 0; e < nbk; e++)
        bg[e] -= gsum / (double)nev_rows;
    /* Backward pass (latest time first): risk-set sums, U_t and the A parts. */
    {
        double S0 = 0;
        memset(S1, 0, p * sizeof(double));
        size_t e = nbk, k = n;
        while (k > 0) {
            size_t k0 = k;
            double t = duration[ord[k - 1]];
            double D0 = 0, dw = 0;
            size_t dn = 0;
            memset(D1, 0, p * sizeof(double));
            double *U = rhs; /* sum of w (x - mean) over the deaths */
            memset(U, 0, p * sizeof(double));
            while (k0 > 0 && duration[ord[k0 - 1]] == t) {
                size_t i = ord[--k0];
                const double *xi = x + i * p;
                S0 += wr[i];
                for (size_t j = 0; j < p; j++)
                    S1[j] += wr[i] * (xi[j] - mean[j]);
                if (event[i] != 0) {
                    double w = weights ? weights[i] : 1.0;
                    D0 += wr[i];
                    dw += w;
                    dn++;
                    for (size_t j = 0; j < p; j++) {
                        D1[j] += wr[i] * (xi[j] - mean[j]);
                        U[j] += w * (xi[j] - mean[j]);
                    }
                }
            }
            k = k0;
            if (dn == 0)
                continue;
            e--;
            double h = 0, ge = 0, al = 0, be = 0, ga = 0;
            if (!efron || dn == 1) {
                h = dw / S0;
                al = dw / (S0 * S0);
            } else {
                double mw = dw / (double)dn;
                for (size_t kk = 0; kk < dn; kk++) {
                    double f = (double)kk / (double)dn, den = S0 - f * D0;
                    h += mw / den;
                    ge += mw * f / den;
                    al += mw / (den * den);
                    be += mw * f / (den * den);
                    ga += mw * f * f / (den * den);
                }
            }
            double g = bg[e];
            bh[e] = h;
            bge[e] = ge;
            for (size_t j = 0; j < p; j++)
                u2[j] += g * (U[j] - (h * S1[j] - ge * D1[j]));
            double gm = 1;
            for (int pw = 0; pw < 3; pw++, gm *= g)
                for (size_t a = 0; a < p; a++)
                    for (size_t c = 0; c < p; c++)
                        A[pw * p * p + a * p + c] +=
                            gm * (al * S1[a] * S1[c] - be * (S1[a] * D1[c] + D1[a] * S1[c]) +
                                  ga * D1[a] * D1[c]);
        }
    }
    /* Forward: c^(m)_i = sum_{event times <= T_i} g^m h - [death] g(T_i)^m ge(T_i). */
    {
        double H[3] = {0, 0, 0};
        size_t e = 0, k = 0;
        double *xc = rhs;
        while (k < n) {
            size_t k2 = k;
            double t = duration[ord[k]];
            size_t dn = 0;
            while (k2 < n && duration[ord[k2]] == t)
                dn += event[ord[k2++]] != 0;
            double g = 0, ge = 0;
            if (dn) {
                g = bg[e];
                ge = bge[e];
                H[0] += bh[e];
                H[1] += g * bh[e];
                H[2] += g * g * bh[e];
                e++;
            }
            for (size_t kk = k; kk < k2; kk++) {
                size_t i = ord[kk];
                int died = event[i] != 0;
                double c[3] = {H[0] - (died ? ge : 0), H[1] - (died ? g * ge : 0),
                               H[2] - (died ? g * g * ge : 0)};
                for (size_t j = 0; j < p; j++)
                    xc[j] = x[i * p + j] - mean[j];
                for (int pw = 0; pw < 3; pw++) {
                    double f = wr[i] * c[pw];
                    double *Mp = M + pw * p * p;
                    for (size_t a = 0; a < p; a++)
                        for (size_t cc = 0; cc <= a; cc++)
                            Mp[a * p + cc] += f * xc[a] * xc[cc];
                }
            }
            k = k2;
        }
    }
    if (theta > 0 && scale) {
        double *mu = rhs;
        memset(mu, 0, p * sizeof(double));
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < p; j++)
                mu[j] += x[i * p + j] / (double)n;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < p; j++)
                sd2[j] += (x[i * p + j] - mu[j]) * (x[i * p + j] - mu[j]) / (double)(n - 1);
    }
    for (size_t a = 0; a < q; a++)
        for (size_t c = 0; c <= a; c++) {
            size_t pw = (a >= p) + (c >= p), aa = a % p, cc = c % p;
            size_t lo = aa > cc ? aa : cc, hi = aa > cc ? cc : aa; /* M is lower-filled */
            double v = M[pw * p * p + lo * p + hi] - A[pw * p * p + aa * p + cc];
            if (a == c && theta > 0) /* R adds the penalty to both diagonal blocks */
                v += theta * (scale ? sd2[aa] : 1.0);
            info[a * q + c] = info[c * q + a] = v;
        }
    /* per feature (1 df), then global (p df) */
    for (size_t t = 0; t <= p; t++) {
        size_t k = t < p ? p + 1 : q;
        for (size_t a = 0; a < k; a++) {
            size_t ia = (t < p && a == p) ? p + t : a;
            rhs[a] = ia >= p ? u2[ia - p] : 0;
            for (size_t c = 0; c < k; c++) {
                size_t ic = (t < p && c == p) ? p + t : c;
                sub[a * k + c] = info[ia * q + ic];
            }
        }
        double *u0 = bh; /* reuse as a copy of rhs */
        memcpy(u0, rhs, k * sizeof(double));
        if (churn__spd_factor(sub, k) != 0) {
            rc = churn__error(CHURN_ENUMERIC, "%s: the information matrix of the test is "
                              "singular", fn);
            goto done;
        }
        churn__spd_solve(sub, rhs, k);
        double st = 0;
        for (size_t a = 0; a < k; a++)
            st += rhs[a] * u0[a];
        double dfv = t < p ? 1.0 : (double)p;
        chisq[t] = st;
        if (df)
            df[t] = dfv;
        if (p_value)
            p_value[t] = churn__chisq_q(st, dfv);
    }
done:
    churn__free(ord);
    churn__free(mean);
    churn__free(wr);
    churn__free(S1);
    churn__free(D1);
    churn__free(u2);
    churn__free(M);
    churn__free(A);
    churn__free(info);
    churn__free(sub);
    churn__free(rhs);
    churn__free(sd2);
    churn__free(bg);
    churn__free(bh);
    churn__free(bge);
    return rc;
}
