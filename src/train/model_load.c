// Building the model a run configures: a pretrained model (checkpoint or
// Hugging Face directory), or a
// random initialisation from the model.* keys and train.seed.
#include "train/model_load.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "io/model_source.h"
#include "mpi/comm.h"
#include "util/timer.h"

LmStatus model_config_from(const Config *cfg, ModelConfig *mc) {
    *mc = (ModelConfig){.architecture =
                            strcmp(cfg->model.architecture, "bloom") ? ARCH_LLAMA : ARCH_BLOOM,
                        .vocab_size = cfg->model.vocab_size,
                        .hidden_size = cfg->model.hidden_size,
                        .intermediate_size = cfg->model.intermediate_size,
                        .num_hidden_layers = cfg->model.num_hidden_layers,
                        .num_attention_heads = cfg->model.num_attention_heads,
                        .num_key_value_heads = cfg->model.num_key_value_heads,
                        .max_position_embeddings = cfg->model.max_position_embeddings,
                        .norm_eps = (float)cfg->model.rms_norm_eps,
                        .rope_theta = (float)cfg->model.rope_theta,
                        .tie_word_embeddings = cfg->model.tie_word_embeddings,
                        .attention_bias = cfg->model.attention_bias};
    model_config_finish(mc);
    return model_config_check(mc);
}

// A model.* key the user gave (in a file or with --set) must describe the
// model that model.checkpoint holds: ignoring it would train or decode
// another model than the one written down. Keys left at their defaults are
// not compared.
LmStatus model_keys_agree(const Config *cfg, const ModelConfig *mc, const char *path) {
    int bloom = mc->architecture == ARCH_BLOOM, bad = 0;
    const char *arch = bloom ? "bloom" : "llama";
    if (config_given(cfg, "model.architecture") && strcmp(cfg->model.architecture, arch)) {
        lm_error("model.architecture = %s disagrees with model.checkpoint %s, which is a %s model",
                 cfg->model.architecture, path, arch);
        bad++;
    }
    const struct { const char *key; double given, has; } keys[] = {
        {"model.vocab_size", cfg->model.vocab_size, mc->vocab_size},
        {"model.hidden_size", cfg->model.hidden_size, mc->hidden_size},
        {"model.intermediate_size", cfg->model.intermediate_size, mc->intermediate_size},
        {"model.num_hidden_layers", cfg->model.num_hidden_layers, mc->num_hidden_layers},
        {"model.num_attention_heads", cfg->model.num_attention_heads, mc->num_attention_heads},
        {"model.num_key_value_heads", cfg->model.num_key_value_heads, mc->num_key_value_heads},
        {"model.max_position_embeddings", cfg->model.max_position_embeddings,
         mc->max_position_embeddings},
        {"model.rms_norm_eps", (float)cfg->model.rms_norm_eps, mc->norm_eps},
        {"model.rope_theta", (float)cfg->model.rope_theta, bloom ? NAN : mc->rope_theta},
        {"model.tie_word_embeddings", cfg->model.tie_word_embeddings, mc->tie_word_embeddings},
        {"model.attention_bias", cfg->model.attention_bias, mc->attention_bias},
    };
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        if (!config_given(cfg, keys[i].key) || keys[i].given == keys[i].has) continue;
        const char *name = keys[i].key + strlen("model.");
        if (isnan(keys[i].has))
            lm_error("%s = %.9g does not apply to model.checkpoint %s (a %s model has no %s)",
                     keys[i].key, keys[i].given, path, arch, name);
        else
            lm_error("%s = %.9g disagrees with model.checkpoint %s, which has %s = %.9g",
                     keys[i].key, keys[i].given, path, name, keys[i].has);
        bad++;
    }
    if (!bad) return LM_OK;
    lm_hint("the model.* keys describe a new model; with model.checkpoint, remove them or give "
            "the checkpoint's values");
    return LM_EUSAGE;
}

LmStatus model_from_config(const Config *cfg, Model *m) {
    ModelConfig mc;
    if (cfg->model.checkpoint[0]) {
        double t0 = timer_now();
        ModelSource s;
        LM_TRY(model_source_open(&s, cfg->model.checkpoint));
        LmStatus st = model_keys_agree(cfg, &s.cfg, cfg->model.checkpoint);
        if (st == LM_OK) st = model_source_load(&s, m);
        model_source_close(&s);
        LM_TRY(st);
        size_t f32, half;
        model_storage_bytes(m, &f32, &half);
        if (comm_rank() == 0)  // 16-bit matrices stay mapped: their pages come in at first use
            printf("model: %s, %zu parameters in %.2f s (%.2f GB float32, %.2f GB 16-bit mapped)\n",
                   cfg->model.checkpoint, m->numel, timer_now() - t0, (double)f32 * 1e-9, (double)half * 1e-9);
        return LM_OK;
    }
    LM_TRY(model_config_from(cfg, &mc));
    model_init(m, &mc);
    model_init_random(m, (uint64_t)cfg->train.seed, (float)cfg->model.init_std);
    return LM_OK;
}
