/*
 * BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way:
 * an alternative to the Pareto/NBD model", Marketing Science 24(2)) and
 * MBG/NBD (Batislam, Denizel & Filiztekin 2007, "Empirical validation and
 * comparison of models for customer base analysis", IJRM 24(3)).
 *
 * Both: purchases follow a Poisson process with rate lambda ~ Gamma(r, alpha);
 * after each repeat purchase the customer drops out with probability
 * p ~ Beta(a, b). MBG/NBD also lets the customer drop out right after the
 * first purchase (time 0). Parameters: r, alpha, a, b (in that order).
 *
 * Everything is computed in log space. The one numerically delicate piece,
 * the Gauss hypergeometric function in the conditional expectation, is
 * rewritten with Euler's transformation so that its series converges at
 * least as fast as sum z^k whatever the purchase count x (see bg_series).
 */
#include "btyd/btyd_internal.h"
#include "core/special.h"


static const char *const bg_names[] = {"r", "alpha", "a", "b"};

/* ---- log-likelihood ------------------------------------------------------------ */

/* Terms of the log-likelihood that depend on x only (m = 0 BG/NBD, 1 MBG/NBD):
 *   lg = lgamma(r+x) - lgamma(r),  lb = lbeta(a, b+x+m) - lbeta(a, b)
 * and the differences of digammas/trigammas of their derivatives
 * (dpsc = psi(r+x) - psi(r), dpsb = psi(b+x+m) - psi(b), dpsab =
 * psi(a+b+x+m) - psi(a+b), and dtg* the same for psi'). Every one is kept as
 * a difference: when a and b run off to 1e8..1e9 together (a ridge of the
 * likelihood), lbeta(a, b) is ~ -1e9 and psi(b) ~ 20 while the differences
 * are O(x) and O(x/b), so differences of separately evaluated functions
 * would keep only 7 or 8 digits. Rows come sorted by x, so the next x is
 * reached by the recurrences lgamma(z+1) = lgamma(z) + log z,
 * psi(z+1) = psi(z) + 1/z, psi'(z+1) = psi'(z) - 1/z^2 when the gap is
 * small, with a fresh evaluation every 256 steps to keep rounding from piling
 * up. */
typedef struct bg_xterms {
    double x;
    int steps;
    double lg, lb, dpsc, dpsb, dpsab, dtgc, dtgb, dtgab;
} bg_xterms;

typedef struct bg_model {
    double r, al, a, b, m;
    double lal, la;
} bg_model;

/* Stirling remainder lgamma(z) - (z - 1/2) log z + z - log(2 pi)/2 for z >= 15
 * (A&S 6.1.41, terms to z^-9: below 2e-16 at z = 15). */
static double bg_stirling_tail(double z)
{
    double q = 1 / (z * z);
    return (1.0 / 12 - q * (1.0 / 360 - q * (1.0 / 1260 - q * (1.0 / 1680 - q / 1188)))) / z;
}

/* lgamma(y+x) - lgamma(y) for y > 0, x >= 0: for y >= 15 from Stirling's
 * form, (y - 1/2) log1p(x/y) + x log(y+x) - x + rem(y+x) - rem(y), which has
 * no difference of large numbers; below that lgamma(y) is small and the
 * plain difference is exact enough. */
static double bg_lgamma_diff(double y, double x)
{
    if (x == 0)
        return 0;
    if (y < 15)
        return churn__lngamma(y + x) - churn__lngamma(y);
    return (y - 0.5) * log1p(x / y) + x * log(y + x) - x + bg_stirling_tail(y + x) -
           bg_stirling_tail(y);
}

/* psi(y+x) - psi(y) (order 1) or psi'(y+x) - psi'(y) (order 2), the same way:
 * psi(z) = log z - 1/(2z) - sum_k B_2k / (2k z^2k) and
 * psi'(z) = 1/z + 1/(2z^2) + sum_k B_2k / z^(2k+1) (A&S 6.3.18, 6.4.12), the
 * leading differences taken in closed form. */
static double bg_psi_diff(double y, double x, int order)
{
    if (x == 0)
        return 0;
    if (y < 15)
        return order == 1 ? churn__psi(y + x) - churn__psi(y) : churn__psi_1(y + x) - churn__psi_1(y);
    double z = y + x, qz = 1 / (z * z), qy = 1 / (y * y);
    if (order == 1) {
        /* tails: B_2k/(2k) = 1/12, -1/120, 1/252, -1/240, 1/132 */
        double tz = qz * (1.0 / 12 - qz * (1.0 / 120 - qz * (1.0 / 252 - qz * (1.0 / 240 - qz / 132))));
        double ty = qy * (1.0 / 12 - qy * (1.0 / 120 - qy * (1.0 / 252 - qy * (1.0 / 240 - qy / 132))));
        return log1p(x / y) + 0.5 * x / (y * z) - (tz - ty);
    }
    /* B_2k = 1/6, -1/30, 1/42, -1/30, 5/66 */
    double tz = qz * (1.0 / 6 - qz * (1.0 / 30 - qz * (1.0 / 42 - qz * (1.0 / 30 - qz * 5.0 / 66)))) / z;
    double ty = qy * (1.0 / 6 - qy * (1.0 / 30 - qy * (1.0 / 42 - qy * (1.0 / 30 - qy * 5.0 / 66)))) / y;
    return -x / (y * z) - 0.5 * x * (y + z) * qy * qz + (tz - ty);
}

static void bg_xterms_direct(bg_xterms *t, const bg_model *k, double x, int order)
{
    double xm = x + k->m, ab = k->a + k->b;
    t->x = x;
    t->steps = 0;
    t->lg = bg_lgamma_diff(k->r, x);
    /* lbeta(a, b+x+m) - lbeta(a, b) = [lgamma(b+x+m) - lgamma(b)] - [lgamma(a+b+x+m) - lgamma(a+b)] */
    t->lb = bg_lgamma_diff(k->b, xm) - bg_lgamma_diff(ab, xm);
    if (order >= 1) {
        t->dpsc = bg_psi_diff(k->r, x, 1);
        t->dpsb = bg_psi_diff(k->b, xm, 1);
        t->dpsab = bg_psi_diff(ab, xm, 1);
    }
    if (order >= 2) {
        t->dtgc = bg_psi_diff(k->r, x, 2);
        t->dtgb = bg_psi_diff(k->b, xm, 2);
        t->dtgab = bg_psi_diff(ab, xm, 2);
    }
}

static void bg_xterms_move(bg_xterms *t, const bg_model *k, double x, int order)
{
    if (t->x < 0 || x < t->x || x - t->x > 32 || t->steps + (x - t->x) > 256) {
        bg_xterms_direct(t, k, x, order);
        return;
    }
    for (double j = t->x; j < x; j++) {
        double zc = k->r + j, zb = k->b + j + k->m, zab = k->a + zb;
        t->lg += log(zc);
        t->lb -= log1p(k->a / zb); /* log(zb / zab) */
        if (order >= 1) {
            t->dpsc += 1 / zc;
            t->dpsb += 1 / zb;
            t->dpsab += 1 / zab;
        }
        if (order >= 2) {
            t->dtgc -= 1 / (zc * zc);
            t->dtgb -= 1 / (zb * zb);
            t->dtgab -= 1 / (zab * zab);
        }
        t->steps++;
    }
    t->x = x;
}

