#include "prep/clean.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "util/alloc.h"
#include "util/fnv.h"

// ---------------------------------------------------------------------------
// Characters. Classification is table-driven rather than through iswalpha(),
// whose answers depend on the process locale: the corpus must come out the
// same on every machine.

typedef enum {
    SC_NONE,  // not a letter: digits, punctuation, symbols, marks
    SC_LATIN, SC_GREEK, SC_CYRILLIC, SC_ARMENIAN, SC_HEBREW, SC_ARABIC,
    SC_DEVANAGARI, SC_BENGALI, SC_GURMUKHI, SC_GUJARATI, SC_TAMIL, SC_TELUGU,
    SC_KANNADA, SC_MALAYALAM, SC_THAI, SC_GEORGIAN, SC_ETHIOPIC, SC_KHMER,
    SC_HANGUL, SC_KANA, SC_HAN,
    SC_OTHER,  // a letter of a script not listed
} Script;

#define SCRIPT_BIT(s) (1u << (s))
#define CJK_BITS (SCRIPT_BIT(SC_HAN) | SCRIPT_BIT(SC_KANA) | SCRIPT_BIT(SC_HANGUL))

typedef struct {
    uint32_t lo, hi;
    Script script;
} ScriptRange;

// First match wins: non-letters inside a script's block come before it.
// Code points >= 0xC0 that match nothing count as SC_OTHER letters.
static const ScriptRange SCRIPT_RANGES[] = {
    {0xD7, 0xD7, SC_NONE}, {0xF7, 0xF7, SC_NONE}, {0xC0, 0x2AF, SC_LATIN},
    {0x2B0, 0x36F, SC_NONE}, {0x37E, 0x37E, SC_NONE}, {0x387, 0x387, SC_NONE},
    {0x370, 0x3FF, SC_GREEK}, {0x482, 0x489, SC_NONE}, {0x400, 0x52F, SC_CYRILLIC},
    {0x55A, 0x55F, SC_NONE}, {0x589, 0x58A, SC_NONE}, {0x530, 0x58F, SC_ARMENIAN},
    {0x591, 0x5CF, SC_NONE}, {0x5F3, 0x5F4, SC_NONE}, {0x590, 0x5FF, SC_HEBREW},
    {0x600, 0x61F, SC_NONE}, {0x64B, 0x65F, SC_NONE}, {0x660, 0x66D, SC_NONE},
    {0x670, 0x670, SC_NONE}, {0x6D4, 0x6D4, SC_NONE}, {0x6D6, 0x6ED, SC_NONE},
    {0x6F0, 0x6F9, SC_NONE}, {0x600, 0x6FF, SC_ARABIC}, {0x750, 0x77F, SC_ARABIC},
    {0x8A0, 0x8FF, SC_ARABIC}, {0x964, 0x96F, SC_NONE}, {0x900, 0x97F, SC_DEVANAGARI},
    {0x9E6, 0x9EF, SC_NONE}, {0x980, 0x9FF, SC_BENGALI}, {0xA66, 0xA6F, SC_NONE},
    {0xA00, 0xA7F, SC_GURMUKHI}, {0xAE6, 0xAEF, SC_NONE}, {0xA80, 0xAFF, SC_GUJARATI},
    {0xBE6, 0xBFA, SC_NONE}, {0xB80, 0xBFF, SC_TAMIL}, {0xC66, 0xC6F, SC_NONE},
    {0xC00, 0xC7F, SC_TELUGU}, {0xCE6, 0xCEF, SC_NONE}, {0xC80, 0xCFF, SC_KANNADA},
    {0xD66, 0xD6F, SC_NONE}, {0xD00, 0xD7F, SC_MALAYALAM}, {0xE3F, 0xE3F, SC_NONE},
    {0xE4F, 0xE5B, SC_NONE}, {0xE00, 0xE7F, SC_THAI}, {0x10A0, 0x10FF, SC_GEORGIAN},
    {0x1100, 0x11FF, SC_HANGUL}, {0x1200, 0x139F, SC_ETHIOPIC}, {0x17E0, 0x17F9, SC_NONE},
    {0x1780, 0x17FF, SC_KHMER}, {0x1C90, 0x1CBF, SC_GEORGIAN}, {0x1E00, 0x1EFF, SC_LATIN},
    {0x1F00, 0x1FFF, SC_GREEK}, {0x2000, 0x2BFF, SC_NONE}, {0x2C60, 0x2C7F, SC_LATIN},
    {0x2DE0, 0x2DFF, SC_CYRILLIC}, {0x2E00, 0x2E7F, SC_NONE}, {0x2E80, 0x2FDF, SC_HAN},
    {0x3005, 0x3007, SC_HAN}, {0x3000, 0x303F, SC_NONE}, {0x30FB, 0x30FB, SC_NONE},
    {0x3040, 0x30FF, SC_KANA}, {0x3100, 0x312F, SC_HAN}, {0x3130, 0x318F, SC_HANGUL},
    {0x31F0, 0x31FF, SC_KANA}, {0x3200, 0x33FF, SC_NONE}, {0x3400, 0x4DBF, SC_HAN},
    {0x4E00, 0x9FFF, SC_HAN}, {0xA640, 0xA69F, SC_CYRILLIC}, {0xA720, 0xA7FF, SC_LATIN},
    {0xAC00, 0xD7AF, SC_HANGUL}, {0xD800, 0xF8FF, SC_NONE}, {0xF900, 0xFAFF, SC_HAN},
    {0xFB00, 0xFB06, SC_LATIN}, {0xFB1D, 0xFB4F, SC_HEBREW}, {0xFB50, 0xFDFF, SC_ARABIC},
    {0xFE00, 0xFE6F, SC_NONE}, {0xFE70, 0xFEFF, SC_ARABIC}, {0xFF21, 0xFF3A, SC_LATIN},
    {0xFF41, 0xFF5A, SC_LATIN}, {0xFF66, 0xFF9F, SC_KANA}, {0xFFA0, 0xFFDC, SC_HANGUL},
    {0xFF00, 0xFFFF, SC_NONE}, {0x1F000, 0x1FAFF, SC_NONE}, {0x20000, 0x3134F, SC_HAN},
    {0xE0000, 0x10FFFF, SC_NONE},
};

