/*
 * CSV reader for transaction logs, and the date parser/formatter.
 *
 * Design (speed matters: this reads multi-gigabyte order exports):
 *  - input arrives in large blocks (1 MiB and up) through zlib's gzread, which
 *    decompresses gzip files and passes plain files through unchanged; a
 *    memory buffer is parsed in place;
 *  - one pass over the bytes splits a record into fields with a per-reader
 *    byte-class table; only the columns we need are remembered;
 *  - numbers take an exact fast path (Clinger's: an integer mantissa below
 *    2^53 times or divided by an exact power of ten <= 1e22 gives the
 *    correctly rounded double in one IEEE operation) and fall back to
 *    strtod_l in the C locale for everything else;
 *  - dates are parsed by hand and converted with days-from-civil arithmetic
 *    (no mktime/timegm, no locale, no time zone database);
 *  - customer ids are interned through a per-call cache that keeps short ids
 *    inline, so the common lookup touches one cache line.
 *
 * Thread-safety: no mutable global state; the only shared object is the C
 * locale used by the strtod_l fallback, created once with pthread_once.
 */
#define _GNU_SOURCE /* strtod_l, newlocale, GNU strerror_r */
#include "core/internal.h"
#include "data/txlog_internal.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define BLOCK_SIZE ((size_t)1 << 20)
/* A quoted field that has crossed a line break must close within this many
 * bytes; otherwise the opening quote is reported as unterminated and reading
 * resumes on the next line (instead of swallowing the rest of the file). */
#define MAX_QUOTED_SPAN ((size_t)1 << 20)
#define MAX_COLUMN_POSITION 100000

enum { ROLE_ID, ROLE_TIME, ROLE_AMOUNT, ROLE_QUANTITY, ROLE_PRODUCT, NROLES };
static const char *const role_option[NROLES] = {"id_column", "time_column", "amount_column",
                                                "quantity_column", "product_column"};
static const char *const role_default[NROLES] = {"customer_id", "date", "amount", NULL, NULL};

/* ---- the C locale for strtod_l ------------------------------------------- */

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale;

static void c_locale_init(void) { c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

/* ---- numbers -------------------------------------------------------------- */

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

enum { NUM_OK = 0, NUM_SYNTAX, NUM_NONFINITE, NUM_RANGE, NUM_EMPTY, NUM_NOMEM };

static int ascii_ieq(const char *s, size_t n, const char *word)
{
    size_t k = strlen(word);
    if (n != k)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != word[i])
            return 0;
    }
    return 1;
}

static int is_nonfinite_word(const char *s, size_t n)
{
    if (n && (*s == '+' || *s == '-')) {
        s++;
        n--;
    }
    return ascii_ieq(s, n, "nan") || ascii_ieq(s, n, "inf") || ascii_ieq(s, n, "infinity");
}

/* Parse a decimal number [+-]digits[.digits][(e|E)[+-]digits] that spans
 * exactly s[0..n). The result equals strtod's correctly rounded value. */
static int parse_number(const char *s, size_t n, double *out)
{
    const char *p = s, *e = s + n;
    if (n == 0)
        return NUM_EMPTY;
    int neg = 0;
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }
    uint64_t w = 0;
    int sig = 0;     /* significant digits accumulated in w */
    int ndigits = 0; /* all mantissa digits seen */
    int exp10 = 0;
    int exact = 1;   /* w holds every significant digit */
    while (p < e && (unsigned)(*p - '0') < 10) {
        unsigned d = (unsigned)(*p - '0');
        if (sig < 19) {
            w = w * 10 + d;
            sig += (w != 0);
        } else {
            exact = 0;
        }
        ndigits++;
        p++;
    }
    if (p < e && *p == '.') {
        p++;
        while (p < e && (unsigned)(*p - '0') < 10) {
            unsigned d = (unsigned)(*p - '0');
            if (sig < 19) {
                w = w * 10 + d;
                sig += (w != 0);
                exp10--;
            } else {
                exact = 0;
            }
            ndigits++;
            p++;
        }
    }
    if (ndigits == 0)
        return is_nonfinite_word(s, n) ? NUM_NONFINITE : NUM_SYNTAX;
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        int eneg = 0;
        if (p < e && (*p == '-' || *p == '+')) {
            eneg = *p == '-';
            p++;
        }
        if (p >= e || (unsigned)(*p - '0') >= 10)
            return NUM_SYNTAX;
        int ex = 0;
        while (p < e && (unsigned)(*p - '0') < 10) {
            if (ex < 100000)
                ex = ex * 10 + (*p - '0');
            p++;
        }
        exp10 += eneg ? -ex : ex;
    }
    if (p != e)
        return NUM_SYNTAX;
    if (w == 0 && exact) {
        *out = neg ? -0.0 : 0.0;
        return NUM_OK;
    }
    /* Clinger's fast path: both operands exact, one correctly rounded operation. */
    if (exact && w <= ((uint64_t)1 << 53) && exp10 >= -22 && exp10 <= 22) {
        double v = (double)w;
        v = exp10 < 0 ? v / pow10_exact[-exp10] : v * pow10_exact[exp10];
        *out = neg ? -v : v;
        return NUM_OK;
    }
    /* Everything else: strtod in the C locale on a NUL-terminated copy (the
     * syntax was checked above, so strtod consumes all of it). */
    pthread_once(&c_locale_once, c_locale_init);
    if (c_locale == (locale_t)0)
        return NUM_NOMEM;
    char small[128];
    char *copy = n < sizeof small ? small : churn__malloc(n + 1);
    if (!copy)
        return NUM_NOMEM;
    memcpy(copy, s, n);
    copy[n] = '\0';
    char *end;
    double v = strtod_l(copy, &end, c_locale);
    int ok = end == copy + n;
    if (copy != small)
        churn__free(copy);
    if (!ok)
        return NUM_SYNTAX;
    if (!isfinite(v))
        return NUM_RANGE;
    *out = v;
    return NUM_OK;
}

/* ---- dates ---------------------------------------------------------------- */

static int is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int days_in_month(int64_t y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date. Counting years from
 * March 1 puts the leap day last, so the day of the year is a linear function
 * of the month (153 days per 5 months) and whole 400-year eras of 146097 days
 * handle the century rules. After H. Hinnant, "chrono-Compatible Low-Level
 * Date Algorithms" (days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                  /* [0, 399] */
    int64_t mp = (m + 9) % 12;                                    /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5 + d - 1;                     /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;          /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil (same reference, civil_from_days). */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                                       /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                     /* [0, 11] */
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int digits(const char *s, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d >= 10)
            return 0;
        x = x * 10 + (int)d;
    }
    *v = x;
    return 1;
}

static const char *const month_names[12] = {"January", "February", "March",     "April",
                                            "May",     "June",     "July",      "August",
                                            "September", "October", "November", "December"};

static int check_ymd(int y, int m, int d, char *why, size_t whycap)
{
    if (m < 1 || m > 12) {
        snprintf(why, whycap, "month %d is not in 1..12", m);
        return 0;
    }
    if (d < 1 || d > days_in_month(y, m)) {
        snprintf(why, whycap, "day %d does not exist in %s %04d", d, month_names[m - 1], y);
        return 0;
    }
    return 1;
}

