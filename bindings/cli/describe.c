/* `churn describe`: a first look at a transaction log. */
#include "cli.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char describe_help[] =
    "usage: churn describe TX.csv [column/format options] [--json] [-o FILE]\n"
    "\n"
    "Summarise a transaction log (TX.csv, '-' = standard input, gzip accepted):\n"
    "customers, transactions, date range, repeat customer rate (customers with two\n"
    "or more transactions), revenue and the share of it brought by the top 20% of\n"
    "customers, refunds (negative amounts), zero-amount orders, and the rows read\n"
    "and skipped. With --amount none (a log without amounts) the revenue, the top 20%\n"
    "share, refunds and zero-amount orders are unknown: 'unknown' in the text, null in\n"
    "the JSON (whose unknown_amounts counts the transactions without an amount).\n"
    "\n"
    "Options:\n"
    "  --json              machine-readable output (one JSON object)\n"
    "  -o, --output F      write to F instead of standard output\n"
    "  --help              this text\n"
    "\n";

typedef struct tx_summary {
    size_t customers, transactions, products, repeat_customers;
    size_t refunds, zero_amount, rows_read, rows_skipped;
    size_t unknown_amounts; /* transactions without an amount (NaN) */
    double first, last, revenue, refund_amount, top20_share;
} tx_summary;

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* Sums of amounts beyond the largest double overflow: an error naming the
 * customer whose revenue overflowed, or the transaction at which a total
 * did, into msg; never 'revenue inf'. Returns -1 out of memory, -2 such an
 * overflow, 0 otherwise. */
static int summarise(const churn_txlog *log, tx_summary *s, char *msg, size_t cap)
{
    memset(s, 0, sizeof *s);
    s->customers = churn_txlog_num_customers(log);
    s->transactions = churn_txlog_num_transactions(log);
    s->products = churn_txlog_num_products(log);
    s->rows_read = churn_txlog_rows_read(log);
    s->rows_skipped = churn_txlog_rows_skipped(log);
    s->first = churn_txlog_min_time(log);
    s->last = churn_txlog_max_time(log);
    s->top20_share = NAN;
    size_t *count = calloc(s->customers ? s->customers : 1, sizeof *count);
    double *revenue = calloc(s->customers ? s->customers : 1, sizeof *revenue);
    if (!count || !revenue) {
        free(count);
        free(revenue);
        return -1;
    }
    const uint32_t *c = churn_txlog_customers(log);
    const double *a = churn_txlog_amounts(log);
    for (size_t i = 0; i < s->transactions; i++) {
        count[c[i]]++;
        s->unknown_amounts += isnan(a[i]) != 0; /* revenue and the shares become NaN */
        revenue[c[i]] += a[i];
        s->revenue += a[i];
        if (a[i] < 0) {
            s->refunds++;
            s->refund_amount += a[i];
        } else if (a[i] == 0) {
            s->zero_amount++;
        }
        if (isnan(a[i]) || (isfinite(revenue[c[i]]) && isfinite(s->revenue) &&
                            isfinite(s->refund_amount)))
            continue;
        if (!isfinite(revenue[c[i]]))
            snprintf(msg, cap, "customer '%s': the sum of its amounts overflows (beyond the "
                     "largest double, 1.8e308; at transaction %zu)",
                     churn_txlog_customer_id(log, c[i]), i + 1);
        else
            snprintf(msg, cap, "the %s of the log overflows at transaction %zu (customer "
                     "'%s'): beyond the largest double, 1.8e308",
                     isfinite(s->revenue) ? "refund total" : "revenue", i + 1,
                     churn_txlog_customer_id(log, c[i]));
        free(count);
        free(revenue);
        return -2;
    }
    for (size_t k = 0; k < s->customers; k++)
        s->repeat_customers += count[k] >= 2;
    /* "the 20% of customers who bring 80% of profit": net revenue of the
     * top ceil(20%) customers by net revenue over the total */
    if (s->customers && s->revenue > 0) {
        qsort(revenue, s->customers, sizeof *revenue, cmp_desc);
        size_t top = (s->customers * 2 + 9) / 10;
        double sum = 0;
        for (size_t k = 0; k < top; k++)
            sum += revenue[k];
        s->top20_share = sum / s->revenue;
    }
    free(count);
    free(revenue);
    return 0;
}

