// Decoding: the KV-cache forward equals a full recomputation at every
// step (GQA, q/k/v bias, CAR routing, rows of different lengths, idle rows,
// cache reordering; Llama 3.1, Mistral's sliding window and BLOOM too); batched greedy equals greedy by recomputing the whole
// sequence; beam width 1 equals greedy; scale-2 routing with zero gates
// decodes exactly like no routing, also through a checkpoint's /landermt
// group (reader, routes per direction, errors).
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"
#include "harness.h"
#include "io/ckpt.h"
#include "io/h5.h"
#include "model/kvcache.h"
#include "util/alloc.h"
#include "util/rng.h"

enum { NROW = 3, MAXNEW = 10, C_ = 16, F_ = 24, L_ = 3 };

static ModelConfig tiny_config(void) {
    return (ModelConfig){.architecture = ARCH_LLAMA, .vocab_size = 29, .hidden_size = C_,
                         .intermediate_size = F_, .num_hidden_layers = L_, .num_attention_heads = 4,
                         .num_key_value_heads = 2, .max_position_embeddings = 64,
                         .norm_eps = 1e-5f, .rope_theta = 100.0f, .attention_bias = 1};
}

static void tiny_model_cfg(Model *m, ModelConfig c) {
    model_init(m, &c);
    model_init_random(m, 11, 0.5f);  // peaked: greedy choices far from ties
    for (int i = 0; i < m->n_tensors; i++) {  // biases away from 0 (bloom has many)
        const TensorInfo *t = &m->tensors[i];
        if (strstr(t->name, "bias"))
            for (size_t j = 0; j < t->numel; j++) m->data[t->offset + j] = 0.1f * (float)((j % 7) - 3);
    }
}

static void tiny_model(Model *m) { tiny_model_cfg(m, tiny_config()); }

// The other families: Llama 3.1 (head_dim 6, o bias, llama3 rope),
// Mistral (a sliding window shorter than the sequences), BLOOM.
static ModelConfig family_config(int k) {
    ModelConfig c = tiny_config();
    if (k == 0) {
        c.head_dim = 6, c.attention_out_bias = 1, c.rope_scaling = ROPE_LLAMA3;
        c.rope_factor = 8, c.rope_low_freq_factor = 1, c.rope_high_freq_factor = 4;
        c.rope_original_max_position_embeddings = 40;
    } else if (k == 1) {
        snprintf(c.model_type, sizeof c.model_type, "mistral");
        c.attention_bias = 0, c.sliding_window = 3;
    } else {
        c.architecture = ARCH_BLOOM;
    }
    return c;
}

// Random classes and gates (scaled by gate_std) on layers 0 and 2.
typedef struct {
    FfnRoute route[L_];
    unsigned char cls[2][F_];
    float wb[2][C_ + 1];
} Routes;

static void routes_random(Routes *rt, float gate_std, float scale) {
    Rng r;
    rng_seed(&r, 5);
    memset(rt, 0, sizeof *rt);
    for (int j = 0; j < 2; j++) {
        for (int i = 0; i < F_; i++) rt->cls[j][i] = (unsigned char)(rng_next(&r) % 3);
        for (int c = 0; c <= C_; c++) rt->wb[j][c] = gate_std * rng_normal(&r);
        rt->route[2 * j] = (FfnRoute){rt->cls[j], rt->wb[j], &rt->wb[j][C_], scale};
    }
}

// Logits (t, V) of one sequence by the full forward pass.
static float *full_logits(const Model *m, const int *tokens, int t) {
    Acts a;
    acts_init(&a, &m->cfg, 1, t);
    model_forward(m, &a, tokens, 1, t);
    size_t n = (size_t)t * m->cfg.vocab_size;
    float *out = xmalloc(sizeof(float) * n);
    memcpy(out, a.logits, sizeof(float) * n);
    acts_free(&a);
    return out;
}

