#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int harness_failures = 0;
int harness_checks = 0;

int harness_finish(void) {
    printf("%d checks, %d failed\n", harness_checks, harness_failures);
    return harness_failures ? 1 : 0;
}

const char *src_path(const char *rel) {
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", LM_SOURCE_DIR, rel);
    return buf;
}

const char *tmp_dir(void) {
    static char dir[256];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "%s/lmtest.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(dir)) { perror("mkdtemp"); exit(2); }
    }
    return dir;
}
