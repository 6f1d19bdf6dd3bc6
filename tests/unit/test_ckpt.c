// Checkpoint files: bit-exact round trips, atomic replacement, and a clear
// error (never a crash) for every kind of bad file.
//
//   test_ckpt                                  run the tests
//   test_ckpt --write-only PATH [--tied] [--tokenizer FILE]
//                                              write one checkpoint for
//                                              tests/cli/ckpt_h5py.sh
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "harness.h"
#include "io/ckpt.h"
#include "io/h5.h"
#include "model/model.h"
#include "util/alloc.h"
#include "util/rng.h"

// ------------------------------------------------------------ helpers

static ModelConfig tiny_config(int tied, int bias) {
    ModelConfig c = {.architecture = ARCH_LLAMA, .vocab_size = 37, .hidden_size = 16,
                     .intermediate_size = 24, .num_hidden_layers = 2,
                     .num_attention_heads = 4, .num_key_value_heads = 2,
                     .max_position_embeddings = 64, .norm_eps = 1e-5f,
                     .rope_theta = 10000.0f, .tie_word_embeddings = tied,
                     .attention_bias = bias};
    model_config_finish(&c);
    return c;
}

static void random_model(Model *m, const ModelConfig *cfg, uint64_t seed) {
    model_init(m, cfg);
    model_init_random(m, seed, 0.02f);
}

// A full training state with moments, metrics and a NaN "not evaluated".
static void random_train_state(TrainState *ts, const Model *m, uint64_t seed) {
    Rng r;
    rng_seed(&r, seed);
    memset(ts, 0, sizeof *ts);
    *ts = (TrainState){.step = 123, .skipped_steps = 3, .n_hist = 5, .n_cursors = 2};
    static char *names[] = {"de-en", "en"};
    ts->cursor_names = xmalloc(sizeof names);
    memcpy(ts->cursor_names, names, sizeof names);
    ts->cursor_epoch = xmalloc(2 * sizeof(int64_t));
    ts->cursor_pos = xmalloc(2 * sizeof(int64_t));
    ts->cursor_epoch[0] = 2, ts->cursor_epoch[1] = 0;
    ts->cursor_pos[0] = 4567, ts->cursor_pos[1] = 12;
    ts->rng[0] = rng_next(&r);
    ts->rng[1] = rng_next(&r);
    ts->exp_avg = falloc(m->numel);
    ts->exp_avg_sq = falloc(m->numel);
    for (size_t i = 0; i < m->numel; i++) {
        ts->exp_avg[i] = rng_normal(&r);
        ts->exp_avg_sq[i] = fabsf(rng_normal(&r));
    }
    ts->hist_step = xmalloc(5 * sizeof(int64_t));
    ts->hist_loss = xmalloc(5 * sizeof(double));
    ts->hist_val = xmalloc(5 * sizeof(double));
    for (int i = 0; i < 5; i++) {
        ts->hist_step[i] = 10 * (i + 1);
        ts->hist_loss[i] = 5.0 - i * 0.123456789;
        ts->hist_val[i] = i % 2 ? NAN : 4.0 + i / 7.0;
    }
}


static void copy_file(const char *src, const char *dst, long max_bytes) {
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    char buf[65536];
    size_t n;
    long done = 0;
    while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0 &&
           (max_bytes < 0 || done < max_bytes)) {
        if (max_bytes >= 0 && done + (long)n > max_bytes) n = (size_t)(max_bytes - done);
        fwrite(buf, 1, n, out);
        done += (long)n;
    }
    if (in) fclose(in);
    if (out) fclose(out);
}

