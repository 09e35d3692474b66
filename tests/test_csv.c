/* CSV reader, date parser and formatter. */
#include "churn.h"
#include "testutil.h"

#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <stdlib.h>
#include <string.h>

#define CORPUS CHURN_TEST_SOURCE_DIR "/data/csv/"

/* ---- helpers -------------------------------------------------------------- */

static churn_txlog *new_log(void)
{
    churn_txlog *log = NULL;
    CU_ASSERT_FATAL(churn_txlog_new(&log) == CHURN_OK);
    return log;
}

/* Read text from an exactly sized heap copy (so ASan sees any over-read). */
static int read_text(churn_txlog *log, const char *text, const churn_csv_options *o)
{
    size_t n = strlen(text);
    char *copy = malloc(n ? n : 1);
    memcpy(copy, text, n);
    int rc = churn_txlog_read_csv_buffer(log, copy, n, o);
    free(copy);
    return rc;
}

static const char *tmp_path(const char *name)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", churn_test_tmp_dir(), name);
    return buf;
}

static int contains(const char *hay, const char *needle)
{
    int ok = strstr(hay, needle) != NULL;
    if (!ok)
        printf("\n  message '%s' lacks '%s'\n", hay, needle);
    return ok;
}

/* Days since 1970-01-01 by counting whole years and months one by one: an
 * independent reference for the closed-form civil-date arithmetic. */
static int leap(long y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
static long naive_days(long y, int m, int d)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    long days = 0;
    for (long k = 1970; k < y; k++)
        days += leap(k) ? 366 : 365;
    for (long k = y; k < 1970; k++)
        days -= leap(k) ? 366 : 365;
    for (int k = 1; k < m; k++)
        days += dm[k - 1] + (k == 2 && leap(y));
    return days + d - 1;
}

/* ---- dates ---------------------------------------------------------------- */

typedef struct date_case {
    const char *text;
    int format;
    double expect;
} date_case;

static void test_parse_date_known(void)
{
    /* well-known instants (POSIX time) */
    const date_case cases[] = {
        {"1970-01-01", CHURN_DATE_ISO, 0},
        {"2000-01-01", CHURN_DATE_AUTO, 946684800},
        {"1997-01-01", CHURN_DATE_AUTO, 852076800},
        {"19970101", CHURN_DATE_AUTO, 852076800},
        {"19970101", CHURN_DATE_YYYYMMDD, 852076800},
        {"852076800", CHURN_DATE_AUTO, 852076800},
        {"852076800", CHURN_DATE_EPOCH, 852076800},
        {"1900-01-01", CHURN_DATE_AUTO, -2208988800.0},
        {"2001-09-09T01:46:40Z", CHURN_DATE_AUTO, 1000000000},
        {"2038-01-19T03:14:07Z", CHURN_DATE_ISO, 2147483647.0},
        {"2038-01-19 03:14:07", CHURN_DATE_ISO, 2147483647.0},
        {"1999-12-31T23:59:59", CHURN_DATE_AUTO, 946684799},
        {"2000-01-01T01:00:00+01:00", CHURN_DATE_AUTO, 946684800},
        {"2000-01-01T01:00+0100", CHURN_DATE_AUTO, 946684800},
        {"1999-12-31T18:30:00-05:30", CHURN_DATE_AUTO, 946684800},
        {"2000-01-01T00:00:00.25Z", CHURN_DATE_AUTO, 946684800.25},
        {"2000-01-01T00:00:00,5", CHURN_DATE_AUTO, 946684800.5},
        {"2000-02-29", CHURN_DATE_AUTO, 951782400},
        {"2000-03-01", CHURN_DATE_AUTO, 951868800},
        {"9999-12-31", CHURN_DATE_AUTO, 253402214400.0},
        {"-86400", CHURN_DATE_AUTO, -86400},
        {"1.5e9", CHURN_DATE_EPOCH, 1.5e9},
        {"  2000-01-01 ", CHURN_DATE_AUTO, 946684800},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double t = NAN;
        int rc = churn_parse_date(cases[i].text, strlen(cases[i].text), cases[i].format, &t);
        if (rc != CHURN_OK || t != cases[i].expect)
            printf("\n  '%s': rc %d, %.17g (expected %.17g) %s\n", cases[i].text, rc, t,
                   cases[i].expect, churn_last_error_message());
        CU_ASSERT_EQUAL(rc, CHURN_OK);
        CU_ASSERT_EQUAL(t, cases[i].expect);
    }
}

