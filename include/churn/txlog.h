/**
 * @file churn/txlog.h
 * @brief Transaction logs: purchase histories from arrays, appends or CSV files.
 *
 * A transaction log holds, per purchase: the customer, the time of purchase,
 * the amount, and optionally a quantity and a product (or category). Rows may
 * arrive in any order. Customer and product ids are interned strings: the
 * original text comes back out unchanged (integer ids are stored as their
 * decimal text).
 *
 * Time is an instant in **seconds since 1970-01-01T00:00:00 UTC** (a double;
 * dates without a time of day are midnight UTC). Features and models convert
 * to their own unit (days, weeks, ...) relative to a cutoff (customers.h).
 *
 * Amounts are in the caller's currency. Negative amounts (refunds, returns)
 * and zero amounts (free orders) are valid data and are kept.
 *
 * Logs without amounts (a common export: customer, date). The amount is
 * optional: rows read with churn_csv_options::amount_column "" or appended
 * with `amounts` NULL (churn_txlog_append_arrays()) have an **unknown amount**,
 * stored as NaN in churn_txlog_amounts(). Such a row is an order, never a
 * refund. Purchase counts and times (frequency, recency, T, ...) and the BTYD
 * models are exactly those of the same log with amounts; the customer table's
 * spend columns are NaN for its customer, and the Gamma-Gamma model and CLV
 * refuse NaN spend with a message that says the spend is unknown
 * (customers.h, spend.h). A log may mix rows with and without amounts (two
 * reads, or two appends). A NaN *given* as an amount stays an error: an
 * unknown amount is declared, never inferred from a missing value.
 * (Logs without amounts: since 1.2.)
 *
 * Threading: a log may be read by many threads at once; appends need
 * exclusive access.
 */
#ifndef CHURN_TXLOG_H
#define CHURN_TXLOG_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque transaction log. @since 1.0 */
typedef struct churn_txlog churn_txlog;

/** Seconds in a day, for converting times. */
#define CHURN_SECONDS_PER_DAY 86400.0

/**
 * Create an empty transaction log.
 * @param[out] out  the new log, NULL on failure
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_ENOMEM
 * @since 1.0
 */
CHURN_API int churn_txlog_new(churn_txlog **out);

/** Free a log and everything it owns. NULL is a no-op. @since 1.0 */
CHURN_API void churn_txlog_free(churn_txlog *log);

/**
 * Append one purchase.
 * @param[in] customer_id  customer id text (copied; interned); must be non-empty
 * @param[in] time         seconds since the Unix epoch (finite)
 * @param[in] amount       amount (finite; negative = refund); for a purchase of
 *                         unknown amount use churn_txlog_append_arrays_str() with
 *                         n = 1 and `amounts` NULL
 * @return ::CHURN_OK, ::CHURN_EINVAL (NULL/empty id, non-finite time or
 *         amount; the message names the argument), ::CHURN_ENOMEM
 * @since 1.0
 */
CHURN_API int churn_txlog_append(churn_txlog *log, const char *customer_id, double time,
                                 double amount);

/**
 * Append one purchase with a quantity and a product.
 * @param[in] quantity  units bought (finite), or NaN when unknown
 * @param[in] product   product or category id (copied; interned), or NULL
 * @return as churn_txlog_append()
 * @since 1.0
 */
CHURN_API int churn_txlog_append_ex(churn_txlog *log, const char *customer_id, double time,
                                    double amount, double quantity, const char *product);

/**
 * Append `n` purchases from borrowed arrays with integer customer ids
 * (stored as their decimal text). All-or-nothing: on any invalid row nothing
 * is appended and the message names the row index.
 * @param[in] customer_ids  n ids
 * @param[in] times         n times, seconds since the epoch
 * @param[in] amounts       n finite amounts, or NULL: every amount of these rows is
 *                          unknown (stored as NaN: orders; see the top of this
 *                          header; NULL accepted since 1.2)
 * @param[in] quantities    n quantities, or NULL
 * @param[in] products      n integer product ids, or NULL
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_ENOMEM
 * @since 1.0
 */
