// The gradient of an optimizer step, summed over ranks bucket by bucket
// while the backward pass goes on (pack.h: PackBucket). Each micro-batch's
// gradient is reduced on its own and added to the step's gradient
// (p->grad) in micro-batch order, with comm_sum's fixed tree, so the result
// does not depend on message sizes, MPI's algorithms or timing:
//   G = sum over micro-batches i of tree_sum over ranks r of g(i, r).
// Streaming buckets (a layer's, the head's) get one of two buffers when
// their stretch of the backward pass begins and start their sum when it
// ends; persistent ones (the embedding, the routing gates) are summed after
// the pass. So a rank holds the step gradient plus two bucket buffers, not
// a second full gradient, and the sums overlap the backward pass.
#ifndef LM_GRADS_H
#define LM_GRADS_H

#include "mpi/comm.h"
#include "train/pack.h"

typedef struct {
    ParamPack *p;
    Model *m;
    ModelWeights *g;           // the backward pass's gradient views
    float *buf[2], *tmp[2];    // streaming bucket buffers and receive scratch
    size_t cap;
    int bucket_of[2];          // bucket in buffer k, -1 = free
    CommSum sum[2];
    float *persist, *persist_tmp;  // persistent buckets back to back
    size_t *persist_at;        // [n_bucket] their offsets in persist
    CommSum *persist_sum;      // [n_bucket]
    double exposed;            // s waited for sums
    // Node-shared (p->shared): every rank's bucket buffers live in node
    // memory; after a bucket, each rank sums its part of it over the
    // node's ranks (the same tree as comm_sum), then over the nodes with
    // its peers (slice group), into the shared step gradient.
    float *node_buf, *node_persist;  // (node ranks, cap) and (node ranks, persistent floats)
    size_t persist_n;
    float *own, *own_recv;     // this rank's part of a bucket, and receive scratch
    double *norm_part;         // shared: the gradient norm's block sums
} GradReduce;

void grads_init(GradReduce *gr, ParamPack *p, Model *m, ModelWeights *g);
void grads_free(GradReduce *gr);
// Before a micro-batch's forward pass (after pack_micro_begin): the
// persistent buckets' buffers; hand o to model_backward.
void grads_micro_begin(GradReduce *gr, BackwardOpts *o);
// After its backward pass — or instead of it, for a rank with nothing to
// compute (its buckets are zero but it takes part in every sum): completes
// every sum and adds the micro-batch's gradient to p->grad.
void grads_micro_end(GradReduce *gr, int computed);
// Seconds the same sums take one after another, not overlapped with
// anything: what the overlap hides (bench). Collective; clobbers the
// bucket buffers; -1 when node-shared.
double grads_time_blocking(GradReduce *gr);
// The step gradient's L2 norm (its block sums computed by their owners when
// node-shared), identical on every rank.
double grads_norm(GradReduce *gr);

#endif
