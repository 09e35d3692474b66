/*
 * Transaction logs: columns of purchases plus interned customer/product ids.
 * The CSV reader lives in csv.c.
 */
#include "core/internal.h"
#include "data/txlog_internal.h"

#include <inttypes.h>
#include <stdio.h>

/* ---- string interning: open addressing, FNV-1a ---------------------------- */

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

struct churn__idchunk {
    churn__idchunk *next;
    size_t used, cap;
    char data[];
};

#define IDCHUNK_BYTES ((size_t)64 << 10)

void churn__intern_free(churn__idtable *t)
{
    for (churn__idchunk *c = t->chunks, *next; c; c = next) {
        next = c->next;
        churn__free(c);
    }
    churn__free(t->strings);
    churn__free(t->hashes);
    churn__free(t->slots);
    memset(t, 0, sizeof *t);
}

/* Copy n bytes + NUL into the arena. */
static char *arena_copy(churn__idtable *t, const char *s, size_t n)
{
    churn__idchunk *c = t->chunks;
    if (!c || c->cap - c->used < n + 1) {
        size_t cap = n + 1 > IDCHUNK_BYTES ? n + 1 : IDCHUNK_BYTES;
        c = churn__malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = t->chunks;
        t->chunks = c;
    }
    char *d = c->data + c->used;
    memcpy(d, s, n);
    d[n] = '\0';
    c->used += n + 1;
    return d;
}

static int intern_grow(churn__idtable *t)
{
    size_t ncap = t->cap ? t->cap * 2 : 1024;
    uint32_t *slots = churn__malloc(churn__mul_size(ncap, sizeof *slots));
    if (!slots)
        return CHURN_ENOMEM;
    for (size_t i = 0; i < ncap; i++)
        slots[i] = UINT32_MAX;
    for (size_t k = 0; k < t->count; k++) {
        size_t j = t->hashes[k] & (ncap - 1);
        while (slots[j] != UINT32_MAX)
            j = (j + 1) & (ncap - 1);
        slots[j] = (uint32_t)k;
    }
    churn__free(t->slots);
    t->slots = slots;
    t->cap = ncap;
    return CHURN_OK;
}

int churn__intern_find(const churn__idtable *t, const char *s, size_t n, uint32_t *index)
{
    if (!t->cap)
        return CHURN_ENOTFOUND;
    uint64_t h = hash_bytes(s, n);
    size_t j = h & (t->cap - 1);
    while (t->slots[j] != UINT32_MAX) {
        const char *c = t->strings[t->slots[j]];
        if (t->hashes[t->slots[j]] == h && memcmp(c, s, n) == 0 && c[n] == '\0') {
            *index = t->slots[j];
            return CHURN_OK;
        }
        j = (j + 1) & (t->cap - 1);
    }
    return CHURN_ENOTFOUND;
}

int churn__intern(churn__idtable *t, const char *s, size_t n, uint32_t *index)
{
    if (churn__intern_find(t, s, n, index) == CHURN_OK)
        return CHURN_OK;
    if (t->count >= UINT32_MAX - 1)
        return churn__error(CHURN_ERANGE, "more than 4294967294 distinct ids");
    if ((t->count + 1) * 2 > t->cap && intern_grow(t))
        return churn__nomem("the id table");
    if (t->count == t->strings_cap) {
        size_t nc = t->strings_cap ? t->strings_cap * 2 : 1024;
        char **ns = churn__realloc(t->strings, churn__mul_size(nc, sizeof *ns));
        if (!ns)
            return churn__nomem("the id table");
        t->strings = ns;
        uint64_t *nh = churn__realloc(t->hashes, churn__mul_size(nc, sizeof *nh));
        if (!nh)
            return churn__nomem("the id table");
        t->hashes = nh;
        t->strings_cap = nc;
    }
    char *copy = arena_copy(t, s, n);
    if (!copy)
        return churn__nomem("an id");
    uint64_t h = hash_bytes(s, n);
    size_t j = h & (t->cap - 1);
    while (t->slots[j] != UINT32_MAX)
        j = (j + 1) & (t->cap - 1);
    t->slots[j] = (uint32_t)t->count;
    t->strings[t->count] = copy;
    t->hashes[t->count] = h;
    *index = (uint32_t)t->count++;
    return CHURN_OK;
}

/* ---- the log ---------------------------------------------------------------- */

CHURN_API int churn_txlog_new(churn_txlog **out)
{
    churn__ok();
    if (!out)
        return churn__error(CHURN_EINVAL, "churn_txlog_new: out is NULL");
    *out = churn__calloc(1, sizeof **out);
    if (!*out)
        return churn__nomem("a transaction log");
    (*out)->min_time = INFINITY;
    (*out)->max_time = -INFINITY;
    return CHURN_OK;
}

