// Byte-level BPE: pre-tokenization rules, a hand-worked training example,
// agreement of the incremental trainer and the heap encoder with naive
// reference implementations, lossless round trips on any bytes,
// determinism, HDF5 storage and its validation. Throughput is printed as
// information, never asserted.
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "io/h5.h"
#include "tokenizer/bpe.h"
#include "tokenizer/pretok.h"
#include "util/alloc.h"
#include "util/timer.h"

// ------------------------------------------------------------ helpers

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint32_t rnd(void) {
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33);
}

// Chunks of s joined by '|' (test strings contain no '|').
static const char *split(const char *s) {
    static char buf[4096];
    size_t len = strlen(s), k = 0;
    for (size_t pos = 0, end; pos < len; pos = end) {
        end = pretok_next((const uint8_t *)s, len, pos);
        if (pos) buf[k++] = '|';
        memcpy(buf + k, s + pos, end - pos);
        k += end - pos;
    }
    buf[k] = '\0';
    return buf;
}

// Encodes, checks the ids are in range and not special, decodes, compares.
static int64_t round_trip(BpeTokenizer *t, const void *s, size_t len, const char *what) {
    int32_t *ids = xmalloc((len + 1) * sizeof *ids);
    int64_t n = bpe_encode(t, s, len, ids, (int64_t)len);
    CHECK(n >= 0 && n <= (int64_t)len, "%s: %lld ids for %zu bytes", what, (long long)n, len);
    int in_range = 1;
    for (int64_t i = 0; i < n && i < (int64_t)len; i++)
        in_range &= ids[i] >= t->n_special && ids[i] < t->vocab_size;
    CHECK(in_range, "%s: an id is special or out of range", what);
    char *back = xmalloc(len + 1);
    int64_t m = bpe_decode(t, ids, n, back, (int64_t)len);
    CHECK(m == (int64_t)len && !memcmp(back, s, len), "%s: decode(encode(x)) != x", what);
    free(back);
    free(ids);
    return n;
}

static void train_ok(const BpeText *texts, int64_t n, int32_t vocab, BpeTokenizer *t) {
    CHECK(bpe_train(texts, n, vocab, NULL, 0, t) == LM_OK, "training failed");
}

// ------------------------------------------------------------ synthetic text

// Pseudo-words of a few scripts with a Zipf-like frequency, so that BPE has
// realistic statistics (frequent short words, a long tail, shared affixes).
static const char *const SYL[][12] = {
    {"th", "e", "an", "in", "er", "re", "on", "at", "st", "ing", "ed", "ou"},
    {"sch", "ei", "ü", "ä", "en", "ung", "ö", "ß", "ch", "ie", "er", "lich"},
    {"é", "qu", "ou", "è", "ç", "ai", "on", "eau", "ê", "ent", "le", "ri"},
    {"пр", "и", "в", "ет", "ой", "ст", "а", "ни", "ель", "ов", "ра", "ж"},
    {"ال", "م", "ر", "ح", "ب", "ا", "ت", "ك", "ي", "و", "ن", "س"},
    {"我", "爱", "北", "京", "的", "是", "了", "在", "人", "有", "中", "国"},
};
#define N_LANG 6
static const char *const END[N_LANG] = {".", "!", " ?", ".", "؟", "。"};

static size_t add_word(char *out, int lang, uint32_t word) {
    size_t k = 0;
    uint32_t h = word * 2654435761u + (uint32_t)lang;
    int n_syl = 1 + (int)(h % 5);
    for (int i = 0; i < n_syl; i++, h = h * 1103515245u + 12345u) {
        const char *s = SYL[lang][(h >> 16) % 12];
        memcpy(out + k, s, strlen(s));
        k += strlen(s);
    }
    return k;
}

// One sentence into out (room for 512 bytes); returns its length.
static size_t make_sentence(char *out, int lang) {
    size_t k = 0;
    int n_words = 4 + (int)(rnd() % 10);
    for (int w = 0; w < n_words; w++) {
        if (w && lang != 5) out[k++] = ' ';
        if (rnd() % 20 == 0) {
            k += (size_t)sprintf(out + k, "%u", rnd() % 100000);
            continue;
        }
        // log-uniform rank over 60000 words ~ Zipf
        uint32_t rank = (uint32_t)(expf((float)(rnd() % 10000) / 10000.0f * 11.0f));
        k += add_word(out + k, lang, rank);
        if (rnd() % 8 == 0) out[k++] = ',';
    }
    memcpy(out + k, END[lang], strlen(END[lang]));
    return k + strlen(END[lang]);
}

