/*
 * Lua 5.4 binding: customer tables (log:customers, churn.features, tab:*).
 *
 * Owns: the customer table handle, the options of building one (shared
 * with streams), and turning a table into Lua rows; adds the methods
 * customers and features to the transaction log class.
 * Calls: lchurn_txlog.c (new logs, appending purchases), lchurn_options.c,
 * lchurn_util.c, libchurn.
 */
#include "lchurn.h"

#include <string.h>

static void free_table(void *t) { churn_customers_free((churn_customers *)t); }

const lclass lchurn__table_class = {TABLE_MT, "attempt to use a closed churn customer table",
                                    free_table};

/* A customer-table method whose body runs with the table pinned (see lhandle). */
#define TABLE_METHOD(name) HANDLE_METHOD(name, lchurn__table_class, churn_customers, t)

static churn_customers *check_table(lua_State *L, int idx)
{
    return lchurn__check_handle(L, idx, &lchurn__table_class)->table;
}

static int c_close(lua_State *L)
{
    lchurn__close_handle(luaL_checkudata(L, 1, TABLE_MT), &lchurn__table_class, 0);
    return 0;
}

static int c_gc(lua_State *L)
{
    lchurn__close_handle(luaL_checkudata(L, 1, TABLE_MT), &lchurn__table_class, 1);
    return 0;
}

static int c_tostring(lua_State *L)
{
    lhandle *u = (lhandle *)luaL_checkudata(L, 1, TABLE_MT);
    if (!u->table)
        lua_pushliteral(L, "churn.customers (closed)");
    else
        lua_pushfstring(L, "churn.customers (%I customers, %I columns)",
                        (lua_Integer)churn_customers_num_rows(u->table),
                        (lua_Integer)churn_customers_num_columns(u->table));
    return 1;
}

/* Option 'columns': a comma-separated string or an array of column names, as
 * the C option text, left on the stack (anchored for the whole call); NULL
 * when absent. The library checks the names. */
static const char *opt_columns(lua_State *L, int idx, const char *what)
{
    luaL_checkstack(L, 4, "churn: stack overflow");
    int t = lchurn__opt_get(L, idx, "columns");
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

void lchurn__customer_options(lua_State *L, int opts, churn_customer_options *o, const char *what)
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
                                       "period",
                                       NULL};
    lchurn__check_options(L, opts, what, keys);
    churn_customer_options_init(o);
    o->cutoff = lchurn__opt_time(L, opts, "cutoff", o->cutoff, what);
    o->holdout_end = lchurn__opt_time(L, opts, "holdout_end", o->holdout_end, what);
    o->time_unit = lchurn__opt_unit(L, opts, "unit", o->time_unit, what);
    o->same_day_once = lchurn__opt_bool(L, opts, "same_day_once", o->same_day_once, what);
    o->first_purchase_counts =
        lchurn__opt_bool(L, opts, "first_purchase_counts", o->first_purchase_counts, what);
    o->trend_window = lchurn__opt_number(L, opts, "trend_window", o->trend_window, what);
    o->inactivity_threshold =
        lchurn__opt_number(L, opts, "inactivity_threshold", o->inactivity_threshold, what);
    o->key_fraction = lchurn__opt_number(L, opts, "key_fraction", o->key_fraction, what);
    o->important_fraction =
        lchurn__opt_number(L, opts, "important_fraction", o->important_fraction, what);
    o->columns = opt_columns(L, opts, what);
    o->period = lchurn__opt_period(L, opts, "period", o->period, what);
}

/* Build a customer table userdata from log (pushed) or push nil, msg, code. */
static int build_table(lua_State *L, churn_txlog *log, int opts, const char *what)
{
    churn_customer_options o;
    lchurn__customer_options(L, opts, &o, what);
    lhandle *u = lchurn__new_handle(L, &lchurn__table_class, sizeof *u);
    int rc = churn_customers_build(&u->table, log, &o);
    if (rc)
        return lchurn__push_fail(L, rc);
    return 1;
}

/* log:customers([opts]) -> customer table | nil, msg, code */
HANDLE_METHOD(t_customers, lchurn__txlog_class, churn_txlog, log)
{
    lua_settop(L, 2);
    return build_table(L, log, 2, "customers");
}

/* Push row r of t as { customer_id = "...", frequency = .., ... }; cols holds
 * the column arrays of t when the caller looked them up once for many rows
 * (NULL: look them up). */
