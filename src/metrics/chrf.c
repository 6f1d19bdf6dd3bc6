// chrF, as sacreBLEU 2.x's CHRF metric with word order 0: character n-grams
// (Unicode code points, whitespace removed unless asked to keep it) of orders
// 1..char_order; per segment [hyp, ref, match] counts per order, summed over
// the corpus; the score from the sums (_compute_f_score).
#include <stdio.h>
#include <stdlib.h>

#include "metrics/metrics.h"
#include "metrics/seq.h"
#include "util/alloc.h"

ChrfOptions chrf_options_default(void) { return (ChrfOptions){6, 2.0, 0, 0}; }

static int chrf_order(const ChrfOptions *opt) {
    int n = opt->char_order;
    return n < 1 ? 1 : n > CHRF_MAX_ORDER ? CHRF_MAX_ORDER : n;
}

// The characters n-grams are taken from: without whitespace, as
// ''.join(line.split()), unless opt->whitespace.
static SymSeq chrf_chars(const char *s, int whitespace) {
    SymSeq c = utf8_decode(s);
    if (whitespace) return c;
    size_t w = 0;
    for (size_t i = 0; i < c.n; i++)
        if (!py_isspace(c.v[i])) c.v[w++] = c.v[i];
    c.n = w;
    return c;
}

// _get_match_statistics for every order: the hypothesis count is 0 where the
// reference has no n-gram of that order.
static ChrfStats chrf_pair(const SymSeq *hyp, const SymSeq *ref, int order) {
    ChrfStats s = {0};
    for (int i = 0; i < order; i++) {
        s.ref[i] = ngram_count(ref->n, i + 1);
        s.hyp[i] = s.ref[i] ? ngram_count(hyp->n, i + 1) : 0;
        s.match[i] = ngram_clipped_matches(hyp, ref, 1, i + 1);
    }
    return s;
}

double chrf_from_stats(const ChrfStats *s, const ChrfOptions *opt) {
    const double eps = 1e-16, factor = opt->beta * opt->beta;
    int order = chrf_order(opt), eff = 0;
    double score = 0.0, avg_prec = 0.0, avg_rec = 0.0;
    for (int i = 0; i < order; i++) {
        double n_hyp = (double)s->hyp[i], n_ref = (double)s->ref[i], n_match = (double)s->match[i];
        double prec = n_hyp > 0 ? n_match / n_hyp : eps;
        double rec = n_ref > 0 ? n_match / n_ref : eps;
        double denom = factor * prec + rec;
        score += denom > 0 ? (1 + factor) * prec * rec / denom : eps;  // chrF++.py style
        if (n_hyp > 0 && n_ref > 0) {  // effective order (sacreBLEU's default)
            avg_prec += prec;
            avg_rec += rec;
            eff++;
        }
    }
    if (opt->eps_smoothing) return 100 * score / order;
    if (eff == 0) return 0.0;
    avg_prec /= eff;
    avg_rec /= eff;
    if (avg_prec + avg_rec == 0) return 0.0;
    double f = (1 + factor) * avg_prec * avg_rec;
    f /= (factor * avg_prec) + avg_rec;
    return 100 * f;
}

void chrf_add_segment(ChrfStats *acc, const char *hyp, const char *const *refs, int nrefs,
                      const ChrfOptions *opt) {
    const char **use = xmalloc((size_t)(nrefs + 1) * sizeof *use);
    int k = refs_usable(refs, nrefs, use), order = chrf_order(opt);
    SymSeq h = chrf_chars(hyp, opt->whitespace);
    ChrfStats best = {0};
    double best_f = -1.0;
    for (int r = 0; r < k; r++) {  // the best-scoring reference, the first on ties
        SymSeq ref = chrf_chars(use[r], opt->whitespace);
        ChrfStats s = chrf_pair(&h, &ref, order);
        double f = chrf_from_stats(&s, opt);
        if (f > best_f) best_f = f, best = s;
        free(ref.v);
    }
    for (int i = 0; i < order; i++) {
        acc->hyp[i] += best.hyp[i];
        acc->ref[i] += best.ref[i];
        acc->match[i] += best.match[i];
    }
    free(h.v);
    free(use);
}

ChrfResult chrf_corpus_multi(const char *const *hyps, const char *const *const *refs,
                             int nrefs, int64_t n, const ChrfOptions *opt) {
    ChrfResult res = {0};
    const char **row = xmalloc((size_t)(nrefs + 1) * sizeof *row);
    for (int64_t i = 0; i < n; i++) {
        refs_row(refs, nrefs, i, row);
        chrf_add_segment(&res.stats, hyps ? hyps[i] : NULL, row, nrefs, opt);
    }
    free(row);
    res.score = chrf_from_stats(&res.stats, opt);
    return res;
}

ChrfResult chrf_corpus(const char *const *hyps, const char *const *refs, int64_t n) {
    ChrfOptions opt = chrf_options_default();
    const char *const *streams[1] = {refs};
    return chrf_corpus_multi(hyps, streams, 1, n, &opt);
}

int chrf_signature(char *buf, size_t cap, int nrefs, const ChrfOptions *opt) {
    return snprintf(buf, cap, "nrefs:%d|case:mixed|eff:%s|nc:%d|nw:0|space:%s|version:%s", nrefs,
                    opt->eps_smoothing ? "no" : "yes", chrf_order(opt),
                    opt->whitespace ? "yes" : "no", METRICS_SACREBLEU_VERSION);
}
