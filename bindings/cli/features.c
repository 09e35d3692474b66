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
    "and with --holdout-end: holdout_purchases, holdout_spend, churned, duration, event;\n"
    "last, on every row, the declarations that travel with the data: time_unit_days\n"
    "(days per time unit of recency, T and the other durations) and cutoff (YYYY-MM-DD),\n"
    "which 'churn fit' and 'churn predict' read back to record and check the unit,\n"
    "and with --period a column period naming the calendar periods.\n"
    "Purchases are resolved to UTC days; the cutoff day and the holdout end day are\n"
    "included. Refunds (negative amounts) are returns, not orders.\n"
    "With --amount none (a log without amounts) the spend columns are left out:\n"
    "monetary_value, total_spend, mean_order_value, spend_recent, spend_prior,\n"
    "spend_trend, returns_amount, net_spend, m_score, value_tier, holdout_spend.\n"
    "\n"
    "Options:\n"
    "  --cutoff DATE            end of calibration (default: the last date in the log)\n"
    "  --holdout-end DATE       end of the holdout window: adds the label columns\n"
    "  --unit U                 time unit: day (default), week, month, year or N days\n"
    "  --period P               calendar periods: year, quarter, month or week (Monday\n"
    "                           to Sunday), UTC: purchases in one period are one, and\n"
    "                           recency, T and durations are whole periods (BG/BB's\n"
    "                           opportunities); first/last_purchase = the period's first\n"
    "                           day. --unit, if given, must be the same length\n"
    "  --trend-window DAYS      window of the trend columns (default 90)\n"
    "  --inactivity-threshold N lapse after N time units without purchase, for\n"
    "                           duration/event (default: the holdout length)\n"
    "  --no-same-day-merge      count every order, not one purchase per day\n"
    "  --first-purchase-counts  frequency and monetary_value include the first purchase\n"
    "  --columns LIST           only these columns (comma-separated names, written in\n"
    "                           the order above), e.g. frequency,recency,T,monetary_value:\n"
    "                           less memory, and one pass over a date-ordered log when\n"
    "                           gap_median and n_products are left out\n"
    "  --covariates FILE        customer covariates to append (for 'churn fit pnbd|bgnbd|\n"
    "                           mbgnbd --trans/--life'): a CSV with a customer id column\n"
    "                           (customer_id or id) and numeric columns, appended as they\n"
    "                           are after the columns above, joined by id. A customer\n"
    "                           without a row is an error naming it; rows of customers not\n"
    "                           in the table are ignored with a note; a value that is not\n"
    "                           a number, or is missing, is an error naming line and column\n"
    "  --covariates-id COL      the id column of the covariate file\n"
    "  --trans COLS, --life COLS\n"
    "                           with --covariates: append only these covariate columns\n"
    "                           (comma-separated; each must be in the file): those of the\n"
    "                           purchase and of the dropout process. The table does not\n"
    "                           record the split: give the same --trans/--life to 'churn\n"
    "                           fit'\n"
    "  --litt                   append the column litt, each customer's sum of the\n"
    "                           logarithms of the times between purchase days up to the\n"
    "                           cutoff, in the table's unit (0 without a repeat purchase):\n"
    "                           what 'churn fit mbgcnbdk' reads to choose k. Not with\n"
    "                           --no-same-day-merge (a gap of 0) or --period\n"
    "  -o, --output FILE        write the CSV to FILE (default: standard output)\n"
    "  --help                   this text\n"
    "\n";

typedef struct features_args {
    const char *input, *output, *covariates, *cov_id, *trans, *life;
    int unit_given, litt;
    churn_customer_options o;
    cli_tx_opts tx;
} features_args;

#define AT(m) CLI_AT(features_args, m)
static const cli_option features_options[] = {
    CLI_OPT("--cutoff", CLI_DATE, AT(o.cutoff)),
    CLI_OPT("--holdout-end", CLI_DATE, AT(o.holdout_end)),
    {.name = "--unit", .kind = CLI_UNIT, .at = AT(o.time_unit), .seen = AT(unit_given)},
    CLI_PERIOD("--period", AT(o.period)),
    {.name = "--trend-window", .kind = CLI_DOUBLE, .at = AT(o.trend_window),
     .bounds = CLI_MIN_OPEN, .min = 0,
     .range_msg = "option --trend-window must be a positive number of days"},
    {.name = "--inactivity-threshold", .kind = CLI_DOUBLE, .at = AT(o.inactivity_threshold),
     .bounds = CLI_MIN, .min = 0, .range_msg = "option --inactivity-threshold must be >= 0"},
    CLI_OPT("--no-same-day-merge", CLI_FLAG_OFF, AT(o.same_day_once)),
    CLI_OPT("--first-purchase-counts", CLI_FLAG, AT(o.first_purchase_counts)),
    CLI_OPT("--columns", CLI_STRING, AT(o.columns)),
    CLI_OPT("--covariates", CLI_STRING, AT(covariates)),
    CLI_OPT("--covariates-id", CLI_STRING, AT(cov_id)),
    CLI_OPT("--trans", CLI_STRING, AT(trans)),
    CLI_OPT("--life", CLI_STRING, AT(life)),
    CLI_OPT("--litt", CLI_FLAG, AT(litt)),
    CLI_OUTPUT(AT(output)),
};
static const cli_spec features_spec = {
    .options = features_options, .noptions = CLI_NOPTIONS(features_options), .tx = AT(tx),
    .positional = {AT(input)}, .missing = "missing the transaction file TX.csv",
    .help = features_help, .help_tx = 1,
};
#undef AT

