#!/usr/bin/env bash
# `landermt bench` runs every part it reports on 1 and 2 ranks (correctness
# of what it prints, not speed): the selective mode, the LoRA mode matched
# to its trainable entries, the full step with MFU, detect; the memory it
# plans beyond the model is within 15% of the measured growth for the
# selective and full modes; the overlapped sums are reported next to the
# same sums without overlap; the selective step's FLOP floor is below the
# full step.
source "$(dirname "$0")/lib.bash"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
B=(bench -c "$LM_SOURCE_DIR/configs/bench.yaml" --set model.num_hidden_layers=4 --set train.batch_size=4
   --set train.seq_len=64 --set bench.steps=1 --set bench.warmup=1 --set train.mode=landermt --set layers.k=2)
for np in 1 2; do
  OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 mpirun --oversubscribe --mca pml ob1 --mca btl self,vader -np $np \
    "$LANDERMT" "${B[@]}" >"$WORK/b$np.log" 2>&1 || fail "bench on $np ranks: $(tail -3 "$WORK/b$np.log")"
  for line in "^landermt step" "^lora +rank [0-9]+ .* nearest to the landermt mode's" "^lora +step" \
              "^full +step .* MFU [0-9.]+%" "^landermt step / full step = [0-9.]+" "^detect +step" \
              "^full .* gradient sums [0-9.]+ ms exposed, [0-9.]+ ms without overlap \(" ; do
    grep -Eq "$line" "$WORK/b$np.log" && pass || fail "$np ranks: no line /$line/ in: $(cat "$WORK/b$np.log")"
  done
  # the selective step's floor counts less than the full step's FLOPs at the full step's rate
  awk '/^full +step/ { full = $3 } /^landermt floor/ { floor = $3 } END { exit !(floor > 0 && floor < full) }' \
    "$WORK/b$np.log" && pass || fail "$np ranks: no landermt floor below the full step: $(grep -E '^(full +step|landermt floor)' "$WORK/b$np.log")"
  # detect computes the forward and activation gradients only: between 1/3 and 1 of the full step's FLOPs
  awk '/^detect +step/ { for (i = 1; i < NF; i++) if ($i == "floor") r = $(i+1) } END { exit !(r > 0.34 && r < 0.9) }' \
    "$WORK/b$np.log" && pass || fail "$np ranks: detect floor not within (1/3, 1): $(grep '^detect' "$WORK/b$np.log")"
  # full mode sums the whole model's gradient: 4 bytes per parameter
  awk '/^model [0-9]+ params/ { n = $2 } /^full .*without overlap/ { b = $0; sub(/.*\(/, "", b); sub(/ bytes.*/, "", b) }
       END { exit !(n > 0 && b == 4 * n) }' "$WORK/b$np.log" && pass || fail "$np ranks: full mode's sums are not 4 bytes per parameter"
  awk '/memory planned beyond the model/ && ($1 == "full" || $1 == "landermt") {
         for (i = 1; i <= NF; i++) { if ($i == "=") plan = $(i+1); if ($i == "growth") got = $(i+1) }
         n++; if (got < 0.85 * plan || got > 1.15 * plan) { print; bad = 1 } }
       END { exit bad || n != 2 }' "$WORK/b$np.log" && pass || fail "$np ranks: plan and measured growth disagree"
done
finish
