/* `churn km`: Kaplan-Meier retention curves, medians and the log-rank test.
 * Rows are checked by cli_lifetime_row (shared with the survival fits). Calls cli.c and the
 * public API only. */
#include "cli.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char km_help[] =
    "usage: churn km customers.csv --duration D --event E [--by COL] [options] [-o km.csv]\n"
    "\n"
    "Kaplan-Meier retention (survival) curves of a customer table, overall or by\n"
    "group (cohort, segment, tier), as R's survfit: Greenwood standard errors,\n"
    "confidence intervals, Nelson-Aalen cumulative hazard, median lifetime with its\n"
    "confidence interval, and the log-rank test between groups (R's survdiff).\n"
    "\n"
    "Options:\n"
    "  --duration COL      observed lifetime (>= 0), any time unit\n"
    "  --event COL         1 = churned at that time, 0 = still active (censored)\n"
    "  --by COL            one curve per distinct value (integer codes) of COL\n"
    "  --weights COL       case weights (default: none)\n"
    "  --conf-type T       log (default, R's default), log-log, plain or none\n"
    "  --conf-level L      confidence level (default 0.95)\n"
    "  --drop-missing      skip rows with an empty/NA value in a used column\n"
    "  --json              write everything (curves, medians, test) as JSON\n"
    "  --id COL            the customer id column (default: customer_id or id; 'none'\n"
    "                      numbers the rows)\n"
    "  -o, --output F      write the curve table (or the JSON) to F; the summary\n"
    "                      (medians, log-rank test) then goes to standard output\n"
    "  --help              this text\n"
    "\n"
    "Curve columns: [group,] time, n_risk, n_event, n_censor, survival, std_err,\n"
    "lower, upper, cumhaz. std_err is R's: the standard error of the cumulative\n"
    "hazard -log S(t) (Greenwood), not of S(t). Medians not reached print as 'inf'.\n";

static const char *conf_name(int t)
{
    static const char *const names[] = {"log", "log-log", "plain", "none"};
    return (t >= 0 && t <= 3) ? names[t] : "?";
}

static json_t *jnum(double x)
{
    if (isinf(x))
        return json_string(x > 0 ? "inf" : "-inf");
    return isfinite(x) ? json_real(x) : json_null();
}

static void put_num(FILE *f, double x)
{
    if (isinf(x))
        fputs(x > 0 ? "inf" : "-inf", f);
    else
        cli_put_double(f, x);
}

static json_t *km_json(const churn_km *km, const char *by, const char *dcol, const char *ecol,
                       int conf_type, double level)
{
    static const char *const cols[10] = {"time",     "n_risk",  "n_event", "n_censor",
                                         "survival", "std_err", "lower",   "upper",
                                         "cumhaz",   "std_cumhaz"};
    json_t *o = json_object(), *groups = json_array();
    json_object_set_new(o, "duration", json_string(dcol));
    json_object_set_new(o, "event", json_string(ecol));
    json_object_set_new(o, "by", by ? json_string(by) : json_null());
    json_object_set_new(o, "conf_type", json_string(conf_name(conf_type)));
    json_object_set_new(o, "conf_level", json_real(level));
    for (size_t g = 0; g < churn_km_num_groups(km); g++) {
        json_t *go = json_object(), *curve = json_object();
        double n, obs, ex, med, lo, hi, rm, rse;
        churn_km_group_events(km, g, &n, &obs, &ex);
        churn_km_median(km, g, &med, &lo, &hi);
        churn_km_rmean(km, g, NAN, &rm, &rse);
        if (by)
            json_object_set_new(go, "group", json_integer((json_int_t)churn_km_group_label(km, g)));
        json_object_set_new(go, "n", jnum(n));
        json_object_set_new(go, "events", jnum(obs));
        if (churn_km_num_groups(km) > 1)
            json_object_set_new(go, "expected", jnum(ex));
        json_object_set_new(go, "median", jnum(med));
        json_object_set_new(go, "median_lower", jnum(lo));
        json_object_set_new(go, "median_upper", jnum(hi));
        json_object_set_new(go, "rmean", jnum(rm));
        json_object_set_new(go, "rmean_se", jnum(rse));
        size_t nt = churn_km_num_times(km, g);
        double *v = malloc((nt ? nt : 1) * sizeof *v);
        for (int c = 0; c < 10 && v; c++) {
            churn_km_column(km, g, c, v, nt);
            json_t *a = json_array();
            for (size_t k = 0; k < nt; k++)
                json_array_append_new(a, jnum(v[k]));
            json_object_set_new(curve, cols[c], a);
        }
        free(v);
        json_object_set_new(go, "curve", curve);
        json_array_append_new(groups, go);
    }
    json_object_set_new(o, "groups", groups);
    if (churn_km_num_groups(km) > 1) {
        double chi, df, p;
        json_t *lr = json_object();
        if (churn_km_logrank(km, &chi, &df, &p) == CHURN_OK) {
            json_object_set_new(lr, "chisq", jnum(chi));
            json_object_set_new(lr, "df", jnum(df));
            json_object_set_new(lr, "p", jnum(p));
        } else {
            json_object_set_new(lr, "error", json_string(churn_last_error_message()));
        }
        json_object_set_new(o, "logrank", lr);
    }
    return o;
}

