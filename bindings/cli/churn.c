/* The `churn` command: batch churn scoring and CLV for data pipelines. */
#include "cli.h"

#include <string.h>

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static int run_fit(int argc, char **argv);
static int run_predict(int argc, char **argv);
static int run_version(int argc, char **argv);

static const command *commands(size_t *n)
{
    static const command tab[] = {
        {"describe", cmd_describe, "summarise a transaction log"},
        {"simulate", cmd_simulate, "generate purchase histories from a known model"},
        {"features", cmd_features, "build the customer table (RFM, rhythm, trends, labels)"},
        {"cohorts", cmd_cohorts, "retention by acquisition cohort"},
        {"fit", run_fit, "fit a model: bgnbd mbgnbd pnbd bgbb sbg gammagamma logit cox "
                         "weibull exponential loglogistic lognormal"},
        {"predict", run_predict, "score customers with a saved model"},
        {"report", cmd_report, "the retention report: CLV, value at risk, alerts"},
        {"km", cmd_km, "Kaplan-Meier retention curves"},
        {"evaluate", cmd_evaluate, "compare churn models on a holdout window"},
        {"score", cmd_score, "stream transactions through a saved model"},
        {"version", run_version, "print the version (also 'churn --version')"},
    };
    *n = sizeof tab / sizeof tab[0];
    return tab;
}

static void usage(FILE *f)
{
    size_t n;
    const command *c = commands(&n);
    fprintf(f, "usage: churn [--digits N] <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "  %-10s %s\n", c[i].name, c[i].summary);
    fprintf(f, "\n'churn <command> --help' describes each command.\n"
               "--digits N (1-17, before the command): significant digits of the numbers\n"
               "written to CSV (default 10; 17 writes every value back exactly, so that a\n"
               "table read again by predict or another tool gives the same scores to the bit).\n"
               "libchurn %s\n", churn_version_string());
}

/* `churn version` and `churn --version`: "churn (libchurn) X.Y.Z" on standard output. */
static int run_version(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: churn version\n\n"
               "Print the version of the command and of the libchurn it runs on, as\n"
               "'churn (libchurn) X.Y.Z', and exit 0. 'churn --version' does the same.\n");
        return CLI_EXIT_OK;
    }
    if (argc > 1)
        return cli_usage_error("version", "unexpected argument '%s'", argv[1]);
    printf("churn (libchurn) %s\n", churn_version_string());
    return CLI_EXIT_OK;
}

/* The subcommand functions that fit and score each group of families. */
typedef struct family_commands {
    int (*fit)(int family, int argc, char **argv);
    int (*predict)(churn_model *model, int argc, char **argv);
} family_commands;

static const family_commands *commands_of(int family)
{
    static const family_commands btyd = {cmd_fit_btyd, cmd_predict_btyd},
                                 spend = {cmd_fit_spend, cmd_predict_spend},
                                 logit = {cmd_fit_logit, cmd_predict_logit},
                                 survival = {cmd_fit_survival, cmd_predict_survival};
    switch (family) {
    case CHURN_FAMILY_BGNBD: case CHURN_FAMILY_MBGNBD: case CHURN_FAMILY_PNBD:
    case CHURN_FAMILY_BGBB: case CHURN_FAMILY_SBG: case CHURN_FAMILY_GGOMNBD:
    case CHURN_FAMILY_MBGCNBD:
        return &btyd;
    case CHURN_FAMILY_GAMMAGAMMA:
        return &spend;
    case CHURN_FAMILY_LOGIT:
        return &logit;
    default:
        return &survival;
    }
}

/* `churn fit` / `churn predict` without an argument, or with --help / -h. */
static int wants_help(int argc, char **argv)
{
    return argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0;
}

static int run_fit(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: churn fit FAMILY customers.csv [options] -o model.json\n"
                "FAMILY: bgnbd mbgnbd pnbd bgbb sbg gammagamma logit cox weibull exponential "
                "loglogistic lognormal ggomnbd mbgcnbd mbgcnbdk\n'churn fit FAMILY --help' lists its "
                "options.\n");
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    int family;
    if (strcmp(argv[1], "mbgcnbdk") == 0) /* the and BTYDplus' spelling of mbgcnbd */
        family = CHURN_FAMILY_MBGCNBD;
    else if (churn_family_from_name(argv[1], &family) != CHURN_OK)
        return cli_usage_error("fit", "%s", churn_last_error_message());
    return commands_of(family)->fit(family, argc - 1, argv + 1);
}

static int run_predict(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: churn predict model.json customers.csv [options] [-o scores.csv]\n"
                "Scores every row of a customer table with a saved model. The options and\n"
                "output columns depend on the model's family:\n"
                "  bgnbd mbgnbd pnbd bgbb sbg   --horizon H: p_alive, expected_purchases, p_churn\n"
                "                               (bgbb: p_alive at the next opportunity, then\n"
                "                               p_alive_through)\n"
                "  gammagamma                   expected_spend\n"
                "  logit                        p_churn, linear_predictor [--explain --top K]\n"
                "  cox weibull exponential loglogistic lognormal\n"
                "                               --horizon H: p_churn, survival, linear_predictor\n"
                "'churn predict model.json --help' lists the options for that model.\n");
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    churn_model *m = NULL;
    int rc = churn_model_load(&m, argv[1]);
    if (rc)
        return cli_lib_fail("predict", "loading the model", rc);
    rc = commands_of(churn_model_family(m))->predict(m, argc - 1, argv + 1);
    churn_model_free(m);
    return rc;
}

int main(int argc, char **argv)
{
    cli_install_signals();
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0)
        return run_version(1, argv + 1);
    if (strcmp(argv[1], "--digits") == 0) {
        char *end = NULL;
        long d = argc > 2 ? strtol(argv[2], &end, 10) : 0;
        if (argc < 3 || !end || *end || d < 1 || d > 17) {
            fprintf(stderr, "churn: --digits takes a whole number from 1 to 17, then the "
                            "command\n");
            return CLI_EXIT_USAGE;
        }
        cli_digits = (int)d;
        argc -= 2;
        argv += 2;
        if (argc < 2) {
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    size_t n;
    const command *c = commands(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(argv[1], c[i].name) == 0)
            return c[i].run(argc - 1, argv + 1);
    fprintf(stderr, "churn: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
