// Shared pieces of the libFuzzer harnesses (docs/robustness.md). A harness
// writes its input where the loader expects a file, runs the loader with
// its messages captured, and checks what any input is owed: no crash or
// undefined behaviour (ASan + UBSan), no hang (libFuzzer's -timeout), no
// allocation beyond -malloc_limit_mb, no HDF5 handle left open, and a
// refusal whose error message names the file.
#ifndef LM_FUZZ_H
#define LM_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

// Writes data to a fresh file called `name` in this process's private
// directory and returns its path (valid until fuzz_end).
const char *fuzz_file(const char *name, const void *data, size_t size);
// A fresh empty directory in the private directory (removed by fuzz_end).
const char *fuzz_dir(void);
// Starts capturing error messages (call before the loader).
void fuzz_begin(void);
// After the loader: st != LM_OK must come with an error message that
// contains `name` (the file or directory), and no HDF5 object may be left
// open; a violation aborts (a finding).
void fuzz_end(LmStatus st, const char *name);
// Removes the files of this input (last call of a harness).
void fuzz_clear(void);
// The input cut into n parts at the marker lines "\n--8<--\n" (missing
// parts are empty), for loaders that read several files.
#define FUZZ_MARKER "\n--8<--\n"
void fuzz_split(const uint8_t *data, size_t size, int n, const uint8_t **part, size_t *len);

#endif
