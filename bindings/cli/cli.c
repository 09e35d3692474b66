/* Shared helpers of the `churn` command: messages, the option-table parser (cli_parse) with
 * the transaction input options, reading transactions and numeric tables, writing output.
 * Calls only the public API (churn.h) and jansson; the subcommand files call this one. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* "churn <sub>: <formatted>" on stderr, without the newline. */
static void say(const char *sub, const char *fmt, va_list ap)
{
    fprintf(stderr, "churn %s: ", sub);
    vfprintf(stderr, fmt, ap);
}

int cli_fail(const char *sub, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(sub, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_FAIL;
}

int cli_usage_error(const char *sub, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(sub, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\ntry 'churn %s --help'\n", sub);
    return CLI_EXIT_USAGE;
}

int cli_lib_fail(const char *sub, const char *what, int status)
{
    const char *msg = churn_last_error_message();
    fprintf(stderr, "churn %s: %s: %s\n", sub, what, *msg ? msg : churn_strerror(status));
    return CLI_EXIT_FAIL;
}

/* ---- transaction input ---- */

const char cli_tx_help[] =
    "Transaction columns (COL = header name or 1-based position):\n"
    "  --id COL            customer id column      (default: customer_id, or 1 with --no-header)\n"
    "  --time COL          purchase date column    (default: date, or 2)\n"
    "  --amount COL|none   amount column           (default: amount, or 3); none: the\n"
    "                      file has no amounts (spend columns and models unavailable)\n"
    "  --quantity COL      quantity column         (optional)\n"
    "  --product COL       product/category column (optional)\n"
    "  --no-header         the first line is data\n"
    "  --delim D           ',', ';', 'tab', 'space' (runs of blanks) or one character\n"
    "                      (default: detected from the first line)\n"
    "  --date-format F     auto (default), iso, yyyymmdd or epoch\n"
    "  --skip-bad-rows     skip and count malformed rows instead of failing\n";

void cli_tx_opts_init(cli_tx_opts *o) { churn_csv_options_init(&o->csv); }

/* --amount none: the library's amount_column "" (no amount column, every amount unknown). */
static int parse_amount(const char *sub, const char *s, void *dst)
{
    (void)sub;
    *(const char **)dst = strcmp(s, "none") == 0 ? "" : s;
    return 0;
}

int cli_tx_no_amount(const cli_tx_opts *o)
{
    return o->csv.amount_column && !*o->csv.amount_column;
}

int cli_is_spend_column(const char *name)
{
    static const char *const spend[] = {
        "monetary_value", "total_spend", "mean_order_value", "spend_recent", "spend_prior",
        "spend_trend", "returns_amount", "net_spend", "m_score", "value_tier", "holdout_spend"};
    for (size_t k = 0; k < sizeof spend / sizeof spend[0]; k++)
        if (strcmp(name, spend[k]) == 0)
            return 1;
    return 0;
}

static int parse_delim(const char *sub, const char *s, void *dst)
{
    int *delimiter = dst;
    if (strcmp(s, "tab") == 0 || strcmp(s, "\\t") == 0)
        *delimiter = '\t';
    else if (strcmp(s, "space") == 0 || strcmp(s, "whitespace") == 0 || strcmp(s, " ") == 0)
        *delimiter = ' ';
    else if (strlen(s) == 1)
        *delimiter = (unsigned char)s[0];
    else
        return cli_usage_error(sub, "option --delim: '%s' is not one character, tab or space", s);
    return 0;
}

static int parse_date_format(const char *sub, const char *s, void *dst)
{
    int *format = dst;
    if (strcmp(s, "auto") == 0)
        *format = CHURN_DATE_AUTO;
    else if (strcmp(s, "iso") == 0)
        *format = CHURN_DATE_ISO;
    else if (strcmp(s, "yyyymmdd") == 0 || strcmp(s, "YYYYMMDD") == 0)
        *format = CHURN_DATE_YYYYMMDD;
    else if (strcmp(s, "epoch") == 0)
        *format = CHURN_DATE_EPOCH;
    else
        return cli_usage_error(sub, "option --date-format: '%s' is not auto, iso, yyyymmdd or "
                               "epoch", s);
    return 0;
}

#define TX(m) CLI_AT(cli_tx_opts, csv.m)
static const cli_option tx_options[] = {
    CLI_OPT("--id", CLI_STRING, TX(id_column)),
    CLI_OPT("--time", CLI_STRING, TX(time_column)),
    {.name = "--amount", .kind = CLI_CALL, .at = TX(amount_column), .parse = parse_amount},
    CLI_OPT("--quantity", CLI_STRING, TX(quantity_column)),
    CLI_OPT("--product", CLI_STRING, TX(product_column)),
    CLI_OPT("--no-header", CLI_FLAG_OFF, TX(has_header)),
    CLI_OPT("--skip-bad-rows", CLI_FLAG, TX(skip_bad_rows)),
    {.name = "--delim", .kind = CLI_CALL, .at = TX(delimiter), .parse = parse_delim},
    {.name = "--date-format", .kind = CLI_CALL, .at = TX(date_format),
     .parse = parse_date_format},
};
#undef TX
static const size_t tx_noptions = CLI_NOPTIONS(tx_options);

/* ---- arguments ---- */

/* The token scanner under cli_parse(): one argv token at a time. */
typedef struct scan {
    int argc;
    char **argv;
    int i;             /* index of the current token */
    const char *name;  /* current option name (e.g. "--horizon") or NULL for a positional */
    const char *value; /* inline "=value", the positional text, or NULL */
    int inline_value;
    int dashdash;      /* after "--": everything is positional */
    char namebuf[128]; /* the name part of "--name=value" */
} scan;

static int scan_next(scan *a)
{
    for (;;) {
        a->i++;
        if (a->i >= a->argc)
            return 0;
        char *t = a->argv[a->i];
        a->name = NULL;
        a->value = NULL;
        a->inline_value = 0;
        if (!a->dashdash && strcmp(t, "--") == 0) {
            a->dashdash = 1;
            continue;
        }
        /* "-" (standard input) and negative numbers are positional */
        if (!a->dashdash && t[0] == '-' && t[1] != '\0' && !(t[1] >= '0' && t[1] <= '9')) {
            char *eq = strchr(t, '=');
            if (eq && (size_t)(eq - t) < sizeof a->namebuf) {
                memcpy(a->namebuf, t, (size_t)(eq - t));
                a->namebuf[eq - t] = '\0';
                a->name = a->namebuf;
                a->value = eq + 1;
                a->inline_value = 1;
            } else {
                a->name = t;
            }
        } else {
            a->value = t;
        }
        return 1;
    }
}

/* The current option's value: inline or the next token, whatever it looks like. */
static int scan_value(scan *a, const char *sub, const char **out)
{
    if (a->inline_value) {
        *out = a->value;
        return 0;
    }
    if (a->i + 1 >= a->argc)
        return cli_usage_error(sub, "option %s needs a value", a->name);
    a->i++;
    *out = a->argv[a->i];
    return 0;
}

static int parse_double(const char *sub, const char *name, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v))
        return cli_usage_error(sub, "option %s: '%s' is not a finite number", name, s);
    *out = v;
    return 0;
}

