// FFN layers whose trained neurons live in the trainer's packed buffer
// (Model.packed, FfnPacked): the products take those neurons' rows from
// there and every other neuron from the layer's (frozen) tensors, so a
// model trained neuron by neuron never needs float32 copies of them.
//   z = x W^T       the packed rows' columns replace W's (gate, up);
//   y = h Wd^T + b  packed neurons through their rows, the others through
//                   Wd with the packed columns of h zeroed;
// and the transposes for the backward pass.
#include <string.h>

#include "model/block.h"
#include "model/gemm.h"

// out (N,n) = the packed neurons' columns of x (N,F); or back into x.
static void cols_gather(float *out, const float *x, const FfnPacked *pk, int N, int F) {
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++)
        for (int r = 0; r < pk->n; r++) out[(size_t)i * pk->n + r] = x[(size_t)i * F + pk->neuron[r]];
}

static void cols_scatter(float *x, const float *in, const FfnPacked *pk, int N, int F) {
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++)
        for (int r = 0; r < pk->n; r++) x[(size_t)i * F + pk->neuron[r]] = in[(size_t)i * pk->n + r];
}

// x (N,F) with the packed neurons' columns zeroed, into out.
static void cols_masked(float *out, const float *x, const FfnPacked *pk, int N, int F) {
    memcpy(out, x, sizeof(float) * (size_t)N * F);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++)
        for (int r = 0; r < pk->n; r++) out[(size_t)i * F + pk->neuron[r]] = 0.0f;
}

void packed_proj_forward(float *z, const float *xn, Mat W, const FfnPacked *pk, const float *rows,
                         int N, int C, int F, float *tmp) {
    if (pk->n < F) linear_forward(z, xn, W, NULL, N, C, F);  // (N,F) frozen rows
    // tmp (N,n) = xn (N,C) @ rows^T (C,n)
    gemm(CblasNoTrans, CblasTrans, N, pk->n, C, 1.0f, xn, C, rows, C, 0.0f, tmp, pk->n);
    cols_scatter(z, tmp, pk, N, F);
}

void packed_proj_backward(float *dxn, const float *dz, Mat W, const FfnPacked *pk, const float *rows,
                          int N, int C, int F, float *tmp_nf, float *tmp_nn) {
    if (!dxn) return;
    if (pk->n < F) {  // dxn += dz (frozen columns) @ W
        cols_masked(tmp_nf, dz, pk, N, F);
        linear_backward(dxn, NULL, NULL, tmp_nf, NULL, W, N, C, F);
    }
    cols_gather(tmp_nn, dz, pk, N, F);  // dxn += dz_packed (N,n) @ rows (n,C)
    gemm(CblasNoTrans, CblasNoTrans, N, C, pk->n, 1.0f, tmp_nn, pk->n, rows, C,
                1.0f, dxn, C);
}

void packed_down_forward(float *out, const float *h, Mat Wd, const float *bd, const FfnPacked *pk,
                         int N, int F, int C, float *tmp_nf, float *tmp_nn) {
    if (pk->n < F) {
        cols_masked(tmp_nf, h, pk, N, F);
        linear_forward(out, tmp_nf, Wd, bd, N, F, C);  // (N,C) frozen neurons + bias
    } else {
        for (int i = 0; i < N; i++)
            if (bd) memcpy(out + (size_t)i * C, bd, sizeof(float) * C);
            else memset(out + (size_t)i * C, 0, sizeof(float) * C);
    }
    cols_gather(tmp_nn, h, pk, N, F);  // out += h_packed (N,n) @ down rows (n,C)
    gemm(CblasNoTrans, CblasNoTrans, N, C, pk->n, 1.0f, tmp_nn, pk->n, pk->down, C,
                1.0f, out, C);
}

void packed_down_backward(float *dh, const float *dy, Mat Wd, const FfnPacked *pk, int N, int F, int C,
                          float *tmp_nn) {
    if (pk->n < F) linear_backward(dh, NULL, NULL, dy, NULL, Wd, N, F, C);  // dh += dy @ Wd
    // the packed neurons' columns: dy (N,C) @ down rows^T (C,n)
    gemm(CblasNoTrans, CblasTrans, N, pk->n, C, 1.0f, dy, C, pk->down, C, 0.0f,
                tmp_nn, pk->n);
    cols_scatter(dh, tmp_nn, pk, N, F);
}

const float *packed_up_bias(const LayerParams *w, const FfnPacked *pk, int F, float *buf) {
    if (!w->up_bias || !pk->up_bias) return w->up_bias;
    memcpy(buf, w->up_bias, sizeof(float) * F);
    for (int r = 0; r < pk->n; r++) buf[pk->neuron[r]] = pk->up_bias[r];
    return buf;
}

const FfnPacked *block_packed(const Model *m, int l) {
    return m->packed && m->packed[l].n ? &m->packed[l] : NULL;
}
