/*
 * Lua 5.4 binding: data sets of customers.
 *
 * Owns: reading the customer data of fits and bulk scores, given as an
 * array of customer tables or as a table of column arrays, into column- or
 * row-major buffers; per-customer vectors named by an option; the feature
 * names of regression fits and bulk scores; the time unit the data declare
 * (`time_unit` fields) and its check against a model.
 * Calls: lchurn_util.c (buffers, values), lchurn_options.c (opt_get), the Lua
 * API, libchurn (a model's feature names).
 */
#include "lchurn.h"

void lchurn__data_open(lua_State *L, int idx, lchurn_dataset *d)
{
    d->idx = lua_absindex(L, idx);
    if (lua_type(L, d->idx) != LUA_TTABLE)
        luaL_error(L, "data must be an array of customer tables or a table of columns, got %s",
                   luaL_typename(L, d->idx));
    int t = lua_geti(L, d->idx, 1);
    lua_pop(L, 1);
    if (t == LUA_TTABLE) {
        lua_Integer len = luaL_len(L, d->idx);
        d->rows = 1;
        d->sized = 1;
        d->n = len > 0 ? (size_t)len : 0;
    } else if (t == LUA_TNIL) {
        d->rows = 0;
        d->sized = 0;
        d->n = 0;
        lua_pushnil(L);
        if (!lua_next(L, d->idx)) { /* {}: no customers */
            d->rows = 1;
            d->sized = 1;
        } else {
            lua_pop(L, 2);
        }
    } else {
        luaL_error(L,
                   "data[1] is a %s: data must be an array of customer tables or a table "
                   "of columns",
                   luaL_typename(L, -1));
    }
}

/* Push the column `name` (or `alt`) of a column-shaped data set; sets n from
 * the first column read and checks the others against it. */
static void data_column(lua_State *L, lchurn_dataset *d, const char *name, const char *alt)
{
    int t = lua_getfield(L, d->idx, name);
    if (t == LUA_TNIL && alt) {
        lua_pop(L, 1);
        t = lua_getfield(L, d->idx, alt);
        if (t != LUA_TNIL)
            name = alt;
    }
    if (t != LUA_TTABLE)
        luaL_error(L, "data.%s is %s, expected an array of numbers", name,
                   lchurn__describe_value(L, -1));
    lua_Integer len = luaL_len(L, -1);
    size_t m = len > 0 ? (size_t)len : 0;
    if (!d->sized) {
        d->n = m;
        d->sized = 1;
    } else if (m != d->n) {
        luaL_error(L, "data.%s has %I values, expected %I like the other columns", name,
                   (lua_Integer)(m), (lua_Integer)(d->n));
    }
}

/* Number of customers; for columns, the length of column `name`. */
size_t lchurn__data_size(lua_State *L, lchurn_dataset *d, const char *name, const char *alt)
{
    if (!d->sized) {
        data_column(L, d, name, alt);
        lua_pop(L, 1);
    }
    return d->n;
}

/* Read fields names[0..p) (alternative names alts[j] when given) of every
 * customer into out: element (i, j) at i*p + j (row_major) or j*n + i. */
