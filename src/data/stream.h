// One training stream (a direction or a monolingual language) read as
// examples in a reproducible global order.
//
// Order: the sentences are cut into blocks of STREAM_BLOCK consecutive
// sentences; each epoch visits the blocks in a permutation and the
// sentences of each block in a permutation, both drawn from (seed, stream
// name, epoch[, block]). The order is the same on every rank and needs no
// communication, and reading it touches one block (one hyperslab per side)
// at a time. A global micro-batch is G consecutive positions of that order;
// rank r of R takes positions [G*r/R, G*(r+1)/R). The cursor (epoch,
// position) is the whole state: restoring it resumes the same examples.
#ifndef LM_STREAM_H
#define LM_STREAM_H

#include <stdint.h>

#include "data/batch.h"
#include "io/corpus.h"

#define STREAM_BLOCK 256

typedef struct {
    int64_t block;          // cached block id, -1 = none
    int64_t epoch;
    int64_t n;              // sentences in it
    int64_t *perm;          // (n) visiting order within the block
    int64_t *src_off, *tgt_off;  // (n+1) local offsets
    int32_t *src, *tgt;     // tokens
} StreamBlock;

typedef struct {
    char name[64];          // "de-en" or "en"
    CorpusReader rd;
    int32_t *prefix, *middle;  // [bos] head tokens; tail tokens (empty for mono)
    int n_prefix, n_middle;
    int eos;
    uint64_t seed;          // mixed with the name
    int shuffle;            // 0 = natural order (validation)
    int truncate;           // overlong examples: 1 truncate, 0 skip
    int64_t n_blocks;
    int64_t *block_order;   // (n_blocks) of order_epoch
    int64_t *block_pos;     // (n_blocks+1) first position of each ordered block
    int64_t order_epoch;
    StreamBlock cache[2];
    int64_t epoch, cursor;  // next global position
    int64_t n_overlong;     // examples skipped or truncated (this rank)
} Stream;

typedef struct {
    const int32_t *prefix, *middle;
    int n_prefix, n_middle, eos;
} StreamPrompt;

LmStatus stream_open(Stream *s, const char *corpus, const char *name, const char *split,
                     int vocab_size, const StreamPrompt *p, uint64_t seed, int shuffle,
                     int truncate);
void stream_close(Stream *s);

// Rank `rank` of `ranks`'s share of the next global micro-batch of g
// examples (g is cut to the stream's size), padded to the longest row (at
// most T tokens); advances the cursor, starting the next epoch when fewer
// than g positions remain in this one.
LmStatus stream_next(Stream *s, int g, int T, int rank, int ranks, BatchBuf *bb);

#endif
