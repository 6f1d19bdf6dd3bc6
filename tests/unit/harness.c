#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
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

const char *tmp_file(const char *name) {
    static char buf[8][1024];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmp_dir(), name);
    return buf[k];
}

static int saved_stderr = -1;

void capture_begin(void) {
    fflush(stderr);
    int fd = open(tmp_file("stderr.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    saved_stderr = dup(2);
    dup2(fd, 2);
    close(fd);
}

const char *capture_end(void) {
    static char buf[16384];
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    FILE *f = fopen(tmp_file("stderr.txt"), "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = '\0';
    if (getenv("SHOW_ERRORS")) printf("--- captured stderr:\n%s", buf);
    return buf;
}

void check_error(int status, int want, const char *err, const char *needle) {
    CHECK(status == want, "status %d, expected %d; stderr: %s", status, want, err);
    CHECK(strstr(err, needle) != NULL, "stderr lacks \"%s\":\n%s", needle, err);
}
