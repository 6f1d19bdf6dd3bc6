// Beam search (docs/decoding.md), in the fairseq style: every sentence
// keeps K live hypotheses in K rows of the KV cache. A step scores all
// continuations of its live beams, keeps the best 2K; an eos among the
// first K of them finishes a hypothesis (score = log-probability / length,
// eos counted), the best K others live on. A sentence is done when K
// hypotheses have finished or its budget is used up (then the live ones
// count as finished, without eos). Width 1 gives exactly greedy search.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"
#include "model/kvcache.h"
#include "util/alloc.h"

typedef struct {
    double score;  // log-probability of the hypothesis
    int parent;    // cache row it extends
    int tok;
} Cand;

typedef struct {
    int n, K, V, Vu, M;        // sentences, width, vocab, ids generated, max_new_tokens
    int eos;
    double *score, *score2;    // (n*K) live beams' log-probabilities (+ next step's)
    unsigned char *alive, *alive2;  // (n*K)
    int32_t *hist, *hist2;     // (n*K, M) tokens of each beam
    int *src, *tok;            // (n*K) parent row and new token of each next beam
    int *budget, *done, *n_fin;  // (n)
    double *best;              // (n) normalised score of the best finished hypothesis
    Cand *cand;                // (2K)
} Beam;

static void beam_init(Beam *b, int n, const DecodeOpts *o, int V) {
    size_t rows = (size_t)n * o->beam;
    *b = (Beam){.n = n, .K = o->beam, .V = V, .Vu = decode_vocab(o, V), .M = o->max_new_tokens,
               .eos = o->eos_id};
    b->score = xcalloc(rows, sizeof(double)), b->score2 = xcalloc(rows, sizeof(double));
    b->alive = xcalloc(rows, 1), b->alive2 = xcalloc(rows, 1);
    b->hist = xcalloc(rows * b->M, sizeof(int32_t)), b->hist2 = xcalloc(rows * b->M, sizeof(int32_t));
    b->src = xcalloc(rows, sizeof(int)), b->tok = xcalloc(rows, sizeof(int));
    b->budget = xcalloc((size_t)n, sizeof(int)), b->done = xcalloc((size_t)n, sizeof(int));
    b->n_fin = xcalloc((size_t)n, sizeof(int));
    b->best = xcalloc((size_t)n, sizeof(double));
    b->cand = xcalloc((size_t)2 * b->K, sizeof(Cand));
    for (int s = 0; s < n; s++) b->best[s] = -INFINITY;
}

static void beam_free(Beam *b) {
    free(b->score), free(b->score2), free(b->alive), free(b->alive2), free(b->hist);
    free(b->hist2), free(b->src), free(b->tok), free(b->budget), free(b->done), free(b->n_fin);
    free(b->best), free(b->cand);
}

// Inserts c into the sorted top list (cap entries) after any equal score,
// so ties keep the earlier beam and the smaller token id.
static int cand_insert(Cand *top, int n, int cap, Cand c) {
    if (n == cap && !(c.score > top[n - 1].score)) return n;
    int i = n < cap ? n : cap - 1;
    while (i > 0 && c.score > top[i - 1].score) top[i] = top[i - 1], i--;
    top[i] = c;
    return n < cap ? n + 1 : n;
}

// The best 2K continuations of sentence s's live beams.
static int top_candidates(Beam *b, int s, const float *logits) {
    int nc = 0, cap = 2 * b->K;
    for (int r = s * b->K; r < (s + 1) * b->K; r++) {
        if (!b->alive[r]) continue;
        const float *x = logits + (size_t)r * b->V;
        double mx = x[0], sum = 0;
        for (int v = 1; v < b->Vu; v++) mx = x[v] > mx ? x[v] : mx;
        for (int v = 0; v < b->Vu; v++) sum += exp(x[v] - mx);
        double base = b->score[r] - (mx + log(sum));  // score + log-softmax = base + x[v]
        for (int v = 0; v < b->Vu; v++) {
            double sc = base + x[v];
            if (nc < cap || sc > b->cand[nc - 1].score) nc = cand_insert(b->cand, nc, cap, (Cand){sc, r, v});
        }
    }
    return nc;
}

