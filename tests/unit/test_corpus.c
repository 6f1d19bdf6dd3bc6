// Corpus files: mkcorpus output read back through corpus.h, the hash split,
// and a clear error (never a crash) for every kind of bad file.
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "io/corpus.h"
#include "io/h5.h"
#include "util/alloc.h"

#define MKCORPUS LM_BINARY_DIR "/mkcorpus"

// ------------------------------------------------------------ helpers

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

static const char *read_text(const char *path) {
    static char buf[16384];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = '\0';
    return buf;
}


// A whole monolingual split read through the streaming reader.
typedef struct {
    int64_t n;
    int32_t *tokens;
    int64_t *offsets;
} Mono;

static void mono_free(Mono *m) {
    free(m->tokens), free(m->offsets);
    memset(m, 0, sizeof *m);
}

static LmStatus read_mono(const char *path, const char *lang, const char *split, int vocab,
                          Mono *m) {
    CorpusReader r;
    memset(m, 0, sizeof *m);
    LmStatus st = corpus_reader_open(&r, path, lang, split, vocab);
    if (st != LM_OK) return st;
    m->n = r.n;
    m->offsets = xmalloc(sizeof(int64_t) * (size_t)(r.n + 1));
    memcpy(m->offsets, r.tgt_offsets, sizeof(int64_t) * (size_t)(r.n + 1));
    m->tokens = xmalloc(sizeof(int32_t) * (size_t)(r.tgt_offsets[r.n] + 1));
    st = corpus_reader_read(&r, 0, r.n, NULL, m->tokens);
    corpus_reader_close(&r);
    return st;
}

// read_mono must fail with LM_ERUNTIME naming needle; returns stderr.
static const char *expect_mono_error(const char *path, const char *lang, int vocab,
                                     const char *needle) {
    Mono s;
    capture_begin();
    LmStatus st = read_mono(path, lang, "train", vocab, &s);
    const char *err = capture_end();
    check_error(st, LM_ERUNTIME, err, needle);
    CHECK(s.tokens == NULL && s.offsets == NULL, "stream not freed on error");
    return err;
}

// Runs mkcorpus with `args`; returns its exit status, stderr in *err.
static int run_mkcorpus(const char *args, const char **err) {
    char cmd[4096];
    const char *errfile = tmp_file("mk_stderr.txt");
    snprintf(cmd, sizeof cmd, "%s %s >%s/mk_stdout.txt 2>%s", MKCORPUS, args, tmp_dir(), errfile);
    int rc = system(cmd);
    *err = read_text(errfile);
    if (getenv("SHOW_ERRORS")) printf("--- mkcorpus %s -> %d:\n%s", args, WEXITSTATUS(rc), *err);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// The split rule of docs/formats.md, restated independently of mkcorpus.
static int expect_dev(const char *text, double dev_frac) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) h = (h ^ *p) * 0x100000001b3ULL;
    return (double)(h >> 11) / 9007199254740992.0 < dev_frac;
}

// A minimal valid corpus holding /mono/en/train with the given arrays.
static const char *fake_corpus(const char *name, const int32_t *tok, int64_t ntok,
                               const int64_t *off, int64_t noff) {
    static char path[1024];
    char tmp[1100];
    hid_t f, g;
    snprintf(path, sizeof path, "%s", tmp_file(name));
    CHECK(h5_create_tmp(path, tmp, sizeof tmp, &f) == LM_OK, "create %s", path);
    h5_attr_write_str(f, "format", CORPUS_FORMAT);
    h5_attr_write_i64(f, "format_version", CORPUS_VERSION);
    h5_ensure_group(f, "tokenizer", &g);
    const char *names[] = {"vocab_size", "bos_id", "eos_id", "pad_id"};
    const int64_t vals[] = {259, 1, 2, 0};
    for (int i = 0; i < 4; i++) h5_attr_write_i64(g, names[i], vals[i]);
    H5Gclose(g);
    h5_write(f, "mono/en/train/tokens", H5T_I32, tok, 1, &ntok);
    h5_write(f, "mono/en/train/offsets", H5T_I64, off, 1, &noff);
    CHECK(h5_commit(f, tmp, path) == LM_OK, "commit %s", path);
    return path;
}

static const int32_t TOK[] = {10, 11, 12, 13, 14, 15};
static const int64_t OFF[] = {0, 2, 6};

// ------------------------------------------------------------ mkcorpus

