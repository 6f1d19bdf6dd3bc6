// The Hugging Face directories written by the independent PyTorch reference
// (tests/reference/hf_ref.py -> tests/fixtures/hf/<case>/, hf_ref.h5) load
// through the model source with the configuration the fixture states, and
// the C model reproduces, for every family (llama3 with head_dim, o bias
// and llama3 rope; mistral's window; qwen2; BLOOM with and without the
// name prefix): logits, loss, every parameter gradient, the FFN activations
// h and dL/dh, per-sentence awareness and block means; with CAR routing
// (llama3, both BLOOMs: biased FFN) the same plus the gates' gradients and
// values; with LoRA on the targets the reference chose, logits, loss and
// every A and B gradient. Float64 reference, float32 here; tolerances from
// tests/reference/README.md.
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "harness.h"
#include "io/h5.h"
#include "io/model_source.h"
#include "landermt/awareness.h"
#include "landermt/detect.h"
#include "util/alloc.h"

#define HF_FIXTURE "tests/fixtures/hf_ref.h5"

typedef struct {
    hid_t g;             // the case's group (or its routing/lora subgroup for `exp`)
    Model m;
    char prefix[16];     // name prefix of the stored tensors ("transformer." or "")
    int B, T;
    int *tok, *tgt;
    float *w;
} HfCase;

static void check_config(hid_t g, const ModelConfig *c, const char *name) {
    const struct { const char *attr; int got; } ints[] = {
        {"vocab_size", c->vocab_size}, {"hidden_size", c->hidden_size},
        {"num_layers", c->num_hidden_layers}, {"num_heads", c->num_attention_heads},
        {"num_kv_heads", c->num_key_value_heads}, {"head_dim", c->head_dim},
        {"intermediate_size", c->intermediate_size}, {"tied", c->tie_word_embeddings},
        {"sliding_window", c->sliding_window}};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
        int64_t want = fixture_attr_i(g, ints[i].attr);
        CHECK(want == ints[i].got, "%s: %s = %d, the fixture says %lld", name, ints[i].attr,
              ints[i].got, (long long)want);
    }
    CHECK((float)fixture_attr_f(g, "norm_eps") == c->norm_eps, "%s: norm_eps", name);
    char *type = NULL;
    h5_attr_read_str(g, "model_type", &type, HF_FIXTURE);
    CHECK(type && !strcmp(type, c->model_type), "%s: model_type %s", name, c->model_type);
    free(type);
}

// The fixture's name of one of our tensors (BLOOM without the prefix).
static const char *stored_name(const HfCase *c, const char *ours) {
    static const char pre[] = "transformer.";
    if (c->m.cfg.architecture == ARCH_BLOOM && !c->prefix[0] && !strncmp(ours, pre, sizeof pre - 1))
        return ours + sizeof pre - 1;
    return ours;
}

typedef struct {
    hid_t exp;  // the expected/ group holding ffn_h, ffn_dh
    int B, T, seen;
} HookCtx;

static void hook_compare(void *ctx, int layer, const float *h, const float *dh, int bt, int F) {
    HookCtx *hc = ctx;
    int64_t shape[3] = {hc->B, hc->T, F};
    char ds[64], what[64];
    snprintf(ds, sizeof ds, "ffn_h/%d", layer);
    snprintf(what, sizeof what, "ffn_h layer %d", layer);
    fixture_compare(what, h, hc->exp, ds, (size_t)bt * F, 3, shape, 1e-4);
    snprintf(ds, sizeof ds, "ffn_dh/%d", layer);
    snprintf(what, sizeof what, "ffn_dh layer %d", layer);
    fixture_compare(what, dh, hc->exp, ds, (size_t)bt * F, 3, shape, 1e-4);
    hc->seen++;
}

