// `landermt export` and `landermt convert`: a model -> a standalone
// landermt checkpoint (export.format hdf5) or a Hugging Face directory
// (export.format hf). The model is either a training checkpoint applied to
// its base (model.checkpoint) with the run's configuration, or a standalone
// model (checkpoint without training state, or Hugging Face directory).
#include "train/export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/open.h"
#include "io/files.h"
#include "io/hf_config.h"
#include "io/hf_write.h"
#include "io/model_source.h"
#include "mpi/comm.h"
#include "train/model_load.h"
#include "train/pack.h"

// The exported model and its LANDeRMT state.
typedef struct {
    Model m;
    LandermtState lm;
    int has_lm;
    Neurons nr;        // training path
    ParamPack p;
    CkptLandermt ck;   // standalone path
    const char *dirs[CFG_LIST_MAX];
} Exported;

static void exported_free(Exported *e) {
    pack_free(&e->p);
    neurons_free(&e->nr);
    ckpt_landermt_free(&e->ck);
    if (e->m.tensors) model_free(&e->m);
}

// Base (model.checkpoint) + the training checkpoint's entries.
static LmStatus from_training(const Config *c, const char *in, Exported *e) {
    LM_TRY(model_from_config(c, &e->m));
    uint64_t base = model_checksum(&e->m);
    TrainState ts;
    memset(&ts, 0, sizeof ts);
    PackSpec spec;
    LmStatus st = pack_spec_config(c, &e->nr, &spec);
    spec.values_only = 1, spec.node_shared = 0;
    if (st == LM_OK) st = pack_build(&e->p, &e->m, &spec);
    ts.packed_borrow = 1, ts.packed_cap = e->p.n, ts.packed_into[0] = e->p.param;  // values only
    if (st == LM_OK) st = ckpt_read(in, &e->m, &ts);
    if (st == LM_OK) st = pack_restore(&e->p, &e->m, &ts, base, c->model.checkpoint, in);
    if (st == LM_OK) pack_scatter(&e->p, &e->m);  // trained neurons into the model's tensors
    e->m.packed = NULL;
    if (st == LM_OK && e->p.n_lora) e->m.lora = &e->p.lora_set, model_lora_merge(&e->m);
    train_state_free(&ts);
    for (int i = 0; i < c->data.directions.n; i++) e->dirs[i] = c->data.directions.item[i];
    if (st == LM_OK) pack_landermt_state(&e->p, &e->nr, e->dirs, &e->lm);
    e->has_lm = e->nr.k > 0 && !e->p.n_lora;  // LoRA exports hold merged weights: a plain model
    return st;
}

static LmStatus from_model(ModelSource *src, Exported *e) {
    LM_TRY(model_source_load(src, &e->m));
    LM_TRY(model_source_landermt(src, &e->ck));
    if (e->ck.present) ckpt_landermt_state(&e->ck, e->dirs, &e->lm);
    e->has_lm = e->ck.present;
    return LM_OK;
}

static LmStatus fill_from_model(void *ctx, int tensor, size_t start, size_t n, float *out) {
    model_tensor_read(ctx, tensor, start, n, out);
    return LM_OK;
}

// The dtype export.dtype asks for, given the source's published dtype.
static StDtype dtype_choice(const char *key, const char *source) {
    int d = st_dtype_from_torch(strcmp(key, "source") ? key : source);
    return d < 0 ? ST_F32 : (StDtype)d;
}

static LmStatus write_hf(const Config *c, const char *out, const Exported *e,
                         const ModelSource *prov, const char *tok_from) {
    StDtype dt = dtype_choice(c->export.dtype, prov ? prov->dtype : "float32");
    HfTokenIds ids = {-1, -1, -1};
    Tokenizer tok;
    int has_tok = 0;
    tokenizer_init(&tok);
    if (tok_from && ckpt_tokenizer(tok_from, &tok, &has_tok) == LM_OK && has_tok)
        ids = (HfTokenIds){tok.bos_id, tok.eos_id, tok.pad_id};
    char *json;
    LmStatus st = hf_config_text(&e->m.cfg, prov ? prov->config_json : NULL, st_dtype_torch(dt), &ids, &json);
    // A Hugging Face tokenizer kept in /tokenizer goes back out as its own
    // tokenizer.json; landermt's BPE has no tokenizer.json form.
    const char *tok_json = has_tok && tok.kind == TOKENIZER_HF ? tokenizer_json_text(&tok) : NULL;
    HfWriteSpec spec = {.table = &e->m, .fill = fill_from_model, .ctx = (void *)&e->m, .dtype = dt,
                        .max_shard_bytes = file_parse_size(c->export.max_shard_size),
                        .config_json = json, .tokenizer_dir = prov && prov->hf ? prov->path : NULL,
                        .tokenizer_json = tok_json, .lm = e->has_lm ? &e->lm : NULL};
    if (st == LM_OK) st = hf_dir_write(out, &spec), free(json);
    if (st == LM_OK && !spec.tokenizer_dir && !tok_json && has_tok)
        printf("note: no tokenizer files in %s: the model's tokenizer is the byte-level BPE in "
               "/tokenizer of %s; give landermt data.corpus to use the directory\n", out, tok_from);
    tokenizer_free(&tok);
    return st;
}

static LmStatus write_out(const Config *c, const char *in, const char *out, const char *config_text,
                          const Exported *e, const ModelSource *prov, const char *tok_from,
                          int training) {
    LmStatus st = strcmp(c->export.format, "hf")
                      ? ckpt_write_model(out, &e->m, config_text, tok_from, e->has_lm ? &e->lm : NULL,
                                         prov ? prov->config_json : NULL)
                      : write_hf(c, out, e, prov, tok_from);
    if (st == LM_OK)
        printf("exported %s (%s) -> %s (%s%s)\n", in,
               !training ? "model" : ckpt_is_trainable_only(in) ? "trainable entries + base"
                                                                : "training checkpoint", out,
               strcmp(c->export.format, "hf") ? "landermt checkpoint" : "Hugging Face directory",
               e->has_lm ? ", with the LANDeRMT state" : "");
    return st;
}

LmStatus export_run(const Config *c, const char *in, const char *out, const char *config_text) {
    if (comm_rank() != 0) return LM_OK;  // a file job: one writer
    Exported e;
    memset(&e, 0, sizeof e);
    ModelSource prov;
    int training = !model_source_is_hf(in) && ckpt_is_training(in);
    const char *prov_path = training ? c->model.checkpoint : in;
    int has_prov = prov_path[0] != '\0';
    LmStatus st = has_prov ? model_source_open(&prov, prov_path) : LM_OK;
    if (st == LM_OK) st = training ? from_training(c, in, &e) : from_model(&prov, &e);
    // The tokenizer travels with landermt checkpoints (a directory has none).
    const char *tok_from = model_source_is_hf(in) ? NULL : in;
    if (st == LM_OK) st = write_out(c, in, out, config_text, &e, has_prov ? &prov : NULL, tok_from, training);
    exported_free(&e);
    if (has_prov) model_source_close(&prov);  // also safe after a failed open
    return st;
}
