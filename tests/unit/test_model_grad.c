// Finite-difference checks of every parameter type's gradient, plus the
// selective-backward contract (frozen tensors, stop layer, FFN hook).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "model/layers.h"
#include "model/model.h"
#include "util/alloc.h"
#include "util/rng.h"

enum { B = 2, T = 5 };

typedef struct {
    Model m;
    Acts a;
    int tokens[B * T], targets[B * T];
    float weight[B * T];
} Fix;

static ModelConfig cfg_llama(int bias, int tied, int kv) {
    return (ModelConfig){.architecture = ARCH_LLAMA, .vocab_size = 29, .hidden_size = 16,
                         .intermediate_size = 24, .num_hidden_layers = 2, .num_attention_heads = 4,
                         .num_key_value_heads = kv, .max_position_embeddings = 32,
                         .norm_eps = 1e-5f, .rope_theta = 50.0f, .tie_word_embeddings = tied,
                         .attention_bias = bias};
}

// Llama 3.1-style: head_dim 6 != 16 / 4, q/k/v/o biases, llama3 rope
// scaling whose original context puts the 3 frequencies in all 3 regimes.
static ModelConfig cfg_llama3(void) {
    ModelConfig c = cfg_llama(1, 0, 2);
    c.head_dim = 6;
    c.attention_out_bias = 1;
    c.rope_scaling = ROPE_LLAMA3;
    c.rope_factor = 8.0f, c.rope_low_freq_factor = 1.0f, c.rope_high_freq_factor = 4.0f;
    c.rope_original_max_position_embeddings = 40;
    return c;
}

static ModelConfig cfg_mistral(int window) {
    ModelConfig c = cfg_llama(0, 0, 2);
    snprintf(c.model_type, sizeof c.model_type, "mistral");
    c.sliding_window = window;
    return c;
}

// BLOOM with 3 heads (not a power of two: ALiBi's extra slopes).
static ModelConfig cfg_bloom(void) {
    return (ModelConfig){.architecture = ARCH_BLOOM, .vocab_size = 29, .hidden_size = 12,
                         .intermediate_size = 24, .num_hidden_layers = 2, .num_attention_heads = 3,
                         .max_position_embeddings = 32, .norm_eps = 1e-5f};
}

static void fix_init_cfg(Fix *f, ModelConfig c) {
    model_init(&f->m, &c);
    model_init_random(&f->m, 7, 0.3f);
    Rng r;
    rng_seed(&r, 99);
    // Norms and biases away from 1 / 0 so their gradients are exercised.
    for (int i = 0; i < f->m.n_tensors; i++) {
        const TensorInfo *t = &f->m.tensors[i];
        if (t->ndim == 1)
            for (size_t j = 0; j < t->numel; j++) f->m.data[t->offset + j] += 0.2f * rng_normal(&r);
    }
    acts_init(&f->a, &f->m.cfg, B, T);
    for (int i = 0; i < B * T; i++) {
        f->tokens[i] = (int)(rng_next(&r) % 29);
        f->targets[i] = (int)(rng_next(&r) % 29);
        f->weight[i] = (i % T) == 0 ? 0.0f : ((i % 3) ? 1.0f : 0.5f);
    }
}

static void fix_init(Fix *f, int bias, int tied, int kv) { fix_init_cfg(f, cfg_llama(bias, tied, kv)); }

static void fix_free(Fix *f) {
    acts_free(&f->a);
    model_free(&f->m);
}

static double loss_of(Fix *f) {
    double ls, nt;
    model_forward(&f->m, &f->a, f->tokens, B, T);
    model_loss(&f->m, &f->a, f->targets, f->weight, 1.0f, &ls, &nt);
    return ls;
}

// Full gradient into a dense flat buffer laid out like m.data.
static float *grad_full(Fix *f, const BackwardOpts *o, ModelWeights *gv_out) {
    float *g = falloc(f->m.numel);
    ModelWeights gv;
    model_weights_view(&f->m, g, &gv);
    loss_of(f);
    model_backward(&f->m, &f->a, f->tokens, &gv, o);
    if (gv_out) *gv_out = gv; else model_weights_free(&gv);
    return g;
}

