/* `churn fit bgnbd|mbgnbd|pnbd|bgbb|sbg|ggomnbd` and `churn predict` for BTYD models. */
#include "cli.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char fit_help[] =
    "usage: churn fit bgnbd|mbgnbd|pnbd|bgbb|ggomnbd customers.csv [options]\n"
    "       [-o model.json]\n"
    "       churn fit mbgcnbd|mbgcnbdk customers.csv [--k K] [--litt COL] [options]\n"
    "       churn fit sbg customers.csv [--periods COL --churned COL] [options]\n"
    "       churn fit sbg --survivors survivors.csv [options]\n"
    "\n"
    "Fit a buy-till-you-die model by maximum likelihood and print its parameter\n"
    "table (estimate, standard error, 95% confidence interval), log-likelihood,\n"
    "convergence and iterations.\n"
    "  bgnbd   BG/NBD (Fader, Hardie & Lee 2005)\n"
    "  mbgnbd  MBG/NBD (Batislam, Denizel & Filiztekin 2007)\n"
    "  pnbd    Pareto/NBD (Schmittlein, Morrison & Colombo 1987)\n"
    "  bgbb    BG/BB for discrete transaction opportunities (Fader, Hardie & Shang 2010)\n"
    "  sbg     shifted beta-geometric for contracts (Fader & Hardie 2007)\n"
    "  ggomnbd Gamma-Gompertz/NBD (Bemmaor & Glady 2012), parameters r, alpha, b, s,\n"
    "          beta as CLVTools' ggomnbd\n"
    "  mbgcnbd MBG/CNBD-k (Reutterer, Platzer & Schroeder 2021; also spelled\n"
    "          mbgcnbdk): Erlang-k purchase gaps, parameters k, r, alpha, a, b as\n"
    "          BTYDplus' mbgcnbd\n"
    "\n"
    "Input: a customer table with a header (as written by 'churn features').\n"
    "Options:\n"
    "  --frequency COL   repeat purchases x        (default: frequency)\n"
    "  --recency COL     time of the last purchase (default: recency)\n"
    "  --T COL           customer age T            (default: T; bgbb: T, else periods)\n"
    "  --weights COL     number of customers per row (default: none; bgbb: the\n"
    "                    'weights' column when there is one, as in the donations table)\n"
    "  --periods COL     sbg: periods each customer stayed (default: periods)\n"
    "  --churned COL     sbg: 1 churned after those periods, 0 still active (default: churned)\n"
    "  --k K             mbgcnbd: fix k (1-12; 1 = MBG/NBD); default: every k is\n"
    "                    fitted and the largest log-likelihood kept\n"
    "  --litt COL        mbgcnbd: sum of log inter-purchase times per customer\n"
    "                    (default: litt; not needed with --k 1)\n"
    "  --survivors FILE  sbg: fit a survivor curve instead: a column 'survivors' (or the\n"
    "                    only column) with the cohort size first, then the customers\n"
    "                    still active after each period\n"
    "  --trans COLS      bgnbd/mbgnbd/pnbd/ggomnbd/mbgcnbdk: covariates of the purchase\n"
    "                    process,\n"
    "                    columns of the table (comma-separated; e.g. those 'churn\n"
    "                    features --covariates' appended): alpha_i = alpha exp(-g'z), so\n"
    "                    a positive coefficient trans.<col> raises the purchase rate by\n"
    "                    exp(g) per unit (docs/models/covariates.md)\n"
    "  --life COLS       bgnbd/mbgnbd/pnbd/ggomnbd/mbgcnbdk: covariates of the dropout\n"
    "                    process (coefficients life.<col>; pnbd and ggomnbd: beta_i =\n"
    "                    beta exp(-g'z), so a positive coefficient means faster\n"
    "                    dropout; the BG families: a_i = a exp(g'z), b_i = b exp(g'z)).\n"
    "                    mbgcnbdk takes --k (0 or none: chosen by likelihood) and the\n"
    "                    litt column as without covariates\n"
    "  --shared COLS     columns in both --trans and --life whose coefficient is the\n"
    "                    same in both processes\n"
    "  --l2-trans X, --l2-life X\n"
    "                    L2 penalties on the trans and life coefficients: the fit\n"
    "                    maximises LL - X * sum(coefficient^2) (default 0)\n"
    "  --l2 X            L2 penalty on the log-parameters, on the scale of the mean\n"
    "                    log-likelihood (default 0; see docs/models/btyd.md)\n"
    "  --max-iter N      optimiser iterations per starting point (default 500)\n"
    "  --max-evaluations N\n"
    "                    most likelihood evaluations of the whole fit, every starting\n"
    "                    point, line search and difference Hessian counted (default 2000)\n"
    "  --max-seconds S   time limit of the optimiser in seconds of wall time (default 0:\n"
    "                    none). A fit stopped by either cap warns, saves the best point\n"
    "                    found with -o and exits with status 1, like any fit that did\n"
    "                    not converge\n"
    "  --unit U          time unit of the table, recorded in the model: day, week,\n"
    "                    month, year or N days (default: the table's time_unit_days\n"
    "                    column, as 'churn features' writes it; must agree with it)\n"
    "  --id COL          the customer id column (default: customer_id or id; 'none'\n"
    "                    numbers the rows)\n"
    "  --json            print the fit as JSON\n"
    "  -o, --output F    save the model file (JSON) to F\n"
    "  --help            this text\n"
    "\n"
    "Confidence intervals are Wald intervals on the log scale (all parameters are\n"
    "positive; covariate coefficients: estimate +- 1.96 standard errors). Exit status 1 when the fit did not converge (the model is still\n"
    "saved with -o so it can be inspected).\n";

