// Backward pass of the llama-family decoder. a->dx carries dL/d(residual
// stream) from the top down; each block adds its branch's contribution.
// Weight gradients go only to the non-NULL tensors of g, and the pass stops
// at opts->stop_layer, so selective finetuning and neuron detection pay
// only for what they need.
#include <cblas.h>
#include <string.h>

#include "model/dims.h"
#include "model/layers.h"
#include "model/model.h"

static void zero(float *p, size_t n) { memset(p, 0, n * sizeof(float)); }

// (N,F) -> (N,A): the columns of the active neurons.
static void gather_cols(float *out, const float *src, int N, int F, const int *idx, int A) {
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++)
        for (int j = 0; j < A; j++) out[(size_t)n * A + j] = src[(size_t)n * F + idx[j]];
}

// Weight gradients of the blocks' neurons only: their columns of h, dgate
// and dup gathered into (N,n), then one sgemm per matrix and block. Uses
// a->dh as scratch (free once swiglu_backward has run).
static void ffn_select_grads(const Acts *a, int l, Dims d, const FfnGrad *fg) {
    float *G = a->dh;  // (N,n)
    for (int k = 0; k < fg->n_block; k++) {
        const FfnBlock *b = &fg->block[k];
        if (b->n == 0) continue;
        // d_down (n,C) += h_n^T (n,N) @ dL/dx[l+1] (N,C)
        gather_cols(G, a->h[l], d.N, d.F, b->neuron, b->n);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, b->n, d.C, d.N, 1.0f, G, b->n, a->dx,
                    d.C, 1.0f, b->d_down, d.C);
        // d_gate (n,C) += dgate_n^T (n,N) @ xn2 (N,C); d_up likewise
        gather_cols(G, a->dgate, d.N, d.F, b->neuron, b->n);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, b->n, d.C, d.N, 1.0f, G, b->n,
                    a->xn2[l], d.C, 1.0f, b->d_gate, d.C);
        gather_cols(G, a->dup, d.N, d.F, b->neuron, b->n);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, b->n, d.C, d.N, 1.0f, G, b->n,
                    a->xn2[l], d.C, 1.0f, b->d_up, d.C);
    }
}

// In: a->dx = dL/dx[l+1]. Out: a->dx = dL/dxmid[l] (if need_dx).
static void ffn_block_backward(const Model *m, Acts *a, int l, Dims d, LayerWeights *gw,
                               const BackwardOpts *o, int need_dx) {
    const LayerWeights *w = &m->w.layers[l];
    const FfnRoute *rt = m->route && m->route[l].cls ? &m->route[l] : NULL;
    const FfnGrad *fg = o->ffn ? &o->ffn[l] : NULL;
    size_t NF = (size_t)d.N * d.F;
    zero(a->dh, NF);
    linear_backward(a->dh, gw->down_proj, NULL, a->dx, a->h[l], w->down_proj, d.N, d.F, d.C);
    if (o->ffn_hook) o->ffn_hook(o->hook_ctx, l, a->h[l], a->dh, d.N, d.F);
    zero(a->dgate, NF);
    zero(a->dup, NF);
    zero(a->dc, (size_t)d.N);
    SwigluRoute sr = {rt ? rt->cls : NULL, a->route_c[l], rt ? rt->scale : 0.0f};
    swiglu_backward(a->dgate, a->dup, a->dc, a->dh, a->gate[l], a->up[l], d.N, d.F, rt ? &sr : NULL);
    if (fg && fg->n_block) ffn_select_grads(a, l, d, fg);
    int need_dxn = need_dx || gw->post_attention_layernorm;
    float *dxn = need_dxn ? a->dxn : NULL;  // (N,C)
    if (dxn) zero(dxn, (size_t)d.N * d.C);
    linear_backward(dxn, gw->gate_proj, NULL, a->dgate, a->xn2[l], w->gate_proj, d.N, d.C, d.F);
    linear_backward(dxn, gw->up_proj, NULL, a->dup, a->xn2[l], w->up_proj, d.N, d.C, d.F);
    if (rt)
        route_backward(dxn, fg ? fg->d_route_w : NULL, fg ? fg->d_route_b : NULL, a->dc,
                       a->route_c[l], a->xn2[l], rt->w, rt->scale, d.N, d.C);
    if (dxn)
        rmsnorm_backward(need_dx ? a->dx : NULL, gw->post_attention_layernorm, dxn, a->xmid[l],
                         a->rstd2[l], w->post_attention_layernorm, d.N, d.C);
}

