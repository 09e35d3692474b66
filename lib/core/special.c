/*
 * Special functions for the BTYD models: log-space helpers, a log-scaled
 * adaptive Gauss-Kronrod integrator, the Gauss hypergeometric function for
 * positive parameters, and the Pareto/NBD tail integral with derivatives.
 *
 * Also: GSL's lngamma, lnbeta, psi, psi_1 and lnchoose behind domain checks
 * (GSL's error handler is never reached), and our own polygamma, incomplete
 * beta and gamma functions and beta-density quadrature, which replace GSL
 * routines that report under/overflow or non-convergence through the handler.
 *
 * Why not gsl_sf_hyperg_2F1: GSL overflows or stops with EMAXITER for the
 * parameter sizes that customers with thousands of purchases produce
 * (a ~ 1e3..1e4), loses accuracy as z -> 1 when c - a - b is close to an
 * integer, and gives no derivatives with respect to the parameters, which the
 * Pareto/NBD gradient needs. The forms below are all sums or integrals of
 * positive terms, so there is no cancellation to lose digits to.
 */
#include "core/special.h"

#include <float.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_psi.h>
#include <limits.h>

double churn__logsubexp(double a, double b)
{
    if (b == -INFINITY)
        return a;
    return a + churn__log1mexp(a - b);
}

double churn__log1mexp(double x)
{
    /* Maechler (2012): switch at log 2 between log(-expm1(-x)) and log1p(-exp(-x)). */
    return x <= M_LN2 ? log(-expm1(-x)) : log1p(-exp(-x));
}

double churn__digamma(double x)
{
    double acc = 0.0;
    if (!(x > 0.0))
        return NAN;
    while (x < 10.0) {
        acc -= 1.0 / x;
        x += 1.0;
    }
    double q = 1.0 / (x * x);
    /* Bernoulli-number coefficients B_2k / (2k) */
    double tail = q * (1.0 / 12 - q * (1.0 / 120 - q * (1.0 / 252 - q * (1.0 / 240 -
                  q * (1.0 / 132 - q * (691.0 / 32760 - q / 12.0))))));
    return acc + log(x) - 0.5 / x - tail;
}

double churn__trigamma(double x)
{
    double acc = 0.0;
    if (!(x > 0.0))
        return NAN;
    while (x < 10.0) {
        acc += 1.0 / (x * x);
        x += 1.0;
    }
    double q = 1.0 / (x * x);
    /* A&S 6.4.12: 1/x + 1/(2x^2) + sum B_2k / x^(2k+1) */
    double tail = q * (1.0 / 6 - q * (1.0 / 30 - q * (1.0 / 42 - q * (1.0 / 30 -
                  q * (5.0 / 66 - q * (691.0 / 2730 - q * 7.0 / 6))))));
    return acc + (1.0 + 0.5 / x + tail) / x;
}

/* ==== log-scaled adaptive Gauss-Kronrod (7, 15) ============================ */

/* Abscissae and weights of the 15-point Kronrod extension of the 7-point
 * Gauss-Legendre rule (Piessens et al. 1983, QUADPACK, table for QK15). */
static const double gk_x[8] = {
    0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
    0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
    0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
    0.207784955007898467600689403773245, 0.0};
static const double gk_w[8] = {
    0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
    0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
    0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
    0.204432940075298892414161999234649, 0.209482141084727828012999174891714};
/* Gauss weights for gk_x[1], gk_x[3], gk_x[5], gk_x[7]. */
static const double g_w[4] = {
    0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
    0.381830050505118944950369775488975, 0.417959183673469387755102040816327};

/* At most this many intervals (3 + 3 CHURN__QUAD_MAXCOMP doubles each, ~66 KB of
 * stack): the integrands here need a few to a few tens. */
#define QUAD_MAXINT 128

typedef struct quad_interval {
    double lo, hi;
    double scale;                       /* log scale of res/err/absres */
    double res[CHURN__QUAD_MAXCOMP];
    double err[CHURN__QUAD_MAXCOMP];
    double absres[CHURN__QUAD_MAXCOMP];
} quad_interval;

/* One 15-point rule on [lo, hi]; returns 0, or -1 on a non-finite integrand. */
static int quad_rule(churn__quad_fn f, void *ctx, size_t ncomp, double lo, double hi,
                     double floor_rel, quad_interval *iv)
{
    double centre = 0.5 * (lo + hi), half = 0.5 * (hi - lo);
    double lg[15], mult[15][CHURN__QUAD_MAXCOMP];
    double shift = -INFINITY;

    iv->lo = lo;
    iv->hi = hi;
    for (int j = 0; j < 7; j++) {
        lg[2 * j] = f(centre - half * gk_x[j], ctx, mult[2 * j]);
        lg[2 * j + 1] = f(centre + half * gk_x[j], ctx, mult[2 * j + 1]);
    }
    lg[14] = f(centre, ctx, mult[14]);
    for (int j = 0; j < 15; j++) {
        if (isnan(lg[j]) || lg[j] == INFINITY)
            return -1;
        if (lg[j] > shift)
            shift = lg[j];
    }
    if (shift == -INFINITY) {
        iv->scale = -INFINITY;
        for (size_t k = 0; k < ncomp; k++)
            iv->res[k] = iv->err[k] = iv->absres[k] = 0.0;
        return 0;
    }
    iv->scale = shift;
    double g[15];
    for (int j = 0; j < 15; j++)
        g[j] = exp(lg[j] - shift);
    for (size_t k = 0; k < ncomp; k++) {
        double v[15];
        for (int j = 0; j < 15; j++) {
            double m = k == 0 ? 1.0 : mult[j][k - 1];
            if (g[j] != 0.0 && !isfinite(m))
                return -1;
            v[j] = g[j] == 0.0 ? 0.0 : g[j] * m;
        }
        double rk = gk_w[7] * v[14], rg = g_w[3] * v[14], ra = gk_w[7] * fabs(v[14]);
        for (int j = 0; j < 7; j++) {
            double s = v[2 * j] + v[2 * j + 1];
            rk += gk_w[j] * s;
            ra += gk_w[j] * (fabs(v[2 * j]) + fabs(v[2 * j + 1]));
            if (j & 1)
                rg += g_w[j / 2] * s;
        }
        double mean = 0.5 * rk, asc = gk_w[7] * fabs(v[14] - mean);
        for (int j = 0; j < 7; j++)
            asc += gk_w[j] * (fabs(v[2 * j] - mean) + fabs(v[2 * j + 1] - mean));
        /* QUADPACK's error heuristic: |K15 - G7| scaled by the integrand's spread. */
        double err = fabs(rk - rg);
        if (asc != 0.0 && err != 0.0) {
            double q = 200.0 * err / asc;
            q *= sqrt(q);
            err = asc * (q < 1.0 ? q : 1.0);
        }
        if (ra > DBL_MIN / (50.0 * DBL_EPSILON) && err < floor_rel * ra)
            err = floor_rel * ra;
        iv->res[k] = rk * half;
        iv->err[k] = err * half;
        iv->absres[k] = ra * half;
    }
    return 0;
}

