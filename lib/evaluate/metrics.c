/*
 * Evaluation metrics: classification metrics for churn scores, the
 * time-dependent AUC for survival models, BTYD holdout checks, and the
 * time-split comparison of several models (see include/churn/metrics.h).
 */
#include "core/internal.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>


/* ---- input validation ------------------------------------------------------ */

/* Check the common (value, label, weight) triple of the classification metrics.
 * `what` names the value array in messages ("score" or "prob"); probabilities
 * must lie in [0, 1]. Returns the total weight and the label-1 weight. */
static int check_scored(const char *fn, size_t n, const double *value, const char *what,
                        int is_prob, const double *label, const double *weight, double *w_total,
                        double *w_pos)
{
    if (!value || !label)
        return churn__error(CHURN_EINVAL, "%s: '%s' or 'label' is NULL", fn, what);
    if (n == 0)
        return churn__error(CHURN_EINVAL, "%s: empty input (n = 0)", fn);
    double wt = 0.0, wp = 0.0;
    for (size_t i = 0; i < n; i++) {
        double v = value[i], y = label[i];
        if (!churn__finite(v))
            return churn__error(CHURN_EINVAL, "%s: row %zu, '%s' is %s", fn, i, what,
                                isnan(v) ? "NaN" : "infinite");
        if (is_prob && (v < 0.0 || v > 1.0))
            return churn__error(CHURN_EINVAL, "%s: row %zu, '%s' is %.17g, outside [0, 1]", fn,
                                i, what, v);
        if (y != 0.0 && y != 1.0)
            return churn__error(CHURN_EINVAL, "%s: row %zu, 'label' is %.17g (must be 0 or 1)",
                                fn, i, y);
        double w = 1.0;
        if (weight) {
            w = weight[i];
            if (!churn__finite(w) || w < 0.0)
                return churn__error(CHURN_EINVAL, "%s: row %zu, 'weight' is %.17g (must be "
                                    "finite and >= 0)", fn, i, w);
        }
        wt += w;
        wp += w * y;
    }
    if (!(wt > 0.0))
        return churn__error(CHURN_EINVAL, "%s: all weights are 0", fn);
    if (!churn__finite(wt))
        return churn__error(CHURN_EINVAL, "%s: the weights sum to infinity", fn);
    *w_total = wt;
    *w_pos = wp;
    return CHURN_OK;
}

/* ---- sorted rows and tied blocks --------------------------------------------- */

typedef struct scored_row {
    double s;    /* score / probability / marker */
    double w;    /* weight */
    double wy;   /* weight if label 1, else 0 */
} scored_row;

static int cmp_score_asc(const void *a, const void *b)
{
    double x = ((const scored_row *)a)->s, y = ((const scored_row *)b)->s;
    return (x > y) - (x < y);
}

/* Rows sorted by increasing value. */
static int sorted_rows(size_t n, const double *value, const double *label,
                       const double *weight, scored_row **out)
{
    scored_row *r = churn__malloc(churn__mul_size(n, sizeof *r));
    if (!r)
        return churn__nomem("the sorted rows");
    for (size_t i = 0; i < n; i++) {
        r[i].s = value[i];
        r[i].w = weight ? weight[i] : 1.0;
        r[i].wy = label[i] == 1.0 ? r[i].w : 0.0;
    }
    qsort(r, n, sizeof *r, cmp_score_asc);
    *out = r;
    return CHURN_OK;
}

/* Distribute rows, already ordered (ascending, or descending when `desc`),
 * over `nbins` bins of equal weight. A block of tied values that straddles a
 * boundary is split in proportion to the weight on each side: the expected
 * bin contents under a random order of the tied rows, independent of the
 * input order. Per bin: weight, label-1 weight, weighted sum of values,
 * smallest and largest value. Zero-weight rows occupy no room. */
static void equal_weight_bins(const scored_row *r, size_t n, int desc, size_t nbins,
                              double *bw, double *bp, double *bsum, double *bmin, double *bmax)
{
    double wtot = 0.0;
    for (size_t j = 0; j < n; j++)
        wtot += r[desc ? n - 1 - j : j].w;
    for (size_t k = 0; k < nbins; k++) {
        bw[k] = bp[k] = bsum[k] = 0.0;
        bmin[k] = INFINITY;
        bmax[k] = -INFINITY;
    }
    size_t k = 0;
    double c = 0.0; /* cumulative weight before the block, summed in the same order as wtot */
    size_t j = 0;
    while (j < n) {
        const scored_row *first = &r[desc ? n - 1 - j : j];
        double s = first->s, start = c, pb = 0.0;
        while (j < n && r[desc ? n - 1 - j : j].s == s) {
            const scored_row *x = &r[desc ? n - 1 - j : j];
            c += x->w;
            pb += x->wy;
            j++;
        }
        double end = c, wb = end - start, pos = start;
        if (!(wb > 0.0))
            continue;
        while (pos < end) {
            double edge = (k + 1 >= nbins) ? wtot : wtot * (double)(k + 1) / (double)nbins;
            double stop = end < edge ? end : edge;
            double take = stop - pos;
            if (take > 0.0) {
                bw[k] += take;
                bp[k] += pb * (take / wb);
                bsum[k] += s * take;
                if (s < bmin[k])
                    bmin[k] = s;
                if (s > bmax[k])
                    bmax[k] = s;
            }
            if (end > edge && k + 1 < nbins) {
                pos = edge;
                k++;
            } else {
                pos = end;
            }
        }
    }
}

/* ---- classification metrics ---------------------------------------------------- */

CHURN_API int churn_metrics_roc_auc(size_t n, const double *score, const double *label,
                                    const double *weight, double *auc)
{
    static const char fn[] = "churn_metrics_roc_auc";
    churn__ok();
    if (!auc)
        return churn__error(CHURN_EINVAL, "%s: 'auc' is NULL", fn);
    double wt, wp;
    int rc = check_scored(fn, n, score, "score", 0, label, weight, &wt, &wp);
    if (rc)
        return rc;
    scored_row *r = NULL;
    if ((rc = sorted_rows(n, score, label, weight, &r)))
        return rc;
    /* Mann-Whitney U over (label 1, label 0) pairs, ties 1/2 (Hanley & McNeil
     * 1982): walking up the sorted scores, each block's label-1 weight beats
     * all label-0 weight below it and ties with the label-0 weight inside it. */
    double neg_below = 0.0, num = 0.0, wpos = 0.0, wneg = 0.0;
    for (size_t j = 0; j < n;) {
        double s = r[j].s, pb = 0.0, nb = 0.0;
        for (; j < n && r[j].s == s; j++) {
            pb += r[j].wy;
            nb += r[j].w - r[j].wy;
        }
        num += pb * (neg_below + 0.5 * nb);
        neg_below += nb;
        wpos += pb;
        wneg += nb;
    }
    churn__free(r);
    if (!(wpos > 0.0) || !(wneg > 0.0))
        return churn__error(CHURN_EINVAL, "%s: only one class present (label-1 weight %g, "
                            "label-0 weight %g): the AUC is undefined", fn, wpos, wneg);
    *auc = num / wpos / wneg;
    return CHURN_OK;
}

