#include "fixture.h"

#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "util/alloc.h"

static const char *FIX = FIXTURE_PATH;

hid_t fixture_open(void) {
    hid_t f;
    int ver;
    if (h5_open_format(src_path(FIX), "landermt.fixture", 1, &f, &ver) == LM_OK) return f;
    CHECK(0, "cannot open the fixture %s", FIX);
    return 0;
}

int64_t fixture_attr_i(hid_t g, const char *n) {
    int64_t v = 0;
    h5_attr_read_i64(g, n, &v, FIX);
    return v;
}

double fixture_attr_f(hid_t g, const char *n) {
    double v = 0;
    h5_attr_read_f64(g, n, &v, FIX);
    return v;
}

void case_open(Case *c, hid_t file, const char *name) {
    memset(c, 0, sizeof *c);
    c->g = H5Gopen2(file, name, H5P_DEFAULT);
    ModelConfig cfg = {.architecture = ARCH_LLAMA};
    cfg.vocab_size = (int)fixture_attr_i(c->g, "vocab_size");
    cfg.hidden_size = (int)fixture_attr_i(c->g, "hidden_size");
    cfg.intermediate_size = (int)fixture_attr_i(c->g, "intermediate_size");
    cfg.num_hidden_layers = (int)fixture_attr_i(c->g, "num_hidden_layers");
    cfg.num_attention_heads = (int)fixture_attr_i(c->g, "num_attention_heads");
    cfg.num_key_value_heads = (int)fixture_attr_i(c->g, "num_key_value_heads");
    cfg.max_position_embeddings = (int)fixture_attr_i(c->g, "max_position_embeddings");
    cfg.tie_word_embeddings = (int)fixture_attr_i(c->g, "tie_word_embeddings");
    cfg.attention_bias = (int)fixture_attr_i(c->g, "attention_bias");
    cfg.norm_eps = (float)fixture_attr_f(c->g, "rms_norm_eps");
    cfg.rope_theta = (float)fixture_attr_f(c->g, "rope_theta");
    model_init(&c->m, &cfg);
    char path[160];
    for (int i = 0; i < c->m.n_tensors; i++) {
        const TensorInfo *t = &c->m.tensors[i];
        snprintf(path, sizeof path, "params/%s", t->name);
        CHECK(h5_read(c->g, path, H5T_F32, c->m.data + t->offset, t->ndim, t->shape, FIX) == LM_OK,
              "%s", path);
    }
    int64_t shape[2];
    h5_shape(c->g, "inputs/tokens", 2, shape, FIX);
    c->B = (int)shape[0], c->T = (int)shape[1];
    c->tokens = xmalloc(sizeof(int) * c->B * c->T);
    c->targets = xmalloc(sizeof(int) * c->B * c->T);
    c->weight = xmalloc(sizeof(float) * c->B * c->T);
    h5_read(c->g, "inputs/tokens", H5T_I32, c->tokens, 2, shape, FIX);
    h5_read(c->g, "inputs/targets", H5T_I32, c->targets, 2, shape, FIX);
    h5_read(c->g, "inputs/weight", H5T_F32, c->weight, 2, shape, FIX);
}

void case_close(Case *c) {
    free(c->tokens), free(c->targets), free(c->weight);
    model_free(&c->m);
    H5Gclose(c->g);
}


static void compare_ref(const char *what, const double *ref, const float *got32, const double *got64,
                        size_t n, double tol) {
    double maxref = 0, maxdiff = 0;
    for (size_t i = 0; i < n; i++) {
        double g = got32 ? got32[i] : got64[i];
        maxref = fmax(maxref, fabs(ref[i]));
        maxdiff = fmax(maxdiff, fabs(g - ref[i]));
    }
    printf("  %-58s max|diff| %.3e  max|ref| %.3e\n", what, maxdiff, maxref);
    CHECK(maxdiff <= tol * maxref, "%s: max diff %g > %g * %g", what, maxdiff, tol, maxref);
}

static void compare_any(const char *what, const float *got32, const double *got64, hid_t g,
                        const char *ds, size_t n, int ndim, const int64_t *shape, double tol) {
    double *ref = xmalloc(n * sizeof(double));
    CHECK(h5_read(g, ds, H5T_F64, ref, ndim, shape, FIX) == LM_OK, "read %s", ds);
    compare_ref(what, ref, got32, got64, n, tol);
    free(ref);
}

void fixture_compare(const char *what, const float *got, hid_t g, const char *ds, size_t n,
                     int ndim, const int64_t *shape, double tol) {
    compare_any(what, got, NULL, g, ds, n, ndim, shape, tol);
}

void fixture_compare_f64(const char *what, const double *got, hid_t g, const char *ds, size_t n,
                         int ndim, const int64_t *shape, double tol) {
    compare_any(what, NULL, got, g, ds, n, ndim, shape, tol);
}

void check_hdf5_closed(void) {
    ssize_t open_ids = H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL);
    CHECK(open_ids == 0, "%zd HDF5 objects left open", open_ids);
}
