// The pieces of a transformer block that differ between families, shared
// by the training forward/backward (model.c, model_backward.c) and the
// cached decoding forward (kvcache.c), so both run the same model:
//   llama  RMSNorm; q/k/v/o projections (optional biases); SwiGLU FFN;
//   bloom  LayerNorm with bias; fused query_key_value split per head into
//          q, k, v; GELU FFN with biases; LayerNorm after the embedding.
// Positions (rotary vs ALiBi) are applied by the callers, which know where
// each token sits.
#ifndef LM_BLOCK_H
#define LM_BLOCK_H

#include "model/layers.h"
#include "model/model.h"

// y (N,C) = norm(x) with weight w and bias b (bloom); mean (bloom) and
// rstd (N) are kept for the backward pass.
void block_norm_forward(const ModelConfig *c, float *y, float *mean, float *rstd, const float *x,
                        const float *w, const float *b, int N);
void block_norm_backward(const ModelConfig *c, float *dx, float *dw, float *db, const float *dy,
                         const float *x, const float *mean, const float *rstd, const float *w,
                         int N);

// x0 (N,C) = embedding of tokens; bloom then normalises it (emb (N,C)
// keeps the raw rows, mean/rstd (N) the statistics).
void block_embed_forward(const Model *m, float *x0, float *emb, float *mean, float *rstd,
                         const int *tokens, int N);

// q (N,H*D), k, v (N,KV*D) of normalised inputs xn, biases included, no
// positions yet. qkv (N, 3*H*D) is scratch for the fused projection.
void block_qkv_forward(const ModelConfig *c, const LayerWeights *w, const float *xn, float *q,
                       float *k, float *v, float *qkv, int N);
// dxn (N,C) += dL/dxn (dxn may be NULL); weight and bias gradients into the
// non-NULL pointers of gw. dqkv (N, 3*H*D) is scratch.
void block_qkv_backward(const ModelConfig *c, const LayerWeights *w, LayerWeights *gw, float *dxn,
                        const float *dq, const float *dk, const float *dv, const float *xn,
                        float *dqkv, int N);

// FFN of normalised inputs xn (N,C): gate, up (N,F) bias-free products
// (gate unused by bloom), h (N,F) neuron activations, route_c (N) the CAR
// gate when rt routes this layer; out (N,C) = down(h) + down bias.
void block_ffn_forward(const ModelConfig *c, const LayerWeights *w, const FfnRoute *rt,
                       const float *xn, float *gate, float *up, float *h, float *route_c,
                       float *out, int N);

// The CAR route of layer l for the kernels, or NULL when the layer is plain.
const FfnRoute *block_route(const Model *m, int l);

#endif
