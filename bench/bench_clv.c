/*
 * bench_clv: time the 12-month discounted CLV (BG/NBD + Gamma-Gamma, churn_clv_score) on
 * the customers of one transaction file, and a single call per customer.
 *
 *   bench_clv TX.csv CUTOFF [REPEATS]
 *
 * Builds the customer table (weeks, columns frequency,recency,T,monetary_value, the cutoff
 * day included), fits BG/NBD on every customer and Gamma-Gamma on the repeat buyers, then
 * times churn_clv_score on all customers (horizon 12, period 4.345 weeks, discount 0.01 per
 * period: lifetimes' customer_lifetime_value(time=12, discount_rate=0.01, freq='W')),
 * REPEATS times (the best CPU time is kept), and then once per customer with n = 1. The floor
 * is one pass over the same four columns (their sum). Prints the fitted parameters and a
 * final machine-readable line read by bench/bench_clv.py:
 *   cpu=<best s> floor_cpu=<s> single_us=<mean us per n=1 call> new_us=<us per call for a new customer (x = t_x = T = 0)> n=<customers> clv_sum=<sum>
 */
#include "churn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_clock.h"

#define CHECK(call)                                                                    \
    do {                                                                               \
        if ((call) != CHURN_OK) {                                                      \
            fprintf(stderr, "bench_clv: %s: %s\n", #call, churn_last_error_message()); \
            return 1;                                                                  \
        }                                                                              \
    } while (0)

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_clv TX.csv CUTOFF [REPEATS]\n");
        return 2;
    }
    int repeats = argc > 3 ? atoi(argv[3]) : 5;
    if (repeats < 1)
        repeats = 1;
    churn_txlog *log = NULL;
    churn_customers *tab = NULL;
    churn_model *bg = NULL, *gg = NULL;
    CHECK(churn_txlog_new(&log));
    CHECK(churn_txlog_read_csv(log, argv[1], NULL));
    churn_customer_options co = CHURN_CUSTOMER_OPTIONS_INIT;
    CHECK(churn_parse_date(argv[2], strlen(argv[2]), CHURN_DATE_ISO, &co.cutoff));
    co.time_unit = CHURN_UNIT_WEEK;
    co.columns = "frequency,recency,T,monetary_value";
    CHECK(churn_customers_build(&tab, log, &co));
    size_t n = churn_customers_num_rows(tab);
    const double *x = churn_customers_column(tab, "frequency");
    const double *tx = churn_customers_column(tab, "recency");
    const double *T = churn_customers_column(tab, "T");
    const double *m = churn_customers_column(tab, "monetary_value");
    CHECK(churn_btyd_fit(&bg, CHURN_FAMILY_BGNBD, n, x, tx, T, NULL, NULL));
    CHECK(churn_gammagamma_fit(&gg, n, x, m, NULL, NULL));
    churn_model_set_time_unit(bg, CHURN_UNIT_WEEK);
    double pb[4], pg[3];
    CHECK(churn_model_params(bg, pb, 4));
    CHECK(churn_model_params(gg, pg, 3));
    printf("customers %zu; BG/NBD r %.17g alpha %.17g a %.17g b %.17g; Gamma-Gamma p %.17g "
           "q %.17g gamma %.17g\n", n, pb[0], pb[1], pb[2], pb[3], pg[0], pg[1], pg[2]);

    churn_clv_options o = CHURN_CLV_OPTIONS_INIT;
    o.horizon = 12;
    o.period = 4.345;
    o.discount = 0.01;
    double *clv = malloc(n * sizeof *clv), *pa = malloc(n * sizeof *pa);
    if (!clv || !pa)
        return 1;
    double best = -1, sum = 0;
    for (int k = 0; k < repeats; k++) {
        double c0 = bench_cpu();
        CHECK(churn_clv_score(bg, gg, &o, n, x, tx, T, m, pa, NULL, NULL, clv, NULL));
        double dc = bench_cpu() - c0;
        printf("run %d: churn_clv_score on %zu customers %.4f s CPU\n", k + 1, n, dc);
        if (best < 0 || dc < best)
            best = dc;
    }
    for (size_t i = 0; i < n; i++)
        sum += clv[i];
    /* the floor: one pass over the same four columns */
    double best_floor = -1, fsum = 0;
    for (int k = 0; k < repeats; k++) {
        double c0 = bench_cpu(), s = 0;
        for (size_t i = 0; i < n; i++)
            s += x[i] + tx[i] + T[i] + m[i];
        double dc = bench_cpu() - c0;
        fsum += s;
        if (best_floor < 0 || dc < best_floor)
            best_floor = dc;
    }
    /* one call per customer (n = 1), as a CRM scores one customer after an order */
    double c0 = bench_cpu();
    for (size_t i = 0; i < n; i++) {
        double v;
        CHECK(churn_clv_score(bg, gg, &o, 1, x + i, tx + i, T + i, m + i, NULL, NULL, NULL, &v,
                              NULL));
        if (v != clv[i]) {
            fprintf(stderr, "bench_clv: row %zu: n = 1 gives %.17g, the batch %.17g\n", i, v,
                    clv[i]);
            return 1;
        }
    }
    double single = (bench_cpu() - c0) / (double)n;
    const int NEW = 100000;
    double zero = 0, amount = 25.0, v = 0;
    c0 = bench_cpu();
    for (int i = 0; i < NEW; i++)
        CHECK(churn_clv_score(bg, gg, &o, 1, &zero, &zero, &zero, &amount, NULL, NULL, NULL, &v,
                              NULL));
    double newc = (bench_cpu() - c0) / NEW;
    printf("cpu=%.6f floor_cpu=%.6f single_us=%.3f new_us=%.3f n=%zu clv_sum=%.17g check=%g\n",
           best, best_floor, single * 1e6, newc * 1e6, n, sum, fsum + v);
    free(clv);
    free(pa);
    churn_model_free(bg);
    churn_model_free(gg);
    churn_customers_free(tab);
    churn_txlog_free(log);
    return 0;
}