// |got - ref| <= 2e-5 * max|ref| over n values.
static void check_logits(const float *got, const float *ref, size_t n, const char *what, int step) {
    double scale = 0, worst = 0;
    for (size_t i = 0; i < n; i++) {
        scale = fabs(ref[i]) > scale ? fabs(ref[i]) : scale;
        worst = fabs(got[i] - ref[i]) > worst ? fabs(got[i] - ref[i]) : worst;
    }
    CHECK(worst <= 2e-5 * scale, "%s, step %d: max difference %.3g (max |logit| %.3g)", what,
          step, worst, scale);
}

typedef struct {
    int seq[NROW][16], len[NROW];
} Rows;

// Appends chunk[r] tokens of each row's sequence through the cache and
// compares the logits of every new position (or each row's last one) with
// the full forward of the row so far.
static void kv_step(const Model *m, KvCache *kc, Rows *rw, const int *chunk, int last_only,
                    const char *what, int step) {
    int V = m->cfg.vocab_size, tokens[48], n = 0;
    for (int r = 0; r < NROW; r++)
        for (int i = 0; i < chunk[r]; i++) tokens[n++] = rw->seq[r][rw->len[r] + i];
    const float *lg = kvcache_forward(m, kc, tokens, chunk, last_only);
    for (int r = 0, at = 0; r < NROW; r++) {
        int c = chunk[r], t = rw->len[r] + c;
        rw->len[r] = t;
        CHECK(kc->len[r] == t, "%s step %d: row %d has %d cached positions, expected %d", what,
              step, r, kc->len[r], t);
        if (!c) continue;
        float *ref = full_logits(m, rw->seq[r], t);
        if (last_only) check_logits(lg + (size_t)r * V, ref + (size_t)(t - 1) * V, (size_t)V, what, step);
        else check_logits(lg + (size_t)at * V, ref + (size_t)(t - c) * V, (size_t)c * V, what, step);
        at += c;
        free(ref);
    }
}

// Row r takes row src[r]'s sequence (or starts empty for src < 0).
static void rows_reorder(KvCache *kc, Rows *rw, const int *src) {
    Rows old = *rw;
    for (int r = 0; r < NROW; r++) {
        rw->len[r] = src[r] < 0 ? 0 : old.len[src[r]];
        if (src[r] >= 0) memcpy(rw->seq[r], old.seq[src[r]], sizeof rw->seq[r]);
    }
    kvcache_reorder(kc, src);
}

static void greedy_vs_full(const Model *m, const char *what);

static void kv_vs_full(const Model *m, const char *what) {
    static const int chunks[5][NROW] = {{3, 5, 1}, {1, 0, 2}, {0, 1, 1}, {2, 1, 0}, {1, 1, 1}};
    static const int src1[NROW] = {2, 0, 0}, src2[NROW] = {1, -1, 1}, again[NROW] = {2, 2, 1};
    Rows rw = {.len = {0}};
    for (int r = 0; r < NROW; r++)
        for (int i = 0; i < 16; i++) rw.seq[r][i] = (7 * r + 5 * i + i * i) % m->cfg.vocab_size;
    KvCache kc;
    kvcache_init(&kc, &m->cfg, NROW, 14);
    for (int step = 0; step < 5; step++) kv_step(m, &kc, &rw, chunks[step], step == 4, what, step);
    rows_reorder(&kc, &rw, src1);
    for (int r = 0; r < NROW; r++) rw.seq[r][rw.len[r]] = (3 + 4 * r) % m->cfg.vocab_size;
    kv_step(m, &kc, &rw, chunks[4], 1, what, 5);
    rows_reorder(&kc, &rw, src2);
    kv_step(m, &kc, &rw, again, 0, what, 6);
    kvcache_free(&kc);
}

static void test_kvcache_equals_full_forward(void) {
    Model m;
    tiny_model(&m);
    kv_vs_full(&m, "plain");
    Routes rt;
    routes_random(&rt, 0.7f, 2.0f);
    m.route = rt.route;
    kv_vs_full(&m, "routed, scale 2");
    routes_random(&rt, 0.7f, 1.0f);
    kv_vs_full(&m, "routed, scale 1");
    model_free(&m);
    const char *names[3] = {"llama3", "mistral window 3", "bloom"};
    for (int k = 0; k < 3; k++) {
        tiny_model_cfg(&m, family_config(k));
        kv_vs_full(&m, names[k]);
        m.route = rt.route;
        char what[64];
        snprintf(what, sizeof what, "%s routed", names[k]);
        kv_vs_full(&m, what);
        greedy_vs_full(&m, what);
        model_free(&m);
    }
}

