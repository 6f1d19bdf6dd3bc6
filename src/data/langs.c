#include "data/langs.h"

#include <string.h>

static const struct { const char *code, *name; } LANGS[] = {
    {"ar", "Arabic"},     {"bg", "Bulgarian"},  {"ca", "Catalan"},   {"cs", "Czech"},
    {"da", "Danish"},     {"de", "German"},     {"el", "Greek"},     {"en", "English"},
    {"es", "Spanish"},    {"et", "Estonian"},   {"eu", "Basque"},    {"fa", "Persian"},
    {"fi", "Finnish"},    {"fr", "French"},     {"ga", "Irish"},     {"gl", "Galician"},
    {"he", "Hebrew"},     {"hi", "Hindi"},      {"hr", "Croatian"},  {"hu", "Hungarian"},
    {"id", "Indonesian"}, {"is", "Icelandic"},  {"it", "Italian"},   {"ja", "Japanese"},
    {"ko", "Korean"},     {"lt", "Lithuanian"}, {"lv", "Latvian"},   {"nb", "Norwegian"},
    {"nl", "Dutch"},      {"pl", "Polish"},     {"pt", "Portuguese"}, {"ro", "Romanian"},
    {"ru", "Russian"},    {"sk", "Slovak"},     {"sl", "Slovenian"}, {"sr", "Serbian"},
    {"sv", "Swedish"},    {"th", "Thai"},       {"tr", "Turkish"},   {"uk", "Ukrainian"},
    {"vi", "Vietnamese"}, {"zh", "Chinese"},
};

const char *lang_name(const char *code) {
    size_t len = strcspn(code, "_-@.");  // "zh_CN" -> "zh"
    for (size_t i = 0; i < sizeof LANGS / sizeof *LANGS; i++)
        if (strlen(LANGS[i].code) == len && !strncmp(LANGS[i].code, code, len)) return LANGS[i].name;
    return code;
}
