/*
 * Evaluation metrics on scores already computed (metrics.h): the
 * classification metrics of churn scores (ROC AUC, log loss, Brier score,
 * precision and recall at k, lift table, calibration) and the
 * time-dependent AUC of survival markers.
 *
 * Pure functions of their arrays: calls core/ only, no model stage. Called
 * by compare.c.
 */
#include "core/internal.h"

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
