// Checked HDF5 helpers. Every failure prints one "error:" line naming the
// file and the object (plus HDF5's most specific reason when it has one)
// and returns LM_ERUNTIME; nothing here aborts on bad input.
#include "io/h5.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/files.h"
#include "util/alloc.h"
#include "util/signals.h"

// Chunks of at most this size keep Fletcher32 checksums cheap to verify and
// let HDF5 read whole chunks without a big chunk cache.
#define CHUNK_BYTES ((size_t)4 << 20)
#define PATH_BUF 1024
// Temporary files are "<path>.tmp.<pid>" (h5_create_tmp).
#define TMP_INFIX ".tmp."

void h5_init(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

// ---------------------------------------------------------------- naming

// The innermost message, on one line. A failed read or write of the file
// driver carries a time stamp, descriptors and offsets around the system's
// reason: only "what failed: reason" is kept ("file write failed: No space
// left on device").
static herr_t walk_first(unsigned n, const H5E_error2_t *e, void *out) {
    if (n != 0 || !e->desc || !e->desc[0]) return 0;
    const char *d = e->desc, *msg = strstr(d, "error message = '");
    size_t head = strcspn(d, msg ? ":" : "\n");
    if (msg) {
        msg += strlen("error message = '");
        snprintf(out, 200, " (HDF5: %.*s: %.*s)", (int)head, d, (int)strcspn(msg, "'"), msg);
    } else {
        snprintf(out, 200, " (HDF5: %.*s)", (int)head, d);
    }
    return 0;
}

// HDF5's most specific reason for the last failure, as " (HDF5: ...)" or "".
// Must be called before the next HDF5 call, which clears the error stack.
static const char *h5_reason(void) {
    static char buf[200];
    buf[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk_first, buf);
    return buf;
}

// Absolute path of `name` ("." = loc itself) relative to `loc`, for messages.
static void obj_path(hid_t loc, const char *name, char *buf, size_t n) {
    char base[PATH_BUF / 2] = "";  // group names are short; leaves room for `name`
    if (name[0] == '/' || H5Iget_name(loc, base, sizeof base) < 0) base[0] = '\0';
    if (!strcmp(name, ".")) {
        snprintf(buf, n, "%s", base[0] ? base : "/");
        return;
    }
    size_t bl = strlen(base);
    const char *sep = (bl && base[bl - 1] == '/') || name[0] == '/' ? "" : "/";
    snprintf(buf, n, "%s%s%s", base, sep, name);
}

static void file_name(hid_t loc, char *buf, size_t n) {
    if (H5Fget_name(loc, buf, n) < 0) snprintf(buf, n, "<unknown file>");
}

// "[4, 16]" ("[]" for a scalar).
static void shape_str(char *buf, size_t n, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

static void close_id(hid_t id) {
    if (id < 0) return;
    switch (H5Iget_type(id)) {
    case H5I_FILE: H5Fclose(id); break;
    case H5I_GROUP: H5Gclose(id); break;
    case H5I_DATASET: H5Dclose(id); break;
    case H5I_DATASPACE: H5Sclose(id); break;
    case H5I_DATATYPE: H5Tclose(id); break;
    case H5I_ATTR: H5Aclose(id); break;
    case H5I_GENPROP_LST: H5Pclose(id); break;
    default: break;
    }
}

// ------------------------------------------------------------ data kinds

typedef struct {
    hid_t mem, file;
    size_t size;
    H5T_class_t cls;
    const char *name;
} KindInfo;

// A switch, not a table: the H5T_* type ids are run-time values.
static KindInfo kind_info(H5Kind k) {
    switch (k) {
    case H5T_F32: return (KindInfo){H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, 4, H5T_FLOAT, "float32"};
    case H5T_F64: return (KindInfo){H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 8, H5T_FLOAT, "float64"};
    case H5T_I32: return (KindInfo){H5T_NATIVE_INT32, H5T_STD_I32LE, 4, H5T_INTEGER, "int32"};
    case H5T_I64: return (KindInfo){H5T_NATIVE_INT64, H5T_STD_I64LE, 8, H5T_INTEGER, "int64"};
    case H5T_U8: return (KindInfo){H5T_NATIVE_UINT8, H5T_STD_U8LE, 1, H5T_INTEGER, "uint8"};
    case H5T_U64: return (KindInfo){H5T_NATIVE_UINT64, H5T_STD_U64LE, 8, H5T_INTEGER, "uint64"};
    }
    return (KindInfo){-1, -1, 0, H5T_NO_CLASS, "?"};
}

static const char *class_name(H5T_class_t c) {
    switch (c) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "floating-point";
    case H5T_STRING: return "string";
    default: return "non-numeric";
    }
}

// Variable-length UTF-8 string type, what h5py writes for a Python str.
static hid_t vlen_str_type(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

// -------------------------------------------------------------- files

// sec2 driver even though the library is the MPI build: these files are
// written and read by single ranks.
static hid_t fapl_new(void) {
    hid_t p = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_sec2(p);
    // Files are published by rename and never modified in place, so locks
    // protect nothing; they only fail on filesystems without lock support.
    H5Pset_file_locking(p, 0, 1);
    // Closing the file closes every object in it, so h5_commit's fsync sees
    // all data even if an error path leaked an id.
    H5Pset_fclose_degree(p, H5F_CLOSE_STRONG);
    return p;
}

// Checks that do not need HDF5, so "missing" and "not readable" get errno's words.
static LmStatus file_check(const char *path, const char *what) {
    struct stat st;
    if (stat(path, &st) != 0) {
        lm_error("%s: %s", what, errno == ENOENT ? "no such file" : strerror(errno));
        return LM_ERUNTIME;
    }
    if (S_ISDIR(st.st_mode)) {
        lm_error("%s: is a directory, expected an HDF5 file", what);
        return LM_ERUNTIME;
    }
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        lm_error("%s: cannot read: %s", what, strerror(errno));
        return LM_ERUNTIME;
    }
    close(fd);
    if (st.st_size == 0) {
        lm_error("%s: file is empty (0 bytes)", what);
        lm_hint("an interrupted copy or write leaves empty files; restore or rebuild it");
        return LM_ERUNTIME;
    }
    return LM_OK;
}

// Own signature search instead of H5Fis_hdf5, which also answers "no" for
// truncated files: those must be reported as damaged, not as foreign.
// The superblock sits at 0 or after a user block of 512 * 2^k bytes.
static int has_signature(const char *path) {
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    unsigned char buf[8];
    int found = 0;
    for (long off = 0; !found && fseek(f, off, SEEK_SET) == 0; off = off ? 2 * off : 512) {
        if (fread(buf, 1, 8, f) != 8) break;
        found = !memcmp(buf, sig, 8);
    }
    fclose(f);
    return found;
}

LmStatus h5_open(const char *path, const char *what, hid_t *file) {
    h5_init();  // idempotent; a forgotten h5_init must not leak HDF5 stack dumps
    *file = -1;
    LM_TRY(file_check(path, what));
    if (!has_signature(path)) {
        lm_error("%s: not an HDF5 file", what);
        return LM_ERUNTIME;
    }
    LM_TRY(h5_probe(path, what));
    hid_t fapl = fapl_new();
    *file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    const char *why = *file < 0 ? h5_reason() : "";
    H5Pclose(fapl);
    if (*file < 0) {
        lm_error("%s: cannot open: the file is truncated or damaged%s", what, why);
        lm_hint("an interrupted copy leaves truncated files; use an earlier copy or rebuild the file");
        return LM_ERUNTIME;
    }
    return LM_OK;
}

// "landermt.checkpoint" -> "checkpoint", for messages.
static const char *format_noun(const char *format) {
    const char *dot = strrchr(format, '.');
    return dot ? dot + 1 : format;
}

static LmStatus format_check(hid_t f, const char *format, int max_version, int *version,
                             const char *what) {
    if (!h5_attr_exists(f, "format")) {
        lm_error("%s: not a landermt %s file (root attribute 'format' is missing)", what,
                 format_noun(format));
        return LM_ERUNTIME;
    }
    char *found = NULL;
    LM_TRY(h5_attr_read_str(f, "format", &found, what));
    int same = !strcmp(found, format);
    if (!same) lm_error("%s: format is \"%s\", expected \"%s\"", what, found, format);
    free(found);
    if (!same) return LM_ERUNTIME;
    int64_t v = 0;
    LM_TRY(h5_attr_read_i64(f, "format_version", &v, what));
    if (v < 1 || v > max_version) {
        lm_error("%s: format_version %lld is not supported (this landermt reads up to version %d)",
                 what, (long long)v, max_version);
        if (v > max_version) lm_hint("the file was written by a newer landermt; upgrade");
        return LM_ERUNTIME;
    }
    *version = (int)v;
    return LM_OK;
}

LmStatus h5_open_format(const char *path, const char *format, int max_version, hid_t *file,
                        int *version) {
    char what[PATH_BUF + 64];
    snprintf(what, sizeof what, "%s %s", format_noun(format), path);
    LM_TRY(h5_open(path, what, file));
    LmStatus st = format_check(*file, format, max_version, version, what);
    if (st != LM_OK) {
        H5Fclose(*file);
        *file = -1;
    }
    return st;
}

LmStatus h5_create_tmp(const char *path, char *tmp, size_t tmp_size, hid_t *file) {
    h5_init();
    *file = -1;
    if ((size_t)snprintf(tmp, tmp_size, "%s" TMP_INFIX "%ld", path, (long)getpid()) >= tmp_size) {
        lm_error("path too long: %s", path);
        return LM_ERUNTIME;
    }
    // Probe with open(2) first so the message carries errno's reason.
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0) {
        lm_error("cannot create %s: %s", tmp, strerror(errno));
        lm_hint("check that the directory of %s exists and is writable", path);
        return LM_ERUNTIME;
    }
    close(fd);
    signals_track_tmp(tmp);
    hid_t fapl = fapl_new();
    *file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    const char *why = *file < 0 ? h5_reason() : "";
    H5Pclose(fapl);
    if (*file < 0) {
        lm_error("cannot create HDF5 file %s%s", tmp, why);
        unlink(tmp);
        signals_untrack_tmp(tmp);
        return LM_ERUNTIME;
    }
    return LM_OK;
}

