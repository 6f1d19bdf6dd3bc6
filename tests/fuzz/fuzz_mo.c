// gettext .mo catalogs (src/prep/mo.c): header, tables, charsets, plural
// rules, and the pairs prep takes from every entry.
#include "fuzz.h"
#include "prep/mo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file("c.mo", data, size);
    MoCatalog c;
    fuzz_begin();
    LmStatus st = mo_read(path, &c);
    if (st == LM_OK) {
        MoPair pairs[2];
        for (int i = 0; i < c.n; i++) mo_entry_pairs(&c, &c.e[i], pairs);
        mo_free(&c);
    }
    fuzz_end(st, path);
    fuzz_clear();
    return 0;
}
