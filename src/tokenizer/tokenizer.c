// The Tokenizer interface: opening from any path, encoding and decoding
// with either kind, clones for threads, reports.
#include "tokenizer/tokenizer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/h5.h"
#include "tokenizer/hf.h"
#include "tokenizer/hf_special.h"
#include "util/alloc.h"
#include "util/fnv.h"

void tokids_free(TokIds *t) {
    free(t->v);
    memset(t, 0, sizeof *t);
}

static void tokids_reserve(TokIds *t, int64_t more) {
    if (t->n + more <= t->cap) return;
    t->cap = 2 * (t->n + more) + 16;
    t->v = xrealloc(t->v, (size_t)t->cap * sizeof *t->v);
}

void tokenizer_init(Tokenizer *t) {
    memset(t, 0, sizeof *t);
    bpe_init(&t->bpe);
    t->bos_id = t->eos_id = t->pad_id = -1;
}

void tokenizer_free(Tokenizer *t) {
    bpe_free(&t->bpe);
    hf_release(t->hf);
    hf_work_free(t->work);
    free(t->bos), free(t->eos), free(t->pad), free(t->source);
    tokenizer_init(t);
}

void tokenizer_from_bpe(Tokenizer *t, BpeTokenizer *bpe, const char *source) {
    tokenizer_init(t);
    t->kind = TOKENIZER_BPE;
    t->bpe = *bpe;
    bpe_init(bpe);
    t->vocab_size = t->bpe.vocab_size;
    t->pad_id = BPE_PAD_ID, t->bos_id = BPE_BOS_ID, t->eos_id = BPE_EOS_ID;
    t->prefix[0] = BPE_BOS_ID, t->n_prefix = 1;
    t->pad = xstrdup("<pad>"), t->bos = xstrdup("<bos>"), t->eos = xstrdup("<eos>");
    t->source = xstrdup(source);
    snprintf(t->hash, sizeof t->hash, "%s", bpe_hash(&t->bpe));
}

// ---------------------------------------------------------------- Hugging Face

// What encoding with special tokens puts in front of the text: the
// template items before the sequence, outermost post-processor step first.
static LmStatus hf_prefix(Tokenizer *t, const char *source) {
    const HfTokenizer *h = t->hf;
    for (int i = h->n_post - 1; i >= 0; i--)
        for (int j = 0; j < h->post[i].n && h->post[i].items[j] != HF_SEQ_A; j++) {
            if (t->n_prefix == TOKENIZER_AFFIX_MAX) {
                lm_error("%s: the post-processor puts more than %d special tokens before the "
                         "text", source, TOKENIZER_AFFIX_MAX);
                return LM_EUSAGE;
            }
            t->prefix[t->n_prefix++] = h->post[i].items[j];
        }
    return LM_OK;
}

static int32_t name_id(const HfTokenizer *h, const char *name) {
    return name[0] ? hf_token_id(h, name, strlen(name)) : -1;
}

// "hf" NUL json NUL le32(bos) le32(eos) le32(pad): equal hashes mean the
// same ids for the same text and the same special tokens.
static void hf_hash(Tokenizer *t) {
    uint64_t h = fnv1a(FNV_OFFSET, "hf", 3);
    h = fnv1a(h, t->hf->json, t->hf->json_len + 1);
    h = fnv1a_le32(fnv1a_le32(fnv1a_le32(h, t->bos_id), t->eos_id), t->pad_id);
    snprintf(t->hash, sizeof t->hash, "%016" PRIx64, h);
}

// Fills the fields of an HF tokenizer from its parsed tables and names.
static LmStatus hf_finish(Tokenizer *t, const char *source) {
    t->kind = TOKENIZER_HF;
    t->vocab_size = t->hf->vocab_size;
    t->bos_id = name_id(t->hf, t->bos);
    t->eos_id = name_id(t->hf, t->eos);
    t->pad_id = name_id(t->hf, t->pad);
    t->source = xstrdup(source);
    t->work = hf_work_new();
    hf_hash(t);
    return hf_prefix(t, source);
}

LmStatus tokenizer_from_json(const char *json, size_t len, const char *dir, const char *source,
                             Tokenizer *t) {
    tokenizer_init(t);
    LmStatus st = hf_parse(json, len, source, &t->hf);
    char **names[3] = {&t->bos, &t->eos, &t->pad};
    if (st == LM_OK) st = hf_special_tokens(t->hf, dir, names);
    if (st == LM_OK) st = hf_finish(t, source);
    if (st != LM_OK) tokenizer_free(t);
    return st;
}