CHURN_API int churn_metrics_log_loss(size_t n, const double *prob, const double *label,
                                     const double *weight, double *log_loss)
{
    static const char fn[] = "churn_metrics_log_loss";
    churn__ok();
    if (!log_loss)
        return churn__error(CHURN_EINVAL, "%s: 'log_loss' is NULL", fn);
    double wt, wp;
    int rc = check_scored(fn, n, prob, "prob", 1, label, weight, &wt, &wp);
    if (rc)
        return rc;
    const double eps = CHURN_METRICS_LOG_LOSS_EPS;
    double sum = 0.0, wsum = 0.0;
    for (size_t i = 0; i < n; i++) {
        double p = prob[i];
        p = p < eps ? eps : (p > 1.0 - eps ? 1.0 - eps : p);
        double w = weight ? weight[i] : 1.0;
        double l = label[i] == 1.0 ? -log(p) : -log1p(-p);
        sum += w * l;
        wsum += w;
    }
    *log_loss = sum / wsum;
    return CHURN_OK;
}

CHURN_API int churn_metrics_brier(size_t n, const double *prob, const double *label,
                                  const double *weight, double *brier)
{
    static const char fn[] = "churn_metrics_brier";
    churn__ok();
    if (!brier)
        return churn__error(CHURN_EINVAL, "%s: 'brier' is NULL", fn);
    double wt, wp;
    int rc = check_scored(fn, n, prob, "prob", 1, label, weight, &wt, &wp);
    if (rc)
        return rc;
    double sum = 0.0, wsum = 0.0;
    for (size_t i = 0; i < n; i++) {
        double w = weight ? weight[i] : 1.0, d = prob[i] - label[i];
        sum += w * d * d;
        wsum += w;
    }
    *brier = sum / wsum;
    return CHURN_OK;
}

CHURN_API int churn_metrics_precision_recall_at_k(size_t n, const double *score,
                                                  const double *label, const double *weight,
                                                  size_t k, double *precision, double *recall)
{
    static const char fn[] = "churn_metrics_precision_recall_at_k";
    churn__ok();
    double wt, wp;
    int rc = check_scored(fn, n, score, "score", 0, label, weight, &wt, &wp);
    if (rc)
        return rc;
    if (k < 1 || k > n)
        return churn__error(CHURN_EINVAL, "%s: k = %zu is outside 1..n = %zu", fn, k, n);
    if (recall && !(wp > 0.0))
        return churn__error(CHURN_EINVAL, "%s: no label-1 rows: the recall is undefined", fn);
    scored_row *r = NULL;
    if ((rc = sorted_rows(n, score, label, weight, &r)))
        return rc;
    /* Walk down from the top score; the block that crosses row k contributes
     * the fraction of its rows that lies inside the top k. */
    size_t taken = 0;
    double w_in = 0.0, p_in = 0.0;
    for (size_t j = 0; j < n && taken < k;) {
        double s = r[n - 1 - j].s, wb = 0.0, pb = 0.0;
        size_t rows = 0;
        for (; j < n && r[n - 1 - j].s == s; j++, rows++) {
            wb += r[n - 1 - j].w;
            pb += r[n - 1 - j].wy;
        }
        double frac = (taken + rows <= k) ? 1.0 : (double)(k - taken) / (double)rows;
        w_in += frac * wb;
        p_in += frac * pb;
        taken += rows;
    }
    churn__free(r);
    if (precision) {
        if (!(w_in > 0.0))
            return churn__error(CHURN_EINVAL, "%s: the top %zu rows all have weight 0: the "
                                "precision is undefined", fn, k);
        *precision = p_in / w_in;
    }
    if (recall)
        *recall = p_in / wp;
    return CHURN_OK;
}

CHURN_API int churn_metrics_lift_table(size_t n, const double *score, const double *label,
                                       const double *weight, size_t nbins, double *bin_weight,
                                       double *positives, double *rate, double *lift,
                                       double *cumulative_gain, double *cumulative_lift)
{
    static const char fn[] = "churn_metrics_lift_table";
    churn__ok();
    double wt, wp;
    int rc = check_scored(fn, n, score, "score", 0, label, weight, &wt, &wp);
    if (rc)
        return rc;
    if (nbins < 1 || nbins > n)
        return churn__error(CHURN_EINVAL, "%s: nbins = %zu is outside 1..n = %zu", fn, nbins, n);
    if (!(wp > 0.0))
        return churn__error(CHURN_EINVAL, "%s: no label-1 rows: the lift is undefined", fn);
    scored_row *r = NULL;
    if ((rc = sorted_rows(n, score, label, weight, &r)))
        return rc;
    double *work = churn__malloc(churn__mul_size(nbins, 5 * sizeof(double)));
    if (!work) {
        churn__free(r);
        return churn__nomem("the lift table");
    }
    double *bw = work, *bp = work + nbins, *bs = work + 2 * nbins, *bmin = work + 3 * nbins,
           *bmax = work + 4 * nbins;
    equal_weight_bins(r, n, 1, nbins, bw, bp, bs, bmin, bmax);
    churn__free(r);
    double base = wp / wt, cum = 0.0;
    for (size_t k = 0; k < nbins; k++) {
        double rt = bw[k] > 0.0 ? bp[k] / bw[k] : 0.0;
        cum += bp[k];
        if (bin_weight)
            bin_weight[k] = bw[k];
        if (positives)
            positives[k] = bp[k];
        if (rate)
            rate[k] = rt;
        if (lift)
            lift[k] = rt / base;
        double gain = k + 1 == nbins ? 1.0 : cum / wp;
        if (cumulative_gain)
            cumulative_gain[k] = gain;
        if (cumulative_lift)
            cumulative_lift[k] = gain * (double)nbins / (double)(k + 1);
    }
    churn__free(work);
    return CHURN_OK;
}

