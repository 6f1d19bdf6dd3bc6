// Token embedding lookup and its scatter-add gradient.
#include <string.h>

#include <stddef.h>

#include "model/layers.h"

void embedding_forward(float *x, const float *E, const int *tokens, int N, int C) {
    for (int n = 0; n < N; n++)
        memcpy(x + (size_t)n * C, E + (size_t)tokens[n] * C, sizeof(float) * C);
}

// Serial on purpose: rows can repeat, and a fixed order keeps it exact.
void embedding_backward(float *dE, const float *dx, const int *tokens, int N, int C) {
    for (int n = 0; n < N; n++) {
        float *row = dE + (size_t)tokens[n] * C;
        const float *g = dx + (size_t)n * C;
        for (int c = 0; c < C; c++) row[c] += g[c];
    }
}
