// The tokenizer as an HDF5 group (normally /tokenizer of a corpus or a
// checkpoint; layout in docs/tokenizer.md). Loading trusts nothing: every
// id, count and the content hash are checked, and errors name the file and
// the dataset or attribute.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/h5.h"
#include "tokenizer/bpe.h"
#include "util/alloc.h"

#define BPE_FORMAT_VERSION 1

LmStatus bpe_save(hid_t parent, const char *name, const BpeTokenizer *tok) {
    hid_t g;
    LM_TRY(h5_ensure_group(parent, name, &g));
    const struct { const char *name; int64_t v; } ints[] = {
        {"format_version", BPE_FORMAT_VERSION}, {"vocab_size", tok->vocab_size},
        {"pad_id", BPE_PAD_ID}, {"bos_id", BPE_BOS_ID}, {"eos_id", BPE_EOS_ID},
        {"byte_offset", tok->n_special}};
    LmStatus st = h5_attr_write_str(g, "type", "bpe");
    for (size_t i = 0; st == LM_OK && i < sizeof ints / sizeof ints[0]; i++)
        st = h5_attr_write_i64(g, ints[i].name, ints[i].v);
    if (st == LM_OK) st = h5_attr_write_str(g, "hash", tok->hash);
    if (st == LM_OK)
        st = h5_write_strings(g, "specials", (const char *const *)tok->specials, tok->n_special);
    int64_t shape[2] = {tok->n_merges, 2};
    if (st == LM_OK) st = h5_write(g, "merges", H5T_I32, tok->merges, 2, shape);
    H5Gclose(g);
    return st;
}

// The id attributes must agree with what the contents imply (byte_offset is
// optional: only informative for h5py users).
static LmStatus check_id_attrs(hid_t g, const BpeTokenizer *tok, const char *what,
                               const char *where) {
    const struct { const char *name; int64_t want; } ids[] = {
        {"vocab_size", tok->vocab_size}, {"pad_id", BPE_PAD_ID}, {"bos_id", BPE_BOS_ID},
        {"eos_id", BPE_EOS_ID}, {"byte_offset", tok->n_special}};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        int64_t v;
        if (!strcmp(ids[i].name, "byte_offset") && !h5_attr_exists(g, ids[i].name)) continue;
        LM_TRY(h5_attr_read_i64(g, ids[i].name, &v, what));
        if (v == ids[i].want) continue;
        lm_error("%s: attribute %s = %lld, but the tokenizer's contents give %lld", where,
                 ids[i].name, (long long)v, (long long)ids[i].want);
        return LM_ERUNTIME;
    }
    return LM_OK;
}

static LmStatus check_hash(hid_t g, const BpeTokenizer *tok, const char *what, const char *where) {
    char *hash;
    LM_TRY(h5_attr_read_str(g, "hash", &hash, what));
    int same = !strcmp(hash, bpe_hash(tok));
    if (!same) {
        lm_error("%s: attribute hash = \"%s\" does not match the contents (%s)", where, hash,
                 bpe_hash(tok));
        lm_hint("the tokenizer group was edited or damaged; rebuild the file");
    }
    free(hash);
    return same ? LM_OK : LM_ERUNTIME;
}

// Reads merges [n, 2] after checking the shape, so a damaged size cannot
// trigger a huge allocation.
static LmStatus read_merges(hid_t g, int64_t n_special, int32_t **merges, int64_t *n,
                            const char *what, const char *where) {
    int64_t shape[2];
    *merges = NULL;
    LM_TRY(h5_shape(g, "merges", 2, shape, what));
    if (shape[1] != 2 || shape[0] > INT32_MAX - 256 - n_special) {
        lm_error("%s/merges: expected shape [n_merges, 2] with n_merges < 2^31 - %lld", where,
                 (long long)(256 + n_special));
        return LM_ERUNTIME;
    }
    *n = shape[0];
    *merges = xmalloc((size_t)(2 * shape[0] + 1) * sizeof **merges);
    LmStatus st = h5_read(g, "merges", H5T_I32, *merges, 2, shape, what);
    if (st != LM_OK) {
        free(*merges);
        *merges = NULL;
    }
    return st;
}

static LmStatus load_bpe(hid_t g, BpeTokenizer *tok, const char *what, const char *where) {
    int64_t version;
    LM_TRY(h5_attr_read_i64(g, "format_version", &version, what));
    if (version < 1 || version > BPE_FORMAT_VERSION) {
        lm_error("%s: format_version %lld is not supported (this landermt reads 1..%d)", where,
                 (long long)version, BPE_FORMAT_VERSION);
        return LM_ERUNTIME;
    }
    char **sp;
    int64_t n_sp, n_merges = 0;
    int32_t *merges = NULL;
    LM_TRY(h5_read_strings(g, "specials", &sp, &n_sp, what));
    LmStatus st = LM_OK;
    if (n_sp > INT32_MAX / 2) {
        lm_error("%s/specials: %lld names is implausibly many", where, (long long)n_sp);
        st = LM_ERUNTIME;
    }
    if (st == LM_OK) st = read_merges(g, n_sp, &merges, &n_merges, what, where);
    if (st == LM_OK)
        st = bpe_from_parts(tok, (const char *const *)sp, (int32_t)n_sp, merges, n_merges, where);
    if (st == LM_OK) st = check_id_attrs(g, tok, what, where);
    if (st == LM_OK) st = check_hash(g, tok, what, where);
    free(sp);
    free(merges);
    return st;
}

LmStatus bpe_load(hid_t file, const char *name, BpeTokenizer *tok, const char *what) {
    char where[1024];
    snprintf(where, sizeof where, "%s: %s%s", what, name[0] == '/' ? "" : "/", name);
    bpe_init(tok);
    hid_t g;
    LM_TRY(h5_open_group(file, name, &g, what));
    char *type;
    LmStatus st = h5_attr_read_str(g, "type", &type, what);
    if (st == LM_OK && !strcmp(type, "bpe")) {
        st = load_bpe(g, tok, what, where);
    } else if (st == LM_OK && !strcmp(type, "bytes")) {
        // The interim byte tokenizer is the BPE layout without merges.
        bpe_init_bytes(tok);
        st = check_id_attrs(g, tok, what, where);
    } else if (st == LM_OK) {
        lm_error("%s: tokenizer type \"%s\" is not supported (expected \"bpe\" or \"bytes\")",
                 where, type);
        st = LM_ERUNTIME;
    }
    if (st != LM_OK) bpe_free(tok);
    free(type);
    H5Gclose(g);
    return st;
}
