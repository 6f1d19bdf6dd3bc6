#ifndef LM_TIMER_H
#define LM_TIMER_H
#include <time.h>

// Monotonic wall-clock seconds.
static inline double timer_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// Sleeps about `seconds` (a signal may end it early).
static inline void timer_sleep(double seconds) {
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
}
#endif
