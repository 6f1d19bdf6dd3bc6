// Safetensors files (the Hugging Face weight format): an 8-byte
// little-endian header length N, N bytes of JSON describing each tensor
// ({"name": {"dtype": "BF16", "shape": [r, c], "data_offsets": [b, e]}},
// plus an optional "__metadata__" object of strings), then the data
// section, offsets relative to its start. docs/formats.md has the rules
// this reader enforces.
//
// Files are mapped read-only and shared (MAP_SHARED), so the ranks of a
// node that open the same file share its pages through the page cache; a
// tensor is exposed as a pointer into the mapping with its dtype and shape,
// and can be widened to float32 on demand.
#ifndef LM_SAFETENSORS_H
#define LM_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define ST_MAX_DIM 8
// Headers larger than this are refused before parsing (the reference
// implementation's limit).
#define ST_MAX_HEADER (100u * 1000u * 1000u)

typedef enum { ST_F32 = 0, ST_F16 = 1, ST_BF16 = 2 } StDtype;

typedef struct {
    char *name;
    StDtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIM];
    size_t numel;
    size_t nbytes;
    const void *data;  // little-endian values inside the mapping; not aligned
} StTensor;

typedef struct {
    char *path;
    void *map;       // the whole file, PROT_READ, MAP_SHARED
    size_t size;
    int n;
    StTensor *t;     // sorted by name
} StFile;

// Maps and validates `path`: header length inside the file and below
// ST_MAX_HEADER, JSON well formed (errors give line and column), a known
// dtype per tensor (F32, F16, BF16; others are refused naming the tensor),
// dtype size x shape = byte range, ranges inside the data section and not
// overlapping, no duplicate names. LM_ERUNTIME naming the file otherwise.
LmStatus st_open(StFile *f, const char *path);
void st_close(StFile *f);
// The tensor called name, or NULL.
const StTensor *st_find(const StFile *f, const char *name);
// Tells the kernel the pages of t (of its elements [start, start + n)) are
// not needed by this process any more (they stay in the page cache for
// other readers), so reading a model never keeps a second copy resident.
void st_release(const StFile *f, const StTensor *t);
void st_release_range(const StFile *f, const StTensor *t, size_t start, size_t n);

size_t st_dtype_size(StDtype d);
const char *st_dtype_name(StDtype d);      // "F32", "F16", "BF16"
const char *st_dtype_torch(StDtype d);     // "float32", "float16", "bfloat16"
// Parses a torch dtype name ("float32", "bfloat16", "float16"); -1 if other.
int st_dtype_from_torch(const char *name);

// Conversions: src/util/half.h (a finite x beyond the target's range
// becomes an infinity: st_write refuses it).

// Elements [start, start + n) of t widened to float32.
void st_widen(const StTensor *t, size_t start, size_t n, float *out);
// The whole tensor widened into out (t->numel floats), releasing its pages
// piece by piece; a NaN or infinity is an error naming the file, the tensor
// and the index.
LmStatus st_read_f32(const StFile *f, const StTensor *t, float *out);

// Writer: the header is fixed up front (names, shapes, one dtype), then
// the values of every tensor are appended in order, in pieces of any size,
// so a model never needs to be in memory at once. Written to a temporary
// file that st_writer_commit fsyncs and renames over path.
typedef struct {
    const char *name;
    int ndim;
    int64_t shape[ST_MAX_DIM];
} StSpec;

typedef struct {
    char *path, *tmp;
    int fd;
    StDtype dtype;
    int n, cur;          // tensors, the one being written
    const StSpec *spec;
    size_t *numel;       // [n]
    size_t done;         // values of tensor cur written so far
    unsigned char *buf;  // conversion buffer
} StWriter;

// metadata: "__metadata__" entries as key, value pairs (n_meta pairs).
LmStatus st_writer_open(StWriter *w, const char *path, StDtype dtype, const StSpec *spec, int n,
                        const char *const *metadata, int n_meta);
// Appends n values of the current tensor (moving on to the next one when it
// is complete). Refuses non-finite values and values that overflow the
// dtype, naming the tensor and index.
LmStatus st_writer_put(StWriter *w, const float *x, size_t n);
// Every value must have been written; fsync, rename, fsync the directory.
LmStatus st_writer_commit(StWriter *w);
// Error paths: removes the temporary file.
void st_writer_abandon(StWriter *w);

#endif
