/*
 * Lua 5.4 binding: the BTYD families (BG/NBD, MBG/NBD, Pareto/NBD, BG/BB)
 * and sBG.
 *
 * Owns: fitting them from Lua data (churn.fit, churn.fit_btyd), building
 * them from parameters (churn.model), scoring one customer or many, and the
 * array forms model:p_alive, model:expected_purchases, model:retention,
 * model:derl.
 * Calls: lchurn_model.c (handle, fit results, customer fields),
 * lchurn_data.c, lchurn_options.c, lchurn_util.c, libchurn.
 */
#include "lchurn.h"

#include <math.h>
#include <string.h>

/* Customer fields of the BTYD families, with lifetimes-style aliases. */
static const char *const btyd_names[3] = {"frequency", "recency", "T"};
static const char *const btyd_alts[3] = {"x", "t_x", NULL};

/* ==== fitting ============================================================ */

/* The options of churn.fit for BTYD families (and of churn.fit_btyd). */
static const char *const fit_common_keys[] = {"weights", "max_iter", "tol", "std_errors",
                                              "l2",      "unit",     NULL};

/* The options every BTYD and sBG fit reads (after opts.unit). */
static void btyd_options(lua_State *L, int opts, const char *what, churn_btyd_options *o)
{
    o->max_iter = lchurn__opt_int(L, opts, "max_iter", 0, what);
    o->tol = lchurn__opt_number(L, opts, "tol", 0.0, what);
    o->l2_penalty = lchurn__opt_number(L, opts, "l2", 0.0, what);
    o->no_std_errors = !lchurn__opt_bool(L, opts, "std_errors", 1, what);
}

int lchurn__fit_btyd_data(lua_State *L, int fam, int data_idx, int opts)
{
    static const char what[] = "fit";
    lchurn__check_options(L, opts, what, fit_common_keys);
    double unit = lchurn__opt_unit(L, opts, "unit", 0.0, what);
    churn_btyd_options o = CHURN_BTYD_OPTIONS_INIT;
    btyd_options(L, opts, what, &o);
    lchurn_dataset d;
    lchurn__data_open(L, data_idx, &d);
    double du = lchurn__data_unit(L, &d);
    if (du > 0 && unit > 0 && fabs(du - unit) > 1e-9 * du)
        return luaL_error(L, "fit: option unit (%f days) differs from the data's time_unit "
                          "(%f days)", (lua_Number)unit, (lua_Number)du);
    if (du > 0)
        unit = du; /* rows of a customer table or a state's features declare their unit */
    size_t n;
    double *cols = lchurn__data_columns(L, &d, 3, 0, btyd_names, btyd_alts, &n);
    double *w = lchurn__data_vector_opt(L, &d, opts, "weights", NULL);
    lhandle *u = lchurn__new_model(L);
    int rc = churn_btyd_fit(&u->model, fam, n, cols, cols + n, cols + 2 * n, w, &o);
    return lchurn__fit_result(L, u, rc, unit);
}

/* sBG from data.periods and data.churned (0/1 or booleans) per customer. */
static int fit_sbg_customers(lua_State *L, int data_idx, int opts, const char *what,
                             const churn_btyd_options *o, double unit)
{
    lchurn_dataset d;
    lchurn__data_open(L, data_idx, &d);
    const char *pname = lchurn__opt_string(L, opts, "periods", "periods", what);
    const char *cname = lchurn__opt_string(L, opts, "churned", "churned", what);
    size_t n = lchurn__data_size(L, &d, pname, NULL);
    double *per = lchurn__tmp_doubles(L, n), *ch = lchurn__tmp_doubles(L, n);
    lchurn__data_read(L, &d, 1, &pname, NULL, per, 1);
    lchurn__data_read(L, &d, 1, &cname, NULL, ch, 1);
    int *churned = (int *)lua_newuserdatauv(L, (n ? n : 1) * sizeof(int), 0);
    for (size_t i = 0; i < n; i++) {
        if (ch[i] != 0 && ch[i] != 1)
            luaL_error(L, "data[%I].%s is %f, expected 0/1 or a boolean", (lua_Integer)(i + 1),
                       cname, (lua_Number)(ch[i]));
        churned[i] = ch[i] != 0;
    }
    double *w = lchurn__data_vector_opt(L, &d, opts, "weights", NULL);
    lhandle *u = lchurn__new_model(L);
    int rc = churn_sbg_fit(&u->model, n, per, churned, w, o);
    return lchurn__fit_result(L, u, rc, unit);
}

