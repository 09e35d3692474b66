/* `churn fit bgnbd|mbgnbd|pnbd|bgbb|sbg` and `churn predict` for BTYD models. */
#include "cli.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char fit_help[] =
    "usage: churn fit bgnbd|mbgnbd|pnbd|bgbb customers.csv [options] [-o model.json]\n"
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
    "  --survivors FILE  sbg: fit a survivor curve instead: a column 'survivors' (or the\n"
    "                    only column) with the cohort size first, then the customers\n"
    "                    still active after each period\n"
    "  --l2 X            L2 penalty on the log-parameters, on the scale of the mean\n"
    "                    log-likelihood (default 0; see docs/models/btyd.md)\n"
    "  --max-iter N      optimiser iterations (default 500)\n"
    "  --unit U          time unit of the table, recorded in the model: day, week,\n"
    "                    month, year or N days (default: not recorded)\n"
    "  --json            print the fit as JSON\n"
    "  -o, --output F    save the model file (JSON) to F\n"
    "  --help            this text\n"
    "\n"
    "Confidence intervals are Wald intervals on the log scale (all parameters are\n"
    "positive). Exit status 1 when the fit did not converge (the model is still\n"
    "saved with -o so it can be inspected).\n";

static const char predict_help[] =
    "usage: churn predict model.json customers.csv --horizon H [options] [-o scores.csv]\n"
    "\n"
    "Score customers with a saved BTYD model. Output columns:\n"
    "  customer_id, p_alive, expected_purchases, p_churn (= 1 - p_alive)\n"
    "bgnbd/mbgnbd/pnbd: P(alive) at the end of the data and the expected number of\n"
    "purchases in the next H time units (the model's unit) given each history.\n"
    "bgbb: the same with H transaction opportunities.\n"
    "sbg: p_alive = probability of renewing at the next renewal, expected_purchases =\n"
    "expected renewals in the next H periods, and with --discount D also derl, the\n"
    "discounted expected residual lifetime (Fader & Hardie 2010).\n"
    "\n"
    "Options:\n"
    "  --horizon H       prediction horizon (required)\n"
    "  --frequency COL   (default: frequency)\n"
    "  --recency COL     (default: recency)\n"
    "  --T COL           (default: T; bgbb: T, else periods)\n"
    "  --periods COL     sbg: renewals so far = periods completed while active (default: periods)\n"
    "  --discount D      sbg: discount rate per period for derl\n"
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
    if (r && end != r + 4 && errno == 0 && t && row < t->nrows)
        return cli_fail(sub, "%s: %s (customer '%s', line %llu of %s)", what, msg, t->ids[row],
                        row + 2, path);
    return cli_lib_fail(sub, what, st);
}

/* ---- the fit's report ------------------------------------------------------- */