static long file_size(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static int tmp_files_left(void) {
    DIR *d = opendir(tmp_dir());
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += strstr(e->d_name, ".tmp.") != NULL;
    if (d) closedir(d);
    return n;
}

// Path kept in its own buffer: callers hold it across many tmp_file calls.
static const char *good_ckpt(const char *name, int tied) {
    static char path[1024];
    snprintf(path, sizeof path, "%s", tmp_file(name));
    ModelConfig cfg = tiny_config(tied, 0);
    Model m;
    random_model(&m, &cfg, 7);
    CHECK(ckpt_write(path, &m, NULL, NULL, NULL, NULL) == LM_OK, "writing %s", path);
    model_free(&m);
    return path;
}

// ckpt_read of `path` into a model of the tiny config must fail with
// LM_ERUNTIME and a message containing needle; returns the message.
static const char *expect_read_error(const char *path, int tied, const char *needle) {
    ModelConfig cfg = tiny_config(tied, 0);
    Model m;
    model_init(&m, &cfg);
    capture_begin();
    LmStatus st = ckpt_read(path, &m, NULL);
    const char *err = capture_end();
    model_free(&m);
    check_error(st, LM_ERUNTIME, err, needle);
    return err;
}

// Same for ckpt_read_config.
static const char *expect_config_error(const char *path, const char *needle) {
    ModelConfig cfg;
    capture_begin();
    LmStatus st = ckpt_read_config(path, &cfg);
    const char *err = capture_end();
    check_error(st, LM_ERUNTIME, err, needle);
    return err;
}

// ---------------------------------------------------------- round trip

static void check_train_equal(const TrainState *a, const TrainState *b, size_t numel) {
    CHECK(a->step == b->step && a->skipped_steps == b->skipped_steps, "counters differ");
    CHECK(a->n_cursors == b->n_cursors, "n_cursors %d vs %d", b->n_cursors, a->n_cursors);
    for (int i = 0; i < a->n_cursors && i < b->n_cursors; i++)
        CHECK(!strcmp(a->cursor_names[i], b->cursor_names[i]) &&
                  a->cursor_epoch[i] == b->cursor_epoch[i] && a->cursor_pos[i] == b->cursor_pos[i],
              "cursor %d differs", i);
    CHECK(!memcmp(a->rng, b->rng, sizeof a->rng), "rng differs");
    CHECK(a->n_hist == b->n_hist, "n_hist %d vs %d", b->n_hist, a->n_hist);
    size_t h = (size_t)a->n_hist;
    CHECK(!memcmp(a->hist_step, b->hist_step, h * 8), "hist_step differs");
    CHECK(!memcmp(a->hist_loss, b->hist_loss, h * 8), "hist_loss differs");
    CHECK(!memcmp(a->hist_val, b->hist_val, h * 8), "hist_val differs (NaN bits included)");
    CHECK(b->exp_avg && !memcmp(a->exp_avg, b->exp_avg, numel * 4), "exp_avg differs");
    CHECK(b->exp_avg_sq && !memcmp(a->exp_avg_sq, b->exp_avg_sq, numel * 4), "exp_avg_sq differs");
}

static void round_trip(int tied, int bias) {
    char name[64];
    snprintf(name, sizeof name, "rt_tied%d_bias%d.h5", tied, bias);
    const char *path = tmp_file(name);
    ModelConfig cfg = tiny_config(tied, bias), cfg2;
    Model m, m2;
    TrainState ts, ts2;
    random_model(&m, &cfg, 11 + (uint64_t)(2 * tied + bias));
    random_train_state(&ts, &m, 5);
    CHECK(ckpt_write(path, &m, "train:\n  steps: 10\n", &ts, NULL, NULL) == LM_OK, "write %s", name);
    CHECK(ckpt_read_config(path, &cfg2) == LM_OK, "read config %s", name);
    CHECK(!memcmp(&cfg, &cfg2, sizeof cfg), "config differs after round trip (%s)", name);
    model_init(&m2, &cfg2);
    CHECK(ckpt_read(path, &m2, &ts2) == LM_OK, "read %s", name);
    CHECK(m2.numel == m.numel && !memcmp(m.data, m2.data, m.numel * 4), "params differ (%s)", name);
    check_train_equal(&ts, &ts2, m.numel);
    CHECK(tmp_files_left() == 0, "temporary files left behind");
    train_state_free(&ts);
    train_state_free(&ts2);
    model_free(&m);
    model_free(&m2);
}

static void test_round_trip(void) {
    for (int tied = 0; tied < 2; tied++)
        for (int bias = 0; bias < 2; bias++) round_trip(tied, bias);
}

// Model-only files; moments may be absent from a training state.
static void test_model_only_and_optional_moments(void) {
    const char *path = tmp_file("model_only.h5");
    ModelConfig cfg = tiny_config(0, 1);
    Model m, m2;
    TrainState ts, ts2;
    random_model(&m, &cfg, 3);
    model_init(&m2, &cfg);
    CHECK(ckpt_write(path, &m, NULL, NULL, NULL, NULL) == LM_OK, "write model-only");
    CHECK(ckpt_read(path, &m2, NULL) == LM_OK, "read model-only");
    CHECK(!memcmp(m.data, m2.data, m.numel * 4), "params differ");
    capture_begin();
    LmStatus st = ckpt_read(path, &m2, &ts2);
    check_error(st, LM_ERUNTIME, capture_end(), "/train");
    random_train_state(&ts, &m, 1);
    free(ts.exp_avg);
    free(ts.exp_avg_sq);
    ts.exp_avg = ts.exp_avg_sq = NULL;
    CHECK(ckpt_write(path, &m, NULL, &ts, NULL, NULL) == LM_OK, "write without moments");
    CHECK(ckpt_read(path, &m2, &ts2) == LM_OK, "read without moments");
    CHECK(ts2.exp_avg == NULL && ts2.exp_avg_sq == NULL && ts2.step == 123, "moments appeared");
    train_state_free(&ts);
    train_state_free(&ts2);
    model_free(&m);
    model_free(&m2);
}

static void write_tokenizer_source(const char *path) {
    char tmp[1100];
    hid_t f, g;
    CHECK(h5_create_tmp(path, tmp, sizeof tmp, &f) == LM_OK, "create %s", path);
    h5_attr_write_str(f, "format", "landermt.corpus");
    h5_attr_write_i64(f, "format_version", 1);
    h5_ensure_group(f, "tokenizer", &g);
    h5_attr_write_str(g, "type", "bytes");
    h5_attr_write_i64(g, "vocab_size", 259);
    H5Gclose(g);
    CHECK(h5_commit(f, tmp, path) == LM_OK, "commit %s", path);
}

static void test_tokenizer_copy(void) {
    const char *src = tmp_file("tok_src.h5"), *path = tmp_file("with_tok.h5");
    write_tokenizer_source(src);
    ModelConfig cfg = tiny_config(1, 0);
    Model m;
    random_model(&m, &cfg, 1);
    CHECK(ckpt_write(path, &m, "a: 1\n", NULL, src, NULL) == LM_OK, "write with tokenizer");
    hid_t f;
    int version;
    char *type = NULL, *yaml = NULL;
    int64_t vocab = 0;
    CHECK(h5_open_format(path, CKPT_FORMAT, CKPT_VERSION, &f, &version) == LM_OK, "open");
    hid_t g = H5Gopen2(f, "tokenizer", H5P_DEFAULT);
    CHECK(h5_attr_read_str(g, "type", &type, "t") == LM_OK && !strcmp(type, "bytes"), "type");
    CHECK(h5_attr_read_i64(g, "vocab_size", &vocab, "t") == LM_OK && vocab == 259, "vocab");
    CHECK(h5_attr_read_str(f, "config_yaml", &yaml, "t") == LM_OK && !strcmp(yaml, "a: 1\n"), "yaml");
    H5Gclose(g);
    H5Fclose(f);
    free(type);
    free(yaml);
    model_free(&m);
}

// -------------------------------------------------------- atomicity

static void test_failed_write_keeps_old_file(void) {
    const char *path = tmp_file("atomic.h5");
    ModelConfig cfg = tiny_config(0, 0);
    Model a, b, r;
    random_model(&a, &cfg, 100);
    random_model(&b, &cfg, 200);
    model_init(&r, &cfg);
    CHECK(ckpt_write(path, &a, NULL, NULL, NULL, NULL) == LM_OK, "write A");
    // Failure after all parameters were written: the tokenizer source is missing.
    capture_begin();
    LmStatus st = ckpt_write(path, &b, NULL, NULL, "/nonexistent/corpus.h5", NULL);
    check_error(st, LM_ERUNTIME, capture_end(), "/nonexistent/corpus.h5");
    // Failure midway through /params: a NaN in the last tensor.
    b.data[b.numel - 1] = NAN;
    capture_begin();
    st = ckpt_write(path, &b, NULL, NULL, NULL, NULL);
    check_error(st, LM_ERUNTIME, capture_end(), "lm_head.weight");
    CHECK(ckpt_read(path, &r, NULL) == LM_OK, "A still loads");
    CHECK(!memcmp(a.data, r.data, a.numel * 4), "A was modified by a failed write");
    CHECK(tmp_files_left() == 0, "temporary files left behind after failed writes");
    capture_begin();
    st = ckpt_write("/nonexistent-dir/x.h5", &a, NULL, NULL, NULL, NULL);
    check_error(st, LM_ERUNTIME, capture_end(), "/nonexistent-dir/x.h5");
    model_free(&a);
    model_free(&b);
    model_free(&r);
}

// ------------------------------------------------------------ bad files

static void test_unreadable_files(void) {
    const char *err, *good = good_ckpt("good.h5", 0);
    err = expect_config_error(tmp_file("missing.h5"), "no such file");
    CHECK(strstr(err, "missing.h5") != NULL, "file not named: %s", err);
    const char *empty = tmp_file("empty.h5");
    fclose(fopen(empty, "w"));
    err = expect_config_error(empty, "empty");
    const char *text = tmp_file("text.h5");
    FILE *f = fopen(text, "w");
    fputs("not hdf5 at all\n", f);
    fclose(f);
    err = expect_config_error(text, "not an HDF5 file");
    const char *half = tmp_file("half.h5");
    copy_file(good, half, file_size(good) / 2);
    err = expect_config_error(half, "truncated");
    err = expect_read_error(half, 0, "half.h5");
    err = expect_config_error(tmp_dir(), "directory");
}

// A copy of a good checkpoint opened for in-place damage by the test.
static hid_t damaged_copy(const char *name, const char **path) {
    *path = tmp_file(name);
    copy_file(good_ckpt("good.h5", 0), *path, -1);
    return H5Fopen(*path, H5F_ACC_RDWR, H5P_DEFAULT);
}

static void test_wrong_format(void) {
    const char *path;
    hid_t f = damaged_copy("noformat.h5", &path);
    H5Adelete(f, "format");
    H5Fclose(f);
    expect_config_error(path, "'format' is missing");
    f = damaged_copy("otherformat.h5", &path);
    h5_attr_write_str(f, "format", "landermt.corpus");
    H5Fclose(f);
    expect_config_error(path, "\"landermt.corpus\"");
    f = damaged_copy("newer.h5", &path);
    h5_attr_write_i64(f, "format_version", CKPT_VERSION + 1);
    H5Fclose(f);
    expect_config_error(path, "format_version 3");
    f = damaged_copy("strversion.h5", &path);
    h5_attr_write_str(f, "format_version", "1");
    H5Fclose(f);
    expect_config_error(path, "format_version");
}

// A copy of the good checkpoint with one /config attribute rewritten
// (exactly one of str / i64 / f64 is used), which must be refused naming needle.
static void bad_config_attr(const char *file, const char *attr, const char *str, int64_t i64,
                            double f64, int kind, const char *needle) {
    const char *path;
    hid_t f = damaged_copy(file, &path), g = H5Gopen2(f, "config", H5P_DEFAULT);
    if (kind == 0) h5_attr_write_str(g, attr, str);
    else if (kind == 1) h5_attr_write_i64(g, attr, i64);
    else h5_attr_write_f64(g, attr, f64);
    H5Gclose(g);
    H5Fclose(f);
    expect_config_error(path, needle);
}

static void test_bad_config(void) {
    const char *path, *err;
    hid_t f = damaged_copy("nohidden.h5", &path);
    H5Adelete_by_name(f, "config", "hidden_size", H5P_DEFAULT);
    H5Fclose(f);
    err = expect_config_error(path, "hidden_size");
    CHECK(strstr(err, "nohidden.h5") != NULL, "file not named: %s", err);
    bad_config_attr("gpt2.h5", "architecture", "gpt2", 0, 0, 0, "architecture = \"gpt2\"");
    bad_config_attr("neglayers.h5", "num_hidden_layers", NULL, -3, 0, 1, "num_hidden_layers = -3");
    bad_config_attr("infeps.h5", "rms_norm_eps", NULL, 0, 1e300, 2, "rms_norm_eps = 1e+300");
    bad_config_attr("badheads.h5", "num_attention_heads", NULL, 5, 0, 1, "num_attention_heads");
}

static void put_f32(hid_t f, const char *name, int ndim, const int64_t *shape) {
    float zeros[64] = {0};
    CHECK(h5_write(f, name, H5T_F32, zeros, ndim, shape) == LM_OK, "put %s", name);
}

// Every problem is reported, not only the first.
static void test_bad_tensors(void) {
    const char *path, *err;
    hid_t f = damaged_copy("tensors.h5", &path);
    H5Ldelete(f, "/params/model.norm.weight", H5P_DEFAULT);
    put_f32(f, "/params/model.norm.weight", 1, (int64_t[]){15});
    H5Ldelete(f, "/params/model.layers.1.mlp.up_proj.weight", H5P_DEFAULT);
    H5Ldelete(f, "/params/model.layers.0.self_attn.k_proj.weight", H5P_DEFAULT);
    put_f32(f, "/params/model.layers.0.self_attn.k_proj.weight", 2, (int64_t[]){2, 16});
    put_f32(f, "/params/extra.weight", 1, (int64_t[]){4});
    H5Fclose(f);
    err = expect_read_error(path, 0, "dataset /params/model.norm.weight has shape [15], expected [16]");
    CHECK(strstr(err, "/params/model.layers.1.mlp.up_proj.weight is missing"), "missing: %s", err);
    CHECK(strstr(err, "k_proj.weight has shape [2, 16], expected [8, 16]"), "k_proj: %s", err);
    CHECK(strstr(err, "unexpected tensor /params/extra.weight"), "extra: %s", err);
    CHECK(strstr(err, "4 tensor problem(s)"), "count: %s", err);
    CHECK(strstr(err, "tensors.h5"), "file not named: %s", err);
    // A tied model reading an untied checkpoint: lm_head is unexpected.
    err = expect_read_error(good_ckpt("good.h5", 0), 1, "unexpected tensor /params/lm_head.weight");
    f = damaged_copy("inttensor.h5", &path);
    H5Ldelete(f, "/params/model.norm.weight", H5P_DEFAULT);
    int32_t ints[16] = {0};
    h5_write(f, "/params/model.norm.weight", H5T_I32, ints, 1, (int64_t[]){16});
    H5Fclose(f);
    err = expect_read_error(path, 0, "holds integer data");
}

static void test_nonfinite_refused(void) {
    const char *path;
    hid_t f = damaged_copy("nan.h5", &path);
    hid_t d = H5Dopen2(f, "/params/model.layers.1.mlp.up_proj.weight", H5P_DEFAULT);
    float *x = xmalloc(24 * 16 * sizeof(float));
    H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x);
    x[37] = INFINITY;
    H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x);
    H5Dclose(d);
    H5Fclose(f);
    free(x);
    expect_read_error(path, 0, "/params/model.layers.1.mlp.up_proj.weight[37] is inf");
}

