// Weighted token cross-entropy fused with its gradient, so the (N,V) logits
// are read once for the loss and overwritten in place by dL/dlogits.
#include <math.h>
#include <string.h>

#include <stddef.h>

#include "model/layers.h"
#include "model/vexp.h"

void crossentropy_forward_backward(float *logits, const int *targets,
                                   const float *weight, float dloss, int N,
                                   int V, double *loss_sum, double *n_tokens) {
    double loss = 0, count = 0;
#pragma omp parallel for schedule(static) reduction(+ : loss, count)
    for (int n = 0; n < N; n++) {
        float *row = logits + (size_t)n * V;
        float w = weight[n];
        if (w == 0.0f) {
            memset(row, 0, sizeof(float) * V);
            continue;
        }
        float mx = max_of(row, V);
        float target_logit = row[targets[n]];
        // exponentials in float (max-shifted), their sum in double over four
        // interleaved partial sums: a fixed order in which no add waits on
        // the one before (with max_of, the 1024 x 8192 cross-entropy went
        // from 15.6-18.2 to 10.8-12.6 ms; docs/benchmarks.md)
        for (int v = 0; v < V; v++) row[v] -= mx;
        exp_batch(row, row, V);
        double part[4] = {0, 0, 0, 0};
        int v = 0;
        for (; v + 4 <= V; v += 4)
            for (int j = 0; j < 4; j++) part[j] += row[v + j];
        for (; v < V; v++) part[0] += row[v];
        double sum = (part[0] + part[1]) + (part[2] + part[3]);
        loss += w * (mx + log(sum) - target_logit);
        count += 1;
        float scale = (float)(dloss * w / sum);
        for (int v = 0; v < V; v++) row[v] *= scale;
        row[targets[n]] -= dloss * w;
    }
    *loss_sum = loss;
    *n_tokens = count;
}