int churn__quad_log(churn__quad_fn f, void *ctx, size_t ncomp, double lo, double hi,
                    double rtol, double lg_err, double *value, double *log_scale)
{
    quad_interval iv[QUAD_MAXINT];
    size_t nint = 0;

    if (ncomp < 1 || ncomp > CHURN__QUAD_MAXCOMP || !(lo < hi) || !isfinite(lo) || !isfinite(hi))
        return CHURN_ENUMERIC;
    /* Each interval's error estimate is at least 50 eps of its |integral|
     * (QUADPACK's round-off floor) plus the integrand's own rounding noise
     * lg_err, so smaller tolerances cannot be met. */
    if (!(lg_err >= 0.0))
        lg_err = 0.0;
    double floor_rel = 50.0 * DBL_EPSILON + lg_err;
    if (rtol < 2.0 * floor_rel)
        rtol = 2.0 * floor_rel;
    /* Start from pieces of length <= 4: the integrands are smooth in the log
     * variables used here, with features of width O(1). */
    double len = hi - lo;
    size_t ninit = (size_t)ceil(len / 4.0);
    if (ninit < 1)
        ninit = 1;
    if (ninit > 64)
        ninit = 64;
    for (size_t i = 0; i < ninit; i++) {
        double a = lo + len * (double)i / (double)ninit;
        double b = i + 1 == ninit ? hi : lo + len * (double)(i + 1) / (double)ninit;
        if (quad_rule(f, ctx, ncomp, a, b, floor_rel, &iv[nint++]) != 0)
            return CHURN_ENUMERIC;
    }
    for (;;) {
        double top = -INFINITY;
        for (size_t i = 0; i < nint; i++)
            if (iv[i].scale > top)
                top = iv[i].scale;
        if (top == -INFINITY) {
            for (size_t k = 0; k < ncomp; k++)
                value[k] = 0.0;
            *log_scale = -INFINITY;
            return CHURN_OK;
        }
        double tot[CHURN__QUAD_MAXCOMP] = {0}, tabs[CHURN__QUAD_MAXCOMP] = {0},
               terr[CHURN__QUAD_MAXCOMP] = {0};
        for (size_t i = 0; i < nint; i++) {
            double w = exp(iv[i].scale - top);
            for (size_t k = 0; k < ncomp; k++) {
                tot[k] += iv[i].res[k] * w;
                tabs[k] += iv[i].absres[k] * w;
                terr[k] += iv[i].err[k] * w;
            }
        }
        int done = 1;
        for (size_t k = 0; k < ncomp; k++)
            if (terr[k] > rtol * tabs[k])
                done = 0;
        for (size_t k = 0; k < ncomp; k++)
            value[k] = tot[k];
        *log_scale = top;
        if (done)
            return CHURN_OK;
        if (nint + 1 > QUAD_MAXINT)
            return CHURN_ENUMERIC;
        /* Bisect the interval contributing most error relative to the tolerance. */
        size_t worst = 0;
        double wbad = -1.0;
        for (size_t i = 0; i < nint; i++) {
            double w = exp(iv[i].scale - top), bad = 0.0;
            for (size_t k = 0; k < ncomp; k++) {
                double b = tabs[k] > 0.0 ? iv[i].err[k] * w / tabs[k] : 0.0;
                if (b > bad)
                    bad = b;
            }
            if (bad > wbad) {
                wbad = bad;
                worst = i;
            }
        }
        double a = iv[worst].lo, b = iv[worst].hi, mid = 0.5 * (a + b);
        if (!(mid > a && mid < b))
            return CHURN_ENUMERIC;
        if (quad_rule(f, ctx, ncomp, a, mid, floor_rel, &iv[worst]) != 0 ||
            quad_rule(f, ctx, ncomp, mid, b, floor_rel, &iv[nint++]) != 0)
            return CHURN_ENUMERIC;
    }
}

/* ==== Gauss hypergeometric 2F1 ============================================ */

/* Power series sum_n (a)_n (b)_n / ((c)_n n!) z^n for a, b, c > 0 and
 * 0 <= z < 1: positive terms, rescaled so that huge intermediate terms
 * (a, b ~ 1e4) do not overflow. */
static int hyp2f1_series_log(double a, double b, double c, double z, double *log_value)
{
    double sum = 1.0, term = 1.0, lscale = 0.0;
    const double big = 1e250;
    for (long n = 0; n < 4000000; n++) {
        double dn = (double)n;
        double ratio = (a + dn) * (b + dn) / ((c + dn) * (dn + 1.0)) * z;
        term *= ratio;
        sum += term;
        if (sum > big) {
            sum /= big;
            term /= big;
            lscale += log(big);
        }
        /* The ratio tends to z; bound the rest by a geometric tail with the
         * larger of the current ratio and its limit. */
        double rb = ratio > z ? ratio : z;
        if (rb < 1.0 && term * rb <= 0.25 * DBL_EPSILON * sum * (1.0 - rb)) {
            *log_value = lscale + log(sum);
            return CHURN_OK;
        }
        if (term == 0.0) {
            *log_value = lscale + log(sum);
            return CHURN_OK;
        }
    }
    return CHURN_ENUMERIC;
}

typedef struct euler_ctx {
    double a, b, c, z, omz;
} euler_ctx;

/* Euler's integral 2F1 = G(c)/(G(b)G(c-b)) int_0^1 t^(b-1) (1-t)^(c-b-1) (1-zt)^(-a) dt
 * (Abramowitz & Stegun 15.3.1), split at t = 1/2. Near t = 0 in u = log t: */
static double euler_lower(double u, void *vctx, double *mult)
{
    const euler_ctx *e = vctx;
    double t = exp(u);
    (void)mult;
    return e->b * u + (e->c - e->b - 1.0) * log1p(-t) - e->a * log1p(-e->z * t);
}

/* Near t = 1 in v = log(1 - t) = log s: 1 - z t = s (1 + (1-z)(1/s - 1)), so
 * (c-b) v - a log(1 - z t) = (c-b-a) v - a log1p((1-z) expm1(-v)), which keeps
 * 1 - z exact and avoids the cancellation of two terms of size a |v|. */
static double euler_upper(double v, void *vctx, double *mult)
{
    const euler_ctx *e = vctx;
    (void)mult;
    return (e->c - e->b - e->a) * v + (e->b - 1.0) * log1p(-exp(v)) -
           e->a * log1p(e->omz * expm1(-v));
}

/* Requires a > 0, c > b > 0, 0 < z < 1, omz = 1 - z computed exactly. */
static int hyp2f1_euler_log(double a, double b, double c, double z, double omz, double *log_value)
{
    euler_ctx e = {a, b, c, z, omz};
    double val, lsc;
    const double rtol = 1e-14;

    /* Below u0 the integrand is e^(b u) (1 + O((|c-b-1| + a) e^u)): integrate that analytically. */
    double u0 = -40.0 - log1p(fabs(c - b - 1.0) + a);
    double lower = b * u0 - log(b);
    /* Rounding in the log-integrand where it matters (near its peak, within
     * e^-60) is eps times the size of its terms there. */
    double mag1 = fmin(b * -u0, b * M_LN2 + 60.0) + fabs(c - b - 1.0) * M_LN2 -
                  a * log1p(-0.5 * z) + 60.0;
    if (churn__quad_log(euler_lower, &e, 1, u0, -M_LN2, rtol, 2.0 * DBL_EPSILON * mag1, &val,
                        &lsc) != CHURN_OK)
        return CHURN_ENUMERIC;
    if (val > 0.0)
        lower = churn__logaddexp(lower, lsc + log(val));

    /* Below v0 it is (1-z)^(-a) e^((c-b) v) (1 + O((a/(1-z) + |b-1|) e^v)). */
    double v0 = -40.0 - log1p(a * z / omz + fabs(b - 1.0));
    double upper = -a * log(omz) + (c - b) * v0 - log(c - b);
    double mag2 = 2.0 * fabs(c - b - a) * -v0 + fabs(b - 1.0) + 60.0;
    if (churn__quad_log(euler_upper, &e, 1, v0, -M_LN2, rtol, 2.0 * DBL_EPSILON * mag2, &val,
                        &lsc) != CHURN_OK)
        return CHURN_ENUMERIC;
    if (val > 0.0)
        upper = churn__logaddexp(upper, lsc + log(val));

    *log_value = lgamma(c) - lgamma(b) - lgamma(c - b) + churn__logaddexp(lower, upper);
    return isfinite(*log_value) ? CHURN_OK : CHURN_ENUMERIC;
}