CHURN_API void churn_txlog_free(churn_txlog *log)
{
    if (!log)
        return;
    churn__intern_free(&log->customer_ids);
    churn__intern_free(&log->product_ids);
    churn__free(log->customer);
    churn__free(log->time);
    churn__free(log->amount);
    churn__free(log->quantity);
    churn__free(log->product);
    for (size_t i = 0; i < log->nmessages; i++)
        churn__free(log->messages[i]);
    churn__free(log->messages);
    churn__free(log);
}

int churn__txlog_reserve(churn_txlog *log, size_t extra)
{
    if (extra > SIZE_MAX - log->n)
        return churn__nomem("transaction rows");
    size_t need = log->n + extra;
    if (need <= log->cap)
        return CHURN_OK;
    size_t ncap = log->cap ? log->cap : 1024;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 4 ? need : ncap * 2;
    /* Grow each column; on failure the columns that grew keep their old data
     * and `cap` stays the old capacity, so the log remains consistent. */
    uint32_t *c = churn__realloc(log->customer, churn__mul_size(ncap, sizeof *c));
    if (!c)
        return churn__nomem("transaction rows");
    log->customer = c;
    double *t = churn__realloc(log->time, churn__mul_size(ncap, sizeof *t));
    if (!t)
        return churn__nomem("transaction rows");
    log->time = t;
    double *a = churn__realloc(log->amount, churn__mul_size(ncap, sizeof *a));
    if (!a)
        return churn__nomem("transaction rows");
    log->amount = a;
    if (log->quantity) {
        double *q = churn__realloc(log->quantity, churn__mul_size(ncap, sizeof *q));
        if (!q)
            return churn__nomem("transaction rows");
        log->quantity = q;
    }
    if (log->product) {
        uint32_t *p = churn__realloc(log->product, churn__mul_size(ncap, sizeof *p));
        if (!p)
            return churn__nomem("transaction rows");
        log->product = p;
    }
    log->cap = ncap;
    return CHURN_OK;
}

/* The optional columns cost 12 bytes a row; most logs have neither, so they
 * are created on first use. */
int churn__txlog_enable(churn_txlog *log, int quantity, int product)
{
    size_t cap = log->cap ? log->cap : 1;
    if (quantity && !log->quantity) {
        double *q = churn__malloc(churn__mul_size(cap, sizeof *q));
        if (!q)
            return churn__nomem("the quantity column");
        for (size_t i = 0; i < log->n; i++)
            q[i] = NAN;
        log->quantity = q;
    }
    if (product && !log->product) {
        uint32_t *p = churn__malloc(churn__mul_size(cap, sizeof *p));
        if (!p)
            return churn__nomem("the product column");
        for (size_t i = 0; i < log->n; i++)
            p[i] = UINT32_MAX;
        log->product = p;
    }
    return CHURN_OK;
}

/* Validate one row's values; `row` < 0 means a single append. */
static int check_row(const char *fn, long long row, double time, double amount, double quantity)
{
    char where[48] = "";
    if (row >= 0)
        snprintf(where, sizeof where, " (row %lld)", row);
    if (!isfinite(time))
        return churn__error(CHURN_EINVAL, "%s%s: time %g is not a finite number", fn, where, time);
    if (!isfinite(amount))
        return churn__error(CHURN_EINVAL, "%s%s: amount %g is not a finite number%s", fn, where,
                            amount, isnan(amount) ? " (for a log without amounts pass "
                            "amounts = NULL to churn_txlog_append_arrays*)" : "");
    if (isinf(quantity))
        return churn__error(CHURN_EINVAL, "%s%s: quantity %g is not finite (use NaN for "
                            "unknown)", fn, where, quantity);
    return CHURN_OK;
}

void churn__txlog_push(churn_txlog *log, uint32_t customer, double time, double amount,
                       double quantity, uint32_t product)
{
    size_t i = log->n++;
    log->customer[i] = customer;
    log->time[i] = time;
    log->amount[i] = amount;
    if (log->quantity)
        log->quantity[i] = quantity;
    if (log->product)
        log->product[i] = product;
    if (time < log->min_time)
        log->min_time = time;
    if (time > log->max_time)
        log->max_time = time;
}

/* Undo everything appended since a mark (used by all-or-nothing bulk appends). */
void churn__txlog_mark(const churn_txlog *log, churn__txlog_mark_t *mk)
{
    mk->n = log->n;
    mk->ncustomers = log->customer_ids.count;
    mk->nproducts = log->product_ids.count;
    mk->min_time = log->min_time;
    mk->max_time = log->max_time;
}

