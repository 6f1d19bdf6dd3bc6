// Every matrix product of the model (row-major, as cblas_sgemm):
//   C (M,N) = alpha op(A) (M,K) @ op(B) (K,N) + beta C
// gemm.c explains how it uses the threads.
#ifndef LANDERMT_GEMM_H
#define LANDERMT_GEMM_H

#include <cblas.h>

void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, float alpha, const float *A,
          int lda, const float *B, int ldb, float beta, float *C, int ldc);

// Sets up the threading gemm relies on (OpenBLAS single-threaded); call once at start-up.
void gemm_init(void);

#endif