/* Weighted log-likelihood, gradient and Hessian with respect to the
 * log-parameters (either may be NULL). FHL 2005 eq. (6), rewritten with
 * B(a+1, b+x-1)/B(a, b+x) = a/(b+x-1):
 *   L = Gamma(r+x) alpha^r / Gamma(r) * B(a, b+x)/B(a, b)
 *       * [ (alpha+T)^-(r+x) + [x>0] a/(b+x-1) (alpha+t_x)^-(r+x) ]
 * MBG/NBD (Batislam et al. 2007): b+x -> b+x+1 in the beta function and
 * a/(b+x) for the second term, which is present for every x. The bracket is
 * (alpha+T)^-(r+x) (1 + e^u), u = log(a/(b+x-1+m)) + (r+x) log((alpha+T)/(alpha+t_x)),
 * taken through a stable softplus (Hardie's note on the BG/NBD log-likelihood:
 * no difference of large numbers, no overflow for x in the thousands). */
/* A direct-mapped table of log(alpha + v) and 1/(alpha + v) for one alpha
 * (one likelihood pass), keyed by the bits of v. 2,048 slots (48 KiB): the
 * 546 distinct week values of the issue-22 frequent buyers leave 11% of them
 * sharing a slot (31% with 1,024), and a shared slot misses on every sweep. */
#define BG_LOGTAB_BITS 11
typedef struct bg_logslot {
    double v, l, inv;
} bg_logslot;
typedef struct bg_logtab {
    bg_logslot s[(size_t)1 << BG_LOGTAB_BITS];
} bg_logtab;

static void bg_logtab_init(bg_logtab *t)
{
    for (size_t k = 0; k < ((size_t)1 << BG_LOGTAB_BITS); k++)
        t->s[k].v = -1.0; /* times are >= 0 */
}

/* log(al + v) and 1 / (al + v), from the table t when there is one (NULL:
 * computed, the same values). */
static inline void bg_logtab_get(bg_logtab *t, double al, double v, double *l, double *inv)
{
    if (!t) {
        *l = log(al + v);
        *inv = 1 / (al + v);
        return;
    }
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    bg_logslot *e = &t->s[(size_t)((b * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - BG_LOGTAB_BITS))];
    if (e->v != v) {
        e->v = v;
        e->l = log(al + v);
        e->inv = 1 / (al + v);
    }
    *l = e->l;
    *inv = e->inv;
}

/* What the rows of one purchase count x share in the pass below: c = r + x,
 * lq = log(a / (b+x-1+m)), the x-only terms K* of the log-likelihood and its
 * derivatives (bg_xterms), and constants of the parameters. */
typedef struct bg_run {
    double c, lq, K0, Kr, Ka, Kb, Krr, Kaa, Kbb;
    double r_al, inv_al, mr_al2, ua, ub; /* r/al, 1/al, -r/al^2, 1/a, -1/(b+x-1+m) */
    int two;                             /* the bracket's second term is present */
} bg_run;

/* The sums of the pass: the log-likelihood, the gradient (4) and the upper
 * triangle of the Hessian (10) in the natural parameters, one partial sum
 * per lane. */
#define BG_NACC 15
#define BG_LANES 4

/* The terms of nv rows of one x (nv a multiple of BG_LANES; padding rows
 * have weight 0 and finite columns) added to acc: per row its weight w,
 * log(alpha+T) lT, 1/(alpha+T) iT, 1/(alpha+t_x) it and
 * dl = log((alpha+T)/(alpha+t_x)). The bracket's log is
 *   -(r+x) log(alpha+T) + softplus(u),  u = lq + (r+x) dl,
 * and with e = e^-|u| in (0, 1]:
 *   softplus(u) = max(u, 0) + log1p(e),  its derivative the logistic
 *   sg = 1/(1+e) for u > 0, e/(1+e) otherwise.
 * BG_LANES rows at a time in straight-line arithmetic, GCC's and Clang's
 * vector extensions (two SSE2 registers per vector at the x86-64 baseline,
 * one AVX2 register in the x86-64-v3 clone GCC adds for the processors that
 * have it, where multiply-adds are fused: the two agree to a few units in the
 * last place, not bit for bit), two vectors per step so that their long
 * softplus chains overlap: the libm calls this replaces, one exp and one
 * log1p per row, were 40% of a BG/NBD fit's CPU time, and the sums a quarter.
 * e: e^v = 2^k e^q, k = round(v / log 2), q = v - k log 2 in two parts
 * (Cody and Waite; |q| <= log(2)/2), e^q by its Taylor series to q^13
 * (truncation below 5e-18 relative), 2^k put into the exponent bits; v is
 * clamped at -708 (e^-708 = 3e-308: below that, e adds nothing to sp and sg
 * that a double can hold next to max(u, 0) and the other terms).
 * log1p(e) = 2 atanh(s), s = f / (2 + f), from f = e when e <= sqrt(2) - 1,
 * else from log(1+e) = log 2 + log1p(f), f = (e - 1)/2: |s| <= 0.1716 either
 * way, and atanh's series to s^23 leaves a truncation below 1e-18. Both
 * agree with libm's exp and log1p to a few units in the last place
 * (tests/test_btyd.c compares the log-likelihood with one from lgammal,
 * logl and log1pl at 1e-13 on u from -10 to 830). */
#if defined(__GNUC__)
typedef double bg_vd __attribute__((vector_size(BG_LANES * sizeof(double))));
typedef uint64_t bg_vu __attribute__((vector_size(BG_LANES * sizeof(uint64_t))));

/* every lane a; lanes of a where the comparison mask m is set, else of b
 * (macros: a function returning a vector would warn of its AVX ABI) */
#define bg_splat(a) ((bg_vd){(a), (a), (a), (a)})
#define bg_select(m, a, b) ((bg_vd)(((m) & (bg_vu)(a)) | (~(m) & (bg_vu)(b))))

/* softplus(u) = log(1 + e^u) into *sp and its derivative, the logistic, into
 * *sg, for one vector of u (see above) */
static inline __attribute__((always_inline)) void bg_softplus(bg_vd u, bg_vd *sp, bg_vd *sg)
{
    const bg_vd inv_ln2 = bg_splat(1.4426950408889634), ln2 = bg_splat(0.6931471805599453);
    const bg_vd ln2_hi = bg_splat(6.93147180369123816490e-01);
    const bg_vd ln2_lo = bg_splat(1.90821492927058770002e-10);
    const bg_vd shift = bg_splat(6755399441055744.0); /* 1.5 * 2^52: rounds to an integer */
    const bg_vd lo = bg_splat(-708.0), zero = bg_splat(0.0), one = bg_splat(1.0);
    const bg_vd half = bg_splat(0.5), two = bg_splat(2.0);
    const bg_vd sqrt2m1 = bg_splat(0.41421356237309503);
    /* 1/k! and 1/(2k+1) */
    const bg_vd c13 = bg_splat(1.0 / 6227020800), c12 = bg_splat(1.0 / 479001600);
    const bg_vd c11 = bg_splat(1.0 / 39916800), c10 = bg_splat(1.0 / 3628800);
    const bg_vd c9 = bg_splat(1.0 / 362880), c8 = bg_splat(1.0 / 40320);
    const bg_vd c7 = bg_splat(1.0 / 5040), c6 = bg_splat(1.0 / 720), c5 = bg_splat(1.0 / 120);
    const bg_vd c4 = bg_splat(1.0 / 24), c3 = bg_splat(1.0 / 6), c2 = bg_splat(0.5);
    const bg_vd d23 = bg_splat(1.0 / 23), d21 = bg_splat(1.0 / 21), d19 = bg_splat(1.0 / 19);
    const bg_vd d17 = bg_splat(1.0 / 17), d15 = bg_splat(1.0 / 15), d13 = bg_splat(1.0 / 13);
    const bg_vd d11 = bg_splat(1.0 / 11), d9 = bg_splat(1.0 / 9), d7 = bg_splat(1.0 / 7);
    const bg_vd d5 = bg_splat(1.0 / 5), d3 = bg_splat(1.0 / 3);
    bg_vd v = (bg_vd)((bg_vu)u | UINT64_C(0x8000000000000000)); /* -|u| */
    v = bg_select((bg_vu)(v < lo), lo, v);
    bg_vd kd = v * inv_ln2 + shift;
    bg_vu ki = (bg_vu)kd;
    kd -= shift;
    bg_vd q = (v - kd * ln2_hi) - kd * ln2_lo;
    bg_vd pe = ((((((((((((c13 * q + c12) * q + c11) * q + c10) * q + c9) * q + c8) * q +
                     c7) * q + c6) * q + c5) * q + c4) * q + c3) * q + c2) * q + one) *
               q + one;
    bg_vd e = pe * (bg_vd)((ki + 1023) << 52); /* times 2^k, k in [-1022, 0] */
    bg_vu big = (bg_vu)(e > sqrt2m1);
    bg_vd f = bg_select(big, half * (e - one), e);
    bg_vd s = f / (two + f), z = s * s;
    bg_vd pl = (((((((((d23 * z + d21) * z + d19) * z + d17) * z + d15) * z + d13) * z +
                   d11) * z + d9) * z + d7) * z + d5) * z + d3;
    bg_vd lp = bg_select(big, ln2, zero) + two * s + two * s * (z * pl);
    bg_vd qq = one / (one + e);
    bg_vu pos = (bg_vu)(u > zero);
    *sp = bg_select(pos, u, zero) + lp;
    *sg = bg_select(pos, qq, e * qq);
}

