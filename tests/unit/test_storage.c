// Frozen weights in their source dtype: a model whose matrices are stored
// in bfloat16 (or float16) computes exactly what the float32 model with the
// same (already rounded) values computes — logits, loss, every gradient,
// and training in the selective and LoRA modes, which read the trained
// entries from the packed buffer and leave every matrix in 16 bits.
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mpi/comm.h"
#include "train/step.h"
#include "util/alloc.h"
#include "util/half.h"
#include "util/rng.h"

enum { B = 2, T = 7, V = 41 };

static ModelConfig config(int bloom) {
    ModelConfig c = {.architecture = bloom ? ARCH_BLOOM : ARCH_LLAMA, .vocab_size = V, .hidden_size = 24,
                     .intermediate_size = 40, .num_hidden_layers = 3, .num_attention_heads = bloom ? 3 : 4,
                     .num_key_value_heads = 2, .max_position_embeddings = 32, .norm_eps = 1e-5f,
                     .rope_theta = 100.0f, .attention_bias = 1};
    model_config_finish(&c);
    return c;
}

// A float32 model whose values are exactly representable in dt, and the
// same model with every matrix stored in dt.
static void model_pair(Model *f32, Model *half, int bloom, DType dt) {
    ModelConfig c = config(bloom);
    model_init(f32, &c);
    model_init_random(f32, 5, 0.2f);
    model_table_init(half, &c);
    for (int i = 0; i < f32->n_tensors; i++) {
        const TensorInfo *t = &f32->tensors[i];
        float *x = f32->data + t->offset;
        if (t->ndim == 1) {
            float *own = falloc(t->numel);
            memcpy(own, x, t->numel * 4);
            model_tensor_set(half, i, own, DTYPE_F32, 1, 0);
            continue;
        }
        uint16_t *h = xmalloc(t->numel * 2);
        for (size_t j = 0; j < t->numel; j++) {
            h[j] = dt == DTYPE_BF16 ? half_f32_to_bf16(x[j]) : half_f32_to_f16(x[j]);
            x[j] = dt == DTYPE_BF16 ? half_bf16_to_f32(h[j]) : half_f16_to_f32(h[j]);
        }
        model_tensor_set(half, i, h, dt, 1, 0);
    }
    model_params_bind(half);
}

static void batch(int *tok, int *tgt, float *w) {
    Rng r;
    rng_seed(&r, 3);
    for (int i = 0; i < B * T; i++)
        tok[i] = (int)(rng_next(&r) % V), tgt[i] = (int)(rng_next(&r) % V), w[i] = i % T > 1;
}

// Logits, loss and every gradient (dense, float32 buffers) bit for bit.
static void check_forward_backward(Model *a, Model *b, const char *what) {
    int tok[B * T], tgt[B * T];
    float w[B * T];
    batch(tok, tgt, w);
    float *ga = falloc(a->numel), *gb = falloc(b->numel);
    Model *ms[2] = {a, b};
    float *gs[2] = {ga, gb}, *logits[2];
    double loss[2];
    for (int k = 0; k < 2; k++) {
        Acts acts;
        acts_init(&acts, &ms[k]->cfg, B, T);
        model_forward(ms[k], &acts, tok, B, T);
        logits[k] = xmalloc(sizeof(float) * B * T * V);
        memcpy(logits[k], acts.logits, sizeof(float) * B * T * V);
        double nt;
        model_loss(ms[k], &acts, tgt, w, 0.1f, &loss[k], &nt);
        ModelWeights gv;
        model_weights_view(ms[k], gs[k], &gv);
        model_backward(ms[k], &acts, tok, &gv, NULL);
        model_weights_free(&gv);
        acts_free(&acts);
    }
    CHECK(!memcmp(logits[0], logits[1], sizeof(float) * B * T * V), "%s: logits differ", what);
    CHECK(loss[0] == loss[1], "%s: loss %.17g vs %.17g", what, loss[0], loss[1]);
    CHECK(!memcmp(ga, gb, a->numel * 4), "%s: gradients differ", what);
    free(ga), free(gb), free(logits[0]), free(logits[1]);
}

// A few optimizer steps of `mode` (neurons: every FFN neuron of layers 1
// and 2 general or specific to de-en) give the same trained entries.
static void check_training(Model *a, Model *b, const char *mode, const char *what) {
    Neurons nr;
    neurons_init(&nr, 1, 3, a->cfg.intermediate_size, 2);
    snprintf(nr.units[0], NEURONS_NAME, "de-en");
    snprintf(nr.unit_kind, sizeof nr.unit_kind, "direction");
    nr.selected[0] = 1, nr.selected[1] = 2, nr.hidden_size = a->cfg.hidden_size;
    for (int i = 0; i < 2 * a->cfg.intermediate_size; i++) nr.owner[i] = i % 3 ? -1 : 0;
    const char *dirs[] = {"de-en"};
    PackSpec spec = {.mode = mode, .neurons = &nr, .dirs = dirs, .n_dir = 1, .routing = 1, .scale = 2.0f,
                     .lora = {4, 8.0f, NULL, 0, 0, 7}};
    AdamWHyper h = {0.9, 0.95, 1e-8, 0.1};
    Schedule s = {SCHED_CONSTANT, 1e-2, 1e-2, 0, 5};
    int tok[B * T], tgt[B * T];
    float w[B * T];
    batch(tok, tgt, w);
    Batch bt = {tok, tgt, w, B, T};
    Trainer tr[2];
    Model *ms[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        CHECK(trainer_init(&tr[k], ms[k], B, T, &h, &s, 1.0, &spec, NULL) == LM_OK, "%s: trainer", what);
        for (int i = 0; i < 5; i++) {
            StepStats st;
            trainer_step(&tr[k], &bt, NULL, 1, &st);
        }
    }
    CHECK(tr[0].pack.n == tr[1].pack.n && !memcmp(tr[0].pack.param, tr[1].pack.param, tr[0].pack.n * 4),
          "%s: %s training differs", what, mode);
    size_t f32, half, matrices = 0;
    model_storage_bytes(b, &f32, &half);
    for (int i = 0; i < b->n_tensors; i++) matrices += b->tensors[i].ndim == 2 ? b->tensors[i].numel * 2 : 0;
    CHECK(half == matrices, "%s: %s training made float32 copies (%zu of %zu matrix bytes still 16-bit)",
          what, mode, half, matrices);
    trainer_free(&tr[0]), trainer_free(&tr[1]);
    neurons_free(&nr);
}

static void check_dtype(int bloom, DType dt, const char *what) {
    Model a, b;
    model_pair(&a, &b, bloom, dt);
    check_forward_backward(&a, &b, what);
    check_training(&a, &b, "landermt", what);
    check_training(&a, &b, "lora", what);
    model_free(&a), model_free(&b);
}

static void test_llama_bf16(void) { check_dtype(0, DTYPE_BF16, "llama bf16"); }
static void test_llama_f16(void) { check_dtype(0, DTYPE_F16, "llama f16"); }
static void test_bloom_bf16(void) { check_dtype(1, DTYPE_BF16, "bloom bf16"); }

int main(int argc, char **argv) {
    comm_init(&argc, &argv);
    RUN(test_llama_bf16);
    RUN(test_llama_f16);
    RUN(test_bloom_bf16);
    int rc = harness_finish();
    comm_finalize();
    return rc;
}
