// Added tokens (tokenizer.json "added_tokens"), cut out of the text before
// the model sees it, as the library's AddedVocabulary: matches are found
// leftmost first, longest at a position (Aho-Corasick LeftmostLongest), and
// never overlap; then single_word, lstrip and rstrip apply.
#include <stdlib.h>
#include <string.h>

#include "tokenizer/hf.h"
#include "util/alloc.h"
#include "util/utf8.h"

// ---------------------------------------------------------------- trie

typedef struct {
    const char *pat;
    size_t len;
    int32_t tok;
    int order;
} Pattern;

static int cmp_pattern(const void *a, const void *b) {
    const Pattern *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->pat, y->pat, n);
    if (c) return c;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    return x->order - y->order;  // equal patterns: the first one wins
}

void hf_trie_add(HfTrie *t, char *pat, size_t len, int32_t tok) {
    t->pat = xrealloc(t->pat, (size_t)(t->n + 1) * sizeof *t->pat);
    t->len = xrealloc(t->len, (size_t)(t->n + 1) * sizeof *t->len);
    t->tok = xrealloc(t->tok, (size_t)(t->n + 1) * sizeof *t->tok);
    t->pat[t->n] = pat, t->len[t->n] = len, t->tok[t->n] = tok;
    t->n++;
}

void hf_trie_finish(HfTrie *t) {
    Pattern *p = xmalloc(((size_t)t->n + 1) * sizeof *p);
    for (int i = 0; i < t->n; i++) p[i] = (Pattern){t->pat[i], t->len[i], t->tok[i], i};
    qsort(p, (size_t)t->n, sizeof *p, cmp_pattern);
    memset(t->first, 0, sizeof t->first);
    for (int i = 0; i < t->n; i++) {
        t->pat[i] = (char *)p[i].pat, t->len[i] = p[i].len, t->tok[i] = p[i].tok;
        t->first[(uint8_t)p[i].pat[0]] = 1;
    }
    free(p);
}

void hf_trie_free(HfTrie *t) {
    for (int i = 0; i < t->n; i++) free(t->pat[i]);
    free(t->pat), free(t->len), free(t->tok);
    memset(t, 0, sizeof *t);
}

// First index in [lo, hi) whose byte d is >= c (patterns there all have
// more than d bytes and agree on bytes 0..d-1).
static int lower(const HfTrie *t, int lo, int hi, size_t d, uint8_t c) {
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if ((uint8_t)t->pat[mid][d] < c) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

// The longest pattern that matches s at i, or -1. Sorted patterns sharing
// the prefix s[i..i+d) form a range whose shortest members come first.
static int longest_at(const HfTrie *t, const char *s, size_t n, size_t i) {
    int lo = 0, hi = t->n, best = -1;
    for (size_t d = 0; lo < hi; d++) {
        if (t->len[lo] == d) best = lo;
        while (lo < hi && t->len[lo] == d) lo++;
        if (i + d >= n) break;
        uint8_t c = (uint8_t)s[i + d];
        lo = lower(t, lo, hi, d, c);
        hi = c == 0xFF ? hi : lower(t, lo, hi, d, (uint8_t)(c + 1));
    }
    return best;
}

// ---------------------------------------------------------------- context

static size_t char_start_before(const char *s, size_t i) {
    while (i > 0 && ((uint8_t)s[i - 1] & 0xC0) == 0x80) i--;
    return i > 0 ? i - 1 : 0;
}

// Rust regex \w on the character at s[i..).
static int word_at(const HfTokenizer *h, HfWork *w, const char *s, size_t n, size_t i) {
    uint32_t cp;
    unsigned k = utf8_next((const uint8_t *)s + i, n - i, &cp);
    return hf_regex_anchored(h->word_re, w->matcher, s + i, k);
}

// Start of the run of White_Space characters that ends at i.
static size_t space_run_back(const char *s, size_t i) {
    while (i > 0) {
        size_t j = char_start_before(s, i);
        uint32_t cp;
        utf8_next((const uint8_t *)s + j, i - j, &cp);
        if (!uc_white_space(cp)) break;
        i = j;
    }
    return i;
}

static size_t space_run_fwd(const char *s, size_t n, size_t i) {
    uint32_t cp;
    unsigned k;
    while (i < n && (k = utf8_next((const uint8_t *)s + i, n - i, &cp)) && uc_white_space(cp)) i += k;
    return i;
}

// ---------------------------------------------------------------- split

static void push_sub(HfPieces *out, const HfPiece *p, size_t a, size_t b, int32_t id) {
    size_t z = p->z > a ? p->z - a : 0;
    pieces_push(out, p->off + a, b - a, z < b - a ? z : b - a, id);
}

// The library's AddedVocabulary::find_matches over one piece.
static void split_piece(const HfTokenizer *h, HfWork *w, const HfTrie *t, const HfPiece *p,
                        HfPieces *out) {
    const char *s = w->arena.buf + p->off;
    size_t n = p->len, start_offset = 0;
    for (size_t i = 0; i < n;) {
        int k = t->first[(uint8_t)s[i]] ? longest_at(t, s, n, i) : -1;
        if (k < 0) {
            i++;
            continue;
        }
        size_t start = i, stop = i + t->len[k];
        const HfAddedToken *tok = &h->added[t->tok[k]];
        i = stop;  // the automaton resumes after the match, used or not
        if (tok->single_word && ((start > 0 && word_at(h, w, s, n, char_start_before(s, start))) ||
                                 (stop < n && word_at(h, w, s, n, stop))))
            continue;
        if (tok->lstrip) {
            size_t ls = space_run_back(s, start);
            start = ls > start_offset ? ls : start_offset;
        }
        if (tok->rstrip) stop = space_run_fwd(s, n, stop);
        if (start_offset < start) push_sub(out, p, start_offset, start, -1);
        push_sub(out, p, start, stop, tok->id);
        start_offset = stop;
    }
    if (start_offset < n) push_sub(out, p, start_offset, n, -1);
}

void hf_added_split(const HfTokenizer *h, HfWork *w, const HfTrie *t, HfPieces *in,
                    HfPieces *out) {
    out->n = 0;
    for (size_t i = 0; i < in->n; i++) {
        if (in->v[i].id >= 0) pieces_push(out, in->v[i].off, in->v[i].len, in->v[i].z, in->v[i].id);
        else split_piece(h, w, t, &in->v[i], out);
    }
}