CHURN_AVX2_CLONES
static void bg_rows(const bg_run *R, size_t nv, const double *w, const double *lT,
                    const double *iT, const double *it, const double *dl,
                    double acc[BG_NACC][BG_LANES])
{
    const bg_vd zero = bg_splat(0.0), one = bg_splat(1.0);
    const bg_vd c = bg_splat(R->c), lq = bg_splat(R->lq), K0 = bg_splat(R->K0);
    const bg_vd Kr = bg_splat(R->Kr), Ka = bg_splat(R->Ka), Kb = bg_splat(R->Kb);
    const bg_vd Krr = bg_splat(R->Krr), Kaa = bg_splat(R->Kaa), Kbb = bg_splat(R->Kbb);
    const bg_vd r_al = bg_splat(R->r_al), inv_al = bg_splat(R->inv_al);
    const bg_vd mr_al2 = bg_splat(R->mr_al2), ua = bg_splat(R->ua), ub = bg_splat(R->ub);
    const int has2 = R->two;
    bg_vd A[BG_NACC];
    memcpy(A, acc, sizeof A);
    /* two vectors of rows per step: their softplus chains (long runs of
     * dependent multiply-adds) are independent and overlap */
    for (size_t j = 0; j < nv; j += 2 * BG_LANES) {
        bg_vd sp2[2] = {zero, zero}, sg2[2] = {zero, zero}, dl2[2];
        memcpy(&dl2[0], dl + j, sizeof dl2[0]);
        memcpy(&dl2[1], dl + j + BG_LANES, sizeof dl2[1]);
        if (has2) {
            bg_softplus(lq + c * dl2[0], &sp2[0], &sg2[0]);
            bg_softplus(lq + c * dl2[1], &sp2[1], &sg2[1]);
        }
        for (int h = 0; h < 2; h++) {
            size_t jj = j + (size_t)h * BG_LANES;
            bg_vd wi, lTj, iTj, itj;
            memcpy(&wi, w + jj, sizeof wi);
            memcpy(&lTj, lT + jj, sizeof lTj);
            memcpy(&iTj, iT + jj, sizeof iTj);
            memcpy(&itj, it + jj, sizeof itj);
            bg_vd sp = sp2[h], sg = sg2[h];
            /* softplus'' = sg (1 - sg): d2 sp(u) = sg(1-sg) u_i u_j + sg u_ij, with
             * u_r = dl, u_al = c (iT - it), u_a = 1/a, u_b = -1/(b+x-1+m) */
            bg_vd ur = dl2[h], ual = c * (iTj - itj), v = sg * (one - sg), sw = sg;
            A[0] += wi * ((K0 - c * lTj) + sp);
            A[1] += wi * (Kr - lTj + sg * ur);
            A[2] += wi * (r_al - c * iTj + sg * ual);
            A[3] += wi * (Ka + sg * ua);
            A[4] += wi * (Kb + sg * ub);
            A[5] += wi * (Krr + v * ur * ur);                                    /* r r */
            A[6] += wi * (inv_al - iTj + v * ur * ual + sw * (iTj - itj));       /* r al */
            A[7] += wi * (v * ur * ua);                                          /* r a */
            A[8] += wi * (v * ur * ub);                                          /* r b */
            A[9] += wi * (mr_al2 + c * iTj * iTj + v * ual * ual +
                          sw * c * (itj * itj - iTj * iTj));                     /* al al */
            A[10] += wi * (v * ual * ua);                                        /* al a */
            A[11] += wi * (v * ual * ub);                                        /* al b */
            A[12] += wi * (Kaa + v * ua * ua - sw * ua * ua);                    /* a a */
            A[13] += wi * (Kaa + v * ua * ub);                                   /* a b */
            A[14] += wi * (Kbb + v * ub * ub + sw * ub * ub);                    /* b b */
        }
    }
    memcpy(acc, A, sizeof A);
}
#else
static void bg_rows(const bg_run *R, size_t nv, const double *w, const double *lT,
                    const double *iT, const double *it, const double *dl,
                    double acc[BG_NACC][BG_LANES])
{
    const double c = R->c, ua = R->ua, ub = R->ub;
    for (size_t j = 0; j < nv; j++) {
        double sp = 0, sg = 0, wi = w[j];
        double *A[BG_NACC];
        for (int q = 0; q < BG_NACC; q++)
            A[q] = &acc[q][j % BG_LANES];
        if (R->two) {
            double u = R->lq + c * dl[j], e = exp(-fabs(u));
            sp = (u > 0 ? u : 0.0) + log1p(e);
            sg = u > 0 ? 1 / (1 + e) : e / (1 + e);
        }
        double ur = dl[j], ual = c * (iT[j] - it[j]), v = sg * (1 - sg), sw = sg;
        *A[0] += wi * ((R->K0 - c * lT[j]) + sp);
        *A[1] += wi * (R->Kr - lT[j] + sg * ur);
        *A[2] += wi * (R->r_al - c * iT[j] + sg * ual);
        *A[3] += wi * (R->Ka + sg * ua);
        *A[4] += wi * (R->Kb + sg * ub);
        *A[5] += wi * (R->Krr + v * ur * ur);
        *A[6] += wi * (R->inv_al - iT[j] + v * ur * ual + sw * (iT[j] - it[j]));
        *A[7] += wi * (v * ur * ua);
        *A[8] += wi * (v * ur * ub);
        *A[9] += wi * (R->mr_al2 + c * iT[j] * iT[j] + v * ual * ual +
                       sw * c * (it[j] * it[j] - iT[j] * iT[j]));
        *A[10] += wi * (v * ual * ua);
        *A[11] += wi * (v * ual * ub);
        *A[12] += wi * (R->Kaa + v * ua * ua - sw * ua * ua);
        *A[13] += wi * (R->Kaa + v * ua * ub);
        *A[14] += wi * (R->Kbb + v * ub * ub + sw * ub * ub);
    }
}
#endif

/* Rows per block of the pass below. */
#define BG_BLOCK_ROWS 256

