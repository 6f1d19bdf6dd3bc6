// A micro-batch as the model consumes it: b rows of t tokens, the next-token
// targets and per-position loss weights (0 = not a loss position).
#ifndef LM_BATCH_H
#define LM_BATCH_H

typedef struct {
    const int *tokens;    // (b,t)
    const int *targets;   // (b,t)
    const float *weight;  // (b,t)
    int b, t;
} Batch;

// Owned storage for a Batch of up to cap rows of up to T tokens.
typedef struct {
    int *tokens, *targets;
    float *weight;
    int *len;       // (cap) positions of each row; 0 = a skipped example
    int cap, T;
    Batch batch;
} BatchBuf;

void batchbuf_init(BatchBuf *bb, int cap, int T);
void batchbuf_free(BatchBuf *bb);

#endif
