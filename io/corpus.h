// Reading corpus files (format "landermt.corpus", docs/formats.md):
//   /bitext/<a>-<b>/<split>/{src,tgt}_tokens  int32, {src,tgt}_offsets int64 (n+1)
//   /mono/<lang>/<split>/tokens int32, offsets int64 (n+1)
// sentence i of a side = tokens[offsets[i] : offsets[i+1]].
#ifndef LM_CORPUS_H
#define LM_CORPUS_H

#include <hdf5.h>
#include <stdint.h>

#include "util/err.h"

#define CORPUS_FORMAT "landermt.corpus"
#define CORPUS_VERSION 1

// Streaming access to one split of one stream, in bounded reads: only the
// sentence offsets (8 bytes per sentence and side) stay in memory; tokens
// are read per block of consecutive sentences with HDF5 hyperslabs.
// A stream is a translation direction "s-t" — /bitext/s-t, or /bitext/t-s
// with the sides swapped — or a language "xx" (/mono/xx: its sentences are
// the target side and there is no source side).
typedef struct {
    hid_t file;
    char what[1100];       // "corpus <path>", for messages
    char src_tok[256], src_off[256], tgt_tok[256], tgt_off[256];  // dataset paths
    int has_src;           // 0 for monolingual streams
    int64_t n;             // sentences
    int64_t *src_offsets;  // (n+1), NULL without a source side
    int64_t *tgt_offsets;  // (n+1)
} CorpusReader;

// Opens `stream` of `split`. Validates the offsets and, in one pass of
// bounded memory, every token id against vocab_size (<= 0 skips that pass).
// Errors name the file and dataset; a missing stream lists what exists.
LmStatus corpus_reader_open(CorpusReader *r, const char *path, const char *stream,
                            const char *split, int vocab_size);
void corpus_reader_close(CorpusReader *r);

// Tokens of sentences [first, first+count), each side back to back (their
// lengths follow from the offsets). src may be NULL.
LmStatus corpus_reader_read(const CorpusReader *r, int64_t first, int64_t count, int32_t *src,
                            int32_t *tgt);

// The stored original text of one side (src = 1: source side) of every
// sentence: one malloc'ed block (pointers + strings), freed with free(*out).
// Only dev/test splits keep text; a split without it is an error naming the
// dataset.
LmStatus corpus_reader_text(const CorpusReader *r, int src, char ***out);

// 1 if stream names a direction "s-t" (two language codes joined by '-').
int corpus_stream_is_direction(const char *stream);

// Special token ids and vocabulary size stored in /tokenizer.
typedef struct {
    int64_t vocab_size, bos_id, eos_id, pad_id;
} TokenizerInfo;
LmStatus corpus_read_tokenizer_info(const char *path, TokenizerInfo *info);

#endif
