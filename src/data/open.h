// Opening the corpus streams of a run as its configuration says: the
// tokenizer that must fit the model, the prompt tokens of each direction,
// the seed and the overlong rule. Used by training, detection and
// evaluation alike, so all of them see the same examples.
#ifndef LM_DATA_OPEN_H
#define LM_DATA_OPEN_H

#include "data/stream.h"
#include "io/config.h"
#include "tokenizer/tokenizer.h"

// The corpus tokenizer must fit a model of vocab_size (LM_ERUNTIME naming
// both sizes otherwise).
LmStatus corpus_check_vocab(const char *corpus, int vocab_size);
// Loads the corpus's /tokenizer.
LmStatus corpus_tokenizer(const char *corpus, Tokenizer *tok);
// The tokenizer a model carries: a checkpoint's /tokenizer, or the
// tokenizer.json of a Hugging Face model directory. *found = 0 (and LM_OK)
// when it carries none.
LmStatus ckpt_tokenizer(const char *path, Tokenizer *tok, int *found);
// LM_ERUNTIME naming both files and hashes unless the two are the same
// tokenizer (equal content hashes).
LmStatus tokenizers_match(const Tokenizer *corpus_tok, const char *corpus,
                          const Tokenizer *ckpt_tok, const char *ckpt);
// A model and a corpus must share their tokenizer; a model without one is
// accepted with a warning (nothing to compare).
LmStatus corpus_check_tokenizer(const char *corpus, const char *ckpt);
// Room for the prompt ids of any template (< CFG_STR bytes, names expanded).
#define PROMPT_IDS_MAX (CFG_STR * 4 + 2)
// The tokenizer's prefix (what its post-processor puts before a text: BPE
// <bos>, Llama <s>, Qwen nothing) + head(s,t) as p->prefix and tail(s,t) as
// p->middle for a direction "s-t"; the prefix alone for a language; the
// tokenizer's eos as p->eos. p points into ids (PROMPT_IDS_MAX). Training,
// detection and decoding all assemble examples from these.
LmStatus prompt_tokens(const Config *c, Tokenizer *tok, const char *name, int32_t *ids,
                       StreamPrompt *p);
// Opens stream `name` ("de-en" or "en") of `split` of data.corpus.
LmStatus stream_open_config(Stream *s, const Config *c, Tokenizer *tok, const char *name,
                            const char *split, int vocab_size, int shuffle);

#endif