// ------------------------------------------------------------- greedy

// Three prompts of lengths 2, 6 and 4, back to back.
static const int32_t PROMPT_IDS[12] = {1, 7, 1, 4, 9, 16, 25, 3, 1, 12, 5, 8};
static const int64_t PROMPT_OFF[NROW + 1] = {0, 2, 8, 12};
static const DecodePrompts PROMPTS = {NROW, PROMPT_IDS, PROMPT_OFF};

// Greedy by recomputing the whole sequence at every step (the reference).
static int greedy_full(const Model *m, const int32_t *prompt, int len, const DecodeOpts *o,
                       int32_t *out) {
    int seq[64], n = 0, budget = decode_budget(o, len), V = decode_vocab(o, m->cfg.vocab_size);
    for (int i = 0; i < len; i++) seq[i] = prompt[i];
    while (n < budget) {
        float *lg = full_logits(m, seq, len + n);
        const float *last = lg + (size_t)(len + n - 1) * m->cfg.vocab_size;
        int best = 0;
        for (int v = 1; v < V; v++) best = last[v] > last[best] ? v : best;
        free(lg);
        if (best == o->eos_id) break;
        seq[len + n] = out[n] = best;
        n++;
    }
    return n;
}

static void check_same(const int32_t *a, const int *na, const int32_t *b, const int *nb,
                       const char *what) {
    for (int r = 0; r < NROW; r++) {
        int same = na[r] == nb[r] && !memcmp(a + r * MAXNEW, b + r * MAXNEW, sizeof(int32_t) * (size_t)na[r]);
        CHECK(same, "%s: row %d: %d tokens vs %d tokens (or different tokens)", what, r, na[r], nb[r]);
    }
}

// Options exercising eos, a restricted vocabulary and the position cap;
// eos = the 4th greedy token of row 0 so that one row stops early.
static int greedy_opts(const Model *m, DecodeOpts *o) {
    int32_t out[NROW * MAXNEW];
    int n_out[NROW];
    DecodeOpts base = {.beam = 1, .max_new_tokens = MAXNEW, .eos_id = -1};
    decode_greedy(m, &PROMPTS, &base, out, n_out);
    o[0] = base;
    o[1] = base, o[1].eos_id = out[3];
    o[2] = base, o[2].n_vocab = 20;
    o[3] = base, o[3].max_len = 9, o[3].eos_id = out[5];
    return 4;
}

static void greedy_vs_full(const Model *m, const char *what) {
    DecodeOpts opts[4];
    int n_opts = greedy_opts(m, opts);
    for (int k = 0; k < n_opts; k++) {
        int32_t got[NROW * MAXNEW], ref[NROW * MAXNEW];
        int n_got[NROW], n_ref[NROW];
        decode_greedy(m, &PROMPTS, &opts[k], got, n_got);
        for (int r = 0; r < NROW; r++)
            n_ref[r] = greedy_full(m, PROMPT_IDS + PROMPT_OFF[r], (int)(PROMPT_OFF[r + 1] - PROMPT_OFF[r]),
                                   &opts[k], ref + r * MAXNEW);
        char name[96];
        snprintf(name, sizeof name, "%s, options %d", what, k);
        check_same(got, n_got, ref, n_ref, name);
        if (k == 1) CHECK(n_got[0] < MAXNEW, "%s: eos did not stop row 0", name);
        if (k == 3) CHECK(n_got[1] <= 3, "%s: max_len 9 let a 6-token prompt generate %d", name, n_got[1]);
    }
}

static void test_greedy_equals_recomputation(void) {
    Model m;
    tiny_model(&m);
    greedy_vs_full(&m, "plain");
    Routes rt;
    routes_random(&rt, 0.7f, 2.0f);
    m.route = rt.route;
    greedy_vs_full(&m, "routed");
    model_free(&m);
}

