// tokenizer.json -> HfTokenizer: the top level, typed field access with
// errors that name the JSON path, and the tables derived after parsing.
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/hf.h"
#include "util/alloc.h"

// ---------------------------------------------------------------- context

size_t ctx_key(HfCtx *c, const char *key) {
    size_t len = strlen(c->path);
    snprintf(c->path + len, sizeof c->path - len, "%s%s", len ? "." : "", key);
    return len;
}

size_t ctx_index(HfCtx *c, size_t i) {
    size_t len = strlen(c->path);
    snprintf(c->path + len, sizeof c->path - len, "[%zu]", i);
    return len;
}

static LmStatus bad_v(HfCtx *c, const char *fmt, va_list ap) {
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    lm_error("%s: %s: %s", c->what, c->path[0] ? c->path : "(top level)", msg);
    return LM_ERUNTIME;
}

LmStatus hf_bad(HfCtx *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    LmStatus st = bad_v(c, fmt, ap);
    va_end(ap);
    return st;
}

LmStatus hf_bad_key(HfCtx *c, const char *key, const char *fmt, ...) {
    size_t at = ctx_key(c, key);
    va_list ap;
    va_start(ap, fmt);
    LmStatus st = bad_v(c, fmt, ap);
    va_end(ap);
    ctx_pop(c, at);
    return st;
}

LmStatus hf_unsupported(const char *kind, const char *type, const char *supported, HfCtx *c) {
    lm_error("%s: %s: %s \"%s\" is not supported", c->what, c->path, kind, type);
    lm_hint("landermt reads the %s types %s (docs/tokenizer.md)", kind, supported);
    return LM_EUSAGE;
}

LmStatus json_opt_bool(json_t *obj, const char *key, int def, int *out, HfCtx *c) {
    json_t *v = json_object_get(obj, key);
    *out = def;
    if (!v || json_is_null(v)) return LM_OK;
    if (!json_is_boolean(v)) return hf_bad_key(c, key, "expected true or false");
    *out = json_is_true(v);
    return LM_OK;
}

LmStatus json_opt_str(json_t *obj, const char *key, const char **s, size_t *len, HfCtx *c) {
    json_t *v = json_object_get(obj, key);
    *s = NULL, *len = 0;
    if (!v || json_is_null(v)) return LM_OK;
    if (!json_is_string(v)) return hf_bad_key(c, key, "expected a string");
    *s = json_string_value(v), *len = json_string_length(v);
    return LM_OK;
}

LmStatus json_req_str(json_t *obj, const char *key, const char **s, size_t *len, HfCtx *c) {
    LM_TRY(json_opt_str(obj, key, s, len, c));
    if (*s) return LM_OK;
    return hf_bad_key(c, key, "missing (a string is required)");
}

LmStatus json_req_array(json_t *obj, const char *key, json_t **arr, HfCtx *c) {
    *arr = json_object_get(obj, key);
    if (json_is_array(*arr)) return LM_OK;
    return hf_bad_key(c, key, "%s (an array is required)", *arr ? "expected an array" : "missing");
}

LmStatus json_type_of(json_t *v, const char **type, HfCtx *c) {
    if (!json_is_object(v)) return hf_bad(c, "expected an object");
    json_t *t = json_object_get(v, "type");
    if (!json_is_string(t)) return hf_bad(c, "has no \"type\" string");
    *type = json_string_value(t);
    return LM_OK;
}

// ---------------------------------------------------------------- lookups

const char *hf_token(const HfTokenizer *h, int32_t id, size_t *len) {
    if (id < 0 || id >= h->vocab_size) return NULL;
    if (h->added_of_id[id] >= 0) {
        const HfAddedToken *t = &h->added[h->added_of_id[id]];
        *len = t->len;
        return t->content;
    }
    if (id >= h->bpe.n_vocab) return NULL;
    return strmap_key(&h->bpe.vocab, h->bpe.by_id[id], len);
}

int32_t hf_token_id(const HfTokenizer *h, const char *s, size_t len) {
    int32_t i = strmap_get(&h->added_map, s, len);
    return i >= 0 ? h->added[i].id : strmap_get(&h->bpe.vocab, s, len);
}

// ---------------------------------------------------------------- building

static void free_parts(HfTokenizer *h) {
    for (int i = 0; i < h->n_norm; i++) hf_regex_free(h->norm[i].re), free(h->norm[i].text);
    for (int i = 0; i < h->n_pre; i++) hf_regex_free(h->pre[i].re);
    for (int i = 0; i < h->n_post; i++) free(h->post[i].items);
    for (int i = 0; i < h->n_dec; i++) hf_regex_free(h->dec[i].re), free(h->dec[i].text);
    for (int i = 0; i < h->n_added; i++) free(h->added[i].content);
    free(h->norm), free(h->pre), free(h->post), free(h->dec), free(h->added);
}

void hf_release(HfTokenizer *h) {
    if (!h || --h->refs > 0) return;
    free_parts(h);
    strmap_free(&h->bpe.vocab);
    free(h->bpe.by_id), free(h->bpe.char_id), free(h->bpe.prefix), free(h->bpe.suffix);
    if (h->bpe.merges.keys) pmap_free(&h->bpe.merges);
    strmap_free(&h->added_map);
    hf_trie_free(&h->plain), hf_trie_free(&h->normed);
    free(h->special), free(h->added_of_id), free(h->json);
    hf_regex_free(h->word_re);
    free(h);
}

