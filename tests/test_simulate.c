/* Simulator: moments of the simulated data against the models' closed forms. */
#include "churn.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define NCUST 100000
#define WEEKS 39.0

/* Gauss hypergeometric 2F1(a, b; c; z) by its power series, 0 <= z < 1. */
static double hyp2f1(double a, double b, double c, double z)
{
    double term = 1, sum = 1;
    for (int k = 0; k < 200000; k++) {
        term *= (a + k) * (b + k) / ((c + k) * (k + 1)) * z;
        sum += term;
        if (fabs(term) < 1e-17 * fabs(sum))
            break;
    }
    return sum;
}

/* E[X(t)] closed forms (repeat purchases in (0, t] after a first purchase at 0). */
static double pnbd_ex(double r, double al, double s, double be, double t)
{
    /* Schmittlein, Morrison & Colombo (1987); FHL (2005) Pareto/NBD note */
    return r * be / (al * (s - 1)) * (1 - pow(be / (be + t), s - 1));
}

static double bgnbd_ex(double r, double al, double a, double b, double t)
{
    /* Fader, Hardie & Lee (2005), eq. (9) */
    return (a + b - 1) / (a - 1) *
           (1 - pow(al / (al + t), r) * hyp2f1(r, b, a + b - 1, t / (al + t)));
}

static double mbgnbd_ex(double r, double al, double a, double b, double t)
{
    /* MBG/NBD (Batislam et al. 2007): E[X | λ, p] = (1-p)/p (1 - e^{-λpt}), so
     * E[X] = E_BG[X] - E_p[1 - (α/(α+pt))^r] and, by Euler's integral and a
     * Pfaff transformation, E_p[(α/(α+pt))^r] = (α/(α+t))^r 2F1(r, b; a+b; t/(α+t)). */
    return bgnbd_ex(r, al, a, b, t) - 1 +
           pow(al / (al + t), r) * hyp2f1(r, b, a + b, t / (al + t));
}

typedef struct moments {
    double mean, se;
} moments;

static moments mean_se(const double *v, size_t n)
{
    double m = 0, ss = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(v[i]))
            continue;
        k++;
        double d = v[i] - m;
        m += d / (double)k;
        ss += d * (v[i] - m);
    }
    moments r = {m, sqrt(ss / (double)(k - 1) / (double)k)};
    return r;
}

/* |mean - truth| within 4 standard errors. */
static int within(const char *what, moments m, double truth)
{
    double z = (m.mean - truth) / m.se;
    printf("\n  %s: simulated %.5f (se %.5f), closed form %.5f, z = %.2f", what, m.mean, m.se,
           truth, z);
    return fabs(z) < 4;
}

typedef struct sim_data {
    double *x, *tx, *T, *xh, *spend;
    int *alive;
} sim_data;

static sim_data simulate(const churn_simulate_options *o, size_t n)
{
    sim_data d;
    d.x = malloc(n * sizeof(double));
    d.tx = malloc(n * sizeof(double));
    d.T = malloc(n * sizeof(double));
    d.xh = malloc(n * sizeof(double));
    d.spend = malloc(n * sizeof(double));
    d.alive = malloc(n * sizeof(int));
    int rc = churn_simulate_summary(o, n, d.x, d.tx, d.T, d.xh, d.spend, d.alive);
    if (rc)
        printf("\n  %s\n", churn_last_error_message());
    CU_ASSERT_EQUAL(rc, CHURN_OK);
    return d;
}

static void sim_free(sim_data *d)
{
    free(d->x);
    free(d->tx);
    free(d->T);
    free(d->xh);
    free(d->spend);
    free(d->alive);
}

static double fraction(const double *x, size_t n, double v, moments *m)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += x[i] == v;
    double p = (double)k / (double)n;
    m->mean = p;
    m->se = sqrt(p * (1 - p) / (double)n);
    return p;
}

