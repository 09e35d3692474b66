/* `churn fit logit` and `churn predict` for logistic-regression churn models. */
#include "cli.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char fit_help[] =
    "usage: churn fit logit customers.csv --label COL [--features a,b,c] [options]\n"
    "                       [-o model.json]\n"
    "\n"
    "Logistic regression of a 0/1 churn label on numeric columns of a customer\n"
    "table (as written by 'churn features'; the first row is a header and the\n"
    "customer_id column names the rows). Prints the coefficient table.\n"
    "\n"
    "Options:\n"
    "  --label COL            label column, 1 = churned, 0 = active (default: churned)\n"
    "  --features a,b,c       feature columns (default: every column except the id,\n"
    "                         the label and the weights)\n"
    "  --penalty P            none (default), l2, l1 or elasticnet\n"
    "  --lambda X             penalty strength on glmnet's scale: the objective is\n"
    "                         mean weighted deviance/2 + X*(alpha*|b|_1 + (1-alpha)/2*|b|_2^2);\n"
    "                         scikit-learn's C corresponds to X = 1/(n*C)\n"
    "  --alpha A              elastic-net mixing in [0, 1] (default: 0.5)\n"
    "  --cv K                 choose lambda by K-fold cross-validation over a path\n"
    "                         (default penalty with --cv: l2)\n"
    "  --cv-metric M          deviance (default) or auc\n"
    "  --cv-rule R            min (default) or 1se: the lambda refitted on all rows\n"
    "  --nlambda N            path length for --cv (default: 100)\n"
    "  --seed S               fold seed for --cv (default: 1)\n"
    "  --standardize          penalise standardised coefficients (coefficients are\n"
    "                         still reported on the original scale)\n"
    "  --no-intercept         fit without an intercept\n"
    "  --class-weight W       none (default) or balanced (class c weighs n/(2*n_c))\n"
    "  --weights COL          sample-weight column\n"
    "  --max-iter N           Newton iterations (default: 100)\n"
    "  --allow-separation     on perfectly separated data, save the last iterate with a\n"
    "                         note instead of failing\n"
    "  --json                 print the fit as JSON\n"
    "  --unit U               time unit of the table, recorded in the model (default:\n"
    "                         its time_unit_days column; must agree with it)\n"
    "  --id COL               the customer id column (default: customer_id or id;\n"
    "                         'none' or no such column: rows numbered 1..n)\n"
    "  -o, --output F         save the model file (JSON) to F\n"
    "  --help                 this text\n"
    "\n"
    "Standard errors, z and p-values are Wald statistics from the inverse Fisher\n"
    "information (unpenalised fits only). Constant columns are dropped with a note;\n"
    "collinear columns and separated data are errors that name the columns.\n";

static const char predict_help[] =
    "usage: churn predict model.json customers.csv [--explain] [--top K] [-o scores.csv]\n"
    "\n"
    "Churn probability of each customer under a logistic-regression model.\n"
    "Output columns: customer_id, p_churn, linear_predictor; with --explain also\n"
    "reason_1, contribution_1, ..., reason_K, contribution_K: the features that\n"
    "raise this customer's log-odds of churn the most relative to the average\n"
    "training customer (contribution = coefficient * (value - training mean));\n"
    "only positive contributions are listed.\n"
    "\n"
    "Options:\n"
    "  --explain          add the top reasons\n"
    "  --top K            number of reasons (default: 3)\n"
    "  --unit U           time unit of a table (or model) that declares none; the\n"
    "                     model's and the table's units must agree\n"
    "  --id COL           the customer id column (default: customer_id or id;\n"
    "                     'none' or no such column: rows numbered 1..n)\n"
    "  -o, --output F     output CSV (default: standard output)\n"
    "  --help             this text\n";

