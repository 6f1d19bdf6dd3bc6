#!/usr/bin/env bash
# The deterministic gradient sum on 1 to 4 ranks (tests/unit/test_comm.c),
# 3 included: the folding of ranks beyond a power of two.
source "$(dirname "$0")/lib.bash"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
for n in 2 3 4; do
  OPENBLAS_NUM_THREADS=1 mpirun --oversubscribe --mca pml ob1 --mca btl self,vader -np $n \
    "$LM_BINARY_DIR/tests/test_comm" >"$WORK/log$n" 2>&1 \
    && pass || fail "$n ranks: $(grep -m3 FAIL "$WORK/log$n")"
done
finish
