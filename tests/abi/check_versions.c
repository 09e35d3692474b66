/*
 * ABI check of the symbol versions that protect old binaries: a program linked
 * against libchurn 1.0 calls churn_customer_options_init@CHURN_1.0, which must
 * write only the 1.0 struct (72 bytes on LP64) and record that size; one linked
 * against 1.1 calls @CHURN_1.1, which writes only the 1.1 struct (80 bytes, up
 * to `columns`); the default version (@@CHURN_1.2) fills the whole current
 * struct (with `period`). The same for churn_csv_options_init and
 * churn_btyd_options_init (@CHURN_1.0: 40 bytes; @@CHURN_1.2), and
 * churn_simulate_options_init (@CHURN_1.0: up to id_prefix; @@CHURN_1.3). Looked up with
 * dlvsym, as the dynamic linker does for an old binary; structs of the old
 * sizes must still be accepted.
 *
 * usage: check_versions LIBCHURN_SO
 */
#define _GNU_SOURCE
#include "churn.h"

#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef void (*init_fn)(churn_customer_options *);
typedef void (*btyd_init_fn)(churn_btyd_options *);
typedef int (*btyd_fit_fn)(churn_model **, int, size_t, const double *, const double *,
                           const double *, const double *, const churn_btyd_options *);

/* churn_simulate_options grew in 1.3 (k, the MBG/CNBD-k shape): the 1.0 init writes only
 * the old prefix (up to id_prefix), the default 1.3 one the whole struct, and a simulation
 * accepts the old-sized struct (k gets its default). */
static int check_simulate_options(void *h)
{
    typedef void (*sim_init_fn)(churn_simulate_options *);
    typedef int (*sim_summary_fn)(const churn_simulate_options *, size_t, double *, double *,
                                  double *, double *, double *, int *);
    int bad = 0;
    sim_init_fn v10 = (sim_init_fn)dlvsym(h, "churn_simulate_options_init", "CHURN_1.0");
    sim_init_fn v13 = (sim_init_fn)dlvsym(h, "churn_simulate_options_init", "CHURN_1.3");
    sim_init_fn dflt = (sim_init_fn)dlsym(h, "churn_simulate_options_init");
    sim_summary_fn summary = (sim_summary_fn)dlsym(h, "churn_simulate_summary");
    const size_t old = offsetof(churn_simulate_options, k);
    unsigned char buf[sizeof(churn_simulate_options) + 16];
    if (!v10 || !v13 || dflt != v13 || !summary) {
        fprintf(stderr, "FAIL: churn_simulate_options_init@CHURN_1.0 %p, @CHURN_1.3 %p, "
                "default %p\n", (void *)v10, (void *)v13, (void *)dflt);
        return 1;
    }
    memset(buf, 0xA5, sizeof buf);
    v10((churn_simulate_options *)(void *)buf);
    churn_simulate_options o;
    memcpy(&o, buf, old);
    if (o.struct_size != old || o.customers != 1000) {
        fprintf(stderr, "FAIL: churn_simulate_options_init@CHURN_1.0 wrote struct_size %zu\n",
                o.struct_size);
        bad = 1;
    }
    for (size_t i = old; i < sizeof buf; i++)
        if (buf[i] != 0xA5) {
            fprintf(stderr, "FAIL: the 1.0 simulate init wrote byte %zu\n", i);
            bad = 1;
            break;
        }
    double x[3], tx[3], T[3];
    if (summary((const churn_simulate_options *)(void *)buf, 3, x, tx, T, NULL, NULL, NULL) !=
        CHURN_OK) {
        fprintf(stderr, "FAIL: a 1.0-sized churn_simulate_options is refused\n");
        bad = 1;
    }
    memset(buf, 0xA5, sizeof buf);
    v13((churn_simulate_options *)(void *)buf);
    memcpy(&o, buf, sizeof o);
    if (o.struct_size != sizeof o || o.k != 0) {
        fprintf(stderr, "FAIL: churn_simulate_options_init@@CHURN_1.3\n");
        bad = 1;
    }
    if (!bad)
        printf("OK: churn_simulate_options_init@CHURN_1.0 writes the %zu-byte old struct, "
               "@@CHURN_1.3 the %zu-byte one\n", old, sizeof(churn_simulate_options));
    return bad;
}

