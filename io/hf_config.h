// Hugging Face config.json <-> ModelConfig, by model_type (docs/models.md):
//   llama    Llama 2/3.x, TinyLlama: head_dim, attention_bias (q/k/v and o),
//            rope_scaling default | llama3 (also under the legacy key "type")
//   mistral  llama + sliding_window (null = none)
//   qwen2    q/k/v biases, sliding_window only with use_sliding_window
//   bloom    n_layer/n_head/hidden_size (or n_embed), layer_norm_epsilon,
//            intermediate = 4 hidden, positions up to seq_length (ALiBi
//            itself has no limit; 2048 when absent)
// Fields a family may leave out take transformers' defaults; the sizes are
// required. Unknown model types and unsupported features are usage errors
// (exit 2) naming the field and listing what is supported.
#ifndef LM_HF_CONFIG_H
#define LM_HF_CONFIG_H

#include <stddef.h>

#include "model/model.h"
#include "util/err.h"

#define HF_CONFIG_MAX_BYTES ((size_t)16 << 20)

// The largest value accepted for an integer model field read from a file
// (config.json or a checkpoint's /config, by its Hugging Face name): the
// ranges of the model.* keys (docs/config.md). Larger values mean a damaged
// file; they would size tables and buffers before any tensor is read.
long long hf_config_max(const char *key);

// model_config_check with the message naming `what` (the file).
LmStatus hf_config_check(const ModelConfig *cfg, const char *what);

// Parses config.json text; `what` names its file in errors.
LmStatus hf_config_parse(const char *text, size_t len, const char *what, ModelConfig *cfg);
// Reads and parses path; *text (if not NULL) receives the file's text.
LmStatus hf_config_read(const char *path, ModelConfig *cfg, char **text);

// Special token ids for a synthesised config.json (-1 = unknown).
typedef struct {
    int bos, eos, pad;
} HfTokenIds;

// config.json text for a model of cfg stored as torch_dtype ("float32",
// "bfloat16", "float16"). With source (a config.json this model came from)
// every field of the source is kept and only torch_dtype changes; without,
// the file is synthesised from cfg (llama with q/k/v but no o bias =
// qwen2). LM_EUSAGE when cfg cannot be expressed in its model_type.
LmStatus hf_config_text(const ModelConfig *cfg, const char *source, const char *torch_dtype,
                        const HfTokenIds *ids, char **out);

// An integer field of config.json text (the first element of a list, as
// Llama 3's eos_token_id), or -1 when absent.
int hf_config_token_id(const char *text, const char *key);
// The torch_dtype field of config.json text, or "" (into out, n bytes).
void hf_config_torch_dtype(const char *text, char *out, size_t n);

#endif
