// The PyTorch reference fixture (tests/reference/llama_ref.py ->
// tests/fixtures/llama_tiny.h5) as the C tests read it: one Case per model,
// with its parameters, inputs, and a comparison against stored float64
// expectations.
#ifndef LM_FIXTURE_H
#define LM_FIXTURE_H

#include "io/h5.h"
#include "model/model.h"

#define FIXTURE_PATH "tests/fixtures/llama_tiny.h5"

typedef struct {
    hid_t g;
    Model m;
    int B, T;
    int *tokens, *targets;
    float *weight;
} Case;

// Opens the fixture file (0 on failure, after a failed CHECK).
hid_t fixture_open(void);
void case_open(Case *c, hid_t file, const char *name);
void case_close(Case *c);
int64_t fixture_attr_i(hid_t g, const char *name);
double fixture_attr_f(hid_t g, const char *name);
// CHECKs |got - ref| <= tol * max|ref| over dataset ds of group g (n values,
// float64, of the given shape) and prints the max difference.
void fixture_compare(const char *what, const float *got, hid_t g, const char *ds, size_t n,
                     int ndim, const int64_t *shape, double tol);
// Same for double values.
void fixture_compare_f64(const char *what, const double *got, hid_t g, const char *ds, size_t n,
                         int ndim, const int64_t *shape, double tol);

// CHECKs that no HDF5 object is left open: error paths must close what
// they open.
void check_hdf5_closed(void);

#endif
