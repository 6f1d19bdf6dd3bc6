// BLEU and chrF against sacreBLEU's own published numbers. Every expected
// value names its source: a file of github.com/mjpost/sacrebleu (test name,
// sacreBLEU 2.x unless said otherwise) or its README, and the tolerance is
// the one that source uses (its EPSILON, or the printed decimals).
// Tokenisation cases without a published token list are derived from the
// rules of sacreBLEU's tokenizer files and say so. Invariants follow.
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "metrics/metrics.h"

#define N_OF(a) ((int64_t)(sizeof(a) / sizeof((a)[0])))

// ------------------------------------------------------------ helpers

// v printed with `decimals` decimals equals want (how sacreBLEU prints).
static void check_fmt(double v, int decimals, const char *want, const char *what) {
    char got[64];
    snprintf(got, sizeof got, "%.*f", decimals, v);
    CHECK(strcmp(got, want) == 0, "%s: got %s expected %s", what, got, want);
}

static void check_tok(const char *in, BleuTokenizer tok, const char *want) {
    char *got = bleu_tokenize(in, tok);
    CHECK(strcmp(got, want) == 0, "%s(\"%s\"): got \"%s\" expected \"%s\"",
          bleu_tokenizer_name(tok), in, got, want);
    free(got);
}

static BleuOptions bopt(BleuTokenizer tok, BleuSmooth sm, double value, int eff, int order) {
    return (BleuOptions){tok, sm, value, eff, order};
}

// One hypothesis against one reference with the given options.
static BleuResult bleu1(const char *hyp, const char *ref, BleuOptions o) {
    const char *const *streams[1] = {&ref};
    return bleu_corpus_multi(&hyp, streams, 1, 1, &o);
}

static double chrf1(const char *hyp, const char *ref, int order, double beta, int eps, int ws) {
    ChrfOptions o = {order, beta, eps, ws};
    const char *const *streams[1] = {&ref};
    return chrf_corpus_multi(&hyp, streams, 1, 1, &o).score;
}

// sacreBLEU's compat raw_corpus_bleu(): tokenize none, floor smoothing,
// effective order on (sacrebleu/compat.py).
static double raw_bleu(const char *const *hyps, const char *const *refs, int64_t n, double floor) {
    BleuOptions o = bopt(BLEU_TOK_NONE, BLEU_SMOOTH_FLOOR, floor, 1, 4);
    const char *const *streams[1] = {refs};
    return bleu_corpus_multi(hyps, streams, 1, n, &o).score / 100.0;
}

// ------------------------------------------------------------ BLEU, corpus level

// The README example (section "Using SacreBLEU from Python", sacreBLEU 2.0.0)
// with its two reference streams; also test/test_bleu.py test_corpus_bleu.
static const char *README_SYS[] = {"The dog bit the man.", "It wasn't surprising.",
                                   "The man had just bitten him."};
static const char *README_REF1[] = {"The dog bit the man.", "It was not unexpected.",
                                    "The man bit him first."};
static const char *README_REF2[] = {"The dog had bit the man.", "No one was surprised.",
                                    "The man had bitten the dog."};

static BleuResult readme_bleu(BleuOptions o) {
    const char *const *refs[2] = {README_REF1, README_REF2};
    return bleu_corpus_multi(README_SYS, refs, 2, 3, &o);
}

static void test_bleu_readme_example(void) {
    BleuResult r = readme_bleu(bleu_options_default());
    // README: "BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)"
    check_fmt(r.score, 2, "48.53", "README score");
    check_fmt(r.precisions[0], 1, "82.4", "README p1");
    check_fmt(r.precisions[1], 1, "50.0", "README p2");
    check_fmt(r.precisions[2], 1, "45.5", "README p3");
    check_fmt(r.precisions[3], 1, "37.5", "README p4");
    check_fmt(r.bp, 3, "0.943", "README BP");
    check_fmt(r.ratio, 3, "0.944", "README ratio");
    CHECK(r.sys_len == 17 && r.ref_len == 18, "lengths %lld %lld", (long long)r.sys_len,
          (long long)r.ref_len);
    // Counts/totals asserted equal to sacreBLEU's by lee101/mojo-sacrebleu
    // tests/test_parity.py test_published_multi_reference_bleu_vector.
    const int64_t counts[4] = {14, 7, 5, 3}, totals[4] = {17, 14, 11, 8};
    for (int n = 0; n < 4; n++)
        CHECK(r.counts[n] == counts[n] && r.totals[n] == totals[n], "order %d: %lld/%lld", n + 1,
              (long long)r.counts[n], (long long)r.totals[n]);
    // test_bleu.py test_corpus_bleu (EPSILON 1e-8): default, tokenize 13a,
    // smooth_method none, tokenize none.
    CHECK_CLOSE(r.score, 48.530827, 0, 1e-8, "test_corpus_bleu default");
    r = readme_bleu(bopt(BLEU_TOK_13A, BLEU_SMOOTH_NONE, -1, 0, 4));
    CHECK_CLOSE(r.score, 48.530827, 0, 1e-8, "test_corpus_bleu smooth none");
    r = readme_bleu(bopt(BLEU_TOK_NONE, BLEU_SMOOTH_EXP, -1, 0, 4));
    CHECK_CLOSE(r.score, 49.1919566, 0, 1e-8, "test_corpus_bleu tokenize none");
}