CHURN_API int churn_txlog_append_arrays(churn_txlog *log, size_t n, const int64_t *customer_ids,
                                        const double *times, const double *amounts,
                                        const double *quantities, const int64_t *products);

/**
 * Append `n` purchases from borrowed arrays with string customer ids.
 * Same rules as churn_txlog_append_arrays(); `products` may be NULL and an
 * individual product may be NULL (none).
 * @since 1.0
 */
CHURN_API int churn_txlog_append_arrays_str(churn_txlog *log, size_t n,
                                            const char *const *customer_ids, const double *times,
                                            const double *amounts, const double *quantities,
                                            const char *const *products);

/** Number of transactions (rows). @since 1.0 */
CHURN_API size_t churn_txlog_num_transactions(const churn_txlog *log);

/** Number of distinct customers. @since 1.0 */
CHURN_API size_t churn_txlog_num_customers(const churn_txlog *log);

/** Number of distinct products (0 when the log has none). @since 1.0 */
CHURN_API size_t churn_txlog_num_products(const churn_txlog *log);

/**
 * Original id text of customer `index` (0 ≤ index < num_customers), in order
 * of first appearance. Owned by the log, valid until it is freed; NULL when
 * out of range.
 * @since 1.0
 */
CHURN_API const char *churn_txlog_customer_id(const churn_txlog *log, size_t index);

/**
 * Every customer id of the log in one call (what churn_txlog_customer_id()
 * gives index by index): the ids in order of first appearance, each followed
 * by one NUL byte, copied into `buf`.
 *
 * @param[in]  log     a log
 * @param[out] buf     destination (may be NULL when cap is 0)
 * @param[in]  cap     its capacity in bytes
 * @param[out] needed  bytes the ids take: the sum over customers of
 *                     strlen(id) + 1 (0 for an empty log; may be NULL)
 * @return ::CHURN_OK; ::CHURN_EINVAL (NULL log);
 *         ::CHURN_ERANGE (cap too small: *needed is set, nothing written)
 * No allocation. Thread-safe for an unmodified log.
 * @since 1.3
 */
CHURN_API int churn_txlog_customer_ids_packed(const churn_txlog *log, char *buf, size_t cap,
                                              size_t *needed);

/** Original id text of product `index`, or NULL. @since 1.0 */
CHURN_API const char *churn_txlog_product_id(const churn_txlog *log, size_t index);

/**
 * Look up a customer's index by its id text.
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_ENOTFOUND
 * @since 1.0
 */
CHURN_API int churn_txlog_find_customer(const churn_txlog *log, const char *customer_id,
                                        size_t *index);

/**
 * Borrowed column pointers, valid until the next append or free; NULL for an
 * empty log. Row i of every column describes transaction i, in input order.
 *  - churn_txlog_customers(): customer index of each row (uint32);
 *  - churn_txlog_times(): seconds since the epoch;
 *  - churn_txlog_amounts(): amount; NaN when unknown (a row read or appended
 *    without an amount, an order);
 *  - churn_txlog_quantities(): quantity (NaN when unknown); NULL when no row
 *    of the log has a quantity;
 *  - churn_txlog_products(): product index, or UINT32_MAX for none; NULL when
 *    no row of the log has a product.
 * @since 1.0
 */
CHURN_API const uint32_t *churn_txlog_customers(const churn_txlog *log);
CHURN_API const double *churn_txlog_times(const churn_txlog *log);
CHURN_API const double *churn_txlog_amounts(const churn_txlog *log);
CHURN_API const double *churn_txlog_quantities(const churn_txlog *log);
CHURN_API const uint32_t *churn_txlog_products(const churn_txlog *log);