// Directional derivative along v (mix of g and noise) vs central differences.
static void check_tensor_fd(Fix *f, const TensorInfo *t, const float *g) {
    Rng r;
    rng_seed(&r, 1234 + t->offset);
    double gn = 0;
    for (size_t j = 0; j < t->numel; j++) gn += (double)g[t->offset + j] * g[t->offset + j];
    gn = sqrt(gn) + 1e-30;
    float *v = xmalloc(t->numel * sizeof(float));
    double vn = 0, analytic = 0;
    for (size_t j = 0; j < t->numel; j++) {
        v[j] = (float)(g[t->offset + j] / gn) + 0.5f * rng_normal(&r) / sqrtf((float)t->numel);
        vn += (double)v[j] * v[j];
    }
    for (size_t j = 0; j < t->numel; j++) v[j] /= (float)sqrt(vn);
    for (size_t j = 0; j < t->numel; j++) analytic += (double)g[t->offset + j] * v[j];
    float *p = f->m.data + t->offset, eps = 1e-2f;
    float *saved = xmalloc(t->numel * sizeof(float));
    memcpy(saved, p, t->numel * sizeof(float));
    for (size_t j = 0; j < t->numel; j++) p[j] = saved[j] + eps * v[j];
    double lp = loss_of(f);
    for (size_t j = 0; j < t->numel; j++) p[j] = saved[j] - eps * v[j];
    double lm = loss_of(f);
    memcpy(p, saved, t->numel * sizeof(float));
    double fd = (lp - lm) / (2 * eps);
    CHECK(fabs(fd - analytic) <= 2e-3 + 2e-2 * fabs(fd), "%s: fd %.6g analytic %.6g", t->name, fd,
          analytic);
    free(v);
    free(saved);
}

static void check_all_fd(ModelConfig c) {
    Fix f;
    fix_init_cfg(&f, c);
    float *g = grad_full(&f, NULL, NULL);
    for (int i = 0; i < f.m.n_tensors; i++) check_tensor_fd(&f, &f.m.tensors[i], g);
    free(g);
    fix_free(&f);
}

static void test_fd_gqa_bias_untied(void) { check_all_fd(cfg_llama(1, 0, 2)); }
static void test_fd_mha_tied(void) { check_all_fd(cfg_llama(0, 1, 4)); }
static void test_fd_mqa(void) { check_all_fd(cfg_llama(1, 1, 1)); }
static void test_fd_llama3(void) { check_all_fd(cfg_llama3()); }
static void test_fd_mistral_window(void) { check_all_fd(cfg_mistral(2)); }
static void test_fd_bloom(void) { check_all_fd(cfg_bloom()); }

// BLOOM's slopes for 6 heads (power of two 4: 2^-2k, then 2^-1, 2^-3) and
// 3 heads (2: 2^-4, 2^-8, then 2^-2).
static void test_alibi_slopes(void) {
    float s6[6], s3[3];
    alibi_slopes(s6, 6);
    alibi_slopes(s3, 3);
    const float w6[6] = {0.25f, 0.0625f, 0.015625f, 0.00390625f, 0.5f, 0.125f};
    const float w3[3] = {0.0625f, 0.00390625f, 0.25f};
    for (int h = 0; h < 6; h++) CHECK(s6[h] == w6[h], "6 heads: slope %d = %g, expected %g", h, s6[h], w6[h]);
    for (int h = 0; h < 3; h++) CHECK(s3[h] == w3[h], "3 heads: slope %d = %g, expected %g", h, s3[h], w3[h]);
}

// With one layer and a window of 2, position t sees tokens t-1 and t only:
// changing token 0 changes the logits at positions 0 and 1 and nothing
// after; without the window every later position changes.
static void test_sliding_window_mask(void) {
    for (int window = 0; window <= 2; window += 2) {
        ModelConfig c = cfg_mistral(window);
        c.num_hidden_layers = 1;
        Fix f;
        fix_init_cfg(&f, c);
        size_t V = 29, n = (size_t)B * T * V;
        float *before = xmalloc(n * sizeof(float));
        model_forward(&f.m, &f.a, f.tokens, B, T);
        memcpy(before, f.a.logits, n * sizeof(float));
        f.tokens[0] = (f.tokens[0] + 1) % 29;
        model_forward(&f.m, &f.a, f.tokens, B, T);
        for (int t = 0; t < T; t++) {
            int same = !memcmp(before + t * V, f.a.logits + t * V, V * sizeof(float));
            int expect_same = window && t >= window;
            CHECK(same == expect_same, "window %d: position %d %s", window, t,
                  same ? "unchanged" : "changed");
        }
        free(before);
        fix_free(&f);
    }
}

