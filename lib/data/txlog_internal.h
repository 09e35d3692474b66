/* Private layout of the transaction log, shared by txlog.c, csv.c, simulate.c
 * and customers.c. */
#ifndef CHURN_TXLOG_INTERNAL_H
#define CHURN_TXLOG_INTERNAL_H

#include "core/internal.h"

typedef struct churn__idchunk churn__idchunk;

typedef struct churn__idtable {
    char **strings;     /* count NUL-terminated strings, stored in the chunks below */
    uint64_t *hashes;   /* hash of each string (so growing never rehashes text) */
    size_t count, strings_cap;
    uint32_t *slots;    /* open-addressing table of indices into strings, UINT32_MAX = empty */
    size_t cap;         /* power of two */
    churn__idchunk *chunks; /* string arena: one allocation per ~64 KiB of ids, not per id */
} churn__idtable;

CHURN__HIDDEN int churn__intern(churn__idtable *t, const char *s, size_t n, uint32_t *index);
CHURN__HIDDEN int churn__intern_find(const churn__idtable *t, const char *s, size_t n,
                                     uint32_t *index);
CHURN__HIDDEN void churn__intern_free(churn__idtable *t);

struct churn_txlog {
    size_t n, cap;
    uint32_t *customer;
    double *time;        /* seconds since the epoch */
    double *amount;      /* NaN = unknown (a log or rows read without amounts): an order */
    double *quantity;    /* NaN = unknown; NULL until a row has a quantity */
    uint32_t *product;   /* UINT32_MAX = none; NULL until a row has a product */
    churn__idtable customer_ids;
    churn__idtable product_ids;
    double min_time, max_time;
    /* CSV bookkeeping */
    size_t rows_read, rows_skipped;
    char **messages;
    size_t nmessages;
};

typedef struct churn__txlog_mark_t {
    size_t n, ncustomers, nproducts;
    double min_time, max_time;
} churn__txlog_mark_t;

/* Ensure room for `extra` more rows. */
CHURN__HIDDEN int churn__txlog_reserve(churn_txlog *log, size_t extra);
/* Create the quantity and/or product column (existing rows get NaN / none).
 * Must be called before pushing a row with a quantity or a product. */
CHURN__HIDDEN int churn__txlog_enable(churn_txlog *log, int quantity, int product);
/* Append a validated row (room must be reserved; a non-NaN quantity or a
 * product needs its column enabled). */
CHURN__HIDDEN void churn__txlog_push(churn_txlog *log, uint32_t customer, double time,
                                     double amount, double quantity, uint32_t product);
CHURN__HIDDEN void churn__txlog_mark(const churn_txlog *log, churn__txlog_mark_t *mk);
CHURN__HIDDEN void churn__txlog_rollback(churn_txlog *log, const churn__txlog_mark_t *mk);

#endif
