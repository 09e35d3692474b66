/* `churn report`: the retention report — CLV, value at risk, tiers and alerts
 * for every customer of a transaction log.
 *
 * cmd_report parses the options, builds the alert rules, then runs the steps of run_report
 * in order over one report_run: read the log -> customer table -> purchase model -> spend
 * model -> CLV and value at risk -> tiers -> alerts -> summary numbers -> summary (text or
 * JSON) -> CSV. Calls cli.c and the public API only. */
#include "cli.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char sub[] = "report";

/* The default P(alive) split between the save-now and win-back lists: a customer above it is
 * more likely still active than gone (docs/report.md, "The two action lists"). */
#define REPORT_ALIVE_THRESHOLD 0.5

static const char report_help[] =
    "usage: churn report TX.csv [--cutoff DATE] [--unit week] [--horizon 12 --period P\n"
    "                    --discount 0.01 --margin 1]\n"
    "                    [--model bgnbd|mbgnbd|pnbd|ggomnbd|mbgcnbdk] [--k K] [--top N]\n"
    "                    [--alert RULE]... [--alive-threshold 0.5] [--json] [-o report.csv]\n"
    "                    [--html report.html] [--interval 0.9] [transaction options]\n"
    "\n"
    "Builds the customer table as of the cutoff, fits a BTYD purchase model and\n"
    "the Gamma-Gamma spend model, and values every customer: P(alive), expected\n"
    "purchases and spend over the horizon, CLV, value at risk, value tier and\n"
    "the alert rules that fire. Prints a summary and the top customers by value\n"
    "at risk (the retention priority list), then two action lists: save now\n"
    "(P(alive) >= the threshold, ranked by value_at_risk, the expected loss over\n"
    "the horizon) and win back (P(alive) < the threshold, ranked by\n"
    "value_if_active, what they would bring if won back). It needs amounts:\n"
    "--amount none (a log without them) is refused.\n"
    "\n"
    "Options:\n"
    "  --cutoff DATE      end of the observation period (default: the last date in the log)\n"
    "  --unit U           time unit of the models: day, week (default), month, year or a\n"
    "                     number of days\n"
    "  --horizon H        number of discount periods (default 12)\n"
    "  --period P         length of one discount period in the time unit (default: one\n"
    "                     month = 30.4375 days in that unit; lifetimes uses 4.345 weeks)\n"
    "  --discount D       discount rate per period (default 0.01)\n"
    "  --margin M         profit margin applied to spend (default 1 = revenue)\n"
    "  --dert DELTA       add the column dert: discounted expected residual transactions\n"
    "                     (Fader, Hardie & Lee 2005), the present value of all future\n"
    "                     purchases counted in purchases, with continuous discounting at\n"
    "                     DELTA per time unit (from a rate d per period of P units:\n"
    "                     DELTA = log(1 + d) / P)\n"
    "  --model F          bgnbd (default), mbgnbd, pnbd, ggomnbd (Gamma-Gompertz/NBD:\n"
    "                     by quadrature, 10-100 times slower) or mbgcnbdk (MBG/CNBD-k,\n"
    "                     regular buyers: Erlang-k gaps between purchases; k chosen by\n"
    "                     likelihood among 1-12 from the log's inter-purchase times)\n"
    "  --k K              --model mbgcnbdk: fix k (1-12; 1 = MBG/NBD)\n"
    "  --covariates FILE  fit the purchase model with customer covariates: a CSV with a\n"
    "                     customer id column and numeric columns, joined by id as\n"
    "                     'churn features --covariates' does; --trans COLS and --life\n"
    "                     COLS (comma-separated) name the columns of the purchase and\n"
    "                     dropout processes (docs/models/covariates.md). Each customer\n"
    "                     is valued with its own rates\n"
    "  --covariates-id COL  the id column of that file\n"
    "  --top N            customers listed in the summary and in each of the save-now\n"
    "                     and win-back lists (default 10; 0 for none)\n"
    "  --alive-threshold A  P(alive) that splits the save-now list (P(alive) >= A)\n"
    "                     from the win-back list (P(alive) < A); 0 < A < 1 (default\n"
    "                     0.5: more likely still active than gone)\n"
    "  --alert RULE       an alert rule '[name:] field op threshold', e.g.\n"
    "                     'dormant: p_alive < 0.2'; op is < <= > >= == !=; repeatable.\n"
    "                     Fields: any customer-table column (see 'churn features') and\n"
    "                     p_alive, p_churn, expected_purchases, expected_spend, clv,\n"
    "                     value_at_risk\n"
    "  --no-default-alerts  drop the standard rules: p_alive_low: p_alive < 0.3,\n"
    "                     overdue: overdue_ratio > 2, spend_down: spend_trend < -1/3\n"
    "                     (spend in the last 90 days down by more than half)\n"
    "  --trend-window DAYS  window of the spend/order trends (default 90)\n"
    "  --json             print the summary as JSON\n"
    "  --interval L       add the L (e.g. 0.9) delta-method interval of every\n"
    "                     customer's P(alive), expected purchases, expected spend, CLV\n"
    "                     and value at risk, from both fits' covariance matrices (with\n"
    "                     --covariates, every coefficient's too): the uncertainty of\n"
    "                     the estimated parameters (docs/models/intervals.md). Appends\n"
    "                     the -o columns p_alive_lo, p_alive_hi, expected_purchases_lo,\n"
    "                     expected_purchases_hi, expected_spend_lo, expected_spend_hi,\n"
    "                     clv_lo, clv_hi, value_at_risk_lo, value_at_risk_hi; the lists\n"
    "                     show the CLV's range and --json each listed customer's limits\n"
    "  --html F           write the report as one self-contained HTML page F (- =\n"
    "                     standard output; the summary then goes to standard error): summary,\n"
    "                     both lists, value tiers, P(alive) distribution, retention by\n"
    "                     acquisition cohort (months), Kaplan-Meier retention by tier\n"
    "  --timings          print the time of each stage on standard error\n"
    "  --rejects F        the customers left out (scores not finite numbers) as CSV:\n"
    "                     customer_id,reason\n"
    "  -o, --output F     write every customer to CSV F: customer_id, frequency, recency,\n"
    "                     T, monetary_value, p_alive, p_churn, expected_purchases,\n"
    "                     expected_spend, clv, value_at_risk, tier, alerts [, dert],\n"
    "                     value_if_active, list (save_now or win_back), list_rank\n"
    "                     [, the ten --interval limits]\n"
    "  --help             this text\n"
    "\n"
    "Definitions: clv = margin * expected_spend * sum over periods i = 1..H of the\n"
    "expected purchases in period i discounted by (1 + D)^i (lifetimes'\n"
    "customer_lifetime_value); value_at_risk = (clv / p_alive) * (1 - p_alive): the\n"
    "value of the customer if still active, times the probability they have left;\n"
    "value_if_active = clv + value_at_risk = clv / p_alive: the value over the\n"
    "horizon of the customer if still active (or won back);\n"
    "tier: key = top 20% of customers by clv, important = next 30%, ordinary = rest.\n"
    "\n";

/* Wall-clock and CPU seconds, for --timings. */
static double now_s(void) { return cli_clock(CLOCK_MONOTONIC); }
static double cpu_s(void) { return cli_clock(CLOCK_PROCESS_CPUTIME_ID); }

/* The --interval columns, in output order. */
static const char *const IV_NAMES[10] = {
    "p_alive_lo", "p_alive_hi", "expected_purchases_lo", "expected_purchases_hi",
    "expected_spend_lo", "expected_spend_hi", "clv_lo", "clv_hi", "value_at_risk_lo",
    "value_at_risk_hi"};

typedef struct report {
    size_t n;
    const double *x, *tx, *T, *mv;
    double *p_alive, *p_churn, *exp_purch, *exp_spend, *clv, *var;
    double *dert; /* with --dert: discounted expected residual transactions, else NULL */
    double *value_if_active; /* clv + value_at_risk: the value if still active / won back */
    double *iv[10]; /* with --interval: the limits of IV_NAMES, else NULL */
    int *tier;
    uint64_t *fired;
} report;

/* Indices of the `top` customers with the largest value at risk
 * (ties: input order), in descending order. */
