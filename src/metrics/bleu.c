// Corpus and sentence BLEU, as sacreBLEU 2.x's BLEU metric: per segment the
// hypothesis length, the closest reference length and, for each order, the
// hypothesis n-grams and their matches clipped by the largest count in any
// reference; the score from the summed statistics (compute_bleu).
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "metrics/metrics.h"
#include "metrics/seq.h"
#include "util/alloc.h"

BleuOptions bleu_options_default(void) {
    return (BleuOptions){BLEU_TOK_13A, BLEU_SMOOTH_EXP, -1.0, 0, 4};
}

static int bleu_order(const BleuOptions *opt) {
    int n = opt->max_order;
    return n < 1 ? 1 : n > BLEU_MAX_ORDER ? BLEU_MAX_ORDER : n;
}

// ------------------------------------------------------------ statistics

typedef struct {
    const uint32_t *p;
    size_t n;
    uint32_t *slot;  // where the token's id goes
} TokRef;

static int tokref_cmp(const void *a, const void *b) {
    const TokRef *x = a, *y = b;
    if (x->n != y->n) return x->n < y->n ? -1 : 1;
    for (size_t k = 0; k < x->n; k++)
        if (x->p[k] != y->p[k]) return x->p[k] < y->p[k] ? -1 : 1;
    return 0;
}

// ids[s] = the tokens of tl[s] as integers, equal strings getting equal ids,
// so that n-grams can be compared as sequences of numbers.
static void intern_tokens(const TokList *tl, int k, SymSeq *ids) {
    size_t total = 0, m = 0;
    for (int s = 0; s < k; s++) total += tl[s].ntok;
    TokRef *all = xmalloc((total + 1) * sizeof *all);
    for (int s = 0; s < k; s++) {
        ids[s] = (SymSeq){xmalloc((tl[s].ntok + 1) * sizeof(uint32_t)), tl[s].ntok};
        for (size_t t = 0; t < tl[s].ntok; t++)
            all[m++] = (TokRef){tl[s].text.v + tl[s].start[t], tl[s].len[t], &ids[s].v[t]};
    }
    qsort(all, m, sizeof *all, tokref_cmp);
    uint32_t id = 0;
    for (size_t i = 0; i < m; i++) {
        if (i && tokref_cmp(&all[i - 1], &all[i])) id++;
        *all[i].slot = id;
    }
    free(all);
}

// sacreBLEU's _get_closest_ref_len: the closest length, the shorter on ties.
static int64_t closest_ref_len(int64_t hyp_len, const SymSeq *refs, int k) {
    int64_t best = -1, best_diff = -1;
    for (int r = 0; r < k; r++) {
        int64_t len = (int64_t)refs[r].n, diff = llabs(hyp_len - len);
        if (best_diff < 0 || diff < best_diff || (diff == best_diff && len < best)) {
            best_diff = diff;
            best = len;
        }
    }
    return best;
}

void bleu_add_segment(BleuStats *acc, const char *hyp, const char *const *refs, int nrefs,
                      const BleuOptions *opt) {
    const char **use = xmalloc((size_t)(nrefs + 1) * sizeof *use);
    int k = refs_usable(refs, nrefs, use);
    TokList *tl = xmalloc((size_t)(k + 1) * sizeof *tl);
    SymSeq *ids = xmalloc((size_t)(k + 1) * sizeof *ids);
    tl[0] = bleu_tokens(hyp, opt->tok);
    for (int r = 0; r < k; r++) tl[r + 1] = bleu_tokens(use[r], opt->tok);
    intern_tokens(tl, k + 1, ids);
    acc->sys_len += (int64_t)ids[0].n;
    acc->ref_len += closest_ref_len((int64_t)ids[0].n, ids + 1, k);
    for (int n = 1; n <= bleu_order(opt); n++) {
        acc->totals[n - 1] += ngram_count(ids[0].n, n);
        acc->counts[n - 1] += ngram_clipped_matches(&ids[0], ids + 1, k, n);
    }
    for (int s = 0; s <= k; s++) {
        toklist_free(&tl[s]);
        free(ids[s].v);
    }
    free(tl);
    free(ids);
    free(use);
}

// ------------------------------------------------------------ score

static double smooth_value(const BleuOptions *opt) {
    if (opt->smooth_value >= 0) return opt->smooth_value;
    return opt->smooth == BLEU_SMOOTH_FLOOR ? 0.1 : 1.0;  // BLEU.SMOOTH_DEFAULTS
}

// utils.my_log: log with log(0) floored to -9999999999.
static double my_log(double x) { return x == 0.0 ? -9999999999.0 : log(x); }

