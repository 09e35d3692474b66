/**
 * @file churn/simulate.h
 * @brief Purchase histories simulated from known buy-till-you-die processes,
 *        for demos, parameter-recovery tests and benchmarks.
 *
 * Every customer makes a first purchase at time 0 (their acquisition) and is
 * then followed over an observation window. While "alive", repeat purchases
 * arrive as a Poisson process with a customer-specific rate
 * λ ~ Gamma(shape r, rate α). How customers die depends on the model:
 *
 *  - **Pareto/NBD** (Schmittlein, Morrison & Colombo 1987, "Counting your
 *    customers: who are they and what will they do next?", Management
 *    Science 33(1)): an unobserved lifetime τ ~ Exponential(μ) with
 *    μ ~ Gamma(shape s, rate β), independent of λ; purchases stop at τ.
 *  - **BG/NBD** (Fader, Hardie & Lee 2005, "Counting your customers the easy
 *    way", Marketing Science 24(2)): after each *repeat* purchase the
 *    customer drops out with probability p ~ Beta(a, b).
 *  - **MBG/NBD** (Batislam, Denizel & Filiztekin 2007, "Empirical validation
 *    and comparison of models for customer base analysis", IJRM 24(3)): as
 *    BG/NBD, but the customer may also drop out right after the first
 *    purchase, at time 0 (so some customers never come back).
 *  - **Gamma-Gompertz/NBD** (Bemmaor & Glady 2012, "Modeling purchasing
 *    behavior with sudden 'death'", Management Science 58(5); since 1.3):
 *    a Gompertz lifetime, S(τ | η) = exp(−η (e^(bτ) − 1)), with
 *    η ~ Gamma(shape s, rate β), independent of λ.
 *  - **MBG/CNBD-k** (Reutterer, Platzer & Schröder 2021, "Leveraging purchase
 *    regularity for predicting customer behavior the easy way", IJRM 38(1);
 *    since 1.3): as MBG/NBD (a coin p ~ Beta(a, b) after every purchase, the
 *    first at time 0 included), but the times between purchases are Erlang-k
 *    with rate λ: every k-th event of a Poisson(λ) process is a purchase, so
 *    the mean gap is k/λ. k = 1 is the MBG/NBD, draw for draw.
 *
 * Each purchase has a value z ~ Gamma(shape p, rate ν), where the customer's
 * ν ~ Gamma(shape q, rate γ) (the Gamma-Gamma spend model: Colombo & Jiang
 * 1999; Fader, Hardie & Lee 2005, "RFM and CLV", JMR 42(4)); so the mean
 * spend per transaction is E[z] = p γ / (q − 1).
 *
 * Randomness comes from GSL's MT19937 generator seeded from `seed`, with
 * separate streams for the purchase process and for spend: the same options
 * always give the same output, on every platform, and churn_simulate_txlog()
 * and churn_simulate_summary() describe the same customers for the same
 * options.
 *
 * Threading: the functions keep no global state; concurrent calls with
 * different outputs are safe.
 */
#ifndef CHURN_SIMULATE_H
#define CHURN_SIMULATE_H

#include "common.h"
#include "model.h"
#include "txlog.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Simulation options. Initialise with CHURN_SIMULATE_OPTIONS_INIT or
 * churn_simulate_options_init(). A model parameter left at 0 takes the
 * published CDNOW fit of the chosen model (Pareto/NBD r 0.5534, α 10.5802,
 * s 0.6061, β 11.6562; BG/NBD r 0.2426, α 4.4136, a 0.7929, b 2.4259;
 * MBG/NBD r 0.525, α 6.183, a 0.891, b 1.614; Gamma-Gamma p 6.25, q 3.74,
 * γ 15.44). Gamma-Gompertz/NBD has no published fit that identifies b; its
 * defaults are illustrative: the Pareto/NBD r and α, b 0.02 per week, s 0.6,
 * β 0.3. MBG/CNBD-k's defaults are the illustrative values of BTYDplus'
 * MBG/CNBD-k documentation: k 3, r 0.85, α 1.45, a 0.79, b 2.42 per week.
 * Those fits are per week; when `time_unit` is not a week, the
 * default rate parameters α and β (and the Gompertz b) are rescaled to the
 * chosen unit.
 * Explicit parameters are used as given, in `time_unit`.
 * @since 1.0
 */