static size_t top_by(const double *v, size_t n, size_t top, size_t *idx)
{
    size_t k = 0;
    if (top == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (k == top && !(v[i] > v[idx[k - 1]]))
            continue;
        size_t j = k < top ? k++ : k - 1;
        while (j > 0 && v[i] > v[idx[j - 1]]) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = i;
    }
    return k;
}

/* The alert names of a mask into a growing buffer; returns the text. */
static const char *alert_text(const churn_alerts *al, uint64_t mask, char **buf, size_t *cap)
{
    size_t need = 0;
    if (churn_alerts_describe(al, mask, *buf, *cap, &need) == CHURN_ERANGE) {
        char *nb = realloc(*buf, need);
        if (!nb)
            return "";
        *buf = nb;
        *cap = need;
        churn_alerts_describe(al, mask, *buf, *cap, NULL);
    }
    return *buf ? *buf : "";
}

static json_t *model_json(const churn_model *m)
{
    json_t *o = json_object(), *p = json_object();
    json_object_set_new(o, "family", json_string(churn_family_name(churn_model_family(m))));
    for (size_t j = 0; j < churn_model_num_params(m); j++) {
        double v = NAN, se = NAN;
        churn_model_param(m, churn_model_param_name(m, j), &v, &se);
        json_t *e = json_object();
        json_object_set_new(e, "estimate", json_real(v));
        json_object_set_new(e, "std_error", isfinite(se) ? json_real(se) : json_null());
        json_object_set_new(p, churn_model_param_name(m, j), e);
    }
    json_object_set_new(o, "params", p);
    double ll = churn_model_loglik(m);
    json_object_set_new(o, "loglik", isfinite(ll) ? json_real(ll) : json_null());
    json_object_set_new(o, "converged", json_boolean(churn_model_converged(m)));
    json_object_set_new(o, "iterations", json_integer(churn_model_iterations(m)));
    return o;
}

static void model_line(FILE *f, const char *what, const churn_model *m)
{
    fprintf(f, "%s: %s", what, churn_family_name(churn_model_family(m)));
    for (size_t j = 0; j < churn_model_num_params(m); j++) {
        double v = NAN;
        churn_model_param(m, churn_model_param_name(m, j), &v, NULL);
        fprintf(f, "  %s %.6g", churn_model_param_name(m, j), v);
    }
    fprintf(f, "  LL %.4f (%s, %d iterations)\n", churn_model_loglik(m),
            churn_model_converged(m) ? "converged" : "NOT converged",
            churn_model_iterations(m));
}

/* Format x like printf("%.10g") into buf (at least 32 bytes), without
 * printf's arbitrary-precision path for the common range: writing a
 * million-row report with printf costs more than all the modelling. The last
 * digit may differ from printf's correctly rounded one in rare halfway cases
 * (an error below 1e-10 relative). Returns the length; "" for NaN/inf, as
 * cli_put_double(). */
static int fmt_g10(char *buf, double x)
{
    if (!isfinite(x)) {
        buf[0] = '\0';
        return 0;
    }
    if (cli_digits != 10) /* churn --digits N: printf's correctly rounded digits */
        return snprintf(buf, 32, "%.*g", cli_digits, x);
    if (x == 0) {
        buf[0] = '0';
        buf[1] = '\0';
        return 1;
    }
    double ax = fabs(x);
    if (ax < 1e-4 || ax >= 1e10)
        return snprintf(buf, 32, "%.10g", x);
    static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
                                 1e10, 1e11, 1e12, 1e13};
    int e = (int)floor(log10(ax));
    if (e < -4 || e > 9)
        return snprintf(buf, 32, "%.10g", x);
    /* 10 significant digits as an integer: ax * 10^(9 - e) */
    double scaled = 9 - e >= 0 ? ax * p10[9 - e] : ax / p10[e - 9];
    unsigned long long dig = (unsigned long long)llround(scaled);
    if (dig >= 10000000000ULL) { /* rounding carried into an 11th digit */
        e++;
        dig = (dig + 5) / 10;
        if (e > 9)
            return snprintf(buf, 32, "%.10g", x);
    } else if (dig < 1000000000ULL) {
        return snprintf(buf, 32, "%.10g", x);
    }
    char d[10];
    for (int k = 9; k >= 0; k--) {
        d[k] = (char)('0' + dig % 10);
        dig /= 10;
    }
    int nd = 10; /* strip trailing zeros of the fraction, as %g does */
    int intdigits = e + 1;
    while (nd > (intdigits > 0 ? intdigits : 0) && nd > 1 && d[nd - 1] == '0')
        nd--;
    int k = 0;
    if (x < 0)
        buf[k++] = '-';
    if (intdigits <= 0) {
        buf[k++] = '0';
        buf[k++] = '.';
        for (int z = 0; z < -intdigits; z++)
            buf[k++] = '0';
        for (int j = 0; j < nd; j++)
            buf[k++] = d[j];
    } else {
        for (int j = 0; j < intdigits; j++)
            buf[k++] = d[j];
        if (nd > intdigits) {
            buf[k++] = '.';
            for (int j = intdigits; j < nd; j++)
                buf[k++] = d[j];
        }
    }
    buf[k] = '\0';
    return k;
}



typedef struct report_args {
    const char *input, *out, *model_name, *rejects, *covariates, *cov_id, *trans, *life;
    double cutoff, unit, period, discount, margin, trend_window, dert;
    double alive_threshold; /* save now: p_alive >= it; win back: p_alive < it */
    double interval;        /* --interval: the level, NaN without */
    const char *html;       /* --html: the page, or NULL */
    long horizon, top;
    long k; /* --k: MBG/CNBD-k's fixed k, -1 without (chosen by likelihood) */
    int json, defaults, timings;
    struct alert_rules {
        const char *text[CHURN_ALERTS_MAX];
        size_t n;
    } rules;
    cli_tx_opts tx;
} report_args;

static int add_rule(const char *subcommand, const char *value, void *dst)
{
    struct alert_rules *r = dst;
    if (r->n == CHURN_ALERTS_MAX)
        return cli_usage_error(subcommand, "at most %d --alert rules", CHURN_ALERTS_MAX - 3);
    r->text[r->n++] = value;
    return 0;
}

#define AT(m) CLI_AT(report_args, m)
static const cli_option report_options[] = {
    CLI_OPT("--cutoff", CLI_DATE, AT(cutoff)), /* 0 = the last date */
    CLI_OPT("--unit", CLI_UNIT, AT(unit)),
    CLI_LONG_IN("--horizon", AT(horizon), 1, 100000),
    {.name = "--period", .kind = CLI_DOUBLE, .at = AT(period), .bounds = CLI_MIN_OPEN, .min = 0,
     .range_msg = "option --period: must be > 0"},
    {.name = "--discount", .kind = CLI_DOUBLE, .at = AT(discount), .bounds = CLI_MIN, .min = 0,
     .range_msg = "option --discount: must be >= 0"},
    CLI_OPT("--margin", CLI_DOUBLE, AT(margin)),
    {.name = "--dert", .kind = CLI_DOUBLE, .at = AT(dert), .bounds = CLI_MIN_OPEN, .min = 0,
     .range_msg = "option --dert: %g must be > 0 (a continuously compounded rate per time "
                  "unit)"},
    {.name = "--trend-window", .kind = CLI_DOUBLE, .at = AT(trend_window),
     .bounds = CLI_MIN_OPEN, .min = 0, .range_msg = "option --trend-window: must be > 0 days"},
    CLI_OPT("--model", CLI_STRING, AT(model_name)),
    CLI_LONG_IN("--k", AT(k), 0, CHURN_MBGCNBD_KMAX),
    {.name = "--top", .kind = CLI_LONG, .at = AT(top), .bounds = CLI_MIN, .min = 0,
     .range_msg = "option --top: must be >= 0"},
    {.name = "--alert", .kind = CLI_CALL, .at = AT(rules), .parse = add_rule},
    CLI_OPT("--timings", CLI_FLAG, AT(timings)),
    CLI_OPT("--no-default-alerts", CLI_FLAG_OFF, AT(defaults)),
    CLI_OPT("--json", CLI_FLAG, AT(json)),
    CLI_OPT("--rejects", CLI_STRING, AT(rejects)),
    {.name = "--alive-threshold", .kind = CLI_DOUBLE, .at = AT(alive_threshold),
     .bounds = CLI_MIN_OPEN | CLI_MAX_OPEN, .min = 0, .max = 1,
     .range_msg = "option --alive-threshold: %g must be a probability strictly between 0 "
                  "and 1"},
    CLI_OPT("--html", CLI_STRING, AT(html)),
    {.name = "--interval", .kind = CLI_DOUBLE, .at = AT(interval),
     .bounds = CLI_MIN_OPEN | CLI_MAX_OPEN, .min = 0, .max = 1,
     .range_msg = "option --interval: %g must lie strictly between 0 and 1 (e.g. 0.9 for 90% "
                  "intervals)"},
    CLI_OPT("--covariates", CLI_STRING, AT(covariates)),
    CLI_OPT("--covariates-id", CLI_STRING, AT(cov_id)),
    CLI_OPT("--trans", CLI_STRING, AT(trans)),
    CLI_OPT("--life", CLI_STRING, AT(life)),
    CLI_OUTPUT(AT(out)),
};
static const cli_spec report_spec = {
    .options = report_options, .noptions = CLI_NOPTIONS(report_options), .tx = AT(tx),
    .positional = {AT(input)}, .missing = "missing the transaction file argument",
    .help = report_help, .help_tx = 1,
};
#undef AT

