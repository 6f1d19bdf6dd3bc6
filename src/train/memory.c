// Planned and measured memory of a training run (memory.h).
#include "train/memory.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/hf_config.h"
#include "io/model_source.h"
#include "train/model_load.h"
#include "mpi/comm.h"
#include "train/pack.h"

// Parameter counts of a model of c, from its tensor table: all, those of
// one block, 1-D ones, and the embedding matrix.
typedef struct {
    double all, per_layer, one_d, embed;
} Counts;

static Counts counts_of(const ModelConfig *c) {
    Model t;
    model_table_init(&t, c);
    Counts k = {(double)t.numel, 0, 0, 0};
    for (int i = 0; i < t.n_tensors; i++) {
        const TensorInfo *x = &t.tensors[i];
        if (x->layer == 0) k.per_layer += (double)x->numel;
        if (x->ndim == 1) k.one_d += (double)x->numel;
        if (i == 0) k.embed = (double)x->numel;
    }
    model_free(&t);
    return k;
}

static int is(const MemSpec *s, const char *mode) { return !strcmp(s->mode, mode); }

static double per_neuron(const ModelConfig *c) {
    return c->architecture == ARCH_BLOOM ? 2.0 * c->hidden_size + 1 : 3.0 * c->hidden_size;
}

// Trained FFN neurons per selected layer (neuron modes).
static double neurons_per_layer(const MemSpec *s) {
    double F = s->cfg->intermediate_size;
    return is(s, "general") ? s->epsilon * F : is(s, "specific") ? (1 - s->epsilon) * F : F;
}

static int neuron_mode(const MemSpec *s) {
    return is(s, "landermt") || is(s, "general") || is(s, "specific");
}

// LoRA: sum of (in + out) over a layer's adapters, PEFT's default targets
// (q, v; bloom: query_key_value) unless lora_targets counts more linears.
static double lora_per_layer(const MemSpec *s) {
    const ModelConfig *c = s->cfg;
    double C = c->hidden_size, QD = (double)c->num_attention_heads * c->head_dim;
    double KD = (double)c->num_key_value_heads * c->head_dim;
    double def = c->architecture == ARCH_BLOOM ? C + 3 * QD : (C + QD) + (C + KD);
    int defaults = c->architecture == ARCH_BLOOM ? 1 : 2;
    return s->lora_targets > defaults ? def / defaults * s->lora_targets : def;
}

double mem_trainable(const MemSpec *s) {
    const ModelConfig *c = s->cfg;
    Counts k = counts_of(c);
    if (is(s, "full")) return k.all;
    if (is(s, "layers")) return s->k * k.per_layer;
    if (is(s, "lora")) return (s->k > 0 ? s->k : c->num_hidden_layers) * (double)s->lora_rank * lora_per_layer(s);
    double gates = is(s, "landermt") ? s->k * (c->hidden_size + 1.0) : 0;
    return s->k * neurons_per_layer(s) * per_neuron(c) + gates;
}

// Floats of activations and scratch for B x T tokens (model.c's Acts).
static double acts_floats(const MemSpec *s) {
    const ModelConfig *c = s->cfg;
    double N = (double)s->B * s->T, C = c->hidden_size, F = c->intermediate_size, V = c->vocab_size;
    double QD = (double)c->num_attention_heads * c->head_dim, KD = (double)c->num_key_value_heads * c->head_dim;
    double ffn = c->architecture == ARCH_BLOOM ? 2 : 3, L = c->num_hidden_layers;
    double layer = N * (4 * C + 2 * QD + 2 * KD + ffn * F + 6) + (double)s->B * c->num_attention_heads * s->T * s->T;
    double kept = N * C * (L + 1) + (s->recompute ? layer : L * layer);
    double threads = s->threads > 0 ? s->threads : 1;
    double scratch = N * (3 * C + 2 * QD + 2 * KD + 3 * F) + threads * s->T * s->T + N * 3 * QD;
    double logits = s->ce_chunk ? s->ce_chunk * (V + C) + N * C : N * V;
    return kept + scratch + logits + (neuron_mode(s) ? 2 * N * F : 0);
}

// The largest gradient bucket, in floats (pack.c's layout).
static double bucket_floats(const MemSpec *s, const Counts *k, double n) {
    if (is(s, "full")) return k->per_layer > k->embed ? k->per_layer : k->embed;
    if (is(s, "layers")) return k->per_layer;
    if (is(s, "lora")) return n / (s->k > 0 ? s->k : s->cfg->num_hidden_layers);
    double seg = neurons_per_layer(s) * per_neuron(s->cfg);
    return seg < (double)PACK_CHUNK_FLOATS ? seg : (double)PACK_CHUNK_FLOATS;
}

