/*
 * Lua 5.4 binding: the model handle (churn.load, churn.from_json, model:*
 * methods every family has).
 *
 * Owns: the model class, loading and saving, parameters and fit statistics,
 * what a fit hands back to Lua (fit_result), the family predicates, and
 * reading one customer's fields (the CRM hot path of model:score).
 * Calls: lchurn_util.c (errors, buffers, handles), libchurn.
 */
#include "lchurn.h"

#include <stdio.h>

static void free_model(void *m) { churn_model_free((churn_model *)m); }

const lclass lchurn__model_class = {MODEL_MT, "attempt to use a closed churn model", free_model};

lhandle *lchurn__new_model(lua_State *L)
{
    return lchurn__new_handle(L, &lchurn__model_class, sizeof(lhandle));
}

/* For accessors that run no Lua code while they use the model. */
churn_model *lchurn__check_model(lua_State *L, int idx)
{
    return lchurn__check_handle(L, idx, &lchurn__model_class)->model;
}

/* The handle u (on top of the stack) holds the result of a fit returning
 * rc: the model on success; nil, msg, code on failure, plus the model as a
 * 4th value when the fit did not converge (C returns it for inspection).
 * A new model records the time unit (days, from opts.unit parsed before the
 * fit; 0: none). */
int lchurn__fit_result(lua_State *L, lhandle *u, int rc, double unit)
{
    if (unit > 0 && u->model)
        churn_model_set_time_unit(u->model, unit);
    if (rc == CHURN_OK)
        return 1;
    if (rc == CHURN_ENOCONV && u->model) {
        lchurn__push_fail(L, rc);
        lua_pushvalue(L, -4); /* the model */
        return 4;
    }
    churn_model_free(u->model);
    u->model = NULL;
    return lchurn__push_fail(L, rc);
}

int lchurn__family_arg(lua_State *L, int idx)
{
    const char *name = luaL_checkstring(L, idx);
    int fam;
    if (churn_family_from_name(name, &fam) != CHURN_OK)
        luaL_argerror(L, idx, lua_pushfstring(L, "unknown model family '%s'", name));
    return fam;
}

int lchurn__is_btyd(int fam)
{
    return fam == CHURN_FAMILY_BGNBD || fam == CHURN_FAMILY_MBGNBD || fam == CHURN_FAMILY_PNBD ||
           fam == CHURN_FAMILY_BGBB || fam == CHURN_FAMILY_GGOMNBD ||
           fam == CHURN_FAMILY_MBGCNBD;
}

static int is_aft(int fam)
{
    return fam == CHURN_FAMILY_WEIBULL || fam == CHURN_FAMILY_EXPONENTIAL ||
           fam == CHURN_FAMILY_LOGLOGISTIC || fam == CHURN_FAMILY_LOGNORMAL;
}

int lchurn__is_survival(int fam) { return fam == CHURN_FAMILY_COX || is_aft(fam); }

/* churn.load(path) -> model | nil, msg, code */
int lchurn__load(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    lhandle *u = lchurn__new_model(L);
    int rc = churn_model_load(&u->model, path);
    if (rc)
        return lchurn__push_fail(L, rc);
    return 1;
}

/* churn.from_json(text) -> model | nil, msg, code */
int lchurn__from_json(lua_State *L)
{
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    lhandle *u = lchurn__new_model(L);
    int rc = churn_model_load_buffer(&u->model, text, len);
    if (rc)
        return lchurn__push_fail(L, rc);
    return 1;
}

/* ---- model methods: shared accessors ---- */

static int m_close(lua_State *L)
{
    lchurn__close_handle(luaL_checkudata(L, 1, MODEL_MT), &lchurn__model_class, 0);
    return 0;
}

static int m_gc(lua_State *L)
{
    lchurn__close_handle(luaL_checkudata(L, 1, MODEL_MT), &lchurn__model_class, 1);
    return 0;
}

static void describe_model(lua_State *L, churn_model *m);

static int m_tostring(lua_State *L)
{
    lhandle *u = (lhandle *)luaL_checkudata(L, 1, MODEL_MT);
    if (!u->model) {
        lua_pushliteral(L, "churn.model (closed)");
        return 1;
    }
    u->busy++;
    describe_model(L, u->model);
    u->busy--;
    return 1;
}

static void describe_model(lua_State *L, churn_model *m)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    lua_pushfstring(L, "churn.model %s (", churn_family_name(churn_model_family(m)));
    luaL_addvalue(&b);
    size_t k = churn_model_num_params(m);
    for (size_t i = 0; i < k && i < 8; i++) {
        double v;
        churn_model_param(m, churn_model_param_name(m, i), &v, NULL);
        char num[96];
        snprintf(num, sizeof num, "%s%.40s=%.6g", i ? ", " : "", churn_model_param_name(m, i), v);
        luaL_addstring(&b, num);
    }
    luaL_addstring(&b, k > 8 ? ", ...)" : ")");
    luaL_pushresult(&b);
}

static int m_family(lua_State *L)
{
    lua_pushstring(L, churn_family_name(churn_model_family(lchurn__check_model(L, 1))));
    return 1;
}

