#include "util/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *check(void *p, size_t n) {
    if (!p && n) {
        fprintf(stderr, "error: out of memory allocating %zu bytes\n", n);
        abort();
    }
    return p;
}

void *xmalloc(size_t n) { return check(malloc(n ? n : 1), n); }
void *xcalloc(size_t count, size_t size) { return check(calloc(count ? count : 1, size ? size : 1), count * size); }
void *xrealloc(void *p, size_t n) { return check(realloc(p, n ? n : 1), n); }
char *xstrdup(const char *s) { return strcpy(xmalloc(strlen(s) + 1), s); }

float *falloc(size_t n) {
    size_t bytes = ((n * sizeof(float)) + 63) / 64 * 64;
    float *p = check(aligned_alloc(64, bytes ? bytes : 64), bytes);
    memset(p, 0, bytes);
    return p;
}
