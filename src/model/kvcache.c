// Incremental forward pass over a KV cache (kvcache.h). The blocks are the
// ones of model.c composed from the same layer kernels; only attention
// differs: each row's new queries attend to that row's cache.
#include "model/kvcache.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/block.h"
#include "model/dims.h"
#include "model/layers.h"
#include "util/alloc.h"

void kvcache_init(KvCache *kc, const ModelConfig *cfg, int B, int S) {
    memset(kc, 0, sizeof *kc);
    Dims d = dims_of(cfg, B, S);
    kc->B = B, kc->S = S, kc->L = cfg->num_hidden_layers, kc->C = d.C, kc->F = d.F, kc->V = d.V;
    kc->H = d.H, kc->KV = d.KV, kc->D = d.D;
    size_t row = (size_t)S * d.KD, rows = (size_t)kc->L * B;
    kc->len = xcalloc((size_t)B, sizeof(int));
    kc->k = xcalloc(rows, sizeof(float *));
    kc->v = xcalloc(rows, sizeof(float *));
    kc->k_store = falloc(rows * row);
    kc->v_store = falloc(rows * row);
    for (size_t i = 0; i < rows; i++) kc->k[i] = kc->k_store + i * row, kc->v[i] = kc->v_store + i * row;
    if (cfg->architecture == ARCH_BLOOM) {
        float *slopes = falloc((size_t)d.H);
        alibi_slopes(slopes, d.H);
        kc->mask.alibi = slopes;
    } else {
        kc->mask.window = cfg->sliding_window;
        kc->rope_cos = falloc((size_t)S * d.D / 2);
        kc->rope_sin = falloc((size_t)S * d.D / 2);
        rope_tables(kc->rope_cos, kc->rope_sin, S, d.D, cfg);
    }
    kc->spare = xcalloc((size_t)2 * B, sizeof(float *));
}

static void workspace_free(KvCache *kc) {
    float *bufs[] = {kc->x, kc->xmid, kc->xn, kc->mean, kc->rstd, kc->emb, kc->q, kc->ctx,
                     kc->kn, kc->vn, kc->qkv, kc->gate, kc->up, kc->h, kc->c, kc->logits};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
    free(kc->pos), free(kc->row);
}

void kvcache_free(KvCache *kc) {
    workspace_free(kc);
    free(kc->att), free(kc->lora_u[0]);
    free(kc->len), free(kc->k), free(kc->v), free(kc->k_store), free(kc->v_store);
    free(kc->rope_cos), free(kc->rope_sin), free((float *)kc->mask.alibi), free(kc->spare);
    memset(kc, 0, sizeof *kc);
}

void kvcache_clear(KvCache *kc) { memset(kc->len, 0, sizeof(int) * (size_t)kc->B); }

// Buffers for N new tokens; logits get max(N, B) rows so both output
// layouts fit.
static void workspace_reserve(KvCache *kc, int N, size_t att) {
    if (N > kc->cap_n) {
        workspace_free(kc);
        size_t n = (size_t)N, C = (size_t)kc->C, QD = (size_t)kc->H * kc->D;
        size_t KD = (size_t)kc->KV * kc->D, F = (size_t)kc->F;
        kc->pos = xmalloc(n * sizeof(int)), kc->row = xmalloc(n * sizeof(int));
        kc->x = falloc(n * C), kc->xmid = falloc(n * C), kc->xn = falloc(n * C);
        kc->mean = falloc(n), kc->rstd = falloc(n), kc->c = falloc(n);
        kc->emb = falloc(n * C), kc->qkv = falloc(n * 3 * QD);
        kc->q = falloc(n * QD), kc->ctx = falloc(n * QD);
        kc->kn = falloc(n * KD), kc->vn = falloc(n * KD);
        kc->gate = falloc(n * F), kc->up = falloc(n * F), kc->h = falloc(n * F);
        kc->logits = falloc((size_t)(N > kc->B ? N : kc->B) * kc->V);
        kc->cap_n = N;
    }
    int slices = omp_get_max_threads();  // attention scratch: one slice per thread
    if (att > kc->cap_att || slices != kc->att_slices) {
        free(kc->att);
        kc->att = falloc(att * (size_t)slices);
        kc->cap_att = att, kc->att_slices = slices;
    }
}

