/*
 * The clocks of the C benches: seconds on a POSIX clock as a double.
 * CLOCK_MONOTONIC for wall time, CLOCK_PROCESS_CPUTIME_ID (all threads) or
 * CLOCK_THREAD_CPUTIME_ID (this thread) for CPU time; the benches report CPU
 * ratios because the machines they run on are shared.
 */
#ifndef CHURN_BENCH_CLOCK_H
#define CHURN_BENCH_CLOCK_H

#include <time.h>

static inline double bench_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Wall-clock seconds and the whole process's CPU seconds. */
static inline double bench_wall(void) { return bench_clock(CLOCK_MONOTONIC); }
static inline double bench_cpu(void) { return bench_clock(CLOCK_PROCESS_CPUTIME_ID); }

#endif