static void test_parse_date_rules(void)
{
    /* leap years: divisible by 4, except centuries, except every 400th */
    const long years[] = {1600, 1700, 1800, 1900, 1996, 1997, 2000, 2004, 2100, 2400, 2023, 2024};
    for (size_t i = 0; i < sizeof years / sizeof years[0]; i++) {
        char s[64];
        double t;
        snprintf(s, sizeof s, "%04ld-02-29", years[i]);
        int rc = churn_parse_date(s, strlen(s), CHURN_DATE_AUTO, &t);
        CU_ASSERT_EQUAL(rc, leap(years[i]) ? CHURN_OK : CHURN_EFORMAT);
        if (rc == CHURN_OK) {
            CU_ASSERT_EQUAL(t, naive_days(years[i], 2, 29) * 86400.0);
        } else {
            CU_ASSERT(contains(churn_last_error_message(), "day 29 does not exist in February"));
        }
        snprintf(s, sizeof s, "%04ld0229", years[i]);
        CU_ASSERT_EQUAL(churn_parse_date(s, 8, CHURN_DATE_YYYYMMDD, &t),
                        leap(years[i]) ? CHURN_OK : CHURN_EFORMAT);
    }
    /* every day of 1600..2400 against the naive count, and back */
    char s[64], back[32];
    int bad = 0;
    for (long y = 1600; y <= 2400 && bad < 5; y++)
        for (int m = 1; m <= 12; m++)
            for (int d = 1; d <= 31; d++) {
                static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
                int valid = d <= dm[m - 1] + (m == 2 && leap(y));
                double t = NAN;
                snprintf(s, sizeof s, "%04ld-%02d-%02d", y, m, d);
                int rc = churn_parse_date(s, 10, CHURN_DATE_ISO, &t);
                if (valid != (rc == CHURN_OK) ||
                    (valid && t != naive_days(y, m, d) * 86400.0)) {
                    printf("\n  %s: rc %d t %.17g\n", s, rc, t);
                    bad++;
                    continue;
                }
                if (valid) {
                    /* noon and the last second of the day format to the same date */
                    if (churn_format_date(t + 43200, back, sizeof back) != CHURN_OK ||
                        strcmp(back, s) != 0 ||
                        churn_format_date(t + 86399.5, back, sizeof back) != CHURN_OK ||
                        strcmp(back, s) != 0) {
                        printf("\n  format(%s) = %s\n", s, back);
                        bad++;
                    }
                }
            }
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_parse_date_errors(void)
{
    const char *bad[] = {"1997-13-01", "1997-00-10", "1997-04-31", "1997-02-29", "19971301",
                         "1997-1-1",   "97-01-01",   "2000-01-01T24:00", "2000-01-01T10:60",
                         "2000-01-01T10:00:61", "2000-01-01T10:00+25:00", "2000-01-01X",
                         "2000-01-01T10:00:00.", "yesterday", "", "   ", "nan", "inf",
                         "1e999", "2000-01-01T10", "12/31/1999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double t = 0;
        int rc = churn_parse_date(bad[i], strlen(bad[i]), CHURN_DATE_AUTO, &t);
        if (rc != CHURN_EFORMAT)
            printf("\n  '%s' parsed as %.17g\n", bad[i], t);
        CU_ASSERT_EQUAL(rc, CHURN_EFORMAT);
        CU_ASSERT(strstr(churn_last_error_message(), "cannot parse") != NULL);
    }
    double t;
    CU_ASSERT(churn_parse_date("1997-13-01", 10, CHURN_DATE_AUTO, &t) == CHURN_EFORMAT &&
              contains(churn_last_error_message(), "month 13"));
    /* a format that does not match */
    CU_ASSERT_EQUAL(churn_parse_date("19970101", 8, CHURN_DATE_ISO, &t), CHURN_EFORMAT);
    CU_ASSERT_EQUAL(churn_parse_date("1997-01-01", 10, CHURN_DATE_EPOCH, &t), CHURN_EFORMAT);
    CU_ASSERT_EQUAL(churn_parse_date("1997-01-01", 10, 99, &t), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_parse_date(NULL, 0, CHURN_DATE_AUTO, &t), CHURN_EINVAL);
    /* the text need not be NUL-terminated: only len bytes are read */
    CU_ASSERT_EQUAL(churn_parse_date("2000-01-01garbage", 10, CHURN_DATE_AUTO, &t), CHURN_OK);
    CU_ASSERT_EQUAL(t, 946684800);
}

static void test_format_date(void)
{
    char buf[32];
    CU_ASSERT(churn_format_date(0, buf, sizeof buf) == CHURN_OK && !strcmp(buf, "1970-01-01"));
    CU_ASSERT(churn_format_date(-1, buf, sizeof buf) == CHURN_OK && !strcmp(buf, "1969-12-31"));
    CU_ASSERT(churn_format_date(951782400, buf, sizeof buf) == CHURN_OK &&
              !strcmp(buf, "2000-02-29"));
    CU_ASSERT(churn_format_date(253402300799.0, buf, 11) == CHURN_OK &&
              !strcmp(buf, "9999-12-31"));
    CU_ASSERT_EQUAL(churn_format_date(0, buf, 10), CHURN_ERANGE);
    CU_ASSERT_EQUAL(churn_format_date(NAN, buf, sizeof buf), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_format_date(INFINITY, buf, sizeof buf), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_format_date(0, NULL, 0), CHURN_EINVAL);
}

/* ---- reading good files ------------------------------------------------------ */

static void test_cdnow(void)
{
    const char *path = churn_test_data_path("cdnow/CDNOW_sample.txt");
    if (!path) {
        churn_test_skip("cdnow", "../shared/data/cdnow/CDNOW_sample.txt is absent");
        return;
    }
    churn_txlog *log = new_log();
    churn_csv_options o;
    churn_csv_options_init(&o);
    o.has_header = 0;
    o.id_column = "1";
    o.time_column = "3";
    o.amount_column = "5";
    o.quantity_column = "4";
    int rc = churn_txlog_read_csv(log, path, &o);
    if (rc)
        printf("\n  %s\n", churn_last_error_message());
    CU_ASSERT_EQUAL_FATAL(rc, CHURN_OK);
    /* published: 6,919 purchases by 2,357 customers, 1997-01-01 .. 1998-06-30 */
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 6919);
    CU_ASSERT_EQUAL(churn_txlog_num_customers(log), 2357);
    CU_ASSERT_EQUAL(churn_txlog_rows_read(log), 6919);
    CU_ASSERT_EQUAL(churn_txlog_rows_skipped(log), 0);
    char d0[16], d1[16];
    CU_ASSERT(churn_format_date(churn_txlog_min_time(log), d0, sizeof d0) == CHURN_OK);
    CU_ASSERT(churn_format_date(churn_txlog_max_time(log), d1, sizeof d1) == CHURN_OK);
    CU_ASSERT_STRING_EQUAL(d0, "1997-01-01");
    CU_ASSERT_STRING_EQUAL(d1, "1998-06-30");
    /* first line " 00004 0001 19970101  2   29.33": ids keep their text */
    CU_ASSERT_STRING_EQUAL(churn_txlog_customer_id(log, 0), "00004");
    CU_ASSERT_EQUAL(churn_txlog_amounts(log)[0], 29.33);
    CU_ASSERT_EQUAL(churn_txlog_quantities(log)[0], 2);
    CU_ASSERT_EQUAL(churn_txlog_times(log)[0], 852076800);
    size_t k;
    CU_ASSERT(churn_txlog_find_customer(log, "00021", &k) == CHURN_OK && k == 1);
    churn_txlog_free(log);
}

