// The /tokenizer group of corpus and checkpoint files (docs/formats.md):
// type "bpe" (bpe_h5.c) or type "hf": the tokenizer.json text as stored,
// the names and ids of the special tokens, and the content hash.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/h5.h"
#include "tokenizer/hf.h"
#include "tokenizer/tokenizer.h"
#include "util/alloc.h"

#define HF_FORMAT_VERSION 1

static LmStatus save_hf(hid_t parent, const char *name, const Tokenizer *t) {
    hid_t g;
    LM_TRY(h5_ensure_group(parent, name, &g));
    const struct { const char *name; int64_t v; } ints[] = {
        {"format_version", HF_FORMAT_VERSION}, {"vocab_size", t->vocab_size},
        {"bos_id", t->bos_id}, {"eos_id", t->eos_id}, {"pad_id", t->pad_id}};
    const struct { const char *name, *v; } strs[] = {
        {"type", "hf"}, {"bos_token", t->bos}, {"eos_token", t->eos}, {"pad_token", t->pad},
        {"hash", t->hash}, {"source", t->source}};
    LmStatus st = LM_OK;
    for (size_t i = 0; st == LM_OK && i < sizeof ints / sizeof ints[0]; i++)
        st = h5_attr_write_i64(g, ints[i].name, ints[i].v);
    for (size_t i = 0; st == LM_OK && i < sizeof strs / sizeof strs[0]; i++)
        st = h5_attr_write_str(g, strs[i].name, strs[i].v);
    int64_t n = (int64_t)t->hf->json_len;
    if (st == LM_OK) st = h5_write(g, "tokenizer_json", H5T_U8, t->hf->json, 1, &n);
    H5Gclose(g);
    return st;
}

LmStatus tokenizer_save(hid_t parent, const char *name, const Tokenizer *t) {
    if (t->kind == TOKENIZER_BPE) return bpe_save(parent, name, &t->bpe);
    return save_hf(parent, name, t);
}

static LmStatus read_json(hid_t g, char **json, size_t *len, const char *what, const char *where) {
    int64_t shape[1];
    LM_TRY(h5_shape(g, "tokenizer_json", 1, shape, what));
    if (shape[0] > INT32_MAX) {
        lm_error("%s/tokenizer_json: expected a 1-D uint8 dataset below 2 GiB", where);
        return LM_ERUNTIME;
    }
    *json = xmalloc((size_t)shape[0] + 1);
    LmStatus st = h5_read(g, "tokenizer_json", H5T_U8, *json, 1, shape, what);
    (*json)[shape[0]] = '\0';
    *len = (size_t)shape[0];
    return st;
}

// Stored ids and hash must be what the contents give.
static LmStatus check_stored(hid_t g, const Tokenizer *t, const char *what, const char *where) {
    const struct { const char *name; int64_t want; } ids[] = {
        {"vocab_size", t->vocab_size}, {"bos_id", t->bos_id}, {"eos_id", t->eos_id},
        {"pad_id", t->pad_id}};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        int64_t v;
        LM_TRY(h5_attr_read_i64(g, ids[i].name, &v, what));
        if (v == ids[i].want) continue;
        lm_error("%s: attribute %s = %lld, but the tokenizer's contents give %lld", where,
                 ids[i].name, (long long)v, (long long)ids[i].want);
        return LM_ERUNTIME;
    }
    char *hash;
    LM_TRY(h5_attr_read_str(g, "hash", &hash, what));
    int same = !strcmp(hash, t->hash);
    if (!same) {
        lm_error("%s: attribute hash = \"%s\" does not match the contents (%s)", where, hash, t->hash);
        lm_hint("the tokenizer group was edited or damaged; rebuild the file");
    }
    free(hash);
    return same ? LM_OK : LM_ERUNTIME;
}

static LmStatus load_hf(hid_t g, Tokenizer *t, const char *what, const char *where) {
    int64_t version;
    LM_TRY(h5_attr_read_i64(g, "format_version", &version, what));
    if (version < 1 || version > HF_FORMAT_VERSION) {
        lm_error("%s: format_version %lld is not supported (this landermt reads 1..%d)", where,
                 (long long)version, HF_FORMAT_VERSION);
        return LM_ERUNTIME;
    }
    char *names[3] = {NULL, NULL, NULL}, *json = NULL;
    static const char *const KEYS[3] = {"bos_token", "eos_token", "pad_token"};
    LmStatus st = LM_OK;
    for (int i = 0; st == LM_OK && i < 3; i++) st = h5_attr_read_str(g, KEYS[i], &names[i], what);
    size_t len = 0;
    if (st == LM_OK) st = read_json(g, &json, &len, what, where);
    char json_what[1300];
    snprintf(json_what, sizeof json_what, "%s/tokenizer_json", where);
    if (st == LM_OK) {
        st = tokenizer_from_stored(json, len, names, json_what, t);  // takes the names
        names[0] = names[1] = names[2] = NULL;
    }
    if (st == LM_OK) st = check_stored(g, t, what, where);
    free(json);
    for (int i = 0; i < 3; i++) free(names[i]);
    return st;
}

LmStatus tokenizer_load(hid_t file, const char *name, Tokenizer *t, const char *what) {
    char where[1200];
    snprintf(where, sizeof where, "%s: %s%s", what, name[0] == '/' ? "" : "/", name);
    tokenizer_init(t);
    hid_t g;
    LM_TRY(h5_open_group(file, name, &g, what));
    char *type = NULL;
    LmStatus st = h5_attr_read_str(g, "type", &type, what);
    if (st == LM_OK && !strcmp(type, "hf")) {
        st = load_hf(g, t, what, where);
    } else if (st == LM_OK && (!strcmp(type, "bpe") || !strcmp(type, "bytes"))) {
        BpeTokenizer b;
        st = bpe_load(file, name, &b, what);
        if (st == LM_OK) tokenizer_from_bpe(t, &b, what);
    } else if (st == LM_OK) {
        lm_error("%s: %s", where, !strcmp(type, "none") ? "the file carries no tokenizer"
                 : "tokenizer type is not supported (expected \"bpe\", \"bytes\" or \"hf\")");
        if (strcmp(type, "none")) lm_error("%s: type = \"%s\"", where, type);
        st = LM_ERUNTIME;
    }
    H5Gclose(g);
    free(type);
    if (st != LM_OK) tokenizer_free(t);
    return st;
}