// Sizes the workspace and fills the position and row of every new token.
// Returns N. Overflowing a row would corrupt memory: a caller bug, fatal.
static int plan(const Model *m, KvCache *kc, const int *n_new) {
    int N = 0;
    size_t att = 1;
    for (int r = 0; r < kc->B; r++) {
        if (n_new[r] < 0 || kc->len[r] + n_new[r] > kc->S) {
            fprintf(stderr, "kvcache: row %d: %d + %d positions exceed the capacity %d\n", r,
                    kc->len[r], n_new[r], kc->S);
            abort();
        }
        size_t a = (size_t)n_new[r] * (kc->len[r] + n_new[r]);
        att = a > att ? a : att;
        N += n_new[r];
    }
    workspace_reserve(kc, N, att);
    size_t lora = m->lora ? (size_t)N * m->lora->rank : 0;
    if (lora > kc->lora_cap) {
        free(kc->lora_u[0]);
        float *buf = falloc(lora);
        for (int t = 0; t < LORA_N; t++) kc->lora_u[t] = buf;
        kc->lora_cap = lora;
    }
    for (int r = 0, n = 0; r < kc->B; r++)
        for (int i = 0; i < n_new[r]; i++, n++) kc->pos[n] = kc->len[r] + i, kc->row[n] = r;
    return N;
}

