#!/usr/bin/env bash
# Memory: the plan of a 32M-parameter model trained in full mode matches the
# measured growth of the node's PSS within 10%; node-shared state measurably
# costs less than per-rank state on 2 ranks; a run that cannot fit is refused
# before allocating, with the estimate; landermt plan prints the table of
# docs/memory.md for BLOOM-7b1.
source "$(dirname "$0")/lib.bash"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
make_mt_corpus
CFG="$WORK/mt_data.yaml"  # m.json decides the model
cat >"$WORK/m.json" <<'JSON'
{"model_type": "llama", "hidden_size": 512, "intermediate_size": 1408, "num_hidden_layers": 8,
 "num_attention_heads": 8, "num_key_value_heads": 4, "vocab_size": 8000, "max_position_embeddings": 256,
 "rms_norm_eps": 1e-5, "tie_word_embeddings": false, "torch_dtype": "float32"}
JSON
"$LANDERMT" init "$WORK/m.json" "$WORK/m" >/dev/null || fail "init"
T=(-c "$CFG" --set model.checkpoint="$WORK/m" --set train.mode=full --set train.steps=2
   --set train.save_every=0 --set train.eval_every=0)
"$LANDERMT" train "${T[@]}" --set train.out_dir="$WORK/a" >"$WORK/a.log" 2>&1 || fail "train: $(tail -3 "$WORK/a.log")"
awk '/^memory measured/ { for (i = 1; i <= NF; i++) { if ($i == "beyond") grown = $(i-2); if ($i == "planned") plan = $(i+1) } }
     END { printf "planned %s GB, measured growth %s GB\n", plan, grown; exit !(plan > 0.5 && grown / plan > 0.9 && grown / plan < 1.1) }' \
  "$WORK/a.log" && pass || fail "plan and measurement disagree: $(grep '^memory' "$WORK/a.log")"

for shared in false true; do
  run -np 2 "$LANDERMT" train "${T[@]}" --set train.node_shared=$shared --set train.out_dir="$WORK/s$shared" \
    >"$WORK/s$shared.log" 2>&1 || fail "2 ranks, node_shared $shared: $(tail -3 "$WORK/s$shared.log")"
done
node() { awk '/^memory measured/ { for (i = 1; i <= NF; i++) if ($i == "node") print $(i+1) }' "$1"; }
awk -v a="$(node "$WORK/sfalse.log")" -v b="$(node "$WORK/strue.log")" \
  'BEGIN { printf "node total: per-rank state %s GB, node-shared %s GB\n", a, b; exit !(b < a - 0.3) }' \
  && pass || fail "node-shared state did not save the state of one rank"

expect_exit 1 "needs about [0-9.]+ GB on a node with 1 rank; 0.1 GB are available: refused before allocating" \
  "$LANDERMT" train "${T[@]}" --set debug.memory_limit_mb=100 --set train.out_dir="$WORK/refused"
[[ ! -e $WORK/refused ]] && pass || fail "the refused run created its output directory"

"$LANDERMT" plan "$LM_SOURCE_DIR/configs/models/bloom-7b1.json" --set train.batch_size=2 --set train.seq_len=64 \
  --set train.recompute=true --set train.ce_chunk=64 >"$WORK/plan.md" 2>&1 || fail "plan: $(tail -3 "$WORK/plan.md")"
awk -F'|' '$2 ~ /landermt/ && $4 + 0 == 2 { shared = $7; own = $8 } $2 ~ /full/ && $4 + 0 == 1 { full = $7 }
     END { printf "BLOOM-7b1, 2 ranks: landermt %s GB node-shared, %s GB per-rank state; full %s GB\n", shared, own, full
           exit !(shared < 23 && own > shared + 8 && full > 100) }' "$WORK/plan.md" && pass \
  || fail "the plan table: $(cat "$WORK/plan.md")"
finish