// test/test_bleu.py test_corpus_bleu: "ensure that empty hypotheses are not removed".
static void test_bleu_empty_hypotheses(void) {
    const char *empty[] = {"", "", ""};
    const char *const *refs[2] = {README_REF1, README_REF2};
    BleuOptions o = bleu_options_default();
    BleuResult r = bleu_corpus_multi(empty, refs, 2, 3, &o);
    CHECK(r.score == 0.0, "score %g", r.score);
    CHECK(r.sys_len == 0 && r.bp == 0.0, "sys_len %lld bp %g", (long long)r.sys_len, r.bp);
}

// test/test_bleu.py test_max_ngram_order: BLEU(max_ngram_order=k) on the
// README example, compared as "%.2f" strings.
static void test_bleu_max_order(void) {
    static const char *want[] = {"77.65", "60.50", "53.93", "48.53", "46.14", "43.28"};
    for (int k = 1; k <= 6; k++) {
        char what[32];
        snprintf(what, sizeof what, "max_ngram_order %d", k);
        check_fmt(readme_bleu(bopt(BLEU_TOK_13A, BLEU_SMOOTH_EXP, -1, 0, k)).score, 2, want[k - 1],
                  what);
    }
}

// README "Variable Number of References": the first reference of the first
// sentence replaced by '' -> "BLEU = 29.44 82.4/42.9/27.3/12.5 (BP = 0.889
// ratio = 0.895 hyp_len = 17 ref_len = 19)".
static void test_bleu_variable_references(void) {
    const char *ref1[] = {"", "It was not unexpected.", "The man bit him first."};
    const char *const *refs[2] = {ref1, README_REF2};
    BleuOptions o = bleu_options_default();
    BleuResult r = bleu_corpus_multi(README_SYS, refs, 2, 3, &o);
    check_fmt(r.score, 2, "29.44", "variable refs score");
    check_fmt(r.precisions[1], 1, "42.9", "variable refs p2");
    check_fmt(r.precisions[2], 1, "27.3", "variable refs p3");
    check_fmt(r.precisions[3], 1, "12.5", "variable refs p4");
    check_fmt(r.bp, 3, "0.889", "variable refs BP");
    check_fmt(r.ratio, 3, "0.895", "variable refs ratio");
    CHECK(r.sys_len == 17 && r.ref_len == 19, "lengths %lld %lld", (long long)r.sys_len,
          (long long)r.ref_len);
    // sacreBLEU >= 2.2 keeps the '' as a reference of length 0; it is never the
    // closest length here (|6 - 0| > |6 - 7|), so the score is the same as with
    // the reference missing (None in sacreBLEU, NULL here).
    const char *ref1n[] = {NULL, "It was not unexpected.", "The man bit him first."};
    const char *const *refsn[2] = {ref1n, README_REF2};
    CHECK(bleu_corpus_multi(README_SYS, refsn, 2, 3, &o).score == r.score, "NULL ~ '' here");
}

// Empty references as sacreBLEU >= 2.2 reads them (2.2.0 release notes: "allow
// empty references", #161; metrics/base.py _cache_references drops only None):
// "" is a reference of length 0 with no n-grams. Derived from bleu.py
// (_get_closest_ref_len, compute_bleu) and by hand, and confirmed with
// sacreBLEU 2.6.0's BLEU().corpus_score. Segment 1: hyp "the cat" (2 tokens),
// refs "" (0) and a 7-token sentence: the closest length is 0. Segment 2: hyp
// "a dog runs in a park ." (7), refs "a dog runs in the park ." (7) and "".
// Matches 8/9, 5/7, 2/5, 1/4; hyp_len 9, ref_len 0 + 7 = 7, BP 1:
// BLEU = 100 exp((ln 8/9 + ln 5/7 + ln 2/5 + ln 1/4) / 4) = 50.197242487957936.
// With the '' missing instead (None; what 2.0/2.1 did with ''), ref_len is
// 7 + 7 = 14 and BP = exp(1 - 14/9): 28.80.
static void test_bleu_empty_reference(void) {
    const char *hyps[] = {"the cat", "a dog runs in a park ."};
    const char *r1[] = {"", "a dog runs in the park ."}, *r2[] = {"the cat sat on the mat today", ""};
    const char *const *refs[2] = {r1, r2};
    BleuOptions o = bleu_options_default();
    BleuResult r = bleu_corpus_multi(hyps, refs, 2, 2, &o);
    CHECK_CLOSE(r.score, 50.197242487957936, 0, 1e-8, "'' is a reference of length 0");
    CHECK(r.sys_len == 9 && r.ref_len == 7, "lengths %lld %lld", (long long)r.sys_len,
          (long long)r.ref_len);
    const char *r1n[] = {NULL, "a dog runs in the park ."}, *r2n[] = {"the cat sat on the mat today", NULL};
    const char *const *refsn[2] = {r1n, r2n};
    r = bleu_corpus_multi(hyps, refsn, 2, 2, &o);
    check_fmt(r.score, 2, "28.80", "a missing reference is skipped");
    CHECK(r.ref_len == 14, "ref_len %lld", (long long)r.ref_len);
    // One reference stream with an empty line: a reference of length 0.
    const char *h1[] = {"", "a dog runs in the park ."}, *ref[] = {"", "a dog runs in the park ."};
    r = bleu_corpus(h1, ref, 2, BLEU_TOK_13A);
    CHECK(r.ref_len == 7, "single empty reference: ref_len %lld", (long long)r.ref_len);
    CHECK_CLOSE(r.score, 100.0, 0, 1e-9, "single empty reference");
}

