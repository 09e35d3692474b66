/* `churn score`: raw transactions -> per-customer scores with a saved model, in one run.
 *
 * Stages: (1) read the transaction CSV (plain, gzip or stdin) and (2) summarise it per
 * customer as of the cutoff, (3) score and format the customers in blocks, each block
 * split among --threads workers that write into their own buffers, which the main
 * thread then writes in order (so the output does not depend on the thread count),
 * (4) print a summary line on stderr.
 *
 * Stages 1-2 stream by default: the CSV is read in chunks of CHUNK_ROWS rows, each folded
 * into a churn_customer_stream (one running summary per customer) and dropped, and only
 * the columns the model reads are computed, so memory grows with the customers, not the
 * transactions. This needs each customer's transactions in time order (files sorted by
 * date, or by customer then date). When they are not, a regular file is read again into
 * memory (churn_txlog + churn_customers_build), as with --in-memory or a model that reads
 * gap_median or n_products; standard input cannot be read twice and fails with a hint.
 * See docs/scale.md for measured peaks.
 *
 * cmd_score: parse -> check_args -> load_models -> run_score (table_options, read_stream
 * and/or read_memory, prepare_job, write_scores) -> the summary line, on every exit but
 * --help. Calls cli.c and the public API only.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char sub[] = "score";

static const char score_help[] =
    "usage: churn score model.json TX.csv --cutoff DATE [options] [-o scores.csv]\n"
    "\n"
    "Scores every customer of a raw transaction log with a saved model in one run:\n"
    "reads TX.csv (plain or gzip-compressed; '-' = standard input), summarises it per\n"
    "customer as of the cutoff (the columns of 'churn features' that the model\n"
    "reads), scores every customer, writes CSV.\n"
    "\n"
    "Output columns by model family:\n"
    "  bgnbd mbgnbd pnbd bgbb ggomnbd mbgcnbd\n"
    "                           customer_id, frequency, recency, T, p_alive, p_churn,\n"
    "                           expected_purchases [, expected_spend, clv with --spend]\n"
    "                           [, interval columns with --interval]\n"
    "                           bgbb: p_alive = alive at the next opportunity (the\n"
    "                           published tables' P(alive)), then p_alive_through\n"
    "  logit                    customer_id, p_churn, linear_predictor\n"
    "  cox weibull exponential loglogistic lognormal\n"
    "                           customer_id, p_churn, survival, linear_predictor\n"
    "Logit and survival models take their features by name from the customer table.\n"
    "\n"
    "Options:\n"
    "  --cutoff DATE        end of the calibration period (required)\n"
    "  --unit U             time unit of the features: day, week, month, year or N days\n"
    "                       (default: the unit recorded in the model; required when the\n"
    "                       model records none; must match it when both are given)\n"
    "  --convert-unit       with --unit differing from the model's unit: convert the\n"
    "                       model (BG/NBD, MBG/NBD, Pareto/NBD rates) to --unit on\n"
    "                       purpose instead of refusing\n"
    "  --calendar P         calendar periods: year, quarter, month or week (Monday to\n"
    "                       Sunday), UTC, as 'churn features --period' (here --period\n"
    "                       is the discount period): whole opportunities for BG/BB;\n"
    "                       the unit is the period's length (a recorded or given unit\n"
    "                       must match it)\n"
    "  --horizon H          BTYD: expected purchases in the next H units; survival:\n"
    "                       P(churn) before H units (required for these families)\n"
    "  --spend MODEL        a Gamma-Gamma model: adds expected_spend and clv (BG/NBD,\n"
    "                       MBG/NBD, Pareto/NBD, Gamma-Gompertz/NBD, MBG/CNBD-k); needs\n"
    "                       amounts (not with --amount none)\n"
    "  --clv-periods N      CLV horizon in discount periods (default 12)\n"
    "  --period P           length of a discount period in the time unit (default: one\n"
    "                       month = 30.4375 days)\n"
    "  --discount D         discount rate per period (default 0.01)\n"
    "  --margin M           profit margin applied to spend (default 1)\n"
    "  --interval L         bgnbd, mbgnbd, pnbd, ggomnbd, mbgcnbdk: append p_alive_lo,\n"
    "                       p_alive_hi, expected_purchases_lo, expected_purchases_hi,\n"
    "                       the L (e.g. 0.9) delta-method interval from the fit's\n"
    "                       covariance; with\n"
    "                       --spend also expected_spend_lo, expected_spend_hi, clv_lo,\n"
    "                       clv_hi, value_at_risk, value_at_risk_lo, value_at_risk_hi\n"
    "                       (both models' covariances; docs/models/intervals.md). A\n"
    "                       model with covariates takes the covariance of every\n"
    "                       parameter and coefficient\n"
    "  --trend-window DAYS, --no-same-day-merge, --first-purchase-counts\n"
    "                       customer-table options, as for 'churn features'\n"
    "  --threads N          worker threads for scoring and formatting (default 1);\n"
    "                       the output is identical for every N\n"
    "  --in-memory          read the whole log into memory instead of streaming it\n"
    "                       (see Memory below)\n"
    "  --chunk-rows N       rows read per chunk when streaming (default 1048576,\n"
    "                       about 20 bytes each)\n"
    "  --quiet              no progress line and no notes (the summary line stays)\n"
    "  --rejects FILE       list the customers left out (inputs or scores not finite\n"
    "                       numbers) as CSV: customer_id,reason\n"
    "  --covariates FILE    a BG/NBD, MBG/NBD, Pareto/NBD or Gamma-Gompertz/NBD model\n"
    "                       fitted with covariates (churn fit --trans/--life): their\n"
    "                       values, a CSV with a\n"
    "                       customer id column and the model's covariates by name, as\n"
    "                       'churn features --covariates' reads it (a customer without\n"
    "                       a row is an error; rows of other customers are ignored);\n"
    "                       with --spend, each customer's CLV is the plain model's at\n"
    "                       its own rates\n"
    "  --covariates-id COL  the id column of that file (default: customer_id or id)\n"
    "  -o, --output FILE    write the scores to FILE (default: standard output)\n"
    "\n"
    "Memory: by default the input is streamed: each customer keeps a small running\n"
    "summary and only the columns the model reads are computed, so memory grows with\n"
    "the number of customers, not transactions. Streaming needs each customer's\n"
    "transactions in time order (a file sorted by date, or by customer then date).\n"
    "Otherwise a file is read again into memory (with a note), and standard input\n"
    "fails: sort it first, e.g. 'sort -t, -k2,2 -s'. Models that read gap_median or\n"
    "n_products, and --in-memory, always read into memory.\n"
    "\n"
    "A progress line is drawn on stderr when it is a terminal. The last line on stderr\n"
    "is always the summary, for schedulers:\n"
    "  churn-score: rows_read=N rows_rejected=N customers_scored=N customers_excluded=N\n"
    "  seconds=S max_rss_kb=K mode=stream|memory customers_unscorable=N\n"
    "  status=ok|empty|error|usage|broken_pipe|interrupted   (one line)\n"
    "customers_excluded counts the customers with no order by the cutoff and those left\n"
    "out because the model cannot score them (customers_unscorable: an input or a score\n"
    "that is not a finite number; named in a note, listed with --rejects); the others\n"
    "are scored.\n"
    "status=empty: the input has a header and no data rows (a day without transactions):\n"
    "exit 0 and a header-only output.\n"
    "max_rss_kb is the peak resident memory of this run (VmHWM).\n"
    "Exit status: 0 success, 1 failure (bad model, unreadable or malformed input,\n"
    "out of memory, write error), 2 usage error, 141 standard output closed by its\n"
    "reader (status=broken_pipe), 128+N ended by signal N (SIGTERM, SIGINT, SIGHUP:\n"
    "status=interrupted). With -o FILE the scores go to a temporary file that replaces\n"
    "FILE only when complete: a failed or interrupted run leaves FILE as it was.\n"
    "\n";

/* ---- run statistics, shared with the progress thread ---- */
static struct {
    atomic_int stage;               /* 0 start, 1 read, 2 table, 3 score, 4 done */
    atomic_ullong bytes_fed;        /* input bytes passed to the reader (progress mode) */
    atomic_ullong lines_fed;        /* newlines among them (plain input only) */
    atomic_ullong customers_done;
    unsigned long long total_bytes; /* size of a regular input file, 0 when unknown */
    unsigned long long customers;
    int gzip;
    const char *mode; /* "stream" or "memory" */
    double t0;
    double t_score; /* when scoring started */
} st;

