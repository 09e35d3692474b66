/* `churn fit cox|weibull|exponential|loglogistic|lognormal` and `churn predict`
 * for survival models.
 *
 * fit: options -> table -> columns -> rows (cli_lifetime_row) -> fit -> print and save,
 * over one surv_fit; predict: table -> features -> scores -> CSV, over one surv_pred.
 * Calls cli.c and the public API only. */
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
    "  --id COL           the customer id column (default: customer_id or id;\n"
    "                     'none' or no such column: rows numbered 1..n)\n"
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
    "A median or mean_residual_life of 'inf': not reached (cox), no finite mean\n"
    "(loglogistic with scale >= 1), or beyond the largest double (1.8e308 units).\n"
    "A customer whose scores are not finite numbers is left out (a note names the\n"
    "first; --rejects lists them all); the others are scored.\n"
    "\n"
    "Options:\n"
    "  --horizon H      time horizon, in the unit of the fitting durations (required)\n"
    "  --unit U         time unit of a table (or model) that declares none; the\n"
    "                   model's and the table's units must agree\n"
    "  --id COL         the customer id column (default: customer_id or id;\n"
    "                   'none' or no such column: rows numbered 1..n)\n"
    "  --rejects F      the customers left out, as CSV: customer_id,reason\n"
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
    const char *input, *out, *dcol, *ecol, *fcols, *wcol, *ties_s, *idcol, *rejects;
    double l2, unit, horizon;
    long max_iter;
    int json, l2_scale, drop, robust;
} surv_args;

#define AT(m) CLI_AT(surv_args, m)
static const cli_option fit_options[] = {
    CLI_OPT("--duration", CLI_STRING, AT(dcol)),
    CLI_OPT("--event", CLI_STRING, AT(ecol)),
    CLI_OPT("--features", CLI_STRING, AT(fcols)),
    CLI_OPT("--weights", CLI_STRING, AT(wcol)),
    CLI_OPT("--ties", CLI_STRING, AT(ties_s)),
    CLI_NONNEG("--l2", AT(l2)),
    CLI_OPT("--l2-scale", CLI_FLAG, AT(l2_scale)),
    CLI_OPT("--robust", CLI_FLAG, AT(robust)),
    CLI_LONG_IN("--max-iter", AT(max_iter), 1, 10000),
    CLI_OPT("--unit", CLI_UNIT, AT(unit)),
    CLI_OPT("--drop-missing", CLI_FLAG, AT(drop)),
    CLI_OPT("--json", CLI_FLAG, AT(json)),
    CLI_TABLE_ID(AT(idcol)),
    CLI_OUTPUT(AT(out)),
};
static const cli_option predict_options[] = {
    CLI_NONNEG("--horizon", AT(horizon)),
    CLI_OPT("--unit", CLI_UNIT, AT(unit)),
    CLI_TABLE_ID(AT(idcol)),
    CLI_OPT("--rejects", CLI_STRING, AT(rejects)),
    CLI_OUTPUT(AT(out)),
};
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

/* What the steps of `churn fit cox|AFT` share. The steps print their own errors. */
typedef struct surv_fit {
    char sub[40];
    const surv_args *a;
    int family, ties;
    char **fnames; /* the --features list, p names */
    size_t p;
    cli_table t;
    const double *dsrc, *esrc, *wsrc, **fc; /* the table's columns */
    double *dur, *ev, *w, *x;               /* the rows used; x is row-major, m_rows * p */
    size_t m_rows;
    double unit;                            /* the durations' unit (table or --unit), 0 = unknown */
    churn_model *m;
} surv_fit;

