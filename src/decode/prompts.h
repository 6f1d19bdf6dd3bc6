// Translation prompts [bos] head src tail for one direction, collected back
// to back for decoding: the same assembly as training (data/open.h), with
// sources cut so that prompt and output fit max_position_embeddings.
#ifndef LM_PROMPTS_H
#define LM_PROMPTS_H

#include "data/open.h"
#include "decode/decode.h"

typedef struct {
    StreamPrompt sp;                 // prefix + head, tail of the direction
    int32_t sp_ids[PROMPT_IDS_MAX];
    int64_t max_src;                 // source tokens that fit
    int n;                           // prompts
    int32_t *ids;                    // back to back
    int64_t *off;                    // (n+1)
    int64_t cap_ids, cap_off;
    int n_cut;                       // sources cut to max_src
} PromptList;

// LM_EUSAGE when the template alone leaves no room in max_positions.
LmStatus prompts_init(PromptList *pl, const Config *c, Tokenizer *tok, const char *dir,
                      int max_positions);
void prompts_free(PromptList *pl);
// Appends the prompt of one source sentence of ns tokens.
void prompts_add(PromptList *pl, const int32_t *src, int64_t ns);
// Prompts [first, first+n) for decode_batch.
DecodePrompts prompts_view(const PromptList *pl, int first, int n);

#endif
