// The llama-family decoder: composes the layer kernels of layers.h into the
// full forward pass and its backward pass.
#include <string.h>

#include "model/dims.h"
#include "model/layers.h"
#include "model/model.h"
#include <stdlib.h>

#include "util/alloc.h"

static float **falloc_per_layer(int L, size_t n) {
    float **p = xcalloc((size_t)L, sizeof(float *));
    for (int l = 0; l < L; l++) p[l] = falloc(n);
    return p;
}

static void ffree_per_layer(float **p, int L) {
    if (!p) return;
    for (int l = 0; l < L; l++) free(p[l]);
    free(p);
}

void acts_init(Acts *a, const ModelConfig *cfg, int B, int T) {
    memset(a, 0, sizeof *a);
    Dims d = dims_of(cfg, B, T);
    int L = cfg->num_hidden_layers;
    size_t N = (size_t)d.N;
    a->B = B, a->T = T, a->L = L, a->C = d.C;
    a->x = falloc_per_layer(L + 1, N * d.C);
    a->xn1 = falloc_per_layer(L, N * d.C);
    a->rstd1 = falloc_per_layer(L, N);
    a->q = falloc_per_layer(L, N * d.QD);
    a->k = falloc_per_layer(L, N * d.KD);
    a->v = falloc_per_layer(L, N * d.KD);
    a->att = falloc_per_layer(L, (size_t)B * d.H * T * T);
    a->ctx = falloc_per_layer(L, N * d.QD);
    a->xmid = falloc_per_layer(L, N * d.C);
    a->xn2 = falloc_per_layer(L, N * d.C);
    a->rstd2 = falloc_per_layer(L, N);
    a->gate = falloc_per_layer(L, N * d.F);
    a->up = falloc_per_layer(L, N * d.F);
    a->h = falloc_per_layer(L, N * d.F);
    a->route_c = falloc_per_layer(L, N);
    a->xf = falloc(N * d.C);
    a->rstdf = falloc(N);
    a->logits = falloc(N * d.V);
    a->rope_cos = falloc((size_t)T * d.D / 2);
    a->rope_sin = falloc((size_t)T * d.D / 2);
    rope_tables(a->rope_cos, a->rope_sin, T, d.D, cfg->rope_theta);
    a->dx = falloc(N * d.C);
    a->dx2 = falloc(N * d.C);
    a->dxn = falloc(N * d.C);
    a->dq = falloc(N * d.QD);
    a->dk = falloc(N * d.KD);
    a->dv = falloc(N * d.KD);
    a->dctx = falloc(N * d.QD);
    a->datt = falloc((size_t)T * T);
    a->dgate = falloc(N * d.F);
    a->dup = falloc(N * d.F);
    a->dh = falloc(N * d.F);
    a->dc = falloc(N);
}

void acts_free(Acts *a) {
    int L = a->L;
    ffree_per_layer(a->x, L + 1);
    float **per_layer[] = {a->xn1, a->rstd1, a->q, a->k, a->v, a->att, a->ctx,
                           a->xmid, a->xn2, a->rstd2, a->gate, a->up, a->h, a->route_c};
    for (size_t i = 0; i < sizeof per_layer / sizeof *per_layer; i++) ffree_per_layer(per_layer[i], L);
    float *flat[] = {a->xf, a->rstdf, a->logits, a->rope_cos, a->rope_sin, a->dx, a->dx2,
                     a->dxn, a->dq, a->dk, a->dv, a->dctx, a->datt, a->dgate, a->dup, a->dh, a->dc};
    for (size_t i = 0; i < sizeof flat / sizeof *flat; i++) free(flat[i]);
    memset(a, 0, sizeof *a);
}

