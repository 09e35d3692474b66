/*
 * Pareto/NBD (Schmittlein, Morrison & Colombo 1987): the family descriptor
 * used by the generic BTYD machinery (btyd.c, fit.c). Calls core/ only.
 *
 * Parameters (r, alpha, s, beta): purchase rate lambda ~ Gamma(r, rate alpha),
 * dropout rate mu ~ Gamma(s, rate beta); while alive a customer buys as a
 * Poisson(lambda) process, and dies after an Exp(mu) lifetime.
 *
 * The likelihood. Given lambda and mu, a customer with x repeat purchases,
 * the last at t_x, observed until T either is alive at T or died at some
 * tau in (t_x, T]:
 *   L(lambda, mu) = lambda^x e^-(lambda+mu)T + lambda^x mu int_{t_x}^T e^-(lambda+mu)tau dtau.
 * Integrating lambda and mu against their gammas (Fader & Hardie 2005,
 * "A note on deriving the Pareto/NBD model and related expressions", section 3):
 *   L = G(r+x) alpha^r beta^s / G(r) * [ f0(T) + s int_{t_x}^T (alpha+tau)^-(r+x) (beta+tau)^-(s+1) dtau ]
 * with f0(t) = (alpha+t)^-(r+x) (beta+t)^-s. With the tail integral
 *   J(P, Q; t) = int_t^inf (alpha+tau)^-P (beta+tau)^-Q dtau
 * (a Gauss hypergeometric function, see special.h) and the integration by
 * parts f0(t) - s J(r+x, s+1; t) = (r+x) J(r+x+1, s; t), the bracket is
 *   V = (r+x) J(r+x+1, s; T) + s J(r+x, s+1; t_x),
 * a sum of two positive terms: no cancellation between the 2F1 terms at t_x
 * and at T as in the textbook A0 form, and it stays accurate for t_x close to
 * T, for alpha ~ beta, and for |z| -> 1 (special.c switches from its series
 * to quadrature there). The gradient with respect to (r, alpha, s, beta)
 * comes from the derivatives of log J that special.c carries along the same
 * series or quadrature, so it is exact up to rounding.
 */
#include "btyd/btyd_internal.h"
#include "core/special.h"

#include <float.h>
#include <stdint.h>
#include <string.h>

static const char *const pnbd_names[] = {"r", "alpha", "s", "beta"};

/* lgamma(r+x) - lgamma(r), digamma(r+x) - digamma(r) (and trigamma) and
 * log(r+s+x) for integer x below this are built by recurrence once per
 * likelihood call; larger or fractional x call lgamma/digamma. */
#define PNBD_TABLE 256

/* Terms of the Hessian series tabulated per purchase count in
 * churn__pnbd_loglik_hess (special.h, churn__tail_table). */
#define PNBD_TAIL_TERMS 128

typedef struct pnbd_row {
    double lead, v;  /* log of the bracket V = lead + log(v), v > 0 */
    double dV[4];    /* d log V / d(r, alpha, s, beta), when wanted */
} pnbd_row;

/* Compensated (Neumaier) sum: the log-likelihood of a million customers is
 * a sum of a million terms whose naive rounding error (~1e-11 relative)
 * would swamp the changes the optimiser has to see near the optimum. */
typedef struct pnbd_ksum {
    double s, c;
} pnbd_ksum;

static inline void ksum_add(pnbd_ksum *a, double v)
{
    double t = a->s + v;
    a->c += fabs(a->s) >= fabs(v) ? (a->s - t) + v : (v - t) + a->s;
    a->s = t;
}

/* Sum of w_i log v_i: rows of weight 1 (most rows when times are
 * continuous) are multiplied together and the log is taken once at the end;
 * the product is kept as mantissa and binary exponent so it cannot overflow. */
typedef struct pnbd_logsum {
    pnbd_ksum sum;
    double prod;
    long exp2;
} pnbd_logsum;

static void logsum_add(pnbd_logsum *a, double v, double w)
{
    if (w != 1.0) {
        ksum_add(&a->sum, w * log(v));
        return;
    }
    a->prod *= v;
    if (!(a->prod < 1e150 && a->prod > 1e-150)) {
        int e;
        a->prod = frexp(a->prod, &e);
        a->exp2 += e;
    }
}

static double logsum_value(const pnbd_logsum *a)
{
    return a->sum.s + a->sum.c + log(a->prod) + (double)a->exp2 * M_LN2;
}

/* Per-call constants shared by the rows. */
typedef struct pnbd_ctx {
    double r, al, s, be, log_al, log_be;
    int want;
    int have_zero;             /* J(r, s+1; 0) of the x = 0 rows, computed once */
    churn__tail_parts zero;
} pnbd_ctx;

