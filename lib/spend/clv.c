/*
 * Customer lifetime value (spend.h): the discounted expected purchases of
 * any non-contractual BTYD model, the CLV and value at risk that combine them
 * with a spend estimate, and the contractual (sBG) CLV.
 *
 * References:
 *  - Python lifetimes' customer_lifetime_value(): the monthly-step CLV whose
 *    definition churn_clv_options reproduces.
 *
 * Cost: BG/NBD and MBG/NBD tables are ordered by (x, T) so that the series of
 * each distinct pair is summed once (clv_grouped), Pareto/NBD,
 * Gamma-Gompertz/NBD and MBG/CNBD-k tables are reduced to their distinct
 * (x, t_x, T) triples (clv_discounted; MBG/CNBD-k's posterior depends on t_x
 * through the Poisson events since the last purchase, so it cannot share by (x, T)).
 *
 * Calls core/, the public btyd/ functions (churn_btyd_* — the CLV's horizons
 * through churn_btyd_expected_purchases_path — and churn_sbg_derl) and
 * gamma_gamma.c (churn_gammagamma_expected_spend).
 */
#include "core/internal.h"

CHURN_API void churn_clv_options_init(churn_clv_options *opts)
{
    if (!opts)
        return;
    churn_clv_options d = CHURN_CLV_OPTIONS_INIT;
    *opts = d;
}

/* Copy and check the CLV options; resolve the default period from the
 * model's time unit so days and months are never silently mixed. */
static int clv_settings(const churn_model *btyd, const churn_clv_options *opts, const char *fn,
                        churn_clv_options *o)
{
    churn_clv_options d = CHURN_CLV_OPTIONS_INIT;
    *o = d;
    int rc = churn__opts_copy(o, sizeof *o, opts, "churn_clv_options");
    if (rc)
        return rc;
    if (o->horizon < 1)
        return churn__error(CHURN_EINVAL, "%s: option horizon = %d; need at least 1 period", fn,
                            o->horizon);
    if (!isfinite(o->period) || o->period < 0)
        return churn__error(CHURN_EINVAL, "%s: option period = %g is not a finite number >= 0",
                            fn, o->period);
    if (o->period == 0) {
        if (!(btyd->time_unit > 0))
            return churn__error(CHURN_EINVAL, "%s: option period is 0 (one month) but the model's "
                                "time unit is unknown; give the period length in the model's "
                                "time unit", fn);
        o->period = CHURN_UNIT_MONTH / btyd->time_unit;
    }
    if (!isfinite(o->discount) || o->discount < 0)
        return churn__error(CHURN_EINVAL, "%s: option discount = %g is not a finite rate >= 0",
                            fn, o->discount);
    if (!isfinite(o->margin))
        return churn__error(CHURN_EINVAL, "%s: option margin is not finite", fn);
    return CHURN_OK;
}

/* The model passes of the CLV on n customers: P(alive) (when pa != NULL),
 * the discounted expected purchases (lifetimes' customer_lifetime_value
 * without spend, generalised to any time unit) and the undiscounted expected
 * purchases over the whole horizon (when last != NULL).
 *
 * The H horizons kP of a customer go through churn_btyd_expected_purchases_path
 * in one call (P(alive) and the series coefficients shared, see btyd.h), in
 * blocks of customers whose H values fit a stack buffer: no allocation unless
 * the horizon exceeds CLV_STACK periods. The discount factors (1 + d)^-k are
 * a running product (within k ulps of pow). */
#define CLV_STACK 512