// chrF with an empty reference (chrf.py _compute_segment_statistics: the
// first reference with the best sentence score, starting from -1, so an
// empty first reference, whose score is 0, is kept unless another scores
// above 0; _get_match_statistics then counts no hypothesis n-grams for it).
// Segment 1: hyp "the cat", refs "" and "dogs" (no common character, score 0):
// the empty one is used and adds nothing. Segment 2 matches exactly:
// chrF2 = 100. With the '' missing (None), "dogs" is used: hyp counts
// 15/13/11/9/5/4, ref 13/11/9/7/5/4, matches 9/8/7/6/5/4 per order ->
// 82.28905171144048 (sacreBLEU 2.6.0 gives the same two values).
static void test_chrf_empty_reference(void) {
    const char *hyps[] = {"the cat", "the dog sat"};
    const char *r1[] = {"", "the dog sat"}, *r2[] = {"dogs", ""};
    const char *const *refs[2] = {r1, r2};
    ChrfOptions o = chrf_options_default();
    CHECK_CLOSE(chrf_corpus_multi(hyps, refs, 2, 2, &o).score, 100.0, 0, 1e-9, "'' kept");
    const char *r1n[] = {NULL, "the dog sat"}, *r2n[] = {"dogs", "the dog sat"};
    const char *const *refsn[2] = {r1n, r2n};
    CHECK_CLOSE(chrf_corpus_multi(hyps, refsn, 2, 2, &o).score, 82.28905171144048, 0, 1e-9,
                "None skipped");
}

// test/test_bleu.py test_raw_bleu, test_effective_order, test_offset and
// test_statistics (raw_corpus_bleu, scores / 100, EPSILON 1e-8).
static void test_bleu_raw(void) {
    const char *h1[] = {"this is a test", "another test"}, *r1[] = {"ref1", "ref2"};
    CHECK_CLOSE(raw_bleu(h1, r1, 2, .01), 0.0, 0, 1e-8, "test_raw_bleu no match (#141)");
    const char *h2[] = {"this is a test"}, *h3[] = {"this is a fest"};
    CHECK_CLOSE(raw_bleu(h2, h2, 1, .01), 1.0, 0, 1e-8, "test_raw_bleu identical");
    CHECK_CLOSE(raw_bleu(h3, h2, 1, .01), 0.223606797749979, 0, 1e-8, "test_raw_bleu fest");
    const char *e1[] = {"test"}, *e2[] = {"a test"}, *e3[] = {"a little test"};
    CHECK_CLOSE(raw_bleu(e1, e2, 1, .01), 0.3678794411714425, 0, 1e-8, "test_effective_order 1");
    CHECK_CLOSE(raw_bleu(e2, e2, 1, .01), 1.0, 0, 1e-8, "test_effective_order 2");
    CHECK_CLOSE(raw_bleu(e3, e2, 1, .01), 0.03218297948685433, 0, 1e-8, "test_effective_order 3");
    const char *oh[] = {"am I am a character sequence"};
    const char *orf[] = {"I am a symbol string sequence a a"};
    CHECK_CLOSE(raw_bleu(oh, orf, 1, 0.0), 0.0, 0, 1e-8, "test_offset without offset");
    CHECK_CLOSE(raw_bleu(oh, orf, 1, -1), 0.1555722182, 0, 1e-8, "test_offset default 0.1");
    BleuResult r = bleu1(oh[0], orf[0], bopt(BLEU_TOK_NONE, BLEU_SMOOTH_FLOOR, .01, 1, 4));
    const int64_t counts[4] = {4, 2, 1, 0}, totals[4] = {6, 5, 4, 3};
    for (int n = 0; n < 4; n++)
        CHECK(r.counts[n] == counts[n] && r.totals[n] == totals[n], "test_statistics order %d",
              n + 1);
}

// test/test_bleu.py test_scoring (compute_bleu, smooth none) and
// test_degenerate_statistics (floor smoothing: exactly 0.0).
static void test_bleu_from_stats(void) {
    BleuStats s = {11, 11, {9, 7, 5, 3}, {10, 8, 6, 4}};
    BleuOptions none = bopt(BLEU_TOK_13A, BLEU_SMOOTH_NONE, -1, 0, 4);
    CHECK_CLOSE(bleu_from_stats(&s, &none).score / 100, 0.8375922397, 0, 1e-8, "test_scoring");
    static const struct {
        int64_t total[4], sys, ref;
        double floor;
    } deg[] = {{{4, 4, 2, 1}, 0, 1, 0.0},  {{10, 11, 12, 0}, 14, 10, 0.0},
               {{0, 0, 0, 0}, 0, 0, 0.0},  {{0, 0, 0, 0}, 0, 0, 0.1},
               {{0, 0, 0, 0}, 1, 5, 0.01}};
    for (int i = 0; i < N_OF(deg); i++) {
        BleuStats d = {deg[i].sys, deg[i].ref, {0}, {0}};
        memcpy(d.totals, deg[i].total, sizeof deg[i].total);
        BleuOptions fl = bopt(BLEU_TOK_13A, BLEU_SMOOTH_FLOOR, deg[i].floor, 0, 4);
        CHECK(bleu_from_stats(&d, &fl).score == 0.0, "degenerate case %d", i);
    }
    BleuStats d4 = {6, 6, {6, 5, 4, 0}, {6, 5, 4, 3}};
    BleuOptions fl0 = bopt(BLEU_TOK_13A, BLEU_SMOOTH_FLOOR, 0.0, 0, 4);
    CHECK(bleu_from_stats(&d4, &fl0).score == 0.0, "degenerate case [6,5,4,0]");
}

