// File inputs of `landermt prep`: prep.tsv (src<TAB>tgt lines), prep.moses
// (two line-aligned files) and prep.text (one sentence per line), read into
// the raw item lists of their direction or language.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "prep/build.h"
#include "util/alloc.h"

#define MALFORMED_SHOWN 3  // malformed lines named per file; the rest are counted

typedef enum { INPUT_TSV, INPUT_MOSES, INPUT_TEXT, N_INPUT_KINDS } InputKind;

static const struct {
    const char *key, *syntax, *example;
} KINDS[N_INPUT_KINDS] = {
    {"prep.tsv", "SRC-TGT:PATH", "de-en:train.tsv"},
    {"prep.moses", "SRC-TGT:PATH_SRC,PATH_TGT", "de-en:train.de,train.en"},
    {"prep.text", "LANG:PATH", "de:news.de.txt"},
};

// One parsed item: languages (tgt empty for text) and its file(s).
typedef struct {
    char src[PREP_LANG_MAX], tgt[PREP_LANG_MAX];
    char path[CFG_STR], path2[CFG_STR];
} InputItem;

static const CfgList *kind_list(const Config *c, InputKind k) {
    return k == INPUT_TSV ? &c->prep.tsv : k == INPUT_MOSES ? &c->prep.moses : &c->prep.text;
}

// "de-en" or "de" (text) into it->src / it->tgt.
static int langs_parse(const char *s, size_t n, InputKind k, InputItem *it) {
    const char *dash = memchr(s, '-', n);
    if (k == INPUT_TEXT) {
        if (!prep_lang_valid(s, n)) return 0;
        memcpy(it->src, s, n);
        return 1;
    }
    if (!dash) return 0;
    size_t a = (size_t)(dash - s), b = n - a - 1;
    if (!prep_lang_valid(s, a) || !prep_lang_valid(dash + 1, b)) return 0;
    if (a == b && !strncasecmp(s, dash + 1, a)) return 0;
    memcpy(it->src, s, a);
    memcpy(it->tgt, dash + 1, b);
    return 1;
}

static int paths_parse(const char *p, InputKind k, InputItem *it) {
    if (k != INPUT_MOSES) {
        snprintf(it->path, sizeof it->path, "%s", p);
        return *p != '\0';
    }
    const char *comma = strchr(p, ',');
    if (!comma || comma == p || !comma[1]) return 0;
    snprintf(it->path, sizeof it->path, "%.*s", (int)(comma - p), p);
    snprintf(it->path2, sizeof it->path2, "%s", comma + 1);
    return 1;
}

static LmStatus item_parse(const Config *c, InputKind k, int i, InputItem *it) {
    const char *s = kind_list(c, k)->item[i], *colon = strchr(s, ':');
    memset(it, 0, sizeof *it);
    if (colon && langs_parse(s, (size_t)(colon - s), k, it) && paths_parse(colon + 1, k, it))
        return LM_OK;
    lm_error("%s[%d]: expected %s, got \"%s\"", KINDS[k].key, i, KINDS[k].syntax, s);
    lm_hint("language codes are letters and '_' (de, zh_CN)%s; e.g. %s",
            k == INPUT_TEXT ? "" : ", two different ones joined by '-'", KINDS[k].example);
    return LM_EUSAGE;
}

// 0 when path is a readable regular file; else prints why, naming the item
// (key[i], or key alone for i < 0).
static int file_missing(const char *key, int i, const char *path) {
    struct stat st;
    FILE *fp = NULL;
    const char *why = NULL;
    if (stat(path, &st) != 0) why = strerror(errno);
    else if (S_ISDIR(st.st_mode)) why = "is a directory, expected a file";
    else if (!(fp = fopen(path, "rb"))) why = strerror(errno);
    if (fp) fclose(fp);
    if (why && i >= 0) lm_error("%s[%d]: cannot read %s: %s", key, i, path, why);
    else if (why) lm_error("%s: cannot read %s: %s", key, path, why);
    return why != NULL;
}

// prep.tokenizer: a file, or a Hugging Face model directory with its
// tokenizer.json.
static int tokenizer_missing(const char *path) {
    struct stat st;
    char json[CFG_STR + 32];
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return file_missing("prep.tokenizer", -1, path);
    snprintf(json, sizeof json, "%s/tokenizer.json", path);
    return file_missing("prep.tokenizer", -1, json);
}

// Every input, and the tokenizer to reuse: a typo fails here, before
// minutes of reading.
LmStatus inputs_check(const Config *c) {
    int missing = 0;
    for (InputKind k = 0; k < N_INPUT_KINDS; k++) {
        for (int i = 0; i < kind_list(c, k)->n; i++) {
            InputItem it;
            LM_TRY(item_parse(c, k, i, &it));
            missing += file_missing(KINDS[k].key, i, it.path);
            if (k == INPUT_MOSES) missing += file_missing(KINDS[k].key, i, it.path2);
        }
    }
    if (c->prep.tokenizer[0]) missing += tokenizer_missing(c->prep.tokenizer);
    if (missing) lm_hint("%d input file%s missing or unreadable; check the paths in the config",
                         missing, missing > 1 ? "s are" : " is");
    return missing ? LM_ERUNTIME : LM_OK;
}

// ---------------------------------------------------------------------------
// Lines

