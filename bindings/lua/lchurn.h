/*
 * Lua 5.4 binding: the private header shared by the files of the module.
 *
 * Owns: the metatable names, the handle userdata (lhandle) and its classes,
 * and the declarations of the helpers one file of the module offers another.
 * Nothing here is part of the Lua API: only luaopen_churn (churn.c) is
 * exported; the cross-file helpers are named lchurn__x and hidden.
 *
 * The files, lowest first (a file calls only files above it in this list):
 *   lchurn_util.c      errors, temporary buffers, numbers/times/ids from Lua
 *                      values, the handle userdata
 *   lchurn_options.c   option tables (-> util)
 *   lchurn_data.c      data sets: arrays of customer tables or tables of
 *                      columns (-> util, options)
 *   lchurn_txlog.c     transaction logs, dates (-> util, options)
 *   lchurn_customers.c customer tables, churn.features (-> txlog, options, util)
 *   lchurn_stream.c    streaming customer tables (-> customers, txlog, util)
 *   lchurn_state.c     incremental per-customer state (-> options, util)
 *   lchurn_model.c     the model handle: load, save, accessors, fit results
 *                      (-> util)
 *   lchurn_btyd.c, lchurn_spend.c, lchurn_logit.c, lchurn_survival.c
 *                      per family: fit from Lua data, score, predictions
 *                      (-> model, data, options, util)
 *   lchurn_dispatch.c  churn.fit, model:score, model:score_many by family, and
 *                      the model class (-> the family files, model, data)
 *   churn.c            luaopen_churn and the module function table (-> all)
 *
 * Errors follow Lua's conventions: misuse raises with the C message;
 * expected failures return nil, message, code (a churn_status value).
 * Memory: every temporary buffer is a Lua userdata, and every C object is
 * owned by its userdata before the C call that creates it, so no path leaks
 * when an error unwinds the C stack with longjmp.
 */
#ifndef LCHURN_H
#define LCHURN_H

#include "churn.h"

#include <lauxlib.h>
#include <lua.h>
#include <stddef.h>
#include <stdint.h>

#define LCHURN_HIDDEN __attribute__((visibility("hidden")))

#define MODEL_MT "churn.model"
#define TXLOG_MT "churn.txlog"
#define TABLE_MT "churn.customers"
#define STATE_MT "churn.state"
#define STREAM_MT "churn.stream"
#define ALERTS_MT "churn.alerts"

/* ==== handles (lchurn_util.c) ============================================ */

/* A handle userdata (models, transaction logs, customer tables, streams):
 * created "closed" (obj NULL) and filled once the C call succeeded, as Lua's
 * liolib.c does with files; per type, __gc and __close share one idempotent
 * closer, so a handle can be closed early, closed twice, or left to the
 * collector. `busy` counts the calls of this module using the handle further
 * down the C stack: Lua code they run (a metamethod of a customer table, a
 * finalizer during an allocation) may close the handle, and the free then
 * waits (`zombie`) for __gc, which cannot run while a call holds the handle
 * on its stack. A call that raises leaves its count behind; later closes of
 * that handle still make it unusable at once and leave the free to the
 * collector. */
typedef struct lhandle {
    union { /* obj, read as the handle type's pointer */
        void *obj;
        churn_model *model;
        churn_txlog *log;
        churn_customers *table;
        churn_customer_stream *stream;
    };
    void *zombie;
    int busy;
} lhandle;

/* What differs between handle types. */
typedef struct lclass {
    const char *mt;           /* metatable name */
    const char *closed_msg;   /* the error raised on use after close */
    void (*free_obj)(void *); /* frees obj (NULL allowed) */
} lclass;

LCHURN_HIDDEN extern const lclass lchurn__model_class;
LCHURN_HIDDEN extern const lclass lchurn__txlog_class;
LCHURN_HIDDEN extern const lclass lchurn__table_class;

/* Push a new closed handle of `size` bytes (an lhandle first) with c's metatable. */
LCHURN_HIDDEN lhandle *lchurn__new_handle(lua_State *L, const lclass *c, size_t size);
/* The handle at idx; raises when it is of another type or closed. */
LCHURN_HIDDEN lhandle *lchurn__check_handle(lua_State *L, int idx, const lclass *c);
/* The one closer: close() and __close (collect = 0), __gc (collect = 1). */
LCHURN_HIDDEN void lchurn__close_handle(lhandle *u, const lclass *c, int collect);
/* Register a metatable `name` with the metamethods meta and __index = methods. */
LCHURN_HIDDEN void lchurn__new_class(lua_State *L, const char *name, const luaL_Reg *meta,
                                     const luaL_Reg *methods);

