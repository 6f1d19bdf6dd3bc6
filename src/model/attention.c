// Causal grouped-query attention. For each sequence b and query head h
// (served by key/value head h / (H/KV)):
//   S = Q K^T / sqrt(D) (+ ALiBi) (T,T), P = causal softmax(S), ctx = P V (T,D).
// Q, K, V, ctx are strided views into the (B,T,heads*D) activations, so
// every product is one sgemm with a leading dimension and no copies.
//
// The products of one head are small (128 x 128 x 32 at the bench size):
// run one after another, each pays OpenBLAS's thread hand-off and leaves
// the softmax single-threaded. So the heads are tasks spread over the
// OpenMP threads, each task running its own sgemms single-threaded and its
// own softmax. A task computes exactly what the serial loop computed with
// single-threaded sgemms, so the result does not depend on the number of
// threads or on which thread ran a task.
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "model/layers.h"
#include "model/vexp.h"
#include "util/alloc.h"

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
        float mx = max_of(row + lo, last + 1 - lo);
        for (int j = lo; j <= last; j++) row[j] -= mx;
        exp_batch(row + lo, row + lo, last + 1 - lo);
        float part[4] = {0, 0, 0, 0};  // four interleaved sums: no add waits on the last
        int j = lo;
        for (; j + 4 <= last + 1; j += 4)
            for (int u = 0; u < 4; u++) part[u] += row[j + u];
        for (; j <= last; j++) part[0] += row[j];
        float sum = (part[0] + part[1]) + (part[2] + part[3]);
        float inv = 1.0f / sum;
        for (int j = 0; j < lo; j++) row[j] = 0;
        for (int j = lo; j <= last; j++) row[j] *= inv;
        for (int j = last + 1; j < cols; j++) row[j] = 0;
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

// ------------------------------------------------------------ work split

typedef void (*AttnTask)(const void *ctx, int task, float *scratch);

// Runs tasks 0..n-1, each with a scratch slice of its own thread, spread
// over the OpenMP threads (at most s.slices and n). OpenBLAS is
// single-threaded throughout (gemm.c), so the sgemms of concurrent tasks run
// side by side and every one sums in the same order whatever the thread count.
static void attn_run(int n, AttnTask fn, const void *ctx, AttnScratch s) {
    if (n <= 0) return;
    int threads = omp_in_parallel() ? 1 : omp_get_max_threads();  // called from a parallel region: run in it
    if (threads > s.slices) threads = s.slices;
    if (threads > n) threads = n;
#pragma omp parallel num_threads(threads)
    {
        float *mine = s.p ? s.p + (size_t)omp_get_thread_num() * s.stride : NULL;
#pragma omp for schedule(dynamic)
        for (int i = 0; i < n; i++) fn(ctx, i, mine);
    }
}

// ------------------------------------------------------ training forward

typedef struct {
    float *ctx, *att;
    const float *q, *k, *v;
    int T, H, KV, D;
    const AttnMask *mk;
} Fwd;

// Task b*H + h: sequence b, query head h.
static void fwd_task(const void *p, int task, float *scratch) {
    const Fwd *f = p;
    int T = f->T, H = f->H, D = f->D, QD = H * D, KD = f->KV * D, b = task / H, h = task % H;
    int g = h / (H / f->KV);
    float scale = 1.0f / sqrtf((float)D);
    (void)scratch;
    const float *Q = f->q + (size_t)b * T * QD + (size_t)h * D;  // (T,D) ld QD
    const float *K = f->k + (size_t)b * T * KD + (size_t)g * D;  // (T,D) ld KD
    const float *V = f->v + (size_t)b * T * KD + (size_t)g * D;  // (T,D) ld KD
    float *P = f->att + (size_t)task * T * T;                    // (T,T)
    float *O = f->ctx + (size_t)b * T * QD + (size_t)h * D;      // (T,D) ld QD
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, D, scale, Q, QD, K, KD, 0.0f, P, T);
    softmax_causal(P, T, T, 0, f->mk, h);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, D, T, 1.0f, P, T, V, KD, 0.0f, O, QD);
}

