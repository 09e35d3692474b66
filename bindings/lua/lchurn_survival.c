/*
 * Lua 5.4 binding: survival models (Cox proportional hazards and the AFT
 * families: Weibull, exponential, log-logistic, log-normal).
 *
 * Owns: fitting them from Lua data (churn.fit), scoring one customer or
 * many, model:survival_curve, model:median_lifetime.
 * Calls: lchurn_model.c (handle, fit results, customer features),
 * lchurn_data.c, lchurn_options.c, lchurn_util.c, libchurn.
 */
#include "lchurn.h"

/* ==== fitting ============================================================ */

static void cox_options(lua_State *L, int opts, const char *what, churn_cox_options *co)
{
    static const char *const ties[] = {"efron", "breslow", NULL};
    co->ties = lchurn__opt_enum(L, opts, "ties", co->ties, ties, what);
    co->l2_penalty = lchurn__opt_number(L, opts, "l2", co->l2_penalty, what);
    co->l2_scale = lchurn__opt_bool(L, opts, "l2_scale", co->l2_scale, what);
    co->max_iter = lchurn__opt_int(L, opts, "max_iter", co->max_iter, what);
    co->tol = lchurn__opt_number(L, opts, "tol", co->tol, what);
}

static void aft_options(lua_State *L, int opts, const char *what, churn_aft_options *ao)
{
    static const char *const cox_only[] = {"ties", "l2", "l2_scale", NULL};
    for (int i = 0; cox_only[i]; i++) {
        if (lchurn__opt_get(L, opts, cox_only[i]) != LUA_TNIL)
            luaL_error(L, "%s: option '%s' is for cox models only", what, cox_only[i]);
        lua_pop(L, 1);
    }
    ao->max_iter = lchurn__opt_int(L, opts, "max_iter", ao->max_iter, what);
    ao->tol = lchurn__opt_number(L, opts, "tol", ao->tol, what);
}

int lchurn__fit_survival_data(lua_State *L, int fam, int data_idx, int opts)
{
    static const char what[] = "fit survival";
    static const char *const keys[] = {"features", "duration", "event", "weights", "ties", "l2",
                                       "l2_scale", "max_iter", "tol",   "unit",    NULL};
    lchurn__check_options(L, opts, what, keys);
    double unit = lchurn__opt_unit(L, opts, "unit", 0.0, what);
    churn_cox_options co = CHURN_COX_OPTIONS_INIT;
    churn_aft_options ao = CHURN_AFT_OPTIONS_INIT;
    if (fam == CHURN_FAMILY_COX)
        cox_options(L, opts, what, &co);
    else
        aft_options(L, opts, what, &ao);
    size_t p;
    const char **names = lchurn__opt_features(L, opts, &p, fam == CHURN_FAMILY_COX, what);
    lchurn_dataset d;
    lchurn__data_open(L, data_idx, &d);
    double *dur = lchurn__data_vector_opt(L, &d, opts, "duration", "duration"); /* sizes the data */
    double *ev = lchurn__data_vector_opt(L, &d, opts, "event", "event");
    double *w = lchurn__data_vector_opt(L, &d, opts, "weights", NULL);
    size_t n = d.n;
    double *x = lchurn__tmp_doubles(L, lchurn__mul_size(L, n, p));
    lchurn__data_read(L, &d, p, names, NULL, x, 1);
    lhandle *u = lchurn__new_model(L);
    int rc = fam == CHURN_FAMILY_COX
                 ? churn_cox_fit(&u->model, n, p, x, names, dur, ev, w, &co)
                 : churn_aft_fit(&u->model, fam, n, p, x, names, dur, ev, w, &ao);
    return lchurn__fit_result(L, u, rc, unit);
}

/* ==== scoring ============================================================ */

/* model:score(customer, horizon) of survival models: survival at horizon,
 * P(churn before horizon), linear predictor. */
int lchurn__survival_score(lua_State *L, churn_model *m)
{
    double h = luaL_checknumber(L, 3);
    size_t p = churn_model_num_features(m);
    double small[LCHURN_SMALL_P], *x = lchurn__customer_features(L, m, 2, p, small);
    double s, pc, lp;
    int rc = churn_surv_predict(m, 1, x, h, &s, &pc, &lp);
    if (rc)
        return lchurn__predict_fail(L, rc);
    lua_pushnumber(L, s);
    lua_pushnumber(L, pc);
    lua_pushnumber(L, lp);
    return 3;
}

/* model:score_many(data, horizon) of survival models: survival[], P(churn)[],
 * linear predictor[]. */
int lchurn__survival_score_many(lua_State *L, churn_model *m, lchurn_dataset *d)
{
    double h = luaL_checknumber(L, 3);
    size_t p, n;
    const char **names = lchurn__data_features(L, d, m, &p, &n);
    double *x = lchurn__tmp_doubles(L, lchurn__mul_size(L, n, p));
    double *out = lchurn__tmp_doubles(L, lchurn__mul_size(L, n, 3));
    lchurn__data_read(L, d, p, names, NULL, x, 1);
    int rc = churn_surv_predict(m, n, x, h, out, out + n, out + 2 * n);
    if (rc)
        return lchurn__predict_fail(L, rc);
    lchurn__push_numbers(L, out, n);
    lchurn__push_numbers(L, out + n, n);
    lchurn__push_numbers(L, out + 2 * n, n);
    return 3;
}

/* model:survival_curve(customer, times[]) -> survival[], std_err[] | nil, msg, code */
MODEL_METHOD(m_survival_curve)
{
    lua_settop(L, 3);
    luaL_checktype(L, 2, LUA_TTABLE);
    size_t p = churn_model_num_features(m), nt;
    double *x = lchurn__tmp_doubles(L, p);
    lchurn__read_features(L, m, 2, p, x);
    double *t = lchurn__check_numbers(L, 3, "times", &nt);
    double *out = lchurn__tmp_doubles(L, lchurn__mul_size(L, nt, 2));
    int rc = churn_surv_curve(m, x, nt, t, out, out + nt), with_se = 1;
    if (rc == CHURN_EUNSUPPORTED) { /* saved without variance arrays: the curve only */
        with_se = 0;
        rc = churn_surv_curve(m, x, nt, t, out, NULL);
    }
    if (rc)
        return lchurn__predict_fail(L, rc);
    lchurn__push_numbers(L, out, nt);
    if (with_se)
        lchurn__push_numbers(L, out + nt, nt);
    else
        lua_pushnil(L);
    return 2;
}

/* model:median_lifetime(customer) -> median (math.huge when not reached) */
MODEL_METHOD(m_median_lifetime)
{
    luaL_checktype(L, 2, LUA_TTABLE);
    size_t p = churn_model_num_features(m);
    double small[LCHURN_SMALL_P], *x = lchurn__customer_features(L, m, 2, p, small), med;
    int rc = churn_surv_median(m, 1, x, &med);
    if (rc)
        return lchurn__predict_fail(L, rc);
    lua_pushnumber(L, med);
    return 1;
}

const luaL_Reg lchurn__survival_methods[] = {
    {"survival_curve", m_survival_curve},
    {"median_lifetime", m_median_lifetime},
    {NULL, NULL},
};
