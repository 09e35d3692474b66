/*
 * Lua 5.4 binding: `local churn = require "churn"`.
 *
 * Handles (models, transaction logs, customer tables, per-customer states)
 * are full userdata created "closed" (NULL) and filled once the C call
 * succeeded, as Lua's liolib.c does with files; per type, __gc and __close
 * share one idempotent closer, so a handle can be closed early, closed twice,
 * or left to the collector.
 *
 * Errors follow Lua's conventions: misuse (wrong argument types, a missing
 * field, an unknown option, a closed handle, a model of the wrong family)
 * raises an error carrying the C message; expected failures (file missing,
 * bad format, bad data rejected by the library, no convergence) return
 * nil, message, code, with the code a churn_status value (churn.status).
 *
 * Memory: every temporary buffer is a Lua userdata (collected even when an
 * error unwinds the C stack with longjmp), and every C object is owned by its
 * userdata before the C call that creates it, so no path leaks.
 *
 * The module must not link liblua (Debian's lua5.4 is statically linked): it
 * takes the interpreter's symbols at load time.
 */
#include "churn.h"

#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODEL_MT "churn.model"
#define TXLOG_MT "churn.txlog"
#define TABLE_MT "churn.customers"
#define STATE_MT "churn.state"
#define STREAM_MT "churn.stream"

/* A handle userdata. `busy` counts the calls of this module using the
 * handle further down the C stack: Lua code they run (a metamethod of a
 * customer table, a finalizer during an allocation) may close the handle,
 * and the free then waits (`zombie`) for __gc, which cannot run while a call
 * holds the handle on its stack. A call that raises leaves its count
 * behind; later closes of that handle still make it unusable at once and
 * leave the free to the collector. */
typedef struct lmodel {
    churn_model *m;
    churn_model *zombie;
    int busy;
} lmodel;

typedef struct ltxlog {
    churn_txlog *log;
    churn_txlog *zombie;
    int busy;
} ltxlog;

typedef struct ltable {
    churn_customers *t;
    churn_customers *zombie;
    int busy;
} ltable;

typedef struct lstream {
    churn_customer_stream *s;
    churn_customer_stream *zombie;
    int busy;
    uint64_t folded; /* rows folded when the stream was closed */
} lstream;

typedef struct lstate {
    int open; /* 0 once closed: the state is plain data, nothing to free */
    churn_customer_state s;
} lstate;

/* ==== errors ============================================================= */

/* Push nil, message, code and return 3 (Lua's convention for expected failures). */
static int push_fail(lua_State *L, int rc)
{
    const char *msg = churn_last_error_message();
    lua_pushnil(L);
    lua_pushstring(L, *msg ? msg : churn_strerror(rc));
    lua_pushinteger(L, rc);
    return 3;
}

/* Raise a Lua error with the C message (misuse). */
static int raise_c(lua_State *L, int rc)
{
    const char *msg = churn_last_error_message();
    return luaL_error(L, "%s", *msg ? msg : churn_strerror(rc));
}

/* A failed predict call: a model of another family is misuse, the rest is data. */
static int predict_fail(lua_State *L, int rc)
{
    return rc == CHURN_EFAMILY ? raise_c(L, rc) : push_fail(L, rc);
}

/* ==== temporary buffers ================================================== */

/* A buffer of n doubles owned by a userdata left on the stack: the collector
 * frees it whether the function returns or raises. */
static double *tmp_doubles(lua_State *L, size_t n)
{
    luaL_checkstack(L, 4, "churn: stack overflow");
    if (n > ((size_t)-1) / 2 / sizeof(double))
        luaL_error(L, "churn: %I values is too many", (lua_Integer)(n));
    return (double *)lua_newuserdatauv(L, (n ? n : 1) * sizeof(double), 0);
}

static size_t mul_size(lua_State *L, size_t a, size_t b)
{
    if (b && a > ((size_t)-1) / 16 / b)
        luaL_error(L, "churn: %I x %I values is too many", (lua_Integer)(a), (lua_Integer)(b));
    return a * b;
}

static void push_numbers(lua_State *L, const double *v, size_t n)
{
    luaL_checkstack(L, 2, "churn: stack overflow");
    lua_createtable(L, n > INT32_MAX ? 0 : (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushnumber(L, v[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

/* ==== numbers from Lua values ============================================ */

/* Numbers, numeric strings (Lua's coercion) and booleans (1/0, for labels
 * and event indicators) are accepted as data. */
static int value_number(lua_State *L, int idx, double *out)
{
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
        *out = lua_tonumber(L, idx);
        return 1;
    case LUA_TBOOLEAN:
        *out = lua_toboolean(L, idx);
        return 1;
    case LUA_TSTRING: {
        int ok;
        *out = lua_tonumberx(L, idx, &ok);
        return ok;
    }
    default:
        return 0;
    }
}

static const char *describe_value(lua_State *L, int idx)
{
    return lua_type(L, idx) == LUA_TNIL ? "missing" : luaL_typename(L, idx);
}

/* A Lua array of numbers as a temporary buffer (pushed); *n gets its length. */
static double *check_numbers(lua_State *L, int idx, const char *what, size_t *n)
{
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE)
        luaL_error(L, "%s must be an array of numbers, got %s", what, luaL_typename(L, idx));
    lua_Integer len = luaL_len(L, idx);
    size_t m = len > 0 ? (size_t)len : 0;
    double *v = tmp_doubles(L, m);
    for (size_t i = 0; i < m; i++) {
        lua_geti(L, idx, (lua_Integer)i + 1);
        if (!value_number(L, -1, &v[i]))
            luaL_error(L, "%s[%I] is %s, expected a number", what, (lua_Integer)(i + 1),
                       describe_value(L, -1));
        lua_pop(L, 1);
    }
    *n = m;
    return v;
}

/* A time: seconds since the epoch (number; the library checks it is finite)
 * or a date text ("1997-09-30", "1997-09-30T12:00:00Z", "19970930", epoch
 * digits) parsed as the CSV reader does. Other types raise, naming `what`.
 * Returns the churn status of the parse; *out is set on success. */
static int value_time(lua_State *L, int idx, double *out, const char *what)
{
    int t = lua_type(L, idx);
    if (t == LUA_TNUMBER) {
        *out = lua_tonumber(L, idx);
        return CHURN_OK;
    }
    if (t == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        return churn_parse_date(s, len, CHURN_DATE_AUTO, out);
    }
    return luaL_error(L, "%s is %s, expected seconds since the epoch or a date text", what,
                      describe_value(L, idx));
}

/* ==== option tables ====================================================== */

/* Options are a table of named fields; unknown names raise (they are typos). */
static void check_options(lua_State *L, int idx, const char *what, const char *const *allowed)
{
    if (lua_isnoneornil(L, idx))
        return;
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE)
        luaL_error(L, "%s: options must be a table, got %s", what, luaL_typename(L, idx));
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "%s: option names must be strings", what);
        const char *k = lua_tostring(L, -1);
        const char *const *a = allowed;
        while (*a && strcmp(*a, k) != 0)
            a++;
        if (!*a)
            luaL_error(L, "%s: unknown option '%s'", what, k);
    }
}

/* Push opts[key] (nil when opts is absent) and return its type. */
static int opt_get(lua_State *L, int idx, const char *key)
{
    if (lua_type(L, idx) != LUA_TTABLE) {
        lua_pushnil(L);
        return LUA_TNIL;
    }
    return lua_getfield(L, idx, key);
}

static double opt_number(lua_State *L, int idx, const char *key, double def, const char *what)
{
    double v = def;
    if (opt_get(L, idx, key) != LUA_TNIL) {
        int ok;
        v = lua_tonumberx(L, -1, &ok);
        if (!ok)
            luaL_error(L, "%s: option '%s' must be a number, got %s", what, key,
                       luaL_typename(L, -1));
    }
    lua_pop(L, 1);
    return v;
}

static int opt_int(lua_State *L, int idx, const char *key, int def, const char *what)
{
    lua_Integer v = def;
    if (opt_get(L, idx, key) != LUA_TNIL) {
        int ok;
        v = lua_tointegerx(L, -1, &ok);
        if (!ok || v < INT32_MIN || v > INT32_MAX)
            luaL_error(L, "%s: option '%s' must be an integer", what, key);
    }
    lua_pop(L, 1);
    return (int)v;
}

static int opt_bool(lua_State *L, int idx, const char *key, int def, const char *what)
{
    int v = def, t = opt_get(L, idx, key);
    if (t == LUA_TBOOLEAN)
        v = lua_toboolean(L, -1);
    else if (t != LUA_TNIL)
        luaL_error(L, "%s: option '%s' must be a boolean, got %s", what, key, luaL_typename(L, -1));
    lua_pop(L, 1);
    return v;
}

/* A string option. The string stays anchored by the options table. */
static const char *opt_string(lua_State *L, int idx, const char *key, const char *def,
                              const char *what)
{
    luaL_checkstack(L, 2, "churn: stack overflow");
    int t = opt_get(L, idx, key);
    if (t == LUA_TSTRING)
        return lua_tostring(L, -1); /* left on the stack: anchored for the whole call */
    if (t != LUA_TNIL)
        luaL_error(L, "%s: option '%s' must be a string, got %s", what, key, luaL_typename(L, -1));
    lua_pop(L, 1);
    return def;
}

/* An option naming one of `names`; returns its index or def. */
static int opt_enum(lua_State *L, int idx, const char *key, int def, const char *const *names,
                    const char *what)
{
    const char *s = opt_string(L, idx, key, NULL, what);
    if (!s)
        return def;
    for (int i = 0; names[i]; i++)
        if (!strcmp(names[i], s))
            return i;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 0; names[i]; i++) {
        luaL_addstring(&b, i ? ", " : "");
        luaL_addstring(&b, names[i]);
    }
    luaL_pushresult(&b);
    return luaL_error(L, "%s: option '%s' is '%s', expected one of %s", what, key, s,
                      lua_tostring(L, -1));
}

