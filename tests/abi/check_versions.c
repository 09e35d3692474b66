/*
 * ABI check of the symbol versions that protect old binaries: a program linked
 * against libchurn 1.0 calls churn_customer_options_init@CHURN_1.0, which must
 * write only the 1.0 struct (72 bytes on LP64) and record that size; one linked
 * against 1.1 calls @CHURN_1.1, which writes only the 1.1 struct (80 bytes, up
 * to `columns`); the default version (@@CHURN_1.2) fills the whole current
 * struct (with `period`). Looked up with dlvsym, as the dynamic linker does for
 * an old binary; structs of the old sizes must still build tables.
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
    dlclose(h);
    if (!bad)
        printf("OK: churn_customer_options_init@CHURN_1.0 writes the %zu-byte 1.0 struct, "
               "@CHURN_1.1 the %zu-byte 1.1 struct, @@CHURN_1.2 the %zu-byte one\n", size_1_0,
               size_1_1, sizeof(churn_customer_options));
    return bad;
}
