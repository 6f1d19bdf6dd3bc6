#include "landermt/detect.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/open.h"
#include "landermt/awareness.h"
#include "landermt/classify.h"
#include "mpi/comm.h"
#include "train/model_load.h"
#include "util/alloc.h"
#include "util/timer.h"

static int add_unique(char (*units)[NEURONS_NAME], int n, const char *name, size_t len) {
    for (int i = 0; i < n; i++)
        if (strlen(units[i]) == len && !strncmp(units[i], name, len)) return n;
    snprintf(units[n], NEURONS_NAME, "%.*s", (int)len, name);
    return n + 1;
}

int detect_units(const Config *c, char (*units)[NEURONS_NAME]) {
    int n = 0;
    const CfgList *dirs = &c->data.directions;
    if (strcmp(c->awareness.unit, "language")) {
        for (int i = 0; i < dirs->n; i++) n = add_unique(units, n, dirs->item[i], strlen(dirs->item[i]));
        return n;
    }
    for (int i = 0; i < c->awareness.languages.n; i++)
        n = add_unique(units, n, c->awareness.languages.item[i], strlen(c->awareness.languages.item[i]));
    for (int i = 0; c->awareness.languages.n == 0 && i < dirs->n; i++) {
        const char *d = dirs->item[i], *dash = strchr(d, '-');
        n = add_unique(units, n, d, (size_t)(dash - d));
        n = add_unique(units, n, dash + 1, strlen(dash + 1));
    }
    return n;
}

typedef struct {
    const Config *cfg;
    Model model;
    Acts acts;
    ModelWeights none;   // all-NULL gradients: activation gradients only
    BatchBuf bb;
    Awareness aw;
    Tokenizer tok;
    int U;
    char (*units)[NEURONS_NAME];
} Detect;

void detect_sentence_weights(float *weight, int b, int t) {
    for (int r = 0; r < b; r++) {
        float *w = weight + (size_t)r * t;
        int n = 0;
        for (int j = 0; j < t; j++) n += w[j] != 0.0f;
        for (int j = 0; j < t && n; j++) w[j] = w[j] != 0.0f ? 1.0f / (float)n : 0.0f;
    }
}

static void score_batch(Detect *d, int u) {
    Batch *b = &d->bb.batch;
    d->aw.unit = u, d->aw.b = b->b, d->aw.t = b->t, d->aw.len = d->bb.len;
    if (b->b == 0) return;
    double ls, nt;
    model_forward(&d->model, &d->acts, b->tokens, b->b, b->t);
    awareness_add_relevance(&d->aw, &d->acts);
    model_loss(&d->model, &d->acts, b->targets, b->weight, 1.0f, &ls, &nt);
    BackwardOpts o = {.stop_layer = 0, .ffn_hook = awareness_hook, .hook_ctx = &d->aw};
    model_backward(&d->model, &d->acts, b->tokens, &d->none, &o);
}

// Whole micro-batches are dealt to the ranks in turn (batch k to rank
// k mod R) rather than split across them: each sentence is then computed
// in the same batch, with the same padding, whatever the number of ranks,
// so the scores agree to the last bits but for the order of the double
// sums.
static LmStatus score_unit(Detect *d, int u) {
    const Config *c = d->cfg;
    Stream s;
    LM_TRY(stream_open_config(&s, c, &d->tok, d->units[u], c->detect.split, d->model.cfg.vocab_size, 0));
    int64_t total = s.rd.n;
    if (c->detect.max_sentences > 0 && total > c->detect.max_sentences) total = c->detect.max_sentences;
    LmStatus st = LM_OK;
    for (int64_t k = 0, done = 0; st == LM_OK && done < total; k++) {
        int g = (int)(total - done < c->detect.batch_size ? total - done : c->detect.batch_size);
        if (k % comm_size() == comm_rank()) {
            s.epoch = 0, s.cursor = done;
            st = stream_next(&s, g, c->train.seq_len, 0, 1, &d->bb);
            detect_sentence_weights(d->bb.weight, d->bb.batch.b, d->bb.batch.t);
            if (st == LM_OK) score_batch(d, u);
        }
        done += g;
    }
    stream_close(&s);
    return st;
}

// Layers from D (or the explicit list); LM_EUSAGE naming the key when the
// request is impossible for this model.
static LmStatus select_layers(const Config *c, const double *Dmean, int L, Neurons *n) {
    const char *sel = c->layers.selection;
    if (!strcmp(sel, "list")) {
        for (int j = 0; j < c->layers.list.n; j++) {
            if (c->layers.list.v[j] < L) continue;
            lm_error("layers.list has layer %d but the model has %d layers (0..%d)", c->layers.list.v[j], L, L - 1);
            return LM_EUSAGE;
        }
        for (int j = 0; j < n->k; j++) n->selected[j] = c->layers.list.v[j];
        for (int j = 1; j < n->k; j++)  // ascending, as the file format wants
            for (int i = j; i > 0 && n->selected[i] < n->selected[i - 1]; i--) {
                int t = n->selected[i];
                n->selected[i] = n->selected[i - 1], n->selected[i - 1] = t;
            }
        return LM_OK;
    }
    int got = !strcmp(sel, "topk") ? layers_select_topk(Dmean, L, n->k, n->selected)
                                   : layers_select_spikes(Dmean, L, n->k, n->selected);
    if (got == n->k) return LM_OK;
    lm_error("layers.k = %d is impossible for a model of %d layers with layers.selection %s", n->k, L, sel);
    lm_hint("use layers.k <= %d", !strcmp(sel, "topk") ? L - 1 : L);
    return LM_EUSAGE;
}