static int clv_passes(const churn_model *btyd, const churn_clv_options *o, size_t n,
                      const double *x, const double *tx, const double *T, double *pa,
                      double *disc, double *last)
{
    const size_t H = (size_t)o->horizon;
    double tk_stack[CLV_STACK], f_stack[CLV_STACK], e_stack[CLV_STACK], pa_stack[CLV_STACK];
    double *tk = tk_stack, *f = f_stack, *e = e_stack, *heap = NULL;
    size_t block = H <= CLV_STACK ? CLV_STACK / H : 1;
    if (H > CLV_STACK) {
        heap = churn__malloc(churn__mul_size(3 * H, sizeof(double)));
        if (!heap)
            return churn__nomem("CLV work arrays");
        tk = heap;
        f = heap + H;
        e = heap + 2 * H;
    }
    const double v = 1.0 / (1.0 + o->discount);
    double fk = 1.0;
    for (size_t k = 0; k < H; k++) {
        tk[k] = (double)(k + 1) * o->period;
        fk *= v;
        f[k] = fk;
    }
    int rc = CHURN_OK;
    for (size_t i0 = 0; i0 < n && !rc; i0 += block) {
        size_t m = n - i0 < block ? n - i0 : block;
        rc = churn_btyd_expected_purchases_path(btyd, m, x + i0, tx + i0, T + i0, H, tk,
                                                pa ? pa + i0 : pa_stack, e);
        if (rc) {
            /* the message names a row of the block: redo the checks over all rows
             * with the vectorised functions so that it names the caller's row */
            double *tmp = churn__malloc(churn__mul_size(n, sizeof(double)));
            int rc2 = tmp ? churn_btyd_p_alive(btyd, n, x, tx, T, tmp) : CHURN_OK;
            for (size_t k = 0; tmp && !rc2 && k < H; k++)
                rc2 = churn_btyd_expected_purchases(btyd, tk[k], n, x, tx, T, tmp);
            churn__free(tmp);
            if (rc2)
                rc = rc2;
            break;
        }
        for (size_t i = 0; i < m; i++) {
            const double *ei = e + i * H;
            double d = 0.0, prev = 0.0;
            for (size_t k = 0; k < H; k++) {
                /* E[X(T, T + kP)] - E[X(T, T + (k-1)P)]: purchases in period k */
                d += (ei[k] - prev) * f[k];
                prev = ei[k];
            }
            disc[i0 + i] = d;
            if (last)
                last[i0 + i] = prev;
            if (!isfinite(d))
                rc = churn__error(CHURN_ENUMERIC, "row %zu: discounted expected purchases not "
                                  "finite", i0 + i);
        }
    }
    churn__free(heap);
    return rc;
}

/* Distinct (x, t_x, T) triples of n rows: map[i] = index of row i's triple
 * among the *nu distinct ones, stored in u (3 * nu doubles: x, t_x, T
 * blocks). Open addressing on the bit patterns. Returns 0, or -1 when out of
 * memory or n is too large for 32-bit indices (the caller then skips it). */
static int distinct_triples(size_t n, const double *x, const double *tx, const double *T,
                            uint32_t **map_out, double **u_out, size_t *nu_out)
{
    if (n >= UINT32_MAX / 4)
        return -1;
    size_t cap = 64;
    while (cap < 2 * n)
        cap <<= 1;
    uint32_t *slot = churn__malloc(cap * sizeof *slot);
    uint32_t *map = churn__malloc(n * sizeof *map);
    double *u = churn__malloc(churn__mul_size(3 * n, sizeof(double)));
    if (!slot || !map || !u) {
        churn__free(slot);
        churn__free(map);
        churn__free(u);
        return -1;
    }
    memset(slot, 0xff, cap * sizeof *slot);
    size_t nu = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t a, b, c;
        memcpy(&a, &x[i], 8);
        memcpy(&b, &tx[i], 8);
        memcpy(&c, &T[i], 8);
        uint64_t h = a * 0x9E3779B97F4A7C15ULL;
        h = (h ^ (h >> 29) ^ b) * 0xBF58476D1CE4E5B9ULL;
        h = (h ^ (h >> 31) ^ c) * 0x94D049BB133111EBULL;
        h ^= h >> 32;
        size_t k = (size_t)h & (cap - 1);
        for (;;) {
            uint32_t j = slot[k];
            if (j == UINT32_MAX) {
                slot[k] = (uint32_t)nu;
                u[nu] = x[i];
                u[n + nu] = tx[i];
                u[2 * n + nu] = T[i];
                map[i] = (uint32_t)nu++;
                break;
            }
            if (memcmp(&u[j], &x[i], 8) == 0 && memcmp(&u[n + j], &tx[i], 8) == 0 &&
                memcmp(&u[2 * n + j], &T[i], 8) == 0) {
                map[i] = j;
                break;
            }
            k = (k + 1) & (cap - 1);
        }
    }
    churn__free(slot);
    /* compact the three blocks to nu entries each */
    memmove(u + nu, u + n, nu * sizeof(double));
    memmove(u + 2 * nu, u + 2 * n, nu * sizeof(double));
    *map_out = map;
    *u_out = u;
    *nu_out = nu;
    return 0;
}

/* The rows of n customers ordered so that equal (x, T) pairs are consecutive: order[k] = the
 * row at position k (pairs in order of first appearance, rows in their order within a pair),
 * *nu_out = the number of distinct pairs. Open addressing on the bit patterns, then a counting
 * sort by pair. Returns 0, or -1 when out of memory or n is too large for 32-bit indices (the
 * caller then skips it). */
