/*
 * Pareto/NBD with time-varying (dynamic) covariates (covariates.h, second part;
 * docs/models/dyncov.md): Bachmann, Meierer & Naef (2021), "The role of
 * time-varying contextual factors in latent attrition models for customer base
 * analysis", Marketing Science 40(4).
 *
 * Covariates are piecewise constant on a calendar period grid B_0 < ... < B_P.
 * Customer i (first purchase at calendar time b_i) buys at rate
 * lambda_i * w_i(u), w = exp(g_trans' z_trans,i(u)), and drops out with hazard
 * mu_i * m_i(u), m = exp(g_life' z_life,i(u)); lambda ~ Gamma(r, alpha),
 * mu ~ Gamma(s, beta). With Lambda(tau) = int_0^tau w, M(tau) = int_0^tau m (tau
 * customer time, u = b_i + tau) and p = r + x, integrating lambda and mu out:
 *
 *   L = Gamma(r+x)/Gamma(r) alpha^r beta^s prod_j w(t_j) * G,
 *   G = A(T)^-p B(T)^-s + s int_{t_x}^T m(tau) A(tau)^-p B(tau)^-(s+1) dtau,
 *   A = alpha + Lambda, B = beta + M.
 *
 * prod_j w(t_j) = exp(g_trans' sum_p c_p z_trans(p)), c_p the repeat purchases in
 * period p. The integral runs period by period; within a period A and B are
 * linear in tau and the integrand is smooth, integrated by 8-point Gauss-Legendre
 * on pieces short enough that A and B grow by at most 25% and the log-integrand
 * changes by at most 1 across each (the error is then below 1e-15 relative; the
 * tests check 1e-10 against mpmath). Gradient and Hessian in (log r, log alpha,
 * log s, log beta, g_trans, g_life) are integrated with the same nodes, so they
 * are the exact derivatives of the computed log-likelihood. With every
 * coefficient 0 this is the plain Pareto/NBD likelihood (Fader & Hardie 2005).
 *
 * Calls core/ (errors, allocation, Cholesky, model handle, special functions),
 * checks.c (row checks) and btyd.c (churn_btyd_fit for the starting point).
 */
#include "btyd/btyd_internal.h"
#include "churn/covariates.h"
#include "core/special.h"

#include <stdio.h>
#include <string.h>

#define NB 4
/* covariates per process; the per-customer scratch lives on the stack (~60 kB at 16) */
#define DMAXCOV 16
#define DMAXK (NB + 2 * DMAXCOV)
#define FIXED ((size_t)-1)
#define NGL 8

/* 8-point Gauss-Legendre on [-1, 1] (Abramowitz & Stegun table 25.4). */
static const double gl_x[NGL / 2] = {0.1834346424956498049394761, 0.5255324099163289858177390,
                                     0.7966664774136267395915539, 0.9602898564975362316835609};
static const double gl_w[NGL / 2] = {0.3626837833783619829651504, 0.3137066458778872873379622,
                                     0.2223810344533744705443560, 0.1012285362903762591525314};

CHURN_API void churn_btyd_dyncov_init(churn_btyd_dyncov *dc)
{
    if (dc)
        *dc = (churn_btyd_dyncov)CHURN_BTYD_DYNCOV_INIT;
}

/* ---- the data and its checks --------------------------------------------------------- */

typedef struct {
    size_t n, P;
    const double *Bd, *birth, *counts;
    size_t kt, kl;
    const double *Zt, *Zl;
    const char *const *tn, *const *ln;
    const double *x, *tx, *T;
} dgrid;

static double zt_at(const dgrid *d, size_t j, size_t p, size_t i)
{
    return d->Zt[(j * d->P + p) * d->n + i];
}

static double zl_at(const dgrid *d, size_t j, size_t p, size_t i)
{
    return d->Zl[(j * d->P + p) * d->n + i];
}

static double grid_tol(const dgrid *d)
{
    double lo = d->Bd[0], hi = d->Bd[d->P];
    return 1e-9 * (fabs(lo) + fabs(hi) + (hi - lo));
}

