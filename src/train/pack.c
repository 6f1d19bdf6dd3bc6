#include "train/pack.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/node.h"
#include "train/pack_lora.h"
#include "util/alloc.h"

static int find_unit(const Neurons *nr, const char *name, size_t len) {
    for (int u = 0; u < nr->U; u++)
        if (strlen(nr->units[u]) == len && !strncmp(nr->units[u], name, len)) return u;
    return -1;
}

// The units whose specific neurons a direction uses: itself, or its two
// languages (awareness.unit language). Returns the count, -1 if missing.
static int dir_units(const Neurons *nr, const char *dir, int *u) {
    if (strcmp(nr->unit_kind, "language")) return (u[0] = find_unit(nr, dir, strlen(dir))) < 0 ? -1 : 1;
    const char *dash = strchr(dir, '-');
    u[0] = find_unit(nr, dir, (size_t)(dash - dir));
    u[1] = find_unit(nr, dash + 1, strlen(dash + 1));
    return u[0] < 0 || u[1] < 0 ? -1 : 2;
}

static LmStatus check_neurons(const Model *m, const PackSpec *s) {
    const Neurons *nr = s->neurons;
    const ModelConfig *c = &m->cfg;
    if (!nr) {
        lm_error("train.mode %s needs a neurons file", s->mode);
        lm_hint("run 'landermt detect' and set train.neurons to its output");
        return LM_EUSAGE;
    }
    if (nr->L != c->num_hidden_layers || nr->F != c->intermediate_size || nr->hidden_size != c->hidden_size) {
        lm_error("the neurons file was made for another model (%d layers x %d neurons, hidden %lld; "
                 "this model: %d x %d, hidden %d)", nr->L, nr->F, (long long)nr->hidden_size,
                 c->num_hidden_layers, c->intermediate_size, c->hidden_size);
        lm_hint("run 'landermt detect' with this model (model.checkpoint)");
        return LM_EUSAGE;
    }
    for (int d = 0; d < s->n_dir; d++) {
        int u[2];
        if (dir_units(nr, s->dirs[d], u) > 0) continue;
        lm_error("direction %s has no %s in the neurons file (units: %s%s)", s->dirs[d],
                 strcmp(nr->unit_kind, "language") ? "unit" : "language units", nr->units[0],
                 nr->U > 1 ? ", ..." : "");
        lm_hint("run 'landermt detect' with the same data.directions as training");
        return LM_EUSAGE;
    }
    return LM_OK;
}

static int mode_is(const PackSpec *s, const char *m) { return !strcmp(s->mode, m); }

// Whole tensors: every one (full) or those of the selected layers (layers).
static void layout_tensors(ParamPack *p, Model *m, const PackSpec *s) {
    p->tensor = xcalloc((size_t)m->n_tensors, sizeof(PackTensor));
    for (int i = 0; i < m->n_tensors; i++) {
        const TensorInfo *t = &m->tensors[i];
        int take = mode_is(s, "full");
        for (int j = 0; !take && mode_is(s, "layers") && j < s->neurons->k; j++)
            take = t->layer == s->neurons->selected[j];
        if (!take) continue;
        model_tensor_to_f32(m, i);  // trainable: float32 in the model
        p->tensor[p->n_tensor++] = (PackTensor){i, p->n};
        p->n += t->numel;
    }
}

// factor_r = mean_u Phi[u][layer][neuron_r] / the mean of that over rows:
// better-scored neurons move faster, the layer's average step is unchanged.
static void awareness_factors(PackFfn *f, const Neurons *nr) {
    f->grad_scale = xmalloc(sizeof(float) * (size_t)(f->n + 1));
    double total = 0;
    for (int r = 0; r < f->n; r++) {
        double a = 0;
        for (int u = 0; u < nr->U; u++) a += nr->scores[((size_t)u * nr->L + f->layer) * nr->F + f->neuron[r]];
        f->grad_scale[r] = (float)(a / nr->U);
        total += a / nr->U;
    }
    for (int r = 0; r < f->n; r++) f->grad_scale[r] = total > 0 ? (float)(f->grad_scale[r] * f->n / total) : 1.0f;
}

PackFfnView pack_ffn_view(const ParamPack *p, const PackFfn *f, float *buf, size_t origin, int C) {
    size_t rows = (size_t)f->n * C;
    float *at = buf + (f->off - origin);
    PackFfnView v = {NULL, NULL, NULL, NULL};
    if (p->ffn_gated) v.gate = at, at += rows;
    v.up = at, at += rows;
    v.down = at, at += rows;
    if (p->ffn_biased) v.bias = at;
    return v;
}