static const char predict_help[] =
    "usage: churn predict model.json customers.csv --horizon H [options] [-o scores.csv]\n"
    "\n"
    "Score customers with a saved BTYD model. Output columns:\n"
    "  customer_id, p_alive, expected_purchases, p_churn (= 1 - p_alive)\n"
    "bgnbd/mbgnbd/pnbd/ggomnbd/mbgcnbd: P(alive) at the end of the data and the\n"
    "expected number of purchases in the next H time units (the model's unit) given\n"
    "each history.\n"
    "bgbb: the same with H transaction opportunities; p_alive is the probability of\n"
    "being alive at the next opportunity (n + 1, the P(alive) of Fader, Hardie & Shang's\n"
    "tables), and a last column p_alive_through gives alive through opportunity n.\n"
    "sbg: p_alive = probability of renewing at the next renewal, expected_purchases =\n"
    "expected renewals in the next H periods, and with --discount D also derl, the\n"
    "discounted expected residual lifetime (Fader & Hardie 2010).\n"
    "A model fitted with covariates (churn fit --trans/--life) reads each customer's\n"
    "covariates from the table, by the names the model records (the columns 'churn\n"
    "features --covariates' appends); a missing one is an error naming it; --dert\n"
    "values each customer as the plain model at its own rates; --interval takes the\n"
    "covariance of the base parameters and every coefficient.\n"
    "\n"
    "Options:\n"
    "  --horizon H       prediction horizon (required)\n"
    "  --frequency COL   (default: frequency)\n"
    "  --recency COL     (default: recency)\n"
    "  --T COL           (default: T; bgbb: T, else periods)\n"
    "  --periods COL     sbg: renewals so far = periods completed while active (default: periods)\n"
    "  --discount D      sbg: discount rate per period for derl\n"
    "  --dert DELTA      bgnbd/mbgnbd/pnbd/ggomnbd/mbgcnbd: add the column dert, the\n"
    "                    discounted expected residual transactions (Fader, Hardie &\n"
    "                    Lee 2005) with continuous\n"
    "                    discounting at DELTA per time unit (DELTA = log(1 + d) / P for a\n"
    "                    rate d per period of P units)\n"
    "  --interval L      bgnbd/mbgnbd/pnbd/bgbb/ggomnbd/mbgcnbdk: add p_alive_lo, p_alive_hi,\n"
    "                    expected_purchases_lo, expected_purchases_hi, the L (e.g. 0.9)\n"
    "                    delta-method interval from the fit's covariance: how far the\n"
    "                    scores could move with the parameters' estimation error\n"
    "                    (docs/models/intervals.md); needs a model saved by churn fit\n"
    "  --unit U          time unit of the table when it declares none (no time_unit_days\n"
    "                    column), or of a model that records none; the two must agree\n"
    "  --convert-unit    when the table's unit differs from the model's: convert the model\n"
    "                    (bgnbd, mbgnbd, pnbd rates) to the table's unit on purpose\n"
    "  --id COL          the customer id column (default: customer_id or id; without\n"
    "                    one the rows are numbered 1..n, with a note)\n"
    "  --rejects F       the customers left out as CSV customer_id,reason: a row the\n"
    "                    model cannot score (recency > T, a negative count, ...) or\n"
    "                    whose scores are not finite numbers; the others are scored\n"
    "                    (a note names the first; not for sbg)\n"
    "  -o, --output F    output CSV (default: standard output)\n"
    "  --help            this text\n";

/* Library messages count rows from 0; point the user at the file line and id too. */
static int lib_fail_rows(const char *sub, const char *what, int st, const cli_table *t,
                         const char *path)
{
    const char *msg = churn_last_error_message();
    const char *r = strstr(msg, "row ");
    char *end;
    errno = 0;
    unsigned long long row = r ? strtoull(r + 4, &end, 10) : 0;
    /* BG/BB's whole opportunities: point at the table that counts them */
    const char *hint = strstr(msg, "whole number of transaction opportunities")
                           ? "; from a transaction log, 'churn features --period "
                             "year|quarter|month|week' counts whole opportunities"
                           : "";
    if (r && end != r + 4 && errno == 0 && t && row < t->nrows)
        return cli_fail(sub, "%s: %s (customer '%s', line %llu of %s)%s", what, msg,
                        t->ids[row], row + 2, path, hint);
    if (*hint)
        return cli_fail(sub, "%s: %s%s", what, msg, hint);
    return cli_lib_fail(sub, what, st);
}

/* ---- the fit's report ------------------------------------------------------- */

/* A covariate coefficient (trans.<name>, life.<name>): any sign, Wald interval as it is. */
static int is_coefficient(const char *name)
{
    return strncmp(name, "trans.", 6) == 0 || strncmp(name, "life.", 5) == 0;
}

static void ci95(const char *name, double v, double se, double *lo, double *hi)
{
    if (is_coefficient(name) && isfinite(se) && isfinite(v)) {
        *lo = v - 1.959963984540054 * se;
        *hi = v + 1.959963984540054 * se;
    } else if (!is_coefficient(name) && isfinite(se) && v > 0) {
        double f = exp(1.959963984540054 * se / v);
        *lo = v / f;
        *hi = v * f;
    } else {
        *lo = *hi = NAN;
    }
}


static json_t *fit_json(const churn_model *m)
{
    json_t *o = json_object(), *params = json_object();
    if (!o || !params) {
        json_decref(o);
        json_decref(params);
        return NULL;
    }
    for (size_t j = 0; j < churn_model_num_params(m); j++) {
        double v = NAN, se = NAN, lo, hi;
        const char *name = churn_model_param_name(m, j);
        churn_model_param(m, name, &v, &se);
        ci95(name, v, se, &lo, &hi);
        json_t *p = json_object();
        json_object_set_new(p, "estimate", cli_json_number(v));
        json_object_set_new(p, "std_error", cli_json_number(se));
        json_object_set_new(p, "ci95_lower", cli_json_number(lo));
        json_object_set_new(p, "ci95_upper", cli_json_number(hi));
        json_object_set_new(params, name, p);
    }
    json_object_set_new(o, "family", json_string(churn_family_name(churn_model_family(m))));
    json_object_set_new(o, "nobs", cli_json_number(churn_model_nobs(m)));
    json_object_set_new(o, "params", params);
    json_object_set_new(o, "loglik", cli_json_number(churn_model_loglik(m)));
    json_object_set_new(o, "converged", json_boolean(churn_model_converged(m)));
    json_object_set_new(o, "iterations", json_integer(churn_model_iterations(m)));
    json_object_set_new(o, "time_unit_days", json_real(churn_model_time_unit(m)));
    json_object_set_new(o, "note", json_string(churn_model_note(m)));
    return o;
}

