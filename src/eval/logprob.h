// `landermt logprob`: summed log-probability (and token count, optionally
// per token) of each input line under model.checkpoint (docs/models.md).
#ifndef LM_LOGPROB_H
#define LM_LOGPROB_H

#include "io/config.h"

LmStatus logprob_run(const Config *cfg);

#endif