/* Options that need each other or the family, and the feature list. */
static int check_fit_options(surv_fit *s)
{
    const surv_args *a = s->a;
    if (!a->dcol || !a->ecol)
        return cli_usage_error(s->sub, "--duration and --event are required");
    s->ties = CHURN_TIES_EFRON;
    if (a->ties_s) {
        if (s->family != CHURN_FAMILY_COX)
            return cli_usage_error(s->sub, "--ties applies to cox models only");
        if (strcmp(a->ties_s, "efron") == 0)
            s->ties = CHURN_TIES_EFRON;
        else if (strcmp(a->ties_s, "breslow") == 0)
            s->ties = CHURN_TIES_BRESLOW;
        else
            return cli_usage_error(s->sub, "option --ties: '%s' is not efron or breslow",
                                   a->ties_s);
    }
    if ((a->l2 > 0 || a->l2_scale || a->robust) && s->family != CHURN_FAMILY_COX)
        return cli_usage_error(s->sub, "--l2, --l2-scale and --robust apply to cox models only");
    if (a->fcols && !(s->fnames = cli_split_list(a->fcols, &s->p)))
        return cli_fail(s->sub, "out of memory");
    if (s->family == CHURN_FAMILY_COX && s->p == 0)
        return cli_usage_error(s->sub, "--features: a cox model needs at least one feature "
                               "column");
    return CLI_EXIT_OK;
}

/* The used columns of the table (each lookup names a missing one) and room for the rows. */
static int find_columns(surv_fit *s)
{
    const surv_args *a = s->a;
    const cli_table *t = &s->t;
    s->fc = calloc(s->p ? s->p : 1, sizeof *s->fc);
    s->dsrc = cli_table_col(s->sub, t, a->dcol);
    s->esrc = s->dsrc ? cli_table_col(s->sub, t, a->ecol) : NULL;
    s->wsrc = (s->esrc && a->wcol) ? cli_table_col(s->sub, t, a->wcol) : NULL;
    if (!s->fc || !s->dsrc || !s->esrc || (a->wcol && !s->wsrc))
        return CLI_EXIT_FAIL;
    for (size_t j = 0; j < s->p; j++)
        if (!(s->fc[j] = cli_table_col(s->sub, t, s->fnames[j])))
            return CLI_EXIT_FAIL;
    size_t n = t->nrows, p = s->p;
    s->dur = malloc((n ? n : 1) * sizeof *s->dur);
    s->ev = malloc((n ? n : 1) * sizeof *s->ev);
    s->w = s->wsrc ? malloc((n ? n : 1) * sizeof *s->w) : NULL;
    s->x = malloc((n ? n : 1) * (p ? p : 1) * sizeof *s->x);
    if (!s->dur || !s->ev || (s->wsrc && !s->w) || !s->x)
        return cli_fail(s->sub, "out of memory");
    return CLI_EXIT_OK;
}

/* The first feature with a missing value in row i, or NULL. */
static const char *missing_feature(const surv_fit *s, size_t i)
{
    for (size_t j = 0; j < s->p; j++)
        if (isnan(s->fc[j][i]))
            return s->fnames[j];
    return NULL;
}

/* The rows used: checked, without missing values (skipped with --drop-missing). */
static int gather_rows(surv_fit *s)
{
    const surv_args *a = s->a;
    size_t p = s->p, dropped = 0;
    int aft = is_aft(s->family);
    const cli_lifetime_cols c = {.input = a->input, .t = &s->t, .dcol = a->dcol, .ecol = a->ecol,
                                 .wcol = a->wcol, .dur = s->dsrc, .ev = s->esrc, .w = s->wsrc,
                                 .drop = a->drop, .positive = aft,
                                 .dur_rule = aft ? "> 0 (AFT models use log time)" : ">= 0"};
    for (size_t i = 0; i < s->t.nrows; i++) {
        int bad = cli_lifetime_row(s->sub, &c, i, missing_feature(s, i));
        if (bad < 0) {
            dropped++;
            continue;
        }
        if (bad)
            return bad;
        s->dur[s->m_rows] = s->dsrc[i];
        s->ev[s->m_rows] = s->esrc[i];
        if (s->w)
            s->w[s->m_rows] = s->wsrc[i];
        for (size_t j = 0; j < p; j++)
            s->x[s->m_rows * p + j] = s->fc[j][i];
        s->m_rows++;
    }
    if (dropped)
        fprintf(stderr, "churn %s: skipped %zu row(s) with missing values\n", s->sub, dropped);
    return CLI_EXIT_OK;
}

