// Reading token streams from a corpus file (format "landermt.corpus",
// docs/formats.md). This issue needs the monolingual streams:
//   /mono/<lang>/<split>/tokens   int32 (N)
//   /mono/<lang>/<split>/offsets  int64 (n+1), sentence i = tokens[off[i]:off[i+1]]
#ifndef LM_CORPUS_H
#define LM_CORPUS_H

#include <stdint.h>

#include "util/err.h"

#define CORPUS_FORMAT "landermt.corpus"
#define CORPUS_VERSION 1

typedef struct {
    int64_t n;          // sentences
    int32_t *tokens;    // all sentences back to back
    int64_t *offsets;   // (n+1)
} TokenStream;

// Reads /mono/<lang>/<split>. Validates offsets (start 0, non-decreasing,
// end == len(tokens)) and every token id in [0, vocab_size); errors name the
// file, dataset and the first bad index. vocab_size <= 0 skips the id check.
LmStatus corpus_read_mono(const char *path, const char *lang, const char *split,
                          int vocab_size, TokenStream *out);
void token_stream_free(TokenStream *s);

// Special token ids and vocabulary size stored in /tokenizer.
typedef struct {
    int64_t vocab_size, bos_id, eos_id, pad_id;
} TokenizerInfo;
LmStatus corpus_read_tokenizer_info(const char *path, TokenizerInfo *info);

#endif