static void pnbd_ctx_init(pnbd_ctx *c, const double *p, int want)
{
    c->r = p[0];
    c->al = p[1];
    c->s = p[2];
    c->be = p[3];
    c->log_al = log(p[1]);
    c->log_be = log(p[3]);
    c->want = want;
    c->have_zero = 0;
}

/* J(r, s+1; 0), shared by every x = 0 row. */
static int pnbd_zero_tail(pnbd_ctx *c)
{
    if (!c->have_zero) {
        if (churn__pnbd_tail_parts(c->r, c->s + 1.0, c->al, c->be, 0.0, c->log_al, c->log_be, 1,
                                   &c->zero) != CHURN_OK)
            return CHURN_ENUMERIC;
        c->have_zero = 1;
    }
    return CHURN_OK;
}

/* a V = (r+x) J1 + s J2 with J = e^lpre S / a; factor out the larger
 * exponential. log_a = log(r+s+x), common to both J. */
static int pnbd_combine(const pnbd_ctx *c, double P, double log_a, const churn__tail_parts *j1,
                        const churn__tail_parts *j2, pnbd_row *out)
{
    double s = c->s, v1 = P * j1->S, v2 = s * j2->S, lead, v;
    if (j1->lpre >= j2->lpre) {
        v2 *= exp(j2->lpre - j1->lpre);
        lead = j1->lpre;
    } else {
        v1 *= exp(j1->lpre - j2->lpre);
        lead = j2->lpre;
    }
    v = v1 + v2;
    out->lead = lead - log_a;
    out->v = v;
    if (c->want) {
        /* v1/v, v2/v are the two shares of V; j1->d, j2->d are with respect to
         * (P, Q, alpha, beta) of each J, and P moves with r, Q with s. */
        double w1 = v1 / v, w2 = v2 / v;
        out->dV[0] = w1 * (1.0 / P + j1->d[0]) + w2 * j2->d[0];
        out->dV[1] = w1 * j1->d[2] + w2 * j2->d[2];
        out->dV[2] = w1 * j1->d[1] + w2 * (1.0 / s + j2->d[1]);
        out->dV[3] = w1 * j1->d[3] + w2 * j2->d[3];
    }
    return isfinite(out->lead) && v > 0.0 && v < INFINITY ? CHURN_OK : CHURN_ENUMERIC;
}

/* log V for one customer and (optionally) its gradient. log_a = log(r+s+x). */
static int pnbd_bracket(pnbd_ctx *c, double x, double tx, double T, double log_a, pnbd_row *out)
{
    double al = c->al, s = c->s, be = c->be, P = c->r + x;
    int want = c->want;
    double lat = log(al + T), lbt = log(be + T);

    if (tx >= T) {
        /* Last purchase at T: certainly alive then, V = f0(T). */
        out->lead = -P * lat - s * lbt;
        out->v = 1.0;
        if (want) {
            out->dV[0] = -lat;
            out->dV[1] = -P / (al + T);
            out->dV[2] = -lbt;
            out->dV[3] = -s / (be + T);
        }
        return CHURN_OK;
    }
    churn__tail_parts jj[2];
    if (x == 0.0 && tx == 0.0) {
        if (pnbd_zero_tail(c) != CHURN_OK ||
            churn__pnbd_tail_parts(P + 1.0, s, al, be, T, lat, lbt, want, &jj[0]) != CHURN_OK)
            return CHURN_ENUMERIC;
        return pnbd_combine(c, P, log_a, &jj[0], &c->zero, out);
    }
    const double Pv[2] = {P + 1.0, P}, Qv[2] = {s, s + 1.0}, tv[2] = {T, tx};
    const double la[2] = {lat, log(al + tx)}, lb[2] = {lbt, log(be + tx)};
    if (churn__pnbd_tail_pair(al, be, Pv, Qv, tv, la, lb, want, jj) != CHURN_OK)
        return CHURN_ENUMERIC;
    return pnbd_combine(c, P, log_a, &jj[0], &jj[1], out);
}

/* Two customers with x = 0 (t_x = 0 < T): their J(r+1, s; T) run as a pair. */
static int pnbd_zero_pair(pnbd_ctx *c, double Ta, double Tb, double log_a, pnbd_row *out)
{
    double al = c->al, be = c->be, r = c->r;
    const double Pv[2] = {r + 1.0, r + 1.0}, Qv[2] = {c->s, c->s}, tv[2] = {Ta, Tb};
    const double la[2] = {log(al + Ta), log(al + Tb)}, lb[2] = {log(be + Ta), log(be + Tb)};
    churn__tail_parts jj[2];
    if (pnbd_zero_tail(c) != CHURN_OK ||
        churn__pnbd_tail_pair(al, be, Pv, Qv, tv, la, lb, c->want, jj) != CHURN_OK ||
        pnbd_combine(c, r, log_a, &jj[0], &c->zero, &out[0]) != CHURN_OK ||
        pnbd_combine(c, r, log_a, &jj[1], &c->zero, &out[1]) != CHURN_OK)
        return CHURN_ENUMERIC;
    return CHURN_OK;
}

