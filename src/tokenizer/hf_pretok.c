// Pre-tokenizers of tokenizer.json: each cuts every text piece into
// smaller ones (and ByteLevel / Metaspace also rewrite them), exactly as
// the library's NormalizedString::split with its five delimiter behaviours.
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tokenizer/hf.h"
#include "util/alloc.h"
#include "util/utf8.h"

// ---------------------------------------------------------------- behaviours

// The library's fold of (span, is_match) into the pieces to keep; spans
// that would be removed are dropped from the list.
static void behave(HfSpans *sp, HfSplitBehavior b) {
    size_t k = 0;
    int prev_match = 0;
    if (b == SPLIT_MERGED_NEXT) {  // folded from the right
        for (size_t i = sp->n; i-- > 0;) {
            HfSpan s = sp->v[i];
            if (s.match && !prev_match && k) sp->v[sp->n - k].start = s.start;
            else sp->v[sp->n - 1 - k++] = (HfSpan){s.start, s.end, 0};
            prev_match = s.match;
        }
        memmove(sp->v, sp->v + sp->n - k, k * sizeof *sp->v);
        sp->n = k;
        return;
    }
    for (size_t i = 0; i < sp->n; i++) {
        HfSpan s = sp->v[i];
        int extend = (b == SPLIT_CONTIGUOUS && s.match == prev_match) ||
                     (b == SPLIT_MERGED_PREV && s.match && !prev_match);
        if (b == SPLIT_REMOVED && s.match) {
        } else if (extend && k) {
            sp->v[k - 1].end = s.end;
        } else {
            sp->v[k++] = (HfSpan){s.start, s.end, 0};
        }
        prev_match = s.match;
    }
    sp->n = k;
}

static void push_spans(const HfPiece *p, const HfSpans *sp, HfPieces *out) {
    for (size_t i = 0; i < sp->n; i++) {
        size_t a = sp->v[i].start, b = sp->v[i].end;
        if (a >= b) continue;  // the library drops empty pieces
        size_t z = p->z > a ? p->z - a : 0;
        pieces_push(out, p->off + a, b - a, z < b - a ? z : b - a, -1);
    }
}

// ---------------------------------------------------------------- char classes

typedef int (*CharPred)(uint32_t cp, uint32_t arg);

static int is_numeric(uint32_t cp, uint32_t arg) {
    (void)arg;  // Rust char::is_numeric: Nd, Nl, No
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return c == UTF8PROC_CATEGORY_ND || c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_NO;
}

static int is_punctuation(uint32_t cp, uint32_t arg) {  // ASCII punctuation or a P* category
    (void)arg;
    if (cp < 0x80) return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) ||
                          (cp >= 0x5B && cp <= 0x60) || (cp >= 0x7B && cp <= 0x7E);
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
}

static int is_space(uint32_t cp, uint32_t arg) {
    (void)arg;
    return uc_white_space(cp);
}

static int is_char(uint32_t cp, uint32_t arg) { return cp == arg; }

// find_matches of a character predicate: each matching character is a
// match of its own; the characters between form one gap.
static void char_spans(const char *s, size_t n, CharPred pred, uint32_t arg, HfSpans *out) {
    out->n = 0;
    size_t gap = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        unsigned k = utf8_next((const uint8_t *)s + i, n - i, &cp);
        if (pred(cp, arg)) {
            if (gap < i) hf_spans_push(out, gap, i, 0);
            hf_spans_push(out, i, i + k, 1);
            gap = i + k;
        }
        i += k;
    }
    if (gap < n || n == 0) hf_spans_push(out, gap, n, 0);
}

// ---------------------------------------------------------------- rewriting

// GPT-2's bytes_to_unicode: printable bytes stand for themselves, the
// others for U+0100 + k in byte order.
static int printable(unsigned b) {
    return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
}

typedef struct {
    char s[2];
    uint8_t n;
} ByteChar;

static ByteChar BYTE_CHARS[256];
static int16_t CHAR_BYTES[0x144];  // code point -> byte, -1: not a byte-level character

static void tables_init(void) {
    unsigned k = 0;
    for (unsigned cp = 0; cp < 0x144; cp++) CHAR_BYTES[cp] = -1;
    for (unsigned b = 0; b < 256; b++) {
        uint32_t cp = printable(b) ? b : 0x100 + k++;
        char e[4];
        BYTE_CHARS[b].n = (uint8_t)utf8_put(cp, e);
        memcpy(BYTE_CHARS[b].s, e, BYTE_CHARS[b].n);
        CHAR_BYTES[cp] = (int16_t)b;
    }
}

// Once per process, before any thread encodes.
void hf_byte_level_init(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, tables_init);
}

int hf_byte_of_char(uint32_t cp) { return cp < 0x144 ? CHAR_BYTES[cp] : -1; }

// Rewrites the piece into its byte-level form (appended to the arena); z
// becomes the mapped length of the first z bytes.
static void byte_level_map(HfWork *w, HfPiece *p) {
    hfbuf_reserve(&w->arena, 2 * p->len);
    const uint8_t *s = (const uint8_t *)w->arena.buf + p->off;
    char *o = w->arena.buf + w->arena.n;
    size_t k = 0, zk = 0;
    for (size_t i = 0; i < p->len; i++) {
        const ByteChar *c = &BYTE_CHARS[s[i]];
        o[k] = c->s[0];
        if (c->n == 2) o[k + 1] = c->s[1];
        k += c->n;
        if (i < p->z) zk = k;
    }
    *p = (HfPiece){w->arena.n, k, zk, -1};
    w->arena.n += k;
}