static void km_summary(FILE *f, const churn_km *km, const char *by, double level)
{
    size_t G = churn_km_num_groups(km);
    fprintf(f, "%-14s %10s %10s %10s %10s %10s %10s\n", by ? by : "group", "n", "events",
            "median", "lower", "upper", "rmean");
    for (size_t g = 0; g < G; g++) {
        double n, obs, med, lo, hi, rm;
        char label[32];
        churn_km_group_events(km, g, &n, &obs, NULL);
        churn_km_median(km, g, &med, &lo, &hi);
        churn_km_rmean(km, g, NAN, &rm, NULL);
        if (by)
            snprintf(label, sizeof label, "%lld", (long long)churn_km_group_label(km, g));
        else
            snprintf(label, sizeof label, "all");
        fprintf(f, "%-14s %10.10g %10.10g %10.6g %10.6g %10.6g %10.6g\n", label, n, obs, med, lo,
                hi, rm);
    }
    fprintf(f, "(median with its %.0f%% confidence interval; inf = not reached; rmean = "
               "restricted mean up to the last time)\n", 100 * level);
    if (G > 1) {
        double chi, df, p;
        if (churn_km_logrank(km, &chi, &df, &p) == CHURN_OK)
            fprintf(f, "log-rank test: chisq = %.6g on %.0f df, p = %.6g\n", chi, df, p);
        else
            fprintf(f, "log-rank test: %s\n", churn_last_error_message());
    }
}

typedef struct km_args {
    const char *input, *out, *dcol, *ecol, *by, *wcol, *ctype, *idcol;
    double level;
    int json, drop;
} km_args;

#define AT(m) CLI_AT(km_args, m)
static const cli_option km_options[] = {
    CLI_OPT("--duration", CLI_STRING, AT(dcol)),
    CLI_OPT("--event", CLI_STRING, AT(ecol)),
    CLI_OPT("--by", CLI_STRING, AT(by)),
    CLI_OPT("--weights", CLI_STRING, AT(wcol)),
    CLI_OPT("--conf-type", CLI_STRING, AT(ctype)),
    {.name = "--conf-level", .kind = CLI_DOUBLE, .at = AT(level),
     .bounds = CLI_MIN_OPEN | CLI_MAX_OPEN, .min = 0, .max = 1,
     .range_msg = "option --conf-level: %g is not in (0, 1)"},
    CLI_OPT("--drop-missing", CLI_FLAG, AT(drop)),
    CLI_OPT("--json", CLI_FLAG, AT(json)),
    CLI_TABLE_ID(AT(idcol)),
    CLI_OUTPUT(AT(out)),
};
static const cli_spec km_spec = {
    .options = km_options, .noptions = CLI_NOPTIONS(km_options), .positional = {AT(input)},
    .missing = "missing the customer table (customers.csv)", .help = km_help,
};
#undef AT