/* z in [0, 1) with omz = 1 - z exact, a, b, c > 0, c >= min(a, b). */
static int hyp2f1_pos_log(double a, double b, double c, double z, double omz, double *log_value)
{
    if (z == 0.0) {
        *log_value = 0.0;
        return CHURN_OK;
    }
    /* 2F1(a, b; b; z) = (1 - z)^(-a). */
    if (c == b) {
        *log_value = -a * log(omz);
        return CHURN_OK;
    }
    if (c == a) {
        *log_value = -b * log(omz);
        return CHURN_OK;
    }
    if (z <= 0.75 && hyp2f1_series_log(a, b, c, z, log_value) == CHURN_OK)
        return CHURN_OK;
    if (c > b)
        return hyp2f1_euler_log(a, b, c, z, omz, log_value);
    return hyp2f1_euler_log(b, a, c, z, omz, log_value);
}

int churn__hyp2f1_log(double a, double b, double c, double z, double *log_value)
{
    if (!(a > 0.0 && b > 0.0 && c > 0.0 && isfinite(a) && isfinite(b) && isfinite(c)) ||
        !(z < 1.0) || isnan(z) || !(c >= a || c >= b))
        return CHURN_EINVAL;
    if (z >= 0.0)
        return hyp2f1_pos_log(a, b, c, z, 1.0 - z, log_value);
    /* Pfaff (A&S 15.3.4): 2F1(a,b;c;z) = (1-z)^(-a) 2F1(a, c-b; c; z/(z-1)), taking
     * the form whose second parameter c-b stays >= 0 so that all terms are positive. */
    if (c < b) {
        double t = a;
        a = b;
        b = t;
    }
    double omz = 1.0 - z, zz = -z / omz, omzz = 1.0 / omz, lv = 0.0;
    int rc = CHURN_OK;
    if (c - b > 0.0)
        rc = hyp2f1_pos_log(a, c - b, c, zz, omzz, &lv);
    *log_value = -a * log(omz) + lv;
    return rc;
}

/* ==== Pareto/NBD tail integral ============================================= */

/*
 * Work in the orientation where the larger of (alpha, beta) is A with
 * exponent PA and the smaller B with exponent QB. Expanding
 * (B+tau)^-QB = (A+tau)^-QB (1 - y(tau))^-QB with y = (A-B)/(A+tau) and then
 * applying Pfaff's transformation gives (all terms positive, ratio <= y):
 *   J(t) = (A+t)^-PA (B+t)^-(QB-1) / a * sum_n (PA)_n / (a+1)_n y^n,  a = PA+QB-1,
 * i.e. 2F1(1, PA; a+1; y), the "Pfaff-transformed" Fader-Hardie form. The
 * derivatives of each term with respect to PA, QB and y are carried along
 * (d log (PA)_n / d PA = sum_{k<n} 1/(PA+k), and so on).
 */
/* Series part in the oriented frame: J = exp(lpre) * S / a. */
/* One tail in the oriented frame, before summing. */
typedef struct tail_job {
    double PA, QB, At, Bt, logAt, logBt, y;
} tail_job;

/* From the sums S = sum t_n, SP = sum t_n dlog c_n/dPA, SQ = sum t_n dlog c_n/dQB,
 * Sn = sum n t_n to the parts (J = e^lpre S / a) and d log J. */
static void tail_finish(const tail_job *j, double S, double SP, double SQ, double Sn,
                        int want_grad, churn__tail_parts *out)
{
    out->lpre = -j->PA * j->logAt - (j->QB - 1.0) * j->logBt;
    out->S = S;
    if (!want_grad)
        return;
    double a = j->PA + j->QB - 1.0, At = j->At, Bt = j->Bt;
    /* d log J / dy = Sn / (y S) with y = d/(A+t), d = A-B; one division for
     * all the reciprocals (this runs once per tail, twice per customer). */
    double d = j->y > 0.0 ? j->y * At : 1.0;
    double sbt = S * Bt, ad = a * d, inv = 1.0 / (sbt * At * ad);
    double rs = At * Bt * ad * inv, ra = S * At * Bt * d * inv;
    double rAt = sbt * ad * inv, rBt = S * At * ad * inv;
    double sy_At2, sy_At; /* (d log S/dy) (B+t)/(A+t)^2 and (d log S/dy)/(A+t) */
    if (j->y > 0.0) {
        sy_At2 = Sn * Bt * Bt * a * inv;
        sy_At = Sn * At * Bt * a * inv;
    } else { /* at y = 0 the loop ends after one term: d S/dy = c_1 = PA/(a+1) */
        double sy = j->PA / (a + 1.0) * rs;
        sy_At2 = sy * Bt * rAt * rAt;
        sy_At = sy * rAt;
    }
    out->d[0] = -ra - j->logAt + SP * rs;
    out->d[1] = -ra - j->logBt + SQ * rs;
    out->d[2] = -j->PA * rAt + sy_At2;      /* dy/dA = (B+t)/(A+t)^2 */
    out->d[3] = -(j->QB - 1.0) * rBt - sy_At; /* dy/dB = -1/(A+t) */
}

/* Series part: J = exp(lpre) * S / a. */
static int tail_by_series(const tail_job *j, int want_grad, int max_terms, churn__tail_parts *out)
{
    double PA = j->PA, QB = j->QB, y = j->y, a1 = PA + QB;
    double S = 1.0, term = 1.0, kd = 0.0;
    /* The term ratios y (PA+k)/(a1+k) never exceed y, so once a term is below
     * tol * S the rest is below tol * S * y / (1 - y). */
    double tol = 0.25 * DBL_EPSILON * (1.0 - y);
    if (!want_grad) {
        for (;;) {
            double pk = PA + kd;
            term *= y * pk / (a1 + kd);
            kd += 1.0;
            S += term;
            if (term <= tol * S)
                break;
            if (kd > (double)max_terms)
                return CHURN_ENUMERIC;
        }
        tail_finish(j, S, 0.0, 0.0, 0.0, 0, out);
        return CHURN_OK;
    }
    /* With the gradient: d log c_n / d PA = sum_{k<n} [1/(PA+k) - 1/(a1+k)],
     * d log c_n / d QB = -sum_{k<n} 1/(a1+k), and d/dy of the series is
     * sum n c_n y^(n-1) = (sum n t_n) / y. */
    double SP = 0.0, SQ = 0.0, Sn = 0.0, hP = 0.0, hQ = 0.0;
    for (;;) {
        double pk = PA + kd, inv = 1.0 / (pk * (a1 + kd));
        term *= y * pk * pk * inv;
        hP += QB * inv;
        hQ -= pk * inv;
        kd += 1.0;
        S += term;
        SP += term * hP;
        SQ += term * hQ;
        Sn += kd * term;
        if (term <= tol * S)
            break;
        if (kd > (double)max_terms)
            return CHURN_ENUMERIC;
    }
    tail_finish(j, S, SP, SQ, Sn, 1, out);
    return CHURN_OK;
}

/* Two series in lockstep on two-lane vectors: the two tails of one customer
 * are independent recurrences, so this runs both for about the price of one.
 * A lane that has converged keeps adding terms below its tolerance, which
 * changes nothing. */
typedef double churn__v2d __attribute__((vector_size(16)));
typedef long long churn__v2l __attribute__((vector_size(16)));

