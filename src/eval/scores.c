#include "eval/scores.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/open.h"
#include "decode/decode.h"
#include "decode/prompts.h"
#include "io/corpus.h"
#include "metrics/metrics.h"
#include "mpi/comm.h"
#include "util/alloc.h"
#include "util/lines.h"
#include "util/timer.h"

typedef struct {
    BleuStats bleu;
    ChrfStats chrf;
} Stats;

// Decodes one batch of prompts and adds the scores of its hypotheses.
static void score_batch(const Config *c, Model *m, Tokenizer *tok, const DecodePrompts *dp,
                        char *const *refs, const BleuOptions *bo, Stats *st) {
    DecodeOpts o = {c->translate.beam, c->translate.max_new_tokens, tok->eos_id,
                    m->cfg.max_position_embeddings, tok->vocab_size};
    int32_t *out = xmalloc(sizeof(int32_t) * (size_t)dp->n * (size_t)o.max_new_tokens + 1);
    int *n_out = xmalloc(sizeof(int) * (size_t)dp->n);
    decode_batch(m, dp, &o, out, n_out);
    ChrfOptions co = chrf_options_default();
    for (int r = 0; r < dp->n; r++) {
        char *hyp;
        size_t len;
        if (tokenizer_decode(tok, out + (size_t)r * o.max_new_tokens, n_out[r], 0, &hyp, &len) != LM_OK)
            hyp = xstrdup("");
        const char *ref = refs[r];
        bleu_add_segment(&st->bleu, hyp, &ref, 1, bo);
        chrf_add_segment(&st->chrf, hyp, &ref, 1, &co);
        free(hyp);
    }
    free(out), free(n_out);
}

// Source tokens of sentences [lo, lo+cnt) (malloc'ed, back to back).
static int32_t *read_sources(const CorpusReader *rd, int64_t lo, int64_t cnt, LmStatus *st) {
    const int64_t *so = rd->src_offsets, *to = rd->tgt_offsets;
    int32_t *src = xmalloc(sizeof(int32_t) * (size_t)(so[lo + cnt] - so[lo] + 1));
    int32_t *tgt = xmalloc(sizeof(int32_t) * (size_t)(to[lo + cnt] - to[lo] + 1));
    *st = corpus_reader_read(rd, lo, cnt, src, tgt);
    free(tgt);
    return src;
}

// Decodes this rank's prompts (pl holds exactly them) in batches of
// translate.batch_size and adds their scores against refs.
static void decode_and_score(const Config *c, Model *m, Tokenizer *tok, const PromptList *pl,
                             char *const *refs, const char *dir, Stats *stats) {
    BleuOptions bo = bleu_options_default();
    bo.tok = bleu_tokenizer_for(strchr(dir, '-') + 1);
    for (int b = 0; b < pl->n; b += c->translate.batch_size) {
        int nb = pl->n - b < c->translate.batch_size ? pl->n - b : c->translate.batch_size;
        DecodePrompts dp = prompts_view(pl, b, nb);
        score_batch(c, m, tok, &dp, refs + b, &bo, stats);
    }
}

// The block of n sentences this rank scores: [lo, lo + cnt).
static void rank_block(int64_t n, int64_t *lo, int64_t *cnt) {
    int64_t R = comm_size(), r = comm_rank();
    *lo = n * r / R, *cnt = n * (r + 1) / R - *lo;
}

// Sentences of a corpus split: the source tokens as stored.
static LmStatus score_split(const Config *c, Model *m, Tokenizer *tok, const char *dir,
                            Stats *stats, int64_t *n_out) {
    CorpusReader rd;
    char **refs = NULL;
    LM_TRY(corpus_reader_open(&rd, c->data.corpus, dir, c->evaluate.split, m->cfg.vocab_size));
    int64_t n = rd.n, lo, cnt;
    if (c->evaluate.max_sentences > 0 && n > c->evaluate.max_sentences) n = c->evaluate.max_sentences;
    rank_block(n, &lo, &cnt);
    PromptList pl;
    memset(&pl, 0, sizeof pl);
    LmStatus st = corpus_reader_text(&rd, 0, &refs);
    if (st == LM_OK) st = prompts_init(&pl, c, tok, dir, m->cfg.max_position_embeddings);
    int32_t *src = st == LM_OK ? read_sources(&rd, lo, cnt, &st) : NULL;
    const int64_t *so = rd.src_offsets + lo;
    for (int64_t i = 0; st == LM_OK && i < cnt; i++) prompts_add(&pl, src + so[i] - so[0], so[i + 1] - so[i]);
    if (st == LM_OK) decode_and_score(c, m, tok, &pl, refs + lo, dir, stats);
    prompts_free(&pl);
    free(src), free(refs);
    corpus_reader_close(&rd);
    *n_out = n;
    return st;
}

