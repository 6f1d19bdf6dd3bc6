// Integrity of a checkpoint before a resume trusts it (docs/training.md):
// it opens as a landermt checkpoint; every dataset reads back in full, so
// HDF5 checks the Fletcher32 checksum of each chunk and that the file holds
// all of its data (a truncated, zero-length or bit-flipped file fails); and
// the tensors of /params and of the optimizer moments, where present, have
// exactly the names and shapes of the model's tensor table.
#ifndef LM_CKPT_VERIFY_H
#define LM_CKPT_VERIFY_H

#include "model/model.h"
#include "util/err.h"

// LM_OK, or LM_ERUNTIME after lm_error lines naming the first problems.
LmStatus ckpt_verify(const char *path, const Model *m);

#endif
