#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static char *g_cap;  // active capture buffer, or NULL
static size_t g_cap_size;

void lm_capture_begin(char *buf, size_t cap) {
    g_cap = buf, g_cap_size = cap;
    if (cap) buf[0] = '\0';
}

void lm_capture_end(void) { g_cap = NULL; }

static void vreport(const char *tag, const char *fmt, va_list ap) {
    if (g_cap) {
        size_t k = strlen(g_cap);
        if (strcmp(tag, "error") || k + 3 >= g_cap_size) return;  // errors only, while room is left
        if (k) k += (size_t)snprintf(g_cap + k, g_cap_size - k, "; ");
        vsnprintf(g_cap + k, g_cap_size - k, fmt, ap);
        return;
    }
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
