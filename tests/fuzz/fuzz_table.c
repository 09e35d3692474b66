/* libFuzzer target: the command's customer-table reader cli_table_read()
 * (bindings/cli/cli.c). It reads a path, so the input is written to an in-memory
 * file (memfd) and read back through /proc/self/fd. The command's error
 * messages go to stderr: run with -close_fd_mask=2 to silence them. */
#define _GNU_SOURCE
#include "cli.h"

#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("table", 0);
    if (fd < 0)
        return 0;
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    cli_table t;
    int rc = cli_table_read("fuzz", path, NULL, &t);
    if (rc == 0) {
        if (t.id_col >= (int)t.ncols || (t.id_col < 0) != (t.numbered != 0))
            abort();
        if (t.unit_declared ? !(t.unit > 0 || t.nrows == 0) : t.unit != 0)
            abort();
        for (size_t i = 0; i < t.nrows; i++)
            if (!t.ids[i])
                abort();
        for (size_t j = 0; j < t.ncols; j++) {
            if (!t.names[j])
                abort();
            (void)cli_table_col("fuzz", &t, t.names[j]);
        }
        (void)cli_table_col("fuzz", &t, "frequency");
        cli_table_free(&t);
    }
    close(fd);
    return 0;
}