// Forward, loss (1/n_tokens), backward with every tensor's gradient (and
// the opts' extra gradients), compared with group exp: logits, loss,
// grads/<name> (when dense), ffn_h/ffn_dh (when with_h).
static void run_compare(HfCase *c, hid_t exp, BackwardOpts *o, int dense, int with_h, Acts *a) {
    int V = c->m.cfg.vocab_size;
    model_forward(&c->m, a, c->tok, c->B, c->T);
    int64_t lshape[3] = {c->B, c->T, V};
    fixture_compare("logits", a->logits, exp, "logits", (size_t)c->B * c->T * V, 3, lshape, 1e-4);
    double ref_loss, ref_n, ls, nt;
    h5_read(exp, "loss_sum", H5T_F64, &ref_loss, 0, NULL, HF_FIXTURE);
    h5_read(exp, "n_tokens", H5T_F64, &ref_n, 0, NULL, HF_FIXTURE);
    model_loss(&c->m, a, c->tgt, c->w, (float)(1.0 / ref_n), &ls, &nt);
    CHECK_CLOSE(ls, ref_loss, 1e-5, 0, "loss_sum");
    CHECK(nt == ref_n, "n_tokens %g vs %g", nt, ref_n);
    float *g = falloc(c->m.numel);
    ModelWeights gv;
    if (dense) model_weights_view(&c->m, g, &gv);
    else model_weights_none(&c->m, &gv);
    HookCtx hc = {exp, c->B, c->T, 0};
    if (with_h) o->ffn_hook = hook_compare, o->hook_ctx = &hc;
    model_backward(&c->m, a, c->tok, &gv, o);
    CHECK(!with_h || hc.seen == c->m.cfg.num_hidden_layers, "hook saw %d layers", hc.seen);
    char ds[200];
    for (int i = 0; dense && i < c->m.n_tensors; i++) {
        const TensorInfo *t = &c->m.tensors[i];
        snprintf(ds, sizeof ds, "grads/%s", stored_name(c, t->name));
        fixture_compare(t->name, g + t->offset, exp, ds, t->numel, t->ndim, t->shape, 1e-4);
    }
    model_weights_free(&gv);
    free(g);
}

// Per-sentence awareness and block means: each row scored alone, with its
// own mean target-token loss (as detect does).
static void check_awareness(HfCase *c) {
    int L = c->m.cfg.num_hidden_layers, F = c->m.cfg.intermediate_size, T = c->T;
    Awareness aw;
    awareness_init(&aw, c->B, L, F);
    Acts a;
    acts_init(&a, &c->m.cfg, 1, T);
    ModelWeights none;
    model_weights_none(&c->m, &none);
    float *w = xmalloc(sizeof(float) * (size_t)T);
    int len = T;
    for (int r = 0; r < c->B; r++) {
        memcpy(w, c->w + (size_t)r * T, sizeof(float) * (size_t)T);
        detect_sentence_weights(w, 1, T);
        aw.unit = r, aw.b = 1, aw.t = T, aw.len = &len;
        double ls, nt;
        model_forward(&c->m, &a, c->tok + (size_t)r * T, 1, T);
        awareness_add_relevance(&aw, &a);
        model_loss(&c->m, &a, c->tgt + (size_t)r * T, w, 1.0f, &ls, &nt);
        BackwardOpts o = {.ffn_hook = awareness_hook, .hook_ctx = &aw};
        model_backward(&c->m, &a, c->tok + (size_t)r * T, &none, &o);
    }
    int64_t ashape[3] = {c->B, L, F}, bshape[2] = {c->B, L};
    fixture_compare_f64("awareness per sentence", aw.phi, c->g, "expected/awareness",
                        (size_t)c->B * L * F, 3, ashape, 1e-4);
    fixture_compare_f64("block means per sentence", aw.act, c->g, "expected/block_mean",
                        (size_t)c->B * L, 2, bshape, 1e-4);
    model_weights_free(&none);
    acts_free(&a);
    awareness_free(&aw);
    free(w);
}

