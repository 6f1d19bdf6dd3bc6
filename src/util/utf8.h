// UTF-8 decoding as the Unicode standard defines it (table 3-7: no
// overlongs, surrogates or values above U+10FFFF), the lossy conversion of
// WHATWG / Rust's String::from_utf8_lossy, and the White_Space property.
#ifndef LM_UTF8_H
#define LM_UTF8_H

#include <stddef.h>
#include <stdint.h>

// Length (1-4) of the valid sequence at s (n >= 1 bytes available) and its
// code point in *cp; 0 when s does not start a valid sequence.
unsigned utf8_next(const uint8_t *s, size_t n, uint32_t *cp);

// Length (1-3) of the maximal subpart of the ill-formed sequence at s: the
// bytes one U+FFFD replaces in a lossy conversion.
unsigned utf8_bad_len(const uint8_t *s, size_t n);

// Writes cp (a Unicode scalar value) to out, returns its length (1-4).
unsigned utf8_put(uint32_t cp, char *out);

// 1 when s[0..n) is valid UTF-8 (NUL included).
int utf8_valid(const char *s, size_t n);

// Copies s[0..n) to dst with every maximal ill-formed subpart replaced by
// U+FFFD (EF BF BD); dst needs room for 3 * n bytes. Returns the length.
size_t utf8_lossy(const char *s, size_t n, char *dst);

// Unicode White_Space (Rust's char::is_whitespace): TAB..CR, space, U+0085,
// U+00A0, U+1680, U+2000..200A, U+2028, U+2029, U+202F, U+205F, U+3000.
int uc_white_space(uint32_t cp);

#endif
