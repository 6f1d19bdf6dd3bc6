// Error reporting shared by every layer.
// Functions return an LmStatus; the first failure prints one "error:" line
// (naming the key, file, dataset or line) and usually a "HINT:" line, then the
// status travels up to the CLI, which turns it into the process exit code.
#ifndef LM_ERR_H
#define LM_ERR_H

typedef enum {
    LM_OK = 0,
    LM_ERUNTIME = 1,   // bad data, I/O failure (exit 1)
    LM_EUSAGE = 2,     // usage or configuration error (exit 2)
    LM_EPREEMPT = 75,  // stopped by a preemption signal after saving (exit 75)
} LmStatus;

// Printed to stderr as "error: <msg>" / "HINT: <msg>".
void lm_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lm_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// Propagate a non-OK status from an expression.
#define LM_TRY(expr)                         \
    do {                                     \
        LmStatus lm_try_st_ = (expr);        \
        if (lm_try_st_ != LM_OK) return lm_try_st_; \
    } while (0)

#endif
