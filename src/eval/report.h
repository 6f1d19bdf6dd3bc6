// The results of `landermt evaluate` and their Markdown / JSON reports.
#ifndef LM_REPORT_H
#define LM_REPORT_H

#include "eval/scores.h"
#include "io/config.h"

typedef struct {
    char name[64];
    char path[CFG_STR];
    DirScore *dir;  // [n_dirs]
    double *ppl;    // [n_langs]
} EvalCkpt;

typedef struct {
    int n_ckpt;
    EvalCkpt *ckpt;        // the first is the reference (the base)
    int n_dirs, n_langs;
    char dirs[2 * CFG_LIST_MAX][64];   // row labels: "de-en", or "de-en (external)"
    const char *files[2 * CFG_LIST_MAX];  // NULL = the corpus split, else "SRC,REF" files
    char langs[2 * CFG_LIST_MAX][64];
} Eval;

// Writes <evaluate.output>/eval.md and eval.json and prints the Markdown.
LmStatus report_write(const Config *c, const Eval *e);

#endif
