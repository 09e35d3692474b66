/*
 * Purchase histories simulated from Pareto/NBD, BG/NBD, MBG/NBD,
 * Gamma-Gompertz/NBD and MBG/CNBD-k purchase and dropout processes with
 * Gamma-Gamma spend (see churn/simulate.h for the processes and their references).
 *
 * Determinism: two MT19937 streams per call, one for the purchase/dropout
 * process and one for spend, each consumed customer by customer in a fixed
 * order. The txlog and summary functions draw identically, so they describe
 * the same customers, and the first k customers do not depend on how many
 * follow them.
 */
#include "core/internal.h"
#include "data/txlog_internal.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <inttypes.h>
#include <stdio.h>

/* churn_simulate_options grew in 1.3 (k). A program built against older headers has
 * the shorter struct, so its churn_simulate_options_init must not write the new tail: it
 * binds to the CHURN_1.0 version below, which fills the old prefix and sets struct_size
 * to the old size (the option copy then gives k its default). Programs built since bind
 * to the default CHURN_1.3 version. A static archive has only the default (docs/abi.md,
 * "Growing a struct that has an _init() function"; the pattern of lib/btyd/fit.c). The
 * old struct ends with a pointer, so the new field does not lie in its tail padding. */
#define SIMULATE_OPTIONS_SIZE_1_0 offsetof(churn_simulate_options, k)

CHURN_API_EXPORT void churn__simulate_options_init_1_3(churn_simulate_options *opts);
CHURN_API_EXPORT void churn__simulate_options_init_1_3(churn_simulate_options *opts)
{
    if (!opts)
        return;
    churn_simulate_options d = CHURN_SIMULATE_OPTIONS_INIT;
    *opts = d;
}

#if defined(CHURN_SYMBOL_VERSIONS)
CHURN_API_EXPORT void churn__simulate_options_init_1_0(churn_simulate_options *opts);
CHURN_API_EXPORT void churn__simulate_options_init_1_0(churn_simulate_options *opts)
{
    if (!opts)
        return;
    churn_simulate_options d = CHURN_SIMULATE_OPTIONS_INIT;
    d.struct_size = SIMULATE_OPTIONS_SIZE_1_0;
    memcpy(opts, &d, SIMULATE_OPTIONS_SIZE_1_0);
}
__asm__(".symver churn__simulate_options_init_1_0, churn_simulate_options_init@CHURN_1.0");
__asm__(".symver churn__simulate_options_init_1_3, churn_simulate_options_init@@CHURN_1.3");
#else
void churn_simulate_options_init(churn_simulate_options *opts)
{
    churn__simulate_options_init_1_3(opts);
}
#endif

/* Resolved parameters, every rate in `unit` (days per time unit). */
typedef struct sim_params {
    int model;
    int k;                          /* MBG/CNBD-k: Poisson events per purchase (else 1) */
    double r, alpha, s, beta, a, b; /* process */
    double p, q, gamma;             /* spend */
    double unit, days, acq, holdout, start;
    uint64_t seed;
} sim_params;

static int check_param(const char *name, double v, double *dst, double dflt)
{
    if (v == 0.0) {
        *dst = dflt;
        return CHURN_OK;
    }
    if (!isfinite(v) || v < 0)
        return churn__error(CHURN_EINVAL, "churn_simulate_options: %s = %g must be a positive "
                            "finite number (0 = default)", name, v);
    *dst = v;
    return CHURN_OK;
}