/* What the steps of one report share: the inputs, the models, the per-customer scores and
 * the summary numbers. The steps print their own errors and return CLI_EXIT_FAIL. */
typedef struct report_run {
    const report_args *a;
    int family;
    churn_alerts *al;
    churn_txlog *log;
    churn_customers *tab;
    churn_model *bt, *gg;
    report R;
    double key_share;
    /* summary numbers */
    double total_clv, total_var, total_purch;
    size_t repeat, nr, flagged;
    size_t counts[CHURN_ALERTS_MAX];
    size_t *topidx, ntop;
    /* the action lists (issue 25): every member, ranked; list_rank[i] 1-based in its list */
    size_t *save_idx, nsave, *win_idx, nwin, *list_rank;
    double total_save_var, total_win_value;
    char datebuf[32];
    double corr;
    char *abuf; /* alert names of one customer, grown by alert_text() */
    size_t acap;
    /* customers that cannot be valued (issue 19): left out, listed with --rejects */
    cli_rejects rj;
    size_t *row;     /* row of the customer table of each customer kept; NULL: all kept */
    double *own;     /* the kept customers' frequency, recency, T, monetary value */
    size_t spend_left_out; /* customers the spend fit could not use */
    /* --timings */
    double t0, tprev, c0, cprev;
    /* --covariates: joined to the customer table's rows; the purchase model's covariates */
    cli_cov_join join;
    cli_cov_set cov;
    char **tn, **ln;
    int with_cov;
    double *litt; /* --model mbgcnbdk: each customer's sum of log inter-purchase times */
} report_run;

/* The id of customer i (of the customers kept). */
static const char *cust_id(const report_run *r, size_t i)
{
    return churn_customers_id(r->tab, r->row ? r->row[i] : i);
}

/* The time since the last stage, with --timings. */
static void stage(report_run *r, const char *name)
{
    double t = now_s(), c = cpu_s();
    if (r->a->timings)
        fprintf(stderr, "churn report: %-22s %8.3f s wall %8.3f s cpu\n", name, t - r->tprev,
                c - r->cprev);
    r->tprev = t;
    r->cprev = c;
}

/* The purchase model family and the default discount period. */
static int check_options(report_args *a, int *family)
{
    if (cli_tx_no_amount(&a->tx))
        return cli_usage_error(sub, "the report values customers by their spend (CLV, value at "
                               "risk, tiers) and needs amounts, but --amount none says the log "
                               "has none: the spend is missing. Without amounts use 'churn "
                               "score' with a BTYD model (no --spend) for P(alive) and "
                               "expected purchases");
    if (strcmp(a->model_name, "mbgcnbdk") == 0) /* BTYDplus' spelling, as churn fit takes */
        a->model_name = "mbgcnbd";
    if (churn_family_from_name(a->model_name, family) != CHURN_OK ||
        (*family != CHURN_FAMILY_BGNBD && *family != CHURN_FAMILY_MBGNBD &&
         *family != CHURN_FAMILY_PNBD && *family != CHURN_FAMILY_GGOMNBD &&
         *family != CHURN_FAMILY_MBGCNBD))
        return cli_usage_error(sub, "option --model: '%s' is not bgnbd, mbgnbd, pnbd, ggomnbd "
                               "or mbgcnbdk", a->model_name);
    if (a->k >= 0 && *family != CHURN_FAMILY_MBGCNBD)
        return cli_usage_error(sub, "--k is for --model mbgcnbdk (the Erlang shape k)");
    if (a->out && a->html && strcmp(a->out, "-") == 0 && strcmp(a->html, "-") == 0)
        return cli_usage_error(sub, "-o - and --html - would both write to standard output: "
                               "give one of them a file name");
    if ((a->trans || a->life || a->cov_id) && !a->covariates)
        return cli_usage_error(sub, "--trans, --life and --covariates-id go with --covariates "
                               "FILE");
    if (a->covariates && !a->trans && !a->life)
        return cli_usage_error(sub, "--covariates needs --trans COLS and/or --life COLS (which "
                               "columns act on the purchase and the dropout process)");
    if (a->period == 0)
        a->period = CHURN_UNIT_MONTH / a->unit;
    return CLI_EXIT_OK;
}

/* Alert rules first: a bad rule is a usage error before any work. */
static int build_alerts(report_run *r)
{
    if (churn_alerts_new(&r->al))
        return cli_lib_fail(sub, "alert rules", churn_last_error_code());
    if (r->a->defaults && churn_alerts_add_defaults(r->al))
        return cli_lib_fail(sub, "alert rules", churn_last_error_code());
    for (size_t k = 0; k < r->a->rules.n; k++)
        if (churn_alerts_add_text(r->al, r->a->rules.text[k]))
            return cli_usage_error(sub, "option --alert: %s", churn_last_error_message());
    return CLI_EXIT_OK;
}

