// config.json <-> ModelConfig. Defaults of optional fields are those of
// transformers' LlamaConfig, MistralConfig, Qwen2Config and BloomConfig, so
// a config.json means here what it means there.
#include "io/hf_config.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/files.h"
#include "io/json_text.h"
#include "util/alloc.h"

#define SUPPORTED_TYPES "llama, mistral, qwen2, bloom"
#define REQUIRED -1  // default of a field that must be present

// ------------------------------------------------------------ field access

long long hf_config_max(const char *key) {
    static const struct { const char *key; long long max; } MAX[] = {
        {"vocab_size", 1 << 24},           {"hidden_size", 65536},  {"n_embed", 65536},
        {"intermediate_size", 262144},     {"num_hidden_layers", 1024}, {"n_layer", 1024},
        {"num_attention_heads", 1024},     {"n_head", 1024},        {"num_key_value_heads", 1024},
        {"head_dim", 65536},               {"max_position_embeddings", 1 << 20},
        {"seq_length", 1 << 20},           {"sliding_window", 1 << 20},
        {"original_max_position_embeddings", 1 << 20}, {"max_window_layers", 1024}};
    for (size_t i = 0; i < sizeof MAX / sizeof *MAX; i++)
        if (!strcmp(MAX[i].key, key)) return MAX[i].max;
    return INT_MAX;
}

// The value of key, or NULL when absent or null (transformers treats both
// as "use the default").
static json_t *field(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_null(v) ? NULL : v;
}

static LmStatus missing(const char *what, const char *key) {
    lm_error("%s: required field \"%s\" is missing", what, key);
    lm_hint("config.json of a Hugging Face model always has it; the file is incomplete or not "
            "a model config");
    return LM_ERUNTIME;
}

static LmStatus get_int(json_t *o, const char *key, long long def, long long lo, int *out,
                        const char *what) {
    json_t *v = field(o, key);
    if (!v && def == REQUIRED) return missing(what, key);
    if (!v) return *out = (int)def, LM_OK;  // defaults need no range check
    long long x = json_integer_value(v);
    if (!json_is_integer(v)) {
        lm_error("%s: field \"%s\" must be an integer", what, key);
        return LM_ERUNTIME;
    }
    long long hi = hf_config_max(key);
    if (x < lo || x > hi) {
        lm_error("%s: field \"%s\" = %lld is out of range [%lld, %lld]", what, key, x, lo, hi);
        return LM_ERUNTIME;
    }
    *out = (int)x;
    return LM_OK;
}

// A positive finite number (integers accepted: 10000 for rope_theta).
static LmStatus get_float(json_t *o, const char *key, double def, float *out, const char *what) {
    json_t *v = field(o, key);
    if (!v && def == REQUIRED) return missing(what, key);
    if (!v) return *out = (float)def, LM_OK;
    if (!json_is_number(v)) {
        lm_error("%s: field \"%s\" must be a number", what, key);
        return LM_ERUNTIME;
    }
    double x = json_number_value(v);
    if (!(x > 0) || !isfinite((float)x)) {
        lm_error("%s: field \"%s\" = %g must be a positive float32 number", what, key, x);
        return LM_ERUNTIME;
    }
    *out = (float)x;
    return LM_OK;
}

static LmStatus get_bool(json_t *o, const char *key, int def, int *out, const char *what) {
    json_t *v = field(o, key);
    if (v && !json_is_boolean(v)) {
        lm_error("%s: field \"%s\" must be true or false", what, key);
        return LM_ERUNTIME;
    }
    *out = v ? json_is_true(v) : def;
    return LM_OK;
}

// BLOOM accepts two names for some fields; one of them must be present,
// and both must agree when both are.
static LmStatus get_int_alias(json_t *o, const char *key, const char *alias, int *out,
                              const char *what) {
    if (!field(o, key) && !field(o, alias)) return missing(what, key);
    int a = 0, b = 0;
    if (field(o, key)) LM_TRY(get_int(o, key, REQUIRED, 1, &a, what));
    if (field(o, alias)) LM_TRY(get_int(o, alias, REQUIRED, 1, &b, what));
    if (a && b && a != b) {
        lm_error("%s: fields \"%s\" = %d and \"%s\" = %d disagree", what, key, a, alias, b);
        return LM_ERUNTIME;
    }
    *out = a ? a : b;
    return LM_OK;
}

