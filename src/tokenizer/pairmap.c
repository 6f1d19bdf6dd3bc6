#include "tokenizer/pairmap.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

static void pmap_alloc(PairMap *m, size_t cap) {
    m->cap = cap;
    m->n = 0;
    m->keys = xmalloc(cap * sizeof *m->keys);
    m->vals = xmalloc(cap * sizeof *m->vals);
    memset(m->keys, 0xFF, cap * sizeof *m->keys);
}

void pmap_init(PairMap *m, size_t expect) {
    size_t cap = 64;
    while (cap < 2 * expect) cap *= 2;
    pmap_alloc(m, cap);
}

void pmap_free(PairMap *m) {
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

// Slot holding `key`, or the empty slot where it would go.
static size_t pmap_slot(const PairMap *m, uint64_t key) {
    size_t i = (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 32) & (m->cap - 1);
    while (m->keys[i] != key && m->keys[i] != PAIRMAP_EMPTY) i = (i + 1) & (m->cap - 1);
    return i;
}

int64_t pmap_get(const PairMap *m, uint64_t key) {
    size_t i = pmap_slot(m, key);
    return m->keys[i] == key ? m->vals[i] : -1;
}

static void pmap_grow(PairMap *m) {
    PairMap old = *m;
    pmap_alloc(m, old.cap * 2);
    for (size_t i = 0; i < old.cap; i++) {
        if (old.keys[i] == PAIRMAP_EMPTY) continue;
        size_t j = pmap_slot(m, old.keys[i]);
        m->keys[j] = old.keys[i];
        m->vals[j] = old.vals[i];
        m->n++;
    }
    pmap_free(&old);
}

int64_t pmap_put(PairMap *m, uint64_t key, int64_t val) {
    if (2 * (m->n + 1) > m->cap) pmap_grow(m);
    size_t i = pmap_slot(m, key);
    if (m->keys[i] == key) return m->vals[i];
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
    return val;
}

void pmap_set(PairMap *m, uint64_t key, int64_t val) {
    if (2 * (m->n + 1) > m->cap) pmap_grow(m);
    size_t i = pmap_slot(m, key);
    if (m->keys[i] != key) m->n++;
    m->keys[i] = key;
    m->vals[i] = val;
}
