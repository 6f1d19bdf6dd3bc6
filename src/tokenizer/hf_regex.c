#include "tokenizer/hf_regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

struct HfRegex {
    pcre2_code *code;
};

struct HfMatcher {
    pcre2_match_data *md;
    pcre2_match_context *mc;
    pcre2_jit_stack *stack;
};

// Oniguruma's Unicode classes written as PCRE2 class items (PCRE2's own \s
// also takes U+180E, its \w misses marks and connector punctuation, and its
// \h means horizontal space, not a hex digit).
#define ONIG_SPACE "\\t-\\r\\x{85}\\p{Z}"
#define ONIG_WORD "\\p{L}\\p{M}\\p{N}\\p{Pc}"
#define ONIG_HEX "0-9a-fA-F"

// General category long names Oniguruma accepts and PCRE2 10.42 does not.
static const char *const LONG_NAMES[][2] = {
    {"Letter", "L"}, {"Uppercase_Letter", "Lu"}, {"Lowercase_Letter", "Ll"},
    {"Titlecase_Letter", "Lt"}, {"Modifier_Letter", "Lm"}, {"Other_Letter", "Lo"},
    {"Cased_Letter", "L&"}, {"Mark", "M"}, {"Nonspacing_Mark", "Mn"}, {"Spacing_Mark", "Mc"},
    {"Enclosing_Mark", "Me"}, {"Number", "N"}, {"Decimal_Number", "Nd"},
    {"Letter_Number", "Nl"}, {"Other_Number", "No"}, {"Punctuation", "P"},
    {"Connector_Punctuation", "Pc"}, {"Dash_Punctuation", "Pd"}, {"Open_Punctuation", "Ps"},
    {"Close_Punctuation", "Pe"}, {"Initial_Punctuation", "Pi"}, {"Final_Punctuation", "Pf"},
    {"Other_Punctuation", "Po"}, {"Symbol", "S"}, {"Math_Symbol", "Sm"},
    {"Currency_Symbol", "Sc"}, {"Modifier_Symbol", "Sk"}, {"Other_Symbol", "So"},
    {"Separator", "Z"}, {"Space_Separator", "Zs"}, {"Line_Separator", "Zl"},
    {"Paragraph_Separator", "Zp"}, {"Other", "C"}, {"Control", "Cc"}, {"Format", "Cf"},
    {"Surrogate", "Cs"}, {"Private_Use", "Co"}, {"Unassigned", "Cn"},
};

typedef struct {
    char *p;
    size_t n, cap;
} Out;

static void out_add(Out *o, const char *s, size_t n) {
    if (o->n + n + 1 > o->cap) {
        o->cap = 2 * (o->n + n + 1);
        o->p = xrealloc(o->p, o->cap);
    }
    memcpy(o->p + o->n, s, n);
    o->n += n;
    o->p[o->n] = '\0';
}

static void out_str(Out *o, const char *s) { out_add(o, s, strlen(s)); }

static int is_hex(char c) {
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

// \p{Name} / \P{Name} / \p{^Name} at p (after the backslash); returns the
// bytes consumed.
static size_t property(const char *p, size_t n, Out *o) {
    const char *close = memchr(p, '}', n);
    if (n < 3 || p[1] != '{' || !close) {
        out_add(o, "\\", 1), out_add(o, p, 1);
        return 1;
    }
    size_t len = (size_t)(close - p) - 2;
    const char *name = p + 2;
    out_add(o, "\\", 1), out_add(o, p, 2);
    if (len && name[0] == '^') out_add(o, "^", 1), name++, len--;
    const char *mapped = NULL;
    for (size_t i = 0; i < sizeof LONG_NAMES / sizeof LONG_NAMES[0] && !mapped; i++)
        if (strlen(LONG_NAMES[i][0]) == len && !memcmp(LONG_NAMES[i][0], name, len))
            mapped = LONG_NAMES[i][1];
    if (mapped) out_str(o, mapped);
    else out_add(o, name, len);
    out_add(o, "}", 1);
    return (size_t)(close - p) + 1;
}

// One escape at p (p[0] is the character after the backslash); returns the
// bytes consumed after the backslash.
static size_t escape(const char *p, size_t n, int in_class, Out *o) {
    switch (p[0]) {
    case 's': out_str(o, in_class ? ONIG_SPACE : "[" ONIG_SPACE "]"); return 1;
    case 'S': out_str(o, in_class ? "\\S" : "[^" ONIG_SPACE "]"); return 1;
    case 'w': out_str(o, in_class ? ONIG_WORD : "[" ONIG_WORD "]"); return 1;
    case 'W': out_str(o, in_class ? "\\W" : "[^" ONIG_WORD "]"); return 1;
    case 'h': out_str(o, in_class ? ONIG_HEX : "[" ONIG_HEX "]"); return 1;
    case 'H': out_str(o, in_class ? "\\x00-/:-@G-`g-\\x{10FFFF}" : "[^" ONIG_HEX "]"); return 1;
    case 'p':
    case 'P': return property(p, n, o);
    case 'u':
        if (n >= 5 && is_hex(p[1]) && is_hex(p[2]) && is_hex(p[3]) && is_hex(p[4])) {
            out_str(o, "\\x{"), out_add(o, p + 1, 4), out_add(o, "}", 1);
            return 5;
        }
        break;
    default: break;
    }
    out_add(o, "\\", 1), out_add(o, p, 1);
    return 1;
}

// Oniguruma (Ruby syntax) -> PCRE2. Character-class set operations
// (nested [..[..]], &&) have no PCRE2 equivalent and are refused.
static LmStatus translate(const char *p, size_t n, Out *o, const char *where) {
    int in_class = 0;
    for (size_t i = 0; i < n;) {
        char c = p[i];
        if (c == '\\' && i + 1 < n) {
            i += 1 + escape(p + i + 1, n - i - 1, in_class, o);
        } else if (c == '[' && !in_class) {
            out_add(o, "[", 1), i++, in_class = 1;
            if (i < n && p[i] == '^') out_add(o, "^", 1), i++;
            if (i < n && p[i] == ']') out_add(o, "\\]", 2), i++;
        } else if (c == '[' && i + 1 < n && p[i + 1] == ':') {
            const char *end = strstr(p + i, ":]");
            size_t k = end ? (size_t)(end - (p + i)) + 2 : n - i;
            out_add(o, p + i, k), i += k;
        } else if ((c == '[' || (c == '&' && i + 1 < n && p[i + 1] == '&')) && in_class) {
            lm_error("%s: the character-class set operation at offset %zu (nested [...] or "
                     "&&) is an Oniguruma feature PCRE2 does not have", where, i);
            return LM_EUSAGE;
        } else {
            if (c == ']' && in_class) in_class = 0;
            out_add(o, p + i, 1), i++;
        }
    }
    if (!o->p) out_add(o, "", 0);
    return LM_OK;
}

LmStatus hf_regex_compile(const char *pattern, size_t len, HfReKind kind, const char *where,
                          HfRegex **out) {
    *out = NULL;
    Out o = {0};
    uint32_t opts = PCRE2_UTF | (kind == HF_RE_LITERAL ? PCRE2_LITERAL : PCRE2_UCP);
    if (kind == HF_RE_ONIG) {
        opts |= PCRE2_MULTILINE;  // Ruby syntax: ^ and $ are line anchors
        LmStatus st = translate(pattern, len, &o, where);
        if (st != LM_OK) {
            free(o.p);
            return st;
        }
    } else {
        out_add(&o, pattern, len);
    }
    int err;
    PCRE2_SIZE off;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)o.p, o.n, opts, &err, &off, NULL);
    free(o.p);
    if (!code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        lm_error("%s: PCRE2 rejects the pattern \"%.*s\": %s (near offset %zu)", where,
                 (int)(len < 200 ? len : 200), pattern, (const char *)msg, (size_t)off);
        return LM_ERUNTIME;
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // interpreted if the JIT is unavailable
    *out = xcalloc(1, sizeof **out);
    (*out)->code = code;
    return LM_OK;
}

