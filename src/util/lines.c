#include "util/lines.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "util/alloc.h"

LmStatus lines_read(FILE *f, const char *what, Lines *out) {
    char *line = NULL;
    size_t cap = 0, n_cap = 0;
    ssize_t len;
    memset(out, 0, sizeof *out);
    errno = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        if (len && line[len - 1] == '\n') line[--len] = '\0';
        if (len && line[len - 1] == '\r') line[--len] = '\0';
        if ((size_t)out->n == n_cap) out->line = xrealloc(out->line, sizeof(char *) * (n_cap = 2 * n_cap + 16));
        out->line[out->n++] = xstrdup(line);
    }
    free(line);
    if (!ferror(f)) return LM_OK;
    lm_error("%s: read error: %s", what, strerror(errno));
    lines_free(out);
    return LM_ERUNTIME;
}

LmStatus lines_read_path(const char *path, const char *what, Lines *out) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f) {
        lm_error("%s%s: cannot open: %s", what, path, strerror(errno));
        return LM_ERUNTIME;
    }
    LmStatus st = lines_read(f, what, out);
    fclose(f);
    return st;
}

void lines_free(Lines *l) {
    for (int64_t i = 0; i < l->n; i++) free(l->line[i]);
    free(l->line);
    memset(l, 0, sizeof *l);
}