/* Cox or AFT fit; not converging is a warning. */
static int fit_model(surv_fit *s)
{
    const surv_args *a = s->a;
    const char *const *names = (const char *const *)s->fnames;
    int st;
    if (s->family == CHURN_FAMILY_COX) {
        churn_cox_options o;
        churn_cox_options_init(&o);
        o.ties = s->ties;
        o.l2_penalty = a->l2;
        o.l2_scale = a->l2_scale;
        o.robust = a->robust;
        if (a->max_iter)
            o.max_iter = (int)a->max_iter;
        st = churn_cox_fit(&s->m, s->m_rows, s->p, s->x, names, s->dur, s->ev, s->w, &o);
    } else {
        churn_aft_options o;
        churn_aft_options_init(&o);
        if (a->max_iter)
            o.max_iter = (int)a->max_iter;
        st = churn_aft_fit(&s->m, s->family, s->m_rows, s->p, s->x, names, s->dur, s->ev, s->w,
                           &o);
    }
    if (st == CHURN_ENOCONV && s->m)
        fprintf(stderr, "churn %s: warning: %s\n", s->sub, churn_last_error_message());
    else if (st) /* the library names rows by 0-based index among the rows used */
        return cli_lib_fail(s->sub, "fitting", st);
    if (s->unit > 0)
        churn_model_set_time_unit(s->m, s->unit);
    return CLI_EXIT_OK;
}

/* The fit as text or JSON on standard output, then the model file with -o. */
static int print_and_save(const surv_fit *s)
{
    const surv_args *a = s->a;
    double nev = churn_surv_num_events(s->m);
    if (a->json) {
        json_t *j = fit_json(s->m, s->ties, a->robust, nev);
        if (!j || json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) != 0) {
            json_decref(j);
            return cli_fail(s->sub, "cannot write JSON");
        }
        fputc('\n', stdout);
        json_decref(j);
    } else {
        fit_print(stdout, s->m, s->ties, a->robust, nev);
    }
    return cli_save_model(s->sub, s->m, a->out);
}

int cmd_fit_survival(int family, int argc, char **argv)
{
    surv_fit s;
    memset(&s, 0, sizeof s);
    snprintf(s.sub, sizeof s.sub, "fit %s", churn_family_name(family));
    if (family != CHURN_FAMILY_COX && !is_aft(family))
        return cli_fail(s.sub, "family '%s' is not a survival model", churn_family_name(family));
    surv_args a = {0};
    s.a = &a;
    s.family = family;
    int rc = cli_parse(&fit_spec, s.sub, argc, argv, &a);
    if (rc != CLI_CONTINUE)
        return rc;
    if (!(rc = check_fit_options(&s)) && !(rc = cli_table_read(s.sub, a.input, a.idcol, &s.t))) {
        if (!(rc = cli_table_unit(s.sub, a.input, &s.t, a.unit, &s.unit)) &&
            !(rc = find_columns(&s)) && !(rc = gather_rows(&s)) && !(rc = fit_model(&s)))
            rc = print_and_save(&s);
        cli_table_free(&s.t);
    }
    churn_model_free(s.m);
    free(s.dur);
    free(s.ev);
    free(s.w);
    free(s.x);
    free(s.fc);
    free(s.fnames);
    return rc;
}

/* What the steps of `churn predict` with a survival model share. */
typedef struct surv_pred {
    const churn_model *model;
    const surv_args *a;
    int aft;
    cli_table t;
    size_t n, p;
    const double **fc;
    double *x;                          /* row-major features, n * p */
    double *surv, *pc, *lp, *med, *mrl; /* the scores; med and mrl for AFT models */
    char **why;                         /* per row: why it is left out, or NULL */
    size_t nbad;
} surv_pred;

static const char predict_sub[] = "predict";