// Scaling dloss scales every gradient: backward is linear in dL/dlogits.
static void test_dloss_scale(void) {
    Fix f;
    fix_init(&f, 1, 0, 2);
    float *g1 = grad_full(&f, NULL, NULL);
    float *g2 = falloc(f.m.numel);
    ModelWeights gv;
    model_weights_view(&f.m, g2, &gv);
    double ls, nt;
    model_forward(&f.m, &f.a, f.tokens, B, T);
    model_loss(&f.m, &f.a, f.targets, f.weight, 0.25f, &ls, &nt);
    model_backward(&f.m, &f.a, f.tokens, &gv, NULL);
    double worst = 0;
    for (size_t i = 0; i < f.m.numel; i++) worst = fmax(worst, fabs(g2[i] - 0.25 * g1[i]));
    CHECK(worst < 1e-6, "max |g(0.25) - 0.25 g(1)| = %g", worst);
    CHECK(nt == 8, "n_tokens %g (expected 8 non-zero weights)", nt);
    model_weights_free(&gv);
    free(g1), free(g2), fix_free(&f);
}

typedef struct { int calls[4]; double dh_sum[4]; } HookLog;
static void log_hook(void *ctx, int layer, const float *h, const float *dh, int bt, int F) {
    HookLog *log = ctx;
    (void)h;
    log->calls[layer]++;
    for (long i = 0; i < (long)bt * F; i++) log->dh_sum[layer] += fabs(dh[i]);
}

// Freezing everything except layer 1's FFN and stopping at layer 1 gives
// exactly the full pass's gradients for those tensors, touches nothing else,
// and still reports dL/dh of every layer it passes.
static void test_selective_backward(void) {
    Fix f;
    fix_init(&f, 1, 0, 2);
    HookLog full_log = {0}, sel_log = {0};
    BackwardOpts full_o = {.stop_layer = 0, .ffn_hook = log_hook, .hook_ctx = &full_log};
    float *gfull = grad_full(&f, &full_o, NULL);
    float *gsel = falloc(f.m.numel);
    ModelWeights gv;
    model_weights_view(&f.m, gsel, &gv);
    LayerWeights keep = gv.layers[1];
    memset(gv.layers, 0, sizeof(LayerWeights) * 2);
    gv.embed_tokens = gv.norm = gv.lm_head = NULL;
    gv.layers[1].gate_proj = keep.gate_proj;
    gv.layers[1].up_proj = keep.up_proj;
    gv.layers[1].down_proj = keep.down_proj;
    BackwardOpts sel_o = {.stop_layer = 1, .ffn_hook = log_hook, .hook_ctx = &sel_log};
    loss_of(&f);
    model_backward(&f.m, &f.a, f.tokens, &gv, &sel_o);
    const char *names[] = {"model.layers.1.mlp.gate_proj.weight", "model.layers.1.mlp.up_proj.weight",
                           "model.layers.1.mlp.down_proj.weight"};
    for (int i = 0; i < f.m.n_tensors; i++) {
        const TensorInfo *t = &f.m.tensors[i];
        int trainable = 0;
        for (int k = 0; k < 3; k++) trainable |= !strcmp(t->name, names[k]);
        int same = memcmp(gsel + t->offset, gfull + t->offset, t->numel * sizeof(float)) == 0;
        int zero = 1;
        for (size_t j = 0; j < t->numel; j++) zero &= gsel[t->offset + j] == 0.0f;
        if (trainable) CHECK(same, "%s differs from the full backward", t->name);
        else CHECK(zero, "%s is frozen but received a gradient", t->name);
    }
    CHECK(sel_log.calls[0] == 0 && sel_log.calls[1] == 1, "hook calls %d %d", sel_log.calls[0], sel_log.calls[1]);
    CHECK(full_log.calls[0] == 1 && full_log.calls[1] == 1, "full hook calls %d %d", full_log.calls[0], full_log.calls[1]);
    CHECK(sel_log.dh_sum[1] == full_log.dh_sum[1] && full_log.dh_sum[1] > 0, "dh differs");
    model_weights_free(&gv);
    free(gfull), free(gsel), fix_free(&f);
}

