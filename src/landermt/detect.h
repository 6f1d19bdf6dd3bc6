// `landermt detect`: for every unit (direction, or language with
// awareness.unit language) stream that unit's sentences on every rank,
// forward + backward with each sentence's own mean target loss (activation
// gradients only: no weight gradient is ever computed), accumulate layer
// relevance and Taylor awareness in double, allreduce, select layers,
// classify neurons, and write the neurons file.
#ifndef LM_DETECT_H
#define LM_DETECT_H

#include "io/config.h"
#include "io/neurons.h"
#include "model/model.h"

LmStatus detect_run(const Config *cfg);

// The unit names of a run: data.directions, or for awareness.unit
// language, awareness.languages (default: the languages of
// data.directions, in order of first appearance). Returns the count.
int detect_units(const Config *cfg, char (*units)[NEURONS_NAME]);

// Gives every loss position of each of the b rows of (b, t) weights
// 1 / (the row's count): with dL = 1, the backward pass then yields each
// sentence's own dL_x/dh, whatever batch it shares.
void detect_sentence_weights(float *weight, int b, int t);

#endif
