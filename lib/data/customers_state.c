/*
 * The incremental customer state: one customer's running summary, fed one
 * transaction at a time, that gives the incremental columns as of any
 * cutoff. It shares state_add_order() and state_values() (customers_internal.h)
 * with the grouping build, so the two agree bit for bit whenever the
 * transactions reach both in the same order.
 *
 * Owns: churn_customer_state_init, churn_customer_state_add,
 * churn_customer_state_value, churn_customer_state_check_model.
 * Calls: customers_setup.c (churn__cust_check_options, churn__cust_col_lookup)
 * and core/.
 */
#include "core/internal.h"

#include "data/customers_internal.h"

int churn_customer_state_init(churn_customer_state *s, const churn_customer_options *opts)
{
    churn__ok();
    if (!s)
        return churn__error(CHURN_EINVAL, "churn_customer_state_init: 'state' is NULL");
    churn_customer_options o = CHURN_CUSTOMER_OPTIONS_INIT;
    int rc = churn__opts_copy(&o, sizeof o, opts, "churn_customer_options");
    if (rc)
        return rc;
    if ((rc = churn__cust_check_options(&o)))
        return rc;
    if (o.period != CHURN_PERIOD_NONE)
        return churn__error(CHURN_EUNSUPPORTED, "churn_customer_state_init: option 'period' "
                            "(%s) is not supported by the incremental state, which counts "
                            "days; build a table (churn_customers_build or a stream) for "
                            "calendar periods", churn_period_name(o.period));
    state_reset(s, &o);
    return CHURN_OK;
}

int churn_customer_state_add(churn_customer_state *s, double time, double amount)
{
    churn__ok();
    if (!s)
        return churn__error(CHURN_EINVAL, "churn_customer_state_add: 'state' is NULL");
    if (s->struct_size != sizeof *s || !(s->time_unit > 0))
        return churn__error(CHURN_EINVAL, "churn_customer_state_add: 'state' was not set up by "
                            "churn_customer_state_init");
    if (!churn__finite(time))
        return churn__error(CHURN_EINVAL, "churn_customer_state_add: 'time' is not finite");
    if (isinf(amount)) /* NaN is an order of unknown amount (customers.h) */
        return churn__error(CHURN_EINVAL, "churn_customer_state_add: 'amount' is not finite "
                            "(NaN for an unknown amount)");
    if (time < s->last_time)
        return churn__error(CHURN_EINVAL, "churn_customer_state_add: 'time' %.17g is earlier "
                            "than the previous transaction (%.17g); add purchases in time order",
                            time, s->last_time);
    s->last_time = time;
    s->n_transactions += 1;
    if (amount < 0)
        state_add_refund(s, amount);
    else
        state_add_order(s, day_of(time), amount);
    return CHURN_OK;
}

int churn_customer_state_value(const churn_customer_state *s, double cutoff, const char *column,
                               double *value)
{
    churn__ok();
    if (!s || !column || !value)
        return churn__error(CHURN_EINVAL, "churn_customer_state_value: '%s' is NULL",
                            !s ? "state" : !column ? "column" : "value");
    if (s->struct_size != sizeof *s || !(s->time_unit > 0))
        return churn__error(CHURN_EINVAL, "churn_customer_state_value: 'state' was not set up "
                            "by churn_customer_state_init");
    int j = churn__cust_col_lookup(column, strlen(column));
    if (j < 0)
        return churn__error(CHURN_ENOTFOUND, "churn_customer_state_value: no column '%s'",
                            column);
    if (!col_incremental(j))
        return churn__error(CHURN_EUNSUPPORTED, "churn_customer_state_value: column '%s' needs "
                            "the whole history or the population; use churn_customers_build",
                            column);
    if (!churn__finite(cutoff))
        return churn__error(CHURN_EINVAL, "churn_customer_state_value: 'cutoff' is not finite");
    if (j == COL_N_RETURNS || j == COL_RETURNS_AMOUNT) {
        /* NaN amount of an order: its spend columns are unknown (spend_unknown_values) */
        int unknown = isnan(s->first_amount + s->repeat_amount);
        *value = j == COL_N_RETURNS ? s->n_returns : unknown ? NAN : s->returns_amount;
        return CHURN_OK;
    }
    if (s->n_orders == 0)
        return churn__error(CHURN_EINVAL, "churn_customer_state_value: column '%s': the state "
                            "holds no order yet", column);
    double cut = day_of(cutoff);
    if (cut < s->last_day)
        return churn__error(CHURN_EINVAL, "churn_customer_state_value: 'cutoff' (day %.0f) is "
                            "before the last order added (day %.0f)", cut, s->last_day);
    double v[NCOL_ALL];
    state_values(s, cut, v);
    *value = v[j];
    return CHURN_OK;
}

int churn_customer_state_check_model(const churn_customer_state *s, const churn_model *model)
{
    churn__ok();
    if (!s || !model)
        return churn__error(CHURN_EINVAL, "churn_customer_state_check_model: %s is NULL",
                            s ? "model" : "state");
    if (s->struct_size != sizeof *s || !(s->time_unit > 0))
        return churn__error(CHURN_EINVAL, "churn_customer_state_check_model: 'state' was not "
                            "set up by churn_customer_state_init");
    return churn_model_check_time_unit(model, s->time_unit);
}