// CAR routing on layer 1: classes mixed, a non-trivial gate. The model's
// gradients and the gate's (w, b) gradients against finite differences.
enum { CMAX = 16, FMAX = 24 };
typedef struct {
    unsigned char cls[FMAX];
    float w[CMAX], b;
    FfnRoute route[2];
} RouteFix;

static void route_init(RouteFix *r, Fix *f, float wscale) {
    Rng g;
    rng_seed(&g, 5);
    for (int i = 0; i < FMAX; i++) r->cls[i] = (unsigned char)(i % 3);
    for (int j = 0; j < CMAX; j++) r->w[j] = wscale * rng_normal(&g);
    r->b = wscale * 0.3f;
    memset(r->route, 0, sizeof r->route);
    r->route[1] = (FfnRoute){r->cls, r->w, &r->b, 2.0f};
    f->m.route = r->route;
}

static double fd_of(Fix *f, float *p, float v) {
    float saved = *p;
    *p = saved + 1e-2f * v;
    double lp = loss_of(f);
    *p = saved - 1e-2f * v;
    double lm = loss_of(f);
    *p = saved;
    return (lp - lm) / 2e-2;
}

// llama: routed SwiGLU; bloom: the biased GELU FFN, whose inputs (not
// biases) the gate scales.
static void check_routing_fd(ModelConfig c) {
    Fix f;
    fix_init_cfg(&f, c);
    RouteFix r;
    route_init(&r, &f, 0.5f);
    float dw[CMAX] = {0}, db = 0;
    FfnGrad fg[2] = {{0}, {.d_route_w = dw, .d_route_b = &db}};
    BackwardOpts o = {.ffn = fg};
    float *g = grad_full(&f, &o, NULL);
    for (int i = 0; i < f.m.n_tensors; i++) check_tensor_fd(&f, &f.m.tensors[i], g);
    for (int j = 0; j < c.hidden_size; j += 5) {
        double fd = fd_of(&f, &r.w[j], 1.0f);
        CHECK(fabs(fd - dw[j]) <= 2e-3 + 2e-2 * fabs(fd), "route w[%d]: fd %g analytic %g", j, fd, dw[j]);
    }
    double fd = fd_of(&f, &r.b, 1.0f);
    CHECK(fabs(fd - db) <= 2e-3 + 2e-2 * fabs(fd) && fabs(db) > 1e-4, "route b: fd %g analytic %g", fd, db);
    free(g);
    fix_free(&f);
}

static void test_routing_fd(void) { check_routing_fd(cfg_llama(1, 0, 2)); }
static void test_routing_fd_bloom(void) { check_routing_fd(cfg_bloom()); }

// Scale 2 with a zero gate: c = 1 exactly, every scale is 1, and the model
// is the base model bit for bit (bloom too: the bias is not scaled).
static void check_routing_identity(ModelConfig c) {
    Fix f;
    fix_init_cfg(&f, c);
    model_forward(&f.m, &f.a, f.tokens, B, T);
    size_t n = (size_t)B * T * 29;
    float *base = xmalloc(n * sizeof(float));
    memcpy(base, f.a.logits, n * sizeof(float));
    RouteFix r;
    route_init(&r, &f, 0.0f);
    model_forward(&f.m, &f.a, f.tokens, B, T);
    CHECK(!memcmp(base, f.a.logits, n * sizeof(float)), "scale-2 routing with a zero gate changed the logits");
    r.b = 0.5f;
    model_forward(&f.m, &f.a, f.tokens, B, T);
    CHECK(memcmp(base, f.a.logits, n * sizeof(float)), "a non-zero gate did not change the logits");
    free(base);
    fix_free(&f);
}

static void test_routing_identity(void) { check_routing_identity(cfg_llama(1, 0, 2)); }
static void test_routing_identity_bloom(void) { check_routing_identity(cfg_bloom()); }

