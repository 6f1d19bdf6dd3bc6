// tokenizer.json normalizer, pre_tokenizer, post_processor and decoder.
// Sequences are flattened into one list of steps per component (applying
// a Sequence is applying its members in order). Unknown or unsupported
// types are refused by name (LM_EUSAGE).
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/hf.h"
#include "util/alloc.h"
#include "util/utf8.h"

#define GROW(arr, n) ((arr) = xrealloc((arr), ((size_t)(n) + 1) * sizeof *(arr)))

static char *dup_bytes(const char *s, size_t n) {
    char *d = xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

// {"String": s} (literal) or {"Regex": r} under key.
static LmStatus parse_pattern(json_t *obj, const char *key, HfRegex **re, HfCtx *c) {
    json_t *p = json_object_get(obj, key);
    size_t at = ctx_key(c, key);
    json_t *str = json_object_get(p, "String"), *rx = json_object_get(p, "Regex");
    LmStatus st;
    if (json_is_string(str) || json_is_string(rx)) {
        json_t *v = json_is_string(str) ? str : rx;
        ctx_key(c, json_is_string(str) ? "String" : "Regex");
        char where[1400];
        snprintf(where, sizeof where, "%s: %s", c->what, c->path);
        st = hf_regex_compile(json_string_value(v), json_string_length(v),
                              v == str ? HF_RE_LITERAL : HF_RE_ONIG, where, re);
    } else {
        st = hf_bad(c, "expected {\"String\": ...} or {\"Regex\": ...}");
    }
    ctx_pop(c, at);
    return st;
}

// A field holding exactly one character.
static LmStatus one_char(json_t *obj, const char *key, char out[5], size_t *len, HfCtx *c) {
    const char *s;
    LM_TRY(json_req_str(obj, key, &s, len, c));
    uint32_t cp;
    if (*len == 0 || *len > 4 || utf8_next((const uint8_t *)s, *len, &cp) != *len)
        return hf_bad_key(c, key, "\"%s\" must be exactly one character", s);
    memcpy(out, s, *len);
    out[*len] = '\0';
    return LM_OK;
}

static LmStatus behavior_of(json_t *obj, const char *key, HfSplitBehavior def,
                            HfSplitBehavior *out, HfCtx *c) {
    static const char *const NAMES[] = {"Removed", "Isolated", "MergedWithPrevious",
                                        "MergedWithNext", "Contiguous"};
    const char *s;
    size_t len;
    LM_TRY(json_opt_str(obj, key, &s, &len, c));
    *out = def;
    if (!s) return LM_OK;
    for (int i = 0; i < 5; i++)
        if (!strcmp(s, NAMES[i])) return (*out = (HfSplitBehavior)i), LM_OK;
    return hf_bad_key(c, key, "\"%s\" is not a split behavior (Removed, Isolated, "
                      "MergedWithPrevious, MergedWithNext, Contiguous)", s);
}

// Runs parse_one on every member of obj[key] (a Sequence).
static LmStatus each(HfTokenizer *h, json_t *obj, const char *key, HfCtx *c,
                     LmStatus (*parse_one)(HfTokenizer *, json_t *, HfCtx *)) {
    json_t *arr;
    LM_TRY(json_req_array(obj, key, &arr, c));
    size_t at = ctx_key(c, key);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        size_t at2 = ctx_index(c, i);
        LM_TRY(parse_one(h, json_array_get(arr, i), c));
        ctx_pop(c, at2);
    }
    ctx_pop(c, at);
    return LM_OK;
}

// ---------------------------------------------------------------- normalizer

LmStatus hf_parse_normalizer(HfTokenizer *h, json_t *v, HfCtx *c) {
    const char *type;
    LM_TRY(json_type_of(v, &type, c));
    if (!strcmp(type, "Sequence")) return each(h, v, "normalizers", c, hf_parse_normalizer);
    static const char *const NAMES[] = {"NFC", "NFD", "NFKC", "NFKD", "Lowercase", "Replace",
                                        "Prepend", "Strip"};
    int kind = -1;
    for (int i = 0; i < 8; i++)
        if (!strcmp(type, NAMES[i])) kind = i;
    if (kind < 0)
        return hf_unsupported("normalizer", type,
                              "NFC, NFD, NFKC, NFKD, Lowercase, Replace, Prepend, Strip, Sequence", c);
    GROW(h->norm, h->n_norm);
    HfNorm *n = &h->norm[h->n_norm++];
    memset(n, 0, sizeof *n);
    n->kind = (HfNormKind)kind;
    const char *s;
    size_t len;
    if (kind == NORM_REPLACE) {
        LM_TRY(parse_pattern(v, "pattern", &n->re, c));
        LM_TRY(json_req_str(v, "content", &s, &len, c));
        n->text = dup_bytes(s, len), n->text_len = len;
    } else if (kind == NORM_PREPEND) {
        LM_TRY(json_req_str(v, "prepend", &s, &len, c));
        n->text = dup_bytes(s, len), n->text_len = len;
    } else if (kind == NORM_STRIP) {
        LM_TRY(json_opt_bool(v, "strip_left", 0, &n->left, c));
        LM_TRY(json_opt_bool(v, "strip_right", 0, &n->right, c));
    }
    return LM_OK;
}