static int is_ascii_letter(int c) {
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static Script char_script(uint32_t c) {
    if (c < 0x80) return is_ascii_letter((int)c) ? SC_LATIN : SC_NONE;
    if (c < 0xC0) return SC_NONE;  // Latin-1 punctuation and symbols
    for (size_t i = 0; i < sizeof SCRIPT_RANGES / sizeof *SCRIPT_RANGES; i++)
        if (c >= SCRIPT_RANGES[i].lo && c <= SCRIPT_RANGES[i].hi) return SCRIPT_RANGES[i].script;
    return SC_OTHER;
}

// Decodes one code point and advances; a malformed byte reads as U+FFFD so
// that text from any source (not only iconv-checked catalogs) is safe.
static uint32_t utf8_next(const char **ps) {
    const unsigned char *p = (const unsigned char *)*ps;
    int extra = p[0] >= 0xF0 && p[0] <= 0xF4 ? 3 : p[0] >= 0xE0 ? 2 : p[0] >= 0xC2 ? 1 : 0;
    if (p[0] >= 0x80 && extra == 0) extra = -1;
    if (p[0] > 0xF4) extra = -1;
    uint32_t c = extra == 3 ? p[0] & 0x07u : extra == 2 ? p[0] & 0x0Fu : extra == 1 ? p[0] & 0x1Fu : p[0];
    for (int k = 1; k <= extra; k++) {
        if ((p[k] & 0xC0) != 0x80) extra = -1;
        else c = c << 6 | (p[k] & 0x3Fu);
    }
    *ps += extra < 0 ? 1 : 1 + extra;
    return extra < 0 ? 0xFFFD : c;
}

static int is_ascii_alnum(int c) {
    return (c >= '0' && c <= '9') || is_ascii_letter(c);
}


static int ascii_lower(int c) {
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static int ascii_ieq(const char *a, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i])) return 0;
    return 1;
}