size_t pack_ffn_per_neuron(const ParamPack *p, int C) {
    return (size_t)(p->ffn_gated ? 3 : 2) * C + (p->ffn_biased ? 1 : 0);
}

void pack_scale_grads(ParamPack *p, int C) {
    for (int j = 0; j < p->n_ffn; j++) {
        const PackFfn *f = &p->ffn[j];
        if (!f->grad_scale) continue;
        PackFfnView v = pack_ffn_view(p, f, p->grad, 0, C);
        float *rows[3] = {v.gate, v.up, v.down};
        for (int r = 0; r < f->n; r++) {
            for (int k = 0; k < 3; k++)
                for (int c = 0; rows[k] && c < C; c++) rows[k][(size_t)r * C + c] *= f->grad_scale[r];
            if (v.bias) v.bias[r] *= f->grad_scale[r];
        }
    }
}

// Selected layer j's trainable neurons, general first, then per unit.
static void layout_ffn_layer(ParamPack *p, PackFfn *f, const Neurons *nr, int j, int C,
                             const PackSpec *s) {
    const int *owner = nr->owner + (size_t)j * nr->F;
    int want_general = !mode_is(s, "specific"), want_specific = !mode_is(s, "general");
    f->layer = nr->selected[j];
    f->n_group = 1 + nr->U;
    f->group_start = xcalloc((size_t)f->n_group + 1, sizeof(int));
    f->neuron = xmalloc(sizeof(int) * (size_t)nr->F);
    for (int g = 0; g < f->n_group; g++) {
        f->group_start[g] = f->n;
        int take = g == 0 ? want_general : want_specific;
        for (int i = 0; take && i < nr->F; i++)
            if (owner[i] == g - 1) f->neuron[f->n++] = i;
    }
    f->group_start[f->n_group] = f->n;
    f->off = p->n;
    p->n += (size_t)f->n * pack_ffn_per_neuron(p, C);
    if (s->awareness_scaled) awareness_factors(f, nr);
}

static void layout_dirs(ParamPack *p, const PackSpec *s) {
    p->n_groups = xcalloc((size_t)s->n_dir + 1, sizeof(int));
    p->groups = xcalloc((size_t)s->n_dir + 1, sizeof *p->groups);
    for (int d = 0; d < s->n_dir; d++) {
        int u[2], nu = dir_units(s->neurons, s->dirs[d], u), k = 0;
        if (!mode_is(s, "specific")) p->groups[d][k++] = 0;
        for (int i = 0; !mode_is(s, "general") && i < nu; i++) p->groups[d][k++] = 1 + u[i];
        p->n_groups[d] = k;
    }
}

// CAR classes of every neuron per (direction, selected layer).
static void layout_routes(ParamPack *p, const PackSpec *s, int C) {
    const Neurons *nr = s->neurons;
    p->n_gates = s->per_direction ? s->n_dir : 1;
    p->route_off = p->n;
    p->n += (size_t)p->n_gates * p->n_ffn * (C + 1);
    p->cls = xcalloc((size_t)s->n_dir * p->n_ffn, sizeof(unsigned char *));
    for (int d = 0; d < s->n_dir; d++) {
        int u[2] = {-2, -2};
        dir_units(nr, s->dirs[d], u);
        for (int j = 0; j < p->n_ffn; j++) {
            unsigned char *c = p->cls[d * p->n_ffn + j] = xmalloc((size_t)nr->F);
            const int *owner = nr->owner + (size_t)j * nr->F;
            for (int i = 0; i < nr->F; i++)
                c[i] = owner[i] == -1 ? NEURON_GENERAL
                       : (owner[i] == u[0] || owner[i] == u[1]) ? NEURON_SPECIFIC : NEURON_REST;
        }
    }
}

// Runs are added in packed order; a run continuing the last one with the
// same flag extends it.
static void run_add(ParamPack *p, size_t off, size_t n, int decay) {
    PackRun *r = p->n_run ? &p->run[p->n_run - 1] : NULL;
    if (r && r->decay == decay && r->off + r->n == off) {
        r->n += n;
        return;
    }
    p->run[p->n_run++] = (PackRun){off, n, decay};
}

