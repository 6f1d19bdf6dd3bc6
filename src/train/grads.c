// Bucketed, overlapped, deterministic reduction of a step's gradient
// (grads.h).
#include "train/grads.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/timer.h"

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
    for (int s = 0; s < 2; s++) {
        gr->buf[s] = falloc(gr->cap + 1), gr->tmp[s] = falloc(gr->cap + 1);
        gr->bucket_of[s] = -1;
    }
    gr->persist = falloc(np + 1), gr->persist_tmp = falloc(np + 1);
    gr->started = xcalloc(2, sizeof(double));
}

void grads_free(GradReduce *gr) {
    for (int s = 0; s < 2; s++) free(gr->buf[s]), free(gr->tmp[s]);
    free(gr->persist), free(gr->persist_tmp), free(gr->persist_at), free(gr->persist_sum);
    free(gr->started);
    memset(gr, 0, sizeof *gr);
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
    gr->total += timer_now() - gr->started[k];
    add_into(gr->p->grad, &gr->p->bucket[b], gr->buf[k]);
    gr->bucket_of[k] = -1;
}

// A zeroed buffer for bucket b, its views pointed there (the older
// buffer's sum completes first when both are in use).
static void bucket_begin(GradReduce *gr, int b) {
    int k = gr->bucket_of[0] < 0 ? 0 : gr->bucket_of[1] < 0 ? 1 : gr->bucket_of[0] < gr->bucket_of[1] ? 0 : 1;
    slot_finish(gr, k);
    memset(gr->buf[k], 0, gr->p->bucket[b].n * sizeof(float));
    gr->bucket_of[k] = b;
    pack_point(gr->p, gr->m, gr->g, b, gr->buf[k]);
}

static void bucket_end(GradReduce *gr, int b) {
    int k = gr->bucket_of[0] == b ? 0 : 1;
    gr->started[k] = timer_now();
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
