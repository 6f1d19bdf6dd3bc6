// gettext inputs of `landermt prep`: every .mo file under prep.mo (and
// /usr/share/locale with prep.system_locale) whose language is one of
// prep.languages gives (msgid, translation) pairs of direction
// <pivot>-<configured language>.
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "prep/build.h"
#include "prep/mo.h"
#include "util/alloc.h"

#define SYSTEM_LOCALE "/usr/share/locale"

static int gettext_on(const Config *c) {
    return c->prep.mo.n > 0 || c->prep.system_locale;
}

static LmStatus code_check(const char *key, int i, const char *code) {
    if (prep_lang_valid(code, strlen(code))) return LM_OK;
    if (i < 0) lm_error("%s: expected a language code (letters and '_', e.g. en), got \"%s\"", key, code);
    else lm_error("%s[%d]: expected a language code (letters and '_', e.g. zh_CN), got \"%s\"", key, i, code);
    return LM_EUSAGE;
}

LmStatus catalogs_check(const Config *c) {
    const CfgList *langs = &c->prep.languages;
    LM_TRY(code_check("prep.pivot", -1, c->prep.pivot));
    if (!gettext_on(c)) return LM_OK;
    for (int i = 0; i < langs->n; i++) {
        LM_TRY(code_check("prep.languages", i, langs->item[i]));
        if (strcasecmp(langs->item[i], c->prep.pivot)) continue;
        lm_error("prep.languages[%d] is the pivot language \"%s\"", i, c->prep.pivot);
        lm_hint("prep.languages lists the translation languages of the %s msgids", c->prep.pivot);
        return LM_EUSAGE;
    }
    int missing = 0;
    for (int i = 0; i < c->prep.mo.n; i++) {
        struct stat st;
        if (stat(c->prep.mo.item[i], &st) == 0) continue;
        lm_error("prep.mo[%d]: cannot read %s: %s", i, c->prep.mo.item[i], strerror(errno));
        missing++;
    }
    return missing ? LM_ERUNTIME : LM_OK;
}

// ---------------------------------------------------------------------------
// Languages

// A region suffix: "_" + 2-3 letters or 3 digits (de_AT, es_419), nothing
// else: scripts and variants (sr@latin, zh_Hant, ca_ES@valencia) differ in
// writing, not only in vocabulary.
static int is_region(const char *r) {
    size_t n = strlen(r), alpha = 0, digit = 0;
    for (size_t i = 0; i < n; i++) {
        alpha += (r[i] | 0x20) >= 'a' && (r[i] | 0x20) <= 'z';
        digit += r[i] >= '0' && r[i] <= '9';
    }
    return (n == 2 || n == 3) && (alpha == n || digit == n);
}

// de -> de_DE, de_AT, ... but not for zh: its regions are different
// scripts (zh_CN simplified, zh_TW / zh_HK traditional).
static int regional_variant(const char *code, const char *cat) {
    size_t n = strlen(code);
    if (strchr(code, '_') || strchr(code, '@') || !strcasecmp(code, "zh")) return 0;
    return !strncasecmp(cat, code, n) && cat[n] == '_' && is_region(cat + n + 1);
}

int catalog_language_match(const CfgList *langs, const char *cat) {
    for (int i = 0; i < langs->n; i++)
        if (!strcasecmp(langs->item[i], cat)) return i;
    for (int i = 0; i < langs->n; i++)
        if (regional_variant(langs->item[i], cat)) return i;
    return -1;
}

// A locale name as a language: '-' read as '_' (some packages write zh-CN)
// and a codeset dropped (de_DE.UTF-8 -> de_DE, sr_RS.UTF-8@latin ->
// sr_RS@latin: the modifier stays, it names a script).
static void lang_normalise(char *s) {
    for (char *p = s; *p; p++)
        if (*p == '-') *p = '_';
    char *dot = strchr(s, '.');
    if (!dot) return;
    const char *at = strchr(dot, '@'), *rest = at ? at : dot + strlen(dot);
    memmove(dot, rest, strlen(rest) + 1);
}