CHURN_API int churn_metrics_calibration(size_t n, const double *prob, const double *label,
                                        const double *weight, size_t nbins, int binning,
                                        double *lower, double *upper, double *bin_weight,
                                        double *mean_predicted, double *observed, double *ece)
{
    static const char fn[] = "churn_metrics_calibration";
    churn__ok();
    double wt, wp;
    int rc = check_scored(fn, n, prob, "prob", 1, label, weight, &wt, &wp);
    if (rc)
        return rc;
    if (binning != CHURN_CALIBRATION_UNIFORM && binning != CHURN_CALIBRATION_QUANTILE)
        return churn__error(CHURN_EINVAL, "%s: binning = %d is neither "
                            "CHURN_CALIBRATION_UNIFORM nor CHURN_CALIBRATION_QUANTILE", fn,
                            binning);
    if (nbins < 1 || (binning == CHURN_CALIBRATION_QUANTILE && nbins > n))
        return churn__error(CHURN_EINVAL, "%s: nbins = %zu is outside 1..%s", fn, nbins,
                            binning == CHURN_CALIBRATION_QUANTILE ? "n" : "any");
    double *work = churn__malloc(churn__mul_size(nbins, 5 * sizeof(double)));
    if (!work)
        return churn__nomem("the calibration table");
    double *bw = work, *bp = work + nbins, *bs = work + 2 * nbins, *lo = work + 3 * nbins,
           *hi = work + 4 * nbins;
    if (binning == CHURN_CALIBRATION_UNIFORM) {
        /* Edges k * (1/nbins) as numpy.linspace computes them; a value equal to
         * an inner edge goes to the lower bin (numpy.searchsorted side='left'),
         * so the bins match scikit-learn's calibration_curve(strategy="uniform"). */
        double step = 1.0 / (double)nbins;
        for (size_t k = 0; k < nbins; k++) {
            bw[k] = bp[k] = bs[k] = 0.0;
            lo[k] = (double)k * step;
            hi[k] = k + 1 == nbins ? 1.0 : (double)(k + 1) * step;
        }
        for (size_t i = 0; i < n; i++) {
            double p = prob[i], w = weight ? weight[i] : 1.0;
            /* number of inner edges strictly below p */
            size_t a = 0, b = nbins - 1;
            while (a < b) {
                size_t mid = a + (b - a) / 2;
                if ((double)(mid + 1) * step < p)
                    a = mid + 1;
                else
                    b = mid;
            }
            bw[a] += w;
            bp[a] += w * label[i];
            bs[a] += w * p;
        }
    } else {
        scored_row *r = NULL;
        if ((rc = sorted_rows(n, prob, label, weight, &r))) {
            churn__free(work);
            return rc;
        }
        equal_weight_bins(r, n, 0, nbins, bw, bp, bs, lo, hi);
        churn__free(r);
    }
    double e = 0.0;
    for (size_t k = 0; k < nbins; k++) {
        double mp = NAN, ob = NAN;
        if (bw[k] > 0.0) {
            mp = bs[k] / bw[k];
            ob = bp[k] / bw[k];
            e += bw[k] / wt * fabs(mp - ob);
        }
        if (lower)
            lower[k] = lo[k];
        if (upper)
            upper[k] = hi[k];
        if (bin_weight)
            bin_weight[k] = bw[k];
        if (mean_predicted)
            mean_predicted[k] = mp;
        if (observed)
            observed[k] = ob;
    }
    if (ece)
        *ece = e;
    churn__free(work);
    return CHURN_OK;
}

/* ---- time-dependent AUC ------------------------------------------------------------ */

typedef struct surv_row {
    double t;     /* duration */
    double d;     /* event 0/1 */
    double m;     /* marker */
    double w;     /* weight */
} surv_row;

static int cmp_time_asc(const void *a, const void *b)
{
    double x = ((const surv_row *)a)->t, y = ((const surv_row *)b)->t;
    return (x > y) - (x < y);
}

typedef struct marker_w {
    double m, w;
} marker_w;

static int cmp_marker_asc(const void *a, const void *b)
{
    double x = ((const marker_w *)a)->m, y = ((const marker_w *)b)->m;
    return (x > y) - (x < y);
}

CHURN_API int churn_metrics_time_auc(size_t n, const double *duration, const double *event,
                                     const double *marker, const double *weight, double horizon,
                                     double *auc)
{
    static const char fn[] = "churn_metrics_time_auc";
    churn__ok();
    if (!duration || !event || !marker || !auc)
        return churn__error(CHURN_EINVAL, "%s: 'duration', 'event', 'marker' or 'auc' is NULL",
                            fn);
    if (n == 0)
        return churn__error(CHURN_EINVAL, "%s: empty input (n = 0)", fn);
    if (!churn__finite(horizon) || !(horizon > 0.0))
        return churn__error(CHURN_EINVAL, "%s: 'horizon' is %g (must be finite and > 0)", fn,
                            horizon);
    size_t ncase = 0, nctrl = 0;
    for (size_t i = 0; i < n; i++) {
        if (!churn__finite(duration[i]) || duration[i] < 0.0)
            return churn__error(CHURN_EINVAL, "%s: row %zu, 'duration' is %.17g (must be finite "
                                "and >= 0)", fn, i, duration[i]);
        if (event[i] != 0.0 && event[i] != 1.0)
            return churn__error(CHURN_EINVAL, "%s: row %zu, 'event' is %.17g (must be 0 or 1)",
                                fn, i, event[i]);
        if (!churn__finite(marker[i]))
            return churn__error(CHURN_EINVAL, "%s: row %zu, 'marker' is %s", fn, i,
                                isnan(marker[i]) ? "NaN" : "infinite");
        double w = weight ? weight[i] : 1.0;
        if (!churn__finite(w) || w < 0.0)
            return churn__error(CHURN_EINVAL, "%s: row %zu, 'weight' is %.17g (must be finite "
                                "and >= 0)", fn, i, w);
        if (w > 0.0 && duration[i] <= horizon && event[i] == 1.0)
            ncase++;
        else if (w > 0.0 && duration[i] > horizon)
            nctrl++;
    }
    if (ncase == 0 || nctrl == 0)
        return churn__error(CHURN_EINVAL, "%s: at horizon %g there are %zu cases (event by the "
                            "horizon) and %zu controls (still at risk after it); both are "
                            "needed", fn, horizon, ncase, nctrl);
    surv_row *r = churn__malloc(churn__mul_size(n, sizeof *r));
    marker_w *ctrl = churn__malloc(churn__mul_size(nctrl, sizeof *ctrl));
    double *cum = churn__malloc(churn__mul_size(nctrl + 1, sizeof *cum));
    if (!r || !ctrl || !cum) {
        churn__free(r);
        churn__free(ctrl);
        churn__free(cum);
        return churn__nomem("the time-dependent AUC work arrays");
    }
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        r[i].t = duration[i];
        r[i].d = event[i];
        r[i].m = marker[i];
        r[i].w = weight ? weight[i] : 1.0;
        if (r[i].w > 0.0 && duration[i] > horizon) {
            ctrl[c].m = marker[i];
            ctrl[c].w = r[i].w;
            c++;
        }
    }
    qsort(r, n, sizeof *r, cmp_time_asc);
    qsort(ctrl, nctrl, sizeof *ctrl, cmp_marker_asc);
    cum[0] = 0.0;
    for (size_t j = 0; j < nctrl; j++)
        cum[j + 1] = cum[j] + ctrl[j].w;
    double w_ctrl = cum[nctrl];

    double at_risk = 0.0;
    for (size_t i = 0; i < n; i++)
        at_risk += r[i].w;
    /* Kaplan-Meier of the censoring distribution, G(s) = Π_{u ≤ s} (1 − c_u / r_u):
     * censorings are the "events", everyone with duration ≥ u is at risk. A case
     * at time u is weighted by 1 / G(u−), the value before u's own step. */
    double G = 1.0, num = 0.0, den = 0.0;
    for (size_t j = 0; j < n && r[j].t <= horizon;) {
        double u = r[j].t, cens = 0.0, leaving = 0.0;
        size_t k = j;
        for (; k < n && r[k].t == u; k++) {
            leaving += r[k].w;
            if (r[k].d == 0.0)
                cens += r[k].w;
        }
        for (size_t q = j; q < k; q++) {
            if (r[q].d != 1.0 || !(r[q].w > 0.0))
                continue;
            double wc = r[q].w / G;
            /* controls with a lower marker, and tied ones (1/2) */
            size_t a = 0, b = nctrl;
            while (a < b) {
                size_t mid = a + (b - a) / 2;
                if (ctrl[mid].m < r[q].m)
                    a = mid + 1;
                else
                    b = mid;
            }
            size_t lo = a;
            b = nctrl;
            while (a < b) {
                size_t mid = a + (b - a) / 2;
                if (ctrl[mid].m <= r[q].m)
                    a = mid + 1;
                else
                    b = mid;
            }
            num += wc * (cum[lo] + 0.5 * (cum[a] - cum[lo]));
            den += wc * w_ctrl;
        }
        if (at_risk > 0.0)
            G *= 1.0 - cens / at_risk;
        at_risk -= leaving;
        j = k;
    }
    churn__free(r);
    churn__free(ctrl);
    churn__free(cum);
    if (!(den > 0.0) || !churn__finite(num / den))
        return churn__error(CHURN_ENUMERIC, "%s: the censoring weights are not finite at horizon "
                            "%g", fn, horizon);
    *auc = num / den;
    return CHURN_OK;
}