static int parse_iso(const char *s, size_t n, double *out, char *why, size_t whycap)
{
    int y, m, d;
    if (n < 10 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &m) || s[7] != '-' ||
        !digits(s + 8, 2, &d)) {
        snprintf(why, whycap, "expected YYYY-MM-DD");
        return 0;
    }
    if (!check_ymd(y, m, d, why, whycap))
        return 0;
    double t = (double)days_from_civil(y, m, d) * 86400.0;
    if (n == 10) {
        *out = t;
        return 1;
    }
    /* [T ]HH:MM[:SS[.fff]][Z|±HH[:MM]] */
    const char *p = s + 10, *e = s + n;
    int hh, mi, ss = 0;
    if (!(*p == 'T' || *p == 't' || *p == ' ') || e - p < 6 || !digits(p + 1, 2, &hh) ||
        p[3] != ':' || !digits(p + 4, 2, &mi)) {
        snprintf(why, whycap, "expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]");
        return 0;
    }
    p += 6;
    double frac = 0;
    if (p < e && *p == ':') {
        if (e - p < 3 || !digits(p + 1, 2, &ss)) {
            snprintf(why, whycap, "expected seconds as :SS");
            return 0;
        }
        p += 3;
        if (p < e && (*p == '.' || *p == ',')) {
            p++;
            const char *f0 = p;
            uint64_t num = 0, den = 1;
            while (p < e && (unsigned)(*p - '0') < 10) {
                if (den < 1000000000000000000ULL) {
                    num = num * 10 + (uint64_t)(*p - '0');
                    den *= 10;
                }
                p++;
            }
            if (p == f0) {
                snprintf(why, whycap, "expected digits after the decimal point of the seconds");
                return 0;
            }
            frac = (double)num / (double)den;
        }
    }
    if (hh > 23 || mi > 59 || ss > 59) {
        snprintf(why, whycap, "time of day %02d:%02d:%02d is out of range", hh, mi, ss);
        return 0;
    }
    int offset = 0;
    if (p < e) {
        if ((*p == 'Z' || *p == 'z') && p + 1 == e) {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p == '-' ? -1 : 1, oh, om = 0;
            p++;
            if (e - p < 2 || !digits(p, 2, &oh)) {
                snprintf(why, whycap, "expected a UTC offset as +HH:MM");
                return 0;
            }
            p += 2;
            if (p < e && *p == ':')
                p++;
            if (p < e) {
                if (e - p != 2 || !digits(p, 2, &om)) {
                    snprintf(why, whycap, "expected a UTC offset as +HH:MM");
                    return 0;
                }
                p += 2;
            }
            if (oh > 23 || om > 59) {
                snprintf(why, whycap, "UTC offset out of range");
                return 0;
            }
            offset = sign * (oh * 3600 + om * 60);
        }
        if (p != e) {
            snprintf(why, whycap, "unexpected text after the time");
            return 0;
        }
    }
    /* An offset +HH:MM means local time = UTC + offset, so UTC = local - offset. */
    *out = t + (double)(hh * 3600 + mi * 60 + ss - offset) + frac;
    return 1;
}

static int parse_yyyymmdd(const char *s, size_t n, double *out, char *why, size_t whycap)
{
    int y, m, d;
    if (n != 8 || !digits(s, 4, &y) || !digits(s + 4, 2, &m) || !digits(s + 6, 2, &d)) {
        snprintf(why, whycap, "expected 8 digits YYYYMMDD");
        return 0;
    }
    if (!check_ymd(y, m, d, why, whycap))
        return 0;
    *out = (double)days_from_civil(y, m, d) * 86400.0;
    return 1;
}

static int parse_epoch(const char *s, size_t n, double *out, char *why, size_t whycap)
{
    double v;
    int rc = parse_number(s, n, &v);
    if (rc == NUM_OK) {
        *out = v;
        return 1;
    }
    if (rc == NUM_NOMEM)
        snprintf(why, whycap, "out of memory");
    else if (rc == NUM_NONFINITE || rc == NUM_RANGE)
        snprintf(why, whycap, "not a finite number of seconds");
    else
        snprintf(why, whycap, "expected seconds since 1970-01-01");
    return 0;
}

/* Parse a date field; on failure write the reason into why. */
static int parse_date_impl(const char *s, size_t n, int format, double *out, char *why,
                           size_t whycap)
{
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0) {
        snprintf(why, whycap, "empty date");
        return 0;
    }
    switch (format) {
    case CHURN_DATE_ISO:
        return parse_iso(s, n, out, why, whycap);
    case CHURN_DATE_YYYYMMDD:
        return parse_yyyymmdd(s, n, out, why, whycap);
    case CHURN_DATE_EPOCH:
        return parse_epoch(s, n, out, why, whycap);
    default:
        /* AUTO: a '-' after four digits means ISO; exactly eight digits are
         * YYYYMMDD (epoch seconds of 8 digits would be 1970-1973); any other
         * number is epoch seconds. */
        if (n >= 10 && s[4] == '-')
            return parse_iso(s, n, out, why, whycap);
        if (n == 8) {
            int all = 1;
            for (size_t i = 0; i < 8; i++)
                all &= (unsigned)(s[i] - '0') < 10;
            if (all)
                return parse_yyyymmdd(s, n, out, why, whycap);
        }
        if (parse_epoch(s, n, out, why, whycap))
            return 1;
        if (strcmp(why, "out of memory") != 0)
            snprintf(why, whycap, "expected YYYY-MM-DD, YYYYMMDD, an ISO date-time or epoch "
                                  "seconds");
        return 0;
    }
}