static void intern_truncate(churn__idtable *t, size_t count)
{
    if (t->count == count)
        return;
    /* The removed ids' bytes stay in the arena until the log is freed. */
    t->count = count;
    /* rebuild the slots (cheap relative to the failure path) */
    for (size_t j = 0; j < t->cap; j++)
        t->slots[j] = UINT32_MAX;
    for (size_t k = 0; k < t->count; k++) {
        size_t j = t->hashes[k] & (t->cap - 1);
        while (t->slots[j] != UINT32_MAX)
            j = (j + 1) & (t->cap - 1);
        t->slots[j] = (uint32_t)k;
    }
}

void churn__txlog_rollback(churn_txlog *log, const churn__txlog_mark_t *mk)
{
    log->n = mk->n;
    intern_truncate(&log->customer_ids, mk->ncustomers);
    intern_truncate(&log->product_ids, mk->nproducts);
    log->min_time = mk->min_time;
    log->max_time = mk->max_time;
}

CHURN_API int churn_txlog_append_ex(churn_txlog *log, const char *customer_id, double time,
                                    double amount, double quantity, const char *product)
{
    churn__ok();
    if (!log)
        return churn__error(CHURN_EINVAL, "churn_txlog_append: log is NULL");
    if (!customer_id || !*customer_id)
        return churn__error(CHURN_EINVAL, "churn_txlog_append: customer_id is NULL or empty");
    int rc = check_row("churn_txlog_append", -1, time, amount, quantity);
    if (rc)
        return rc;
    churn__txlog_mark_t mk;
    churn__txlog_mark(log, &mk);
    uint32_t c, p = UINT32_MAX;
    if ((rc = churn__txlog_enable(log, !isnan(quantity), product != NULL)) ||
        (rc = churn__txlog_reserve(log, 1)) ||
        (rc = churn__intern(&log->customer_ids, customer_id, strlen(customer_id), &c)) ||
        (product && (rc = churn__intern(&log->product_ids, product, strlen(product), &p)))) {
        churn__txlog_rollback(log, &mk);
        return rc;
    }
    churn__txlog_push(log, c, time, amount, quantity, p);
    return CHURN_OK;
}

CHURN_API int churn_txlog_append(churn_txlog *log, const char *customer_id, double time,
                                 double amount)
{
    return churn_txlog_append_ex(log, customer_id, time, amount, NAN, NULL);
}

static int append_arrays(churn_txlog *log, size_t n, const int64_t *ids_i,
                         const char *const *ids_s, const double *times, const double *amounts,
                         const double *quantities, const int64_t *prod_i,
                         const char *const *prod_s, const char *fn)
{
    churn__ok();
    if (!log || (n && (!times || (!ids_i && !ids_s))))
        return churn__error(CHURN_EINVAL, "%s: NULL argument", fn);
    /* amounts NULL: every row's amount is unknown (stored as NaN, an order) */
    for (size_t i = 0; i < n; i++) {
        int rc = check_row(fn, (long long)i, times[i], amounts ? amounts[i] : 0.0,
                           quantities ? quantities[i] : NAN);
        if (rc)
            return rc;
        if (ids_s && (!ids_s[i] || !*ids_s[i]))
            return churn__error(CHURN_EINVAL, "%s (row %zu): customer id is NULL or empty", fn, i);
    }
    churn__txlog_mark_t mk;
    churn__txlog_mark(log, &mk);
    int rc = churn__txlog_enable(log, quantities != NULL, prod_i != NULL || prod_s != NULL);
    if (!rc)
        rc = churn__txlog_reserve(log, n);
    char buf[32];
    for (size_t i = 0; !rc && i < n; i++) {
        uint32_t c, p = UINT32_MAX;
        if (ids_i) {
            int len = snprintf(buf, sizeof buf, "%" PRId64, ids_i[i]);
            rc = churn__intern(&log->customer_ids, buf, (size_t)len, &c);
        } else {
            rc = churn__intern(&log->customer_ids, ids_s[i], strlen(ids_s[i]), &c);
        }
        if (!rc && prod_i) {
            int len = snprintf(buf, sizeof buf, "%" PRId64, prod_i[i]);
            rc = churn__intern(&log->product_ids, buf, (size_t)len, &p);
        } else if (!rc && prod_s && prod_s[i]) {
            rc = churn__intern(&log->product_ids, prod_s[i], strlen(prod_s[i]), &p);
        }
        if (!rc)
            churn__txlog_push(log, c, times[i], amounts ? amounts[i] : NAN,
                              quantities ? quantities[i] : NAN, p);
    }
    if (rc)
        churn__txlog_rollback(log, &mk);
    return rc;
}

