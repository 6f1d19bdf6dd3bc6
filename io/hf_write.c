#include "io/hf_write.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/files.h"
#include "io/hf_dir.h"
#include "io/json_text.h"
#include "util/alloc.h"

#define FILL_CHUNK ((size_t)1 << 20)

const char *const HF_TOKENIZER_FILES[] = {
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json",
    "tokenizer.model", "vocab.json", "merges.txt", "added_tokens.json", NULL};

static char *join(const char *dir, const char *name) {
    char *p = xmalloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

static LmStatus text_write(const char *dir, const char *name, const char *text) {
    char *p = join(dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    LmStatus st = fd < 0 ? LM_ERUNTIME : file_write_all(fd, text, strlen(text), p);
    if (fd < 0) lm_error("cannot create %s: %s", p, strerror(errno));
    if (fd >= 0 && (fsync(fd) != 0 || close(fd) != 0) && st == LM_OK) {
        lm_error("cannot write %s: %s", p, strerror(errno));
        st = LM_ERUNTIME;
    }
    free(p);
    return st;
}

static LmStatus tokenizer_copy(const char *from_dir, const char *dir) {
    int copied = 0;
    for (int i = 0; HF_TOKENIZER_FILES[i]; i++) {
        char *src = join(from_dir, HF_TOKENIZER_FILES[i]), *dst = join(dir, HF_TOKENIZER_FILES[i]);
        int present = access(src, F_OK) == 0;
        LmStatus st = present ? file_copy(src, dst) : LM_OK;
        copied += present;
        free(src), free(dst);
        LM_TRY(st);
    }
    if (!copied) printf("note: %s has no tokenizer files to copy\n", from_dir);
    return LM_OK;
}

// Shard k of n's file name ("model.safetensors" when n = 1).
static void shard_name(int k, int n, char *buf, size_t size) {
    if (n == 1) snprintf(buf, size, "%s", HF_WEIGHTS_FILE);
    else snprintf(buf, size, "model-%05d-of-%05d.safetensors", k + 1, n);
}

// first[k] = first tensor of shard k; returns the shard count.
static int shards_plan(const HfWriteSpec *s, int *first) {
    const Model *t = s->table;
    int n = 0;
    uint64_t size = 0, es = st_dtype_size(s->dtype);
    for (int i = 0; i < t->n_tensors; i++) {
        uint64_t b = t->tensors[i].numel * es;
        if (!n || (size && size + b > s->max_shard_bytes)) first[n++] = i, size = 0;
        size += b;
    }
    first[n] = t->n_tensors;
    return n;
}

static LmStatus shard_write(const HfWriteSpec *s, const char *path, int from, int to, float *buf) {
    StSpec *spec = xcalloc((size_t)(to - from) + 1, sizeof *spec);
    for (int i = from; i < to; i++) {
        const TensorInfo *t = &s->table->tensors[i];
        spec[i - from] = (StSpec){.name = t->name, .ndim = t->ndim, .shape = {t->shape[0], t->shape[1]}};
    }
    static const char *const meta[] = {"format", "pt"};  // transformers requires it
    StWriter w;
    LmStatus st = st_writer_open(&w, path, s->dtype, spec, to - from, meta, 1);
    for (int i = from; st == LM_OK && i < to; i++) {
        size_t n = s->table->tensors[i].numel;
        for (size_t at = 0; st == LM_OK && at < n; at += FILL_CHUNK) {
            size_t k = n - at < FILL_CHUNK ? n - at : FILL_CHUNK;
            st = s->fill(s->ctx, i, at, k, buf);
            if (st == LM_OK) st = st_writer_put(&w, buf, k);
        }
    }
    if (st == LM_OK) st = st_writer_commit(&w);
    else if (w.path) st_writer_abandon(&w);
    free(spec);
    return st;
}

static LmStatus index_write(const HfWriteSpec *s, const char *dir, const int *first, int n) {
    json_t *map = json_object();
    uint64_t total = 0;
    char name[64];
    for (int k = 0; k < n; k++) {
        shard_name(k, n, name, sizeof name);
        for (int i = first[k]; i < first[k + 1]; i++) {
            json_object_set_new(map, s->table->tensors[i].name, json_string(name));
            total += s->table->tensors[i].numel * st_dtype_size(s->dtype);
        }
    }
    json_t *root = json_pack("{s:{s:I}, s:o}", "metadata", "total_size", (json_int_t)total,
                             "weight_map", map);
    char *text = json_text(root);
    json_decref(root);
    LmStatus st = text_write(dir, HF_INDEX_FILE, text);
    free(text);
    return st;
}

static LmStatus weights_write(const HfWriteSpec *s, const char *dir) {
    int *first = xcalloc((size_t)s->table->n_tensors + 2, sizeof *first);
    int n = shards_plan(s, first);
    float *buf = falloc(FILL_CHUNK);
    char name[64];
    LmStatus st = LM_OK;
    for (int k = 0; st == LM_OK && k < n; k++) {
        shard_name(k, n, name, sizeof name);
        char *path = join(dir, name);
        st = shard_write(s, path, first[k], first[k + 1], buf);
        free(path);
    }
    if (st == LM_OK && n > 1) st = index_write(s, dir, first, n);
    if (st == LM_OK) printf("wrote %d safetensors file%s (%s)\n", n, n > 1 ? "s" : "", st_dtype_torch(s->dtype));
    free(buf), free(first);
    return st;
}

// Removes the (flat) temporary directory and what was written into it.
static void dir_remove(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *p = join(dir, e->d_name);
        unlink(p);
        free(p);
    }
    if (d) closedir(d);
    rmdir(dir);
}

static int dir_empty(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int empty = d != NULL;
    while (d && empty && (e = readdir(d))) empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
    if (d) closedir(d);
    return empty;
}

static LmStatus out_check(const char *out) {
    struct stat st;
    if (stat(out, &st) != 0) return LM_OK;
    if (S_ISDIR(st.st_mode) && dir_empty(out)) return LM_OK;
    lm_error("%s already exists%s", out, S_ISDIR(st.st_mode) ? " and is not empty" : "");
    lm_hint("a Hugging Face directory is written as a whole: choose a new path or remove the old one");
    return LM_EUSAGE;
}

static LmStatus contents_write(const HfWriteSpec *s, const char *tmp) {
    LM_TRY(text_write(tmp, HF_CONFIG_FILE, s->config_json));
    LM_TRY(weights_write(s, tmp));
    if (s->tokenizer_dir) LM_TRY(tokenizer_copy(s->tokenizer_dir, tmp));
    else if (s->tokenizer_json) LM_TRY(text_write(tmp, "tokenizer.json", s->tokenizer_json));
    if (!s->lm) return LM_OK;
    char *side = join(tmp, LANDERMT_SIDECAR);
    LmStatus st = ckpt_sidecar_write(side, s->lm, s->table->cfg.hidden_size);
    free(side);
    return st;
}

LmStatus hf_dir_write(const char *out, const HfWriteSpec *s) {
    LM_TRY(out_check(out));
    char *tmp = xmalloc(strlen(out) + 32);
    sprintf(tmp, "%s.tmp.%ld", out, (long)getpid());
    if (mkdir(tmp, 0755) != 0) {
        lm_error("cannot create directory %s: %s", tmp, strerror(errno));
        free(tmp);
        return LM_ERUNTIME;
    }
    LmStatus st = contents_write(s, tmp);
    if (st == LM_OK && file_is_dir(out)) rmdir(out);  // empty (out_check)
    if (st == LM_OK) st = file_publish(tmp, out);
    if (st != LM_OK) {
        dir_remove(tmp);
        lm_hint("nothing was written at %s", out);
    }
    free(tmp);
    return st;
}
