#include "io/neurons.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/h5.h"
#include "util/alloc.h"

void neurons_init(Neurons *n, int U, int L, int F, int k) {
    memset(n, 0, sizeof *n);
    n->U = U, n->L = L, n->F = F, n->k = k;
    n->units = xcalloc((size_t)U + 1, sizeof *n->units);
    n->D = xcalloc((size_t)U * (L > 1 ? L - 1 : 1), sizeof(double));
    n->scores = xcalloc((size_t)U * L * F, sizeof(double));
    n->sentences = xcalloc((size_t)U + 1, sizeof(double));
    n->selected = xcalloc((size_t)k + 1, sizeof(int));
    n->owner = xcalloc((size_t)k * F + 1, sizeof(int));
}

void neurons_free(Neurons *n) {
    free(n->units), free(n->D), free(n->scores), free(n->sentences), free(n->selected), free(n->owner);
    memset(n, 0, sizeof *n);
}

// Sorted neuron indices of one class of selected layer j: owner == unit.
static int class_members(const Neurons *n, int j, int unit, int32_t *out) {
    int c = 0;
    for (int i = 0; i < n->F; i++)
        if (n->owner[(size_t)j * n->F + i] == unit) out[c++] = i;
    return c;
}

LmStatus neurons_write_classes(hid_t f, const Neurons *n) {
    int32_t *idx = xmalloc(sizeof(int32_t) * (size_t)(n->F + 1));
    char name[256];
    LmStatus st = LM_OK;
    for (int j = 0; st == LM_OK && j < n->k; j++) {
        for (int u = -1; st == LM_OK && u < n->U; u++) {
            int64_t c = class_members(n, j, u, idx);
            if (u < 0) snprintf(name, sizeof name, "classes/layer_%d/general", n->selected[j]);
            else snprintf(name, sizeof name, "classes/layer_%d/specific/%s", n->selected[j], n->units[u]);
            st = h5_write(f, name, H5T_I32, idx, 1, &c);
        }
    }
    free(idx);
    return st;
}

static LmStatus attrs_write(hid_t f, const Neurons *n) {
    LM_TRY(h5_attr_write_str(f, "format", NEURONS_FORMAT));
    LM_TRY(h5_attr_write_i64(f, "format_version", NEURONS_VERSION));
    LM_TRY(h5_attr_write_str(f, "unit", n->unit_kind));
    LM_TRY(h5_attr_write_str(f, "selection", n->selection));
    LM_TRY(h5_attr_write_f64(f, "epsilon", n->epsilon));
    LM_TRY(h5_attr_write_i64(f, "num_hidden_layers", n->L));
    LM_TRY(h5_attr_write_i64(f, "intermediate_size", n->F));
    LM_TRY(h5_attr_write_i64(f, "hidden_size", n->hidden_size));
    LM_TRY(h5_attr_write_i64(f, "vocab_size", n->vocab_size));
    return h5_attr_write_str(f, "model", n->model);
}

static LmStatus body_write(hid_t f, const Neurons *n) {
    const char **names = xmalloc(sizeof(char *) * (size_t)(n->U + 1));
    for (int u = 0; u < n->U; u++) names[u] = n->units[u];
    int64_t U = n->U, dshape[2] = {U, n->L - 1}, sshape[3] = {U, n->L, n->F}, k = n->k;
    LmStatus st = h5_write_strings(f, "units", names, U);
    free(names);
    int32_t *sel = xmalloc(sizeof(int32_t) * (size_t)(k + 1));
    for (int j = 0; j < k; j++) sel[j] = n->selected[j];
    if (st == LM_OK) st = h5_write(f, "layer_relevance/D", H5T_F64, n->D, 2, dshape);
    if (st == LM_OK) st = h5_write(f, "layer_relevance/selected", H5T_I32, sel, 1, &k);
    if (st == LM_OK) st = h5_write(f, "awareness/scores", H5T_F64, n->scores, 3, sshape);
    if (st == LM_OK) st = h5_write(f, "awareness/sentences", H5T_F64, n->sentences, 1, &U);
    free(sel);
    return st == LM_OK ? neurons_write_classes(f, n) : st;
}

LmStatus neurons_write(const char *path, const Neurons *n) {
    char tmp[1200];
    hid_t f;
    LM_TRY(h5_create_tmp(path, tmp, sizeof tmp, &f));
    LmStatus st = attrs_write(f, n);
    if (st == LM_OK) st = body_write(f, n);
    if (st != LM_OK) {
        h5_abandon(f, tmp);
        return st;
    }
    return h5_commit(f, tmp, path);
}

// Reads one class dataset of selected layer j into owner (value `unit`),
// checking ascending order, range and that no neuron is claimed twice.
static LmStatus class_read(hid_t f, Neurons *n, int j, int unit, const char *name, const char *what) {
    int64_t c;
    LM_TRY(h5_shape(f, name, 1, &c, what));
    if (c > n->F) {
        lm_error("%s: %s must be a 1-D list of at most %d neuron indices", what, name, n->F);
        return LM_ERUNTIME;
    }
    int32_t *idx = xmalloc(sizeof(int32_t) * (size_t)(c + 1));
    LmStatus st = h5_read(f, name, H5T_I32, idx, 1, &c, what);
    for (int64_t i = 0; st == LM_OK && i < c; i++) {
        int *o = &n->owner[(size_t)j * n->F + (idx[i] >= 0 && idx[i] < n->F ? idx[i] : 0)];
        if (idx[i] < 0 || idx[i] >= n->F || (i > 0 && idx[i] <= idx[i - 1]) || *o != -2) {
            lm_error("%s: %s[%lld] = %d is out of range, out of order or in two classes", what, name,
                     (long long)i, idx[i]);
            st = LM_ERUNTIME;
        } else {
            *o = unit;
        }
    }
    free(idx);
    return st;
}

