/*
 * Time units travel with the data (issue 17, item 1): a model fitted in one
 * unit never silently scores data in another. Checks the guard
 * churn_model_check_time_unit(), its table and state forms, and the explicit
 * conversion churn_btyd_convert_time_unit(), whose result is checked against
 * the closed-form invariance of BG/NBD and Pareto/NBD under a change of unit
 * (P(alive) and E[X] depend on times only through alpha + t and beta + t).
 */
#include <churn.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static const char gg_json[] =
    "{\"format\": \"libchurn-model\", \"format_version\": 1, \"family\": \"gammagamma\", "
    "\"time_unit_days\": 0, \"param_names\": [\"p\", \"q\", \"gamma\"], "
    "\"params\": [6.25, 3.74, 15.44], \"std_errors\": [0, 0, 0]}";

static churn_model *gammagamma(void)
{
    churn_model *m = NULL;
    int rc = churn_model_load_buffer(&m, gg_json, strlen(gg_json));
    if (rc)
        printf("%s\n", churn_last_error_message());
    CU_ASSERT_EQUAL_FATAL(rc, CHURN_OK);
    return m;
}

static churn_txlog *simulated_log(void)
{
    churn_txlog *log = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_txlog_new(&log), CHURN_OK);
    churn_simulate_options so = CHURN_SIMULATE_OPTIONS_INIT;
    so.model = CHURN_FAMILY_BGNBD;
    so.customers = 3000;
    so.seed = 17;
    so.acquisition_days = 84;
    CU_ASSERT_EQUAL_FATAL(churn_simulate_txlog(log, &so), CHURN_OK);
    return log;
}

static churn_customers *table_in(const churn_txlog *log, double unit)
{
    churn_customer_options o = CHURN_CUSTOMER_OPTIONS_INIT;
    o.cutoff = 852076800.0 + 273 * 86400.0; /* 1997-10-01 */
    o.time_unit = unit;
    churn_customers *t = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_customers_build(&t, log, &o), CHURN_OK);
    return t;
}

static churn_model *fit_on(int family, const churn_customers *t)
{
    churn_model *m = NULL;
    int rc = churn_btyd_fit(&m, family, churn_customers_num_rows(t),
                            churn_customers_column(t, "frequency"),
                            churn_customers_column(t, "recency"), churn_customers_column(t, "T"),
                            NULL, NULL);
    CU_ASSERT_EQUAL_FATAL(rc, CHURN_OK);
    CU_ASSERT_EQUAL(churn_model_time_unit(m), 0.0); /* arrays: the caller owns the unit */
    CU_ASSERT_EQUAL(churn_customers_check_model(t, m), CHURN_EUNIT);
    CU_ASSERT_PTR_NOT_NULL(strstr(churn_last_error_message(), "unknown"));
    CU_ASSERT_EQUAL(churn_model_set_time_unit(m, churn_customers_time_unit(t)), CHURN_OK);
    return m;
}

static void test_describe(void)
{
    char buf[64];
    CU_ASSERT_EQUAL(churn_time_unit_describe(7, buf, sizeof buf), strlen("weeks (7 days)"));
    CU_ASSERT_STRING_EQUAL(buf, "weeks (7 days)");
    churn_time_unit_describe(1, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "days (1 day)");
    churn_time_unit_describe(365.25, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "years (365.25 days)");
    churn_time_unit_describe(3, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "units of 3 days");
    churn_time_unit_describe(0, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "an unknown unit");
    /* truncation keeps the NUL and reports the full length */
    CU_ASSERT_EQUAL(churn_time_unit_describe(7, buf, 5), strlen("weeks (7 days)"));
    CU_ASSERT_STRING_EQUAL(buf, "week");
}

/* The first flow of the issue in C: a weekly model meets a daily table. */
static void test_table_units_checked(void)
{
    churn_txlog *log = simulated_log();
    churn_customers *weeks = table_in(log, CHURN_UNIT_WEEK);
    churn_customers *days = table_in(log, CHURN_UNIT_DAY);
    churn_model *m = fit_on(CHURN_FAMILY_BGNBD, weeks);

    CU_ASSERT_EQUAL(churn_customers_check_model(weeks, m), CHURN_OK);
    CU_ASSERT_EQUAL(churn_customers_check_model(days, m), CHURN_EUNIT);
    const char *msg = churn_last_error_message();
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "weeks (7 days)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "days (1 day)"));
    CU_ASSERT_EQUAL(churn_last_error_code(), CHURN_EUNIT);

    CU_ASSERT_EQUAL(churn_model_check_time_unit(m, 7.0 * (1 + 1e-12)), CHURN_OK);
    CU_ASSERT_EQUAL(churn_model_check_time_unit(m, 7.001), CHURN_EUNIT);
    CU_ASSERT_EQUAL(churn_model_check_time_unit(m, 0), CHURN_EUNIT);
    CU_ASSERT_PTR_NOT_NULL(strstr(churn_last_error_message(), "unknown"));
    CU_ASSERT_EQUAL(churn_model_check_time_unit(m, -1), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_model_check_time_unit(m, NAN), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_model_check_time_unit(NULL, 7), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_customers_check_model(NULL, m), CHURN_EINVAL);

    churn_model_free(m);
    churn_customers_free(weeks);
    churn_customers_free(days);
    churn_txlog_free(log);
}