static void fit_print(FILE *f, const churn_model *m)
{
    static const char *const titles[] = {"", "BG/NBD", "MBG/NBD", "Pareto/NBD", "BG/BB",
                                         "shifted beta-geometric (sBG)"};
    int fam = churn_model_family(m);
    fprintf(f, "%s model fitted on %.10g customers\n",
            fam >= 1 && fam <= 5           ? titles[fam]
            : fam == CHURN_FAMILY_GGOMNBD ? "Gamma-Gompertz/NBD"
            : fam == CHURN_FAMILY_MBGCNBD ? "MBG/CNBD-k"
                                          : churn_family_name(fam),
            churn_model_nobs(m));
    int width = 10; /* covariate coefficients have longer names */
    for (size_t j = 0; j < churn_model_num_params(m); j++) {
        size_t len = strlen(churn_model_param_name(m, j));
        if (len > (size_t)width && len < 200)
            width = (int)len;
    }
    fprintf(f, "%-*s %14s %14s %14s %14s\n", width, "parameter", "estimate", "std.error",
            "ci95.lower", "ci95.upper");
    for (size_t j = 0; j < churn_model_num_params(m); j++) {
        double v = NAN, se = NAN, lo, hi;
        const char *name = churn_model_param_name(m, j);
        churn_model_param(m, name, &v, &se);
        ci95(name, v, se, &lo, &hi);
        fprintf(f, "%-*s", width, name);
        double cells[4] = {v, se, lo, hi};
        for (int c = 0; c < 4; c++) { /* NA where the fit gives none (no convergence, penalty) */
            if (isfinite(cells[c]))
                fprintf(f, " %14.6g", cells[c]);
            else
                fprintf(f, " %14s", "NA");
        }
        fputc('\n', f);
    }
    fprintf(f, "log-likelihood %.4f\nconverged %s\niterations %d\n", churn_model_loglik(m),
            churn_model_converged(m) ? "yes" : "NO", churn_model_iterations(m));
    if (*churn_model_note(m))
        fprintf(f, "note: %s\n", churn_model_note(m));
}

/* ---- sBG survivor file ---------------------------------------------------------- */

static int read_survivors(const char *sub, const char *path, double **out, size_t *n)
{
    cli_table t;
    if (cli_table_read(sub, path, "none", &t))
        return CLI_EXIT_FAIL;
    *out = NULL;
    *n = 0;
    int rc = CLI_EXIT_FAIL;
    const double *col = NULL;
    for (size_t j = 0; j < t.ncols; j++)
        if ((int)j != t.id_col && strcmp(t.names[j], "survivors") == 0)
            col = t.text_error[j] ? NULL : t.cols[j];
    double *v = malloc((t.nrows ? t.nrows : 1) * sizeof *v);
    if (!v) {
        cli_fail(sub, "out of memory");
        goto done;
    }
    if (!col && t.ncols == 1) {
        /* a single column is read as the id column: parse its text */
        for (size_t i = 0; i < t.nrows; i++) {
            char *end;
            v[i] = strtod(t.ids[i], &end);
            if (end == t.ids[i] || *end) {
                cli_fail(sub, "%s, line %zu: '%s' is not a number", path, i + 2, t.ids[i]);
                goto done;
            }
        }
    } else if (col) {
        memcpy(v, col, t.nrows * sizeof *v);
    } else {
        cli_fail(sub, "%s: no column named 'survivors'", path);
        goto done;
    }
    *out = v;
    v = NULL;
    *n = t.nrows;
    rc = CLI_EXIT_OK;
done:
    free(v);
    cli_table_free(&t);
    return rc;
}

/* Column by name if present (no message), else NULL. A table without a
 * customer_id/id column (the donations table) has its first column taken as
 * the id column by cli_table_read: that column is parsed here as numbers
 * into `spare` (nrows doubles, may be NULL = do not parse). */
static const double *maybe_col_num(const cli_table *t, const char *name, double *spare)
{
    for (size_t j = 0; j < t->ncols; j++) {
        if (strcmp(t->names[j], name) != 0)
            continue;
        if ((int)j != t->id_col) {
            if (t->text_error[j]) {
                fprintf(stderr, "churn: %s\n", t->text_error[j]);
                return NULL;
            }
            return t->cols[j];
        }
        if (!spare)
            return NULL;
        for (size_t i = 0; i < t->nrows; i++) {
            char *end;
            spare[i] = strtod(t->ids[i], &end);
            if (end == t->ids[i] || *end)
                spare[i] = NAN;
        }
        return spare;
    }
    return NULL;
}

static const double *maybe_col(const cli_table *t, const char *name)
{
    return maybe_col_num(t, name, NULL);
}

/* Like cli_table_col (message when absent), also reading a numeric id column. */
static const double *need_col(const char *sub, const cli_table *t, const char *name,
                              double *spare)
{
    const double *c = maybe_col_num(t, name, spare);
    return c ? c : cli_table_col(sub, t, name);
}

typedef struct btyd_args {
    const char *input, *out, *fcol, *rcol, *Tcol, *wcol, *pcol, *ccol, *surv, *idcol;
    const char *rejects, *littcol, *trans, *life, *shared;
    double l2_trans, l2_life;
    double l2, unit, horizon, discount, dert, max_seconds, interval;
    long max_iter, max_evaluations, k;
    int json, convert_unit;
} btyd_args;

