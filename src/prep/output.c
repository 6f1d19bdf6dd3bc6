// Output phases of `landermt prep`: the tokenizer (trained on the train
// split only, or reused), encoding of every split, and the corpus file.
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/corpus_write.h"
#include "io/h5.h"
#include "prep/build.h"
#include "util/alloc.h"

// ---------------------------------------------------------------------------
// Tokenizer

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

// "<2xx>" for every language of the corpus, sorted, so the ids of the tags
// do not depend on the order of the inputs. Returns the count; free *tags
// with tags_free.
static int lang_tags(const PrepData *d, char ***tags) {
    int n = 0, u = 0;
    const char **lang = xmalloc(sizeof *lang * (size_t)(2 * d->n_dir + d->n_mono + 1));
    for (int i = 0; i < d->n_dir; i++) lang[n++] = d->dir[i].src, lang[n++] = d->dir[i].tgt;
    for (int i = 0; i < d->n_mono; i++) lang[n++] = d->mono[i].lang;
    if (n) qsort(lang, (size_t)n, sizeof *lang, cmp_str);
    *tags = xmalloc(sizeof **tags * (size_t)(n + 1));
    for (int i = 0; i < n; i++) {
        if (i && !strcmp(lang[i - 1], lang[i])) continue;
        (*tags)[u] = xmalloc(strlen(lang[i]) + 4);
        sprintf((*tags)[u++], "<2%s>", lang[i]);
    }
    free(lang);
    return u;
}

static void tags_free(char **tags, int n) {
    for (int i = 0; i < n; i++) free(tags[i]);
    free(tags);
}

static void texts_add(BpeText **v, int64_t *n, int64_t *cap, const char *s, int64_t *bytes) {
    if (*n == *cap) *v = xrealloc(*v, (size_t)(*cap = *cap ? 2 * *cap : 4096) * sizeof **v);
    (*v)[(*n)++] = (BpeText){s, strlen(s)};
    *bytes += (int64_t)strlen(s);
}

// Both sides of every train pair and every train sentence of the mono text.
static BpeText *train_texts(const PrepData *d, int64_t *n, int64_t *bytes) {
    BpeText *v = NULL;
    int64_t cap = 0;
    *n = *bytes = 0;
    for (int i = 0; i < d->n_dir; i++) {
        const SplitItems *s = &d->dir[i].kept;
        for (int64_t k = s->start[PREP_TRAIN]; k < s->start[PREP_TRAIN + 1]; k++) {
            texts_add(&v, n, &cap, s->items.v[k].a, bytes);
            texts_add(&v, n, &cap, s->items.v[k].b, bytes);
        }
    }
    for (int i = 0; i < d->n_mono; i++) {
        const SplitItems *s = &d->mono[i].kept;
        for (int64_t k = s->start[PREP_TRAIN]; k < s->start[PREP_TRAIN + 1]; k++)
            texts_add(&v, n, &cap, s->items.v[k].a, bytes);
    }
    return v;
}

// A reused tokenizer must already have every language tag prep.lang_tags asks for.
static LmStatus tags_check(const Tokenizer *tok, char **tags, int n, const char *path) {
    for (int i = 0; i < n; i++) {
        if (tokenizer_special_id(tok, tags[i]) >= 0) continue;
        lm_error("prep.tokenizer %s has no special token %s, which prep.lang_tags needs", path, tags[i]);
        lm_hint("reuse a tokenizer trained with these languages, or set prep.lang_tags: false");
        return LM_ERUNTIME;
    }
    return LM_OK;
}

