// Parameter storage: one flat float buffer plus a table of Hugging Face
// named tensors, so checkpoints, optimizers and allreduces can treat the
// model as either named tensors or one contiguous array.
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

static void add_tensor(Model *m, const char *name, int64_t d0, int64_t d1) {
    TensorInfo *t = &m->tensors[m->n_tensors++];
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
    add_tensor(m, "model.embed_tokens.weight", V, C);
    for (int l = 0; l < c->num_hidden_layers; l++) {
#define T(suffix, d0, d1) (snprintf(n, sizeof n, "model.layers.%d.%s", l, suffix), add_tensor(m, n, d0, d1))
        T("input_layernorm.weight", C, 0);
        T("self_attn.q_proj.weight", QD, C);
        if (c->attention_bias) T("self_attn.q_proj.bias", QD, 0);
        T("self_attn.k_proj.weight", KD, C);
        if (c->attention_bias) T("self_attn.k_proj.bias", KD, 0);
        T("self_attn.v_proj.weight", KD, C);
        if (c->attention_bias) T("self_attn.v_proj.bias", KD, 0);
        T("self_attn.o_proj.weight", C, QD);
        T("post_attention_layernorm.weight", C, 0);
        T("mlp.gate_proj.weight", F, C);
        T("mlp.up_proj.weight", F, C);
        T("mlp.down_proj.weight", C, F);
#undef T
    }
    add_tensor(m, "model.norm.weight", C, 0);
    if (!c->tie_word_embeddings) add_tensor(m, "lm_head.weight", V, C);
}

const TensorInfo *model_find_tensor(const Model *m, const char *name) {
    for (int i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i].name, name)) return &m->tensors[i];
    return NULL;
}

static float *view(const Model *m, float *flat, const char *name) {
    const TensorInfo *t = model_find_tensor(m, name);
    return t ? flat + t->offset : NULL;
}

void model_weights_view(const Model *m, float *flat, ModelWeights *w) {
    char n[96];
    w->embed_tokens = view(m, flat, "model.embed_tokens.weight");
    w->norm = view(m, flat, "model.norm.weight");
    w->lm_head = m->cfg.tie_word_embeddings ? w->embed_tokens : view(m, flat, "lm_head.weight");
    w->layers = xcalloc((size_t)m->cfg.num_hidden_layers, sizeof(LayerWeights));
    for (int l = 0; l < m->cfg.num_hidden_layers; l++) {
        LayerWeights *lw = &w->layers[l];
#define V(field, suffix) (snprintf(n, sizeof n, "model.layers.%d.%s", l, suffix), lw->field = view(m, flat, n))
        V(input_layernorm, "input_layernorm.weight");
        V(q_proj, "self_attn.q_proj.weight");
        V(q_bias, "self_attn.q_proj.bias");
        V(k_proj, "self_attn.k_proj.weight");
        V(k_bias, "self_attn.k_proj.bias");
        V(v_proj, "self_attn.v_proj.weight");
        V(v_bias, "self_attn.v_proj.bias");
        V(o_proj, "self_attn.o_proj.weight");
        V(post_attention_layernorm, "post_attention_layernorm.weight");
        V(gate_proj, "mlp.gate_proj.weight");
        V(up_proj, "mlp.up_proj.weight");
        V(down_proj, "mlp.down_proj.weight");
#undef V
    }
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
