/* `churn km`: Kaplan-Meier retention curves, medians and the log-rank test. */
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

int cmd_km(int argc, char **argv)
{
    static const char sub[] = "km";
    const char *input = NULL, *out = NULL, *dcol = NULL, *ecol = NULL, *by = NULL;
    const char *wcol = NULL, *ctype = NULL;
    double level = 0.95;
    int json = 0, drop = 0;
    cli_args a;
    cli_args_init(&a, argc, argv, 1, sub);
    while (cli_next(&a)) {
        if (cli_flag(&a, "--help") || cli_flag(&a, "-h")) {
            fputs(km_help, stdout);
            return CLI_EXIT_OK;
        } else if (cli_is(&a, "--duration")) {
            cli_string(&a, &dcol);
        } else if (cli_is(&a, "--event")) {
            cli_string(&a, &ecol);
        } else if (cli_is(&a, "--by")) {
            cli_string(&a, &by);
        } else if (cli_is(&a, "--weights")) {
            cli_string(&a, &wcol);
        } else if (cli_is(&a, "--conf-type")) {
            cli_string(&a, &ctype);
        } else if (cli_is(&a, "--conf-level")) {
            if (!cli_double(&a, &level) && !(level > 0 && level < 1))
                return cli_usage_error(sub, "option --conf-level: %g is not in (0, 1)", level);
        } else if (cli_flag(&a, "--drop-missing")) {
            drop = 1;
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
        return cli_usage_error(sub, "missing the customer table (customers.csv)");
    if (!dcol || !ecol)
        return cli_usage_error(sub, "--duration and --event are required");
    churn_km_options o;
    churn_km_options_init(&o);
    o.conf_level = level;
    if (ctype) {
        if (strcmp(ctype, "log") == 0)
            o.conf_type = CHURN_CONF_LOG;
        else if (strcmp(ctype, "log-log") == 0 || strcmp(ctype, "loglog") == 0)
            o.conf_type = CHURN_CONF_LOGLOG;
        else if (strcmp(ctype, "plain") == 0)
            o.conf_type = CHURN_CONF_PLAIN;
        else if (strcmp(ctype, "none") == 0)
            o.conf_type = CHURN_CONF_NONE;
        else
            return cli_usage_error(sub, "option --conf-type: '%s' is not log, log-log, plain or "
                                   "none", ctype);
    }
    cli_table t;
    memset(&t, 0, sizeof t);
    int rc = cli_table_read(sub, input, &t);
    if (rc)
        return rc;
    rc = CLI_EXIT_FAIL;
    size_t n = t.nrows, m = 0, dropped = 0;
    double *dur = malloc((n ? n : 1) * sizeof *dur), *ev = malloc((n ? n : 1) * sizeof *ev);
    double *w = wcol ? malloc((n ? n : 1) * sizeof *w) : NULL;
    int64_t *grp = by ? malloc((n ? n : 1) * sizeof *grp) : NULL;
    churn_km *km = NULL;
    FILE *f = NULL;
    const double *dsrc = cli_table_col(sub, &t, dcol);
    const double *esrc = dsrc ? cli_table_col(sub, &t, ecol) : NULL;
    const double *wsrc = (esrc && wcol) ? cli_table_col(sub, &t, wcol) : NULL;
    const double *gsrc = (esrc && (!wcol || wsrc) && by) ? cli_table_col(sub, &t, by) : NULL;
    if (!dur || !ev || (wcol && !w) || (by && !grp)) {
        cli_fail(sub, "out of memory");
        goto done;
    }
    if (!dsrc || !esrc || (wcol && !wsrc) || (by && !gsrc))
        goto done;
    for (size_t i = 0; i < n; i++) {
        const char *bad = isnan(dsrc[i])          ? dcol
                          : isnan(esrc[i])        ? ecol
                          : (wsrc && isnan(wsrc[i])) ? wcol
                          : (gsrc && isnan(gsrc[i])) ? by
                                                     : NULL;
        if (bad) {
            if (drop) {
                dropped++;
                continue;
            }
            cli_fail(sub, "%s: customer '%s' (row %zu): column '%s' is empty or NA (use "
                     "--drop-missing to skip such rows)", input, t.ids[i], i + 1, bad);
            goto done;
        }
        if (dsrc[i] < 0 || !isfinite(dsrc[i])) {
            cli_fail(sub, "%s: customer '%s' (row %zu): column '%s' = %g must be a finite "
                     "number >= 0", input, t.ids[i], i + 1, dcol, dsrc[i]);
            goto done;
        }
        if (esrc[i] != 0 && esrc[i] != 1) {
            cli_fail(sub, "%s: customer '%s' (row %zu): column '%s' = %g is not 0 (active) or 1 "
                     "(churned)", input, t.ids[i], i + 1, ecol, esrc[i]);
            goto done;
        }
        if (wsrc && !(wsrc[i] >= 0 && isfinite(wsrc[i]))) {
            cli_fail(sub, "%s: customer '%s' (row %zu): column '%s' = %g must be >= 0", input,
                     t.ids[i], i + 1, wcol, wsrc[i]);
            goto done;
        }
        if (gsrc && (gsrc[i] != floor(gsrc[i]) || fabs(gsrc[i]) > 9.0e15)) {
            cli_fail(sub, "%s: customer '%s' (row %zu): column '%s' = %g is not an integer "
                     "group code", input, t.ids[i], i + 1, by, gsrc[i]);
            goto done;
        }
        dur[m] = dsrc[i];
        ev[m] = esrc[i];
        if (w)
            w[m] = wsrc[i];
        if (grp)
            grp[m] = (int64_t)gsrc[i];
        m++;
    }
    if (dropped)
        fprintf(stderr, "churn km: skipped %zu row(s) with missing values\n", dropped);
    int st = churn_km_fit(&km, m, dur, ev, w, grp, &o);
    if (st) {
        cli_lib_fail(sub, "Kaplan-Meier", st);
        goto done;
    }
    f = cli_open_out(sub, out);
    if (!f)
        goto done;
    if (json) {
        json_t *j = km_json(km, by, dcol, ecol, o.conf_type, level);
        if (!j || json_dumpf(j, f, JSON_INDENT(1) | JSON_REAL_PRECISION(17)) != 0) {
            json_decref(j);
            if (f != stdout)
                fclose(f);
            cli_fail(sub, "cannot write JSON");
            goto done;
        }
        fputc('\n', f);
        json_decref(j);
    } else {
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
                if (f != stdout)
                    fclose(f);
                cli_fail(sub, "out of memory");
                goto done;
            }
        }
    }
    rc = cli_close_out(sub, f, out);
    if (rc == CLI_EXIT_OK && out && strcmp(out, "-") != 0)
        km_summary(stdout, km, by, level);
done:
    churn_km_free(km);
    free(dur);
    free(ev);
    free(w);
    free(grp);
    cli_table_free(&t);
    return rc;
}