#define AT(m) CLI_AT(btyd_args, m)
static const cli_option fit_options[] = {
    CLI_OPT("--frequency", CLI_STRING, AT(fcol)),
    CLI_OPT("--recency", CLI_STRING, AT(rcol)),
    CLI_OPT("--T", CLI_STRING, AT(Tcol)),
    CLI_OPT("--weights", CLI_STRING, AT(wcol)),
    CLI_OPT("--periods", CLI_STRING, AT(pcol)),
    CLI_OPT("--churned", CLI_STRING, AT(ccol)),
    CLI_OPT("--survivors", CLI_STRING, AT(surv)),
    CLI_OPT("--litt", CLI_STRING, AT(littcol)),
    CLI_LONG_IN("--k", AT(k), 0, CHURN_MBGCNBD_KMAX),
    CLI_NONNEG("--l2", AT(l2)),
    CLI_OPT("--trans", CLI_STRING, AT(trans)),
    CLI_OPT("--life", CLI_STRING, AT(life)),
    CLI_OPT("--shared", CLI_STRING, AT(shared)),
    CLI_NONNEG("--l2-trans", AT(l2_trans)),
    CLI_NONNEG("--l2-life", AT(l2_life)),
    CLI_LONG_IN("--max-iter", AT(max_iter), 1, 1000000),
    CLI_LONG_IN("--max-evaluations", AT(max_evaluations), 1, 2000000000),
    CLI_NONNEG("--max-seconds", AT(max_seconds)),
    CLI_OPT("--unit", CLI_UNIT, AT(unit)),
    CLI_TABLE_ID(AT(idcol)),
    CLI_OPT("--json", CLI_FLAG, AT(json)),
    CLI_OUTPUT(AT(out)),
};
static const cli_option predict_options[] = {
    CLI_NONNEG("--horizon", AT(horizon)),
    CLI_NONNEG("--discount", AT(discount)),
    {.name = "--dert", .kind = CLI_DOUBLE, .at = AT(dert), .bounds = CLI_MIN_OPEN, .min = 0,
     .range_msg = "option --dert: %g must be > 0 (a continuously compounded rate per time "
                  "unit)"},
    CLI_OPT("--frequency", CLI_STRING, AT(fcol)),
    CLI_OPT("--recency", CLI_STRING, AT(rcol)),
    CLI_OPT("--T", CLI_STRING, AT(Tcol)),
    CLI_OPT("--periods", CLI_STRING, AT(pcol)),
    {.name = "--interval", .kind = CLI_DOUBLE, .at = AT(interval), .bounds = CLI_MIN_OPEN,
     .min = 0, .range_msg = "option --interval: %g must lie strictly between 0 and 1 (e.g. "
                            "0.9 for 90% intervals)"},
    CLI_OPT("--unit", CLI_UNIT, AT(unit)),
    CLI_OPT("--convert-unit", CLI_FLAG, AT(convert_unit)),
    CLI_TABLE_ID(AT(idcol)),
    CLI_OPT("--rejects", CLI_STRING, AT(rejects)),
    CLI_OUTPUT(AT(out)),
};
static const cli_spec fit_spec = {
    .options = fit_options, .noptions = CLI_NOPTIONS(fit_options), .positional = {AT(input)},
    .help = fit_help,
};
static const cli_spec predict_spec = {
    .options = predict_options, .noptions = CLI_NOPTIONS(predict_options),
    .positional = {AT(input)}, .missing = "missing the customers.csv argument",
    .help = predict_help,
};
#undef AT

/* The defaults shared by fit and predict. */
static btyd_args default_args(void)
{
    btyd_args a = {.fcol = "frequency", .rcol = "recency", .pcol = "periods",
                   .ccol = "churned", .horizon = NAN, .discount = NAN, .dert = NAN,
                   .interval = NAN, .k = -1};
    return a;
}

/* The T column: bgbb tables (the donations table) may call it periods. */
static const char *T_column(int family, const cli_table *t, const char *Tcol)
{
    if (Tcol)
        return Tcol;
    return (family == CHURN_FAMILY_BGBB && !maybe_col(t, "T") && maybe_col(t, "periods"))
               ? "periods" : "T";
}

/* Scratch buffers of a fit from a customer table. */
typedef struct fit_bufs {
    double *svals, *spare;
    int *cbuf;
    char **tn, **ln, **sn; /* --trans, --life, --shared split */
    cli_cov_set cov;
} fit_bufs;

static const double *table_col(const char *sub, const void *t, const char *name)
{
    return cli_table_col(sub, t, name);
}

/* --trans/--life: the fit with covariates (columns of the table). */
static int fit_covariates(const char *sub, int family, const btyd_args *a, const cli_table *t,
                          const double *x, const double *tx, const double *T, const double *w,
                          const double *litt, fit_bufs *b, churn_model **m, int *st)
{
    size_t nt = 0, nl = 0, ns = 0;
    b->tn = cli_split_list(a->trans ? a->trans : "", &nt);
    b->ln = cli_split_list(a->life ? a->life : "", &nl);
    b->sn = cli_split_list(a->shared ? a->shared : "", &ns);
    if (!b->tn || !b->ln || !b->sn)
        return cli_fail(sub, "out of memory");
    if (nt + nl == 0)
        return cli_usage_error(sub, "--trans/--life: no column named");
    if (cli_cov_build(sub, t->nrows, b->tn, nt, b->ln, nl, table_col, t, &b->cov))
        return CLI_EXIT_FAIL;
    churn_btyd_cov_options co;
    churn_btyd_cov_options_init(&co);
    co.l2_trans = a->l2_trans;
    co.l2_life = a->l2_life;
    co.n_shared = ns;
    co.shared = (const char *const *)b->sn;
    if (a->max_iter > 0)
        co.max_iter = (int)a->max_iter;
    if (family == CHURN_FAMILY_MBGCNBD)
        *st = churn_mbgcnbd_fit_covariates(m, a->k < 0 ? 0 : (int)a->k, t->nrows, x, tx, T,
                                           litt, w, &b->cov.cov, &co);
    else
        *st = churn_btyd_fit_covariates(m, family, t->nrows, x, tx, T, w, &b->cov.cov, &co);
    return CLI_EXIT_OK;
}