// Weight decay on entries of 2-D weights: whole matrices, neuron rows and
// columns, LoRA's A and B; not on norms, biases or routing gates.
static void layout_decay(ParamPack *p, const Model *m) {
    int C = m->cfg.hidden_size;
    p->run = xcalloc((size_t)(p->n_tensor + 2 * p->n_ffn + p->n_lora + 2), sizeof(PackRun));
    for (int k = 0; k < p->n_tensor; k++) {
        const TensorInfo *t = &m->tensors[p->tensor[k].tensor];
        run_add(p, p->tensor[k].off, t->numel, t->ndim == 2);
    }
    for (int j = 0; j < p->n_ffn; j++) {
        size_t rows = (size_t)(p->ffn_gated ? 3 : 2) * p->ffn[j].n * C;
        run_add(p, p->ffn[j].off, rows, 1);
        if (p->ffn_biased) run_add(p, p->ffn[j].off + rows, (size_t)p->ffn[j].n, 0);
    }
    if (p->routing) run_add(p, p->route_off, (size_t)p->n_gates * p->n_ffn * (C + 1), 0);
    for (int k = 0; k < p->n_lora; k++)
        run_add(p, p->lora[k].off, (size_t)p->lora_set.rank * (p->lora[k].in + p->lora[k].out), 1);
}

// The bucket key of a whole tensor: its layer, L for the final norm and
// head (after the last block), -1 for the embedding and its norm.
static int tensor_bucket_layer(const Model *m, const TensorInfo *t) {
    if (t->layer >= 0) return t->layer;
    return t->offset == 0 || strstr(t->name, "embed") ? -1 : m->cfg.num_hidden_layers;
}

static void bucket_add(ParamPack *p, int layer, int kind, int first, size_t off, size_t n) {
    PackBucket *b = p->n_bucket ? &p->bucket[p->n_bucket - 1] : NULL;
    if (b && b->kind == kind && b->layer == layer && b->off[0] + b->len[0] == off) {
        b->count++, b->len[0] += n, b->n += n;
        return;
    }
    p->bucket[p->n_bucket++] = (PackBucket){.layer = layer, .part = -1, .kind = kind, .first = first,
                                            .count = 1, .persistent = layer < 0, .n_range = 1,
                                            .off = {off}, .len = {n}, .n = n};
}

// Segment j's neuron rows in chunks of at most PACK_CHUNK_FLOATS: each a
// bucket of its gate, up and down rows and bias entries.
static void bucket_add_ffn(ParamPack *p, int j, int C) {
    const PackFfn *f = &p->ffn[j];
    size_t per = pack_ffn_per_neuron(p, C), rows = (size_t)f->n * C;
    int nc = (int)(p->chunk_floats / per), parts = 0;
    nc = nc < 1 ? 1 : nc;
    for (int r0 = 0; r0 < f->n; r0 += nc, parts++) {
        int r1 = f->n - r0 < nc ? f->n : r0 + nc;
        PackBucket b = {.layer = f->layer, .part = parts, .kind = PACK_FFN, .first = j, .count = 1,
                        .r0 = r0, .r1 = r1};
        size_t at = f->off, nr = (size_t)(r1 - r0);
        for (int k = p->ffn_gated ? 0 : 1; k < 3; k++)  // gate, up, down rows
            b.off[b.n_range] = f->off + (size_t)(k - !p->ffn_gated) * rows + (size_t)r0 * C,
            b.len[b.n_range++] = nr * C;
        at = f->off + (size_t)(p->ffn_gated ? 3 : 2) * rows;
        if (p->ffn_biased) b.off[b.n_range] = at + (size_t)r0, b.len[b.n_range++] = nr;
        for (int k = 0; k < b.n_range; k++) b.n += b.len[k];
        p->bucket[p->n_bucket++] = b;
    }
}

static int bucket_order(const void *a, const void *b) {
    const PackBucket *x = a, *y = b;
    if (x->layer != y->layer) return y->layer - x->layer;  // head, layers top-down, embedding, gates
    return x->part - y->part;
}

// Groups consecutive entries of one layer (in each region) into buckets,
// then sorts them into backward order.
static void layout_buckets(ParamPack *p, const Model *m) {
    int C = m->cfg.hidden_size;
    size_t n_ffn_chunks = 0;
    for (int j = 0; j < p->n_ffn; j++)
        n_ffn_chunks += (size_t)p->ffn[j].n * pack_ffn_per_neuron(p, C) / p->chunk_floats + 1;
    p->bucket = xcalloc((size_t)(p->n_tensor + p->n_lora + 1) + n_ffn_chunks, sizeof(PackBucket));
    for (int k = 0; k < p->n_tensor; k++) {
        const TensorInfo *t = &m->tensors[p->tensor[k].tensor];
        bucket_add(p, tensor_bucket_layer(m, t), PACK_TENSORS, k, p->tensor[k].off, t->numel);
    }
    for (int j = 0; j < p->n_ffn; j++) bucket_add_ffn(p, j, C);
    for (int k = 0; k < p->n_lora; k++)
        bucket_add(p, p->lora[k].layer, PACK_LORA, k, p->lora[k].off,
                   (size_t)p->lora_set.rank * (p->lora[k].in + p->lora[k].out));
    if (p->routing)
        bucket_add(p, -2, PACK_ROUTES, 0, p->route_off, (size_t)p->n_gates * p->n_ffn * (C + 1));
    qsort(p->bucket, (size_t)p->n_bucket, sizeof *p->bucket, bucket_order);
}