static void test_delimiters_and_quotes(void)
{
    const char *texts[] = {
        "customer_id,date,amount\r\na,2021-01-04,1.5\r\nb,2021-01-05,-2\r\n",
        "\xEF\xBB\xBF" "customer_id;date;amount\na;2021-01-04;1.5\nb;2021-01-05;-2",
        "customer_id\tdate\tamount\na\t2021-01-04\t1.5\n\nb\t2021-01-05\t-2\n",
        "  customer_id   date  amount  \n a  2021-01-04   1.5\n\n   b 2021-01-05 -2   \n",
        "\"customer_id\",\"date\",\"amount\"\n\"a\",\"2021-01-04\",\"1.5\"\n\"b\",2021-01-05,-2\n",
        "CUSTOMER_ID, Date ,amount\na , 2021-01-04,  1.5\nb,2021-01-05 ,-2\n",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        churn_txlog *log = new_log();
        int rc = read_text(log, texts[i], NULL);
        if (rc)
            printf("\n  text %zu: %s\n", i, churn_last_error_message());
        CU_ASSERT_EQUAL(rc, CHURN_OK);
        CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 2);
        if (churn_txlog_num_transactions(log) == 2) {
            CU_ASSERT_STRING_EQUAL(churn_txlog_customer_id(log, 0), "a");
            CU_ASSERT_STRING_EQUAL(churn_txlog_customer_id(log, 1), "b");
            CU_ASSERT_EQUAL(churn_txlog_amounts(log)[0], 1.5);
            CU_ASSERT_EQUAL(churn_txlog_amounts(log)[1], -2);
            CU_ASSERT_EQUAL(churn_txlog_times(log)[1], 1609804800);
        }
        churn_txlog_free(log);
    }
    /* quoted ids with delimiters, escaped quotes and a line break; extra
     * columns; columns in another order; product and quantity */
    const char *text = "amount,note,date,customer_id,qty,product\n"
                       "10,\"x, y\",2021-01-04,\"Smith, \"\"Jo\"\"\",2,\"p\"\"1\"\n"
                       "0,\"multi\nline\",2021-01-05,\"two\nlines\",,\n"
                       "-3.5,,2021-01-06,\"Smith, \"\"Jo\"\"\",1,p2\n";
    churn_txlog *log = new_log();
    churn_csv_options o = CHURN_CSV_OPTIONS_INIT;
    o.quantity_column = "qty";
    o.product_column = "product";
    int rc = read_text(log, text, &o);
    if (rc)
        printf("\n  %s\n", churn_last_error_message());
    CU_ASSERT_EQUAL_FATAL(rc, CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 3);
    CU_ASSERT_EQUAL(churn_txlog_num_customers(log), 2);
    CU_ASSERT_STRING_EQUAL(churn_txlog_customer_id(log, 0), "Smith, \"Jo\"");
    CU_ASSERT_STRING_EQUAL(churn_txlog_customer_id(log, 1), "two\nlines");
    CU_ASSERT_EQUAL(churn_txlog_customers(log)[2], 0);
    CU_ASSERT_EQUAL(churn_txlog_amounts(log)[1], 0); /* zero amounts are data */
    CU_ASSERT_EQUAL(churn_txlog_amounts(log)[2], -3.5); /* refunds too */
    CU_ASSERT_EQUAL(churn_txlog_quantities(log)[0], 2);
    CU_ASSERT(isnan(churn_txlog_quantities(log)[1]));
    CU_ASSERT_EQUAL(churn_txlog_num_products(log), 2);
    CU_ASSERT_STRING_EQUAL(churn_txlog_product_id(log, 0), "p\"1");
    CU_ASSERT_EQUAL(churn_txlog_products(log)[1], UINT32_MAX);
    CU_ASSERT_EQUAL(churn_txlog_products(log)[2], 1);
    churn_txlog_free(log);

    /* positions, an explicit delimiter, epoch dates */
    log = new_log();
    churn_csv_options_init(&o);
    o.has_header = 0;
    o.delimiter = '|';
    o.id_column = "2";
    o.time_column = "1";
    o.amount_column = "3";
    o.date_format = CHURN_DATE_EPOCH;
    CU_ASSERT_EQUAL(read_text(log, "86400|u1|5\n172800.5|u2|6", &o), CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 2);
    CU_ASSERT_EQUAL(churn_txlog_times(log)[1], 172800.5);
    churn_txlog_free(log);
}

