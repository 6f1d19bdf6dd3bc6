#include "data/prompt.h"

#include <stdlib.h>
#include <string.h>

#include "data/langs.h"
#include "util/alloc.h"

// Appends s to the growing string *out (length *len).
static void append(char **out, size_t *len, const char *s, size_t n) {
    *out = xrealloc(*out, *len + n + 1);
    memcpy(*out + *len, s, n);
    *len += n;
    (*out)[*len] = '\0';
}

LmStatus prompt_render(const char *tmpl, const char *src_code, const char *tgt_code, char **head,
                       char **tail) {
    char *part[2] = {xstrdup(""), xstrdup("")};
    size_t len[2] = {0, 0};
    int k = 0;  // 0 = before {src}, 1 = after
    for (const char *p = tmpl; *p;) {
        const char *field = NULL;
        size_t flen = 0;
        if (!strncmp(p, "{src_lang}", 10)) field = lang_name(src_code), flen = 10;
        else if (!strncmp(p, "{tgt_lang}", 10)) field = lang_name(tgt_code), flen = 10;
        else if (!strncmp(p, "{src}", 5) && k == 0) k = 1, field = "", flen = 5;
        if (field) {
            append(&part[k], &len[k], field, strlen(field));
            p += flen;
        } else if (*p == '{' && strchr(p, '}')) {
            lm_error("data.prompt: unknown or repeated field %.*s in \"%s\"",
                     (int)(strchr(p, '}') - p + 1), p, tmpl);
            lm_hint("the template may use {src_lang}, {tgt_lang} and exactly one {src}");
            free(part[0]), free(part[1]);
            return LM_EUSAGE;
        } else {
            append(&part[k], &len[k], p++, 1);
        }
    }
    if (k == 0) {
        lm_error("data.prompt has no {src} field: \"%s\"", tmpl);
        lm_hint("e.g. data.prompt: \"Translate from {src_lang} to {tgt_lang}:\\n{src}\\n\"");
        free(part[0]), free(part[1]);
        return LM_EUSAGE;
    }
    *head = part[0];
    *tail = part[1];
    return LM_OK;
}