static size_t count_code_points(const char *s) {
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static size_t count_words(const char *normalised) {
    size_t n = *normalised != '\0';
    for (const char *p = normalised; *p; p++) n += *p == ' ';
    return n;
}

// ---------------------------------------------------------------------------
// Placeholders

#define PF_KEY_LEN 48

static size_t digits_len(const char *p) {
    size_t n = 0;
    while (p[n] >= '0' && p[n] <= '9') n++;
    return n;
}

// Argument-type class of a printf conversion: conversions msgfmt's
// c-format check accepts in place of each other share a class. %C and %S
// are left out: in catalogs they are strftime seconds/century far more
// often than wide-character conversions.
static const char *printf_class(char conv) {
    switch (conv) {
    case 'd': case 'i': return "d";
    case 'o': case 'u': case 'x': case 'X': return "u";
    case 'e': case 'E': case 'f': case 'F': case 'g': case 'G': case 'a': case 'A': return "f";
    case 'c': return "c";
    case 's': case 'r': return "s";
    case 'p': return "p";
    case 'n': return "n";
    case 'm': return "m";
    default: return NULL;
    }
}

// Length modifier at p (hh h ll l L q j z Z t), canonicalised into mod.
static size_t printf_length(const char *p, char mod[3]) {
    static const char *const mods[] = {"hh", "ll", "h", "l", "L", "q", "j", "z", "Z", "t"};
    for (size_t i = 0; i < sizeof mods / sizeof *mods; i++) {
        size_t k = strlen(mods[i]);
        if (strncmp(p, mods[i], k) != 0) continue;
        strcpy(mod, mods[i][0] == 'q' ? "ll" : mods[i][0] == 'Z' ? "z" : mods[i]);
        return k;
    }
    mod[0] = '\0';
    return 0;
}

// Name part of %<PRIu64> or %(name)s; its length or 0.
static size_t printf_named(const char *p, char close, char *key) {
    size_t n = 1;
    while (n < PF_KEY_LEN - 8 && p[n] && p[n] != close && p[n] != ' ' && p[n] != '%') n++;
    if (p[n] != close) return 0;
    memcpy(key, p, n + 1);
    key[n + 1] = '\0';
    return n + 1;
}

// Length of the printf conversion starting at s (s[0] == '%'), 0 when none.
// key receives "" for "%%", else the argument type: "(name)" of Python's
// %(name)s, a '*' per star width or precision, length modifier, class.
// The ' ' flag is not accepted: "100% sure" is text far more often than
// "% s" is a conversion.
static size_t printf_spec(const char *s, char key[PF_KEY_LEN]) {
    const char *p = s + 1;
    key[0] = '\0';
    if (*p == '%') return 2;
    if (*p == '<') {
        size_t k = printf_named(p, '>', key);
        return k ? 1 + k : 0;
    }
    if (*p == '(') p += printf_named(p, ')', key);
    else if (digits_len(p) && p[digits_len(p)] == '$') p += digits_len(p) + 1;
    p += strspn(p, "-+0#'");
    for (int field = 0; field < 2; field++) {  // width, then precision
        if (field == 1 && *p != '.') break;
        if (field == 1) p++;
        if (*p == '*') {
            strcat(key, "*");
            p++;
            if (digits_len(p) && p[digits_len(p)] == '$') p += digits_len(p) + 1;
        }
        p += digits_len(p);
    }
    char mod[3];
    p += printf_length(p, mod);
    const char *cls = printf_class(*p);
    if (!cls) return 0;
    strcat(key, mod);
    strcat(key, cls);
    return (size_t)(p + 1 - s);
}

static size_t until_close(const char *s, char close, const char *forbidden, size_t max) {
    for (size_t i = 1; i <= max && s[i]; i++) {
        if (s[i] == close) return i + 1;
        if (strchr(forbidden, s[i])) return 0;
    }
    return 0;
}

// Length of the placeholder or markup at s, 0 when none: printf and Python
// conversions, Qt %1, {0}/{name}, ${var}/$var, <tags>, &entities;.
static size_t placeholder_len(const char *s) {
    char key[PF_KEY_LEN];
    switch (s[0]) {
    case '%': {
        size_t k = printf_spec(s, key);
        return k ? k : (digits_len(s + 1) ? 1 + digits_len(s + 1) : 0);
    }
    case '{': return until_close(s, '}', " \t{", 64);
    case '$':
        if (s[1] == '{') return until_close(s, '}', " \t{", 64);
        if (s[1] == '_' || is_ascii_letter(s[1])) {
            size_t n = 2;
            while (is_ascii_alnum(s[n]) || s[n] == '_') n++;
            return n;
        }
        return 0;
    case '<':  // a tag starts with a letter: "< No Module >" is text
        return is_ascii_letter(s[1 + (s[1] == '/')]) ? until_close(s, '>', "<", 80) : 0;
    case '&':
        return s[1] == '#' || is_ascii_letter(s[1]) ? until_close(s, ';', " \t&<>", 10) : 0;
    default: return 0;
    }
}

// Copy of s with each placeholder replaced by a space.
static char *strip_placeholders(const char *s) {
    char *out = xmalloc(strlen(s) + 1), *o = out;
    while (*s) {
        size_t k = placeholder_len(s);
        if (k) {
            *o++ = ' ';
            s += k;
        } else {
            *o++ = *s++;
        }
    }
    *o = '\0';
    return out;
}

typedef struct {
    char k[PF_KEY_LEN];
} PfKey;

static int pfkey_cmp(const void *a, const void *b) {
    return strcmp(((const PfKey *)a)->k, ((const PfKey *)b)->k);
}

// Sorted argument types of the printf conversions in s.
static PfKey *printf_keys(const char *s, size_t *n) {
    PfKey *keys = NULL;
    size_t cap = 0;
    *n = 0;
    for (const char *p = strchr(s, '%'); p; p = strchr(p, '%')) {
        char key[PF_KEY_LEN];
        size_t k = printf_spec(p, key);
        p += k ? k : 1;
        if (!key[0]) continue;  // "%%" or not a conversion
        if (*n == cap) keys = xrealloc(keys, (cap = cap ? 2 * cap : 8) * sizeof *keys);
        strcpy(keys[(*n)++].k, key);
    }
    if (*n) qsort(keys, *n, sizeof *keys, pfkey_cmp);
    return keys;
}

int clean_placeholders_match(const char *a, const char *b) {
    size_t na, nb;
    PfKey *ka = printf_keys(a, &na), *kb = printf_keys(b, &nb);
    int same = na == nb;
    for (size_t i = 0; same && i < na; i++) same = strcmp(ka[i].k, kb[i].k) == 0;
    free(ka);
    free(kb);
    return same;
}

// ---------------------------------------------------------------------------
// Normalisation

// "|pinentry-label|" (gnupg) prefixes select a UI slot; they are not text.
static size_t pseudo_context_len(const char *s) {
    if (s[0] != '|' || s[1] < 'a' || s[1] > 'z') return 0;
    size_t n = 2;
    while (n < 32 && ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '-')) n++;
    return (n >= 4 && s[n] == '|') ? n + 1 : 0;
}

