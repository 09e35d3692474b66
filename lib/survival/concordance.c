/*
 * Harrell's concordance index in O(n log n): the public
 * churn_concordance_index() and the unchecked form the Cox and AFT fits use
 * on their linear predictors.
 *
 * R equivalence: survival 3.5 concordance.
 *
 * Calls: surv_common.c (input checks, row order) and core/.
 */
#include "survival/survival_internal.h"

#include <stdint.h>

CHURN_API int churn_concordance_index(size_t n, const double *duration, const double *event,
                                      const double *score, const double *weights,
                                      int score_is_risk, double *c_index, double *counts)
{
    churn__ok();
    int rc = churn__surv_check("churn_concordance_index", n, duration, event, weights, 0, NULL);
    if (rc)
        return rc;
    if (!score)
        return churn__error(CHURN_EINVAL, "churn_concordance_index: score is NULL");
    for (size_t i = 0; i < n; i++)
        if (!isfinite(score[i]))
            return churn__error(CHURN_EINVAL, "churn_concordance_index: row %zu: score is not "
                                "finite", i);
    return churn__concordance_ordered(n, duration, event, score, weights, score_is_risk, NULL,
                                      c_index, counts);
}

/* Harrell et al. (1982) C-index. Walk times from the latest down; the tree
 * holds everyone with a later time (and those censored at the current
 * time, who were still at risk). For each event, the weight in the tree
 * with lower / equal / higher scores gives its concordant, tied and
 * discordant pairs (Therneau's O(n log n) algorithm, survival's
 * concordance vignette). `byt` is the rows by increasing duration, `rank`
 * the dense score ranks 1..R; `tree`, `point` and `same` are R + 1 zeros.
 * `sums` receives the concordant, discordant, tied-on-score, tied-on-time
 * and tied-on-both pair weights. */
static void concordance_walk(size_t n, const double *duration, const double *event,
                             const double *weights, int score_is_risk, const uint32_t *byt,
                             const uint32_t *rank, size_t R, double *tree, double *point,
                             double *same, double *sums)
{
    double conc = 0, disc = 0, tx = 0, ty = 0, txy = 0, total = 0;
    size_t k = n;
    while (k > 0) {
        size_t k0 = k;
        double t = duration[byt[k - 1]];
        while (k0 > 0 && duration[byt[k0 - 1]] == t)
            k0--;
        /* block [k0, k): censored first into the tree */
        for (size_t q = k0; q < k; q++) {
            size_t i = byt[q];
            if (event[i] == 0) {
                double w = weights ? weights[i] : 1.0;
                for (size_t r = rank[i]; r <= R; r += r & (~r + 1))
                    tree[r] += w;
                point[rank[i]] += w;
                total += w;
            }
        }
        double dw = 0, dw2 = 0;
        for (size_t q = k0; q < k; q++) {
            size_t i = byt[q];
            if (event[i] == 0)
                continue;
            double w = weights ? weights[i] : 1.0;
            double below = 0;
            for (size_t r = rank[i] - 1; r > 0; r -= r & (~r + 1))
                below += tree[r];
            double eq = point[rank[i]];
            double above = total - below - eq;
            if (above < 0)
                above = 0;
            /* risk score: the earlier event should have the higher score */
            conc += w * (score_is_risk ? below : above);
            disc += w * (score_is_risk ? above : below);
            tx += w * eq;
            dw += w;
            dw2 += w * w;
        }
        if (dw > 0) {
            /* pairs of events at this time: tied on y; those also tied on x */
            double pairs = (dw * dw - dw2) / 2, sxy = 0;
            /* pairs also tied on the score: running weight per rank */
            for (size_t q = k0; q < k; q++) {
                size_t i = byt[q];
                if (event[i] == 0)
                    continue;
                double w = weights ? weights[i] : 1.0;
                sxy += w * same[rank[i]];
                same[rank[i]] += w;
            }
            for (size_t q = k0; q < k; q++)
                same[rank[byt[q]]] = 0;
            txy += sxy;
            ty += pairs - sxy;
            for (size_t q = k0; q < k; q++) {
                size_t i = byt[q];
                if (event[i] == 0)
                    continue;
                double w = weights ? weights[i] : 1.0;
                for (size_t r = rank[i]; r <= R; r += r & (~r + 1))
                    tree[r] += w;
                point[rank[i]] += w;
                total += w;
            }
        }
        k = k0;
    }
    sums[0] = conc;
    sums[1] = disc;
    sums[2] = tx;
    sums[3] = ty;
    sums[4] = txy;
}

int churn__concordance_ordered(size_t n, const double *duration, const double *event,
                               const double *score, const double *weights, int score_is_risk,
                               const uint32_t *time_order, double *c_index, double *counts)
{
    int rc = CHURN_OK;
    uint32_t *own = NULL;
    const uint32_t *byt = time_order;
    uint32_t *bys = churn__malloc(churn__mul_size(n, sizeof(uint32_t)));
    uint32_t *rank = churn__malloc(churn__mul_size(n, sizeof(uint32_t)));
    double *tree = NULL, *point = NULL, *same = NULL;
    if (!byt) {
        own = churn__malloc(churn__mul_size(n, sizeof(uint32_t)));
        byt = own;
    }
    if (!byt || !bys || !rank) {
        rc = churn__nomem("concordance work space");
        goto done;
    }
    if ((own && (rc = churn__sort_order(n, duration, own))) ||
        (rc = churn__sort_order(n, score, bys)))
        goto done;
    /* Dense ranks 1..R of the scores (equal scores share a rank). */
    size_t R = 0;
    for (size_t k = 0; k < n; k++) {
        if (k == 0 || score[bys[k]] != score[bys[k - 1]])
            R++;
        rank[bys[k]] = (uint32_t)R;
    }
    tree = churn__calloc(R + 1, sizeof(double));  /* Fenwick tree of weights by rank */
    point = churn__calloc(R + 1, sizeof(double)); /* weight at each rank */
    same = churn__calloc(R + 1, sizeof(double));  /* events of one time block by rank */
    if (!tree || !point || !same) {
        rc = churn__nomem("concordance work space");
        goto done;
    }
    double sums[5];
    concordance_walk(n, duration, event, weights, score_is_risk, byt, rank, R, tree, point, same,
                     sums);
    double conc = sums[0], disc = sums[1], tx = sums[2], ty = sums[3], txy = sums[4];
    double denom = conc + disc + tx;
    if (c_index)
        *c_index = denom > 0 ? (conc + tx / 2) / denom : 0.5;
    if (counts) {
        counts[CHURN_CONC_CONCORDANT] = conc;
        counts[CHURN_CONC_DISCORDANT] = disc;
        counts[CHURN_CONC_TIED_X] = tx;
        counts[CHURN_CONC_TIED_Y] = ty;
        counts[CHURN_CONC_TIED_XY] = txy;
    }
done:
    churn__free(own);
    churn__free(bys);
    churn__free(rank);
    churn__free(tree);
    churn__free(point);
    churn__free(same);
    return rc;
}