static void check_common(const sim_data *d, size_t n, double T)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        if (d->T[i] != T || d->tx[i] < 0 || d->tx[i] > T || (d->x[i] == 0) != (d->tx[i] == 0) ||
            d->x[i] != floor(d->x[i]) || (d->x[i] > 0) == isnan(d->spend[i]))
            bad++;
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_pnbd_moments(void)
{
    churn_simulate_options o = CHURN_SIMULATE_OPTIONS_INIT;
    o.model = CHURN_FAMILY_PNBD;
    o.days = WEEKS * 7;
    o.seed = 11;
    sim_data d = simulate(&o, NCUST);
    check_common(&d, NCUST, WEEKS);
    /* defaults = the published CDNOW fit */
    double r = 0.5533971, al = 10.5801985, s = 0.6060625, be = 11.6562237;
    CU_ASSERT(within("Pareto/NBD E[X(39)]", mean_se(d.x, NCUST), pnbd_ex(r, al, s, be, WEEKS)));
    /* P(alive at T) = P(τ > T) = E[e^{-μT}] = (β/(β+T))^s */
    double *alive = malloc(NCUST * sizeof *alive);
    for (size_t i = 0; i < NCUST; i++)
        alive[i] = d.alive[i];
    moments m;
    fraction(alive, NCUST, 1.0, &m);
    CU_ASSERT(within("Pareto/NBD P(alive at 39)", m, pow(be / (be + WEEKS), s)));
    free(alive);
    /* mean spend per transaction: E[z] = p γ / (q - 1) (Gamma-Gamma) */
    CU_ASSERT(within("Gamma-Gamma E[z]", mean_se(d.spend, NCUST), 6.25 * 15.44 / (3.74 - 1)));
    sim_free(&d);
}

static void test_bgnbd_moments(void)
{
    churn_simulate_options o = CHURN_SIMULATE_OPTIONS_INIT;
    o.model = CHURN_FAMILY_BGNBD;
    o.days = WEEKS * 7;
    o.seed = 12;
    /* explicit parameters (not the defaults), and other spend parameters */
    o.r = 0.8;
    o.alpha = 6.0;
    o.a = 1.5;
    o.b = 4.0;
    o.p = 3.0;
    o.q = 5.0;
    o.gamma = 20.0;
    sim_data d = simulate(&o, NCUST);
    check_common(&d, NCUST, WEEKS);
    CU_ASSERT(within("BG/NBD E[X(39)]", mean_se(d.x, NCUST), bgnbd_ex(0.8, 6, 1.5, 4, WEEKS)));
    /* P(X(t) = 0) = (α/(α+t))^r: no dropout before the first repeat purchase */
    moments m;
    fraction(d.x, NCUST, 0, &m);
    CU_ASSERT(within("BG/NBD P(X(39)=0)", m, pow(6.0 / (6.0 + WEEKS), 0.8)));
    CU_ASSERT(within("Gamma-Gamma E[z]", mean_se(d.spend, NCUST), 3.0 * 20.0 / (5.0 - 1)));
    sim_free(&d);

    /* the published CDNOW BG/NBD fit (the defaults) */
    churn_simulate_options_init(&o);
    o.model = CHURN_FAMILY_BGNBD;
    o.days = WEEKS * 7;
    o.seed = 13;
    d = simulate(&o, NCUST);
    CU_ASSERT(within("BG/NBD CDNOW E[X(39)]", mean_se(d.x, NCUST),
                     bgnbd_ex(0.2425945, 4.4136019, 0.7929199, 2.4258881, WEEKS)));
    sim_free(&d);
}

static void test_mbgnbd_moments(void)
{
    churn_simulate_options o = CHURN_SIMULATE_OPTIONS_INIT;
    o.model = CHURN_FAMILY_MBGNBD;
    o.days = WEEKS * 7;
    o.seed = 14;
    sim_data d = simulate(&o, NCUST);
    check_common(&d, NCUST, WEEKS);
    double r = 0.525, al = 6.183, a = 0.891, b = 1.614;
    CU_ASSERT(within("MBG/NBD E[X(39)]", mean_se(d.x, NCUST), mbgnbd_ex(r, al, a, b, WEEKS)));
    /* P(X = 0) = E[p] + E[1-p] (α/(α+t))^r: dropout right at the first purchase */
    moments m;
    fraction(d.x, NCUST, 0, &m);
    CU_ASSERT(within("MBG/NBD P(X(39)=0)", m,
                     a / (a + b) + b / (a + b) * pow(al / (al + WEEKS), r)));
    sim_free(&d);
}