static int check_options(const char *sub, const km_args *a, churn_km_options *o)
{
    if (!a->dcol || !a->ecol)
        return cli_usage_error(sub, "--duration and --event are required");
    churn_km_options_init(o);
    o->conf_level = a->level;
    if (a->ctype) {
        if (strcmp(a->ctype, "log") == 0)
            o->conf_type = CHURN_CONF_LOG;
        else if (strcmp(a->ctype, "log-log") == 0 || strcmp(a->ctype, "loglog") == 0)
            o->conf_type = CHURN_CONF_LOGLOG;
        else if (strcmp(a->ctype, "plain") == 0)
            o->conf_type = CHURN_CONF_PLAIN;
        else if (strcmp(a->ctype, "none") == 0)
            o->conf_type = CHURN_CONF_NONE;
        else
            return cli_usage_error(sub, "option --conf-type: '%s' is not log, log-log, plain or "
                                   "none", a->ctype);
    }
    return CLI_EXIT_OK;
}

/* The rows used: durations, events, weights and group codes without missing values. */
typedef struct km_data {
    size_t m;
    double *dur, *ev, *w;
    int64_t *grp;
} km_data;

/* Check one row's values; returns 0 for a good row, -1 for a missing value to skip with
 * --drop-missing, CLI_EXIT_FAIL (message printed) otherwise. */
static int check_row(const char *sub, const km_args *a, const cli_lifetime_cols *c, size_t i,
                     const double *gsrc)
{
    int rc = cli_lifetime_row(sub, c, i, (gsrc && isnan(gsrc[i])) ? a->by : NULL);
    if (rc)
        return rc;
    if (gsrc && (gsrc[i] != floor(gsrc[i]) || fabs(gsrc[i]) > 9.0e15))
        return cli_fail(sub, "%s: customer '%s' (row %zu): column '%s' = %g is not an integer "
                        "group code", a->input, c->t->ids[i], i + 1, a->by, gsrc[i]);
    return 0;
}

static int gather_rows(const char *sub, const km_args *a, const cli_table *t, km_data *d)
{
    size_t n = t->nrows, dropped = 0;
    d->dur = malloc((n ? n : 1) * sizeof *d->dur);
    d->ev = malloc((n ? n : 1) * sizeof *d->ev);
    d->w = a->wcol ? malloc((n ? n : 1) * sizeof *d->w) : NULL;
    d->grp = a->by ? malloc((n ? n : 1) * sizeof *d->grp) : NULL;
    const double *dsrc = cli_table_col(sub, t, a->dcol);
    const double *esrc = dsrc ? cli_table_col(sub, t, a->ecol) : NULL;
    const double *wsrc = (esrc && a->wcol) ? cli_table_col(sub, t, a->wcol) : NULL;
    const double *gsrc = (esrc && (!a->wcol || wsrc) && a->by) ? cli_table_col(sub, t, a->by)
                                                               : NULL;
    if (!d->dur || !d->ev || (a->wcol && !d->w) || (a->by && !d->grp))
        return cli_fail(sub, "out of memory");
    if (!dsrc || !esrc || (a->wcol && !wsrc) || (a->by && !gsrc))
        return CLI_EXIT_FAIL;
    const cli_lifetime_cols c = {.input = a->input, .t = t, .dcol = a->dcol, .ecol = a->ecol,
                                 .wcol = a->wcol, .dur = dsrc, .ev = esrc, .w = wsrc,
                                 .drop = a->drop, .finite = 1,
                                 .dur_rule = "a finite number >= 0"};
    for (size_t i = 0; i < n; i++) {
        int bad = check_row(sub, a, &c, i, gsrc);
        if (bad < 0) {
            dropped++;
            continue;
        }
        if (bad)
            return bad;
        d->dur[d->m] = dsrc[i];
        d->ev[d->m] = esrc[i];
        if (d->w)
            d->w[d->m] = wsrc[i];
        if (d->grp)
            d->grp[d->m] = (int64_t)gsrc[i];
        d->m++;
    }
    if (dropped)
        fprintf(stderr, "churn km: skipped %zu row(s) with missing values\n", dropped);
    return CLI_EXIT_OK;
}

