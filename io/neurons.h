// Neurons files (format "landermt.neurons", docs/formats.md): the result of
// `landermt detect` — units, layer relevance D, every awareness score, the
// selected layers and the general / specific neurons of each.
#ifndef LM_NEURONS_H
#define LM_NEURONS_H

#include <hdf5.h>
#include <stdint.h>

#include "util/err.h"

#define NEURONS_FORMAT "landermt.neurons"
#define NEURONS_VERSION 1
#define NEURONS_NAME 64

typedef struct {
    int U, L, F;               // units, layers, FFN neurons per layer
    char (*units)[NEURONS_NAME];  // [U] "de-en" or "de"
    char unit_kind[16];        // "direction" | "language"
    char selection[16];        // "spikes" | "topk" | "list"
    double epsilon;
    double *D;                 // (U, L-1) representation change per transition
    double *scores;            // (U, L, F) mean awareness per sentence
    double *sentences;         // (U) sentences scored
    int k;
    int *selected;             // [k] ascending layer indices
    int *owner;                // (k, F) -1 = general, else the owning unit
    // The model the scores belong to (checked by consumers).
    int64_t hidden_size, vocab_size;
    char model[1024];          // checkpoint path, or "" for a random model
} Neurons;

// Allocates every array for the given sizes (zeroed).
void neurons_init(Neurons *n, int U, int L, int F, int k);
void neurons_free(Neurons *n);

// Atomic write (temporary file, fsync, rename).
LmStatus neurons_write(const char *path, const Neurons *n);
// Writes units, selected layers and classes/layer_<l>/{general,
// specific/<unit>} under loc (the neurons file root, or a checkpoint's
// /landermt group).
LmStatus neurons_write_classes(hid_t loc, const Neurons *n);

// Reads classes/layer_<l>/... under loc into n->owner (allocated, k x F;
// n->U, units, k, selected, F set): sorted, in range, and a partition of
// each selected layer; errors name the dataset.
LmStatus neurons_read_classes(hid_t loc, Neurons *n, const char *what);

// Reads and validates (format, shapes, index ranges, sorted classes that
// partition each selected layer); errors name the file and dataset.
LmStatus neurons_read(const char *path, Neurons *n);

#endif