// ".../<lang>/LC_MESSAGES/<domain>.mo" -> lang. 0 when the path has no such form.
static int path_language(const char *path, char out[PREP_LANG_MAX]) {
    static const char LC[] = "/LC_MESSAGES";
    const size_t k = sizeof LC - 1;
    const char *slash = strrchr(path, '/');
    if (!slash || (size_t)(slash - path) < k + 1 || strncmp(slash - k, LC, k)) return 0;
    const char *end = slash - k, *start = end;
    while (start > path && start[-1] != '/') start--;
    size_t n = (size_t)(end - start);
    if (!n || n >= PREP_LANG_MAX) return 0;
    memcpy(out, start, n);
    out[n] = '\0';
    lang_normalise(out);
    return 1;
}

static void header_language(const MoCatalog *cat, char out[PREP_LANG_MAX]) {
    snprintf(out, PREP_LANG_MAX, "%s", cat->language ? cat->language : "");
    lang_normalise(out);
}

// ---------------------------------------------------------------------------
// Reading one catalog

static void catalog_pairs(const MoCatalog *cat, PrepDirection *dir) {
    for (int i = 0; i < cat->n; i++) {
        MoPair p[2];
        int n = mo_entry_pairs(cat, &cat->e[i], p);
        for (int k = 0; k < n; k++) items_push(&dir->raw, xstrdup(p[k].src), xstrdup(p[k].tgt));
    }
    dir->bad_charset += cat->n_bad_charset;
}

// A catalog of a language not configured, or of none: counted; an
// explicitly named file also gets a note.
static void catalog_skip(PrepData *d, const char *path, const char *lang, int named) {
    if (lang[0]) d->mo_other_language++;
    else d->mo_no_language++;
    if (named && lang[0])
        fprintf(stderr, "warning: %s: language %s is not in prep.languages; skipped\n", path, lang);
}

// Reads the catalog at path. named: given as a file in prep.mo, where an
// unreadable catalog or one of unknown language is an error; found in a
// directory walk, it is a warning (one bad catalog among hundreds).
static LmStatus catalog_take(const Config *c, PrepData *d, const char *path, int named) {
    char lang[PREP_LANG_MAX];
    int from_path = path_language(path, lang);
    if (from_path && catalog_language_match(&c->prep.languages, lang) < 0) {
        catalog_skip(d, path, lang, named);
        return LM_OK;  // not read at all: most catalogs of a tree are other languages
    }
    MoCatalog cat;
    if (mo_read(path, &cat) != LM_OK) {
        if (named) return LM_ERUNTIME;
        fprintf(stderr, "warning: skipping the unreadable catalog above (%s)\n", path);
        d->mo_unreadable++;
        return LM_OK;
    }
    if (!from_path) header_language(&cat, lang);
    int idx = lang[0] ? catalog_language_match(&c->prep.languages, lang) : -1;
    if (idx < 0 && named && !lang[0]) {
        lm_error("%s: cannot tell the catalog's language: no <lang>/LC_MESSAGES/ in its path "
                 "and no Language header", path);
        mo_free(&cat);
        return LM_ERUNTIME;
    }
    if (idx < 0) catalog_skip(d, path, lang, named);
    else catalog_pairs(&cat, prepdata_direction(d, c, c->prep.pivot, c->prep.languages.item[idx]));
    if (idx >= 0) d->mo_read++, d->mo_per_language[idx]++;
    mo_free(&cat);
    return LM_OK;
}

// ---------------------------------------------------------------------------
// Directory walk

// Catalog files in reading order; (dev, ino) identify a file so that
// symbolic and hard links to one catalog (and overlapping roots) are read
// once.
typedef struct {
    char *path;
    dev_t dev;
    ino_t ino;
    int named;  // given as a file in prep.mo
} CatFile;

