// Reading token streams from corpus files (docs/formats.md). Everything is
// validated on load, so the trainer can index tokens without bounds checks.
#include "io/corpus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/h5.h"
#include "util/alloc.h"

#define WHAT_LEN 1100

static LmStatus corpus_open(const char *path, hid_t *f, char *what) {
    int version;
    snprintf(what, WHAT_LEN, "corpus %s", path);
    return h5_open_format(path, CORPUS_FORMAT, CORPUS_VERSION, f, &version);
}

// Appends "<group>/<child>/<grandchild>, ..." for every stream and split.
static size_t list_streams(hid_t f, const char *top, char *out, size_t k, size_t cap,
                          const char *what) {
    char **names;
    int n;
    if (!h5_exists(f, top) || h5_list(f, top, &names, &n, what) != LM_OK) return k;
    for (int i = 0; i < n && k < cap; i++) {
        char grp[512], **splits;
        int ns;
        snprintf(grp, sizeof grp, "%s/%s", top, names[i]);
        if (h5_list(f, grp, &splits, &ns, what) != LM_OK) continue;
        for (int j = 0; j < ns && k < cap; j++)
            k += (size_t)snprintf(out + k, cap - k, "%s%s/%s", k ? ", " : "", grp, splits[j]);
        free(splits);
    }
    free(names);
    return k;
}

// After a missing stream: say what the file does have.
static void hint_available(hid_t f, const char *what) {
    char list[2048] = "";
    size_t k = list_streams(f, "bitext", list, 0, sizeof list, what);
    list_streams(f, "mono", list, k, sizeof list, what);
    lm_hint("the corpus has: %s", list[0] ? list : "no streams at all");
}

int corpus_stream_is_direction(const char *stream) {
    const char *dash = strchr(stream, '-');
    return dash && dash != stream && dash[1] && !strchr(dash + 1, '-');
}

// Sets the four dataset paths of `stream`/`split`; 0 if the group is absent.
static int resolve_paths(CorpusReader *r, hid_t f, const char *stream, const char *split) {
    if (!corpus_stream_is_direction(stream)) {
        snprintf(r->tgt_tok, sizeof r->tgt_tok, "/mono/%s/%s/tokens", stream, split);
        snprintf(r->tgt_off, sizeof r->tgt_off, "/mono/%s/%s/offsets", stream, split);
        r->has_src = 0;
        return h5_exists(f, r->tgt_off);
    }
    char s[64], t[64], grp[200];
    const char *dash = strchr(stream, '-');
    snprintf(s, sizeof s, "%.*s", (int)(dash - stream), stream);
    snprintf(t, sizeof t, "%s", dash + 1);
    r->has_src = 1;
    for (int swap = 0; swap < 2; swap++) {
        snprintf(grp, sizeof grp, "/bitext/%s-%s/%s", swap ? t : s, swap ? s : t, split);
        if (!h5_exists(f, grp)) continue;
        const char *a = swap ? "tgt" : "src", *b = swap ? "src" : "tgt";
        snprintf(r->src_tok, sizeof r->src_tok, "%s/%s_tokens", grp, a);
        snprintf(r->src_off, sizeof r->src_off, "%s/%s_offsets", grp, a);
        snprintf(r->tgt_tok, sizeof r->tgt_tok, "%s/%s_tokens", grp, b);
        snprintf(r->tgt_off, sizeof r->tgt_off, "%s/%s_offsets", grp, b);
        return 1;
    }
    return 0;
}

// Offsets must start at 0, never decrease and end at len(tokens).
static LmStatus offsets_check(const int64_t *o, int64_t n, int64_t ntok, const char *ds,
                              const char *what) {
    int64_t i = 1;
    while (i <= n && o[i] >= o[i - 1]) i++;
    if (o[0] != 0)
        lm_error("%s: %s[0] = %lld, expected 0", what, ds, (long long)o[0]);
    else if (i <= n)
        lm_error("%s: %s[%lld] = %lld is less than the entry before it (%lld)", what, ds,
                 (long long)i, (long long)o[i], (long long)o[i - 1]);
    else if (o[n] != ntok)
        lm_error("%s: %s[%lld] = %lld, but the tokens dataset has %lld entries", what, ds,
                 (long long)n, (long long)o[n], (long long)ntok);
    else
        return LM_OK;
    lm_hint("the sentence offsets are inconsistent: the file is damaged or was not written by "
            "landermt; rebuild it");
    return LM_ERUNTIME;
}

// Loads one side's offsets (n+1 entries, 1-D) and checks them against its
// tokens dataset.
static LmStatus side_open(const CorpusReader *r, const char *tok, const char *off, int64_t **out,
                          int64_t *n) {
    int64_t ntok, noff;
    LM_TRY(h5_shape(r->file, tok, 1, &ntok, r->what));
    LM_TRY(h5_shape(r->file, off, 1, &noff, r->what));
    if (noff < 1) {
        lm_error("%s: %s is empty, expected at least one entry (n sentences + 1)", r->what, off);
        return LM_ERUNTIME;
    }
    *out = xmalloc((size_t)noff * sizeof **out);
    *n = noff - 1;
    LM_TRY(h5_read(r->file, off, H5T_I64, *out, 1, &noff, r->what));
    return offsets_check(*out, *n, ntok, off, r->what);
}

