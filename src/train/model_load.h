#ifndef LM_MODEL_LOAD_H
#define LM_MODEL_LOAD_H

#include "io/config.h"
#include "model/model.h"

// The model of the config: loaded from model.checkpoint when set (a
// landermt checkpoint or a Hugging Face directory, io/model_source.h; its
// configuration wins, and model.* keys given in a file or with --set must
// agree with it: a mismatch is LM_EUSAGE naming both values), else random
// from (train.seed, model.init_std).
LmStatus model_from_config(const Config *cfg, Model *m);
// The model.* keys given in a file or with --set against the configuration
// mc of the model at path: LM_EUSAGE naming both values of each mismatch
// (model_from_config checks this; so must other loaders of model.checkpoint).
LmStatus model_keys_agree(const Config *cfg, const ModelConfig *mc, const char *path);
// ModelConfig from the model.* keys.
LmStatus model_config_from(const Config *cfg, ModelConfig *mc);

#endif
