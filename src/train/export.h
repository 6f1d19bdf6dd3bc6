// `landermt export` / `landermt convert`: a model -> a standalone landermt
// checkpoint (export.format hdf5: every parameter, the /landermt group, no
// training state) or a Hugging Face directory (export.format hf:
// config.json, safetensors in export.dtype sharded at export.max_shard_size,
// the source's tokenizer files, the LANDeRMT sidecar). docs/models.md.
#ifndef LM_EXPORT_H
#define LM_EXPORT_H

#include "io/config.h"

// in: a training checkpoint (applied to its base model.checkpoint with the
// run's train.mode, train.neurons, data.directions and routing.*), or a
// standalone model (checkpoint without /train, or Hugging Face directory).
LmStatus export_run(const Config *cfg, const char *in, const char *out, const char *config_text);

// `landermt init`: a randomly initialised Hugging Face directory from a
// config.json (or a model directory's), values as model_init_random draws
// them from (train.seed, model.init_std), written tensor by tensor in
// export.dtype: no float32 copy of the model is ever held.
LmStatus init_run(const Config *cfg, const char *config_json, const char *out);

#endif
