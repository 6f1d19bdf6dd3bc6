#include "io/corpus_write.h"

#include <stdio.h>
#include <string.h>

#include "io/corpus.h"
#include "io/h5.h"

LmStatus corpus_writer_create(CorpusWriter *w, const char *path) {
    memset(w, 0, sizeof *w);
    snprintf(w->path, sizeof w->path, "%s", path);
    LM_TRY(h5_create_tmp(path, w->tmp, sizeof w->tmp, &w->file));
    LmStatus st = h5_attr_write_str(w->file, "format", CORPUS_FORMAT);
    if (st == LM_OK) st = h5_attr_write_i64(w->file, "format_version", CORPUS_VERSION);
    if (st != LM_OK) corpus_writer_abandon(w);
    return st;
}

// <group>/<prefix>tokens, <prefix>offsets and (if any) <prefix>text.
static LmStatus side_write(hid_t f, const char *group, const char *prefix, const CorpusSide *s) {
    char name[512];
    int64_t n_off = s->n + 1, n_tok = s->offsets[s->n];
    snprintf(name, sizeof name, "%s/%stokens", group, prefix);
    LM_TRY(h5_write(f, name, H5T_I32, s->tokens, 1, &n_tok));
    snprintf(name, sizeof name, "%s/%soffsets", group, prefix);
    LM_TRY(h5_write(f, name, H5T_I64, s->offsets, 1, &n_off));
    if (!s->text) return LM_OK;
    snprintf(name, sizeof name, "%s/%stext", group, prefix);
    return h5_write_strings(f, name, s->text, s->n);
}

LmStatus corpus_write_bitext(CorpusWriter *w, const char *a, const char *b, const char *split,
                             const CorpusSide *src, const CorpusSide *tgt) {
    char group[300];
    snprintf(group, sizeof group, "/bitext/%s-%s/%s", a, b, split);
    LM_TRY(side_write(w->file, group, "src_", src));
    return side_write(w->file, group, "tgt_", tgt);
}

LmStatus corpus_write_mono(CorpusWriter *w, const char *lang, const char *split,
                           const CorpusSide *side) {
    char group[300];
    snprintf(group, sizeof group, "/mono/%s/%s", lang, split);
    return side_write(w->file, group, "", side);
}

LmStatus corpus_writer_commit(CorpusWriter *w) {
    LmStatus st = h5_commit(w->file, w->tmp, w->path);
    w->file = -1;
    return st;
}

void corpus_writer_abandon(CorpusWriter *w) {
    if (w->file >= 0) h5_abandon(w->file, w->tmp);
    w->file = -1;
}
