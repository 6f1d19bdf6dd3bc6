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

// A linear of layer l with its LoRA adapter (target t) when the model has
// one: y (N,out) = x W^T + b (+ scale B A x, with A x kept in u[t] (N,r)).
// u is the layer's [LORA_N] adapter buffers (may be NULL without LoRA).
void block_linear_forward(const Model *m, int l, LoraTarget t, float *y, float *const *u,
                          const float *x, Mat W, const float *b, int N, int in, int out);
// Its backward: dx (N,in) += ..., dW, db as linear_backward; the adapter's
// gradients into lg[l * LORA_N + t] when given. scratch (N,r).
void block_linear_backward(const Model *m, int l, LoraTarget t, float *dx, float *dW, float *db,
                           const float *dy, const float *x, Mat W, int N, int in, int out,
                           const LoraGrad *lg, float *const *u, float *scratch);

// q (N,H*D), k, v (N,KV*D) of normalised inputs xn, biases included, no
// positions yet. qkv (N, 3*H*D) is scratch for the fused projection.
void block_qkv_forward(const Model *m, int l, const float *xn, float *q, float *k, float *v,
                       float *qkv, float *const *u, int N);
// dxn (N,C) += dL/dxn (dxn may be NULL); weight and bias gradients into the
// non-NULL pointers of gw, adapter gradients into lg. dqkv (N, 3*H*D) and
// scratch (N,r) are scratch.
void block_qkv_backward(const Model *m, int l, LayerWeights *gw, const LoraGrad *lg, float *dxn,
                        const float *dq, const float *dk, const float *dv, const float *xn,
                        float *dqkv, float *const *u, float *scratch, int N);

// Scratch for layers with packed neurons (ffn_packed.c): (N,F) x 2, (F).
typedef struct {
    float *a, *b, *bias;
} FfnScratch;

// FFN of normalised inputs xn (N,C): gate, up (N,F) bias-free products
// (gate unused by bloom), h (N,F) neuron activations, route_c (N) the CAR
// gate when layer l is routed; out (N,C) = down(h) + down bias. pk: scratch
// for a layer with packed neurons (NULL where the model has none).
void block_ffn_forward(const Model *m, int l, const float *xn, float *gate, float *up, float *h,
                       float *route_c, float *const *u, float *out, int N, const FfnScratch *pk);

// Layers with packed neurons (ffn_packed.c; FfnPacked in model.h).
const FfnPacked *block_packed(const Model *m, int l);
void packed_proj_forward(float *z, const float *xn, Mat W, const FfnPacked *pk, const float *rows,
                         int N, int C, int F, float *tmp);
void packed_proj_backward(float *dxn, const float *dz, Mat W, const FfnPacked *pk, const float *rows,
                          int N, int C, int F, float *tmp_nf, float *tmp_nn);
void packed_down_forward(float *out, const float *h, Mat Wd, const float *bd, const FfnPacked *pk,
                         int N, int F, int C, float *tmp_nf, float *tmp_nn);
void packed_down_backward(float *dh, const float *dy, Mat Wd, const FfnPacked *pk, int N, int F, int C,
                          float *tmp_nn);
// The layer's up bias with the packed neurons' entries (in buf), or the
// tensor itself when there are none.
const float *packed_up_bias(const LayerParams *w, const FfnPacked *pk, int F, float *buf);

// Layer l's adapter buffers in a (NULL without adapters).
float *const *block_lora_bufs(const Model *m, const Acts *a, int l);
// The adapter of layer l, target t, or NULL.
const LoraPair *block_lora(const Model *m, int l, LoraTarget t);

// Chunked cross-entropy (head.c, Acts.ce_chunk): the logits of the loss
// rows only, ce_chunk rows at a time. head_loss_chunked fills a->dxf with
// dL/d(final norm output); head_backward_chunked adds the head weight's
// gradient (lm_head (V,C) += dlogits^T xf), recomputing each chunk.
void head_loss_chunked(const Model *m, Acts *a, const int *targets, const float *weight,
                       float dloss, double *loss_sum, double *n_tokens);
void head_backward_chunked(const Model *m, Acts *a, float *d_lm_head);

// The CAR route of layer l for the kernels, or NULL when the layer is plain.
const FfnRoute *block_route(const Model *m, int l);

#endif
