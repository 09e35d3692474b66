/*
 * The incremental customer state: one customer's running summary, fed one
 * transaction at a time, that gives the incremental columns as of any
 * cutoff. It shares state_add_order() and state_values() (customers_internal.h)
 * with the grouping build, so the two agree bit for bit whenever the
 * transactions reach both in the same order.
 *
 * Owns: churn_customer_state_init, churn_customer_state_add,
 * churn_customer_state_value, churn_customer_state_check_model, the columns in
 * one call (churn_customer_state_values and its column names) and the
 * portable encoding (churn_customer_state_encode / _decode, format in
 * customers.h; CRC-32 from zlib).
 * Calls: customers_setup.c (churn__cust_check_options, churn__cust_col_lookup)
 * and core/.
 */
#include "core/internal.h"

#include "data/customers_internal.h"

#include <zlib.h>

int churn_customer_state_init(churn_customer_state *s, const churn_customer_options *opts)
{
    churn__ok();
    if (!s)
        return churn__error(CHURN_EINVAL, "churn_customer_state_init: 'state' is NULL");
    churn_customer_options o = CHURN_CUSTOMER_OPTIONS_INIT;
    int rc = churn__opts_copy(&o, sizeof o, opts, "churn_customer_options");
    if (rc)
        return rc;
    if ((rc = churn__cust_check_options(&o)))
        return rc;
    if (o.period != CHURN_PERIOD_NONE)
        return churn__error(CHURN_EUNSUPPORTED, "churn_customer_state_init: option 'period' "
                            "(%s) is not supported by the incremental state, which counts "
                            "days; build a table (churn_customers_build or a stream) for "
                            "calendar periods", churn_period_name(o.period));
    state_reset(s, &o);
    return CHURN_OK;
}

int churn_customer_state_add(churn_customer_state *s, double time, double amount)
{
    churn__ok();
    if (!s)
        return churn__error(CHURN_EINVAL, "churn_customer_state_add: 'state' is NULL");
    if (s->struct_size != sizeof *s || !(s->time_unit > 0))
        return churn__error(CHURN_EINVAL, "churn_customer_state_add: 'state' was not set up by "
                            "churn_customer_state_init");
    if (!churn__finite(time))
        return churn__error(CHURN_EINVAL, "churn_customer_state_add: 'time' is not finite");
    if (isinf(amount)) /* NaN is an order of unknown amount (customers.h) */
        return churn__error(CHURN_EINVAL, "churn_customer_state_add: 'amount' is not finite "
                            "(NaN for an unknown amount)");
    if (time < s->last_time)
        return churn__error(CHURN_EINVAL, "churn_customer_state_add: 'time' %.17g is earlier "
                            "than the previous transaction (%.17g); add purchases in time order",
                            time, s->last_time);
    s->last_time = time;
    s->n_transactions += 1;
    if (amount < 0)
        state_add_refund(s, amount);
    else
        state_add_order(s, day_of(time), amount);
    return CHURN_OK;
}

int churn_customer_state_value(const churn_customer_state *s, double cutoff, const char *column,
                               double *value)
{
    churn__ok();
    if (!s || !column || !value)
        return churn__error(CHURN_EINVAL, "churn_customer_state_value: '%s' is NULL",
                            !s ? "state" : !column ? "column" : "value");
    if (s->struct_size != sizeof *s || !(s->time_unit > 0))
        return churn__error(CHURN_EINVAL, "churn_customer_state_value: 'state' was not set up "
                            "by churn_customer_state_init");
    int j = churn__cust_col_lookup(column, strlen(column));
    if (j < 0)
        return churn__error(CHURN_ENOTFOUND, "churn_customer_state_value: no column '%s'",
                            column);
    if (!col_incremental(j))
        return churn__error(CHURN_EUNSUPPORTED, "churn_customer_state_value: column '%s' needs "
                            "the whole history or the population; use churn_customers_build",
                            column);
    if (!churn__finite(cutoff))
        return churn__error(CHURN_EINVAL, "churn_customer_state_value: 'cutoff' is not finite");
    if (j == COL_N_RETURNS || j == COL_RETURNS_AMOUNT) {
        /* NaN amount of an order: its spend columns are unknown (spend_unknown_values) */
        int unknown = isnan(s->first_amount + s->repeat_amount);
        *value = j == COL_N_RETURNS ? s->n_returns : unknown ? NAN : s->returns_amount;
        return CHURN_OK;
    }
    if (s->n_orders == 0)
        return churn__error(CHURN_EINVAL, "churn_customer_state_value: column '%s': the state "
                            "holds no order yet", column);
    double cut = day_of(cutoff);
    if (cut < s->last_day)
        return churn__error(CHURN_EINVAL, "churn_customer_state_value: 'cutoff' (day %.0f) is "
                            "before the last order added (day %.0f)", cut, s->last_day);
    double v[NCOL_ALL];
    state_values(s, cut, v);
    *value = v[j];
    return CHURN_OK;
}

