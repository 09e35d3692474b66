/*
 * Lua 5.4 binding: alert rules (churn.alerts, a:*), mirroring spend.h's
 * churn_alerts_*: rules as text or as (name, field, op, threshold), the three
 * default rules, evaluation on one row table (a churn.features row, a state's
 * st:features, with the customer's scores added) or on a customer state on
 * the per-order path (churn_alerts_evaluate_state), and the names of the
 * rules that fired.
 *
 * Owns: the alert-set userdata. Calls: lchurn_state.c (lchurn__state_ptr),
 * lchurn_util.c, libchurn.
 */
#include "lchurn.h"

#include <string.h>

typedef struct lalerts {
    churn_alerts *a; /* NULL once closed */
} lalerts;

static churn_alerts *check_alerts(lua_State *L, int idx)
{
    lalerts *u = (lalerts *)luaL_checkudata(L, idx, ALERTS_MT);
    if (!u->a)
        luaL_error(L, "attempt to use a closed churn alert set");
    return u->a;
}

static int op_code(lua_State *L, int idx)
{
    static const char *const ops[] = {"<", "<=", ">", ">=", "==", "~=", "!=", NULL};
    static const int codes[] = {CHURN_ALERT_LT, CHURN_ALERT_LE, CHURN_ALERT_GT, CHURN_ALERT_GE,
                                CHURN_ALERT_EQ, CHURN_ALERT_NE, CHURN_ALERT_NE};
    return codes[luaL_checkoption(L, idx, NULL, ops)];
}

static const char *op_text(int op)
{
    switch (op) {
    case CHURN_ALERT_LT: return "<";
    case CHURN_ALERT_LE: return "<=";
    case CHURN_ALERT_GT: return ">";
    case CHURN_ALERT_GE: return ">=";
    case CHURN_ALERT_EQ: return "==";
    default: return "!=";
    }
}

/* churn.alerts([{rule_text, ..., defaults = true}]) -> alert set | nil, msg, code
 * (defaults = true adds p_alive_low, overdue and spend_down first) */
int lchurn__alerts(lua_State *L)
{
    lua_settop(L, 1);
    if (!lua_isnoneornil(L, 1))
        luaL_checktype(L, 1, LUA_TTABLE);
    lalerts *u = (lalerts *)lua_newuserdatauv(L, sizeof *u, 0);
    u->a = NULL;
    luaL_setmetatable(L, ALERTS_MT);
    int rc = churn_alerts_new(&u->a);
    if (rc)
        return lchurn__push_fail(L, rc);
    if (lua_istable(L, 1)) {
        lua_getfield(L, 1, "defaults");
        int defaults = lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (defaults && (rc = churn_alerts_add_defaults(u->a)))
            return lchurn__push_fail(L, rc);
        lua_Integer n = luaL_len(L, 1);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_geti(L, 1, i);
            const char *text = lua_tostring(L, -1);
            if (!text)
                return luaL_error(L, "alerts: rule %d is not text", (int)i);
            rc = churn_alerts_add_text(u->a, text);
            lua_pop(L, 1);
            if (rc)
                return lchurn__push_fail(L, rc);
        }
    }
    return 1;
}

/* a:add("[name:] field op threshold") or a:add(name, field, op, threshold) -> a | nil, msg,
 * code (op one of < <= > >= == != ~=) */
static int a_add(lua_State *L)
{
    churn_alerts *a = check_alerts(L, 1);
    int rc;
    if (lua_isnoneornil(L, 3))
        rc = churn_alerts_add_text(a, luaL_checkstring(L, 2));
    else
        rc = churn_alerts_add(a, luaL_checkstring(L, 2), luaL_checkstring(L, 3), op_code(L, 4),
                              luaL_checknumber(L, 5));
    if (rc)
        return lchurn__push_fail(L, rc);
    lua_settop(L, 1);
    return 1;
}

/* a:add_defaults() -> a */
static int a_add_defaults(lua_State *L)
{
    int rc = churn_alerts_add_defaults(check_alerts(L, 1));
    if (rc)
        return lchurn__push_fail(L, rc);
    lua_settop(L, 1);
    return 1;
}

/* a:rules() -> { {name =, field =, op =, threshold =}, ... } */
static int a_rules(lua_State *L)
{
    churn_alerts *a = check_alerts(L, 1);
    size_t n = churn_alerts_num_rules(a);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        const char *name, *field;
        int op;
        double th;
        churn_alerts_rule(a, i, &name, &field, &op, &th);
        lua_createtable(L, 0, 4);
        lua_pushstring(L, name);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, field);
        lua_setfield(L, -2, "field");
        lua_pushstring(L, op_text(op));
        lua_setfield(L, -2, "op");
        lua_pushnumber(L, th);
        lua_setfield(L, -2, "threshold");
        lua_seti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

