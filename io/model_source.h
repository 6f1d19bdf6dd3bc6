// Where a model comes from, behind one interface: a landermt HDF5
// checkpoint or a Hugging Face model directory (config.json + safetensors,
// single or sharded). Commands take either wherever model.checkpoint is
// accepted and never ask which one it is.
//
//   ModelSource s;
//   model_source_open(&s, path);   // config + every check that needs no values
//   model_source_load(&s, &model); // parameters, widened to float32
//   model_source_landermt(&s, &lm);// /landermt of a checkpoint, or the sidecar
//   model_source_close(&s);
#ifndef LM_MODEL_SOURCE_H
#define LM_MODEL_SOURCE_H

#include "io/ckpt.h"
#include "io/hf_dir.h"
#include "model/model.h"

typedef struct {
    char path[1024];
    int hf;                  // 1: Hugging Face directory, 0: landermt checkpoint
    ModelConfig cfg;
    char *config_json;       // HF: config.json; checkpoint: its stored source config.json or NULL
    char dtype[16];          // dtype the weights were published in: float32 | bfloat16 | float16
    // Hugging Face directories only:
    HfWeights weights;
    Model table;             // the tensor table of cfg (no data)
    const StTensor **src;    // [table.n_tensors] the stored tensor of each table entry
    const StTensor *lm_head; // a tied model's stored lm_head.weight (must equal the embedding)
} ModelSource;

// 1 if path is a directory (read as a Hugging Face model directory).
int model_source_is_hf(const char *path);

// Reads the configuration and validates everything that needs no values:
// for a directory, config.json, every safetensors header, the index, and
// the stored tensors against the architecture's table (each missing,
// unexpected or mis-shaped tensor listed). BLOOM names are accepted with
// or without "transformer."; "*.rotary_emb.inv_freq" buffers are ignored.
LmStatus model_source_open(ModelSource *s, const char *path);
// model_init(m, &s->cfg) and every parameter (F16/BF16 widened exactly;
// NaN/Inf refused naming the tensor). m is freed on failure.
LmStatus model_source_load(ModelSource *s, Model *m);
// The LANDeRMT state: a checkpoint's /landermt group, or the directory's
// sidecar (LANDERMT_SIDECAR); present = 0 when there is none.
LmStatus model_source_landermt(const ModelSource *s, CkptLandermt *lm);
void model_source_close(ModelSource *s);
// Every check of model_source_load without building the model: values
// scanned piece by piece (inspect).
LmStatus model_source_verify(const ModelSource *s);

// Open, load and close in one call.
LmStatus model_source_read(const char *path, Model *m);
// The LANDeRMT state of the model at path, validated against cfg.
LmStatus model_source_read_landermt(const char *path, const ModelConfig *cfg, CkptLandermt *lm);

#endif