int churn_customer_state_check_model(const churn_customer_state *s, const churn_model *model)
{
    churn__ok();
    if (!s || !model)
        return churn__error(CHURN_EINVAL, "churn_customer_state_check_model: %s is NULL",
                            s ? "model" : "state");
    if (s->struct_size != sizeof *s || !(s->time_unit > 0))
        return churn__error(CHURN_EINVAL, "churn_customer_state_check_model: 'state' was not "
                            "set up by churn_customer_state_init");
    return churn_model_check_time_unit(model, s->time_unit);
}

/* ---- every column in one call ---------------------------------------------------- */

/* The state's columns in the order of churn_customer_state_values() (frozen,
 * appended only): the incremental columns in the table's order. */
static const unsigned char state_cols[] = {
    COL_FREQUENCY,   COL_RECENCY,     COL_T,        COL_MONETARY,   COL_N_ORDERS,
    COL_TOTAL_SPEND, COL_MEAN_ORDER,  COL_FIRST,    COL_LAST,       COL_SINCE_LAST,
    COL_GAP_MEAN,    COL_GAP_STD,     COL_OVERDUE,  COL_N_RETURNS,  COL_RETURNS_AMOUNT,
    COL_NET_SPEND,
};
#define NSTATE_COLS (sizeof state_cols / sizeof state_cols[0])

size_t churn_customer_state_num_columns(void) { return NSTATE_COLS; }

const char *churn_customer_state_column_name(size_t i)
{
    return i < NSTATE_COLS ? col_names[state_cols[i]] : NULL;
}

int churn_customer_state_column_index(const char *column)
{
    if (!column)
        return -2;
    int j = churn__cust_col_lookup(column, strlen(column));
    if (j < 0)
        return -2;
    for (size_t i = 0; i < NSTATE_COLS; i++)
        if (state_cols[i] == j)
            return (int)i;
    return -1;
}

int churn_customer_state_values(const churn_customer_state *s, double cutoff, double *out,
                                 size_t n)
{
    churn__ok();
    static const char fn[] = "churn_customer_state_values";
    if (!s || !out)
        return churn__error(CHURN_EINVAL, "%s: '%s' is NULL", fn, !s ? "state" : "out");
    if (s->struct_size != sizeof *s || !(s->time_unit > 0))
        return churn__error(CHURN_EINVAL, "%s: 'state' was not set up by "
                            "churn_customer_state_init", fn);
    if (n == 0 || n > NSTATE_COLS)
        return churn__error(CHURN_ERANGE, "%s: n = %zu; the state has %zu columns "
                            "(churn_customer_state_num_columns)", fn, n, (size_t)NSTATE_COLS);
    if (!churn__finite(cutoff))
        return churn__error(CHURN_EINVAL, "%s: 'cutoff' is not finite", fn);
    if (s->n_orders == 0)
        return churn__error(CHURN_EINVAL, "%s: the state holds no order yet", fn);
    double cut = day_of(cutoff);
    if (cut < s->last_day)
        return churn__error(CHURN_EINVAL, "%s: 'cutoff' (day %.0f) is before the last order "
                            "added (day %.0f)", fn, cut, s->last_day);
    double v[NCOL_ALL];
    state_values(s, cut, v);
    for (size_t i = 0; i < n; i++)
        out[i] = v[state_cols[i]];
    return CHURN_OK;
}

