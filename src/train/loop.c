#include "train/loop.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/ckpt.h"
#include "io/corpus.h"
#include "mpi/comm.h"
#include "train/streams.h"

#include "data/open.h"
#include "train/step.h"
#include "util/alloc.h"
#include "util/timer.h"

LmStatus model_config_from(const Config *cfg, ModelConfig *mc) {
    if (strcmp(cfg->model.architecture, "llama")) {
        lm_error("model.architecture '%s' is not implemented yet", cfg->model.architecture);
        lm_hint("use model.architecture: llama");
        return LM_EUSAGE;
    }
    *mc = (ModelConfig){ARCH_LLAMA, cfg->model.vocab_size, cfg->model.hidden_size,
                        cfg->model.intermediate_size, cfg->model.num_hidden_layers,
                        cfg->model.num_attention_heads, cfg->model.num_key_value_heads,
                        cfg->model.max_position_embeddings, (float)cfg->model.rms_norm_eps,
                        (float)cfg->model.rope_theta, cfg->model.tie_word_embeddings,
                        cfg->model.attention_bias};
    return model_config_check(mc);
}

LmStatus model_from_config(const Config *cfg, Model *m) {
    ModelConfig mc;
    if (cfg->model.checkpoint[0]) {
        LM_TRY(ckpt_read_config(cfg->model.checkpoint, &mc));
        model_init(m, &mc);
        LmStatus st = ckpt_read(cfg->model.checkpoint, m, NULL);
        if (st != LM_OK) model_free(m);
        return st;
    }
    LM_TRY(model_config_from(cfg, &mc));
    model_init(m, &mc);
    model_init_random(m, (uint64_t)cfg->train.seed, (float)cfg->model.init_std);
    return LM_OK;
}

typedef struct {
    const Config *cfg;
    const char *config_text;
    Model model;
    Trainer tr;
    StreamSet ss;
    TrainState hist;  // metric history only
} Run;

// Validation loss over every stream; per-stream values printed on rank 0.
static LmStatus validate(Run *r, double *val) {
    double sum = 0, n = 0;
    for (int i = 0; i < r->ss.n; i++) {
        double ls, nt;
        LM_TRY(streamset_validate(&r->ss, i, r->cfg, &r->tr, &ls, &nt));
        sum += ls, n += nt;
        if (comm_rank() == 0 && r->ss.n > 1)
            printf("step %6lld | valid %-8s %.4f\n", (long long)r->tr.step, r->ss.train[i].name,
                   nt > 0 ? ls / nt : NAN);
    }
    *val = n > 0 ? sum / n : NAN;
    if (comm_rank() == 0) printf("step %6lld | valid loss %.4f\n", (long long)r->tr.step, *val);
    return LM_OK;
}