// A write into a temporary file failed (disk full, quota): the file will
// be discarded, so empty it now. HDF5 1.10 must still write metadata to
// close its objects; when it cannot, H5Fclose fails half-way and the
// library crashes later (a double free in H5Ocopy, a segfault at exit).
// Emptying the file gives those last writes room again.
static void tmp_discard(hid_t loc) {
    char name[PATH_BUF];
    if (H5Fget_name(loc, name, sizeof name) > 0 && strstr(name, TMP_INFIX)) {
        int rc = truncate(name, 0);
        (void)rc;  // nothing better to do: the file is removed anyway
    }
}

// Closes and removes a temporary file that will not be published.
static void tmp_close_discard(hid_t file, const char *tmp) {
    if (file >= 0) {
        tmp_discard(file);
        H5Fflush(file, H5F_SCOPE_GLOBAL);  // may fail again; the close then succeeds
        H5Fclose(file);
    }
    unlink(tmp);
    signals_untrack_tmp(tmp);
}

LmStatus h5_commit(hid_t file, const char *tmp, const char *path) {
    if (H5Fflush(file, H5F_SCOPE_GLOBAL) < 0) {
        lm_error("cannot write %s%s", tmp, h5_reason());
        lm_hint("%s was left unchanged (disk full or not writable?)", path);
        tmp_close_discard(file, tmp);
        return LM_ERUNTIME;
    }
    herr_t cl = H5Fclose(file);
    const char *failed = NULL;
    if (cl < 0) lm_error("cannot write %s%s", tmp, h5_reason());
    else if (file_fsync(tmp) != 0) failed = "fsync";
    else if (rename(tmp, path) != 0) failed = "rename to its final name";
    if (failed) lm_error("cannot %s %s: %s", failed, tmp, strerror(errno));
    signals_untrack_tmp(tmp);
    if (failed || cl < 0) {
        lm_hint("%s was left unchanged (disk full or not writable?)", path);
        unlink(tmp);
        return LM_ERUNTIME;
    }
    char dir[PATH_BUF];
    file_dir_of(path, dir, sizeof dir);
    if (file_fsync(dir) != 0) {
        lm_error("%s was written, but syncing directory %s failed: %s", path, dir, strerror(errno));
        return LM_ERUNTIME;
    }
    return LM_OK;
}

