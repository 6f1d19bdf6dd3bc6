// config.json <-> ModelConfig for every family: fields and transformers'
// defaults, refused features (exit 2) and broken files (exit 1), written
// configs that read back identically, and the source's other fields kept.
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "io/hf_config.h"
#include "io/json_text.h"

static LmStatus parse(const char *json, ModelConfig *c) {
    return hf_config_parse(json, strlen(json), "model config test/config.json", c);
}

static void expect_error(const char *json, LmStatus want, const char *needle) {
    ModelConfig c;
    capture_begin();
    LmStatus st = parse(json, &c);
    const char *err = capture_end();
    check_error(st, want, err, needle);
    CHECK(strstr(err, "test/config.json") != NULL, "the error names the file: %s", err);
}

#define SIZES "\"vocab_size\": 100, \"hidden_size\": 64, \"intermediate_size\": 96, " \
              "\"num_hidden_layers\": 3, \"num_attention_heads\": 4"

static void test_llama(void) {
    ModelConfig c;
    CHECK(parse("{\"model_type\": \"llama\", " SIZES "}", &c) == LM_OK, "minimal llama");
    CHECK(c.architecture == ARCH_LLAMA && !strcmp(c.model_type, "llama"), "llama");
    CHECK(c.num_key_value_heads == 4 && c.head_dim == 16 && c.max_position_embeddings == 2048 &&
              c.norm_eps == 1e-6f && c.rope_theta == 10000.0f && !c.tie_word_embeddings &&
              !c.attention_bias && !c.attention_out_bias && !c.sliding_window &&
              c.rope_scaling == ROPE_PLAIN, "transformers' LlamaConfig defaults");
    const char *l31 = "{\"model_type\": \"llama\", " SIZES ", \"num_key_value_heads\": 2, \"head_dim\": 32,"
                      " \"rms_norm_eps\": 1e-05, \"rope_theta\": 500000.0, \"tie_word_embeddings\": true,"
                      " \"attention_bias\": true, \"mlp_bias\": false, \"hidden_act\": \"silu\","
                      " \"rope_scaling\": {\"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0,"
                      " \"original_max_position_embeddings\": 8192, \"rope_type\": \"llama3\"}}";
    CHECK(parse(l31, &c) == LM_OK, "Llama 3.1-like");
    CHECK(c.head_dim == 32 && c.num_key_value_heads == 2 && c.rope_theta == 500000.0f &&
              c.tie_word_embeddings && c.attention_bias && c.attention_out_bias, "fields");
    CHECK(c.rope_scaling == ROPE_LLAMA3 && c.rope_factor == 8.0f && c.rope_low_freq_factor == 1.0f &&
              c.rope_high_freq_factor == 4.0f && c.rope_original_max_position_embeddings == 8192,
          "llama3 rope scaling");
    CHECK(parse("{\"model_type\": \"llama\", " SIZES ", \"rope_scaling\": {\"type\": \"llama3\", \"factor\": 8,"
                " \"low_freq_factor\": 1, \"high_freq_factor\": 4, \"original_max_position_embeddings\": 8192}}",
                &c) == LM_OK && c.rope_scaling == ROPE_LLAMA3, "legacy key \"type\"");
    CHECK(parse("{\"model_type\": \"llama\", " SIZES ", \"rope_scaling\": {\"rope_type\": \"default\"},"
                " \"head_dim\": null, \"num_key_value_heads\": null}", &c) == LM_OK &&
              c.rope_scaling == ROPE_PLAIN && c.head_dim == 16 && c.num_key_value_heads == 4,
          "rope default; null fields take their defaults");
}

