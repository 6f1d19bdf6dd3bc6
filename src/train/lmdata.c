#include "train/lmdata.h"

#include <stdlib.h>
#include <string.h>

#include "mpi/comm.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/rng.h"

LmStatus lmdata_init(LmData *d, const TokenStream *s, int bos, int eos, int T, uint64_t seed,
                     int64_t min_windows, const char *what) {
    memset(d, 0, sizeof *d);
    d->len = s->offsets[s->n] + 2 * s->n;
    d->stream = xmalloc(sizeof(int32_t) * (size_t)(d->len ? d->len : 1));
    int64_t p = 0;
    for (int64_t i = 0; i < s->n; i++) {
        d->stream[p++] = bos;
        for (int64_t j = s->offsets[i]; j < s->offsets[i + 1]; j++) d->stream[p++] = s->tokens[j];
        d->stream[p++] = eos;
    }
    d->T = T;
    d->seed = seed;
    d->n_windows = d->len > 1 ? (d->len - 1 + T - 1) / T : 0;
    if (d->n_windows < min_windows) {
        lm_error("%s has %lld tokens = %lld windows of seq_len %d, fewer than the %lld one batch needs",
                 what, (long long)d->len, (long long)d->n_windows, T, (long long)min_windows);
        lm_hint("use a larger corpus, or lower train.batch_size / train.seq_len");
        lmdata_free(d);
        return LM_ERUNTIME;
    }
    d->perm = xmalloc(sizeof(int64_t) * (size_t)d->n_windows);
    d->epoch = -1;
    return LM_OK;
}

void lmdata_free(LmData *d) {
    free(d->stream);
    free(d->perm);
    memset(d, 0, sizeof *d);
}

void batchbuf_init(BatchBuf *bb, int cap, int T) {
    bb->cap = cap;
    bb->tokens = xcalloc((size_t)cap * T, sizeof(int));
    bb->targets = xcalloc((size_t)cap * T, sizeof(int));
    bb->weight = xcalloc((size_t)cap * T, sizeof(float));
    bb->batch = (Batch){bb->tokens, bb->targets, bb->weight, 0, T};
}

void batchbuf_free(BatchBuf *bb) {
    free(bb->tokens), free(bb->targets), free(bb->weight);
    memset(bb, 0, sizeof *bb);
}

static void ensure_epoch(LmData *d, int64_t epoch, int shuffle) {
    if (d->epoch == epoch) return;
    Rng r;
    rng_seed(&r, d->seed * 1000003ull + (uint64_t)epoch);
    if (shuffle) rng_permute(&r, d->perm, d->n_windows);
    else for (int64_t i = 0; i < d->n_windows; i++) d->perm[i] = i;
    d->epoch = epoch;
}

// Window w: inputs stream[w*T + i], targets stream[w*T + i + 1]; positions
// past the end of the stream are padding with weight 0.
static void fill_window(const LmData *d, int64_t w, int *tok, int *tgt, float *wt) {
    int64_t base = w * d->T;
    for (int i = 0; i < d->T; i++) {
        int64_t p = base + i;
        int ok = p + 1 < d->len;
        tok[i] = p < d->len ? d->stream[p] : 0;
        tgt[i] = ok ? d->stream[p + 1] : 0;
        wt[i] = ok ? 1.0f : 0.0f;
    }
}

void lmdata_next(LmData *d, int64_t *epoch, int64_t *cursor, int global_batch, int shuffle,
                 BatchBuf *bb) {
    if (*cursor + global_batch > d->n_windows) {
        (*epoch)++;
        *cursor = 0;
    }
    ensure_epoch(d, *epoch, shuffle);
    int R = comm_size(), r = comm_rank();
    int lo = (int)((int64_t)global_batch * r / R), hi = (int)((int64_t)global_batch * (r + 1) / R);
    int T = d->T;
    for (int i = lo; i < hi; i++) {
        int k = i - lo;
        fill_window(d, d->perm[*cursor + i], bb->tokens + (size_t)k * T,
                    bb->targets + (size_t)k * T, bb->weight + (size_t)k * T);
    }
    bb->batch.b = hi - lo;
    bb->batch.t = T;
    *cursor += global_batch;
}
