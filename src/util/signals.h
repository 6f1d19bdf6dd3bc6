// Stop signals: SIGTERM (Slurm's scancel, time limit, preemption; kill),
// SIGINT (Ctrl-C; srun -X forwards it) and SIGUSR1 (Slurm's --signal, the
// job templates and jobs/mpirun.sh).
//
// By default a stop signal ends the process at once, like the default
// action, after removing the temporary files being written (so a stuck load
// or a long write can always be stopped and leaves no debris). The training
// loop defers them instead: the handler only records the signal and the loop
// acts on it - within the current micro-batch - after all ranks agree, saves
// and exits 75 (docs/training.md). SIGUSR1, a request to checkpoint, is
// deferred for the whole training command (SIGNALS_DEFER_USR1).
#ifndef LM_SIGNALS_H
#define LM_SIGNALS_H

enum { SIGNALS_DEFER_NONE = 0, SIGNALS_DEFER_USR1 = 1, SIGNALS_DEFER_ALL = 2 };

void signals_install(void);
// Which stop signals only set the flag from now on (SIGNALS_DEFER_*).
void signals_defer(int mode);
// The last deferred stop signal received, or 0.
int signals_pending(void);

// A temporary file a signal must not leave behind: removed if a stop
// signal ends the process while it is tracked. Untrack once it is renamed
// or removed. Paths are copied; a handful can be tracked at once.
void signals_track_tmp(const char *path);
void signals_untrack_tmp(const char *path);

#endif
