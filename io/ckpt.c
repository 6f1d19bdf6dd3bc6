// Checkpoint files: layout in docs/formats.md. Writes are atomic (h5.c);
// reads validate everything before trusting it, and report every problem
// with the tensors at once so one run shows the whole mismatch.
#include "io/ckpt.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/h5.h"
#include "io/hf_config.h"
#include "util/alloc.h"

#define WHAT_LEN 1100
#ifndef LANDERMT_VERSION
#define LANDERMT_VERSION "unknown"
#endif

// ModelConfig fields stored as /config attributes, named as in HF
// config.json (the llama3 rope_scaling dictionary flattened to
// "rope_scaling.<key>"). Fields added in format_version 2 are optional on
// read (version 1 files predate them); llama-only fields are absent from
// bloom checkpoints. The epsilon's name depends on the family.
typedef enum { F_INT, F_BOOL, F_FLOAT } FieldKind;
enum { F_OPTIONAL = 1, F_LLAMA = 2 };
typedef struct {
    const char *name;
    size_t offset;
    FieldKind kind;
    int flags;
} ConfigField;

#define FIELD(f, k, fl) {#f, offsetof(ModelConfig, f), k, fl}
static const ConfigField CONFIG_FIELDS[] = {
    FIELD(vocab_size, F_INT, 0),
    FIELD(hidden_size, F_INT, 0),
    FIELD(intermediate_size, F_INT, 0),
    FIELD(num_hidden_layers, F_INT, 0),
    FIELD(num_attention_heads, F_INT, 0),
    FIELD(num_key_value_heads, F_INT, 0),
    FIELD(head_dim, F_INT, F_OPTIONAL),
    FIELD(max_position_embeddings, F_INT, 0),
    {"rms_norm_eps", offsetof(ModelConfig, norm_eps), F_FLOAT, F_LLAMA},
    {"layer_norm_epsilon", offsetof(ModelConfig, norm_eps), F_FLOAT, 0},
    FIELD(rope_theta, F_FLOAT, F_LLAMA),
    {"rope_scaling.factor", offsetof(ModelConfig, rope_factor), F_FLOAT, F_OPTIONAL | F_LLAMA},
    {"rope_scaling.low_freq_factor", offsetof(ModelConfig, rope_low_freq_factor), F_FLOAT,
     F_OPTIONAL | F_LLAMA},
    {"rope_scaling.high_freq_factor", offsetof(ModelConfig, rope_high_freq_factor), F_FLOAT,
     F_OPTIONAL | F_LLAMA},
    {"rope_scaling.original_max_position_embeddings",
     offsetof(ModelConfig, rope_original_max_position_embeddings), F_INT, F_OPTIONAL | F_LLAMA},
    FIELD(sliding_window, F_INT, F_OPTIONAL | F_LLAMA),
    FIELD(tie_word_embeddings, F_BOOL, 0),
    FIELD(attention_bias, F_BOOL, 0),
    FIELD(attention_out_bias, F_BOOL, F_OPTIONAL),
};
#undef FIELD
#define N_CONFIG_FIELDS (sizeof CONFIG_FIELDS / sizeof CONFIG_FIELDS[0])

// Whether field fd is stored for a model of this architecture.
static int field_applies(const ConfigField *fd, Architecture arch) {
    int eps_bloom = !strcmp(fd->name, "layer_norm_epsilon");
    if (arch == ARCH_BLOOM) return !(fd->flags & F_LLAMA);
    return !eps_bloom;
}

static const char *const ROPE_NAMES[] = {[ROPE_PLAIN] = "default", [ROPE_LLAMA3] = "llama3"};

static const char *const ARCH_NAMES[] = {[ARCH_LLAMA] = "llama", [ARCH_BLOOM] = "bloom"};

void train_state_free(TrainState *ts) {
    if (!ts) return;
    free(ts->exp_avg);
    free(ts->exp_avg_sq);
    free(ts->hist_step);
    free(ts->hist_loss);
    free(ts->hist_val);
    free(ts->cursor_names);
    free(ts->cursor_epoch);
    free(ts->cursor_pos);
    if (!ts->packed_borrow) free(ts->packed), free(ts->packed_m), free(ts->packed_v);
    memset(ts, 0, sizeof *ts);
}

static void what_init(char *what, const char *path) {
    snprintf(what, WHAT_LEN, "checkpoint %s", path);
}

