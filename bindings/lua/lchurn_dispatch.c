/*
 * Lua 5.4 binding: what depends on the model's family.
 *
 * Owns: churn.fit, model:score and model:score_many, which pick the family's
 * code, and the model class (the methods every model has plus those of each
 * family).
 * Calls: lchurn_btyd.c, lchurn_spend.c, lchurn_logit.c, lchurn_survival.c,
 * lchurn_model.c, lchurn_data.c, lchurn_util.c.
 */
#include "lchurn.h"

/* churn.fit(family, data [, opts]) -> model | nil, msg, code [, model] */
int lchurn__fit(lua_State *L)
{
    int fam = lchurn__family_arg(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 3);
    if (lchurn__is_btyd(fam))
        return lchurn__fit_btyd_data(L, fam, 2, 3);
    if (fam == CHURN_FAMILY_SBG)
        return lchurn__fit_sbg_data(L, 2, 3);
    if (fam == CHURN_FAMILY_GAMMAGAMMA)
        return lchurn__fit_gammagamma_data(L, 2, 3);
    if (fam == CHURN_FAMILY_LOGIT)
        return lchurn__fit_logit_data(L, 2, 3);
    return lchurn__fit_survival_data(L, fam, 2, 3);
}

/* model:score(customer [, horizon]) scores one customer given as a table of
 * named fields; the results depend on the family:
 *   BTYD:        p_alive, expected purchases in (T, T + horizon] (nil without a horizon)
 *   sBG:         P(renew next period), expected renewals in the next horizon periods
 *                ({periods = renewals so far})
 *   gammagamma:  expected spend per purchase ({frequency, monetary_value})
 *   logit:       P(churn), linear predictor (fields named as the model's features)
 *   cox / AFT:   survival at horizon, P(churn before horizon), linear predictor
 * Data the library rejects (negative recency, NaN) return nil, msg, code. A customer
 * table that declares its time unit (`time_unit`, as rows of a customer table and a
 * state's features do) must match the model's unit, else an error names both. */
MODEL_METHOD(m_score)
{
    luaL_checktype(L, 2, LUA_TTABLE);
    lchurn__check_unit(L, m, lchurn__table_unit(L, 2), "score");
    int fam = churn_model_family(m);
    if (lchurn__is_btyd(fam))
        return lchurn__btyd_score(L, m);
    if (fam == CHURN_FAMILY_GAMMAGAMMA)
        return lchurn__spend_score(L, m);
    if (fam == CHURN_FAMILY_LOGIT)
        return lchurn__logit_score(L, m);
    if (lchurn__is_survival(fam))
        return lchurn__survival_score(L, m);
    if (fam == CHURN_FAMILY_SBG)
        return lchurn__sbg_score(L, m);
    return luaL_error(L, "score: no per-customer score for '%s' models", churn_family_name(fam));
}

/* model:score_many(data [, horizon]) scores many customers: data is an array
 * of customer tables or a table of column arrays. Returns one array per
 * value model:score returns, in the same order. */
MODEL_METHOD(m_score_many)
{
    lua_settop(L, 3);
    int fam = churn_model_family(m);
    lchurn_dataset d;
    lchurn__data_open(L, 2, &d);
    lchurn__check_unit(L, m, lchurn__data_unit(L, &d), "score_many");
    if (lchurn__is_btyd(fam))
        return lchurn__btyd_score_many(L, m, &d);
    if (fam == CHURN_FAMILY_GAMMAGAMMA)
        return lchurn__spend_score_many(L, m, &d);
    if (fam == CHURN_FAMILY_LOGIT)
        return lchurn__logit_score_many(L, m, &d);
    if (lchurn__is_survival(fam))
        return lchurn__survival_score_many(L, m, &d);
    return luaL_error(L, "score_many: no per-customer score for '%s' models",
                      churn_family_name(fam));
}

static const luaL_Reg dispatch_methods[] = {
    {"score", m_score},
    {"score_many", m_score_many},
    {NULL, NULL},
};

/* The model class: one method table for every family (a method of another
 * family's model raises, as the C call returns CHURN_EFAMILY). */
void lchurn__open_model(lua_State *L)
{
    luaL_newmetatable(L, MODEL_MT);
    luaL_setfuncs(L, lchurn__model_meta, 0);
    lua_newtable(L);
    luaL_setfuncs(L, lchurn__model_common, 0);
    luaL_setfuncs(L, dispatch_methods, 0);
    luaL_setfuncs(L, lchurn__btyd_methods, 0);
    luaL_setfuncs(L, lchurn__spend_methods, 0);
    luaL_setfuncs(L, lchurn__logit_methods, 0);
    luaL_setfuncs(L, lchurn__survival_methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}
