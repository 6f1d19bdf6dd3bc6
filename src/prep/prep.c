// The driver of `landermt prep`: phases in order, each timed, then the
// statistics (docs/prep.md describes every line).
#include "prep/prep.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "prep/build.h"
#include "util/timer.h"

typedef enum { PH_READ, PH_CLEAN, PH_SPLIT, PH_TOKENIZER, PH_ENCODE, PH_WRITE, N_PHASES } Phase;
static const char *const PHASE_NAMES[N_PHASES] = {"read", "clean", "split", "tokenizer",
                                                  "encode", "write"};

static LmStatus inputs_any(const Config *c) {
    if (c->prep.tsv.n || c->prep.moses.n || c->prep.text.n || c->prep.mo.n || c->prep.system_locale)
        return LM_OK;
    lm_error("prep has no inputs");
    lm_hint("set at least one of prep.tsv, prep.moses, prep.text, prep.mo or prep.system_locale "
            "(docs/prep.md)");
    return LM_EUSAGE;
}

static long long clean_total(const CleanStats *s) {
    long long n = 0;
    for (int r = 0; r < CLEAN_N_REASONS; r++) n += s->count[r];
    return n;
}

static void print_direction_drops(const PrepDirection *d) {
    printf("drops %s-%s: %lld read, %lld kept; malformed=%lld invalid_utf8=%lld bad_charset=%lld",
           d->src, d->tgt, clean_total(&d->clean), (long long)d->kept.items.n,
           (long long)d->malformed, (long long)d->invalid_utf8, (long long)d->bad_charset);
    for (int r = 1; r < CLEAN_N_REASONS; r++)
        printf(" %s=%ld", clean_reason_name((CleanReason)r), d->clean.count[r]);
    printf(" duplicate=%lld\n", (long long)d->duplicates);
}

static void print_mono_drops(const PrepMono *m) {
    printf("drops mono %s: %lld kept; invalid_utf8=%lld empty=%lld too_short=%lld too_long=%lld "
           "duplicate=%lld\n", m->lang, (long long)m->kept.items.n, (long long)m->invalid_utf8,
           (long long)m->empty, (long long)m->too_short, (long long)m->too_long,
           (long long)m->duplicates);
}

static void hint_empty_direction(const Config *c, const PrepData *d, const PrepDirection *dir) {
    long long read = clean_total(&dir->clean);
    int idx = dir->from_gettext ? catalog_language_match(&c->prep.languages, dir->tgt) : -1;
    if (idx >= 0 && !d->mo_per_language[idx] && !read)
        lm_hint("no gettext catalog of language %s was found under prep.mo%s; check the "
                "language code and the paths", dir->tgt, c->prep.system_locale ? " or /usr/share/locale" : "");
    else if (!read)
        lm_hint("its inputs hold no usable lines (malformed=%lld, invalid_utf8=%lld)",
                (long long)dir->malformed, (long long)dir->invalid_utf8);
    else
        lm_hint("all %lld pairs read were dropped by cleaning (see the drops line above)", read);
}

// The inputs named `lang` ("de-en", or "de" for prep.text) in the config, as
// "prep.tsv[0] a.tsv, prep.moses[1] b.de,b.en", for messages.
static void sources_of(const Config *c, const char *lang, const char *fallback, char *buf, size_t n) {
    const struct { const char *key; const CfgList *l; } lists[] = {
        {"prep.tsv", &c->prep.tsv}, {"prep.moses", &c->prep.moses}, {"prep.text", &c->prep.text}};
    size_t k = 0, len = strlen(lang);
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof lists / sizeof *lists; i++)
        for (int j = 0; j < lists[i].l->n && k < n; j++) {
            const char *item = lists[i].l->item[j];
            if (strncmp(item, lang, len) || item[len] != ':') continue;
            k += (size_t)snprintf(buf + k, n - k, "%s%s[%d] %s", k ? ", " : "", lists[i].key, j,
                                  item + len + 1);
        }
    if (!buf[0]) snprintf(buf, n, "%s", fallback);
}

// A direction or language the config asks for must not come out empty:
// training on it would fail much later, far from the cause.
static LmStatus check_nonempty(const Config *c, const PrepData *d) {
    LmStatus st = LM_OK;
    for (int i = 0; i < d->n_dir; i++) {
        const PrepDirection *dir = &d->dir[i];
        if (dir->kept.items.n) continue;
        print_direction_drops(dir);
        char lang[2 * PREP_LANG_MAX], from[2048];
        snprintf(lang, sizeof lang, "%s-%s", dir->src, dir->tgt);
        sources_of(c, lang, "the gettext catalogs (prep.mo)", from, sizeof from);
        lm_error("no pairs for %s from %s", lang, from);
        hint_empty_direction(c, d, dir);
        st = LM_ERUNTIME;
    }
    for (int i = 0; i < d->n_mono; i++) {
        const PrepMono *m = &d->mono[i];
        if (m->kept.items.n || !m->from_text) continue;
        print_mono_drops(m);
        char from[2048];
        sources_of(c, m->lang, "prep.text", from, sizeof from);
        lm_error("no sentences for language %s from %s", m->lang, from);
        lm_hint("every line was empty, invalid UTF-8 or outside prep.min_chars..prep.max_chars");
        st = LM_ERUNTIME;
    }
    if (st == LM_OK && !d->n_dir && !d->n_mono) {
        lm_error("prep found no pairs and no sentences at all");
        st = LM_ERUNTIME;
    }
    return st;
}

static int64_t tokens_of(const Encoded *e) {
    return e->n ? e->offsets[e->n] : 0;
}

