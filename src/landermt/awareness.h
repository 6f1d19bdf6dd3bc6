// Statistics of `landermt detect`, accumulated in double per rank and
// summed over ranks (DESIGN §4.1-4.2):
//   act[u][l]   sum over sentences x of unit u of a_l(x), the mean over
//               positions and hidden units of block l's output;
//   phi[u][l][i] sum over sentences of mean_t |h_i(x,t) * dL_x/dh_i(x,t)|,
//               L_x being sentence x's own mean target-token loss;
//   sentences[u] the number of sentences scored.
#ifndef LM_AWARENESS_H
#define LM_AWARENESS_H

#include "model/model.h"

typedef struct {
    int U, L, F;
    double *phi;        // (U, L, F)
    double *act;        // (U, L)
    double *sentences;  // (U)
    double *row;        // (F) scratch
    // The micro-batch the hook is seeing: its unit, rows and row lengths.
    int unit, b, t;
    const int *len;     // (b) positions per row, 0 = skipped row
} Awareness;

void awareness_init(Awareness *aw, int U, int L, int F);
void awareness_free(Awareness *aw);

// An FfnGradHook (model.h): adds mean_t |h * dh| of each row of the
// current micro-batch (aw->unit, b, t, len) to phi.
void awareness_hook(void *aw, int layer, const float *h, const float *dh, int bt, int F);
// Adds a_l(x) of each row after a forward pass, and counts the sentences.
void awareness_add_relevance(Awareness *aw, const Acts *a);
// Sums every statistic over ranks.
void awareness_allreduce(Awareness *aw);

#endif
