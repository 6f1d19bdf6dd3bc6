#include "prep/mo.h"

#include <errno.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "util/alloc.h"

#define MO_MAGIC 0x950412deu
#define MO_HEADER_BYTES 28
// Far above any real catalog (LibreOffice's largest are a few MB); stops a
// garbage path (a device, a huge file) from being slurped.
#define MO_MAX_BYTES ((size_t)1 << 30)

// The file in memory plus the byte order it was written in.
typedef struct {
    const unsigned char *d;
    size_t size;
    int swap;  // 1 when the writer's byte order differs from ours
    const char *path;
} MoFile;

// A growable byte buffer for charset conversion output.
typedef struct {
    char *p;
    size_t len, cap;
} MoBuf;

static LmStatus mo_vfail(const char *path, const char *fmt, va_list ap) {
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    lm_error("%s: %s", path, msg);
    return LM_ERUNTIME;
}

static LmStatus mo_fail(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static LmStatus mo_fail(const char *path, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    LmStatus st = mo_vfail(path, fmt, ap);
    va_end(ap);
    return st;
}

// A structural error: the message, then what to do about it.
static LmStatus mo_fail_truncated(const MoFile *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static LmStatus mo_fail_truncated(const MoFile *f, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    LmStatus st = mo_vfail(f->path, fmt, ap);
    va_end(ap);
    lm_hint("the file is truncated or not a gettext .mo file; recompile it with msgfmt");
    return st;
}

static LmStatus mo_slurp(const char *path, unsigned char **data, size_t *size) {
    FILE *fh = fopen(path, "rb");
    if (!fh) return mo_fail(path, "cannot open: %s", strerror(errno));
    struct stat st;
    const char *why = fstat(fileno(fh), &st) != 0 ? strerror(errno)
                      : !S_ISREG(st.st_mode)       ? "not a regular file"
                      : (size_t)st.st_size > MO_MAX_BYTES ? "larger than 1 GiB, not a catalog"
                                                          : NULL;
    if (why) {
        fclose(fh);
        return mo_fail(path, "%s", why);
    }
    *size = (size_t)st.st_size;
    *data = xmalloc(*size + 1);
    size_t got = fread(*data, 1, *size, fh);
    int bad = ferror(fh);
    fclose(fh);
    if (got != *size || bad) {
        free(*data);
        return mo_fail(path, "read error (file changed while reading?)");
    }
    return LM_OK;
}

// The single bounds-checked access to the file's integers: both byte orders
// go through here.
static int mo_u32(const MoFile *f, uint64_t off, uint32_t *out) {
    if (off > f->size || f->size - off < 4) return -1;
    const unsigned char *b = f->d + off;
    uint32_t le = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    uint32_t be = (uint32_t)b[3] | (uint32_t)b[2] << 8 | (uint32_t)b[1] << 16 | (uint32_t)b[0] << 24;
    *out = f->swap ? be : le;
    return 0;
}

// String i of the table at `table`: its bytes must lie inside the file and
// be followed by the NUL every writer puts there, so a file cut anywhere
// inside its string area is detected.
static int mo_string(const MoFile *f, uint32_t table, uint32_t i, const char **s, uint32_t *len) {
    uint32_t off;
    uint64_t slot = (uint64_t)table + 8 * (uint64_t)i;
    if (mo_u32(f, slot, len) != 0 || mo_u32(f, slot + 4, &off) != 0) return -1;
    if (off >= f->size || *len >= f->size - off || f->d[off + *len] != '\0') return -1;
    *s = (const char *)f->d + off;
    return 0;
}

static void buf_reserve(MoBuf *b, size_t extra) {
    if (b->cap - b->len >= extra) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->len < extra) cap *= 2;
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
}

// Appends `in` converted to UTF-8 plus a NUL. Embedded NULs (plural
// separators) pass through: they are NUL in every charset gettext allows.
// Returns -1 on an invalid or incomplete input sequence.
static int mo_convert(iconv_t cd, const char *in, size_t len, MoBuf *b) {
    char *ip = (char *)in;
    size_t il = len;
    iconv(cd, NULL, NULL, NULL, NULL);  // reset shift state between strings
    for (;;) {
        buf_reserve(b, il * 4 + 16);
        char *op = b->p + b->len;
        size_t ol = b->cap - b->len;
        size_t r = iconv(cd, &ip, &il, &op, &ol);
        b->len = (size_t)(op - b->p);
        if (r != (size_t)-1) break;
        if (errno != E2BIG) return -1;
    }
    buf_reserve(b, 1);
    b->p[b->len++] = '\0';
    return 0;
}

// Value of header line "Key: value" (key case-insensitive), or NULL.
static char *header_field(const char *hdr, const char *key) {
    size_t k = strlen(key);
    for (const char *line = hdr; *line;) {
        size_t len = strcspn(line, "\n");
        if (len > k && strncasecmp(line, key, k) == 0 && line[k] == ':') {
            const char *v = line + k + 1;
            size_t n = len - k - 1;
            while (n > 0 && (*v == ' ' || *v == '\t')) v++, n--;
            while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r')) n--;
            char *out = xmalloc(n + 1);
            memcpy(out, v, n);
            out[n] = '\0';
            return out;
        }
        line += len + (line[len] == '\n');
    }
    return NULL;
}

// "text/plain; charset=ISO-8859-1" -> "ISO-8859-1"; "UTF-8" when absent or
// the template placeholder "CHARSET" (an unedited header).
static char *header_charset(const char *content_type) {
    const char *p = NULL;
    for (const char *q = content_type; q && *q; q++)
        if (strncasecmp(q, "charset=", 8) == 0) { p = q + 8; break; }
    size_t n = p ? strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") : 0;
    if (n == 0 || (n == 7 && strncmp(p, "CHARSET", 7) == 0)) return xstrdup("UTF-8");
    char *cs = xmalloc(n + 1);
    memcpy(cs, p, n);
    cs[n] = '\0';
    return cs;
}

// ---------------------------------------------------------------------------
// Plural-Forms expressions: recursive descent with a `live` flag, so that a
// division by zero in a branch C would not evaluate ("n==0 ? 0 : 10/n") is
// not an error, while every branch is still syntax-checked.

typedef struct {
    const char *p;
    unsigned long n;
    int err;
    int depth;
} PluralParser;

#define PLURAL_MAX_DEPTH 64
#define PLURAL_LEVELS 6

// Binary operators from the loosest to the tightest level; a longer
// operator precedes its prefix ("<=" before "<").
static const char *const PLURAL_OPS[PLURAL_LEVELS][5] = {
    {"||", NULL}, {"&&", NULL}, {"==", "!=", NULL},
    {"<=", ">=", "<", ">", NULL}, {"+", "-", NULL}, {"*", "/", "%", NULL},
};

static unsigned long plural_cond(PluralParser *pp, int live);

static void plural_skip(PluralParser *pp) {
    while (*pp->p == ' ' || *pp->p == '\t') pp->p++;
}

static int plural_accept(PluralParser *pp, const char *tok) {
    plural_skip(pp);
    size_t k = strlen(tok);
    if (strncmp(pp->p, tok, k) != 0) return 0;
    pp->p += k;
    return 1;
}

static unsigned long plural_number(PluralParser *pp) {
    unsigned long v = 0;
    while (*pp->p >= '0' && *pp->p <= '9') {
        unsigned d = (unsigned)(*pp->p++ - '0');
        if (v > (0xffffffffUL - d) / 10) pp->err = 1;  // no real rule needs more
        v = v * 10 + d;
    }
    return v;
}

static unsigned long plural_unary(PluralParser *pp, int live) {
    int nots = 0;
    while (plural_accept(pp, "!")) nots++;
    plural_skip(pp);
    unsigned long v = 0;
    if (*pp->p == '(') {
        pp->p++;
        v = plural_cond(pp, live);
        if (!plural_accept(pp, ")")) pp->err = 1;
    } else if (*pp->p == 'n') {
        pp->p++;
        v = pp->n;
    } else if (*pp->p >= '0' && *pp->p <= '9') {
        v = plural_number(pp);
    } else {
        pp->err = 1;
    }
    if (nots) v = (nots % 2) ? !v : !!v;
    return v;
}

static unsigned long plural_apply(PluralParser *pp, const char *op, unsigned long a,
                                  unsigned long b, int live) {
    switch (op[0]) {
    case '|': return a || b;
    case '&': return a && b;
    case '=': return a == b;
    case '!': return a != b;
    case '<': return op[1] ? a <= b : a < b;
    case '>': return op[1] ? a >= b : a > b;
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    default: break;
    }
    if (b == 0) {
        if (live) pp->err = 1;
        return 0;
    }
    return op[0] == '/' ? a / b : a % b;
}

static unsigned long plural_binary(PluralParser *pp, int level, int live) {
    if (level == PLURAL_LEVELS) return plural_unary(pp, live);
    unsigned long lhs = plural_binary(pp, level + 1, live);
    while (!pp->err) {
        const char *op = NULL;
        for (int i = 0; PLURAL_OPS[level][i] && !op; i++)
            if (plural_accept(pp, PLURAL_OPS[level][i])) op = PLURAL_OPS[level][i];
        if (!op) break;
        int rlive = live && !(op[0] == '|' && lhs) && !(op[0] == '&' && !lhs);
        unsigned long rhs = plural_binary(pp, level + 1, rlive);
        lhs = plural_apply(pp, op, lhs, rhs, rlive);
    }
    return lhs;
}

static unsigned long plural_cond(PluralParser *pp, int live) {
    if (++pp->depth > PLURAL_MAX_DEPTH) {
        pp->err = 1;
        return 0;
    }
    unsigned long c = plural_binary(pp, 0, live);
    if (!pp->err && plural_accept(pp, "?")) {
        unsigned long a = plural_cond(pp, live && c);
        if (!plural_accept(pp, ":")) pp->err = 1;
        unsigned long b = plural_cond(pp, live && !c);
        c = c ? a : b;
    }
    pp->depth--;
    return c;
}

int mo_plural_eval(const char *expr, unsigned long n, unsigned long *out) {
    PluralParser pp = {expr, n, 0, 0};
    unsigned long v = plural_cond(&pp, 1);
    plural_skip(&pp);
    if (pp.err || !(*pp.p == '\0' || *pp.p == ';' || *pp.p == '\n' || *pp.p == '\r')) return -1;
    *out = v;
    return 0;
}

// ---------------------------------------------------------------------------

// "nplurals=3; plural=EXPR;" -> nplurals and the form indices for n = 1 and
// n = 5. Missing or unusable rules fall back to libintl's default (n != 1).
static void catalog_plurals(MoCatalog *c, const char *pf) {
    const char *np = pf ? strstr(pf, "nplurals=") : NULL;
    const char *ex = pf ? strstr(pf, "plural=") : NULL;
    long nplurals = np ? strtol(np + 9, NULL, 10) : 0;
    unsigned long one = 0, five = 0;
    if (ex) {
        ex += 7;
        size_t k = strcspn(ex, ";\r\n");
        c->plural_expr = xmalloc(k + 1);
        memcpy(c->plural_expr, ex, k);
        c->plural_expr[k] = '\0';
    }
    int ok = nplurals >= 1 && nplurals <= 100 && c->plural_expr &&
             mo_plural_eval(c->plural_expr, 1, &one) == 0 &&
             mo_plural_eval(c->plural_expr, 5, &five) == 0 &&
             one < (unsigned long)nplurals && five < (unsigned long)nplurals;
    c->plural_fallback = !ok;
    c->nplurals = (nplurals >= 1 && nplurals <= 100) ? (int)nplurals : 2;
    c->singular_form = ok ? (int)one : 0;
    c->plural_form = ok ? (int)five : (c->nplurals > 1 ? 1 : -1);
    if (c->plural_form == c->singular_form) c->plural_form = -1;
}

// Finds the header entry (empty msgid) and fills charset, language, plurals.
static void catalog_header(MoCatalog *c, const MoFile *f, uint32_t n, uint32_t otab, uint32_t ttab) {
    const char *s, *h = "";
    uint32_t len;
    for (uint32_t i = 0; i < n; i++)
        if (mo_string(f, otab, i, &s, &len) == 0 && len == 0 &&
            mo_string(f, ttab, i, &s, &len) == 0) {
            h = s;  // NUL-terminated: mo_string checked it
            break;
        }
    char *ct = header_field(h, "Content-Type");
    char *pf = header_field(h, "Plural-Forms");
    c->charset = header_charset(ct);
    c->language = header_field(h, "Language");
    catalog_plurals(c, pf);
    free(ct);
    free(pf);
}

// Splits the converted "ctxt\4msgid\0plural" + "\0" + "form0\0form1..." buffer.
static void entry_split(MoEntry *e, char *mem, size_t orig_len, size_t total) {
    e->mem_ = mem;
    char *orig_end = mem + orig_len;  // the NUL mo_convert appended
    char *eot = strchr(mem, '\x04');
    e->ctxt = eot ? mem : NULL;
    if (eot) *eot = '\0';
    e->src = eot ? eot + 1 : mem;
    char *pl = e->src + strlen(e->src);
    e->src_plural = pl < orig_end ? pl + 1 : NULL;
    char *t = orig_end + 1, *end = mem + total - 1;
    e->n_forms = 1;
    for (char *q = t; q < end; q++) e->n_forms += (*q == '\0');
    e->forms = xmalloc(sizeof(char *) * (size_t)e->n_forms);
    for (int k = 0; k < e->n_forms; k++) {
        e->forms[k] = t;
        t += strlen(t) + 1;
    }
}

// Converts entry i; returns 1 when added, 0 when dropped for its charset.
static int catalog_entry(MoCatalog *c, iconv_t cd, const char *o, uint32_t olen,
                         const char *t, uint32_t tlen) {
    MoBuf b = {0};
    if (mo_convert(cd, o, olen, &b) != 0) goto bad;
    size_t orig_len = b.len - 1;
    if (mo_convert(cd, t, tlen, &b) != 0) goto bad;
    entry_split(&c->e[c->n++], xrealloc(b.p, b.len), orig_len, b.len);
    return 1;
bad:
    free(b.p);
    c->n_bad_charset++;
    return 0;
}

static LmStatus catalog_entries(MoCatalog *c, const MoFile *f, uint32_t n, uint32_t otab, uint32_t ttab) {
    // ASCII catalogs are read as UTF-8: a stray UTF-8 string in one is
    // common, and UTF-8 is its superset. UTF-8 input still goes through
    // iconv, which rejects invalid sequences (overlong forms, surrogates).
    int ascii = strcasecmp(c->charset, "ASCII") == 0 || strcasecmp(c->charset, "US-ASCII") == 0;
    iconv_t cd = iconv_open("UTF-8", ascii ? "UTF-8" : c->charset);
    if (cd == (iconv_t)-1) {
        LmStatus st = mo_fail(f->path, "unknown charset \"%s\" in the header", c->charset);
        lm_hint("iconv does not know it; re-encode the catalog with msgconv --to-code=UTF-8");
        return st;
    }
    c->e = xcalloc(n ? n : 1, sizeof(MoEntry));
    for (uint32_t i = 0; i < n; i++) {
        const char *o, *t;
        uint32_t olen, tlen;
        if (mo_string(f, otab, i, &o, &olen) != 0 || mo_string(f, ttab, i, &t, &tlen) != 0) {
            iconv_close(cd);
            return mo_fail_truncated(f, "string %u of %u lies outside the file (%zu bytes)", i, n, f->size);
        }
        if (olen > 0) catalog_entry(c, cd, o, olen, t, tlen);
    }
    iconv_close(cd);
    return LM_OK;
}

static LmStatus mo_parse(MoFile *f, MoCatalog *c) {
    if (f->size < MO_HEADER_BYTES) return mo_fail(f->path, "too short for a .mo file (%zu bytes)", f->size);
    uint32_t magic, rev, n, otab, ttab;
    mo_u32(f, 0, &magic);
    if (magic != MO_MAGIC) {
        f->swap = 1;
        mo_u32(f, 0, &magic);
        if (magic != MO_MAGIC) return mo_fail(f->path, "not a gettext .mo file (bad magic number)");
    }
    mo_u32(f, 4, &rev);
    mo_u32(f, 8, &n);
    mo_u32(f, 12, &otab);
    mo_u32(f, 16, &ttab);
    if (rev >> 16 > 1) return mo_fail(f->path, "unsupported .mo major revision %u", rev >> 16);
    uint64_t tab_bytes = 8 * (uint64_t)n;
    if (otab > f->size || ttab > f->size || tab_bytes > f->size - otab || tab_bytes > f->size - ttab)
        return mo_fail_truncated(f, "string tables (%u entries) extend past the end of the file", n);
    catalog_header(c, f, n, otab, ttab);
    return catalog_entries(c, f, n, otab, ttab);
}

LmStatus mo_read(const char *path, MoCatalog *out) {
    memset(out, 0, sizeof *out);
    unsigned char *data = NULL;
    MoFile f = {NULL, 0, 0, path};
    LM_TRY(mo_slurp(path, &data, &f.size));
    f.d = data;
    LmStatus st = mo_parse(&f, out);
    free(data);
    if (st != LM_OK) mo_free(out);
    return st;
}

void mo_free(MoCatalog *c) {
    for (int i = 0; i < c->n; i++) {
        free(c->e[i].forms);
        free(c->e[i].mem_);
    }
    free(c->e);
    free(c->charset);
    free(c->language);
    free(c->plural_expr);
    memset(c, 0, sizeof *c);
}

int mo_entry_pairs(const MoCatalog *c, const MoEntry *e, MoPair out[2]) {
    if (!e->src_plural) {
        out[0] = (MoPair){e->src, e->forms[0], 0};
        return 1;
    }
    int k = 0;
    if (c->singular_form < e->n_forms) out[k++] = (MoPair){e->src, e->forms[c->singular_form], 0};
    if (c->plural_form >= 0 && c->plural_form < e->n_forms && strcmp(e->src_plural, e->src) != 0)
        out[k++] = (MoPair){e->src_plural, e->forms[c->plural_form], 1};
    return k;
}
