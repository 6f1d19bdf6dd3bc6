// Corpus files (io/corpus.c, the /tokenizer group): every stream and split
// the seeds have, its first sentences, its text, and the tokenizer.
#include <stdlib.h>

#include "fuzz.h"
#include "io/corpus.h"
#include "tokenizer/tokenizer.h"
#include "util/alloc.h"

static const char *const STREAMS[] = {"en-de", "de-en", "en", "de"};
static const char *const SPLITS[] = {"train", "dev"};

static LmStatus read_some(const CorpusReader *r) {
    int64_t k = r->n < 4 ? r->n : 4, nt = r->tgt_offsets[k];
    int64_t ns = r->src_offsets ? r->src_offsets[k] : 0;
    int32_t *src = xmalloc(sizeof(int32_t) * (size_t)(ns + 1));
    int32_t *tgt = xmalloc(sizeof(int32_t) * (size_t)(nt + 1));
    LmStatus st = corpus_reader_read(r, 0, k, src, tgt);
    free(src), free(tgt);
    char **text;
    if (st == LM_OK && corpus_reader_text(r, 0, &text) == LM_OK) free(text);
    return st;
}

static void tokenizer_round_trip(const char *path) {
    Tokenizer t;
    tokenizer_init(&t);
    fuzz_begin();
    LmStatus st = tokenizer_open(path, "corpus", &t);
    if (st == LM_OK) {
        TokIds ids = {0};
        static const char text[] = "Hello, world! Grüße 你好";
        if (tokenizer_encode(&t, text, sizeof text - 1, TOK_SPECIAL, &ids) >= 0) {
            char *out;
            size_t len;
            if (tokenizer_decode(&t, ids.v, ids.n, 0, &out, &len) == LM_OK) free(out);
        }
        tokids_free(&ids);
    }
    tokenizer_free(&t);
    fuzz_end(st, path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file("c.h5", data, size);
    TokenizerInfo ti = {0};
    fuzz_begin();
    LmStatus st = corpus_read_tokenizer_info(path, &ti);
    fuzz_end(st, path);
    for (size_t i = 0; i < sizeof STREAMS / sizeof *STREAMS; i++) {
        for (size_t j = 0; j < sizeof SPLITS / sizeof *SPLITS; j++) {
            CorpusReader r;
            fuzz_begin();
            st = corpus_reader_open(&r, path, STREAMS[i], SPLITS[j], (int)(ti.vocab_size ? ti.vocab_size : 1000));
            if (st == LM_OK) {
                st = read_some(&r);
                corpus_reader_close(&r);
            }
            fuzz_end(st, path);
        }
    }
    tokenizer_round_trip(path);
    fuzz_clear();
    return 0;
}
