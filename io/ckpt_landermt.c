// Reading the /landermt group of a standalone checkpoint (written by
// landermt_write in ckpt.c): units, selected layers, the classes of their
// FFN neurons and the routing gates. Everything is validated against the
// model before decoding trusts it.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/ckpt.h"
#include "io/h5.h"
#include "util/alloc.h"

#define WHAT_LEN 1100
#ifndef LANDERMT_VERSION
#define LANDERMT_VERSION "unknown"
#endif

static LmStatus units_read(hid_t f, Neurons *nr, const char *what) {
    char **names;
    int64_t U;
    LM_TRY(h5_read_strings(f, "landermt/units", &names, &U, what));
    LmStatus st = LM_OK;
    if (U < 1 || U > 4096) {
        lm_error("%s: /landermt/units has %lld names (expected 1 to 4096)", what, (long long)U);
        st = LM_ERUNTIME;
    }
    nr->U = st == LM_OK ? (int)U : 0;
    nr->units = xcalloc((size_t)nr->U + 1, sizeof *nr->units);
    for (int u = 0; st == LM_OK && u < nr->U; u++) {
        if (strlen(names[u]) < NEURONS_NAME && names[u][0]) {
            snprintf(nr->units[u], NEURONS_NAME, "%s", names[u]);
            continue;
        }
        lm_error("%s: /landermt/units[%d] is empty or longer than %d bytes", what, u, NEURONS_NAME - 1);
        st = LM_ERUNTIME;
    }
    free(names);
    return st;
}

static LmStatus selected_read(hid_t f, Neurons *nr, const char *what) {
    int64_t k;
    LM_TRY(h5_shape(f, "landermt/selected", 1, &k, what));
    if (k < 1 || k > nr->L) {
        lm_error("%s: /landermt/selected must list 1 to %d layers", what, nr->L);
        return LM_ERUNTIME;
    }
    int32_t *sel = xmalloc(sizeof(int32_t) * (size_t)k);
    LmStatus st = h5_read(f, "landermt/selected", H5T_I32, sel, 1, &k, what);
    nr->k = (int)k;
    nr->selected = xcalloc((size_t)k, sizeof(int));
    for (int j = 0; st == LM_OK && j < nr->k; j++) {
        nr->selected[j] = sel[j];
        if (sel[j] >= 0 && sel[j] < nr->L && (j == 0 || sel[j] > sel[j - 1])) continue;
        lm_error("%s: /landermt/selected[%d] = %d is out of range [0, %d) or out of order", what, j,
                 sel[j], nr->L);
        st = LM_ERUNTIME;
    }
    free(sel);
    return st;
}

// The class lists of /landermt have the neurons file's layout.
static LmStatus classes_read(hid_t f, Neurons *nr, const char *what) {
    hid_t g;
    nr->owner = xmalloc(sizeof(int) * (size_t)nr->k * nr->F);
    LM_TRY(h5_open_group(f, "landermt", &g, what));
    LmStatus st = neurons_read_classes(g, nr, what);
    H5Gclose(g);
    return st;
}

static LmStatus attrs_read(hid_t f, CkptLandermt *lm, const char *what) {
    hid_t g;
    char *kind = NULL;
    LM_TRY(h5_open_group(f, "landermt", &g, what));
    LmStatus st = h5_attr_read_str(g, "unit", &kind, what);
    if (st == LM_OK) st = h5_attr_read_f64(g, "routing_scale", &lm->scale, what);
    H5Gclose(g);
    if (st == LM_OK && strcmp(kind, "direction") && strcmp(kind, "language")) {
        lm_error("%s: /landermt attribute unit = \"%s\" (expected direction or language)", what, kind);
        st = LM_ERUNTIME;
    } else if (st == LM_OK && !(isfinite(lm->scale) && lm->scale > 0)) {
        lm_error("%s: /landermt attribute routing_scale = %g is not a positive number", what, lm->scale);
        st = LM_ERUNTIME;
    }
    if (st == LM_OK) snprintf(lm->neurons.unit_kind, sizeof lm->neurons.unit_kind, "%s", kind);
    free(kind);
    return st;
}

// gates/layer_<l>/{weight (G,C), bias (G)} of selected layer j into lm->gates.
static LmStatus gate_layer_read(hid_t f, CkptLandermt *lm, int j, int C, const char *what) {
    const Neurons *nr = &lm->neurons;
    char wname[96], bname[96];
    snprintf(wname, sizeof wname, "landermt/gates/layer_%d/weight", nr->selected[j]);
    snprintf(bname, sizeof bname, "landermt/gates/layer_%d/bias", nr->selected[j]);
    int64_t G = lm->n_gates, wshape[2] = {G, C};
    float *w = falloc((size_t)G * C), *b = falloc((size_t)G);
    LmStatus st = h5_read(f, wname, H5T_F32, w, 2, wshape, what);
    if (st == LM_OK) st = h5_read(f, bname, H5T_F32, b, 1, &G, what);
    for (int64_t q = 0; st == LM_OK && q < G; q++) {
        float *dst = lm->gates + ((size_t)q * nr->k + j) * (C + 1);
        memcpy(dst, w + (size_t)q * C, sizeof(float) * (size_t)C);
        dst[C] = b[q];
        for (int c = 0; c <= C && st == LM_OK; c++) {
            if (isfinite(dst[c])) continue;
            lm_error("%s: gate %lld of /landermt/gates/layer_%d is not finite", what, (long long)q,
                     nr->selected[j]);
            st = LM_ERUNTIME;
        }
    }
    free(w), free(b);
    return st;
}