static int resolve(const churn_simulate_options *user, churn_simulate_options *o, sim_params *sp)
{
    churn_simulate_options d = CHURN_SIMULATE_OPTIONS_INIT;
    *o = d;
    int rc = churn__opts_copy(o, sizeof *o, user, "churn_simulate_options");
    if (rc)
        return rc;
    memset(sp, 0, sizeof *sp);
    sp->model = o->model;
    if (o->model != CHURN_FAMILY_PNBD && o->model != CHURN_FAMILY_BGNBD &&
        o->model != CHURN_FAMILY_MBGNBD && o->model != CHURN_FAMILY_GGOMNBD &&
        o->model != CHURN_FAMILY_MBGCNBD)
        return churn__error(CHURN_EINVAL, "churn_simulate_options: model %d is not "
                            "CHURN_FAMILY_PNBD, CHURN_FAMILY_BGNBD, CHURN_FAMILY_MBGNBD, "
                            "CHURN_FAMILY_GGOMNBD or CHURN_FAMILY_MBGCNBD", o->model);
    const int mbgc = o->model == CHURN_FAMILY_MBGCNBD;
    if (o->k != 0 && !mbgc)
        return churn__error(CHURN_EINVAL, "churn_simulate_options: k = %d is the Erlang shape of "
                            "MBG/CNBD-k (CHURN_FAMILY_MBGCNBD); leave it 0 for model %d",
                            o->k, o->model);
    if (o->k < 0 || o->k > CHURN_MBGCNBD_KMAX)
        return churn__error(CHURN_EINVAL, "churn_simulate_options: k = %d must be a whole "
                            "number in 1..%d (0 = default 3)", o->k, CHURN_MBGCNBD_KMAX);
    sp->k = mbgc ? (o->k ? o->k : 3) : 1;
    if (!(isfinite(o->time_unit) && o->time_unit > 0))
        return churn__error(CHURN_EINVAL, "churn_simulate_options: time_unit = %g days must be "
                            "positive", o->time_unit);
    if (!(isfinite(o->days) && o->days > 0))
        return churn__error(CHURN_EINVAL, "churn_simulate_options: days = %g must be positive",
                            o->days);
    if (!(isfinite(o->acquisition_days) && o->acquisition_days >= 0 &&
          o->acquisition_days < o->days))
        return churn__error(CHURN_EINVAL, "churn_simulate_options: acquisition_days = %g must "
                            "be in [0, days = %g)", o->acquisition_days, o->days);
    if (!(isfinite(o->holdout_days) && o->holdout_days >= 0))
        return churn__error(CHURN_EINVAL, "churn_simulate_options: holdout_days = %g must be "
                            ">= 0", o->holdout_days);
    if (!isfinite(o->start))
        return churn__error(CHURN_EINVAL, "churn_simulate_options: start is not finite");
    sp->unit = o->time_unit;
    sp->days = o->days;
    sp->acq = o->acquisition_days;
    sp->holdout = o->holdout_days;
    sp->start = o->start;
    sp->seed = o->seed;
    /* Published CDNOW fits, per week (FHL 2005 for BG/NBD and Pareto/NBD,
     * Batislam et al. 2007 for MBG/NBD, FHL "RFM and CLV" for Gamma-Gamma).
     * A rate in weeks becomes a rate in `unit` by scaling the Gamma rate
     * parameter by 7/unit: λ_unit = λ_week · unit/7. */
    double scale = CHURN_UNIT_WEEK / sp->unit;
    double r0, alpha0;
    switch (o->model) {
    case CHURN_FAMILY_BGNBD: r0 = 0.2425945; alpha0 = 4.4136019; break;
    case CHURN_FAMILY_MBGNBD: r0 = 0.525; alpha0 = 6.183; break;
    default: r0 = 0.5533971; alpha0 = 10.5801985; break;
    }
    double a0 = o->model == CHURN_FAMILY_MBGNBD ? 0.891 : 0.7929199;
    double b0 = o->model == CHURN_FAMILY_MBGNBD ? 1.614 : 2.4258881;
    if (mbgc) {
        /* MBG/CNBD-k: no published CDNOW fit; the illustrative values of BTYDplus'
         * MBG/CNBD-k documentation (per week): k 3, r 0.85, alpha 1.45, a 0.79, b 2.42 */
        r0 = 0.85;
        alpha0 = 1.45;
        a0 = 0.79;
        b0 = 2.42;
    }
    double s0 = 0.6060625, beta0 = 11.6562237 * scale;
    if (o->model == CHURN_FAMILY_GGOMNBD) {
        /* Gamma-Gompertz/NBD: no published CDNOW fit identifies b (CLVTools'
         * lands at b ~ 0, a Pareto/NBD); illustrative values with a
         * noticeably ageing lifetime: b = 0.02 per week (rates scale like
         * lambda, b_unit = b_week unit/7), s = 0.6, beta = 0.3 (no unit). */
        b0 = 0.02 / scale;
        s0 = 0.6;
        beta0 = 0.3;
    }
    if ((rc = check_param("r", o->r, &sp->r, r0)) ||
        (rc = check_param("alpha", o->alpha, &sp->alpha, alpha0 * scale)) ||
        (rc = check_param("s", o->s, &sp->s, s0)) ||
        (rc = check_param("beta", o->beta, &sp->beta, beta0)) ||
        (rc = check_param("a", o->a, &sp->a, a0)) || (rc = check_param("b", o->b, &sp->b, b0)) ||
        (rc = check_param("p", o->p, &sp->p, 6.25)) ||
        (rc = check_param("q", o->q, &sp->q, 3.74)) ||
        (rc = check_param("gamma", o->gamma, &sp->gamma, 15.44)))
        return rc;
    return CHURN_OK;
}

