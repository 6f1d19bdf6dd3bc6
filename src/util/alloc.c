#include "util/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "util/err.h"

static void default_fatal(void) { exit(1); }
static void (*g_fatal)(void) = default_fatal;

void alloc_set_fatal(void (*fatal)(void)) { g_fatal = fatal ? fatal : default_fatal; }

// "<what>: out of memory allocating 2.1 GB (2147483648 bytes)" and, under an
// address-space limit, the limit: the usual reason on a shared node.
static void report(size_t n, const char *what) {
    lm_error("%s%sout of memory allocating %.3g GB (%zu bytes)", what ? what : "", what ? ": " : "",
             (double)n / 1e9, n);
    struct rlimit r;
    if (getrlimit(RLIMIT_AS, &r) == 0 && r.rlim_cur != RLIM_INFINITY)
        lm_hint("the address space is limited to %.3g GB (ulimit -v); raise the limit, or use a "
                "smaller model, batch or file", (double)r.rlim_cur / 1e9);
    else
        lm_hint("the machine has too little free memory for this; use a smaller model, batch or file");
}

static void *check(void *p, size_t n) {
    if (!p && n) {
        report(n, NULL);
        fflush(stdout);
        g_fatal();
    }
    return p;
}

void *xmalloc(size_t n) { return check(malloc(n ? n : 1), n); }
void *xrealloc(void *p, size_t n) { return check(realloc(p, n ? n : 1), n); }
char *xstrdup(const char *s) { return strcpy(xmalloc(strlen(s) + 1), s); }

void *xcalloc(size_t count, size_t size) {
    if (size && count > (size_t)-1 / size) return check(NULL, (size_t)-1);
    return check(calloc(count ? count : 1, size ? size : 1), count * size);
}

static float *aligned_zeroed(size_t n) {
    if (n > ((size_t)-1 - 63) / sizeof(float)) return NULL;
    size_t bytes = ((n * sizeof(float)) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes ? bytes : 64);
    if (p) memset(p, 0, bytes);
    return p;
}

float *falloc(size_t n) { return check(aligned_zeroed(n), n * sizeof(float)); }

void *alloc_try(size_t n, const char *what) {
    void *p = malloc(n ? n : 1);
    if (!p) report(n, what);
    return p;
}

float *falloc_try(size_t n, const char *what) {
    float *p = aligned_zeroed(n);
    if (!p) report(n * sizeof(float), what);
    return p;
}
