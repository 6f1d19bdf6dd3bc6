// The BPE model of tokenizer.json, as the library's models/bpe: initial
// symbols are the characters of a piece (with continuing_subword_prefix /
// end_of_word_suffix, byte_fallback to <0xNN> tokens, unk fusing), then
// merges are applied lowest rank first, leftmost first among equal ranks,
// with the library's exact heap discipline: an entry is applied when the
// pair now at its position still merges into the entry's token, even if
// that pair has another rank (two pairs can merge into one token).
#include <stdlib.h>
#include <string.h>

#include "tokenizer/hf.h"
#include "util/alloc.h"
#include "util/fnv.h"
#include "util/utf8.h"

struct HfSym {
    int32_t c, prev, next;
    uint32_t len;  // 0: merged into its left neighbour
};

struct HfMerge {
    uint64_t key;  // rank << 32 | position: the heap order
    int32_t new_id;
};

// Direct-mapped cache of pieces -> ids: most pieces of running text are
// frequent words. Bounded memory, allocated on first use.
#define CACHE_SLOTS (1 << 14)
#define CACHE_KEY_MAX 64

struct HfCacheSlot {
    uint64_t hash;
    uint8_t klen, nids;  // klen 0 = empty
    char key[CACHE_KEY_MAX];
    int32_t ids[CACHE_KEY_MAX];
};

// ---------------------------------------------------------------- symbols

static void sym_add(HfWork *w, size_t *n, int32_t c, uint32_t len) {
    if (*n == w->sym_cap) {
        w->sym_cap = w->sym_cap ? 2 * w->sym_cap : 256;
        w->sym = xrealloc(w->sym, w->sym_cap * sizeof *w->sym);
    }
    if (*n) w->sym[*n - 1].next = (int32_t)*n;
    w->sym[*n] = (struct HfSym){c, (int32_t)*n - 1, -1, len};
    (*n)++;
}

// Vocabulary id of one character with the prefix / suffix it takes.
static int32_t char_token(const HfBpe *b, HfWork *w, const char *ch, size_t len, int first,
                          int last, const char **str, size_t *str_len) {
    int pre = !first && b->prefix_len, suf = last && b->suffix_len;
    if (!pre && !suf) {
        *str = ch, *str_len = len;
        uint32_t cp;
        if (b->char_id && utf8_next((const uint8_t *)ch, len, &cp) && cp < 0x10000)
            return b->char_id[cp];
        return strmap_get(&b->vocab, ch, len);
    }
    w->tmp.n = 0;
    if (pre) hfbuf_add(&w->tmp, b->prefix, b->prefix_len);
    hfbuf_add(&w->tmp, ch, len);
    if (suf) hfbuf_add(&w->tmp, b->suffix, b->suffix_len);
    *str = w->tmp.buf, *str_len = w->tmp.n;
    return strmap_get(&b->vocab, w->tmp.buf, w->tmp.n);
}

// <0xNN> tokens for every byte of s, if all exist.
static int byte_fallback(const HfBpe *b, HfWork *w, size_t *n, const char *s, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (b->byte_id[(uint8_t)s[i]] < 0) return 0;
    for (size_t i = 0; i < len; i++) sym_add(w, n, b->byte_id[(uint8_t)s[i]], 1);
    return 1;
}

// The initial symbols of a piece (library: BPE::merge_word before
// merge_all). A pending unk is flushed before the next known character but
// not before byte-fallback tokens, as in the library.
static size_t initial_symbols(const HfBpe *b, HfWork *w, const char *s, size_t n) {
    size_t k = 0;
    int32_t unk_len = 0;  // bytes of the pending unk, 0 = none
    for (size_t i = 0; i < n;) {
        size_t cl = (uint8_t)s[i] < 0x80 ? 1 : (uint8_t)s[i] < 0xE0 ? 2 : (uint8_t)s[i] < 0xF0 ? 3 : 4;
        const char *str;
        size_t str_len;
        int32_t id = char_token(b, w, s + i, cl, i == 0, i + cl == n, &str, &str_len);
        int bytes = id < 0 && b->byte_fallback && byte_fallback(b, w, &k, str, str_len);
        if (id >= 0) {
            if (unk_len) sym_add(w, &k, b->unk_id, (uint32_t)unk_len), unk_len = 0;
            sym_add(w, &k, id, (uint32_t)cl);
        } else if (!bytes && b->unk_id >= 0) {
            if (unk_len && !b->fuse_unk) sym_add(w, &k, b->unk_id, (uint32_t)unk_len), unk_len = 0;
            unk_len += (int32_t)cl;
        }
        i += cl;
    }
    if (unk_len) sym_add(w, &k, b->unk_id, (uint32_t)unk_len);
    return k;
}

