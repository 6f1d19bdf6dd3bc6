// Language-model examples from a monolingual token stream: sentences become
// "<bos> s <eos>" back to back, cut into windows of T+1 tokens (inputs are
// the first T, targets the last T). The order of windows is one global
// permutation per epoch drawn from (seed, epoch), identical on every rank;
// rank r takes a fixed slice of each global batch. A cursor (epoch, index)
// is all the state needed to resume the data order exactly.
#ifndef LM_LMDATA_H
#define LM_LMDATA_H

#include <stdint.h>

#include "io/corpus.h"
#include "train/step.h"

typedef struct {
    int32_t *stream;    // packed tokens
    int64_t len;
    int T;
    int64_t n_windows;
    uint64_t seed;
    int64_t epoch;      // epoch of perm
    int64_t *perm;      // (n_windows) order of this epoch
} LmData;

// Fails (LM_ERUNTIME) when the stream holds fewer than min_windows windows;
// `what` names the corpus stream in that message.
LmStatus lmdata_init(LmData *d, const TokenStream *s, int bos, int eos, int T, uint64_t seed,
                     int64_t min_windows, const char *what);
void lmdata_free(LmData *d);

// Buffers for one rank's share of a global batch.
typedef struct {
    int *tokens, *targets;
    float *weight;
    int cap;            // sequences
    Batch batch;
} BatchBuf;
void batchbuf_init(BatchBuf *bb, int cap, int T);
void batchbuf_free(BatchBuf *bb);

// Fills this rank's slice of the global batch that starts at *cursor of
// *epoch (global_batch windows) and advances the cursor, moving to the next
// epoch when fewer than global_batch windows remain. shuffle = 0 keeps the
// natural order (validation).
void lmdata_next(LmData *d, int64_t *epoch, int64_t *cursor, int global_batch, int shuffle,
                 BatchBuf *bb);

#endif