// --------------------------------------------------------------- beam

static void test_beam_width_1_is_greedy(void) {
    Model m;
    tiny_model(&m);
    DecodeOpts opts[4];
    int n_opts = greedy_opts(&m, opts);
    for (int k = 0; k < n_opts; k++) {
        int32_t g[NROW * MAXNEW], b[NROW * MAXNEW];
        int ng[NROW], nb[NROW];
        decode_greedy(&m, &PROMPTS, &opts[k], g, ng);
        decode_beam(&m, &PROMPTS, &opts[k], b, nb);
        check_same(b, nb, g, ng, "beam 1 vs greedy");
    }
    model_free(&m);
}

// Log-probability per token of an output (eos counted when it ended there).
static double norm_score(const Model *m, int r, const int32_t *out, int n, const DecodeOpts *o) {
    int len = (int)(PROMPT_OFF[r + 1] - PROMPT_OFF[r]), seq[64], V = m->cfg.vocab_size;
    int eos = n < decode_budget(o, len);
    for (int i = 0; i < len; i++) seq[i] = PROMPT_IDS[PROMPT_OFF[r] + i];
    for (int i = 0; i < n; i++) seq[len + i] = out[i];
    float *lg = full_logits(m, seq, len + n);
    double sum = 0;
    for (int i = 0; i < n + eos; i++) {
        const float *x = lg + (size_t)(len - 1 + i) * V;
        double z = 0;
        for (int v = 0; v < V; v++) z += exp((double)x[v]);
        sum += x[i < n ? out[i] : o->eos_id] - log(z);
    }
    free(lg);
    return sum / (n + eos);
}

// Width 4: each sentence decodes the same alone as in a batch, and finds
// a hypothesis at least as good as greedy's under the same score.
static void test_beam_batch_and_score(void) {
    Model m;
    tiny_model(&m);
    DecodeOpts opts[4];
    greedy_opts(&m, opts);
    DecodeOpts o = opts[1];
    o.beam = 4;
    int32_t b[NROW * MAXNEW], g[NROW * MAXNEW], one[MAXNEW];
    int nb[NROW], ng[NROW], n1;
    decode_beam(&m, &PROMPTS, &o, b, nb);
    decode_greedy(&m, &PROMPTS, &o, g, ng);
    for (int r = 0; r < NROW; r++) {
        DecodePrompts single = {1, PROMPT_IDS, PROMPT_OFF + r};
        decode_beam(&m, &single, &o, one, &n1);
        CHECK(n1 == nb[r] && !memcmp(one, b + r * MAXNEW, sizeof(int32_t) * (size_t)n1),
              "row %d: beam alone differs from beam in a batch", r);
        double sb = norm_score(&m, r, b + r * MAXNEW, nb[r], &o);
        double sg = norm_score(&m, r, g + r * MAXNEW, ng[r], &o);
        CHECK(sb >= sg - 1e-6, "row %d: beam score %.6f below greedy %.6f", r, sb, sg);
    }
    model_free(&m);
}

// ------------------------------------------------------------ routing

static void decode_both(const Model *m, int32_t *out, int *n_out, const DecodeOpts *o) {
    decode_greedy(m, &PROMPTS, o, out, n_out);
    DecodeOpts ob = *o;
    ob.beam = 3;
    decode_beam(m, &PROMPTS, &ob, out + NROW * MAXNEW, n_out + NROW);
}