static const char *penalty_name(int p)
{
    switch (p) {
    case CHURN_LOGIT_PENALTY_L2:
        return "l2";
    case CHURN_LOGIT_PENALTY_L1:
        return "l1";
    case CHURN_LOGIT_PENALTY_ELASTICNET:
        return "elasticnet";
    default:
        return "none";
    }
}


static json_t *jvec(const double *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, cli_json_number(v[i]));
    return a;
}

/* Column `name` or print an error; the id column is not numeric. */
static const double *need_col(const char *sub, const cli_table *t, const char *name,
                              const char *role)
{
    for (size_t j = 0; j < t->ncols; j++)
        if (strcmp(t->names[j], name) == 0) {
            if ((int)j == t->id_col) {
                cli_fail(sub, "%s column '%s' is the customer id column", role, name);
                return NULL;
            }
            if (t->text_error[j]) {
                cli_fail(sub, "%s column: %s", role, t->text_error[j]);
                return NULL;
            }
            return t->cols[j];
        }
    cli_fail(sub, "%s column '%s' not found in the input table", role, name);
    return NULL;
}

/* Missing values are reported with the customer and the column. */
static int check_finite(const char *sub, const cli_table *t, const double *v, const char *col)
{
    for (size_t i = 0; i < t->nrows; i++)
        if (!isfinite(v[i]))
            return cli_fail(sub, "customer '%s' (data row %zu), column '%s': missing or "
                            "non-finite value", t->ids[i], i + 1, col);
    return 0;
}

static void print_table(FILE *f, const churn_model *m, const char *label)
{
    churn_logit_summary s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    churn_logit_summary_get(m, &s);
    size_t k = churn_model_num_params(m);
    fprintf(f, "Logistic regression of '%s' on %zu feature(s), %.0f rows", label,
            churn_model_num_features(m), s.nobs);
    if (s.penalty == CHURN_LOGIT_PENALTY_NONE)
        fprintf(f, ", unpenalised\n");
    else
        fprintf(f, ", penalty %s, lambda %.6g, alpha %.3g%s\n", penalty_name(s.penalty),
                s.lambda, s.alpha, s.standardize ? ", standardised" : "");
    size_t w = 11;
    for (size_t i = 0; i < k; i++)
        if (strlen(churn_model_param_name(m, i)) > w)
            w = strlen(churn_model_param_name(m, i));
    fprintf(f, "%-*s %14s %12s %9s %11s %12s\n", (int)w, "term", "estimate", "std.error",
            "z value", "Pr(>|z|)", "odds ratio");
    for (size_t i = 0; i < k; i++) {
        churn_logit_term t;
        memset(&t, 0, sizeof t);
        t.struct_size = sizeof t;
        churn_logit_term_get(m, i, &t);
        fprintf(f, "%-*s %14.6g", (int)w, churn_model_param_name(m, i), t.estimate);
        if (isfinite(t.std_error))
            fprintf(f, " %12.6g %9.3f %11.4g", t.std_error, t.z, t.p_value);
        else
            fprintf(f, " %12s %9s %11s", "-", "-", "-");
        fprintf(f, " %12.6g\n", t.odds_ratio);
    }
    fprintf(f, "Null deviance:     %.6f on %.0f degrees of freedom\n", s.null_deviance,
            s.nobs - (s.intercept ? 1 : 0));
    fprintf(f, "Residual deviance: %.6f on %.0f degrees of freedom\n", s.deviance, s.df_residual);
    if (isfinite(s.aic))
        fprintf(f, "AIC: %.6f\n", s.aic);
    if (s.penalty != CHURN_LOGIT_PENALTY_NONE)
        fprintf(f, "Nonzero coefficients: %zu of %zu\n", s.nonzero,
                churn_model_num_features(m));
    fprintf(f, "%s after %d Newton iteration(s)\n",
            s.converged ? "Converged" : "NOT converged", s.iterations);
    if (*churn_model_note(m))
        fprintf(f, "Note: %s\n", churn_model_note(m));
}