/* Copy a field for a message: at most ~60 bytes, control bytes as '?'. */
static void quote_text(char *dst, size_t cap, const char *s, size_t n)
{
    size_t lim = n > 60 ? 57 : n, j = 0;
    for (size_t i = 0; i < lim && j + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[j++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (lim < n)
        for (int k = 0; k < 3 && j + 1 < cap; k++)
            dst[j++] = '.';
    dst[j] = '\0';
}

CHURN_API int churn_parse_date(const char *text, size_t len, int format, double *out)
{
    churn__ok();
    if (!text || !out)
        return churn__error(CHURN_EINVAL, "churn_parse_date: %s is NULL", text ? "out" : "text");
    if (format < CHURN_DATE_AUTO || format > CHURN_DATE_EPOCH)
        return churn__error(CHURN_EINVAL, "churn_parse_date: format %d is not a "
                            "churn_date_format", format);
    char why[128], shown[80];
    if (!parse_date_impl(text, len, format, out, why, sizeof why)) {
        quote_text(shown, sizeof shown, text, len);
        if (strcmp(why, "out of memory") == 0)
            return churn__nomem("a number");
        return churn__error(CHURN_EFORMAT, "cannot parse '%s' as a date: %s", shown, why);
    }
    return CHURN_OK;
}

CHURN_API int churn_format_date(double time, char *buf, size_t cap)
{
    churn__ok();
    if (!buf)
        return churn__error(CHURN_EINVAL, "churn_format_date: buf is NULL");
    if (!isfinite(time))
        return churn__error(CHURN_EINVAL, "churn_format_date: time %g is not finite", time);
    /* Keep the day count well inside int64 and the year printable. */
    if (fabs(time) > 1e15)
        return churn__error(CHURN_EINVAL, "churn_format_date: time %g s is out of range", time);
    int64_t y;
    int m, d;
    civil_from_days((int64_t)floor(time / 86400.0), &y, &m, &d);
    char tmp[40];
    int len = snprintf(tmp, sizeof tmp, "%04lld-%02d-%02d", (long long)y, m, d);
    if ((size_t)len + 1 > cap)
        return churn__error(CHURN_ERANGE, "churn_format_date: buffer of %zu bytes is too small "
                            "for '%s'", cap, tmp);
    memcpy(buf, tmp, (size_t)len + 1);
    return CHURN_OK;
}

/* ---- options -------------------------------------------------------------- */

/* churn_csv_options grew in 1.2 (allow_empty, max_record_bytes). A program built against
 * 1.0/1.1 headers has the shorter struct, so its churn_csv_options_init binds to the
 * CHURN_1.0 version, which fills the prefix it knows and records that size (the option copy
 * gives the missing fields their defaults); programs built since bind to CHURN_1.2. */
#define CSV_OPTIONS_SIZE_1_0 offsetof(churn_csv_options, allow_empty)

CHURN_API_EXPORT void churn__csv_options_init_1_2(churn_csv_options *opts);
CHURN_API_EXPORT void churn__csv_options_init_1_2(churn_csv_options *opts)
{
    if (!opts)
        return;
    churn_csv_options d = CHURN_CSV_OPTIONS_INIT;
    *opts = d;
}

#if defined(CHURN_SYMBOL_VERSIONS)
CHURN_API_EXPORT void churn__csv_options_init_1_0(churn_csv_options *opts);
CHURN_API_EXPORT void churn__csv_options_init_1_0(churn_csv_options *opts)
{
    if (!opts)
        return;
    churn_csv_options d = CHURN_CSV_OPTIONS_INIT;
    d.struct_size = CSV_OPTIONS_SIZE_1_0;
    memcpy(opts, &d, CSV_OPTIONS_SIZE_1_0);
}
__asm__(".symver churn__csv_options_init_1_0, churn_csv_options_init@CHURN_1.0");
__asm__(".symver churn__csv_options_init_1_2, churn_csv_options_init@@CHURN_1.2");
#else
void churn_csv_options_init(churn_csv_options *opts) { churn__csv_options_init_1_2(opts); }
#endif

/* ---- the reader ----------------------------------------------------------- */

enum { CLS_DATA = 0, CLS_STOP = 1 };

typedef struct field {
    const char *p;
    size_t n;
    int escaped; /* quoted with "" inside: needs unescaping */
} field;

/* Per-call id cache in front of the log's intern table. Slots keep the hash,
 * the length and the first 16 bytes of the id (zero-padded), so the lookup of
 * an id of up to 16 bytes reads one 32-byte slot and compares two words. */
#define ID_INLINE 16
typedef struct idslot {
    uint64_t hash;
    uint32_t index; /* UINT32_MAX = empty */
    uint32_t len;
    uint64_t key[2];
} idslot;

typedef struct idcache {
    idslot *slots;
    size_t cap, count;
} idcache;

/* Rows are validated one by one but stored in batches: each row's id-cache
 * slot is prefetched when the row is parsed and read when the batch is
 * stored, so the cache misses of a large customer table overlap instead of
 * being paid one after another. */
#define BATCH 64
/* Integer ids in canonical decimal form ("1234", not "01234" or "+1234")
 * below a bound skip hashing: a dense array maps the value to the customer
 * index + 1 (0 = not seen in this read). Database keys are usually such
 * integers, and the array is several times smaller than the hash cache, so
 * far fewer lookups miss the CPU caches. */
#define INT_ID_DIGITS 9                  /* values < 1e9 */
#define INT_MAP_MAX ((size_t)1 << 26)    /* at most 256 MiB of map */

typedef struct pending {
    const char *id; /* points into the input window (valid until the next refill) */
    size_t len;
    int64_t ival;   /* canonical integer value of the id, or -1 */
    uint64_t hash;  /* for ival < 0 */
    uint64_t key[2];
    double time, amount, quantity;
    uint32_t product;
} pending;

typedef struct reader {
    churn_txlog *log;
    churn_csv_options o;
    const char *name;
    /* input window data[0..len), parse position pos */
    gzFile gz;
    char *buf;
    size_t cap;
    const char *data;
    size_t len, pos;
    int eof;
    size_t line;  /* line number at pos */
    unsigned long long base; /* byte offset of data[0] in the (decompressed) input */
    /* format */
    int delim;
    int ws; /* whitespace-run mode */
    unsigned char cls[256];
    /* columns */
    size_t ncols_expected; /* fields per row (header or first row) */
    char **header;         /* ncols_header names (owned), or NULL */
    size_t ncols_header;
    int role_col[NROLES];  /* 0-based column, -1 = unused */
    size_t maxcol;         /* 1 + highest needed column */
    field *fcol;           /* maxcol fields of the current record */
    char *scratch[NROLES];
    size_t scratch_cap[NROLES];
    idcache ids;
    uint32_t *int_map; /* int_cap entries: customer index + 1, 0 = unknown */
    size_t int_cap;
    pending batch[BATCH];
    size_t nbatch;
    size_t messages_added;
    int64_t file_size; /* regular files: size in bytes, else -1 */
    int reserved;      /* rows were reserved from the size estimate */
    /* chunked reading: fn(log, ud) once the log holds next_chunk rows */
    churn_csv_chunk_fn chunk_fn;
    void *chunk_ud;
    size_t chunk_rows, next_chunk;
    /* what a failure rolls back to: the log as it was when the read started,
     * or after the last chunk callback */
    churn__txlog_mark_t mk;
    size_t mk_rows_read, mk_rows_skipped, mk_nmessages;
    /* the last date text and its value: exports sorted by date repeat it */
    char last_date[32];
    size_t last_date_len; /* 0 = none */
    double last_time;
} reader;

/* Result of scanning one record. */
enum { REC_OK, REC_EMPTY, REC_MORE, REC_BAD };
typedef struct record {
    size_t end;    /* offset just past the record */
    size_t lines;  /* line breaks consumed */
    size_t nfields;
    size_t bad_col;    /* for REC_BAD */
    const char *bad_why;
} record;

/* 0xFF x16 then 0x00 x16: bytes [16-n, 32-n) mask the first n of 16 bytes,
 * whatever the byte order. */
static const unsigned char key_mask[32] = {
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255};

/* The first 16 bytes of id s[0..n), zero-padded, and its hash. `limit` is the
 * end of readable memory after s: with 16 bytes to spare the key is two
 * masked word loads. */
static uint64_t id_key(const char *s, size_t n, const char *limit, uint64_t key[2])
{
    size_t m = n < ID_INLINE ? n : ID_INLINE;
    if (limit - s >= (ptrdiff_t)ID_INLINE) {
        uint64_t a, b, ma, mb;
        memcpy(&a, s, 8);
        memcpy(&b, s + 8, 8);
        memcpy(&ma, key_mask + 16 - m, 8);
        memcpy(&mb, key_mask + 24 - m, 8);
        key[0] = a & ma;
        key[1] = b & mb;
    } else {
        key[0] = key[1] = 0;
        memcpy(key, s, m);
    }
    uint64_t h;
    if (n <= ID_INLINE) {
        /* multiply-xorshift mix of the two words and the length */
        h = (key[0] ^ (uint64_t)n) * 0x9E3779B97F4A7C15ULL;
        h ^= h >> 32;
        h += key[1] * 0xC2B2AE3D27D4EB4FULL;
    } else {
        h = 1469598103934665603ULL; /* FNV-1a over the whole id */
        for (size_t i = 0; i < n; i++) {
            h ^= (unsigned char)s[i];
            h *= 1099511628211ULL;
        }
    }
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 32;
    return h;
}

static int idcache_grow(idcache *c)
{
    size_t ncap = c->cap ? c->cap * 2 : 4096;
    idslot *ns = churn__malloc(churn__mul_size(ncap, sizeof *ns));
    if (!ns)
        return churn__nomem("the id cache");
    churn__advise_huge(ns, ncap * sizeof *ns);
    for (size_t i = 0; i < ncap; i++)
        ns[i].index = UINT32_MAX;
    for (size_t i = 0; i < c->cap; i++) {
        const idslot *sl = &c->slots[i];
        if (sl->index == UINT32_MAX)
            continue;
        size_t j = sl->hash & (ncap - 1);
        while (ns[j].index != UINT32_MAX)
            j = (j + 1) & (ncap - 1);
        ns[j] = *sl;
    }
    churn__free(c->slots);
    c->slots = ns;
    c->cap = ncap;
    return CHURN_OK;
}

/* Index of id s[0..n) (hash h, key from id_key) in the log's customer
 * table, adding it when new. */
static int intern_cached(reader *rd, uint64_t h, const uint64_t key[2], const char *s, size_t n,
                         uint32_t *index)
{
    idcache *c = &rd->ids;
    churn__idtable *t = &rd->log->customer_ids;
    if (c->cap) {
        size_t j = h & (c->cap - 1);
        for (;;) {
            const idslot *sl = &c->slots[j];
            if (sl->index == UINT32_MAX)
                break;
            if (sl->hash == h && sl->len == n && sl->key[0] == key[0] &&
                sl->key[1] == key[1] &&
                (n <= ID_INLINE || memcmp(t->strings[sl->index], s, n) == 0)) {
                *index = sl->index;
                return CHURN_OK;
            }
            j = (j + 1) & (c->cap - 1);
        }
    }
    if (n > UINT32_MAX)
        return churn__error(CHURN_ERANGE, "%s: an id of %zu bytes is too long", rd->name, n);
    int rc = churn__intern(t, s, n, index);
    if (rc)
        return rc;
    if ((c->count + 1) * 10 > c->cap * 7 && (rc = idcache_grow(c)))
        return rc;
    size_t j = h & (c->cap - 1);
    while (c->slots[j].index != UINT32_MAX)
        j = (j + 1) & (c->cap - 1);
    idslot *sl = &c->slots[j];
    sl->hash = h;
    sl->index = *index;
    sl->len = (uint32_t)n;
    sl->key[0] = key[0];
    sl->key[1] = key[1];
    c->count++;
    return CHURN_OK;
}

/* Value of a canonical decimal id of at most INT_ID_DIGITS digits, or -1. */
static int64_t int_id(const char *s, size_t n)
{
    if (n == 0 || n > INT_ID_DIGITS || (n > 1 && s[0] == '0'))
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d >= 10)
            return -1;
        v = v * 10 + d;
    }
    return v;
}