/* The curve table, one row per time of each group. */
static int write_curves(const char *sub, FILE *f, const churn_km *km, const char *by)
{
    fprintf(f, "%stime,n_risk,n_event,n_censor,survival,std_err,lower,upper,cumhaz\n",
            by ? "group," : "");
    static const int cols[9] = {CHURN_KM_TIME,    CHURN_KM_N_RISK,  CHURN_KM_N_EVENT,
                                CHURN_KM_N_CENSOR, CHURN_KM_SURV,    CHURN_KM_STD_ERR,
                                CHURN_KM_LOWER,   CHURN_KM_UPPER,   CHURN_KM_CUMHAZ};
    for (size_t g = 0; g < churn_km_num_groups(km); g++) {
        size_t nt = churn_km_num_times(km, g);
        double *v[9];
        int ok = 1;
        for (int c = 0; c < 9; c++) {
            v[c] = malloc((nt ? nt : 1) * sizeof(double));
            ok = ok && v[c] && churn_km_column(km, g, cols[c], v[c], nt) == CHURN_OK;
        }
        for (size_t k = 0; ok && k < nt; k++) {
            if (by)
                fprintf(f, "%lld,", (long long)churn_km_group_label(km, g));
            for (int c = 0; c < 9; c++) {
                if (c)
                    fputc(',', f);
                put_num(f, v[c][k]);
            }
            fputc('\n', f);
        }
        for (int c = 0; c < 9; c++)
            free(v[c]);
        if (!ok) {
            cli_abort_out(f);
            return cli_fail(sub, "out of memory");
        }
    }
    return CLI_EXIT_OK;
}

/* The curves (CSV) or everything (JSON) to -o; with -o FILE the summary to standard output. */
static int write_result(const char *sub, const km_args *a, const churn_km_options *o,
                        const churn_km *km)
{
    FILE *f = cli_open_out(sub, a->out);
    if (!f)
        return CLI_EXIT_FAIL;
    if (a->json) {
        json_t *j = km_json(km, a->by, a->dcol, a->ecol, o->conf_type, a->level);
        if (!j || json_dumpf(j, f, JSON_INDENT(1) | JSON_REAL_PRECISION(17)) != 0) {
            json_decref(j);
            cli_abort_out(f);
            return cli_fail(sub, "cannot write JSON");
        }
        fputc('\n', f);
        json_decref(j);
    } else if (write_curves(sub, f, km, a->by)) {
        return CLI_EXIT_FAIL;
    }
    int rc = cli_close_out(sub, f, a->out);
    if (rc == CLI_EXIT_OK && a->out && strcmp(a->out, "-") != 0)
        km_summary(stdout, km, a->by, a->level);
    return rc;
}

int cmd_km(int argc, char **argv)
{
    static const char sub[] = "km";
    km_args a = {.level = 0.95};
    int rc = cli_parse(&km_spec, sub, argc, argv, &a);
    if (rc != CLI_CONTINUE)
        return rc;
    churn_km_options o;
    if ((rc = check_options(sub, &a, &o)))
        return rc;
    cli_table t;
    if ((rc = cli_table_read(sub, a.input, a.idcol, &t)))
        return rc;
    km_data d = {0};
    churn_km *km = NULL;
    rc = gather_rows(sub, &a, &t, &d);
    if (!rc) {
        int st = churn_km_fit(&km, d.m, d.dur, d.ev, d.w, d.grp, &o);
        rc = st ? cli_lib_fail(sub, "Kaplan-Meier", st) : write_result(sub, &a, &o, km);
    }
    churn_km_free(km);
    free(d.dur);
    free(d.ev);
    free(d.w);
    free(d.grp);
    cli_table_free(&t);
    return rc;
}
