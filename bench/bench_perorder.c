/*
 * The per-order path of a CRM (issue 18, item 6): on every new order, update
 * the customer's state, read its features, score P(alive), expected
 * purchases, CLV and value at risk (12 discounted periods, Gamma-Gamma
 * spend), and evaluate the alert rules. Measured per order on one core, for
 * BG/NBD and Pareto/NBD, against today's loop in the same run:
 *
 *   baseline (the calls of release cf0ccef): churn_customer_state_add, five
 *     churn_customer_state_value calls (frequency, recency, T, monetary_value,
 *     overdue_ratio), the CLV as cf0ccef's churn_clv_score computed it (a
 *     faithful copy below, through the public calls it made: P(alive), then
 *     churn_btyd_expected_purchases once per period with two work arrays
 *     allocated per call, pow() per period, churn_gammagamma_expected_spend),
 *     and churn_alerts_evaluate on n = 1 (rules p_alive_low and overdue: the
 *     default set's spend_down cannot run on a state there);
 *   new: churn_customer_state_add, churn_customer_state_values (every column
 *     in one call), churn_clv_score (horizons in one pass, no allocation for
 *     n = 1) and churn_alerts_evaluate_state with the default rules.
 *
 * A third line, "+bytes", is the new loop with the state decoded from its portable
 * encoding before each order and encoded back after it (docs/examples/crm_per_order.c).
 *
 * Orders: a simulated history (BG/NBD process, CDNOW-like parameters, weeks,
 * acquisition over the first 12 weeks), in time order; each order is scored
 * as of its own time. Per-order times are wall-clock (CLOCK_MONOTONIC, one
 * reading per order, its ~20 ns included in both loops); the ratio is of the
 * CPU time of each whole loop. Also printed: the largest relative difference
 * between the two loops' CLVs (the new path must equal today's within 1e-12).
 *
 * Environment: BENCH_PERORDER_CUSTOMERS (default 20000), BENCH_PERORDER_REPS
 * (passes over the orders per loop, default 3; the p50/p99 are over all).
 */
#include <churn.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_clock.h"