/* MBG/CNBD-k: k = 1 draws the MBG/NBD's customers exactly; with k = 3 a customer has no
 * repeat purchase by t when the coin at time 0 said "drop" or fewer than k Poisson events
 * came: P(X(t) = 0) = a/(a+b) + b/(a+b) sum_{i<k} NB(i; r, alpha, t), the NB pmf
 * G(r+i)/(G(r) i!) (alpha/(alpha+t))^r (t/(alpha+t))^i. */
static void test_mbgcnbd_sim(void)
{
    churn_simulate_options o = CHURN_SIMULATE_OPTIONS_INIT;
    o.model = CHURN_FAMILY_MBGNBD;
    o.days = WEEKS * 7;
    o.seed = 15;
    o.r = 0.85;
    o.alpha = 1.45;
    o.a = 0.79;
    o.b = 2.42;
    sim_data m = simulate(&o, 2000);
    o.model = CHURN_FAMILY_MBGCNBD;
    o.k = 1;
    sim_data c = simulate(&o, 2000);
    size_t diff = 0;
    for (size_t i = 0; i < 2000; i++)
        diff += m.x[i] != c.x[i] || m.tx[i] != c.tx[i] || m.alive[i] != c.alive[i];
    CU_ASSERT_EQUAL(diff, 0);
    sim_free(&m);
    sim_free(&c);

    o.k = 3;
    sim_data d = simulate(&o, NCUST);
    check_common(&d, NCUST, WEEKS);
    double r = 0.85, al = 1.45, a = 0.79, b = 2.42, t = WEEKS, nb = 0.0;
    for (int i = 0; i < 3; i++)
        nb += exp(lgamma(r + i) - lgamma(r) - lgamma(i + 1.0) + r * log(al / (al + t)) +
                  i * log(t / (al + t)));
    moments mo;
    fraction(d.x, NCUST, 0, &mo);
    CU_ASSERT(within("MBG/CNBD-3 P(X(39)=0)", mo, a / (a + b) + b / (a + b) * nb));
    /* the default k is 3: the same customers */
    o.k = 0;
    sim_data e = simulate(&o, 1000);
    diff = 0;
    for (size_t i = 0; i < 1000; i++)
        diff += e.x[i] != d.x[i] || e.tx[i] != d.tx[i];
    CU_ASSERT_EQUAL(diff, 0);
    sim_free(&d);
    sim_free(&e);
}

static void test_holdout_and_acquisition(void)
{
    /* Pareto/NBD: purchases in (T, T+t*] given the whole population:
     * E[X(T+t*)] - E[X(T)] when everyone has the same T */
    churn_simulate_options o = CHURN_SIMULATE_OPTIONS_INIT;
    o.days = WEEKS * 7;
    o.holdout_days = 52 * 7;
    o.seed = 15;
    sim_data d = simulate(&o, NCUST);
    double r = 0.5533971, al = 10.5801985, s = 0.6060625, be = 11.6562237;
    CU_ASSERT(within("Pareto/NBD holdout purchases", mean_se(d.xh, NCUST),
                     pnbd_ex(r, al, s, be, WEEKS + 52) - pnbd_ex(r, al, s, be, WEEKS)));
    sim_free(&d);

    /* acquisition spread uniformly over 12 weeks: T ~ U(78 - 12, 78) weeks */
    churn_simulate_options_init(&o);
    o.acquisition_days = 84;
    o.seed = 16;
    d = simulate(&o, 20000);
    double lo = 1e9, hi = -1;
    for (size_t i = 0; i < 20000; i++) {
        lo = fmin(lo, d.T[i]);
        hi = fmax(hi, d.T[i]);
    }
    CU_ASSERT(lo >= 66 && hi <= 78 && lo < 66.1 && hi > 77.9);
    CU_ASSERT(within("mean T with a 12-week acquisition window", mean_se(d.T, 20000), 72));
    sim_free(&d);
}

