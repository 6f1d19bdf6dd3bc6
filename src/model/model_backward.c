// Backward pass of the decoder. a->dx carries dL/d(residual stream) from
// the top down; each block adds its branch's contribution. Weight gradients
// go only to the non-NULL tensors of g, and the pass stops at
// opts->stop_layer, so selective finetuning and neuron detection pay only
// for what they need.
#include <string.h>

#include "model/block.h"
#include "model/dims.h"
#include "model/gemm.h"
#include "model/layers.h"
#include "model/model.h"

static void zero(float *p, size_t n) { memset(p, 0, n * sizeof(float)); }

// (N,F) -> (N,A): the columns of the active neurons.
static void gather_cols(float *out, const float *src, int N, int F, const int *idx, int A) {
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++)
        for (int j = 0; j < A; j++) out[(size_t)n * A + j] = src[(size_t)n * F + idx[j]];
}

// db[j] += sum over rows of x[:, idx[j]] (idx NULL: every column). Each
// column is summed in row order: the result does not depend on threads.
static void colsum_add(float *db, const float *x, int N, int F, const int *idx, int A) {
#pragma omp parallel for schedule(static)
    for (int j = 0; j < A; j++) {
        size_t col = (size_t)(idx ? idx[j] : j);
        float s = 0;
        for (int n = 0; n < N; n++) s += x[(size_t)n * F + col];
        db[j] += s;
    }
}

// out (n,C) += G^T (n,N) @ X (N,C), G = the block's columns of src (N,F).
static void block_grad(float *out, float *G, const float *src, const float *X, Dims d,
                       const FfnBlock *b) {
    gather_cols(G, src, d.N, d.F, b->neuron, b->n);
    gemm(CblasTrans, CblasNoTrans, b->n, d.C, d.N, 1.0f, G, b->n, X, d.C,
                1.0f, out, d.C);
}

// Weight gradients of the blocks' neurons only: their columns of h, dgate
// and dup gathered into (N,n), then one sgemm per matrix and block. Uses
// a->dh as scratch (free once the activation's backward has run); for
// bloom a->dgate holds dL/d(pre-activation), whose column sums are the
// up-bias gradient.
static void ffn_select_grads(const Acts *a, int l, Dims d, const FfnGrad *fg, const BackwardOpts *o) {
    for (int c = 0; c < (fg->n_chunk > 0 ? fg->n_chunk : 1); c++) {
        if (o->grad_hook) o->grad_hook(o->grad_ctx, l, c, 0);  // points fg->block at chunk c
        for (int k = 0; k < fg->n_block; k++) {
            const FfnBlock *b = &fg->block[k];
            if (b->n == 0) continue;
            block_grad(b->d_down, a->dh, a->h[l], a->dx, d, b);    // h^T dL/dx[l+1]
            block_grad(b->d_up, a->dh, a->dup, a->xn2[l], d, b);   // dup^T xn2
            if (b->d_gate) block_grad(b->d_gate, a->dh, a->dgate, a->xn2[l], d, b);
            if (b->d_up_bias) colsum_add(b->d_up_bias, a->dgate, d.N, d.F, b->neuron, b->n);
        }
        if (o->grad_hook) o->grad_hook(o->grad_ctx, l, c, 1);
    }
}

// dh -> dgate, dup (dL/d bias-free products) and dc; bloom's up-bias
// gradient.
static void ffn_act_backward(const Model *m, Acts *a, int l, Dims d, LayerWeights *gw) {
    const LayerParams *w = &m->w.layers[l];
    const FfnRoute *rt = block_route(m, l);
    const FfnPacked *pk = block_packed(m, l);
    ActRoute ar = {rt ? rt->cls : NULL, a->route_c[l], rt ? rt->scale : 0.0f};
    size_t NF = (size_t)d.N * d.F;
    zero(a->dup, NF);
    zero(a->dc, (size_t)d.N);
    if (m->cfg.architecture == ARCH_BLOOM) {
        const float *bias = pk ? packed_up_bias(w, pk, d.F, a->pk_bias) : w->up_bias;
        gelu_backward(a->dup, a->dgate, a->dc, a->dh, a->up[l], bias, d.N, d.F, rt ? &ar : NULL);
        if (gw->up_bias) colsum_add(gw->up_bias, a->dgate, d.N, d.F, NULL, d.F);
        return;
    }
    zero(a->dgate, NF);
    swiglu_backward(a->dgate, a->dup, a->dc, a->dh, a->gate[l], a->up[l], d.N, d.F, rt ? &ar : NULL);
}

