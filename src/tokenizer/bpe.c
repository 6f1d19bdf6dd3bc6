// Byte-level BPE: construction and validation, training, encoding, decoding
// and the content hash. Storage is in bpe_h5.c, chunking in pretok.c.
#include "tokenizer/bpe.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/pairmap.h"
#include "tokenizer/pretok.h"
#include "util/alloc.h"
#include "util/fnv.h"

static const char *const FIXED_SPECIALS[BPE_N_FIXED_SPECIAL] = {"<pad>", "<bos>", "<eos>"};

// ------------------------------------------------------------ min-heap
// Items compare by (hi, lo). Training: hi = ~count (most frequent first),
// lo = pair key (ties by smallest left, then right id). Encoding: hi = merge
// rank, lo = position (lowest rank first, leftmost among equals).

typedef struct {
    uint64_t hi, lo;
} HeapItem;

typedef struct {
    HeapItem *a;
    size_t n, cap;
} Heap;

static int item_less(HeapItem x, HeapItem y) {
    return x.hi < y.hi || (x.hi == y.hi && x.lo < y.lo);
}

static void heap_push(Heap *h, HeapItem it) {
    if (h->n == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 256;
        h->a = xrealloc(h->a, h->cap * sizeof *h->a);
    }
    size_t i = h->n++;
    while (i > 0 && item_less(it, h->a[(i - 1) / 2])) {
        h->a[i] = h->a[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->a[i] = it;
}

static HeapItem heap_pop(Heap *h) {
    HeapItem top = h->a[0], last = h->a[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && item_less(h->a[c + 1], h->a[c])) c++;
        if (!item_less(h->a[c], last)) break;
        h->a[i] = h->a[c];
        i = c;
    }
    if (h->n) h->a[i] = last;
    return top;
}

// ------------------------------------------------------------ construction

void bpe_init(BpeTokenizer *tok) { memset(tok, 0, sizeof *tok); }

static void work_free(BpeWork *w);

void bpe_free(BpeTokenizer *tok) {
    for (int32_t i = 0; tok->specials && i < tok->n_special; i++) free(tok->specials[i]);
    free(tok->specials);
    free(tok->merges);
    free(tok->tok_off);
    free(tok->tok_bytes);
    if (tok->rank_of) pmap_free(tok->rank_of);
    free(tok->rank_of);
    work_free(tok->work);
    bpe_init(tok);
}

static int cmp_str_ptr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

// Names must be non-empty and distinct; the first three are fixed.
static LmStatus check_specials(const char *const *sp, int32_t n, const char *what) {
    if (n < BPE_N_FIXED_SPECIAL) {
        lm_error("%s/specials: %d names, need at least <pad>, <bos>, <eos>", what, (int)n);
        return LM_ERUNTIME;
    }
    for (int32_t i = 0; i < n; i++) {
        const char *want = i < BPE_N_FIXED_SPECIAL ? FIXED_SPECIALS[i] : NULL;
        if (sp[i] && sp[i][0] && (!want || !strcmp(sp[i], want))) continue;
        lm_error("%s/specials[%d] = \"%s\": expected %s", what, (int)i, sp[i] ? sp[i] : "",
                 want ? want : "a non-empty name");
        return LM_ERUNTIME;
    }
    const char **sorted = xmalloc((size_t)n * sizeof *sorted);
    memcpy(sorted, sp, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_str_ptr);
    int32_t i = 1;
    while (i < n && strcmp(sorted[i - 1], sorted[i])) i++;
    if (i < n) lm_error("%s/specials: \"%s\" appears twice", what, sorted[i]);
    free(sorted);
    return i < n ? LM_ERUNTIME : LM_OK;
}

// Each merge joins two non-special ids below its own id into a token no
// longer than a chunk (longer ones could never be produced), and no pair
// repeats. Fills the pair -> rank map on the way.
static LmStatus index_merges(BpeTokenizer *t, const char *what) {
    t->rank_of = xmalloc(sizeof *t->rank_of);
    pmap_init(t->rank_of, (size_t)t->n_merges);
    for (int32_t r = 0; r < t->n_merges; r++) {
        int32_t own = t->n_special + 256 + r, l = t->merges[2 * r], rt = t->merges[2 * r + 1];
        int ok = l >= t->n_special && l < own && rt >= t->n_special && rt < own;
        int64_t len = ok ? t->tok_off[l + 1] - t->tok_off[l] + t->tok_off[rt + 1] - t->tok_off[rt]
                         : 0;
        if (!ok) {
            lm_error("%s/merges row %d: (%d, %d) is out of range: ids must be in [%d, %d) "
                     "(not special, below the merge's own id)", what, (int)r, (int)l, (int)rt,
                     (int)t->n_special, (int)own);
            return LM_ERUNTIME;
        }
        if (len > PRETOK_MAX_CHUNK) {
            lm_error("%s/merges row %d: (%d, %d) makes a token of %lld bytes, longer than any "
                     "pre-tokenized chunk (%d)", what, (int)r, (int)l, (int)rt, (long long)len,
                     PRETOK_MAX_CHUNK);
            return LM_ERUNTIME;
        }
        int64_t first = pmap_put(t->rank_of, pair_key(l, rt), r);
        if (first != r) {
            lm_error("%s/merges row %d: (%d, %d) repeats row %d", what, (int)r, (int)l, (int)rt,
                     (int)first);
            return LM_ERUNTIME;
        }
        t->tok_off[own + 1] = t->tok_off[own] + len;
    }
    return LM_OK;
}

// Bytes of every token: specials are empty, byte tokens one byte, a merge
// token the concatenation of its parts.
static void build_token_bytes(BpeTokenizer *t) {
    t->tok_bytes = xmalloc((size_t)t->tok_off[t->vocab_size] + 1);
    for (int b = 0; b < 256; b++) t->tok_bytes[t->tok_off[t->n_special + b]] = (uint8_t)b;
    for (int32_t r = 0; r < t->n_merges; r++) {
        int32_t own = t->n_special + 256 + r, l = t->merges[2 * r], rt = t->merges[2 * r + 1];
        size_t nl = (size_t)(t->tok_off[l + 1] - t->tok_off[l]);
        uint8_t *dst = t->tok_bytes + t->tok_off[own];
        memcpy(dst, t->tok_bytes + t->tok_off[l], nl);
        memcpy(dst + nl, t->tok_bytes + t->tok_off[rt],
               (size_t)(t->tok_off[rt + 1] - t->tok_off[rt]));
    }
}

static void compute_hash(BpeTokenizer *t) {
    uint64_t h = fnv1a_le32(FNV_OFFSET, t->n_special);
    for (int32_t i = 0; i < t->n_special; i++)
        h = fnv1a(h, t->specials[i], strlen(t->specials[i]) + 1);
    h = fnv1a_le32(h, t->n_merges);
    for (int64_t i = 0; i < 2 * (int64_t)t->n_merges; i++) h = fnv1a_le32(h, t->merges[i]);
    snprintf(t->hash, sizeof t->hash, "%016" PRIx64, h);
}

LmStatus bpe_from_parts(BpeTokenizer *out, const char *const *specials, int32_t n_special,
                        const int32_t *merges, int64_t n_merges, const char *what) {
    bpe_init(out);
    LM_TRY(check_specials(specials, n_special, what));
    if (n_merges < 0 || n_merges > INT32_MAX - 256 - (int64_t)n_special) {
        lm_error("%s/merges: %lld rows make the vocabulary too large", what, (long long)n_merges);
        return LM_ERUNTIME;
    }
    BpeTokenizer t;
    bpe_init(&t);
    t.n_special = n_special;
    t.n_merges = (int32_t)n_merges;
    t.vocab_size = n_special + 256 + t.n_merges;
    t.specials = xmalloc((size_t)n_special * sizeof *t.specials);
    for (int32_t i = 0; i < n_special; i++) t.specials[i] = xstrdup(specials[i]);
    t.merges = xmalloc((size_t)(2 * n_merges + 1) * sizeof *t.merges);
    if (n_merges) memcpy(t.merges, merges, (size_t)(2 * n_merges) * sizeof *t.merges);
    t.tok_off = xcalloc((size_t)t.vocab_size + 1, sizeof *t.tok_off);
    for (int32_t id = n_special; id < n_special + 256; id++) t.tok_off[id + 1] = id + 1 - n_special;
    LmStatus st = index_merges(&t, what);
    if (st != LM_OK) {
        bpe_free(&t);
        return st;
    }
    build_token_bytes(&t);
    compute_hash(&t);
    *out = t;
    return LM_OK;
}

void bpe_init_bytes(BpeTokenizer *tok) {
    LmStatus st = bpe_from_parts(tok, FIXED_SPECIALS, BPE_N_FIXED_SPECIAL, NULL, 0, "bytes");
    (void)st;  // the fixed parts are valid by construction
}

const char *bpe_hash(const BpeTokenizer *tok) { return tok->hash; }

const uint8_t *bpe_token_bytes(const BpeTokenizer *tok, int32_t id, size_t *len) {
    if (id < 0 || id >= tok->vocab_size) return NULL;
    *len = (size_t)(tok->tok_off[id + 1] - tok->tok_off[id]);
    return tok->tok_bytes + tok->tok_off[id];
}

// ------------------------------------------------------------ training: chunk counts

typedef struct {
    uint64_t hash;
    int64_t off, count;  // bytes at arena + off
    uint32_t len;        // 0 = empty slot (chunks are never empty)
} ChunkSlot;

typedef struct {
    ChunkSlot *slots;
    size_t cap, n;
    uint8_t *arena;
    size_t arena_n, arena_cap;
} ChunkCounts;

static size_t chunk_slot(const ChunkCounts *c, uint64_t h, const uint8_t *s, size_t len) {
    size_t i = (size_t)h & (c->cap - 1);
    for (;; i = (i + 1) & (c->cap - 1)) {
        const ChunkSlot *e = &c->slots[i];
        if (!e->len || (e->hash == h && e->len == len && !memcmp(c->arena + e->off, s, len)))
            return i;
    }
}

static void chunks_grow(ChunkCounts *c) {
    ChunkCounts old = *c;
    c->cap = old.cap ? 2 * old.cap : 1 << 16;
    c->slots = xcalloc(c->cap, sizeof *c->slots);
    for (size_t i = 0; i < old.cap; i++) {
        if (!old.slots[i].len) continue;
        size_t j = (size_t)old.slots[i].hash & (c->cap - 1);
        while (c->slots[j].len) j = (j + 1) & (c->cap - 1);
        c->slots[j] = old.slots[i];
    }
    free(old.slots);
}

static void chunks_add(ChunkCounts *c, const uint8_t *s, size_t len) {
    if (2 * (c->n + 1) > c->cap) chunks_grow(c);
    uint64_t h = fnv1a(FNV_OFFSET, s, len);
    ChunkSlot *e = &c->slots[chunk_slot(c, h, s, len)];
    if (!e->len) {
        if (c->arena_n + len > c->arena_cap) {
            c->arena_cap = 2 * (c->arena_n + len);
            c->arena = xrealloc(c->arena, c->arena_cap);
        }
        memcpy(c->arena + c->arena_n, s, len);
        *e = (ChunkSlot){h, (int64_t)c->arena_n, 0, (uint32_t)len};
        c->arena_n += len;
        c->n++;
    }
    e->count++;
}

static void chunks_count(ChunkCounts *c, const BpeText *texts, int64_t n_texts) {
    memset(c, 0, sizeof *c);
    for (int64_t t = 0; t < n_texts; t++) {
        const uint8_t *s = (const uint8_t *)texts[t].data;
        for (size_t pos = 0, end; pos < texts[t].len; pos = end) {
            end = pretok_next(s, texts[t].len, pos);
            chunks_add(c, s + pos, end - pos);
        }
    }
}

// ------------------------------------------------------------ training: merges

// The distinct chunks ("words") as symbol sequences that shrink in place.
// Word indices are int32: up to 2^31 distinct chunks.
typedef struct {
    int32_t *sym;
    int64_t *start, *freq;
    int32_t *len, *stamp;  // stamp: last merge that visited the word
    int64_t n;
} Words;

// Adjacent pairs with their counts and, per pair, a linked list of the words
// where it was seen (may hold stale or repeated entries; visiting a word
// that no longer has the pair is harmless).
typedef struct {
    PairMap map;       // pair key -> pair index
    uint64_t *key;
    int64_t *count, *head;
    int64_t n, cap;
    int64_t *node_next;
    int32_t *node_word;
    int64_t n_nodes, cap_nodes;
} Pairs;

static void words_build(Words *w, const ChunkCounts *c, int32_t n_special) {
    w->n = (int64_t)c->n;
    w->sym = xmalloc((c->arena_n + 1) * sizeof *w->sym);
    w->start = xmalloc((size_t)(w->n + 1) * sizeof *w->start);
    w->freq = xmalloc((size_t)(w->n + 1) * sizeof *w->freq);
    w->len = xmalloc((size_t)(w->n + 1) * sizeof *w->len);
    w->stamp = xmalloc((size_t)(w->n + 1) * sizeof *w->stamp);
    int64_t k = 0, pos = 0;
    for (size_t i = 0; i < c->cap; i++) {
        const ChunkSlot *e = &c->slots[i];
        if (!e->len) continue;
        for (uint32_t j = 0; j < e->len; j++) w->sym[pos + j] = n_special + c->arena[e->off + j];
        w->start[k] = pos;
        w->len[k] = (int32_t)e->len;
        w->freq[k] = e->count;
        w->stamp[k] = -1;
        pos += e->len;
        k++;
    }
}

static void words_free(Words *w) {
    free(w->sym);
    free(w->start);
    free(w->freq);
    free(w->len);
    free(w->stamp);
}

static int64_t pair_index(Pairs *p, uint64_t key) {
    int64_t idx = pmap_put(&p->map, key, p->n);
    if (idx < p->n) return idx;
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 4096;
        p->key = xrealloc(p->key, (size_t)p->cap * sizeof *p->key);
        p->count = xrealloc(p->count, (size_t)p->cap * sizeof *p->count);
        p->head = xrealloc(p->head, (size_t)p->cap * sizeof *p->head);
    }
    p->key[idx] = key;
    p->count[idx] = 0;
    p->head[idx] = -1;
    p->n++;
    return idx;
}