// Means per sentence, D, layers and classes from the summed statistics.
static LmStatus build_neurons(Detect *d, Neurons *n) {
    const Config *c = d->cfg;
    int U = d->U, L = d->aw.L, F = d->aw.F;
    int k = !strcmp(c->layers.selection, "list") ? c->layers.list.n : c->layers.k;
    neurons_init(n, U, L, F, k);
    double *A = xcalloc((size_t)U * L, sizeof(double)), *Dmean = xcalloc((size_t)L, sizeof(double));
    for (int u = 0; u < U; u++) {
        double s = d->aw.sentences[u];
        snprintf(n->units[u], NEURONS_NAME, "%s", d->units[u]);
        n->sentences[u] = s;
        for (int l = 0; l < L; l++) A[u * L + l] = d->aw.act[u * L + l] / s;
        for (size_t i = 0; i < (size_t)L * F; i++)
            n->scores[(size_t)u * L * F + i] = d->aw.phi[(size_t)u * L * F + i] / s;
    }
    relevance_transitions(A, U, L, n->D, Dmean);
    LmStatus st = select_layers(c, Dmean, L, n);
    for (int j = 0; st == LM_OK && j < k; j++)
        classify_layer(n->scores + (size_t)n->selected[j] * F, U, F, (long)L * F, c->awareness.epsilon,
                       n->owner + (size_t)j * F);
    snprintf(n->unit_kind, sizeof n->unit_kind, "%.15s", c->awareness.unit);
    snprintf(n->selection, sizeof n->selection, "%.15s", c->layers.selection);
    snprintf(n->model, sizeof n->model, "%s", c->model.checkpoint);
    n->epsilon = c->awareness.epsilon;
    n->hidden_size = d->model.cfg.hidden_size;
    n->vocab_size = d->model.cfg.vocab_size;
    free(A), free(Dmean);
    return st;
}

// A unit without scored sentences has no awareness: refuse it by name.
static LmStatus check_counts(const Detect *d) {
    for (int u = 0; u < d->U; u++) {
        if (d->aw.sentences[u] > 0) continue;
        lm_error("no sentence of unit '%s' could be scored in split '%s' (all longer than "
                 "train.seq_len %d?)", d->units[u], d->cfg->detect.split, d->cfg->train.seq_len);
        lm_hint("check the corpus for that direction, or raise train.seq_len");
        return LM_ERUNTIME;
    }
    return LM_OK;
}

static LmStatus detect_setup(Detect *d, const Config *c) {
    d->cfg = c;
    d->units = xcalloc(2 * CFG_LIST_MAX + 1, sizeof *d->units);
    d->U = detect_units(c, d->units);
    if (d->U < 2) {
        lm_error("detect needs at least two units to tell language-specific from general neurons; "
                 "got %d", d->U);
        lm_hint("list two or more directions in data.directions (or languages in awareness.languages)");
        return LM_EUSAGE;
    }
    LM_TRY(config_require(c, (const char *const[]){"data.corpus"}, 1));
    LM_TRY(model_from_config(c, &d->model));
    LM_TRY(corpus_check_vocab(c->data.corpus, d->model.cfg.vocab_size));
    if (c->model.checkpoint[0]) LM_TRY(corpus_check_tokenizer(c->data.corpus, c->model.checkpoint));
    LM_TRY(corpus_tokenizer(c->data.corpus, &d->tok));
    const ModelConfig *mc = &d->model.cfg;
    int rows = c->detect.batch_size;
    acts_init(&d->acts, mc, rows, c->train.seq_len);
    model_weights_none(&d->model, &d->none);
    batchbuf_init(&d->bb, rows, c->train.seq_len);
    awareness_init(&d->aw, d->U, mc->num_hidden_layers, mc->intermediate_size);
    return LM_OK;
}

static void detect_free(Detect *d) {
    if (d->acts.x) acts_free(&d->acts);
    if (d->model.tensors) model_free(&d->model);
    if (d->bb.tokens) batchbuf_free(&d->bb);
    if (d->aw.phi) awareness_free(&d->aw);
    tokenizer_free(&d->tok);
    model_weights_free(&d->none);
    free(d->units);
}

static LmStatus detect_score(Detect *d) {
    double start = timer_now();
    for (int u = 0; u < d->U; u++) {
        double t0 = timer_now(), before = d->aw.sentences[u];
        LM_TRY(score_unit(d, u));
        double n = d->aw.sentences[u] - before, now = timer_now();
        comm_allreduce_f64(&n, 1);
        if (comm_rank() == 0)
            printf("detect %-10s %6.0f sentences in %6.2f s (%.1f sentences/s) | unit %d/%d | eta %.0f s\n",
                   d->units[u], n, now - t0, n / (now - t0), u + 1, d->U,
                   (now - start) / (u + 1) * (d->U - u - 1));
    }
    awareness_allreduce(&d->aw);
    return check_counts(d);
}

LmStatus detect_run(const Config *c) {
    Detect d;
    memset(&d, 0, sizeof d);
    tokenizer_init(&d.tok);
    Neurons n;
    memset(&n, 0, sizeof n);
    LmStatus st = (LmStatus)comm_agree_status(detect_setup(&d, c));
    if (st == LM_OK) st = detect_score(&d);
    if (st == LM_OK) st = build_neurons(&d, &n);
    if (st == LM_OK && comm_rank() == 0) st = neurons_write(c->detect.output, &n);
    st = (LmStatus)comm_agree_status(st);
    if (st == LM_OK && comm_rank() == 0) {
        printf("selected layers:");
        for (int j = 0; j < n.k; j++) printf(" %d", n.selected[j]);
        printf("\nwrote %s\n", c->detect.output);
    }
    neurons_free(&n);
    detect_free(&d);
    return st;
}
