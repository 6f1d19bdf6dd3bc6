// GELU FFN activation of BLOOM, tanh approximation:
//   gelu(x) = x/2 (1 + tanh(k x (1 + a x^2))), k = sqrt(2/pi), a = 0.044715,
// applied to the pre-activation s*z + b of each neuron (layers.h: the CAR
// scale s multiplies the neuron's input, not its bias).
#include <math.h>
#include <stddef.h>

#include "model/layers.h"

#define GELU_K 0.79788456f  // sqrt(2/pi) as BLOOM writes it
#define GELU_A 0.044715f

static inline float gelu(float x) {
    return 0.5f * x * (1.0f + tanhf(GELU_K * x * (1.0f + GELU_A * x * x)));
}

static inline float gelu_grad(float x) {
    float t = tanhf(GELU_K * x * (1.0f + GELU_A * x * x));
    return 0.5f * x * (1.0f - t * t) * (GELU_K + 3.0f * GELU_A * GELU_K * x * x) + 0.5f * (1.0f + t);
}

void gelu_forward(float *h, const float *z, const float *b, int N, int F, const ActRoute *r) {
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++)
        for (int i = 0; i < F; i++) {
            size_t k = (size_t)n * F + i;
            h[k] = gelu(act_route_scale(r, n, i) * z[k] + b[i]);
        }
}

// dL/ds of a routed neuron is dpre * z; it reaches c with sign +1
// (general) or -1 (specific).
void gelu_backward(float *dz, float *dpre, float *dc, const float *dh, const float *z,
                   const float *b, int N, int F, const ActRoute *r) {
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        double dsum = 0;
        for (int i = 0; i < F; i++) {
            size_t k = (size_t)n * F + i;
            float s = act_route_scale(r, n, i), d = dh[k] * gelu_grad(s * z[k] + b[i]);
            dpre[k] = d;
            dz[k] += s * d;
            if (r && r->cls[i] != NEURON_REST)
                dsum += (r->cls[i] == NEURON_GENERAL ? 1.0 : -1.0) * (double)d * z[k];
        }
        if (r) dc[n] += (float)dsum;
    }
}