static LmStatus unsupported(const char *what, const char *feature, const char *supported) {
    lm_error("%s: %s is not supported", what, feature);
    lm_hint("supported: %s (docs/models.md)", supported);
    return LM_EUSAGE;
}

LmStatus hf_config_check(const ModelConfig *cfg, const char *what) {
    char why[512];
    lm_capture_begin(why, sizeof why);
    LmStatus st = model_config_check(cfg);
    lm_capture_end();
    if (st != LM_OK) lm_error("%s: %s", what, why);
    return st == LM_OK ? LM_OK : LM_ERUNTIME;
}

// --------------------------------------------------------------- families

static LmStatus rope_scaling_parse(json_t *root, ModelConfig *c, const char *what) {
    json_t *rs = field(root, "rope_scaling");
    c->rope_scaling = ROPE_PLAIN;
    if (!rs) return LM_OK;
    const char *type = json_string_value(field(rs, "rope_type"));
    if (!type) type = json_string_value(field(rs, "type"));  // before transformers 4.43
    if (!json_is_object(rs) || !type) {
        lm_error("%s: field \"rope_scaling\" must be null or an object with a \"rope_type\"", what);
        return LM_ERUNTIME;
    }
    if (!strcmp(type, "default")) return LM_OK;
    if (strcmp(type, "llama3")) {
        char f[96];
        snprintf(f, sizeof f, "rope_scaling type \"%.40s\"", type);
        return unsupported(what, f, "rope_scaling null, default or llama3 (linear, dynamic, yarn "
                                    "and longrope change the positions; use a model without them)");
    }
    c->rope_scaling = ROPE_LLAMA3;
    LM_TRY(get_float(rs, "factor", REQUIRED, &c->rope_factor, what));
    LM_TRY(get_float(rs, "low_freq_factor", REQUIRED, &c->rope_low_freq_factor, what));
    LM_TRY(get_float(rs, "high_freq_factor", REQUIRED, &c->rope_high_freq_factor, what));
    return get_int(rs, "original_max_position_embeddings", REQUIRED, 1,
                   &c->rope_original_max_position_embeddings, what);
}

static LmStatus must_be_false(json_t *root, const char *key, const char *why, const char *what) {
    int v;
    LM_TRY(get_bool(root, key, 0, &v, what));
    if (!v) return LM_OK;
    char f[96];
    snprintf(f, sizeof f, "\"%s\": true", key);
    return unsupported(what, f, why);
}

// Qwen2 windows layers >= max_window_layers: all or none can be expressed.
static LmStatus qwen2_window(json_t *root, ModelConfig *c, const char *what) {
    int use, window, max_layers;
    LM_TRY(get_bool(root, "use_sliding_window", 0, &use, what));
    if (!use) return LM_OK;
    LM_TRY(get_int(root, "sliding_window", 4096, 0, &window, what));
    LM_TRY(get_int(root, "max_window_layers", 28, 0, &max_layers, what));
    if (max_layers >= c->num_hidden_layers) return LM_OK;  // no layer is windowed
    if (max_layers > 0)
        return unsupported(what, "a sliding window on only some layers (max_window_layers)",
                           "use_sliding_window false, or max_window_layers 0 (every layer) or >= "
                           "num_hidden_layers (none)");
    c->sliding_window = window;
    return LM_OK;
}

static LmStatus family_features(json_t *root, ModelConfig *c, const char *what) {
    const char *type = c->model_type;
    if (!strcmp(type, "llama")) {
        LM_TRY(get_bool(root, "attention_bias", 0, &c->attention_bias, what));
        c->attention_out_bias = c->attention_bias;
        return must_be_false(root, "mlp_bias", "mlp_bias false (the FFN has no biases)", what);
    }
    if (!strcmp(type, "mistral")) {
        json_t *v = json_object_get(root, "sliding_window");
        if (json_is_null(v)) return LM_OK;  // null: no window; absent: MistralConfig's 4096
        return get_int(root, "sliding_window", 4096, 1, &c->sliding_window, what);
    }
    c->attention_bias = 1;  // qwen2
    return qwen2_window(root, c, what);
}

