// y[i] = e^x[i] for i < n, four at a time through glibc's vector math
// library (libmvec, part of libc6: the SSE variant, which every x86-64-v2
// CPU runs). libm's expf is one call per element, and the cross-entropy
// and SwiGLU take some 17 M exponentials per bench step; libmvec's are
// within 4 ulp (glibc's documented bound) and about 1.6x faster there.
// y may be x.
#ifndef LANDERMT_VEXP_H
#define LANDERMT_VEXP_H

void exp_batch(float *y, const float *x, int n);

// max of x[0..n), n >= 1, over four interleaved running maxima, so that no
// compare waits on the one before (a softmax's first pass); the same value
// as a plain loop, NaN aside.
float max_of(const float *x, int n);

#endif