static void print_counts(const PrepData *d, const PrepEncoded *e) {
    for (int i = 0; i < d->n_dir; i++)
        for (int s = 0; s < PREP_N_SPLITS; s++)
            printf("bitext %s-%s %s: %lld pairs, %lld src tokens, %lld tgt tokens\n", d->dir[i].src,
                   d->dir[i].tgt, PREP_SPLIT_NAMES[s], (long long)encoded_bitext(e, i, s, 0)->n,
                   (long long)tokens_of(encoded_bitext(e, i, s, 0)),
                   (long long)tokens_of(encoded_bitext(e, i, s, 1)));
    for (int i = 0; i < d->n_mono; i++)
        for (int s = 0; s < PREP_N_SPLITS; s++)
            printf("mono %s %s: %lld sentences, %lld tokens\n", d->mono[i].lang, PREP_SPLIT_NAMES[s],
                   (long long)encoded_mono(e, i, s)->n, (long long)tokens_of(encoded_mono(e, i, s)));
}

static void print_catalogs(const Config *c, const PrepData *d) {
    if (!c->prep.mo.n && !c->prep.system_locale) return;
    printf("gettext: %lld catalogs read (", (long long)d->mo_read);
    for (int i = 0; i < c->prep.languages.n; i++)
        printf("%s%s %lld", i ? ", " : "", c->prep.languages.item[i], (long long)d->mo_per_language[i]);
    printf("), %lld unreadable, %lld of other languages, %lld without a language\n",
           (long long)d->mo_unreadable, (long long)d->mo_other_language, (long long)d->mo_no_language);
}

static void print_tokenizer(const Config *c, const Tokenizer *tok, const TokenizerReport *r) {
    if (tok->kind == TOKENIZER_HF) {
        char desc[512];
        tokenizer_describe(tok, desc, sizeof desc);
        printf("tokenizer: %s from %s\n", desc, c->prep.tokenizer);
        return;
    }
    if (r->reused)
        printf("tokenizer: reused /tokenizer of %s", c->prep.tokenizer);
    else
        printf("tokenizer: BPE trained on %lld train texts (%.1f MB)", (long long)r->n_texts,
               (double)r->bytes / 1e6);
    printf(": vocab %d (%d specials incl. %d language tags, %d merges), hash %s\n",
           tok->vocab_size, tok->bpe.n_special, r->n_tags, tok->bpe.n_merges, tok->hash);
}

static void print_times(const double t[N_PHASES + 1]) {
    printf("time:");
    for (int p = 0; p < N_PHASES; p++) printf(" %s %.2f s,", PHASE_NAMES[p], t[p + 1] - t[p]);
    printf(" total %.2f s\n", t[N_PHASES] - t[0]);
}

static void print_report(const Config *c, const PrepData *d, const PrepEncoded *e,
                         const Tokenizer *tok, const TokenizerReport *r) {
    print_catalogs(c, d);
    for (int i = 0; i < d->n_dir; i++) print_direction_drops(&d->dir[i]);
    for (int i = 0; i < d->n_mono; i++) print_mono_drops(&d->mono[i]);
    print_counts(d, e);
    print_tokenizer(c, tok, r);
}

// Splits that come out empty although their fraction is not zero: the
// corpus is valid, but evaluation or training on them will find nothing.
static void warn_empty_splits(const Config *c, const PrepData *d) {
    const double frac[PREP_N_SPLITS] = {1, c->prep.dev_fraction, c->prep.test_fraction};
    for (int i = 0; i < d->n_dir; i++)
        for (int s = 0; s < PREP_N_SPLITS; s++)
            if (frac[s] > 0 && d->dir[i].kept.start[s] == d->dir[i].kept.start[s + 1])
                fprintf(stderr, "warning: %s-%s has no %s pairs (%lld pairs in all)\n", d->dir[i].src,
                        d->dir[i].tgt, PREP_SPLIT_NAMES[s], (long long)d->dir[i].kept.items.n);
}

static LmStatus run_phases(const Config *c, const char *config_text, PrepData *d, double t[]) {
    t[PH_READ] = timer_now();
    LM_TRY(inputs_read(c, d));
    LM_TRY(catalogs_read(c, d));
    t[PH_CLEAN] = timer_now();
    filter_all(c, d);
    t[PH_SPLIT] = timer_now();
    split_all(c, d);
    LM_TRY(check_nonempty(c, d));
    warn_empty_splits(c, d);
    t[PH_TOKENIZER] = timer_now();
    Tokenizer tok;
    TokenizerReport rep;
    PrepEncoded enc = {0};
    tokenizer_init(&tok);
    LmStatus st = output_tokenizer(c, d, &tok, &rep);
    t[PH_ENCODE] = timer_now();
    if (st == LM_OK) st = output_encode(d, &tok, &enc);
    t[PH_WRITE] = timer_now();
    if (st == LM_OK) st = output_write(c, config_text, d, &tok, &enc);
    t[N_PHASES] = timer_now();
    if (st == LM_OK) print_report(c, d, &enc, &tok, &rep);
    encoded_free(&enc);
    tokenizer_free(&tok);
    return st;
}

LmStatus prep_run(const Config *c, const char *config_text) {
    LM_TRY(inputs_any(c));
    LM_TRY(inputs_check(c));
    LM_TRY(catalogs_check(c));
    PrepData d;
    double t[N_PHASES + 1];
    prepdata_init(&d, c);
    LmStatus st = run_phases(c, config_text, &d, t);
    prepdata_free(&d);
    if (st != LM_OK) return st;
    print_times(t);
    struct stat sb;
    double mb = stat(c->prep.output, &sb) == 0 ? (double)sb.st_size / 1e6 : 0;
    printf("wrote %s (%.1f MB)\n", c->prep.output, mb);
    return LM_OK;
}
