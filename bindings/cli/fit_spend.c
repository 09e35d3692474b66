/* `churn fit gammagamma` and `churn predict` for Gamma-Gamma spend models. */
#include "cli.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char fit_help[] =
    "usage: churn fit gammagamma customers.csv [options] [-o model.json]\n"
    "\n"
    "Fit the Gamma-Gamma model of mean spend per transaction (Fader & Hardie)\n"
    "on the repeat buyers of a customer table (as written by 'churn features').\n"
    "Rows with frequency 0 (one-time buyers) or monetary value <= 0 (free or\n"
    "refunded orders) are excluded from the fit and counted; they still get a\n"
    "prediction (the population mean) from 'churn predict'.\n"
    "\n"
    "Options:\n"
    "  --frequency COL   repeat-purchase count column   (default: frequency)\n"
    "  --monetary COL    mean repeat spend column       (default: monetary_value)\n"
    "  --weights COL     row weight column              (default: none)\n"
    "  --max-iter N      Newton iterations              (default: 200)\n"
    "  --json            print the fit as JSON\n"
    "  --unit U          time unit of the table, recorded in the model (default:\n"
    "                    its time_unit_days column; must agree with it)\n"
    "  --id COL          the customer id column (default: customer_id or id;\n"
    "                    'none' or no such column: rows numbered 1..n)\n"
    "  -o, --output F    save the model file (JSON) to F\n"
    "  --help            this text\n"
    "\n"
    "Parameters are named p, q and gamma as in the papers (lifetimes calls gamma 'v').\n"
    "The fit also reports the correlation between frequency and monetary value\n"
    "among the customers fitted: the model assumes they are independent.\n";

static const char predict_help[] =
    "usage: churn predict model.json customers.csv [options] [-o spend.csv]\n"
    "\n"
    "Expected mean spend per transaction of each customer under a Gamma-Gamma\n"
    "model, E[Z | frequency, monetary_value]. Customers with frequency 0 or\n"
    "monetary value <= 0 get the population mean p*gamma/(q-1).\n"
    "Output columns: customer_id, expected_spend.\n"
    "\n"
    "Options:\n"
    "  --frequency COL   (default: frequency)\n"
    "  --monetary COL    (default: monetary_value)\n"
    "  --id COL          the customer id column (default: customer_id or id;\n"
    "                    'none' or no such column: rows numbered 1..n)\n"
    "  -o, --output F    output CSV (default: standard output)\n"
    "  --help            this text\n";

static json_t *fit_json(const churn_model *m)
{
    json_t *o = json_object();
    json_t *params = json_object();
    size_t k = churn_model_num_params(m);
    double *se = calloc(k ? k : 1, sizeof *se), *v = calloc(k ? k : 1, sizeof *v);
    if (!o || !params || !se || !v) {
        json_decref(o);
        json_decref(params);
        free(se);
        free(v);
        return NULL;
    }
    churn_model_params(m, v, k);
    churn_model_std_errors(m, se, k);
    for (size_t j = 0; j < k; j++) {
        json_t *p = json_object();
        json_object_set_new(p, "estimate", json_real(v[j]));
        json_object_set_new(p, "std_error", isfinite(se[j]) ? json_real(se[j]) : json_null());
        json_object_set_new(params, churn_model_param_name(m, j), p);
    }
    free(se);
    free(v);
    double one = 0, nonpos = 0, mean = NAN, corr = NAN;
    churn_gammagamma_excluded(m, &one, &nonpos);
    if (churn_gammagamma_mean_spend(m, &mean) != CHURN_OK)
        mean = NAN;
    if (churn_gammagamma_freq_monetary_corr(m, &corr) != CHURN_OK)
        corr = NAN;
    json_object_set_new(o, "family", json_string("gammagamma"));
    json_object_set_new(o, "params", params);
    json_object_set_new(o, "loglik", json_real(churn_model_loglik(m)));
    json_object_set_new(o, "converged", json_boolean(churn_model_converged(m)));
    json_object_set_new(o, "iterations", json_integer(churn_model_iterations(m)));
    json_object_set_new(o, "customers_fitted", json_real(churn_model_nobs(m)));
    json_object_set_new(o, "excluded_one_time", json_real(one));
    json_object_set_new(o, "excluded_nonpositive_spend", json_real(nonpos));
    json_object_set_new(o, "mean_spend", isfinite(mean) ? json_real(mean) : json_null());
    json_object_set_new(o, "freq_monetary_corr", isfinite(corr) ? json_real(corr) : json_null());
    return o;
}