static int bg_loglik_full(const double *p, size_t n, const double *x, const double *tx,
                          const double *T, const double *w, double *ll, double *grad,
                          double *hess, int m)
{
    bg_model k;
    memset(&k, 0, sizeof k);
    int order = hess ? 2 : grad ? 1 : 0;
    k.r = p[0];
    k.al = p[1];
    k.a = p[2];
    k.b = p[3];
    k.m = m;
    k.lal = log(k.al);
    k.la = log(k.a);
    const double r = k.r, al = k.al, a = k.a, b = k.b;
    bg_xterms xt;
    memset(&xt, 0, sizeof xt);
    xt.x = -1;
    double acc[BG_NACC][BG_LANES];
    memset(acc, 0, sizeof acc);
    /* log(alpha + v) and 1/(alpha + v) per distinct T and t_x value: a
     * direct-mapped table of the values met (days or weeks repeat a few
     * hundred times over all rows; continuous times just miss); not worth
     * its set-up for a few rows (the covariate fits pass one at a time) */
    bg_logtab tab, *tp = NULL;
    if (n >= 64) {
        bg_logtab_init(&tab);
        tp = &tab;
    }
    /* a block of rows of one x: weight, log(alpha+T), 1/(alpha+T),
     * 1/(alpha+t_x), log((alpha+T)/(alpha+t_x)) */
    double bw[BG_BLOCK_ROWS], blT[BG_BLOCK_ROWS], biT[BG_BLOCK_ROWS], bit[BG_BLOCK_ROWS];
    double bdl[BG_BLOCK_ROWS];
    bg_run R;
    memset(&R, 0, sizeof R);
    R.r_al = r / al;
    R.inv_al = 1 / al;
    R.mr_al2 = -r / (al * al);
    R.ua = 1 / a;
    size_t i = 0;
    while (i < n) {
        /* the run of rows with this x (rows come sorted by x) */
        const double xi = x[i];
        size_t end = i + 1;
        while (end < n && x[end] == xi)
            end++;
        int have_x = 0;
        R.two = m || xi > 0;
        R.c = r + xi;
        double cT = -1, lT = 0, iT = 0;
        while (i < end) {
            /* up to a block of rows with a weight */
            size_t nb = 0;
            for (; i < end && nb < BG_BLOCK_ROWS; i++) {
                double wi = w ? w[i] : 1.0;
                if (wi == 0)
                    continue;
                double Ti = T[i], ti = tx[i], lt = 0, it = 0;
                if (Ti != cT) {
                    cT = Ti;
                    bg_logtab_get(tp, al, Ti, &lT, &iT);
                }
                bw[nb] = wi;
                blT[nb] = lT;
                biT[nb] = iT;
                if (R.two) {
                    bg_logtab_get(tp, al, ti, &lt, &it);
                    bdl[nb] = lT - lt; /* log((alpha + T) / (alpha + t_x)) */
                } else {
                    it = 1 / (al + ti);
                    bdl[nb] = 0;
                }
                bit[nb] = it;
                nb++;
            }
            if (nb == 0)
                continue;
            if (!have_x) {
                have_x = 1;
                bg_xterms_move(&xt, &k, xi, order);
                R.K0 = xt.lg + r * k.lal + xt.lb;
                if (order >= 1) {
                    R.Kr = xt.dpsc + k.lal;
                    R.Ka = -xt.dpsab;
                    R.Kb = xt.dpsb - xt.dpsab;
                }
                if (order >= 2) {
                    R.Krr = xt.dtgc;
                    R.Kaa = -xt.dtgab; /* also d2/da db */
                    R.Kbb = xt.dtgb - xt.dtgab;
                }
                double bq = 1;
                if (R.two) {
                    bq = b + xi - 1 + m;
                    R.lq = k.la - log(bq);
                }
                R.ub = -1 / bq;
            }
            size_t nv = (nb + 2 * BG_LANES - 1) / (2 * BG_LANES) * (2 * BG_LANES);
            for (size_t j = nb; j < nv; j++)
                bw[j] = blT[j] = biT[j] = bit[j] = bdl[j] = 0;
            bg_rows(&R, nv, bw, blT, biT, bit, bdl, acc);
        }
    }
    double sum[BG_NACC];
    for (int q = 0; q < BG_NACC; q++) {
        sum[q] = acc[q][0];
        for (int l = 1; l < BG_LANES; l++)
            sum[q] += acc[q][l];
    }
    double s = sum[0], G[4] = {sum[1], sum[2], sum[3], sum[4]}, *Hn = sum + 5;
    *ll = s;
    if (grad)
        for (int j = 0; j < 4; j++)
            grad[j] = G[j] * p[j];
    if (hess) {
        /* to log-parameters: d2/dth_i dth_j = p_i p_j H_ij + [i=j] p_i G_i */
        static const int idx[4][4] = {{0, 1, 2, 3}, {1, 4, 5, 6}, {2, 5, 7, 8}, {3, 6, 8, 9}};
        for (int i2 = 0; i2 < 4; i2++)
            for (int j = 0; j < 4; j++)
                hess[i2 * 4 + j] = p[i2] * p[j] * Hn[idx[i2][j]] + (i2 == j ? p[i2] * G[i2] : 0);
    }
    return isfinite(s) ? CHURN_OK : CHURN_ENUMERIC;
}

static int bgnbd_loglik(const double *p, size_t n, const double *x, const double *tx,
                        const double *T, const double *w, double *ll, double *grad)
{
    return bg_loglik_full(p, n, x, tx, T, w, ll, grad, NULL, 0);
}

static int mbgnbd_loglik(const double *p, size_t n, const double *x, const double *tx,
                         const double *T, const double *w, double *ll, double *grad)
{
    return bg_loglik_full(p, n, x, tx, T, w, ll, grad, NULL, 1);
}

/* The same with the Hessian in the log-parameters (the descriptors' loglik_hess). */
static int bgnbd_loglik_hess(const double *p, size_t n, const double *x, const double *tx,
                             const double *T, const double *w, double *ll, double *grad,
                             double *hess)
{
    return bg_loglik_full(p, n, x, tx, T, w, ll, grad, hess, 0);
}

static int mbgnbd_loglik_hess(const double *p, size_t n, const double *x, const double *tx,
                              const double *T, const double *w, double *ll, double *grad,
                              double *hess)
{
    return bg_loglik_full(p, n, x, tx, T, w, ll, grad, hess, 1);
}

/* ---- P(alive) ------------------------------------------------------------------ */

/* P(alive | x, t_x, T) = 1 / (1 + [x>0 or MBG] a/(b+x-1+m) ((alpha+T)/(alpha+t_x))^(r+x))
 * (Fader, Hardie & Lee, "Computing P(alive) using the BG/NBD model", 2008 note;
 * Batislam et al. 2007 for m = 1). */
static double bg_p_alive(const double *p, double x, double tx, double T, int m)
{
    if (!m && x == 0)
        return 1;
    double u = log(p[2] / (p[3] + x - 1 + m)) + (p[0] + x) * log1p((T - tx) / (p[1] + tx));
    return u > 0 ? exp(-u) / (1 + exp(-u)) : 1 / (1 + exp(u));
}

static double bgnbd_p_alive(const double *p, double x, double tx, double T)
{
    return bg_p_alive(p, x, tx, T, 0);
}

static double mbgnbd_p_alive(const double *p, double x, double tx, double T)
{
    return bg_p_alive(p, x, tx, T, 1);
}

/* ---- expected purchases ---------------------------------------------------------- */

