/* libFuzzer target: churn_txlog_read_csv_buffer() under every option.
 * The first 4 input bytes choose the options (delimiter, header, date format,
 * skip_bad_rows, column specifiers, max_messages); the rest is the CSV text.
 * Whatever the input, the call must return a churn_status, and on success the
 * log must hold finite times/amounts and readable ids. */
#include <churn/txlog.h>
#include <churn/customers.h>
#include <churn/common.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const id_specs[] = {NULL, "customer_id", "1", "id", "0", "99"};
static const char *const time_specs[] = {NULL, "date", "2", "time", ""};
static const char *const amount_specs[] = {NULL, "amount", "3", "value"};
static const char *const opt_specs[] = {NULL, "quantity", "4", "product", "5"};
static const int delims[] = {0, ',', ';', '\t', ' ', '|', '"', '\n'};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    churn_csv_options o = CHURN_CSV_OPTIONS_INIT;
    uint8_t b0 = data[0], b1 = data[1], b2 = data[2], b3 = data[3];
    o.delimiter = delims[b0 & 7];
    o.has_header = (b0 >> 3) & 1;
    o.date_format = (b0 >> 4) & 3;
    o.skip_bad_rows = (b0 >> 6) & 1;
    o.id_column = id_specs[b1 % 6];
    o.time_column = time_specs[(b1 / 6) % 5];
    o.amount_column = amount_specs[b2 & 3];
    o.quantity_column = opt_specs[(b2 >> 2) % 5];
    o.product_column = opt_specs[(b2 >> 5) % 5];
    o.max_messages = b3 & 15;

    churn_txlog *log = NULL;
    if (churn_txlog_new(&log) != CHURN_OK)
        return 0;
    int rc = churn_txlog_read_csv_buffer(log, (const char *)data + 4, size - 4, &o);
    if (rc > 0 || rc < CHURN_EUNIT)
        abort();
    if (rc != CHURN_OK && churn_last_error_message()[0] == '\0')
        abort(); /* every failure carries a message */
    size_t nt = churn_txlog_num_transactions(log);
    size_t nc = churn_txlog_num_customers(log);
    const double *t = churn_txlog_times(log), *a = churn_txlog_amounts(log);
    const uint32_t *c = churn_txlog_customers(log);
    for (size_t i = 0; i < nt; i++) {
        if (!isfinite(t[i]) || (a && !isfinite(a[i])) || c[i] >= nc)
            abort();
    }
    for (size_t i = 0; i < nc; i++)
        if (!churn_txlog_customer_id(log, i))
            abort();
    for (size_t i = 0; i < churn_txlog_rows_skipped(log) && i < o.max_messages; i++)
        (void)churn_txlog_skip_message(log, i);
    /* derived tables on whatever was read must not crash either */
    if (nt > 0 && (b3 & 16)) {
        churn_customers *tab = NULL;
        if (churn_customers_build(&tab, log, NULL) == CHURN_OK)
            churn_customers_free(tab);
    }
    churn_txlog_free(log);
    return 0;
}
