// Decoding of a tokenizer.json: ids -> token strings -> the decoder chain,
// as the library's Tokenizer::decode (unknown ids are skipped silently,
// special tokens too unless kept; without a decoder tokens are joined by
// spaces).
#include <stdlib.h>
#include <string.h>

#include "tokenizer/hf.h"
#include "util/alloc.h"
#include "util/utf8.h"

typedef struct {
    size_t off, len;
} Tok;

typedef struct {
    HfBuf text;   // every token string, back to back
    Tok *v;
    size_t n, cap;
} TokList;

static void tok_push(TokList *l, const char *s, size_t n) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n].off = hfbuf_add(&l->text, s, n);
    l->v[l->n++].len = n;
}

// A list of empty tokens has no text buffer at all.
static const char *tok_str(const TokList *l, size_t i) {
    return l->text.buf ? l->text.buf + l->v[i].off : "";
}

static void list_free(TokList *l) {
    free(l->text.buf), free(l->v);
    memset(l, 0, sizeof *l);
}

// Joins all tokens into one (Fuse; also the end of ByteLevel).
static void fuse(const TokList *in, TokList *out) {
    HfBuf b = {0};
    for (size_t i = 0; i < in->n; i++) hfbuf_add(&b, tok_str(in, i), in->v[i].len);
    tok_push(out, b.buf ? b.buf : "", b.n);
    free(b.buf);
}

// The bytes a byte-level token stands for, or the token itself when one of
// its characters is not a byte-level character; the whole sequence is then
// read as UTF-8 with U+FFFD for what is not valid.
static void byte_level(const TokList *in, TokList *out) {
    HfBuf b = {0};
    for (size_t i = 0; i < in->n; i++) {
        const char *s = tok_str(in, i);
        size_t n = in->v[i].len, at = b.n;
        for (size_t j = 0; j < n;) {
            uint32_t cp;
            unsigned k = utf8_next((const uint8_t *)s + j, n - j, &cp);
            int byte = hf_byte_of_char(cp);
            if (byte < 0) {
                b.n = at;
                hfbuf_add(&b, s, n);
                break;
            }
            uint8_t c = (uint8_t)byte;
            hfbuf_add(&b, &c, 1);
            j += k;
        }
    }
    hfbuf_reserve(&b, 3 * b.n + 1);
    size_t n = utf8_lossy(b.buf, b.n, b.buf + b.n);
    tok_push(out, b.buf + b.n, n);
    free(b.buf);
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') return (c | 0x20) - 'a' + 10;
    return -1;
}

// "<0xNN>" -> the byte; -1 otherwise. Rust's u8::from_str_radix also takes
// a '+' sign ("<0x+A>").
static int fallback_byte(const char *s, size_t n) {
    if (n != 6 || memcmp(s, "<0x", 3) || s[5] != '>') return -1;
    int hi = hexval(s[3]), lo = hexval(s[4]);
    if (s[3] == '+' && lo >= 0) return lo;
    return hi >= 0 && lo >= 0 ? hi * 16 + lo : -1;
}

static void flush_bytes(HfBuf *bytes, TokList *out) {
    if (!bytes->n) return;
    if (utf8_valid(bytes->buf, bytes->n)) tok_push(out, bytes->buf, bytes->n);
    else
        for (size_t i = 0; i < bytes->n; i++) tok_push(out, "\xEF\xBF\xBD", 3);
    bytes->n = 0;
}

static void byte_fallback(const TokList *in, TokList *out) {
    HfBuf bytes = {0};
    for (size_t i = 0; i < in->n; i++) {
        int b = fallback_byte(tok_str(in, i), in->v[i].len);
        if (b >= 0) {
            uint8_t c = (uint8_t)b;
            hfbuf_add(&bytes, &c, 1);
            continue;
        }
        flush_bytes(&bytes, out);
        tok_push(out, tok_str(in, i), in->v[i].len);
    }
    flush_bytes(&bytes, out);
    free(bytes.buf);
}