// A copy of the piece with `pre` in front (z: the prefix joins the first
// character).
static HfPiece prepended(HfWork *w, const HfPiece *p, const char *pre, size_t plen) {
    hfbuf_reserve(&w->arena, plen + p->len);
    size_t at = hfbuf_add(&w->arena, pre, plen);
    hfbuf_add(&w->arena, w->arena.buf + p->off, p->len);
    return (HfPiece){at, plen + p->len, p->z ? p->z + plen : 0, -1};
}

// Metaspace: spaces become the replacement character (each aligned to its
// space), then the prepend scheme.
static HfPiece metaspace_rewrite(const HfPre *st, HfWork *w, const HfPiece *p) {
    hfbuf_reserve(&w->arena, p->len * st->rep_len);
    const char *s = w->arena.buf + p->off;
    char *o = w->arena.buf + w->arena.n;
    size_t k = 0, zk = 0;
    for (size_t i = 0; i < p->len; i++) {
        if (s[i] == ' ') memcpy(o + k, st->rep, st->rep_len), k += st->rep_len;
        else o[k++] = s[i];
        if (i < p->z) zk = k;
    }
    HfPiece q = {w->arena.n, k, zk, -1};
    w->arena.n += k;
    int starts = k >= st->rep_len && !memcmp(o, st->rep, st->rep_len);
    if (!starts && (st->scheme == PREPEND_ALWAYS || (st->scheme == PREPEND_FIRST && q.z)))
        q = prepended(w, &q, st->rep, st->rep_len);
    return q;
}

// ---------------------------------------------------------------- steps

// Spans of one piece for a splitting step.
static LmStatus step_spans(const HfPre *st, HfWork *w, const char *s, size_t n) {
    switch (st->kind) {
    case PRE_SPLIT:
    case PRE_BYTELEVEL:
    case PRE_WHITESPACE: LM_TRY(hf_regex_spans(st->re, w->matcher, s, n, &w->spans)); break;
    case PRE_DIGITS: char_spans(s, n, is_numeric, 0, &w->spans); break;
    case PRE_PUNCTUATION: char_spans(s, n, is_punctuation, 0, &w->spans); break;
    case PRE_WHITESPACE_SPLIT: char_spans(s, n, is_space, 0, &w->spans); break;
    case PRE_METASPACE: char_spans(s, n, is_char, st->rep_cp, &w->spans); break;
    }
    int invert = st->kind == PRE_WHITESPACE || (st->kind == PRE_SPLIT && st->invert);
    for (size_t i = 0; invert && i < w->spans.n; i++) w->spans.v[i].match = !w->spans.v[i].match;
    HfSplitBehavior b = st->kind == PRE_SPLIT || st->kind == PRE_PUNCTUATION ? st->behavior
                        : st->kind == PRE_DIGITS ? (st->individual ? SPLIT_ISOLATED : SPLIT_CONTIGUOUS)
                        : st->kind == PRE_METASPACE ? SPLIT_MERGED_NEXT
                        : st->kind == PRE_BYTELEVEL ? SPLIT_ISOLATED
                                                    : SPLIT_REMOVED;
    behave(&w->spans, b);
    return LM_OK;
}

// One step over one text piece, appending the resulting pieces to out.
static LmStatus step_piece(const HfPre *st, HfWork *w, HfPiece p, HfPieces *out) {
    if (st->kind == PRE_METASPACE) {
        p = metaspace_rewrite(st, w, &p);
        if (!st->split) {
            pieces_push(out, p.off, p.len, p.z, -1);
            return LM_OK;
        }
    }
    if (st->kind == PRE_BYTELEVEL && st->add_prefix_space && w->arena.buf[p.off] != ' ')
        p = prepended(w, &p, " ", 1);
    if (st->kind == PRE_BYTELEVEL && !st->re) {
        w->spans.n = 0;
        hf_spans_push(&w->spans, 0, p.len, 0);
    } else {
        LM_TRY(step_spans(st, w, w->arena.buf + p.off, p.len));
    }
    size_t first = out->n;
    push_spans(&p, &w->spans, out);
    for (size_t i = first; st->kind == PRE_BYTELEVEL && i < out->n; i++) byte_level_map(w, &out->v[i]);
    return LM_OK;
}

LmStatus hf_pre_tokenize(const HfTokenizer *h, HfWork *w) {
    for (int i = 0; i < h->n_pre; i++) {
        w->b.n = 0;
        for (size_t j = 0; j < w->a.n; j++) {
            if (w->a.v[j].id >= 0) pieces_push(&w->b, w->a.v[j].off, w->a.v[j].len, 0, w->a.v[j].id);
            else LM_TRY(step_piece(&h->pre[i], w, w->a.v[j], &w->b));
        }
        HfPieces t = w->a;
        w->a = w->b;
        w->b = t;
    }
    return LM_OK;
}
