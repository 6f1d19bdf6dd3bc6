# Shared by the multi-stage jobs (jobs/demo.sh, jobs/paper_small.sh); source it
# after setting OUT, SCALE and LANDERMT. Provides:
#   job_start          creates $OUT, starts $OUT/stage_times.txt ($TIMES) and
#                      the clock, builds the gettext corpus when it is missing
#   job_total          appends the wall time since job_start to $TIMES
#   run ARGS...        landermt on RANKS (default 2) ranks x 1 thread over
#                      shared memory (ob1/vader), through jobs/mpirun.sh so that
#                      Ctrl-C saves the running stage's checkpoint
#   stage NAME LOG CMD runs CMD with its output in LOG, stops the job with the
#                      end of LOG when it fails, appends its wall time to $TIMES
#   steps N            N x SCALE rounded down, at least 1
#   ckpt DIR STEP      the checkpoint path DIR writes at STEP
#   finetune NAME MODE NEURONS   trains $BASE in MODE into $OUT/NAME for $FT
#                      steps at peak ${LR[MODE]} (cosine to a tenth), LoRA at $RANK
#   evaluate_models NAMES...     evaluates base and $OUT/NAME/step_$FT of each
#                      NAME into $OUT/eval
#   plots ARGS...      tools/plots.py --run $OUT ARGS (skipped without matplotlib)
#   lora_rank ARGS...  the LoRA rank whose trainable entries come nearest to
#                      landermt's under ARGS (as `landermt bench` reports it)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
run() {
  OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
    jobs/mpirun.sh --oversubscribe --mca pml ob1 --mca btl self,vader -np "${RANKS:-2}" "$LANDERMT" "$@"
}
job_start() {
  mkdir -p "$OUT"
  TIMES="$OUT/stage_times.txt"
  : >"$TIMES"
  T0=$(date +%s.%N)
  [[ -f data/gettext/corpus.h5 ]] || stage corpus "$OUT/corpus.log" env LANDERMT="$LANDERMT" bash jobs/gettext_corpus.sh
}
job_total() {
  awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%-16s %7.1f s\n", "total", b - a }' | tee -a "$TIMES"
}
steps() { awk -v n="$1" -v s="$SCALE" 'BEGIN { v = int(n * s); print (v < 1 ? 1 : v) }'; }
ckpt() { printf "%s/%s/step_%08d.h5" "$OUT" "$1" "$2"; }
stage() {
  local name=$1 log=$2 t0 t1
  shift 2
  echo "== $name (log: $log)"
  t0=$(date +%s.%N)
  "$@" >"$log" 2>&1 || { echo "$(basename "$0"): stage $name failed; the end of $log:" >&2; tail -20 "$log" >&2; exit 1; }
  t1=$(date +%s.%N)
  awk -v n="$name" -v a="$t0" -v b="$t1" 'BEGIN { printf "%-16s %7.1f s\n", n, b - a }' | tee -a "$TIMES"
}
finetune() {
  local lr=${LR[$2]}
  stage "$1" "$OUT/$1.log" run train "${CFG[@]}" --set model.checkpoint="$BASE" \
    --set train.mode="$2" --set train.neurons="$3" --set lora.rank="$RANK" \
    --set train.lr="$lr" --set train.min_lr="$(awk -v l="$lr" 'BEGIN { print l / 10 }')" \
    --set train.steps="$FT" --set train.warmup_steps="$(steps 20)" --set train.eval_every="$FT" \
    --set train.out_dir="$OUT/$1"
}
evaluate_models() {
  local ckpts="base:$BASE" m
  for m in "$@"; do ckpts+=", $m:$(ckpt "$m" "$FT")"; done
  stage evaluate "$OUT/evaluate.log" run evaluate "${CFG[@]}" --set evaluate.output="$OUT/eval" \
    --set "evaluate.checkpoints=[$ckpts]"
}
plots() {
  if /usr/bin/python3 -c "import matplotlib, h5py" 2>/dev/null; then
    stage plots "$OUT/plots.log" /usr/bin/python3 tools/plots.py --run "$OUT" "$@"
  else
    echo "plots: skipped (python3-matplotlib or python3-h5py missing; tools/setup.sh installs them)"
  fi
}
lora_rank() {
  local r
  r=$(OPENBLAS_NUM_THREADS=1 "$LANDERMT" bench "$@" --set data.corpus= --set train.mode=landermt \
    --set bench.steps=1 --set bench.warmup=0 | awk '$1 == "lora" && $2 == "rank" { print $3 }')
  [[ -n $r ]] || { echo "$(basename "$0"): landermt bench printed no 'lora rank' line" >&2; return 1; }
  echo "$r"
}
# detect_shares INSPECT_TXT: the share of general and specific neurons per
# selected layer, from `landermt inspect NEURONS.h5` output
# ("  layer L: general G | en-de S1 de-en S2 ...")
detect_shares() {
  awk '/^  layer .*: general/ {
    n = $4; for (i = 7; i <= NF; i += 2) n += $i
    printf "  layer %s: general %.0f%%, specific %.0f%% of %d neurons\n", $2 + 0, 100 * $4 / n, 100 * (n - $4) / n, n }' "$1"
}

# The scripts' first argument, STEPS_SCALE: a positive number.
if ! [[ $SCALE =~ ^[0-9]*\.?[0-9]+$ ]] || ! awk -v s="$SCALE" 'BEGIN { exit !(s > 0) }'; then
  echo "$(basename "$0"): error: STEPS_SCALE '$SCALE' is not a positive number" >&2
  echo "HINT: bash $0 1 for the full run, 0.1 for a quick smoke run" >&2
  exit 2
fi
if [[ ! -x $LANDERMT ]]; then
  echo "$(basename "$0"): error: no landermt binary at $LANDERMT" >&2
  echo "HINT: bash tools/setup.sh builds it into build/, or set LANDERMT=path/to/landermt" >&2
  exit 2
fi
