// Models for decoding and scoring from standalone or training checkpoints
// (trained.h).
#include "train/trained.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/h5.h"
#include "io/model_source.h"
#include "util/alloc.h"

// The run configuration a training checkpoint stores (root config_yaml),
// parsed as a config file would be.
static LmStatus stored_config(const char *path, Config *cfg) {
    hid_t f;
    int version;
    char what[1100], *text = NULL, tmp[] = "/tmp/landermt-config-XXXXXX";
    snprintf(what, sizeof what, "checkpoint %s", path);
    LM_TRY(h5_open_format(path, CKPT_FORMAT, CKPT_VERSION, &f, &version));
    LmStatus st = h5_attr_read_str(f, "config_yaml", &text, what);
    H5Fclose(f);
    int fd = st == LM_OK ? mkstemp(tmp) : -1;
    if (st == LM_OK && (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))) {
        lm_error("cannot write the stored configuration of %s to %s", path, tmp);
        st = LM_ERUNTIME;
    }
    if (fd >= 0) close(fd);
    const char *files[] = {tmp};
    if (st == LM_OK && config_load(cfg, files, 1, NULL, 0) != LM_OK) {
        lm_hint("the configuration stored in %s no longer loads", path);
        st = LM_ERUNTIME;
    }
    if (fd >= 0) unlink(tmp);
    free(text);
    return st;
}

// The pack's classes and gates as the /landermt state decoding reads.
static void landermt_from_pack(const Trained *t, int C, CkptLandermt *lm) {
    const Neurons *nr = &t->nr;
    const ParamPack *p = &t->pack;
    lm->present = 1;
    neurons_init(&lm->neurons, nr->U, nr->L, nr->F, nr->k);
    memcpy(lm->neurons.units, nr->units, sizeof *nr->units * (size_t)nr->U);
    memcpy(lm->neurons.unit_kind, nr->unit_kind, sizeof nr->unit_kind);
    memcpy(lm->neurons.selected, nr->selected, sizeof(int) * (size_t)nr->k);
    memcpy(lm->neurons.owner, nr->owner, sizeof(int) * (size_t)nr->k * nr->F);
    lm->scale = p->scale;
    lm->n_gates = p->routing ? p->n_gates : 0;
    if (!lm->n_gates) return;
    size_t n = (size_t)lm->n_gates * p->n_ffn * (C + 1);  // (G, k, C+1), as the pack holds them
    lm->gates = falloc(n);
    memcpy(lm->gates, p->param + p->route_off, n * sizeof(float));
    if (lm->n_gates < 2) return;
    lm->gate_dirs = xcalloc((size_t)lm->n_gates, sizeof *lm->gate_dirs);
    for (int g = 0; g < lm->n_gates; g++)
        snprintf(lm->gate_dirs[g], NEURONS_NAME, "%s", t->cfg.data.directions.item[g]);
}

static LmStatus training_load(const char *path, Model *m, CkptLandermt *lm, Trained *t) {
    LM_TRY(stored_config(path, &t->cfg));
    LM_TRY(model_source_read(t->cfg.model.checkpoint, m));
    uint64_t base = model_checksum(m);
    PackSpec spec;
    TrainState ts;
    memset(&ts, 0, sizeof ts);
    LmStatus st = pack_spec_config(&t->cfg, &t->nr, &spec);
    spec.values_only = 1, spec.node_shared = 0;
    if (st == LM_OK) st = pack_build(&t->pack, m, &spec);
    ts.packed_borrow = 1, ts.packed_cap = t->pack.n, ts.packed_into[0] = t->pack.param;  // values only
    if (st == LM_OK) st = ckpt_read(path, m, &ts);
    if (st == LM_OK) st = pack_restore(&t->pack, m, &ts, base, t->cfg.model.checkpoint, path);
    if (st == LM_OK) pack_scatter(&t->pack, m);  // decoding reads the model's own tensors
    train_state_free(&ts);
    if (st != LM_OK) return st;
    if (t->pack.n_lora) m->lora = &t->pack.lora_set;
    else if (t->pack.n_ffn) landermt_from_pack(t, m->cfg.hidden_size, lm);
    return LM_OK;
}

LmStatus trained_load(const char *path, Model *m, CkptLandermt *lm, Trained *t) {
    memset(t, 0, sizeof *t);
    memset(lm, 0, sizeof *lm);
    memset(m, 0, sizeof *m);
    char quiet[256];  // a path that is no checkpoint at all: the model source says why
    lm_capture_begin(quiet, sizeof quiet);
    int training = !model_source_is_hf(path) && ckpt_is_trainable_only(path);
    lm_capture_end();
    if (!training) {
        LM_TRY(model_source_read(path, m));
        return model_source_read_landermt(path, &m->cfg, lm);
    }
    t->training = 1;
    return training_load(path, m, lm, t);
}

void trained_free(Trained *t, Model *m, CkptLandermt *lm) {
    if (t->training) pack_free(&t->pack), neurons_free(&t->nr);
    ckpt_landermt_free(lm);
    if (m->tensors) model_free(m);
    memset(t, 0, sizeof *t);
}
