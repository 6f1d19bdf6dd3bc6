// BLEU tokenisers (sacreBLEU's 13a, zh, char, none) and the symbol-sequence
// helpers they share with chrF: UTF-8 decoding, Python whitespace and clipped
// n-gram matching. The rules, and what they reproduce, are in docs/metrics.md.
//
// Text is handled as an array of code points, and every sacreBLEU step is
// replayed literally on it: str.replace passes, then each regex substitution
// as one left-to-right, non-overlapping scan (what Python's re.sub does for
// these fixed-width patterns), then str.split().
#include <stdlib.h>
#include <string.h>

#include "metrics/seq.h"
#include "util/alloc.h"

// ------------------------------------------------------------ UTF-8

// Length of the valid UTF-8 sequence at s (avail bytes), storing its code
// point; 0 if there is none. Overlongs, surrogates and values above U+10FFFF
// are invalid (Unicode table 3-7), as in Python's strict UTF-8 codec.
static size_t utf8_valid(const uint8_t *s, size_t avail, uint32_t *cp) {
    uint8_t b = s[0], lo = 0x80, hi = 0xBF;
    size_t len;
    uint32_t c;
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    if (b >= 0xC2 && b <= 0xDF) len = 2, c = b & 0x1Fu;
    else if (b >= 0xE0 && b <= 0xEF) len = 3, c = b & 0x0Fu;
    else if (b >= 0xF0 && b <= 0xF4) len = 4, c = b & 0x07u;
    else return 0;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
    if (avail < len || s[1] < lo || s[1] > hi) return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80) return 0;
        c = (c << 6) | (s[k] & 0x3Fu);
    }
    *cp = c;
    return len;
}

static SymSeq seq_new(size_t cap) {
    SymSeq s = {xmalloc((cap + 1) * sizeof(uint32_t)), 0};
    return s;
}

static void seq_put(SymSeq *s, uint32_t c) { s->v[s->n++] = c; }

SymSeq utf8_decode(const char *s) {
    if (!s) s = "";
    size_t len = strlen(s);
    const uint8_t *p = (const uint8_t *)s;
    SymSeq o = seq_new(len);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = utf8_valid(p + i, len - i, &cp);
        if (!k) cp = 0xDC00u + p[i], k = 1;  // surrogateescape
        seq_put(&o, cp);
        i += k;
    }
    return o;
}

char *utf8_encode(const uint32_t *v, size_t n) {
    char *o = xmalloc(4 * n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = v[i];
        if (c >= 0xDC80 && c <= 0xDCFF) {
            o[k++] = (char)(c - 0xDC00);  // an escaped invalid byte
        } else if (c < 0x80) {
            o[k++] = (char)c;
        } else if (c < 0x800) {
            o[k++] = (char)(0xC0 | (c >> 6));
            o[k++] = (char)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            o[k++] = (char)(0xE0 | (c >> 12));
            o[k++] = (char)(0x80 | ((c >> 6) & 0x3F));
            o[k++] = (char)(0x80 | (c & 0x3F));
        } else {
            o[k++] = (char)(0xF0 | (c >> 18));
            o[k++] = (char)(0x80 | ((c >> 12) & 0x3F));
            o[k++] = (char)(0x80 | ((c >> 6) & 0x3F));
            o[k++] = (char)(0x80 | (c & 0x3F));
        }
    }
    o[k] = '\0';
    return o;
}