/* The customer table as CSV: customer_id, then the table's columns (without the spend
 * columns when `no_spend`: a log without amounts has none), then the declarations that
 * travel with the data: time_unit_days (days per time unit of every duration column) and
 * cutoff (the cutoff day, YYYY-MM-DD), the same on every row so that any CSV tool still reads
 * the table and `churn fit`/`churn predict` read them back (cli_table_read); with calendar
 * periods (--period) a last column `period` names them (year, quarter, month, week). */
static int write_table(const char *sub, const churn_customers *t, const char *output,
                       int no_spend, const cli_cov_join *cov, const double *litt)
{
    char unit[32], cutoff[16];
    snprintf(unit, sizeof unit, "%.10g", churn_customers_time_unit(t));
    if (churn_format_date(churn_customers_cutoff(t), cutoff, sizeof cutoff) != CHURN_OK)
        return cli_fail(sub, "the cutoff %.17g cannot be written as a date",
                        churn_customers_cutoff(t));
    FILE *f = cli_open_out(sub, output);
    if (!f)
        return CLI_EXIT_FAIL;
    size_t nrows = churn_customers_num_rows(t), ncols = churn_customers_num_columns(t);
    const double **cols = malloc((ncols ? ncols : 1) * sizeof *cols);
    if (!cols) {
        cli_abort_out(f);
        return cli_fail(sub, "out of memory");
    }
    fputs("customer_id", f);
    for (size_t j = 0; j < ncols; j++) {
        const char *name = churn_customers_column_name(t, j);
        cols[j] = no_spend && cli_is_spend_column(name) ? NULL : churn_customers_column_at(t, j);
        if (!cols[j])
            continue;
        fputc(',', f);
        fputs(name, f);
    }
    for (size_t k = 0; cov && k < cov->ncols; k++) {
        fputc(',', f);
        cli_put_field(f, cov->names[k]);
    }
    if (litt)
        fputs(",litt", f);
    /* calendar periods: a last column names them (durations are whole periods) */
    int period = churn_customers_period(t);
    const char *pname = period != CHURN_PERIOD_NONE ? churn_period_name(period) : NULL;
    fprintf(f, "," CLI_UNIT_COLUMN ",cutoff%s\n", pname ? ",period" : "");
    for (size_t i = 0; i < nrows; i++) {
        cli_put_field(f, churn_customers_id(t, i));
        for (size_t j = 0; j < ncols; j++) {
            if (!cols[j])
                continue;
            fputc(',', f);
            cli_put_double(f, cols[j][i]);
        }
        for (size_t k = 0; cov && k < cov->ncols; k++) {
            fputc(',', f);
            cli_put_double(f, cov->vals[k * nrows + i]);
        }
        if (litt) {
            fputc(',', f);
            cli_put_double(f, litt[i]);
        }
        fprintf(f, ",%s,%s%s%s\n", unit, cutoff, pname ? "," : "", pname ? pname : "");
    }
    free(cols);
    return cli_close_out(sub, f, output);
}

/* --columns with --amount none: a spend column asked for by name is a usage error (its
 * values would all be unknown). */
static int check_no_spend_column(const char *sub, const char *columns)
{
    size_t n = 0;
    char **names = cli_split_list(columns, &n);
    if (!names)
        return cli_fail(sub, "out of memory");
    int rc = CLI_EXIT_OK;
    for (size_t k = 0; k < n && !rc; k++) {
        /* the library ignores blanks around a name: so does this check */
        char *nm = names[k] + strspn(names[k], " \t"), *e = nm + strlen(nm);
        while (e > nm && (e[-1] == ' ' || e[-1] == '\t'))
            *--e = '\0';
        if (cli_is_spend_column(nm))
            rc = cli_usage_error(sub, "--columns: '%s' needs amounts, and --amount none says "
                                 "the log has none (its spend is unknown)", nm);
    }
    free(names);
    return rc;
}

static const char *customer_id(const void *t, size_t i)
{
    return churn_customers_id(t, i);
}

