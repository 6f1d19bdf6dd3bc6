// Training streams: the global order is a reproducible permutation per
// epoch, a cursor resumes it exactly, directions read swapped bitext,
// examples are assembled with the right loss mask, overlong examples are
// skipped or truncated, and (run under mpirun, see tests/cli/stream_ranks.sh)
// rank slices are disjoint and cover every global micro-batch.
#include <stdlib.h>
#include <string.h>

#include "data/stream.h"
#include "harness.h"
#include "io/corpus_write.h"
#include "io/h5.h"
#include "mpi/comm.h"
#include "tokenizer/bpe.h"
#include "util/alloc.h"

enum { N = 1000, VOCAB = 259 };

// Sentence i of side de: [10 + i % 200, (i / 200) + 3] plus i % 3 more
// tokens; the en side: [100, 10 + i % 200, (i / 200) + 3]. The first two
// source tokens identify the sentence.
static void make_side(int side, int64_t *off, int32_t *tok) {
    off[0] = 0;
    for (int i = 0; i < N; i++) {
        int64_t k = off[i];
        if (side) tok[k++] = 100;
        tok[k++] = 10 + i % 200;
        tok[k++] = 3 + i / 200;
        for (int j = 0; !side && j < i % 3; j++) tok[k++] = 250;
        off[i + 1] = k;
    }
}

static const char *make_corpus(void) {
    static char path[1024];
    snprintf(path, sizeof path, "%s", tmp_file("bitext.h5"));
    int64_t *off_de = xmalloc(sizeof(int64_t) * (N + 1)), *off_en = xmalloc(sizeof(int64_t) * (N + 1));
    int32_t *de = xmalloc(sizeof(int32_t) * N * 5), *en = xmalloc(sizeof(int32_t) * N * 3);
    make_side(0, off_de, de);
    make_side(1, off_en, en);
    CorpusWriter w;
    BpeTokenizer tok;
    bpe_init_bytes(&tok);
    CHECK(corpus_writer_create(&w, path) == LM_OK, "create");
    CHECK(bpe_save(w.file, "tokenizer", &tok) == LM_OK, "tokenizer");
    CorpusSide s = {N, de, off_de, NULL}, t = {N, en, off_en, NULL};
    CHECK(corpus_write_bitext(&w, "de", "en", "train", &s, &t) == LM_OK, "bitext");
    CHECK(corpus_write_mono(&w, "en", "train", &t) == LM_OK, "mono");
    CorpusSide empty = {0, de, off_de, NULL};
    CHECK(corpus_write_mono(&w, "fr", "train", &empty) == LM_OK, "empty mono");
    CHECK(corpus_writer_commit(&w) == LM_OK, "commit");
    bpe_free(&tok);
    free(off_de), free(off_en), free(de), free(en);
    return path;
}

// Rank 0 writes the corpus, the others wait for it (tmp_dir is per process,
// so the path is shared through a broadcast).
static const char *make_corpus_once(void) {
    static char path[1024];
    if (comm_rank() == 0) snprintf(path, sizeof path, "%s", make_corpus());
    comm_bcast(path, sizeof path, 0);
    return path;
}

static const int32_t PREFIX[] = {1, 40, 41}, MIDDLE[] = {42};
static const StreamPrompt PROMPT = {PREFIX, MIDDLE, 3, 1, 2};

// The sentence id of row r of a de->en batch (from its source tokens).
static int row_id(const Batch *b, int r) {
    const int *row = b->tokens + (size_t)r * b->t;
    return (row[3] - 10) + 200 * (row[4] - 3);
}

static void test_epoch_is_permutation(void) {
    Stream s;
    CHECK(stream_open(&s, make_corpus(), "de-en", "train", VOCAB, &PROMPT, 7, 1, 0) == LM_OK, "open");
    BatchBuf bb;
    batchbuf_init(&bb, 100, 16);
    int seen[N] = {0}, in_order = 0;
    for (int k = 0; k < N / 100; k++) {
        CHECK(stream_next(&s, 100, 16, 0, 1, &bb) == LM_OK, "next");
        for (int r = 0; r < bb.batch.b; r++) {
            int id = row_id(&bb.batch, r);
            if (id >= 0 && id < N) seen[id]++;
            in_order += id == k * 100 + r;
        }
    }
    int once = 0;
    for (int i = 0; i < N; i++) once += seen[i] == 1;
    CHECK(once == N, "%d of %d sentences seen exactly once in one epoch", once, N);
    CHECK(in_order < N / 10, "order looks unshuffled (%d in place)", in_order);
    CHECK(s.epoch == 0 && s.cursor == N, "epoch %lld cursor %lld", (long long)s.epoch, (long long)s.cursor);
    CHECK(stream_next(&s, 100, 16, 0, 1, &bb) == LM_OK && s.epoch == 1 && s.cursor == 100, "next epoch");
    batchbuf_free(&bb);
    stream_close(&s);
}

