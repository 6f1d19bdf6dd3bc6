// The encoding pipeline of a tokenizer.json (hf.h) and its scratch.
#include <stdlib.h>
#include <string.h>

#include "tokenizer/hf.h"
#include "util/alloc.h"
#include "util/utf8.h"

HfWork *hf_work_new(void) {
    HfWork *w = xcalloc(1, sizeof *w);
    w->matcher = hf_matcher_new();
    return w;
}

void hf_work_free(HfWork *w) {
    if (!w) return;
    free(w->arena.buf), free(w->tmp.buf), free(w->tmp2.buf);
    free(w->a.v), free(w->b.v);
    hf_spans_free(&w->spans);
    hf_matcher_free(w->matcher);
    free(w->sym), free(w->heap), free(w->cache), free(w->ids);
    free(w);
}

void hfbuf_reserve(HfBuf *b, size_t more) {
    if (b->n + more <= b->cap) return;
    b->cap = 2 * (b->n + more) + 64;
    b->buf = xrealloc(b->buf, b->cap);
}

size_t hfbuf_add(HfBuf *b, const void *s, size_t n) {
    hfbuf_reserve(b, n);
    size_t at = b->n;
    if (n) memcpy(b->buf + at, s, n);
    b->n += n;
    return at;
}

void hf_push_id(HfWork *w, int32_t id) {
    if (w->n_ids == w->cap_ids) {
        w->cap_ids = w->cap_ids ? 2 * w->cap_ids : 256;
        w->ids = xrealloc(w->ids, w->cap_ids * sizeof *w->ids);
    }
    w->ids[w->n_ids++] = id;
}

void pieces_push(HfPieces *p, size_t off, size_t len, size_t z, int32_t id) {
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 64;
        p->v = xrealloc(p->v, p->cap * sizeof *p->v);
    }
    p->v[p->n++] = (HfPiece){off, len, z, id};
}

// The input as valid UTF-8 in the arena: the library takes Rust strings,
// and its callers (Python, Node) turn invalid bytes into U+FFFD first.
static size_t input_piece(HfWork *w, const char *text, size_t len, size_t *out_len) {
    if (utf8_valid(text, len)) {
        *out_len = len;
        return hfbuf_add(&w->arena, text, len);
    }
    hfbuf_reserve(&w->arena, 3 * len);
    size_t at = w->arena.n;
    *out_len = utf8_lossy(text, len, w->arena.buf + at);
    w->arena.n += *out_len;
    return at;
}

static void swap_pieces(HfWork *w) {
    HfPieces t = w->a;
    w->a = w->b;
    w->b = t;
}

// One TemplateProcessing step over w->ids[0..n): specials and the sequence
// as the template says, or only the sequence without special tokens.
static void apply_template(const HfTemplate *t, HfWork *w, int add_special) {
    size_t n = w->n_ids;
    int32_t *seq = xmalloc((n + 1) * sizeof *seq);
    if (n) memcpy(seq, w->ids, n * sizeof *seq);
    w->n_ids = 0;
    for (int i = 0; i < t->n; i++) {
        if (t->items[i] != HF_SEQ_A && !add_special) continue;
        size_t k = t->items[i] == HF_SEQ_A ? n : 1;
        if (w->n_ids + k > w->cap_ids) {
            w->cap_ids = 2 * (w->n_ids + k);
            w->ids = xrealloc(w->ids, w->cap_ids * sizeof *w->ids);
        }
        if (t->items[i] != HF_SEQ_A) w->ids[w->n_ids] = t->items[i];
        else if (n) memcpy(w->ids + w->n_ids, seq, n * sizeof *seq);
        w->n_ids += k;
    }
    free(seq);
}

LmStatus hf_encode(const HfTokenizer *h, HfWork *w, const char *text, size_t len,
                   int add_special) {
    w->arena.n = w->a.n = w->b.n = w->n_ids = 0;
    size_t n, off = input_piece(w, text, len, &n);
    if (n) {
        uint32_t cp;
        pieces_push(&w->a, off, n, utf8_next((const uint8_t *)w->arena.buf + off, n, &cp), -1);
    }
    if (h->plain.n) {
        hf_added_split(h, w, &h->plain, &w->a, &w->b);
        swap_pieces(w);
    }
    LM_TRY(hf_normalize(h, w, &w->a));
    if (h->normed.n) {
        hf_added_split(h, w, &h->normed, &w->a, &w->b);
        swap_pieces(w);
    }
    LM_TRY(hf_pre_tokenize(h, w));
    for (size_t i = 0; i < w->a.n; i++) {
        const HfPiece *p = &w->a.v[i];
        if (p->id >= 0) hf_push_id(w, p->id);
        else hf_bpe_tokenize(&h->bpe, w, w->arena.buf + p->off, p->len);
    }
    for (int i = 0; i < h->n_post; i++) apply_template(&h->post[i], w, add_special);
    return LM_OK;
}
