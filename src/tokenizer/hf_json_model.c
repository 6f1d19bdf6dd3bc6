// tokenizer.json "model" (BPE) and "added_tokens", validated: vocabulary
// ids 0..n-1 without gaps or repeats, merges naming known tokens, and
// added-token ids as the library assigns them.
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/hf.h"
#include "util/alloc.h"
#include "util/utf8.h"

// ---------------------------------------------------------------- vocab

static LmStatus parse_vocab(HfBpe *b, json_t *vocab, HfCtx *c) {
    if (!json_is_object(vocab)) return hf_bad(c, "expected an object of token -> id");
    size_t n = json_object_size(vocab);
    if (n > INT32_MAX / 2) return hf_bad(c, "%zu tokens is implausibly many", n);
    b->n_vocab = (int32_t)n;
    b->by_id = xmalloc((n + 1) * sizeof *b->by_id);
    for (size_t i = 0; i < n; i++) b->by_id[i] = -1;
    for (void *it = json_object_iter(vocab); it; it = json_object_iter_next(vocab, it)) {
        const char *key = json_object_iter_key(it);
        size_t klen = json_object_iter_key_len(it);
        json_t *v = json_object_iter_value(it);
        json_int_t id = json_is_integer(v) ? json_integer_value(v) : -1;
        if (id < 0) return hf_bad(c, "token \"%s\": the id must be a non-negative integer", key);
        if (id >= (json_int_t)n)
            return hf_bad(c, "token \"%s\" has id %lld, but %zu tokens need ids 0..%zu: the ids have "
                          "gaps", key, (long long)id, n, n - 1);
        if (b->by_id[id] >= 0) {
            size_t olen;
            const char *other = strmap_key(&b->vocab, b->by_id[id], &olen);
            return hf_bad(c, "id %lld is given to both \"%.*s\" and \"%s\"", (long long)id,
                          (int)olen, other, key);
        }
        b->by_id[id] = strmap_set(&b->vocab, key, klen, (int32_t)id);
    }
    return LM_OK;
}

// ---------------------------------------------------------------- merges

// One merge as (left, right): "a b" (exactly one space) or ["a", "b"].
static LmStatus merge_parts(json_t *m, const char **a, size_t *al, const char **b, size_t *bl,
                            HfCtx *c) {
    if (json_is_string(m)) {
        const char *s = json_string_value(m), *sp = memchr(s, ' ', json_string_length(m));
        size_t n = json_string_length(m);
        if (!sp || memchr(sp + 1, ' ', n - (size_t)(sp + 1 - s)))
            return hf_bad(c, "\"%s\" is not two tokens separated by one space", s);
        *a = s, *al = (size_t)(sp - s), *b = sp + 1, *bl = n - *al - 1;
        return LM_OK;
    }
    json_t *x = json_array_get(m, 0), *y = json_array_get(m, 1);
    if (!json_is_array(m) || json_array_size(m) != 2 || !json_is_string(x) || !json_is_string(y))
        return hf_bad(c, "expected \"left right\" or [\"left\", \"right\"]");
    *a = json_string_value(x), *al = json_string_length(x);
    *b = json_string_value(y), *bl = json_string_length(y);
    return LM_OK;
}

static LmStatus known(const HfBpe *b, const char *s, size_t n, int32_t *id, HfCtx *c) {
    *id = strmap_get(&b->vocab, s, n);
    return *id >= 0 ? LM_OK : hf_bad(c, "\"%.*s\" is not in model.vocab", (int)n, s);
}

// Merge r joins (left, right) into left + right without the continuing
// prefix; a pair listed twice keeps its last rank, as in the library.
static LmStatus one_merge(HfBpe *b, json_t *m, size_t r, HfBuf *tmp, HfCtx *c) {
    size_t al = 0, bl = 0;
    const char *x = NULL, *y = NULL;
    int32_t l, rt, merged;
    LM_TRY(merge_parts(m, &x, &al, &y, &bl, c));
    LM_TRY(known(b, x, al, &l, c));
    LM_TRY(known(b, y, bl, &rt, c));
    if (bl < b->prefix_len)
        return hf_bad(c, "\"%.*s\" is shorter than continuing_subword_prefix", (int)bl, y);
    tmp->n = 0;
    hfbuf_add(tmp, x, al);
    hfbuf_add(tmp, y + b->prefix_len, bl - b->prefix_len);
    LM_TRY(known(b, tmp->buf, tmp->n, &merged, c));
    pmap_set(&b->merges, pair_key(l, rt), (int64_t)r << 32 | (uint32_t)merged);
    return LM_OK;
}

