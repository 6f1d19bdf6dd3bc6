// The packed trainable entries of the selective modes: the packed gradient
// of a micro-batch equals the dense gradient (allreduced over ranks)
// restricted to its direction's mask; entries outside the mask, and gates
// of other directions, are exactly zero; scatter/gather round-trips; the
// layout hash tells modes apart; LoRA adapters as packed entries. Run alone and under mpirun
// (tests/cli/pack_ranks.sh: 1, 2 and 4 ranks).
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "io/neurons.h"
#include "mpi/comm.h"
#include "train/pack.h"
#include "train/step.h"
#include "util/alloc.h"
#include "util/rng.h"

enum { B = 2, T = 6, V = 31, C = 16, F = 24, L = 3 };

typedef struct {
    Model m;
    Acts a;
    Neurons nr;
    int tokens[B * T], targets[B * T];
    float weight[B * T];
} Fix;

// Layers 1 and 2 selected; owners cycle general, de-en, fr-en, it-en.
static void fix_init(Fix *f, uint64_t data_seed) {
    ModelConfig c = {.architecture = ARCH_LLAMA, .vocab_size = V, .hidden_size = C,
                     .intermediate_size = F, .num_hidden_layers = L, .num_attention_heads = 4,
                     .num_key_value_heads = 2, .max_position_embeddings = 32, .norm_eps = 1e-5f,
                     .rope_theta = 100.0f};
    model_init(&f->m, &c);
    model_init_random(&f->m, 3, 0.3f);
    acts_init(&f->a, &c, B, T);
    neurons_init(&f->nr, 3, L, F, 2);
    const char *units[] = {"de-en", "fr-en", "it-en"};
    for (int u = 0; u < 3; u++) snprintf(f->nr.units[u], NEURONS_NAME, "%s", units[u]);
    snprintf(f->nr.unit_kind, sizeof f->nr.unit_kind, "direction");
    f->nr.selected[0] = 1, f->nr.selected[1] = 2, f->nr.hidden_size = C;
    for (int j = 0; j < 2; j++)
        for (int i = 0; i < F; i++) f->nr.owner[j * F + i] = (i + j) % 4 - 1;
    Rng r;
    rng_seed(&r, data_seed);
    for (int i = 0; i < B * T; i++) {
        f->tokens[i] = (int)(rng_next(&r) % V), f->targets[i] = (int)(rng_next(&r) % V);
        f->weight[i] = i % T ? 1.0f : 0.0f;
    }
}

static void fix_free(Fix *f) {
    acts_free(&f->a);
    model_free(&f->m);
    neurons_free(&f->nr);
}

static const char *DIRS[] = {"de-en", "fr-en"};

static LmStatus build(ParamPack *p, Fix *f, const char *mode, int routing, int per_dir) {
    PackSpec s = {.mode = mode, .neurons = &f->nr, .dirs = DIRS, .n_dir = 2,
                  .routing = routing, .per_direction = per_dir, .scale = 2.0f};
    return pack_build(p, &f->m, &s);
}

// Forward + backward of the fixture batch with direction d's views.
static void micro(Fix *f, ParamPack *p, int d) {
    ModelWeights g;
    model_weights_none(&f->m, &g);
    BackwardOpts o;
    pack_micro_begin(p, &f->m, d, &g, &o);
    double ls, nt;
    model_forward(&f->m, &f->a, f->tokens, B, T);
    model_loss(&f->m, &f->a, f->targets, f->weight, 0.1f, &ls, &nt);
    model_backward(&f->m, &f->a, f->tokens, &g, &o);
    model_weights_free(&g);
}

// Dense gradient with direction d's routes (every tensor trainable).
static float *dense_grad(Fix *f, ParamPack *p, int d) {
    float *g = falloc(f->m.numel);
    ModelWeights gv, none;
    model_weights_view(&f->m, g, &gv);
    model_weights_none(&f->m, &none);
    BackwardOpts o;
    pack_micro_begin(p, &f->m, d, &none, &o);  // routes only: the tensors hold the neurons
    f->m.packed = NULL;
    double ls, nt;
    model_forward(&f->m, &f->a, f->tokens, B, T);
    model_loss(&f->m, &f->a, f->targets, f->weight, 0.1f, &ls, &nt);
    BackwardOpts dense = {0};
    model_backward(&f->m, &f->a, f->tokens, &gv, &dense);
    model_weights_free(&gv), model_weights_free(&none);
    return g;
}