// Absolute name of an open group ("/train/optimizer/exp_avg"), for messages.
static void group_name(hid_t g, char *buf, size_t n) {
    if (H5Iget_name(g, buf, n) < 0) snprintf(buf, n, "?");
}

static size_t first_nonfinite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return i;
    return n;
}

// Shortest decimal that rounds back to the same float, so /config reads
// 1e-05 (as in HF config.json) rather than 9.99999974738e-06, and still
// converts back to the identical float.
static double float_as_decimal(float f) {
    char buf[32];
    for (int p = 1; p < 10; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, (double)f);
        double d = strtod(buf, NULL);
        if ((float)d == f) return d;
    }
    return f;
}

// ---------------------------------------------------------------- write

static LmStatus config_write(hid_t f, const ModelConfig *c, const char *hf_config_json) {
    hid_t g;
    LM_TRY(h5_ensure_group(f, "config", &g));
    LmStatus st = h5_attr_write_str(g, "architecture", ARCH_NAMES[c->architecture]);
    if (st == LM_OK && hf_config_json) st = h5_attr_write_str(g, CKPT_HF_CONFIG_ATTR, hf_config_json);
    if (st == LM_OK) st = h5_attr_write_str(g, "model_type", c->model_type);
    if (st == LM_OK && c->architecture == ARCH_LLAMA)
        st = h5_attr_write_str(g, "rope_scaling.rope_type", ROPE_NAMES[c->rope_scaling]);
    for (size_t i = 0; st == LM_OK && i < N_CONFIG_FIELDS; i++) {
        const ConfigField *fd = &CONFIG_FIELDS[i];
        if (!field_applies(fd, c->architecture)) continue;
        const char *p = (const char *)c + fd->offset;
        if (fd->kind == F_FLOAT) st = h5_attr_write_f64(g, fd->name, float_as_decimal(*(const float *)p));
        else st = h5_attr_write_i64(g, fd->name, *(const int *)p);
    }
    H5Gclose(g);
    return st;
}

// One float32 dataset per tensor under `group`: from flat (laid out like
// the tensor table's offsets) or, flat = NULL, the model's own storage
// (16-bit tensors widened). Refuses non-finite values: no checkpoint may
// ever hold a NaN.
static LmStatus tensors_write(hid_t loc, const char *group, const Model *m, const float *flat) {
    hid_t g;
    LM_TRY(h5_ensure_group(loc, group, &g));
    LmStatus st = LM_OK;
    char gname[512];
    group_name(g, gname, sizeof gname);
    for (int i = 0; st == LM_OK && i < m->n_tensors; i++) {
        const TensorInfo *t = &m->tensors[i];
        float *wide = NULL;
        const float *x = flat ? flat + t->offset : model_tensor_f32(m, i);
        if (!x) model_tensor_read(m, i, 0, t->numel, wide = falloc(t->numel)), x = wide;
        size_t bad = first_nonfinite(x, t->numel);
        if (bad < t->numel) {
            lm_error("refusing to write a checkpoint: %s/%s[%zu] is %g", gname, t->name, bad,
                     (double)x[bad]);
            lm_hint("the values diverged; lower the learning rate or resume from an earlier checkpoint");
            st = LM_ERUNTIME;
        } else {
            st = h5_write(g, t->name, H5T_F32, x, t->ndim, t->shape);
        }
        free(wide);
    }
    H5Gclose(g);
    return st;
}

// uint64 identities as hex text: HDF5 attributes of h5py-friendly types.
static LmStatus attr_write_hex(hid_t g, const char *name, uint64_t v) {
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)v);
    return h5_attr_write_str(g, name, hex);
}

static LmStatus attr_read_hex(hid_t g, const char *name, uint64_t *v, const char *what) {
    char *hex;
    LM_TRY(h5_attr_read_str(g, name, &hex, what));
    *v = strtoull(hex, NULL, 16);
    free(hex);
    return LM_OK;
}

static LmStatus packed_write(hid_t g, const TrainState *ts) {
    int64_t n = ts->n_packed;
    LM_TRY(h5_write(g, "packed/param", H5T_F32, ts->packed, 1, &n));
    LM_TRY(h5_write(g, "packed/exp_avg", H5T_F32, ts->packed_m, 1, &n));
    LM_TRY(h5_write(g, "packed/exp_avg_sq", H5T_F32, ts->packed_v, 1, &n));
    LM_TRY(attr_write_hex(g, "layout_hash", ts->layout_hash));
    LM_TRY(attr_write_hex(g, "base_checksum", ts->base_checksum));
    return h5_attr_write_str(g, "base_path", ts->base_path);
}