static int fit_sbg_table(const char *sub, const btyd_args *a, const cli_table *t,
                         const double *w, fit_bufs *b, const churn_btyd_options *o,
                         churn_model **m, int *st)
{
    const double *per = need_col(sub, t, a->pcol, b->spare);
    const double *chd = per ? need_col(sub, t, a->ccol, b->spare) : NULL;
    if (!chd)
        return CLI_EXIT_FAIL;
    b->cbuf = malloc((t->nrows ? t->nrows : 1) * sizeof *b->cbuf);
    if (!b->cbuf)
        return cli_fail(sub, "out of memory");
    for (size_t i = 0; i < t->nrows; i++) {
        if (chd[i] != 0 && chd[i] != 1)
            return cli_fail(sub, "%s, line %zu (customer '%s'), column '%s': %g must be 0 or 1",
                            a->input, i + 2, t->ids[i], a->ccol, chd[i]);
        b->cbuf[i] = (int)chd[i];
    }
    *st = churn_sbg_fit(m, t->nrows, per, b->cbuf, w, o);
    return CLI_EXIT_OK;
}

/* Fit from the customer table; *st gets the library's status. */
static int fit_table(const char *sub, int family, const btyd_args *a, const cli_table *t,
                     fit_bufs *b, const churn_btyd_options *o, churn_model **m, int *st)
{
    b->spare = malloc((t->nrows ? t->nrows : 1) * sizeof *b->spare);
    if (!b->spare)
        return cli_fail(sub, "out of memory");
    const double *w = NULL;
    if (a->wcol && !(w = need_col(sub, t, a->wcol, b->spare)))
        return CLI_EXIT_FAIL;
    if (family == CHURN_FAMILY_SBG)
        return fit_sbg_table(sub, a, t, w, b, o, m, st);
    const char *Tcol = T_column(family, t, a->Tcol);
    if (!a->wcol && family == CHURN_FAMILY_BGBB)
        w = maybe_col(t, "weights");
    const double *x = need_col(sub, t, a->fcol, b->spare);
    const double *tx = x ? need_col(sub, t, a->rcol, b->spare) : NULL;
    const double *T = tx ? need_col(sub, t, Tcol, b->spare) : NULL;
    if (!T)
        return CLI_EXIT_FAIL;
    if (family == CHURN_FAMILY_MBGCNBD) {
        /* k = 1 needs no litt; any other k (0: chosen) reads the column */
        int k = a->k < 0 ? 0 : (int)a->k;
        const char *lcol = a->littcol ? a->littcol : "litt";
        const double *litt = NULL;
        if (k != 1 && !(litt = need_col(sub, t, lcol, b->spare)))
            return CLI_EXIT_FAIL;
        if (a->trans || a->life)
            return fit_covariates(sub, family, a, t, x, tx, T, w, litt, b, m, st);
        *st = churn_mbgcnbd_fit(m, k, t->nrows, x, tx, T, litt, w, o);
        return CLI_EXIT_OK;
    }
    if (a->trans || a->life)
        return fit_covariates(sub, family, a, t, x, tx, T, w, NULL, b, m, st);
    *st = churn_btyd_fit(m, family, t->nrows, x, tx, T, w, o);
    return CLI_EXIT_OK;
}

static int check_fit_options(const char *sub, int family, const btyd_args *a)
{
    if (a->surv && family != CHURN_FAMILY_SBG)
        return cli_usage_error(sub, "--survivors is for sbg models only");
    if ((a->k >= 0 || a->littcol) && family != CHURN_FAMILY_MBGCNBD)
        return cli_usage_error(sub, "--k and --litt are for mbgcnbd models only");
    if (a->surv && a->input)
        return cli_usage_error(sub, "give either customers.csv or --survivors, not both");
    int cov_family = family == CHURN_FAMILY_PNBD || family == CHURN_FAMILY_BGNBD ||
                     family == CHURN_FAMILY_MBGNBD || family == CHURN_FAMILY_GGOMNBD ||
                     family == CHURN_FAMILY_MBGCNBD;
    if ((a->trans || a->life) && !cov_family)
        return cli_usage_error(sub, "--trans and --life are for pnbd, bgnbd, mbgnbd, ggomnbd "
                               "and mbgcnbdk models: "
                               "the library has no covariate model of family '%s' "
                               "(docs/models/covariates.md)", churn_family_name(family));
    if ((a->shared || a->l2_trans > 0 || a->l2_life > 0) && !(a->trans || a->life))
        return cli_usage_error(sub, "--shared, --l2-trans and --l2-life need --trans or "
                               "--life (the covariate columns)");
    if ((a->trans || a->life) && (a->l2 > 0 || a->max_evaluations || a->max_seconds > 0))
        return cli_usage_error(sub, "--l2, --max-evaluations and --max-seconds are not "
                               "options of the fit with covariates (Newton's method; see "
                               "--l2-trans, --l2-life, --max-iter)");
    if (!a->input && !a->surv)
        return cli_usage_error(sub, "missing the customers.csv argument");
    return CLI_EXIT_OK;
}

/* The fit's report on standard output, the model to -o; exit status 1 when not converged. */
static int report_fit(const char *sub, const btyd_args *a, double unit, churn_model *m)
{
    if (unit > 0)
        churn_model_set_time_unit(m, unit);
    else
        fprintf(stderr, "churn %s: note: %s declares no time unit (no %s column, no --unit): "
                "the model records none, and scoring it will need --unit\n", sub,
                a->surv ? a->surv : a->input, CLI_UNIT_COLUMN);
    int rc = CLI_EXIT_OK;
    if (a->json)
        rc = cli_print_json(sub, fit_json(m),
                            JSON_INDENT(2) | JSON_REAL_PRECISION(12) | JSON_PRESERVE_ORDER);
    else
        fit_print(stdout, m);
    if (!rc)
        rc = cli_save_model(sub, m, a->out);
    if (!rc)
        rc = churn_model_converged(m) ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    return rc;
}

