/*
 * Value tiers (spend.h): key, important and ordinary customers by their
 * share of the ranked value, and the tiers' names.
 *
 * Calls core/ only.
 */
#include "core/internal.h"

CHURN_API const char *churn_tier_name(int tier)
{
    switch (tier) {
    case CHURN_TIER_KEY: return "key";
    case CHURN_TIER_IMPORTANT: return "important";
    case CHURN_TIER_ORDINARY: return "ordinary";
    default: return "";
    }
}

/* The k-th smallest (0-based) of a[0..n-1], reordering a: quickselect with a
 * median-of-three pivot, O(n) on average. */
static double select_kth(double *a, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        double x = a[lo], y = a[mid], z = a[hi];
        double pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        size_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                double t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return a[k];
    }
    return a[k];
}

CHURN_API int churn_tiers_assign(size_t n, const double *value, double key_fraction,
                                 double important_fraction, int *tier, double *key_share)
{
    churn__ok();
    static const char fn[] = "churn_tiers_assign";
    if (n && !value)
        return churn__error(CHURN_EINVAL, "%s: 'value' is NULL", fn);
    if (!(key_fraction >= 0 && key_fraction <= 1))
        return churn__error(CHURN_EINVAL, "%s: key_fraction = %g is not in [0, 1]", fn,
                            key_fraction);
    if (!(important_fraction >= 0 && key_fraction + important_fraction <= 1 + 1e-12))
        return churn__error(CHURN_EINVAL, "%s: important_fraction = %g is not in [0, 1 - "
                            "key_fraction]", fn, important_fraction);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(value[i]))
            return churn__error(CHURN_EINVAL, "%s: row %zu, value %g is not finite", fn, i,
                                value[i]);
    if (key_share)
        *key_share = 0.0;
    if (n == 0)
        return CHURN_OK;
    /* The customer table's value_tier rule (customers.h): key when fewer than
     * c1 = key_fraction n customers have a strictly larger value. With
     * k1 = ceil(c1), that is value >= the k1-th largest value (ties share a
     * tier), so two order statistics (O(n) selection, no sort) decide every
     * customer's tier. */
    const double c1 = key_fraction * (double)n;
    const double c2 = (key_fraction + important_fraction) * (double)n;
    size_t k1 = (size_t)ceil(c1), k2 = (size_t)ceil(c2);
    double *work = churn__malloc(churn__mul_size(n, sizeof *work));
    if (!work)
        return churn__nomem("the ranking of customers");
    memcpy(work, value, n * sizeof *work);
    double t1 = k1 == 0 ? INFINITY : select_kth(work, n, n - (k1 < n ? k1 : n));
    double t2 = k2 == 0 ? INFINITY : select_kth(work, n, n - (k2 < n ? k2 : n));
    churn__free(work);
    double total = 0, top = 0;
    for (size_t i = 0; i < n; i++) {
        double v = value[i];
        int t = v >= t1 ? CHURN_TIER_KEY : v >= t2 ? CHURN_TIER_IMPORTANT : CHURN_TIER_ORDINARY;
        total += v;
        if (t == CHURN_TIER_KEY)
            top += v;
        if (tier)
            tier[i] = t;
    }
    if (key_share)
        *key_share = total > 0 ? top / total : 0.0;
    return CHURN_OK;
}
