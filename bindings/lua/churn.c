/*
 * Lua 5.4 binding: `local churn = require "churn"`.
 *
 * Owns: luaopen_churn (the one exported symbol), the module function table,
 * and the constant tables churn.version, churn.status, churn.units.
 * Calls: every other file of the module through lchurn.h, which lists them
 * and what each owns.
 *
 * Handles (models, transaction logs, customer tables, streams, per-customer
 * states) are full userdata created "closed" and filled once the C call
 * succeeded (lchurn.h, lhandle). Errors follow Lua's conventions: misuse
 * (wrong argument types, a missing field, an unknown option, a closed
 * handle, a model of the wrong family) raises an error carrying the C
 * message; expected failures (file missing, bad format, bad data rejected by
 * the library, no convergence) return nil, message, code, with the code a
 * churn_status value (churn.status).
 *
 * The module must not link liblua (Debian's lua5.4 is statically linked): it
 * takes the interpreter's symbols at load time.
 */
#include "lchurn.h"

static const luaL_Reg funcs[] = {
    {"load", lchurn__load},
    {"from_json", lchurn__from_json},
    {"model", lchurn__model},
    {"fit", lchurn__fit},
    {"fit_btyd", lchurn__fit_btyd},
    {"clv", lchurn__clv},
    {"txlog", lchurn__txlog},
    {"read_csv", lchurn__read_csv},
    {"features", lchurn__features},
    {"state", lchurn__state},
    {"stream", lchurn__stream},
    {"state_from_bytes", lchurn__state_from_bytes},
    {"alerts", lchurn__alerts},
    {"parse_date", lchurn__parse_date},
    {"format_date", lchurn__format_date},
    {NULL, NULL},
};

/* churn.status: the churn_status codes by name. */
static void push_status(lua_State *L)
{
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
                 {"ESEPARATION", CHURN_ESEPARATION},
                 {"EUNIT", CHURN_EUNIT}};
    lua_createtable(L, 0, (int)(sizeof codes / sizeof codes[0]));
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        lua_pushinteger(L, codes[i].code);
        lua_setfield(L, -2, codes[i].name);
    }
}

/* churn.units: days per time unit. */
static void push_units(lua_State *L)
{
    lua_createtable(L, 0, 4);
    lua_pushnumber(L, CHURN_UNIT_DAY);
    lua_setfield(L, -2, "day");
    lua_pushnumber(L, CHURN_UNIT_WEEK);
    lua_setfield(L, -2, "week");
    lua_pushnumber(L, CHURN_UNIT_MONTH);
    lua_setfield(L, -2, "month");
    lua_pushnumber(L, CHURN_UNIT_YEAR);
    lua_setfield(L, -2, "year");
}

int luaopen_churn(lua_State *L);

int luaopen_churn(lua_State *L)
{
    lchurn__open_model(L);
    lchurn__open_txlog(L);
    lchurn__open_customers(L); /* after the log class: adds log:customers, log:features */
    lchurn__open_state(L);
    lchurn__open_stream(L);
    lchurn__open_alerts(L);

    luaL_newlib(L, funcs);
    lua_pushstring(L, churn_version_string());
    lua_setfield(L, -2, "version");
    push_status(L);
    lua_setfield(L, -2, "status");
    push_units(L);
    lua_setfield(L, -2, "units");
    return 1;
}