static int pnbd_loglik(const double *p, size_t n, const double *x, const double *tx,
                       const double *T, const double *w, double *ll, double *grad_log)
{
    double r = p[0], al = p[1], s = p[2], be = p[3];
    int want = grad_log != NULL;
    /* lgamma(r+x) - lgamma(r) (a sum of log(r+k)), digamma(r+x) - digamma(r)
     * and log(r+s+x) for the integer x that occur, by recurrence. */
    double lgr[PNBD_TABLE], dgr[PNBD_TABLE], lrx[PNBD_TABLE], lrsx[PNBD_TABLE];
    size_t top = 0;
    pnbd_ctx c;

    if (!(r > 0.0 && al > 0.0 && s > 0.0 && be > 0.0))
        return CHURN_ENUMERIC;
    pnbd_ctx_init(&c, p, want);
    for (size_t i = 0; i < n; i++)
        if (x[i] < PNBD_TABLE && x[i] >= (double)top && x[i] == floor(x[i]))
            top = (size_t)x[i] + 1;
    if (top > 0) {
        lgr[0] = dgr[0] = 0.0;
        lrx[0] = log(r);
        lrsx[0] = log(r + s);
    }
    for (size_t k = 1; k < top; k++) {
        lgr[k] = lgr[k - 1] + lrx[k - 1];
        dgr[k] = dgr[k - 1] + 1.0 / (r + (double)(k - 1));
        lrx[k] = log(r + (double)k);
        lrsx[k] = log(r + s + (double)k);
    }

    double lgr0 = lgamma(r), dgr0 = want ? churn__digamma(r) : 0.0;
    pnbd_ksum sum = {0.0, 0.0};
    double wsum = 0.0, g[4] = {0.0, 0.0, 0.0, 0.0}, gx = 0.0, w0sum = 0.0;
    double log_a0 = log(r + s);
    size_t pending = n; /* an x = 0 row waiting for a partner */
    pnbd_logsum lv = {{0.0, 0.0}, 1.0, 0};
    for (size_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0, xi = x[i];
        if (wi == 0.0)
            continue;
        pnbd_row row[2];
        if (xi == 0.0 && tx[i] == 0.0 && T[i] > 0.0) {
            /* x = 0 rows: lgamma and digamma terms vanish; pair them up. */
            if (pending == n) {
                pending = i;
                continue;
            }
            if (pnbd_zero_pair(&c, T[pending], T[i], log_a0, row) != CHURN_OK)
                return CHURN_ENUMERIC;
            double wp = w ? w[pending] : 1.0;
            ksum_add(&sum, wp * row[0].lead);
            ksum_add(&sum, wi * row[1].lead);
            logsum_add(&lv, row[0].v, wp);
            logsum_add(&lv, row[1].v, wi);
            w0sum += wp + wi;
            if (want)
                for (int k = 0; k < 4; k++)
                    g[k] += wp * row[0].dV[k] + wi * row[1].dV[k];
            pending = n;
            continue;
        }
        double lg, dg, la;
        if (xi < (double)top && xi == floor(xi)) {
            size_t k = (size_t)xi;
            lg = lgr[k];
            dg = dgr[k];
            la = lrsx[k];
        } else {
            lg = lgamma(r + xi) - lgr0;
            dg = want ? churn__digamma(r + xi) - dgr0 : 0.0;
            la = log(r + s + xi);
        }
        if (pnbd_bracket(&c, xi, tx[i], T[i], la, &row[0]) != CHURN_OK)
            return CHURN_ENUMERIC;
        ksum_add(&sum, wi * (lg + row[0].lead));
        logsum_add(&lv, row[0].v, wi);
        wsum += wi;
        if (want) {
            gx += wi * dg;
            for (int k = 0; k < 4; k++)
                g[k] += wi * row[0].dV[k];
        }
    }
    if (pending != n) {
        pnbd_row row;
        double wp = w ? w[pending] : 1.0;
        if (pnbd_bracket(&c, 0.0, 0.0, T[pending], log_a0, &row) != CHURN_OK)
            return CHURN_ENUMERIC;
        ksum_add(&sum, wp * row.lead);
        logsum_add(&lv, row.v, wp);
        w0sum += wp;
        if (want)
            for (int k = 0; k < 4; k++)
                g[k] += wp * row.dV[k];
    }
    wsum += w0sum;
    ksum_add(&sum, logsum_value(&lv));
    /* The constant part r log alpha + s log beta, once for all rows. */
    ksum_add(&sum, wsum * (r * c.log_al + s * c.log_be));
    *ll = sum.s + sum.c;
    if (!isfinite(*ll))
        return CHURN_ENUMERIC;
    if (want) {
        double d[4] = {gx + g[0] + wsum * c.log_al, g[1] + wsum * r / al,
                       g[2] + wsum * c.log_be, g[3] + wsum * s / be};
        for (int k = 0; k < 4; k++) {
            grad_log[k] = p[k] * d[k];
            if (!isfinite(grad_log[k]))
                return CHURN_ENUMERIC;
        }
    }
    return CHURN_OK;
}