static LmStatus train_write(hid_t f, const Model *m, const TrainState *ts, const char *config_text) {
    hid_t g;
    LM_TRY(h5_ensure_group(f, "train", &g));
    const struct { const char *name; int64_t v; } counters[] = {
        {"step", ts->step}, {"skipped_steps", ts->skipped_steps}};
    LmStatus st = LM_OK;
    for (size_t i = 0; st == LM_OK && i < sizeof counters / sizeof counters[0]; i++)
        st = h5_attr_write_i64(g, counters[i].name, counters[i].v);
    if (st == LM_OK && config_text) st = h5_attr_write_str(g, "config", config_text);
    if (st == LM_OK) st = h5_attr_write_str(g, "slurm_job_id", ts->slurm_job_id);
    if (st == LM_OK) st = h5_attr_write_i64(g, "restart_count", ts->restart_count);
    int64_t two = 2, n = ts->n_hist;
    if (st == LM_OK) st = h5_write(g, "rng", H5T_U64, ts->rng, 1, &two);
    if (st == LM_OK && ts->exp_avg) st = tensors_write(g, "optimizer/exp_avg", m, ts->exp_avg);
    if (st == LM_OK && ts->exp_avg_sq)
        st = tensors_write(g, "optimizer/exp_avg_sq", m, ts->exp_avg_sq);
    if (st == LM_OK) st = h5_write(g, "metrics/step", H5T_I64, ts->hist_step, 1, &n);
    if (st == LM_OK) st = h5_write(g, "metrics/loss", H5T_F64, ts->hist_loss, 1, &n);
    if (st == LM_OK) st = h5_write(g, "metrics/val_loss", H5T_F64, ts->hist_val, 1, &n);
    int64_t nc = ts->n_cursors;
    if (st == LM_OK)
        st = h5_write_strings(g, "cursors/stream", (const char *const *)ts->cursor_names, nc);
    if (st == LM_OK) st = h5_write(g, "cursors/epoch", H5T_I64, ts->cursor_epoch, 1, &nc);
    if (st == LM_OK) st = h5_write(g, "cursors/position", H5T_I64, ts->cursor_pos, 1, &nc);
    if (st == LM_OK && ts->n_packed) st = packed_write(g, ts);
    H5Gclose(g);
    return st;
}

// Copies /tokenizer from another landermt file (corpus or checkpoint), so
// a checkpoint alone is enough to tokenize and detokenize.
static LmStatus tokenizer_copy(hid_t f, const char *from) {
    if (!from) {
        hid_t g;
        LM_TRY(h5_ensure_group(f, "tokenizer", &g));
        LmStatus st = h5_attr_write_str(g, "type", "none");
        H5Gclose(g);
        return st;
    }
    char what[WHAT_LEN];
    snprintf(what, sizeof what, "tokenizer source %s", from);
    hid_t src;
    LM_TRY(h5_open(from, what, &src));
    LmStatus st = LM_OK;
    if (!h5_exists(src, "tokenizer")) {
        lm_error("%s: group /tokenizer is missing", what);
        st = LM_ERUNTIME;
    } else {
        st = h5_copy_group(src, "tokenizer", f, what);
    }
    H5Fclose(src);
    return st;
}

static LmStatus root_write(hid_t f, const char *config_text) {
    LM_TRY(h5_attr_write_str(f, "format", CKPT_FORMAT));
    LM_TRY(h5_attr_write_i64(f, "format_version", CKPT_VERSION));
    LM_TRY(h5_attr_write_str(f, "writer", "landermt " LANDERMT_VERSION));
    if (config_text) LM_TRY(h5_attr_write_str(f, "config_yaml", config_text));
    return LM_OK;
}