static int parse_long(const char *sub, const char *name, const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE)
        return cli_usage_error(sub, "option %s: '%s' is not an integer", name, s);
    *out = v;
    return 0;
}

static int parse_date(const char *sub, const char *name, const char *s, double *out)
{
    if (churn_parse_date(s, strlen(s), CHURN_DATE_AUTO, out) != CHURN_OK)
        return cli_usage_error(sub, "option %s: %s", name, churn_last_error_message());
    return 0;
}

static int parse_unit(const char *sub, const char *name, const char *s, double *out)
{
    if (strcmp(s, "day") == 0 || strcmp(s, "days") == 0)
        *out = CHURN_UNIT_DAY;
    else if (strcmp(s, "week") == 0 || strcmp(s, "weeks") == 0)
        *out = CHURN_UNIT_WEEK;
    else if (strcmp(s, "month") == 0 || strcmp(s, "months") == 0)
        *out = CHURN_UNIT_MONTH;
    else if (strcmp(s, "year") == 0 || strcmp(s, "years") == 0)
        *out = CHURN_UNIT_YEAR;
    else {
        char *end;
        double v = strtod(s, &end);
        if (end == s || *end != '\0' || !isfinite(v) || v <= 0)
            return cli_usage_error(sub, "option %s: '%s' is not day, week, month, year or a "
                                   "positive number of days", name, s);
        *out = v;
    }
    return 0;
}

int cli_parse_period(const char *sub, const char *value, void *dst)
{
    for (int k = CHURN_PERIOD_WEEK; k <= CHURN_PERIOD_YEAR; k++) {
        const char *name = churn_period_name(k);
        size_t len = strlen(name);
        if (strncmp(value, name, len) == 0 &&
            (value[len] == '\0' || (value[len] == 's' && value[len + 1] == '\0'))) {
            *(int *)dst = k;
            return 0;
        }
    }
    return cli_usage_error(sub, "calendar period '%s' is not year, quarter, month or week",
                           value);
}

int cli_period_unit(const char *sub, const char *flag, int period, int unit_given, double *unit)
{
    if (period == CHURN_PERIOD_NONE)
        return 0;
    double len = period == CHURN_PERIOD_YEAR      ? CHURN_UNIT_YEAR
                 : period == CHURN_PERIOD_QUARTER ? CHURN_UNIT_QUARTER
                 : period == CHURN_PERIOD_MONTH   ? CHURN_UNIT_MONTH
                                                  : CHURN_UNIT_WEEK;
    if (unit_given && *unit != len)
        return cli_usage_error(sub, "%s %s and --unit %g days disagree: with calendar periods "
                               "durations are whole %ss (leave --unit out, or give --unit %s)",
                               flag, churn_period_name(period), *unit,
                               churn_period_name(period),
                               period == CHURN_PERIOD_QUARTER ? "91.3125"
                                                              : churn_period_name(period));
    *unit = len;
    return 0;
}

static int out_of_bounds(const cli_option *o, double v)
{
    return ((o->bounds & CLI_MIN) && !(v >= o->min)) ||
           ((o->bounds & CLI_MIN_OPEN) && !(v > o->min)) ||
           ((o->bounds & CLI_MAX) && !(v <= o->max)) ||
           ((o->bounds & CLI_MAX_OPEN) && !(v < o->max));
}

/* Store the value of option `o` (named `a->name` as typed) into `base`. */
static int take_option(scan *a, const char *sub, const cli_option *o, char *base)
{
    void *dst = base + o->at - 1;
    const char *s = NULL;
    if (o->kind == CLI_FLAG || o->kind == CLI_FLAG_OFF) {
        if (a->inline_value)
            return cli_usage_error(sub, "option %s takes no value", a->name);
        *(int *)dst = o->kind == CLI_FLAG;
    } else {
        if (scan_value(a, sub, &s))
            return CLI_EXIT_USAGE;
        int rc = 0;
        switch (o->kind) {
        case CLI_STRING:
            *(const char **)dst = s;
            break;
        case CLI_DOUBLE:
            rc = parse_double(sub, a->name, s, dst);
            if (!rc && out_of_bounds(o, *(double *)dst))
                rc = cli_usage_error(sub, o->range_msg, *(double *)dst);
            break;
        case CLI_LONG:
            rc = parse_long(sub, a->name, s, dst);
            if (!rc && out_of_bounds(o, (double)*(long *)dst))
                rc = cli_usage_error(sub, o->range_msg, *(long *)dst);
            break;
        case CLI_DATE:
            rc = parse_date(sub, a->name, s, dst);
            break;
        case CLI_UNIT:
            rc = parse_unit(sub, a->name, s, dst);
            break;
        default:
            rc = o->parse(sub, s, dst);
            break;
        }
        if (rc)
            return CLI_EXIT_USAGE;
    }
    if (o->seen)
        *(int *)(base + o->seen - 1) = 1;
    return 0;
}

static const cli_option *find_option(const cli_option *opts, size_t n, const char *name)
{
    for (size_t k = 0; k < n; k++)
        if (strcmp(opts[k].name, name) == 0 || (opts[k].alias && strcmp(opts[k].alias, name) == 0))
            return &opts[k];
    return NULL;
}

static int print_help(const cli_spec *spec)
{
    fputs(spec->help, stdout);
    if (spec->help_tx)
        fputs(cli_tx_help, stdout);
    if (spec->help_tail)
        fputs(spec->help_tail, stdout);
    return CLI_EXIT_OK;
}

static int take_positional(const cli_spec *spec, const char *sub, const char *value, char *base)
{
    for (size_t k = 0; k < sizeof spec->positional / sizeof spec->positional[0]; k++) {
        if (!spec->positional[k])
            break;
        const char **dst = (const char **)(base + spec->positional[k] - 1);
        if (!*dst) {
            *dst = value;
            return 0;
        }
    }
    if (spec->extra_input && spec->positional[0])
        return cli_usage_error(sub, spec->extra_input,
                               *(const char **)(base + spec->positional[0] - 1), value);
    return cli_usage_error(sub, "unexpected argument '%s'", value);
}