static void add_inplace(float *y, const float *x, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

// The new tokens' keys and values go to their rows and positions.
static void cache_append(KvCache *kc, int l, int N) {
    size_t KD = (size_t)kc->KV * kc->D;
    for (int n = 0; n < N; n++) {
        size_t at = (size_t)kc->pos[n] * KD, b = (size_t)l * kc->B + kc->row[n];
        memcpy(kc->k[b] + at, kc->kn + n * KD, KD * sizeof(float));
        memcpy(kc->v[b] + at, kc->vn + n * KD, KD * sizeof(float));
    }
}

// x -> xmid = x + o_proj(attn(norm(x))), attention per row over its cache.
static void attn_step(const Model *m, KvCache *kc, int l, const int *n_new, int N) {
    const LayerParams *w = &m->w.layers[l];
    int C = kc->C, D = kc->D, QD = kc->H * D;
    block_norm_forward(&m->cfg, kc->xn, kc->mean, kc->rstd, kc->x, w->input_layernorm,
                       w->input_layernorm_bias, N);
    float *const *u = m->lora ? kc->lora_u : NULL;
    block_qkv_forward(m, l, kc->xn, kc->q, kc->kn, kc->vn, kc->qkv, u, N);
    if (kc->rope_cos) {
        rope_forward_at(kc->q, kc->rope_cos, kc->rope_sin, kc->pos, N, kc->H, D);
        rope_forward_at(kc->kn, kc->rope_cos, kc->rope_sin, kc->pos, N, kc->KV, D);
    }
    cache_append(kc, l, N);
    AttnScratch s = {kc->att, kc->cap_att, kc->att_slices};
    size_t b = (size_t)l * kc->B;
    attention_forward_cached(kc->ctx, s, kc->q, kc->k + b, kc->v + b, n_new, kc->len, kc->B,
                             kc->H, kc->KV, D, &kc->mask);
    block_linear_forward(m, l, LORA_O, kc->xmid, u, kc->ctx, w->o_proj, w->o_bias, N, QD, C);
    add_inplace(kc->xmid, kc->x, (size_t)N * C);
}

// xmid -> x = xmid + ffn(norm(xmid)), with the layer's CAR route exactly
// as model_forward applies it.
static void ffn_step(const Model *m, KvCache *kc, int l, int N) {
    const LayerParams *w = &m->w.layers[l];
    block_norm_forward(&m->cfg, kc->xn, kc->mean, kc->rstd, kc->xmid, w->post_attention_layernorm,
                       w->post_attention_layernorm_bias, N);
    float *const *u = m->lora ? kc->lora_u : NULL;
    block_ffn_forward(m, l, kc->xn, kc->gate, kc->up, kc->h, kc->c, u, kc->x, N, NULL);  // no packed neurons
    add_inplace(kc->x, kc->xmid, (size_t)N * kc->C);
}

// Final norm and lm_head; with last_only, only over each row's last new
// token (gathered to the front, then spread to row order).
static const float *logits_step(const Model *m, KvCache *kc, const int *n_new, int N,
                                int last_only) {
    int C = kc->C, V = kc->V, a = 0;
    block_norm_forward(&m->cfg, kc->xn, kc->mean, kc->rstd, kc->x, m->w.norm, m->w.norm_bias, N);
    if (!last_only) {
        linear_forward(kc->logits, kc->xn, m->w.lm_head, NULL, N, C, V);  // (N,V)
        return kc->logits;
    }
    for (int r = 0, end = 0; r < kc->B; r++) {
        end += n_new[r];
        if (n_new[r]) memmove(kc->xn + (size_t)a++ * C, kc->xn + (size_t)(end - 1) * C, sizeof(float) * C);
    }
    linear_forward(kc->logits, kc->xn, m->w.lm_head, NULL, a, C, V);  // (a,V)
    for (int r = kc->B - 1, i = a - 1; r >= 0; r--) {  // row r >= compact row i
        if (!n_new[r]) continue;
        if (r != i) memcpy(kc->logits + (size_t)r * V, kc->logits + (size_t)i * V, sizeof(float) * V);
        i--;
    }
    return kc->logits;
}

const float *kvcache_forward(const Model *m, KvCache *kc, const int *tokens, const int *n_new,
                             int last_only) {
    int N = plan(m, kc, n_new);
    if (N == 0) return kc->logits;  // nothing to run (sgemm wants M >= 1)
    block_embed_forward(m, kc->x, kc->emb, kc->mean, kc->rstd, tokens, N);  // (N,C)
    for (int l = 0; l < kc->L; l++) {
        attn_step(m, kc, l, n_new, N);
        ffn_step(m, kc, l, N);
    }
    for (int r = 0; r < kc->B; r++) kc->len[r] += n_new[r];
    return logits_step(m, kc, n_new, N, last_only);
}

// One layer's key (or value) row buffers: row r gets parent src[r]'s; a
// parent's first child (first[p] == r) takes the buffer itself, the other
// rows get the buffers of rows nobody descends from (copying their
// parent's cached positions, if any).
static void reorder_buffers(KvCache *kc, float **buf, const int *src, const int *first) {
    int B = kc->B, n_free = 0;
    float **next = kc->spare, **avail = kc->spare + B;
    size_t KD = (size_t)kc->KV * kc->D;
    for (int p = 0; p < B; p++)
        if (first[p] < 0) avail[n_free++] = buf[p];
    for (int r = 0; r < B; r++) {
        int p = src[r];
        if (p >= 0 && first[p] == r) {
            next[r] = buf[p];
            continue;
        }
        next[r] = avail[--n_free];
        if (p >= 0) memcpy(next[r], buf[p], sizeof(float) * KD * (size_t)kc->len[p]);
    }
    memcpy(buf, next, sizeof(float *) * (size_t)B);
}

void kvcache_reorder(KvCache *kc, const int *src) {
    int B = kc->B;
    int *first = xmalloc(sizeof(int) * (size_t)B * 2), *len = first + B;
    for (int p = 0; p < B; p++) first[p] = -1;
    for (int r = B - 1; r >= 0; r--)
        if (src[r] >= 0) first[src[r]] = r;
    for (size_t l = 0; l < (size_t)kc->L; l++) {
        reorder_buffers(kc, kc->k + l * B, src, first);
        reorder_buffers(kc, kc->v + l * B, src, first);
    }
    for (int r = 0; r < B; r++) len[r] = src[r] >= 0 ? kc->len[src[r]] : 0;
    memcpy(kc->len, len, sizeof(int) * (size_t)B);
    free(first);
}
