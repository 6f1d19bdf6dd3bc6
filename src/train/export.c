#include "train/export.h"

#include <stdio.h>
#include <string.h>

#include "io/ckpt.h"
#include "mpi/comm.h"
#include "train/model_load.h"
#include "train/pack.h"

static LmStatus export_write(const Config *c, const char *in, const char *out,
                             const char *config_text, Model *m, ParamPack *p, Neurons *nr) {
    const char *dirs[CFG_LIST_MAX];
    for (int i = 0; i < c->data.directions.n; i++) dirs[i] = c->data.directions.item[i];
    LandermtState lm;
    pack_landermt_state(p, nr, dirs, &lm);
    // LoRA exports hold merged weights: a plain model, no /landermt
    LM_TRY(ckpt_write(out, m, config_text, NULL, in, nr->k && !p->n_lora ? &lm : NULL));
    printf("exported %s (%s, train.mode %s) -> %s\n", in,
           ckpt_is_trainable_only(in) ? "trainable entries + base" : "full", c->train.mode, out);
    return LM_OK;
}

LmStatus export_run(const Config *c, const char *in, const char *out, const char *config_text) {
    if (comm_rank() != 0) return LM_OK;  // a file job: one writer
    Model m;
    LM_TRY(model_from_config(c, &m));
    uint64_t base = model_checksum(&m);
    Neurons nr;
    memset(&nr, 0, sizeof nr);
    ParamPack p;
    memset(&p, 0, sizeof p);
    TrainState ts;
    memset(&ts, 0, sizeof ts);
    PackSpec spec;
    LmStatus st = pack_spec_config(c, &nr, &spec);
    if (st == LM_OK) st = pack_build(&p, &m, &spec);
    if (st == LM_OK) st = ckpt_read(in, &m, &ts);
    if (st == LM_OK) st = pack_restore(&p, &m, &ts, base, c->model.checkpoint, in);
    if (st == LM_OK && p.n_lora) m.lora = &p.lora_set, model_lora_merge(&m);
    if (st == LM_OK) st = export_write(c, in, out, config_text, &m, &p, &nr);
    train_state_free(&ts);
    pack_free(&p);
    neurons_free(&nr);
    model_free(&m);
    return st;
}