static int group_pairs(size_t n, const double *x, const double *T, uint32_t **order_out,
                       size_t *nu_out)
{
    if (n >= UINT32_MAX / 4)
        return -1;
    size_t cap = 64;
    while (cap < 2 * n)
        cap <<= 1;
    uint32_t *slot = churn__malloc(cap * sizeof *slot);
    uint32_t *first = churn__malloc(n * sizeof *first); /* a row of each pair */
    uint32_t *map = churn__malloc(n * sizeof *map);
    uint32_t *order = churn__malloc(n * sizeof *order);
    if (!slot || !first || !map || !order) {
        churn__free(slot);
        churn__free(first);
        churn__free(map);
        churn__free(order);
        return -1;
    }
    memset(slot, 0xff, cap * sizeof *slot);
    size_t nu = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t a, c;
        memcpy(&a, &x[i], 8);
        memcpy(&c, &T[i], 8);
        uint64_t h = a * 0x9E3779B97F4A7C15ULL;
        h = (h ^ (h >> 29) ^ c) * 0xBF58476D1CE4E5B9ULL;
        h ^= h >> 32;
        size_t k = (size_t)h & (cap - 1);
        for (;;) {
            uint32_t j = slot[k];
            if (j == UINT32_MAX) {
                slot[k] = (uint32_t)nu;
                first[nu] = (uint32_t)i;
                map[i] = (uint32_t)nu++;
                break;
            }
            if (memcmp(&x[first[j]], &x[i], 8) == 0 && memcmp(&T[first[j]], &T[i], 8) == 0) {
                map[i] = j;
                break;
            }
            k = (k + 1) & (cap - 1);
        }
    }
    /* counting sort by pair: slot[] now holds the start of each pair's run */
    memset(slot, 0, (nu + 1) * sizeof *slot);
    for (size_t i = 0; i < n; i++)
        slot[map[i] + 1]++;
    for (size_t j = 0; j < nu; j++)
        slot[j + 1] += slot[j];
    for (size_t i = 0; i < n; i++)
        order[slot[map[i]]++] = (uint32_t)i;
    churn__free(slot);
    churn__free(first);
    churn__free(map);
    *order_out = order;
    *nu_out = nu;
    return 0;
}

/* clv_passes() on the rows ordered by (x, T) pairs (BG/NBD and MBG/NBD), so that the model
 * passes compute E[X(T, T + kP) | alive at T] — the hypergeometric series of the H horizons —
 * once per pair and only P(alive) per customer (churn_btyd_expected_purchases_path reuses it
 * over consecutive rows with the same x and T, btyd_internal.h). Customers who started on the
 * same day with the same number of purchases share it: the issue-22 table of 100,000 frequent
 * buyers has 6,643 pairs (90,119 distinct (x, t_x, T) triples). Every value is computed as on
 * the direct path, bit for bit; on any failure the direct path reruns, so that error messages
 * name the caller's row. */
static int clv_grouped(const churn_model *btyd, const churn_clv_options *o, size_t n,
                       const double *x, const double *tx, const double *T, double *pa,
                       double *disc, double *last)
{
    uint32_t *order = NULL;
    size_t nu = 0;
    if (group_pairs(n, x, T, &order, &nu) != 0)
        return clv_passes(btyd, o, n, x, tx, T, pa, disc, last);
    if (nu > n / 2) { /* few repeats: ordering would cost more than it saves */
        churn__free(order);
        return clv_passes(btyd, o, n, x, tx, T, pa, disc, last);
    }
    double *w = churn__malloc(churn__mul_size(6 * n, sizeof(double)));
    if (!w) {
        churn__free(order);
        return clv_passes(btyd, o, n, x, tx, T, pa, disc, last);
    }
    double *gx = w, *gtx = w + n, *gT = w + 2 * n, *gpa = w + 3 * n, *gd = w + 4 * n,
           *gl = w + 5 * n;
    for (size_t k = 0; k < n; k++) {
        uint32_t i = order[k];
        gx[k] = x[i];
        gtx[k] = tx[i];
        gT[k] = T[i];
    }
    int rc = clv_passes(btyd, o, n, gx, gtx, gT, pa ? gpa : NULL, gd, last ? gl : NULL);
    if (rc == CHURN_OK) {
        for (size_t k = 0; k < n; k++) {
            uint32_t i = order[k];
            if (pa)
                pa[i] = gpa[k];
            disc[i] = gd[k];
            if (last)
                last[i] = gl[k];
        }
    }
    churn__free(w);
    churn__free(order);
    if (rc)
        rc = clv_passes(btyd, o, n, x, tx, T, pa, disc, last);
    return rc;
}

