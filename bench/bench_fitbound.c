/*
 * Bounded fits (issue 19, item 5): `churn fit bgnbd|mbgnbd|pnbd` on the
 * hostile tables of the issue (1,000 customers, x uniform on 0..6, t_x
 * uniform on [0, T], 0 when x = 0; T = 52 or uniform on [1, 52]) and
 * `churn predict` of 1,000 customers with a BG/NBD model whose a and b ran off
 * together (a = 3.3e8, b = 1.4e9), each run as a child process of this build's
 * `churn` and, side by side, of a baseline `churn` built from the branch
 * before the change. Child CPU time comes from wait4()'s rusage (user +
 * system); the baseline runs under a CPU limit (RLIMIT_CPU, default 120 s)
 * because its Pareto/NBD fits did not end in 7 minutes.
 *
 * usage: bench_fitbound NEW_CHURN [BASELINE_CHURN]
 * env:   BENCH_FITBOUND_SEEDS (default 3), BENCH_FITBOUND_LIMIT (seconds, default 120),
 *        BENCH_FITBOUND_DIR (scratch folder, default /tmp)
 *
 * Build the baseline from the branch point in its own build dir, e.g.
 *   git worktree add /tmp/base <commit> && meson setup /tmp/base/build /tmp/base &&
 *   ninja -C /tmp/base/build bindings/cli/churn
 * Without a baseline only this build is measured.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double rng_unif(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

/* The same tables as tests/test_fitbound.c, with a time_unit_days column. */
static int write_table(const char *path, uint64_t seed, int fixed_T)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "customer_id,frequency,recency,T,time_unit_days\n");
    uint64_t s = seed;
    for (int i = 0; i < 1000; i++) {
        double x = (double)(rng_next(&s) % 7);
        double T = fixed_T ? 52.0 : 1.0 + 51.0 * rng_unif(&s);
        double tx = x == 0 ? 0.0 : T * rng_unif(&s);
        fprintf(f, "c%d,%.0f,%.17g,%.17g,7\n", i, x, tx, T);
    }
    return fclose(f);
}

typedef struct run {
    double cpu;   /* child user + system seconds */
    int status;   /* exit status, or -signal */
} run;

/* Run argv with stdout and stderr to /dev/null under a CPU limit. */
static run run_child(char *const argv[], double limit)
{
    run r = {0, -999};
    pid_t pid = fork();
    if (pid < 0)
        return r;
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        struct rlimit rl = {(rlim_t)limit, (rlim_t)limit + 1};
        setrlimit(RLIMIT_CPU, &rl);
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    struct rusage ru;
    while (wait4(pid, &st, 0, &ru) < 0 && errno == EINTR) {
    }
    r.cpu = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
            (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
    return r;
}

/* A run killed by the CPU limit (SIGXCPU, or SIGKILL at the hard limit) shows as ">".
 * The rusage CPU of such a run can read a few seconds under the limit. */
static void print_time(const run *r, double limit)
{
    if (r->status == -SIGXCPU || r->status == -SIGKILL)
        printf("   >%6.0fs", limit);
    else
        printf(" %9.3fs", r->cpu);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_fitbound NEW_CHURN [BASELINE_CHURN]\n");
        return 2;
    }
    const char *exe[2] = {argv[1], argc > 2 ? argv[2] : NULL};
    int seeds = getenv("BENCH_FITBOUND_SEEDS") ? atoi(getenv("BENCH_FITBOUND_SEEDS")) : 3;
    double limit = getenv("BENCH_FITBOUND_LIMIT") ? atof(getenv("BENCH_FITBOUND_LIMIT")) : 120;
    const char *dir = getenv("BENCH_FITBOUND_DIR") ? getenv("BENCH_FITBOUND_DIR") : "/tmp";
    char table[512], model[512];
    snprintf(model, sizeof model, "%s/bench_fitbound_%d_model.json", dir, (int)getpid());
    printf("CPU seconds of one `churn` run (user + system), 1,000 customers; baseline under a "
           "%.0f s CPU limit\n", limit);
    printf("%-34s %11s %11s %9s  %s\n", "run", "this build", "baseline", "ratio", "exit (new/base)");
    double tot[2] = {0, 0};
    int capped = 0;
    for (int fixed = 1; fixed >= 0; fixed--)
        for (int seed = 1; seed <= seeds; seed++) {
            snprintf(table, sizeof table, "%s/bench_fitbound_%d_%d_%d.csv", dir, (int)getpid(),
                     seed, fixed);
            if (write_table(table, (uint64_t)seed, fixed) != 0) {
                fprintf(stderr, "bench_fitbound: cannot write %s\n", table);
                return 1;
            }
            static const char *fams[] = {"bgnbd", "mbgnbd", "pnbd"};
            for (int f = 0; f < 3; f++) {
                run r[2] = {{0, -999}, {0, -999}};
                for (int b = 0; b < 2 && exe[b]; b++) {
                    char *args[] = {(char *)exe[b], "fit", (char *)fams[f], table, NULL};
                    r[b] = run_child(args, limit);
                    tot[b] += r[b].cpu;
                    if (b == 1 && r[b].status < 0)
                        capped++;
                }
                char name[64];
                snprintf(name, sizeof name, "fit %s, seed %d, T %s", fams[f], seed,
                         fixed ? "= 52" : "uniform");
                printf("%-34s", name);
                print_time(&r[0], 1e300);
                if (exe[1]) {
                    print_time(&r[1], limit);
                    printf(" %8.0fx  %d/%d", r[1].cpu / (r[0].cpu > 1e-3 ? r[0].cpu : 1e-3),
                           r[0].status, r[1].status);
                }
                printf("\n");
                fflush(stdout);
            }
            remove(table);
        }
    printf("%-34s %10.3fs", "all fits", tot[0]);
    if (exe[1])
        printf(" %10.3fs %8.0fx  (%d baseline runs stopped by the limit: the ratio is a lower "
               "bound)", tot[1], tot[1] / tot[0], capped);
    printf("\n");

    /* scoring with the ridge model: the fit of seed 1, T = 52 by the old optimiser */
    FILE *mf = fopen(model, "w");
    if (!mf)
        return 1;
    fprintf(mf, "{\"format\": \"libchurn-model\", \"format_version\": 1, \"library_version\": "
                "\"1.0.0\", \"family\": \"bgnbd\", \"time_unit_days\": 7.0, \"param_names\": "
                "[\"r\", \"alpha\", \"a\", \"b\"], \"params\": [0.661395, 3.40193, 328467000.0, "
                "1434240000.0], \"std_errors\": [null, null, null, null], \"covariance\": null, "
                "\"fit\": {\"loglik\": null, \"nobs\": 1000.0, \"converged\": false, "
                "\"iterations\": 0}}\n");
    fclose(mf);
    snprintf(table, sizeof table, "%s/bench_fitbound_%d_score.csv", dir, (int)getpid());
    write_table(table, 1, 1);
    run r[2] = {{0, -999}, {0, -999}};
    for (int b = 0; b < 2 && exe[b]; b++) {
        char *args[] = {(char *)exe[b], "predict", model, table, "--horizon", "52", NULL};
        r[b] = run_child(args, limit);
    }
    printf("%-34s", "predict, a = 3.3e8, b = 1.4e9");
    print_time(&r[0], 1e300);
    if (exe[1]) {
        print_time(&r[1], limit);
        printf(" %8.0fx  %d/%d", r[1].cpu / (r[0].cpu > 1e-3 ? r[0].cpu : 1e-3), r[0].status,
               r[1].status);
    }
    printf("\n");
    remove(table);
    remove(model);
    return 0;
}