void h5_abandon(hid_t file, const char *tmp) { tmp_close_discard(file, tmp); }

// ------------------------------------------------------------- groups

int h5_exists(hid_t loc, const char *path) {
    char buf[PATH_BUF];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return 0;
    if (!strcmp(buf, "/") || !strcmp(buf, ".")) return 1;
    // H5Lexists fails (rather than returning 0) when an intermediate link
    // is missing, so check each prefix in turn.
    for (char *p = buf + (buf[0] == '/');;) {
        char *slash = strchr(p, '/');
        if (slash) *slash = '\0';
        if (H5Lexists(loc, buf, H5P_DEFAULT) <= 0) return 0;
        if (!slash) return 1;
        *slash = '/';
        p = slash + 1;
    }
}

LmStatus h5_ensure_group(hid_t loc, const char *path, hid_t *group) {
    char full[PATH_BUF], file[PATH_BUF];
    if (h5_exists(loc, path)) {
        *group = H5Gopen2(loc, path, H5P_DEFAULT);
    } else {
        hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
        H5Pset_create_intermediate_group(lcpl, 1);
        *group = H5Gcreate2(loc, path, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        H5Pclose(lcpl);
    }
    if (*group >= 0) return LM_OK;
    const char *why = h5_reason();
    obj_path(loc, path, full, sizeof full);
    file_name(loc, file, sizeof file);
    lm_error("%s: cannot create or open group %s%s", file, full, why);
    return LM_ERUNTIME;
}

LmStatus h5_open_group(hid_t loc, const char *path, hid_t *group, const char *what) {
    char full[PATH_BUF];
    *group = h5_exists(loc, path) ? H5Gopen2(loc, path, H5P_DEFAULT) : -1;
    if (*group >= 0) return LM_OK;
    obj_path(loc, path, full, sizeof full);
    lm_error("%s: group %s is missing", what, full);
    return LM_ERUNTIME;
}

typedef struct {
    char **names;
    int n, cap;
} NameList;

static herr_t collect_name(hid_t g, const char *name, const H5L_info_t *info, void *data) {
    (void)g, (void)info;
    NameList *l = data;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->names = xrealloc(l->names, (size_t)l->cap * sizeof *l->names);
    }
    l->names[l->n++] = xstrdup(name);
    return 0;
}