// sacrebleu/metrics/bleu.py _get_closest_ref_len: with several references the
// closest length counts, the shorter one on ties (rule, no published number).
static void test_bleu_closest_ref_len(void) {
    const char *hyp[] = {"a b c"}, *r1[] = {"a b c d"}, *r2[] = {"a b"}, *r3[] = {"a b c d e f"};
    const char *const *refs[3] = {r1, r2, r3};
    BleuOptions o = bopt(BLEU_TOK_NONE, BLEU_SMOOTH_EXP, -1, 0, 4);
    BleuResult r = bleu_corpus_multi(hyp, refs, 3, 1, &o);
    CHECK(r.ref_len == 2, "tie 4 vs 2 -> 2, got %lld", (long long)r.ref_len);
    const char *const *refs2[2] = {r3, r1};
    r = bleu_corpus_multi(hyp, refs2, 2, 1, &o);
    CHECK(r.ref_len == 4, "closest of 6 and 4 -> 4, got %lld", (long long)r.ref_len);
}

// ------------------------------------------------------------ BLEU, sentence level

// test/test_sentence_bleu.py (example of sacreBLEU issue #98), EPSILON 1e-3,
// BLEU(..., effective_order=True).sentence_score.
static const char *SB_REF = "producţia de zahăr brut se exprimă în zahăr alb;";
static const char *SB_SYS =
    "Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;";

static void test_sentence_bleu_smoothing(void) {
    static const struct {
        BleuSmooth sm;
        double value, want;
        const char *what;
    } cases[] = {
        {BLEU_SMOOTH_EXP, -1, 8.493, "exp"},        {BLEU_SMOOTH_NONE, -1, 0.0, "none"},
        {BLEU_SMOOTH_FLOOR, -1, 4.51688, "floor"},  {BLEU_SMOOTH_FLOOR, 0.1, 4.51688, "floor 0.1"},
        {BLEU_SMOOTH_FLOOR, 0.5, 10.10, "floor .5"}, {BLEU_SMOOTH_ADD_K, -1, 14.882, "add-k"},
        {BLEU_SMOOTH_ADD_K, 1, 14.882, "add-k 1"},  {BLEU_SMOOTH_ADD_K, 2, 21.389, "add-k 2"},
    };
    for (int i = 0; i < N_OF(cases); i++) {
        BleuOptions o = bopt(BLEU_TOK_13A, cases[i].sm, cases[i].value, 1, 4);
        CHECK_CLOSE(bleu1(SB_SYS, SB_REF, o).score, cases[i].want, 0, 1e-3, cases[i].what);
    }
}

// Same file, "change tok" cases; the default smoothing through bleu_sentence().
static void test_sentence_bleu_tokenizers(void) {
    CHECK_CLOSE(bleu_sentence(SB_SYS, SB_REF, BLEU_TOK_13A), 8.493, 0, 1e-3, "13a");
    CHECK_CLOSE(bleu_sentence(SB_SYS, SB_REF, BLEU_TOK_NONE), 7.347, 0, 1e-3, "none");
    CHECK_CLOSE(bleu_sentence(SB_SYS, SB_REF, BLEU_TOK_CHAR), 40.8759, 0, 1e-3, "char");
}

// test/test_sentence_bleu.py test_api_sentence_bleu_zero (issue #141): no
// n-gram in common gives 0 whatever the smoothing.
static void test_sentence_bleu_zero(void) {
    for (int sm = BLEU_SMOOTH_EXP; sm <= BLEU_SMOOTH_ADD_K; sm++) {
        BleuOptions o = bopt(BLEU_TOK_13A, (BleuSmooth)sm, -1, 1, 4);
        CHECK(bleu1("this is a cat", "okay thanks", o).score == 0.0, "smooth %d", sm);
    }
    CHECK(bleu_sentence("this is a cat", "okay thanks", BLEU_TOK_13A) == 0.0, "bleu_sentence");
}

// ------------------------------------------------------------ tokenisers

// sbintuitions/flexeval tests/core/metric/tokenizer/test_sacrebleu_tokenizer.py
// (asserts on sacreBLEU's own Tokenizer13a / TokenizerZh output).
static void test_tokenizer_published(void) {
    check_tok("I'm a student.", BLEU_TOK_13A, "I'm a student .");
    check_tok("教我中文吧", BLEU_TOK_ZH, "教 我 中 文 吧");
}

