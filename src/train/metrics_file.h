// <out_dir>/metrics.jsonl: one JSON object per logged step and one per
// validation, each with "step" (optimizer steps done) and "iter" (steps
// tried, skipped ones included). A run that starts at iteration `iter` -
// 0 fresh, or the checkpoint's after a resume - continues the file from
// there, so a step is never listed twice however often the run was killed.
#ifndef LM_METRICS_FILE_H
#define LM_METRICS_FILE_H

#include <stdint.h>
#include <stdio.h>

// Keeps the lines of iterations <= iter (lines without "iter", from older
// versions: those of steps <= step) and opens the file for appending; NULL
// with a warning if it cannot be written (a log, not data).
FILE *metrics_file_open(const char *dir, int64_t step, int64_t iter);

#endif