int cli_parse(const cli_spec *spec, const char *sub, int argc, char **argv, void *args)
{
    char *base = args;
    scan a;
    memset(&a, 0, sizeof a);
    a.argc = argc;
    a.argv = argv;
    while (scan_next(&a)) {
        if (!a.name) {
            if (take_positional(spec, sub, a.value, base))
                return CLI_EXIT_USAGE;
            continue;
        }
        if (strcmp(a.name, "--help") == 0 || strcmp(a.name, "-h") == 0) {
            /* "--help=x" is complained about, and the help printed all the same */
            if (a.inline_value)
                cli_usage_error(sub, "option %s takes no value", a.name);
            return print_help(spec);
        }
        const cli_option *o = find_option(spec->options, spec->noptions, a.name);
        char *obase = base;
        if (!o && spec->tx) {
            o = find_option(tx_options, tx_noptions, a.name);
            obase = base + spec->tx - 1;
        }
        if (!o)
            return cli_usage_error(sub, "unknown option '%s'", a.name);
        if (take_option(&a, sub, o, obase))
            return CLI_EXIT_USAGE;
    }
    if (spec->missing && !*(const char **)(base + spec->positional[0] - 1))
        return cli_usage_error(sub, "%s", spec->missing);
    /* a target that cannot be written fails now, not after all the input is read */
    for (size_t i = 0; i < spec->noptions; i++) {
        if (strcmp(spec->options[i].name, "--rejects") != 0 ||
            spec->options[i].kind != CLI_STRING)
            continue;
        const char *v = *(const char **)(base + spec->options[i].at - 1);
        if (v && strcmp(v, "-") == 0)
            return cli_usage_error(sub, "--rejects needs a file name (standard output "
                                   "carries the scores)");
    }
    for (size_t i = 0; i < spec->noptions; i++)
        if ((strcmp(spec->options[i].name, "--output") == 0 ||
             strcmp(spec->options[i].name, "--rejects") == 0) &&
            spec->options[i].kind == CLI_STRING &&
            cli_check_out_path(sub, *(const char **)(base + spec->options[i].at - 1)))
            return CLI_EXIT_FAIL;
    return CLI_CONTINUE;
}

churn_txlog *cli_read_txlog(const char *sub, const char *path, const cli_tx_opts *o)
{
    churn_txlog *log = NULL;
    int rc = churn_txlog_new(&log);
    if (rc) {
        cli_lib_fail(sub, "cannot create a transaction log", rc);
        return NULL;
    }
    rc = churn_txlog_read_csv(log, path, &o->csv);
    if (rc) {
        cli_lib_fail(sub, "reading transactions", rc);
        churn_txlog_free(log);
        return NULL;
    }
    char msg[512];
    if (cli_time_out_of_range(log, 0, msg, sizeof msg)) {
        cli_fail(sub, "reading transactions: %s", msg);
        churn_txlog_free(log);
        return NULL;
    }
    size_t skipped = churn_txlog_rows_skipped(log);
    if (skipped) {
        fprintf(stderr, "churn %s: skipped %zu bad row(s) of %zu in %s\n", sub, skipped,
                churn_txlog_rows_read(log), path);
        for (size_t i = 0; churn_txlog_skip_message(log, i); i++)
            fprintf(stderr, "  %s\n", churn_txlog_skip_message(log, i));
    }
    return log;
}

int cli_time_out_of_range(const churn_txlog *log, size_t base, char *msg, size_t cap)
{
    size_t n = churn_txlog_num_transactions(log);
    const double *t = churn_txlog_times(log);
    if (!n || !t)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i] >= CLI_TIME_MIN && t[i] < CLI_TIME_END)
            continue;
        snprintf(msg, cap, "transaction %zu (customer '%s'): time %.17g s since 1970-01-01 "
                 "is outside 0001-01-01 .. 9999-12-31, the dates every command accepts",
                 base + i + 1, churn_txlog_customer_id(log, churn_txlog_customers(log)[i]), t[i]);
        return 1;
    }
    return 0;
}

int cli_rejects_open(const char *sub, cli_rejects *r, const char *path)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    if (!path)
        return CLI_EXIT_OK;
    if (!(r->f = cli_open_out(sub, path)))
        return CLI_EXIT_FAIL;
    fputs("customer_id,reason\n", r->f);
    return CLI_EXIT_OK;
}