static LmStatus parse_merges(HfBpe *b, json_t *merges, HfCtx *c) {
    size_t n = json_array_size(merges);
    pmap_init(&b->merges, n);
    b->n_merges = (int64_t)n;
    HfBuf tmp = {0};
    LmStatus st = LM_OK;
    for (size_t r = 0; st == LM_OK && r < n; r++) {
        size_t at = ctx_index(c, r);
        st = one_merge(b, json_array_get(merges, r), r, &tmp, c);
        ctx_pop(c, at);
    }
    free(tmp.buf);
    return st;
}

// ---------------------------------------------------------------- options

static char *opt_string(json_t *model, const char *key, size_t *len, HfCtx *c, LmStatus *st) {
    const char *s;
    *st = json_opt_str(model, key, &s, len, c);
    char *out = xmalloc(*len + 1);
    if (s) memcpy(out, s, *len);
    out[s ? *len : 0] = '\0';
    if (!s) *len = 0;
    return out;
}

static LmStatus parse_options(HfBpe *b, json_t *model, HfCtx *c) {
    LmStatus st;
    b->prefix = opt_string(model, "continuing_subword_prefix", &b->prefix_len, c, &st);
    LM_TRY(st);
    b->suffix = opt_string(model, "end_of_word_suffix", &b->suffix_len, c, &st);
    LM_TRY(st);
    LM_TRY(json_opt_bool(model, "fuse_unk", 0, &b->fuse_unk, c));
    LM_TRY(json_opt_bool(model, "byte_fallback", 0, &b->byte_fallback, c));
    LM_TRY(json_opt_bool(model, "ignore_merges", 0, &b->ignore_merges, c));
    json_t *dropout = json_object_get(model, "dropout");
    if (dropout && !json_is_null(dropout)) {
        double p = json_is_number(dropout) ? json_number_value(dropout) : -1;
        ctx_key(c, "dropout");
        if (p < 0 || p > 1) return hf_bad(c, "expected null or a probability in [0, 1]");
        if (p > 0) {
            lm_error("%s: %s = %g: BPE dropout makes encoding random; landermt needs the "
                     "deterministic tokenizer the model was trained with", c->what, c->path, p);
            lm_hint("set \"dropout\": null in a copy of the file");
            return LM_EUSAGE;
        }
    }
    return LM_OK;
}

// unk_token, the <0xNN> byte tokens and the single-character table.
static LmStatus derived_ids(HfBpe *b, json_t *model, HfCtx *c) {
    const char *unk;
    size_t ulen;
    LM_TRY(json_opt_str(model, "unk_token", &unk, &ulen, c));
    b->unk_id = unk ? strmap_get(&b->vocab, unk, ulen) : -1;
    if (unk && b->unk_id < 0) {
        ctx_key(c, "unk_token");
        return hf_bad(c, "\"%s\" is not in model.vocab", unk);
    }
    for (int i = 0; i < 256; i++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", i);
        b->byte_id[i] = strmap_get(&b->vocab, name, 6);
    }
    if (b->prefix_len || b->suffix_len) return LM_OK;  // characters take affixes: look them up
    b->char_id = xmalloc(0x10000 * sizeof *b->char_id);
    for (int i = 0; i < 0x10000; i++) b->char_id[i] = -1;
    for (int32_t id = 0; id < b->n_vocab; id++) {
        size_t len;
        const char *s = strmap_key(&b->vocab, b->by_id[id], &len);
        uint32_t cp;
        if (utf8_next((const uint8_t *)s, len, &cp) == len && cp < 0x10000) b->char_id[cp] = id;
    }
    return LM_OK;
}

