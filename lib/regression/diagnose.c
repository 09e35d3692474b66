/*
 * Diagnoses of the unpenalised fit that say why the maximum-likelihood
 * estimate does not exist: collinear columns (a rank check of Z'WZ on the
 * first iteration) and complete or quasi-complete separation of the classes,
 * with messages that name the columns in the caller's units.
 *
 * Calls: design.c (row blocks, coordinate names), textbuf.c (the messages).
 */
#include "regression/regression_internal.h"

#include <cblas.h>

/* Collinearity: a column whose standardised variance not explained by the
 * previously pivoted columns falls below this is called dependent
 * (pivoted Cholesky of the correlation-scaled Z'WZ; LAPACK dpstrf). */
#define LOGIT_RANK_TOL 1e-10

/*
 * Collinearity diagnosis on Z'WZ (unpenalised fits, first iteration):
 * pivoted Cholesky (LAPACK dpstrf, Higham 2002 sec. 10.3) of the matrix
 * scaled to unit diagonal. Columns pivoted past the numerical rank are linear
 * combinations of the pivoted ones; solving the leading block for each gives
 * the relation, reported in the caller's units.
 */
int churn__logit_rank_check(const logit_design *d, const double *H, const char *const *names,
                            logit_ws *ws)
{
    size_t k = d->k;
    double *C = ws->C, *dg = ws->tmp;
    for (size_t i = 0; i < k; i++) {
        dg[i] = H[i * k + i] > 0 ? sqrt(H[i * k + i]) : 0;
        if (!(dg[i] > 0)) {
            /* a column with no information at all (all IRLS weights 0 where it varies) */
            return churn__error(CHURN_ENUMERIC, "churn_logit_fit: column '%s' carries no "
                                "information (X'WX has a zero diagonal entry)",
                                churn__logit_coord_name(d, names, i));
        }
    }
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++)
            C[i * k + j] = H[i * k + j] / (dg[i] * dg[j]);
    memcpy(ws->F, C, k * k * sizeof(double));
    int n = (int)k, rank = 0, info = 0;
    double tol = LOGIT_RANK_TOL;
    dpstrf_("U", &n, ws->F, &n, ws->piv, &rank, &tol, ws->tmp + k, &info, 1);
    if (info < 0)
        return churn__error(CHURN_ENUMERIC, "churn_logit_fit: pivoted Cholesky failed (%d)", info);
    if (rank >= n)
        return CHURN_OK;
    /* First dependent column and its relation to the leading `rank` pivots. */
    size_t r = (size_t)rank;
    size_t jd = (size_t)ws->piv[r] - 1;
    double *coef = ws->u;
    for (size_t i = 0; i < r; i++)
        coef[i] = C[((size_t)ws->piv[i] - 1) * k + jd];
    if (r > 0) {
        int nr = rank, one = 1;
        /* the factor of the leading block is the leading r x r part of F (lda = k) */
        dpotrs_("U", &nr, &one, ws->F, &n, coef, &n, &info, 1);
    }
    sbuf msg = {0};
    churn__sb_printf(&msg, "churn_logit_fit: collinear columns: ");
    /* z_jd/dg_jd = sum_i coef_i z_i/dg_i  ->  x_jd = sum_i a_i x_i + const */
    sbuf rel = {0};
    size_t ninv = 0;
    const char *jname = churn__logit_coord_name(d, names, jd);
    churn__sb_printf(&rel, "'%s' =", jname);
    int has_const = 0;
    for (size_t i = 0; i < r; i++) {
        if (!(fabs(coef[i]) > 1e-6))
            continue;
        size_t ji = (size_t)ws->piv[i] - 1;
        if (ji < d->off) {
            has_const = 1;
            continue;
        }
        double a = coef[i] * dg[jd] / dg[ji];
        if (jd >= d->off)
            a *= d->scale[jd - d->off] / d->scale[ji - d->off];
        const char *iname = churn__logit_coord_name(d, names, ji);
        churn__sb_printf(&rel, "%s %.6g*'%s'", ninv ? " +" : "", a, iname);
        churn__sb_printf(&msg, "%s'%s'", ninv ? ", " : "", iname);
        ninv++;
    }
    (void)has_const;
    churn__sb_printf(&msg, "%s'%s' are linearly dependent (%s + constant); X'WX has rank "
                     "%d of %d. Drop one of them, or fit with a penalty (e.g. L2)",
                     ninv ? " and " : "", jname, rel.s ? rel.s : "", rank, n);
    if (n - rank > 1)
        churn__sb_printf(&msg, " (%d further dependent column(s))", n - rank - 1);
    int rc = churn__error(CHURN_ENUMERIC, "%s", msg.oom ? "churn_logit_fit: collinear columns"
                                                         : msg.s);
    churn__free(msg.s);
    churn__free(rel.s);
    return rc;
}

/*
 * Separation test along a direction `dir` (the last Newton step, which in the
 * diverging regime is dominated by the recession direction: Albert &
 * Anderson 1984, Theorem 1 -- the MLE does not exist iff some d != 0 has
 * (2y_i - 1) z_i'd >= 0 for every row). Rows whose projection is below 1e-6 of
 * the largest one count as on the boundary (quasi-complete separation).
 */
