#include "train/streams.h"

#include <stdlib.h>
#include <string.h>

#include "data/prompt.h"
#include "io/h5.h"
#include "mpi/comm.h"
#include "tokenizer/bpe.h"
#include "util/alloc.h"

// Stream names: directions, then mono languages; data.lang when none.
static int stream_names(const Config *c, const char **names) {
    int n = 0;
    for (int i = 0; i < c->data.directions.n; i++) names[n++] = c->data.directions.item[i];
    for (int i = 0; i < c->data.mono.n; i++) names[n++] = c->data.mono.item[i];
    if (n == 0) names[n++] = c->data.lang;
    return n;
}

static LmStatus tokenizer_of(const char *corpus, BpeTokenizer *tok) {
    hid_t f;
    int version;
    char what[CFG_STR + 16];
    snprintf(what, sizeof what, "corpus %s", corpus);
    LM_TRY(h5_open_format(corpus, CORPUS_FORMAT, CORPUS_VERSION, &f, &version));
    LmStatus st = bpe_load(f, "tokenizer", tok, what);
    H5Fclose(f);
    return st;
}

// [bos] head ... tail for a direction; [bos] alone for a language.
static LmStatus prompt_tokens(const Config *c, BpeTokenizer *tok, const char *name,
                              int32_t *ids, StreamPrompt *p) {
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

static LmStatus open_one(StreamSet *ss, int i, const Config *c, const char *name, int vocab,
                         BpeTokenizer *tok) {
    int32_t ids[CFG_STR * 4 + 2];  // a template of < CFG_STR bytes, names expanded
    StreamPrompt p;
    LM_TRY(prompt_tokens(c, tok, name, ids, &p));
    int truncate = !strcmp(c->data.overlong, "truncate");
    uint64_t seed = (uint64_t)c->train.seed;
    LM_TRY(stream_open(&ss->train[i], c->data.corpus, name, c->data.train_split, vocab, &p, seed, 1,
                       truncate));
    LM_TRY(stream_open(&ss->valid[i], c->data.corpus, name, c->data.valid_split, vocab, &p, seed, 0,
                       truncate));
    ss->weight[i] = c->data.weights.n ? c->data.weights.v[i] : 1.0;
    batchbuf_init(&ss->buf[i], ss->local_rows, c->train.seq_len);
    return LM_OK;
}

LmStatus streamset_open(StreamSet *ss, const Config *c, int vocab_size) {
    const char *names[2 * CFG_LIST_MAX + 1];
    memset(ss, 0, sizeof *ss);
    ss->n = stream_names(c, names);
    ss->train = xcalloc((size_t)ss->n, sizeof(Stream));
    ss->valid = xcalloc((size_t)ss->n, sizeof(Stream));
    ss->weight = xcalloc((size_t)ss->n, sizeof(double));
    ss->buf = xcalloc((size_t)ss->n, sizeof(BatchBuf));
    ss->micro = xcalloc((size_t)ss->n, sizeof(Batch));
    ss->local_rows = (c->train.batch_size + comm_size() - 1) / comm_size();
    BpeTokenizer tok;
    bpe_init(&tok);
    LmStatus st = tokenizer_of(c->data.corpus, &tok);
    for (int i = 0; st == LM_OK && i < ss->n; i++) st = open_one(ss, i, c, names[i], vocab_size, &tok);
    bpe_free(&tok);
    return st;
}

void streamset_close(StreamSet *ss) {
    for (int i = 0; i < ss->n; i++) {
        if (ss->train[i].block_order) stream_close(&ss->train[i]);
        if (ss->valid[i].block_order) stream_close(&ss->valid[i]);
        if (ss->buf[i].tokens) batchbuf_free(&ss->buf[i]);
    }
    free(ss->train), free(ss->valid), free(ss->weight), free(ss->buf), free(ss->micro);
    memset(ss, 0, sizeof *ss);
}

LmStatus streamset_next(StreamSet *ss, const Config *c) {
    for (int i = 0; i < ss->n; i++) {
        LM_TRY(stream_next(&ss->train[i], c->train.batch_size, c->train.seq_len, comm_rank(),
                           comm_size(), &ss->buf[i]));
        ss->micro[i] = ss->buf[i].batch;
    }
    return LM_OK;
}

LmStatus streamset_validate(StreamSet *ss, int i, const Config *c, Trainer *tr,
                            double *loss_sum, double *n_tokens) {
    Stream *v = &ss->valid[i];
    int g = c->train.batch_size < v->rd.n ? c->train.batch_size : (int)v->rd.n;
    int64_t batches = v->rd.n / g < c->train.eval_batches ? v->rd.n / g : c->train.eval_batches;
    v->epoch = 0, v->cursor = 0;
    *loss_sum = *n_tokens = 0;
    for (int64_t k = 0; k < batches; k++) {
        double ls, nt;
        LM_TRY(stream_next(v, g, c->train.seq_len, comm_rank(), comm_size(), &ss->buf[i]));
        trainer_eval(tr, &ss->buf[i].batch, &ls, &nt);
        *loss_sum += ls, *n_tokens += nt;
    }
    return LM_OK;
}
