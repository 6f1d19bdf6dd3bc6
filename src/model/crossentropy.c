// Weighted token cross-entropy fused with its gradient, so the (N,V) logits
// are read once for the loss and overwritten in place by dL/dlogits.
#include <math.h>
#include <string.h>

#include <stddef.h>

#include "model/layers.h"

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
        float mx = row[0];
        for (int v = 1; v < V; v++) mx = row[v] > mx ? row[v] : mx;
        double sum = 0;
        for (int v = 0; v < V; v++) sum += exp((double)(row[v] - mx));
        double lse = mx + log(sum);
        loss += w * (lse - row[targets[n]]);
        count += 1;
        float scale = dloss * w;
        for (int v = 0; v < V; v++) row[v] = scale * (float)exp((double)row[v] - lse);
        row[targets[n]] -= scale;
    }
    *loss_sum = loss;
    *n_tokens = count;
}