/* clv_passes() on the distinct (x, t_x, T) triples only (Pareto/NBD): customers with the
 * same history get the same predictions, and real tables repeat histories a lot (one-time
 * buyers who started on the same day, ...), so the model passes — a hypergeometric function
 * per customer and period — run on far fewer rows. BG/NBD and MBG/NBD order the rows by
 * (x, T) instead (clv_grouped). On any failure the direct path reruns, so error messages
 * name the caller's row. */
static int clv_discounted(const churn_model *btyd, const churn_clv_options *o, size_t n,
                          const double *x, const double *tx, const double *T, double *pa,
                          double *disc, double *last)
{
    uint32_t *map = NULL;
    double *u = NULL;
    size_t nu = 0;
    if (n >= 256 && o->horizon <= 64 && (btyd->family == CHURN_FAMILY_BGNBD ||
                                         btyd->family == CHURN_FAMILY_MBGNBD))
        return clv_grouped(btyd, o, n, x, tx, T, pa, disc, last);
    if (n < 256 || distinct_triples(n, x, tx, T, &map, &u, &nu) != 0)
        return clv_passes(btyd, o, n, x, tx, T, pa, disc, last);
    if (nu > n / 10 * 9) {
        churn__free(map);
        churn__free(u);
        return clv_passes(btyd, o, n, x, tx, T, pa, disc, last);
    }
    double *out = churn__malloc(churn__mul_size(3 * nu, sizeof(double)));
    int rc = out ? clv_passes(btyd, o, nu, u, u + nu, u + 2 * nu, pa ? out : NULL, out + nu,
                              last ? out + 2 * nu : NULL)
                 : CHURN_ENOMEM;
    if (rc == CHURN_OK) {
        for (size_t i = 0; i < n; i++) {
            uint32_t j = map[i];
            if (pa)
                pa[i] = out[j];
            disc[i] = out[nu + j];
            if (last)
                last[i] = out[2 * nu + j];
        }
    }
    churn__free(out);
    churn__free(map);
    churn__free(u);
    if (rc)
        rc = clv_passes(btyd, o, n, x, tx, T, pa, disc, last);
    return rc;
}

CHURN_API int churn_clv_discounted_purchases(const churn_model *btyd,
                                             const churn_clv_options *opts, size_t n,
                                             const double *frequency, const double *recency,
                                             const double *T, double *discounted)
{
    churn__ok();
    static const char fn[] = "churn_clv_discounted_purchases";
    int rc = churn__model_check(btyd, fn, 5, CHURN_FAMILY_BGNBD, CHURN_FAMILY_MBGNBD,
                                CHURN_FAMILY_PNBD, CHURN_FAMILY_GGOMNBD, CHURN_FAMILY_MBGCNBD);
    if (rc)
        return rc;
    if (n && (!frequency || !recency || !T || !discounted))
        return churn__error(CHURN_EINVAL, "%s: NULL array", fn);
    churn_clv_options o;
    if ((rc = clv_settings(btyd, opts, fn, &o)))
        return rc;
    return clv_discounted(btyd, &o, n, frequency, recency, T, NULL, discounted, NULL);
}