void cli_reject(cli_rejects *r, const char *id, const char *fmt, ...)
{
    char why[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (!r->n)
        snprintf(r->first, sizeof r->first, "customer '%s': %s", id, why);
    r->n++;
    if (r->f) {
        cli_put_field(r->f, id);
        fputc(',', r->f);
        cli_put_field(r->f, why);
        fputc('\n', r->f);
    }
}

const char *cli_one_row_message(const char *msg, char *buf, size_t cap)
{
    const char *r = strstr(msg, "row 0");
    if (!r || (r[5] != ',' && r[5] != ':') || r[6] != ' ') {
        snprintf(buf, cap, "%s", msg);
        return buf;
    }
    snprintf(buf, cap, "%.*s%s", (int)(r - msg), msg, r + 7);
    return buf;
}

int cli_rejects_close(const char *sub, cli_rejects *r, size_t total, int quiet, int ok)
{
    if (r->n && !quiet && ok)
        fprintf(stderr, "churn %s: note: %zu of %zu customers left out (the model cannot "
                "score them%s); first: %s\n", sub, r->n, total,
                r->f ? ", listed in the --rejects file" : "; --rejects FILE lists them",
                r->first);
    if (!r->f)
        return CLI_EXIT_OK;
    FILE *f = r->f;
    r->f = NULL;
    if (!ok) {
        cli_abort_out(f);
        return CLI_EXIT_OK;
    }
    return cli_close_out(sub, f, r->path);
}

/* ---- numeric tables ---- */

/* Split one CSV line in place on commas, honouring double quotes. Returns the
 * number of fields (at most cap), with fields[] pointing into line. */
static size_t split_csv(char *line, char **fields, size_t cap)
{
    size_t n = 0;
    char *p = line;
    for (;;) {
        char *out = p, *start = p;
        if (*p == '"') {
            p++;
            for (;;) {
                if (*p == '\0')
                    break;
                if (*p == '"') {
                    if (p[1] == '"') {
                        *out++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                *out++ = *p++;
            }
            while (*p && *p != ',')
                p++;
        } else {
            while (*p && *p != ',')
                p++;
            out = p;
        }
        char sep = *p;
        *out = '\0';
        if (n < cap)
            fields[n] = start;
        n++;
        if (sep != ',')
            break;
        p++;
    }
    return n;
}

/* The table's input, read in blocks of a megabyte and cut into lines with memchr (a getc per
 * byte was a third of `churn fit logit`'s time on a million rows, docs/performance.md). */
typedef struct table_input {
    FILE *f;
    char *buf;
    size_t cap, pos, end; /* the unread bytes are buf[pos..end); buf[end] is writable */
    int eof;
} table_input;

#define TABLE_BLOCK ((size_t)1 << 20)

/* The next line of a table, without its line break (and a '\r' before it), NUL-terminated in
 * place in *line. Returns 1 with a line, 0 at the end of the file, -1 on a line that cannot be
 * a table's: longer than CHURN_CSV_MAX_RECORD_DEFAULT, or holding a NUL byte (*bad set to its
 * reason; the read stops there instead of growing without limit), -2 out of memory. The limits
 * are those of a reader that takes one byte at a time: a NUL byte within the first
 * CHURN_CSV_MAX_RECORD_DEFAULT + 1 bytes of the line, else any byte after that many. */
static int next_line(table_input *in, char **line, const char **bad)
{
    const size_t max = CHURN_CSV_MAX_RECORD_DEFAULT;
    size_t scanned = 0; /* bytes of buf[pos..end) known to hold no '\n' */
    *bad = NULL;
    for (;;) {
        char *s = in->buf + in->pos;
        size_t avail = in->end - in->pos;
        char *nl = avail > scanned ? memchr(s + scanned, '\n', avail - scanned) : NULL;
        if (nl || in->eof || avail > max + 1) {
            size_t len = nl ? (size_t)(nl - s) : avail;
            if (!nl && !in->eof)
                len = max + 1; /* a line too long: only its head matters */
            if (!nl && len == 0)
                return 0;
            char *z = memchr(s, '\0', len < max + 1 ? len : max + 1);
            if (z) {
                *bad = "a NUL byte: not CSV text";
                return -1;
            }
            if (len > max || (len == max && nl)) {
                *bad = "a line of more than 16 MiB (no line breaks?)";
                return -1;
            }
            in->pos = nl ? (size_t)(nl - in->buf) + 1 : in->end;
            if (len && s[len - 1] == '\r')
                len--;
            s[len] = '\0';
            *line = s;
            return 1;
        }
        /* no line break in the buffer: keep the partial line and read another block */
        if (in->pos) {
            memmove(in->buf, s, avail);
            in->pos = 0;
            in->end = avail;
        }
        if (in->cap - in->end < TABLE_BLOCK + 1) {
            size_t nc = in->cap ? in->cap * 2 : TABLE_BLOCK + 1;
            while (nc - in->end < TABLE_BLOCK + 1)
                nc *= 2;
            char *nb = realloc(in->buf, nc);
            if (!nb)
                return -2;
            in->buf = nb;
            in->cap = nc;
        }
        scanned = avail;
        size_t got = fread(in->buf + in->end, 1, in->cap - in->end - 1, in->f);
        in->end += got;
        if (got == 0)
            in->eof = 1;
    }
}

/* Powers of ten that a double holds exactly (10^0 .. 10^22). */
static const double exact_pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* A table cell [+-]digits[.digits][(e|E)[+-]digits] (the whole NUL-terminated string s) whose
 * value Clinger's fast path computes: at most 19 significant digits that fit in 53 bits and a
 * power of ten within 10^+-22, so one correctly rounded multiplication or division by an exact
 * power gives strtod's value, bit for bit. Returns 1 with *out set; 0 for anything else (the
 * caller hands that cell to strtod, as before). Every cell `churn features` writes (%.10g)
 * takes this path. */
static int fast_number(const char *s, double *out)
{
    const char *p = s;
    int neg = 0;
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }
    uint64_t w = 0;
    int sig = 0, ndigits = 0, exp10 = 0;
    while ((unsigned)(*p - '0') < 10) {
        if (sig >= 19)
            return 0;
        w = w * 10 + (unsigned)(*p - '0');
        sig += w != 0;
        ndigits++;
        p++;
    }
    if (*p == '.') {
        p++;
        while ((unsigned)(*p - '0') < 10) {
            if (sig >= 19)
                return 0;
            w = w * 10 + (unsigned)(*p - '0');
            sig += w != 0;
            exp10--;
            ndigits++;
            p++;
        }
    }
    if (ndigits == 0)
        return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        int eneg = 0;
        if (*p == '-' || *p == '+') {
            eneg = *p == '-';
            p++;
        }
        if ((unsigned)(*p - '0') >= 10)
            return 0;
        int ex = 0;
        while ((unsigned)(*p - '0') < 10) {
            if (ex < 100000)
                ex = ex * 10 + (*p - '0');
            p++;
        }
        exp10 += eneg ? -ex : ex;
    }
    if (*p != '\0')
        return 0;
    if (w == 0) {
        *out = neg ? -0.0 : 0.0;
        return 1;
    }
    if (w > ((uint64_t)1 << 53) || exp10 < -22 || exp10 > 22)
        return 0;
    double v = (double)w;
    v = exp10 < 0 ? v / exact_pow10[-exp10] : v * exact_pow10[exp10];
    *out = neg ? -v : v;
    return 1;
}

/* Ask Linux for transparent huge pages under a column (a no-op elsewhere): a million-row table
 * otherwise pays a page fault per 4 KiB of its columns, a fifth of the read. */
