// Safetensors reader (mmap + validation of every header field before use)
// and streaming writer. Values are little-endian; so is every host
// landermt builds on (checked below).
#define _DEFAULT_SOURCE  // madvise
#include "io/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/files.h"
#include "util/alloc.h"
#include "util/half.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors values are little-endian; this reader assumes a little-endian host"
#endif

static const char *const DTYPE_NAMES[] = {[ST_F32] = "F32", [ST_F16] = "F16", [ST_BF16] = "BF16"};
static const char *const TORCH_NAMES[] = {[ST_F32] = "float32", [ST_F16] = "float16",
                                          [ST_BF16] = "bfloat16"};

size_t st_dtype_size(StDtype d) { return d == ST_F32 ? 4 : 2; }
const char *st_dtype_name(StDtype d) { return DTYPE_NAMES[d]; }
const char *st_dtype_torch(StDtype d) { return TORCH_NAMES[d]; }

int st_dtype_from_torch(const char *name) {
    for (int d = 0; d < 3; d++)
        if (!strcmp(name, TORCH_NAMES[d])) return d;
    return -1;
}

// ------------------------------------------------------------ conversions

void st_widen(const StTensor *t, size_t start, size_t n, float *out) {
    const unsigned char *p = (const unsigned char *)t->data + start * st_dtype_size(t->dtype);
    if (t->dtype == ST_F32) {
        memcpy(out, p, n * 4);
        return;
    }
    half_widen((const uint16_t *)p, t->dtype == ST_BF16, n, out);
}

#define READ_CHUNK ((size_t)1 << 22)  // elements widened before their pages are released

LmStatus st_read_f32(const StFile *f, const StTensor *t, float *out) {
    for (size_t at = 0; at < t->numel; at += READ_CHUNK) {
        size_t n = t->numel - at < READ_CHUNK ? t->numel - at : READ_CHUNK;
        st_widen(t, at, n, out + at);
        st_release_range(f, t, at, n);
        for (size_t i = at; i < at + n; i++) {
            if (isfinite(out[i])) continue;
            lm_error("%s: tensor %s[%zu] is %g; refusing to load non-finite weights", f->path,
                     t->name, i, (double)out[i]);
            lm_hint("the file holds a diverged or damaged model; use an earlier or re-downloaded copy");
            return LM_ERUNTIME;
        }
    }
    return LM_OK;
}

// ---------------------------------------------------------------- reader

static LmStatus bad(const StFile *f, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

// One error naming the file (and the tensor when given).
static LmStatus bad(const StFile *f, const char *name, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (name) lm_error("safetensors file %s: tensor %s: %s", f->path, name, msg);
    else lm_error("safetensors file %s: %s", f->path, msg);
    return LM_ERUNTIME;
}

static LmStatus dtype_parse(const StFile *f, const char *name, json_t *v, StDtype *d) {
    const char *s = json_string_value(v);
    if (!s) return bad(f, name, "\"dtype\" is missing or not a string");
    for (int i = 0; i < 3; i++)
        if (!strcmp(s, DTYPE_NAMES[i])) return *d = (StDtype)i, LM_OK;
    bad(f, name, "dtype %s is not supported (landermt reads F32, F16 and BF16)", s);
    lm_hint("quantized (I8, F8_*) and integer tensors cannot be finetuned; use the model's "
            "unquantized float16/bfloat16/float32 release");
    return LM_ERUNTIME;
}

static LmStatus shape_parse(const StFile *f, StTensor *t, json_t *v) {
    if (!json_is_array(v) || json_array_size(v) > ST_MAX_DIM)
        return bad(f, t->name, "\"shape\" must be an array of at most %d sizes", ST_MAX_DIM);
    t->ndim = (int)json_array_size(v);
    t->numel = 1;
    for (int i = 0; i < t->ndim; i++) {
        json_t *d = json_array_get(v, (size_t)i);
        if (!json_is_integer(d) || json_integer_value(d) < 0)
            return bad(f, t->name, "shape[%d] is not a non-negative integer", i);
        t->shape[i] = json_integer_value(d);
        if (__builtin_mul_overflow(t->numel, (size_t)t->shape[i], &t->numel))
            return bad(f, t->name, "shape has more elements than any file can hold");
    }
    if (__builtin_mul_overflow(t->numel, st_dtype_size(t->dtype), &t->nbytes))
        return bad(f, t->name, "shape has more elements than any file can hold");
    return LM_OK;
}

// data_offsets [begin, end) within the data section of data_len bytes.
static LmStatus offsets_parse(const StFile *f, StTensor *t, json_t *v, const unsigned char *data,
                              size_t data_len, size_t *begin) {
    json_t *b = json_array_get(v, 0), *e = json_array_get(v, 1);
    if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_integer(b) || !json_is_integer(e))
        return bad(f, t->name, "\"data_offsets\" must be [begin, end] integers");
    long long lb = json_integer_value(b), le = json_integer_value(e);
    if (lb < 0 || le < lb || (unsigned long long)le > data_len)
        return bad(f, t->name, "data_offsets [%lld, %lld] are outside the data section (%zu bytes)%s",
                   lb, le, data_len, (unsigned long long)le > data_len ? ": the file is truncated?" : "");
    if ((size_t)(le - lb) != t->nbytes)
        return bad(f, t->name, "data_offsets [%lld, %lld] hold %lld bytes, but dtype %s and shape "
                   "(%zu elements) need %zu", lb, le, le - lb, DTYPE_NAMES[t->dtype], t->numel,
                   t->nbytes);
    *begin = (size_t)lb;
    t->data = data + lb;
    return LM_OK;
}