static LmStatus llama_family_parse(json_t *root, ModelConfig *c, const char *what) {
    int max_pos = !strcmp(c->model_type, "llama") ? 2048 : !strcmp(c->model_type, "mistral") ? 131072 : 32768;
    c->architecture = ARCH_LLAMA;
    LM_TRY(get_int(root, "vocab_size", REQUIRED, 1, &c->vocab_size, what));
    LM_TRY(get_int(root, "hidden_size", REQUIRED, 1, &c->hidden_size, what));
    LM_TRY(get_int(root, "intermediate_size", REQUIRED, 1, &c->intermediate_size, what));
    LM_TRY(get_int(root, "num_hidden_layers", REQUIRED, 1, &c->num_hidden_layers, what));
    LM_TRY(get_int(root, "num_attention_heads", REQUIRED, 1, &c->num_attention_heads, what));
    LM_TRY(get_int(root, "num_key_value_heads", c->num_attention_heads, 1, &c->num_key_value_heads, what));
    LM_TRY(get_int(root, "head_dim", 0, 1, &c->head_dim, what));
    LM_TRY(get_int(root, "max_position_embeddings", max_pos, 1, &c->max_position_embeddings, what));
    LM_TRY(get_float(root, "rms_norm_eps", 1e-6, &c->norm_eps, what));
    LM_TRY(get_float(root, "rope_theta", 10000.0, &c->rope_theta, what));
    LM_TRY(get_bool(root, "tie_word_embeddings", 0, &c->tie_word_embeddings, what));
    const char *act = json_string_value(field(root, "hidden_act"));
    if (field(root, "hidden_act") && (!act || strcmp(act, "silu"))) {
        char f[96];
        snprintf(f, sizeof f, "hidden_act \"%.40s\"", act ? act : "(not a string)");
        LM_TRY(unsupported(what, f, "hidden_act silu (SwiGLU)"));
    }
    LM_TRY(rope_scaling_parse(root, c, what));
    return family_features(root, c, what);
}

static LmStatus bloom_parse(json_t *root, ModelConfig *c, const char *what) {
    c->architecture = ARCH_BLOOM;
    LM_TRY(get_int(root, "vocab_size", REQUIRED, 1, &c->vocab_size, what));
    LM_TRY(get_int_alias(root, "hidden_size", "n_embed", &c->hidden_size, what));
    LM_TRY(get_int_alias(root, "n_layer", "num_hidden_layers", &c->num_hidden_layers, what));
    LM_TRY(get_int_alias(root, "n_head", "num_attention_heads", &c->num_attention_heads, what));
    LM_TRY(get_float(root, "layer_norm_epsilon", 1e-5, &c->norm_eps, what));
    LM_TRY(get_int(root, "seq_length", 2048, 1, &c->max_position_embeddings, what));
    if (c->hidden_size > INT_MAX / 4) {
        lm_error("%s: hidden_size %d is too large", what, c->hidden_size);
        return LM_ERUNTIME;
    }
    c->intermediate_size = 4 * c->hidden_size;
    LM_TRY(must_be_false(root, "apply_residual_connection_post_layernorm",
                         "apply_residual_connection_post_layernorm false (residual after the norm "
                         "input, as in every released BLOOM)", what));
    int tied, alibi;
    LM_TRY(get_bool(root, "tie_word_embeddings", 1, &tied, what));
    LM_TRY(get_bool(root, "alibi", 1, &alibi, what));
    if (!tied) return unsupported(what, "\"tie_word_embeddings\": false", "a tied BLOOM head");
    if (!alibi) return unsupported(what, "\"alibi\": false", "BLOOM with ALiBi positions");
    return LM_OK;
}

LmStatus hf_config_parse(const char *text, size_t len, const char *what, ModelConfig *cfg) {
    json_error_t err;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        lm_error("%s: malformed JSON at line %d, column %d: %s", what, err.line, err.column, err.text);
        return LM_ERUNTIME;
    }
    memset(cfg, 0, sizeof *cfg);
    LmStatus st = LM_OK;
    const char *type = json_string_value(json_object_get(root, "model_type"));
    if (!json_is_object(root)) {
        lm_error("%s: the JSON is not an object", what);
        st = LM_ERUNTIME;
    } else if (!type) {
        st = missing(what, "model_type");
    } else if (!strcmp(type, "bloom") || !strcmp(type, "llama") || !strcmp(type, "mistral") ||
               !strcmp(type, "qwen2")) {
        snprintf(cfg->model_type, sizeof cfg->model_type, "%s", type);
        st = strcmp(type, "bloom") ? llama_family_parse(root, cfg, what) : bloom_parse(root, cfg, what);
    } else {
        char f[96];
        snprintf(f, sizeof f, "model_type \"%.60s\"", type);
        st = unsupported(what, f, "model_type " SUPPORTED_TYPES);
    }
    json_decref(root);
    if (st == LM_OK) model_config_finish(cfg);
    return st == LM_OK ? hf_config_check(cfg, what) : st;
}