/* First period whose end is after calendar time u (P when none). */
static size_t first_period(const dgrid *d, double u)
{
    size_t lo = 0, hi = d->P;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (d->Bd[mid + 1] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static int check_names(const char *fn, const char *proc, size_t k, const double *z, size_t n,
                       const char *const *names)
{
    if (k == 0)
        return CHURN_OK;
    if (k > DMAXCOV)
        return churn__error(CHURN_EINVAL, "%s: %zu %s covariates; at most %d per process", fn,
                            k, proc, DMAXCOV);
    if (!names || (n > 0 && !z))
        return churn__error(CHURN_EINVAL, "%s: %zu %s covariates without %s", fn, k, proc,
                            !names ? "names" : "values");
    for (size_t j = 0; j < k; j++) {
        if (!names[j] || !names[j][0])
            return churn__error(CHURN_EINVAL, "%s: %s covariate %zu has no name", fn, proc, j);
        for (size_t l = 0; l < j; l++)
            if (strcmp(names[l], names[j]) == 0)
                return churn__error(CHURN_EINVAL, "%s: %s covariate '%s' is given twice", fn,
                                    proc, names[j]);
    }
    return CHURN_OK;
}

/*
 * Everything about the inputs: the grid ascending, each customer's calendar span
 * [b, b + T + horizon] inside it, the counts (when want_counts) whole numbers >= 0 in
 * the periods the span touches, summing to the frequency, the last one with
 * purchases holding t_x, 0 elsewhere; every covariate finite in the periods the span
 * touches (other cells are never read and may hold anything, NaN included).
 */
static int check_rows(const char *fn, const dgrid *d, const double *w, int fitting,
                      int want_counts, double horizon);

static int check_dyncov(const char *fn, const churn_btyd_dyncov *u, dgrid *d, size_t n,
                        const double *x, const double *tx, const double *T, const double *w,
                        int fitting, int want_counts, int want_rows, double horizon)
{
    churn_btyd_dyncov c;
    churn_btyd_dyncov_init(&c);
    if (!u)
        return churn__error(CHURN_EINVAL, "%s: NULL dynamic covariates", fn);
    int rc = churn__opts_copy(&c, sizeof c, u, "churn_btyd_dyncov");
    if (rc)
        return rc;
    if (c.n_periods == 0 || !c.boundaries)
        return churn__error(CHURN_EINVAL, "%s: the period grid is empty (n_periods = %zu, "
                            "boundaries %s)", fn, c.n_periods, c.boundaries ? "given" : "NULL");
    if (n > 0 && !c.birth)
        return churn__error(CHURN_EINVAL, "%s: NULL birth (the calendar time of each "
                            "customer's first purchase)", fn);
    if (want_counts && n > 0 && !c.counts)
        return churn__error(CHURN_EINVAL, "%s: NULL counts (repeat purchases per customer and "
                            "period)", fn);
    for (size_t p = 0; p <= c.n_periods; p++) {
        if (!isfinite(c.boundaries[p]))
            return churn__error(CHURN_EINVAL, "%s: period boundary %zu is %g, not finite", fn, p,
                                c.boundaries[p]);
        if (p > 0 && !(c.boundaries[p] > c.boundaries[p - 1]))
            return churn__error(CHURN_EINVAL, "%s: period boundaries must ascend: boundary %zu "
                                "(%g) is not after boundary %zu (%g)", fn, p, c.boundaries[p],
                                p - 1, c.boundaries[p - 1]);
    }
    if ((rc = check_names(fn, "trans", c.n_trans, c.trans, n, c.trans_names)) ||
        (rc = check_names(fn, "life", c.n_life, c.life, n, c.life_names)))
        return rc;
    *d = (dgrid){n, c.n_periods, c.boundaries, c.birth, c.counts, c.n_trans, c.n_life,
                 c.trans, c.life, c.trans_names, c.life_names, x, tx, T};
    return want_rows ? check_rows(fn, d, w, fitting, want_counts, horizon) : CHURN_OK;
}

static int check_rows(const char *fn, const dgrid *d, const double *w, int fitting,
                      int want_counts, double horizon)
{
    double tol = grid_tol(d), B0 = d->Bd[0], BP = d->Bd[d->P];
    const double *x = d->x, *tx = d->tx, *T = d->T;
    size_t n = d->n;
    int rc;
    for (size_t i = 0; i < n; i++) {
        if ((rc = churn__btyd_check_row(fn, 0, fitting, i, x[i], tx[i], T[i])) ||
            (w && (rc = churn__btyd_check_weight(fn, i, w[i]))))
            return rc;
        double b = d->birth[i], end = b + T[i] + horizon;
        if (!isfinite(b))
            return churn__error(CHURN_EINVAL, "%s: row %zu, column 'birth': %g is not finite", fn,
                                i, b);
        if (b < B0 - tol || end > BP + tol)
            return churn__error(CHURN_EINVAL, "%s: row %zu: the customer's calendar span [%g, "
                                "%g] (birth, birth + T%s) is not inside the period grid [%g, %g]",
                                fn, i, b, end, horizon > 0 ? " + horizon" : "", B0, BP);
        /* the periods the likelihood and the forecasts read: those overlapping the span
         * (the same tests as customer_loglik and future_integral) */
        size_t p0 = first_period(d, b);
        double sum = 0;
        size_t last = (size_t)-1;
        for (size_t p = 0; want_counts && p < d->P; p++) {
            double cnt = d->counts[p * n + i];
            int touches = d->Bd[p + 1] >= b - tol && d->Bd[p] <= b + T[i] + tol;
            if (!churn__btyd_is_count(cnt))
                return churn__error(CHURN_EINVAL, "%s: row %zu, period %zu, column 'counts': %g "
                                    "is not a whole number >= 0", fn, i, p, cnt);
            if (cnt > 0 && !touches)
                return churn__error(CHURN_EINVAL, "%s: row %zu, period %zu, column 'counts': %g "
                                    "purchases in a period outside the customer's span [%g, %g]",
                                    fn, i, p, cnt, b, b + T[i]);
            if (cnt > 0) {
                last = p;
                /* prod_j w(t_j) reads the trans covariates of every period with purchases
                 * (a period that only touches the span at a boundary included) */
                for (size_t j = 0; j < d->kt; j++)
                    if (!isfinite(zt_at(d, j, p, i)))
                        return churn__error(CHURN_EINVAL, "%s: row %zu, period %zu, trans "
                                            "covariate '%s': %g is not finite", fn, i, p,
                                            d->tn[j], zt_at(d, j, p, i));
            }
            sum += cnt;
        }
        if (want_counts && sum != x[i])
            return churn__error(CHURN_EINVAL, "%s: row %zu: the per-period counts sum to %g, "
                                "the frequency is %g", fn, i, sum, x[i]);
        if (want_counts && x[i] > 0) {
            double at = b + tx[i];
            if (at < d->Bd[last] - tol || at > d->Bd[last + 1] + tol)
                return churn__error(CHURN_EINVAL, "%s: row %zu: the last purchase (birth + "
                                    "recency = %g) is not in period %zu [%g, %g], the last "
                                    "period with purchases in 'counts'", fn, i, at, last,
                                    d->Bd[last], d->Bd[last + 1]);
        }
        for (size_t p = p0; p < d->P && d->Bd[p] - b < T[i] + horizon; p++) {
            for (size_t j = 0; j < d->kt; j++)
                if (!isfinite(zt_at(d, j, p, i)))
                    return churn__error(CHURN_EINVAL, "%s: row %zu, period %zu, trans covariate "
                                        "'%s': %g is not finite", fn, i, p, d->tn[j],
                                        zt_at(d, j, p, i));
            for (size_t j = 0; j < d->kl; j++)
                if (!isfinite(zl_at(d, j, p, i)))
                    return churn__error(CHURN_EINVAL, "%s: row %zu, period %zu, life covariate "
                                        "'%s': %g is not finite", fn, i, p, d->ln[j],
                                        zl_at(d, j, p, i));
        }
    }
    return CHURN_OK;
}

/* ---- one customer's log-likelihood ------------------------------------------------------ */

/* Parameters on the natural scale and the coefficients: r, alpha, s, beta, g_t, g_l. */
typedef struct {
    double r, alpha, s, beta;
    const double *gt, *gl;
} dparams;

/* The running state along customer time: A = alpha + Lambda, B = beta + M and their
 * derivatives in the coefficients (first dA[kt], dB[kl]; second d2A, d2B). */
typedef struct {
    double Lam, M;
    double dA[DMAXCOV], dB[DMAXCOV];
    double d2A[DMAXCOV * DMAXCOV], d2B[DMAXCOV * DMAXCOV];
} dstate;

typedef struct {
    size_t kt, kl, K;
    int want;              /* 0 value, 1 + gradient, 2 + Hessian */
    double zt[DMAXCOV], zl[DMAXCOV], w, m;
} dperiod;

static void advance(dstate *st, const dperiod *pe, double h)
{
    st->Lam += pe->w * h;
    st->M += pe->m * h;
    if (!pe->want)
        return;
    for (size_t j = 0; j < pe->kt; j++) {
        double a = pe->w * pe->zt[j] * h;
        st->dA[j] += a;
        if (pe->want > 1)
            for (size_t l = 0; l < pe->kt; l++)
                st->d2A[j * pe->kt + l] += a * pe->zt[l];
    }
    for (size_t j = 0; j < pe->kl; j++) {
        double a = pe->m * pe->zl[j] * h;
        st->dB[j] += a;
        if (pe->want > 1)
            for (size_t l = 0; l < pe->kl; l++)
                st->d2B[j * pe->kl + l] += a * pe->zl[l];
    }
}

/*
 * Gradient g (K) and, when H, Hessian H (K x K, upper triangle) of
 * log[ m^life A^-p B^-q ] at a point with A, B and their coefficient derivatives
 * (dA, d2A, dB, d2B), where life = 1 adds log m(tau) (the integrand) and 0 not
 * (the alive-at-T term, q = s there).
 */
static void log_term_derivs(const dparams *pr, const dperiod *pe, double p, double q, double A,
                            const double *dA, const double *d2A, double B, const double *dB,
                            const double *d2B, int life, double *g, double *H)
{
    size_t kt = pe->kt, kl = pe->kl, K = pe->K, ot = NB, ol = NB + kt;
    double lA = log(A), lB = log(B), aA = pr->alpha / A, bB = pr->beta / B;
    g[0] = -pr->r * lA;
    g[1] = -p * aA;
    g[2] = -pr->s * lB;
    g[3] = -q * bB;
    for (size_t j = 0; j < kt; j++)
        g[ot + j] = -p * dA[j] / A;
    for (size_t j = 0; j < kl; j++)
        g[ol + j] = (life ? pe->zl[j] : 0) - q * dB[j] / B;
    if (!H)
        return;
    memset(H, 0, K * K * sizeof *H);
    H[0 * K + 0] = -pr->r * lA;
    H[0 * K + 1] = -pr->r * aA;
    H[1 * K + 1] = -p * (aA - aA * aA);
    for (size_t j = 0; j < kt; j++) {
        H[0 * K + ot + j] = -pr->r * dA[j] / A;
        H[1 * K + ot + j] = p * aA * dA[j] / A;
        for (size_t l = j; l < kt; l++)
            H[(ot + j) * K + ot + l] = -p * (d2A[j * kt + l] / A - dA[j] * dA[l] / (A * A));
    }
    H[2 * K + 2] = -pr->s * lB;
    H[2 * K + 3] = -pr->s * bB;
    H[3 * K + 3] = -q * (bB - bB * bB);
    for (size_t j = 0; j < kl; j++) {
        H[2 * K + ol + j] = -pr->s * dB[j] / B;
        H[3 * K + ol + j] = q * bB * dB[j] / B;
        for (size_t l = j; l < kl; l++)
            H[(ol + j) * K + ol + l] = -q * (d2B[j * kl + l] / B - dB[j] * dB[l] / (B * B));
    }
}

/* Accumulators of the integral in the scale exp(Ksc): S0, S1 (K), S2 (K x K upper). */
typedef struct {
    double Ksc;
    int have_scale;
    double S0, S1[DMAXK], S2[DMAXK * DMAXK];
} dint;

/* Integrate the piece [0, L] from the current state (period constants in pe). */
static void integrate_piece(const dparams *pr, const dperiod *pe, const dstate *st, double p,
                            double L, dint *I)
{
    size_t kt = pe->kt, kl = pe->kl, K = pe->K;
    double dA[DMAXCOV], dB[DMAXCOV], d2A[DMAXCOV * DMAXCOV], d2B[DMAXCOV * DMAXCOV];
    double g[DMAXK], H[DMAXK * DMAXK];
    double q = pr->s + 1, lm = log(pe->m);
    for (int k = 0; k < NGL; k++) {
        double xk = k < NGL / 2 ? -gl_x[NGL / 2 - 1 - k] : gl_x[k - NGL / 2];
        double wk = k < NGL / 2 ? gl_w[NGL / 2 - 1 - k] : gl_w[k - NGL / 2];
        double u = 0.5 * L * (xk + 1), wt = 0.5 * L * wk;
        double A = pr->alpha + st->Lam + pe->w * u, B = pr->beta + st->M + pe->m * u;
        double e = wt * exp(lm - p * log(A) - q * log(B) - I->Ksc);
        I->S0 += e;
        if (!pe->want)
            continue;
        for (size_t j = 0; j < kt; j++) {
            dA[j] = st->dA[j] + pe->w * pe->zt[j] * u;
            if (pe->want > 1)
                for (size_t l = j; l < kt; l++)
                    d2A[j * kt + l] = st->d2A[j * kt + l] + pe->w * pe->zt[j] * pe->zt[l] * u;
        }
        for (size_t j = 0; j < kl; j++) {
            dB[j] = st->dB[j] + pe->m * pe->zl[j] * u;
            if (pe->want > 1)
                for (size_t l = j; l < kl; l++)
                    d2B[j * kl + l] = st->d2B[j * kl + l] + pe->m * pe->zl[j] * pe->zl[l] * u;
        }
        log_term_derivs(pr, pe, p, q, A, dA, d2A, B, dB, d2B, 1, g, pe->want > 1 ? H : NULL);
        for (size_t a = 0; a < K; a++) {
            I->S1[a] += e * g[a];
            if (pe->want > 1)
                for (size_t b = a; b < K; b++)
                    I->S2[a * K + b] += e * (g[a] * g[b] + H[a * K + b]);
        }
    }
}

/* Covariates of period p for customer i, w and m. */
static void load_period(const dgrid *d, const dparams *pr, size_t p, size_t i, dperiod *pe)
{
    double et = 0, el = 0;
    for (size_t j = 0; j < d->kt; j++) {
        pe->zt[j] = zt_at(d, j, p, i);
        et += pr->gt[j] * pe->zt[j];
    }
    for (size_t j = 0; j < d->kl; j++) {
        pe->zl[j] = zl_at(d, j, p, i);
        el += pr->gl[j] * pe->zl[j];
    }
    pe->w = exp(et);
    pe->m = exp(el);
}

/* What one customer's evaluation gives besides the log-likelihood. */
typedef struct {
    double p_alive;   /* P(alive at T | history) */
    double LamT, MT;  /* Lambda(T), M(T) */
} dextra;

/*
 * Customer i: log L_i, and (want >= 1) its gradient g (K: log r, log alpha, log s,
 * log beta, g_trans, g_life), (want 2) its Hessian H (K x K, full). with_counts = 0
 * leaves out prod_j w(t_j) (scoring needs only G).
 */
static int customer_loglik(const dgrid *d, const dparams *pr, size_t i, int want,
                           int with_counts, double *ll, double *g, double *H, dextra *ex)
{
    size_t kt = d->kt, kl = d->kl, K = NB + kt + kl;
    double x = d->x[i], tx = d->tx[i], T = d->T[i], b = d->birth[i];
    double p = pr->r + x;
    dstate st;
    dperiod pe;
    dint I;
    st.Lam = st.M = 0;
    memset(st.dA, 0, sizeof st.dA);
    memset(st.dB, 0, sizeof st.dB);
    if (want > 1) {
        memset(st.d2A, 0, kt * kt * sizeof *st.d2A);
        memset(st.d2B, 0, kl * kl * sizeof *st.d2B);
    }
    pe.kt = kt;
    pe.kl = kl;
    pe.K = K;
    pe.want = want;
    I.S0 = 0;
    I.have_scale = 0;
    I.Ksc = 0;
    if (want) {
        memset(I.S1, 0, K * sizeof *I.S1);
        if (want > 1)
            memset(I.S2, 0, K * K * sizeof *I.S2);
    }
    double cterm = 0, gc[DMAXCOV];
    memset(gc, 0, sizeof gc);
    double q = pr->s + 1;
    size_t p0 = first_period(d, b);
    if (p0 >= d->P)
        p0 = d->P - 1;
    for (size_t per = p0; per < d->P && d->Bd[per] - b < T; per++) {
        double a = fmax(d->Bd[per] - b, 0), e = fmin(d->Bd[per + 1] - b, T);
        if (e <= a)
            continue;
        load_period(d, pr, per, i, &pe);
        if (e <= tx) {
            advance(&st, &pe, e - a);
            continue;
        }
        double lo = fmax(a, tx);
        if (lo > a)
            advance(&st, &pe, lo - a);
        if (!I.have_scale) {
            /* the integrand's scale at t_x (A and B only grow after it) */
            I.Ksc = -p * log(pr->alpha + st.Lam) - q * log(pr->beta + st.M);
            I.have_scale = 1;
        }
        double left = e - lo;
        while (left > 0) {
            double A = pr->alpha + st.Lam, B = pr->beta + st.M;
            double L = fmin(left, fmin(0.25 * A / pe.w, 0.25 * B / pe.m));
            L = fmin(L, 1.0 / (p * pe.w / A + q * pe.m / B));
            if (left - L < 1e-12 * left)
                L = left;
            integrate_piece(pr, &pe, &st, p, L, &I);
            advance(&st, &pe, L);
            left -= L;
        }
    }
    /* the purchases: prod_j w(t_j) = exp(sum_p c_p g_t' z_t(p)) over every period */
    if (with_counts && x > 0 && kt > 0) {
        for (size_t per = 0; per < d->P; per++) {
            double cnt = d->counts[per * d->n + i];
            if (cnt == 0)
                continue;
            for (size_t j = 0; j < kt; j++) {
                cterm += cnt * pr->gt[j] * zt_at(d, j, per, i);
                gc[j] += cnt * zt_at(d, j, per, i);
            }
        }
    }
    double AT = pr->alpha + st.Lam, BT = pr->beta + st.M;
    if (!I.have_scale)
        I.Ksc = -p * log(AT) - q * log(BT);
    double lE = -p * log(AT) - pr->s * log(BT) - I.Ksc;
    double E = exp(lE), Gs = E + pr->s * I.S0;
    if (!(Gs > 0) || !isfinite(Gs))
        return CHURN_ENUMERIC;
    double lr = churn__lngamma(p) - churn__lngamma(pr->r) + pr->r * log(pr->alpha) +
                pr->s * log(pr->beta);
    *ll = lr + cterm + I.Ksc + log(Gs);
    if (ex) {
        ex->p_alive = E / Gs;
        ex->LamT = st.Lam;
        ex->MT = st.M;
    }
    if (!isfinite(*ll))
        return CHURN_ENUMERIC;
    if (!want)
        return CHURN_OK;
    /* the alive-at-T term E and the integral term s * I, in the scale exp(Ksc) */
    double gE[DMAXK], HE[DMAXK * DMAXK], dG[DMAXK];
    log_term_derivs(pr, &pe, p, pr->s, AT, st.dA, st.d2A, BT, st.dB, st.d2B, 0, gE,
                    want > 1 ? HE : NULL);
    double sS0 = pr->s * I.S0;
    for (size_t a = 0; a < K; a++)
        dG[a] = (E * gE[a] + pr->s * I.S1[a] + (a == 2 ? sS0 : 0)) / Gs;
    double dr = churn__digamma(p) - churn__digamma(pr->r);
    for (size_t a = 0; a < K; a++)
        g[a] = dG[a];
    g[0] += pr->r * dr + pr->r * log(pr->alpha);
    g[1] += pr->r;
    g[2] += pr->s * log(pr->beta);
    g[3] += pr->s;
    for (size_t j = 0; j < kt; j++)
        g[NB + j] += gc[j];
    if (want < 2)
        return CHURN_OK;
    for (size_t a = 0; a < K; a++)
        for (size_t c = a; c < K; c++) {
            /* d2(sI) = s (S2 + e2 S1' + S1 e2' + e2 e2' S0) */
            double sI = I.S2[a * K + c] + (a == 2 ? I.S1[c] : 0) + (c == 2 ? I.S1[a] : 0) +
                        (a == 2 && c == 2 ? I.S0 : 0);
            double h = (E * (gE[a] * gE[c] + HE[a * K + c]) + pr->s * sI) / Gs - dG[a] * dG[c];
            H[a * K + c] = H[c * K + a] = h;
        }
    H[0] += pr->r * dr + pr->r * pr->r * (churn__trigamma(p) - churn__trigamma(pr->r)) +
            pr->r * log(pr->alpha);
    H[1] += pr->r;
    H[K] += pr->r;
    H[2 * K + 2] += pr->s * log(pr->beta);
    H[2 * K + 3] += pr->s;
    H[3 * K + 2] += pr->s;
    return CHURN_OK;
}

/* ---- the total over customers, in the free parameters ------------------------------- */

typedef struct {
    const dgrid *d;
    const double *w;
    size_t k;                 /* free parameters */
    size_t map[DMAXK];        /* full index -> free index (FIXED: held at 0) */
    double lam[DMAXK];        /* L2 penalty per free parameter */
} dproblem;

static void full_params(const dproblem *pb, const double *theta, double *full)
{
    size_t K = NB + pb->d->kt + pb->d->kl;
    for (size_t a = 0; a < K; a++)
        full[a] = pb->map[a] == FIXED ? 0 : theta[pb->map[a]];
}

/* Penalised total log-likelihood at free theta (log base parameters, coefficients);
 * gradient g and Hessian H (k x k) when non-NULL. CHURN_ENUMERIC names no row: the
 * first bad one is in *bad. */
static int devaluate(const dproblem *pb, const double *theta, double *f, double *g, double *H,
                     size_t *bad)
{
    const dgrid *d = pb->d;
    size_t K = NB + d->kt + d->kl, k = pb->k;
    double full[DMAXK], gi[DMAXK], Hi[DMAXK * DMAXK], G[DMAXK], HH[DMAXK * DMAXK];
    full_params(pb, theta, full);
    dparams pr = {exp(full[0]), exp(full[1]), exp(full[2]), exp(full[3]), full + NB,
                  full + NB + d->kt};
    int want = H ? 2 : g ? 1 : 0;
    double total = 0;
    memset(G, 0, sizeof G);
    if (H)
        memset(HH, 0, K * K * sizeof *HH);
    for (size_t i = 0; i < d->n; i++) {
        double wi = pb->w ? pb->w[i] : 1, ll;
        if (wi == 0)
            continue;
        if (customer_loglik(d, &pr, i, want, 1, &ll, gi, Hi, NULL)) {
            if (bad)
                *bad = i;
            return CHURN_ENUMERIC;
        }
        total += wi * ll;
        for (size_t a = 0; want && a < K; a++) {
            G[a] += wi * gi[a];
            if (H)
                for (size_t c = a; c < K; c++)
                    HH[a * K + c] += wi * Hi[a * K + c];
        }
    }
    if (g) {
        memset(g, 0, k * sizeof *g);
        for (size_t a = 0; a < K; a++)
            if (pb->map[a] != FIXED)
                g[pb->map[a]] += G[a];
    }
    if (H) {
        memset(H, 0, k * k * sizeof *H);
        for (size_t a = 0; a < K; a++)
            for (size_t c = 0; c < K; c++) {
                if (pb->map[a] == FIXED || pb->map[c] == FIXED)
                    continue;
                H[pb->map[a] * k + pb->map[c]] += a <= c ? HH[a * K + c] : HH[c * K + a];
            }
    }
    for (size_t j = NB; j < k; j++) {
        total -= pb->lam[j] * theta[j] * theta[j];
        if (g)
            g[j] -= 2 * pb->lam[j] * theta[j];
        if (H)
            H[j * k + j] -= 2 * pb->lam[j];
    }
    if (!isfinite(total))
        return CHURN_ENUMERIC;
    *f = total;
    return CHURN_OK;
}

/* ---- public: log-likelihood -------------------------------------------------------------- */

static int check_coefs(const char *fn, size_t nparams, const double *params, size_t K)
{
    if (nparams != K)
        return churn__error(CHURN_EINVAL, "%s: nparams is %zu; the 4 base parameters and the "
                            "coefficients make %zu", fn, nparams, K);
    for (size_t j = 0; j < NB; j++)
        if (!isfinite(params[j]) || !(params[j] > 0))
            return churn__error(CHURN_EINVAL, "%s: parameter '%s' = %g must be a finite number "
                                "> 0", fn, churn__pnbd_family.names[j], params[j]);
    for (size_t j = NB; j < K; j++)
        if (!isfinite(params[j]))
            return churn__error(CHURN_EINVAL, "%s: coefficient params[%zu] = %g is not finite",
                                fn, j, params[j]);
    return CHURN_OK;
}

CHURN_API int churn_pnbd_dyncov_loglik(size_t nparams, const double *params, size_t n,
                                       const double *frequency, const double *recency,
                                       const double *T, const double *weights,
                                       const churn_btyd_dyncov *dc, double *loglik,
                                       double *gradient)
{
    churn__ok();
    static const char fn[] = "churn_pnbd_dyncov_loglik";
    if (!params || !loglik || NEED(frequency) || NEED(recency) || NEED(T))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    dgrid d;
    int rc = check_dyncov(fn, dc, &d, n, frequency, recency, T, weights, 0, 1, 1, 0);
    if (rc || (rc = check_coefs(fn, nparams, params, NB + d.kt + d.kl)))
        return rc;
    dproblem pb;
    memset(&pb, 0, sizeof pb);
    pb.d = &d;
    pb.w = weights;
    pb.k = nparams;
    double theta[DMAXK], g[DMAXK];
    for (size_t a = 0; a < nparams; a++) {
        pb.map[a] = a;
        theta[a] = a < NB ? log(params[a]) : params[a];
    }
    size_t bad = 0;
    if (devaluate(&pb, theta, loglik, gradient ? g : NULL, NULL, &bad))
        return churn__error(CHURN_ENUMERIC, "%s: row %zu: the log-likelihood is not finite at "
                            "these parameters", fn, bad);
    for (size_t a = 0; gradient && a < nparams; a++)
        gradient[a] = a < NB ? g[a] / params[a] : g[a];
    return CHURN_OK;
}

/* ---- public: the fit --------------------------------------------------------------------- */

/* Over the cells a fit reads (customers of positive weight, periods their span
 * touches): 0 everywhere -> *zero = 1 (coefficient fixed at 0); one non-zero
 * value everywhere -> refused (the base parameter again). */
static int check_varies(const char *fn, const dgrid *d, const double *w, int life, size_t j,
                        int *zero)
{
    double first = 0;
    int have = 0, varies = 0;
    double tol = grid_tol(d);
    for (size_t i = 0; i < d->n && !varies; i++) {
        if (w && w[i] == 0)
            continue;
        double b = d->birth[i], end = b + d->T[i];
        for (size_t p = first_period(d, b); p < d->P && d->Bd[p] < end - tol && !varies;
             p++) {
            double v = life ? zl_at(d, j, p, i) : zt_at(d, j, p, i);
            if (!have) {
                first = v;
                have = 1;
            } else if (v != first) {
                varies = 1;
            }
        }
    }
    *zero = !varies && (!have || first == 0);
    if (!varies && !*zero)
        return churn__error(CHURN_EINVAL, "%s: %s covariate '%s' has the same value (%g) for "
                            "every customer and period: its coefficient cannot be told apart "
                            "from the base parameter", fn, life ? "life" : "trans",
                            life ? d->ln[j] : d->tn[j], first);
    return CHURN_OK;
}

static int build_dyn_model(churn_model **out, const dproblem *pb, const double *theta,
                           const double *covt, const int *shared_life)
{
    const dgrid *d = pb->d;
    size_t kt = d->kt, kl = d->kl, np = NB + kt + kl;
    static const char *const bn[NB] = {"r", "alpha", "s", "beta"};
    char *names[DMAXK];
    char store[DMAXK][160];
    double par[DMAXK], flag[DMAXK], one = 1;
    for (size_t j = 0; j < np; j++) {
        if (j < NB)
            snprintf(store[j], sizeof store[j], "%s", bn[j]);
        else if (j < NB + kt)
            snprintf(store[j], sizeof store[j], "trans.%s", d->tn[j - NB]);
        else
            snprintf(store[j], sizeof store[j], "life.%s", d->ln[j - NB - kt]);
        names[j] = store[j];
        size_t at = pb->map[j];
        par[j] = j < NB ? exp(theta[j]) : at == FIXED ? 0 : theta[at];
        flag[j] = j >= NB + kt && shared_life[j - NB - kt] ? 1 : 0;
    }
    churn_model *m = NULL;
    int rc = churn__model_new(&m, CHURN_FAMILY_PNBD, np, (const char *const *)names);
    if (rc)
        return rc;
    memcpy(m->params, par, np * sizeof *par);
    if (kt + kl)
        rc = churn__model_set_array(m, "covariates_shared", flag + NB, kt + kl);
    if (!rc)
        rc = churn__model_set_array(m, "covariates_dynamic", &one, 1);
    if (!rc && covt) {
        double *cov = churn__malloc(np * np * sizeof *cov);
        if (!cov)
            rc = churn__nomem("covariance matrix");
        for (size_t i = 0; !rc && i < np; i++)
            for (size_t j = 0; j < np; j++) {
                double di = i < NB ? par[i] : 1, dj = j < NB ? par[j] : 1;
                cov[i * np + j] = pb->map[i] == FIXED || pb->map[j] == FIXED
                                      ? NAN : covt[pb->map[i] * pb->k + pb->map[j]] * di * dj;
            }
        if (!rc)
            rc = churn__model_set_cov(m, cov);
        churn__free(cov);
    }
    if (rc) {
        churn_model_free(m);
        return rc;
    }
    *out = m;
    return CHURN_OK;
}

CHURN_API int churn_pnbd_dyncov_fit(churn_model **out, size_t n, const double *frequency,
                                    const double *recency, const double *T,
                                    const double *weights, const churn_btyd_dyncov *dc,
                                    const churn_btyd_cov_options *opts)
{
    churn__ok();
    static const char fn[] = "churn_pnbd_dyncov_fit";
    if (out)
        *out = NULL;
    if (!out || NEED(frequency) || NEED(recency) || NEED(T))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    churn_btyd_cov_options o;
    int rc = churn__cov_options(fn, opts, &o);
    if (rc)
        return rc;
    if (n == 0)
        return churn__error(CHURN_EINVAL, "%s: no customers", fn);
    dgrid d;
    if ((rc = check_dyncov(fn, dc, &d, n, frequency, recency, T, weights, 1, 1, 1, 0)))
        return rc;
    if (o.n_shared && !o.shared)
        return churn__error(CHURN_EINVAL, "%s: n_shared is %zu but shared is NULL", fn,
                            o.n_shared);
    size_t kt = d.kt, kl = d.kl, K = NB + kt + kl;
    int zero[DMAXK] = {0}, shared_life[DMAXCOV] = {0};
    for (size_t j = 0; j < kt; j++)
        if ((rc = check_varies(fn, &d, weights, 0, j, &zero[NB + j])))
            return rc;
    for (size_t j = 0; j < kl; j++)
        if ((rc = check_varies(fn, &d, weights, 1, j, &zero[NB + kt + j])))
            return rc;
    for (size_t s = 0; s < o.n_shared; s++) {
        const char *nm = o.shared[s];
        int jt = nm ? churn__cov_find_name(d.tn, kt, nm) : -1;
        int jl = nm ? churn__cov_find_name(d.ln, kl, nm) : -1;
        if (jt < 0 || jl < 0)
            return churn__error(CHURN_EINVAL, "%s: shared covariate '%s' must be among both the "
                                "trans and the life covariates (%s)", fn, nm ? nm : "(null)",
                                jt < 0 ? "not a trans covariate" : "not a life covariate");
        shared_life[jl] = jt + 1;
    }
    dproblem pb;
    memset(&pb, 0, sizeof pb);
    pb.d = &d;
    pb.w = weights;
    size_t k = 0;
    for (size_t a = 0; a < NB + kt; a++)
        pb.map[a] = zero[a] ? FIXED : k++;
    for (size_t j = 0; j < kl; j++) {
        size_t a = NB + kt + j;
        pb.map[a] = shared_life[j] ? pb.map[NB + shared_life[j] - 1]
                                   : zero[a] ? FIXED : k++;
    }
    pb.k = k;
    for (size_t a = NB; a < K; a++)
        if (pb.map[a] != FIXED)
            pb.lam[pb.map[a]] += a < NB + kt ? o.l2_trans : o.l2_life;

    /* start: the plain Pareto/NBD, every coefficient 0 */
    churn_model *plain = NULL;
    churn_btyd_options bo;
    churn_btyd_options_init(&bo);
    bo.no_std_errors = 1;
    rc = churn_btyd_fit(&plain, CHURN_FAMILY_PNBD, n, frequency, recency, T, weights, &bo);
    if (rc && rc != CHURN_ENOCONV)
        return rc;
    churn__ok();
    double theta[DMAXK], gvec[DMAXK], dvec[DMAXK], trial[DMAXK];
    for (int j = 0; j < NB; j++)
        theta[j] = log(plain->params[j]);
    churn_model_free(plain);
    for (size_t j = NB; j < k; j++)
        theta[j] = 0;
    double *mem = churn__malloc(3 * k * k * sizeof *mem);
    if (!mem)
        return churn__nomem("dynamic covariate fit");
    double *H = mem, *M = H + k * k, *covt = M + k * k;
    double wsum = 0;
    for (size_t i = 0; i < n; i++)
        wsum += weights ? weights[i] : 1;
    double f = 0, ftrial;
    size_t bad = 0;
    int it = 0, converged = 0;
    char why[200] = "";
    if (devaluate(&pb, theta, &f, gvec, H, &bad)) {
        churn__free(mem);
        return churn__error(CHURN_ENUMERIC, "%s: row %zu: the log-likelihood is not finite at "
                            "the plain model's fit", fn, bad);
    }
    for (; it < o.max_iter; it++) {
        if (churn__cov_max_abs(k, gvec) / wsum < o.tol) {
            converged = 1;
            break;
        }
        if (churn__cov_newton_step(k, H, gvec, dvec, M)) {
            snprintf(why, sizeof why, "no ascent direction (the Hessian is not finite)");
            break;
        }
        double step = 1, slope = 0;
        for (size_t j = 0; j < k; j++)
            slope += gvec[j] * dvec[j];
        if (slope <= 1e-13 * fmax(1.0, fabs(f))) {
            /* the Newton decrement is at the rounding level of the total: polish, stop */
            for (size_t j = 0; j < k; j++)
                trial[j] = theta[j] + dvec[j];
            double g2[DMAXK];
            if (devaluate(&pb, trial, &ftrial, g2, NULL, NULL) == CHURN_OK &&
                ftrial >= f - 1e-12 * fmax(1.0, fabs(f))) {
                memcpy(theta, trial, k * sizeof *theta);
                devaluate(&pb, theta, &f, gvec, H, NULL);
            }
            converged = 1;
            it++;
            break;
        }
        int moved = 0;
        for (int h = 0; h < 60; h++, step *= 0.5) {
            for (size_t j = 0; j < k; j++)
                trial[j] = theta[j] + step * dvec[j];
            if (devaluate(&pb, trial, &ftrial, NULL, NULL, NULL) == CHURN_OK &&
                ftrial >= f + 1e-4 * step * slope) {
                moved = 1;
                break;
            }
        }
        if (!moved) {
            if (churn__cov_max_abs(k, gvec) / wsum < 1e3 * o.tol)
                converged = 1;
            else
                snprintf(why, sizeof why, "the line search found no increase (largest gradient "
                         "component %.3g per customer)", churn__cov_max_abs(k, gvec) / wsum);
            break;
        }
        memcpy(theta, trial, k * sizeof *theta);
        if (devaluate(&pb, theta, &f, gvec, H, &bad)) {
            churn__free(mem);
            return churn__error(CHURN_ENUMERIC, "%s: row %zu: the log-likelihood is not finite "
                                "during the fit", fn, bad);
        }
    }
    if (!converged && !why[0])
        snprintf(why, sizeof why, "%d Newton iterations (max_iter) were not enough", it);
    int have_cov = 0;
    char note[256] = "";
    if (!o.no_std_errors) {
        for (size_t j = 0; j < k * k; j++)
            M[j] = -H[j];
        if (churn__chol(M, k, 0) == 0) {
            for (size_t j = 0; j < k; j++) {
                double e[DMAXK];
                memset(e, 0, k * sizeof *e);
                e[j] = 1;
                churn__chol_solve(M, e, k);
                for (size_t i = 0; i < k; i++)
                    covt[i * k + j] = e[i];
            }
            have_cov = 1;
        } else {
            converged = 0;
            snprintf(note, sizeof note, "the Hessian is not negative definite at the optimum: "
                     "some coefficients are not identified (collinear covariates?)");
        }
    }
    for (size_t a = NB; a < K; a++) {
        if (!zero[a] || (a >= NB + kt && shared_life[a - NB - kt]))
            continue;
        size_t len = strlen(note);
        snprintf(note + len, sizeof note - len, "%s%s covariate '%s' is 0 for every customer "
                 "and period: its coefficient is not identified and fixed at 0",
                 len ? "; " : "", a < NB + kt ? "trans" : "life",
                 a < NB + kt ? d.tn[a - NB] : d.ln[a - NB - kt]);
    }
    churn_model *m = NULL;
    rc = build_dyn_model(&m, &pb, theta, have_cov ? covt : NULL, shared_life);
    churn__free(mem);
    if (rc)
        return rc;
    dproblem up = pb;
    memset(up.lam, 0, sizeof up.lam);
    double ll;
    m->loglik = devaluate(&up, theta, &ll, NULL, NULL, NULL) == CHURN_OK ? ll : NAN;
    m->nobs = wsum;
    m->converged = converged;
    m->iterations = it;
    if (!converged) {
        char msg[512];
        snprintf(msg, sizeof msg, "dynamic covariate fit did not converge: %s%s%s", why,
                 note[0] ? "; " : "", note);
        churn__model_set_note(m, msg);
    } else if (note[0]) {
        churn__model_set_note(m, note);
    }
    *out = m;
    if (!converged)
        return churn__error(CHURN_ENOCONV, "%s: %s%s%s", fn, why[0] ? why : "not converged",
                            note[0] ? "; " : "", note);
    return CHURN_OK;
}

/* ---- public: scoring ------------------------------------------------------------------- */

/* The model's coefficients matched by name to the caller's columns: a dgrid whose
 * covariates are the model's, in the model's order. colt/coll hold the caller's index. */
typedef struct {
    dgrid d;
    double gt[DMAXCOV], gl[DMAXCOV];
    const char *tn[DMAXCOV], *ln[DMAXCOV];
    double *buf;   /* reordered covariate columns (n x P per covariate), owned */
} dscore;

static int score_setup(dscore *sc, const churn_model *model, size_t n, const double *x,
                       const double *tx, const double *T, const churn_btyd_dyncov *dc,
                       double horizon, int want_rows, const char *fn)
{
    sc->buf = NULL;
    int rc = churn__model_check(model, fn, 1, CHURN_FAMILY_PNBD);
    if (rc)
        return rc;
    size_t np = model->nparams;
    if (np > NB && !churn__model_array(model, "covariates_dynamic", NULL))
        return churn__error(CHURN_EINVAL, "%s: this Pareto/NBD model has static covariates "
                            "(fitted by churn_btyd_fit_covariates): score it with "
                            "churn_btyd_score_covariates, not with time-varying covariates", fn);
    for (size_t j = 0; j < NB; j++)
        if (!(model->params[j] > 0) || !isfinite(model->params[j]))
            return churn__error(CHURN_EINVAL, "%s: parameter '%s' = %g must be a finite number "
                                "> 0", fn, model->param_names[j], model->params[j]);
    dgrid user;
    if ((rc = check_dyncov(fn, dc, &user, n, x, tx, T, NULL, 0, 0, 0, horizon)))
        return rc;
    size_t kt = 0, kl = 0;
    const double *colt[DMAXCOV], *coll[DMAXCOV];
    for (size_t j = NB; j < np; j++) {
        const char *nm = model->param_names[j];
        int life = strncmp(nm, "life.", 5) == 0;
        if (!life && strncmp(nm, "trans.", 6) != 0)
            return churn__error(CHURN_EFORMAT, "%s: the model's parameters beyond the first "
                                "four must be named trans.<name> or life.<name>", fn);
        nm += life ? 5 : 6;
        const char *const *names = life ? user.ln : user.tn;
        size_t have = life ? user.kl : user.kt;
        int at = names ? churn__cov_find_name(names, have, nm) : -1;
        if (at < 0)
            return churn__error(CHURN_EINVAL, "%s: the model needs the %s covariate '%s', which "
                                "was not given", fn, life ? "life" : "trans", nm);
        if ((life ? kl : kt) >= DMAXCOV)
            return churn__error(CHURN_EINVAL, "%s: more than %d covariates per process", fn,
                                DMAXCOV);
        const double *base = life ? user.Zl : user.Zt;
        if (life) {
            sc->gl[kl] = model->params[j];
            sc->ln[kl] = nm;
            coll[kl++] = base + (size_t)at * user.P * n;
        } else {
            sc->gt[kt] = model->params[j];
            sc->tn[kt] = nm;
            colt[kt++] = base + (size_t)at * user.P * n;
        }
    }
    size_t cell = user.P * n;
    if (kt + kl) {
        sc->buf = churn__malloc((kt + kl) * cell * sizeof *sc->buf);
        if (!sc->buf)
            return churn__nomem("dynamic covariates");
        for (size_t j = 0; j < kt; j++)
            memcpy(sc->buf + j * cell, colt[j], cell * sizeof *sc->buf);
        for (size_t j = 0; j < kl; j++)
            memcpy(sc->buf + (kt + j) * cell, coll[j], cell * sizeof *sc->buf);
    }
    sc->d = user;
    sc->d.kt = kt;
    sc->d.kl = kl;
    sc->d.Zt = sc->buf;
    sc->d.Zl = sc->buf ? sc->buf + kt * cell : NULL;
    sc->d.tn = sc->tn;
    sc->d.ln = sc->ln;
    /* the rows, and the model's covariates finite where they are read (a column the
     * model does not use is never read) */
    if (want_rows && (rc = check_rows(fn, &sc->d, NULL, 0, 0, horizon))) {
        churn__free(sc->buf);
        sc->buf = NULL;
        return rc;
    }
    return CHURN_OK;
}

/* int_{u0}^{u0 + t} w(u) (BT / (beta + M(u)))^s du for customer i, customer time from
 * u0 with M(u0) = M0; exact per period (w, m constant there). */
static double future_integral(const dgrid *d, const dparams *pr, size_t i, double u0, double M0,
                              double BT, double t)
{
    double b = d->birth[i], total = 0, M = M0, end = u0 + t;
    dperiod pe;
    pe.kt = d->kt;
    pe.kl = d->kl;
    pe.K = NB + d->kt + d->kl;
    pe.want = 0;
    size_t p0 = first_period(d, b + u0);
    for (size_t per = p0; per < d->P && d->Bd[per] - b < end; per++) {
        double a = fmax(d->Bd[per] - b, u0), e = fmin(d->Bd[per + 1] - b, end);
        if (e <= a)
            continue;
        load_period(d, pr, per, i, &pe);
        double B0 = pr->beta + M, h = e - a, L = log1p(pe.m * h / B0), c = 1 - pr->s;
        /* int_0^h (B0 + m v)^-s dv = B0^(1-s)/m * expm1((1-s) L)/(1-s) */
        double phi = fabs(c * L) < 1e-300 ? L : expm1(c * L) / c;
        total += pe.w * exp(pr->s * (log(BT) - log(B0))) * B0 / pe.m * phi;
        M += pe.m * h;
    }
    return total;
}

CHURN_API int churn_pnbd_dyncov_score(const churn_model *model, double t, size_t n,
                                      const double *frequency, const double *recency,
                                      const double *T, const churn_btyd_dyncov *dc,
                                      double *p_alive, double *expected)
{
    churn__ok();
    static const char fn[] = "churn_pnbd_dyncov_score";
    if (NEED(frequency) || NEED(recency) || NEED(T) || !model)
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    if (!isfinite(t) || t < 0)
        return churn__error(CHURN_EINVAL, "%s: horizon t = %g must be a finite number >= 0", fn,
                            t);
    dscore sc;
    int rc = score_setup(&sc, model, n, frequency, recency, T, dc, t, 1, fn);
    if (rc)
        return rc;
    dparams pr = {model->params[0], model->params[1], model->params[2], model->params[3],
                  sc.gt, sc.gl};
    for (size_t i = 0; i < n; i++) {
        double ll;
        dextra ex;
        if (customer_loglik(&sc.d, &pr, i, 0, 0, &ll, NULL, NULL, &ex) ||
            !isfinite(ex.p_alive)) {
            churn__free(sc.buf);
            return churn__btyd_nonfinite(fn, "P(alive)", i);
        }
        if (p_alive)
            p_alive[i] = ex.p_alive;
        if (expected) {
            double BT = pr.beta + ex.MT;
            double v = ex.p_alive * (pr.r + frequency[i]) / (pr.alpha + ex.LamT) *
                       future_integral(&sc.d, &pr, i, T[i], ex.MT, BT, t);
            if (!isfinite(v)) {
                churn__free(sc.buf);
                return churn__btyd_nonfinite(fn, "the expected number of purchases", i);
            }
            expected[i] = v;
        }
    }
    churn__free(sc.buf);
    return CHURN_OK;
}

CHURN_API int churn_pnbd_dyncov_expected_new(const churn_model *model, double t, size_t n,
                                             const churn_btyd_dyncov *dc, double *expected)
{
    churn__ok();
    static const char fn[] = "churn_pnbd_dyncov_expected_new";
    if (!model || NEED(expected))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    if (!isfinite(t) || t < 0)
        return churn__error(CHURN_EINVAL, "%s: horizon t = %g must be a finite number >= 0", fn,
                            t);
    /* prospective customers: no history, T = 0 at their birth */
    double *zeros = n ? churn__calloc(n, sizeof *zeros) : NULL;
    if (n && !zeros)
        return churn__nomem("expected_new rows");
    dscore sc;
    int rc = score_setup(&sc, model, n, zeros, zeros, zeros, dc, t, 1, fn);
    if (rc) {
        churn__free(zeros);
        return rc;
    }
    dparams pr = {model->params[0], model->params[1], model->params[2], model->params[3],
                  sc.gt, sc.gl};
    for (size_t i = 0; i < n && !rc; i++) {
        /* E[X(t)] = r/alpha int_0^t w(u) (beta / (beta + M(u)))^s du */
        expected[i] = pr.r / pr.alpha * future_integral(&sc.d, &pr, i, 0, 0, pr.beta, t);
        if (!isfinite(expected[i]))
            rc = churn__btyd_nonfinite(fn, "E[X(t)]", i);
    }
    churn__free(sc.buf);
    churn__free(zeros);
    return rc;
}