static int tail_pair_by_series(const tail_job *j, int want_grad, int max_terms,
                               churn__tail_parts *out)
{
    const churn__v2d one = {1.0, 1.0};
    churn__v2d pa = {j[0].PA, j[1].PA}, qb = {j[0].QB, j[1].QB}, y = {j[0].y, j[1].y};
    churn__v2d a1 = pa + qb, tol = 0.25 * DBL_EPSILON * (one - y);
    churn__v2d S = one, term = one, kd = one - one;
    churn__v2d SP = kd, SQ = kd, Sn = kd, hP = kd, hQ = kd;
    for (;;) {
        /* two terms per test */
        for (int u = 0; u < 2; u++) {
            churn__v2d pk = pa + kd, inv = one / (pk * (a1 + kd));
            term *= y * pk * pk * inv;
            hP += qb * inv;
            hQ -= pk * inv;
            kd += one;
            S += term;
            SP += term * hP;
            SQ += term * hQ;
            Sn += kd * term;
        }
        churn__v2l done = term <= tol * S;
        if (done[0] & done[1])
            break;
        if (kd[0] > (double)max_terms)
            return CHURN_ENUMERIC;
    }
    for (int k = 0; k < 2; k++)
        tail_finish(&j[k], S[k], SP[k], SQ[k], Sn[k], want_grad, &out[k]);
    return CHURN_OK;
}

typedef struct tail_quad_ctx {
    double PA, QB, a, d, logd;
} tail_quad_ctx;

/* Integrand of J over tau in the variable w = log u, u = (B+tau)/(A+tau):
 * (A+tau) = d/(1-u), (B+tau) = u d/(1-u), dtau = (A+tau)^2/d du, so
 * f dtau = d^-a u^-QB (1-u)^(a-1) du. mult holds the tau-space partial
 * derivatives of log f: -log(A+tau), -log(B+tau), -PA/(A+tau), -QB/(B+tau). */
static double tail_integrand(double w, void *vctx, double *mult)
{
    const tail_quad_ctx *q = vctx;
    double u = exp(w), l1mu = log1p(-u);
    if (mult) {
        mult[0] = -(q->logd - l1mu);
        mult[1] = -(q->logd + w - l1mu);
        mult[2] = -q->PA * (1.0 - u) / q->d;
        mult[3] = -q->QB * (1.0 - u) / (u * q->d);
    }
    return -q->a * q->logd + (1.0 - q->QB) * w + (q->a - 1.0) * l1mu;
}

/* J(t) = int_t^tau1 f + J(tau1), with tau1 where y(tau1) = 1/2 (A+tau1 = 2d,
 * B+tau1 = d): quadrature near the z -> 1 end, the series (ratio <= 1/2)
 * for the rest. The dependence of tau1 on A, B cancels between the two
 * parts. Result as parts with S = 1 and lpre = log(a J). */
static int tail_by_quadrature(double PA, double QB, double A, double B, double logAt,
                              double logBt, int want_grad, churn__tail_parts *out)
{
    tail_quad_ctx q;
    q.PA = PA;
    q.QB = QB;
    q.a = PA + QB - 1.0;
    q.d = A - B;
    q.logd = log(q.d);
    double w0 = logBt - logAt, w1 = -M_LN2, loga = log(q.a);
    churn__tail_parts tail;
    tail_job half = {PA, QB, 2.0 * q.d, q.d, M_LN2 + q.logd, q.logd, 0.5};
    if (tail_by_series(&half, want_grad, 4000, &tail) != CHURN_OK)
        return CHURN_ENUMERIC;
    double ltail = tail.lpre + log(tail.S) - loga;
    out->S = 1.0;
    if (!(w0 < w1)) {
        out->lpre = ltail + loga;
        memcpy(out->d, tail.d, sizeof out->d);
        return CHURN_OK;
    }
    double val[5], lsc;
    size_t ncomp = want_grad ? 5 : 1;
    double mag = fabs(1.0 - QB) * -w0 + fabs(q.a - 1.0) * M_LN2;
    if (churn__quad_log(tail_integrand, &q, ncomp, w0, w1, 1e-13, 2.0 * DBL_EPSILON * mag, val,
                        &lsc) != CHURN_OK ||
        !(val[0] > 0.0))
        return CHURN_ENUMERIC;
    double lq = lsc + log(val[0]);
    double logJ = churn__logaddexp(lq, ltail);
    out->lpre = logJ + loga;
    if (want_grad) {
        double wq = exp(lsc - logJ), wt = exp(ltail - logJ);
        for (int k = 0; k < 4; k++)
            out->d[k] = val[k + 1] * wq + tail.d[k] * wt;
    }
    return isfinite(logJ) ? CHURN_OK : CHURN_ENUMERIC;
}

/* Orient one tail: the larger rate with its exponent first. */
static int tail_orient(double P, double Q, double alpha, double beta, double t, double log_at,
                       double log_bt, tail_job *j)
{
    int swap = alpha < beta;
    j->PA = swap ? Q : P;
    j->QB = swap ? P : Q;
    double A = swap ? beta : alpha, B = swap ? alpha : beta;
    j->logAt = swap ? log_bt : log_at;
    j->logBt = swap ? log_at : log_bt;
    j->At = A + t;
    j->Bt = B + t;
    j->y = (A - B) / j->At;
    return swap;
}

/* The series needs ~ log(eps)/log(y) terms at worst (~1200 at y = 0.97, a
 * few microseconds, still cheaper than the quadrature), fewer when the
 * coefficients (PA)_n/(a+1)_n fall fast (large QB, i.e. many purchases). */
static int series_ok(const tail_job *j)
{
    return j->y <= 0.97 || j->y * (j->PA + 64.0) / (j->PA + j->QB + 64.0) <= 0.5;
}

static int tail_unorient(int swap, int want_grad, churn__tail_parts *out)
{
    if (want_grad && swap) {
        double t0 = out->d[0], t2 = out->d[2];
        out->d[0] = out->d[1];
        out->d[1] = t0;
        out->d[2] = out->d[3];
        out->d[3] = t2;
    }
    return isfinite(out->lpre) && out->S > 0.0 ? CHURN_OK : CHURN_ENUMERIC;
}

int churn__pnbd_tail_parts(double P, double Q, double alpha, double beta, double t,
                           double log_at, double log_bt, int want_grad, churn__tail_parts *out)
{
    tail_job j;
    int rc = CHURN_ENUMERIC;
    if (!(P > 0.0 && Q > 0.0 && P + Q > 1.0))
        return CHURN_ENUMERIC;
    int swap = tail_orient(P, Q, alpha, beta, t, log_at, log_bt, &j);
    if (series_ok(&j))
        rc = tail_by_series(&j, want_grad, 2500, out);
    if (rc != CHURN_OK) {
        double A = swap ? beta : alpha, B = swap ? alpha : beta;
        rc = tail_by_quadrature(j.PA, j.QB, A, B, j.logAt, j.logBt, want_grad, out);
    }
    if (rc != CHURN_OK)
        return rc;
    return tail_unorient(swap, want_grad, out);
}

int churn__pnbd_tail_pair(double alpha, double beta, const double *P, const double *Q,
                          const double *t, const double *log_at, const double *log_bt,
                          int want_grad, churn__tail_parts *out)
{
    tail_job j[2];
    int swap = 0;
    for (int k = 0; k < 2; k++) {
        if (!(P[k] > 0.0 && Q[k] > 0.0 && P[k] + Q[k] > 1.0))
            return CHURN_ENUMERIC;
        swap = tail_orient(P[k], Q[k], alpha, beta, t[k], log_at[k], log_bt[k], &j[k]);
    }
    if (series_ok(&j[0]) && series_ok(&j[1]) &&
        tail_pair_by_series(j, want_grad, 2500, out) == CHURN_OK)
        return tail_unorient(swap, want_grad, &out[0]) ||
               tail_unorient(swap, want_grad, &out[1]) ? CHURN_ENUMERIC : CHURN_OK;
    for (int k = 0; k < 2; k++) {
        int rc = churn__pnbd_tail_parts(P[k], Q[k], alpha, beta, t[k], log_at[k], log_bt[k],
                                        want_grad, &out[k]);
        if (rc != CHURN_OK)
            return rc;
    }
    return CHURN_OK;
}