/* ---- log-likelihood with its analytic Hessian -------------------------------- */

/* Same value as pnbd_loglik, plus the Hessian (4 x 4 row-major) in the
 * log-parameters, so that a Newton optimiser needs one evaluation per
 * iteration instead of a finite-difference Hessian. Signature of
 * churn__btyd_hess_fn (btyd_internal.h). */
CHURN__HIDDEN int churn__pnbd_loglik_hess(const double *p, size_t n, const double *x,
                                          const double *tx, const double *T, const double *w,
                                          double *ll, double *grad, double *hess);

/* The tails of one likelihood pass depend on the row only through (x, t):
 * J(r+x+1, s; T) and J(r+x, s+1; t_x). Rows of whole-week or whole-day data
 * share them far more often than they share (x, t_x, T): the 100,000
 * frequent buyers of bench_btydfit have 90,119 distinct rows but 6,544
 * distinct (x, T) and 11,107 distinct (x, t_x) with t_x < T. So the pass
 * keeps the tails it computed: J(.; T) of the previous row (rows come
 * sorted by (x, T, t_x)), and the J(.; t_x) of one x in a direct-mapped memo
 * keyed by (x, t_x). A hit gives the value the call would compute (the same
 * function of the same arguments, bit for bit); a miss costs a lookup.
 * The memo's slot is t_x in units of the smallest gap between two t_x of a
 * run of equal (x, T) (a day, when times are whole days in any unit), so
 * the t_x of a whole-day table within PNBD_MEMO days of each other never
 * share a slot; continuous times miss and pay as before. On the stack (a
 * likelihood pass allocates nothing): log J, its gradient and the Hessian's
 * 10 distinct entries per slot. */
#define PNBD_MEMO 512

typedef struct pnbd_memo {
    double x, t, lJ, g[4], H[10];
} pnbd_memo;

/* the upper triangle of a 4 x 4 row-major matrix, row by row */
static const int pnbd_tri[10] = {0, 1, 2, 3, 5, 6, 7, 10, 11, 15};

static void pnbd_memo_put(pnbd_memo *e, double x, double t, double lJ, const double *g,
                          const double *H)
{
    e->x = x;
    e->t = t;
    e->lJ = lJ;
    memcpy(e->g, g, sizeof e->g);
    for (int k = 0; k < 10; k++)
        e->H[k] = H[pnbd_tri[k]];
}


/* 1 / the smallest positive gap between consecutive t_x of a run of equal
 * (x, T), or 0 when there is none (the slot is then a hash of t_x). */
static double pnbd_memo_scale(size_t n, const double *x, const double *tx, const double *T)
{
    double gap = INFINITY;
    for (size_t i = 1; i < n; i++)
        if (x[i] == x[i - 1] && T[i] == T[i - 1] && tx[i] > tx[i - 1] && tx[i] - tx[i - 1] < gap)
            gap = tx[i] - tx[i - 1];
    return gap < INFINITY ? 1.0 / gap : 0.0;
}

static inline size_t pnbd_memo_slot(double t, double scale)
{
    double u = t * scale;
    if (scale > 0.0 && u >= 0.0 && u < 4503599627370496.0) /* 2^52 */
        return (size_t)(uint64_t)(u + 0.5) & (PNBD_MEMO - 1);
    uint64_t b;
    memcpy(&b, &t, sizeof b);
    return (size_t)((b * 0x9E3779B97F4A7C15u) >> 40) & (PNBD_MEMO - 1);
}

/* One row's log V = log((r+x) J1 + s J2) with its gradient gV and the upper
 * triangle HV[10] (pnbd_tri order) of its Hessian in (r, alpha, s, beta),
 * from log J, gradient and Hessian (upper triangle, pnbd_tri order) of each
 * tail in the tail order (P, Q, alpha, beta); lP = log(r+x), iP = 1/(r+x),
 * ls = log(s), is = 1/s. Returns log V as the larger of log V_1, log V_2
 * and *v in [1, 2], log V = that + log(*v) (the caller takes the logarithm
 * of a product of many *v at once).
 * d2 log V = sum_k w_k (d2 log V_k + u_k u_k') - g g', g = sum_k w_k u_k,
 * V_1 = (r+x) J1, V_2 = s J2, w_k = V_k / V. Written out entry by entry so
 * that it stays in registers. */