// Packed rows of neuron i of FFN segment j vs the dense rows/column: equal
// when the neuron is in direction d's mask, exactly zero otherwise.
static int compare_segment(const ParamPack *p, const Fix *f, const float *dense, int j, int d) {
    const PackFfn *s = &p->ffn[j];
    const LayerParams *w = &f->m.w.layers[s->layer];
    size_t og = (size_t)((float *)w->gate_proj.p - f->m.data), ou = (size_t)((float *)w->up_proj.p - f->m.data),
           od = (size_t)((float *)w->down_proj.p - f->m.data);
    int bad = 0;
    for (int r = 0; r < s->n; r++) {
        int i = s->neuron[r], own = f->nr.owner[j * F + i];
        int masked = !strcmp(p->mode, "landermt") ? (own == -1 || own == d)
                     : !strcmp(p->mode, "general") ? own == -1 : own == d;
        for (int c = 0; c < C; c++) {
            float pg = p->grad[s->off + (size_t)r * C + c], pu = p->grad[s->off + (size_t)(s->n + r) * C + c];
            float pd = p->grad[s->off + (size_t)(2 * s->n + r) * C + c];
            float dg = masked ? dense[og + (size_t)i * C + c] : 0, du = masked ? dense[ou + (size_t)i * C + c] : 0;
            float dd = masked ? dense[od + (size_t)c * F + i] : 0;
            bad += fabsf(pg - dg) > 1e-6f || fabsf(pu - du) > 1e-6f || fabsf(pd - dd) > 1e-6f;
            bad += !masked && (pg != 0 || pu != 0 || pd != 0);
        }
    }
    return bad;
}

static void check_mode(const char *mode, int routing) {
    Fix f;
    fix_init(&f, 100 + (uint64_t)comm_rank());  // different data on every rank
    ParamPack p;
    CHECK(build(&p, &f, mode, routing, 1) == LM_OK, "build %s", mode);
    for (int d = 0; d < 2; d++) {
        memset(p.grad, 0, p.n * sizeof(float));
        micro(&f, &p, d);
        comm_allreduce_f32(p.grad, p.n);  // the packed allreduce of a step
        float *dense = dense_grad(&f, &p, d);
        comm_allreduce_f32(dense, f.m.numel);  // dense allreduce, then the mask
        int bad = 0;
        for (int j = 0; j < p.n_ffn; j++) bad += compare_segment(&p, &f, dense, j, d);
        CHECK(bad == 0, "%s direction %d: %d packed entries differ from the masked dense gradient", mode, d, bad);
        for (int q = 0; routing && q < p.n_gates; q++) {
            float sum = 0;
            for (int k = 0; k < p.n_ffn * (C + 1); k++) sum += fabsf(p.grad[p.route_off + (size_t)(q * p.n_ffn) * (C + 1) + k]);
            CHECK(q == d ? sum > 0 : sum == 0, "%s: gate of direction %d after a direction-%d batch: |grad| %g", mode, q, d, sum);
        }
        free(dense);
    }
    pack_free(&p);
    fix_free(&f);
}

static void test_landermt_mask(void) { check_mode("landermt", 1); }
static void test_landermt_no_routing(void) { check_mode("landermt", 0); }
static void test_general_mask(void) { check_mode("general", 0); }
static void test_specific_mask(void) { check_mode("specific", 0); }

