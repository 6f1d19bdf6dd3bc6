// FNV-1a 64: the content hash of tokenizers and the split key of prep.
// Byte order is explicit in every caller, so hashes agree across machines.
#ifndef LM_FNV_H
#define LM_FNV_H

#include <stddef.h>
#include <stdint.h>

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static inline uint64_t fnv1a(uint64_t h, const void *data, size_t n) {
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * FNV_PRIME;
    return h;
}

// One int32 as 4 little-endian bytes.
static inline uint64_t fnv1a_le32(uint64_t h, int32_t v) {
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    return fnv1a(h, b, 4);
}

#endif
