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

/* churn.state_from_bytes(bytes) -> state | nil, msg, code: the portable encoding of
 * st:to_bytes() (churn_customer_state_decode), or, for compatibility, the raw struct bytes
 * that st:to_bytes() returned before 1.2 (same library version and platform only). */
int lchurn__state_from_bytes(lua_State *L)
{
    size_t len;
    const char *b = luaL_checklstring(L, 1, &len);
    churn_customer_state s;
    if (len == sizeof s && memcmp(b, "CHST", 4) != 0) { /* the raw bytes of 1.0 / 1.1 */
        memcpy(&s, b, sizeof s);
        if (s.struct_size != sizeof s || !(s.time_unit > 0)) {
            lua_pushnil(L);
            lua_pushliteral(L, "state_from_bytes: not a churn customer state");
            lua_pushinteger(L, CHURN_EFORMAT);
            return 3;
        }
    } else {
        int rc = churn_customer_state_decode(&s, (const unsigned char *)b, len);
        if (rc)
            return lchurn__push_fail(L, rc);
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

/* Is the value at idx a customer-table column name? */
static int is_column(lua_State *L, int idx)
{
    return lua_type(L, idx) == LUA_TSTRING &&
           churn_customer_state_column_index(lua_tostring(L, idx)) != -2;
}

/* st:value(cutoff, column) -> number | nil, msg, code: C's argument order. The order of
 * 1.0 and 1.1, st:value(column, cutoff), keeps working: a customer-table column is
 * recognised by its name (no date text is a column name), so the argument that names a
 * column is the column whatever its position. When neither does (an unknown column), a
 * number, or a string that parses as a date, is the cutoff. */
static int s_value(lua_State *L)
{
    lstate *u = check_state(L, 1);
    int ci = 3, ti = 2; /* C's order */
    if (is_column(L, 2)) {
        ci = 2, ti = 3;
    } else if (!is_column(L, 3) && lua_type(L, 2) == LUA_TSTRING) {
        double t;
        const char *a = lua_tostring(L, 2);
        if (lua_type(L, 3) == LUA_TNUMBER ||
            churn_parse_date(a, strlen(a), CHURN_DATE_AUTO, &t) != CHURN_OK)
            ci = 2, ti = 3; /* old order with an unknown column: C names it */
    }
    const char *col = luaL_checkstring(L, ci);
    double cutoff, v;
    int rc = lchurn__value_time(L, ti, &cutoff, "value: cutoff");
    if (rc == CHURN_OK)
        rc = churn_customer_state_value(&u->s, cutoff, col, &v);
    if (rc)
        return lchurn__push_fail(L, rc);
    lua_pushnumber(L, v);
    return 1;
}

/* st:features(cutoff) -> { frequency = .., recency = .., T = .., ... } | nil, msg, code
 * (every column in one call: churn_customer_state_values) */
static int s_features(lua_State *L)
{
    lstate *u = check_state(L, 1);
    double cutoff, v[64];
    size_t n = churn_customer_state_num_columns();
    n = n < 64 ? n : 64;
    int rc = lchurn__value_time(L, 2, &cutoff, "features: cutoff");
    if (rc == CHURN_OK)
        rc = churn_customer_state_values(&u->s, cutoff, v, n);
    if (rc)
        return lchurn__push_fail(L, rc);
    lua_createtable(L, 0, (int)n + 1);
    lua_pushnumber(L, u->s.time_unit); /* checked by model:score */
    lua_setfield(L, -2, "time_unit");
    for (size_t j = 0; j < n; j++) {
        lua_pushnumber(L, v[j]);
        lua_setfield(L, -2, churn_customer_state_column_name(j));
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
    double cutoff, v[3];
    int have_h = !lua_isnoneornil(L, 4);
    double h = have_h ? luaL_checknumber(L, 4) : 0.0;
    static const char *const cols[3] = {"frequency", "recency", "T"};
    int rc = churn_customer_state_check_model(&u->s, m);
    if (rc == CHURN_OK)
        rc = lchurn__value_time(L, 3, &cutoff, "score: cutoff");
    for (int j = 0; rc == CHURN_OK && j < 3; j++)
        rc = churn_customer_state_value(&u->s, cutoff, cols[j], &v[j]);
    if (rc)
        return lchurn__predict_fail(L, rc);
    return lchurn__btyd_push_score(L, m, v[0], v[1], v[2], have_h, h);
}

/* st:to_bytes() -> string: the portable encoding (churn_customer_state_encode), to store
 * next to the customer record; every later release reads it back */
static int s_to_bytes(lua_State *L)
{
    lstate *u = check_state(L, 1);
    unsigned char buf[512];
    size_t need = 0;
    int rc = churn_customer_state_encode(&u->s, buf, sizeof buf, &need);
    if (rc)
        return lchurn__push_fail(L, rc);
    lua_pushlstring(L, (const char *)buf, need);
    return 1;
}

/* The state of a state userdata, for the alert rules (lchurn_alerts.c). */
const churn_customer_state *lchurn__state_ptr(lua_State *L, int idx)
{
    return &check_state(L, idx)->s;
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