// ---------------------------------------------------------------- merging

static void heap_push(HfWork *w, uint64_t key, int32_t new_id) {
    if (w->heap_n == w->heap_cap) {
        w->heap_cap = w->heap_cap ? 2 * w->heap_cap : 256;
        w->heap = xrealloc(w->heap, w->heap_cap * sizeof *w->heap);
    }
    size_t i = w->heap_n++;
    while (i > 0 && key < w->heap[(i - 1) / 2].key) {
        w->heap[i] = w->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    w->heap[i] = (struct HfMerge){key, new_id};
}

static struct HfMerge heap_pop(HfWork *w) {
    struct HfMerge top = w->heap[0], last = w->heap[--w->heap_n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= w->heap_n) break;
        if (c + 1 < w->heap_n && w->heap[c + 1].key < w->heap[c].key) c++;
        if (w->heap[c].key >= last.key) break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (w->heap_n) w->heap[i] = last;
    return top;
}

// Queues the merge of the pair (left at pos, right) if there is one.
static void queue(const HfBpe *b, HfWork *w, int32_t pos, int32_t left, int32_t right) {
    int64_t m = pmap_get(&b->merges, pair_key(left, right));
    if (m >= 0) heap_push(w, (uint64_t)(m >> 32) << 32 | (uint32_t)pos, (int32_t)(uint32_t)m);
}

static void merge_all(const HfBpe *b, HfWork *w, size_t n) {
    struct HfSym *s = w->sym;
    w->heap_n = 0;
    for (size_t i = 0; i + 1 < n; i++) queue(b, w, (int32_t)i, s[i].c, s[i + 1].c);
    while (w->heap_n) {
        struct HfMerge top = heap_pop(w);
        int32_t pos = (int32_t)(uint32_t)top.key;
        if (s[pos].len == 0 || s[pos].next == -1) continue;
        int32_t next = s[pos].next;
        struct HfSym right = s[next];
        int64_t m = pmap_get(&b->merges, pair_key(s[pos].c, right.c));
        if (m < 0 || (int32_t)(uint32_t)m != top.new_id) continue;  // expired entry
        s[pos].c = top.new_id;
        s[pos].len += right.len;
        s[pos].next = right.next;
        s[next].len = 0;
        if (right.next >= 0) s[right.next].prev = pos;
        if (s[pos].prev >= 0) queue(b, w, s[pos].prev, s[s[pos].prev].c, s[pos].c);
        if (s[pos].next >= 0) queue(b, w, pos, s[pos].c, s[s[pos].next].c);
    }
}

// ---------------------------------------------------------------- pieces

static size_t word_ids(const HfBpe *b, HfWork *w, const char *s, size_t n) {
    size_t k = initial_symbols(b, w, s, n), before = w->n_ids;
    merge_all(b, w, k);
    for (size_t i = 0; i < k; i++)
        if (w->sym[i].len) hf_push_id(w, w->sym[i].c);
    return w->n_ids - before;
}

void hf_bpe_tokenize(const HfBpe *b, HfWork *w, const char *s, size_t n) {
    if (n == 0) return;
    if (b->ignore_merges) {
        int32_t id = strmap_get(&b->vocab, s, n);
        if (id >= 0) {
            hf_push_id(w, id);
            return;
        }
    }
    if (n > CACHE_KEY_MAX) {
        word_ids(b, w, s, n);
        return;
    }
    if (!w->cache) w->cache = xcalloc(CACHE_SLOTS, sizeof *w->cache);
    uint64_t h = fnv1a(FNV_OFFSET, s, n);
    HfCacheSlot *c = &w->cache[h & (CACHE_SLOTS - 1)];
    if (c->klen == n && c->hash == h && !memcmp(c->key, s, n)) {
        for (int i = 0; i < c->nids; i++) hf_push_id(w, c->ids[i]);
        return;
    }
    size_t before = w->n_ids, k = word_ids(b, w, s, n);
    if (k > CACHE_KEY_MAX) return;
    c->hash = h;
    c->klen = (uint8_t)n;
    c->nids = (uint8_t)k;
    memcpy(c->key, s, n);
    memcpy(c->ids, w->ids + before, k * sizeof *c->ids);
}
