#include "io/hf_dir.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/files.h"
#include "util/alloc.h"

static char *path_join(const char *dir, const char *name) {
    char *p = xmalloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

// A shard name must stay inside the directory.
static int plain_name(const char *s) {
    return s[0] && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

static LmStatus index_load(const char *path, json_t **map) {
    char *text;
    size_t len;
    char what[1100];
    snprintf(what, sizeof what, "safetensors index %s", path);
    LM_TRY(file_read_text(path, HF_INDEX_MAX_BYTES, &text, &len, what));
    json_error_t err;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    free(text);
    if (!root) {
        lm_error("%s: malformed JSON at line %d, column %d: %s", what, err.line, err.column, err.text);
        return LM_ERUNTIME;
    }
    *map = json_incref(json_object_get(root, "weight_map"));
    json_decref(root);
    if (json_is_object(*map) && json_object_size(*map)) return LM_OK;
    lm_error("%s: \"weight_map\" is missing, empty or not an object", what);
    json_decref(*map);
    return LM_ERUNTIME;
}

// Opens every shard the index names (each once, in order of appearance);
// reports every missing or unusable shard.
static LmStatus shards_open(HfWeights *w, json_t *map, const char *index) {
    const char *tensor;
    json_t *v;
    int bad = 0;
    w->files = xcalloc(json_object_size(map) + 1, sizeof *w->files);
    json_t *seen = json_object();
    json_object_foreach(map, tensor, v) {
        const char *name = json_string_value(v);
        if (!name || !plain_name(name)) {
            lm_error("safetensors index %s: tensor %s: the shard must be a file name in the "
                     "directory", index, tensor);
            bad++;
            continue;
        }
        if (json_object_get(seen, name)) continue;
        json_object_set_new(seen, name, json_true());
        char *p = path_join(w->dir, name);
        if (access(p, F_OK) != 0) {
            lm_error("safetensors index %s names shard %s (for tensor %s), which is missing: %s",
                     index, name, tensor, strerror(errno));
            bad++;
        } else if (st_open(&w->files[w->n_files], p) == LM_OK) {
            w->n_files++;
        } else {
            bad++;
        }
        free(p);
    }
    json_decref(seen);
    if (bad) lm_hint("download the model again (all shards and the index come together)");
    return bad ? LM_ERUNTIME : LM_OK;
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

// The index and the shards' headers must say the same thing.
static int index_agrees(const HfWeights *w, json_t *map, const char *index) {
    int bad = 0;
    const char *tensor;
    json_t *v;
    json_object_foreach(map, tensor, v) {
        for (int i = 0; i < w->n_files; i++) {
            if (strcmp(base_name(w->files[i].path), json_string_value(v))) continue;
            if (st_find(&w->files[i], tensor)) break;
            lm_error("safetensors index %s: tensor %s is not in shard %s, where the index says it is",
                     index, tensor, w->files[i].path);
            bad++;
        }
    }
    for (int i = 0; i < w->n_files; i++)
        for (int j = 0; j < w->files[i].n; j++) {
            const char *name = w->files[i].t[j].name, *in = json_string_value(json_object_get(map, name));
            if (in && !strcmp(in, base_name(w->files[i].path))) continue;
            lm_error("safetensors file %s: tensor %s is %s", w->files[i].path, name,
                     in ? "listed in another shard by the index" : "not listed in the index");
            bad++;
        }
    return bad;
}

static LmStatus sharded_open(HfWeights *w) {
    char *index = path_join(w->dir, HF_INDEX_FILE);
    json_t *map;
    LmStatus st = index_load(index, &map);
    if (st == LM_OK) {
        w->sharded = 1;
        st = shards_open(w, map, index);
        if (st == LM_OK && index_agrees(w, map, index)) {
            lm_hint("the index and the shards come from different downloads or were edited");
            st = LM_ERUNTIME;
        }
        json_decref(map);
    }
    free(index);
    return st;
}

LmStatus hf_weights_open(HfWeights *w, const char *dir) {
    memset(w, 0, sizeof *w);
    w->dir = xstrdup(dir);
    char *single = path_join(dir, HF_WEIGHTS_FILE), *index = path_join(dir, HF_INDEX_FILE);
    LmStatus st;
    if (access(single, F_OK) == 0) {
        w->files = xcalloc(1, sizeof *w->files);
        st = st_open(&w->files[0], single);
        w->n_files = st == LM_OK;
    } else if (access(index, F_OK) == 0) {
        st = sharded_open(w);
    } else {
        lm_error("model directory %s has neither %s nor %s", dir, HF_WEIGHTS_FILE, HF_INDEX_FILE);
        lm_hint("landermt reads safetensors weights only; a model with only pytorch_model.bin can "
                "be re-saved with transformers' save_pretrained(safe_serialization=True)");
        st = LM_ERUNTIME;
    }
    free(single), free(index);
    if (st != LM_OK) hf_weights_close(w);
    return st;
}

void hf_weights_close(HfWeights *w) {
    for (int i = 0; i < w->n_files; i++) st_close(&w->files[i]);
    free(w->files);
    free(w->dir);
    memset(w, 0, sizeof *w);
}

const StTensor *hf_weights_find(const HfWeights *w, const char *name, int *file) {
    for (int i = 0; i < w->n_files; i++) {
        const StTensor *t = st_find(&w->files[i], name);
        if (!t) continue;
        if (file) *file = i;
        return t;
    }
    return NULL;
}