int churn__pnbd_tail(double P, double Q, double alpha, double beta, double t, double log_at,
                     double log_bt, double *log_J, double *dlog)
{
    churn__tail_parts parts;
    int rc = churn__pnbd_tail_parts(P, Q, alpha, beta, t, log_at, log_bt, dlog != NULL, &parts);
    if (rc != CHURN_OK)
        return rc;
    *log_J = parts.lpre + log(parts.S) - log(P + Q - 1.0);
    if (dlog)
        memcpy(dlog, parts.d, sizeof parts.d);
    return isfinite(*log_J) ? CHURN_OK : CHURN_ENUMERIC;
}

/* ---- second derivatives ----------------------------------------------------- */

/* Series with the Hessian of log J in the oriented frame (PA, QB, A, B).
 * Second derivatives of log c_n: d2/dPA2 = sum_{k<n} [1/(a1+k)^2 - 1/(PA+k)^2],
 * d2/dPA dQB = d2/dQB2 = sum_{k<n} 1/(a1+k)^2; in y: sum n(n-1) t_n / y^2. */
/* The ten sums of the Hessian series: S, SP, SQ, SPP, SPQ, SQQ, Sn, SPn, SQn, Snn. */
enum { TS_S, TS_P, TS_Q, TS_PP, TS_PQ, TS_QQ, TS_N, TS_PN, TS_QN, TS_NN, TS_K };

static int tail_hess_finish(const tail_job *j, const double *sum, double *logJ, double *g,
                            double *H);

static int tail_hess_by_series(const tail_job *j, int max_terms, double *logJ, double *g,
                               double *H)
{
    double PA = j->PA, QB = j->QB, y = j->y, a1 = PA + QB;
    double S = 1.0, term = 1.0, kd = 0.0, tol = 0.25 * DBL_EPSILON * (1.0 - y);
    double hP = 0.0, hQ = 0.0, kPP = 0.0, kPQ = 0.0;
    double SP = 0.0, SQ = 0.0, SPP = 0.0, SPQ = 0.0, SQQ = 0.0;
    double Sn = 0.0, SPn = 0.0, SQn = 0.0, Snn = 0.0;
    for (;;) {
        double pk = PA + kd, inv = 1.0 / (pk * (a1 + kd));
        double ia = pk * inv, ip = (a1 + kd) * inv; /* 1/(a1+k), 1/(PA+k) */
        term *= y * pk * ia;
        hP += ip - ia;
        hQ -= ia;
        kPP += ia * ia - ip * ip;
        kPQ += ia * ia;
        kd += 1.0;
        S += term;
        SP += term * hP;
        SQ += term * hQ;
        SPP += term * (hP * hP + kPP);
        SPQ += term * (hP * hQ + kPQ);
        SQQ += term * (hQ * hQ + kPQ);
        Sn += kd * term;
        SPn += kd * term * hP;
        SQn += kd * term * hQ;
        Snn += kd * (kd - 1.0) * term;
        if (term <= tol * S)
            break;
        if (kd > (double)max_terms)
            return CHURN_ENUMERIC;
    }
    const double sum[TS_K] = {S, SP, SQ, SPP, SPQ, SQQ, Sn, SPn, SQn, Snn};
    return tail_hess_finish(j, sum, logJ, g, H);
}

/* Extend the coefficient table of (PA, QB) to at least `len` terms: entry n
 * holds c_n = prod_{k<n} (PA+k)/(a1+k) times the ten weights of the sums
 * (1, hP, hQ, hP^2+kPP, hP hQ+kPQ, hQ^2+kPQ, n, n hP, n hQ, n(n-1)), the
 * quantities tail_hess_by_series builds for every customer anew. Returns 0,
 * or -1 without memory. */
static void tail_table_grow(churn__tail_table *tb, size_t len)
{
    if (len > tb->cap)
        len = tb->cap;
    if (len <= tb->len)
        return;
    double PA = tb->PA, a1 = tb->PA + tb->QB;
    if (tb->len == 0) {
        double *e = tb->c;
        memset(e, 0, TS_K * sizeof *e);
        e[TS_S] = 1.0;
        tb->coef = 1.0;
        tb->hP = tb->hQ = tb->kPP = tb->kPQ = 0.0;
        tb->len = 1;
    }
    for (size_t n = tb->len; n < len; n++) {
        double kd = (double)(n - 1), pk = PA + kd, inv = 1.0 / (pk * (a1 + kd));
        double ia = pk * inv, ip = (a1 + kd) * inv;
        tb->coef *= pk * ia;
        tb->hP += ip - ia;
        tb->hQ -= ia;
        tb->kPP += ia * ia - ip * ip;
        tb->kPQ += ia * ia;
        double c = tb->coef, hP = tb->hP, hQ = tb->hQ, nd = (double)n;
        double *e = tb->c + n * TS_K;
        e[TS_S] = c;
        e[TS_P] = c * hP;
        e[TS_Q] = c * hQ;
        e[TS_PP] = c * (hP * hP + tb->kPP);
        e[TS_PQ] = c * (hP * hQ + tb->kPQ);
        e[TS_QQ] = c * (hQ * hQ + tb->kPQ);
        e[TS_N] = nd * c;
        e[TS_PN] = nd * c * hP;
        e[TS_QN] = nd * c * hQ;
        e[TS_NN] = nd * (nd - 1.0) * c;
    }
    tb->len = len;
}

/* Terms n0, n0+1, ... of the Hessian series (yn = y^(n0-1)), added to sum:
 * from the table while it lasts, then by the recurrences from the state at
 * its last entry, for the customers whose series outruns the table. */
static int tail_hess_continue(const churn__tail_table *tb, const tail_job *j, size_t n0,
                              double yn, size_t max_terms, double *sum)
{
    double PA = tb->PA, a1 = PA + tb->QB, y = j->y, tol = 0.25 * DBL_EPSILON * (1.0 - y);
    for (; n0 < tb->len; n0++) {
        const double *e = tb->c + n0 * TS_K;
        yn *= y;
        for (int k = 0; k < TS_K; k++)
            sum[k] += e[k] * yn;
        if (e[TS_S] * yn <= tol * sum[TS_S])
            return CHURN_OK;
    }
    /* yn = y^(len-1) */
    double term = tb->coef * yn, hP = tb->hP, hQ = tb->hQ, kPP = tb->kPP, kPQ = tb->kPQ;
    for (size_t n = n0;; n++) {
        double kd = (double)(n - 1), pk = PA + kd, inv = 1.0 / (pk * (a1 + kd));
        double ia = pk * inv, ip = (a1 + kd) * inv, nd = (double)n;
        term *= y * pk * ia;
        hP += ip - ia;
        hQ -= ia;
        kPP += ia * ia - ip * ip;
        kPQ += ia * ia;
        sum[TS_S] += term;
        sum[TS_P] += term * hP;
        sum[TS_Q] += term * hQ;
        sum[TS_PP] += term * (hP * hP + kPP);
        sum[TS_PQ] += term * (hP * hQ + kPQ);
        sum[TS_QQ] += term * (hQ * hQ + kPQ);
        sum[TS_N] += nd * term;
        sum[TS_PN] += nd * term * hP;
        sum[TS_QN] += nd * term * hQ;
        sum[TS_NN] += nd * (nd - 1.0) * term;
        if (term <= tol * sum[TS_S])
            return CHURN_OK;
        if (n > max_terms)
            return CHURN_ENUMERIC;
    }
}