static int alloc_pred(surv_pred *s)
{
    size_t n = s->n, p = s->p;
    s->fc = calloc(p ? p : 1, sizeof *s->fc);
    s->x = malloc((n ? n : 1) * (p ? p : 1) * sizeof *s->x);
    s->surv = malloc((n ? n : 1) * sizeof *s->surv);
    s->pc = malloc((n ? n : 1) * sizeof *s->pc);
    s->lp = malloc((n ? n : 1) * sizeof *s->lp);
    s->why = calloc(n ? n : 1, sizeof *s->why);
    if (s->aft) {
        s->med = malloc((n ? n : 1) * sizeof *s->med);
        s->mrl = malloc((n ? n : 1) * sizeof *s->mrl);
    }
    if (!s->fc || !s->x || !s->surv || !s->pc || !s->lp || !s->why ||
        (s->aft && (!s->med || !s->mrl)))
        return cli_fail(predict_sub, "out of memory");
    return CLI_EXIT_OK;
}

/* The model's features of every row, none missing. */
static int gather_features(surv_pred *s)
{
    size_t n = s->n, p = s->p;
    for (size_t j = 0; j < p; j++)
        if (!(s->fc[j] = cli_table_col(predict_sub, &s->t,
                                       churn_model_feature_name(s->model, j))))
            return CLI_EXIT_FAIL;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < p; j++) {
            double v = s->fc[j][i];
            if (isnan(v))
                return cli_fail(predict_sub, "%s: customer '%s' (row %zu): feature '%s' is "
                                "empty or NA", s->a->input, s->t.ids[i], i + 1,
                                churn_model_feature_name(s->model, j));
            s->x[i * p + j] = v;
        }
    return CLI_EXIT_OK;
}

/* P(churn), survival and linear predictor; for AFT models the median and the mean
 * residual life, of rows [lo, lo + cnt). */
static int predict_range(surv_pred *s, size_t lo, size_t cnt, const char **step)
{
    double h = s->a->horizon;
    const double *x = s->x + lo * s->p;
    *step = "scoring";
    int st = churn_surv_predict(s->model, cnt, x, h, s->surv + lo, s->pc + lo, s->lp + lo);
    if (!st && s->aft) {
        *step = "median";
        st = churn_surv_median(s->model, cnt, x, s->med + lo);
    }
    if (!st && s->aft) {
        *step = "mean residual life";
        st = churn_surv_mean_residual_life(s->model, cnt, x, h, s->mrl + lo);
    }
    return st;
}

static int set_why(surv_pred *s, size_t i, const char *fmt, const char *a, double v)
{
    char buf[600];
    snprintf(buf, sizeof buf, fmt, a, v);
    if (!(s->why[i] = strdup(buf)))
        return cli_fail(predict_sub, "out of memory");
    s->nbad++;
    return CLI_EXIT_OK;
}

/* Every row; a row the library refuses (the vectorised call fails: each row again on
 * its own) or whose p_churn, survival or linear predictor is not finite, or whose
 * median or mean residual life is NaN, is left out with its reason. A median or mean
 * residual life of +inf is written 'inf' (docs/reliability.md). */
static int predict_rows(surv_pred *s)
{
    const char *step;
    int st = predict_range(s, 0, s->n, &step);
    if (st == CHURN_ENOMEM)
        return cli_lib_fail(predict_sub, step, st);
    for (size_t i = 0; st && i < s->n; i++) {
        int si = predict_range(s, i, 1, &step);
        if (si == CHURN_ENOMEM)
            return cli_lib_fail(predict_sub, step, si);
        if (si) {
            char buf[600];
            char m1[500];
            snprintf(buf, sizeof buf, "%s: %s", step,
                     cli_one_row_message(churn_last_error_message(), m1, sizeof m1));
            if (set_why(s, i, "%s", buf, 0))
                return CLI_EXIT_FAIL;
        }
    }
    for (size_t i = 0; i < s->n; i++) {
        if (s->why[i])
            continue;
        const char *col = !isfinite(s->pc[i])     ? "p_churn"
                          : !isfinite(s->surv[i]) ? "survival"
                          : !isfinite(s->lp[i])   ? "linear_predictor"
                          : s->aft && isnan(s->med[i]) ? "median"
                          : s->aft && isnan(s->mrl[i]) ? "mean_residual_life"
                                                       : NULL;
        if (!col)
            continue;
        double v = !strcmp(col, "p_churn") ? s->pc[i] : !strcmp(col, "survival") ? s->surv[i]
                   : !strcmp(col, "linear_predictor") ? s->lp[i]
                   : !strcmp(col, "median") ? s->med[i] : s->mrl[i];
        if (set_why(s, i, "%s is not a finite number (%g): a coefficient or feature beyond "
                    "what a double holds", col, v))
            return CLI_EXIT_FAIL;
    }
    if (s->nbad == s->n && s->n) {
        for (size_t i = 0; i < s->n; i++)
            if (s->why[i])
                return cli_fail(predict_sub, "%s: no customer could be scored; customer '%s' "
                                "(row %zu): %s", s->a->input, s->t.ids[i], i + 1, s->why[i]);
    }
    return CLI_EXIT_OK;
}

