// The LoRA segments of a ParamPack (pack.h), for pack.c.
#ifndef LM_PACK_LORA_H
#define LM_PACK_LORA_H

#include "train/pack.h"

// Adds one A, B segment per layer (all, or the neurons file's selected
// ones) and target to p, fills A's initial values, and points
// p->lora_set / p->lora_grad at them. LM_EUSAGE naming lora.target or
// lora.rank when a target is not a linear of this family or the rank
// exceeds a matrix side.
LmStatus pack_lora_layout(ParamPack *p, const Model *m, const PackSpec *s);
// Points the views at p->param / p->grad (once they are allocated).
void pack_lora_views(ParamPack *p);
// A's initial values (B is 0), deterministic in seed.
void pack_lora_init(ParamPack *p, uint64_t seed);
void pack_lora_free(ParamPack *p);

#endif
