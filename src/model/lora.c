// LoRA branch of a linear layer: y += (alpha / r) B (A x). The rank r is
// small, so the branch costs two thin sgemms per direction; the frozen W
// is untouched (its product runs in linear.c).
#include <cblas.h>

#include "model/layers.h"

void lora_forward(float *y, float *u, const float *x, const float *A, const float *B,
                  float scale, int N, int in, int out, int r) {
    // u (N,r) = x (N,in) @ A^T (in,r)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, r, in, 1.0f, x, in, A, in, 0.0f, u, r);
    // y (N,out) += scale u (N,r) @ B^T (r,out)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, out, r, scale, u, r, B, r, 1.0f, y, out);
}

void lora_backward(float *dx, float *dA, float *dB, float *t, const float *dy, const float *x,
                   const float *u, const float *A, const float *B, float scale, int N, int in,
                   int out, int r) {
    if (dB)  // dB (out,r) += scale dy^T (out,N) @ u (N,r)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, r, N, scale, dy, out, u, r,
                    1.0f, dB, r);
    if (!dA && !dx) return;
    // t (N,r) = dy (N,out) @ B (out,r)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, r, out, 1.0f, dy, out, B, r, 0.0f, t, r);
    if (dA)  // dA (r,in) += scale t^T (r,N) @ x (N,in)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r, in, N, scale, t, r, x, in, 1.0f,
                    dA, in);
    if (dx)  // dx (N,in) += scale t (N,r) @ A (r,in)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, r, scale, t, r, A, in, 1.0f,
                    dx, in);
}
