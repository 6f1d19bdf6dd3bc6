// Normalizers of tokenizer.json, applied to each piece of text between
// added tokens (as the library does), with utf8proc for the Unicode
// normalization forms. Each step also carries z, the count of leading bytes
// that stem from the input's first character (hf.h), by the library's
// alignment rules: inserted text takes the alignment of the character it
// is attached to.
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tokenizer/hf.h"
#include "util/alloc.h"
#include "util/utf8.h"

// Leading zero-aligned bytes of an output built segment by segment.
typedef struct {
    size_t z;
    int done;
} ZTrack;

static void z_add(ZTrack *t, size_t len, size_t zero) {
    if (t->done) return;
    t->z += zero;
    if (zero < len) t->done = 1;
}

static int all_ascii(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if ((uint8_t)s[i] >= 0x80) return 0;
    return 1;
}

static utf8proc_option_t form_options(HfNormKind k) {
    switch (k) {
    case NORM_NFC: return UTF8PROC_STABLE | UTF8PROC_COMPOSE;
    case NORM_NFD: return UTF8PROC_STABLE | UTF8PROC_DECOMPOSE;
    case NORM_NFKC: return UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
    default: return UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
    }
}

static void form(HfNormKind k, const char *s, size_t n, HfBuf *out) {
    if (all_ascii(s, n)) {  // every form leaves ASCII unchanged
        hfbuf_add(out, s, n);
        return;
    }
    utf8proc_uint8_t *dst = NULL;
    utf8proc_ssize_t m = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &dst,
                                      form_options(k));
    if (m < 0) {  // cannot happen on valid UTF-8 but for memory
        hfbuf_add(out, s, n);
    } else {
        hfbuf_add(out, dst, (size_t)m);
    }
    free(dst);
}

// z after a normalization form: the output of the first character and the
// combining marks that follow it (they compose with it, or stay after it).
static size_t form_z(HfNormKind k, const char *s, size_t n, size_t z) {
    if (!z) return 0;
    uint32_t cp;
    unsigned cl;
    while (z < n && (cl = utf8_next((const uint8_t *)s + z, n - z, &cp)) &&
           utf8proc_get_property((utf8proc_int32_t)cp)->combining_class)
        z += cl;
    HfBuf b = {0};
    form(k, s, z, &b);
    free(b.buf);
    return b.n;
}

static void lowercase(const char *s, size_t n, size_t z, HfBuf *out, size_t *z_out) {
    ZTrack zt = {0, 0};
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        unsigned k = utf8_next((const uint8_t *)s + i, n - i, &cp);
        size_t before = out->n;
        if (cp == 0x130) {  // the one unconditional multi-character lowercase mapping
            hfbuf_add(out, "i\xCC\x87", 3);
        } else {
            char enc[4];
            hfbuf_add(out, enc, utf8_put((uint32_t)utf8proc_tolower((utf8proc_int32_t)cp), enc));
        }
        z_add(&zt, out->n - before, i < z ? out->n - before : 0);
        i += k;
    }
    *z_out = zt.z;
}

// Replace: every match (empty ones too) becomes the content, which takes
// the alignment of the match's last byte.
static LmStatus replace(const HfNorm *st, HfWork *w, const char *s, size_t n, size_t z,
                        HfBuf *out, size_t *z_out) {
    LM_TRY(hf_regex_spans(st->re, w->matcher, s, n, &w->spans));
    ZTrack zt = {0, 0};
    for (size_t i = 0; i < w->spans.n; i++) {
        const HfSpan *sp = &w->spans.v[i];
        if (!sp->match) {
            hfbuf_add(out, s + sp->start, sp->end - sp->start);
            size_t len = sp->end - sp->start, zero = z > sp->start ? z - sp->start : 0;
            z_add(&zt, len, zero < len ? zero : len);
        } else {
            hfbuf_add(out, st->text, st->text_len);
            int zero = sp->end ? sp->end - 1 < z : z > 0;
            z_add(&zt, st->text_len, zero ? st->text_len : 0);
        }
    }
    *z_out = zt.z;
    return LM_OK;
}

