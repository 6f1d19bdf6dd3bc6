// The Hugging Face directories written by the independent PyTorch reference
// (tests/reference/hf_ref.py -> tests/fixtures/hf/<case>/, hf_ref.h5) load
// through the model source: the configuration derived from each config.json
// is the one the fixture states, and the loaded model reproduces the
// reference logits and loss (float64 reference, float32 here).
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "harness.h"
#include "io/h5.h"
#include "io/model_source.h"
#include "util/alloc.h"

#define HF_FIXTURE "tests/fixtures/hf_ref.h5"

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

static void check_case(hid_t f, const char *name) {
    hid_t g = H5Gopen2(f, name, H5P_DEFAULT);
    char *dir = NULL, path[1200];
    h5_attr_read_str(g, "model_dir", &dir, HF_FIXTURE);
    snprintf(path, sizeof path, "%s", src_path("tests/fixtures"));
    snprintf(path + strlen(path), sizeof path - strlen(path), "/%s", dir ? dir : "?");
    free(dir);
    Model m;
    printf(" %s\n", name);
    if (model_source_read(path, &m) != LM_OK) {
        CHECK(0, "%s: %s does not load", name, path);
        H5Gclose(g);
        return;
    }
    check_config(g, &m.cfg, name);
    int64_t shape[2];
    h5_shape(g, "inputs/tokens", 2, shape, HF_FIXTURE);
    int B = (int)shape[0], T = (int)shape[1], V = m.cfg.vocab_size;
    int *tok = xmalloc(sizeof(int) * B * T), *tgt = xmalloc(sizeof(int) * B * T);
    float *w = xmalloc(sizeof(float) * B * T);
    h5_read(g, "inputs/tokens", H5T_I32, tok, 2, shape, HF_FIXTURE);
    h5_read(g, "inputs/targets", H5T_I32, tgt, 2, shape, HF_FIXTURE);
    h5_read(g, "inputs/weight", H5T_F32, w, 2, shape, HF_FIXTURE);
    Acts a;
    acts_init(&a, &m.cfg, B, T);
    model_forward(&m, &a, tok, B, T);
    int64_t lshape[3] = {B, T, V};
    fixture_compare("logits", a.logits, g, "expected/logits", (size_t)B * T * V, 3, lshape, 1e-4);
    double ref_loss, ref_n, ls, nt;
    h5_read(g, "expected/loss_sum", H5T_F64, &ref_loss, 0, NULL, HF_FIXTURE);
    h5_read(g, "expected/n_tokens", H5T_F64, &ref_n, 0, NULL, HF_FIXTURE);
    model_loss(&m, &a, tgt, w, 1.0f, &ls, &nt);
    CHECK_CLOSE(ls, ref_loss, 1e-5, 0, "loss_sum");
    CHECK(nt == ref_n, "n_tokens %g vs %g", nt, ref_n);
    acts_free(&a);
    free(tok), free(tgt), free(w);
    model_free(&m);
    H5Gclose(g);
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