static double now(void) { return cli_clock(CLOCK_MONOTONIC); }

/* What the summary line says when a signal ends the run (read in the signal handler). */
static volatile size_t sig_rows_read, sig_rejected, sig_excluded;

/* The interrupt hook (cli_on_interrupt): the summary line with async-signal-safe calls. */
static void summary_on_signal(const char *status)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double secs = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec - st.t0;
    unsigned long long ms = secs > 0 ? (unsigned long long)(secs * 1000.0) : 0;
    struct rusage ru;
    long rss = getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : 0;
    char frac[4] = {(char)('0' + ms / 100 % 10), (char)('0' + ms / 10 % 10),
                    (char)('0' + ms % 10), '\0'};
    cli_sig_puts("\nchurn-score: rows_read=");
    cli_sig_putu(sig_rows_read);
    cli_sig_puts(" rows_rejected=");
    cli_sig_putu(sig_rejected);
    cli_sig_puts(" customers_scored=");
    cli_sig_putu(atomic_load(&st.customers_done));
    cli_sig_puts(" customers_excluded=");
    cli_sig_putu(sig_excluded);
    cli_sig_puts(" seconds=");
    cli_sig_putu(ms / 1000);
    cli_sig_puts(".");
    cli_sig_puts(frac);
    cli_sig_puts(" max_rss_kb=");
    cli_sig_putu(rss > 0 ? (unsigned long long)rss : 0);
    cli_sig_puts(" mode=");
    cli_sig_puts(st.mode ? st.mode : "stream");
    cli_sig_puts(" customers_unscorable=");
    cli_sig_putu(0); /* known once scoring ends */
    cli_sig_puts(" status=");
    cli_sig_puts(status);
    cli_sig_puts("\n");
}

static void summary(size_t rows_read, size_t rejected, size_t scored, size_t excluded,
                    size_t unscorable, const char *status)
{
    /* VmHWM: the peak of this program's own memory. ru_maxrss would do, except that
     * Linux starts it from the high-water mark of the process that forked us (a large
     * Python scheduler would hide our real peak). */
    long rss = -1;
    FILE *pf = fopen("/proc/self/status", "r");
    if (pf) {
        char line[256];
        while (fgets(line, sizeof line, pf))
            if (strncmp(line, "VmHWM:", 6) == 0) {
                rss = strtol(line + 6, NULL, 10);
                break;
            }
        fclose(pf);
    }
    struct rusage ru;
    if (rss < 0 && getrusage(RUSAGE_SELF, &ru) == 0)
        rss = ru.ru_maxrss;
    fprintf(stderr, "churn-score: rows_read=%zu rows_rejected=%zu customers_scored=%zu "
            "customers_excluded=%zu seconds=%.3f max_rss_kb=%ld mode=%s "
            "customers_unscorable=%zu status=%s\n",
            rows_read, rejected, scored, excluded, now() - st.t0, rss,
            st.mode ? st.mode : "stream", unscorable, status);
}

/* ---- progress (only when stderr is a terminal) ---- */
static atomic_int progress_stop;

static void *progress_main(void *arg)
{
    (void)arg;
    double last = 0;
    while (!atomic_load(&progress_stop)) {
        struct timespec ts = {0, 200000000};
        nanosleep(&ts, NULL);
        double t = now() - st.t0;
        if (t - last < 0.5)
            continue;
        last = t;
        int stage = atomic_load(&st.stage);
        char line[256];
        if (stage == 1) {
            double b = (double)atomic_load(&st.bytes_fed);
            double rows = (double)atomic_load(&st.lines_fed);
            char eta[64] = "";
            if (st.total_bytes && b > 0) {
                double left = t * ((double)st.total_bytes - b) / b;
                snprintf(eta, sizeof eta, ", %.0f%%, ETA %.0fs",
                         100.0 * b / (double)st.total_bytes, left);
            }
            if (st.gzip)
                snprintf(line, sizeof line, "reading: %.1f MB (compressed), %.1f MB/s%s",
                         b / 1e6, b / 1e6 / t, eta);
            else
                snprintf(line, sizeof line, "reading: %.0f rows, %.0f rows/s%s", rows,
                         rows / t, eta);
        } else if (stage == 2) {
            snprintf(line, sizeof line, "building the customer table ...");
        } else if (stage == 3) {
            double done = (double)atomic_load(&st.customers_done);
            double tsc = now() - st.t_score;
            if (done > 0 && tsc > 0) {
                double rate = done / tsc, left = ((double)st.customers - done) / rate;
                snprintf(line, sizeof line, "scoring: %.0f / %llu customers, %.0f customers/s, "
                         "ETA %.0fs", done, st.customers, rate, left);
            } else {
                snprintf(line, sizeof line, "scoring: %llu customers ...", st.customers);
            }
        } else {
            continue;
        }
        fprintf(stderr, "\r\033[K%s", line);
        fflush(stderr);
    }
    fputs("\r\033[K", stderr);
    fflush(stderr);
    return NULL;
}

/* ---- input feeding (progress mode): our thread copies the raw input into a pipe that
 * the library reads, counting bytes and lines on the way; zlib in the library still
 * detects and inflates gzip data. ---- */
typedef struct feeder {
    int in_fd, out_fd;
    int error; /* errno of a read failure */
} feeder;

static void *feeder_main(void *arg)
{
    feeder *fd = arg;
    size_t cap = 1u << 20;
    char *buf = malloc(cap);
    if (!buf) {
        fd->error = ENOMEM;
        close(fd->out_fd);
        return NULL;
    }
    int first = 1;
    for (;;) {
        ssize_t got = read(fd->in_fd, buf, cap);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            fd->error = errno;
            break;
        }
        if (got == 0)
            break;
        if (first) {
            st.gzip = got >= 2 && (unsigned char)buf[0] == 0x1f && (unsigned char)buf[1] == 0x8b;
            first = 0;
        }
        if (!st.gzip) {
            unsigned long long nl = 0;
            for (const char *p = buf, *end = buf + got; (p = memchr(p, '\n', (size_t)(end - p)));
                 p++)
                nl++;
            atomic_fetch_add(&st.lines_fed, nl);
        }
        size_t off = 0;
        while (off < (size_t)got) {
            ssize_t w = write(fd->out_fd, buf + off, (size_t)got - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                goto out; /* the reader stopped (error in the data): nothing more to do */
            off += (size_t)w;
        }
        atomic_fetch_add(&st.bytes_fed, (unsigned long long)got);
    }
out:
    free(buf);
    close(fd->out_fd);
    return NULL;
}

/* ---- streaming: each chunk of rows is folded into the stream and dropped ---- */
#define CHUNK_ROWS ((size_t)1 << 20)

typedef struct fold_ctx {
    churn_customer_stream *s;
    size_t chunk_rows;
    int out_of_order; /* the fold failed because of the input's order */
    char bad_time[512]; /* a transaction's time outside CLI_TIME_MIN .. CLI_TIME_END */
} fold_ctx;

static int fold_chunk(churn_txlog *log, void *ud)
{
    fold_ctx *fc = ud;
    if (cli_time_out_of_range(log, (size_t)churn_customer_stream_rows_folded(fc->s),
                              fc->bad_time, sizeof fc->bad_time))
        return CHURN_ERANGE;
    int rc = churn_customer_stream_fold(fc->s);
    sig_rows_read = (size_t)churn_customer_stream_rows_folded(fc->s);
    if (rc == CHURN_EINVAL)
        fc->out_of_order = 1;
    return rc;
}

/* Read `path` into `log`, or, with `fc`, in chunks folded into fc->s (whose log `log`
 * is). Returns the library status with its message set. */
static int read_plain(const char *path, const cli_tx_opts *o, churn_txlog *log, fold_ctx *fc)
{
    if (fc)
        return churn_txlog_read_csv_chunked(log, path, &o->csv, fc->chunk_rows, fold_chunk, fc);
    return churn_txlog_read_csv(log, path, &o->csv);
}