// An external test set "SRC-TGT:SOURCE_FILE,REFERENCE_FILE": raw text lines.
static LmStatus score_files(const Config *c, Model *m, Tokenizer *tok, const char *dir,
                            const char *files, Stats *stats, int64_t *n_out) {
    char src_path[CFG_STR], ref_path[CFG_STR];
    const char *comma = strchr(files, ',');
    snprintf(src_path, sizeof src_path, "%.*s", comma ? (int)(comma - files) : 0, files);
    snprintf(ref_path, sizeof ref_path, "%s", comma ? comma + 1 : "");
    Lines src, ref;
    LM_TRY(lines_read_path(src_path, "evaluate.external source ", &src));
    LmStatus st = lines_read_path(ref_path, "evaluate.external reference ", &ref);
    if (st == LM_OK && ref.n != src.n) {
        lm_error("evaluate.external %s: %lld source lines but %lld reference lines", dir,
                 (long long)src.n, (long long)ref.n);
        st = LM_EUSAGE;
    }
    int64_t lo, cnt;
    rank_block(src.n, &lo, &cnt);
    PromptList pl;
    memset(&pl, 0, sizeof pl);
    if (st == LM_OK) st = prompts_init(&pl, c, tok, dir, m->cfg.max_position_embeddings);
    TokIds ids = {0};
    for (int64_t i = lo; st == LM_OK && i < lo + cnt; i++) {
        ids.n = 0;
        if (tokenizer_encode(tok, src.line[i], strlen(src.line[i]), 0, &ids) < 0) st = LM_ERUNTIME;
        else prompts_add(&pl, ids.v, ids.n);
    }
    if (st == LM_OK) decode_and_score(c, m, tok, &pl, ref.line + lo, dir, stats);
    prompts_free(&pl);
    *n_out = src.n;
    tokids_free(&ids);
    lines_free(&src);
    if (ref.line) lines_free(&ref);
    return st;
}

LmStatus score_direction(const Config *c, Model *m, Tokenizer *tok, const CkptLandermt *lm,
                         const char *ckpt, const char *dir, const char *files, DirScore *out) {
    double t0 = timer_now();
    DecodeRouting rt;
    memset(&rt, 0, sizeof rt);
    LM_TRY(decode_routing_init(&rt, lm, &m->cfg, dir, ckpt));
    m->route = rt.route;
    Stats stats;
    memset(&stats, 0, sizeof stats);
    LmStatus st = files ? score_files(c, m, tok, dir, files, &stats, &out->sentences)
                        : score_split(c, m, tok, dir, &stats, &out->sentences);
    st = (LmStatus)comm_agree_status(st);
    if (st == LM_OK) {
        comm_allreduce_i64((int64_t *)&stats.bleu, sizeof stats.bleu / sizeof(int64_t));
        comm_allreduce_i64((int64_t *)&stats.chrf, sizeof stats.chrf / sizeof(int64_t));
        BleuOptions bo = bleu_options_default();
        bo.tok = bleu_tokenizer_for(strchr(dir, '-') + 1);
        ChrfOptions co = chrf_options_default();
        out->bleu = bleu_from_stats(&stats.bleu, &bo).score;
        out->chrf = chrf_from_stats(&stats.chrf, &co);
        bleu_signature(out->signature, sizeof out->signature, 1, &bo);
    }
    m->route = NULL;
    decode_routing_free(&rt);
    out->seconds = timer_now() - t0;
    return st;
}

LmStatus score_perplexity(const Config *c, Model *m, Tokenizer *tok, const char *lang,
                          double *ppl, int64_t *tokens) {
    Stream s;
    LM_TRY(stream_open_config(&s, c, tok, lang, c->evaluate.split, m->cfg.vocab_size, 0));
    int64_t n = s.rd.n;
    if (c->evaluate.max_sentences > 0 && n > c->evaluate.max_sentences) n = c->evaluate.max_sentences;
    int g = c->translate.batch_size, rows = (g + comm_size() - 1) / comm_size();
    BatchBuf bb;
    batchbuf_init(&bb, rows, c->train.seq_len);
    Acts a;
    acts_init(&a, &m->cfg, rows, c->train.seq_len);
    double acc[2] = {0, 0};  // loss sum, tokens
    LmStatus st = LM_OK;
    m->route = NULL;  // docs/evaluation.md: perplexity without CAR routes
    for (int64_t done = 0; st == LM_OK && done < n; done += g) {
        int gg = (int)(n - done < g ? n - done : g);
        st = stream_next(&s, gg, c->train.seq_len, comm_rank(), comm_size(), &bb);
        if (st != LM_OK || bb.batch.b == 0) continue;
        double ls, nt;
        model_forward(m, &a, bb.batch.tokens, bb.batch.b, bb.batch.t);
        model_loss(m, &a, bb.batch.targets, bb.batch.weight, 0.0f, &ls, &nt);
        acc[0] += ls, acc[1] += nt;
    }
    st = (LmStatus)comm_agree_status(st);
    comm_allreduce_f64(acc, 2);
    *ppl = acc[1] > 0 ? exp(acc[0] / acc[1]) : NAN;
    *tokens = (int64_t)acc[1];
    acts_free(&a);
    batchbuf_free(&bb);
    stream_close(&s);
    return st;
}
