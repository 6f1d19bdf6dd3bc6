#include "train/streams.h"

#include <stdlib.h>
#include <string.h>

#include "data/open.h"
#include "mpi/comm.h"
#include "tokenizer/tokenizer.h"
#include "util/alloc.h"

// Stream names: directions, then mono languages; data.lang when none.
static int stream_names(const Config *c, const char **names) {
    int n = 0;
    for (int i = 0; i < c->data.directions.n; i++) names[n++] = c->data.directions.item[i];
    for (int i = 0; i < c->data.mono.n; i++) names[n++] = c->data.mono.item[i];
    if (n == 0) names[n++] = c->data.lang;
    return n;
}

static LmStatus open_one(StreamSet *ss, int i, const Config *c, const char *name, int vocab,
                         Tokenizer *tok) {
    LM_TRY(stream_open_config(&ss->train[i], c, tok, name, c->data.train_split, vocab, 1));
    LM_TRY(stream_open_config(&ss->valid[i], c, tok, name, c->data.valid_split, vocab, 0));
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
    Tokenizer tok;
    LmStatus st = corpus_tokenizer(c->data.corpus, &tok);
    for (int i = 0; st == LM_OK && i < ss->n; i++) st = open_one(ss, i, c, names[i], vocab_size, &tok);
    tokenizer_free(&tok);
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
