// Reading token streams from corpus files (docs/formats.md). Everything is
// validated on load, so the trainer can index tokens without bounds checks.
#include "io/corpus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/h5.h"
#include "util/alloc.h"

#define WHAT_LEN 1100

void token_stream_free(TokenStream *s) {
    if (!s) return;
    free(s->tokens);
    free(s->offsets);
    memset(s, 0, sizeof *s);
}

static LmStatus corpus_open(const char *path, hid_t *f, char *what) {
    int version;
    snprintf(what, WHAT_LEN, "corpus %s", path);
    return h5_open_format(path, CORPUS_FORMAT, CORPUS_VERSION, f, &version);
}

// After a missing /mono/<lang>/<split>: say what the file does have.
static void mono_hint_available(hid_t f, const char *what) {
    char **langs;
    int nl;
    if (!h5_exists(f, "mono") || h5_list(f, "mono", &langs, &nl, what) != LM_OK || nl == 0) {
        lm_hint("the corpus has no monolingual streams under /mono");
        return;
    }
    char list[2048] = "";
    size_t k = 0;
    for (int i = 0; i < nl && k < sizeof list; i++) {
        char grp[512], **splits;
        int ns;
        snprintf(grp, sizeof grp, "mono/%s", langs[i]);
        if (h5_list(f, grp, &splits, &ns, what) != LM_OK) continue;
        for (int j = 0; j < ns && k < sizeof list; j++)
            k += (size_t)snprintf(list + k, sizeof list - k, "%s%s/%s", k ? ", " : "", langs[i],
                                  splits[j]);
        free(splits);
    }
    free(langs);
    lm_hint("available under /mono (lang/split): %s", list);
}

// Offsets must start at 0, never decrease and end at len(tokens).
static LmStatus offsets_check(const TokenStream *s, int64_t ntok, const char *grp,
                              const char *what) {
    const int64_t *o = s->offsets;
    int64_t i = 1;
    while (i <= s->n && o[i] >= o[i - 1]) i++;
    if (o[0] != 0)
        lm_error("%s: %s/offsets[0] = %lld, expected 0", what, grp, (long long)o[0]);
    else if (i <= s->n)
        lm_error("%s: %s/offsets[%lld] = %lld is less than offsets[%lld] = %lld", what, grp,
                 (long long)i, (long long)o[i], (long long)(i - 1), (long long)o[i - 1]);
    else if (o[s->n] != ntok)
        lm_error("%s: %s/offsets[%lld] = %lld, but %s/tokens has %lld entries", what, grp,
                 (long long)s->n, (long long)o[s->n], grp, (long long)ntok);
    else
        return LM_OK;
    lm_hint("the sentence offsets are inconsistent: the file is damaged or was not written by "
            "landermt; rebuild it");
    return LM_ERUNTIME;
}

static LmStatus tokens_check(const int32_t *tok, int64_t ntok, int vocab_size, const char *grp,
                             const char *what) {
    if (vocab_size <= 0) return LM_OK;
    for (int64_t i = 0; i < ntok; i++) {
        if (tok[i] >= 0 && tok[i] < vocab_size) continue;
        lm_error("%s: %s/tokens[%lld] = %d is out of range for vocab_size %d", what, grp,
                 (long long)i, tok[i], vocab_size);
        lm_hint("the corpus was tokenized with a different vocabulary than the model; rebuild "
                "the corpus with the model's tokenizer or use a model with its vocab_size");
        return LM_ERUNTIME;
    }
    return LM_OK;
}

// Shapes first (1-D tokens, 1-D offsets of n+1 >= 1 entries), then data.
static LmStatus mono_load(hid_t g, const char *grp, int vocab_size, TokenStream *out,
                          const char *what) {
    int nd_tok, nd_off;
    int64_t ntok, noff;
    LM_TRY(h5_shape(g, "tokens", &nd_tok, &ntok, what));
    LM_TRY(h5_shape(g, "offsets", &nd_off, &noff, what));
    if (nd_tok != 1 || nd_off != 1 || noff < 1) {
        lm_error("%s: %s/tokens and %s/offsets must be 1-D, offsets with at least one entry",
                 what, grp, grp);
        return LM_ERUNTIME;
    }
    out->n = noff - 1;
    out->tokens = xmalloc((size_t)ntok * sizeof *out->tokens);
    out->offsets = xmalloc((size_t)noff * sizeof *out->offsets);
    LM_TRY(h5_read(g, "tokens", H5T_I32, out->tokens, 1, &ntok, what));
    LM_TRY(h5_read(g, "offsets", H5T_I64, out->offsets, 1, &noff, what));
    LM_TRY(offsets_check(out, ntok, grp, what));
    return tokens_check(out->tokens, ntok, vocab_size, grp, what);
}

LmStatus corpus_read_mono(const char *path, const char *lang, const char *split, int vocab_size,
                          TokenStream *out) {
    char what[WHAT_LEN], grp[512];
    hid_t f, g;
    memset(out, 0, sizeof *out);
    LM_TRY(corpus_open(path, &f, what));
    snprintf(grp, sizeof grp, "/mono/%s/%s", lang, split);
    LmStatus st = LM_OK;
    if (!h5_exists(f, grp)) {
        lm_error("%s: no monolingual stream %s (language '%s', split '%s')", what, grp, lang, split);
        mono_hint_available(f, what);
        st = LM_ERUNTIME;
    } else if ((st = h5_open_group(f, grp, &g, what)) == LM_OK) {
        st = mono_load(g, grp, vocab_size, out, what);
        H5Gclose(g);
    }
    H5Fclose(f);
    if (st != LM_OK) token_stream_free(out);
    return st;
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
