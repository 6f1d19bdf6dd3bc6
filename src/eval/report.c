#include "eval/report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "io/files.h"

// One Markdown table: a row per direction (or language), a column per
// checkpoint; delta = 1 prints the change relative to checkpoint 0.
typedef double (*CellFn)(const EvalCkpt *k, int row);
static double cell_bleu(const EvalCkpt *k, int row) { return k->dir[row].bleu; }
static double cell_chrf(const EvalCkpt *k, int row) { return k->dir[row].chrf; }
static double cell_ppl(const EvalCkpt *k, int row) { return k->ppl[row]; }

static void md_table(FILE *f, const Eval *e, const char *title, const char (*rows)[64], int n_rows,
                     CellFn cell, int delta) {
    fprintf(f, "\n## %s\n\n| |", title);
    for (int k = delta; k < e->n_ckpt; k++) fprintf(f, " %s |", e->ckpt[k].name);
    fprintf(f, "\n|---|");
    for (int k = delta; k < e->n_ckpt; k++) fprintf(f, "---:|");
    fprintf(f, "\n");
    for (int r = 0; r < n_rows; r++) {
        fprintf(f, "| %s |", rows[r]);
        for (int k = delta; k < e->n_ckpt; k++) {
            double v = cell(&e->ckpt[k], r), base = cell(&e->ckpt[0], r);
            if (delta) fprintf(f, " %+.2f |", v - base);
            else fprintf(f, " %.2f |", v);
        }
        fprintf(f, "\n");
    }
}

static void md_write(FILE *f, const Config *c, const Eval *e) {
    fprintf(f, "# Evaluation\n\nSplit `%s` of `%s`, up to %d sentences per direction, beam %d. "
               "BLEU: sacreBLEU-compatible, `%s`; chrF2.\n", c->evaluate.split, c->data.corpus,
            c->evaluate.max_sentences, c->translate.beam, e->ckpt[0].dir[0].signature);
    fprintf(f, "\nCheckpoints:");
    for (int k = 0; k < e->n_ckpt; k++) fprintf(f, " %s = `%s`%s", e->ckpt[k].name, e->ckpt[k].path,
                                                k + 1 < e->n_ckpt ? ";" : "\n");
    md_table(f, e, "BLEU", e->dirs, e->n_dirs, cell_bleu, 0);
    md_table(f, e, "chrF", e->dirs, e->n_dirs, cell_chrf, 0);
    md_table(f, e, "Perplexity (monolingual text)", e->langs, e->n_langs, cell_ppl, 0);
    if (e->n_ckpt < 2) return;
    fprintf(f, "\n# Change relative to %s (gain; negative BLEU or positive perplexity = "
               "forgetting)\n", e->ckpt[0].name);
    md_table(f, e, "BLEU change", e->dirs, e->n_dirs, cell_bleu, 1);
    md_table(f, e, "Perplexity change", e->langs, e->n_langs, cell_ppl, 1);
}

static void json_write(FILE *f, const Config *c, const Eval *e) {
    fprintf(f, "{\"split\": \"%s\", \"max_sentences\": %d, \"bleu_signature\": \"%s\", "
               "\"checkpoints\": [", c->evaluate.split, c->evaluate.max_sentences,
            e->ckpt[0].dir[0].signature);
    for (int k = 0; k < e->n_ckpt; k++) {
        const EvalCkpt *ck = &e->ckpt[k];
        fprintf(f, "%s\n  {\"name\": \"%s\", \"path\": \"%s\", \"directions\": {", k ? "," : "",
                ck->name, ck->path);
        for (int d = 0; d < e->n_dirs; d++)
            fprintf(f, "%s\"%s\": {\"bleu\": %.4f, \"chrf\": %.4f, \"sentences\": %lld}", d ? ", " : "",
                    e->dirs[d], ck->dir[d].bleu, ck->dir[d].chrf, (long long)ck->dir[d].sentences);
        fprintf(f, "}, \"perplexity\": {");
        for (int i = 0; i < e->n_langs; i++)
            fprintf(f, "%s\"%s\": %.6g", i ? ", " : "", e->langs[i], isfinite(ck->ppl[i]) ? ck->ppl[i] : -1);
        fprintf(f, "}}");
    }
    fprintf(f, "\n]}\n");
}

static LmStatus write_file(const char *dir, const char *name, const Config *c, const Eval *e,
                           void (*fn)(FILE *, const Config *, const Eval *)) {
    char path[2 * CFG_STR];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FileOut o;
    LM_TRY(file_out_open(&o, path, "evaluate.output"));
    fn(o.f, c, e);
    return file_out_close(&o, LM_OK);
}

LmStatus report_write(const Config *c, const Eval *e) {
    mkdir(c->evaluate.output, 0775);  // one level; an unwritable place fails below
    LM_TRY(write_file(c->evaluate.output, "eval.md", c, e, md_write));
    LM_TRY(write_file(c->evaluate.output, "eval.json", c, e, json_write));
    md_write(stdout, c, e);
    printf("\nwrote %s/eval.md and eval.json\n", c->evaluate.output);
    return LM_OK;
}