// count(left, right) += delta; an increase also records the word.
static void pairs_add(Pairs *p, int32_t left, int32_t right, int64_t delta, int32_t word) {
    int64_t idx = pair_index(p, pair_key(left, right));
    p->count[idx] += delta;
    if (delta <= 0 || (p->head[idx] >= 0 && p->node_word[p->head[idx]] == word)) return;
    if (p->n_nodes == p->cap_nodes) {
        p->cap_nodes = p->cap_nodes ? 2 * p->cap_nodes : 1 << 16;
        p->node_next = xrealloc(p->node_next, (size_t)p->cap_nodes * sizeof *p->node_next);
        p->node_word = xrealloc(p->node_word, (size_t)p->cap_nodes * sizeof *p->node_word);
    }
    p->node_word[p->n_nodes] = word;
    p->node_next[p->n_nodes] = p->head[idx];
    p->head[idx] = p->n_nodes++;
}

static void pairs_free(Pairs *p) {
    pmap_free(&p->map);
    free(p->key);
    free(p->count);
    free(p->head);
    free(p->node_next);
    free(p->node_word);
}

static HeapItem pair_item(const Pairs *p, int64_t idx) {
    return (HeapItem){~(uint64_t)p->count[idx], p->key[idx]};
}

// Replaces every (a, b) in word wi by c, left to right. Each replacement of
// x a b y by x c y updates exactly the pairs it removes and creates, so the
// counts stay equal to a full recount without doing one.
static void word_merge(Words *w, Pairs *p, int32_t wi, int32_t a, int32_t b, int32_t c) {
    int32_t *s = w->sym + w->start[wi];
    int32_t n = w->len[wi], j = 0;
    int64_t f = w->freq[wi];
    for (int32_t i = 0; i < n;) {
        if (i + 1 < n && s[i] == a && s[i + 1] == b) {
            if (j > 0) {
                pairs_add(p, s[j - 1], a, -f, wi);
                pairs_add(p, s[j - 1], c, f, wi);
            }
            if (i + 2 < n) {
                pairs_add(p, b, s[i + 2], -f, wi);
                pairs_add(p, c, s[i + 2], f, wi);
            }
            s[j++] = c;
            i += 2;
        } else {
            s[j++] = s[i++];
        }
    }
    w->len[wi] = j;
}

