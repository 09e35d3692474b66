/* `churn fit cox|weibull|exponential|loglogistic|lognormal` and `churn predict`
 * for survival models. */
#include "cli.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char fit_help[] =
    "usage: churn fit cox|weibull|exponential|loglogistic|lognormal customers.csv\n"
    "                 --duration D --event E --features a,b,... [options] [-o model.json]\n"
    "\n"
    "Fit a survival model of customer lifetimes on a customer table (one row per\n"
    "customer, a header row, a customer_id column):\n"
    "  cox          Cox proportional hazards (as R's coxph)\n"
    "  weibull, exponential, loglogistic, lognormal\n"
    "               accelerated failure time: log T = b0 + x'b + scale * W (as R's survreg)\n"
    "\n"
    "Options:\n"
    "  --duration COL     observed lifetime (>= 0; > 0 for AFT models), any time unit\n"
    "  --event COL        1 = churned at that time, 0 = still active (censored)\n"
    "  --features A,B,..  covariate columns (cox needs at least one)\n"
    "  --weights COL      case weights (default: none)\n"
    "  --ties T           cox: efron (default) or breslow\n"
    "  --l2 THETA         cox: ridge penalty THETA/2 * sum(b^2) (default 0)\n"
    "  --l2-scale         cox: scale the penalty by each feature's variance\n"
    "  --robust           cox: robust (sandwich) standard errors, one cluster per row\n"
    "  --max-iter N       Newton-Raphson iterations (default: 20 cox, 50 AFT)\n"
    "  --unit U           time unit of the durations: day, week, month, year or days\n"
    "                     (recorded in the model file)\n"
    "  --drop-missing     skip rows with an empty/NA value in a used column\n"
    "                     (default: fail naming the row)\n"
    "  --json             print the fit as JSON\n"
    "  -o, --output F     save the model file (JSON) to F\n"
    "  --help             this text\n"
    "\n"
    "Prints the coefficients with standard errors, z and p-values, the\n"
    "log-likelihoods, (cox) the likelihood-ratio, Wald and score tests and the\n"
    "concordance. Score customers with 'churn predict model.json customers.csv\n"
    "--horizon H'.\n";

static const char predict_help[] =
    "usage: churn predict model.json customers.csv --horizon H [-o scores.csv]\n"
    "\n"
    "Score customers with a survival model (cox, weibull, exponential, loglogistic,\n"
    "lognormal). The customer table needs the model's feature columns.\n"
    "Output columns: customer_id, p_churn (probability of churning before H),\n"
    "survival (S(H | x)), linear_predictor (cox: centred as R's predict(type='lp');\n"
    "AFT: location of log T), and for AFT models median (median lifetime) and\n"
    "mean_residual_life (expected remaining lifetime of a customer active at H).\n"
    "\n"
    "Options:\n"
    "  --horizon H      time horizon, in the unit of the fitting durations (required)\n"
    "  -o, --output F   output CSV (default: standard output)\n"
    "  --help           this text\n";

static const char *family_label(int f)
{
    switch (f) {
    case CHURN_FAMILY_COX:
        return "Cox proportional hazards";
    case CHURN_FAMILY_WEIBULL:
        return "Weibull AFT";
    case CHURN_FAMILY_EXPONENTIAL:
        return "exponential AFT";
    case CHURN_FAMILY_LOGLOGISTIC:
        return "log-logistic AFT";
    default:
        return "log-normal AFT";
    }
}

static int is_aft(int f)
{
    return f == CHURN_FAMILY_WEIBULL || f == CHURN_FAMILY_EXPONENTIAL ||
           f == CHURN_FAMILY_LOGLOGISTIC || f == CHURN_FAMILY_LOGNORMAL;
}

static double norm_p(double z) { return erfc(fabs(z) / sqrt(2.0)); }