typedef struct {
    BpeText *texts;
    char *buf;
    int64_t n;
    size_t bytes;
} Corpus;

static void corpus_make(Corpus *c, int64_t n) {
    c->n = n;
    c->buf = xmalloc((size_t)n * 512);
    c->texts = xmalloc((size_t)n * sizeof *c->texts);
    c->bytes = 0;
    for (int64_t i = 0; i < n; i++) {
        char *s = c->buf + i * 512;
        c->texts[i] = (BpeText){s, make_sentence(s, (int)(i % N_LANG))};
        c->bytes += c->texts[i].len;
    }
}

static void corpus_free(Corpus *c) {
    free(c->buf);
    free(c->texts);
}

// ------------------------------------------------------------ pre-tokenization

static void test_pretok_cases(void) {
    static const char *const cases[][2] = {
        {"Hello, world!", "Hello|,| world|!"},
        {"a b", "a| b"},
        {"  hi", " | hi"},
        {"x\n\ny", "x|\n\n|y"},
        {"x \n y", "x| |\n| y"},
        {"\t word", "\t| word"},
        {"1234567", "123|456|7"},
        {"Price: 12.50\xe2\x82\xac", "Price|:| |12|.|50|\xe2\x82\xac"},
        {"\xc3\x9c" "ber die Br\xc3\xbc" "cke", "\xc3\x9c" "ber| die| Br\xc3\xbc" "cke"},
        {"l'\xc3\xa9t\xc3\xa9 d\xc3\xa9j\xc3\xa0", "l|'|\xc3\xa9t\xc3\xa9| d\xc3\xa9j\xc3\xa0"},
        {"Привет, мир", "Привет|,| мир"},
        {"我爱北京。", "我|爱|北|京|。"},
        {"مرحبا بالعالم؟", "مرحبا| بالعالم|؟"},
        {"hi 👨‍👩‍👧!", "hi| 👨‍👩‍👧!"},
        {"ok 👍🏽 e\xcc\x81t", "ok| 👍🏽| e\xcc\x81t"},
        {"नमस्ते दुनिया।", "नमस्ते| दुनिया|।"},
        {"<bos>x", "<|bos|>|x"},
        {"a\xff\xfe b", "a|\xff|\xfe| b"},
        {"\xe4\xbd", "\xe4|\xbd"},            // truncated 3-byte sequence
        {"\xc0\xaf", "\xc0|\xaf"},            // overlong '/'
        {"\xed\xa0\x80", "\xed|\xa0|\x80"},   // UTF-16 surrogate
        {"\xf4\x90\x80\x80", "\xf4|\x90|\x80|\x80"},  // above U+10FFFF
        {"a\xe3\x80\x80z", "a|\xe3\x80\x80|z"},       // ideographic space
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = split(cases[i][0]);
        CHECK(!strcmp(got, cases[i][1]), "case %zu: got \"%s\", expected \"%s\"", i, got,
              cases[i][1]);
    }
    // NUL is an ordinary (punctuation) byte.
    const uint8_t nul[] = {'a', 0, 0, 'b'};
    CHECK(pretok_next(nul, 4, 0) == 1 && pretok_next(nul, 4, 1) == 3, "NUL run");
}

// Chunks partition any input and respect the length bound.
static void test_pretok_partition(void) {
    uint8_t *s = xmalloc(100000);
    for (int i = 0; i < 100000; i++) s[i] = (uint8_t)(rnd() % 7 == 0 ? ' ' : rnd());
    memset(s + 50000, 'a', 1000);  // one long run of letters
    int ok = 1;
    size_t pos = 0, longest = 0;
    while (ok && pos < 100000) {
        size_t end = pretok_next(s, 100000, pos);
        ok = end > pos && end <= pos + PRETOK_MAX_CHUNK && end <= 100000;
        if (end - pos > longest) longest = end - pos;
        pos = end;
    }
    CHECK(ok && pos == 100000, "chunks do not partition the input (stopped at %zu)", pos);
    CHECK(longest == PRETOK_MAX_CHUNK, "longest chunk %zu, expected the cap %d", longest,
          PRETOK_MAX_CHUNK);
    free(s);
}

// ------------------------------------------------------------ training

