// Finite-difference checks of every parameter type's gradient, plus the
// selective-backward contract (frozen tensors, stop layer, FFN hook).
#include <stdlib.h>
#include <string.h>

#include "harness.h"
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

static void fix_init(Fix *f, int bias, int tied, int kv) {
    ModelConfig c = {.architecture = ARCH_LLAMA, .vocab_size = 29, .hidden_size = 16,
                     .intermediate_size = 24, .num_hidden_layers = 2, .num_attention_heads = 4,
                     .num_key_value_heads = kv, .max_position_embeddings = 32,
                     .norm_eps = 1e-5f, .rope_theta = 50.0f, .tie_word_embeddings = tied,
                     .attention_bias = bias};
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
    acts_init(&f->a, &c, B, T);
    for (int i = 0; i < B * T; i++) {
        f->tokens[i] = (int)(rng_next(&r) % 29);
        f->targets[i] = (int)(rng_next(&r) % 29);
        f->weight[i] = (i % T) == 0 ? 0.0f : ((i % 3) ? 1.0f : 0.5f);
    }
}

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

static void check_all_fd(int bias, int tied, int kv) {
    Fix f;
    fix_init(&f, bias, tied, kv);
    float *g = grad_full(&f, NULL, NULL);
    for (int i = 0; i < f.m.n_tensors; i++) check_tensor_fd(&f, &f.m.tensors[i], g);
    free(g);
    fix_free(&f);
}

static void test_fd_gqa_bias_untied(void) { check_all_fd(1, 0, 2); }
static void test_fd_mha_tied(void) { check_all_fd(0, 1, 4); }
static void test_fd_mqa(void) { check_all_fd(1, 1, 1); }

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
typedef struct {
    unsigned char cls[24];
    float w[16], b;
    FfnRoute route[2];
} RouteFix;

static void route_init(RouteFix *r, Fix *f, float wscale) {
    Rng g;
    rng_seed(&g, 5);
    for (int i = 0; i < 24; i++) r->cls[i] = (unsigned char)(i % 3);
    for (int j = 0; j < 16; j++) r->w[j] = wscale * rng_normal(&g);
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

static void test_routing_fd(void) {
    Fix f;
    fix_init(&f, 1, 0, 2);
    RouteFix r;
    route_init(&r, &f, 0.5f);
    float dw[16] = {0}, db = 0;
    FfnGrad fg[2] = {{0}, {.d_route_w = dw, .d_route_b = &db}};
    BackwardOpts o = {.ffn = fg};
    float *g = grad_full(&f, &o, NULL);
    for (int i = 0; i < f.m.n_tensors; i++) check_tensor_fd(&f, &f.m.tensors[i], g);
    for (int j = 0; j < 16; j += 5) {
        double fd = fd_of(&f, &r.w[j], 1.0f);
        CHECK(fabs(fd - dw[j]) <= 2e-3 + 2e-2 * fabs(fd), "route w[%d]: fd %g analytic %g", j, fd, dw[j]);
    }
    double fd = fd_of(&f, &r.b, 1.0f);
    CHECK(fabs(fd - db) <= 2e-3 + 2e-2 * fabs(fd) && fabs(db) > 1e-4, "route b: fd %g analytic %g", fd, db);
    free(g);
    fix_free(&f);
}

// Scale 2 with a zero gate: c = 1 exactly, every scale is 1, and the model
// is the base model bit for bit.
static void test_routing_identity(void) {
    Fix f;
    fix_init(&f, 1, 0, 2);
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

// Gradient rows of the active neurons only, equal to the dense gradient's
// rows (gate, up) and columns (down); nothing else is computed.
static void test_selective_rows(void) {
    Fix f;
    fix_init(&f, 1, 0, 2);
    RouteFix r;
    route_init(&r, &f, 0.5f);
    float *dense = grad_full(&f, NULL, NULL);
    const int active[] = {0, 3, 4, 10, 23};
    enum { A = 5, C = 16, F = 24 };
    float dg[A * C] = {0}, du[A * C] = {0}, dd[A * C] = {0};
    // two blocks: neurons {0, 3} and {4, 10, 23}, rows consecutive
    FfnBlock blocks[2] = {{2, active, dg, du, dd, NULL},
                          {3, active + 2, dg + 2 * C, du + 2 * C, dd + 2 * C, NULL}};
    FfnGrad fg[2] = {{0}, {2, blocks, NULL, NULL}};
    float *sel = falloc(f.m.numel);
    ModelWeights gv;
    model_weights_view(&f.m, sel, &gv);
    gv.layers[1].gate_proj = gv.layers[1].up_proj = gv.layers[1].down_proj = NULL;
    BackwardOpts o = {.ffn = fg};
    loss_of(&f);
    model_backward(&f.m, &f.a, f.tokens, &gv, &o);
    const float *Dg = dense + model_find_tensor(&f.m, "model.layers.1.mlp.gate_proj.weight")->offset;
    const float *Du = dense + model_find_tensor(&f.m, "model.layers.1.mlp.up_proj.weight")->offset;
    const float *Dd = dense + model_find_tensor(&f.m, "model.layers.1.mlp.down_proj.weight")->offset;
    double worst = 0;
    for (int j = 0; j < A; j++)
        for (int c = 0; c < C; c++) {
            worst = fmax(worst, fabs(dg[j * C + c] - Dg[active[j] * C + c]));
            worst = fmax(worst, fabs(du[j * C + c] - Du[active[j] * C + c]));
            worst = fmax(worst, fabs(dd[j * C + c] - Dd[c * F + active[j]]));
        }
    CHECK(worst < 1e-6, "selective rows differ from the dense gradient by %g", worst);
    const float *S = sel + model_find_tensor(&f.m, "model.layers.1.mlp.gate_proj.weight")->offset;
    int untouched = 1;
    for (int i = 0; i < F * C; i++) untouched &= S[i] == 0.0f;
    CHECK(untouched, "the dense gate_proj gradient was written although frozen");
    model_weights_free(&gv);
    free(dense), free(sel);
    fix_free(&f);
}

int main(void) {
    RUN(test_fd_gqa_bias_untied);
    RUN(test_fd_mha_tied);
    RUN(test_fd_mqa);
    RUN(test_dloss_scale);
    RUN(test_selective_backward);
    RUN(test_routing_fd);
    RUN(test_routing_identity);
    RUN(test_selective_rows);
    return harness_finish();
}
