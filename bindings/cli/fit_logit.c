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

int cmd_fit_logit(int family, int argc, char **argv)
{
    static const char sub[] = "fit logit";
    const char *input = NULL, *out = NULL, *label = "churned", *features = NULL, *wcol = NULL;
    const char *penalty = NULL, *cw = NULL, *metric = "deviance", *rule = "min";
    double lambda = NAN, alpha = NAN;
    long cvk = 0, nlambda = 100, seed = 1, max_iter = 100;
    int json = 0, standardize = 0, no_intercept = 0, allow_sep = 0;
    if (family != CHURN_FAMILY_LOGIT)
        return cli_fail(sub, "family '%s' is not a logit model", churn_family_name(family));
    cli_args a;
    cli_args_init(&a, argc, argv, 1, sub);
    while (cli_next(&a)) {
        if (cli_flag(&a, "--help") || cli_flag(&a, "-h")) {
            fputs(fit_help, stdout);
            return CLI_EXIT_OK;
        } else if (cli_is(&a, "--label")) {
            cli_string(&a, &label);
        } else if (cli_is(&a, "--features")) {
            cli_string(&a, &features);
        } else if (cli_is(&a, "--weights")) {
            cli_string(&a, &wcol);
        } else if (cli_is(&a, "--penalty")) {
            cli_string(&a, &penalty);
        } else if (cli_is(&a, "--lambda")) {
            cli_double(&a, &lambda);
        } else if (cli_is(&a, "--alpha")) {
            cli_double(&a, &alpha);
        } else if (cli_is(&a, "--cv")) {
            cli_long(&a, &cvk);
        } else if (cli_is(&a, "--cv-metric")) {
            cli_string(&a, &metric);
        } else if (cli_is(&a, "--cv-rule")) {
            cli_string(&a, &rule);
        } else if (cli_is(&a, "--nlambda")) {
            cli_long(&a, &nlambda);
        } else if (cli_is(&a, "--seed")) {
            cli_long(&a, &seed);
        } else if (cli_is(&a, "--max-iter")) {
            cli_long(&a, &max_iter);
        } else if (cli_is(&a, "--class-weight")) {
            cli_string(&a, &cw);
        } else if (cli_flag(&a, "--standardize")) {
            standardize = 1;
        } else if (cli_flag(&a, "--no-intercept")) {
            no_intercept = 1;
        } else if (cli_flag(&a, "--allow-separation")) {
            allow_sep = 1;
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

    churn_logit_options o;
    churn_logit_options_init(&o);
    if (penalty) {
        if (strcmp(penalty, "none") == 0)
            o.penalty = CHURN_LOGIT_PENALTY_NONE;
        else if (strcmp(penalty, "l2") == 0 || strcmp(penalty, "ridge") == 0)
            o.penalty = CHURN_LOGIT_PENALTY_L2;
        else if (strcmp(penalty, "l1") == 0 || strcmp(penalty, "lasso") == 0)
            o.penalty = CHURN_LOGIT_PENALTY_L1;
        else if (strcmp(penalty, "elasticnet") == 0)
            o.penalty = CHURN_LOGIT_PENALTY_ELASTICNET;
        else
            return cli_usage_error(sub, "option --penalty: '%s' is not none, l2, l1 or "
                                   "elasticnet", penalty);
    } else if (cvk) {
        o.penalty = CHURN_LOGIT_PENALTY_L2;
    }
    if (cvk && !isnan(lambda))
        return cli_usage_error(sub, "options --cv and --lambda exclude each other");
    if (cvk && (cvk < 2 || cvk > 1000000))
        return cli_usage_error(sub, "option --cv: %ld folds is not in 2..1000000", cvk);
    if (cvk && o.penalty == CHURN_LOGIT_PENALTY_NONE)
        return cli_usage_error(sub, "option --cv needs a penalty (l2, l1 or elasticnet)");
    if (!cvk && o.penalty != CHURN_LOGIT_PENALTY_NONE && isnan(lambda))
        return cli_usage_error(sub, "option --penalty %s needs --lambda X or --cv K",
                               penalty_name(o.penalty));
    if (!isnan(lambda) && o.penalty == CHURN_LOGIT_PENALTY_NONE)
        return cli_usage_error(sub, "option --lambda needs --penalty l2, l1 or elasticnet");
    if (!isnan(alpha) && o.penalty != CHURN_LOGIT_PENALTY_ELASTICNET)
        return cli_usage_error(sub, "option --alpha is for --penalty elasticnet");
    if (!isnan(lambda))
        o.lambda = lambda;
    if (!isnan(alpha))
        o.alpha = alpha;
    if (cw && strcmp(cw, "balanced") == 0)
        o.class_weight = CHURN_LOGIT_CLASS_WEIGHT_BALANCED;
    else if (cw && strcmp(cw, "none") != 0)
        return cli_usage_error(sub, "option --class-weight: '%s' is not none or balanced", cw);
    if (strcmp(metric, "deviance") != 0 && strcmp(metric, "auc") != 0)
        return cli_usage_error(sub, "option --cv-metric: '%s' is not deviance or auc", metric);
    if (strcmp(rule, "min") != 0 && strcmp(rule, "1se") != 0)
        return cli_usage_error(sub, "option --cv-rule: '%s' is not min or 1se", rule);
    if (nlambda < 1 || nlambda > 100000)
        return cli_usage_error(sub, "option --nlambda: %ld is not in 1..100000", nlambda);
    if (max_iter < 1 || max_iter > 1000000)
        return cli_usage_error(sub, "option --max-iter: %ld is not in 1..1000000", max_iter);
    o.standardize = standardize;
    o.intercept = !no_intercept;
    o.max_iter = (int)max_iter;
    o.separation = allow_sep ? CHURN_LOGIT_SEPARATION_NOTE : CHURN_LOGIT_SEPARATION_ERROR;

    cli_table t;
    if (cli_table_read(sub, input, &t))
        return CLI_EXIT_FAIL;
    int rc = CLI_EXIT_FAIL;
    churn_model *m = NULL;
    churn_logit_cv *cv = NULL;
    char **fnames = NULL;
    const char **use = NULL;
    double *x = NULL;
    size_t p = 0, n = t.nrows;
    const double *y = need_col(sub, &t, label, "label");
    const double *w = NULL;
    if (!y || check_finite(sub, &t, y, label))
        goto done;
    if (wcol && (!(w = need_col(sub, &t, wcol, "weights")) || check_finite(sub, &t, w, wcol)))
        goto done;
    if (n == 0) {
        cli_fail(sub, "%s has no data rows", input);
        goto done;
    }
    if (features) {
        fnames = cli_split_list(features, &p);
        if (!fnames) {
            cli_fail(sub, "out of memory");
            goto done;
        }
        use = (const char **)fnames;
        if (p == 0) {
            rc = cli_usage_error(sub, "option --features: no column names in '%s'", features);
            goto done;
        }
    } else {
        use = calloc(t.ncols + 1, sizeof *use);
        if (!use) {
            cli_fail(sub, "out of memory");
            goto done;
        }
        for (size_t j = 0; j < t.ncols; j++)
            if ((int)j != t.id_col && strcmp(t.names[j], label) != 0 &&
                !(wcol && strcmp(t.names[j], wcol) == 0))
                use[p++] = t.names[j];
        if (p == 0) {
            cli_fail(sub, "%s has no feature columns besides the id and the label", input);
            goto done;
        }
    }
    /* column-major copy of the features: the library reads x[j*n + i] */
    x = malloc(n * p * sizeof *x);
    if (!x) {
        cli_fail(sub, "out of memory (%zu x %zu features)", n, p);
        goto done;
    }
    for (size_t j = 0; j < p; j++) {
        const double *c = need_col(sub, &t, use[j], "feature");
        if (!c || check_finite(sub, &t, c, use[j]))
            goto done;
        memcpy(x + j * n, c, n * sizeof *x);
    }
    double chosen = NAN;
    if (cvk) {
        churn_logit_cv_options co;
        churn_logit_cv_options_init(&co);
        co.nfolds = (size_t)cvk;
        co.nlambda = (size_t)nlambda;
        co.seed = (uint64_t)seed;
        co.metric = strcmp(metric, "auc") == 0 ? CHURN_LOGIT_CV_AUC : CHURN_LOGIT_CV_DEVIANCE;
        int st = churn_logit_cross_validate(&cv, x, n, p, CHURN_LOGIT_COL_MAJOR, n, y, w, use, &o,
                                            &co);
        if (st) {
            cli_lib_fail(sub, "cross-validation", st);
            goto done;
        }
        chosen = strcmp(rule, "1se") == 0 ? churn_logit_cv_lambda_1se(cv)
                                          : churn_logit_cv_lambda_min(cv);
        o.lambda = chosen;
    }
    int st = churn_logit_fit(&m, x, n, p, CHURN_LOGIT_COL_MAJOR, n, y, w, use, &o);
    if (st) {
        cli_lib_fail(sub, "fitting", st);
        goto done;
    }
    if (json) {
        json_t *j = fit_json(m, label, cv, rule, chosen, (size_t)cvk);
        if (!j) {
            cli_fail(sub, "out of memory");
            goto done;
        }
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(j);
    } else {
        if (cv)
            printf("Cross-validation: %ld folds, %zu lambdas, metric %s: lambda_min %.6g, "
                   "lambda_1se %.6g; refitted at lambda = %.6g (%s)\n",
                   cvk, churn_logit_cv_num_lambda(cv), metric, churn_logit_cv_lambda_min(cv),
                   churn_logit_cv_lambda_1se(cv), chosen, rule);
        print_table(stdout, m, label);
    }
    if (!churn_model_converged(m))
        fprintf(stderr, "churn %s: warning: the fit did not converge: %s\n", sub,
                churn_model_note(m));
    if (out) {
        st = churn_model_save(m, out);
        if (st) {
            cli_lib_fail(sub, "saving the model", st);
            goto done;
        }
    }
    rc = CLI_EXIT_OK;
done:
    if (!fnames)
        free(use);
    free(fnames);
    free(x);
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

int cmd_predict_logit(churn_model *model, int argc, char **argv)
{
    static const char sub[] = "predict";
    const char *input = NULL, *out = NULL;
    int explain = 0;
    long top = 3;
    cli_args a;
    cli_args_init(&a, argc, argv, 1, sub);
    while (cli_next(&a)) {
        if (cli_flag(&a, "--help") || cli_flag(&a, "-h")) {
            fputs(predict_help, stdout);
            return CLI_EXIT_OK;
        } else if (cli_flag(&a, "--explain")) {
            explain = 1;
        } else if (cli_is(&a, "--top")) {
            cli_long(&a, &top);
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
    if (top < 1 || top > 1000)
        return cli_usage_error(sub, "option --top: %ld is not in 1..1000", top);
    size_t p = churn_model_num_features(model);
    if ((size_t)top > p)
        top = (long)p;

    cli_table t;
    if (cli_table_read(sub, input, &t))
        return CLI_EXIT_FAIL;
    int rc = CLI_EXIT_FAIL;
    size_t n = t.nrows, np = n * p > 0 ? n * p : 1;
    double *x = malloc(np * sizeof *x);
    double *pr = malloc((n ? n : 1) * sizeof *pr), *eta = malloc((n ? n : 1) * sizeof *eta);
    double *contrib = explain ? malloc(np * sizeof *contrib) : NULL;
    reason *rs = explain ? malloc((p ? p : 1) * sizeof *rs) : NULL;
    FILE *f = NULL;
    if (!x || !pr || !eta || (explain && (!contrib || !rs))) {
        cli_fail(sub, "out of memory");
        goto done;
    }
    for (size_t j = 0; j < p; j++) {
        const char *name = churn_model_feature_name(model, j);
        const double *c = need_col(sub, &t, name, "model feature");
        if (!c || check_finite(sub, &t, c, name))
            goto done;
        memcpy(x + j * n, c, n * sizeof *x);
    }
    if (n > 0) {
        int st = churn_logit_predict(model, x, n, p, CHURN_LOGIT_COL_MAJOR, n, pr, eta);
        if (!st && explain)
            st = churn_logit_contributions(model, x, n, p, CHURN_LOGIT_COL_MAJOR, n, contrib,
                                           NULL);
        if (st) {
            cli_lib_fail(sub, "scoring", st);
            goto done;
        }
    }
    f = cli_open_out(sub, out);
    if (!f)
        goto done;
    fputs("customer_id,p_churn,linear_predictor", f);
    for (long r = 1; explain && r <= top; r++)
        fprintf(f, ",reason_%ld,contribution_%ld", r, r);
    fputc('\n', f);
    for (size_t i = 0; i < n; i++) {
        cli_put_field(f, t.ids[i]);
        fputc(',', f);
        cli_put_double(f, pr[i]);
        fputc(',', f);
        cli_put_double(f, eta[i]);
        if (explain) {
            for (size_t j = 0; j < p; j++) {
                rs[j].c = contrib[i * p + j];
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
        fputc('\n', f);
    }
    rc = cli_close_out(sub, f, out);
done:
    free(x);
    free(pr);
    free(eta);
    free(contrib);
    free(rs);
    cli_table_free(&t);
    return rc;
}
