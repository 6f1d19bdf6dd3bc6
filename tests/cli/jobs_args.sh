#!/usr/bin/env bash
# The multi-stage jobs (jobs/demo.sh, jobs/paper_small.sh) refuse a
# STEPS_SCALE that is not a positive number, and a missing landermt binary,
# before any stage starts: exit 2, the problem named, a HINT, and no output
# directory made.
source "$(dirname "$0")/lib.bash"
for job in demo paper_small; do
  for bad in abc 0 -1 1e-2; do
    OUT="$WORK/$job.$bad" LANDERMT="$LANDERMT" bash "$LM_SOURCE_DIR/jobs/$job.sh" "$bad" >"$WORK/out" 2>"$WORK/err"
    rc=$?
    [[ $rc == 2 ]] && pass || fail "$job.sh '$bad': exit $rc, expected 2"
    grep -q "STEPS_SCALE '$bad' is not a positive number" "$WORK/err" && grep -q "^HINT:" "$WORK/err" \
      && pass || fail "$job.sh '$bad': no error naming the value: $(cat "$WORK/err")"
    [[ ! -e "$WORK/$job.$bad" ]] && pass || fail "$job.sh '$bad': made its output directory"
  done
  OUT="$WORK/$job.nobin" LANDERMT="$WORK/no/landermt" bash "$LM_SOURCE_DIR/jobs/$job.sh" 0.1 >"$WORK/out" 2>"$WORK/err"
  rc=$?
  [[ $rc == 2 ]] && grep -q "no landermt binary at $WORK/no/landermt" "$WORK/err" && grep -q "^HINT:" "$WORK/err" \
    && [[ ! -e "$WORK/$job.nobin" ]] && pass || fail "$job.sh without a binary: exit $rc: $(cat "$WORK/err")"
done
finish