static void test_gzip_and_stdin(void)
{
    churn_txlog *log = new_log();
    int rc = churn_txlog_read_csv(log, CORPUS "good.csv.gz", NULL);
    if (rc)
        printf("\n  %s\n", churn_last_error_message());
    CU_ASSERT_EQUAL(rc, CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 3);
    CU_ASSERT_EQUAL(churn_txlog_num_customers(log), 2);
    CU_ASSERT_EQUAL(churn_txlog_amounts(log)[2], -2.25);
    /* "-" reads standard input */
    FILE *f = freopen(CORPUS "good_semicolon.csv", "r", stdin);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    rc = churn_txlog_read_csv(log, "-", NULL);
    CU_ASSERT_EQUAL(rc, CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 5);
    CU_ASSERT_EQUAL(churn_txlog_num_customers(log), 2); /* c1, c2 again */
    CU_ASSERT_EQUAL(churn_txlog_rows_read(log), 5);
    churn_txlog_free(log);
}

/* Numbers must equal strtod's correctly rounded value, fast path or not. */
static void test_numbers_exact(void)
{
    const char *fixed[] = {"0",   "-0",  "0.1", "29.33", "1e23", "9007199254740993",
                           "9007199254740992.5", "123456789012345678901234567890",
                           "2.2250738585072011e-308", "4.9e-324", "1.7976931348623157e308",
                           "0.000001", ".5", "5.", "+3", "-1E-3", "1e-400",
                           "0.30000000000000000000000000001", "00012.50", "1e22", "1e-22",
                           "123456789.123456789", "18446744073709551616"};
    size_t nfixed = sizeof fixed / sizeof fixed[0], nrand = 20000, n = nfixed + nrand;
    char **nums = malloc(n * sizeof *nums);
    uint64_t st = 88172645463325252ULL;
    for (size_t i = 0; i < n; i++) {
        nums[i] = malloc(64);
        if (i < nfixed) {
            strcpy(nums[i], fixed[i]);
            continue;
        }
        /* xorshift: random digit strings of 1..22 digits, a point somewhere,
         * sometimes an exponent */
        st ^= st << 13, st ^= st >> 7, st ^= st << 17;
        int nd = 1 + (int)(st % 22), pt = (int)((st >> 8) % (uint64_t)(nd + 1));
        char *p = nums[i];
        if ((st >> 20) & 1)
            *p++ = '-';
        for (int k = 0; k < nd; k++) {
            st ^= st << 13, st ^= st >> 7, st ^= st << 17;
            if (k == pt)
                *p++ = '.';
            *p++ = (char)('0' + st % 10);
        }
        if (((st >> 30) & 7) == 0)
            p += sprintf(p, "e%d", (int)((st >> 40) % 61) - 30);
        *p = '\0';
    }
    size_t cap = n * 96 + 64, len = 0;
    char *text = malloc(cap);
    len += (size_t)sprintf(text, "customer_id,date,amount\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(text + len, "c%zu,2021-01-01,%s\n", i % 97, nums[i]);
    churn_txlog *log = new_log();
    int rc = churn_txlog_read_csv_buffer(log, text, len, NULL);
    if (rc)
        printf("\n  %s\n", churn_last_error_message());
    CU_ASSERT_EQUAL_FATAL(rc, CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_txlog_num_transactions(log), n);
    const double *a = churn_txlog_amounts(log);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        double ref = strtod(nums[i], NULL);
        if (memcmp(&ref, &a[i], sizeof ref) != 0 && bad++ < 5)
            printf("\n  '%s': %.17g, strtod %.17g\n", nums[i], a[i], ref);
    }
    CU_ASSERT_EQUAL(bad, 0);
    churn_txlog_free(log);
    for (size_t i = 0; i < n; i++)
        free(nums[i]);
    free(nums);
    free(text);
}

/* More than one read block (1 MiB), with quoted fields and line breaks inside
 * quotes falling on every kind of boundary. */
static void test_large_file(void)
{
    const char *path = tmp_path("test_csv_large.csv");
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fprintf(f, "customer_id,date,amount\r\n");
    size_t n = 120000;
    for (size_t i = 0; i < n; i++) {
        if (i % 7 == 0)
            fprintf(f, "\"q\"\"%zu\",2021-%02zu-%02zu,%zu.25\r\n", i % 5000, 1 + i % 12,
                    1 + i % 28, i);
        else if (i % 11 == 0)
            fprintf(f, "\"n\n%zu\",\"2021-%02zu-%02zu\",%zu.25\n", i % 5000, 1 + i % 12,
                    1 + i % 28, i);
        else
            fprintf(f, "c%zu,2021-%02zu-%02zu,%zu.25\n", i % 5000, 1 + i % 12, 1 + i % 28, i);
    }
    fclose(f);
    churn_txlog *log = new_log();
    int rc = churn_txlog_read_csv(log, path, NULL);
    if (rc)
        printf("\n  %s\n", churn_last_error_message());
    CU_ASSERT_EQUAL_FATAL(rc, CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_txlog_num_transactions(log), n);
    const double *a = churn_txlog_amounts(log), *t = churn_txlog_times(log);
    const uint32_t *c = churn_txlog_customers(log);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        char id[32];
        if (i % 7 == 0)
            snprintf(id, sizeof id, "q\"%zu", i % 5000);
        else if (i % 11 == 0)
            snprintf(id, sizeof id, "n\n%zu", i % 5000);
        else
            snprintf(id, sizeof id, "c%zu", i % 5000);
        double tt = naive_days(2021, (int)(1 + i % 12), (int)(1 + i % 28)) * 86400.0;
        if (a[i] != (double)i + 0.25 || t[i] != tt ||
            strcmp(churn_txlog_customer_id(log, c[i]), id) != 0)
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    churn_txlog_free(log);
    remove(path);
}

