// Internal pipeline of `landermt prep` (docs/prep.md): the in-memory corpus
// and the phases that fill it, one file each:
//   inputs.c    TSV, Moses and text files -> raw items
//   catalogs.c  gettext .mo discovery and reading -> raw items
//   filter.c    cleaning (clean_pair / clean_normalise + length limits)
//   split.c     hash splits, deduplication, monolingual text per split
//   output.c    tokenizer (train, or reuse a corpus's, a checkpoint's or a
//               Hugging Face model's), encoding, writing the corpus file
//   prep.c      the driver: phase order, timing, statistics
#ifndef LM_PREP_BUILD_H
#define LM_PREP_BUILD_H

#include <stdint.h>

#include "io/config.h"
#include "prep/clean.h"
#include "tokenizer/tokenizer.h"
#include "util/err.h"

#define PREP_LANG_MAX 32  // bytes of a language code, NUL included

typedef enum { PREP_TRAIN, PREP_DEV, PREP_TEST, PREP_N_SPLITS } PrepSplit;
extern const char *const PREP_SPLIT_NAMES[PREP_N_SPLITS];

// One sentence (b == NULL) or one pair (a = source, b = target), with the
// split key: clean_hash of the text that decides the split.
typedef struct {
    char *a, *b;
    uint64_t key;
    int split;  // PrepSplit
} PrepItem;

// A growable list of items; owns the strings.
typedef struct {
    PrepItem *v;
    int64_t n, cap;
} ItemList;

void items_push(ItemList *l, char *a, char *b);  // takes ownership of a and b
void items_free(ItemList *l);

// Sorted by split, then key, then text; start[s] .. start[s+1] is split s.
typedef struct {
    ItemList items;
    int64_t start[PREP_N_SPLITS + 1];
} SplitItems;

// A translation direction as given by its inputs (a TSV de-en stays de-en).
typedef struct {
    char src[PREP_LANG_MAX], tgt[PREP_LANG_MAX];
    int pivot_is_tgt;      // 1: the target is the pivot (English) side, so
                           // cleaning and the split key use the target
    int from_gettext;      // a pivot-<language> direction of prep.languages
    ItemList raw;          // as read
    SplitItems kept;       // cleaned, split, deduplicated
    int64_t malformed, invalid_utf8, bad_charset, duplicates;
    CleanStats clean;
} PrepDirection;

// Monolingual text of one language.
typedef struct {
    char lang[PREP_LANG_MAX];
    int from_text;         // named by prep.text (must not end up empty)
    ItemList raw;          // prep.text lines as read
    SplitItems kept;
    int64_t invalid_utf8, empty, too_short, too_long, duplicates;
} PrepMono;

typedef struct {
    PrepDirection *dir;
    int n_dir;
    PrepMono *mono;
    int n_mono;
    // gettext catalogs
    int64_t mo_read, mo_unreadable, mo_other_language, mo_no_language;
    int64_t *mo_per_language;  // [prep.languages.n] catalogs read per language
} PrepData;

void prepdata_init(PrepData *d, const Config *c);
void prepdata_free(PrepData *d);
// The direction src-tgt / language `lang`, created when new.
PrepDirection *prepdata_direction(PrepData *d, const Config *c, const char *src, const char *tgt);
PrepMono *prepdata_mono(PrepData *d, const char *lang);

// 1 when s (n bytes) is strict UTF-8 without NUL: stored text must decode
// in h5py and in the scorers.
int prep_utf8_valid(const char *s, size_t n);
// A language code: a letter, then letters or '_' (de, zh_CN), < PREP_LANG_MAX.
int prep_lang_valid(const char *s, size_t n);

// inputs.c: prep.tsv, prep.moses, prep.text. Checks item syntax (LM_EUSAGE)
// and that every file, and prep.tokenizer, exists (LM_ERUNTIME, all missing
// files listed) before reading anything.
LmStatus inputs_check(const Config *c);
LmStatus inputs_read(const Config *c, PrepData *d);

// catalogs.c: prep.mo and prep.system_locale.
LmStatus catalogs_check(const Config *c);
LmStatus catalogs_read(const Config *c, PrepData *d);
// Index in langs of the configured language a catalog of language `cat`
// belongs to, or -1 (rule in docs/prep.md).
int catalog_language_match(const CfgList *langs, const char *cat);

// filter.c: raw -> cleaned items with their split key (raw lists are freed).
void filter_all(const Config *c, PrepData *d);

// split.c: split assignment, deduplication and the monolingual splits.
int split_of(uint64_t key, double dev_fraction, double test_fraction);
void split_all(const Config *c, PrepData *d);

// output.c: the tokenizer, the encoded splits and the corpus file.
typedef struct {
    int reused;            // read from prep.tokenizer
    int n_tags;            // <2xx> language tags
    int64_t n_texts, bytes;  // training texts
} TokenizerReport;
LmStatus output_tokenizer(const Config *c, const PrepData *d, Tokenizer *tok, TokenizerReport *rep);

// Tokens of one side of one split: n sentences, n+1 offsets.
typedef struct {
    int64_t n;
    int32_t *tokens;
    int64_t *offsets;
} Encoded;

typedef struct {
    Encoded *bitext;  // [n_dir][PREP_N_SPLITS][2 sides]
    Encoded *mono;    // [n_mono][PREP_N_SPLITS]
    int n_dir, n_mono;
} PrepEncoded;

static inline Encoded *encoded_bitext(const PrepEncoded *e, int dir, int split, int side) {
    return &e->bitext[(dir * PREP_N_SPLITS + split) * 2 + side];
}
static inline Encoded *encoded_mono(const PrepEncoded *e, int lang, int split) {
    return &e->mono[lang * PREP_N_SPLITS + split];
}

LmStatus output_encode(const PrepData *d, const Tokenizer *tok, PrepEncoded *e);
void encoded_free(PrepEncoded *e);
// Writes prep.output atomically (the previous file survives any error).
LmStatus output_write(const Config *c, const char *config_text, const PrepData *d,
                      const Tokenizer *tok, const PrepEncoded *e);

#endif
