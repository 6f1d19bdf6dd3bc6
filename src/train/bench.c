#include "train/bench.h"

#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

#include "data/open.h"
#include "io/neurons.h"
#include "landermt/awareness.h"
#include "landermt/detect.h"
#include "model/gemm.h"
#include "mpi/comm.h"
#include "train/memory.h"
#include "train/model_load.h"
#include "train/step.h"
#include "util/alloc.h"
#include "util/rng.h"
#include "util/timer.h"

// Forward FLOPs of one block of b sequences of t tokens: its matrix
// products, and the attention's QK^T and PV.
static void block_flops(const ModelConfig *c, int b, int t, double *mats, double *attn) {
    double N = (double)b * t, C = c->hidden_size, F = c->intermediate_size;
    double D = c->head_dim ? c->head_dim : C / c->num_attention_heads, H = c->num_attention_heads;
    double KD = c->num_key_value_heads * D;
    double ffn_mats = c->architecture == ARCH_BLOOM ? 2 : 3;  // (gate,) up, down
    *mats = 2 * N * (C * (H * D) * 2 + C * KD * 2 + ffn_mats * C * F);  // q,o + k,v + FFN
    *attn = 2.0 * 2.0 * b * H * (double)t * t * D;
}

double model_train_flops(const ModelConfig *c, int b, int t) {
    double mats, attn, head = 2.0 * b * t * (double)c->vocab_size * c->hidden_size;
    block_flops(c, b, t, &mats, &attn);
    return 3 * ((mats + attn) * c->num_hidden_layers + head);
}

double model_selective_flops(const ModelConfig *c, int b, int t, int lowest, size_t trained) {
    double mats, attn, head = 2.0 * b * t * (double)c->vocab_size * c->hidden_size;
    block_flops(c, b, t, &mats, &attn);
    double fwd = (mats + attn) * c->num_hidden_layers + head;
    double act_grads = head + (mats + 2 * attn) * (c->num_hidden_layers - lowest);
    return fwd + act_grads + 2.0 * b * t * (double)trained;
}

// Detect's step: the forward, then activation gradients down to layer 1's
// input and layer 0's FFN activations (dL/dh there is the last it needs).
double model_detect_flops(const ModelConfig *c, int b, int t) {
    double down = 2.0 * b * t * (double)c->hidden_size * c->intermediate_size;
    return model_selective_flops(c, b, t, 1, 0) + down;
}

void openblas_set_num_threads(int);

