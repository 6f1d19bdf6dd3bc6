#include "io/ckpt_verify.h"

#include <stdlib.h>
#include <string.h>

#include "io/ckpt.h"
#include "io/h5.h"
#include "util/alloc.h"

typedef struct {
    const char *path;
    int bad;  // datasets that did not read back
} Visit;

#define VERIFY_BLOCK ((hsize_t)1 << 24)  // elements read at a time

// Reads rows [r0, r0 + nr) of a dataset of `rank` dims into buf.
static herr_t rows_read(hid_t d, hid_t t, hid_t sp, int rank, const hsize_t *dims, hsize_t r0,
                        hsize_t nr, void *buf) {
    hsize_t start[8] = {r0}, count[8] = {nr}, elems = nr;
    for (int k = 1; k < rank; k++) count[k] = dims[k], elems *= dims[k];
    hid_t mem = H5Screate_simple(1, &elems, NULL);
    herr_t rc = H5Sselect_hyperslab(sp, H5S_SELECT_SET, start, NULL, count, NULL);
    if (rc >= 0) rc = H5Dread(d, t, mem, sp, H5P_DEFAULT, buf);
    H5Sclose(mem);
    return rc;
}

// Reads one dataset in full in its native type — numeric data a block of
// rows at a time (a 7B run's packed state is gigabytes), variable-length
// data (strings) at once and released again.
static int dataset_reads(hid_t f, const char *name) {
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) return 0;
    hid_t ft = H5Dget_type(d), t = H5Tget_native_type(ft, H5T_DIR_ASCEND), sp = H5Dget_space(d);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    size_t size = H5Tget_size(t);
    int rank = H5Sget_simple_extent_ndims(sp), vlen = H5Tdetect_class(t, H5T_VLEN) > 0 || H5Tis_variable_str(t) > 0;
    hsize_t dims[8] = {0};
    herr_t rc = -1;
    if (!vlen && rank >= 1 && rank <= 8 && n > 0 && H5Sget_simple_extent_dims(sp, dims, NULL) == rank) {
        hsize_t per_row = (hsize_t)n / dims[0], block = VERIFY_BLOCK / per_row ? VERIFY_BLOCK / per_row : 1;
        void *buf = malloc((size_t)(block * per_row) * size + 1);
        rc = buf ? 0 : -1;
        for (hsize_t r0 = 0; rc >= 0 && r0 < dims[0]; r0 += block)
            rc = rows_read(d, t, sp, rank, dims, r0, dims[0] - r0 < block ? dims[0] - r0 : block, buf);
        free(buf);
    } else {
        void *buf = n >= 0 && t >= 0 ? malloc((size_t)n * size + 1) : NULL;
        rc = buf ? H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) : -1;
        if (rc >= 0 && vlen) H5Dvlen_reclaim(t, sp, H5P_DEFAULT, buf);
        free(buf);
    }
    H5Sclose(sp), H5Tclose(t), H5Tclose(ft), H5Dclose(d);
    return rc >= 0;
}

static herr_t visit_one(hid_t f, const char *name, const H5O_info_t *info, void *data) {
    Visit *v = data;
    if (info->type != H5O_TYPE_DATASET || dataset_reads(f, name)) return 0;
    if (v->bad++ < 3)
        lm_error("checkpoint %s: dataset /%s does not read back (checksum mismatch or missing "
                 "data)", v->path, name);
    return 0;
}

// The tensors of `group`, if it exists: every model tensor with its shape.
static int tensors_mismatch(hid_t f, const char *group, const Model *m, const char *path) {
    if (!h5_exists(f, group)) return 0;
    for (int i = 0; i < m->n_tensors; i++) {
        const TensorInfo *t = &m->tensors[i];
        char name[600];
        int ndim = 0;
        int64_t shape[8];
        snprintf(name, sizeof name, "%s/%s", group, t->name);
        int ok = h5_exists(f, name);
        if (ok) {
            hid_t d = H5Dopen2(f, name, H5P_DEFAULT), sp = H5Dget_space(d);
            hsize_t dims[8];
            ndim = H5Sget_simple_extent_ndims(sp);
            ok = ndim == t->ndim && ndim <= 8 && H5Sget_simple_extent_dims(sp, dims, NULL) == ndim;
            for (int k = 0; ok && k < ndim; k++) ok = (int64_t)(shape[k] = (int64_t)dims[k]) == t->shape[k];
            H5Sclose(sp), H5Dclose(d);
        }
        if (!ok) {
            lm_error("checkpoint %s: tensor /%s is %s for this model's configuration", path, name,
                     h5_exists(f, name) ? "misshaped" : "missing");
            return 1;
        }
    }
    return 0;
}

LmStatus ckpt_verify(const char *path, const Model *m) {
    hid_t f;
    int version;
    LM_TRY(h5_open_format(path, CKPT_FORMAT, CKPT_VERSION, &f, &version));
    Visit v = {path, 0};
    herr_t rc = H5Ovisit(f, H5_INDEX_NAME, H5_ITER_INC, visit_one, &v);
    if (rc < 0 && !v.bad) {
        lm_error("checkpoint %s: its objects cannot be listed (damaged file)", path);
        v.bad = 1;
    }
    int bad = v.bad;
    const char *groups[] = {"params", "train/optimizer/exp_avg", "train/optimizer/exp_avg_sq"};
    for (int i = 0; !bad && i < 3; i++) bad = tensors_mismatch(f, groups[i], m, path);
    H5Fclose(f);
    return bad ? LM_ERUNTIME : LM_OK;
}