// Derived from the rules of sacrebleu/tokenizers/tokenizer_13a.py (the
// <skipped>, "-\n", "\n" and entity replacements, in that order, then
// f' {line} ') and tokenizer_re.py (split [{-~[-` -&(-+:-@/], then . and ,
// unless after / before a digit, then - after a digit); no published token
// lists exist for these. Each was also checked with Python's re module.
static void test_tokenizer_13a_rules(void) {
    check_tok("Hello, world!", BLEU_TOK_13A, "Hello , world !");
    check_tok("1,234.5 3-4 a.b", BLEU_TOK_13A, "1,234.5 3 - 4 a . b");
    check_tok("It wasn't e-mail, it's a 5-year plan.", BLEU_TOK_13A,
              "It wasn't e-mail , it's a 5 - year plan .");
    check_tok("U.S.A.", BLEU_TOK_13A, "U . S . A .");
    check_tok("Price: $5.00 (approx.)", BLEU_TOK_13A, "Price : $ 5.00 ( approx . )");
    check_tok("Version 1.", BLEU_TOK_13A, "Version 1 .");  // thanks to the padding
    check_tok("x_y/z", BLEU_TOK_13A, "x _ y / z");
    check_tok("&quot;Fish &amp; chips&quot; &lt;b&gt;", BLEU_TOK_13A, "\" Fish & chips \" < b >");
    check_tok("&amp;lt;", BLEU_TOK_13A, "<");  // &amp; first, then &lt;
    check_tok("abc-\ndef\nghi", BLEU_TOK_13A, "abcdef ghi");
    check_tok("a<skipped>b", BLEU_TOK_13A, "ab");
    check_tok("  a \t b \xe3\x80\x80 ", BLEU_TOK_13A, "a b");  // Python whitespace incl. U+3000
    check_tok("中文 text—works", BLEU_TOK_13A, "中文 text—works");
}

// Derived from sacrebleu/tokenizers/tokenizer_zh.py: strip, " c " around each
// character of _UCODE_RANGES, then tokenizer_re.py (no entity replacement, no
// padding). Its entries '\u20000'..'\u2a6d6' and '\u2f800'..'\u2fa1d' are
// two-character strings in Python, so they cover U+2001..U+2A6D (e.g. the em
// dash) and U+2F81..U+2FA1, not Extension B. Checked with Python's semantics.
static void test_tokenizer_zh_rules(void) {
    check_tok("我爱北京天安门。", BLEU_TOK_ZH, "我 爱 北 京 天 安 门 。");
    check_tok("“你好”，他说。", BLEU_TOK_ZH, "“ 你 好 ” ， 他 说 。");
    check_tok("中文 text—works", BLEU_TOK_ZH, "中 文 text — works");
    check_tok("价格是1.", BLEU_TOK_ZH, "价 格 是 1.");  // no padding: final "1." stays
    check_tok("A&amp;B中", BLEU_TOK_ZH, "A & amp ; B 中");
    check_tok("ＡＢＣ１２３", BLEU_TOK_ZH, "Ａ Ｂ Ｃ １ ２ ３");       // U+FF00..U+FFEF
    check_tok("\xf0\xa0\x80\x80\xf0\xa0\x80\x81", BLEU_TOK_ZH, "\xf0\xa0\x80\x80\xf0\xa0\x80\x81");
}

// tokenizer_char.py (" ".join(line), then BLEU's split()) and tokenizer_none.py.
static void test_tokenizer_char_none(void) {
    check_tok("ab c", BLEU_TOK_CHAR, "a b c");
    check_tok("日本語です。", BLEU_TOK_CHAR, "日 本 語 で す 。");
    check_tok(" a  b ", BLEU_TOK_NONE, "a b");
    check_tok("a,b", BLEU_TOK_NONE, "a,b");
    // Python's str.split(): U+001C and U+2009 split, U+200B (not isspace) does not.
    check_tok("a\x1c" "b\xe2\x80\x89" "c\xe2\x80\x8b" "d", BLEU_TOK_NONE, "a b c\xe2\x80\x8b" "d");
}

// Invalid UTF-8 never crashes; each bad byte is a character of its own
// (U+DC00+byte, Python's surrogateescape) and comes back unchanged.
static void test_tokenizer_invalid_utf8(void) {
    check_tok("a\xff b\xc3", BLEU_TOK_13A, "a\xff b\xc3");
    check_tok("a\xff\xfe", BLEU_TOK_CHAR, "a \xff \xfe");
    check_tok("\xed\xa0\x80", BLEU_TOK_CHAR, "\xed \xa0 \x80");  // encoded surrogate
    CHECK_CLOSE(bleu_sentence("\xff\xfe", "\xff\xfe", BLEU_TOK_CHAR), 100.0, 0, 1e-9, "same bytes");
    CHECK(bleu_sentence("\xff", "\xfe", BLEU_TOK_CHAR) == 0.0, "different bad bytes");
    const char *h[] = {"\x80\x80\x80 abc"}, *r[] = {"\x80\x80 abd"};
    double c = chrf_corpus(h, r, 1).score;
    CHECK(c > 0 && c < 100, "chrF on invalid UTF-8: %g", c);
}

// ------------------------------------------------------------ chrF

// README "Using SacreBLEU from Python": CHRF().corpus_score(sys, refs) -> "chrF2 = 59.73".
static void test_chrf_readme_example(void) {
    const char *const *refs[2] = {README_REF1, README_REF2};
    ChrfOptions o = chrf_options_default();
    check_fmt(chrf_corpus_multi(README_SYS, refs, 2, 3, &o).score, 2, "59.73", "README chrF2");
}