LmStatus hf_config_read(const char *path, ModelConfig *cfg, char **text) {
    char *t;
    size_t len;
    char what[1100];
    snprintf(what, sizeof what, "model config %s", path);
    LM_TRY(file_read_text(path, HF_CONFIG_MAX_BYTES, &t, &len, what));
    LmStatus st = hf_config_parse(t, len, what, cfg);
    if (st == LM_OK && text) *text = t;
    else free(t);
    return st;
}

// ------------------------------------------------------------------ write

static int config_equal(const ModelConfig *a, const ModelConfig *b) {
    return a->architecture == b->architecture && !strcmp(a->model_type, b->model_type) &&
           a->vocab_size == b->vocab_size && a->hidden_size == b->hidden_size &&
           a->intermediate_size == b->intermediate_size && a->num_hidden_layers == b->num_hidden_layers &&
           a->num_attention_heads == b->num_attention_heads &&
           a->num_key_value_heads == b->num_key_value_heads && a->head_dim == b->head_dim &&
           a->max_position_embeddings == b->max_position_embeddings && a->norm_eps == b->norm_eps &&
           (a->architecture == ARCH_BLOOM || a->rope_theta == b->rope_theta) &&
           a->rope_scaling == b->rope_scaling && a->rope_factor == b->rope_factor &&
           a->rope_low_freq_factor == b->rope_low_freq_factor &&
           a->rope_high_freq_factor == b->rope_high_freq_factor &&
           a->rope_original_max_position_embeddings == b->rope_original_max_position_embeddings &&
           a->sliding_window == b->sliding_window && a->tie_word_embeddings == b->tie_word_embeddings &&
           a->attention_bias == b->attention_bias && a->attention_out_bias == b->attention_out_bias;
}

static void set_int(json_t *o, const char *k, long long v) { json_object_set_new(o, k, json_integer(v)); }
static void set_str(json_t *o, const char *k, const char *v) { json_object_set_new(o, k, json_string(v)); }

// What model_type cannot say about c, or NULL.
static const char *inexpressible(const ModelConfig *c) {
    const char *t = c->model_type;
    if (!strcmp(t, "bloom")) return NULL;
    if (c->attention_out_bias && !c->attention_bias) return "an o_proj bias without q/k/v biases";
    if (!strcmp(t, "llama") && c->sliding_window) return "a sliding window (model_type mistral has one)";
    if (!strcmp(t, "llama") && c->attention_bias != c->attention_out_bias)
        return "q/k/v biases without an o_proj bias (model_type qwen2 has them)";
    if (!strcmp(t, "mistral") && c->attention_bias) return "attention biases";
    if (!strcmp(t, "qwen2") && (!c->attention_bias || c->attention_out_bias))
        return "biases other than q/k/v";
    return NULL;
}

static void synth_llama_family(json_t *o, const ModelConfig *c) {
    const char *t = c->model_type;
    json_object_set_new(o, "architectures",
                        json_pack("[s]", !strcmp(t, "llama") ? "LlamaForCausalLM"
                                         : !strcmp(t, "mistral") ? "MistralForCausalLM" : "Qwen2ForCausalLM"));
    set_int(o, "intermediate_size", c->intermediate_size);
    set_int(o, "num_hidden_layers", c->num_hidden_layers);
    set_int(o, "num_attention_heads", c->num_attention_heads);
    set_int(o, "num_key_value_heads", c->num_key_value_heads);
    set_int(o, "head_dim", c->head_dim);
    set_int(o, "max_position_embeddings", c->max_position_embeddings);
    json_object_set_new(o, "rms_norm_eps", json_real_of_float(c->norm_eps));
    json_object_set_new(o, "rope_theta", json_real_of_float(c->rope_theta));
    set_str(o, "hidden_act", "silu");
    json_object_set_new(o, "tie_word_embeddings", json_boolean(c->tie_word_embeddings));
    json_t *rs = json_null();
    if (c->rope_scaling == ROPE_LLAMA3)
        rs = json_pack("{s:s, s:o, s:o, s:o, s:i}", "rope_type", "llama3", "factor",
                       json_real_of_float(c->rope_factor), "low_freq_factor",
                       json_real_of_float(c->rope_low_freq_factor), "high_freq_factor",
                       json_real_of_float(c->rope_high_freq_factor),
                       "original_max_position_embeddings", c->rope_original_max_position_embeddings);
    json_object_set_new(o, "rope_scaling", rs);
    if (!strcmp(t, "llama")) {
        json_object_set_new(o, "attention_bias", json_boolean(c->attention_bias));
        json_object_set_new(o, "mlp_bias", json_false());
    } else if (!strcmp(t, "mistral")) {
        json_object_set_new(o, "sliding_window", c->sliding_window ? json_integer(c->sliding_window) : json_null());
    } else {
        json_object_set_new(o, "use_sliding_window", json_boolean(c->sliding_window > 0));
        set_int(o, "sliding_window", c->sliding_window ? c->sliding_window : 4096);
        set_int(o, "max_window_layers", c->sliding_window ? 0 : c->num_hidden_layers);
    }
}