// Length of a non-ASCII space at s (NBSP, U+2000-U+200B, U+202F, U+205F,
// U+3000 ideographic, U+FEFF BOM), 0 otherwise.
static size_t unicode_space_len(const char *s) {
    const char *p = s;
    uint32_t c = utf8_next(&p);
    int space = c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200B) || c == 0x202F ||
                c == 0x205F || c == 0x3000 || c == 0xFEFF;
    return space ? (size_t)(p - s) : 0;
}

static const char *skip_spaces(const char *s) {
    for (;;) {
        if (*s && ((unsigned char)*s <= 0x20 || *s == 0x7F)) s++;
        else if (unicode_space_len(s)) s += unicode_space_len(s);
        else return s;
    }
}

// Unicode NFC (canonical composition): "e" + U+0301 becomes "é", so the
// same text in decomposed and composed form is one sentence to dedup, the
// split key and the tokenizer. ASCII is already NFC.
static char *nfc(char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p && *p < 0x80) p++;
    if (!*p) return s;
    utf8proc_uint8_t *out = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)s, 0, &out,
                                      UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (n < 0) return s;  // only on allocation failure: keep the text as is
    free(s);
    return (char *)out;
}

// ASCII whitespace and controls collapse into one space. Non-ASCII spaces
// are trimmed at the ends but kept inside, where they are typography
// (French "Fichier :" uses U+202F). Then NFC.
char *clean_normalise(const char *s) {
    char *out = xmalloc(strlen(s) + 1), *o = out, *end = out;
    s = skip_spaces(s);
    s = skip_spaces(s + pseudo_context_len(s));
    int gap = 0;
    while (*s) {
        if ((unsigned char)*s <= 0x20 || *s == 0x7F) {
            gap = 1;
            s++;
            continue;
        }
        if (gap) *o++ = ' ';
        gap = 0;
        size_t k = unicode_space_len(s);
        if (k) {
            memcpy(o, s, k);
            o += k;
            s += k;
        } else {
            *o++ = *s++;
            end = o;
        }
    }
    *end = '\0';
    return nfc(out);
}

// ---------------------------------------------------------------------------
// Keyboard mnemonics

// Identifiers a translator copies are ASCII: the word around a mark is
// extended over ASCII letters, digits and marks only, so "»max_value«"
// still finds max_value.
static int is_token_byte(int c) {
    return is_ascii_alnum(c) || c == '_' || c == '&' || c == '~';
}