#define INPUT_A "Hello world\n  padded line\t \n\nHello world\nbad \xff utf8\nZ\xc3\xbcrich ist sch\xc3\xb6n\n"
#define INPUT_B "crlf line\r\nHello world\nthe quick brown fox\n"
static const char *const UNIQUE[] = {"Hello world", "padded line", "Z\xc3\xbcrich ist sch\xc3\xb6n",
                                     "crlf line", "the quick brown fox"};
#define N_UNIQUE 5

static void write_inputs(void) {
    char longline[1200];
    memset(longline, 'x', 1001);
    strcpy(longline + 1001, "\n");
    char a[2048];
    snprintf(a, sizeof a, "%s%s", INPUT_A, longline);
    write_text(tmp_file("a.txt"), a);
    write_text(tmp_file("b.txt"), INPUT_B);
}

// Every stored sentence: tokens are its bytes + 3, split as the hash says.
static int check_split(const char *path, const char *split, double dev_frac, char ***texts) {
    Mono s;
    int64_t n = 0;
    CHECK(read_mono(path, "en", split, 259, &s) == LM_OK, "read %s", split);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    char name[64];
    snprintf(name, sizeof name, "/mono/en/%s/text", split);
    CHECK(h5_read_strings(f, name, texts, &n, "test") == LM_OK && n == s.n, "text of %s", split);
    H5Fclose(f);
    for (int64_t i = 0; i < s.n && i < n; i++) {
        const char *t = (*texts)[i];
        int ok = s.offsets[i + 1] - s.offsets[i] == (int64_t)strlen(t);
        for (int64_t k = s.offsets[i]; ok && k < s.offsets[i + 1]; k++)
            ok = s.tokens[k] == 3 + (unsigned char)t[k - s.offsets[i]];
        CHECK(ok, "tokens of \"%s\" are not its bytes + 3", t);
        CHECK(expect_dev(t, dev_frac) == !strcmp(split, "dev"), "\"%s\" in wrong split", t);
    }
    mono_free(&s);
    return (int)n;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_mkcorpus_round_trip(void) {
    const char *err, *out = tmp_file("c.h5");
    write_inputs();
    char args[3000];
    snprintf(args, sizeof args, "%s --lang en --dev-frac 0.4 %s/a.txt %s/b.txt", out, tmp_dir(),
             tmp_dir());
    CHECK(run_mkcorpus(args, &err) == 0, "mkcorpus failed (is it built?): %s", err);
    char **train, **dev;
    int nt = check_split(out, "train", 0.4, &train), nd = check_split(out, "dev", 0.4, &dev);
    CHECK(nt + nd == N_UNIQUE, "%d + %d sentences, expected %d unique", nt, nd, N_UNIQUE);
    for (int i = 0; i < N_UNIQUE; i++) {
        int found = 0;
        for (int j = 0; j < nt; j++) found += !strcmp(train[j], UNIQUE[i]);
        for (int j = 0; j < nd; j++) found += !strcmp(dev[j], UNIQUE[i]);
        CHECK(found == 1, "\"%s\" stored %d times", UNIQUE[i], found);
    }
    free(train);
    free(dev);
    TokenizerInfo ti;
    CHECK(corpus_read_tokenizer_info(out, &ti) == LM_OK, "tokenizer info");
    CHECK(ti.vocab_size == 259 && ti.bos_id == 1 && ti.eos_id == 2 && ti.pad_id == 0,
          "tokenizer %lld %lld %lld %lld", (long long)ti.vocab_size, (long long)ti.bos_id,
          (long long)ti.eos_id, (long long)ti.pad_id);
    const char *report = read_text(tmp_file("mk_stdout.txt"));
    CHECK(strstr(report, "train: ") && strstr(report, "dev: ") &&
              strstr(report, "2 duplicate, 1 longer than 1000 bytes, 1 not UTF-8"),
          "report: %s", report);
}

// The same sentences in another file order land in the same splits.
static void test_split_independent_of_order(void) {
    const char *err;
    char args[3000], **t1, **t2;
    write_inputs();
    snprintf(args, sizeof args, "%s/ab.h5 --lang en --dev-frac 0.5 %s/a.txt %s/b.txt", tmp_dir(),
             tmp_dir(), tmp_dir());
    CHECK(run_mkcorpus(args, &err) == 0, "mkcorpus a b: %s", err);
    snprintf(args, sizeof args, "%s/ba.h5 --dev-frac 0.5 %s/b.txt --lang en %s/a.txt", tmp_dir(),
             tmp_dir(), tmp_dir());
    CHECK(run_mkcorpus(args, &err) == 0, "mkcorpus b a: %s", err);
    int n1 = check_split(tmp_file("ab.h5"), "train", 0.5, &t1);
    int n2 = check_split(tmp_file("ba.h5"), "train", 0.5, &t2);
    CHECK(n1 == n2, "train sizes %d vs %d", n1, n2);
    qsort(t1, (size_t)n1, sizeof *t1, cmp_str);
    qsort(t2, (size_t)n2, sizeof *t2, cmp_str);
    for (int i = 0; i < n1 && i < n2; i++) CHECK(!strcmp(t1[i], t2[i]), "train differs at %d", i);
    free(t1);
    free(t2);
}

static void test_mkcorpus_errors(void) {
    const char *err;
    char args[3000];
    write_text(tmp_file("empty.txt"), "\n   \n");
    snprintf(args, sizeof args, "%s/o.h5 --lang en %s/nope.txt", tmp_dir(), tmp_dir());
    CHECK(run_mkcorpus(args, &err) == 1 && strstr(err, "nope.txt"), "missing input: %s", err);
    snprintf(args, sizeof args, "%s/o.h5 --lang en %s/empty.txt", tmp_dir(), tmp_dir());
    CHECK(run_mkcorpus(args, &err) == 1 && strstr(err, "empty.txt"), "empty input: %s", err);
    snprintf(args, sizeof args, "/nonexistent-dir/o.h5 --lang en %s/b.txt", tmp_dir());
    CHECK(run_mkcorpus(args, &err) == 1 && strstr(err, "/nonexistent-dir/o.h5"), "bad out: %s", err);
    const char *usage_cases[] = {"", "o.h5 a.txt", "o.h5 --lang en", "o.h5 --lang e/n a.txt",
                                 "o.h5 --lang en --dev-frac 1.5 a.txt", "o.h5 --lang",
                                 "o.h5 --bogus a.txt"};
    for (size_t i = 0; i < sizeof usage_cases / sizeof *usage_cases; i++)
        CHECK(run_mkcorpus(usage_cases[i], &err) == 2 && strstr(err, "usage: mkcorpus"),
              "usage case \"%s\": %s", usage_cases[i], err);
}

// ------------------------------------------------------------ bad files

static void test_good_fake_and_vocab(void) {
    Mono s;
    const char *path = fake_corpus("fake.h5", TOK, 6, OFF, 3);
    CHECK(read_mono(path, "en", "train", 259, &s) == LM_OK, "read fake");
    CHECK(s.n == 2 && s.offsets[2] == 6 && s.tokens[5] == 15, "fake content");
    mono_free(&s);
    const char *err = expect_mono_error(path, "en", 14,
                                        "/mono/en/train/tokens[4] = 14 is out of range for vocab_size 14");
    CHECK(strstr(err, "fake.h5") && strstr(err, "HINT"), "file or hint missing: %s", err);
    CHECK(read_mono(path, "en", "train", 0, &s) == LM_OK, "vocab 0 skips the check");
    mono_free(&s);
    const int32_t neg[] = {10, -1, 12, 13, 14, 15};
    expect_mono_error(fake_corpus("neg.h5", neg, 6, OFF, 3), "en", 259, "tokens[1] = -1");
}

static void test_bad_offsets(void) {
    const int64_t start[] = {1, 2, 6}, down[] = {0, 4, 3, 6}, end[] = {0, 2, 5};
    expect_mono_error(fake_corpus("o1.h5", TOK, 6, start, 3), "en", 259,
                      "/mono/en/train/offsets[0] = 1, expected 0");
    expect_mono_error(fake_corpus("o2.h5", TOK, 6, down, 4), "en", 259,
                      "/mono/en/train/offsets[2] = 3 is less than the entry before it (4)");
    expect_mono_error(fake_corpus("o3.h5", TOK, 6, end, 3), "en", 259,
                      "/mono/en/train/offsets[2] = 5, but the tokens dataset has 6 entries");
    expect_mono_error(fake_corpus("o4.h5", TOK, 6, end, 0), "en", 259, "at least one entry");
}

static void test_missing_stream(void) {
    const char *path = fake_corpus("streams.h5", TOK, 6, OFF, 3);
    const char *err = expect_mono_error(path, "fr", 259, "no monolingual stream 'fr' with split 'train'");
    CHECK(strstr(err, "the corpus has: mono/en/train"), "no listing: %s", err);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(f, "/mono", H5P_DEFAULT);
    H5Fclose(f);
    expect_mono_error(path, "en", 259, "no streams at all");
}

static void test_bad_files(void) {
    const char *path;
    expect_mono_error(tmp_file("absent.h5"), "en", 259, "no such file");
    write_text(tmp_file("zero.h5"), "");
    expect_mono_error(tmp_file("zero.h5"), "en", 259, "empty");
    write_text(tmp_file("plain.h5"), "just text, long enough to not be HDF5 at all\n");
    expect_mono_error(tmp_file("plain.h5"), "en", 259, "not an HDF5 file");
    path = fake_corpus("trunc_src.h5", TOK, 6, OFF, 3);
    FILE *in = fopen(path, "rb");
    char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, in);
    fclose(in);
    FILE *out = fopen(tmp_file("trunc.h5"), "wb");
    fwrite(buf, 1, n / 2, out);
    fclose(out);
    expect_mono_error(tmp_file("trunc.h5"), "en", 259, "truncated");
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    h5_attr_write_str(f, "format", "landermt.checkpoint");
    H5Fclose(f);
    expect_mono_error(path, "en", 259, "expected \"landermt.corpus\"");
    path = fake_corpus("floattok.h5", TOK, 6, OFF, 3);
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(f, "/mono/en/train/tokens", H5P_DEFAULT);
    float ft[6] = {0};
    h5_write(f, "/mono/en/train/tokens", H5T_F32, ft, 1, (int64_t[]){6});
    H5Fclose(f);
    expect_mono_error(path, "en", 259, "/mono/en/train/tokens holds floating-point data");
}