/* sBG from data.survivors (the cohort's survivor counts) or per customer. */
int lchurn__fit_sbg_data(lua_State *L, int data_idx, int opts)
{
    static const char what[] = "fit sbg";
    static const char *const keys[] = {"weights", "max_iter", "tol",     "std_errors", "l2",
                                       "unit",    "periods",  "churned", NULL};
    lchurn__check_options(L, opts, what, keys);
    double unit = lchurn__opt_unit(L, opts, "unit", 0.0, what);
    churn_btyd_options o = CHURN_BTYD_OPTIONS_INIT;
    btyd_options(L, opts, what, &o);
    data_idx = lua_absindex(L, data_idx);
    luaL_checktype(L, data_idx, LUA_TTABLE);
    if (lua_getfield(L, data_idx, "survivors") == LUA_TTABLE) {
        size_t n;
        double *s = lchurn__check_numbers(L, -1, "survivors", &n);
        lhandle *u = lchurn__new_model(L);
        int rc = churn_sbg_fit_survivors(&u->model, n, s, &o);
        return lchurn__fit_result(L, u, rc, unit);
    }
    lua_pop(L, 1);
    return fit_sbg_customers(L, data_idx, opts, what, &o, unit);
}

/* churn.fit_btyd(family, frequency, recency, T [, weights [, opts]])
 * churn.fit_btyd(family, data [, opts])
 *   -> model | nil, msg, code [, model] */
int lchurn__fit_btyd(lua_State *L)
{
    int fam = lchurn__family_arg(L, 1);
    if (fam == CHURN_FAMILY_SBG)
        return luaL_error(L, "fit_btyd: fit sBG models with churn.fit(\"sbg\", data)");
    if (!lchurn__is_btyd(fam))
        return luaL_error(L, "fit_btyd: '%s' is not a BTYD family", lua_tostring(L, 1));
    if (lua_type(L, 3) != LUA_TTABLE || lua_type(L, 4) != LUA_TTABLE) { /* data form */
        lua_settop(L, 3);
        return lchurn__fit_btyd_data(L, fam, 2, 3);
    }
    static const char what[] = "fit_btyd";
    int opts = 6;
    lua_settop(L, opts);
    lchurn__check_options(L, opts, what, fit_common_keys);
    double unit = lchurn__opt_unit(L, opts, "unit", 0.0, what);
    if (lchurn__opt_get(L, opts, "weights") != LUA_TNIL)
        luaL_error(L, "%s: pass weights as the 5th argument", what);
    lua_pop(L, 1);
    churn_btyd_options o = CHURN_BTYD_OPTIONS_INIT;
    btyd_options(L, opts, what, &o);
    size_t n, n2, n3, nw = 0;
    double *x = lchurn__check_numbers(L, 2, "frequency", &n);
    double *tx = lchurn__check_numbers(L, 3, "recency", &n2);
    double *T = lchurn__check_numbers(L, 4, "T", &n3);
    double *w = NULL;
    if (!lua_isnoneornil(L, 5))
        w = lchurn__check_numbers(L, 5, "weights", &nw);
    if (n2 != n || n3 != n || (w && nw != n))
        return luaL_error(L, "frequency, recency, T (and weights) must have the same length");
    lhandle *u = lchurn__new_model(L);
    int rc = churn_btyd_fit(&u->model, fam, n, x, tx, T, w, &o);
    return lchurn__fit_result(L, u, rc, unit);
}

/* ==== models from parameters ============================================= */