/*
 * The number of purchases in (0, t] of a customer who is alive at 0, buys at
 * rate lambda ~ Gamma(r, alpha) and drops out after each purchase with
 * probability p ~ Beta(a, b) has mean (FHL 2005 eq. 9)
 *     E = C/(a-1) [1 - (1-z)^r 2F1(r, b; C; z)],  C = a+b-1, z = t/(alpha+t).
 * The conditional expectation (eq. 10) is P(alive) times this with the
 * posterior parameters (r+x, alpha+T, a, b+x).
 *
 * Euler's transformation 2F1(r, b; C; z) = (1-z)^(C-r-b) 2F1(C-r, C-b; C; z),
 * with C - b = a - 1 and (a-1)_k = (a-1) (a)_(k-1), gives
 *     E = C Q - (1-z)^(a-1) S,   Q = [1 - (1-z)^(a-1)] / (a-1),
 *     S = sum_{k>=1} (A)_k (a)_(k-1) / ((C+1)_(k-1) k!) z^k,   A = C - r,
 * which has no singularity at a = 1 (Q -> -log(1-z)) nor at C = 0, and whose
 * parameters A and a do not grow with x (C does, which only speeds it up).
 * For x in the thousands the original series would need thousands of terms.
 */

/* S for given A, a-1, C, z. Stops when the remaining tail is below tol
 * relative to the sum. The term ratio is
 *   rho_j = (A+j)(a-1+j) / ((C+j)(j+1)) z,
 * and for every j >= k, |rho_j| <= R_k = z max(1, (|A|+k)/(C+k)) max(1, (|a-1|+k)/(k+1))
 * (each factor moves monotonically towards 1). Once R_k < 1 the tail after a
 * term h is at most |h| R_k / (1 - R_k): a rigorous stop. R_1 = z in the usual
 * case (|A| < C, a < 3); when R_1 >= 1 the bound is taken at kmin (past the
 * sign changes of the terms), and if even that is >= 1 (z near 1, |A| > C)
 * the current ratio is used. Returns the number of terms, or -1 when
 * maxterms were not enough. */
static inline long bg_series(double A, double am1, double C, double z, double tol, long kmin,
                             long maxterms, double *sum)
{
    double h = A * z, S = h;
    long k0 = 1;
    double R = z * fmax(1.0, (fabs(A) + 1) / (C + 1)) * fmax(1.0, (fabs(am1) + 1) / 2);
    if (R >= 1) {
        k0 = kmin;
        R = z * fmax(1.0, (fabs(A) + kmin) / (C + kmin)) * fmax(1.0, (fabs(am1) + kmin) / (kmin + 1));
    }
    int rigorous = R < 1;
    double tolR = tol * (1 - R);
    /* numerator z (A+k)(a-1+k) and denominator (C+k)(k+1) of the term ratio,
     * quadratics in k updated by their differences */
    double num = z * (A + 1) * (am1 + 1), dnum = z * (A + am1 + 3), z2 = 2 * z;
    double den = (C + 1) * 2, dden = C + 4;
    long k;
    for (k = 1; k < maxterms; k++) {
        double rho = num / den;
        h *= rho;
        S += h;
        num += dnum;
        dnum += z2;
        den += dden;
        dden += 2;
        double ah = fabs(h), as = fabs(S);
        if (rigorous ? (ah * R <= as * tolR && k >= k0)
                     : (k >= kmin && fabs(rho) < 1 && ah * fabs(rho) <= tol * as * (1 - fabs(rho)) &&
                        ah * z <= tol * as * (1 - z))) {
            *sum = S;
            return k;
        }
    }
    *sum = S;
    return -1;
}

/* First term index after which the series terms keep one sign. */
static long bg_kmin(double A, double am1)
{
    double k = fmax(0.0, fmax(-A, -am1));
    return k > 1e9 ? 1000000000L : (long)ceil(k) + 2;
}

/* The same expectation as a one-dimensional integral, for horizons so long
 * that z is within 1e-3 of 1, and for large a, where the series terms grow
 * for ~ z a / (1 - z) terms before they fall (a fitted a of 1e8 or 1e9, when
 * a and b run off together, would take 10^8 terms):
 *   E = E_p[g(p)],  g(p) = (1 - (1 + p tau)^-r) / p,  tau = t/alpha,  p ~ Beta(a, b)
 * (the Poisson rate integrated out: E_lambda[e^(-lambda p t)] = (1 + p tau)^-r).
 *
 * It is integrated in v = logit(p), where the Beta density is log-concave,
 * p^a (1-p)^b / B(a, b) dv, with mode v* = log(a/b), p* = a/(a+b). Around the
 * mode, d = v - v*, the log-density is K + L(d) with
 *   K = log(p*^a (1-p*)^b / B(a, b)) = log(ab/(a+b))/2 - log(2 pi)/2 - st(a) - st(b) + st(a+b),
 *   L(d) = -a log(1 + (1-p*)(e^-d - 1)) - b log(1 + p*(e^d - 1)),
 * st(x) = lgamma(x) - (x - 1/2) log x + x - log(2 pi)/2 the Stirling remainder
 * (an identity, from lgamma's Stirling form; every term is of order log a, so
 * a and b of 1e9 lose no digits, unlike lbeta(a, b) ~ -2e10 minus its parts).
 * For |d| <= 1 the two linear parts of L, of size ab/(a+b) |d|, cancel
 * exactly: L(d) = -ab/(a+b) 4 sinh^2(d/2) - a log1pmx(u1) - b log1pmx(u2),
 * u1 = (1-p*)(e^-d - 1), u2 = p*(e^d - 1), log1pmx(u) = log(1+u) - u.
 * The integration range is where L > -M (L is concave: bracketed by doubling,
 * then bisection), M = 60 + log of the range of g, and core's log-scaled
 * adaptive Gauss-Kronrod rule integrates g e^L on it: at most 128 intervals
 * of 15 points, so the cost per customer is bounded whatever a and b are. */

/* log(1 + u) - u for u > -1, without cancellation for small u: with
 * s = u/(2+u), log(1+u) = 2 atanh(s) and u - 2s = u s. */
static double bg_log1pmx(double u)
{
    if (!(fabs(u) < 0.25))
        return log1p(u) - u;
    double s = u / (2 + u), s2 = s * s, term = s * s2, sum = 0;
    for (int k = 3; k < 60; k += 2) {
        double add = term / k;
        sum += add;
        if (fabs(add) <= 1e-17 * fabs(sum))
            break;
        term *= s2;
    }
    return -u * s + 2 * sum;
}

/* log(1 + c (e^d - 1)) = log((1-c) + c e^d) for 0 < c < 1, from lc = log c
 * and lcbar = log(1-c): accurate for any d (also where c or 1-c is 1e-10,
 * when log1p(c expm1(d)) would lose digits), away from d = 0, where the
 * caller uses the series form. */
static double bg_log1pc(double lc, double lcbar, double d)
{
    return churn__logaddexp(lcbar, lc + d);
}

/* Stirling remainder lgamma(x) - (x - 1/2) log x + x - log(2 pi)/2, x > 0. */
static double bg_stirling_rem(double x)
{
    if (x < 15)
        return lgamma(x) - (x - 0.5) * log(x) + x - 0.5 * log(2 * M_PI);
    double q = 1 / (x * x);
    /* B_2k / (2k (2k-1) x^(2k-1)), k = 1..5 (A&S 6.1.41); the next term is
     * below 2e-16 at x = 15 */
    return (1.0 / 12 - q * (1.0 / 360 - q * (1.0 / 1260 - q * (1.0 / 1680 - q / 1188)))) / x;
}

typedef struct bg_beta_ctx {
    double r, ltau, a, b, ps, qs, lps, lqs, vs, w; /* ps = p*, qs = 1 - p*, their logs, vs = v*,
                                                      w = ab/(a+b) */
} bg_beta_ctx;