/* The Hessian series from the table (an x86-64-v3 clone: its multiply-adds fused
 * are a tenth of a Pareto/NBD fit on the issue-22 bench): per term one power of y and ten
 * multiply-adds, no division; past the table's capacity, the recurrences.
 * Returns CHURN_ENUMERIC past max_terms. */
CHURN_AVX2_CLONES
static int tail_hess_by_table(churn__tail_table *tb, const tail_job *j, size_t max_terms,
                              double *logJ, double *g, double *H)
{
    if (tb->PA != j->PA || tb->QB != j->QB) {
        tb->PA = j->PA;
        tb->QB = j->QB;
        tb->len = 0;
    }
    /* the ten sums as five two-lane vectors (TS_K is even): per term one
     * power of y and five vector multiply-adds */
    typedef double v2 __attribute__((vector_size(16)));
    double y = j->y, tol = 0.25 * DBL_EPSILON * (1.0 - y), yn = 1.0; /* y^(n-1) */
    /* two terms per step, with separate accumulators for the odd and even
     * terms, so that neither the powers of y nor the sums wait on the
     * previous step's additions */
    v2 a0 = {1.0, 0.0}, a1 = {0.0, 0.0}, a2 = a1, a3 = a1, a4 = a1;
    v2 b0 = a1, b1 = a1, b2 = a1, b3 = a1, b4 = a1;
    double y2 = y * y;
    size_t n;
    int done = 0;
    for (n = 1; n + 1 < tb->cap; n += 2) {
        if (n + 1 >= tb->len)
            tail_table_grow(tb, n < 31 ? 64 : 2 * n + 2);
        const double *e = tb->c + n * TS_K, *f = e + TS_K;
        double yo = yn * y;
        yn *= y2;
        v2 yv = {yo, yo}, zv = {yn, yn}, e0, e1, e2, e3, e4;
        memcpy(&e0, e, sizeof e0);
        memcpy(&e1, e + 2, sizeof e1);
        memcpy(&e2, e + 4, sizeof e2);
        memcpy(&e3, e + 6, sizeof e3);
        memcpy(&e4, e + 8, sizeof e4);
        a0 += e0 * yv;
        a1 += e1 * yv;
        a2 += e2 * yv;
        a3 += e3 * yv;
        a4 += e4 * yv;
        memcpy(&e0, f, sizeof e0);
        memcpy(&e1, f + 2, sizeof e1);
        memcpy(&e2, f + 4, sizeof e2);
        memcpy(&e3, f + 6, sizeof e3);
        memcpy(&e4, f + 8, sizeof e4);
        b0 += e0 * zv;
        b1 += e1 * zv;
        b2 += e2 * zv;
        b3 += e3 * zv;
        b4 += e4 * zv;
        /* the terms fall monotonically once the ratio is below 1, as in
         * tail_hess_by_series: stop when the later one is below tol of S */
        if (f[TS_S] * yn <= tol * (a0[0] + b0[0])) {
            done = 1;
            break;
        }
    }
    a0 += b0;
    a1 += b1;
    a2 += b2;
    a3 += b3;
    a4 += b4;
    double sum[TS_K] = {a0[0], a0[1], a1[0], a1[1], a2[0], a2[1], a3[0], a3[1], a4[0], a4[1]};
    if (!done) {
        /* terms 1 .. n-1 are in; the rest from the table's end */
        tail_table_grow(tb, tb->cap);
        if (tail_hess_continue(tb, j, n, yn, max_terms, sum) != CHURN_OK)
            return CHURN_ENUMERIC;
    }
    return tail_hess_finish(j, sum, logJ, g, H);
}

static int tail_hess_finish(const tail_job *j, const double *sum, double *logJ, double *g,
                            double *H)
{
    double PA = j->PA, QB = j->QB, y = j->y, a1 = PA + QB, a = a1 - 1.0;
    double S = sum[TS_S], SP = sum[TS_P], SQ = sum[TS_Q], SPP = sum[TS_PP], SPQ = sum[TS_PQ],
           SQQ = sum[TS_QQ], Sn = sum[TS_N], SPn = sum[TS_PN], SQn = sum[TS_QN],
           Snn = sum[TS_NN];
    double Sy, SPy, SQy, Syy;
    if (y > 1e-30) {
        Sy = Sn / y;
        SPy = SPn / y;
        SQy = SQn / y;
        Syy = Snn / (y * y);
    } else { /* the y -> 0 limits: c_1, c_1 hP_1, c_1 hQ_1, 2 c_2 */
        double c1 = PA / a1;
        Sy = c1;
        SPy = c1 * (1.0 / PA - 1.0 / a1);
        SQy = -c1 / a1;
        Syy = 2.0 * c1 * (PA + 1.0) / (a1 + 1.0);
    }
    double rs = 1.0 / S, LP = SP * rs, LQ = SQ * rs, Ly = Sy * rs;
    double LPP = SPP * rs - LP * LP, LPQ = SPQ * rs - LP * LQ, LQQ = SQQ * rs - LQ * LQ;
    double LPy = SPy * rs - LP * Ly, LQy = SQy * rs - LQ * Ly, Lyy = Syy * rs - Ly * Ly;
    double At = j->At, Bt = j->Bt;
    double yA = Bt / (At * At), yB = -1.0 / At, yAA = -2.0 * Bt / (At * At * At),
           yAB = 1.0 / (At * At);
    double ia2 = 1.0 / (a * a);
    *logJ = -log(a) - PA * j->logAt - (QB - 1.0) * j->logBt + log(S);
    g[0] = -1.0 / a - j->logAt + LP;
    g[1] = -1.0 / a - j->logBt + LQ;
    g[2] = -PA / At + Ly * yA;
    g[3] = -(QB - 1.0) / Bt + Ly * yB;
    H[0] = ia2 + LPP;
    H[1] = ia2 + LPQ;
    H[2] = -1.0 / At + LPy * yA;
    H[3] = LPy * yB;
    H[5] = ia2 + LQQ;
    H[6] = LQy * yA;
    H[7] = -1.0 / Bt + LQy * yB;
    H[10] = PA / (At * At) + Lyy * yA * yA + Ly * yAA;
    H[11] = Lyy * yA * yB + Ly * yAB;
    H[15] = (QB - 1.0) / (Bt * Bt) + Lyy * yB * yB;
    H[4] = H[1];
    H[8] = H[2];
    H[9] = H[6];
    H[12] = H[3];
    H[13] = H[7];
    H[14] = H[11];
    return isfinite(*logJ) ? CHURN_OK : CHURN_ENUMERIC;
}

int churn__pnbd_tail_hess(double P, double Q, double alpha, double beta, double t,
                          double log_at, double log_bt, double *log_J, double *grad,
                          double *hess)
{
    return churn__pnbd_tail_hess_table(NULL, P, Q, alpha, beta, t, log_at, log_bt, log_J, grad,
                                       hess);
}

