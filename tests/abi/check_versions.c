/*
 * ABI check of the symbol versions that protect old binaries: a program linked
 * against libchurn 1.0 calls churn_customer_options_init@CHURN_1.0, which must
 * write only the 1.0 struct (72 bytes on LP64) and record that size, while the
 * default version fills the whole current struct. Looked up with dlvsym, as the
 * dynamic linker does for an old binary.
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
    init_fn dflt = (init_fn)dlsym(h, "churn_customer_options_init");
    if (!v10 || !v11 || !dflt) {
        fprintf(stderr, "FAIL: churn_customer_options_init@CHURN_1.0 %p, @CHURN_1.1 %p, "
                "default %p\n", (void *)v10, (void *)v11, (void *)dflt);
        return 1;
    }
    if (dflt != v11) {
        fprintf(stderr, "FAIL: the default churn_customer_options_init is not CHURN_1.1\n");
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
    memset(buf, 0xA5, sizeof buf);
    v11((churn_customer_options *)(void *)buf);
    memcpy(&o, buf, sizeof o);
    if (o.struct_size != sizeof o || o.columns != NULL ||
        buf[sizeof o] != 0xA5) {
        fprintf(stderr, "FAIL: the 1.1 init\n");
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
    dlclose(h);
    if (!bad)
        printf("OK: churn_customer_options_init@CHURN_1.0 writes the %zu-byte 1.0 struct, "
               "@@CHURN_1.1 the %zu-byte one\n", size_1_0, sizeof(churn_customer_options));
    return bad;
}
