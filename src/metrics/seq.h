// Internal to src/metrics: symbol sequences (Unicode code points or token
// ids), UTF-8 decoding, Python's notion of whitespace, clipped n-gram
// matching and the BLEU tokenisers. Implemented in tokenize.c.
#ifndef LM_METRICS_SEQ_H
#define LM_METRICS_SEQ_H

#include <stddef.h>
#include <stdint.h>

#include "metrics/metrics.h"

typedef struct {
    uint32_t *v;
    size_t n;
} SymSeq;

// Tokens as spans of one code point buffer.
typedef struct {
    SymSeq text;
    size_t *start, *len;
    size_t ntok;
} TokList;

// Decodes UTF-8 (NULL reads as ""). A byte that does not start a valid
// sequence becomes U+DC00+byte, as Python's surrogateescape does.
SymSeq utf8_decode(const char *s);

// Encodes code points; U+DC80..U+DCFF turn back into the bytes they stand for.
char *utf8_encode(const uint32_t *v, size_t n);

// Python's str.isspace(), i.e. what str.split() and str.strip() remove.
int py_isspace(uint32_t c);

// sum over distinct n-grams g of hyp of min(count_hyp(g), max_r count_r(g)).
int64_t ngram_clipped_matches(const SymSeq *hyp, const SymSeq *refs, int nrefs, int n);

// Number of n-grams of a sequence of length len.
static inline int64_t ngram_count(size_t len, int n) {
    return len >= (size_t)n ? (int64_t)(len - (size_t)n + 1) : 0;
}

// Tokens of a line as sacreBLEU's BLEU sees them: tokenizer(line.rstrip()).split().
TokList bleu_tokens(const char *line, BleuTokenizer tok);
void toklist_free(TokList *t);

// The non-NULL strings of in[0..nin) into out (room for nin, at least 1),
// or "" alone if there are none. As in sacreBLEU >= 2.2, only a missing
// (NULL) reference is dropped; "" is a reference of length 0. Returns how
// many were stored.
int refs_usable(const char *const *in, int nin, const char **out);

// row[r] = refs[r][i] for r < nrefs (NULL where refs[r] is NULL).
void refs_row(const char *const *const *refs, int nrefs, int64_t i, const char **row);

#endif
