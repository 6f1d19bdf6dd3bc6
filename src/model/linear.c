// Linear layers: every product is one cblas_sgemm over all N tokens.
#include <cblas.h>
#include <string.h>

#include "model/layers.h"

void linear_forward(float *y, const float *x, const float *W, const float *b,
                    int N, int in, int out) {
    if (b) {
        for (int n = 0; n < N; n++) memcpy(y + (size_t)n * out, b, sizeof(float) * out);
    }
    // y (N,out) = x (N,in) @ W^T (in,out)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, out, in, 1.0f, x, in, W, in,
                b ? 1.0f : 0.0f, y, out);
}

void linear_backward(float *dx, float *dW, float *db, const float *dy,
                     const float *x, const float *W, int N, int in, int out) {
    if (dx)  // dx (N,in) += dy (N,out) @ W (out,in)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, out, 1.0f, dy, out, W,
                    in, 1.0f, dx, in);
    if (dW)  // dW (out,in) += dy^T (out,N) @ x (N,in)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, N, 1.0f, dy, out, x, in,
                    1.0f, dW, in);
    if (db) {
        for (int n = 0; n < N; n++) {
            const float *row = dy + (size_t)n * out;
            for (int o = 0; o < out; o++) db[o] += row[o];
        }
    }
}
