/*
 * SQLite loadable extension libchurn_sqlite (SELECT load_extension('libchurn_sqlite')):
 * the customer table as an aggregate returning JSON and the scores of libchurn
 * as SQL functions, over the public C API. docs/sqlite.md documents them.
 *
 * Owns: the per-connection model cache (parsed models keyed by their text),
 * the aggregate churn_summary, the scoring functions and the alert rules.
 * Calls: libchurn (include/churn.h), SQLite's extension API, jansson (to read
 * a summary's JSON back).
 *
 * Errors: every function calls the library, keeps the status, frees what the
 * library allocated and then sets the SQL error with the library's message
 * (SQLite reports errors by return value, so nothing unwinds over our frames).
 */
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <churn.h>

int sqlite3_churnsqlite_init(sqlite3 *db, char **err, const sqlite3_api_routines *api);

/* ---- errors ------------------------------------------------------------------------ */

static void result_churn_error(sqlite3_context *ctx, int rc, const char *fn)
{
    if (rc == CHURN_ENOMEM) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    char *msg = sqlite3_mprintf("%s: %s", fn, churn_last_error_message());
    if (!msg) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    sqlite3_result_error(ctx, msg, -1);
    sqlite3_free(msg);
}

static void result_errorf(sqlite3_context *ctx, const char *fmt, const char *fn, const char *what)
{
    char *msg = sqlite3_mprintf(fmt, fn, what);
    if (!msg) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    sqlite3_result_error(ctx, msg, -1);
    sqlite3_free(msg);
}

/* ---- models: parsed once per connection, keyed by their text -------------------------- */

#define MODEL_CACHE_SIZE 8

typedef struct model_entry {
    uint64_t hash;
    size_t len;
    char *text;
    churn_model *model;
} model_entry;

typedef struct conn_data {
    int refs; /* one per registered function: freed with the last */
    int next;
    model_entry cache[MODEL_CACHE_SIZE];
} conn_data;