/* --covariates: the file joined to the table's customers; a covariate named like a column
 * of the table is an error (the table would have two columns of that name). */
static int join_covariates(const char *sub, const features_args *a, const churn_customers *t,
                           cli_cov_join *cov)
{
    size_t nt = 0, nl = 0;
    char **tn = cli_split_list(a->trans ? a->trans : "", &nt);
    char **ln = cli_split_list(a->life ? a->life : "", &nl);
    char **sel = malloc((nt + nl + 1) * sizeof *sel);
    if (!tn || !ln || !sel) {
        free(tn), free(ln), free(sel);
        return cli_fail(sub, "out of memory");
    }
    size_t ns = 0;
    for (size_t k = 0; k < nt + nl; k++) {
        char *nm = k < nt ? tn[k] : ln[k - nt];
        size_t j = 0;
        while (j < ns && strcmp(sel[j], nm) != 0)
            j++;
        if (j == ns)
            sel[ns++] = nm;
    }
    int rc = cli_cov_join_read(sub, a->covariates, a->cov_id, sel, ns,
                               churn_customers_num_rows(t), customer_id, t, 0, cov);
    for (size_t k = 0; !rc && k < cov->ncols; k++) {
        const char *nm = cov->names[k];
        if (churn_customers_column(t, nm) || strcmp(nm, CLI_UNIT_COLUMN) == 0 ||
            strcmp(nm, "cutoff") == 0 || strcmp(nm, "period") == 0 ||
            strcmp(nm, "customer_id") == 0)
            rc = cli_fail(sub, "--covariates %s: column '%s' is also a column of the customer "
                          "table: rename it", a->covariates, nm);
    }
    free(tn), free(ln), free(sel);
    return rc;
}

int cmd_features(int argc, char **argv)
{
    const char *sub = "features";
    features_args a = {0};
    cli_tx_opts_init(&a.tx);
    churn_customer_options_init(&a.o);
    int rc = cli_parse(&features_spec, sub, argc, argv, &a);
    if (rc != CLI_CONTINUE)
        return rc;
    if ((a.trans || a.life) && !a.covariates)
        return cli_usage_error(sub, "--trans and --life name columns of --covariates FILE");
    if (a.cov_id && !a.covariates)
        return cli_usage_error(sub, "--covariates-id needs --covariates FILE");
    if (a.o.cutoff == 0 && a.o.holdout_end != 0)
        return cli_usage_error(sub, "--holdout-end needs --cutoff (the start of the holdout)");
    int no_spend = cli_tx_no_amount(&a.tx);
    if (no_spend && a.o.columns && (rc = check_no_spend_column(sub, a.o.columns)))
        return rc;
    if ((rc = cli_period_unit(sub, "--period", a.o.period, a.unit_given, &a.o.time_unit)))
        return rc;
    if (a.litt && (!a.o.same_day_once || a.o.period != CHURN_PERIOD_NONE))
        return cli_usage_error(sub, "--litt needs purchases merged by day (not with "
                               "--no-same-day-merge or --period): a gap of 0 has no logarithm");

    churn_txlog *log = cli_read_txlog(sub, a.input, &a.tx);
    if (!log)
        return CLI_EXIT_FAIL;
    churn_customers *t = NULL;
    rc = churn_customers_build(&t, log, &a.o);
    if (rc) {
        churn_txlog_free(log);
        return cli_lib_fail(sub, "building the customer table", rc);
    }
    size_t excluded = churn_customers_num_excluded(t);
    if (excluded && churn_customers_num_rows(t) == 0)
        fprintf(stderr, "churn %s: warning: the cutoff is before every purchase: all %zu "
                "customer(s) were left out and the table is empty (check --cutoff)\n", sub,
                excluded);
    else if (excluded)
        fprintf(stderr, "churn %s: %zu customer(s) with no order on or before the cutoff were "
                "left out\n", sub, excluded);
    double *litt = NULL;
    if (a.litt && !(litt = cli_compute_litt(sub, log, t, a.o.first_purchase_counts))) {
        churn_txlog_free(log);
        churn_customers_free(t);
        return CLI_EXIT_FAIL;
    }
    churn_txlog_free(log);
    cli_cov_join cov;
    memset(&cov, 0, sizeof cov);
    if (a.covariates)
        rc = join_covariates(sub, &a, t, &cov);
    for (size_t k = 0; !rc && litt && a.covariates && k < cov.ncols; k++)
        if (strcmp(cov.names[k], "litt") == 0)
            rc = cli_fail(sub, "--litt: --covariates %s has a column litt too: rename it",
                          a.covariates);
    if (!rc)
        rc = write_table(sub, t, a.output, no_spend, a.covariates ? &cov : NULL, litt);
    free(litt);
    cli_cov_join_free(&cov);
    churn_customers_free(t);
    return rc;
}
