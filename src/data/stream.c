#include "data/stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/rng.h"

static uint64_t fnv1a(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static int64_t block_size(const Stream *s, int64_t b) {
    int64_t rest = s->rd.n - b * STREAM_BLOCK;
    return rest < STREAM_BLOCK ? rest : STREAM_BLOCK;
}

// Seed of one permutation: (stream seed, epoch, block or -1 for the order
// of blocks), mixed so that neighbouring values give unrelated streams.
static void perm_seed(Rng *r, const Stream *s, int64_t epoch, int64_t block) {
    rng_seed(r, s->seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(epoch + 1)) ^
                    (0xC2B2AE3D27D4EB4Full * (uint64_t)(block + 2)));
}

static void order_build(Stream *s, int64_t epoch) {
    if (s->order_epoch == epoch) return;
    Rng r;
    perm_seed(&r, s, epoch, -1);
    if (s->shuffle) rng_permute(&r, s->block_order, s->n_blocks);
    else for (int64_t b = 0; b < s->n_blocks; b++) s->block_order[b] = b;
    s->block_pos[0] = 0;
    for (int64_t j = 0; j < s->n_blocks; j++)
        s->block_pos[j + 1] = s->block_pos[j] + block_size(s, s->block_order[j]);
    s->order_epoch = epoch;
}

static void block_free(StreamBlock *c) {
    free(c->perm), free(c->src_off), free(c->tgt_off), free(c->src), free(c->tgt);
    memset(c, 0, sizeof *c);
    c->block = -1;
}

// Local offsets of one side of sentences [first, first+n).
static int64_t *local_offsets(const int64_t *global, int64_t first, int64_t n) {
    int64_t *o = xmalloc(sizeof(int64_t) * (size_t)(n + 1));
    for (int64_t i = 0; i <= n; i++) o[i] = global[first + i] - global[first];
    return o;
}

static LmStatus block_load(Stream *s, StreamBlock *c, int64_t b) {
    block_free(c);
    int64_t first = b * STREAM_BLOCK, n = block_size(s, b);
    c->block = b, c->epoch = s->order_epoch, c->n = n;
    c->tgt_off = local_offsets(s->rd.tgt_offsets, first, n);
    c->tgt = xmalloc(sizeof(int32_t) * (size_t)(c->tgt_off[n] + 1));
    if (s->rd.has_src) {
        c->src_off = local_offsets(s->rd.src_offsets, first, n);
        c->src = xmalloc(sizeof(int32_t) * (size_t)(c->src_off[n] + 1));
    }
    c->perm = xmalloc(sizeof(int64_t) * (size_t)n);
    Rng r;
    perm_seed(&r, s, s->order_epoch, b);
    if (s->shuffle) rng_permute(&r, c->perm, n);
    else for (int64_t i = 0; i < n; i++) c->perm[i] = i;
    return corpus_reader_read(&s->rd, first, n, c->src, c->tgt);
}

typedef struct {
    const int32_t *src, *tgt;
    int64_t ns, nt;
} Example;

// The example at global position pos of the current epoch's order.
static LmStatus example_at(Stream *s, int64_t pos, Example *e) {
    int64_t lo = 0, hi = s->n_blocks - 1;
    while (lo < hi) {  // last j with block_pos[j] <= pos
        int64_t mid = (lo + hi + 1) / 2;
        if (s->block_pos[mid] <= pos) lo = mid; else hi = mid - 1;
    }
    int64_t b = s->block_order[lo], k = pos - s->block_pos[lo];
    StreamBlock *c = &s->cache[0];
    if (c->block != b || c->epoch != s->order_epoch) {
        StreamBlock tmp = s->cache[0];  // most recent first: swap, reload slot 0
        s->cache[0] = s->cache[1];
        s->cache[1] = tmp;
        if (c->block != b || c->epoch != s->order_epoch) LM_TRY(block_load(s, c, b));
    }
    int64_t i = c->perm[k];
    e->tgt = c->tgt + c->tgt_off[i], e->nt = c->tgt_off[i + 1] - c->tgt_off[i];
    e->src = c->src ? c->src + c->src_off[i] : NULL;
    e->ns = c->src ? c->src_off[i + 1] - c->src_off[i] : 0;
    return LM_OK;
}

