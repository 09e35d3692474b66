/*
 * Private declarations shared between libchurn's source files.
 * Nothing here is exported: names start with churn__ and have hidden visibility.
 */
#ifndef CHURN_INTERNAL_H
#define CHURN_INTERNAL_H

#include "churn.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CHURN__HIDDEN __attribute__((visibility("hidden")))
#define CHURN__PRINTF(a, b) __attribute__((format(printf, a, b)))

/* An x86-64-v3 clone (AVX2 and FMA, multiply-adds fused: fp-contract=fast, which
 * -std=c11 otherwise turns off) beside the default code of a hot loop (GCC function
 * multi-versioning: an ifunc, resolved when the library is loaded). The two agree to a
 * few units in the last place, not bit for bit. On the issue-22 bench (AMD EPYC) the
 * fused clone made the BG/NBD fit 1.15x and the Pareto/NBD tails' series 1.1x faster
 * than the AVX2 clone without it. Left out under ThreadSanitizer: its
 * instrumented resolver runs in the dynamic loader before the TSan runtime is up and
 * the process dies there (GCC 12, seen on Linux 6.18), so the TSan build runs the
 * default code. */
#if defined(__x86_64__) && defined(__ELF__) && !defined(__clang__) && \
    !defined(__SANITIZE_THREAD__)
#define CHURN_AVX2_CLONES __attribute__((target_clones("arch=x86-64-v3", "default"), optimize("fp-contract=fast")))
#else
#define CHURN_AVX2_CLONES
#endif

/* ---- allocation: every block goes through the allocator hook ---------- */
CHURN__HIDDEN void *churn__malloc(size_t n);
CHURN__HIDDEN void *churn__calloc(size_t count, size_t size);
CHURN__HIDDEN void *churn__realloc(void *p, size_t n);
CHURN__HIDDEN void churn__free(void *p);
CHURN__HIDDEN char *churn__strdup(const char *s);
/* count*size with overflow check; returns 0 on overflow (callers treat as ENOMEM). */
CHURN__HIDDEN size_t churn__mul_size(size_t count, size_t size);
/* Hint that a large block about to be filled should be backed by transparent
 * huge pages (Linux madvise MADV_HUGEPAGE on its 2 MiB-aligned interior; blocks
 * under 4 MiB, NULL, and other systems: nothing). With 4 KiB pages, first-touch
 * page faults and TLB misses dominate filling 10^8-byte columns. Purely
 * advisory: contents are unchanged and a refusal is ignored. */
CHURN__HIDDEN void churn__advise_huge(void *p, size_t bytes);

/* ---- errors ------------------------------------------------------------ */
/* Record a failure for the calling thread and return `code` (so callers can
 * write `return churn__error(CHURN_EINVAL, "...", ...)`). */
CHURN__HIDDEN int churn__error(int code, const char *fmt, ...) CHURN__PRINTF(2, 3);
/* The same with a plain "out of memory" message naming what was being built. */
CHURN__HIDDEN int churn__nomem(const char *what);
/* Reset the calling thread's error at the start of a public call. */
CHURN__HIDDEN void churn__ok(void);

/* ---- numbers in text: always the C locale (common.c) ------------------------- */
/* strtod in the "C" locale (decimal point '.'), whatever the host's locale;
 * *end = s when the C locale object cannot be had. */
CHURN__HIDDEN double churn__strtod_c(const char *s, char **end);
/* vsnprintf / snprintf in the "C" locale: the calling thread's locale is
 * switched with uselocale() for the call and restored (never the process's). */
CHURN__HIDDEN int churn__vsnprintf_c(char *buf, size_t cap, const char *fmt, va_list ap);
CHURN__HIDDEN int churn__snprintf_c(char *buf, size_t cap, const char *fmt, ...)
    CHURN__PRINTF(3, 4);

/* ---- GSL --------------------------------------------------------------- */
/* The library never touches GSL's error handler (the host's, or GSL's default
 * that aborts): every GSL call is made only with arguments for which GSL
 * reports no error, checked before the call (the wrappers of special.h), or
 * replaced by our own routine. See docs/abi.md, "What the library never does
 * to its host". */

