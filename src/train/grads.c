// Bucketed, overlapped, deterministic reduction of a step's gradient
// (grads.h).
#include "train/grads.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/node.h"
#include "util/alloc.h"
#include "util/timer.h"

static void shared_init(GradReduce *gr, size_t np) {
    size_t k = (size_t)comm_node_size(), r = (size_t)comm_node_rank(), most = gr->cap > np ? gr->cap : np;
    gr->node_buf = comm_shared_alloc(sizeof(float) * (k * gr->cap + 1));
    gr->node_persist = comm_shared_alloc(sizeof(float) * (k * np + 1));
    gr->buf[0] = gr->node_buf + r * gr->cap, gr->persist = gr->node_persist + r * np;
    gr->own = falloc(most / k + 2), gr->own_recv = falloc(most / k + 2);
    size_t nb = (gr->p->n + ADAMW_NORM_BLOCK - 1) / ADAMW_NORM_BLOCK;
    gr->norm_part = comm_shared_alloc(sizeof(double) * (nb + 1));
}

void grads_init(GradReduce *gr, ParamPack *p, Model *m, ModelWeights *g) {
    memset(gr, 0, sizeof *gr);
    gr->p = p, gr->m = m, gr->g = g;
    gr->persist_at = xcalloc((size_t)p->n_bucket + 1, sizeof(size_t));
    gr->persist_sum = xcalloc((size_t)p->n_bucket + 1, sizeof(CommSum));
    size_t np = 0;
    for (int b = 0; b < p->n_bucket; b++) {
        const PackBucket *k = &p->bucket[b];
        if (k->persistent) gr->persist_at[b] = np, np += k->n;
        else gr->cap = k->n > gr->cap ? k->n : gr->cap;
    }
    gr->persist_n = np;
    gr->bucket_of[0] = gr->bucket_of[1] = -1;
    if (p->shared) {
        shared_init(gr, np);
        return;
    }
    for (int s = 0; s < 2; s++) gr->buf[s] = falloc(gr->cap + 1), gr->tmp[s] = falloc(gr->cap + 1);
    gr->persist = falloc(np + 1), gr->persist_tmp = falloc(np + 1);
}

void grads_free(GradReduce *gr) {
    if (gr->p && gr->p->shared) {
        comm_shared_free(gr->node_buf), comm_shared_free(gr->node_persist), comm_shared_free(gr->norm_part);
        free(gr->own), free(gr->own_recv);
    } else {
        for (int s = 0; s < 2; s++) free(gr->buf[s]), free(gr->tmp[s]);
        free(gr->persist), free(gr->persist_tmp);
    }
    free(gr->persist_at), free(gr->persist_sum);
    memset(gr, 0, sizeof *gr);
}

// ---------------------------------------------------------- node-shared

// out[i] = the sum over the node's k ranks of src_r[i], r's buffer at
// base + r * stride, in comm_sum's tree (fold beyond the largest power of
// two, then pairs at distance 1, 2, ...), so it matches a world sum.
static void tree_over_ranks(float *out, const float *base, size_t stride, size_t x0, size_t n, int k) {
    int P2 = 1;
    while (2 * P2 <= k) P2 *= 2;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float v[64];
        for (int r = 0; r < P2; r++) v[r] = base[(size_t)r * stride + x0 + i];
        for (int r = 0; r + P2 < k; r++) v[r] += base[(size_t)(r + P2) * stride + x0 + i];
        for (int d = 1; d < P2; d *= 2)
            for (int r = 0; r < P2; r += 2 * d) v[r] = v[r] + v[r + d];
        out[i] = v[0];
    }
}

// grad += src for bucket positions [x0, x1) (through its packed ranges).
static void add_part(float *grad, const PackBucket *b, const float *src, size_t x0, size_t x1) {
    size_t at = 0;
    for (int r = 0; r < b->n_range && at < x1; at += b->len[r], r++) {
        size_t lo = x0 > at ? x0 : at, hi = x1 < at + b->len[r] ? x1 : at + b->len[r];
        float *dst = grad + b->off[r] + (lo - at);
        const float *s = src + (lo - x0);
        for (size_t i = 0; lo < hi && i < hi - lo; i++) dst[i] += s[i];
    }
}

// Every rank's buffer of bucket b is written: each sums its part over the
// node, then with its peers over the nodes, into the step gradient.
static void shared_reduce(GradReduce *gr, int b, const float *base, size_t stride) {
    const PackBucket *bk = &gr->p->bucket[b];
    size_t k = (size_t)comm_node_size(), r = (size_t)comm_node_rank();
    size_t x0 = bk->n * r / k, x1 = bk->n * (r + 1) / k;
    double t0 = timer_now();
    comm_node_barrier();
    tree_over_ranks(gr->own, base, stride, x0, x1 - x0, (int)k);
    if (comm_node_count() > 1) {
        CommSum s;
        comm_sum_start_group(&s, COMM_SLICE_GROUP, gr->own, gr->own_recv, (int)(x1 - x0));
        comm_sum_wait(&s);
    }
    add_part(gr->p->grad, bk, gr->own, x0, x1);
    comm_node_barrier();  // the buffers may be written again
    gr->exposed += timer_now() - t0;
}

// The step gradient += a bucket buffer (its ranges back to back).
static void add_into(float *grad, const PackBucket *b, const float *src) {
    for (int r = 0; r < b->n_range; r++) {
        float *dst = grad + b->off[r];
        size_t n = b->len[r];
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) dst[i] += src[i];
        src += n;
    }
}