// Gradient rows of the active neurons only, equal to the dense gradient's
// rows (gate, up), columns (down) and bias entries (bloom's up bias);
// nothing else is computed.
static void check_selective_rows(ModelConfig c, const char *prefix, const char *gate,
                                 const char *up, const char *down, const char *up_bias) {
    Fix f;
    fix_init_cfg(&f, c);
    RouteFix r;
    route_init(&r, &f, 0.5f);
    float *dense = grad_full(&f, NULL, NULL);
    const int active[] = {0, 3, 4, 10, 23};
    enum { A = 5 };
    int C = c.hidden_size, F = c.intermediate_size, bloom = c.architecture == ARCH_BLOOM;
    float dg[A * CMAX] = {0}, du[A * CMAX] = {0}, dd[A * CMAX] = {0}, dbias[A] = {0};
    // two blocks: neurons {0, 3} and {4, 10, 23}, rows consecutive
    FfnBlock blocks[2] = {{2, active, bloom ? NULL : dg, du, dd, bloom ? dbias : NULL},
                          {3, active + 2, bloom ? NULL : dg + 2 * C, du + 2 * C, dd + 2 * C,
                           bloom ? dbias + 2 : NULL}};
    FfnGrad fg[2] = {{0}, {2, blocks, NULL, NULL, 1}};
    float *sel = falloc(f.m.numel);
    ModelWeights gv;
    model_weights_view(&f.m, sel, &gv);
    LayerWeights *g1 = &gv.layers[1];
    g1->gate_proj = g1->up_proj = g1->down_proj = g1->up_bias = NULL;
    BackwardOpts o = {.ffn = fg};
    loss_of(&f);
    model_backward(&f.m, &f.a, f.tokens, &gv, &o);
    char name[96];
#define DENSE(part) (snprintf(name, sizeof name, "%s%s", prefix, part), dense + model_find_tensor(&f.m, name)->offset)
    const float *Du = DENSE(up), *Dd = DENSE(down);
    const float *Dg = bloom ? NULL : DENSE(gate), *Db = bloom ? DENSE(up_bias) : NULL;
    double worst = 0;
    for (int j = 0; j < A; j++) {
        for (int k = 0; k < C; k++) {
            if (Dg) worst = fmax(worst, fabs(dg[j * C + k] - Dg[active[j] * C + k]));
            worst = fmax(worst, fabs(du[j * C + k] - Du[active[j] * C + k]));
            worst = fmax(worst, fabs(dd[j * C + k] - Dd[k * F + active[j]]));
        }
        if (Db) worst = fmax(worst, fabs(dbias[j] - Db[active[j]]));
    }
    CHECK(worst < 1e-6, "selective rows differ from the dense gradient by %g", worst);
    snprintf(name, sizeof name, "%s%s", prefix, up);
    const float *S = sel + model_find_tensor(&f.m, name)->offset;
    int untouched = 1;
    for (int i = 0; i < F * C; i++) untouched &= S[i] == 0.0f;
    CHECK(untouched, "the dense %s gradient was written although frozen", up);
#undef DENSE
    model_weights_free(&gv);
    free(dense), free(sel);
    fix_free(&f);
}

static void test_selective_rows(void) {
    check_selective_rows(cfg_llama(1, 0, 2), "model.layers.1.mlp.", "gate_proj.weight",
                         "up_proj.weight", "down_proj.weight", NULL);
}

static void test_selective_rows_bloom(void) {
    check_selective_rows(cfg_bloom(), "transformer.h.1.mlp.", NULL, "dense_h_to_4h.weight",
                         "dense_4h_to_h.weight", "dense_h_to_4h.bias");
}

// LoRA on every linear of both layers (llama: q, k, v, o, gate, up, down;
// bloom: the fused query_key_value, dense, dense_h_to_4h, dense_4h_to_h),
// rank 2, A and B random: their gradients against finite differences, and
// with B = 0 the model is the base model bit for bit.
typedef struct {
    LoraPair at[2 * LORA_N];
    LoraGrad grad[2 * LORA_N];
    LoraSet set;
    float *store;
} LoraFix;

