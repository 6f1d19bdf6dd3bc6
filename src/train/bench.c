#include "train/bench.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "landermt/awareness.h"
#include "landermt/detect.h"
#include "mpi/comm.h"
#include "train/model_load.h"
#include "train/step.h"
#include "util/alloc.h"
#include "util/rng.h"
#include "util/timer.h"

double model_train_flops(const ModelConfig *c, int b, int t) {
    double N = (double)b * t, C = c->hidden_size, F = c->intermediate_size, V = c->vocab_size;
    double D = C / c->num_attention_heads, H = c->num_attention_heads;
    double KD = c->num_key_value_heads * D;
    double per_layer = C * (H * D) * 2 + C * KD * 2 + 3 * C * F;  // q,o + k,v + gate,up,down
    double fwd = 2 * N * (per_layer * c->num_hidden_layers + V * C);
    fwd += 2.0 * 2.0 * b * H * (double)t * t * D * c->num_hidden_layers;  // QK^T and PV
    return 3 * fwd;
}

double bench_sgemm_peak(int n, int reps) {
    float *a = falloc((size_t)n * n), *b = falloc((size_t)n * n), *c = falloc((size_t)n * n);
    for (size_t i = 0; i < (size_t)n * n; i++) a[i] = b[i] = 1e-3f * (float)(i % 97);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
    double t0 = timer_now();
    for (int r = 0; r < reps; r++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
    double dt = timer_now() - t0;
    free(a), free(b), free(c);
    return 2.0 * n * n * (double)n * reps / dt / 1e9;
}

static void random_batch(int *tok, int *tgt, float *w, int n, int V, uint64_t seed) {
    Rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        tok[i] = (int)(rng_next(&r) % (uint64_t)V);
        tgt[i] = (int)(rng_next(&r) % (uint64_t)V);
        w[i] = 1.0f;
    }
}

// One detect step on the same batch: forward, per-sentence loss, backward
// for activation gradients only, awareness and relevance accumulation.
static double detect_step_seconds(Model *m, Acts *a, const Batch *b, int reps) {
    int L = m->cfg.num_hidden_layers;
    Awareness aw;
    awareness_init(&aw, 1, L, m->cfg.intermediate_size);
    int *len = xmalloc(sizeof(int) * (size_t)b->b);
    float *w = xmalloc(sizeof(float) * (size_t)b->b * b->t);
    for (int r = 0; r < b->b; r++) len[r] = b->t;
    memcpy(w, b->weight, sizeof(float) * (size_t)b->b * b->t);
    detect_sentence_weights(w, b->b, b->t);
    ModelWeights none;
    model_weights_none(m, &none);
    aw.b = b->b, aw.t = b->t, aw.len = len;
    BackwardOpts o = {.ffn_hook = awareness_hook, .hook_ctx = &aw};
    double t0 = 0, ls, nt;
    for (int i = -1; i < reps; i++) {  // i = -1: untimed warm-up
        if (i == 0) t0 = timer_now();
        model_forward(m, a, b->tokens, b->b, b->t);
        awareness_add_relevance(&aw, a);
        model_loss(m, a, b->targets, w, 1.0f, &ls, &nt);
        model_backward(m, a, b->tokens, &none, &o);
    }
    double dt = (timer_now() - t0) / reps;
    awareness_free(&aw);
    model_weights_free(&none);
    free(len), free(w);
    return dt;
}

LmStatus bench_run(const Config *cfg) {
    Model m;
    LM_TRY(model_from_config(cfg, &m));
    int B = cfg->train.batch_size, T = cfg->train.seq_len, n = B * T;
    double peak = bench_sgemm_peak(1024, 10);
    int *tok = xmalloc(sizeof(int) * n), *tgt = xmalloc(sizeof(int) * n);
    float *w = xmalloc(sizeof(float) * n);
    random_batch(tok, tgt, w, n, m.cfg.vocab_size, 42);
    AdamWHyper h = {0.9, 0.95, 1e-8, 0.1};
    Schedule s = {SCHED_CONSTANT, 3e-4, 3e-4, 0, 1};
    Trainer tr;
    PackSpec full = {.mode = "full"};
    LM_TRY(trainer_init(&tr, &m, B, T, &h, &s, 1.0, &full));
    Batch batch = {tok, tgt, w, B, T};
    StepStats st;
    for (int i = 0; i < cfg->bench.warmup; i++) trainer_step(&tr, &batch, NULL, 1, &st);
    tr.times = (StepTimes){0};
    double t0 = timer_now();
    for (int i = 0; i < cfg->bench.steps; i++) trainer_step(&tr, &batch, NULL, 1, &st);
    double dt = (timer_now() - t0) / cfg->bench.steps;
    double flops = model_train_flops(&m.cfg, B, T), k = 1000.0 / cfg->bench.steps;
    if (comm_rank() == 0) {
        printf("model %zu params | batch %d x %d | %d timed steps after %d warm-up\n", m.numel, B,
               T, cfg->bench.steps, cfg->bench.warmup);
        printf("forward+loss %.1f ms | backward %.1f ms | allreduce %.1f ms | optimizer %.1f ms\n",
               tr.times.forward * k, tr.times.backward * k, tr.times.allreduce * k,
               tr.times.optimizer * k);
        printf("step %.1f ms | %.0f tokens/s | %.1f GFLOP/s | sgemm peak %.1f GFLOP/s | MFU %.1f%%\n",
               dt * 1000, n * comm_size() / dt, flops / dt / 1e9, peak, 100 * flops / dt / 1e9 / peak);
    }
    double dd = detect_step_seconds(&m, &tr.acts, &batch, cfg->bench.steps);
    if (comm_rank() == 0)
        printf("detect step %.1f ms | %.0f tokens/s | %.0f sentences/s | %.2f x the training step\n",
               dd * 1000, n * comm_size() / dd, B * comm_size() / dd, dd / dt);
    trainer_free(&tr);
    model_free(&m);
    free(tok), free(tgt), free(w);
    return LM_OK;
}