static void packed_views(ParamPack *p, const Model *m);

static int lowest_layer(const ParamPack *p, const Model *m) {
    int low = m->cfg.num_hidden_layers;
    for (int k = 0; k < p->n_tensor; k++) {
        int l = m->tensors[p->tensor[k].tensor].layer;
        if (l < 0) return 0;  // embeddings, final norm or head: the whole model
        low = l < low ? l : low;
    }
    for (int j = 0; j < p->n_ffn; j++) low = p->ffn[j].layer < low ? p->ffn[j].layer : low;
    for (int k = 0; k < p->n_lora; k++) low = p->lora[k].layer < low ? p->lora[k].layer : low;
    return low;
}

int pack_writer(const ParamPack *p) { return !p->shared || comm_node_rank() == 0; }

// Values, gradient and moments: per rank, or once per node with this rank
// owning a slice of whole 4096-entry blocks (those of the gradient norm, so
// the norm's partial sums fall on one owner each).
static LmStatus state_alloc(ParamPack *p, const PackSpec *s) {
    p->own_lo = 0, p->own_hi = p->n;
    if (s->values_only) {  // a model to export or decode: no gradient, no moments
        p->param = falloc(p->n);
        return LM_OK;
    }
    if (!s->node_shared) {
        p->param = falloc(p->n), p->grad = falloc(p->n), p->m = falloc(p->n), p->v = falloc(p->n);
        return LM_OK;
    }
    if (comm_nodes_init(s->ranks_per_node) != 0) return LM_EUSAGE;
    p->shared = 1;
    float **state[4] = {&p->param, &p->grad, &p->m, &p->v};
    for (int k = 0; k < 4; k++) *state[k] = comm_shared_alloc(sizeof(float) * (p->n + 1));
    size_t blocks = (p->n + PACK_NORM_BLOCK - 1) / PACK_NORM_BLOCK, r = (size_t)comm_node_rank(),
           k = (size_t)comm_node_size();
    p->own_lo = blocks * r / k * PACK_NORM_BLOCK;
    p->own_hi = blocks * (r + 1) / k * PACK_NORM_BLOCK;
    p->own_hi = p->own_hi < p->n ? p->own_hi : p->n;
    p->own_lo = p->own_lo < p->n ? p->own_lo : p->n;
    return LM_OK;
}

LmStatus pack_build(ParamPack *p, Model *m, const PackSpec *s) {
    memset(p, 0, sizeof *p);
    snprintf(p->mode, sizeof p->mode, "%s", s->mode);
    int lora = mode_is(s, "lora");
    if (!mode_is(s, "full") && !lora) LM_TRY(check_neurons(m, s));
    if (lora && s->lora.selected && !s->neurons) {
        lm_error("lora.layers selected needs a neurons file");
        lm_hint("set train.neurons to the output of 'landermt detect', or lora.layers: all");
        return LM_EUSAGE;
    }
    int C = m->cfg.hidden_size, L = m->cfg.num_hidden_layers;
    p->ffn_gated = m->cfg.architecture != ARCH_BLOOM;
    p->ffn_biased = m->cfg.architecture == ARCH_BLOOM;
    layout_tensors(p, m, s);
    int neuron_mode = !mode_is(s, "full") && !mode_is(s, "layers") && !lora;
    if (neuron_mode) {
        p->ffn = xcalloc((size_t)s->neurons->k, sizeof(PackFfn));
        for (int j = 0; j < s->neurons->k; j++) layout_ffn_layer(p, &p->ffn[p->n_ffn++], s->neurons, j, C, s);
        layout_dirs(p, s);
    }
    p->n_dir = s->n_dir;
    p->routing = neuron_mode && mode_is(s, "landermt") && s->routing;
    p->scale = s->scale;
    if (p->routing) layout_routes(p, s, C);
    if (lora) LM_TRY(pack_lora_layout(p, m, s));
    p->chunk_floats = s->chunk_floats ? s->chunk_floats : PACK_CHUNK_FLOATS;
    layout_buckets(p, m);
    layout_decay(p, m);
    LM_TRY(state_alloc(p, s));
    p->route = xcalloc((size_t)L, sizeof(FfnRoute));
    p->fgrad = xcalloc((size_t)L, sizeof(FfnGrad));
    p->blocks = xcalloc((size_t)L * 3, sizeof(FfnBlock));
    p->stop_layer = lowest_layer(p, m);
    if (pack_writer(p)) pack_gather(p, m);
    if (lora) pack_lora_views(p);
    if (lora && pack_writer(p)) pack_lora_init(p, s->lora.seed);
    if (p->shared) comm_node_barrier();  // the node's values are in place
    if (p->n_ffn) packed_views(p, m);
    return LM_OK;
}

