// Reading text files line by line (UTF-8, "\n" or "\r\n" endings).
#ifndef LM_LINES_H
#define LM_LINES_H

#include <stdint.h>
#include <stdio.h>

#include "util/err.h"

typedef struct {
    int64_t n;
    char **line;  // [n] malloc'ed, without the line ending
} Lines;

// Every line of f; `what` names the source in errors (LM_ERUNTIME).
LmStatus lines_read(FILE *f, const char *what, Lines *out);
// Same for a file path (a missing file is an error "<what><path>: ...").
LmStatus lines_read_path(const char *path, const char *what, Lines *out);
void lines_free(Lines *l);

#endif
