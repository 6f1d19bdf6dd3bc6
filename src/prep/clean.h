// Cleaning of (English source, translation) pairs taken from software
// catalogs: normalisation and mnemonic stripping, then filters that drop
// pairs which would teach the model something other than translation.
// docs/prep-cleaning.md gives each rule and the reason for it.
#ifndef LM_PREP_CLEAN_H
#define LM_PREP_CLEAN_H

#include <stdint.h>
#include <stdio.h>

// Filters in the order they are applied; the first that fires is reported.
typedef enum {
    CLEAN_OK = 0,
    CLEAN_UNTRANSLATED,  // empty target
    CLEAN_KEY_LIKE,      // the source is an identifier (app.menu.file, gtk-ok)
    CLEAN_FORMAT_ONLY,   // a side has no letters outside placeholders/markup
    CLEAN_IDENTICAL,     // target equals source (ASCII case-insensitive)
    CLEAN_WRONG_SCRIPT,  // too few target letters in the language's script
    CLEAN_PLACEHOLDER,   // printf conversions differ between the sides
    CLEAN_TOO_SHORT,     // source below min_src_chars
    CLEAN_TOO_LONG,      // source above max_src_words or a side above max_chars
    CLEAN_N_REASONS
} CleanReason;

typedef struct {
    int strip_accel;         // remove _File / &File / ~File / (_F) mnemonics
    int check_script;        // apply CLEAN_WRONG_SCRIPT
    int check_placeholders;  // apply CLEAN_PLACEHOLDER
    int min_src_chars;       // code points; 0 = no minimum
    int max_src_words;       // 0 = no maximum
    int max_chars;           // code points, either side; 0 = no maximum
} CleanOptions;

// All checks on; min_src_chars 2, max_src_words 64, max_chars 1000.
void clean_options_default(CleanOptions *o);

// Normalises, transforms and filters one pair. lang is the target's locale
// name as in catalogs (de, pt_BR, sr@latin, zh_CN). On CLEAN_OK *src_out and
// *tgt_out receive the cleaned strings (free them); otherwise both are NULL.
CleanReason clean_pair(const CleanOptions *o, const char *lang, const char *src,
                       const char *tgt, char **src_out, char **tgt_out);

// Whitespace and control characters -> single spaces, trimmed; a gnupg-style
// "|pinentry-label|" pseudo-context prefix removed; Unicode NFC. Returns a
// new string.
char *clean_normalise(const char *s);

// s without its keyboard mnemonic; `other` is the opposite side of the pair,
// used to recognise identifiers copied verbatim. Returns a new string.
char *clean_strip_accel(const char *s, const char *other);

// 1 when both strings hold the same multiset of printf conversions.
int clean_placeholders_match(const char *a, const char *b);

// Short name of a reason for reports ("ok", "untranslated", ...).
const char *clean_reason_name(CleanReason r);

// FNV-1a 64 of the normalised source: the split assignment key, identical on
// every machine and independent of corpus order.
uint64_t clean_hash(const char *normalised_src);

typedef struct {
    long count[CLEAN_N_REASONS];
} CleanStats;

void clean_stats_add(CleanStats *st, CleanReason r);
// "label: N pairs, K kept; dropped untranslated=.. key_like=.. ..."
void clean_stats_print(const CleanStats *st, FILE *fh, const char *label);

#endif
