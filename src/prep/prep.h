// `landermt prep`: builds a corpus file (docs/formats.md) from TSV, Moses,
// plain-text and gettext .mo inputs: cleaning, deduplication, hash splits,
// a BPE tokenizer trained on the train split, statistics (docs/prep.md).
#ifndef LM_PREP_H
#define LM_PREP_H

#include "io/config.h"
#include "util/err.h"

// Runs every phase on this process and writes cfg->prep.output atomically.
// config_text (may be NULL) is stored as the root attribute config_yaml.
// LM_EUSAGE for configuration errors (no inputs, malformed items, bad
// language codes), LM_ERUNTIME for data and I/O errors (missing files,
// a direction or language left without data, unwritable output).
LmStatus prep_run(const Config *cfg, const char *config_text);

#endif