static void lora_init(LoraFix *lf, Fix *f, float b_std) {
    const ModelConfig *c = &f->m.cfg;
    int bloom = c->architecture == ARCH_BLOOM, r = 2;
    memset(lf, 0, sizeof *lf);
    lf->store = falloc(4 * 2 * LORA_N * 64 * 64);
    float *at = lf->store;
    Rng g;
    rng_seed(&g, 17);
    for (int l = 0; l < 2; l++)
        for (int t = 0; t < LORA_N; t++) {
            int fused = t == LORA_QKV, gate = t == LORA_GATE;
            if (bloom ? (t <= LORA_V || gate) : fused) continue;
            int in, out;
            model_lora_dims(c, (LoraTarget)t, &in, &out);
            LoraPair *p = &lf->at[l * LORA_N + t];
            float *A = at, *B = at + (size_t)r * in;
            at = B + (size_t)out * r;
            for (int i = 0; i < r * in; i++) A[i] = 0.3f * rng_normal(&g);
            for (int i = 0; i < out * r; i++) B[i] = b_std * rng_normal(&g);
            *p = (LoraPair){A, B};
            lf->grad[l * LORA_N + t] = (LoraGrad){at, at + (size_t)r * in};
            at += (size_t)r * in + (size_t)out * r;
        }
    lf->set = (LoraSet){r, 2.0f, lf->at};
    f->m.lora = &lf->set;
}

static void check_lora_fd(ModelConfig c) {
    Fix f;
    fix_init_cfg(&f, c);
    LoraFix lf;
    lora_init(&lf, &f, 0.3f);
    BackwardOpts o = {.lora = lf.grad};
    float *g = grad_full(&f, &o, NULL);
    int checked = 0;
    for (int k = 0; k < 2 * LORA_N; k++) {
        if (!lf.at[k].A) continue;
        int in, out;
        model_lora_dims(&f.m.cfg, (LoraTarget)(k % LORA_N), &in, &out);
        float *P[2] = {(float *)lf.at[k].A, (float *)lf.at[k].B}, *G[2] = {lf.grad[k].dA, lf.grad[k].dB};
        int n[2] = {2 * in, out * 2};
        for (int m = 0; m < 2; m++)
            for (int i = 0; i < n[m]; i += n[m] / 3 + 1) {
                double fd = fd_of(&f, &P[m][i], 1.0f);
                CHECK(fabs(fd - G[m][i]) <= 2e-3 + 2e-2 * fabs(fd), "lora layer %d target %d %s[%d]: fd %g analytic %g",
                      k / LORA_N, k % LORA_N, m ? "B" : "A", i, fd, G[m][i]);
                checked++;
            }
    }
    CHECK(checked >= 24, "only %d LoRA entries checked", checked);
    for (int i = 0; i < f.m.n_tensors; i++) check_tensor_fd(&f, &f.m.tensors[i], g);  // base too
    free(g), free(lf.store);
    fix_free(&f);
}

static void test_lora_fd(void) { check_lora_fd(cfg_llama3()); }
static void test_lora_fd_bloom(void) { check_lora_fd(cfg_bloom()); }

// Merging W += scale B A gives the unmerged model's logits (to float
// rounding of the two orders of summation).
static void test_lora_merge(void) {
    ModelConfig cs[2] = {cfg_llama3(), cfg_bloom()};
    for (int k = 0; k < 2; k++) {
        Fix f;
        fix_init_cfg(&f, cs[k]);
        LoraFix lf;
        lora_init(&lf, &f, 0.3f);
        model_forward(&f.m, &f.a, f.tokens, B, T);
        size_t n = (size_t)B * T * 29;
        float *unmerged = xmalloc(n * sizeof(float));
        memcpy(unmerged, f.a.logits, n * sizeof(float));
        model_lora_merge(&f.m);
        CHECK(f.m.lora == NULL, "merge left the adapters attached");
        model_forward(&f.m, &f.a, f.tokens, B, T);
        double worst = 0, scale = 0;
        for (size_t i = 0; i < n; i++)
            worst = fmax(worst, fabs(unmerged[i] - f.a.logits[i])), scale = fmax(scale, fabs(unmerged[i]));
        CHECK(worst <= 1e-5 * scale && worst > 0, "config %d: merged vs unmerged logits differ by %g (max %g)",
              k, worst, scale);
        free(unmerged), free(lf.store);
        fix_free(&f);
    }
}

