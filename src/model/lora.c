// LoRA branch of a linear layer: y += (alpha / r) B (A x). The rank r is
// small, so the branch costs two thin sgemms per direction; the frozen W
// is untouched (its product runs in linear.c).
#include <stddef.h>

#include "model/gemm.h"
#include "model/layers.h"

void lora_forward(float *y, float *u, const float *x, const float *A, const float *B,
                  float scale, int N, int in, int out, int r) {
    // u (N,r) = x (N,in) @ A^T (in,r)
    gemm(CblasNoTrans, CblasTrans, N, r, in, 1.0f, x, in, A, in, 0.0f, u, r);
    // y (N,out) += scale u (N,r) @ B^T (r,out)
    gemm(CblasNoTrans, CblasTrans, N, out, r, scale, u, r, B, r, 1.0f, y, out);
}

void lora_backward(float *dx, float *dA, float *dB, float *t, const float *dy, const float *x,
                   const float *u, const float *A, const float *B, float scale, int N, int in,
                   int out, int r) {
    if (dB)  // dB (out,r) += scale dy^T (out,N) @ u (N,r)
        gemm(CblasTrans, CblasNoTrans, out, r, N, scale, dy, out, u, r,
                    1.0f, dB, r);
    if (!dA && !dx) return;
    // t (N,r) = dy (N,out) @ B (out,r)
    gemm(CblasNoTrans, CblasNoTrans, N, r, out, 1.0f, dy, out, B, r, 0.0f, t, r);
    if (dA)  // dA (r,in) += scale t^T (r,N) @ x (N,in)
        gemm(CblasTrans, CblasNoTrans, r, in, N, scale, t, r, x, in, 1.0f,
                    dA, in);
    if (dx)  // dx (N,in) += scale t (N,r) @ A (r,in)
        gemm(CblasNoTrans, CblasNoTrans, N, in, r, scale, t, r, A, in, 1.0f,
                    dx, in);
}

// The tensor a target adapts in layer l, made float32 (merging writes it).
static float *lora_weight(Model *m, int l, LoraTarget t) {
    static const size_t slot[LORA_N] = {
        [LORA_Q] = offsetof(LayerParams, q_proj),       [LORA_K] = offsetof(LayerParams, k_proj),
        [LORA_V] = offsetof(LayerParams, v_proj),       [LORA_QKV] = offsetof(LayerParams, qkv),
        [LORA_O] = offsetof(LayerParams, o_proj),       [LORA_GATE] = offsetof(LayerParams, gate_proj),
        [LORA_UP] = offsetof(LayerParams, up_proj),     [LORA_DOWN] = offsetof(LayerParams, down_proj)};
    int i = model_tensor_at(m, l, slot[t]);
    model_tensor_to_f32(m, i);
    return model_tensor_f32(m, i);
}

void model_lora_merge(Model *m) {
    const LoraSet *s = m->lora;
    for (int l = 0; s && l < m->cfg.num_hidden_layers; l++)
        for (int t = 0; t < LORA_N; t++) {
            const LoraPair *p = &s->at[(size_t)l * LORA_N + t];
            if (!p->A) continue;
            int in, out;
            model_lora_dims(&m->cfg, (LoraTarget)t, &in, &out);
            // W (out,in) += scale B (out,r) @ A (r,in)
            gemm(CblasNoTrans, CblasNoTrans, out, in, s->rank, s->scale,
                        p->B, s->rank, p->A, in, 1.0f, lora_weight(m, l, (LoraTarget)t), in);
        }
    m->lora = NULL;
}

void model_lora_dims(const ModelConfig *c, LoraTarget t, int *in, int *out) {
    int C = c->hidden_size, F = c->intermediate_size, QD = c->num_attention_heads * c->head_dim;
    int KD = c->num_key_value_heads * c->head_dim;
    const int io[LORA_N][2] = {[LORA_Q] = {C, QD},      [LORA_K] = {C, KD},
                               [LORA_V] = {C, KD},      [LORA_QKV] = {C, 3 * QD},
                               [LORA_O] = {QD, C},      [LORA_GATE] = {C, F},
                               [LORA_UP] = {C, F},      [LORA_DOWN] = {F, C}};
    *in = io[t][0], *out = io[t][1];
}
