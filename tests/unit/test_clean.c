// Pair cleaning: one table of (source, target, language) -> reason and
// cleaned output, covering every filter and mnemonic rule, with the cases
// that must survive next to the ones that must not.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "prep/clean.h"

typedef struct {
    const char *lang, *src, *tgt;
    CleanReason want;
    const char *want_src, *want_tgt;  // checked when want == CLEAN_OK
    int max_src_words;                // 0: the default options
} CleanCase;

static const CleanCase CASES[] = {
    // Normalisation.
    {"de", "  Open\n\tfile  ", "Datei\r\n   öffnen", CLEAN_OK, "Open file", "Datei öffnen", 0},
    {"de", "|pinentry-label|_Cancel", "|pinentry-label|_Abbrechen", CLEAN_OK, "Cancel", "Abbrechen", 0},
    {"fr", "Name:", "Nom\xc2\xa0:\xc2\xa0", CLEAN_OK, "Name:", "Nom\xc2\xa0:", 0},
    {"ja", "Wait", "\xe3\x80\x80\xe5\xbe\x85\xe3\x81\xa4", CLEAN_OK, "Wait", "\xe5\xbe\x85\xe3\x81\xa4", 0},
    // Mnemonics that are stripped.
    {"de", "_File", "_Datei", CLEAN_OK, "File", "Datei", 0},
    {"de", "&File", "&Datei", CLEAN_OK, "File", "Datei", 0},
    {"de", "~Save", "~Speichern", CLEAN_OK, "Save", "Speichern", 0},
    {"de", "Fo_lder", "Ord_ner", CLEAN_OK, "Folder", "Ordner", 0},
    {"de", "A_utoInclude", "Automatisch _einfügen", CLEAN_OK, "AutoInclude", "Automatisch einfügen", 0},
    {"ru", "_Open", "_Открыть", CLEAN_OK, "Open", "Открыть", 0},
    {"ru", "Sa_ve", "Сохр_анить", CLEAN_OK, "Save", "Сохранить", 0},
    {"ja", "_File", "ファイル(_F)", CLEAN_OK, "File", "ファイル", 0},
    {"zh_CN", "_Open...", "打开(_O)...", CLEAN_OK, "Open...", "打开...", 0},
    {"zh_CN", "_Edit", "编辑 (_E)", CLEAN_OK, "Edit", "编辑", 0},
    {"ja", "_Edit", "編集（_E）", CLEAN_OK, "Edit", "編集", 0},
    {"ko", "&File", "파일(&F)", CLEAN_OK, "File", "파일", 0},
    // Marks that are not mnemonics and stay.
    {"de", "Tom & Jerry cartoons", "Tom & Jerry Zeichentrickfilme", CLEAN_OK,
     "Tom & Jerry cartoons", "Tom & Jerry Zeichentrickfilme", 0},
    {"de", "Copy && Paste", "Kopieren && Einfügen", CLEAN_OK, "Copy && Paste", "Kopieren && Einfügen", 0},
    {"de", "Call __init__ first", "Zuerst __init__ aufrufen", CLEAN_OK,
     "Call __init__ first", "Zuerst __init__ aufrufen", 0},
    {"de", "Set max_connections to 5", "max_connections auf 5 setzen", CLEAN_OK,
     "Set max_connections to 5", "max_connections auf 5 setzen", 0},
    {"de", "Variable LC_CTYPE is not set", "Die Variable LC_CTYPE ist nicht gesetzt", CLEAN_OK,
     "Variable LC_CTYPE is not set", "Die Variable LC_CTYPE ist nicht gesetzt", 0},
    {"de", "R&D department", "F&E-Abteilung", CLEAN_OK, "R&D department", "F&E-Abteilung", 0},
    {"ru", "Set FILE_NAME", "Задать ИМЯ_ФАЙЛА", CLEAN_OK, "Set FILE_NAME", "Задать ИМЯ_ФАЙЛА", 0},
    {"de", "About ~5 minutes", "Etwa ~5 Minuten", CLEAN_OK, "About ~5 minutes", "Etwa ~5 Minuten", 0},
    {"de", "Fish &amp; Chips", "Fisch &amp; Pommes", CLEAN_OK, "Fish &amp; Chips", "Fisch &amp; Pommes", 0},
    {"de", "_Save and _Quit", "_Speichern und _Beenden", CLEAN_OK,
     "_Save and _Quit", "_Speichern und _Beenden", 0},  // two candidates: ambiguous
    {"de", "Open the config_file of the server first", "Öffnen Sie zuerst die config_file des Servers",
     CLEAN_OK, "Open the config_file of the server first", "Öffnen Sie zuerst die config_file des Servers", 0},
    // Untranslated.
    {"de", "File", "", CLEAN_UNTRANSLATED, NULL, NULL, 0},
    {"de", "File", " \n\t ", CLEAN_UNTRANSLATED, NULL, NULL, 0},
    // Identifiers as sources.
    {"de", "app.menu.file", "Datei", CLEAN_KEY_LIKE, NULL, NULL, 0},
    {"de", "org.gnome.Nautilus", "Dateien", CLEAN_KEY_LIKE, NULL, NULL, 0},
    {"de", "gtk-ok", "OK", CLEAN_KEY_LIKE, NULL, NULL, 0},
    {"de", "GtkButton", "Knopf", CLEAN_KEY_LIKE, NULL, NULL, 0},
    {"de", "hba_file", "HBA-Datei", CLEAN_KEY_LIKE, NULL, NULL, 0},
    {"de", "FORCE_QUOTE", "Anführungszeichen erzwingen", CLEAN_KEY_LIKE, NULL, NULL, 0},
    {"de", "translator-credits", "Hans Muster", CLEAN_KEY_LIKE, NULL, NULL, 0},
    {"ar", "default:LTR", "default:RTL", CLEAN_KEY_LIKE, NULL, NULL, 0},
    // ... and look-alikes that are text.
    {"de", "read-only", "schreibgeschützt", CLEAN_OK, "read-only", "schreibgeschützt", 0},
    {"ru", "kB", "кБ", CLEAN_OK, "kB", "кБ", 0},
    {"ru", "MiB", "МиБ", CLEAN_OK, "MiB", "МиБ", 0},
    {"de", "e.g.", "z. B.", CLEAN_OK, "e.g.", "z. B.", 0},
    {"de", "Save...", "Speichern …", CLEAN_OK, "Save...", "Speichern …", 0},
    {"de", "E_xit", "_Beenden", CLEAN_OK, "Exit", "Beenden", 0},
    // Nothing but placeholders, markup, digits, punctuation.
    {"de", "%s", "%s", CLEAN_FORMAT_ONLY, NULL, NULL, 0},
    {"de", "%d: %s", "%d: %s", CLEAN_FORMAT_ONLY, NULL, NULL, 0},
    {"de", "{0}", "{0}", CLEAN_FORMAT_ONLY, NULL, NULL, 0},
    {"de", "<b>%s</b>", "<b>%s</b>", CLEAN_FORMAT_ONLY, NULL, NULL, 0},
    {"de", "%s (%s)", "%s (%s)", CLEAN_FORMAT_ONLY, NULL, NULL, 0},
    {"de", "${name}: $value", "${name}: $value", CLEAN_FORMAT_ONLY, NULL, NULL, 0},
    {"de", "1/2", "1/2", CLEAN_FORMAT_ONLY, NULL, NULL, 0},
    {"de", "Name: %s", "%s", CLEAN_FORMAT_ONLY, NULL, NULL, 0},
    {"ja", "(_F)", "(_F)", CLEAN_FORMAT_ONLY, NULL, NULL, 0},
    {"zh_CN", "(Unknown: %s)", "<未知：%s>", CLEAN_OK, "(Unknown: %s)", "<未知：%s>", 0},
    // Target equal to the source.
    {"de", "Firefox", "Firefox", CLEAN_IDENTICAL, NULL, NULL, 0},
    {"de", "OK", "Ok", CLEAN_IDENTICAL, NULL, NULL, 0},
    {"de", "_OK", "OK", CLEAN_IDENTICAL, NULL, NULL, 0},
    {"de", "Open  file", "Open\nfile", CLEAN_IDENTICAL, NULL, NULL, 0},
    // Target not in the language's script.
    {"ru", "Open file", "Open the file", CLEAN_WRONG_SCRIPT, NULL, NULL, 0},
    {"zh_CN", "Open file", "Datei öffnen", CLEAN_WRONG_SCRIPT, NULL, NULL, 0},
    {"ar", "Save", "Sauvegarder", CLEAN_WRONG_SCRIPT, NULL, NULL, 0},
    {"de", "Save", "Сохранить", CLEAN_WRONG_SCRIPT, NULL, NULL, 0},
    {"sr", "Open", "Otvori", CLEAN_WRONG_SCRIPT, NULL, NULL, 0},
    {"ru", "GNOME desktop", "GNOME", CLEAN_WRONG_SCRIPT, NULL, NULL, 0},
    {"ru", "Cdrom with Ubuntu 5.04", "CD с Ubuntu 5.04", CLEAN_WRONG_SCRIPT, NULL, NULL, 0},
    // ... and mixed targets that are fine.
    {"sr@latin", "Open", "Otvori", CLEAN_OK, "Open", "Otvori", 0},
    {"sr", "Open", "Отвори", CLEAN_OK, "Open", "Отвори", 0},
    {"ru", "Open %s in Firefox", "Открыть %s в Firefox", CLEAN_OK, "Open %s in Firefox", "Открыть %s в Firefox", 0},
    {"ru", "Use UTF-8 for file names", "Использовать UTF-8 для имён", CLEAN_OK,
     "Use UTF-8 for file names", "Использовать UTF-8 для имён", 0},
    {"zh_CN", "Open location", "打开 URL", CLEAN_OK, "Open location", "打开 URL", 0},
    {"zh_CN", "LibreOffice Settings", "LibreOffice 的设置", CLEAN_OK,
     "LibreOffice Settings", "LibreOffice 的设置", 0},
    {"ja", "Use OpenGL", "OpenGL を使用", CLEAN_OK, "Use OpenGL", "OpenGL を使用", 0},
    {"ko", "Open file", "파일 열기", CLEAN_OK, "Open file", "파일 열기", 0},
    {"el", "Save", "Αποθήκευση", CLEAN_OK, "Save", "Αποθήκευση", 0},
    {"he", "Save", "שמור", CLEAN_OK, "Save", "שמור", 0},
    {"ar", "Save %s", "حفظ %s", CLEAN_OK, "Save %s", "حفظ %s", 0},
    {"de", "Firefox browser", "Browser Firefox", CLEAN_OK, "Firefox browser", "Browser Firefox", 0},
    {"xx", "Open", "Отвори", CLEAN_OK, "Open", "Отвори", 0},  // unknown language: no check
    // printf placeholders.
    {"de", "%d files", "%s Dateien", CLEAN_PLACEHOLDER, NULL, NULL, 0},
    {"de", "%ld bytes", "%d Bytes", CLEAN_PLACEHOLDER, NULL, NULL, 0},
    {"de", "%d file(s)", "Dateien", CLEAN_PLACEHOLDER, NULL, NULL, 0},
    {"de", "%s of %s", "%s von %s von %s", CLEAN_PLACEHOLDER, NULL, NULL, 0},
    {"de", "%(count)d items", "%(anzahl)d Elemente", CLEAN_PLACEHOLDER, NULL, NULL, 0},
    {"de", "%1$s of %2$s", "%2$s von %1$s", CLEAN_OK, "%1$s of %2$s", "%2$s von %1$s", 0},
    {"de", "%s of %d", "%2$d von %1$s", CLEAN_OK, "%s of %d", "%2$d von %1$s", 0},
    {"de", "%.2f%% done", "%f %% fertig", CLEAN_OK, "%.2f%% done", "%f %% fertig", 0},
    {"de", "%zu items", "%zu Elemente", CLEAN_OK, "%zu items", "%zu Elemente", 0},
    {"de", "Wait %i s", "Warte %d s", CLEAN_OK, "Wait %i s", "Warte %d s", 0},
    {"de", "Value %x", "Wert %X", CLEAN_OK, "Value %x", "Wert %X", 0},
    {"de", "100% sure", "100 % sicher", CLEAN_OK, "100% sure", "100 % sicher", 0},
    {"de", "%<PRIu64> bytes read", "%<PRIu64> Bytes gelesen", CLEAN_OK,
     "%<PRIu64> bytes read", "%<PRIu64> Bytes gelesen", 0},
    {"de", "Width %*d", "Breite %*d", CLEAN_OK, "Width %*d", "Breite %*d", 0},
    // Length limits.
    {"ru", "A", "А", CLEAN_TOO_SHORT, NULL, NULL, 0},
    {"de", "one two three four five six", "eins zwei drei vier fünf sechs", CLEAN_TOO_LONG, NULL, NULL, 5},
    {"de", "one two three four five", "eins zwei drei vier fünf", CLEAN_OK,
     "one two three four five", "eins zwei drei vier fünf", 5},
    {"de", "Line one.\n\nLine two of the help.", "Zeile eins.\n\nZeile zwei der Hilfe.", CLEAN_TOO_LONG,
     NULL, NULL, 6},
};

