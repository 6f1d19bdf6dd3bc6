// Checkpoint files (format "landermt.checkpoint", see docs/formats.md):
//   /config     attributes named as in Hugging Face config.json
//   /params/<HF tensor name>   float32, HF shape
//   /tokenizer  copied from the corpus the model was trained on
//   /train      optional training state (step, config text, RNG, cursor,
//               AdamW moments per tensor, metric history)
#ifndef LM_CKPT_H
#define LM_CKPT_H

#include <stdint.h>

#include "io/neurons.h"
#include "model/model.h"
#include "util/err.h"

#define CKPT_FORMAT "landermt.checkpoint"
#define CKPT_VERSION 2  // 2: /config model_type, head_dim, rope_scaling.*, sliding_window, biases
#define CKPT_MAX_CURSORS 4096  // data streams of one run (directions + languages)

typedef struct {
    int64_t step;         // optimizer steps completed
    int n_cursors;        // data position per training stream
    char **cursor_names;  // [n_cursors] stream names ("de-en", "en"); read: one
                          // malloc'ed block (pointers + strings)
    int64_t *cursor_epoch;  // [n_cursors]
    int64_t *cursor_pos;    // [n_cursors] next global position within the epoch
    uint64_t rng[2];      // trainer RNG state
    float *exp_avg;       // AdamW first moment, laid out like Model.data (or NULL)
    float *exp_avg_sq;    // AdamW second moment
    int n_hist;           // metric history, one entry per logged step
    int64_t *hist_step;
    double *hist_loss;    // training loss
    double *hist_val;     // validation loss (NaN when not evaluated)
    int64_t skipped_steps;
    char slurm_job_id[32];   // SLURM_JOB_ID of the writer ("" outside Slurm)
    int64_t restart_count;   // SLURM_RESTART_COUNT: requeues so far
    // Selective modes store only their packed trainable entries (no /params),
    // plus a reference to the base checkpoint they apply to.
    int64_t n_packed;     // 0 = a full checkpoint
    float *packed, *packed_m, *packed_v;  // (n_packed) values and AdamW moments
    // Reading: with packed_borrow set, the three packed datasets go straight
    // into packed_into[k] (room for packed_cap floats each) instead of new
    // allocations, and a NULL one is not read at all — a 7B run's packed
    // state is gigabytes, and most readers need only part of it.
    int packed_borrow;
    float *packed_into[3];
    size_t packed_cap;
    uint64_t layout_hash; // identity of the pack layout (refuses another one)
    char base_path[1024];
    uint64_t base_checksum;  // model_checksum of the base parameters
} TrainState;

// LANDeRMT state every consumer of a finetuned model applies: selected
// layers, neuron classes and the routing gates (/landermt).
typedef struct {
    const Neurons *neurons;
    int n_gates;              // 0 = no routing
    const float *gates;       // (n_gates, k, C+1): w (C) then b, per gate and selected layer
    double scale;
    const char *const *gate_dirs;  // [n_gates] directions when per-direction, else NULL
} LandermtState;

void train_state_free(TrainState *ts);

// Writes atomically (temporary file, flush, fsync, rename, fsync dir):
// an interrupted or failed write leaves any previous file at `path` intact.
// config_text (resolved YAML) is stored as /train attribute "config" and
// also as root attribute "config_yaml". ts may be NULL (model-only file);
// with ts->n_packed the file holds the packed entries instead of /params
// (root attribute contents = "trainable"). tokenizer_from: an HDF5 file
// whose /tokenizer group is copied (NULL: an empty /tokenizer group with
// attribute type = "none"). lm may be NULL (no /landermt group).
LmStatus ckpt_write(const char *path, const Model *m, const char *config_text,
                    const TrainState *ts, const char *tokenizer_from, const LandermtState *lm);

// A standalone model (no training state): as ckpt_write, plus the
// config.json text of the Hugging Face model it came from (NULL: none),
// stored as /config attribute hf_config_json so an export to Hugging Face
// format reproduces it.
LmStatus ckpt_write_model(const char *path, const Model *m, const char *config_text,
                          const char *tokenizer_from, const LandermtState *lm,
                          const char *hf_config_json);
#define CKPT_HF_CONFIG_ATTR "hf_config_json"
// The stored config.json text (malloc'ed), or *json = NULL when absent.
LmStatus ckpt_read_hf_config(const char *path, char **json);

// 1 if the checkpoint holds only trainable entries (no /params).
int ckpt_is_trainable_only(const char *path);
// 1 if the file is a checkpoint with a /train group (a training checkpoint).
int ckpt_is_training(const char *path);

// Reads and validates /config into cfg.
LmStatus ckpt_read_config(const char *path, ModelConfig *cfg);

// Checks that the file holds a model of the tensor table (model_table_init;
// no data) before anyone allocates one: every tensor present, with its
// shape and its data stored; not a trainable-only checkpoint.
LmStatus ckpt_check_params(const char *path, const Model *table);

// Loads parameters into m (already model_init'ed with a matching config):
// every expected tensor must be present with its exact shape, and no
// unexpected tensor may be present; errors name each offender.
// If ts != NULL, /train must exist and is loaded (moments allocated with
// m->numel floats). A trainable-only checkpoint loads no parameters (the
// caller loaded its base) and fills ts's packed fields instead.
LmStatus ckpt_read(const char *path, Model *m, TrainState *ts);

// /landermt of a standalone checkpoint as decoding applies it
// (io/ckpt_landermt.c; docs/decoding.md).
typedef struct {
    int present;              // 0: the file has no /landermt group (a plain model)
    Neurons neurons;          // units, unit_kind, k, selected, owner (k, F); no
                              // scores (U = units, L = layers, F of the model)
    int n_gates;              // G; 0 = no routing gates
    float *gates;             // (G, k, C+1): w (C) then b, as in LandermtState
    double scale;             // routing_scale
    char (*gate_dirs)[NEURONS_NAME];  // [G] names of /landermt/gate_directions, or NULL
} CkptLandermt;

// Reads and validates /landermt against the model configuration cfg:
// selected layers in range and ascending, classes that partition every
// selected layer, gate shapes (G, C) and (G) with finite values, G names
// in gate_directions when G > 1. Errors name the file and the dataset
// (LM_ERUNTIME). An absent group gives present = 0 and LM_OK.
LmStatus ckpt_read_landermt(const char *path, const ModelConfig *cfg, CkptLandermt *lm);
void ckpt_landermt_free(CkptLandermt *lm);
// The same state as a LandermtState for writers; dirs (room for
// lm->n_gates pointers) receives the gate directions.
void ckpt_landermt_state(const CkptLandermt *lm, const char **dirs, LandermtState *out);

// Writes the /landermt group (docs/formats.md) into an open file.
LmStatus ckpt_landermt_write(hid_t f, const LandermtState *lm, int C);

// The LANDeRMT sidecar of an exported Hugging Face directory: a small HDF5
// file (format "landermt.state") holding only the /landermt group, which
// the model source applies like a checkpoint's (docs/formats.md).
#define LANDERMT_SIDECAR "landermt_state.h5"
#define SIDECAR_FORMAT "landermt.state"
#define SIDECAR_VERSION 1
LmStatus ckpt_sidecar_write(const char *path, const LandermtState *lm, int C);
// present = 0 (and LM_OK) when the file does not exist.
LmStatus ckpt_sidecar_read(const char *path, const ModelConfig *cfg, CkptLandermt *lm);

#endif
