/* `churn simulate`: purchase histories from a known BTYD process, as a CSV. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char simulate_help[] =
    "usage: churn simulate [--model pnbd|bgnbd|mbgnbd|ggomnbd|mbgcnbdk] [--k K]\n"
    "                      [--customers N] [--seed S]\n"
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
    "  ggomnbd Gamma-Gompertz/NBD (Bemmaor & Glady 2012): Gompertz lifetime,\n"
    "          S(t | eta) = exp(-eta (e^(b t) - 1)), eta ~ Gamma(s, beta)\n"
    "  mbgcnbdk MBG/CNBD-k (Reutterer, Platzer & Schroeder 2021; also spelled\n"
    "          mbgcnbd): as mbgnbd, but the gaps between purchases are Erlang-k (every\n"
    "          k-th event of the Poisson(lambda) process is a purchase): regular buyers\n"
    "Amounts follow the Gamma-Gamma spend model: z ~ Gamma(p, nu), nu ~ Gamma(q, gamma),\n"
    "so the mean amount is p*gamma/(q-1).\n"
    "\n"
    "Options:\n"
    "  --model M            pnbd (default), bgnbd, mbgnbd, ggomnbd or mbgcnbdk\n"
    "  --k K                mbgcnbdk: the Erlang shape, 1-12 (default 3; 1 draws the\n"
    "                       mbgnbd customers of the same parameters)\n"
    "  --customers N        number of customers (default 1000)\n"
    "  --seed S             random seed (default 1); the same seed gives the same file\n"
    "  --start DATE         first day of the window (default 1997-01-01)\n"
    "  --weeks W            length of the window in weeks (default 78)\n"
    "  --acquisition-weeks A  spread first purchases over the first A weeks (default 0)\n"
    "  --unit U             time unit of the rate parameters: day, week (default),\n"
    "                       month, year or a number of days\n"
    "  --r --alpha          purchase rate parameters\n"
    "  --s --beta           Pareto/NBD and Gamma-Gompertz/NBD lifetime parameters\n"
    "  --a --b              BG/NBD, MBG/NBD and MBG/CNBD-k dropout parameters; --b is\n"
    "                       also the Gompertz scale of ggomnbd (default 0.02 per week)\n"
    "  --p --q --gamma      Gamma-Gamma spend parameters\n"
    "  --id-prefix P        customer ids are P1, P2, ... (default: 1, 2, ...)\n"
    "  -o, --output F       write to F instead of standard output\n"
    "  --help               this text\n"
    "\n"
    "Unset parameters take the published fits on CDNOW (per week): Pareto/NBD\n"
    "r 0.5534 alpha 10.5802 s 0.6061 beta 11.6562; BG/NBD r 0.2426 alpha 4.4136\n"
    "a 0.7929 b 2.4259; MBG/NBD r 0.525 alpha 6.183 a 0.891 b 1.614; Gamma-Gamma\n"
    "p 6.25 q 3.74 gamma 15.44. MBG/CNBD-k has no published CDNOW fit: k 3, r 0.85,\n"
    "alpha 1.45, a 0.79, b 2.42 (BTYDplus' illustration).\n";

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
            cli_abort_out(f);
            return cli_lib_fail(sub, "formatting a date", churn_last_error_code());
        }
        cli_put_field(f, churn_txlog_customer_id(log, c[i]));
        fprintf(f, ",%s,%.2f\n", date, amt[i]);
    }
    free(order);
    return cli_close_out(sub, f, out);
}

typedef struct simulate_args {
    churn_simulate_options o;
    const char *out, *model;
    double weeks, acq_weeks, unit;
    long customers, k;
    /* which process-specific parameters were given, to reject mismatches */
    int have_pnbd, have_a, have_b;
} simulate_args;

static int parse_seed(const char *sub, const char *s, void *dst)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end || errno || s[0] == '-')
        return cli_usage_error(sub, "option --seed: '%s' is not a non-negative integer", s);
    *(uint64_t *)dst = (uint64_t)v;
    return 0;
}