static void test_table(void) {
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
        const CleanCase *c = &CASES[i];
        CleanOptions o;
        clean_options_default(&o);
        if (c->max_src_words) o.max_src_words = c->max_src_words;
        char *s = (char *)"x", *t = (char *)"x";
        CleanReason r = clean_pair(&o, c->lang, c->src, c->tgt, &s, &t);
        CHECK(r == c->want, "row %zu [%s] \"%s\" -> \"%s\": %s, want %s", i, c->lang, c->src, c->tgt,
              clean_reason_name(r), clean_reason_name(c->want));
        if (r == CLEAN_OK && c->want == CLEAN_OK) {
            CHECK(strcmp(s, c->want_src) == 0 && strcmp(t, c->want_tgt) == 0,
                  "row %zu: cleaned to \"%s\" / \"%s\", want \"%s\" / \"%s\"", i, s, t, c->want_src,
                  c->want_tgt);
        }
        CHECK(r == CLEAN_OK || (s == NULL && t == NULL), "row %zu: outputs NULL when dropped", i);
        free(s);
        free(t);
    }
}

static void test_options_off(void) {
    CleanOptions o;
    clean_options_default(&o);
    o.check_script = o.check_placeholders = o.strip_accel = 0;
    o.min_src_chars = o.max_src_words = o.max_chars = 0;
    char *s, *t;
    CHECK(clean_pair(&o, "ru", "Open file", "Open the file", &s, &t) == CLEAN_OK, "script check off");
    free(s), free(t);
    CHECK(clean_pair(&o, "de", "%d files", "%s Dateien", &s, &t) == CLEAN_OK, "placeholder check off");
    free(s), free(t);
    CHECK(clean_pair(&o, "de", "_File", "_Datei", &s, &t) == CLEAN_OK && strcmp(s, "_File") == 0,
          "mnemonics kept when stripping is off");
    free(s), free(t);
    clean_options_default(&o);
    o.max_chars = 5;
    CHECK(clean_pair(&o, "de", "Open", "Öffnen", &s, &t) == CLEAN_TOO_LONG, "max_chars counts code points");
    o.max_chars = 6;
    CHECK(clean_pair(&o, "de", "Open", "Öffnen", &s, &t) == CLEAN_OK, "Öffnen is 6 code points");
    free(s), free(t);
}

