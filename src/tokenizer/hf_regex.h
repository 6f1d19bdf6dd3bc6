// The regular expressions of tokenizer.json (Split, Replace) run with PCRE2
// as the `tokenizers` library runs them with Oniguruma: patterns are
// translated where the two dialects differ (\s, \w, \h, \uHHHH, long
// property names; docs/tokenizer.md), and matches are enumerated like the
// library's find_iter, empty matches included.
#ifndef LM_HF_REGEX_H
#define LM_HF_REGEX_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef struct HfRegex HfRegex;

typedef enum {
    HF_RE_ONIG,     // a tokenizer.json "Regex" pattern (Oniguruma syntax)
    HF_RE_LITERAL,  // a tokenizer.json "String" pattern: matched literally
    HF_RE_PCRE,     // landermt's own pattern, PCRE2 syntax
} HfReKind;

// One match or gap: bytes [start, end) of the searched text.
typedef struct {
    size_t start, end;
    int match;
} HfSpan;

// A growable list of spans (reused between calls).
typedef struct {
    HfSpan *v;
    size_t n, cap;
} HfSpans;

// Compiles pattern; `where` names the field in errors (e.g. "tokenizer.json
// x: pre_tokenizer.pattern.Regex"). LM_ERUNTIME with PCRE2's message and the
// offset for a pattern PCRE2 rejects, LM_EUSAGE for an Oniguruma feature
// PCRE2 lacks.
LmStatus hf_regex_compile(const char *pattern, size_t len, HfReKind kind, const char *where,
                          HfRegex **out);
void hf_regex_free(HfRegex *re);

// Per-thread matching scratch.
typedef struct HfMatcher HfMatcher;
HfMatcher *hf_matcher_new(void);
void hf_matcher_free(HfMatcher *m);

// Matches and gaps covering s[0..n) in order, as the library's
// Pattern::find_matches: every match (empty ones too) and the non-empty gaps
// between them; an empty text gives one empty gap. s must be valid UTF-8.
// LM_ERUNTIME (with a message) if PCRE2 fails, e.g. on its resource limits.
LmStatus hf_regex_spans(const HfRegex *re, HfMatcher *m, const char *s, size_t n,
                        HfSpans *out);

// 1 if the regex matches at s[0..n) starting exactly at 0 (anchored).
int hf_regex_anchored(const HfRegex *re, HfMatcher *m, const char *s, size_t n);

void hf_spans_push(HfSpans *sp, size_t start, size_t end, int match);
void hf_spans_free(HfSpans *sp);

#endif
