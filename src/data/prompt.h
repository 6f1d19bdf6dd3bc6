// Training examples of a direction s-t are [bos] head(s,t) src tail(s,t)
// tgt [eos], where head and tail are the prompt template's text before and
// after {src} with {src_lang} / {tgt_lang} replaced by English language
// names. The loss covers tgt and eos. Head and tail are tokenized on their
// own, so an example's tokens do not depend on its neighbours (detect,
// training and decoding all assemble prompts the same way).
#ifndef LM_PROMPT_H
#define LM_PROMPT_H

#include <stdint.h>

#include "util/err.h"

// Splits template at its single {src} into malloc'ed head and tail with the
// language fields filled in. LM_EUSAGE (naming data.prompt) when {src} is
// missing or repeated or an unknown {field} appears.
LmStatus prompt_render(const char *tmpl, const char *src_code, const char *tgt_code, char **head,
                       char **tail);

#endif
