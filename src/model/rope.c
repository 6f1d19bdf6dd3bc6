// Rotary position embedding, Hugging Face "rotate_half" convention: within
// each head, element i pairs with element i + D/2 and both rotate by the
// angle pos * theta^(-2i/D).
#include <math.h>

#include <stddef.h>

#include "model/layers.h"

// Llama 3.1 rescaling of one frequency: wavelengths longer than the
// original context / low_freq_factor slow down by `factor`, shorter than
// original / high_freq_factor stay, and those between blend smoothly.
static float llama3_scale(float inv_freq, const ModelConfig *c) {
    float old_ctx = (float)c->rope_original_max_position_embeddings;
    float low_wavelen = old_ctx / c->rope_low_freq_factor;
    float high_wavelen = old_ctx / c->rope_high_freq_factor;
    float wavelen = 2.0f * 3.14159265358979323846f / inv_freq;
    if (wavelen < high_wavelen) return inv_freq;
    if (wavelen > low_wavelen) return inv_freq / c->rope_factor;
    float smooth = (old_ctx / wavelen - c->rope_low_freq_factor) /
                   (c->rope_high_freq_factor - c->rope_low_freq_factor);
    return (1.0f - smooth) * inv_freq / c->rope_factor + smooth * inv_freq;
}

void rope_tables(float *cos_t, float *sin_t, int T, int D, const ModelConfig *c) {
    int half = D / 2;
    for (int i = 0; i < half; i++) {
        // HF computes inv_freq in float32; keep that rounding.
        float inv_freq = (float)(1.0 / pow((double)c->rope_theta, (double)(2 * i) / D));
        if (c->rope_scaling == ROPE_LLAMA3) inv_freq = llama3_scale(inv_freq, c);
        for (int t = 0; t < T; t++) {
            float angle = (float)t * inv_freq;
            cos_t[t * half + i] = cosf(angle);
            sin_t[t * half + i] = sinf(angle);
        }
    }
}

// sign = +1 rotates forward, -1 applies the inverse (= transpose) rotation.
// Row n sits at position pos[n], or n % T for pos == NULL (batches of
// equal-length rows).
static void rope_rotate(float *x, const float *cos_t, const float *sin_t, const int *pos, int N,
                        int T, int heads, int D, float sign) {
    int half = D / 2;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        size_t p = (size_t)(pos ? pos[n] : n % T);
        const float *c = cos_t + p * half, *s = sin_t + p * half;
        for (int h = 0; h < heads; h++) {
            float *v = x + (size_t)n * heads * D + (size_t)h * D;
            for (int i = 0; i < half; i++) {
                float a = v[i], b = v[i + half], si = sign * s[i];
                v[i] = a * c[i] - b * si;
                v[i + half] = b * c[i] + a * si;
            }
        }
    }
}

void rope_forward(float *x, const float *cos_t, const float *sin_t, int N, int T, int heads,
                  int D) {
    rope_rotate(x, cos_t, sin_t, NULL, N, T, heads, D, 1.0f);
}

void rope_backward(float *dx, const float *cos_t, const float *sin_t, int N, int T, int heads,
                   int D) {
    rope_rotate(dx, cos_t, sin_t, NULL, N, T, heads, D, -1.0f);
}

void rope_forward_at(float *x, const float *cos_t, const float *sin_t, const int *pos, int N,
                     int heads, int D) {
    rope_rotate(x, cos_t, sin_t, pos, N, 1, heads, D, 1.0f);
}
