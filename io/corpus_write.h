// Writing corpus files (format "landermt.corpus", docs/formats.md): one
// writer for `landermt prep`, the tools and the tests, so every corpus has
// the same layout. The file appears atomically at corpus_writer_commit.
#ifndef LM_CORPUS_WRITE_H
#define LM_CORPUS_WRITE_H

#include <hdf5.h>
#include <stdint.h>

#include "util/err.h"

typedef struct {
    hid_t file;
    char path[1024], tmp[1100];
} CorpusWriter;

// One side of a split: n sentences, tokens back to back with n+1 offsets,
// and optionally the original UTF-8 text of each sentence (dev/test keep it
// for scoring), NULL to omit.
typedef struct {
    int64_t n;
    const int32_t *tokens;
    const int64_t *offsets;
    const char *const *text;
} CorpusSide;

// Creates "<path>.tmp.<pid>" with the root attributes; the caller then
// writes its tokenizer into group "tokenizer" of w->file.
LmStatus corpus_writer_create(CorpusWriter *w, const char *path);
// /bitext/<a>-<b>/<split>/{src,tgt}_{tokens,offsets,text}
LmStatus corpus_write_bitext(CorpusWriter *w, const char *a, const char *b, const char *split,
                             const CorpusSide *src, const CorpusSide *tgt);
// /mono/<lang>/<split>/{tokens,offsets,text}
LmStatus corpus_write_mono(CorpusWriter *w, const char *lang, const char *split,
                           const CorpusSide *side);
// Flush, fsync, rename over path. On any earlier error call
// corpus_writer_abandon instead: the previous file at path survives.
LmStatus corpus_writer_commit(CorpusWriter *w);
void corpus_writer_abandon(CorpusWriter *w);

#endif
