// mkcorpus: builds a monolingual landermt.corpus file with the interim byte
// tokenizer (id 3 + b for byte b), until `landermt prep` with BPE exists.
//
//   mkcorpus OUT.h5 --lang en [--dev-frac 0.05] FILE...
//
// One sentence per non-empty line (whitespace-trimmed). The train/dev split
// is a function of the sentence text alone (FNV-1a 64), so it never depends
// on file order or the machine, and duplicates (dropped) can never straddle
// splits. Layout: docs/formats.md.
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/corpus.h"
#include "io/h5.h"
#include "util/alloc.h"

#define MAX_LINE_BYTES 1000
#define BYTE_OFFSET 3  // ids 0..2 are <pad>, <bos>, <eos>
#define VOCAB_SIZE (BYTE_OFFSET + 256)
#define USAGE "usage: mkcorpus OUT.h5 --lang LANG [--dev-frac F] FILE..."

typedef struct {
    const char *out, *lang;
    double dev_frac;
    char **files;
    int n_files;
} Opts;

typedef struct {
    char **text;  // kept sentences in input order
    int64_t n, cap, n_tokens;
} Split;

// Open-addressing set of sentences already kept (pointers into the splits).
typedef struct {
    uint64_t *hash;
    const char **text;
    size_t cap, n;
} Seen;

typedef struct {
    int64_t duplicate, too_long, invalid;
} Skipped;

static uint64_t fnv1a64(const char *s, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    return h;
}

// Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF):
// /text must decode in h5py and in the scorers.
static int utf8_valid(const unsigned char *s, size_t n) {
    static const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!len || len > n - i) return 0;
        uint32_t cp = len == 1 ? c : c & (0x7Fu >> len);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += len;
    }
    return 1;
}

// Trims ASCII whitespace in place; returns the start, *len the new length.
static char *trim(char *s, size_t *len) {
    size_t n = *len;
    while (n && isspace((unsigned char)s[n - 1])) n--;
    while (n && isspace((unsigned char)*s)) s++, n--;
    s[n] = '\0';
    *len = n;
    return s;
}

static void seen_grow(Seen *s) {
    Seen big = {xcalloc(s->cap ? 2 * s->cap : 1024, sizeof *big.hash), NULL,
                s->cap ? 2 * s->cap : 1024, s->n};
    big.text = xcalloc(big.cap, sizeof *big.text);
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->text[i]) continue;
        size_t j = s->hash[i] & (big.cap - 1);
        while (big.text[j]) j = (j + 1) & (big.cap - 1);
        big.hash[j] = s->hash[i];
        big.text[j] = s->text[i];
    }
    free(s->hash);
    free(s->text);
    *s = big;
}

// 1 if text was not seen before (and is now recorded), 0 for a duplicate.
static int seen_insert(Seen *s, uint64_t h, const char *text) {
    if (2 * (s->n + 1) > s->cap) seen_grow(s);
    size_t j = h & (s->cap - 1);
    for (; s->text[j]; j = (j + 1) & (s->cap - 1))
        if (s->hash[j] == h && !strcmp(s->text[j], text)) return 0;
    s->hash[j] = h;
    s->text[j] = text;
    s->n++;
    return 1;
}

// dev iff the top 53 bits of the hash, as a fraction of 2^53, are < dev_frac.
static int is_dev(uint64_t h, double dev_frac) {
    return (double)(h >> 11) * 0x1.0p-53 < dev_frac;
}

// Takes ownership of text.
static void split_push(Split *s, char *text, size_t len) {
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 1024;
        s->text = xrealloc(s->text, (size_t)s->cap * sizeof *s->text);
    }
    s->text[s->n++] = text;
    s->n_tokens += (int64_t)len;
}

// Adds one raw line; returns 1 if it was a usable sentence (kept or duplicate).
static int line_add(char *raw, size_t len, const Opts *o, Split splits[2], Seen *seen,
                    Skipped *sk) {
    int has_nul = memchr(raw, '\0', len) != NULL;
    char *s = trim(raw, &len);
    if (!len) return 0;
    if (len > MAX_LINE_BYTES) return sk->too_long++, 0;
    if (has_nul || !utf8_valid((const unsigned char *)s, len)) return sk->invalid++, 0;
    uint64_t h = fnv1a64(s, len);
    char *copy = xstrdup(s);
    if (seen_insert(seen, h, copy)) {
        split_push(&splits[is_dev(h, o->dev_frac)], copy, len);
    } else {
        free(copy);
        sk->duplicate++;
    }
    return 1;
}

static LmStatus file_read(const char *path, const Opts *o, Split splits[2], Seen *seen,
                          Skipped *sk) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        lm_error("mkcorpus: cannot open %s: %s", path, strerror(errno));
        return LM_ERUNTIME;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int64_t usable = 0;
    while ((len = getline(&line, &cap, fp)) >= 0)
        usable += line_add(line, (size_t)len, o, splits, seen, sk);
    int read_error = ferror(fp);
    free(line);
    fclose(fp);
    if (read_error) {
        lm_error("mkcorpus: error reading %s", path);
        return LM_ERUNTIME;
    }
    if (!usable) {
        lm_error("mkcorpus: %s has no usable sentences", path);
        lm_hint("the file is empty, or every line is blank, longer than %d bytes or not UTF-8",
                MAX_LINE_BYTES);
        return LM_ERUNTIME;
    }
    return LM_OK;
}