// Records the ids of the next k batches.
static void ids_of(Stream *s, int k, int g, int *ids) {
    BatchBuf bb;
    batchbuf_init(&bb, g, 16);
    for (int i = 0; i < k; i++) {
        stream_next(s, g, 16, 0, 1, &bb);
        for (int r = 0; r < g; r++) ids[i * g + r] = r < bb.batch.b ? row_id(&bb.batch, r) : -1;
    }
    batchbuf_free(&bb);
}

static void test_cursor_resume_and_seeds(void) {
    const char *path = make_corpus();
    Stream a, b, c;
    stream_open(&a, path, "de-en", "train", VOCAB, &PROMPT, 7, 1, 0);
    stream_open(&b, path, "de-en", "train", VOCAB, &PROMPT, 7, 1, 0);
    stream_open(&c, path, "de-en", "train", VOCAB, &PROMPT, 8, 1, 0);
    int ra[30 * 64], rb[30 * 64], rc[64];
    ids_of(&a, 30, 64, ra);  // crosses into epoch 1
    ids_of(&b, 12, 64, rb);
    int64_t epoch = b.epoch, cursor = b.cursor;
    stream_close(&b);
    stream_open(&b, path, "de-en", "train", VOCAB, &PROMPT, 7, 1, 0);
    b.epoch = epoch, b.cursor = cursor;
    ids_of(&b, 18, 64, rb + 12 * 64);
    CHECK(!memcmp(ra, rb, sizeof ra), "resumed order differs from the uninterrupted one");
    ids_of(&c, 1, 64, rc);
    CHECK(memcmp(ra, rc, sizeof rc), "another seed gave the same order");
    CHECK(memcmp(ra, ra + 15 * 64 + 40, 64 * sizeof(int)), "epoch 1 repeats epoch 0");
    stream_close(&a), stream_close(&b), stream_close(&c);
}

// de-en row: [1 40 41] de [42] en eos; the loss covers en and eos only.
static void test_example_layout(void) {
    Stream s;
    stream_open(&s, make_corpus(), "de-en", "train", VOCAB, &PROMPT, 7, 0, 0);
    BatchBuf bb;
    batchbuf_init(&bb, 4, 32);
    stream_next(&s, 4, 32, 0, 1, &bb);
    const Batch *b = &bb.batch;
    // sentence 2: de = [12, 3, 250, 250], en = [100, 12, 3]
    const int want_tok[] = {1, 40, 41, 12, 3, 250, 250, 42, 100, 12, 3};
    const int want_tgt[] = {40, 41, 12, 3, 250, 250, 42, 100, 12, 3, 2};
    const float want_w[] = {0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1};
    CHECK(b->b == 4 && b->t == 11, "batch %d x %d, expected 4 x 11 (longest row)", b->b, b->t);
    int r = 2 * b->t, ok = 1;
    for (int j = 0; j < 11; j++)
        ok &= b->tokens[r + j] == want_tok[j] && b->targets[r + j] == want_tgt[j] &&
              b->weight[r + j] == want_w[j];
    CHECK(ok, "row 2 of the natural order is not [prefix] de [middle] en eos with the target mask");
    CHECK(b->weight[0 + 8] == 1 && b->weight[0 + 9] == 0, "padding of the shorter row 0 has weight");
    stream_close(&s);
    // en-de reads the same bitext swapped; a language reads /mono.
    stream_open(&s, make_corpus(), "en-de", "train", VOCAB, &PROMPT, 7, 0, 0);
    stream_next(&s, 4, 32, 0, 1, &bb);
    CHECK(bb.batch.tokens[3] == 100 && bb.batch.tokens[4] == 10, "en-de source is not the en side");
    stream_close(&s);
    const StreamPrompt mono = {PREFIX, MIDDLE, 1, 0, 2};
    stream_open(&s, make_corpus(), "en", "train", VOCAB, &mono, 7, 0, 0);
    stream_next(&s, 1, 32, 0, 1, &bb);
    CHECK(bb.batch.t == 4 && bb.batch.tokens[0] == 1 && bb.batch.targets[3] == 2 &&
              bb.batch.weight[0] == 1, "mono row is not [bos] sentence -> sentence eos, all in loss");
    stream_close(&s);
    batchbuf_free(&bb);
}

