// .mo reader: catalogs compiled by Debian's msgfmt (package gettext) from .po
// text written here, plus a byte-swapped (big-endian) copy, charset
// conversion, and truncated, corrupted and garbage files.
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "prep/mo.h"

#define PO_HEADER(charset, plural_forms, lang)                     \
    "msgid \"\"\nmsgstr \"\"\n"                                    \
    "\"Content-Type: text/plain; charset=" charset "\\n\"\n"      \
    "\"Plural-Forms: " plural_forms "\\n\"\n"                     \
    "\"Language: " lang "\\n\"\n\n"

typedef char Path[512];

static const char *tmp_path(Path out, const char *name) {
    snprintf(out, sizeof(Path), "%s/%s", tmp_dir(), name);
    return out;
}

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *fh = fopen(path, "wb");
    if (!fh) {
        CHECK(0, "cannot write %s", path);
        return;
    }
    fwrite(data, 1, n, fh);
    fclose(fh);
}

static unsigned char *read_bytes(const char *path, size_t *n) {
    FILE *fh = fopen(path, "rb");
    if (!fh) return NULL;
    fseek(fh, 0, SEEK_END);
    *n = (size_t)ftell(fh);
    fseek(fh, 0, SEEK_SET);
    unsigned char *d = malloc(*n + 1);
    *n = fread(d, 1, *n, fh);
    fclose(fh);
    return d;
}

// Writes NAME.po and compiles it into mo; returns mo, or NULL on failure.
static const char *compile_po(Path mo, const char *name, const char *po) {
    Path po_path;
    char file[128], cmd[1200];
    snprintf(file, sizeof file, "%s.po", name);
    write_bytes(tmp_path(po_path, file), po, strlen(po));
    snprintf(file, sizeof file, "%s.mo", name);
    tmp_path(mo, file);
    snprintf(cmd, sizeof cmd, "msgfmt -o '%s' '%s' 2>/dev/null", mo, po_path);
    int rc = system(cmd);
    CHECK(rc == 0, "msgfmt failed for %s (is Debian's gettext package installed?)", name);
    return rc == 0 ? mo : NULL;
}

// Runs mo_read with stderr captured; returns the status, fills msg.
static LmStatus read_quietly(const char *path, MoCatalog *c, char *msg, size_t cap) {
    Path log;
    tmp_path(log, "stderr.log");
    fflush(stderr);
    int saved = dup(2), fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
    LmStatus st = mo_read(path, c);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    size_t n = 0;
    unsigned char *text = read_bytes(log, &n);
    if (msg && cap) snprintf(msg, cap, "%.*s", (int)n, text ? (char *)text : "");
    free(text);
    return st;
}

static const MoEntry *find_entry(const MoCatalog *c, const char *ctxt, const char *src) {
    for (int i = 0; i < c->n; i++) {
        const MoEntry *e = &c->e[i];
        int same_ctxt = (!ctxt && !e->ctxt) || (ctxt && e->ctxt && strcmp(ctxt, e->ctxt) == 0);
        if (same_ctxt && strcmp(e->src, src) == 0) return e;
    }
    return NULL;
}

static const char DE_PO[] = PO_HEADER("UTF-8", "nplurals=2; plural=(n != 1);", "de")
    "msgid \"File\"\nmsgstr \"Datei\"\n\n"
    "msgctxt \"menu\"\nmsgid \"Open\"\nmsgstr \"Öffnen\"\n\n"
    "msgctxt \"verb\"\nmsgid \"Open\"\nmsgstr \"Öffne\"\n\n"
    "msgid \"Untranslated\"\nmsgstr \"\"\n\n"
    "msgid \"%d file\"\nmsgid_plural \"%d files\"\nmsgstr[0] \"%d Datei\"\nmsgstr[1] \"%d Dateien\"\n\n"
    "msgid \"BADBYTE here\"\nmsgstr \"BADBYTE hier\"\n";

static void test_plural_eval(void) {
    static const struct { const char *expr; unsigned long n, want; } ok[] = {
        {"0", 7, 0}, {"n != 1", 1, 0}, {"n != 1", 0, 1}, {"(n > 1)", 1, 0}, {"n>1;", 2, 1},
        {"1 + 2 * 3", 0, 7}, {"(1 + 2) * 3", 0, 9}, {"7 - 2 - 1", 0, 4}, {"n % 10 / 2", 27, 3},
        {"!n", 0, 1}, {"!!n", 5, 1}, {"n==1 ? 0 : n==2 ? 1 : 2", 2, 1},
        {"n==1 ? 0 : n==2 ? 1 : 2", 9, 2}, {"1 || 0 && 0", 0, 1}, {"n <= 3 && n >= 2", 3, 1},
        {"n==0 ? 0 : 10/n", 0, 0},  // the division is never evaluated for n = 0
        {"n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2", 21, 0},
        {"n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2", 12, 2},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        unsigned long v = 99;
        int rc = mo_plural_eval(ok[i].expr, ok[i].n, &v);
        CHECK(rc == 0 && v == ok[i].want, "%s at n=%lu: rc %d value %lu, want %lu", ok[i].expr,
              ok[i].n, rc, v, ok[i].want);
    }
    static const char *const bad[] = {"", "n ?", "n ? 1", "(n", "n)", "1/0", "n % 0", "x", "n = 1",
                                      "n | 1", "n +", "99999999999999999999",
                                      "((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        unsigned long v;
        CHECK(mo_plural_eval(bad[i], 1, &v) != 0, "\"%s\" should be rejected", bad[i]);
    }
}