static void advise_huge(void *p, size_t bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)2 << 20;
    if (!p || bytes < 2 * huge)
        return;
    uintptr_t start = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t end = ((uintptr_t)p + bytes) & ~(huge - 1);
    if (end > start)
        (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

/* The id strings of a table, packed into blocks that are never moved (one allocation per
 * block, not per row). */
typedef struct id_block {
    struct id_block *next;
    size_t used, cap;
    char data[];
} id_block;

static char *id_store(cli_table *t, const char *s, size_t n)
{
    id_block *b = t->id_blocks;
    if (!b || b->cap - b->used < n + 1) {
        size_t cap = n + 1 > ((size_t)1 << 20) ? n + 1 : ((size_t)1 << 20);
        id_block *nb = malloc(sizeof *nb + cap);
        if (!nb)
            return NULL;
        nb->next = b;
        nb->used = 0;
        nb->cap = cap;
        t->id_blocks = b = nb;
    }
    char *d = b->data + b->used;
    memcpy(d, s, n);
    d[n] = '\0';
    b->used += n + 1;
    return d;
}

void cli_table_free(cli_table *t)
{
    for (size_t j = 0; j < t->ncols; j++) {
        free(t->names ? t->names[j] : NULL);
        free(t->cols ? t->cols[j] : NULL);
        free(t->text_error ? t->text_error[j] : NULL);
    }
    free(t->text_error);
    for (id_block *b = t->id_blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(t->names);
    free(t->cols);
    free(t->ids);
    memset(t, 0, sizeof *t);
}

/* The id column: --id COL (or "none"), else customer_id / id in any case (and a few common
 * spellings); -1 = rows are numbered. */
static int find_id_col(const char *sub, const char *path, const cli_table *t, const char *id,
                       int *col)
{
    static const char *const auto_names[] = {"customer_id", "id", "customerid", "cust_id",
                                              "customer"};
    *col = -1;
    if (id) {
        if (strcmp(id, "none") == 0)
            return CLI_EXIT_OK;
        for (size_t j = 0; j < t->ncols; j++)
            if (strcmp(t->names[j], id) == 0) {
                *col = (int)j;
                return CLI_EXIT_OK;
            }
        char list[512] = "";
        for (size_t j = 0, len = 0; j < t->ncols && len + 8 < sizeof list; j++) {
            int k = snprintf(list + len, sizeof list - len, "%s%s", j ? ", " : "", t->names[j]);
            len = k < 0 ? sizeof list : len + (size_t)k;
        }
        return cli_fail(sub, "%s has no column '%s' (option --id); its columns are: %s", path,
                        id, list);
    }
    for (size_t k = 0; k < sizeof auto_names / sizeof auto_names[0]; k++)
        for (size_t j = 0; j < t->ncols; j++)
            if (strcasecmp(t->names[j], auto_names[k]) == 0) {
                *col = (int)j;
                if (strcmp(t->names[j], "customer_id") != 0 && strcmp(t->names[j], "id") != 0)
                    fprintf(stderr, "churn %s: %s: using column '%s' as the customer id (--id "
                            "COL chooses another, --id none numbers the rows)\n", sub, path,
                            t->names[j]);
                return CLI_EXIT_OK;
            }
    return CLI_EXIT_OK;
}

/* Take the declaration columns that 'churn features' writes (time_unit_days, cutoff) out of the
 * table into t->unit and t->cutoff; each must hold one value on every row. */
static int take_declarations(const char *sub, const char *path, cli_table *t,
                             char **cutoff_text, int cutoff_col)
{
    for (size_t j = 0; j < t->ncols; j++) {
        if ((int)j == t->id_col || strcmp(t->names[j], CLI_UNIT_COLUMN) != 0)
            continue;
        if (t->text_error[j])
            return cli_fail(sub, "%s", t->text_error[j]);
        for (size_t i = 0; i < t->nrows; i++) {
            double u = t->cols[j][i];
            if (!(u > 0) || !isfinite(u))
                return cli_fail(sub, "%s, line %zu: column '%s' must be a time unit in days "
                                "> 0, not '%g'", path, i + 2, CLI_UNIT_COLUMN, u);
            if (u != t->cols[j][0])
                return cli_fail(sub, "%s, line %zu: column '%s' changes from %g to %g: a table "
                                "has one time unit", path, i + 2, CLI_UNIT_COLUMN,
                                t->cols[j][0], u);
        }
        t->unit = t->nrows ? t->cols[j][0] : 0;
        t->unit_declared = 1;
    }
    if (cutoff_col >= 0) {
        t->cutoff = NAN;
        if (*cutoff_text && churn_parse_date(*cutoff_text, strlen(*cutoff_text), CHURN_DATE_ISO, &t->cutoff) != CHURN_OK)
            return cli_fail(sub, "%s: column 'cutoff' holds '%s', not a date", path,
                            *cutoff_text);
    }
    /* drop the declaration columns from the table */
    size_t w = 0;
    for (size_t j = 0; j < t->ncols; j++) {
        int decl = (int)j != t->id_col && ((int)j == cutoff_col ||
                                          strcmp(t->names[j], CLI_UNIT_COLUMN) == 0);
        if (decl) {
            free(t->names[j]);
            free(t->cols[j]);
            free(t->text_error[j]);
            continue;
        }
        if ((int)j == t->id_col)
            t->id_col = (int)w;
        t->names[w] = t->names[j];
        t->cols[w] = t->cols[j];
        t->text_error[w] = t->text_error[j];
        w++;
    }
    t->ncols = w;
    return CLI_EXIT_OK;
}

int cli_table_read(const char *sub, const char *path, const char *id, cli_table *t)
{
    memset(t, 0, sizeof *t);
    t->cutoff = NAN;
    table_input in = {.f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r")};
    if (!in.f)
        return cli_fail(sub, "cannot open '%s': %s", path, strerror(errno));
    char *buf = NULL, **fields = NULL, *cutoff_text = NULL;
    const char *bad = NULL;
    size_t rowcap = 0;
    int rc = CLI_EXIT_FAIL, cutoff_col = -1, got;
    if ((got = next_line(&in, &buf, &bad)) != 1) {
        if (got == -2)
            goto oom;
        if (bad)
            cli_fail(sub, "%s, line 1: %s", path, bad);
        else
            cli_fail(sub, "%s: empty file (expected a header row)", path);
        goto done;
    }
    /* split_csv writes into the line: count the fields on a copy */
    char *hdr = strdup(buf);
    if (!hdr)
        goto oom;
    size_t nc = split_csv(hdr, NULL, 0);
    free(hdr);
    fields = calloc(nc, sizeof *fields);
    t->names = calloc(nc, sizeof *t->names);
    t->cols = calloc(nc, sizeof *t->cols);
    t->text_error = calloc(nc, sizeof *t->text_error);
    if (!fields || !t->names || !t->cols || !t->text_error)
        goto oom;
    t->ncols = nc;
    split_csv(buf, fields, nc);
    for (size_t j = 0; j < nc; j++)
        if (!(t->names[j] = strdup(fields[j])))
            goto oom;
    if (find_id_col(sub, path, t, id, &t->id_col))
        goto done;
    t->numbered = t->id_col < 0;
    for (size_t j = 0; j < nc; j++)
        if ((int)j != t->id_col && strcmp(t->names[j], "cutoff") == 0)
            cutoff_col = (int)j;
    size_t line = 1;
    while ((got = next_line(&in, &buf, &bad)) == 1) {
        line++;
        if (buf[0] == '\0')
            continue;
        size_t n = split_csv(buf, fields, nc);
        if (n != nc) {
            cli_fail(sub, "%s, line %zu: %zu fields, the header has %zu", path, line, n, nc);
            goto done;
        }
        if (t->nrows == rowcap) {
            size_t nr = rowcap ? rowcap * 2 : 1024;
            struct stat st;
            if (rowcap == 0 && fstat(fileno(in.f), &st) == 0 && S_ISREG(st.st_mode) &&
                st.st_size > 0) {
                /* room for the whole file at the first row's length, plus a margin, so
                 * that the columns are not copied while they double */
                size_t row_bytes = (size_t)(in.buf + in.pos - buf);
                if (row_bytes < nc)
                    row_bytes = nc; /* a row holds at least its commas and line break */
                size_t est = (size_t)st.st_size / (row_bytes ? row_bytes : 1);
                est += est / 8 + 1024;
                if (est > nr && est < ((size_t)1 << 40) / (nc ? nc : 1))
                    nr = est;
            }
            char **ni = realloc(t->ids, nr * sizeof *ni);
            if (!ni)
                goto oom;
            t->ids = ni;
            for (size_t j = 0; j < nc; j++) {
                if ((int)j == t->id_col)
                    continue;
                double *c = realloc(t->cols[j], nr * sizeof *c);
                if (!c)
                    goto oom;
                t->cols[j] = c;
                advise_huge(c, nr * sizeof *c);
            }
            rowcap = nr;
        }
        if (t->id_col >= 0) {
            const char *idv = fields[t->id_col];
            if (!idv[0]) {
                cli_fail(sub, "%s, line %zu: the customer id (column '%s') is empty", path,
                         line, t->names[t->id_col]);
                goto done;
            }
            t->ids[t->nrows] = id_store(t, idv, strlen(idv));
        } else {
            char num[32];
            int k = snprintf(num, sizeof num, "%zu", t->nrows + 1);
            t->ids[t->nrows] = id_store(t, num, (size_t)k);
        }
        if (!t->ids[t->nrows])
            goto oom;
        if (cutoff_col >= 0) {
            if (!cutoff_text) {
                if (!(cutoff_text = strdup(fields[cutoff_col])))
                    goto oom;
            } else if (strcmp(cutoff_text, fields[cutoff_col]) != 0) {
                cli_fail(sub, "%s, line %zu: column 'cutoff' changes from '%s' to '%s': a table "
                         "has one cutoff", path, line, cutoff_text, fields[cutoff_col]);
                t->nrows++;
                goto done;
            }
        }
        for (size_t j = 0; j < nc; j++) {
            if ((int)j == t->id_col)
                continue;
            const char *s = fields[j];
            double v = NAN;
            if (fast_number(s, &v)) {
                /* the common case: strtod's value without strtod */
            } else if (*s && strcmp(s, "NA") != 0 && strcmp(s, "nan") != 0 &&
                       strcmp(s, "NaN") != 0) {
                char *end;
                v = strtod(s, &end);
                if ((end == s || *end != '\0') && !t->text_error[j] && (int)j != cutoff_col) {
                    char msg[256];
                    snprintf(msg, sizeof msg, "%s, line %zu, column '%s': '%.60s' is not a number",
                             path, line, t->names[j], s);
                    if (!(t->text_error[j] = strdup(msg)))
                        goto oom;
                }
            } else {
                v = NAN;
            }
            t->cols[j][t->nrows] = v;
        }
        t->nrows++;
    }
    if (got == -2)
        goto oom;
    /* a header-only table still hands out its columns (empty, not NULL), so that every
     * command says what is wrong with it instead of failing without a message */
    for (size_t j = 0; rowcap == 0 && j < nc; j++)
        if ((int)j != t->id_col && !(t->cols[j] = malloc(sizeof *t->cols[j])))
            goto oom;
    if (bad) {
        cli_fail(sub, "%s, line %zu: %s", path, line + 1, bad);
        goto done;
    }
    if (ferror(in.f)) {
        cli_fail(sub, "error reading '%s': %s", path, strerror(errno));
        goto done;
    }
    if (take_declarations(sub, path, t, &cutoff_text, cutoff_col))
        goto done;
    if (t->numbered && !(id && strcmp(id, "none") == 0))
        fprintf(stderr, "churn %s: %s has no customer_id column: its rows are numbered 1..%zu "
                "in place of ids (--id COL names the id column)\n", sub, path, t->nrows);
    rc = CLI_EXIT_OK;
    goto done;
oom:
    cli_fail(sub, "out of memory reading '%s'", path);
done:
    free(in.buf);
    free(fields);
    free(cutoff_text);
    if (in.f != stdin)
        fclose(in.f);
    if (rc)
        cli_table_free(t);
    return rc;
}

int cli_table_unit(const char *sub, const char *path, const cli_table *t, double flag,
                   double *unit)
{
    *unit = t->unit_declared ? t->unit : flag;
    if (t->unit_declared && flag > 0 && fabs(flag - t->unit) > 1e-9 * t->unit) {
        char a[64], b[64];
        churn_time_unit_describe(t->unit, a, sizeof a);
        churn_time_unit_describe(flag, b, sizeof b);
        return cli_fail(sub, "%s declares its durations in %s (column '%s') but --unit says "
                        "%s: rebuild the table with 'churn features --unit', or drop --unit",
                        path, a, CLI_UNIT_COLUMN, b);
    }
    return CLI_EXIT_OK;
}

int cli_check_model_unit(const char *sub, churn_model *m, double data_unit, double flag,
                         int convert)
{
    double mu = churn_model_time_unit(m);
    if (!(mu > 0) && flag > 0)
        churn_model_set_time_unit(m, flag); /* --unit declares the model's unknown unit */
    mu = churn_model_time_unit(m);
    if (!(data_unit > 0) && !(mu > 0))
        return CLI_EXIT_OK; /* neither side declares a unit: nothing to compare */
    if (churn_model_check_time_unit(m, data_unit) == CHURN_OK)
        return CLI_EXIT_OK;
    char mtext[64], dtext[64];
    churn_time_unit_describe(mu, mtext, sizeof mtext);
    churn_time_unit_describe(data_unit, dtext, sizeof dtext);
    const char *fam = churn_family_name(churn_model_family(m));
    if (mu > 0 && data_unit > 0 && convert > 0) {
        int st = churn_btyd_convert_time_unit(m, data_unit);
        if (st)
            return cli_lib_fail(sub, "--convert-unit", st);
        fprintf(stderr, "churn %s: note: the '%s' model was converted from %s to %s "
                "(--convert-unit)\n", sub, fam, mtext, dtext);
        return CLI_EXIT_OK;
    }
    if (!(mu > 0))
        return cli_fail(sub, "the '%s' model records no time unit and the table is in %s: pass "
                        "--unit U to declare the model's unit", fam, dtext);
    if (!(data_unit > 0))
        return cli_fail(sub, "the '%s' model was fitted in %s and the table declares no time "
                        "unit (no %s column): pass --unit U to declare the table's unit", fam,
                        mtext, CLI_UNIT_COLUMN);
    return cli_fail(sub, "the '%s' model was fitted in %s but the table is in %s: rebuild the "
                    "table with 'churn features --unit' in the model's unit%s", fam, mtext,
                    dtext, convert < 0 ? "" : ", or add --convert-unit to convert the model on "
                    "purpose");
}

const double *cli_table_col(const char *sub, const cli_table *t, const char *name)
{
    for (size_t j = 0; j < t->ncols; j++)
        if ((int)j != t->id_col && strcmp(t->names[j], name) == 0) {
            if (t->text_error[j]) {
                cli_fail(sub, "%s", t->text_error[j]);
                return NULL;
            }
            return t->cols[j];
        }
    cli_fail(sub, "column '%s' not found in the input table%s", name,
             cli_is_spend_column(name) ? " (a table of a log without amounts has no spend "
                                         "columns: the spend models need amounts)" : "");
    return NULL;
}

/* ---- lifetime rows ---- */

int cli_lifetime_row(const char *sub, const cli_lifetime_cols *c, size_t i, const char *missing)
{
    const char *bad = isnan(c->dur[i])           ? c->dcol
                      : isnan(c->ev[i])          ? c->ecol
                      : (c->w && isnan(c->w[i])) ? c->wcol
                                                 : missing;
    const char *id = c->t->ids[i];
    if (bad) {
        if (c->drop)
            return -1;
        return cli_fail(sub, "%s: customer '%s' (row %zu): column '%s' is empty or NA (use "
                        "--drop-missing to skip such rows)", c->input, id, i + 1, bad);
    }
    double d = c->dur[i];
    if (d < 0 || (c->positive && d <= 0) || (c->finite && !isfinite(d)))
        return cli_fail(sub, "%s: customer '%s' (row %zu): column '%s' = %g must be %s",
                        c->input, id, i + 1, c->dcol, d, c->dur_rule);
    if (c->ev[i] != 0 && c->ev[i] != 1)
        return cli_fail(sub, "%s: customer '%s' (row %zu): column '%s' = %g is not 0 (active) "
                        "or 1 (churned)", c->input, id, i + 1, c->ecol, c->ev[i]);
    if (c->w && (!(c->w[i] >= 0) || (c->finite && !isfinite(c->w[i]))))
        return cli_fail(sub, "%s: customer '%s' (row %zu): column '%s' = %g must be >= 0",
                        c->input, id, i + 1, c->wcol, c->w[i]);
    return 0;
}

/* ---- output ---- */

/* ---- outputs: written to a temporary file next to the target, renamed when complete ----
 * A -o FILE is never written in place: a kill, a full disk or a failed run leaves the target
 * as it was. The temporaries are listed here so that an exit path that forgot one (atexit)
 * and a fatal signal (cli_install_signals) remove them. */
#define CLI_MAX_OUTPUTS 8
static struct pending_out {
    FILE *f;
    char *path, *tmp;
} pending[CLI_MAX_OUTPUTS];
/* The temporaries' names as the signal handler reads them (set after the name is complete,
 * cleared before it is freed). */
static char *volatile pending_tmp[CLI_MAX_OUTPUTS];

static void remove_pending(void)
{
    for (int i = 0; i < CLI_MAX_OUTPUTS; i++)
        if (pending[i].f) {
            fclose(pending[i].f);
            pending_tmp[i] = NULL;
            unlink(pending[i].tmp);
            free(pending[i].tmp);
            free(pending[i].path);
            memset(&pending[i], 0, sizeof pending[i]);
        }
}

int cli_check_out_path(const char *sub, const char *path)
{
    if (!path || strcmp(path, "-") == 0)
        return CLI_EXIT_OK;
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return cli_fail(sub, "cannot write '%s': it is a directory", path);
    char *dir = strdup(path);
    if (!dir)
        return cli_fail(sub, "out of memory");
    char *slash = strrchr(dir, '/');
    const char *d = slash ? (slash == dir ? "/" : (*slash = '\0', dir)) : ".";
    int rc = CLI_EXIT_OK;
    if (stat(d, &sb) != 0)
        rc = cli_fail(sub, "cannot write '%s': directory '%s': %s", path, d, strerror(errno));
    else if (!S_ISDIR(sb.st_mode))
        rc = cli_fail(sub, "cannot write '%s': '%s' is not a directory", path, d);
    else if (access(d, W_OK | X_OK) != 0)
        rc = cli_fail(sub, "cannot write '%s': directory '%s': %s", path, d, strerror(errno));
    free(dir);
    return rc;
}

FILE *cli_open_out(const char *sub, const char *path)
{
    static int registered;
    if (!path || strcmp(path, "-") == 0)
        return stdout;
    if (cli_check_out_path(sub, path))
        return NULL;
    int slot = 0;
    while (slot < CLI_MAX_OUTPUTS && pending[slot].f)
        slot++;
    if (slot == CLI_MAX_OUTPUTS) {
        cli_fail(sub, "too many open outputs");
        return NULL;
    }
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        /* a device, a pipe or a socket (-o /dev/null, a FIFO) is written as it is */
        FILE *f = fopen(path, "w");
        if (!f)
            cli_fail(sub, "cannot write '%s': %s", path, strerror(errno));
        return f;
    }
    if (!registered && atexit(remove_pending) == 0)
        registered = 1;
    /* through a symbolic link, the file it names is replaced, not the link */
    char *real = realpath(path, NULL);
    if (real)
        path = real;
    /* "dir/.name.churn-XXXXXX": same directory, so the rename is atomic */
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) + 1 : 0;
    size_t need = strlen(path) + 16;
    char *tmp = malloc(need), *target = strdup(path);
    if (!tmp || !target) {
        free(tmp);
        free(target);
        free(real);
        cli_fail(sub, "out of memory");
        return NULL;
    }
    snprintf(tmp, need, "%.*s.%s.churn-XXXXXX", (int)dlen, path, path + dlen);
    free(real);
    path = target;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        cli_fail(sub, "cannot write '%s': %s", path, strerror(errno));
        free(tmp);
        free(target);
        return NULL;
    }
    /* the permissions fopen would give a new file (or the target's own) */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, stat(path, &sb) == 0 ? (sb.st_mode & 07777) : (0666 & ~mask));
    FILE *f = fdopen(fd, "w");
    if (!f) {
        cli_fail(sub, "cannot write '%s': %s", path, strerror(errno));
        close(fd);
        unlink(tmp);
        free(tmp);
        free(target);
        return NULL;
    }
    pending[slot].f = f;
    pending[slot].path = target;
    pending[slot].tmp = tmp;
    pending_tmp[slot] = tmp;
    return f;
}

