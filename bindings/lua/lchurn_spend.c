/*
 * Lua 5.4 binding: spend per purchase (Gamma-Gamma) and customer lifetime
 * value.
 *
 * Owns: fitting Gamma-Gamma from Lua data, scoring one customer or many,
 * model:expected_spend, model:mean_spend, and churn.clv (a BTYD model with
 * an optional spend model).
 * Calls: lchurn_model.c (handle, fit results, customer fields),
 * lchurn_data.c, lchurn_options.c, lchurn_util.c, libchurn.
 */
#include "lchurn.h"

static const char *const spend_names[2] = {"frequency", "monetary_value"};
static const char *const spend_alts[2] = {"x", "zbar"};

int lchurn__fit_gammagamma_data(lua_State *L, int data_idx, int opts)
{
    static const char what[] = "fit gammagamma";
    static const char *const keys[] = {"weights", "max_iter", "tol", "std_errors", "unit", NULL};
    lchurn__check_options(L, opts, what, keys);
    double unit = lchurn__opt_unit(L, opts, "unit", 0.0, what);
    churn_gammagamma_options o = CHURN_GAMMAGAMMA_OPTIONS_INIT;
    o.max_iter = lchurn__opt_int(L, opts, "max_iter", 0, what);
    o.tol = lchurn__opt_number(L, opts, "tol", 0.0, what);
    o.no_std_errors = !lchurn__opt_bool(L, opts, "std_errors", 1, what);
    lchurn_dataset d;
    lchurn__data_open(L, data_idx, &d);
    size_t n;
    double *cols = lchurn__data_columns(L, &d, 2, 0, spend_names, spend_alts, &n);
    double *w = lchurn__data_vector_opt(L, &d, opts, "weights", NULL);
    lhandle *u = lchurn__new_model(L);
    int rc = churn_gammagamma_fit(&u->model, n, cols, cols + n, w, &o);
    return lchurn__fit_result(L, u, rc, unit);
}

/* model:score(customer) of Gamma-Gamma models: expected spend per purchase
 * ({frequency, monetary_value}). */
int lchurn__spend_score(lua_State *L, churn_model *m)
{
    double x = lchurn__field_number(L, 2, "frequency", "x");
    double z = lchurn__field_number(L, 2, "monetary_value", "zbar");
    double s;
    int rc = churn_gammagamma_expected_spend(m, 1, &x, &z, &s);
    if (rc)
        return lchurn__predict_fail(L, rc);
    lua_pushnumber(L, s);
    return 1;
}

/* model:score_many(data) of Gamma-Gamma models: expected spend[]. */
int lchurn__spend_score_many(lua_State *L, churn_model *m, lchurn_dataset *d)
{
    size_t n;
    double *c = lchurn__data_columns(L, d, 2, 1, spend_names, spend_alts, &n);
    int rc = churn_gammagamma_expected_spend(m, n, c, c + n, c + 2 * n);
    if (rc)
        return lchurn__predict_fail(L, rc);
    lchurn__push_numbers(L, c + 2 * n, n);
    return 1;
}

/* model:expected_spend(frequency[], monetary_value[]) -> { ... } | nil, msg, code */
MODEL_METHOD(m_expected_spend)
{
    lua_settop(L, 3);
    size_t n, n2;
    double *x = lchurn__check_numbers(L, 2, "frequency", &n);
    double *z = lchurn__check_numbers(L, 3, "monetary_value", &n2);
    if (n2 != n)
        return luaL_error(L, "frequency and monetary_value must have the same length");
    double *out = lchurn__tmp_doubles(L, n);
    int rc = churn_gammagamma_expected_spend(m, n, x, z, out);
    if (rc)
        return lchurn__predict_fail(L, rc);
    lchurn__push_numbers(L, out, n);
    return 1;
}

/* model:mean_spend() -> population mean spend per purchase | nil, msg, code */
MODEL_METHOD(m_mean_spend)
{
    double v;
    int rc = churn_gammagamma_mean_spend(m, &v);
    if (rc)
        return lchurn__predict_fail(L, rc);
    lua_pushnumber(L, v);
    return 1;
}

