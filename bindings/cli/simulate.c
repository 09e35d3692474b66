/* `churn simulate`: purchase histories from a known BTYD process, as a CSV. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char simulate_help[] =
    "usage: churn simulate [--model pnbd|bgnbd|mbgnbd] [--customers N] [--seed S]\n"
    "                      [--start DATE] [--weeks W] [--acquisition-weeks A]\n"
    "                      [model parameters] [-o tx.csv]\n"
    "\n"
    "Simulate purchase histories from a known process and write them as a CSV with\n"
    "the header customer_id,date,amount (ISO dates, in date order), which every\n"
    "other subcommand reads with its default options.\n"
    "\n"
    "Each customer buys first at DATE (or uniformly within the first A weeks), then\n"
    "repeat-buys as a Poisson process with rate lambda ~ Gamma(r, alpha) while alive:\n"
    "  pnbd    Pareto/NBD (Schmittlein, Morrison & Colombo 1987): lifetime\n"
    "          ~ Exponential(mu), mu ~ Gamma(s, beta)\n"
    "  bgnbd   BG/NBD (Fader, Hardie & Lee 2005): after each repeat purchase the\n"
    "          customer leaves with probability p ~ Beta(a, b)\n"
    "  mbgnbd  MBG/NBD (Batislam et al. 2007): as bgnbd, and may also leave right\n"
    "          after the first purchase\n"
    "Amounts follow the Gamma-Gamma spend model: z ~ Gamma(p, nu), nu ~ Gamma(q, gamma),\n"
    "so the mean amount is p*gamma/(q-1).\n"
    "\n"
    "Options:\n"
    "  --model M            pnbd (default), bgnbd or mbgnbd\n"
    "  --customers N        number of customers (default 1000)\n"
    "  --seed S             random seed (default 1); the same seed gives the same file\n"
    "  --start DATE         first day of the window (default 1997-01-01)\n"
    "  --weeks W            length of the window in weeks (default 78)\n"
    "  --acquisition-weeks A  spread first purchases over the first A weeks (default 0)\n"
    "  --unit U             time unit of the rate parameters: day, week (default),\n"
    "                       month, year or a number of days\n"
    "  --r --alpha          purchase rate parameters\n"
    "  --s --beta           Pareto/NBD lifetime parameters\n"
    "  --a --b              BG/NBD and MBG/NBD dropout parameters\n"
    "  --p --q --gamma      Gamma-Gamma spend parameters\n"
    "  --id-prefix P        customer ids are P1, P2, ... (default: 1, 2, ...)\n"
    "  -o, --output F       write to F instead of standard output\n"
    "  --help               this text\n"
    "\n"
    "Unset parameters take the published fits on CDNOW (per week): Pareto/NBD\n"
    "r 0.5534 alpha 10.5802 s 0.6061 beta 11.6562; BG/NBD r 0.2426 alpha 4.4136\n"
    "a 0.7929 b 2.4259; MBG/NBD r 0.525 alpha 6.183 a 0.891 b 1.614; Gamma-Gamma\n"
    "p 6.25 q 3.74 gamma 15.44.\n";

typedef struct row_ref {
    double time;
    size_t row;
} row_ref;

static int cmp_rows(const void *pa, const void *pb)
{
    const row_ref *a = pa, *b = pb;
    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    return (a->row > b->row) - (a->row < b->row);
}

static int write_csv(const char *sub, const churn_txlog *log, const char *out)
{
    size_t n = churn_txlog_num_transactions(log);
    const double *t = churn_txlog_times(log), *amt = churn_txlog_amounts(log);
    const uint32_t *c = churn_txlog_customers(log);
    row_ref *order = malloc((n ? n : 1) * sizeof *order);
    if (!order)
        return cli_fail(sub, "out of memory sorting %zu transactions", n);
    for (size_t i = 0; i < n; i++) {
        order[i].time = t[i];
        order[i].row = i;
    }
    /* in date order, as exported order logs usually are; ties keep the
     * simulation order (customer by customer) */
    qsort(order, n, sizeof *order, cmp_rows);
    FILE *f = cli_open_out(sub, out);
    if (!f) {
        free(order);
        return CLI_EXIT_FAIL;
    }
    fputs("customer_id,date,amount\n", f);
    char date[32];
    for (size_t k = 0; k < n; k++) {
        size_t i = order[k].row;
        if (churn_format_date(t[i], date, sizeof date) != CHURN_OK) {
            free(order);
            cli_close_out(sub, f, out);
            return cli_lib_fail(sub, "formatting a date", churn_last_error_code());
        }
        cli_put_field(f, churn_txlog_customer_id(log, c[i]));
        fprintf(f, ",%s,%.2f\n", date, amt[i]);
    }
    free(order);
    return cli_close_out(sub, f, out);
}

