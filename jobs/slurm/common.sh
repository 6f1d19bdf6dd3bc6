# shellcheck shell=bash
# Shared launch logic of the landermt Slurm templates (jobs/slurm/*.sbatch).
# Sourced, not run. docs/cluster.md explains how to adapt it to a site.
#
# What it does for a template:
#   - loads an optional site environment file (modules),
#   - sets the threads per rank from SLURM_CPUS_PER_TASK,
#   - starts `landermt SUBCOMMAND ...` under `srun --mpi=pmix` or `mpirun`,
#   - forwards SIGUSR1/SIGTERM received by the batch shell to the ranks as SIGUSR1
#     (the ranks then save at the next step boundary and exit 75),
#   - on exit status 75 requeues the job (`scontrol requeue $SLURM_JOB_ID`),
#   - logs every decision with a "[landermt-job]" prefix on stderr.
#
# Environment (all optional; sbatch passes the submitting shell's environment on):
#   LANDERMT            the landermt executable [$LANDERMT_HOME/build/landermt, else `landermt` on PATH]
#   LANDERMT_HOME       the landermt checkout (located automatically; set it if the job
#                       cannot see the submitted script's directory)
#   LANDERMT_CONFIG     config file(s), space-separated, each becomes `-c FILE`
#   LANDERMT_SET        overrides, space-separated KEY=VALUE, each becomes `--set KEY=VALUE`
#   LANDERMT_LAUNCHER   srun | mpirun                                  [srun]
#   LANDERMT_SRUN_ARGS  extra srun arguments (e.g. "--mpi=pmix_v4")   [--mpi=pmix]
#   LANDERMT_MPIRUN_ARGS extra mpirun arguments (e.g. "--mca pml ucx") [--bind-to none]
#   LANDERMT_THREADS    threads per rank; default SLURM_CPUS_PER_TASK (overrides an
#                       inherited OPENBLAS_NUM_THREADS / OMP_NUM_THREADS)
#   LANDERMT_REQUEUE    1 = on exit 75 run `scontrol requeue` (default); 0 = just exit 75
#   LANDERMT_MAX_RESTARTS  no requeue once SLURM_RESTART_COUNT reaches this [100]
#                       (guards against a time limit shorter than the signal lead)
#   LANDERMT_ENV_FILE   a file sourced first (e.g. `module load openmpi hdf5 openblas`)
#   LANDERMT_EXPORT     evaluate.sbatch: IN=OUT pairs exported to standalone checkpoints
#                       before evaluating (IN a checkpoint or a train.out_dir); see lm_export
#   HDF5_USE_FILE_LOCKING  defaults to FALSE here (NFS/Lustre/GPFS; checkpoints are
#                       written to a temporary name and renamed, so no lock is needed)
# Arguments of the template are passed to landermt after the above; a first argument
# that does not start with "-" is taken as a config file (`sbatch X.sbatch my.yaml`).

lm_log() { printf '[landermt-job %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# shellcheck source=/dev/null
[[ -n ${LANDERMT_ENV_FILE:-} ]] && { lm_log "sourcing $LANDERMT_ENV_FILE"; source "$LANDERMT_ENV_FILE"; }

if [[ -z ${LANDERMT_HOME:-} ]]; then
  LANDERMT_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fi
if [[ -z ${LANDERMT:-} ]]; then
  if [[ -x $LANDERMT_HOME/build/landermt ]]; then LANDERMT=$LANDERMT_HOME/build/landermt
  else LANDERMT=$(command -v landermt || echo landermt); fi
fi
export HDF5_USE_FILE_LOCKING=${HDF5_USE_FILE_LOCKING:-FALSE}

# Threads per rank: the batch system's cpus-per-task is the authority inside a job.
_lm_threads=${LANDERMT_THREADS:-${SLURM_CPUS_PER_TASK:-}}
if [[ -n $_lm_threads ]]; then
  export OPENBLAS_NUM_THREADS=$_lm_threads OMP_NUM_THREADS=$_lm_threads
fi

# lm_args SUB [ARGS...]: fills the array LM_ARGS with the landermt command line.
lm_args() {
  local sub=$1; shift
  LM_ARGS=("$LANDERMT" "$sub")
  local f kv
  for f in ${LANDERMT_CONFIG:-}; do LM_ARGS+=(-c "$f"); done
  if [[ $# -gt 0 && $1 != -* ]]; then LM_ARGS+=(-c "$1"); shift; fi
  for kv in ${LANDERMT_SET:-}; do LM_ARGS+=(--set "$kv"); done
  LM_ARGS+=("$@")
}

# lm_launch_cmd: fills LM_LAUNCH with the launcher prefix for this allocation.
lm_launch_cmd() {
  local ntasks=${SLURM_NTASKS:-${SLURM_NPROCS:-1}}
  case ${LANDERMT_LAUNCHER:-srun} in
    srun)
      # --kill-on-bad-exit: a rank that dies takes the step down (Slurm's default is to
      # let the others wait for it forever). Slurm 22.05 srun does not inherit
      # --cpus-per-task from sbatch, so it is passed explicitly.
      # shellcheck disable=SC2206
      LM_LAUNCH=(srun ${LANDERMT_SRUN_ARGS:---mpi=pmix} --kill-on-bad-exit=1 -n "$ntasks")
      [[ -n ${SLURM_CPUS_PER_TASK:-} ]] && LM_LAUNCH+=(--cpus-per-task="$SLURM_CPUS_PER_TASK")
      ;;
    mpirun)
      # mpirun reads the allocation (nodes, tasks) from Slurm itself.
      # shellcheck disable=SC2206
      LM_LAUNCH=(mpirun -np "$ntasks" ${LANDERMT_MPIRUN_ARGS:---bind-to none})
      ;;
    *) lm_log "error: LANDERMT_LAUNCHER=${LANDERMT_LAUNCHER} (expected srun or mpirun)"; exit 2 ;;
  esac
}

