#include "train/step.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/comm.h"
#include "util/alloc.h"
#include "util/timer.h"

void trainer_init(Trainer *tr, Model *m, int B, int T, const AdamWHyper *h,
                  const Schedule *s, double clip) {
    memset(tr, 0, sizeof *tr);
    tr->model = m;
    acts_init(&tr->acts, &m->cfg, B, T);
    tr->grad = falloc(m->numel);
    model_weights_view(m, tr->grad, &tr->gview);
    tr->exp_avg = falloc(m->numel);
    tr->exp_avg_sq = falloc(m->numel);
    tr->decay = xcalloc((size_t)m->n_tensors, 1);
    for (int i = 0; i < m->n_tensors; i++) tr->decay[i] = m->tensors[i].ndim == 2;
    tr->hyper = *h;
    tr->sched = *s;
    tr->clip = clip;
}

void trainer_free(Trainer *tr) {
    acts_free(&tr->acts);
    model_weights_free(&tr->gview);
    free(tr->grad), free(tr->exp_avg), free(tr->exp_avg_sq), free(tr->decay);
    memset(tr, 0, sizeof *tr);
}

// Target tokens per micro-batch, summed over ranks: needed before backward
// because every gradient is scaled by 1 / (global count).
static double global_tokens(const Batch *micro, int n, double *per) {
    double total = 0;
    for (int i = 0; i < n; i++) {
        per[i] = 0;
        for (long j = 0; j < (long)micro[i].b * micro[i].t; j++) per[i] += micro[i].weight[j] != 0.0f;
    }
    comm_allreduce_f64(per, (size_t)n);
    for (int i = 0; i < n; i++) total += per[i];
    return total;
}

static void apply_adamw(Trainer *tr, double lr) {
    Model *m = tr->model;
    for (int i = 0; i < m->n_tensors; i++) {
        const TensorInfo *t = &m->tensors[i];
        adamw_update(m->data + t->offset, tr->grad + t->offset, tr->exp_avg + t->offset,
                     tr->exp_avg_sq + t->offset, t->numel, lr, &tr->hyper, tr->step,
                     tr->decay[i]);
    }
}

// Forward + backward of every micro-batch into tr->grad; per-stream loss
// sums in loss[i].
static void accumulate(Trainer *tr, const Batch *micro, const double *weight, int n, double total,
                       double *loss) {
    Model *m = tr->model;
    for (int i = 0; i < n; i++) {
        const Batch *b = &micro[i];
        double w = weight ? weight[i] : 1.0, nt;
        loss[i] = 0;
        if (b->b == 0) continue;
        double t0 = timer_now();
        model_forward(m, &tr->acts, b->tokens, b->b, b->t);
        model_loss(m, &tr->acts, b->targets, b->weight, (float)(w / total), &loss[i], &nt);
        double t1 = timer_now();
        model_backward(m, &tr->acts, b->tokens, &tr->gview, NULL);
        tr->times.forward += t1 - t0;
        tr->times.backward += timer_now() - t1;
    }
}

void trainer_step(Trainer *tr, const Batch *micro, const double *weight, int n, StepStats *out) {
    Model *m = tr->model;
    memset(out, 0, sizeof *out);
    memset(tr->grad, 0, m->numel * sizeof(float));
    double total = global_tokens(micro, n, out->stream_tokens);
    double *loss = out->stream_loss;
    if (total > 0) accumulate(tr, micro, weight, n, total, loss);
    double t0 = timer_now();
    comm_allreduce_f32(tr->grad, m->numel);
    comm_allreduce_f64(loss, (size_t)n);
    double t1 = timer_now();
    tr->times.allreduce += t1 - t0;
    out->n_tokens = total;
    for (int i = 0; i < n; i++) {
        out->loss += (weight ? weight[i] : 1.0) * loss[i] / (total > 0 ? total : 1);
        loss[i] = out->stream_tokens[i] > 0 ? loss[i] / out->stream_tokens[i] : 0;
    }
    out->grad_norm = grad_norm(tr->grad, m->numel);
    out->lr = schedule_lr(&tr->sched, tr->step);
    // Every rank holds the same reduced values, but the decision is still
    // taken collectively so no rank can ever diverge from the others.
    int bad = !isfinite(out->loss) || !isfinite(out->grad_norm);
    if (comm_any(bad) || total == 0) {
        out->skipped = total == 0 ? STEP_EMPTY : STEP_NONFINITE;
        tr->skipped++;
        return;
    }
    grad_clip(tr->grad, m->numel, out->grad_norm, tr->clip);
    apply_adamw(tr, out->lr);
    tr->times.optimizer += timer_now() - t1;
    tr->step++;
}

void trainer_eval(Trainer *tr, const Batch *local, double *loss_sum, double *n_tokens) {
    double acc[2] = {0, 0};
    if (local->b > 0) {
        model_forward(tr->model, &tr->acts, local->tokens, local->b, local->t);
        model_loss(tr->model, &tr->acts, local->targets, local->weight, 0.0f, &acc[0], &acc[1]);
    }
    comm_allreduce_f64(acc, 2);
    *loss_sum = acc[0];
    *n_tokens = acc[1];
}