// ---------------------------------------------------------------- pre-tokenizer

static LmStatus prepend_scheme(json_t *v, HfPrependScheme *out, HfCtx *c) {
    const char *s;
    size_t len;
    LM_TRY(json_opt_str(v, "prepend_scheme", &s, &len, c));
    *out = !s || !strcmp(s, "always") ? PREPEND_ALWAYS : !strcmp(s, "first") ? PREPEND_FIRST
         : !strcmp(s, "never") ? PREPEND_NEVER : (HfPrependScheme)-1;
    if ((int)*out < 0) return hf_bad(c, "prepend_scheme \"%s\" is not first, always or never", s);
    json_t *aps = json_object_get(v, "add_prefix_space");  // the field it replaced
    if (json_is_false(aps) && *out != PREPEND_NEVER)
        return hf_bad(c, "add_prefix_space false does not match prepend_scheme (the library "
                      "refuses this file too)");
    if (json_is_false(aps)) *out = PREPEND_NEVER;
    return LM_OK;
}

static LmStatus gpt2_regex(HfRegex **re) {
    static const char RE[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+"
                             "|\\s+(?!\\S)|\\s+";
    return hf_regex_compile(RE, strlen(RE), HF_RE_ONIG, "ByteLevel", re);
}

// Rust regex \w+|[^\w\s]+ with Unicode classes (Whitespace).
static LmStatus words_regex(HfRegex **re) {
    static const char RE[] = "[\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}]+|"
                             "[^\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}\\p{White_Space}]+";
    return hf_regex_compile(RE, strlen(RE), HF_RE_PCRE, "Whitespace", re);
}

static LmStatus pre_fields(HfPre *p, json_t *v, HfCtx *c) {
    int use_regex;
    switch (p->kind) {
    case PRE_SPLIT:
        LM_TRY(parse_pattern(v, "pattern", &p->re, c));
        LM_TRY(behavior_of(v, "behavior", SPLIT_ISOLATED, &p->behavior, c));
        return json_opt_bool(v, "invert", 0, &p->invert, c);
    case PRE_BYTELEVEL:
        LM_TRY(json_opt_bool(v, "add_prefix_space", 1, &p->add_prefix_space, c));
        LM_TRY(json_opt_bool(v, "use_regex", 1, &use_regex, c));
        return use_regex ? gpt2_regex(&p->re) : LM_OK;
    case PRE_METASPACE:
        LM_TRY(one_char(v, "replacement", p->rep, &p->rep_len, c));
        utf8_next((const uint8_t *)p->rep, p->rep_len, &p->rep_cp);
        LM_TRY(json_opt_bool(v, "split", 1, &p->split, c));
        return prepend_scheme(v, &p->scheme, c);
    case PRE_DIGITS: return json_opt_bool(v, "individual_digits", 0, &p->individual, c);
    case PRE_PUNCTUATION: return behavior_of(v, "behavior", SPLIT_ISOLATED, &p->behavior, c);
    case PRE_WHITESPACE: return words_regex(&p->re);
    case PRE_WHITESPACE_SPLIT: return LM_OK;
    }
    return LM_OK;
}

LmStatus hf_parse_pre_tokenizer(HfTokenizer *h, json_t *v, HfCtx *c) {
    const char *type;
    LM_TRY(json_type_of(v, &type, c));
    if (!strcmp(type, "Sequence")) return each(h, v, "pretokenizers", c, hf_parse_pre_tokenizer);
    static const char *const NAMES[] = {"Split", "ByteLevel", "Metaspace", "Digits",
                                        "Punctuation", "Whitespace", "WhitespaceSplit"};
    int kind = -1;
    for (int i = 0; i < 7; i++)
        if (!strcmp(type, NAMES[i])) kind = i;
    if (kind < 0)
        return hf_unsupported("pre_tokenizer", type,
                              "Split, ByteLevel, Metaspace, Digits, Punctuation, Whitespace, "
                              "WhitespaceSplit, Sequence", c);
    GROW(h->pre, h->n_pre);
    HfPre *p = &h->pre[h->n_pre++];
    memset(p, 0, sizeof *p);
    p->kind = (HfPreKind)kind;
    return pre_fields(p, v, c);
}

// ---------------------------------------------------------------- post-processor

// The ids of special_tokens[name].
static LmStatus special_ids(json_t *specials, const char *name, HfTemplate *t, HfCtx *c) {
    json_t *ids = json_object_get(json_object_get(specials, name), "ids");
    if (!json_is_array(ids))
        return hf_bad(c, "the template names \"%s\", which special_tokens does not define", name);
    for (size_t i = 0; i < json_array_size(ids); i++) {
        json_t *id = json_array_get(ids, i);
        if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) > INT32_MAX)
            return hf_bad(c, "special_tokens[\"%s\"].ids must be non-negative integers", name);
        GROW(t->items, t->n);
        t->items[t->n++] = (int32_t)json_integer_value(id);
    }
    return LM_OK;
}

