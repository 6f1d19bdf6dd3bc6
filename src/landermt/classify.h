// LANDeRMT's decisions from the detected statistics (DESIGN §4.1, §4.3):
// which layers to finetune, and which FFN neurons of those layers are
// language-general or specific to one unit (direction or language).
// Pure functions on score tables, so they are tested on hand-made tables.
#ifndef LM_CLASSIFY_H
#define LM_CLASSIFY_H

// Per-unit transitions D[u][l] = |A[u][l+1] - A[u][l]| for A (U, L) of mean
// block outputs, and their mean over units Dmean[l]; l < L-1.
void relevance_transitions(const double *A, int U, int L, double *D, double *Dmean);

// Selects k of L layers from Dmean (L-1 transitions) into out (ascending);
// returns the count (k) or -1 if k is impossible (k > L, or topk with
// k > L-1). spikes: transitions in decreasing D (ties: lower l first) add
// layer l, then l+1, until k layers are chosen. topk: the k layers with the
// largest incoming transition D[l-1] (layer 0 has none).
int layers_select_spikes(const double *Dmean, int L, int k, int *out);
int layers_select_topk(const double *Dmean, int L, int k, int *out);

// One layer: phi (U, F) awareness of unit u for neuron i at phi[u*stride+i].
// v_i = population variance over units; the round((1-epsilon)*F) neurons of
// largest v (ties: lower index first) are specific, owned by argmax_u phi
// (ties: lower u); the rest are general. owner[i] = -1 for general neurons.
void classify_layer(const double *phi, int U, int F, long stride, double epsilon, int *owner);

#endif
