#!/usr/bin/env bash
# A rank that hangs without dying (SIGSTOP, as a stuck file-system read or a wedged node
# would leave it) must end the job: with train.hang_timeout=3 the waiting rank probes the
# others past its deadline (3 s + 3x the slowest step), names the silent rank and its host,
# and MPI_Abort ends the job with exit 1 - while it waits it naps instead of spinning.
# Once with rank 1 stopped (rank 0 reports), once with rank 0 stopped (rank 1 reports).
source "$(dirname "$0")/lib.bash"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
make_mt_corpus
HOST=$(hostname)
LIMIT=40   # seconds the job may take to end after the stop (default settings: < 60)

# rank_pid MPIRUN_PID RANK
rank_pid() {
  local p
  for p in $(pgrep -P "$1"); do
    tr '\0' '\n' 2>/dev/null <"/proc/$p/environ" | grep -qx "OMPI_COMM_WORLD_RANK=$2" && echo "$p"
  done
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

stop_rank() {  # stop_rank NAME RANK
  local name=$1 rank=$2 other=$((1 - $2)) log="$WORK/$1.log"
  OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 mpirun --oversubscribe --mca pml ob1 --mca btl self,vader -np 2 \
    "$LANDERMT" train -c "$WORK/tiny_mt.yaml" --set train.steps=100000 --set train.save_every=0 \
    --set train.eval_every=0 --set train.hang_timeout=3 --set train.out_dir="$WORK/$name" >"$log" 2>&1 &
  local mpirun=$! victim="" waiter=""
  for _ in $(seq 300); do grep -Eq '^step +10/' "$log" 2>/dev/null && break; sleep 0.1; done
  victim=$(rank_pid $mpirun "$rank") waiter=$(rank_pid $mpirun "$other")
  [[ -n $victim && -n $waiter ]] || { fail "$name: ranks not found: $(tail -3 "$log")"; kill -KILL $mpirun; return; }
  kill -STOP "$victim"
  local t0=$SECONDS a b
  sleep 0.5; a=$(cpu_ticks "$waiter"); sleep 2; b=$(cpu_ticks "$waiter")
  for _ in $(seq $((LIMIT * 10))); do kill -0 $mpirun 2>/dev/null || break; sleep 0.1; done
  if kill -0 $mpirun 2>/dev/null; then
    fail "$name: job still running $LIMIT s after rank $rank was stopped (hang)"
    kill -KILL "$victim" "$waiter" $mpirun 2>/dev/null
  fi
  wait $mpirun
  local rc=$?
  echo "$name: rank $rank SIGSTOP -> exit $rc after $((SECONDS - t0)) s; the waiting rank used $((b - a)) CPU ticks in 2 s"
  [[ $rc == 1 ]] && pass || fail "$name: exit $rc, expected 1"
  grep -m1 "did not arrive" "$log" | sed 's/^/  message: /'
  grep -Eq "^error: rank $other \($HOST\): .* rank $rank \($HOST\) did not arrive" "$log" && pass ||
    fail "$name: no message naming rank $rank and its host: $(grep -v '^step' "$log" | tail -4)"
  # naps, not a spin: well under half of the 200 ticks of 2 s
  (((b - a) < 50)) && pass || fail "$name: the waiting rank used $((b - a)) of 200 CPU ticks (spinning)"
  # state T: still stopped, nobody continued or killed it; R/S: continued, never killed
  local state
  state=$(awk '{ print $3 " (parent " $4 ")" }' "/proc/$victim/stat" 2>/dev/null)
  kill -0 "$victim" 2>/dev/null && [[ $state != Z* ]] &&
    { fail "$name: the stopped rank survived the job in state $state"; kill -KILL "$victim"; }
}

stop_rank stop1 1
stop_rank stop0 0
finish
