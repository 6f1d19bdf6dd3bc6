#!/usr/bin/env bash
# Rank-count invariance of `landermt train` (full mode): the same config on
# 1, 2 and 4 ranks must give the same loss curve. The loss and gradients
# are normalised by the allreduced token count, so the only differences are
# fp32 summation order (per-rank partial gradient sums, allreduce order):
# ~1e-7 relative per step; AdamW amplifies them slowly, so over 12 steps we
# allow 2e-4 relative on the loss and require the validation loss to agree
# to 1e-3.
source "$(dirname "$0")/lib.bash"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
make_corpus "$WORK/c.h5"
cat >"$WORK/tiny.yaml" <<YAML
model: {vocab_size: 320, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2,
        num_attention_heads: 4, num_key_value_heads: 2}
data: {corpus: $WORK/c.h5, lang: en}
train: {batch_size: 8, seq_len: 96, steps: 12, lr: 5.0e-3, warmup_steps: 2, min_lr: 1.0e-3,
        eval_every: 12, eval_batches: 2, save_every: 0, out_dir: $WORK/run, log_every: 1}
YAML
for n in 1 2 4; do
  OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 mpirun --oversubscribe --mca pml ob1 --mca btl self,vader \
    -np $n "$LANDERMT" train -c "$WORK/tiny.yaml" --set train.out_dir="$WORK/run$n" >"$WORK/log$n" 2>&1 \
    || fail "$n ranks: exit $?: $(tail -3 "$WORK/log$n")"
  awk '/^step +[0-9]+\/12/{print $5}' "$WORK/log$n" >"$WORK/loss$n"
  awk '/valid loss/{print $NF}' "$WORK/log$n" >"$WORK/val$n"
done
[[ $(wc -l <"$WORK/loss1") -eq 12 ]] && pass || fail "expected 12 logged steps, got $(wc -l <"$WORK/loss1")"
for n in 2 4; do
  paste "$WORK/loss1" "$WORK/loss$n" | awk -v n=$n '{d=$1-$2; if (d<0) d=-d; if (d > 2e-4*$1) {print "step " NR ": " $1 " vs " $2 " on " n " ranks"; bad=1}} END{exit bad}' \
    && pass || fail "loss curve on $n ranks differs from 1 rank"
  paste "$WORK/val1" "$WORK/val$n" | awk '{d=$1-$2; if (d<0) d=-d; exit !(NF==2 && d <= 1e-3*$1)}' \
    && pass || fail "valid loss on $n ranks: $(cat "$WORK/val$n") vs $(cat "$WORK/val1")"
done
paste "$WORK/loss1" "$WORK/loss2" "$WORK/loss4" | head -12
finish