void pack_free(ParamPack *p) {
    for (int j = 0; j < p->n_ffn; j++)
        free(p->ffn[j].neuron), free(p->ffn[j].group_start), free(p->ffn[j].grad_scale);
    for (int k = 0; p->cls && k < p->n_dir * p->n_ffn; k++) free(p->cls[k]);
    free(p->cls), free(p->ffn), free(p->tensor), free(p->n_groups), free(p->groups);
    float *state[4] = {p->param, p->grad, p->m, p->v};
    for (int k = 0; k < 4; k++)
        if (p->shared) comm_shared_free(state[k]);
        else free(state[k]);
    free(p->run);
    free(p->route), free(p->fgrad), free(p->blocks), free(p->bucket), free(p->packed);
    pack_lora_free(p);
    memset(p, 0, sizeof *p);
}

// One mechanism for both directions of the copy between model and pack.
static void copy_rows(float *pack, float *model, size_t n, int to_pack) {
    if (to_pack) memcpy(pack, model, n * sizeof(float));
    else memcpy(model, pack, n * sizeof(float));
}

// The tensor behind `pslot` of layer `layer`'s LayerParams.
static int seg_index(const Model *m, int layer, size_t pslot) { return model_tensor_at(m, layer, pslot); }

// Packed rows <- the model's values of segment f's neurons (any storage).
static void gather_ffn(ParamPack *p, const PackFfn *f, const Model *m) {
    const LayerParams *w = &m->w.layers[f->layer];
    int C = m->cfg.hidden_size, F = m->cfg.intermediate_size;
    PackFfnView v = pack_ffn_view(p, f, p->param, 0, C);
    int gate = p->ffn_gated ? seg_index(m, f->layer, offsetof(LayerParams, gate_proj)) : -1;
    int up = seg_index(m, f->layer, offsetof(LayerParams, up_proj));
    int down = seg_index(m, f->layer, offsetof(LayerParams, down_proj));
    for (int r = 0; r < f->n; r++) {
        size_t i = (size_t)f->neuron[r];
        if (v.gate) model_tensor_read(m, gate, i * C, (size_t)C, v.gate + (size_t)r * C);
        model_tensor_read(m, up, i * C, (size_t)C, v.up + (size_t)r * C);
        if (v.bias) v.bias[r] = w->up_bias[i];
    }
    float *row = falloc((size_t)F);  // down (C,F) row by row: column i of it is neuron i's
    for (int c = 0; c < C; c++) {
        model_tensor_read(m, down, (size_t)c * F, (size_t)F, row);
        for (int r = 0; r < f->n; r++) v.down[(size_t)r * C + c] = row[f->neuron[r]];
    }
    free(row);
    if (f->n == F) {  // every neuron is in the pack now: the mapped rows are never read again
        if (gate >= 0) model_tensor_release(m, gate);
        model_tensor_release(m, up), model_tensor_release(m, down);
    }
}

// The model's tensors <- segment f's packed values (made float32 first).
static void scatter_ffn(const ParamPack *p, const PackFfn *f, Model *m) {
    int C = m->cfg.hidden_size, F = m->cfg.intermediate_size;
    PackFfnView v = pack_ffn_view(p, f, p->param, 0, C);
    size_t slots[3] = {offsetof(LayerParams, gate_proj), offsetof(LayerParams, up_proj),
                       offsetof(LayerParams, down_proj)};
    float *t[3] = {NULL, NULL, NULL};
    for (int k = p->ffn_gated ? 0 : 1; k < 3; k++) {
        int i = seg_index(m, f->layer, slots[k]);
        model_tensor_to_f32(m, i);
        t[k] = model_tensor_f32(m, i);
    }
    float *up_bias = m->w.layers[f->layer].up_bias;
    for (int r = 0; r < f->n; r++) {
        size_t i = (size_t)f->neuron[r];
        if (v.gate) memcpy(t[0] + i * C, v.gate + (size_t)r * C, sizeof(float) * C);
        memcpy(t[1] + i * C, v.up + (size_t)r * C, sizeof(float) * C);
        if (v.bias) up_bias[i] = v.bias[r];
        for (int c = 0; c < C; c++) t[2][(size_t)c * F + i] = v.down[(size_t)r * C + c];
    }
}

