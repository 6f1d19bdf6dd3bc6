// Derived sizes of one forward/backward call, shared by model.c and
// model_backward.c (see model.h for the letter conventions).
#ifndef LM_DIMS_H
#define LM_DIMS_H
#include "model/model.h"

typedef struct { int N, C, F, V, H, KV, D, QD, KD; } Dims;

static inline Dims dims_of(const ModelConfig *c, int b, int t) {
    Dims d = {.N = b * t, .C = c->hidden_size, .F = c->intermediate_size, .V = c->vocab_size,
              .H = c->num_attention_heads, .KV = c->num_key_value_heads};
    d.D = c->head_dim ? c->head_dim : d.C / d.H;  // unfinished configs (tests) leave it 0
    d.QD = d.H * d.D;
    d.KD = d.KV * d.D;
    return d;
}
#endif