/* The log and the summary describe the same customers. */
static void test_txlog_matches_summary(void)
{
    const int models[] = {CHURN_FAMILY_PNBD, CHURN_FAMILY_BGNBD, CHURN_FAMILY_MBGNBD};
    for (int mi = 0; mi < 3; mi++) {
        churn_simulate_options o = CHURN_SIMULATE_OPTIONS_INIT;
        o.model = models[mi];
        o.customers = 3000;
        o.seed = 77;
        o.acquisition_days = 60;
        o.holdout_days = 100;
        o.id_prefix = "c";
        churn_txlog *log = NULL;
        CU_ASSERT_FATAL(churn_txlog_new(&log) == CHURN_OK);
        CU_ASSERT_EQUAL_FATAL(churn_simulate_txlog(log, &o), CHURN_OK);
        CU_ASSERT_EQUAL(churn_txlog_num_customers(log), 3000);
        CU_ASSERT_STRING_EQUAL(churn_txlog_customer_id(log, 0), "c1");
        CU_ASSERT_STRING_EQUAL(churn_txlog_customer_id(log, 2999), "c3000");
        sim_data d = simulate(&o, 3000);
        /* recount from the log: per customer, first purchase time, repeats in
         * the calibration window and after it, mean repeat spend */
        size_t n = churn_txlog_num_transactions(log);
        const uint32_t *c = churn_txlog_customers(log);
        const double *t = churn_txlog_times(log), *a = churn_txlog_amounts(log);
        double end = o.start + o.days * 86400;
        double *first = calloc(3000, sizeof *first), *cal = calloc(3000, sizeof *cal);
        double *hold = calloc(3000, sizeof *hold), *last = calloc(3000, sizeof *last);
        double *sum = calloc(3000, sizeof *sum);
        int *seen = calloc(3000, sizeof *seen);
        size_t bad = 0;
        for (size_t i = 0; i < n; i++) {
            uint32_t k = c[i];
            if (!seen[k]) {
                seen[k] = 1;
                first[k] = t[i];
                continue;
            }
            if (t[i] < first[k] || a[i] <= 0)
                bad++;
            if (t[i] <= end) {
                cal[k]++;
                last[k] = t[i];
                sum[k] += a[i];
            } else {
                hold[k]++;
            }
        }
        for (size_t k = 0; k < 3000; k++) {
            double T = (end - first[k]) / (7 * 86400.0);
            double tx = cal[k] ? (last[k] - first[k]) / (7 * 86400.0) : 0;
            if (!seen[k] || cal[k] != d.x[k] || hold[k] != d.xh[k] || fabs(T - d.T[k]) > 1e-6 ||
                fabs(tx - d.tx[k]) > 1e-6 ||
                (cal[k] && fabs(sum[k] / cal[k] - d.spend[k]) > 1e-9 * d.spend[k]))
                bad++;
        }
        CU_ASSERT_EQUAL(bad, 0);
        free(first);
        free(cal);
        free(hold);
        free(last);
        free(sum);
        free(seen);
        sim_free(&d);
        churn_txlog_free(log);
    }
}

static void test_determinism(void)
{
    churn_simulate_options o = CHURN_SIMULATE_OPTIONS_INIT;
    o.seed = 123456789;
    o.acquisition_days = 30;
    sim_data d1 = simulate(&o, 5000), d2 = simulate(&o, 5000);
    CU_ASSERT(memcmp(d1.x, d2.x, 5000 * sizeof(double)) == 0);
    CU_ASSERT(memcmp(d1.tx, d2.tx, 5000 * sizeof(double)) == 0);
    CU_ASSERT(memcmp(d1.T, d2.T, 5000 * sizeof(double)) == 0);
    /* the first customers do not depend on how many follow */
    sim_data d3 = simulate(&o, 100);
    CU_ASSERT(memcmp(d1.x, d3.x, 100 * sizeof(double)) == 0);
    CU_ASSERT(memcmp(d1.tx, d3.tx, 100 * sizeof(double)) == 0);
    /* another seed gives other customers */
    o.seed = 123456790;
    sim_data d4 = simulate(&o, 5000);
    CU_ASSERT(memcmp(d1.tx, d4.tx, 5000 * sizeof(double)) != 0);
    sim_free(&d1);
    sim_free(&d2);
    sim_free(&d3);
    sim_free(&d4);
    /* two logs from the same options are identical */
    churn_txlog *l1, *l2;
    churn_txlog_new(&l1);
    churn_txlog_new(&l2);
    o.customers = 2000;
    CU_ASSERT_EQUAL(churn_simulate_txlog(l1, &o), CHURN_OK);
    CU_ASSERT_EQUAL(churn_simulate_txlog(l2, &o), CHURN_OK);
    size_t n = churn_txlog_num_transactions(l1);
    CU_ASSERT_EQUAL_FATAL(n, churn_txlog_num_transactions(l2));
    CU_ASSERT(memcmp(churn_txlog_times(l1), churn_txlog_times(l2), n * sizeof(double)) == 0);
    CU_ASSERT(memcmp(churn_txlog_amounts(l1), churn_txlog_amounts(l2), n * sizeof(double)) == 0);
    churn_txlog_free(l1);
    churn_txlog_free(l2);
}