/* Push the names of the rules in `mask` (';'-joined). */
static int push_names(lua_State *L, churn_alerts *a, uint64_t mask)
{
    size_t need = 0;
    churn_alerts_describe(a, mask, NULL, 0, &need);
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, need);
    int rc = churn_alerts_describe(a, mask, p, need, NULL);
    if (rc)
        return lchurn__push_fail(L, rc);
    luaL_pushresultsize(&b, need - 1);
    return 1;
}

/* a:describe(mask) -> "p_alive_low;overdue" */
static int a_describe(lua_State *L)
{
    churn_alerts *a = check_alerts(L, 1);
    return push_names(L, a, (uint64_t)luaL_checkinteger(L, 2));
}

/* Read the numeric fields of the table at idx into names/values (at most cap). */
static size_t read_row(lua_State *L, int idx, const char **names, double *values, size_t cap)
{
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TNUMBER && n < cap) {
            names[n] = lua_tostring(L, -2); /* the key stays in the table: valid meanwhile */
            values[n++] = lua_tonumber(L, -1);
        }
        lua_pop(L, 1);
    }
    return n;
}

#define ROW_MAX 256

/* a:evaluate(row) -> fired_mask, names | nil, msg, code: the rules on one row table of
 * named numbers (e.g. a churn.features row or st:features(cutoff) with the customer's
 * scores added) */
static int a_evaluate(lua_State *L)
{
    churn_alerts *a = check_alerts(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    const char *names[ROW_MAX];
    double values[ROW_MAX];
    const double *cols[ROW_MAX];
    size_t n = read_row(L, 2, names, values, ROW_MAX);
    for (size_t i = 0; i < n; i++)
        cols[i] = &values[i];
    uint64_t fired = 0;
    int rc = churn_alerts_evaluate(a, 1, n, names, cols, &fired);
    if (rc)
        return lchurn__push_fail(L, rc);
    lua_pushinteger(L, (lua_Integer)fired);
    push_names(L, a, fired);
    return 2;
}

/* a:evaluate_state(st, cutoff [, scores]) -> fired, skipped, names | nil, msg, code:
 * the per-order path (churn_alerts_evaluate_state): fields from the scores table (e.g.
 * {p_alive = .., clv = ..}) and from the state as of cutoff; a rule on a column the state
 * cannot give (spend_trend of spend_down) is skipped and reported in `skipped` */
static int a_evaluate_state(lua_State *L)
{
    churn_alerts *a = check_alerts(L, 1);
    const churn_customer_state *st = lchurn__state_ptr(L, 2);
    double cutoff;
    int rc = lchurn__value_time(L, 3, &cutoff, "evaluate_state: cutoff");
    if (rc)
        return lchurn__push_fail(L, rc);
    const char *names[ROW_MAX];
    double values[ROW_MAX];
    size_t n = 0;
    if (!lua_isnoneornil(L, 4)) {
        luaL_checktype(L, 4, LUA_TTABLE);
        n = read_row(L, 4, names, values, ROW_MAX);
    }
    uint64_t fired = 0, skipped = 0;
    rc = churn_alerts_evaluate_state(a, st, cutoff, n, names, values, &fired, &skipped);
    if (rc)
        return lchurn__push_fail(L, rc);
    lua_pushinteger(L, (lua_Integer)fired);
    lua_pushinteger(L, (lua_Integer)skipped);
    push_names(L, a, fired);
    return 3;
}

/* a:needs_history() -> mask of the rules a state alone cannot evaluate */
static int a_needs_history(lua_State *L)
{
    uint64_t m = 0;
    int rc = churn_alerts_needs_history(check_alerts(L, 1), &m);
    if (rc)
        return lchurn__push_fail(L, rc);
    lua_pushinteger(L, (lua_Integer)m);
    return 1;
}

static int a_len(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)churn_alerts_num_rules(check_alerts(L, 1)));
    return 1;
}

static int a_close(lua_State *L)
{
    lalerts *u = (lalerts *)luaL_checkudata(L, 1, ALERTS_MT);
    churn_alerts_free(u->a);
    u->a = NULL;
    return 0;
}

static int a_tostring(lua_State *L)
{
    lalerts *u = (lalerts *)luaL_checkudata(L, 1, ALERTS_MT);
    if (!u->a)
        lua_pushliteral(L, "churn.alerts (closed)");
    else
        lua_pushfstring(L, "churn.alerts (%I rules)", (lua_Integer)churn_alerts_num_rules(u->a));
    return 1;
}

static const luaL_Reg alerts_methods[] = {
    {"add", a_add},           {"add_defaults", a_add_defaults},
    {"rules", a_rules},       {"describe", a_describe},
    {"evaluate", a_evaluate}, {"evaluate_state", a_evaluate_state},
    {"needs_history", a_needs_history}, {"close", a_close},
    {NULL, NULL},
};

static const luaL_Reg alerts_meta[] = {
    {"__gc", a_close},         {"__close", a_close}, {"__len", a_len},
    {"__tostring", a_tostring}, {"__index", NULL},   {NULL, NULL},
};

void lchurn__open_alerts(lua_State *L)
{
    lchurn__new_class(L, ALERTS_MT, alerts_meta, alerts_methods);
}
