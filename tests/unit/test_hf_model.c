// Hugging Face model directories as model sources: every family in F32,
// BF16 and F16, single file and sharded (written by init_run, the code of
// `landermt init`), BLOOM with and without "transformer.", export round
// trips (bit-identical tensors, identical logits), the LANDeRMT sidecar,
// and a clear error for every kind of bad directory.
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "harness.h"
#include "util/alloc.h"
#include "util/half.h"
#include "io/files.h"
#include "io/hf_config.h"
#include "io/hf_dir.h"
#include "io/model_source.h"
#include "train/export.h"

#define SEED 11
#define STD 0.05f

static const char *const FAMILIES[][2] = {
    {"llama", "{\"model_type\": \"llama\", \"vocab_size\": 40, \"hidden_size\": 16, \"intermediate_size\": 24,"
              " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 2,"
              " \"max_position_embeddings\": 64, \"rms_norm_eps\": 1e-05, \"bos_token_id\": 1}"},
    {"llama31", "{\"model_type\": \"llama\", \"vocab_size\": 40, \"hidden_size\": 16, \"intermediate_size\": 24,"
                " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 1, \"head_dim\": 8,"
                " \"attention_bias\": true, \"rope_theta\": 500000.0, \"max_position_embeddings\": 64,"
                " \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0,"
                " \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 16}}"},
    {"mistral", "{\"model_type\": \"mistral\", \"vocab_size\": 40, \"hidden_size\": 16, \"intermediate_size\": 24,"
                " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 2,"
                " \"sliding_window\": 5, \"max_position_embeddings\": 64}"},
    {"qwen2", "{\"model_type\": \"qwen2\", \"vocab_size\": 40, \"hidden_size\": 16, \"intermediate_size\": 24,"
              " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 2,"
              " \"tie_word_embeddings\": true, \"rope_theta\": 1000000.0, \"max_position_embeddings\": 64}"},
    {"bloom", "{\"model_type\": \"bloom\", \"vocab_size\": 40, \"hidden_size\": 24, \"n_layer\": 2, \"n_head\": 3,"
              " \"layer_norm_epsilon\": 1e-05, \"seq_length\": 64}"},
};
enum { N_FAMILIES = sizeof FAMILIES / sizeof *FAMILIES, BLOOM = N_FAMILIES - 1 };