// /landermt: classes of the selected layers and the routing gates, one
// gates/layer_<l>/{weight (G,C), bias (G)} per selected layer.
LmStatus ckpt_landermt_write(hid_t f, const LandermtState *lm, int C) {
    hid_t g;
    LM_TRY(h5_ensure_group(f, "landermt", &g));
    const Neurons *n = lm->neurons;
    const char **units = xmalloc(sizeof(char *) * (size_t)(n->U + 1));
    for (int u = 0; u < n->U; u++) units[u] = n->units[u];
    int32_t *sel = xmalloc(sizeof(int32_t) * (size_t)(n->k + 1));
    for (int j = 0; j < n->k; j++) sel[j] = n->selected[j];
    int64_t U = n->U, k = n->k;
    LmStatus st = h5_write_strings(g, "units", units, U);
    if (st == LM_OK) st = h5_write(g, "selected", H5T_I32, sel, 1, &k);
    free(units), free(sel);
    if (st == LM_OK) st = neurons_write_classes(g, n);
    if (st == LM_OK) st = h5_attr_write_f64(g, "routing_scale", lm->scale);
    if (st == LM_OK) st = h5_attr_write_str(g, "unit", n->unit_kind);
    if (st == LM_OK && lm->gate_dirs) st = h5_write_strings(g, "gate_directions", lm->gate_dirs, lm->n_gates);
    float *w = xmalloc(sizeof(float) * (size_t)(lm->n_gates * C + 1));
    float *b = xmalloc(sizeof(float) * (size_t)(lm->n_gates + 1));
    for (int j = 0; st == LM_OK && j < n->k && lm->n_gates; j++) {
        for (int q = 0; q < lm->n_gates; q++) {
            const float *src = lm->gates + ((size_t)q * n->k + j) * (C + 1);
            memcpy(w + (size_t)q * C, src, sizeof(float) * (size_t)C);
            b[q] = src[C];
        }
        char name[96];
        int64_t wshape[2] = {lm->n_gates, C}, bshape = lm->n_gates;
        snprintf(name, sizeof name, "gates/layer_%d/weight", n->selected[j]);
        st = h5_write(g, name, H5T_F32, w, 2, wshape);
        snprintf(name, sizeof name, "gates/layer_%d/bias", n->selected[j]);
        if (st == LM_OK) st = h5_write(g, name, H5T_F32, b, 1, &bshape);
    }
    free(w), free(b);
    H5Gclose(g);
    return st;
}

static LmStatus write_file(const char *path, const Model *m, const char *config_text,
                           const TrainState *ts, const char *tokenizer_from, const LandermtState *lm,
                           const char *hf_config_json) {
    size_t tmp_size = strlen(path) + 32;
    char *tmp = xmalloc(tmp_size);
    hid_t f;
    LmStatus st = h5_create_tmp(path, tmp, tmp_size, &f);
    if (st == LM_OK) {
        st = root_write(f, config_text);
        if (st == LM_OK) st = config_write(f, &m->cfg, hf_config_json);
        int trainable_only = ts && ts->n_packed;
        if (st == LM_OK) st = h5_attr_write_str(f, "contents", trainable_only ? "trainable" : "full");
        if (st == LM_OK && !trainable_only) st = tensors_write(f, "params", m, NULL);
        if (st == LM_OK && ts) st = train_write(f, m, ts, config_text);
        if (st == LM_OK && lm) st = ckpt_landermt_write(f, lm, m->cfg.hidden_size);
        if (st == LM_OK) st = tokenizer_copy(f, tokenizer_from);
        if (st == LM_OK) {
            st = h5_commit(f, tmp, path);
        } else {
            h5_abandon(f, tmp);
            lm_hint("checkpoint %s was not written; any previous file there is unchanged", path);
        }
    }
    free(tmp);
    return st;
}

LmStatus ckpt_write(const char *path, const Model *m, const char *config_text,
                    const TrainState *ts, const char *tokenizer_from, const LandermtState *lm) {
    return write_file(path, m, config_text, ts, tokenizer_from, lm, NULL);
}

LmStatus ckpt_write_model(const char *path, const Model *m, const char *config_text,
                          const char *tokenizer_from, const LandermtState *lm,
                          const char *hf_config_json) {
    return write_file(path, m, config_text, NULL, tokenizer_from, lm, hf_config_json);
}

// ----------------------------------------------------------------- read