void hf_regex_free(HfRegex *re) {
    if (!re) return;
    pcre2_code_free(re->code);
    free(re);
}

HfMatcher *hf_matcher_new(void) {
    HfMatcher *m = xcalloc(1, sizeof *m);
    m->md = pcre2_match_data_create(1, NULL);
    m->mc = pcre2_match_context_create(NULL);
    m->stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, NULL);
    if (!m->md || !m->mc || !m->stack) {
        fprintf(stderr, "error: out of memory creating PCRE2 match data\n");
        abort();
    }
    pcre2_jit_stack_assign(m->mc, NULL, m->stack);
    return m;
}

void hf_matcher_free(HfMatcher *m) {
    if (!m) return;
    pcre2_match_data_free(m->md);
    pcre2_match_context_free(m->mc);
    pcre2_jit_stack_free(m->stack);
    free(m);
}

void hf_spans_push(HfSpans *sp, size_t start, size_t end, int match) {
    if (sp->n == sp->cap) {
        sp->cap = sp->cap ? 2 * sp->cap : 64;
        sp->v = xrealloc(sp->v, sp->cap * sizeof *sp->v);
    }
    sp->v[sp->n++] = (HfSpan){start, end, match};
}

void hf_spans_free(HfSpans *sp) {
    free(sp->v);
    memset(sp, 0, sizeof *sp);
}

static size_t char_len(uint8_t b) { return b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4; }

// The library's find_iter: searches resume at the end of the previous
// match; an empty match advances by one character and is dropped when it
// directly follows a non-empty one.
LmStatus hf_regex_spans(const HfRegex *re, HfMatcher *m, const char *s, size_t n,
                        HfSpans *out) {
    out->n = 0;
    if (n == 0) {
        hf_spans_push(out, 0, 0, 0);
        return LM_OK;
    }
    size_t prev = 0, last_end = 0;
    int skip_empty = 0;
    while (last_end <= n) {
        int rc = pcre2_match(re->code, (PCRE2_SPTR)s, n, last_end, PCRE2_NO_UTF_CHECK, m->md, m->mc);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            lm_error("regular expression matching failed on a text of %zu bytes: %s", n,
                     (const char *)msg);
            return LM_ERUNTIME;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(m->md);
        size_t a = ov[0], b = ov[1] > ov[0] ? ov[1] : ov[0];
        last_end = b;
        if (a == b) {
            last_end += last_end < n ? char_len((uint8_t)s[last_end]) : 1;
            if (skip_empty) {
                skip_empty = 0;
                continue;
            }
        } else {
            skip_empty = 1;
        }
        if (prev != a) hf_spans_push(out, prev, a, 0);
        hf_spans_push(out, a, b, 1);
        prev = b;
    }
    if (prev != n) hf_spans_push(out, prev, n, 0);
    return LM_OK;
}

int hf_regex_anchored(const HfRegex *re, HfMatcher *m, const char *s, size_t n) {
    return pcre2_match(re->code, (PCRE2_SPTR)s, n, 0, PCRE2_ANCHORED | PCRE2_NO_UTF_CHECK, m->md,
                       m->mc) >= 0;
}
