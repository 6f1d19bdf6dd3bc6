// Family-dependent pieces of a transformer block (block.h).
#include "model/block.h"

#include <string.h>

void block_norm_forward(const ModelConfig *c, float *y, float *mean, float *rstd, const float *x,
                        const float *w, const float *b, int N) {
    if (c->architecture == ARCH_BLOOM)
        layernorm_forward(y, mean, rstd, x, w, b, N, c->hidden_size, c->norm_eps);
    else
        rmsnorm_forward(y, rstd, x, w, N, c->hidden_size, c->norm_eps);
}

void block_norm_backward(const ModelConfig *c, float *dx, float *dw, float *db, const float *dy,
                         const float *x, const float *mean, const float *rstd, const float *w,
                         int N) {
    if (c->architecture == ARCH_BLOOM)
        layernorm_backward(dx, dw, db, dy, x, mean, rstd, w, N, c->hidden_size);
    else
        rmsnorm_backward(dx, dw, dy, x, rstd, w, N, c->hidden_size);
}

void block_embed_forward(const Model *m, float *x0, float *emb, float *mean, float *rstd,
                         const int *tokens, int N) {
    int C = m->cfg.hidden_size;
    if (m->cfg.architecture != ARCH_BLOOM) {
        embedding_forward(x0, m->w.embed_tokens, tokens, N, C);  // (N,C)
        return;
    }
    embedding_forward(emb, m->w.embed_tokens, tokens, N, C);  // (N,C)
    layernorm_forward(x0, mean, rstd, emb, m->w.embed_norm, m->w.embed_norm_bias, N, C,
                      m->cfg.norm_eps);
}

// The fused projection's row block of head h is [q_h, k_h, v_h] (D rows
// each): split = 1 copies (N,3*H*D) out to q, k, v; split = 0 gathers them
// back (for the gradient).
static void qkv_shuffle(float *qkv, float *q, float *k, float *v, int N, int H, int D, int split) {
    size_t row = (size_t)3 * H * D, sz = sizeof(float) * (size_t)D;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        for (int h = 0; h < H; h++) {
            float *f = qkv + n * row + (size_t)h * 3 * D;
            size_t o = (size_t)n * H * D + (size_t)h * D;
            float *parts[3] = {q + o, k + o, v + o};
            for (int p = 0; p < 3; p++) {
                if (split) memcpy(parts[p], f + (size_t)p * D, sz);
                else memcpy(f + (size_t)p * D, parts[p], sz);
            }
        }
    }
}

float *const *block_lora_bufs(const Model *m, const Acts *a, int l) {
    return m->lora ? a->lora_u + (size_t)l * LORA_N : NULL;
}

const LoraPair *block_lora(const Model *m, int l, LoraTarget t) {
    if (!m->lora) return NULL;
    const LoraPair *p = &m->lora->at[(size_t)l * LORA_N + t];
    return p->A ? p : NULL;
}

void block_linear_forward(const Model *m, int l, LoraTarget t, float *y, float *const *u,
                          const float *x, Mat W, const float *b, int N, int in, int out) {
    linear_forward(y, x, W, b, N, in, out);
    const LoraPair *p = block_lora(m, l, t);
    if (p) lora_forward(y, u[t], x, p->A, p->B, m->lora->scale, N, in, out, m->lora->rank);
}

void block_linear_backward(const Model *m, int l, LoraTarget t, float *dx, float *dW, float *db,
                           const float *dy, const float *x, Mat W, int N, int in, int out,
                           const LoraGrad *lg, float *const *u, float *scratch) {
    linear_backward(dx, dW, db, dy, x, W, N, in, out);
    const LoraPair *p = block_lora(m, l, t);
    if (!p) return;
    const LoraGrad *g = lg ? &lg[(size_t)l * LORA_N + t] : NULL;
    lora_backward(dx, g ? g->dA : NULL, g ? g->dB : NULL, scratch, dy, x, u[t], p->A, p->B,
                  m->lora->scale, N, in, out, m->lora->rank);
}

void block_qkv_forward(const Model *m, int l, const float *xn, float *q, float *k, float *v,
                       float *qkv, float *const *u, int N) {
    const ModelConfig *c = &m->cfg;
    const LayerParams *w = &m->w.layers[l];
    int C = c->hidden_size, H = c->num_attention_heads, D = c->head_dim;
    int QD = H * D, KD = c->num_key_value_heads * D;
    if (c->architecture == ARCH_BLOOM) {
        block_linear_forward(m, l, LORA_QKV, qkv, u, xn, w->qkv, w->qkv_bias, N, C, 3 * QD);
        qkv_shuffle(qkv, q, k, v, N, H, D, 1);  // (N,3*H*D) -> (N,H*D) x 3
        return;
    }
    block_linear_forward(m, l, LORA_Q, q, u, xn, w->q_proj, w->q_bias, N, C, QD);  // (N,H*D)
    block_linear_forward(m, l, LORA_K, k, u, xn, w->k_proj, w->k_bias, N, C, KD);  // (N,KV*D)
    block_linear_forward(m, l, LORA_V, v, u, xn, w->v_proj, w->v_bias, N, C, KD);  // (N,KV*D)
}