// test/test_chrf.py test_chrf: corpus_chrf(char_order=6, word_order=0, beta=3,
// eps_smoothing=True), EPSILON 1e-4.
static void test_chrf_eps_smoothing(void) {
    static const struct {
        const char *hyp, *ref;
        double want;
    } cases[] = {
        {"abcdefg", "hijklmnop", 0.0},
        {"a", "b", 0.0},
        {"", "b", 0.0},
        {"", "ref", 0.0},
        {"", "reference", 0.0},
        {"aa", "ab", 8.3333},
        {"a", "a", 16.6667},
        {"a b c", "a b c", 50.0},
        {"a b c", "abc", 50.0},
        {" risk assessment must be made of those who are qualified and expertise in the sector - "
         "these are the scientists .",
         "risk assessment has to be undertaken by those who are qualified and expert in that area "
         "- that is the scientists .",
         63.361730},
        {" Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. ",
         "Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich.", 64.1302698},
        {"Niemand hat die Absicht, eine Mauer zu errichten",
         "Niemand hat die Absicht, eine Mauer zu errichten", 100.0},
    };
    for (int i = 0; i < N_OF(cases); i++)
        CHECK_CLOSE(chrf1(cases[i].hyp, cases[i].ref, 6, 3, 1, 0), cases[i].want, 0, 1e-4,
                    cases[i].hyp);
    const char *h[] = {"a", "b"}, *r[] = {"a", "c"};  // two-sentence case, 8.3333
    ChrfOptions o = {6, 3, 1, 0};
    const char *const *streams[1] = {r};
    CHECK_CLOSE(chrf_corpus_multi(h, streams, 1, 2, &o).score, 8.3333, 0, 1e-4, "[a,b] vs [a,c]");
}

// test/test_chrf.py test_chrf_eff_order (the default averaging; beta=3),
// EPSILON 1e-4.
static void test_chrf_effective_order(void) {
    CHECK_CLOSE(chrf1("a", "a", 6, 3, 0, 0), 100.0, 0, 1e-4, "a/a");
    CHECK_CLOSE(chrf1("", "reference", 6, 3, 0, 0), 0.0, 0, 1e-4, "empty/reference");
    CHECK_CLOSE(chrf1("a b c", "a b c", 6, 3, 0, 0), 100.0, 0, 1e-4, "a b c");
    CHECK_CLOSE(chrf1("a b c", "abc", 6, 3, 0, 0), 100.0, 0, 1e-4, "whitespace removed");
    CHECK_CLOSE(chrf1("", "c", 6, 3, 0, 0), 0.0, 0, 1e-4, "empty/c");
    CHECK_CLOSE(chrf1("aa", "ab", 6, 3, 0, 0), 25.0, 0, 1e-4, "aa/ab");
    const char *h[] = {"a", "b"}, *r[] = {"a", "c"};
    ChrfOptions o = {6, 3, 0, 0};
    const char *const *streams[1] = {r};
    CHECK_CLOSE(chrf_corpus_multi(h, streams, 1, 2, &o).score, 50.0, 0, 1e-4, "[a,b] vs [a,c]");
}

// test/test_chrf.py test_chrf_keep_whitespace (beta=3, whitespace kept) and
// test_chrf_sentence_level (sentence_chrf(eps_smoothing=True), beta 2).
static void test_chrf_whitespace_and_sentences(void) {
    CHECK_CLOSE(chrf1("Die Beziehung zwischen Obama und Netanjahu ist nicht gerade freundlich.",
                      "Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich.",
                      6, 3, 0, 1),
                67.3481606, 0, 1e-4, "keep whitespace 1");
    CHECK_CLOSE(chrf1("risk assessment must be made of those who are qualified and expertise in "
                      "the sector - these are the scientists .",
                      "risk assessment has to be undertaken by those who are qualified and expert "
                      "in that area - that is the scientists .",
                      6, 3, 0, 1),
                65.2414427, 0, 1e-4, "keep whitespace 2");
    CHECK_CLOSE(chrf1("Co nás nejvíc trápí, protože lékaři si vybírají, kdo bude žít a kdo zemře.",
                      "Nejvíce smutní jsme z toho, že musíme rozhodovat o tom, kdo bude žít a kdo "
                      "zemře.",
                      6, 2, 1, 0),
                39.14078509, 0, 1e-4, "sentence 1");
    CHECK_CLOSE(chrf1("Nebo prostě nemají vybavení, které by jim pomohlo, uvedli lékaři.",
                      "A někdy nemáme ani potřebný materiál, abychom jim pomohli, popsali lékaři.",
                      6, 2, 1, 0),
                31.22557079, 0, 1e-4, "sentence 2");
    CHECK_CLOSE(chrf1("Lapali po dechu, jejich životy skončily dřív, než skutečně začaly.",
                      "Lapali po dechu a pak jejich život skončil - dřív, než skutečně mohl začít, "
                      "připomněli.",
                      6, 2, 1, 0),
                57.15704367, 0, 1e-4, "sentence 3");
}

// sacrebleu/metrics/chrf.py _get_match_statistics: a hypothesis n-gram count
// is reported as 0 for an order of which the reference has no n-gram (rule):
// "abc" has a trigram, "ab" has none, so the order-3 hypothesis count is 0.
static void test_chrf_statistics(void) {
    const char *h[] = {"ab c"}, *r[] = {"a b"};
    ChrfResult res = chrf_corpus(h, r, 1);
    const int64_t hyp[6] = {3, 2, 0, 0, 0, 0}, ref[6] = {2, 1, 0, 0, 0, 0};
    const int64_t match[6] = {2, 1, 0, 0, 0, 0};
    for (int i = 0; i < 6; i++)
        CHECK(res.stats.hyp[i] == hyp[i] && res.stats.ref[i] == ref[i] &&
                  res.stats.match[i] == match[i],
              "order %d: %lld %lld %lld", i + 1, (long long)res.stats.hyp[i],
              (long long)res.stats.ref[i], (long long)res.stats.match[i]);
}

