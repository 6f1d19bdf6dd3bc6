// Awareness and layer relevance against the PyTorch reference (per-sentence
// |h * dL_x/dh| and block means computed there with each sentence alone),
// and the same statistics from a batch with per-sentence weights.
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "harness.h"
#include "landermt/awareness.h"
#include "landermt/detect.h"
#include "mpi/comm.h"
#include "util/alloc.h"

// Scores rows [r0, r0+n) of the case as one batch of unit u.
static void score_rows(Case *c, Awareness *aw, int u, int r0, int n) {
    const ModelConfig *mc = &c->m.cfg;
    Acts a;
    acts_init(&a, mc, n, c->T);
    size_t off = (size_t)r0 * c->T, cnt = (size_t)n * c->T;
    float *w = xmalloc(sizeof(float) * cnt);
    memcpy(w, c->weight + off, sizeof(float) * cnt);
    detect_sentence_weights(w, n, c->T);
    int *len = xmalloc(sizeof(int) * (size_t)n);
    for (int r = 0; r < n; r++) len[r] = c->T;
    ModelWeights none;
    model_weights_none(&c->m, &none);
    aw->unit = u, aw->b = n, aw->t = c->T, aw->len = len;
    double ls, nt;
    model_forward(&c->m, &a, c->tokens + off, n, c->T);
    awareness_add_relevance(aw, &a);
    model_loss(&c->m, &a, c->targets + off, w, 1.0f, &ls, &nt);
    BackwardOpts o = {.ffn_hook = awareness_hook, .hook_ctx = aw};
    model_backward(&c->m, &a, c->tokens + off, &none, &o);
    model_weights_free(&none);
    free(len), free(w);
    acts_free(&a);
}

static void check_case(const char *name) {
    hid_t f = fixture_open();
    if (!f) return;
    Case c;
    case_open(&c, f, name);
    printf(" %s\n", name);
    int L = c.m.cfg.num_hidden_layers, F = c.m.cfg.intermediate_size, B = c.B;
    Awareness alone, batched;
    awareness_init(&alone, B, L, F);  // unit r = sentence r alone
    awareness_init(&batched, 1, L, F);
    for (int r = 0; r < B; r++) score_rows(&c, &alone, r, r, 1);
    score_rows(&c, &batched, 0, 0, B);
    int64_t ashape[3] = {B, L, F}, bshape[2] = {B, L};
    fixture_compare_f64("awareness per sentence", alone.phi, c.g, "expected/awareness",
                        (size_t)B * L * F, 3, ashape, 1e-4);
    fixture_compare_f64("block means per sentence", alone.act, c.g, "expected/block_mean",
                        (size_t)B * L, 2, bshape, 1e-5);
    double worst = 0, scale = 0;
    for (size_t i = 0; i < (size_t)L * F; i++) {
        double sum = 0;
        for (int r = 0; r < B; r++) sum += alone.phi[(size_t)r * L * F + i];
        worst = fmax(worst, fabs(sum - batched.phi[i]));
        scale = fmax(scale, fabs(sum));
    }
    CHECK(worst <= 1e-5 * scale, "batched awareness differs from the sum of single sentences: %g", worst);
    CHECK(batched.sentences[0] == B && alone.sentences[B - 1] == 1, "sentence counts");
    awareness_free(&alone), awareness_free(&batched);
    case_close(&c);
    H5Fclose(f);
}

static void test_gqa(void) { check_case("case_gqa"); }
static void test_tied(void) { check_case("case_tied"); }

static void test_sentence_weights(void) {
    float w[2 * 4] = {0, 1, 1, 0, 0.5f, 2, 0, 1};
    detect_sentence_weights(w, 2, 4);
    const float want[8] = {0, 0.5f, 0.5f, 0, 1.0f / 3, 1.0f / 3, 0, 1.0f / 3};
    CHECK(!memcmp(w, want, sizeof w), "weights %g %g %g / %g %g %g", w[1], w[2], w[3], w[4], w[5], w[7]);
}

int main(int argc, char **argv) {
    comm_init(&argc, &argv);
    h5_init();
    RUN(test_sentence_weights);
    RUN(test_gqa);
    RUN(test_tied);
    int rc = harness_finish();
    comm_finalize();
    return rc;
}
