// Forward / backward pairs for each layer type of the transformer.
// Conventions: row-major; N = B*T rows (one per token); every backward
// ACCUMULATES (+=) into its outputs, and skips any output passed as NULL
// (that is how frozen tensors get no weight gradient).
#ifndef LM_LAYERS_H
#define LM_LAYERS_H

#include "model/model.h"

// y (N,out) = x (N,in) @ W^T + b;  W (out,in) as in HF / torch.nn.Linear.
// W is read in blocks of rows (16-bit blocks widened to float32 first); a
// float32 W goes through the same blocks, so both give the same result.
void linear_forward(float *y, const float *x, Mat W, const float *b, int N, int in, int out);
// dx (N,in) += dy @ W;  dW (out,in) += dy^T @ x;  db (out) += colsum(dy).
void linear_backward(float *dx, float *dW, float *db, const float *dy, const float *x, Mat W,
                     int N, int in, int out);
// A float32 matrix as a Mat.
static inline Mat mat_f32(const float *p) { return (Mat){(void *)p, DTYPE_F32}; }

// LoRA branch of a linear (model.h): u (N,r) = x (N,in) @ A^T,
// y (N,out) += scale * u @ B^T.
void lora_forward(float *y, float *u, const float *x, const float *A, const float *B,
                  float scale, int N, int in, int out, int r);
// With t = dy @ B (N,r): dB (out,r) += scale dy^T u, dA (r,in) += scale
// t^T x, dx (N,in) += scale t A. Any output may be NULL. t (N,r) scratch.
void lora_backward(float *dx, float *dA, float *dB, float *t, const float *dy, const float *x,
                   const float *u, const float *A, const float *B, float scale, int N, int in,
                   int out, int r);

// y = w * x / rms(x); rstd (N) saved for backward.
void rmsnorm_forward(float *y, float *rstd, const float *x, const float *w,
                     int N, int C, float eps);
void rmsnorm_backward(float *dx, float *dw, const float *dy, const float *x,
                      const float *rstd, const float *w, int N, int C);

// y = w * (x - mean) / sqrt(var + eps) + b; mean, rstd (N) saved.
void layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *w,
                       const float *b, int N, int C, float eps);
void layernorm_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                        const float *mean, const float *rstd, const float *w, int N, int C);

// Rotary embedding in place on (N, heads*D), HF rotate_half pairing
// (i, i + D/2); row n sits at position n % T. Tables (T, D/2) of positions
// 0..T-1 with c's frequencies (rope_theta, llama3 rope_scaling).
void rope_tables(float *cos_t, float *sin_t, int T, int D, const ModelConfig *c);
void rope_forward(float *x, const float *cos_t, const float *sin_t,
                  int N, int T, int heads, int D);
// Rotates gradients back (the transpose of the forward rotation), in place.
void rope_backward(float *dx, const float *cos_t, const float *sin_t,
                   int N, int T, int heads, int D);
// rope_forward with row n at absolute position pos[n] (incremental
// decoding); the tables must cover every position.
void rope_forward_at(float *x, const float *cos_t, const float *sin_t, const int *pos, int N,
                     int heads, int D);

// BLOOM's ALiBi slopes for H heads (any H, not only powers of two).
void alibi_slopes(float *slopes, int H);

// Per-thread scratch of the attention kernels: slices of `stride` floats,
// one per thread; at most `slices` threads work at once.
typedef struct {
    float *p;
    size_t stride;
    int slices;
} AttnScratch;

// Causal grouped-query attention. q (B,T,H*D), k/v (B,T,KV*D),
// att (B,H,T,T) softmax probabilities, ctx (B,T,H*D). The (sequence, head)
// pairs run in parallel over the OpenMP threads, each with single-threaded
// sgemms (attention.c): the result does not depend on the thread count.
void attention_forward(float *ctx, float *att, const float *q, const float *k,
                       const float *v, int B, int T, int H, int KV, int D, const AttnMask *mk);