#define CHECK(call)                                                                  \
    do {                                                                             \
        int rc_ = (call);                                                            \
        if (rc_) {                                                                   \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call,            \
                    churn_last_error_message());                                     \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

static size_t env_size(const char *name, size_t dflt)
{
    const char *v = getenv(name);
    return v && *v ? (size_t)strtod(v, NULL) : dflt;
}

/* cf0ccef's churn_clv_score for n customers (lib/spend/clv.c clv_passes and the
 * CLV loop), through the public calls it made. */
static int baseline_clv_score(const churn_model *btyd, const churn_model *spend,
                              const churn_clv_options *o, size_t n, const double *x,
                              const double *tx, const double *T, const double *mv, double *pa,
                              double *expected, double *es, double *clv, double *var)
{
    double *prev = calloc(n ? n : 1, sizeof(double));
    double *cur = malloc((n ? n : 1) * sizeof(double));
    double *disc = malloc((n ? n : 1) * sizeof(double));
    int rc = churn_btyd_p_alive(btyd, n, x, tx, T, pa);
    for (size_t i = 0; i < n; i++)
        disc[i] = 0.0;
    for (int k = 1; !rc && k <= o->horizon; k++) {
        const double factor = pow(1.0 + o->discount, -(double)k);
        rc = churn_btyd_expected_purchases(btyd, k * o->period, n, x, tx, T, cur);
        for (size_t i = 0; !rc && i < n; i++)
            disc[i] += (cur[i] - prev[i]) * factor;
        double *t = prev;
        prev = cur;
        cur = t;
    }
    if (!rc)
        memcpy(expected, prev, n * sizeof(double));
    if (!rc)
        rc = churn_gammagamma_expected_spend(spend, n, x, mv, es);
    for (size_t i = 0; !rc && i < n; i++) {
        clv[i] = o->margin * es[i] * disc[i];
        var[i] = pa[i] > 0 && pa[i] < 1 ? clv[i] * ((1.0 - pa[i]) / pa[i]) : 0.0;
    }
    free(prev);
    free(cur);
    free(disc);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct order {
    uint32_t customer;
    double time, amount;
} order;

static int cmp_order(const void *a, const void *b)
{
    const order *x = a, *y = b;
    if (x->time != y->time)
        return (x->time > y->time) - (x->time < y->time);
    return (x->customer > y->customer) - (x->customer < y->customer);
}

typedef struct result {
    double cpu, p50, p99, sum_clv;
} result;

static double quantile(double *t, size_t n, double q)
{
    qsort(t, n, sizeof *t, cmp_double);
    return t[(size_t)(q * (double)(n - 1))];
}

/* mode 1: baseline; 0: new; 2: new with the state read from and written back to its
 * portable encoding around each order (what a CRM storing bytes does) */
static result run(int baseline, const churn_model *btyd, const churn_model *gg,
                  const order *ord, size_t nord, size_t ncust, size_t reps, double *clv_out,
                  double *lat)
{
    churn_customer_options co = CHURN_CUSTOMER_OPTIONS_INIT;
    co.time_unit = CHURN_UNIT_WEEK;
    churn_clv_options clo = CHURN_CLV_OPTIONS_INIT;
    clo.horizon = 12;
    clo.period = 4.345;
    clo.discount = 0.01;
    churn_alerts *rules = NULL;
    CHECK(churn_alerts_new(&rules));
    if (baseline) {
        CHECK(churn_alerts_add(rules, "p_alive_low", "p_alive", CHURN_ALERT_LT, 0.3));
        CHECK(churn_alerts_add(rules, "overdue", "overdue_ratio", CHURN_ALERT_GT, 2.0));
    } else {
        CHECK(churn_alerts_add_defaults(rules));
    }
    churn_customer_state *st = malloc(ncust * sizeof *st);
    unsigned char(*db)[128] = baseline == 2 ? malloc(ncust * sizeof *db) : NULL;
    result r = {0, 0, 0, 0};
    volatile uint64_t sink = 0;
    double cpu0 = bench_cpu();
    for (size_t rep = 0; rep < reps; rep++) {
        for (size_t c = 0; c < ncust; c++) {
            CHECK(churn_customer_state_init(&st[c], &co));
            if (db)
                CHECK(churn_customer_state_encode(&st[c], db[c], sizeof db[c], NULL));
        }
        for (size_t i = 0; i < nord; i++) {
            double w0 = bench_wall();
            churn_customer_state *s = &st[ord[i].customer], dec;
            double cut = ord[i].time;
            if (db) {
                CHECK(churn_customer_state_decode(&dec, db[ord[i].customer], 108));
                s = &dec;
            }
            double pa, ep, es, clv, var;
            uint64_t fired = 0, skipped = 0;
            CHECK(churn_customer_state_add(s, cut, ord[i].amount));
            if (baseline == 1) {
                double x, tx, T, mv, od;
                CHECK(churn_customer_state_value(s, cut, "frequency", &x));
                CHECK(churn_customer_state_value(s, cut, "recency", &tx));
                CHECK(churn_customer_state_value(s, cut, "T", &T));
                CHECK(churn_customer_state_value(s, cut, "monetary_value", &mv));
                CHECK(churn_customer_state_value(s, cut, "overdue_ratio", &od));
                CHECK(baseline_clv_score(btyd, gg, &clo, 1, &x, &tx, &T, &mv, &pa, &ep, &es,
                                         &clv, &var));
                const char *names[2] = {"p_alive", "overdue_ratio"};
                const double *cols[2] = {&pa, &od};
                CHECK(churn_alerts_evaluate(rules, 1, 2, names, cols, &fired));
            } else {
                double v[16];
                CHECK(churn_customer_state_values(s, cut, v, 16));
                CHECK(churn_clv_score(btyd, gg, &clo, 1, &v[CHURN_STATE_COL_FREQUENCY],
                                      &v[CHURN_STATE_COL_RECENCY], &v[CHURN_STATE_COL_T],
                                      &v[CHURN_STATE_COL_MONETARY_VALUE], &pa, &ep, &es, &clv,
                                      &var));
                const char *names[4] = {"p_alive", "expected_purchases", "clv",
                                        "value_at_risk"};
                const double scores[4] = {pa, ep, clv, var};
                CHECK(churn_alerts_evaluate_state(rules, s, cut, 4, names, scores, &fired,
                                                  &skipped));
            }
            if (db)
                CHECK(churn_customer_state_encode(s, db[ord[i].customer], sizeof db[0], NULL));
            sink += fired;
            lat[rep * nord + i] = bench_wall() - w0;
            if (rep == 0)
                clv_out[i] = clv;
        }
    }
    r.cpu = bench_cpu() - cpu0;
    (void)sink;
    r.p50 = quantile(lat, reps * nord, 0.50);
    r.p99 = quantile(lat, reps * nord, 0.99);
    free(st);
    free(db);
    churn_alerts_free(rules);
    return r;
}

int main(void)
{
    size_t ncust = env_size("BENCH_PERORDER_CUSTOMERS", 20000);
    size_t reps = env_size("BENCH_PERORDER_REPS", 3);
    churn_txlog *log = NULL;
    CHECK(churn_txlog_new(&log));
    churn_simulate_options so = CHURN_SIMULATE_OPTIONS_INIT;
    so.model = CHURN_FAMILY_BGNBD;
    so.customers = ncust;
    so.seed = 18;
    so.acquisition_days = 84;
    so.r = 0.243, so.alpha = 4.414, so.a = 0.793, so.b = 2.426;
    so.p = 6.25, so.q = 3.74, so.gamma = 15.44;
    CHECK(churn_simulate_txlog(log, &so));
    size_t nord = churn_txlog_num_transactions(log);
    order *ord = malloc(nord * sizeof *ord);
    const uint32_t *cus = churn_txlog_customers(log);
    const double *tm = churn_txlog_times(log), *am = churn_txlog_amounts(log);
    for (size_t i = 0; i < nord; i++)
        ord[i] = (order){cus[i], tm[i], am[i]};
    qsort(ord, nord, sizeof *ord, cmp_order);

    /* CDNOW's published fits (weeks): BG/NBD (FHL 2005), Pareto/NBD (Fader & Hardie
     * 2005 note), Gamma-Gamma (Fader & Hardie 2013) */
    churn_model *bg = NULL, *pn = NULL, *gg = NULL;
    const double pbg[4] = {0.243, 4.414, 0.793, 2.426}, ppn[4] = {0.553, 10.578, 0.606, 11.669};
    const double pgg[3] = {6.25, 3.74, 15.44};
    CHECK(churn_btyd_model_new(&bg, CHURN_FAMILY_BGNBD, 4, pbg));
    CHECK(churn_btyd_model_new(&pn, CHURN_FAMILY_PNBD, 4, ppn));
    char ggjson[256];
    snprintf(ggjson, sizeof ggjson,
             "{\"format\": \"libchurn-model\", \"format_version\": 1, \"family\": "
             "\"gammagamma\", \"time_unit_days\": 0, \"param_names\": [\"p\", \"q\", "
             "\"gamma\"], \"params\": [%.17g, %.17g, %.17g], \"std_errors\": [0, 0, 0]}",
             pgg[0], pgg[1], pgg[2]);
    CHECK(churn_model_load_buffer(&gg, ggjson, strlen(ggjson)));
    churn_model_set_time_unit(bg, CHURN_UNIT_WEEK);
    churn_model_set_time_unit(pn, CHURN_UNIT_WEEK);

    printf("per-order path (state add + features + CLV 12 periods with Gamma-Gamma + alerts),"
           " one core\n%zu customers, %zu orders, %zu passes; wall-clock per order, CPU time "
           "per loop\n\n", ncust, nord, reps);
    printf("%-11s %-9s %10s %10s %12s %8s %14s\n", "model", "loop", "p50 (us)", "p99 (us)",
           "CPU/order", "ratio", "max rel diff");
    double *lat = malloc(reps * nord * sizeof *lat);
    double *c0 = malloc(nord * sizeof *c0), *c1 = malloc(nord * sizeof *c1);
    const churn_model *models[2] = {bg, pn};
    const char *names[2] = {"BG/NBD", "Pareto/NBD"};
    int fail = 0;
    for (int m = 0; m < 2; m++) {
        result b = run(1, models[m], gg, ord, nord, ncust, reps, c0, lat);
        result n = run(0, models[m], gg, ord, nord, ncust, reps, c1, lat);
        result nb = run(2, models[m], gg, ord, nord, ncust, reps, c1, lat);
        double md = 0;
        for (size_t i = 0; i < nord; i++) {
            double d = fabs(c1[i] - c0[i]) / fmax(fabs(c0[i]), 1e-300);
            md = d > md ? d : md;
        }
        fail |= !(md <= 1e-12);
        double per = 1e6 / (double)(reps * nord);
        printf("%-11s %-9s %10.3f %10.3f %10.3f us %8s %14s\n", names[m], "baseline",
               1e6 * b.p50, 1e6 * b.p99, b.cpu * per, "", "");
        printf("%-11s %-9s %10.3f %10.3f %10.3f us %7.1fx %14.2e\n", names[m], "new",
               1e6 * n.p50, 1e6 * n.p99, n.cpu * per, b.cpu / n.cpu, md);
        printf("%-11s %-9s %10.3f %10.3f %10.3f us %7.1fx\n", names[m], "+bytes",
               1e6 * nb.p50, 1e6 * nb.p99, nb.cpu * per, b.cpu / nb.cpu);
    }
    printf("\ntargets (issue 18): new p50 < 1 us and p99 < 5 us; CLVs equal within 1e-12 "
           "relative: %s\n", fail ? "CLV MISMATCH" : "CLVs agree");
    free(lat);
    free(c0);
    free(c1);
    free(ord);
    churn_model_free(bg);
    churn_model_free(pn);
    churn_model_free(gg);
    churn_txlog_free(log);
    return fail;
}