LmStatus hf_parse_model(HfTokenizer *h, json_t *model, HfCtx *c) {
    const char *type;
    if (json_is_object(model) && !json_object_get(model, "type") && json_object_get(model, "merges"))
        type = "BPE";  // files older than the "type" field
    else
        LM_TRY(json_type_of(model, &type, c));
    if (strcmp(type, "BPE")) {
        size_t at = ctx_key(c, "type");
        LmStatus st = hf_unsupported("model", type, "BPE", c);
        ctx_pop(c, at);
        return st;
    }
    HfBpe *b = &h->bpe;
    LM_TRY(parse_options(b, model, c));
    json_t *merges;
    size_t at = ctx_key(c, "vocab");
    LM_TRY(parse_vocab(b, json_object_get(model, "vocab"), c));
    ctx_pop(c, at);
    LM_TRY(json_req_array(model, "merges", &merges, c));
    at = ctx_key(c, "merges");
    LM_TRY(parse_merges(b, merges, c));
    ctx_pop(c, at);
    return derived_ids(b, model, c);
}

// ---------------------------------------------------------------- added tokens

static LmStatus parse_added_token(json_t *v, HfAddedToken *t, json_int_t *id, HfCtx *c) {
    if (!json_is_object(v)) return hf_bad(c, "expected an object");
    const char *content;
    size_t len;
    LM_TRY(json_req_str(v, "content", &content, &len, c));
    json_t *jid = json_object_get(v, "id");
    *id = json_is_integer(jid) ? json_integer_value(jid) : -1;
    if (*id < 0) return hf_bad(c, "\"id\" must be a non-negative integer");
    memset(t, 0, sizeof *t);
    LM_TRY(json_opt_bool(v, "special", 0, &t->special, c));
    LM_TRY(json_opt_bool(v, "single_word", 0, &t->single_word, c));
    LM_TRY(json_opt_bool(v, "lstrip", 0, &t->lstrip, c));
    LM_TRY(json_opt_bool(v, "rstrip", 0, &t->rstrip, c));
    LM_TRY(json_opt_bool(v, "normalized", !t->special, &t->normalized, c));
    t->content = xmalloc(len + 1);
    memcpy(t->content, content, len);
    t->content[len] = '\0';
    t->len = len;
    return LM_OK;
}

// The id the library gives a token: its existing id (an earlier added token,
// then the vocabulary), else the next free one after the vocabulary.
static int32_t library_id(const HfTokenizer *h, const HfAddedToken *t, int32_t *next) {
    int32_t id = hf_token_id(h, t->content, t->len);
    return id >= 0 ? id : (*next)++;
}

LmStatus hf_parse_added(HfTokenizer *h, json_t *arr, HfCtx *c) {
    if (!json_is_array(arr)) return hf_bad(c, "expected an array");
    size_t n = json_array_size(arr);
    h->added = xcalloc(n + 1, sizeof *h->added);
    int32_t next = h->bpe.n_vocab;
    for (size_t i = 0; i < n; i++) {
        size_t at = ctx_index(c, i);
        HfAddedToken t;
        json_int_t file_id = -1;
        LM_TRY(parse_added_token(json_array_get(arr, i), &t, &file_id, c));
        if (!t.len) {  // the library ignores empty added tokens
            free(t.content);
            ctx_pop(c, at);
            continue;
        }
        if (strmap_get(&h->added_map, t.content, t.len) >= 0) {
            LmStatus st = hf_bad(c, "\"%s\" is listed twice", t.content);
            free(t.content);
            return st;
        }
        t.id = library_id(h, &t, &next);
        if (file_id != t.id) {
            LmStatus st = hf_bad(c, "\"%s\" has id %lld, but the tokenizers library gives it id %d "
                                 "(its vocabulary id, else the next id after the vocabulary)",
                                 t.content, (long long)file_id, (int)t.id);
            free(t.content);
            return st;
        }
        strmap_set(&h->added_map, t.content, t.len, h->n_added);
        h->added[h->n_added++] = t;
        ctx_pop(c, at);
    }
    return LM_OK;
}