static void add_inplace(float *y, const float *x, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

// x[l] -> xmid = x[l] + o_proj(attn(rmsnorm(x[l])))
static void attn_block_forward(const ModelConfig *c, const LayerWeights *w, Acts *a, int l,
                               Dims d, int b, int t) {
    rmsnorm_forward(a->xn1[l], a->rstd1[l], a->x[l], w->input_layernorm, d.N, d.C, c->norm_eps);
    linear_forward(a->q[l], a->xn1[l], w->q_proj, w->q_bias, d.N, d.C, d.QD);
    linear_forward(a->k[l], a->xn1[l], w->k_proj, w->k_bias, d.N, d.C, d.KD);
    linear_forward(a->v[l], a->xn1[l], w->v_proj, w->v_bias, d.N, d.C, d.KD);
    rope_forward(a->q[l], a->rope_cos, a->rope_sin, d.N, t, d.H, d.D);
    rope_forward(a->k[l], a->rope_cos, a->rope_sin, d.N, t, d.KV, d.D);
    attention_forward(a->ctx[l], a->att[l], a->q[l], a->k[l], a->v[l], b, t, d.H, d.KV, d.D);
    linear_forward(a->xmid[l], a->ctx[l], w->o_proj, NULL, d.N, d.QD, d.C);
    add_inplace(a->xmid[l], a->x[l], (size_t)d.N * d.C);
}

// xmid -> x[l+1] = xmid + down(silu(gate(n)) * up(n)), n = rmsnorm(xmid);
// with CAR routing the neuron pre-activations are scaled by the gate.
static void ffn_block_forward(const Model *m, Acts *a, int l, Dims d) {
    const ModelConfig *c = &m->cfg;
    const LayerWeights *w = &m->w.layers[l];
    const FfnRoute *rt = m->route && m->route[l].cls ? &m->route[l] : NULL;
    rmsnorm_forward(a->xn2[l], a->rstd2[l], a->xmid[l], w->post_attention_layernorm, d.N, d.C,
                    c->norm_eps);
    linear_forward(a->gate[l], a->xn2[l], w->gate_proj, NULL, d.N, d.C, d.F);
    linear_forward(a->up[l], a->xn2[l], w->up_proj, NULL, d.N, d.C, d.F);
    SwigluRoute sr = {rt ? rt->cls : NULL, a->route_c[l], rt ? rt->scale : 0.0f};
    if (rt) route_forward(a->route_c[l], a->xn2[l], rt->w, *rt->b, rt->scale, d.N, d.C);
    swiglu_forward(a->h[l], a->gate[l], a->up[l], d.N, d.F, rt ? &sr : NULL);
    linear_forward(a->x[l + 1], a->h[l], w->down_proj, NULL, d.N, d.F, d.C);
    add_inplace(a->x[l + 1], a->xmid[l], (size_t)d.N * d.C);
}

void model_forward(const Model *m, Acts *a, const int *tokens, int b, int t) {
    const ModelConfig *c = &m->cfg;
    Dims d = dims_of(c, b, t);
    if (t != a->t) rope_tables(a->rope_cos, a->rope_sin, t, d.D, c->rope_theta);
    a->b = b, a->t = t;
    embedding_forward(a->x[0], m->w.embed_tokens, tokens, d.N, d.C);  // (N,C)
    for (int l = 0; l < c->num_hidden_layers; l++) {
        attn_block_forward(c, &m->w.layers[l], a, l, d, b, t);
        ffn_block_forward(m, a, l, d);
    }
    int L = c->num_hidden_layers;
    rmsnorm_forward(a->xf, a->rstdf, a->x[L], m->w.norm, d.N, d.C, c->norm_eps);
    linear_forward(a->logits, a->xf, m->w.lm_head, NULL, d.N, d.C, d.V);  // (N,V)
}

void model_loss(const Model *m, Acts *a, const int *targets, const float *weight, float dloss,
                double *loss_sum, double *n_tokens) {
    crossentropy_forward_backward(a->logits, targets, weight, dloss, a->b * a->t,
                                  m->cfg.vocab_size, loss_sum, n_tokens);
}
