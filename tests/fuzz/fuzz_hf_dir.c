// Hugging Face model directories (io/hf_dir.c, io/model_source.c): the
// input is config.json, model.safetensors.index.json and two shards, cut
// at marker lines; an empty index part means an unsharded directory whose
// model.safetensors is the first shard part.
#include <stdio.h>

#include "fuzz.h"
#include "io/model_source.h"

// name inside the directory of fuzz_dir.
static void put(const char *name, const uint8_t *data, size_t len) {
    char rel[64];
    snprintf(rel, sizeof rel, "d/%s", name);
    fuzz_file(rel, data, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *part[4];
    size_t len[4];
    fuzz_split(data, size, 4, part, len);
    const char *dir = fuzz_dir();
    put("config.json", part[0], len[0]);
    if (len[1]) {
        put("model.safetensors.index.json", part[1], len[1]);
        put("model-00001-of-00002.safetensors", part[2], len[2]);
        put("model-00002-of-00002.safetensors", part[3], len[3]);
    } else {
        put("model.safetensors", part[2], len[2]);
    }
    ModelSource s;
    fuzz_begin();
    LmStatus st = model_source_open(&s, dir);
    if (st == LM_OK) {
        st = model_source_verify(&s);
        Model m;
        if (st == LM_OK && (st = model_source_load(&s, &m)) == LM_OK) model_free(&m);
        model_source_close(&s);
    }
    fuzz_end(st, dir);
    fuzz_clear();
    return 0;
}