/* model:params() -> { name = value, ... }, { name = se, ... } */
MODEL_METHOD(m_params)
{
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

/* Push the k names name(m, 0..k) as an array. */
static void push_names(lua_State *L, churn_model *m, size_t k,
                       const char *(*name)(const churn_model *, size_t))
{
    lua_createtable(L, (int)k, 0);
    for (size_t i = 0; i < k; i++) {
        lua_pushstring(L, name(m, i));
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

/* model:param_names() -> { "r", "alpha", ... } in the model's order */
MODEL_METHOD(m_param_names)
{
    push_names(L, m, churn_model_num_params(m), churn_model_param_name);
    return 1;
}

/* model:feature_names() -> { ... } (regression families; {} otherwise) */
MODEL_METHOD(m_feature_names)
{
    push_names(L, m, churn_model_num_features(m), churn_model_feature_name);
    return 1;
}

/* model:covariance() -> k x k nested arrays | nil, msg, code */
MODEL_METHOD(m_covariance)
{
    size_t k = churn_model_num_params(m);
    double *c = lchurn__tmp_doubles(L, lchurn__mul_size(L, k, k));
    int rc = churn_model_covariance(m, c, k * k);
    if (rc)
        return lchurn__push_fail(L, rc);
    lua_createtable(L, (int)k, 0);
    for (size_t i = 0; i < k; i++) {
        lchurn__push_numbers(L, c + i * k, k);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static int m_loglik(lua_State *L)
{
    lua_pushnumber(L, churn_model_loglik(lchurn__check_model(L, 1)));
    return 1;
}

static int m_converged(lua_State *L)
{
    lua_pushboolean(L, churn_model_converged(lchurn__check_model(L, 1)));
    return 1;
}

static int m_nobs(lua_State *L)
{
    lua_pushnumber(L, churn_model_nobs(lchurn__check_model(L, 1)));
    return 1;
}

static int m_iterations(lua_State *L)
{
    lua_pushinteger(L, churn_model_iterations(lchurn__check_model(L, 1)));
    return 1;
}

/* model:time_unit() -> days per time unit (nil when unknown) */
static int m_time_unit(lua_State *L)
{
    double u = churn_model_time_unit(lchurn__check_model(L, 1));
    if (u > 0)
        lua_pushnumber(L, u);
    else
        lua_pushnil(L);
    return 1;
}

static int m_note(lua_State *L)
{
    lua_pushstring(L, churn_model_note(lchurn__check_model(L, 1)));
    return 1;
}

/* model:save(path) -> true | nil, msg, code */
MODEL_METHOD(m_save)
{
    int rc = churn_model_save(m, luaL_checkstring(L, 2));
    if (rc)
        return lchurn__push_fail(L, rc);
    lua_pushboolean(L, 1);
    return 1;
}

/* model:to_json() -> text */
MODEL_METHOD(m_to_json)
{
    size_t need = 0;
    int rc = churn_model_save_buffer(m, NULL, 0, &need);
    if (rc != CHURN_OK && rc != CHURN_ERANGE)
        return lchurn__raise(L, rc);
    luaL_Buffer b;
    char *buf = luaL_buffinitsize(L, &b, need ? need : 1);
    rc = churn_model_save_buffer(m, buf, need, NULL);
    if (rc)
        return lchurn__raise(L, rc);
    luaL_pushresultsize(&b, need ? need - 1 : 0);
    return 1;
}

/* ---- scoring one customer: the CRM hot path ---- */

/* Field of a customer table, with an alternative name. Raises when missing. */
double lchurn__field_number(lua_State *L, int idx, const char *name, const char *alt)
{
    int t = lua_getfield(L, idx, name);
    if (t != LUA_TNUMBER) {
        if (t == LUA_TNIL && alt) {
            lua_pop(L, 1);
            lua_getfield(L, idx, alt);
        }
        double v;
        if (!lchurn__value_number(L, -1, &v))
            luaL_error(L, "customer field '%s' is %s, expected a number", name,
                       lchurn__describe_value(L, -1));
        lua_pop(L, 1);
        return v;
    }
    double v = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return v;
}

/* Read the model's features by name from the customer table at idx into x. */
void lchurn__read_features(lua_State *L, churn_model *m, int idx, size_t p, double *x)
{
    for (size_t j = 0; j < p; j++)
        x[j] = lchurn__field_number(L, idx, churn_model_feature_name(m, j), NULL);
}

/* The model's features of the customer table at idx, in small (room for
 * LCHURN_SMALL_P values) when they fit, else in a temporary buffer (pushed). */
double *lchurn__customer_features(lua_State *L, churn_model *m, int idx, size_t p, double *small)
{
    double *x = p <= LCHURN_SMALL_P ? small : lchurn__tmp_doubles(L, p);
    lchurn__read_features(L, m, idx, p, x);
    return x;
}

const luaL_Reg lchurn__model_common[] = {
    {"family", m_family},
    {"params", m_params},
    {"param_names", m_param_names},
    {"feature_names", m_feature_names},
    {"covariance", m_covariance},
    {"loglik", m_loglik},
    {"converged", m_converged},
    {"nobs", m_nobs},
    {"iterations", m_iterations},
    {"time_unit", m_time_unit},
    {"note", m_note},
    {"save", m_save},
    {"to_json", m_to_json},
    {"close", m_close},
    {NULL, NULL},
};

const luaL_Reg lchurn__model_meta[] = {
    {"__gc", m_gc},    {"__close", m_close}, {"__tostring", m_tostring},
    {"__index", NULL}, /* set when lchurn_dispatch.c builds the class */
    {NULL, NULL},
};