static json_t *fit_json(const churn_model *m, const char *label, const churn_logit_cv *cv,
                        const char *rule, double chosen, size_t nfolds)
{
    churn_logit_summary s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    churn_logit_summary_get(m, &s);
    json_t *o = json_object();
    json_t *coefs = json_array();
    if (!o || !coefs) {
        json_decref(o);
        json_decref(coefs);
        return NULL;
    }
    for (size_t i = 0; i < churn_model_num_params(m); i++) {
        churn_logit_term t;
        memset(&t, 0, sizeof t);
        t.struct_size = sizeof t;
        churn_logit_term_get(m, i, &t);
        json_t *c = json_object();
        json_object_set_new(c, "term", json_string(churn_model_param_name(m, i)));
        json_object_set_new(c, "estimate", cli_json_number(t.estimate));
        json_object_set_new(c, "std_error", cli_json_number(t.std_error));
        json_object_set_new(c, "z", cli_json_number(t.z));
        json_object_set_new(c, "p_value", cli_json_number(t.p_value));
        json_object_set_new(c, "odds_ratio", cli_json_number(t.odds_ratio));
        json_object_set_new(c, "odds_ratio_low", cli_json_number(t.odds_ratio_low));
        json_object_set_new(c, "odds_ratio_high", cli_json_number(t.odds_ratio_high));
        json_array_append_new(coefs, c);
    }
    json_object_set_new(o, "family", json_string("logit"));
    json_object_set_new(o, "label", json_string(label));
    json_object_set_new(o, "penalty", json_string(penalty_name(s.penalty)));
    json_object_set_new(o, "lambda", cli_json_number(s.lambda));
    json_object_set_new(o, "alpha", cli_json_number(s.alpha));
    json_object_set_new(o, "standardize", json_boolean(s.standardize));
    json_object_set_new(o, "intercept", json_boolean(s.intercept));
    json_object_set_new(o, "coefficients", coefs);
    json_object_set_new(o, "deviance", cli_json_number(s.deviance));
    json_object_set_new(o, "null_deviance", cli_json_number(s.null_deviance));
    json_object_set_new(o, "aic", cli_json_number(s.aic));
    json_object_set_new(o, "loglik", cli_json_number(s.loglik));
    json_object_set_new(o, "nobs", cli_json_number(s.nobs));
    json_object_set_new(o, "sum_weights", cli_json_number(s.sum_weights));
    json_object_set_new(o, "df_residual", cli_json_number(s.df_residual));
    json_object_set_new(o, "nonzero", json_integer((json_int_t)s.nonzero));
    json_object_set_new(o, "dropped", json_integer((json_int_t)s.dropped));
    json_object_set_new(o, "converged", json_boolean(s.converged));
    json_object_set_new(o, "iterations", json_integer(s.iterations));
    json_object_set_new(o, "separated", json_boolean(s.separated));
    json_object_set_new(o, "note", json_string(churn_model_note(m)));
    if (cv) {
        size_t L = churn_logit_cv_num_lambda(cv);
        double *lam = calloc(L, sizeof *lam), *mu = calloc(L, sizeof *mu),
               *sd = calloc(L, sizeof *sd);
        json_t *c = json_object();
        if (lam && mu && sd && c) {
            churn_logit_cv_path(cv, lam, mu, sd, L);
            json_object_set_new(c, "nfolds", json_integer((json_int_t)nfolds));
            json_object_set_new(c, "metric", json_string(churn_logit_cv_metric_used(cv) ==
                                                                 CHURN_LOGIT_CV_AUC
                                                             ? "auc"
                                                             : "deviance"));
            json_object_set_new(c, "rule", json_string(rule));
            json_object_set_new(c, "lambda", jvec(lam, L));
            json_object_set_new(c, "mean", jvec(mu, L));
            json_object_set_new(c, "sd", jvec(sd, L));
            json_object_set_new(c, "lambda_min", cli_json_number(churn_logit_cv_lambda_min(cv)));
            json_object_set_new(c, "lambda_1se", cli_json_number(churn_logit_cv_lambda_1se(cv)));
            json_object_set_new(c, "lambda_chosen", cli_json_number(chosen));
            json_object_set_new(o, "cv", c);
        } else {
            json_decref(c);
        }
        free(lam);
        free(mu);
        free(sd);
    }
    return o;
}

