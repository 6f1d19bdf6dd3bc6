#!/usr/bin/env bash
# Every stop signal saves, whatever the step time: training steps of ~3 s (two micro-batches
# of debug.micro_batch_delay=1.5 s, a sleep no signal cuts short, like a long sgemm) are
# stopped under jobs/mpirun.sh with SIGTERM to the wrapper, and with SIGINT to the whole
# process group (as Ctrl-C and timeout(1) do; mpirun itself gets it too). Bare Open MPI
# 4.1 mpirun would SIGKILL the ranks ~2 s after such a signal and exit 1. Each run must
# stop within one micro-batch, exit 75, save every step at most once, and resume to a final
# state byte-identical to an uninterrupted run. One process without a launcher: SIGINT too.
# Before the loop (loading) a stop signal ends the process at once.
source "$(dirname "$0")/lib.bash"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
make_mt_corpus
MPIRUN=("$LM_SOURCE_DIR/jobs/mpirun.sh" --oversubscribe --mca pml ob1 --mca btl "self,vader" -np 2)
T=(train -c "$WORK/tiny_mt.yaml" --set train.steps=5 --set train.eval_every=0 --set train.save_every=1)
SLOW=(--set debug.micro_batch_delay=1.5)
"${MPIRUN[@]}" "$LANDERMT" "${T[@]}" --set train.out_dir="$WORK/ref" >"$WORK/ref.log" 2>&1 ||
  fail "reference run: $(tail -3 "$WORK/ref.log")"

# wait_step LOG N: until LOG shows step N (at most 60 s)
wait_step() { for _ in $(seq 600); do grep -Eq "^step +$2/" "$1" && return 0; sleep 0.1; done; return 1; }

# check_stop NAME RC SECONDS: exit 75 soon after the signal, every step saved once, resume
# to the end equals the uninterrupted run
check_stop() {
  local name=$1 rc=$2 took=$3 log="$WORK/$1.log"
  echo "$name: exit $rc, $took s after the signal"
  [[ $rc == 75 ]] && pass || fail "$name: exit $rc, expected 75: $(grep -v '^step' "$log" | tail -5)"
  ((took <= 10)) && pass || fail "$name: took $took s to stop (one micro-batch is 1.5 s)"
  grep -q "^preemption signal at step" "$log" && pass || fail "$name: no save on the signal"
  local dup; dup=$(grep -o 'saved .*step_[0-9]*\.h5' "$log" | sort | uniq -d)
  [[ -z $dup ]] && pass || fail "$name: saved twice: $dup"
  "${MPIRUN[@]}" "$LANDERMT" "${T[@]}" --set train.out_dir="$WORK/$name" --set train.resume=auto \
    >>"$log" 2>&1 || fail "$name resume: $(tail -3 "$log")"
  /usr/bin/python3 - "$WORK/ref/step_00000005.h5" "$WORK/$name/step_00000005.h5" <<'PY' && pass ||
import sys, h5py
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
names = []
for g in ("params", "train/optimizer/exp_avg", "train/optimizer/exp_avg_sq"):
    a[g].visit(lambda n, g=g: names.append(g + "/" + n) if isinstance(a[g][n], h5py.Dataset) else None)
bad = [n for n in names if a[n][()].tobytes() != b[n][()].tobytes()]
print(f"  resumed vs uninterrupted: {len(names)} datasets, {len(bad)} differ {bad[:2]}")
sys.exit(1 if bad or not names else 0)
PY
    fail "$name: the resumed run differs from the uninterrupted one"
}

# SIGTERM to the wrapper, in the middle of step 2
"${MPIRUN[@]}" "$LANDERMT" "${T[@]}" "${SLOW[@]}" --set train.out_dir="$WORK/term" >"$WORK/term.log" 2>&1 &
pid=$!
wait_step "$WORK/term.log" 1 || fail "term: no step 1: $(tail -3 "$WORK/term.log")"
sleep 0.7
kill -TERM $pid
t0=$SECONDS
wait $pid
check_stop term $? $((SECONDS - t0))

# SIGINT to the whole process group (timeout's and Ctrl-C's way): mpirun gets it too.
# The group is signalled once step 1 is logged, however loaded the machine is (before
# the loop a stop signal ends a run at once: there is nothing to save).
set -m  # job control: the background job gets a process group of its own
"${MPIRUN[@]}" "$LANDERMT" "${T[@]}" "${SLOW[@]}" --set train.out_dir="$WORK/int" >"$WORK/int.log" 2>&1 &
pid=$!
set +m
wait_step "$WORK/int.log" 1 || fail "int: no step 1: $(tail -3 "$WORK/int.log")"
sleep 0.7
kill -INT -- -$pid
t0=$SECONDS
wait $pid
check_stop int $? $((SECONDS - t0))

# Before the loop a stop signal ends the run at once, even in a load that never finishes
# (debug.load_delay: a stuck file system): nothing to save, no checkpoint, no temporary file.
"$LANDERMT" "${T[@]}" --set debug.load_delay=600 --set train.out_dir="$WORK/load" >"$WORK/load.log" 2>&1 &
pid=$!
sleep 1
kill -TERM $pid
t0=$SECONDS
wait $pid
rc=$?
((rc == 143 && SECONDS - t0 <= 3)) && grep -q "terminated (SIGTERM)" "$WORK/load.log" &&
  [[ -z $(ls -A "$WORK/load" 2>/dev/null) ]] && pass ||
  fail "SIGTERM while loading: exit $rc after $((SECONDS - t0)) s: $(tail -2 "$WORK/load.log")"

# one process, no launcher: SIGINT saves and exits 75 as well
"$LANDERMT" "${T[@]}" "${SLOW[@]}" --set train.out_dir="$WORK/one" >"$WORK/one.log" 2>&1 &
pid=$!
wait_step "$WORK/one.log" 1 || fail "one: no step 1"
kill -INT $pid
wait $pid
rc=$?
[[ $rc == 75 ]] && grep -q "^preemption signal at step 1" "$WORK/one.log" && pass ||
  fail "one process, SIGINT: exit $rc: $(tail -3 "$WORK/one.log")"
finish
