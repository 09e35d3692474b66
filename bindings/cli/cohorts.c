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

static void write_csv(FILE *f, int counts, size_t nc, size_t np, const double *start,
                      const double *act, const double *ret)
{
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

typedef struct cohorts_args {
    const char *input, *output;
    int json, counts;
    churn_cohort_options o;
    cli_tx_opts tx;
} cohorts_args;

#define AT(m) CLI_AT(cohorts_args, m)
static const cli_option cohorts_options[] = {
    CLI_OPT("--period", CLI_UNIT, AT(o.period)),
    CLI_OPT("--cutoff", CLI_DATE, AT(o.cutoff)),
    CLI_OPT("--json", CLI_FLAG, AT(json)),
    CLI_OPT("--counts", CLI_FLAG, AT(counts)),
    CLI_OUTPUT(AT(output)),
};
static const cli_spec cohorts_spec = {
    .options = cohorts_options, .noptions = CLI_NOPTIONS(cohorts_options), .tx = AT(tx),
    .positional = {AT(input)}, .missing = "missing the transaction file TX.csv",
    .help = cohorts_help, .help_tx = 1,
};
#undef AT

/* The cohort table in three arrays: start of each cohort, active customers and retention. */
typedef struct cohort_table {
    size_t nc, np;
    double *start, *act, *ret;
} cohort_table;

static int compute_table(const char *sub, const cohorts_args *a, cohort_table *ct)
{
    churn_txlog *log = cli_read_txlog(sub, a->input, &a->tx);
    if (!log)
        return CLI_EXIT_FAIL;
    int rc = churn_customers_cohort_table(log, &a->o, &ct->nc, &ct->np, NULL, NULL, NULL);
    if (rc) {
        churn_txlog_free(log);
        return cli_lib_fail(sub, "computing the cohort table", rc);
    }
    ct->start = malloc(ct->nc * sizeof *ct->start);
    ct->act = malloc(ct->nc * ct->np * sizeof *ct->act);
    ct->ret = malloc(ct->nc * ct->np * sizeof *ct->ret);
    if (!ct->start || !ct->act || !ct->ret) {
        churn_txlog_free(log);
        return cli_fail(sub, "out of memory (%zu cohorts)", ct->nc);
    }
    rc = churn_customers_cohort_table(log, &a->o, &ct->nc, &ct->np, ct->start, ct->act, ct->ret);
    churn_txlog_free(log);
    if (rc)
        return cli_lib_fail(sub, "computing the cohort table", rc);
    return CLI_EXIT_OK;
}

static int write_table(const char *sub, const cohorts_args *a, const cohort_table *ct)
{
    FILE *f = cli_open_out(sub, a->output);
    if (!f)
        return CLI_EXIT_FAIL;
    if (a->json) {
        if (write_json(f, a->o.period, ct->nc, ct->np, ct->start, ct->act, ct->ret)) {
            cli_abort_out(f);
            return cli_fail(sub, "cannot write JSON");
        }
    } else {
        write_csv(f, a->counts, ct->nc, ct->np, ct->start, ct->act, ct->ret);
    }
    return cli_close_out(sub, f, a->output);
}

int cmd_cohorts(int argc, char **argv)
{
    const char *sub = "cohorts";
    cohorts_args a = {0};
    cli_tx_opts_init(&a.tx);
    churn_cohort_options_init(&a.o);
    int rc = cli_parse(&cohorts_spec, sub, argc, argv, &a);
    if (rc != CLI_CONTINUE)
        return rc;
    cohort_table ct = {0};
    rc = compute_table(sub, &a, &ct);
    if (!rc)
        rc = write_table(sub, &a, &ct);
    free(ct.start);
    free(ct.act);
    free(ct.ret);
    return rc;
}