/* Parameter order of churn_btyd_model_new(), per family. */
static const char *const *param_order(int fam)
{
    static const char *const bg[] = {"r", "alpha", "a", "b", NULL};
    static const char *const pnbd[] = {"r", "alpha", "s", "beta", NULL};
    static const char *const bgbb[] = {"alpha", "beta", "gamma", "delta", NULL};
    static const char *const sbg[] = {"alpha", "beta", NULL};
    static const char *const ggomnbd[] = {"r", "alpha", "b", "s", "beta", NULL};
    static const char *const mbgcnbd[] = {"k", "r", "alpha", "a", "b", NULL};
    switch (fam) {
    case CHURN_FAMILY_MBGCNBD:
        return mbgcnbd;
    case CHURN_FAMILY_GGOMNBD:
        return ggomnbd;
    case CHURN_FAMILY_BGNBD:
    case CHURN_FAMILY_MBGNBD:
        return bg;
    case CHURN_FAMILY_PNBD:
        return pnbd;
    case CHURN_FAMILY_BGBB:
        return bgbb;
    case CHURN_FAMILY_SBG:
        return sbg;
    default:
        return NULL;
    }
}

/* churn.model(family, params [, opts]) -> model | nil, msg, code
 * params: {r = .., alpha = .., a = .., b = ..} or {r, alpha, a, b}. */
