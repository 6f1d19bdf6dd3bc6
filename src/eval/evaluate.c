#include "eval/evaluate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/open.h"
#include "eval/report.h"
#include "eval/scores.h"
#include "mpi/comm.h"
#include "train/trained.h"
#include "util/alloc.h"

// "NAME:PATH" entries, or model.checkpoint as "base".
static int checkpoint_list(const Config *c, EvalCkpt *out) {
    if (!c->evaluate.checkpoints.n) {
        snprintf(out[0].name, sizeof out[0].name, "base");
        snprintf(out[0].path, sizeof out[0].path, "%s", c->model.checkpoint);
        return 1;
    }
    for (int i = 0; i < c->evaluate.checkpoints.n; i++) {
        const char *item = c->evaluate.checkpoints.item[i], *colon = strchr(item, ':');
        snprintf(out[i].name, sizeof out[i].name, "%.*s", (int)(colon - item), item);
        snprintf(out[i].path, sizeof out[i].path, "%s", colon + 1);
    }
    return c->evaluate.checkpoints.n;
}

static int add_unique(char (*list)[64], int n, const char *s, size_t len) {
    for (int i = 0; i < n; i++)
        if (strlen(list[i]) == len && !strncmp(list[i], s, len)) return n;
    snprintf(list[n], 64, "%.*s", (int)len, s);
    return n + 1;
}

// Directions scored and languages whose perplexity is measured.
static void eval_units(const Config *c, Eval *e) {
    const CfgList *d = c->evaluate.directions.n ? &c->evaluate.directions : &c->data.directions;
    for (int i = 0; i < d->n; i++) e->n_dirs = add_unique(e->dirs, e->n_dirs, d->item[i], strlen(d->item[i]));
    for (int i = 0; i < c->evaluate.external.n; i++) {  // "SRC-TGT:SRC_FILE,REF_FILE"
        const char *item = c->evaluate.external.item[i], *colon = strchr(item, ':');
        snprintf(e->dirs[e->n_dirs], 64, "%.*s (external)", (int)(colon - item), item);
        e->files[e->n_dirs++] = colon + 1;
    }
    for (int i = 0; i < c->evaluate.languages.n; i++)
        e->n_langs = add_unique(e->langs, e->n_langs, c->evaluate.languages.item[i],
                                strlen(c->evaluate.languages.item[i]));
    for (int i = 0; !c->evaluate.languages.n && i < e->n_dirs; i++) {
        if (e->files[i]) continue;
        const char *dash = strchr(e->dirs[i], '-');
        e->n_langs = add_unique(e->langs, e->n_langs, e->dirs[i], (size_t)(dash - e->dirs[i]));
        e->n_langs = add_unique(e->langs, e->n_langs, dash + 1, strlen(dash + 1));
    }
}

// Every measurement of one checkpoint.
static LmStatus eval_checkpoint(const Config *c, Eval *e, EvalCkpt *k, Tokenizer *tok) {
    Model m;
    CkptLandermt lm;
    Trained t;
    LmStatus st = trained_load(k->path, &m, &lm, &t);
    if (st == LM_OK) st = corpus_check_vocab(c->data.corpus, m.cfg.vocab_size);
    if (st == LM_OK) st = corpus_check_tokenizer(c->data.corpus, k->path);
    for (int d = 0; st == LM_OK && d < e->n_dirs; d++) {
        char dir[64];  // the direction of the row label
        snprintf(dir, sizeof dir, "%.*s", (int)strcspn(e->dirs[d], " "), e->dirs[d]);
        st = score_direction(c, &m, tok, &lm, k->path, dir, e->files[d], &k->dir[d]);
        if (st == LM_OK && comm_rank() == 0)
            printf("evaluate %-10s %-10s BLEU %6.2f chrF %6.2f (%lld sentences, %.1f s, %.1f "
                   "sentences/s)\n", k->name, e->dirs[d], k->dir[d].bleu, k->dir[d].chrf,
                   (long long)k->dir[d].sentences, k->dir[d].seconds,
                   (double)k->dir[d].sentences / k->dir[d].seconds);
    }
    for (int i = 0; st == LM_OK && i < e->n_langs; i++) {
        int64_t n;
        st = score_perplexity(c, &m, tok, e->langs[i], &k->ppl[i], &n);
        if (st == LM_OK && comm_rank() == 0)
            printf("evaluate %-10s %-10s perplexity %.3f (%lld tokens)\n", k->name, e->langs[i],
                   k->ppl[i], (long long)n);
    }
    trained_free(&t, &m, &lm);
    return st;
}

LmStatus evaluate_run(const Config *c) {
    LM_TRY(config_require(c, (const char *const[]){"data.corpus"}, 1));
    Eval e;
    memset(&e, 0, sizeof e);
    e.ckpt = xcalloc(CFG_LIST_MAX, sizeof(EvalCkpt));
    e.n_ckpt = checkpoint_list(c, e.ckpt);
    eval_units(c, &e);
    if (!e.ckpt[0].path[0] || !e.n_dirs) {
        lm_error("evaluate needs checkpoints (evaluate.checkpoints or model.checkpoint) and "
                 "directions (evaluate.directions or data.directions)");
        lm_hint("e.g. --set 'evaluate.checkpoints=[base:runs/base.h5]' --set 'data.directions=[en-de]'");
        free(e.ckpt);
        return LM_EUSAGE;
    }
    Tokenizer tok;
    LmStatus st = corpus_tokenizer(c->data.corpus, &tok);
    for (int k = 0; st == LM_OK && k < e.n_ckpt; k++) {
        e.ckpt[k].dir = xcalloc((size_t)e.n_dirs, sizeof(DirScore));
        e.ckpt[k].ppl = xcalloc((size_t)e.n_langs + 1, sizeof(double));
        st = eval_checkpoint(c, &e, &e.ckpt[k], &tok);
    }
    if (st == LM_OK && comm_rank() == 0) st = report_write(c, &e);
    for (int k = 0; k < e.n_ckpt; k++) free(e.ckpt[k].dir), free(e.ckpt[k].ppl);
    free(e.ckpt);
    tokenizer_free(&tok);
    return (LmStatus)comm_agree_status(st);
}