// Python 3's str.isspace() (Unicode 14 tables; unchanged since 6.3).
int py_isspace(uint32_t c) {
    if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
    if (c < 0x85) return 0;
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// ------------------------------------------------------------ text edits

static void rstrip(SymSeq *s) {
    while (s->n && py_isspace(s->v[s->n - 1])) s->n--;
}

static void lstrip(SymSeq *s) {
    size_t k = 0;
    while (k < s->n && py_isspace(s->v[k])) k++;
    memmove(s->v, s->v + k, (s->n - k) * sizeof(uint32_t));
    s->n -= k;
}

static int ascii_at(const SymSeq *s, size_t i, const char *lit) {
    for (size_t k = 0; lit[k]; k++)
        if (i + k >= s->n || s->v[i + k] != (uint8_t)lit[k]) return 0;
    return 1;
}

// Python's s.replace(from, to) for ASCII literals with strlen(to) <=
// strlen(from), done in place.
static void replace_all(SymSeq *s, const char *from, const char *to) {
    size_t w = 0, flen = strlen(from);
    for (size_t i = 0; i < s->n;) {
        if (ascii_at(s, i, from)) {
            for (size_t k = 0; to[k]; k++) s->v[w++] = (uint8_t)to[k];
            i += flen;
        } else {
            s->v[w++] = s->v[i++];
        }
    }
    s->n = w;
}

typedef int (*SymPred)(uint32_t c);

// re.sub(r'([<pred>])', r' \1 ', s) for a one-character class.
static SymSeq pad_each(SymSeq in, SymPred pred) {
    SymSeq o = seq_new(3 * in.n);
    for (size_t i = 0; i < in.n; i++) {
        int hit = pred(in.v[i]);
        if (hit) seq_put(&o, ' ');
        seq_put(&o, in.v[i]);
        if (hit) seq_put(&o, ' ');
    }
    free(in.v);
    return o;
}

// re.sub(r'([<a>])([<b>])', r'\1 \2 ' (lead 0) or r' \1 \2' (lead 1), s).
static SymSeq pad_pairs(SymSeq in, SymPred a, SymPred b, int lead) {
    SymSeq o = seq_new(2 * in.n);
    for (size_t i = 0; i < in.n;) {
        if (i + 1 < in.n && a(in.v[i]) && b(in.v[i + 1])) {
            if (lead) seq_put(&o, ' ');
            seq_put(&o, in.v[i]);
            seq_put(&o, ' ');
            seq_put(&o, in.v[i + 1]);
            if (!lead) seq_put(&o, ' ');
            i += 2;
        } else {
            seq_put(&o, in.v[i++]);
        }
    }
    free(in.v);
    return o;
}

// ------------------------------------------------------------ character classes

static int is_digit(uint32_t c) { return c >= '0' && c <= '9'; }
static int not_digit(uint32_t c) { return !is_digit(c); }
static int is_dot_comma(uint32_t c) { return c == '.' || c == ','; }
static int is_dash(uint32_t c) { return c == '-'; }

// The class [\{-\~\[-\` -\&\(-\+\:-\@\/] of tokenizer_re.py: ASCII
// punctuation and space except ' , - . (handled by the later rules or kept).
static int is_split_punct(uint32_t c) {
    return (c >= 0x7B && c <= 0x7E) || (c >= 0x5B && c <= 0x60) || (c >= 0x20 && c <= 0x26) ||
           (c >= 0x28 && c <= 0x2B) || (c >= 0x3A && c <= 0x40) || c == 0x2F;
}

// tokenizer_zh.py's _UCODE_RANGES as Python actually evaluates them. Two
// entries are written '\u20000'..'\u2a6d6' and '\u2f800'..'\u2fa1d'; \u takes
// exactly four hex digits, so they are two-character strings, and comparing
// one character c against them gives U+2001 <= c <= U+2A6D and U+2F81 <= c <=
// U+2FA1. Hence general punctuation (— “ ” …), arrows, symbols etc. are split
// off like CJK characters, while Extension B (U+20000..) is not.
static const uint32_t ZH_RANGES[][2] = {
    {0x3400, 0x4DB5}, {0x4E00, 0x9FA5}, {0x9FA6, 0x9FBB}, {0xF900, 0xFA2D}, {0xFA30, 0xFA6A},
    {0xFA70, 0xFAD9}, {0x2001, 0x2A6D}, {0x2F81, 0x2FA1}, {0xFF00, 0xFFEF}, {0x2E80, 0x2EFF},
    {0x3000, 0x303F}, {0x31C0, 0x31EF}, {0x2F00, 0x2FDF}, {0x2FF0, 0x2FFF}, {0x3100, 0x312F},
    {0x31A0, 0x31BF}, {0xFE10, 0xFE1F}, {0xFE30, 0xFE4F}, {0x2600, 0x26FF}, {0x2700, 0x27BF},
    {0x3200, 0x32FF}, {0x3300, 0x33FF},
};

static int is_chinese(uint32_t c) {
    for (size_t k = 0; k < sizeof ZH_RANGES / sizeof ZH_RANGES[0]; k++)
        if (c >= ZH_RANGES[k][0] && c <= ZH_RANGES[k][1]) return 1;
    return 0;
}

// ------------------------------------------------------------ tokenisers

// TokenizerRegexp: the four substitutions shared by 13a and zh.
static SymSeq regexp_post(SymSeq s) {
    s = pad_each(s, is_split_punct);
    s = pad_pairs(s, not_digit, is_dot_comma, 0);  // period/comma unless after a digit
    s = pad_pairs(s, is_dot_comma, not_digit, 1);  // period/comma unless before a digit
    return pad_pairs(s, is_digit, is_dash, 0);     // dash after a digit
}

// Tokenizer13a: the mteval-v13a language-independent part, in order.
static const char *const V13A_REPLACE[][2] = {
    {"<skipped>", ""}, {"-\n", ""},     {"\n", " "},   {"&quot;", "\""},
    {"&amp;", "&"},    {"&lt;", "<"},   {"&gt;", ">"},
};

static SymSeq tok_13a(SymSeq s) {
    for (size_t k = 0; k < sizeof V13A_REPLACE / sizeof V13A_REPLACE[0]; k++)
        replace_all(&s, V13A_REPLACE[k][0], V13A_REPLACE[k][1]);
    SymSeq p = seq_new(s.n + 2);  // f' {line} '
    seq_put(&p, ' ');
    memcpy(p.v + 1, s.v, s.n * sizeof(uint32_t));
    p.n += s.n;
    seq_put(&p, ' ');
    free(s.v);
    return regexp_post(p);
}

// TokenizerZh: strip, surround each "Chinese" character with spaces, then the
// regexes (no 13a replacements and no padding, unlike 13a).
static SymSeq tok_zh(SymSeq s) {
    rstrip(&s);
    lstrip(&s);
    return regexp_post(pad_each(s, is_chinese));
}

// str.split(); with each_char every non-space character is its own token
// (TokenizerChar's " ".join(line) followed by split()).
static TokList split_tokens(SymSeq s, int each_char) {
    TokList t = {s, xmalloc((s.n + 1) * sizeof(size_t)), xmalloc((s.n + 1) * sizeof(size_t)), 0};
    for (size_t i = 0; i < s.n;) {
        if (py_isspace(s.v[i])) {
            i++;
            continue;
        }
        size_t j = i + 1;
        while (!each_char && j < s.n && !py_isspace(s.v[j])) j++;
        t.start[t.ntok] = i;
        t.len[t.ntok++] = j - i;
        i = j;
    }
    return t;
}

TokList bleu_tokens(const char *line, BleuTokenizer tok) {
    SymSeq s = utf8_decode(line);
    rstrip(&s);  // BLEU._preprocess_segment: tokenizer(sent.rstrip())
    if (tok == BLEU_TOK_13A) s = tok_13a(s);
    else if (tok == BLEU_TOK_ZH) s = tok_zh(s);
    return split_tokens(s, tok == BLEU_TOK_CHAR);
}

void toklist_free(TokList *t) {
    free(t->text.v);
    free(t->start);
    free(t->len);
    memset(t, 0, sizeof *t);
}

char *bleu_tokenize(const char *line, BleuTokenizer tok) {
    TokList t = bleu_tokens(line, tok);
    SymSeq j = seq_new(2 * t.text.n);
    for (size_t k = 0; k < t.ntok; k++) {
        if (k) seq_put(&j, ' ');
        memcpy(j.v + j.n, t.text.v + t.start[k], t.len[k] * sizeof(uint32_t));
        j.n += t.len[k];
    }
    char *out = utf8_encode(j.v, j.n);
    free(j.v);
    toklist_free(&t);
    return out;
}

// ------------------------------------------------------------ n-gram matching

typedef struct {
    const uint32_t *p;
    size_t n;
} Gram;

static int gram_cmp(const void *a, const void *b) {
    const Gram *x = a, *y = b;
    for (size_t k = 0; k < x->n; k++)
        if (x->p[k] != y->p[k]) return x->p[k] < y->p[k] ? -1 : 1;
    return 0;
}

// All n-grams of s, sorted; *m receives their number.
static Gram *grams_sorted(const SymSeq *s, int n, size_t *m) {
    *m = (size_t)ngram_count(s->n, n);
    Gram *g = xmalloc((*m + 1) * sizeof *g);
    for (size_t i = 0; i < *m; i++) g[i] = (Gram){s->v + i, (size_t)n};
    qsort(g, *m, sizeof *g, gram_cmp);
    return g;
}

// best[i] = max(best[i], count of distinct gram u[i] in ref); u is sorted.
static void ref_max_counts(const Gram *u, size_t nu, const SymSeq *ref, int n, int64_t *best) {
    size_t m, j = 0;
    Gram *g = grams_sorted(ref, n, &m);
    for (size_t i = 0; i < nu; i++) {
        while (j < m && gram_cmp(&g[j], &u[i]) < 0) j++;
        int64_t c = 0;
        for (; j < m && gram_cmp(&g[j], &u[i]) == 0; j++) c++;
        if (c > best[i]) best[i] = c;
    }
    free(g);
}

int64_t ngram_clipped_matches(const SymSeq *hyp, const SymSeq *refs, int nrefs, int n) {
    size_t m, nu = 0;
    Gram *u = grams_sorted(hyp, n, &m);
    int64_t *cnt = xcalloc(m + 1, sizeof *cnt), *best = xcalloc(m + 1, sizeof *best);
    for (size_t i = 0; i < m; i++) {  // collapse runs of equal grams
        if (nu && gram_cmp(&u[nu - 1], &u[i]) == 0) {
            cnt[nu - 1]++;
        } else {
            u[nu] = u[i];
            cnt[nu++] = 1;
        }
    }
    for (int r = 0; r < nrefs; r++) ref_max_counts(u, nu, &refs[r], n, best);
    int64_t matches = 0;
    for (size_t i = 0; i < nu; i++) matches += cnt[i] < best[i] ? cnt[i] : best[i];
    free(u);
    free(cnt);
    free(best);
    return matches;
}

// ------------------------------------------------------------ references

int refs_usable(const char *const *in, int nin, const char **out) {
    int k = 0;
    for (int r = 0; r < nin; r++)
        if (in && in[r]) out[k++] = in[r];
    if (!k) out[k++] = "";
    return k;
}

void refs_row(const char *const *const *refs, int nrefs, int64_t i, const char **row) {
    for (int r = 0; r < nrefs; r++) row[r] = refs[r] ? refs[r][i] : NULL;
}