// The code point that ends just before s[i] (i > 0).
static uint32_t prev_code_point(const char *s, size_t i) {
    size_t a = i - 1;
    while (a > 0 && i - a < 4 && (((unsigned char)s[a]) & 0xC0) == 0x80) a--;
    const char *p = s + a;
    return utf8_next(&p);
}

static int is_word_cp(uint32_t c) {
    return char_script(c) != SC_NONE || (c >= '0' && c <= '9');
}

// Capitals of the scripts whose identifiers show up in catalogs (Latin-1,
// Greek, Cyrillic: "ИМЯ_ФАЙЛА"), or a digit.
static int is_upper_or_digit(uint32_t c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7) ||
           (c >= 0x391 && c <= 0x3AB) || (c >= 0x400 && c <= 0x42F);
}

// Length of a CJK-style "(_F)" / "（&F）" mnemonic at s, with one space
// before it; 0 when there is none.
static size_t paren_accel_len(const char *s) {
    const char *p = s + (*s == ' ');
    if (*p == '(') p++;
    else if (strncmp(p, "\xEF\xBC\x88", 3) == 0) p += 3;  // U+FF08
    else return 0;
    p += strspn(p, " ");
    if (!*p || !strchr("_&~", *p)) return 0;
    p++;
    if (!is_word_cp(utf8_next(&p))) return 0;
    p += strspn(p, " ");
    if (*p == ')') p++;
    else if (strncmp(p, "\xEF\xBC\x89", 3) == 0) p += 3;  // U+FF09
    else return 0;
    return (size_t)(p - s);
}

// Offset of the only mnemonic candidate for `mark`, or -1 when there are
// none or several (a real mnemonic is unique; "a_b_c" is an identifier).
// A candidate is a mark not doubled ("&&", "__init__") and followed by a
// letter, or a digit except after '~' ("~5 min" means "about").
static long accel_candidate(const char *s, char mark) {
    long found = -1;
    int count = 0;
    for (const char *p = strchr(s, mark); p; p = strchr(p + 1, mark)) {
        if (p > s && p[-1] == mark) continue;
        const char *q = p + 1;
        uint32_t c = utf8_next(&q);
        int ok = mark == '~' ? char_script(c) != SC_NONE : is_word_cp(c);
        if (mark == '&' && placeholder_len(p)) ok = 0;  // &amp; is an entity
        if (ok) {
            found = p - s;
            count++;
        }
    }
    return count == 1 ? found : -1;
}

// 1 when the word around s[i] occurs as a whole word in `other`: an
// identifier the translator copied (max_connections, AT&T), not a mnemonic.
static int token_copied(const char *s, size_t i, const char *other) {
    size_t a = i, b = i + 1;
    while (a > 0 && is_token_byte((unsigned char)s[a - 1])) a--;
    while (s[b] && is_token_byte((unsigned char)s[b])) b++;
    size_t len = b - a, olen = strlen(other);
    for (size_t j = 0; j + len <= olen; j++) {
        if (j > 0 && is_token_byte((unsigned char)other[j - 1])) continue;
        if (is_token_byte((unsigned char)other[j + len])) continue;
        if (ascii_ieq(other + j, s + a, len)) return 1;
    }
    return 0;
}

static int accel_is_mnemonic(const char *s, size_t i, char mark, const char *other, size_t nwords) {
    uint32_t left = i > 0 ? prev_code_point(s, i) : ' ';
    const char *r = s + i + 1;
    if (is_upper_or_digit(left) && is_upper_or_digit(utf8_next(&r)))
        return 0;  // LC_CTYPE, R&D, ИМЯ_ФАЙЛА: an identifier
    int mid_word = is_word_cp(left);
    if (mid_word && nwords > 5) return 0;  // in a sentence: hba_file, not Fo_lder
    if (!mid_word && mark != '&') return 1;  // _File, ~Save
    return !token_copied(s, i, other);
}

char *clean_strip_accel(const char *s, const char *other) {
    char *out = xmalloc(strlen(s) + 1), *o = out;
    while (*s) {
        size_t k = paren_accel_len(s);
        if (k) s += k;
        else *o++ = *s++;
    }
    *o = '\0';
    size_t nwords = count_words(out);
    if (nwords > 10) return out;  // mnemonics live on short labels
    for (const char *m = "_&~"; *m; m++) {
        long i = accel_candidate(out, *m);
        if (i >= 0 && accel_is_mnemonic(out, (size_t)i, *m, other, nwords))
            memmove(out + i, out + i + 1, strlen(out + i));
    }
    return out;
}