# lm_export [ARGS...]: for each IN=OUT in LANDERMT_EXPORT (space-separated), turns the
# training checkpoint IN - or, when IN is a directory, its newest step_*.h5 - into the
# standalone checkpoint OUT (`landermt export`, one process, with the job's config for
# the base model). evaluate.sbatch does this first: evaluate and translate read only
# standalone checkpoints, and a train.mode=landermt checkpoint holds just the trained
# entries.
lm_export() {
  local pair in out rc
  for pair in ${LANDERMT_EXPORT:-}; do
    in=${pair%%=*} out=${pair#*=}
    [[ -d $in ]] && in=$(find "$in" -maxdepth 1 -name 'step_*.h5' | sort | tail -1)
    [[ -n $in && -f $in && $pair == *=* ]] ||
      { lm_log "error: LANDERMT_EXPORT entry '$pair': no checkpoint (expected IN=OUT)"; exit 1; }
    lm_args export "$@"
    LM_ARGS+=("$in" "$out")
    lm_log "export: ${LM_ARGS[*]}"
    "${LM_ARGS[@]}" || { rc=$?; lm_log "landermt export failed with status $rc"; exit "$rc"; }
  done
}

_lm_child=""
_lm_signalled=0
# A preemption/time-limit signal reached the batch shell: pass it on as SIGUSR1.
# (srun answers SIGTERM by SIGKILLing the tasks and mpirun by killing the job after
# a few seconds; both forward SIGUSR1 to every rank untouched.)
_lm_forward() {
  _lm_signalled=1
  lm_log "batch shell got SIG$1: forwarding SIGUSR1 to the ranks (pid ${_lm_child:-none})"
  [[ -n $_lm_child ]] && kill -USR1 "$_lm_child" 2>/dev/null
  return 0
}

# lm_run SUB [ARGS...]: runs landermt SUB under the launcher, forwarding signals; on exit
# status 75 requeues the job. Exits the batch script with the final status.
lm_run() {
  lm_args "$@"
  lm_launch_cmd
  local t0=$SECONDS
  lm_log "job ${SLURM_JOB_ID:-none} (${SLURM_JOB_NAME:-}) restart ${SLURM_RESTART_COUNT:-0} on" \
    "${SLURM_JOB_NODELIST:-$(hostname)}: ${SLURM_NTASKS:-1} tasks x ${OPENBLAS_NUM_THREADS:-auto} threads," \
    "launcher ${LANDERMT_LAUNCHER:-srun}"
  lm_log "run: ${LM_LAUNCH[*]} ${LM_ARGS[*]}"
  trap '_lm_forward USR1' USR1
  trap '_lm_forward TERM' TERM
  "${LM_LAUNCH[@]}" "${LM_ARGS[@]}" &
  _lm_child=$!
  local rc _lm_last=""
  # `wait` returns early (status > 128) when a trapped signal arrives; wait again then.
  # A second wait on a child whose status was already collected says 127.
  while :; do
    _lm_signalled=0
    wait "$_lm_child"; rc=$?
    [[ $_lm_signalled == 1 && $rc -gt 128 ]] && { _lm_last=$rc; continue; }
    [[ $rc == 127 && -n ${_lm_last:-} ]] && ! kill -0 "$_lm_child" 2>/dev/null && rc=$_lm_last
    break
  done
  _lm_child=""
  lm_log "landermt $1 exited with status $rc after $((SECONDS - t0)) s"
  [[ $rc == 75 ]] && lm_requeue
  exit "$rc"
}

# The ranks saved a checkpoint and exited 75: put the job back in the queue. The
# requeued job keeps its id, its afterok dependants keep waiting, and it resumes
# (train.resume=auto). Only a RUNNING job is requeued: `scontrol requeue` would also
# bring back a job that is being cancelled (scancel) or ended by its time limit,
# whose SIGTERM reached the ranks too - that one must stay ended.
lm_requeue() {
  [[ -n ${SLURM_JOB_ID:-} && ${LANDERMT_REQUEUE:-1} == 1 ]] || exit 75
  local state
  state=$(scontrol show job "$SLURM_JOB_ID" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -1)
  if ((${SLURM_RESTART_COUNT:-0} >= ${LANDERMT_MAX_RESTARTS:-100})); then
    lm_log "not requeued: already restarted ${SLURM_RESTART_COUNT} times (LANDERMT_MAX_RESTARTS)"
    exit 75
  fi
  if [[ $state != JobState=RUNNING ]]; then
    lm_log "not requeued: ${state:-job state unknown} (cancelled, timed out or preempted by Slurm)"
    exit 75
  fi
  # Requeueing ends this run at once: Slurm sends SIGTERM to the batch shell, which
  # has nothing left to forward.
  trap ':' TERM USR1
  lm_log "requeueing job $SLURM_JOB_ID (restart $((${SLURM_RESTART_COUNT:-0} + 1)) will resume)"
  if scontrol requeue "$SLURM_JOB_ID"; then
    exit 0
  fi
  lm_log "scontrol requeue failed; exiting 75 (a site with RequeueExit=75 requeues it)"
  exit 75
}