static int find_pending(FILE *f)
{
    for (int i = 0; i < CLI_MAX_OUTPUTS; i++)
        if (pending[i].f == f)
            return i;
    return -1;
}

static void forget_pending(int i, int keep_file)
{
    pending_tmp[i] = NULL;
    if (!keep_file)
        unlink(pending[i].tmp);
    free(pending[i].tmp);
    free(pending[i].path);
    memset(&pending[i], 0, sizeof pending[i]);
}

void cli_abort_out(FILE *f)
{
    if (!f || f == stdout)
        return;
    int i = find_pending(f);
    fclose(f);
    if (i >= 0)
        forget_pending(i, 0);
}

int cli_close_out(const char *sub, FILE *f, const char *path)
{
    if (f == stdout) {
        int err = 0;
        if (ferror(f) || fflush(f) != 0) {
            err = errno;
            clearerr(f);
            if (fflush(f) == 0 && !err)
                err = EIO;
            else if (errno)
                err = errno;
        }
        if (!err)
            return CLI_EXIT_OK;
        if (err == EPIPE)
            return CLI_EXIT_PIPE; /* the reader went away (| head): no message */
        return cli_fail(sub, "error writing standard output: %s", strerror(err));
    }
    int i = find_pending(f);
    int err = 0;
    if (ferror(f)) {
        /* the write that failed set errno long ago: try again to learn why */
        clearerr(f);
        errno = 0;
        err = fflush(f) != 0 && errno ? errno : EIO;
    } else if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        err = errno ? errno : EIO;
    }
    if (fclose(f) != 0 && !err)
        err = errno ? errno : EIO;
    if (i < 0) /* not opened by cli_open_out */
        return err ? cli_fail(sub, "error writing '%s': %s", path, strerror(err)) : CLI_EXIT_OK;
    if (!err && rename(pending[i].tmp, pending[i].path) != 0)
        err = errno;
    forget_pending(i, !err);
    if (err)
        return cli_fail(sub, "error writing '%s': %s (the file is left as it was)", path,
                        strerror(err));
    return CLI_EXIT_OK;
}