/* splitmix64 finaliser: spreads a 64-bit seed over MT19937's 32-bit seed so
 * nearby seeds give unrelated streams. */
static unsigned long mix_seed(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (unsigned long)(z & 0xFFFFFFFFUL);
}

typedef struct sim_rngs {
    gsl_rng *process, *spend;
} sim_rngs;

/* A Mersenne twister allocated through the allocator hook: gsl_rng_alloc()
 * reports a failed malloc through GSL's error handler (which by default
 * aborts the host), so the generator is put together here, as
 * gsl_rng_alloc() does, from the public gsl_rng struct and the type's size,
 * then seeded; the stream is the same. */
static gsl_rng *rng_new(unsigned long seed)
{
    gsl_rng *r = churn__calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->type = gsl_rng_mt19937;
    r->state = churn__calloc(1, r->type->size);
    if (!r->state) {
        churn__free(r);
        return NULL;
    }
    gsl_rng_set(r, seed);
    return r;
}

static void rng_free(gsl_rng *r)
{
    if (r) {
        churn__free(r->state);
        churn__free(r);
    }
}

static int rngs_new(const sim_params *sp, sim_rngs *g)
{
    g->process = rng_new(mix_seed(sp->seed));
    g->spend = rng_new(mix_seed(sp->seed ^ 0x5DEECE66DULL));
    if (!g->process || !g->spend) {
        rng_free(g->process);
        rng_free(g->spend);
        g->process = g->spend = NULL;
        return churn__nomem("the random number generators");
    }
    return CHURN_OK;
}

static void rngs_free(sim_rngs *g)
{
    rng_free(g->process);
    rng_free(g->spend);
}

/* One customer's history. Times are in `unit` from the first purchase. */
typedef struct customer_sim {
    double offset_days; /* acquisition time after `start` */
    double T;           /* first purchase to the end of calibration */
    size_t n;           /* repeat purchases (calibration + holdout) */
    size_t x;           /* repeat purchases in calibration */
    double t_x;
    int alive;          /* alive at the end of calibration */
} customer_sim;

/* Draw a customer's repeat-purchase times into *times (grown as needed).
 *
 * Shared by all models: λ ~ Gamma(r, rate α) and, while alive, inter-purchase
 * times are Exponential(λ) (the NBD part: FHL 2005 assumptions (i)-(ii)).
 * Death:
 *  - Pareto/NBD (SMC 1987): lifetime τ ~ Exp(μ), μ ~ Gamma(s, rate β);
 *  - BG/NBD (FHL 2005 assumptions (iii)-(iv)): after each repeat purchase the
 *    customer becomes inactive with probability p ~ Beta(a, b);
 *  - MBG/NBD (Batislam et al. 2007): the same coin is also tossed at time 0,
 *    right after the first purchase;
 *  - MBG/CNBD-k (Reutterer, Platzer & Schröder 2021): as MBG/NBD, but a gap
 *    is the sum of k Exponential(λ) draws (Erlang-k: every k-th event of the
 *    Poisson(λ) process is a purchase), the first gap from time 0 included;
 *    k = 1 draws exactly as MBG/NBD;
 *  - Gamma-Gompertz/NBD (Bemmaor & Glady 2012): Gompertz lifetime with
 *    S(tau | eta) = exp(-eta (e^(b tau) - 1)), eta ~ Gamma(s, rate beta),
 *    drawn by inversion: tau = log1p(E / eta) / b, E ~ Exp(1).
 * GSL's gamma takes a scale, hence 1/rate. */
