/* churn evaluate: compare churn models on a holdout window (churn_metrics_compare). */
#include "cli.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char sub[] = "evaluate";

static void help(FILE *f)
{
    fprintf(f,
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
            "                       (default %s)\n"
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
            "\n%s"
            "\nSee docs/evaluation.md for the definitions.\n",
            CHURN_COMPARISON_DEFAULT_FEATURES, cli_tx_help);
}

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

int cmd_evaluate(int argc, char **argv)
{
    cli_args a;
    cli_tx_opts tx;
    cli_tx_opts_init(&tx);
    churn_comparison_options o;
    churn_comparison_options_init(&o);
    o.time_unit = CHURN_UNIT_WEEK;
    const char *input = NULL, *out_path = NULL, *scores_path = NULL, *s = NULL;
    int json = 0, have_cutoff = 0, have_end = 0;
    long lv = 0;
    cli_args_init(&a, argc, argv, 1, sub);
    while (cli_next(&a)) {
        if (cli_flag(&a, "--help") || cli_flag(&a, "-h")) {
            help(stdout);
            return CLI_EXIT_OK;
        } else if (cli_tx_option(&a, &tx)) {
            /* consumed */
        } else if (cli_is(&a, "--cutoff")) {
            if (cli_date(&a, &o.cutoff))
                return CLI_EXIT_USAGE;
            have_cutoff = 1;
        } else if (cli_is(&a, "--holdout-end")) {
            if (cli_date(&a, &o.holdout_end))
                return CLI_EXIT_USAGE;
            have_end = 1;
        } else if (cli_is(&a, "--models")) {
            if (cli_string(&a, &o.models))
                return CLI_EXIT_USAGE;
        } else if (cli_is(&a, "--features")) {
            if (cli_string(&a, &o.features))
                return CLI_EXIT_USAGE;
        } else if (cli_is(&a, "--unit")) {
            if (cli_unit(&a, &o.time_unit))
                return CLI_EXIT_USAGE;
        } else if (cli_is(&a, "--folds")) {
            if (cli_long(&a, &lv))
                return CLI_EXIT_USAGE;
            if (lv < 1)
                return cli_usage_error(sub, "option --folds: %ld is not a positive integer", lv);
            o.folds = (size_t)lv;
        } else if (cli_is(&a, "--seed")) {
            if (cli_long(&a, &lv))
                return CLI_EXIT_USAGE;
            if (lv < 1)
                return cli_usage_error(sub, "option --seed: %ld is not a positive integer", lv);
            o.seed = (uint64_t)lv;
        } else if (cli_is(&a, "--bins")) {
            if (cli_long(&a, &lv))
                return CLI_EXIT_USAGE;
            if (lv < 1)
                return cli_usage_error(sub, "option --bins: %ld is not a positive integer", lv);
            o.lift_bins = (size_t)lv;
        } else if (cli_is(&a, "--btyd-churn")) {
            if (cli_string(&a, &s))
                return CLI_EXIT_USAGE;
            if (strcmp(s, "no-purchase") == 0)
                o.btyd_churn = CHURN_BTYD_CHURN_NO_PURCHASE;
            else if (strcmp(s, "not-alive") == 0)
                o.btyd_churn = CHURN_BTYD_CHURN_NOT_ALIVE;
            else
                return cli_usage_error(sub, "option --btyd-churn: '%s' is not no-purchase or "
                                       "not-alive", s);
        } else if (cli_flag(&a, "--json")) {
            json = 1;
        } else if (cli_is(&a, "--scores")) {
            if (cli_string(&a, &scores_path))
                return CLI_EXIT_USAGE;
        } else if (cli_is(&a, "-o") || cli_is(&a, "--output")) {
            if (cli_string(&a, &out_path))
                return CLI_EXIT_USAGE;
        } else if (cli_positional(&a)) {
            if (input)
                return cli_usage_error(sub, "more than one input file ('%s' and '%s')", input,
                                       a.value);
            input = a.value;
        } else {
            return cli_unknown(&a);
        }
    }
    if (a.error)
        return CLI_EXIT_USAGE;
    if (!input)
        return cli_usage_error(sub, "missing the transaction file TX.csv");
    if (!have_cutoff)
        return cli_usage_error(sub, "missing --cutoff DATE");
    if (!have_end)
        return cli_usage_error(sub, "missing --holdout-end DATE");
    if (o.holdout_end <= o.cutoff)
        return cli_usage_error(sub, "--holdout-end must be after --cutoff");

    churn_txlog *log = cli_read_txlog(sub, input, &tx);
    if (!log)
        return CLI_EXIT_FAIL;
    churn_comparison *c = NULL;
    int rc = churn_metrics_compare(&c, log, &o);
    churn_txlog_free(log);
    if (rc)
        return cli_lib_fail(sub, "comparing models", rc);

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
        }
    }
    if (scores_path && write_scores(scores_path, c) != CLI_EXIT_OK) {
        churn_comparison_free(c);
        return CLI_EXIT_FAIL;
    }
    FILE *f = cli_open_out(sub, out_path);
    if (!f) {
        churn_comparison_free(c);
        return CLI_EXIT_FAIL;
    }
    int wr = json ? write_json(f, c, o.cutoff, o.holdout_end, o.time_unit) : write_csv(f, c);
    churn_comparison_free(c);
    int cl = cli_close_out(sub, f, out_path);
    if (wr)
        return cli_fail(sub, "cannot write the comparison table");
    return cl ? cl : status;
}