// Ids of the templates must exist.
static LmStatus check_templates(const HfTokenizer *h, HfCtx *c) {
    for (int i = 0; i < h->n_post; i++)
        for (int j = 0; j < h->post[i].n; j++) {
            int32_t id = h->post[i].items[j];
            if (id == HF_SEQ_A || id < h->vocab_size) continue;
            snprintf(c->path, sizeof c->path, "post_processor");
            return hf_bad(c, "the template adds token id %d, outside the vocabulary (%d tokens)",
                          (int)id, (int)h->vocab_size);
        }
    return LM_OK;
}

// Per-id tables: which added token an id is, and which ids are special
// (any id whose string is a special added token's content).
static void id_tables(HfTokenizer *h) {
    int32_t v = h->bpe.n_vocab;
    for (int i = 0; i < h->n_added; i++)
        if (h->added[i].id + 1 > v) v = h->added[i].id + 1;
    h->vocab_size = v;
    h->special = xcalloc((size_t)v + 1, 1);
    h->added_of_id = xmalloc(((size_t)v + 1) * sizeof *h->added_of_id);
    for (int32_t i = 0; i < v; i++) h->added_of_id[i] = -1;
    for (int i = 0; i < h->n_added; i++) {
        const HfAddedToken *t = &h->added[i];
        h->added_of_id[t->id] = i;
        if (!t->special) continue;
        h->special[t->id] = 1;
        int32_t vid = strmap_get(&h->bpe.vocab, t->content, t->len);
        if (vid >= 0) h->special[vid] = 1;
    }
}

// The two pattern sets: specials first, then the others, each in file
// order (the library's order, which only matters for equal patterns).
static LmStatus build_tries(HfTokenizer *h) {
    HfWork *w = hf_work_new();
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < h->n_added; i++) {
            const HfAddedToken *t = &h->added[i];
            if (t->special != (pass == 0)) continue;
            size_t len = t->len;
            char *pat = t->normalized ? hf_normalize_string(h, w, t->content, t->len, &len)
                                      : memcpy(xmalloc(len + 1), t->content, len + 1);
            if (!len) {
                free(pat);
                continue;
            }
            hf_trie_add(t->normalized ? &h->normed : &h->plain, pat, len, i);
        }
    hf_work_free(w);
    hf_trie_finish(&h->plain), hf_trie_finish(&h->normed);
    for (int i = 0; i < h->n_added; i++)
        if (h->added[i].single_word && !h->word_re) {
            static const char WORD[] = "[\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}]";
            LM_TRY(hf_regex_compile(WORD, strlen(WORD), HF_RE_PCRE, "single_word", &h->word_re));
        }
    return LM_OK;
}

static LmStatus parse_root(HfTokenizer *h, json_t *root, HfCtx *c) {
    if (!json_is_object(root)) return hf_bad(c, "expected a JSON object");
    const char *version;
    size_t vlen;
    LM_TRY(json_opt_str(root, "version", &version, &vlen, c));
    if (version && strcmp(version, "1.0")) {
        ctx_key(c, "version");
        return hf_bad(c, "\"%s\" is not a tokenizer.json version landermt reads (1.0)", version);
    }
    json_t *model = json_object_get(root, "model");
    if (!model) return hf_bad(c, "no \"model\"");
    static const struct {
        const char *key;
        LmStatus (*parse)(HfTokenizer *, json_t *, HfCtx *);
    } parts[] = {{"model", hf_parse_model}, {"normalizer", hf_parse_normalizer},
                 {"pre_tokenizer", hf_parse_pre_tokenizer}, {"post_processor", hf_parse_post_processor},
                 {"decoder", hf_parse_decoder}, {"added_tokens", hf_parse_added}};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        json_t *v = json_object_get(root, parts[i].key);
        if (!v || json_is_null(v)) continue;
        size_t at = ctx_key(c, parts[i].key);
        LM_TRY(parts[i].parse(h, v, c));
        ctx_pop(c, at);
    }
    h->has_decoder = json_is_object(json_object_get(root, "decoder"));
    id_tables(h);
    LM_TRY(check_templates(h, c));
    return build_tries(h);
}

LmStatus hf_parse(const char *json, size_t len, const char *what, HfTokenizer **out) {
    *out = NULL;
    hf_byte_level_init();
    json_error_t err;
    json_t *root = json_loadb(json, len, JSON_ALLOW_NUL, &err);
    if (!root) {
        lm_error("%s: invalid JSON at line %d, column %d: %s", what, err.line, err.column, err.text);
        lm_hint("the file is truncated or not a tokenizer.json; fetch it again from the model's "
                "repository");
        return LM_ERUNTIME;
    }
    HfTokenizer *h = xcalloc(1, sizeof *h);
    h->refs = 1;
    strmap_init(&h->bpe.vocab);
    strmap_init(&h->added_map);
    h->json = xmalloc(len + 1);
    memcpy(h->json, json, len);
    h->json[len] = '\0';
    h->json_len = len;
    HfCtx c = {what, ""};
    LmStatus st = parse_root(h, root, &c);
    json_decref(root);
    if (st != LM_OK) {
        hf_release(h);
        return st;
    }
    *out = h;
    return LM_OK;
}