static LmStatus entry_parse(const StFile *f, StTensor *t, json_t *v, const unsigned char *data,
                            size_t data_len, size_t *begin) {
    if (!json_is_object(v)) return bad(f, t->name, "the header entry is not an object");
    LM_TRY(dtype_parse(f, t->name, json_object_get(v, "dtype"), &t->dtype));
    LM_TRY(shape_parse(f, t, json_object_get(v, "shape")));
    return offsets_parse(f, t, json_object_get(v, "data_offsets"), data, data_len, begin);
}

static LmStatus metadata_check(const StFile *f, json_t *v) {
    const char *k;
    json_t *x;
    if (!json_is_object(v)) return bad(f, NULL, "\"__metadata__\" is not an object");
    json_object_foreach(v, k, x) {
        if (!json_is_string(x)) return bad(f, NULL, "__metadata__ value \"%s\" is not a string", k);
    }
    return LM_OK;
}

typedef struct {
    size_t begin, end;
    const char *name;
} Range;

static int range_cmp(const void *a, const void *b) {
    const Range *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

static int tensor_cmp(const void *a, const void *b) {
    return strcmp(((const StTensor *)a)->name, ((const StTensor *)b)->name);
}

// Sorted by begin, each non-empty range must start at or after the end of
// the previous one.
static LmStatus overlap_check(const StFile *f, Range *r, int n) {
    qsort(r, (size_t)n, sizeof *r, range_cmp);
    const Range *prev = NULL;
    for (int i = 0; i < n; i++) {
        if (r[i].begin == r[i].end) continue;
        if (prev && r[i].begin < prev->end)
            return bad(f, r[i].name, "bytes [%zu, %zu) overlap those of tensor %s [%zu, %zu)",
                       r[i].begin, r[i].end, prev->name, prev->begin, prev->end);
        prev = &r[i];
    }
    return LM_OK;
}

static LmStatus header_tensors(StFile *f, json_t *root, const unsigned char *data, size_t data_len) {
    size_t cap = json_object_size(root);
    f->t = xcalloc(cap + 1, sizeof *f->t);
    Range *r = xcalloc(cap + 1, sizeof *r);
    const char *key;
    json_t *v;
    LmStatus s = LM_OK;
    json_object_foreach(root, key, v) {
        if (!strcmp(key, "__metadata__")) {
            s = metadata_check(f, v);
        } else {
            StTensor *t = &f->t[f->n++];
            t->name = xstrdup(key);
            s = entry_parse(f, t, v, data, data_len, &r[f->n - 1].begin);
            r[f->n - 1].end = r[f->n - 1].begin + t->nbytes;
            r[f->n - 1].name = t->name;
        }
        if (s != LM_OK) break;
    }
    if (s == LM_OK) s = overlap_check(f, r, f->n);
    if (s == LM_OK) qsort(f->t, (size_t)f->n, sizeof *f->t, tensor_cmp);
    free(r);
    return s;
}

static LmStatus header_parse(StFile *f) {
    const unsigned char *p = f->map;
    if (f->size < 8) return bad(f, NULL, "truncated: %zu bytes, less than the 8-byte header length", f->size);
    uint64_t n;
    memcpy(&n, p, 8);
    if (n > f->size - 8)
        return bad(f, NULL, "the header length %llu goes beyond the end of the file (%zu bytes): "
                   "the file is truncated or not safetensors", (unsigned long long)n, f->size);
    if (n < 2 || n > ST_MAX_HEADER)
        return bad(f, NULL, "the header length %llu is not in [2, %u]", (unsigned long long)n, ST_MAX_HEADER);
    json_error_t err;
    json_t *root = json_loadb((const char *)p + 8, (size_t)n, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        return bad(f, NULL, "the JSON header is malformed at line %d, column %d: %s", err.line,
                   err.column, err.text);
    LmStatus s = json_is_object(root) ? header_tensors(f, root, p + 8 + n, f->size - 8 - (size_t)n)
                                      : bad(f, NULL, "the JSON header is not an object");
    json_decref(root);
    return s;
}

static LmStatus map_file(StFile *f) {
    int fd = open(f->path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        lm_error("safetensors file %s: %s", f->path, errno == ENOENT ? "no such file" : strerror(errno));
        if (fd >= 0) close(fd);
        return LM_ERUNTIME;
    }
    LmStatus s = LM_OK;
    f->size = (size_t)st.st_size;
    if (!S_ISREG(st.st_mode)) s = bad(f, NULL, "not a regular file");
    else if (f->size == 0) s = bad(f, NULL, "the file is empty (0 bytes)");
    if (s == LM_OK) {
        f->map = mmap(NULL, f->size, PROT_READ, MAP_SHARED, fd, 0);
        if (f->map == MAP_FAILED) {
            f->map = NULL;
            s = bad(f, NULL, "cannot map: %s", strerror(errno));
        }
    }
    close(fd);
    return s;
}

LmStatus st_open(StFile *f, const char *path) {
    memset(f, 0, sizeof *f);
    f->path = xstrdup(path);
    LmStatus s = map_file(f);
    if (s == LM_OK) s = header_parse(f);
    if (s != LM_OK) st_close(f);
    return s;
}

void st_close(StFile *f) {
    if (f->map) munmap(f->map, f->size);
    for (int i = 0; i < f->n; i++) free(f->t[i].name);
    free(f->t);
    free(f->path);
    memset(f, 0, sizeof *f);
}

const StTensor *st_find(const StFile *f, const char *name) {
    StTensor key = {.name = (char *)name};
    return f->n ? bsearch(&key, f->t, (size_t)f->n, sizeof *f->t, tensor_cmp) : NULL;
}

// A read maps more than it touches: the kernel's fault-around maps the
// cached pages of an aligned window (64 KB by default) around each fault,
// including pages before it that an earlier release already dropped. So a
// release starts at the 2 MB boundary below its range, which covers any
// window; dropping pages that are not mapped costs nothing.
#define RELEASE_ALIGN ((size_t)2 << 20)

void st_release_range(const StFile *f, const StTensor *t, size_t start, size_t n) {
    size_t es = st_dtype_size(t->dtype);
    size_t from = (size_t)((const char *)t->data - (const char *)f->map) + start * es;
    size_t a = from / RELEASE_ALIGN * RELEASE_ALIGN, b = from + n * es;
    if (b > a) madvise((char *)f->map + a, b - a, MADV_DONTNEED);
}

void st_release(const StFile *f, const StTensor *t) { st_release_range(f, t, 0, t->numel); }

// ---------------------------------------------------------------- writer

#define WRITE_CHUNK ((size_t)1 << 20)  // values converted per write

// {"__metadata__": {...}, name: {dtype, shape, data_offsets}, ...} in spec
// order, padded with spaces so the data section starts 8-byte aligned.
static char *header_build(const StWriter *w, const char *const *meta, int n_meta, size_t *len) {
    json_t *root = json_object(), *md = json_object();
    for (int i = 0; i < n_meta; i++) json_object_set_new(md, meta[2 * i], json_string(meta[2 * i + 1]));
    json_object_set_new(root, "__metadata__", md);
    size_t off = 0;
    for (int i = 0; i < w->n; i++) {
        const StSpec *s = &w->spec[i];
        json_t *e = json_object(), *shape = json_array();
        for (int d = 0; d < s->ndim; d++) json_array_append_new(shape, json_integer(s->shape[d]));
        size_t nb = w->numel[i] * st_dtype_size(w->dtype);
        json_object_set_new(e, "dtype", json_string(DTYPE_NAMES[w->dtype]));
        json_object_set_new(e, "shape", shape);
        json_object_set_new(e, "data_offsets",
                            json_pack("[II]", (json_int_t)off, (json_int_t)(off + nb)));
        json_object_set_new(root, s->name, e);
        off += nb;
    }
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    size_t n = strlen(text), padded = (n + 7) / 8 * 8;
    text = xrealloc(text, padded + 1);
    memset(text + n, ' ', padded - n);
    text[padded] = '\0';
    *len = padded;
    return text;
}

static LmStatus spec_check(const char *path, const StSpec *spec, int n, size_t *numel) {
    for (int i = 0; i < n; i++) {
        numel[i] = 1;
        for (int d = 0; d < spec[i].ndim; d++) numel[i] *= (size_t)spec[i].shape[d];
        for (int j = 0; j < i; j++) {
            if (strcmp(spec[i].name, spec[j].name)) continue;
            lm_error("cannot write %s: tensor %s is listed twice", path, spec[i].name);
            return LM_EUSAGE;
        }
    }
    return LM_OK;
}

LmStatus st_writer_open(StWriter *w, const char *path, StDtype dtype, const StSpec *spec, int n,
                        const char *const *metadata, int n_meta) {
    memset(w, 0, sizeof *w);
    w->fd = -1;
    w->numel = xcalloc((size_t)n + 1, sizeof *w->numel);
    w->path = xstrdup(path);
    w->dtype = dtype, w->spec = spec, w->n = n;
    LmStatus s = spec_check(path, spec, n, w->numel);
    if (s != LM_OK) return st_writer_abandon(w), s;
    w->tmp = xmalloc(strlen(path) + 32);
    sprintf(w->tmp, "%s.tmp.%ld", path, (long)getpid());
    w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (w->fd < 0) {
        lm_error("cannot create %s: %s", w->tmp, strerror(errno));
        st_writer_abandon(w);
        return LM_ERUNTIME;
    }
    size_t len;
    char *header = header_build(w, metadata, n_meta, &len);
    uint64_t n64 = len;
    s = file_write_all(w->fd, &n64, 8, w->tmp);
    if (s == LM_OK) s = file_write_all(w->fd, header, len, w->tmp);
    free(header);
    w->buf = xmalloc(WRITE_CHUNK * 4);
    while (s == LM_OK && w->cur < w->n && !w->numel[w->cur]) w->cur++;  // empty tensors
    if (s != LM_OK) st_writer_abandon(w);
    return s;
}

// Converts x[0, n) into w->buf; refuses values that are not finite in the
// target dtype. `first` is the index of x[0] within the tensor.
static LmStatus convert(StWriter *w, const float *x, size_t n, size_t first) {
    const char *name = w->spec[w->cur].name;
    for (size_t i = 0; i < n; i++) {
        uint16_t h = 0;
        int finite = isfinite(x[i]);
        if (w->dtype == ST_F32) memcpy(w->buf + 4 * i, &x[i], 4);
        else h = w->dtype == ST_BF16 ? half_f32_to_bf16(x[i]) : half_f32_to_f16(x[i]);
        if (w->dtype == ST_F16) finite = finite && (h & 0x7C00) != 0x7C00;
        if (w->dtype == ST_BF16) finite = finite && (h & 0x7F80) != 0x7F80;
        if (w->dtype != ST_F32) memcpy(w->buf + 2 * i, &h, 2);
        if (finite) continue;
        lm_error("cannot write %s: tensor %s[%zu] = %g is not a finite %s value", w->path, name,
                 first + i, (double)x[i], st_dtype_torch(w->dtype));
        lm_hint(isfinite(x[i]) ? "the value is beyond the dtype's range; write float32 instead"
                               : "the model diverged; use an earlier checkpoint");
        return LM_ERUNTIME;
    }
    return LM_OK;
}

LmStatus st_writer_put(StWriter *w, const float *x, size_t n) {
    size_t es = st_dtype_size(w->dtype);
    while (n) {
        if (w->cur >= w->n) {
            lm_error("cannot write %s: more values than the header's tensors hold", w->path);
            return LM_EUSAGE;
        }
        size_t k = w->numel[w->cur] - w->done;
        if (k > n) k = n;
        if (k > WRITE_CHUNK) k = WRITE_CHUNK;
        LM_TRY(convert(w, x, k, w->done));
        LM_TRY(file_write_all(w->fd, w->buf, k * es, w->tmp));
        x += k, n -= k, w->done += k;
        while (w->cur < w->n && w->done == w->numel[w->cur]) w->cur++, w->done = 0;
    }
    return LM_OK;
}

LmStatus st_writer_commit(StWriter *w) {
    if (w->cur < w->n) {
        lm_error("cannot write %s: tensor %s is incomplete", w->path, w->spec[w->cur].name);
        st_writer_abandon(w);
        return LM_EUSAGE;
    }
    int rc = close(w->fd);
    w->fd = -1;
    LmStatus s = LM_OK;
    if (rc != 0) {
        lm_error("cannot write %s: %s", w->tmp, strerror(errno));
        unlink(w->tmp);
        s = LM_ERUNTIME;
    }
    if (s == LM_OK) s = file_publish(w->tmp, w->path);
    free(w->tmp), w->tmp = NULL;  // published or removed: nothing to abandon
    st_writer_abandon(w);
    return s;
}

void st_writer_abandon(StWriter *w) {
    if (w->fd >= 0) close(w->fd);
    if (w->tmp) unlink(w->tmp);
    free(w->tmp), free(w->path), free(w->numel), free(w->buf);
    memset(w, 0, sizeof *w);
    w->fd = -1;
}
