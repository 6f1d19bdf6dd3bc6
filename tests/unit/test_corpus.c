// Corpus files read through corpus.h: a clear error (never a crash) for
// every kind of bad file. (Corpora written by `landermt prep` are checked in
// tests/cli/prep.sh.)
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "harness.h"
#include "io/corpus.h"
#include "io/h5.h"
#include "util/alloc.h"

// ------------------------------------------------------------ helpers

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
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
    RUN(test_good_fake_and_vocab);
    RUN(test_bad_offsets);
    RUN(test_missing_stream);
    RUN(test_bad_files);
    RUN(test_tokenizer_info_errors);
    RUN(test_h5_helpers);
    check_hdf5_closed();
    return harness_finish();
}
