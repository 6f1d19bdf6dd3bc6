// Incremental forward pass for decoding (docs/decoding.md): the rotated
// keys and the values of every layer are kept for the positions already
// processed, so each call runs the model on the new tokens only.
//
// Rows are independent sequences, each with its own length: row r's new
// tokens sit at absolute positions len[r], len[r]+1, ... (rotary angles)
// and attend causally to the row's cache plus the new tokens before them.
// A call may append a different number of tokens to every row, including
// none, so prompts of different lengths are prefilled together and
// finished rows cost nothing: there is no padding and no mask.
#ifndef LM_KVCACHE_H
#define LM_KVCACHE_H

#include <stddef.h>

#include "model/model.h"

typedef struct {
    int B, S;          // rows, positions per row (capacity)
    int L, C, F, V, H, KV, D;
    int *len;          // (B) cached positions of each row
    // Row buffers (S, KV*D) per layer and row: k[l*B + r]. Beam search
    // reorders rows by permuting these pointers (kvcache_reorder).
    float **k, **v;
    float *k_store, *v_store;  // backing memory of the row buffers
    float *rope_cos, *rope_sin;  // llama: (S, D/2)
    AttnMask mask;     // ALiBi slopes (bloom), sliding window (mistral)
    // Workspace for up to cap_n new tokens per call (grown on demand).
    int cap_n;
    size_t cap_att;
    int *pos, *row;    // (N) absolute position and row of each new token
    float *x, *xmid, *xn, *mean, *rstd;  // (N,C), (N,C), (N,C), (N), (N)
    float *emb;                      // bloom: (N,C) embeddings before their norm
    float *q, *ctx, *kn, *vn;        // (N,H*D), (N,H*D), (N,KV*D), (N,KV*D)
    float *qkv;                      // bloom: (N,3*H*D) fused projection
    float *gate, *up, *h, *c;        // (N,F) x3, (N)
    int att_slices;    // threads the attention scratch was sized for
    float *att;        // (att_slices, cap_att): per thread, the (n_r, len_r + n_r)
                       // scores of one row and head
    float *lora_u[LORA_N];  // every target's A x (N,r): one buffer, used in turn
    size_t lora_cap;
    float *logits;     // (max(N,B), V)
    float **spare;     // (2*B) scratch for kvcache_reorder
} KvCache;

// An empty cache of B rows of up to S positions for a model of cfg.
void kvcache_init(KvCache *kc, const ModelConfig *cfg, int B, int S);
void kvcache_free(KvCache *kc);
// Forgets every row (len = 0); the memory is kept.
void kvcache_clear(KvCache *kc);

// Appends n_new[r] tokens to row r for every row (tokens back to back in
// row order; rows with n_new[r] = 0 are left alone; len[r] + n_new[r] <= S)
// and runs the model on them with the model's CAR routes (m->route), as
// model_forward does. Returns the logits in kc->logits:
//   last_only = 0: (N, V), one row per new token in input order;
//   last_only = 1: (B, V), row r = logits of row r's last new token (only
//                  rows with n_new[r] > 0 are written).
// With no new token at all nothing runs.
const float *kvcache_forward(const Model *m, KvCache *kc, const int *tokens, const int *n_new,
                             int last_only);

// Row r takes over the cache of row src[r], for all rows at once (beam
// search: src[r] is the parent of beam r), or is emptied for src[r] < 0.
// A parent's first child gets its buffers without a copy; only further
// children copy the len[src] cached positions.
void kvcache_reorder(KvCache *kc, const int *src);

#endif