/* ---- BTYD holdout checks ----------------------------------------------------------- */

CHURN_API int churn_metrics_holdout_by_frequency(const churn_model *model, double holdout_length,
                                                 size_t n, const double *frequency,
                                                 const double *recency, const double *T,
                                                 const double *actual, size_t max_frequency,
                                                 double *customers, double *mean_actual,
                                                 double *mean_expected, double *mae)
{
    static const char fn[] = "churn_metrics_holdout_by_frequency";
    churn__ok();
    if (!model || !frequency || !recency || !T || !actual)
        return churn__error(CHURN_EINVAL, "%s: NULL model or input array", fn);
    int rc = churn__model_check(model, fn, 4, CHURN_FAMILY_BGNBD, CHURN_FAMILY_MBGNBD,
                                CHURN_FAMILY_PNBD, CHURN_FAMILY_BGBB);
    if (rc)
        return rc;
    if (n == 0)
        return churn__error(CHURN_EINVAL, "%s: empty input (n = 0)", fn);
    if (!churn__finite(holdout_length) || !(holdout_length > 0.0))
        return churn__error(CHURN_EINVAL, "%s: 'holdout_length' is %g (must be finite and > 0)",
                            fn, holdout_length);
    if (max_frequency > 100000)
        return churn__error(CHURN_EINVAL, "%s: 'max_frequency' %zu is too large", fn,
                            max_frequency);
    for (size_t i = 0; i < n; i++)
        if (!churn__finite(actual[i]) || actual[i] < 0.0)
            return churn__error(CHURN_EINVAL, "%s: row %zu, 'actual' is %.17g (must be finite "
                                "and >= 0)", fn, i, actual[i]);
    size_t nb = max_frequency + 1;
    double *expected = churn__malloc(churn__mul_size(n, sizeof *expected));
    double *acc = churn__calloc(nb, 3 * sizeof *acc);
    if (!expected || !acc) {
        churn__free(expected);
        churn__free(acc);
        return churn__nomem("the holdout table");
    }
    /* validates frequency/recency/T and names the bad row */
    rc = churn_btyd_expected_purchases(model, holdout_length, n, frequency, recency, T, expected);
    if (rc) {
        churn__free(expected);
        churn__free(acc);
        return rc;
    }
    double abs_err = 0.0;
    for (size_t i = 0; i < n; i++) {
        double x = floor(frequency[i]);
        size_t b = x >= (double)max_frequency ? max_frequency : (size_t)x;
        acc[3 * b] += 1.0;
        acc[3 * b + 1] += actual[i];
        acc[3 * b + 2] += expected[i];
        abs_err += fabs(expected[i] - actual[i]);
    }
    for (size_t b = 0; b < nb; b++) {
        double cnt = acc[3 * b];
        if (customers)
            customers[b] = cnt;
        if (mean_actual)
            mean_actual[b] = cnt > 0.0 ? acc[3 * b + 1] / cnt : NAN;
        if (mean_expected)
            mean_expected[b] = cnt > 0.0 ? acc[3 * b + 2] / cnt : NAN;
    }
    if (mae)
        *mae = abs_err / (double)n;
    churn__free(expected);
    churn__free(acc);
    return CHURN_OK;
}

CHURN_API void churn_tracking_options_init(churn_tracking_options *opts)
{
    if (opts) {
        churn_tracking_options d = CHURN_TRACKING_OPTIONS_INIT;
        *opts = d;
    }
}

static int cmp_double_asc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