// Wikipedia's example: aa (4x) first; then the tie between (a, b) and
// (Z, a) at 2 goes to the smaller ids (a, b); then Z Y; then nothing
// occurs twice.
static void test_classic_example(void) {
    const char *s = "aaabdaaabac";
    BpeText text = {s, strlen(s)};
    BpeTokenizer t;
    train_ok(&text, 1, 3 + 256 + 10, &t);
    const int32_t a = 3 + 'a', b = 3 + 'b', c = 3 + 'c', d = 3 + 'd';
    const int32_t want[] = {a, a, a, b, 259, 260};
    CHECK(t.n_merges == 3 && t.vocab_size == 262, "merges %d, vocab %d", t.n_merges, t.vocab_size);
    CHECK(t.n_merges == 3 && !memcmp(t.merges, want, sizeof want), "merges differ");
    int32_t ids[16];
    int64_t n = bpe_encode(&t, s, strlen(s), ids, 16);
    const int32_t want_ids[] = {261, d, 261, a, c};
    CHECK(n == 5 && !memcmp(ids, want_ids, sizeof want_ids), "encoding of %s (%lld ids)", s,
          (long long)n);
    n = bpe_encode(&t, "aaaaa", 5, ids, 16);
    CHECK(n == 3 && ids[0] == 259 && ids[1] == 259 && ids[2] == a, "aaaaa -> %lld ids", (long long)n);
    size_t len;
    const uint8_t *tb = bpe_token_bytes(&t, 261, &len);
    CHECK(tb && len == 4 && !memcmp(tb, "aaab", 4), "token 261 is not \"aaab\"");
    bpe_free(&t);
}

