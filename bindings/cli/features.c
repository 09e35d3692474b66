/* `churn features`: the customer table (customers.h) as CSV. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char features_help[] =
    "usage: churn features TX.csv [options] [-o customers.csv]\n"
    "\n"
    "One row per customer with an order on or before the cutoff: customer_id, then\n"
    "the columns of the C API (include/churn/customers.h): frequency, recency, T,\n"
    "monetary_value (lifetimes' definitions), n_orders, total_spend, ... value_tier,\n"
    "and with --holdout-end: holdout_purchases, holdout_spend, churned, duration, event.\n"
    "Purchases are resolved to UTC days; the cutoff day and the holdout end day are\n"
    "included. Refunds (negative amounts) are returns, not orders.\n"
    "\n"
    "Options:\n"
    "  --cutoff DATE            end of calibration (default: the last date in the log)\n"
    "  --holdout-end DATE       end of the holdout window: adds the label columns\n"
    "  --unit U                 time unit: day (default), week, month, year or N days\n"
    "  --trend-window DAYS      window of the trend columns (default 90)\n"
    "  --inactivity-threshold N lapse after N time units without purchase, for\n"
    "                           duration/event (default: the holdout length)\n"
    "  --no-same-day-merge      count every order, not one purchase per day\n"
    "  --first-purchase-counts  frequency and monetary_value include the first purchase\n"
    "  --columns LIST           only these columns (comma-separated names, written in\n"
    "                           the order above), e.g. frequency,recency,T,monetary_value:\n"
    "                           less memory, and one pass over a date-ordered log when\n"
    "                           gap_median and n_products are left out\n"
    "  -o, --output FILE        write the CSV to FILE (default: standard output)\n"
    "  --help                   this text\n"
    "\n";

int cmd_features(int argc, char **argv)
{
    const char *sub = "features";
    cli_args a;
    cli_args_init(&a, argc, argv, 1, sub);
    cli_tx_opts tx;
    cli_tx_opts_init(&tx);
    churn_customer_options o;
    churn_customer_options_init(&o);
    const char *input = NULL, *output = NULL;
    while (cli_next(&a)) {
        if (cli_flag(&a, "--help") || cli_flag(&a, "-h")) {
            fputs(features_help, stdout);
            fputs(cli_tx_help, stdout);
            return CLI_EXIT_OK;
        } else if (cli_tx_option(&a, &tx)) {
            continue;
        } else if (cli_is(&a, "--cutoff")) {
            cli_date(&a, &o.cutoff);
        } else if (cli_is(&a, "--holdout-end")) {
            cli_date(&a, &o.holdout_end);
        } else if (cli_is(&a, "--unit")) {
            cli_unit(&a, &o.time_unit);
        } else if (cli_is(&a, "--trend-window")) {
            if (!cli_double(&a, &o.trend_window) && o.trend_window <= 0) {
                a.error = 1;
                return cli_usage_error(sub, "option --trend-window must be a positive number "
                                       "of days");
            }
        } else if (cli_is(&a, "--inactivity-threshold")) {
            if (!cli_double(&a, &o.inactivity_threshold) && o.inactivity_threshold < 0) {
                a.error = 1;
                return cli_usage_error(sub, "option --inactivity-threshold must be >= 0");
            }
        } else if (cli_flag(&a, "--no-same-day-merge")) {
            o.same_day_once = 0;
        } else if (cli_flag(&a, "--first-purchase-counts")) {
            o.first_purchase_counts = 1;
        } else if (cli_is(&a, "--columns")) {
            cli_string(&a, &o.columns);
        } else if (cli_is(&a, "-o") || cli_is(&a, "--output")) {
            cli_string(&a, &output);
        } else if (cli_positional(&a) && !input) {
            input = a.value;
        } else {
            return cli_unknown(&a);
        }
    }
    if (a.error)
        return CLI_EXIT_USAGE;
    if (!input)
        return cli_usage_error(sub, "missing the transaction file TX.csv");
    if (o.cutoff == 0 && o.holdout_end != 0)
        return cli_usage_error(sub, "--holdout-end needs --cutoff (the start of the holdout)");

    churn_txlog *log = cli_read_txlog(sub, input, &tx);
    if (!log)
        return CLI_EXIT_FAIL;
    churn_customers *t = NULL;
    int rc = churn_customers_build(&t, log, &o);
    if (rc) {
        churn_txlog_free(log);
        return cli_lib_fail(sub, "building the customer table", rc);
    }
    size_t excluded = churn_customers_num_excluded(t);
    if (excluded)
        fprintf(stderr, "churn %s: %zu customer(s) with no order on or before the cutoff were "
                "left out\n", sub, excluded);
    churn_txlog_free(log);

    FILE *f = cli_open_out(sub, output);
    if (!f) {
        churn_customers_free(t);
        return CLI_EXIT_FAIL;
    }
    size_t nrows = churn_customers_num_rows(t), ncols = churn_customers_num_columns(t);
    const double **cols = malloc((ncols ? ncols : 1) * sizeof *cols);
    if (!cols) {
        churn_customers_free(t);
        if (f != stdout)
            fclose(f);
        return cli_fail(sub, "out of memory");
    }
    fputs("customer_id", f);
    for (size_t j = 0; j < ncols; j++) {
        cols[j] = churn_customers_column_at(t, j);
        fputc(',', f);
        fputs(churn_customers_column_name(t, j), f);
    }
    fputc('\n', f);
    for (size_t i = 0; i < nrows; i++) {
        cli_put_field(f, churn_customers_id(t, i));
        for (size_t j = 0; j < ncols; j++) {
            fputc(',', f);
            cli_put_double(f, cols[j][i]);
        }
        fputc('\n', f);
    }
    free(cols);
    churn_customers_free(t);
    return cli_close_out(sub, f, output);
}
