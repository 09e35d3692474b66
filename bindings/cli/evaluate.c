/* churn evaluate: compare churn models on a holdout window (churn_metrics_compare). */
#include "cli.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char sub[] = "evaluate";

static const char evaluate_help[] =
            "usage: churn evaluate TX.csv --cutoff DATE --holdout-end DATE\n"
            "                      [--models bgnbd,pnbd,logit,cox] [--unit week] [--json]\n"
            "                      [-o table.csv] [options]\n"
            "\n"
            "Split the transactions at the cutoff, build the customer table (calibration\n"
            "features up to the cutoff day, holdout labels up to the holdout-end day), fit each\n"
            "model, score every customer with an out-of-sample churn probability and compare\n"
            "them on the holdout label churned = no purchase in the holdout.\n"
            "\n"
            "Output: one row per model with the columns\n"
            "  model,auc,log_loss,brier,top_decile_lift,holdout_mae\n"
            "(holdout_mae, the mean absolute error of the predicted holdout purchases, only for\n"
            "BTYD models). A model that fails leaves its cells empty, its reason goes to stderr\n"
            "and the exit status is 1.\n"
            "\n"
            "Options:\n"
            "  --cutoff DATE        end of calibration (its whole day included); required\n"
            "  --holdout-end DATE   end of the holdout (its whole day included); required\n"
            "  --models LIST        comma-separated: bgnbd mbgnbd pnbd logit cox weibull\n"
            "                       exponential loglogistic lognormal\n"
            "                       (default bgnbd,pnbd,logit,cox)\n"
            "  --unit U             time unit: day, week (default), month, year or a number\n"
            "                       of days\n"
            "  --features LIST      customer-table columns for logit and the survival models\n"
            "                       (default " CHURN_COMPARISON_DEFAULT_FEATURES ";\n"
            "                       without monetary_value with --amount none)\n"
            "  --folds K            cross-fitting folds of the supervised models (default 5;\n"
            "                       1 = fit and score on the same customers, optimistic)\n"
            "  --seed N             seed of the fold assignment (default 1)\n"
            "  --btyd-churn S       BTYD churn probability: no-purchase (default,\n"
            "                       P(no purchase in the holdout | history)) or not-alive\n"
            "                       (1 - P(alive))\n"
            "  --bins N             bins of the lift table; top_decile_lift is the first\n"
            "                       (default 10)\n"
            "  --json               write JSON instead of CSV\n"
            "  --scores FILE        also write the per-customer out-of-sample scores:\n"
            "                       customer_id,churned,holdout_purchases,p_churn_<model>...\n"
            "  -o, --output FILE    write to FILE instead of standard output\n"
            "\n";

static json_t *jnum_or_null(int ok, double v)
{
    return (ok && isfinite(v)) ? json_real(v) : json_null();
}

static const char *metrics[] = {"auc", "log_loss", "brier", "top_decile_lift", "holdout_mae"};
#define NMETRICS (sizeof metrics / sizeof metrics[0])

static int write_csv(FILE *f, const churn_comparison *c)
{
    fprintf(f, "model");
    for (size_t k = 0; k < NMETRICS; k++)
        fprintf(f, ",%s", metrics[k]);
    fputc('\n', f);
    for (size_t i = 0; i < churn_comparison_num_models(c); i++) {
        cli_put_field(f, churn_comparison_model_name(c, i));
        for (size_t k = 0; k < NMETRICS; k++) {
            double v = NAN;
            fputc(',', f);
            if (churn_comparison_value(c, i, metrics[k], &v) == CHURN_OK)
                cli_put_double(f, v);
        }
        fputc('\n', f);
    }
    return 0;
}

static int write_scores(const char *path, const churn_comparison *c)
{
    FILE *f = cli_open_out(sub, path);
    if (!f)
        return CLI_EXIT_FAIL;
    const churn_customers *t = churn_comparison_customers(c);
    const double *churned = churn_customers_column(t, "churned");
    const double *hold = churn_customers_column(t, "holdout_purchases");
    size_t nm = churn_comparison_num_models(c), n = churn_customers_num_rows(t);
    fprintf(f, "customer_id,churned,holdout_purchases");
    for (size_t i = 0; i < nm; i++)
        fprintf(f, ",p_churn_%s", churn_comparison_model_name(c, i));
    fputc('\n', f);
    for (size_t r = 0; r < n; r++) {
        cli_put_field(f, churn_customers_id(t, r));
        fputc(',', f);
        cli_put_double(f, churned[r]);
        fputc(',', f);
        cli_put_double(f, hold[r]);
        for (size_t i = 0; i < nm; i++) {
            const double *p = churn_comparison_scores(c, i);
            fputc(',', f);
            if (p)
                fprintf(f, "%.17g", p[r]);
        }
        fputc('\n', f);
    }
    return cli_close_out(sub, f, path);
}