static void text_to(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

// The whole file as a string (NULL if unreadable).
static char *text_of(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = calloc((size_t)n + 1, 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) buf[0] = '\0';
    fclose(f);
    return buf;
}

// `landermt init` of family f into dir.
static LmStatus init_dir(const char *dir, int f, const char *dtype, const char *shard) {
    Config c;
    config_defaults(&c);
    c.train.seed = SEED, c.model.init_std = STD;
    snprintf(c.export.dtype, sizeof c.export.dtype, "%s", dtype);
    snprintf(c.export.max_shard_size, sizeof c.export.max_shard_size, "%s", shard);
    const char *json = tmp_file("family.json");
    text_to(json, FAMILIES[f][1]);
    return init_run(&c, json, dir);
}

static float rounded(float x, StDtype d) {
    return d == ST_F32 ? x : d == ST_BF16 ? half_bf16_to_f32(half_f32_to_bf16(x)) : half_f16_to_f32(half_f32_to_f16(x));
}

// The directory holds model_init_random(SEED, STD) rounded to dtype d.
// Every parameter value in tensor order, float32 (the model may keep its
// matrices in a 16-bit mapping; m->data exists only after model_init).
static float *values(const Model *m) {
    float *v = falloc(m->numel);
    for (int i = 0; i < m->n_tensors; i++)
        model_tensor_read(m, i, 0, m->tensors[i].numel, v + m->tensors[i].offset);
    return v;
}

// Two models hold the same values bit for bit.
static int same_values(const Model *a, const Model *b) {
    if (a->numel != b->numel) return 0;
    float *x = values(a), *y = values(b);
    int same = !memcmp(x, y, a->numel * 4);
    free(x), free(y);
    return same;
}

static void check_values(const char *dir, StDtype d, const char *what) {
    Model a, b;
    if (model_source_read(dir, &a) != LM_OK) {
        CHECK(0, "%s: %s does not load", what, dir);
        return;
    }
    model_init(&b, &a.cfg);
    model_init_random(&b, SEED, STD);
    size_t bad = 0;
    float *got = values(&a);
    for (size_t i = 0; i < a.numel; i++) {
        float want = rounded(b.data[i], d);
        bad += memcmp(&got[i], &want, 4) != 0;
    }
    free(got);
    CHECK(bad == 0, "%s: %zu of %zu values differ from the random init", what, bad, a.numel);
    model_free(&a), model_free(&b);
}

static void test_every_family_dtype_layout(void) {
    static const char *const dtypes[] = {"float32", "bfloat16", "float16"};
    for (int f = 0; f < N_FAMILIES; f++)
        for (int d = 0; d < 3; d++)
            for (int sharded = 0; sharded < 2; sharded++) {
                char name[64], what[96];
                snprintf(name, sizeof name, "%s_%s_%d", FAMILIES[f][0], dtypes[d], sharded);
                snprintf(what, sizeof what, "%s %s %s", FAMILIES[f][0], dtypes[d], sharded ? "sharded" : "single");
                const char *dir = tmp_file(name);
                CHECK(init_dir(dir, f, dtypes[d], sharded ? "2KB" : "5GB") == LM_OK, "init %s", what);
                char idx[1200];
                snprintf(idx, sizeof idx, "%s/%s", dir, HF_INDEX_FILE);
                CHECK((access(idx, F_OK) == 0) == sharded, "%s: index %s", what, sharded ? "missing" : "present");
                check_values(dir, (StDtype)st_dtype_from_torch(dtypes[d]), what);
            }
}

// ------------------------------------------------------ directories by hand

typedef struct {
    char name[128];
    int ndim;
    int64_t shape[2];
    const float *data;
} T;

static int model_tensors(const Model *m, T *t) {
    for (int i = 0; i < m->n_tensors; i++) {
        const TensorInfo *ti = &m->tensors[i];
        t[i] = (T){.ndim = ti->ndim, .shape = {ti->shape[0], ti->shape[1]}, .data = m->data + ti->offset};
        snprintf(t[i].name, sizeof t[i].name, "%s", ti->name);
    }
    return m->n_tensors;
}

// dir/config.json and dir/model.safetensors holding t[0..n).
static void dir_write(const char *dir, const char *config, const T *t, int n) {
    mkdir(dir, 0755);
    char p[1200];
    snprintf(p, sizeof p, "%s/config.json", dir);
    text_to(p, config);
    StSpec *spec = calloc((size_t)n, sizeof *spec);
    for (int i = 0; i < n; i++) spec[i] = (StSpec){t[i].name, t[i].ndim, {t[i].shape[0], t[i].shape[1]}};
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    StWriter w;
    LmStatus st = st_writer_open(&w, p, ST_F32, spec, n, NULL, 0);
    for (int i = 0; st == LM_OK && i < n; i++)
        st = st_writer_put(&w, t[i].data, (size_t)t[i].shape[0] * (size_t)(t[i].ndim == 2 ? t[i].shape[1] : 1));
    CHECK(st == LM_OK && st_writer_commit(&w) == LM_OK, "writing %s", p);
    free(spec);
}

static void random_model(Model *m, int f) {
    ModelConfig c;
    hf_config_parse(FAMILIES[f][1], strlen(FAMILIES[f][1]), "test", &c);
    model_init(m, &c);
    model_init_random(m, SEED, STD);
}

static void expect_load_error(const char *dir, LmStatus want, const char *needle) {
    Model m;
    capture_begin();
    LmStatus st = model_source_read(dir, &m);
    const char *err = capture_end();
    check_error(st, want, err, needle);
}

static void test_bloom_prefix(void) {
    Model m;
    random_model(&m, BLOOM);
    T *t = calloc((size_t)m.n_tensors + 2, sizeof *t);
    int n = model_tensors(&m, t);
    for (int i = 0; i < n; i++) memmove(t[i].name, t[i].name + 12, strlen(t[i].name) - 11);  // drop "transformer."
    const char *dir = tmp_file("bloom_noprefix");
    dir_write(dir, FAMILIES[BLOOM][1], t, n);
    Model a;
    CHECK(model_source_read(dir, &a) == LM_OK && same_values(&a, &m),
          "BLOOM without the transformer. prefix loads the same values");
    if (a.tensors) model_free(&a);
    char first[100];
    snprintf(first, sizeof first, "%.99s", t[0].name);
    snprintf(t[n].name, sizeof t[n].name, "transformer.%s", first);  // both forms of one tensor
    t[n].ndim = t[0].ndim, t[n].shape[0] = t[0].shape[0], t[n].shape[1] = t[0].shape[1], t[n].data = t[0].data;
    dir = tmp_file("bloom_both");
    dir_write(dir, FAMILIES[BLOOM][1], t, n + 1);
    expect_load_error(dir, LM_ERUNTIME, "tensor transformer.word_embeddings.weight is stored both with and without");
    free(t);
    model_free(&m);
}

static void test_tensor_problems_listed(void) {
    Model m;
    random_model(&m, 0);
    T *t = calloc((size_t)m.n_tensors + 4, sizeof *t);
    int n = model_tensors(&m, t);
    float extra[64] = {0};
    t[1] = t[--n];  // drops model.layers.0.input_layernorm.weight
    t[n++] = (T){"model.layers.0.mlp.extra.weight", 1, {4, 0}, extra};
    t[n++] = (T){"model.layers.0.self_attn.rotary_emb.inv_freq", 1, {4, 0}, extra};  // ignored buffer
    for (int i = 0; i < n; i++)
        if (!strcmp(t[i].name, "model.norm.weight")) t[i].shape[0] = 15;
    const char *dir = tmp_file("problems");
    dir_write(dir, FAMILIES[0][1], t, n);
    Model a;
    capture_begin();
    LmStatus st = model_source_read(dir, &a);
    const char *err = capture_end();
    check_error(st, LM_ERUNTIME, err, "tensor model.layers.0.input_layernorm.weight is missing");
    check_error(st, LM_ERUNTIME, err, "unexpected tensor model.layers.0.mlp.extra.weight");
    check_error(st, LM_ERUNTIME, err, "tensor model.norm.weight has shape [15], config.json needs [16]");
    check_error(st, LM_ERUNTIME, err, "3 tensor problem(s)");
    CHECK(!strstr(err, "rotary_emb"), "rotary buffers are ignored: %s", err);
    free(t);
    model_free(&m);
}

static void test_tied_head(void) {
    Model m;
    random_model(&m, 3);  // qwen2, tied
    T *t = calloc((size_t)m.n_tensors + 2, sizeof *t);
    int n = model_tensors(&m, t);
    t[n] = t[0];
    snprintf(t[n].name, sizeof t[n].name, "lm_head.weight");
    const char *dir = tmp_file("tied_copy");
    dir_write(dir, FAMILIES[3][1], t, n + 1);
    Model a;
    CHECK(model_source_read(dir, &a) == LM_OK, "a tied model may store a copy of the embedding");
    if (a.tensors) model_free(&a);
    float *other = malloc(m.tensors[0].numel * 4);
    memcpy(other, t[0].data, m.tensors[0].numel * 4);
    other[77] += 1.0f;
    t[n].data = other;
    dir = tmp_file("tied_differs");
    dir_write(dir, FAMILIES[3][1], t, n + 1);
    expect_load_error(dir, LM_ERUNTIME, "the stored lm_head.weight differs from the embedding matrix (first at element 77)");
    free(other), free(t);
    model_free(&m);
}

// Overwrites element k of tensor name in dir/model.safetensors (F32).
static void poke(const char *dir, const char *name, size_t k, uint32_t bits) {
    char p[1200];
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    StFile f;
    if (st_open(&f, p) != LM_OK) return;
    off_t at = (off_t)((const char *)st_find(&f, name)->data - (const char *)f.map) + (off_t)(4 * k);
    st_close(&f);
    int fd = open(p, O_WRONLY);
    CHECK(pwrite(fd, &bits, 4, at) == 4, "poke");
    close(fd);
}

// Replaces the first occurrence of from by to in a file.
static void edit(const char *path, const char *from, const char *to) {
    char *t = text_of(path), *at = t ? strstr(t, from) : NULL;
    CHECK(at != NULL, "%s holds %s", path, from);
    if (!at) return free(t);
    char *out = malloc(strlen(t) + strlen(to) + 1);
    sprintf(out, "%.*s%s%s", (int)(at - t), t, to, at + strlen(from));
    text_to(path, out);
    free(out), free(t);
}

static void test_bad_directories(void) {
    const char *dir = tmp_file("bad_nan");
    init_dir(dir, 0, "float32", "5GB");
    poke(dir, "model.layers.1.mlp.up_proj.weight", 5, 0x7FC00000u);
    expect_load_error(dir, LM_ERUNTIME, "tensor model.layers.1.mlp.up_proj.weight[5] is nan");
    dir = tmp_file("bad_noconfig");
    mkdir(dir, 0755);
    expect_load_error(dir, LM_ERUNTIME, "has no config.json");
    dir = tmp_file("bad_noweights");
    mkdir(dir, 0755);
    char p[1200];
    snprintf(p, sizeof p, "%s/config.json", dir);
    text_to(p, FAMILIES[0][1]);
    expect_load_error(dir, LM_ERUNTIME, "has neither model.safetensors nor model.safetensors.index.json");
    text_to(p, "{\"model_type\": \"gpt_neox\", \"vocab_size\": 4}");
    expect_load_error(dir, LM_EUSAGE, "model_type \"gpt_neox\" is not supported");
    text_to(p, "{\"model_type\": \"llama\"}");
    expect_load_error(dir, LM_ERUNTIME, "bad_noweights/config.json: required field \"vocab_size\" is missing");
    // a config.json that does not match the weights
    dir = tmp_file("bad_shape");
    init_dir(dir, 0, "float32", "5GB");
    snprintf(p, sizeof p, "%s/config.json", dir);
    edit(p, "\"vocab_size\": 40", "\"vocab_size\": 41");
    expect_load_error(dir, LM_ERUNTIME, "tensor model.embed_tokens.weight has shape [40, 16], config.json needs [41, 16]");
}

static const char *sharded_copy(const char *name) {
    const char *dir = tmp_file(name);
    CHECK(init_dir(dir, 0, "bfloat16", "3KB") == LM_OK, "init %s", name);
    return dir;
}

// Shards of a sharded directory (from its first shard's name).
static int n_shards(const char *dir) {
    char p[1200];
    int n = 0;
    snprintf(p, sizeof p, "%s/%s", dir, HF_INDEX_FILE);
    char *t = text_of(p), *at = t ? strstr(t, "-of-") : NULL;
    if (at) n = atoi(at + 4);
    free(t);
    return n;
}

// "tensor": "model-0000k-of-0000N.safetensors" as the index writes it.
static void index_entry(char *buf, size_t size, const char *tensor, int k, int n) {
    snprintf(buf, size, "\"%s\": \"model-%05d-of-%05d.safetensors\"", tensor, k, n);
}

static void test_bad_index(void) {
    char idx[1200], shard[1200], from[160], to[160];
    const char *dir = sharded_copy("idx_missing_shard");
    int n = n_shards(dir);
    CHECK(n > 3, "%d shards", n);
    snprintf(shard, sizeof shard, "%s/model-00002-of-%05d.safetensors", dir, n);
    unlink(shard);
    expect_load_error(dir, LM_ERUNTIME, "names shard model-00002-of-");
    expect_load_error(dir, LM_ERUNTIME, "which is missing");
    dir = sharded_copy("idx_wrong_shard");
    snprintf(idx, sizeof idx, "%s/%s", dir, HF_INDEX_FILE);
    index_entry(from, sizeof from, "model.embed_tokens.weight", 1, n);
    index_entry(to, sizeof to, "model.embed_tokens.weight", 3, n);
    edit(idx, from, to);
    expect_load_error(dir, LM_ERUNTIME, "tensor model.embed_tokens.weight is not in shard");
    expect_load_error(dir, LM_ERUNTIME, "tensor model.embed_tokens.weight is listed in another shard by the index");
    dir = sharded_copy("idx_unlisted");
    snprintf(idx, sizeof idx, "%s/%s", dir, HF_INDEX_FILE);
    strcat(from, ",");
    edit(idx, from, "");
    expect_load_error(dir, LM_ERUNTIME, "tensor model.embed_tokens.weight is not listed in the index");
    dir = sharded_copy("idx_missing_file");
    snprintf(idx, sizeof idx, "%s/%s", dir, HF_INDEX_FILE);
    index_entry(from, sizeof from, "model.norm.weight", n, n);
    edit(idx, from, "\"model.norm.weight\": \"model-00099-of-00099.safetensors\"");
    expect_load_error(dir, LM_ERUNTIME, "names shard model-00099-of-00099.safetensors (for tensor model.norm.weight), which is missing");
    dir = sharded_copy("idx_escape");
    snprintf(idx, sizeof idx, "%s/%s", dir, HF_INDEX_FILE);
    edit(idx, from, "\"model.norm.weight\": \"../x.safetensors\"");
    expect_load_error(dir, LM_ERUNTIME, "tensor model.norm.weight: the shard must be a file name in the directory");
    dir = sharded_copy("idx_broken");
    snprintf(idx, sizeof idx, "%s/%s", dir, HF_INDEX_FILE);
    edit(idx, "\"weight_map\": {", "\"weight_map\": {,");
    expect_load_error(dir, LM_ERUNTIME, "malformed JSON at line");
    dir = sharded_copy("idx_truncated_shard");
    snprintf(shard, sizeof shard, "%s/model-00003-of-%05d.safetensors", dir, n);
    CHECK(truncate(shard, 100) == 0, "truncate");
    expect_load_error(dir, LM_ERUNTIME, "goes beyond the end of the file (100 bytes)");
}

// ---------------------------------------------------------- round trips

static char c_shard[16] = "5GB";

static void export_to(const char *in, const char *out, const char *format, const char *dtype) {
    Config c;
    config_defaults(&c);
    snprintf(c.export.format, sizeof c.export.format, "%s", format);
    snprintf(c.export.dtype, sizeof c.export.dtype, "%s", dtype);
    snprintf(c.export.max_shard_size, sizeof c.export.max_shard_size, "%s", c_shard);
    CHECK(export_run(&c, in, out, NULL) == LM_OK, "export %s -> %s (%s, %s)", in, out, format, dtype);
}

// Export in the source dtype, sharded at size.
static void export_shards(const char *in, const char *out, const char *size) {
    snprintf(c_shard, sizeof c_shard, "%s", size);
    export_to(in, out, "hf", "source");
    snprintf(c_shard, sizeof c_shard, "5GB");
}

// Byte-for-byte equality of two files.
static int same_file(const char *a, const char *b) {
    size_t n = 0;
    struct stat sa, sb;
    if (stat(a, &sa) != 0 || stat(b, &sb) != 0) return 0;
    int same = sa.st_size == sb.st_size;
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    for (int ca, cb; same && fa && fb && (ca = fgetc(fa)) != EOF; n++) same = (cb = fgetc(fb)) == ca;
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same && n == (size_t)sa.st_size;
}

static void logits_of(const char *dir, float *out, size_t n) {
    Model m;
    if (model_source_read(dir, &m) != LM_OK) return;
    Acts a;
    int tok[6] = {1, 5, 9, 3, 30, 2};
    acts_init(&a, &m.cfg, 1, 6);
    model_forward(&m, &a, tok, 1, 6);
    memcpy(out, a.logits, n * sizeof(float));
    acts_free(&a);
    model_free(&m);
}

// import -> export float32 -> import: identical bytes, tensors and logits;
// through a landermt checkpoint and back to the source dtype too.
static void test_round_trips(void) {
    for (int f = 0; f < N_FAMILIES; f++) {
        char name[64], p1[1200], p2[1200];
        snprintf(name, sizeof name, "rt_%s", FAMILIES[f][0]);
        const char *src = tmp_file(name), *out = tmp_file("rt_out"), *h5 = tmp_file("rt.h5"),
                   *back = tmp_file("rt_back");
        init_dir(src, f, "float32", "5GB");
        export_to(src, out, "hf", "float32");
        Model a, b;
        CHECK(model_source_read(src, &a) == LM_OK && model_source_read(out, &b) == LM_OK &&
                  same_values(&a, &b), "%s: tensors bit-identical", name);
        if (a.tensors) model_free(&a);
        if (b.tensors) model_free(&b);
        float la[6 * 40], lb[6 * 40] = {1};
        logits_of(src, la, 6 * 40);
        logits_of(out, lb, 6 * 40);
        CHECK(!memcmp(la, lb, sizeof la), "%s: logits identical", name);
        export_to(src, h5, "hdf5", "float32");
        char *stored = NULL;
        ckpt_read_hf_config(h5, &stored);
        snprintf(p1, sizeof p1, "%s/config.json", src);
        char *orig = text_of(p1);
        CHECK(stored && orig && !strcmp(stored, orig), "%s: the checkpoint keeps config.json", name);
        free(stored), free(orig);
        export_to(h5, back, "hf", "source");
        for (int k = 0; k < 2; k++) {
            const char *file = k ? "model.safetensors" : "config.json";
            snprintf(p1, sizeof p1, "%s/%s", src, file);
            snprintf(p2, sizeof p2, "%s/%s", back, file);
            CHECK(same_file(p1, p2), "%s: %s identical after HF -> checkpoint -> HF", name, file);
        }
        char cmd[4096];
        snprintf(cmd, sizeof cmd, "rm -rf %s %s %s", out, back, h5);
        CHECK(system(cmd) == 0, "cleanup");
    }
    // bfloat16 -> checkpoint (float32) -> source dtype: the same bytes
    const char *src = tmp_file("rt_bf16"), *h5 = tmp_file("rt_bf16.h5"), *back = tmp_file("rt_bf16_back");
    init_dir(src, 0, "bfloat16", "3KB");
    export_to(src, h5, "hdf5", "float32");
    export_shards(h5, back, "3KB");
    char p1[1200], p2[1200];
    int n = n_shards(src);
    CHECK(n > 1 && n == n_shards(back), "%d shards, then %d", n, n_shards(back));
    for (int k = 1; k <= n; k++) {
        snprintf(p1, sizeof p1, "%s/model-%05d-of-%05d.safetensors", src, k, n);
        snprintf(p2, sizeof p2, "%s/model-%05d-of-%05d.safetensors", back, k, n);
        CHECK(same_file(p1, p2), "bfloat16 shard %d identical after a float32 checkpoint", k);
    }
    snprintf(p1, sizeof p1, "%s/%s", src, HF_INDEX_FILE);
    snprintf(p2, sizeof p2, "%s/%s", back, HF_INDEX_FILE);
    CHECK(same_file(p1, p2), "index identical");
    // export refuses to overwrite a directory
    capture_begin();
    Config c;
    config_defaults(&c);
    snprintf(c.export.format, sizeof c.export.format, "hf");
    LmStatus st = export_run(&c, h5, src, NULL);
    check_error(st, LM_EUSAGE, capture_end(), "already exists and is not empty");
}

// The source's tokenizer files travel byte for byte (binary ones too),
// through export and through init from a model directory.
static void test_tokenizer_files(void) {
    const char *src = tmp_file("tok_src"), *out = tmp_file("tok_out"), *again = tmp_file("tok_init");
    init_dir(src, 0, "float32", "5GB");
    char p[1200], q[1200];
    snprintf(p, sizeof p, "%s/tokenizer.json", src);
    text_to(p, "{\"model\": {\"type\": \"BPE\"}}\n");
    snprintf(p, sizeof p, "%s/tokenizer.model", src);
    FILE *f = fopen(p, "wb");
    for (int i = 0; i < 300; i++) fputc(i % 7 ? i & 255 : 0, f);  // NUL bytes: not text
    fclose(f);
    export_to(src, out, "hf", "float32");
    Config c;
    config_defaults(&c);
    CHECK(init_run(&c, src, again) == LM_OK, "init from a model directory");
    const char *names[] = {"tokenizer.json", "tokenizer.model"};
    for (int k = 0; k < 2; k++) {
        snprintf(p, sizeof p, "%s/%s", src, names[k]);
        snprintf(q, sizeof q, "%s/%s", out, names[k]);
        CHECK(same_file(p, q), "export copies %s", names[k]);
        snprintf(q, sizeof q, "%s/%s", again, names[k]);
        CHECK(same_file(p, q), "init copies %s", names[k]);
    }
    snprintf(q, sizeof q, "%s/special_tokens_map.json", out);
    CHECK(access(q, F_OK) != 0, "absent files are not invented");
}

// The /landermt state goes into the sidecar and comes back unchanged.
static void test_sidecar(void) {
    Model m;
    random_model(&m, 0);
    Neurons nr;
    neurons_init(&nr, 2, 2, 24, 1);
    snprintf(nr.unit_kind, sizeof nr.unit_kind, "direction");
    snprintf(nr.units[0], NEURONS_NAME, "en-de");
    snprintf(nr.units[1], NEURONS_NAME, "de-en");
    nr.selected[0] = 1;
    for (int i = 0; i < 24; i++) nr.owner[i] = i % 3 - 1;
    float gates[2 * 17];
    for (int i = 0; i < 34; i++) gates[i] = 0.01f * (float)i - 0.1f;
    const char *dirs[] = {"en-de", "de-en"};
    LandermtState lm = {&nr, 2, gates, 2.0, dirs};
    const char *h5 = tmp_file("side.h5"), *dir = tmp_file("side_hf");
    CHECK(ckpt_write_model(h5, &m, NULL, NULL, &lm, NULL) == LM_OK, "write");
    export_to(h5, dir, "hf", "float32");
    CkptLandermt a, b;
    CHECK(ckpt_read_landermt(h5, &m.cfg, &a) == LM_OK && model_source_read_landermt(dir, &m.cfg, &b) == LM_OK,
          "read both");
    CHECK(a.present && b.present && a.n_gates == 2 && b.n_gates == 2 && a.scale == b.scale &&
              !memcmp(a.gates, b.gates, sizeof gates) && !memcmp(a.neurons.owner, b.neurons.owner, 24 * sizeof(int)) &&
              b.neurons.selected[0] == 1 && !strcmp(b.gate_dirs[1], "de-en") &&
              !strcmp(b.neurons.unit_kind, "direction"), "sidecar = /landermt");
    ckpt_landermt_free(&a), ckpt_landermt_free(&b);
    const char *plain = tmp_file("rt_llama_plain");
    init_dir(plain, 0, "float32", "5GB");
    CHECK(model_source_read_landermt(plain, &m.cfg, &a) == LM_OK && !a.present, "no sidecar: a plain model");
    char side[1200];
    snprintf(side, sizeof side, "%s/%s", dir, LANDERMT_SIDECAR);
    truncate(side, 64);
    capture_begin();
    LmStatus st = model_source_read_landermt(dir, &m.cfg, &b);
    check_error(st, LM_ERUNTIME, capture_end(), LANDERMT_SIDECAR);
    neurons_free(&nr);
    model_free(&m);
}

int main(void) {
    RUN(test_every_family_dtype_layout);
    RUN(test_bloom_prefix);
    RUN(test_tensor_problems_listed);
    RUN(test_tied_head);
    RUN(test_bad_directories);
    RUN(test_bad_index);
    RUN(test_round_trips);
    RUN(test_tokenizer_files);
    RUN(test_sidecar);
    RUN(check_hdf5_closed);
    return harness_finish();
}