/* A median or mean residual life: +inf as 'inf' (not reached, or beyond a double). */
static void put_time(FILE *f, double v)
{
    if (isinf(v) && v > 0)
        fputs("inf", f);
    else
        cli_put_double(f, v);
}

static int write_predictions(const surv_pred *s)
{
    cli_rejects rj;
    if (cli_rejects_open(predict_sub, &rj, s->a->rejects))
        return CLI_EXIT_FAIL;
    FILE *f = cli_open_out(predict_sub, s->a->out);
    if (!f) {
        cli_rejects_close(predict_sub, &rj, s->n, 1, 0);
        return CLI_EXIT_FAIL;
    }
    fprintf(f, "customer_id,p_churn,survival,linear_predictor%s\n",
            s->aft ? ",median,mean_residual_life" : "");
    for (size_t i = 0; i < s->n; i++) {
        if (s->why[i]) {
            cli_reject(&rj, s->t.ids[i], "row %zu: %s", i + 1, s->why[i]);
            continue;
        }
        cli_put_field(f, s->t.ids[i]);
        fputc(',', f);
        cli_put_double(f, s->pc[i]);
        fputc(',', f);
        cli_put_double(f, s->surv[i]);
        fputc(',', f);
        cli_put_double(f, s->lp[i]);
        if (s->aft) {
            fputc(',', f);
            put_time(f, s->med[i]);
            fputc(',', f);
            put_time(f, s->mrl[i]);
        }
        fputc('\n', f);
    }
    int rc = cli_close_out(predict_sub, f, s->a->out);
    int rc2 = cli_rejects_close(predict_sub, &rj, s->n, 0, rc == CLI_EXIT_OK);
    return rc ? rc : rc2;
}

int cmd_predict_survival(churn_model *model, int argc, char **argv)
{
    int fam = churn_model_family(model);
    if (fam != CHURN_FAMILY_COX && !is_aft(fam))
        return cli_fail(predict_sub, "a '%s' model is not a survival model",
                        churn_family_name(fam));
    surv_args a = {.horizon = NAN};
    int rc = cli_parse(&predict_spec, predict_sub, argc, argv, &a);
    if (rc != CLI_CONTINUE)
        return rc;
    if (isnan(a.horizon))
        return cli_usage_error(predict_sub, "--horizon H is required for a '%s' model",
                               churn_family_name(fam));
    surv_pred s;
    memset(&s, 0, sizeof s);
    s.model = model;
    s.a = &a;
    s.aft = is_aft(fam);
    if ((rc = cli_table_read(predict_sub, a.input, a.idcol, &s.t)))
        return rc;
    double unit = 0;
    if ((rc = cli_table_unit(predict_sub, a.input, &s.t, a.unit, &unit)) ||
        (rc = cli_check_model_unit(predict_sub, model, unit, a.unit, -1))) {
        cli_table_free(&s.t);
        return rc;
    }
    s.n = s.t.nrows;
    s.p = churn_model_num_features(model);
    if (!(rc = alloc_pred(&s)) && !(rc = gather_features(&s)) && !(rc = predict_rows(&s)))
        rc = write_predictions(&s);
    free(s.fc);
    free(s.x);
    free(s.surv);
    free(s.pc);
    free(s.lp);
    free(s.med);
    free(s.mrl);
    for (size_t i = 0; s.why && i < s.n; i++)
        free(s.why[i]);
    free(s.why);
    cli_table_free(&s.t);
    return rc;
}
