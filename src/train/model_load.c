// Building the model a run configures: a pretrained model (checkpoint or
// Hugging Face directory), or a
// random initialisation from the model.* keys and train.seed.
#include "train/model_load.h"

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

LmStatus model_from_config(const Config *cfg, Model *m) {
    ModelConfig mc;
    if (cfg->model.checkpoint[0]) {
        double t0 = timer_now();
        LM_TRY(model_source_read(cfg->model.checkpoint, m));
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