// Incremental decoding: attention of the new queries of `rows` sequences
// over their caches, in parallel over (row, head). Row r has n[r] new
// queries at positions p0[r] .. p0[r]+n[r]-1, the rows back to back in q
// and ctx (sum n, H*D); k[r], v[r] (p0[r]+n[r], KV*D) hold its keys and
// values so far; query i sees keys 0 .. p0[r]+i. Scratch slices of
// max over r of n[r] * (p0[r] + n[r]) floats.
void attention_forward_cached(float *ctx, AttnScratch s, const float *q, float *const *k,
                              float *const *v, const int *n, const int *p0, int rows, int H,
                              int KV, int D, const AttnMask *mk);
// dq += ..., dk += ..., dv += ..., in parallel over (sequence, key/value
// head). Scratch slices of T*T floats.
void attention_backward(float *dq, float *dk, float *dv, AttnScratch s, const float *dctx,
                        const float *att, const float *q, const float *k, const float *v, int B,
                        int T, int H, int KV, int D);

// FFN activations. Each of the F columns is one FFN neuron (DESIGN §3).
// With CAR routing (DESIGN §4.5) the input of neuron i on row n is scaled
// by s = c[n] for general neurons, scale - c[n] for the micro-batch
// direction's specific neurons and 1 for the rest. Scaling a neuron's
// input scales its pre-activations without their bias, so the kernels take
// the bias-free products z = W x and add the bias themselves.
typedef struct {
    const unsigned char *cls;  // (F) NEURON_REST / NEURON_GENERAL / NEURON_SPECIFIC
    const float *c;            // (N) gate value per row
    float scale;
} ActRoute;

// Scale of neuron i on row n (1 without routing).
static inline float act_route_scale(const ActRoute *r, int n, int i) {
    if (!r) return 1.0f;
    unsigned char k = r->cls[i];
    return k == NEURON_GENERAL ? r->c[n] : k == NEURON_SPECIFIC ? r->scale - r->c[n] : 1.0f;
}

// SwiGLU (llama): h = silu(s*gate) * (s*up), all (N,F); no biases.
void swiglu_forward(float *h, const float *gate, const float *up, int N, int F,
                    const ActRoute *r);
// dgate += s * dL/d(s*gate), dup likewise; with routing also
// dc[n] += dL/dc[n] (dc may be NULL without routing).
void swiglu_backward(float *dgate, float *dup, float *dc, const float *dh, const float *gate,
                     const float *up, int N, int F, const ActRoute *r);

// GELU, tanh form (BLOOM): h = gelu(s*z + b), z (N,F) = W x, b (F).
void gelu_forward(float *h, const float *z, const float *b, int N, int F, const ActRoute *r);
// dpre (N,F) = dL/d(s*z + b) (overwritten: its column sums are the bias
// gradient); dz += s * dpre; with routing dc[n] += dL/dc[n].
void gelu_backward(float *dz, float *dpre, float *dc, const float *dh, const float *z,
                   const float *b, int N, int F, const ActRoute *r);

// The routing gate: c (N) = scale * sigmoid(x (N,C) . w + b).
void route_forward(float *c, const float *x, const float *w, float b, float scale, int N, int C);
// From dc: dw (C) += sum dz x, db += sum dz, dx (N,C) += dz w (dx may be
// NULL), with dz = dc * c * (1 - c / scale).
void route_backward(float *dx, float *dw, float *db, const float *dc, const float *c,
                    const float *x, const float *w, float scale, int N, int C);

// x (N,C) = E[tokens]; dE[tokens[n]] += dx[n].
void embedding_forward(float *x, Mat E, const int *tokens, int N, int C);
void embedding_backward(float *dE, const float *dx, const int *tokens, int N, int C);

// Weighted cross-entropy; logits (N,V) are overwritten by
// dloss * weight[n] * (softmax - onehot(target)). Returns sum w*ce in
// *loss_sum and the count of non-zero weights in *n_tokens.
void crossentropy_forward_backward(float *logits, const int *targets,
                                   const float *weight, float dloss, int N,
                                   int V, double *loss_sum, double *n_tokens);

#endif
