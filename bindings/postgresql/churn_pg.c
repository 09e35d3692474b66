/*
 * PostgreSQL extension `churn` (CREATE EXTENSION churn): the customer table
 * as an aggregate and the scores as SQL functions, over the public C API of
 * libchurn. The SQL objects are declared in churn--1.0.sql; docs/postgresql.md
 * documents them.
 *
 * Owns: the per-backend model cache (parsed models keyed by the content of
 * their jsonb), the aggregate churn.summary (transition, combine, serialise,
 * final), the scoring functions and the alert rules.
 * Calls: libchurn (include/churn.h) and the PostgreSQL server API.
 *
 * Errors: a library call never meets a PostgreSQL longjmp while it owns
 * memory. Every function calls the library, keeps the status, frees what the
 * library allocated (models in the cache are owned by the cache), copies the
 * library's message, and only then calls ereport (raise_churn()). PostgreSQL
 * allocations are palloc'd in the current or the aggregate's memory context;
 * the cache lives in TopMemoryContext (entries are replaced, never leaked).
 */
#include "postgres.h"

#include <math.h>
#include <string.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include <churn.h>

PG_MODULE_MAGIC;

/* Seconds between 1970-01-01 and PostgreSQL's epoch 2000-01-01. */
#define PG_EPOCH_SECONDS 946684800.0

/* ---- errors ----------------------------------------------------------------- */

static int sqlstate_of(int rc)
{
    switch (rc) {
    case CHURN_EINVAL:
    case CHURN_EUNIT:
        return ERRCODE_INVALID_PARAMETER_VALUE;
    case CHURN_ENOMEM:
        return ERRCODE_OUT_OF_MEMORY;
    case CHURN_EFORMAT:
        return ERRCODE_INVALID_TEXT_REPRESENTATION;
    case CHURN_EFAMILY:
        return ERRCODE_WRONG_OBJECT_TYPE;
    case CHURN_ENUMERIC:
    case CHURN_ERANGE:
        return ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
    case CHURN_EVERSION:
    case CHURN_EUNSUPPORTED:
        return ERRCODE_FEATURE_NOT_SUPPORTED;
    case CHURN_ENOTFOUND:
        return ERRCODE_UNDEFINED_OBJECT;
    default:
        return ERRCODE_INTERNAL_ERROR;
    }
}

/* Raise the library's error of status rc as a PostgreSQL error. Call it only
 * after everything the library allocated for this call has been freed. */
static void raise_churn(int rc, const char *fn) pg_attribute_noreturn();
static void raise_churn(int rc, const char *fn)
{
    char msg[1024];
    strlcpy(msg, churn_last_error_message(), sizeof msg);
    ereport(ERROR, (errcode(sqlstate_of(rc)), errmsg("%s: %s", fn, msg),
                    errdetail("libchurn status %d (%s)", rc, churn_strerror(rc))));
}

/* ---- models: parsed once per backend, keyed by the jsonb's bytes ------------ */

#define MODEL_CACHE_SIZE 8

typedef struct model_entry {
    uint32 hash;
    Size len;
    char *bytes;        /* TopMemoryContext copy of the jsonb's data */
    churn_model *model; /* owned by the entry */
} model_entry;

static model_entry model_cache[MODEL_CACHE_SIZE];
static int model_cache_next;

/* The model of argument `argno` (a jsonb holding a model file). The same
 * content (whatever its whitespace or key order in the original text: jsonb
 * is canonical) is parsed once per backend. Borrowed from the cache. */
static const churn_model *arg_model(FunctionCallInfo fcinfo, int argno, const char *fn)
{
    Jsonb *jb = PG_GETARG_JSONB_P(argno);
    Size len = VARSIZE(jb) - VARHDRSZ;
    const char *data = VARDATA(jb);
    uint32 hash = hash_bytes((const unsigned char *)data, (int)len);
    for (int i = 0; i < MODEL_CACHE_SIZE; i++) {
        model_entry *e = &model_cache[i];
        if (e->model && e->hash == hash && e->len == len && memcmp(e->bytes, data, len) == 0)
            return e->model;
    }
    /* Miss: every PostgreSQL allocation happens before the library owns a model. */
    char *json = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
    char *copy = MemoryContextAlloc(TopMemoryContext, len > 0 ? len : 1);
    memcpy(copy, data, len);
    churn_model *m = NULL;
    int rc = churn_model_load_buffer(&m, json, strlen(json));
    pfree(json);
    if (rc != CHURN_OK) {
        pfree(copy);
        raise_churn(rc, fn);
    }
    model_entry *e = &model_cache[model_cache_next];
    model_cache_next = (model_cache_next + 1) % MODEL_CACHE_SIZE;
    if (e->model) {
        churn_model_free(e->model);
        pfree(e->bytes);
    }
    e->hash = hash;
    e->len = len;
    e->bytes = copy;
    e->model = m;
    return m;
}

