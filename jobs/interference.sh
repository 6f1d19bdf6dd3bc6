#!/usr/bin/env bash
# Interference matrix: finetune the base on ONE direction at a time and
# evaluate every direction, so off-diagonal cells show what training one
# direction does to the others (negative = interference / forgetting).
#   bash jobs/interference.sh BASE.h5 NEURONS.h5 [MODE] [STEPS]
# Uses configs/demo.yaml (corpus, model, evaluate.directions); MODE is a
# train.mode (default landermt), STEPS the finetuning steps (default 100).
# Writes runs/interference/matrix.md (BLEU change vs the base).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
BASE=${1:?usage: jobs/interference.sh BASE.h5 NEURONS.h5 [MODE] [STEPS]}
NEURONS=${2:?usage: jobs/interference.sh BASE.h5 NEURONS.h5 [MODE] [STEPS]}
MODE=${3:-landermt}
STEPS=${4:-100}
OUT=${OUT:-runs/interference}
LANDERMT=${LANDERMT:-./build/landermt}
DIRS=(${DIRS:-en-de de-en en-fr fr-en})
run() {
  OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
    mpirun --oversubscribe --mca pml ob1 --mca btl self,vader -np "${RANKS:-2}" "$LANDERMT" "$@"
}
mkdir -p "$OUT"
CFG=(-c configs/demo.yaml --set model.checkpoint="$BASE" --set train.neurons="$NEURONS"
     --set train.mode="$MODE" --set train.steps="$STEPS" --set train.warmup_steps=$((STEPS / 10))
     --set train.save_every=0 --set train.eval_every=0)
CKPTS="base:$BASE"
for d in "${DIRS[@]}"; do
  echo "== train $MODE on $d only"
  run train "${CFG[@]}" --set "data.directions=[$d]" --set train.out_dir="$OUT/$d" >"$OUT/$d.log" 2>&1 \
    || { echo "interference: training on $d failed, see $OUT/$d.log" >&2; exit 1; }
  final=$(printf "%s/%s/step_%08d.h5" "$OUT" "$d" "$STEPS")
  if [[ $MODE != full ]]; then
    "$LANDERMT" export "${CFG[@]}" --set "data.directions=[$d]" "$final" "$OUT/$d.h5" >>"$OUT/$d.log" 2>&1
    final="$OUT/$d.h5"
  fi
  CKPTS="$CKPTS, $d:$final"
done
echo "== evaluate"
run evaluate -c configs/demo.yaml --set "evaluate.checkpoints=[$CKPTS]" --set evaluate.output="$OUT/eval" \
  >"$OUT/evaluate.log" 2>&1
/usr/bin/python3 - "$OUT/eval/eval.json" "$OUT/matrix.md" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
base, rows = r["checkpoints"][0], r["checkpoints"][1:]
cols = list(base["directions"])
lines = ["# Interference matrix (BLEU change vs the base; row = the only direction trained)", "",
         "| trained \\ evaluated | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
for c in rows:
    cells = [f"{c['directions'][d]['bleu'] - base['directions'][d]['bleu']:+.2f}" for d in cols]
    lines.append(f"| {c['name']} | " + " | ".join(cells) + " |")
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
echo "interference: $OUT/matrix.md"