/* Make the integer map cover `value` if that keeps it within its bounds:
 * at most INT_MAP_MAX entries and 16 entries per row read so far (plus
 * slack), so sparse ids do not cost more memory than the rows themselves.
 * Returns 1 when `value` is covered. */
static int int_map_cover(reader *rd, int64_t value, int *rc)
{
    size_t v = (size_t)value;
    if (v < rd->int_cap)
        return 1;
    size_t limit = 16 * (rd->log->rows_read + 65536);
    if (v >= INT_MAP_MAX || v >= limit)
        return 0;
    size_t ncap = rd->int_cap ? rd->int_cap : 65536;
    while (ncap <= v)
        ncap *= 2;
    uint32_t *nm = churn__realloc(rd->int_map, ncap * sizeof *nm);
    if (!nm) {
        *rc = churn__nomem("the id map");
        return 0;
    }
    churn__advise_huge(nm, ncap * sizeof *nm);
    memset(nm + rd->int_cap, 0, (ncap - rd->int_cap) * sizeof *nm);
    rd->int_map = nm;
    rd->int_cap = ncap;
    return 1;
}

/* Customer index of a pending row's id. */
static int resolve_id(reader *rd, const pending *q, uint32_t *index)
{
    int rc = CHURN_OK;
    if (q->ival >= 0 && int_map_cover(rd, q->ival, &rc)) {
        uint32_t *slot = &rd->int_map[q->ival];
        if (*slot) {
            *index = *slot - 1;
            return CHURN_OK;
        }
        /* the log's table is the reference: it knows ids from earlier
         * appends and from rows stored before the map covered this value */
        if ((rc = churn__intern(&rd->log->customer_ids, q->id, q->len, index)))
            return rc;
        *slot = *index + 1;
        return CHURN_OK;
    }
    if (rc)
        return rc;
    uint64_t key[2], h = q->hash;
    if (q->ival >= 0)
        h = id_key(q->id, q->len, q->id + q->len, key); /* not hashed at parse time */
    else
        memcpy(key, q->key, sizeof key);
    return intern_cached(rd, h, key, q->id, q->len, index);
}

/* Store the pending rows. */
static int flush_batch(reader *rd)
{
    size_t nb = rd->nbatch;
    if (!nb)
        return CHURN_OK;
    churn_txlog *log = rd->log;
    int rc;
    if (nb > log->cap - log->n && (rc = churn__txlog_reserve(log, nb)))
        return rc;
    for (size_t i = 0; i < nb; i++) {
        const pending *q = &rd->batch[i];
        uint32_t ci;
        if ((rc = resolve_id(rd, q, &ci)))
            return rc;
        churn__txlog_push(log, ci, q->time, q->amount, q->quantity, q->product);
    }
    rd->nbatch = 0;
    return CHURN_OK;
}

/* Display name of column `col` (0-based) for messages. */
static void column_label(const reader *rd, size_t col, char *dst, size_t cap)
{
    if (rd->header && col < rd->ncols_header) {
        char q[80];
        quote_text(q, sizeof q, rd->header[col], strlen(rd->header[col]));
        snprintf(dst, cap, "column '%s'", q);
    } else {
        snprintf(dst, cap, "column %zu", col + 1);
    }
}

/* ---- input ---------------------------------------------------------------- */

static int io_error(reader *rd, const char *what)
{
    int zerr = 0;
    const char *zmsg = rd->gz ? gzerror(rd->gz, &zerr) : NULL;
    if (zerr == Z_ERRNO || !zmsg) {
        char eb[128];
        const char *es = strerror_r(errno, eb, sizeof eb);
        return churn__error(CHURN_EIO, "%s: %s: %s", rd->name, what, es);
    }
    if (zerr == Z_MEM_ERROR)
        return churn__nomem("the decompressor");
    return churn__error(CHURN_EIO, "%s: %s (gzip): %s", rd->name, what, zmsg);
}

/* Move the unparsed tail to the front and read more. Grows the buffer when
 * the tail fills it (one record longer than the buffer). */
static int nul_error(const reader *rd, unsigned long long offset)
{
    return churn__error(CHURN_EFORMAT, "%s: a NUL byte at byte offset %llu: not CSV text "
                        "(a binary file, or a file of zeros?)", rd->name, offset);
}

/* The end of a compressed or plain input: a gzip stream cut short (truncated download, full
 * disk, killed writer) or a regular file that shrank while it was read is an error naming how
 * far the read got, never a short success. */
static int check_end(reader *rd)
{
    int zerr = 0;
    const char *zmsg = gzerror(rd->gz, &zerr);
    if (zmsg && strncmp(zmsg, "<fd:", 4) == 0 && strstr(zmsg, ": "))
        zmsg = strstr(zmsg, ": ") + 2; /* zlib names the descriptor; rd->name is the file */
    if (zerr != Z_OK && zerr != Z_STREAM_END)
        return churn__error(zerr == Z_MEM_ERROR ? CHURN_ENOMEM : CHURN_EIO,
                            "%s: the compressed input is truncated or corrupt after %llu "
                            "bytes (line %zu): %s", rd->name, rd->base + rd->len, rd->line,
                            zmsg && *zmsg ? zmsg : "unexpected end of the gzip stream");
    if (gzdirect(rd->gz) && rd->file_size >= 0) {
        z_off_t off = gzoffset(rd->gz);
        if (off >= 0 && (int64_t)off < rd->file_size)
            return churn__error(CHURN_EIO, "%s: the file shrank while it was read: it ended "
                                "after %lld of its %lld bytes (line %zu)", rd->name,
                                (long long)off, (long long)rd->file_size, rd->line);
    }
    return CHURN_OK;
}

static int refill(reader *rd)
{
    if (rd->eof || !rd->gz)
        return CHURN_OK;
    size_t keep = rd->len - rd->pos;
    if (rd->pos && keep)
        memmove(rd->buf, rd->buf + rd->pos, keep);
    rd->base += rd->pos;
    rd->pos = 0;
    rd->len = keep;
    size_t max_record = rd->o.max_record_bytes ? rd->o.max_record_bytes
                                               : CHURN_CSV_MAX_RECORD_DEFAULT;
    /* a record that does not fit the buffer: a NUL in it is binary input (a complete record
     * with a NUL is reported by the tokenizer, with its line and column) */
    const char *nul = keep && keep == rd->cap ? memchr(rd->buf, 0, keep) : NULL;
    if (nul)
        return nul_error(rd, rd->base + (unsigned long long)(nul - rd->buf));
    if (keep && keep >= max_record)
        return churn__error(CHURN_EFORMAT, "%s, line %zu: a record of more than %zu bytes "
                            "starts at byte offset %llu (input without line breaks? the limit "
                            "is churn_csv_options.max_record_bytes)", rd->name, rd->line,
                            max_record, rd->base);
    if (keep == rd->cap) {
        size_t ncap = rd->cap ? rd->cap * 2 : BLOCK_SIZE;
        if (ncap < rd->cap)
            return churn__nomem("a line buffer");
        char *nb = churn__realloc(rd->buf, ncap);
        if (!nb)
            return churn__nomem("a line buffer");
        rd->buf = nb;
        rd->cap = ncap;
    }
    while (rd->len < rd->cap) {
        size_t want = rd->cap - rd->len;
        if (want > ((size_t)1 << 30))
            want = (size_t)1 << 30;
        int got = gzread(rd->gz, rd->buf + rd->len, (unsigned)want);
        if (got < 0)
            return io_error(rd, "read error");
        if (got == 0) {
            rd->eof = 1;
            int rc = check_end(rd);
            if (rc)
                return rc;
            break;
        }
        rd->len += (size_t)got;
    }
    rd->data = rd->buf;
    return CHURN_OK;
}

/* ---- tokenizer ------------------------------------------------------------ */