/* ---- time values ------------------------------------------------------------ */

/* Seconds since 1970-01-01 UTC of a date (midnight UTC). */
static double date_seconds(DateADT d, const char *fn, const char *what)
{
    if (DATE_NOT_FINITE(d))
        ereport(ERROR, (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
                        errmsg("%s: %s is an infinite date", fn, what)));
    return ((double)d) * 86400.0 + PG_EPOCH_SECONDS;
}

/* Seconds since 1970-01-01 of a timestamp or timestamptz (both are
 * microseconds since 2000-01-01; a timestamp without time zone is read as UTC). */
static double ts_seconds(Timestamp t, const char *fn, const char *what)
{
    if (TIMESTAMP_NOT_FINITE(t))
        ereport(ERROR, (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
                        errmsg("%s: %s is an infinite timestamp", fn, what)));
    return ((double)t) / 1e6 + PG_EPOCH_SECONDS;
}

/* A time unit: day, week, month, quarter, year or a positive number of days. */
static double parse_unit(text *t, const char *fn)
{
    char *s = text_to_cstring(t);
    double u = 0;
    if (strcmp(s, "day") == 0 || strcmp(s, "days") == 0)
        u = CHURN_UNIT_DAY;
    else if (strcmp(s, "week") == 0 || strcmp(s, "weeks") == 0)
        u = CHURN_UNIT_WEEK;
    else if (strcmp(s, "month") == 0 || strcmp(s, "months") == 0)
        u = CHURN_UNIT_MONTH;
    else if (strcmp(s, "quarter") == 0 || strcmp(s, "quarters") == 0)
        u = CHURN_UNIT_QUARTER;
    else if (strcmp(s, "year") == 0 || strcmp(s, "years") == 0)
        u = CHURN_UNIT_YEAR;
    else {
        char *end = NULL;
        u = strtod(s, &end);
        if (end == s || *end != '\0' || !(u > 0) || !isfinite(u))
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                            errmsg("%s: unit '%s' is not day, week, month, quarter, year "
                                   "or a positive number of days", fn, s)));
    }
    pfree(s);
    return u;
}

/* The blessed descriptor of a function's composite result, looked up once per call
 * site (fn_extra) instead of once per row: the catalog lookup costs more than the
 * scoring itself. */
static TupleDesc result_desc(FunctionCallInfo fcinfo, int natts, const char *fn)
{
    if (fcinfo->flinfo->fn_extra)
        return (TupleDesc)fcinfo->flinfo->fn_extra;
    TupleDesc td;
    if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
        elog(ERROR, "%s: the result type is not a composite", fn);
    if (td->natts != natts)
        elog(ERROR, "%s: the result type has %d attributes, expected %d", fn, td->natts, natts);
    MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
    td = BlessTupleDesc(CreateTupleDescCopy(td));
    MemoryContextSwitchTo(old);
    fcinfo->flinfo->fn_extra = td;
    return td;
}

/* ---- the aggregate churn.summary ------------------------------------------- */

typedef struct order_row {
    double time;   /* seconds since the epoch */
    double amount; /* NaN: unknown */
    int64 seq;     /* input position: ties in time keep the input order */
} order_row;

typedef struct summary_state {
    double cutoff; /* seconds, midnight UTC of the cutoff day */
    double unit;   /* days per time unit */
    int64 n, cap;
    order_row *rows;
} summary_state;

static const char *const SUMMARY_FN = "churn.summary";

static summary_state *summary_new(MemoryContext ctx, double cutoff, double unit, int64 cap)
{
    summary_state *st = MemoryContextAllocZero(ctx, sizeof *st);
    st->cutoff = cutoff;
    st->unit = unit;
    st->cap = cap > 4 ? cap : 4; /* most customers have a few orders: 1M groups in memory */
    st->rows = MemoryContextAllocHuge(ctx, (Size)st->cap * sizeof(order_row));
    return st;
}