// Copies n strings (NULL counts as "") into one block: the pointer array
// followed by the bytes, so callers free a single pointer.
static char **strings_pack(char *const *src, int64_t n) {
    size_t bytes = (size_t)n * sizeof(char *);
    for (int64_t i = 0; i < n; i++) bytes += (src[i] ? strlen(src[i]) : 0) + 1;
    char **out = xmalloc(bytes);
    char *p = (char *)(out + n);
    for (int64_t i = 0; i < n; i++) {
        size_t len = (src[i] ? strlen(src[i]) : 0) + 1;
        out[i] = memcpy(p, src[i] ? src[i] : "", len);
        p += len;
    }
    return out;
}

LmStatus h5_list(hid_t loc, const char *group, char ***names, int *n, const char *what) {
    hid_t g;
    LM_TRY(h5_open_group(loc, group, &g, what));
    NameList l = {0};
    herr_t rc = H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, collect_name, &l);
    H5Gclose(g);
    *names = strings_pack(l.names, l.n);
    *n = l.n;
    for (int i = 0; i < l.n; i++) free(l.names[i]);
    free(l.names);
    if (rc >= 0) return LM_OK;
    char full[PATH_BUF];
    obj_path(loc, group, full, sizeof full);
    lm_error("%s: cannot list group %s", what, full);
    free(*names);
    *names = NULL;
    return LM_ERUNTIME;
}

// ---------------------------------------------------------- attributes

static LmStatus attr_write(hid_t loc, const char *name, hid_t ftype, hid_t mtype, const void *buf) {
    if (H5Aexists(loc, name) > 0) H5Adelete(loc, name);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = a >= 0 ? H5Awrite(a, mtype, buf) : -1;
    const char *why = rc < 0 ? h5_reason() : "";
    if (rc < 0) tmp_discard(loc);
    close_id(a);
    H5Sclose(sp);
    if (rc >= 0) return LM_OK;
    char obj[PATH_BUF], file[PATH_BUF];
    obj_path(loc, ".", obj, sizeof obj);
    file_name(loc, file, sizeof file);
    lm_error("%s: cannot write attribute %s of %s%s", file, name, obj, why);
    return LM_ERUNTIME;
}

LmStatus h5_attr_write_str(hid_t loc, const char *name, const char *value) {
    hid_t t = vlen_str_type();
    LmStatus st = attr_write(loc, name, t, t, &value);
    H5Tclose(t);
    return st;
}