LmStatus output_tokenizer(const Config *c, const PrepData *d, Tokenizer *tok, TokenizerReport *rep) {
    char **tags = NULL;
    int n_tags = c->prep.lang_tags ? lang_tags(d, &tags) : 0;
    memset(rep, 0, sizeof *rep);
    rep->n_tags = n_tags;
    LmStatus st;
    if (c->prep.tokenizer[0]) {
        st = tokenizer_open(c->prep.tokenizer, "prep.tokenizer", tok);
        if (st == LM_OK) st = tags_check(tok, tags, n_tags, c->prep.tokenizer);
        rep->reused = 1;
    } else {
        BpeText *texts = train_texts(d, &rep->n_texts, &rep->bytes);
        BpeTokenizer bpe;
        st = bpe_train(texts, rep->n_texts, c->prep.vocab_size, (const char *const *)tags, n_tags, &bpe);
        if (st == LM_OK) tokenizer_from_bpe(tok, &bpe, "prep");
        free(texts);
    }
    tags_free(tags, n_tags);
    return st;
}

// ---------------------------------------------------------------------------
// Encoding

static void encoded_free1(Encoded *e) {
    free(e->tokens), free(e->offsets);
    memset(e, 0, sizeof *e);
}

// n texts -> tokens and n+1 offsets. Each thread encodes with its own
// tokenizer copy (encoding keeps scratch in the tokenizer) into its own
// growing buffer, remembering where each text's ids went; then the ids are
// packed in text order.
static LmStatus encode_texts(Tokenizer *toks, char *const *text, int64_t n, Encoded *e) {
    int nt = omp_get_max_threads();
    TokIds *buf = xcalloc((size_t)nt, sizeof *buf);
    int64_t *start = xmalloc(sizeof *start * (size_t)(n + 1)), *count = xmalloc(sizeof *count * (size_t)(n + 1));
    int *owner = xmalloc(sizeof *owner * (size_t)(n + 1));
    int failed = 0;
#pragma omp parallel for schedule(dynamic, 256) reduction(| : failed)
    for (int64_t i = 0; i < n; i++) {
        int t = omp_get_thread_num();
        owner[i] = t, start[i] = buf[t].n;
        count[i] = tokenizer_encode(&toks[t], text[i], strlen(text[i]), 0, &buf[t]);
        failed |= count[i] < 0;
    }
    e->n = n;
    e->offsets = xmalloc(sizeof *e->offsets * (size_t)(n + 1));
    e->offsets[0] = 0;
    for (int64_t i = 0; i < n; i++) e->offsets[i + 1] = e->offsets[i] + (failed ? 0 : count[i]);
    e->tokens = xmalloc(sizeof *e->tokens * (size_t)(e->offsets[n] + 1));
    for (int64_t i = 0; i < n && !failed; i++)
        memcpy(e->tokens + e->offsets[i], buf[owner[i]].v + start[i], sizeof *e->tokens * (size_t)count[i]);
    for (int t = 0; t < nt; t++) tokids_free(&buf[t]);
    free(buf), free(start), free(count), free(owner);
    return failed ? LM_ERUNTIME : LM_OK;
}

// Side `side` (0: a, 1: b) of the items of split s.
static char **split_texts(const SplitItems *si, int s, int side, int64_t *n) {
    *n = si->start[s + 1] - si->start[s];
    char **t = xmalloc(sizeof *t * (size_t)(*n + 1));
    for (int64_t i = 0; i < *n; i++) {
        const PrepItem *it = &si->items.v[si->start[s] + i];
        t[i] = side ? it->b : it->a;
    }
    return t;
}

static LmStatus encode_split(Tokenizer *toks, const SplitItems *si, int s, int side, Encoded *e) {
    int64_t n;
    char **t = split_texts(si, s, side, &n);
    LmStatus st = encode_texts(toks, t, n, e);
    free(t);
    return st;
}