static void summary_push(MemoryContext ctx, summary_state *st, double time, double amount)
{
    if (st->n == st->cap) {
        int64 cap = st->cap * 2;
        MemoryContext old = MemoryContextSwitchTo(ctx);
        st->rows = repalloc_huge(st->rows, (Size)cap * sizeof(order_row));
        MemoryContextSwitchTo(old);
        st->cap = cap;
    }
    st->rows[st->n].time = time;
    st->rows[st->n].amount = amount;
    st->rows[st->n].seq = st->n;
    st->n++;
}

/* Shared transition: ordered_at (seconds) and cutoff (seconds) already read. */
static Datum summary_trans_common(FunctionCallInfo fcinfo, double time, double cutoff_seconds)
{
    MemoryContext aggctx;
    if (!AggCheckCallContext(fcinfo, &aggctx))
        elog(ERROR, "churn.summary transition called outside an aggregate");
    summary_state *st = PG_ARGISNULL(0) ? NULL : (summary_state *)PG_GETARG_POINTER(0);
    double amount = PG_ARGISNULL(2) ? NAN : PG_GETARG_FLOAT8(2);
    if (isinf(amount))
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("%s: amount is infinite (order at %.0f s since 1970-01-01)",
                               SUMMARY_FN, time)));
    double cutoff_day = floor(cutoff_seconds / 86400.0) * 86400.0;
    double unit = CHURN_UNIT_DAY;
    if (PG_NARGS() > 4) {
        if (PG_ARGISNULL(4))
            ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                            errmsg("%s: unit is NULL", SUMMARY_FN)));
        unit = st ? st->unit : parse_unit(PG_GETARG_TEXT_PP(4), SUMMARY_FN);
    }
    if (!st)
        st = summary_new(aggctx, cutoff_day, unit, 4);
    else if (st->cutoff != cutoff_day)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("%s: the cutoff changes within one group; pass one cutoff "
                               "for all the rows of a group", SUMMARY_FN)));
    summary_push(aggctx, st, time, amount);
    PG_RETURN_POINTER(st);
}

static void summary_check_nulls(FunctionCallInfo fcinfo)
{
    if (PG_ARGISNULL(1))
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                        errmsg("%s: ordered_at is NULL (every order needs a date)", SUMMARY_FN),
                        errhint("Filter the rows with WHERE ordered_at IS NOT NULL.")));
    if (PG_ARGISNULL(3))
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                        errmsg("%s: cutoff is NULL", SUMMARY_FN)));
}

PG_FUNCTION_INFO_V1(churn_summary_trans_date);
Datum churn_summary_trans_date(PG_FUNCTION_ARGS)
{
    summary_check_nulls(fcinfo);
    return summary_trans_common(fcinfo,
                                date_seconds(PG_GETARG_DATEADT(1), SUMMARY_FN, "ordered_at"),
                                date_seconds(PG_GETARG_DATEADT(3), SUMMARY_FN, "cutoff"));
}

PG_FUNCTION_INFO_V1(churn_summary_trans_ts);
Datum churn_summary_trans_ts(PG_FUNCTION_ARGS)
{
    summary_check_nulls(fcinfo);
    return summary_trans_common(fcinfo,
                                ts_seconds(PG_GETARG_TIMESTAMP(1), SUMMARY_FN, "ordered_at"),
                                ts_seconds(PG_GETARG_TIMESTAMP(3), SUMMARY_FN, "cutoff"));
}

PG_FUNCTION_INFO_V1(churn_summary_combine);
Datum churn_summary_combine(PG_FUNCTION_ARGS)
{
    MemoryContext aggctx;
    if (!AggCheckCallContext(fcinfo, &aggctx))
        elog(ERROR, "churn.summary combine called outside an aggregate");
    summary_state *a = PG_ARGISNULL(0) ? NULL : (summary_state *)PG_GETARG_POINTER(0);
    summary_state *b = PG_ARGISNULL(1) ? NULL : (summary_state *)PG_GETARG_POINTER(1);
    if (!b)
        PG_RETURN_POINTER(a);
    if (!a) {
        a = summary_new(aggctx, b->cutoff, b->unit, b->n);
    } else if (a->cutoff != b->cutoff || a->unit != b->unit) {
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("%s: the cutoff or unit changes within one group", SUMMARY_FN)));
    }
    for (int64 i = 0; i < b->n; i++)
        summary_push(aggctx, a, b->rows[i].time, b->rows[i].amount);
    PG_RETURN_POINTER(a);
}