/* A time option (number of seconds or date text); def when absent. */
static double opt_time(lua_State *L, int idx, const char *key, double def, const char *what)
{
    double v = def;
    if (opt_get(L, idx, key) != LUA_TNIL) {
        lua_pushfstring(L, "%s: option '%s'", what, key);
        if (value_time(L, -2, &v, lua_tostring(L, -1)) != CHURN_OK)
            luaL_error(L, "%s: option '%s': %s", what, key, churn_last_error_message());
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return v;
}

/* A time unit in days: "day", "week", "month", "year" or a positive number of days. */
static double opt_unit(lua_State *L, int idx, const char *key, double def, const char *what)
{
    double v = def;
    int t = opt_get(L, idx, key);
    if (t == LUA_TNUMBER) {
        v = lua_tonumber(L, -1);
    } else if (t == LUA_TSTRING) {
        const char *s = lua_tostring(L, -1);
        if (!strcmp(s, "day") || !strcmp(s, "days"))
            v = CHURN_UNIT_DAY;
        else if (!strcmp(s, "week") || !strcmp(s, "weeks"))
            v = CHURN_UNIT_WEEK;
        else if (!strcmp(s, "month") || !strcmp(s, "months"))
            v = CHURN_UNIT_MONTH;
        else if (!strcmp(s, "year") || !strcmp(s, "years"))
            v = CHURN_UNIT_YEAR;
        else
            luaL_error(L,
                       "%s: option '%s' is '%s', expected day, week, month, year or a "
                       "number of days",
                       what, key, s);
    } else if (t != LUA_TNIL) {
        luaL_error(L, "%s: option '%s' must be a unit name or a number of days", what, key);
    }
    lua_pop(L, 1);
    if (t != LUA_TNIL && !(v > 0 && isfinite(v)))
        luaL_error(L, "%s: option '%s' must be a positive number of days", what, key);
    return v;
}

/* ==== data sets: arrays of customer tables or tables of columns =========== */

typedef struct dataset {
    int idx;   /* absolute stack index of the data table */
    int rows;  /* 1: an array of row tables; 0: a table of column arrays */
    int sized; /* n is known */
    size_t n;
} dataset;

static void data_open(lua_State *L, int idx, dataset *d)
{
    d->idx = lua_absindex(L, idx);
    if (lua_type(L, d->idx) != LUA_TTABLE)
        luaL_error(L, "data must be an array of customer tables or a table of columns, got %s",
                   luaL_typename(L, d->idx));
    int t = lua_geti(L, d->idx, 1);
    lua_pop(L, 1);
    if (t == LUA_TTABLE) {
        lua_Integer len = luaL_len(L, d->idx);
        d->rows = 1;
        d->sized = 1;
        d->n = len > 0 ? (size_t)len : 0;
    } else if (t == LUA_TNIL) {
        d->rows = 0;
        d->sized = 0;
        d->n = 0;
        lua_pushnil(L);
        if (!lua_next(L, d->idx)) { /* {}: no customers */
            d->rows = 1;
            d->sized = 1;
        } else {
            lua_pop(L, 2);
        }
    } else {
        luaL_error(L,
                   "data[1] is a %s: data must be an array of customer tables or a table "
                   "of columns",
                   luaL_typename(L, -1));
    }
}

/* Push the column `name` (or `alt`) of a column-shaped data set; sets n from
 * the first column read and checks the others against it. */
static void data_column(lua_State *L, dataset *d, const char *name, const char *alt)
{
    int t = lua_getfield(L, d->idx, name);
    if (t == LUA_TNIL && alt) {
        lua_pop(L, 1);
        t = lua_getfield(L, d->idx, alt);
        if (t != LUA_TNIL)
            name = alt;
    }
    if (t != LUA_TTABLE)
        luaL_error(L, "data.%s is %s, expected an array of numbers", name, describe_value(L, -1));
    lua_Integer len = luaL_len(L, -1);
    size_t m = len > 0 ? (size_t)len : 0;
    if (!d->sized) {
        d->n = m;
        d->sized = 1;
    } else if (m != d->n) {
        luaL_error(L, "data.%s has %I values, expected %I like the other columns", name,
                   (lua_Integer)(m), (lua_Integer)(d->n));
    }
}

/* Number of customers; for columns, the length of column `name`. */
static size_t data_size(lua_State *L, dataset *d, const char *name, const char *alt)
{
    if (!d->sized) {
        data_column(L, d, name, alt);
        lua_pop(L, 1);
    }
    return d->n;
}

/* Read fields names[0..p) (alternative names alts[j] when given) of every
 * customer into out: element (i, j) at i*p + j (row_major) or j*n + i. */
static void data_read(lua_State *L, dataset *d, size_t p, const char *const *names,
                      const char *const *alts, double *out, int row_major)
{
    size_t n = d->n;
    luaL_checkstack(L, 4, "churn: stack overflow");
    if (d->rows) {
        for (size_t i = 0; i < n; i++) {
            if (lua_geti(L, d->idx, (lua_Integer)i + 1) != LUA_TTABLE)
                luaL_error(L, "data[%I] is %s, expected a customer table", (lua_Integer)(i + 1),
                           describe_value(L, -1));
            for (size_t j = 0; j < p; j++) {
                int t = lua_getfield(L, -1, names[j]);
                if (t == LUA_TNIL && alts && alts[j]) {
                    lua_pop(L, 1);
                    lua_getfield(L, -1, alts[j]);
                }
                double *dst = row_major ? &out[i * p + j] : &out[j * n + i];
                if (!value_number(L, -1, dst))
                    luaL_error(L, "data[%I].%s is %s, expected a number", (lua_Integer)(i + 1),
                               names[j], describe_value(L, -1));
                lua_pop(L, 1);
            }
            lua_pop(L, 1);
        }
        return;
    }
    for (size_t j = 0; j < p; j++) {
        data_column(L, d, names[j], alts ? alts[j] : NULL);
        for (size_t i = 0; i < n; i++) {
            lua_geti(L, -1, (lua_Integer)i + 1);
            double *dst = row_major ? &out[i * p + j] : &out[j * n + i];
            if (!value_number(L, -1, dst))
                luaL_error(L, "data.%s[%I] is %s, expected a number", names[j],
                           (lua_Integer)(i + 1), describe_value(L, -1));
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
}

/* An optional per-customer vector named by an option: opts[key] is an array
 * of n numbers or the name of a field of the data; absent -> def_field (or
 * NULL when def_field is NULL). Pushes a buffer when it returns non-NULL. */
static double *data_vector_opt(lua_State *L, dataset *d, int opts, const char *key,
                               const char *def_field)
{
    int t = opt_get(L, opts, key);
    if (t == LUA_TTABLE) {
        size_t m;
        int arr = lua_absindex(L, -1);
        double *v = check_numbers(L, arr, key, &m);
        if (!d->sized) {
            d->n = m;
            d->sized = 1;
        }
        if (m != d->n)
            luaL_error(L, "option '%s' has %I values, expected %I (one per customer)", key,
                       (lua_Integer)(m), (lua_Integer)(d->n));
        lua_remove(L, arr); /* keep only the buffer */
        return v;
    }
    const char *field = def_field;
    if (t == LUA_TSTRING)
        field = lua_tostring(L, -1); /* left on the stack: anchored for the whole call */
    else if (t != LUA_TNIL)
        luaL_error(L, "option '%s' must be a field name or an array of numbers", key);
    else
        lua_pop(L, 1);
    if (!field)
        return NULL;
    double *v = tmp_doubles(L, data_size(L, d, field, NULL));
    const char *names[1] = {field};
    data_read(L, d, 1, names, NULL, v, 1);
    return v;
}

/* Feature names from opts.features (an array of strings), pushed as a
 * userdata array of pointers anchored by the options table. */
static const char **opt_features(lua_State *L, int opts, size_t *p, int required, const char *what)
{
    int t = opt_get(L, opts, "features");
    if (t == LUA_TNIL) {
        lua_pop(L, 1);
        if (required)
            luaL_error(L, "%s: option 'features' (an array of field names) is required", what);
        *p = 0;
        return (const char **)lua_newuserdatauv(L, sizeof(char *), 0);
    }
    if (t != LUA_TTABLE)
        luaL_error(L, "%s: option 'features' must be an array of field names", what);
    lua_Integer len = luaL_len(L, -1);
    size_t m = len > 0 ? (size_t)len : 0;
    /* the names are anchored by a table of our own (the user value of the pointer
     * array), out of reach of Lua code that may change opts.features meanwhile */
    const char **names = (const char **)lua_newuserdatauv(L, (m ? m : 1) * sizeof(char *), 1);
    lua_createtable(L, m > INT32_MAX ? 0 : (int)m, 0);
    for (size_t j = 0; j < m; j++) {
        if (lua_geti(L, -3, (lua_Integer)j + 1) != LUA_TSTRING)
            luaL_error(L, "%s: features[%I] must be a string", what, (lua_Integer)(j + 1));
        names[j] = lua_tostring(L, -1);
        lua_rawseti(L, -2, (lua_Integer)j + 1);
    }
    lua_setiuservalue(L, -2, 1);
    lua_remove(L, -2);
    *p = m;
    return names;
}

/* ==== models ============================================================= */

static lmodel *new_model_ud(lua_State *L)
{
    lmodel *u = (lmodel *)lua_newuserdatauv(L, sizeof *u, 0);
    u->m = u->zombie = NULL; /* "closed" until filled */
    u->busy = 0;
    luaL_setmetatable(L, MODEL_MT);
    return u;
}

static lmodel *check_lmodel(lua_State *L, int idx)
{
    lmodel *u = (lmodel *)luaL_checkudata(L, idx, MODEL_MT);
    if (!u->m)
        luaL_error(L, "attempt to use a closed churn model");
    return u;
}

/* For accessors that run no Lua code while they use the model. */
static churn_model *check_model(lua_State *L, int idx) { return check_lmodel(L, idx)->m; }

/* A model method whose body runs with the model pinned (see lmodel). */
#define MODEL_METHOD(name)                                                                         \
    static int name##_body(lua_State *L, churn_model *m);                                          \
    static int name(lua_State *L)                                                                  \
    {                                                                                              \
        lmodel *u_ = check_lmodel(L, 1);                                                           \
        u_->busy++;                                                                                \
        int n_ = name##_body(L, u_->m);                                                            \
        u_->busy--;                                                                                \
        return n_;                                                                                 \
    }                                                                                              \
    static int name##_body(lua_State *L, churn_model *m)

/* The userdata u (on top of the stack) holds the result of a fit returning
 * rc: the model on success; nil, msg, code on failure, plus the model as a
 * 4th value when the fit did not converge (C returns it for inspection). */
static int fit_result(lua_State *L, lmodel *u, int rc)
{
    if (rc == CHURN_OK)
        return 1;
    if (rc == CHURN_ENOCONV && u->m) {
        push_fail(L, rc);
        lua_pushvalue(L, -4); /* the model */
        return 4;
    }
    churn_model_free(u->m);
    u->m = NULL;
    return push_fail(L, rc);
}

static int family_arg(lua_State *L, int idx)
{
    const char *name = luaL_checkstring(L, idx);
    int fam;
    if (churn_family_from_name(name, &fam) != CHURN_OK)
        luaL_argerror(L, idx, lua_pushfstring(L, "unknown model family '%s'", name));
    return fam;
}

static int is_btyd(int fam)
{
    return fam == CHURN_FAMILY_BGNBD || fam == CHURN_FAMILY_MBGNBD || fam == CHURN_FAMILY_PNBD ||
           fam == CHURN_FAMILY_BGBB;
}

static int is_aft(int fam)
{
    return fam == CHURN_FAMILY_WEIBULL || fam == CHURN_FAMILY_EXPONENTIAL ||
           fam == CHURN_FAMILY_LOGLOGISTIC || fam == CHURN_FAMILY_LOGNORMAL;
}

static int is_survival(int fam) { return fam == CHURN_FAMILY_COX || is_aft(fam); }

/* Customer fields of the BTYD families, with lifetimes-style aliases. */
static const char *const btyd_names[3] = {"frequency", "recency", "T"};
static const char *const btyd_alts[3] = {"x", "t_x", NULL};
static const char *const spend_names[2] = {"frequency", "monetary_value"};
static const char *const spend_alts[2] = {"x", "zbar"};

static const char *const fit_common_keys[] = {"weights", "max_iter", "tol", "std_errors",
                                              "l2",      "unit",     NULL};

/* Record the time unit (days, from opts.unit parsed before the fit) in a new model. */
static void record_unit(lmodel *u, double unit)
{
    if (unit > 0 && u->m)
        churn_model_set_time_unit(u->m, unit);
}

static int fit_btyd_data(lua_State *L, int fam, int data_idx, int opts)
{
    static const char what[] = "fit";
    check_options(L, opts, what, fit_common_keys);
    double unit = opt_unit(L, opts, "unit", 0.0, what);
    churn_btyd_options o = CHURN_BTYD_OPTIONS_INIT;
    o.max_iter = opt_int(L, opts, "max_iter", 0, what);
    o.tol = opt_number(L, opts, "tol", 0.0, what);
    o.l2_penalty = opt_number(L, opts, "l2", 0.0, what);
    o.no_std_errors = !opt_bool(L, opts, "std_errors", 1, what);
    dataset d;
    data_open(L, data_idx, &d);
    size_t n = data_size(L, &d, btyd_names[0], btyd_alts[0]);
    double *cols = tmp_doubles(L, mul_size(L, n, 3));
    data_read(L, &d, 3, btyd_names, btyd_alts, cols, 0);
    double *w = data_vector_opt(L, &d, opts, "weights", NULL);
    lmodel *u = new_model_ud(L);
    int rc = churn_btyd_fit(&u->m, fam, n, cols, cols + n, cols + 2 * n, w, &o);
    record_unit(u, unit);
    return fit_result(L, u, rc);
}

static int fit_sbg_data(lua_State *L, int data_idx, int opts)
{
    static const char what[] = "fit sbg";
    static const char *const keys[] = {"weights", "max_iter", "tol",     "std_errors", "l2",
                                       "unit",    "periods",  "churned", NULL};
    check_options(L, opts, what, keys);
    double unit = opt_unit(L, opts, "unit", 0.0, what);
    churn_btyd_options o = CHURN_BTYD_OPTIONS_INIT;
    o.max_iter = opt_int(L, opts, "max_iter", 0, what);
    o.tol = opt_number(L, opts, "tol", 0.0, what);
    o.l2_penalty = opt_number(L, opts, "l2", 0.0, what);
    o.no_std_errors = !opt_bool(L, opts, "std_errors", 1, what);
    data_idx = lua_absindex(L, data_idx);
    luaL_checktype(L, data_idx, LUA_TTABLE);
    if (lua_getfield(L, data_idx, "survivors") == LUA_TTABLE) {
        size_t n;
        double *s = check_numbers(L, -1, "survivors", &n);
        lmodel *u = new_model_ud(L);
        int rc = churn_sbg_fit_survivors(&u->m, n, s, &o);
        record_unit(u, unit);
        return fit_result(L, u, rc);
    }
    lua_pop(L, 1);
    dataset d;
    data_open(L, data_idx, &d);
    const char *pname = opt_string(L, opts, "periods", "periods", what);
    const char *cname = opt_string(L, opts, "churned", "churned", what);
    size_t n = data_size(L, &d, pname, NULL);
    double *per = tmp_doubles(L, n), *ch = tmp_doubles(L, n);
    data_read(L, &d, 1, &pname, NULL, per, 1);
    data_read(L, &d, 1, &cname, NULL, ch, 1);
    int *churned = (int *)lua_newuserdatauv(L, (n ? n : 1) * sizeof(int), 0);
    for (size_t i = 0; i < n; i++) {
        if (ch[i] != 0 && ch[i] != 1)
            luaL_error(L, "data[%I].%s is %f, expected 0/1 or a boolean", (lua_Integer)(i + 1),
                       cname, (lua_Number)(ch[i]));
        churned[i] = ch[i] != 0;
    }
    double *w = data_vector_opt(L, &d, opts, "weights", NULL);
    lmodel *u = new_model_ud(L);
    int rc = churn_sbg_fit(&u->m, n, per, churned, w, &o);
    record_unit(u, unit);
    return fit_result(L, u, rc);
}

static int fit_gammagamma_data(lua_State *L, int data_idx, int opts)
{
    static const char what[] = "fit gammagamma";
    static const char *const keys[] = {"weights", "max_iter", "tol", "std_errors", "unit", NULL};
    check_options(L, opts, what, keys);
    double unit = opt_unit(L, opts, "unit", 0.0, what);
    churn_gammagamma_options o = CHURN_GAMMAGAMMA_OPTIONS_INIT;
    o.max_iter = opt_int(L, opts, "max_iter", 0, what);
    o.tol = opt_number(L, opts, "tol", 0.0, what);
    o.no_std_errors = !opt_bool(L, opts, "std_errors", 1, what);
    dataset d;
    data_open(L, data_idx, &d);
    size_t n = data_size(L, &d, spend_names[0], spend_alts[0]);
    double *cols = tmp_doubles(L, mul_size(L, n, 2));
    data_read(L, &d, 2, spend_names, spend_alts, cols, 0);
    double *w = data_vector_opt(L, &d, opts, "weights", NULL);
    lmodel *u = new_model_ud(L);
    int rc = churn_gammagamma_fit(&u->m, n, cols, cols + n, w, &o);
    record_unit(u, unit);
    return fit_result(L, u, rc);
}

static int fit_logit_data(lua_State *L, int data_idx, int opts)
{
    static const char what[] = "fit logit";
    static const char *const keys[] = {
        "features",    "label",        "weights",  "penalty", "lambda",     "alpha", "intercept",
        "standardize", "class_weight", "max_iter", "tol",     "separation", "unit",  NULL};
    static const char *const penalties[] = {"none", "l2", "l1", "elasticnet", NULL};
    static const char *const class_weights[] = {"none", "balanced", NULL};
    static const char *const separations[] = {"error", "note", NULL};
    check_options(L, opts, what, keys);
    double unit = opt_unit(L, opts, "unit", 0.0, what);
    churn_logit_options o = CHURN_LOGIT_OPTIONS_INIT;
    o.penalty = opt_enum(L, opts, "penalty", o.penalty, penalties, what);
    o.lambda = opt_number(L, opts, "lambda", o.lambda, what);
    o.alpha = opt_number(L, opts, "alpha", o.alpha, what);
    o.intercept = opt_bool(L, opts, "intercept", o.intercept, what);
    o.standardize = opt_bool(L, opts, "standardize", o.standardize, what);
    o.class_weight = opt_enum(L, opts, "class_weight", o.class_weight, class_weights, what);
    o.max_iter = opt_int(L, opts, "max_iter", o.max_iter, what);
    o.tol = opt_number(L, opts, "tol", o.tol, what);
    o.separation = opt_enum(L, opts, "separation", o.separation, separations, what);
    size_t p;
    const char **names = opt_features(L, opts, &p, 1, what);
    dataset d;
    data_open(L, data_idx, &d);
    double *y = data_vector_opt(L, &d, opts, "label", "churned"); /* sizes the data */
    double *w = data_vector_opt(L, &d, opts, "weights", NULL);
    size_t n = d.n;
    double *x = tmp_doubles(L, mul_size(L, n, p));
    data_read(L, &d, p, names, NULL, x, 0);
    lmodel *u = new_model_ud(L);
    int rc = churn_logit_fit(&u->m, x, n, p, CHURN_LOGIT_COL_MAJOR, 0, y, w, names, &o);
    record_unit(u, unit);
    return fit_result(L, u, rc);
}

static int fit_survival_data(lua_State *L, int fam, int data_idx, int opts)
{
    static const char what[] = "fit survival";
    static const char *const keys[] = {"features", "duration", "event", "weights", "ties", "l2",
                                       "l2_scale", "max_iter", "tol",   "unit",    NULL};
    static const char *const ties[] = {"efron", "breslow", NULL};
    check_options(L, opts, what, keys);
    double unit = opt_unit(L, opts, "unit", 0.0, what);
    churn_cox_options co = CHURN_COX_OPTIONS_INIT;
    churn_aft_options ao = CHURN_AFT_OPTIONS_INIT;
    if (fam == CHURN_FAMILY_COX) {
        co.ties = opt_enum(L, opts, "ties", co.ties, ties, what);
        co.l2_penalty = opt_number(L, opts, "l2", co.l2_penalty, what);
        co.l2_scale = opt_bool(L, opts, "l2_scale", co.l2_scale, what);
        co.max_iter = opt_int(L, opts, "max_iter", co.max_iter, what);
        co.tol = opt_number(L, opts, "tol", co.tol, what);
    } else {
        static const char *const cox_only[] = {"ties", "l2", "l2_scale", NULL};
        for (int i = 0; cox_only[i]; i++) {
            if (opt_get(L, opts, cox_only[i]) != LUA_TNIL)
                luaL_error(L, "%s: option '%s' is for cox models only", what, cox_only[i]);
            lua_pop(L, 1);
        }
        ao.max_iter = opt_int(L, opts, "max_iter", ao.max_iter, what);
        ao.tol = opt_number(L, opts, "tol", ao.tol, what);
    }
    size_t p;
    const char **names = opt_features(L, opts, &p, fam == CHURN_FAMILY_COX, what);
    dataset d;
    data_open(L, data_idx, &d);
    double *dur = data_vector_opt(L, &d, opts, "duration", "duration"); /* sizes the data */
    double *ev = data_vector_opt(L, &d, opts, "event", "event");
    double *w = data_vector_opt(L, &d, opts, "weights", NULL);
    size_t n = d.n;
    double *x = tmp_doubles(L, mul_size(L, n, p));
    data_read(L, &d, p, names, NULL, x, 1);
    lmodel *u = new_model_ud(L);
    int rc = fam == CHURN_FAMILY_COX ? churn_cox_fit(&u->m, n, p, x, names, dur, ev, w, &co)
                                     : churn_aft_fit(&u->m, fam, n, p, x, names, dur, ev, w, &ao);
    record_unit(u, unit);
    return fit_result(L, u, rc);
}

/* churn.fit(family, data [, opts]) -> model | nil, msg, code [, model] */
static int l_fit(lua_State *L)
{
    int fam = family_arg(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 3);
    if (is_btyd(fam))
        return fit_btyd_data(L, fam, 2, 3);
    if (fam == CHURN_FAMILY_SBG)
        return fit_sbg_data(L, 2, 3);
    if (fam == CHURN_FAMILY_GAMMAGAMMA)
        return fit_gammagamma_data(L, 2, 3);
    if (fam == CHURN_FAMILY_LOGIT)
        return fit_logit_data(L, 2, 3);
    return fit_survival_data(L, fam, 2, 3);
}

/* churn.fit_btyd(family, frequency, recency, T [, weights [, opts]])
 * churn.fit_btyd(family, data [, opts])
 *   -> model | nil, msg, code [, model] */
static int l_fit_btyd(lua_State *L)
{
    int fam = family_arg(L, 1);
    if (fam == CHURN_FAMILY_SBG)
        return luaL_error(L, "fit_btyd: fit sBG models with churn.fit(\"sbg\", data)");
    if (!is_btyd(fam))
        return luaL_error(L, "fit_btyd: '%s' is not a BTYD family", lua_tostring(L, 1));
    if (lua_type(L, 3) != LUA_TTABLE || lua_type(L, 4) != LUA_TTABLE) { /* data form */
        lua_settop(L, 3);
        return fit_btyd_data(L, fam, 2, 3);
    }
    static const char what[] = "fit_btyd";
    int opts = 6;
    lua_settop(L, opts);
    check_options(L, opts, what, fit_common_keys);
    double unit = opt_unit(L, opts, "unit", 0.0, what);
    if (opt_get(L, opts, "weights") != LUA_TNIL)
        luaL_error(L, "%s: pass weights as the 5th argument", what);
    lua_pop(L, 1);
    churn_btyd_options o = CHURN_BTYD_OPTIONS_INIT;
    o.max_iter = opt_int(L, opts, "max_iter", 0, what);
    o.tol = opt_number(L, opts, "tol", 0.0, what);
    o.l2_penalty = opt_number(L, opts, "l2", 0.0, what);
    o.no_std_errors = !opt_bool(L, opts, "std_errors", 1, what);
    size_t n, n2, n3, nw = 0;
    double *x = check_numbers(L, 2, "frequency", &n);
    double *tx = check_numbers(L, 3, "recency", &n2);
    double *T = check_numbers(L, 4, "T", &n3);
    double *w = NULL;
    if (!lua_isnoneornil(L, 5))
        w = check_numbers(L, 5, "weights", &nw);
    if (n2 != n || n3 != n || (w && nw != n))
        return luaL_error(L, "frequency, recency, T (and weights) must have the same length");
    lmodel *u = new_model_ud(L);
    int rc = churn_btyd_fit(&u->m, fam, n, x, tx, T, w, &o);
    record_unit(u, unit);
    return fit_result(L, u, rc);
}

/* Parameter order of churn_btyd_model_new(), per family. */
static const char *const *param_order(int fam)
{
    static const char *const bg[] = {"r", "alpha", "a", "b", NULL};
    static const char *const pnbd[] = {"r", "alpha", "s", "beta", NULL};
    static const char *const bgbb[] = {"alpha", "beta", "gamma", "delta", NULL};
    static const char *const sbg[] = {"alpha", "beta", NULL};
    switch (fam) {
    case CHURN_FAMILY_BGNBD:
    case CHURN_FAMILY_MBGNBD:
        return bg;
    case CHURN_FAMILY_PNBD:
        return pnbd;
    case CHURN_FAMILY_BGBB:
        return bgbb;
    case CHURN_FAMILY_SBG:
        return sbg;
    default:
        return NULL;
    }
}

/* churn.model(family, params [, opts]) -> model | nil, msg, code
 * params: {r = .., alpha = .., a = .., b = ..} or {r, alpha, a, b}. */
static int l_model(lua_State *L)
{
    int fam = family_arg(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    static const char *const keys[] = {"unit", NULL};
    lua_settop(L, 3);
    check_options(L, 3, "model", keys);
    double unit = opt_unit(L, 3, "unit", 0.0, "model");
    const char *const *order = param_order(fam);
    if (!order)
        return luaL_error(L,
                          "model: '%s' models are fitted, not built from parameters (use "
                          "churn.fit or churn.load)",
                          lua_tostring(L, 1));
    double v[4];
    size_t k = 0;
    int positional = lua_geti(L, 2, 1) != LUA_TNIL;
    lua_pop(L, 1);
    for (; order[k]; k++) {
        if (positional)
            lua_geti(L, 2, (lua_Integer)k + 1);
        else
            lua_getfield(L, 2, order[k]);
        if (!value_number(L, -1, &v[k]))
            luaL_error(L, "model: parameter '%s' is %s, expected a number", order[k],
                       describe_value(L, -1));
        lua_pop(L, 1);
    }
    lmodel *u = new_model_ud(L);
    int rc = churn_btyd_model_new(&u->m, fam, k, v);
    if (rc)
        return push_fail(L, rc);
    record_unit(u, unit);
    return 1;
}

/* churn.load(path) -> model | nil, msg, code */
static int l_load(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    lmodel *u = new_model_ud(L);
    int rc = churn_model_load(&u->m, path);
    if (rc)
        return push_fail(L, rc);
    return 1;
}

/* churn.from_json(text) -> model | nil, msg, code */
static int l_from_json(lua_State *L)
{
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    lmodel *u = new_model_ud(L);
    int rc = churn_model_load_buffer(&u->m, text, len);
    if (rc)
        return push_fail(L, rc);
    return 1;
}

/* ---- model methods: shared accessors ---- */

/* The one closer of models, for close(), __close and __gc (collect = 1). Idempotent. */
static void model_closer(lmodel *u, int collect)
{
    if (u->m && u->busy && !collect)
        u->zombie = u->m; /* a call below still uses it: __gc frees it */
    else
        churn_model_free(u->m);
    u->m = NULL;
    if (collect) {
        churn_model_free(u->zombie);
        u->zombie = NULL;
    }
}

static int m_close(lua_State *L)
{
    model_closer((lmodel *)luaL_checkudata(L, 1, MODEL_MT), 0);
    return 0;
}

static int m_gc(lua_State *L)
{
    model_closer((lmodel *)luaL_checkudata(L, 1, MODEL_MT), 1);
    return 0;
}

static void describe_model(lua_State *L, churn_model *m);

static int m_tostring(lua_State *L)
{
    lmodel *u = (lmodel *)luaL_checkudata(L, 1, MODEL_MT);
    if (!u->m) {
        lua_pushliteral(L, "churn.model (closed)");
        return 1;
    }
    u->busy++;
    describe_model(L, u->m);
    u->busy--;
    return 1;
}

static void describe_model(lua_State *L, churn_model *m)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    lua_pushfstring(L, "churn.model %s (", churn_family_name(churn_model_family(m)));
    luaL_addvalue(&b);
    size_t k = churn_model_num_params(m);
    for (size_t i = 0; i < k && i < 8; i++) {
        double v;
        churn_model_param(m, churn_model_param_name(m, i), &v, NULL);
        char num[96];
        snprintf(num, sizeof num, "%s%.40s=%.6g", i ? ", " : "", churn_model_param_name(m, i), v);
        luaL_addstring(&b, num);
    }
    luaL_addstring(&b, k > 8 ? ", ...)" : ")");
    luaL_pushresult(&b);
}

static int m_family(lua_State *L)
{
    lua_pushstring(L, churn_family_name(churn_model_family(check_model(L, 1))));
    return 1;
}

/* model:params() -> { name = value, ... }, { name = se, ... } */
MODEL_METHOD(m_params)
{
    size_t k = churn_model_num_params(m);
    lua_createtable(L, 0, (int)k);
    lua_createtable(L, 0, (int)k);
    for (size_t i = 0; i < k; i++) {
        const char *name = churn_model_param_name(m, i);
        double v, se;
        churn_model_param(m, name, &v, &se);
        lua_pushnumber(L, v);
        lua_setfield(L, -3, name);
        lua_pushnumber(L, se);
        lua_setfield(L, -2, name);
    }
    return 2;
}

/* model:param_names() -> { "r", "alpha", ... } in the model's order */
MODEL_METHOD(m_param_names)
{
    size_t k = churn_model_num_params(m);
    lua_createtable(L, (int)k, 0);
    for (size_t i = 0; i < k; i++) {
        lua_pushstring(L, churn_model_param_name(m, i));
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

/* model:feature_names() -> { ... } (regression families; {} otherwise) */
MODEL_METHOD(m_feature_names)
{
    size_t p = churn_model_num_features(m);
    lua_createtable(L, (int)p, 0);
    for (size_t j = 0; j < p; j++) {
        lua_pushstring(L, churn_model_feature_name(m, j));
        lua_rawseti(L, -2, (lua_Integer)j + 1);
    }
    return 1;
}

/* model:covariance() -> k x k nested arrays | nil, msg, code */
MODEL_METHOD(m_covariance)
{
    size_t k = churn_model_num_params(m);
    double *c = tmp_doubles(L, mul_size(L, k, k));
    int rc = churn_model_covariance(m, c, k * k);
    if (rc)
        return push_fail(L, rc);
    lua_createtable(L, (int)k, 0);
    for (size_t i = 0; i < k; i++) {
        push_numbers(L, c + i * k, k);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static int m_loglik(lua_State *L)
{
    lua_pushnumber(L, churn_model_loglik(check_model(L, 1)));
    return 1;
}

static int m_converged(lua_State *L)
{
    lua_pushboolean(L, churn_model_converged(check_model(L, 1)));
    return 1;
}

static int m_nobs(lua_State *L)
{
    lua_pushnumber(L, churn_model_nobs(check_model(L, 1)));
    return 1;
}

static int m_iterations(lua_State *L)
{
    lua_pushinteger(L, churn_model_iterations(check_model(L, 1)));
    return 1;
}

/* model:time_unit() -> days per time unit (nil when unknown) */
static int m_time_unit(lua_State *L)
{
    double u = churn_model_time_unit(check_model(L, 1));
    if (u > 0)
        lua_pushnumber(L, u);
    else
        lua_pushnil(L);
    return 1;
}

static int m_note(lua_State *L)
{
    lua_pushstring(L, churn_model_note(check_model(L, 1)));
    return 1;
}

/* model:save(path) -> true | nil, msg, code */
MODEL_METHOD(m_save)
{
    int rc = churn_model_save(m, luaL_checkstring(L, 2));
    if (rc)
        return push_fail(L, rc);
    lua_pushboolean(L, 1);
    return 1;
}

/* model:to_json() -> text */
MODEL_METHOD(m_to_json)
{
    size_t need = 0;
    int rc = churn_model_save_buffer(m, NULL, 0, &need);
    if (rc != CHURN_OK && rc != CHURN_ERANGE)
        return raise_c(L, rc);
    luaL_Buffer b;
    char *buf = luaL_buffinitsize(L, &b, need ? need : 1);
    rc = churn_model_save_buffer(m, buf, need, NULL);
    if (rc)
        return raise_c(L, rc);
    luaL_pushresultsize(&b, need ? need - 1 : 0);
    return 1;
}

/* ---- scoring one customer: the CRM hot path ---- */

/* Field of a customer table, with an alternative name. Raises when missing. */
static double field_number(lua_State *L, int idx, const char *name, const char *alt)
{
    int t = lua_getfield(L, idx, name);
    if (t != LUA_TNUMBER) {
        if (t == LUA_TNIL && alt) {
            lua_pop(L, 1);
            lua_getfield(L, idx, alt);
        }
        double v;
        if (!value_number(L, -1, &v))
            luaL_error(L, "customer field '%s' is %s, expected a number", name,
                       describe_value(L, -1));
        lua_pop(L, 1);
        return v;
    }
    double v = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return v;
}

/* Read the model's features by name from the customer table at idx into x. */
static void customer_features(lua_State *L, churn_model *m, int idx, size_t p, double *x)
{
    for (size_t j = 0; j < p; j++)
        x[j] = field_number(L, idx, churn_model_feature_name(m, j), NULL);
}

#define SMALL_P 32

static double *feature_buffer(lua_State *L, size_t p, double *small)
{
    return p <= SMALL_P ? small : tmp_doubles(L, p);
}

static int score_sbg(lua_State *L, churn_model *m, double periods, double h);

/* model:score(customer [, horizon]) scores one customer given as a table of
 * named fields; the results depend on the family:
 *   BTYD:        p_alive, expected purchases in (T, T + horizon] (horizon default 0)
 *   sBG:         P(renew next period), expected renewals in the next horizon periods
 *                ({periods = renewals so far})
 *   gammagamma:  expected spend per purchase ({frequency, monetary_value})
 *   logit:       P(churn), linear predictor (fields named as the model's features)
 *   cox / AFT:   survival at horizon, P(churn before horizon), linear predictor
 * Data the library rejects (negative recency, NaN) return nil, msg, code. */
MODEL_METHOD(m_score)
{
    luaL_checktype(L, 2, LUA_TTABLE);
    int fam = churn_model_family(m), rc;
    if (is_btyd(fam)) {
        double h = luaL_optnumber(L, 3, 0.0);
        double x = field_number(L, 2, "frequency", "x");
        double tx = field_number(L, 2, "recency", "t_x");
        double T = field_number(L, 2, "T", NULL);
        double pa, ex;
        rc = churn_btyd_score(m, h, 1, &x, &tx, &T, &pa, &ex);
        if (rc)
            return predict_fail(L, rc);
        lua_pushnumber(L, pa);
        lua_pushnumber(L, ex);
        return 2;
    }
    if (fam == CHURN_FAMILY_GAMMAGAMMA) {
        double x = field_number(L, 2, "frequency", "x");
        double z = field_number(L, 2, "monetary_value", "zbar");
        double s;
        rc = churn_gammagamma_expected_spend(m, 1, &x, &z, &s);
        if (rc)
            return predict_fail(L, rc);
        lua_pushnumber(L, s);
        return 1;
    }
    if (fam == CHURN_FAMILY_LOGIT) {
        size_t p = churn_model_num_features(m);
        double small[SMALL_P], *x = feature_buffer(L, p, small);
        customer_features(L, m, 2, p, x);
        double pc, lp;
        rc = churn_logit_predict(m, x, 1, p, CHURN_LOGIT_ROW_MAJOR, 0, &pc, &lp);
        if (rc)
            return predict_fail(L, rc);
        lua_pushnumber(L, pc);
        lua_pushnumber(L, lp);
        return 2;
    }
    if (is_survival(fam)) {
        double h = luaL_checknumber(L, 3);
        size_t p = churn_model_num_features(m);
        double small[SMALL_P], *x = feature_buffer(L, p, small);
        customer_features(L, m, 2, p, x);
        double s, pc, lp;
        rc = churn_surv_predict(m, 1, x, h, &s, &pc, &lp);
        if (rc)
            return predict_fail(L, rc);
        lua_pushnumber(L, s);
        lua_pushnumber(L, pc);
        lua_pushnumber(L, lp);
        return 3;
    }
    if (fam == CHURN_FAMILY_SBG)
        return score_sbg(L, m, field_number(L, 2, "periods", NULL), luaL_optnumber(L, 3, 1.0));
    return luaL_error(L, "score: no per-customer score for '%s' models", churn_family_name(fam));
}

/* sBG: a customer who has renewed n times and is active renews again with
 * probability S(n+1)/S(n) and is expected to renew sum_{k=1..h} S(n+k)/S(n)
 * times in the next h periods (Fader & Hardie 2007, eq. 1-2: S is the sBG
 * survivor function). */
static int score_sbg(lua_State *L, churn_model *m, double periods, double h)
{
    if (!(periods >= 0 && periods == floor(periods) && periods <= 1e7))
        return luaL_error(L, "score: periods %f must be a whole number >= 0",
                          (lua_Number)(periods));
    if (!(h >= 1 && h == floor(h) && h <= 1e7))
        return luaL_error(L, "score: horizon %f must be a whole number of periods >= 1",
                          (lua_Number)(h));
    size_t n = (size_t)periods, len = n + (size_t)h;
    double *S = tmp_doubles(L, len + 1);
    S[0] = 1;
    int rc = churn_sbg_curve(m, len, NULL, S + 1);
    if (rc)
        return predict_fail(L, rc);
    double e = 0;
    for (size_t k = 1; k <= (size_t)h; k++)
        e += S[n + k] / S[n];
    lua_pushnumber(L, S[n + 1] / S[n]);
    lua_pushnumber(L, e);
    return 2;
}

/* model:score_many(data [, horizon]) scores many customers: data is an array
 * of customer tables or a table of column arrays. Returns one array per
 * value model:score returns, in the same order. */
MODEL_METHOD(m_score_many)
{
    lua_settop(L, 3);
    int fam = churn_model_family(m), rc;
    dataset d;
    data_open(L, 2, &d);
    if (is_btyd(fam)) {
        double h = luaL_optnumber(L, 3, 0.0);
        size_t n = data_size(L, &d, btyd_names[0], btyd_alts[0]);
        double *c = tmp_doubles(L, mul_size(L, n, 5));
        data_read(L, &d, 3, btyd_names, btyd_alts, c, 0);
        rc = churn_btyd_score(m, h, n, c, c + n, c + 2 * n, c + 3 * n, c + 4 * n);
        if (rc)
            return predict_fail(L, rc);
        push_numbers(L, c + 3 * n, n);
        push_numbers(L, c + 4 * n, n);
        return 2;
    }
    if (fam == CHURN_FAMILY_GAMMAGAMMA) {
        size_t n = data_size(L, &d, spend_names[0], spend_alts[0]);
        double *c = tmp_doubles(L, mul_size(L, n, 3));
        data_read(L, &d, 2, spend_names, spend_alts, c, 0);
        rc = churn_gammagamma_expected_spend(m, n, c, c + n, c + 2 * n);
        if (rc)
            return predict_fail(L, rc);
        push_numbers(L, c + 2 * n, n);
        return 1;
    }
    if (fam == CHURN_FAMILY_LOGIT || is_survival(fam)) {
        double h = fam == CHURN_FAMILY_LOGIT ? 0.0 : luaL_checknumber(L, 3);
        size_t p = churn_model_num_features(m);
        const char **names = (const char **)lua_newuserdatauv(L, (p ? p : 1) * sizeof(char *), 0);
        for (size_t j = 0; j < p; j++)
            names[j] = churn_model_feature_name(m, j);
        size_t n = p ? data_size(L, &d, names[0], NULL) : d.n;
        if (!p && !d.sized)
            return luaL_error(L, "score_many: a model without features needs an array of "
                                 "customer tables");
        double *x = tmp_doubles(L, mul_size(L, n, p));
        double *out = tmp_doubles(L, mul_size(L, n, 3));
        if (fam == CHURN_FAMILY_LOGIT) {
            data_read(L, &d, p, names, NULL, x, 0);
            rc = churn_logit_predict(m, x, n, p, CHURN_LOGIT_COL_MAJOR, 0, out, out + n);
            if (rc)
                return predict_fail(L, rc);
            push_numbers(L, out, n);
            push_numbers(L, out + n, n);
            return 2;
        }
        data_read(L, &d, p, names, NULL, x, 1);
        rc = churn_surv_predict(m, n, x, h, out, out + n, out + 2 * n);
        if (rc)
            return predict_fail(L, rc);
        push_numbers(L, out, n);
        push_numbers(L, out + n, n);
        push_numbers(L, out + 2 * n, n);
        return 3;
    }
    return luaL_error(L, "score_many: no per-customer score for '%s' models",
                      churn_family_name(fam));
}

/* ---- array forms of the BTYD and spend predictions ---- */

/* model:p_alive(frequency[], recency[], T[]) -> { p_alive... } | nil, msg, code
 * model:expected_purchases(t, frequency[], recency[], T[]) -> { ... } */
static int btyd_vector(lua_State *L, churn_model *m, int expected)
{
    lua_settop(L, expected ? 5 : 4);
    int base = expected ? 3 : 2;
    double h = expected ? luaL_checknumber(L, 2) : 0.0;
    size_t n, n2, n3;
    double *x = check_numbers(L, base, "frequency", &n);
    double *tx = check_numbers(L, base + 1, "recency", &n2);
    double *T = check_numbers(L, base + 2, "T", &n3);
    if (n2 != n || n3 != n)
        return luaL_error(L, "frequency, recency and T must have the same length");
    double *out = tmp_doubles(L, n);
    int rc = expected ? churn_btyd_expected_purchases(m, h, n, x, tx, T, out)
                      : churn_btyd_p_alive(m, n, x, tx, T, out);
    if (rc)
        return predict_fail(L, rc);
    push_numbers(L, out, n);
    return 1;
}

MODEL_METHOD(m_p_alive) { return btyd_vector(L, m, 0); }
MODEL_METHOD(m_expected_purchases) { return btyd_vector(L, m, 1); }

/* model:expected_spend(frequency[], monetary_value[]) -> { ... } | nil, msg, code */
MODEL_METHOD(m_expected_spend)
{
    lua_settop(L, 3);
    size_t n, n2;
    double *x = check_numbers(L, 2, "frequency", &n);
    double *z = check_numbers(L, 3, "monetary_value", &n2);
    if (n2 != n)
        return luaL_error(L, "frequency and monetary_value must have the same length");
    double *out = tmp_doubles(L, n);
    int rc = churn_gammagamma_expected_spend(m, n, x, z, out);
    if (rc)
        return predict_fail(L, rc);
    push_numbers(L, out, n);
    return 1;
}

/* model:mean_spend() -> population mean spend per purchase | nil, msg, code */
MODEL_METHOD(m_mean_spend)
{
    double v;
    int rc = churn_gammagamma_mean_spend(m, &v);
    if (rc)
        return predict_fail(L, rc);
    lua_pushnumber(L, v);
    return 1;
}

/* model:explain(customer) -> { feature = contribution, ... }, baseline
 * (logit: contribution_j = b_j (x_j - training mean_j); positive pushes
 * toward churn; baseline + sum = linear predictor). */
MODEL_METHOD(m_explain)
{
    lua_settop(L, 2);
    luaL_checktype(L, 2, LUA_TTABLE);
    size_t p = churn_model_num_features(m);
    double *x = tmp_doubles(L, mul_size(L, p, 2)), base;
    customer_features(L, m, 2, p, x);
    int rc = churn_logit_contributions(m, x, 1, p, CHURN_LOGIT_ROW_MAJOR, 0, x + p, &base);
    if (rc)
        return predict_fail(L, rc);
    lua_createtable(L, 0, (int)p);
    for (size_t j = 0; j < p; j++) {
        lua_pushnumber(L, x[p + j]);
        lua_setfield(L, -2, churn_model_feature_name(m, j));
    }
    lua_pushnumber(L, base);
    return 2;
}

/* model:survival_curve(customer, times[]) -> survival[], std_err[] | nil, msg, code */
MODEL_METHOD(m_survival_curve)
{
    lua_settop(L, 3);
    luaL_checktype(L, 2, LUA_TTABLE);
    size_t p = churn_model_num_features(m), nt;
    double *x = tmp_doubles(L, p);
    customer_features(L, m, 2, p, x);
    double *t = check_numbers(L, 3, "times", &nt);
    double *out = tmp_doubles(L, mul_size(L, nt, 2));
    int rc = churn_surv_curve(m, x, nt, t, out, out + nt), with_se = 1;
    if (rc == CHURN_EUNSUPPORTED) { /* saved without variance arrays: the curve only */
        with_se = 0;
        rc = churn_surv_curve(m, x, nt, t, out, NULL);
    }
    if (rc)
        return predict_fail(L, rc);
    push_numbers(L, out, nt);
    if (with_se)
        push_numbers(L, out + nt, nt);
    else
        lua_pushnil(L);
    return 2;
}

/* model:median_lifetime(customer) -> median (math.huge when not reached) */
MODEL_METHOD(m_median_lifetime)
{
    luaL_checktype(L, 2, LUA_TTABLE);
    size_t p = churn_model_num_features(m);
    double small[SMALL_P], *x = feature_buffer(L, p, small), med;
    customer_features(L, m, 2, p, x);
    int rc = churn_surv_median(m, 1, x, &med);
    if (rc)
        return predict_fail(L, rc);
    lua_pushnumber(L, med);
    return 1;
}

/* model:retention(n) -> retention[1..n], survival[1..n] (sBG) */
MODEL_METHOD(m_retention)
{
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_argcheck(L, n >= 1 && n <= 10000000, 2, "must be between 1 and 1e7");
    double *out = tmp_doubles(L, 2 * (size_t)n);
    int rc = churn_sbg_curve(m, (size_t)n, out, out + n);
    if (rc)
        return predict_fail(L, rc);
    push_numbers(L, out, (size_t)n);
    push_numbers(L, out + n, (size_t)n);
    return 2;
}

/* model:derl(discount, periods[]) -> { ... } (sBG discounted expected residual lifetime) */
MODEL_METHOD(m_derl)
{
    lua_settop(L, 3);
    double disc = luaL_checknumber(L, 2);
    size_t n;
    double *per = check_numbers(L, 3, "periods", &n);
    double *out = tmp_doubles(L, n);
    int rc = churn_sbg_derl(m, disc, n, per, out);
    if (rc)
        return predict_fail(L, rc);
    push_numbers(L, out, n);
    return 1;
}

/* churn.clv(btyd, spend_or_nil, data [, opts]) -> table | nil, msg, code
 * data: one customer (fields frequency, recency, T, monetary_value), an array
 * of customers or a table of columns. The result has the fields p_alive,
 * expected_purchases, expected_spend, clv, value_at_risk: numbers for one
 * customer, arrays otherwise. opts: horizon, period, discount, margin. */
static int l_clv(lua_State *L)
{
    static const char what[] = "clv";
    static const char *const keys[] = {"horizon", "period", "discount", "margin", NULL};
    static const char *const names[4] = {"frequency", "recency", "T", "monetary_value"};
    static const char *const alts[4] = {"x", "t_x", NULL, "zbar"};
    static const char *const outs[5] = {"p_alive", "expected_purchases", "expected_spend", "clv",
                                        "value_at_risk"};
    lua_settop(L, 4);
    check_model(L, 1);
    if (!lua_isnil(L, 2))
        check_model(L, 2);
    luaL_checktype(L, 3, LUA_TTABLE);
    check_options(L, 4, what, keys);
    churn_clv_options o = CHURN_CLV_OPTIONS_INIT;
    o.horizon = opt_int(L, 4, "horizon", o.horizon, what);
    o.period = opt_number(L, 4, "period", o.period, what);
    o.discount = opt_number(L, 4, "discount", o.discount, what);
    o.margin = opt_number(L, 4, "margin", o.margin, what);
    int tf = lua_getfield(L, 3, "frequency"), tx = lua_getfield(L, 3, "x");
    int t1 = lua_geti(L, 3, 1);
    int single = tf != LUA_TTABLE && tx != LUA_TTABLE && t1 == LUA_TNIL;
    lua_settop(L, 4);
    size_t n;
    double *in;
    if (single) {
        n = 1;
        in = tmp_doubles(L, 4);
        for (int j = 0; j < 4; j++)
            in[j] = field_number(L, 3, names[j], alts[j]);
    } else {
        dataset d;
        data_open(L, 3, &d);
        n = data_size(L, &d, names[0], alts[0]);
        in = tmp_doubles(L, mul_size(L, n, 4));
        data_read(L, &d, 4, names, alts, in, 0);
    }
    double *out = tmp_doubles(L, mul_size(L, n, 5));
    /* the models again: Lua code run by the reads above may have closed them */
    churn_model *btyd = check_model(L, 1);
    churn_model *spend = lua_isnil(L, 2) ? NULL : check_model(L, 2);
    int rc = churn_clv_score(btyd, spend, &o, n, in, in + n, in + 2 * n, in + 3 * n, out, out + n,
                             out + 2 * n, out + 3 * n, out + 4 * n);
    if (rc)
        return predict_fail(L, rc);
    lua_createtable(L, 0, 5);
    for (int k = 0; k < 5; k++) {
        if (single)
            lua_pushnumber(L, out[k]);
        else
            push_numbers(L, out + (size_t)k * n, n);
        lua_setfield(L, -2, outs[k]);
    }
    return 1;
}

/* ==== transaction logs =================================================== */

static ltxlog *check_ltxlog(lua_State *L, int idx)
{
    ltxlog *u = (ltxlog *)luaL_checkudata(L, idx, TXLOG_MT);
    if (!u->log)
        luaL_error(L, "attempt to use a closed churn transaction log");
    return u;
}

static churn_txlog *check_txlog(lua_State *L, int idx) { return check_ltxlog(L, idx)->log; }

/* A log method whose body runs with the log pinned (see lmodel). */
#define TXLOG_METHOD(name)                                                                         \
    static int name##_body(lua_State *L, churn_txlog *log);                                        \
    static int name(lua_State *L)                                                                  \
    {                                                                                              \
        ltxlog *u_ = check_ltxlog(L, 1);                                                           \
        u_->busy++;                                                                                \
        int n_ = name##_body(L, u_->log);                                                          \
        u_->busy--;                                                                                \
        return n_;                                                                                 \
    }                                                                                              \
    static int name##_body(lua_State *L, churn_txlog *log)

static ltxlog *new_txlog_ud(lua_State *L)
{
    ltxlog *u = (ltxlog *)lua_newuserdatauv(L, sizeof *u, 0);
    u->log = u->zombie = NULL;
    u->busy = 0;
    luaL_setmetatable(L, TXLOG_MT);
    return u;
}

/* The one closer of logs, for close(), __close and __gc (collect = 1). Idempotent. */
static void txlog_closer(ltxlog *u, int collect)
{
    if (u->log && u->busy && !collect)
        u->zombie = u->log;
    else
        churn_txlog_free(u->log);
    u->log = NULL;
    if (collect) {
        churn_txlog_free(u->zombie);
        u->zombie = NULL;
    }
}

static int t_close(lua_State *L)
{
    txlog_closer((ltxlog *)luaL_checkudata(L, 1, TXLOG_MT), 0);
    return 0;
}

static int t_gc(lua_State *L)
{
    txlog_closer((ltxlog *)luaL_checkudata(L, 1, TXLOG_MT), 1);
    return 0;
}

static int t_tostring(lua_State *L)
{
    ltxlog *u = (ltxlog *)luaL_checkudata(L, 1, TXLOG_MT);
    if (!u->log)
        lua_pushliteral(L, "churn.txlog (closed)");
    else
        lua_pushfstring(L, "churn.txlog (%I transactions, %I customers)",
                        (lua_Integer)churn_txlog_num_transactions(u->log),
                        (lua_Integer)churn_txlog_num_customers(u->log));
    return 1;
}

/* Customer or product id text of the value at idx: strings as they are,
 * integral numbers as decimal text (42 and 42.0 both give "42"). Raises
 * otherwise, naming `what`. */
static const char *id_text(lua_State *L, int idx, char *buf, size_t cap, const char *what)
{
    int t = lua_type(L, idx);
    if (t == LUA_TSTRING)
        return lua_tostring(L, idx);
    if (t == LUA_TNUMBER) {
        if (lua_isinteger(L, idx)) {
            snprintf(buf, cap, "%lld", (long long)lua_tointeger(L, idx));
            return buf;
        }
        double v = lua_tonumber(L, idx);
        if (v == floor(v) && fabs(v) < 9.007199254740992e15) {
            snprintf(buf, cap, "%.0f", v);
            return buf;
        }
    }
    luaL_error(L, "%s is %s, expected a string or an integer id", what,
               t == LUA_TNUMBER ? "a fractional number" : describe_value(L, idx));
    return NULL;
}

/* Append the purchase table on top of the stack, row `row` of the array
 * `where`. Lua-side misuse (missing field, wrong type) raises; returns the
 * churn status of the append (or of parsing a date text). */
static int append_purchase(lua_State *L, churn_txlog *log, size_t row, const char *where)
{
    int p = lua_gettop(L);
    char idbuf[32], pbuf[32];
    if (lua_type(L, p) != LUA_TTABLE)
        luaL_error(L, "%s[%I] is %s, expected a purchase table", where, (lua_Integer)(row),
                   describe_value(L, p));
    if (lua_getfield(L, p, "customer") == LUA_TNIL) {
        lua_pop(L, 1);
        lua_getfield(L, p, "customer_id");
    }
    lua_pushfstring(L, "%s[%d].customer", where, (int)row);
    const char *id = id_text(L, p + 1, idbuf, sizeof idbuf, lua_tostring(L, -1));
    lua_pop(L, 1);
    if (lua_getfield(L, p, "time") == LUA_TNIL) {
        lua_pop(L, 1);
        lua_getfield(L, p, "date");
    }
    double time, amount, quantity = NAN;
    lua_pushfstring(L, "%s[%d].time", where, (int)row);
    int rc = value_time(L, p + 2, &time, lua_tostring(L, -1));
    lua_pop(L, 1);
    lua_getfield(L, p, "amount");
    if (!value_number(L, p + 3, &amount))
        luaL_error(L, "%s[%I].amount is %s, expected a number", where, (lua_Integer)(row),
                   describe_value(L, p + 3));
    if (lua_getfield(L, p, "quantity") != LUA_TNIL && !value_number(L, p + 4, &quantity))
        luaL_error(L, "%s[%I].quantity is %s, expected a number", where, (lua_Integer)(row),
                   describe_value(L, p + 4));
    const char *product = NULL;
    if (lua_getfield(L, p, "product") != LUA_TNIL) {
        lua_pushfstring(L, "%s[%d].product", where, (int)row);
        product = id_text(L, p + 5, pbuf, sizeof pbuf, lua_tostring(L, -1));
    }
    if (rc == CHURN_OK)
        rc = !isnan(quantity) || product
                 ? churn_txlog_append_ex(log, id, time, amount, quantity, product)
                 : churn_txlog_append(log, id, time, amount);
    lua_settop(L, p);
    return rc;
}

/* Append every purchase of the array at idx; returns 0, or pushes nil, msg,
 * code (the message names the purchase) and returns 3. Purchases before a
 * bad one stay appended. */
static int append_purchases(lua_State *L, churn_txlog *log, int idx, const char *where)
{
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE)
        luaL_error(L, "%s must be an array of purchase tables, got %s", where,
                   luaL_typename(L, idx));
    lua_Integer len = luaL_len(L, idx);
    for (lua_Integer i = 1; i <= len; i++) {
        lua_geti(L, idx, i);
        int rc = append_purchase(L, log, (size_t)i, where);
        lua_pop(L, 1);
        if (rc) {
            const char *msg = churn_last_error_message();
            lua_pushnil(L);
            lua_pushfstring(L, "%s[%d]: %s", where, (int)i, *msg ? msg : churn_strerror(rc));
            lua_pushinteger(L, rc);
            return 3;
        }
    }
    return 0;
}

/* churn.txlog([purchases]) -> log | nil, msg, code */
static int l_txlog(lua_State *L)
{
    lua_settop(L, 1);
    ltxlog *u = new_txlog_ud(L);
    int rc = churn_txlog_new(&u->log);
    if (rc)
        return push_fail(L, rc);
    if (!lua_isnoneornil(L, 1)) {
        int ud = lua_gettop(L);
        if (append_purchases(L, u->log, 1, "purchases"))
            return 3;
        lua_settop(L, ud);
    }
    return 1;
}

/* log:add(customer, time, amount [, quantity [, product]]) -> true | nil, msg, code */
TXLOG_METHOD(t_add)
{
    char idbuf[32], pbuf[32];
    const char *id = id_text(L, 2, idbuf, sizeof idbuf, "add: customer");
    double time, amount = luaL_checknumber(L, 4), quantity = luaL_optnumber(L, 5, NAN);
    const char *product =
        lua_isnoneornil(L, 6) ? NULL : id_text(L, 6, pbuf, sizeof pbuf, "add: product");
    int rc = value_time(L, 3, &time, "add: time");
    if (rc == CHURN_OK) {
        rc = !isnan(quantity) || product
                 ? churn_txlog_append_ex(log, id, time, amount, quantity, product)
                 : churn_txlog_append(log, id, time, amount);
    }
    if (rc)
        return push_fail(L, rc);
    lua_pushboolean(L, 1);
    return 1;
}

/* log:append(purchases) -> true | nil, msg, code (purchases before a bad one stay) */
TXLOG_METHOD(t_append)
{
    if (append_purchases(L, log, 2, "purchases"))
        return 3;
    lua_pushboolean(L, 1);
    return 1;
}

static void csv_options(lua_State *L, int opts, churn_csv_options *o)
{
    static const char what[] = "read_csv";
    static const char *const keys[] = {"header", "delimiter", "date_format", "skip_bad_rows", "id",
                                       "time",   "amount",    "quantity",    "product",       NULL};
    static const char *const formats[] = {"auto", "iso", "yyyymmdd", "epoch", NULL};
    check_options(L, opts, what, keys);
    churn_csv_options_init(o);
    o->has_header = opt_bool(L, opts, "header", 1, what);
    const char *delim = opt_string(L, opts, "delimiter", NULL, what);
    if (delim) {
        if (!strcmp(delim, "tab"))
            o->delimiter = '\t';
        else if (!strcmp(delim, "space"))
            o->delimiter = ' ';
        else if (strlen(delim) == 1)
            o->delimiter = (unsigned char)delim[0];
        else
            luaL_error(L, "%s: option 'delimiter' must be one character, 'tab' or 'space'", what);
    }
    o->date_format = opt_enum(L, opts, "date_format", CHURN_DATE_AUTO, formats, what);
    o->skip_bad_rows = opt_bool(L, opts, "skip_bad_rows", 0, what);
    o->id_column = opt_string(L, opts, "id", NULL, what);
    o->time_column = opt_string(L, opts, "time", NULL, what);
    o->amount_column = opt_string(L, opts, "amount", NULL, what);
    o->quantity_column = opt_string(L, opts, "quantity", NULL, what);
    o->product_column = opt_string(L, opts, "product", NULL, what);
}

/* log:read_csv(path [, opts]) -> true | nil, msg, code */
TXLOG_METHOD(t_read_csv)
{
    lua_settop(L, 3);
    const char *path = luaL_checkstring(L, 2);
    churn_csv_options o;
    csv_options(L, 3, &o);
    int rc = churn_txlog_read_csv(log, path, &o);
    if (rc)
        return push_fail(L, rc);
    lua_pushboolean(L, 1);
    return 1;
}

/* churn.read_csv(path [, opts]) -> log | nil, msg, code */
static int l_read_csv(lua_State *L)
{
    lua_settop(L, 2);
    const char *path = luaL_checkstring(L, 1);
    churn_csv_options o;
    csv_options(L, 2, &o);
    ltxlog *u = new_txlog_ud(L);
    int rc = churn_txlog_new(&u->log);
    if (rc == CHURN_OK)
        rc = churn_txlog_read_csv(u->log, path, &o);
    if (rc) {
        churn_txlog_free(u->log);
        u->log = NULL;
        return push_fail(L, rc);
    }
    return 1;
}

static int t_num_transactions(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)churn_txlog_num_transactions(check_txlog(L, 1)));
    return 1;
}

static int t_num_customers(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)churn_txlog_num_customers(check_txlog(L, 1)));
    return 1;
}

/* log:rows_skipped() -> skipped, { messages... } */
TXLOG_METHOD(t_rows_skipped)
{
    size_t k = churn_txlog_rows_skipped(log);
    lua_pushinteger(L, (lua_Integer)k);
    lua_newtable(L);
    const char *msg;
    for (size_t i = 0; (msg = churn_txlog_skip_message(log, i)) != NULL; i++) {
        lua_pushstring(L, msg);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 2;
}

/* log:time_range() -> first, last (seconds since the epoch; nil when empty) */
static int t_time_range(lua_State *L)
{
    churn_txlog *log = check_txlog(L, 1);
    if (churn_txlog_num_transactions(log) == 0)
        return 0;
    lua_pushnumber(L, churn_txlog_min_time(log));
    lua_pushnumber(L, churn_txlog_max_time(log));
    return 2;
}

/* ==== customer tables ==================================================== */

static ltable *check_ltable(lua_State *L, int idx)
{
    ltable *u = (ltable *)luaL_checkudata(L, idx, TABLE_MT);
    if (!u->t)
        luaL_error(L, "attempt to use a closed churn customer table");
    return u;
}

static churn_customers *check_table(lua_State *L, int idx) { return check_ltable(L, idx)->t; }

/* A customer-table method whose body runs with the table pinned (see lmodel). */
#define TABLE_METHOD(name)                                                                         \
    static int name##_body(lua_State *L, churn_customers *t);                                      \
    static int name(lua_State *L)                                                                  \
    {                                                                                              \
        ltable *u_ = check_ltable(L, 1);                                                           \
        u_->busy++;                                                                                \
        int n_ = name##_body(L, u_->t);                                                            \
        u_->busy--;                                                                                \
        return n_;                                                                                 \
    }                                                                                              \
    static int name##_body(lua_State *L, churn_customers *t)

/* The one closer of customer tables, for close(), __close and __gc (collect = 1). */
static void table_closer(ltable *u, int collect)
{
    if (u->t && u->busy && !collect)
        u->zombie = u->t;
    else
        churn_customers_free(u->t);
    u->t = NULL;
    if (collect) {
        churn_customers_free(u->zombie);
        u->zombie = NULL;
    }
}

static int c_close(lua_State *L)
{
    table_closer((ltable *)luaL_checkudata(L, 1, TABLE_MT), 0);
    return 0;
}

static int c_gc(lua_State *L)
{
    table_closer((ltable *)luaL_checkudata(L, 1, TABLE_MT), 1);
    return 0;
}

static int c_tostring(lua_State *L)
{
    ltable *u = (ltable *)luaL_checkudata(L, 1, TABLE_MT);
    if (!u->t)
        lua_pushliteral(L, "churn.customers (closed)");
    else
        lua_pushfstring(L, "churn.customers (%I customers, %I columns)",
                        (lua_Integer)churn_customers_num_rows(u->t),
                        (lua_Integer)churn_customers_num_columns(u->t));
    return 1;
}

/* Option 'columns': a comma-separated string or an array of column names, as
 * the C option text, left on the stack (anchored for the whole call); NULL
 * when absent. The library checks the names. */
static const char *opt_columns(lua_State *L, int idx, const char *what)
{
    luaL_checkstack(L, 4, "churn: stack overflow");
    int t = opt_get(L, idx, "columns");
    if (t == LUA_TNIL) {
        lua_pop(L, 1);
        return NULL;
    }
    if (t == LUA_TSTRING)
        return lua_tostring(L, -1);
    if (t != LUA_TTABLE)
        luaL_error(L, "%s: option 'columns' must be a string or an array of names, got %s", what,
                   luaL_typename(L, -1));
    int tab = lua_gettop(L);
    lua_Integer n = luaL_len(L, tab);
    if (n < 1)
        luaL_error(L, "%s: option 'columns' is an empty array (leave it out for every column)",
                   what);
    for (lua_Integer i = 1; i <= n; i++) {
        if (lua_geti(L, tab, i) != LUA_TSTRING)
            luaL_error(L, "%s: option 'columns'[%d] must be a string, got %s", what, (int)i,
                       luaL_typename(L, -1));
        if (strchr(lua_tostring(L, -1), ','))
            luaL_error(L, "%s: option 'columns'[%d] ('%s') holds a comma", what, (int)i,
                       lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (lua_Integer i = 1; i <= n; i++) {
        if (i > 1)
            luaL_addchar(&b, ',');
        lua_geti(L, tab, i);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    return lua_tostring(L, -1);
}

static void customer_options(lua_State *L, int opts, churn_customer_options *o, const char *what)
{
    static const char *const keys[] = {"cutoff",
                                       "holdout_end",
                                       "unit",
                                       "same_day_once",
                                       "first_purchase_counts",
                                       "trend_window",
                                       "inactivity_threshold",
                                       "key_fraction",
                                       "important_fraction",
                                       "columns",
                                       NULL};
    check_options(L, opts, what, keys);
    churn_customer_options_init(o);
    o->cutoff = opt_time(L, opts, "cutoff", o->cutoff, what);
    o->holdout_end = opt_time(L, opts, "holdout_end", o->holdout_end, what);
    o->time_unit = opt_unit(L, opts, "unit", o->time_unit, what);
    o->same_day_once = opt_bool(L, opts, "same_day_once", o->same_day_once, what);
    o->first_purchase_counts =
        opt_bool(L, opts, "first_purchase_counts", o->first_purchase_counts, what);
    o->trend_window = opt_number(L, opts, "trend_window", o->trend_window, what);
    o->inactivity_threshold =
        opt_number(L, opts, "inactivity_threshold", o->inactivity_threshold, what);
    o->key_fraction = opt_number(L, opts, "key_fraction", o->key_fraction, what);
    o->important_fraction = opt_number(L, opts, "important_fraction", o->important_fraction, what);
    o->columns = opt_columns(L, opts, what);
}

/* Build a customer table userdata from log (pushed) or push nil, msg, code. */
static int build_table(lua_State *L, churn_txlog *log, int opts, const char *what)
{
    churn_customer_options o;
    customer_options(L, opts, &o, what);
    ltable *u = (ltable *)lua_newuserdatauv(L, sizeof *u, 0);
    u->t = u->zombie = NULL;
    u->busy = 0;
    luaL_setmetatable(L, TABLE_MT);
    int rc = churn_customers_build(&u->t, log, &o);
    if (rc)
        return push_fail(L, rc);
    return 1;
}

/* log:customers([opts]) -> customer table | nil, msg, code */
TXLOG_METHOD(t_customers)
{
    lua_settop(L, 2);
    return build_table(L, log, 2, "customers");
}

/* Push row r of t as { customer_id = "...", frequency = .., ... }. */
static void push_row(lua_State *L, churn_customers *t, size_t r)
{
    size_t k = churn_customers_num_columns(t);
    lua_createtable(L, 0, (int)k + 1);
    lua_pushstring(L, churn_customers_id(t, r));
    lua_setfield(L, -2, "customer_id");
    for (size_t j = 0; j < k; j++) {
        lua_pushnumber(L, churn_customers_column_at(t, j)[r]);
        lua_setfield(L, -2, churn_customers_column_name(t, j));
    }
}

static void push_rows(lua_State *L, churn_customers *t)
{
    size_t n = churn_customers_num_rows(t), k = churn_customers_num_columns(t);
    luaL_checkstack(L, 4, "churn: stack overflow");
    lua_createtable(L, n > INT32_MAX ? 0 : (int)n, 0);
    const double **cols = (const double **)lua_newuserdatauv(L, (k ? k : 1) * sizeof(double *), 0);
    for (size_t j = 0; j < k; j++)
        cols[j] = churn_customers_column_at(t, j);
    for (size_t r = 0; r < n; r++) {
        lua_createtable(L, 0, (int)k + 1);
        lua_pushstring(L, churn_customers_id(t, r));
        lua_setfield(L, -2, "customer_id");
        for (size_t j = 0; j < k; j++) {
            lua_pushnumber(L, cols[j][r]);
            lua_setfield(L, -2, churn_customers_column_name(t, j));
        }
        lua_rawseti(L, -3, (lua_Integer)r + 1);
    }
    lua_pop(L, 1);
}

/* Summary of a table: { customers, excluded, cutoff, holdout_end, time_unit, columns } */
static void push_info(lua_State *L, churn_customers *t)
{
    size_t k = churn_customers_num_columns(t);
    lua_createtable(L, 0, 6);
    lua_pushinteger(L, (lua_Integer)churn_customers_num_rows(t));
    lua_setfield(L, -2, "customers");
    lua_pushinteger(L, (lua_Integer)churn_customers_num_excluded(t));
    lua_setfield(L, -2, "excluded");
    lua_pushnumber(L, churn_customers_cutoff(t));
    lua_setfield(L, -2, "cutoff");
    if (churn_customers_holdout_end(t) != 0) {
        lua_pushnumber(L, churn_customers_holdout_end(t));
        lua_setfield(L, -2, "holdout_end");
    }
    lua_pushnumber(L, churn_customers_time_unit(t));
    lua_setfield(L, -2, "time_unit");
    lua_createtable(L, (int)k, 0);
    for (size_t j = 0; j < k; j++) {
        lua_pushstring(L, churn_customers_column_name(t, j));
        lua_rawseti(L, -2, (lua_Integer)j + 1);
    }
    lua_setfield(L, -2, "columns");
}

static int features_of(lua_State *L, churn_txlog *log);

/* churn.features(purchases_or_log [, opts]) -> rows, info | nil, msg, code */
static int l_features(lua_State *L)
{
    lua_settop(L, 2);
    if (lua_type(L, 1) == LUA_TUSERDATA) {
        ltxlog *lu = check_ltxlog(L, 1);
        lu->busy++; /* the options may run Lua code */
        int n = features_of(L, lu->log);
        lu->busy--;
        return n;
    }
    return features_of(L, NULL);
}

/* Rows and info of the log (NULL: of the purchases at index 1). */
static int features_of(lua_State *L, churn_txlog *log)
{
    static const char what[] = "features";
    int own = 0;
    if (!log) {
        ltxlog *u = new_txlog_ud(L); /* index 3 */
        int rc = churn_txlog_new(&u->log);
        if (rc)
            return push_fail(L, rc);
        if (append_purchases(L, u->log, 1, "purchases"))
            return 3;
        log = u->log;
        own = 1;
    }
    int n = build_table(L, log, 2, what);
    if (n != 1)
        return n;
    ltable *tu = (ltable *)lua_touserdata(L, -1);
    push_rows(L, tu->t);
    push_info(L, tu->t);
    /* release the C memory now rather than at the next collection */
    churn_customers_free(tu->t);
    tu->t = NULL;
    if (own) {
        ltxlog *u = (ltxlog *)lua_touserdata(L, 3);
        churn_txlog_free(u->log);
        u->log = NULL;
    }
    return 2;
}

static int c_len(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)churn_customers_num_rows(check_table(L, 1)));
    return 1;
}

/* tab:columns() -> { names... } */
TABLE_METHOD(c_columns)
{
    size_t k = churn_customers_num_columns(t);
    lua_createtable(L, (int)k, 0);
    for (size_t j = 0; j < k; j++) {
        lua_pushstring(L, churn_customers_column_name(t, j));
        lua_rawseti(L, -2, (lua_Integer)j + 1);
    }
    return 1;
}

/* tab:column(name) -> { values... } | nil, msg, code */
TABLE_METHOD(c_column)
{
    const double *v = churn_customers_column(t, luaL_checkstring(L, 2));
    if (!v)
        return push_fail(L, churn_last_error_code());
    push_numbers(L, v, churn_customers_num_rows(t));
    return 1;
}

/* tab:ids() -> { "id", ... } */
TABLE_METHOD(c_ids)
{
    size_t n = churn_customers_num_rows(t);
    lua_createtable(L, (int)n, 0);
    for (size_t r = 0; r < n; r++) {
        lua_pushstring(L, churn_customers_id(t, r));
        lua_rawseti(L, -2, (lua_Integer)r + 1);
    }
    return 1;
}

/* tab:row(i) -> customer table (1-based) */
TABLE_METHOD(c_row)
{
    lua_Integer i = luaL_checkinteger(L, 2);
    luaL_argcheck(L, i >= 1 && (size_t)i <= churn_customers_num_rows(t), 2, "row out of range");
    push_row(L, t, (size_t)i - 1);
    return 1;
}

/* tab:find(customer_id) -> customer table, row | nil, msg, code */
TABLE_METHOD(c_find)
{
    char idbuf[32];
    const char *id = id_text(L, 2, idbuf, sizeof idbuf, "find: customer_id");
    size_t r;
    int rc = churn_customers_find(t, id, &r);
    if (rc)
        return push_fail(L, rc);
    push_row(L, t, r);
    lua_pushinteger(L, (lua_Integer)r + 1);
    return 2;
}

TABLE_METHOD(c_rows)
{
    push_rows(L, t);
    return 1;
}

TABLE_METHOD(c_info)
{
    push_info(L, t);
    return 1;
}

/* tab:metrics() -> { repeat_rate, pareto_share, churn_rate?, retention_rate? } */
TABLE_METHOD(c_metrics)
{
    double v;
    lua_createtable(L, 0, 4);
    lua_pushnumber(L, churn_customers_repeat_rate(t));
    lua_setfield(L, -2, "repeat_rate");
    lua_pushnumber(L, churn_customers_pareto_share(t));
    lua_setfield(L, -2, "pareto_share");
    if (churn_customers_churn_rate(t, &v) == CHURN_OK) {
        lua_pushnumber(L, v);
        lua_setfield(L, -2, "churn_rate");
        lua_pushnumber(L, 1 - v);
        lua_setfield(L, -2, "retention_rate");
    }
    return 1;
}

/* ==== streaming customer tables ========================================== */

static lstream *check_lstream(lua_State *L, int idx)
{
    lstream *u = (lstream *)luaL_checkudata(L, idx, STREAM_MT);
    if (!u->s)
        luaL_error(L, "attempt to use a closed or finished churn stream");
    return u;
}

/* A stream method whose body runs with the stream pinned (see lmodel). */
#define STREAM_METHOD(name)                                                                        \
    static int name##_body(lua_State *L, churn_customer_stream *s);                                \
    static int name(lua_State *L)                                                                  \
    {                                                                                              \
        lstream *u_ = check_lstream(L, 1);                                                         \
        u_->busy++;                                                                                \
        int n_ = name##_body(L, u_->s);                                                            \
        u_->busy--;                                                                                \
        return n_;                                                                                 \
    }                                                                                              \
    static int name##_body(lua_State *L, churn_customer_stream *s)

/* The one closer of streams, for close(), finish(), __close and __gc (collect = 1). */
static void stream_closer(lstream *u, int collect)
{
    if (u->s) {
        u->folded = churn_customer_stream_rows_folded(u->s);
        if (u->busy && !collect)
            u->zombie = u->s;
        else
            churn_customer_stream_free(u->s);
    }
    u->s = NULL;
    if (collect) {
        churn_customer_stream_free(u->zombie);
        u->zombie = NULL;
    }
}

/* churn.stream(opts) -> stream | nil, msg, code (the options of log:customers;
 * cutoff required) */
static int l_stream(lua_State *L)
{
    static const char what[] = "stream";
    lua_settop(L, 1);
    churn_customer_options o;
    customer_options(L, 1, &o, what);
    lstream *u = (lstream *)lua_newuserdatauv(L, sizeof *u, 0);
    u->s = u->zombie = NULL;
    u->busy = 0;
    u->folded = 0;
    luaL_setmetatable(L, STREAM_MT);
    int rc = churn_customer_stream_new(&u->s, &o);
    if (rc)
        return push_fail(L, rc);
    return 1;
}

/* st:add(purchases) -> true | nil, msg, code: append and fold (purchases before
 * a bad one stay, to be folded by the next add or finish) */
STREAM_METHOD(st_add)
{
    int top = lua_gettop(L);
    if (append_purchases(L, churn_customer_stream_log(s), 2, "purchases"))
        return 3;
    lua_settop(L, top);
    int rc = churn_customer_stream_fold(s);
    if (rc)
        return push_fail(L, rc);
    lua_pushboolean(L, 1);
    return 1;
}

static int stream_chunk(churn_txlog *log, void *ud)
{
    (void)log;
    return churn_customer_stream_fold((churn_customer_stream *)ud);
}

/* st:read_csv(path [, opts [, chunk_rows]]) -> true | nil, msg, code: the rows
 * of a CSV file (options of log:read_csv), folded every chunk_rows rows
 * (default 1048576) */
STREAM_METHOD(st_read_csv)
{
    lua_settop(L, 4);
    const char *path = luaL_checkstring(L, 2);
    churn_csv_options o;
    csv_options(L, 3, &o);
    lua_Integer chunk = luaL_optinteger(L, 4, (lua_Integer)1 << 20);
    luaL_argcheck(L, chunk >= 1, 4, "chunk_rows must be at least 1");
    int rc = churn_txlog_read_csv_chunked(churn_customer_stream_log(s), path, &o, (size_t)chunk,
                                          stream_chunk, s);
    if (rc)
        return push_fail(L, rc);
    lua_pushboolean(L, 1);
    return 1;
}

/* st:rows_folded() -> transactions folded so far (also after finish/close) */
static int st_rows_folded(lua_State *L)
{
    lstream *u = (lstream *)luaL_checkudata(L, 1, STREAM_MT);
    uint64_t n = u->s ? churn_customer_stream_rows_folded(u->s) : u->folded;
    lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

/* st:finish() -> customer table | nil, msg, code. The stream is closed
 * afterwards (its memory freed), whatever the outcome. */
static int st_finish(lua_State *L)
{
    check_lstream(L, 1);
    ltable *tu = (ltable *)lua_newuserdatauv(L, sizeof *tu, 0);
    tu->t = tu->zombie = NULL;
    tu->busy = 0;
    luaL_setmetatable(L, TABLE_MT);
    lstream *u = check_lstream(L, 1); /* the allocation may have run finalizers */
    int rc = churn_customer_stream_finish(u->s, &tu->t);
    int n = rc ? push_fail(L, rc) : 1;
    stream_closer(u, 0);
    return n;
}

static int st_close(lua_State *L)
{
    stream_closer((lstream *)luaL_checkudata(L, 1, STREAM_MT), 0);
    return 0;
}

static int st_gc(lua_State *L)
{
    stream_closer((lstream *)luaL_checkudata(L, 1, STREAM_MT), 1);
    return 0;
}

static int st_tostring(lua_State *L)
{
    lstream *u = (lstream *)luaL_checkudata(L, 1, STREAM_MT);
    if (!u->s)
        lua_pushfstring(L, "churn.stream (closed, %I transactions folded)", (lua_Integer)u->folded);
    else
        lua_pushfstring(L, "churn.stream (%I transactions folded, %I customers)",
                        (lua_Integer)churn_customer_stream_rows_folded(u->s),
                        (lua_Integer)churn_txlog_num_customers(churn_customer_stream_log(u->s)));
    return 1;
}

/* ==== incremental per-customer state ===================================== */

/* Columns churn_customer_state_value() offers (customers.h). */
static const char *const state_columns[] = {"frequency",
                                            "recency",
                                            "T",
                                            "monetary_value",
                                            "n_orders",
                                            "total_spend",
                                            "mean_order_value",
                                            "first_purchase",
                                            "last_purchase",
                                            "time_since_last",
                                            "gap_mean",
                                            "gap_std",
                                            "overdue_ratio",
                                            "n_returns",
                                            "returns_amount",
                                            "net_spend",
                                            NULL};

static lstate *check_state(lua_State *L, int idx)
{
    lstate *u = (lstate *)luaL_checkudata(L, idx, STATE_MT);
    if (!u->open)
        luaL_error(L, "attempt to use a closed churn customer state");
    return u;
}

static lstate *new_state_ud(lua_State *L)
{
    lstate *u = (lstate *)lua_newuserdatauv(L, sizeof *u, 0);
    memset(u, 0, sizeof *u);
    luaL_setmetatable(L, STATE_MT);
    return u;
}

/* churn.state([opts]) -> state | nil, msg, code (opts: unit, same_day_once,
 * first_purchase_counts) */
static int l_state(lua_State *L)
{
    static const char what[] = "state";
    static const char *const keys[] = {"unit", "same_day_once", "first_purchase_counts", NULL};
    lua_settop(L, 1);
    check_options(L, 1, what, keys);
    churn_customer_options o;
    churn_customer_options_init(&o);
    o.time_unit = opt_unit(L, 1, "unit", o.time_unit, what);
    o.same_day_once = opt_bool(L, 1, "same_day_once", o.same_day_once, what);
    o.first_purchase_counts =
        opt_bool(L, 1, "first_purchase_counts", o.first_purchase_counts, what);
    lstate *u = new_state_ud(L);
    int rc = churn_customer_state_init(&u->s, &o);
    if (rc)
        return push_fail(L, rc);
    u->open = 1;
    return 1;
}

/* churn.state_from_bytes(bytes) -> state | nil, msg, code */
static int l_state_from_bytes(lua_State *L)
{
    size_t len;
    const char *b = luaL_checklstring(L, 1, &len);
    churn_customer_state s;
    if (len != sizeof s) {
        lua_pushnil(L);
        lua_pushfstring(L,
                        "state_from_bytes: %d bytes, expected %d (a state saved by another "
                        "library version or platform?)",
                        (int)len, (int)sizeof s);
        lua_pushinteger(L, CHURN_EFORMAT);
        return 3;
    }
    memcpy(&s, b, sizeof s);
    if (s.struct_size != sizeof s || !(s.time_unit > 0)) {
        lua_pushnil(L);
        lua_pushliteral(L, "state_from_bytes: not a churn customer state");
        lua_pushinteger(L, CHURN_EFORMAT);
        return 3;
    }
    lstate *u = new_state_ud(L);
    u->s = s;
    u->open = 1;
    return 1;
}

static int s_close(lua_State *L)
{
    lstate *u = (lstate *)luaL_checkudata(L, 1, STATE_MT);
    u->open = 0;
    return 0;
}

static int s_tostring(lua_State *L)
{
    lstate *u = (lstate *)luaL_checkudata(L, 1, STATE_MT);
    if (!u->open)
        lua_pushliteral(L, "churn.state (closed)");
    else
        lua_pushfstring(L, "churn.state (%I transactions)", (lua_Integer)u->s.n_transactions);
    return 1;
}

/* st:add(time, amount) -> true | nil, msg, code (times must not go back) */
static int s_add(lua_State *L)
{
    lstate *u = check_state(L, 1);
    double time, amount = luaL_checknumber(L, 3);
    int rc = value_time(L, 2, &time, "add: time");
    if (rc == CHURN_OK)
        rc = churn_customer_state_add(&u->s, time, amount);
    if (rc)
        return push_fail(L, rc);
    lua_pushboolean(L, 1);
    return 1;
}

/* st:value(column, cutoff) -> number | nil, msg, code */
static int s_value(lua_State *L)
{
    lstate *u = check_state(L, 1);
    const char *col = luaL_checkstring(L, 2);
    double cutoff, v;
    int rc = value_time(L, 3, &cutoff, "value: cutoff");
    if (rc == CHURN_OK)
        rc = churn_customer_state_value(&u->s, cutoff, col, &v);
    if (rc)
        return push_fail(L, rc);
    lua_pushnumber(L, v);
    return 1;
}

/* st:features(cutoff) -> { frequency = .., recency = .., T = .., ... } | nil, msg, code */
static int s_features(lua_State *L)
{
    lstate *u = check_state(L, 1);
    double cutoff;
    int rc = value_time(L, 2, &cutoff, "features: cutoff");
    if (rc)
        return push_fail(L, rc);
    lua_createtable(L, 0, 16);
    for (int j = 0; state_columns[j]; j++) {
        double v;
        rc = churn_customer_state_value(&u->s, cutoff, state_columns[j], &v);
        if (rc)
            return push_fail(L, rc);
        lua_pushnumber(L, v);
        lua_setfield(L, -2, state_columns[j]);
    }
    return 1;
}

/* st:to_bytes() -> string (store it next to the customer record) */
static int s_to_bytes(lua_State *L)
{
    lstate *u = check_state(L, 1);
    lua_pushlstring(L, (const char *)&u->s, sizeof u->s);
    return 1;
}

/* ==== module ============================================================= */

/* churn.parse_date(text) -> seconds since the epoch | nil, msg, code */
static int l_parse_date(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    double t;
    int rc = churn_parse_date(s, len, CHURN_DATE_AUTO, &t);
    if (rc)
        return push_fail(L, rc);
    lua_pushnumber(L, t);
    return 1;
}

/* churn.format_date(seconds) -> "YYYY-MM-DD" (UTC) */
static int l_format_date(lua_State *L)
{
    char buf[32];
    int rc = churn_format_date(luaL_checknumber(L, 1), buf, sizeof buf);
    if (rc)
        return raise_c(L, rc);
    lua_pushstring(L, buf);
    return 1;
}

static const luaL_Reg model_methods[] = {
    {"family", m_family},
    {"params", m_params},
    {"param_names", m_param_names},
    {"feature_names", m_feature_names},
    {"covariance", m_covariance},
    {"loglik", m_loglik},
    {"converged", m_converged},
    {"nobs", m_nobs},
    {"iterations", m_iterations},
    {"time_unit", m_time_unit},
    {"note", m_note},
    {"save", m_save},
    {"to_json", m_to_json},
    {"score", m_score},
    {"score_many", m_score_many},
    {"p_alive", m_p_alive},
    {"expected_purchases", m_expected_purchases},
    {"expected_spend", m_expected_spend},
    {"mean_spend", m_mean_spend},
    {"explain", m_explain},
    {"survival_curve", m_survival_curve},
    {"median_lifetime", m_median_lifetime},
    {"retention", m_retention},
    {"derl", m_derl},
    {"close", m_close},
    {NULL, NULL},
};

static const luaL_Reg model_meta[] = {
    {"__gc", m_gc},    {"__close", m_close}, {"__tostring", m_tostring},
    {"__index", NULL}, /* set below */
    {NULL, NULL},
};

static const luaL_Reg txlog_methods[] = {
    {"add", t_add},
    {"append", t_append},
    {"read_csv", t_read_csv},
    {"num_transactions", t_num_transactions},
    {"num_customers", t_num_customers},
    {"rows_skipped", t_rows_skipped},
    {"time_range", t_time_range},
    {"customers", t_customers},
    {"features", NULL}, /* set below: churn.features */
    {"close", t_close},
    {NULL, NULL},
};

static const luaL_Reg txlog_meta[] = {
    {"__gc", t_gc},    {"__close", t_close}, {"__tostring", t_tostring},
    {"__index", NULL}, {NULL, NULL},
};

static const luaL_Reg table_methods[] = {
    {"columns", c_columns}, {"column", c_column}, {"ids", c_ids},   {"row", c_row},
    {"find", c_find},       {"rows", c_rows},     {"info", c_info}, {"metrics", c_metrics},
    {"close", c_close},     {NULL, NULL},
};

static const luaL_Reg table_meta[] = {
    {"__gc", c_gc},   {"__close", c_close}, {"__tostring", c_tostring},
    {"__len", c_len}, {"__index", NULL},    {NULL, NULL},
};

static const luaL_Reg stream_methods[] = {
    {"add", st_add},       {"read_csv", st_read_csv}, {"rows_folded", st_rows_folded},
    {"finish", st_finish}, {"close", st_close},       {NULL, NULL},
};

static const luaL_Reg stream_meta[] = {
    {"__gc", st_gc},   {"__close", st_close}, {"__tostring", st_tostring},
    {"__index", NULL}, {NULL, NULL},
};

static const luaL_Reg state_methods[] = {
    {"add", s_add},           {"value", s_value}, {"features", s_features},
    {"to_bytes", s_to_bytes}, {"close", s_close}, {NULL, NULL},
};

static const luaL_Reg state_meta[] = {
    {"__gc", s_close}, {"__close", s_close}, {"__tostring", s_tostring},
    {"__index", NULL}, {NULL, NULL},
};

static const luaL_Reg funcs[] = {
    {"load", l_load},
    {"from_json", l_from_json},
    {"model", l_model},
    {"fit", l_fit},
    {"fit_btyd", l_fit_btyd},
    {"clv", l_clv},
    {"txlog", l_txlog},
    {"read_csv", l_read_csv},
    {"features", l_features},
    {"state", l_state},
    {"stream", l_stream},
    {"state_from_bytes", l_state_from_bytes},
    {"parse_date", l_parse_date},
    {"format_date", l_format_date},
    {NULL, NULL},
};

static void new_class(lua_State *L, const char *name, const luaL_Reg *meta, const luaL_Reg *methods)
{
    luaL_newmetatable(L, name);
    luaL_setfuncs(L, meta, 0);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

int luaopen_churn(lua_State *L);

int luaopen_churn(lua_State *L)
{
    new_class(L, MODEL_MT, model_meta, model_methods);
    new_class(L, TXLOG_MT, txlog_meta, txlog_methods);
    new_class(L, TABLE_MT, table_meta, table_methods);
    new_class(L, STATE_MT, state_meta, state_methods);
    new_class(L, STREAM_MT, stream_meta, stream_methods);
    /* log:features(opts) is churn.features(log, opts) */
    luaL_getmetatable(L, TXLOG_MT);
    lua_getfield(L, -1, "__index");
    lua_pushcfunction(L, l_features);
    lua_setfield(L, -2, "features");
    lua_pop(L, 2);

    luaL_newlib(L, funcs);
    lua_pushstring(L, churn_version_string());
    lua_setfield(L, -2, "version");

    static const struct {
        const char *name;
        int code;
    } codes[] = {{"OK", CHURN_OK},
                 {"EINVAL", CHURN_EINVAL},
                 {"ENOMEM", CHURN_ENOMEM},
                 {"ENOTFITTED", CHURN_ENOTFITTED},
                 {"ENOCONV", CHURN_ENOCONV},
                 {"EUNSUPPORTED", CHURN_EUNSUPPORTED},
                 {"EIO", CHURN_EIO},
                 {"EFORMAT", CHURN_EFORMAT},
                 {"EFAMILY", CHURN_EFAMILY},
                 {"ENUMERIC", CHURN_ENUMERIC},
                 {"EVERSION", CHURN_EVERSION},
                 {"ERANGE", CHURN_ERANGE},
                 {"ENOTFOUND", CHURN_ENOTFOUND},
                 {"ESEPARATION", CHURN_ESEPARATION}};
    lua_createtable(L, 0, (int)(sizeof codes / sizeof codes[0]));
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        lua_pushinteger(L, codes[i].code);
        lua_setfield(L, -2, codes[i].name);
    }
    lua_setfield(L, -2, "status");

    lua_createtable(L, 0, 4);
    lua_pushnumber(L, CHURN_UNIT_DAY);
    lua_setfield(L, -2, "day");
    lua_pushnumber(L, CHURN_UNIT_WEEK);
    lua_setfield(L, -2, "week");
    lua_pushnumber(L, CHURN_UNIT_MONTH);
    lua_setfield(L, -2, "month");
    lua_pushnumber(L, CHURN_UNIT_YEAR);
    lua_setfield(L, -2, "year");
    lua_setfield(L, -2, "units");
    return 1;
}