/* Gamma-Gamma needs no unit; a logit of unknown unit is the caller's. */
static void test_unitless_families(void)
{
    churn_model *gg = gammagamma();
    CU_ASSERT_EQUAL(churn_model_check_time_unit(gg, 1.0), CHURN_OK);
    CU_ASSERT_EQUAL(churn_model_set_time_unit(gg, 7.0), CHURN_OK);
    CU_ASSERT_EQUAL(churn_model_check_time_unit(gg, 1.0), CHURN_OK);
    churn_model_free(gg);
}

/* The state of a customer, built in days, meets a weekly model. */
static void test_state_units_checked(void)
{
    churn_txlog *log = simulated_log();
    churn_customers *weeks = table_in(log, CHURN_UNIT_WEEK);
    churn_model *m = fit_on(CHURN_FAMILY_BGNBD, weeks);

    churn_customer_options o = CHURN_CUSTOMER_OPTIONS_INIT;
    churn_customer_state sd, sw;
    CU_ASSERT_EQUAL(churn_customer_state_init(&sd, &o), CHURN_OK); /* days */
    o.time_unit = CHURN_UNIT_WEEK;
    CU_ASSERT_EQUAL(churn_customer_state_init(&sw, &o), CHURN_OK);
    const double t0 = 852076800.0, cutoff = t0 + 273 * 86400.0;
    const double when[3] = {t0, t0 + 20 * 86400.0, t0 + 100 * 86400.0};
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(churn_customer_state_add(&sd, when[i], 10), CHURN_OK);
        CU_ASSERT_EQUAL(churn_customer_state_add(&sw, when[i], 10), CHURN_OK);
    }
    CU_ASSERT_EQUAL(churn_customer_state_check_model(&sd, m), CHURN_EUNIT);
    CU_ASSERT_PTR_NOT_NULL(strstr(churn_last_error_message(), "weeks (7 days)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(churn_last_error_message(), "days (1 day)"));
    CU_ASSERT_EQUAL(churn_customer_state_check_model(&sw, m), CHURN_OK);

    /* with matching units, the state scores as the closed form says:
     * x = 2, t_x = 100/7, T = 273/7 weeks */
    double x, tx, T, pa;
    CU_ASSERT_EQUAL(churn_customer_state_value(&sw, cutoff, "frequency", &x), CHURN_OK);
    CU_ASSERT_EQUAL(churn_customer_state_value(&sw, cutoff, "recency", &tx), CHURN_OK);
    CU_ASSERT_EQUAL(churn_customer_state_value(&sw, cutoff, "T", &T), CHURN_OK);
    CU_ASSERT_EQUAL(x, 2.0);
    CT_CLOSE(tx, 100.0 / 7.0, 1e-15);
    CT_CLOSE(T, 273.0 / 7.0, 1e-15);
    CU_ASSERT_EQUAL(churn_btyd_p_alive(m, 1, &x, &tx, &T, &pa), CHURN_OK);
    double r, alpha, a, b;
    churn_model_param(m, "r", &r, NULL);
    churn_model_param(m, "alpha", &alpha, NULL);
    churn_model_param(m, "a", &a, NULL);
    churn_model_param(m, "b", &b, NULL);
    double closed = 1.0 / (1.0 + a / (b + x - 1) * pow((alpha + T) / (alpha + tx), r + x));
    CT_CLOSE(pa, closed, 1e-12);

    churn_customer_state bad;
    memset(&bad, 0, sizeof bad);
    CU_ASSERT_EQUAL(churn_customer_state_check_model(&bad, m), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_customer_state_check_model(&sw, NULL), CHURN_EINVAL);

    churn_model_free(m);
    churn_customers_free(weeks);
    churn_txlog_free(log);
}

/* Converting on purpose: the weekly model converted to days scores the daily
 * table exactly as the weekly model scores the weekly table. */
static void check_conversion(int family)
{
    churn_txlog *log = simulated_log();
    churn_customers *weeks = table_in(log, CHURN_UNIT_WEEK);
    churn_customers *days = table_in(log, CHURN_UNIT_DAY);
    churn_model *m = fit_on(family, weeks);
    size_t n = churn_customers_num_rows(weeks), k = churn_model_num_params(m);
    CU_ASSERT_EQUAL_FATAL(n, churn_customers_num_rows(days));

    double *pw = malloc(n * sizeof *pw), *ew = malloc(n * sizeof *ew);
    double *pd = malloc(n * sizeof *pd), *ed = malloc(n * sizeof *ed);
    double before[4], se_before[4], after[4], se_after[4];
    CU_ASSERT_EQUAL(churn_btyd_score(m, 13.0, n, churn_customers_column(weeks, "frequency"),
                                     churn_customers_column(weeks, "recency"),
                                     churn_customers_column(weeks, "T"), pw, ew),
                    CHURN_OK);
    churn_model_params(m, before, 4);
    churn_model_std_errors(m, se_before, 4);

    CU_ASSERT_EQUAL(churn_btyd_convert_time_unit(m, CHURN_UNIT_DAY), CHURN_OK);
    CU_ASSERT_EQUAL(churn_model_time_unit(m), 1.0);
    CU_ASSERT_EQUAL(churn_customers_check_model(days, m), CHURN_OK);
    CU_ASSERT_EQUAL(churn_customers_check_model(weeks, m), CHURN_EUNIT);
    CU_ASSERT_PTR_NOT_NULL(strstr(churn_model_note(m), "converted from weeks (7 days) to days"));
    churn_model_params(m, after, 4);
    churn_model_std_errors(m, se_after, 4);
    for (size_t i = 0; i < k; i++) {
        const char *name = churn_model_param_name(m, i);
        double f = (!strcmp(name, "alpha") || !strcmp(name, "beta")) ? 7.0 : 1.0;
        CT_CLOSE(after[i], before[i] * f, 1e-15);
        CT_CLOSE(se_after[i], se_before[i] * f, 1e-15);
    }

    CU_ASSERT_EQUAL(churn_btyd_score(m, 91.0, n, churn_customers_column(days, "frequency"),
                                     churn_customers_column(days, "recency"),
                                     churn_customers_column(days, "T"), pd, ed),
                    CHURN_OK);
    double worst_p = 0, worst_e = 0;
    for (size_t i = 0; i < n; i++) {
        worst_p = fmax(worst_p, fabs(pd[i] - pw[i]));
        worst_e = fmax(worst_e, fabs(ed[i] - ew[i]) / fmax(ew[i], 1e-300));
    }
    CU_ASSERT(worst_p < 1e-10);
    CU_ASSERT(worst_e < 1e-9);
    if (worst_p >= 1e-10 || worst_e >= 1e-9)
        printf("family %d: worst |dP| %g, worst rel dE %g\n", family, worst_p, worst_e);

    /* and back again */
    CU_ASSERT_EQUAL(churn_btyd_convert_time_unit(m, CHURN_UNIT_WEEK), CHURN_OK);
    churn_model_params(m, after, 4);
    for (size_t i = 0; i < k; i++)
        CT_CLOSE(after[i], before[i], 1e-15);

    free(pw);
    free(ew);
    free(pd);
    free(ed);
    churn_model_free(m);
    churn_customers_free(weeks);
    churn_customers_free(days);
    churn_txlog_free(log);
}

static void test_convert_bgnbd(void) { check_conversion(CHURN_FAMILY_BGNBD); }
static void test_convert_pnbd(void) { check_conversion(CHURN_FAMILY_PNBD); }

static void test_convert_refusals(void)
{
    churn_model *m = NULL;
    const double p[4] = {0.24, 4.4, 0.79, 2.4};
    CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&m, CHURN_FAMILY_BGNBD, 4, p), CHURN_OK);
    CU_ASSERT_EQUAL(churn_btyd_convert_time_unit(m, 1.0), CHURN_EUNIT); /* unit unknown */
    CU_ASSERT_PTR_NOT_NULL(strstr(churn_last_error_message(), "unknown"));
    churn_model_set_time_unit(m, 7);
    CU_ASSERT_EQUAL(churn_btyd_convert_time_unit(m, 0), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_btyd_convert_time_unit(m, INFINITY), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_btyd_convert_time_unit(NULL, 1), CHURN_EINVAL);
    double alpha;
    churn_model_param(m, "alpha", &alpha, NULL);
    CU_ASSERT_EQUAL(alpha, 4.4); /* unchanged by the refusals */
    churn_model_free(m);

    const double q[4] = {1.2, 0.75, 0.66, 2.78};
    CU_ASSERT_EQUAL_FATAL(churn_btyd_model_new(&m, CHURN_FAMILY_BGBB, 4, q), CHURN_OK);
    churn_model_set_time_unit(m, 365.25);
    CU_ASSERT_EQUAL(churn_btyd_convert_time_unit(m, 1.0), CHURN_EUNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(churn_last_error_message(), "discrete opportunities"));
    churn_model_free(m);

    m = gammagamma();
    churn_model_set_time_unit(m, 7);
    CU_ASSERT_EQUAL(churn_btyd_convert_time_unit(m, 1.0), CHURN_EFAMILY);
    churn_model_free(m);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"unit described in words", test_describe},
        {"table and model units checked (weeks vs days)", test_table_units_checked},
        {"Gamma-Gamma has no time unit", test_unitless_families},
        {"state and model units checked", test_state_units_checked},
        {"BG/NBD converted weeks -> days scores the same", test_convert_bgnbd},
        {"Pareto/NBD converted weeks -> days scores the same", test_convert_pnbd},
        {"conversion refusals leave the model unchanged", test_convert_refusals},
        CU_TEST_INFO_NULL,
    };
    return churn_test_run("units", tests);
}