// In: a->dx = dL/dx[l+1]. Out: a->dx = dL/dxmid[l] (if need_dx).
static void ffn_block_backward(const Model *m, Acts *a, int l, Dims d, LayerWeights *gw,
                               const BackwardOpts *o, int need_dx) {
    const ModelConfig *c = &m->cfg;
    const LayerParams *w = &m->w.layers[l];
    const FfnRoute *rt = block_route(m, l);
    const FfnGrad *fg = o->ffn ? &o->ffn[l] : NULL;
    float *const *u = block_lora_bufs(m, a, l);
    const FfnPacked *pk = block_packed(m, l);
    zero(a->dh, (size_t)d.N * d.F);
    if (pk)  // the neurons' weights are packed: none of the layer's FFN tensors is trained
        packed_down_backward(a->dh, a->dx, w->down_proj, pk, d.N, d.F, d.C, a->pk_b);
    else
        block_linear_backward(m, l, LORA_DOWN, a->dh, gw->down_proj, gw->down_bias, a->dx, a->h[l],
                              w->down_proj, d.N, d.F, d.C, o->lora, u, a->lora_t);
    if (o->ffn_hook) o->ffn_hook(o->hook_ctx, l, a->h[l], a->dh, d.N, d.F);
    ffn_act_backward(m, a, l, d, gw);
    if (fg && fg->n_block) ffn_select_grads(a, l, d, fg, o);
    int need_dxn = need_dx || gw->post_attention_layernorm || gw->post_attention_layernorm_bias;
    float *dxn = need_dxn ? a->dxn : NULL;  // (N,C)
    if (dxn) zero(dxn, (size_t)d.N * d.C);
    if (pk) {
        if (c->architecture != ARCH_BLOOM)
            packed_proj_backward(dxn, a->dgate, w->gate_proj, pk, pk->gate, d.N, d.C, d.F, a->pk_a, a->pk_b);
        packed_proj_backward(dxn, a->dup, w->up_proj, pk, pk->up, d.N, d.C, d.F, a->pk_a, a->pk_b);
    } else {
        if (c->architecture != ARCH_BLOOM)
            block_linear_backward(m, l, LORA_GATE, dxn, gw->gate_proj, NULL, a->dgate, a->xn2[l],
                                  w->gate_proj, d.N, d.C, d.F, o->lora, u, a->lora_t);
        block_linear_backward(m, l, LORA_UP, dxn, gw->up_proj, NULL, a->dup, a->xn2[l], w->up_proj,
                              d.N, d.C, d.F, o->lora, u, a->lora_t);
    }
    if (rt)
        route_backward(dxn, fg ? fg->d_route_w : NULL, fg ? fg->d_route_b : NULL, a->dc,
                       a->route_c[l], a->xn2[l], rt->w, rt->scale, d.N, d.C);
    if (dxn)
        block_norm_backward(c, need_dx ? a->dx : NULL, gw->post_attention_layernorm,
                            gw->post_attention_layernorm_bias, dxn, a->xmid[l], a->mean2[l],
                            a->rstd2[l], w->post_attention_layernorm, d.N);
}

static int attn_has_grads(const LayerWeights *g, const LoraGrad *lg, int l) {
    for (int t = LORA_Q; lg && t <= LORA_O; t++)
        if (lg[(size_t)l * LORA_N + t].dA) return 1;
    return g->input_layernorm || g->input_layernorm_bias || g->q_proj || g->q_bias ||
           g->k_proj || g->k_bias || g->v_proj || g->v_bias || g->qkv || g->qkv_bias ||
           g->o_proj || g->o_bias;
}

