/*
 * Lua 5.4 binding: incremental per-customer state (churn.state, st:*).
 *
 * Owns: the state userdata, plain data (a churn_customer_state) that a host
 * keeps next to a customer record and updates one purchase at a time.
 * Calls: lchurn_options.c, lchurn_util.c, libchurn.
 */
#include "lchurn.h"

#include <math.h>
#include <string.h>

typedef struct lstate {
    int open; /* 0 once closed: the state is plain data, nothing to free */
    churn_customer_state s;
} lstate;

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
int lchurn__state(lua_State *L)
{
    static const char what[] = "state";
    static const char *const keys[] = {"unit", "same_day_once", "first_purchase_counts", NULL};
    lua_settop(L, 1);
    lchurn__check_options(L, 1, what, keys);
    churn_customer_options o;
    churn_customer_options_init(&o);
    o.time_unit = lchurn__opt_unit(L, 1, "unit", o.time_unit, what);
    o.same_day_once = lchurn__opt_bool(L, 1, "same_day_once", o.same_day_once, what);
    o.first_purchase_counts =
        lchurn__opt_bool(L, 1, "first_purchase_counts", o.first_purchase_counts, what);
    lstate *u = new_state_ud(L);
    int rc = churn_customer_state_init(&u->s, &o);
    if (rc)
        return lchurn__push_fail(L, rc);
    u->open = 1;
    return 1;
}

/* churn.state_from_bytes(bytes) -> state | nil, msg, code */
int lchurn__state_from_bytes(lua_State *L)
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

/* st:add(time [, amount]) -> true | nil, msg, code (times must not go back; a nil amount
 * is an order of unknown amount) */
static int s_add(lua_State *L)
{
    lstate *u = check_state(L, 1);
    double time, amount = luaL_optnumber(L, 3, NAN);
    int rc = lchurn__value_time(L, 2, &time, "add: time");
    if (rc == CHURN_OK)
        rc = churn_customer_state_add(&u->s, time, amount);
    if (rc)
        return lchurn__push_fail(L, rc);
    lua_pushboolean(L, 1);
    return 1;
}

/* st:value(column, cutoff) -> number | nil, msg, code */
static int s_value(lua_State *L)
{
    lstate *u = check_state(L, 1);
    const char *col = luaL_checkstring(L, 2);
    double cutoff, v;
    int rc = lchurn__value_time(L, 3, &cutoff, "value: cutoff");
    if (rc == CHURN_OK)
        rc = churn_customer_state_value(&u->s, cutoff, col, &v);
    if (rc)
        return lchurn__push_fail(L, rc);
    lua_pushnumber(L, v);
    return 1;
}

/* st:features(cutoff) -> { frequency = .., recency = .., T = .., ... } | nil, msg, code */
static int s_features(lua_State *L)
{
    lstate *u = check_state(L, 1);
    double cutoff;
    int rc = lchurn__value_time(L, 2, &cutoff, "features: cutoff");
    if (rc)
        return lchurn__push_fail(L, rc);
    lua_createtable(L, 0, 17);
    lua_pushnumber(L, u->s.time_unit); /* checked by model:score */
    lua_setfield(L, -2, "time_unit");
    for (int j = 0; state_columns[j]; j++) {
        double v;
        rc = churn_customer_state_value(&u->s, cutoff, state_columns[j], &v);
        if (rc)
            return lchurn__push_fail(L, rc);
        lua_pushnumber(L, v);
        lua_setfield(L, -2, state_columns[j]);
    }
    return 1;
}

/* st:score(model, cutoff [, horizon]) -> p_alive, expected purchases in the next
 * horizon time units (nil without a horizon) | nil, msg, code: the state's frequency,
 * recency and T as of cutoff, scored by a BTYD model after checking that the state's time
 * unit is the model's (churn_customer_state_check_model). */
static int s_score(lua_State *L)
{
    lstate *u = check_state(L, 1);
    churn_model *m = lchurn__check_model(L, 2);
    double cutoff, v[3], pa, ex;
    int have_h = !lua_isnoneornil(L, 4);
    double h = have_h ? luaL_checknumber(L, 4) : 0.0;
    static const char *const cols[3] = {"frequency", "recency", "T"};
    int rc = churn_customer_state_check_model(&u->s, m);
    if (rc == CHURN_OK)
        rc = lchurn__value_time(L, 3, &cutoff, "score: cutoff");
    for (int j = 0; rc == CHURN_OK && j < 3; j++)
        rc = churn_customer_state_value(&u->s, cutoff, cols[j], &v[j]);
    if (rc == CHURN_OK)
        rc = churn_btyd_score(m, h, 1, &v[0], &v[1], &v[2], &pa, &ex);
    if (rc)
        return lchurn__predict_fail(L, rc);
    lua_pushnumber(L, pa);
    if (have_h)
        lua_pushnumber(L, ex);
    else
        lua_pushnil(L);
    return 2;
}

/* st:to_bytes() -> string (store it next to the customer record) */
static int s_to_bytes(lua_State *L)
{
    lstate *u = check_state(L, 1);
    lua_pushlstring(L, (const char *)&u->s, sizeof u->s);
    return 1;
}

static const luaL_Reg state_methods[] = {
    {"add", s_add},           {"value", s_value}, {"features", s_features}, {"score", s_score},
    {"to_bytes", s_to_bytes}, {"close", s_close}, {NULL, NULL},
};

static const luaL_Reg state_meta[] = {
    {"__gc", s_close}, {"__close", s_close}, {"__tostring", s_tostring},
    {"__index", NULL}, {NULL, NULL},
};

void lchurn__open_state(lua_State *L) { lchurn__new_class(L, STATE_MT, state_meta, state_methods); }
