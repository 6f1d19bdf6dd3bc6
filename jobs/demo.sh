#!/usr/bin/env bash
# The demo pipeline (the README's main command), on 2 MPI ranks:
#   1. the gettext corpus (jobs/gettext_corpus.sh): en <-> de/fr/it/zh_CN/ar
#   2. pretrain: a small llama-style base model trained on the monolingual
#      train text of all six languages plus the bitext of all ten directions
#      (configs/demo_base.yaml), so that it already translates a little;
#      its BLEU/chrF on the test split of all ten directions
#   3. detect: layer relevance, awareness, neuron classes (en-de de-en en-fr fr-en)
#   4. finetuning of the base on those four directions at equal steps:
#      landermt, full, layers, and LoRA at the rank whose trainable entries
#      match landermt's (as `landermt bench` reports it)
#   5. evaluate on the test split: base and the four finetuned models,
#      BLEU/chrF on the four directions and on en-it, which the finetuning
#      does not train, and perplexity per language (all six)
#   6. plots (PNG) when python3-matplotlib is installed (tools/setup.sh does)
# Everything lands in runs/demo (OUT=...); the comparison table, the detected
# layers and neuron classes, the trainable entries and gradient-sum bytes and
# the wall time of each stage are printed at the end.
#   bash jobs/demo.sh [STEPS_SCALE]   # e.g. 0.1 for a quick smoke run
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/demo}
SCALE=${1:-1}
LANDERMT=${LANDERMT:-./build/landermt}
CFG=(-c configs/demo.yaml --set data.corpus=data/gettext/corpus.h5)
MODES=(landermt full layers lora)
# Peak learning rate per mode (cosine to a tenth of it), each the best of
# 1e-3, 3e-3, 1e-2 by the mean dev-split chrF of the four trained directions
# on this base (docs/results.md, "Choices").
declare -A LR=([landermt]=3e-3 [full]=3e-3 [layers]=3e-3 [lora]=1e-2)
source jobs/lib.sh
job_start

PRE=$(steps 1800)
stage pretrain "$OUT/pretrain.log" run train "${CFG[@]}" -c configs/demo_base.yaml \
  --set train.steps="$PRE" --set train.warmup_steps="$(steps 100)" --set train.eval_every="$(steps 600)" \
  --set train.out_dir="$OUT/base"
BASE=$(ckpt base "$PRE")
grep "valid loss" "$OUT/pretrain.log" | tail -1
# What the base translates before any finetuning, in all ten directions
stage base_eval "$OUT/base_eval.log" run evaluate "${CFG[@]}" -c configs/demo_base.yaml \
  --set evaluate.directions=[] --set evaluate.output="$OUT/eval_base" --set "evaluate.checkpoints=[base:$BASE]"

stage detect "$OUT/detect.log" run detect "${CFG[@]}" --set model.checkpoint="$BASE" \
  --set detect.output="$OUT/neurons.h5"
"$LANDERMT" inspect "$OUT/neurons.h5" >"$OUT/neurons.txt"
# LoRA on every linear of every layer at the rank whose trainable entries come
# nearest to landermt's (bench: "lora rank R ... gives N trainable entries").
RANK=$(lora_rank "${CFG[@]}" --set train.neurons="$OUT/neurons.h5")

FT=$(steps 200)
for mode in "${MODES[@]}"; do finetune "$mode" "$mode" "$OUT/neurons.h5"; done
evaluate_models "${MODES[@]}"
plots --trained en-de,de-en,en-fr,fr-en

echo
echo "# The base in all ten directions (test split; $OUT/eval_base/eval.md)"
sed -n '/^## BLEU/,/^## Perplexity/p' "$OUT/eval_base/eval.md" | sed '$d'
echo
cat "$OUT/eval/eval.md"
echo
echo "## Detect (dev split; $OUT/neurons.txt)"
sed -n '/^layer relevance/,/^top specific/p' "$OUT/neurons.txt" | sed '$d'
detect_shares "$OUT/neurons.txt"
echo
echo "## Peak lr, trainable entries and gradient sums per mode (LoRA: rank $RANK on every linear)"
for mode in "${MODES[@]}"; do
  printf "%-9s lr %-5s " "$mode" "${LR[$mode]}"; grep -o "[0-9]* trainable entries.*" "$OUT/$mode.log" | head -1
done
echo
echo "## Wall time per stage"
cat "$TIMES"
job_total
echo "demo: outputs in $OUT (eval/eval.md, eval/eval.json, neurons.h5, plots/*.png, */metrics.jsonl, logs)"