// In: a->dx = dL/dxmid[l]. Out: a->dx = dL/dx[l] (if need_dx).
static void attn_block_backward(const Model *m, Acts *a, int l, Dims d, LayerWeights *gw,
                                const LoraGrad *lg, int need_dx) {
    const ModelConfig *c = &m->cfg;
    const LayerParams *w = &m->w.layers[l];
    float *const *u = block_lora_bufs(m, a, l);
    int b = a->b, t = a->t;
    zero(a->dctx, (size_t)d.N * d.QD);
    block_linear_backward(m, l, LORA_O, a->dctx, gw->o_proj, gw->o_bias, a->dx, a->ctx[l],
                          w->o_proj, d.N, d.QD, d.C, lg, u, a->lora_t);
    zero(a->dq, (size_t)d.N * d.QD);
    zero(a->dk, (size_t)d.N * d.KD);
    zero(a->dv, (size_t)d.N * d.KD);
    AttnScratch s = {a->datt, (size_t)t * t, a->datt_slices};
    attention_backward(a->dq, a->dk, a->dv, s, a->dctx, a->att[l], a->q[l], a->k[l],
                       a->v[l], b, t, d.H, d.KV, d.D);
    if (a->rope_cos) {
        rope_backward(a->dq, a->rope_cos, a->rope_sin, d.N, t, d.H, d.D);
        rope_backward(a->dk, a->rope_cos, a->rope_sin, d.N, t, d.KV, d.D);
    }
    int need_dxn = need_dx || gw->input_layernorm || gw->input_layernorm_bias;
    float *dxn = need_dxn ? a->dxn : NULL;  // (N,C)
    if (dxn) zero(dxn, (size_t)d.N * d.C);
    block_qkv_backward(m, l, gw, lg, dxn, a->dq, a->dk, a->dv, a->xn1[l], a->qkv, u, a->lora_t,
                       d.N);
    if (dxn)
        block_norm_backward(c, need_dx ? a->dx : NULL, gw->input_layernorm,
                            gw->input_layernorm_bias, dxn, a->x[l], a->mean1[l], a->rstd1[l],
                            w->input_layernorm, d.N);
}

// dL/dlogits (in a->logits; chunked: dL/dxf in a->dxf) -> a->dx = dL/dx[L].
static void head_backward(const Model *m, Acts *a, Dims d, ModelWeights *g) {
    int L = m->cfg.num_hidden_layers;
    if (a->ce_chunk) {
        memcpy(a->dxn, a->dxf, sizeof(float) * (size_t)d.N * d.C);
        if (g->lm_head) head_backward_chunked(m, a, g->lm_head);
    } else {
        zero(a->dxn, (size_t)d.N * d.C);
        linear_backward(a->dxn, g->lm_head, NULL, a->logits, a->xf, m->w.lm_head, d.N, d.C, d.V);
    }
    zero(a->dx, (size_t)d.N * d.C);
    block_norm_backward(&m->cfg, a->dx, g->norm, g->norm_bias, a->dxn, a->x[L], a->meanf,
                        a->rstdf, m->w.norm, d.N);
}

static int embed_has_grads(const ModelWeights *g) {
    return g->embed_tokens || g->embed_norm || g->embed_norm_bias;
}

// a->dx = dL/dx[0] -> the embedding (through bloom's embedding norm).
static void embed_backward(const Model *m, Acts *a, Dims d, ModelWeights *g, const int *tokens) {
    const float *demb = a->dx;
    if (m->cfg.architecture == ARCH_BLOOM) {
        zero(a->dxn, (size_t)d.N * d.C);
        layernorm_backward(g->embed_tokens ? a->dxn : NULL, g->embed_norm, g->embed_norm_bias,
                           a->dx, a->emb, a->mean_e, a->rstd_e, m->w.embed_norm, d.N, d.C);
        demb = a->dxn;
    }
    if (g->embed_tokens) embedding_backward(g->embed_tokens, demb, tokens, d.N, d.C);
}

void model_backward(const Model *m, Acts *a, const int *tokens, ModelWeights *g,
                    const BackwardOpts *opts) {
    static const BackwardOpts none = {0};
    const BackwardOpts *o = opts ? opts : &none;
    Dims d = dims_of(&m->cfg, a->b, a->t);
    int embed = o->stop_layer == 0 && embed_has_grads(g), L = m->cfg.num_hidden_layers;
    if (o->grad_hook) o->grad_hook(o->grad_ctx, L, -1, 0);
    head_backward(m, a, d, g);
    if (o->grad_hook) o->grad_hook(o->grad_ctx, L, -1, 1);
    for (int l = m->cfg.num_hidden_layers - 1; l >= o->stop_layer; l--) {
        LayerWeights *gw = &g->layers[l];
        // Below the stop layer nothing needs gradients, so the stop layer
        // itself only propagates as far as its own trainable tensors need.
        int below = l > o->stop_layer || (l == 0 && embed);
        int attn = below || attn_has_grads(gw, o->lora, l);
        // the shared buffers still hold the top layer from the forward pass
        if (a->recompute && l < L - 1) model_layer_forward(m, a, l);
        if (o->grad_hook) o->grad_hook(o->grad_ctx, l, -1, 0);
        ffn_block_backward(m, a, l, d, gw, o, attn);
        if (attn) attn_block_backward(m, a, l, d, gw, o->lora, below);
        if (o->grad_hook) o->grad_hook(o->grad_ctx, l, -1, 1);
    }
    if (embed) embed_backward(m, a, d, g, tokens);
}
