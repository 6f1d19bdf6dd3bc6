// Token embedding lookup and its scatter-add gradient.
#include <string.h>

#include <stddef.h>

#include "model/layers.h"
#include "util/half.h"

void embedding_forward(float *x, Mat E, const int *tokens, int N, int C) {
    for (int n = 0; n < N; n++) {
        size_t at = (size_t)tokens[n] * C;
        if (E.dt == DTYPE_F32) memcpy(x + (size_t)n * C, (const float *)E.p + at, sizeof(float) * C);
        else half_widen((const uint16_t *)E.p + at, E.dt == DTYPE_BF16, (size_t)C, x + (size_t)n * C);
    }
}

// Serial on purpose: rows can repeat, and a fixed order keeps it exact.
void embedding_backward(float *dE, const float *dx, const int *tokens, int N, int C) {
    for (int n = 0; n < N; n++) {
        float *row = dE + (size_t)tokens[n] * C;
        const float *g = dx + (size_t)n * C;
        for (int c = 0; c < C; c++) row[c] += g[c];
    }
}