typedef struct logit_args {
    const char *input, *out, *label, *features, *wcol, *penalty, *cw, *metric, *rule, *idcol;
    double lambda, alpha, unit;
    long cvk, nlambda, seed, max_iter, top;
    int json, standardize, no_intercept, allow_sep, explain;
} logit_args;

/* Ranges are checked after parsing, with the other checks between options. */
#define AT(m) CLI_AT(logit_args, m)
static const cli_option fit_options[] = {
    CLI_OPT("--label", CLI_STRING, AT(label)),
    CLI_OPT("--features", CLI_STRING, AT(features)),
    CLI_OPT("--weights", CLI_STRING, AT(wcol)),
    CLI_OPT("--penalty", CLI_STRING, AT(penalty)),
    CLI_OPT("--lambda", CLI_DOUBLE, AT(lambda)),
    CLI_OPT("--alpha", CLI_DOUBLE, AT(alpha)),
    CLI_OPT("--cv", CLI_LONG, AT(cvk)),
    CLI_OPT("--cv-metric", CLI_STRING, AT(metric)),
    CLI_OPT("--cv-rule", CLI_STRING, AT(rule)),
    CLI_OPT("--nlambda", CLI_LONG, AT(nlambda)),
    CLI_OPT("--seed", CLI_LONG, AT(seed)),
    CLI_OPT("--max-iter", CLI_LONG, AT(max_iter)),
    CLI_OPT("--class-weight", CLI_STRING, AT(cw)),
    CLI_OPT("--standardize", CLI_FLAG, AT(standardize)),
    CLI_OPT("--no-intercept", CLI_FLAG, AT(no_intercept)),
    CLI_OPT("--allow-separation", CLI_FLAG, AT(allow_sep)),
    CLI_OPT("--json", CLI_FLAG, AT(json)),
    CLI_OPT("--unit", CLI_UNIT, AT(unit)),
    CLI_TABLE_ID(AT(idcol)),
    CLI_OUTPUT(AT(out)),
};
static const cli_option predict_options[] = {
    CLI_OPT("--explain", CLI_FLAG, AT(explain)),
    CLI_OPT("--top", CLI_LONG, AT(top)),
    CLI_OPT("--unit", CLI_UNIT, AT(unit)),
    CLI_TABLE_ID(AT(idcol)),
    CLI_OUTPUT(AT(out)),
};
static const cli_spec fit_spec = {
    .options = fit_options, .noptions = CLI_NOPTIONS(fit_options), .positional = {AT(input)},
    .missing = "missing the customers.csv argument", .help = fit_help,
};
static const cli_spec predict_spec = {
    .options = predict_options, .noptions = CLI_NOPTIONS(predict_options),
    .positional = {AT(input)}, .missing = "missing the customers.csv argument",
    .help = predict_help,
};
#undef AT

