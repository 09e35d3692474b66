/*
 * Lua 5.4 binding: transaction logs (churn.txlog, churn.read_csv, log:*)
 * and the date functions (churn.parse_date, churn.format_date).
 *
 * Owns: the transaction log handle, appending purchases given as Lua tables,
 * the options of CSV reading (shared with streams).
 * Calls: lchurn_util.c (errors, values, handles), lchurn_options.c, libchurn.
 * The methods log:customers and log:features are customer-table work: they
 * are added to this class by lchurn_customers.c, which calls this file.
 */
#include "lchurn.h"

#include <math.h>
#include <string.h>

static void free_txlog(void *log) { churn_txlog_free((churn_txlog *)log); }

const lclass lchurn__txlog_class = {TXLOG_MT, "attempt to use a closed churn transaction log",
                                    free_txlog};

/* A log method whose body runs with the log pinned (see lhandle). */
#define TXLOG_METHOD(name) HANDLE_METHOD(name, lchurn__txlog_class, churn_txlog, log)

static churn_txlog *check_txlog(lua_State *L, int idx)
{
    return lchurn__check_handle(L, idx, &lchurn__txlog_class)->log;
}

int lchurn__new_txlog(lua_State *L, lhandle **out)
{
    lhandle *u = lchurn__new_handle(L, &lchurn__txlog_class, sizeof *u);
    *out = u;
    int rc = churn_txlog_new(&u->log);
    if (rc)
        lchurn__push_fail(L, rc);
    return rc;
}

static int t_close(lua_State *L)
{
    lchurn__close_handle(luaL_checkudata(L, 1, TXLOG_MT), &lchurn__txlog_class, 0);
    return 0;
}

static int t_gc(lua_State *L)
{
    lchurn__close_handle(luaL_checkudata(L, 1, TXLOG_MT), &lchurn__txlog_class, 1);
    return 0;
}

static int t_tostring(lua_State *L)
{
    lhandle *u = (lhandle *)luaL_checkudata(L, 1, TXLOG_MT);
    if (!u->log)
        lua_pushliteral(L, "churn.txlog (closed)");
    else
        lua_pushfstring(L, "churn.txlog (%I transactions, %I customers)",
                        (lua_Integer)churn_txlog_num_transactions(u->log),
                        (lua_Integer)churn_txlog_num_customers(u->log));
    return 1;
}

/* ==== appending purchases ================================================ */

/* One purchase; the extended form only when it carries a quantity or a product. A purchase
 * that gave no amount (`unknown`) is appended as a row of arrays without amounts, the
 * library's way to declare an unknown amount; a NaN given as an amount stays an error. */
static int append_one(churn_txlog *log, const char *id, double time, int unknown, double amount,
                      double quantity, const char *product)
{
    if (unknown)
        return churn_txlog_append_arrays_str(log, 1, &id, &time, NULL,
                                             isnan(quantity) ? NULL : &quantity,
                                             product ? &product : NULL);
    return !isnan(quantity) || product
               ? churn_txlog_append_ex(log, id, time, amount, quantity, product)
               : churn_txlog_append(log, id, time, amount);
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
                   lchurn__describe_value(L, p));
    if (lua_getfield(L, p, "customer") == LUA_TNIL) {
        lua_pop(L, 1);
        lua_getfield(L, p, "customer_id");
    }
    lua_pushfstring(L, "%s[%d].customer", where, (int)row);
    const char *id = lchurn__id_text(L, p + 1, idbuf, sizeof idbuf, lua_tostring(L, -1));
    lua_pop(L, 1);
    if (lua_getfield(L, p, "time") == LUA_TNIL) {
        lua_pop(L, 1);
        lua_getfield(L, p, "date");
    }
    double time, amount, quantity = NAN;
    lua_pushfstring(L, "%s[%d].time", where, (int)row);
    int rc = lchurn__value_time(L, p + 2, &time, lua_tostring(L, -1));
    lua_pop(L, 1);
    /* no amount field: the amount is unknown (a log without amounts) */
    int unknown = lua_getfield(L, p, "amount") == LUA_TNIL;
    amount = NAN;
    if (!unknown && !lchurn__value_number(L, p + 3, &amount))
        luaL_error(L, "%s[%I].amount is %s, expected a number (or no amount when unknown)",
                   where, (lua_Integer)(row), lchurn__describe_value(L, p + 3));
    if (lua_getfield(L, p, "quantity") != LUA_TNIL && !lchurn__value_number(L, p + 4, &quantity))
        luaL_error(L, "%s[%I].quantity is %s, expected a number", where, (lua_Integer)(row),
                   lchurn__describe_value(L, p + 4));
    const char *product = NULL;
    if (lua_getfield(L, p, "product") != LUA_TNIL) {
        lua_pushfstring(L, "%s[%d].product", where, (int)row);
        product = lchurn__id_text(L, p + 5, pbuf, sizeof pbuf, lua_tostring(L, -1));
    }
    if (rc == CHURN_OK)
        rc = append_one(log, id, time, unknown, amount, quantity, product);
    lua_settop(L, p);
    return rc;
}

/* Append every purchase of the array at idx; returns 0, or pushes nil, msg,
 * code (the message names the purchase) and returns 3. Purchases before a
 * bad one stay appended. */
int lchurn__append_purchases(lua_State *L, churn_txlog *log, int idx, const char *where)
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
int lchurn__txlog(lua_State *L)
{
    lua_settop(L, 1);
    lhandle *u;
    if (lchurn__new_txlog(L, &u))
        return 3;
    if (!lua_isnoneornil(L, 1)) {
        int ud = lua_gettop(L);
        if (lchurn__append_purchases(L, u->log, 1, "purchases"))
            return 3;
        lua_settop(L, ud);
    }
    return 1;
}

