// Building the model a run configures: a pretrained model (checkpoint or
// Hugging Face directory), or a
// random initialisation from the model.* keys and train.seed.
#include "train/model_load.h"

#include <string.h>

#include "io/model_source.h"

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

LmStatus model_from_config(const Config *cfg, Model *m) {
    ModelConfig mc;
    if (cfg->model.checkpoint[0]) return model_source_read(cfg->model.checkpoint, m);
    LM_TRY(model_config_from(cfg, &mc));
    model_init(m, &mc);
    model_init_random(m, (uint64_t)cfg->train.seed, (float)cfg->model.init_std);
    return LM_OK;
}