static void test_layout(void) {
    Fix f;
    fix_init(&f, 1);
    ParamPack a, g, s, l;
    build(&a, &f, "landermt", 1, 1);
    build(&g, &f, "general", 0, 0);
    build(&s, &f, "specific", 0, 0);
    build(&l, &f, "layers", 0, 0);
    CHECK(a.n == (size_t)2 * 3 * F * C + 2 * 2 * (C + 1), "landermt packs %zu", a.n);
    CHECK(g.n == (size_t)2 * 3 * (F / 4) * C, "general packs %zu", g.n);
    CHECK(s.n == (size_t)2 * 3 * (3 * F / 4) * C, "specific packs %zu", s.n);
    size_t layer_sz = 0;
    for (int i = 0; i < f.m.n_tensors; i++)
        if (f.m.tensors[i].layer >= 1) layer_sz += f.m.tensors[i].numel;
    CHECK(l.n == layer_sz && l.stop_layer == 1 && a.stop_layer == 1, "layers packs %zu", l.n);
    CHECK(pack_layout_hash(&a) != pack_layout_hash(&g) && pack_layout_hash(&g) != pack_layout_hash(&s),
          "layout hashes collide");
    // scatter after a change touches exactly the packed entries
    uint64_t before = model_checksum(&f.m);
    float *saved = xmalloc(a.n * sizeof(float));
    memcpy(saved, a.param, a.n * sizeof(float));
    for (size_t i = 0; i < a.n; i++) a.param[i] += 1.0f;
    pack_scatter(&a, &f.m);
    CHECK(model_checksum(&f.m) != before, "scatter changed nothing");
    pack_gather(&a, &f.m);
    CHECK(a.param[7] == saved[7] + 1.0f, "gather does not read back the scattered values");
    memcpy(a.param, saved, a.n * sizeof(float));
    free(saved);
    pack_scatter(&a, &f.m);
    CHECK(model_checksum(&f.m) == before, "scatter of the original values did not restore the model");
    pack_free(&a), pack_free(&g), pack_free(&s), pack_free(&l);
    fix_free(&f);
}

// Awareness-scaled gradients: each neuron's rows are its unscaled rows times
// mean_u score / (mean over the layer's trainable neurons).
static void test_awareness_scaled(void) {
    Fix f;
    fix_init(&f, 1);
    for (size_t i = 0; i < (size_t)3 * L * F; i++) f.nr.scores[i] = 1.0 + (double)(i % 7);
    ParamPack plain, scaled;
    PackSpec a = {.mode = "landermt", .neurons = &f.nr, .dirs = DIRS, .n_dir = 2,
                  .routing = 0, .per_direction = 0, .scale = 2.0f}, b = a;
    b.awareness_scaled = 1;
    pack_build(&plain, &f.m, &a);
    pack_build(&scaled, &f.m, &b);
    micro(&f, &plain, 0);
    micro(&f, &scaled, 0);
    pack_scale_grads(&scaled, C);
    const PackFfn *s = &scaled.ffn[1];
    double mean = 0, worst = 0, sum_a = 0, bad_factor = 0;
    for (int r = 0; r < s->n; r++) {
        mean += s->grad_scale[r];
        for (int u = 0; u < 3; u++) sum_a += f.nr.scores[((size_t)u * L + s->layer) * F + s->neuron[r]] / 3;
    }
    for (int r = 0; r < s->n; r++) {
        double a = 0;
        for (int u = 0; u < 3; u++) a += f.nr.scores[((size_t)u * L + s->layer) * F + s->neuron[r]] / 3;
        bad_factor = fmax(bad_factor, fabs(s->grad_scale[r] - a * s->n / sum_a));
        for (int c = 0; c < C; c++) {
            size_t k = s->off + (size_t)r * C + c;
            worst = fmax(worst, fabs(scaled.grad[k] - plain.grad[k] * s->grad_scale[r]));
        }
    }
    CHECK(fabs(mean / s->n - 1.0) < 1e-5, "factors average %g, expected 1", mean / s->n);
    CHECK(bad_factor < 1e-5, "a factor differs from awareness / mean awareness by %g", bad_factor);
    CHECK(worst < 1e-7, "scaled rows differ from factor x unscaled rows by %g", worst);
    CHECK(s->grad_scale[0] != s->grad_scale[1] || s->grad_scale[1] != s->grad_scale[2], "all factors equal");
    pack_free(&plain), pack_free(&scaled);
    fix_free(&f);
}

static void test_errors(void) {
    Fix f;
    fix_init(&f, 1);
    ParamPack p;
    PackSpec none = {.mode = "landermt", .neurons = NULL, .dirs = DIRS, .n_dir = 2,
                  .routing = 1, .per_direction = 0, .scale = 2.0f};
    capture_begin();
    LmStatus st = pack_build(&p, &f.m, &none);
    check_error(st, LM_EUSAGE, capture_end(), "needs a neurons file");
    const char *bad_dirs[] = {"de-en", "it-de"};
    PackSpec missing = {.mode = "landermt", .neurons = &f.nr, .dirs = bad_dirs, .n_dir = 2,
                  .routing = 1, .per_direction = 0, .scale = 2.0f};
    capture_begin();
    st = pack_build(&p, &f.m, &missing);
    check_error(st, LM_EUSAGE, capture_end(), "direction it-de has no unit");
    f.nr.F = F - 1;
    capture_begin();
    st = build(&p, &f, "landermt", 1, 0);
    check_error(st, LM_EUSAGE, capture_end(), "made for another model");
    f.nr.F = F;
    fix_free(&f);
}