// A hypothesis of row `row` with its t tokens ends (norm = its normalised
// score); the best one so far becomes sentence s's output.
static void finish(Beam *b, int s, int row, int t, double norm, int32_t *out, int *n_out) {
    b->n_fin[s]++;
    if (!(norm > b->best[s])) return;
    b->best[s] = norm;
    memcpy(out + (size_t)s * b->M, b->hist + (size_t)row * b->M, sizeof(int32_t) * (size_t)t);
    n_out[s] = t;
}

// Step t of sentence s (t tokens generated so far): sets the parent and
// token of each of its next beams (src, tok, score2, alive2).
static void sentence_step(Beam *b, int s, int t, const float *logits, int32_t *out, int *n_out) {
    int K = b->K, k = 0, r0 = s * K;
    if (t == b->budget[s]) {
        for (int r = r0; r < r0 + K; r++)
            if (b->alive[r]) finish(b, s, r, t, t ? b->score[r] / t : 0.0, out, n_out);
        b->done[s] = 1;
    }
    int nc = b->done[s] ? 0 : top_candidates(b, s, logits);
    for (int i = 0; i < nc && k < K; i++) {
        const Cand *c = &b->cand[i];
        if (c->tok != b->eos) {
            b->src[r0 + k] = c->parent, b->tok[r0 + k] = c->tok;
            b->score2[r0 + k] = c->score, b->alive2[r0 + k++] = 1;
        } else if (i < K) {
            finish(b, s, c->parent, t, c->score / (t + 1), out, n_out);
        }
    }
    for (; k < K; k++) b->alive2[r0 + k] = 0;
    if (b->n_fin[s] >= K) b->done[s] = 1;
}

// Moves the next beams in (histories extended by their token) and lists
// the rows the model must run: their tokens in next, n_new[r] = 1. Rows
// of finished sentences are released (src = -1); a beam that reached its
// budget needs no run.
static int beam_advance(Beam *b, int t, int *n_new, int *next) {
    int active = 0;
    for (int r = 0; r < b->n * b->K; r++) {
        int s = r / b->K, live = b->alive2[r] && !b->done[s];
        int32_t *row = b->hist2 + (size_t)r * b->M;
        if (live) memcpy(row, b->hist + (size_t)b->src[r] * b->M, sizeof(int32_t) * (size_t)t);
        if (live) row[t] = b->tok[r];
        else b->src[r] = -1;
        b->alive2[r] = (unsigned char)live;
        n_new[r] = live && t + 1 < b->budget[s];
        if (n_new[r]) next[active++] = b->tok[r];
    }
    int32_t *h = b->hist; b->hist = b->hist2, b->hist2 = h;
    double *sc = b->score; b->score = b->score2, b->score2 = sc;
    unsigned char *al = b->alive; b->alive = b->alive2, b->alive2 = al;
    return active;
}

static int any_running(const Beam *b) {
    for (int s = 0; s < b->n; s++)
        if (!b->done[s]) return 1;
    return 0;
}

void decode_beam(const Model *m, const DecodePrompts *p, const DecodeOpts *o, int32_t *out,
                 int *n_out) {
    int n = p->n, K = o->beam;
    if (n == 0) return;
    Beam b;
    beam_init(&b, n, o, m->cfg.vocab_size);
    int64_t longest = 0;
    int *n_new = xcalloc((size_t)n * K, sizeof(int)), *next = xcalloc((size_t)n * K, sizeof(int));
    for (int s = 0; s < n; s++) {  // the prompt goes into beam 0; the others start dead
        int64_t len = p->off[s + 1] - p->off[s];
        longest = len > longest ? len : longest;
        n_new[s * K] = (int)len, b.alive[s * K] = 1;
        b.budget[s] = decode_budget(o, len);
        n_out[s] = 0;
    }
    KvCache kc;
    kvcache_init(&kc, &m->cfg, n * K, (int)(longest + o->max_new_tokens));
    const float *logits = kvcache_forward(m, &kc, (const int *)p->ids + p->off[0], n_new, 1);
    for (int t = 0; any_running(&b); t++) {
        for (int s = 0; s < n; s++)
            if (!b.done[s]) sentence_step(&b, s, t, logits, out, n_out);
        int active = beam_advance(&b, t, n_new, next);
        kvcache_reorder(&kc, b.src);
        if (active) logits = kvcache_forward(m, &kc, next, n_new, 1);
    }
    kvcache_free(&kc);
    free(n_new), free(next);
    beam_free(&b);
}