/* Integer-looking ids: "7" and "007" are different customers, ids keep their
 * text, and an id seen before and after the reader's integer fast path
 * covers its value is still one customer. */
static void test_integer_ids(void)
{
    size_t n = 80000, cap = n * 40 + 256, len = 0;
    char *text = malloc(cap);
    len += (size_t)sprintf(text, "customer_id,date,amount\n");
    const char *special[] = {"2000000", "7", "007", "0", "123456789", "1234567890", "+5",
                             "-3", "99999999999999999999"};
    size_t nspecial = sizeof special / sizeof special[0];
    for (size_t i = 0; i < nspecial; i++)
        len += (size_t)sprintf(text + len, "%s,2021-01-01,%zu\n", special[i], i);
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(text + len, "%zu,2021-01-02,1\n", (i * 7919) % 40000 + 1000);
    for (size_t i = 0; i < nspecial; i++)
        len += (size_t)sprintf(text + len, "%s,2021-01-03,%zu\n", special[i], i);
    churn_txlog *log = new_log();
    /* an id known before the read */
    CU_ASSERT_EQUAL(churn_txlog_append(log, "1000", 0, 1), CHURN_OK);
    int rc = churn_txlog_read_csv_buffer(log, text, len, NULL);
    CU_ASSERT_EQUAL_FATAL(rc, CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 1 + n + 2 * nspecial);
    /* "1000" (known before) is one of the 40000 ids of the middle block */
    CU_ASSERT_EQUAL(churn_txlog_num_customers(log), 40000 + nspecial);
    for (size_t i = 0; i < nspecial; i++)
        CU_ASSERT_STRING_EQUAL(churn_txlog_customer_id(log, 1 + i), special[i]);
    /* the last rows map to the customers of the first ones */
    const uint32_t *c = churn_txlog_customers(log);
    size_t total = churn_txlog_num_transactions(log), bad = 0;
    for (size_t i = 0; i < nspecial; i++)
        bad += c[total - nspecial + i] != 1 + i || c[1 + i] != 1 + i;
    /* rows of the middle block: customer text equals the row's id */
    for (size_t i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "%zu", (i * 7919) % 40000 + 1000);
        bad += strcmp(churn_txlog_customer_id(log, c[1 + nspecial + i]), id) != 0;
    }
    CU_ASSERT_EQUAL(bad, 0);
    size_t k;
    CU_ASSERT(churn_txlog_find_customer(log, "1000", &k) == CHURN_OK && k == 0);
    churn_txlog_free(log);
    free(text);
}

/* ---- the corrupted corpus ------------------------------------------------------ */

typedef struct bad_case {
    const char *file;
    const char *line;   /* expected "line N" text, or NULL */
    const char *column; /* expected column text, or NULL */
} bad_case;

static void test_corrupted_corpus(void)
{
    const bad_case cases[] = {
        {"truncated_line.csv", "line 4", "column 'amount'"},
        {"truncated_fields.csv", "line 3", "column 'amount'"},
        {"bad_date.csv", "line 4", "column 'date': cannot parse '1997-13-01' as a date"},
        {"bad_leap_day.csv", "line 3", "column 'date'"},
        {"bad_number.csv", "line 3", "column 'amount': cannot parse '12.5.3'"},
        {"nan_amount.csv", "line 3", "column 'amount'"},
        {"inf_amount.csv", "line 3", "column 'amount'"},
        {"overflow_amount.csv", "line 2", "column 'amount'"},
        {"stray_quote.csv", "line 3", "column 'customer_id'"},
        {"quote_then_text.csv", "line 3", "column 'customer_id'"},
        {"unterminated_quote.csv", "line 3", "column 'customer_id'"},
        {"wrong_column_count.csv", "line 3", "column 4"},
        {"missing_column.csv", "line 1", "column 'amount'"},
        {"empty_id.csv", "line 3", "column 'customer_id'"},
        {"nul_in_row.csv", "line 3", "column 'customer_id'"},
        {"garbage_after_header.csv", "line 2", "column"},
        {"binary_garbage.bin", "line 1", "column"},
        {"empty.csv", "empty file", NULL},
        {"blank_lines.csv", "empty file", NULL},
        {"header_only.csv", "no data rows", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, CORPUS "%s", cases[i].file);
        /* a log that already holds rows keeps exactly those */
        churn_txlog *log = new_log();
        CU_ASSERT_EQUAL(churn_txlog_append(log, "keep", 0, 1), CHURN_OK);
        int rc = churn_txlog_read_csv(log, path, NULL);
        const char *msg = churn_last_error_message();
        if (rc != CHURN_EFORMAT)
            printf("\n  %s: rc %d '%s'\n", cases[i].file, rc, msg);
        CU_ASSERT_EQUAL(rc, CHURN_EFORMAT);
        CU_ASSERT(contains(msg, cases[i].file));
        CU_ASSERT(contains(msg, cases[i].line));
        if (cases[i].column) {
            CU_ASSERT(contains(msg, cases[i].column));
        }
        CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 1);
        CU_ASSERT_EQUAL(churn_txlog_num_customers(log), 1);
        CU_ASSERT_EQUAL(churn_txlog_rows_read(log), 0);
        size_t k;
        CU_ASSERT_EQUAL(churn_txlog_find_customer(log, "c1", &k), CHURN_ENOTFOUND);
        churn_txlog_free(log);
    }
    /* cannot open */
    churn_txlog *log = new_log();
    CU_ASSERT_EQUAL(churn_txlog_read_csv(log, CORPUS "no_such_file.csv", NULL), CHURN_EIO);
    CU_ASSERT(contains(churn_last_error_message(), "no_such_file.csv"));
    CU_ASSERT_EQUAL(churn_txlog_read_csv(log, CORPUS, NULL), CHURN_EIO);
    CU_ASSERT_EQUAL(churn_txlog_read_csv_buffer(log, "", 0, NULL), CHURN_EFORMAT);
    churn_txlog_free(log);
}