static void test_plain_and_context(void) {
    Path mo;
    const char *path = compile_po(mo, "de", DE_PO);
    MoCatalog c;
    if (!path || mo_read(path, &c) != LM_OK) {
        CHECK(0, "reading de.mo failed");
        return;
    }
    CHECK(c.n == 5, "5 entries without header and untranslated, got %d", c.n);
    CHECK(strcmp(c.charset, "UTF-8") == 0 && c.language && strcmp(c.language, "de") == 0,
          "header: charset %s language %s", c.charset, c.language ? c.language : "(null)");
    CHECK(c.nplurals == 2 && c.singular_form == 0 && c.plural_form == 1 && !c.plural_fallback,
          "plural forms %d %d %d", c.nplurals, c.singular_form, c.plural_form);
    const MoEntry *file = find_entry(&c, NULL, "File"), *menu = find_entry(&c, "menu", "Open"),
                  *verb = find_entry(&c, "verb", "Open"), *pl = find_entry(&c, NULL, "%d file");
    CHECK(file && file->n_forms == 1 && strcmp(file->forms[0], "Datei") == 0 && !file->src_plural, "File");
    CHECK(menu && strcmp(menu->forms[0], "Öffnen") == 0, "msgctxt menu");
    CHECK(verb && strcmp(verb->forms[0], "Öffne") == 0, "msgctxt verb");
    CHECK(pl && pl->src_plural && strcmp(pl->src_plural, "%d files") == 0 && pl->n_forms == 2, "plural entry");
    MoPair p[2];
    int np = pl ? mo_entry_pairs(&c, pl, p) : 0;
    CHECK(np == 2 && strcmp(p[0].tgt, "%d Datei") == 0 && strcmp(p[1].src, "%d files") == 0 &&
              strcmp(p[1].tgt, "%d Dateien") == 0 && p[1].is_plural,
          "de plural pairs: %d", np);
    np = file ? mo_entry_pairs(&c, file, p) : 0;
    CHECK(np == 1 && strcmp(p[0].src, "File") == 0 && strcmp(p[0].tgt, "Datei") == 0, "plain pair");
    mo_free(&c);
}

// One plural entry per language; forms are named "f0", "f1", ... so the
// chosen index is visible.
static void check_plurals(const char *lang, const char *plural_forms, int nforms, int sing, int plur) {
    char po[2048], forms[512] = "";
    for (int k = 0; k < nforms; k++)
        snprintf(forms + strlen(forms), sizeof forms - strlen(forms), "msgstr[%d] \"f%d\"\n", k, k);
    snprintf(po, sizeof po,
             "msgid \"\"\nmsgstr \"\"\n\"Content-Type: text/plain; charset=UTF-8\\n\"\n"
             "\"Plural-Forms: %s\\n\"\n\n"
             "msgid \"%%d day\"\nmsgid_plural \"%%d days\"\n%s",
             plural_forms, forms);
    Path mo;
    const char *path = compile_po(mo, lang, po);
    MoCatalog c;
    if (!path || mo_read(path, &c) != LM_OK || c.n != 1) {
        CHECK(0, "%s catalog unreadable", lang);
        return;
    }
    CHECK(c.nplurals == nforms && c.singular_form == sing && c.plural_form == plur,
          "%s: nplurals %d singular %d plural %d", lang, c.nplurals, c.singular_form, c.plural_form);
    MoPair p[2];
    int np = mo_entry_pairs(&c, &c.e[0], p);
    char want[8];
    snprintf(want, sizeof want, "f%d", sing);
    CHECK(np >= 1 && strcmp(p[0].src, "%d day") == 0 && strcmp(p[0].tgt, want) == 0,
          "%s singular pair -> %s", lang, np ? p[0].tgt : "none");
    CHECK(np == (plur >= 0 ? 2 : 1), "%s: %d pairs", lang, np);
    snprintf(want, sizeof want, "f%d", plur);
    if (np == 2) CHECK(strcmp(p[1].tgt, want) == 0, "%s plural pair -> %s", lang, p[1].tgt);
    mo_free(&c);
}