static void ci95(double v, double se, double *lo, double *hi)
{
    if (isfinite(se) && v > 0) {
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
        ci95(v, se, &lo, &hi);
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
            fam >= 1 && fam <= 5 ? titles[fam] : churn_family_name(fam), churn_model_nobs(m));
    fprintf(f, "%-10s %14s %14s %14s %14s\n", "parameter", "estimate", "std.error", "ci95.lower",
            "ci95.upper");
    for (size_t j = 0; j < churn_model_num_params(m); j++) {
        double v = NAN, se = NAN, lo, hi;
        churn_model_param(m, churn_model_param_name(m, j), &v, &se);
        ci95(v, se, &lo, &hi);
        fprintf(f, "%-10s", churn_model_param_name(m, j));
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
    if (cli_table_read(sub, path, &t))
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

int cmd_fit_btyd(int family, int argc, char **argv)
{
    char sub[32];
    snprintf(sub, sizeof sub, "fit %s", churn_family_name(family));
    const char *input = NULL, *out = NULL, *fcol = "frequency", *rcol = "recency", *Tcol = NULL,
               *wcol = NULL, *pcol = "periods", *ccol = "churned", *surv = NULL;
    double l2 = 0, unit = 0;
    long max_iter = 0;
    int json = 0;
    cli_args a;
    cli_args_init(&a, argc, argv, 1, sub);
    while (cli_next(&a)) {
        if (cli_flag(&a, "--help") || cli_flag(&a, "-h")) {
            fputs(fit_help, stdout);
            return CLI_EXIT_OK;
        } else if (cli_is(&a, "--frequency")) {
            cli_string(&a, &fcol);
        } else if (cli_is(&a, "--recency")) {
            cli_string(&a, &rcol);
        } else if (cli_is(&a, "--T")) {
            cli_string(&a, &Tcol);
        } else if (cli_is(&a, "--weights")) {
            cli_string(&a, &wcol);
        } else if (cli_is(&a, "--periods")) {
            cli_string(&a, &pcol);
        } else if (cli_is(&a, "--churned")) {
            cli_string(&a, &ccol);
        } else if (cli_is(&a, "--survivors")) {
            cli_string(&a, &surv);
        } else if (cli_is(&a, "--l2")) {
            if (!cli_double(&a, &l2) && l2 < 0)
                return cli_usage_error(sub, "option --l2: %g must be >= 0", l2);
        } else if (cli_is(&a, "--max-iter")) {
            if (!cli_long(&a, &max_iter) && (max_iter < 1 || max_iter > 1000000))
                return cli_usage_error(sub, "option --max-iter: %ld is not in 1..1000000",
                                       max_iter);
        } else if (cli_is(&a, "--unit")) {
            cli_unit(&a, &unit);
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
    if (surv && family != CHURN_FAMILY_SBG)
        return cli_usage_error(sub, "--survivors is for sbg models only");
    if (surv && input)
        return cli_usage_error(sub, "give either customers.csv or --survivors, not both");
    if (!input && !surv)
        return cli_usage_error(sub, "missing the customers.csv argument");

    churn_btyd_options o = CHURN_BTYD_OPTIONS_INIT;
    o.l2_penalty = l2;
    o.max_iter = (int)max_iter;
    cli_table t;
    memset(&t, 0, sizeof t);
    churn_model *m = NULL;
    double *svals = NULL, *spare = NULL;
    int *cbuf = NULL;
    int rc = CLI_EXIT_FAIL, st;
    if (surv) {
        size_t ns = 0;
        if (read_survivors(sub, surv, &svals, &ns))
            goto done;
        st = churn_sbg_fit_survivors(&m, ns, svals, &o);
    } else {
        if (cli_table_read(sub, input, &t))
            goto done;
        spare = malloc((t.nrows ? t.nrows : 1) * sizeof *spare);
        if (!spare) {
            cli_fail(sub, "out of memory");
            goto done;
        }
        const double *w = NULL;
        if (wcol && !(w = need_col(sub, &t, wcol, spare)))
            goto done;
        if (family == CHURN_FAMILY_SBG) {
            const double *per = need_col(sub, &t, pcol, spare);
            const double *chd = per ? need_col(sub, &t, ccol, spare) : NULL;
            if (!chd)
                goto done;
            cbuf = malloc((t.nrows ? t.nrows : 1) * sizeof *cbuf);
            if (!cbuf) {
                cli_fail(sub, "out of memory");
                goto done;
            }
            for (size_t i = 0; i < t.nrows; i++) {
                if (chd[i] != 0 && chd[i] != 1) {
                    cli_fail(sub, "%s, line %zu (customer '%s'), column '%s': %g must be 0 or 1",
                             input, i + 2, t.ids[i], ccol, chd[i]);
                    goto done;
                }
                cbuf[i] = (int)chd[i];
            }
            st = churn_sbg_fit(&m, t.nrows, per, cbuf, w, &o);
        } else {
            if (!Tcol)
                Tcol = (family == CHURN_FAMILY_BGBB && !maybe_col(&t, "T") &&
                        maybe_col(&t, "periods")) ? "periods" : "T";
            if (!wcol && family == CHURN_FAMILY_BGBB)
                w = maybe_col(&t, "weights");
            const double *x = need_col(sub, &t, fcol, spare);
            const double *tx = x ? need_col(sub, &t, rcol, spare) : NULL;
            const double *T = tx ? need_col(sub, &t, Tcol, spare) : NULL;
            if (!T)
                goto done;
            st = churn_btyd_fit(&m, family, t.nrows, x, tx, T, w, &o);
        }
    }
    if (st == CHURN_ENOCONV) {
        fprintf(stderr, "churn %s: warning: %s\n", sub, churn_last_error_message());
    } else if (st) {
        lib_fail_rows(sub, "fitting", st, surv ? NULL : &t, input);
        goto done;
    }
    if (unit > 0)
        churn_model_set_time_unit(m, unit);
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
    if (out && (st = churn_model_save(m, out)) != CHURN_OK) {
        cli_lib_fail(sub, "saving the model", st);
        goto done;
    }
    rc = churn_model_converged(m) ? CLI_EXIT_OK : CLI_EXIT_FAIL;
done:
    churn_model_free(m);
    cli_table_free(&t);
    free(svals);
    free(spare);
    free(cbuf);
    return rc;
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

int cmd_predict_btyd(churn_model *model, int argc, char **argv)
{
    static const char sub[] = "predict";
    const char *input = NULL, *out = NULL, *fcol = "frequency", *rcol = "recency", *Tcol = NULL,
               *pcol = "periods";
    double horizon = NAN, discount = NAN;
    cli_args a;
    cli_args_init(&a, argc, argv, 1, sub);
    while (cli_next(&a)) {
        if (cli_flag(&a, "--help") || cli_flag(&a, "-h")) {
            fputs(predict_help, stdout);
            return CLI_EXIT_OK;
        } else if (cli_is(&a, "--horizon")) {
            if (!cli_double(&a, &horizon) && horizon < 0)
                return cli_usage_error(sub, "option --horizon: %g must be >= 0", horizon);
        } else if (cli_is(&a, "--discount")) {
            if (!cli_double(&a, &discount) && discount < 0)
                return cli_usage_error(sub, "option --discount: %g must be >= 0", discount);
        } else if (cli_is(&a, "--frequency")) {
            cli_string(&a, &fcol);
        } else if (cli_is(&a, "--recency")) {
            cli_string(&a, &rcol);
        } else if (cli_is(&a, "--T")) {
            cli_string(&a, &Tcol);
        } else if (cli_is(&a, "--periods")) {
            cli_string(&a, &pcol);
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
    if (isnan(horizon))
        return cli_usage_error(sub, "--horizon H is required (in the model's time unit)");
    int family = churn_model_family(model);
    if (!isnan(discount) && family != CHURN_FAMILY_SBG)
        return cli_usage_error(sub, "--discount is for sbg models only");

    cli_table t;
    if (cli_table_read(sub, input, &t))
        return CLI_EXIT_FAIL;
    int rc = CLI_EXIT_FAIL, st;
    size_t n = t.nrows;
    double *buf = malloc(4 * (n ? n : 1) * sizeof *buf);
    double *pa = buf, *e = buf + n, *derl = buf + 2 * n, *spare = buf + 3 * n;
    if (!buf) {
        cli_fail(sub, "out of memory");
        goto done;
    }
    if (family == CHURN_FAMILY_SBG) {
        const double *per = need_col(sub, &t, pcol, spare);
        if (!per || sbg_scores(sub, model, &t, input, per, horizon, pa, e))
            goto done;
        if (!isnan(discount) && (st = churn_sbg_derl(model, discount, n, per, derl))) {
            lib_fail_rows(sub, "DERL", st, &t, input);
            goto done;
        }
    } else {
        if (!Tcol)
            Tcol = (family == CHURN_FAMILY_BGBB && !maybe_col(&t, "T") &&
                    maybe_col(&t, "periods")) ? "periods" : "T";
        const double *x = need_col(sub, &t, fcol, spare);
        const double *tx = x ? need_col(sub, &t, rcol, spare) : NULL;
        const double *T = tx ? need_col(sub, &t, Tcol, spare) : NULL;
        if (!T)
            goto done;
        if ((st = churn_btyd_score(model, horizon, n, x, tx, T, pa, e))) {
            lib_fail_rows(sub, "scoring", st, &t, input);
            goto done;
        }
    }
    FILE *f = cli_open_out(sub, out);
    if (!f)
        goto done;
    int with_derl = family == CHURN_FAMILY_SBG && !isnan(discount);
    fputs(with_derl ? "customer_id,p_alive,expected_purchases,p_churn,derl\n"
                    : "customer_id,p_alive,expected_purchases,p_churn\n", f);
    for (size_t i = 0; i < n; i++) {
        cli_put_field(f, t.ids[i]);
        fputc(',', f);
        cli_put_double(f, pa[i]);
        fputc(',', f);
        cli_put_double(f, e[i]);
        fputc(',', f);
        cli_put_double(f, 1 - pa[i]);
        if (with_derl) {
            fputc(',', f);
            cli_put_double(f, derl[i]);
        }
        fputc('\n', f);
    }
    rc = cli_close_out(sub, f, out);
done:
    free(buf);
    cli_table_free(&t);
    return rc;
}
