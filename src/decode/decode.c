// Batched greedy decoding over the KV cache, and the CAR routes a
// finetuned checkpoint applies to one direction (docs/decoding.md).
#include "decode/decode.h"

#include <stdlib.h>
#include <string.h>

#include "model/kvcache.h"
#include "util/alloc.h"

int decode_budget(const DecodeOpts *o, int64_t len) {
    if (o->max_len <= 0 || len + o->max_new_tokens <= o->max_len) return o->max_new_tokens;
    return len < o->max_len ? (int)(o->max_len - len) : 0;
}

int decode_vocab(const DecodeOpts *o, int V) { return o->n_vocab > 0 && o->n_vocab < V ? o->n_vocab : V; }

// The first index of the largest value, so ties go to the smaller id.
static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

static int64_t longest_prompt(const DecodePrompts *p) {
    int64_t mx = 0;
    for (int r = 0; r < p->n; r++) mx = p->off[r + 1] - p->off[r] > mx ? p->off[r + 1] - p->off[r] : mx;
    return mx;
}

// Picks the next token of every row still running and returns how many
// rows go on: they get n_new[r] = 1 and their token in next (row order).
// A token that uses up the budget is kept but not run through the model.
// best (n) scratch: the rows' argmax, in parallel (a scan of the
// vocabulary per row is a tenth of a small model's step).
static int greedy_pick(const float *logits, int V, const DecodeOpts *o, const int *budget,
                       int *n_new, int *next, int *best, int32_t *out, int *n_out, int n) {
    int active = 0, n_vocab = decode_vocab(o, V);
#pragma omp parallel for schedule(static)
    for (int r = 0; r < n; r++)
        best[r] = n_new[r] && n_out[r] < budget[r] ? argmax(logits + (size_t)r * V, n_vocab) : -1;
    for (int r = 0; r < n; r++) {
        if (!n_new[r]) continue;  // finished at an earlier step
        n_new[r] = 0;
        if (n_out[r] >= budget[r]) continue;
        int tok = best[r];
        if (tok == o->eos_id) continue;
        out[(size_t)r * o->max_new_tokens + n_out[r]++] = tok;
        if (n_out[r] == budget[r]) continue;
        n_new[r] = 1;
        next[active++] = tok;
    }
    return active;
}

void decode_greedy(const Model *m, const DecodePrompts *p, const DecodeOpts *o, int32_t *out,
                   int *n_out) {
    int n = p->n, V = m->cfg.vocab_size;
    if (n == 0) return;
    KvCache kc;
    kvcache_init(&kc, &m->cfg, n, (int)(longest_prompt(p) + o->max_new_tokens));
    int *n_new = xmalloc(sizeof(int) * (size_t)n * 4), *budget = n_new + n, *next = budget + n;
    int *best = next + n;
    for (int r = 0; r < n; r++) {
        n_new[r] = (int)(p->off[r + 1] - p->off[r]);
        budget[r] = decode_budget(o, n_new[r]);
        n_out[r] = 0;
    }
    // All prompts in one call (rows of different lengths, no padding).
    const float *logits = kvcache_forward(m, &kc, (const int *)p->ids + p->off[0], n_new, 1);
    while (greedy_pick(logits, V, o, budget, n_new, next, best, out, n_out, n))
        logits = kvcache_forward(m, &kc, next, n_new, 1);
    free(n_new);
    kvcache_free(&kc);
}

void decode_batch(const Model *m, const DecodePrompts *p, const DecodeOpts *o, int32_t *out,
                  int *n_out) {
    if (o->beam > 1) decode_beam(m, p, o, out, n_out);
    else decode_greedy(m, p, o, out, n_out);
}

// ------------------------------------------------------------- routing

enum { NO_UNIT = -9 };  // matches no owner (-1 = general, >= 0 = a unit)

static int unit_find(const Neurons *nr, const char *name, size_t len) {
    for (int u = 0; u < nr->U; u++)
        if (strlen(nr->units[u]) == len && !strncmp(nr->units[u], name, len)) return u;
    return NO_UNIT;
}

// The units whose specific neurons direction dir uses; NO_UNIT where the
// checkpoint has none (an unseen direction or language).
static void dir_units(const Neurons *nr, const char *dir, int u[2]) {
    const char *dash = strchr(dir, '-');
    u[1] = NO_UNIT;
    if (strcmp(nr->unit_kind, "language")) {
        u[0] = unit_find(nr, dir, strlen(dir));
        return;
    }
    u[0] = unit_find(nr, dir, (size_t)(dash - dir));
    u[1] = unit_find(nr, dash + 1, strlen(dash + 1));
}

// Index of dir's gate; -1 (after an error naming the gates) if it has none.
static int gate_find(const CkptLandermt *lm, const char *dir, const char *path) {
    if (!lm->gate_dirs) return 0;
    for (int g = 0; g < lm->n_gates; g++)
        if (!strcmp(lm->gate_dirs[g], dir)) return g;
    char list[1024] = "";
    for (int g = 0, k = 0; g < lm->n_gates && k < (int)sizeof list - NEURONS_NAME - 8; g++)
        k += snprintf(list + k, sizeof list - (size_t)k, "%s%s", g ? ", " : "", lm->gate_dirs[g]);
    lm_error("translate.direction %s has no routing gate in checkpoint %s (per-direction gates: %s)",
             dir, path, list);
    lm_hint("translate one of those directions, or use a model trained with "
            "routing.per_direction: false");
    return -1;
}

LmStatus decode_routing_init(DecodeRouting *r, const CkptLandermt *lm, const ModelConfig *cfg,
                             const char *dir, const char *ckpt_path) {
    memset(r, 0, sizeof *r);
    if (!lm->present || !lm->n_gates) return LM_OK;
    int g = gate_find(lm, dir, ckpt_path), u[2], C = cfg->hidden_size;
    if (g < 0) return LM_EUSAGE;
    const Neurons *nr = &lm->neurons;
    dir_units(nr, dir, u);
    r->route = xcalloc((size_t)cfg->num_hidden_layers, sizeof(FfnRoute));
    r->cls = xmalloc((size_t)nr->k * nr->F);
    for (int j = 0; j < nr->k; j++) {
        unsigned char *c = r->cls + (size_t)j * nr->F;
        const int *owner = nr->owner + (size_t)j * nr->F;
        for (int i = 0; i < nr->F; i++)
            c[i] = owner[i] == -1 ? NEURON_GENERAL
                   : (owner[i] == u[0] || owner[i] == u[1]) ? NEURON_SPECIFIC : NEURON_REST;
        const float *w = lm->gates + ((size_t)g * nr->k + j) * (C + 1);
        r->route[nr->selected[j]] = (FfnRoute){c, w, w + C, (float)lm->scale};
    }
    return LM_OK;
}

void decode_routing_free(DecodeRouting *r) {
    free(r->route);
    free(r->cls);
    memset(r, 0, sizeof *r);
}
