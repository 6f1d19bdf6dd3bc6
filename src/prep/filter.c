// Cleaning phase of `landermt prep`: every bitext pair through clean_pair
// (docs/prep-cleaning.md), every monolingual line through clean_normalise
// and the length limits. Kept items get their split key.
#include <stdlib.h>
#include <string.h>

#include "prep/build.h"
#include "util/alloc.h"

static CleanOptions filter_options(const Config *c) {
    CleanOptions o;
    clean_options_default(&o);
    o.min_src_chars = c->prep.min_chars;
    o.max_chars = c->prep.max_chars;
    return o;
}

// clean_pair expects (English-ish source, target in `lang`): a pair whose
// target is the pivot is cleaned as its reverse and turned back.
static CleanReason filter_pair(const CleanOptions *o, const PrepDirection *d, PrepItem *it) {
    char *s, *t;
    CleanReason r = d->pivot_is_tgt ? clean_pair(o, d->src, it->b, it->a, &t, &s)
                                    : clean_pair(o, d->tgt, it->a, it->b, &s, &t);
    free(it->a);
    free(it->b);
    it->a = s;
    it->b = t;
    return r;
}

// The split key is the pivot side when the pair has one, so that one English
// sentence lands in one split in every direction (en-de, de-en, en-fr).
static void filter_direction(const CleanOptions *o, PrepDirection *d) {
    int64_t n = d->raw.n;
    CleanReason *why = xmalloc((size_t)(n + 1) * sizeof *why);
    // clean_pair is a pure function of its arguments: pairs clean in parallel.
#pragma omp parallel for schedule(dynamic, 256)
    for (int64_t i = 0; i < n; i++) why[i] = filter_pair(o, d, &d->raw.v[i]);
    for (int64_t i = 0; i < n; i++) {
        PrepItem *it = &d->raw.v[i];
        clean_stats_add(&d->clean, why[i]);
        if (why[i] != CLEAN_OK) continue;
        items_push(&d->kept.items, it->a, it->b);
        d->kept.items.v[d->kept.items.n - 1].key = clean_hash(d->pivot_is_tgt ? it->b : it->a);
    }
    free(why);
    free(d->raw.v);  // the kept strings moved, the dropped ones are NULL
    memset(&d->raw, 0, sizeof d->raw);
}

static int64_t code_points(const char *s) {
    int64_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void filter_mono(const Config *c, PrepMono *m) {
    for (int64_t i = 0; i < m->raw.n; i++) {
        char *s = clean_normalise(m->raw.v[i].a);
        int64_t len = code_points(s);
        free(m->raw.v[i].a);
        if (!len) m->empty++;
        else if (len < c->prep.min_chars) m->too_short++;
        else if (len > c->prep.max_chars) m->too_long++;
        if (!len || len < c->prep.min_chars || len > c->prep.max_chars) {
            free(s);
            continue;
        }
        items_push(&m->kept.items, s, NULL);
        m->kept.items.v[m->kept.items.n - 1].key = clean_hash(s);
    }
    free(m->raw.v);
    memset(&m->raw, 0, sizeof m->raw);
}

void filter_all(const Config *c, PrepData *d) {
    CleanOptions o = filter_options(c);
    for (int i = 0; i < d->n_dir; i++) filter_direction(&o, &d->dir[i]);
    for (int i = 0; i < d->n_mono; i++) filter_mono(c, &d->mono[i]);
}