static void set_classes(reader *rd)
{
    memset(rd->cls, CLS_DATA, sizeof rd->cls);
    rd->cls['\n'] = rd->cls['\r'] = rd->cls['"'] = rd->cls[0] = CLS_STOP;
    if (rd->ws)
        rd->cls[' '] = rd->cls['\t'] = rd->cls['\v'] = rd->cls['\f'] = CLS_STOP;
    else
        rd->cls[(unsigned char)rd->delim] = CLS_STOP;
}

static int is_blank(const reader *rd, char c)
{
    return c == ' ' || (c == '\t' && rd->delim != '\t') || (rd->ws && (c == '\v' || c == '\f'));
}

/* A bad record: its end is the end of the physical line holding `from`. */
static int bad_record(const reader *rd, const char *from, size_t col, const char *why,
                      record *r)
{
    const char *base = rd->data, *end = rd->data + rd->len;
    const char *nl = from < end ? memchr(from, '\n', (size_t)(end - from)) : NULL;
    if (!nl && !rd->eof)
        return REC_MORE;
    r->end = nl ? (size_t)(nl + 1 - base) : rd->len;
    r->lines += nl ? 1 : 0;
    r->bad_col = col;
    r->bad_why = why;
    return REC_BAD;
}

/* Scan the record at rd->pos into rd->fcol. */
static int scan_record(reader *rd, record *r)
{
    const char *base = rd->data, *p = base + rd->pos, *end = base + rd->len;
    const unsigned char *cls = rd->cls;
    size_t col = 0;
    int first_blank = 0; /* the first field is empty and unquoted */
    r->lines = 0;
    r->nfields = 0;
    for (;;) {
        while (p < end && is_blank(rd, *p))
            p++;
        if (rd->ws && (p >= end || *p == '\n' || *p == '\r')) {
            /* in whitespace mode trailing blanks end the record, they do not
             * start another field */
            if (p >= end && !rd->eof)
                return REC_MORE;
            break;
        }
        const char *fs, *fe;
        int escaped = 0, quoted = 0;
        if (p < end && *p == '"') {
            quoted = 1;
            const char *open = p, *first_nl = NULL;
            size_t nl_in = 0;
            p++;
            fs = p;
            for (;;) {
                if (p >= end) {
                    if (!rd->eof && !(first_nl && (size_t)(p - first_nl) > MAX_QUOTED_SPAN))
                        return REC_MORE;
                    return bad_record(rd, first_nl ? first_nl : open, col,
                                      "unterminated quoted field", r);
                }
                char c = *p;
                if (c == '"') {
                    if (p + 1 >= end && !rd->eof)
                        return REC_MORE;
                    if (p + 1 < end && p[1] == '"') {
                        escaped = 1;
                        p += 2;
                        continue;
                    }
                    break;
                }
                if (c == '\n') {
                    if (!first_nl)
                        first_nl = p;
                    nl_in++;
                } else if (c == '\0') {
                    r->lines += nl_in;
                    return bad_record(rd, p, col, "NUL byte (binary data?)", r);
                }
                if (first_nl && (size_t)(p - first_nl) > MAX_QUOTED_SPAN) {
                    return bad_record(rd, first_nl, col, "unterminated quoted field", r);
                }
                p++;
            }
            fe = p;
            p++;
            r->lines += nl_in;
            if (!rd->ws)
                while (p < end && is_blank(rd, *p))
                    p++;
            if (p < end && !(*p == '\n' || *p == '\r' || (rd->ws ? is_blank(rd, *p)
                                                                 : *p == rd->delim))) {
                return bad_record(rd, p, col, *p == '"' ? "stray quote after a quoted field"
                                                        : "text after the closing quote", r);
            }
        } else {
            fs = p;
            while (p < end && !cls[(unsigned char)*p])
                p++;
            if (p < end && *p == '"')
                return bad_record(rd, p, col, "stray quote in an unquoted field", r);
            if (p < end && *p == '\0')
                return bad_record(rd, p, col, "NUL byte (binary data?)", r);
            fe = p;
            while (fe > fs && is_blank(rd, fe[-1]))
                fe--;
        }
        if (col == 0)
            first_blank = !quoted && fe == fs;
        if (col < rd->maxcol) {
            rd->fcol[col].p = fs;
            rd->fcol[col].n = (size_t)(fe - fs);
            rd->fcol[col].escaped = escaped;
        }
        col++;
        if (p >= end) {
            if (!rd->eof)
                return REC_MORE;
            break;
        }
        if (!rd->ws && *p == rd->delim) {
            p++;
            continue;
        }
        if (rd->ws && (*p == ' ' || *p == '\t' || *p == '\v' || *p == '\f'))
            continue;
        break; /* '\r' or '\n' */
    }
    /* line terminator */
    if (p < end) {
        if (*p == '\r') {
            if (p + 1 >= end && !rd->eof)
                return REC_MORE;
            p += (p + 1 < end && p[1] == '\n') ? 2 : 1;
        } else {
            p++;
        }
        r->lines++;
    }
    r->end = (size_t)(p - base);
    r->nfields = col;
    if (col == 0)
        return REC_EMPTY;
    if (col == 1 && first_blank)
        return REC_EMPTY; /* a line of blanks only */
    return REC_OK;
}

/* Text of a role's field, unescaping "" when needed. */
static int field_text(reader *rd, int role, const char **s, size_t *n)
{
    field *f = &rd->fcol[rd->role_col[role]];
    if (!f->escaped) {
        *s = f->p;
        *n = f->n;
        return CHURN_OK;
    }
    if (rd->scratch_cap[role] < f->n + 1) {
        char *nb = churn__realloc(rd->scratch[role], f->n + 1);
        if (!nb)
            return churn__nomem("a field");
        rd->scratch[role] = nb;
        rd->scratch_cap[role] = f->n + 1;
    }
    char *o = rd->scratch[role];
    size_t k = 0;
    for (size_t i = 0; i < f->n; i++) {
        o[k++] = f->p[i];
        if (f->p[i] == '"' && i + 1 < f->n && f->p[i + 1] == '"')
            i++;
    }
    *s = o;
    *n = k;
    return CHURN_OK;
}

/* ---- messages --------------------------------------------------------------- */

/* A bad row: fail (returns CHURN_EFORMAT) or, when skipping, count it and keep
 * the message (returns CHURN_OK, or CHURN_ENOMEM). */
static int row_error(reader *rd, size_t line, const char *fmt, ...) CHURN__PRINTF(3, 4);
static int row_error(reader *rd, size_t line, const char *fmt, ...)
{
    char detail[400], msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    snprintf(msg, sizeof msg, "%s, line %zu%s", rd->name, line, detail);
    if (!rd->o.skip_bad_rows)
        return churn__error(CHURN_EFORMAT, "%s", msg);
    churn_txlog *log = rd->log;
    log->rows_skipped++;
    if (rd->messages_added < rd->o.max_messages) {
        char **nm = churn__realloc(log->messages,
                                   churn__mul_size(log->nmessages + 1, sizeof *nm));
        if (!nm)
            return churn__nomem("a skipped-row message");
        log->messages = nm;
        char *copy = churn__strdup(msg);
        if (!copy)
            return churn__nomem("a skipped-row message");
        log->messages[log->nmessages++] = copy;
        rd->messages_added++;
    }
    return CHURN_OK;
}

/* ---- columns ---------------------------------------------------------------- */

/* Parse a column specifier of digits as a 1-based position; -1 if it is a name. */
static long spec_position(const char *spec)
{
    long v = 0;
    if (!*spec)
        return -1;
    for (const char *p = spec; *p; p++) {
        if ((unsigned)(*p - '0') >= 10)
            return -1;
        if (v <= MAX_COLUMN_POSITION)
            v = v * 10 + (*p - '0');
    }
    return v;
}

static int ascii_casecmp_eq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a, y = *b;
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return *a == *b;
}