static int write_json(FILE *f, const churn_comparison *c, double cutoff, double holdout_end,
                      double unit)
{
    json_t *root = json_object(), *arr = json_array();
    if (!root || !arr) {
        json_decref(root);
        json_decref(arr);
        return -1;
    }
    char d1[32], d2[32];
    churn_format_date(cutoff, d1, sizeof d1);
    churn_format_date(holdout_end, d2, sizeof d2);
    const churn_customers *t = churn_comparison_customers(c);
    double rate = NAN;
    int rate_ok = churn_customers_churn_rate(t, &rate) == CHURN_OK;
    json_object_set_new(root, "cutoff", json_string(d1));
    json_object_set_new(root, "holdout_end", json_string(d2));
    json_object_set_new(root, "time_unit_days", json_real(unit));
    json_object_set_new(root, "holdout_length", json_real(churn_comparison_holdout_length(c)));
    json_object_set_new(root, "customers", json_integer((json_int_t)churn_customers_num_rows(t)));
    json_object_set_new(root, "customers_excluded",
                        json_integer((json_int_t)churn_customers_num_excluded(t)));
    json_object_set_new(root, "churn_rate", jnum_or_null(rate_ok, rate));
    for (size_t i = 0; i < churn_comparison_num_models(c); i++) {
        json_t *m = json_object();
        if (!m)
            continue;
        int st = churn_comparison_status(c, i);
        json_object_set_new(m, "model", json_string(churn_comparison_model_name(c, i)));
        json_object_set_new(m, "status", json_string(st == CHURN_OK ? "ok" : churn_strerror(st)));
        for (size_t k = 0; k < NMETRICS; k++) {
            double v = NAN;
            int ok = churn_comparison_value(c, i, metrics[k], &v) == CHURN_OK;
            json_object_set_new(m, metrics[k], jnum_or_null(ok, v));
        }
        json_object_set_new(m, "note", json_string(churn_comparison_note(c, i)));
        json_array_append_new(arr, m);
    }
    json_object_set_new(root, "models", arr);
    int rc = json_dumpf(root, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    fputc('\n', f);
    json_decref(root);
    return rc;
}

typedef struct evaluate_args {
    const char *input, *out_path, *scores_path;
    int json, have_cutoff, have_end;
    long folds, seed, bins;
    churn_comparison_options o;
    cli_tx_opts tx;
} evaluate_args;

static int parse_btyd_churn(const char *command, const char *s, void *dst)
{
    int *btyd_churn = dst;
    if (strcmp(s, "no-purchase") == 0)
        *btyd_churn = CHURN_BTYD_CHURN_NO_PURCHASE;
    else if (strcmp(s, "not-alive") == 0)
        *btyd_churn = CHURN_BTYD_CHURN_NOT_ALIVE;
    else
        return cli_usage_error(command, "option --btyd-churn: '%s' is not no-purchase or "
                               "not-alive", s);
    return 0;
}

#define AT(m) CLI_AT(evaluate_args, m)
/* A count of at least 1. */
#define COUNT(flag, m)                                                                       \
    {.name = flag, .kind = CLI_LONG, .at = AT(m), .bounds = CLI_MIN, .min = 1,               \
     .range_msg = "option " flag ": %ld is not a positive integer"}
static const cli_option evaluate_options[] = {
    {.name = "--cutoff", .kind = CLI_DATE, .at = AT(o.cutoff), .seen = AT(have_cutoff)},
    {.name = "--holdout-end", .kind = CLI_DATE, .at = AT(o.holdout_end), .seen = AT(have_end)},
    CLI_OPT("--models", CLI_STRING, AT(o.models)),
    CLI_OPT("--features", CLI_STRING, AT(o.features)),
    CLI_OPT("--unit", CLI_UNIT, AT(o.time_unit)),
    COUNT("--folds", folds),
    COUNT("--seed", seed),
    COUNT("--bins", bins),
    {.name = "--btyd-churn", .kind = CLI_CALL, .at = AT(o.btyd_churn),
     .parse = parse_btyd_churn},
    CLI_OPT("--json", CLI_FLAG, AT(json)),
    CLI_OPT("--scores", CLI_STRING, AT(scores_path)),
    CLI_OUTPUT(AT(out_path)),
};
#undef COUNT
static const cli_spec evaluate_spec = {
    .options = evaluate_options, .noptions = CLI_NOPTIONS(evaluate_options), .tx = AT(tx),
    .positional = {AT(input)}, .extra_input = "more than one input file ('%s' and '%s')",
    .missing = "missing the transaction file TX.csv", .help = evaluate_help, .help_tx = 1,
    .help_tail = "\nSee docs/evaluation.md for the definitions.\n",
};
#undef AT

static int check_options(evaluate_args *a)
{
    if (!a->have_cutoff)
        return cli_usage_error(sub, "missing --cutoff DATE");
    if (!a->have_end)
        return cli_usage_error(sub, "missing --holdout-end DATE");
    if (a->o.holdout_end <= a->o.cutoff)
        return cli_usage_error(sub, "--holdout-end must be after --cutoff");
    a->o.folds = (size_t)a->folds;
    a->o.seed = (uint64_t)a->seed;
    a->o.lift_bins = (size_t)a->bins;
    return CLI_EXIT_OK;
}

/* Warnings and failures of the models; 1 when one failed. */
static int model_status(const churn_comparison *c)
{
    int status = CLI_EXIT_OK;
    for (size_t i = 0; i < churn_comparison_num_models(c); i++) {
        int st = churn_comparison_status(c, i);
        if (st == CHURN_ENOCONV) {
            fprintf(stderr, "churn %s: warning: model %s: %s\n", sub,
                    churn_comparison_model_name(c, i), churn_comparison_note(c, i));
        } else if (st != CHURN_OK) {
            fprintf(stderr, "churn %s: model %s failed: %s\n", sub,
                    churn_comparison_model_name(c, i), churn_comparison_note(c, i));
            status = CLI_EXIT_FAIL;
        } else if (*churn_comparison_note(c, i)) {
            fprintf(stderr, "churn %s: note: model %s: %s\n", sub,
                    churn_comparison_model_name(c, i), churn_comparison_note(c, i));
        }
    }
    return status;
}

static int write_table(const evaluate_args *a, const churn_comparison *c)
{
    FILE *f = cli_open_out(sub, a->out_path);
    if (!f)
        return CLI_EXIT_FAIL;
    int wr = a->json ? write_json(f, c, a->o.cutoff, a->o.holdout_end, a->o.time_unit)
                     : write_csv(f, c);
    int cl = cli_close_out(sub, f, a->out_path);
    if (wr)
        return cli_fail(sub, "cannot write the comparison table");
    return cl;
}

int cmd_evaluate(int argc, char **argv)
{
    evaluate_args a = {0};
    cli_tx_opts_init(&a.tx);
    churn_comparison_options_init(&a.o);
    a.o.time_unit = CHURN_UNIT_WEEK;
    a.folds = (long)a.o.folds;
    a.seed = (long)a.o.seed;
    a.bins = (long)a.o.lift_bins;
    int rc = cli_parse(&evaluate_spec, sub, argc, argv, &a);
    if (rc != CLI_CONTINUE)
        return rc;
    if ((rc = check_options(&a)))
        return rc;

    churn_txlog *log = cli_read_txlog(sub, a.input, &a.tx);
    if (!log)
        return CLI_EXIT_FAIL;
    churn_comparison *c = NULL;
    rc = churn_metrics_compare(&c, log, &a.o);
    churn_txlog_free(log);
    if (rc)
        return cli_lib_fail(sub, "comparing models", rc);
    int status = model_status(c);
    if (a.scores_path && write_scores(a.scores_path, c) != CLI_EXIT_OK)
        rc = CLI_EXIT_FAIL;
    else
        rc = write_table(&a, c);
    churn_comparison_free(c);
    return rc ? rc : status;
}
