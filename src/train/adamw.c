#include "train/adamw.h"

#include <math.h>

void adamw_update(float *p, const float *g, float *m, float *v, size_t n, double lr,
                  const AdamWHyper *h, int64_t step, const unsigned char *decay) {
    double bc1 = 1.0 - pow(h->beta1, (double)(step + 1));
    double bc2 = 1.0 - pow(h->beta2, (double)(step + 1));
    float b1 = (float)h->beta1, b2 = (float)h->beta2;
    float lr_f = (float)lr, wd = (float)h->weight_decay, eps = (float)h->eps;
    float inv_bc1 = (float)(1.0 / bc1), inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2));
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        float mhat = m[i] * inv_bc1;
        float denom = sqrtf(v[i]) * inv_sqrt_bc2 + eps;
        p[i] -= lr_f * (mhat / denom + (decay && decay[i] ? wd * p[i] : 0.0f));
    }
}

double grad_norm(const float *g, size_t n) {
    // Fixed-order blocks then a serial sum: the same value for any thread
    // count, so runs reproduce bit for bit.
    enum { BLK = 4096 };
    size_t nb = (n + BLK - 1) / BLK;
    double total = 0;
    for (size_t b = 0; b < nb; b++) {
        size_t end = (b + 1) * BLK < n ? (b + 1) * BLK : n;
        double s = 0;
        for (size_t i = b * BLK; i < end; i++) s += (double)g[i] * g[i];
        total += s;
    }
    return sqrt(total);
}

double grad_clip(float *g, size_t n, double norm, double clip) {
    if (!(clip > 0) || norm <= clip) return 1.0;
    double f = clip / (norm + 1e-6);
    float ff = (float)f;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) g[i] *= ff;
    return f;
}