/* Purchases of one simulated customer at most (80 MB of times): a rate drawn from
 * absurd parameters (r = 1e300) would otherwise grow without limit. */
#define SIM_MAX_PURCHASES 10000000

static int simulate_customer(const sim_params *sp, gsl_rng *g, double **times, size_t *cap,
                             customer_sim *c)
{
    double end_days = sp->days;
    c->offset_days = sp->acq > 0 ? gsl_rng_uniform(g) * sp->acq : 0.0;
    c->T = (end_days - c->offset_days) / sp->unit;
    double horizon = c->T + sp->holdout / sp->unit;
    double lambda = gsl_ran_gamma(g, sp->r, 1.0 / sp->alpha);
    double tau = INFINITY, p = 0;
    int dead = 0;
    int timed = sp->model == CHURN_FAMILY_PNBD || sp->model == CHURN_FAMILY_GGOMNBD;
    if (sp->model == CHURN_FAMILY_PNBD) {
        double mu = gsl_ran_gamma(g, sp->s, 1.0 / sp->beta);
        tau = gsl_ran_exponential(g, 1.0) / mu; /* inf when mu underflows to 0 */
    } else if (sp->model == CHURN_FAMILY_GGOMNBD) {
        double eta = gsl_ran_gamma(g, sp->s, 1.0 / sp->beta);
        tau = log1p(gsl_ran_exponential(g, 1.0) / eta) / sp->b; /* inf when eta = 0 */
    } else {
        p = gsl_ran_beta(g, sp->a, sp->b);
        if ((sp->model == CHURN_FAMILY_MBGNBD || sp->model == CHURN_FAMILY_MBGCNBD) &&
            gsl_rng_uniform(g) < p)
            dead = 1;
    }
    double death = timed ? tau : (dead ? 0.0 : INFINITY);
    c->n = c->x = 0;
    c->t_x = 0;
    double t = 0;
    while (!dead) {
        /* `!(t <= limit)` also stops on NaN (λ = 0 gives 0/0 only if the
         * exponential draw is exactly 0; either way no purchase follows) */
        for (int e = 0; e < sp->k; e++) /* k = 1 except for MBG/CNBD-k */
            t += gsl_ran_exponential(g, 1.0) / lambda;
        if (!(t <= horizon) || !(t <= tau))
            break;
        if (c->n == SIM_MAX_PURCHASES)
            return churn__error(CHURN_ERANGE, "churn_simulate: a customer makes more than %d "
                                "purchases (purchase rate lambda = %g per time unit drawn from "
                                "Gamma(r = %g, alpha = %g)): the parameters give no plausible "
                                "purchase process", SIM_MAX_PURCHASES, lambda, sp->r, sp->alpha);
        if (c->n == *cap) {
            size_t nc = *cap ? *cap * 2 : 64;
            double *nt = churn__realloc(*times, churn__mul_size(nc, sizeof *nt));
            if (!nt)
                return churn__nomem("simulated purchases");
            *times = nt;
            *cap = nc;
        }
        (*times)[c->n++] = t;
        if (t <= c->T) {
            c->x++;
            c->t_x = t;
        }
        if (!timed && gsl_rng_uniform(g) < p) {
            dead = 1;
            death = t;
        }
    }
    c->alive = death > c->T;
    return CHURN_OK;
}

/* Spend: ν ~ Gamma(q, rate γ) per customer, then each transaction's value
 * z ~ Gamma(p, rate ν) (Colombo & Jiang 1999; FHL 2005 "RFM and CLV"). */
static double draw_nu(const sim_params *sp, gsl_rng *g)
{
    return gsl_ran_gamma(g, sp->q, 1.0 / sp->gamma);
}

static double draw_spend(const sim_params *sp, gsl_rng *g, double nu)
{
    return gsl_ran_gamma(g, sp->p, 1.0 / nu);
}

