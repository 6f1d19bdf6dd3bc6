// Stop signals: SIGTERM (Slurm's scancel, time limit, preemption; kill),
// SIGINT (Ctrl-C; srun -X forwards it) and SIGUSR1 (Slurm's --signal, the
// job templates and jobs/mpirun.sh). The handler only records the signal;
// the training loop acts on it - within the current micro-batch - after
// all ranks agree, saves and exits 75 (docs/training.md).
#ifndef LM_SIGNALS_H
#define LM_SIGNALS_H

void signals_install(void);
// The last stop signal received, or 0.
int signals_pending(void);

#endif