/* Read the input into `log` (folding it into fc->s when fc is given), through a feeder
 * thread when `progress` is set. Returns the library status; on failure `msg` holds the
 * message, naming the real input (not the feeder's pipe, "/dev/fd/N"). */
static int read_input(const char *path, const cli_tx_opts *o, churn_txlog *log, fold_ctx *fc,
                      int progress, char *msg, size_t cap)
{
    msg[0] = '\0';
    if (!progress) {
        int rc = read_plain(path, o, log, fc);
        if (rc)
            snprintf(msg, cap, "%s", churn_last_error_message());
        return rc;
    }
    int in_fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY);
    if (in_fd < 0) {
        snprintf(msg, cap, "cannot open '%s': %s", path, strerror(errno));
        return CHURN_EIO;
    }
    struct stat sb;
    if (fstat(in_fd, &sb) == 0 && S_ISREG(sb.st_mode))
        st.total_bytes = (unsigned long long)sb.st_size;
    atomic_store(&st.bytes_fed, 0);
    atomic_store(&st.lines_fed, 0);
    int p[2];
    if (pipe(p) != 0) {
        snprintf(msg, cap, "cannot create a pipe: %s", strerror(errno));
        if (in_fd != STDIN_FILENO)
            close(in_fd);
        return CHURN_EIO;
    }
    feeder fd = {in_fd, p[1], 0};
    pthread_t th;
    signal(SIGPIPE, SIG_IGN); /* the feeder sees EPIPE when the reader stops early */
    if (pthread_create(&th, NULL, feeder_main, &fd) != 0) {
        close(p[0]);
        close(p[1]);
        if (in_fd != STDIN_FILENO)
            close(in_fd);
        snprintf(msg, cap, "cannot start the input thread");
        return CHURN_ENOMEM;
    }
    char pipe_name[64];
    snprintf(pipe_name, sizeof pipe_name, "/dev/fd/%d", p[0]);
    int rc = read_plain(pipe_name, o, log, fc);
    if (rc) {
        /* copy the message, replacing the pipe's name by the input's */
        const char *m = churn_last_error_message();
        const char *shown = strcmp(path, "-") == 0 ? "<stdin>" : path;
        size_t nl = strlen(pipe_name), k = 0;
        while (*m && k + 1 < cap) {
            if (strncmp(m, pipe_name, nl) == 0) {
                for (const char *c = shown; *c && k + 1 < cap; c++)
                    msg[k++] = *c;
                m += nl;
            } else {
                msg[k++] = *m++;
            }
        }
        msg[k] = '\0';
    }
    close(p[0]); /* unblocks the feeder if the library stopped early */
    pthread_join(th, NULL);
    if (in_fd != STDIN_FILENO)
        close(in_fd);
    if (!rc && fd.error) {
        snprintf(msg, cap, "cannot read '%s': %s", path, strerror(fd.error));
        rc = CHURN_EIO;
    }
    return rc;
}

/* The model's input columns as a `columns` list ("a,b,c") in buf. Returns 0, 1 when one
 * of them needs the grouping path (gap_median, n_products), 2 when the list does not fit
 * (then every column is computed). */
static int model_columns(const churn_model *m, int btyd, char *buf, size_t cap)
{
    if (btyd) {
        snprintf(buf, cap, "frequency,recency,T,monetary_value");
        return 0;
    }
    int grouping = 0;
    size_t len = 0;
    buf[0] = '\0';
    if (churn_model_num_features(m) == 0) {
        /* an intercept-only AFT model reads no column: build the cheapest one */
        snprintf(buf, cap, "frequency");
        return 0;
    }
    for (size_t k = 0; k < churn_model_num_features(m); k++) {
        const char *name = churn_model_feature_name(m, k);
        if (!name)
            continue;
        grouping |= strcmp(name, "gap_median") == 0 || strcmp(name, "n_products") == 0;
        int w = snprintf(buf + len, cap - len, "%s%s", len ? "," : "", name);
        if (w < 0 || (size_t)w >= cap - len)
            return 2; /* too long to list: the in-memory path computes every column */
        len += (size_t)w;
    }
    return grouping;
}

/* ---- scoring ---- */
enum { KIND_BTYD, KIND_LOGIT, KIND_SURV };

typedef struct job {
    const churn_model *model, *spend;
    int kind;
    double horizon;
    churn_clv_options clv;
    const churn_customers *t;
    const double *freq, *rec, *T, *mon; /* BTYD inputs */
    const double **feat;                /* logit/survival: p feature columns */
    size_t p;
    const cli_cov_set *cov;             /* a BTYD model with covariates: every customer's */
    double level;                       /* --interval, NaN without */
    int niv;                            /* interval columns written: 0, 4 or 11 */
} job;

/* The --interval columns, in output order (the first 4, or all 11 with --spend). */
static const char *const iv_names[11] = {
    "p_alive_lo", "p_alive_hi", "expected_purchases_lo", "expected_purchases_hi",
    "expected_spend_lo", "expected_spend_hi", "clv_lo", "clv_hi", "value_at_risk",
    "value_at_risk_lo", "value_at_risk_hi"};

typedef struct worker {
    const job *j;
    size_t lo, hi;     /* customer rows [lo, hi) */
    double *scratch;   /* block rows * (5 + p + 11) doubles */
    char *buf;         /* formatted CSV rows */
    size_t len, cap;
    char *rej;         /* customers left out: id NUL reason NUL ... */
    size_t rlen, rcap, nrej;
    int status;
    char msg[600];
} worker;

