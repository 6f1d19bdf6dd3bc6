# Shared by the multi-stage jobs (jobs/demo.sh, jobs/paper_small.sh); source it
# after setting OUT, SCALE, TIMES and LANDERMT. Provides:
#   run ARGS...        landermt on RANKS (default 2) ranks x 1 thread over
#                      shared memory (ob1/vader), through jobs/mpirun.sh so that
#                      Ctrl-C saves the running stage's checkpoint
#   stage NAME LOG CMD runs CMD with its output in LOG, stops the job with the
#                      end of LOG when it fails, appends its wall time to $TIMES
#   steps N            N x SCALE rounded down, at least 1
#   ckpt DIR STEP      the checkpoint path DIR writes at STEP
#   lora_rank ARGS...  the LoRA rank whose trainable entries come nearest to
#                      landermt's under ARGS (as `landermt bench` reports it)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
run() {
  OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
    jobs/mpirun.sh --oversubscribe --mca pml ob1 --mca btl self,vader -np "${RANKS:-2}" "$LANDERMT" "$@"
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