typedef struct churn_simulate_options {
    size_t struct_size;
    int model;               /**< ::CHURN_FAMILY_PNBD (default), ::CHURN_FAMILY_BGNBD,
                                  ::CHURN_FAMILY_MBGNBD or (since 1.3)
                                  ::CHURN_FAMILY_GGOMNBD, ::CHURN_FAMILY_MBGCNBD */
    size_t customers;        /**< customers to simulate (default 1000) */
    uint64_t seed;           /**< random seed (default 1) */
    double start;            /**< start of the window, seconds since the epoch
                                  (default 852076800 = 1997-01-01, as CDNOW) */
    double days;             /**< calibration window length in days (default 546 = 78 weeks) */
    double acquisition_days; /**< first purchases spread uniformly over [start, start +
                                  acquisition_days] (default 0: all at `start`); must be
                                  less than `days` */
    double holdout_days;     /**< purchases are also simulated for this many days after the
                                  calibration window (default 0) */
    double time_unit;        /**< days per time unit of λ, μ and the parameters (default 7) */
    double r, alpha;         /**< purchase rate λ ~ Gamma(r, rate alpha) */
    double s, beta;          /**< Pareto/NBD: death rate μ ~ Gamma(s, rate beta);
                                  Gamma-Gompertz/NBD: η ~ Gamma(s, rate beta) (default
                                  s = 0.6, beta = 0.3) */
    double a, b;             /**< BG/NBD, MBG/NBD, MBG/CNBD-k: dropout probability
                                  p ~ Beta(a, b);
                                  Gamma-Gompertz/NBD: b is the Gompertz scale, lifetime
                                  S(τ | η) = exp(-η (e^(bτ) - 1)) (default 0.02 per week) */
    double p, q, gamma;      /**< Gamma-Gamma spend: z ~ Gamma(p, rate ν), ν ~ Gamma(q, rate gamma) */
    const char *id_prefix;   /**< customer ids are prefix + 1..customers (default "" -> "1",
                                  "2", ...) */
    int k;                   /**< MBG/CNBD-k: the Erlang shape, a whole number in
                                  1..::CHURN_MBGCNBD_KMAX (default 0: 3); must be 0 for
                                  the other models. Appended in 1.3: a program built
                                  against older headers passes the shorter struct and
                                  gets the default (docs/abi.md). @since 1.3 */
} churn_simulate_options;

#define CHURN_SIMULATE_OPTIONS_INIT                                                  \
    { sizeof(churn_simulate_options), CHURN_FAMILY_PNBD, 1000, 1, 852076800.0, 546.0, \
      0.0, 0.0, 7.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, NULL, 0 }

/** Fill `opts` with the defaults. Since 1.3 there are two versions: a program
 * built against 1.0-1.2 headers binds to churn_simulate_options_init@CHURN_1.0,
 * which writes the shorter struct only (up to `id_prefix`), the default
 * @@CHURN_1.3 writes the whole one. @since 1.0 */
CHURN_API void churn_simulate_options_init(churn_simulate_options *opts);

/**
 * Simulate `opts->customers` purchase histories and append them to `log`.
 * Customer k (1-based) has id `id_prefix` + k; its first purchase is at
 * `start` (plus its acquisition offset) and its repeat purchases follow until
 * it dies or the window ends at start + (days + holdout_days) days. Times are
 * seconds since the epoch, amounts are Gamma-Gamma draws (positive).
 * All-or-nothing: on failure the log is unchanged.
 * @param[in,out] log   the log to append to
 * @param[in]     opts  options, or NULL for defaults
 * @return ::CHURN_OK; ::CHURN_EINVAL naming the bad option (negative or
 *         non-finite parameter, unknown model, k outside 1..::CHURN_MBGCNBD_KMAX or
 *         given for a model other than MBG/CNBD-k, acquisition window not shorter
 *         than the calibration window, no customers); ::CHURN_ERANGE when a
 *         customer would make more than 10 million purchases (parameters such as
 *         r = 1e300 that give no plausible purchase rate; nothing is
 *         appended); ::CHURN_ENOMEM
 * @since 1.0
 */
CHURN_API int churn_simulate_txlog(churn_txlog *log, const churn_simulate_options *opts);

/**
 * Simulate the per-customer summary directly, without building a log: the
 * same customers as churn_simulate_txlog() with the same options (the first
 * `n` of them when `n` ≠ opts->customers), in `time_unit`:
 *  - x[i]: repeat purchases in the calibration window (after the first);
 *  - t_x[i]: time of the last repeat purchase after the first (0 when x = 0);
 *  - T[i]: time from the first purchase to the end of the calibration window.
 * Unlike the `frequency` of customers.h, purchases are not merged by day:
 * x counts every simulated repeat purchase.
 * @param[in]  opts       options, or NULL for defaults (`customers` is ignored)
 * @param[in]  n          customers to simulate (length of every array)
 * @param[out] x, t_x, T  n values each (required)
 * @param[out] x_holdout  n purchase counts in the holdout window, or NULL
 * @param[out] mean_spend n means of the repeat purchases' values (NaN when x = 0), or NULL
 * @param[out] alive      n flags: 1 when the customer is still alive at the end of the
 *                        calibration window, or NULL
 * @return as churn_simulate_txlog()
 * @since 1.0
 */
CHURN_API int churn_simulate_summary(const churn_simulate_options *opts, size_t n, double *x,
                                     double *t_x, double *T, double *x_holdout,
                                     double *mean_spend, int *alive);

#ifdef __cplusplus
}
#endif

#endif /* CHURN_SIMULATE_H */
