/*
 * Version, status codes, per-thread error messages, the allocator hook,
 * option-struct handling and the C locale for numbers in text.
 */
#define _GNU_SOURCE /* strtod_l, newlocale, uselocale */
#include "core/internal.h"

#include <locale.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

/* ---- version ------------------------------------------------------------ */

CHURN_API int churn_version_number(void) { return CHURN_VERSION_NUMBER; }

CHURN_API const char *churn_version_string(void) { return CHURN_VERSION_STRING; }

/* ---- status codes ------------------------------------------------------- */

CHURN_API const char *churn_strerror(int code)
{
    switch (code) {
    case CHURN_OK: return "success";
    case CHURN_EINVAL: return "invalid argument";
    case CHURN_ENOMEM: return "out of memory";
    case CHURN_ENOTFITTED: return "model not fitted";
    case CHURN_ENOCONV: return "did not converge";
    case CHURN_EUNSUPPORTED: return "unsupported operation";
    case CHURN_EIO: return "input/output error";
    case CHURN_EFORMAT: return "malformed input";
    case CHURN_EFAMILY: return "wrong model family";
    case CHURN_ENUMERIC: return "numerical failure";
    case CHURN_EVERSION: return "unsupported format version";
    case CHURN_ERANGE: return "out of range";
    case CHURN_ENOTFOUND: return "not found";
    case CHURN_ESEPARATION: return "perfect separation";
    case CHURN_EUNIT: return "time units differ";
    default: return "unknown error";
    }
}

/* ---- per-thread last error ---------------------------------------------- */

/* A fixed buffer per thread: no allocation, so reporting ENOMEM never fails. */
static _Thread_local char tl_message[512];
static _Thread_local int tl_code;

CHURN_API const char *churn_last_error_message(void) { return tl_message; }

CHURN_API int churn_last_error_code(void) { return tl_code; }

CHURN_API void churn_clear_error(void)
{
    tl_code = CHURN_OK;
    tl_message[0] = '\0';
}

void churn__ok(void) { churn_clear_error(); }

int churn__error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    churn__vsnprintf_c(tl_message, sizeof tl_message, fmt, ap);
    va_end(ap);
    tl_code = code;
    return code;
}

int churn__nomem(const char *what)
{
    return churn__error(CHURN_ENOMEM, "out of memory while allocating %s", what);
}

/* ---- allocator hook ------------------------------------------------------ */

static void *default_alloc(void *ud, void *ptr, size_t nsize)
{
    (void)ud;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, nsize);
}

static churn_alloc_fn g_alloc = default_alloc;
static void *g_alloc_ud;

CHURN_API int churn_set_allocator(churn_alloc_fn fn, void *user_data)
{
    g_alloc = fn ? fn : default_alloc;
    g_alloc_ud = fn ? user_data : NULL;
    return CHURN_OK;
}

size_t churn__mul_size(size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        return 0;
    return count * size;
}

void churn__advise_huge(void *p, size_t bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)2 << 20;
    if (!p || bytes < 2 * huge)
        return;
    uintptr_t start = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t end = ((uintptr_t)p + bytes) & ~(huge - 1);
    if (end > start)
        (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

void *churn__malloc(size_t n) { return g_alloc(g_alloc_ud, NULL, n ? n : 1); }

void *churn__calloc(size_t count, size_t size)
{
    size_t n = churn__mul_size(count, size);
    if (n == 0 && count != 0 && size != 0)
        return NULL;
    void *p = churn__malloc(n);
    if (p)
        memset(p, 0, n ? n : 1);
    return p;
}

void *churn__realloc(void *p, size_t n) { return g_alloc(g_alloc_ud, p, n ? n : 1); }

void churn__free(void *p)
{
    if (p)
        g_alloc(g_alloc_ud, p, 0);
}

char *churn__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = churn__malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* ---- the C locale for numbers in text ---------------------------------------- */

/* One "C" locale object for the process, created once (glibc returns its
 * static C locale object, so this allocates nothing). The host's locale,
 * process-wide or per thread, is never changed: strtod_l takes the object as
 * an argument, and formatting switches only the calling thread's locale with
 * uselocale() for the duration of one vsnprintf. */
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale;

static void c_locale_init(void) { c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

static locale_t get_c_locale(void)
{
    pthread_once(&c_locale_once, c_locale_init);
    return c_locale;
}

double churn__strtod_c(const char *s, char **end)
{
    locale_t c = get_c_locale();
    if (c == (locale_t)0) {
        if (end)
            *end = (char *)s;
        return 0.0;
    }
    return strtod_l(s, end, c);
}

int churn__vsnprintf_c(char *buf, size_t cap, const char *fmt, va_list ap)
{
    locale_t c = get_c_locale(), old = (locale_t)0;
    if (c != (locale_t)0)
        old = uselocale(c);
    int n = vsnprintf(buf, cap, fmt, ap);
    if (c != (locale_t)0 && old != (locale_t)0)
        uselocale(old);
    return n;
}

int churn__snprintf_c(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = churn__vsnprintf_c(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}

/* ---- option structs ------------------------------------------------------- */

int churn__opts_copy(void *dst, size_t dst_size, const void *src, const char *what)
{
    if (!src)
        return CHURN_OK;
    size_t user_size;
    memcpy(&user_size, src, sizeof user_size);
    if (user_size < sizeof(size_t))
        return churn__error(CHURN_EINVAL,
                            "%s: struct_size %zu is too small (use the _INIT macro or _init())",
                            what, user_size);
    if (user_size > dst_size) {
        const unsigned char *tail = (const unsigned char *)src + dst_size;
        for (size_t i = 0; i < user_size - dst_size; i++)
            if (tail[i])
                return churn__error(CHURN_EINVAL,
                                    "%s: struct_size %zu is larger than this library's %zu and "
                                    "the unknown fields are set (newer headers than library?)",
                                    what, user_size, dst_size);
    }
    size_t n = user_size < dst_size ? user_size : dst_size;
    memcpy((char *)dst + sizeof(size_t), (const char *)src + sizeof(size_t), n - sizeof(size_t));
    /* keep our own size so that later code sees a full struct */
    memcpy(dst, &dst_size, sizeof dst_size);
    return CHURN_OK;
}