static LmStatus template_piece(json_t *piece, json_t *specials, HfTemplate *t, HfCtx *c) {
    json_t *seq = json_object_get(piece, "Sequence"), *sp = json_object_get(piece, "SpecialToken");
    const char *id = json_string_value(json_object_get(seq ? seq : sp, "id"));
    if (!id) return hf_bad(c, "expected {\"Sequence\": {\"id\": ...}} or {\"SpecialToken\": {\"id\": ...}}");
    if (sp) return special_ids(specials, id, t, c);
    if (strcmp(id, "A"))
        return hf_bad(c, "the single-sequence template uses sequence \"%s\"; only A exists", id);
    GROW(t->items, t->n);
    t->items[t->n++] = HF_SEQ_A;
    return LM_OK;
}

static LmStatus template_processing(HfTokenizer *h, json_t *v, HfCtx *c) {
    json_t *single, *specials = json_object_get(v, "special_tokens");
    LM_TRY(json_req_array(v, "single", &single, c));
    GROW(h->post, h->n_post);
    HfTemplate *t = &h->post[h->n_post++];
    memset(t, 0, sizeof *t);
    size_t at = ctx_key(c, "single");
    for (size_t i = 0; i < json_array_size(single); i++) {
        size_t at2 = ctx_index(c, i);
        LM_TRY(template_piece(json_array_get(single, i), specials, t, c));
        ctx_pop(c, at2);
    }
    ctx_pop(c, at);
    return LM_OK;
}

LmStatus hf_parse_post_processor(HfTokenizer *h, json_t *v, HfCtx *c) {
    const char *type;
    LM_TRY(json_type_of(v, &type, c));
    if (!strcmp(type, "Sequence")) return each(h, v, "processors", c, hf_parse_post_processor);
    if (!strcmp(type, "TemplateProcessing")) return template_processing(h, v, c);
    if (!strcmp(type, "ByteLevel")) return LM_OK;  // it only trims offsets
    return hf_unsupported("post_processor", type, "TemplateProcessing, ByteLevel, Sequence", c);
}

// ---------------------------------------------------------------- decoder

static LmStatus count_field(json_t *v, const char *key, int *out, HfCtx *c) {
    json_t *x = json_object_get(v, key);
    *out = 0;
    if (!x) return LM_OK;
    if (json_is_integer(x) && json_integer_value(x) >= 0 && json_integer_value(x) < 1 << 20) {
        *out = (int)json_integer_value(x);
        return LM_OK;
    }
    return hf_bad_key(c, key, "expected a non-negative integer");
}

static LmStatus dec_fields(HfDec *d, json_t *v, HfCtx *c) {
    const char *s;
    size_t len;
    switch (d->kind) {
    case DEC_METASPACE:
        LM_TRY(one_char(v, "replacement", d->ch, &d->ch_len, c));
        return prepend_scheme(v, &d->scheme, c);
    case DEC_STRIP:
        LM_TRY(one_char(v, "content", d->ch, &d->ch_len, c));
        LM_TRY(count_field(v, "start", &d->start, c));
        return count_field(v, "stop", &d->stop, c);
    case DEC_REPLACE:
        LM_TRY(parse_pattern(v, "pattern", &d->re, c));
        LM_TRY(json_req_str(v, "content", &s, &len, c));
        d->text = dup_bytes(s, len), d->text_len = len;
        return LM_OK;
    default: return LM_OK;
    }
}

LmStatus hf_parse_decoder(HfTokenizer *h, json_t *v, HfCtx *c) {
    const char *type;
    LM_TRY(json_type_of(v, &type, c));
    if (!strcmp(type, "Sequence")) return each(h, v, "decoders", c, hf_parse_decoder);
    static const char *const NAMES[] = {"ByteLevel", "Metaspace", "ByteFallback", "Fuse", "Strip",
                                        "Replace"};
    int kind = -1;
    for (int i = 0; i < 6; i++)
        if (!strcmp(type, NAMES[i])) kind = i;
    if (kind < 0)
        return hf_unsupported("decoder", type,
                              "ByteLevel, Metaspace, ByteFallback, Fuse, Strip, Replace, Sequence", c);
    GROW(h->dec, h->n_dec);
    HfDec *d = &h->dec[h->n_dec++];
    memset(d, 0, sizeof *d);
    d->kind = (HfDecKind)kind;
    return dec_fields(d, v, c);
}
