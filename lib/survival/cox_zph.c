/*
 * The proportional-hazards test of a fitted Cox model (churn_cox_zph):
 * Grambsch & Therneau (1994), as R survival >= 3.0 computes it (cox.zph with
 * the Kaplan-Meier time transform), per feature and global.
 *
 * Calls: cox.c (the Efron/Breslow tie terms), surv_common.c (input checks,
 * row order, chi-square tail) and core/ (Cholesky factor and solve).
 */
#include "survival/survival_internal.h"

/* The data, the fitted model's coefficients and options, and the work
 * buffers of one test. */
typedef struct zph_work {
    size_t n, p, q, nbk;   /* rows, features, 2 p, event times */
    const double *x, *duration, *event, *weights, *b;
    int efron, scale;      /* tie method and penalty scaling of the fit */
    double theta;          /* ridge penalty of the fit */
    uint32_t *ord;         /* rows by increasing duration */
    double *mean, *wr;     /* weighted feature means, weighted risks */
    double *S1, *D1, *u2;  /* risk-set and death sums (p), the score of g(t) x (p) */
    double *M, *A;         /* Gram parts and risk-set mean parts, g^0, g^1, g^2 (3 p x p) */
    double *info, *sub;    /* the information (q x q) and one test's block of it */
    double *rhs, *sd2;     /* q of scratch, sample variances for the penalty */
    double *bg, *bh, *bge; /* per event time: g, hazard h, Efron part ge */
} zph_work;

/* The model and the inputs; the tie method and penalty of the fit into z. */
static int zph_check(zph_work *z, const churn_model *m, const char *fn, double *chisq)
{
    int rc = churn__model_check(m, fn, 1, CHURN_FAMILY_COX);
    if (rc)
        return rc;
    if (!chisq)
        return churn__error(CHURN_EINVAL, "%s: chisq is NULL", fn);
    size_t p = m->nfeatures;
    if (p == 0 || m->nparams != p)
        return churn__error(CHURN_EFORMAT, "%s: the Cox model has no features", fn);
    if ((rc = churn__surv_check(fn, z->n, z->duration, z->event, z->weights, 0, NULL)) ||
        (rc = churn__surv_check_x(fn, z->n, p, z->x, m)))
        return rc;
    size_t len = 0;
    const double *tie = churn__model_array(m, "ties", &len);
    z->efron = !(tie && len >= 1 && tie[0] == CHURN_TIES_BRESLOW);
    const double *penal = churn__model_array(m, "l2_penalty", &len);
    z->theta = (penal && len >= 2) ? penal[0] : 0;
    z->scale = (penal && len >= 2) ? penal[1] != 0 : 0;
    z->b = m->params;
    z->p = p;
    z->q = 2 * p;
    return CHURN_OK;
}

static int zph_alloc(zph_work *z)
{
    size_t n = z->n, p = z->p, q = z->q;
    z->ord = churn__malloc(churn__mul_size(n, sizeof(uint32_t)));
    z->mean = churn__calloc(p, sizeof(double));
    z->wr = churn__malloc(n * sizeof(double));
    z->S1 = churn__malloc(p * sizeof(double));
    z->D1 = churn__malloc(p * sizeof(double));
    z->u2 = churn__calloc(p, sizeof(double));
    z->M = churn__calloc(3 * p * p, sizeof(double));
    z->A = churn__calloc(3 * p * p, sizeof(double));
    z->info = churn__malloc(q * q * sizeof(double));
    z->sub = churn__malloc(q * q * sizeof(double));
    z->rhs = churn__malloc(q * sizeof(double));
    z->sd2 = churn__calloc(p, sizeof(double));
    /* per event time (at most n): g, cumulative g^m h sums, Efron g parts */
    z->bg = churn__malloc(n * sizeof(double));
    z->bh = churn__malloc(n * sizeof(double));
    z->bge = churn__malloc(n * sizeof(double));
    if (!z->ord || !z->mean || !z->wr || !z->S1 || !z->D1 || !z->u2 || !z->M || !z->A ||
        !z->info || !z->sub || !z->rhs || !z->sd2 || !z->bg || !z->bh || !z->bge)
        return churn__nomem("the proportional-hazards test");
    return CHURN_OK;
}

