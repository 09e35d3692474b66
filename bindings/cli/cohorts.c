/* `churn cohorts`: retention by acquisition cohort (churn_customers_cohort_table). */
#include "cli.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char cohorts_help[] =
    "usage: churn cohorts TX.csv [options] [-o cohorts.csv]\n"
    "\n"
    "Customers are grouped by the period of their first order (the acquisition\n"
    "cohort). Cell k of a cohort's row is the share of its customers with at least\n"
    "one order k periods after acquisition (column p0 is 1). Cells after the cutoff\n"
    "are not observed and left empty (omitted in JSON). The cutoff's own period is\n"
    "usually only partly observed. Refunds (negative amounts) are not orders.\n"
    "\n"
    "CSV columns: cohort (first day of the period, YYYY-MM-DD), customers (cohort size),\n"
    "p0, p1, ... (retention, or active customers with --counts).\n"
    "\n"
    "Options:\n"
    "  --period P        month (default: calendar months), week (weeks starting on\n"
    "                    Monday), day, year (calendar years) or N days (blocks of N days\n"
    "                    from the first order in the log)\n"
    "  --cutoff DATE     ignore transactions after DATE (default: the last date in the log)\n"
    "  --counts          print active customers instead of retention shares\n"
    "  --json            print JSON: period_days, and per cohort start, customers,\n"
    "                    active[] and retention[] over the observed periods\n"
    "  -o, --output FILE write to FILE (default: standard output)\n"
    "  --help            this text\n"
    "\n";

static int write_json(FILE *f, double period, size_t nc, size_t np, const double *start,
                      const double *act, const double *ret)
{
    json_t *root = json_object(), *arr = json_array();
    json_object_set_new(root, "period_days", json_real(period));
    for (size_t i = 0; i < nc; i++) {
        char date[32] = "";
        churn_format_date(start[i], date, sizeof date);
        json_t *c = json_object(), *ja = json_array(), *jr = json_array();
        json_object_set_new(c, "start", json_string(date));
        json_object_set_new(c, "customers", json_integer((json_int_t)act[i * np]));
        for (size_t k = 0; k < np && act[i * np + k] >= 0; k++) {
            json_array_append_new(ja, json_integer((json_int_t)act[i * np + k]));
            json_array_append_new(jr, json_real(ret[i * np + k]));
        }
        json_object_set_new(c, "active", ja);
        json_object_set_new(c, "retention", jr);
        json_array_append_new(arr, c);
    }
    json_object_set_new(root, "cohorts", arr);
    int rc = json_dumpf(root, f, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    fputc('\n', f);
    json_decref(root);
    return rc;
}

int cmd_cohorts(int argc, char **argv)
{
    const char *sub = "cohorts";
    cli_args a;
    cli_args_init(&a, argc, argv, 1, sub);
    cli_tx_opts tx;
    cli_tx_opts_init(&tx);
    churn_cohort_options o;
    churn_cohort_options_init(&o);
    const char *input = NULL, *output = NULL;
    int json = 0, counts = 0;
    while (cli_next(&a)) {
        if (cli_flag(&a, "--help") || cli_flag(&a, "-h")) {
            fputs(cohorts_help, stdout);
            fputs(cli_tx_help, stdout);
            return CLI_EXIT_OK;
        } else if (cli_tx_option(&a, &tx)) {
            continue;
        } else if (cli_is(&a, "--period")) {
            cli_unit(&a, &o.period);
        } else if (cli_is(&a, "--cutoff")) {
            cli_date(&a, &o.cutoff);
        } else if (cli_flag(&a, "--json")) {
            json = 1;
        } else if (cli_flag(&a, "--counts")) {
            counts = 1;
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

    churn_txlog *log = cli_read_txlog(sub, input, &tx);
    if (!log)
        return CLI_EXIT_FAIL;
    size_t nc = 0, np = 0;
    int rc = churn_customers_cohort_table(log, &o, &nc, &np, NULL, NULL, NULL);
    if (rc) {
        churn_txlog_free(log);
        return cli_lib_fail(sub, "computing the cohort table", rc);
    }
    double *start = malloc(nc * sizeof *start);
    double *act = malloc(nc * np * sizeof *act);
    double *ret = malloc(nc * np * sizeof *ret);
    if (!start || !act || !ret) {
        free(start);
        free(act);
        free(ret);
        churn_txlog_free(log);
        return cli_fail(sub, "out of memory (%zu cohorts)", nc);
    }
    rc = churn_customers_cohort_table(log, &o, &nc, &np, start, act, ret);
    churn_txlog_free(log);
    FILE *f = NULL;
    if (rc) {
        rc = cli_lib_fail(sub, "computing the cohort table", rc);
        goto done;
    }
    f = cli_open_out(sub, output);
    if (!f) {
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    if (json) {
        if (write_json(f, o.period, nc, np, start, act, ret)) {
            rc = cli_fail(sub, "cannot write JSON");
            if (f != stdout)
                fclose(f);
            goto done;
        }
    } else {
        fputs("cohort,customers", f);
        for (size_t k = 0; k < np; k++)
            fprintf(f, ",p%zu", k);
        fputc('\n', f);
        for (size_t i = 0; i < nc; i++) {
            char date[32] = "";
            churn_format_date(start[i], date, sizeof date);
            fprintf(f, "%s,%.0f", date, act[i * np]);
            for (size_t k = 0; k < np; k++) {
                fputc(',', f);
                double v = counts ? act[i * np + k] : ret[i * np + k];
                if (act[i * np + k] >= 0)
                    cli_put_double(f, v);
            }
            fputc('\n', f);
        }
    }
    rc = cli_close_out(sub, f, output);
done:
    free(start);
    free(act);
    free(ret);
    return rc;
}