void mem_plan(const MemSpec *s, MemPlan *p) {
    const ModelConfig *c = s->cfg;
    Counts k = counts_of(c);
    double n = mem_trainable(s), rpn = s->ranks_per_node > 0 ? s->ranks_per_node : 1;
    memset(p, 0, sizeof *p);
    double whole = is(s, "full") ? k.all : is(s, "layers") ? s->k * k.per_layer : 0;  // float32 per rank
    if (s->mapped) {  // pages of matrices that became float32 or packed are released
        double released = neuron_mode(s) && neurons_per_layer(s) == c->intermediate_size
                              ? s->k * neurons_per_layer(s) * (per_neuron(c) - (c->architecture == ARCH_BLOOM))
                              : is(s, "full") ? k.all - k.one_d : whole;
        p->base_node = (k.all - k.one_d - released) * s->source_bytes;
        p->base_node = p->base_node > 0 ? p->base_node : 0;
        p->model_rank = 4 * (k.one_d + whole);
    } else {
        p->model_rank = 4 * k.all;
    }
    double cap = bucket_floats(s, &k, n);
    if (s->node_shared) {
        p->state_node = 16 * n;
        p->buffers_node = 4 * rpn * cap;
        p->buffers_rank = 4 * 2 * cap / rpn;
    } else {
        p->state_rank = 16 * n;
        p->buffers_rank = 4 * 4 * cap;
    }
    p->acts_rank = 4 * acts_floats(s);
}

double mem_rank_bytes(const MemPlan *p) {
    return p->model_rank + p->state_rank + p->buffers_rank + p->acts_rank;
}

double mem_node_bytes(const MemPlan *p, int ranks_per_node) {
    return p->base_node + p->state_node + p->buffers_node + ranks_per_node * mem_rank_bytes(p);
}

void mem_measure(double *anon, double *file, double *shmem) {
    *anon = *file = *shmem = 0;
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    char line[256];
    double kb;
    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, "Pss_Anon: %lf", &kb) == 1) *anon = kb / 1024;
        else if (sscanf(line, "Pss_File: %lf", &kb) == 1) *file = kb / 1024;
        else if (sscanf(line, "Pss_Shmem: %lf", &kb) == 1) *shmem = kb / 1024;
    }
    if (f) fclose(f);
}