static json_t *fit_json(const churn_model *m, int ties, int robust, double nev)
{
    json_t *o = json_object(), *coefs = json_array();
    int fam = churn_model_family(m);
    size_t k = churn_model_num_params(m);
    json_object_set_new(o, "family", json_string(churn_family_name(fam)));
    if (fam == CHURN_FAMILY_COX) {
        json_object_set_new(o, "ties", json_string(ties ? "breslow" : "efron"));
        json_object_set_new(o, "robust_se", json_boolean(robust));
    }
    json_object_set_new(o, "n", cli_json_number(churn_model_nobs(m)));
    json_object_set_new(o, "events", cli_json_number(nev));
    for (size_t j = 0; j < k; j++) {
        const char *name = churn_model_param_name(m, j);
        double v = NAN, se = NAN;
        churn_model_param(m, name, &v, &se);
        json_t *c = json_object();
        json_object_set_new(c, "term", json_string(name));
        json_object_set_new(c, "coef", cli_json_number(v));
        if (fam == CHURN_FAMILY_COX)
            json_object_set_new(c, "exp_coef", cli_json_number(exp(v)));
        json_object_set_new(c, "se", cli_json_number(se));
        json_object_set_new(c, "z", cli_json_number(v / se));
        json_object_set_new(c, "p", cli_json_number(norm_p(v / se)));
        json_array_append_new(coefs, c);
    }
    json_object_set_new(o, "coefficients", coefs);
    if (is_aft(fam)) {
        double ls = 0;
        if (churn_model_param(m, "Log(scale)", &ls, NULL) != CHURN_OK)
            ls = 0;
        json_object_set_new(o, "scale", cli_json_number(exp(ls)));
    }
    json_object_set_new(o, "loglik", cli_json_number(churn_model_loglik(m)));
    json_object_set_new(o, "loglik_null", cli_json_number(churn_surv_loglik_null(m)));
    if (fam == CHURN_FAMILY_COX) {
        static const char *const names[3] = {"likelihood_ratio", "wald", "score"};
        json_t *tests = json_object();
        for (int t = 0; t < 3; t++) {
            double st, df, p;
            if (churn_cox_test(m, t, &st, &df, &p) != CHURN_OK)
                continue;
            json_t *x = json_object();
            json_object_set_new(x, "statistic", cli_json_number(st));
            json_object_set_new(x, "df", cli_json_number(df));
            json_object_set_new(x, "p", cli_json_number(p));
            json_object_set_new(tests, names[t], x);
        }
        json_object_set_new(o, "tests", tests);
    }
    double c = NAN;
    churn_surv_concordance(m, &c);
    json_object_set_new(o, "concordance", cli_json_number(c));
    json_object_set_new(o, "converged", json_boolean(churn_model_converged(m)));
    json_object_set_new(o, "iterations", json_integer(churn_model_iterations(m)));
    json_object_set_new(o, "note", json_string(churn_model_note(m)));
    return o;
}

static void fit_print(FILE *f, const churn_model *m, int ties, int robust, double nev)
{
    int fam = churn_model_family(m);
    fprintf(f, "%s", family_label(fam));
    if (fam == CHURN_FAMILY_COX)
        fprintf(f, " (%s ties%s)", ties ? "Breslow" : "Efron", robust ? ", robust SEs" : "");
    fprintf(f, ": n = %.10g, events = %.10g\n", churn_model_nobs(m), nev);
    if (fam == CHURN_FAMILY_COX)
        fprintf(f, "%-20s %13s %13s %13s %9s %11s\n", "term", "coef", "exp(coef)", "se(coef)",
                "z", "p");
    else
        fprintf(f, "%-20s %13s %13s %9s %11s\n", "term", "value", "std.error", "z", "p");
    for (size_t j = 0; j < churn_model_num_params(m); j++) {
        const char *name = churn_model_param_name(m, j);
        double v = NAN, se = NAN;
        churn_model_param(m, name, &v, &se);
        if (fam == CHURN_FAMILY_COX)
            fprintf(f, "%-20s %13.6g %13.6g %13.6g %9.4f %11.4g\n", name, v, exp(v), se, v / se,
                    norm_p(v / se));
        else
            fprintf(f, "%-20s %13.6g %13.6g %9.4f %11.4g\n", name, v, se, v / se, norm_p(v / se));
    }
    if (is_aft(fam)) {
        double ls = 0;
        if (churn_model_param(m, "Log(scale)", &ls, NULL) != CHURN_OK)
            ls = 0;
        fprintf(f, "scale = %.6g\n", exp(ls));
    }
    fprintf(f, "log-likelihood %.6f (null model %.6f)\n", churn_model_loglik(m),
            churn_surv_loglik_null(m));
    if (fam == CHURN_FAMILY_COX) {
        static const char *const names[3] = {"likelihood ratio test", "Wald test",
                                             "score (log-rank) test"};
        for (int t = 0; t < 3; t++) {
            double st, df, p;
            if (churn_cox_test(m, t, &st, &df, &p) == CHURN_OK)
                fprintf(f, "%-22s %.4f on %.0f df, p = %.4g\n", names[t], st, df, p);
        }
    }
    double c;
    if (churn_surv_concordance(m, &c) == CHURN_OK)
        fprintf(f, "concordance %.6f\n", c);
    fprintf(f, "%s after %d iterations\n",
            churn_model_converged(m) ? "converged" : "NOT converged", churn_model_iterations(m));
    if (*churn_model_note(m))
        fprintf(f, "note: %s\n", churn_model_note(m));
}

