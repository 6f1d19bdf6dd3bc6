#!/usr/bin/env bash
# The main job: build a small corpus, then train with 2 MPI ranks.
# Usage: bash jobs/demo.sh [extra landermt args, e.g. --set train.steps=50]
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
RANKS=${RANKS:-2}
mkdir -p runs/demo
cat /usr/share/common-licenses/* >runs/demo/licenses.txt
./build/landermt prep -c configs/demo.yaml
# 2 ranks x 1 thread on a 2-core machine; ob1/vader is the fast local path.
OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
  mpirun --oversubscribe --mca pml ob1 --mca btl self,vader -np "$RANKS" \
  ./build/landermt train -c configs/demo.yaml "$@"
echo "demo: checkpoints in runs/demo/lm/"