LmStatus h5_attr_write_i64(hid_t loc, const char *name, int64_t value) {
    return attr_write(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

LmStatus h5_attr_write_f64(hid_t loc, const char *name, double value) {
    return attr_write(loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

int h5_attr_exists(hid_t loc, const char *name) { return H5Aexists(loc, name) > 0; }

// Opens a scalar attribute whose type class is one of `ok` (H5T_NO_CLASS
// terminated); *type receives its file type.
static LmStatus attr_open(hid_t loc, const char *name, const H5T_class_t *ok, hid_t *attr,
                          hid_t *type, const char *what) {
    char obj[PATH_BUF];
    obj_path(loc, ".", obj, sizeof obj);
    if (H5Aexists(loc, name) <= 0) {
        lm_error("%s: attribute %s of %s is missing", what, name, obj);
        return LM_ERUNTIME;
    }
    *attr = H5Aopen(loc, name, H5P_DEFAULT);
    *type = H5Aget_type(*attr);
    hid_t sp = H5Aget_space(*attr);
    hssize_t npts = H5Sget_simple_extent_npoints(sp);
    H5Sclose(sp);
    H5T_class_t cls = H5Tget_class(*type);
    int good = 0;
    for (int i = 0; ok[i] != H5T_NO_CLASS; i++) good |= cls == ok[i];
    if (good && npts == 1) return LM_OK;
    lm_error("%s: attribute %s of %s is %s, expected a single %s value", what, name, obj,
             npts == 1 ? class_name(cls) : "not a scalar", class_name(ok[0]));
    close_id(*type);
    close_id(*attr);
    return LM_ERUNTIME;
}

static LmStatus attr_read_num(hid_t loc, const char *name, const H5T_class_t *ok, hid_t mtype,
                              void *value, const char *what) {
    hid_t a, t;
    LM_TRY(attr_open(loc, name, ok, &a, &t, what));
    herr_t rc = H5Aread(a, mtype, value);
    H5Tclose(t);
    H5Aclose(a);
    if (rc >= 0) return LM_OK;
    lm_error("%s: cannot read attribute %s (value does not fit)", what, name);
    return LM_ERUNTIME;
}

LmStatus h5_attr_read_i64(hid_t loc, const char *name, int64_t *value, const char *what) {
    static const H5T_class_t ok[] = {H5T_INTEGER, H5T_NO_CLASS};
    return attr_read_num(loc, name, ok, H5T_NATIVE_INT64, value, what);
}

LmStatus h5_attr_read_f64(hid_t loc, const char *name, double *value, const char *what) {
    static const H5T_class_t ok[] = {H5T_FLOAT, H5T_INTEGER, H5T_NO_CLASS};
    return attr_read_num(loc, name, ok, H5T_NATIVE_DOUBLE, value, what);
}

// Reads fixed- or variable-length string attributes (h5py writes the
// latter, other tools sometimes the former).
LmStatus h5_attr_read_str(hid_t loc, const char *name, char **value, const char *what) {
    static const H5T_class_t ok[] = {H5T_STRING, H5T_NO_CLASS};
    hid_t a, t;
    *value = NULL;
    LM_TRY(attr_open(loc, name, ok, &a, &t, what));
    herr_t rc;
    if (H5Tis_variable_str(t) > 0) {
        char *s = NULL;
        rc = H5Aread(a, t, &s);
        if (rc >= 0) *value = xstrdup(s ? s : "");
        H5free_memory(s);
    } else {
        size_t n = H5Tget_size(t);
        *value = xcalloc(n + 1, 1);
        rc = H5Aread(a, t, *value);
    }
    H5Tclose(t);
    H5Aclose(a);
    if (rc >= 0) return LM_OK;
    free(*value);
    *value = NULL;
    lm_error("%s: cannot read string attribute %s", what, name);
    return LM_ERUNTIME;
}

// ------------------------------------------------------------ datasets

// Chunked with Fletcher32 when possible, so silent corruption of stored
// numbers is reported at read time instead of being loaded.
static hid_t dcpl_new(int ndim, const hsize_t *dims, size_t elem, int checksum) {
    hid_t p = H5Pcreate(H5P_DATASET_CREATE);
    size_t row = elem;
    hsize_t chunk[4];
    for (int i = 1; i < ndim; i++) row *= (size_t)(chunk[i] = dims[i]);
    int empty = 0;
    for (int i = 0; i < ndim; i++) empty |= dims[i] == 0;
    if (!checksum || ndim == 0 || empty || row > CHUNK_BYTES) return p;
    hsize_t rows = CHUNK_BYTES / row;
    chunk[0] = rows < dims[0] ? rows : dims[0];
    H5Pset_chunk(p, ndim, chunk);
    H5Pset_fletcher32(p);
    return p;
}

static LmStatus dset_write(hid_t loc, const char *name, hid_t ftype, hid_t mtype, size_t elem,
                           int checksum, const void *data, int ndim, const int64_t *shape) {
    hsize_t dims[4];
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)(dims[i] = (hsize_t)shape[i]);
    hid_t sp = ndim ? H5Screate_simple(ndim, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t dcpl = dcpl_new(ndim, dims, elem, checksum);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t d = H5Dcreate2(loc, name, ftype, sp, lcpl, dcpl, H5P_DEFAULT);
    herr_t rc = d < 0 ? -1 : n ? H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : 0;
    // Chunks wait in the chunk cache: flushing now makes a full disk fail
    // here, where the file can still be emptied before the dataset closes.
    if (rc >= 0 && d >= 0) rc = H5Dflush(d);
    const char *why = rc < 0 ? h5_reason() : "";
    if (rc < 0) {
        tmp_discard(loc);
        if (d >= 0) H5Dflush(d);
    }
    close_id(d);
    H5Pclose(lcpl);
    H5Pclose(dcpl);
    H5Sclose(sp);
    if (rc >= 0) return LM_OK;
    char obj[PATH_BUF], file[PATH_BUF];
    obj_path(loc, name, obj, sizeof obj);
    file_name(loc, file, sizeof file);
    lm_error("%s: cannot write dataset %s%s", file, obj, why);
    return LM_ERUNTIME;
}

LmStatus h5_write(hid_t loc, const char *name, H5Kind kind, const void *data, int ndim,
                  const int64_t *shape) {
    KindInfo k = kind_info(kind);
    int bad = ndim < 0 || ndim > 4 || k.size == 0;
    for (int i = 0; !bad && i < ndim; i++) bad = shape[i] < 0;
    if (bad) {
        lm_error("internal: invalid kind or shape for dataset %s", name);
        return LM_ERUNTIME;
    }
    return dset_write(loc, name, k.file, k.mem, k.size, 1, data, ndim, shape);
}

LmStatus h5_write_strings(hid_t loc, const char *name, const char *const *strs, int64_t n) {
    hid_t t = vlen_str_type();
    // Checksums would cover only the heap references, not the strings.
    LmStatus st = dset_write(loc, name, t, t, sizeof(char *), 0, strs, 1, &n);
    H5Tclose(t);
    return st;
}

typedef struct {
    hid_t d, type;
    int ndim;
    int64_t shape[4];
    H5T_class_t cls;
    char path[PATH_BUF];
} Dset;

static void dset_close(Dset *ds) {
    close_id(ds->type);
    close_id(ds->d);
}

static LmStatus dset_open(hid_t loc, const char *name, Dset *ds, const char *what) {
    obj_path(loc, name, ds->path, sizeof ds->path);
    ds->d = ds->type = -1;
    if (!h5_exists(loc, name)) {
        lm_error("%s: dataset %s is missing", what, ds->path);
        return LM_ERUNTIME;
    }
    ds->d = H5Dopen2(loc, name, H5P_DEFAULT);
    if (ds->d < 0) {
        lm_error("%s: %s is not a dataset", what, ds->path);
        return LM_ERUNTIME;
    }
    ds->type = H5Dget_type(ds->d);
    ds->cls = H5Tget_class(ds->type);
    hid_t sp = H5Dget_space(ds->d);
    ds->ndim = H5Sget_simple_extent_ndims(sp);
    hsize_t dims[H5S_MAX_RANK];
    if (ds->ndim >= 0 && ds->ndim <= 4) H5Sget_simple_extent_dims(sp, dims, NULL);
    H5Sclose(sp);
    if (ds->ndim < 0 || ds->ndim > 4) {
        lm_error("%s: dataset %s has rank %d (at most 4 supported)", what, ds->path, ds->ndim);
        dset_close(ds);
        return LM_ERUNTIME;
    }
    for (int i = 0; i < ds->ndim; i++) ds->shape[i] = (int64_t)dims[i];
    return LM_OK;
}

// Deflate, the strongest filter in common use, expands at most ~1032:1.
#define MAX_EXPANSION 1100

// How much larger than its stored bytes a dataset's data may be: 1, or
// MAX_EXPANSION behind a compression filter (checksums and shuffling
// change no size).
static double dset_expansion(hid_t d) {
    hid_t dcpl = H5Dget_create_plist(d);
    int n = dcpl >= 0 ? H5Pget_nfilters(dcpl) : 0;
    double x = 1;
    for (int i = 0; i < n; i++) {
        unsigned flags, cd[8];
        size_t ncd = 8;
        H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, cd, 0, NULL, NULL);
        if (id != H5Z_FILTER_FLETCHER32 && id != H5Z_FILTER_SHUFFLE) x = MAX_EXPANSION;
    }
    if (dcpl >= 0) H5Pclose(dcpl);
    return x;
}

// The file must hold a dataset's data before anyone allocates for its
// declared shape: a damaged header can declare [2^40] elements in a file of
// a few kilobytes.
static LmStatus dset_stored(Dset *ds, const char *what) {
    double bytes = (double)H5Tget_size(ds->type);  // double: no overflow
    for (int i = 0; i < ds->ndim; i++) bytes *= (double)(uint64_t)ds->shape[i];
    if (bytes == 0) return LM_OK;
    hsize_t stored = H5Dget_storage_size(ds->d), file_size = 0;
    hid_t file = H5Iget_file_id(ds->d);
    herr_t rc = H5Fget_filesize(file, &file_size);
    close_id(file);
    if (rc >= 0 && stored <= file_size &&
        bytes <= (double)stored * dset_expansion(ds->d))
        return LM_OK;
    char shape[128];
    shape_str(shape, sizeof shape, ds->ndim, ds->shape);
    lm_error("%s: dataset %s declares shape %s (%.0f bytes) but the file stores %llu bytes of it",
             what, ds->path, shape, bytes, (unsigned long long)stored);
    lm_hint("the file is truncated or damaged; use an earlier copy or rebuild it");
    dset_close(ds);
    return LM_ERUNTIME;
}

LmStatus h5_shape(hid_t loc, const char *name, int ndim, int64_t *shape, const char *what) {
    Dset ds;
    LM_TRY(dset_open(loc, name, &ds, what));
    if (ds.ndim != ndim) {
        lm_error("%s: dataset %s has %d dimension%s, expected %d", what, ds.path, ds.ndim,
                 ds.ndim == 1 ? "" : "s", ndim);
        dset_close(&ds);
        return LM_ERUNTIME;
    }
    LM_TRY(dset_stored(&ds, what));
    memcpy(shape, ds.shape, (size_t)ndim * sizeof *shape);
    dset_close(&ds);
    return LM_OK;
}

// Opens a dataset and checks that it holds `kind`-compatible numbers and,
// unless ndim < 0, the expected shape.
static LmStatus dset_open_checked(hid_t loc, const char *name, H5Kind kind, int ndim,
                                  const int64_t *shape, Dset *ds, const char *what) {
    LM_TRY(dset_open(loc, name, ds, what));
    KindInfo k = kind_info(kind);
    if (ds->cls != k.cls) {
        lm_error("%s: dataset %s holds %s data, expected %s", what, ds->path, class_name(ds->cls),
                 k.name);
        dset_close(ds);
        return LM_ERUNTIME;
    }
    if (ndim < 0) return LM_OK;
    int same = ds->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = ds->shape[i] == shape[i];
    if (same) return LM_OK;
    char got[128], want[128];
    shape_str(got, sizeof got, ds->ndim, ds->shape);
    shape_str(want, sizeof want, ndim, shape);
    lm_error("%s: dataset %s has shape %s, expected %s", what, ds->path, got, want);
    dset_close(ds);
    return LM_ERUNTIME;
}

static LmStatus dset_read(Dset *ds, hid_t mtype, hid_t mspace, hid_t fspace, void *data,
                          const char *what) {
    herr_t rc = H5Dread(ds->d, mtype, mspace, fspace, H5P_DEFAULT, data);
    const char *why = rc < 0 ? h5_reason() : "";
    if (rc >= 0) return LM_OK;
    lm_error("%s: cannot read dataset %s: data is damaged%s", what, ds->path, why);
    lm_hint("the file is corrupt (checksum or storage error); use an earlier copy or rebuild it");
    return LM_ERUNTIME;
}

LmStatus h5_check(hid_t loc, const char *name, H5Kind kind, int ndim, const int64_t *shape,
                  const char *what) {
    Dset ds;
    LM_TRY(dset_open_checked(loc, name, kind, ndim, shape, &ds, what));
    LM_TRY(dset_stored(&ds, what));
    dset_close(&ds);
    return LM_OK;
}

LmStatus h5_read(hid_t loc, const char *name, H5Kind kind, void *data, int ndim,
                 const int64_t *shape, const char *what) {
    Dset ds;
    LM_TRY(dset_open_checked(loc, name, kind, ndim, shape, &ds, what));
    LM_TRY(dset_stored(&ds, what));
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)shape[i];
    LmStatus st = n ? dset_read(&ds, kind_info(kind).mem, H5S_ALL, H5S_ALL, data, what) : LM_OK;
    dset_close(&ds);
    return st;
}

LmStatus h5_read_range(hid_t loc, const char *name, H5Kind kind, void *data, int64_t start,
                       int64_t count, const char *what) {
    Dset ds;
    LM_TRY(dset_open_checked(loc, name, kind, -1, NULL, &ds, what));
    if (ds.ndim != 1 || start < 0 || count < 0 || start > ds.shape[0] - count) {
        if (ds.ndim != 1) lm_error("%s: dataset %s has rank %d, expected 1", what, ds.path, ds.ndim);
        else lm_error("%s: range [%lld, %lld) is outside dataset %s of length %lld", what,
                      (long long)start, (long long)(start + count), ds.path,
                      (long long)ds.shape[0]);
        dset_close(&ds);
        return LM_ERUNTIME;
    }
    hsize_t off = (hsize_t)start, cnt = (hsize_t)count;
    hid_t fsp = H5Dget_space(ds.d), msp = H5Screate_simple(1, &cnt, NULL);
    H5Sselect_hyperslab(fsp, H5S_SELECT_SET, &off, NULL, &cnt, NULL);
    LmStatus st = count ? dset_read(&ds, kind_info(kind).mem, msp, fsp, data, what) : LM_OK;
    H5Sclose(msp);
    H5Sclose(fsp);
    dset_close(&ds);
    return st;
}

LmStatus h5_read_strings(hid_t loc, const char *name, char ***strs, int64_t *n, const char *what) {
    Dset ds;
    *strs = NULL;
    *n = 0;
    LM_TRY(dset_open(loc, name, &ds, what));
    if (ds.ndim != 1 || ds.cls != H5T_STRING || H5Tis_variable_str(ds.type) <= 0) {
        lm_error("%s: dataset %s is not a 1-D array of variable-length strings", what, ds.path);
        dset_close(&ds);
        return LM_ERUNTIME;
    }
    LM_TRY(dset_stored(&ds, what));
    char **raw = xcalloc((size_t)ds.shape[0], sizeof *raw);
    LmStatus st = ds.shape[0] ? dset_read(&ds, ds.type, H5S_ALL, H5S_ALL, raw, what) : LM_OK;
    if (st == LM_OK) {
        *strs = strings_pack(raw, ds.shape[0]);
        *n = ds.shape[0];
        hsize_t dim = (hsize_t)ds.shape[0];
        hid_t sp = H5Screate_simple(1, &dim, NULL);
        H5Dvlen_reclaim(ds.type, sp, H5P_DEFAULT, raw);
        H5Sclose(sp);
    }
    free(raw);
    dset_close(&ds);
    return st;
}

// ------------------------------------------------------------- copying

#define COPY_DEPTH 8  // hard links may form cycles

typedef struct {
    hid_t dst;
    const char *obj;  // source object, for messages
    const char *what;
    int failed;
} AttrCopy;

// One attribute onto ac->dst in its own type and shape.
static herr_t attr_copy_one(hid_t src, const char *name, const H5A_info_t *info, void *data) {
    (void)info;
    AttrCopy *ac = data;
    hid_t a = H5Aopen(src, name, H5P_DEFAULT);
    hid_t ft = H5Aget_type(a), sp = H5Aget_space(a), mt = H5Tget_native_type(ft, H5T_DIR_DEFAULT);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    size_t size = mt >= 0 ? H5Tget_size(mt) : 0;
    // Attributes live in object headers (at most 64 KiB each).
    void *buf = n >= 0 && size && (size_t)n * size <= ((size_t)1 << 16) ? calloc((size_t)n + 1, size) : NULL;
    int read = buf && H5Aread(a, mt, buf) >= 0;
    hid_t b = read ? H5Acreate2(ac->dst, name, ft, sp, H5P_DEFAULT, H5P_DEFAULT) : -1;
    herr_t rc = b >= 0 ? H5Awrite(b, mt, buf) : -1;
    if (read && rc < 0) tmp_discard(ac->dst);
    if (read && (H5Tdetect_class(mt, H5T_VLEN) > 0 || H5Tis_variable_str(mt) > 0))
        H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, buf);
    free(buf);
    close_id(b), close_id(mt), close_id(sp), close_id(ft), close_id(a);
    if (rc >= 0) return 0;
    lm_error("%s: cannot copy attribute %s of %s%s", ac->what, name, ac->obj,
             read ? " (writing failed: disk full?)" : " (damaged or too large)");
    ac->failed = 1;
    return -1;
}

static LmStatus attrs_copy(hid_t src, hid_t dst, const char *obj, const char *what) {
    AttrCopy ac = {dst, obj, what, 0};
    hsize_t idx = 0;
    if (H5Aiterate2(src, H5_INDEX_NAME, H5_ITER_INC, &idx, attr_copy_one, &ac) >= 0) return LM_OK;
    if (!ac.failed) lm_error("%s: cannot list the attributes of %s", what, obj);
    return LM_ERUNTIME;
}

static LmStatus dset_copy(hid_t src, const char *name, hid_t dst, const char *what) {
    Dset ds;
    LM_TRY(dset_open(src, name, &ds, what));
    LM_TRY(dset_stored(&ds, what));
    hid_t mt = H5Tget_native_type(ds.type, H5T_DIR_DEFAULT), sp = H5Dget_space(ds.d);
    size_t n = 1, size = H5Tget_size(mt);
    for (int i = 0; i < ds.ndim; i++) n *= (size_t)ds.shape[i];
    void *buf = xmalloc(n * size + 1);
    LmStatus st = n ? dset_read(&ds, mt, H5S_ALL, H5S_ALL, buf, what) : LM_OK;
    if (st == LM_OK) {
        st = dset_write(dst, name, ds.type, mt, size, ds.cls != H5T_STRING, buf, ds.ndim, ds.shape);
        if (n && (H5Tdetect_class(mt, H5T_VLEN) > 0 || H5Tis_variable_str(mt) > 0))
            H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, buf);
    }
    free(buf);
    H5Sclose(sp), H5Tclose(mt);
    hid_t d = st == LM_OK ? H5Dopen2(dst, name, H5P_DEFAULT) : -1;
    if (st == LM_OK) st = attrs_copy(ds.d, d, ds.path, what);
    close_id(d);
    dset_close(&ds);
    return st;
}

