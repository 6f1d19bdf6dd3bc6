// Parameter storage: one flat float buffer plus a table of Hugging Face
// named tensors, so checkpoints, optimizers and allreduces can treat the
// model as either named tensors or one contiguous array.
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "model/model.h"
#include <stdlib.h>

#include "util/alloc.h"
#include "util/err.h"
#include "util/rng.h"

int model_config_check(const ModelConfig *c) {
    const char *bad = NULL;
    if (c->architecture != ARCH_LLAMA) bad = "architecture (only llama is implemented)";
    else if (c->vocab_size <= 0) bad = "vocab_size";
    else if (c->hidden_size <= 0) bad = "hidden_size";
    else if (c->intermediate_size <= 0) bad = "intermediate_size";
    else if (c->num_hidden_layers <= 0) bad = "num_hidden_layers";
    else if (c->num_attention_heads <= 0 || c->hidden_size % c->num_attention_heads)
        bad = "num_attention_heads (must divide hidden_size)";
    else if (c->num_key_value_heads <= 0 || c->num_attention_heads % c->num_key_value_heads)
        bad = "num_key_value_heads (must divide num_attention_heads)";
    else if ((c->hidden_size / c->num_attention_heads) % 2)
        bad = "num_attention_heads (head dim hidden_size/heads must be even for rotary)";
    else if (c->max_position_embeddings <= 0) bad = "max_position_embeddings";
    else if (!(c->rms_norm_eps > 0)) bad = "rms_norm_eps";
    else if (!(c->rope_theta > 0)) bad = "rope_theta";
    if (!bad) return LM_OK;
    lm_error("invalid model configuration: %s", bad);
    return LM_EUSAGE;
}

// layer < 0: a model-level tensor whose pointer sits at `slot` bytes into
// ModelWeights; else at `slot` bytes into that layer's LayerWeights.
static void add_tensor(Model *m, const char *name, int64_t d0, int64_t d1, int layer, size_t slot) {
    TensorInfo *t = &m->tensors[m->n_tensors++];
    t->layer = layer;
    t->slot = slot;
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = d1 ? 2 : 1;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->numel = (size_t)d0 * (size_t)(d1 ? d1 : 1);
    t->offset = m->numel;
    m->numel += t->numel;
}

// Builds the tensor table in HF order; offsets define the flat layout.
static void build_table(Model *m) {
    const ModelConfig *c = &m->cfg;
    int C = c->hidden_size, F = c->intermediate_size, V = c->vocab_size;
    int D = C / c->num_attention_heads, QD = c->num_attention_heads * D;
    int KD = c->num_key_value_heads * D;
    char n[96];
    m->tensors = xcalloc((size_t)14 * c->num_hidden_layers + 3, sizeof(TensorInfo));
    add_tensor(m, "model.embed_tokens.weight", V, C, -1, offsetof(ModelWeights, embed_tokens));
    for (int l = 0; l < c->num_hidden_layers; l++) {
#define T(suffix, d0, d1, field)                                    \
    (snprintf(n, sizeof n, "model.layers.%d.%s", l, suffix),        \
     add_tensor(m, n, d0, d1, l, offsetof(LayerWeights, field)))
        T("input_layernorm.weight", C, 0, input_layernorm);
        T("self_attn.q_proj.weight", QD, C, q_proj);
        if (c->attention_bias) T("self_attn.q_proj.bias", QD, 0, q_bias);
        T("self_attn.k_proj.weight", KD, C, k_proj);
        if (c->attention_bias) T("self_attn.k_proj.bias", KD, 0, k_bias);
        T("self_attn.v_proj.weight", KD, C, v_proj);
        if (c->attention_bias) T("self_attn.v_proj.bias", KD, 0, v_bias);
        T("self_attn.o_proj.weight", C, QD, o_proj);
        T("post_attention_layernorm.weight", C, 0, post_attention_layernorm);
        T("mlp.gate_proj.weight", F, C, gate_proj);
        T("mlp.up_proj.weight", F, C, up_proj);
        T("mlp.down_proj.weight", C, F, down_proj);
#undef T
    }
    add_tensor(m, "model.norm.weight", C, 0, -1, offsetof(ModelWeights, norm));
    if (!c->tie_word_embeddings)
        add_tensor(m, "lm_head.weight", V, C, -1, offsetof(ModelWeights, lm_head));
}

const TensorInfo *model_find_tensor(const Model *m, const char *name) {
    for (int i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i].name, name)) return &m->tensors[i];
    return NULL;
}

float **model_weights_slot(const Model *m, ModelWeights *w, int tensor) {
    const TensorInfo *t = &m->tensors[tensor];
    char *base = t->layer < 0 ? (char *)w : (char *)&w->layers[t->layer];
    return (float **)(base + t->slot);
}

void model_weights_none(const Model *m, ModelWeights *w) {
    memset(w, 0, sizeof *w);
    w->layers = xcalloc((size_t)m->cfg.num_hidden_layers, sizeof(LayerWeights));
}

void model_weights_view(const Model *m, float *flat, ModelWeights *w) {
    model_weights_none(m, w);
    for (int i = 0; i < m->n_tensors; i++) *model_weights_slot(m, w, i) = flat + m->tensors[i].offset;
    if (m->cfg.tie_word_embeddings) w->lm_head = w->embed_tokens;
}

void model_weights_free(ModelWeights *w) {
    free(w->layers);
    memset(w, 0, sizeof *w);
}

void model_init(Model *m, const ModelConfig *cfg) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    build_table(m);
    m->data = falloc(m->numel);
    model_weights_view(m, m->data, &m->w);
}

void model_free(Model *m) {
    model_weights_free(&m->w);
    free(m->tensors);
    free(m->data);
    memset(m, 0, sizeof *m);
}

// Norm weights start at 1 and biases at 0 (as in HF); matrices ~ N(0, std).
void model_init_random(Model *m, uint64_t seed, float std) {
    Rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < m->n_tensors; i++) {
        const TensorInfo *t = &m->tensors[i];
        float *p = m->data + t->offset;
        int is_norm = strstr(t->name, "norm") != NULL;
        for (size_t j = 0; j < t->numel; j++)
            p[j] = t->ndim == 2 ? std * rng_normal(&r) : (is_norm ? 1.0f : 0.0f);
    }
}

uint64_t model_checksum(const Model *m) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ m->numel;
    const uint32_t *w = (const uint32_t *)m->data;  // float bits
    for (size_t i = 0; i < m->numel; i++) h = (h ^ w[i]) * 0x100000001B3ull + (h >> 29);
    return h;
}
