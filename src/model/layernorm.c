// LayerNorm (BLOOM): y = w * (x - mean) / sqrt(var + eps) + b, biased
// variance over the C features of a row. Statistics in double.
#include <math.h>
#include <stddef.h>

#include "model/layers.h"

void layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *w,
                       const float *b, int N, int C, float eps) {
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *xr = x + (size_t)n * C;
        float *yr = y + (size_t)n * C;
        double s = 0, ss = 0;
        for (int c = 0; c < C; c++) s += xr[c];
        double mu = s / C;
        for (int c = 0; c < C; c++) ss += ((double)xr[c] - mu) * ((double)xr[c] - mu);
        float r = (float)(1.0 / sqrt(ss / C + eps)), m = (float)mu;
        mean[n] = m, rstd[n] = r;
        for (int c = 0; c < C; c++) yr[c] = (xr[c] - m) * r * w[c] + b[c];
    }
}

// With xhat = (x - mean) r and g = dy w:
// dx = r (g - mean(g) - xhat mean(g xhat)); dw += dy xhat; db += dy.
void layernorm_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                        const float *mean, const float *rstd, const float *w, int N, int C) {
    if (dx) {
#pragma omp parallel for schedule(static)
        for (int n = 0; n < N; n++) {
            const float *xr = x + (size_t)n * C, *dyr = dy + (size_t)n * C;
            float *dxr = dx + (size_t)n * C;
            float r = rstd[n], m = mean[n];
            double sg = 0, sgx = 0;
            for (int c = 0; c < C; c++) {
                double g = (double)dyr[c] * w[c];
                sg += g;
                sgx += g * (xr[c] - m) * r;
            }
            float mg = (float)(sg / C), mgx = (float)(sgx / C);
            for (int c = 0; c < C; c++) dxr[c] += r * (dyr[c] * w[c] - mg - (xr[c] - m) * r * mgx);
        }
    }
    // Column sums row by row in order: independent of the thread count.
    for (int n = 0; (dw || db) && n < N; n++) {
        const float *xr = x + (size_t)n * C, *dyr = dy + (size_t)n * C;
        float r = rstd[n], m = mean[n];
        for (int c = 0; dw && c < C; c++) dw[c] += dyr[c] * (xr[c] - m) * r;
        for (int c = 0; db && c < C; c++) db[c] += dyr[c];
    }
}