/* A method of a handle type whose body runs with the handle pinned (see lhandle):
 * HANDLE_METHOD(m_params, lchurn__model_class, churn_model, m) { ... uses m ... } */
#define HANDLE_METHOD(name, cls, type, var)                                                        \
    static int name##_body(lua_State *L, type *var);                                               \
    static int name(lua_State *L)                                                                  \
    {                                                                                              \
        lhandle *u_ = lchurn__check_handle(L, 1, &(cls));                                          \
        u_->busy++;                                                                                \
        int n_ = name##_body(L, (type *)u_->obj);                                                  \
        u_->busy--;                                                                                \
        return n_;                                                                                 \
    }                                                                                              \
    static int name##_body(lua_State *L, type *var)

#define MODEL_METHOD(name) HANDLE_METHOD(name, lchurn__model_class, churn_model, m)

/* ==== errors, buffers, values (lchurn_util.c) ============================ */

/* Push nil, message, code and return 3 (Lua's convention for expected failures). */
LCHURN_HIDDEN int lchurn__push_fail(lua_State *L, int rc);
/* Raise a Lua error with the C message (misuse). */
LCHURN_HIDDEN int lchurn__raise(lua_State *L, int rc);
/* A failed predict call: a model of another family is misuse, the rest is data. */
LCHURN_HIDDEN int lchurn__predict_fail(lua_State *L, int rc);

/* A buffer of n doubles owned by a userdata left on the stack. */
LCHURN_HIDDEN double *lchurn__tmp_doubles(lua_State *L, size_t n);
/* a * b, raising when the product of counts is too large for a buffer. */
LCHURN_HIDDEN size_t lchurn__mul_size(lua_State *L, size_t a, size_t b);
/* Push v[0..n) as a Lua array. */
LCHURN_HIDDEN void lchurn__push_numbers(lua_State *L, const double *v, size_t n);

LCHURN_HIDDEN int lchurn__value_number(lua_State *L, int idx, double *out);
/* "missing" for nil, else the type name: for error messages. */
LCHURN_HIDDEN const char *lchurn__describe_value(lua_State *L, int idx);
/* A Lua array of numbers as a temporary buffer (pushed); *n gets its length. */
LCHURN_HIDDEN double *lchurn__check_numbers(lua_State *L, int idx, const char *what, size_t *n);
LCHURN_HIDDEN int lchurn__value_time(lua_State *L, int idx, double *out, const char *what);
LCHURN_HIDDEN const char *lchurn__id_text(lua_State *L, int idx, char *buf, size_t cap,
                                          const char *what);

/* ==== option tables (lchurn_options.c) =================================== */

LCHURN_HIDDEN void lchurn__check_options(lua_State *L, int idx, const char *what,
                                         const char *const *allowed);
LCHURN_HIDDEN int lchurn__opt_get(lua_State *L, int idx, const char *key);
LCHURN_HIDDEN double lchurn__opt_number(lua_State *L, int idx, const char *key, double def,
                                        const char *what);
LCHURN_HIDDEN int lchurn__opt_int(lua_State *L, int idx, const char *key, int def,
                                  const char *what);
LCHURN_HIDDEN int lchurn__opt_bool(lua_State *L, int idx, const char *key, int def,
                                   const char *what);
LCHURN_HIDDEN const char *lchurn__opt_string(lua_State *L, int idx, const char *key,
                                             const char *def, const char *what);
LCHURN_HIDDEN int lchurn__opt_enum(lua_State *L, int idx, const char *key, int def,
                                   const char *const *names, const char *what);
LCHURN_HIDDEN double lchurn__opt_time(lua_State *L, int idx, const char *key, double def,
                                      const char *what);
LCHURN_HIDDEN double lchurn__opt_unit(lua_State *L, int idx, const char *key, double def,
                                      const char *what);
/* Calendar periods (churn_period): "week", "month", "quarter" or "year"; def when absent. */
LCHURN_HIDDEN int lchurn__opt_period(lua_State *L, int idx, const char *key, int def,
                                     const char *what);

/* ==== data sets (lchurn_data.c) ========================================== */

/* Customer data: an array of customer tables or a table of column arrays. */
typedef struct lchurn_dataset {
    int idx;   /* absolute stack index of the data table */
    int rows;  /* 1: an array of row tables; 0: a table of column arrays */
    int sized; /* n is known */
    size_t n;
} lchurn_dataset;