typedef struct {
    CatFile *v;
    int n, cap;
} FileList;

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with_mo(const char *s) {
    size_t n = strlen(s);
    return n > 3 && !strcmp(s + n - 3, ".mo");
}

static void files_add(FileList *f, const char *path, const struct stat *st, int named) {
    for (int i = 0; i < f->n; i++)
        if (f->v[i].dev == st->st_dev && f->v[i].ino == st->st_ino) return;
    if (f->n == f->cap) f->v = xrealloc(f->v, (size_t)(f->cap = f->cap ? 2 * f->cap : 256) * sizeof *f->v);
    f->v[f->n++] = (CatFile){xstrdup(path), st->st_dev, st->st_ino, named};
}

static void files_free(FileList *f) {
    for (int i = 0; i < f->n; i++) free(f->v[i].path);
    free(f->v);
    memset(f, 0, sizeof *f);
}

// Names in dir, sorted bytewise: the walk order (and so every count and
// warning) never depends on readdir order.
static char **dir_names(const char *dir, int *n) {
    DIR *dp = opendir(dir);
    *n = 0;
    if (!dp) {
        fprintf(stderr, "warning: cannot list %s: %s; skipped\n", dir, strerror(errno));
        return NULL;
    }
    char **names = NULL;
    int cap = 0;
    for (struct dirent *e; (e = readdir(dp));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (*n == cap) names = xrealloc(names, (size_t)(cap = cap ? 2 * cap : 64) * sizeof *names);
        names[(*n)++] = xstrdup(e->d_name);
    }
    closedir(dp);
    if (*n) qsort(names, (size_t)*n, sizeof *names, cmp_str);
    return names;
}

// Depth-first, sorted. Symbolic links to directories are not followed (no
// loops); links to files are.
static void walk(const char *dir, FileList *out) {
    int n;
    char **names = dir_names(dir, &n);
    for (int i = 0; i < n; i++) {
        size_t len = strlen(dir) + strlen(names[i]) + 2;
        char *path = xmalloc(len);
        snprintf(path, len, "%s/%s", dir, names[i]);
        struct stat lst, st;
        if (lstat(path, &lst) == 0 && S_ISDIR(lst.st_mode)) walk(path, out);
        else if (ends_with_mo(names[i]) && stat(path, &st) == 0 && S_ISREG(st.st_mode))
            files_add(out, path, &st, 0);
        free(path);
        free(names[i]);
    }
    free(names);
}

// A prep.mo item: a catalog file, or a directory searched recursively.
static void root_collect(const char *root, FileList *files) {
    struct stat st;
    if (stat(root, &st) == 0 && !S_ISDIR(st.st_mode)) files_add(files, root, &st, 1);
    else walk(root, files);
}

LmStatus catalogs_read(const Config *c, PrepData *d) {
    if (!gettext_on(c)) return LM_OK;
    for (int i = 0; i < c->prep.languages.n; i++)
        prepdata_direction(d, c, c->prep.pivot, c->prep.languages.item[i])->from_gettext = 1;
    FileList files = {0};
    for (int i = 0; i < c->prep.mo.n; i++) root_collect(c->prep.mo.item[i], &files);
    struct stat st;
    if (c->prep.system_locale && stat(SYSTEM_LOCALE, &st) != 0)
        fprintf(stderr, "warning: prep.system_locale: %s does not exist\n", SYSTEM_LOCALE);
    else if (c->prep.system_locale)
        root_collect(SYSTEM_LOCALE, &files);
    LmStatus rc = LM_OK;
    for (int i = 0; rc == LM_OK && i < files.n; i++)
        rc = catalog_take(c, d, files.v[i].path, files.v[i].named);
    files_free(&files);
    for (int i = 0; rc == LM_OK && i < c->prep.languages.n; i++)
        if (!d->mo_per_language[i])
            fprintf(stderr, "warning: no gettext catalogs of language %s (or a regional variant) "
                            "found\n", c->prep.languages.item[i]);
    return rc;
}
