// Parameter storage: one flat float buffer plus a table of Hugging Face
// named tensors, so checkpoints, optimizers and allreduces can treat the
// model as either named tensors or one contiguous array.
#define _DEFAULT_SOURCE  // madvise
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include "model/model.h"
#include <stdlib.h>

#include "util/alloc.h"
#include "util/err.h"
#include "util/half.h"
#include "util/rng.h"

static const char *const MODEL_TYPES[] = {"llama", "mistral", "qwen2", "bloom"};

static int model_type_known(const char *t) {
    for (size_t i = 0; i < sizeof MODEL_TYPES / sizeof *MODEL_TYPES; i++)
        if (!strcmp(t, MODEL_TYPES[i])) return 1;
    return 0;
}

void model_config_finish(ModelConfig *c) {
    if (c->architecture == ARCH_BLOOM) {
        c->num_key_value_heads = c->num_attention_heads;
        c->attention_bias = c->attention_out_bias = 1;
        c->tie_word_embeddings = 1;
        c->rope_scaling = ROPE_PLAIN;
        c->sliding_window = 0;
    }
    if (!c->head_dim && c->num_attention_heads > 0) c->head_dim = c->hidden_size / c->num_attention_heads;
    if (!c->model_type[0]) {
        const char *t = c->architecture == ARCH_BLOOM ? "bloom"
                        : c->attention_bias && !c->attention_out_bias ? "qwen2" : "llama";
        snprintf(c->model_type, sizeof c->model_type, "%s", t);
    }
}

// The first field that makes c unusable, or NULL.
static const char *config_problem(const ModelConfig *c) {
    int bloom = c->architecture == ARCH_BLOOM;
    if (c->architecture != ARCH_LLAMA && !bloom) return "architecture (llama or bloom)";
    if (!model_type_known(c->model_type)) return "model_type (llama, mistral, qwen2 or bloom)";
    if (bloom != !strcmp(c->model_type, "bloom")) return "model_type (does not match the architecture)";
    if (c->vocab_size <= 0) return "vocab_size";
    if (c->hidden_size <= 0) return "hidden_size";
    if (c->intermediate_size <= 0) return "intermediate_size";
    if (c->num_hidden_layers <= 0) return "num_hidden_layers";
    if (c->num_attention_heads <= 0) return "num_attention_heads";
    if (c->num_key_value_heads <= 0 || c->num_attention_heads % c->num_key_value_heads)
        return "num_key_value_heads (must divide num_attention_heads)";
    if (c->head_dim <= 0) return "head_dim";
    if ((bloom || c->head_dim * c->num_attention_heads != c->hidden_size) &&
        c->hidden_size % c->num_attention_heads)
        return "num_attention_heads (must divide hidden_size)";
    if (!bloom && c->head_dim % 2) return "head_dim (must be even for rotary embeddings)";
    if (c->max_position_embeddings <= 0) return "max_position_embeddings";
    if (!(c->norm_eps > 0)) return bloom ? "layer_norm_epsilon" : "rms_norm_eps";
    if (!bloom && !(c->rope_theta > 0)) return "rope_theta";
    if (c->sliding_window < 0) return "sliding_window";
    if (c->rope_scaling == ROPE_LLAMA3 &&
        !(c->rope_factor > 0 && c->rope_low_freq_factor > 0 &&
          c->rope_high_freq_factor > c->rope_low_freq_factor &&
          c->rope_original_max_position_embeddings > 0))
        return "rope_scaling (llama3 needs factor > 0, 0 < low_freq_factor < high_freq_factor, "
               "original_max_position_embeddings > 0)";
    return NULL;
}

int model_config_check(const ModelConfig *cfg) {
    ModelConfig c = *cfg;
    model_config_finish(&c);
    const char *bad = config_problem(&c);
    if (!bad) return LM_OK;
    lm_error("invalid model configuration: %s", bad);
    return LM_EUSAGE;
}

// layer < 0: a model-level tensor whose pointer sits at `slot` bytes into
// ModelWeights; else at `slot` bytes into that layer's LayerWeights.
static void add_tensor(Model *m, const char *name, int64_t d0, int64_t d1, int layer, size_t slot,
                       size_t pslot) {
    TensorInfo *t = &m->tensors[m->n_tensors++];
    t->layer = layer;
    t->slot = slot;
    t->pslot = pslot;
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = d1 ? 2 : 1;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->numel = (size_t)d0 * (size_t)(d1 ? d1 : 1);
    t->offset = m->numel;
    m->numel += t->numel;
}

// Where a tensor's gradient pointer and parameter view go.
#define LW(field) offsetof(LayerWeights, field), offsetof(LayerParams, field)
#define MW(field) offsetof(ModelWeights, field), offsetof(ModelParams, field)

// One block's tensors: HF name suffix, shape, where its pointers go.
typedef struct {
    const char *suffix;
    int64_t d0, d1;
    size_t slot, pslot;
} BlockTensor;

