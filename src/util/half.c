// 16-bit float conversions (half.h).
#include "util/half.h"

#include <string.h>

float half_bf16_to_f32(uint16_t b) {
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float half_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1F, m = h & 0x3FF, u;
    if (e == 0x1F) {
        u = sign | 0x7F800000u | (m << 13);  // inf, or NaN keeping its payload
    } else if (e) {
        u = sign | ((e + 112) << 23) | (m << 13);  // rebias 15 -> 127
    } else if (m) {  // subnormal m * 2^-24: normalise the leading 1 away
        int shift = 0;
        while (!(m & 0x400)) m <<= 1, shift++;
        u = sign | ((uint32_t)(113 - shift) << 23) | ((m & 0x3FF) << 13);
    } else {
        u = sign;
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t half_f32_to_bf16(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7FFFFFFF) > 0x7F800000) return (uint16_t)((u >> 16) | 0x40);  // quiet NaN
    u += 0x7FFF + ((u >> 16) & 1);  // ties to even; may carry into infinity
    return (uint16_t)(u >> 16);
}

// Keeps the top bits of m above `shift`, rounding the rest to nearest even.
static uint32_t round_shift(uint32_t m, int shift) {
    uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    return q + (rem > half || (rem == half && (q & 1)));
}

uint16_t half_f32_to_f16(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    uint32_t a = u & 0x7FFFFFFF;
    if (a > 0x7F800000) return sign | 0x7E00;             // NaN
    if (a >= 0x477FF000) return sign | 0x7C00;            // >= 65520 rounds to infinity
    if (a >= 0x38800000) {                                // normal: >= 2^-14
        uint32_t v = ((a >> 23) - 112) << 10 | (a & 0x7FFFFF) >> 13;
        uint32_t rem = a & 0x1FFF;
        v += rem > 0x1000 || (rem == 0x1000 && (v & 1));  // a carry moves to the exponent
        return sign | (uint16_t)v;
    }
    if (a < 0x33000000) return sign;                      // < 2^-25: rounds to zero
    // subnormal: x / 2^-24 = significand * 2^(e - 126), rounded
    int e = (int)(a >> 23);
    return sign | (uint16_t)round_shift((a & 0x7FFFFF) | 0x800000, 126 - e);
}

// src may be unaligned (safetensors data offsets are any byte): loads go
// through memcpy, which compiles to the same plain load where that is legal.
void half_widen(const uint16_t *src, int bf16, size_t n, float *out) {
    const unsigned char *p = (const unsigned char *)src;
    for (size_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, p + 2 * i, sizeof h);
        if (bf16) {  // the top 16 bits of a float32
            uint32_t b = (uint32_t)h << 16;
            memcpy(&out[i], &b, sizeof b);
        } else {
            out[i] = half_f16_to_f32(h);
        }
    }
}