// CAR routing on the fixture's selected layers with its classes and gates.
static void check_routing(HfCase *c) {
    if (!h5_exists(c->g, "routing")) return;
    printf("  routing\n");
    hid_t rg = H5Gopen2(c->g, "routing", H5P_DEFAULT), exp = H5Gopen2(rg, "expected", H5P_DEFAULT);
    int L = c->m.cfg.num_hidden_layers, C = c->m.cfg.hidden_size, F = c->m.cfg.intermediate_size;
    int sel[64];
    int64_t n;
    h5_shape(rg, "layers", 1, &n, HF_FIXTURE);
    h5_read(rg, "layers", H5T_I32, sel, 1, &n, HF_FIXTURE);
    FfnRoute *route = xcalloc((size_t)L, sizeof *route);
    FfnGrad *fg = xcalloc((size_t)L, sizeof *fg);
    unsigned char *cls = xcalloc((size_t)L * F, 1);
    int *ci = xmalloc(sizeof(int) * (size_t)F);
    float *wb = xcalloc((size_t)L * (C + 1), sizeof(float)), *gwb = xcalloc((size_t)L * (C + 1), sizeof(float));
    float scale = (float)fixture_attr_f(rg, "scale");
    char ds[96];
    int64_t fF = F, fC = C;
    for (int j = 0; j < n; j++) {
        int l = sel[j];
        snprintf(ds, sizeof ds, "classes/%d", l);
        h5_read(rg, ds, H5T_I32, ci, 1, &fF, HF_FIXTURE);
        for (int i = 0; i < F; i++) cls[(size_t)l * F + i] = (unsigned char)ci[i];
        float *wl = wb + (size_t)l * (C + 1);
        snprintf(ds, sizeof ds, "gates/%d/w", l);
        h5_read(rg, ds, H5T_F32, wl, 1, &fC, HF_FIXTURE);
        snprintf(ds, sizeof ds, "gates/%d/b", l);
        h5_read(rg, ds, H5T_F32, wl + C, 0, NULL, HF_FIXTURE);
        route[l] = (FfnRoute){cls + (size_t)l * F, wl, wl + C, scale};
        fg[l] = (FfnGrad){0, NULL, gwb + (size_t)l * (C + 1), gwb + (size_t)l * (C + 1) + C, 1};
    }
    c->m.route = route;
    Acts a;
    acts_init(&a, &c->m.cfg, c->B, c->T);
    BackwardOpts o = {.ffn = fg};
    run_compare(c, exp, &o, 1, 1, &a);
    for (int j = 0; j < n; j++) {
        int l = sel[j];
        snprintf(ds, sizeof ds, "gate_grads/%d/w", l);
        fixture_compare("gate w gradient", gwb + (size_t)l * (C + 1), exp, ds, (size_t)C, 1, &fC, 1e-4);
        double ref_b;
        snprintf(ds, sizeof ds, "gate_grads/%d/b", l);
        h5_read(exp, ds, H5T_F64, &ref_b, 0, NULL, HF_FIXTURE);
        CHECK_CLOSE(gwb[(size_t)l * (C + 1) + C], ref_b, 1e-4, 0, "gate b gradient");
        int64_t cs[2] = {c->B, c->T};
        snprintf(ds, sizeof ds, "c/%d", l);
        fixture_compare("gate values c", a.route_c[l], exp, ds, (size_t)c->B * c->T, 2, cs, 1e-4);
    }
    c->m.route = NULL;
    acts_free(&a);
    free(route), free(fg), free(cls), free(ci), free(wb), free(gwb);
    H5Gclose(exp), H5Gclose(rg);
}