/* Default parameters are per week; in days they are rescaled, so the same
 * seed gives the same customers with times 7 times larger. */
static void test_time_unit(void)
{
    churn_simulate_options o = CHURN_SIMULATE_OPTIONS_INIT;
    o.model = CHURN_FAMILY_BGNBD;
    o.seed = 5;
    sim_data w = simulate(&o, 20000);
    o.time_unit = CHURN_UNIT_DAY;
    sim_data d = simulate(&o, 20000);
    size_t same = 0;
    for (size_t i = 0; i < 20000; i++)
        same += w.x[i] == d.x[i] && fabs(d.tx[i] - 7 * w.tx[i]) < 1e-6 * (1 + d.tx[i]) &&
                fabs(d.T[i] - 7 * w.T[i]) < 1e-9;
    CU_ASSERT(same >= 19990);
    sim_free(&w);
    sim_free(&d);
}

static void test_errors(void)
{
    churn_txlog *log;
    churn_txlog_new(&log);
    double x, tx, T;
    churn_simulate_options o = CHURN_SIMULATE_OPTIONS_INIT;
    o.model = CHURN_FAMILY_COX;
    CU_ASSERT_EQUAL(churn_simulate_txlog(log, &o), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "model") != NULL);
    churn_simulate_options_init(&o);
    o.alpha = -1;
    CU_ASSERT_EQUAL(churn_simulate_summary(&o, 1, &x, &tx, &T, NULL, NULL, NULL), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "alpha") != NULL);
    churn_simulate_options_init(&o);
    o.gamma = NAN;
    CU_ASSERT_EQUAL(churn_simulate_txlog(log, &o), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "gamma") != NULL);
    churn_simulate_options_init(&o);
    o.acquisition_days = o.days;
    CU_ASSERT_EQUAL(churn_simulate_txlog(log, &o), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "acquisition_days") != NULL);
    churn_simulate_options_init(&o);
    o.customers = 0;
    CU_ASSERT_EQUAL(churn_simulate_txlog(log, &o), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "customers") != NULL);
    churn_simulate_options_init(&o);
    o.k = 2; /* the Erlang shape is MBG/CNBD-k's alone */
    CU_ASSERT_EQUAL(churn_simulate_summary(&o, 1, &x, &tx, &T, NULL, NULL, NULL), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "k = 2") != NULL);
    o.model = CHURN_FAMILY_MBGCNBD;
    o.k = CHURN_MBGCNBD_KMAX + 1;
    CU_ASSERT_EQUAL(churn_simulate_summary(&o, 1, &x, &tx, &T, NULL, NULL, NULL), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "1..12") != NULL);
    churn_simulate_options_init(&o);
    o.time_unit = 0;
    CU_ASSERT_EQUAL(churn_simulate_txlog(log, &o), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_simulate_txlog(NULL, NULL), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_simulate_summary(NULL, 1, NULL, &tx, &T, NULL, NULL, NULL),
                    CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 0);
    /* NULL options: defaults */
    CU_ASSERT_EQUAL(churn_simulate_txlog(log, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_num_customers(log), 1000);
    churn_txlog_free(log);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"pnbd_moments", test_pnbd_moments},
        {"bgnbd_moments", test_bgnbd_moments},
        {"mbgnbd_moments", test_mbgnbd_moments},
        {"mbgcnbd_sim", test_mbgcnbd_sim},
        {"holdout_and_acquisition", test_holdout_and_acquisition},
        {"txlog_matches_summary", test_txlog_matches_summary},
        {"determinism", test_determinism},
        {"time_unit", test_time_unit},
        {"errors", test_errors},
        CU_TEST_INFO_NULL,
    };
    return churn_test_run("simulate", tests);
}