static json_t *synthesise(const ModelConfig *c, const HfTokenIds *ids) {
    json_t *o = json_object();
    set_str(o, "model_type", c->model_type);
    set_int(o, "vocab_size", c->vocab_size);
    set_int(o, "hidden_size", c->hidden_size);
    if (c->architecture == ARCH_BLOOM) {
        json_object_set_new(o, "architectures", json_pack("[s]", "BloomForCausalLM"));
        set_int(o, "n_layer", c->num_hidden_layers);
        set_int(o, "n_head", c->num_attention_heads);
        json_object_set_new(o, "layer_norm_epsilon", json_real_of_float(c->norm_eps));
        set_int(o, "seq_length", c->max_position_embeddings);
        json_object_set_new(o, "apply_residual_connection_post_layernorm", json_false());
        json_object_set_new(o, "tie_word_embeddings", json_true());
    } else {
        synth_llama_family(o, c);
    }
    const struct { const char *key; int v; } tok[] = {
        {"bos_token_id", ids ? ids->bos : -1}, {"eos_token_id", ids ? ids->eos : -1},
        {"pad_token_id", ids ? ids->pad : -1}};
    for (size_t i = 0; i < sizeof tok / sizeof *tok; i++)
        if (tok[i].v >= 0) set_int(o, tok[i].key, tok[i].v);
    return o;
}

// The source config.json if it describes exactly cfg, else NULL.
static json_t *source_for(const ModelConfig *cfg, const char *source) {
    ModelConfig sc;
    if (!source) return NULL;
    if (hf_config_parse(source, strlen(source), "stored source config.json", &sc) != LM_OK ||
        !config_equal(&sc, cfg)) {
        printf("note: the stored source config.json describes another model; writing one from "
               "the model's configuration\n");
        return NULL;
    }
    return json_loads(source, 0, NULL);
}

LmStatus hf_config_text(const ModelConfig *cfg, const char *source, const char *torch_dtype,
                        const HfTokenIds *ids, char **out) {
    json_t *o = source_for(cfg, source);
    if (!o) {
        const char *why = inexpressible(cfg);
        if (why) {
            lm_error("cannot write config.json: model_type %s has no way to say %s", cfg->model_type, why);
            lm_hint("the model's configuration (/config) is inconsistent with its model_type");
            return LM_EUSAGE;
        }
        o = synthesise(cfg, ids);
    }
    int has_dtype = json_object_get(o, "dtype") != NULL;
    if (has_dtype) set_str(o, "dtype", torch_dtype);
    if (!has_dtype || json_object_get(o, "torch_dtype")) set_str(o, "torch_dtype", torch_dtype);
    *out = json_text(o);
    json_decref(o);
    return LM_OK;
}

void hf_config_torch_dtype(const char *text, char *out, size_t n) {
    json_t *o = json_loads(text, 0, NULL);
    const char *d = json_string_value(json_object_get(o, "torch_dtype"));
    if (!d) d = json_string_value(json_object_get(o, "dtype"));
    snprintf(out, n, "%s", d ? d : "");
    json_decref(o);
}

int hf_config_token_id(const char *text, const char *key) {
    json_t *o = json_loads(text, 0, NULL), *v = json_object_get(o, key);
    if (json_is_array(v)) v = json_array_get(v, 0);
    long long id = json_is_integer(v) ? json_integer_value(v) : -1;
    json_decref(o);
    return id >= 0 && id <= INT_MAX ? (int)id : -1;
}
