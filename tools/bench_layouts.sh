#!/usr/bin/env bash
# The same global batch on one node's cores laid out two ways: 1 rank x 2
# threads vs 2 ranks x 1 thread (docs/benchmarks.md). Each layout runs
# `landermt bench` (train.mode landermt, so both the selective and the full
# step are timed); the layouts alternate REPEATS times and the best run of
# each counts (the machine may be shared: the best is the least disturbed).
# Prints tokens/s per layout and mode and the ratio 2x1 / 1x2.
#
#   bash tools/bench_layouts.sh [BUILD_DIR] [REPEATS] [--set key=value ...]
set -euo pipefail
BIN=${1:-build}/landermt
REPEATS=${2:-3}
shift $(($# < 2 ? $# : 2))
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
GLOBAL=8  # sequences per step, over all ranks
W=$(mktemp -d /tmp/lm_layouts.XXXXXX)
trap 'rm -rf "$W"' EXIT
B=(bench -c configs/bench.yaml --set train.mode=landermt "$@")
for ((i = 0; i < REPEATS; i++)); do
  OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 "$BIN" "${B[@]}" --set train.batch_size=$GLOBAL >"$W/1x2.$i" 2>&1
  OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 mpirun --mca pml ob1 --mca btl self,vader -np 2 \
    "$BIN" "${B[@]}" --set train.batch_size=$((GLOBAL / 2)) >"$W/2x1.$i" 2>&1
done
# best tokens/s of a mode's "step" line over a layout's runs
best() { cat "$W/$1".* | awk -v m="$2" '$1 == m && $2 == "step" && $4 == "ms" { if ($6 > b) b = $6 } END { print b + 0 }'; }
echo "global batch $GLOBAL x $(awk '/seq_len/ { print $2 }' configs/bench.yaml) tokens, best of $REPEATS runs each ($(uptime | sed 's/.*load/load/'))"
for mode in full landermt; do
  a=$(best 1x2 $mode) b=$(best 2x1 $mode)
  awk -v m=$mode -v a="$a" -v b="$b" \
    'BEGIN { printf "%-8s 1 rank x 2 threads %6.0f tokens/s | 2 ranks x 1 thread %6.0f tokens/s | 2x1 / 1x2 = %.2f\n", m, a, b, b / a }'
done
grep -h "gradient sums" "$W"/2x1.* | sed 's/^/2x1 /' | sort | head -4
