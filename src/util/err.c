#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>

static void vreport(const char *tag, const char *fmt, va_list ap) {
    fprintf(stderr, "%s: ", tag);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void lm_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vreport("error", fmt, ap);
    va_end(ap);
}

void lm_hint(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vreport("HINT", fmt, ap);
    va_end(ap);
}
