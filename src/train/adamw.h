// AdamW with decoupled weight decay and bias correction, over segments of
// flat parameter / gradient / moment arrays (one segment per tensor, so
// decay can be switched per tensor and selective training can reuse it on
// packed buffers).
#ifndef LM_ADAMW_H
#define LM_ADAMW_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    double beta1, beta2, eps, weight_decay;
} AdamWHyper;

// One update of p[0..n) with gradient gscale * g (gscale: the clipping
// factor, grad_clip_factor); m, v are the moments of the same entries. step is 0-based (bias correction uses step + 1). decay != 0
// applies weight decay to the segment (the project's rule: entries of 2-D
// weights only, see docs/training.md).
void adamw_update(float *p, const float *g, float gscale, float *m, float *v, size_t n, double lr,
                  const AdamWHyper *h, int64_t step, int decay);

// Global L2 norm of g[0..n), accumulated in double: squares summed per
// block of ADAMW_NORM_BLOCK entries, then the blocks in order — the same
// value for any thread count, and when the blocks are summed by different
// owners (grad_norm_blocks) and added up in order (grad_norm_total).
#define ADAMW_NORM_BLOCK 4096
double grad_norm(const float *g, size_t n);
// part[b] = the sum of squares of block b, for blocks [b0, b1) of g[0..n).
void grad_norm_blocks(const float *g, size_t n, size_t b0, size_t b1, double *part);
// sqrt of the sum of part[0..nb) in order.
double grad_norm_total(const double *part, size_t nb);
// The factor clip/(norm+1e-6) that scales the gradient when
// norm > clip > 0 (torch's clip_grad_norm_ rule), else 1; adamw_update
// applies it as it reads each gradient entry.
float grad_clip_factor(double norm, double clip);

#endif