PG_FUNCTION_INFO_V1(churn_summary_serialize);
Datum churn_summary_serialize(PG_FUNCTION_ARGS)
{
    summary_state *st = (summary_state *)PG_GETARG_POINTER(0);
    StringInfoData buf;
    pq_begintypsend(&buf);
    pq_sendfloat8(&buf, st->cutoff);
    pq_sendfloat8(&buf, st->unit);
    pq_sendint64(&buf, st->n);
    for (int64 i = 0; i < st->n; i++) {
        pq_sendfloat8(&buf, st->rows[i].time);
        pq_sendfloat8(&buf, st->rows[i].amount);
    }
    PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(churn_summary_deserialize);
Datum churn_summary_deserialize(PG_FUNCTION_ARGS)
{
    MemoryContext aggctx;
    if (!AggCheckCallContext(fcinfo, &aggctx))
        elog(ERROR, "churn.summary deserialize called outside an aggregate");
    bytea *b = PG_GETARG_BYTEA_PP(0);
    StringInfoData buf;
    initStringInfo(&buf);
    appendBinaryStringInfo(&buf, VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
    double cutoff = pq_getmsgfloat8(&buf);
    double unit = pq_getmsgfloat8(&buf);
    int64 n = pq_getmsgint64(&buf);
    summary_state *st = summary_new(aggctx, cutoff, unit, n);
    for (int64 i = 0; i < n; i++) {
        double t = pq_getmsgfloat8(&buf);
        double a = pq_getmsgfloat8(&buf);
        summary_push(aggctx, st, t, a);
    }
    pq_getmsgend(&buf);
    PG_RETURN_POINTER(st);
}

static int order_cmp(const void *pa, const void *pb)
{
    const order_row *a = pa, *b = pb;
    if (a->time < b->time)
        return -1;
    if (a->time > b->time)
        return 1;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

/* The state columns of a customer's orders as of the cutoff; false when the
 * customer has no order on or before the cutoff day (churn features leaves
 * such a customer out). */
static bool summary_values(summary_state *st, double *vals, size_t ncols)
{
    double end = st->cutoff + 86400.0; /* the whole cutoff day is included */
    int64 k = 1;
    while (k < st->n && order_cmp(&st->rows[k - 1], &st->rows[k]) <= 0)
        k++;
    if (k < st->n) /* orders usually arrive in time order (a table filled as they come) */
        qsort(st->rows, (size_t)st->n, sizeof(order_row), order_cmp);
    churn_customer_options o = CHURN_CUSTOMER_OPTIONS_INIT;
    o.time_unit = st->unit;
    churn_customer_state s;
    s.struct_size = sizeof s;
    int rc = churn_customer_state_init(&s, &o);
    bool any_order = false;
    for (int64 i = 0; rc == CHURN_OK && i < st->n && st->rows[i].time < end; i++) {
        rc = churn_customer_state_add(&s, st->rows[i].time, st->rows[i].amount);
        if (!(st->rows[i].amount < 0))
            any_order = true;
    }
    if (rc == CHURN_OK && !any_order)
        return false;
    if (rc == CHURN_OK)
        rc = churn_customer_state_values(&s, st->cutoff, vals, ncols);
    if (rc != CHURN_OK)
        raise_churn(rc, SUMMARY_FN); /* the state is plain data: nothing to free */
    return true;
}

/* Columns of churn.customer: the 16 state columns, time_unit_days, cutoff. */
#define CUSTOMER_STATE_COLS 16
#define CUSTOMER_NATTS (CUSTOMER_STATE_COLS + 2)

PG_FUNCTION_INFO_V1(churn_summary_final);
Datum churn_summary_final(PG_FUNCTION_ARGS)
{
    if (PG_ARGISNULL(0))
        PG_RETURN_NULL();
    summary_state *st = (summary_state *)PG_GETARG_POINTER(0);
    if (churn_customer_state_num_columns() < CUSTOMER_STATE_COLS)
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                        errmsg("%s: libchurn gives fewer than %d state columns", SUMMARY_FN,
                               CUSTOMER_STATE_COLS)));
    double vals[CUSTOMER_STATE_COLS];
    if (!summary_values(st, vals, CUSTOMER_STATE_COLS))
        PG_RETURN_NULL();
    TupleDesc td = result_desc(fcinfo, CUSTOMER_NATTS, SUMMARY_FN);
    Datum d[CUSTOMER_NATTS];
    bool nulls[CUSTOMER_NATTS];
    for (int j = 0; j < CUSTOMER_STATE_COLS; j++) {
        d[j] = Float8GetDatum(vals[j]);
        nulls[j] = false;
    }
    d[CUSTOMER_STATE_COLS] = Float8GetDatum(st->unit);
    nulls[CUSTOMER_STATE_COLS] = false;
    d[CUSTOMER_STATE_COLS + 1] =
        DateADTGetDatum((DateADT)llround((st->cutoff - PG_EPOCH_SECONDS) / 86400.0));
    nulls[CUSTOMER_STATE_COLS + 1] = false;
    PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(td, d, nulls)));
}

