// Linear layers: every product is one gemm (gemm.c) over all N tokens, taking W
// in blocks of rows. A 16-bit block is widened into a float32 scratch just
// before its product, so a frozen BF16/F16 matrix never exists in float32
// as a whole; a float32 W is used in place with the same blocks, so the two
// storages give bit-identical results on the same values.
#include <stdlib.h>
#include <string.h>

#include "model/gemm.h"
#include "model/layers.h"
#include "util/alloc.h"
#include "util/half.h"

#define BLOCK_FLOATS (1 << 20)  // 4 MB of float32 per block of W

static int block_rows(int in) {
    int r = BLOCK_FLOATS / in;
    return r < 16 ? 16 : r;
}

// Rows r0 .. r0+n-1 of W (out,in) as float32: in place, or widened into a
// scratch that grows to the largest block seen (calls are sequential).
static const float *mat_rows(Mat W, int in, int r0, int n) {
    static float *scratch;
    static size_t cap;
    size_t need = (size_t)n * in, at = (size_t)r0 * in;
    if (W.dt == DTYPE_F32) return (const float *)W.p + at;
    if (need > cap) {
        free(scratch);
        scratch = falloc(need);
        cap = need;
    }
    half_widen((const uint16_t *)W.p + at, W.dt == DTYPE_BF16, need, scratch);
    return scratch;
}

void linear_forward(float *y, const float *x, Mat W, const float *b, int N, int in, int out) {
    if (b)
        for (int n = 0; n < N; n++) memcpy(y + (size_t)n * out, b, sizeof(float) * out);
    int R = block_rows(in);
    for (int r0 = 0; r0 < out; r0 += R) {
        int nr = out - r0 < R ? out - r0 : R;
        // y[:, r0:r0+nr] (N,nr) = x (N,in) @ W[r0:r0+nr]^T (in,nr)
        gemm(CblasNoTrans, CblasTrans, N, nr, in, 1.0f, x, in,
                    mat_rows(W, in, r0, nr), in, b ? 1.0f : 0.0f, y + r0, out);
    }
}

void linear_backward(float *dx, float *dW, float *db, const float *dy, const float *x, Mat W,
                     int N, int in, int out) {
    int R = block_rows(in);
    for (int r0 = 0; dx && r0 < out; r0 += R) {
        int nr = out - r0 < R ? out - r0 : R;
        // dx (N,in) += dy[:, r0:r0+nr] (N,nr) @ W[r0:r0+nr] (nr,in)
        gemm(CblasNoTrans, CblasNoTrans, N, in, nr, 1.0f, dy + r0, out,
                    mat_rows(W, in, r0, nr), in, 1.0f, dx, in);
    }
    if (dW)  // dW (out,in) += dy^T (out,N) @ x (N,in)
        gemm(CblasTrans, CblasNoTrans, out, in, N, 1.0f, dy, out, x, in,
                    1.0f, dW, in);
    if (db) {
        for (int n = 0; n < N; n++) {
            const float *row = dy + (size_t)n * out;
            for (int o = 0; o < out; o++) db[o] += row[o];
        }
    }
}
