#include "util/jsonout.h"

#include <stdlib.h>

#include "util/alloc.h"
#include "util/utf8.h"

void json_write_string(FILE *out, const char *s, size_t n) {
    char *valid = xmalloc(3 * n + 1);
    size_t m = utf8_lossy(s, n, valid);
    fputc('"', out);
    for (size_t i = 0; i < m; i++) {
        unsigned char c = (unsigned char)valid[i];
        const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b"
                        : c == '\f' ? "\\f" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
                        : c == '\t' ? "\\t" : NULL;
        if (esc) fputs(esc, out);
        else if (c < 0x20) fprintf(out, "\\u%04x", c);
        else fputc(c, out);
    }
    fputc('"', out);
    free(valid);
}