// Zero gates at scale 2 give c = 1 for every token: bit-identical logits.
static void test_zero_gates_scale_2_is_plain(void) {
    Model m;
    tiny_model(&m);
    int tokens[5] = {1, 4, 9, 16, 25}, n_new[1] = {5};
    KvCache kc;
    kvcache_init(&kc, &m.cfg, 1, 8);
    float plain[5 * 29];
    memcpy(plain, kvcache_forward(&m, &kc, tokens, n_new, 0), sizeof plain);
    Routes rt;
    routes_random(&rt, 0.0f, 2.0f);
    m.route = rt.route;
    kvcache_clear(&kc);
    CHECK(!memcmp(plain, kvcache_forward(&m, &kc, tokens, n_new, 0), sizeof plain),
          "zero-gate routing changed the logits");
    kvcache_free(&kc);
    DecodeOpts o = {.beam = 1, .max_new_tokens = MAXNEW, .eos_id = 3};
    int32_t a[2 * NROW * MAXNEW], b[2 * NROW * MAXNEW];
    int na[2 * NROW], nb[2 * NROW];
    decode_both(&m, a, na, &o);
    m.route = NULL;
    decode_both(&m, b, nb, &o);
    check_same(a, na, b, nb, "greedy, zero gates vs plain");
    check_same(a + NROW * MAXNEW, na + NROW, b + NROW * MAXNEW, nb + NROW, "beam, zero gates vs plain");
    model_free(&m);
}

// Units, owners of layers 0 and 2, and a /landermt group written with them.
static void write_landermt(const char *path, const Model *m, const char *kind, int U,
                           const char *const *units, int G, const float *gates,
                           const char *const *dirs, Neurons *nr) {
    neurons_init(nr, U, L_, F_, 2);
    snprintf(nr->unit_kind, sizeof nr->unit_kind, "%s", kind);
    for (int u = 0; u < U; u++) snprintf(nr->units[u], NEURONS_NAME, "%s", units[u]);
    nr->selected[0] = 0, nr->selected[1] = 2;
    for (int i = 0; i < 2 * F_; i++) nr->owner[i] = (i * 7) % (U + 1) - 1;
    LandermtState lm = {nr, G, gates, 2.0, dirs};
    CHECK(ckpt_write(path, m, NULL, NULL, NULL, &lm) == LM_OK, "writing %s", path);
}

// The classes a direction gets: general, specific to `spec` units (owner
// in spec[0..1]), rest.
static void check_classes(const DecodeRouting *rt, const Neurons *nr, const int *spec, const char *what) {
    int bad = 0;
    for (int j = 0; j < 2; j++) {
        const FfnRoute *r = &rt->route[nr->selected[j]];
        for (int i = 0; i < F_; i++) {
            int o = nr->owner[j * F_ + i];
            int want = o == -1 ? NEURON_GENERAL : (o == spec[0] || o == spec[1]) ? NEURON_SPECIFIC : NEURON_REST;
            bad += r->cls[i] != want;
        }
    }
    CHECK(bad == 0 && rt->route[1].cls == NULL, "%s: %d neurons in the wrong class", what, bad);
}

static void test_ckpt_per_direction_zero_gates(void) {
    Model m;
    tiny_model(&m);
    const char *path = tmp_file("dir_gates.h5"), *units[] = {"en-de", "en-fr"};
    float gates[2 * 2 * (C_ + 1)] = {0};
    Neurons nr;
    write_landermt(path, &m, "direction", 2, units, 2, gates, units, &nr);
    CkptLandermt lm;
    CHECK(ckpt_read_landermt(path, &m.cfg, &lm) == LM_OK, "reading /landermt");
    CHECK(lm.present && lm.n_gates == 2 && lm.scale == 2.0 && lm.gate_dirs &&
          !strcmp(lm.gate_dirs[1], "en-fr") && lm.neurons.k == 2 && lm.neurons.selected[1] == 2 &&
          !memcmp(lm.neurons.owner, nr.owner, sizeof(int) * 2 * F_) &&
          !strcmp(lm.neurons.unit_kind, "direction"), "/landermt read back differs");
    DecodeRouting rt;
    CHECK(decode_routing_init(&rt, &lm, &m.cfg, "en-fr", path) == LM_OK && rt.route, "routes of en-fr");
    check_classes(&rt, &nr, (const int[]){1, -9}, "en-fr");
    DecodeOpts o = {.beam = 1, .max_new_tokens = MAXNEW, .eos_id = 3};
    int32_t a[2 * NROW * MAXNEW], b[2 * NROW * MAXNEW];
    int na[2 * NROW], nb[2 * NROW];
    decode_both(&m, b, nb, &o);
    m.route = rt.route;
    decode_both(&m, a, na, &o);
    check_same(a, na, b, nb, "checkpoint with zero gates vs plain");
    decode_routing_free(&rt);
    capture_begin();
    LmStatus st = decode_routing_init(&rt, &lm, &m.cfg, "de-fr", path);
    check_error(st, LM_EUSAGE, capture_end(), "de-fr has no routing gate");
    ckpt_landermt_free(&lm);
    neurons_free(&nr);
    model_free(&m);
}

