#!/usr/bin/env bash
# `landermt train` end to end on a tiny model: the loss falls, checkpoints
# appear and load back, and bad inputs fail with clear messages.
source "$(dirname "$0")/lib.bash"
make_corpus "$WORK/c.h5"
cat >"$WORK/tiny.yaml" <<YAML
model: {vocab_size: 320, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2,
        num_attention_heads: 4, num_key_value_heads: 2}
data: {corpus: $WORK/c.h5, lang: en}
train: {batch_size: 4, seq_len: 96, steps: 40, lr: 1.0e-2, min_lr: 1.0e-3, warmup_steps: 5,
        eval_every: 20, eval_batches: 2, save_every: 20, keep_last: 1, out_dir: $WORK/run,
        log_every: 1}
YAML

"$LANDERMT" train -c "$WORK/tiny.yaml" >"$WORK/log" 2>&1 || fail "train exited $?: $(tail -3 "$WORK/log")"
first=$(awk '/^step +1\//{print $5; exit}' "$WORK/log")
last=$(awk '/^step +40\//{print $5}' "$WORK/log")
awk -v a="$first" -v b="$last" 'BEGIN{exit !(a > 0 && b < a - 1.0)}' && pass \
  || fail "loss did not fall by > 1 nat: first $first last $last"
[[ -f $WORK/run/step_00000040.h5 ]] && pass || fail "final checkpoint missing"
[[ ! -f $WORK/run/step_00000020.h5 ]] && pass || fail "keep_last 1 did not remove step 20"
grep -q "valid loss" "$WORK/log" && pass || fail "no validation line"
/usr/bin/python3 -c "
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
steps = [r['step'] for r in rows if 'loss' in r]
assert steps == list(range(1, 41)), steps
assert any('valid_loss' in r for r in rows)
" "$WORK/run/metrics.jsonl" && pass || fail "metrics.jsonl is not one JSON object per step"

# The checkpoint loads as a pretrained model (0 steps of training = load only).
"$LANDERMT" train -c "$WORK/tiny.yaml" --set model.checkpoint="$WORK/run/step_00000040.h5" \
  --set train.steps=1 --set train.warmup_steps=0 --set train.out_dir="$WORK/run2" >"$WORK/log2" 2>&1 \
  && pass || fail "training from a checkpoint failed: $(tail -3 "$WORK/log2")"

# Bad inputs: configuration errors exit 2, data errors exit 1.
expect_exit 2 "unknown command" "$LANDERMT" trian -c "$WORK/tiny.yaml"
expect_exit 2 "train.lrr.*did you mean.*train.lr" "$LANDERMT" train -c "$WORK/tiny.yaml" --set train.lrr=1
printf 'train:\n  steps: many\n' >"$WORK/bad.yaml"
expect_exit 2 "bad.yaml:2: train.steps" "$LANDERMT" train -c "$WORK/tiny.yaml" -c "$WORK/bad.yaml"
printf 'train: [1, 2\n' >"$WORK/broken.yaml"
expect_exit 2 "broken.yaml" "$LANDERMT" train -c "$WORK/broken.yaml"
expect_exit 2 "nothere.yaml" "$LANDERMT" train -c "$WORK/nothere.yaml"
expect_exit 1 "missing.h5" "$LANDERMT" train -c "$WORK/tiny.yaml" --set data.corpus="$WORK/missing.h5"
expect_exit 1 "vocab_size" "$LANDERMT" train -c "$WORK/tiny.yaml" --set model.vocab_size=100
expect_exit 1 "no monolingual stream 'xx'" "$LANDERMT" train -c "$WORK/tiny.yaml" --set data.lang=xx
grep -q "the corpus has: mono/en/dev, mono/en/test, mono/en/train" "$WORK/err" && pass || fail "missing stream: no listing of what exists"
head -c 3000 "$WORK/run/step_00000040.h5" >"$WORK/trunc.h5"
expect_exit 1 "trunc.h5" "$LANDERMT" train -c "$WORK/tiny.yaml" --set model.checkpoint="$WORK/trunc.h5"
expect_exit 1 "c.h5.*(format|landermt.checkpoint)" "$LANDERMT" train -c "$WORK/tiny.yaml" --set model.checkpoint="$WORK/c.h5"
# a corpus with another tokenizer than the model's checkpoint is refused
"$LANDERMT" prep --set "prep.text=en:$WORK/text.txt" --set "prep.output=$WORK/other.h5" \
  --set prep.vocab_size=300 --set prep.dev_fraction=0.05 --set prep.test_fraction=0 >/dev/null
expect_exit 1 "another tokenizer" "$LANDERMT" train -c "$WORK/tiny.yaml" --set data.corpus="$WORK/other.h5" \
  --set model.checkpoint="$WORK/run/step_00000040.h5"
expect_exit 2 "seq_len 64 exceeds.*max_position_embeddings 48" "$LANDERMT" train -c "$WORK/tiny.yaml" --set train.seq_len=64 --set model.max_position_embeddings=48
"$LANDERMT" train -c "$WORK/tiny.yaml" --dump-config >"$WORK/dump.yaml" 2>&1 && grep -q "lr: 0.01" "$WORK/dump.yaml" \
  && pass || fail "--dump-config did not print the resolved lr"
finish