static LmStatus config_field_read(hid_t g, const ConfigField *fd, ModelConfig *c, const char *what) {
    if ((fd->flags & F_OPTIONAL) && !H5Aexists(g, fd->name)) return LM_OK;
    char *p = (char *)c + fd->offset;
    if (fd->kind == F_FLOAT) {
        double v;
        LM_TRY(h5_attr_read_f64(g, fd->name, &v, what));
        *(float *)p = (float)v;
        if (isfinite(*(float *)p)) return LM_OK;
        lm_error("%s: /config attribute %s = %g is not a finite float32", what, fd->name, v);
        return LM_ERUNTIME;
    }
    int64_t v;
    LM_TRY(h5_attr_read_i64(g, fd->name, &v, what));
    int64_t hi = fd->kind == F_BOOL ? 1 : hf_config_max(fd->name);
    if (v < 0 || v > hi) {
        lm_error("%s: /config attribute %s = %lld is out of range [0, %lld]", what, fd->name,
                 (long long)v, (long long)hi);
        return LM_ERUNTIME;
    }
    *(int *)p = (int)v;
    return LM_OK;
}

// Reads string attribute `name` of g and finds it in names[n]; *found = -1
// when the attribute is absent and optional.
static LmStatus enum_read(hid_t g, const char *name, const char *const *names, int n,
                          int optional, int *found, const char *what) {
    *found = -1;
    if (optional && !H5Aexists(g, name)) return LM_OK;
    char *v;
    LM_TRY(h5_attr_read_str(g, name, &v, what));
    for (int i = 0; i < n && *found < 0; i++)
        if (names[i] && !strcmp(v, names[i])) *found = i;
    if (*found < 0) {
        lm_error("%s: /config attribute %s = \"%s\" is not supported (known: %s%s%s)", what, name,
                 v, names[0], n > 1 ? ", " : "", n > 1 ? names[1] : "");
        lm_hint("the file was written by a newer landermt, or edited by hand");
    }
    free(v);
    return *found < 0 ? LM_ERUNTIME : LM_OK;
}

static LmStatus model_type_read(hid_t g, ModelConfig *cfg, const char *what) {
    if (!H5Aexists(g, "model_type")) return LM_OK;  // version 1: derived from the architecture
    char *v;
    LM_TRY(h5_attr_read_str(g, "model_type", &v, what));
    LmStatus st = LM_OK;
    if (strlen(v) >= sizeof cfg->model_type) {
        lm_error("%s: /config attribute model_type = \"%s\" is too long", what, v);
        st = LM_ERUNTIME;
    } else {
        snprintf(cfg->model_type, sizeof cfg->model_type, "%s", v);
    }
    free(v);
    return st;
}

static LmStatus config_read(hid_t f, ModelConfig *cfg, const char *what) {
    hid_t g;
    LM_TRY(h5_open_group(f, "config", &g, what));
    memset(cfg, 0, sizeof *cfg);
    int arch, rope = ROPE_PLAIN;
    LmStatus st = enum_read(g, "architecture", ARCH_NAMES, 2, 0, &arch, what);
    if (st == LM_OK) cfg->architecture = (Architecture)arch;
    if (st == LM_OK) st = model_type_read(g, cfg, what);
    if (st == LM_OK && arch == ARCH_LLAMA) st = enum_read(g, "rope_scaling.rope_type", ROPE_NAMES, 2, 1, &rope, what);
    if (st == LM_OK) cfg->rope_scaling = rope < 0 ? ROPE_PLAIN : (RopeScaling)rope;
    for (size_t i = 0; st == LM_OK && i < N_CONFIG_FIELDS; i++)
        if (field_applies(&CONFIG_FIELDS[i], cfg->architecture))
            st = config_field_read(g, &CONFIG_FIELDS[i], cfg, what);
    H5Gclose(g);
    if (st == LM_OK) model_config_finish(cfg);
    return st == LM_OK ? hf_config_check(cfg, what) : st;
}

LmStatus ckpt_read_config(const char *path, ModelConfig *cfg) {
    hid_t f;
    int version;
    char what[WHAT_LEN];
    what_init(what, path);
    LM_TRY(h5_open_format(path, CKPT_FORMAT, CKPT_VERSION, &f, &version));
    LmStatus st = config_read(f, cfg, what);
    H5Fclose(f);
    return st;
}

// Compares the datasets in g with the tensor table; prints one line per
// missing, mis-shaped or unexpected tensor.
static int tensors_problems(hid_t g, const Model *m, const char *what) {
    char group[512];
    group_name(g, group, sizeof group);
    int bad = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        const TensorInfo *t = &m->tensors[i];
        if (!h5_exists(g, t->name)) {
            lm_error("%s: tensor %s/%s is missing", what, group, t->name);
            bad++;
        } else if (h5_check(g, t->name, H5T_F32, t->ndim, t->shape, what) != LM_OK) {
            bad++;
        }
    }
    char **names;
    int n;
    if (h5_list(g, ".", &names, &n, what) != LM_OK) return bad + 1;
    for (int i = 0; i < n; i++) {
        if (model_find_tensor(m, names[i])) continue;
        lm_error("%s: unexpected tensor %s/%s", what, group, names[i]);
        bad++;
    }
    free(names);
    return bad;
}

