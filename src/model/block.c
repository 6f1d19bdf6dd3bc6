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

void block_qkv_forward(const ModelConfig *c, const LayerWeights *w, const float *xn, float *q,
                       float *k, float *v, float *qkv, int N) {
    int C = c->hidden_size, H = c->num_attention_heads, D = c->head_dim;
    int QD = H * D, KD = c->num_key_value_heads * D;
    if (c->architecture == ARCH_BLOOM) {
        linear_forward(qkv, xn, w->qkv, w->qkv_bias, N, C, 3 * QD);  // (N,3*H*D)
        qkv_shuffle(qkv, q, k, v, N, H, D, 1);
        return;
    }
    linear_forward(q, xn, w->q_proj, w->q_bias, N, C, QD);  // (N,H*D)
    linear_forward(k, xn, w->k_proj, w->k_bias, N, C, KD);  // (N,KV*D)
    linear_forward(v, xn, w->v_proj, w->v_bias, N, C, KD);  // (N,KV*D)
}

void block_qkv_backward(const ModelConfig *c, const LayerWeights *w, LayerWeights *gw, float *dxn,
                        const float *dq, const float *dk, const float *dv, const float *xn,
                        float *dqkv, int N) {
    int C = c->hidden_size, H = c->num_attention_heads, D = c->head_dim;
    int QD = H * D, KD = c->num_key_value_heads * D;
    if (c->architecture == ARCH_BLOOM) {
        qkv_shuffle(dqkv, (float *)dq, (float *)dk, (float *)dv, N, H, D, 0);
        linear_backward(dxn, gw->qkv, gw->qkv_bias, dqkv, xn, w->qkv, N, C, 3 * QD);
        return;
    }
    linear_backward(dxn, gw->q_proj, gw->q_bias, dq, xn, w->q_proj, N, C, QD);
    linear_backward(dxn, gw->k_proj, gw->k_bias, dk, xn, w->k_proj, N, C, KD);
    linear_backward(dxn, gw->v_proj, gw->v_bias, dv, xn, w->v_proj, N, C, KD);
}

const FfnRoute *block_route(const Model *m, int l) {
    return m->route && m->route[l].cls ? &m->route[l] : NULL;
}

void block_ffn_forward(const ModelConfig *c, const LayerWeights *w, const FfnRoute *rt,
                       const float *xn, float *gate, float *up, float *h, float *route_c,
                       float *out, int N) {
    int C = c->hidden_size, F = c->intermediate_size;
    ActRoute ar = {rt ? rt->cls : NULL, route_c, rt ? rt->scale : 0.0f};
    if (rt) route_forward(route_c, xn, rt->w, *rt->b, rt->scale, N, C);
    linear_forward(up, xn, w->up_proj, NULL, N, C, F);  // (N,F), bias added by the activation
    if (c->architecture == ARCH_BLOOM) {
        gelu_forward(h, up, w->up_bias, N, F, rt ? &ar : NULL);
    } else {
        linear_forward(gate, xn, w->gate_proj, NULL, N, C, F);  // (N,F)
        swiglu_forward(h, gate, up, N, F, rt ? &ar : NULL);
    }
    linear_forward(out, h, w->down_proj, w->down_bias, N, F, C);  // (N,C)
}