typedef struct surv_args {
    const char *input, *out, *dcol, *ecol, *fcols, *wcol, *ties_s;
    double l2, unit, horizon;
    long max_iter;
    int json, l2_scale, drop, robust;
} surv_args;

#define AT(m) CLI_AT(surv_args, m)
#define OPT(flag, k, m) {.name = flag, .kind = k, .at = AT(m)}
static const cli_option fit_options[] = {
    OPT("--duration", CLI_STRING, dcol),
    OPT("--event", CLI_STRING, ecol),
    OPT("--features", CLI_STRING, fcols),
    OPT("--weights", CLI_STRING, wcol),
    OPT("--ties", CLI_STRING, ties_s),
    {.name = "--l2", .kind = CLI_DOUBLE, .at = AT(l2), .bounds = CLI_MIN, .min = 0,
     .range_msg = "option --l2: %g must be >= 0"},
    OPT("--l2-scale", CLI_FLAG, l2_scale),
    OPT("--robust", CLI_FLAG, robust),
    {.name = "--max-iter", .kind = CLI_LONG, .at = AT(max_iter), .bounds = CLI_MIN | CLI_MAX,
     .min = 1, .max = 10000, .range_msg = "option --max-iter: %ld is not in 1..10000"},
    OPT("--unit", CLI_UNIT, unit),
    OPT("--drop-missing", CLI_FLAG, drop),
    OPT("--json", CLI_FLAG, json),
    {.name = "--output", .alias = "-o", .kind = CLI_STRING, .at = AT(out)},
};
static const cli_option predict_options[] = {
    {.name = "--horizon", .kind = CLI_DOUBLE, .at = AT(horizon), .bounds = CLI_MIN, .min = 0,
     .range_msg = "option --horizon: %g must be >= 0"},
    {.name = "--output", .alias = "-o", .kind = CLI_STRING, .at = AT(out)},
};
#undef OPT
static const cli_spec fit_spec = {
    .options = fit_options, .noptions = CLI_NOPTIONS(fit_options), .positional = {AT(input)},
    .missing = "missing the customer table (customers.csv)", .help = fit_help,
};
static const cli_spec predict_spec = {
    .options = predict_options, .noptions = CLI_NOPTIONS(predict_options),
    .positional = {AT(input)}, .missing = "missing the customer table (customers.csv)",
    .help = predict_help,
};
#undef AT

