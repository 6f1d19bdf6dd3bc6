// Backward pass of the llama-family decoder. a->dx carries dL/d(residual
// stream) from the top down; each block adds its branch's contribution.
// Weight gradients go only to the non-NULL tensors of g, and the pass stops
// at opts->stop_layer, so selective finetuning and neuron detection pay
// only for what they need.
#include <string.h>

#include "model/dims.h"
#include "model/layers.h"
#include "model/model.h"

static void zero(float *p, size_t n) { memset(p, 0, n * sizeof(float)); }

// In: a->dx = dL/dx[l+1]. Out: a->dx = dL/dxmid[l] (if need_dx).
static void ffn_block_backward(const Model *m, Acts *a, int l, Dims d, LayerWeights *gw,
                               const BackwardOpts *o, int need_dx) {
    const LayerWeights *w = &m->w.layers[l];
    size_t NF = (size_t)d.N * d.F;
    zero(a->dh, NF);
    linear_backward(a->dh, gw->down_proj, NULL, a->dx, a->h[l], w->down_proj, d.N, d.F, d.C);
    if (o->ffn_hook) o->ffn_hook(o->hook_ctx, l, a->h[l], a->dh, d.N, d.F);
    zero(a->dgate, NF);
    zero(a->dup, NF);
    swiglu_backward(a->dgate, a->dup, a->dh, a->gate[l], a->up[l], (long)NF);
    int need_dxn = need_dx || gw->post_attention_layernorm;
    float *dxn = need_dxn ? a->dxn : NULL;  // (N,C)
    if (dxn) zero(dxn, (size_t)d.N * d.C);
    linear_backward(dxn, gw->gate_proj, NULL, a->dgate, a->xn2[l], w->gate_proj, d.N, d.C, d.F);
    linear_backward(dxn, gw->up_proj, NULL, a->dup, a->xn2[l], w->up_proj, d.N, d.C, d.F);
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
