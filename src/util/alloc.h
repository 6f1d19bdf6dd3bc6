// Allocation helpers: out-of-memory is fatal (there is no sensible recovery
// in a trainer), so callers never check for NULL.
#ifndef LM_ALLOC_H
#define LM_ALLOC_H
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
// 64-byte aligned, zero-filled; free with free().
float *falloc(size_t n);

#endif