/** Earliest and latest purchase time (seconds since the epoch); NaN when empty. @since 1.0 */
CHURN_API double churn_txlog_min_time(const churn_txlog *log);
CHURN_API double churn_txlog_max_time(const churn_txlog *log);

/* ---- CSV ------------------------------------------------------------------ */

/** Date formats for CSV time columns. @since 1.0 */
typedef enum churn_date_format {
    CHURN_DATE_AUTO = 0,     /**< detect per field: ISO date/date-time, YYYYMMDD, epoch seconds */
    CHURN_DATE_ISO = 1,      /**< YYYY-MM-DD, optionally followed by [T ]HH:MM[:SS[.fff]][Z|±HH:MM] */
    CHURN_DATE_YYYYMMDD = 2, /**< 8 digits, e.g. 19970101 */
    CHURN_DATE_EPOCH = 3     /**< seconds since 1970-01-01 UTC (may be fractional) */
} churn_date_format;

/**
 * Options for churn_txlog_read_csv(). Initialise with CHURN_CSV_OPTIONS_INIT
 * or churn_csv_options_init(). Column specifiers are borrowed strings: a
 * header name, or a 1-based position written as digits ("3"). NULL means the
 * default name.
 * @since 1.0
 */
typedef struct churn_csv_options {
    size_t struct_size;
    int has_header;            /**< 1 (default): first line names the columns */
    int delimiter;             /**< 0 = detect from the first line (, ; tab, else whitespace);
                                    ' ' = runs of whitespace; otherwise the byte itself */
    int date_format;           /**< a ::churn_date_format (default AUTO) */
    int skip_bad_rows;         /**< 0 (default): fail on the first bad row; 1: skip and count */
    const char *id_column;     /**< default "customer_id" (or column 1 without a header) */
    const char *time_column;   /**< default "date" (or column 2 without a header) */
    const char *amount_column; /**< default "amount" (or column 3 without a header);
                                    "" = the file has no amount column: every amount is
                                    unknown (NaN; since 1.2) */
    const char *quantity_column; /**< NULL (default): none */
    const char *product_column;  /**< NULL (default): none */
    size_t max_messages;       /**< messages kept about skipped rows (default 10) */
    int allow_empty;           /**< 0 (default): a file with no data rows is an error;
                                    1: a header and no data rows is an empty read, not an
                                    error (a day without transactions). @since 1.2 */
    size_t max_record_bytes;   /**< the longest record accepted, in bytes; 0 (default) =
                                    CHURN_CSV_MAX_RECORD_DEFAULT. A longer record (input
                                    without line breaks) fails with ::CHURN_EFORMAT naming
                                    the byte offset where it starts. @since 1.2 */
} churn_csv_options;

/** Default churn_csv_options::max_record_bytes: 16 MiB. @since 1.2 */
#define CHURN_CSV_MAX_RECORD_DEFAULT ((size_t)16 << 20)

#define CHURN_CSV_OPTIONS_INIT \
    { sizeof(churn_csv_options), 1, 0, CHURN_DATE_AUTO, 0, NULL, NULL, NULL, NULL, NULL, 10, 0, 0 }

/** Fill `opts` with the defaults. @since 1.0 */
CHURN_API void churn_csv_options_init(churn_csv_options *opts);

/**
 * Read purchases from a CSV file into `log` (appending to what it holds).
 * Fields may be double-quoted ("" inside quotes is a quote). Rows may be in
 * any order. Empty lines are ignored.
 *
 * Bad rows (unparseable date or number, NaN or infinite values, missing
 * columns, empty id) fail the call with ::CHURN_EFORMAT and a message naming
 * the file, line and column, unless `skip_bad_rows` is set: then they are
 * skipped, counted (churn_txlog_rows_skipped()) and the first `max_messages`
 * messages are kept (churn_txlog_skip_message()). On failure the log keeps
 * no row of this file.
 *
 * @param[in] path  file name; "-" reads standard input
 * @param[in] opts  options, or NULL for defaults
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_EIO (cannot open/read),
 *         ::CHURN_EFORMAT (bad header, missing column, bad row, empty file),
 *         ::CHURN_ENOMEM
 * @since 1.0
 */