// Applies merge number m (pair idx -> id c) to every word that has the pair,
// then queues the pairs it created. Only new pairs (they contain c) gain
// counts; old ones only lose, which the lazy heap handles at pop time.
static void apply_merge(Words *w, Pairs *p, Heap *h, int64_t idx, int32_t m, int32_t c) {
    int32_t a = (int32_t)(p->key[idx] >> 32), b = (int32_t)(uint32_t)p->key[idx];
    int64_t first_new = p->n;
    for (int64_t node = p->head[idx]; node >= 0; node = p->node_next[node]) {
        int32_t wi = p->node_word[node];
        if (w->stamp[wi] == m) continue;
        w->stamp[wi] = m;
        word_merge(w, p, wi, a, b, c);
    }
    p->count[idx] = 0;
    p->head[idx] = -1;
    for (int64_t q = first_new; q < p->n; q++)
        if (p->count[q] > 0) heap_push(h, pair_item(p, q));
}

static void pairs_build(Pairs *p, Heap *h, const Words *w) {
    memset(p, 0, sizeof *p);
    pmap_init(&p->map, 1 << 16);
    for (int64_t wi = 0; wi < w->n; wi++) {
        const int32_t *s = w->sym + w->start[wi];
        for (int32_t i = 0; i + 1 < w->len[wi]; i++)
            pairs_add(p, s[i], s[i + 1], w->freq[wi], (int32_t)wi);
    }
    for (int64_t q = 0; q < p->n; q++) heap_push(h, pair_item(p, q));
}

