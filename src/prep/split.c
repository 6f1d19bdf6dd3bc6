// Splits and deduplication of `landermt prep`. A split is a function of one
// sentence's text alone (its clean_hash), so it never depends on the input
// order, the other sentences or the machine; items are then sorted by
// (split, key, text), which also makes the stored order independent of the
// input order.
#include <stdlib.h>
#include <string.h>

#include "prep/build.h"
#include "util/alloc.h"

int split_of(uint64_t key, double dev_fraction, double test_fraction) {
    double u = (double)(key >> 11) * 0x1p-53;  // key / 2^64 in [0, 1), exact in a double
    if (u < dev_fraction) return PREP_DEV;
    return u < dev_fraction + test_fraction ? PREP_TEST : PREP_TRAIN;
}

static int cmp_nullable(const char *a, const char *b) {
    return a && b ? strcmp(a, b) : (a != NULL) - (b != NULL);
}

static int cmp_item(const void *pa, const void *pb) {
    const PrepItem *x = pa, *y = pb;
    if (x->split != y->split) return x->split - y->split;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    int r = strcmp(x->a, y->a);
    return r ? r : cmp_nullable(x->b, y->b);
}

// Text first, then the most protected split first (test, dev, train).
static int cmp_text_split(const void *pa, const void *pb) {
    const PrepItem *x = pa, *y = pb;
    int r = strcmp(x->a, y->a);
    return r ? r : y->split - x->split;
}

// Keeps the first of each run of items that cmp calls equal (the list is
// sorted by cmp); returns how many were removed.
static int64_t items_unique(ItemList *l, int (*same)(const PrepItem *, const PrepItem *)) {
    int64_t w = 0;
    for (int64_t i = 0; i < l->n; i++) {
        if (w && same(&l->v[w - 1], &l->v[i])) {
            free(l->v[i].a), free(l->v[i].b);
            continue;
        }
        l->v[w++] = l->v[i];
    }
    int64_t removed = l->n - w;
    l->n = w;
    return removed;
}

static int same_pair(const PrepItem *x, const PrepItem *y) {
    return !strcmp(x->a, y->a) && !cmp_nullable(x->b, y->b);
}

static int same_text(const PrepItem *x, const PrepItem *y) {
    return !strcmp(x->a, y->a);
}

// Where each split starts in a list sorted by split.
static void split_starts(SplitItems *s) {
    const ItemList *l = &s->items;
    int64_t i = 0;
    for (int k = 0; k <= PREP_N_SPLITS; k++) {
        while (i < l->n && l->v[i].split < k) i++;
        s->start[k] = i;
    }
}

static void split_sort(SplitItems *s) {
    if (s->items.n) qsort(s->items.v, (size_t)s->items.n, sizeof *s->items.v, cmp_item);
}

static void split_direction(const Config *c, PrepDirection *d) {
    ItemList *l = &d->kept.items;
    for (int64_t i = 0; i < l->n; i++)
        l->v[i].split = split_of(l->v[i].key, c->prep.dev_fraction, c->prep.test_fraction);
    split_sort(&d->kept);
    d->duplicates = items_unique(l, same_pair);  // equal pairs have equal keys: adjacent
    split_starts(&d->kept);
}

// Each side of every pair in `lang` joins that language's text in the
// pair's split.
static void mono_add_bitext(PrepData *d, PrepMono *m) {
    for (int i = 0; i < d->n_dir; i++) {
        PrepDirection *dir = &d->dir[i];
        int src = !strcmp(dir->src, m->lang), tgt = !strcmp(dir->tgt, m->lang);
        for (int64_t k = 0; (src || tgt) && k < dir->kept.items.n; k++) {
            const PrepItem *p = &dir->kept.items.v[k];
            const char *side = src ? p->a : p->b;
            items_push(&m->kept.items, xstrdup(side), NULL);
            PrepItem *it = &m->kept.items.v[m->kept.items.n - 1];
            it->key = clean_hash(side);
            it->split = p->split;
        }
    }
}

// A sentence seen in several splits is kept in the most protected one, so a
// dev/test sentence (or a test source's translation) is never training text.
static void split_mono(const Config *c, PrepData *d, PrepMono *m) {
    ItemList *l = &m->kept.items;
    for (int64_t i = 0; i < l->n; i++)
        l->v[i].split = split_of(l->v[i].key, c->prep.dev_fraction, c->prep.test_fraction);
    if (c->prep.mono_from_bitext) mono_add_bitext(d, m);
    if (l->n) qsort(l->v, (size_t)l->n, sizeof *l->v, cmp_text_split);
    m->duplicates = items_unique(l, same_text);
    split_sort(&m->kept);
    split_starts(&m->kept);
}

void split_all(const Config *c, PrepData *d) {
    for (int i = 0; i < d->n_dir; i++) split_direction(c, &d->dir[i]);
    if (c->prep.mono_from_bitext) {
        for (int i = 0; i < d->n_dir; i++) {
            prepdata_mono(d, d->dir[i].src);
            prepdata_mono(d, d->dir[i].tgt);
        }
    }
    for (int i = 0; i < d->n_mono; i++) split_mono(c, d, &d->mono[i]);
}
