// `landermt evaluate`: BLEU and chrF per direction on a corpus split (and on
// external test files), LM perplexity per language, for several
// checkpoints side by side, with the change relative to the first one (the
// base): the forgetting report. Written as Markdown and JSON.
#ifndef LM_EVALUATE_H
#define LM_EVALUATE_H

#include "io/config.h"

LmStatus evaluate_run(const Config *cfg);

#endif