/* A line of several megabytes: an error naming its line, and a valid row
 * with a multi-megabyte quoted id that reads correctly. */
static void test_huge_lines(void)
{
    const char *path = tmp_path("test_csv_huge_line.csv");
    size_t big = 5u << 20;
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fprintf(f, "customer_id,date,amount\na,2021-01-01,1\n");
    for (size_t i = 0; i < big; i++)
        fputc('x', f);
    fprintf(f, "\nb,2021-01-02,2\n\"");
    for (size_t i = 0; i < 3 * big / 5; i++)
        fputs(i % 1000 == 999 ? "\"\"" : "y", f);
    fprintf(f, "\",2021-01-03,3\n");
    fclose(f);

    churn_txlog *log = new_log();
    int rc = churn_txlog_read_csv(log, path, NULL);
    CU_ASSERT_EQUAL(rc, CHURN_EFORMAT);
    CU_ASSERT(contains(churn_last_error_message(), "line 3, column 'date': missing"));
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 0);

    churn_csv_options o = CHURN_CSV_OPTIONS_INIT;
    o.skip_bad_rows = 1;
    rc = churn_txlog_read_csv(log, path, &o);
    CU_ASSERT_EQUAL_FATAL(rc, CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 3);
    CU_ASSERT_EQUAL(churn_txlog_rows_read(log), 4);
    CU_ASSERT_EQUAL(churn_txlog_rows_skipped(log), 1);
    CU_ASSERT_EQUAL(churn_txlog_amounts(log)[2], 3);
    const char *id = churn_txlog_customer_id(log, 2);
    CU_ASSERT(id && strlen(id) == 3 * big / 5);
    CU_ASSERT(id && id[999] == '"' && id[0] == 'y');
    churn_txlog_free(log);
    remove(path);

    /* a quote opened and never closed is reported at its line, not after
     * swallowing the rest of the input */
    size_t n = 3u << 20;
    char *text = malloc(n);
    strcpy(text, "customer_id,date,amount\n\"a,2021-01-01,1\n");
    for (size_t i = strlen(text); i < n; i++)
        text[i] = i % 20 == 19 ? '\n' : 'z';
    log = new_log();
    CU_ASSERT_EQUAL(churn_txlog_read_csv_buffer(log, text, n, NULL), CHURN_EFORMAT);
    CU_ASSERT(contains(churn_last_error_message(),
                       "line 2, column 'customer_id': unterminated quoted field"));
    churn_txlog_free(log);
    free(text);
}

/* Write `n` rows "c<i>,2021-01-<d>,<i>" (after a header) gzip-compressed to `path`; return the
 * compressed size. */
static long write_gz(const char *path, int n)
{
    gzFile g = gzopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    gzputs(g, "customer_id,date,amount\n");
    for (int i = 0; i < n; i++)
        gzprintf(g, "c%d,2021-01-%02d,%d\n", i % 97, 1 + i % 28, i);
    gzclose(g);
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    return size;
}