/* The penalty and the checks between options, in the order they are reported. */
static int penalty_options(const char *sub, const logit_args *a, churn_logit_options *o)
{
    if (a->penalty) {
        if (strcmp(a->penalty, "none") == 0)
            o->penalty = CHURN_LOGIT_PENALTY_NONE;
        else if (strcmp(a->penalty, "l2") == 0 || strcmp(a->penalty, "ridge") == 0)
            o->penalty = CHURN_LOGIT_PENALTY_L2;
        else if (strcmp(a->penalty, "l1") == 0 || strcmp(a->penalty, "lasso") == 0)
            o->penalty = CHURN_LOGIT_PENALTY_L1;
        else if (strcmp(a->penalty, "elasticnet") == 0)
            o->penalty = CHURN_LOGIT_PENALTY_ELASTICNET;
        else
            return cli_usage_error(sub, "option --penalty: '%s' is not none, l2, l1 or "
                                   "elasticnet", a->penalty);
    } else if (a->cvk) {
        o->penalty = CHURN_LOGIT_PENALTY_L2;
    }
    if (a->cvk && !isnan(a->lambda))
        return cli_usage_error(sub, "options --cv and --lambda exclude each other");
    if (a->cvk && (a->cvk < 2 || a->cvk > 1000000))
        return cli_usage_error(sub, "option --cv: %ld folds is not in 2..1000000", a->cvk);
    if (a->cvk && o->penalty == CHURN_LOGIT_PENALTY_NONE)
        return cli_usage_error(sub, "option --cv needs a penalty (l2, l1 or elasticnet)");
    if (!a->cvk && o->penalty != CHURN_LOGIT_PENALTY_NONE && isnan(a->lambda))
        return cli_usage_error(sub, "option --penalty %s needs --lambda X or --cv K",
                               penalty_name(o->penalty));
    if (!isnan(a->lambda) && o->penalty == CHURN_LOGIT_PENALTY_NONE)
        return cli_usage_error(sub, "option --lambda needs --penalty l2, l1 or elasticnet");
    if (!isnan(a->alpha) && o->penalty != CHURN_LOGIT_PENALTY_ELASTICNET)
        return cli_usage_error(sub, "option --alpha is for --penalty elasticnet");
    if (!isnan(a->lambda))
        o->lambda = a->lambda;
    if (!isnan(a->alpha))
        o->alpha = a->alpha;
    return CLI_EXIT_OK;
}

static int fit_options_check(const char *sub, const logit_args *a, churn_logit_options *o)
{
    churn_logit_options_init(o);
    int rc = penalty_options(sub, a, o);
    if (rc)
        return rc;
    if (a->cw && strcmp(a->cw, "balanced") == 0)
        o->class_weight = CHURN_LOGIT_CLASS_WEIGHT_BALANCED;
    else if (a->cw && strcmp(a->cw, "none") != 0)
        return cli_usage_error(sub, "option --class-weight: '%s' is not none or balanced", a->cw);
    if (strcmp(a->metric, "deviance") != 0 && strcmp(a->metric, "auc") != 0)
        return cli_usage_error(sub, "option --cv-metric: '%s' is not deviance or auc",
                               a->metric);
    if (strcmp(a->rule, "min") != 0 && strcmp(a->rule, "1se") != 0)
        return cli_usage_error(sub, "option --cv-rule: '%s' is not min or 1se", a->rule);
    if (a->nlambda < 1 || a->nlambda > 100000)
        return cli_usage_error(sub, "option --nlambda: %ld is not in 1..100000", a->nlambda);
    if (a->max_iter < 1 || a->max_iter > 1000000)
        return cli_usage_error(sub, "option --max-iter: %ld is not in 1..1000000", a->max_iter);
    o->standardize = a->standardize;
    o->intercept = !a->no_intercept;
    o->max_iter = (int)a->max_iter;
    o->separation = a->allow_sep ? CHURN_LOGIT_SEPARATION_NOTE : CHURN_LOGIT_SEPARATION_ERROR;
    return CLI_EXIT_OK;
}

/* The label, weights and features of a fit: x is column-major, n x p. */
typedef struct design {
    size_t n, p;
    const double *y, *w;
    const char **use; /* the p feature names */
    char **fnames;    /* the --features list that `use` points into, or NULL */
    double *x;
} design;

static void design_free(design *d)
{
    if (!d->fnames)
        free(d->use);
    free(d->fnames);
    free(d->x);
}