static void copy_tensors(const ParamPack *p, Model *m, int to_pack) {
    for (int k = 0; k < p->n_tensor; k++) {
        const TensorInfo *t = &m->tensors[p->tensor[k].tensor];
        copy_rows(p->param + p->tensor[k].off, model_tensor_f32(m, p->tensor[k].tensor), t->numel, to_pack);
    }
}

void pack_gather(ParamPack *p, const Model *m) {
    copy_tensors(p, (Model *)m, 1);  // reads only
    for (int j = 0; j < p->n_ffn; j++) gather_ffn(p, &p->ffn[j], m);
}

void pack_scatter(const ParamPack *p, Model *m) {
    copy_tensors(p, m, 0);
    for (int j = 0; j < p->n_ffn; j++) scatter_ffn(p, &p->ffn[j], m);
}

void pack_scatter_tensors(const ParamPack *p, Model *m) { copy_tensors(p, m, 0); }

// The model reads the trained neurons' values from the pack (FfnPacked).
static void packed_views(ParamPack *p, const Model *m) {
    int C = m->cfg.hidden_size;
    p->packed = xcalloc((size_t)m->cfg.num_hidden_layers, sizeof(FfnPacked));
    for (int j = 0; j < p->n_ffn; j++) {
        const PackFfn *f = &p->ffn[j];
        PackFfnView v = pack_ffn_view(p, f, p->param, 0, C);
        p->packed[f->layer] = (FfnPacked){f->n, f->neuron, v.gate, v.up, v.down, v.bias};
    }
}

// Gradient blocks of direction d for rows [r0, r1) of FFN segment j: one
// per group it uses, pointing at those rows of gate, up, down and bias in
// v (whose rows start at r0).
static void ffn_blocks(ParamPack *p, int d, int j, int r0, int r1, PackFfnView v, int C) {
    const PackFfn *f = &p->ffn[j];
    FfnBlock *b = p->blocks + (size_t)f->layer * 3;
    int n = 0;
    for (int k = 0; k < p->n_groups[d]; k++) {
        int grp = p->groups[d][k];
        int a = f->group_start[grp] > r0 ? f->group_start[grp] : r0;
        int e = f->group_start[grp + 1] < r1 ? f->group_start[grp + 1] : r1;
        if (a >= e) continue;
        size_t at = (size_t)(a - r0) * C;
        b[n++] = (FfnBlock){e - a, f->neuron + a, v.gate ? v.gate + at : NULL, v.up + at, v.down + at,
                            v.bias ? v.bias + (a - r0) : NULL};
    }
    p->fgrad[f->layer].n_block = n;
    p->fgrad[f->layer].block = b;
}

// Direction d's gates of every segment, their gradients in buf (holding
// packed entries from origin).
static void routes_point(ParamPack *p, float *buf, size_t origin, int C) {
    int gate = p->n_gates > 1 ? p->dir : 0;
    for (int j = 0; j < p->n_ffn; j++) {
        int l = p->ffn[j].layer;
        size_t off = p->route_off + ((size_t)gate * p->n_ffn + j) * (C + 1);
        p->route[l] = (FfnRoute){p->cls[p->dir * p->n_ffn + j], p->param + off, p->param + off + C, p->scale};
        p->fgrad[l].d_route_w = buf + (off - origin);
        p->fgrad[l].d_route_b = buf + (off - origin) + C;
    }
}

