// The measurements `landermt evaluate` makes for one loaded model.
#ifndef LM_SCORES_H
#define LM_SCORES_H

#include "io/ckpt.h"
#include "io/config.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

typedef struct {
    double bleu, chrf;
    int64_t sentences;
    double seconds;
    char signature[128];  // sacreBLEU-style BLEU signature
} DirScore;

// Translates the source sentences of direction dir — up to
// evaluate.max_sentences of split evaluate.split of data.corpus, or with
// files = "SOURCE_FILE,REFERENCE_FILE" every line of an external test set —
// split over the ranks, applying the checkpoint's CAR routes for dir, and
// scores them against the references. Every rank gets the same scores.
LmStatus score_direction(const Config *c, Model *m, Tokenizer *tok, const CkptLandermt *lm,
                         const char *ckpt, const char *dir, const char *files, DirScore *out);

// Perplexity exp(mean token NLL) of the monolingual split of lang (up to
// evaluate.max_sentences sentences, [bos] sentence [eos], no routing).
LmStatus score_perplexity(const Config *c, Model *m, Tokenizer *tok, const char *lang,
                          double *ppl, int64_t *tokens);

#endif
