// The decoder forward pass: embedding, L pre-norm blocks (attention, FFN,
// each added to the residual stream), final norm and head. The pieces that
// differ between families come from block.c; positions are rotary (llama)
// or ALiBi (bloom).
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "model/block.h"
#include "model/dims.h"
#include "model/layers.h"
#include "model/model.h"
#include "util/alloc.h"

// L buffers of n floats, or (shared) one buffer that every layer uses.
static float **falloc_layers(int L, size_t n, int shared) {
    float **p = xcalloc((size_t)L, sizeof(float *));
    for (int l = 0; l < L && n; l++) p[l] = shared && l ? p[0] : falloc(n);
    return p;
}

static void ffree_layers(float **p, int L, int shared) {
    if (!p) return;
    for (int l = 0; l < (shared ? 1 : L); l++) free(p[l]);
    free(p);
}

static void acts_init_positions(Acts *a, const ModelConfig *cfg, Dims d) {
    if (cfg->architecture == ARCH_BLOOM) {
        float *slopes = falloc((size_t)d.H);
        alibi_slopes(slopes, d.H);
        a->mask.alibi = slopes;
        return;
    }
    a->mask.window = cfg->sliding_window;
    a->rope_cos = falloc((size_t)a->T * d.D / 2);
    a->rope_sin = falloc((size_t)a->T * d.D / 2);
    rope_tables(a->rope_cos, a->rope_sin, a->T, d.D, cfg);
}

void acts_init(Acts *a, const ModelConfig *cfg, int B, int T) { acts_init_opts(a, cfg, B, T, NULL); }

// Per-layer activations; with recompute one set serves every layer.
static void acts_init_layers(Acts *a, Dims d, int bloom) {
    int L = a->L, sh = a->recompute;
    size_t N = (size_t)d.N;
    a->x = falloc_layers(L + 1, N * d.C, 0);
    a->xn1 = falloc_layers(L, N * d.C, sh);
    a->mean1 = falloc_layers(L, N, sh);
    a->rstd1 = falloc_layers(L, N, sh);
    a->q = falloc_layers(L, N * d.QD, sh);
    a->k = falloc_layers(L, N * d.KD, sh);
    a->v = falloc_layers(L, N * d.KD, sh);
    a->att = falloc_layers(L, (size_t)a->B * d.H * a->T * a->T, sh);
    a->ctx = falloc_layers(L, N * d.QD, sh);
    a->xmid = falloc_layers(L, N * d.C, sh);
    a->xn2 = falloc_layers(L, N * d.C, sh);
    a->mean2 = falloc_layers(L, N, sh);
    a->rstd2 = falloc_layers(L, N, sh);
    a->gate = falloc_layers(L, bloom ? 0 : N * d.F, sh);
    a->up = falloc_layers(L, N * d.F, sh);
    a->h = falloc_layers(L, N * d.F, sh);
    a->route_c = falloc_layers(L, N, sh);
}

void acts_init_opts(Acts *a, const ModelConfig *cfg, int B, int T, const ActsOpts *o) {
    memset(a, 0, sizeof *a);
    Dims d = dims_of(cfg, B, T);
    int bloom = cfg->architecture == ARCH_BLOOM;
    size_t N = (size_t)d.N;
    a->B = B, a->T = T, a->L = cfg->num_hidden_layers, a->C = d.C;
    a->recompute = o && o->recompute;
    a->ce_chunk = o && o->ce_chunk > 0 ? (o->ce_chunk < d.N ? o->ce_chunk : d.N) : 0;
    acts_init_layers(a, d, bloom);
    if (bloom) a->emb = falloc(N * d.C), a->mean_e = falloc(N), a->rstd_e = falloc(N);
    if (bloom) a->qkv = falloc(N * 3 * d.QD), a->dbias = falloc((size_t)d.F);
    a->xf = falloc(N * d.C);
    a->meanf = falloc(N);
    a->rstdf = falloc(N);
    a->logits = falloc((a->ce_chunk ? (size_t)a->ce_chunk : N) * d.V);
    if (a->ce_chunk) {
        a->ce_rows = xmalloc(sizeof(int) * N);
        a->ce_tg = xmalloc(sizeof(int) * (size_t)a->ce_chunk);
        a->ce_w = falloc((size_t)a->ce_chunk);
        a->ce_x = falloc((size_t)a->ce_chunk * d.C);
        a->dxf = falloc(N * d.C);
    }
    acts_init_positions(a, cfg, d);
    a->dx = falloc(N * d.C);
    a->dx2 = falloc(N * d.C);
    a->dxn = falloc(N * d.C);
    a->dq = falloc(N * d.QD);
    a->dk = falloc(N * d.KD);
    a->dv = falloc(N * d.KD);
    a->dctx = falloc(N * d.QD);
    a->datt_slices = omp_get_max_threads();  // attention_backward: one (T,T) per thread
    a->datt = falloc((size_t)a->datt_slices * T * T);
    a->dgate = falloc(N * d.F);
    a->dup = falloc(N * d.F);
    a->dh = falloc(N * d.F);
    a->dc = falloc(N);
}