// HF module leaf -> (target, module path format) per family.
static int lora_target(const HfCase *c, const char *leaf, int l, char *module, size_t cap) {
    static const struct { const char *leaf, *part; LoraTarget t; } T[] = {
        {"q_proj", "self_attn", LORA_Q},     {"k_proj", "self_attn", LORA_K},
        {"v_proj", "self_attn", LORA_V},     {"o_proj", "self_attn", LORA_O},
        {"gate_proj", "mlp", LORA_GATE},     {"up_proj", "mlp", LORA_UP},
        {"down_proj", "mlp", LORA_DOWN},     {"query_key_value", "self_attention", LORA_QKV},
        {"dense", "self_attention", LORA_O}, {"dense_h_to_4h", "mlp", LORA_UP},
        {"dense_4h_to_h", "mlp", LORA_DOWN}};
    for (size_t k = 0; k < sizeof T / sizeof *T; k++) {
        if (strcmp(leaf, T[k].leaf)) continue;
        if (c->m.cfg.architecture == ARCH_BLOOM)
            snprintf(module, cap, "%sh.%d.%s.%s", c->prefix, l, T[k].part, leaf);
        else
            snprintf(module, cap, "model.layers.%d.%s.%s", l, T[k].part, leaf);
        return (int)T[k].t;
    }
    return -1;
}

static void check_lora(HfCase *c) {
    hid_t lg = H5Gopen2(c->g, "lora", H5P_DEFAULT), exp = H5Gopen2(lg, "expected", H5P_DEFAULT);
    int L = c->m.cfg.num_hidden_layers, r = (int)fixture_attr_i(lg, "rank");
    char *targets = NULL, module[160], ds[240];
    h5_attr_read_str(lg, "targets", &targets, HF_FIXTURE);
    printf("  lora %s\n", targets ? targets : "?");
    LoraPair *at = xcalloc((size_t)L * LORA_N, sizeof *at);
    LoraGrad *grad = xcalloc((size_t)L * LORA_N, sizeof *grad);
    float *store[2 * 64 * LORA_N] = {0};
    int n_store = 0, n_adapters = 0;
    for (char *save, *leaf = strtok_r(targets, ",", &save); leaf; leaf = strtok_r(NULL, ",", &save))
        for (int l = 0; l < L; l++) {
            int t = lora_target(c, leaf, l, module, sizeof module), in, out;
            CHECK(t >= 0, "unknown LoRA target %s", leaf);
            if (t < 0) continue;
            model_lora_dims(&c->m.cfg, (LoraTarget)t, &in, &out);
            int64_t as[2] = {r, in}, bs[2] = {out, r};
            float *A = store[n_store++] = falloc((size_t)r * in), *Bm = store[n_store++] = falloc((size_t)out * r);
            float *dA = store[n_store++] = falloc((size_t)r * in), *dB = store[n_store++] = falloc((size_t)out * r);
            snprintf(ds, sizeof ds, "params/%s.lora_A.weight", module);
            h5_read(lg, ds, H5T_F32, A, 2, as, HF_FIXTURE);
            snprintf(ds, sizeof ds, "params/%s.lora_B.weight", module);
            h5_read(lg, ds, H5T_F32, Bm, 2, bs, HF_FIXTURE);
            at[(size_t)l * LORA_N + t] = (LoraPair){A, Bm};
            grad[(size_t)l * LORA_N + t] = (LoraGrad){dA, dB};
            n_adapters++;
        }
    LoraSet set = {r, (float)fixture_attr_f(lg, "scaling"), at};
    c->m.lora = &set;
    Acts a;
    acts_init(&a, &c->m.cfg, c->B, c->T);
    BackwardOpts o = {.lora = grad};
    run_compare(c, exp, &o, 0, 0, &a);
    for (int l = 0; l < L; l++)
        for (int t = 0; t < LORA_N; t++) {
            const LoraGrad *g = &grad[(size_t)l * LORA_N + t];
            if (!g->dA) continue;
            int in, out;
            model_lora_dims(&c->m.cfg, (LoraTarget)t, &in, &out);
            int64_t as[2] = {r, in}, bs[2] = {out, r};
            const char *leaves[LORA_N] = {"q_proj", "k_proj", "v_proj", "query_key_value", "o_proj",
                                          "gate_proj", "up_proj", "down_proj"};
            const char *bloom_leaves[LORA_N] = {NULL, NULL, NULL, "query_key_value", "dense", NULL,
                                                "dense_h_to_4h", "dense_4h_to_h"};
            const char *leaf = c->m.cfg.architecture == ARCH_BLOOM ? bloom_leaves[t] : leaves[t];
            lora_target(c, leaf, l, module, sizeof module);
            snprintf(ds, sizeof ds, "grads/%s.lora_A.weight", module);
            fixture_compare(ds, g->dA, exp, ds, (size_t)r * in, 2, as, 1e-4);
            snprintf(ds, sizeof ds, "grads/%s.lora_B.weight", module);
            fixture_compare(ds, g->dB, exp, ds, (size_t)out * r, 2, bs, 1e-4);
        }
    CHECK(n_adapters >= L, "only %d adapters", n_adapters);
    c->m.lora = NULL;
    acts_free(&a);
    for (int i = 0; i < n_store; i++) free(store[i]);
    free(at), free(grad), free(targets);
    H5Gclose(exp), H5Gclose(lg);
}