// The tensors of open group g against the table; problems listed.
static LmStatus tensors_check(hid_t g, const Model *m, const char *what) {
    int bad = tensors_problems(g, m, what);
    if (!bad) return LM_OK;
    char gname[512];
    group_name(g, gname, sizeof gname);
    lm_hint("%d tensor problem(s) in %s: the file does not match the model configuration "
            "(vocab_size, layers, tie_word_embeddings, attention_bias ...)", bad, gname);
    return LM_ERUNTIME;
}

// Validates, then reads every tensor of `group`, refusing non-finite
// values: into flat (laid out like the tensor table's offsets) or, flat =
// NULL, into every tensor's own writable float32 storage.
static LmStatus tensors_read(hid_t loc, const char *group, Model *m, float *flat,
                             const char *what) {
    hid_t g;
    LM_TRY(h5_open_group(loc, group, &g, what));
    char gname[512];
    group_name(g, gname, sizeof gname);
    LmStatus st = tensors_check(g, m, what);
    for (int i = 0; st == LM_OK && i < m->n_tensors; i++) {
        const TensorInfo *t = &m->tensors[i];
        if (!flat) model_tensor_to_f32(m, i);
        float *x = flat ? flat + t->offset : model_tensor_f32(m, i);
        st = h5_read(g, t->name, H5T_F32, x, t->ndim, t->shape, what);
        size_t k = st == LM_OK ? first_nonfinite(x, t->numel) : t->numel;
        if (k < t->numel) {
            lm_error("%s: tensor %s/%s[%zu] is %g; refusing to load non-finite values", what,
                     gname, t->name, k, (double)x[k]);
            st = LM_ERUNTIME;
        }
    }
    H5Gclose(g);
    return st;
}

// Values read from /train must mean something: a step of -5 or a cursor of
// 2^50 is a damaged file. index < 0: a /train attribute, else an element.
static LmStatus int_in_range(int64_t v, int64_t lo, int64_t hi, const char *name, int64_t index,
                             const char *what) {
    if (v >= lo && v <= hi) return LM_OK;
    if (index < 0)
        lm_error("%s: /train attribute %s = %lld is out of range [%lld, %lld]", what, name,
                 (long long)v, (long long)lo, (long long)hi);
    else
        lm_error("%s: %s[%lld] = %lld is out of range [%lld, %lld]", what, name, (long long)index,
                 (long long)v, (long long)lo, (long long)hi);
    lm_hint("the checkpoint is damaged or was edited; resume from another one");
    return LM_ERUNTIME;
}

static LmStatus metrics_read(hid_t g, TrainState *ts, const char *what) {
    int64_t n;
    LM_TRY(h5_shape(g, "metrics/step", 1, &n, what));
    if (n > ts->step + ts->skipped_steps) {
        lm_error("%s: /train/metrics has %lld entries, more than the %lld steps run", what,
                 (long long)n, (long long)(ts->step + ts->skipped_steps));
        return LM_ERUNTIME;
    }
    ts->n_hist = (int)n;
    ts->hist_step = xcalloc((size_t)n, sizeof *ts->hist_step);
    ts->hist_loss = xcalloc((size_t)n, sizeof *ts->hist_loss);
    ts->hist_val = xcalloc((size_t)n, sizeof *ts->hist_val);
    LM_TRY(h5_read(g, "metrics/step", H5T_I64, ts->hist_step, 1, &n, what));
    LM_TRY(h5_read(g, "metrics/loss", H5T_F64, ts->hist_loss, 1, &n, what));
    LM_TRY(h5_read(g, "metrics/val_loss", H5T_F64, ts->hist_val, 1, &n, what));
    for (int64_t i = 0; i < n; i++)
        LM_TRY(int_in_range(ts->hist_step[i], 0, ts->step, "/train/metrics/step", i, what));
    return LM_OK;
}

