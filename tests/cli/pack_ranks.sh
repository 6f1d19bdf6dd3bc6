#!/usr/bin/env bash
# Packed allreduce = dense allreduce followed by the direction's mask, on
# 1, 2 and 4 ranks (tests/unit/test_pack.c; every rank has its own data).
source "$(dirname "$0")/lib.bash"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
for n in 1 2 4; do
  OPENBLAS_NUM_THREADS=1 mpirun --oversubscribe --mca pml ob1 --mca btl self,vader -np $n \
    "$LM_BINARY_DIR/tests/test_pack" >"$WORK/log$n" 2>&1 \
    && pass || fail "$n ranks: $(grep -m3 FAIL "$WORK/log$n")"
done
finish