// ---------------------------------------------------------------------------
// Identifier-like sources

static const char *const KEY_SOURCES[] = {
    "translator-credits", "translator_credits", "TRANSLATORS", "Your names",
    "Your emails", "default:LTR", "default:RTL", NULL,
};

// [a-z0-9]{2,}(_[a-z0-9]{2,})+ or the same in capitals (FORCE_QUOTE).
// One-character segments are mnemonics more often: e_xit, 3_D.
static int is_snake(const char *s) {
    int lower = 0, upper = 0, unders = 0;
    size_t seg = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '_') {
            if (seg < 2) return 0;
            unders++;
            seg = 0;
            continue;
        }
        seg++;
        if (*p >= 'a' && *p <= 'z') {
            lower = 1;
        } else if (*p >= 'A' && *p <= 'Z') {
            upper = 1;
        } else if (*p < '0' || *p > '9') {
            return 0;
        }
    }
    return unders > 0 && seg >= 2 && !(lower && upper);
}

// Two or more non-empty segments of [A-Za-z0-9] plus `extra`, joined by
// sep: app.menu.file, org.gnome.Nautilus, default:LTR.
static int is_joined(const char *s, char sep, const char *extra, int letter_first) {
    if (letter_first && !is_ascii_letter(*s)) return 0;
    int parts = 1;
    size_t seg = 0;
    for (const char *p = s; *p; p++) {
        if (*p == sep) {
            if (!seg) return 0;
            parts++;
            seg = 0;
        } else if (is_ascii_alnum((unsigned char)*p) || strchr(extra, *p)) {
            seg++;
        } else {
            return 0;
        }
    }
    return parts > 1 && seg > 0;
}

static int is_lower(char c) {
    return c >= 'a' && c <= 'z';
}

// GtkButton, getValue: ASCII letters, digits and '-' with a lower-upper-lower
// step; units like kB, MiB and answer letters like yY have none. A '_' in
// such a word is a mnemonic (A_utoInclude), so it does not qualify.
static int is_camel(const char *s) {
    int step = 0;
    for (const char *p = s; *p; p++) {
        if (!is_ascii_alnum((unsigned char)*p) && *p != '-') return 0;
        if (p > s && is_lower(p[-1]) && *p >= 'A' && *p <= 'Z' && is_lower(p[1])) step = 1;
    }
    return step;
}

