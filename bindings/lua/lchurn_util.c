/*
 * Lua 5.4 binding: shared helpers.
 *
 * Owns: how errors reach Lua (nil, msg, code or a raised error), temporary
 * buffers owned by userdata, reading numbers, times and ids from Lua values,
 * and the handle userdata common to models, logs, customer tables and
 * streams (lchurn.h, lhandle).
 * Calls: libchurn and the Lua API only.
 */
#include "lchurn.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ==== errors ============================================================= */

int lchurn__push_fail(lua_State *L, int rc)
{
    const char *msg = churn_last_error_message();
    lua_pushnil(L);
    lua_pushstring(L, *msg ? msg : churn_strerror(rc));
    lua_pushinteger(L, rc);
    return 3;
}

int lchurn__raise(lua_State *L, int rc)
{
    const char *msg = churn_last_error_message();
    return luaL_error(L, "%s", *msg ? msg : churn_strerror(rc));
}

int lchurn__predict_fail(lua_State *L, int rc)
{
    return rc == CHURN_EFAMILY ? lchurn__raise(L, rc) : lchurn__push_fail(L, rc);
}

/* ==== temporary buffers ================================================== */

/* The collector frees the buffer whether the function returns or raises. */
double *lchurn__tmp_doubles(lua_State *L, size_t n)
{
    luaL_checkstack(L, 4, "churn: stack overflow");
    if (n > ((size_t)-1) / 2 / sizeof(double))
        luaL_error(L, "churn: %I values is too many", (lua_Integer)(n));
    return (double *)lua_newuserdatauv(L, (n ? n : 1) * sizeof(double), 0);
}

size_t lchurn__mul_size(lua_State *L, size_t a, size_t b)
{
    if (b && a > ((size_t)-1) / 16 / b)
        luaL_error(L, "churn: %I x %I values is too many", (lua_Integer)(a), (lua_Integer)(b));
    return a * b;
}

void lchurn__push_numbers(lua_State *L, const double *v, size_t n)
{
    luaL_checkstack(L, 2, "churn: stack overflow");
    lua_createtable(L, n > INT32_MAX ? 0 : (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushnumber(L, v[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

/* ==== numbers, times and ids from Lua values ============================= */

/* Numbers, numeric strings (Lua's coercion) and booleans (1/0, for labels
 * and event indicators) are accepted as data. */
int lchurn__value_number(lua_State *L, int idx, double *out)
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

const char *lchurn__describe_value(lua_State *L, int idx)
{
    return lua_type(L, idx) == LUA_TNIL ? "missing" : luaL_typename(L, idx);
}

double *lchurn__check_numbers(lua_State *L, int idx, const char *what, size_t *n)
{
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE)
        luaL_error(L, "%s must be an array of numbers, got %s", what, luaL_typename(L, idx));
    lua_Integer len = luaL_len(L, idx);
    size_t m = len > 0 ? (size_t)len : 0;
    double *v = lchurn__tmp_doubles(L, m);
    for (size_t i = 0; i < m; i++) {
        lua_geti(L, idx, (lua_Integer)i + 1);
        if (!lchurn__value_number(L, -1, &v[i]))
            luaL_error(L, "%s[%I] is %s, expected a number", what, (lua_Integer)(i + 1),
                       lchurn__describe_value(L, -1));
        lua_pop(L, 1);
    }
    *n = m;
    return v;
}

/* A time: seconds since the epoch (number; the library checks it is finite)
 * or a date text ("1997-09-30", "1997-09-30T12:00:00Z", "19970930", epoch
 * digits) parsed as the CSV reader does. Other types raise, naming `what`.
 * Returns the churn status of the parse; *out is set on success. */
int lchurn__value_time(lua_State *L, int idx, double *out, const char *what)
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
                      lchurn__describe_value(L, idx));
}

/* Customer or product id text of the value at idx: strings as they are,
 * integral numbers as decimal text (42 and 42.0 both give "42"). Raises
 * otherwise, naming `what`. */
const char *lchurn__id_text(lua_State *L, int idx, char *buf, size_t cap, const char *what)
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
               t == LUA_TNUMBER ? "a fractional number" : lchurn__describe_value(L, idx));
    return NULL;
}

/* ==== handles ============================================================ */

lhandle *lchurn__new_handle(lua_State *L, const lclass *c, size_t size)
{
    lhandle *u = (lhandle *)lua_newuserdatauv(L, size, 0);
    memset(u, 0, size); /* "closed" until filled */
    luaL_setmetatable(L, c->mt);
    return u;
}

lhandle *lchurn__check_handle(lua_State *L, int idx, const lclass *c)
{
    lhandle *u = (lhandle *)luaL_checkudata(L, idx, c->mt);
    if (!u->obj)
        luaL_error(L, "%s", c->closed_msg);
    return u;
}

/* Idempotent: a closed handle has obj NULL, and the zombie goes with __gc. */
void lchurn__close_handle(lhandle *u, const lclass *c, int collect)
{
    if (u->obj && u->busy && !collect)
        u->zombie = u->obj; /* a call below still uses it: __gc frees it */
    else
        c->free_obj(u->obj);
    u->obj = NULL;
    if (collect) {
        c->free_obj(u->zombie);
        u->zombie = NULL;
    }
}

void lchurn__new_class(lua_State *L, const char *name, const luaL_Reg *meta,
                       const luaL_Reg *methods)
{
    luaL_newmetatable(L, name);
    luaL_setfuncs(L, meta, 0);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}