static inline __attribute__((always_inline)) double
pnbd_combine_hess(double P, double s, double iP, double is, double lP, double ls, double lJ1,
                  const double *g1, const double *H1, double lJ2, const double *g2,
                  const double *H2, double *gV, double *HV, double *v)
{
    /* u_k in (r, alpha, s, beta): the tail order maps P -> r, Q -> s */
    const double u1[4] = {g1[0] + iP, g1[2], g1[1], g1[3]};
    const double u2[4] = {g2[0], g2[2], g2[1] + is, g2[3]};
    double A1 = lP + lJ1, A2 = ls + lJ2, lead, w1, w2;
    if (A1 >= A2) {
        double e = exp(A2 - A1);
        lead = A1;
        *v = 1.0 + e;
        w1 = 1.0 / *v;
        w2 = e * w1;
    } else {
        double e = exp(A1 - A2);
        lead = A2;
        *v = 1.0 + e;
        w2 = 1.0 / *v;
        w1 = e * w2;
    }
    for (int a = 0; a < 4; a++)
        gV[a] = w1 * u1[a] + w2 * u2[a];
    /* natural (a, b) <- tail entry t: (r, r) <- (P, P), (r, alpha) <- (P, alpha),
     * (r, s) <- (P, Q), (alpha, alpha) <- (alpha, alpha), (alpha, s) <- (Q, alpha),
     * (s, s) <- (Q, Q), ... in the packed tail order 0..9 of pnbd_tri */
#define PNBD_HE(k, a, b, t)                                                                       \
    HV[k] = w1 * (H1[t] + u1[a] * u1[b]) + w2 * (H2[t] + u2[a] * u2[b]) - gV[a] * gV[b]
    PNBD_HE(0, 0, 0, 0);
    PNBD_HE(1, 0, 1, 2);
    PNBD_HE(2, 0, 2, 1);
    PNBD_HE(3, 0, 3, 3);
    PNBD_HE(4, 1, 1, 7);
    PNBD_HE(5, 1, 2, 5);
    PNBD_HE(6, 1, 3, 8);
    PNBD_HE(7, 2, 2, 4);
    PNBD_HE(8, 2, 3, 6);
    PNBD_HE(9, 3, 3, 9);
#undef PNBD_HE
    HV[0] -= w1 / (P * P); /* d2 log(r+x) */
    HV[7] -= w2 / (s * s); /* d2 log s */
    return lead;
}

/* The upper triangle (pnbd_tri order) of a 4 x 4 matrix. */
static inline void pnbd_pack(const double *H, double *h)
{
    for (int k = 0; k < 10; k++)
        h[k] = H[pnbd_tri[k]];
}