// Every id in [0, vocab_size), read in bounded chunks.
static LmStatus tokens_check(const CorpusReader *r, const char *ds, int64_t ntok, int vocab_size) {
    enum { CHUNK = 1 << 20 };
    if (vocab_size <= 0) return LM_OK;
    int32_t *buf = xmalloc(sizeof(int32_t) * CHUNK);
    LmStatus st = LM_OK;
    for (int64_t base = 0; st == LM_OK && base < ntok; base += CHUNK) {
        int64_t cnt = ntok - base < CHUNK ? ntok - base : CHUNK;
        st = h5_read_range(r->file, ds, H5T_I32, buf, base, cnt, r->what);
        for (int64_t i = 0; st == LM_OK && i < cnt; i++) {
            if (buf[i] >= 0 && buf[i] < vocab_size) continue;
            lm_error("%s: %s[%lld] = %d is out of range for vocab_size %d", r->what, ds,
                     (long long)(base + i), buf[i], vocab_size);
            lm_hint("the corpus was tokenized with a different vocabulary than the model; "
                    "rebuild the corpus with the model's tokenizer or use a matching model");
            st = LM_ERUNTIME;
        }
    }
    free(buf);
    return st;
}

static LmStatus reader_load(CorpusReader *r, const char *stream, const char *split, int vocab) {
    if (!resolve_paths(r, r->file, stream, split)) {
        lm_error("%s: no %s stream '%s' with split '%s'", r->what,
                 corpus_stream_is_direction(stream) ? "bitext" : "monolingual", stream, split);
        hint_available(r->file, r->what);
        return LM_ERUNTIME;
    }
    int64_t nt;
    LM_TRY(side_open(r, r->tgt_tok, r->tgt_off, &r->tgt_offsets, &r->n));
    LM_TRY(tokens_check(r, r->tgt_tok, r->tgt_offsets[r->n], vocab));
    if (!r->has_src) return LM_OK;
    LM_TRY(side_open(r, r->src_tok, r->src_off, &r->src_offsets, &nt));
    if (nt != r->n) {
        lm_error("%s: %s has %lld sentences but %s has %lld", r->what, r->src_off, (long long)nt,
                 r->tgt_off, (long long)r->n);
        return LM_ERUNTIME;
    }
    return tokens_check(r, r->src_tok, r->src_offsets[r->n], vocab);
}

LmStatus corpus_reader_open(CorpusReader *r, const char *path, const char *stream,
                            const char *split, int vocab_size) {
    memset(r, 0, sizeof *r);
    r->file = -1;
    LM_TRY(corpus_open(path, &r->file, r->what));
    LmStatus st = reader_load(r, stream, split, vocab_size);
    if (st != LM_OK) corpus_reader_close(r);
    return st;
}

void corpus_reader_close(CorpusReader *r) {
    if (r->file >= 0) H5Fclose(r->file);
    free(r->src_offsets);
    free(r->tgt_offsets);
    memset(r, 0, sizeof *r);
    r->file = -1;
}

LmStatus corpus_reader_read(const CorpusReader *r, int64_t first, int64_t count, int32_t *src,
                            int32_t *tgt) {
    const int64_t *o = r->tgt_offsets;
    LM_TRY(h5_read_range(r->file, r->tgt_tok, H5T_I32, tgt, o[first], o[first + count] - o[first],
                         r->what));
    if (!src || !r->has_src) return LM_OK;
    o = r->src_offsets;
    return h5_read_range(r->file, r->src_tok, H5T_I32, src, o[first], o[first + count] - o[first],
                         r->what);
}

LmStatus corpus_read_tokenizer_info(const char *path, TokenizerInfo *info) {
    char what[WHAT_LEN];
    hid_t f, g;
    LM_TRY(corpus_open(path, &f, what));
    LmStatus st = h5_open_group(f, "tokenizer", &g, what);
    const struct { const char *name; int64_t *v; } attrs[] = {
        {"vocab_size", &info->vocab_size}, {"bos_id", &info->bos_id},
        {"eos_id", &info->eos_id}, {"pad_id", &info->pad_id}};
    for (size_t i = 0; st == LM_OK && i < sizeof attrs / sizeof attrs[0]; i++)
        st = h5_attr_read_i64(g, attrs[i].name, attrs[i].v, what);
    if (st == LM_OK && (info->vocab_size <= 0 || info->vocab_size > INT32_MAX)) {
        lm_error("%s: /tokenizer vocab_size = %lld is invalid", what, (long long)info->vocab_size);
        st = LM_ERUNTIME;
    }
    // -1 marks a special token the tokenizer does not have.
    for (size_t i = 1; st == LM_OK && i < sizeof attrs / sizeof attrs[0]; i++) {
        if (*attrs[i].v >= -1 && *attrs[i].v < info->vocab_size) continue;
        lm_error("%s: /tokenizer %s = %lld is out of range for vocab_size %lld", what,
                 attrs[i].name, (long long)*attrs[i].v, (long long)info->vocab_size);
        st = LM_ERUNTIME;
    }
    if (g >= 0) H5Gclose(g);
    H5Fclose(f);
    return st;
}

LmStatus corpus_reader_text(const CorpusReader *r, int src, char ***out) {
    char path[300];
    const char *tok = src ? r->src_tok : r->tgt_tok;  // ".../src_tokens" or ".../tokens"
    size_t stem = strlen(tok) - strlen("tokens");
    snprintf(path, sizeof path, "%.*stext", (int)stem, tok);
    int64_t n;
    if (!h5_exists(r->file, path)) {
        lm_error("%s: no text dataset %s", r->what, path);
        lm_hint("only the dev and test splits keep the original text; score one of those");
        return LM_ERUNTIME;
    }
    LM_TRY(h5_read_strings(r->file, path, out, &n, r->what));
    if (n == r->n) return LM_OK;
    lm_error("%s: %s has %lld sentences, the tokens %lld", r->what, path, (long long)n, (long long)r->n);
    free(*out);
    return LM_ERUNTIME;
}