// Flips bytes inside the stored data of one tensor: the Fletcher32
// checksum must turn silent corruption into an error.
static void test_corruption_detected(void) {
    const char *path, *err;
    hid_t f = damaged_copy("corrupt.h5", &path);
    hid_t d = H5Dopen2(f, "/params/model.embed_tokens.weight", H5P_DEFAULT);
    hsize_t off[2];
    unsigned mask;
    haddr_t addr = 0;
    hsize_t size = 0;
    hid_t space = H5Dget_space(d);
    CHECK(H5Dget_chunk_info(d, space, 0, off, &mask, &addr, &size) >= 0, "chunk info");
    H5Sclose(space);
    H5Dclose(d);
    H5Fclose(f);
    int fd = open(path, O_RDWR);
    unsigned char junk[4] = {0xde, 0xad, 0xbe, 0xef};
    CHECK(pwrite(fd, junk, 4, (off_t)(addr + size / 2)) == 4, "pwrite");
    close(fd);
    err = expect_read_error(path, 0, "model.embed_tokens.weight");
    CHECK(strstr(err, "damaged"), "no damage message: %s", err);
}

// ------------------------------------------------------------- h5py hook

// The checkpoint inspected by tests/cli/ckpt_h5py.py.
static int write_only(int argc, char **argv) {
    int tied = 0;
    const char *tok = NULL;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--tied")) tied = 1;
        else if (!strcmp(argv[i], "--tokenizer") && i + 1 < argc) tok = argv[++i];
    }
    ModelConfig cfg = {.architecture = ARCH_LLAMA, .vocab_size = 259, .hidden_size = 32,
                       .intermediate_size = 48, .num_hidden_layers = 2,
                       .num_attention_heads = 4, .num_key_value_heads = 2,
                       .max_position_embeddings = 128, .norm_eps = 1e-5f,
                       .rope_theta = 10000.0f, .tie_word_embeddings = tied,
                       .attention_bias = !tied};
    Model m;
    TrainState ts;
    random_model(&m, &cfg, 42);
    random_train_state(&ts, &m, 43);
    LmStatus st = ckpt_write(argv[2], &m, "model:\n  hidden_size: 32\n", &ts, tok, NULL);
    train_state_free(&ts);
    model_free(&m);
    if (st == LM_OK) printf("wrote %s\n", argv[2]);
    return st == LM_OK ? 0 : 1;
}

int main(int argc, char **argv) {
    h5_init();
    if (argc >= 3 && !strcmp(argv[1], "--write-only")) return write_only(argc, argv);
    RUN(test_round_trip);
    RUN(test_model_only_and_optional_moments);
    RUN(test_tokenizer_copy);
    RUN(test_failed_write_keeps_old_file);
    RUN(test_unreadable_files);
    RUN(test_wrong_format);
    RUN(test_bad_config);
    RUN(test_bad_tensors);
    RUN(test_nonfinite_refused);
    RUN(test_corruption_detected);
    check_hdf5_closed();
    return harness_finish();
}