LCHURN_HIDDEN void lchurn__data_open(lua_State *L, int idx, lchurn_dataset *d);
LCHURN_HIDDEN size_t lchurn__data_size(lua_State *L, lchurn_dataset *d, const char *name,
                                       const char *alt);
LCHURN_HIDDEN void lchurn__data_read(lua_State *L, lchurn_dataset *d, size_t p,
                                     const char *const *names, const char *const *alts, double *out,
                                     int row_major);
LCHURN_HIDDEN double *lchurn__data_columns(lua_State *L, lchurn_dataset *d, size_t p, size_t extra,
                                           const char *const *names, const char *const *alts,
                                           size_t *n);
LCHURN_HIDDEN double *lchurn__data_vector_opt(lua_State *L, lchurn_dataset *d, int opts,
                                              const char *key, const char *def_field);
/* The feature names of m (pushed) and the number of customers of d, for bulk scores. */
LCHURN_HIDDEN const char **lchurn__data_features(lua_State *L, lchurn_dataset *d, churn_model *m,
                                                 size_t *p, size_t *n);
/* The time unit (days) the data declare: the `time_unit` field of the first customer table
 * (rows from a customer table or a state's features carry it) or of the column table; 0
 * when absent. A value that is not a positive number is an error. */
LCHURN_HIDDEN double lchurn__data_unit(lua_State *L, lchurn_dataset *d);
/* Raise "what: <message naming both units>" when data declaring `unit_days` (0 = none:
 * nothing to check) may not meet model m (churn_model_check_time_unit). */
LCHURN_HIDDEN void lchurn__check_unit(lua_State *L, churn_model *m, double unit_days,
                                      const char *what);
/* The `time_unit` field of the table at idx (0 when absent). */
LCHURN_HIDDEN double lchurn__table_unit(lua_State *L, int idx);
LCHURN_HIDDEN const char **lchurn__opt_features(lua_State *L, int opts, size_t *p, int required,
                                                const char *what);

/* ==== transaction logs (lchurn_txlog.c) ================================== */

/* Push a new transaction log handle holding an empty log, or push nil, msg,
 * code after it (returns the churn status). */
LCHURN_HIDDEN int lchurn__new_txlog(lua_State *L, lhandle **out);
LCHURN_HIDDEN int lchurn__append_purchases(lua_State *L, churn_txlog *log, int idx,
                                           const char *where);
LCHURN_HIDDEN void lchurn__csv_options(lua_State *L, int opts, churn_csv_options *o);
LCHURN_HIDDEN void lchurn__open_txlog(lua_State *L);
LCHURN_HIDDEN int lchurn__txlog(lua_State *L);
LCHURN_HIDDEN int lchurn__read_csv(lua_State *L);
LCHURN_HIDDEN int lchurn__parse_date(lua_State *L);
LCHURN_HIDDEN int lchurn__format_date(lua_State *L);

/* ==== customer tables, streams, states (lchurn_customers.c, lchurn_stream.c,
 * lchurn_state.c) */

LCHURN_HIDDEN void lchurn__customer_options(lua_State *L, int opts, churn_customer_options *o,
                                            const char *what);
LCHURN_HIDDEN void lchurn__open_customers(lua_State *L);
LCHURN_HIDDEN int lchurn__features(lua_State *L);
LCHURN_HIDDEN void lchurn__open_stream(lua_State *L);
LCHURN_HIDDEN int lchurn__stream(lua_State *L);
LCHURN_HIDDEN void lchurn__open_state(lua_State *L);
LCHURN_HIDDEN int lchurn__state(lua_State *L);
LCHURN_HIDDEN int lchurn__state_from_bytes(lua_State *L);
/* The churn_customer_state of the state userdata at idx (raises on another value). */
LCHURN_HIDDEN const churn_customer_state *lchurn__state_ptr(lua_State *L, int idx);

/* ---- lchurn_alerts.c: alert rules (churn.alerts, a:*) ---------------------------------- */
LCHURN_HIDDEN void lchurn__open_alerts(lua_State *L);
LCHURN_HIDDEN int lchurn__alerts(lua_State *L);

/* ==== models (lchurn_model.c) ============================================ */

/* Small feature vectors of one customer live on the C stack. */
#define LCHURN_SMALL_P 32