// Greedy merges of the most frequent pair. A popped heap entry whose count
// is out of date is re-queued with the current count, so the first
// up-to-date entry popped is the true maximum. Returns the number of merges.
static int32_t merge_loop(Words *w, int32_t n_special, int32_t max_merges, int32_t *merges) {
    Pairs p;
    Heap h = {0};
    pairs_build(&p, &h, w);
    int32_t m = 0;
    while (m < max_merges && h.n) {
        HeapItem top = heap_pop(&h);
        int64_t idx = pmap_get(&p.map, top.lo);
        if (top.hi != ~(uint64_t)p.count[idx]) {
            if (p.count[idx] > 0) heap_push(&h, pair_item(&p, idx));
            continue;
        }
        if (p.count[idx] < 2) break;
        merges[2 * m] = (int32_t)(top.lo >> 32);
        merges[2 * m + 1] = (int32_t)(uint32_t)top.lo;
        apply_merge(w, &p, &h, idx, m, n_special + 256 + m);
        m++;
    }
    free(h.a);
    pairs_free(&p);
    return m;
}

// Counts chunks, then merges; *merges is malloc'ed [return value][2].
static int32_t train_merges(const BpeText *texts, int64_t n_texts, int32_t n_special,
                            int32_t max_merges, int32_t **merges) {
    ChunkCounts c;
    chunks_count(&c, texts, n_texts);
    Words w;
    words_build(&w, &c, n_special);
    free(c.slots);
    free(c.arena);
    // Each merge removes at least one symbol, which bounds the merge list.
    if ((size_t)max_merges > c.arena_n) max_merges = (int32_t)c.arena_n;
    *merges = xmalloc(((size_t)max_merges + 1) * 2 * sizeof **merges);
    int32_t n = merge_loop(&w, n_special, max_merges, *merges);
    words_free(&w);
    return n;
}