CHURN_AVX2_CLONES
int churn__pnbd_tail_hess_table(churn__tail_table *tb, double P, double Q, double alpha,
                                double beta, double t, double log_at, double log_bt,
                                double *log_J, double *grad, double *hess)
{
    tail_job j;
    if (!(P > 0.0 && Q > 0.0 && P + Q > 1.0))
        return CHURN_ENUMERIC;
    int swap = tail_orient(P, Q, alpha, beta, t, log_at, log_bt, &j);
    double g[4], H[16];
    int rc = CHURN_ENUMERIC;
    if (series_ok(&j)) {
        rc = tb && tb->cap >= 8 ? tail_hess_by_table(tb, &j, 2500, log_J, g, H)
                                : tail_hess_by_series(&j, 2500, log_J, g, H);
    }
    if (rc != CHURN_OK) {
        /* Near |z| -> 1 (quadrature): central differences of the exact
         * gradient. The quadrature's gradient carries ~1e-10 relative noise
         * (its adaptive partition changes with the parameters), so the step
         * is 1e-4: ~1e-6 relative, enough for Newton steps and standard
         * errors, and only for these rare rows. */
        double base[4] = {P, Q, alpha, beta};
        if (churn__pnbd_tail(P, Q, alpha, beta, t, log_at, log_bt, log_J, grad) != CHURN_OK)
            return CHURN_ENUMERIC;
        for (int k = 0; k < 4; k++) {
            double gp[4], gm[4], v[4], lj, h = 1e-4 * base[k];
            memcpy(v, base, sizeof v);
            v[k] = base[k] + h;
            if (churn__pnbd_tail(v[0], v[1], v[2], v[3], t, log(v[2] + t), log(v[3] + t), &lj,
                                 gp) != CHURN_OK)
                return CHURN_ENUMERIC;
            v[k] = base[k] - h;
            if (churn__pnbd_tail(v[0], v[1], v[2], v[3], t, log(v[2] + t), log(v[3] + t), &lj,
                                 gm) != CHURN_OK)
                return CHURN_ENUMERIC;
            for (int i = 0; i < 4; i++)
                hess[i * 4 + k] = (gp[i] - gm[i]) / (2.0 * h);
        }
        for (int i = 0; i < 4; i++)
            for (int k = 0; k < i; k++)
                hess[i * 4 + k] = hess[k * 4 + i] = 0.5 * (hess[i * 4 + k] + hess[k * 4 + i]);
        return CHURN_OK;
    }
    /* back from the oriented frame: swap P <-> Q and alpha <-> beta */
    static const int perm[2][4] = {{0, 1, 2, 3}, {1, 0, 3, 2}};
    const int *pm = perm[swap];
    for (int i = 0; i < 4; i++) {
        grad[pm[i]] = g[i];
        for (int k = 0; k < 4; k++)
            hess[pm[i] * 4 + pm[k]] = H[i * 4 + k];
    }
    return CHURN_OK;
}

/* ==== GSL special functions behind their domain checks ====================== */

/* Each wrapper calls GSL only where GSL reports no error, so that GSL's error
 * handler (the host's, or GSL's default that aborts) is never reached. The
 * domains come from the GSL 2.7 sources (specfunc/gamma.c, beta.c, psi.c,
 * zeta.c): lngamma and lnbeta report errors only at 0, negative integers and
 * NaN; psi only at 0, -1, -2; psi_1(x) = hzeta(2, x) under- or overflows for
 * x > ~1e153 or x < ~1e-154; psi_n(n >= 2) does so on a range that shrinks
 * with n; lnchoose(n, k) only for k > n. tests/test_special.c sweeps every
 * wrapper over 1e-320..1e308, 0, negative values, NaN and infinities with a
 * counting error handler installed and requires zero calls. */

double churn__lngamma(double x)
{
    if (!(x > 0.0))
        return NAN;
    /* subnormal x: GSL's series divides by x and overflows (log Gamma(x) =
     * -log x - euler x + O(x^2), exactly -log x in double) */
    if (x < DBL_MIN)
        return -log(x);
    return gsl_sf_lngamma(x);
}

double churn__lnbeta(double a, double b)
{
    if (!(a > 0.0 && b > 0.0))
        return NAN;
    /* subnormal a or b: GSL's gammastar(x) overflows (an error) */
    if (a < DBL_MIN || b < DBL_MIN)
        return churn__lngamma(a) + churn__lngamma(b) - churn__lngamma(a + b);
    return gsl_sf_lnbeta(a, b);
}

double churn__psi(double x)
{
    if (!(x > 0.0))
        return NAN;
    return gsl_sf_psi(x);
}

/* Bernoulli numbers B_2k, k = 1..8 (A&S table 23.2). */
static const double bernoulli2k[8] = {1.0 / 6.0,   -1.0 / 30.0,     1.0 / 42.0, -1.0 / 30.0,
                                      5.0 / 66.0,  -691.0 / 2730.0, 7.0 / 6.0,  -3617.0 / 510.0};

double churn__polygamma(int n, double x)
{
    if (n < 1 || n > 100 || !(x > 0.0))
        return NAN;
    if (x == INFINITY)
        return 0.0;
    double nfact = 1.0, nm1fact = 1.0; /* n!, (n-1)! */
    for (int j = 2; j <= n; j++) {
        nm1fact = nfact;
        nfact *= j;
    }
    /* psi^(n)(x) = (-1)^(n+1) n! sum_k (x+k)^-(n+1): recurrence up to x >= 20,
     * then A&S 6.4.11 (the asymptotic series with B_2k). */
    double acc = 0.0;
    while (x < 20.0) {
        acc += pow(x, -(double)(n + 1));
        x += 1.0;
    }
    double xn = pow(x, -(double)n), x2 = 1.0 / (x * x), tail = 0.0, xp = xn * x2;
    for (int k = 1; k <= 8; k++) {
        double r = 1.0; /* (2k+n-1)! / (2k)! */
        for (int j = 2 * k + 1; j <= 2 * k + n - 1; j++)
            r *= j;
        tail += bernoulli2k[k - 1] * r * xp;
        xp *= x2;
    }
    double v = nfact * acc + nm1fact * xn + 0.5 * nfact * xn / x + tail;
    return (n & 1) ? v : -v;
}

double churn__psi_1(double x)
{
    if (!(x > 0.0))
        return NAN;
    if (x < 1e-150 || x > 1e150)
        return churn__polygamma(1, x);
    return gsl_sf_psi_1(x);
}

double churn__psi_n(int n, double x)
{
    if (n == 0)
        return churn__psi(x);
    if (n == 1)
        return churn__psi_1(x);
    return churn__polygamma(n, x);
}

double churn__lnchoose(double n, double k)
{
    if (!(k >= 0.0 && k <= n && n <= (double)UINT_MAX && n == floor(n) && k == floor(k)))
        return NAN;
    return gsl_sf_lnchoose((unsigned)n, (unsigned)k);
}

/* ==== incomplete beta and gamma functions (our own) ========================== */

/* Continued fraction of the incomplete beta function (modified Lentz; Numerical
 * Recipes 3rd ed. section 6.4, betacf). NaN when it does not converge. */
static double beta_cf(double a, double b, double x)
{
    const double tiny = 1e-300;
    double qab = a + b, qap = a + 1.0, qam = a - 1.0;
    double c = 1.0, d = 1.0 - qab * x / qap;
    if (fabs(d) < tiny)
        d = tiny;
    d = 1.0 / d;
    double h = d;
    for (long m = 1; m <= 1000000L; m++) {
        double m2 = 2.0 * (double)m, dm = (double)m;
        double aa = dm * (b - dm) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1.0 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1.0 / d;
        h *= d * c;
        aa = -(a + dm) * (qab + dm) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1.0 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1.0 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1.0) < 2.0 * DBL_EPSILON)
            return h;
        if (!isfinite(h))
            return NAN;
    }
    return NAN;
}

double churn__beta_inc(double a, double b, double x)
{
    if (!(a > 0.0 && b > 0.0 && isfinite(a) && isfinite(b) && x >= 0.0 && x <= 1.0))
        return NAN;
    if (x == 0.0)
        return 0.0;
    if (x == 1.0)
        return 1.0;
    /* log of x^a (1-x)^b / B(a, b): underflows quietly to a 0 result */
    double lpre = a * log(x) + b * log1p(-x) - churn__lnbeta(a, b);
    if (x < (a + 1.0) / (a + b + 2.0)) {
        double cf = beta_cf(a, b, x);
        return exp(lpre + log(cf) - log(a));
    }
    double cf = beta_cf(b, a, 1.0 - x);
    return -expm1(lpre + log(cf) - log(b));
}

