// exp_batch (src/model/vexp.c) against exp() in double: within 4 ulp (the
// bound glibc documents for libmvec) over the range the model uses, every
// length's tail (n not a multiple of 4), in place and out of place, and
// libm's limits: e^0 = 1, underflow to 0, overflow to inf; and max_of.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "model/vexp.h"

#define N 4099

static void test_accuracy(void) {
    static float x[N], y[N];
    double worst = 0, at = 0;
    for (double lo = -87.0; lo < 88.0; lo += 1.0) {
        for (int i = 0; i < N; i++) x[i] = (float)(lo + (double)i / N);
        exp_batch(y, x, N);
        for (int i = 0; i < N; i++) {
            double want = exp((double)x[i]), e = fabs(y[i] - want) / (want * ldexp(1.0, -23));
            if (e > worst) worst = e, at = x[i];
        }
    }
    CHECK(worst <= 4.0, "worst error %.3f ulp at x = %.9g", worst, at);
    printf("exp_batch: worst %.3f ulp (at %.6g)\n", worst, at);
}

static void test_lengths_and_limits(void) {
    const float in[7] = {0.0f, -1.0f, 2.5f, -200.0f, 100.0f, -INFINITY, 1e-3f};
    for (int n = 0; n <= 7; n++) {
        float y[8], z[8];
        memcpy(z, in, sizeof in);
        y[n] = z[n] = 42.0f;  // past the end: untouched
        exp_batch(y, in, n);
        exp_batch(z, z, n);  // in place
        for (int i = 0; i < n; i++) {
            CHECK(y[i] == z[i], "n %d: in place differs at %d", n, i);
            CHECK(fabs(y[i] - expf(in[i])) <= 4 * ldexp(fabs(expf(in[i])), -23) || (isinf(y[i]) && isinf(expf(in[i]))),
                  "n %d: e^%g = %g, libm %g", n, in[i], y[i], expf(in[i]));
        }
        CHECK(y[n] == 42.0f && z[n] == 42.0f, "n %d: wrote past the end", n);
    }
    float four[4] = {0.0f, -200.0f, 100.0f, 0.0f};  // the vector lanes, not the scalar tail
    exp_batch(four, four, 4);
    CHECK(four[0] == 1.0f && four[1] == 0.0f && isinf(four[2]), "limits: e^0 %g, e^-200 %g, e^100 %g",
          four[0], four[1], four[2]);
}

// max_of equals a plain loop wherever the maximum sits, lanes and tail
static void test_max_of(void) {
    float x[9];
    for (int n = 1; n <= 9; n++)
        for (int at = 0; at < n; at++) {
            for (int i = 0; i < n; i++) x[i] = -100.0f - (float)i;
            x[at] = -3.5f;
            CHECK(max_of(x, n) == -3.5f, "n %d, max at %d: got %g", n, at, max_of(x, n));
        }
}

int main(void) {
    RUN(test_accuracy);
    RUN(test_max_of);
    RUN(test_lengths_and_limits);
    return harness_finish();
}
