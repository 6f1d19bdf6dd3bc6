# shellcheck shell=bash
# Shared launch logic of the landermt Slurm templates (jobs/slurm/*.sbatch).
# Sourced, not run. docs/cluster.md explains how to adapt it to a site.
#
# What it does for a template:
#   - loads an optional site environment file (modules),
#   - sets the threads per rank from SLURM_CPUS_PER_TASK (else the job's CPUs per node
#     divided by its tasks per node),
#   - starts `landermt SUBCOMMAND ...` under `srun --mpi=pmix` or jobs/mpirun.sh (mpirun
#     that cannot be made to kill the ranks by SIGTERM/SIGINT; see that file),
#   - forwards SIGUSR1/SIGTERM received by the batch shell to the ranks as SIGUSR1
#     (the ranks then save within the current micro-batch and exit 75),
#   - on exit status 75 requeues the job (`scontrol requeue $SLURM_JOB_ID`),
#   - tells a stop by Slurm (requeue, preemption, scancel, time limit) from a failure,
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
#   LANDERMT_THREADS    threads per rank; default SLURM_CPUS_PER_TASK, else the job's CPUs
#                       per node / tasks per node (overrides an inherited
#                       OPENBLAS_NUM_THREADS / OMP_NUM_THREADS)
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
# shellcheck source=../lm_wait.sh
source "$LANDERMT_HOME/jobs/lm_wait.sh"

# Threads per rank: the batch system's cpus-per-task is the authority inside a job;
# without it, the CPUs the job got on this node shared by its tasks there
# (SLURM_JOB_CPUS_PER_NODE reads like "4(x2)" or "4,2": the first node's count).
_lm_threads=${LANDERMT_THREADS:-${SLURM_CPUS_PER_TASK:-}}
if [[ -z $_lm_threads && -n ${SLURM_JOB_CPUS_PER_NODE:-} && -n ${SLURM_TASKS_PER_NODE:-} ]]; then
  _lm_cpn=${SLURM_JOB_CPUS_PER_NODE%%[(,]*} _lm_tpn=${SLURM_TASKS_PER_NODE%%[(,]*}
  ((_lm_tpn > 0 && _lm_cpn >= _lm_tpn)) && _lm_threads=$((_lm_cpn / _lm_tpn))
fi
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
      # mpirun reads the allocation (nodes, tasks) from Slurm itself. jobs/mpirun.sh keeps
      # a SIGTERM that Slurm sends to every process of the job (scancel, requeue, time
      # limit under proctrack/linuxproc) from making mpirun kill the ranks mid-save.
      # shellcheck disable=SC2206
      LM_LAUNCH=("$LANDERMT_HOME/jobs/mpirun.sh" -np "$ntasks" ${LANDERMT_MPIRUN_ARGS:---bind-to none})
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
_lm_stop=""
# Why Slurm stops the job, from the batch shell's view: "requeue" (scontrol requeue, or
# preemption with PreemptMode=REQUEUE: the job's restart count went up), "cancel"
# (scancel, time limit, preemption by cancel: the job is completing) or "" (the job
# still runs: a --signal warning or a signal sent by hand).
_lm_slurm_stop() {
  [[ -n ${SLURM_JOB_ID:-} ]] || return 0
  local info restarts
  info=$(scontrol show job "$SLURM_JOB_ID" 2>/dev/null)
  restarts=$(grep -o 'Restarts=[0-9]*' <<<"$info" | cut -d= -f2)
  if ((${restarts:-0} > ${SLURM_RESTART_COUNT:-0})); then echo requeue
  elif ! grep -q 'JobState=RUNNING' <<<"$info"; then echo cancel
  fi
}
# A stop signal reached the batch shell: pass it on as SIGUSR1.
# (srun answers SIGTERM by SIGKILLing the tasks; both srun and jobs/mpirun.sh forward
# SIGUSR1 to every rank untouched.)
_lm_forward() {
  local why; why=$(_lm_slurm_stop)
  _lm_stop=${why:-signal}
  case $why in
    requeue) lm_log "batch shell got SIG$1: Slurm is requeueing this job (preemption or scontrol requeue):" \
               "asking the ranks to save; the restart resumes from the newest checkpoint" ;;
    cancel) lm_log "batch shell got SIG$1: Slurm is ending this job (scancel, time limit or preemption):" \
              "asking the ranks to save" ;;
    *) lm_log "batch shell got SIG$1: forwarding SIGUSR1 to the ranks (pid ${_lm_child:-none})" ;;
  esac
  [[ -n $_lm_child ]] && kill -USR1 "$_lm_child" 2>/dev/null
  return 0
}

# lm_run SUB [ARGS...]: runs landermt SUB under the launcher, forwarding signals; on exit
# status 75 requeues the job. Exits the batch script with the final status.
lm_run() {
  lm_args "$@"
  lm_launch_cmd
  local t0=$SECONDS rc
  lm_log "job ${SLURM_JOB_ID:-none} (${SLURM_JOB_NAME:-}) restart ${SLURM_RESTART_COUNT:-0} on" \
    "${SLURM_JOB_NODELIST:-$(hostname)}: ${SLURM_NTASKS:-1} tasks x ${OPENBLAS_NUM_THREADS:-auto} threads," \
    "launcher ${LANDERMT_LAUNCHER:-srun}"
  lm_log "run: ${LM_LAUNCH[*]} ${LM_ARGS[*]}"
  trap '_lm_forward USR1' USR1
  trap '_lm_forward TERM' TERM
  "${LM_LAUNCH[@]}" "${LM_ARGS[@]}" &
  _lm_child=$!
  lm_wait "$_lm_child"
  rc=$LM_RC
  _lm_child=""
  case $_lm_stop:$rc in
    requeue:*) lm_log "landermt $1 exited with status $rc after $((SECONDS - t0)) s: preempted," \
                 "not failed - Slurm requeues the job and it resumes from the newest checkpoint" ;;
    cancel:*) lm_log "landermt $1 exited with status $rc after $((SECONDS - t0)) s: stopped by Slurm" \
                "(scancel, time limit or preemption), not failed;$( ((rc == 75)) && echo " its checkpoint is saved;")" \
                "submit again to resume (train.resume=auto)" ;;
    *) lm_log "landermt $1 exited with status $rc after $((SECONDS - t0)) s" ;;
  esac
  [[ $rc == 75 && $_lm_stop != requeue && $_lm_stop != cancel ]] && lm_requeue
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