CHURN_AVX2_CLONES
int churn__pnbd_loglik_hess(const double *p, size_t n, const double *x, const double *tx,
                            const double *T, const double *w, double *ll, double *grad,
                            double *hess)
{
    double r = p[0], al = p[1], s = p[2], be = p[3];
    if (!(r > 0.0 && al > 0.0 && s > 0.0 && be > 0.0))
        return CHURN_ENUMERIC;
    double lal = log(al), lbe = log(be), lgr0 = lgamma(r), dgr0 = churn__digamma(r),
           tgr0 = churn__trigamma(r), ls = log(s), is = 1.0 / s;
    double z_lJ = 0.0, z_g[4], z_H[10];
    int have_zero = 0;
    /* lgamma, digamma, trigamma differences for integer x by recurrence */
    double lgr[PNBD_TABLE], dgr[PNBD_TABLE], tgr[PNBD_TABLE];
    size_t top = 0;
    for (size_t i = 0; i < n; i++)
        if (x[i] < PNBD_TABLE && x[i] >= (double)top && x[i] == floor(x[i]))
            top = (size_t)x[i] + 1;
    if (top > 0)
        lgr[0] = dgr[0] = tgr[0] = 0.0;
    for (size_t k = 1; k < top; k++) {
        double rk = r + (double)(k - 1);
        lgr[k] = lgr[k - 1] + log(rk);
        dgr[k] = dgr[k - 1] + 1.0 / rk;
        tgr[k] = tgr[k - 1] - 1.0 / (rk * rk);
    }
    pnbd_ksum sum = {0.0, 0.0};
    pnbd_logsum lv = {{0.0, 0.0}, 1.0, 0};
    double G[4] = {0.0, 0.0, 0.0, 0.0}, Hs[10] = {0.0}, wsum = 0.0;
    /* the series coefficients of the two tails, shared by the rows of one x
     * (rows come sorted by x); 2 x 10 KB of stack, longer series continue by
     * recurrence */
    double tabmem[2][PNBD_TAIL_TERMS * CHURN__TAIL_TABLE_WIDTH];
    churn__tail_table tab[2];
    memset(tab, 0, sizeof tab);
    for (int k = 0; k < 2; k++) {
        tab[k].c = tabmem[k];
        tab[k].cap = n > 1 ? PNBD_TAIL_TERMS : 0;
    }
    /* the tails kept (above): J(.; T) of the previous row in lJ1, g1, H1,
     * the memo of J(.; t_x) (69 KB) */
    double lJ1 = 0.0, g1[4] = {0.0}, H1[10] = {0.0}, last_x = NAN, last_T = NAN;
    pnbd_memo memo[PNBD_MEMO];
    double mscale = 0.0;
    int use_memo = n > PNBD_MEMO;
    if (use_memo) {
        for (size_t k = 0; k < PNBD_MEMO; k++)
            memo[k].x = NAN;
        mscale = pnbd_memo_scale(n, x, tx, T);
    }
    double lP = 0.0, iP = 0.0, lP_x = NAN; /* log(r+x), 1/(r+x) of the last x */
    for (size_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0, xi = x[i], ti = tx[i], Ti = T[i], P = r + xi;
        if (wi == 0.0)
            continue;
        double logV, gV[4], HV[10], v = 1.0; /* log V = logV + log v */
        if (ti >= Ti) {
            double lat = log(al + Ti), lbt = log(be + Ti);
            logV = -P * lat - s * lbt;
            gV[0] = -lat;
            gV[1] = -P / (al + Ti);
            gV[2] = -lbt;
            gV[3] = -s / (be + Ti);
            memset(HV, 0, sizeof HV);
            HV[1] = -1.0 / (al + Ti);                /* (r, alpha) */
            HV[4] = P / ((al + Ti) * (al + Ti));     /* (alpha, alpha) */
            HV[8] = -1.0 / (be + Ti);                /* (s, beta) */
            HV[9] = s / ((be + Ti) * (be + Ti));     /* (beta, beta) */
        } else {
            double lJ2, g2b[4], H2b[16];
            const double *g2 = g2b, *H2 = H2b;
            if (!(last_x == xi && last_T == Ti)) {
                double H1f[16];
                last_x = NAN;
                if (churn__pnbd_tail_hess_table(&tab[0], P + 1.0, s, al, be, Ti, log(al + Ti),
                                                log(be + Ti), &lJ1, g1, H1f) != CHURN_OK)
                    goto numeric;
                pnbd_pack(H1f, H1);
                last_x = xi;
                last_T = Ti;
            }
            if (xi == 0.0 && ti == 0.0) {
                if (!have_zero) {
                    double zf[16];
                    if (churn__pnbd_tail_hess(r, s + 1.0, al, be, 0.0, lal, lbe, &z_lJ, z_g,
                                              zf) != CHURN_OK)
                        goto numeric;
                    pnbd_pack(zf, z_H);
                    have_zero = 1;
                }
                lJ2 = z_lJ;
                g2 = z_g;
                H2 = z_H;
            } else {
                pnbd_memo *e = use_memo ? &memo[pnbd_memo_slot(ti, mscale)] : NULL;
                if (e && e->x == xi && e->t == ti) {
                    lJ2 = e->lJ;
                    g2 = e->g;
                    H2 = e->H;
                } else {
                    if (churn__pnbd_tail_hess_table(&tab[1], P, s + 1.0, al, be, ti,
                                                    log(al + ti), log(be + ti), &lJ2, g2b,
                                                    H2b) != CHURN_OK)
                        goto numeric;
                    if (e) {
                        pnbd_memo_put(e, xi, ti, lJ2, g2b, H2b);
                        g2 = e->g;
                        H2 = e->H;
                    } else {
                        pnbd_pack(H2b, H2b);
                    }
                }
            }
            if (lP_x != xi) {
                lP = log(P);
                iP = 1.0 / P;
                lP_x = xi;
            }
            logV = pnbd_combine_hess(P, s, iP, is, lP, ls, lJ1, g1, H1, lJ2, g2, H2, gV, HV, &v);
        }
        double lg, dg, tg;
        if (xi < (double)top && xi == floor(xi)) {
            size_t k = (size_t)xi;
            lg = lgr[k];
            dg = dgr[k];
            tg = tgr[k];
        } else {
            lg = lgamma(P) - lgr0;
            dg = churn__digamma(P) - dgr0;
            tg = churn__trigamma(P) - tgr0;
        }
        ksum_add(&sum, wi * (lg + logV));
        if (v != 1.0)
            logsum_add(&lv, v, wi);
        wsum += wi;
        G[0] += wi * (gV[0] + dg);
        G[1] += wi * gV[1];
        G[2] += wi * gV[2];
        G[3] += wi * gV[3];
        Hs[0] += wi * tg;
        for (int k = 0; k < 10; k++)
            Hs[k] += wi * HV[k];
    }
    ksum_add(&sum, logsum_value(&lv));
    ksum_add(&sum, wsum * (r * lal + s * lbe));
    *ll = sum.s + sum.c;
    if (!isfinite(*ll))
        return CHURN_ENUMERIC;
    /* + r log alpha + s log beta for every row: gradient (log alpha, r/alpha,
     * log beta, s/beta), Hessian 1/alpha at (r, alpha), -r/alpha^2 at
     * (alpha, alpha), the same for (s, beta) */
    double Gt[4] = {G[0] + wsum * lal, G[1] + wsum * (r / al), G[2] + wsum * lbe,
                    G[3] + wsum * (s / be)};
    double Hf[16];
    Hs[1] += wsum * (1.0 / al);
    Hs[4] -= wsum * (r / (al * al));
    Hs[8] += wsum * (1.0 / be);
    Hs[9] -= wsum * (s / (be * be));
    for (int k = 0; k < 10; k++) {
        int a = pnbd_tri[k] >> 2, b = pnbd_tri[k] & 3;
        Hf[a * 4 + b] = Hf[b * 4 + a] = Hs[k];
    }
    /* to log-parameters: d2/dtheta_a dtheta_b = p_a p_b H_ab + [a = b] p_a G_a */
    for (int a = 0; a < 4; a++) {
        if (grad)
            grad[a] = p[a] * Gt[a];
        for (int b = 0; b < 4; b++) {
            hess[a * 4 + b] = p[a] * p[b] * Hf[a * 4 + b] + (a == b ? p[a] * Gt[a] : 0.0);
            if (!isfinite(hess[a * 4 + b]))
                return CHURN_ENUMERIC;
        }
    }
    return CHURN_OK;
numeric:
    return CHURN_ENUMERIC;
}

