// Causal grouped-query attention. For each sequence b and query head h
// (served by key/value head h / (H/KV)):
//   S = Q K^T / sqrt(D) (+ ALiBi) (T,T), P = causal softmax(S), ctx = P V (T,D).
// Q, K, V, ctx are strided views into the (B,T,heads*D) activations, so
// every product is one sgemm with a leading dimension and no copies.
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "model/layers.h"

void alibi_slopes(float *slopes, int H) {
    // BLOOM: the closest power of two p <= H gets slopes b^1..b^p with
    // b = 2^(-8/p); the remaining heads take every other power of the base
    // for 2p.
    int p = 1;
    while (2 * p <= H) p *= 2;
    double base = pow(2.0, -8.0 / p), extra = pow(2.0, -8.0 / (2 * p));
    for (int h = 0; h < p; h++) slopes[h] = (float)pow(base, h + 1);
    for (int h = p; h < H; h++) slopes[h] = (float)pow(extra, 2 * (h - p) + 1);
}

// Row i of P (rows, cols) is the query at position off + i: it attends to
// keys lo .. off+i (lo > 0 under a sliding window); ALiBi adds slope * j to
// key j first. Every other entry gets 0.
static void softmax_causal(float *P, int rows, int cols, int off, const AttnMask *mk, int h) {
    float slope = mk->alibi ? mk->alibi[h] : 0.0f;
    for (int i = 0; i < rows; i++) {
        float *row = P + (size_t)i * cols;
        int last = off + i, lo = mk->window && last >= mk->window ? last - mk->window + 1 : 0;
        if (slope != 0.0f)
            for (int j = lo; j <= last; j++) row[j] += slope * (float)j;
        float mx = row[lo];
        for (int j = lo + 1; j <= last; j++) mx = row[j] > mx ? row[j] : mx;
        float sum = 0;
        for (int j = lo; j <= last; j++) sum += (row[j] = expf(row[j] - mx));
        float inv = 1.0f / sum;
        for (int j = 0; j < lo; j++) row[j] = 0;
        for (int j = lo; j <= last; j++) row[j] *= inv;
        for (int j = last + 1; j < cols; j++) row[j] = 0;
    }
}

void attention_forward(float *ctx, float *att, const float *q, const float *k,
                       const float *v, int B, int T, int H, int KV, int D, const AttnMask *mk) {
    int QD = H * D, KD = KV * D, group = H / KV;
    float scale = 1.0f / sqrtf((float)D);
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < H; h++) {
            const float *Q = q + (size_t)b * T * QD + (size_t)h * D;           // (T,D) ld QD
            const float *K = k + (size_t)b * T * KD + (size_t)(h / group) * D; // (T,D) ld KD
            const float *V = v + (size_t)b * T * KD + (size_t)(h / group) * D; // (T,D) ld KD
            float *P = att + ((size_t)b * H + h) * T * T;                      // (T,T)
            float *O = ctx + (size_t)b * T * QD + (size_t)h * D;               // (T,D) ld QD
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, D, scale, Q, QD, K, KD,
                        0.0f, P, T);
            softmax_causal(P, T, T, 0, mk, h);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, D, T, 1.0f, P, T, V, KD,
                        0.0f, O, QD);
        }
    }
}

void attention_forward_cached(float *ctx, float *scratch, const float *q, const float *k,
                              const float *v, int n, int p0, int H, int KV, int D,
                              const AttnMask *mk) {
    int QD = H * D, KD = KV * D, group = H / KV, S = p0 + n;
    float scale = 1.0f / sqrtf((float)D);
    for (int h = 0; h < H; h++) {
        const float *Q = q + (size_t)h * D;            // (n,D) ld QD
        const float *K = k + (size_t)(h / group) * D;  // (S,D) ld KD
        const float *V = v + (size_t)(h / group) * D;  // (S,D) ld KD
        float *O = ctx + (size_t)h * D;                // (n,D) ld QD
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, S, D, scale, Q, QD, K, KD, 0.0f,
                    scratch, S);  // (n,S)
        softmax_causal(scratch, n, S, p0, mk, h);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, D, S, 1.0f, scratch, S, V, KD,
                    0.0f, O, QD);
    }
}

// dS = P * (dP - rowsum(dP * P)) / sqrt(D); masked entries have P = 0
// (ALiBi adds constants to the scores: nothing to differentiate).
static void softmax_backward(float *dS, const float *P, int T, float scale) {
    for (int i = 0; i < T; i++) {
        float *d = dS + (size_t)i * T;
        const float *p = P + (size_t)i * T;
        float dot = 0;
        for (int j = 0; j <= i; j++) dot += d[j] * p[j];
        for (int j = 0; j <= i; j++) d[j] = p[j] * (d[j] - dot) * scale;
        for (int j = i + 1; j < T; j++) d[j] = 0;
    }
}

void attention_backward(float *dq, float *dk, float *dv, float *scratch,
                        const float *dctx, const float *att, const float *q,
                        const float *k, const float *v, int B, int T, int H,
                        int KV, int D) {
    int QD = H * D, KD = KV * D, group = H / KV;
    float scale = 1.0f / sqrtf((float)D);
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < H; h++) {
            size_t qo = (size_t)b * T * QD + (size_t)h * D;
            size_t ko = (size_t)b * T * KD + (size_t)(h / group) * D;
            const float *P = att + ((size_t)b * H + h) * T * T;  // (T,T)
            float *dP = scratch;                                 // (T,T)
            // dP = dctx V^T ; dV += P^T dctx
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, D, 1.0f, dctx + qo, QD,
                        v + ko, KD, 0.0f, dP, T);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, D, T, 1.0f, P, T, dctx + qo,
                        QD, 1.0f, dv + ko, KD);
            softmax_backward(dP, P, T, scale);
            // dQ += dS K ; dK += dS^T Q
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, D, T, 1.0f, dP, T, k + ko,
                        KD, 1.0f, dq + qo, QD);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, D, T, 1.0f, dP, T, q + qo,
                        QD, 1.0f, dk + ko, KD);
        }
    }
}
