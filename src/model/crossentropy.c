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
        float target_logit = row[targets[n]];
        double sum = 0;  // exponentials in float (max-shifted), their sum in double
        for (int v = 0; v < V; v++) sum += (row[v] = expf(row[v] - mx));
        loss += w * (mx + log(sum) - target_logit);
        count += 1;
        float scale = (float)(dloss * w / sum);
        for (int v = 0; v < V; v++) row[v] *= scale;
        row[targets[n]] -= dloss * w;
    }
    *loss_sum = loss;
    *n_tokens = count;
}
