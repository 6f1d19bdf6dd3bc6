#include "io/json_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

typedef struct {
    char *s;
    size_t n, cap;
} Buf;

static void put(Buf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static void puts_(Buf *b, const char *s) { put(b, s, strlen(s)); }

static void indent(Buf *b, int level) {
    put(b, "\n", 1);
    for (int i = 0; i < level; i++) put(b, "  ", 2);
}

// One UTF-8 sequence at s (valid: jansson checks strings) -> code point.
static unsigned utf8_next(const unsigned char **s) {
    const unsigned char *p = *s;
    unsigned c = p[0], n = c < 0x80 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
    c &= n ? 0x3Fu >> n : 0x7F;
    for (unsigned i = 1; i <= n; i++) c = c << 6 | (p[i] & 0x3F);
    *s = p + n + 1;
    return c;
}

static void put_string(Buf *b, const char *str) {
    char u[16];
    put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)str; *p;) {
        unsigned c = utf8_next(&p);
        const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
                          : c == '\t' ? "\\t" : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
        if (esc) puts_(b, esc);
        else if (c >= 0x20 && c < 0x7F) put(b, (const char *)&(char){(char)c}, 1);
        else if (c < 0x10000) snprintf(u, sizeof u, "\\u%04x", c), puts_(b, u);
        else {
            c -= 0x10000;
            snprintf(u, sizeof u, "\\u%04x\\u%04x", 0xD800 + (c >> 10), 0xDC00 + (c & 0x3FF));
            puts_(b, u);
        }
    }
    put(b, "\"", 1);
}

// Python's repr of a float: the shortest digits that read back exactly,
// positional for exponents in [-4, 16), else d.ddde+XX.
static void put_real(Buf *b, double v) {
    char e[40], out[64];
    int p = 1;
    for (; p < 17; p++) {
        snprintf(e, sizeof e, "%.*e", p - 1, v);
        if (strtod(e, NULL) == v) break;
    }
    snprintf(e, sizeof e, "%.*e", p - 1, v);
    int neg = e[0] == '-', exp = atoi(strchr(e, 'e') + 1);
    char digits[24];
    int nd = 0;
    for (const char *q = e + neg; *q != 'e'; q++)
        if (*q != '.') digits[nd++] = *q;
    digits[nd] = '\0';
    char *o = out;
    if (neg) *o++ = '-';
    if (exp < -4 || exp >= 16) {
        o += sprintf(o, "%c%s%s", digits[0], nd > 1 ? "." : "", digits + 1);
        sprintf(o, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    } else if (exp < 0) {
        sprintf(o, "0.%.*s%s", -exp - 1, "0000", digits);
    } else {
        for (int i = 0; i <= exp; i++) *o++ = i < nd ? digits[i] : '0';
        sprintf(o, ".%s", nd > exp + 1 ? digits + exp + 1 : "0");
    }
    puts_(b, out);
}

static int key_cmp(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void put_value(Buf *b, const json_t *v, int level);

static void put_object(Buf *b, const json_t *v, int level) {
    size_t n = json_object_size(v), i = 0;
    if (!n) {
        puts_(b, "{}");
        return;
    }
    const char **keys = xmalloc(n * sizeof *keys), *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x) keys[i++] = k;
    qsort(keys, n, sizeof *keys, key_cmp);
    put(b, "{", 1);
    for (i = 0; i < n; i++) {
        indent(b, level + 1);
        put_string(b, keys[i]);
        put(b, ": ", 2);
        put_value(b, json_object_get(v, keys[i]), level + 1);
        if (i + 1 < n) put(b, ",", 1);
    }
    indent(b, level);
    put(b, "}", 1);
    free(keys);
}

static void put_value(Buf *b, const json_t *v, int level) {
    char num[32];
    switch (json_typeof(v)) {
    case JSON_OBJECT: put_object(b, v, level); break;
    case JSON_ARRAY:
        if (!json_array_size(v)) {
            puts_(b, "[]");
            break;
        }
        put(b, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            indent(b, level + 1);
            put_value(b, json_array_get(v, i), level + 1);
            if (i + 1 < json_array_size(v)) put(b, ",", 1);
        }
        indent(b, level);
        put(b, "]", 1);
        break;
    case JSON_STRING: put_string(b, json_string_value(v)); break;
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        puts_(b, num);
        break;
    case JSON_REAL: put_real(b, json_real_value(v)); break;
    case JSON_TRUE: puts_(b, "true"); break;
    case JSON_FALSE: puts_(b, "false"); break;
    case JSON_NULL: puts_(b, "null"); break;
    }
}

char *json_text(const json_t *v) {
    Buf b = {0};
    put_value(&b, v, 0);
    put(&b, "\n", 1);
    return b.s;
}

json_t *json_real_of_float(float f) {
    char buf[32];
    for (int p = 1; p < 10; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, (double)f);
        if ((float)strtod(buf, NULL) == f) return json_real(strtod(buf, NULL));
    }
    return json_real(f);
}
