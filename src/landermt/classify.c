#include "landermt/classify.h"

#include <math.h>
#include <stdlib.h>

#include "util/alloc.h"

void relevance_transitions(const double *A, int U, int L, double *D, double *Dmean) {
    for (int l = 0; l + 1 < L; l++) {
        double s = 0;
        for (int u = 0; u < U; u++) {
            double d = fabs(A[(long)u * L + l + 1] - A[(long)u * L + l]);
            D[(long)u * (L - 1) + l] = d;
            s += d;
        }
        Dmean[l] = U ? s / U : 0;
    }
}

typedef struct {
    double key;
    int idx;
} Ranked;

static int ranked_desc(const void *a, const void *b) {
    const Ranked *x = a, *y = b;
    if (x->key != y->key) return x->key > y->key ? -1 : 1;
    return x->idx - y->idx;
}

// Indices 0..n-1 sorted by decreasing key, ties by increasing index.
static int *order_desc(const double *key, int n) {
    Ranked *r = xmalloc(sizeof(Ranked) * (size_t)(n > 0 ? n : 1));
    for (int i = 0; i < n; i++) r[i] = (Ranked){key[i], i};
    qsort(r, (size_t)n, sizeof(Ranked), ranked_desc);
    int *idx = xmalloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    for (int i = 0; i < n; i++) idx[i] = r[i].idx;
    free(r);
    return idx;
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

int layers_select_spikes(const double *Dmean, int L, int k, int *out) {
    if (k < 1 || k > L) return -1;
    int *ord = order_desc(Dmean, L - 1), n = 0;
    char *taken = xcalloc((size_t)L, 1);
    for (int j = 0; j < L - 1 && n < k; j++)
        for (int side = 0; side < 2 && n < k; side++) {
            int l = ord[j] + side;
            if (!taken[l]) taken[l] = 1, out[n++] = l;
        }
    for (int l = 0; l < L && n < k; l++)  // only when L == 1
        if (!taken[l]) taken[l] = 1, out[n++] = l;
    free(ord), free(taken);
    qsort(out, (size_t)n, sizeof(int), cmp_int);
    return n;
}

int layers_select_topk(const double *Dmean, int L, int k, int *out) {
    if (k < 1 || k > L - 1) return -1;
    int *ord = order_desc(Dmean, L - 1);
    for (int j = 0; j < k; j++) out[j] = ord[j] + 1;  // transition l feeds layer l+1
    free(ord);
    qsort(out, (size_t)k, sizeof(int), cmp_int);
    return k;
}

void classify_layer(const double *phi, int U, int F, long stride, double epsilon, int *owner) {
    double *var = xmalloc(sizeof(double) * (size_t)F);
    for (int i = 0; i < F; i++) {
        double mean = 0, v = 0;
        for (int u = 0; u < U; u++) mean += phi[u * stride + i];
        mean /= U;
        for (int u = 0; u < U; u++) v += (phi[u * stride + i] - mean) * (phi[u * stride + i] - mean);
        var[i] = v / U;
        owner[i] = -1;
    }
    int *ord = order_desc(var, F), n_spec = (int)lround((1.0 - epsilon) * F);
    for (int j = 0; j < n_spec; j++) {
        int i = ord[j], best = 0;
        for (int u = 1; u < U; u++)
            if (phi[u * stride + i] > phi[best * stride + i]) best = u;
        owner[i] = best;
    }
    free(ord), free(var);
}