// Writes one row: [prefix] src [middle] tgt eos as inputs (row[j]) and
// next-token targets (row[j+1]); the loss covers tgt and eos. Returns the
// row's length in positions, 0 for a skipped (overlong) example.
static int row_build(Stream *s, const Example *e, int T, int *tok, int *tgt, float *w) {
    int64_t n_ctx = s->n_prefix + e->ns + s->n_middle, nt = e->nt, len = n_ctx + nt + 1;
    if (len - 1 > T) {
        s->n_overlong++;
        if (!s->truncate || n_ctx >= T) return 0;
        nt = T + 1 - n_ctx;  // drop the tail of the target (and its eos)
        len = n_ctx + nt;
    }
    // seq(j): the j-th token of the assembled example
#define SEQ(j)                                                        \
    ((j) < s->n_prefix ? s->prefix[(j)]                               \
     : (j) < s->n_prefix + e->ns ? e->src[(j) - s->n_prefix]          \
     : (j) < n_ctx ? s->middle[(j) - s->n_prefix - e->ns]             \
     : (j) < n_ctx + nt ? e->tgt[(j) - n_ctx] : s->eos)
    for (int64_t j = 0; j + 1 < len; j++) {
        tok[j] = SEQ(j);
        tgt[j] = SEQ(j + 1);
        w[j] = j >= n_ctx - 1 ? 1.0f : 0.0f;
    }
#undef SEQ
    return (int)(len - 1);
}

// Rows were written with stride T; pack them to stride t (t <= T), zeroing
// the padding.
static void batch_pack(BatchBuf *bb, const int *len, int rows, int T, int t) {
    for (int i = 0; i < rows; i++) {
        memmove(bb->tokens + (size_t)i * t, bb->tokens + (size_t)i * T, sizeof(int) * t);
        memmove(bb->targets + (size_t)i * t, bb->targets + (size_t)i * T, sizeof(int) * t);
        memmove(bb->weight + (size_t)i * t, bb->weight + (size_t)i * T, sizeof(float) * t);
        for (int j = len[i]; j < t; j++) {
            bb->tokens[(size_t)i * t + j] = bb->targets[(size_t)i * t + j] = 0;
            bb->weight[(size_t)i * t + j] = 0.0f;
        }
    }
    bb->batch = (Batch){bb->tokens, bb->targets, bb->weight, rows, t};
}

LmStatus stream_next(Stream *s, int g, int T, int rank, int ranks, BatchBuf *bb) {
    if (g > s->rd.n) g = (int)s->rd.n;
    if (s->cursor + g > s->rd.n) s->epoch++, s->cursor = 0;
    order_build(s, s->epoch);
    int lo = (int)((int64_t)g * rank / ranks), hi = (int)((int64_t)g * (rank + 1) / ranks), t = 1;
    int *len = bb->len;
    LmStatus st = LM_OK;
    for (int i = lo; st == LM_OK && i < hi; i++) {
        Example e;
        st = example_at(s, s->cursor + i, &e);
        size_t at = (size_t)(i - lo) * T;
        if (st == LM_OK) len[i - lo] = row_build(s, &e, T, bb->tokens + at, bb->targets + at, bb->weight + at);
        if (st == LM_OK && len[i - lo] > t) t = len[i - lo];
    }
    if (st == LM_OK) batch_pack(bb, len, hi - lo, T, t);
    s->cursor += g;
    return st;
}

static int32_t *copy_ids(const int32_t *src, int n) {
    int32_t *p = xmalloc(sizeof(int32_t) * (size_t)(n + 1));
    if (n) memcpy(p, src, sizeof(int32_t) * (size_t)n);
    return p;
}

LmStatus stream_open(Stream *s, const char *corpus, const char *name, const char *split,
                     int vocab_size, const StreamPrompt *p, uint64_t seed, int shuffle,
                     int truncate) {
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->cache[0].block = s->cache[1].block = -1;
    LM_TRY(corpus_reader_open(&s->rd, corpus, name, split, vocab_size));
    if (s->rd.n == 0) {
        lm_error("%s: stream '%s' split '%s' is empty", s->rd.what, name, split);
        lm_hint("remove it from data.directions / data.mono, or rebuild the corpus with data for it");
        corpus_reader_close(&s->rd);
        return LM_ERUNTIME;
    }
    s->prefix = copy_ids(p->prefix, p->n_prefix), s->n_prefix = p->n_prefix;
    s->middle = copy_ids(p->middle, p->n_middle), s->n_middle = p->n_middle;
    s->eos = p->eos;
    s->seed = seed ^ fnv1a(name);
    s->shuffle = shuffle, s->truncate = truncate;
    s->n_blocks = (s->rd.n + STREAM_BLOCK - 1) / STREAM_BLOCK;
    s->block_order = xmalloc(sizeof(int64_t) * (size_t)s->n_blocks);
    s->block_pos = xmalloc(sizeof(int64_t) * (size_t)(s->n_blocks + 1));
    s->order_epoch = -1;
    return LM_OK;
}

void stream_close(Stream *s) {
    corpus_reader_close(&s->rd);
    block_free(&s->cache[0]);
    block_free(&s->cache[1]);
    free(s->prefix), free(s->middle), free(s->block_order), free(s->block_pos);
    memset(s, 0, sizeof *s);
}