CHURN_API int churn_txlog_read_csv(churn_txlog *log, const char *path,
                                   const churn_csv_options *opts);

/**
 * Callback of churn_txlog_read_csv_chunked(): called with the log after every
 * `chunk_rows` rows stored and once at the end. It may read the rows and
 * remove them (churn_customer_stream_fold() does). Return ::CHURN_OK to go on,
 * or a negative ::churn_status (with its message set) to stop the read, which
 * then returns that status.
 * @since 1.1
 */
typedef int (*churn_csv_chunk_fn)(churn_txlog *log, void *userdata);

/**
 * churn_txlog_read_csv(), handing the rows to `fn` in chunks of about
 * `chunk_rows` (>= 1) as they are read, so that a callback that consumes and
 * drops them keeps memory bounded whatever the file's size. Rows, ids and
 * messages already handed to a callback that returned ::CHURN_OK stay when a
 * later part of the file fails; only the rows read since are removed.
 * @return as churn_txlog_read_csv(), ::CHURN_EINVAL for a NULL `fn` or a zero
 *         `chunk_rows`, or the callback's status
 * @since 1.1
 */
CHURN_API int churn_txlog_read_csv_chunked(churn_txlog *log, const char *path,
                                           const churn_csv_options *opts, size_t chunk_rows,
                                           churn_csv_chunk_fn fn, void *userdata);

/**
 * Read purchases from CSV text in memory (`len` bytes, not necessarily
 * NUL-terminated). Same rules and errors as churn_txlog_read_csv(), with
 * "<buffer>" as the file name in messages.
 * @since 1.0
 */
CHURN_API int churn_txlog_read_csv_buffer(churn_txlog *log, const char *buf, size_t len,
                                          const churn_csv_options *opts);

/** Number of rows skipped by the CSV reads into this log. @since 1.0 */
CHURN_API size_t churn_txlog_rows_skipped(const churn_txlog *log);

/** Number of data rows read (accepted + skipped) by CSV reads into this log. @since 1.0 */
CHURN_API size_t churn_txlog_rows_read(const churn_txlog *log);

/**
 * How far the last CSV read into this log got when it failed: the data rows it read (the
 * failing row included; for a chunked read, since the last chunk handed to the callback)
 * before it stopped. A failed read keeps none of its rows (churn_txlog_rows_read() is as
 * before the read); this count lets a caller report the exact position. 0 after a read that
 * succeeded. @since 1.2
 */
CHURN_API size_t churn_txlog_rows_failed(const churn_txlog *log);

/**
 * Message `i` about a skipped row (0 ≤ i < min(skipped, max_messages)),
 * owned by the log; NULL when out of range.
 * @since 1.0
 */
CHURN_API const char *churn_txlog_skip_message(const churn_txlog *log, size_t i);

/**
 * Parse a date/time text into seconds since the epoch, as the CSV reader does.
 * @param[in]  text    the field (need not be NUL-terminated)
 * @param[in]  len     its length in bytes
 * @param[in]  format  a ::churn_date_format
 * @param[out] out     seconds since 1970-01-01 UTC
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_EFORMAT
 * @since 1.0
 */
CHURN_API int churn_parse_date(const char *text, size_t len, int format, double *out);

/**
 * Format seconds since the epoch as an ISO date "YYYY-MM-DD" (UTC) into
 * `buf` (at least 11 bytes; more for years beyond 9999).
 * @return ::CHURN_OK, ::CHURN_EINVAL (non-finite time), ::CHURN_ERANGE (buffer too small)
 * @since 1.0
 */
CHURN_API int churn_format_date(double time, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* CHURN_TXLOG_H */
