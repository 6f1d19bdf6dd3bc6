// The training streams of a run: every data.directions entry and every
// data.mono language (or data.lang alone when both are empty), each with
// its train and validation Stream, its loss weight, and the prompt tokens
// built with the corpus tokenizer. One optimizer step takes one
// micro-batch of train.batch_size examples from every stream.
#ifndef LM_STREAMS_H
#define LM_STREAMS_H

#include "data/stream.h"
#include "io/config.h"
#include "train/step.h"

typedef struct {
    int n;
    Stream *train, *valid;  // [n]
    double *weight;         // [n]
    BatchBuf *buf;          // [n]
    Batch *micro;           // [n] the micro-batches of the current step
    int local_rows;         // rows per micro-batch on this rank (max)
} StreamSet;

LmStatus streamset_open(StreamSet *ss, const Config *cfg, int vocab_size);

void streamset_close(StreamSet *ss);

// Fills ss->micro with this rank's share of the next micro-batch of every
// stream.
LmStatus streamset_next(StreamSet *ss, const Config *cfg);

// Validation loss of stream i over up to train.eval_batches micro-batches
// of its validation split, always the same examples (natural order from the
// start); global loss sum and token count.
LmStatus streamset_validate(StreamSet *ss, int i, const Config *cfg, Trainer *tr,
                            double *loss_sum, double *n_tokens);

#endif
