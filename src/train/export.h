// `landermt export`: a training checkpoint (and, for the selective modes,
// the base model it refers to) -> a standalone checkpoint with every
// parameter and the /landermt group (classes, routing gates), no training
// state.
#ifndef LM_EXPORT_H
#define LM_EXPORT_H

#include "io/config.h"

// cfg is the training run's configuration (model.checkpoint = the base,
// train.mode, train.neurons, data.directions, routing.*).
LmStatus export_run(const Config *cfg, const char *in, const char *out, const char *config_text);

#endif
