// `landermt init CONFIG.json OUT_DIR`: the random start of pretraining and
// of scale tests, as a Hugging Face directory. Values are drawn tensor by
// tensor in table order from one stream seeded by train.seed — the values
// model_init_random gives the same configuration — and converted on the
// way to the file, so a 7B model never exists in float32.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/files.h"
#include "io/hf_config.h"
#include "io/hf_dir.h"
#include "io/hf_write.h"
#include "mpi/comm.h"
#include "train/export.h"

typedef struct {
    const Model *table;
    Rng rng;
    float std;
} InitFill;

static LmStatus fill_random(void *ctx, int tensor, size_t start, size_t n, float *out) {
    InitFill *f = ctx;
    (void)start;  // calls come in order: the stream position is the element index
    model_init_values(&f->table->tensors[tensor], &f->rng, f->std, out, n);
    return LM_OK;
}

static StDtype init_dtype(const char *key, const char *config_text) {
    char published[32] = "";
    hf_config_torch_dtype(config_text, published, sizeof published);
    int d = st_dtype_from_torch(strcmp(key, "source") ? key : published);
    if (d == ST_F32 && strcmp(key, "source") && st_dtype_from_torch(published) > ST_F32)
        printf("note: writing float32 (export.dtype), twice the size of config.json's torch_dtype %s; "
               "--set export.dtype=source writes %s\n", published, published);
    if (d >= 0) return (StDtype)d;
    printf("note: config.json's torch_dtype \"%s\" is not float32/bfloat16/float16; writing float32\n",
           published);
    return ST_F32;
}

LmStatus init_run(const Config *c, const char *config_json, const char *out) {
    if (comm_rank() != 0) return LM_OK;
    int is_dir = file_is_dir(config_json);
    char path[1100];
    snprintf(path, sizeof path, is_dir ? "%s/" HF_CONFIG_FILE : "%s", config_json);
    ModelConfig mc;
    char *text, *json = NULL;
    LM_TRY(hf_config_read(path, &mc, &text));
    StDtype dt = init_dtype(c->export.dtype, text);
    InitFill f = {.std = (float)c->model.init_std};
    Model table;
    model_table_init(&table, &mc);
    f.table = &table;
    rng_seed(&f.rng, (uint64_t)c->train.seed);
    LmStatus st = hf_config_text(&table.cfg, text, st_dtype_torch(dt), NULL, &json);
    HfWriteSpec spec = {.table = &table, .fill = fill_random, .ctx = &f, .dtype = dt,
                        .max_shard_bytes = file_parse_size(c->export.max_shard_size),
                        .config_json = json, .tokenizer_dir = is_dir ? config_json : NULL};
    if (st == LM_OK) st = hf_dir_write(out, &spec);
    if (st == LM_OK)
        printf("init %s: %s model, %zu parameters (%.2f GB as %s), seed %lld, std %g\n", out,
               table.cfg.model_type, table.numel, (double)table.numel * (double)st_dtype_size(dt) / 1e9,
               st_dtype_torch(dt), (long long)c->train.seed, c->model.init_std);
    free(json), free(text);
    model_free(&table);
    return st;
}