// The precision loop of compute_bleu; returns the order to average over.
static int bleu_precisions(const BleuStats *s, const BleuOptions *opt, int order, double *prec) {
    double smooth = 1.0, k = smooth_value(opt);
    int eff = order;
    for (int n = 1; n <= order; n++) {
        double correct = (double)s->counts[n - 1], total = (double)s->totals[n - 1];
        if (opt->smooth == BLEU_SMOOTH_ADD_K && n > 1) correct += k, total += k;
        if (total == 0) break;
        if (opt->effective_order) eff = n;
        if (correct != 0) {
            prec[n - 1] = 100. * correct / total;
        } else if (opt->smooth == BLEU_SMOOTH_EXP) {
            smooth *= 2;
            prec[n - 1] = 100. / (smooth * total);
        } else if (opt->smooth == BLEU_SMOOTH_FLOOR) {
            prec[n - 1] = 100. * k / total;
        }
    }
    return eff;
}

BleuResult bleu_from_stats(const BleuStats *s, const BleuOptions *opt) {
    BleuResult r = {0};
    int order = bleu_order(opt), any = 0;
    r.order = order;
    r.sys_len = s->sys_len;
    r.ref_len = s->ref_len;
    for (int n = 0; n < order; n++) {
        r.counts[n] = s->counts[n];
        r.totals[n] = s->totals[n];
        any |= s->counts[n] != 0;
    }
    r.ratio = s->ref_len ? (double)s->sys_len / (double)s->ref_len : 0.0;
    r.bp = 1.0;
    if (s->sys_len < s->ref_len)
        r.bp = s->sys_len > 0 ? exp(1 - (double)s->ref_len / (double)s->sys_len) : 0.0;
    if (!any) return r;  // no match at all: 0, without smoothing (sacreBLEU #141)
    int eff = bleu_precisions(s, opt, order, r.precisions);
    double sum = 0.0;
    for (int n = 0; n < eff; n++) sum += my_log(r.precisions[n]);
    r.score = r.bp * exp(sum / eff);
    return r;
}

// ------------------------------------------------------------ corpus / sentence

BleuResult bleu_corpus_multi(const char *const *hyps, const char *const *const *refs,
                             int nrefs, int64_t n, const BleuOptions *opt) {
    BleuStats st = {0};
    const char **row = xmalloc((size_t)(nrefs + 1) * sizeof *row);
    for (int64_t i = 0; i < n; i++) {
        refs_row(refs, nrefs, i, row);
        bleu_add_segment(&st, hyps ? hyps[i] : NULL, row, nrefs, opt);
    }
    free(row);
    return bleu_from_stats(&st, opt);
}

BleuResult bleu_corpus(const char *const *hyps, const char *const *refs, int64_t n,
                       BleuTokenizer tok) {
    BleuOptions opt = bleu_options_default();
    opt.tok = tok;
    const char *const *streams[1] = {refs};
    return bleu_corpus_multi(hyps, streams, 1, n, &opt);
}

double bleu_sentence(const char *hyp, const char *ref, BleuTokenizer tok) {
    BleuOptions opt = bleu_options_default();
    opt.tok = tok;
    opt.effective_order = 1;
    BleuStats st = {0};
    bleu_add_segment(&st, hyp, &ref, 1, &opt);
    return bleu_from_stats(&st, &opt).score;
}

// ------------------------------------------------------------ naming

// lang's primary subtag (before '-' or '_') equals code, ignoring case.
static int primary_is(const char *lang, const char *code) {
    size_t k = 0;
    for (; code[k]; k++)
        if (tolower((unsigned char)lang[k]) != code[k]) return 0;
    return lang[k] == '\0' || lang[k] == '-' || lang[k] == '_';
}

BleuTokenizer bleu_tokenizer_for(const char *target_lang) {
    if (!target_lang) return BLEU_TOK_13A;
    if (primary_is(target_lang, "zh") || primary_is(target_lang, "zho") ||
        primary_is(target_lang, "chi"))
        return BLEU_TOK_ZH;
    if (primary_is(target_lang, "ja") || primary_is(target_lang, "jpn")) return BLEU_TOK_CHAR;
    return BLEU_TOK_13A;
}

const char *bleu_tokenizer_name(BleuTokenizer tok) {
    switch (tok) {
    case BLEU_TOK_ZH: return "zh";
    case BLEU_TOK_CHAR: return "char";
    case BLEU_TOK_NONE: return "none";
    default: return "13a";
    }
}

int bleu_signature(char *buf, size_t cap, int nrefs, const BleuOptions *opt) {
    static const char *const names[] = {"exp", "none", "floor", "add-k"};
    char smooth[48];
    const char *name = (unsigned)opt->smooth < 4 ? names[opt->smooth] : "?";
    int valued = opt->smooth == BLEU_SMOOTH_FLOOR || opt->smooth == BLEU_SMOOTH_ADD_K;
    if (valued) snprintf(smooth, sizeof smooth, "%s[%.2f]", name, smooth_value(opt));
    else snprintf(smooth, sizeof smooth, "%s", name);
    return snprintf(buf, cap, "nrefs:%d|case:mixed|eff:%s|tok:%s|smooth:%s|version:%s", nrefs,
                    opt->effective_order ? "yes" : "no", bleu_tokenizer_name(opt->tok), smooth,
                    METRICS_SACREBLEU_VERSION);
}
