#include "decode/prompts.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

LmStatus prompts_init(PromptList *pl, const Config *c, Tokenizer *tok, const char *dir,
                      int max_positions) {
    memset(pl, 0, sizeof *pl);
    pl->off = xcalloc(1, sizeof(int64_t)), pl->cap_off = 1;
    LM_TRY(prompt_tokens(c, tok, dir, pl->sp_ids, &pl->sp));
    pl->max_src = (int64_t)max_positions - pl->sp.n_prefix - pl->sp.n_middle - 1;
    if (pl->max_src >= 0) return LM_OK;
    lm_error("data.prompt alone takes %d tokens, more than max_position_embeddings = %d allows",
             pl->sp.n_prefix + pl->sp.n_middle, max_positions);
    return LM_EUSAGE;
}

void prompts_free(PromptList *pl) {
    free(pl->ids), free(pl->off);
    memset(pl, 0, sizeof *pl);
}

void prompts_add(PromptList *pl, const int32_t *src, int64_t ns) {
    const StreamPrompt *p = &pl->sp;
    if (ns > pl->max_src) ns = pl->max_src, pl->n_cut++;
    int64_t at = pl->off[pl->n], end = at + p->n_prefix + ns + p->n_middle;
    if (end > pl->cap_ids) {
        pl->cap_ids = end > 2 * pl->cap_ids ? end : 2 * pl->cap_ids;
        pl->ids = xrealloc(pl->ids, sizeof(int32_t) * (size_t)pl->cap_ids);
    }
    if (pl->n + 2 > pl->cap_off) {
        pl->cap_off = 2 * pl->cap_off + 2;
        pl->off = xrealloc(pl->off, sizeof(int64_t) * (size_t)pl->cap_off);
    }
    memcpy(pl->ids + at, p->prefix, sizeof(int32_t) * (size_t)p->n_prefix);
    memcpy(pl->ids + at + p->n_prefix, src, sizeof(int32_t) * (size_t)ns);
    memcpy(pl->ids + end - p->n_middle, p->middle, sizeof(int32_t) * (size_t)p->n_middle);
    pl->off[++pl->n] = end;
}

DecodePrompts prompts_view(const PromptList *pl, int first, int n) {
    return (DecodePrompts){n, pl->ids, pl->off + first};
}