/* ---- the portable encoding (customers.h documents the format) -------------------- */

enum {
    ENC_MAGIC = 0, ENC_VERSION = 4, ENC_ABI = 6, ENC_LENGTH = 8, ENC_FLAGS = 12,
    ENC_FIELDS = 16, ENC_NFIELDS_V1 = 11, ENC_SIZE_V1 = ENC_FIELDS + 8 * ENC_NFIELDS_V1 + 4,
    ENC_ABI_MAJOR = 1,
};
#define ENC_FLAG_SAME_DAY 1u
#define ENC_FLAG_FIRST_COUNTS 2u
#define ENC_FLAGS_KNOWN_V1 (ENC_FLAG_SAME_DAY | ENC_FLAG_FIRST_COUNTS)

static void put_u16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)((v >> 8) & 0xff);
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)((v >> (8 * i)) & 0xff);
}

static void put_f64(unsigned char *p, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)((v >> (8 * i)) & 0xff);
}

static unsigned get_u16(const unsigned char *p) { return (unsigned)p[0] | (unsigned)p[1] << 8; }

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static double get_f64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    double d;
    memcpy(&d, &v, 8);
    return d;
}

int churn_customer_state_encode(const churn_customer_state *s, unsigned char *buf, size_t cap,
                                size_t *needed)
{
    churn__ok();
    static const char fn[] = "churn_customer_state_encode";
    if (!s)
        return churn__error(CHURN_EINVAL, "%s: 'state' is NULL", fn);
    if (s->struct_size != sizeof *s || !(s->time_unit > 0))
        return churn__error(CHURN_EINVAL, "%s: 'state' was not set up by "
                            "churn_customer_state_init", fn);
    if (needed)
        *needed = ENC_SIZE_V1;
    if (cap < ENC_SIZE_V1)
        return churn__error(CHURN_ERANGE, "%s: buffer of %zu bytes, need %d", fn, cap,
                            (int)ENC_SIZE_V1);
    if (!buf)
        return churn__error(CHURN_EINVAL, "%s: 'buf' is NULL", fn);
    memcpy(buf + ENC_MAGIC, "CHST", 4);
    put_u16(buf + ENC_VERSION, CHURN_STATE_FORMAT_VERSION);
    put_u16(buf + ENC_ABI, ENC_ABI_MAJOR);
    put_u32(buf + ENC_LENGTH, ENC_SIZE_V1);
    put_u32(buf + ENC_FLAGS, (s->same_day_once ? ENC_FLAG_SAME_DAY : 0u) |
                                 (s->first_purchase_counts ? ENC_FLAG_FIRST_COUNTS : 0u));
    const double f[ENC_NFIELDS_V1] = {s->time_unit,    s->last_time,    s->n_transactions,
                                      s->n_orders,     s->first_day,    s->last_day,
                                      s->first_amount, s->repeat_amount, s->gap_sumsq,
                                      s->n_returns,    s->returns_amount};
    for (int i = 0; i < ENC_NFIELDS_V1; i++)
        put_f64(buf + ENC_FIELDS + 8 * i, f[i]);
    put_u32(buf + ENC_SIZE_V1 - 4,
            (uint32_t)crc32(crc32(0L, Z_NULL, 0), buf, (uInt)(ENC_SIZE_V1 - 4)));
    return CHURN_OK;
}

static int is_count(double v) { return v >= 0 && v <= 9007199254740992.0 && v == floor(v); }