LmStatus bpe_train(const BpeText *texts, int64_t n_texts, int32_t vocab_size,
                   const char *const *extra_specials, int32_t n_extra, BpeTokenizer *out) {
    bpe_init(out);
    if (n_extra < 0 || n_extra > INT32_MAX / 2 || vocab_size < BPE_N_FIXED_SPECIAL + n_extra + 256) {
        lm_error("tokenizer: vocab_size %d is too small: it needs at least %d special tokens "
                 "+ 256 byte tokens", (int)vocab_size, (int)(BPE_N_FIXED_SPECIAL + n_extra));
        return LM_EUSAGE;
    }
    int32_t n_special = BPE_N_FIXED_SPECIAL + n_extra;
    const char **sp = xmalloc((size_t)n_special * sizeof *sp);
    memcpy(sp, FIXED_SPECIALS, sizeof FIXED_SPECIALS);
    for (int32_t i = 0; i < n_extra; i++) sp[BPE_N_FIXED_SPECIAL + i] = extra_specials[i];
    // Bad special names are the caller's (configuration) error: LM_EUSAGE.
    LmStatus st = check_specials(sp, n_special, "tokenizer") == LM_OK ? LM_OK : LM_EUSAGE;
    if (st == LM_OK) {
        int32_t *merges;
        int32_t n = train_merges(texts, n_texts, n_special, vocab_size - n_special - 256, &merges);
        st = bpe_from_parts(out, sp, n_special, merges, n, "tokenizer");
        free(merges);
    }
    free(sp);
    return st;
}