/* ---- signals ---- */
static void (*interrupt_hook)(const char *status);
static volatile sig_atomic_t in_handler;

void cli_on_interrupt(void (*hook)(const char *status)) { interrupt_hook = hook; }

static void on_fatal_signal(int sig)
{
    if (!in_handler) {
        in_handler = 1;
        for (int i = 0; i < CLI_MAX_OUTPUTS; i++) {
            char *t = pending_tmp[i];
            if (t)
                unlink(t);
        }
        if (interrupt_hook)
            interrupt_hook("interrupted");
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

void cli_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
    for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++) {
        struct sigaction old;
        /* a signal the caller ignores (nohup, a background job's SIGINT) stays ignored */
        if (sigaction(sigs[k], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        sigaction(sigs[k], &sa, NULL);
    }
    for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++)
        sigaddset(&sa.sa_mask, sigs[k]);
    /* a closed pipe is an error on write (EPIPE), reported with the summary, not a silent
     * death */
    signal(SIGPIPE, SIG_IGN);
}

/* Async-signal-safe output for interrupt hooks: write(2) of text and numbers. */
void cli_sig_puts(const char *s)
{
    size_t n = strlen(s);
    while (n) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

void cli_sig_putu(unsigned long long v)
{
    char buf[24];
    size_t i = sizeof buf;
    buf[--i] = '\0';
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    cli_sig_puts(buf + i);
}

int cli_print_json(const char *sub, json_t *j, size_t flags)
{
    if (!j)
        return cli_fail(sub, "out of memory");
    json_dumpf(j, stdout, flags);
    fputc('\n', stdout);
    json_decref(j);
    return CLI_EXIT_OK;
}

int cli_save_model(const char *sub, const churn_model *m, const char *path)
{
    int st = path ? churn_model_save(m, path) : CHURN_OK;
    if (st)
        return cli_lib_fail(sub, "saving the model", st);
    return CLI_EXIT_OK;
}

/* Significant digits of the numbers written (churn --digits N; 10 by default, 17 gives
 * every double back exactly when it is read again). */
int cli_digits = 10;

void cli_put_double(FILE *f, double x)
{
    if (isfinite(x))
        fprintf(f, "%.*g", cli_digits, x);
}

void cli_put_field(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\n\r")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
}

char **cli_split_list(const char *s, size_t *n)
{
    size_t k = 1, len = strlen(s);
    for (const char *p = s; *p; p++)
        k += *p == ',';
    char **out = malloc((k + 1) * sizeof *out + len + 1);
    if (!out)
        return NULL;
    char *buf = (char *)(out + k + 1);
    memcpy(buf, s, len + 1);
    size_t m = 0;
    char *tok = buf;
    for (char *p = buf;; p++) {
        if (*p == ',' || *p == '\0') {
            int end = *p == '\0';
            *p = '\0';
            if (*tok)
                out[m++] = tok;
            tok = p + 1;
            if (end)
                break;
        }
    }
    out[m] = NULL;
    *n = m;
    return out;
}

json_t *cli_json_number(double x) { return isfinite(x) ? json_real(x) : json_null(); }

double cli_clock(int clock_id)
{
    struct timespec ts;
    clock_gettime((clockid_t)clock_id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* --litt: per row of the table, the sum of log(gap) over the gaps between the customer's
 * purchase days (UTC days, as the table resolves them) up to the cutoff day, in the
 * table's unit. An order is any row that is not a refund (negative amount), as in the
 * table. The number of gaps must be the row's frequency (minus the first purchase with
 * --first-purchase-counts): a mismatch would be a silently wrong litt, so it is an error
 * naming the customer. Returns NULL after printing the error. Used by churn features --litt
 * and churn report --model mbgcnbdk. */
typedef struct cust_day {
    uint32_t c;
    double day;
} cust_day;

static int cmp_cust_day(const void *pa, const void *pb)
{
    const cust_day *a = pa, *b = pb;
    if (a->c != b->c)
        return a->c < b->c ? -1 : 1;
    return (a->day > b->day) - (a->day < b->day);
}

double *cli_compute_litt(const char *sub, const churn_txlog *txl, const churn_customers *t,
                            int first_counts)
{
    size_t n = churn_txlog_num_transactions(txl), nc = churn_txlog_num_customers(txl);
    size_t nrows = churn_customers_num_rows(t);
    const double *tm = churn_txlog_times(txl), *am = churn_txlog_amounts(txl);
    const uint32_t *cu = churn_txlog_customers(txl);
    const double unit = churn_customers_time_unit(t), spd = CHURN_SECONDS_PER_DAY;
    const double cut_day = floor(churn_customers_cutoff(t) / spd);
    const double *freq = churn_customers_column(t, "frequency");
    cust_day *cd = malloc((n ? n : 1) * sizeof *cd);
    double *sum = calloc(nc ? nc : 1, sizeof *sum), *gaps = calloc(nc ? nc : 1, sizeof *gaps);
    double *out = malloc((nrows ? nrows : 1) * sizeof *out);
    if (!cd || !sum || !gaps || !out) {
        free(cd), free(sum), free(gaps), free(out);
        cli_fail(sub, "out of memory computing litt");
        return NULL;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        double day = floor(tm[i] / spd);
        if (day * spd > tm[i]) /* floor of the quotient, exact as the table's day_of */
            day -= 1;
        else if ((day + 1) * spd <= tm[i])
            day += 1;
        if (day > cut_day || (am && am[i] < 0))
            continue;
        cd[m].c = cu[i];
        cd[m].day = day;
        m++;
    }
    qsort(cd, m, sizeof *cd, cmp_cust_day);
    for (size_t i = 1; i < m; i++)
        if (cd[i].c == cd[i - 1].c && cd[i].day > cd[i - 1].day) {
            sum[cd[i].c] += log((cd[i].day - cd[i - 1].day) / unit);
            gaps[cd[i].c] += 1;
        }
    free(cd);
    for (size_t r = 0; r < nrows; r++) {
        const char *id = churn_customers_id(t, r);
        size_t c;
        if (churn_txlog_find_customer(txl, id, &c) != CHURN_OK || c >= nc) {
            cli_fail(sub, "--litt: customer '%s' of the table is not in the log", id);
            free(sum), free(gaps), free(out);
            return NULL;
        }
        double want = freq ? freq[r] - (first_counts ? 1 : 0) : gaps[c];
        if (gaps[c] != want) {
            cli_fail(sub, "--litt: customer '%s': %g gaps between purchase days, but the "
                     "table's frequency says %g (please report this)", id, gaps[c], want);
            free(sum), free(gaps), free(out);
            return NULL;
        }
        out[r] = sum[c];
    }
    free(sum), free(gaps);
    return out;
}