/* ---- reading composites ------------------------------------------------------ */

/* Attribute numbers of churn.customer (churn--1.0.sql) */
#define ATT_FREQUENCY 1
#define ATT_RECENCY 2
#define ATT_T 3
#define ATT_MONETARY_VALUE 4
#define ATT_TIME_UNIT_DAYS 17

static double composite_float(HeapTupleHeader t, int attno, const char *field, const char *fn)
{
    bool isnull;
    Datum d = GetAttributeByNum(t, (AttrNumber)attno, &isnull);
    if (isnull)
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                        errmsg("%s: field %s of the argument is NULL", fn, field)));
    return DatumGetFloat8(d);
}

typedef struct customer_row {
    double frequency, recency, T, monetary_value, unit;
} customer_row;

/* The BTYD inputs of a churn.customer, and a check that its time unit is the model's. */
static customer_row read_customer(HeapTupleHeader t, const churn_model *model, const char *fn)
{
    customer_row c;
    c.frequency = composite_float(t, ATT_FREQUENCY, "frequency", fn);
    c.recency = composite_float(t, ATT_RECENCY, "recency", fn);
    c.T = composite_float(t, ATT_T, "t", fn);
    c.monetary_value = composite_float(t, ATT_MONETARY_VALUE, "monetary_value", fn);
    c.unit = composite_float(t, ATT_TIME_UNIT_DAYS, "time_unit_days", fn);
    if (model) {
        int rc = churn_model_check_time_unit(model, c.unit);
        if (rc != CHURN_OK)
            raise_churn(rc, fn);
    }
    return c;
}

/* ---- scoring ------------------------------------------------------------------ */

static double p_alive_of(const churn_model *m, double x, double tx, double T, const char *fn)
{
    double out = NAN;
    int rc = churn_btyd_p_alive(m, 1, &x, &tx, &T, &out);
    if (rc != CHURN_OK)
        raise_churn(rc, fn);
    return out;
}

PG_FUNCTION_INFO_V1(churn_pg_p_alive);
Datum churn_pg_p_alive(PG_FUNCTION_ARGS)
{
    const churn_model *m = arg_model(fcinfo, 0, "churn.p_alive");
    PG_RETURN_FLOAT8(p_alive_of(m, PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2),
                                PG_GETARG_FLOAT8(3), "churn.p_alive"));
}

PG_FUNCTION_INFO_V1(churn_pg_p_alive_c);
Datum churn_pg_p_alive_c(PG_FUNCTION_ARGS)
{
    const churn_model *m = arg_model(fcinfo, 0, "churn.p_alive");
    customer_row c = read_customer(PG_GETARG_HEAPTUPLEHEADER(1), m, "churn.p_alive");
    PG_RETURN_FLOAT8(p_alive_of(m, c.frequency, c.recency, c.T, "churn.p_alive"));
}

static double expected_of(const churn_model *m, double h, double x, double tx, double T,
                          const char *fn)
{
    double out = NAN;
    int rc = churn_btyd_expected_purchases(m, h, 1, &x, &tx, &T, &out);
    if (rc != CHURN_OK)
        raise_churn(rc, fn);
    return out;
}

/* churn.expected_purchases(model, horizon, frequency, recency, t) */
PG_FUNCTION_INFO_V1(churn_pg_expected_purchases);
Datum churn_pg_expected_purchases(PG_FUNCTION_ARGS)
{
    const char *fn = "churn.expected_purchases";
    const churn_model *m = arg_model(fcinfo, 0, fn);
    PG_RETURN_FLOAT8(expected_of(m, PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2),
                                 PG_GETARG_FLOAT8(3), PG_GETARG_FLOAT8(4), fn));
}