static void truncate_file(const char *path, long size)
{
    FILE *f = fopen(path, "r+b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(ftruncate(fileno(f), size), 0);
    fclose(f);
}

/* A gzip stream cut short is an error naming how far the read got, whatever the skip
 * policy (zlib's gzread returns 0 at a cut; only gzerror tells a cut from the end). */
static void test_truncated_gzip(void)
{
    const char *path = tmp_path("test_csv_cut.csv.gz");
    long size = write_gz(path, 200000);
    churn_txlog *log = new_log();
    CU_ASSERT_EQUAL(churn_txlog_read_csv(log, path, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 200000);
    churn_txlog_free(log);
    /* the trailer missing (8 bytes: CRC and length), then a cut in the middle */
    const long cuts[2] = {size - 8, size / 2};
    for (int k = 0; k < 2; k++) {
        write_gz(path, 200000);
        truncate_file(path, cuts[k]);
        for (int skip = 0; skip < 2; skip++) {
            churn_csv_options o = CHURN_CSV_OPTIONS_INIT;
            o.skip_bad_rows = skip;
            log = new_log();
            int rc = churn_txlog_read_csv(log, path, &o);
            CU_ASSERT_EQUAL(rc, CHURN_EIO);
            CU_ASSERT(contains(churn_last_error_message(), "truncated or corrupt"));
            CU_ASSERT(contains(churn_last_error_message(), "test_csv_cut.csv.gz"));
            CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 0); /* nothing kept */
            /* rows_failed says how far it got */
            CU_ASSERT_EQUAL(churn_txlog_rows_read(log), 0);
            CU_ASSERT(churn_txlog_rows_failed(log) > (k ? 50000u : 190000u));
            churn_txlog_free(log);
        }
    }
    remove(path);
}

/* NUL bytes and records without end fail at once, naming the byte offset, instead of growing
 * a buffer without limit (churn describe /dev/zero). */
static void test_nul_and_record_limit(void)
{
    churn_txlog *log = new_log();
    static const char nul[] = "customer_id,date,amount\na,2021-01-01,1\nb,2021\0-01-02,2\n";
    CU_ASSERT_EQUAL(churn_txlog_read_csv_buffer(log, nul, sizeof nul - 1, NULL), CHURN_EFORMAT);
    CU_ASSERT(contains(churn_last_error_message(), "line 3, column 'date'"));
    struct stat sb;
    if (stat("/dev/zero", &sb) == 0 && S_ISCHR(sb.st_mode)) {
        CU_ASSERT_EQUAL(churn_txlog_read_csv(log, "/dev/zero", NULL), CHURN_EFORMAT);
        CU_ASSERT(contains(churn_last_error_message(), "/dev/zero: a NUL byte at byte offset 0"));
    }
    const char *path = tmp_path("test_csv_no_breaks.csv");
    FILE *f = fopen(path, "w");
    fputs("customer_id,date,amount\na,2021-01-01,1\n", f);
    for (int i = 0; i < (3 << 20); i++)
        fputc('x', f);
    fclose(f);
    churn_csv_options o = CHURN_CSV_OPTIONS_INIT;
    o.max_record_bytes = 1 << 20;
    CU_ASSERT_EQUAL(churn_txlog_read_csv(log, path, &o), CHURN_EFORMAT);
    CU_ASSERT(contains(churn_last_error_message(), "line 3: a record of more than 1048576 bytes "
                                                   "starts at byte offset 39"));
    o.max_record_bytes = 0; /* the default, 16 MiB, takes the 3 MiB record (a bad row) */
    CU_ASSERT_EQUAL(churn_txlog_read_csv(log, path, &o), CHURN_EFORMAT);
    CU_ASSERT(contains(churn_last_error_message(), "line 3"));
    CU_ASSERT(!strstr(churn_last_error_message(), "record of more than"));
    remove(path);
    churn_txlog_free(log);
}

/* allow_empty: a header without rows is an empty read (a day without transactions). */
static void test_allow_empty_and_rows_read(void)
{
    churn_txlog *log = new_log();
    static const char empty[] = "customer_id,date,amount\n";
    CU_ASSERT_EQUAL(churn_txlog_read_csv_buffer(log, empty, sizeof empty - 1, NULL),
                    CHURN_EFORMAT);
    CU_ASSERT(contains(churn_last_error_message(), "no data rows after the header"));
    churn_csv_options o = CHURN_CSV_OPTIONS_INIT;
    o.allow_empty = 1;
    CU_ASSERT_EQUAL(churn_txlog_read_csv_buffer(log, empty, sizeof empty - 1, &o), CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 0);
    CU_ASSERT_EQUAL(churn_txlog_read_csv_buffer(log, "", 0, &o), CHURN_EFORMAT); /* no header */
    /* a failed read keeps no row; rows_failed counts the rows it got through */
    static const char bad[] = "customer_id,date,amount\na,2021-01-01,1\nb,2021-01-02,2\n"
                              "c,notadate,3\nd,2021-01-04,4\n";
    CU_ASSERT_EQUAL(churn_txlog_read_csv_buffer(log, bad, sizeof bad - 1, NULL), CHURN_EFORMAT);
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 0);
    CU_ASSERT_EQUAL(churn_txlog_rows_read(log), 0);   /* a failed read keeps nothing */
    CU_ASSERT_EQUAL(churn_txlog_rows_failed(log), 3); /* but says how far it got */
    CU_ASSERT_EQUAL(churn_txlog_read_csv_buffer(log, bad, 39, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_rows_failed(log), 0);
    churn_txlog_free(log);
}

static void test_skip_bad_rows(void)
{
    const char *text = "customer_id,date,amount\n"
                       "a,2021-01-04,1\n"
                       "b,2021-02-30,2\n"         /* line 3: bad date */
                       "c,2021-01-05,abc\n"       /* line 4: bad number */
                       "d,2021-01-06\n"           /* line 5: missing amount */
                       "e,2021-01-07,4\n"
                       ",2021-01-08,5\n"          /* line 7: empty id */
                       "f\"x,2021-01-09,6\n"      /* line 8: stray quote */
                       "g,2021-01-10,nan\n"       /* line 9: NaN */
                       "h,2021-01-11,0\n";
    churn_txlog *log = new_log();
    churn_csv_options o = CHURN_CSV_OPTIONS_INIT;
    o.skip_bad_rows = 1;
    o.max_messages = 3;
    int rc = read_text(log, text, &o);
    CU_ASSERT_EQUAL_FATAL(rc, CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_rows_read(log), 9);
    CU_ASSERT_EQUAL(churn_txlog_rows_skipped(log), 6);
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 3);
    /* skipped rows leave no customer behind */
    CU_ASSERT_EQUAL(churn_txlog_num_customers(log), 3);
    CU_ASSERT(churn_txlog_skip_message(log, 0) &&
              contains(churn_txlog_skip_message(log, 0), "<buffer>, line 3, column 'date'"));
    CU_ASSERT(churn_txlog_skip_message(log, 1) &&
              contains(churn_txlog_skip_message(log, 1), "line 4, column 'amount'"));
    CU_ASSERT(churn_txlog_skip_message(log, 2) &&
              contains(churn_txlog_skip_message(log, 2), "line 5"));
    CU_ASSERT_PTR_NULL(churn_txlog_skip_message(log, 3));
    /* the same text without skipping fails at line 3 and keeps nothing */
    churn_txlog *strict = new_log();
    CU_ASSERT_EQUAL(read_text(strict, text, NULL), CHURN_EFORMAT);
    CU_ASSERT(contains(churn_last_error_message(), "line 3"));
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(strict), 0);
    CU_ASSERT_EQUAL(churn_txlog_num_customers(strict), 0);
    churn_txlog_free(strict);
    churn_txlog_free(log);
}

