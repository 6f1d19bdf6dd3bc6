// Reader for compiled gettext catalogs (.mo), without libintl: libintl only
// looks strings up in the current locale, while corpus building needs every
// entry of every catalog, in any locale, converted to UTF-8.
//
// Layout (GNU gettext manual, "The Format of GNU MO Files"): a 28-byte header
// (magic 0x950412de in the writer's byte order, revision, N, offset of the
// original-string table, offset of the translation table, hash size/offset),
// two tables of N (length, offset) pairs, NUL-terminated strings. An original
// is [CONTEXT "\x04"] MSGID ["\0" MSGID_PLURAL]; a translation is the msgstr
// forms joined by "\0". The entry with an empty msgid is the header.
#ifndef LM_PREP_MO_H
#define LM_PREP_MO_H

#include "util/err.h"

typedef struct {
    char *ctxt;        // msgctxt, or NULL
    char *src;         // msgid (the English source)
    char *src_plural;  // msgid_plural, or NULL for a non-plural entry
    char **forms;      // msgstr forms; n_forms >= 1
    int n_forms;
    char *mem_;        // storage behind the strings above (private)
} MoEntry;

typedef struct {
    MoEntry *e;
    int n;
    char *charset;       // declared charset ("UTF-8" when the header has none)
    char *language;      // "Language:" header value, or NULL
    char *plural_expr;   // the C expression after "plural=", or NULL
    int nplurals;        // from Plural-Forms; 2 when absent
    int singular_form;   // msgstr index used for n = 1
    int plural_form;     // msgstr index used for n = 5, or -1 (see mo_entry_pairs)
    int plural_fallback; // 1 when Plural-Forms was missing or unusable
    int n_bad_charset;   // entries dropped because charset conversion failed
} MoCatalog;

// Reads and converts the whole catalog. Any structural problem (short file,
// bad magic, unknown revision, offset or length outside the file, unknown
// charset) is an LM_ERUNTIME error naming the file; *out is then empty.
LmStatus mo_read(const char *path, MoCatalog *out);
void mo_free(MoCatalog *c);

// Evaluates a Plural-Forms expression (C syntax: ?: || && == != < <= > >=
// + - * / % ! parentheses, n, decimal integers; unsigned arithmetic as in
// libintl) for n. The expression ends at ';', newline or NUL. Returns 0 and
// sets *out, or -1 on a syntax error or a division by zero that is evaluated.
int mo_plural_eval(const char *expr, unsigned long n, unsigned long *out);

typedef struct {
    const char *src;
    const char *tgt;
    int is_plural;  // 1 for the (msgid_plural, plural form) pair
} MoPair;

// The (English, translation) pairs of one entry, at most 2; returns the count.
// A plain entry gives (msgid, msgstr). A plural entry gives (msgid, the form
// for n = 1) and, when the catalog's n = 5 form is a different form and
// msgid_plural differs from msgid, (msgid_plural, the form for n = 5).
// n = 5 is a plural in every language's rules (in Slavic and Arabic rules it
// is the "few"/"many" form, still a grammatical plural sentence). A form index
// the entry does not have gives no pair rather than a guess.
int mo_entry_pairs(const MoCatalog *c, const MoEntry *e, MoPair out[2]);

#endif