CHURN_API int churn_metrics_repeat_tracking(const churn_txlog *log, const churn_model *model,
                                            size_t nperiods, const churn_tracking_options *opts,
                                            double *actual_cumulative,
                                            double *expected_cumulative,
                                            double *actual_incremental,
                                            double *expected_incremental)
{
    static const char fn[] = "churn_metrics_repeat_tracking";
    churn__ok();
    churn_tracking_options o = CHURN_TRACKING_OPTIONS_INIT;
    int rc = churn__opts_copy(&o, sizeof o, opts, "churn_tracking_options");
    if (rc)
        return rc;
    if (!log)
        return churn__error(CHURN_EINVAL, "%s: 'log' is NULL", fn);
    if (nperiods == 0)
        return churn__error(CHURN_EINVAL, "%s: 'nperiods' is 0", fn);
    if (!model && (expected_cumulative || expected_incremental))
        return churn__error(CHURN_EINVAL, "%s: expected purchases requested without a model", fn);
    if (model && (rc = churn__model_check(model, fn, 3, CHURN_FAMILY_BGNBD, CHURN_FAMILY_MBGNBD,
                                          CHURN_FAMILY_PNBD)))
        return rc;
    if (!churn__finite(o.origin))
        return churn__error(CHURN_EINVAL, "%s: option 'origin' is not finite", fn);
    if (!churn__finite(o.period_days) || o.period_days < 0.0)
        return churn__error(CHURN_EINVAL, "%s: option 'period_days' is %g (must be > 0)", fn,
                            o.period_days);
    if (o.period_days == 0.0)
        o.period_days = 7.0;
    size_t ntx = churn_txlog_num_transactions(log), ncust = churn_txlog_num_customers(log);
    if (ntx == 0)
        return churn__error(CHURN_EINVAL, "%s: the transaction log is empty", fn);
    const uint32_t *cust = churn_txlog_customers(log);
    const double *times = churn_txlog_times(log);
    if (o.origin == 0.0)
        o.origin = floor(churn_txlog_min_time(log) / CHURN_SECONDS_PER_DAY) *
                   CHURN_SECONDS_PER_DAY;
    const double period = o.period_days * CHURN_SECONDS_PER_DAY;

    /* Group the purchase times by customer (counting sort), then order each
     * customer's times. */
    size_t *start = churn__calloc(ncust + 1, sizeof *start);
    double *t_sorted = churn__malloc(churn__mul_size(ntx, sizeof *t_sorted));
    double *first = churn__malloc(churn__mul_size(ncust ? ncust : 1, sizeof *first));
    double *inc = churn__calloc(nperiods, sizeof *inc);
    size_t *fill = churn__malloc(churn__mul_size(ncust ? ncust : 1, sizeof *fill));
    double *dt = NULL, *ex = NULL;
    if (!start || !t_sorted || !first || !inc || !fill) {
        rc = churn__nomem("the tracking work arrays");
        goto done;
    }
    for (size_t i = 0; i < ntx; i++)
        start[cust[i] + 1]++;
    for (size_t c = 0; c < ncust; c++)
        start[c + 1] += start[c];
    memcpy(fill, start, ncust * sizeof *fill);
    for (size_t i = 0; i < ntx; i++)
        t_sorted[fill[cust[i]]++] = times[i];

    size_t nfirst = 0;
    for (size_t c = 0; c < ncust; c++) {
        double *tc = t_sorted + start[c];
        size_t m = start[c + 1] - start[c];
        if (m == 0)
            continue;
        qsort(tc, m, sizeof *tc, cmp_double_asc);
        first[nfirst++] = tc[0];
        double last_day = floor(tc[0] / CHURN_SECONDS_PER_DAY);
        for (size_t j = 1; j < m; j++) {
            double day = floor(tc[j] / CHURN_SECONDS_PER_DAY);
            if (!o.every_transaction && day == last_day)
                continue;
            last_day = day;
            /* the repeat counts from the first period whose end is after it */
            double q = (tc[j] - o.origin) / period;
            if (q < 0.0) {
                inc[0] += 1.0;
            } else if (q < (double)nperiods) {
                size_t p = (size_t)floor(q);
                if (p < nperiods)
                    inc[p] += 1.0;
            }
        }
    }
    double run = 0.0;
    for (size_t p = 0; p < nperiods; p++) {
        if (actual_incremental)
            actual_incremental[p] = inc[p];
        run += inc[p];
        if (actual_cumulative)
            actual_cumulative[p] = run;
    }

    if (model && (expected_cumulative || expected_incremental)) {
        /* Expected cumulative repeat purchases (Fader, Hardie & Lee 2005, sec. 5):
         * Σ_i E[X(e_p − t0_i)] over customers born before e_p. Customers sharing a
         * first-purchase time share the term, so evaluate each distinct t0 once. */
        double unit = churn_model_time_unit(model);
        double unit_s = (unit > 0.0 ? unit : o.period_days) * CHURN_SECONDS_PER_DAY;
        qsort(first, nfirst, sizeof *first, cmp_double_asc);
        size_t nd = 0;
        /* distinct first-purchase times with multiplicities, in place */
        double *mult = churn__malloc(churn__mul_size(nfirst, sizeof *mult));
        dt = churn__malloc(churn__mul_size(nfirst, sizeof *dt));
        ex = churn__malloc(churn__mul_size(nfirst, sizeof *ex));
        if (!mult || !dt || !ex) {
            churn__free(mult);
            rc = churn__nomem("the tracking work arrays");
            goto done;
        }
        for (size_t i = 0; i < nfirst; i++) {
            if (nd > 0 && first[nd - 1] == first[i]) {
                mult[nd - 1] += 1.0;
            } else {
                first[nd] = first[i];
                mult[nd++] = 1.0;
            }
        }
        double prev = 0.0;
        for (size_t p = 0; p < nperiods; p++) {
            double end = o.origin + (double)(p + 1) * period;
            size_t m = 0;
            while (m < nd && first[m] < end) {
                dt[m] = (end - first[m]) / unit_s;
                m++;
            }
            double total = 0.0;
            if (m > 0) {
                rc = churn_btyd_expected_purchases_new(model, m, dt, ex);
                if (rc) {
                    churn__free(mult);
                    goto done;
                }
                for (size_t i = 0; i < m; i++)
                    total += mult[i] * ex[i];
            }
            if (expected_cumulative)
                expected_cumulative[p] = total;
            if (expected_incremental)
                expected_incremental[p] = total - prev;
            prev = total;
        }
        churn__free(mult);
    }
    rc = CHURN_OK;
done:
    churn__free(start);
    churn__free(t_sorted);
    churn__free(first);
    churn__free(inc);
    churn__free(fill);
    churn__free(dt);
    churn__free(ex);
    return rc;
}

/* ---- time-split comparison of churn models --------------------------------------- */

typedef struct cmp_entry {
    char name[16];
    int family;
    int status;          /* CHURN_OK, CHURN_ENOCONV, or the failure */
    char *note;          /* "" or a message */
    churn_model *model;  /* fitted on all customers, or NULL */
    double *p_churn;     /* n out-of-sample churn probabilities, or NULL */
    double auc, log_loss, brier, top_lift, mae;
} cmp_entry;

struct churn_comparison {
    churn_customers *table;
    size_t n;
    double holdout_length;
    size_t nmodels;
    cmp_entry *m;
};

CHURN_API void churn_comparison_options_init(churn_comparison_options *opts)
{
    if (opts) {
        churn_comparison_options d = CHURN_COMPARISON_OPTIONS_INIT;
        *opts = d;
    }
}

CHURN_API void churn_comparison_free(churn_comparison *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nmodels; i++) {
        churn__free(c->m[i].note);
        churn_model_free(c->m[i].model);
        churn__free(c->m[i].p_churn);
    }
    churn__free(c->m);
    churn_customers_free(c->table);
    churn__free(c);
}

/* Split a comma-separated list into at most `cap` trimmed names written into
 * `buf` (a copy of the list); returns the count, or SIZE_MAX on an empty item. */
static size_t split_list(char *buf, char **items, size_t cap)
{
    size_t k = 0;
    char *p = buf;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        while (*p == ' ')
            p++;
        size_t len = strlen(p);
        while (len && p[len - 1] == ' ')
            p[--len] = '\0';
        if (len == 0)
            return SIZE_MAX;
        if (k < cap)
            items[k] = p;
        k++;
        if (!comma)
            break;
        p = comma + 1;
    }
    return k;
}

static int is_btyd(int f)
{
    return f == CHURN_FAMILY_BGNBD || f == CHURN_FAMILY_MBGNBD || f == CHURN_FAMILY_PNBD;
}

static int is_survival(int f)
{
    return f == CHURN_FAMILY_COX || f == CHURN_FAMILY_WEIBULL || f == CHURN_FAMILY_EXPONENTIAL ||
           f == CHURN_FAMILY_LOGLOGISTIC || f == CHURN_FAMILY_LOGNORMAL;
}

