/*
 * Lua 5.4 binding: `local churn = require "churn"`.
 *
 * Models are full userdata holding a churn_model pointer, created "closed"
 * (NULL) and filled once the C call succeeded, as Lua's liolib.c does with
 * files; __gc and __close share one idempotent closer. Misuse (wrong argument
 * types, a closed model, a wrong family) raises an error with the C message;
 * expected failures (file missing, bad format, bad data) return
 * nil, message, code.
 *
 * The module must not link liblua (Debian's lua5.4 is statically linked): it
 * takes the interpreter's symbols at load time.
 */
#include "churn.h"

#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODEL_MT "churn.model"

typedef struct lmodel {
    churn_model *m;
} lmodel;

/* ---- helpers ---- */

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

static lmodel *new_model_ud(lua_State *L)
{
    lmodel *u = (lmodel *)lua_newuserdatauv(L, sizeof *u, 0);
    u->m = NULL; /* "closed" until filled */
    luaL_setmetatable(L, MODEL_MT);
    return u;
}

static churn_model *check_model(lua_State *L, int idx)
{
    lmodel *u = (lmodel *)luaL_checkudata(L, idx, MODEL_MT);
    if (!u->m)
        luaL_error(L, "attempt to use a closed churn model");
    return u->m;
}

/* Read a Lua array of numbers into a malloc'd buffer; *n gets its length.
 * Raises on a non-number element, naming the argument and index. */
static double *check_numbers(lua_State *L, int idx, const char *what, size_t *n)
{
    luaL_checktype(L, idx, LUA_TTABLE);
    size_t len = (size_t)luaL_len(L, idx);
    double *v = (double *)malloc((len ? len : 1) * sizeof *v);
    if (!v)
        luaL_error(L, "out of memory");
    for (size_t i = 0; i < len; i++) {
        int t = lua_geti(L, idx, (lua_Integer)i + 1);
        if (t != LUA_TNUMBER) {
            free(v);
            luaL_error(L, "%s[%d] is a %s, expected a number", what, (int)i + 1,
                       lua_typename(L, t));
        }
        v[i] = lua_tonumber(L, -1);
        lua_pop(L, 1);
    }
    *n = len;
    return v;
}