// OpenBLAS's own rate on its own threads (as many as OpenMP has): the
// reference the model's products (gemm.c) are measured against.
double bench_sgemm_peak(int n, int reps) {
    openblas_set_num_threads(omp_get_max_threads());
    float *a = falloc((size_t)n * n), *b = falloc((size_t)n * n), *c = falloc((size_t)n * n);
    for (size_t i = 0; i < (size_t)n * n; i++) a[i] = b[i] = 1e-3f * (float)(i % 97);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
    double t0 = timer_now();
    for (int r = 0; r < reps; r++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
    double dt = timer_now() - t0;
    free(a), free(b), free(c);
    gemm_init();
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

// A neurons table for timing the selective modes without running detect:
// the selected layers (layers.list, else the top layers.k), two units, a
// (1 - epsilon) share of specific neurons spread over them.
static void bench_neurons(const Config *c, const Model *m, Neurons *nr) {
    int L = m->cfg.num_hidden_layers, F = m->cfg.intermediate_size;
    int k = !strcmp(c->layers.selection, "list") ? c->layers.list.n : c->layers.k;
    neurons_init(nr, 2, L, F, k);
    snprintf(nr->units[0], NEURONS_NAME, "de-en");
    snprintf(nr->units[1], NEURONS_NAME, "en-de");
    snprintf(nr->unit_kind, sizeof nr->unit_kind, "direction");
    nr->hidden_size = m->cfg.hidden_size;
    for (int j = 0; j < k; j++) nr->selected[j] = k == c->layers.list.n ? c->layers.list.v[j] : L - k + j;
    for (int j = 0; j < k; j++)
        for (int i = 0; i < F; i++)
            nr->owner[(size_t)j * F + i] = (i * 7919 % 1000) < c->awareness.epsilon * 1000 ? -1 : i % 2;
}

typedef struct {
    double step, rss_mb, blocking;  // blocking: the step's gradient sums without overlap
    StepTimes per_step;
    size_t packed;
} BenchResult;

// Resident memory of this process now (MB), from /proc/self/statm.
static double rss_now_mb(void) {
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f && fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    if (f) fclose(f);
    return (double)resident * (double)sysconf(_SC_PAGESIZE) / 1048576.0;
}

static LmStatus time_mode(const Config *c, Model *m, const PackSpec *spec, const Batch *b,
                          BenchResult *out, Trainer *keep) {
    AdamWHyper h = {0.9, 0.95, 1e-8, 0.1};
    Schedule s = {SCHED_CONSTANT, 3e-4, 3e-4, 0, 1};
    Trainer tr;
    ActsOpts ao = {c->train.recompute, c->train.ce_chunk};
    double rss0 = rss_now_mb();
    LM_TRY(trainer_init(&tr, m, b->b, b->t, &h, &s, 1.0, spec, &ao));
    StepStats st;
    for (int i = 0; i < c->bench.warmup; i++) trainer_step(&tr, b, NULL, 1, &st);
    tr.times = (StepTimes){0};
    double t0 = timer_now();
    for (int i = 0; i < c->bench.steps; i++) trainer_step(&tr, b, NULL, 1, &st);
    out->step = (timer_now() - t0) / c->bench.steps;
    double k = 1.0 / c->bench.steps;
    out->per_step = (StepTimes){tr.times.forward * k, tr.times.backward * k, tr.times.allreduce * k,
                                tr.times.optimizer * k};
    out->blocking = grads_time_blocking(&tr.red);  // one micro-batch's sums, as in a step
    out->packed = tr.pack.n;
    out->rss_mb = rss_now_mb() - rss0;  // pack, gradients, moments, activations
    if (keep) *keep = tr;
    else trainer_free(&tr);
    return LM_OK;
}

// What the memory plan (memory.c) expects a rank to add beyond the model
// for this mode: bench runs every rank on the whole batch, state per rank.
static void print_memory(const Config *c, const Model *m, const char *mode, int lora_rank, double measured) {
    MemSpec s;
    mem_spec_config(c, &m->cfg, 0, 4, &s);
    s.mode = mode, s.B = c->train.batch_size, s.ranks_per_node = 1, s.node_shared = 0;
    if (lora_rank > 0) s.lora_rank = lora_rank;
    MemPlan p;
    mem_plan(&s, &p);
    double mb = 1.0 / 1048576.0;
    printf("%-8s memory planned beyond the model: state %.0f + buffers %.0f + activations %.0f = %.0f MB "
           "| measured growth %.0f MB (RSS)\n", mode, p.state_rank * mb, p.buffers_rank * mb,
           p.acts_rank * mb, (p.state_rank + p.buffers_rank + p.acts_rank) * mb, measured);
}

static void print_result(const Config *c, const Model *m, const char *mode, int lora_rank,
                         const BenchResult *r, double flops, double peak, int n) {
    if (comm_rank() != 0) return;
    printf("%-8s forward+loss %.1f ms | backward %.1f ms | gradient sums %.1f ms exposed, %.1f ms "
           "without overlap (%zu bytes) | optimizer %.1f ms\n", mode, r->per_step.forward * 1e3,
           r->per_step.backward * 1e3, r->per_step.allreduce * 1e3, r->blocking * 1e3,
           r->packed * sizeof(float), r->per_step.optimizer * 1e3);
    printf("%-8s step %.1f ms | %.0f tokens/s", mode, r->step * 1e3, n * comm_size() / r->step);
    if (flops > 0)  // MFU only where the FLOP count is the full model's
        printf(" | %.1f GFLOP/s | sgemm peak %.1f GFLOP/s | MFU %.1f%%", flops / r->step / 1e9, peak,
               100 * flops / r->step / 1e9 / peak);
    printf("\n");
    print_memory(c, m, mode, lora_rank, r->rss_mb);
}

// The selective step's floor: its FLOPs (model_selective_flops, from the
// lowest trained layer up) at the rate the full step achieved.
static void print_floor(const char *mode, const ModelConfig *c, int b, int t, const Neurons *nr,
                        const BenchResult *sel, double full_rate) {
    int lowest = nr->selected[0];
    for (int j = 1; j < nr->k; j++) lowest = nr->selected[j] < lowest ? nr->selected[j] : lowest;
    double floor = model_selective_flops(c, b, t, lowest, sel->packed) / full_rate;
    printf("%-8s floor %.1f ms (forward + backward from layer %d + trained entries' gradients at the "
           "full step's %.1f GFLOP/s) | step / floor = %.2f\n", mode, floor * 1e3, lowest,
           full_rate / 1e9, sel->step / floor);
}

// Reader throughput per rank: train.batch_size-example micro-batches of
// every configured direction, assembled from HDF5 blocks as training does.
static LmStatus bench_reader(const Config *c, int vocab) {
    Tokenizer tok;
    LmStatus st = corpus_tokenizer(c->data.corpus, &tok);
    int rows = (c->train.batch_size + comm_size() - 1) / comm_size(), n_batches = 200;
    BatchBuf bb;
    batchbuf_init(&bb, rows, c->train.seq_len);
    for (int i = 0; st == LM_OK && i < c->data.directions.n; i++) {
        Stream s;
        st = stream_open_config(&s, c, &tok, c->data.directions.item[i], c->data.train_split, vocab, 1);
        double t0 = timer_now(), tokens = 0, examples = 0;
        for (int k = 0; st == LM_OK && k < n_batches; k++) {
            st = stream_next(&s, c->train.batch_size, c->train.seq_len, comm_rank(), comm_size(), &bb);
            examples += bb.batch.b;
            for (long j = 0; j < (long)bb.batch.b * bb.batch.t; j++) tokens += bb.batch.weight[j] != 0;
        }
        double dt = timer_now() - t0;
        if (st == LM_OK && comm_rank() == 0)
            printf("reader   %-8s %.0f examples/s | %.0f target tokens/s per rank (%d micro-batches of %d)\n",
                   s.name, examples / dt, tokens / dt, n_batches, c->train.batch_size);
        if (st == LM_OK) stream_close(&s);
    }
    batchbuf_free(&bb);
    tokenizer_free(&tok);
    return st;
}

// LoRA (lora.target, lora.layers) at the rank whose trainable entries come
// closest to `budget` (the selective mode's), timed like the other modes.
static LmStatus bench_lora_matched(const Config *c, Model *m, const Neurons *nr, const Batch *b,
                                   size_t budget, double peak, int n) {
    PackSpec spec = {.mode = "lora", .neurons = nr, .lora = pack_lora_spec(c)};
    spec.lora.rank = 1;
    ParamPack one;
    LM_TRY(pack_build(&one, m, &spec));
    size_t per_rank = one.n;
    int cap = 1 << 30;
    for (int k = 0; k < one.n_lora; k++) {
        int side = one.lora[k].in < one.lora[k].out ? one.lora[k].in : one.lora[k].out;
        cap = side < cap ? side : cap;
    }
    pack_free(&one);
    long r = lround((double)budget / (double)per_rank);
    spec.lora.rank = (int)(r < 1 ? 1 : r > cap ? cap : r);
    if (comm_rank() == 0)
        printf("lora     rank %d (lora.target %s) gives %zu trainable entries, nearest to the %s "
               "mode's %zu\n", spec.lora.rank, c->lora.target.n ? "as configured" : "default",
               per_rank * (size_t)spec.lora.rank, c->train.mode, budget);
    BenchResult res;
    LM_TRY(time_mode(c, m, &spec, b, &res, NULL));
    print_result(c, m, "lora", spec.lora.rank, &res, 0, peak, n);
    return LM_OK;
}

LmStatus bench_run(const Config *cfg) {
    Model m;
    LM_TRY(model_from_config(cfg, &m));
    if (cfg->data.corpus[0] && cfg->data.directions.n) {
        LmStatus rs = bench_reader(cfg, m.cfg.vocab_size);
        if (rs != LM_OK) {
            model_free(&m);
            return rs;
        }
    }
    int B = cfg->train.batch_size, T = cfg->train.seq_len, n = B * T;
    double peak = bench_sgemm_peak(1024, 10), flops = model_train_flops(&m.cfg, B, T);
    int *tok = xmalloc(sizeof(int) * n), *tgt = xmalloc(sizeof(int) * n);
    float *w = xmalloc(sizeof(float) * n);
    random_batch(tok, tgt, w, n, m.cfg.vocab_size, 42);
    Batch batch = {tok, tgt, w, B, T};
    if (comm_rank() == 0)
        printf("model %zu params | batch %d x %d | %d timed steps after %d warm-up\n", m.numel, B, T,
               cfg->bench.steps, cfg->bench.warmup);
    Neurons nr;
    memset(&nr, 0, sizeof nr);
    const char *dirs[] = {"de-en"};
    PackSpec spec = {.mode = cfg->train.mode, .neurons = &nr, .dirs = dirs, .n_dir = 1,
                     .routing = cfg->routing.enabled, .scale = (float)cfg->routing.scale};
    BenchResult sel, full;
    LmStatus st = LM_OK;
    if (strcmp(cfg->train.mode, "full")) {
        bench_neurons(cfg, &m, &nr);
        st = time_mode(cfg, &m, &spec, &batch, &sel, NULL);
        if (st == LM_OK) print_result(cfg, &m, cfg->train.mode, 0, &sel, 0, peak, n);
        if (st == LM_OK && strcmp(cfg->train.mode, "lora") && strcmp(cfg->train.mode, "layers"))
            st = bench_lora_matched(cfg, &m, &nr, &batch, sel.packed, peak, n);
    }
    Trainer tr;
    PackSpec fs = {.mode = "full"};
    if (st == LM_OK) st = time_mode(cfg, &m, &fs, &batch, &full, &tr);
    if (st == LM_OK) print_result(cfg, &m, "full", 0, &full, flops, peak, n);
    if (st == LM_OK && strcmp(cfg->train.mode, "full") && comm_rank() == 0)
        printf("%s step / full step = %.2f\n", cfg->train.mode, sel.step / full.step);
    if (st == LM_OK && nr.k > 0 && strcmp(cfg->train.mode, "lora") && comm_rank() == 0)
        print_floor(cfg->train.mode, &m.cfg, B, T, &nr, &sel, flops / full.step);
    if (st == LM_OK) {
        double dd = detect_step_seconds(&m, &tr.acts, &batch, cfg->bench.steps);
        if (comm_rank() == 0)
            printf("detect   step %.1f ms | %.0f tokens/s | %.0f sentences/s | %.2f x the full step | "
                   "floor %.2f x the full step (its FLOPs / the full step's)\n", dd * 1000, n * comm_size() / dd,
                   B * comm_size() / dd, dd / full.step, model_detect_flops(&m.cfg, B, T) / flops);
        trainer_free(&tr);
    }
    neurons_free(&nr);
    model_free(&m);
    free(tok), free(tgt), free(w);
    return st;
}
