// Matrix products on the OpenMP threads. C is cut into slabs of
// GEMM_SLAB rows (or columns, when C is wider than tall) and the OpenMP
// threads share out the slabs, each calling single-threaded OpenBLAS on
// its own. One thread pool then serves matrix products, attention tasks and
// element-wise loops: with the pthread OpenBLAS's workers beside OpenMP's,
// each pool's idle threads spin or yield on the cores the other needs (a
// fifth of the step's CPU time went to sched_yield). The slabs depend only
// on the shape, never on the thread count, because OpenBLAS's rounding of
// an element depends on where the element sits in the product: the same
// slabs give the same bytes on 1, 2 or 3 threads (tests/unit/test_gemm.c).
#include "model/gemm.h"

#include <omp.h>

void openblas_set_num_threads(int);

// Below this many multiply-adds one call does it all.
#define GEMM_MIN_SLABBED (1 << 18)
// Rows (or columns) of C per slab. Measured on the bench model (2 threads,
// steps of 1024 tokens): 128 gave 268-275 ms, 64 and 96 281-313 ms, 256
// 297 ms, 512 308 ms (a slab of A stays in cache while OpenBLAS streams B).
#define GEMM_SLAB 128

void gemm_init(void) { openblas_set_num_threads(1); }

void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, float alpha, const float *A,
          int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    int rows = M >= N, len = rows ? M : N, slab = GEMM_SLAB;
    int parts = (len + slab - 1) / slab;
    if (parts <= 1 || (double)M * N * K < GEMM_MIN_SLABBED) {
        cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    // a caller already inside a parallel region does every slab itself
#pragma omp parallel for schedule(static) if (!omp_in_parallel())
    for (int p = 0; p < parts; p++) {
        int a0 = p * slab, n = len - a0 < slab ? len - a0 : slab;
        if (rows)  // rows a0.. of op(A) and of C
            cblas_sgemm(CblasRowMajor, ta, tb, n, N, K, alpha,
                        A + (ta == CblasNoTrans ? (size_t)a0 * lda : (size_t)a0), lda, B, ldb, beta,
                        C + (size_t)a0 * ldc, ldc);
        else  // columns a0.. of op(B) and of C
            cblas_sgemm(CblasRowMajor, ta, tb, M, n, K, alpha, A, lda,
                        B + (tb == CblasNoTrans ? (size_t)a0 : (size_t)a0 * ldb), ldb, beta, C + a0, ldc);
    }
}
