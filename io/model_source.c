// Model sources: landermt checkpoints (io/ckpt.c) and Hugging Face
// directories, matched tensor by tensor against the architecture's table
// (src/model/params.c) before any value is read.
#include "io/model_source.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/files.h"
#include "io/hf_config.h"
#include "util/alloc.h"

#define BLOOM_PREFIX "transformer."
#define LM_HEAD "lm_head.weight"
#define COMPARE_CHUNK ((size_t)1 << 16)

int model_source_is_hf(const char *path) { return file_is_dir(path); }

// The stored name of table tensor `name`: itself, or for BLOOM without the
// prefix. Both present is ambiguous.
static const StTensor *stored(const ModelSource *s, const char *name, int *problems) {
    const StTensor *t = hf_weights_find(&s->weights, name, NULL);
    size_t np = strlen(BLOOM_PREFIX);
    if (s->cfg.architecture != ARCH_BLOOM || strncmp(name, BLOOM_PREFIX, np)) return t;
    const StTensor *u = hf_weights_find(&s->weights, name + np, NULL);
    if (t && u) {
        lm_error("model directory %s: tensor %s is stored both with and without \"%s\"", s->path,
                 name, BLOOM_PREFIX);
        ++*problems;
    }
    return t ? t : u;
}

static void shape_str(int ndim, const int64_t *shape, char *buf, size_t n) {
    int k = snprintf(buf, n, "[");
    for (int d = 0; d < ndim && k < (int)n; d++)
        k += snprintf(buf + k, n - (size_t)k, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (k < (int)n) snprintf(buf + k, n - (size_t)k, "]");
}

static int shape_matches(const StTensor *t, int ndim, const int64_t *shape) {
    if (t->ndim != ndim) return 0;
    for (int d = 0; d < ndim; d++)
        if (t->shape[d] != shape[d]) return 0;
    return 1;
}

static int misshaped(const ModelSource *s, const StTensor *t, int ndim, const int64_t *shape) {
    if (shape_matches(t, ndim, shape)) return 0;
    char got[96], want[96];
    shape_str(t->ndim, t->shape, got, sizeof got);
    shape_str(ndim, shape, want, sizeof want);
    lm_error("model directory %s: tensor %s has shape %s, config.json needs %s", s->path, t->name,
             got, want);
    return 1;
}

// Whether a stored name stands for a tensor of the table (or an extra the
// loader accepts: a tied head's lm_head.weight, rotary buffers).
static int expected(const ModelSource *s, const char *name) {
    const char *buf = ".rotary_emb.inv_freq";
    size_t n = strlen(name), nb = strlen(buf);
    if (model_find_tensor(&s->table, name)) return 1;
    if (s->cfg.tie_word_embeddings && !strcmp(name, LM_HEAD)) return 1;
    if (n > nb && !strcmp(name + n - nb, buf)) return 1;
    if (s->cfg.architecture != ARCH_BLOOM) return 0;
    char full[256];
    snprintf(full, sizeof full, "%s%s", BLOOM_PREFIX, name);
    return model_find_tensor(&s->table, full) != NULL;
}

// Maps every table tensor to its stored tensor; reports all problems.
static LmStatus tensors_match(ModelSource *s) {
    const Model *tb = &s->table;
    int problems = 0;
    s->src = xcalloc((size_t)tb->n_tensors + 1, sizeof *s->src);
    for (int i = 0; i < tb->n_tensors; i++) {
        const TensorInfo *ti = &tb->tensors[i];
        s->src[i] = stored(s, ti->name, &problems);
        if (!s->src[i]) lm_error("model directory %s: tensor %s is missing", s->path, ti->name), problems++;
        else problems += misshaped(s, s->src[i], ti->ndim, ti->shape);
    }
    for (int f = 0; f < s->weights.n_files; f++)
        for (int j = 0; j < s->weights.files[f].n; j++) {
            const char *name = s->weights.files[f].t[j].name;
            if (expected(s, name)) continue;
            lm_error("safetensors file %s: unexpected tensor %s", s->weights.files[f].path, name);
            problems++;
        }
    s->lm_head = s->cfg.tie_word_embeddings ? hf_weights_find(&s->weights, LM_HEAD, NULL) : NULL;
    if (s->lm_head) problems += misshaped(s, s->lm_head, 2, tb->tensors[0].shape);
    if (!problems) return LM_OK;
    lm_hint("%d tensor problem(s): the weights do not match %s/config.json (model_type, vocab_size, "
            "num_hidden_layers, tie_word_embeddings, attention_bias ...)", problems, s->path);
    return LM_ERUNTIME;
}

static LmStatus hf_open(ModelSource *s) {
    char cfg_path[1100];
    snprintf(cfg_path, sizeof cfg_path, "%s/%s", s->path, HF_CONFIG_FILE);
    if (access(cfg_path, F_OK) != 0) {
        lm_error("model directory %s has no %s", s->path, HF_CONFIG_FILE);
        lm_hint("a Hugging Face model directory holds config.json and model.safetensors (or its "
                "shards and model.safetensors.index.json)");
        return LM_ERUNTIME;
    }
    LM_TRY(hf_config_read(cfg_path, &s->cfg, &s->config_json));
    LM_TRY(hf_weights_open(&s->weights, s->path));
    model_table_init(&s->table, &s->cfg);
    LM_TRY(tensors_match(s));
    snprintf(s->dtype, sizeof s->dtype, "%s", st_dtype_torch(s->src[0]->dtype));
    return LM_OK;
}

static LmStatus ckpt_open(ModelSource *s) {
    LM_TRY(ckpt_read_config(s->path, &s->cfg));
    model_table_init(&s->table, &s->cfg);
    LM_TRY(ckpt_check_params(s->path, &s->table));
    LM_TRY(ckpt_read_hf_config(s->path, &s->config_json));
    char published[16] = "";
    if (s->config_json) hf_config_torch_dtype(s->config_json, published, sizeof published);
    snprintf(s->dtype, sizeof s->dtype, "%s", st_dtype_from_torch(published) >= 0 ? published : "float32");
    return LM_OK;
}

LmStatus model_source_open(ModelSource *s, const char *path) {
    memset(s, 0, sizeof *s);
    if (snprintf(s->path, sizeof s->path, "%s", path) >= (int)sizeof s->path) {
        lm_error("model path %.64s... is longer than %zu bytes", path, sizeof s->path - 1);
        return LM_EUSAGE;
    }
    s->hf = model_source_is_hf(path);
    LmStatus st = s->hf ? hf_open(s) : ckpt_open(s);
    if (st != LM_OK) model_source_close(s);
    return st;
}

// A tied model may store its head too, but only as a copy of the embedding.
static LmStatus lm_head_check(const ModelSource *s) {
    float *x = falloc(COMPARE_CHUNK), *y = falloc(COMPARE_CHUNK);
    size_t n = s->lm_head->numel, at = n;
    for (size_t i = 0; i < n && at == n; i += COMPARE_CHUNK) {
        size_t k = n - i < COMPARE_CHUNK ? n - i : COMPARE_CHUNK;
        st_widen(s->lm_head, i, k, x);
        st_widen(s->src[0], i, k, y);
        for (size_t j = 0; j < k && at == n; j++)
            if (memcmp(&x[j], &y[j], sizeof(float))) at = i + j;
    }
    free(x), free(y);
    if (at == n) return LM_OK;
    lm_error("model directory %s: config.json ties the embeddings, but the stored %s differs from "
             "the embedding matrix (first at element %zu)", s->path, LM_HEAD, at);
    lm_hint("set \"tie_word_embeddings\": false in config.json if the head is meant to be separate");
    return LM_ERUNTIME;
}

// The file whose header holds t.
static const StFile *owner(const ModelSource *s, const StTensor *t) {
    for (int k = 0; k < s->weights.n_files; k++) {
        const StFile *f = &s->weights.files[k];
        if (t >= f->t && t < f->t + f->n) return f;
    }
    return NULL;
}

// Non-finite values of one stored tensor, scanned piece by piece.
static LmStatus values_check(const ModelSource *s, const StTensor *t, float *buf) {
    for (size_t i = 0; i < t->numel; i += COMPARE_CHUNK) {
        size_t k = t->numel - i < COMPARE_CHUNK ? t->numel - i : COMPARE_CHUNK;
        st_widen(t, i, k, buf);
        st_release_range(owner(s, t), t, i, k);
        for (size_t j = 0; j < k; j++) {
            if (isfinite(buf[j])) continue;
            lm_error("%s: tensor %s[%zu] is %g; refusing to load non-finite weights",
                     owner(s, t)->path, t->name, i + j, (double)buf[j]);
            return LM_ERUNTIME;
        }
    }
    return LM_OK;
}

LmStatus model_source_verify(const ModelSource *s) {
    if (!s->hf) {
        Model m;
        ModelSource copy = *s;
        return model_source_load(&copy, &m) == LM_OK ? (model_free(&m), LM_OK) : LM_ERUNTIME;
    }
    float *buf = falloc(COMPARE_CHUNK);
    LmStatus st = LM_OK;
    for (int i = 0; st == LM_OK && i < s->table.n_tensors; i++) st = values_check(s, s->src[i], buf);
    free(buf);
    return st == LM_OK && s->lm_head ? lm_head_check(s) : st;
}

static DType dtype_of(StDtype d) {
    return d == ST_BF16 ? DTYPE_BF16 : d == ST_F16 ? DTYPE_F16 : DTYPE_F32;
}

static void weights_free(void *w) {
    hf_weights_close(w);
    free(w);
}

// Matrices stay in the mapped files as published (read-only, shared with
// every process of the node through the page cache); 1-D tensors, and
// matrices whose bytes are not aligned for their dtype, get float32 copies.
// Every value is checked finite first. The model keeps the mapping.
static LmStatus hf_map(ModelSource *s, Model *m) {
    float *buf = falloc(COMPARE_CHUNK);
    LmStatus st = LM_OK;
    for (int i = 0; st == LM_OK && i < m->n_tensors; i++) {
        const StTensor *t = s->src[i];
        size_t size = st_dtype_size(t->dtype);
        st = values_check(s, t, buf);
        if (st != LM_OK) break;
        if (m->tensors[i].ndim == 2 && (uintptr_t)t->data % size == 0) {
            model_tensor_set(m, i, (void *)t->data, dtype_of(t->dtype), 0, 1);
        } else {
            float *own = falloc(t->numel);
            st = st_read_f32(owner(s, t), t, own);
            model_tensor_set(m, i, own, DTYPE_F32, 1, 0);
        }
    }
    free(buf);
    if (st == LM_OK && s->lm_head) st = lm_head_check(s);
    if (st != LM_OK) return st;
    model_params_bind(m);
    HfWeights *keep = xmalloc(sizeof *keep);
    *keep = s->weights;
    memset(&s->weights, 0, sizeof s->weights);
    m->keep = keep, m->keep_free = weights_free;
    return LM_OK;
}

LmStatus model_source_load(ModelSource *s, Model *m) {
    LmStatus st;
    if (s->hf) {
        model_table_init(m, &s->cfg);
        st = hf_map(s, m);
    } else {
        model_init(m, &s->cfg);
        st = ckpt_read(s->path, m, NULL);
    }
    if (st != LM_OK) model_free(m);
    return st;
}

LmStatus model_source_read_landermt(const char *path, const ModelConfig *cfg, CkptLandermt *lm) {
    if (!model_source_is_hf(path)) return ckpt_read_landermt(path, cfg, lm);
    char side[1100];
    snprintf(side, sizeof side, "%s/%s", path, LANDERMT_SIDECAR);
    return ckpt_sidecar_read(side, cfg, lm);
}

LmStatus model_source_landermt(const ModelSource *s, CkptLandermt *lm) {
    return model_source_read_landermt(s->path, &s->cfg, lm);
}

void model_source_close(ModelSource *s) {
    free(s->config_json);
    free(s->src);
    if (s->table.tensors) model_free(&s->table);
    hf_weights_close(&s->weights);
    memset(s, 0, sizeof *s);
}

LmStatus model_source_read(const char *path, Model *m) {
    ModelSource s;
    LM_TRY(model_source_open(&s, path));
    LmStatus st = model_source_load(&s, m);
    model_source_close(&s);
    return st;
}