CHURN_API int churn_simulate_txlog(churn_txlog *log, const churn_simulate_options *opts)
{
    churn__ok();
    if (!log)
        return churn__error(CHURN_EINVAL, "churn_simulate_txlog: log is NULL");
    churn_simulate_options o;
    sim_params sp;
    int rc = resolve(opts, &o, &sp);
    if (rc)
        return rc;
    if (o.customers == 0 || o.customers >= UINT32_MAX - 1)
        return churn__error(CHURN_EINVAL, "churn_simulate_options: customers = %zu must be in "
                            "1..%" PRIu32, o.customers, UINT32_MAX - 2);
    const char *prefix = o.id_prefix ? o.id_prefix : "";
    size_t plen = strlen(prefix);
    char *id = churn__malloc(plen + 24);
    sim_rngs g = {NULL, NULL};
    double *times = NULL;
    size_t cap = 0;
    if (!id)
        return churn__nomem("a customer id");
    if ((rc = rngs_new(&sp, &g))) {
        churn__free(id);
        return rc;
    }
    memcpy(id, prefix, plen);
    churn__txlog_mark_t mk;
    churn__txlog_mark(log, &mk);
    const double sec_per_unit = sp.unit * CHURN_SECONDS_PER_DAY;
    for (size_t k = 0; k < o.customers && !rc; k++) {
        customer_sim c;
        if ((rc = simulate_customer(&sp, g.process, &times, &cap, &c)))
            break;
        int len = snprintf(id + plen, 24, "%zu", k + 1);
        uint32_t ci;
        if ((rc = churn__intern(&log->customer_ids, id, plen + (size_t)len, &ci)) ||
            (rc = churn__txlog_reserve(log, c.n + 1)))
            break;
        double t0 = sp.start + c.offset_days * CHURN_SECONDS_PER_DAY;
        double nu = draw_nu(&sp, g.spend);
        churn__txlog_push(log, ci, t0, draw_spend(&sp, g.spend, nu), NAN, UINT32_MAX);
        for (size_t j = 0; j < c.n; j++)
            churn__txlog_push(log, ci, t0 + times[j] * sec_per_unit,
                              draw_spend(&sp, g.spend, nu), NAN, UINT32_MAX);
    }
    if (rc)
        churn__txlog_rollback(log, &mk);
    churn__free(times);
    churn__free(id);
    rngs_free(&g);
    return rc;
}

CHURN_API int churn_simulate_summary(const churn_simulate_options *opts, size_t n, double *x,
                                     double *t_x, double *T, double *x_holdout,
                                     double *mean_spend, int *alive)
{
    churn__ok();
    if (n && (!x || !t_x || !T))
        return churn__error(CHURN_EINVAL, "churn_simulate_summary: %s is NULL",
                            !x ? "x" : !t_x ? "t_x" : "T");
    churn_simulate_options o;
    sim_params sp;
    int rc = resolve(opts, &o, &sp);
    if (rc)
        return rc;
    sim_rngs g = {NULL, NULL};
    double *times = NULL;
    size_t cap = 0;
    if ((rc = rngs_new(&sp, &g)))
        return rc;
    for (size_t i = 0; i < n; i++) {
        customer_sim c;
        if ((rc = simulate_customer(&sp, g.process, &times, &cap, &c)))
            break;
        x[i] = (double)c.x;
        t_x[i] = c.t_x;
        T[i] = c.T;
        if (x_holdout)
            x_holdout[i] = (double)(c.n - c.x);
        if (alive)
            alive[i] = c.alive;
        if (mean_spend) {
            /* the same draws as the log: first purchase, then every repeat */
            double nu = draw_nu(&sp, g.spend), sum = 0;
            (void)draw_spend(&sp, g.spend, nu);
            for (size_t j = 0; j < c.n; j++) {
                double z = draw_spend(&sp, g.spend, nu);
                if (j < c.x)
                    sum += z;
            }
            mean_spend[i] = c.x ? sum / (double)c.x : NAN;
        }
    }
    churn__free(times);
    rngs_free(&g);
    return rc;
}
