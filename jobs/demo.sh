#!/usr/bin/env bash
# The demo pipeline (the README's main command), on 2 MPI ranks:
#   1. the gettext corpus (jobs/gettext_corpus.sh): en <-> de/fr/it/zh_CN/ar
#   2. a small base language model pretrained on the monolingual train text
#      of all six languages (no translation data, no dev/test sentence)
#   3. detect: layer relevance, awareness, neuron classes (en-de de-en en-fr fr-en)
#   4. finetuning of the base on those directions: landermt, full, layers
#   5. evaluate: BLEU/chrF on the test split for base, full, layers, landermt,
#      including en-it which no stage trained (interference / forgetting),
#      perplexity per language
# Everything lands in runs/demo (OUT=...); the stage times, trainable entries
# and allreduce bytes are printed at the end.
#   bash jobs/demo.sh [STEPS_SCALE]   # e.g. 0.2 for a quick smoke run
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
OUT=${OUT:-runs/demo}
SCALE=${1:-1}
LANDERMT=${LANDERMT:-./build/landermt}
CFG=(-c configs/demo.yaml --set data.corpus=data/gettext/corpus.h5)
steps() { awk -v n="$1" -v s="$SCALE" 'BEGIN { v = int(n * s); print (v < 1 ? 1 : v) }'; }
# 2 ranks x 1 thread on 2 cores; ob1/vader is the fast shared-memory path. jobs/mpirun.sh:
# Ctrl-C saves the running stage's checkpoint (docs/cluster.md, "Stopping a run").
run() {
  OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
    jobs/mpirun.sh --oversubscribe --mca pml ob1 --mca btl self,vader -np "${RANKS:-2}" "$LANDERMT" "$@"
}
mkdir -p "$OUT"
TIMES="$OUT/stage_times.txt"
: >"$TIMES"
stage() {  # stage NAME LOG command...: runs it, logs it, records its wall time
  local name=$1 log=$2 t0 t1
  shift 2
  echo "== $name (log: $log)"
  t0=$(date +%s.%N)
  "$@" >"$log" 2>&1 || { echo "demo: stage $name failed; the end of $log:" >&2; tail -20 "$log" >&2; exit 1; }
  t1=$(date +%s.%N)
  awk -v n="$name" -v a="$t0" -v b="$t1" 'BEGIN { printf "%-10s %7.1f s\n", n, b - a }' | tee -a "$TIMES"
  grep -E "trainable entries|selected layers|wrote|saved .*step" "$log" | tail -2 || true
}

[[ -f data/gettext/corpus.h5 ]] || stage corpus "$OUT/corpus.log" env LANDERMT="$LANDERMT" bash jobs/gettext_corpus.sh
PRE=$(steps 250)
stage pretrain "$OUT/pretrain.log" run train "${CFG[@]}" --set 'data.directions=[]' \
  --set 'data.mono=[en, de, fr, it, zh_CN, ar]' --set train.batch_size=16 --set train.steps="$PRE" --set train.warmup_steps="$(steps 20)" \
  --set train.out_dir="$OUT/base" --set train.save_every=0 --set train.eval_every="$PRE"
BASE=$(printf "%s/base/step_%08d.h5" "$OUT" "$PRE")
stage detect "$OUT/detect.log" run detect "${CFG[@]}" --set model.checkpoint="$BASE" \
  --set detect.output="$OUT/neurons.h5"
FT=$(steps 100)
for mode in landermt full layers; do
  stage "$mode" "$OUT/$mode.log" run train "${CFG[@]}" --set model.checkpoint="$BASE" \
    --set train.mode=$mode --set train.neurons="$OUT/neurons.h5" --set train.steps="$FT" \
    --set train.warmup_steps="$(steps 10)" \
    --set train.out_dir="$OUT/$mode" --set train.save_every=0 --set train.eval_every="$FT"
done
for mode in landermt layers; do  # standalone models for evaluation
  "$LANDERMT" export "${CFG[@]}" --set model.checkpoint="$BASE" --set train.mode=$mode \
    --set train.neurons="$OUT/neurons.h5" "$(printf "%s/%s/step_%08d.h5" "$OUT" $mode "$FT")" \
    "$OUT/$mode.h5" >>"$OUT/$mode.log" 2>&1
done
stage evaluate "$OUT/evaluate.log" run evaluate "${CFG[@]}" --set evaluate.output="$OUT/eval" \
  --set "evaluate.checkpoints=[base:$BASE, full:$(printf "%s/full/step_%08d.h5" "$OUT" "$FT"), layers:$OUT/layers.h5, landermt:$OUT/landermt.h5]"

echo
cat "$OUT/eval/eval.md"
echo
echo "## Trainable entries and allreduce per step"
for mode in full layers landermt; do
  printf "%-9s " $mode; grep -o "[0-9]* trainable entries.*" "$OUT/$mode.log" | head -1
done
echo
echo "## Wall time per stage"
cat "$TIMES"
if /usr/bin/python3 -c "import matplotlib, h5py" 2>/dev/null; then
  /usr/bin/python3 tools/plots.py --run "$OUT" >"$OUT/plots.log" 2>&1 && echo "plots: $OUT/plots/*.png" \
    || echo "plots: failed, see $OUT/plots.log"
fi
echo "demo: outputs in $OUT (eval/eval.md, eval/eval.json, neurons.h5, */metrics.jsonl, logs)"