static int put(worker *w, const char *s, size_t n)
{
    if (w->len + n + 1 > w->cap) {
        size_t nc = w->cap ? w->cap : 1u << 16;
        while (w->len + n + 1 > nc)
            nc *= 2;
        char *nb = realloc(w->buf, nc);
        if (!nb)
            return -1;
        w->buf = nb;
        w->cap = nc;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    return 0;
}

/* ",%.*g" (cli_digits, 10 by default), or "," for a non-finite value (cli_put_double's
 * format). */
static int put_num(worker *w, double x)
{
    char tmp[40];
    int n = isfinite(x) ? snprintf(tmp, sizeof tmp, ",%.*g", cli_digits, x)
                        : snprintf(tmp, sizeof tmp, ",");
    return put(w, tmp, (size_t)n);
}

/* The id as a CSV field (quoted when needed, as cli_put_field). */
static int put_id(worker *w, const char *s)
{
    if (!strpbrk(s, ",\"\n\r"))
        return put(w, s, strlen(s));
    if (put(w, "\"", 1))
        return -1;
    for (; *s; s++)
        if ((*s == '"' && put(w, "\"", 1)) || put(w, s, 1))
            return -1;
    return put(w, "\"", 1);
}

static void worker_fail(worker *w, const char *what, int status)
{
    const char *m = churn_last_error_message();
    snprintf(w->msg, sizeof w->msg, "%s (customers %zu..%zu of the table; rows in the message "
             "count from customer '%s'): %s%s", what, w->lo + 1, w->hi,
             churn_customers_id(w->j->t, w->lo), *m ? m : churn_strerror(status),
             strstr(m, "whole number of transaction opportunities")
                 ? "; --calendar year|quarter|month|week counts whole opportunities"
                 : "");
    w->status = status ? status : CHURN_ENOMEM;
}

/* Score rows [off, off + cnt) of the worker's block (customers lo + off ...) into
 * a, b, c, d (+ off). Returns the library status; *step names the failing call. */
static int score_rows(const job *j, size_t lo, size_t off, size_t cnt, double *a, double *b,
                      double *c, double *d, double *x, double *const *ivc, int bgbb,
                      const char **step)
{
    int s;
    size_t r = lo + off;
    a += off, b += off, c += off, d += off;
    double *iv[11];
    for (int k = 0; k < j->niv; k++)
        iv[k] = ivc[k] + off;
    *step = "scoring";
    if (j->kind == KIND_BTYD && j->cov) {
        /* covariates of rows [r, r + cnt), column-major */
        const cli_cov_set *cs = j->cov;
        churn_btyd_covariates one;
        double *v = cli_cov_rows(cs, r, cnt, &one);
        if (!v)
            return CHURN_ENOMEM;
        s = churn_btyd_score_covariates(j->model, j->horizon, cnt, j->freq + r, j->rec + r,
                                        j->T + r, &one, a, b);
        if (!s && j->niv) {
            *step = "interval";
            s = churn_btyd_predict_interval_covariates(j->model, j->horizon, j->level, cnt,
                                                       j->freq + r, j->rec + r, j->T + r, &one,
                                                       NULL, iv[0], iv[1], NULL, iv[2], iv[3]);
        }
        if (!s && j->spend) {
            *step = "expected spend";
            s = churn_gammagamma_expected_spend(j->spend, cnt, j->freq + r, j->mon + r, c);
        }
        /* CLV: each customer as the plain model at its own rates */
        for (size_t k = 0; k < cnt && !s && j->spend; k++) {
            *step = "CLV";
            churn_model *cm = NULL;
            s = cli_cov_customer_model(j->model, cs, r + k, &cm);
            if (!s)
                s = churn_clv_score(cm, j->spend, &j->clv, 1, j->freq + r + k, j->rec + r + k,
                                    j->T + r + k, j->mon + r + k, NULL, NULL, NULL, d + k, NULL);
            churn_model_free(cm);
        }
        if (!s && j->niv > 4) {
            *step = "CLV interval";
            churn_clv_intervals o = CHURN_CLV_INTERVALS_INIT;
            o.expected_spend_lo = iv[4], o.expected_spend_hi = iv[5];
            o.clv_lo = iv[6], o.clv_hi = iv[7];
            o.value_at_risk = iv[8], o.value_at_risk_lo = iv[9], o.value_at_risk_hi = iv[10];
            s = churn_clv_interval_covariates(j->model, j->spend, &j->clv, j->level, cnt,
                                              j->freq + r, j->rec + r, j->T + r, j->mon + r,
                                              &one, &o);
        }
        free(v);
        return s;
    }
    if (j->kind == KIND_BTYD) {
        /* a = p_alive, b = expected purchases, c = expected spend, d = clv; BG/BB (no
         * spend): a = alive at the next opportunity, c = alive through the last one */
        if ((s = churn_btyd_score(j->model, j->horizon, cnt, j->freq + r, j->rec + r, j->T + r,
                                  bgbb ? c : a, b)))
            return s;
        *step = "P(alive)";
        if (bgbb && (s = churn_bgbb_p_alive_at(j->model, 1, cnt, j->freq + r, j->rec + r,
                                               j->T + r, a)))
            return s;
        if (j->spend) {
            *step = "expected spend";
            if ((s = churn_gammagamma_expected_spend(j->spend, cnt, j->freq + r, j->mon + r, c)))
                return s;
            *step = "CLV";
            if ((s = churn_clv_score(j->model, j->spend, &j->clv, cnt, j->freq + r, j->rec + r,
                                     j->T + r, j->mon + r, NULL, NULL, NULL, d, NULL)))
                return s;
        }
        if (j->niv) {
            *step = "interval";
            if ((s = churn_btyd_predict_interval(j->model, j->horizon, j->level, cnt,
                                                 j->freq + r, j->rec + r, j->T + r, NULL, iv[0],
                                                 iv[1], NULL, iv[2], iv[3])))
                return s;
        }
        if (j->niv > 4) {
            *step = "CLV interval";
            churn_clv_intervals o = CHURN_CLV_INTERVALS_INIT;
            o.expected_spend_lo = iv[4], o.expected_spend_hi = iv[5];
            o.clv_lo = iv[6], o.clv_hi = iv[7];
            o.value_at_risk = iv[8], o.value_at_risk_lo = iv[9], o.value_at_risk_hi = iv[10];
            if ((s = churn_clv_interval(j->model, j->spend, &j->clv, j->level, cnt, j->freq + r,
                                        j->rec + r, j->T + r, j->mon + r, &o)))
                return s;
        }
        return CHURN_OK;
    }
    /* x = cnt*p row-major features; a = p_churn, b = linear predictor, c = survival */
    x += off * j->p;
    for (size_t i = 0; i < cnt; i++)
        for (size_t k = 0; k < j->p; k++)
            x[i * j->p + k] = j->feat[k][r + i];
    if (j->kind == KIND_LOGIT)
        return churn_logit_predict(j->model, x, cnt, j->p, CHURN_LOGIT_ROW_MAJOR, j->p, a, b);
    return churn_surv_predict(j->model, cnt, x, j->horizon, c, a, b);
}

/* The first output of row i that is not a finite number (its column name, its value in
 * *v), or NULL. */
static const char *bad_output(const job *j, int bgbb, size_t i, const double *a,
                              const double *b, const double *c, const double *d, double *v)
{
    const char *name[5] = {NULL};
    double val[5];
    size_t k = 0;
    if (j->kind == KIND_BTYD) {
        name[k] = "p_alive", val[k++] = a[i];
        name[k] = "expected_purchases", val[k++] = b[i];
        if (j->spend) {
            name[k] = "expected_spend", val[k++] = c[i];
            name[k] = "clv", val[k++] = d[i];
        }
        if (bgbb)
            name[k] = "p_alive_through", val[k++] = c[i];
    } else {
        name[k] = "p_churn", val[k++] = a[i];
        if (j->kind == KIND_SURV)
            name[k] = "survival", val[k++] = c[i];
        name[k] = "linear_predictor", val[k++] = b[i];
    }
    for (size_t q = 0; q < k; q++)
        if (!isfinite(val[q])) {
            *v = val[q];
            return name[q];
        }
    return NULL;
}

/* Row i is left out: its id and the reason, NUL-separated, into w->rej. */
static int reject_row(worker *w, size_t i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int reject_row(worker *w, size_t i, const char *fmt, ...)
{
    char why[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    const char *id = churn_customers_id(w->j->t, w->lo + i);
    size_t ni = strlen(id) + 1, nw = strlen(why) + 1;
    if (w->rlen + ni + nw > w->rcap) {
        size_t nc = w->rcap ? w->rcap * 2 : 4096;
        while (w->rlen + ni + nw > nc)
            nc *= 2;
        char *nb = realloc(w->rej, nc);
        if (!nb)
            return -1;
        w->rej = nb;
        w->rcap = nc;
    }
    memcpy(w->rej + w->rlen, id, ni);
    memcpy(w->rej + w->rlen + ni, why, nw);
    w->rlen += ni + nw;
    w->nrej++;
    return 0;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    const job *j = w->j;
    size_t n = w->hi - w->lo, lo = w->lo;
    double *a = w->scratch, *b = a + n, *c = b + n, *d = c + n, *x = d + 2 * n;
    double *iv[11]; /* the interval columns after the features (BTYD models read none) */
    for (int k = 0; k < 11; k++)
        iv[k] = x + (j->p + (size_t)k) * n;
    w->len = 0;
    w->rlen = 0;
    w->nrej = 0;
    w->status = 0;
    if (!n)
        return NULL;
    int bgbb = j->kind == KIND_BTYD && churn_model_family(j->model) == CHURN_FAMILY_BGBB;
    unsigned char *skip = NULL;
    const char *step;
    int s = score_rows(j, lo, 0, n, a, b, c, d, x, iv, bgbb, &step);
    if (s == CHURN_ENOMEM) {
        worker_fail(w, step, s);
        return NULL;
    }
    if (s) {
        /* a customer the library refuses (it names the first bad row): score the block
         * row by row and leave out those that fail, with the library's reason */
        if (!(skip = calloc(n, 1))) {
            worker_fail(w, "out of memory", CHURN_ENOMEM);
            return NULL;
        }
        for (size_t i = 0; i < n; i++) {
            int si = score_rows(j, lo, i, 1, a, b, c, d, x, iv, bgbb, &step);
            if (si == CHURN_ENOMEM) {
                worker_fail(w, step, si);
                free(skip);
                return NULL;
            }
            if (si) {
                skip[i] = 1;
                char m1[360];
                if (reject_row(w, i, "%s: %s", step,
                               cli_one_row_message(churn_last_error_message(), m1, sizeof m1)))
                    goto oom;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (skip && skip[i])
            continue;
        double v;
        const char *col = bad_output(j, bgbb, i, a, b, c, d, &v);
        for (int k = 0; !col && k < j->niv; k++)
            if (!isfinite(iv[k][i]))
                col = iv_names[k], v = iv[k][i];
        if (col) {
            if (reject_row(w, i, "%s is not a finite number (%g): an input beyond what a "
                           "double holds", col, v))
                goto oom;
            continue;
        }
        int bad = put_id(w, churn_customers_id(j->t, lo + i));
        if (j->kind == KIND_BTYD) {
            bad = bad || put_num(w, j->freq[lo + i]) || put_num(w, j->rec[lo + i]) ||
                  put_num(w, j->T[lo + i]) || put_num(w, a[i]) || put_num(w, 1 - a[i]) ||
                  put_num(w, b[i]);
            if (j->spend)
                bad = bad || put_num(w, c[i]) || put_num(w, d[i]);
            if (bgbb)
                bad = bad || put_num(w, c[i]);
            for (int k = 0; k < j->niv; k++)
                bad = bad || put_num(w, iv[k][i]);
        } else if (j->kind == KIND_LOGIT) {
            bad = bad || put_num(w, a[i]) || put_num(w, b[i]);
        } else {
            bad = bad || put_num(w, a[i]) || put_num(w, c[i]) || put_num(w, b[i]);
        }
        if (bad || put(w, "\n", 1))
            goto oom;
    }
    free(skip);
    return NULL;
oom:
    free(skip);
    snprintf(w->msg, sizeof w->msg, "out of memory formatting the scores");
    w->status = CHURN_ENOMEM;
    return NULL;
}

/* Score rows in blocks of nthreads * BLOCK; each worker formats its share, the main thread
 * writes the shares in row order. */
#define BLOCK 32768
static int score_all(const job *j, size_t nrows, int nthreads, FILE *f, cli_rejects *rj)
{
    worker *w = calloc((size_t)nthreads, sizeof *w);
    pthread_t *th = calloc((size_t)nthreads, sizeof *th);
    int rc = CLI_EXIT_FAIL;
    if (!w || !th)
        goto oom;
    /* rows per worker and block: BLOCK, or an equal share of a small table */
    size_t per = (nrows + (size_t)nthreads - 1) / (size_t)nthreads;
    per = per < 1 ? 1 : per > BLOCK ? BLOCK : per;
    for (int k = 0; k < nthreads; k++) {
        w[k].j = j;
        if (!(w[k].scratch = malloc(per * (5 + j->p + 11) * sizeof(double))))
            goto oom;
    }
    for (size_t base = 0; base < nrows; base += (size_t)nthreads * per) {
        for (int k = 0; k < nthreads; k++) {
            size_t lo = base + (size_t)k * per;
            w[k].lo = lo < nrows ? lo : nrows;
            w[k].hi = lo + per < nrows ? lo + per : nrows;
        }
        int started = 0;
        for (int k = 1; k < nthreads; k++) {
            if (pthread_create(&th[k], NULL, worker_main, &w[k]) != 0)
                break;
            started = k;
        }
        worker_main(&w[0]);
        for (int k = started + 1; k < nthreads; k++) /* threads that failed to start */
            worker_main(&w[k]);
        for (int k = 1; k <= started; k++)
            pthread_join(th[k], NULL);
        for (int k = 0; k < nthreads; k++) {
            if (w[k].status) {
                cli_fail(sub, "%s", w[k].msg);
                goto done;
            }
            if (w[k].len && fwrite(w[k].buf, 1, w[k].len, f) != w[k].len)
                break; /* reported by cli_close_out */
            for (size_t q = 0; q < w[k].rlen;) {
                const char *id = w[k].rej + q, *why = id + strlen(id) + 1;
                cli_reject(rj, id, "%s", why);
                q = (size_t)(why + strlen(why) + 1 - w[k].rej);
            }
            atomic_fetch_add(&st.customers_done,
                             (unsigned long long)(w[k].hi - w[k].lo - w[k].nrej));
        }
        if (ferror(f))
            break;
    }
    rc = CLI_EXIT_OK;
    goto done;
oom:
    cli_fail(sub, "out of memory");
done:
    for (int k = 0; w && k < nthreads; k++) {
        free(w[k].scratch);
        free(w[k].buf);
        free(w[k].rej);
    }
    free(w);
    free(th);
    return rc;
}

static void read_failed(const char *msg, int status, int progress)
{
    fprintf(stderr, "%schurn %s: reading transactions: %s\n", progress ? "\r\033[K" : "", sub,
            *msg ? msg : churn_strerror(status));
}

static void report_skipped(const churn_txlog *log, size_t rejected, size_t rows_read, int quiet,
                           int progress)
{
    if (!rejected || quiet)
        return;
    fprintf(stderr, "%schurn %s: skipped %zu bad row(s) of %zu\n", progress ? "\r\033[K" : "",
            sub, rejected, rows_read);
    for (size_t i = 0; churn_txlog_skip_message(log, i); i++)
        fprintf(stderr, "  %s\n", churn_txlog_skip_message(log, i));
}

static int load_model(const char *path, const char *what, churn_model **m)
{
    int rc = churn_model_load(m, path);
    if (rc) {
        cli_lib_fail(sub, what, rc);
        return CLI_EXIT_FAIL;
    }
    return 0;
}

typedef struct score_args {
    const char *model_path, *input, *out, *spend_path, *rejects, *covariates, *cov_id;
    double cutoff, unit, horizon, period, discount, margin, interval;
    long threads, clv_periods, chunk_rows;
    int quiet, have_cutoff, in_memory, convert_unit;
    churn_customer_options co;
    cli_tx_opts tx;
} score_args;

#define AT(m) CLI_AT(score_args, m)
static const cli_option score_options[] = {
    {.name = "--cutoff", .kind = CLI_DATE, .at = AT(cutoff), .seen = AT(have_cutoff)},
    CLI_OPT("--unit", CLI_UNIT, AT(unit)),
    CLI_OPT("--convert-unit", CLI_FLAG, AT(convert_unit)),
    CLI_PERIOD("--calendar", AT(co.period)),
    CLI_NONNEG("--horizon", AT(horizon)),
    CLI_OPT("--spend", CLI_STRING, AT(spend_path)),
    {.name = "--clv-periods", .kind = CLI_LONG, .at = AT(clv_periods),
     .bounds = CLI_MIN | CLI_MAX, .min = 1, .max = 100000,
     .range_msg = "option --clv-periods: %ld is not in 1..100000"},
    {.name = "--period", .kind = CLI_DOUBLE, .at = AT(period), .bounds = CLI_MIN_OPEN, .min = 0,
     .range_msg = "option --period: must be > 0"},
    {.name = "--discount", .kind = CLI_DOUBLE, .at = AT(discount), .bounds = CLI_MIN, .min = 0,
     .range_msg = "option --discount: must be >= 0"},
    CLI_OPT("--margin", CLI_DOUBLE, AT(margin)),
    {.name = "--interval", .kind = CLI_DOUBLE, .at = AT(interval), .bounds = CLI_MIN_OPEN,
     .min = 0, .range_msg = "option --interval: %g must lie strictly between 0 and 1 (e.g. "
                            "0.9 for 90% intervals)"},
    {.name = "--trend-window", .kind = CLI_DOUBLE, .at = AT(co.trend_window),
     .bounds = CLI_MIN_OPEN, .min = 0,
     .range_msg = "option --trend-window: must be a positive number of days"},
    CLI_OPT("--no-same-day-merge", CLI_FLAG_OFF, AT(co.same_day_once)),
    CLI_OPT("--first-purchase-counts", CLI_FLAG, AT(co.first_purchase_counts)),
    CLI_LONG_IN("--threads", AT(threads), 1, 256),
    {.name = "--chunk-rows", .kind = CLI_LONG, .at = AT(chunk_rows), .bounds = CLI_MIN,
     .min = 1, .range_msg = "option --chunk-rows: %ld must be >= 1"},
    CLI_OPT("--in-memory", CLI_FLAG, AT(in_memory)),
    {.name = "--quiet", .alias = "-q", .kind = CLI_FLAG, .at = AT(quiet)},
    CLI_OPT("--rejects", CLI_STRING, AT(rejects)),
    CLI_OPT("--covariates", CLI_STRING, AT(covariates)),
    CLI_OPT("--covariates-id", CLI_STRING, AT(cov_id)),
    CLI_OUTPUT(AT(out)),
};
static const cli_spec score_spec = {
    .options = score_options, .noptions = CLI_NOPTIONS(score_options), .tx = AT(tx),
    .positional = {AT(model_path), AT(input)}, .help = score_help, .help_tx = 1,
};
#undef AT

/* What the steps of one run share. The steps print their own errors and return
 * CLI_EXIT_OK, CLI_EXIT_FAIL or CLI_EXIT_USAGE (the summary line's status follows). */
typedef struct score_run {
    const score_args *a;
    churn_model *model, *spend;
    int fam, kind;
    double unit;                /* --unit, or the model's */
    churn_customer_options co;  /* the customer-table options with the cutoff and columns */
    char cols[4096];            /* the model's input columns (model_columns), for co */
    int memory;                 /* read the log into memory rather than stream it */
    churn_customers *t;
    const double **feat;
    job j;
    int progress_started;
    pthread_t pth;
    size_t rows_read, rejected, scored, excluded;
    size_t unscorable;          /* customers left out: inputs or scores not finite */
    cli_cov_names cnames;       /* a covariate model's covariates */
    cli_cov_join join;          /* --covariates joined to the customers */
    cli_cov_set cov;
} score_run;

static int check_args(const score_args *a)
{
    if (!a->model_path || !a->input)
        return cli_usage_error(sub, "missing the %s argument",
                               a->model_path ? "TX.csv" : "model.json");
    if (!a->have_cutoff)
        return cli_usage_error(sub, "--cutoff DATE is required (the end of the calibration "
                               "period)");
    if (!isnan(a->interval) && !(a->interval < 1))
        return cli_usage_error(sub, "option --interval: %g must lie strictly between 0 and 1 "
                               "(e.g. 0.9 for 90%% intervals)", a->interval);
    if (a->spend_path && cli_tx_no_amount(&a->tx))
        return cli_usage_error(sub, "--spend needs amounts (expected spend and CLV read the "
                               "spend), and --amount none says the log has none: the spend is "
                               "missing. Score without --spend for P(alive) and expected "
                               "purchases");
    return CLI_EXIT_OK;
}

/* Which kind of scoring a model family takes; -1 (error printed) for none. */
static int family_kind(int fam, const char *model_path)
{
    switch (fam) {
    case CHURN_FAMILY_BGNBD: case CHURN_FAMILY_MBGNBD: case CHURN_FAMILY_PNBD:
    case CHURN_FAMILY_BGBB: case CHURN_FAMILY_GGOMNBD: case CHURN_FAMILY_MBGCNBD:
        return KIND_BTYD;
    case CHURN_FAMILY_LOGIT:
        return KIND_LOGIT;
    case CHURN_FAMILY_COX: case CHURN_FAMILY_WEIBULL: case CHURN_FAMILY_EXPONENTIAL:
    case CHURN_FAMILY_LOGLOGISTIC: case CHURN_FAMILY_LOGNORMAL:
        return KIND_SURV;
    default:
        cli_fail(sub, "%s: '%s' models cannot score a transaction log (use 'churn features' "
                 "then 'churn predict')", model_path, churn_family_name(fam));
        return -1;
    }
}

/* The time unit (--unit must agree with the model's) and the horizon the family needs. */
static int check_unit_horizon(score_run *r)
{
    const score_args *a = r->a;
    double munit = churn_model_time_unit(r->model);
    r->unit = a->unit;
    if (a->co.period != CHURN_PERIOD_NONE) {
        /* calendar periods: the unit is the period's nominal length */
        double len = r->unit;
        int rc = cli_period_unit(sub, "--calendar", a->co.period, r->unit > 0, &len);
        if (rc)
            return rc;
        if (munit > 0 && !a->convert_unit && churn_model_check_time_unit(r->model, len))
            return cli_usage_error(sub, "--calendar %s (%g days) differs from the model's "
                                   "recorded unit (%g days)", churn_period_name(a->co.period),
                                   len, munit);
        r->unit = len;
    }
    if (r->unit > 0 && munit > 0 && churn_model_check_time_unit(r->model, r->unit)) {
        char mu[64], du[64];
        churn_time_unit_describe(munit, mu, sizeof mu);
        churn_time_unit_describe(r->unit, du, sizeof du);
        if (!a->convert_unit)
            return cli_usage_error(sub, "the '%s' model %s was fitted in %s but --unit says %s: "
                                   "drop --unit to build the features in the model's unit, or "
                                   "add --convert-unit to convert the model on purpose",
                                   churn_family_name(r->fam), a->model_path, mu, du);
        int cst = churn_btyd_convert_time_unit(r->model, r->unit);
        if (cst)
            return cli_lib_fail(sub, "--convert-unit", cst);
        if (!a->quiet)
            fprintf(stderr, "churn %s: note: the model was converted from %s to %s "
                    "(--convert-unit)\n", sub, mu, du);
    }
    if (a->convert_unit && !(a->unit > 0))
        return cli_usage_error(sub, "--convert-unit needs --unit (the unit to convert to)");
    if (!(r->unit > 0))
        r->unit = munit;
    if (!(r->unit > 0))
        return cli_usage_error(sub, "%s records no time unit: pass --unit (the unit of the "
                               "table the model was fitted on)", a->model_path);
    if (r->kind != KIND_LOGIT && isnan(a->horizon))
        return cli_usage_error(sub, "--horizon H is required for a '%s' model",
                               churn_family_name(r->fam));
    return CLI_EXIT_OK;
}

/* The --spend model: a Gamma-Gamma model, for a BG/NBD, MBG/NBD, Pareto/NBD,
 * Gamma-Gompertz/NBD or MBG/CNBD-k model. */
static int load_spend(score_run *r)
{
    const char *path = r->a->spend_path;
    if (!path)
        return CLI_EXIT_OK;
    if (r->fam != CHURN_FAMILY_BGNBD && r->fam != CHURN_FAMILY_MBGNBD &&
        r->fam != CHURN_FAMILY_PNBD && r->fam != CHURN_FAMILY_GGOMNBD &&
        r->fam != CHURN_FAMILY_MBGCNBD)
        return cli_usage_error(sub, "--spend needs a BG/NBD, MBG/NBD, Pareto/NBD, "
                               "Gamma-Gompertz/NBD or MBG/CNBD-k model, not '%s'",
                               churn_family_name(r->fam));
    if (load_model(path, "loading the --spend model", &r->spend))
        return CLI_EXIT_FAIL;
    if (churn_model_family(r->spend) != CHURN_FAMILY_GAMMAGAMMA)
        return cli_fail(sub, "--spend %s: a '%s' model, expected gammagamma", path,
                        churn_family_name(churn_model_family(r->spend)));
    return CLI_EXIT_OK;
}

/* With --amount none, a logit or survival model must not read a spend column (NaN for
 * every customer of a log without amounts). */
static int check_features_need_no_amount(const score_run *r)
{
    if (r->kind == KIND_BTYD || !cli_tx_no_amount(&r->a->tx))
        return CLI_EXIT_OK;
    for (size_t k = 0; k < churn_model_num_features(r->model); k++) {
        const char *name = churn_model_feature_name(r->model, k);
        if (name && cli_is_spend_column(name))
            return cli_fail(sub, "%s: the model reads '%s', which needs amounts, and --amount "
                            "none says the log has none: the spend is missing (score a log "
                            "with amounts, or fit a model without spend features)",
                            r->a->model_path, name);
    }
    return CLI_EXIT_OK;
}

/* --interval: a family with intervals, a model (and --spend model) with a covariance. */
static int check_interval(score_run *r)
{
    const score_args *a = r->a;
    if (isnan(a->interval))
        return CLI_EXIT_OK;
    if (r->fam != CHURN_FAMILY_BGNBD && r->fam != CHURN_FAMILY_MBGNBD &&
        r->fam != CHURN_FAMILY_PNBD && r->fam != CHURN_FAMILY_GGOMNBD &&
        r->fam != CHURN_FAMILY_MBGCNBD)
        return cli_usage_error(sub, "--interval is for bgnbd, mbgnbd, pnbd, ggomnbd and "
                               "mbgcnbdk models, not '%s'", churn_family_name(r->fam));
    int with_cov = r->cnames.nt + r->cnames.nl > 0;
    int s;
    if (with_cov) {
        /* a covariance in the model and in the --spend model */
        const churn_model *ms[2] = {r->model, r->spend};
        const char *paths[2] = {a->model_path, a->spend_path};
        for (int q = 0; q < 2; q++) {
            if (!ms[q])
                continue;
            size_t k = churn_model_num_params(ms[q]);
            double *cov = malloc((k ? k * k : 1) * sizeof *cov);
            if (!cov)
                return cli_fail(sub, "out of memory");
            s = churn_model_covariance(ms[q], cov, k * k);
            free(cov);
            if (s)
                return cli_fail(sub, "--interval: %s: %s", paths[q],
                                churn_last_error_message());
        }
    } else if (r->spend) {
        /* no rows: the checks of both models and of the CLV options */
        churn_clv_options o;
        churn_clv_options_init(&o);
        o.period = 1;
        double dummy;
        churn_clv_intervals out = CHURN_CLV_INTERVALS_INIT;
        out.clv = &dummy;
        s = churn_clv_interval(r->model, r->spend, &o, a->interval, 0, NULL, NULL, NULL, NULL,
                               &out);
    } else {
        s = churn_btyd_predict_interval(r->model, a->horizon, a->interval, 0, NULL, NULL, NULL,
                                        NULL, NULL, NULL, NULL, NULL, NULL);
    }
    if (!with_cov && s)
        return cli_fail(sub, "--interval: %s: %s", a->model_path, churn_last_error_message());
    r->j.level = a->interval;
    r->j.niv = r->spend ? 11 : 4;
    return CLI_EXIT_OK;
}

/* The model and the --spend model, checked against the options. */
static int load_models(score_run *r)
{
    if (load_model(r->a->model_path, "loading the model", &r->model))
        return CLI_EXIT_FAIL;
    r->fam = churn_model_family(r->model);
    if ((r->kind = family_kind(r->fam, r->a->model_path)) < 0)
        return CLI_EXIT_FAIL;
    if ((r->kind == KIND_LOGIT || r->fam == CHURN_FAMILY_COX) &&
        churn_model_num_features(r->model) == 0)
        return cli_fail(sub, "%s: a '%s' model without features (its parameters are %s%s%s...): "
                        "a %s model scores customers by their features; is it a model of "
                        "another family relabelled?", r->a->model_path,
                        churn_family_name(r->fam),
                        churn_model_num_params(r->model) ? "'" : "none",
                        churn_model_num_params(r->model) ? churn_model_param_name(r->model, 0) : "",
                        churn_model_num_params(r->model) ? "', " : "",
                        churn_family_name(r->fam));
    int rc = check_unit_horizon(r);
    if (!rc)
        rc = check_features_need_no_amount(r);
    int k = r->kind == KIND_BTYD ? cli_cov_model_names(r->model, &r->cnames) : 0;
    if (!rc && k < 0)
        rc = cli_fail(sub, "out of memory");
    if (!rc && k > 0 && !r->a->covariates)
        rc = cli_usage_error(sub, "%s is a model with covariates ('%s', ...): give their "
                             "values with --covariates FILE", r->a->model_path,
                             r->cnames.nt ? r->cnames.trans[0] : r->cnames.life[0]);
    if (!rc && k == 0 && r->a->covariates)
        rc = cli_usage_error(sub, "--covariates is for models fitted with covariates, and %s "
                             "has none", r->a->model_path);
    if (!rc)
        rc = load_spend(r);
    return rc ? rc : check_interval(r);
}

/* The customer-table options: as given, with the cutoff, the unit and the model's columns. */
static void table_options(score_run *r)
{
    int grouping = model_columns(r->model, r->kind == KIND_BTYD, r->cols, sizeof r->cols);
    r->co = r->a->co;
    r->co.cutoff = r->a->cutoff;
    r->co.time_unit = r->unit;
    r->co.columns = grouping == 2 ? NULL : r->cols;
    r->memory = r->a->in_memory || grouping;
}

static void start_progress(score_run *r)
{
    if (!r->a->quiet && isatty(STDERR_FILENO) &&
        pthread_create(&r->pth, NULL, progress_main, NULL) == 0)
        r->progress_started = 1;
}

static void stop_progress(score_run *r)
{
    if (!r->progress_started)
        return;
    atomic_store(&progress_stop, 1);
    pthread_join(r->pth, NULL);
    r->progress_started = 0;
}

/* (1)-(2) streaming: fold the log chunk by chunk into the customer table. A file out of
 * time order is read again into memory (r->memory set); standard input cannot be. */
static int read_stream(score_run *r)
{
    const score_args *a = r->a;
    char msg[1024];
    st.mode = "stream";
    churn_customer_stream *cs = NULL;
    int s = churn_customer_stream_new(&cs, &r->co);
    if (s)
        return cli_fail(sub, "%s: the model's input columns: %s", a->model_path,
                        churn_last_error_message());
    fold_ctx fc = {cs, (size_t)a->chunk_rows, 0, ""};
    churn_txlog *slog = churn_customer_stream_log(cs);
    s = read_input(a->input, &a->tx, slog, &fc, r->progress_started, msg, sizeof msg);
    if (s && fc.bad_time[0])
        snprintf(msg, sizeof msg, "%s", fc.bad_time);
    /* the rows folded, plus those a failed read got through (the failing row included) */
    r->rows_read = churn_txlog_rows_read(slog) + churn_txlog_rows_failed(slog);
    r->rejected = churn_txlog_rows_skipped(slog);
    if (!s) {
        atomic_store(&st.stage, 2);
        s = churn_customer_stream_finish(cs, &r->t);
        if (s)
            snprintf(msg, sizeof msg, "%s", churn_last_error_message());
        fc.out_of_order |= s == CHURN_EINVAL;
    }
    int again = s && fc.out_of_order && strcmp(a->input, "-") != 0;
    if (!again) /* a second read reports them itself */
        report_skipped(slog, r->rejected, r->rows_read, a->quiet, r->progress_started);
    churn_customer_stream_free(cs);
    if (again) {
        /* a file can be read again, into memory */
        if (!a->quiet)
            fprintf(stderr, "%schurn %s: note: %s; reading '%s' into memory instead (memory "
                    "grows with the transactions; sort the file to stream it)\n",
                    r->progress_started ? "\r\033[K" : "", sub, msg, a->input);
        r->memory = 1;
        r->rows_read = r->rejected = 0;
    } else if (s && fc.out_of_order) {
        return cli_fail(sub, "reading transactions: %s. Standard input cannot be read twice: "
                        "sort it by date first (e.g. 'sort -t, -k2,2 -s', keeping the header "
                        "first) or pass a file", msg);
    } else if (s) {
        read_failed(msg, s, r->progress_started);
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

/* (1)-(2) in memory: the whole log, then the customer table; the log is freed before
 * scoring. */
static int read_memory(score_run *r)
{
    const score_args *a = r->a;
    churn_txlog *log = NULL;
    char msg[1024];
    st.mode = "memory";
    atomic_store(&st.stage, 1);
    if (churn_txlog_new(&log))
        return cli_fail(sub, "out of memory");
    int s = read_input(a->input, &a->tx, log, NULL, r->progress_started, msg, sizeof msg);
    if (s) {
        r->rows_read = churn_txlog_rows_failed(log); /* how far the read got */
        read_failed(msg, s, r->progress_started);
        churn_txlog_free(log);
        return CLI_EXIT_FAIL;
    }
    r->rows_read = churn_txlog_rows_read(log);
    r->rejected = churn_txlog_rows_skipped(log);
    if (cli_time_out_of_range(log, 0, msg, sizeof msg)) {
        read_failed(msg, CHURN_ERANGE, r->progress_started);
        churn_txlog_free(log);
        return CLI_EXIT_FAIL;
    }
    report_skipped(log, r->rejected, r->rows_read, a->quiet, r->progress_started);
    atomic_store(&st.stage, 2);
    s = churn_customers_build(&r->t, log, &r->co);
    churn_txlog_free(log);
    if (!s)
        return CLI_EXIT_OK;
    if (s == CHURN_EINVAL && strstr(churn_last_error_message(), "'columns'"))
        return cli_fail(sub, "%s: the model's input columns: %s", a->model_path,
                        churn_last_error_message());
    return cli_lib_fail(sub, "building the customer table", s);
}

static const char *customer_id(const void *t, size_t i)
{
    return churn_customers_id(t, i);
}

static const double *joined_col(const char *sub_, const void *ud, const char *name)
{
    const score_run *r = ud;
    const double *v = cli_cov_join_col(&r->join, name);
    if (!v)
        cli_fail(sub_, "--covariates %s: no column '%s', a covariate of the model %s",
                 r->a->covariates, name, r->a->model_path);
    return v;
}

/* --covariates: the file joined to the customers, the model's covariates taken by name. */
static int join_covariates(score_run *r)
{
    size_t n = churn_customers_num_rows(r->t);
    if (cli_cov_join_read(sub, r->a->covariates, r->a->cov_id, NULL, 0, n, customer_id, r->t,
                          r->a->quiet, &r->join))
        return CLI_EXIT_FAIL;
    if (cli_cov_build(sub, n, r->cnames.trans, r->cnames.nt, r->cnames.life, r->cnames.nl,
                      joined_col, r, &r->cov))
        return CLI_EXIT_FAIL;
    r->j.cov = &r->cov;
    return CLI_EXIT_OK;
}

/* The scoring job: the models, the CLV settings and the columns the model reads. */
static int prepare_job(score_run *r)
{
    const score_args *a = r->a;
    job *j = &r->j;
    j->model = r->model;
    j->spend = r->spend;
    j->kind = r->kind;
    j->horizon = a->horizon;
    j->t = r->t;
    churn_clv_options_init(&j->clv);
    j->clv.horizon = (int)a->clv_periods;
    j->clv.period = a->period > 0 ? a->period : CHURN_UNIT_MONTH / r->unit;
    j->clv.discount = a->discount;
    j->clv.margin = a->margin;
    if (r->kind == KIND_BTYD) {
        j->freq = churn_customers_column(r->t, "frequency");
        j->rec = churn_customers_column(r->t, "recency");
        j->T = churn_customers_column(r->t, "T");
        j->mon = churn_customers_column(r->t, "monetary_value");
        if (!j->freq || !j->rec || !j->T || !j->mon)
            return cli_lib_fail(sub, "customer table", CHURN_ENOTFOUND);
        return a->covariates ? join_covariates(r) : CLI_EXIT_OK;
    }
    j->p = churn_model_num_features(r->model);
    r->feat = calloc(j->p ? j->p : 1, sizeof *r->feat);
    if (!r->feat)
        return cli_fail(sub, "out of memory");
    for (size_t k = 0; k < j->p; k++) {
        const char *name = churn_model_feature_name(r->model, k);
        if (!(r->feat[k] = churn_customers_column(r->t, name)))
            return cli_fail(sub, "%s: the model's feature '%s' is not a column of the customer "
                            "table (see 'churn features --help'; holdout columns are not "
                            "available when scoring)", a->model_path, name ? name : "?");
    }
    j->feat = r->feat;
    return CLI_EXIT_OK;
}

/* (3) the header for the model's kind, then every customer's scores. */
static int write_scores(score_run *r, size_t nrows)
{
    FILE *f = cli_open_out(sub, r->a->out);
    if (!f)
        return CLI_EXIT_FAIL;
    st.customers = nrows;
    st.t_score = now();
    atomic_store(&st.stage, 3);
    if (r->kind == KIND_BTYD) {
        fputs(r->spend ? "customer_id,frequency,recency,T,p_alive,p_churn,expected_purchases,"
                         "expected_spend,clv"
              : r->fam == CHURN_FAMILY_BGBB
                  ? "customer_id,frequency,recency,T,p_alive,p_churn,expected_purchases,"
                    "p_alive_through"
                  : "customer_id,frequency,recency,T,p_alive,p_churn,expected_purchases",
              f);
        for (int k = 0; k < r->j.niv; k++)
            fprintf(f, ",%s", iv_names[k]);
        fputc('\n', f);
    }
    else if (r->kind == KIND_LOGIT)
        fputs("customer_id,p_churn,linear_predictor\n", f);
    else
        fputs("customer_id,p_churn,survival,linear_predictor\n", f);
    cli_rejects rj;
    if (cli_rejects_open(sub, &rj, r->a->rejects)) {
        cli_abort_out(f);
        return CLI_EXIT_FAIL;
    }
    if (score_all(&r->j, nrows, (int)r->a->threads, f, &rj)) {
        cli_rejects_close(sub, &rj, nrows, 1, 0);
        cli_abort_out(f);
        return CLI_EXIT_FAIL;
    }
    r->unscorable = rj.n;
    if (nrows && rj.n == nrows) { /* not one customer: the model, not the data */
        cli_rejects_close(sub, &rj, nrows, 1, 0);
        cli_abort_out(f);
        r->unscorable = 0;
        return cli_fail(sub, "%s: no customer could be scored; %s", r->a->model_path,
                        rj.first);
    }
    int rc = cli_close_out(sub, f, r->a->out);
    int rc2 = cli_rejects_close(sub, &rj, nrows, r->a->quiet, rc == CLI_EXIT_OK);
    return rc ? rc : rc2;
}

/* Read and summarise the log, then score and write every customer. */
static int run_score(score_run *r)
{
    table_options(r);
    start_progress(r);
    atomic_store(&st.stage, 1);
    int rc = r->memory ? CLI_EXIT_OK : read_stream(r);
    if (!rc && r->memory)
        rc = read_memory(r);
    if (rc)
        return rc;
    r->excluded = churn_customers_num_excluded(r->t);
    size_t nrows = churn_customers_num_rows(r->t);
    sig_rows_read = r->rows_read;
    sig_rejected = r->rejected;
    sig_excluded = r->excluded;
    if ((rc = prepare_job(r)) || (rc = write_scores(r, nrows))) {
        if (rc == CLI_EXIT_PIPE) /* the rows written before the reader went away */
            r->scored = (size_t)atomic_load(&st.customers_done);
        return rc;
    }
    r->scored = nrows - r->unscorable;
    r->excluded += r->unscorable;
    return CLI_EXIT_OK;
}

int cmd_score(int argc, char **argv)
{
    st.t0 = now();
    score_args a = {.horizon = NAN, .interval = NAN, .discount = 0.01, .margin = 1.0, .threads = 1,
                    .clv_periods = 12, .chunk_rows = (long)CHUNK_ROWS};
    cli_tx_opts_init(&a.tx);
    a.tx.csv.allow_empty = 1; /* a day without transactions is a normal night: status=empty */
    churn_customer_options_init(&a.co);
    score_run r;
    memset(&r, 0, sizeof r);
    r.a = &a;
    cli_on_interrupt(summary_on_signal);
    int rc = cli_parse(&score_spec, sub, argc, argv, &a);
    if (rc == CLI_EXIT_OK)
        return rc;
    if (rc == CLI_CONTINUE && !(rc = check_args(&a)) && !(rc = load_models(&r)))
        rc = run_score(&r);
    stop_progress(&r);
    free(r.feat);
    cli_cov_set_free(&r.cov);
    cli_cov_join_free(&r.join);
    cli_cov_names_free(&r.cnames);
    churn_customers_free(r.t);
    churn_model_free(r.model);
    churn_model_free(r.spend);
    cli_on_interrupt(NULL); /* the summary below is the last line */
    summary(r.rows_read, r.rejected, r.scored, r.excluded, r.unscorable,
            rc == CLI_EXIT_OK      ? (r.rows_read == 0 ? "empty" : "ok")
            : rc == CLI_EXIT_USAGE ? "usage"
            : rc == CLI_EXIT_PIPE  ? "broken_pipe"
                                   : "error");
    return rc;
}
