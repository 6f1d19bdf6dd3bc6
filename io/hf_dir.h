// The weight files of a Hugging Face model directory: model.safetensors,
// or the shards listed by model.safetensors.index.json ({"metadata": {...},
// "weight_map": {tensor: shard file}}). Every shard's header is validated
// (io/safetensors.h) and the index must agree with the shards exactly:
// every shard it names exists, every tensor is in the shard it names, and
// no shard holds a tensor the index does not list there.
#ifndef LM_HF_DIR_H
#define LM_HF_DIR_H

#include "io/safetensors.h"
#include "util/err.h"

#define HF_CONFIG_FILE "config.json"
#define HF_WEIGHTS_FILE "model.safetensors"
#define HF_INDEX_FILE "model.safetensors.index.json"
#define HF_INDEX_MAX_BYTES ((size_t)64 << 20)

typedef struct {
    char *dir;
    int sharded;     // 1: read through the index
    int n_files;
    StFile *files;
} HfWeights;

LmStatus hf_weights_open(HfWeights *w, const char *dir);
void hf_weights_close(HfWeights *w);
// The stored tensor called name, or NULL; *file (if not NULL) receives the
// index of the file holding it.
const StTensor *hf_weights_find(const HfWeights *w, const char *name, int *file);

#endif