/* log:add(customer, time [, amount [, quantity [, product]]]) -> true | nil, msg, code;
 * a nil amount is unknown (a log without amounts) */
TXLOG_METHOD(t_add)
{
    char idbuf[32], pbuf[32];
    const char *id = lchurn__id_text(L, 2, idbuf, sizeof idbuf, "add: customer");
    int unknown = lua_isnoneornil(L, 4);
    double time, amount = luaL_optnumber(L, 4, NAN), quantity = luaL_optnumber(L, 5, NAN);
    const char *product =
        lua_isnoneornil(L, 6) ? NULL : lchurn__id_text(L, 6, pbuf, sizeof pbuf, "add: product");
    int rc = lchurn__value_time(L, 3, &time, "add: time");
    if (rc == CHURN_OK)
        rc = append_one(log, id, time, unknown, amount, quantity, product);
    if (rc)
        return lchurn__push_fail(L, rc);
    lua_pushboolean(L, 1);
    return 1;
}

/* log:append(purchases) -> true | nil, msg, code (purchases before a bad one stay) */
TXLOG_METHOD(t_append)
{
    if (lchurn__append_purchases(L, log, 2, "purchases"))
        return 3;
    lua_pushboolean(L, 1);
    return 1;
}

void lchurn__csv_options(lua_State *L, int opts, churn_csv_options *o)
{
    static const char what[] = "read_csv";
    static const char *const keys[] = {"header", "delimiter", "date_format", "skip_bad_rows", "id",
                                       "time",   "amount",    "quantity",    "product",       NULL};
    static const char *const formats[] = {"auto", "iso", "yyyymmdd", "epoch", NULL};
    lchurn__check_options(L, opts, what, keys);
    churn_csv_options_init(o);
    o->has_header = lchurn__opt_bool(L, opts, "header", 1, what);
    const char *delim = lchurn__opt_string(L, opts, "delimiter", NULL, what);
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
    o->date_format = lchurn__opt_enum(L, opts, "date_format", CHURN_DATE_AUTO, formats, what);
    o->skip_bad_rows = lchurn__opt_bool(L, opts, "skip_bad_rows", 0, what);
    o->id_column = lchurn__opt_string(L, opts, "id", NULL, what);
    o->time_column = lchurn__opt_string(L, opts, "time", NULL, what);
    /* amount = false: the file has no amount column, every amount unknown ("" in C) */
    int no_amount = lchurn__opt_get(L, opts, "amount") == LUA_TBOOLEAN && !lua_toboolean(L, -1);
    lua_pop(L, 1);
    o->amount_column = no_amount ? "" : lchurn__opt_string(L, opts, "amount", NULL, what);
    o->quantity_column = lchurn__opt_string(L, opts, "quantity", NULL, what);
    o->product_column = lchurn__opt_string(L, opts, "product", NULL, what);
}

/* log:read_csv(path [, opts]) -> true | nil, msg, code */
TXLOG_METHOD(t_read_csv)
{
    lua_settop(L, 3);
    const char *path = luaL_checkstring(L, 2);
    churn_csv_options o;
    lchurn__csv_options(L, 3, &o);
    int rc = churn_txlog_read_csv(log, path, &o);
    if (rc)
        return lchurn__push_fail(L, rc);
    lua_pushboolean(L, 1);
    return 1;
}

/* churn.read_csv(path [, opts]) -> log | nil, msg, code */
int lchurn__read_csv(lua_State *L)
{
    lua_settop(L, 2);
    const char *path = luaL_checkstring(L, 1);
    churn_csv_options o;
    lchurn__csv_options(L, 2, &o);
    lhandle *u;
    if (lchurn__new_txlog(L, &u))
        return 3;
    int rc = churn_txlog_read_csv(u->log, path, &o);
    if (rc) {
        churn_txlog_free(u->log);
        u->log = NULL;
        return lchurn__push_fail(L, rc);
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

/* ==== dates ============================================================= */

/* churn.parse_date(text) -> seconds since the epoch | nil, msg, code */
int lchurn__parse_date(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    double t;
    int rc = churn_parse_date(s, len, CHURN_DATE_AUTO, &t);
    if (rc)
        return lchurn__push_fail(L, rc);
    lua_pushnumber(L, t);
    return 1;
}

/* churn.format_date(seconds) -> "YYYY-MM-DD" (UTC) */
int lchurn__format_date(lua_State *L)
{
    char buf[32];
    int rc = churn_format_date(luaL_checknumber(L, 1), buf, sizeof buf);
    if (rc)
        return lchurn__raise(L, rc);
    lua_pushstring(L, buf);
    return 1;
}

static const luaL_Reg txlog_methods[] = {
    {"add", t_add},
    {"append", t_append},
    {"read_csv", t_read_csv},
    {"num_transactions", t_num_transactions},
    {"num_customers", t_num_customers},
    {"rows_skipped", t_rows_skipped},
    {"time_range", t_time_range},
    {"customers", NULL}, /* set by lchurn_customers.c */
    {"features", NULL},  /* set by lchurn_customers.c: churn.features */
    {"close", t_close},
    {NULL, NULL},
};

static const luaL_Reg txlog_meta[] = {
    {"__gc", t_gc},    {"__close", t_close}, {"__tostring", t_tostring},
    {"__index", NULL}, {NULL, NULL},
};

void lchurn__open_txlog(lua_State *L) { lchurn__new_class(L, TXLOG_MT, txlog_meta, txlog_methods); }
