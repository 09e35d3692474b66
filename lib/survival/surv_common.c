/*
 * Survival analysis, bottom layer: the checks of the common survival inputs,
 * the feature names of the Cox and AFT fits, the stable radix sort (a row
 * order by duration, also the group codes of km.c), the inverse of a
 * Cholesky factor (core/linalg.c factors) for the covariance matrices, and
 * the chi-square tail.
 *
 * Calls: core/ only. Every other file of lib/survival/ may call this one.
 */
#include "survival/survival_internal.h"

#include "core/special.h"
#include <stdint.h>
#include <stdio.h>

/* ---- input checks ------------------------------------------------------------ */

int churn__surv_check(const char *fn, size_t n, const double *duration, const double *event,
                      const double *weights, int positive, double *events)
{
    if (n == 0)
        return churn__error(CHURN_EINVAL, "%s: n is 0 (no customers)", fn);
    if (!duration || !event)
        return churn__error(CHURN_EINVAL, "%s: %s is NULL", fn, duration ? "event" : "duration");
    if (n >= (size_t)UINT32_MAX)
        return churn__error(CHURN_EINVAL, "%s: n = %zu rows is too many (limit 2^32 - 1)", fn, n);
    double ev = 0;
    for (size_t i = 0; i < n; i++) {
        double d = duration[i];
        if (!isfinite(d))
            return churn__error(CHURN_EINVAL, "%s: row %zu: duration is %s (must be a finite "
                                "number)", fn, i, isnan(d) ? "NaN" : "infinite");
        if (d < 0)
            return churn__error(CHURN_EINVAL, "%s: row %zu: duration %g is negative", fn, i, d);
        if (positive && d <= 0)
            return churn__error(CHURN_EINVAL, "%s: row %zu: duration %g must be > 0 (the model "
                                "works on log time)", fn, i, d);
        double e = event[i];
        if (e != 0.0 && e != 1.0)
            return churn__error(CHURN_EINVAL, "%s: row %zu: event %g is not 0 (censored) or 1 "
                                "(churned)", fn, i, e);
        double w = 1;
        if (weights) {
            w = weights[i];
            if (!isfinite(w) || w < 0)
                return churn__error(CHURN_EINVAL, "%s: row %zu: weight %g must be finite and "
                                    ">= 0", fn, i, w);
        }
        ev += e * w;
    }
    if (events)
        *events = ev;
    return CHURN_OK;
}

int churn__surv_check_x(const char *fn, size_t n, size_t p, const double *x,
                        const churn_model *m)
{
    if (p && !x)
        return churn__error(CHURN_EINVAL, "%s: x is NULL", fn);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < p; j++)
            if (!isfinite(x[i * p + j])) {
                const char *name = m ? churn_model_feature_name(m, j) : NULL;
                if (name)
                    return churn__error(CHURN_EINVAL, "%s: row %zu, feature '%s': value is %s",
                                        fn, i, name, isnan(x[i * p + j]) ? "NaN" : "infinite");
                return churn__error(CHURN_EINVAL, "%s: row %zu, feature %zu: value is %s", fn, i,
                                    j, isnan(x[i * p + j]) ? "NaN" : "infinite");
            }
    return CHURN_OK;
}

int churn__surv_feature_names(size_t p, const char *const *feature_names, char **names)
{
    for (size_t j = 0; j < p; j++) {
        if (feature_names && feature_names[j]) {
            names[j] = churn__strdup(feature_names[j]);
        } else {
            names[j] = churn__malloc(24);
            if (names[j])
                snprintf(names[j], 24, "x%zu", j + 1);
        }
        if (!names[j])
            return churn__nomem("feature names");
    }
    return CHURN_OK;
}

double churn__chisq_q(double x, double df)
{
    if (!(df > 0))
        return 1.0;
    if (!(x > 0))
        return 1.0;
    /* Q(df/2, x/2), our incomplete gamma (core/special.c): GSL's
     * gsl_cdf_chisq_Q reports non-convergence through its error handler */
    return churn__gamma_q(0.5 * df, 0.5 * x);
}

/* ---- radix sort ---------------------------------------------------------------- */

/* Order-preserving map of a double to an unsigned integer: flip every bit of a
 * negative number, only the sign bit of a positive one. -0.0 maps like 0.0. */