static void zph_free(zph_work *z)
{
    churn__free(z->ord);
    churn__free(z->mean);
    churn__free(z->wr);
    churn__free(z->S1);
    churn__free(z->D1);
    churn__free(z->u2);
    churn__free(z->M);
    churn__free(z->A);
    churn__free(z->info);
    churn__free(z->sub);
    churn__free(z->rhs);
    churn__free(z->sd2);
    churn__free(z->bg);
    churn__free(z->bh);
    churn__free(z->bge);
}

/* Weighted feature means and the weighted risks w exp((x - mean)'b). */
static void zph_risks(zph_work *z)
{
    size_t n = z->n, p = z->p;
    const double *x = z->x, *weights = z->weights, *b = z->b;
    double *mean = z->mean;
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
        z->wr[i] = (weights ? weights[i] : 1.0) * exp(e);
    }
}

/* g at each distinct event time, increasing: unweighted KM just before t
 * (R: survfitKM without weights, findInterval(left.open = TRUE)), centred
 * over the events. Sets nbk. */
static void zph_transform(zph_work *z)
{
    size_t n = z->n;
    const double *duration = z->duration, *event = z->event;
    const uint32_t *ord = z->ord;
    double *bg = z->bg;
    size_t nbk = 0, nev_rows = 0;
    double gsum = 0;
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
    for (size_t e = 0; e < nbk; e++)
        bg[e] -= gsum / (double)nev_rows;
    z->nbk = nbk;
}

/* Backward pass (latest time first): risk-set sums, the score U_t of each
 * event time into u2 (weighted by g), the hazard parts bh, bge and the
 * risk-set mean parts A. */
static void zph_backward(zph_work *z)
{
    size_t n = z->n, p = z->p;
    const double *x = z->x, *duration = z->duration, *event = z->event;
    const double *weights = z->weights, *mean = z->mean, *wr = z->wr;
    const uint32_t *ord = z->ord;
    double *S1 = z->S1, *D1 = z->D1, *A = z->A;
    double S0 = 0;
    memset(S1, 0, p * sizeof(double));
    size_t e = z->nbk, k = n;
    while (k > 0) {
        size_t k0 = k;
        double t = duration[ord[k - 1]];
        double D0 = 0, dw = 0;
        size_t dn = 0;
        memset(D1, 0, p * sizeof(double));
        double *U = z->rhs; /* sum of w (x - mean) over the deaths */
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
        double tt[5];
        churn__cox_tie_sums(!z->efron, dn, dw, S0, D0, tt);
        double h = tt[0], ge = tt[1], al = tt[2], be = tt[3], ga = tt[4];
        double g = z->bg[e];
        z->bh[e] = h;
        z->bge[e] = ge;
        for (size_t j = 0; j < p; j++)
            z->u2[j] += g * (U[j] - (h * S1[j] - ge * D1[j]));
        double gm = 1;
        for (int pw = 0; pw < 3; pw++, gm *= g)
            for (size_t a = 0; a < p; a++)
                for (size_t c = 0; c < p; c++)
                    A[pw * p * p + a * p + c] +=
                        gm * (al * S1[a] * S1[c] - be * (S1[a] * D1[c] + D1[a] * S1[c]) +
                              ga * D1[a] * D1[c]);
    }
}

/* Forward pass: the Gram parts M (lower triangles) with
 * c^(m)_i = sum_{event times <= T_i} g^m h - [death] g(T_i)^m ge(T_i). */
