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
 * A minimal getopt_long-like scanner over "--name value", "--name=value" and
 * boolean "--flag". Usage:
 *     cli_args a; cli_args_init(&a, argc, argv, 1);
 *     while (cli_next(&a)) {
 *         if (cli_is(&a, "--horizon")) { if (cli_double(&a, &h)) return ...; }
 *         else if (cli_flag(&a, "--json")) json = 1;
 *         else if (cli_positional(&a)) { ... a.value ... }
 *         else return cli_unknown(&a, sub);
 *     }
 */
typedef struct cli_args {
    int argc;
    char **argv;
    int i;            /* index of the current token */
    const char *name; /* current option name (e.g. "--horizon") or NULL for a positional */
    const char *value;/* inline "=value", the positional text, or NULL */
    int inline_value;
    const char *sub;  /* subcommand name for messages */
    int error;        /* set when a value was missing or malformed */
    int dashdash;     /* after "--": everything is positional */
} cli_args;

void cli_args_init(cli_args *a, int argc, char **argv, int first, const char *sub);
int cli_next(cli_args *a);
/* Current token is option `name` (taking a value). */
int cli_is(cli_args *a, const char *name);
/* Current token is the boolean flag `name`. */
int cli_flag(cli_args *a, const char *name);
int cli_positional(cli_args *a);
/* Take the option's value: string / finite double / integer. Return 0 on success,
 * or print a usage error, set a->error and return CLI_EXIT_USAGE. */
int cli_string(cli_args *a, const char **out);
int cli_double(cli_args *a, double *out);
int cli_long(cli_args *a, long *out);
int cli_unknown(cli_args *a);

/* ---- transaction input options, shared by every subcommand that reads transactions:
 *   --id COL --time COL --amount COL [--quantity COL --product COL]
 *   --no-header --delim D (",", ";", "tab", "space" or one character)
 *   --date-format auto|iso|yyyymmdd|epoch  --skip-bad-rows */
typedef struct cli_tx_opts {
    churn_csv_options csv;
} cli_tx_opts;
void cli_tx_opts_init(cli_tx_opts *o);
/* If the current token is one of the options above, consume it and return 1
 * (a->error is set on a bad value); otherwise return 0. */
int cli_tx_option(cli_args *a, cli_tx_opts *o);
/* Help text for these options. */
extern const char cli_tx_help[];
/* Read a transaction CSV (path "-" = stdin). Prints the error and returns NULL on failure;
 * prints a note on stderr when rows were skipped. */
churn_txlog *cli_read_txlog(const char *sub, const char *path, const cli_tx_opts *o);

/* Parse a date option value (any format churn_parse_date accepts). */
int cli_date(cli_args *a, double *out);
/* Time unit names: day, week, month, year, or a number of days. */
int cli_unit(cli_args *a, double *out);

/* ---- numeric tables (the customers.csv written by `churn features`) ----
 * First row = header; the id column (default the first) holds text; every other
 * column is parsed as double (empty/NA -> NaN). */
typedef struct cli_table {
    size_t nrows, ncols;
    char **names;     /* ncols column names */
    char **ids;       /* nrows id strings (the id column) */
    double **cols;    /* ncols columns of nrows doubles (the id column's entry is NULL) */
    int id_col;       /* index of the id column */
    char **text_error;/* ncols: NULL, or why the column is not numeric (first bad value);
                         such a column is an error only when a command asks for it */
} cli_table;
int cli_table_read(const char *sub, const char *path, cli_table *t);
void cli_table_free(cli_table *t);
/* Column by name; prints an error naming the column and the file and returns NULL when it is
 * absent or holds a value that is not a number (the message names line and value). */
const double *cli_table_col(const char *sub, const cli_table *t, const char *name);

/* ---- output ---- */
/* Open -o path for writing ("-" or NULL = stdout). Prints the error and returns NULL on failure. */
FILE *cli_open_out(const char *sub, const char *path);
/* Close what cli_open_out returned; returns CLI_EXIT_FAIL (with message) on a write error. */
int cli_close_out(const char *sub, FILE *f, const char *path);
/* Split "a,b,c" into a NULL-terminated array of the non-empty names; *n gets
 * their count. One malloc'd block (free() it); NULL when out of memory. */
char **cli_split_list(const char *s, size_t *n);
/* A JSON number, or null for NaN/inf (JSON has neither). */
json_t *cli_json_number(double x);
/* Print a double for CSV: %.10g, "" for NaN. */
void cli_put_double(FILE *f, double x);
/* Write a CSV field, quoting when it holds a delimiter, quote or newline. */
void cli_put_field(FILE *f, const char *s);

#endif
