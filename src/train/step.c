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

// Target tokens of the global batch: needed before backward because the
// gradient is scaled by 1 / (global count).
static double global_tokens(const Batch *b) {
    double n = 0;
    for (long i = 0; i < (long)b->b * b->t; i++) n += b->weight[i] != 0.0f;
    comm_allreduce_f64(&n, 1);
    return n;
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

void trainer_step(Trainer *tr, const Batch *local, StepStats *out) {
    Model *m = tr->model;
    memset(out, 0, sizeof *out);
    memset(tr->grad, 0, m->numel * sizeof(float));
    double n_global = global_tokens(local);
    double loss[2] = {0, 0};  // {loss sum, tokens}
    double t0 = timer_now(), t1 = t0, t2 = t0;
    if (local->b > 0 && n_global > 0) {
        model_forward(m, &tr->acts, local->tokens, local->b, local->t);
        model_loss(m, &tr->acts, local->targets, local->weight, (float)(1.0 / n_global),
                   &loss[0], &loss[1]);
        t1 = timer_now();
        model_backward(m, &tr->acts, local->tokens, &tr->gview, NULL);
        t2 = timer_now();
    }
    comm_allreduce_f32(tr->grad, m->numel);
    comm_allreduce_f64(loss, 2);
    double t3 = timer_now();
    tr->times.forward += t1 - t0;
    tr->times.backward += t2 - t1;
    tr->times.allreduce += t3 - t2;
    out->n_tokens = n_global;
    out->loss = n_global > 0 ? loss[0] / n_global : 0;
    out->grad_norm = grad_norm(tr->grad, m->numel);
    out->lr = schedule_lr(&tr->sched, tr->step);
    // Every rank holds the same reduced values, but the decision is still
    // taken collectively so no rank can ever diverge from the others.
    int bad = !isfinite(out->loss) || !isfinite(out->grad_norm) || n_global == 0;
    if (comm_any(bad)) {
        out->skipped = 1;
        tr->skipped++;
        return;
    }
    grad_clip(tr->grad, m->numel, out->grad_norm, tr->clip);
    apply_adamw(tr, out->lr);
    tr->times.optimizer += timer_now() - t3;
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