/* Push a new closed model handle. */
LCHURN_HIDDEN lhandle *lchurn__new_model(lua_State *L);
LCHURN_HIDDEN churn_model *lchurn__check_model(lua_State *L, int idx);
LCHURN_HIDDEN int lchurn__fit_result(lua_State *L, lhandle *u, int rc, double unit);
LCHURN_HIDDEN int lchurn__family_arg(lua_State *L, int idx);
LCHURN_HIDDEN int lchurn__is_btyd(int fam);
LCHURN_HIDDEN int lchurn__is_survival(int fam);
/* Field of a customer table, with an alternative name. Raises when missing. */
LCHURN_HIDDEN double lchurn__field_number(lua_State *L, int idx, const char *name, const char *alt);
LCHURN_HIDDEN void lchurn__read_features(lua_State *L, churn_model *m, int idx, size_t p,
                                         double *x);
LCHURN_HIDDEN double *lchurn__customer_features(lua_State *L, churn_model *m, int idx, size_t p,
                                                double *small);
LCHURN_HIDDEN int lchurn__load(lua_State *L);
LCHURN_HIDDEN int lchurn__from_json(lua_State *L);
/* The methods and metamethods every model has (lchurn_dispatch.c builds the class). */
LCHURN_HIDDEN extern const luaL_Reg lchurn__model_common[];
LCHURN_HIDDEN extern const luaL_Reg lchurn__model_meta[];

/* ==== per family ========================================================= */

/* Fits from Lua data: the data table at data_idx, the options at opts. */
LCHURN_HIDDEN int lchurn__fit_btyd_data(lua_State *L, int fam, int data_idx, int opts);
LCHURN_HIDDEN int lchurn__fit_sbg_data(lua_State *L, int data_idx, int opts);
LCHURN_HIDDEN int lchurn__fit_gammagamma_data(lua_State *L, int data_idx, int opts);
LCHURN_HIDDEN int lchurn__fit_logit_data(lua_State *L, int data_idx, int opts);
LCHURN_HIDDEN int lchurn__fit_survival_data(lua_State *L, int fam, int data_idx, int opts);

/* model:score(customer [, horizon]) of a family: customer at 2, horizon at 3. */
LCHURN_HIDDEN int lchurn__btyd_score(lua_State *L, churn_model *m);
/* Score one customer (x, t_x, T) with a BTYD model and push p_alive (BG/BB: at the next
 * opportunity) and the expected purchases in the next h units (nil without a horizon);
 * nil, msg, code on a refused row. */
LCHURN_HIDDEN int lchurn__btyd_push_score(lua_State *L, churn_model *m, double x, double tx,
                                          double T, int have_h, double h);
LCHURN_HIDDEN int lchurn__sbg_score(lua_State *L, churn_model *m);
LCHURN_HIDDEN int lchurn__spend_score(lua_State *L, churn_model *m);
LCHURN_HIDDEN int lchurn__logit_score(lua_State *L, churn_model *m);
LCHURN_HIDDEN int lchurn__survival_score(lua_State *L, churn_model *m);

/* model:score_many(data [, horizon]) of a family. */
LCHURN_HIDDEN int lchurn__btyd_score_many(lua_State *L, churn_model *m, lchurn_dataset *d);
LCHURN_HIDDEN int lchurn__spend_score_many(lua_State *L, churn_model *m, lchurn_dataset *d);
LCHURN_HIDDEN int lchurn__logit_score_many(lua_State *L, churn_model *m, lchurn_dataset *d);
LCHURN_HIDDEN int lchurn__survival_score_many(lua_State *L, churn_model *m, lchurn_dataset *d);

/* Module functions and the model methods of each family. */
LCHURN_HIDDEN int lchurn__fit_btyd(lua_State *L);
LCHURN_HIDDEN int lchurn__model(lua_State *L);
LCHURN_HIDDEN int lchurn__clv(lua_State *L);
LCHURN_HIDDEN extern const luaL_Reg lchurn__btyd_methods[];
LCHURN_HIDDEN extern const luaL_Reg lchurn__spend_methods[];
LCHURN_HIDDEN extern const luaL_Reg lchurn__logit_methods[];
LCHURN_HIDDEN extern const luaL_Reg lchurn__survival_methods[];

/* ==== dispatch by family (lchurn_dispatch.c) ============================= */

LCHURN_HIDDEN int lchurn__fit(lua_State *L);
/* The model class. */
LCHURN_HIDDEN void lchurn__open_model(lua_State *L);

#endif