void attention_forward(float *ctx, float *att, const float *q, const float *k,
                       const float *v, int B, int T, int H, int KV, int D, const AttnMask *mk) {
    Fwd f = {ctx, att, q, k, v, T, H, KV, D, mk};
    attn_run(B * H, fwd_task, &f, (AttnScratch){NULL, 0, omp_get_max_threads()});
}

// ----------------------------------------------------- cached (decoding)

typedef struct {
    float *ctx;
    const float *q;
    float *const *k, *const *v;
    const int *n, *p0, *first;
    int H, KV, D;
    const AttnMask *mk;
} Cached;

// Task r*H + h: the new queries of row r, query head h.
static void cached_task(const void *p, int task, float *scratch) {
    const Cached *c = p;
    int H = c->H, D = c->D, QD = H * D, KD = c->KV * D, r = task / H, h = task % H;
    int n = c->n[r], S = c->p0[r] + n, g = h / (H / c->KV);
    if (n == 0) return;
    float scale = 1.0f / sqrtf((float)D);
    const float *Q = c->q + (size_t)c->first[r] * QD + (size_t)h * D;  // (n,D) ld QD
    const float *K = c->k[r] + (size_t)g * D;                          // (S,D) ld KD
    const float *V = c->v[r] + (size_t)g * D;                          // (S,D) ld KD
    float *O = c->ctx + (size_t)c->first[r] * QD + (size_t)h * D;      // (n,D) ld QD
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, S, D, scale, Q, QD, K, KD, 0.0f,
                scratch, S);  // (n,S)
    softmax_causal(scratch, n, S, c->p0[r], c->mk, h);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, D, S, 1.0f, scratch, S, V, KD, 0.0f,
                O, QD);
}

void attention_forward_cached(float *ctx, AttnScratch s, const float *q, float *const *k,
                              float *const *v, const int *n, const int *p0, int rows, int H,
                              int KV, int D, const AttnMask *mk) {
    int *first = xmalloc(sizeof(int) * (size_t)(rows + 1));
    first[0] = 0;
    for (int r = 0; r < rows; r++) first[r + 1] = first[r] + n[r];
    Cached c = {ctx, q, k, v, n, p0, first, H, KV, D, mk};
    attn_run(rows * H, cached_task, &c, s);
    free(first);
}

// ----------------------------------------------------- training backward

typedef struct {
    float *dq, *dk, *dv;
    const float *dctx, *att, *q, *k, *v;
    int T, H, KV, D;
} Bwd;

// Task b*KV + g: sequence b, key/value head g and the query heads it
// serves, in order — they all add into the same dK and dV columns.
static void bwd_task(const void *p, int task, float *dP) {
    const Bwd *w = p;
    int T = w->T, H = w->H, D = w->D, QD = H * D, KD = w->KV * D, group = H / w->KV;
    int b = task / w->KV, g = task % w->KV;
    float scale = 1.0f / sqrtf((float)D);
    size_t ko = (size_t)b * T * KD + (size_t)g * D;
    for (int h = g * group; h < (g + 1) * group; h++) {
        size_t qo = (size_t)b * T * QD + (size_t)h * D;
        const float *P = w->att + ((size_t)b * H + h) * T * T;  // (T,T)
        // dP (T,T) = dctx V^T ; dV += P^T dctx
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, D, 1.0f, w->dctx + qo, QD,
                    w->v + ko, KD, 0.0f, dP, T);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, D, T, 1.0f, P, T, w->dctx + qo,
                    QD, 1.0f, w->dv + ko, KD);
        softmax_backward(dP, P, T, scale);
        // dQ += dS K ; dK += dS^T Q
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, D, T, 1.0f, dP, T, w->k + ko,
                    KD, 1.0f, w->dq + qo, QD);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, D, T, 1.0f, dP, T, w->q + qo,
                    QD, 1.0f, w->dk + ko, KD);
    }
}

void attention_backward(float *dq, float *dk, float *dv, AttnScratch s, const float *dctx,
                        const float *att, const float *q, const float *k, const float *v, int B,
                        int T, int H, int KV, int D) {
    Bwd w = {dq, dk, dv, dctx, att, q, k, v, T, H, KV, D};
    attn_run(B * KV, bwd_task, &w, s);
}