int lchurn__model(lua_State *L)
{
    int fam = lchurn__family_arg(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    static const char *const keys[] = {"unit", NULL};
    lua_settop(L, 3);
    lchurn__check_options(L, 3, "model", keys);
    double unit = lchurn__opt_unit(L, 3, "unit", 0.0, "model");
    const char *const *order = param_order(fam);
    if (!order)
        return luaL_error(L,
                          "model: '%s' models are fitted, not built from parameters (use "
                          "churn.fit or churn.load)",
                          lua_tostring(L, 1));
    double v[5];
    size_t k = 0;
    int positional = lua_geti(L, 2, 1) != LUA_TNIL;
    lua_pop(L, 1);
    for (; order[k]; k++) {
        if (positional)
            lua_geti(L, 2, (lua_Integer)k + 1);
        else
            lua_getfield(L, 2, order[k]);
        if (!lchurn__value_number(L, -1, &v[k]))
            luaL_error(L, "model: parameter '%s' is %s, expected a number", order[k],
                       lchurn__describe_value(L, -1));
        lua_pop(L, 1);
    }
    lhandle *u = lchurn__new_model(L);
    int rc = churn_btyd_model_new(&u->model, fam, k, v);
    return lchurn__fit_result(L, u, rc, unit); /* handed back as a fit's (never ENOCONV) */
}

/* ==== scoring ============================================================ */

/* A model fitted with covariates (include/churn/covariates.h): its covariate names, trans
 * then life, without the "trans."/"life." prefixes (pointing into the model), in a userdata
 * left on the stack; NULL (nothing pushed) for a plain model. */
static const char **cov_names(lua_State *L, churn_model *m, size_t *nt, size_t *nl)
{
    *nt = *nl = 0;
    if (churn_btyd_model_covariates(m, nt, nl) != CHURN_OK || *nt + *nl == 0)
        return NULL;
    size_t k = *nt + *nl, np = churn_model_num_params(m);
    if (np < k)
        return NULL;
    const char **names = (const char **)lua_newuserdatauv(L, k * sizeof *names, 0);
    for (size_t j = 0; j < k; j++) {
        const char *nm = churn_model_param_name(m, np - k + j);
        const char *dot = nm ? strchr(nm, '.') : NULL;
        names[j] = dot ? dot + 1 : (nm ? nm : "?");
    }
    return names;
}

/* Raise, naming the covariate and the process, when the table at idx lacks field `name`. */
static void need_cov_field(lua_State *L, churn_model *m, int idx, const char *what,
                           const char *where, const char *name, int life)
{
    if (lua_getfield(L, idx, name) == LUA_TNIL)
        luaL_error(L, "%s: this '%s' model has covariates: %s has no field '%s' (its %s "
                   "covariate; a model fitted with covariates scores each customer with "
                   "its own)", what, churn_family_name(churn_model_family(m)), where, name,
                   life ? "dropout (life)" : "purchase (trans)");
    lua_pop(L, 1);
}

/* The customer's scores under a covariate model; the covariates are fields of the
 * customer table at idx (by name). */
static int cov_score_one(lua_State *L, churn_model *m, int idx, double x, double tx, double T,
                         int have_h, double h)
{
    size_t nt, nl;
    const char **names = cov_names(L, m, &nt, &nl);
    double *z = lchurn__tmp_doubles(L, nt + nl);
    for (size_t j = 0; j < nt + nl; j++) {
        need_cov_field(L, m, idx, "score", "the customer table", names[j], j >= nt);
        z[j] = lchurn__field_number(L, idx, names[j], NULL);
    }
    churn_btyd_covariates cov;
    churn_btyd_covariates_init(&cov);
    cov.n_trans = nt;
    cov.trans = nt ? z : NULL;
    cov.trans_names = names;
    cov.n_life = nl;
    cov.life = nl ? z + nt : NULL;
    cov.life_names = names + nt;
    double pa, ex;
    int rc = churn_btyd_score_covariates(m, h, 1, &x, &tx, &T, &cov, &pa, &ex);
    if (rc)
        return lchurn__predict_fail(L, rc);
    lua_pushnumber(L, pa);
    if (have_h)
        lua_pushnumber(L, ex);
    else
        lua_pushnil(L);
    return 2;
}

/* model:score(customer [, horizon]) of BTYD models: p_alive, expected
 * purchases in (T, T + horizon]; without a horizon the second value is nil
 * (no horizon is not a horizon of 0). */
int lchurn__btyd_score(lua_State *L, churn_model *m)
{
    int have_h = !lua_isnoneornil(L, 3);
    double h = have_h ? luaL_checknumber(L, 3) : 0.0;
    double x = lchurn__field_number(L, 2, "frequency", "x");
    double tx = lchurn__field_number(L, 2, "recency", "t_x");
    double T = lchurn__field_number(L, 2, "T", NULL);
    size_t nt = 0, nl = 0;
    churn_btyd_model_covariates(m, &nt, &nl);
    if (nt + nl)
        return cov_score_one(L, m, 2, x, tx, T, have_h, h);
    return lchurn__btyd_push_score(L, m, x, tx, T, have_h, h);
}

int lchurn__btyd_push_score(lua_State *L, churn_model *m, double x, double tx, double T,
                            int have_h, double h)
{
    double pa, ex;
    int rc = churn_btyd_score(m, h, 1, &x, &tx, &T, &pa, &ex);
    if (!rc && churn_model_family(m) == CHURN_FAMILY_BGBB) /* alive at the next opportunity */
        rc = churn_bgbb_p_alive_at(m, 1, 1, &x, &tx, &T, &pa);
    if (rc)
        return lchurn__predict_fail(L, rc);
    lua_pushnumber(L, pa);
    if (have_h)
        lua_pushnumber(L, ex);
    else
        lua_pushnil(L);
    return 2;
}

/* sBG: a customer who has renewed n times and is active renews again with
 * probability S(n+1)/S(n) and is expected to renew sum_{k=1..h} S(n+k)/S(n)
 * times in the next h periods (Fader & Hardie 2007, eq. 1-2: S is the sBG
 * survivor function). model:score({periods = renewals so far} [, horizon]). */
int lchurn__sbg_score(lua_State *L, churn_model *m)
{
    /* the horizon argument is checked before the customer's field */
    double h = luaL_optnumber(L, 3, 1.0);
    double periods = lchurn__field_number(L, 2, "periods", NULL);
    if (!(periods >= 0 && periods == floor(periods) && periods <= 1e7))
        return luaL_error(L, "score: periods %f must be a whole number >= 0",
                          (lua_Number)(periods));
    if (!(h >= 1 && h == floor(h) && h <= 1e7))
        return luaL_error(L, "score: horizon %f must be a whole number of periods >= 1",
                          (lua_Number)(h));
    size_t n = (size_t)periods, len = n + (size_t)h;
    double *S = lchurn__tmp_doubles(L, len + 1);
    S[0] = 1;
    int rc = churn_sbg_curve(m, len, NULL, S + 1);
    if (rc)
        return lchurn__predict_fail(L, rc);
    double e = 0;
    for (size_t k = 1; k <= (size_t)h; k++)
        e += S[n + k] / S[n];
    lua_pushnumber(L, S[n + 1] / S[n]);
    lua_pushnumber(L, e);
    return 2;
}

/* model:score_many(data [, horizon]) of BTYD models: p_alive[], expected[]. */
int lchurn__btyd_score_many(lua_State *L, churn_model *m, lchurn_dataset *d)
{
    if (lua_isnoneornil(L, 3))
        return luaL_error(L, "score_many: the horizon (argument 2) is required for a '%s' "
                          "model (expected purchases in the next horizon time units)",
                          churn_family_name(churn_model_family(m)));
    double h = luaL_checknumber(L, 3);
    size_t n;
    double *c = lchurn__data_columns(L, d, 3, 2, btyd_names, btyd_alts, &n);
    size_t nt, nl;
    const char **names = cov_names(L, m, &nt, &nl);
    int rc;
    if (names) {
        /* a covariate model: its covariates are fields (columns) of the data, by name */
        if (n > 0 && d->rows) {
            lua_geti(L, d->idx, 1);
            int top = lua_gettop(L);
            for (size_t j = 0; j < nt + nl; j++)
                need_cov_field(L, m, top, "score_many", "data[1]", names[j], j >= nt);
            lua_pop(L, 1);
        } else if (!d->rows) {
            for (size_t j = 0; j < nt + nl; j++)
                need_cov_field(L, m, d->idx, "score_many", "data", names[j], j >= nt);
        }
        double *z = lchurn__tmp_doubles(L, lchurn__mul_size(L, n ? n : 1, nt + nl));
        lchurn__data_read(L, d, nt + nl, names, NULL, z, 0);
        churn_btyd_covariates cov;
        churn_btyd_covariates_init(&cov);
        cov.n_trans = nt;
        cov.trans = nt ? z : NULL;
        cov.trans_names = names;
        cov.n_life = nl;
        cov.life = nl ? z + nt * n : NULL;
        cov.life_names = names + nt;
        rc = churn_btyd_score_covariates(m, h, n, c, c + n, c + 2 * n, &cov, c + 3 * n,
                                         c + 4 * n);
    } else {
        rc = churn_btyd_score(m, h, n, c, c + n, c + 2 * n, c + 3 * n, c + 4 * n);
    }
    if (!rc && churn_model_family(m) == CHURN_FAMILY_BGBB)
        rc = churn_bgbb_p_alive_at(m, 1, n, c, c + n, c + 2 * n, c + 3 * n);
    if (rc)
        return lchurn__predict_fail(L, rc);
    lchurn__push_numbers(L, c + 3 * n, n);
    lchurn__push_numbers(L, c + 4 * n, n);
    return 2;
}

/* ==== array forms ======================================================== */

/* model:p_alive(frequency[], recency[], T[]) -> { p_alive... } | nil, msg, code
 * (BG/BB: alive at the next opportunity, the published tables' P(alive))
 * model:p_alive_through(...) (BG/BB only: alive through the last opportunity)
 * model:expected_purchases(t, frequency[], recency[], T[]) -> { ... } */
enum { VEC_P_ALIVE, VEC_EXPECTED, VEC_ALIVE_THROUGH };
static int btyd_vector(lua_State *L, churn_model *m, int what)
{
    int expected = what == VEC_EXPECTED;
    if (what == VEC_ALIVE_THROUGH && churn_model_family(m) != CHURN_FAMILY_BGBB)
        return luaL_error(L, "p_alive_through: a bgbb model's method, not %s's",
                          churn_family_name(churn_model_family(m)));
    lua_settop(L, expected ? 5 : 4);
    int base = expected ? 3 : 2;
    double h = expected ? luaL_checknumber(L, 2) : 0.0;
    size_t n, n2, n3;
    double *x = lchurn__check_numbers(L, base, "frequency", &n);
    double *tx = lchurn__check_numbers(L, base + 1, "recency", &n2);
    double *T = lchurn__check_numbers(L, base + 2, "T", &n3);
    if (n2 != n || n3 != n)
        return luaL_error(L, "frequency, recency and T must have the same length");
    double *out = lchurn__tmp_doubles(L, n);
    int rc = expected ? churn_btyd_expected_purchases(m, h, n, x, tx, T, out)
             : what == VEC_ALIVE_THROUGH || churn_model_family(m) != CHURN_FAMILY_BGBB
                 ? churn_btyd_p_alive(m, n, x, tx, T, out)
                 : churn_bgbb_p_alive_at(m, 1, n, x, tx, T, out);
    if (rc)
        return lchurn__predict_fail(L, rc);
    lchurn__push_numbers(L, out, n);
    return 1;
}

MODEL_METHOD(m_p_alive) { return btyd_vector(L, m, VEC_P_ALIVE); }
MODEL_METHOD(m_p_alive_through) { return btyd_vector(L, m, VEC_ALIVE_THROUGH); }

/* model:convert_time_unit(unit) -> a new model in `unit` ("day", "week", ... or days)
 * | nil, msg, code: the explicit conversion of churn_btyd_convert_time_unit(). */
MODEL_METHOD(m_convert_time_unit)
{
    lua_settop(L, 2);
    lua_createtable(L, 0, 1);
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "unit");
    double unit = lchurn__opt_unit(L, 3, "unit", 0.0, "convert_time_unit");
    if (!(unit > 0))
        return luaL_error(L, "convert_time_unit: the new unit (\"day\", \"week\", ... or days) "
                          "is required");
    size_t need = 0;
    churn_model_save_buffer(m, NULL, 0, &need);
    char *buf = (char *)lua_newuserdatauv(L, need ? need : 1, 0);
    int rc = churn_model_save_buffer(m, buf, need, &need);
    lhandle *u = lchurn__new_model(L);
    if (rc == CHURN_OK)
        rc = churn_model_load_buffer(&u->model, buf, need ? need - 1 : 0);
    if (rc == CHURN_OK)
        rc = churn_btyd_convert_time_unit(u->model, unit);
    if (rc == CHURN_OK)
        return 1;
    churn_model_free(u->model);
    u->model = NULL;
    return lchurn__predict_fail(L, rc);
}
MODEL_METHOD(m_expected_purchases) { return btyd_vector(L, m, VEC_EXPECTED); }