static void test_lora_zero_b_is_base(void) {
    ModelConfig cs[2] = {cfg_llama3(), cfg_bloom()};
    for (int k = 0; k < 2; k++) {
        Fix f;
        fix_init_cfg(&f, cs[k]);
        model_forward(&f.m, &f.a, f.tokens, B, T);
        size_t n = (size_t)B * T * 29;
        float *base = xmalloc(n * sizeof(float));
        memcpy(base, f.a.logits, n * sizeof(float));
        LoraFix lf;
        lora_init(&lf, &f, 0.0f);
        model_forward(&f.m, &f.a, f.tokens, B, T);
        CHECK(!memcmp(base, f.a.logits, n * sizeof(float)), "config %d: B = 0 changed the logits", k);
        free(base), free(lf.store);
        fix_free(&f);
    }
}

// Activation recomputation and chunked cross-entropy against the plain
// path on the same model and batch (and with CAR routing and LoRA attached
// too). Recomputation re-runs the same kernels on the same inputs: loss and
// gradients are bit-identical. The chunks' logits come from sgemms of
// fewer rows, which OpenBLAS may round differently: equal to fp32 rounding.
static void check_memory_options(ModelConfig c, ActsOpts opt, int route, int lora) {
    Fix f;
    fix_init_cfg(&f, c);
    RouteFix r;
    LoraFix lf;
    if (route) route_init(&r, &f, 0.5f);
    if (lora) lora_init(&lf, &f, 0.3f);
    float *plain = grad_full(&f, NULL, NULL);
    double l0 = loss_of(&f);
    acts_free(&f.a);
    acts_init_opts(&f.a, &f.m.cfg, B, T, &opt);
    float *opts = grad_full(&f, NULL, NULL);
    double l1 = loss_of(&f);
    double worst = 0, scale = 0;
    for (size_t i = 0; i < f.m.numel; i++)
        worst = fmax(worst, fabs(plain[i] - opts[i])), scale = fmax(scale, fabs(plain[i]));
    double tol_loss = opt.ce_chunk ? 1e-7 : 0, tol_grad = opt.ce_chunk ? 1e-5 : 0;
    CHECK(fabs(l0 - l1) <= tol_loss * fabs(l0), "recompute %d, ce_chunk %d: loss %.15g vs %.15g",
          opt.recompute, opt.ce_chunk, l0, l1);
    CHECK(worst <= tol_grad * scale, "recompute %d, ce_chunk %d: gradients differ by %g (max %g)",
          opt.recompute, opt.ce_chunk, worst, scale);
    printf("     recompute %d ce_chunk %d route %d lora %d: max |grad diff| %.3g of %.3g\n",
           opt.recompute, opt.ce_chunk, route, lora, worst, scale);
    if (lora) free(lf.store);
    free(plain), free(opts);
    fix_free(&f);
}

static void test_recompute_and_chunked_ce(void) {
    ActsOpts both = {1, 3}, rec = {1, 0}, ce = {0, 4};
    check_memory_options(cfg_llama(1, 0, 2), rec, 0, 0);
    check_memory_options(cfg_llama3(), rec, 1, 1);
    check_memory_options(cfg_bloom(), rec, 1, 1);
    check_memory_options(cfg_llama(1, 0, 2), ce, 0, 0);
    check_memory_options(cfg_llama(0, 1, 4), both, 1, 0);  // tied head
    check_memory_options(cfg_llama3(), both, 1, 1);
    check_memory_options(cfg_bloom(), both, 1, 1);
}

int main(void) {
    RUN(test_fd_gqa_bias_untied);
    RUN(test_fd_mha_tied);
    RUN(test_fd_mqa);
    RUN(test_fd_llama3);
    RUN(test_fd_mistral_window);
    RUN(test_fd_bloom);
    RUN(test_alibi_slopes);
    RUN(test_sliding_window_mask);
    RUN(test_dloss_scale);
    RUN(test_selective_backward);
    RUN(test_routing_fd);
    RUN(test_routing_fd_bloom);
    RUN(test_routing_identity);
    RUN(test_routing_identity_bloom);
    RUN(test_selective_rows);
    RUN(test_selective_rows_bloom);
    RUN(test_lora_fd);
    RUN(test_lora_fd_bloom);
    RUN(test_lora_zero_b_is_base);
    RUN(test_lora_merge);
    RUN(test_recompute_and_chunked_ce);
    return harness_finish();
}
