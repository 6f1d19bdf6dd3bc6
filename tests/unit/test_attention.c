// The attention kernels against a double-precision reference written out
// loop by loop, and their results bit for bit the same with 1, 2 and 3
// OpenMP threads and 1 or 2 OpenBLAS threads outside (attention.c runs
// (sequence, head) tasks with single-threaded sgemms). Grouped-query heads,
// ALiBi and a sliding window; decoding rows with different cache lengths,
// one row without new queries.
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "model/gemm.h"
#include "model/layers.h"
#include "util/alloc.h"
#include "util/rng.h"

enum { B = 3, T = 9, H = 4, KV = 2, D = 5, QD = H * D, KD = KV * D };

typedef struct {
    float q[B * T * QD], k[B * T * KD], v[B * T * KD], dctx[B * T * QD];
} Inputs;

typedef struct {
    float ctx[B * T * QD], att[B * H * T * T], dq[B * T * QD], dk[B * T * KD], dv[B * T * KD];
} Outputs;

static void fill(float *x, int n, Rng *r) {
    for (int i = 0; i < n; i++) x[i] = rng_normal(r);
}

// Key j is visible to the query at position i.
static int visible(const AttnMask *mk, int i, int j) {
    return j <= i && (!mk->window || i - j < mk->window);
}

// Reference forward and backward of one (sequence, head) in double; the
// outputs point at the head's columns.
static void reference_head(const Inputs *in, const AttnMask *mk, int b, int h, double *ctx,
                           double *dq, double *dk, double *dv) {
    int g = h / (H / KV);
    const float *Q = in->q + (size_t)b * T * QD + h * D, *dO = in->dctx + (size_t)b * T * QD + h * D;
    const float *K = in->k + (size_t)b * T * KD + g * D, *V = in->v + (size_t)b * T * KD + g * D;
    double P[T][T], dP[T][T], scale = 1.0 / sqrt((double)D);
    for (int i = 0; i < T; i++) {
        double mx = -INFINITY, sum = 0;
        for (int j = 0; j < T; j++) {
            double s = 0;
            for (int e = 0; e < D; e++) s += (double)Q[i * QD + e] * K[j * KD + e];
            P[i][j] = s * scale + (mk->alibi ? mk->alibi[h] * (double)j : 0);
            if (visible(mk, i, j) && P[i][j] > mx) mx = P[i][j];
        }
        for (int j = 0; j < T; j++) sum += (P[i][j] = visible(mk, i, j) ? exp(P[i][j] - mx) : 0);
        for (int j = 0; j < T; j++) P[i][j] /= sum;
    }
    for (int i = 0; i < T; i++) {
        double dot = 0;
        for (int j = 0; j < T; j++) {
            dP[i][j] = 0;
            for (int e = 0; e < D; e++) dP[i][j] += (double)dO[i * QD + e] * V[j * KD + e];
            dot += dP[i][j] * P[i][j];
        }
        for (int j = 0; j < T; j++) dP[i][j] = P[i][j] * (dP[i][j] - dot) * scale;  // dS
    }
    for (int i = 0; i < T; i++)
        for (int e = 0; e < D; e++)
            for (int j = 0; j < T; j++) {
                ctx[i * QD + e] += P[i][j] * V[j * KD + e];
                dq[i * QD + e] += dP[i][j] * K[j * KD + e];
                dk[j * KD + e] += dP[i][j] * Q[i * QD + e];
                dv[j * KD + e] += P[i][j] * dO[i * QD + e];
            }
}

static void run_kernels(const Inputs *in, const AttnMask *mk, Outputs *o) {
    memset(o, 0, sizeof *o);
    attention_forward(o->ctx, o->att, in->q, in->k, in->v, B, T, H, KV, D, mk);
    int slices = omp_get_max_threads();
    float *scratch = falloc((size_t)slices * T * T);
    AttnScratch s = {scratch, (size_t)T * T, slices};
    attention_backward(o->dq, o->dk, o->dv, s, in->dctx, o->att, in->q, in->k, in->v, B, T, H, KV,
                       D);
    free(scratch);
}

static double max_diff(const float *got, const double *want, int n, double *scale) {
    double m = 0;
    *scale = 0;
    for (int i = 0; i < n; i++) {
        m = fmax(m, fabs(got[i] - want[i]));
        *scale = fmax(*scale, fabs(want[i]));
    }
    return m;
}