/* Keep the library's current error message as the model's note. */
static int set_note(cmp_entry *e, int status, const char *fallback)
{
    const char *msg = churn_last_error_message();
    churn__free(e->note);
    e->note = churn__strdup(*msg ? msg : fallback);
    e->status = status;
    return e->note ? CHURN_OK : churn__nomem("a comparison note");
}

/* splitmix64 (Steele, Lea & Flood 2014): a small, well-mixed generator for
 * the fold shuffle; the fold assignment only needs to be reproducible. */
static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

typedef struct sup_data {
    size_t n, p;
    const double *x;         /* n*p row-major features */
    const char *const *names;
    const double *label;     /* churned */
    const double *duration, *event;
    double horizon;          /* holdout length, model units */
} sup_data;

/* Fit a supervised model on rows `rows[0..m)` (NULL = all n rows). */
static int sup_fit(churn_model **out, int family, const sup_data *d, const size_t *rows, size_t m,
                   double *xs, double *ys, double *ds, double *es)
{
    const double *x = d->x, *y = d->label, *dur = d->duration, *ev = d->event;
    if (rows) {
        for (size_t r = 0; r < m; r++) {
            size_t i = rows[r];
            memcpy(xs + r * d->p, d->x + i * d->p, d->p * sizeof *xs);
            ys[r] = d->label[i];
            ds[r] = d->duration[i];
            es[r] = d->event[i];
        }
        x = xs;
        y = ys;
        dur = ds;
        ev = es;
    }
    if (family == CHURN_FAMILY_LOGIT)
        return churn_logit_fit(out, x, m, d->p, CHURN_LOGIT_ROW_MAJOR, 0, y, NULL, d->names,
                               NULL);
    if (family == CHURN_FAMILY_COX)
        return churn_cox_fit(out, m, d->p, x, d->names, dur, ev, NULL, NULL);
    return churn_aft_fit(out, family, m, d->p, x, d->names, dur, ev, NULL, NULL);
}

/* Churn probabilities of rows `rows[0..m)` from a supervised model. */
static int sup_predict(const churn_model *model, int family, const sup_data *d,
                       const size_t *rows, size_t m, double *xs, double *p_out)
{
    for (size_t r = 0; r < m; r++)
        memcpy(xs + r * d->p, d->x + rows[r] * d->p, d->p * sizeof *xs);
    if (family == CHURN_FAMILY_LOGIT)
        return churn_logit_predict(model, xs, m, d->p, CHURN_LOGIT_ROW_MAJOR, 0, p_out, NULL);
    return churn_surv_predict(model, m, xs, d->horizon, NULL, p_out, NULL);
}

/* Cross-fitted scores of a supervised model, and its fit on all rows. */
static int score_supervised(cmp_entry *e, const sup_data *d, size_t folds, uint64_t seed)
{
    size_t n = d->n, p = d->p;
    size_t *perm = churn__malloc(churn__mul_size(n, sizeof *perm));
    size_t *rows = churn__malloc(churn__mul_size(n, sizeof *rows));
    double *xs = churn__malloc(churn__mul_size(n, churn__mul_size(p, sizeof *xs)));
    double *col = churn__malloc(churn__mul_size(n, 4 * sizeof *col));
    double *pred = churn__malloc(churn__mul_size(n, sizeof *pred));
    int rc = CHURN_OK;
    if (!perm || !rows || !xs || !col || !pred) {
        rc = churn__nomem("the cross-fitting work arrays");
        goto done;
    }
    double *ys = col, *ds = col + n, *es = col + 2 * n, *pf = col + 3 * n;
    /* Fisher-Yates shuffle, then position mod K gives the fold. */
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    uint64_t s = seed;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)(splitmix64(&s) % (uint64_t)(i + 1));
        size_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    int warn = CHURN_OK;
    /* K > 1: each fold is scored by a model fitted on the other folds; the rows of
     * `rows` are the training rows followed by the held-out ones. */
    for (size_t k = 0; folds > 1 && k < folds; k++) {
        size_t mtr = 0, mte = 0;
        for (size_t q = 0; q < n; q++)
            if (q % folds != k)
                rows[mtr++] = perm[q];
        for (size_t q = 0; q < n; q++)
            if (q % folds == k)
                rows[mtr + mte++] = perm[q];
        churn_model *fm = NULL;
        rc = sup_fit(&fm, e->family, d, rows, mtr, xs, ys, ds, es);
        if (rc == CHURN_ENOCONV && fm) {
            warn = CHURN_ENOCONV;
            rc = CHURN_OK;
        }
        if (!rc)
            rc = sup_predict(fm, e->family, d, rows + mtr, mte, xs, pf);
        churn_model_free(fm);
        if (rc) {
            char msg[400];
            snprintf(msg, sizeof msg, "%s", churn_last_error_message());
            churn__error(rc, "fold %zu of %zu: %s", k + 1, folds, msg);
            goto done;
        }
        for (size_t r = 0; r < mte; r++)
            pred[rows[mtr + r]] = pf[r];
    }
    /* the model on all customers, for its parameters (and the scores when K = 1) */
    rc = sup_fit(&e->model, e->family, d, NULL, n, xs, ys, ds, es);
    if (rc == CHURN_ENOCONV && e->model) {
        warn = CHURN_ENOCONV;
        rc = CHURN_OK;
    }
    if (!rc && folds == 1) {
        for (size_t q = 0; q < n; q++)
            rows[q] = q;
        rc = sup_predict(e->model, e->family, d, rows, n, xs, pred);
    }
    if (rc)
        goto done;
    e->p_churn = pred;
    pred = NULL;
    rc = warn;
    if (warn)
        churn__error(warn, "%s: a fit did not reach its convergence criterion", e->name);
done:
    churn__free(perm);
    churn__free(rows);
    churn__free(xs);
    churn__free(col);
    churn__free(pred);
    return rc;
}