static void push_numbers(lua_State *L, const double *v, size_t n)
{
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushnumber(L, v[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

/* ---- module functions ---- */

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

static int family_arg(lua_State *L, int idx)
{
    const char *name = luaL_checkstring(L, idx);
    int fam;
    if (churn_family_from_name(name, &fam) != CHURN_OK)
        luaL_argerror(L, idx, churn_last_error_message());
    return fam;
}

/* churn.fit_btyd(family, frequency, recency, T [, weights]) -> model | nil, msg, code
 * Arrays are Lua sequences of numbers. A non-converged fit returns nil, msg, code. */
static int l_fit_btyd(lua_State *L)
{
    int fam = family_arg(L, 1);
    size_t n, n2, n3, nw = 0;
    double *x = check_numbers(L, 2, "frequency", &n);
    double *tx = check_numbers(L, 3, "recency", &n2);
    double *T = check_numbers(L, 4, "T", &n3);
    double *w = NULL;
    if (!lua_isnoneornil(L, 5))
        w = check_numbers(L, 5, "weights", &nw);
    if (n2 != n || n3 != n || (w && nw != n)) {
        free(x), free(tx), free(T), free(w);
        return luaL_error(L, "frequency, recency, T (and weights) must have the same length");
    }
    lmodel *u = new_model_ud(L);
    int rc = fam == CHURN_FAMILY_SBG
                 ? (free(w), w = NULL, CHURN_EUNSUPPORTED)
                 : churn_btyd_fit(&u->m, fam, n, x, tx, T, w, NULL);
    free(x), free(tx), free(T), free(w);
    if (rc == CHURN_EUNSUPPORTED && fam == CHURN_FAMILY_SBG)
        return luaL_error(L, "fit_btyd: use churn.fit_sbg for sBG models");
    if (rc) {
        churn_model_free(u->m);
        u->m = NULL;
        return push_fail(L, rc);
    }
    return 1;
}

/* ---- model methods ---- */

static int m_close(lua_State *L)
{
    lmodel *u = (lmodel *)luaL_checkudata(L, 1, MODEL_MT);
    churn_model_free(u->m); /* idempotent: NULL after the first call */
    u->m = NULL;
    return 0;
}

static int m_tostring(lua_State *L)
{
    lmodel *u = (lmodel *)luaL_checkudata(L, 1, MODEL_MT);
    if (!u->m) {
        lua_pushliteral(L, "churn.model (closed)");
        return 1;
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    lua_pushfstring(L, "churn.model %s (", churn_family_name(churn_model_family(u->m)));
    luaL_addvalue(&b);
    size_t k = churn_model_num_params(u->m);
    for (size_t i = 0; i < k; i++) {
        double v;
        churn_model_param(u->m, churn_model_param_name(u->m, i), &v, NULL);
        char num[64];
        snprintf(num, sizeof num, "%s%s=%.6g", i ? ", " : "", churn_model_param_name(u->m, i), v);
        luaL_addstring(&b, num);
    }
    luaL_addstring(&b, ")");
    luaL_pushresult(&b);
    return 1;
}

static int m_family(lua_State *L)
{
    lua_pushstring(L, churn_family_name(churn_model_family(check_model(L, 1))));
    return 1;
}

/* model:params() -> { name = value, ... }, { name = se, ... } */
static int m_params(lua_State *L)
{
    churn_model *m = check_model(L, 1);
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

/* model:save(path) -> true | nil, msg, code */
static int m_save(lua_State *L)
{
    churn_model *m = check_model(L, 1);
    int rc = churn_model_save(m, luaL_checkstring(L, 2));
    if (rc)
        return push_fail(L, rc);
    lua_pushboolean(L, 1);
    return 1;
}

static int m_to_json(lua_State *L)
{
    churn_model *m = check_model(L, 1);
    size_t need = 0;
    churn_model_save_buffer(m, NULL, 0, &need);
    char *buf = (char *)malloc(need ? need : 1);
    if (!buf)
        return luaL_error(L, "out of memory");
    int rc = churn_model_save_buffer(m, buf, need, NULL);
    if (rc) {
        free(buf);
        return raise_c(L, rc);
    }
    lua_pushstring(L, buf);
    free(buf);
    return 1;
}

/* Field of a customer table, with a default name and a fallback. */
static double field_number(lua_State *L, int idx, const char *name, const char *alt)
{
    int t = lua_getfield(L, idx, name);
    if (t == LUA_TNIL && alt) {
        lua_pop(L, 1);
        t = lua_getfield(L, idx, alt);
    }
    if (t != LUA_TNUMBER)
        luaL_error(L, "customer field '%s' is %s, expected a number", name,
                   t == LUA_TNIL ? "missing" : lua_typename(L, t));
    double v = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return v;
}

/* model:score(customer [, horizon]) -> p_alive, expected_purchases
 * customer = { frequency = x, recency = t_x, T = T } (x, t_x accepted too).
 * The CRM hot path: no allocation beyond the C call. */
static int m_score(lua_State *L)
{
    churn_model *m = check_model(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    double h = luaL_optnumber(L, 3, 0.0);
    double x = field_number(L, 2, "frequency", "x");
    double tx = field_number(L, 2, "recency", "t_x");
    double T = field_number(L, 2, "T", NULL);
    double pa, ex;
    int rc = churn_btyd_score(m, h, 1, &x, &tx, &T, &pa, &ex);
    if (rc == CHURN_EFAMILY)
        return raise_c(L, rc);
    if (rc)
        return push_fail(L, rc);
    lua_pushnumber(L, pa);
    lua_pushnumber(L, ex);
    return 2;
}

/* model:p_alive(frequency[], recency[], T[]) -> { p_alive... } | nil, msg, code */
static int btyd_vector(lua_State *L, int expected)
{
    churn_model *m = check_model(L, 1);
    int base = expected ? 3 : 2;
    double h = expected ? luaL_checknumber(L, 2) : 0.0;
    size_t n, n2, n3;
    double *x = check_numbers(L, base, "frequency", &n);
    double *tx = check_numbers(L, base + 1, "recency", &n2);
    double *T = check_numbers(L, base + 2, "T", &n3);
    double *out = (double *)malloc((n ? n : 1) * sizeof *out);
    int rc = CHURN_ENOMEM;
    if (n2 != n || n3 != n) {
        free(x), free(tx), free(T), free(out);
        return luaL_error(L, "frequency, recency and T must have the same length");
    }
    if (out)
        rc = expected ? churn_btyd_expected_purchases(m, h, n, x, tx, T, out)
                      : churn_btyd_p_alive(m, n, x, tx, T, out);
    free(x), free(tx), free(T);
    if (rc) {
        free(out);
        if (rc == CHURN_EFAMILY)
            return raise_c(L, rc);
        return push_fail(L, rc);
    }
    push_numbers(L, out, n);
    free(out);
    return 1;
}

static int m_p_alive(lua_State *L) { return btyd_vector(L, 0); }
static int m_expected_purchases(lua_State *L) { return btyd_vector(L, 1); }

static const luaL_Reg model_methods[] = {
    {"family", m_family},
    {"params", m_params},
    {"loglik", m_loglik},
    {"converged", m_converged},
    {"save", m_save},
    {"to_json", m_to_json},
    {"score", m_score},
    {"p_alive", m_p_alive},
    {"expected_purchases", m_expected_purchases},
    {"close", m_close},
    {NULL, NULL},
};

static const luaL_Reg model_meta[] = {
    {"__gc", m_close},
    {"__close", m_close},
    {"__tostring", m_tostring},
    {"__index", NULL}, /* set below */
    {NULL, NULL},
};

static const luaL_Reg funcs[] = {
    {"load", l_load},
    {"from_json", l_from_json},
    {"fit_btyd", l_fit_btyd},
    {NULL, NULL},
};

int luaopen_churn(lua_State *L);

int luaopen_churn(lua_State *L)
{
    luaL_newmetatable(L, MODEL_MT);
    luaL_setfuncs(L, model_meta, 0);
    luaL_newlibtable(L, model_methods);
    luaL_setfuncs(L, model_methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    luaL_newlib(L, funcs);
    lua_pushstring(L, churn_version_string());
    lua_setfield(L, -2, "version");
    return 1;
}
