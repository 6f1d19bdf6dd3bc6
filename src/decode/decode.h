// Decoding: batched greedy search and beam search over the KV cache, the
// CAR routes of a finetuned checkpoint for one direction, and the
// `landermt translate` command (docs/decoding.md).
#ifndef LM_DECODE_H
#define LM_DECODE_H

#include <stdint.h>

#include "io/ckpt.h"
#include "io/config.h"
#include "model/model.h"

typedef struct {
    int beam;             // 1 = greedy
    int max_new_tokens;   // generated tokens per prompt, eos excluded
    int eos_id;
    int max_len;          // cap on prompt + generated tokens (the model's
                          // max_position_embeddings); 0 = none
    int n_vocab;          // only ids < n_vocab are generated (the tokenizer's
                          // size when the model's vocabulary is larger); 0 = all
} DecodeOpts;

// n prompts back to back: prompt r = ids[off[r] : off[r+1]], each non-empty.
typedef struct {
    int n;
    const int32_t *ids;
    const int64_t *off;
} DecodePrompts;

// Generated tokens of prompt r: out[r * max_new_tokens ...], n_out[r] of
// them, eos excluded. Decoding stops at eos, after max_new_tokens, or when
// prompt + output reach max_len.
void decode_greedy(const Model *m, const DecodePrompts *p, const DecodeOpts *o, int32_t *out,
                   int *n_out);
// Beam search of width o->beam (beam.c): the best finished hypothesis by
// log-probability divided by its length (eos included).
void decode_beam(const Model *m, const DecodePrompts *p, const DecodeOpts *o, int32_t *out,
                 int *n_out);
// decode_greedy for beam 1, else decode_beam.
void decode_batch(const Model *m, const DecodePrompts *p, const DecodeOpts *o, int32_t *out,
                  int *n_out);

// Tokens a prompt of `len` tokens may generate (max_new_tokens, cut by
// max_len).
int decode_budget(const DecodeOpts *o, int64_t len);
// Ids a model of vocab_size V may generate under o (n_vocab, or V).
int decode_vocab(const DecodeOpts *o, int V);

// CAR routes of one direction from a checkpoint's /landermt group.
typedef struct {
    FfnRoute *route;      // [L] for Model.route; NULL = plain model
    unsigned char *cls;   // (k, F) classes of the selected layers
} DecodeRouting;

// Routes of direction dir ("s-t"): in each selected layer, general neurons
// are GENERAL, neurons specific to dir's units (unit "direction": the unit
// named dir; "language": the units of s and t) are SPECIFIC, the rest REST
// — a direction without units gets no specific neurons. The gate is dir's
// own when the checkpoint has per-direction gates (LM_EUSAGE naming the
// gate directions if dir has none), else the single one; scale =
// routing_scale. No group or no gates: route = NULL.
LmStatus decode_routing_init(DecodeRouting *r, const CkptLandermt *lm, const ModelConfig *cfg,
                             const char *dir, const char *ckpt_path);
void decode_routing_free(DecodeRouting *r);

// `landermt translate` (translate.c).
LmStatus translate_run(const Config *cfg);

#endif