// Metaspace: the replacement becomes a space, except in the first token
// where it is dropped (unless prepend_scheme is never).
static void metaspace(const HfDec *d, const TokList *in, TokList *out) {
    HfBuf b = {0};
    for (size_t i = 0; i < in->n; i++) {
        const char *s = tok_str(in, i);
        size_t n = in->v[i].len;
        b.n = 0;
        for (size_t j = 0; j < n;) {
            if (n - j >= d->ch_len && !memcmp(s + j, d->ch, d->ch_len)) {
                if (i != 0 || d->scheme == PREPEND_NEVER) hfbuf_add(&b, " ", 1);
                j += d->ch_len;
            } else {
                hfbuf_add(&b, s + j, 1), j++;
            }
        }
        tok_push(out, b.buf ? b.buf : "", b.n);
    }
    free(b.buf);
}

// Strip: up to `start` leading and `stop` trailing copies of the content
// character are cut from every token.
static void strip(const HfDec *d, const TokList *in, TokList *out) {
    for (size_t i = 0; i < in->n; i++) {
        const char *s = tok_str(in, i);
        size_t a = 0, b = in->v[i].len;
        for (int k = 0; k < d->start && b - a >= d->ch_len && !memcmp(s + a, d->ch, d->ch_len); k++)
            a += d->ch_len;
        for (int k = 0; k < d->stop && b - a >= d->ch_len &&
                        !memcmp(s + b - d->ch_len, d->ch, d->ch_len); k++)
            b -= d->ch_len;
        tok_push(out, s + a, b - a);
    }
}

static LmStatus replace(const HfDec *d, HfMatcher *m, HfSpans *sp, const TokList *in,
                        TokList *out) {
    HfBuf b = {0};
    for (size_t i = 0; i < in->n; i++) {
        const char *s = tok_str(in, i);
        LmStatus st = hf_regex_spans(d->re, m, s, in->v[i].len, sp);
        if (st != LM_OK) {
            free(b.buf);
            return st;
        }
        b.n = 0;
        for (size_t j = 0; j < sp->n; j++) {
            if (sp->v[j].match) hfbuf_add(&b, d->text, d->text_len);
            else hfbuf_add(&b, s + sp->v[j].start, sp->v[j].end - sp->v[j].start);
        }
        tok_push(out, b.buf ? b.buf : "", b.n);
    }
    free(b.buf);
    return LM_OK;
}

static LmStatus run_step(const HfDec *d, HfMatcher *m, HfSpans *sp, const TokList *in,
                         TokList *out) {
    switch (d->kind) {
    case DEC_BYTELEVEL: byte_level(in, out); break;
    case DEC_METASPACE: metaspace(d, in, out); break;
    case DEC_BYTE_FALLBACK: byte_fallback(in, out); break;
    case DEC_FUSE: fuse(in, out); break;
    case DEC_STRIP: strip(d, in, out); break;
    case DEC_REPLACE: return replace(d, m, sp, in, out);
    }
    return LM_OK;
}

static void token_list(const HfTokenizer *h, const int32_t *ids, int64_t n, int keep_special,
                       TokList *l) {
    for (int64_t i = 0; i < n; i++) {
        size_t len;
        const char *s = hf_token(h, ids[i], &len);
        if (s && (keep_special || !h->special[ids[i]])) tok_push(l, s, len);
    }
}

char *hf_decode(const HfTokenizer *h, const int32_t *ids, int64_t n, int keep_special,
                size_t *out_len) {
    TokList cur = {0}, next = {0};
    token_list(h, ids, n, keep_special, &cur);
    HfMatcher *m = hf_matcher_new();
    HfSpans sp = {0};
    LmStatus st = LM_OK;
    for (int i = 0; st == LM_OK && i < h->n_dec; i++) {
        next.n = next.text.n = 0;
        st = run_step(&h->dec[i], m, &sp, &cur, &next);
        TokList t = cur;
        cur = next, next = t;
    }
    HfBuf b = {0};
    for (size_t i = 0; i < cur.n; i++) {
        if (i && !h->has_decoder) hfbuf_add(&b, " ", 1);
        hfbuf_add(&b, tok_str(&cur, i), cur.v[i].len);
    }
    hfbuf_add(&b, "", 1);
    *out_len = b.n - 1;
    list_free(&cur), list_free(&next);
    hf_spans_free(&sp);
    hf_matcher_free(m);
    return b.buf;
}
