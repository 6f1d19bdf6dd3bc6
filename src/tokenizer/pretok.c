// UTF-8 aware pre-tokenization (rules in docs/tokenizer.md). Code points are
// decoded strictly (no overlongs, surrogates or values above U+10FFFF): a
// byte that does not start a valid sequence is a chunk of its own, so
// arbitrary bytes are handled without any special case elsewhere.
#include "tokenizer/pretok.h"

#include "util/utf8.h"

typedef enum {
    CC_LETTER,   // any script; the default for code points >= 0x80
    CC_DIGIT,    // ASCII and a few common native decimal digits
    CC_SPACE,    // horizontal whitespace
    CC_NEWLINE,  // line breaks: a run of them is kept apart from spaces
    CC_PUNCT,    // punctuation, symbols, emoji, control characters
    CC_CJK,      // ideographs: one chunk each (no spaces between words)
    CC_EXTEND,   // combining marks, joiners, variation selectors, skin tones
    CC_INVALID,  // a byte that does not start a valid UTF-8 sequence
} CharClass;

typedef struct {
    uint32_t lo, hi;
    CharClass cls;
} ClassRange;

// Non-letter ranges above 0x7F, sorted and disjoint; anything not listed is a
// letter. Deliberately coarse: the aim is that words stay together and that
// punctuation/emoji do not glue onto them, not full Unicode segmentation.
static const ClassRange RANGES[] = {
    {0x0080, 0x0084, CC_PUNCT},    {0x0085, 0x0085, CC_NEWLINE},  {0x0086, 0x009F, CC_PUNCT},
    {0x00A0, 0x00A0, CC_SPACE},    {0x00A1, 0x00A9, CC_PUNCT},    {0x00AB, 0x00B4, CC_PUNCT},
    {0x00B6, 0x00B9, CC_PUNCT},    {0x00BB, 0x00BF, CC_PUNCT},    {0x00D7, 0x00D7, CC_PUNCT},
    {0x00F7, 0x00F7, CC_PUNCT},    {0x0300, 0x036F, CC_EXTEND},   {0x037E, 0x037E, CC_PUNCT},
    {0x0387, 0x0387, CC_PUNCT},    {0x055A, 0x055F, CC_PUNCT},    {0x0589, 0x058A, CC_PUNCT},
    {0x05BE, 0x05BE, CC_PUNCT},    {0x05C0, 0x05C0, CC_PUNCT},    {0x05C3, 0x05C3, CC_PUNCT},
    {0x05F3, 0x05F4, CC_PUNCT},    {0x0600, 0x060F, CC_PUNCT},    {0x061B, 0x061F, CC_PUNCT},
    {0x0660, 0x0669, CC_DIGIT},    {0x066A, 0x066D, CC_PUNCT},    {0x06D4, 0x06D4, CC_PUNCT},
    {0x06F0, 0x06F9, CC_DIGIT},    {0x0964, 0x0965, CC_PUNCT},    {0x0966, 0x096F, CC_DIGIT},
    {0x0E3F, 0x0E3F, CC_PUNCT},    {0x0E4F, 0x0E4F, CC_PUNCT},    {0x0E50, 0x0E59, CC_DIGIT},
    {0x0E5A, 0x0E5B, CC_PUNCT},    {0x1680, 0x1680, CC_SPACE},    {0x2000, 0x200A, CC_SPACE},
    {0x200B, 0x200B, CC_PUNCT},    {0x200C, 0x200D, CC_EXTEND},   {0x200E, 0x2027, CC_PUNCT},
    {0x2028, 0x2029, CC_NEWLINE},  {0x202A, 0x202E, CC_PUNCT},    {0x202F, 0x202F, CC_SPACE},
    {0x2030, 0x205E, CC_PUNCT},    {0x205F, 0x205F, CC_SPACE},    {0x2060, 0x20CF, CC_PUNCT},
    {0x20D0, 0x20FF, CC_EXTEND},   {0x2100, 0x2BFF, CC_PUNCT},    {0x2E00, 0x2E7F, CC_PUNCT},
    {0x3000, 0x3000, CC_SPACE},    {0x3001, 0x303F, CC_PUNCT},    {0x3400, 0x4DBF, CC_CJK},
    {0x4DC0, 0x4DFF, CC_PUNCT},    {0x4E00, 0x9FFF, CC_CJK},      {0xF900, 0xFAFF, CC_CJK},
    {0xFE00, 0xFE0F, CC_EXTEND},   {0xFE10, 0xFE1F, CC_PUNCT},    {0xFE20, 0xFE2F, CC_EXTEND},
    {0xFE30, 0xFE6F, CC_PUNCT},    {0xFEFF, 0xFEFF, CC_PUNCT},    {0xFF01, 0xFF0F, CC_PUNCT},
    {0xFF10, 0xFF19, CC_DIGIT},    {0xFF1A, 0xFF20, CC_PUNCT},    {0xFF3B, 0xFF40, CC_PUNCT},
    {0xFF5B, 0xFF65, CC_PUNCT},    {0xFFE0, 0xFFFF, CC_PUNCT},    {0x1F000, 0x1F3FA, CC_PUNCT},
    {0x1F3FB, 0x1F3FF, CC_EXTEND}, {0x1F400, 0x1FAFF, CC_PUNCT},  {0x20000, 0x323AF, CC_CJK},
    {0xE0000, 0xE007F, CC_EXTEND}, {0xE0100, 0xE01EF, CC_EXTEND},
};