// sacrebleu/metrics/chrf.py _compute_segment_statistics keeps the reference
// with the best sentence score, the first on ties ("f_score > best_f_score").
// With order 1 and beta 1, hyp "ab" scores F1 = 2/3 against both "a" (P 1/2,
// R 1) and "abab" (P 1, R 1/2); the statistics of "a" must be kept (rule).
static void test_chrf_reference_choice(void) {
    const char *h[] = {"ab"}, *r1[] = {"a"}, *r2[] = {"abab"}, *r3[] = {"ab"};
    ChrfOptions o = {1, 1.0, 0, 0};
    const char *const *tie[2] = {r1, r2};
    ChrfResult res = chrf_corpus_multi(h, tie, 2, 1, &o);
    CHECK(res.stats.hyp[0] == 2 && res.stats.ref[0] == 1 && res.stats.match[0] == 1,
          "first reference kept on a tie: %lld %lld %lld", (long long)res.stats.hyp[0],
          (long long)res.stats.ref[0], (long long)res.stats.match[0]);
    const char *const *better[3] = {r1, r3, r2};
    CHECK(chrf_corpus_multi(h, better, 3, 1, &o).score == 100.0, "best reference used");
}

// test/test.py (sacreBLEU 1.x: corpus_chrf(sys, ref, order, beta), scores on
// a 0..1 scale; 2.0.0 "Scale all metrics into the [0, 100] range", and the
// 1.x averaging is 2.x's effective order).
static void test_chrf_v1_cases(void) {
    const char *s = "Consistency is the last refuge of the unimaginative";
    CHECK(chrf1(s, s, 6, 3, 0, 0) == 100.0, "identical");
    CHECK(chrf1("BBBB", "AAAAAA", 3, 3, 0, 0) == 0.0, "disjoint");
    CHECK(chrf1("", "A", 6, 3, 0, 0) == 0.0, "empty hypothesis");
    CHECK(chrf1("A", "", 6, 3, 0, 0) == 0.0, "empty reference");
    CHECK(chrf1("AA", "AB", 6, 3, 0, 0) == 25.0, "AA/AB");
    CHECK(chrf1("A", "A", 6, 3, 0, 0) == 100.0, "A/A");
    check_fmt(chrf1(" risk assessment must be made of those who are qualified and expertise in "
                    "the sector - these are the scientists .",
                    "risk assessment has to be undertaken by those who are qualified and expert "
                    "in that area - that is the scientists .",
                    6, 3, 0, 0) / 100,
              5, "0.63362", "risk assessment (1.x)");
}

// ------------------------------------------------------------ invariants

static const char *INV_SYS[] = {"Das ist ein Test.", "Noch ein Satz, mit 1,5 Kommas.",
                                "我们今天去北京。", "", "Ein   Satz\tmit  Leerraum"};
static const char *INV_REF[] = {"Das ist kein Test.", "Ein anderer Satz mit zwei Kommas.",
                                "我们明天去上海。", "leer", "Ein Satz mit Leerraum"};

static void test_invariant_self(void) {
    const char *self[] = {"Das ist ein Test.", "我们今天去北京。", "x"};
    for (int t = BLEU_TOK_13A; t <= BLEU_TOK_NONE; t++) {
        BleuResult r = bleu_corpus(self, self, 3, (BleuTokenizer)t);
        CHECK(fabs(r.score - 100.0) < 1e-12, "%s: %.17g", bleu_tokenizer_name(t), r.score);
    }
    CHECK(fabs(chrf_corpus(self, self, 3).score - 100.0) < 1e-12, "chrF of itself");
    CHECK_CLOSE(bleu_sentence("same words here", "same words here", BLEU_TOK_13A), 100.0, 0, 1e-9,
                "sentence BLEU of itself");
}

static void test_invariant_order(void) {
    const char *sys2[5], *ref2[5];
    for (int i = 0; i < 5; i++) sys2[i] = INV_SYS[(i + 2) % 5], ref2[i] = INV_REF[(i + 2) % 5];
    for (int t = BLEU_TOK_13A; t <= BLEU_TOK_NONE; t++) {
        double a = bleu_corpus(INV_SYS, INV_REF, 5, (BleuTokenizer)t).score;
        double b = bleu_corpus(sys2, ref2, 5, (BleuTokenizer)t).score;
        CHECK(a == b && a > 0, "%s: %.17g vs %.17g", bleu_tokenizer_name(t), a, b);
    }
    double a = chrf_corpus(INV_SYS, INV_REF, 5).score, b = chrf_corpus(sys2, ref2, 5).score;
    CHECK(a == b && a > 0, "chrF order: %.17g vs %.17g", a, b);
}

