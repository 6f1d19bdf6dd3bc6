// Compares the C model against the independent PyTorch reference fixture
// (tests/reference/llama_ref.py -> tests/fixtures/llama_tiny.h5): logits,
// loss, every parameter gradient, the FFN activations h and dL/dh, and a
// 10-step AdamW trajectory (schedule, clipping, decay) through the real
// trainer_step. The reference values are float64; we run fp32.
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "harness.h"
#include "io/h5.h"
#include "model/model.h"
#include "mpi/comm.h"
#include "train/step.h"
#include "util/alloc.h"

typedef struct { Case *c; int seen; } HookCtx;
static void hook_compare(void *ctx, int layer, const float *h, const float *dh, int bt, int F) {
    HookCtx *hc = ctx;
    int64_t shape[3] = {hc->c->B, hc->c->T, F};
    char ds[64], what[64];
    snprintf(ds, sizeof ds, "expected/ffn_h/%d", layer);
    snprintf(what, sizeof what, "ffn_h layer %d", layer);
    fixture_compare(what, h, hc->c->g, ds, (size_t)bt * F, 3, shape, 1e-4);
    snprintf(ds, sizeof ds, "expected/ffn_dh/%d", layer);
    snprintf(what, sizeof what, "ffn_dh layer %d", layer);
    fixture_compare(what, dh, hc->c->g, ds, (size_t)bt * F, 3, shape, 1e-4);
    hc->seen++;
}

static void check_forward_backward(const char *name) {
    hid_t f = fixture_open();
    if (!f) return;
    Case c;
    case_open(&c, f, name);
    printf(" %s\n", name);
    Acts a;
    acts_init(&a, &c.m.cfg, c.B, c.T);
    model_forward(&c.m, &a, c.tokens, c.B, c.T);
    int64_t lshape[3] = {c.B, c.T, c.m.cfg.vocab_size};
    fixture_compare("logits", a.logits, c.g, "expected/logits", (size_t)c.B * c.T * lshape[2], 3, lshape, 1e-4);
    double ref_loss, ref_n, ls, nt;
    h5_read(c.g, "expected/loss_sum", H5T_F64, &ref_loss, 0, NULL, FIXTURE_PATH);
    h5_read(c.g, "expected/n_tokens", H5T_F64, &ref_n, 0, NULL, FIXTURE_PATH);
    model_loss(&c.m, &a, c.targets, c.weight, (float)(1.0 / ref_n), &ls, &nt);
    CHECK_CLOSE(ls, ref_loss, 1e-5, 0, "loss_sum");
    CHECK(nt == ref_n, "n_tokens %g vs %g", nt, ref_n);
    float *g = falloc(c.m.numel);
    ModelWeights gv;
    model_weights_view(&c.m, g, &gv);
    HookCtx hc = {&c, 0};
    BackwardOpts o = {.ffn_hook = hook_compare, .hook_ctx = &hc};
    model_backward(&c.m, &a, c.tokens, &gv, &o);
    CHECK(hc.seen == c.m.cfg.num_hidden_layers, "hook saw %d layers", hc.seen);
    char ds[160];
    for (int i = 0; i < c.m.n_tensors; i++) {
        const TensorInfo *t = &c.m.tensors[i];
        snprintf(ds, sizeof ds, "expected/grads/%s", t->name);
        fixture_compare(t->name, g + t->offset, c.g, ds, t->numel, t->ndim, t->shape, 1e-4);
    }
    model_weights_free(&gv);
    free(g);
    acts_free(&a);
    case_close(&c);
    H5Fclose(f);
}

static void check_adamw(const char *name) {
    hid_t f = fixture_open();
    if (!f) return;
    Case c;
    case_open(&c, f, name);
    printf(" %s adamw\n", name);
    hid_t ag = H5Gopen2(c.g, "adamw", H5P_DEFAULT);
    AdamWHyper h = {fixture_attr_f(ag, "beta1"), fixture_attr_f(ag, "beta2"), fixture_attr_f(ag, "eps"), fixture_attr_f(ag, "weight_decay")};
    Schedule s = {SCHED_COSINE, fixture_attr_f(ag, "lr"), fixture_attr_f(ag, "min_lr"), fixture_attr_i(ag, "warmup_steps"),
                  fixture_attr_i(ag, "steps")};
    int steps = (int)fixture_attr_i(ag, "steps");
    double losses[16], lrs[16], norms[16];
    int64_t n10 = steps;
    h5_read(ag, "losses", H5T_F64, losses, 1, &n10, FIXTURE_PATH);
    h5_read(ag, "lrs", H5T_F64, lrs, 1, &n10, FIXTURE_PATH);
    h5_read(ag, "grad_norms", H5T_F64, norms, 1, &n10, FIXTURE_PATH);
    Trainer tr;
    PackSpec full = {.mode = "full"};
    trainer_init(&tr, &c.m, c.B, c.T, &h, &s, fixture_attr_f(ag, "grad_clip"), &full, NULL);
    Batch b = {c.tokens, c.targets, c.weight, c.B, c.T};
    for (int i = 0; i < steps; i++) {
        StepStats st;
        trainer_step(&tr, &b, NULL, 1, &st);
        printf("  step %d loss %.6f (ref %.6f) norm %.5f (ref %.5f) lr %.3e\n", i, st.loss,
               losses[i], st.grad_norm, norms[i], st.lr);
        CHECK_CLOSE(st.loss, losses[i], 1e-4, 0, "trajectory loss");
        CHECK_CLOSE(st.grad_norm, norms[i], 1e-4, 0, "trajectory grad norm");
        CHECK_CLOSE(st.lr, lrs[i], 1e-12, 0, "lr schedule");
    }
    double *ref = NULL;
    char ds[160];
    double worst = 0;
    for (int i = 0; i < c.m.n_tensors; i++) {
        const TensorInfo *t = &c.m.tensors[i];
        ref = xrealloc(ref, t->numel * sizeof(double));
        snprintf(ds, sizeof ds, "final_params/%s", t->name);
        h5_read(ag, ds, H5T_F64, ref, t->ndim, t->shape, FIXTURE_PATH);
        for (size_t j = 0; j < t->numel; j++) {
            double d = fabs(c.m.data[t->offset + j] - ref[j]);
            worst = fmax(worst, d);
            if (d > 2e-4 + 1e-3 * fabs(ref[j])) {
                CHECK(0, "%s[%zu]: %g vs %g", t->name, j, c.m.data[t->offset + j], ref[j]);
                break;
            }
        }
    }
    printf("  final params max|diff| %.3e\n", worst);
    free(ref);
    trainer_free(&tr);
    H5Gclose(ag);
    case_close(&c);
    H5Fclose(f);
}

static void test_gqa(void) { check_forward_backward("case_gqa"); }
static void test_tied(void) { check_forward_backward("case_tied"); }
static void test_adamw_gqa(void) { check_adamw("case_gqa"); }
static void test_adamw_tied(void) { check_adamw("case_tied"); }

int main(int argc, char **argv) {
    comm_init(&argc, &argv);
    h5_init();
    RUN(test_gqa);
    RUN(test_tied);
    RUN(test_adamw_gqa);
    RUN(test_adamw_tied);
    int rc = harness_finish();
    comm_finalize();
    return rc;
}
