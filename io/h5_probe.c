// The metadata of an HDF5 file read once in a child process before this
// process trusts it. HDF5 1.10 believes a damaged file's metadata: a bad
// global heap collection (where variable-length strings live) makes
// H5Aread loop for ever or crash, a bad B-tree crashes the object visitor.
// No check before the call can see that, so a child reads every attribute,
// every variable-length dataset and every chunk index first, under a CPU
// limit; if it crashes, spins or fails, the file is reported as damaged,
// naming the object it was reading, and the caller never opens it.
#define _DEFAULT_SOURCE  // MAP_ANONYMOUS
#include "io/h5.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOTE_LEN 512
#define CACHE 64
// CPU seconds a metadata walk may take: a base plus 1 s per 100 MB of file
// (only text datasets are read in full; numbers are not read at all).
#define BASE_SECONDS 2
#define BYTES_PER_SECOND 100e6
#define ATTR_MAX ((size_t)1 << 16)  // attributes live in object headers

enum { PROBE_OK = 0, PROBE_BAD = 3 };

// Files probed already, with the result (a command opens a file many times).
typedef struct {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    int status;                // waitpid status of the child
    char note[NOTE_LEN];
} Probed;
static Probed g_seen[CACHE];
static int g_n_seen, g_next;

static Probed *seen(const struct stat *st) {
    for (int i = 0; i < g_n_seen; i++) {
        Probed *p = &g_seen[i];
        if (p->dev == st->st_dev && p->ino == st->st_ino && p->size == st->st_size &&
            p->mtime.tv_sec == st->st_mtim.tv_sec && p->mtime.tv_nsec == st->st_mtim.tv_nsec)
            return p;
    }
    return NULL;
}

static void remember(const struct stat *st, int status, const char *note) {
    Probed *p = &g_seen[g_n_seen < CACHE ? g_n_seen++ : g_next++ % CACHE];
    p->dev = st->st_dev, p->ino = st->st_ino, p->size = st->st_size, p->mtime = st->st_mtim;
    p->status = status;
    snprintf(p->note, sizeof p->note, "%.*s", NOTE_LEN - 1, note);
}

static rlim_t cpu_budget(off_t size) {
    return BASE_SECONDS + (rlim_t)((double)size / BYTES_PER_SECOND);
}

// ------------------------------------------------------------ the child

static char *g_note;  // shared with the parent: what the child is reading

static void note(const char *kind, const char *obj, const char *attr) {
    snprintf(g_note, NOTE_LEN, "%s %s%s%s", kind, obj, attr ? " attribute " : "", attr ? attr : "");
}

static int vlen(hid_t type) { return H5Tdetect_class(type, H5T_VLEN) > 0 || H5Tis_variable_str(type) > 0; }

static herr_t attr_read(hid_t loc, const char *name, const H5A_info_t *info, void *obj) {
    (void)info;
    note("reading", obj, name);
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t ft = H5Aget_type(a), sp = H5Aget_space(a), mt = H5Tget_native_type(ft, H5T_DIR_DEFAULT);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    size_t size = mt >= 0 ? H5Tget_size(mt) : 0;
    void *buf = n >= 0 && size && (size_t)n * size <= ATTR_MAX ? calloc((size_t)n + 1, size) : NULL;
    herr_t rc = buf ? H5Aread(a, mt, buf) : -1;
    if (rc >= 0 && vlen(mt)) H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, buf);
    free(buf);
    H5Tclose(mt), H5Sclose(sp), H5Tclose(ft), H5Aclose(a);
    return rc;
}

// The chunk index (walked by the storage size) and variable-length data.
static herr_t dataset_read(hid_t d, const char *obj) {
    note("reading the storage of dataset", obj, NULL);
    H5Dget_storage_size(d);
    hid_t ft = H5Dget_type(d), mt = H5Tget_native_type(ft, H5T_DIR_DEFAULT), sp = H5Dget_space(d);
    herr_t rc = 0;
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    if (vlen(mt) && n > 0) {
        note("reading the strings of dataset", obj, NULL);
        // Each element is stored as a 16-byte heap reference: the storage
        // bounds n before anything is allocated for it.
        void *buf = (hsize_t)n <= H5Dget_storage_size(d) / 8 ? calloc((size_t)n, H5Tget_size(mt)) : NULL;
        rc = buf ? H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) : -1;
        if (rc >= 0) H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, buf);
        free(buf);
    }
    H5Sclose(sp), H5Tclose(mt), H5Tclose(ft);
    return rc;
}