/* churn_btyd_options grew in 1.2 (max_seconds, max_evaluations): the 1.0
 * init writes only the 1.0 prefix (40 bytes on LP64), the default 1.2 one the
 * whole struct, and a fit accepts the 1.0-sized struct (its new fields get
 * their defaults). */
static int check_btyd_options(void *h)
{
    int bad = 0;
    btyd_init_fn v10 = (btyd_init_fn)dlvsym(h, "churn_btyd_options_init", "CHURN_1.0");
    btyd_init_fn v12 = (btyd_init_fn)dlvsym(h, "churn_btyd_options_init", "CHURN_1.2");
    btyd_init_fn dflt = (btyd_init_fn)dlsym(h, "churn_btyd_options_init");
    btyd_fit_fn fit = (btyd_fit_fn)dlsym(h, "churn_btyd_fit");
    void (*model_free)(churn_model *) = (void (*)(churn_model *))dlsym(h, "churn_model_free");
    if (!v10 || !v12 || !dflt || !fit || !model_free) {
        fprintf(stderr, "FAIL: churn_btyd_options_init@CHURN_1.0 %p, @CHURN_1.2 %p, default %p\n",
                (void *)v10, (void *)v12, (void *)dflt);
        return 1;
    }
    if (dflt != v12) {
        fprintf(stderr, "FAIL: the default churn_btyd_options_init is not CHURN_1.2\n");
        bad = 1;
    }
    const size_t size_1_0 = offsetof(churn_btyd_options, max_seconds);
    unsigned char buf[sizeof(churn_btyd_options) + 16];
    churn_btyd_options o;
    memset(buf, 0xA5, sizeof buf);
    v10((churn_btyd_options *)(void *)buf);
    memcpy(&o, buf, size_1_0);
    if (o.struct_size != size_1_0 || o.max_iter != 500 || o.tol != 1e-10) {
        fprintf(stderr, "FAIL: the 1.0 btyd init wrote struct_size %zu (want %zu)\n",
                o.struct_size, size_1_0);
        bad = 1;
    }
    for (size_t i = size_1_0; i < sizeof buf; i++)
        if (buf[i] != 0xA5) {
            fprintf(stderr, "FAIL: the 1.0 btyd init wrote byte %zu, past the 1.0 struct\n", i);
            bad = 1;
            break;
        }
    memset(buf, 0xA5, sizeof buf);
    v12((churn_btyd_options *)(void *)buf);
    memcpy(&o, buf, sizeof o);
    if (o.struct_size != sizeof o || o.max_evaluations != CHURN_BTYD_DEFAULT_MAX_EVALUATIONS ||
        o.max_seconds != 0 || buf[sizeof o] != 0xA5) {
        fprintf(stderr, "FAIL: the 1.2 btyd init\n");
        bad = 1;
    }
    /* a 1.0-sized struct (garbage after it) is accepted by a fit */
    memset(buf, 0xA5, sizeof buf);
    v10((churn_btyd_options *)(void *)buf);
    const double x[6] = {0, 1, 2, 3, 1, 0}, tx[6] = {0, 5, 20, 30, 2, 0};
    const double T[6] = {40, 38, 36, 34, 32, 30};
    churn_model *m = NULL;
    int rc = fit(&m, CHURN_FAMILY_BGNBD, 6, x, tx, T, NULL, (const churn_btyd_options *)(void *)buf);
    if (rc != CHURN_OK && rc != CHURN_ENOCONV) {
        fprintf(stderr, "FAIL: a 1.0-sized churn_btyd_options is refused (status %d)\n", rc);
        bad = 1;
    }
    model_free(m);
    if (!bad)
        printf("OK: churn_btyd_options_init@CHURN_1.0 writes the %zu-byte 1.0 struct, "
               "@@CHURN_1.2 the %zu-byte one\n", size_1_0, sizeof(churn_btyd_options));
    return bad;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: check_versions LIBCHURN_SO\n");
        return 2;
    }
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "FAIL: dlopen: %s\n", dlerror());
        return 1;
    }
    int bad = 0;
    init_fn v10 = (init_fn)dlvsym(h, "churn_customer_options_init", "CHURN_1.0");
    init_fn v11 = (init_fn)dlvsym(h, "churn_customer_options_init", "CHURN_1.1");
    init_fn v12 = (init_fn)dlvsym(h, "churn_customer_options_init", "CHURN_1.2");
    init_fn dflt = (init_fn)dlsym(h, "churn_customer_options_init");
    if (!v10 || !v11 || !v12 || !dflt) {
        fprintf(stderr, "FAIL: churn_customer_options_init@CHURN_1.0 %p, @CHURN_1.1 %p, "
                "@CHURN_1.2 %p, default %p\n", (void *)v10, (void *)v11, (void *)v12,
                (void *)dflt);
        return 1;
    }
    if (dflt != v12) {
        fprintf(stderr, "FAIL: the default churn_customer_options_init is not CHURN_1.2\n");
        bad = 1;
    }
    const size_t size_1_0 = offsetof(churn_customer_options, columns);
    unsigned char buf[sizeof(churn_customer_options) + 16];
    memset(buf, 0xA5, sizeof buf);
    v10((churn_customer_options *)(void *)buf);
    churn_customer_options o;
    memcpy(&o, buf, size_1_0);
    if (o.struct_size != size_1_0 || o.key_fraction != 0.2) {
        fprintf(stderr, "FAIL: the 1.0 init wrote struct_size %zu (want %zu)\n", o.struct_size,
                size_1_0);
        bad = 1;
    }
    for (size_t i = size_1_0; i < sizeof buf; i++)
        if (buf[i] != 0xA5) {
            fprintf(stderr, "FAIL: the 1.0 init wrote byte %zu, past the 1.0 struct\n", i);
            bad = 1;
            break;
        }
    const size_t size_1_1 = offsetof(churn_customer_options, period);
    memset(buf, 0xA5, sizeof buf);
    v11((churn_customer_options *)(void *)buf);
    memcpy(&o, buf, size_1_1);
    if (o.struct_size != size_1_1 || o.columns != NULL) {
        fprintf(stderr, "FAIL: the 1.1 init wrote struct_size %zu (want %zu)\n", o.struct_size,
                size_1_1);
        bad = 1;
    }
    for (size_t i = size_1_1; i < sizeof buf; i++)
        if (buf[i] != 0xA5) {
            fprintf(stderr, "FAIL: the 1.1 init wrote byte %zu, past the 1.1 struct\n", i);
            bad = 1;
            break;
        }
    memset(buf, 0xA5, sizeof buf);
    v12((churn_customer_options *)(void *)buf);
    memcpy(&o, buf, sizeof o);
    if (o.struct_size != sizeof o || o.columns != NULL || o.period != CHURN_PERIOD_NONE ||
        buf[sizeof o] != 0xA5) {
        fprintf(stderr, "FAIL: the 1.2 init\n");
        bad = 1;
    }
    /* a 1.0-sized struct is accepted and means every column */
    int (*new_stream)(churn_customer_stream **, const churn_customer_options *) =
        (int (*)(churn_customer_stream **, const churn_customer_options *))dlsym(
            h, "churn_customer_stream_new");
    void (*free_stream)(churn_customer_stream *) =
        (void (*)(churn_customer_stream *))dlsym(h, "churn_customer_stream_free");
    memset(buf, 0xA5, sizeof buf);
    v10((churn_customer_options *)(void *)buf);
    memcpy(&o, buf, size_1_0);
    o.cutoff = 1.6e9;
    memcpy(buf, &o, size_1_0);
    churn_customer_stream *s = NULL;
    if (!new_stream || !free_stream ||
        new_stream(&s, (const churn_customer_options *)(void *)buf) != CHURN_OK) {
        fprintf(stderr, "FAIL: a 1.0-sized options struct is refused\n");
        bad = 1;
    }
    if (free_stream)
        free_stream(s);
    /* a 1.1-sized struct (0xA5 garbage after it) is accepted: days, no period */
    s = NULL;
    memset(buf, 0xA5, sizeof buf);
    v11((churn_customer_options *)(void *)buf);
    memcpy(&o, buf, size_1_1);
    o.cutoff = 1.6e9;
    memcpy(buf, &o, size_1_1);
    if (!new_stream || new_stream(&s, (const churn_customer_options *)(void *)buf) != CHURN_OK) {
        fprintf(stderr, "FAIL: a 1.1-sized options struct is refused\n");
        bad = 1;
    }
    if (free_stream)
        free_stream(s);

    /* churn_csv_options grew in 1.2 (allow_empty, max_record_bytes): @CHURN_1.0 writes the
     * 1.0 struct only, and a 1.0-sized struct still reads a file (defaults for the tail) */
    typedef void (*csv_init_fn)(churn_csv_options *);
    csv_init_fn c10 = (csv_init_fn)dlvsym(h, "churn_csv_options_init", "CHURN_1.0");
    csv_init_fn c12 = (csv_init_fn)dlvsym(h, "churn_csv_options_init", "CHURN_1.2");
    csv_init_fn cdef = (csv_init_fn)dlsym(h, "churn_csv_options_init");
    const size_t csv_1_0 = offsetof(churn_csv_options, allow_empty);
    unsigned char cbuf[sizeof(churn_csv_options) + 16];
    if (!c10 || !c12 || cdef != c12) {
        fprintf(stderr, "FAIL: churn_csv_options_init@CHURN_1.0 %p, @CHURN_1.2 %p, default %p\n",
                (void *)c10, (void *)c12, (void *)cdef);
        bad = 1;
    } else {
        memset(cbuf, 0xA5, sizeof cbuf);
        c10((churn_csv_options *)(void *)cbuf);
        churn_csv_options co;
        memcpy(&co, cbuf, csv_1_0);
        if (co.struct_size != csv_1_0 || co.max_messages != 10) {
            fprintf(stderr, "FAIL: churn_csv_options_init@CHURN_1.0 wrote struct_size %zu\n",
                    co.struct_size);
            bad = 1;
        }
        for (size_t i = csv_1_0; i < sizeof cbuf; i++)
            if (cbuf[i] != 0xA5) {
                fprintf(stderr, "FAIL: the 1.0 csv init wrote byte %zu\n", i);
                bad = 1;
                break;
            }
        int (*txnew)(churn_txlog **) = (int (*)(churn_txlog **))dlsym(h, "churn_txlog_new");
        void (*txfree)(churn_txlog *) = (void (*)(churn_txlog *))dlsym(h, "churn_txlog_free");
        int (*rdbuf)(churn_txlog *, const char *, size_t, const churn_csv_options *) =
            (int (*)(churn_txlog *, const char *, size_t, const churn_csv_options *))dlsym(
                h, "churn_txlog_read_csv_buffer");
        static const char text[] = "customer_id,date,amount\na,2024-01-01,1\n";
        churn_txlog *log = NULL;
        if (!txnew || !txfree || !rdbuf || txnew(&log) != CHURN_OK ||
            rdbuf(log, text, sizeof text - 1, (const churn_csv_options *)(void *)cbuf) !=
                CHURN_OK) {
            fprintf(stderr, "FAIL: a 1.0-sized churn_csv_options is refused\n");
            bad = 1;
        }
        if (txfree)
            txfree(log);
        memset(cbuf, 0xA5, sizeof cbuf);
        c12((churn_csv_options *)(void *)cbuf);
        memcpy(&co, cbuf, sizeof co);
        if (co.struct_size != sizeof co || co.allow_empty != 0 || co.max_record_bytes != 0) {
            fprintf(stderr, "FAIL: churn_csv_options_init@@CHURN_1.2\n");
            bad = 1;
        }
    }
    if (!bad)
        printf("OK: churn_customer_options_init@CHURN_1.0 writes the %zu-byte 1.0 struct, "
               "@CHURN_1.1 the %zu-byte 1.1 struct, @@CHURN_1.2 the %zu-byte one\n", size_1_0,
               size_1_1, sizeof(churn_customer_options));
    if (!bad)
        printf("OK: churn_csv_options_init@CHURN_1.0 writes the %zu-byte 1.0 struct, "
               "@@CHURN_1.2 the %zu-byte one\n", offsetof(churn_csv_options, allow_empty),
               sizeof(churn_csv_options));
    bad |= check_btyd_options(h);
    bad |= check_simulate_options(h);
    dlclose(h);
    return bad;
}