CHURN_API int churn_clv_score(const churn_model *btyd, const churn_model *spend,
                              const churn_clv_options *opts, size_t n, const double *frequency,
                              const double *recency, const double *T,
                              const double *monetary_value, double *p_alive,
                              double *expected_purchases, double *expected_spend, double *clv,
                              double *value_at_risk)
{
    churn__ok();
    static const char fn[] = "churn_clv_score";
    /* two model arguments: the message names the one at fault (checked directly
     * first: churn__model_check_arg formats the list of families as it goes,
     * which the per-order path cannot afford) */
    int rc = CHURN_OK;
    int btyd_ok = btyd && (btyd->family == CHURN_FAMILY_BGNBD ||
                           btyd->family == CHURN_FAMILY_MBGNBD ||
                           btyd->family == CHURN_FAMILY_PNBD ||
                           btyd->family == CHURN_FAMILY_GGOMNBD ||
                           btyd->family == CHURN_FAMILY_MBGCNBD);
    if (!btyd_ok && (rc = churn__model_check_arg(btyd, fn, "btyd", 5, CHURN_FAMILY_BGNBD,
                                                 CHURN_FAMILY_MBGNBD, CHURN_FAMILY_PNBD,
                                                 CHURN_FAMILY_GGOMNBD, CHURN_FAMILY_MBGCNBD)))
        return rc;
    if (spend && spend->family != CHURN_FAMILY_GAMMAGAMMA &&
        (rc = churn__model_check_arg(spend, fn, "spend", 1, CHURN_FAMILY_GAMMAGAMMA)))
        return rc;
    if (n && (!frequency || !recency || !T || !monetary_value))
        return churn__error(CHURN_EINVAL, "%s: NULL input array", fn);
    churn_clv_options o;
    if ((rc = clv_settings(btyd, opts, fn, &o)))
        return rc;
    if (n == 0)
        return CHURN_OK;
    /* Work arrays for outputs the caller does not want: on the stack for a few
     * customers (the per-order path, n = 1, allocates nothing). */
    enum { SMALL = 16 };
    double small[3][SMALL];
    size_t nb = churn__mul_size(n, sizeof(double));
    double *pa = p_alive, *es = expected_spend, *disc = NULL, *own[3] = {NULL, NULL, NULL};
    if (!nb)
        return churn__nomem("CLV arrays");
    if (n <= SMALL) {
        pa = pa ? pa : small[0];
        es = es ? es : small[1];
        disc = small[2];
    } else {
        if (!pa && !(pa = own[0] = churn__malloc(nb)))
            return churn__nomem("CLV arrays");
        if (!es && !(es = own[1] = churn__malloc(nb))) {
            churn__free(own[0]);
            return churn__nomem("CLV arrays");
        }
        if (!(disc = own[2] = churn__malloc(nb))) {
            churn__free(own[0]);
            churn__free(own[1]);
            return churn__nomem("CLV arrays");
        }
    }
    rc = clv_discounted(btyd, &o, n, frequency, recency, T, pa, disc, expected_purchases);
    if (!rc) {
        if (spend) {
            rc = churn_gammagamma_expected_spend(spend, n, frequency, monetary_value, es);
        } else {
            for (size_t i = 0; i < n && !rc; i++) {
                if (isnan(monetary_value[i]))
                    rc = churn__error(CHURN_EINVAL, "%s: row %zu, column 'monetary_value' "
                                      "(expected spend) is NaN: the spend is unknown (a log "
                                      "without amounts); CLV needs amounts "
                                      "(churn_clv_discounted_purchases needs none)", fn, i);
                else if (!isfinite(monetary_value[i]))
                    rc = churn__error(CHURN_EINVAL, "%s: row %zu, column 'monetary_value' "
                                      "(expected spend): %g is not finite", fn, i,
                                      monetary_value[i]);
                es[i] = monetary_value[i];
            }
        }
    }
    if (!rc) {
        for (size_t i = 0; i < n; i++) {
            double c = o.margin * es[i] * disc[i];
            double var = 0.0;
            /* value_if_retained = clv / P(alive); value at risk =
             * value_if_retained * P(churn) (see spend.h). */
            if (pa[i] > 0 && pa[i] < 1)
                var = c * ((1.0 - pa[i]) / pa[i]);
            if (!isfinite(c) || !isfinite(var)) {
                rc = churn__error(CHURN_ENUMERIC, "%s: row %zu: CLV not finite (spend %g, "
                                  "discounted purchases %g, P(alive) %g)", fn, i, es[i],
                                  disc[i], pa[i]);
                break;
            }
            if (clv)
                clv[i] = c;
            if (value_at_risk)
                value_at_risk[i] = var;
        }
    }
    for (int j = 0; j < 3; j++)
        churn__free(own[j]);
    return rc;
}

CHURN_API int churn_clv_contractual(const churn_model *sbg, double value_per_period,
                                    double discount, size_t n, const double *periods,
                                    double *clv)
{
    churn__ok();
    static const char fn[] = "churn_clv_contractual";
    int rc = churn__model_check(sbg, fn, 1, CHURN_FAMILY_SBG);
    if (rc)
        return rc;
    if (!isfinite(value_per_period))
        return churn__error(CHURN_EINVAL, "%s: value_per_period is not finite", fn);
    if (n && !clv)
        return churn__error(CHURN_EINVAL, "%s: 'clv' is NULL", fn);
    rc = churn_sbg_derl(sbg, discount, n, periods, clv);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        clv[i] *= value_per_period;
    return CHURN_OK;
}