/* The feature names: --features, else every column but the id, the label and the weights. */
static int feature_names(const char *sub, const logit_args *a, const cli_table *t, design *d)
{
    if (a->features) {
        d->fnames = cli_split_list(a->features, &d->p);
        if (!d->fnames)
            return cli_fail(sub, "out of memory");
        d->use = (const char **)d->fnames;
        if (d->p == 0)
            return cli_usage_error(sub, "option --features: no column names in '%s'",
                                   a->features);
        return CLI_EXIT_OK;
    }
    d->use = calloc(t->ncols + 1, sizeof *d->use);
    if (!d->use)
        return cli_fail(sub, "out of memory");
    for (size_t j = 0; j < t->ncols; j++)
        if ((int)j != t->id_col && strcmp(t->names[j], a->label) != 0 &&
            !(a->wcol && strcmp(t->names[j], a->wcol) == 0))
            d->use[d->p++] = t->names[j];
    if (d->p == 0)
        return cli_fail(sub, "%s has no feature columns besides the id and the label", a->input);
    return CLI_EXIT_OK;
}

static int read_design(const char *sub, const logit_args *a, const cli_table *t, design *d)
{
    d->n = t->nrows;
    if (d->n == 0) /* before the columns: a table without rows has none to hand out */
        return cli_fail(sub, "%s has no data rows", a->input);
    d->y = need_col(sub, t, a->label, "label");
    if (!d->y || check_finite(sub, t, d->y, a->label))
        return CLI_EXIT_FAIL;
    if (a->wcol && (!(d->w = need_col(sub, t, a->wcol, "weights")) ||
                    check_finite(sub, t, d->w, a->wcol)))
        return CLI_EXIT_FAIL;
    if (d->n == 0)
        return cli_fail(sub, "%s has no data rows", a->input);
    int rc = feature_names(sub, a, t, d);
    if (rc)
        return rc;
    /* column-major copy of the features: the library reads x[j*n + i] */
    d->x = malloc(d->n * d->p * sizeof *d->x);
    if (!d->x)
        return cli_fail(sub, "out of memory (%zu x %zu features)", d->n, d->p);
    for (size_t j = 0; j < d->p; j++) {
        const double *c = need_col(sub, t, d->use[j], "feature");
        if (!c || check_finite(sub, t, c, d->use[j]))
            return CLI_EXIT_FAIL;
        memcpy(d->x + j * d->n, c, d->n * sizeof *d->x);
    }
    return CLI_EXIT_OK;
}

/* --cv K: choose lambda by cross-validation; o->lambda and *chosen get it. */
static int cross_validate(const char *sub, const logit_args *a, const design *d,
                          churn_logit_options *o, churn_logit_cv **cv, double *chosen)
{
    churn_logit_cv_options co;
    churn_logit_cv_options_init(&co);
    co.nfolds = (size_t)a->cvk;
    co.nlambda = (size_t)a->nlambda;
    co.seed = (uint64_t)a->seed;
    co.metric = strcmp(a->metric, "auc") == 0 ? CHURN_LOGIT_CV_AUC : CHURN_LOGIT_CV_DEVIANCE;
    int st = churn_logit_cross_validate(cv, d->x, d->n, d->p, CHURN_LOGIT_COL_MAJOR, d->n, d->y,
                                        d->w, d->use, o, &co);
    if (st)
        return cli_lib_fail(sub, "cross-validation", st);
    *chosen = strcmp(a->rule, "1se") == 0 ? churn_logit_cv_lambda_1se(*cv)
                                          : churn_logit_cv_lambda_min(*cv);
    o->lambda = *chosen;
    return CLI_EXIT_OK;
}

