/*
 * A small growing text buffer for the model notes and the longer error
 * messages (collinearity, separation), which are built piece by piece.
 *
 * Calls: core/ only; no other regression file.
 */
#include "regression/regression_internal.h"

#include <stdio.h>

void churn__sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    va_list ap;
    va_start(ap, fmt);
    int need = churn__vsnprintf_c(NULL, 0, fmt, ap); /* numbers with '.' in every locale */
    va_end(ap);
    if (need < 0)
        return;
    if (b->len + (size_t)need + 1 > b->cap) {
        size_t nc = (b->len + (size_t)need + 1) * 2;
        char *ns = churn__realloc(b->s, nc);
        if (!ns) {
            b->oom = 1;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
    va_start(ap, fmt);
    churn__vsnprintf_c(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)need;
}
