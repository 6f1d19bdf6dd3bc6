// BOS / EOS / pad of a Hugging Face tokenizer, resolved from the files
// beside tokenizer.json the way transformers reads them: a token named in
// special_tokens_map.json, else in tokenizer_config.json (null there means
// none), else the model's config.json <name>_token_id (the first of a list).
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tokenizer/hf.h"
#include "tokenizer/hf_special.h"
#include "util/alloc.h"

typedef struct {
    json_t *map, *config, *model;  // special_tokens_map, tokenizer_config, config (NULL if absent)
    char path[3][1200];
} SpecialFiles;

static LmStatus load_json(const char *dir, const char *name, json_t **out, char *path, size_t cap) {
    snprintf(path, cap, "%s/%s", dir, name);
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0) return LM_OK;
    json_error_t err;
    // Integers as reals: these files hold values like model_max_length 1e30
    // that overflow jansson's integers.
    *out = json_load_file(path, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &err);
    if (*out && json_is_object(*out)) return LM_OK;
    if (*out) lm_error("%s: expected a JSON object", path);
    else lm_error("%s: invalid JSON at line %d, column %d: %s", path, err.line, err.column, err.text);
    json_decref(*out);
    *out = NULL;
    return LM_ERUNTIME;
}

// A token given as "text" or as {"content": "text", ...}.
static const char *token_text(json_t *v) {
    if (json_is_string(v)) return json_string_value(v);
    return json_string_value(json_object_get(v, "content"));
}

// The name of special token `key` ("bos", "eos", "pad"); "" for none.
static LmStatus resolve(const HfTokenizer *h, SpecialFiles *f, const char *key, char **name) {
    char tok_key[32], id_key[32];
    snprintf(tok_key, sizeof tok_key, "%s_token", key);
    snprintf(id_key, sizeof id_key, "%s_token_id", key);
    json_t *v = json_object_get(f->map, tok_key);
    const char *file = f->path[0];
    if (!token_text(v)) v = json_object_get(f->config, tok_key), file = f->path[1];
    if (v) {
        const char *s = token_text(v);
        if (s && hf_token_id(h, s, strlen(s)) < 0) {
            lm_error("%s: %s \"%s\" is not a token of the tokenizer", file, tok_key, s);
            return LM_ERUNTIME;
        }
        *name = xstrdup(s ? s : "");
        return LM_OK;
    }
    json_t *id = json_object_get(f->model, id_key);
    if (json_is_array(id)) id = json_array_get(id, 0);
    double x = json_is_number(id) ? json_number_value(id) : -1;
    size_t len;
    const char *s = x >= 0 && x < INT32_MAX && x == (int32_t)x ? hf_token(h, (int32_t)x, &len) : NULL;
    if (json_is_number(id) && !s) {
        lm_error("%s: %s = %g is not a token id of the tokenizer", f->path[2], id_key, x);
        return LM_ERUNTIME;
    }
    *name = xmalloc((s ? len : 0) + 1);
    if (s) memcpy(*name, s, len);
    (*name)[s ? len : 0] = '\0';
    return LM_OK;
}

LmStatus hf_special_tokens(const HfTokenizer *h, const char *dir, char **names[3]) {
    static const char *const KEYS[3] = {"bos", "eos", "pad"};
    SpecialFiles f = {0};
    LmStatus st = LM_OK;
    if (dir) {
        st = load_json(dir, "special_tokens_map.json", &f.map, f.path[0], sizeof f.path[0]);
        if (st == LM_OK) st = load_json(dir, "tokenizer_config.json", &f.config, f.path[1], sizeof f.path[1]);
        if (st == LM_OK) st = load_json(dir, "config.json", &f.model, f.path[2], sizeof f.path[2]);
    }
    for (int i = 0; i < 3; i++) *names[i] = NULL;
    for (int i = 0; st == LM_OK && i < 3; i++) st = resolve(h, &f, KEYS[i], names[i]);
    json_decref(f.map), json_decref(f.config), json_decref(f.model);
    return st;
}
