#!/usr/bin/env bash
# Greedy decoding throughput of `landermt translate` against a PyTorch greedy
# decoder with a KV cache (tools/bench_torch_decode.py) on the same
# checkpoint and the same prompts (docs/benchmarks.md). The checkpoint is the
# demo model (configs/demo.yaml: llama, hidden 192, 6 layers, 6/3 heads, vocab
# 8000) trained STEPS steps on the gettext corpus with the prompt "{src}",
# so both decoders see <bos> + the source ids of the first N test sentences
# of DIR. Both run 1 process x THREADS threads, batches of BATCH sentences,
# at most NEW tokens each (PyTorch with OMP_WAIT_POLICY ACTIVE, its default,
# and PASSIVE, which landermt sets for itself); the runs alternate REPEATS
# times and the best run of each counts (the machine may be shared: the best
# is the least disturbed).
# Prints tokens/s of both, their ratio, and how many translations are the
# same text.
#
#   bash tools/bench_decode.sh [BUILD_DIR] [WORK_DIR]
#   env: STEPS=100 N=256 BATCH=32 NEW=48 DIR=en-de THREADS=2 REPEATS=2
set -euo pipefail
BIN=$(realpath "${1:-build}")/landermt
W=${2:-/tmp/lm_bench_decode}
STEPS=${STEPS:-100} N=${N:-256} BATCH=${BATCH:-32} NEW=${NEW:-48} DIR=${DIR:-en-de}
THREADS=${THREADS:-2} REPEATS=${REPEATS:-2}
CORPUS=data/gettext/corpus.h5
[[ -f $CORPUS ]] || { echo "error: $CORPUS is missing" >&2; echo "HINT: bash jobs/gettext_corpus.sh builds it" >&2; exit 1; }
mkdir -p "$W"
C=(-c configs/demo.yaml --set data.prompt='{src}')
CKPT=$W/base/$(printf 'step_%08d.h5' "$STEPS")
if [[ ! -f $CKPT ]]; then
  "$BIN" train "${C[@]}" --set train.steps="$STEPS" --set train.warmup_steps=$((STEPS / 5)) --set train.out_dir="$W/base" --set train.save_every=0 \
    --set train.eval_every=0 >"$W/train.log" 2>&1 || { tail -3 "$W/train.log" >&2; exit 1; }
fi
export OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS
rm -f "$W"/log.*
for ((i = 0; i < REPEATS; i++)); do
  "$BIN" translate "${C[@]}" --set model.checkpoint="$CKPT" --set translate.direction="$DIR" \
    --set translate.max_sentences="$N" --set translate.batch_size="$BATCH" --set translate.beam=1 \
    --set translate.max_new_tokens="$NEW" --set translate.output="$W/landermt.txt" 2>"$W/log.landermt.$i" >/dev/null
  for policy in ACTIVE PASSIVE; do  # torch's OpenMP spins by default; on a shared machine passive wins
    OMP_WAIT_POLICY=$policy /usr/bin/python3 tools/bench_torch_decode.py --checkpoint "$CKPT" --corpus "$CORPUS" \
      --direction "$DIR" --max-sentences "$N" --batch "$BATCH" --max-new-tokens "$NEW" --threads "$THREADS" \
      --output "$W/torch.txt" | sed "s/\$/, OMP_WAIT_POLICY=$policy/" >"$W/log.torch.$i.$policy"
  done
done
# best tokens/s over the runs: "(X tokens/s" in landermt's summary, "X tokens/s)" in torch's
best() { cat "$W/log.$1".* | grep -o "[0-9.]* tokens/s" | awk '{ if ($1 > b) b = $1 } END { print b + 0 }'; }
lm=$(best landermt) pt=$(best torch)
echo "greedy decoding, $DIR, $N sentences, batch $BATCH, <= $NEW new tokens, 1 process x $THREADS threads," \
  "best of $REPEATS runs ($(uptime | sed 's/.*load/load/'))"
grep -h "sentences" "$W"/log.landermt.* | sed 's/^/landermt /'
cat "$W"/log.torch.* | sed 's/^/         /'
awk -v a="$lm" -v b="$pt" 'BEGIN { printf "landermt %.1f tokens/s | torch %.1f tokens/s | landermt / torch = %.2f\n", a, b, a / b }'
same=$(paste -d '\t' "$W/landermt.txt" "$W/torch.txt" | awk -F '\t' '$1 == $2' | wc -l)
echo "same translation text: $same of $(wc -l <"$W/landermt.txt") sentences"