static void test_mistral_qwen2(void) {
    ModelConfig c;
    CHECK(parse("{\"model_type\": \"mistral\", " SIZES ", \"sliding_window\": 4096}", &c) == LM_OK &&
              c.sliding_window == 4096 && c.max_position_embeddings == 131072, "mistral window");
    CHECK(parse("{\"model_type\": \"mistral\", " SIZES ", \"sliding_window\": null}", &c) == LM_OK &&
              c.sliding_window == 0, "mistral null window = none");
    CHECK(parse("{\"model_type\": \"mistral\", " SIZES "}", &c) == LM_OK && c.sliding_window == 4096,
          "mistral without the key: MistralConfig's 4096");
    CHECK(parse("{\"model_type\": \"qwen2\", " SIZES ", \"sliding_window\": 128, \"tie_word_embeddings\": true,"
                " \"rope_theta\": 1000000.0}", &c) == LM_OK, "qwen2");
    CHECK(c.attention_bias && !c.attention_out_bias && !c.sliding_window && c.tie_word_embeddings &&
              c.rope_theta == 1e6f && c.max_position_embeddings == 32768, "qwen2: q/k/v biases, no window");
    CHECK(parse("{\"model_type\": \"qwen2\", " SIZES ", \"use_sliding_window\": true, \"sliding_window\": 128,"
                " \"max_window_layers\": 0}", &c) == LM_OK && c.sliding_window == 128, "qwen2 window on every layer");
    CHECK(parse("{\"model_type\": \"qwen2\", " SIZES ", \"use_sliding_window\": true, \"sliding_window\": 128,"
                " \"max_window_layers\": 3}", &c) == LM_OK && c.sliding_window == 0, "qwen2 window on no layer");
    expect_error("{\"model_type\": \"qwen2\", " SIZES ", \"use_sliding_window\": true, \"max_window_layers\": 2}",
                 LM_EUSAGE, "a sliding window on only some layers");
}

static void test_bloom(void) {
    ModelConfig c;
    CHECK(parse("{\"model_type\": \"bloom\", \"vocab_size\": 250880, \"n_embed\": 1024, \"n_layer\": 24,"
                " \"num_attention_heads\": 16, \"layer_norm_epsilon\": 1e-05, \"seq_length\": 2048,"
                " \"apply_residual_connection_post_layernorm\": false}", &c) == LM_OK, "bloom-560m style");
    CHECK(c.architecture == ARCH_BLOOM && c.hidden_size == 1024 && c.intermediate_size == 4096 &&
              c.num_hidden_layers == 24 && c.num_attention_heads == 16 && c.num_key_value_heads == 16 &&
              c.head_dim == 64 && c.max_position_embeddings == 2048 && c.tie_word_embeddings &&
              c.attention_bias && c.attention_out_bias, "bloom fields");
    CHECK(parse("{\"model_type\": \"bloom\", \"vocab_size\": 50, \"hidden_size\": 48, \"n_layer\": 2,"
                " \"n_head\": 6}", &c) == LM_OK && c.head_dim == 8 && c.max_position_embeddings == 2048 &&
              c.norm_eps == 1e-5f, "bloom with 6 heads; positions default to 2048");
    expect_error("{\"model_type\": \"bloom\", \"vocab_size\": 50, \"hidden_size\": 48, \"n_layer\": 2,"
                 " \"n_head\": 6, \"num_attention_heads\": 8}", LM_ERUNTIME,
                 "fields \"n_head\" = 6 and \"num_attention_heads\" = 8 disagree");
    expect_error("{\"model_type\": \"bloom\", \"vocab_size\": 50, \"hidden_size\": 48, \"n_layer\": 2}",
                 LM_ERUNTIME, "required field \"n_head\" is missing");
    expect_error("{\"model_type\": \"bloom\", \"vocab_size\": 50, \"hidden_size\": 48, \"n_layer\": 2, \"n_head\": 6,"
                 " \"apply_residual_connection_post_layernorm\": true}", LM_EUSAGE,
                 "\"apply_residual_connection_post_layernorm\": true is not supported");
    expect_error("{\"model_type\": \"bloom\", \"vocab_size\": 50, \"hidden_size\": 48, \"n_layer\": 2, \"n_head\": 6,"
                 " \"alibi\": false}", LM_EUSAGE, "\"alibi\": false is not supported");
}