/* ---- predictions ------------------------------------------------------------ */

/* P(alive at T | x, t_x, T) = f0(T) / V (the "alive" part of the likelihood
 * over the whole; Fader & Hardie 2005 note, section 5, in a form without
 * the A0 difference). */
static double pnbd_p_alive(const double *p, double x, double tx, double T)
{
    if (tx >= T)
        return 1.0;
    pnbd_ctx c;
    pnbd_row row;
    pnbd_ctx_init(&c, p, 0);
    if (pnbd_bracket(&c, x, tx, T, log(p[0] + p[2] + x), &row) != CHURN_OK)
        return NAN;
    double lf0 = -(p[0] + x) * log(p[1] + T) - p[2] * log(p[3] + T);
    double pa = exp(lf0 - row.lead - log(row.v));
    return pa > 1.0 ? 1.0 : pa;
}

/* [1 - (1 + u)^-(s-1)] / (s-1) with L = log(1+u), continuous through s = 1
 * where it is L. */
static double pnbd_rel_power(double s, double L)
{
    double e = s - 1.0;
    if (fabs(e * L) < 1e-8)
        return L * (1.0 - 0.5 * e * L);
    return -expm1(-e * L) / e;
}

/* E[X(T, T+t) | x, t_x, T] = P(alive) (r+x)(beta+T) / ((alpha+T)(s-1))
 *   * [1 - ((beta+T)/(beta+T+t))^(s-1)]   (Fader & Hardie 2005 note,
 * section 6; Schmittlein et al. 1987), with the s = 1 limit. */
static double pnbd_cond_expected(const double *p, double t, double x, double tx, double T)
{
    double pa = pnbd_p_alive(p, x, tx, T);
    double h = pnbd_rel_power(p[2], log1p(t / (p[3] + T)));
    return pa * (p[0] + x) / (p[1] + T) * (p[3] + T) * h;
}

/* The same at nh horizons: P(alive) (the costly part) once. */
static void pnbd_cond_expected_path(const double *p, size_t nh, const double *t, double x,
                                    double tx, double T, double *pa, double *e)
{
    *pa = pnbd_p_alive(p, x, tx, T);
    double f = *pa * (p[0] + x) / (p[1] + T) * (p[3] + T);
    for (size_t j = 0; j < nh; j++)
        e[j] = f * pnbd_rel_power(p[2], log1p(t[j] / (p[3] + T)));
}

/* E[X(t)] = r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)]
 * (Fader & Hardie 2005 note, section 4). */
static double pnbd_expected_new(const double *p, double t)
{
    return p[0] * p[3] / p[1] * pnbd_rel_power(p[2], log1p(t / p[3]));
}

double churn__pnbd_p_alive_at(const double *params, double t, double x, double tx, double T)
{
    /* Alive at T, mu | alive ~ Gamma(s, beta + T): survives t more with
     * probability ((beta+T)/(beta+T+t))^s. */
    return pnbd_p_alive(params, x, tx, T) * exp(-params[2] * log1p(t / (params[3] + T)));
}