LmStatus tokenizer_from_stored(const char *json, size_t len, char *names[3], const char *what,
                               Tokenizer *t) {
    tokenizer_init(t);
    LmStatus st = hf_parse(json, len, what, &t->hf);
    t->bos = names[0], t->eos = names[1], t->pad = names[2];
    for (int i = 0; st == LM_OK && i < 3; i++)
        if (names[i][0] && hf_token_id(t->hf, names[i], strlen(names[i])) < 0) {
            lm_error("%s: special token \"%s\" is not in the stored tokenizer.json", what, names[i]);
            st = LM_ERUNTIME;
        }
    if (st == LM_OK) st = hf_finish(t, what);
    if (st != LM_OK) tokenizer_free(t);
    return st;
}

// ---------------------------------------------------------------- opening

static LmStatus read_file(const char *path, char **buf, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        lm_error("cannot read %s: %s", path, strerror(errno));
        return LM_ERUNTIME;
    }
    HfBuf b = {0};
    char chunk[1 << 16];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) hfbuf_add(&b, chunk, k);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        lm_error("cannot read %s: %s", path, strerror(errno));
        free(b.buf);
        return LM_ERUNTIME;
    }
    hfbuf_add(&b, "", 1);
    *buf = b.buf, *len = b.n - 1;
    return LM_OK;
}

// Only a JSON object can be a tokenizer.json: anything else is named as
// neither kind of file rather than parsed.
static int json_object_text(const char *s, size_t n) {
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
    return i < n && s[i] == '{';
}

static LmStatus open_json(const char *path, const char *dir, const char *source, Tokenizer *t) {
    char *json;
    size_t len;
    LM_TRY(read_file(path, &json, &len));
    LmStatus st;
    if (json_object_text(json, len)) {
        st = tokenizer_from_json(json, len, dir, source, t);
    } else {
        lm_error("%s: not an HDF5 file (landermt corpus or checkpoint) and not a tokenizer.json "
                 "(a JSON object)", source);
        lm_hint("give a tokenizer.json, a Hugging Face model directory, or a landermt corpus or "
                "checkpoint");
        st = LM_ERUNTIME;
    }
    free(json);
    return st;
}

static LmStatus open_dir(const char *dir, const char *role, Tokenizer *t) {
    char path[1200], source[1400];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    snprintf(source, sizeof source, "%s %s", role, path);
    struct stat sb;
    if (stat(path, &sb) == 0) return open_json(path, dir, source, t);
    lm_error("%s %s: the directory has no tokenizer.json", role, dir);
    lm_hint("give a Hugging Face model directory with tokenizer.json (a SentencePiece "
            "tokenizer.model alone can be converted with transformers: "
            "AutoTokenizer.from_pretrained(dir).save_pretrained(dir))");
    return LM_ERUNTIME;
}

static LmStatus open_h5(const char *path, const char *source, Tokenizer *t) {
    hid_t f;
    LM_TRY(h5_open(path, source, &f));
    LmStatus st = tokenizer_load(f, "tokenizer", t, source);
    H5Fclose(f);
    return st;
}

static int is_hdf5(const char *path) {
    static const char SIG[8] = {'\x89', 'H', 'D', 'F', '\r', '\n', '\x1a', '\n'};
    char head[8];
    FILE *f = fopen(path, "rb");
    int yes = f && fread(head, 1, 8, f) == 8 && !memcmp(head, SIG, 8);
    if (f) fclose(f);
    return yes;
}