static inline uint64_t key_of(double x)
{
    uint64_t u;
    if (x == 0)
        x = 0.0;
    memcpy(&u, &x, sizeof u);
    return (u >> 63) ? ~u : (u | ((uint64_t)1 << 63));
}

/* LSD radix sort of `k` (with a companion index array `ix` unless NULL),
 * using the scratch arrays `k2`/`ix2` of the same length. Stable. 16-bit
 * digits (4 passes) for large inputs, 11-bit (6 passes) for small ones whose
 * histograms must stay cheap; passes in which every key has the same digit
 * are skipped. Returns 1 when the result ended in the scratch arrays, 0 when
 * in the originals, -1 when the histograms could not be allocated. */
int churn__radix_sort(size_t n, uint64_t *k, uint32_t *ix, uint64_t *k2, uint32_t *ix2)
{
    const int bits = n >= 65536 ? 16 : 11;
    const int passes = (64 + bits - 1) / bits;
    const size_t B = (size_t)1 << bits;
    const uint64_t mask = B - 1;
    uint32_t *hist = churn__calloc((size_t)passes * B, sizeof(uint32_t));
    if (!hist)
        return -1;
    for (size_t i = 0; i < n; i++) {
        uint64_t v = k[i];
        for (int p = 0; p < passes; p++)
            hist[(size_t)p * B + ((v >> (p * bits)) & mask)]++;
    }
    int swapped = 0;
    for (int p = 0; p < passes; p++) {
        uint32_t *h = hist + (size_t)p * B;
        int trivial = 0;
        for (size_t b = 0; b < B; b++) {
            if (h[b] == n) {
                trivial = 1;
                break;
            }
            if (h[b])
                break;
        }
        if (trivial)
            continue;
        uint32_t sum = 0;
        for (size_t b = 0; b < B; b++) {
            uint32_t c = h[b];
            h[b] = sum;
            sum += c;
        }
        int shift = p * bits;
        if (ix) {
            for (size_t i = 0; i < n; i++) {
                uint32_t dst = h[(k[i] >> shift) & mask]++;
                k2[dst] = k[i];
                ix2[dst] = ix[i];
            }
            uint32_t *ti = ix;
            ix = ix2;
            ix2 = ti;
        } else {
            for (size_t i = 0; i < n; i++)
                k2[h[(k[i] >> shift) & mask]++] = k[i];
        }
        uint64_t *tk = k;
        k = k2;
        k2 = tk;
        swapped ^= 1;
    }
    churn__free(hist);
    return swapped;
}

int churn__sort_order(size_t n, const double *keys, uint32_t *order)
{
    uint64_t *k = churn__malloc(churn__mul_size(n ? n : 1, 2 * sizeof(uint64_t)));
    uint32_t *ix2 = churn__malloc(churn__mul_size(n ? n : 1, sizeof(uint32_t)));
    if (!k || !ix2) {
        churn__free(k);
        churn__free(ix2);
        return churn__nomem("a sort buffer");
    }
    churn__advise_huge(k, 2 * n * sizeof(uint64_t));
    for (size_t i = 0; i < n; i++) {
        k[i] = key_of(keys[i]);
        order[i] = (uint32_t)i;
    }
    int sw = churn__radix_sort(n, k, order, k + n, ix2);
    if (sw == 1)
        memcpy(order, ix2, n * sizeof(uint32_t));
    churn__free(k);
    churn__free(ix2);
    return sw < 0 ? churn__nomem("a sort buffer") : CHURN_OK;
}

/* ---- small dense symmetric positive-definite algebra (p x p, row-major) ------- */

void churn__spd_inverse(const double *L, double *inv, size_t k, double *col)
{
    for (size_t j = 0; j < k; j++) {
        for (size_t i = 0; i < k; i++)
            col[i] = i == j;
        churn__chol_solve(L, col, k);
        for (size_t i = 0; i < k; i++)
            inv[i * k + j] = col[i];
    }
    for (size_t i = 0; i < k; i++) /* exact symmetry */
        for (size_t j = 0; j < i; j++)
            inv[i * k + j] = inv[j * k + i] = (inv[i * k + j] + inv[j * k + i]) / 2;
}