void lchurn__data_read(lua_State *L, lchurn_dataset *d, size_t p, const char *const *names,
                       const char *const *alts, double *out, int row_major)
{
    size_t n = d->n;
    luaL_checkstack(L, 4, "churn: stack overflow");
    if (d->rows) {
        for (size_t i = 0; i < n; i++) {
            if (lua_geti(L, d->idx, (lua_Integer)i + 1) != LUA_TTABLE)
                luaL_error(L, "data[%I] is %s, expected a customer table", (lua_Integer)(i + 1),
                           lchurn__describe_value(L, -1));
            for (size_t j = 0; j < p; j++) {
                int t = lua_getfield(L, -1, names[j]);
                if (t == LUA_TNIL && alts && alts[j]) {
                    lua_pop(L, 1);
                    lua_getfield(L, -1, alts[j]);
                }
                double *dst = row_major ? &out[i * p + j] : &out[j * n + i];
                if (!lchurn__value_number(L, -1, dst))
                    luaL_error(L, "data[%I].%s is %s, expected a number", (lua_Integer)(i + 1),
                               names[j], lchurn__describe_value(L, -1));
                lua_pop(L, 1);
            }
            lua_pop(L, 1);
        }
        return;
    }
    for (size_t j = 0; j < p; j++) {
        data_column(L, d, names[j], alts ? alts[j] : NULL);
        for (size_t i = 0; i < n; i++) {
            lua_geti(L, -1, (lua_Integer)i + 1);
            double *dst = row_major ? &out[i * p + j] : &out[j * n + i];
            if (!lchurn__value_number(L, -1, dst))
                luaL_error(L, "data.%s[%I] is %s, expected a number", names[j],
                           (lua_Integer)(i + 1), lchurn__describe_value(L, -1));
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
}

/* The fields names[0..p) of every customer of d, column after column, in a
 * pushed buffer with room for `extra` more columns (the outputs of a bulk
 * call); *n gets the number of customers. */
double *lchurn__data_columns(lua_State *L, lchurn_dataset *d, size_t p, size_t extra,
                             const char *const *names, const char *const *alts, size_t *n)
{
    *n = lchurn__data_size(L, d, names[0], alts[0]);
    double *cols = lchurn__tmp_doubles(L, lchurn__mul_size(L, *n, p + extra));
    lchurn__data_read(L, d, p, names, alts, cols, 0);
    return cols;
}

/* The fields of d a model of a regression family reads: its feature names
 * (a pushed buffer, *p of them) and the number of customers (*n). */
const char **lchurn__data_features(lua_State *L, lchurn_dataset *d, churn_model *m, size_t *p,
                                   size_t *n)
{
    *p = churn_model_num_features(m);
    const char **names = (const char **)lua_newuserdatauv(L, (*p ? *p : 1) * sizeof(char *), 0);
    for (size_t j = 0; j < *p; j++)
        names[j] = churn_model_feature_name(m, j);
    *n = *p ? lchurn__data_size(L, d, names[0], NULL) : d->n;
    if (!*p && !d->sized)
        luaL_error(L, "score_many: a model without features needs an array of customer tables");
    return names;
}

/* An optional per-customer vector named by an option: opts[key] is an array
 * of n numbers or the name of a field of the data; absent -> def_field (or
 * NULL when def_field is NULL). Pushes a buffer when it returns non-NULL. */
double *lchurn__data_vector_opt(lua_State *L, lchurn_dataset *d, int opts, const char *key,
                                const char *def_field)
{
    int t = lchurn__opt_get(L, opts, key);
    if (t == LUA_TTABLE) {
        size_t m;
        int arr = lua_absindex(L, -1);
        double *v = lchurn__check_numbers(L, arr, key, &m);
        if (!d->sized) {
            d->n = m;
            d->sized = 1;
        }
        if (m != d->n)
            luaL_error(L, "option '%s' has %I values, expected %I (one per customer)", key,
                       (lua_Integer)(m), (lua_Integer)(d->n));
        lua_remove(L, arr); /* keep only the buffer */
        return v;
    }
    const char *field = def_field;
    if (t == LUA_TSTRING)
        field = lua_tostring(L, -1); /* left on the stack: anchored for the whole call */
    else if (t != LUA_TNIL)
        luaL_error(L, "option '%s' must be a field name or an array of numbers", key);
    else
        lua_pop(L, 1);
    if (!field)
        return NULL;
    double *v = lchurn__tmp_doubles(L, lchurn__data_size(L, d, field, NULL));
    const char *names[1] = {field};
    lchurn__data_read(L, d, 1, names, NULL, v, 1);
    return v;
}

/* Feature names from opts.features (an array of strings), pushed as a
 * userdata array of pointers anchored by the options table. */
const char **lchurn__opt_features(lua_State *L, int opts, size_t *p, int required, const char *what)
{
    int t = lchurn__opt_get(L, opts, "features");
    if (t == LUA_TNIL) {
        lua_pop(L, 1);
        if (required)
            luaL_error(L, "%s: option 'features' (an array of field names) is required", what);
        *p = 0;
        return (const char **)lua_newuserdatauv(L, sizeof(char *), 0);
    }
    if (t != LUA_TTABLE)
        luaL_error(L, "%s: option 'features' must be an array of field names", what);
    lua_Integer len = luaL_len(L, -1);
    size_t m = len > 0 ? (size_t)len : 0;
    /* the names are anchored by a table of our own (the user value of the pointer
     * array), out of reach of Lua code that may change opts.features meanwhile */
    const char **names = (const char **)lua_newuserdatauv(L, (m ? m : 1) * sizeof(char *), 1);
    lua_createtable(L, m > INT32_MAX ? 0 : (int)m, 0);
    for (size_t j = 0; j < m; j++) {
        if (lua_geti(L, -3, (lua_Integer)j + 1) != LUA_TSTRING)
            luaL_error(L, "%s: features[%I] must be a string", what, (lua_Integer)(j + 1));
        names[j] = lua_tostring(L, -1);
        lua_rawseti(L, -2, (lua_Integer)j + 1);
    }
    lua_setiuservalue(L, -2, 1);
    lua_remove(L, -2);
    *p = m;
    return names;
}

/* ==== time units =========================================================== */

double lchurn__table_unit(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    int t = lua_getfield(L, idx, "time_unit");
    double u = 0;
    if (t != LUA_TNIL && (!lchurn__value_number(L, -1, &u) || !(u > 0) || u > 1e9))
        luaL_error(L, "the data's time_unit is %s, expected a number of days > 0",
                   lchurn__describe_value(L, -1));
    lua_pop(L, 1);
    return u;
}

double lchurn__data_unit(lua_State *L, lchurn_dataset *d)
{
    if (!d->rows)
        return lchurn__table_unit(L, d->idx);
    if (lua_geti(L, d->idx, 1) != LUA_TTABLE) {
        lua_pop(L, 1);
        return 0;
    }
    double u = lchurn__table_unit(L, -1);
    lua_pop(L, 1);
    return u;
}

void lchurn__check_unit(lua_State *L, churn_model *m, double unit_days, const char *what)
{
    if (unit_days > 0 && churn_model_check_time_unit(m, unit_days) != CHURN_OK)
        luaL_error(L, "%s: %s", what, churn_last_error_message());
}