static void test_plural_languages(void) {
    check_plurals("de2", "nplurals=2; plural=(n != 1);", 2, 0, 1);
    check_plurals("ru3",
                  "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && "
                  "(n%100<10 || n%100>=20) ? 1 : 2);",
                  3, 0, 2);
    // Arabic: form 0 is zero, the singular (n = 1) is form 1.
    check_plurals("ar6",
                  "nplurals=6; plural=n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : "
                  "n%100>=11 ? 4 : 5;",
                  6, 1, 3);
    check_plurals("zh1", "nplurals=1; plural=0;", 1, 0, -1);
}

static void test_latin1(void) {
    const char po[] = "msgid \"\"\nmsgstr \"\"\n\"Content-Type: text/plain; charset=ISO-8859-1\\n\"\n\n"
                      "msgid \"Size\"\nmsgstr \"Gr\xf6\xdf" "e\"\n";
    Path mo;
    const char *path = compile_po(mo, "latin1", po);
    MoCatalog c;
    if (!path || mo_read(path, &c) != LM_OK) {
        CHECK(0, "latin1 catalog unreadable");
        return;
    }
    CHECK(strcmp(c.charset, "ISO-8859-1") == 0, "charset %s", c.charset);
    CHECK(c.n == 1 && strcmp(c.e[0].forms[0], "Gr\xc3\xb6\xc3\x9f" "e") == 0, "converted to UTF-8");
    CHECK(c.plural_fallback && c.singular_form == 0 && c.plural_form == 1, "default plural rule");
    mo_free(&c);
}

// Replaces the first occurrence of `from` in the file by `to` (same length).
static int patch_file(const char *path, const char *out, const char *from, const char *to) {
    size_t n;
    unsigned char *d = read_bytes(path, &n);
    if (!d) return -1;
    size_t k = strlen(from);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(d + i, from, k) == 0) {
            memcpy(d + i, to, k);
            write_bytes(out, d, n);
            free(d);
            return 0;
        }
    free(d);
    return -1;
}

static void test_charset_errors(void) {
    Path mo, bad, unknown;
    const char *path = compile_po(mo, "de", DE_PO);
    tmp_path(bad, "badbyte.mo");
    tmp_path(unknown, "unknown.mo");
    MoCatalog c;
    char msg[1024];
    // An invalid UTF-8 byte in one msgstr: that entry alone is dropped.
    CHECK(path && patch_file(path, bad, "BADBYTE hier", "\xff" "ADBYTE hier") == 0, "patch");
    CHECK(mo_read(bad, &c) == LM_OK && c.n == 4 && c.n_bad_charset == 1, "dropped %d kept %d",
          c.n_bad_charset, c.n);
    mo_free(&c);
    CHECK(path && patch_file(path, unknown, "charset=UTF-8", "charset=XYZ-8") == 0, "patch");
    CHECK(read_quietly(unknown, &c, msg, sizeof msg) == LM_ERUNTIME && strstr(msg, unknown) &&
              strstr(msg, "XYZ-8"),
          "unknown charset: %s", msg);
    CHECK(c.n == 0 && c.e == NULL, "catalog left empty after an error");
}

// Rewrites a little-endian .mo in big-endian order: the 7 header words, both
// string tables and the hash table; strings are bytes and stay.
static unsigned char *swap_mo(const unsigned char *d, size_t n) {
    unsigned char *s = malloc(n);
    memcpy(s, d, n);
#define LE32(o) ((uint32_t)d[o] | (uint32_t)d[(o) + 1] << 8 | (uint32_t)d[(o) + 2] << 16 | (uint32_t)d[(o) + 3] << 24)
    uint32_t count = LE32(8), otab = LE32(12), ttab = LE32(16), hsize = LE32(20), hoff = LE32(24);
    struct { uint32_t off, words; } spans[] = {{0, 7}, {otab, 2 * count}, {ttab, 2 * count}, {hoff, hsize}};
    for (size_t k = 0; k < 4; k++)
        for (uint32_t w = 0; w < spans[k].words; w++) {
            size_t o = spans[k].off + 4 * (size_t)w;
            for (int b = 0; b < 4; b++) s[o + (size_t)b] = d[o + 3 - (size_t)b];
        }
#undef LE32
    return s;
}