static void push_row(lua_State *L, churn_customers *t, const double *const *cols, size_t r)
{
    size_t k = churn_customers_num_columns(t);
    lua_createtable(L, 0, (int)k + 2);
    lua_pushstring(L, churn_customers_id(t, r));
    lua_setfield(L, -2, "customer_id");
    lua_pushnumber(L, churn_customers_time_unit(t)); /* checked by model:score */
    lua_setfield(L, -2, "time_unit");
    for (size_t j = 0; j < k; j++) {
        lua_pushnumber(L, cols ? cols[j][r] : churn_customers_column_at(t, j)[r]);
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
        push_row(L, t, cols, r);
        lua_rawseti(L, -3, (lua_Integer)r + 1);
    }
    lua_pop(L, 1);
}

/* Push the column names of t as an array. */
static void push_column_names(lua_State *L, churn_customers *t)
{
    size_t k = churn_customers_num_columns(t);
    lua_createtable(L, (int)k, 0);
    for (size_t j = 0; j < k; j++) {
        lua_pushstring(L, churn_customers_column_name(t, j));
        lua_rawseti(L, -2, (lua_Integer)j + 1);
    }
}

/* Summary of a table: { customers, excluded, cutoff, holdout_end, time_unit, period,
 * columns } */
static void push_info(lua_State *L, churn_customers *t)
{
    lua_createtable(L, 0, 7);
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
    if (churn_customers_period(t) != CHURN_PERIOD_NONE) {
        lua_pushstring(L, churn_period_name(churn_customers_period(t)));
        lua_setfield(L, -2, "period");
    }
    push_column_names(L, t);
    lua_setfield(L, -2, "columns");
}

static int features_of(lua_State *L, churn_txlog *log);

/* churn.features(purchases_or_log [, opts]) -> rows, info | nil, msg, code */
int lchurn__features(lua_State *L)
{
    lua_settop(L, 2);
    if (lua_type(L, 1) == LUA_TUSERDATA) {
        lhandle *lu = lchurn__check_handle(L, 1, &lchurn__txlog_class);
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
        lhandle *u;
        if (lchurn__new_txlog(L, &u)) /* index 3 */
            return 3;
        if (lchurn__append_purchases(L, u->log, 1, "purchases"))
            return 3;
        log = u->log;
        own = 1;
    }
    int n = build_table(L, log, 2, what);
    if (n != 1)
        return n;
    lhandle *tu = (lhandle *)lua_touserdata(L, -1);
    push_rows(L, tu->table);
    push_info(L, tu->table);
    /* release the C memory now rather than at the next collection */
    churn_customers_free(tu->table);
    tu->table = NULL;
    if (own) {
        lhandle *u = (lhandle *)lua_touserdata(L, 3);
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
    push_column_names(L, t);
    return 1;
}

/* tab:column(name) -> { values... } | nil, msg, code */
TABLE_METHOD(c_column)
{
    const double *v = churn_customers_column(t, luaL_checkstring(L, 2));
    if (!v)
        return lchurn__push_fail(L, churn_last_error_code());
    lchurn__push_numbers(L, v, churn_customers_num_rows(t));
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
    push_row(L, t, NULL, (size_t)i - 1);
    return 1;
}

/* tab:find(customer_id) -> customer table, row | nil, msg, code */
TABLE_METHOD(c_find)
{
    char idbuf[32];
    const char *id = lchurn__id_text(L, 2, idbuf, sizeof idbuf, "find: customer_id");
    size_t r;
    int rc = churn_customers_find(t, id, &r);
    if (rc)
        return lchurn__push_fail(L, rc);
    push_row(L, t, NULL, r);
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

static const luaL_Reg table_methods[] = {
    {"columns", c_columns}, {"column", c_column}, {"ids", c_ids},   {"row", c_row},
    {"find", c_find},       {"rows", c_rows},     {"info", c_info}, {"metrics", c_metrics},
    {"close", c_close},     {NULL, NULL},
};

static const luaL_Reg table_meta[] = {
    {"__gc", c_gc},   {"__close", c_close}, {"__tostring", c_tostring},
    {"__len", c_len}, {"__index", NULL},    {NULL, NULL},
};

/* The customer table class, and log:customers(opts) and log:features(opts)
 * (churn.features(log, opts)) in the transaction log class. */
void lchurn__open_customers(lua_State *L)
{
    lchurn__new_class(L, TABLE_MT, table_meta, table_methods);
    luaL_getmetatable(L, TXLOG_MT);
    lua_getfield(L, -1, "__index");
    lua_pushcfunction(L, t_customers);
    lua_setfield(L, -2, "customers");
    lua_pushcfunction(L, lchurn__features);
    lua_setfield(L, -2, "features");
    lua_pop(L, 2);
}
