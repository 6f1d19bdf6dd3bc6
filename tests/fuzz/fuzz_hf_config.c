// Hugging Face config.json (io/hf_config.c).
#include "fuzz.h"
#include "io/hf_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ModelConfig cfg;
    fuzz_begin();
    fuzz_end(hf_config_parse((const char *)data, size, "config.json", &cfg), "config.json");
    return 0;
}
