// The in-memory corpus of `landermt prep`: item lists, directions and
// languages, and the two text checks every input reader uses.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prep/build.h"
#include "util/alloc.h"
#include "util/utf8.h"

const char *const PREP_SPLIT_NAMES[PREP_N_SPLITS] = {"train", "dev", "test"};

void items_push(ItemList *l, char *a, char *b) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->v = xrealloc(l->v, (size_t)l->cap * sizeof *l->v);
    }
    l->v[l->n++] = (PrepItem){a, b, 0, PREP_TRAIN};
}

void items_free(ItemList *l) {
    for (int64_t i = 0; i < l->n; i++) free(l->v[i].a), free(l->v[i].b);
    free(l->v);
    memset(l, 0, sizeof *l);
}

void prepdata_init(PrepData *d, const Config *c) {
    memset(d, 0, sizeof *d);
    d->mo_per_language = xcalloc((size_t)c->prep.languages.n + 1, sizeof *d->mo_per_language);
}

void prepdata_free(PrepData *d) {
    for (int i = 0; i < d->n_dir; i++) {
        items_free(&d->dir[i].raw);
        items_free(&d->dir[i].kept.items);
    }
    for (int i = 0; i < d->n_mono; i++) {
        items_free(&d->mono[i].raw);
        items_free(&d->mono[i].kept.items);
    }
    free(d->dir);
    free(d->mono);
    free(d->mo_per_language);
    memset(d, 0, sizeof *d);
}

PrepDirection *prepdata_direction(PrepData *d, const Config *c, const char *src, const char *tgt) {
    for (int i = 0; i < d->n_dir; i++)
        if (!strcmp(d->dir[i].src, src) && !strcmp(d->dir[i].tgt, tgt)) return &d->dir[i];
    d->dir = xrealloc(d->dir, (size_t)(d->n_dir + 1) * sizeof *d->dir);
    PrepDirection *r = &d->dir[d->n_dir++];
    memset(r, 0, sizeof *r);
    snprintf(r->src, sizeof r->src, "%s", src);
    snprintf(r->tgt, sizeof r->tgt, "%s", tgt);
    // Cleaning expects (English-ish source, target in a language); a de-en
    // file is cleaned and split as its en-de view.
    r->pivot_is_tgt = !strcmp(tgt, c->prep.pivot) && strcmp(src, c->prep.pivot);
    return r;
}

PrepMono *prepdata_mono(PrepData *d, const char *lang) {
    for (int i = 0; i < d->n_mono; i++)
        if (!strcmp(d->mono[i].lang, lang)) return &d->mono[i];
    d->mono = xrealloc(d->mono, (size_t)(d->n_mono + 1) * sizeof *d->mono);
    PrepMono *m = &d->mono[d->n_mono++];
    memset(m, 0, sizeof *m);
    snprintf(m->lang, sizeof m->lang, "%s", lang);
    return m;
}

// Strict UTF-8: no overlong forms, surrogates or code points past U+10FFFF.
int prep_utf8_valid(const char *str, size_t n) {
    return !memchr(str, 0, n) && utf8_valid(str, n);
}

int prep_lang_valid(const char *s, size_t n) {
    if (!n || n >= PREP_LANG_MAX) return 0;
    if (!((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z')) return 0;
    for (size_t i = 1; i < n; i++)
        if (!(((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') || s[i] == '_')) return 0;
    return 1;
}