typedef struct {
    FILE *fp;
    const char *path;
    char *line;
    size_t cap, len;
    int64_t lineno;
} LineReader;

static LmStatus reader_open(LineReader *r, const char *path) {
    memset(r, 0, sizeof *r);
    r->path = path;
    r->fp = fopen(path, "rb");
    if (r->fp) return LM_OK;
    lm_error("cannot open %s: %s", path, strerror(errno));
    return LM_ERUNTIME;
}

// Next line without its '\n'; 0 at the end of the file.
static int reader_next(LineReader *r) {
    ssize_t n = getline(&r->line, &r->cap, r->fp);
    if (n < 0) return 0;
    r->len = (size_t)n;
    if (r->len && r->line[r->len - 1] == '\n') r->line[--r->len] = '\0';
    r->lineno++;
    return 1;
}

static LmStatus reader_close(LineReader *r) {
    int bad = ferror(r->fp);
    fclose(r->fp);
    free(r->line);
    if (!bad) return LM_OK;
    lm_error("error reading %s (line %lld)", r->path, (long long)r->lineno + 1);
    return LM_ERUNTIME;
}

static int line_blank(const char *s) {
    return s[strspn(s, " \t\r\n\v\f")] == '\0';
}

// ---------------------------------------------------------------------------
// The three kinds

static void tsv_line(LineReader *r, PrepDirection *d, int64_t *malformed) {
    if (!prep_utf8_valid(r->line, r->len)) {
        d->invalid_utf8++;
        return;
    }
    if (line_blank(r->line)) return;
    char *tab = strchr(r->line, '\t');
    if (tab && !strchr(tab + 1, '\t')) {
        *tab = '\0';
        items_push(&d->raw, xstrdup(r->line), xstrdup(tab + 1));
        return;
    }
    if (++*malformed <= MALFORMED_SHOWN)
        fprintf(stderr, "warning: %s:%lld: expected exactly one tab (src<TAB>tgt); line skipped\n",
                r->path, (long long)r->lineno);
}

static LmStatus tsv_read(const InputItem *it, PrepDirection *d) {
    LineReader r;
    int64_t malformed = 0;
    LM_TRY(reader_open(&r, it->path));
    while (reader_next(&r)) tsv_line(&r, d, &malformed);
    if (malformed > MALFORMED_SHOWN)
        fprintf(stderr, "warning: %s: %lld malformed lines in all (without exactly one tab), skipped\n",
                it->path, (long long)malformed);
    d->malformed += malformed;
    return reader_close(&r);
}

// All lines of a file; invalid UTF-8 lines become NULL.
static LmStatus lines_slurp(const char *path, char ***lines, int64_t *n) {
    LineReader r;
    int64_t cap = 0;
    *lines = NULL;
    *n = 0;
    LM_TRY(reader_open(&r, path));
    while (reader_next(&r)) {
        if (*n == cap) *lines = xrealloc(*lines, (size_t)(cap = cap ? 2 * cap : 1024) * sizeof **lines);
        (*lines)[(*n)++] = prep_utf8_valid(r.line, r.len) ? xstrdup(r.line) : NULL;
    }
    return reader_close(&r);
}

static void lines_free(char **lines, int64_t n) {
    for (int64_t i = 0; i < n; i++) free(lines[i]);
    free(lines);
}

static LmStatus moses_read(const InputItem *it, int idx, PrepDirection *d) {
    char **a = NULL, **b = NULL;
    int64_t na = 0, nb = 0;
    LmStatus st = lines_slurp(it->path, &a, &na);
    if (st == LM_OK) st = lines_slurp(it->path2, &b, &nb);
    if (st == LM_OK && na != nb) {
        lm_error("prep.moses[%d]: %s has %lld lines but %s has %lld; the files must be line-aligned",
                 idx, it->path, (long long)na, it->path2, (long long)nb);
        st = LM_ERUNTIME;
    }
    for (int64_t i = 0; st == LM_OK && i < na; i++) {
        if (!a[i] || !b[i]) {
            d->invalid_utf8++;
            continue;
        }
        items_push(&d->raw, a[i], b[i]);
        a[i] = b[i] = NULL;
    }
    lines_free(a, na);
    lines_free(b, nb);
    return st;
}

static LmStatus text_read(const InputItem *it, PrepMono *m) {
    LineReader r;
    LM_TRY(reader_open(&r, it->path));
    while (reader_next(&r)) {
        if (prep_utf8_valid(r.line, r.len)) items_push(&m->raw, xstrdup(r.line), NULL);
        else m->invalid_utf8++;
    }
    return reader_close(&r);
}

static LmStatus input_read(const Config *c, InputKind k, int i, PrepData *d) {
    InputItem it;
    LM_TRY(item_parse(c, k, i, &it));
    if (k == INPUT_TEXT) {
        PrepMono *m = prepdata_mono(d, it.src);
        m->from_text = 1;
        return text_read(&it, m);
    }
    PrepDirection *dir = prepdata_direction(d, c, it.src, it.tgt);
    return k == INPUT_TSV ? tsv_read(&it, dir) : moses_read(&it, i, dir);
}

LmStatus inputs_read(const Config *c, PrepData *d) {
    for (InputKind k = 0; k < N_INPUT_KINDS; k++)
        for (int i = 0; i < kind_list(c, k)->n; i++) LM_TRY(input_read(c, k, i, d));
    return LM_OK;
}