static double bg_beta_L(const bg_beta_ctx *c, double d)
{
    if (fabs(d) <= 1) {
        double sh = sinh(0.5 * d);
        double u1 = c->qs * expm1(-d), u2 = c->ps * expm1(d);
        return -c->w * 4 * sh * sh - c->a * bg_log1pmx(u1) - c->b * bg_log1pmx(u2);
    }
    return -c->a * bg_log1pc(c->lqs, c->lps, -d) - c->b * bg_log1pc(c->lps, c->lqs, d);
}

/* log g(p) at v = v* + d. */
static double bg_beta_logg(const bg_beta_ctx *c, double d)
{
    double v = c->vs + d;
    double lp = v >= 0 ? -log1p(exp(-v)) : v - log1p(exp(v)); /* log p */
    double lpt = lp + c->ltau;                               /* log(p tau) */
    if (lpt < -700) /* p tau underflows: g = r tau (1 - O(p tau)) */
        return log(c->r) + c->ltau;
    double pt = exp(lpt);
    return log(-expm1(-c->r * log1p(pt))) - lp;
}

static double bg_beta_integrand(double d, void *vctx, double *mult)
{
    const bg_beta_ctx *c = vctx;
    (void)mult;
    return bg_beta_logg(c, d) + bg_beta_L(c, d);
}

/* The d on the side `dir` (+1 or -1) where L first falls to -M. */
static double bg_beta_edge(const bg_beta_ctx *c, double dir, double M)
{
    double lo = 0, hi = dir * fmin(1.0, 1 / sqrt(c->w));
    for (int i = 0; i < 60 && bg_beta_L(c, hi) > -M; i++) {
        lo = hi;
        hi *= 2;
    }
    for (int i = 0; i < 60; i++) {
        double mid = 0.5 * (lo + hi);
        if (bg_beta_L(c, mid) > -M)
            lo = mid;
        else
            hi = mid;
        if (fabs(hi - lo) <= 1e-6 * fabs(hi))
            break;
    }
    return hi;
}

static double bg_alive_expected_integral(double r, double al, double a, double b, double t)
{
    double tau = t / al;
    bg_beta_ctx c;
    c.r = r;
    c.ltau = log(tau);
    c.a = a;
    c.b = b;
    c.ps = a / (a + b);
    c.qs = b / (a + b);
    c.lps = -log1p(b / a);
    c.lqs = -log1p(a / b);
    c.vs = log(a) - log(b);
    c.w = a * b / (a + b);
    if (!(tau > 0) || !isfinite(c.ltau) || !(c.ps > 0 && c.qs > 0))
        return NAN;
    double K = 0.5 * log(c.w) - 0.5 * log(2 * M_PI) - bg_stirling_rem(a) - bg_stirling_rem(b) +
               bg_stirling_rem(a + b);
    /* g falls from r tau (p -> 0) to 1 - (1+tau)^-r (p = 1) */
    double lgrange = log(r) + c.ltau - log(-expm1(-r * log1p(tau)));
    double M = 60 + fmax(0, lgrange);
    double d0 = bg_beta_edge(&c, -1, M), d1 = bg_beta_edge(&c, 1, M);
    double val, lsc;
    if (churn__quad_log(bg_beta_integrand, &c, 1, d0, d1, 1e-13, 0, &val, &lsc) != CHURN_OK ||
        !(val > 0))
        return NAN;
    return val * exp(lsc + K);
}

/* Whether the Euler-transformed series would need more terms than the
 * integral costs: its terms grow while z (a-1+k) > k+1 (the other factor of
 * the ratio, (A+k)/(C+k), is below 1), i.e. for about (z |a-1| - 1)/(1 - z)
 * terms, then fall. 3000 terms cost about as much as the integral. */
static inline int bg_series_too_long(double am1, double z)
{
    return z * fabs(am1) - 1 > 3000 * (1 - z);
}

/* Whether E = CQ - (1-z)^(a-1) S from the series can be trusted: finite
 * (for large a the terms of S can overflow while (1-z)^(a-1) underflows),
 * and not the small difference of two large terms (b >> a, a dropout
 * probability near 0, makes CQ ~ C/(a-1) huge: 1e3 times E already costs
 * three digits of the series' 1e-13). */
static inline int bg_series_result_ok(double e, double cq)
{
    return isfinite(e) && e >= 0 && fabs(cq) <= 1e3 * e;
}

/* E[X(t)] of the BG process alive at 0 with parameters (r, alpha, a, b), as
 * above: the series while it converges in a reasonable number of terms, the
 * integral beyond. NaN when neither works (reported as CHURN_ENUMERIC). */
static double bg_alive_expected(double r, double al, double a, double b, double t)
{
    if (t == 0)
        return 0;
    double L1 = -log1p(t / al); /* log(1 - z) */
    double z = t / (al + t);
    if (al / (al + t) < 1e-3 || bg_series_too_long(a - 1, z))
        return bg_alive_expected_integral(r, al, a, b, t);
    double C = a + b - 1, A = C - r, am1 = a - 1;
    double y = am1 * L1, em1 = expm1(y);
    double Q = y == 0 ? -L1 : -L1 * (em1 / y);
    double S;
    if (bg_series(A, am1, C, z, 1e-14, bg_kmin(A, am1), 100000L, &S) >= 0) {
        double e = C * Q - (1 + em1) * S;
        if (bg_series_result_ok(e, C * Q))
            return e;
    }
    return bg_alive_expected_integral(r, al, a, b, t);
}

/* bg_alive_expected() at nh horizons t[j] with the series' coefficients
 * computed once. S(z) = sum_k c_k z^k with c_1 = A and
 *   c_(k+1) = c_k (A+k)(a-1+k) / ((C+k)(k+1))
 * independent of z: the coefficients are generated with bg_series()'s
 * rigorous stopping rule at the largest z, and S at each horizon's z is a
 * polynomial of those K coefficients (Horner, all horizons at once). A
 * horizon is accepted when the same tail bound, at its own z, is below the
 * tolerance; otherwise (and for t = 0, horizons that need the integral, or
 * when the bound is not rigorous at the largest z) it is computed alone by
 * bg_alive_expected(). Equal to it to rounding (tests/test_spend.c checks
 * 1e-12 relative). */
#define BG_PATH_MAXTERMS 4096
#define BG_PATH_MAXH 64
#define BG_BLOCK 12 /* lanes per Horner block: the CLV's 12 periods in one */

