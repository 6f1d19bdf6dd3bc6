// Minimal test harness: CHECK records a failure and continues, so one run
// reports every broken assertion; main() returns non-zero if any failed.
#ifndef LM_HARNESS_H
#define LM_HARNESS_H
#include <math.h>
#include <stdio.h>

extern int harness_failures;
extern int harness_checks;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        harness_checks++;                                                  \
        if (!(cond)) {                                                     \
            harness_failures++;                                            \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
        }                                                                  \
    } while (0)

// |a-b| <= atol + rtol*|b|
#define CHECK_CLOSE(a, b, rtol, atol, what)                                  \
    CHECK(fabs((double)(a) - (double)(b)) <= (atol) + (rtol)*fabs((double)(b)), \
          "%s: got %.9g expected %.9g", (what), (double)(a), (double)(b))

// Runs one test function and prints its name.
#define RUN(fn)                                        \
    do {                                               \
        int before_ = harness_failures;                \
        fn();                                          \
        printf("%s %s\n", harness_failures == before_ ? "ok  " : "FAIL", #fn); \
    } while (0)

int harness_finish(void);  // prints the summary, returns the exit code
// Path of a file under the source tree (static buffer, valid until next call).
const char *src_path(const char *rel);
// A fresh temporary directory for this test process (created once).
const char *tmp_dir(void);

// A file path inside tmp_dir() (rotating static buffers: up to 8 alive).
const char *tmp_file(const char *name);

// stderr capture, so tests can check that errors name the offending item.
// capture_end returns the captured text (static buffer, valid until the
// next call); SHOW_ERRORS=1 in the environment also prints it.
void capture_begin(void);
const char *capture_end(void);
// Checks that a call failed with status `want` and that its captured
// stderr contains `needle`.
void check_error(int status, int want, const char *err, const char *needle);

#endif