LmStatus neurons_read_classes(hid_t f, Neurons *n, const char *what) {
    char name[256];
    for (size_t i = 0; i < (size_t)n->k * n->F; i++) n->owner[i] = -2;  // unclaimed
    for (int j = 0; j < n->k; j++) {
        for (int u = -1; u < n->U; u++) {
            if (u < 0) snprintf(name, sizeof name, "classes/layer_%d/general", n->selected[j]);
            else snprintf(name, sizeof name, "classes/layer_%d/specific/%s", n->selected[j], n->units[u]);
            LM_TRY(class_read(f, n, j, u, name, what));
        }
        for (int i = 0; i < n->F; i++) {
            if (n->owner[(size_t)j * n->F + i] != -2) continue;
            lm_error("%s: neuron %d of layer %d is in no class", what, i, n->selected[j]);
            return LM_ERUNTIME;
        }
    }
    return LM_OK;
}

static LmStatus sizes_read(hid_t f, int64_t *U, int64_t *L, int64_t *F, int64_t *k, const char *what) {
    LM_TRY(h5_attr_read_i64(f, "num_hidden_layers", L, what));
    LM_TRY(h5_attr_read_i64(f, "intermediate_size", F, what));
    LM_TRY(h5_shape(f, "awareness/sentences", 1, U, what));
    LM_TRY(h5_shape(f, "layer_relevance/selected", 1, k, what));
    if (!(*L >= 1 && *L <= 4096 && *F >= 1 && *F <= (1 << 24) && *U >= 1 && *U <= 4096 &&
          *k >= 1 && *k <= *L)) {
        lm_error("%s: implausible sizes (units %lld, layers %lld, neurons %lld, selected %lld)",
                 what, (long long)*U, (long long)*L, (long long)*F, (long long)*k);
        return LM_ERUNTIME;
    }
    // The scores are the big array: the file must hold them before any
    // allocation of that size (a damaged size attribute asks for gigabytes).
    int64_t shape[3] = {*U, *L, *F};
    return h5_check(f, "awareness/scores", H5T_F64, 3, shape, what);
}

static LmStatus text_attr(hid_t f, const char *name, char *out, size_t cap, const char *what) {
    char *v;
    LM_TRY(h5_attr_read_str(f, name, &v, what));
    snprintf(out, cap, "%s", v);
    free(v);
    return LM_OK;
}

static LmStatus units_read(hid_t f, Neurons *n, const char *what) {
    char **names;
    int64_t c;
    LM_TRY(h5_read_strings(f, "units", &names, &c, what));
    LmStatus st = c == n->U ? LM_OK : LM_ERUNTIME;
    if (st != LM_OK) lm_error("%s: /units has %lld names for %d units", what, (long long)c, n->U);
    for (int u = 0; st == LM_OK && u < n->U; u++) snprintf(n->units[u], NEURONS_NAME, "%s", names[u]);
    free(names);
    return st;
}

static LmStatus body_read(hid_t f, Neurons *n, const char *what) {
    int64_t dshape[2] = {n->U, n->L - 1}, sshape[3] = {n->U, n->L, n->F}, U = n->U, k = n->k;
    LM_TRY(units_read(f, n, what));
    LM_TRY(text_attr(f, "unit", n->unit_kind, sizeof n->unit_kind, what));
    LM_TRY(text_attr(f, "selection", n->selection, sizeof n->selection, what));
    LM_TRY(text_attr(f, "model", n->model, sizeof n->model, what));
    LM_TRY(h5_attr_read_f64(f, "epsilon", &n->epsilon, what));
    LM_TRY(h5_attr_read_i64(f, "hidden_size", &n->hidden_size, what));
    LM_TRY(h5_attr_read_i64(f, "vocab_size", &n->vocab_size, what));
    LM_TRY(h5_read(f, "layer_relevance/D", H5T_F64, n->D, 2, dshape, what));
    LM_TRY(h5_read(f, "awareness/scores", H5T_F64, n->scores, 3, sshape, what));
    LM_TRY(h5_read(f, "awareness/sentences", H5T_F64, n->sentences, 1, &U, what));
    LM_TRY(h5_read(f, "layer_relevance/selected", H5T_I32, n->selected, 1, &k, what));
    for (int j = 0; j < n->k; j++) {
        if (n->selected[j] >= 0 && n->selected[j] < n->L && (j == 0 || n->selected[j] > n->selected[j - 1]))
            continue;
        lm_error("%s: /layer_relevance/selected[%d] = %d is out of range or out of order", what, j,
                 n->selected[j]);
        return LM_ERUNTIME;
    }
    return neurons_read_classes(f, n, what);
}

LmStatus neurons_read(const char *path, Neurons *n) {
    char what[1100];
    hid_t f;
    int version;
    int64_t U, L, F, k;
    memset(n, 0, sizeof *n);
    snprintf(what, sizeof what, "neurons file %s", path);
    LM_TRY(h5_open_format(path, NEURONS_FORMAT, NEURONS_VERSION, &f, &version));
    LmStatus st = sizes_read(f, &U, &L, &F, &k, what);
    if (st == LM_OK) {
        neurons_init(n, (int)U, (int)L, (int)F, (int)k);
        st = body_read(f, n, what);
    }
    H5Fclose(f);
    if (st != LM_OK) neurons_free(n);
    return st;
}