LmStatus tokenizer_open(const char *path, const char *role, Tokenizer *t) {
    tokenizer_init(t);
    struct stat sb;
    char source[1400];
    snprintf(source, sizeof source, "%s %s", role, path);
    if (stat(path, &sb) != 0) {
        lm_error("%s: %s", source, strerror(errno));
        lm_hint("give a tokenizer.json, a Hugging Face model directory, or a landermt corpus or "
                "checkpoint");
        return LM_ERUNTIME;
    }
    if (S_ISDIR(sb.st_mode)) return open_dir(path, role, t);
    if (is_hdf5(path)) return open_h5(path, source, t);
    char dir[1200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    else snprintf(dir, sizeof dir, ".");
    return open_json(path, dir, source, t);
}

LmStatus tokenizer_clone(const Tokenizer *src, Tokenizer *dst) {
    tokenizer_init(dst);
    if (src->kind == TOKENIZER_BPE) {
        BpeTokenizer b;
        const BpeTokenizer *s = &src->bpe;
        LM_TRY(bpe_from_parts(&b, (const char *const *)s->specials, s->n_special, s->merges,
                              s->n_merges, "tokenizer copy"));
        tokenizer_from_bpe(dst, &b, src->source);
        return LM_OK;
    }
    *dst = *src;
    dst->hf->refs++;
    dst->work = hf_work_new();
    dst->bos = xstrdup(src->bos), dst->eos = xstrdup(src->eos), dst->pad = xstrdup(src->pad);
    dst->source = xstrdup(src->source);
    memset(&dst->bpe, 0, sizeof dst->bpe);
    return LM_OK;
}

// ---------------------------------------------------------------- encode / decode

int64_t tokenizer_encode(Tokenizer *t, const char *text, size_t len, int flags, TokIds *out) {
    if (t->kind == TOKENIZER_BPE) {
        tokids_reserve(out, (int64_t)len + 1);
        int64_t n0 = out->n;
        if (flags & TOK_SPECIAL) out->v[out->n++] = BPE_BOS_ID;
        out->n += bpe_encode(&t->bpe, text, len, out->v + out->n, (int64_t)len);
        return out->n - n0;
    }
    if (hf_encode(t->hf, t->work, text, len, flags & TOK_SPECIAL) != LM_OK) return -1;
    int64_t k = (int64_t)t->work->n_ids;
    tokids_reserve(out, k);
    if (k) memcpy(out->v + out->n, t->work->ids, (size_t)k * sizeof *out->v);
    out->n += k;
    return k;
}

static LmStatus bpe_text(const BpeTokenizer *b, const int32_t *ids, int64_t n, int keep,
                         char **text, size_t *len) {
    HfBuf out = {0};
    for (int64_t i = 0; i < n; i++) {
        size_t k;
        const uint8_t *bytes = bpe_token_bytes(b, ids[i], &k);
        if (!bytes) {
            lm_error("token id %lld at position %lld is outside the vocabulary [0, %d)",
                     (long long)ids[i], (long long)i, (int)b->vocab_size);
            free(out.buf);
            return LM_ERUNTIME;
        }
        if (ids[i] < b->n_special && keep) hfbuf_add(&out, b->specials[ids[i]], strlen(b->specials[ids[i]]));
        else hfbuf_add(&out, bytes, k);
    }
    hfbuf_add(&out, "", 1);
    *text = out.buf, *len = out.n - 1;
    return LM_OK;
}

LmStatus tokenizer_decode(Tokenizer *t, const int32_t *ids, int64_t n, int flags, char **text,
                          size_t *len) {
    if (t->kind == TOKENIZER_BPE) return bpe_text(&t->bpe, ids, n, flags & TOK_SPECIAL, text, len);
    *text = hf_decode(t->hf, ids, n, flags & TOK_SPECIAL, len);
    return LM_OK;
}

const char *tokenizer_json_text(const Tokenizer *t) {
    return t->kind == TOKENIZER_HF ? t->hf->json : NULL;
}

int32_t tokenizer_special_id(const Tokenizer *t, const char *name) {
    if (t->kind == TOKENIZER_BPE) {
        for (int32_t i = 0; i < t->bpe.n_special; i++)
            if (!strcmp(t->bpe.specials[i], name)) return i;
        return -1;
    }
    int32_t id = hf_token_id(t->hf, name, strlen(name));
    return id >= 0 && t->hf->special[id] ? id : -1;
}

void tokenizer_describe(const Tokenizer *t, char *buf, size_t cap) {
    if (t->kind == TOKENIZER_BPE) {
        snprintf(buf, cap, "byte-level BPE, vocab %d (%d specials, %d merges), hash %s",
                 (int)t->vocab_size, (int)t->bpe.n_special, (int)t->bpe.n_merges, t->hash);
        return;
    }
    const HfTokenizer *h = t->hf;
    snprintf(buf, cap, "Hugging Face tokenizer.json (BPE, %lld merges, %d added tokens), vocab %d, "
             "bos %s, eos %s, pad %s, hash %s", (long long)h->bpe.n_merges, h->n_added,
             (int)t->vocab_size, t->bos[0] ? t->bos : "none", t->eos[0] ? t->eos : "none",
             t->pad[0] ? t->pad : "none", t->hash);
}