static int report_fit(const char *sub, const logit_args *a, const churn_model *m,
                      const churn_logit_cv *cv, double chosen)
{
    if (a->json) {
        int rc = cli_print_json(sub, fit_json(m, a->label, cv, a->rule, chosen, (size_t)a->cvk),
                                JSON_INDENT(2) | JSON_REAL_PRECISION(17) | JSON_PRESERVE_ORDER);
        if (rc)
            return rc;
    } else {
        if (cv)
            printf("Cross-validation: %ld folds, %zu lambdas, metric %s: lambda_min %.6g, "
                   "lambda_1se %.6g; refitted at lambda = %.6g (%s)\n",
                   a->cvk, churn_logit_cv_num_lambda(cv), a->metric,
                   churn_logit_cv_lambda_min(cv), churn_logit_cv_lambda_1se(cv), chosen, a->rule);
        print_table(stdout, m, a->label);
    }
    if (!churn_model_converged(m))
        fprintf(stderr, "churn %s: warning: the fit did not converge: %s\n", sub,
                churn_model_note(m));
    return cli_save_model(sub, m, a->out);
}

static logit_args default_args(void)
{
    logit_args a = {.label = "churned", .metric = "deviance", .rule = "min", .lambda = NAN,
                    .alpha = NAN, .nlambda = 100, .seed = 1, .max_iter = 100, .top = 3};
    return a;
}

int cmd_fit_logit(int family, int argc, char **argv)
{
    static const char sub[] = "fit logit";
    if (family != CHURN_FAMILY_LOGIT)
        return cli_fail(sub, "family '%s' is not a logit model", churn_family_name(family));
    logit_args a = default_args();
    int rc = cli_parse(&fit_spec, sub, argc, argv, &a);
    if (rc != CLI_CONTINUE)
        return rc;
    churn_logit_options o;
    if ((rc = fit_options_check(sub, &a, &o)))
        return rc;

    cli_table t;
    double unit = 0;
    if (cli_table_read(sub, a.input, a.idcol, &t))
        return CLI_EXIT_FAIL;
    churn_model *m = NULL;
    churn_logit_cv *cv = NULL;
    design d = {0};
    double chosen = NAN;
    rc = cli_table_unit(sub, a.input, &t, a.unit, &unit);
    if (!rc)
        rc = read_design(sub, &a, &t, &d);
    if (!rc && a.cvk)
        rc = cross_validate(sub, &a, &d, &o, &cv, &chosen);
    if (!rc) {
        int st = churn_logit_fit(&m, d.x, d.n, d.p, CHURN_LOGIT_COL_MAJOR, d.n, d.y, d.w, d.use,
                                 &o);
        if (!st && unit > 0)
            churn_model_set_time_unit(m, unit); /* features such as recency are durations */
        rc = st ? cli_lib_fail(sub, "fitting", st) : report_fit(sub, &a, m, cv, chosen);
    }
    design_free(&d);
    churn_logit_cv_free(cv);
    churn_model_free(m);
    cli_table_free(&t);
    return rc;
}

typedef struct reason {
    double c;
    size_t j;
} reason;

static int cmp_reason(const void *a, const void *b)
{
    double x = ((const reason *)a)->c, y = ((const reason *)b)->c;
    return (x < y) - (x > y); /* descending */
}

/* The model's features from the table, column-major n x p. */
static int read_features(const char *sub, const churn_model *model, const cli_table *t,
                         double *x)
{
    size_t n = t->nrows;
    for (size_t j = 0; j < churn_model_num_features(model); j++) {
        const char *name = churn_model_feature_name(model, j);
        const double *c = need_col(sub, t, name, "model feature");
        if (!c || check_finite(sub, t, c, name))
            return CLI_EXIT_FAIL;
        memcpy(x + j * n, c, n * sizeof *x);
    }
    return CLI_EXIT_OK;
}

/* The top reasons of one customer: the `top` largest contributions, positive ones named. */
static void put_reasons(FILE *f, const churn_model *model, const double *contrib, size_t p,
                        long top, reason *rs)
{
    for (size_t j = 0; j < p; j++) {
        rs[j].c = contrib[j];
        rs[j].j = j;
    }
    qsort(rs, p, sizeof *rs, cmp_reason);
    for (long r = 0; r < top; r++) {
        fputc(',', f);
        if (rs[r].c > 0) {
            cli_put_field(f, churn_model_feature_name(model, rs[r].j));
            fputc(',', f);
            cli_put_double(f, rs[r].c);
        } else {
            fputc(',', f);
        }
    }
}

