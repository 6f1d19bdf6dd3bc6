// Allocation helpers. Small and fixed-size allocations use the x* helpers
// and never check for NULL: running out of memory there ends the process
// with an "out of memory" error and exit status 1 (all MPI ranks, see
// alloc_set_fatal) - never a signal. Buffers whose size comes from input (a
// file, the configuration) use the *_try variants, which print an error
// naming what did not fit and how large it was and return NULL, so the
// caller returns LM_ERUNTIME with the file or dataset named.
#ifndef LM_ALLOC_H
#define LM_ALLOC_H
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
// 64-byte aligned, zero-filled; free with free().
float *falloc(size_t n);

// NULL after an error "<what>: out of memory allocating <size>".
void *alloc_try(size_t n, const char *what);
float *falloc_try(size_t n, const char *what);

// Called after an x* allocation failed and its message was printed; it must
// not return. Default: exit(1). The CLI installs one that ends every rank.
void alloc_set_fatal(void (*fatal)(void));

#endif
