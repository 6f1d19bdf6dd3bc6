#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define CAPTURE_DEPTH 8

static char *g_cap;  // active capture buffer, or NULL
static size_t g_cap_size;
// Enclosing captures, restored by lm_capture_end.
static struct { char *buf; size_t size; } g_outer[CAPTURE_DEPTH];
static int g_depth;

void lm_capture_begin(char *buf, size_t cap) {
    if (g_depth < CAPTURE_DEPTH) g_outer[g_depth].buf = g_cap, g_outer[g_depth].size = g_cap_size;
    g_depth++;
    g_cap = buf, g_cap_size = cap;
    if (buf && cap) buf[0] = '\0';
    if (!cap) g_cap = NULL;
}

void lm_capture_end(void) {
    if (g_depth > 0) g_depth--;
    g_cap = g_depth < CAPTURE_DEPTH ? g_outer[g_depth].buf : NULL;
    g_cap_size = g_depth < CAPTURE_DEPTH ? g_outer[g_depth].size : 0;
}

static void vreport(const char *tag, const char *fmt, va_list ap) {
    if (g_depth > 0) {
        if (!g_cap) return;  // discarding
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