/* churn.expected_purchases(model, customer, horizon) */
PG_FUNCTION_INFO_V1(churn_pg_expected_purchases_c);
Datum churn_pg_expected_purchases_c(PG_FUNCTION_ARGS)
{
    const char *fn = "churn.expected_purchases";
    const churn_model *m = arg_model(fcinfo, 0, fn);
    customer_row c = read_customer(PG_GETARG_HEAPTUPLEHEADER(1), m, fn);
    PG_RETURN_FLOAT8(expected_of(m, PG_GETARG_FLOAT8(2), c.frequency, c.recency, c.T, fn));
}

static double spend_of(const churn_model *m, double x, double mv, const char *fn)
{
    double out = NAN;
    int rc = churn_gammagamma_expected_spend(m, 1, &x, &mv, &out);
    if (rc != CHURN_OK)
        raise_churn(rc, fn);
    return out;
}

/* churn.expected_spend(model, frequency, monetary_value) */
PG_FUNCTION_INFO_V1(churn_pg_expected_spend);
Datum churn_pg_expected_spend(PG_FUNCTION_ARGS)
{
    const char *fn = "churn.expected_spend";
    const churn_model *m = arg_model(fcinfo, 0, fn);
    PG_RETURN_FLOAT8(spend_of(m, PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2), fn));
}

/* churn.expected_spend(model, customer): the spend model records no unit check
 * (Gamma-Gamma reads no durations). */
PG_FUNCTION_INFO_V1(churn_pg_expected_spend_c);
Datum churn_pg_expected_spend_c(PG_FUNCTION_ARGS)
{
    const char *fn = "churn.expected_spend";
    const churn_model *m = arg_model(fcinfo, 0, fn);
    customer_row c = read_customer(PG_GETARG_HEAPTUPLEHEADER(1), NULL, fn);
    PG_RETURN_FLOAT8(spend_of(m, c.frequency, c.monetary_value, fn));
}

typedef struct value_scores {
    double p_alive, expected_purchases, expected_spend, clv, value_at_risk;
} value_scores;

/* churn_clv_score for one customer; CLV settings from arguments first..first+3
 * (clv_periods int4, period float8, discount float8, margin float8). */
static value_scores value_of(FunctionCallInfo fcinfo, const churn_model *btyd,
                             const churn_model *spend, double x, double tx, double T, double mv,
                             int first, const char *fn)
{
    churn_clv_options o = CHURN_CLV_OPTIONS_INIT;
    o.horizon = PG_GETARG_INT32(first);
    o.period = PG_GETARG_FLOAT8(first + 1);
    o.discount = PG_GETARG_FLOAT8(first + 2);
    o.margin = PG_GETARG_FLOAT8(first + 3);
    value_scores v;
    int rc = churn_clv_score(btyd, spend, &o, 1, &x, &tx, &T, &mv, &v.p_alive,
                             &v.expected_purchases, &v.expected_spend, &v.clv, &v.value_at_risk);
    if (rc != CHURN_OK)
        raise_churn(rc, fn);
    return v;
}

/* (btyd, spend, frequency, recency, t, monetary_value, clv_periods, period, discount, margin) */
static value_scores value_args(FunctionCallInfo fcinfo, const char *fn)
{
    const churn_model *b = arg_model(fcinfo, 0, fn);
    const churn_model *s = arg_model(fcinfo, 1, fn);
    return value_of(fcinfo, b, s, PG_GETARG_FLOAT8(2), PG_GETARG_FLOAT8(3), PG_GETARG_FLOAT8(4),
                    PG_GETARG_FLOAT8(5), 6, fn);
}

/* (btyd, spend, customer, clv_periods, period, discount, margin) */
static value_scores value_args_c(FunctionCallInfo fcinfo, const char *fn)
{
    const churn_model *b = arg_model(fcinfo, 0, fn);
    const churn_model *s = arg_model(fcinfo, 1, fn);
    customer_row c = read_customer(PG_GETARG_HEAPTUPLEHEADER(2), b, fn);
    return value_of(fcinfo, b, s, c.frequency, c.recency, c.T, c.monetary_value, 3, fn);
}

PG_FUNCTION_INFO_V1(churn_pg_clv);
Datum churn_pg_clv(PG_FUNCTION_ARGS)
{
    PG_RETURN_FLOAT8(value_args(fcinfo, "churn.clv").clv);
}

PG_FUNCTION_INFO_V1(churn_pg_clv_c);
Datum churn_pg_clv_c(PG_FUNCTION_ARGS)
{
    PG_RETURN_FLOAT8(value_args_c(fcinfo, "churn.clv").clv);
}