static int attn_has_grads(const LayerWeights *g) {
    return g->input_layernorm || g->q_proj || g->q_bias || g->k_proj || g->k_bias ||
           g->v_proj || g->v_bias || g->o_proj;
}

// In: a->dx = dL/dxmid[l]. Out: a->dx = dL/dx[l] (if need_dx).
static void attn_block_backward(const Model *m, Acts *a, int l, Dims d, LayerWeights *gw,
                                int need_dx) {
    const LayerWeights *w = &m->w.layers[l];
    int b = a->b, t = a->t;
    zero(a->dctx, (size_t)d.N * d.QD);
    linear_backward(a->dctx, gw->o_proj, NULL, a->dx, a->ctx[l], w->o_proj, d.N, d.QD, d.C);
    zero(a->dq, (size_t)d.N * d.QD);
    zero(a->dk, (size_t)d.N * d.KD);
    zero(a->dv, (size_t)d.N * d.KD);
    attention_backward(a->dq, a->dk, a->dv, a->datt, a->dctx, a->att[l], a->q[l], a->k[l],
                       a->v[l], b, t, d.H, d.KV, d.D);
    rope_backward(a->dq, a->rope_cos, a->rope_sin, d.N, t, d.H, d.D);
    rope_backward(a->dk, a->rope_cos, a->rope_sin, d.N, t, d.KV, d.D);
    int need_dxn = need_dx || gw->input_layernorm;
    float *dxn = need_dxn ? a->dxn : NULL;  // (N,C)
    if (dxn) zero(dxn, (size_t)d.N * d.C);
    linear_backward(dxn, gw->q_proj, gw->q_bias, a->dq, a->xn1[l], w->q_proj, d.N, d.C, d.QD);
    linear_backward(dxn, gw->k_proj, gw->k_bias, a->dk, a->xn1[l], w->k_proj, d.N, d.C, d.KD);
    linear_backward(dxn, gw->v_proj, gw->v_bias, a->dv, a->xn1[l], w->v_proj, d.N, d.C, d.KD);
    if (dxn)
        rmsnorm_backward(need_dx ? a->dx : NULL, gw->input_layernorm, dxn, a->x[l], a->rstd1[l],
                         w->input_layernorm, d.N, d.C);
}

// dL/dlogits (in a->logits) -> a->dx = dL/dx[L].
static void head_backward(const Model *m, Acts *a, Dims d, ModelWeights *g) {
    int L = m->cfg.num_hidden_layers;
    zero(a->dxn, (size_t)d.N * d.C);
    linear_backward(a->dxn, g->lm_head, NULL, a->logits, a->xf, m->w.lm_head, d.N, d.C, d.V);
    zero(a->dx, (size_t)d.N * d.C);
    rmsnorm_backward(a->dx, g->norm, a->dxn, a->x[L], a->rstdf, m->w.norm, d.N, d.C);
}

void model_backward(const Model *m, Acts *a, const int *tokens, ModelWeights *g,
                    const BackwardOpts *opts) {
    static const BackwardOpts none = {0};
    const BackwardOpts *o = opts ? opts : &none;
    Dims d = dims_of(&m->cfg, a->b, a->t);
    head_backward(m, a, d, g);
    for (int l = m->cfg.num_hidden_layers - 1; l >= o->stop_layer; l--) {
        LayerWeights *gw = &g->layers[l];
        // Below the stop layer nothing needs gradients, so the stop layer
        // itself only propagates as far as its own trainable tensors need.
        int below = l > o->stop_layer || (l == 0 && g->embed_tokens);
        int attn = below || attn_has_grads(gw);
        ffn_block_backward(m, a, l, d, gw, o, attn);
        if (attn) attn_block_backward(m, a, l, d, gw, below);
    }
    if (o->stop_layer == 0 && g->embed_tokens)
        embedding_backward(g->embed_tokens, a->dx, tokens, d.N, d.C);
}
