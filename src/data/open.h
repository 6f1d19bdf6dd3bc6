// Opening the corpus streams of a run as its configuration says: the
// tokenizer that must fit the model, the prompt tokens of each direction,
// the seed and the overlong rule. Used by training, detection and
// evaluation alike, so all of them see the same examples.
#ifndef LM_DATA_OPEN_H
#define LM_DATA_OPEN_H

#include "data/stream.h"
#include "io/config.h"
#include "tokenizer/bpe.h"

// The corpus tokenizer must fit a model of vocab_size (LM_ERUNTIME naming
// both sizes otherwise).
LmStatus corpus_check_vocab(const char *corpus, int vocab_size);
// Loads the corpus's /tokenizer.
LmStatus corpus_tokenizer(const char *corpus, BpeTokenizer *tok);
// Loads a checkpoint's /tokenizer; *found = 0 (and LM_OK) when it has none.
LmStatus ckpt_tokenizer(const char *path, BpeTokenizer *tok, int *found);
// LM_ERUNTIME naming both files and hashes unless the two are the same
// tokenizer (equal content hashes).
LmStatus tokenizers_match(BpeTokenizer *corpus_tok, const char *corpus, BpeTokenizer *ckpt_tok,
                          const char *ckpt);
// A model checkpoint and a corpus must share their tokenizer (checked
// when the checkpoint stores one).
LmStatus corpus_check_tokenizer(const char *corpus, const char *ckpt);
// Room for the prompt ids of any template (< CFG_STR bytes, names expanded).
#define PROMPT_IDS_MAX (CFG_STR * 4 + 2)
// [bos] head(s,t) as p->prefix and tail(s,t) as p->middle for a direction
// "s-t"; [bos] alone for a language. p points into ids (PROMPT_IDS_MAX).
// Training, detection and decoding all assemble examples from these.
LmStatus prompt_tokens(const Config *c, BpeTokenizer *tok, const char *name, int32_t *ids,
                       StreamPrompt *p);
// Opens stream `name` ("de-en" or "en") of `split` of data.corpus.
LmStatus stream_open_config(Stream *s, const Config *c, BpeTokenizer *tok, const char *name,
                            const char *split, int vocab_size, int shuffle);

#endif