static void add_block(Model *m, const char *prefix, int l, const BlockTensor *bt, int n) {
    char name[96];
    for (int i = 0; i < n; i++) {
        if (!bt[i].d0) continue;  // absent in this configuration
        snprintf(name, sizeof name, "%s%d.%s", prefix, l, bt[i].suffix);
        add_tensor(m, name, bt[i].d0, bt[i].d1, l, bt[i].slot, bt[i].pslot);
    }
}

// Hugging Face LlamaForCausalLM names (also Mistral and Qwen2).
static void build_llama_table(Model *m) {
    const ModelConfig *c = &m->cfg;
    int64_t C = c->hidden_size, F = c->intermediate_size, V = c->vocab_size;
    int64_t QD = (int64_t)c->num_attention_heads * c->head_dim;
    int64_t KD = (int64_t)c->num_key_value_heads * c->head_dim;
    int qb = c->attention_bias, ob = c->attention_out_bias;
    const BlockTensor bt[] = {
        {"input_layernorm.weight", C, 0, LW(input_layernorm)},
        {"self_attn.q_proj.weight", QD, C, LW(q_proj)},
        {"self_attn.q_proj.bias", qb ? QD : 0, 0, LW(q_bias)},
        {"self_attn.k_proj.weight", KD, C, LW(k_proj)},
        {"self_attn.k_proj.bias", qb ? KD : 0, 0, LW(k_bias)},
        {"self_attn.v_proj.weight", KD, C, LW(v_proj)},
        {"self_attn.v_proj.bias", qb ? KD : 0, 0, LW(v_bias)},
        {"self_attn.o_proj.weight", C, QD, LW(o_proj)},
        {"self_attn.o_proj.bias", ob ? C : 0, 0, LW(o_bias)},
        {"post_attention_layernorm.weight", C, 0, LW(post_attention_layernorm)},
        {"mlp.gate_proj.weight", F, C, LW(gate_proj)},
        {"mlp.up_proj.weight", F, C, LW(up_proj)},
        {"mlp.down_proj.weight", C, F, LW(down_proj)},
    };
    add_tensor(m, "model.embed_tokens.weight", V, C, -1, MW(embed_tokens));
    for (int l = 0; l < c->num_hidden_layers; l++)
        add_block(m, "model.layers.", l, bt, (int)(sizeof bt / sizeof *bt));
    add_tensor(m, "model.norm.weight", C, 0, -1, MW(norm));
    if (!c->tie_word_embeddings) add_tensor(m, "lm_head.weight", V, C, -1, MW(lm_head));
}

// Hugging Face BloomForCausalLM names ("transformer." as in its state
// dict; loaders also accept files without the prefix). The head is tied.
static void build_bloom_table(Model *m) {
    const ModelConfig *c = &m->cfg;
    int64_t C = c->hidden_size, F = c->intermediate_size, V = c->vocab_size;
    int64_t QKV = 3 * (int64_t)c->num_attention_heads * c->head_dim;
    const BlockTensor bt[] = {
        {"input_layernorm.weight", C, 0, LW(input_layernorm)},
        {"input_layernorm.bias", C, 0, LW(input_layernorm_bias)},
        {"self_attention.query_key_value.weight", QKV, C, LW(qkv)},
        {"self_attention.query_key_value.bias", QKV, 0, LW(qkv_bias)},
        {"self_attention.dense.weight", C, C, LW(o_proj)},
        {"self_attention.dense.bias", C, 0, LW(o_bias)},
        {"post_attention_layernorm.weight", C, 0, LW(post_attention_layernorm)},
        {"post_attention_layernorm.bias", C, 0, LW(post_attention_layernorm_bias)},
        {"mlp.dense_h_to_4h.weight", F, C, LW(up_proj)},
        {"mlp.dense_h_to_4h.bias", F, 0, LW(up_bias)},
        {"mlp.dense_4h_to_h.weight", C, F, LW(down_proj)},
        {"mlp.dense_4h_to_h.bias", C, 0, LW(down_bias)},
    };
    add_tensor(m, "transformer.word_embeddings.weight", V, C, -1, MW(embed_tokens));
    add_tensor(m, "transformer.word_embeddings_layernorm.weight", C, 0, -1, MW(embed_norm));
    add_tensor(m, "transformer.word_embeddings_layernorm.bias", C, 0, -1, MW(embed_norm_bias));
    for (int l = 0; l < c->num_hidden_layers; l++)
        add_block(m, "transformer.h.", l, bt, (int)(sizeof bt / sizeof *bt));
    add_tensor(m, "transformer.ln_f.weight", C, 0, -1, MW(norm));
    add_tensor(m, "transformer.ln_f.bias", C, 0, -1, MW(norm_bias));
}

#undef LW
#undef MW

// Builds the tensor table in HF order; offsets define the flat layout.
static void build_table(Model *m) {
    m->tensors = xcalloc((size_t)16 * m->cfg.num_hidden_layers + 8, sizeof(TensorInfo));
    if (m->cfg.architecture == ARCH_BLOOM) build_bloom_table(m);
    else build_llama_table(m);
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

void model_table_init(Model *m, const ModelConfig *cfg) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    model_config_finish(&m->cfg);
    build_table(m);
}