// "a b" is the chunks "a" and " b": only (' ', 'b') can ever merge.
static void test_no_merge_across_chunks(void) {
    BpeText texts[100];
    for (int i = 0; i < 100; i++) texts[i] = (BpeText){"a b", 3};
    BpeTokenizer t;
    train_ok(texts, 100, 3 + 256 + 50, &t);
    CHECK(t.n_merges == 1, "%d merges, expected 1", t.n_merges);
    CHECK(t.n_merges >= 1 && t.merges[0] == 3 + ' ' && t.merges[1] == 3 + 'b',
          "merge 0 is (%d, %d)", t.merges[0], t.merges[1]);
    int32_t ids[4];
    CHECK(bpe_encode(&t, "a b", 3, ids, 4) == 2 && ids[0] == 3 + 'a' && ids[1] == 259,
          "a b encodes wrongly");
    bpe_free(&t);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

// Replaces (l, r) by id in every word, compacting the words in place.
static void naive_merge(int32_t *sym, int32_t *wlen, int64_t n_words, int32_t l, int32_t r,
                        int32_t id) {
    int64_t in = 0, out = 0;
    for (int64_t w = 0; w < n_words; w++) {
        int32_t j = 0, o = 0, len = wlen[w];
        while (j < len) {
            int hit = j + 1 < len && sym[in + j] == l && sym[in + j + 1] == r;
            sym[out + o++] = hit ? id : sym[in + j];
            j += hit ? 2 : 1;
        }
        in += len;
        out += o;
        wlen[w] = o;
    }
}

// Reference trainer: recounts every pair (of every chunk occurrence) before
// each merge.
static int32_t naive_train(const Corpus *c, int32_t n_special, int32_t max_merges,
                           int32_t *merges) {
    int32_t *sym = xmalloc(c->bytes * sizeof *sym), *wlen = xmalloc(c->bytes * sizeof *wlen);
    int64_t n_words = 0, k = 0;
    for (int64_t i = 0; i < c->n; i++) {
        const uint8_t *s = (const uint8_t *)c->texts[i].data;
        for (size_t pos = 0, end; pos < c->texts[i].len; pos = end) {
            end = pretok_next(s, c->texts[i].len, pos);
            wlen[n_words++] = (int32_t)(end - pos);
            for (size_t j = pos; j < end; j++) sym[k++] = n_special + s[j];
        }
    }
    uint64_t *keys = xmalloc(c->bytes * sizeof *keys);
    int32_t m = 0;
    for (; m < max_merges; m++) {
        int64_t nk = 0;
        for (int64_t w = 0, off = 0; w < n_words; off += wlen[w++])
            for (int32_t j = 0; j + 1 < wlen[w]; j++)
                keys[nk++] = (uint64_t)sym[off + j] << 32 | (uint32_t)sym[off + j + 1];
        qsort(keys, (size_t)nk, sizeof *keys, cmp_u64);
        int64_t best = 0, best_n = 0;  // first maximum in key order = smallest (l, r)
        for (int64_t i = 0, j; i < nk; i = j) {
            for (j = i; j < nk && keys[j] == keys[i]; j++) {}
            if (j - i > best_n) best_n = j - i, best = i;
        }
        if (best_n < 2) break;
        merges[2 * m] = (int32_t)(keys[best] >> 32);
        merges[2 * m + 1] = (int32_t)(uint32_t)keys[best];
        naive_merge(sym, wlen, n_words, merges[2 * m], merges[2 * m + 1], n_special + 256 + m);
    }
    free(sym);
    free(wlen);
    free(keys);
    return m;
}

static void test_train_matches_naive(void) {
    Corpus c;
    corpus_make(&c, 600);
    BpeTokenizer t;
    train_ok(c.texts, c.n, 3 + 256 + 300, &t);
    int32_t *ref = xmalloc(2 * 300 * sizeof *ref);
    int32_t n_ref = naive_train(&c, 3, 300, ref);
    CHECK(t.n_merges == n_ref, "incremental trainer made %d merges, naive %d", t.n_merges, n_ref);
    int32_t first_diff = -1;
    for (int32_t i = 0; i < t.n_merges && i < n_ref && first_diff < 0; i++)
        if (t.merges[2 * i] != ref[2 * i] || t.merges[2 * i + 1] != ref[2 * i + 1]) first_diff = i;
    CHECK(first_diff < 0, "merge %d differs from the naive trainer", first_diff);
    free(ref);
    bpe_free(&t);
    corpus_free(&c);
}

static void test_determinism(void) {
    Corpus c;
    corpus_make(&c, 3000);
    BpeTokenizer t1, t2, t3;
    train_ok(c.texts, c.n, 3 + 256 + 500, &t1);
    train_ok(c.texts, c.n, 3 + 256 + 500, &t2);
    for (int64_t i = c.n - 1; i > 0; i--) {  // Fisher-Yates
        int64_t j = rnd() % (i + 1);
        BpeText x = c.texts[i];
        c.texts[i] = c.texts[j];
        c.texts[j] = x;
    }
    train_ok(c.texts, c.n, 3 + 256 + 500, &t3);
    CHECK(t1.n_merges == 500, "%d merges", t1.n_merges);
    size_t sz = 2 * (size_t)t1.n_merges * sizeof(int32_t);
    CHECK(t2.n_merges == t1.n_merges && !memcmp(t1.merges, t2.merges, sz), "retrain differs");
    CHECK(t3.n_merges == t1.n_merges && !memcmp(t1.merges, t3.merges, sz), "shuffled differs");
    CHECK(!strcmp(bpe_hash(&t1), bpe_hash(&t3)), "hash %s vs %s", bpe_hash(&t1), bpe_hash(&t3));
    BpeTokenizer small;
    train_ok(c.texts, c.n, 3 + 256 + 499, &small);
    CHECK(strcmp(bpe_hash(&t1), bpe_hash(&small)) != 0, "different merges, same hash");
    bpe_free(&small);
    bpe_free(&t1);
    bpe_free(&t2);
    bpe_free(&t3);
    corpus_free(&c);
}

static void test_train_arguments(void) {
    BpeText text = {"abab abab", 9};
    BpeTokenizer t;
    capture_begin();
    LmStatus st = bpe_train(&text, 1, 200, NULL, 0, &t);
    check_error(st, LM_EUSAGE, capture_end(), "vocab_size 200 is too small");
    const char *dup[] = {"<2de>", "<bos>"};
    capture_begin();
    st = bpe_train(&text, 1, 300, dup, 2, &t);
    check_error(st, LM_EUSAGE, capture_end(), "\"<bos>\" appears twice");
    const char *tags[] = {"<2de>", "<2en>"};
    CHECK(bpe_train(&text, 1, 300, tags, 2, &t) == LM_OK, "training with language tags");
    CHECK(t.n_special == 5 && !strcmp(t.specials[3], "<2de>") && !strcmp(t.specials[4], "<2en>"),
          "extra specials not at ids 3, 4");
    int32_t ids[4];
    CHECK(bpe_encode(&t, "x", 1, ids, 4) == 1 && ids[0] == 5 + 'x', "byte id is not n_special + b");
    CHECK(t.n_merges > 0 && t.merges[0] >= 5, "merge ids use the shifted byte layout");
    bpe_free(&t);
    train_ok(&text, 0, 400, &t);  // no text: no merges
    CHECK(t.n_merges == 0 && t.vocab_size == 259, "empty corpus gives %d merges", t.n_merges);
    bpe_free(&t);
}

// ------------------------------------------------------------ encoding

// Reference encoder: every merge in rank order over every chunk.
static int64_t naive_encode(const BpeTokenizer *t, const uint8_t *s, size_t len, int32_t *ids) {
    int64_t n = 0;
    for (size_t pos = 0, end; pos < len; pos = end) {
        end = pretok_next(s, len, pos);
        int32_t *w = ids + n, k = (int32_t)(end - pos);
        for (int32_t i = 0; i < k; i++) w[i] = t->n_special + s[pos + i];
        for (int32_t r = 0; r < t->n_merges && k > 1; r++) {
            int32_t o = 0;
            for (int32_t i = 0; i < k;) {
                int hit = i + 1 < k && w[i] == t->merges[2 * r] && w[i + 1] == t->merges[2 * r + 1];
                w[o++] = hit ? t->n_special + 256 + r : w[i];
                i += hit ? 2 : 1;
            }
            k = o;
        }
        n += k;
    }
    return n;
}

static void test_encode_matches_naive(void) {
    Corpus c;
    corpus_make(&c, 2000);
    BpeTokenizer t;
    train_ok(c.texts, c.n, 3 + 256 + 400, &t);
    int32_t a[600], b[600];
    int mismatches = 0;
    for (int64_t i = 0; i < c.n; i++) {  // twice: the second pass hits the cache
        const BpeText *x = &c.texts[(i * 7) % c.n];
        for (int pass = 0; pass < 2; pass++) {
            int64_t na = bpe_encode(&t, x->data, x->len, a, 600);
            int64_t nb = naive_encode(&t, (const uint8_t *)x->data, x->len, b);
            mismatches += na != nb || memcmp(a, b, (size_t)na * sizeof *a);
        }
    }
    CHECK(mismatches == 0, "%d encodings differ from the naive encoder", mismatches);
    bpe_free(&t);
    corpus_free(&c);
}

static const char *const MULTILINGUAL[] = {
    "The quick brown fox jumps over the lazy dog.",
    "Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich.",
    "Voix ambiguë d'un cœur qui, au zéphyr, préfère les jattes de kiwis.",
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "我能吞下玻璃而不伤身体。",
    "أنا قادر على أكل الزجاج و هذا لا يؤلمني.",
    "Family: 👨‍👩‍👧‍👦, flag: 🇩🇪, skin: 👋🏿, keycap: 1️⃣ — done…",
    "日本語のテキストと한국어 텍스트 mixed with ελληνικά.",
    "tabs\tand\r\nnewlines\n\n\nand    spaces   ",
    "<bos> is text, not a token <eos><pad>",
};

static void test_round_trip_multilingual(void) {
    Corpus c;
    corpus_make(&c, 3000);
    BpeTokenizer t, bytes;
    train_ok(c.texts, c.n, 3 + 256 + 1000, &t);
    bpe_init_bytes(&bytes);
    size_t total = 0;
    int64_t ids = 0;
    for (size_t i = 0; i < sizeof MULTILINGUAL / sizeof MULTILINGUAL[0]; i++) {
        size_t len = strlen(MULTILINGUAL[i]);
        round_trip(&t, MULTILINGUAL[i], len, MULTILINGUAL[i]);
        CHECK(round_trip(&bytes, MULTILINGUAL[i], len, "bytes") == (int64_t)len, "bytes tok");
    }
    for (int64_t i = 0; i < c.n; i++) {
        total += c.texts[i].len;
        ids += round_trip(&t, c.texts[i].data, c.texts[i].len, "training sentence");
    }
    printf("  compression on training text: %.2f bytes/token\n", (double)total / (double)ids);
    CHECK((double)total / (double)ids > 2.0, "merges barely compress: %.2f bytes/token",
          (double)total / (double)ids);
    int32_t bos[8];
    int64_t n = bpe_encode(&t, "<bos>", 5, bos, 8);
    CHECK(n >= 1 && bos[0] != BPE_BOS_ID, "\"<bos>\" became the special token");
    bpe_free(&t);
    bpe_free(&bytes);
    corpus_free(&c);
}

static void test_round_trip_adversarial(void) {
    Corpus c;
    corpus_make(&c, 2000);
    BpeTokenizer t;
    train_ok(c.texts, c.n, 3 + 256 + 500, &t);
    static const char fixed[] = "\0\0\xff\xff\x80\xbf\xc0\x80\xe0\x80\x80\xf0\x82\x82\xac"
                                "\xed\xa0\x80\xe4\xbd\xf8\x88\x80\x80\x80<bos>\x01\x7f "
                                "\xe2\x80\x8d\xcc\x81 \xef\xbb\xbf";
    round_trip(&t, fixed, sizeof fixed - 1, "fixed adversarial bytes");
    round_trip(&t, "", 0, "empty");
    uint8_t *buf = xmalloc(5000);
    for (int trial = 0; trial < 300; trial++) {
        size_t len = rnd() % 5000;
        for (size_t i = 0; i < len; i++) {
            uint32_t r = rnd();  // mix random bytes with bytes of real text
            const BpeText *x = &c.texts[(r >> 8) % c.n];
            buf[i] = (uint8_t)(r % 3 ? r >> 8 : (uint8_t)x->data[r % x->len]);
        }
        round_trip(&t, buf, len, "random bytes");
    }
    // Output is cut at cap, but the full count is returned.
    int32_t ids[4] = {-7, -7, -7, -7};
    int64_t n = bpe_encode(&t, "hello world again", 17, ids, 2);
    CHECK(n > 2 && ids[2] == -7 && ids[3] == -7, "cap not respected (n = %lld)", (long long)n);
    free(buf);
    bpe_free(&t);
    corpus_free(&c);
}

static void test_decode(void) {
    BpeTokenizer t;
    bpe_init_bytes(&t);
    int32_t ids[] = {BPE_BOS_ID, 3 + 'o', 3 + 'k', BPE_EOS_ID, BPE_PAD_ID};
    char out[8];
    CHECK(bpe_decode(&t, ids, 5, out, 8) == 2 && !memcmp(out, "ok", 2), "specials decode to nothing");
    CHECK(bpe_decode(&t, ids, 5, out, 1) == 2 && out[0] == 'o', "cap cuts, full length returned");
    int32_t bad[] = {3 + 'a', 259};
    capture_begin();
    int64_t n = bpe_decode(&t, bad, 2, out, 8);
    check_error(n == -1 ? LM_ERUNTIME : LM_OK, LM_ERUNTIME, capture_end(),
                "token id 259 at position 1 is outside the vocabulary [0, 259)");
    int32_t neg[] = {-5};
    capture_begin();
    n = bpe_decode(&t, neg, 1, out, 8);
    check_error(n == -1 ? LM_ERUNTIME : LM_OK, LM_ERUNTIME, capture_end(), "token id -5");
    size_t len = 99;
    CHECK(bpe_token_bytes(&t, 259, &len) == NULL && bpe_token_bytes(&t, -1, &len) == NULL,
          "out-of-range token bytes");
    CHECK(bpe_token_bytes(&t, BPE_BOS_ID, &len) != NULL && len == 0, "special has bytes");
    bpe_free(&t);
}

// ------------------------------------------------------------ HDF5

static hid_t file_create(const char *name, char *tmp, size_t tmp_size) {
    hid_t f;
    CHECK(h5_create_tmp(tmp_file(name), tmp, tmp_size, &f) == LM_OK, "create %s", name);
    return f;
}

static hid_t file_reopen(hid_t f, const char *tmp, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s", tmp_file(name));
    CHECK(h5_commit(f, tmp, path) == LM_OK, "commit %s", name);
    hid_t r;
    CHECK(h5_open(path, "test file", &r) == LM_OK, "open %s", name);
    return r;
}

static void test_h5_round_trip(void) {
    Corpus c;
    corpus_make(&c, 2000);
    BpeTokenizer t, u;
    const char *tags[] = {"<2de>", "<2zh>"};
    CHECK(bpe_train(c.texts, c.n, 3 + 2 + 256 + 300, tags, 2, &t) == LM_OK, "train");
    char tmp[1200];
    hid_t f = file_create("tok.h5", tmp, sizeof tmp);
    CHECK(bpe_save(f, "/tokenizer", &t) == LM_OK, "save");
    f = file_reopen(f, tmp, "tok.h5");
    CHECK(bpe_load(f, "/tokenizer", &u, "tok.h5") == LM_OK, "load");
    H5Fclose(f);
    CHECK(!strcmp(bpe_hash(&t), bpe_hash(&u)) && u.vocab_size == t.vocab_size, "hash/vocab");
    CHECK(u.n_special == 5 && !strcmp(u.specials[4], "<2zh>"), "specials");
    int same = 1;
    int32_t a[600], b[600];
    for (size_t i = 0; i < sizeof MULTILINGUAL / sizeof MULTILINGUAL[0] + 100; i++) {
        const char *s = i < 10 ? MULTILINGUAL[i] : c.texts[i].data;
        size_t len = i < 10 ? strlen(s) : c.texts[i].len;
        int64_t na = bpe_encode(&t, s, len, a, 600), nb = bpe_encode(&u, s, len, b, 600);
        same &= na == nb && !memcmp(a, b, (size_t)na * sizeof *a);
    }
    CHECK(same, "loaded tokenizer encodes differently");
    bpe_free(&t);
    bpe_free(&u);
    corpus_free(&c);
}

// A hand-made /tokenizer group: specials, merges [n][2], attributes.
static hid_t write_group(const char *name, const int32_t *merges, int64_t n_merges,
                         const char *hash, int64_t vocab) {
    char tmp[1200];
    hid_t f = file_create(name, tmp, sizeof tmp), g;
    h5_ensure_group(f, "tokenizer", &g);
    const char *sp[] = {"<pad>", "<bos>", "<eos>"};
    h5_write_strings(g, "specials", sp, 3);
    int64_t shape[2] = {n_merges, 2};
    h5_write(g, "merges", H5T_I32, merges, 2, shape);
    h5_attr_write_str(g, "type", "bpe");
    h5_attr_write_str(g, "hash", hash);
    const char *names[] = {"format_version", "vocab_size", "pad_id", "bos_id", "eos_id"};
    const int64_t vals[] = {1, vocab, 0, 1, 2};
    for (int i = 0; i < 5; i++) h5_attr_write_i64(g, names[i], vals[i]);
    H5Gclose(g);
    return file_reopen(f, tmp, name);
}

// A valid group with one dataset deleted; the file is returned open for writing.
static hid_t damaged_group(const char *name, const int32_t *merges, const char *hash,
                           const char *drop) {
    H5Fclose(write_group(name, merges, 2, hash, 261));
    hid_t f = H5Fopen(tmp_file(name), H5F_ACC_RDWR, H5P_DEFAULT);
    char path[64];
    snprintf(path, sizeof path, "tokenizer/%s", drop);
    H5Ldelete(f, path, H5P_DEFAULT);
    return f;
}

static hid_t reopen_rw(hid_t f, const char *name) {
    H5Fclose(f);
    CHECK(h5_open(tmp_file(name), name, &f) == LM_OK, "reopen %s", name);
    return f;
}

static void expect_load_error(hid_t f, const char *needle) {
    BpeTokenizer t;
    capture_begin();
    LmStatus st = bpe_load(f, "/tokenizer", &t, "bad.h5");
    check_error(st, LM_ERUNTIME, capture_end(), needle);
    CHECK(t.vocab_size == 0 && t.merges == NULL, "tokenizer not left empty on error");
    H5Fclose(f);
}

static void test_h5_corrupt(void) {
    BpeTokenizer ok;
    const int32_t good[] = {3 + 'a', 3 + 'b', 259, 3 + 'c'};
    const char *sp[] = {"<pad>", "<bos>", "<eos>"};
    CHECK(bpe_from_parts(&ok, sp, 3, good, 2, "test") == LM_OK, "valid parts");
    hid_t f = write_group("good.h5", good, 2, bpe_hash(&ok), 261);
    BpeTokenizer u;
    CHECK(bpe_load(f, "tokenizer", &u, "good.h5") == LM_OK, "hand-made group loads");
    H5Fclose(f);
    bpe_free(&u);
    const int32_t out_of_range[] = {3 + 'a', 3 + 'b', 261, 3 + 'c'};
    expect_load_error(write_group("r.h5", out_of_range, 2, bpe_hash(&ok), 261),
                      "bad.h5: /tokenizer/merges row 1: (261, 102) is out of range");
    const int32_t special[] = {1, 3 + 'b'};
    expect_load_error(write_group("s.h5", special, 1, bpe_hash(&ok), 260),
                      "/tokenizer/merges row 0: (1, 101) is out of range");
    const int32_t repeat[] = {3 + 'a', 3 + 'b', 3 + 'a', 3 + 'b'};
    expect_load_error(write_group("d.h5", repeat, 2, bpe_hash(&ok), 261), "repeats row 0");
    expect_load_error(write_group("h.h5", good, 2, "0123456789abcdef", 261),
                      "attribute hash = \"0123456789abcdef\" does not match");
    expect_load_error(write_group("v.h5", good, 2, bpe_hash(&ok), 300),
                      "attribute vocab_size = 300, but the tokenizer's contents give 261");
    int32_t flat[3] = {3 + 'a', 3 + 'b', 0};
    int64_t three = 3;
    hid_t h = damaged_group("shape.h5", good, bpe_hash(&ok), "merges");
    h5_write(h, "tokenizer/merges", H5T_I32, flat, 1, &three);
    expect_load_error(reopen_rw(h, "shape.h5"), "dataset /tokenizer/merges has 1 dimension, expected 2");
    h = damaged_group("nospec.h5", good, bpe_hash(&ok), "specials");
    expect_load_error(reopen_rw(h, "nospec.h5"), "dataset /tokenizer/specials is missing");
    bpe_free(&ok);
}

// The interim byte tokenizer (of the removed mkcorpus tool) loads as the merge-free layout.
static hid_t write_bytes_group(const char *name, int64_t vocab) {
    char tmp[1200];
    hid_t f = file_create(name, tmp, sizeof tmp), g;
    h5_ensure_group(f, "tokenizer", &g);
    h5_attr_write_str(g, "type", "bytes");
    const char *names[] = {"vocab_size", "pad_id", "bos_id", "eos_id", "byte_offset"};
    const int64_t vals[] = {vocab, 0, 1, 2, 3};
    for (int i = 0; i < 5; i++) h5_attr_write_i64(g, names[i], vals[i]);
    H5Gclose(g);
    return file_reopen(f, tmp, name);
}

static void test_h5_bytes_type(void) {
    BpeTokenizer t, ref;
    hid_t f = write_bytes_group("bytes.h5", 259);
    CHECK(bpe_load(f, "/tokenizer", &t, "bytes.h5") == LM_OK, "bytes group loads");
    H5Fclose(f);
    bpe_init_bytes(&ref);
    CHECK(t.vocab_size == 259 && t.n_merges == 0 && t.n_special == 3, "bytes layout");
    CHECK(!strcmp(bpe_hash(&t), bpe_hash(&ref)), "hash differs from bpe_init_bytes");
    int32_t ids[4];
    CHECK(bpe_encode(&t, "h\xc3\xa9", 3, ids, 4) == 3 && ids[0] == 3 + 'h' && ids[1] == 3 + 0xC3 &&
              ids[2] == 3 + 0xA9, "byte b is id 3 + b");
    bpe_free(&t);
    bpe_free(&ref);
    expect_load_error(write_bytes_group("bytes_bad.h5", 300), "vocab_size = 300");
    char tmp[1200];
    hid_t g;
    f = file_create("none.h5", tmp, sizeof tmp);
    h5_ensure_group(f, "tokenizer", &g);
    h5_attr_write_str(g, "type", "none");
    H5Gclose(g);
    expect_load_error(file_reopen(f, tmp, "none.h5"), "tokenizer type \"none\" is not supported");
}

// ------------------------------------------------------------ throughput

// Printed, never asserted. BPE_BENCH_SENTENCES overrides the corpus size.
static void test_throughput(void) {
    const char *env = getenv("BPE_BENCH_SENTENCES");
    int64_t n = env ? atoll(env) : 300000;
    Corpus c;
    corpus_make(&c, n);
    BpeTokenizer t;
    double t0 = timer_now();
    train_ok(c.texts, c.n, 8000, &t);
    double t1 = timer_now();
    int32_t *ids = xmalloc(c.bytes * sizeof *ids);
    int64_t n_ids = 0;
    for (int64_t i = 0; i < c.n; i++)
        n_ids += bpe_encode(&t, c.texts[i].data, c.texts[i].len, ids + n_ids, (int64_t)c.bytes);
    double t2 = timer_now();
    char *back = xmalloc(c.bytes);
    int64_t n_back = bpe_decode(&t, ids, n_ids, back, (int64_t)c.bytes);
    double t3 = timer_now();
    CHECK(n_back == (int64_t)c.bytes, "decoded %lld of %zu bytes", (long long)n_back, c.bytes);
    double mb = (double)c.bytes / 1e6;
    printf("  corpus: %lld sentences, %.1f MB, 6 scripts\n", (long long)n, mb);
    printf("  train : vocab %d (%d merges) in %.2f s\n", t.vocab_size, t.n_merges, t1 - t0);
    printf("  encode: %.2f s = %.1f MB/s, %.0f sentences/s, %.2f bytes/token\n", t2 - t1,
           mb / (t2 - t1), (double)n / (t2 - t1), (double)c.bytes / (double)n_ids);
    printf("  decode: %.3f s = %.0f MB/s\n", t3 - t2, mb / (t3 - t2));
    free(back);
    free(ids);
    bpe_free(&t);
    corpus_free(&c);
}

int main(void) {
    h5_init();
    RUN(test_pretok_cases);
    RUN(test_pretok_partition);
    RUN(test_classic_example);
    RUN(test_no_merge_across_chunks);
    RUN(test_train_matches_naive);
    RUN(test_determinism);
    RUN(test_train_arguments);
    RUN(test_encode_matches_naive);
    RUN(test_round_trip_multilingual);
    RUN(test_round_trip_adversarial);
    RUN(test_decode);
    RUN(test_h5_round_trip);
    RUN(test_h5_corrupt);
    RUN(test_h5_bytes_type);
    RUN(test_throughput);
    return harness_finish();
}