// Toolkit stock ids (gtk-ok, gnome-stock-mail); plain hyphenated words
// (read-only, drag-and-drop) are text, so only these prefixes count.
static int is_stock_id(const char *s) {
    size_t k = strncmp(s, "gtk-", 4) == 0 ? 4 : strncmp(s, "gnome-", 6) == 0 ? 6 : 0;
    return k && s[k] && strspn(s + k, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(s + k);
}

static int is_key_like(const char *s) {
    for (int i = 0; KEY_SOURCES[i]; i++)
        if (strcmp(s, KEY_SOURCES[i]) == 0) return 1;
    if (!*s || strchr(s, ' ')) return 0;
    return is_snake(s) || is_joined(s, '.', "_-", 1) || is_joined(s, ':', "_.-", 0) ||
           is_camel(s) || is_stock_id(s);
}

// ---------------------------------------------------------------------------
// Script of the target

// Share of the target's letters that must be in the language's script.
#define SCRIPT_MIN_SHARE 0.5
// A CJK character is worth about three Latin letters (English averages ~5
// letters a word, Chinese ~1.5 characters), so "打开 URL" stays Chinese.
#define CJK_WEIGHT 3

typedef struct {
    unsigned mask;
    const char *codes;  // space-separated, with spaces at both ends
} LangScripts;

static const LangScripts LANG_SCRIPTS[] = {
    {SCRIPT_BIT(SC_LATIN),
     " af an ast az br bs ca co cs cy da de en eo es et eu fi fil fo fr fur fy ga gd gl gv ha"
     " haw hr ht hu ia id ig is it jv ku la lb lg li ln lt lv mg mi ms mt nb nds nl nn no nso"
     " oc om pl pt qu rm ro rw sc se sk sl so sq st su sv sw tk tl tn tr uz vi wa wo xh yo zu "},
    {SCRIPT_BIT(SC_CYRILLIC), " ru uk bg be sr mk kk ky mn tg tt ba cv "},
    {SCRIPT_BIT(SC_GREEK), " el "},
    {SCRIPT_BIT(SC_ARMENIAN), " hy "},
    {SCRIPT_BIT(SC_HEBREW), " he yi "},
    {SCRIPT_BIT(SC_ARABIC), " ar fa ur ckb ps ug sd "},
    {SCRIPT_BIT(SC_DEVANAGARI), " hi mr ne sa mai kok "},
    {SCRIPT_BIT(SC_BENGALI), " bn as "},
    {SCRIPT_BIT(SC_GURMUKHI), " pa "},
    {SCRIPT_BIT(SC_GUJARATI), " gu "},
    {SCRIPT_BIT(SC_TAMIL), " ta "},
    {SCRIPT_BIT(SC_TELUGU), " te "},
    {SCRIPT_BIT(SC_KANNADA), " kn "},
    {SCRIPT_BIT(SC_MALAYALAM), " ml "},
    {SCRIPT_BIT(SC_THAI), " th "},
    {SCRIPT_BIT(SC_GEORGIAN), " ka "},
    {SCRIPT_BIT(SC_ETHIOPIC), " am ti "},
    {SCRIPT_BIT(SC_KHMER), " km "},
    {SCRIPT_BIT(SC_HAN), " zh "},
    {SCRIPT_BIT(SC_KANA) | SCRIPT_BIT(SC_HAN), " ja "},
    {SCRIPT_BIT(SC_HANGUL) | SCRIPT_BIT(SC_HAN), " ko "},
};

// Scripts a target in `lang` (de, pt_BR, sr@latin) may use; 0 = unknown.
static unsigned lang_scripts(const char *lang) {
    if (!lang) return 0;
    const char *mod = strchr(lang, '@');
    if (mod && strcmp(mod, "@latin") == 0) return SCRIPT_BIT(SC_LATIN);
    if (mod && strcmp(mod, "@cyrillic") == 0) return SCRIPT_BIT(SC_CYRILLIC);
    size_t n = strcspn(lang, "_@.-");
    if (n == 0 || n > 4) return 0;
    char code[8] = " ";
    memcpy(code + 1, lang, n);
    code[n + 1] = ' ';
    for (size_t i = 0; i < sizeof LANG_SCRIPTS / sizeof *LANG_SCRIPTS; i++)
        if (strstr(LANG_SCRIPTS[i].codes, code)) return LANG_SCRIPTS[i].mask;
    return 0;
}

// Next maximal run of letters of one script in s; returns the position
// after it, or NULL when no letter is left.
static const char *token_next(const char *s, const char **tok, size_t *len, Script *sc) {
    const char *p = s, *q;
    for (;; p = q) {
        if (!*p) return NULL;
        q = p;
        *sc = char_script(utf8_next(&q));
        if (*sc != SC_NONE) break;
    }
    *tok = p;
    while (*q) {
        const char *r = q;
        if (char_script(utf8_next(&r)) != *sc) break;
        q = r;
    }
    *len = (size_t)(q - p);
    return q;
}

static int token_in(const char *hay, const char *tok, size_t len) {
    const char *t;
    size_t n;
    Script sc;
    for (const char *p = hay; (p = token_next(p, &t, &n, &sc));)
        if (n == len && ascii_ieq(t, tok, len)) return 1;
    return 0;
}

// Weighted share (0..1) of the target's letters written in `mask`'s
// scripts. Words also present in the source (product names, acronyms,
// commands kept in English) are no evidence either way and are skipped.
// Returns -1 when no letter is left to judge.
static double script_share(const char *tgt, const char *src, unsigned mask) {
    long good = 0, all = 0;
    const char *t;
    size_t n;
    Script sc;
    for (const char *p = tgt; (p = token_next(p, &t, &n, &sc));) {
        if (token_in(src, t, n)) continue;
        long letters = 0;
        for (size_t i = 0; i < n; i++) letters += ((unsigned char)t[i] & 0xC0) != 0x80;
        long w = (SCRIPT_BIT(sc) & CJK_BITS) ? CJK_WEIGHT : 1;
        all += w * letters;
        if (SCRIPT_BIT(sc) & mask) good += w * letters;
    }
    return all ? (double)good / (double)all : -1.0;
}

// src and tgt without placeholders. A target made only of copied words
// passes for a Latin-script language (German keeps many English terms) and
// fails for any other: it shows no sign of the target language.
static int script_ok(const char *lang, const char *tgt, const char *src) {
    unsigned mask = lang_scripts(lang);
    if (!mask) return 1;
    double share = script_share(tgt, src, mask);
    if (share < 0) return mask == SCRIPT_BIT(SC_LATIN);
    return share >= SCRIPT_MIN_SHARE;
}

static int has_letter(const char *s) {
    const char *t;
    size_t n;
    Script sc;
    return token_next(s, &t, &n, &sc) != NULL;
}

// ---------------------------------------------------------------------------
// The pipeline

void clean_options_default(CleanOptions *o) {
    o->strip_accel = 1;
    o->check_script = 1;
    o->check_placeholders = 1;
    o->min_src_chars = 2;
    o->max_src_words = 64;
    o->max_chars = 1000;
}

static void strip_both(char **s, char **t) {
    char *ns = clean_strip_accel(*s, *t), *nt = clean_strip_accel(*t, *s);
    free(*s);
    free(*t);
    // Removing " (_F)" may leave an edge space behind.
    *s = clean_normalise(ns);
    *t = clean_normalise(nt);
    free(ns);
    free(nt);
}

static int length_ok(int max, const char *s) {
    return max <= 0 || count_code_points(s) <= (size_t)max;
}

// The filters after normalisation; st/tt are s/t without placeholders.
static CleanReason text_checks(const CleanOptions *o, const char *lang, const char *s,
                               const char *t, const char *st, const char *tt) {
    if (!has_letter(st) || !has_letter(tt)) return CLEAN_FORMAT_ONLY;
    if (strlen(s) == strlen(t) && ascii_ieq(s, t, strlen(s))) return CLEAN_IDENTICAL;
    if (o->check_script && !script_ok(lang, tt, st)) return CLEAN_WRONG_SCRIPT;
    if (o->check_placeholders && !clean_placeholders_match(s, t)) return CLEAN_PLACEHOLDER;
    if (o->min_src_chars > 0 && count_code_points(s) < (size_t)o->min_src_chars) return CLEAN_TOO_SHORT;
    if (o->max_src_words > 0 && count_words(s) > (size_t)o->max_src_words) return CLEAN_TOO_LONG;
    if (!length_ok(o->max_chars, s) || !length_ok(o->max_chars, t)) return CLEAN_TOO_LONG;
    return CLEAN_OK;
}

CleanReason clean_pair(const CleanOptions *o, const char *lang, const char *src,
                       const char *tgt, char **src_out, char **tgt_out) {
    char *s = clean_normalise(src), *t = clean_normalise(tgt);
    CleanReason r;
    if (!*t) {
        r = CLEAN_UNTRANSLATED;
    } else if (is_key_like(s)) {  // before stripping: the '_' is evidence
        r = CLEAN_KEY_LIKE;
    } else {
        if (o->strip_accel) strip_both(&s, &t);
        char *st = strip_placeholders(s), *tt = strip_placeholders(t);
        r = text_checks(o, lang, s, t, st, tt);
        free(st);
        free(tt);
    }
    if (r != CLEAN_OK) {
        free(s);
        free(t);
        s = t = NULL;
    }
    *src_out = s;
    *tgt_out = t;
    return r;
}

const char *clean_reason_name(CleanReason r) {
    static const char *const names[CLEAN_N_REASONS] = {
        "ok", "untranslated", "key_like", "format_only", "identical",
        "wrong_script", "placeholder_mismatch", "too_short", "too_long",
    };
    return (r >= 0 && r < CLEAN_N_REASONS) ? names[r] : "unknown";
}

uint64_t clean_hash(const char *normalised_src) {
    return fnv1a(FNV_OFFSET, normalised_src, strlen(normalised_src));
}

void clean_stats_add(CleanStats *st, CleanReason r) {
    if (r >= 0 && r < CLEAN_N_REASONS) st->count[r]++;
}

void clean_stats_print(const CleanStats *st, FILE *fh, const char *label) {
    long total = 0;
    for (int r = 0; r < CLEAN_N_REASONS; r++) total += st->count[r];
    fprintf(fh, "%s: %ld pairs, %ld kept; dropped", label, total, st->count[CLEAN_OK]);
    for (int r = 1; r < CLEAN_N_REASONS; r++)
        fprintf(fh, " %s=%ld", clean_reason_name((CleanReason)r), st->count[r]);
    fputc('\n', fh);
}