#define AT(m) CLI_AT(simulate_args, m)
/* A model parameter: a positive number; `seen` marks the pnbd-only and bg-only ones. */
#define PARAM(flag, field, given)                                                          \
    {.name = "--" #flag, .kind = CLI_DOUBLE, .at = AT(o.field), .seen = given,             \
     .bounds = CLI_MIN_OPEN, .min = 0, .range_msg = "option --" #flag ": %g must be positive"}
static const cli_option simulate_options[] = {
    PARAM(r, r, 0),
    PARAM(alpha, alpha, 0),
    PARAM(s, s, AT(have_pnbd)),
    PARAM(beta, beta, AT(have_pnbd)),
    PARAM(a, a, AT(have_a)),
    PARAM(b, b, AT(have_b)),
    PARAM(p, p, 0),
    PARAM(q, q, 0),
    PARAM(gamma, gamma, 0),
    CLI_OPT("--model", CLI_STRING, AT(model)),
    CLI_LONG_IN("--k", AT(k), 1, 12),
    {.name = "--customers", .kind = CLI_LONG, .at = AT(customers), .bounds = CLI_MIN, .min = 1,
     .range_msg = "option --customers: %ld must be at least 1"},
    {.name = "--seed", .kind = CLI_CALL, .at = AT(o.seed), .parse = parse_seed},
    CLI_OPT("--start", CLI_DATE, AT(o.start)),
    {.name = "--weeks", .kind = CLI_DOUBLE, .at = AT(weeks), .bounds = CLI_MIN_OPEN, .min = 0,
     .range_msg = "option --weeks: %g must be positive"},
    {.name = "--acquisition-weeks", .kind = CLI_DOUBLE, .at = AT(acq_weeks), .bounds = CLI_MIN,
     .min = 0, .range_msg = "option --acquisition-weeks: %g must be >= 0"},
    CLI_OPT("--unit", CLI_UNIT, AT(unit)),
    CLI_OPT("--id-prefix", CLI_STRING, AT(o.id_prefix)),
    CLI_OUTPUT(AT(out)),
};
#undef PARAM
static const cli_spec simulate_spec = {
    .options = simulate_options, .noptions = CLI_NOPTIONS(simulate_options),
    .help = simulate_help,
};
#undef AT

/* The checks between options, and the options in the library's units. */
static int check_options(const char *sub, simulate_args *a)
{
    churn_simulate_options *o = &a->o;
    if (strcmp(a->model, "pnbd") == 0)
        o->model = CHURN_FAMILY_PNBD;
    else if (strcmp(a->model, "bgnbd") == 0)
        o->model = CHURN_FAMILY_BGNBD;
    else if (strcmp(a->model, "mbgnbd") == 0)
        o->model = CHURN_FAMILY_MBGNBD;
    else if (strcmp(a->model, "ggomnbd") == 0)
        o->model = CHURN_FAMILY_GGOMNBD;
    else if (strcmp(a->model, "mbgcnbdk") == 0 || strcmp(a->model, "mbgcnbd") == 0)
        o->model = CHURN_FAMILY_MBGCNBD;
    else
        return cli_usage_error(sub, "option --model: '%s' is not pnbd, bgnbd, mbgnbd, "
                               "ggomnbd or mbgcnbdk", a->model);
    if (a->k && o->model != CHURN_FAMILY_MBGCNBD)
        return cli_usage_error(sub, "--k is the Erlang shape of the mbgcnbdk model, not of "
                               "%s", a->model);
    o->k = (int)a->k;
    if (o->model == CHURN_FAMILY_PNBD && (a->have_a || a->have_b))
        return cli_usage_error(sub, "--a and --b are BG/NBD parameters; the pnbd model uses "
                               "--s and --beta");
    if (o->model == CHURN_FAMILY_GGOMNBD && a->have_a)
        return cli_usage_error(sub, "--a is a BG/NBD parameter; the ggomnbd model uses --b, "
                               "--s and --beta");
    if (o->model != CHURN_FAMILY_PNBD && o->model != CHURN_FAMILY_GGOMNBD && a->have_pnbd)
        return cli_usage_error(sub, "--s and --beta are Pareto/NBD parameters; the %s model "
                               "uses --a and --b", a->model);
    if (a->acq_weeks >= a->weeks)
        return cli_usage_error(sub, "--acquisition-weeks %g must be less than --weeks %g",
                               a->acq_weeks, a->weeks);
    /* the window ends within the dates every command reads (cli.h) */
    if (!(o->start >= CLI_TIME_MIN &&
          o->start + a->weeks * 7 * CHURN_SECONDS_PER_DAY < CLI_TIME_END))
        return cli_usage_error(sub, "--start and --weeks %g reach beyond 9999-12-31 (or start "
                               "before 0001-01-01), the dates the commands read", a->weeks);
    o->customers = (size_t)a->customers;
    o->days = a->weeks * 7;
    o->acquisition_days = a->acq_weeks * 7;
    o->time_unit = a->unit;
    return CLI_EXIT_OK;
}

int cmd_simulate(int argc, char **argv)
{
    const char *sub = "simulate";
    simulate_args a = {.model = "pnbd", .weeks = 78, .unit = CHURN_UNIT_WEEK};
    churn_simulate_options_init(&a.o);
    a.customers = (long)a.o.customers;
    int rc = cli_parse(&simulate_spec, sub, argc, argv, &a);
    if (rc != CLI_CONTINUE)
        return rc;
    if ((rc = check_options(sub, &a)))
        return rc;
    churn_txlog *log = NULL;
    rc = churn_txlog_new(&log);
    if (rc)
        return cli_lib_fail(sub, "cannot create a transaction log", rc);
    rc = churn_simulate_txlog(log, &a.o);
    if (rc) {
        churn_txlog_free(log);
        return cli_lib_fail(sub, "simulation failed", rc);
    }
    rc = write_csv(sub, log, a.out);
    churn_txlog_free(log);
    return rc;
}