static void test_refused(void) {
    expect_error("{\"model_type\": \"gpt2\", " SIZES "}", LM_EUSAGE, "model_type \"gpt2\" is not supported");
    expect_error("{\"model_type\": \"gpt2\", " SIZES "}", LM_EUSAGE, "llama, mistral, qwen2, bloom");
    expect_error("{" SIZES "}", LM_ERUNTIME, "required field \"model_type\" is missing");
    expect_error("{\"model_type\": \"llama\", \"hidden_size\": 64, \"intermediate_size\": 96,"
                 " \"num_hidden_layers\": 3, \"num_attention_heads\": 4}", LM_ERUNTIME,
                 "required field \"vocab_size\" is missing");
    expect_error("{\"model_type\": \"llama\", " SIZES ", \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4}}",
                 LM_EUSAGE, "rope_scaling type \"yarn\" is not supported");
    expect_error("{\"model_type\": \"llama\", " SIZES ", \"rope_scaling\": {\"type\": \"linear\", \"factor\": 2}}",
                 LM_EUSAGE, "rope_scaling type \"linear\"");
    expect_error("{\"model_type\": \"llama\", " SIZES ", \"rope_scaling\": {\"rope_type\": \"dynamic\"}}",
                 LM_EUSAGE, "default or llama3");
    expect_error("{\"model_type\": \"llama\", " SIZES ", \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8}}",
                 LM_ERUNTIME, "required field \"low_freq_factor\" is missing");
    expect_error("{\"model_type\": \"llama\", " SIZES ", \"mlp_bias\": true}", LM_EUSAGE, "\"mlp_bias\": true");
    expect_error("{\"model_type\": \"llama\", " SIZES ", \"hidden_act\": \"gelu\"}", LM_EUSAGE,
                 "hidden_act \"gelu\" is not supported");
    expect_error("{\"model_type\": \"llama\", " SIZES ", \"hidden_size\": \"64\"}", LM_ERUNTIME,
                 "duplicate object key");
    expect_error("{\"model_type\": \"llama\", \"vocab_size\": \"100\", \"hidden_size\": 64,"
                 " \"intermediate_size\": 96, \"num_hidden_layers\": 3, \"num_attention_heads\": 4}",
                 LM_ERUNTIME, "field \"vocab_size\" must be an integer");
    expect_error("{\"model_type\": \"llama\", " SIZES ", \"num_key_value_heads\": -2}", LM_ERUNTIME,
                 "\"num_key_value_heads\" = -2 is out of range");
    expect_error("{\"model_type\": \"llama\", " SIZES ", \"rms_norm_eps\": 0}", LM_ERUNTIME,
                 "\"rms_norm_eps\" = 0 must be a positive float32 number");
    expect_error("{\"model_type\": \"llama\", " SIZES ", \"tie_word_embeddings\": 1}", LM_ERUNTIME,
                 "\"tie_word_embeddings\" must be true or false");
    expect_error("{\"model_type\": \"llama\", " SIZES ", \"num_key_value_heads\": 3}", LM_ERUNTIME,
                 "num_key_value_heads (must divide num_attention_heads)");
    expect_error("{\"model_type\": \"llama\",\n \"vocab_size\": 100,,}", LM_ERUNTIME,
                 "malformed JSON at line 2, column 20");
    expect_error("[1]", LM_ERUNTIME, "the JSON is not an object");
}

// Synthesised config.json reads back as the same configuration.
static void check_synth(const char *src) {
    ModelConfig a, b;
    CHECK(parse(src, &a) == LM_OK, "source parses: %s", src);
    char *text = NULL;
    HfTokenIds ids = {1, 2, 0};
    CHECK(hf_config_text(&a, NULL, "bfloat16", &ids, &text) == LM_OK, "synthesised");
    CHECK(text && parse(text, &b) == LM_OK && !memcmp(&a, &b, offsetof(ModelConfig, rope_theta)) &&
              a.rope_theta == b.rope_theta && a.rope_scaling == b.rope_scaling &&
              a.rope_factor == b.rope_factor && a.sliding_window == b.sliding_window &&
              a.tie_word_embeddings == b.tie_word_embeddings && a.attention_bias == b.attention_bias &&
              a.attention_out_bias == b.attention_out_bias && a.norm_eps == b.norm_eps,
          "%s reads back differently:\n%s", a.model_type, text ? text : "");
    CHECK(text && strstr(text, "\"torch_dtype\": \"bfloat16\"") && strstr(text, "\"bos_token_id\": 1"),
          "dtype and ids in %s", text ? text : "");
    free(text);
}

