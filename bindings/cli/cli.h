/*
 * The `churn` command: shared helpers for subcommands.
 *
 * Each subcommand lives in bindings/cli/<name>.c and defines
 *     int cmd_<name>(int argc, char **argv);
 * where argv[0] is the subcommand name. It returns the process exit status:
 * 0 success, 1 failure (message already on stderr), 2 usage error.
 * Errors go to stderr ("churn <sub>: <message>"), data to stdout or -o.
 */
#ifndef CHURN_CLI_H
#define CHURN_CLI_H

#include "churn.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

/* Subcommands. */
int cmd_describe(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_features(int argc, char **argv);
int cmd_cohorts(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_km(int argc, char **argv);
int cmd_evaluate(int argc, char **argv);
int cmd_score(int argc, char **argv);
/* `churn fit FAMILY ...` and `churn predict MODEL ...` dispatch by family to these
 * (argv[0] = "fit"/"predict"; family is the ::churn_family value). */
int cmd_fit_btyd(int family, int argc, char **argv);
int cmd_fit_spend(int family, int argc, char **argv);
int cmd_fit_logit(int family, int argc, char **argv);
int cmd_fit_survival(int family, int argc, char **argv);
int cmd_predict_btyd(churn_model *model, int argc, char **argv);
int cmd_predict_spend(churn_model *model, int argc, char **argv);
int cmd_predict_logit(churn_model *model, int argc, char **argv);
int cmd_predict_survival(churn_model *model, int argc, char **argv);

/* ---- messages ---- */
/* Print "churn <sub>: <formatted>\n" to stderr. Returns CLI_EXIT_FAIL. */
int cli_fail(const char *sub, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "churn <sub>: <formatted>\n" plus "try 'churn <sub> --help'" and return CLI_EXIT_USAGE. */
int cli_usage_error(const char *sub, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Report a libchurn failure: "churn <sub>: <what>: <last error message>". Returns CLI_EXIT_FAIL. */
int cli_lib_fail(const char *sub, const char *what, int status);

/* ---- argument parsing ----
 * Each subcommand gathers its arguments in a struct of its own and describes its options in a
 * static table of cli_option, by offset into that struct; cli_parse() walks argv against the
 * table: "--name value", "--name=value", boolean "--flag", "--" (everything after it is
 * positional), --help/-h, unknown options and missing or malformed values. Usage errors print
 * "churn <sub>: <message>" and "try 'churn <sub> --help'" and stop at the first bad token. */

/* What an option's value is and where it goes (the destination's C type). */
typedef enum cli_kind {
    CLI_STRING,   /* const char *: the text as given */
    CLI_FLAG,     /* int: set to 1; takes no value */
    CLI_FLAG_OFF, /* int: set to 0; takes no value */
    CLI_DOUBLE,   /* double: a finite number */
    CLI_LONG,     /* long: a decimal integer */
    CLI_DATE,     /* double: seconds since the epoch, any format churn_parse_date accepts */
    CLI_UNIT,     /* double: days per unit: day, week, month, year or a positive number */
    CLI_CALL      /* anything: cli_option.parse converts and checks the text */
} cli_kind;

/* Bounds checked after a CLI_DOUBLE or CLI_LONG value is read (cli_option.bounds). */
#define CLI_MIN 1u      /* value >= min */
#define CLI_MIN_OPEN 2u /* value > min */
#define CLI_MAX 4u      /* value <= max */
#define CLI_MAX_OPEN 8u /* value < max */

/* Offset of member m of struct T plus one, so that 0 can mean "none". */
#define CLI_AT(T, m) (offsetof(T, m) + 1)

typedef struct cli_option {
    const char *name;  /* "--horizon" */
    const char *alias; /* another spelling ("-o" for "--output"), or NULL */
    cli_kind kind;
    size_t at;   /* CLI_AT(args struct, destination) */
    size_t seen; /* CLI_AT(args struct, an int set to 1 when the option is given), or 0 */
    unsigned bounds;
    double min, max;
    /* printf format of the usage error for a value out of bounds; it is passed the value
     * (a double for CLI_DOUBLE, a long for CLI_LONG) and may ignore it */
    const char *range_msg;
    /* CLI_CALL: convert `value` into *dst; on a bad value print the usage error and return
     * CLI_EXIT_USAGE, else return 0 */
    int (*parse)(const char *sub, const char *value, void *dst);
} cli_option;

/* A subcommand's arguments: options, positional arguments, help text. */
typedef struct cli_spec {
    const cli_option *options;
    size_t noptions;
    size_t tx;              /* CLI_AT(args struct, a cli_tx_opts) for the transaction input
                               options, or 0 */
    size_t positional[2];   /* CLI_AT(args struct, const char *) of each positional argument in
                               order; 0 ends the list */
    const char *extra_input;/* usage error for one positional too many, given the first and the
                               extra one ("%s", "%s"); NULL = "unexpected argument" */
    const char *missing;    /* usage error when the first positional argument is absent, or NULL
                               (the subcommand checks it itself) */
    const char *help;       /* --help prints help, then cli_tx_help when help_tx is set, then
                               help_tail */
    int help_tx;
    const char *help_tail;
} cli_spec;

/* Table entries: an option with a name, a kind and a destination only, and -o/--output
 * (a const char * path). `at_` is a CLI_AT(). */
#define CLI_OPT(flag, k, at_) {.name = (flag), .kind = (k), .at = (at_)}
#define CLI_OUTPUT(at_) {.name = "--output", .alias = "-o", .kind = CLI_STRING, .at = (at_)}
/* A number >= 0 ("option --l2: -1 must be >= 0"); `flag` must be a string literal. */
#define CLI_NONNEG(flag, at_)                                                                  \
    {.name = (flag), .kind = CLI_DOUBLE, .at = (at_), .bounds = CLI_MIN, .min = 0,             \
     .range_msg = "option " flag ": %g must be >= 0"}
/* A whole number in lo..hi ("option --max-iter: 0 is not in 1..1000000"); literals only. */
#define CLI_LONG_IN(flag, at_, lo, hi)                                                         \
    {.name = (flag), .kind = CLI_LONG, .at = (at_), .bounds = CLI_MIN | CLI_MAX, .min = (lo),  \
     .max = (hi), .range_msg = "option " flag ": %ld is not in " #lo ".." #hi}

/* Calendar periods of the customer table (an int CHURN_PERIOD_*): year, quarter, month or
 * week (plurals too). */
int cli_parse_period(const char *sub, const char *value, void *dst);
#define CLI_PERIOD(flag, at_) {.name = (flag), .kind = CLI_CALL, .at = (at_), .parse = cli_parse_period}
/* The time unit that goes with calendar periods: with `period` set, *unit becomes the
 * period's nominal length; a --unit given as well (unit_given) must equal it, else a usage
 * error naming `flag` (returns CLI_EXIT_USAGE; 0 when fine). */
int cli_period_unit(const char *sub, const char *flag, int period, int unit_given, double *unit);

#define CLI_NOPTIONS(table) (sizeof(table) / sizeof((table)[0]))
/* cli_parse() returns this when the subcommand should go on and run. */
#define CLI_CONTINUE (-1)

/* Parse argv[1..argc-1] into `args` (already holding the defaults). Returns CLI_CONTINUE, or
 * the exit status when there is nothing more to do: CLI_EXIT_OK after --help, CLI_EXIT_USAGE
 * after a usage error (already printed). */
int cli_parse(const cli_spec *spec, const char *sub, int argc, char **argv, void *args);

/* ---- transaction input options, shared by every subcommand that reads transactions:
 *   --id COL --time COL --amount COL [--quantity COL --product COL]
 *   --no-header --delim D (",", ";", "tab", "space" or one character)
 *   --date-format auto|iso|yyyymmdd|epoch  --skip-bad-rows */
typedef struct cli_tx_opts {
    churn_csv_options csv;
} cli_tx_opts;
void cli_tx_opts_init(cli_tx_opts *o);
/* Help text for these options. */
extern const char cli_tx_help[];
/* Read a transaction CSV (path "-" = stdin). Prints the error and returns NULL on failure;
 * prints a note on stderr when rows were skipped. */
churn_txlog *cli_read_txlog(const char *sub, const char *path, const cli_tx_opts *o);
/* Transaction times every command accepts: 0001-01-01 00:00:00 .. 9999-12-31 23:59:59 UTC
 * (the ISO dates; an epoch or yyyymmdd time outside is an error naming the transaction). */
#define CLI_TIME_MIN (-62135596800.0)
#define CLI_TIME_END 253402300800.0
/* The first transaction of `log` (numbered from base + 1) outside those times, described
 * in msg; returns 1 then, 0 when every time is inside. */
int cli_time_out_of_range(const churn_txlog *log, size_t base, char *msg, size_t cap);
/* 1 when --amount none was given: the log has no amounts (every spend column is NaN). */
int cli_tx_no_amount(const cli_tx_opts *o);
/* 1 for a customer-table column that reads amounts (NaN without them, customers.h). */
int cli_is_spend_column(const char *name);

/* ---- numeric tables (the customers.csv written by `churn features`) ----
 * First row = header. The id column is --id COL when given ("none" = no id column), else the
 * column named customer_id or id (any case; customerid, cust_id, customer too, with a note);
 * without one the rows are numbered 1..n in place of ids (a note says so, unless --id none).
 * Every other column is parsed as double (empty/NA -> NaN). The declaration columns that
 * `churn features` writes, time_unit_days (days per time unit) and cutoff (a date), must hold
 * one value on every row; they are taken out of the columns into `unit` and `cutoff`. */
#define CLI_UNIT_COLUMN "time_unit_days"
typedef struct cli_table {
    size_t nrows, ncols;
    char **names;     /* ncols column names */
    char **ids;       /* nrows id strings (the id column, or row numbers) */
    double **cols;    /* ncols columns of nrows doubles (the id column's entry is NULL) */
    int id_col;       /* index of the id column, -1 when the rows are numbered */
    int numbered;     /* 1 when ids are row numbers */
    char **text_error;/* ncols: NULL, or why the column is not numeric (first bad value);
                         such a column is an error only when a command asks for it */
    int unit_declared;/* 1 when the file has a time_unit_days column */
    double unit;      /* its value (days per time unit), 0 when undeclared */
    double cutoff;    /* the cutoff column as seconds since the epoch, NaN when absent */
    void *id_blocks;  /* the blocks that hold the id strings (ids[i] point into them) */
} cli_table;
int cli_table_read(const char *sub, const char *path, const char *id, cli_table *t);
void cli_table_free(cli_table *t);
/* Column by name; prints an error naming the column and the file and returns NULL when it is
 * absent or holds a value that is not a number (the message names line and value). */
const double *cli_table_col(const char *sub, const cli_table *t, const char *name);
/* The unit of the table's durations: its declaration, else --unit (`flag`, 0 = not given),
 * else 0 (unknown). A declaration that --unit contradicts is an error naming both. */
int cli_table_unit(const char *sub, const char *path, const cli_table *t, double flag,
                   double *unit);
/* Before a model meets data in `data_unit` (0 = unknown): --unit (`flag`) declares the
 * model's unit when the model records none; then churn_model_check_time_unit. Passes when
 * neither side declares a unit. On a mismatch, `convert` > 0 (--convert-unit) converts a BTYD
 * model on purpose; otherwise prints a message naming both units and returns CLI_EXIT_FAIL
 * (`convert` < 0: the family has no conversion, the message offers none). */
int cli_check_model_unit(const char *sub, churn_model *m, double data_unit, double flag,
                         int convert);
/* The option --id COL of every command that reads a table (a const char * destination). */
#define CLI_TABLE_ID(at_) {.name = "--id", .kind = CLI_STRING, .at = (at_)}

/* ---- lifetime rows (km, fit cox and the AFT models) ----
 * A row of a customer table gives a duration, an event (0 or 1) and optionally a case
 * weight; the commands share the checks and their messages, which name the file, the
 * customer, the 1-based row and the column. */
typedef struct cli_lifetime_cols {
    const char *input;              /* the table's path, for messages */
    const cli_table *t;
    const char *dcol, *ecol, *wcol; /* column names (wcol NULL without weights) */
    const double *dur, *ev, *w;     /* their values (w NULL without weights) */
    int drop;                       /* --drop-missing: skip rows with a missing value */
    int finite;                     /* durations and weights must also be finite */
    int positive;                   /* durations must be > 0, not only >= 0 */
    const char *dur_rule;           /* what a bad duration "must be", for its message */
} cli_lifetime_cols;
/* Check row i: first a missing value (empty/NA) in the duration, the event, the weight or,
 * as `missing` names it, one of the caller's own columns (NULL when none); then the
 * duration, the event and the weight. Returns 0 for a good row, -1 for a row to skip
 * (missing value with drop), CLI_EXIT_FAIL with the message printed otherwise. */
int cli_lifetime_row(const char *sub, const cli_lifetime_cols *c, size_t i, const char *missing);

/* ---- clocks ---- */
/* Seconds on a POSIX clock (CLOCK_MONOTONIC for wall time, CLOCK_PROCESS_CPUTIME_ID for
 * CPU time), for --timings and the summary line of `churn score`. */
double cli_clock(int clock_id);

/* ---- output ----
 * -o FILE is written to a temporary file in the same directory ("DIR/.NAME.churn-XXXXXX")
 * and renamed over FILE only after a complete, flushed, synced, closed write: a failure, a
 * kill or a full disk leaves FILE as it was and removes the temporary. Standard output
 * streams. */
#define CLI_EXIT_PIPE 141 /* standard output's reader went away (EPIPE), as a shell reports SIGPIPE */
/* Open -o path for writing ("-" or NULL = stdout). Prints the error (with the system's reason)
 * and returns NULL on failure. */
FILE *cli_open_out(const char *sub, const char *path);
/* Finish what cli_open_out returned: CLI_EXIT_OK once FILE holds the complete output;
 * CLI_EXIT_FAIL with a message naming the system's reason (ENOSPC, EACCES, ...) and the target
 * untouched; CLI_EXIT_PIPE, silently, when standard output's reader has gone. */
int cli_close_out(const char *sub, FILE *f, const char *path);
/* Give up an output on an error path: close it and remove the temporary (stdout: nothing). */
void cli_abort_out(FILE *f);

/* Customers left out because their inputs or scores are not finite numbers (issue 19:
 * one bad customer never sinks a batch): counted, the first named in a note, and every
 * one listed with --rejects FILE as a CSV "customer_id,reason", written atomically like
 * -o (cli_open_out / cli_close_out). */
typedef struct cli_rejects {
    FILE *f;            /* NULL without --rejects */
    const char *path;
    size_t n;           /* customers rejected so far */
    char first[512];    /* "customer 'x': reason" of the first */
} cli_rejects;
/* Open `path` (NULL: count only). Returns CLI_EXIT_OK or prints the error. */
int cli_rejects_open(const char *sub, cli_rejects *r, const char *path);
/* One customer left out, with the reason. */
void cli_reject(cli_rejects *r, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A library message about a one-row call without its "row 0, " / "row 0: " (the row is
 * the customer named beside it), in buf. */
const char *cli_one_row_message(const char *msg, char *buf, size_t cap);
/* The note on stderr ("N of M customers left out ..."; nothing when none) unless quiet,
 * then the file closed (CLI_EXIT_OK, or the error printed). `ok` = 0 discards the file. */
int cli_rejects_close(const char *sub, cli_rejects *r, size_t total, int quiet, int ok);
/* Check before reading any input that `path` can be written (its directory exists and is
 * writable, it is not a directory); "-"/NULL pass. Prints the error and returns
 * CLI_EXIT_FAIL. cli_parse calls it for -o/--output. */
int cli_check_out_path(const char *sub, const char *path);

/* ---- signals ----
 * cli_install_signals (called once by main): SIGTERM, SIGINT and SIGHUP remove the pending
 * temporaries, call the interrupt hook, then end the process by the same signal (exit status
 * 128 + N); SIGPIPE is ignored so that a closed pipe is an EPIPE write error. The hook runs in
 * the signal handler: it may only use async-signal-safe calls (cli_sig_puts, cli_sig_putu). */
void cli_install_signals(void);
void cli_on_interrupt(void (*hook)(const char *status));
void cli_sig_puts(const char *s);
void cli_sig_putu(unsigned long long v);
/* Print `j` (consumed; NULL = out of memory, reported) on standard output with the jansson
 * `flags`, then a newline. Returns CLI_EXIT_OK or CLI_EXIT_FAIL. */
int cli_print_json(const char *sub, json_t *j, size_t flags);
/* Save the model to `path` when one was given (-o). Returns CLI_EXIT_OK or CLI_EXIT_FAIL. */
int cli_save_model(const char *sub, const churn_model *m, const char *path);
/* Split "a,b,c" into a NULL-terminated array of the non-empty names; *n gets
 * their count. One malloc'd block (free() it); NULL when out of memory. */
char **cli_split_list(const char *s, size_t *n);
/* A JSON number, or null for NaN/inf (JSON has neither). */
json_t *cli_json_number(double x);
/* Print a double for CSV: %.10g, "" for NaN. */
/* significant digits cli_put_double writes (churn --digits N) */
extern int cli_digits;
void cli_put_double(FILE *f, double x);
/* Write a CSV field, quoting when it holds a delimiter, quote or newline. */
void cli_put_field(FILE *f, const char *s);

/* ---- covariates of the BTYD models with covariates (covariates.c) ----
 * A covariate CSV joined to n customers by id: its id column (customer_id or id, or
 * `idcol`), and every other column (or only the `select`ed ones) numeric; a customer without
 * a row, two rows of one customer and a value that is not a number (line and column named)
 * are errors; rows naming no customer are ignored with a note (unless quiet). vals holds the
 * columns aligned with the customers, column-major (n x ncols). */
typedef struct cli_cov_join {
    size_t n, ncols;
    const char **names; /* ncols names (owned by t) */
    double *vals;
    cli_table t;
} cli_cov_join;
int cli_cov_join_read(const char *sub, const char *path, const char *idcol,
                      char *const *select, size_t nselect, size_t n,
                      const char *(*id_of)(const void *, size_t), const void *ud, int quiet,
                      cli_cov_join *c);
void cli_cov_join_free(cli_cov_join *c);
/* The joined column `name`, or NULL. */
const double *cli_cov_join_col(const cli_cov_join *c, const char *name);
/* The covariate names a model records (its parameters trans.<name>, life.<name>), pointing
 * into the model's names: returns 1 for a covariate model, 0 for a plain one, -1 out of
 * memory. Free with cli_cov_names_free. */
typedef struct cli_cov_names {
    char **trans, **life; /* NULL-terminated */
    size_t nt, nl;
} cli_cov_names;
int cli_cov_model_names(const churn_model *m, cli_cov_names *nm);
void cli_cov_names_free(cli_cov_names *nm);
/* The library's covariates of n customers from named columns: `col` returns a column by name
 * or prints why it cannot (and returns NULL). The names are borrowed. */
typedef struct cli_cov_set {
    churn_btyd_covariates cov;
    double *buf;
    size_t n;
    char **names_block; /* freed with the set when not NULL (cli_cov_model_names' arrays) */
} cli_cov_set;
int cli_cov_build(const char *sub, size_t n, char *const *trans, size_t nt, char *const *life,
                  size_t nl, const double *(*col)(const char *sub, const void *ud,
                                                  const char *name),
                  const void *ud, cli_cov_set *s);
/* Customer i alone: its values copied to row (n_trans + n_life doubles), *one pointing at
 * them. */
int cli_cov_row(const cli_cov_set *s, size_t i, double *row, churn_btyd_covariates *one);
/* Customers [lo, lo + cnt) as a set of their own: their values copied, column-major, to a
 * new block (returned; the caller frees it; NULL when out of memory) that *blk points at. */
double *cli_cov_rows(const cli_cov_set *s, size_t lo, size_t cnt, churn_btyd_covariates *blk);
void cli_cov_set_free(cli_cov_set *s);
/* Customer i of covariate model m (its covariates in s, in the model's order: trans then
 * life, as cli_cov_model_names gives them) as the plain model of its own rates, as the
 * library computes them (churn_btyd_customer_params_covariates), with m's time unit, for
 * the functions that take plain models (DERT, report). Returns the library status. */
int cli_cov_customer_model(const churn_model *m, const cli_cov_set *s, size_t i,
                           churn_model **out);

/* Each table row's sum of log inter-purchase times up to the cutoff, in the table's unit
 * (MBG/CNBD-k's litt; churn features --litt): a malloc'ed array of the table's rows, or
 * NULL after printing the error. first_counts: the table counts the first purchase. */
double *cli_compute_litt(const char *sub, const churn_txlog *txl, const churn_customers *t,
                         int first_counts);

#endif
