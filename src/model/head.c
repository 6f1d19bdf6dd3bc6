// The output head with chunked cross-entropy: only rows that carry loss
// weight get logits, ce_chunk rows at a time, so a 250k vocabulary never
// needs (B*T, V) floats. The per-row loss and dlogits are those of
// crossentropy_forward_backward on the full logits.
#include <string.h>

#include "model/block.h"
#include "model/gemm.h"

// Logits and dlogits of loss rows first .. first+n-1 into a->logits (n,V);
// their hidden states stay gathered in a->ce_x (n,C).
static void chunk_logits(const Model *m, Acts *a, int first, int n, double *ls, double *nt) {
    int C = m->cfg.hidden_size, V = m->cfg.vocab_size;
    for (int i = 0; i < n; i++) {
        int row = a->ce_rows[first + i];
        memcpy(a->ce_x + (size_t)i * C, a->xf + (size_t)row * C, sizeof(float) * C);
        a->ce_w[i] = a->ce_weight[row], a->ce_tg[i] = a->ce_targets[row];
    }
    linear_forward(a->logits, a->ce_x, m->w.lm_head, NULL, n, C, V);  // (n,V)
    crossentropy_forward_backward(a->logits, a->ce_tg, a->ce_w, a->ce_dloss, n, V, ls, nt);
}

void head_loss_chunked(const Model *m, Acts *a, const int *targets, const float *weight,
                       float dloss, double *loss_sum, double *n_tokens) {
    int C = m->cfg.hidden_size, V = m->cfg.vocab_size, N = a->b * a->t;
    a->ce_targets = targets, a->ce_weight = weight, a->ce_dloss = dloss;
    a->n_ce_rows = 0;
    for (int i = 0; i < N; i++)
        if (weight[i] != 0.0f) a->ce_rows[a->n_ce_rows++] = i;
    memset(a->dxf, 0, sizeof(float) * (size_t)N * C);
    *loss_sum = *n_tokens = 0;
    for (int first = 0; first < a->n_ce_rows; first += a->ce_chunk) {
        int n = a->n_ce_rows - first < a->ce_chunk ? a->n_ce_rows - first : a->ce_chunk;
        double ls, nt;
        chunk_logits(m, a, first, n, &ls, &nt);
        *loss_sum += ls, *n_tokens += nt;
        // dL/dxf (n,C) = dlogits (n,V) @ lm_head (V,C), into ce_x, then to the rows
        memset(a->ce_x, 0, sizeof(float) * (size_t)n * C);
        linear_backward(a->ce_x, NULL, NULL, a->logits, NULL, m->w.lm_head, n, C, V);
        for (int i = 0; i < n; i++)
            memcpy(a->dxf + (size_t)a->ce_rows[first + i] * C, a->ce_x + (size_t)i * C, sizeof(float) * C);
    }
}

void head_backward_chunked(const Model *m, Acts *a, float *d_lm_head) {
    int C = m->cfg.hidden_size, V = m->cfg.vocab_size;
    for (int first = 0; first < a->n_ce_rows; first += a->ce_chunk) {
        int n = a->n_ce_rows - first < a->ce_chunk ? a->n_ce_rows - first : a->ce_chunk;
        double ls, nt;
        chunk_logits(m, a, first, n, &ls, &nt);
        // d_lm_head (V,C) += dlogits^T (V,n) @ xf rows (n,C)
        gemm(CblasTrans, CblasNoTrans, V, C, n, 1.0f, a->logits, V, a->ce_x, C,
                    1.0f, d_lm_head, C);
    }
}
