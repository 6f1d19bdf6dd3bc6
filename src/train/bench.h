// `landermt bench`: times full training steps (forward, backward,
// allreduce, AdamW) of the configured model on random tokens, and reports
// tokens/s, ms/step, the per-phase split and MFU against the sgemm peak
// measured in the same run on the same threads.
#ifndef LM_BENCH_H
#define LM_BENCH_H
#include "io/config.h"
#include "model/model.h"

// Matmul FLOPs of one training step (forward + backward = 3x forward) for
// b sequences of t tokens, counting the attention products as computed.
double model_train_flops(const ModelConfig *c, int b, int t);
// The least a selective step must compute: the forward, activation gradients
// from the head down to layer `lowest`, weight gradients of `trained` entries.
double model_selective_flops(const ModelConfig *c, int b, int t, int lowest, size_t trained);
// FLOPs of one detect step: the forward and the activation gradients it needs.
double model_detect_flops(const ModelConfig *c, int b, int t);
// Measured single-precision GEMM throughput (GFLOP/s) at size n.
double bench_sgemm_peak(int n, int reps);
LmStatus bench_run(const Config *cfg);

#endif
