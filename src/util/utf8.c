#include "util/utf8.h"

#include <string.h>

// Expected length of a sequence led by b (0: b cannot lead one) and the
// range of its second byte, which rules out overlongs (E0, F0), surrogates
// (ED) and values above U+10FFFF (F4).
static unsigned lead_info(uint8_t b, uint8_t *lo, uint8_t *hi) {
    if (b < 0xC2 || b > 0xF4) return 0;
    *lo = b == 0xE0 ? 0xA0 : b == 0xF0 ? 0x90 : 0x80;
    *hi = b == 0xED ? 0x9F : b == 0xF4 ? 0x8F : 0xBF;
    return b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
}

// Number of leading bytes of s that form a valid prefix of the sequence
// led by s[0] (1 .. len).
static unsigned valid_prefix(const uint8_t *s, size_t n, unsigned len, uint8_t lo, uint8_t hi) {
    unsigned k = 1;
    if (k < n && s[1] >= lo && s[1] <= hi) k = 2;
    else return 1;
    while (k < len && k < n && (s[k] & 0xC0) == 0x80) k++;
    return k;
}

unsigned utf8_next(const uint8_t *s, size_t n, uint32_t *cp) {
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    uint8_t lo, hi;
    unsigned len = lead_info(s[0], &lo, &hi);
    if (!len || valid_prefix(s, n, len, lo, hi) != len) return 0;
    uint32_t v = s[0] & (0x7F >> len);
    for (unsigned i = 1; i < len; i++) v = (v << 6) | (s[i] & 0x3F);
    *cp = v;
    return len;
}

unsigned utf8_bad_len(const uint8_t *s, size_t n) {
    uint8_t lo, hi;
    unsigned len = lead_info(s[0], &lo, &hi);
    return len ? valid_prefix(s, n, len, lo, hi) : 1;
}

unsigned utf8_put(uint32_t cp, char *out) {
    uint8_t *o = (uint8_t *)out;
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xC0 | cp >> 6), o[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | cp >> 12), o[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | cp >> 18), o[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F)), o[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

int utf8_valid(const char *str, size_t n) {
    const uint8_t *s = (const uint8_t *)str;
    uint32_t cp;
    for (size_t i = 0; i < n;) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        unsigned k = utf8_next(s + i, n - i, &cp);
        if (!k) return 0;
        i += k;
    }
    return 1;
}

size_t utf8_lossy(const char *str, size_t n, char *dst) {
    const uint8_t *s = (const uint8_t *)str;
    size_t o = 0;
    uint32_t cp;
    for (size_t i = 0; i < n;) {
        unsigned k = s[i] < 0x80 ? 1 : utf8_next(s + i, n - i, &cp);
        if (k) {
            memcpy(dst + o, s + i, k);
            o += k, i += k;
        } else {
            memcpy(dst + o, "\xEF\xBF\xBD", 3);
            o += 3, i += utf8_bad_len(s + i, n - i);
        }
    }
    return o;
}

int uc_white_space(uint32_t cp) {
    if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D);
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}
