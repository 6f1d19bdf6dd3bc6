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
#include "util/timer.h"

typedef struct {
    BleuStats bleu;
    ChrfStats chrf;
} Stats;

// Decodes one batch of prompts and adds the scores of its hypotheses.
static void score_batch(const Config *c, Model *m, BpeTokenizer *tok, const DecodePrompts *dp,
                        char *const *refs, const BleuOptions *bo, Stats *st) {
    DecodeOpts o = {c->translate.beam, c->translate.max_new_tokens, BPE_EOS_ID,
                    m->cfg.max_position_embeddings, tok->vocab_size};
    int32_t *out = xmalloc(sizeof(int32_t) * (size_t)dp->n * (size_t)o.max_new_tokens + 1);
    int *n_out = xmalloc(sizeof(int) * (size_t)dp->n);
    decode_batch(m, dp, &o, out, n_out);
    ChrfOptions co = chrf_options_default();
    for (int r = 0; r < dp->n; r++) {
        int32_t *ids = out + (size_t)r * o.max_new_tokens;
        int64_t len = bpe_decode(tok, ids, n_out[r], NULL, 0);
        char *hyp = xmalloc((size_t)(len > 0 ? len : 0) + 1);
        bpe_decode(tok, ids, n_out[r], hyp, len > 0 ? len : 0);
        hyp[len > 0 ? len : 0] = '\0';
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

// This rank's block of the first n sentences, decoded in batches of
// translate.batch_size; the integer statistics are summed over ranks, so
// the score does not depend on the rank count.
static LmStatus score_slice(const Config *c, Model *m, BpeTokenizer *tok, const CorpusReader *rd,
                            char *const *refs, const char *dir, Stats *stats, int64_t *n_out) {
    int64_t n = rd->n, R = comm_size(), r = comm_rank();
    if (c->evaluate.max_sentences > 0 && n > c->evaluate.max_sentences) n = c->evaluate.max_sentences;
    int64_t lo = n * r / R, cnt = n * (r + 1) / R - lo;
    PromptList pl;
    LmStatus st = prompts_init(&pl, c, tok, dir, m->cfg.max_position_embeddings);
    int32_t *src = st == LM_OK ? read_sources(rd, lo, cnt, &st) : NULL;
    const int64_t *so = rd->src_offsets + lo;
    for (int64_t i = 0; st == LM_OK && i < cnt; i++) prompts_add(&pl, src + so[i] - so[0], so[i + 1] - so[i]);
    BleuOptions bo = bleu_options_default();
    bo.tok = bleu_tokenizer_for(strchr(dir, '-') + 1);
    for (int64_t b = 0; st == LM_OK && b < cnt; b += c->translate.batch_size) {
        int nb = (int)(cnt - b < c->translate.batch_size ? cnt - b : c->translate.batch_size);
        DecodePrompts dp = prompts_view(&pl, (int)b, nb);
        score_batch(c, m, tok, &dp, refs + lo + b, &bo, stats);
    }
    free(src);
    prompts_free(&pl);
    *n_out = n;
    return st;
}

LmStatus score_direction(const Config *c, Model *m, BpeTokenizer *tok, const CkptLandermt *lm,
                         const char *ckpt, const char *dir, DirScore *out) {
    double t0 = timer_now();
    DecodeRouting rt;
    memset(&rt, 0, sizeof rt);
    LM_TRY(decode_routing_init(&rt, lm, &m->cfg, dir, ckpt));
    m->route = rt.route;
    CorpusReader rd;
    char **refs = NULL;
    Stats stats;
    memset(&stats, 0, sizeof stats);
    LmStatus st = corpus_reader_open(&rd, c->data.corpus, dir, c->evaluate.split, m->cfg.vocab_size);
    if (st == LM_OK) st = corpus_reader_text(&rd, 0, &refs);
    if (st == LM_OK) st = score_slice(c, m, tok, &rd, refs, dir, &stats, &out->sentences);
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
    free(refs);
    if (rd.tgt_offsets) corpus_reader_close(&rd);
    m->route = NULL;
    decode_routing_free(&rt);
    out->seconds = timer_now() - t0;
    return st;
}

LmStatus score_perplexity(const Config *c, Model *m, BpeTokenizer *tok, const char *lang,
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
    m->route = NULL;  // docs/evaluation.md: perplexity of the plain network
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
