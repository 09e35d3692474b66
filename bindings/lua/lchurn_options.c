/*
 * Lua 5.4 binding: option tables.
 *
 * Owns: reading the options table of a call (named fields; unknown names
 * raise, they are typos) into numbers, integers, booleans, strings, enums,
 * times, time units and calendar periods, with the messages that name the call and
 * the option.
 * Calls: lchurn_util.c (value_time), libchurn, the Lua API.
 */
#include "lchurn.h"

#include <math.h>
#include <string.h>

/* Options are a table of named fields; unknown names raise (they are typos). */
void lchurn__check_options(lua_State *L, int idx, const char *what, const char *const *allowed)
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
int lchurn__opt_get(lua_State *L, int idx, const char *key)
{
    if (lua_type(L, idx) != LUA_TTABLE) {
        lua_pushnil(L);
        return LUA_TNIL;
    }
    return lua_getfield(L, idx, key);
}

double lchurn__opt_number(lua_State *L, int idx, const char *key, double def, const char *what)
{
    double v = def;
    if (lchurn__opt_get(L, idx, key) != LUA_TNIL) {
        int ok;
        v = lua_tonumberx(L, -1, &ok);
        if (!ok)
            luaL_error(L, "%s: option '%s' must be a number, got %s", what, key,
                       luaL_typename(L, -1));
    }
    lua_pop(L, 1);
    return v;
}

int lchurn__opt_int(lua_State *L, int idx, const char *key, int def, const char *what)
{
    lua_Integer v = def;
    if (lchurn__opt_get(L, idx, key) != LUA_TNIL) {
        int ok;
        v = lua_tointegerx(L, -1, &ok);
        if (!ok || v < INT32_MIN || v > INT32_MAX)
            luaL_error(L, "%s: option '%s' must be an integer", what, key);
    }
    lua_pop(L, 1);
    return (int)v;
}

int lchurn__opt_bool(lua_State *L, int idx, const char *key, int def, const char *what)
{
    int v = def, t = lchurn__opt_get(L, idx, key);
    if (t == LUA_TBOOLEAN)
        v = lua_toboolean(L, -1);
    else if (t != LUA_TNIL)
        luaL_error(L, "%s: option '%s' must be a boolean, got %s", what, key, luaL_typename(L, -1));
    lua_pop(L, 1);
    return v;
}

/* A string option. The string stays anchored by the options table. */
const char *lchurn__opt_string(lua_State *L, int idx, const char *key, const char *def,
                               const char *what)
{
    luaL_checkstack(L, 2, "churn: stack overflow");
    int t = lchurn__opt_get(L, idx, key);
    if (t == LUA_TSTRING)
        return lua_tostring(L, -1); /* left on the stack: anchored for the whole call */
    if (t != LUA_TNIL)
        luaL_error(L, "%s: option '%s' must be a string, got %s", what, key, luaL_typename(L, -1));
    lua_pop(L, 1);
    return def;
}

/* An option naming one of `names`; returns its index or def. */
int lchurn__opt_enum(lua_State *L, int idx, const char *key, int def, const char *const *names,
                     const char *what)
{
    const char *s = lchurn__opt_string(L, idx, key, NULL, what);
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
double lchurn__opt_time(lua_State *L, int idx, const char *key, double def, const char *what)
{
    double v = def;
    if (lchurn__opt_get(L, idx, key) != LUA_TNIL) {
        lua_pushfstring(L, "%s: option '%s'", what, key);
        if (lchurn__value_time(L, -2, &v, lua_tostring(L, -1)) != CHURN_OK)
            luaL_error(L, "%s: option '%s': %s", what, key, churn_last_error_message());
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return v;
}

/* A time unit in days: "day", "week", "month", "year" or a positive number of days. */
double lchurn__opt_unit(lua_State *L, int idx, const char *key, double def, const char *what)
{
    double v = def;
    int t = lchurn__opt_get(L, idx, key);
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

/* Calendar periods of the customer table: "week", "month", "quarter" or "year" (the names
 * of churn_period_name). */
int lchurn__opt_period(lua_State *L, int idx, const char *key, int def, const char *what)
{
    static const char *const names[] = {"none", "week", "month", "quarter", "year", NULL};
    return lchurn__opt_enum(L, idx, key, def, names, what);
}