/* Scores of every customer; contrib (n x p, row-major) only with --explain. */
typedef struct logit_scores {
    double *x, *pr, *eta, *contrib;
    reason *rs;
} logit_scores;

static int write_scores(const char *sub, const churn_model *model, const logit_args *a,
                        const cli_table *t, const logit_scores *s, long top)
{
    size_t p = churn_model_num_features(model);
    FILE *f = cli_open_out(sub, a->out);
    if (!f)
        return CLI_EXIT_FAIL;
    fputs("customer_id,p_churn,linear_predictor", f);
    for (long r = 1; a->explain && r <= top; r++)
        fprintf(f, ",reason_%ld,contribution_%ld", r, r);
    fputc('\n', f);
    for (size_t i = 0; i < t->nrows; i++) {
        cli_put_field(f, t->ids[i]);
        fputc(',', f);
        cli_put_double(f, s->pr[i]);
        fputc(',', f);
        cli_put_double(f, s->eta[i]);
        if (a->explain)
            put_reasons(f, model, s->contrib + i * p, p, top, s->rs);
        fputc('\n', f);
    }
    return cli_close_out(sub, f, a->out);
}

static int score_rows(const char *sub, const churn_model *model, const logit_args *a,
                      const cli_table *t, logit_scores *s)
{
    size_t p = churn_model_num_features(model);
    size_t n = t->nrows, np = n * p > 0 ? n * p : 1;
    s->x = malloc(np * sizeof *s->x);
    s->pr = malloc((n ? n : 1) * sizeof *s->pr);
    s->eta = malloc((n ? n : 1) * sizeof *s->eta);
    s->contrib = a->explain ? malloc(np * sizeof *s->contrib) : NULL;
    s->rs = a->explain ? malloc((p ? p : 1) * sizeof *s->rs) : NULL;
    if (!s->x || !s->pr || !s->eta || (a->explain && (!s->contrib || !s->rs)))
        return cli_fail(sub, "out of memory");
    if (read_features(sub, model, t, s->x))
        return CLI_EXIT_FAIL;
    if (n > 0) {
        int st = churn_logit_predict(model, s->x, n, p, CHURN_LOGIT_COL_MAJOR, n, s->pr, s->eta);
        if (!st && a->explain)
            st = churn_logit_contributions(model, s->x, n, p, CHURN_LOGIT_COL_MAJOR, n,
                                           s->contrib, NULL);
        if (st)
            return cli_lib_fail(sub, "scoring", st);
    }
    return CLI_EXIT_OK;
}

int cmd_predict_logit(churn_model *model, int argc, char **argv)
{
    static const char sub[] = "predict";
    logit_args a = default_args();
    int rc = cli_parse(&predict_spec, sub, argc, argv, &a);
    if (rc != CLI_CONTINUE)
        return rc;
    long top = a.top;
    if (top < 1 || top > 1000)
        return cli_usage_error(sub, "option --top: %ld is not in 1..1000", top);
    size_t p = churn_model_num_features(model);
    if ((size_t)top > p)
        top = (long)p;

    cli_table t;
    double unit = 0;
    if (cli_table_read(sub, a.input, a.idcol, &t))
        return CLI_EXIT_FAIL;
    logit_scores s = {0};
    rc = cli_table_unit(sub, a.input, &t, a.unit, &unit);
    if (!rc)
        rc = cli_check_model_unit(sub, model, unit, a.unit, -1);
    if (!rc)
        rc = score_rows(sub, model, &a, &t, &s);
    if (!rc)
        rc = write_scores(sub, model, &a, &t, &s, top);
    free(s.x);
    free(s.pr);
    free(s.eta);
    free(s.contrib);
    free(s.rs);
    cli_table_free(&t);
    return rc;
}