/* An amount with cents while a double holds them (below 1e15), otherwise in
 * exponent notation: never a 300-digit number. */
static const char *money(double x, char *buf, size_t cap)
{
    snprintf(buf, cap, fabs(x) < 1e15 ? "%.2f" : "%.6e", x);
    return buf;
}

/* 1234567 -> "1,234,567" */
static const char *grouped(size_t v, char *buf, size_t cap)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%zu", v);
    size_t j = 0;
    for (int i = 0; i < n && j + 2 < cap; i++) {
        if (i && (n - i) % 3 == 0)
            buf[j++] = ',';
        buf[j++] = tmp[i];
    }
    buf[j] = '\0';
    return buf;
}


static void print_text(FILE *f, const char *path, const tx_summary *s)
{
    char b1[40], b2[40], d0[32] = "-", d1[32] = "-";
    if (s->transactions) {
        churn_format_date(s->first, d0, sizeof d0);
        churn_format_date(s->last, d1, sizeof d1);
    }
    fprintf(f, "%-22s %s\n", "file", path);
    fprintf(f, "%-22s %s\n", "customers", grouped(s->customers, b1, sizeof b1));
    fprintf(f, "%-22s %s (%.2f per customer)\n", "transactions",
            grouped(s->transactions, b1, sizeof b1),
            s->customers ? (double)s->transactions / (double)s->customers : 0.0);
    if (s->products)
        fprintf(f, "%-22s %s\n", "products", grouped(s->products, b1, sizeof b1));
    fprintf(f, "%-22s %s .. %s (%.0f days)\n", "date range", d0, d1,
            s->transactions ? floor(s->last / 86400.0) - floor(s->first / 86400.0) + 1 : 0.0);
    fprintf(f, "%-22s %s of %s (%.1f%%)\n", "repeat customers",
            grouped(s->repeat_customers, b1, sizeof b1), grouped(s->customers, b2, sizeof b2),
            s->customers ? 100.0 * (double)s->repeat_customers / (double)s->customers : 0.0);
    if (s->unknown_amounts) {
        /* a log without amounts: nothing below but the rows is known */
        fprintf(f, "%-22s unknown (%s of %s transactions have no amount)\n", "revenue",
                grouped(s->unknown_amounts, b1, sizeof b1),
                grouped(s->transactions, b2, sizeof b2));
        fprintf(f, "%-22s unknown\n%-22s unknown\n%-22s unknown\n", "top 20% of customers",
                "refunds", "zero-amount orders");
        fprintf(f, "%-22s %s read, %s skipped\n", "rows", grouped(s->rows_read, b1, sizeof b1),
                grouped(s->rows_skipped, b2, sizeof b2));
        return;
    }
    char m1[48], m2[48];
    fprintf(f, "%-22s %s (mean order %s)\n", "revenue", money(s->revenue, m1, sizeof m1),
            money(s->transactions ? s->revenue / (double)s->transactions : 0.0, m2, sizeof m2));
    if (isfinite(s->top20_share))
        fprintf(f, "%-22s %.1f%% of revenue\n", "top 20% of customers", 100 * s->top20_share);
    else
        fprintf(f, "%-22s n/a (no positive revenue)\n", "top 20% of customers");
    fprintf(f, "%-22s %s (total %s)\n", "refunds", grouped(s->refunds, b1, sizeof b1),
            money(s->refund_amount, m1, sizeof m1));
    fprintf(f, "%-22s %s\n", "zero-amount orders", grouped(s->zero_amount, b1, sizeof b1));
    fprintf(f, "%-22s %s read, %s skipped\n", "rows", grouped(s->rows_read, b1, sizeof b1),
            grouped(s->rows_skipped, b2, sizeof b2));
}

