// Neurons files (io/neurons.c).
#include "fuzz.h"
#include "io/neurons.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file("n.h5", data, size);
    Neurons n;
    fuzz_begin();
    LmStatus st = neurons_read(path, &n);
    if (st == LM_OK) neurons_free(&n);
    fuzz_end(st, path);
    fuzz_clear();
    return 0;
}
