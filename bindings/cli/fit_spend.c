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

int cmd_fit_spend(int family, int argc, char **argv)
{
    static const char sub[] = "fit gammagamma";
    const char *input = NULL, *out = NULL, *fcol = "frequency", *mcol = "monetary_value";
    const char *wcol = NULL;
    long max_iter = 0;
    int json = 0;
    if (family != CHURN_FAMILY_GAMMAGAMMA)
        return cli_fail(sub, "family '%s' is not a spend model", churn_family_name(family));
    cli_args a;
    cli_args_init(&a, argc, argv, 1, sub);
    while (cli_next(&a)) {
        if (cli_flag(&a, "--help") || cli_flag(&a, "-h")) {
            fputs(fit_help, stdout);
            return CLI_EXIT_OK;
        } else if (cli_is(&a, "--frequency")) {
            cli_string(&a, &fcol);
        } else if (cli_is(&a, "--monetary")) {
            cli_string(&a, &mcol);
        } else if (cli_is(&a, "--weights")) {
            cli_string(&a, &wcol);
        } else if (cli_is(&a, "--max-iter")) {
            if (!cli_long(&a, &max_iter) && (max_iter < 1 || max_iter > 1000000)) {
                return cli_usage_error(sub, "option --max-iter: %ld is not in 1..1000000",
                                       max_iter);
            }
        } else if (cli_flag(&a, "--json")) {
            json = 1;
        } else if (cli_is(&a, "-o") || cli_is(&a, "--output")) {
            cli_string(&a, &out);
        } else if (cli_positional(&a) && !input) {
            input = a.value;
        } else {
            return cli_unknown(&a);
        }
    }
    if (a.error)
        return CLI_EXIT_USAGE;
    if (!input)
        return cli_usage_error(sub, "missing the customers.csv argument");

    cli_table t;
    if (cli_table_read(sub, input, &t))
        return CLI_EXIT_FAIL;
    int rc = CLI_EXIT_FAIL;
    churn_model *m = NULL;
    const double *x = cli_table_col(sub, &t, fcol);
    const double *mv = x ? cli_table_col(sub, &t, mcol) : NULL;
    const double *w = (mv && wcol) ? cli_table_col(sub, &t, wcol) : NULL;
    if (!x || !mv || (wcol && !w))
        goto done;
    churn_gammagamma_options o = CHURN_GAMMAGAMMA_OPTIONS_INIT;
    o.max_iter = (int)max_iter;
    int st = churn_gammagamma_fit(&m, t.nrows, x, mv, w, &o);
    if (st == CHURN_ENOCONV) {
        fprintf(stderr, "churn %s: warning: %s\n", sub, churn_last_error_message());
    } else if (st) {
        cli_lib_fail(sub, "fitting", st);
        goto done;
    }
    if (json) {
        json_t *j = fit_json(m);
        if (!j) {
            cli_fail(sub, "out of memory");
            goto done;
        }
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(12) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(j);
    } else {
        fit_print(stdout, m);
    }
    if (out) {
        st = churn_model_save(m, out);
        if (st) {
            cli_lib_fail(sub, "saving the model", st);
            goto done;
        }
    }
    rc = churn_model_converged(m) ? CLI_EXIT_OK : CLI_EXIT_FAIL;
done:
    churn_model_free(m);
    cli_table_free(&t);
    return rc;
}

int cmd_predict_spend(churn_model *model, int argc, char **argv)
{
    static const char sub[] = "predict";
    const char *input = NULL, *out = NULL, *fcol = "frequency", *mcol = "monetary_value";
    cli_args a;
    cli_args_init(&a, argc, argv, 1, sub);
    while (cli_next(&a)) {
        if (cli_flag(&a, "--help") || cli_flag(&a, "-h")) {
            fputs(predict_help, stdout);
            return CLI_EXIT_OK;
        } else if (cli_is(&a, "--frequency")) {
            cli_string(&a, &fcol);
        } else if (cli_is(&a, "--monetary")) {
            cli_string(&a, &mcol);
        } else if (cli_is(&a, "-o") || cli_is(&a, "--output")) {
            cli_string(&a, &out);
        } else if (cli_positional(&a) && !input) {
            input = a.value;
        } else {
            return cli_unknown(&a);
        }
    }
    if (a.error)
        return CLI_EXIT_USAGE;
    if (!input)
        return cli_usage_error(sub, "missing the customers.csv argument");
    cli_table t;
    if (cli_table_read(sub, input, &t))
        return CLI_EXIT_FAIL;
    int rc = CLI_EXIT_FAIL;
    double *spend = NULL;
    const double *x = cli_table_col(sub, &t, fcol);
    const double *mv = x ? cli_table_col(sub, &t, mcol) : NULL;
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
    FILE *f = cli_open_out(sub, out);
    if (!f)
        goto done;
    fputs("customer_id,expected_spend\n", f);
    for (size_t i = 0; i < t.nrows; i++) {
        cli_put_field(f, t.ids[i]);
        fputc(',', f);
        cli_put_double(f, spend[i]);
        fputc('\n', f);
    }
    rc = cli_close_out(sub, f, out);
done:
    free(spend);
    cli_table_free(&t);
    return rc;
}
