#include "model/vexp.h"

#include <immintrin.h>
#include <math.h>

__m128 _ZGVbN4v_expf(__m128 x);  // libmvec's expf over four lanes (glibc >= 2.22)

void exp_batch(float *y, const float *x, int n) {
    int i = 0;
    for (; i + 4 <= n; i += 4) _mm_storeu_ps(y + i, _ZGVbN4v_expf(_mm_loadu_ps(x + i)));
    for (; i < n; i++) y[i] = expf(x[i]);
}

float max_of(const float *x, int n) {
    float m[4] = {x[0], x[0], x[0], x[0]};
    int i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++) m[j] = x[i + j] > m[j] ? x[i + j] : m[j];
    for (; i < n; i++) m[0] = x[i] > m[0] ? x[i] : m[0];
    float a = m[0] > m[1] ? m[0] : m[1], b = m[2] > m[3] ? m[2] : m[3];
    return a > b ? a : b;
}
