#include "io/files.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/signals.h"

int file_fsync(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    if (rc != 0 && errno == EINVAL) rc = 0;
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

void file_dir_of(const char *path, char *dir, size_t n) {
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, n, ".");
    else if (slash == path) snprintf(dir, n, "/");
    else snprintf(dir, n, "%.*s", (int)(slash - path), path);
}

LmStatus file_publish(const char *tmp, const char *path) {
    const char *failed = NULL;
    if (file_fsync(tmp) != 0) failed = "fsync";
    else if (rename(tmp, path) != 0) failed = "rename to its final name";
    if (failed) {
        lm_error("cannot %s %s: %s", failed, tmp, strerror(errno));
        lm_hint("%s was left unchanged (disk full or not writable?)", path);
        unlink(tmp);
        return LM_ERUNTIME;
    }
    char dir[4096];
    file_dir_of(path, dir, sizeof dir);
    if (file_fsync(dir) != 0) {
        lm_error("%s was written, but syncing directory %s failed: %s", path, dir, strerror(errno));
        return LM_ERUNTIME;
    }
    return LM_OK;
}

LmStatus file_write_all(int fd, const void *buf, size_t n, const char *path) {
    const char *p = buf;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            lm_error("cannot write %s: %s", path, w < 0 ? strerror(errno) : "no progress");
            return LM_ERUNTIME;
        }
        p += w, n -= (size_t)w;
    }
    return LM_OK;
}

LmStatus file_copy(const char *from, const char *to) {
    int in = open(from, O_RDONLY), out = in < 0 ? -1 : open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    LmStatus st = LM_OK;
    if (in < 0 || out < 0) {
        lm_error("cannot copy %s to %s: %s", from, to, strerror(errno));
        st = LM_ERUNTIME;
    }
    char buf[1 << 16];
    ssize_t n = 0;
    while (st == LM_OK && (n = read(in, buf, sizeof buf)) > 0) st = file_write_all(out, buf, (size_t)n, to);
    if (st == LM_OK && n < 0) {
        lm_error("cannot read %s: %s", from, strerror(errno));
        st = LM_ERUNTIME;
    }
    if (out >= 0 && (fsync(out) != 0 || close(out) != 0) && st == LM_OK) {
        lm_error("cannot write %s: %s", to, strerror(errno));
        st = LM_ERUNTIME;
    }
    if (in >= 0) close(in);
    return st;
}

int file_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

LmStatus file_read_text(const char *path, size_t max, char **text, size_t *len, const char *what) {
    *text = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        lm_error("%s: cannot open %s: %s", what, path, strerror(errno));
        return LM_ERUNTIME;
    }
    struct stat st;
    LmStatus s = LM_OK;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        lm_error("%s: %s is not a regular file", what, path);
        s = LM_ERUNTIME;
    } else if ((size_t)st.st_size > max) {
        lm_error("%s: %s has %lld bytes, more than the %zu this file can sensibly have", what, path,
                 (long long)st.st_size, max);
        s = LM_ERUNTIME;
    }
    if (s == LM_OK) {
        *text = xmalloc((size_t)st.st_size + 1);
        *len = fread(*text, 1, (size_t)st.st_size, f);
        (*text)[*len] = '\0';
        if (*len != (size_t)st.st_size) {
            lm_error("%s: cannot read %s: %s", what, path, strerror(errno));
            free(*text), *text = NULL;
            s = LM_ERUNTIME;
        }
    }
    fclose(f);
    return s;
}

uint64_t file_parse_size(const char *s) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    static const struct { const char *unit; double mult; } U[] = {
        {"", 1}, {"B", 1}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
        {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0}, {"TiB", 1099511627776.0}};
    for (size_t i = 0; end != s && !errno && v > 0 && i < sizeof U / sizeof *U; i++)
        if (!strcmp(end, U[i].unit) && v * U[i].mult < 1.8e19) return (uint64_t)(v * U[i].mult);
    return 0;
}


LmStatus file_out_open(FileOut *o, const char *path, const char *what) {
    memset(o, 0, sizeof *o);
    o->what = what;
    snprintf(o->path, sizeof o->path, "%s", path);
    if (!strcmp(path, "-")) {
        o->f = stdout;
        return LM_OK;
    }
    snprintf(o->tmp, sizeof o->tmp, "%s.tmp.%ld", path, (long)getpid());
    if ((o->f = fopen(o->tmp, "w"))) {
        signals_track_tmp(o->tmp);
        return LM_OK;
    }
    lm_error("%s %s: cannot create %s: %s", what, path, o->tmp, strerror(errno));
    lm_hint("check that the directory exists and is writable");
    return LM_ERUNTIME;
}

LmStatus file_out_close(FileOut *o, LmStatus st) {
    if (!o->f) return st;
    int to_file = o->f != stdout, e = 0;
    // A full disk shows at the flush of the last buffered bytes, or at fclose.
    errno = 0;
    if (fflush(o->f) != 0 || ferror(o->f)) e = errno ? errno : EIO;
    if (to_file && fclose(o->f) != 0 && !e) e = errno ? errno : EIO;
    o->f = NULL;
    if (e && st == LM_OK) {
        lm_error("%s %s: cannot write: %s", o->what, o->path, strerror(e));
        lm_hint("%s", to_file ? "disk full or not writable? the file was not written"
                              : "standard output could not be written (disk full or closed?)");
        st = LM_ERUNTIME;
    }
    if (!to_file) return st;
    if (st == LM_OK) st = file_publish(o->tmp, o->path);
    else unlink(o->tmp);
    signals_untrack_tmp(o->tmp);
    return st;
}
