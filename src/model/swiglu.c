// SwiGLU activation of the Llama FFN: h = silu(gate) * up. Each of the F
// columns is one "FFN neuron" in the LANDeRMT sense (DESIGN §3). With CAR
// routing each neuron's pre-activations are scaled per row (layers.h).
#include <math.h>
#include <stddef.h>

#include "model/layers.h"
#include "model/model.h"

static inline float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

void swiglu_forward(float *h, const float *gate, const float *up, int N, int F,
                    const ActRoute *r) {
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        for (int i = 0; i < F; i++) {
            size_t k = (size_t)n * F + i;
            float s = act_route_scale(r, n, i), g = s * gate[k];
            h[k] = g * sigmoidf(g) * (s * up[k]);
        }
    }
}

// d silu(g)/dg = sig + g sig (1 - sig). For routed rows also
// dL/ds = dL/dg' g + dL/du' u, which flows to c with sign +1 (general) or
// -1 (specific).
void swiglu_backward(float *dgate, float *dup, float *dc, const float *dh, const float *gate,
                     const float *up, int N, int F, const ActRoute *r) {
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        double dsum = 0;
        for (int i = 0; i < F; i++) {
            size_t k = (size_t)n * F + i;
            float s = act_route_scale(r, n, i), g = s * gate[k], u = s * up[k];
            float sg = sigmoidf(g), dg = dh[k] * u * (sg + g * sg * (1.0f - sg)), du = dh[k] * g * sg;
            dgate[k] += s * dg;
            dup[k] += s * du;
            if (r && r->cls[i] != NEURON_REST)
                dsum += (r->cls[i] == NEURON_GENERAL ? 1.0 : -1.0) * ((double)dg * gate[k] + (double)du * up[k]);
        }
        if (r) dc[n] += (float)dsum;
    }
}