/* Check the column options before reading anything. */
static int check_specs(reader *rd, const char **spec)
{
    const char *given[NROLES] = {rd->o.id_column, rd->o.time_column, rd->o.amount_column,
                                 rd->o.quantity_column, rd->o.product_column};
    static const char *const pos_default[NROLES] = {"1", "2", "3", NULL, NULL};
    for (int k = 0; k < NROLES; k++) {
        spec[k] = given[k] ? given[k] : (rd->o.has_header ? role_default[k] : pos_default[k]);
        if (k == ROLE_AMOUNT && spec[k] && !*spec[k])
            spec[k] = NULL; /* "": no amount column, every amount unknown (NaN) */
        if (!spec[k])
            continue;
        if (!*spec[k])
            return churn__error(CHURN_EINVAL, "%s: option %s is empty", rd->name,
                                role_option[k]);
        long pos = spec_position(spec[k]);
        if (pos == 0 || pos > MAX_COLUMN_POSITION)
            return churn__error(CHURN_EINVAL, "%s: option %s: column position '%s' is not in "
                                "1..%d", rd->name, role_option[k], spec[k], MAX_COLUMN_POSITION);
        if (pos < 0 && !rd->o.has_header)
            return churn__error(CHURN_EINVAL, "%s: option %s: '%s' is a column name but the "
                                "file has no header (has_header = 0); give a 1-based position",
                                rd->name, role_option[k], spec[k]);
    }
    return CHURN_OK;
}

static int resolve_columns(reader *rd, const char **spec)
{
    rd->maxcol = 0;
    for (int k = 0; k < NROLES; k++) {
        rd->role_col[k] = -1;
        if (!spec[k])
            continue;
        long pos = spec_position(spec[k]);
        if (pos > 0) {
            if (rd->header && (size_t)pos > rd->ncols_header)
                return churn__error(CHURN_EFORMAT, "%s: option %s: column %ld does not exist "
                                    "(the header has %zu columns)", rd->name, role_option[k],
                                    pos, rd->ncols_header);
            rd->role_col[k] = (int)(pos - 1);
        } else {
            for (size_t j = 0; j < rd->ncols_header && rd->role_col[k] < 0; j++)
                if (strcmp(rd->header[j], spec[k]) == 0)
                    rd->role_col[k] = (int)j;
            for (size_t j = 0; j < rd->ncols_header && rd->role_col[k] < 0; j++)
                if (ascii_casecmp_eq(rd->header[j], spec[k]))
                    rd->role_col[k] = (int)j;
            if (rd->role_col[k] < 0) {
                char list[240] = "", q[80];
                size_t used = 0;
                for (size_t j = 0; j < rd->ncols_header && used + 4 < sizeof list; j++) {
                    quote_text(q, sizeof q, rd->header[j], strlen(rd->header[j]));
                    int w = snprintf(list + used, sizeof list - used, "%s'%s'",
                                     j ? ", " : "", q);
                    if (w < 0 || (size_t)w >= sizeof list - used) {
                        /* room for ", ..." and its NUL (fuzz regression) */
                        if (used > sizeof list - sizeof ", ...")
                            used = sizeof list - sizeof ", ...";
                        list[used] = '\0';
                        strcat(list, j ? ", ..." : "...");
                        break;
                    }
                    used += (size_t)w;
                }
                quote_text(q, sizeof q, spec[k], strlen(spec[k]));
                int looks_data = rd->ncols_header &&
                                 (unsigned)(rd->header[0][0] - '0') < 10;
                return churn__error(CHURN_EFORMAT, "%s, line 1: column '%s' (%s) not found in "
                                    "the header (columns: %s)%s%s", rd->name, q, role_option[k],
                                    list, looks_data ? "; is the first line data? then the "
                                    "file has no header" : "", k == ROLE_AMOUNT ?
                                    "; a log without amounts: amount_column \"\" (the "
                                    "command: --amount none)" : "");
            }
        }
        if ((size_t)rd->role_col[k] + 1 > rd->maxcol)
            rd->maxcol = (size_t)rd->role_col[k] + 1;
    }
    if (rd->header && rd->ncols_header > rd->maxcol)
        rd->maxcol = rd->ncols_header; /* keep every header column for messages */
    churn__free(rd->fcol);
    rd->fcol = churn__calloc(rd->maxcol ? rd->maxcol : 1, sizeof *rd->fcol);
    if (!rd->fcol)
        return churn__nomem("the column table");
    return CHURN_OK;
}

/* Pick the delimiter from the first non-blank line: the most frequent of
 * ',', '\t', ';' outside quotes; whitespace runs when none occurs. */