static void zph_forward(zph_work *z)
{
    size_t n = z->n, p = z->p;
    const double *x = z->x, *duration = z->duration, *event = z->event;
    const double *mean = z->mean, *wr = z->wr;
    const uint32_t *ord = z->ord;
    double H[3] = {0, 0, 0};
    size_t e = 0, k = 0;
    double *xc = z->rhs;
    while (k < n) {
        size_t k2 = k;
        double t = duration[ord[k]];
        size_t dn = 0;
        while (k2 < n && duration[ord[k2]] == t)
            dn += event[ord[k2++]] != 0;
        double g = 0, ge = 0;
        if (dn) {
            g = z->bg[e];
            ge = z->bge[e];
            H[0] += z->bh[e];
            H[1] += g * z->bh[e];
            H[2] += g * g * z->bh[e];
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
                double *Mp = z->M + pw * p * p;
                for (size_t a = 0; a < p; a++)
                    for (size_t cc = 0; cc <= a; cc++)
                        Mp[a * p + cc] += f * xc[a] * xc[cc];
            }
        }
        k = k2;
    }
}

/* The information I = [[sum V_t, sum g_t V_t], [sum g_t V_t, sum g_t^2 V_t]]
 * (q x q) from the Gram and mean parts, with the fit's ridge penalty. */
static void zph_information(zph_work *z)
{
    size_t n = z->n, p = z->p, q = z->q;
    const double *x = z->x;
    double *sd2 = z->sd2;
    if (z->theta > 0 && z->scale) {
        double *mu = z->rhs;
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
            double v = z->M[pw * p * p + lo * p + hi] - z->A[pw * p * p + aa * p + cc];
            if (a == c && z->theta > 0) /* R adds the penalty to both diagonal blocks */
                v += z->theta * (z->scale ? sd2[aa] : 1.0);
            z->info[a * q + c] = z->info[c * q + a] = v;
        }
}

/* The score statistics u' I^-1 u: per feature (1 df), then global (p df). */
static int zph_tests(zph_work *z, const char *fn, double *chisq, double *df, double *p_value)
{
    size_t p = z->p, q = z->q;
    double *rhs = z->rhs, *sub = z->sub;
    for (size_t t = 0; t <= p; t++) {
        size_t k = t < p ? p + 1 : q;
        for (size_t a = 0; a < k; a++) {
            size_t ia = (t < p && a == p) ? p + t : a;
            rhs[a] = ia >= p ? z->u2[ia - p] : 0;
            for (size_t c = 0; c < k; c++) {
                size_t ic = (t < p && c == p) ? p + t : c;
                sub[a * k + c] = z->info[ia * q + ic];
            }
        }
        double *u0 = z->bh; /* reuse as a copy of rhs */
        memcpy(u0, rhs, k * sizeof(double));
        if (churn__chol(sub, k, CHURN__SURV_CHOL_TOL) != 0)
            return churn__error(CHURN_ENUMERIC, "%s: the information matrix of the test is "
                                "singular", fn);
        churn__chol_solve(sub, rhs, k);
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
    return CHURN_OK;
}

/* Grambsch & Therneau (1994), as R survival >= 3.0 computes it: the score
 * test, at (b_hat, 0), for adding x * g(t) to the model, g = the
 * Kaplan-Meier transform 1 - S(t-) centred over the events. With V_t and
 * U_t the information and score contributions of event time t:
 *   u = (0, sum_t g_t U_t),
 *   I = [[sum V_t, sum g_t V_t], [sum g_t V_t, sum g_t^2 V_t]].
 * The V_t sums use the Gram rewriting of cox.c's cox_eval, once per power of
 * g. */
CHURN_API int churn_cox_zph(const churn_model *m, size_t n, const double *x,
                            const double *duration, const double *event, const double *weights,
                            double *chisq, double *df, double *p_value)
{
    churn__ok();
    static const char fn[] = "churn_cox_zph";
    zph_work z = {.n = n, .x = x, .duration = duration, .event = event, .weights = weights};
    int rc = zph_check(&z, m, fn, chisq);
    if (rc)
        return rc;
    rc = zph_alloc(&z);
    if (!rc)
        rc = churn__sort_order(n, duration, z.ord);
    if (!rc) {
        zph_risks(&z);
        zph_transform(&z);
        zph_backward(&z);
        zph_forward(&z);
        zph_information(&z);
        rc = zph_tests(&z, fn, chisq, df, p_value);
    }
    zph_free(&z);
    return rc;
}