LmStatus output_encode(const PrepData *d, const Tokenizer *tok, PrepEncoded *e) {
    int nt = omp_get_max_threads();
    Tokenizer *toks = xcalloc((size_t)nt, sizeof *toks);
    LmStatus st = LM_OK;
    for (int t = 0; t < nt; t++) tokenizer_init(&toks[t]);
    for (int t = 0; st == LM_OK && t < nt; t++) st = tokenizer_clone(tok, &toks[t]);
    e->n_dir = d->n_dir;
    e->n_mono = d->n_mono;
    e->bitext = xcalloc((size_t)d->n_dir * PREP_N_SPLITS * 2 + 1, sizeof *e->bitext);
    e->mono = xcalloc((size_t)d->n_mono * PREP_N_SPLITS + 1, sizeof *e->mono);
    for (int i = 0; st == LM_OK && i < d->n_dir; i++)
        for (int s = 0; st == LM_OK && s < PREP_N_SPLITS; s++)
            for (int side = 0; st == LM_OK && side < 2; side++)
                st = encode_split(toks, &d->dir[i].kept, s, side, encoded_bitext(e, i, s, side));
    for (int i = 0; st == LM_OK && i < d->n_mono; i++)
        for (int s = 0; st == LM_OK && s < PREP_N_SPLITS; s++)
            st = encode_split(toks, &d->mono[i].kept, s, 0, encoded_mono(e, i, s));
    for (int t = 0; t < nt; t++) tokenizer_free(&toks[t]);
    free(toks);
    return st;
}

void encoded_free(PrepEncoded *e) {
    for (int i = 0; i < e->n_dir * PREP_N_SPLITS * 2; i++) encoded_free1(&e->bitext[i]);
    for (int i = 0; i < e->n_mono * PREP_N_SPLITS; i++) encoded_free1(&e->mono[i]);
    free(e->bitext), free(e->mono);
    memset(e, 0, sizeof *e);
}

// ---------------------------------------------------------------------------
// Writing

// dev and test keep their text (for scoring); train does not (file size).
static CorpusSide side_of(const Encoded *e, const SplitItems *si, int s, int side, char ***text) {
    int64_t n;
    *text = s == PREP_TRAIN ? NULL : split_texts(si, s, side, &n);
    return (CorpusSide){e->n, e->tokens, e->offsets, (const char *const *)*text};
}

static LmStatus write_direction(CorpusWriter *w, const PrepDirection *d, const PrepEncoded *e, int i) {
    LmStatus st = LM_OK;
    for (int s = 0; st == LM_OK && s < PREP_N_SPLITS; s++) {
        char **ts, **tt;
        CorpusSide src = side_of(encoded_bitext(e, i, s, 0), &d->kept, s, 0, &ts);
        CorpusSide tgt = side_of(encoded_bitext(e, i, s, 1), &d->kept, s, 1, &tt);
        st = corpus_write_bitext(w, d->src, d->tgt, PREP_SPLIT_NAMES[s], &src, &tgt);
        free(ts), free(tt);
    }
    return st;
}

static LmStatus write_mono(CorpusWriter *w, const PrepMono *m, const PrepEncoded *e, int i) {
    LmStatus st = LM_OK;
    for (int s = 0; st == LM_OK && s < PREP_N_SPLITS; s++) {
        char **t;
        CorpusSide side = side_of(encoded_mono(e, i, s), &m->kept, s, 0, &t);
        st = corpus_write_mono(w, m->lang, PREP_SPLIT_NAMES[s], &side);
        free(t);
    }
    return st;
}

LmStatus output_write(const Config *c, const char *config_text, const PrepData *d,
                      const Tokenizer *tok, const PrepEncoded *e) {
    CorpusWriter w;
    LM_TRY(corpus_writer_create(&w, c->prep.output));
    LmStatus st = tokenizer_save(w.file, "tokenizer", tok);
    if (st == LM_OK && config_text) st = h5_attr_write_str(w.file, "config_yaml", config_text);
    for (int i = 0; st == LM_OK && i < d->n_dir; i++) st = write_direction(&w, &d->dir[i], e, i);
    for (int i = 0; st == LM_OK && i < d->n_mono; i++) st = write_mono(&w, &d->mono[i], e, i);
    if (st == LM_OK) return corpus_writer_commit(&w);
    corpus_writer_abandon(&w);
    return st;
}
