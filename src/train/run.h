// The state of one `landermt train` run, shared by the loop (loop.c) and
// its checkpoints (run_ckpt.c).
#ifndef LM_RUN_H
#define LM_RUN_H

#include <stdio.h>

#include "io/ckpt.h"
#include "io/config.h"
#include "io/neurons.h"
#include "train/memory.h"
#include "train/step.h"
#include "train/streams.h"

typedef struct {
    const Config *cfg;
    const char *config_text;
    Model model;
    Trainer tr;
    StreamSet ss;
    Neurons neurons;         // train.neurons, for the selective modes
    TrainState hist;         // metric history
    uint64_t base_checksum;  // of the model before training
    double best_val;         // lowest validation loss so far
    FILE *metrics;           // <out_dir>/metrics.jsonl on rank 0 (appended on resume)
    double t_start;          // for the ETA
    int64_t it_start;        // iteration this process started at
    int64_t saved_step;      // step of the newest step_N.h5 written or resumed (-1: none)
    double slowest_step;     // s, of this process's steps (for the hang deadline)
    MemPlan mem;             // the plan checked at start-up, reported after the first step
    double mem_start;        // node PSS (bytes) before the model was loaded
} Run;

// Writes <out_dir>/<name> (rank 0, atomically) with everything a resume
// needs; all ranks agree on the outcome. A full-mode checkpoint is
// standalone; the selective modes store only the packed entries plus a
// reference to the base model.
LmStatus run_save(Run *r, const char *name);
// step_<N>.h5 for the current step, then drop all but the newest
// train.keep_last of them.
LmStatus run_save_step(Run *r);
// Restores weights, optimizer state, step, cursors and metrics from
// train.resume ("auto": the newest step_*.h5 of train.out_dir, if any).
LmStatus run_resume(Run *r);

#endif