static int score_btyd(cmp_entry *e, size_t n, const double *x, const double *tx, const double *T,
                      const double *holdout, double tau, double unit, int churn_score)
{
    int warn = CHURN_OK;
    int rc = churn_btyd_fit(&e->model, e->family, n, x, tx, T, NULL, NULL);
    if (rc == CHURN_ENOCONV && e->model) {
        warn = CHURN_ENOCONV;
        rc = CHURN_OK;
    }
    if (rc)
        return rc;
    if ((rc = churn_model_set_time_unit(e->model, unit)))
        return rc;
    double *pc = churn__malloc(churn__mul_size(n, sizeof *pc));
    double *ex = churn__malloc(churn__mul_size(n, sizeof *ex));
    if (!pc || !ex) {
        churn__free(pc);
        churn__free(ex);
        return churn__nomem("the BTYD scores");
    }
    if (churn_score == CHURN_BTYD_CHURN_NO_PURCHASE)
        rc = churn_btyd_prob_purchases_cond(e->model, 0.0, tau, n, x, tx, T, pc);
    else
        rc = churn_btyd_p_alive(e->model, n, x, tx, T, pc);
    if (!rc)
        rc = churn_btyd_expected_purchases(e->model, tau, n, x, tx, T, ex);
    if (rc) {
        churn__free(pc);
        churn__free(ex);
        return rc;
    }
    double abs_err = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (churn_score != CHURN_BTYD_CHURN_NO_PURCHASE)
            pc[i] = 1.0 - pc[i];
        /* guard the [0, 1] contract against rounding just outside it */
        pc[i] = pc[i] < 0.0 ? 0.0 : (pc[i] > 1.0 ? 1.0 : pc[i]);
        abs_err += fabs(ex[i] - holdout[i]);
    }
    churn__free(ex);
    e->p_churn = pc;
    e->mae = abs_err / (double)n;
    if (warn)
        churn__error(warn, "%s: the fit did not reach its convergence criterion", e->name);
    return warn;
}

static int score_metrics(cmp_entry *e, size_t n, const double *label, size_t lift_bins)
{
    int rc = churn_metrics_roc_auc(n, e->p_churn, label, NULL, &e->auc);
    if (!rc)
        rc = churn_metrics_log_loss(n, e->p_churn, label, NULL, &e->log_loss);
    if (!rc)
        rc = churn_metrics_brier(n, e->p_churn, label, NULL, &e->brier);
    if (!rc) {
        double *lift = churn__malloc(churn__mul_size(lift_bins, sizeof *lift));
        if (!lift)
            return churn__nomem("the lift table");
        rc = churn_metrics_lift_table(n, e->p_churn, label, NULL, lift_bins, NULL, NULL, NULL,
                                      lift, NULL, NULL);
        if (!rc)
            e->top_lift = lift[0];
        churn__free(lift);
    }
    return rc;
}

CHURN_API int churn_metrics_compare(churn_comparison **out, const churn_txlog *log,
                                    const churn_comparison_options *opts)
{
    static const char fn[] = "churn_metrics_compare";
    churn__ok();
    if (!out)
        return churn__error(CHURN_EINVAL, "%s: 'out' is NULL", fn);
    *out = NULL;
    churn_comparison_options o = CHURN_COMPARISON_OPTIONS_INIT;
    int rc = churn__opts_copy(&o, sizeof o, opts, "churn_comparison_options");
    if (rc)
        return rc;
    if (!log)
        return churn__error(CHURN_EINVAL, "%s: 'log' is NULL", fn);
    if (!churn__finite(o.cutoff) || o.cutoff == 0.0)
        return churn__error(CHURN_EINVAL, "%s: option 'cutoff' is required", fn);
    if (!churn__finite(o.holdout_end) || o.holdout_end == 0.0)
        return churn__error(CHURN_EINVAL, "%s: option 'holdout_end' is required", fn);
    if (!churn__finite(o.time_unit) || o.time_unit < 0.0)
        return churn__error(CHURN_EINVAL, "%s: option 'time_unit' is %g (must be > 0)", fn,
                            o.time_unit);
    if (o.time_unit == 0.0)
        o.time_unit = CHURN_UNIT_WEEK;
    if (o.folds == 0)
        o.folds = 5;
    if (o.seed == 0)
        o.seed = 1;
    if (o.lift_bins == 0)
        o.lift_bins = 10;
    if (o.btyd_churn != CHURN_BTYD_CHURN_NOT_ALIVE && o.btyd_churn != CHURN_BTYD_CHURN_NO_PURCHASE)
        return churn__error(CHURN_EINVAL, "%s: option 'btyd_churn' is %d (must be 0 or 1)", fn,
                            o.btyd_churn);
    const char *models = o.models ? o.models : "bgnbd,pnbd,logit,cox";
    const char *features = o.features ? o.features : CHURN_COMPARISON_DEFAULT_FEATURES;

    char *mbuf = churn__strdup(models), *fbuf = churn__strdup(features);
    char **mnames = NULL, **fnames = NULL;
    churn_comparison *c = churn__calloc(1, sizeof *c);
    double *xrow = NULL;
    if (!mbuf || !fbuf || !c) {
        rc = churn__nomem("the comparison");
        goto fail;
    }
    size_t nm = split_list(mbuf, NULL, 0), nf = split_list(fbuf, NULL, 0);
    /* split_list wrote NULs on the first pass: copy again */
    strcpy(mbuf, models);
    strcpy(fbuf, features);
    if (nm == SIZE_MAX || nm == 0) {
        rc = churn__error(CHURN_EINVAL, "%s: option 'models' \"%s\" has an empty name", fn,
                          models);
        goto fail;
    }
    if (nf == SIZE_MAX || nf == 0) {
        rc = churn__error(CHURN_EINVAL, "%s: option 'features' \"%s\" has an empty name", fn,
                          features);
        goto fail;
    }
    mnames = churn__calloc(nm, sizeof *mnames);
    fnames = churn__calloc(nf, sizeof *fnames);
    c->m = churn__calloc(nm, sizeof *c->m);
    if (!mnames || !fnames || !c->m) {
        rc = churn__nomem("the comparison");
        goto fail;
    }
    split_list(mbuf, mnames, nm);
    split_list(fbuf, fnames, nf);
    c->nmodels = nm;
    int any_supervised = 0;
    for (size_t i = 0; i < nm; i++) {
        cmp_entry *e = &c->m[i];
        e->auc = e->log_loss = e->brier = e->top_lift = e->mae = NAN;
        int fam = 0;
        if (churn_family_from_name(mnames[i], &fam) != CHURN_OK ||
            !(is_btyd(fam) || is_survival(fam) || fam == CHURN_FAMILY_LOGIT)) {
            rc = churn__error(CHURN_EINVAL, "%s: model '%s' cannot be compared (use bgnbd, "
                              "mbgnbd, pnbd, logit, cox, weibull, exponential, loglogistic or "
                              "lognormal)", fn, mnames[i]);
            goto fail;
        }
        for (size_t j = 0; j < i; j++)
            if (c->m[j].family == fam) {
                rc = churn__error(CHURN_EINVAL, "%s: model '%s' is listed twice", fn, mnames[i]);
                goto fail;
            }
        e->family = fam;
        snprintf(e->name, sizeof e->name, "%s", churn_family_name(fam));
        if (!(e->note = churn__strdup(""))) {
            rc = churn__nomem("a comparison note");
            goto fail;
        }
        any_supervised |= !is_btyd(fam);
    }

    churn_customer_options co = CHURN_CUSTOMER_OPTIONS_INIT;
    co.cutoff = o.cutoff;
    co.holdout_end = o.holdout_end;
    co.time_unit = o.time_unit;
    if ((rc = churn_customers_build(&c->table, log, &co)))
        goto fail;
    size_t n = c->n = churn_customers_num_rows(c->table);
    c->holdout_length = (churn_customers_holdout_end(c->table) - churn_customers_cutoff(c->table)) /
                        CHURN_SECONDS_PER_DAY / o.time_unit;
    const double *freq = churn_customers_column(c->table, "frequency");
    const double *rec = churn_customers_column(c->table, "recency");
    const double *age = churn_customers_column(c->table, "T");
    const double *label = churn_customers_column(c->table, "churned");
    const double *hold = churn_customers_column(c->table, "holdout_purchases");
    const double *dur = churn_customers_column(c->table, "duration");
    const double *ev = churn_customers_column(c->table, "event");
    if (!freq || !rec || !age || !label || !hold || !dur || !ev) {
        rc = churn_last_error_code() ? churn_last_error_code() : CHURN_ENOTFOUND;
        goto fail;
    }
    if (n < 2) {
        rc = churn__error(CHURN_EINVAL, "%s: %zu customer(s) before the cutoff: nothing to "
                          "compare", fn, n);
        goto fail;
    }
    double churners = 0.0;
    for (size_t i = 0; i < n; i++)
        churners += label[i];
    if (churners == 0.0 || churners == (double)n) {
        rc = churn__error(CHURN_EINVAL, "%s: %s of the %zu customers churned in the holdout: "
                          "AUC and lift are undefined with one class", fn,
                          churners == 0.0 ? "none" : "all", n);
        goto fail;
    }
    if (o.lift_bins > n) {
        rc = churn__error(CHURN_EINVAL, "%s: option 'lift_bins' %zu exceeds the %zu customers",
                          fn, o.lift_bins, n);
        goto fail;
    }
    sup_data d = {0};
    if (any_supervised) {
        if (o.folds > n) {
            rc = churn__error(CHURN_EINVAL, "%s: option 'folds' %zu exceeds the %zu customers",
                              fn, o.folds, n);
            goto fail;
        }
        xrow = churn__malloc(churn__mul_size(n, churn__mul_size(nf, sizeof *xrow)));
        if (!xrow) {
            rc = churn__nomem("the feature matrix");
            goto fail;
        }
        for (size_t j = 0; j < nf; j++) {
            const double *col = churn_customers_column(c->table, fnames[j]);
            if (!col) {
                rc = churn__error(CHURN_ENOTFOUND, "%s: feature '%s' is not a column of the "
                                  "customer table", fn, fnames[j]);
                goto fail;
            }
            for (size_t i = 0; i < n; i++)
                xrow[i * nf + j] = col[i];
        }
        d.n = n;
        d.p = nf;
        d.x = xrow;
        d.names = (const char *const *)fnames;
        d.label = label;
        d.duration = dur;
        d.event = ev;
        d.horizon = c->holdout_length;
    }
    for (size_t i = 0; i < nm; i++) {
        cmp_entry *e = &c->m[i];
        int st;
        if (is_btyd(e->family))
            st = score_btyd(e, n, freq, rec, age, hold, c->holdout_length, o.time_unit,
                            o.btyd_churn);
        else
            st = score_supervised(e, &d, o.folds, o.seed);
        if (st == CHURN_ENOMEM) {
            rc = st;
            goto fail;
        }
        if (st && st != CHURN_ENOCONV) {
            churn__free(e->p_churn);
            e->p_churn = NULL;
            churn_model_free(e->model);
            e->model = NULL;
        }
        if (st && (rc = set_note(e, st, churn_strerror(st))))
            goto fail;
        if (e->p_churn && (st = score_metrics(e, n, label, o.lift_bins))) {
            if (st == CHURN_ENOMEM) {
                rc = st;
                goto fail;
            }
            if ((rc = set_note(e, st, churn_strerror(st))))
                goto fail;
        }
    }
    churn__free(xrow);
    churn__free(mbuf);
    churn__free(fbuf);
    churn__free(mnames);
    churn__free(fnames);
    churn__ok();
    *out = c;
    return CHURN_OK;
fail:
    churn__free(xrow);
    churn__free(mbuf);
    churn__free(fbuf);
    churn__free(mnames);
    churn__free(fnames);
    churn_comparison_free(c);
    return rc;
}

