#include "fuzz.h"

#include <dirent.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/h5.h"

static char g_root[64];       // private directory of this process
static char g_input[128];     // directory of the current input
static char g_path[512];
static char g_errors[1 << 16];
static unsigned long g_count;

static void remove_tree(const char *dir) {
    DIR *d = opendir(dir);
    char path[1024];
    for (struct dirent *e; d && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) != 0) remove_tree(path);
    }
    if (d) closedir(d);
    rmdir(dir);
}

static void cleanup(void) { remove_tree(g_root); }

// Each input gets its own directory: a file name is never reused, so no
// state of an earlier input (an HDF5 file left open) can leak into it.
static const char *input_dir(void) {
    if (!g_root[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(g_root, sizeof g_root, "%s/lmfuzz.XXXXXX", base);
        if (!mkdtemp(g_root)) abort();
        atexit(cleanup);
        h5_init();
    }
    if (!g_input[0]) {
        snprintf(g_input, sizeof g_input, "%s/%lu", g_root, g_count++);
        if (mkdir(g_input, 0700) != 0) abort();
    }
    return g_input;
}

const char *fuzz_dir(void) {
    static char dir[256];
    snprintf(dir, sizeof dir, "%s/d", input_dir());
    mkdir(dir, 0700);
    return dir;
}

const char *fuzz_file(const char *name, const void *data, size_t size) {
    snprintf(g_path, sizeof g_path, "%s/%s", input_dir(), name);
    FILE *f = fopen(g_path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) abort();
    return g_path;
}

void fuzz_begin(void) { lm_capture_begin(g_errors, sizeof g_errors); }

void fuzz_end(LmStatus st, const char *name) {
    lm_capture_end();
    if (st != LM_OK && (!g_errors[0] || !strstr(g_errors, name))) {
        fprintf(stderr, "FINDING: status %d with an error message that does not name %s: \"%s\"\n",
                (int)st, name, g_errors);
        abort();
    }
    ssize_t open = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
    if (open > 0) {
        fprintf(stderr, "FINDING: %zd HDF5 object(s) left open after status %d (\"%s\")\n", open,
                (int)st, g_errors);
        abort();
    }
}

void fuzz_clear(void) {
    if (g_input[0]) remove_tree(g_input);
    g_input[0] = '\0';
}

void fuzz_split(const uint8_t *data, size_t size, int n, const uint8_t **part, size_t *len) {
    size_t m = strlen(FUZZ_MARKER), at = 0;
    for (int k = 0; k < n; k++) {
        size_t end = at;
        while (k + 1 < n && end + m <= size && memcmp(data + end, FUZZ_MARKER, m)) end++;
        if (k + 1 == n || end + m > size) end = size;
        part[k] = data + at, len[k] = end - at;
        at = end + m < size ? end + m : size;
    }
}