// LoRA on every llama target, rank 2: the packed adapter gradients,
// allreduced, equal adapter gradients computed into separate buffers and
// allreduced; the pack holds exactly the adapters; B = 0 at the start, so
// the logits are the base model's; the base gets no gradient.
static LmStatus build_lora(ParamPack *p, Fix *f, int rank, const char *const *targets, int n_targets,
                           int selected) {
    PackSpec s = {.mode = "lora", .neurons = selected ? &f->nr : NULL,
                  .lora = {rank, 4.0f, targets, n_targets, selected, 9}};
    return pack_build(p, &f->m, &s);
}

static const char *ALL_TARGETS[] = {"q", "k", "v", "o", "gate", "up", "down"};

static void test_lora_pack(void) {
    Fix f;
    fix_init(&f, 200 + (uint64_t)comm_rank());
    model_forward(&f.m, &f.a, f.tokens, B, T);
    size_t nl = (size_t)B * T * V;
    float *base = xmalloc(nl * sizeof(float));
    memcpy(base, f.a.logits, nl * sizeof(float));
    ParamPack p;
    CHECK(build_lora(&p, &f, 2, ALL_TARGETS, 7, 0) == LM_OK, "build lora");
    size_t want = (size_t)L * 2 * ((C + 16) + (C + 8) * 2 + (16 + C) + 2 * (C + F) + (F + C));
    CHECK(p.n == want && p.n_lora == 7 * L && p.n_tensor == 0 && p.stop_layer == 0,
          "lora pack: %zu entries (want %zu), %d adapters", p.n, want, p.n_lora);
    ModelWeights g;
    model_weights_none(&f.m, &g);
    BackwardOpts o;
    pack_micro_begin(&p, &f.m, 0, &g, &o);
    model_forward(&f.m, &f.a, f.tokens, B, T);
    CHECK(!memcmp(base, f.a.logits, nl * sizeof(float)), "B = 0 adapters changed the logits");
    Rng r;
    rng_seed(&r, 77);  // same B on every rank, so that A gets gradients too
    for (int k = 0; k < p.n_lora; k++) {
        const PackLora *a = &p.lora[k];
        float *Bm = p.param + a->off + (size_t)2 * a->in;
        for (int i = 0; i < a->out * 2; i++) Bm[i] = 0.2f * rng_normal(&r);
    }
    memset(p.grad, 0, p.n * sizeof(float));
    micro(&f, &p, 0);
    comm_allreduce_f32(p.grad, p.n);
    float *sep = falloc(p.n);  // the same gradients through separate buffers
    LoraGrad lg[L * LORA_N];
    memset(lg, 0, sizeof lg);
    for (int k = 0; k < p.n_lora; k++) {
        const PackLora *a = &p.lora[k];
        lg[a->layer * LORA_N + a->target] = (LoraGrad){sep + a->off, sep + a->off + (size_t)2 * a->in};
    }
    BackwardOpts so = {.lora = lg};
    double ls, nt;
    f.m.lora = &p.lora_set;
    model_forward(&f.m, &f.a, f.tokens, B, T);
    model_loss(&f.m, &f.a, f.targets, f.weight, 0.1f, &ls, &nt);
    model_backward(&f.m, &f.a, f.tokens, &g, &so);
    comm_allreduce_f32(sep, p.n);
    double norm = 0;
    int same = 1;
    for (size_t i = 0; i < p.n; i++) same &= p.grad[i] == sep[i], norm += fabs(p.grad[i]);
    CHECK(same && norm > 0, "packed LoRA gradients differ from separate ones (|g| %g)", norm);
    model_weights_free(&g);
    free(sep), free(base);
    pack_free(&p);
    f.m.lora = NULL;
    fix_free(&f);
}