int cmd_fit_survival(int family, int argc, char **argv)
{
    char sub[40];
    snprintf(sub, sizeof sub, "fit %s", churn_family_name(family));
    if (family != CHURN_FAMILY_COX && !is_aft(family))
        return cli_fail(sub, "family '%s' is not a survival model", churn_family_name(family));
    surv_args a = {0};
    int rc = cli_parse(&fit_spec, sub, argc, argv, &a);
    if (rc != CLI_CONTINUE)
        return rc;
    const char *input = a.input, *out = a.out, *dcol = a.dcol, *ecol = a.ecol, *wcol = a.wcol;
    const char *fcols = a.fcols, *ties_s = a.ties_s;
    double l2 = a.l2, unit = a.unit;
    long max_iter = a.max_iter;
    int json = a.json, l2_scale = a.l2_scale, drop = a.drop, robust = a.robust;
    if (!dcol || !ecol)
        return cli_usage_error(sub, "--duration and --event are required");
    int ties = CHURN_TIES_EFRON;
    if (ties_s) {
        if (family != CHURN_FAMILY_COX)
            return cli_usage_error(sub, "--ties applies to cox models only");
        if (strcmp(ties_s, "efron") == 0)
            ties = CHURN_TIES_EFRON;
        else if (strcmp(ties_s, "breslow") == 0)
            ties = CHURN_TIES_BRESLOW;
        else
            return cli_usage_error(sub, "option --ties: '%s' is not efron or breslow", ties_s);
    }
    if ((l2 > 0 || l2_scale || robust) && family != CHURN_FAMILY_COX)
        return cli_usage_error(sub, "--l2, --l2-scale and --robust apply to cox models only");
    size_t p = 0;
    char **fnames = NULL;
    if (fcols) {
        fnames = cli_split_list(fcols, &p);
        if (!fnames)
            return cli_fail(sub, "out of memory");
    }
    if (family == CHURN_FAMILY_COX && p == 0) {
        free(fnames);
        return cli_usage_error(sub, "--features: a cox model needs at least one feature column");
    }

    cli_table t;
    memset(&t, 0, sizeof t);
    rc = cli_table_read(sub, input, &t);
    if (rc) {
        free(fnames);
        return rc;
    }
    rc = CLI_EXIT_FAIL;
    double *dur = NULL, *ev = NULL, *w = NULL, *x = NULL;
    const double **fc = calloc(p ? p : 1, sizeof *fc);
    const double *dsrc = cli_table_col(sub, &t, dcol), *esrc = dsrc ? cli_table_col(sub, &t, ecol)
                                                                    : NULL;
    const double *wsrc = (esrc && wcol) ? cli_table_col(sub, &t, wcol) : NULL;
    churn_model *m = NULL;
    if (!fc || !dsrc || !esrc || (wcol && !wsrc))
        goto done;
    for (size_t j = 0; j < p; j++)
        if (!(fc[j] = cli_table_col(sub, &t, fnames[j])))
            goto done;
    size_t n = t.nrows;
    dur = malloc((n ? n : 1) * sizeof *dur);
    ev = malloc((n ? n : 1) * sizeof *ev);
    w = wsrc ? malloc((n ? n : 1) * sizeof *w) : NULL;
    x = malloc((n ? n : 1) * (p ? p : 1) * sizeof *x);
    if (!dur || !ev || (wsrc && !w) || !x) {
        cli_fail(sub, "out of memory");
        goto done;
    }
    size_t m_rows = 0, dropped = 0;
    for (size_t i = 0; i < n; i++) {
        const char *bad = NULL;
        if (isnan(dsrc[i]))
            bad = dcol;
        else if (isnan(esrc[i]))
            bad = ecol;
        else if (wsrc && isnan(wsrc[i]))
            bad = wcol;
        for (size_t j = 0; j < p && !bad; j++)
            if (isnan(fc[j][i]))
                bad = fnames[j];
        if (!bad && (dsrc[i] < 0 || (is_aft(family) && dsrc[i] <= 0))) {
            cli_fail(sub, "%s: customer '%s' (row %zu): column '%s' = %g must be %s", input,
                     t.ids[i], i + 1, dcol, dsrc[i], is_aft(family) ? "> 0 (AFT models use log "
                     "time)" : ">= 0");
            goto done;
        }
        if (!bad && esrc[i] != 0 && esrc[i] != 1) {
            cli_fail(sub, "%s: customer '%s' (row %zu): column '%s' = %g is not 0 (active) or 1 "
                     "(churned)", input, t.ids[i], i + 1, ecol, esrc[i]);
            goto done;
        }
        if (!bad && wsrc && !(wsrc[i] >= 0)) {
            cli_fail(sub, "%s: customer '%s' (row %zu): column '%s' = %g must be >= 0", input,
                     t.ids[i], i + 1, wcol, wsrc[i]);
            goto done;
        }
        if (bad) {
            if (drop) {
                dropped++;
                continue;
            }
            cli_fail(sub, "%s: customer '%s' (row %zu): column '%s' is empty or NA (use "
                     "--drop-missing to skip such rows)", input, t.ids[i], i + 1, bad);
            goto done;
        }
        dur[m_rows] = dsrc[i];
        ev[m_rows] = esrc[i];
        if (w)
            w[m_rows] = wsrc[i];
        for (size_t j = 0; j < p; j++)
            x[m_rows * p + j] = fc[j][i];
        m_rows++;
    }
    if (dropped)
        fprintf(stderr, "churn %s: skipped %zu row(s) with missing values\n", sub, dropped);
    int st;
    if (family == CHURN_FAMILY_COX) {
        churn_cox_options o;
        churn_cox_options_init(&o);
        o.ties = ties;
        o.l2_penalty = l2;
        o.l2_scale = l2_scale;
        o.robust = robust;
        if (max_iter)
            o.max_iter = (int)max_iter;
        st = churn_cox_fit(&m, m_rows, p, x, (const char *const *)fnames, dur, ev, w, &o);
    } else {
        churn_aft_options o;
        churn_aft_options_init(&o);
        if (max_iter)
            o.max_iter = (int)max_iter;
        st = churn_aft_fit(&m, family, m_rows, p, x, (const char *const *)fnames, dur, ev, w, &o);
    }
    if (st == CHURN_ENOCONV && m) {
        fprintf(stderr, "churn %s: warning: %s\n", sub, churn_last_error_message());
    } else if (st) {
        /* the library names rows by 0-based index among the rows used */
        cli_lib_fail(sub, "fitting", st);
        goto done;
    }
    if (unit > 0)
        churn_model_set_time_unit(m, unit);
    double nev = churn_surv_num_events(m);
    if (json) {
        json_t *j = fit_json(m, ties, robust, nev);
        if (!j || json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) != 0) {
            json_decref(j);
            cli_fail(sub, "cannot write JSON");
            goto done;
        }
        fputc('\n', stdout);
        json_decref(j);
    } else {
        fit_print(stdout, m, ties, robust, nev);
    }
    if (out) {
        st = churn_model_save(m, out);
        if (st) {
            cli_lib_fail(sub, "saving the model", st);
            goto done;
        }
    }
    rc = CLI_EXIT_OK;
