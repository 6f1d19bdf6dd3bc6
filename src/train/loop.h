// `landermt train` (train.mode full): the training loop around trainer_step
// — data order, logging, periodic validation and atomic checkpoints.
#ifndef LM_LOOP_H
#define LM_LOOP_H

#include "io/config.h"
#include "model/model.h"
#include "util/err.h"

// Builds the model of the config: loaded from model.checkpoint when set
// (its /config wins; model.* sizes must agree), else random from
// (train.seed, model.init_std).
LmStatus model_from_config(const Config *cfg, Model *m);
// ModelConfig from the model.* keys.
LmStatus model_config_from(const Config *cfg, ModelConfig *mc);

// Runs training; config_text is the resolved YAML stored in checkpoints.
LmStatus train_run(const Config *cfg, const char *config_text);

#endif
