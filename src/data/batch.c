#include "data/batch.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

void batchbuf_init(BatchBuf *bb, int cap, int T) {
    bb->cap = cap, bb->T = T;
    bb->tokens = xcalloc((size_t)cap * T + 1, sizeof(int));
    bb->targets = xcalloc((size_t)cap * T + 1, sizeof(int));
    bb->weight = xcalloc((size_t)cap * T + 1, sizeof(float));
    bb->len = xcalloc((size_t)cap + 1, sizeof(int));
    bb->batch = (Batch){bb->tokens, bb->targets, bb->weight, 0, T};
}

void batchbuf_free(BatchBuf *bb) {
    free(bb->tokens), free(bb->targets), free(bb->weight), free(bb->len);
    memset(bb, 0, sizeof *bb);
}