static void fit_print(FILE *f, const churn_model *m)
{
    double one = 0, nonpos = 0, mean, corr;
    churn_gammagamma_excluded(m, &one, &nonpos);
    fprintf(f, "Gamma-Gamma spend model: %.0f repeat buyers fitted (excluded: %.0f one-time "
               "buyers, %.0f with mean spend <= 0)\n",
            churn_model_nobs(m), one, nonpos);
    fprintf(f, "%-10s %14s %14s\n", "parameter", "estimate", "std.error");
    for (size_t j = 0; j < churn_model_num_params(m); j++) {
        double v = NAN, se = NAN;
        churn_model_param(m, churn_model_param_name(m, j), &v, &se);
        fprintf(f, "%-10s %14.6g %14.6g\n", churn_model_param_name(m, j), v, se);
    }
    fprintf(f, "log-likelihood %.4f, %s after %d iterations\n", churn_model_loglik(m),
            churn_model_converged(m) ? "converged" : "NOT converged", churn_model_iterations(m));
    if (churn_gammagamma_mean_spend(m, &mean) == CHURN_OK)
        fprintf(f, "population mean spend per transaction p*gamma/(q-1): %.6g\n", mean);
    else
        fprintf(f, "population mean spend: infinite (q <= 1)\n");
    if (churn_gammagamma_freq_monetary_corr(m, &corr) == CHURN_OK)
        fprintf(f, "correlation of frequency and monetary value (fitted customers): %.4f%s\n",
                corr, fabs(corr) > 0.3 ? "  (large: the independence assumption is shaky)" : "");
    else
        fprintf(f, "correlation of frequency and monetary value: undefined\n");
}

typedef struct spend_args {
    const char *input, *out, *fcol, *mcol, *wcol, *idcol;
    double unit;
    long max_iter;
    int json;
} spend_args;

#define AT(m) CLI_AT(spend_args, m)
static const cli_option fit_options[] = {
    CLI_OPT("--frequency", CLI_STRING, AT(fcol)),
    CLI_OPT("--monetary", CLI_STRING, AT(mcol)),
    CLI_OPT("--weights", CLI_STRING, AT(wcol)),
    CLI_LONG_IN("--max-iter", AT(max_iter), 1, 1000000),
    CLI_OPT("--json", CLI_FLAG, AT(json)),
    CLI_OPT("--unit", CLI_UNIT, AT(unit)),
    CLI_TABLE_ID(AT(idcol)),
    CLI_OUTPUT(AT(out)),
};
static const cli_spec fit_spec = {
    .options = fit_options, .noptions = CLI_NOPTIONS(fit_options), .positional = {AT(input)},
    .missing = "missing the customers.csv argument", .help = fit_help,
};
static const cli_option predict_options[] = {
    CLI_OPT("--frequency", CLI_STRING, AT(fcol)),
    CLI_OPT("--monetary", CLI_STRING, AT(mcol)),
    CLI_TABLE_ID(AT(idcol)),
    CLI_OUTPUT(AT(out)),
};
static const cli_spec predict_spec = {
    .options = predict_options, .noptions = CLI_NOPTIONS(predict_options), .positional = {AT(input)},
    .missing = "missing the customers.csv argument", .help = predict_help,
};
#undef AT

