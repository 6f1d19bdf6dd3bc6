#include "landermt/awareness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/comm.h"
#include "util/alloc.h"

void awareness_init(Awareness *aw, int U, int L, int F) {
    memset(aw, 0, sizeof *aw);
    aw->U = U, aw->L = L, aw->F = F;
    aw->phi = xcalloc((size_t)U * L * F, sizeof(double));
    aw->act = xcalloc((size_t)U * L, sizeof(double));
    aw->sentences = xcalloc((size_t)U, sizeof(double));
    aw->row = xcalloc((size_t)F, sizeof(double));
}

void awareness_free(Awareness *aw) {
    free(aw->phi), free(aw->act), free(aw->sentences), free(aw->row);
    memset(aw, 0, sizeof *aw);
}

void awareness_hook(void *ctx, int layer, const float *h, const float *dh, int bt, int F) {
    Awareness *aw = ctx;
    double *phi = aw->phi + ((size_t)aw->unit * aw->L + layer) * (size_t)F;
    (void)bt;  // == aw->b * aw->t
    for (int r = 0; r < aw->b; r++) {
        int n = aw->len[r];
        if (n == 0) continue;
        memset(aw->row, 0, sizeof(double) * (size_t)F);
        for (int p = 0; p < n; p++) {
            const float *hr = h + ((size_t)r * aw->t + p) * F, *dr = dh + ((size_t)r * aw->t + p) * F;
            for (int i = 0; i < F; i++) aw->row[i] += fabs((double)hr[i] * dr[i]);
        }
        for (int i = 0; i < F; i++) phi[i] += aw->row[i] / n;
    }
}

void awareness_add_relevance(Awareness *aw, const Acts *a) {
    for (int r = 0; r < aw->b; r++) {
        int n = aw->len[r];
        if (n == 0) continue;
        for (int l = 0; l < aw->L; l++) {
            const float *x = a->x[l + 1] + (size_t)r * aw->t * a->C;
            double s = 0;
            for (long j = 0; j < (long)n * a->C; j++) s += x[j];
            aw->act[(size_t)aw->unit * aw->L + l] += s / ((double)n * a->C);
        }
        aw->sentences[aw->unit] += 1;
    }
}

void awareness_allreduce(Awareness *aw) {
    comm_allreduce_f64(aw->phi, (size_t)aw->U * aw->L * aw->F);
    comm_allreduce_f64(aw->act, (size_t)aw->U * aw->L);
    comm_allreduce_f64(aw->sentences, (size_t)aw->U);
}