void model_tensor_set(Model *m, int i, void *data, DType dt, int owned, int readonly) {
    TensorInfo *t = &m->tensors[i];
    if (t->owned) free(t->data);
    t->data = data, t->dtype = dt, t->owned = owned, t->readonly = readonly;
}

void model_params_bind(Model *m) {
    free(m->w.layers);
    memset(&m->w, 0, sizeof m->w);
    m->w.layers = xcalloc((size_t)m->cfg.num_hidden_layers, sizeof(LayerParams));
    for (int i = 0; i < m->n_tensors; i++) {
        const TensorInfo *t = &m->tensors[i];
        char *base = (t->layer < 0 ? (char *)&m->w : (char *)&m->w.layers[t->layer]) + t->pslot;
        if (t->ndim == 2) *(Mat *)base = (Mat){t->data, t->dtype};
        else *(float **)base = t->data;  // 1-D tensors are float32 (model_tensor_set)
    }
    if (m->cfg.tie_word_embeddings) m->w.lm_head = m->w.embed_tokens;
}

void model_init(Model *m, const ModelConfig *cfg) {
    model_table_init(m, cfg);
    m->data = falloc(m->numel);
    for (int i = 0; i < m->n_tensors; i++) model_tensor_set(m, i, m->data + m->tensors[i].offset, DTYPE_F32, 0, 0);
    model_params_bind(m);
}

void model_free(Model *m) {
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].owned) free(m->tensors[i].data);
    if (m->keep_free) m->keep_free(m->keep);
    free(m->w.layers);
    free(m->tensors);
    free(m->data);
    memset(m, 0, sizeof *m);
}

int model_tensor_at(const Model *m, int l, size_t pslot) {
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].layer == l && m->tensors[i].pslot == pslot) return i;
    return -1;
}

float *model_tensor_f32(const Model *m, int i) {
    const TensorInfo *t = &m->tensors[i];
    return t->dtype == DTYPE_F32 ? t->data : NULL;  // may be read-only (TensorInfo.readonly)
}

void model_tensor_read(const Model *m, int i, size_t start, size_t n, float *out) {
    const TensorInfo *t = &m->tensors[i];
    if (t->dtype == DTYPE_F32) memcpy(out, (const float *)t->data + start, n * sizeof(float));
    else half_widen((const uint16_t *)t->data + start, t->dtype == DTYPE_BF16, n, out);
}

void model_tensor_release(const Model *m, int i) {
    const TensorInfo *t = &m->tensors[i];
    if (!t->readonly) return;
    size_t page = (size_t)sysconf(_SC_PAGESIZE), bytes = t->numel * (t->dtype == DTYPE_F32 ? 4 : 2);
    uintptr_t lo = ((uintptr_t)t->data + page - 1) / page * page, hi = ((uintptr_t)t->data + bytes) / page * page;
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);  // the file keeps them; a touch re-reads
}

void model_tensor_to_f32(Model *m, int i) {
    const TensorInfo *t = &m->tensors[i];
    if (t->dtype == DTYPE_F32 && !t->readonly) return;
    float *own = falloc(t->numel);
    model_tensor_read(m, i, 0, t->numel, own);
    model_tensor_release(m, i);
    model_tensor_set(m, i, own, DTYPE_F32, 1, 0);
    model_params_bind(m);
}

void model_storage_bytes(const Model *m, size_t *f32, size_t *half) {
    *f32 = *half = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        const TensorInfo *t = &m->tensors[i];
        if (t->dtype == DTYPE_F32) *f32 += t->numel * 4;
        else *half += t->numel * 2;
    }
}

// Norm weights (the only 1-D weights of both families) start at 1 and
// biases at 0, as in HF; matrices ~ N(0, std).
void model_init_values(const TensorInfo *t, Rng *r, float std, float *out, size_t n) {
    size_t len = strlen(t->name);
    float one_d = len > 7 && !strcmp(t->name + len - 7, ".weight") ? 1.0f : 0.0f;
    for (size_t j = 0; j < n; j++) out[j] = t->ndim == 2 ? std * rng_normal(r) : one_d;
}

void model_init_random(Model *m, uint64_t seed, float std) {
    Rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < m->n_tensors; i++)
        model_init_values(&m->tensors[i], &r, std, m->data + m->tensors[i].offset, m->tensors[i].numel);
}

// Over the float32 values in tensor order, whatever the storage: a 16-bit
// model and its float32 widening are the same base.
uint64_t model_checksum(const Model *m) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ m->numel;
    enum { CHUNK = 1 << 16 };
    float *buf = falloc(CHUNK);
    for (int i = 0; i < m->n_tensors; i++)
        for (size_t at = 0; at < m->tensors[i].numel; at += CHUNK) {
            size_t n = m->tensors[i].numel - at < CHUNK ? m->tensors[i].numel - at : CHUNK;
            model_tensor_read(m, i, at, n, buf);
            const uint32_t *w = (const uint32_t *)buf;  // float bits
            for (size_t j = 0; j < n; j++) h = (h ^ w[j]) * 0x100000001B3ull + (h >> 29);
        }
    free(buf);
    return h;
}