/* log Gamma(a, x) and Q(a, x) = Gamma(a, x) / Gamma(a) for a > 0, 0 < x < inf
 * (either output may be NULL). Numerical Recipes 3rd ed. section 6.2: the
 * series of P(a, x) for x < a + 1 (a >= 1), the Legendre continued fraction
 * for x >= a + 1 or (a < 1, x >= 1), and for a < 1, x < 1 the form
 * Gamma(a, x) = (Gamma(a+1) - x^a) / a - x^a sum_{n>=1} (-x)^n / (n! (a+n))
 * (A&S 6.5.29 integrated), which has no cancellation as a -> 0. */
static int gamma_upper(double a, double x, double *log_upper, double *log_scaled, double *q)
{
    const double tiny = 1e-300;
    double la = log(x), lga = churn__lngamma(a), lu, lus, qv;
    if (x >= a + 1.0 || (a < 1.0 && x >= 1.0)) {
        double b = x + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, h = d;
        long i;
        for (i = 1; i <= 2000000L; i++) {
            double an = -(double)i * ((double)i - a);
            b += 2.0;
            d = an * d + b;
            if (fabs(d) < tiny)
                d = tiny;
            c = b + an / c;
            if (fabs(c) < tiny)
                c = tiny;
            d = 1.0 / d;
            double del = d * c;
            h *= del;
            if (fabs(del - 1.0) < 2.0 * DBL_EPSILON)
                break;
        }
        if (i > 2000000L || !(h > 0.0))
            return CHURN_ENUMERIC;
        lus = a * la + log(h);
        lu = lus - x;
        qv = exp(lu - lga);
    } else if (a < 1.0) {
        double lg1 = churn__lngamma(a + 1.0), xa = exp(a * la);
        double s = 0.0, t = 1.0;
        for (int n = 1; n < 200; n++) {
            t *= -x / n;
            double term = t / (a + n);
            s += term;
            if (fabs(term) < DBL_EPSILON * fabs(s))
                break;
        }
        double v = -expm1(a * la - lg1) * exp(lga) - xa * s;
        if (!(v > 0.0))
            return CHURN_ENUMERIC;
        lu = log(v);
        lus = lu + x;
        qv = exp(lu - lga);
    } else {
        double ap = a, del = 1.0 / a, sum = del;
        long i;
        for (i = 0; i < 2000000L; i++) {
            ap += 1.0;
            del *= x / ap;
            sum += del;
            if (fabs(del) < fabs(sum) * DBL_EPSILON)
                break;
        }
        if (i >= 2000000L)
            return CHURN_ENUMERIC;
        double p = exp(-x + a * la - lga + log(sum));
        if (!(p <= 1.0))
            p = 1.0;
        qv = 1.0 - p;
        lu = lga + log1p(-p);
        lus = lu + x;
    }
    if (log_upper)
        *log_upper = lu;
    if (log_scaled)
        *log_scaled = lus;
    if (q)
        *q = qv > 1.0 ? 1.0 : qv;
    return CHURN_OK;
}

double churn__log_gamma_upper(double a, double x)
{
    if (!(a > 0.0) || !(x >= 0.0))
        return NAN;
    if (x == 0.0 || a == INFINITY)
        return churn__lngamma(a);
    if (x == INFINITY)
        return -INFINITY;
    double lu;
    return gamma_upper(a, x, &lu, NULL, NULL) == CHURN_OK ? lu : NAN;
}

double churn__log_gamma_upper_scaled(double a, double x)
{
    if (!(a > 0.0) || !(x >= 0.0) || x == INFINITY)
        return NAN;
    if (x == 0.0 || a == INFINITY)
        return churn__lngamma(a);
    double ls;
    return gamma_upper(a, x, NULL, &ls, NULL) == CHURN_OK ? ls : NAN;
}

double churn__gamma_q(double a, double x)
{
    if (!(a > 0.0) || isnan(x))
        return NAN;
    if (x <= 0.0 || a == INFINITY)
        return 1.0;
    if (x == INFINITY)
        return 0.0;
    double q;
    return gamma_upper(a, x, NULL, NULL, &q) == CHURN_OK ? q : NAN;
}

/* ==== integrals against a beta density ======================================== */

typedef struct beta_quad_ctx {
    churn__beta_h_fn h;
    void *ctx;
    double a, b;
    int piece;     /* 0: p = s0 w^(1/a); 1: plain p; 2: 1 - p = 0.5 v^(1/b) */
    double s0, l0; /* s0 and the log of the piece's constant factor */
} beta_quad_ctx;

static double beta_quad_f(double u, void *vctx, double *mult)
{
    (void)mult;
    const beta_quad_ctx *c = vctx;
    double p, q, lw;
    switch (c->piece) {
    case 0: /* p^(a-1) dp = s0^a / a dw; p -> 0 is the limit of h, taken at DBL_MIN */
        p = fmax(c->s0 * exp(log(u) / c->a), DBL_MIN);
        q = 1.0 - p;
        lw = (c->b - 1.0) * log1p(-p);
        break;
    case 1:
        p = u;
        q = 1.0 - u;
        lw = (c->a - 1.0) * log(p) + (c->b - 1.0) * log1p(-p);
        break;
    default: /* (1-p)^(b-1) dp = 0.5^b / b dv */
        q = fmax(0.5 * exp(log(u) / c->b), DBL_MIN);
        p = 1.0 - q;
        lw = (c->a - 1.0) * log1p(-q);
        break;
    }
    if (!(p > 0.0 && q > 0.0 && u > 0.0))
        return -INFINITY;
    return c->l0 + lw + c->h(p, q, c->ctx);
}

int churn__beta_quad(churn__beta_h_fn h, void *ctx, double a, double b, double brk,
                     double rtol, double *log_value)
{
    if (!(a > 0.0 && b > 0.0 && isfinite(a) && isfinite(b)))
        return CHURN_ENUMERIC;
    double s0 = (brk > 0.0 && brk < 0.5) ? brk : 0.5;
    beta_quad_ctx c = {h, ctx, a, b, 0, s0, a * log(s0) - log(a)};
    double total = -INFINITY, v, ls;
    /* [0, s0] with p = s0 w^(1/a): the p^(a-1) end singularity becomes flat */
    if (churn__quad_log(beta_quad_f, &c, 1, 0.0, 1.0, rtol, 0.0, &v, &ls) != CHURN_OK ||
        !(v >= 0.0))
        return CHURN_ENUMERIC;
    if (v > 0.0)
        total = churn__logaddexp(total, ls + log(v));
    if (s0 < 0.5) {
        c.piece = 1;
        c.l0 = 0.0;
        if (churn__quad_log(beta_quad_f, &c, 1, s0, 0.5, rtol, 0.0, &v, &ls) != CHURN_OK ||
            !(v >= 0.0))
            return CHURN_ENUMERIC;
        if (v > 0.0)
            total = churn__logaddexp(total, ls + log(v));
    }
    /* [0.5, 1] with 1 - p = 0.5 v^(1/b) */
    c.piece = 2;
    c.l0 = -b * M_LN2 - log(b);
    if (churn__quad_log(beta_quad_f, &c, 1, 0.0, 1.0, rtol, 0.0, &v, &ls) != CHURN_OK ||
        !(v >= 0.0))
        return CHURN_ENUMERIC;
    if (v > 0.0)
        total = churn__logaddexp(total, ls + log(v));
    *log_value = total;
    return CHURN_OK;
}