static json_t *to_json(const char *path, const churn_txlog *log, const tx_summary *s)
{
    char d0[32], d1[32];
    json_t *o = json_object();
    json_object_set_new(o, "file", json_string(path));
    json_object_set_new(o, "customers", json_integer((json_int_t)s->customers));
    json_object_set_new(o, "transactions", json_integer((json_int_t)s->transactions));
    json_object_set_new(o, "products", json_integer((json_int_t)s->products));
    int have = s->transactions && churn_format_date(s->first, d0, sizeof d0) == CHURN_OK &&
               churn_format_date(s->last, d1, sizeof d1) == CHURN_OK;
    json_object_set_new(o, "first_date", have ? json_string(d0) : json_null());
    json_object_set_new(o, "last_date", have ? json_string(d1) : json_null());
    json_object_set_new(o, "first_time", cli_json_number(s->first));
    json_object_set_new(o, "last_time", cli_json_number(s->last));
    json_object_set_new(o, "repeat_customers", json_integer((json_int_t)s->repeat_customers));
    json_object_set_new(o, "repeat_customer_rate",
                        s->customers ? json_real((double)s->repeat_customers /
                                                 (double)s->customers)
                                     : json_null());
    /* with an unknown amount the money and the refund counts are unknown: null */
    int known = s->unknown_amounts == 0;
    json_object_set_new(o, "revenue", cli_json_number(known ? s->revenue : NAN));
    json_object_set_new(o, "top20_revenue_share", cli_json_number(known ? s->top20_share : NAN));
    json_object_set_new(o, "refunds", known ? json_integer((json_int_t)s->refunds) : json_null());
    json_object_set_new(o, "refund_amount", cli_json_number(known ? s->refund_amount : NAN));
    json_object_set_new(o, "zero_amount_orders",
                        known ? json_integer((json_int_t)s->zero_amount) : json_null());
    json_object_set_new(o, "unknown_amounts", json_integer((json_int_t)s->unknown_amounts));
    json_object_set_new(o, "rows_read", json_integer((json_int_t)s->rows_read));
    json_object_set_new(o, "rows_skipped", json_integer((json_int_t)s->rows_skipped));
    json_t *msgs = json_array();
    for (size_t i = 0; churn_txlog_skip_message(log, i); i++)
        json_array_append_new(msgs, json_string(churn_txlog_skip_message(log, i)));
    json_object_set_new(o, "skip_messages", msgs);
    return o;
}

typedef struct describe_args {
    const char *path, *out;
    int json;
    cli_tx_opts tx;
} describe_args;

#define AT(m) CLI_AT(describe_args, m)
static const cli_option describe_options[] = {
    CLI_OPT("--json", CLI_FLAG, AT(json)),
    CLI_OUTPUT(AT(out)),
};
static const cli_spec describe_spec = {
    .options = describe_options, .noptions = CLI_NOPTIONS(describe_options), .tx = AT(tx),
    .positional = {AT(path)}, .extra_input = "more than one input file ('%s' and '%s')",
    .missing = "missing the transaction file (TX.csv, or - for stdin)",
    .help = describe_help, .help_tx = 1,
};
#undef AT

static void write_summary(FILE *f, const describe_args *a, const churn_txlog *log,
                          const tx_summary *s)
{
    if (a->json) {
        json_t *o = to_json(a->path, log, s);
        json_dumpf(o, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
        fputc('\n', f);
        json_decref(o);
    } else {
        print_text(f, a->path, s);
    }
}

int cmd_describe(int argc, char **argv)
{
    const char *sub = "describe";
    describe_args a = {0};
    cli_tx_opts_init(&a.tx);
    int rc = cli_parse(&describe_spec, sub, argc, argv, &a);
    if (rc != CLI_CONTINUE)
        return rc;
    churn_txlog *log = cli_read_txlog(sub, a.path, &a.tx);
    if (!log)
        return CLI_EXIT_FAIL;
    tx_summary s;
    char msg[512];
    int src = summarise(log, &s, msg, sizeof msg);
    if (src != 0) {
        churn_txlog_free(log);
        return src == -2 ? cli_fail(sub, "%s", msg) : cli_fail(sub, "out of memory");
    }
    FILE *f = cli_open_out(sub, a.out);
    if (!f) {
        churn_txlog_free(log);
        return CLI_EXIT_FAIL;
    }
    write_summary(f, &a, log, &s);
    churn_txlog_free(log);
    return cli_close_out(sub, f, a.out);
}
