// The CAR routing gate of a selected layer: one scalar per token,
// c = scale * sigmoid(w . x + b), computed from the normalised FFN input x.
#include <math.h>
#include <stddef.h>

#include "model/layers.h"

void route_forward(float *c, const float *x, const float *w, float b, float scale, int N, int C) {
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *xr = x + (size_t)n * C;
        double z = b;
        for (int j = 0; j < C; j++) z += (double)w[j] * xr[j];
        c[n] = scale / (1.0f + expf(-(float)z));
    }
}

// dc/dz = scale * sig (1 - sig) = c (1 - c / scale). Serial: the sums over
// rows go into shared gradients, in a fixed order.
void route_backward(float *dx, float *dw, float *db, const float *dc, const float *c,
                    const float *x, const float *w, float scale, int N, int C) {
    for (int n = 0; n < N; n++) {
        float dz = dc[n] * c[n] * (1.0f - c[n] / scale);
        const float *xr = x + (size_t)n * C;
        if (dw) for (int j = 0; j < C; j++) dw[j] += dz * xr[j];
        if (db) *db += dz;
        if (dx) for (int j = 0; j < C; j++) dx[(size_t)n * C + j] += dz * w[j];
    }
}