static LmStatus split_write(hid_t f, const char *lang, const char *name, const Split *s) {
    char grp[256];
    snprintf(grp, sizeof grp, "mono/%s/%s", lang, name);
    hid_t g;
    LM_TRY(h5_ensure_group(f, grp, &g));
    int32_t *tok = xmalloc((size_t)s->n_tokens * sizeof *tok + 1);
    int64_t *off = xmalloc((size_t)(s->n + 1) * sizeof *off);
    off[0] = 0;
    for (int64_t i = 0; i < s->n; i++) {
        const unsigned char *p = (const unsigned char *)s->text[i];
        int64_t k = off[i];
        for (; *p; p++) tok[k++] = BYTE_OFFSET + *p;
        off[i + 1] = k;
    }
    int64_t n_off = s->n + 1;
    LmStatus st = h5_write(g, "tokens", H5T_I32, tok, 1, &s->n_tokens);
    if (st == LM_OK) st = h5_write(g, "offsets", H5T_I64, off, 1, &n_off);
    if (st == LM_OK) st = h5_write_strings(g, "text", (const char *const *)s->text, s->n);
    free(tok);
    free(off);
    H5Gclose(g);
    return st;
}

static LmStatus tokenizer_write(hid_t f) {
    hid_t g;
    LM_TRY(h5_ensure_group(f, "tokenizer", &g));
    const struct { const char *name; int64_t v; } ids[] = {
        {"vocab_size", VOCAB_SIZE}, {"pad_id", 0}, {"bos_id", 1}, {"eos_id", 2},
        {"byte_offset", BYTE_OFFSET}};
    LmStatus st = h5_attr_write_str(g, "type", "bytes");
    for (size_t i = 0; st == LM_OK && i < sizeof ids / sizeof ids[0]; i++)
        st = h5_attr_write_i64(g, ids[i].name, ids[i].v);
    H5Gclose(g);
    return st;
}

static LmStatus corpus_write(const Opts *o, const Split splits[2]) {
    size_t tmp_size = strlen(o->out) + 32;
    char *tmp = xmalloc(tmp_size);
    hid_t f;
    LmStatus st = h5_create_tmp(o->out, tmp, tmp_size, &f);
    if (st == LM_OK) {
        st = h5_attr_write_str(f, "format", CORPUS_FORMAT);
        if (st == LM_OK) st = h5_attr_write_i64(f, "format_version", CORPUS_VERSION);
        if (st == LM_OK) st = tokenizer_write(f);
        if (st == LM_OK) st = split_write(f, o->lang, "train", &splits[0]);
        if (st == LM_OK) st = split_write(f, o->lang, "dev", &splits[1]);
        if (st == LM_OK) st = h5_commit(f, tmp, o->out);
        else h5_abandon(f, tmp);
    }
    free(tmp);
    return st;
}

static int lang_valid(const char *s) {
    size_t n = strlen(s);
    if (!n || n > 32) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-') return 0;
    return 1;
}

static int usage_error(const char *msg, const char *arg) {
    fprintf(stderr, "error: mkcorpus: %s%s\n%s\n", msg, arg, USAGE);
    return LM_EUSAGE;
}

// 0 on success, else the exit status (usage errors print the usage line).
static int opts_parse(int argc, char **argv, Opts *o) {
    *o = (Opts){.dev_frac = 0.05, .files = xcalloc((size_t)argc, sizeof(char *))};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("%s\n", USAGE);
            exit(0);
        } else if (!strcmp(a, "--lang") || !strcmp(a, "--dev-frac")) {
            if (i + 1 == argc) return usage_error("missing value after ", a);
            const char *v = argv[++i];
            char *end;
            if (!strcmp(a, "--lang")) {
                o->lang = v;
                continue;
            }
            o->dev_frac = strtod(v, &end);
            if (end == v || *end || !(o->dev_frac >= 0 && o->dev_frac < 1))
                return usage_error("--dev-frac must be a number in [0, 1), got ", v);
        } else if (a[0] == '-' && a[1]) {
            return usage_error("unknown option ", a);
        } else if (!o->out) {
            o->out = a;
        } else {
            o->files[o->n_files++] = argv[i];
        }
    }
    if (!o->out || !o->n_files) return usage_error("need an output file and at least one input", "");
    if (!o->lang) return usage_error("missing --lang", "");
    if (!lang_valid(o->lang))
        return usage_error("--lang must be letters, digits, '_' or '-', got ", o->lang);
    return 0;
}

static void splits_free(Split splits[2], Seen *seen) {
    for (int s = 0; s < 2; s++) {
        for (int64_t i = 0; i < splits[s].n; i++) free(splits[s].text[i]);
        free(splits[s].text);
    }
    free(seen->hash);
    free(seen->text);
}

int main(int argc, char **argv) {
    Opts o;
    int rc = opts_parse(argc, argv, &o);
    if (rc) return free(o.files), rc;
    h5_init();
    Split splits[2] = {{0}};
    Seen seen = {0};
    Skipped sk = {0};
    LmStatus st = LM_OK;
    for (int i = 0; st == LM_OK && i < o.n_files; i++)
        st = file_read(o.files[i], &o, splits, &seen, &sk);
    if (st == LM_OK) st = corpus_write(&o, splits);
    if (st == LM_OK) {
        const char *names[2] = {"train", "dev"};
        for (int s = 0; s < 2; s++)
            printf("%s: %lld sentences, %lld tokens\n", names[s], (long long)splits[s].n,
                   (long long)splits[s].n_tokens);
        printf("skipped lines: %lld duplicate, %lld longer than %d bytes, %lld not UTF-8\n",
               (long long)sk.duplicate, (long long)sk.too_long, MAX_LINE_BYTES,
               (long long)sk.invalid);
        printf("wrote %s\n", o.out);
    }
    splits_free(splits, &seen);
    free(o.files);
    return st == LM_OK ? 0 : 1;
}