void pack_point(ParamPack *p, Model *m, ModelWeights *g, int bi, float *buf) {
    const PackBucket *b = &p->bucket[bi];
    int C = m->cfg.hidden_size;
    if (b->kind == PACK_FFN) {  // buf: the chunk's gate, up, down rows, bias entries
        size_t nr = (size_t)(b->r1 - b->r0) * C;
        float *at = buf;
        PackFfnView v = {NULL, NULL, NULL, NULL};
        if (p->ffn_gated) v.gate = at, at += nr;
        v.up = at, at += nr;
        v.down = at, at += nr;
        if (p->ffn_biased) v.bias = at;
        ffn_blocks(p, p->dir, b->first, b->r0, b->r1, v, C);
        return;
    }
    if (b->kind == PACK_ROUTES) {
        routes_point(p, buf, b->off[0], C);
        return;
    }
    for (int k = b->first; k < b->first + b->count; k++) {
        if (b->kind == PACK_TENSORS) {
            *model_weights_slot(m, g, p->tensor[k].tensor) = buf + (p->tensor[k].off - b->off[0]);
            if (m->cfg.tie_word_embeddings) g->lm_head = g->embed_tokens;
        } else {
            const PackLora *a = &p->lora[k];
            float *at = buf + (a->off - b->off[0]);
            p->lora_grad[(size_t)a->layer * LORA_N + a->target] =
                (LoraGrad){at, at + (size_t)p->lora_set.rank * a->in};
        }
    }
}

void pack_chunked(ParamPack *p, int on) {
    for (int j = 0; j < p->n_ffn; j++) p->fgrad[p->ffn[j].layer].n_chunk = on ? 0 : 1;
    for (int b = 0; on && b < p->n_bucket; b++)
        if (p->bucket[b].kind == PACK_FFN) p->fgrad[p->bucket[b].layer].n_chunk++;
}

void pack_micro_begin(ParamPack *p, Model *m, int d, ModelWeights *g, BackwardOpts *o) {
    memset(o, 0, sizeof *o);
    o->stop_layer = p->stop_layer;
    p->dir = d;
    m->route = p->routing ? p->route : NULL;
    m->lora = p->n_lora ? &p->lora_set : NULL;
    m->packed = p->packed;
    o->lora = p->n_lora ? p->lora_grad : NULL;
    o->ffn = p->n_ffn ? p->fgrad : NULL;
    for (int b = 0; b < p->n_bucket; b++)  // whole ranges straight into p->grad
        if (p->bucket[b].kind != PACK_FFN) pack_point(p, m, g, b, p->grad + p->bucket[b].off[0]);
    for (int j = 0; j < p->n_ffn; j++)  // every row of a segment as one chunk
        ffn_blocks(p, d, j, 0, p->ffn[j].n, pack_ffn_view(p, &p->ffn[j], p->grad, 0, m->cfg.hidden_size),
                   m->cfg.hidden_size);
    pack_chunked(p, 0);
}

static uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001B3ull + (h >> 31); }

uint64_t pack_layout_hash(const ParamPack *p) {
    uint64_t h = 0xCBF29CE484222325ull;
    for (const char *c = p->mode; *c; c++) h = mix(h, (uint64_t)(unsigned char)*c);
    h = mix(mix(h, p->n), (uint64_t)p->n_gates);
    for (int k = 0; k < p->n_tensor; k++) h = mix(h, (uint64_t)p->tensor[k].tensor);
    for (int k = 0; k < p->n_lora; k++)
        h = mix(mix(h, (uint64_t)p->lora[k].layer), (uint64_t)p->lora[k].target);
    h = mix(h, (uint64_t)p->lora_set.rank);
    for (int j = 0; j < p->n_ffn; j++) {
        h = mix(h, (uint64_t)p->ffn[j].layer);
        for (int r = 0; r < p->ffn[j].n; r++) h = mix(h, (uint64_t)p->ffn[j].neuron[r]);
    }
    return h;
}

LmStatus pack_restore_check(const ParamPack *p, const TrainState *ts, uint64_t base_checksum,
                            const char *base_name, const char *path) {
    if (!strcmp(p->mode, "full")) {
        if (!ts->n_packed && ts->exp_avg && ts->exp_avg_sq) return LM_OK;
        lm_error("checkpoint %s has no full-model optimizer state (train.mode %s)", path, p->mode);
        lm_hint("resume with the train.mode that wrote it");
        return LM_EUSAGE;
    }
    if (!ts->n_packed || ts->layout_hash != pack_layout_hash(p) || (size_t)ts->n_packed != p->n) {
        lm_error("checkpoint %s was written by another train.mode, neurons file or routing setup", path);
        lm_hint("resume with the configuration that wrote it");
        return LM_EUSAGE;
    }
    if (ts->base_checksum != base_checksum) {
        lm_error("checkpoint %s belongs to a different base model than %s (checksum %016llx, "
                 "the base now gives %016llx): the base file changed", path,
                 base_name[0] ? base_name : "the random initialisation",
                 (unsigned long long)ts->base_checksum, (unsigned long long)base_checksum);
        lm_hint("restore the original base checkpoint (model.checkpoint) or start a new run");
        return LM_ERUNTIME;
    }
    return LM_OK;
}

