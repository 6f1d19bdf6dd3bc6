#include "data/open.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/prompt.h"
#include "io/corpus.h"
#include "io/ckpt.h"
#include "io/h5.h"
#include "io/model_source.h"

LmStatus corpus_tokenizer(const char *corpus, BpeTokenizer *tok) {
    hid_t f;
    int version;
    char what[CFG_STR + 16];
    snprintf(what, sizeof what, "corpus %s", corpus);
    LM_TRY(h5_open_format(corpus, CORPUS_FORMAT, CORPUS_VERSION, &f, &version));
    LmStatus st = bpe_load(f, "tokenizer", tok, what);
    H5Fclose(f);
    return st;
}

LmStatus prompt_tokens(const Config *c, BpeTokenizer *tok, const char *name, int32_t *ids,
                       StreamPrompt *p) {
    *p = (StreamPrompt){.prefix = ids, .n_prefix = 1, .middle = ids + 1, .eos = BPE_EOS_ID};
    ids[0] = BPE_BOS_ID;
    if (!corpus_stream_is_direction(name)) return LM_OK;
    char src[64], *head, *tail;
    snprintf(src, sizeof src, "%.*s", (int)(strchr(name, '-') - name), name);
    LM_TRY(prompt_render(c->data.prompt, src, strchr(name, '-') + 1, &head, &tail));
    int64_t nh = bpe_encode(tok, head, strlen(head), ids + 1, CFG_STR * 2);
    p->middle = ids + 1 + nh;
    p->n_prefix = 1 + (int)nh;
    p->n_middle = (int)bpe_encode(tok, tail, strlen(tail), ids + 1 + nh, CFG_STR * 2);
    free(head), free(tail);
    return LM_OK;
}

LmStatus corpus_check_vocab(const char *corpus, int vocab_size) {
    TokenizerInfo ti;
    LM_TRY(corpus_read_tokenizer_info(corpus, &ti));
    if (ti.vocab_size <= vocab_size) return LM_OK;
    lm_error("corpus %s has a tokenizer of %lld tokens but the model's vocab_size is %d", corpus,
             (long long)ti.vocab_size, vocab_size);
    lm_hint("set model.vocab_size >= %lld, or use the corpus the model was trained on",
            (long long)ti.vocab_size);
    return LM_ERUNTIME;
}

LmStatus stream_open_config(Stream *s, const Config *c, BpeTokenizer *tok, const char *name,
                            const char *split, int vocab_size, int shuffle) {
    int32_t ids[PROMPT_IDS_MAX];
    StreamPrompt p;
    LM_TRY(prompt_tokens(c, tok, name, ids, &p));
    return stream_open(s, c->data.corpus, name, split, vocab_size, &p, (uint64_t)c->train.seed,
                       shuffle, !strcmp(c->data.overlong, "truncate"));
}

LmStatus ckpt_tokenizer(const char *path, BpeTokenizer *tok, int *found) {
    *found = 0;
    if (model_source_is_hf(path)) return LM_OK;  // tokenizer.json is not a BPE group
    char what[CFG_STR + 16], *type = NULL;
    snprintf(what, sizeof what, "checkpoint %s", path);
    hid_t f, g;
    int version;
    LM_TRY(h5_open_format(path, CKPT_FORMAT, CKPT_VERSION, &f, &version));
    LmStatus st = LM_OK;
    *found = h5_exists(f, "tokenizer");
    if (*found && (st = h5_open_group(f, "tokenizer", &g, what)) == LM_OK) {
        st = h5_attr_read_str(g, "type", &type, what);
        H5Gclose(g);
    }
    *found = *found && st == LM_OK && strcmp(type, "none");
    if (*found) st = bpe_load(f, "tokenizer", tok, what);
    free(type);
    H5Fclose(f);
    return st;
}

LmStatus tokenizers_match(BpeTokenizer *corpus_tok, const char *corpus, BpeTokenizer *ckpt_tok,
                          const char *ckpt) {
    if (!strcmp(bpe_hash(corpus_tok), bpe_hash(ckpt_tok))) return LM_OK;
    lm_error("corpus %s has another tokenizer (hash %s) than checkpoint %s (hash %s)", corpus,
             bpe_hash(corpus_tok), ckpt, bpe_hash(ckpt_tok));
    lm_hint("use the corpus the model was trained on (its /tokenizer is copied into every "
            "checkpoint), or build the corpus with prep.tokenizer set to the checkpoint");
    return LM_ERUNTIME;
}

LmStatus corpus_check_tokenizer(const char *corpus, const char *ckpt) {
    BpeTokenizer a, b;
    int has;
    bpe_init(&a), bpe_init(&b);
    LmStatus st = ckpt_tokenizer(ckpt, &b, &has);
    if (st == LM_OK && has) st = corpus_tokenizer(corpus, &a);
    if (st == LM_OK && has) st = tokenizers_match(&a, corpus, &b, ckpt);
    bpe_free(&a), bpe_free(&b);
    return st;
}