static void bg_alive_expected_path(double r, double al, double a, double b, size_t nh,
                                   const double *t, double *out)
{
    if (nh > BG_PATH_MAXH) {
        for (size_t j = 0; j < nh; j++)
            out[j] = bg_alive_expected(r, al, a, b, t[j]);
        return;
    }
    const double C = a + b - 1, A = C - r, am1 = a - 1, tol = 1e-14;
    double zmax = 0;
    int lane[BG_PATH_MAXH];
    size_t nl = 0;
    for (size_t j = 0; j < nh; j++) {
        if (t[j] > 0 && !(al / (al + t[j]) < 1e-3)) {
            lane[nl++] = (int)j;
            zmax = fmax(zmax, t[j] / (al + t[j]));
        } else {
            out[j] = bg_alive_expected(r, al, a, b, t[j]);
        }
    }
    if (nl == 0)
        return;
    /* coefficients, stopping as bg_series() at zmax (rigorous bound only) */
    double c[BG_PATH_MAXTERMS];
    long kmin = bg_kmin(A, am1), k0 = 1;
    double R = zmax * fmax(1.0, (fabs(A) + 1) / (C + 1)) * fmax(1.0, (fabs(am1) + 1) / 2);
    if (R >= 1) {
        k0 = kmin;
        R = zmax * fmax(1.0, (fabs(A) + kmin) / (C + kmin)) *
            fmax(1.0, (fabs(am1) + kmin) / (kmin + 1));
    }
    long K = 0;
    int one_sign = 1; /* every coefficient of the sign of c_1 */
    if (R < 1) {
        double ck = A, zp = zmax, S = A * zmax, tolR = tol * (1 - R);
        c[0] = A;
        for (long k = 1; k < BG_PATH_MAXTERMS; k++) {
            ck *= (A + k) * (am1 + k) / ((C + k) * (k + 1));
            zp *= zmax;
            c[k] = ck;
            one_sign &= (ck > 0) == (A > 0);
            double h = ck * zp;
            S += h;
            if (fabs(h) * R <= fabs(S) * tolR && k >= k0) {
                K = k + 1;
                break;
            }
        }
    }
    if (K == 0) { /* no rigorous stop within the buffer: each horizon alone */
        for (size_t l = 0; l < nl; l++)
            out[lane[l]] = bg_alive_expected(r, al, a, b, t[lane[l]]);
        return;
    }
    /* Horner in blocks of BG_BLOCK lanes (padded with z = 0): a fixed-size inner loop
     * the compiler keeps in registers and vectorises, BG_BLOCK independent chains */
    double z[BG_PATH_MAXH], P[BG_PATH_MAXH];
    for (size_t l = 0; l < nl; l++)
        z[l] = t[lane[l]] / (al + t[lane[l]]);
    for (size_t g = 0; g < nl; g += BG_BLOCK) {
        double zb[BG_BLOCK], pb[BG_BLOCK];
        for (int q = 0; q < BG_BLOCK; q++) {
            zb[q] = g + (size_t)q < nl ? z[g + (size_t)q] : 0.0;
            pb[q] = c[K - 1];
        }
        /* twelve named accumulators: written out so that they stay in registers */
        double p0 = pb[0], p1 = pb[1], p2 = pb[2], p3 = pb[3], p4 = pb[4], p5 = pb[5];
        double p6 = pb[6], p7 = pb[7], p8 = pb[8], p9 = pb[9], p10 = pb[10], p11 = pb[11];
        const double z0 = zb[0], z1 = zb[1], z2 = zb[2], z3 = zb[3], z4 = zb[4], z5 = zb[5];
        const double z6 = zb[6], z7 = zb[7], z8 = zb[8], z9 = zb[9], z10 = zb[10], z11 = zb[11];
        for (long k = K - 2; k >= 0; k--) {
            const double ck = c[k];
            p0 = p0 * z0 + ck, p1 = p1 * z1 + ck, p2 = p2 * z2 + ck, p3 = p3 * z3 + ck;
            p4 = p4 * z4 + ck, p5 = p5 * z5 + ck, p6 = p6 * z6 + ck, p7 = p7 * z7 + ck;
            p8 = p8 * z8 + ck, p9 = p9 * z9 + ck, p10 = p10 * z10 + ck, p11 = p11 * z11 + ck;
        }
        pb[0] = p0, pb[1] = p1, pb[2] = p2, pb[3] = p3, pb[4] = p4, pb[5] = p5;
        pb[6] = p6, pb[7] = p7, pb[8] = p8, pb[9] = p9, pb[10] = p10, pb[11] = p11;
        for (int q = 0; q < BG_BLOCK && g + (size_t)q < nl; q++)
            P[g + (size_t)q] = pb[q];
    }
    const double neg_inv_am1 = am1 != 0 ? -1.0 / am1 : 0.0;
    /* the ratio bound from term K on, as bg_series (monotone factors) */
    const double F = fmax(1.0, (fabs(A) + K) / (C + K)) * fmax(1.0, (fabs(am1) + K) / (K + 1));
    for (size_t l = 0; l < nl; l++) {
        int j = lane[l];
        double S = P[l] * z[l], Rl = z[l] * F;
        /* With coefficients of one sign, |S(z)| >= (z / zmax)^K |S(zmax)| and the last
         * term shrinks by the same factor, so the bound met at zmax holds at every
         * z <= zmax. Otherwise the bound is checked at this z. */
        if (!one_sign) {
            double zK = 1, zb = z[l]; /* z^K by squaring: a bound needs no libm pow */
            for (long e = K; e; e >>= 1, zb *= zb)
                if (e & 1)
                    zK *= zb;
            double last = fabs(c[K - 1]) * zK;
            if (!(Rl < 1) || !(last * Rl <= fabs(S) * tol * (1 - Rl))) {
                out[j] = bg_alive_expected(r, al, a, b, t[j]);
                continue;
            }
        }
        double L1 = -log1p(t[j] / al);
        double y = am1 * L1, em1 = expm1(y);
        double Q = y == 0 ? -L1 : em1 * neg_inv_am1; /* = -L1 (em1 / y) */
        out[j] = C * Q - (1 + em1) * S;
    }
}

static void bgnbd_cond_expected_path(const double *p, size_t nh, const double *t, double x,
                                     double tx, double T, double *pa, double *e)
{
    *pa = bg_p_alive(p, x, tx, T, 0);
    bg_alive_expected_path(p[0] + x, p[1] + T, p[2], p[3] + x, nh, t, e);
    for (size_t j = 0; j < nh; j++)
        e[j] *= *pa;
}

static void mbgnbd_cond_expected_path(const double *p, size_t nh, const double *t, double x,
                                      double tx, double T, double *pa, double *e)
{
    *pa = bg_p_alive(p, x, tx, T, 1);
    bg_alive_expected_path(p[0] + x, p[1] + T, p[2], p[3] + x + 1, nh, t, e);
    for (size_t j = 0; j < nh; j++)
        e[j] *= *pa;
}

/* The paths above without their P(alive) factor (btyd_internal.h): the same
 * bg_alive_expected_path call, so that pa * g[j] is their value bit for bit. */
void churn__bgnbd_alive_path(const double *p, int modified, size_t nh, const double *t,
                             double x, double T, double *g)
{
    bg_alive_expected_path(p[0] + x, p[1] + T, p[2], p[3] + x + (modified ? 1 : 0), nh, t, g);
}

static double bgnbd_cond_expected(const double *p, double t, double x, double tx, double T)
{
    double pa = bg_p_alive(p, x, tx, T, 0);
    return pa * bg_alive_expected(p[0] + x, p[1] + T, p[2], p[3] + x, t);
}

static double mbgnbd_cond_expected(const double *p, double t, double x, double tx, double T)
{
    double pa = bg_p_alive(p, x, tx, T, 1);
    /* Batislam et al. 2007: given alive at T the dropout probability has the
     * posterior Beta(a, b+x+1) (x+1 survived coin flips). */
    return pa * bg_alive_expected(p[0] + x, p[1] + T, p[2], p[3] + x + 1, t);
}

static double bgnbd_expected_new(const double *p, double t)
{
    return bg_alive_expected(p[0], p[1], p[2], p[3], t);
}

/* MBG/NBD: a new customer is already dead with probability p, so
 * E[X(t)] = E[(1-p) (1 - e^(-lambda p t)) / p] = b/(a+b) * E_BG(r, alpha, a, b+1)
 * = b/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b; t/(alpha+t))]. */
static double mbgnbd_expected_new(const double *p, double t)
{
    return p[3] / (p[2] + p[3]) * bg_alive_expected(p[0], p[1], p[2], p[3] + 1, t);
}

/* ---- P(X(t) = k) ---------------------------------------------------------------- */