static void strip(const HfNorm *st, const char *s, size_t n, size_t z, HfBuf *out, size_t *z_out) {
    size_t a = 0, b = n;
    uint32_t cp;
    unsigned k;
    while (st->left && a < n && (k = utf8_next((const uint8_t *)s + a, n - a, &cp)) &&
           uc_white_space(cp))
        a += k;
    while (st->right && b > a) {
        size_t j = b - 1;
        while (j > a && ((uint8_t)s[j] & 0xC0) == 0x80) j--;
        utf8_next((const uint8_t *)s + j, b - j, &cp);
        if (!uc_white_space(cp)) break;
        b = j;
    }
    hfbuf_add(out, s + a, b - a);
    size_t zz = z > a ? z - a : 0;
    *z_out = zz < b - a ? zz : b - a;
}

static LmStatus step(const HfNorm *st, HfWork *w, const char *s, size_t n, size_t z, HfBuf *out,
                     size_t *z_out) {
    out->n = 0;
    switch (st->kind) {
    case NORM_NFC:
    case NORM_NFD:
    case NORM_NFKC:
    case NORM_NFKD:
        form(st->kind, s, n, out);
        *z_out = form_z(st->kind, s, n, z);
        if (*z_out > out->n) *z_out = out->n;
        return LM_OK;
    case NORM_LOWERCASE: lowercase(s, n, z, out, z_out); return LM_OK;
    case NORM_REPLACE: return replace(st, w, s, n, z, out, z_out);
    case NORM_PREPEND:
        if (n) hfbuf_add(out, st->text, st->text_len);
        hfbuf_add(out, s, n);
        *z_out = z ? z + (n ? st->text_len : 0) : 0;
        return LM_OK;
    case NORM_STRIP: strip(st, s, n, z, out, z_out); return LM_OK;
    }
    return LM_OK;
}

// Runs every step on s[0..n) (z as in hf.h); the result is in *res (one of
// w->tmp / w->tmp2).
static LmStatus run_steps(const HfTokenizer *h, HfWork *w, const char *s, size_t n, size_t *z,
                          HfBuf **res) {
    HfBuf *bufs[2] = {&w->tmp, &w->tmp2};
    const char *in = s;
    size_t len = n;
    for (int i = 0; i < h->n_norm; i++) {
        HfBuf *out = bufs[i & 1];
        LM_TRY(step(&h->norm[i], w, in, len, *z, out, z));
        in = out->buf, len = out->n;
    }
    *res = h->n_norm ? bufs[(h->n_norm - 1) & 1] : NULL;
    return LM_OK;
}

LmStatus hf_normalize(const HfTokenizer *h, HfWork *w, HfPieces *pieces) {
    size_t k = 0;
    for (size_t i = 0; i < pieces->n; i++) {
        HfPiece p = pieces->v[i];
        if (p.id < 0 && h->n_norm) {
            HfBuf *res;  // the steps write to w->tmp / w->tmp2 only, so the arena stays put
            LM_TRY(run_steps(h, w, w->arena.buf + p.off, p.len, &p.z, &res));
            p.off = hfbuf_add(&w->arena, res->buf, res->n);
            p.len = res->n;
        }
        if (p.len) pieces->v[k++] = p;  // the library drops empty pieces here
    }
    pieces->n = k;
    return LM_OK;
}

char *hf_normalize_string(const HfTokenizer *h, HfWork *w, const char *s, size_t n,
                          size_t *out_len) {
    size_t z = 0;
    HfBuf *res = NULL;
    if (run_steps(h, w, s, n, &z, &res) != LM_OK || !res) res = NULL;
    const char *src = res ? res->buf : s;
    *out_len = res ? res->n : n;
    char *out = xmalloc(*out_len + 1);
    if (*out_len) memcpy(out, src, *out_len);
    out[*out_len] = '\0';
    return out;
}