static int detect_delimiter(reader *rd)
{
    for (;;) {
        const char *s = rd->data + rd->pos, *end = rd->data + rd->len;
        /* skip blank lines */
        const char *q = s;
        while (q < end && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n'))
            q++;
        const char *nl = q < end ? memchr(q, '\n', (size_t)(end - q)) : NULL;
        if (!nl && !rd->eof) {
            int rc = refill(rd);
            if (rc)
                return rc;
            continue;
        }
        const char *le = nl ? nl : end;
        size_t nc = 0, nt = 0, ns = 0, nsp = 0;
        int inq = 0;
        for (const char *p = q; p < le; p++) {
            char c = *p;
            if (c == '"')
                inq = !inq;
            else if (!inq) {
                nc += c == ',';
                nt += c == '\t';
                ns += c == ';';
                nsp += c == ' ';
            }
        }
        if (nc >= nt && nc >= ns && nc > 0)
            rd->delim = ',';
        else if (nt >= ns && nt > 0)
            rd->delim = '\t';
        else if (ns > 0)
            rd->delim = ';';
        else if (nsp > 0)
            rd->delim = ' ';
        else
            rd->delim = ',';
        return CHURN_OK;
    }
}

static int take_header(reader *rd, const record *r)
{
    size_t n = r->nfields;
    if (n > rd->maxcol) {
        /* count first, then rescan with room for every column */
        churn__free(rd->fcol);
        rd->fcol = churn__calloc(n, sizeof *rd->fcol);
        if (!rd->fcol)
            return churn__nomem("the header");
        rd->maxcol = n;
        record r2;
        int st = scan_record(rd, &r2);
        if (st != REC_OK)
            return churn__error(CHURN_EFORMAT, "%s, line %zu: cannot read the header", rd->name,
                                rd->line);
    }
    rd->header = churn__calloc(n, sizeof *rd->header);
    if (!rd->header)
        return churn__nomem("the header");
    rd->ncols_header = n;
    for (size_t j = 0; j < n; j++) {
        field *f = &rd->fcol[j];
        char *s = churn__malloc(f->n + 1);
        if (!s)
            return churn__nomem("the header");
        size_t k = 0;
        for (size_t i = 0; i < f->n; i++) {
            s[k++] = f->p[i];
            if (f->escaped && f->p[i] == '"' && i + 1 < f->n && f->p[i + 1] == '"')
                i++;
        }
        s[k] = '\0';
        rd->header[j] = s;
    }
    rd->ncols_expected = n;
    return CHURN_OK;
}

/* ---- rows ------------------------------------------------------------------ */

static int take_row(reader *rd, const record *r, size_t line)
{
    char lab[120], shown[80], why[128];
    size_t expected = rd->ncols_expected ? rd->ncols_expected : rd->maxcol;
    if (r->nfields < rd->maxcol || (rd->ncols_expected && r->nfields != rd->ncols_expected)) {
        if (r->nfields < expected) {
            /* name the first needed column that is missing, else the first absent one */
            size_t miss = r->nfields;
            for (size_t best = SIZE_MAX, k = 0; k < NROLES; k++)
                if (rd->role_col[k] >= 0 && (size_t)rd->role_col[k] >= r->nfields &&
                    (size_t)rd->role_col[k] < best)
                    best = miss = (size_t)rd->role_col[k];
            column_label(rd, miss, lab, sizeof lab);
            return row_error(rd, line, ", %s: missing (the line has %zu field%s, expected %zu)",
                             lab, r->nfields, r->nfields == 1 ? "" : "s", expected);
        }
        /* too many fields: name the first one beyond the expected count */
        return row_error(rd, line, ", column %zu: unexpected field (the line has %zu fields, "
                         "%s has %zu)", expected + 1, r->nfields,
                         rd->header ? "the header" : "the first line", expected);
    }
    const char *s;
    size_t n;
    int rc;
    /* id */
    if ((rc = field_text(rd, ROLE_ID, &s, &n)))
        return rc;
    const char *id = s;
    size_t idn = n;
    if (idn == 0) {
        column_label(rd, (size_t)rd->role_col[ROLE_ID], lab, sizeof lab);
        return row_error(rd, line, ", %s: empty customer id", lab);
    }
    /* time */
    double t;
    field *ft = &rd->fcol[rd->role_col[ROLE_TIME]];
    if (ft->n && ft->n == rd->last_date_len && memcmp(ft->p, rd->last_date, ft->n) == 0) {
        t = rd->last_time;
    } else if (parse_date_impl(ft->p, ft->n, rd->o.date_format, &t, why, sizeof why)) {
        if (ft->n <= sizeof rd->last_date) {
            memcpy(rd->last_date, ft->p, ft->n);
            rd->last_date_len = ft->n;
            rd->last_time = t;
        }
    } else {
        if (strcmp(why, "out of memory") == 0)
            return churn__nomem("a number");
        column_label(rd, (size_t)rd->role_col[ROLE_TIME], lab, sizeof lab);
        quote_text(shown, sizeof shown, ft->p, ft->n);
        return row_error(rd, line, ", %s: cannot parse '%s' as a date (%s)", lab, shown, why);
    }
    /* amount and quantity; without an amount column the amount is unknown (NaN) */
    double v[2] = {rd->role_col[ROLE_AMOUNT] < 0 ? NAN : 0, NAN};
    for (int k = 0; k < 2; k++) {
        int role = k ? ROLE_QUANTITY : ROLE_AMOUNT;
        if (rd->role_col[role] < 0)
            continue;
        field *f = &rd->fcol[rd->role_col[role]];
        const char *ns = f->p;
        size_t nn = f->n;
        while (nn && (*ns == ' ' || *ns == '\t')) {
            ns++;
            nn--;
        }
        while (nn && (ns[nn - 1] == ' ' || ns[nn - 1] == '\t'))
            nn--;
        if (role == ROLE_QUANTITY && nn == 0)
            continue; /* unknown quantity */
        int st = parse_number(ns, nn, &v[k]);
        if (st == NUM_OK)
            continue;
        if (st == NUM_NOMEM)
            return churn__nomem("a number");
        column_label(rd, (size_t)rd->role_col[role], lab, sizeof lab);
        quote_text(shown, sizeof shown, f->p, f->n);
        if (st == NUM_EMPTY)
            return row_error(rd, line, ", %s: empty %s", lab, k ? "quantity" : "amount");
        if (st == NUM_NONFINITE)
            return row_error(rd, line, ", %s: '%s' is not a finite number", lab, shown);
        if (st == NUM_RANGE)
            return row_error(rd, line, ", %s: '%s' is out of the range of a double", lab,
                             shown);
        return row_error(rd, line, ", %s: cannot parse '%s' as a number", lab, shown);
    }
    /* intern and store: only after every field is valid, so a skipped row
     * leaves no orphan id behind */
    uint32_t pi = UINT32_MAX;
    churn_txlog *log = rd->log;
    if (rd->role_col[ROLE_PRODUCT] >= 0) {
        if ((rc = field_text(rd, ROLE_PRODUCT, &s, &n)))
            return rc;
        if (n && (rc = churn__intern(&log->product_ids, s, n, &pi)))
            return rc;
    }
    if (rd->fcol[rd->role_col[ROLE_ID]].escaped) {
        /* the unescaped id lives in a scratch buffer that the next row reuses:
         * store it now, after the rows before it */
        uint32_t ci;
        uint64_t key[2], h = id_key(id, idn, id + idn, key);
        if ((rc = flush_batch(rd)) || (rc = churn__txlog_reserve(log, 1)) ||
            (rc = intern_cached(rd, h, key, id, idn, &ci)))
            return rc;
        churn__txlog_push(log, ci, t, v[0], v[1], pi);
        return CHURN_OK;
    }
    pending *q = &rd->batch[rd->nbatch++];
    q->id = id;
    q->len = idn;
    q->ival = int_id(id, idn);
    if (q->ival >= 0) {
        q->hash = 0;
#if defined(__GNUC__)
        /* fetch the id's map entry now; it is read when the batch is stored */
        if ((size_t)q->ival < rd->int_cap)
            __builtin_prefetch(&rd->int_map[q->ival]);
#endif
    } else {
        q->hash = id_key(id, idn, rd->data + rd->len, q->key);
#if defined(__GNUC__)
        if (rd->ids.cap)
            __builtin_prefetch(&rd->ids.slots[q->hash & (rd->ids.cap - 1)]);
#endif
    }
    q->time = t;
    q->amount = v[0];
    q->quantity = v[1];
    q->product = pi;
    return rd->nbatch == BATCH ? flush_batch(rd) : CHURN_OK;
}

/* ---- driver ---------------------------------------------------------------- */

static void reader_free(reader *rd)
{
    if (rd->gz)
        gzclose(rd->gz);
    churn__free(rd->buf);
    for (size_t j = 0; j < rd->ncols_header; j++)
        churn__free(rd->header[j]);
    churn__free(rd->header);
    churn__free(rd->fcol);
    for (int k = 0; k < NROLES; k++)
        churn__free(rd->scratch[k]);
    churn__free(rd->ids.slots);
    churn__free(rd->int_map);
}

/* Reserve rows once for the whole input, estimated from the line length in
 * the first block and the size of the file (or buffer). Growing by doubling
 * instead would copy the columns several times and fault in their pages
 * again. An estimate that falls short only means doubling from there on. */
static int reserve_estimate(reader *rd)
{
    rd->reserved = 1;
    size_t total;
    if (!rd->gz)
        total = rd->len;
    else if (rd->file_size > 0 && gzdirect(rd->gz))
        total = (size_t)rd->file_size;
    else
        return CHURN_OK;
    const char *p = rd->data + rd->pos, *end = rd->data + rd->len;
    size_t lines = 0;
    while (p < end && lines < 100000) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        lines++;
        p = nl + 1;
    }
    size_t sampled = (size_t)(p - (rd->data + rd->pos));
    if (lines < 16 || sampled == 0)
        return CHURN_OK;
    double est = (double)total / ((double)sampled / (double)lines) * 1.05 + 64;
    if (est > 1e10)
        return CHURN_OK;
    /* reserving is only an optimisation: on failure, grow as we go */
    churn_txlog *log = rd->log;
    if (churn__txlog_reserve(log, (size_t)est) != CHURN_OK) {
        churn__ok();
        return CHURN_OK;
    }
    churn__advise_huge(log->customer, log->cap * sizeof *log->customer);
    churn__advise_huge(log->time, log->cap * sizeof *log->time);
    churn__advise_huge(log->amount, log->cap * sizeof *log->amount);
    churn__advise_huge(log->quantity, log->cap * sizeof *log->quantity);
    churn__advise_huge(log->product, log->cap * sizeof *log->product);
    return CHURN_OK;
}

/* Hand the rows read so far to the chunk callback; what it leaves in the log
 * is kept even if the read fails later. */
static int call_chunk(reader *rd)
{
    int rc = flush_batch(rd);
    if (rc)
        return rc;
    rc = rd->chunk_fn(rd->log, rd->chunk_ud);
    if (rc) {
        if (rc > 0 || !*churn_last_error_message())
            return churn__error(rc > 0 ? CHURN_EINVAL : rc, "%s: the chunk callback stopped "
                                "the read (status %d)", rd->name, rc);
        return rc;
    }
    churn__txlog_mark(rd->log, &rd->mk);
    rd->mk_rows_read = rd->log->rows_read;
    rd->mk_rows_skipped = rd->log->rows_skipped;
    rd->mk_nmessages = rd->log->nmessages;
    rd->next_chunk = rd->log->n + rd->chunk_rows;
    return CHURN_OK;
}