static void test_tokenizer_info_errors(void) {
    TokenizerInfo ti;
    const char *path = fake_corpus("tok.h5", TOK, 6, OFF, 3);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    H5Adelete_by_name(f, "tokenizer", "bos_id", H5P_DEFAULT);
    H5Fclose(f);
    capture_begin();
    LmStatus st = corpus_read_tokenizer_info(path, &ti);
    check_error(st, LM_ERUNTIME, capture_end(), "attribute bos_id of /tokenizer is missing");
    path = fake_corpus("tok2.h5", TOK, 6, OFF, 3);
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t g = H5Gopen2(f, "tokenizer", H5P_DEFAULT);
    h5_attr_write_i64(g, "eos_id", 259);
    H5Gclose(g);
    H5Fclose(f);
    capture_begin();
    st = corpus_read_tokenizer_info(path, &ti);
    check_error(st, LM_ERUNTIME, capture_end(), "eos_id = 259 is out of range");
}

// ------------------------------------------------------------ h5 helpers

static void test_h5_helpers(void) {
    const char *path = fake_corpus("helpers.h5", TOK, 6, OFF, 3);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    int32_t part[3] = {0};
    CHECK(h5_read_range(f, "/mono/en/train/tokens", H5T_I32, part, 2, 3, "t") == LM_OK &&
              part[0] == 12 && part[2] == 14, "read_range");
    capture_begin();
    LmStatus st = h5_read_range(f, "/mono/en/train/tokens", H5T_I32, part, 4, 3, "corpus x");
    check_error(st, LM_ERUNTIME, capture_end(), "range [4, 7) is outside");
    const char *strs[] = {"", "caf\xc3\xa9", "a longer sentence"};
    CHECK(h5_write_strings(f, "/extra/s", strs, 3) == LM_OK, "write strings");
    char **back, **names;
    int64_t n;
    int nn;
    CHECK(h5_read_strings(f, "/extra/s", &back, &n, "t") == LM_OK && n == 3, "read strings");
    for (int i = 0; i < 3 && n == 3; i++) CHECK(!strcmp(back[i], strs[i]), "string %d", i);
    free(back);
    CHECK(h5_list(f, "/mono/en/train", &names, &nn, "t") == LM_OK && nn == 2 &&
              !strcmp(names[0], "offsets") && !strcmp(names[1], "tokens"), "list");
    free(names);
    CHECK(h5_exists(f, "/mono/en/train/tokens") && !h5_exists(f, "/mono/xx/train/tokens") &&
              !h5_exists(f, "/mono/en/train/tokens/deeper"), "exists");
    H5Fclose(f);
}

int main(void) {
    h5_init();
    RUN(test_mkcorpus_round_trip);
    RUN(test_split_independent_of_order);
    RUN(test_mkcorpus_errors);
    RUN(test_good_fake_and_vocab);
    RUN(test_bad_offsets);
    RUN(test_missing_stream);
    RUN(test_bad_files);
    RUN(test_tokenizer_info_errors);
    RUN(test_h5_helpers);
    // Error paths must close what they open: no HDF5 object may stay open.
    ssize_t open_ids = H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL);
    CHECK(open_ids == 0, "%zd HDF5 objects left open", open_ids);
    return harness_finish();
}
