// safetensors files (io/safetensors.c): header, ranges, and every tensor
// widened to float32.
#include <stdlib.h>

#include "fuzz.h"
#include "io/safetensors.h"
#include "util/alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file("model.safetensors", data, size);
    StFile f;
    fuzz_begin();
    LmStatus st = st_open(&f, path);
    fuzz_end(st, path);
    for (int i = 0; st == LM_OK && i < f.n; i++) {
        // The ranges are inside the file, so numel is bounded by its size.
        float *x = falloc_try(f.t[i].numel, "tensor");
        if (!x) abort();
        fuzz_begin();
        fuzz_end(st_read_f32(&f, &f.t[i], x), path);
        free(x);
    }
    if (st == LM_OK) st_close(&f);
    fuzz_clear();
    return 0;
}
