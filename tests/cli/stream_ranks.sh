#!/usr/bin/env bash
# Sharded reading on 1, 2 and 3 ranks: disjoint slices covering each global
# micro-batch (tests/unit/test_stream.c --ranks).
source "$(dirname "$0")/lib.bash"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
for n in 1 2 3; do
  mpirun --oversubscribe --mca pml ob1 --mca btl self,vader -np $n \
    "$LM_BINARY_DIR/tests/test_stream" --ranks >"$WORK/log$n" 2>&1 \
    && pass || fail "$n ranks: $(grep -m3 FAIL "$WORK/log$n")"
done
finish