static void check_reference(const Inputs *in, const AttnMask *mk, const Outputs *o, const char *what) {
    static double ctx[B * T * QD], dq[B * T * QD], dk[B * T * KD], dv[B * T * KD];
    memset(ctx, 0, sizeof ctx), memset(dq, 0, sizeof dq), memset(dk, 0, sizeof dk), memset(dv, 0, sizeof dv);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            reference_head(in, mk, b, h, ctx + b * T * QD + h * D, dq + b * T * QD + h * D,
                           dk + b * T * KD + h / (H / KV) * D, dv + b * T * KD + h / (H / KV) * D);
    const float *got[] = {o->ctx, o->dq, o->dk, o->dv};
    const double *want[] = {ctx, dq, dk, dv};
    const int n[] = {B * T * QD, B * T * QD, B * T * KD, B * T * KD};
    const char *name[] = {"ctx", "dq", "dk", "dv"};
    for (int t = 0; t < 4; t++) {
        double scale, d = max_diff(got[t], want[t], n[t], &scale);
        CHECK(d <= 2e-6 * scale && scale > 0, "%s %s: max|diff| %.3g of max %.3g", what, name[t], d,
              scale);
    }
}

// Every OpenMP thread count gives the 1-thread bytes (OpenBLAS is
// single-threaded inside the tasks, as gemm_init sets it for the program).
static void check_thread_counts(const Inputs *in, const AttnMask *mk, const char *what) {
    static Outputs one, other;
    int omp0 = omp_get_max_threads();
    omp_set_num_threads(1);
    run_kernels(in, mk, &one);
    check_reference(in, mk, &one, what);
    for (int t = 2; t <= 3; t++) {
        omp_set_num_threads(t);
        run_kernels(in, mk, &other);
        CHECK(!memcmp(&one, &other, sizeof one), "%s: %d threads", what, t);
    }
    omp_set_num_threads(omp0);
}

static void test_training_kernels(void) {
    static Inputs in;
    Rng r;
    rng_seed(&r, 7);
    fill(in.q, B * T * QD, &r), fill(in.k, B * T * KD, &r), fill(in.v, B * T * KD, &r);
    fill(in.dctx, B * T * QD, &r);
    float slopes[H];
    alibi_slopes(slopes, H);
    check_thread_counts(&in, &(AttnMask){0}, "causal");
    check_thread_counts(&in, &(AttnMask){.alibi = slopes}, "alibi");
    check_thread_counts(&in, &(AttnMask){.window = 3}, "window");
}

// Decoding: row r has n[r] new queries after p0[r] cached positions; its
// context equals the training forward's at those positions.
static void run_cached(const Inputs *in, const AttnMask *mk, const int *n, const int *p0,
                       float *ctx) {
    float q[B * T * QD], *k[B], *v[B];
    for (int r = 0, at = 0; r < B; at += n[r++]) {
        memcpy(q + at * QD, in->q + ((size_t)r * T + p0[r]) * QD, sizeof(float) * n[r] * QD);
        k[r] = (float *)in->k + (size_t)r * T * KD, v[r] = (float *)in->v + (size_t)r * T * KD;
    }
    int slices = omp_get_max_threads();
    float *scratch = falloc((size_t)slices * T * T);
    AttnScratch s = {scratch, (size_t)T * T, slices};
    attention_forward_cached(ctx, s, q, k, v, n, p0, B, H, KV, D, mk);
    free(scratch);
}

static void test_cached_rows(void) {
    static Inputs in;
    static Outputs full;
    Rng r;
    rng_seed(&r, 11);
    fill(in.q, B * T * QD, &r), fill(in.k, B * T * KD, &r), fill(in.v, B * T * KD, &r);
    float slopes[H];
    alibi_slopes(slopes, H);
    const int n[B] = {1, 0, 4}, p0[B] = {8, 3, 2};
    AttnMask masks[] = {{0}, {.alibi = slopes}, {.window = 3}};
    for (int m = 0; m < 3; m++) {
        float one[5 * QD], other[5 * QD];
        int omp0 = omp_get_max_threads();
        omp_set_num_threads(1);
        run_kernels(&in, &masks[m], &full);
        run_cached(&in, &masks[m], n, p0, one);
        for (int row = 0, at = 0; row < B; at += n[row++])
            for (int i = 0; i < n[row] * QD; i++) {
                float want = full.ctx[((size_t)row * T + p0[row]) * QD + i];
                CHECK(fabsf(one[at * QD + i] - want) <= 1e-5f, "mask %d row %d entry %d: %g vs %g",
                      m, row, i, one[at * QD + i], want);
            }
        omp_set_num_threads(2);
        run_cached(&in, &masks[m], n, p0, other);
        CHECK(!memcmp(one, other, sizeof one), "mask %d: cached rows, 2 threads = 1 thread", m);
        omp_set_num_threads(omp0);
    }
}

int main(void) {
    gemm_init();
    RUN(test_training_kernels);
    RUN(test_cached_rows);
    return harness_finish();
}