static int read_all(reader *rd)
{
    const char *spec[NROLES];
    int rc = check_specs(rd, spec);
    if (rc)
        return rc;
    /* quantity (role 3) and product (role 4) columns exist only when asked for */
    if ((rc = churn__txlog_enable(rd->log, spec[3] != NULL, spec[4] != NULL)))
        return rc;
    if ((rc = refill(rd)))
        return rc;
    /* UTF-8 byte order mark */
    if (rd->len - rd->pos >= 3 && memcmp(rd->data + rd->pos, "\xEF\xBB\xBF", 3) == 0)
        rd->pos += 3;
    if (rd->o.delimiter == 0) {
        if ((rc = detect_delimiter(rd)))
            return rc;
    } else {
        rd->delim = rd->o.delimiter;
    }
    rd->ws = rd->delim == ' ';
    set_classes(rd);
    if (!rd->o.has_header && (rc = resolve_columns(rd, spec)))
        return rc;
    int have_header = !rd->o.has_header;
    size_t data_rows = 0;
    for (;;) {
        if (rd->chunk_fn && rd->log->n + rd->nbatch >= rd->next_chunk &&
            (rc = call_chunk(rd)))
            return rc;
        /* pending rows point into the window: store them before it moves */
        if (rd->pos >= rd->len) {
            if (rd->eof || !rd->gz)
                break;
            if ((rc = flush_batch(rd)) || (rc = refill(rd)))
                return rc;
            continue;
        }
        record r;
        int st = scan_record(rd, &r);
        if (st == REC_MORE) {
            if ((rc = flush_batch(rd)) || (rc = refill(rd)))
                return rc;
            continue;
        }
        size_t line = rd->line;
        rd->line += r.lines;
        if (st == REC_EMPTY) {
            rd->pos = r.end;
            continue;
        }
        if (!have_header) {
            if (st == REC_BAD) {
                char lab[40];
                snprintf(lab, sizeof lab, "column %zu", r.bad_col + 1);
                return churn__error(CHURN_EFORMAT, "%s, line %zu, %s of the header: %s",
                                    rd->name, line, lab, r.bad_why);
            }
            /* take_header may rescan the record, so advance only afterwards */
            if ((rc = take_header(rd, &r)) || (rc = resolve_columns(rd, spec)))
                return rc;
            rd->pos = r.end;
            have_header = 1;
            continue;
        }
        if (!rd->reserved && (rc = reserve_estimate(rd)))
            return rc;
        rd->pos = r.end;
        data_rows++;
        rd->log->rows_read++;
        if (st == REC_BAD) {
            char lab[120];
            column_label(rd, r.bad_col, lab, sizeof lab);
            rc = row_error(rd, line, ", %s: %s", lab, r.bad_why);
        } else {
            if (!rd->ncols_expected && r.nfields >= rd->maxcol)
                rd->ncols_expected = r.nfields;
            rc = take_row(rd, &r, line);
        }
        if (rc)
            return rc;
    }
    if ((rc = flush_batch(rd)))
        return rc;
    if (rd->chunk_fn && rd->log->n > rd->mk.n && (rc = call_chunk(rd)))
        return rc;
    if (!have_header)
        return churn__error(CHURN_EFORMAT, "%s: empty file (no header and no data)", rd->name);
    if (data_rows == 0 && !(rd->o.allow_empty && rd->o.has_header))
        return churn__error(CHURN_EFORMAT, "%s: no data rows%s", rd->name,
                            rd->o.has_header ? " after the header" : " (empty file)");
    return CHURN_OK;
}

static int read_csv(churn_txlog *log, const char *path, const char *buf, size_t len,
                    const churn_csv_options *opts, size_t chunk_rows, churn_csv_chunk_fn fn,
                    void *ud)
{
    reader rd;
    memset(&rd, 0, sizeof rd);
    churn_csv_options o = CHURN_CSV_OPTIONS_INIT;
    int rc = churn__opts_copy(&o, sizeof o, opts, "churn_csv_options");
    if (rc)
        return rc;
    if (o.delimiter < 0 || o.delimiter > 255 || o.delimiter == '"' || o.delimiter == '\n' ||
        o.delimiter == '\r')
        return churn__error(CHURN_EINVAL, "churn_csv_options: delimiter %d is not 0, ' ' or a "
                            "byte other than a quote or line break", o.delimiter);
    if (o.date_format < CHURN_DATE_AUTO || o.date_format > CHURN_DATE_EPOCH)
        return churn__error(CHURN_EINVAL, "churn_csv_options: date_format %d is not a "
                            "churn_date_format", o.date_format);
    o.has_header = o.has_header != 0;
    o.skip_bad_rows = o.skip_bad_rows != 0;
    rd.o = o;
    rd.log = log;
    rd.line = 1;
    rd.file_size = -1;
    if (path) {
        rd.name = strcmp(path, "-") == 0 ? "<stdin>" : path;
        if (strcmp(path, "-") == 0) {
            int fd = dup(0);
            if (fd < 0 || !(rd.gz = gzdopen(fd, "rb"))) {
                if (fd >= 0)
                    close(fd);
                char eb[128];
                return churn__error(CHURN_EIO, "cannot read standard input: %s",
                                    strerror_r(errno, eb, sizeof eb));
            }
        } else {
            char eb[128];
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            struct stat st;
            if (fd < 0)
                return churn__error(CHURN_EIO, "cannot open '%s': %s", path,
                                    strerror_r(errno, eb, sizeof eb));
            if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
                close(fd);
                return churn__error(CHURN_EIO, "cannot read '%s': it is a directory", path);
            }
            rd.file_size = (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) ? (int64_t)st.st_size
                                                                         : -1;
            if (!(rd.gz = gzdopen(fd, "rb"))) {
                close(fd);
                return churn__nomem("the file reader");
            }
        }
        gzbuffer(rd.gz, 1u << 17);
    } else {
        rd.name = "<buffer>";
        rd.data = buf;
        rd.len = len;
        rd.eof = 1;
    }
    churn__txlog_mark(log, &rd.mk);
    rd.mk_rows_read = log->rows_read;
    rd.mk_rows_skipped = log->rows_skipped;
    rd.mk_nmessages = log->nmessages;
    if (fn) {
        rd.chunk_fn = fn;
        rd.chunk_ud = ud;
        rd.chunk_rows = chunk_rows;
        rd.next_chunk = log->n + chunk_rows;
        rd.reserved = 1; /* no reservation for the whole file: chunks reuse the rows */
    }
    rc = read_all(&rd);
    log->rows_failed = 0;
    if (rc) {
        /* keep no row, id or message of this input (since the last chunk) */
        char saved[512];
        snprintf(saved, sizeof saved, "%s", churn_last_error_message());
        log->rows_failed = log->rows_read - rd.mk_rows_read; /* how far it got */
        churn__txlog_rollback(log, &rd.mk);
        log->rows_read = rd.mk_rows_read;
        log->rows_skipped = rd.mk_rows_skipped;
        for (size_t i = rd.mk_nmessages; i < log->nmessages; i++)
            churn__free(log->messages[i]);
        log->nmessages = rd.mk_nmessages;
        churn__error(rc, "%s", saved);
    }
    reader_free(&rd);
    return rc;
}

CHURN_API int churn_txlog_read_csv(churn_txlog *log, const char *path,
                                   const churn_csv_options *opts)
{
    churn__ok();
    if (!log || !path)
        return churn__error(CHURN_EINVAL, "churn_txlog_read_csv: %s is NULL",
                            log ? "path" : "log");
    return read_csv(log, path, NULL, 0, opts, 0, NULL, NULL);
}

CHURN_API int churn_txlog_read_csv_chunked(churn_txlog *log, const char *path,
                                           const churn_csv_options *opts, size_t chunk_rows,
                                           churn_csv_chunk_fn fn, void *userdata)
{
    churn__ok();
    if (!log || !path || !fn)
        return churn__error(CHURN_EINVAL, "churn_txlog_read_csv_chunked: %s is NULL",
                            !log ? "log" : !path ? "path" : "fn");
    if (chunk_rows == 0)
        return churn__error(CHURN_EINVAL, "churn_txlog_read_csv_chunked: 'chunk_rows' must be "
                            "at least 1");
    return read_csv(log, path, NULL, 0, opts, chunk_rows, fn, userdata);
}

CHURN_API int churn_txlog_read_csv_buffer(churn_txlog *log, const char *buf, size_t len,
                                          const churn_csv_options *opts)
{
    churn__ok();
    if (!log || (!buf && len))
        return churn__error(CHURN_EINVAL, "churn_txlog_read_csv_buffer: %s is NULL",
                            log ? "buf" : "log");
    return read_csv(log, NULL, buf ? buf : "", len, opts, 0, NULL, NULL);
}