static void test_ckpt_single_gate_and_language_units(void) {
    Model m;
    tiny_model(&m);
    const char *path = tmp_file("lang_gate.h5"), *units[] = {"en", "de", "fr"};
    float gates[2 * (C_ + 1)];
    for (int i = 0; i < 2 * (C_ + 1); i++) gates[i] = 0.01f * (float)(i - 10);
    Neurons nr;
    write_landermt(path, &m, "language", 3, units, 1, gates, NULL, &nr);
    CkptLandermt lm;
    CHECK(ckpt_read_landermt(path, &m.cfg, &lm) == LM_OK && lm.n_gates == 1 && !lm.gate_dirs,
          "reading a single-gate /landermt");
    CHECK(lm.gates && !memcmp(lm.gates, gates, sizeof gates), "gate values differ");
    DecodeRouting rt;
    CHECK(decode_routing_init(&rt, &lm, &m.cfg, "de-fr", path) == LM_OK, "routes of de-fr");
    check_classes(&rt, &nr, (const int[]){1, 2}, "de-fr (language units)");
    CHECK(rt.route[2].w[0] == gates[C_ + 1] && *rt.route[2].b == gates[2 * C_ + 1] &&
          rt.route[2].scale == 2.0f, "layer 2 gate");
    decode_routing_free(&rt);
    CHECK(decode_routing_init(&rt, &lm, &m.cfg, "it-fr", path) == LM_OK, "routes of it-fr");
    check_classes(&rt, &nr, (const int[]){2, -9}, "it-fr (one unseen language)");
    decode_routing_free(&rt);
    ckpt_landermt_free(&lm);
    neurons_free(&nr);
    model_free(&m);
}

static void test_ckpt_without_group_and_damaged(void) {
    Model m;
    tiny_model(&m);
    const char *plain = tmp_file("plain.h5"), *bad = tmp_file("bad.h5"), *units[] = {"en-de"};
    CHECK(ckpt_write(plain, &m, NULL, NULL, NULL, NULL) == LM_OK, "writing a plain checkpoint");
    CkptLandermt lm;
    DecodeRouting rt;
    CHECK(ckpt_read_landermt(plain, &m.cfg, &lm) == LM_OK && !lm.present, "no /landermt group");
    CHECK(decode_routing_init(&rt, &lm, &m.cfg, "en-de", plain) == LM_OK && !rt.route, "no routes");
    float gates[2 * (C_ + 1)] = {0};
    Neurons nr;
    write_landermt(bad, &m, "direction", 1, units, 1, gates, NULL, &nr);
    hid_t f = H5Fopen(bad, H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(f, "landermt/classes/layer_2/general", H5P_DEFAULT);
    H5Fclose(f);
    capture_begin();
    LmStatus st = ckpt_read_landermt(bad, &m.cfg, &lm);
    check_error(st, LM_ERUNTIME, capture_end(), "landermt/classes/layer_2/general");
    CHECK(!lm.present && !lm.gates, "a failed read leaves nothing allocated");
    neurons_free(&nr);
    model_free(&m);
}

int main(void) {
    h5_init();
    RUN(test_kvcache_equals_full_forward);
    RUN(test_greedy_equals_recomputation);
    RUN(test_beam_width_1_is_greedy);
    RUN(test_beam_batch_and_score);
    RUN(test_zero_gates_scale_2_is_plain);
    RUN(test_ckpt_per_direction_zero_gates);
    RUN(test_ckpt_single_gate_and_language_units);
    RUN(test_ckpt_without_group_and_damaged);
    return harness_finish();
}