static LmStatus make_dirs(const char *path) {
    char buf[CFG_STR];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
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

// Rank 0 writes step_<N>.h5 atomically, then drops checkpoints beyond
// keep_last; all ranks agree on the outcome so a failed write stops all.
static LmStatus save(Run *r) {
    const Config *c = r->cfg;
    LmStatus st = LM_OK;
    if (comm_rank() == 0) {
        char path[CFG_STR + 32];
        snprintf(path, sizeof path, "%s/step_%08lld.h5", c->train.out_dir, (long long)r->tr.step);
        TrainState ts = r->hist;
        char *names[STEP_MAX_STREAMS];
        int64_t epochs[STEP_MAX_STREAMS], pos[STEP_MAX_STREAMS];
        for (int i = 0; i < r->ss.n; i++) {
            names[i] = r->ss.train[i].name;
            epochs[i] = r->ss.train[i].epoch, pos[i] = r->ss.train[i].cursor;
        }
        ts.n_cursors = r->ss.n, ts.cursor_names = names;
        ts.cursor_epoch = epochs, ts.cursor_pos = pos;
        ts.step = r->tr.step;
        ts.skipped_steps = r->tr.skipped;
        ts.exp_avg = r->tr.exp_avg, ts.exp_avg_sq = r->tr.exp_avg_sq;
        st = ckpt_write(path, &r->model, r->config_text, &ts, c->data.corpus);
        if (st == LM_OK) printf("saved %s\n", path);
        int64_t old = r->tr.step - (int64_t)c->train.keep_last * c->train.save_every;
        if (st == LM_OK && c->train.save_every > 0 && old > 0) {
            snprintf(path, sizeof path, "%s/step_%08lld.h5", c->train.out_dir, (long long)old);
            unlink(path);
        }
    }
    return (LmStatus)comm_agree_status(st);
}

static void log_step(const Run *r, const StepStats *s, double ms) {
    if (comm_rank() != 0) return;
    printf("step %6lld/%d | loss %.4f | gnorm %.3f | lr %.2e | %7.0f tok/s | %7.1f ms",
           (long long)r->tr.step, r->cfg->train.steps, s->loss, s->grad_norm, s->lr,
           s->n_tokens / (ms / 1000.0), ms);
    for (int i = 0; r->ss.n > 1 && i < r->ss.n; i++)
        printf(" | %s %.4f", r->ss.train[i].name, s->stream_loss[i]);
    printf("%s\n", s->skipped == STEP_NONFINITE ? " | SKIPPED (non-finite loss or gradient)"
                  : s->skipped == STEP_EMPTY ? " | SKIPPED (no target tokens: every example was "
                                               "longer than train.seq_len)" : "");
    fflush(stdout);
}

static LmStatus run_setup(Run *r) {
    const Config *c = r->cfg;
    LM_TRY(config_require(c, (const char *const[]){"data.corpus"}, 1));
    if (c->train.batch_size < comm_size()) {
        lm_error("train.batch_size %d is smaller than the number of ranks %d", c->train.batch_size,
                 comm_size());
        lm_hint("every rank needs at least one sequence per step: raise train.batch_size");
        return LM_EUSAGE;
    }
    LM_TRY(model_from_config(c, &r->model));
    if (c->train.seq_len > r->model.cfg.max_position_embeddings) {
        lm_error("train.seq_len %d exceeds the model's max_position_embeddings %d",
                 c->train.seq_len, r->model.cfg.max_position_embeddings);
        lm_hint("lower train.seq_len");
        return LM_EUSAGE;
    }
    LM_TRY(corpus_check_vocab(c->data.corpus, r->model.cfg.vocab_size));
    LM_TRY(streamset_open(&r->ss, c, r->model.cfg.vocab_size));
    AdamWHyper h = {c->train.beta1, c->train.beta2, c->train.eps, c->train.weight_decay};
    Schedule s = {SCHED_CONSTANT, c->train.lr, c->train.min_lr, c->train.warmup_steps, c->train.steps};
    schedule_parse(c->train.schedule, &s.kind);
    trainer_init(&r->tr, &r->model, r->ss.local_rows, c->train.seq_len, &h, &s, c->train.grad_clip);
    if (comm_rank() == 0) LM_TRY(make_dirs(c->train.out_dir));
    return LM_OK;
}

static void run_free(Run *r) {
    if (r->tr.model) trainer_free(&r->tr);
    if (r->model.data) model_free(&r->model);
    streamset_close(&r->ss);
    train_state_free(&r->hist);
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

static LmStatus run_loop(Run *r) {
    const Config *c = r->cfg;
    if (comm_rank() == 0)
        printf("model: %zu parameters, %d layers | %d stream(s) | micro-batch %d x <= %d tokens "
               "per stream on %d ranks\n", r->model.numel, r->model.cfg.num_hidden_layers,
               r->ss.n, c->train.batch_size, c->train.seq_len, comm_size());
    for (int i = 0; comm_rank() == 0 && i < r->ss.n; i++)
        printf("stream %-8s train %lld, valid %lld sentences, weight %g\n", r->ss.train[i].name,
               (long long)r->ss.train[i].rd.n, (long long)r->ss.valid[i].rd.n, r->ss.weight[i]);
    while (r->tr.step + r->tr.skipped < c->train.steps) {
        double t0 = timer_now();
        LM_TRY(streamset_next(&r->ss, c));
        StepStats s;
        trainer_step(&r->tr, r->ss.micro, r->ss.weight, r->ss.n, &s);
        if (c->train.log_every > 0 && (r->tr.step % c->train.log_every == 0 || s.skipped))
            log_step(r, &s, 1000.0 * (timer_now() - t0));
        int last = r->tr.step + r->tr.skipped >= c->train.steps;
        double val = NAN;
        if (!s.skipped && c->train.eval_every > 0 && (r->tr.step % c->train.eval_every == 0 || last))
            LM_TRY(validate(r, &val));
        hist_push(&r->hist, r->tr.step, s.loss, val);
        if (last || (!s.skipped && c->train.save_every > 0 && r->tr.step % c->train.save_every == 0))
            LM_TRY(save(r));
    }
    report_overlong(r);
    return LM_OK;
}

LmStatus train_run(const Config *cfg, const char *config_text) {
    Run r;
    memset(&r, 0, sizeof r);
    r.cfg = cfg;
    r.config_text = config_text;
    LmStatus st = run_setup(&r);
    st = (LmStatus)comm_agree_status(st);
    if (st == LM_OK) st = run_loop(&r);
    run_free(&r);
    return st;
}