static void test_write(void) {
    check_synth("{\"model_type\": \"llama\", " SIZES ", \"num_key_value_heads\": 2, \"head_dim\": 32,"
                " \"rms_norm_eps\": 1e-05, \"attention_bias\": true, \"rope_scaling\": {\"rope_type\":"
                " \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0,"
                " \"original_max_position_embeddings\": 8192}}");
    check_synth("{\"model_type\": \"mistral\", " SIZES ", \"sliding_window\": 64}");
    check_synth("{\"model_type\": \"qwen2\", " SIZES ", \"tie_word_embeddings\": true}");
    check_synth("{\"model_type\": \"qwen2\", " SIZES ", \"use_sliding_window\": true, \"max_window_layers\": 0}");
    check_synth("{\"model_type\": \"bloom\", \"vocab_size\": 50, \"hidden_size\": 48, \"n_layer\": 2, \"n_head\": 6}");
    // A model the lead's tests build in memory: qwen2 by its biases.
    ModelConfig c = {.architecture = ARCH_LLAMA, .vocab_size = 10, .hidden_size = 8, .intermediate_size = 8,
                     .num_hidden_layers = 1, .num_attention_heads = 2, .num_key_value_heads = 2,
                     .max_position_embeddings = 16, .norm_eps = 1e-5f, .rope_theta = 1e4f,
                     .attention_bias = 1};
    model_config_finish(&c);
    char *text = NULL;
    CHECK(hf_config_text(&c, NULL, "float32", NULL, &text) == LM_OK && strstr(text, "\"model_type\": \"qwen2\"") &&
              strstr(text, "Qwen2ForCausalLM") && !strstr(text, "bos_token_id"), "qwen2 by its biases");
    free(text);
    c.attention_bias = 0, c.attention_out_bias = 1;
    snprintf(c.model_type, sizeof c.model_type, "llama");
    capture_begin();
    LmStatus st = hf_config_text(&c, NULL, "float32", NULL, &text);
    check_error(st, LM_EUSAGE, capture_end(), "an o_proj bias without q/k/v biases");
}

static void test_source_kept(void) {
    const char *src = "{\"zeta\": [1, 2.5, \"x\\u00e9\\ud83d\\ude00\"], \"architectures\": [\"LlamaForCausalLM\"],"
                      " \"model_type\": \"llama\", " SIZES ", \"bos_token_id\": 128000,"
                      " \"eos_token_id\": [128001, 128009], \"initializer_range\": 0.02,"
                      " \"torch_dtype\": \"bfloat16\", \"custom\": {}, \"rms_norm_eps\": 1e-05}";
    ModelConfig c;
    CHECK(parse(src, &c) == LM_OK, "source");
    char *text = NULL;
    CHECK(hf_config_text(&c, src, "float32", NULL, &text) == LM_OK, "text");
    const char *want =
        "{\n  \"architectures\": [\n    \"LlamaForCausalLM\"\n  ],\n  \"bos_token_id\": 128000,\n"
        "  \"custom\": {},\n  \"eos_token_id\": [\n    128001,\n    128009\n  ],\n"
        "  \"hidden_size\": 64,\n  \"initializer_range\": 0.02,\n  \"intermediate_size\": 96,\n"
        "  \"model_type\": \"llama\",\n  \"num_attention_heads\": 4,\n  \"num_hidden_layers\": 3,\n"
        "  \"rms_norm_eps\": 1e-05,\n  \"torch_dtype\": \"float32\",\n  \"vocab_size\": 100,\n"
        "  \"zeta\": [\n    1,\n    2.5,\n    \"x\\u00e9\\ud83d\\ude00\"\n  ]\n}\n";
    CHECK(text && !strcmp(text, want), "source fields kept, torch_dtype updated, Python layout:\n%s", text);
    CHECK(hf_config_token_id(src, "eos_token_id") == 128001 && hf_config_token_id(src, "bos_token_id") == 128000 &&
              hf_config_token_id(src, "pad_token_id") == -1, "token ids");
    free(text);
}

static void check_real(double v, const char *want) {
    json_t *r = json_real(v);
    char *t = json_text(r);
    t[strlen(t) - 1] = '\0';
    CHECK(!strcmp(t, want), "%.17g printed as %s, Python prints %s", v, t, want);
    free(t);
    json_decref(r);
}

static void test_python_floats(void) {
    check_real(1e-05, "1e-05");
    check_real(0.0001, "0.0001");
    check_real(1.5e-07, "1.5e-07");
    check_real(10000.0, "10000.0");
    check_real(500000.0, "500000.0");
    check_real(0.02, "0.02");
    check_real(1e16, "1e+16");
    check_real(1.2345678901234567e16, "1.2345678901234568e+16");
    check_real(123456789012345.6, "123456789012345.6");
    check_real(-2.5, "-2.5");
    check_real(0.1 + 0.2, "0.30000000000000004");
    json_t *f = json_real_of_float(1e-5f);
    CHECK(json_real_value(f) == 1e-05, "float32 1e-5 written as 1e-05");
    json_decref(f);
}

int main(void) {
    RUN(test_llama);
    RUN(test_mistral_qwen2);
    RUN(test_bloom);
    RUN(test_refused);
    RUN(test_write);
    RUN(test_source_kept);
    RUN(test_python_floats);
    return harness_finish();
}
