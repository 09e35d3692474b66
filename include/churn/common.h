/**
 * @file churn/common.h
 * @brief Version numbers, status codes, error messages, the allocator hook
 *        and the option-struct conventions shared by every libchurn module.
 *
 * Conventions that hold for the whole library (see docs/abi.md):
 *  - Every function that can fail returns an `int` status: ::CHURN_OK (0) or
 *    one of the negative ::churn_status codes, whose values never change.
 *  - On failure a human-readable message naming the row, column or parameter
 *    at fault is stored per thread; read it with churn_last_error_message().
 *  - Constructors are `int churn_x_new(churn_x **out, ...)`; on failure
 *    `*out` is set to NULL. Every `churn_x_free(NULL)` is a no-op.
 *  - Inputs are borrowed for the duration of the call; outputs go into
 *    caller-provided buffers.
 *  - The library never prints, aborts or exits; it never calls nor replaces
 *    GSL's error handler (the host's, or GSL's default that aborts); it never
 *    changes the locale, signal dispositions, the environment or OpenBLAS's
 *    thread count; numbers in text it reads or writes (alert rules, CSV,
 *    model files, messages) use '.' whatever the locale (docs/abi.md, "What
 *    the library never does to its host").
 */
#ifndef CHURN_COMMON_H
#define CHURN_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32) && !defined(__GNUC__)
#  define CHURN_API_EXPORT __declspec(dllexport)
#else
#  define CHURN_API_EXPORT __attribute__((visibility("default")))
#endif

/** Marks a public, exported libchurn function. */
#define CHURN_API CHURN_API_EXPORT

#ifdef __cplusplus
extern "C" {
#endif

/** @name Compile-time version
 *  The version of the headers in use. Compare with churn_version_number()
 *  to detect a mismatch between headers and the loaded library.
 *  @since 1.0 */
/**@{*/
#define CHURN_VERSION_MAJOR 1
#define CHURN_VERSION_MINOR 0
#define CHURN_VERSION_PATCH 0
#define CHURN_VERSION_NUMBER \
    (CHURN_VERSION_MAJOR * 10000 + CHURN_VERSION_MINOR * 100 + CHURN_VERSION_PATCH)
#define CHURN_VERSION_STRING "1.0.0"
/**@}*/

/**
 * Status codes. 0 is success; every failure is negative. These values are
 * frozen: a code, once released, keeps its number forever and new codes are
 * only appended.
 * @since 1.0
 */
typedef enum churn_status {
    CHURN_OK = 0,              /**< success */
    CHURN_EINVAL = -1,         /**< invalid argument (NULL, NaN, negative count, bad size, ...) */
    CHURN_ENOMEM = -2,         /**< an allocation failed */
    CHURN_ENOTFITTED = -3,     /**< the model has no fitted parameters */
    CHURN_ENOCONV = -4,        /**< the optimiser did not converge; results are not reliable */
    CHURN_EUNSUPPORTED = -5,   /**< operation not defined for this model family or input */
    CHURN_EIO = -6,            /**< a file could not be opened, read or written */
    CHURN_EFORMAT = -7,        /**< malformed input: CSV field, date, JSON model file */
    CHURN_EFAMILY = -8,        /**< the model handle is of another family than the function needs */
    CHURN_ENUMERIC = -9,       /**< a numerical failure (overflow, singular matrix, non-finite value) */
    CHURN_EVERSION = -10,      /**< a model file of a newer, unknown format version */
    CHURN_ERANGE = -11,        /**< an index or size out of range, or a buffer too small */
    CHURN_ENOTFOUND = -12,     /**< a named column, parameter or customer does not exist */
    CHURN_ESEPARATION = -13,   /**< data perfectly separated: the MLE does not exist */
    CHURN_EUNIT = -14          /**< the time units of a model and of the data it meets differ,
                                    or one of them is unknown (@since 1.2) */
} churn_status;

/**
 * Runtime library version as `major*10000 + minor*100 + patch`.
 * Thread-safe; cannot fail.
 * @since 1.0
 */
CHURN_API int churn_version_number(void);

/**
 * Runtime library version as a static string such as "1.0.0".
 * The string is owned by the library and never freed. Thread-safe.
 * @since 1.0
 */
CHURN_API const char *churn_version_string(void);

/**
 * A static, never-NULL description of a status code ("invalid argument", ...).
 * Unknown codes give "unknown error". Thread-safe.
 * @param code  a ::churn_status value
 * @since 1.0
 */
CHURN_API const char *churn_strerror(int code);

/**
 * The message describing the last failure on the calling thread, naming the
 * row, column or parameter at fault ("row 17, column 'date': cannot parse
 * '2024-13-01' as a date"). Never NULL: "" when no error has occurred.
 * The string belongs to the thread and stays valid until the next libchurn
 * call on the same thread. Other threads never overwrite it.
 * @since 1.0
 */
CHURN_API const char *churn_last_error_message(void);

/**
 * The status code of the last failure on the calling thread (::CHURN_OK when
 * none). Thread-local, like churn_last_error_message().
 * @since 1.0
 */
CHURN_API int churn_last_error_code(void);

/**
 * Clear the calling thread's last error (code ::CHURN_OK, message "").
 * @since 1.0
 */
CHURN_API void churn_clear_error(void);

/**
 * A realloc-shaped allocator hook, in the style of Lua's `lua_Alloc`:
 *  - `nsize > 0`: (re)allocate `ptr` (NULL for a fresh block) to `nsize`
 *    bytes and return the block, or NULL on failure (leaving `ptr` intact);
 *  - `nsize == 0`: free `ptr` (which may be NULL) and return NULL.
 * @since 1.0
 */
typedef void *(*churn_alloc_fn)(void *user_data, void *ptr, size_t nsize);

/**
 * Replace the allocator used for every block libchurn allocates itself.
 * Pass NULL to restore the default (the C library's realloc/free).
 *
 * Must be called before any libchurn object exists and while no other thread
 * is inside libchurn: objects allocated with one allocator are freed with the
 * allocator in force at that time. Allocations inside OpenBLAS, jansson and
 * zlib do not go through the hook (see docs/reliability.md).
 *
 * @param fn         the allocator, or NULL for the default
 * @param user_data  passed unchanged to every call of `fn`
 * @return ::CHURN_OK
 * @since 1.0
 */
CHURN_API int churn_set_allocator(churn_alloc_fn fn, void *user_data);

/**
 * Size-versioned option structs.
 *
 * Every option struct starts with `size_t struct_size`, which the caller sets
 * to `sizeof` the struct as its headers know it (the `_INIT` macros and
 * `_init()` functions do this). The library accepts an older, shorter struct
 * (missing tail fields take their defaults) and a newer, longer one only when
 * the unknown tail is all zero bytes. Passing NULL means "all defaults".
 * Option structs only hold `double`, `int`, `size_t`, fixed-width integers,
 * enums-as-`int` and borrowed `const char *` strings, so they are simple to
 * mirror from ctypes or Lua.
 */

/** Time units for features and models, in days. A custom unit is any positive
 *  number of days. @since 1.0 */
#define CHURN_UNIT_DAY 1.0
#define CHURN_UNIT_WEEK 7.0
/** A month as 365.25/12 days. */
#define CHURN_UNIT_MONTH 30.4375
#define CHURN_UNIT_YEAR 365.25
/** A quarter as 365.25/4 days (the nominal length of CHURN_PERIOD_QUARTER).
 *  @since 1.2 */
#define CHURN_UNIT_QUARTER 91.3125

#ifdef __cplusplus
}
#endif

#endif /* CHURN_COMMON_H */
