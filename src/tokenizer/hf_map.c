// String -> int32 hash map over one arena (vocabularies of up to millions
// of tokens: one allocation per growth, not per string).
#include <stdlib.h>
#include <string.h>

#include "tokenizer/hf.h"
#include "util/alloc.h"
#include "util/fnv.h"

void strmap_init(HfStrMap *m) {
    memset(m, 0, sizeof *m);
    m->off = xcalloc(1, sizeof *m->off);
}

void strmap_free(HfStrMap *m) {
    free(m->arena), free(m->off), free(m->val), free(m->slots);
    memset(m, 0, sizeof *m);
}

static size_t slot_of(const HfStrMap *m, const char *s, size_t len) {
    size_t mask = m->n_slots - 1, i = (size_t)fnv1a(FNV_OFFSET, s, len) & mask;
    for (;; i = (i + 1) & mask) {
        int64_t k = m->slots[i];
        if (k < 0) return i;
        size_t klen;
        const char *key = strmap_key(m, k, &klen);
        if (klen == len && !memcmp(key, s, len)) return i;
    }
}

int32_t strmap_get(const HfStrMap *m, const char *s, size_t len) {
    if (!m->n_slots) return -1;
    int64_t k = m->slots[slot_of(m, s, len)];
    return k < 0 ? -1 : m->val[k];
}

static void rehash(HfStrMap *m) {
    free(m->slots);
    m->n_slots = m->n_slots ? 2 * m->n_slots : 1024;
    m->slots = xmalloc(m->n_slots * sizeof *m->slots);
    memset(m->slots, 0xFF, m->n_slots * sizeof *m->slots);
    for (int64_t k = 0; k < m->n; k++) {
        size_t len;
        const char *key = strmap_key(m, k, &len);
        m->slots[slot_of(m, key, len)] = k;
    }
}

int64_t strmap_set(HfStrMap *m, const char *s, size_t len, int32_t val) {
    if (2 * ((size_t)m->n + 1) > m->n_slots) rehash(m);
    size_t i = slot_of(m, s, len);
    if (m->slots[i] >= 0) {
        m->val[m->slots[i]] = val;
        return m->slots[i];
    }
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 1024;
        m->val = xrealloc(m->val, (size_t)m->cap * sizeof *m->val);
        m->off = xrealloc(m->off, ((size_t)m->cap + 1) * sizeof *m->off);
    }
    if (m->arena_n + len + 1 > m->arena_cap) {
        m->arena_cap = 2 * (m->arena_n + len + 1);
        m->arena = xrealloc(m->arena, m->arena_cap);
    }
    memcpy(m->arena + m->arena_n, s, len);
    m->arena_n += len;
    m->val[m->n] = val;
    m->off[m->n + 1] = m->arena_n;
    m->slots[i] = m->n;
    return m->n++;
}