static LmStatus group_copy(hid_t src, const char *name, hid_t dst, int depth, const char *what) {
    char full[PATH_BUF];
    obj_path(src, name, full, sizeof full);
    if (depth > COPY_DEPTH) {
        lm_error("%s: groups under %s nest deeper than %d levels", what, full, COPY_DEPTH);
        return LM_ERUNTIME;
    }
    hid_t sg, dg;
    char **names = NULL;
    int n = 0;
    LM_TRY(h5_open_group(src, name, &sg, what));
    LmStatus st = h5_ensure_group(dst, name, &dg);
    if (st == LM_OK) st = attrs_copy(sg, dg, full, what);
    if (st == LM_OK) st = h5_list(sg, ".", &names, &n, what);
    for (int i = 0; st == LM_OK && i < n; i++) {
        hid_t o = H5Oopen(sg, names[i], H5P_DEFAULT);
        H5I_type_t type = o >= 0 ? H5Iget_type(o) : H5I_BADID;
        close_id(o);
        if (type == H5I_GROUP) st = group_copy(sg, names[i], dg, depth + 1, what);
        else if (type == H5I_DATASET) st = dset_copy(sg, names[i], dg, what);
        else lm_error("%s: %s/%s is neither a group nor a dataset", what, full, names[i]), st = LM_ERUNTIME;
    }
    free(names);
    close_id(dg);
    H5Gclose(sg);
    return st;
}

LmStatus h5_copy_group(hid_t src, const char *name, hid_t dst, const char *what) {
    return group_copy(src, name, dst, 0, what);
}