// ------------------------------------------------------------ encoding

// Direct-mapped cache of short chunks -> ids: most chunks of running text
// are frequent short words, so this skips most merge work. Bounded memory.
#define CACHE_SLOTS (1 << 15)
#define CACHE_KEY_MAX 24

typedef struct {
    uint64_t hash;
    uint8_t klen, nids;  // klen 0 = empty
    uint8_t key[CACHE_KEY_MAX];
    int32_t ids[CACHE_KEY_MAX];
} CacheSlot;

struct BpeWork {
    CacheSlot *cache;
    Heap heap;
    int32_t sym[PRETOK_MAX_CHUNK], next[PRETOK_MAX_CHUNK], prev[PRETOK_MAX_CHUNK];
};

static void work_free(BpeWork *w) {
    if (!w) return;
    free(w->cache);
    free(w->heap.a);
    free(w);
}

static BpeWork *work_get(BpeTokenizer *t) {
    if (!t->work) {
        t->work = xcalloc(1, sizeof *t->work);
        t->work->cache = xcalloc(CACHE_SLOTS, sizeof *t->work->cache);
    }
    return t->work;
}

// Queues the merge of symbols a and b (a before b) if one exists.
static void queue_pair(const BpeTokenizer *t, BpeWork *w, int32_t a, int32_t b) {
    int64_t r = pmap_get(t->rank_of, pair_key(w->sym[a], w->sym[b]));
    if (r >= 0) heap_push(&w->heap, (HeapItem){(uint64_t)r, (uint64_t)a});
}