static void sum_wait(GradReduce *gr, CommSum *s) {
    double t0 = timer_now();
    comm_sum_wait(s);
    gr->exposed += timer_now() - t0;
}

// Completes buffer k's sum and adds it to the step gradient.
static void slot_finish(GradReduce *gr, int k) {
    int b = gr->bucket_of[k];
    if (b < 0) return;
    sum_wait(gr, &gr->sum[k]);
    add_into(gr->p->grad, &gr->p->bucket[b], gr->buf[k]);
    gr->bucket_of[k] = -1;
}

// A zeroed buffer for bucket b, its views pointed there (the older
// buffer's sum completes first when both are in use).
static void bucket_begin(GradReduce *gr, int b) {
    if (gr->p->shared) {  // one buffer: the node's sum ends with the bucket
        memset(gr->buf[0], 0, gr->p->bucket[b].n * sizeof(float));
        pack_point(gr->p, gr->m, gr->g, b, gr->buf[0]);
        return;
    }
    int k = gr->bucket_of[0] < 0 ? 0 : gr->bucket_of[1] < 0 ? 1 : gr->bucket_of[0] < gr->bucket_of[1] ? 0 : 1;
    slot_finish(gr, k);
    memset(gr->buf[k], 0, gr->p->bucket[b].n * sizeof(float));
    gr->bucket_of[k] = b;
    pack_point(gr->p, gr->m, gr->g, b, gr->buf[k]);
}

static void bucket_end(GradReduce *gr, int b) {
    if (gr->p->shared) {
        shared_reduce(gr, b, gr->node_buf, gr->cap);
        return;
    }
    int k = gr->bucket_of[0] == b ? 0 : 1;
    comm_sum_start(&gr->sum[k], gr->buf[k], gr->tmp[k], (int)gr->p->bucket[b].n);
    comm_sum_test(&gr->sum[k ^ 1]);  // progress for the other one
}

static void hook(void *ctx, int layer, int part, int done) {
    GradReduce *gr = ctx;
    for (int b = 0; b < gr->p->n_bucket; b++) {
        const PackBucket *k = &gr->p->bucket[b];
        if (k->persistent || k->layer != layer || k->part != part) continue;
        if (done) bucket_end(gr, b);
        else bucket_begin(gr, b);
    }
}

void grads_micro_begin(GradReduce *gr, BackwardOpts *o) {
    ParamPack *p = gr->p;
    for (int b = 0; b < p->n_bucket; b++) {
        if (!p->bucket[b].persistent) continue;
        float *at = gr->persist + gr->persist_at[b];
        memset(at, 0, p->bucket[b].n * sizeof(float));
        pack_point(p, gr->m, gr->g, b, at);
    }
    pack_chunked(p, 1);
    o->grad_hook = hook, o->grad_ctx = gr;
}

void grads_micro_end(GradReduce *gr, int computed) {
    ParamPack *p = gr->p;
    for (int b = 0; !computed && b < p->n_bucket; b++) {  // the sums the pass would have started
        if (p->bucket[b].persistent) continue;
        bucket_begin(gr, b);
        bucket_end(gr, b);
    }
    slot_finish(gr, 0);
    slot_finish(gr, 1);
    if (p->shared) {
        for (int b = 0; b < p->n_bucket; b++)
            if (p->bucket[b].persistent) shared_reduce(gr, b, gr->node_persist + gr->persist_at[b], gr->persist_n);
        return;
    }
    for (int b = 0; b < p->n_bucket; b++)
        if (p->bucket[b].persistent)
            comm_sum_start(&gr->persist_sum[b], gr->persist + gr->persist_at[b],
                           gr->persist_tmp + gr->persist_at[b], (int)p->bucket[b].n);
    for (int b = 0; b < p->n_bucket; b++) {
        if (!p->bucket[b].persistent) continue;
        sum_wait(gr, &gr->persist_sum[b]);
        add_into(p->grad, &p->bucket[b], gr->persist + gr->persist_at[b]);
    }
}

double grads_time_blocking(GradReduce *gr) {
    const ParamPack *p = gr->p;
    if (p->shared) return -1;
    comm_barrier();
    double t0 = timer_now();
    for (int b = 0; b < p->n_bucket; b++) {
        CommSum s;
        int pe = p->bucket[b].persistent;
        comm_sum_start(&s, pe ? gr->persist : gr->buf[0], pe ? gr->persist_tmp : gr->tmp[0], (int)p->bucket[b].n);
        comm_sum_wait(&s);
    }
    return timer_now() - t0;
}

double grads_norm(GradReduce *gr) {
    const ParamPack *p = gr->p;
    if (!p->shared) return grad_norm(p->grad, p->n);
    size_t nb = (p->n + ADAMW_NORM_BLOCK - 1) / ADAMW_NORM_BLOCK;
    grad_norm_blocks(p->grad, p->n, p->own_lo / ADAMW_NORM_BLOCK,
                     (p->own_hi + ADAMW_NORM_BLOCK - 1) / ADAMW_NORM_BLOCK, gr->norm_part);
    comm_node_barrier();
    double norm = grad_norm_total(gr->norm_part, nb);
    comm_node_barrier();  // read before the next step overwrites them
    return norm;
}