static int read_log(report_run *r)
{
    r->log = cli_read_txlog(sub, r->a->input, &r->a->tx);
    return r->log ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

/* The customer table as of the cutoff and the four columns the models read. */
static int build_table(report_run *r)
{
    churn_customer_options co = CHURN_CUSTOMER_OPTIONS_INIT;
    co.cutoff = r->a->cutoff;
    co.time_unit = r->a->unit;
    if (r->a->trend_window > 0)
        co.trend_window = r->a->trend_window;
    int st = churn_customers_build(&r->tab, r->log, &co);
    if (st)
        return cli_lib_fail(sub, "building the customer table", st);
    r->R.n = churn_customers_num_rows(r->tab);
    if (r->R.n == 0)
        return cli_fail(sub, "no customer has an order on or before the cutoff");
    r->R.x = churn_customers_column(r->tab, "frequency");
    r->R.tx = churn_customers_column(r->tab, "recency");
    r->R.T = churn_customers_column(r->tab, "T");
    r->R.mv = churn_customers_column(r->tab, "monetary_value");
    if (!r->R.x || !r->R.tx || !r->R.T || !r->R.mv)
        return cli_lib_fail(sub, "customer table", churn_last_error_code());
    return CLI_EXIT_OK;
}

static const char *table_id(const void *t, size_t i)
{
    return churn_customers_id(t, i);
}

static const double *joined_col(const char *s, const void *ud, const char *name)
{
    const report_run *r = ud;
    const double *v = cli_cov_join_col(&r->join, name);
    if (!v)
        cli_fail(s, "--covariates %s: no column '%s'", r->a->covariates, name);
    return v;
}

/* --covariates: the file joined to the customers, the --trans/--life columns taken. */
static int join_covariates(report_run *r)
{
    const report_args *a = r->a;
    size_t nt = 0, nl = 0;
    r->tn = cli_split_list(a->trans ? a->trans : "", &nt);
    r->ln = cli_split_list(a->life ? a->life : "", &nl);
    if (!r->tn || !r->ln)
        return cli_fail(sub, "out of memory");
    if (cli_cov_join_read(sub, a->covariates, a->cov_id, NULL, 0, r->R.n, table_id, r->tab, 0,
                          &r->join) ||
        cli_cov_build(sub, r->R.n, r->tn, nt, r->ln, nl, joined_col, r, &r->cov))
        return CLI_EXIT_FAIL;
    r->with_cov = 1;
    return CLI_EXIT_OK;
}

/* The BTYD purchase model; not converging is a warning. */
static int fit_purchases(report_run *r)
{
    const report *R = &r->R;
    if (r->a->covariates && join_covariates(r))
        return CLI_EXIT_FAIL;
    int st;
    if (r->family == CHURN_FAMILY_MBGCNBD) {
        /* MBG/CNBD-k: k fixed by --k, else chosen by likelihood among 1..12, which
         * needs each customer's litt (computed from the log as churn features --litt) */
        int k = r->a->k < 0 ? 0 : (int)r->a->k;
        if (k != 1 && !(r->litt = cli_compute_litt(sub, r->log, r->tab, 0)))
            return CLI_EXIT_FAIL;
        st = r->with_cov ? churn_mbgcnbd_fit_covariates(&r->bt, k, R->n, R->x, R->tx, R->T,
                                                        r->litt, NULL, &r->cov.cov, NULL)
                         : churn_mbgcnbd_fit(&r->bt, k, R->n, R->x, R->tx, R->T, r->litt, NULL,
                                             NULL);
    } else {
        st = r->with_cov ? churn_btyd_fit_covariates(&r->bt, r->family, R->n, R->x, R->tx, R->T,
                                                     NULL, &r->cov.cov, NULL)
                         : churn_btyd_fit(&r->bt, r->family, R->n, R->x, R->tx, R->T, NULL,
                                          NULL);
    }
    if (st == CHURN_ENOCONV)
        fprintf(stderr, "churn %s: warning: the %s fit did not converge: %s\n", sub,
                r->a->model_name, churn_last_error_message());
    else if (st)
        return cli_lib_fail(sub, "fitting the purchase model", st);
    churn_model_set_time_unit(r->bt, r->a->unit);
    return CLI_EXIT_OK;
}

/* The Gamma-Gamma spend model; not converging is a warning. */
#define SPEND_FIT_MAX 1e150
static int fit_spend(report_run *r)
{
    /* The fit's likelihood and Hessian square the spend: a customer whose repeat spend
     * x * m is beyond SPEND_FIT_MAX cannot be used. It is given monetary value 0 here,
     * which the fit leaves out (and counts) like a free or refunded order, and named. */
    const report *R = &r->R;
    double *mv = NULL;
    size_t first = 0;
    for (size_t i = 0; i < R->n; i++) {
        double xm = R->x[i] * R->mv[i];
        if (R->x[i] > 0 && R->mv[i] > 0 && !(xm <= SPEND_FIT_MAX)) {
            if (!mv) {
                if (!(mv = malloc(R->n * sizeof *mv)))
                    return cli_fail(sub, "out of memory for %zu customers", R->n);
                memcpy(mv, R->mv, R->n * sizeof *mv);
                first = i;
            }
            mv[i] = 0;
            r->spend_left_out++;
        }
    }
    if (r->spend_left_out)
        fprintf(stderr, "churn %s: note: the spend fit leaves out %zu customer(s) whose repeat "
                "spend (frequency x monetary_value) is above %g, beyond the fit's arithmetic; "
                "first: '%s' (monetary_value %g)\n", sub, r->spend_left_out, SPEND_FIT_MAX,
                cust_id(r, first), R->mv[first]);
    int st = churn_gammagamma_fit(&r->gg, r->R.n, r->R.x, mv ? mv : r->R.mv, NULL, NULL);
    free(mv);
    if (st == CHURN_ENOCONV)
        fprintf(stderr, "churn %s: warning: the Gamma-Gamma fit did not converge: %s\n", sub,
                churn_last_error_message());
    else if (st)
        return cli_lib_fail(sub, "fitting the spend model", st);
    churn_model_set_time_unit(r->gg, r->a->unit);
    return CLI_EXIT_OK;
}

static int alloc_scores(report *R)
{
    size_t n = R->n, nb = n * sizeof(double);
    R->p_alive = malloc(nb);
    R->p_churn = malloc(nb);
    R->exp_purch = malloc(nb);
    R->exp_spend = malloc(nb);
    R->clv = malloc(nb);
    R->var = malloc(nb);
    R->value_if_active = malloc(nb);
    R->tier = malloc(n * sizeof *R->tier);
    R->fired = malloc(n * sizeof *R->fired);
    if (!R->p_alive || !R->p_churn || !R->exp_purch || !R->exp_spend || !R->clv || !R->var ||
        !R->value_if_active || !R->tier || !R->fired)
        return cli_fail(sub, "out of memory for %zu customers", n);
    return CLI_EXIT_OK;
}

static void free_scores(report *R)
{
    free(R->p_alive);
    free(R->p_churn);
    free(R->exp_purch);
    free(R->exp_spend);
    free(R->clv);
    free(R->var);
    free(R->value_if_active);
    free(R->dert);
    for (int k = 0; k < 10; k++)
        free(R->iv[k]);
    free(R->tier);
    free(R->fired);
}

static int value_points(report_run *r, const churn_clv_options *clo, size_t lo, size_t cnt,
                        const char **step);

/* The --interval limits of customers [lo, lo + cnt): churn_clv_interval, or with
 * covariates churn_clv_interval_covariates on the range's covariate rows. */
static int interval_range(report_run *r, const churn_clv_options *clo, size_t lo, size_t cnt)
{
    report *R = &r->R;
    churn_clv_intervals o = CHURN_CLV_INTERVALS_INIT;
    double **f[10] = {&o.p_alive_lo, &o.p_alive_hi, &o.expected_purchases_lo,
                      &o.expected_purchases_hi, &o.expected_spend_lo, &o.expected_spend_hi,
                      &o.clv_lo, &o.clv_hi, &o.value_at_risk_lo, &o.value_at_risk_hi};
    for (int k = 0; k < 10; k++)
        *f[k] = R->iv[k] + lo;
    if (!r->with_cov)
        return churn_clv_interval(r->bt, r->gg, clo, r->a->interval, cnt, R->x + lo,
                                  R->tx + lo, R->T + lo, R->mv + lo, &o);
    churn_btyd_covariates one;
    double *v = cli_cov_rows(&r->cov, lo, cnt, &one);
    if (!v)
        return CHURN_ENOMEM;
    int st = churn_clv_interval_covariates(r->bt, r->gg, clo, r->a->interval, cnt, R->x + lo,
                                           R->tx + lo, R->T + lo, R->mv + lo, &one, &o);
    free(v);
    return st;
}

/* The valuation of customers [lo, lo + cnt) (DERT too with --dert, the limits with
 * --interval). */
static int value_range(report_run *r, const churn_clv_options *clo, size_t lo, size_t cnt,
                       const char **step)
{
    int st = value_points(r, clo, lo, cnt, step);
    if (!st && r->R.iv[0]) {
        *step = "interval";
        st = interval_range(r, clo, lo, cnt);
    }
    return st;
}

static int value_points(report_run *r, const churn_clv_options *clo, size_t lo, size_t cnt,
                        const char **step)
{
    report *R = &r->R;
    *step = "valuing customers";
    if (r->with_cov) {
        /* each customer with its own rates */
        for (size_t i = lo; i < lo + cnt; i++) {
            churn_model *m = NULL;
            int st = cli_cov_customer_model(r->bt, &r->cov, i, &m);
            if (!st)
                st = churn_clv_score(m, r->gg, clo, 1, R->x + i, R->tx + i, R->T + i,
                                     R->mv + i, R->p_alive + i, R->exp_purch + i,
                                     R->exp_spend + i, R->clv + i, R->var + i);
            if (!st && R->dert) {
                *step = "DERT";
                st = churn_dert(m, r->a->dert, 1, R->x + i, R->tx + i, R->T + i, R->dert + i);
            }
            churn_model_free(m);
            if (st)
                return st;
        }
        return CHURN_OK;
    }
    int st = churn_clv_score(r->bt, r->gg, clo, cnt, R->x + lo, R->tx + lo, R->T + lo,
                             R->mv + lo, R->p_alive + lo, R->exp_purch + lo,
                             R->exp_spend + lo, R->clv + lo, R->var + lo);
    if (!st && R->dert) {
        *step = "DERT";
        st = churn_dert(r->bt, r->a->dert, cnt, R->x + lo, R->tx + lo, R->T + lo, R->dert + lo);
    }
    return st;
}

/* The first score of customer i that is not a finite number, or NULL. */
static const char *bad_score(const report *R, size_t i, double *v)
{
    const char *name[6] = {"p_alive", "expected_purchases", "expected_spend", "clv",
                           "value_at_risk", "dert"};
    const double val[6] = {R->p_alive[i], R->exp_purch[i], R->exp_spend[i], R->clv[i],
                           R->var[i], R->dert ? R->dert[i] : 0.0};
    for (int k = 0; k < 6; k++)
        if (!isfinite(val[k])) {
            *v = val[k];
            return name[k];
        }
    for (int k = 0; k < 10 && R->iv[0]; k++)
        if (!isfinite(R->iv[k][i])) {
            *v = R->iv[k][i];
            return IV_NAMES[k];
        }
    return NULL;
}

/* Keep the customers with keep[i]: their inputs copied (r->own), their scores moved
 * down, r->row mapping them to the table's rows. */
static int keep_customers(report_run *r, const unsigned char *keep)
{
    report *R = &r->R;
    size_t n = R->n, m = 0;
    for (size_t i = 0; i < n; i++)
        m += keep[i] != 0;
    if (!m)
        return cli_fail(sub, "no customer could be valued; %s", r->rj.first);
    r->row = malloc(m * sizeof *r->row);
    r->own = malloc(4 * m * sizeof *r->own);
    if (!r->row || !r->own)
        return cli_fail(sub, "out of memory for %zu customers", n);
    double *x = r->own, *tx = x + m, *T = tx + m, *mv = T + m;
    double *sc[17] = {R->p_alive, R->p_churn, R->exp_purch, R->exp_spend, R->clv, R->var,
                      R->dert};
    for (int c = 0; c < 10; c++)
        sc[7 + c] = R->iv[c];
    for (size_t i = 0, k = 0; i < n; i++) {
        if (!keep[i])
            continue;
        r->row[k] = i;
        x[k] = R->x[i], tx[k] = R->tx[i], T[k] = R->T[i], mv[k] = R->mv[i];
        for (int c = 0; c < 17; c++)
            if (sc[c])
                sc[c][k] = sc[c][i];
        k++;
    }
    R->x = x, R->tx = tx, R->T = T, R->mv = mv;
    R->n = m;
    return CLI_EXIT_OK;
}

/* P(alive), expected purchases and spend, CLV and value at risk of every customer. A
 * customer the library refuses (the vectorised call fails: each customer again on its
 * own) or with a score that is not finite is left out, counted and listed (--rejects). */
static int value_customers(report_run *r)
{
    report *R = &r->R;
    churn_clv_options clo = CHURN_CLV_OPTIONS_INIT;
    clo.horizon = (int)r->a->horizon;
    clo.period = r->a->period;
    clo.discount = r->a->discount;
    clo.margin = r->a->margin;
    if (r->a->dert > 0 && !(R->dert = malloc((R->n ? R->n : 1) * sizeof *R->dert)))
        return cli_fail(sub, "out of memory for %zu customers", R->n);
    if (!isnan(r->a->interval)) {
        /* both fits need a covariance matrix: said once, not per customer */
        const churn_model *ms[2] = {r->bt, r->gg};
        const char *what[2] = {"purchase", "spend"};
        for (int q = 0; q < 2; q++) {
            size_t k = churn_model_num_params(ms[q]);
            double *cv = malloc((k ? k * k : 1) * sizeof *cv);
            if (!cv)
                return cli_fail(sub, "out of memory");
            int sc = churn_model_covariance(ms[q], cv, k * k);
            free(cv);
            if (sc)
                return cli_fail(sub, "--interval: the %s model's fit (%s) has no covariance "
                                "matrix (its Hessian is not positive definite at the "
                                "estimate), so its intervals cannot be computed; run "
                                "without --interval", what[q], churn_family_name(
                                    churn_model_family(ms[q])));
        }
        for (int k = 0; k < 10; k++)
            if (!(R->iv[k] = malloc((R->n ? R->n : 1) * sizeof *R->iv[k])))
                return cli_fail(sub, "out of memory for %zu customers", R->n);
    }
    const char *step;
    int st = value_range(r, &clo, 0, R->n, &step);
    if (st == CHURN_ENOMEM)
        return cli_lib_fail(sub, step, st);
    unsigned char *keep = malloc(R->n ? R->n : 1);
    if (!keep)
        return cli_fail(sub, "out of memory for %zu customers", R->n);
    memset(keep, 1, R->n ? R->n : 1);
    size_t nbad = 0;
    for (size_t i = 0; i < R->n; i++) {
        if (st) {
            int si = value_range(r, &clo, i, 1, &step);
            if (si == CHURN_ENOMEM) {
                free(keep);
                return cli_lib_fail(sub, step, si);
            }
            if (si) {
                keep[i] = 0, nbad++;
                char m1[600];
                cli_reject(&r->rj, cust_id(r, i), "%s: %s", step,
                           cli_one_row_message(churn_last_error_message(), m1, sizeof m1));
                continue;
            }
        }
        double v;
        const char *col = bad_score(R, i, &v);
        if (col) {
            keep[i] = 0, nbad++;
            cli_reject(&r->rj, cust_id(r, i), "%s is not a finite number (%g): an input "
                       "beyond what a double holds", col, v);
        }
    }
    for (size_t i = 0; i < R->n; i++)
        R->p_churn[i] = 1.0 - R->p_alive[i];
    int rc = nbad ? keep_customers(r, keep) : CLI_EXIT_OK;
    free(keep);
    return rc;
}

static int assign_tiers(report_run *r)
{
    int st = churn_tiers_assign(r->R.n, r->R.clv, 0.2, 0.3, r->R.tier, &r->key_share);
    return st ? cli_lib_fail(sub, "value tiers", st) : CLI_EXIT_OK;
}

/* The rules that fire for each customer, on every customer-table column plus the scores. */
static int evaluate_alerts(report_run *r)
{
    report *R = &r->R;
    size_t ntab = churn_customers_num_columns(r->tab), ncols = ntab + 6;
    double **cols = calloc(ncols, sizeof *cols);
    const char **names = calloc(ncols, sizeof *names);
    double *packed = NULL;
    int rc = CLI_EXIT_OK;
    if (!cols || !names) {
        rc = cli_fail(sub, "out of memory");
        goto done;
    }
    if (r->row && !(packed = malloc((ntab ? ntab : 1) * (R->n ? R->n : 1) * sizeof *packed))) {
        rc = cli_fail(sub, "out of memory");
        goto done;
    }
    for (size_t j = 0; j < ntab; j++) {
        names[j] = churn_customers_column_name(r->tab, j);
        cols[j] = (double *)churn_customers_column_at(r->tab, j);
        if (packed) { /* the kept customers' rows only */
            double *pc = packed + j * R->n;
            for (size_t i = 0; i < R->n; i++)
                pc[i] = cols[j][r->row[i]];
            cols[j] = pc;
        }
    }
    const char *extra[6] = {"p_alive", "p_churn", "expected_purchases", "expected_spend",
                            "clv", "value_at_risk"};
    double *extra_cols[6] = {R->p_alive, R->p_churn, R->exp_purch, R->exp_spend, R->clv, R->var};
    for (size_t j = 0; j < 6; j++) {
        names[ntab + j] = extra[j];
        cols[ntab + j] = extra_cols[j];
    }
    int st = churn_alerts_evaluate(r->al, R->n, ncols, names, (const double *const *)cols,
                                   R->fired);
    if (st)
        rc = cli_lib_fail(sub, "alert rules", st);
done:
    free(packed);
    free(cols);
    free(names);
    return rc;
}

/* One member of an action list, for sorting: its ranking value and its index. */
typedef struct ranked {
    double v;
    size_t i;
} ranked;

/* Largest value first; ties keep the input order (the order of the --top list). */
static int ranked_cmp(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    if (a->v != b->v)
        return a->v > b->v ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

/* The members of one list (in_list[i]), ranked by v: indices into idx, 1-based ranks into
 * rank[]; returns the count, or (size_t)-1 out of memory. */
static size_t rank_list(const double *v, const unsigned char *in_list, size_t n, size_t *idx,
                        size_t *rank)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += in_list[i];
    ranked *w = malloc((m ? m : 1) * sizeof *w);
    if (!w)
        return (size_t)-1;
    for (size_t i = 0, k = 0; i < n; i++)
        if (in_list[i])
            w[k++] = (ranked){v[i], i};
    qsort(w, m, sizeof *w, ranked_cmp);
    for (size_t k = 0; k < m; k++) {
        idx[k] = w[k].i;
        rank[w[k].i] = k + 1;
    }
    free(w);
    return m;
}

/* The two action lists of issue 25. Save now: P(alive) >= the threshold, ranked by
 * value_at_risk, which for these customers is the expected loss over the horizon (the value
 * if still active minus the expected value). Win back: P(alive) < the threshold, ranked by
 * value_if_active = clv + value_at_risk (= clv / p_alive without the division), what they
 * would bring over the horizon if won back. Every customer is in exactly one list. */
static int rank_lists(report_run *r)
{
    report *R = &r->R;
    size_t n = R->n;
    double thr = r->a->alive_threshold;
    unsigned char *save = malloc(n), *win = malloc(n);
    r->save_idx = malloc(n * sizeof *r->save_idx);
    r->win_idx = malloc(n * sizeof *r->win_idx);
    r->list_rank = malloc(n * sizeof *r->list_rank);
    int rc = CLI_EXIT_OK;
    if (!save || !win || !r->save_idx || !r->win_idx || !r->list_rank) {
        rc = cli_fail(sub, "out of memory for %zu customers", n);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        R->value_if_active[i] = R->clv[i] + R->var[i];
        save[i] = R->p_alive[i] >= thr;
        win[i] = !save[i];
        if (save[i])
            r->total_save_var += R->var[i];
        else
            r->total_win_value += R->value_if_active[i];
    }
    r->nsave = rank_list(R->var, save, n, r->save_idx, r->list_rank);
    r->nwin = rank_list(R->value_if_active, win, n, r->win_idx, r->list_rank);
    if (r->nsave == (size_t)-1 || r->nwin == (size_t)-1)
        rc = cli_fail(sub, "out of memory for %zu customers", n);
done:
    free(save);
    free(win);
    return rc;
}

/* The summary numbers: totals, alert counts, the top customers by value at risk, the
 * cutoff and the frequency-spend correlation. */
static int summarise(report_run *r)
{
    const report *R = &r->R;
    size_t n = R->n;
    r->nr = churn_alerts_num_rules(r->al);
    for (size_t i = 0; i < n; i++) {
        r->total_clv += R->clv[i];
        r->total_var += R->var[i];
        r->total_purch += R->exp_purch[i];
        r->repeat += R->x[i] > 0;
        r->flagged += R->fired[i] != 0;
        for (size_t k = 0; k < r->nr; k++)
            r->counts[k] += (R->fired[i] >> k) & 1u;
    }
    size_t ntop = (size_t)r->a->top < n ? (size_t)r->a->top : n;
    r->topidx = malloc((ntop ? ntop : 1) * sizeof *r->topidx);
    if (!r->topidx)
        return cli_fail(sub, "out of memory");
    r->ntop = top_by(R->var, n, ntop, r->topidx);
    churn_format_date(churn_customers_cutoff(r->tab), r->datebuf, sizeof r->datebuf);
    r->corr = NAN;
    if (churn_gammagamma_freq_monetary_corr(r->gg, &r->corr) != CHURN_OK)
        r->corr = NAN;
    return CLI_EXIT_OK;
}

/* The alert rules that fired for customer i, as a JSON list. */
static json_t *alerts_json(const report_run *r, size_t i)
{
    json_t *al_list = json_array();
    for (size_t k2 = 0; k2 < r->nr; k2++)
        if ((r->R.fired[i] >> k2) & 1u) {
            const char *rn;
            churn_alerts_rule(r->al, k2, &rn, NULL, NULL, NULL);
            json_array_append_new(al_list, json_string(rn));
        }
    return al_list;
}

/* With --interval: the limits of customer i's P(alive), CLV and value at risk into c. */
static void limits_json(const report *R, size_t i, json_t *c)
{
    if (!R->iv[0])
        return;
    static const int pick[6] = {0, 1, 6, 7, 8, 9};
    for (int q = 0; q < 6; q++)
        json_object_set_new(c, IV_NAMES[pick[q]], json_real(R->iv[pick[q]][i]));
}

/* One action list for the JSON summary: its size, its total and its first --top members. */
static json_t *list_json(const report_run *r, const size_t *idx, size_t m, const char *total_key,
                         double total)
{
    const report *R = &r->R;
    json_t *o = json_object(), *tl = json_array();
    json_object_set_new(o, "customers", json_integer((json_int_t)m));
    json_object_set_new(o, total_key, json_real(total));
    size_t top = (size_t)r->a->top < m ? (size_t)r->a->top : m;
    for (size_t k = 0; k < top; k++) {
        size_t i = idx[k];
        json_t *c = json_object();
        json_object_set_new(c, "rank", json_integer((json_int_t)(k + 1)));
        json_object_set_new(c, "customer_id", json_string(cust_id(r, i)));
        json_object_set_new(c, "p_alive", json_real(R->p_alive[i]));
        json_object_set_new(c, "clv", json_real(R->clv[i]));
        json_object_set_new(c, "value_at_risk", json_real(R->var[i]));
        json_object_set_new(c, "value_if_active", json_real(R->value_if_active[i]));
        limits_json(R, i, c);
        json_object_set_new(c, "tier", json_string(churn_tier_name(R->tier[i])));
        json_object_set_new(c, "alerts", alerts_json(r, i));
        json_array_append_new(tl, c);
    }
    json_object_set_new(o, "top", tl);
    return o;
}

/* The top customers, for the JSON summary. */
static json_t *top_json(const report_run *r)
{
    const report *R = &r->R;
    json_t *tl = json_array();
    for (size_t k = 0; k < r->ntop; k++) {
        size_t i = r->topidx[k];
        json_t *c = json_object();
        json_object_set_new(c, "customer_id", json_string(cust_id(r, i)));
        json_object_set_new(c, "p_alive", json_real(R->p_alive[i]));
        json_object_set_new(c, "clv", json_real(R->clv[i]));
        json_object_set_new(c, "value_at_risk", json_real(R->var[i]));
        limits_json(R, i, c);
        json_object_set_new(c, "tier", json_string(churn_tier_name(R->tier[i])));
        json_t *al_list = json_array();
        for (size_t k2 = 0; k2 < r->nr; k2++)
            if ((R->fired[i] >> k2) & 1u) {
                const char *rn;
                churn_alerts_rule(r->al, k2, &rn, NULL, NULL, NULL);
                json_array_append_new(al_list, json_string(rn));
            }
        json_object_set_new(c, "alerts", al_list);
        json_array_append_new(tl, c);
    }
    return tl;
}

static void print_json(const report_run *r, FILE *sf)
{
    const report_args *a = r->a;
    size_t n = r->R.n;
    json_t *j = json_object();
    json_object_set_new(j, "customers", json_integer((json_int_t)n));
    json_object_set_new(j, "excluded_customers",
                        json_integer((json_int_t)churn_customers_num_excluded(r->tab)));
    json_object_set_new(j, "unscorable_customers", json_integer((json_int_t)r->rj.n));
    json_object_set_new(j, "spend_fit_left_out", json_integer((json_int_t)r->spend_left_out));
    json_object_set_new(j, "cutoff", json_string(r->datebuf));
    json_object_set_new(j, "time_unit_days", json_real(a->unit));
    json_object_set_new(j, "repeat_customers", json_integer((json_int_t)r->repeat));
    json_object_set_new(j, "repeat_rate", json_real((double)r->repeat / (double)n));
    json_object_set_new(j, "model", model_json(r->bt));
    json_t *sm = model_json(r->gg);
    json_object_set_new(sm, "freq_monetary_corr",
                        isfinite(r->corr) ? json_real(r->corr) : json_null());
    json_object_set_new(j, "spend_model", sm);
    json_t *cs = json_object();
    json_object_set_new(cs, "horizon", json_integer(a->horizon));
    json_object_set_new(cs, "period", json_real(a->period));
    json_object_set_new(cs, "discount", json_real(a->discount));
    json_object_set_new(cs, "margin", json_real(a->margin));
    json_object_set_new(j, "clv_settings", cs);
    json_object_set_new(j, "interval", isnan(a->interval) ? json_null() : json_real(a->interval));
    json_object_set_new(j, "total_expected_purchases", json_real(r->total_purch));
    json_object_set_new(j, "total_clv", json_real(r->total_clv));
    json_object_set_new(j, "total_value_at_risk", json_real(r->total_var));
    json_object_set_new(j, "key_share", json_real(r->key_share));
    json_t *ac = json_object();
    for (size_t k = 0; k < r->nr; k++) {
        const char *rn;
        churn_alerts_rule(r->al, k, &rn, NULL, NULL, NULL);
        json_object_set_new(ac, rn, json_integer((json_int_t)r->counts[k]));
    }
    json_object_set_new(j, "alert_counts", ac);
    json_object_set_new(j, "customers_flagged", json_integer((json_int_t)r->flagged));
    json_object_set_new(j, "top", top_json(r));
    json_object_set_new(j, "alive_threshold", json_real(a->alive_threshold));
    json_object_set_new(j, "save_now", list_json(r, r->save_idx, r->nsave,
                                                 "total_value_at_risk", r->total_save_var));
    json_object_set_new(j, "win_back", list_json(r, r->win_idx, r->nwin,
                                                 "total_value_if_active", r->total_win_value));
    json_dumpf(j, sf, JSON_INDENT(2) | JSON_REAL_PRECISION(12) | JSON_PRESERVE_ORDER);
    fputc('\n', sf);
    json_decref(j);
}

static void print_list_text(report_run *r, FILE *sf, const size_t *idx, size_t k,
                            int if_active);

static void print_text(report_run *r, FILE *sf)
{
    const report_args *a = r->a;
    const report *R = &r->R;
    size_t n = R->n;
    fprintf(sf, "customers: %zu as of %s (%zu more first seen after the cutoff), unit "
                "%g day(s)\n",
            n, r->datebuf, churn_customers_num_excluded(r->tab), a->unit);
    if (r->rj.n)
        fprintf(sf, "left out: %zu customer(s) whose scores are not finite numbers (see the "
                "note on stderr; --rejects FILE lists them)\n", r->rj.n);
    fprintf(sf, "repeat customers: %zu (%.1f%%)\n", r->repeat,
            100.0 * (double)r->repeat / (double)n);
    model_line(sf, "purchase model", r->bt);
    model_line(sf, "spend model", r->gg);
    if (isfinite(r->corr))
        fprintf(sf, "  corr(frequency, monetary value) among repeat buyers: %.3f%s\n", r->corr,
                fabs(r->corr) > 0.3 ? " (large: spend and frequency are not independent)" : "");
    fprintf(sf, "value over %ld periods of %g time units, discount %g per period, margin "
                "%g:\n", a->horizon, a->period, a->discount, a->margin);
    fprintf(sf, "  expected purchases: %.2f\n", r->total_purch);
    fprintf(sf, "  total expected value (CLV): %.2f\n", r->total_clv);
    fprintf(sf, "  total value at risk: %.2f\n", r->total_var);
    fprintf(sf, "  the top 20%% of customers (key tier) hold %.1f%% of the value\n",
            100.0 * r->key_share);
    if (R->iv[0])
        fprintf(sf, "  %g%% delta-method intervals of each customer's scores (the uncertainty "
                "of the fitted parameters): clv_range below, every limit in -o and --json\n",
                100 * a->interval);
    fprintf(sf, "alerts: %zu customers flagged", r->flagged);
    for (size_t k = 0; k < r->nr; k++) {
        const char *rn;
        churn_alerts_rule(r->al, k, &rn, NULL, NULL, NULL);
        fprintf(sf, "%s %s %zu", k ? "," : ";", rn, r->counts[k]);
    }
    fputc('\n', sf);
    if (!r->ntop)
        return;
    print_list_text(r, sf, r->topidx, r->ntop, 0);
    size_t ks = (size_t)a->top < r->nsave ? (size_t)a->top : r->nsave;
    fprintf(sf, "\nsave now: %zu customers with P(alive) >= %g (value at risk %.2f); top %zu by "
                "expected loss over the horizon (value_at_risk):\n",
            r->nsave, a->alive_threshold, r->total_save_var, ks);
    print_list_text(r, sf, r->save_idx, ks, 0);
    size_t kw = (size_t)a->top < r->nwin ? (size_t)a->top : r->nwin;
    fprintf(sf, "\nwin back: %zu customers with P(alive) < %g (worth %.2f if won back); top %zu "
                "by value if won back (value_if_active):\n",
            r->nwin, a->alive_threshold, r->total_win_value, kw);
    print_list_text(r, sf, r->win_idx, kw, 1);
}

/* Rows idx[0..k) of a customer list; with if_active the value if won back replaces clv. */
static void print_list_text(report_run *r, FILE *sf, const size_t *idx, size_t k, int if_active)
{
    const report *R = &r->R;
    if (!k)
        return;
    if (idx == r->topidx)
        fprintf(sf, "\ntop %zu customers by value at risk:\n", r->ntop);
    int iv = R->iv[0] != NULL;
    fprintf(sf, "%-16s %8s %12s %14s%s%-10s %s\n", "customer_id", "p_alive",
            if_active ? "if_active" : "clv", "value_at_risk", iv ? "  clv_range             "
                                                                  : " ", "tier", "alerts");
    for (size_t j = 0; j < k; j++) {
        size_t i = idx[j];
        char range[64] = " "; /* with --interval: "  lo-hi" in a column of 24 */
        if (iv) {
            char t[48];
            snprintf(t, sizeof t, "%.2f-%.2f", R->iv[6][i], R->iv[7][i]);
            snprintf(range, sizeof range, "  %-21s ", t);
        }
        fprintf(sf, "%-16s %8.4f %12.2f %14.2f%s%-10s %s\n", cust_id(r, i), R->p_alive[i],
                if_active ? R->value_if_active[i] : R->clv[i], R->var[i], range,
                churn_tier_name(R->tier[i]), alert_text(r->al, R->fired[i], &r->abuf, &r->acap));
    }
}

/* The summary goes to standard output, or to standard error when the CSV or the page does
 * (-o - or --html -). */
static void print_summary(report_run *r)
{
    int to_stdout = (r->a->out && strcmp(r->a->out, "-") == 0) ||
                    (r->a->html && strcmp(r->a->html, "-") == 0);
    FILE *sf = to_stdout ? stderr : stdout;
    if (r->a->json)
        print_json(r, sf);
    else
        print_text(r, sf);
}

/* One customer's CSV row. One fwrite per row: stdio's per-character locking would cost
 * more than the models on a million customers. */
static void put_row(report_run *r, FILE *f, size_t i)
{
    const report *R = &r->R;
    char line[1024]; /* id 200 + 22 numbers of <= 18 + tier + alerts 200 + list and rank */
    const double v[10] = {R->x[i], R->tx[i], R->T[i], R->mv[i], R->p_alive[i], R->p_churn[i],
                          R->exp_purch[i], R->exp_spend[i], R->clv[i], R->var[i]};
    const char *id = cust_id(r, i);
    const char *alerts = R->fired[i] ? alert_text(r->al, R->fired[i], &r->abuf, &r->acap) : "";
    const char *tn = churn_tier_name(R->tier[i]);
    size_t lid = strlen(id), lal = strlen(alerts), k = 0;
    if (lid > 200 || strpbrk(id, ",\"\n\r")) {
        cli_put_field(f, id);
    } else {
        memcpy(line, id, lid);
        k = lid;
    }
    for (int c = 0; c < 10; c++) {
        line[k++] = ',';
        k += (size_t)fmt_g10(line + k, v[c]);
    }
    line[k++] = ',';
    memcpy(line + k, tn, strlen(tn));
    k += strlen(tn);
    line[k++] = ',';
    if (lal > 200 || strpbrk(alerts, ",\"\n\r")) {
        fwrite(line, 1, k, f);
        k = 0;
        cli_put_field(f, alerts);
    } else {
        memcpy(line + k, alerts, lal);
        k += lal;
    }
    if (R->dert) {
        line[k++] = ',';
        k += (size_t)fmt_g10(line + k, R->dert[i]);
    }
    line[k++] = ',';
    k += (size_t)fmt_g10(line + k, R->value_if_active[i]);
    k += (size_t)sprintf(line + k, R->p_alive[i] >= r->a->alive_threshold ? ",save_now,%zu"
                                                                           : ",win_back,%zu",
                         r->list_rank[i]);
    for (int c = 0; c < 10 && R->iv[0]; c++) {
        line[k++] = ',';
        k += (size_t)fmt_g10(line + k, R->iv[c][i]);
    }
    line[k++] = '\n';
    fwrite(line, 1, k, f);
}

/* Every customer to -o, when given. */
static int write_csv(report_run *r)
{
    const char *out = r->a->out;
    if (!out)
        return CLI_EXIT_OK;
    FILE *f = cli_open_out(sub, out);
    if (!f)
        return CLI_EXIT_FAIL;
    fputs("customer_id,frequency,recency,T,monetary_value,p_alive,p_churn,"
          "expected_purchases,expected_spend,clv,value_at_risk,tier,alerts", f);
    fputs(r->R.dert ? ",dert" : "", f);
    fputs(",value_if_active,list,list_rank", f);
    for (int c = 0; c < 10 && r->R.iv[0]; c++)
        fprintf(f, ",%s", IV_NAMES[c]);
    fputc('\n', f);
    for (size_t i = 0; i < r->R.n; i++)
        put_row(r, f, i);
    return cli_close_out(sub, f, out);
}

/* The page's alert texts: one string per customer (NULL when none), in one block. */
static int alert_strings(report_run *r, const char ***out, char **block)
{
    const report *R = &r->R;
    size_t n = R->n, total = 0;
    for (size_t i = 0; i < n; i++)
        if (R->fired[i])
            total += strlen(alert_text(r->al, R->fired[i], &r->abuf, &r->acap)) + 1;
    const char **s = calloc(n, sizeof *s);
    char *b = malloc(total ? total : 1);
    if (!s || !b) {
        free(s);
        free(b);
        return cli_fail(sub, "out of memory for %zu customers", n);
    }
    for (size_t i = 0, k = 0; i < n; i++)
        if (R->fired[i]) {
            const char *t = alert_text(r->al, R->fired[i], &r->abuf, &r->acap);
            size_t l = strlen(t) + 1;
            memcpy(b + k, t, l);
            s[i] = b + k;
            k += l;
        }
    *out = s;
    *block = b;
    return CLI_EXIT_OK;
}

/* --html: the page of report.h (churn_report_html), with the monthly cohort table of the
 * log as of the cutoff. */
static int write_html(report_run *r)
{
    const report_args *a = r->a;
    if (!a->html)
        return CLI_EXIT_OK;
    const report *R = &r->R;
    size_t n = R->n, nc = 0, np = 0, len = 0;
    const char **ids = malloc(n * sizeof *ids), **alerts = NULL;
    char *ablock = NULL, *page = NULL;
    double *cstart = NULL, *cact = NULL, *cret = NULL, *csize = NULL;
    int rc = CLI_EXIT_FAIL;
    if (!ids) {
        cli_fail(sub, "out of memory for %zu customers", n);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        ids[i] = cust_id(r, i);
    if (alert_strings(r, &alerts, &ablock))
        goto done;
    churn_cohort_options co = CHURN_COHORT_OPTIONS_INIT;
    co.cutoff = churn_customers_cutoff(r->tab);
    int st = churn_customers_cohort_table(r->log, &co, &nc, &np, NULL, NULL, NULL);
    if (st == CHURN_OK) {
        cstart = malloc(nc * sizeof *cstart);
        cact = malloc(nc * np * sizeof *cact);
        cret = malloc(nc * np * sizeof *cret);
        csize = malloc(nc * sizeof *csize);
        if (!cstart || !cact || !cret || !csize) {
            cli_fail(sub, "out of memory for %zu cohorts", nc);
            goto done;
        }
        st = churn_customers_cohort_table(r->log, &co, &nc, &np, cstart, cact, cret);
    }
    if (st) {
        cli_lib_fail(sub, "the cohort table of the HTML page", st);
        goto done;
    }
    for (size_t i = 0; i < nc; i++)
        csize[i] = cact[i * np]; /* active at offset 0 = the cohort's size */
    churn_report_page pg = CHURN_REPORT_PAGE_INIT;
    pg.cutoff = r->datebuf;
    pg.model = a->model_name;
    pg.time_unit_days = a->unit;
    pg.horizon = (int)a->horizon;
    pg.period = a->period;
    pg.discount = a->discount;
    pg.margin = a->margin;
    pg.alive_threshold = a->alive_threshold;
    pg.top = (size_t)a->top;
    pg.n = n;
    pg.customer_id = ids;
    pg.p_alive = R->p_alive;
    pg.clv = R->clv;
    pg.value_at_risk = R->var;
    pg.tier = R->tier;
    pg.alerts = alerts;
    pg.recency = R->tx;
    pg.T = R->T;
    pg.n_cohorts = nc;
    pg.cohort_start = cstart;
    pg.cohort_retention = cret;
    pg.cohort_size = csize;
    pg.cohort_period_days = co.period;
    if ((st = churn_report_html(&pg, NULL, 0, &len))) {
        cli_lib_fail(sub, "the HTML page", st);
        goto done;
    }
    if (!(page = malloc(len + 1))) {
        cli_fail(sub, "out of memory for the HTML page (%zu bytes)", len);
        goto done;
    }
    if ((st = churn_report_html(&pg, page, len + 1, &len))) {
        cli_lib_fail(sub, "the HTML page", st);
        goto done;
    }
    FILE *f = cli_open_out(sub, a->html);
    if (!f)
        goto done;
    fwrite(page, 1, len, f);
    rc = cli_close_out(sub, f, a->html);
done:
    free(page);
    free(ids);
    free(alerts);
    free(ablock);
    free(cstart);
    free(cact);
    free(cret);
    free(csize);
    return rc;
}

/* Read, build the table, fit, value, rank, print and write; each step timed. */
static int run_report(report_run *r)
{
    if (read_log(r) || cli_rejects_open(sub, &r->rj, r->a->rejects))
        return CLI_EXIT_FAIL;
    stage(r, "read transactions");
    if (build_table(r))
        return CLI_EXIT_FAIL;
    stage(r, "customer table");
    if (fit_purchases(r))
        return CLI_EXIT_FAIL;
    stage(r, "purchase model fit");
    if (fit_spend(r) || alloc_scores(&r->R))
        return CLI_EXIT_FAIL;
    stage(r, "spend model fit");
    if (value_customers(r))
        return CLI_EXIT_FAIL;
    stage(r, "scoring (CLV)");
    if (assign_tiers(r) || evaluate_alerts(r) || rank_lists(r))
        return CLI_EXIT_FAIL;
    stage(r, "tiers and alerts");
    if (summarise(r))
        return CLI_EXIT_FAIL;
    print_summary(r);
    stage(r, "summary");
    if (write_csv(r) || write_html(r))
        return CLI_EXIT_FAIL;
    if (cli_rejects_close(sub, &r->rj, r->R.n + r->rj.n, 0, 1))
        return CLI_EXIT_FAIL;
    stage(r, "write report.csv");
    if (r->a->timings)
        fprintf(stderr, "churn report: %-22s %8.3f s wall %8.3f s cpu\n", "total",
                now_s() - r->t0, cpu_s() - r->c0);
    return CLI_EXIT_OK;
}

int cmd_report(int argc, char **argv)
{
    report_args a = {.model_name = "bgnbd", .k = -1, .unit = CHURN_UNIT_WEEK, .discount = 0.01,
                     .margin = 1.0, .horizon = 12, .top = 10, .defaults = 1,
                     .alive_threshold = REPORT_ALIVE_THRESHOLD, .interval = NAN};
    cli_tx_opts_init(&a.tx);
    report_run r;
    memset(&r, 0, sizeof r);
    r.a = &a;
    r.t0 = r.tprev = now_s();
    r.c0 = r.cprev = cpu_s();
    int rc = cli_parse(&report_spec, sub, argc, argv, &a);
    if (rc == CLI_CONTINUE && !(rc = check_options(&a, &r.family)) && !(rc = build_alerts(&r)))
        rc = run_report(&r);
    cli_rejects_close(sub, &r.rj, 0, 1, 0); /* after a failure: no file */
    free(r.row);
    free(r.own);
    free_scores(&r.R);
    free(r.topidx);
    free(r.save_idx);
    free(r.win_idx);
    free(r.list_rank);
    free(r.abuf);
    churn_model_free(r.bt);
    churn_model_free(r.gg);
    free(r.litt);
    cli_cov_set_free(&r.cov);
    cli_cov_join_free(&r.join);
    free(r.tn);
    free(r.ln);
    churn_customers_free(r.tab);
    churn_txlog_free(r.log);
    churn_alerts_free(r.al);
    return rc;
}