static int fit_model(const char *sub, const spend_args *a, const cli_table *t, churn_model **m)
{
    const double *x = cli_table_col(sub, t, a->fcol);
    const double *mv = x ? cli_table_col(sub, t, a->mcol) : NULL;
    const double *w = (mv && a->wcol) ? cli_table_col(sub, t, a->wcol) : NULL;
    if (!x || !mv || (a->wcol && !w))
        return CLI_EXIT_FAIL;
    churn_gammagamma_options o = CHURN_GAMMAGAMMA_OPTIONS_INIT;
    o.max_iter = (int)a->max_iter;
    int st = churn_gammagamma_fit(m, t->nrows, x, mv, w, &o);
    if (st == CHURN_ENOCONV)
        fprintf(stderr, "churn %s: warning: %s\n", sub, churn_last_error_message());
    else if (st)
        return cli_lib_fail(sub, "fitting", st);
    return CLI_EXIT_OK;
}

int cmd_fit_spend(int family, int argc, char **argv)
{
    static const char sub[] = "fit gammagamma";
    if (family != CHURN_FAMILY_GAMMAGAMMA)
        return cli_fail(sub, "family '%s' is not a spend model", churn_family_name(family));
    spend_args a = {.fcol = "frequency", .mcol = "monetary_value"};
    int rc = cli_parse(&fit_spec, sub, argc, argv, &a);
    if (rc != CLI_CONTINUE)
        return rc;
    cli_table t;
    double unit = 0;
    if (cli_table_read(sub, a.input, a.idcol, &t))
        return CLI_EXIT_FAIL;
    churn_model *m = NULL;
    rc = cli_table_unit(sub, a.input, &t, a.unit, &unit);
    if (!rc)
        rc = fit_model(sub, &a, &t, &m);
    if (!rc && unit > 0)
        churn_model_set_time_unit(m, unit); /* recorded for reference; spend has no unit */
    if (!rc && a.json)
        rc = cli_print_json(sub, fit_json(m),
                            JSON_INDENT(2) | JSON_REAL_PRECISION(12) | JSON_PRESERVE_ORDER);
    else if (!rc)
        fit_print(stdout, m);
    if (!rc)
        rc = cli_save_model(sub, m, a.out);
    if (!rc)
        rc = churn_model_converged(m) ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    churn_model_free(m);
    cli_table_free(&t);
    return rc;
}

static int write_scores(const char *sub, const cli_table *t, const double *spend,
                        const char *out)
{
    FILE *f = cli_open_out(sub, out);
    if (!f)
        return CLI_EXIT_FAIL;
    fputs("customer_id,expected_spend\n", f);
    for (size_t i = 0; i < t->nrows; i++) {
        cli_put_field(f, t->ids[i]);
        fputc(',', f);
        cli_put_double(f, spend[i]);
        fputc('\n', f);
    }
    return cli_close_out(sub, f, out);
}

int cmd_predict_spend(churn_model *model, int argc, char **argv)
{
    static const char sub[] = "predict";
    spend_args a = {.fcol = "frequency", .mcol = "monetary_value"};
    int rc = cli_parse(&predict_spec, sub, argc, argv, &a);
    if (rc != CLI_CONTINUE)
        return rc;
    cli_table t;
    if (cli_table_read(sub, a.input, a.idcol, &t))
        return CLI_EXIT_FAIL;
    rc = CLI_EXIT_FAIL;
    double *spend = NULL;
    const double *x = cli_table_col(sub, &t, a.fcol);
    const double *mv = x ? cli_table_col(sub, &t, a.mcol) : NULL;
    if (!mv)
        goto done;
    spend = malloc((t.nrows ? t.nrows : 1) * sizeof *spend);
    if (!spend) {
        cli_fail(sub, "out of memory");
        goto done;
    }
    int st = churn_gammagamma_expected_spend(model, t.nrows, x, mv, spend);
    if (st) {
        cli_lib_fail(sub, "expected spend", st);
        goto done;
    }
    rc = write_scores(sub, &t, spend, a.out);
done:
    free(spend);
    cli_table_free(&t);
    return rc;
}