CHURN_API size_t churn_comparison_num_models(const churn_comparison *c)
{
    return c ? c->nmodels : 0;
}

CHURN_API const char *churn_comparison_model_name(const churn_comparison *c, size_t i)
{
    return (c && i < c->nmodels) ? c->m[i].name : NULL;
}

CHURN_API int churn_comparison_status(const churn_comparison *c, size_t i)
{
    return (c && i < c->nmodels) ? c->m[i].status : CHURN_ERANGE;
}

CHURN_API const char *churn_comparison_note(const churn_comparison *c, size_t i)
{
    return (c && i < c->nmodels) ? c->m[i].note : NULL;
}

CHURN_API int churn_comparison_value(const churn_comparison *c, size_t i, const char *metric,
                                     double *value)
{
    static const char fn[] = "churn_comparison_value";
    churn__ok();
    if (!c || !metric || !value)
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    if (i >= c->nmodels)
        return churn__error(CHURN_ERANGE, "%s: model index %zu, only %zu models", fn, i,
                            c->nmodels);
    const cmp_entry *e = &c->m[i];
    const double *v = NULL;
    if (strcmp(metric, "auc") == 0)
        v = &e->auc;
    else if (strcmp(metric, "log_loss") == 0)
        v = &e->log_loss;
    else if (strcmp(metric, "brier") == 0)
        v = &e->brier;
    else if (strcmp(metric, "top_decile_lift") == 0)
        v = &e->top_lift;
    else if (strcmp(metric, "holdout_mae") == 0)
        v = &e->mae;
    else
        return churn__error(CHURN_ENOTFOUND, "%s: unknown metric '%s' (auc, log_loss, brier, "
                            "top_decile_lift, holdout_mae)", fn, metric);
    if (e->status && e->status != CHURN_ENOCONV)
        return churn__error(e->status, "%s: model '%s' failed: %s", fn, e->name, e->note);
    if (v == &e->mae && !is_btyd(e->family))
        return churn__error(CHURN_EUNSUPPORTED, "%s: 'holdout_mae' is only defined for BTYD "
                            "models, not '%s'", fn, e->name);
    if (!churn__finite(*v))
        return churn__error(CHURN_ENUMERIC, "%s: metric '%s' of model '%s' is not available",
                            fn, metric, e->name);
    *value = *v;
    return CHURN_OK;
}

CHURN_API const churn_model *churn_comparison_model(const churn_comparison *c, size_t i)
{
    return (c && i < c->nmodels) ? c->m[i].model : NULL;
}

CHURN_API const double *churn_comparison_scores(const churn_comparison *c, size_t i)
{
    return (c && i < c->nmodels) ? c->m[i].p_churn : NULL;
}

CHURN_API const churn_customers *churn_comparison_customers(const churn_comparison *c)
{
    return c ? c->table : NULL;
}

CHURN_API double churn_comparison_holdout_length(const churn_comparison *c)
{
    return c ? c->holdout_length : NAN;
}
