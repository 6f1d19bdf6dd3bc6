// MT metrics, sacreBLEU-compatible: corpus/sentence BLEU with the 13a, zh,
// char and none tokenisers, and chrF. Strings are UTF-8; a byte that is not
// part of a valid UTF-8 sequence is read as the lone surrogate U+DC00+byte
// (Python's "surrogateescape"), so any byte string is accepted and two
// different invalid bytes never compare equal. docs/metrics.md lists the
// exact sacreBLEU settings reproduced and where the test values come from.
//
// Statistics are plain integer sums, so a corpus split over MPI ranks can be
// scored by summing BleuStats / ChrfStats element-wise and calling
// bleu_from_stats / chrf_from_stats once.
#ifndef LM_METRICS_H
#define LM_METRICS_H

#include <stddef.h>
#include <stdint.h>

// The sacreBLEU release line whose behaviour is reproduced (signatures).
#define METRICS_SACREBLEU_VERSION "2.2+"

// ------------------------------------------------------------------ BLEU

#define BLEU_MAX_ORDER 6  // largest max_order accepted (sacreBLEU default 4)

typedef enum {
    BLEU_TOK_13A,   // mteval-v13a (sacreBLEU "13a"), the default
    BLEU_TOK_ZH,    // sacreBLEU "zh": CJK characters split, then 13a regexes
    BLEU_TOK_CHAR,  // sacreBLEU "char": every non-space character a token
    BLEU_TOK_NONE,  // sacreBLEU "none": split on whitespace only
} BleuTokenizer;

typedef enum {
    BLEU_SMOOTH_EXP,    // sacreBLEU "exp" (mteval-v13a), the default
    BLEU_SMOOTH_NONE,   // "none"
    BLEU_SMOOTH_FLOOR,  // "floor": 0 matches count as smooth_value
    BLEU_SMOOTH_ADD_K,  // "add-k": k added to matches and totals for n > 1
} BleuSmooth;

typedef struct {
    BleuTokenizer tok;
    BleuSmooth smooth;
    double smooth_value;  // floor / add-k value; < 0 = sacreBLEU's default (0.1 / 1)
    int effective_order;  // 1: average only orders that have hypothesis n-grams
    int max_order;        // 1 .. BLEU_MAX_ORDER
} BleuOptions;

// Sufficient statistics (sums over segments).
typedef struct {
    int64_t sys_len, ref_len;  // hypothesis tokens; closest reference lengths
    int64_t counts[BLEU_MAX_ORDER];  // clipped n-gram matches
    int64_t totals[BLEU_MAX_ORDER];  // hypothesis n-grams
} BleuStats;

typedef struct {
    double score;  // 0 .. 100
    double bp, ratio;  // brevity penalty; sys_len / ref_len (0 if ref_len == 0)
    double precisions[BLEU_MAX_ORDER];  // percent; entries >= order are 0
    int64_t sys_len, ref_len;
    int64_t counts[BLEU_MAX_ORDER], totals[BLEU_MAX_ORDER];
    int order;  // max_order used
} BleuResult;

// sacreBLEU's BLEU() defaults: 13a, exp, effective order off, order 4.
BleuOptions bleu_options_default(void);

// Corpus BLEU, one reference per sentence, sacreBLEU defaults with the given
// tokenizer (signature nrefs:1|case:mixed|eff:no|tok:<tok>|smooth:exp).
BleuResult bleu_corpus(const char *const *hyps, const char *const *refs, int64_t n,
                       BleuTokenizer tok);

// Corpus BLEU with nrefs reference streams: refs[r][i] is reference r of
// sentence i. As in sacreBLEU >= 2.2, an empty reference "" is a reference
// of length 0 (it can be the closest length) and only a NULL (missing)
// reference is skipped for its sentence (variable number of references); a
// sentence left with none is scored against one empty reference (sacreBLEU
// fails on it). A NULL hypothesis is read as "".
BleuResult bleu_corpus_multi(const char *const *hyps, const char *const *const *refs,
                             int nrefs, int64_t n, const BleuOptions *opt);

// Sentence BLEU as sacreBLEU's sentence_bleu(): smoothing exp, effective
// order on, order 4.
double bleu_sentence(const char *hyp, const char *ref, BleuTokenizer tok);

// Adds the statistics of one segment (references as for bleu_corpus_multi).
void bleu_add_segment(BleuStats *acc, const char *hyp, const char *const *refs,
                      int nrefs, const BleuOptions *opt);

// Score from (summed) statistics, sacreBLEU's compute_bleu.
BleuResult bleu_from_stats(const BleuStats *s, const BleuOptions *opt);

// The tokens BLEU sees for a line: tokenizer(line.rstrip()) joined by single
// spaces, as a malloc'ed UTF-8 string (invalid input bytes are restored).
char *bleu_tokenize(const char *line, BleuTokenizer tok);

// Tokenizer for a target language code: zh / zho / chi -> ZH; ja / jpn ->
// CHAR (stand-in for ja-mecab, which is not available); anything else, or
// NULL, -> 13A. Only the primary subtag counts ("zh-CN", "ja_JP" work).
BleuTokenizer bleu_tokenizer_for(const char *target_lang);

// "13a", "zh", "char", "none".
const char *bleu_tokenizer_name(BleuTokenizer tok);

// sacreBLEU-style signature, e.g.
// "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.2+".
// Returns what snprintf returns.
int bleu_signature(char *buf, size_t cap, int nrefs, const BleuOptions *opt);

// ------------------------------------------------------------------ chrF

#define CHRF_MAX_ORDER 6  // largest char_order accepted (sacreBLEU default 6)

typedef struct {
    int char_order;     // 1 .. CHRF_MAX_ORDER
    double beta;        // recall weight
    int eps_smoothing;  // 1: chrF++.py-style epsilon smoothing; 0: effective order
    int whitespace;     // 1: keep whitespace characters in the n-grams
} ChrfOptions;

typedef struct {
    int64_t hyp[CHRF_MAX_ORDER];    // hypothesis n-grams (0 where the reference has none)
    int64_t ref[CHRF_MAX_ORDER];    // reference n-grams
    int64_t match[CHRF_MAX_ORDER];  // clipped matches
} ChrfStats;

typedef struct {
    double score;  // 0 .. 100
    ChrfStats stats;
} ChrfResult;

// sacreBLEU's CHRF() defaults: chrF2 (char order 6, word order 0, beta 2,
// whitespace excluded, effective-order averaging).
ChrfOptions chrf_options_default(void);

// Corpus chrF2, one reference per sentence, from summed statistics.
ChrfResult chrf_corpus(const char *const *hyps, const char *const *refs, int64_t n);

// Corpus chrF with reference streams (NULL references skipped, "" kept, as
// for bleu_corpus_multi); per sentence the reference with the best sentence
// score is used, the first one on ties, as in sacreBLEU.
ChrfResult chrf_corpus_multi(const char *const *hyps, const char *const *const *refs,
                             int nrefs, int64_t n, const ChrfOptions *opt);

void chrf_add_segment(ChrfStats *acc, const char *hyp, const char *const *refs, int nrefs,
                      const ChrfOptions *opt);

double chrf_from_stats(const ChrfStats *s, const ChrfOptions *opt);

// e.g. "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.2+".
int chrf_signature(char *buf, size_t cap, int nrefs, const ChrfOptions *opt);

#endif