static CharClass ascii_class(uint8_t c) {
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return CC_LETTER;
    if (c >= '0' && c <= '9') return CC_DIGIT;
    if (c == '\n' || c == '\r') return CC_NEWLINE;
    if (c == ' ' || c == '\t' || c == '\v' || c == '\f') return CC_SPACE;
    return CC_PUNCT;  // punctuation, symbols and control characters (NUL too)
}

static CharClass unicode_class(uint32_t cp) {
    size_t lo = 0, hi = sizeof RANGES / sizeof RANGES[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < RANGES[mid].lo) hi = mid;
        else if (cp > RANGES[mid].hi) lo = mid + 1;
        else return RANGES[mid].cls;
    }
    return CC_LETTER;
}

typedef struct {
    unsigned len;  // bytes; 1 for an invalid byte
    CharClass cls;
} CodePoint;

static CodePoint cp_at(const uint8_t *s, size_t len, size_t pos) {
    if (s[pos] < 0x80) return (CodePoint){1, ascii_class(s[pos])};
    uint32_t cp;
    unsigned n = utf8_next(s + pos, len - pos, &cp);
    return n ? (CodePoint){n, unicode_class(cp)} : (CodePoint){1, CC_INVALID};
}

// Classes that may follow a single leading ASCII space in the same chunk.
static int takes_space(CharClass c) {
    return c == CC_LETTER || c == CC_CJK || c == CC_PUNCT || c == CC_EXTEND;
}

// Extends the chunk [start, pos) over code points of class `cls` (and
// combining/joining EXTEND ones), at most `max_main` of class `cls`.
static size_t run(const uint8_t *s, size_t len, size_t start, size_t pos, CharClass cls,
                  unsigned max_main) {
    unsigned n_main = 0;
    while (pos < len) {
        CodePoint c = cp_at(s, len, pos);
        if (c.cls == cls && n_main < max_main) n_main++;
        else if (c.cls != CC_EXTEND) break;
        if (pos + c.len - start > PRETOK_MAX_CHUNK) break;
        pos += c.len;
    }
    return pos;
}

// A whitespace run of one kind. A final ' ' before a word or punctuation is
// left out so that it becomes that chunk's leading space, as in running text.
static size_t space_run(const uint8_t *s, size_t len, size_t pos, CharClass kind) {
    size_t start = pos, last = pos;
    while (pos < len) {
        CodePoint c = cp_at(s, len, pos);
        if (c.cls != kind || pos + c.len - start > PRETOK_MAX_CHUNK) break;
        last = pos;
        pos += c.len;
    }
    if (last > start && s[last] == ' ' && pos < len && takes_space(cp_at(s, len, pos).cls))
        return last;
    return pos;
}

size_t pretok_next(const uint8_t *s, size_t len, size_t pos) {
    size_t start = pos;
    CodePoint c = cp_at(s, len, pos);
    if (s[pos] == ' ' && pos + 1 < len) {
        CodePoint next = cp_at(s, len, pos + 1);
        if (takes_space(next.cls)) c = next, pos++;
    }
    switch (c.cls) {
    case CC_LETTER: return run(s, len, start, pos, CC_LETTER, ~0u);
    case CC_DIGIT: return run(s, len, start, pos, CC_DIGIT, 3);
    case CC_CJK: return run(s, len, start, pos, CC_CJK, 1);
    case CC_PUNCT:
    case CC_EXTEND: return run(s, len, start, pos, CC_PUNCT, ~0u);
    case CC_SPACE:
    case CC_NEWLINE: return space_run(s, len, pos, c.cls);
    case CC_INVALID: break;
    }
    return pos + 1;
}