static void test_options(void)
{
    churn_txlog *log = new_log();
    const char *text = "customer_id,date,amount\na,2021-01-04,1\n";
    churn_csv_options o = CHURN_CSV_OPTIONS_INIT;
    o.delimiter = '"';
    CU_ASSERT_EQUAL(read_text(log, text, &o), CHURN_EINVAL);
    churn_csv_options_init(&o);
    o.date_format = 17;
    CU_ASSERT_EQUAL(read_text(log, text, &o), CHURN_EINVAL);
    churn_csv_options_init(&o);
    o.has_header = 0;
    o.time_column = "date";
    CU_ASSERT_EQUAL(read_text(log, text, &o), CHURN_EINVAL);
    CU_ASSERT(contains(churn_last_error_message(), "time_column"));
    churn_csv_options_init(&o);
    o.amount_column = "0";
    CU_ASSERT_EQUAL(read_text(log, text, &o), CHURN_EINVAL);
    churn_csv_options_init(&o);
    o.amount_column = "9";
    CU_ASSERT_EQUAL(read_text(log, text, &o), CHURN_EFORMAT);
    CU_ASSERT(contains(churn_last_error_message(), "column 9"));
    /* CDNOW-like data read with a header: the message suggests it has none */
    CU_ASSERT_EQUAL(read_text(log, "1 19970101 3\n2 19970102 4\n", NULL), CHURN_EFORMAT);
    CU_ASSERT(contains(churn_last_error_message(), "no header"));
    o.struct_size = 3;
    CU_ASSERT_EQUAL(read_text(log, text, &o), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_txlog_read_csv(NULL, "x", NULL), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_txlog_read_csv(log, NULL, NULL), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_txlog_read_csv_buffer(log, NULL, 3, NULL), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 0);
    churn_txlog_free(log);
}

/* Every allocation failure is reported as ENOMEM and leaks nothing (the
 * sanitizer and valgrind runs check the leaks). */
static long alloc_budget = -1;
static void *failing_alloc(void *ud, void *ptr, size_t n)
{
    (void)ud;
    if (n == 0) {
        free(ptr);
        return NULL;
    }
    if (alloc_budget == 0)
        return NULL;
    if (alloc_budget > 0)
        alloc_budget--;
    return realloc(ptr, n);
}

static void test_out_of_memory(void)
{
    const char *text = "customer_id,date,amount,product\n\"a\"\"1\",2021-01-04,1,p\n"
                       "b,2021-01-05,2,q\nbad,2021-13-01,3,r\n";
    int ok = 0;
    for (long budget = 0; budget < 200 && !ok; budget++) {
        churn_txlog *log = new_log();
        churn_csv_options o = CHURN_CSV_OPTIONS_INIT;
        o.skip_bad_rows = 1;
        o.product_column = "product";
        churn_set_allocator(failing_alloc, NULL);
        alloc_budget = budget;
        int rc = read_text(log, text, &o);
        alloc_budget = -1;
        churn_set_allocator(NULL, NULL);
        CU_ASSERT(rc == CHURN_OK || rc == CHURN_ENOMEM);
        if (rc == CHURN_OK) {
            ok = 1;
            CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 2);
        } else {
            CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 0);
            CU_ASSERT_EQUAL(churn_txlog_rows_read(log), 0);
        }
        churn_txlog_free(log);
    }
    CU_ASSERT(ok);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"parse_date_known", test_parse_date_known},
        {"parse_date_rules", test_parse_date_rules},
        {"parse_date_errors", test_parse_date_errors},
        {"format_date", test_format_date},
        {"cdnow", test_cdnow},
        {"delimiters_and_quotes", test_delimiters_and_quotes},
        {"gzip_and_stdin", test_gzip_and_stdin},
        {"numbers_exact", test_numbers_exact},
        {"large_file", test_large_file},
        {"integer_ids", test_integer_ids},
        {"corrupted_corpus", test_corrupted_corpus},
        {"huge_lines", test_huge_lines},
        {"truncated_gzip", test_truncated_gzip},
        {"nul_and_record_limit", test_nul_and_record_limit},
        {"allow_empty_and_rows_read", test_allow_empty_and_rows_read},
        {"skip_bad_rows", test_skip_bad_rows},
        {"options", test_options},
        {"out_of_memory", test_out_of_memory},
        CU_TEST_INFO_NULL,
    };
    return churn_test_run("csv", tests);
}
