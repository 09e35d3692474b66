/*
 * Lua 5.4 binding: logistic regression.
 *
 * Owns: fitting it from Lua data (churn.fit("logit", ...)), scoring one
 * customer or many, and model:explain.
 * Calls: lchurn_model.c (handle, fit results, customer features),
 * lchurn_data.c, lchurn_options.c, lchurn_util.c, libchurn.
 */
#include "lchurn.h"

/* ==== fitting ============================================================ */

static void logit_options(lua_State *L, int opts, const char *what, churn_logit_options *o)
{
    static const char *const penalties[] = {"none", "l2", "l1", "elasticnet", NULL};
    static const char *const class_weights[] = {"none", "balanced", NULL};
    static const char *const separations[] = {"error", "note", NULL};
    o->penalty = lchurn__opt_enum(L, opts, "penalty", o->penalty, penalties, what);
    o->lambda = lchurn__opt_number(L, opts, "lambda", o->lambda, what);
    o->alpha = lchurn__opt_number(L, opts, "alpha", o->alpha, what);
    o->intercept = lchurn__opt_bool(L, opts, "intercept", o->intercept, what);
    o->standardize = lchurn__opt_bool(L, opts, "standardize", o->standardize, what);
    o->class_weight =
        lchurn__opt_enum(L, opts, "class_weight", o->class_weight, class_weights, what);
    o->max_iter = lchurn__opt_int(L, opts, "max_iter", o->max_iter, what);
    o->tol = lchurn__opt_number(L, opts, "tol", o->tol, what);
    o->separation = lchurn__opt_enum(L, opts, "separation", o->separation, separations, what);
}

int lchurn__fit_logit_data(lua_State *L, int data_idx, int opts)
{
    static const char what[] = "fit logit";
    static const char *const keys[] = {
        "features",    "label",        "weights",  "penalty", "lambda",     "alpha", "intercept",
        "standardize", "class_weight", "max_iter", "tol",     "separation", "unit",  NULL};
    lchurn__check_options(L, opts, what, keys);
    double unit = lchurn__opt_unit(L, opts, "unit", 0.0, what);
    churn_logit_options o = CHURN_LOGIT_OPTIONS_INIT;
    logit_options(L, opts, what, &o);
    size_t p;
    const char **names = lchurn__opt_features(L, opts, &p, 1, what);
    lchurn_dataset d;
    lchurn__data_open(L, data_idx, &d);
    double *y = lchurn__data_vector_opt(L, &d, opts, "label", "churned"); /* sizes the data */
    double *w = lchurn__data_vector_opt(L, &d, opts, "weights", NULL);
    size_t n = d.n;
    double *x = lchurn__tmp_doubles(L, lchurn__mul_size(L, n, p));
    lchurn__data_read(L, &d, p, names, NULL, x, 0);
    lhandle *u = lchurn__new_model(L);
    int rc = churn_logit_fit(&u->model, x, n, p, CHURN_LOGIT_COL_MAJOR, 0, y, w, names, &o);
    return lchurn__fit_result(L, u, rc, unit);
}

/* ==== scoring ============================================================ */

/* model:score(customer) of logit models: P(churn), linear predictor (fields
 * named as the model's features). */
int lchurn__logit_score(lua_State *L, churn_model *m)
{
    size_t p = churn_model_num_features(m);
    double small[LCHURN_SMALL_P], *x = lchurn__customer_features(L, m, 2, p, small);
    double pc, lp;
    int rc = churn_logit_predict(m, x, 1, p, CHURN_LOGIT_ROW_MAJOR, 0, &pc, &lp);
    if (rc)
        return lchurn__predict_fail(L, rc);
    lua_pushnumber(L, pc);
    lua_pushnumber(L, lp);
    return 2;
}

/* model:score_many(data) of logit models: P(churn)[], linear predictor[]. */
int lchurn__logit_score_many(lua_State *L, churn_model *m, lchurn_dataset *d)
{
    size_t p, n;
    const char **names = lchurn__data_features(L, d, m, &p, &n);
    double *x = lchurn__tmp_doubles(L, lchurn__mul_size(L, n, p));
    double *out = lchurn__tmp_doubles(L, lchurn__mul_size(L, n, 3));
    lchurn__data_read(L, d, p, names, NULL, x, 0);
    int rc = churn_logit_predict(m, x, n, p, CHURN_LOGIT_COL_MAJOR, 0, out, out + n);
    if (rc)
        return lchurn__predict_fail(L, rc);
    lchurn__push_numbers(L, out, n);
    lchurn__push_numbers(L, out + n, n);
    return 2;
}

/* model:explain(customer) -> { feature = contribution, ... }, baseline
 * (logit: contribution_j = b_j (x_j - training mean_j); positive pushes
 * toward churn; baseline + sum = linear predictor). */
MODEL_METHOD(m_explain)
{
    lua_settop(L, 2);
    luaL_checktype(L, 2, LUA_TTABLE);
    size_t p = churn_model_num_features(m);
    double *x = lchurn__tmp_doubles(L, lchurn__mul_size(L, p, 2)), base;
    lchurn__read_features(L, m, 2, p, x);
    int rc = churn_logit_contributions(m, x, 1, p, CHURN_LOGIT_ROW_MAJOR, 0, x + p, &base);
    if (rc)
        return lchurn__predict_fail(L, rc);
    lua_createtable(L, 0, (int)p);
    for (size_t j = 0; j < p; j++) {
        lua_pushnumber(L, x[p + j]);
        lua_setfield(L, -2, churn_model_feature_name(m, j));
    }
    lua_pushnumber(L, base);
    return 2;
}

const luaL_Reg lchurn__logit_methods[] = {
    {"explain", m_explain},
    {NULL, NULL},
};