PG_FUNCTION_INFO_V1(churn_pg_value_at_risk);
Datum churn_pg_value_at_risk(PG_FUNCTION_ARGS)
{
    PG_RETURN_FLOAT8(value_args(fcinfo, "churn.value_at_risk").value_at_risk);
}

PG_FUNCTION_INFO_V1(churn_pg_value_at_risk_c);
Datum churn_pg_value_at_risk_c(PG_FUNCTION_ARGS)
{
    PG_RETURN_FLOAT8(value_args_c(fcinfo, "churn.value_at_risk").value_at_risk);
}

/* churn.score(btyd, spend, customer, clv_periods, period, discount, margin) -> churn.scores */
PG_FUNCTION_INFO_V1(churn_pg_score_c);
Datum churn_pg_score_c(PG_FUNCTION_ARGS)
{
    value_scores v = value_args_c(fcinfo, "churn.score");
    TupleDesc td = result_desc(fcinfo, 6, "churn.score");
    Datum d[6] = {Float8GetDatum(v.p_alive), Float8GetDatum(1.0 - v.p_alive),
                  Float8GetDatum(v.expected_purchases), Float8GetDatum(v.expected_spend),
                  Float8GetDatum(v.clv), Float8GetDatum(v.value_at_risk)};
    bool nulls[6] = {false, false, false, false, false, false};
    PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(td, d, nulls)));
}

/* churn.model_family(model) */
PG_FUNCTION_INFO_V1(churn_pg_model_family);
Datum churn_pg_model_family(PG_FUNCTION_ARGS)
{
    const churn_model *m = arg_model(fcinfo, 0, "churn.model_family");
    const char *name = churn_family_name(churn_model_family(m));
    PG_RETURN_TEXT_P(cstring_to_text(name ? name : ""));
}

/* churn.version() */
PG_FUNCTION_INFO_V1(churn_pg_version);
Datum churn_pg_version(PG_FUNCTION_ARGS)
{
    PG_RETURN_TEXT_P(cstring_to_text(churn_version_string()));
}

/* ---- alert rules ----------------------------------------------------------------- */

static const char *const SCORE_FIELDS[6] = {"p_alive", "p_churn", "expected_purchases",
                                            "expected_spend", "clv", "value_at_risk"};

/* churn.alerts(rules text[], customer churn.customer [, scores churn.scores]) -> text[]:
 * the names of the rules that fire, in rule order. A rule on a customer-table
 * column that the composites do not carry (the trend windows, gap_median,
 * n_products, scores, tiers: churn_customer_state_column_index() = -1) is not
 * evaluated, as churn_alerts_evaluate_state() does on the per-order path. */
