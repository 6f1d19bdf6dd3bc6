// RMSNorm (Llama): y = w * x / sqrt(mean(x^2) + eps). Statistics in double.
#include <math.h>

#include <stddef.h>

#include "model/layers.h"

void rmsnorm_forward(float *y, float *rstd, const float *x, const float *w,
                     int N, int C, float eps) {
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *xr = x + (size_t)n * C;
        float *yr = y + (size_t)n * C;
        double ss = 0;
        for (int c = 0; c < C; c++) ss += (double)xr[c] * xr[c];
        float r = (float)(1.0 / sqrt(ss / C + eps));
        rstd[n] = r;
        for (int c = 0; c < C; c++) yr[c] = xr[c] * r * w[c];
    }
}

// With xhat = x*r and g = dy*w:  dx = r * (g - xhat * mean(g * xhat)).
void rmsnorm_backward(float *dx, float *dw, const float *dy, const float *x,
                      const float *rstd, const float *w, int N, int C) {
    if (dx) {
#pragma omp parallel for schedule(static)
        for (int n = 0; n < N; n++) {
            const float *xr = x + (size_t)n * C, *dyr = dy + (size_t)n * C;
            float *dxr = dx + (size_t)n * C;
            float r = rstd[n];
            double dot = 0;
            for (int c = 0; c < C; c++) dot += (double)dyr[c] * w[c] * xr[c] * r;
            float m = (float)(dot / C);
            for (int c = 0; c < C; c++) dxr[c] += r * (dyr[c] * w[c] - xr[c] * r * m);
        }
    }
    if (dw) {
        // Column sums: accumulate per row in order so the result is
        // independent of the thread count.
        for (int n = 0; n < N; n++) {
            const float *xr = x + (size_t)n * C, *dyr = dy + (size_t)n * C;
            float r = rstd[n];
            for (int c = 0; c < C; c++) dw[c] += dyr[c] * xr[c] * r;
        }
    }
}
