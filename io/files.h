// Plain-file helpers shared by the writers and readers of io/: durable
// atomic publication (write a temporary file, fsync, rename, fsync the
// directory), complete writes, bounded whole-file reads.
#ifndef LM_FILES_H
#define LM_FILES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util/err.h"

// fsync of a file or directory; 0 on success (a filesystem that cannot
// sync directories is not an error). errno is kept on failure.
int file_fsync(const char *path);
// The directory part of path ("." when there is none).
void file_dir_of(const char *path, char *dir, size_t n);
// fsyncs tmp, renames it over path and fsyncs the directory. On failure
// tmp is removed, path is untouched, and the error names both.
LmStatus file_publish(const char *tmp, const char *path);
// write(2) until all n bytes are out; errors (disk full, ...) name path.
LmStatus file_write_all(int fd, const void *buf, size_t n, const char *path);
// Copies a file byte for byte (fsynced); errors name both paths.
LmStatus file_copy(const char *from, const char *to);
// 1 if path is a directory.
int file_is_dir(const char *path);
// Reads a whole file of at most max bytes into a NUL-terminated malloc'ed
// buffer (*len excludes the NUL). Errors name `what`.
LmStatus file_read_text(const char *path, size_t max, char **text, size_t *len, const char *what);

// A text output that appears complete or not at all: written to
// "<path>.tmp.<pid>" and published by file_out_close (flush, fsync, rename)
// only when every write succeeded, so a full disk never leaves an empty or
// half-written file behind a success. Path "-" writes to stdout.
typedef struct {
    FILE *f;
    char path[4096], tmp[4200];
    const char *what;  // names the output in messages ("translate.output")
} FileOut;
LmStatus file_out_open(FileOut *o, const char *path, const char *what);
// st: the caller's status so far; on LM_OK publishes (errors name path and
// the reason), otherwise only removes the temporary. Returns the result.
LmStatus file_out_close(FileOut *o, LmStatus st);

// Parses a byte size: "5GB", "500MB" (powers of 1000, as transformers'
// max_shard_size), "2GiB" (powers of 1024) or plain bytes; 0 if invalid.
uint64_t file_parse_size(const char *s);

#endif
