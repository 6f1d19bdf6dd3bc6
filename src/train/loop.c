#include "train/loop.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/open.h"
#include "mpi/comm.h"
#include "train/metrics_file.h"
#include "train/model_load.h"
#include "train/run.h"
#include "util/alloc.h"
#include "util/signals.h"
#include "util/timer.h"

// Validation loss over every stream; per-stream values printed on rank 0.
static LmStatus validate(Run *r, double *val) {
    double sum = 0, n = 0;
    for (int i = 0; i < r->ss.n; i++) {
        double ls, nt;
        BackwardOpts o;  // the stream's direction decides the CAR routes
        pack_micro_begin(&r->tr.pack, &r->model, i, &r->tr.gview, &o);
        LM_TRY(streamset_validate(&r->ss, i, r->cfg, &r->tr, &ls, &nt));
        sum += ls, n += nt;
        if (comm_rank() == 0 && r->ss.n > 1)
            printf("step %6lld | valid %-8s %.4f\n", (long long)r->tr.step, r->ss.train[i].name,
                   nt > 0 ? ls / nt : NAN);
    }
    *val = n > 0 ? sum / n : NAN;
    if (comm_rank() == 0) printf("step %6lld | valid loss %.4f\n", (long long)r->tr.step, *val);
    if (r->metrics) {
        fprintf(r->metrics, "{\"step\": %lld, \"iter\": %lld, \"valid_loss\": %.6g}\n",
                (long long)r->tr.step, (long long)(r->tr.step + r->tr.skipped), *val);
        fflush(r->metrics);
    }
    return LM_OK;
}

static LmStatus make_dirs(const char *path) {
    char buf[CFG_STR];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(buf, 0775) != 0 && access(buf, W_OK) != 0) {
            lm_error("cannot create output directory %s", buf);
            lm_hint("check train.out_dir and the permissions of its parent");
            return LM_ERUNTIME;
        }
        *p = saved;
        if (!saved) break;
    }
    return LM_OK;
}

static void hist_push(TrainState *h, int64_t step, double loss, double val) {
    h->hist_step = xrealloc(h->hist_step, sizeof(int64_t) * (h->n_hist + 1));
    h->hist_loss = xrealloc(h->hist_loss, sizeof(double) * (h->n_hist + 1));
    h->hist_val = xrealloc(h->hist_val, sizeof(double) * (h->n_hist + 1));
    h->hist_step[h->n_hist] = step;
    h->hist_loss[h->n_hist] = loss;
    h->hist_val[h->n_hist] = val;
    h->n_hist++;
}

// One JSON object per line, for plots and dashboards (docs/training.md).
static void metrics_json(const Run *r, const StepStats *s, double ms) {
    if (!r->metrics) return;
    fprintf(r->metrics, "{\"step\": %lld, \"iter\": %lld, \"loss\": %.6g, \"grad_norm\": %.6g, "
            "\"lr\": %.6g, \"tokens\": %.0f, \"ms\": %.3f, \"skipped\": %d, \"streams\": {",
            (long long)r->tr.step, (long long)(r->tr.step + r->tr.skipped), s->loss, s->grad_norm,
            s->lr, s->n_tokens, ms, s->skipped);
    for (int i = 0; i < r->ss.n; i++) {  // null: no target tokens of the stream this step
        fprintf(r->metrics, "%s\"%s\": ", i ? ", " : "", r->ss.train[i].name);
        fprintf(r->metrics, s->stream_tokens[i] > 0 ? "%.6g" : "null", s->stream_loss[i]);
    }
    fprintf(r->metrics, "}}\n");
    fflush(r->metrics);
}

static void log_step(const Run *r, const StepStats *s, double ms) {
    if (comm_rank() != 0) return;
    metrics_json(r, s, ms);
    int64_t done = r->tr.step + r->tr.skipped, left = r->cfg->train.steps - done;
    double eta = (timer_now() - r->t_start) / (double)(done - r->it_start) * (double)left;
    double tps = s->n_tokens / (ms / 1000.0);  // a 7B step on 2 cores does 2 tokens/s
    printf("step %6lld/%d | loss %.4f | gnorm %.3f | lr %.2e | %7.*f tok/s | %7.1f ms | eta %4.0f s",
           (long long)r->tr.step, r->cfg->train.steps, s->loss, s->grad_norm, s->lr, tps < 100 ? 1 : 0,
           tps, ms, eta);
    for (int i = 0; r->ss.n > 1 && i < r->ss.n; i++)
        if (s->stream_tokens[i] > 0) printf(" | %s %.4f", r->ss.train[i].name, s->stream_loss[i]);
        else printf(" | %s -", r->ss.train[i].name);
    printf("%s\n", s->skipped == STEP_NONFINITE ? " | SKIPPED (non-finite loss or gradient)"
                   : s->skipped == STEP_EMPTY ? " | SKIPPED (no target tokens: every example was "
                                                "longer than train.seq_len)" : "");
    fflush(stdout);
}