int churn_customer_state_decode(churn_customer_state *s, const unsigned char *buf, size_t len)
{
    churn__ok();
    static const char fn[] = "churn_customer_state_decode";
    if (!s || !buf)
        return churn__error(CHURN_EINVAL, "%s: '%s' is NULL", fn, !s ? "state" : "buf");
    if (len < ENC_FIELDS || memcmp(buf, "CHST", 4) != 0)
        return churn__error(CHURN_EFORMAT, "%s: %zu bytes are not a customer state encoding "
                            "(no 'CHST' header)", fn, len);
    unsigned version = get_u16(buf + ENC_VERSION), abi = get_u16(buf + ENC_ABI);
    uint32_t total = get_u32(buf + ENC_LENGTH);
    if (abi != ENC_ABI_MAJOR)
        return churn__error(CHURN_EVERSION, "%s: the state was encoded for ABI major %u; this "
                            "library (libchurn.so.%d) reads major %d", fn, abi,
                            (int)ENC_ABI_MAJOR, (int)ENC_ABI_MAJOR);
    if (version == 0)
        return churn__error(CHURN_EFORMAT, "%s: format version 0 does not exist", fn);
    if (version > CHURN_STATE_FORMAT_VERSION)
        return churn__error(CHURN_EVERSION, "%s: format version %u is newer than this library "
                            "reads (up to %d); decode it with a newer libchurn", fn, version,
                            CHURN_STATE_FORMAT_VERSION);
    if (total != ENC_SIZE_V1 || len != total)
        return churn__error(CHURN_EFORMAT, "%s: format version %u takes %d bytes; the length "
                            "field says %lu and %zu bytes were given", fn, version,
                            (int)ENC_SIZE_V1, (unsigned long)total, len);
    uint32_t want = get_u32(buf + total - 4);
    uint32_t got = (uint32_t)crc32(crc32(0L, Z_NULL, 0), buf, (uInt)(total - 4));
    if (want != got)
        return churn__error(CHURN_EFORMAT, "%s: checksum mismatch (stored %08lx, computed "
                            "%08lx): the bytes are corrupt", fn, (unsigned long)want,
                            (unsigned long)got);
    uint32_t flags = get_u32(buf + ENC_FLAGS);
    if (flags & ~ENC_FLAGS_KNOWN_V1)
        return churn__error(CHURN_EFORMAT, "%s: unknown flags 0x%lx in format version %u", fn,
                            (unsigned long)flags, version);
    double f[ENC_NFIELDS_V1];
    for (int i = 0; i < ENC_NFIELDS_V1; i++)
        f[i] = get_f64(buf + ENC_FIELDS + 8 * i);
    const char *bad = NULL;
    double unit = f[0], last_time = f[1], ntx = f[2], k = f[3], first = f[4], last = f[5];
    double gsq = f[8], nret = f[9], ret = f[10];
    if (!(unit > 0) || !isfinite(unit))
        bad = "time unit";
    else if (!(churn__finite(last_time) || last_time == -HUGE_VAL))
        bad = "time of the last transaction";
    else if (!is_count(ntx) || !is_count(k) || !is_count(nret) || k + nret > ntx)
        bad = "counts";
    else if ((last_time == -HUGE_VAL) != (ntx == 0))
        bad = "time of the last transaction";
    else if (k > 0 && (!churn__finite(first) || !churn__finite(last) || first > last ||
                       first != floor(first) || last != floor(last)))
        bad = "order days";
    else if (!(gsq >= 0) || !(ret >= 0)) /* refunds may sum past DBL_MAX to inf */
        bad = "sums";
    if (bad)
        return churn__error(CHURN_EFORMAT, "%s: impossible %s in the encoded state", fn, bad);
    memset(s, 0, sizeof *s);
    s->struct_size = sizeof *s;
    s->time_unit = unit;
    s->same_day_once = (flags & ENC_FLAG_SAME_DAY) != 0;
    s->first_purchase_counts = (flags & ENC_FLAG_FIRST_COUNTS) != 0;
    s->last_time = last_time;
    s->n_transactions = ntx;
    s->n_orders = k;
    s->first_day = first;
    s->last_day = last;
    s->first_amount = f[6];
    s->repeat_amount = f[7];
    s->gap_sumsq = gsq;
    s->n_returns = nret;
    s->returns_amount = ret;
    return CHURN_OK;
}