void acts_free(Acts *a) {
    int L = a->L, sh = a->recompute;
    ffree_layers(a->x, L + 1, 0);
    float **per_layer[] = {a->xn1, a->mean1, a->rstd1, a->q, a->k, a->v, a->att, a->ctx,
                           a->xmid, a->xn2, a->mean2, a->rstd2, a->gate, a->up, a->h,
                           a->route_c};
    for (size_t i = 0; i < sizeof per_layer / sizeof *per_layer; i++) ffree_layers(per_layer[i], L, sh);
    ffree_layers(a->lora_u, a->lora_rank ? L * LORA_N : 0, sh);
    float *flat[] = {a->lora_t, a->emb, a->mean_e, a->rstd_e, a->xf, a->meanf, a->rstdf,
                     a->logits, a->rope_cos, a->rope_sin, (float *)a->mask.alibi, a->qkv,
                     a->dbias, a->ce_x, a->ce_w, a->dxf, a->pk_a, a->pk_b, a->pk_bias, a->dx, a->dx2, a->dxn, a->dq, a->dk, a->dv,
                     a->dctx, a->datt, a->dgate, a->dup, a->dh, a->dc};
    for (size_t i = 0; i < sizeof flat / sizeof *flat; i++) free(flat[i]);
    free(a->ce_rows), free(a->ce_tg);
    memset(a, 0, sizeof *a);
}

// Scratch for packed FFN neurons, on the first forward that needs it.
static void acts_packed_reserve(Acts *a, const Model *m) {
    if (!m->packed || a->pk_a) return;
    size_t nf = (size_t)a->B * a->T * m->cfg.intermediate_size;
    a->pk_a = falloc(nf), a->pk_b = falloc(nf), a->pk_bias = falloc((size_t)m->cfg.intermediate_size);
}

// Adapter buffers for the model's LoRA rank, on the first forward that
// needs them (acts_init does not know about adapters).
static void acts_lora_reserve(Acts *a, const Model *m) {
    if (!m->lora || a->lora_rank == m->lora->rank) return;
    size_t n = (size_t)a->B * a->T * m->lora->rank;
    ffree_layers(a->lora_u, a->lora_rank ? a->L * LORA_N : 0, a->recompute);
    free(a->lora_t);
    a->lora_u = falloc_layers(a->L * LORA_N, n, a->recompute);
    a->lora_t = falloc(n);
    a->lora_rank = m->lora->rank;
}

static void add_inplace(float *y, const float *x, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

// x[l] -> xmid = x[l] + o_proj(attn(norm(x[l])))
static void attn_block_forward(const Model *m, Acts *a, int l, Dims d, int b, int t) {
    const ModelConfig *c = &m->cfg;
    const LayerParams *w = &m->w.layers[l];
    float *const *u = block_lora_bufs(m, a, l);
    block_norm_forward(c, a->xn1[l], a->mean1[l], a->rstd1[l], a->x[l], w->input_layernorm,
                       w->input_layernorm_bias, d.N);
    block_qkv_forward(m, l, a->xn1[l], a->q[l], a->k[l], a->v[l], a->qkv, u, d.N);
    if (a->rope_cos) {
        rope_forward(a->q[l], a->rope_cos, a->rope_sin, d.N, t, d.H, d.D);
        rope_forward(a->k[l], a->rope_cos, a->rope_sin, d.N, t, d.KV, d.D);
    }
    attention_forward(a->ctx[l], a->att[l], a->q[l], a->k[l], a->v[l], b, t, d.H, d.KV, d.D,
                      &a->mask);
    block_linear_forward(m, l, LORA_O, a->xmid[l], u, a->ctx[l], w->o_proj, w->o_bias, d.N, d.QD,
                         d.C);  // (N,C)
    add_inplace(a->xmid[l], a->x[l], (size_t)d.N * d.C);
}

// xmid -> x[l+1] = xmid + ffn(norm(xmid)); with CAR routing the neurons'
// inputs are scaled by the gate.
static void ffn_block_forward(const Model *m, Acts *a, int l, Dims d) {
    const ModelConfig *c = &m->cfg;
    const LayerParams *w = &m->w.layers[l];
    block_norm_forward(c, a->xn2[l], a->mean2[l], a->rstd2[l], a->xmid[l],
                       w->post_attention_layernorm, w->post_attention_layernorm_bias, d.N);
    FfnScratch pk = {a->pk_a, a->pk_b, a->pk_bias};
    block_ffn_forward(m, l, a->xn2[l], a->gate[l], a->up[l], a->h[l], a->route_c[l],
                      block_lora_bufs(m, a, l), a->x[l + 1], d.N, &pk);
    add_inplace(a->x[l + 1], a->xmid[l], (size_t)d.N * d.C);
}

void model_layer_forward(const Model *m, Acts *a, int l) {
    Dims d = dims_of(&m->cfg, a->b, a->t);
    attn_block_forward(m, a, l, d, a->b, a->t);
    ffn_block_forward(m, a, l, d);
}

void model_forward(const Model *m, Acts *a, const int *tokens, int b, int t) {
    const ModelConfig *c = &m->cfg;
    Dims d = dims_of(c, b, t);
    if (t != a->t && a->rope_cos) rope_tables(a->rope_cos, a->rope_sin, t, d.D, c);
    a->b = b, a->t = t;
    acts_lora_reserve(a, m);
    acts_packed_reserve(a, m);
    block_embed_forward(m, a->x[0], a->emb, a->mean_e, a->rstd_e, tokens, d.N);  // (N,C)
    for (int l = 0; l < c->num_hidden_layers; l++) model_layer_forward(m, a, l);
    int L = c->num_hidden_layers;
    block_norm_forward(c, a->xf, a->meanf, a->rstdf, a->x[L], m->w.norm, m->w.norm_bias, d.N);
    if (!a->ce_chunk) linear_forward(a->logits, a->xf, m->w.lm_head, NULL, d.N, d.C, d.V);  // (N,V)
}

void model_loss(const Model *m, Acts *a, const int *targets, const float *weight, float dloss,
                double *loss_sum, double *n_tokens) {
    if (a->ce_chunk) {
        head_loss_chunked(m, a, targets, weight, dloss, loss_sum, n_tokens);
        return;
    }
    crossentropy_forward_backward(a->logits, targets, weight, dloss, a->b * a->t,
                                  m->cfg.vocab_size, loss_sum, n_tokens);
}