double mem_available(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    double kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lf", &kb) == 1) break;
    if (f) fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

void mem_spec_config(const Config *c, const ModelConfig *mc, int mapped, int source_bytes, MemSpec *s) {
    int ranks = comm_size(), rpn = comm_local_size();
    *s = (MemSpec){.cfg = mc, .mapped = mapped, .source_bytes = source_bytes, .mode = c->train.mode,
                   .k = !strcmp(c->layers.selection, "list") ? c->layers.list.n : c->layers.k,
                   .epsilon = c->awareness.epsilon, .lora_rank = c->lora.rank,
                   .lora_targets = c->lora.target.n, .T = c->train.seq_len,
                   .recompute = c->train.recompute, .ce_chunk = c->train.ce_chunk,
                   .ranks_per_node = rpn, .node_shared = c->train.node_shared,
                   .threads = omp_get_max_threads()};
    s->B = (c->train.batch_size + ranks - 1) / ranks;
    if (!strcmp(c->train.mode, "lora") && strcmp(c->lora.layers, "selected")) s->k = 0;
}

// One row of the plan table: mode, ranks per node, per rank and per node
// (node-shared state and per-rank state), in GB.
static void plan_row(MemSpec *s, int rpn, double batch) {
    s->ranks_per_node = rpn;
    s->B = (int)((batch + rpn - 1) / rpn);
    MemPlan shared, own;
    s->node_shared = 1;
    mem_plan(s, &shared);
    s->node_shared = 0;
    mem_plan(s, &own);
    double gb = 1e-9;
    printf("| %s | %.2f | %d | %.2f | %.2f | %.2f | %.2f |\n", s->mode, mem_trainable(s) * 1e-9, rpn,
           shared.base_node * gb, mem_rank_bytes(&shared) * gb, mem_node_bytes(&shared, rpn) * gb,
           mem_node_bytes(&own, rpn) * gb);
}

LmStatus mem_plan_run(const Config *c, const char *config_json) {
    ModelConfig mc;
    char *text = NULL;
    LM_TRY(hf_config_read(config_json, &mc, &text));
    char dtype[32];
    hf_config_torch_dtype(text, dtype, sizeof dtype);
    free(text);
    int source = strcmp(dtype, "float32") ? 2 : 4;
    MemSpec s;
    mem_spec_config(c, &mc, 1, source, &s);
    Counts k = counts_of(&mc);
    printf("%s: %s, %.3f B parameters (%s), %d layers, hidden %d, FFN %d, vocabulary %d\n", config_json,
           mc.model_type, k.all * 1e-9, dtype[0] ? dtype : "float32", mc.num_hidden_layers,
           mc.hidden_size, mc.intermediate_size, mc.vocab_size);
    printf("micro-batch %d x %d tokens per step on one node (split over its ranks), k = %d layers, "
           "recompute %s, ce_chunk %d\n\n", c->train.batch_size, c->train.seq_len, s.k,
           s.recompute ? "on" : "off", s.ce_chunk);
    printf("| mode | trainable (B) | ranks/node | base once per node (GB) | per rank (GB) | node total, "
           "node-shared state (GB) | node total, per-rank state (GB) |\n|---|---:|---:|---:|---:|---:|---:|\n");
    const char *modes[] = {"full", "layers", "landermt"};
    for (int m = 0; m < 3; m++)
        for (int rpn = 1; rpn <= 8; rpn *= 2) {
            s.mode = modes[m];
            plan_row(&s, rpn, c->train.batch_size);
        }
    return LM_OK;
}

// The configuration of the run's model and how its weights will be held.
static LmStatus run_model_config(const Config *c, ModelConfig *mc, int *mapped, int *source) {
    *mapped = 0, *source = 4;
    if (!c->model.checkpoint[0]) return model_config_from(c, mc);
    ModelSource src;
    LM_TRY(model_source_open(&src, c->model.checkpoint));
    *mc = src.cfg;
    *mapped = src.hf;
    *source = strcmp(src.dtype, "float32") ? 2 : 4;
    model_source_close(&src);
    return LM_OK;
}

static void plan_print(const MemPlan *p, int rpn, double node, const char *to) {
    double gb = 1e-9;
    fprintf(to[0] == 'e' ? stderr : stdout,
            "memory plan: %.2f GB on this node = base %.2f (shared) + state %.2f (shared) + buffers "
            "%.2f (shared) + %d rank%s x %.2f (model %.2f, state %.2f, buffers %.2f, activations %.2f)\n",
            node * gb, p->base_node * gb, p->state_node * gb, p->buffers_node * gb, rpn, rpn > 1 ? "s" : "",
            mem_rank_bytes(p) * gb, p->model_rank * gb, p->state_rank * gb, p->buffers_rank * gb,
            p->acts_rank * gb);
}

LmStatus mem_check_run(const Config *c, MemPlan *plan) {
    ModelConfig mc;
    int mapped, source;
    memset(plan, 0, sizeof *plan);
    LM_TRY(run_model_config(c, &mc, &mapped, &source));
    MemSpec s;
    mem_spec_config(c, &mc, mapped, source, &s);
    mem_plan(&s, plan);
    int rpn = comm_local_size();
    double node = mem_node_bytes(plan, rpn);
    double avail = c->debug.memory_limit_mb > 0 ? c->debug.memory_limit_mb * 1048576.0 : mem_available();
    int refuse = comm_any(avail > 0 && node > avail);
    if (comm_rank() == 0) plan_print(plan, rpn, node, refuse ? "err" : "out");
    if (!refuse) return LM_OK;
    if (comm_rank() == 0) {
        lm_error("train.mode %s of this %.2f B-parameter model needs about %.1f GB on a node with %d "
                 "rank%s; %.1f GB are available: refused before allocating", c->train.mode,
                 counts_of(&mc).all * 1e-9, node * 1e-9, rpn, rpn > 1 ? "s" : "", avail * 1e-9);
        lm_hint("train.mode landermt or lora keeps the frozen base once per node; train.node_shared: "
                "true keeps the trainable state once per node; train.recompute: true and a smaller "
                "train.batch_size shrink activations; fewer ranks per node (landermt plan shows each)");
    }
    return LM_ERUNTIME;
}

double mem_node_measured(double per[3]) {
    double pss[3];
    mem_measure(&pss[0], &pss[1], &pss[2]);
    if (per) memcpy(per, pss, sizeof pss);
    double node = pss[0] + pss[1] + pss[2];
    comm_local_sum(&node, 1);
    return node * 1048576.0;
}

void mem_report(const MemPlan *plan, double start) {
    double pss[3], node = mem_node_measured(pss);
    if (comm_rank() != 0) return;
    printf("memory measured (PSS): rank 0 %.0f MB (anonymous %.0f, files %.0f, shared %.0f); this "
           "node %.2f GB, %.2f GB beyond start-up; planned %.2f GB\n", pss[0] + pss[1] + pss[2],
           pss[0], pss[1], pss[2], node * 1e-9, (node - start) * 1e-9,
           mem_node_bytes(plan, comm_local_size()) * 1e-9);
}