static herr_t object_read(hid_t f, const char *name, const H5O_info_t *info, void *data) {
    (void)data;
    char obj[NOTE_LEN / 2];
    snprintf(obj, sizeof obj, "/%s", strcmp(name, ".") ? name : "");
    note("opening", obj, NULL);
    hid_t o = H5Oopen(f, name, H5P_DEFAULT);
    if (o < 0) return -1;
    hsize_t idx = 0;
    herr_t rc = H5Aiterate2(o, H5_INDEX_NAME, H5_ITER_INC, &idx, attr_read, obj);
    if (rc >= 0 && info->type == H5O_TYPE_DATASET) rc = dataset_read(o, obj);
    H5Oclose(o);
    return rc;
}

static void child(const char *path, off_t size) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // no orphan if the parent is killed
    // A crash is the verdict, not news: no backtrace from MPI's handlers,
    // no crash report of a sanitizer or fuzzer.
    static const int FATAL[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (size_t i = 0; i < sizeof FATAL / sizeof *FATAL; i++) signal(FATAL[i], SIG_DFL);
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, STDOUT_FILENO), dup2(null, STDERR_FILENO);
    rlim_t cpu = cpu_budget(size);
    struct rlimit r = {cpu, cpu + 1};
    setrlimit(RLIMIT_CPU, &r);
    note("opening", "the file", NULL);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_sec2(fapl);
    H5Pset_file_locking(fapl, 0, 1);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    // A file HDF5 cannot open is the caller's to report, in its own words.
    if (f < 0) _exit(PROBE_OK);
    note("listing", "the objects", NULL);
    herr_t rc = H5Ovisit(f, H5_INDEX_NAME, H5_ITER_INC, object_read, NULL);
    _exit(rc >= 0 ? PROBE_OK : PROBE_BAD);  // no atexit: nothing of the parent's is flushed
}

// ----------------------------------------------------------- the parent

static LmStatus verdict(int status, const char *note_text, rlim_t cpu, const char *what) {
    if (WIFEXITED(status) && WEXITSTATUS(status) == PROBE_OK) return LM_OK;
    if (WIFEXITED(status) && WEXITSTATUS(status) == PROBE_BAD)
        lm_error("%s: the file is damaged: HDF5 failed %s", what, note_text);
    else if (WIFSIGNALED(status) && (WTERMSIG(status) == SIGXCPU || WTERMSIG(status) == SIGKILL))
        lm_error("%s: the file is damaged: %s did not finish within %llu CPU-seconds", what,
                 note_text, (unsigned long long)cpu);
    else if (WIFSIGNALED(status))
        lm_error("%s: the file is damaged: HDF5 crashed (signal %d) %s", what, WTERMSIG(status),
                 note_text);
    else
        lm_error("%s: the file is damaged (checking it ended with status %d)", what, WEXITSTATUS(status));
    lm_hint("use an earlier copy of the file or rebuild it");
    return LM_ERUNTIME;
}

LmStatus h5_probe(const char *path, const char *what) {
    struct stat st;
    if (stat(path, &st) != 0) return LM_OK;  // a missing file is reported by the caller
    const Probed *p = seen(&st);
    if (p) return verdict(p->status, p->note, cpu_budget(st.st_size), what);
    char *shared = mmap(NULL, NOTE_LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) return LM_OK;  // no isolation possible: read as before
    shared[0] = '\0';
    fflush(stdout), fflush(stderr);  // the child must not write the parent's buffers twice
    pid_t pid = fork();
    if (pid == 0) {
        g_note = shared;
        child(path, st.st_size);
    }
    int status = 0;
    while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    char text[NOTE_LEN];
    snprintf(text, sizeof text, "%.*s", NOTE_LEN - 1, shared);
    munmap(shared, NOTE_LEN);
    if (pid < 0) return LM_OK;  // no process left to spare: read as before
    remember(&st, status, text);
    return verdict(status, text, cpu_budget(st.st_size), what);
}