// Positions are checked against the streams by the trainer, which knows
// their sizes; here only what no stream allows.
static LmStatus cursors_read(hid_t g, TrainState *ts, const char *what) {
    int64_t n;
    LM_TRY(h5_read_strings(g, "cursors/stream", &ts->cursor_names, &n, what));
    if (n > CKPT_MAX_CURSORS) {
        lm_error("%s: /train/cursors/stream names %lld streams (at most %d)", what, (long long)n,
                 CKPT_MAX_CURSORS);
        return LM_ERUNTIME;
    }
    ts->n_cursors = (int)n;
    ts->cursor_epoch = xcalloc((size_t)n + 1, sizeof(int64_t));
    ts->cursor_pos = xcalloc((size_t)n + 1, sizeof(int64_t));
    LM_TRY(h5_read(g, "cursors/epoch", H5T_I64, ts->cursor_epoch, 1, &n, what));
    LM_TRY(h5_read(g, "cursors/position", H5T_I64, ts->cursor_pos, 1, &n, what));
    for (int64_t i = 0; i < n; i++) {
        LM_TRY(int_in_range(ts->cursor_epoch[i], 0, INT_MAX, "/train/cursors/epoch", i, what));
        LM_TRY(int_in_range(ts->cursor_pos[i], 0, INT64_MAX, "/train/cursors/position", i, what));
    }
    return LM_OK;
}

// Moments are optional (absent = not saved); present ones must be complete.
static LmStatus moment_read(hid_t g, const char *group, Model *m, float **out,
                            const char *what) {
    if (!h5_exists(g, group)) return LM_OK;
    hid_t mg;
    LM_TRY(h5_open_group(g, group, &mg, what));
    LmStatus st = tensors_check(mg, m, what);  // stored and shaped before allocating
    H5Gclose(mg);
    char name[WHAT_LEN + 64];
    snprintf(name, sizeof name, "%s /train/%s", what, group);
    if (st == LM_OK && !(*out = falloc_try(m->numel, name))) st = LM_ERUNTIME;
    return st == LM_OK ? tensors_read(g, group, m, *out, what) : st;
}

static LmStatus packed_read(hid_t g, TrainState *ts, const char *what) {
    int64_t n;
    LM_TRY(h5_shape(g, "packed/param", 1, &n, what));
    ts->n_packed = n;
    if (ts->packed_borrow && (size_t)n > ts->packed_cap) {
        lm_error("%s: /train/packed holds %lld entries, this run packs %zu", what, (long long)n, ts->packed_cap);
        lm_hint("resume with the configuration that wrote it");
        return LM_EUSAGE;
    }
    static const char *const names[3] = {"packed/param", "packed/exp_avg", "packed/exp_avg_sq"};
    float **dst[3] = {&ts->packed, &ts->packed_m, &ts->packed_v};
    for (int k = 0; k < 3; k++) {
        char name[WHAT_LEN + 64];
        snprintf(name, sizeof name, "%s /train/%s", what, names[k]);
        *dst[k] = ts->packed_borrow ? ts->packed_into[k] : falloc_try((size_t)n, name);
        if (!ts->packed_borrow && !*dst[k]) return LM_ERUNTIME;
        if (!*dst[k]) continue;
        LM_TRY(h5_read(g, names[k], H5T_F32, *dst[k], 1, &n, what));
        size_t bad = first_nonfinite(*dst[k], (size_t)n);
        if (bad == (size_t)n) continue;
        lm_error("%s: /train/%s[%zu] is %g; refusing to load non-finite values", what, names[k], bad,
                 (double)(*dst[k])[bad]);
        return LM_ERUNTIME;
    }
    LM_TRY(attr_read_hex(g, "layout_hash", &ts->layout_hash, what));
    LM_TRY(attr_read_hex(g, "base_checksum", &ts->base_checksum, what));
    char *base;
    LM_TRY(h5_attr_read_str(g, "base_path", &base, what));
    snprintf(ts->base_path, sizeof ts->base_path, "%s", base);
    free(base);
    return LM_OK;
}