/* model:retention(n) -> retention[1..n], survival[1..n] (sBG) */
MODEL_METHOD(m_retention)
{
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_argcheck(L, n >= 1 && n <= 10000000, 2, "must be between 1 and 1e7");
    double *out = lchurn__tmp_doubles(L, 2 * (size_t)n);
    int rc = churn_sbg_curve(m, (size_t)n, out, out + n);
    if (rc)
        return lchurn__predict_fail(L, rc);
    lchurn__push_numbers(L, out, (size_t)n);
    lchurn__push_numbers(L, out + n, (size_t)n);
    return 2;
}

/* model:derl(discount, periods[]) -> { ... } (sBG discounted expected residual lifetime) */
MODEL_METHOD(m_derl)
{
    lua_settop(L, 3);
    double disc = luaL_checknumber(L, 2);
    size_t n;
    double *per = lchurn__check_numbers(L, 3, "periods", &n);
    double *out = lchurn__tmp_doubles(L, n);
    int rc = churn_sbg_derl(m, disc, n, per, out);
    if (rc)
        return lchurn__predict_fail(L, rc);
    lchurn__push_numbers(L, out, n);
    return 1;
}

const luaL_Reg lchurn__btyd_methods[] = {
    {"p_alive", m_p_alive},
    {"p_alive_through", m_p_alive_through},
    {"expected_purchases", m_expected_purchases},
    {"convert_time_unit", m_convert_time_unit},
    {"retention", m_retention},
    {"derl", m_derl},
    {NULL, NULL},
};