static void test_lora_layers_and_errors(void) {
    Fix f;
    fix_init(&f, 1);
    ParamPack p;
    const char *qv[] = {"q_proj", "v"};
    CHECK(build_lora(&p, &f, 4, qv, 2, 1) == LM_OK, "lora on the selected layers");
    CHECK(p.n_lora == 4 && p.lora[0].layer == 1 && p.stop_layer == 1 &&
          p.lora[0].target == LORA_Q && p.lora[1].target == LORA_V, "selected layers: %d adapters, first layer %d",
          p.n_lora, p.n_lora ? p.lora[0].layer : -1);
    uint64_t h = pack_layout_hash(&p);
    pack_free(&p);
    CHECK(build_lora(&p, &f, 2, qv, 2, 1) == LM_OK && pack_layout_hash(&p) != h, "rank not in the layout hash");
    pack_free(&p);
    capture_begin();
    LmStatus st = build_lora(&p, &f, 17, qv, 2, 0);
    check_error(st, LM_EUSAGE, capture_end(), "lora.rank 17 is larger than");
    const char *fused[] = {"query_key_value"};
    capture_begin();
    st = build_lora(&p, &f, 2, fused, 1, 0);
    check_error(st, LM_EUSAGE, capture_end(), "lora.target: 'query_key_value' is not a linear of a llama-family");
    capture_begin();
    PackSpec s = {.mode = "lora", .lora = {2, 4.0f, qv, 2, 1, 9}};
    st = pack_build(&p, &f.m, &s);
    check_error(st, LM_EUSAGE, capture_end(), "lora.layers selected needs a neurons file");
    fix_free(&f);
}

// One optimizer step through the trainer (bucketed sums over ranks) with
// the FFN rows of a layer in one bucket and in chunks of 3 neurons: the
// same step gradient up to fp32 rounding (the chunks' sgemms have fewer
// rows), far more buckets.
static void test_chunked_buckets(void) {
    Fix f;
    fix_init(&f, 300 + (uint64_t)comm_rank());
    const char *one[] = {"de-en"};
    AdamWHyper h = {0.9, 0.95, 1e-8, 0.0};
    Schedule s = {SCHED_CONSTANT, 1e-3, 1e-3, 0, 1};
    Batch bt = {f.tokens, f.targets, f.weight, B, T};
    float *grads[2];
    int buckets[2];
    for (int k = 0; k < 2; k++) {
        PackSpec spec = {.mode = "landermt", .neurons = &f.nr, .dirs = one, .n_dir = 1, .routing = 1,
                         .scale = 2.0f, .chunk_floats = k ? (size_t)3 * (3 * C) : 0};
        Trainer tr;
        CHECK(trainer_init(&tr, &f.m, B, T, &h, &s, 1e9, &spec, NULL) == LM_OK, "trainer");
        StepStats st;
        trainer_step(&tr, &bt, NULL, 1, &st);
        grads[k] = falloc(tr.pack.n);
        memcpy(grads[k], tr.pack.grad, tr.pack.n * sizeof(float));
        buckets[k] = tr.pack.n_bucket;
        trainer_free(&tr);
    }
    double worst = 0, scale = 0;
    PackSpec spec = {.mode = "landermt", .neurons = &f.nr, .dirs = one, .n_dir = 1, .routing = 1, .scale = 2.0f};
    ParamPack p;
    pack_build(&p, &f.m, &spec);
    for (size_t i = 0; i < p.n; i++) worst = fmax(worst, fabs(grads[0][i] - grads[1][i])), scale = fmax(scale, fabs(grads[0][i]));
    CHECK(worst <= 1e-6 * scale && scale > 0, "chunked vs whole-layer buckets: max diff %g of %g", worst, scale);
    CHECK(buckets[0] == 3 && buckets[1] > 10, "buckets: %d whole-layer, %d chunked", buckets[0], buckets[1]);
    pack_free(&p);
    free(grads[0]), free(grads[1]);
    fix_free(&f);
}

int main(int argc, char **argv) {
    comm_init(&argc, &argv);
    RUN(test_landermt_mask);
    RUN(test_landermt_no_routing);
    RUN(test_general_mask);
    RUN(test_specific_mask);
    RUN(test_lora_pack);
    RUN(test_chunked_buckets);
    if (comm_size() == 1) {
        RUN(test_lora_layers_and_errors);
        RUN(test_layout);
        RUN(test_awareness_scaled);
        RUN(test_errors);
    }
    int rc = harness_finish();
    comm_finalize();
    return rc;
}
