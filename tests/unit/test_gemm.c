// gemm (src/model/gemm.c) agrees with a double-precision product and gives
// the same bytes on 1, 2 and 3 OpenMP threads, for every transpose pair,
// leading dimensions wider than the matrices (the padding untouched),
// beta 0 and 1, shapes cut into row slabs, column slabs, uneven slabs, and
// too small to cut.
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "model/gemm.h"
#include "util/alloc.h"
#include "util/rng.h"

static void fill(float *p, size_t n, Rng *r) {
    for (size_t i = 0; i < n; i++) p[i] = (float)rng_normal(r);
}

// op(X)[i][j] of a row-major X with leading dimension ld
static double at(const float *X, int ld, CBLAS_TRANSPOSE t, int i, int j) {
    return t == CblasNoTrans ? X[(size_t)i * ld + j] : X[(size_t)j * ld + i];
}

static void check_shape(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, float beta) {
    int lda = (ta == CblasNoTrans ? K : M) + 3, ldb = (tb == CblasNoTrans ? N : K) + 5, ldc = N + 2;
    int ra = ta == CblasNoTrans ? M : K, rb = tb == CblasNoTrans ? K : N;
    float *A = falloc((size_t)ra * lda), *B = falloc((size_t)rb * ldb), *C0 = falloc((size_t)M * ldc);
    float *one = falloc((size_t)M * ldc), *got = falloc((size_t)M * ldc);
    Rng r;
    rng_seed(&r, (uint64_t)M * 7919 + N * 31 + K);
    fill(A, (size_t)ra * lda, &r), fill(B, (size_t)rb * ldb, &r), fill(C0, (size_t)M * ldc, &r);
    const float alpha = 0.75f;
    int omp0 = omp_get_max_threads();
    omp_set_num_threads(1);
    memcpy(one, C0, sizeof(float) * (size_t)M * ldc);
    gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, one, ldc);
    double worst = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0, mag = 0;
            for (int k = 0; k < K; k++) {
                double p = at(A, lda, ta, i, k) * at(B, ldb, tb, k, j);
                s += p, mag += fabs(p);
            }
            double want = alpha * s + beta * C0[(size_t)i * ldc + j];
            double err = fabs(one[(size_t)i * ldc + j] - want) / (alpha * mag + fabs(beta * C0[(size_t)i * ldc + j]) + 1e-30);
            worst = err > worst ? err : worst;
        }
    CHECK(worst < 1e-5, "%dx%dx%d ta %d tb %d: relative error %.3g against double", M, N, K, ta, tb, worst);
    for (int t = 2; t <= 3; t++) {
        omp_set_num_threads(t);
        memcpy(got, C0, sizeof(float) * (size_t)M * ldc);
        gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, got, ldc);
        CHECK(!memcmp(got, one, sizeof(float) * (size_t)M * ldc), "%dx%dx%d ta %d tb %d beta %g: %d threads "
              "differ from 1 (padding included)", M, N, K, ta, tb, beta, t);
    }
    omp_set_num_threads(omp0);
    free(A), free(B), free(C0), free(one), free(got);
}

static void test_products_and_thread_counts(void) {
    // tall (row slabs), wide (column slabs), uneven slabs, one slab, tiny (one call)
    const int shapes[][3] = {{700, 70, 129}, {70, 801, 65}, {517, 517, 33}, {200, 90, 40}, {5, 7, 3}, {64, 2048, 16}};
    const CBLAS_TRANSPOSE tr[] = {CblasNoTrans, CblasTrans};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++)
                for (int z = 0; z < 2; z++)
                    check_shape(tr[a], tr[b], shapes[s][0], shapes[s][1], shapes[s][2], z ? 1.0f : 0.0f);
}

int main(void) {
    gemm_init();
    RUN(test_products_and_thread_counts);
    return harness_finish();
}