static void test_hash(void) {
    CHECK(clean_hash("") == 0xcbf29ce484222325ull, "FNV-1a 64 of empty string");
    CHECK(clean_hash("a") == 0xaf63dc4c8601ec8cull, "FNV-1a 64 of a");
    CHECK(clean_hash("foobar") == 0x85944171f73967e8ull, "FNV-1a 64 of foobar");
    char *n = clean_normalise("  Open \n file ");
    CHECK(clean_hash(n) == 0x2aaf1446fd477405ull, "hash of the normalised source");
    free(n);
}

// Normalisation composes decomposed text (NFC), so both spellings of a
// sentence dedup and split together and reach the tokenizer alike.
static void test_nfc(void) {
    const char *cases[][2] = {
        {"Cafe\u0301  cre\u0300me", "Café crème"},       // e + combining acute / grave
        {"A\u030Angstro\u0308m", "Ångström"},
        {"\u1100\u1161\u11A8", "\uAC01"},               // Hangul jamo -> one syllable
        {"q\u0307\u0323", "q\u0323\u0307"},             // canonical order, no precomposed form
        {"\u212B and \uFB01", "\u00C5 and \uFB01"},      // Angstrom sign -> Å; ligature kept (NFC, not NFKC)
        {"plain ascii", "plain ascii"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *n = clean_normalise(cases[i][0]);
        CHECK(!strcmp(n, cases[i][1]), "NFC of case %zu: \"%s\", expected \"%s\"", i, n, cases[i][1]);
        free(n);
    }
    char *a = clean_normalise("Cafe\u0301"), *b = clean_normalise("Caf\u00E9");
    CHECK(clean_hash(a) == clean_hash(b), "both spellings have one split key");
    free(a), free(b);
}

static void test_placeholders_and_names(void) {
    CHECK(clean_placeholders_match("%s: %d", "%d: %s"), "order does not matter");
    CHECK(!clean_placeholders_match("%s", "%s %s"), "count matters");
    CHECK(clean_placeholders_match("%lu of %lu", "%2$lu/%1$lu"), "positional");
    CHECK(!clean_placeholders_match("%lu", "%u"), "length modifier matters");
    CHECK(strcmp(clean_reason_name(CLEAN_OK), "ok") == 0 &&
              strcmp(clean_reason_name(CLEAN_PLACEHOLDER), "placeholder_mismatch") == 0 &&
              strcmp(clean_reason_name(CLEAN_N_REASONS), "unknown") == 0,
          "reason names");
    for (int r = 0; r < CLEAN_N_REASONS; r++)
        CHECK(strcmp(clean_reason_name((CleanReason)r), "unknown") != 0, "reason %d named", r);
}

static void test_stats(void) {
    CleanStats st = {0};
    clean_stats_add(&st, CLEAN_OK);
    clean_stats_add(&st, CLEAN_OK);
    clean_stats_add(&st, CLEAN_IDENTICAL);
    FILE *fh = tmpfile();
    clean_stats_print(&st, fh, "de");
    rewind(fh);
    char line[512] = "";
    CHECK(fgets(line, sizeof line, fh) != NULL, "stats line");
    fclose(fh);
    const char *head = "de: 3 pairs, 2 kept; dropped untranslated=0 ";
    CHECK(strncmp(line, head, strlen(head)) == 0 &&
              strstr(line, " identical=1 ") && strstr(line, " too_long=0\n"),
          "stats: %s", line);
}

int main(void) {
    RUN(test_table);
    RUN(test_options_off);
    RUN(test_hash);
    RUN(test_nfc);
    RUN(test_placeholders_and_names);
    RUN(test_stats);
    return harness_finish();
}