static LmStatus check_sizes(const Run *r) {
    const Config *c = r->cfg;
    if (c->train.seq_len <= r->model.cfg.max_position_embeddings) return LM_OK;
    lm_error("train.seq_len %d exceeds the model's max_position_embeddings %d", c->train.seq_len,
             r->model.cfg.max_position_embeddings);
    lm_hint("lower train.seq_len");
    return LM_EUSAGE;
}

static LmStatus trainer_setup(Run *r) {
    const Config *c = r->cfg;
    PackSpec spec;
    AdamWHyper h = {c->train.beta1, c->train.beta2, c->train.eps, c->train.weight_decay};
    Schedule s = {SCHED_CONSTANT, c->train.lr, c->train.min_lr, c->train.warmup_steps, c->train.steps};
    schedule_parse(c->train.schedule, &s.kind);
    LM_TRY(pack_spec_config(c, &r->neurons, &spec));
    ActsOpts ao = {c->train.recompute, c->train.ce_chunk};
    LM_TRY(trainer_init(&r->tr, &r->model, r->ss.local_rows, c->train.seq_len, &h, &s,
                        c->train.grad_clip, &spec, &ao));
    r->tr.micro_delay = c->debug.micro_batch_delay;
    if (comm_rank() == 0)
        printf("train.mode %s: %zu trainable entries of %zu parameters (%.2f%%); gradient sums of "
               "%zu bytes per micro-batch in %d buckets\n", c->train.mode, r->tr.pack.n, r->model.numel,
               100.0 * (double)r->tr.pack.n / (double)r->model.numel, r->tr.pack.n * sizeof(float),
               r->tr.pack.n_bucket);
    return LM_OK;
}

static LmStatus run_setup(Run *r) {
    const Config *c = r->cfg;
    if (c->debug.load_delay > 0) timer_sleep(c->debug.load_delay);
    LM_TRY(config_require(c, (const char *const[]){"data.corpus"}, 1));
    if (c->train.batch_size < comm_size()) {
        lm_error("train.batch_size %d is smaller than the number of ranks %d", c->train.batch_size,
                 comm_size());
        lm_hint("every rank needs at least one sequence per step: raise train.batch_size");
        return LM_EUSAGE;
    }
    r->mem_start = mem_node_measured(NULL);
    LM_TRY(mem_check_run(c, &r->mem));  // refuses a run that cannot fit, before allocating
    LM_TRY(model_from_config(c, &r->model));
    r->base_checksum = model_checksum(&r->model);
    LM_TRY(check_sizes(r));
    LM_TRY(corpus_check_vocab(c->data.corpus, r->model.cfg.vocab_size));
    if (c->model.checkpoint[0]) LM_TRY(corpus_check_tokenizer(c->data.corpus, c->model.checkpoint));
    LM_TRY(streamset_open(&r->ss, c, r->model.cfg.vocab_size));
    LM_TRY(trainer_setup(r));
    if (comm_rank() == 0) LM_TRY(make_dirs(c->train.out_dir));
    return LM_OK;
}

static void run_free(Run *r) {
    if (r->tr.model) trainer_free(&r->tr);
    if (r->model.tensors) model_free(&r->model);
    streamset_close(&r->ss);
    neurons_free(&r->neurons);
    train_state_free(&r->hist);
    if (r->metrics) fclose(r->metrics);
}

// Examples longer than train.seq_len were skipped or truncated: say how
// many, so a too-short seq_len does not silently drop data.
static void report_overlong(const Run *r) {
    double n = 0;
    for (int i = 0; i < r->ss.n; i++) n += (double)r->ss.train[i].n_overlong;
    comm_allreduce_f64(&n, 1);
    if (comm_rank() == 0 && n > 0)
        printf("%.0f training examples were longer than train.seq_len %d and were %s "
               "(data.overlong)\n", n, r->cfg->train.seq_len,
               strcmp(r->cfg->data.overlong, "truncate") ? "skipped" : "truncated");
}

// After a step: validation, keep-best, periodic checkpoint.
static LmStatus after_step(Run *r, const StepStats *s, int last) {
    const Config *c = r->cfg;
    double val = NAN;
    int due = c->train.eval_every > 0 && (r->tr.step % c->train.eval_every == 0 || last);
    if (!s->skipped && due) LM_TRY(validate(r, &val));
    hist_push(&r->hist, r->tr.step, s->loss, val);
    if (c->train.keep_best && isfinite(val) && val < r->best_val) {
        r->best_val = val;
        LM_TRY(run_save(r, "best.h5"));
    }
    if (last || (!s->skipped && c->train.save_every > 0 && r->tr.step % c->train.save_every == 0))
        LM_TRY(run_save_step(r));
    return LM_OK;
}

// A stop signal on some rank: all ranks save the state of this step
// boundary - once: a step saved already is not written again - and stop
// with LM_EPREEMPT (exit 75: requeue me).
static LmStatus stop_and_save(Run *r) {
    int saved = r->saved_step == r->tr.step;
    if (comm_rank() == 0)
        printf("preemption signal at step %lld: %s\n", (long long)r->tr.step,
               saved ? "its checkpoint is written already" : "saving");
    if (!saved) LM_TRY(run_save_step(r));
    return LM_EPREEMPT;
}