static void conn_data_release(void *p)
{
    conn_data *cd = p;
    if (--cd->refs > 0)
        return;
    for (int i = 0; i < MODEL_CACHE_SIZE; i++) {
        churn_model_free(cd->cache[i].model);
        sqlite3_free(cd->cache[i].text);
    }
    sqlite3_free(cd);
}

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* The model in argv[i] (a model file's JSON text), or NULL with the error set. */
static const churn_model *arg_model(sqlite3_context *ctx, sqlite3_value **argv, int i,
                                    const char *fn)
{
    conn_data *cd = sqlite3_user_data(ctx);
    if (sqlite3_value_type(argv[i]) != SQLITE_TEXT && sqlite3_value_type(argv[i]) != SQLITE_BLOB) {
        result_errorf(ctx, "%s: %s is not a model file's JSON text", fn, "the model argument");
        return NULL;
    }
    const unsigned char *text = sqlite3_value_text(argv[i]);
    size_t len = (size_t)sqlite3_value_bytes(argv[i]);
    if (!text) {
        sqlite3_result_error_nomem(ctx);
        return NULL;
    }
    uint64_t h = fnv1a(text, len);
    for (int k = 0; k < MODEL_CACHE_SIZE; k++) {
        model_entry *e = &cd->cache[k];
        if (e->model && e->hash == h && e->len == len && memcmp(e->text, text, len) == 0)
            return e->model;
    }
    churn_model *m = NULL;
    int rc = churn_model_load_buffer(&m, (const char *)text, len);
    if (rc != CHURN_OK) {
        result_churn_error(ctx, rc, fn);
        return NULL;
    }
    char *copy = sqlite3_malloc64(len + 1);
    if (!copy) {
        churn_model_free(m);
        sqlite3_result_error_nomem(ctx);
        return NULL;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    model_entry *e = &cd->cache[cd->next];
    cd->next = (cd->next + 1) % MODEL_CACHE_SIZE;
    churn_model_free(e->model);
    sqlite3_free(e->text);
    e->hash = h;
    e->len = len;
    e->text = copy;
    e->model = m;
    return m;
}

/* ---- values ------------------------------------------------------------------------------ */

/* A number argument; false with the error set for NULL or text that is no number. */
static int arg_double(sqlite3_context *ctx, sqlite3_value *v, const char *fn, const char *name,
                      double *out)
{
    int t = sqlite3_value_numeric_type(v);
    if (t == SQLITE_INTEGER || t == SQLITE_FLOAT) {
        *out = sqlite3_value_double(v);
        return 1;
    }
    result_errorf(ctx, t == SQLITE_NULL ? "%s: %s is NULL" : "%s: %s is not a number", fn, name);
    return 0;
}

/* A time: ISO date/datetime text (or YYYYMMDD) by the CSV reader's rules, or a number
 * of seconds since 1970-01-01 UTC. */
static int arg_time(sqlite3_context *ctx, sqlite3_value *v, const char *fn, const char *name,
                    double *out)
{
    int t = sqlite3_value_type(v);
    if (t == SQLITE_NULL) {
        result_errorf(ctx, "%s: %s is NULL (every order needs a date)", fn, name);
        return 0;
    }
    if (t == SQLITE_INTEGER || t == SQLITE_FLOAT) {
        *out = sqlite3_value_double(v);
        return 1;
    }
    const char *s = (const char *)sqlite3_value_text(v);
    int rc = s ? churn_parse_date(s, (size_t)sqlite3_value_bytes(v), CHURN_DATE_AUTO, out) : CHURN_ENOMEM;
    if (rc != CHURN_OK) {
        result_churn_error(ctx, rc, fn);
        return 0;
    }
    return 1;
}

static double parse_unit(const char *s)
{
    static const struct { const char *name; double days; } units[] = {
        {"day", CHURN_UNIT_DAY}, {"week", CHURN_UNIT_WEEK}, {"month", CHURN_UNIT_MONTH},
        {"quarter", CHURN_UNIT_QUARTER}, {"year", CHURN_UNIT_YEAR}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(s, units[i].name) == 0)
            return units[i].days;
    char *end = NULL;
    double u = strtod(s, &end);
    return (end != s && *end == '\0' && u > 0 && isfinite(u)) ? u : 0;
}

/* ---- the aggregate churn_summary ---------------------------------------------------------- */

typedef struct order_row {
    double time, amount;
    sqlite3_int64 seq;
} order_row;

typedef struct summary_agg {
    int failed;
    double cutoff, unit;
    sqlite3_int64 n, cap;
    order_row *rows;
} summary_agg;

static const char *const SUMMARY_FN = "churn_summary";

static void summary_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    summary_agg *a = sqlite3_aggregate_context(ctx, sizeof *a);
    if (!a) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    if (a->failed)
        return;
    double time, cutoff, amount = NAN, unit = CHURN_UNIT_DAY;
    if (!arg_time(ctx, argv[0], SUMMARY_FN, "ordered_at", &time) ||
        !arg_time(ctx, argv[2], SUMMARY_FN, "cutoff", &cutoff)) {
        a->failed = 1;
        return;
    }
    if (sqlite3_value_type(argv[1]) != SQLITE_NULL &&
        !arg_double(ctx, argv[1], SUMMARY_FN, "amount", &amount)) {
        a->failed = 1;
        return;
    }
    if (isinf(amount) || !isfinite(time)) {
        result_errorf(ctx, "%s: %s is not finite", SUMMARY_FN, isinf(amount) ? "amount" : "ordered_at");
        a->failed = 1;
        return;
    }
    if (argc > 3) {
        const char *u = (const char *)sqlite3_value_text(argv[3]);
        unit = u ? parse_unit(u) : 0;
        if (!(unit > 0)) {
            result_errorf(ctx, "%s: unit '%s' is not day, week, month, quarter, year or a "
                          "positive number of days", SUMMARY_FN, u ? u : "NULL");
            a->failed = 1;
            return;
        }
    }
    cutoff = floor(cutoff / 86400.0) * 86400.0;
    if (a->n == 0 && a->cap == 0) {
        a->cutoff = cutoff;
        a->unit = unit;
    } else if (a->cutoff != cutoff || a->unit != unit) {
        result_errorf(ctx, "%s: the %s changes within one group", SUMMARY_FN, "cutoff or unit");
        a->failed = 1;
        return;
    }
    if (a->n == a->cap) {
        sqlite3_int64 cap = a->cap ? 2 * a->cap : 16;
        order_row *r = sqlite3_realloc64(a->rows, (sqlite3_uint64)cap * sizeof *r);
        if (!r) {
            sqlite3_result_error_nomem(ctx);
            a->failed = 1;
            return;
        }
        a->rows = r;
        a->cap = cap;
    }
    a->rows[a->n].time = time;
    a->rows[a->n].amount = amount;
    a->rows[a->n].seq = a->n;
    a->n++;
}

static int order_cmp(const void *pa, const void *pb)
{
    const order_row *a = pa, *b = pb;
    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

#define STATE_COLS 16

/* A number printed by the C library under the host's LC_NUMERIC: its decimal
 * separator (',' in a decimal-comma locale) turned back into '.'. */
static void point_decimal(char *buf)
{
    for (char *p = buf; *p; p++)
        if (!((*p >= '0' && *p <= '9') || *p == '-' || *p == '+' || *p == 'e' || *p == 'E'))
            *p = '.';
}

/* A double as JSON: 17 significant digits (reads back as the same double), "null"
 * for NaN (an unknown spend). The C library's printf, not SQLite's (whose 17th digit
 * depends on long double); a host's LC_NUMERIC decimal comma is turned back into '.'. */
static void json_number(sqlite3_str *s, double v)
{
    if (!isfinite(v)) {
        sqlite3_str_appendall(s, "null");
        return;
    }
    char buf[40];
    snprintf(buf, sizeof buf, "%.17g", v);
    point_decimal(buf);
    sqlite3_str_appendall(s, buf);
}

static void summary_final(sqlite3_context *ctx)
{
    summary_agg *a = sqlite3_aggregate_context(ctx, 0);
    if (!a || a->n == 0 || a->failed) {
        if (a)
            sqlite3_free(a->rows);
        if (!a || !a->failed)
            sqlite3_result_null(ctx);
        return;
    }
    qsort(a->rows, (size_t)a->n, sizeof(order_row), order_cmp);
    churn_customer_options o = CHURN_CUSTOMER_OPTIONS_INIT;
    o.time_unit = a->unit;
    churn_customer_state st;
    st.struct_size = sizeof st;
    int rc = churn_customer_state_init(&st, &o);
    int any_order = 0;
    double end = a->cutoff + 86400.0;
    for (sqlite3_int64 i = 0; rc == CHURN_OK && i < a->n && a->rows[i].time < end; i++) {
        rc = churn_customer_state_add(&st, a->rows[i].time, a->rows[i].amount);
        any_order = any_order || !(a->rows[i].amount < 0);
    }
    sqlite3_free(a->rows);
    a->rows = NULL;
    double v[STATE_COLS];
    if (rc == CHURN_OK && !any_order) {
        sqlite3_result_null(ctx); /* no order on or before the cutoff: left out */
        return;
    }
    if (rc == CHURN_OK)
        rc = churn_customer_state_values(&st, a->cutoff, v, STATE_COLS);
    if (rc != CHURN_OK) {
        result_churn_error(ctx, rc, SUMMARY_FN);
        return;
    }
    char day[32];
    if (churn_format_date(a->cutoff, day, sizeof day) != CHURN_OK)
        day[0] = '\0';
    sqlite3_str *s = sqlite3_str_new(NULL);
    sqlite3_str_appendchar(s, 1, '{');
    for (size_t j = 0; j < STATE_COLS; j++) {
        sqlite3_str_appendf(s, "\"%s\":", churn_customer_state_column_name(j));
        json_number(s, v[j]);
        sqlite3_str_appendchar(s, 1, ',');
    }
    sqlite3_str_appendall(s, "\"time_unit_days\":");
    json_number(s, a->unit);
    sqlite3_str_appendf(s, ",\"cutoff\":\"%s\"}", day);
    int len = sqlite3_str_length(s);
    char *json = sqlite3_str_finish(s);
    if (!json) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    sqlite3_result_text(ctx, json, len, sqlite3_free);
    sqlite3_result_subtype(ctx, 'J'); /* JSON for SQLite's json functions */
}

/* ---- reading a summary back ---------------------------------------------------------------- */

typedef struct customer_row {
    double frequency, recency, T, monetary_value, unit;
    double cols[STATE_COLS];
} customer_row;

/* A churn_summary JSON in argv[i]; checks the time unit against `model` when given. */
static int arg_customer(sqlite3_context *ctx, sqlite3_value **argv, int i,
                        const churn_model *model, const char *fn, customer_row *c)
{
    const char *text = (const char *)sqlite3_value_text(argv[i]);
    json_error_t jerr;
    json_t *root = text ? json_loadb(text, (size_t)sqlite3_value_bytes(argv[i]), 0, &jerr) : NULL;
    if (!root || !json_is_object(root)) {
        json_decref(root);
        result_errorf(ctx, "%s: %s is not the JSON of churn_summary", fn, "the customer argument");
        return 0;
    }
    const char *missing = NULL;
    for (size_t j = 0; j < STATE_COLS && !missing; j++) {
        const char *name = churn_customer_state_column_name(j);
        json_t *x = json_object_get(root, name);
        if (json_is_number(x))
            c->cols[j] = json_number_value(x);
        else if (json_is_null(x))
            c->cols[j] = NAN;
        else
            missing = name;
    }
    json_t *u = json_object_get(root, "time_unit_days");
    if (!missing && !json_is_number(u))
        missing = "time_unit_days";
    c->unit = missing ? 0 : json_number_value(u);
    json_decref(root);
    if (missing) {
        result_errorf(ctx, "%s: the customer JSON has no number '%s'", fn, missing);
        return 0;
    }
    c->frequency = c->cols[CHURN_STATE_COL_FREQUENCY];
    c->recency = c->cols[CHURN_STATE_COL_RECENCY];
    c->T = c->cols[CHURN_STATE_COL_T];
    c->monetary_value = c->cols[CHURN_STATE_COL_MONETARY_VALUE];
    if (model) {
        int rc = churn_model_check_time_unit(model, c->unit);
        if (rc != CHURN_OK) {
            result_churn_error(ctx, rc, fn);
            return 0;
        }
    }
    return 1;
}

static int is_text(sqlite3_value *v)
{
    return sqlite3_value_type(v) == SQLITE_TEXT;
}

/* ---- scoring -------------------------------------------------------------------------------- */

/* churn_p_alive(model, frequency, recency, T) or churn_p_alive(model, customer_json) */
static void fn_p_alive(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const char *fn = "churn_p_alive";
    for (int i = 0; i < argc; i++)
        if (sqlite3_value_type(argv[i]) == SQLITE_NULL)
            { sqlite3_result_null(ctx); return; }
    const churn_model *m = arg_model(ctx, argv, 0, fn);
    if (!m)
        return;
    double x, tx, T, p = NAN;
    if (argc == 2) {
        customer_row c;
        if (!arg_customer(ctx, argv, 1, m, fn, &c))
            return;
        x = c.frequency, tx = c.recency, T = c.T;
    } else if (!arg_double(ctx, argv[1], fn, "frequency", &x) ||
               !arg_double(ctx, argv[2], fn, "recency", &tx) ||
               !arg_double(ctx, argv[3], fn, "T", &T)) {
        return;
    }
    int rc = churn_btyd_p_alive(m, 1, &x, &tx, &T, &p);
    if (rc != CHURN_OK)
        { result_churn_error(ctx, rc, fn); return; }
    sqlite3_result_double(ctx, p);
}

/* churn_expected_purchases(model, horizon, frequency, recency, T) or
 * churn_expected_purchases(model, customer_json, horizon) */
static void fn_expected_purchases(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const char *fn = "churn_expected_purchases";
    for (int i = 0; i < argc; i++)
        if (sqlite3_value_type(argv[i]) == SQLITE_NULL)
            { sqlite3_result_null(ctx); return; }
    const churn_model *m = arg_model(ctx, argv, 0, fn);
    if (!m)
        return;
    double h, x, tx, T, e = NAN;
    if (argc == 3) {
        customer_row c;
        if (!arg_customer(ctx, argv, 1, m, fn, &c) ||
            !arg_double(ctx, argv[2], fn, "horizon", &h))
            return;
        x = c.frequency, tx = c.recency, T = c.T;
    } else if (!arg_double(ctx, argv[1], fn, "horizon", &h) ||
               !arg_double(ctx, argv[2], fn, "frequency", &x) ||
               !arg_double(ctx, argv[3], fn, "recency", &tx) ||
               !arg_double(ctx, argv[4], fn, "T", &T)) {
        return;
    }
    int rc = churn_btyd_expected_purchases(m, h, 1, &x, &tx, &T, &e);
    if (rc != CHURN_OK)
        { result_churn_error(ctx, rc, fn); return; }
    sqlite3_result_double(ctx, e);
}

/* churn_expected_spend(model, frequency, monetary_value) or (model, customer_json) */
static void fn_expected_spend(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const char *fn = "churn_expected_spend";
    for (int i = 0; i < argc; i++)
        if (sqlite3_value_type(argv[i]) == SQLITE_NULL)
            { sqlite3_result_null(ctx); return; }
    const churn_model *m = arg_model(ctx, argv, 0, fn);
    if (!m)
        return;
    double x, mv, e = NAN;
    if (argc == 2) {
        customer_row c;
        if (!arg_customer(ctx, argv, 1, NULL, fn, &c))
            return;
        x = c.frequency, mv = c.monetary_value;
    } else if (!arg_double(ctx, argv[1], fn, "frequency", &x) ||
               !arg_double(ctx, argv[2], fn, "monetary_value", &mv)) {
        return;
    }
    int rc = churn_gammagamma_expected_spend(m, 1, &x, &mv, &e);
    if (rc != CHURN_OK)
        { result_churn_error(ctx, rc, fn); return; }
    sqlite3_result_double(ctx, e);
}

typedef struct value_scores {
    double p_alive, expected_purchases, expected_spend, clv, value_at_risk;
} value_scores;

/* (btyd, spend, frequency, recency, T, monetary_value [, clv_periods, period, discount,
 * margin]) or (btyd, spend, customer_json [, clv_periods, period, discount, margin]) */
static int value_args(sqlite3_context *ctx, int argc, sqlite3_value **argv, const char *fn,
                      value_scores *v)
{
    for (int i = 0; i < argc; i++)
        if (sqlite3_value_type(argv[i]) == SQLITE_NULL) {
            sqlite3_result_null(ctx);
            return 0;
        }
    if (argc < 3) {
        result_errorf(ctx, "%s: %s", fn, "expects (btyd, spend, customer_json, ...) or "
                      "(btyd, spend, frequency, recency, T, monetary_value, ...)");
        return 0;
    }
    int summary_form = is_text(argv[2]);
    int first = summary_form ? 3 : 6;
    if ((!summary_form && argc < 6) || argc > first + 4) {
        result_errorf(ctx, "%s: %s", fn, "wrong number of arguments (see docs/sqlite.md)");
        return 0;
    }
    const churn_model *b = arg_model(ctx, argv, 0, fn);
    const churn_model *s = b ? arg_model(ctx, argv, 1, fn) : NULL;
    if (!s)
        return 0;
    double x, tx, T, mv;
    if (summary_form) {
        customer_row c;
        if (!arg_customer(ctx, argv, 2, b, fn, &c))
            return 0;
        x = c.frequency, tx = c.recency, T = c.T, mv = c.monetary_value;
    } else if (!arg_double(ctx, argv[2], fn, "frequency", &x) ||
               !arg_double(ctx, argv[3], fn, "recency", &tx) ||
               !arg_double(ctx, argv[4], fn, "T", &T) ||
               !arg_double(ctx, argv[5], fn, "monetary_value", &mv)) {
        return 0;
    }
    churn_clv_options o = CHURN_CLV_OPTIONS_INIT;
    static const char *const names[] = {"clv_periods", "period", "discount", "margin"};
    double opt[4] = {o.horizon, o.period, o.discount, o.margin};
    for (int k = 0; first + k < argc; k++)
        if (!arg_double(ctx, argv[first + k], fn, names[k], &opt[k]))
            return 0;
    if (opt[0] != floor(opt[0]) || opt[0] < 1 || opt[0] > 1e6) {
        result_errorf(ctx, "%s: %s must be a whole number of periods >= 1", fn, "clv_periods");
        return 0;
    }
    o.horizon = (int)opt[0];
    o.period = opt[1];
    o.discount = opt[2];
    o.margin = opt[3];
    int rc = churn_clv_score(b, s, &o, 1, &x, &tx, &T, &mv, &v->p_alive, &v->expected_purchases,
                             &v->expected_spend, &v->clv, &v->value_at_risk);
    if (rc != CHURN_OK) {
        result_churn_error(ctx, rc, fn);
        return 0;
    }
    return 1;
}

static void fn_clv(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    value_scores v;
    if (value_args(ctx, argc, argv, "churn_clv", &v))
        sqlite3_result_double(ctx, v.clv);
}

static void fn_value_at_risk(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    value_scores v;
    if (value_args(ctx, argc, argv, "churn_value_at_risk", &v))
        sqlite3_result_double(ctx, v.value_at_risk);
}

/* churn_score(btyd, spend, customer_json [, ...]) -> JSON of the scores */
static void fn_score(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    value_scores v;
    if (argc >= 3 && !is_text(argv[2]) && sqlite3_value_type(argv[2]) != SQLITE_NULL)
        { result_errorf(ctx, "%s: %s", "churn_score",
                             "the third argument is the JSON of churn_summary"); return; }
    if (!value_args(ctx, argc, argv, "churn_score", &v))
        return;
    sqlite3_str *s = sqlite3_str_new(NULL);
    const char *names[6] = {"p_alive", "p_churn", "expected_purchases", "expected_spend", "clv",
                            "value_at_risk"};
    double vals[6] = {v.p_alive, 1.0 - v.p_alive, v.expected_purchases, v.expected_spend, v.clv,
                      v.value_at_risk};
    for (int k = 0; k < 6; k++) {
        sqlite3_str_appendf(s, "%s\"%s\":", k ? "," : "{", names[k]);
        json_number(s, vals[k]);
    }
    sqlite3_str_appendchar(s, 1, '}');
    int len = sqlite3_str_length(s);
    char *json = sqlite3_str_finish(s);
    if (!json)
        { sqlite3_result_error_nomem(ctx); return; }
    sqlite3_result_text(ctx, json, len, sqlite3_free);
    sqlite3_result_subtype(ctx, 'J');
}

static void fn_model_family(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
        { sqlite3_result_null(ctx); return; }
    const churn_model *m = arg_model(ctx, argv, 0, "churn_model_family");
    if (m)
        sqlite3_result_text(ctx, churn_family_name(churn_model_family(m)), -1, SQLITE_STATIC);
}

static void fn_version(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    sqlite3_result_text(ctx, churn_version_string(), -1, SQLITE_STATIC);
}

/* ---- alert rules ---------------------------------------------------------------------------- */

static const char *const SCORE_FIELDS[6] = {"p_alive", "p_churn", "expected_purchases",
                                            "expected_spend", "clv", "value_at_risk"};

/* churn_alerts(rules, customer_json [, scores_json]) -> the names of the rules that fire,
 * joined with ';'. rules: rule texts separated by ';' or new lines. A rule on a
 * customer-table column the summary does not carry is not evaluated (as
 * churn_alerts_evaluate_state()). */
static void fn_alerts(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const char *fn = "churn_alerts";
    for (int i = 0; i < argc; i++)
        if (sqlite3_value_type(argv[i]) == SQLITE_NULL)
            { sqlite3_result_null(ctx); return; }
    customer_row c;
    if (!arg_customer(ctx, argv, 1, NULL, fn, &c))
        return;
    const char *names[STATE_COLS + 6];
    double values[STATE_COLS + 6];
    const double *cols[STATE_COLS + 6];
    size_t ncols = 0;
    for (size_t j = 0; j < STATE_COLS; j++) {
        names[ncols] = churn_customer_state_column_name(j);
        values[ncols++] = c.cols[j];
    }
    if (argc > 2) {
        const char *text = (const char *)sqlite3_value_text(argv[2]);
        json_error_t jerr;
        json_t *root = text ? json_loads(text, 0, &jerr) : NULL;
        if (!json_is_object(root)) {
            json_decref(root);
            { result_errorf(ctx, "%s: %s is not a JSON object", fn, "scores"); return; }
        }
        for (size_t k = 0; k < 6; k++) {
            json_t *x = json_object_get(root, SCORE_FIELDS[k]);
            if (!x)
                continue;
            names[ncols] = SCORE_FIELDS[k];
            values[ncols++] = json_is_number(x) ? json_number_value(x) : NAN;
        }
        json_decref(root);
    }
    for (size_t j = 0; j < ncols; j++)
        cols[j] = &values[j];
    const char *rules_text = (const char *)sqlite3_value_text(argv[0]);
    char *rules = rules_text ? sqlite3_mprintf("%s", rules_text) : NULL;
    if (!rules)
        { sqlite3_result_error_nomem(ctx); return; }

    churn_alerts *all = NULL, *eval = NULL;
    int rc = churn_alerts_new(&all);
    if (rc == CHURN_OK)
        rc = churn_alerts_new(&eval);
    for (char *save = NULL, *r = strtok_r(rules, ";\n", &save); rc == CHURN_OK && r;
         r = strtok_r(NULL, ";\n", &save)) {
        while (*r == ' ' || *r == '\t')
            r++;
        if (*r)
            rc = churn_alerts_add_text(all, r);
    }
    sqlite3_free(rules);
    int map[CHURN_ALERTS_MAX], neval = 0;
    for (size_t i = 0; rc == CHURN_OK && i < churn_alerts_num_rules(all); i++) {
        const char *name, *field;
        int op;
        double th;
        rc = churn_alerts_rule(all, i, &name, &field, &op, &th);
        if (rc != CHURN_OK)
            break;
        int given = 0;
        for (size_t j = 0; j < ncols; j++)
            given = given || strcmp(names[j], field) == 0;
        if (!given && churn_customer_state_column_index(field) == -1)
            continue;
        rc = churn_alerts_add(eval, name, field, op, th);
        map[neval++] = (int)i;
    }
    uint64_t fired = 0;
    if (rc == CHURN_OK)
        rc = churn_alerts_evaluate(eval, 1, ncols, names, cols, &fired);
    sqlite3_str *out = sqlite3_str_new(NULL);
    for (int k = 0, nf = 0; rc == CHURN_OK && k < neval; k++) {
        if (fired & ((uint64_t)1 << k)) {
            const char *name;
            churn_alerts_rule(all, (size_t)map[k], &name, NULL, NULL, NULL);
            sqlite3_str_appendf(out, "%s%s", nf++ ? ";" : "", name);
        }
    }
    churn_alerts_free(eval);
    churn_alerts_free(all);
    if (rc != CHURN_OK) {
        sqlite3_free(sqlite3_str_finish(out));
        { result_churn_error(ctx, rc, fn); return; }
    }
    int len = sqlite3_str_length(out);
    char *res = sqlite3_str_finish(out);
    if (!res && len > 0)
        { sqlite3_result_error_nomem(ctx); return; }
    sqlite3_result_text(ctx, res ? res : "", len, res ? sqlite3_free : SQLITE_STATIC);
}

static void fn_default_alert_rules(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    static const char *const opname[] = {"?", "<", "<=", ">", ">=", "==", "!="};
    churn_alerts *a = NULL;
    int rc = churn_alerts_new(&a);
    if (rc == CHURN_OK)
        rc = churn_alerts_add_defaults(a);
    sqlite3_str *out = sqlite3_str_new(NULL);
    for (size_t i = 0; rc == CHURN_OK && i < churn_alerts_num_rules(a); i++) {
        const char *name, *field;
        int op;
        double th;
        rc = churn_alerts_rule(a, i, &name, &field, &op, &th);
        if (rc != CHURN_OK)
            break;
        char num[40];
        for (int digits = 15; digits <= 17; digits++) {
            snprintf(num, sizeof num, "%.*g", digits, th);
            if (strtod(num, NULL) == th) /* printf and strtod share the host's locale */
                break;
        }
        point_decimal(num);
        sqlite3_str_appendf(out, "%s%s: %s %s %s", i ? ";" : "", name, field,
                            (op >= 1 && op <= 6) ? opname[op] : "?", num);
    }
    churn_alerts_free(a);
    int len = sqlite3_str_length(out);
    char *res = sqlite3_str_finish(out);
    if (rc != CHURN_OK) {
        sqlite3_free(res);
        { result_churn_error(ctx, rc, "churn_default_alert_rules"); return; }
    }
    if (!res)
        { sqlite3_result_error_nomem(ctx); return; }
    sqlite3_result_text(ctx, res, len, sqlite3_free);
}

/* ---- registration ------------------------------------------------------------------------------ */

typedef struct func_def {
    const char *name;
    int nargs;
    void (*fn)(sqlite3_context *, int, sqlite3_value **);
} func_def;

#ifdef _WIN32
__declspec(dllexport)
#endif
int sqlite3_churnsqlite_init(sqlite3 *db, char **err, const sqlite3_api_routines *api)
{
    SQLITE_EXTENSION_INIT2(api);
    static const func_def funcs[] = {
        {"churn_version", 0, fn_version},
        {"churn_model_family", 1, fn_model_family},
        {"churn_p_alive", 4, fn_p_alive},
        {"churn_p_alive", 2, fn_p_alive},
        {"churn_expected_purchases", 5, fn_expected_purchases},
        {"churn_expected_purchases", 3, fn_expected_purchases},
        {"churn_expected_spend", 3, fn_expected_spend},
        {"churn_expected_spend", 2, fn_expected_spend},
        {"churn_clv", -1, fn_clv},
        {"churn_value_at_risk", -1, fn_value_at_risk},
        {"churn_score", -1, fn_score},
        {"churn_alerts", 2, fn_alerts},
        {"churn_alerts", 3, fn_alerts},
        {"churn_default_alert_rules", 0, fn_default_alert_rules},
    };
    conn_data *cd = sqlite3_malloc(sizeof *cd);
    if (!cd)
        return SQLITE_NOMEM;
    memset(cd, 0, sizeof *cd);
    cd->refs = 1; /* held until the end of registration */
    int rc = SQLITE_OK;
    const int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
    for (size_t i = 0; rc == SQLITE_OK && i < sizeof funcs / sizeof funcs[0]; i++) {
        cd->refs++;
        rc = sqlite3_create_function_v2(db, funcs[i].name, funcs[i].nargs, flags, cd, funcs[i].fn,
                                        NULL, NULL, conn_data_release);
    }
    for (int nargs = 3; rc == SQLITE_OK && nargs <= 4; nargs++) {
        cd->refs++;
        rc = sqlite3_create_function_v2(db, "churn_summary", nargs, flags, cd, NULL, summary_step,
                                        summary_final, conn_data_release);
    }
    conn_data_release(cd);
    if (rc != SQLITE_OK && err)
        *err = sqlite3_mprintf("libchurn_sqlite: registering the functions failed: %s",
                               sqlite3_errmsg(db));
    return rc;
}
