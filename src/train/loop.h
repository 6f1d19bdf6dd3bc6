// `landermt train`: the training loop around trainer_step — data order,
// logging, periodic validation, checkpoints, resume and preemption.
#ifndef LM_LOOP_H
#define LM_LOOP_H

#include "io/config.h"
#include "model/model.h"
#include "util/err.h"

// Runs training; config_text is the resolved YAML stored in checkpoints.
LmStatus train_run(const Config *cfg, const char *config_text);

#endif