int cmd_simulate(int argc, char **argv)
{
    const char *sub = "simulate", *out = NULL, *model = "pnbd", *s;
    churn_simulate_options o;
    churn_simulate_options_init(&o);
    double weeks = 78, acq_weeks = 0, unit = CHURN_UNIT_WEEK;
    long customers = (long)o.customers;
    /* which process-specific parameters were given, to reject mismatches */
    int have_pnbd = 0, have_bg = 0;
    cli_args a;
    cli_args_init(&a, argc, argv, 1, sub);
    struct {
        const char *name;
        double *dst;
        int *flag;
    } params[] = {
        {"--r", &o.r, NULL},        {"--alpha", &o.alpha, NULL}, {"--s", &o.s, &have_pnbd},
        {"--beta", &o.beta, &have_pnbd}, {"--a", &o.a, &have_bg}, {"--b", &o.b, &have_bg},
        {"--p", &o.p, NULL},        {"--q", &o.q, NULL},         {"--gamma", &o.gamma, NULL},
    };
    while (cli_next(&a)) {
        int matched = 0;
        for (size_t k = 0; k < sizeof params / sizeof params[0] && !matched; k++) {
            if (!cli_is(&a, params[k].name))
                continue;
            matched = 1;
            if (cli_double(&a, params[k].dst))
                return CLI_EXIT_USAGE;
            if (!(*params[k].dst > 0))
                return cli_usage_error(sub, "option %s: %g must be positive", params[k].name,
                                       *params[k].dst);
            if (params[k].flag)
                *params[k].flag = 1;
        }
        if (matched)
            continue;
        if (cli_flag(&a, "--help") || cli_flag(&a, "-h")) {
            fputs(simulate_help, stdout);
            return CLI_EXIT_OK;
        } else if (cli_is(&a, "--model")) {
            if (cli_string(&a, &model))
                return CLI_EXIT_USAGE;
        } else if (cli_is(&a, "--customers")) {
            if (cli_long(&a, &customers))
                return CLI_EXIT_USAGE;
            if (customers < 1)
                return cli_usage_error(sub, "option --customers: %ld must be at least 1",
                                       customers);
        } else if (cli_is(&a, "--seed")) {
            if (cli_string(&a, &s))
                return CLI_EXIT_USAGE;
            char *end;
            errno = 0;
            unsigned long long v = strtoull(s, &end, 10);
            if (end == s || *end || errno || s[0] == '-')
                return cli_usage_error(sub, "option --seed: '%s' is not a non-negative integer",
                                       s);
            o.seed = (uint64_t)v;
        } else if (cli_is(&a, "--start")) {
            if (cli_date(&a, &o.start))
                return CLI_EXIT_USAGE;
        } else if (cli_is(&a, "--weeks")) {
            if (cli_double(&a, &weeks))
                return CLI_EXIT_USAGE;
            if (!(weeks > 0))
                return cli_usage_error(sub, "option --weeks: %g must be positive", weeks);
        } else if (cli_is(&a, "--acquisition-weeks")) {
            if (cli_double(&a, &acq_weeks))
                return CLI_EXIT_USAGE;
            if (!(acq_weeks >= 0))
                return cli_usage_error(sub, "option --acquisition-weeks: %g must be >= 0",
                                       acq_weeks);
        } else if (cli_is(&a, "--unit")) {
            if (cli_unit(&a, &unit))
                return CLI_EXIT_USAGE;
        } else if (cli_is(&a, "--id-prefix")) {
            if (cli_string(&a, &o.id_prefix))
                return CLI_EXIT_USAGE;
        } else if (cli_is(&a, "-o") || cli_is(&a, "--output")) {
            if (cli_string(&a, &out))
                return CLI_EXIT_USAGE;
        } else {
            return cli_unknown(&a);
        }
    }
    if (a.error)
        return CLI_EXIT_USAGE;
    if (strcmp(model, "pnbd") == 0)
        o.model = CHURN_FAMILY_PNBD;
    else if (strcmp(model, "bgnbd") == 0)
        o.model = CHURN_FAMILY_BGNBD;
    else if (strcmp(model, "mbgnbd") == 0)
        o.model = CHURN_FAMILY_MBGNBD;
    else
        return cli_usage_error(sub, "option --model: '%s' is not pnbd, bgnbd or mbgnbd", model);
    if (o.model == CHURN_FAMILY_PNBD && have_bg)
        return cli_usage_error(sub, "--a and --b are BG/NBD parameters; the pnbd model uses "
                               "--s and --beta");
    if (o.model != CHURN_FAMILY_PNBD && have_pnbd)
        return cli_usage_error(sub, "--s and --beta are Pareto/NBD parameters; the %s model "
                               "uses --a and --b", model);
    if (acq_weeks >= weeks)
        return cli_usage_error(sub, "--acquisition-weeks %g must be less than --weeks %g",
                               acq_weeks, weeks);
    o.customers = (size_t)customers;
    o.days = weeks * 7;
    o.acquisition_days = acq_weeks * 7;
    o.time_unit = unit;
    churn_txlog *log = NULL;
    int rc = churn_txlog_new(&log);
    if (rc)
        return cli_lib_fail(sub, "cannot create a transaction log", rc);
    rc = churn_simulate_txlog(log, &o);
    if (rc) {
        churn_txlog_free(log);
        return cli_lib_fail(sub, "simulation failed", rc);
    }
    rc = write_csv(sub, log, out);
    churn_txlog_free(log);
    return rc;
}
