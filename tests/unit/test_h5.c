// The HDF5 helpers on bad files and bad environments: a dataset of another
// rank (h5_shape used to copy 4 dimensions into callers' 1-element arrays),
// a declared size the file does not store, a damaged global heap on which
// HDF5 itself loops or crashes (io/h5_probe.c), the group copy that
// replaced H5Ocopy, and the allocation and error-capture helpers.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "io/h5.h"
#include "util/alloc.h"

static hid_t create(const char *name, char *tmp, size_t n) {
    hid_t f;
    CHECK(h5_create_tmp(tmp_file(name), tmp, n, &f) == LM_OK, "create %s", name);
    return f;
}

// A file holding /a (2 x 3 int32), the attributes format = "test" and
// note = "x", and /s (variable-length strings).
static const char *make_file(const char *name) {
    char tmp[600];
    const char *path = tmp_file(name);
    hid_t f = create(name, tmp, sizeof tmp);
    int32_t a[6] = {1, 2, 3, 4, 5, 6};
    int64_t shape[2] = {2, 3}, ns = 2;
    const char *s[2] = {"hello", "wörld"};
    CHECK(h5_write(f, "a", H5T_I32, a, 2, shape) == LM_OK, "write a");
    CHECK(h5_write_strings(f, "s", s, ns) == LM_OK, "write s");
    CHECK(h5_attr_write_str(f, "format", "test") == LM_OK && h5_attr_write_str(f, "note", "x") == LM_OK,
          "attributes");
    CHECK(h5_commit(f, tmp, path) == LM_OK, "commit");
    return path;
}

static void test_shape_rank(void) {
    const char *path = make_file("rank.h5");
    hid_t f;
    CHECK(h5_open(path, path, &f) == LM_OK, "open");
    // Guards around a one-element shape: a copy of both dimensions would
    // overwrite the one after it (and ASan stops the test).
    struct { int64_t before, n[1], after; } g = {-7, {0}, -7};
    capture_begin();
    LmStatus st = h5_shape(f, "a", 1, g.n, path);
    check_error(st, LM_ERUNTIME, capture_end(), "dataset /a has 2 dimensions, expected 1");
    CHECK(g.before == -7 && g.after == -7, "h5_shape wrote beyond the shape it was given");
    int64_t two[2];
    CHECK(h5_shape(f, "a", 2, two, path) == LM_OK && two[0] == 2 && two[1] == 3, "2-D shape");
    H5Fclose(f);
}