// Per-segment statistics summed (as an allreduce would) give the corpus score.
static void test_invariant_additive(void) {
    BleuOptions bo = bleu_options_default();
    ChrfOptions co = chrf_options_default();
    BleuStats bs = {0};
    ChrfStats cs = {0};
    for (int i = 0; i < 5; i++) {
        BleuStats one = {0};
        bleu_add_segment(&one, INV_SYS[i], &INV_REF[i], 1, &bo);
        bs.sys_len += one.sys_len, bs.ref_len += one.ref_len;
        for (int n = 0; n < BLEU_MAX_ORDER; n++)
            bs.counts[n] += one.counts[n], bs.totals[n] += one.totals[n];
        chrf_add_segment(&cs, INV_SYS[i], &INV_REF[i], 1, &co);
    }
    CHECK(bleu_from_stats(&bs, &bo).score == bleu_corpus(INV_SYS, INV_REF, 5, BLEU_TOK_13A).score,
          "BLEU from summed statistics");
    CHECK(chrf_from_stats(&cs, &co) == chrf_corpus(INV_SYS, INV_REF, 5).score,
          "chrF from summed statistics");
}

static void test_invariant_empty(void) {
    const char *e[] = {"", "   "}, *r[] = {"a reference", "another one"}, *nul[] = {NULL, NULL};
    for (int t = BLEU_TOK_13A; t <= BLEU_TOK_NONE; t++)
        CHECK(bleu_corpus(e, r, 2, (BleuTokenizer)t).score == 0.0, "empty hyps, tok %d", t);
    CHECK(bleu_corpus(nul, r, 2, BLEU_TOK_13A).score == 0.0, "NULL hyps");
    CHECK(bleu_corpus(NULL, NULL, 0, BLEU_TOK_13A).score == 0.0, "no sentences");
    CHECK(bleu_sentence("", "", BLEU_TOK_13A) == 0.0, "both empty");
    CHECK(bleu_sentence("words", "", BLEU_TOK_13A) == 0.0, "empty reference");
    CHECK(chrf_corpus(e, r, 2).score == 0.0, "chrF empty hyps");
    CHECK(chrf_corpus(NULL, NULL, 0).score == 0.0, "chrF no sentences");
    CHECK(chrf_corpus(e, e, 2).score == 0.0, "chrF both empty");
}

// ------------------------------------------------------------ naming

static void test_tokenizer_for_language(void) {
    CHECK(bleu_tokenizer_for("zh") == BLEU_TOK_ZH, "zh");
    CHECK(bleu_tokenizer_for("zh-CN") == BLEU_TOK_ZH, "zh-CN");
    CHECK(bleu_tokenizer_for("ZH_Hant") == BLEU_TOK_ZH, "ZH_Hant");
    CHECK(bleu_tokenizer_for("zho") == BLEU_TOK_ZH, "zho");
    CHECK(bleu_tokenizer_for("ja") == BLEU_TOK_CHAR, "ja");
    CHECK(bleu_tokenizer_for("jpn") == BLEU_TOK_CHAR, "jpn");
    CHECK(bleu_tokenizer_for("jav") == BLEU_TOK_13A, "jav is Javanese");
    CHECK(bleu_tokenizer_for("zha") == BLEU_TOK_13A, "zha is Zhuang");
    CHECK(bleu_tokenizer_for("de") == BLEU_TOK_13A, "de");
    CHECK(bleu_tokenizer_for(NULL) == BLEU_TOK_13A, "NULL");
}

// Signature layout of the README ("Version Signatures" and the chrF2 line of
// "Using multiple metrics"); the version field names the sacreBLEU
// behaviour reproduced, 2.2 and later (empty references).
static void test_signatures(void) {
    char buf[160];
    BleuOptions b = bleu_options_default();
    bleu_signature(buf, sizeof buf, 1, &b);
    CHECK(strcmp(buf, "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.2+") == 0, "%s", buf);
    b = bopt(BLEU_TOK_ZH, BLEU_SMOOTH_FLOOR, -1, 1, 4);
    bleu_signature(buf, sizeof buf, 2, &b);
    CHECK(strcmp(buf, "nrefs:2|case:mixed|eff:yes|tok:zh|smooth:floor[0.10]|version:2.2+") == 0,
          "%s", buf);
    ChrfOptions c = chrf_options_default();
    chrf_signature(buf, sizeof buf, 1, &c);
    CHECK(strcmp(buf, "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.2+") == 0, "%s",
          buf);
}

int main(void) {
    RUN(test_bleu_readme_example);
    RUN(test_bleu_empty_hypotheses);
    RUN(test_bleu_max_order);
    RUN(test_bleu_variable_references);
    RUN(test_bleu_empty_reference);
    RUN(test_chrf_empty_reference);
    RUN(test_bleu_raw);
    RUN(test_bleu_from_stats);
    RUN(test_bleu_closest_ref_len);
    RUN(test_sentence_bleu_smoothing);
    RUN(test_sentence_bleu_tokenizers);
    RUN(test_sentence_bleu_zero);
    RUN(test_tokenizer_published);
    RUN(test_tokenizer_13a_rules);
    RUN(test_tokenizer_zh_rules);
    RUN(test_tokenizer_char_none);
    RUN(test_tokenizer_invalid_utf8);
    RUN(test_chrf_readme_example);
    RUN(test_chrf_eps_smoothing);
    RUN(test_chrf_effective_order);
    RUN(test_chrf_whitespace_and_sentences);
    RUN(test_chrf_statistics);
    RUN(test_chrf_reference_choice);
    RUN(test_chrf_v1_cases);
    RUN(test_invariant_self);
    RUN(test_invariant_order);
    RUN(test_invariant_additive);
    RUN(test_invariant_empty);
    RUN(test_tokenizer_for_language);
    RUN(test_signatures);
    return harness_finish();
}
