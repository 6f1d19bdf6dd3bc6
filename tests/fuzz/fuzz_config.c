// YAML configuration files (io/config.c): any file loads or is refused with
// a message naming it; a loaded config dumps to YAML that loads back to the
// same values.
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "io/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static Config cfg, back;  // large: not on the stack
    const char *path = fuzz_file("c.yaml", data, size);
    fuzz_begin();
    LmStatus st = config_load(&cfg, &path, 1, NULL, 0);
    fuzz_end(st, path);
    if (st == LM_OK) {
        char *dump = config_dump(&cfg);
        const char *again = fuzz_file("dump.yaml", dump, strlen(dump));
        fuzz_begin();
        st = config_load(&back, &again, 1, NULL, 0);
        fuzz_end(st, again);
        if (st != LM_OK || memcmp(&cfg, &back, offsetof(Config, given))) abort();
        free(dump);
    }
    fuzz_clear();
    return 0;
}