static void check_case(hid_t f, const char *name) {
    HfCase c = {.g = H5Gopen2(f, name, H5P_DEFAULT)};
    char *dir = NULL, *prefix = NULL, path[1200];
    h5_attr_read_str(c.g, "model_dir", &dir, HF_FIXTURE);
    h5_attr_read_str(c.g, "name_prefix", &prefix, HF_FIXTURE);
    snprintf(c.prefix, sizeof c.prefix, "%s", prefix ? prefix : "");
    snprintf(path, sizeof path, "%s/%s", src_path("tests/fixtures"), dir ? dir : "?");
    free(dir), free(prefix);
    printf(" %s\n", name);
    if (model_source_read(path, &c.m) != LM_OK) {
        CHECK(0, "%s: %s does not load", name, path);
        H5Gclose(c.g);
        return;
    }
    check_config(c.g, &c.m.cfg, name);
    int64_t shape[2];
    h5_shape(c.g, "inputs/tokens", 2, shape, HF_FIXTURE);
    c.B = (int)shape[0], c.T = (int)shape[1];
    c.tok = xmalloc(sizeof(int) * c.B * c.T), c.tgt = xmalloc(sizeof(int) * c.B * c.T);
    c.w = xmalloc(sizeof(float) * c.B * c.T);
    h5_read(c.g, "inputs/tokens", H5T_I32, c.tok, 2, shape, HF_FIXTURE);
    h5_read(c.g, "inputs/targets", H5T_I32, c.tgt, 2, shape, HF_FIXTURE);
    h5_read(c.g, "inputs/weight", H5T_F32, c.w, 2, shape, HF_FIXTURE);
    Acts a;
    acts_init(&a, &c.m.cfg, c.B, c.T);
    hid_t exp = H5Gopen2(c.g, "expected", H5P_DEFAULT);
    BackwardOpts o = {0};
    run_compare(&c, exp, &o, 1, 1, &a);
    H5Gclose(exp);
    acts_free(&a);
    check_awareness(&c);
    check_routing(&c);
    check_lora(&c);
    free(c.tok), free(c.tgt), free(c.w);
    model_free(&c.m);
    H5Gclose(c.g);
}

static void test_every_case(void) {
    hid_t f;
    int ver;
    if (h5_open_format(src_path(HF_FIXTURE), "landermt.hf_fixture", 1, &f, &ver) != LM_OK) {
        CHECK(0, "cannot open %s", HF_FIXTURE);
        return;
    }
    char *cases = NULL;
    h5_attr_read_str(f, "cases", &cases, HF_FIXTURE);
    int n = 0;
    for (char *save, *c = strtok_r(cases, ",", &save); c; c = strtok_r(NULL, ",", &save), n++)
        check_case(f, c);
    CHECK(n >= 5, "%d cases (llama3, mistral, qwen2, bloom, bloom_noprefix)", n);
    free(cases);
    H5Fclose(f);
}

int main(void) {
    RUN(test_every_case);
    RUN(check_hdf5_closed);
    return harness_finish();
}
