// Hugging Face tokenizer.json (src/tokenizer/hf_json*.c and the pipeline it
// builds): parse, then encode and decode some text. The input is the JSON,
// optionally followed by a marker line and text to encode.
#include <stdlib.h>

#include "fuzz.h"
#include "util/err.h"
#include "tokenizer/tokenizer.h"

static const char SAMPLE[] = "Hello, world!  It's 2024 — Grüße, 你好 ▁a <s> \t\n end";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *part[2];
    size_t len[2];
    fuzz_split(data, size, 2, part, len);
    Tokenizer t;
    tokenizer_init(&t);
    fuzz_begin();
    LmStatus st = tokenizer_from_json((const char *)part[0], len[0], NULL, "tokenizer.json", &t);
    fuzz_end(st, "tokenizer.json");
    if (st == LM_OK) {
        TokIds ids = {0};
        lm_capture_begin(NULL, 0);  // ids outside the vocabulary are refused, naming the id
        tokenizer_encode(&t, SAMPLE, sizeof SAMPLE - 1, TOK_SPECIAL, &ids);
        tokenizer_encode(&t, (const char *)part[1], len[1], 0, &ids);
        for (int32_t i = 0; i < 64; i++) {  // ids the vocabulary may not have
            int32_t id = i * 977 - 5;
            char *out;
            size_t n;
            if (tokenizer_decode(&t, &id, 1, TOK_SPECIAL, &out, &n) == LM_OK) free(out);
        }
        char *out;
        size_t n;
        if (tokenizer_decode(&t, ids.v, ids.n, 0, &out, &n) == LM_OK) free(out);
        lm_capture_end();
        tokids_free(&ids);
    }
    tokenizer_free(&t);
    return 0;
}