void block_qkv_backward(const Model *m, int l, LayerWeights *gw, const LoraGrad *lg, float *dxn,
                        const float *dq, const float *dk, const float *dv, const float *xn,
                        float *dqkv, float *const *u, float *scratch, int N) {
    const ModelConfig *c = &m->cfg;
    const LayerParams *w = &m->w.layers[l];
    int C = c->hidden_size, H = c->num_attention_heads, D = c->head_dim;
    int QD = H * D, KD = c->num_key_value_heads * D;
    if (c->architecture == ARCH_BLOOM) {
        // joining only reads q, k, v
        qkv_shuffle(dqkv, (float *)dq, (float *)dk, (float *)dv, N, H, D, 0);
        block_linear_backward(m, l, LORA_QKV, dxn, gw->qkv, gw->qkv_bias, dqkv, xn, w->qkv, N, C,
                              3 * QD, lg, u, scratch);
        return;
    }
    block_linear_backward(m, l, LORA_Q, dxn, gw->q_proj, gw->q_bias, dq, xn, w->q_proj, N, C, QD,
                          lg, u, scratch);
    block_linear_backward(m, l, LORA_K, dxn, gw->k_proj, gw->k_bias, dk, xn, w->k_proj, N, C, KD,
                          lg, u, scratch);
    block_linear_backward(m, l, LORA_V, dxn, gw->v_proj, gw->v_bias, dv, xn, w->v_proj, N, C, KD,
                          lg, u, scratch);
}

const FfnRoute *block_route(const Model *m, int l) {
    return m->route && m->route[l].cls ? &m->route[l] : NULL;
}

// The FFN of a layer whose trained neurons are packed (block_packed).
static void ffn_forward_packed(const Model *m, int l, const float *xn, float *gate, float *up,
                               float *h, const ActRoute *ar, float *out, int N, const FfnScratch *s) {
    const ModelConfig *c = &m->cfg;
    const LayerParams *w = &m->w.layers[l];
    const FfnPacked *pk = block_packed(m, l);
    int C = c->hidden_size, F = c->intermediate_size;
    packed_proj_forward(up, xn, w->up_proj, pk, pk->up, N, C, F, s->a);  // (N,F)
    if (c->architecture == ARCH_BLOOM) {
        gelu_forward(h, up, packed_up_bias(w, pk, F, s->bias), N, F, ar);
    } else {
        packed_proj_forward(gate, xn, w->gate_proj, pk, pk->gate, N, C, F, s->a);  // (N,F)
        swiglu_forward(h, gate, up, N, F, ar);
    }
    packed_down_forward(out, h, w->down_proj, w->down_bias, pk, N, F, C, s->a, s->b);  // (N,C)
}

void block_ffn_forward(const Model *m, int l, const float *xn, float *gate, float *up, float *h,
                       float *route_c, float *const *u, float *out, int N, const FfnScratch *pk) {
    const ModelConfig *c = &m->cfg;
    const LayerParams *w = &m->w.layers[l];
    const FfnRoute *rt = block_route(m, l);
    int C = c->hidden_size, F = c->intermediate_size;
    ActRoute ar = {rt ? rt->cls : NULL, route_c, rt ? rt->scale : 0.0f};
    if (rt) route_forward(route_c, xn, rt->w, *rt->b, rt->scale, N, C);
    if (block_packed(m, l)) {
        ffn_forward_packed(m, l, xn, gate, up, h, rt ? &ar : NULL, out, N, pk);
        return;
    }
    // (N,F) bias-free: the activation adds the bias after routing's scale
    block_linear_forward(m, l, LORA_UP, up, u, xn, w->up_proj, NULL, N, C, F);
    if (c->architecture == ARCH_BLOOM) {
        gelu_forward(h, up, w->up_bias, N, F, rt ? &ar : NULL);
    } else {
        block_linear_forward(m, l, LORA_GATE, gate, u, xn, w->gate_proj, NULL, N, C, F);  // (N,F)
        swiglu_forward(h, gate, up, N, F, rt ? &ar : NULL);
    }
    block_linear_forward(m, l, LORA_DOWN, out, u, h, w->down_proj, w->down_bias, N, F, C);  // (N,C)
}