LmStatus pack_restore(ParamPack *p, Model *m, const TrainState *ts, uint64_t base_checksum,
                      const char *base_name, const char *path) {
    LM_TRY(pack_restore_check(p, ts, base_checksum, base_name, path));
    if (!pack_writer(p)) {  // the node's rank 0 fills the shared state
        comm_node_barrier();
        if (strcmp(p->mode, "full")) pack_scatter_tensors(p, m);  // full: ckpt_read loaded the model
        return LM_OK;
    }
    if (!strcmp(p->mode, "full")) {
        if (p->m) memcpy(p->m, ts->exp_avg, p->n * sizeof(float));
        if (p->v) memcpy(p->v, ts->exp_avg_sq, p->n * sizeof(float));
        pack_gather(p, m);
        if (p->shared) comm_node_barrier();
        return LM_OK;
    }
    float *dst[3] = {p->param, p->m, p->v};  // (borrowed reads are in place already)
    const float *src[3] = {ts->packed, ts->packed_m, ts->packed_v};
    for (int k = 0; k < 3; k++)
        if (dst[k] && src[k] && dst[k] != src[k]) memcpy(dst[k], src[k], p->n * sizeof(float));
    if (p->shared) comm_node_barrier();
    pack_scatter_tensors(p, m);  // neuron segments: read from the pack (pack_scatter for the rest)
    return LM_OK;
}

LoraSpec pack_lora_spec(const Config *c) {
    static const char *targets[CFG_LIST_MAX];
    for (int i = 0; i < c->lora.target.n; i++) targets[i] = c->lora.target.item[i];
    return (LoraSpec){c->lora.rank, (float)c->lora.alpha, targets, c->lora.target.n,
                      !strcmp(c->lora.layers, "selected"), (uint64_t)c->train.seed};
}

LmStatus pack_spec_config(const Config *c, Neurons *nr, PackSpec *spec) {
    static const char *dirs[CFG_LIST_MAX];
    *spec = (PackSpec){.mode = c->train.mode, .routing = c->routing.enabled,
                       .per_direction = c->routing.per_direction, .scale = (float)c->routing.scale,
                       .awareness_scaled = c->train.awareness_scaled_grads};
    spec->lora = pack_lora_spec(c);
    spec->chunk_floats = (size_t)c->debug.pack_chunk_floats;
    spec->node_shared = c->train.node_shared;
    spec->ranks_per_node = c->debug.ranks_per_node;
    int neuron_mode = strcmp(c->train.mode, "full") && strcmp(c->train.mode, "layers") &&
                      strcmp(c->train.mode, "lora");
    if (spec->awareness_scaled && !neuron_mode) {
        lm_error("train.awareness_scaled_grads scales neuron gradients; train.mode %s has none",
                 c->train.mode);
        lm_hint("use it with train.mode landermt, general or specific");
        return LM_EUSAGE;
    }
    if (!strcmp(c->train.mode, "full")) return LM_OK;
    if (!strcmp(c->train.mode, "lora")) {  // any streams; neurons only for the selected layers
        if (!spec->lora.selected) return LM_OK;
        LM_TRY(config_require(c, (const char *const[]){"train.neurons"}, 1));
        LM_TRY(neurons_read(c->train.neurons, nr));
        spec->neurons = nr;
        return LM_OK;
    }
    LM_TRY(config_require(c, (const char *const[]){"train.neurons"}, 1));
    if (c->data.mono.n || !c->data.directions.n) {
        lm_error("train.mode %s trains translation directions only; data.mono must be empty and "
                 "data.directions non-empty", c->train.mode);
        lm_hint("use train.mode full for language modelling");
        return LM_EUSAGE;
    }
    LM_TRY(neurons_read(c->train.neurons, nr));
    for (int i = 0; i < c->data.directions.n; i++) dirs[i] = c->data.directions.item[i];
    spec->neurons = nr, spec->dirs = dirs, spec->n_dir = c->data.directions.n;
    return LM_OK;
}

void pack_landermt_state(const ParamPack *p, const Neurons *nr, const char *const *dirs,
                         LandermtState *out) {
    *out = (LandermtState){nr, p->routing ? p->n_gates : 0, p->param + p->route_off, p->scale,
                           p->n_gates > 1 ? dirs : NULL};
}
