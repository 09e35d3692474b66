/*
 * Lua 5.4 binding: streaming customer tables (churn.stream, st:*).
 *
 * Owns: the stream handle: purchases appended and folded chunk by chunk into
 * per-customer summaries, finished into a customer table.
 * Calls: lchurn_customers.c (customer options, the table class),
 * lchurn_txlog.c (appending purchases, CSV options), lchurn_util.c, libchurn.
 */
#include "lchurn.h"

/* A stream handle; `folded` keeps the count of folded rows once closed. */
typedef struct lstream {
    lhandle h;
    uint64_t folded;
} lstream;

static void free_stream(void *s) { churn_customer_stream_free((churn_customer_stream *)s); }

static const lclass stream_class = {STREAM_MT, "attempt to use a closed or finished churn stream",
                                    free_stream};

static lstream *check_lstream(lua_State *L, int idx)
{
    return (lstream *)lchurn__check_handle(L, idx, &stream_class);
}

/* A stream method whose body runs with the stream pinned (see lhandle). */
#define STREAM_METHOD(name) HANDLE_METHOD(name, stream_class, churn_customer_stream, s)

/* The one closer of streams, for close(), finish(), __close and __gc (collect = 1). */
static void stream_closer(lstream *u, int collect)
{
    if (u->h.stream)
        u->folded = churn_customer_stream_rows_folded(u->h.stream);
    lchurn__close_handle(&u->h, &stream_class, collect);
}

/* churn.stream(opts) -> stream | nil, msg, code (the options of log:customers;
 * cutoff required) */
int lchurn__stream(lua_State *L)
{
    static const char what[] = "stream";
    lua_settop(L, 1);
    churn_customer_options o;
    lchurn__customer_options(L, 1, &o, what);
    lstream *u = (lstream *)lchurn__new_handle(L, &stream_class, sizeof *u);
    int rc = churn_customer_stream_new(&u->h.stream, &o);
    if (rc)
        return lchurn__push_fail(L, rc);
    return 1;
}

/* st:add(purchases) -> true | nil, msg, code: append and fold (purchases before
 * a bad one stay, to be folded by the next add or finish) */
STREAM_METHOD(st_add)
{
    int top = lua_gettop(L);
    if (lchurn__append_purchases(L, churn_customer_stream_log(s), 2, "purchases"))
        return 3;
    lua_settop(L, top);
    int rc = churn_customer_stream_fold(s);
    if (rc)
        return lchurn__push_fail(L, rc);
    lua_pushboolean(L, 1);
    return 1;
}

static int stream_chunk(churn_txlog *log, void *ud)
{
    (void)log;
    return churn_customer_stream_fold((churn_customer_stream *)ud);
}

/* st:read_csv(path [, opts [, chunk_rows]]) -> true | nil, msg, code: the rows
 * of a CSV file (options of log:read_csv), folded every chunk_rows rows
 * (default 1048576) */
STREAM_METHOD(st_read_csv)
{
    lua_settop(L, 4);
    const char *path = luaL_checkstring(L, 2);
    churn_csv_options o;
    lchurn__csv_options(L, 3, &o);
    lua_Integer chunk = luaL_optinteger(L, 4, (lua_Integer)1 << 20);
    luaL_argcheck(L, chunk >= 1, 4, "chunk_rows must be at least 1");
    int rc = churn_txlog_read_csv_chunked(churn_customer_stream_log(s), path, &o, (size_t)chunk,
                                          stream_chunk, s);
    if (rc)
        return lchurn__push_fail(L, rc);
    lua_pushboolean(L, 1);
    return 1;
}

/* st:rows_folded() -> transactions folded so far (also after finish/close) */
static int st_rows_folded(lua_State *L)
{
    lstream *u = (lstream *)luaL_checkudata(L, 1, STREAM_MT);
    uint64_t n = u->h.stream ? churn_customer_stream_rows_folded(u->h.stream) : u->folded;
    lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

/* st:finish() -> customer table | nil, msg, code. The stream is closed
 * afterwards (its memory freed), whatever the outcome. */
static int st_finish(lua_State *L)
{
    check_lstream(L, 1);
    lhandle *tu = lchurn__new_handle(L, &lchurn__table_class, sizeof *tu);
    lstream *u = check_lstream(L, 1); /* the allocation may have run finalizers */
    int rc = churn_customer_stream_finish(u->h.stream, &tu->table);
    int n = rc ? lchurn__push_fail(L, rc) : 1;
    stream_closer(u, 0);
    return n;
}

static int st_close(lua_State *L)
{
    stream_closer((lstream *)luaL_checkudata(L, 1, STREAM_MT), 0);
    return 0;
}

static int st_gc(lua_State *L)
{
    stream_closer((lstream *)luaL_checkudata(L, 1, STREAM_MT), 1);
    return 0;
}

static int st_tostring(lua_State *L)
{
    lstream *u = (lstream *)luaL_checkudata(L, 1, STREAM_MT);
    if (!u->h.stream)
        lua_pushfstring(L, "churn.stream (closed, %I transactions folded)", (lua_Integer)u->folded);
    else
        lua_pushfstring(
            L, "churn.stream (%I transactions folded, %I customers)",
            (lua_Integer)churn_customer_stream_rows_folded(u->h.stream),
            (lua_Integer)churn_txlog_num_customers(churn_customer_stream_log(u->h.stream)));
    return 1;
}

static const luaL_Reg stream_methods[] = {
    {"add", st_add},       {"read_csv", st_read_csv}, {"rows_folded", st_rows_folded},
    {"finish", st_finish}, {"close", st_close},       {NULL, NULL},
};

static const luaL_Reg stream_meta[] = {
    {"__gc", st_gc},   {"__close", st_close}, {"__tostring", st_tostring},
    {"__index", NULL}, {NULL, NULL},
};

void lchurn__open_stream(lua_State *L)
{
    lchurn__new_class(L, STREAM_MT, stream_meta, stream_methods);
}