PG_FUNCTION_INFO_V1(churn_pg_alerts);
Datum churn_pg_alerts(PG_FUNCTION_ARGS)
{
    const char *fn = "churn.alerts";
    ArrayType *rules = PG_GETARG_ARRAYTYPE_P(0);
    HeapTupleHeader cust = PG_GETARG_HEAPTUPLEHEADER(1);
    bool have_scores = PG_NARGS() > 2;

    /* Every PostgreSQL call that may raise comes first: the fields and the rule texts. */
    const char *names[CUSTOMER_STATE_COLS + 6];
    double values[CUSTOMER_STATE_COLS + 6];
    size_t ncols = 0;
    for (size_t j = 0; j < CUSTOMER_STATE_COLS; j++) {
        const char *name = churn_customer_state_column_name(j);
        const char *att = strcmp(name, "T") == 0 ? "t" : name;
        bool isnull;
        Datum d = GetAttributeByName(cust, att, &isnull);
        names[ncols] = name;
        values[ncols++] = isnull ? NAN : DatumGetFloat8(d);
    }
    if (have_scores) {
        HeapTupleHeader sc = PG_GETARG_HEAPTUPLEHEADER(2);
        for (size_t j = 0; j < 6; j++) {
            bool isnull;
            Datum d = GetAttributeByName(sc, SCORE_FIELDS[j], &isnull);
            names[ncols] = SCORE_FIELDS[j];
            values[ncols++] = isnull ? NAN : DatumGetFloat8(d);
        }
    }
    Datum *texts;
    bool *tnulls;
    int nrules;
    deconstruct_array(rules, TEXTOID, -1, false, TYPALIGN_INT, &texts, &tnulls, &nrules);
    char **rule_text = palloc(sizeof(char *) * (nrules > 0 ? nrules : 1));
    for (int i = 0; i < nrules; i++) {
        if (tnulls[i])
            ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                            errmsg("%s: rule %d is NULL", fn, i + 1)));
        rule_text[i] = TextDatumGetCString(texts[i]);
    }
    const double *cols[CUSTOMER_STATE_COLS + 6];
    for (size_t j = 0; j < ncols; j++)
        cols[j] = &values[j];
    /* name of the rule for each bit of the evaluated set, copied out before freeing */
    char fired_names[CHURN_ALERTS_MAX][128];
    int nfired = 0;

    /* Library section: no PostgreSQL call until both rule sets are freed. */
    churn_alerts *all = NULL, *eval = NULL;
    int rc = churn_alerts_new(&all);
    if (rc == CHURN_OK)
        rc = churn_alerts_new(&eval);
    for (int i = 0; rc == CHURN_OK && i < nrules; i++)
        rc = churn_alerts_add_text(all, rule_text[i]);
    int map[CHURN_ALERTS_MAX];
    int neval = 0;
    for (size_t i = 0; rc == CHURN_OK && i < churn_alerts_num_rules(all); i++) {
        const char *name, *field;
        int op;
        double th;
        rc = churn_alerts_rule(all, i, &name, &field, &op, &th);
        if (rc != CHURN_OK)
            break;
        bool given = false;
        for (size_t j = 0; j < ncols; j++)
            given = given || strcmp(names[j], field) == 0;
        if (!given && churn_customer_state_column_index(field) == -1)
            continue; /* a batch-only column: not evaluated */
        rc = churn_alerts_add(eval, name, field, op, th);
        map[neval++] = (int)i;
    }
    uint64_t fired = 0;
    if (rc == CHURN_OK)
        rc = churn_alerts_evaluate(eval, 1, ncols, names, cols, &fired);
    for (int k = 0; rc == CHURN_OK && k < neval; k++) {
        if (fired & ((uint64_t)1 << k)) {
            const char *name;
            churn_alerts_rule(all, (size_t)map[k], &name, NULL, NULL, NULL);
            strlcpy(fired_names[nfired++], name, sizeof fired_names[0]);
        }
    }
    churn_alerts_free(eval);
    churn_alerts_free(all);
    if (rc != CHURN_OK)
        raise_churn(rc, fn);

    Datum *out = palloc(sizeof(Datum) * (nfired > 0 ? nfired : 1));
    for (int k = 0; k < nfired; k++)
        out[k] = CStringGetTextDatum(fired_names[k]);
    PG_RETURN_ARRAYTYPE_P(construct_array(out, nfired, TEXTOID, -1, false, TYPALIGN_INT));
}

/* churn.default_alert_rules() -> text[]: the library's standard rules as text. */
PG_FUNCTION_INFO_V1(churn_pg_default_alert_rules);
Datum churn_pg_default_alert_rules(PG_FUNCTION_ARGS)
{
    static const char *const opname[] = {"?", "<", "<=", ">", ">=", "==", "!="};
    char texts[CHURN_ALERTS_MAX][256];
    int n = 0;
    churn_alerts *a = NULL;
    int rc = churn_alerts_new(&a);
    if (rc == CHURN_OK)
        rc = churn_alerts_add_defaults(a);
    for (size_t i = 0; rc == CHURN_OK && i < churn_alerts_num_rules(a); i++) {
        const char *name, *field;
        int op;
        double th;
        rc = churn_alerts_rule(a, i, &name, &field, &op, &th);
        if (rc != CHURN_OK)
            break;
        char num[40]; /* the shortest text that reads back as the same double */
        for (int digits = 15; digits <= 17; digits++) {
            snprintf(num, sizeof num, "%.*g", digits, th);
            if (strtod(num, NULL) == th)
                break;
        }
        snprintf(texts[n++], sizeof texts[0], "%s: %s %s %s", name, field,
                 (op >= 1 && op <= 6) ? opname[op] : "?", num);
    }
    churn_alerts_free(a);
    if (rc != CHURN_OK)
        raise_churn(rc, "churn.default_alert_rules");
    Datum *out = palloc(sizeof(Datum) * (n > 0 ? n : 1));
    for (int k = 0; k < n; k++)
        out[k] = CStringGetTextDatum(texts[k]);
    PG_RETURN_ARRAYTYPE_P(construct_array(out, n, TEXTOID, -1, false, TYPALIGN_INT));
}
