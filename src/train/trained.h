// The model behind any path model.checkpoint takes, for decoding and
// scoring: a standalone model (landermt checkpoint or Hugging Face
// directory) as the model source reads it, or the training checkpoint of a
// selective run — its base plus its trained entries, rebuilt with the
// configuration the run stored, exactly as `landermt export` rebuilds it;
// LoRA adapters stay attached unmerged, and a LANDeRMT run's classes and
// gates become the /landermt state decoding applies.
#ifndef LM_TRAINED_H
#define LM_TRAINED_H

#include "io/ckpt.h"
#include "io/config.h"
#include "train/pack.h"

typedef struct {
    int training;      // 1: m was rebuilt from a training checkpoint
    Config cfg;        // that run's stored configuration
    Neurons nr;
    ParamPack pack;    // owns the LoRA adapters m->lora points at
} Trained;

// Fills m and lm (lm->present = 0 when the model has no /landermt state);
// t keeps what m refers to until trained_free.
LmStatus trained_load(const char *path, Model *m, CkptLandermt *lm, Trained *t);
void trained_free(Trained *t, Model *m, CkptLandermt *lm);

#endif
