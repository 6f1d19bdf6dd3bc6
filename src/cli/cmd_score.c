// `landermt score HYP REF [REF...]`: corpus BLEU and chrF2 of a hypothesis
// file against one or more reference files (one segment per line, the same
// number of lines in every file), printed as sacreBLEU prints them:
//   BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.2+ = 29.44 82.4/... (BP = ...)
//   chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.2+ = 51.70
// An empty reference line is a reference of length 0 (sacreBLEU >= 2.2).
// HYP "-" reads standard input. No model, no corpus: scores any system.
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "metrics/metrics.h"
#include "mpi/comm.h"
#include "util/alloc.h"
#include "util/lines.h"

static LmStatus read_file(const char *path, const char *what, Lines *out) {
    if (strcmp(path, "-")) return lines_read_path(path, what, out);
    return lines_read(stdin, "standard input (hypotheses)", out);
}

static BleuTokenizer score_tokenizer(const Config *c) {
    static const char *const names[] = {"13a", "zh", "char", "none"};
    static const BleuTokenizer toks[] = {BLEU_TOK_13A, BLEU_TOK_ZH, BLEU_TOK_CHAR, BLEU_TOK_NONE};
    for (int i = 0; i < 4; i++)
        if (!strcmp(c->score.tokenize, names[i])) return toks[i];
    return bleu_tokenizer_for(c->score.lang[0] ? c->score.lang : NULL);  // auto
}

static void print_scores(const Lines *hyp, const char *const *const *refs, int nrefs,
                         const Config *c) {
    BleuOptions bo = bleu_options_default();
    bo.tok = score_tokenizer(c);
    ChrfOptions co = chrf_options_default();
    const char *const *h = (const char *const *)hyp->line;
    BleuResult b = bleu_corpus_multi(h, refs, nrefs, hyp->n, &bo);
    ChrfResult f = chrf_corpus_multi(h, refs, nrefs, hyp->n, &co);
    char sig[160];
    bleu_signature(sig, sizeof sig, nrefs, &bo);
    printf("BLEU|%s = %.2f %.1f/%.1f/%.1f/%.1f (BP = %.3f ratio = %.3f hyp_len = %lld ref_len = "
           "%lld)\n", sig, b.score, b.precisions[0], b.precisions[1], b.precisions[2],
           b.precisions[3], b.bp, b.ratio, (long long)b.sys_len, (long long)b.ref_len);
    chrf_signature(sig, sizeof sig, nrefs, &co);
    printf("chrF2|%s = %.2f\n", sig, f.score);
}

// Rank 0 reads and scores; the files are small next to any model.
static LmStatus score_rank0(CliArgs *a) {
    int nrefs = a->n_pos - 1;
    Lines hyp, ref[CLI_MAX_POS];
    const char *const *streams[CLI_MAX_POS];
    LmStatus st = read_file(a->pos[0], "hypothesis file ", &hyp);
    int got = 0;
    for (; st == LM_OK && got < nrefs; got++) {
        st = lines_read_path(a->pos[got + 1], "reference file ", &ref[got]);
        if (st != LM_OK) break;
        streams[got] = (const char *const *)ref[got].line;
        if (ref[got].n != hyp.n) {
            lm_error("reference file %s has %lld lines, hypothesis file %s has %lld",
                     a->pos[got + 1], (long long)ref[got].n, a->pos[0], (long long)hyp.n);
            lm_hint("every file holds one segment per line, in the same order (an empty line "
                    "is an empty segment)");
            st = LM_ERUNTIME;
            got++;
            break;
        }
    }
    if (st == LM_OK) print_scores(&hyp, streams, nrefs, &a->cfg);
    for (int r = 0; r < got; r++) lines_free(&ref[r]);
    if (hyp.line) lines_free(&hyp);
    return st;
}

LmStatus cmd_score(CliArgs *a) {
    return comm_rank() == 0 ? score_rank0(a) : LM_OK;
}
