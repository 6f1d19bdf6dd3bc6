// Open-addressing hash map from a 64-bit key (two 32-bit ids packed by
// pair_key) to an int64 value. Used by both tokenizers: merge ranks when
// encoding, pair indices when training.
#ifndef LM_PAIRMAP_H
#define LM_PAIRMAP_H

#include <stddef.h>
#include <stdint.h>

#define PAIRMAP_EMPTY UINT64_MAX  // never a pair key: ids are below 2^31

typedef struct {
    uint64_t *keys;
    int64_t *vals;
    size_t cap, n;  // cap is a power of two, kept at most half full
} PairMap;

static inline uint64_t pair_key(int32_t left, int32_t right) {
    return (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
}

// Room for about `expect` keys before the first growth.
void pmap_init(PairMap *m, size_t expect);
void pmap_free(PairMap *m);
// The value of key, or -1.
int64_t pmap_get(const PairMap *m, uint64_t key);
// Inserts key -> val unless present; returns the value now stored.
int64_t pmap_put(PairMap *m, uint64_t key, int64_t val);
// Inserts or replaces key -> val.
void pmap_set(PairMap *m, uint64_t key, int64_t val);

#endif
