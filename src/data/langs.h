// English names of languages from ISO 639-1 codes (with optional region,
// "zh_CN"), as the prompt template's {src_lang} / {tgt_lang} fields show.
#ifndef LM_LANGS_H
#define LM_LANGS_H

// The English name, or the code itself when the language is not listed.
const char *lang_name(const char *code);

#endif
