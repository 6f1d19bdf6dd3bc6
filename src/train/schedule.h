// Learning-rate schedules: constant, or linear warm-up followed by cosine
// or linear decay from lr to min_lr over the remaining steps.
#ifndef LM_SCHEDULE_H
#define LM_SCHEDULE_H
#include <stdint.h>

typedef enum { SCHED_CONSTANT, SCHED_COSINE, SCHED_LINEAR } ScheduleKind;

typedef struct {
    ScheduleKind kind;
    double lr, min_lr;
    int64_t warmup, total;
} Schedule;

// 0 if name is a known schedule (constant, cosine, linear).
int schedule_parse(const char *name, ScheduleKind *kind);
// Learning rate of the update with 0-based index step.
double schedule_lr(const Schedule *s, int64_t step);

#endif