static LmStatus train_read_all(hid_t g, Model *m, TrainState *ts, const char *what) {
    struct { const char *name; int64_t *v; } counters[] = {
        {"step", &ts->step}, {"skipped_steps", &ts->skipped_steps}};
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
        LM_TRY(h5_attr_read_i64(g, counters[i].name, counters[i].v, what));
        LM_TRY(int_in_range(*counters[i].v, 0, INT_MAX, counters[i].name, -1, what));
    }
    int64_t two = 2;
    LM_TRY(h5_read(g, "rng", H5T_U64, ts->rng, 1, &two, what));
    LM_TRY(moment_read(g, "optimizer/exp_avg", m, &ts->exp_avg, what));
    LM_TRY(moment_read(g, "optimizer/exp_avg_sq", m, &ts->exp_avg_sq, what));
    LM_TRY(cursors_read(g, ts, what));
    if (h5_exists(g, "packed")) LM_TRY(packed_read(g, ts, what));
    return metrics_read(g, ts, what);
}

static LmStatus train_read(hid_t f, Model *m, TrainState *ts, const char *what) {
    hid_t g;
    memset(ts, 0, sizeof *ts);
    LmStatus st = h5_open_group(f, "train", &g, what);
    if (st != LM_OK) {
        lm_hint("this is a model-only checkpoint; it cannot resume training");
        return st;
    }
    st = train_read_all(g, m, ts, what);
    H5Gclose(g);
    if (st != LM_OK) train_state_free(ts);
    return st;
}

// Files from before the "contents" attribute are full checkpoints.
static int contents_trainable(hid_t f) {
    char *c = NULL;
    lm_capture_begin(NULL, 0);  // an unreadable attribute: not "trainable"
    int t = h5_attr_exists(f, "contents") && h5_attr_read_str(f, "contents", &c, "") == LM_OK &&
            !strcmp(c, "trainable");
    lm_capture_end();
    free(c);
    return t;
}

static LmStatus not_a_model(const char *what) {
    lm_error("%s holds only the trainable entries of a selective finetuning run, not a model", what);
    lm_hint("make a standalone checkpoint with 'landermt export', or resume from it");
    return LM_ERUNTIME;
}

LmStatus ckpt_check_params(const char *path, const Model *table) {
    hid_t f, g;
    int version;
    char what[WHAT_LEN];
    what_init(what, path);
    LM_TRY(h5_open_format(path, CKPT_FORMAT, CKPT_VERSION, &f, &version));
    LmStatus st = contents_trainable(f) ? not_a_model(what) : h5_open_group(f, "params", &g, what);
    if (st == LM_OK) {
        st = tensors_check(g, table, what);
        H5Gclose(g);
    }
    H5Fclose(f);
    return st;
}

LmStatus ckpt_read(const char *path, Model *m, TrainState *ts) {
    hid_t f;
    int version;
    char what[WHAT_LEN];
    what_init(what, path);
    LM_TRY(h5_open_format(path, CKPT_FORMAT, CKPT_VERSION, &f, &version));
    LmStatus st = LM_OK;
    if (!contents_trainable(f)) {
        st = tensors_read(f, "params", m, NULL, what);
    } else if (!ts) {
        st = not_a_model(what);
    }
    if (st == LM_OK && ts) st = train_read(f, m, ts, what);
    H5Fclose(f);
    return st;
}

LmStatus ckpt_read_hf_config(const char *path, char **json) {
    hid_t f, g;
    int version;
    char what[WHAT_LEN];
    what_init(what, path);
    *json = NULL;
    LM_TRY(h5_open_format(path, CKPT_FORMAT, CKPT_VERSION, &f, &version));
    LmStatus st = h5_open_group(f, "config", &g, what);
    if (st == LM_OK) {
        if (h5_attr_exists(g, CKPT_HF_CONFIG_ATTR)) st = h5_attr_read_str(g, CKPT_HF_CONFIG_ATTR, json, what);
        H5Gclose(g);
    }
    H5Fclose(f);
    return st;
}

// The ckpt_is_* questions come before the load that reports what is wrong
// with the file (once): a file they cannot open is "no" without a word.
static int open_quietly(const char *path, hid_t *f) {
    int version;
    lm_capture_begin(NULL, 0);
    LmStatus st = h5_open_format(path, CKPT_FORMAT, CKPT_VERSION, f, &version);
    lm_capture_end();
    return st == LM_OK;
}

int ckpt_is_training(const char *path) {
    hid_t f;
    if (!open_quietly(path, &f)) return 0;
    int t = h5_exists(f, "train");
    H5Fclose(f);
    return t;
}

int ckpt_is_trainable_only(const char *path) {
    hid_t f;
    if (!open_quietly(path, &f)) return 0;
    int t = contents_trainable(f);
    H5Fclose(f);
    return t;
}
