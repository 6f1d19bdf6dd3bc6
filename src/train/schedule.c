#include "train/schedule.h"

#include <math.h>
#include <string.h>

int schedule_parse(const char *name, ScheduleKind *kind) {
    static const char *names[] = {"constant", "cosine", "linear"};
    for (int i = 0; i < 3; i++)
        if (!strcmp(name, names[i])) {
            *kind = (ScheduleKind)i;
            return 0;
        }
    return 1;
}

double schedule_lr(const Schedule *s, int64_t step) {
    if (s->kind == SCHED_CONSTANT) return s->lr;
    if (step < s->warmup) return s->lr * (double)(step + 1) / (double)s->warmup;
    int64_t span = s->total - s->warmup > 1 ? s->total - s->warmup : 1;
    double progress = (double)(step - s->warmup) / (double)span;
    if (progress > 1) progress = 1;
    if (s->kind == SCHED_COSINE)
        return s->min_lr + 0.5 * (s->lr - s->min_lr) * (1.0 + cos(3.14159265358979323846 * progress));
    return s->lr + (s->min_lr - s->lr) * progress;
}
