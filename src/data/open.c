#include "data/open.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/prompt.h"
#include "io/corpus.h"
#include "io/ckpt.h"
#include "io/h5.h"
#include "mpi/comm.h"

LmStatus corpus_tokenizer(const char *corpus, Tokenizer *tok) {
    hid_t f;
    int version;
    char what[CFG_STR + 16];
    snprintf(what, sizeof what, "corpus %s", corpus);
    tokenizer_init(tok);
    LM_TRY(h5_open_format(corpus, CORPUS_FORMAT, CORPUS_VERSION, &f, &version));
    LmStatus st = tokenizer_load(f, "tokenizer", tok, what);
    H5Fclose(f);
    return st;
}

// ids[*n ..] += the ids of text (at most PROMPT_IDS_MAX in all).
static LmStatus prompt_encode(Tokenizer *tok, const char *text, int32_t *ids, int *n) {
    TokIds t = {0};
    int64_t k = tokenizer_encode(tok, text, strlen(text), 0, &t);
    LmStatus st = k < 0 ? LM_ERUNTIME : LM_OK;
    if (st == LM_OK && *n + k > PROMPT_IDS_MAX) {
        lm_error("data.prompt encodes to more than %d tokens", PROMPT_IDS_MAX);
        st = LM_EUSAGE;
    }
    if (st == LM_OK) memcpy(ids + *n, t.v, (size_t)k * sizeof *ids), *n += (int)k;
    tokids_free(&t);
    return st;
}

LmStatus prompt_tokens(const Config *c, Tokenizer *tok, const char *name, int32_t *ids,
                       StreamPrompt *p) {
    if (tok->eos_id < 0) {
        lm_error("tokenizer %s has no eos token, which ends every training example and every "
                 "translation", tok->source);
        lm_hint("build the corpus from the model directory (its tokenizer_config.json or config.json "
                "names eos), not from tokenizer.json alone");
        return LM_ERUNTIME;
    }
    int n = tok->n_prefix;
    memcpy(ids, tok->prefix, (size_t)n * sizeof *ids);
    *p = (StreamPrompt){.prefix = ids, .n_prefix = n, .middle = ids + n, .eos = tok->eos_id};
    if (!corpus_stream_is_direction(name)) return LM_OK;
    char src[64], *head, *tail;
    snprintf(src, sizeof src, "%.*s", (int)(strchr(name, '-') - name), name);
    LM_TRY(prompt_render(c->data.prompt, src, strchr(name, '-') + 1, &head, &tail));
    LmStatus st = prompt_encode(tok, head, ids, &n);
    p->n_prefix = n;
    p->middle = ids + n;
    if (st == LM_OK) st = prompt_encode(tok, tail, ids, &n);
    p->n_middle = n - p->n_prefix;
    free(head), free(tail);
    return st;
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

LmStatus stream_open_config(Stream *s, const Config *c, Tokenizer *tok, const char *name,
                            const char *split, int vocab_size, int shuffle) {
    int32_t ids[PROMPT_IDS_MAX];
    StreamPrompt p;
    LM_TRY(prompt_tokens(c, tok, name, ids, &p));
    return stream_open(s, c->data.corpus, name, split, vocab_size, &p, (uint64_t)c->train.seed,
                       shuffle, !strcmp(c->data.overlong, "truncate"));
}

// A Hugging Face model directory carries its tokenizer.json.
static LmStatus dir_tokenizer(const char *dir, Tokenizer *tok, int *found) {
    char path[CFG_STR + 32];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    struct stat sb;
    *found = stat(path, &sb) == 0;
    return *found ? tokenizer_open(dir, "model", tok) : LM_OK;
}

LmStatus ckpt_tokenizer(const char *path, Tokenizer *tok, int *found) {
    tokenizer_init(tok);
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) return dir_tokenizer(path, tok, found);
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
    if (*found) st = tokenizer_load(f, "tokenizer", tok, what);
    free(type);
    H5Fclose(f);
    return st;
}

LmStatus tokenizers_match(const Tokenizer *corpus_tok, const char *corpus,
                          const Tokenizer *ckpt_tok, const char *ckpt) {
    if (!strcmp(corpus_tok->hash, ckpt_tok->hash)) return LM_OK;
    lm_error("corpus %s has another tokenizer (hash %s) than checkpoint %s (hash %s)", corpus,
             corpus_tok->hash, ckpt, ckpt_tok->hash);
    lm_hint("use the corpus the model was trained on (its /tokenizer is copied into every "
            "checkpoint), or build the corpus with prep.tokenizer set to the model");
    return LM_ERUNTIME;
}

LmStatus corpus_check_tokenizer(const char *corpus, const char *ckpt) {
    Tokenizer a, b;
    int has;
    tokenizer_init(&a);
    LmStatus st = ckpt_tokenizer(ckpt, &b, &has);
    if (st == LM_OK && has) st = corpus_tokenizer(corpus, &a);
    if (st == LM_OK && has) st = tokenizers_match(&a, corpus, &b, ckpt);
    if (st == LM_OK && !has && comm_rank() == 0)
        fprintf(stderr, "warning: checkpoint %s carries no tokenizer, so nothing shows that corpus "
                "%s was built with the model's tokenizer\n", ckpt, corpus);
    tokenizer_free(&a), tokenizer_free(&b);
    return st;
}
