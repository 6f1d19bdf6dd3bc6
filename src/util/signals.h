// Preemption signals (Slurm's SIGTERM at scancel / time limit, SIGUSR1 from
// --signal): the handler only records the signal; the training loop acts
// on it at the next step boundary, after all ranks agree.
#ifndef LM_SIGNALS_H
#define LM_SIGNALS_H

void signals_install(void);
// The signal received (SIGTERM or SIGUSR1), or 0.
int signals_pending(void);

#endif