CHURN_API int churn_txlog_append_arrays(churn_txlog *log, size_t n, const int64_t *customer_ids,
                                        const double *times, const double *amounts,
                                        const double *quantities, const int64_t *products)
{
    return append_arrays(log, n, customer_ids, NULL, times, amounts, quantities, products, NULL,
                         "churn_txlog_append_arrays");
}

CHURN_API int churn_txlog_append_arrays_str(churn_txlog *log, size_t n,
                                            const char *const *customer_ids, const double *times,
                                            const double *amounts, const double *quantities,
                                            const char *const *products)
{
    return append_arrays(log, n, NULL, customer_ids, times, amounts, quantities, NULL, products,
                         "churn_txlog_append_arrays_str");
}

CHURN_API size_t churn_txlog_num_transactions(const churn_txlog *log) { return log ? log->n : 0; }
CHURN_API size_t churn_txlog_num_customers(const churn_txlog *log)
{
    return log ? log->customer_ids.count : 0;
}
CHURN_API size_t churn_txlog_num_products(const churn_txlog *log)
{
    return log ? log->product_ids.count : 0;
}

CHURN_API const char *churn_txlog_customer_id(const churn_txlog *log, size_t i)
{
    return (log && i < log->customer_ids.count) ? log->customer_ids.strings[i] : NULL;
}

CHURN_API int churn_txlog_customer_ids_packed(const churn_txlog *log, char *buf, size_t cap,
                                              size_t *needed)
{
    churn__ok();
    if (needed)
        *needed = 0;
    if (!log)
        return churn__error(CHURN_EINVAL, "churn_txlog_customer_ids_packed: 'log' is NULL");
    size_t n = log->customer_ids.count, total = 0;
    for (size_t i = 0; i < n; i++)
        total += strlen(log->customer_ids.strings[i]) + 1;
    if (needed)
        *needed = total;
    if (cap < total || (total && !buf))
        return churn__error(CHURN_ERANGE, "churn_txlog_customer_ids_packed: the buffer holds "
                            "%zu bytes, the ids take %zu", cap, total);
    char *p = buf;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(log->customer_ids.strings[i]) + 1;
        memcpy(p, log->customer_ids.strings[i], len);
        p += len;
    }
    return CHURN_OK;
}

CHURN_API const char *churn_txlog_product_id(const churn_txlog *log, size_t i)
{
    return (log && i < log->product_ids.count) ? log->product_ids.strings[i] : NULL;
}

CHURN_API int churn_txlog_find_customer(const churn_txlog *log, const char *id, size_t *index)
{
    churn__ok();
    if (!log || !id || !index)
        return churn__error(CHURN_EINVAL, "churn_txlog_find_customer: NULL argument");
    uint32_t k;
    if (churn__intern_find(&log->customer_ids, id, strlen(id), &k) != CHURN_OK)
        return churn__error(CHURN_ENOTFOUND, "customer '%s' is not in the log", id);
    *index = k;
    return CHURN_OK;
}

CHURN_API const uint32_t *churn_txlog_customers(const churn_txlog *log)
{
    return (log && log->n) ? log->customer : NULL;
}
CHURN_API const double *churn_txlog_times(const churn_txlog *log)
{
    return (log && log->n) ? log->time : NULL;
}
CHURN_API const double *churn_txlog_amounts(const churn_txlog *log)
{
    return (log && log->n) ? log->amount : NULL;
}
CHURN_API const double *churn_txlog_quantities(const churn_txlog *log)
{
    return (log && log->n) ? log->quantity : NULL; /* NULL: no row has a quantity */
}
CHURN_API const uint32_t *churn_txlog_products(const churn_txlog *log)
{
    return (log && log->n) ? log->product : NULL; /* NULL: no row has a product */
}

CHURN_API double churn_txlog_min_time(const churn_txlog *log)
{
    return (log && log->n) ? log->min_time : NAN;
}
CHURN_API double churn_txlog_max_time(const churn_txlog *log)
{
    return (log && log->n) ? log->max_time : NAN;
}

CHURN_API size_t churn_txlog_rows_skipped(const churn_txlog *log)
{
    return log ? log->rows_skipped : 0;
}
CHURN_API size_t churn_txlog_rows_read(const churn_txlog *log) { return log ? log->rows_read : 0; }

CHURN_API size_t churn_txlog_rows_failed(const churn_txlog *log)
{
    return log ? log->rows_failed : 0;
}

CHURN_API const char *churn_txlog_skip_message(const churn_txlog *log, size_t i)
{
    return (log && i < log->nmessages) ? log->messages[i] : NULL;
}
