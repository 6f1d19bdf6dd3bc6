// BOS / EOS / pad names of a Hugging Face tokenizer from the JSON files in
// its directory (hf_special.c; the rules are in docs/tokenizer.md).
#ifndef LM_HF_SPECIAL_H
#define LM_HF_SPECIAL_H

#include "tokenizer/hf.h"

// names[0..2] receive malloc'ed bos, eos, pad names ("" for none). dir may
// be NULL (no files: all none).
LmStatus hf_special_tokens(const HfTokenizer *h, const char *dir, char **names[3]);

#endif
