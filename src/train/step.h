// One synchronized optimizer step of full finetuning / pretraining:
// forward + backward on this rank's share of the global batch, gradients
// and target-token counts summed over ranks, loss normalised by the global
// token count (so results do not depend on the number of ranks), NaN/Inf
// check agreed by all ranks, global-norm clipping, AdamW.
#ifndef LM_STEP_H
#define LM_STEP_H

#include "data/batch.h"
#include "model/model.h"
#include "train/grads.h"
#include "train/pack.h"
#include "train/adamw.h"
#include "train/schedule.h"

// Seconds spent per phase, accumulated (for bench and logs). allreduce:
// communication not hidden behind the backward pass (waiting for bucket
// sums, the loss sum).
typedef struct {
    double forward, backward, allreduce, optimizer;
} StepTimes;

typedef struct {
    Model *model;
    Acts acts;
    ParamPack pack;       // the trainable entries, their gradients and moments
    ModelWeights gview;   // gradient views handed to the backward pass
    GradReduce red;       // the step gradient, summed over ranks bucket by bucket
    AdamWHyper hyper;
    Schedule sched;
    double clip;
    int64_t step;         // updates applied so far
    int64_t skipped;      // steps skipped for a non-finite loss or gradient
    StepTimes times;      // accumulated over all steps
    int inject_nan;       // debug.nan_at_step: poison this step's gradient
    double micro_delay;   // debug.micro_batch_delay: s of extra work per micro-batch
} Trainer;

#define STEP_MAX_STREAMS 128

typedef struct {
    double loss;          // global weighted loss per target token
    double n_tokens;      // global target tokens
    double stream_loss[STEP_MAX_STREAMS];    // per micro-batch: mean loss per token
    double stream_tokens[STEP_MAX_STREAMS];  // per micro-batch: global target tokens
    double grad_norm;     // before clipping
    double lr;
    int skipped;          // step not applied: STEP_NONFINITE, STEP_EMPTY or STEP_STOPPED
} StepStats;

// STEP_STOPPED: a stop signal reached some rank before the update; the
// ranks skip their remaining micro-batches and apply nothing, so the state
// is still that of the step before (the caller saves it).
enum { STEP_NONFINITE = 1, STEP_EMPTY = 2, STEP_STOPPED = 3 };

// Builds the pack of `spec` (which entries are trainable) for micro-batches
// of up to B x T tokens, with activation memory options ao (may be NULL).
LmStatus trainer_init(Trainer *tr, Model *m, int B, int T, const AdamWHyper *h,
                      const Schedule *s, double clip, const PackSpec *spec, const ActsOpts *ao);
void trainer_free(Trainer *tr);

// One optimizer step accumulating n micro-batches (one per stream; each
// rank passes its own, possibly empty, share). Micro-batch i belongs to
// direction i of the pack (the masks and routes it uses) and its loss is
// scaled by weight[i] (NULL = all 1); the total is normalised by the global
// target-token count of all n, so the update does not depend on the number
// of ranks.
void trainer_step(Trainer *tr, const Batch *micro, const double *weight, int n, StepStats *out);

// Forward only; returns the global loss sum and token count (allreduced).
void trainer_eval(Trainer *tr, const Batch *local, double *loss_sum, double *n_tokens);

#endif