// A dataset created without data: its declared size is not in the file.
static void test_unstored(void) {
    char tmp[600];
    const char *path = tmp_file("unstored.h5");
    hid_t f = create("unstored.h5", tmp, sizeof tmp);
    hsize_t dims = (hsize_t)1 << 30;
    hid_t sp = H5Screate_simple(1, &dims, NULL);
    hid_t d = H5Dcreate2(f, "big", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(d), H5Sclose(sp);
    CHECK(h5_commit(f, tmp, path) == LM_OK, "commit");
    CHECK(h5_open(path, path, &f) == LM_OK, "open");
    int64_t n;
    capture_begin();
    LmStatus st = h5_shape(f, "big", 1, &n, path);
    check_error(st, LM_ERUNTIME, capture_end(), "declares shape [1073741824] (8589934592 bytes) but the file stores 0 bytes");
    char **strs;
    int64_t ns;
    capture_begin();
    st = h5_read_strings(f, "big", &strs, &ns, path);
    CHECK(st == LM_ERUNTIME, "strings of a numeric dataset");
    capture_end();
    H5Fclose(f);
}

// Patches the first object of the file's first global heap collection
// (where variable-length strings live): size 0 with index 0 makes HDF5
// 1.10 loop for ever, a size beyond the collection makes it crash.
static void damage_heap(const char *src, const char *dst, int spin) {
    FILE *f = fopen(src, "rb");
    static unsigned char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    size_t at = 0;
    while (at + 4 <= n && memcmp(buf + at, "GCOL", 4)) at++;
    CHECK(at + 32 <= n, "no global heap in %s", src);
    unsigned char *obj = buf + at + 16;  // index (2), refcount (2), reserved (4), size (8)
    if (spin) memset(obj, 0, 16);
    else memset(obj + 8, 0, 8), obj[13] = 1;  // size 2^40
    f = fopen(dst, "wb");
    fwrite(buf, 1, n, f);
    fclose(f);
}

static void test_damaged_heap(void) {
    char good[600], spin[600], crash[600];
    snprintf(good, sizeof good, "%s", make_file("heap.h5"));
    snprintf(spin, sizeof spin, "%s", tmp_file("heap_spin.h5"));
    snprintf(crash, sizeof crash, "%s", tmp_file("heap_crash.h5"));
    damage_heap(good, spin, 1);
    damage_heap(good, crash, 0);
    hid_t f;
    time_t t0 = time(NULL);
    capture_begin();
    LmStatus st = h5_open(spin, spin, &f);
    check_error(st, LM_ERUNTIME, capture_end(), "did not finish within 2 CPU-seconds");
    CHECK(time(NULL) - t0 < 30, "refusing the looping file took %lld s", (long long)(time(NULL) - t0));
    capture_begin();
    st = h5_open(spin, spin, &f);  // the verdict is remembered
    check_error(st, LM_ERUNTIME, capture_end(), "the file is damaged");
    capture_begin();
    st = h5_open(crash, crash, &f);
    const char *err = capture_end();
    // The child's crash, or HDF5's own refusal where it notices: either way an error.
    check_error(st, LM_ERUNTIME, err, "the file is damaged");
    CHECK(h5_open(good, good, &f) == LM_OK, "the undamaged file");
    H5Fclose(f);
}

static void test_copy_group(void) {
    char tmp[600];
    char src[600], dst[600];
    snprintf(src, sizeof src, "%s", tmp_file("copy_src.h5"));
    snprintf(dst, sizeof dst, "%s", tmp_file("copy_dst.h5"));
    hid_t f = create("copy_src.h5", tmp, sizeof tmp);
    int32_t m[4] = {7, 8, 9, 10};
    int64_t shape[2] = {2, 2}, two = 2;
    const char *s[2] = {"a", "βc"};
    hid_t g;
    CHECK(h5_ensure_group(f, "tok/sub", &g) == LM_OK, "group");
    CHECK(h5_attr_write_i64(g, "depth", 2) == LM_OK, "sub attribute");
    H5Gclose(g);
    CHECK(h5_ensure_group(f, "tok", &g) == LM_OK, "group");
    CHECK(h5_attr_write_str(g, "hash", "abc") == LM_OK && h5_attr_write_f64(g, "eps", 0.5) == LM_OK,
          "attributes");
    CHECK(h5_write(g, "merges", H5T_I32, m, 2, shape) == LM_OK && h5_write_strings(g, "specials", s, two) == LM_OK,
          "datasets");
    H5Gclose(g);
    CHECK(h5_commit(f, tmp, src) == LM_OK, "commit src");
    hid_t in;
    CHECK(h5_open(src, src, &in) == LM_OK, "open src");
    f = create("copy_dst.h5", tmp, sizeof tmp);
    CHECK(h5_copy_group(in, "tok", f, src) == LM_OK, "copy");
    H5Fclose(in);
    CHECK(h5_commit(f, tmp, dst) == LM_OK, "commit dst");
    CHECK(h5_open(dst, dst, &f) == LM_OK, "open dst");
    char *hash = NULL, **names;
    double eps = 0;
    int64_t depth = 0, n = 0;
    int32_t back[4] = {0};
    capture_begin();
    CHECK(h5_attr_read_str(f, "hash", &hash, dst) != LM_OK, "attributes stay on their group");
    capture_end();
    CHECK(h5_open_group(f, "tok", &g, dst) == LM_OK, "copied group");
    CHECK(h5_attr_read_str(g, "hash", &hash, dst) == LM_OK && !strcmp(hash, "abc"), "string attribute");
    CHECK(h5_attr_read_f64(g, "eps", &eps, dst) == LM_OK && eps == 0.5, "float attribute");
    CHECK(h5_read(g, "merges", H5T_I32, back, 2, shape, dst) == LM_OK && !memcmp(back, m, sizeof m), "numbers");
    CHECK(h5_read_strings(g, "specials", &names, &n, dst) == LM_OK && n == 2 && !strcmp(names[1], "βc"),
          "strings");
    hid_t sub;
    CHECK(h5_open_group(g, "sub", &sub, dst) == LM_OK && h5_attr_read_i64(sub, "depth", &depth, dst) == LM_OK &&
              depth == 2, "subgroup");
    free(hash), free(names);
    H5Gclose(sub), H5Gclose(g), H5Fclose(f);
}

static void test_alloc_try(void) {
    capture_begin();
    void *p = alloc_try((size_t)1 << 62, "the scores of x.h5");
    const char *err = capture_end();
    CHECK(p == NULL, "2^62 bytes allocated");
    CHECK(strstr(err, "the scores of x.h5: out of memory allocating 4.61e+09 GB"), "message: %s", err);
    float *x = falloc_try(1000, "small");
    CHECK(x && x[999] == 0.0f, "a small zeroed block");
    free(x);
}

static void test_capture_nesting(void) {
    char outer[200], inner[200];
    lm_capture_begin(outer, sizeof outer);
    lm_error("first");
    lm_capture_begin(inner, sizeof inner);
    lm_error("second");
    lm_capture_end();
    lm_capture_begin(NULL, 0);
    lm_error("dropped");
    lm_capture_end();
    lm_error("third");
    lm_capture_end();
    CHECK(!strcmp(outer, "first; third"), "outer capture: \"%s\"", outer);
    CHECK(!strcmp(inner, "second"), "inner capture: \"%s\"", inner);
}

int main(void) {
    h5_init();
    RUN(test_shape_rank);
    RUN(test_unstored);
    RUN(test_damaged_heap);
    RUN(test_copy_group);
    RUN(test_alloc_try);
    RUN(test_capture_nesting);
    return harness_finish();
}