// The data position of every training stream (epoch, cursor), to take back
// a step that a stop signal cut short.
static void cursors_get(const Run *r, int64_t *pos) {
    for (int i = 0; i < r->ss.n; i++) pos[2 * i] = r->ss.train[i].epoch, pos[2 * i + 1] = r->ss.train[i].cursor;
}

static void cursors_set(Run *r, const int64_t *pos) {
    for (int i = 0; i < r->ss.n; i++) r->ss.train[i].epoch = pos[2 * i], r->ss.train[i].cursor = pos[2 * i + 1];
}

// Hang detection in the loop's collectives (mpi/comm.h): a rank waits at
// most train.hang_timeout beyond 3x the slowest step so far - the longest a
// healthy rank can lag behind - before the silent ranks are named.
static void deadline_update(const Run *r) {
    double h = r->cfg->train.hang_timeout;
    comm_set_deadline(h > 0 ? h + 3.0 * r->slowest_step : 0, "train.hang_timeout");
}

// One iteration: a step, its log line, validation and checkpoints. A step
// that a stop signal cut short is not applied and its data is taken back.
static LmStatus run_iteration(Run *r, int64_t it, int last) {
    const Config *c = r->cfg;
    int64_t pos[2 * STEP_MAX_STREAMS];
    double t0 = timer_now();
    cursors_get(r, pos);
    LM_TRY(streamset_next(&r->ss, c));
    StepStats s;
    r->tr.inject_nan = c->debug.nan_at_step == it;
    trainer_step(&r->tr, r->ss.micro, r->ss.weight, r->ss.n, &s);
    if (timer_now() - t0 > r->slowest_step) r->slowest_step = timer_now() - t0, deadline_update(r);
    if (s.skipped == STEP_STOPPED) {
        cursors_set(r, pos);
        if (comm_rank() == 0)
            printf("step %lld stopped by a signal after %.1f s: not applied\n", (long long)it,
                   timer_now() - t0);
        return stop_and_save(r);
    }
    if (c->train.log_every > 0 && (r->tr.step % c->train.log_every == 0 || s.skipped))
        log_step(r, &s, 1000.0 * (timer_now() - t0));
    if (it == r->it_start + 1) mem_report(&r->mem, r->mem_start);  // everything is allocated and touched by now
    LM_TRY(after_step(r, &s, last));
    if (c->debug.exit_at_step == it) raise(SIGKILL);  // a crash, for the resume test
    // After the last step the run is complete: a late signal changes nothing.
    if (!last && comm_any(signals_pending() != 0)) return stop_and_save(r);
    return LM_OK;
}

static LmStatus run_loop(Run *r) {
    const Config *c = r->cfg;
    if (comm_rank() == 0)
        printf("model: %zu parameters, %d layers | %d stream(s) | micro-batch %d x <= %d tokens "
               "per stream on %d ranks\n", r->model.numel, r->model.cfg.num_hidden_layers,
               r->ss.n, c->train.batch_size, c->train.seq_len, comm_size());
    for (int i = 0; comm_rank() == 0 && i < r->ss.n; i++)
        printf("stream %-8s train %lld, valid %lld sentences, weight %g\n", r->ss.train[i].name,
               (long long)r->ss.train[i].rd.n, (long long)r->ss.valid[i].rd.n, r->ss.weight[i]);
    r->t_start = timer_now();
    r->it_start = r->tr.step + r->tr.skipped;
    deadline_update(r);
    while (r->tr.step + r->tr.skipped < c->train.steps) {
        int64_t it = r->tr.step + r->tr.skipped + 1;  // 1-based iteration
        LM_TRY(run_iteration(r, it, it >= c->train.steps));
    }
    report_overlong(r);
    if (comm_rank() == 0 && r->tr.skipped)
        printf("%lld steps were skipped (non-finite values, or no target tokens; see the log)\n",
               (long long)r->tr.skipped);
    return LM_OK;
}

LmStatus train_run(const Config *cfg, const char *config_text) {
    Run r;
    memset(&r, 0, sizeof r);
    r.cfg = cfg;
    r.config_text = config_text;
    r.best_val = INFINITY;
    r.saved_step = -1;
    signals_defer(SIGNALS_DEFER_USR1);  // a checkpoint request waits for the loop
    LmStatus st = (LmStatus)comm_agree_status(run_setup(&r));
    if (st == LM_OK) st = (LmStatus)comm_agree_status(run_resume(&r));
    if (st == LM_OK && comm_rank() == 0)
        r.metrics = metrics_file_open(cfg->train.out_dir, r.tr.step, r.tr.step + r.tr.skipped);
    // Stop signals save only inside the loop: loading and setup stop at once.
    signals_defer(SIGNALS_DEFER_ALL);
    if (st == LM_OK) st = run_loop(&r);
    signals_defer(SIGNALS_DEFER_NONE);
    comm_set_deadline(0, NULL);
    run_free(&r);
    return st;
}
