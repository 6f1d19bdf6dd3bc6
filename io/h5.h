// Thin, checked helpers over the HDF5 C API. Every failure prints an error
// naming the file and the object, and returns a non-OK LmStatus; HDF5's own
// error stack printing is turned off (h5_init) so users see our message only.
#ifndef LM_H5_H
#define LM_H5_H

#include <hdf5.h>
#include <stdint.h>

#include "util/err.h"

// Silences HDF5's automatic error stack printing. Call once at start-up.
void h5_init(void);

// Opens an existing HDF5 file read-only. `what` names it in errors (e.g.
// "checkpoint runs/x.h5"); missing, empty, non-HDF5 and truncated/damaged
// files get distinct messages.
LmStatus h5_open(const char *path, const char *what, hid_t *file);

// Reads the file's metadata once per process in a child process
// (io/h5_probe.c): a damaged file on which HDF5 crashes or loops is an
// error naming `what` and the object. h5_open calls it.
LmStatus h5_probe(const char *path, const char *what);

// Opens `path` read-only and checks the root attributes
// format == `format` and 1 <= format_version <= max_version.
// Names the file and what is wrong (missing, truncated/not HDF5, other
// format, newer version). *version receives the file's version.
LmStatus h5_open_format(const char *path, const char *format, int max_version,
                        hid_t *file, int *version);

// Atomic file creation: h5_create_tmp makes "<path>.tmp.<pid>" and returns
// it in tmp (size >= strlen(path)+32); h5_commit flushes, closes, fsyncs,
// renames over `path` and fsyncs the directory. h5_abandon closes and
// unlinks the temporary file (used on error paths: the old file survives).
LmStatus h5_create_tmp(const char *path, char *tmp, size_t tmp_size, hid_t *file);
LmStatus h5_commit(hid_t file, const char *tmp, const char *path);
void h5_abandon(hid_t file, const char *tmp);

// Groups: create all missing intermediate groups.
LmStatus h5_ensure_group(hid_t loc, const char *path, hid_t *group);
// Opens an existing group (missing -> error naming `what` and the group).
LmStatus h5_open_group(hid_t loc, const char *path, hid_t *group, const char *what);
// Names of the links in a group, sorted by name. *names is one malloc'ed
// block (pointer array + strings): the caller frees only *names.
LmStatus h5_list(hid_t loc, const char *group, char ***names, int *n, const char *what);

// Copies group `name` of src (attributes, datasets, subgroups) to the same
// name under dst with this file's writers. HDF5's own H5Ocopy double-frees
// when the destination's disk fills up (HDF5 1.10).
LmStatus h5_copy_group(hid_t src, const char *name, hid_t dst, const char *what);

// Attributes (scalar). Readers name `what` (e.g. the file path) in errors.
LmStatus h5_attr_write_str(hid_t loc, const char *name, const char *value);
LmStatus h5_attr_write_i64(hid_t loc, const char *name, int64_t value);
LmStatus h5_attr_write_f64(hid_t loc, const char *name, double value);
int h5_attr_exists(hid_t loc, const char *name);
// *value is malloc'ed; caller frees.
LmStatus h5_attr_read_str(hid_t loc, const char *name, char **value, const char *what);
LmStatus h5_attr_read_i64(hid_t loc, const char *name, int64_t *value, const char *what);
LmStatus h5_attr_read_f64(hid_t loc, const char *name, double *value, const char *what);

// Datasets of rank <= 4. Writers create intermediate groups.
typedef enum { H5T_F32, H5T_F64, H5T_I32, H5T_I64, H5T_U8, H5T_U64 } H5Kind;
LmStatus h5_write(hid_t loc, const char *name, H5Kind kind, const void *data,
                  int ndim, const int64_t *shape);
int h5_exists(hid_t loc, const char *path);  // link exists (any depth)
// Shape of a dataset of exactly ndim (<= 4) dimensions: another rank is an
// error naming the dataset, and so is a declared size the file does not
// store (a damaged header), so the shape can size an allocation.
LmStatus h5_shape(hid_t loc, const char *name, int ndim, int64_t *shape, const char *what);
// Reads a whole dataset after checking that its rank and shape equal the
// expected ones (mismatch -> error naming dataset, expected and found shape).
LmStatus h5_read(hid_t loc, const char *name, H5Kind kind, void *data,
                 int ndim, const int64_t *shape, const char *what);
// The checks of h5_read without reading: kind and exact shape.
LmStatus h5_check(hid_t loc, const char *name, H5Kind kind, int ndim, const int64_t *shape,
                  const char *what);
// Reads elements [start, start+count) of a 1-D dataset.
LmStatus h5_read_range(hid_t loc, const char *name, H5Kind kind, void *data,
                       int64_t start, int64_t count, const char *what);

// 1-D datasets of variable-length UTF-8 strings (h5py reads them as str
// with .asstr()). The reader returns one malloc'ed block (pointer array +
// strings): the caller frees only *strs.
LmStatus h5_write_strings(hid_t loc, const char *name, const char *const *strs, int64_t n);
LmStatus h5_read_strings(hid_t loc, const char *name, char ***strs, int64_t *n,
                         const char *what);

#endif
