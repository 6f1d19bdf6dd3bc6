// prep's text inputs (src/prep/inputs.c) and everything after them: the
// input is a TSV file, a Moses source and target file and a plain text
// file, cut at marker lines, built into a corpus (cleaning, splits, BPE
// training, encoding, the corpus writer).
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "io/config.h"
#include "prep/prep.h"

static void set(CfgList *l, const char *fmt, const char *a, const char *b) {
    l->n = 1;
    snprintf(l->item[0], sizeof l->item[0], fmt, a, b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static Config c;  // large: not on the stack
    const uint8_t *part[4];
    size_t len[4];
    char path[4][512];
    static const char *const NAMES[] = {"en-de.tsv", "train.en", "train.fr", "it.txt"};
    fuzz_split(data, size, 4, part, len);
    for (int i = 0; i < 4; i++) snprintf(path[i], sizeof path[i], "%s", fuzz_file(NAMES[i], part[i], len[i]));
    const char *dir = fuzz_dir();
    config_defaults(&c);
    set(&c.prep.tsv, "en-de:%s%s", path[0], "");
    set(&c.prep.moses, "en-fr:%s,%s", path[1], path[2]);
    set(&c.prep.text, "it:%s%s", path[3], "");
    snprintf(c.prep.output, sizeof c.prep.output, "%s/corpus.h5", dir);
    c.prep.vocab_size = 300, c.prep.dev_fraction = 0.2, c.prep.test_fraction = 0.2;
    fuzz_begin();
    // Errors name one of the files, all of which sit where the input does.
    char where[512];
    snprintf(where, sizeof where, "%.*s", (int)(strrchr(dir, '/') - dir), dir);
    fuzz_end(prep_run(&c, NULL), where);
    fuzz_clear();
    return 0;
}
