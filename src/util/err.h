// Error reporting shared by every layer.
// Functions return an LmStatus; the first failure prints one "error:" line
// (naming the key, file, dataset or line) and usually a "HINT:" line, then the
// status travels up to the CLI, which turns it into the process exit code.
#ifndef LM_ERR_H
#define LM_ERR_H

#include <stddef.h>

typedef enum {
    LM_OK = 0,
    LM_ERUNTIME = 1,   // bad data, I/O failure (exit 1)
    LM_EUSAGE = 2,     // usage or configuration error (exit 2)
    LM_EPREEMPT = 75,  // stopped by a preemption signal after saving (exit 75)
} LmStatus;

// Printed to stderr as "error: <msg>" / "HINT: <msg>".
void lm_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lm_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// Capture: while active, lm_error messages are appended to buf (joined by
// "; ", truncated to cap) and lm_hint messages dropped, instead of going to
// stderr. For a caller that tries alternatives and reports why one was
// passed over in its own words (resume skipping a damaged checkpoint).
// Captures nest: lm_capture_end returns to the enclosing one. A NULL buf
// discards the messages.
void lm_capture_begin(char *buf, size_t cap);
void lm_capture_end(void);

// Propagate a non-OK status from an expression.
#define LM_TRY(expr)                         \
    do {                                     \
        LmStatus lm_try_st_ = (expr);        \
        if (lm_try_st_ != LM_OK) return lm_try_st_; \
    } while (0)

#endif
