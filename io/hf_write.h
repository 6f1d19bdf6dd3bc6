// Writing a Hugging Face model directory that transformers loads:
// config.json, model.safetensors (or model-0000k-of-0000N.safetensors
// shards with model.safetensors.index.json once the weights exceed the
// shard size), the source's tokenizer files, and for LANDeRMT models the
// sidecar with the /landermt group (LANDERMT_SIDECAR).
//
// Values come from a callback, tensor by tensor and piece by piece, so a
// model larger than memory (or never held in float32) can be written. The
// directory is built under a temporary name and renamed into place only
// when complete.
#ifndef LM_HF_WRITE_H
#define LM_HF_WRITE_H

#include <stdint.h>

#include "io/ckpt.h"
#include "io/safetensors.h"
#include "model/model.h"

// Writes values [start, start + n) of table tensor `tensor` into out.
// Called in tensor-table order with increasing start.
typedef LmStatus (*HfFill)(void *ctx, int tensor, size_t start, size_t n, float *out);

typedef struct {
    const Model *table;           // tensor names and shapes (data not used)
    HfFill fill;
    void *ctx;
    StDtype dtype;
    uint64_t max_shard_bytes;     // a shard closes before it would exceed this
    const char *config_json;      // text of config.json
    const char *tokenizer_dir;    // copy tokenizer files from this directory (NULL: none)
    const char *tokenizer_json;   // else write this as tokenizer.json (NULL: none)
    const LandermtState *lm;      // sidecar contents (NULL: none)
} HfWriteSpec;

// out must not exist (or be an empty directory). Returns LM_EUSAGE when it
// does, LM_ERUNTIME on write errors (nothing is left at out then).
LmStatus hf_dir_write(const char *out, const HfWriteSpec *s);

// The files copied from a source model directory besides the weights.
extern const char *const HF_TOKENIZER_FILES[];

#endif
