#include "train/metrics_file.h"

#include <stdlib.h>
#include <string.h>

#include "io/config.h"
#include "util/alloc.h"

// The integer after "key": in a JSON line, or -1.
static int64_t json_int(const char *line, const char *key) {
    const char *p = strstr(line, key);
    return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

// Rewrites path with the kept lines (through a temporary file and rename,
// so a kill in between leaves the old or the new file, never half of one).
static int keep_lines(const char *path, int64_t step, int64_t iter) {
    FILE *in = fopen(path, "r");
    if (!in) return 1;  // no file yet
    char tmp[2 * CFG_STR + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *out = fopen(tmp, "w");
    char *line = NULL;
    size_t cap = 0;
    long dropped = 0;
    while (out && getline(&line, &cap, in) >= 0) {
        int64_t it = json_int(line, "\"iter\":"), st = json_int(line, "\"step\":");
        if (it >= 0 ? it <= iter : st <= step) fputs(line, out);
        else dropped++;
    }
    free(line);
    fclose(in);
    int ok = out && fclose(out) == 0 && rename(tmp, path) == 0;
    if (!ok) remove(tmp);
    if (ok && dropped)
        printf("metrics.jsonl: dropped %ld line(s) logged after iteration %lld (not in the checkpoint)\n",
               dropped, (long long)iter);
    return ok;
}

FILE *metrics_file_open(const char *dir, int64_t step, int64_t iter) {
    char path[2 * CFG_STR];
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    FILE *f = keep_lines(path, step, iter) ? fopen(path, "a") : NULL;
    if (!f) fprintf(stderr, "warning: cannot write %s; training goes on without it\n", path);
    return f;
}
