// SwiGLU activation of the Llama FFN: h = silu(gate) * up. Each of the F
// columns is one "FFN neuron" in the LANDeRMT sense (DESIGN §3). With CAR
// routing each neuron's pre-activations are scaled per row (layers.h).
// The sigmoids take e^-g a chunk of a row at a time (exp_batch).
#include <stddef.h>

#include "model/layers.h"
#include "model/model.h"
#include "model/vexp.h"

#define CHUNK 256  // neurons per exp_batch call

// For neurons i0 .. i0+m-1 of row n: the route scale s[j], g[j] = s * gate
// and e[j] = e^-g[j].
static void chunk_exp(float *s, float *g, float *e, const float *gate, int n, int i0, int m, int F,
                      const ActRoute *r) {
    for (int j = 0; j < m; j++) {
        s[j] = act_route_scale(r, n, i0 + j);
        g[j] = s[j] * gate[(size_t)n * F + i0 + j];
        e[j] = -g[j];
    }
    exp_batch(e, e, m);
}

void swiglu_forward(float *h, const float *gate, const float *up, int N, int F,
                    const ActRoute *r) {
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        float s[CHUNK], g[CHUNK], e[CHUNK];
        for (int i0 = 0; i0 < F; i0 += CHUNK) {
            int m = F - i0 < CHUNK ? F - i0 : CHUNK;
            chunk_exp(s, g, e, gate, n, i0, m, F, r);
            for (int j = 0; j < m; j++) {
                size_t k = (size_t)n * F + i0 + j;
                float sg = 1.0f / (1.0f + e[j]);
                h[k] = g[j] * sg * (s[j] * up[k]);
            }
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
        float s[CHUNK], g[CHUNK], e[CHUNK];
        for (int i0 = 0; i0 < F; i0 += CHUNK) {
            int m = F - i0 < CHUNK ? F - i0 : CHUNK;
            chunk_exp(s, g, e, gate, n, i0, m, F, r);
            for (int j = 0; j < m; j++) {
                int i = i0 + j;
                size_t k = (size_t)n * F + i;
                float u = s[j] * up[k], sg = 1.0f / (1.0f + e[j]);
                float dg = dh[k] * u * (sg + g[j] * sg * (1.0f - sg)), du = dh[k] * g[j] * sg;
                dgate[k] += s[j] * dg;
                dup[k] += s[j] * du;
                if (r && r->cls[i] != NEURON_REST)
                    dsum += (r->cls[i] == NEURON_GENERAL ? 1.0 : -1.0) * ((double)dg * gate[k] + (double)du * up[k]);
            }
        }
        if (r) dc[n] += (float)dsum;
    }
}