/* FHL 2005 eq. (8) for the BG process alive at 0:
 *   P(X(t)=k) = B(a, b+k)/B(a,b) Gamma(r+k)/(Gamma(r) k!) (alpha/(alpha+t))^r (t/(alpha+t))^k
 *             + [k>0] B(a+1, b+k-1)/B(a,b) [1 - sum_{j<k} NB(j; r, alpha/(alpha+t))]
 * The bracket is the NB upper tail, I_z(k, r) with z = t/(alpha+t), taken from
 * the regularised incomplete beta function rather than 1 - sum (no cancellation). */
static double bg_pmf(double r, double al, double a, double b, double t, double k)
{
    if (t == 0)
        return k == 0 ? 1.0 : 0.0;
    /* B(a, b+k)/B(a, b) = Gamma(b+k)/Gamma(b) Gamma(a+b)/Gamma(a+b+k), as differences of
     * lgamma (bg_lgamma_diff: no cancellation also for a and b of 1e9) */
    double lp = -log1p(t / al), lz = log(t) - log(al + t);
    double l1 = bg_lgamma_diff(b, k) - bg_lgamma_diff(a + b, k) + bg_lgamma_diff(r, k) -
                churn__lngamma(k + 1) + r * lp + k * lz;
    double v = exp(l1);
    if (k > 0) {
        /* far in the tail the incomplete beta underflows to 0 (no error) */
        double I = churn__beta_inc(k, r, t / (al + t));
        if (!isfinite(I))
            return NAN;
        /* B(a+1, b+k-1)/B(a, b) = a Gamma(b+k-1)/Gamma(b) Gamma(a+b)/Gamma(a+b+k) */
        v += exp(log(a) + bg_lgamma_diff(b, k - 1) - bg_lgamma_diff(a + b, k)) * I;
    }
    return v;
}

static double bgnbd_pmf(const double *p, double t, double k)
{
    return bg_pmf(p[0], p[1], p[2], p[3], t, k);
}

static double mbgnbd_pmf(const double *p, double t, double k)
{
    double a = p[2], b = p[3];
    double v = b / (a + b) * bg_pmf(p[0], p[1], a, b + 1, t, k);
    return k == 0 ? v + a / (a + b) : v;
}

/* Given alive at T the future is the BG process with posterior parameters
 * (r+x, alpha+T, a, b+x[+1]); a customer already dead buys nothing. */
static double bgnbd_cond_pmf(const double *p, double t, double k, double x, double tx, double T)
{
    double pa = bg_p_alive(p, x, tx, T, 0);
    double v = pa * bg_pmf(p[0] + x, p[1] + T, p[2], p[3] + x, t, k);
    return k == 0 ? v + (1 - pa) : v;
}

static double mbgnbd_cond_pmf(const double *p, double t, double k, double x, double tx, double T)
{
    double pa = bg_p_alive(p, x, tx, T, 1);
    double v = pa * bg_pmf(p[0] + x, p[1] + T, p[2], p[3] + x + 1, t, k);
    return k == 0 ? v + (1 - pa) : v;
}

/* ---- the scoring hot path ------------------------------------------------------------ */

/* P(alive) and E[purchases in (T, T+t] | x, t_x, T] for n customers: the
 * formulas above with everything that depends only on the model hoisted out
 * of the loop, no lgamma, no GSL 2F1 (the Euler-transformed series converges
 * geometrically, in ~40 terms at z = 0.6) and four libm calls per customer.
 * The expectation given alive depends on (x, T) only, and real customer
 * tables repeat those pairs a lot (T on a day grid, small x): a small
 * direct-mapped cache on the stack skips the series for repeats. Customers
 * whose series has not converged in 4000 terms (z within ~1% of 1) go through
 * the careful path. */
#define BG_CACHE_BITS 10
#define BG_CACHE_MIN_ROWS 4096

typedef struct bg_cache_entry {
    double x, T, e;
} bg_cache_entry;

static inline size_t bg_cache_slot(double x, double T)
{
    uint64_t bx, bT;
    memcpy(&bx, &x, sizeof bx);
    memcpy(&bT, &T, sizeof bT);
    uint64_t h = (bT ^ (bx * 0x9E3779B97F4A7C15ULL)) * 0xFF51AFD7ED558CCDULL;
    return (size_t)(h >> (64 - BG_CACHE_BITS));
}

size_t churn__bgnbd_score(const double *p, int m, double t, size_t n, const double *x,
                          const double *tx, const double *T, double *p_alive, double *expected)
{
    const double r = p[0], al = p[1], a = p[2], b = p[3];
    const double am1 = a - 1, A = a + b + m - 1 - r;
    const long kmin = bg_kmin(A, am1);
    bg_cache_entry cache[(size_t)1 << BG_CACHE_BITS];
    int use_cache = expected && t > 0 && n >= BG_CACHE_MIN_ROWS;
    if (use_cache)
        for (size_t j = 0; j < ((size_t)1 << BG_CACHE_BITS); j++)
            cache[j].x = -1; /* matches no valid x */
    for (size_t i = 0; i < n; i++) {
        double xi = x[i], ti = tx[i], Ti = T[i];
        if (!(xi >= 0 && xi < 9.0e15 && (double)(int64_t)xi == xi && ti >= 0 && ti <= Ti &&
              Ti <= 1.0e300 && (xi > 0 || ti == 0)))
            return i + 1;
        double c = r + xi, pa = 1;
        if (m || xi > 0) {
            double v = c * log1p((Ti - ti) / (al + ti));
            double q = a / (b + xi - 1 + m);
            if (v < 600) {
                pa = 1 / (1 + q * exp(v));
            } else {
                double u = log(q) + v;
                pa = u > 0 ? exp(-u) / (1 + exp(-u)) : 1 / (1 + exp(u));
            }
        }
        if (p_alive)
            p_alive[i] = pa;
        if (!expected)
            continue;
        double e = 0;
        if (t > 0 && pa > 0) {
            bg_cache_entry *ce = NULL;
            if (use_cache) {
                ce = &cache[bg_cache_slot(xi, Ti)];
                if (ce->x == xi && ce->T == Ti) {
                    expected[i] = pa * ce->e;
                    continue;
                }
            }
            double aT = al + Ti;
            double L1 = -log1p(t / aT);
            double z = t / (aT + t);
            double C = a + b + xi + m - 1;
            double y = am1 * L1, em1 = expm1(y);
            double Q = y == 0 ? -L1 : -L1 * (em1 / y);
            double S, ea = NAN;
            if (!bg_series_too_long(am1, z) && bg_series(A, am1, C, z, 1e-13, kmin, 4000, &S) >= 0)
                ea = C * Q - (1 + em1) * S;
            if (!bg_series_result_ok(ea, C * Q))
                ea = bg_alive_expected(c, aT, a, b + xi + m, t);
            if (ce) {
                ce->x = xi;
                ce->T = Ti;
                ce->e = ea;
            }
            e = pa * ea;
        }
        if (!isfinite(e))
            return i + 1;
        expected[i] = e;
    }
    return 0;
}

const churn__btyd_family churn__bgnbd_family = {
    CHURN_FAMILY_BGNBD, 4,          bg_names,           bgnbd_loglik, bgnbd_p_alive,
    bgnbd_cond_expected, bgnbd_expected_new, bgnbd_pmf, bgnbd_cond_pmf,
    bgnbd_loglik_hess, bgnbd_cond_expected_path, 8192, NULL, NULL,
};

const churn__btyd_family churn__mbgnbd_family = {
    CHURN_FAMILY_MBGNBD, 4,           bg_names,            mbgnbd_loglik, mbgnbd_p_alive,
    mbgnbd_cond_expected, mbgnbd_expected_new, mbgnbd_pmf, mbgnbd_cond_pmf,
    mbgnbd_loglik_hess, mbgnbd_cond_expected_path, 8192, NULL, NULL,
};
