#include "train/step.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/comm.h"
#include "mpi/node.h"
#include "util/alloc.h"
#include "util/signals.h"
#include "util/timer.h"

LmStatus trainer_init(Trainer *tr, Model *m, int B, int T, const AdamWHyper *h,
                      const Schedule *s, double clip, const PackSpec *spec, const ActsOpts *ao) {
    memset(tr, 0, sizeof *tr);
    tr->model = m;
    LM_TRY(pack_build(&tr->pack, m, spec));
    acts_init_opts(&tr->acts, &m->cfg, B, T, ao);
    model_weights_none(m, &tr->gview);
    grads_init(&tr->red, &tr->pack, m, &tr->gview);
    tr->hyper = *h;
    tr->sched = *s;
    tr->clip = clip;
    return LM_OK;
}

void trainer_free(Trainer *tr) {
    if (tr->acts.x) acts_free(&tr->acts);
    grads_free(&tr->red);
    model_weights_free(&tr->gview);
    pack_free(&tr->pack);
    tr->model->route = NULL;
    tr->model->lora = NULL;
    tr->model->packed = NULL;
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

// Wall time that no signal cuts short, like a long sgemm (debug.micro_batch_delay).
static void busy_for(double seconds) {
    for (double t0 = timer_now(); timer_now() - t0 < seconds;) timer_sleep(1e-3);
}

// Forward + backward of every micro-batch, its gradient summed over ranks
// into the packed step gradient (grads.h); per-stream loss sums in loss[i].
// A rank with nothing to compute still takes part in every sum. Once a
// stop signal is pending the compute is skipped: the step will not be
// applied (trainer_step), so only the time counts.
static void accumulate(Trainer *tr, const Batch *micro, const double *weight, int n, double total,
                       double *loss) {
    Model *m = tr->model;
    for (int i = 0; i < n; i++) {
        const Batch *b = &micro[i];
        double w = weight ? weight[i] : 1.0, nt;
        loss[i] = 0;
        BackwardOpts o;
        pack_micro_begin(&tr->pack, m, i, &tr->gview, &o);
        grads_micro_begin(&tr->red, &o);
        int compute = b->b > 0 && !signals_pending();
        double t0 = timer_now(), t1 = t0;
        if (compute) {
            model_forward(m, &tr->acts, b->tokens, b->b, b->t);
            model_loss(m, &tr->acts, b->targets, b->weight, (float)(w / total), &loss[i], &nt);
            t1 = timer_now();
            model_backward(m, &tr->acts, b->tokens, &tr->gview, &o);
            if (tr->micro_delay > 0) busy_for(tr->micro_delay);
        }
        double t2 = timer_now();
        grads_micro_end(&tr->red, compute);
        tr->times.forward += t1 - t0;
        tr->times.backward += t2 - t1;
    }
}

void trainer_step(Trainer *tr, const Batch *micro, const double *weight, int n, StepStats *out) {
    ParamPack *p = &tr->pack;
    memset(out, 0, sizeof *out);
    memset(p->grad, 0, p->n * sizeof(float));
    double total = global_tokens(micro, n, out->stream_tokens);
    double *loss = out->stream_loss;
    double waited = tr->red.exposed;
    if (total > 0) accumulate(tr, micro, weight, n, total, loss);
    if (tr->inject_nan && comm_rank() == 0) p->grad[0] = NAN, loss[0] = NAN;
    double t0 = timer_now();
    comm_allreduce_f64(loss, (size_t)n);
    if (pack_writer(p)) pack_scale_grads(p, tr->model->cfg.hidden_size);
    if (p->shared) comm_node_barrier();
    double t1 = timer_now();
    tr->times.allreduce += t1 - t0 + tr->red.exposed - waited;
    out->n_tokens = total;
    for (int i = 0; i < n; i++) {
        out->loss += (weight ? weight[i] : 1.0) * loss[i] / (total > 0 ? total : 1);
        loss[i] = out->stream_tokens[i] > 0 ? loss[i] / out->stream_tokens[i] : 0;
    }
    out->grad_norm = grads_norm(&tr->red);
    out->lr = schedule_lr(&tr->sched, tr->step);
    // Every rank holds the same reduced values, but the decisions are still
    // taken collectively so no rank can ever diverge from the others.
    int bad = !isfinite(out->loss) || !isfinite(out->grad_norm);
    int flags = comm_or(bad | (signals_pending() ? 2 : 0));
    if (flags & 2) {
        out->skipped = STEP_STOPPED;
        return;
    }
    if ((flags & 1) || total == 0) {
        out->skipped = total == 0 ? STEP_EMPTY : STEP_NONFINITE;
        tr->skipped++;
        return;
    }
    // this rank's slice (all of it unless node-shared), run by run
    float gscale = grad_clip_factor(out->grad_norm, tr->clip);
    for (int r = 0; r < p->n_run; r++) {
        size_t lo = p->run[r].off > p->own_lo ? p->run[r].off : p->own_lo;
        size_t hi = p->run[r].off + p->run[r].n < p->own_hi ? p->run[r].off + p->run[r].n : p->own_hi;
        if (lo < hi)
            adamw_update(p->param + lo, p->grad + lo, gscale, p->m + lo, p->v + lo, hi - lo, out->lr, &tr->hyper,
                         tr->step, p->run[r].decay);
    }
    if (p->shared) comm_node_barrier();  // every slice updated before anyone reads them
    pack_scatter_tensors(p, tr->model);  // neuron segments are read from the pack
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