done:
    churn_model_free(m);
    free(dur);
    free(ev);
    free(w);
    free(x);
    free(fc);
    free(fnames);
    cli_table_free(&t);
    return rc;
}

int cmd_predict_survival(churn_model *model, int argc, char **argv)
{
    static const char sub[] = "predict";
    int fam = churn_model_family(model);
    if (fam != CHURN_FAMILY_COX && !is_aft(fam))
        return cli_fail(sub, "a '%s' model is not a survival model", churn_family_name(fam));
    surv_args a = {.horizon = NAN};
    int rc = cli_parse(&predict_spec, sub, argc, argv, &a);
    if (rc != CLI_CONTINUE)
        return rc;
    const char *input = a.input, *out = a.out;
    double horizon = a.horizon;
    if (isnan(horizon))
        return cli_usage_error(sub, "--horizon H is required for a '%s' model",
                               churn_family_name(fam));
    cli_table t;
    memset(&t, 0, sizeof t);
    rc = cli_table_read(sub, input, &t);
    if (rc)
        return rc;
    rc = CLI_EXIT_FAIL;
    size_t p = churn_model_num_features(model), n = t.nrows;
    const double **fc = calloc(p ? p : 1, sizeof *fc);
    double *x = malloc((n ? n : 1) * (p ? p : 1) * sizeof *x);
    double *surv = malloc((n ? n : 1) * sizeof *surv), *pc = malloc((n ? n : 1) * sizeof *pc);
    double *lp = malloc((n ? n : 1) * sizeof *lp), *med = NULL, *mrl = NULL;
    int aft = is_aft(fam);
    if (aft) {
        med = malloc((n ? n : 1) * sizeof *med);
        mrl = malloc((n ? n : 1) * sizeof *mrl);
    }
    FILE *f = NULL;
    if (!fc || !x || !surv || !pc || !lp || (aft && (!med || !mrl))) {
        cli_fail(sub, "out of memory");
        goto done;
    }
    for (size_t j = 0; j < p; j++)
        if (!(fc[j] = cli_table_col(sub, &t, churn_model_feature_name(model, j))))
            goto done;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < p; j++) {
            double v = fc[j][i];
            if (isnan(v)) {
                cli_fail(sub, "%s: customer '%s' (row %zu): feature '%s' is empty or NA", input,
                         t.ids[i], i + 1, churn_model_feature_name(model, j));
                goto done;
            }
            x[i * p + j] = v;
        }
    int st = churn_surv_predict(model, n, x, horizon, surv, pc, lp);
    if (!st && aft)
        st = churn_surv_median(model, n, x, med);
    if (!st && aft)
        st = churn_surv_mean_residual_life(model, n, x, horizon, mrl);
    if (st) {
        cli_lib_fail(sub, "scoring", st);
        goto done;
    }
    f = cli_open_out(sub, out);
    if (!f)
        goto done;
    fprintf(f, "customer_id,p_churn,survival,linear_predictor%s\n",
            aft ? ",median,mean_residual_life" : "");
    for (size_t i = 0; i < n; i++) {
        cli_put_field(f, t.ids[i]);
        fputc(',', f);
        cli_put_double(f, pc[i]);
        fputc(',', f);
        cli_put_double(f, surv[i]);
        fputc(',', f);
        cli_put_double(f, lp[i]);
        if (aft) {
            fputc(',', f);
            cli_put_double(f, med[i]);
            fputc(',', f);
            if (isinf(mrl[i]))
                fputs("inf", f);
            else
                cli_put_double(f, mrl[i]);
        }
        fputc('\n', f);
    }
    rc = cli_close_out(sub, f, out);
done:
    free(fc);
    free(x);
    free(surv);
    free(pc);
    free(lp);
    free(med);
    free(mrl);
    cli_table_free(&t);
    return rc;
}