typedef struct pmf_ctx {
    double k, rk, s1, al, be;
} pmf_ctx;

/* tau^(k+1) (alpha+tau)^-(r+k) (beta+tau)^-(s+1) in v = log tau. */
static double pmf_integrand(double v, void *vctx, double *mult)
{
    const pmf_ctx *c = vctx;
    double tau = exp(v);
    (void)mult;
    return (c->k + 1.0) * v - c->rk * log(c->al + tau) - c->s1 * log(c->be + tau);
}

/* P(X(t) = k) for a new customer. Either alive at t with k purchases (an NBD
 * term times P(mu-lifetime > t)), or died at tau < t after k purchases in
 * (0, tau]:
 *   P = G(r+k)/(G(r) k!) (alpha/(alpha+t))^r (t/(alpha+t))^k (beta/(beta+t))^s
 *     + G(r+k) alpha^r s beta^s / (G(r) k!) int_0^t tau^k (alpha+tau)^-(r+k) (beta+tau)^-(s+1) dtau.
 * This is the integral that Fader & Hardie's note "Deriving an
 * expression for P(X(t) = x) under the Pareto/NBD model" (2006) writes as
 * 2F1 terms with a finite sum; the quadrature avoids that sum's cancellation. */
static double pnbd_pmf(const double *p, double t, double k)
{
    double r = p[0], al = p[1], s = p[2], be = p[3];
    if (!(k >= 0.0) || !(t >= 0.0))
        return NAN;
    double lcoef = lgamma(r + k) - lgamma(r) - lgamma(k + 1.0);
    if (t == 0.0)
        return k == 0.0 ? 1.0 : 0.0;
    double lt = log(t);
    double alive = lcoef + r * (log(al) - log(al + t)) + k * (lt - log(al + t)) -
                   s * log1p(t / be);
    pmf_ctx c = {k, r + k, s + 1.0, al, be};
    /* Below v0 the integrand is e^((k+1) v) alpha^-(r+k) beta^-(s+1) (1 + O(e^v (r+k)/alpha
     * + e^v (s+1)/beta)): integrate that part analytically. */
    double v0 = fmin(lt, -log((r + k) / al + (s + 1.0) / be)) - 40.0;
    double ltail = (k + 1.0) * v0 - log(k + 1.0) - (r + k) * log(al) - (s + 1.0) * log(be);
    double val, lsc;
    double mag = (k + 1.0) * -v0 + (r + k) * fabs(log(al + t)) + (s + 1.0) * fabs(log(be + t));
    if (churn__quad_log(pmf_integrand, &c, 1, v0, lt, 1e-12, 2.0 * DBL_EPSILON * mag, &val,
                        &lsc) != CHURN_OK)
        return NAN;
    double lint = val > 0.0 ? churn__logaddexp(ltail, lsc + log(val)) : ltail;
    double dead = lcoef + r * log(al) + log(s) + s * log(be) + lint;
    double pr = exp(churn__logaddexp(alive, dead));
    return pr > 1.0 ? 1.0 : pr;
}

/* P(X(T, T+t) = k | x, t_x, T), the decomposition of Fader & Hardie's note
 * "Deriving the conditional PMF of the Pareto/NBD model": dead at T gives 0
 * purchases; alive at T, the posterior is lambda ~ Gamma(r+x, alpha+T),
 * mu ~ Gamma(s, beta+T), and by memorylessness the future is a Pareto/NBD
 * with those parameters. */
static double pnbd_cond_pmf(const double *p, double t, double k, double x, double tx, double T)
{
    double pa = pnbd_p_alive(p, x, tx, T);
    double post[4] = {p[0] + x, p[1] + T, p[2], p[3] + T};
    double pr = pa * pnbd_pmf(post, t, k);
    if (k == 0.0)
        pr += 1.0 - pa;
    return pr;
}

/* Every row's tails take the series (special.c's series_ok: y <= 0.97 at
 * t = 0, hence at every t) rather than the quadrature, whose Hessian costs
 * eight more quadratures: the analytic Hessian is then worth its price. */
static int pnbd_hess_cheap(const double *p)
{
    double A = fmax(p[1], p[3]), B = fmin(p[1], p[3]);
    return (A - B) / A <= 0.97;
}

const churn__btyd_family churn__pnbd_family = {
    CHURN_FAMILY_PNBD, 4, pnbd_names, pnbd_loglik, pnbd_p_alive, pnbd_cond_expected,
    pnbd_expected_new, pnbd_pmf, pnbd_cond_pmf, NULL, pnbd_cond_expected_path,
    8192, pnbd_hess_cheap, churn__pnbd_loglik_hess,
};