int cmd_fit_btyd(int family, int argc, char **argv)
{
    char sub[32];
    snprintf(sub, sizeof sub, "fit %s", churn_family_name(family));
    btyd_args a = default_args();
    int rc = cli_parse(&fit_spec, sub, argc, argv, &a);
    if (rc != CLI_CONTINUE)
        return rc;
    if ((rc = check_fit_options(sub, family, &a)))
        return rc;

    churn_btyd_options o = CHURN_BTYD_OPTIONS_INIT;
    o.l2_penalty = a.l2;
    o.max_iter = (int)a.max_iter;
    o.max_evaluations = (int)a.max_evaluations; /* 0: the library's default */
    o.max_seconds = a.max_seconds;              /* 0: no time limit */
    cli_table t;
    memset(&t, 0, sizeof t);
    churn_model *m = NULL;
    fit_bufs b = {0};
    int st = CHURN_OK;
    size_t ns = 0;
    double unit = a.unit;
    if (a.surv) {
        rc = read_survivors(sub, a.surv, &b.svals, &ns);
        if (!rc)
            st = churn_sbg_fit_survivors(&m, ns, b.svals, &o);
    } else {
        rc = cli_table_read(sub, a.input, a.idcol, &t);
        if (!rc)
            rc = cli_table_unit(sub, a.input, &t, a.unit, &unit);
        if (!rc)
            rc = fit_table(sub, family, &a, &t, &b, &o, &m, &st);
    }
    if (!rc && st == CHURN_ENOCONV)
        fprintf(stderr, "churn %s: warning: %s\n", sub, churn_last_error_message());
    else if (!rc && st)
        rc = lib_fail_rows(sub, "fitting", st, a.surv ? NULL : &t, a.input);
    if (!rc)
        rc = report_fit(sub, &a, unit, m);
    churn_model_free(m);
    cli_table_free(&t);
    free(b.svals);
    free(b.spare);
    free(b.cbuf);
    free(b.tn);
    free(b.ln);
    free(b.sn);
    cli_cov_set_free(&b.cov);
    return rc ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

/* ---- predict ---------------------------------------------------------------------- */

/* sBG scores for customers who have renewed `periods` times and are active:
 * P(renew next) = S(n+1)/S(n); expected renewals in the next h periods =
 * sum_{k=1..h} S(n+k)/S(n). */
static int sbg_scores(const char *sub, const churn_model *m, const cli_table *t,
                      const char *input, const double *per, double h, double *pa, double *e)
{
    double maxp = 0;
    for (size_t i = 0; i < t->nrows; i++) {
        if (!(per[i] >= 0) || per[i] != floor(per[i]) || per[i] > 1e7)
            return cli_fail(sub, "%s, line %zu (customer '%s'): periods %g must be a whole "
                            "number >= 0", input, i + 2, t->ids[i], per[i]);
        maxp = fmax(maxp, per[i]);
    }
    if (h != floor(h) || h > 1e7)
        return cli_fail(sub, "--horizon %g must be a whole number of periods for an sbg model",
                        h);
    size_t len = (size_t)(maxp + h) + 1;
    double *S = malloc((len + 1) * sizeof *S);
    if (!S)
        return cli_fail(sub, "out of memory");
    S[0] = 1;
    int st = churn_sbg_curve(m, len, NULL, S + 1);
    if (st) {
        free(S);
        return cli_lib_fail(sub, "survival curve", st);
    }
    for (size_t i = 0; i < t->nrows; i++) {
        size_t n = (size_t)per[i];
        pa[i] = S[n + 1] / S[n];
        double s = 0;
        for (size_t k = 1; k <= (size_t)h; k++)
            s += S[n + k] / S[n];
        e[i] = s;
    }
    free(S);
    return CLI_EXIT_OK;
}

/* `extra` is the optional last column, named `extra_name`: derl (sbg with --discount),
 * dert (--dert) or p_alive_through (bgbb); or NULL. */
static void write_scores(FILE *f, const cli_table *t, const double *pa, const double *e,
                         const double *extra, const char *extra_name, const double *iv,
                         char *const *why)
{
    fprintf(f, "customer_id,p_alive,expected_purchases,p_churn%s%s%s\n", extra ? "," : "",
            extra ? extra_name : "",
            iv ? ",p_alive_lo,p_alive_hi,expected_purchases_lo,expected_purchases_hi" : "");
    for (size_t i = 0; i < t->nrows; i++) {
        if (why && why[i])
            continue;
        cli_put_field(f, t->ids[i]);
        fputc(',', f);
        cli_put_double(f, pa[i]);
        fputc(',', f);
        cli_put_double(f, e[i]);
        fputc(',', f);
        cli_put_double(f, 1 - pa[i]);
        if (extra) {
            fputc(',', f);
            cli_put_double(f, extra[i]);
        }
        for (int j = 0; iv && j < 4; j++) {
            fputc(',', f);
            cli_put_double(f, iv[(size_t)j * t->nrows + i]);
        }
        fputc('\n', f);
    }
}

/* The scores of rows [lo, lo + cnt); *step names the call that failed. */
static int score_range(const churn_model *model, const btyd_args *a, int bgbb,
                       const double *x, const double *tx, const double *T, size_t lo,
                       size_t cnt, double *pa, double *e, double *derl,
                       const cli_cov_set *cov, const char **step)
{
    int st;
    x += lo, tx += lo, T += lo, pa += lo, e += lo, derl += lo;
    *step = "scoring";
    if (cov) {
        /* a covariate model: the whole table, or one customer with its own row */
        double row[256];
        churn_btyd_covariates one = cov->cov;
        if (cnt != cov->n)
            cli_cov_row(cov, lo, row, &one);
        if ((st = churn_btyd_score_covariates(model, a->horizon, cnt, x, tx, T, &one, pa, e)))
            return st;
        /* DERT: each customer as the plain model at its own rates */
        *step = "DERT";
        if (!isnan(a->dert) && (st = churn_dert_covariates(model, a->dert, cnt, x, tx, T, &one,
                                                           derl)))
            return st;
        return CHURN_OK;
    }
    if ((st = churn_btyd_score(model, a->horizon, cnt, x, tx, T, bgbb ? derl : pa, e)))
        return st;
    *step = "DERT";
    if (!isnan(a->dert) && (st = churn_dert(model, a->dert, cnt, x, tx, T, derl)))
        return st;
    *step = "P(alive)";
    if (bgbb && (st = churn_bgbb_p_alive_at(model, 1, cnt, x, tx, T, pa)))
        return st;
    return CHURN_OK;
}

/* why[i] = "what: reason" (a copy); nonzero out of memory. */
static int set_why(char **why, size_t i, const char *what, const char *reason)
{
    size_t len = strlen(what) + strlen(reason) + 3;
    if (!(why[i] = malloc(len)))
        return -1;
    snprintf(why[i], len, "%s: %s", what, reason);
    return 0;
}

/* P(alive) and expected purchases of every row (and DERL for sbg with --discount; for bgbb
 * p_alive is alive at the next opportunity, the published convention, and `derl` gets
 * p_alive_through, alive through the last one). */
static int score_rows(const char *sub, const churn_model *model, const btyd_args *a,
                      const cli_table *t, double *pa, double *e, double *derl, double *spare,
                      const cli_cov_set *cov, char **why)
{
    int family = churn_model_family(model), st;
    size_t n = t->nrows;
    if (family == CHURN_FAMILY_SBG) {
        const double *per = need_col(sub, t, a->pcol, spare);
        if (!per || sbg_scores(sub, model, t, a->input, per, a->horizon, pa, e))
            return CLI_EXIT_FAIL;
        if (!isnan(a->discount) && (st = churn_sbg_derl(model, a->discount, n, per, derl)))
            return lib_fail_rows(sub, "DERL", st, t, a->input);
        return CLI_EXIT_OK;
    }
    const char *Tcol = T_column(family, t, a->Tcol);
    const double *x = need_col(sub, t, a->fcol, spare);
    const double *tx = x ? need_col(sub, t, a->rcol, spare) : NULL;
    const double *T = tx ? need_col(sub, t, Tcol, spare) : NULL;
    if (!T)
        return CLI_EXIT_FAIL;
    int bgbb = family == CHURN_FAMILY_BGBB;
    const char *step;
    st = score_range(model, a, bgbb, x, tx, T, 0, n, pa, e, derl, cov, &step);
    if (st == CHURN_ENOMEM)
        return lib_fail_rows(sub, step, st, t, a->input);
    /* a row the library refuses: every row again on its own, those that fail left out */
    for (size_t i = 0; st && i < n; i++) {
        int si = score_range(model, a, bgbb, x, tx, T, i, 1, pa, e, derl, cov, &step);
        if (si == CHURN_ENOMEM)
            return lib_fail_rows(sub, step, si, t, a->input);
        char m1[600];
        if (si && set_why(why, i, step,
                          cli_one_row_message(churn_last_error_message(), m1, sizeof m1)))
            return cli_fail(sub, "out of memory");
    }
    int extra = bgbb || !isnan(a->dert);
    for (size_t i = 0; i < n; i++) {
        if (why[i])
            continue;
        const char *col = !isfinite(pa[i])              ? "p_alive"
                          : !isfinite(e[i])             ? "expected_purchases"
                          : extra && !isfinite(derl[i]) ? (bgbb ? "p_alive_through" : "dert")
                                                        : NULL;
        if (col && set_why(why, i, col, "not a finite number"))
            return cli_fail(sub, "out of memory");
    }
    return CLI_EXIT_OK;
}

/* --interval: the four limits of every row still scored (iv, 4 x n column blocks); a
 * row the library refuses on its own is left out with the reason, like score_rows. */
/* The interval of rows [lo, lo + cnt): a covariate model with each customer's covariates
 * (the whole table, or one customer with its own row), a plain one without. */
static int interval_range(const churn_model *model, const btyd_args *a, const double *x,
                          const double *tx, const double *T, size_t lo, size_t cnt, size_t n,
                          double *iv, const cli_cov_set *cov)
{
    if (!cov)
        return churn_btyd_predict_interval(model, a->horizon, a->interval, cnt, x + lo,
                                           tx + lo, T + lo, NULL, iv + lo, iv + n + lo, NULL,
                                           iv + 2 * n + lo, iv + 3 * n + lo);
    double row[256];
    churn_btyd_covariates one = cov->cov;
    if (cnt != cov->n)
        cli_cov_row(cov, lo, row, &one);
    return churn_btyd_predict_interval_covariates(model, a->horizon, a->interval, cnt, x + lo,
                                                  tx + lo, T + lo, &one, NULL, iv + lo,
                                                  iv + n + lo, NULL, iv + 2 * n + lo,
                                                  iv + 3 * n + lo);
}

static int interval_rows(const char *sub, const churn_model *model, const btyd_args *a,
                         const cli_table *t, double *iv, double *spare,
                         const cli_cov_set *cov, char **why)
{
    int family = churn_model_family(model);
    size_t n = t->nrows;
    const double *x = need_col(sub, t, a->fcol, spare);
    const double *tx = x ? need_col(sub, t, a->rcol, spare) : NULL;
    const double *T = tx ? need_col(sub, t, T_column(family, t, a->Tcol), spare) : NULL;
    if (!T)
        return CLI_EXIT_FAIL;
    int st = interval_range(model, a, x, tx, T, 0, n, n, iv, cov);
    if (st == CHURN_EUNSUPPORTED || st == CHURN_EFORMAT || st == CHURN_EFAMILY ||
        st == CHURN_ENOMEM)
        return cli_fail(sub, "--interval: %s", churn_last_error_message());
    for (size_t i = 0; st && i < n; i++) {
        if (why[i])
            continue;
        int si = interval_range(model, a, x, tx, T, i, 1, n, iv, cov);
        char m1[600];
        if (si && set_why(why, i, "interval",
                          cli_one_row_message(churn_last_error_message(), m1, sizeof m1)))
            return cli_fail(sub, "out of memory");
    }
    return CLI_EXIT_OK;
}

/* Every row left out: the model or the table is at fault, not one customer. */
static int all_rejected(const char *sub, const cli_table *t, const char *input,
                        char *const *why)
{
    size_t n = t->nrows, bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += why[i] != NULL;
    if (!n || bad < n)
        return 0;
    return cli_fail(sub, "%s: no customer could be scored; customer '%s' (line 2): %s", input,
                    t->ids[0], why[0]);
}

/* A covariate of the model from the customer table, by name. */
typedef struct cov_src {
    const cli_table *t;
    const char *path;
} cov_src;

static const double *model_cov_col(const char *sub, const void *ud, const char *name)
{
    const cov_src *c = ud;
    for (size_t j = 0; j < c->t->ncols; j++)
        if ((int)j != c->t->id_col && strcmp(c->t->names[j], name) == 0) {
            if (c->t->text_error[j]) {
                cli_fail(sub, "%s", c->t->text_error[j]);
                return NULL;
            }
            return c->t->cols[j];
        }
    cli_fail(sub, "%s: no column '%s', a covariate of the model (a model fitted with "
             "--trans/--life scores each customer with its covariates: 'churn features "
             "--covariates FILE' appends them)", c->path, name);
    return NULL;
}

/* The covariates of a covariate model from the table (nothing for a plain model): *on = 1
 * when s holds them. */
static int model_covariates(const char *sub, const churn_model *model, const cli_table *t,
                            const char *path, cli_cov_set *s, int *on)
{
    cli_cov_names nm;
    int k = cli_cov_model_names(model, &nm);
    *on = 0;
    if (k < 0)
        return cli_fail(sub, "out of memory");
    if (k == 0)
        return CLI_EXIT_OK;
    cov_src src = {t, path};
    int rc = CLI_EXIT_OK;
    if (nm.nt + nm.nl > 256)
        rc = cli_fail(sub, "the model has %zu covariates: at most 256 are supported here",
                      nm.nt + nm.nl);
    else
        rc = cli_cov_build(sub, t->nrows, nm.trans, nm.nt, nm.life, nm.nl, model_cov_col, &src,
                           s);
    /* the name arrays are kept with the matrices (the names point into the model) */
    *on = rc == CLI_EXIT_OK;
    if (rc)
        cli_cov_names_free(&nm);
    else
        s->names_block = nm.trans;
    return rc;
}

int cmd_predict_btyd(churn_model *model, int argc, char **argv)
{
    static const char sub[] = "predict";
    btyd_args a = default_args();
    int rc = cli_parse(&predict_spec, sub, argc, argv, &a);
    if (rc != CLI_CONTINUE)
        return rc;
    if (isnan(a.horizon))
        return cli_usage_error(sub, "--horizon H is required (in the model's time unit)");
    int family = churn_model_family(model);
    if (!isnan(a.discount) && family != CHURN_FAMILY_SBG)
        return cli_usage_error(sub, "--discount is for sbg models only");
    if (!isnan(a.dert) && family != CHURN_FAMILY_BGNBD && family != CHURN_FAMILY_MBGNBD &&
        family != CHURN_FAMILY_PNBD && family != CHURN_FAMILY_GGOMNBD &&
        family != CHURN_FAMILY_MBGCNBD)
        return cli_usage_error(sub, "--dert is for bgnbd, mbgnbd, pnbd, ggomnbd and mbgcnbd "
                               "models (sbg: --discount gives derl)");
    if (!isnan(a.interval) && !(a.interval < 1))
        return cli_usage_error(sub, "option --interval: %g must lie strictly between 0 and 1 "
                               "(e.g. 0.9 for 90%% intervals)", a.interval);
    if (!isnan(a.interval) && family == CHURN_FAMILY_SBG)
        return cli_usage_error(sub, "--interval is for bgnbd, mbgnbd, pnbd and bgbb models");

    cli_table t;
    double unit = 0;
    if (cli_table_read(sub, a.input, a.idcol, &t))
        return CLI_EXIT_FAIL;
    cli_cov_set cov;
    memset(&cov, 0, sizeof cov);
    int with_cov = 0;
    if (cli_table_unit(sub, a.input, &t, a.unit, &unit) ||
        cli_check_model_unit(sub, model, unit, a.unit, a.convert_unit) ||
        model_covariates(sub, model, &t, a.input, &cov, &with_cov)) {
        cli_table_free(&t);
        return CLI_EXIT_FAIL;
    }
    rc = CLI_EXIT_FAIL;
    size_t n = t.nrows;
    double *buf = malloc(8 * (n ? n : 1) * sizeof *buf);
    char **why = calloc(n ? n : 1, sizeof *why);
    cli_rejects rj;
    memset(&rj, 0, sizeof rj);
    if (!buf || !why) {
        cli_fail(sub, "out of memory");
    } else if (!score_rows(sub, model, &a, &t, buf, buf + n, buf + 2 * n, buf + 3 * n,
                           with_cov ? &cov : NULL, why) &&
               (isnan(a.interval) ||
                !interval_rows(sub, model, &a, &t, buf + 4 * n, buf + 3 * n,
                               with_cov ? &cov : NULL, why)) &&
               !all_rejected(sub, &t, a.input, why) &&
               !cli_rejects_open(sub, &rj, a.rejects)) {
        for (size_t i = 0; i < n; i++)
            if (why[i])
                cli_reject(&rj, t.ids[i], "line %zu of %s: %s", i + 2, a.input, why[i]);
        FILE *f = cli_open_out(sub, a.out);
        if (!f)
            cli_rejects_close(sub, &rj, n, 1, 0);
        if (f) {
            int with_derl = family == CHURN_FAMILY_SBG && !isnan(a.discount);
            int with_dert = !isnan(a.dert);
            int bgbb = family == CHURN_FAMILY_BGBB; /* --dert is refused for bgbb above */
            write_scores(f, &t, buf, buf + n,
                         with_derl || with_dert || bgbb ? buf + 2 * n : NULL,
                         bgbb ? "p_alive_through" : with_derl ? "derl" : "dert",
                         isnan(a.interval) ? NULL : buf + 4 * n, why);
            rc = cli_close_out(sub, f, a.out);
            int rc2 = cli_rejects_close(sub, &rj, n, 0, rc == CLI_EXIT_OK);
            rc = rc ? rc : rc2;
        }
    }
    for (size_t i = 0; why && i < n; i++)
        free(why[i]);
    free(why);
    free(buf);
    cli_cov_set_free(&cov);
    cli_table_free(&t);
    return rc;
}