/* ---- small dense linear algebra (linalg.c) ------------------------------- */
/* In-place Cholesky factor a = L L^T of a symmetric k x k row-major matrix:
 * the lower triangle is overwritten with L, the upper one left as it was.
 * Returns -1 (a partly overwritten) when a pivot is not finite or not above
 * rel_tol times its diagonal entry: 0 asks for positive definiteness, R's
 * toler.chol (eps^0.75) also refuses nearly singular matrices. */
CHURN__HIDDEN int churn__chol(double *a, size_t k, double rel_tol);
/* Solve L L^T y = b in place, L from churn__chol. */
CHURN__HIDDEN void churn__chol_solve(const double *L, double *b, size_t k);

/* ---- size-versioned option structs ------------------------------------- */
/* `dst` holds our defaults and is `dst_size` bytes (our sizeof). `src` is the
 * caller's struct or NULL. Copies the overlapping prefix; rejects a struct_size
 * smaller than sizeof(size_t) and a longer struct whose unknown tail is not
 * all zero. `what` names the struct in the error message. */
CHURN__HIDDEN int churn__opts_copy(void *dst, size_t dst_size, const void *src, const char *what);

/* ---- small numeric helpers ---------------------------------------------- */
static inline int churn__finite(double x) { return isfinite(x); }

/* ---- the model handle, shared by every family --------------------------- */
typedef struct churn__array {
    char *name;
    size_t len;
    double *data;
} churn__array;

struct churn_model {
    int family;              /* CHURN_FAMILY_* */
    size_t nparams;
    char **param_names;      /* nparams strings */
    double *params;          /* natural-scale estimates */
    double *se;              /* standard errors (NaN where not available) */
    double *cov;             /* nparams*nparams row-major covariance, or NULL */
    double loglik;           /* final log-likelihood (NaN if not applicable) */
    double nobs;             /* number of (weighted) observations used */
    int converged;           /* 1 converged, 0 not */
    int iterations;
    double time_unit;        /* time unit in days the model was fitted in (0 = unknown) */
    size_t nfeatures;        /* covariate names for regression families */
    char **feature_names;
    size_t narrays;          /* named family-specific arrays (baseline hazard, scaling, ...) */
    churn__array *arrays;
    char *note;              /* free text from the fit (dropped columns, warnings), or NULL */
};

/* Allocate a model of `family` with `nparams` named parameters (names copied).
 * params/se set to NaN, cov NULL, loglik NaN. */
CHURN__HIDDEN int churn__model_new(churn_model **out, int family, size_t nparams,
                                   const char *const *names);
/* Copy `len` doubles under `name` (replacing an array of the same name). */
CHURN__HIDDEN int churn__model_set_array(churn_model *m, const char *name,
                                         const double *data, size_t len);
/* Borrow a named array; NULL (and *len 0) when absent. */
CHURN__HIDDEN const double *churn__model_array(const churn_model *m, const char *name, size_t *len);
/* Copy covariate names. */
CHURN__HIDDEN int churn__model_set_features(churn_model *m, const char *const *names, size_t k);
/* Allocate and fill cov (row-major nparams^2) and se = sqrt(diag). */
CHURN__HIDDEN int churn__model_set_cov(churn_model *m, const double *cov);
/* Replace the note (copied). */
CHURN__HIDDEN int churn__model_set_note(churn_model *m, const char *note);
/* Fail with CHURN_EFAMILY unless m->family is one of the `n` listed families;
 * `fn` names the calling function for the message. */
CHURN__HIDDEN int churn__model_check(const churn_model *m, const char *fn, int n, ...);
/* The same for a function with several model arguments: the message names
 * the argument `arg` and the families it accepts. */
CHURN__HIDDEN int churn__model_check_arg(const churn_model *m, const char *fn, const char *arg,
                                         int n, ...);

#endif
