// SwiGLU activation of the Llama FFN: h = silu(gate) * up. Each of the F
// columns is one "FFN neuron" in the LANDeRMT sense (DESIGN §3).
#include <math.h>

#include <stddef.h>

#include "model/layers.h"

static inline float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

void swiglu_forward(float *h, const float *gate, const float *up, long n) {
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) h[i] = gate[i] * sigmoidf(gate[i]) * up[i];
}

// d silu(g)/dg = s + g s (1 - s), with s = sigmoid(g).
void swiglu_backward(float *dgate, float *dup, const float *dh, const float *gate,
                     const float *up, long n) {
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) {
        float s = sigmoidf(gate[i]), g = gate[i];
        if (dgate) dgate[i] += dh[i] * up[i] * (s + g * s * (1.0f - s));
        if (dup) dup[i] += dh[i] * g * s;
    }
}
