#!/usr/bin/env bash
# Rank failure: a rank that dies (SIGKILL, as the OOM killer or a node fault would do)
# while the others train must end the whole job quickly with a non-zero status and a
# message naming the dead rank - never leave the survivors waiting in a collective.
# Open MPI 4.1's mpirun notices the dead child and kills the other ranks (measured:
# ~1 s). The checkpoints written before the failure stay readable. (Under Slurm the
# same holds for srun --kill-on-bad-exit=1, which jobs/slurm/common.sh passes; the
# Slurm test kills a rank there.)
source "$(dirname "$0")/lib.bash"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
make_mt_corpus
LIMIT=30   # seconds the job may take to go down after the kill

# kill_rank NAME RANK SIGNAL: start 2 ranks training, SIGNAL rank RANK after step 12.
kill_rank() {
  local name=$1 rank=$2 sig=$3 log="$WORK/$1.log"
  OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 mpirun --oversubscribe --mca pml ob1 --mca btl self,vader -np 2 \
    "$LANDERMT" train -c "$CFG" --set train.steps=100000 --set train.save_every=5 --set train.eval_every=0 \
    --set train.out_dir="$WORK/$name" >"$log" 2>&1 &
  local mpirun=$! pid="" ranks="" p
  for _ in $(seq 300); do grep -Eq '^step +12/' "$log" 2>/dev/null && break; sleep 0.1; done
  grep -Eq '^step +12/' "$log" || { fail "$name: training did not reach step 12: $(tail -3 "$log")"; kill -KILL $mpirun; return; }
  # The ranks are mpirun's children; Open MPI puts the rank into their environment.
  for p in $(pgrep -P $mpirun); do
    ranks+=" $p"
    tr '\0' '\n' 2>/dev/null <"/proc/$p/environ" | grep -qx "OMPI_COMM_WORLD_RANK=$rank" && pid=$p
  done
  [[ -n $pid ]] || { fail "$name: no process of rank $rank among mpirun's children ($ranks)"; kill -KILL $mpirun; return; }
  local t0=$SECONDS
  kill "-$sig" "$pid"
  for _ in $(seq $((LIMIT * 10))); do kill -0 $mpirun 2>/dev/null || break; sleep 0.1; done
  if kill -0 $mpirun 2>/dev/null; then
    fail "$name: job still running $LIMIT s after rank $rank got SIG$sig (hang)"
    for p in $ranks $mpirun; do kill -KILL "$p" 2>/dev/null; done
  fi
  wait $mpirun
  local rc=$?
  echo "$name: rank $rank SIG$sig -> mpirun exited $rc after $((SECONDS - t0)) s"
  [[ $rc -ne 0 ]] && pass || fail "$name: exit status 0 after a rank died"
  grep -E -m1 "exited on signal" "$log" | sed 's/^/  message: /'
  grep -Eq "process rank $rank .*exited on signal" "$log" && pass ||
    fail "$name: no message naming rank $rank: $(grep -v '^step' "$log" | tail -5)"
  sleep 0.5
  for p in $ranks; do
    [[ -d /proc/$p && $(cat "/proc/$p/stat" 2>/dev/null | awk '{print $3}') != Z ]] &&
      { fail "$name: rank process $p survived the job"; kill -KILL "$p"; }
  done
  # the checkpoints written before the failure are complete and readable
  /usr/bin/python3 - "$WORK/$name" <<'PY' && pass || fail "$name: a checkpoint is unreadable"
import glob, sys, h5py, numpy as np
files = sorted(glob.glob(sys.argv[1] + "/step_*.h5"))
for f in files:
    with h5py.File(f, "r") as h:
        assert all(np.isfinite(h["params"][n][()]).all() for n in h["params"]), f
print(f"  {len(files)} checkpoints readable")
sys.exit(0 if files else 1)
PY
}

kill_rank rank1 1 KILL
kill_rank rank0 0 KILL
finish