int churn__logit_sep_test(const logit_design *d, const double *dir, logit_ws *ws,
                          size_t *nboundary)
{
    size_t k = d->k, B = ws->B, n = d->n;
    double maxabs = 0, worst = INFINITY;
    /* two sweeps: the scale first, then the signs */
    for (int sweep = 0; sweep < 2; sweep++) {
        size_t nb = 0;
        for (size_t i0 = 0; i0 < n; i0 += B) {
            size_t b = n - i0 < B ? n - i0 : B;
            churn__logit_fill_block(d, i0, b, 1, ws->Z);
            cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)b, (int)k, 1.0, ws->Z, (int)k, dir, 1,
                        0.0, ws->eta, 1);
            for (size_t t = 0; t < b; t++) {
                if (!(d->w[i0 + t] > 0))
                    continue;
                double s = ws->eta[t];
                if (sweep == 0) {
                    if (fabs(s) > maxabs)
                        maxabs = fabs(s);
                } else {
                    double signed_s = d->y[i0 + t] > 0.5 ? s : -s;
                    if (fabs(s) <= 1e-6 * maxabs)
                        nb++;
                    else if (signed_s < worst)
                        worst = signed_s;
                }
            }
        }
        if (sweep == 1)
            *nboundary = nb;
        if (!(maxabs > 0))
            return 0;
    }
    return worst > 0;
}

/* Does kept column c alone (with a threshold) separate the classes, at
 * least quasi-completely? True when every positive-weight value of one
 * class is <= every value of the other (per-class min and max). */
static int column_separates(const logit_design *d, size_t c)
{
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    size_t j = d->col[c];
    for (size_t i = 0; i < d->n; i++) {
        if (!(d->w[i] > 0))
            continue;
        int cls = d->y[i] == 1;
        double v = churn__logit_xat(d, i, j);
        if (v < lo[cls])
            lo[cls] = v;
        if (v > hi[cls])
            hi[cls] = v;
    }
    return hi[0] <= lo[1] || hi[1] <= lo[0];
}

int churn__logit_separation_error(const logit_design *d, const fit_spec *s, const double *dir,
                                  size_t nboundary, const char *const *names, logit_ws *ws,
                                  sbuf *note)
{
    double mx = 0;
    for (size_t j = d->off; j < d->k; j++)
        if (fabs(dir[j]) > mx)
            mx = fabs(dir[j]);
    sbuf m = {0};
    churn__sb_printf(&m, "%s separation: ", nboundary ? "quasi-complete" : "complete");
    /* Name the columns that separate on their own when there are any (the
     * recession direction of a complete separation is not unique and may mix
     * in unrelated columns); otherwise the columns of the direction found. */
    unsigned char *pick = churn__calloc(d->k ? d->k : 1, 1);
    if (!pick) {
        churn__free(m.s);
        return churn__nomem("a message");
    }
    size_t cnt = 0;
    for (size_t c = 0; c < d->nkept; c++)
        if (column_separates(d, c)) {
            pick[d->off + c] = 1;
            cnt++;
        }
    if (cnt == 0) {
        double *dd = ws->b;
        memcpy(dd, dir, d->k * sizeof(double));
        for (size_t j = d->off; j < d->k; j++)
            if (fabs(dir[j]) >= 1e-3 * mx && mx > 0) {
                pick[j] = 1;
                cnt++;
            } else {
                dd[j] = 0;
            }
        /* Greedy pruning, smallest component first: a column stays out when
         * the direction without it still separates with no more boundary rows. */
        for (size_t round = 0; round < d->k && cnt > 1; round++) {
            size_t jmin = d->k;
            for (size_t j = d->off; j < d->k; j++)
                if (pick[j] == 1 && (jmin == d->k || fabs(dd[j]) < fabs(dd[jmin])))
                    jmin = j;
            if (jmin == d->k)
                break;
            double keep = dd[jmin];
            dd[jmin] = 0;
            size_t nb = 0;
            if (churn__logit_sep_test(d, dd, ws, &nb) && nb <= nboundary) {
                pick[jmin] = 0;
                cnt--;
            } else {
                dd[jmin] = keep;
                pick[jmin] = 2; /* needed: not tried again */
            }
        }
    }
    size_t t = 0;
    churn__sb_printf(&m, "%s ", cnt > 1 ? "a combination of columns" : "column");
    for (size_t j = d->off; j < d->k; j++)
        if (pick[j]) {
            churn__sb_printf(&m, "%s'%s'", t == 0 ? "" : (t + 1 == cnt ? " and " : ", "),
                             churn__logit_coord_name(d, names, j));
            t++;
        }
    churn__free(pick);
    if (nboundary)
        churn__sb_printf(&m, " predicts the label perfectly except for %zu row(s) on the boundary",
                         nboundary);
    else
        churn__sb_printf(&m, " predicts the label perfectly");
    churn__sb_printf(&m, ", so the maximum-likelihood coefficients are infinite; drop or coarsen "
                         "these columns, or fit with a penalty (e.g. L2)");
    int rc;
    if (m.oom) {
        rc = churn__nomem("a message");
    } else if (s->separation == CHURN_LOGIT_SEPARATION_NOTE && note) {
        churn__sb_printf(note, "%s%s", note->len ? "; " : "", m.s);
        rc = note->oom ? churn__nomem("the model note") : CHURN_OK;
    } else {
        rc = churn__error(CHURN_ESEPARATION, "churn_logit_fit: %s", m.s);
    }
    churn__free(m.s);
    return rc;
}