// G comes from the first selected layer's weight; every layer must agree.
static LmStatus gates_read(hid_t f, CkptLandermt *lm, int C, const char *what) {
    if (!h5_exists(f, "landermt/gates")) return LM_OK;
    char name[96];
    int64_t shape[2];
    snprintf(name, sizeof name, "landermt/gates/layer_%d/weight", lm->neurons.selected[0]);
    LM_TRY(h5_shape(f, name, 2, shape, what));
    if (shape[0] < 1 || shape[0] > 4096 || shape[1] != C) {
        lm_error("%s: /%s must have shape (G, %d) with 1 <= G <= 4096", what, name, C);
        return LM_ERUNTIME;
    }
    lm->n_gates = (int)shape[0];
    lm->gates = falloc((size_t)lm->n_gates * lm->neurons.k * (C + 1));
    for (int j = 0; j < lm->neurons.k; j++) LM_TRY(gate_layer_read(f, lm, j, C, what));
    return LM_OK;
}

static LmStatus gate_dirs_read(hid_t f, CkptLandermt *lm, const char *what) {
    if (!h5_exists(f, "landermt/gate_directions")) {
        if (lm->n_gates <= 1) return LM_OK;
        lm_error("%s: /landermt has %d gates per layer but no gate_directions", what, lm->n_gates);
        return LM_ERUNTIME;
    }
    char **names;
    int64_t n;
    LM_TRY(h5_read_strings(f, "landermt/gate_directions", &names, &n, what));
    LmStatus st = n == lm->n_gates ? LM_OK : LM_ERUNTIME;
    if (st != LM_OK)
        lm_error("%s: /landermt/gate_directions has %lld names for %d gates", what, (long long)n,
                 lm->n_gates);
    lm->gate_dirs = xcalloc((size_t)n + 1, sizeof *lm->gate_dirs);
    for (int64_t q = 0; st == LM_OK && q < n; q++)
        snprintf(lm->gate_dirs[q], NEURONS_NAME, "%s", names[q]);
    free(names);
    return st;
}

static LmStatus landermt_read(hid_t f, const ModelConfig *cfg, CkptLandermt *lm, const char *what) {
    Neurons *nr = &lm->neurons;
    nr->L = cfg->num_hidden_layers, nr->F = cfg->intermediate_size;
    nr->hidden_size = cfg->hidden_size, nr->vocab_size = cfg->vocab_size;
    LM_TRY(attrs_read(f, lm, what));
    LM_TRY(units_read(f, nr, what));
    LM_TRY(selected_read(f, nr, what));
    LM_TRY(classes_read(f, nr, what));
    LM_TRY(gates_read(f, lm, cfg->hidden_size, what));
    return gate_dirs_read(f, lm, what);
}

static LmStatus read_file(const char *path, const char *format, int max_version,
                          const ModelConfig *cfg, CkptLandermt *lm) {
    memset(lm, 0, sizeof *lm);
    char what[WHAT_LEN];
    snprintf(what, sizeof what, "%s %s", strcmp(format, CKPT_FORMAT) ? "LANDeRMT state" : "checkpoint", path);
    hid_t f;
    int version;
    LM_TRY(h5_open_format(path, format, max_version, &f, &version));
    LmStatus st = LM_OK;
    if (h5_exists(f, "landermt")) {
        lm->present = 1;
        st = landermt_read(f, cfg, lm, what);
    }
    H5Fclose(f);
    if (st != LM_OK) ckpt_landermt_free(lm);
    return st;
}

LmStatus ckpt_read_landermt(const char *path, const ModelConfig *cfg, CkptLandermt *lm) {
    return read_file(path, CKPT_FORMAT, CKPT_VERSION, cfg, lm);
}

LmStatus ckpt_sidecar_read(const char *path, const ModelConfig *cfg, CkptLandermt *lm) {
    memset(lm, 0, sizeof *lm);
    if (access(path, F_OK) != 0) return LM_OK;
    LM_TRY(read_file(path, SIDECAR_FORMAT, SIDECAR_VERSION, cfg, lm));
    if (lm->present) return LM_OK;
    lm_error("LANDeRMT state %s has no /landermt group", path);
    return LM_ERUNTIME;
}

LmStatus ckpt_sidecar_write(const char *path, const LandermtState *lm, int C) {
    size_t tmp_size = strlen(path) + 32;
    char *tmp = xmalloc(tmp_size);
    hid_t f;
    LmStatus st = h5_create_tmp(path, tmp, tmp_size, &f);
    if (st == LM_OK) {
        st = h5_attr_write_str(f, "format", SIDECAR_FORMAT);
        if (st == LM_OK) st = h5_attr_write_i64(f, "format_version", SIDECAR_VERSION);
        if (st == LM_OK) st = h5_attr_write_str(f, "writer", "landermt " LANDERMT_VERSION);
        if (st == LM_OK) st = ckpt_landermt_write(f, lm, C);
        if (st == LM_OK) st = h5_commit(f, tmp, path);
        else h5_abandon(f, tmp);
    }
    free(tmp);
    return st;
}

void ckpt_landermt_state(const CkptLandermt *lm, const char **dirs, LandermtState *out) {
    for (int g = 0; lm->gate_dirs && g < lm->n_gates; g++) dirs[g] = lm->gate_dirs[g];
    *out = (LandermtState){&lm->neurons, lm->n_gates, lm->gates, lm->scale,
                           lm->gate_dirs ? dirs : NULL};
}

void ckpt_landermt_free(CkptLandermt *lm) {
    neurons_free(&lm->neurons);
    free(lm->gates);
    free(lm->gate_dirs);
    memset(lm, 0, sizeof *lm);
}