/* ==== customer lifetime value ============================================ */

static const char *const clv_names[4] = {"frequency", "recency", "T", "monetary_value"};
static const char *const clv_alts[4] = {"x", "t_x", NULL, "zbar"};

/* The models (spend may be nil), the data table and opts of churn.clv. */
static void clv_options(lua_State *L, churn_clv_options *o)
{
    static const char what[] = "clv";
    static const char *const keys[] = {"horizon", "period", "discount", "margin", NULL};
    lchurn__check_model(L, 1);
    if (!lua_isnil(L, 2))
        lchurn__check_model(L, 2);
    luaL_checktype(L, 3, LUA_TTABLE);
    lchurn__check_options(L, 4, what, keys);
    o->horizon = lchurn__opt_int(L, 4, "horizon", o->horizon, what);
    o->period = lchurn__opt_number(L, 4, "period", o->period, what);
    o->discount = lchurn__opt_number(L, 4, "discount", o->discount, what);
    o->margin = lchurn__opt_number(L, 4, "margin", o->margin, what);
}

/* Is the data one customer (rather than an array of them or columns)? */
static int clv_single(lua_State *L)
{
    int tf = lua_getfield(L, 3, "frequency"), tx = lua_getfield(L, 3, "x");
    int t1 = lua_geti(L, 3, 1);
    lua_settop(L, 4);
    return tf != LUA_TTABLE && tx != LUA_TTABLE && t1 == LUA_TNIL;
}

/* The four inputs of n customers, column after column (a pushed buffer). */
static double *clv_inputs(lua_State *L, int single, size_t *n)
{
    if (single) {
        *n = 1;
        double *in = lchurn__tmp_doubles(L, 4);
        for (int j = 0; j < 4; j++)
            in[j] = lchurn__field_number(L, 3, clv_names[j], clv_alts[j]);
        return in;
    }
    lchurn_dataset d;
    lchurn__data_open(L, 3, &d);
    return lchurn__data_columns(L, &d, 4, 0, clv_names, clv_alts, n);
}

/* { p_alive = .., ... }: numbers for one customer, arrays otherwise. */
static void push_clv(lua_State *L, const double *out, size_t n, int single)
{
    static const char *const outs[5] = {"p_alive", "expected_purchases", "expected_spend", "clv",
                                        "value_at_risk"};
    lua_createtable(L, 0, 5);
    for (int k = 0; k < 5; k++) {
        if (single)
            lua_pushnumber(L, out[k]);
        else
            lchurn__push_numbers(L, out + (size_t)k * n, n);
        lua_setfield(L, -2, outs[k]);
    }
}

/* churn.clv(btyd, spend_or_nil, data [, opts]) -> table | nil, msg, code
 * data: one customer (fields frequency, recency, T, monetary_value), an array
 * of customers or a table of columns. The result has the fields p_alive,
 * expected_purchases, expected_spend, clv, value_at_risk: numbers for one
 * customer, arrays otherwise. opts: horizon, period, discount, margin. */
int lchurn__clv(lua_State *L)
{
    lua_settop(L, 4);
    churn_clv_options o = CHURN_CLV_OPTIONS_INIT;
    clv_options(L, &o);
    int single = clv_single(L);
    size_t n;
    double *in = clv_inputs(L, single, &n);
    double *out = lchurn__tmp_doubles(L, lchurn__mul_size(L, n, 5));
    /* the models again: Lua code run by the reads above may have closed them */
    churn_model *btyd = lchurn__check_model(L, 1);
    churn_model *spend = lua_isnil(L, 2) ? NULL : lchurn__check_model(L, 2);
    int rc = churn_clv_score(btyd, spend, &o, n, in, in + n, in + 2 * n, in + 3 * n, out, out + n,
                             out + 2 * n, out + 3 * n, out + 4 * n);
    if (rc)
        return lchurn__predict_fail(L, rc);
    push_clv(L, out, n, single);
    return 1;
}

const luaL_Reg lchurn__spend_methods[] = {
    {"expected_spend", m_expected_spend},
    {"mean_spend", m_mean_spend},
    {NULL, NULL},
};