static void test_big_endian(void) {
    Path mo, be;
    const char *path = compile_po(mo, "de", DE_PO);
    tmp_path(be, "de_be.mo");
    size_t n;
    unsigned char *d = path ? read_bytes(path, &n) : NULL;
    if (!d) {
        CHECK(0, "no de.mo");
        return;
    }
    CHECK(d[0] == 0xde && d[3] == 0x95, "msgfmt wrote little-endian");
    unsigned char *s = swap_mo(d, n);
    CHECK(s[0] == 0x95 && s[3] == 0xde, "swapped magic");
    write_bytes(be, s, n);
    MoCatalog a, b;
    CHECK(mo_read(path, &a) == LM_OK && mo_read(be, &b) == LM_OK, "both readable");
    CHECK(a.n == b.n && a.nplurals == b.nplurals && strcmp(a.charset, b.charset) == 0, "same header");
    for (int i = 0; i < a.n && i < b.n; i++) {
        int same = strcmp(a.e[i].src, b.e[i].src) == 0 && a.e[i].n_forms == b.e[i].n_forms;
        for (int k = 0; same && k < a.e[i].n_forms; k++) same = strcmp(a.e[i].forms[k], b.e[i].forms[k]) == 0;
        CHECK(same, "entry %d differs between byte orders", i);
    }
    mo_free(&a);
    mo_free(&b);
    free(d);
    free(s);
}

static void test_truncated(void) {
    Path mo, cut;
    const char *path = compile_po(mo, "de", DE_PO);
    tmp_path(cut, "cut.mo");
    size_t n;
    unsigned char *d = path ? read_bytes(path, &n) : NULL;
    if (!d) {
        CHECK(0, "no de.mo");
        return;
    }
    int failures = 0;
    char msg[1024];
    for (size_t len = 0; len < n; len++) {  // every proper prefix
        write_bytes(cut, d, len);
        MoCatalog c;
        if (read_quietly(cut, &c, msg, sizeof msg) != LM_ERUNTIME || !strstr(msg, cut) ||
            !strstr(msg, "error:"))
            failures++;
        mo_free(&c);
    }
    CHECK(failures == 0, "%d of %zu truncations not reported as errors naming the file", failures, n);
    free(d);
}

static void test_garbage(void) {
    Path g, empty, missing;
    tmp_path(g, "garbage.mo");
    tmp_path(empty, "empty.mo");
    tmp_path(missing, "missing.mo");
    unsigned char junk[4096];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (unsigned char)((x = x * 1103515245u + 12345u) >> 24);
    write_bytes(g, junk, sizeof junk);
    write_bytes(empty, "", 0);
    const char *paths[] = {g, empty, tmp_dir(), missing};
    for (size_t i = 0; i < 4; i++) {
        MoCatalog c;
        char msg[1024];
        CHECK(read_quietly(paths[i], &c, msg, sizeof msg) == LM_ERUNTIME && strstr(msg, paths[i]),
              "%s: %s", paths[i], msg);
    }
    // Valid magic and header words pointing anywhere.
    unsigned char hdr[64] = {0xde, 0x12, 0x04, 0x95, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x0f, 28, 0, 0, 0, 28};
    write_bytes(g, hdr, sizeof hdr);
    MoCatalog c;
    CHECK(read_quietly(g, &c, NULL, 0) == LM_ERUNTIME, "huge entry count rejected");
}

// Random byte corruption must give a clean result or a clean error; the
// sanitizer build checks that nothing is read out of bounds.
static void test_corrupt(void) {
    Path mo, bad;
    const char *path = compile_po(mo, "de", DE_PO);
    tmp_path(bad, "corrupt.mo");
    size_t n;
    unsigned char *d = path ? read_bytes(path, &n) : NULL;
    if (!d) {
        CHECK(0, "no de.mo");
        return;
    }
    uint32_t x = 42;
    int ok = 0, err = 0;
    for (int iter = 0; iter < 1500; iter++) {
        unsigned char *m = malloc(n);
        memcpy(m, d, n);
        for (int k = 0; k < 1 + iter % 4; k++) {
            x = x * 1103515245u + 12345u;
            size_t pos = (x >> 8) % (iter % 2 ? 28 + 16 * 8 : n);  // half hit header and tables
            x = x * 1103515245u + 12345u;
            m[pos] = (unsigned char)(x >> 24);
        }
        write_bytes(bad, m, n);
        MoCatalog c;
        LmStatus st = read_quietly(bad, &c, NULL, 0);
        st == LM_OK ? ok++ : err++;
        if (st == LM_OK) mo_free(&c);
        free(m);
    }
    CHECK(ok + err == 1500 && err > 0, "corruptions: %d read, %d rejected", ok, err);
    free(d);
}

int main(void) {
    if (system("command -v msgfmt >/dev/null 2>&1") != 0) {
        fprintf(stderr, "FAIL: msgfmt not found; install Debian's gettext package\n");
        return 1;
    }
    RUN(test_plural_eval);
    RUN(test_plain_and_context);
    RUN(test_plural_languages);
    RUN(test_latin1);
    RUN(test_charset_errors);
    RUN(test_big_endian);
    RUN(test_truncated);
    RUN(test_garbage);
    RUN(test_corrupt);
    return harness_finish();
}
