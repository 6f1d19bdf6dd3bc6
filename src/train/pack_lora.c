// LoRA adapters as packed trainable entries (train.mode lora): each
// adapter is A (r, in) then B (out, r), in layer then target order, so a
// layer's adapters are one contiguous run of the packed buffer.
#include "train/pack_lora.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/rng.h"

// Config names of each target, per family (index 0: llama, 1: bloom).
static const struct {
    const char *name, *hf;
    LoraTarget target;
    int bloom;
} TARGETS[] = {
    {"q", "q_proj", LORA_Q, 0},          {"k", "k_proj", LORA_K, 0},
    {"v", "v_proj", LORA_V, 0},          {"o", "o_proj", LORA_O, 0},
    {"gate", "gate_proj", LORA_GATE, 0}, {"up", "up_proj", LORA_UP, 0},
    {"down", "down_proj", LORA_DOWN, 0}, {"query_key_value", NULL, LORA_QKV, 1},
    {"dense", NULL, LORA_O, 1},          {"dense_h_to_4h", NULL, LORA_UP, 1},
    {"dense_4h_to_h", NULL, LORA_DOWN, 1},
};

// The targets asked for as a mask over LoraTarget; LM_EUSAGE for a name
// that is not a linear of this family.
static LmStatus targets_mask(const LoraSpec *s, int bloom, unsigned *mask) {
    static const char *const llama_default[] = {"q", "v"}, *const bloom_default[] = {"query_key_value"};
    const char *const *names = s->n_target ? s->target : bloom ? bloom_default : llama_default;
    int n = s->n_target ? s->n_target : bloom ? 1 : 2;
    *mask = 0;
    for (int i = 0; i < n; i++) {
        int found = 0;
        for (size_t k = 0; k < sizeof TARGETS / sizeof *TARGETS && !found; k++) {
            int named = !strcmp(names[i], TARGETS[k].name) || (TARGETS[k].hf && !strcmp(names[i], TARGETS[k].hf));
            if (named && TARGETS[k].bloom == bloom) *mask |= 1u << TARGETS[k].target, found = 1;
        }
        if (found) continue;
        lm_error("lora.target: '%s' is not a linear of a %s model", names[i], bloom ? "bloom" : "llama-family");
        lm_hint("%s", bloom ? "bloom targets: query_key_value, dense, dense_h_to_4h, dense_4h_to_h"
                            : "llama-family targets: q, k, v, o, gate, up, down");
        return LM_EUSAGE;
    }
    return LM_OK;
}

static int layer_wanted(const PackSpec *s, int l) {
    if (!s->lora.selected) return 1;
    for (int j = 0; j < s->neurons->k; j++)
        if (s->neurons->selected[j] == l) return 1;
    return 0;
}

LmStatus pack_lora_layout(ParamPack *p, const Model *m, const PackSpec *s) {
    const ModelConfig *c = &m->cfg;
    unsigned mask;
    LM_TRY(targets_mask(&s->lora, c->architecture == ARCH_BLOOM, &mask));
    int r = s->lora.rank, L = c->num_hidden_layers;
    p->lora = xcalloc((size_t)L * LORA_N, sizeof(PackLora));
    for (int l = 0; l < L; l++)
        for (int t = 0; t < LORA_N; t++) {
            if (!(mask >> t & 1) || !layer_wanted(s, l)) continue;
            PackLora *a = &p->lora[p->n_lora++];
            *a = (PackLora){l, (LoraTarget)t, 0, 0, p->n};
            model_lora_dims(c, a->target, &a->in, &a->out);
            if (r > a->in || r > a->out) {
                lm_error("lora.rank %d is larger than the %d x %d matrix of target %d in layer %d",
                         r, a->out, a->in, t, l);
                lm_hint("use lora.rank <= %d", a->in < a->out ? a->in : a->out);
                return LM_EUSAGE;
            }
            p->n += (size_t)r * ((size_t)a->in + a->out);
        }
    p->lora_set = (LoraSet){r, s->lora.alpha / (float)r, NULL};
    p->lora_at = xcalloc((size_t)L * LORA_N, sizeof(LoraPair));
    p->lora_grad = xcalloc((size_t)L * LORA_N, sizeof(LoraGrad));
    return LM_OK;
}

void pack_lora_views(ParamPack *p) {
    int r = p->lora_set.rank;
    for (int k = 0; k < p->n_lora; k++) {
        const PackLora *a = &p->lora[k];
        size_t at = (size_t)a->layer * LORA_N + a->target, nA = (size_t)r * a->in;
        p->lora_at[at] = (LoraPair){p->param + a->off, p->param + a->off + nA};
        // A values-only pack (decoding, export) has no gradient buffer.
        if (p->grad) p->lora_grad[at] = (LoraGrad){p->grad + a->off, p->grad + a->off + nA};
    }
    p->lora_set.at = p->lora_at;
}

// PEFT's kaiming_uniform(a = sqrt(5)) for A: U(-1/sqrt(in), 1/sqrt(in));
// B stays 0.
void pack_lora_init(ParamPack *p, uint64_t seed) {
    Rng g;
    rng_seed(&g, seed ^ 0x4C6F5241ull);  // "LoRA": not the stream of other draws
    for (int k = 0; k < p->n_lora; k++) {
        const PackLora *a = &p->lora[k];
        float *A = p->param + a->off, bound = 1.0f / sqrtf((float)a->in);
        for (size_t i = 0; i < (size_t)p->lora_set.rank * a->in; i++)
            A[i] = bound * (float)(2.0 * rng_uniform(&g) - 1.0);
    }
}

void pack_lora_free(ParamPack *p) {
    free(p->lora), free(p->lora_at), free(p->lora_grad);
}