static void test_overlong(void) {
    Stream s;
    BatchBuf bb;
    batchbuf_init(&bb, 3, 9);
    stream_open(&s, make_corpus(), "de-en", "train", VOCAB, &PROMPT, 7, 0, 0);
    stream_next(&s, 3, 9, 0, 1, &bb);  // lengths 9, 10, 11 positions: two too long
    CHECK(s.n_overlong == 2 && bb.batch.t == 9, "skip: %lld overlong, t %d", (long long)s.n_overlong, bb.batch.t);
    float w = 0;
    for (int j = 0; j < 9; j++) w += bb.batch.weight[9 + j] + bb.batch.weight[18 + j];
    CHECK(w == 0, "skipped rows carry loss weight");
    stream_close(&s);
    stream_open(&s, make_corpus(), "de-en", "train", VOCAB, &PROMPT, 7, 0, 1);
    stream_next(&s, 3, 9, 0, 1, &bb);
    CHECK(s.n_overlong == 2 && bb.batch.weight[2 * 9 + 8] == 1 && bb.batch.targets[2 * 9 + 8] == 12,
          "truncate keeps the start of the target");
    stream_close(&s);
    batchbuf_free(&bb);
}

static void test_errors(void) {
    Stream s;
    const char *path = make_corpus();
    capture_begin();
    LmStatus st = stream_open(&s, path, "fr", "train", VOCAB, &PROMPT, 7, 0, 0);
    check_error(st, LM_ERUNTIME, capture_end(), "is empty");
    capture_begin();
    st = stream_open(&s, path, "de-fr", "train", VOCAB, &PROMPT, 7, 0, 0);
    const char *err = capture_end();
    check_error(st, LM_ERUNTIME, err, "no bitext stream 'de-fr'");
    CHECK(strstr(err, "bitext/de-en/train"), "does not list what exists: %s", err);
    capture_begin();
    st = stream_open(&s, path, "de-en", "dev", VOCAB, &PROMPT, 7, 0, 0);
    check_error(st, LM_ERUNTIME, capture_end(), "split 'dev'");
    capture_begin();
    st = stream_open(&s, path, "de-en", "train", 200, &PROMPT, 7, 0, 0);
    check_error(st, LM_ERUNTIME, capture_end(), "out of range for vocab_size 200");
}

// Under mpirun: every global micro-batch (over 130 batches, crossing an
// epoch) is split into disjoint rank slices of the agreed sizes whose union
// is exactly the batch a single process takes.
static int ranks_check(void) {
    Stream s, ref;
    const char *path = make_corpus_once();
    stream_open(&s, path, "de-en", "train", VOCAB, &PROMPT, 7, 1, 0);
    stream_open(&ref, path, "de-en", "train", VOCAB, &PROMPT, 7, 1, 0);
    int g = 10, R = comm_size(), r = comm_rank();
    BatchBuf bb, all;
    batchbuf_init(&bb, g, 16);
    batchbuf_init(&all, g, 16);
    for (int k = 0; k < 130; k++) {
        double count[N] = {0};
        stream_next(&s, g, 16, r, R, &bb);
        stream_next(&ref, g, 16, 0, 1, &all);
        CHECK(bb.batch.b == g * (r + 1) / R - g * r / R, "slice size %d", bb.batch.b);
        for (int i = 0; i < bb.batch.b; i++) count[row_id(&bb.batch, i)] += 1;
        comm_allreduce_f64(count, N);
        int bad = 0;
        for (int i = 0; i < all.batch.b; i++) bad += count[row_id(&all.batch, i)] != 1;
        double total = 0;
        for (int i = 0; i < N; i++) total += count[i];
        CHECK(bad == 0 && total == g, "batch %d: %d rows wrong, %g rows over %d ranks", k, bad, total, R);
    }
    batchbuf_free(&bb), batchbuf_free(&all);
    stream_close(&s), stream_close(&ref);
    return harness_finish();
}

int main(int argc, char **argv) {
    comm_init(&argc, &argv);
    h5_init();
    if (argc > 1 && !strcmp(argv[1], "--ranks")) {
        int rc = ranks_check();
        comm_finalize();
        return rc;
    }
    RUN(test_epoch_is_permutation);
    RUN(test_cursor_resume_and_seeds);
    RUN(test_example_layout);
    RUN(test_overlong);
    RUN(test_errors);
    int rc = harness_finish();
    comm_finalize();
    return rc;
}