// Applies merges lowest rank first (leftmost first among equal ranks), which
// gives the same result as applying each merge in turn to the whole chunk
// as training did. Linked list + heap: O(n log n) per chunk. Result in
// w->sym[0..return).
static int chunk_merge(const BpeTokenizer *t, BpeWork *w, const uint8_t *s, int n) {
    int32_t *sym = w->sym, *next = w->next, *prev = w->prev;
    for (int i = 0; i < n; i++) {
        sym[i] = t->n_special + s[i];
        next[i] = i + 1;
        prev[i] = i - 1;
    }
    w->heap.n = 0;
    for (int i = 0; i + 1 < n; i++) queue_pair(t, w, i, i + 1);
    while (w->heap.n) {
        HeapItem it = heap_pop(&w->heap);
        int32_t i = (int32_t)it.lo, r = (int32_t)it.hi, j = next[i];
        // Stale entry: the symbols at i changed since it was queued.
        if (j >= n || sym[i] != t->merges[2 * r] || sym[j] != t->merges[2 * r + 1]) continue;
        sym[i] = t->n_special + 256 + r;
        sym[j] = -1;
        next[i] = next[j];
        if (next[i] < n) prev[next[i]] = i;
        if (prev[i] >= 0) queue_pair(t, w, prev[i], i);
        if (next[i] < n) queue_pair(t, w, i, next[i]);
    }
    int k = 0;
    for (int i = 0; i < n; i = next[i]) sym[k++] = sym[i];  // symbol 0 is never removed
    return k;
}

// The ids of one chunk (n <= PRETOK_MAX_CHUNK bytes), through the cache.
static int chunk_ids(const BpeTokenizer *t, BpeWork *w, const uint8_t *s, int n,
                     const int32_t **ids) {
    *ids = w->sym;
    if (n == 1) {
        w->sym[0] = t->n_special + s[0];
        return 1;
    }
    if (n > CACHE_KEY_MAX) return chunk_merge(t, w, s, n);
    uint64_t h = fnv1a(FNV_OFFSET, s, (size_t)n);
    CacheSlot *c = &w->cache[h & (CACHE_SLOTS - 1)];
    if (c->klen == n && c->hash == h && !memcmp(c->key, s, (size_t)n)) {
        *ids = c->ids;
        return c->nids;
    }
    int k = chunk_merge(t, w, s, n);
    c->hash = h;
    c->klen = (uint8_t)n;
    c->nids = (uint8_t)k;
    memcpy(c->key, s, (size_t)n);
    memcpy(c->ids, w->sym, (size_t)k * sizeof *c->ids);
    return k;
}

int64_t bpe_encode(BpeTokenizer *tok, const void *bytes, size_t len, int32_t *ids, int64_t cap) {
    const uint8_t *s = bytes;
    BpeWork *w = work_get(tok);
    int64_t n = 0;
    for (size_t pos = 0, end; pos < len; pos = end) {
        end = pretok_next(s, len, pos);
        const int32_t *chunk;
        int k = chunk_ids(tok, w, s + pos, (int)(end - pos), &chunk);
        for (int i = 0; i < k; i++, n++)
            if (n < cap) ids[n] = chunk[i];
    }
    return n;
}

// ------------------------------------------------------------ decoding

int64_t bpe_decode(const BpeTokenizer *tok, const int32_t *ids, int64_t n, void *out,
                   int64_t cap) {
    uint8_t *o = out;
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        size_t len;
        const uint8_t *b = bpe_token_bytes(tok, ids[i], &len);
        if (!b) {
            lm_error("token id %lld at position %lld is outside the vocabulary [0, %d)",
                     (long long)ids[i], (long long)i, (int)tok->vocab_size);
            return -1;
        }
        if (k < cap) memcpy(o + k, b, (size_t)(cap - k) < len ? (size_t)(cap - k) : len);
        k += (int64_t)len;
    }
    return k;
}
