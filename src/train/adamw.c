#include "train/adamw.h"

#include <math.h>
#include <stdlib.h>

void adamw_update(float *p, const float *g, float gscale, float *m, float *v, size_t n, double lr,
                  const AdamWHyper *h, int64_t step, int decay) {
    double bc1 = 1.0 - pow(h->beta1, (double)(step + 1));
    double bc2 = 1.0 - pow(h->beta2, (double)(step + 1));
    float b1 = (float)h->beta1, b2 = (float)h->beta2;
    float lr_f = (float)lr, wd = decay ? (float)h->weight_decay : 0.0f, eps = (float)h->eps;
    float inv_bc1 = (float)(1.0 / bc1), inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2));
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] * gscale;
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        float mhat = m[i] * inv_bc1;
        float denom = sqrtf(v[i]) * inv_sqrt_bc2 + eps;
        p[i] -= lr_f * (mhat / denom + wd * p[i]);
    }
}

// Blocks in parallel; within a block four interleaved partial sums, added
// in a fixed order, so that no add waits on the one before.
void grad_norm_blocks(const float *g, size_t n, size_t b0, size_t b1, double *part) {
#pragma omp parallel for schedule(static)
    for (size_t b = b0; b < b1; b++) {
        size_t i = b * ADAMW_NORM_BLOCK, end = (b + 1) * ADAMW_NORM_BLOCK < n ? (b + 1) * ADAMW_NORM_BLOCK : n;
        double s[4] = {0, 0, 0, 0};
        for (; i + 4 <= end; i += 4)
            for (int j = 0; j < 4; j++) s[j] += (double)g[i + j] * g[i + j];
        for (; i < end; i++) s[0] += (double)g[i] * g[i];
        part[b] = (s[0] + s[1]) + (s[2] + s[3]);
    }
}

double grad_norm_total(const double *part, size_t nb) {
    double total = 0;
    for (size_t b = 0; b < nb; b++) total += part[b];
    return sqrt(total);
}

double grad_norm(const float *g, size_t n) {
    size_t nb = (n + ADAMW_NORM_BLOCK - 1) / ADAMW_NORM_BLOCK;
    double *part = malloc(sizeof(double) * (nb + 1));
    grad_norm_blocks(g, n, 0, nb, part);
    double norm = grad_norm_total(part, nb);
    free(part);
    return norm;
}

float grad_clip_factor(double norm, double clip) {
    if (!(clip > 0) || norm <= clip) return 1.0f;
    return (float)(clip / (norm + 1e-6));
}
