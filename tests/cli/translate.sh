#!/usr/bin/env bash
# `landermt translate` end to end on a tiny model: a corpus split, a file
# and stdin give one line per input and the same translations; greedy and
# beam search; 2 ranks give what 1 rank gives; a finetuned export applies
# CAR routing, and a /landermt group with zero gates (scale 2) decodes
# exactly like the model without it; errors are clear.
source "$(dirname "$0")/lib.bash"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpi() { mpirun --oversubscribe --mca pml ob1 --mca btl self,vader -np 2 "$@"; }
make_mt_corpus
# 160 steps: an earlier model answers eos at once for every sentence, which
# would make the comparisons below vacuous.
"$LANDERMT" train -c "$CFG" --set train.steps=160 --set train.save_every=0 --set train.eval_every=0 \
  >"$WORK/base.log" 2>&1 || fail "base training: $(tail -3 "$WORK/base.log")"
BASE="$WORK/base/step_00000160.h5"
T=(-c "$CFG" --set model.checkpoint="$BASE" --set translate.direction=en-de
   --set translate.max_new_tokens=16 --set translate.batch_size=7)

# The test split's source text, as a file.
/usr/bin/python3 - "$WORK/mt.h5" "$WORK/src.txt" <<'PY' || fail "cannot extract the test sources"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f, open(sys.argv[2], "w") as out:
    for s in f["bitext/en-de/test/src_text"].asstr()[()]: out.write(s + "\n")
PY
N=$(wc -l <"$WORK/src.txt")

"$LANDERMT" translate "${T[@]}" >"$WORK/split.txt" 2>"$WORK/split.err" || fail "split: $(tail -3 "$WORK/split.err")"
[[ $(wc -l <"$WORK/split.txt") -eq $N && $N -gt 50 ]] && pass || fail "split: $(wc -l <"$WORK/split.txt") lines for $N sentences"
grep -q '[a-z]' "$WORK/split.txt" && pass || fail "no translation has a word"
grep -q "^landermt .* translate" "$WORK/split.err" && ! grep -q "^landermt" "$WORK/split.txt" \
  && pass || fail "the banner must go to stderr when translations go to stdout"
"$LANDERMT" translate "${T[@]}" --set translate.input=file:"$WORK/src.txt" --set translate.output="$WORK/file.txt" \
  >/dev/null 2>&1 && cmp -s "$WORK/split.txt" "$WORK/file.txt" && pass || fail "file: input differs from the split"
"$LANDERMT" translate "${T[@]}" --set translate.input=- --set data.corpus= <"$WORK/src.txt" 2>/dev/null \
  | cmp -s "$WORK/split.txt" - && pass || fail "stdin with the checkpoint's tokenizer differs from the split"
"$LANDERMT" translate "${T[@]}" --set translate.max_sentences=5 2>/dev/null | cmp -s - <(head -5 "$WORK/split.txt") \
  && pass || fail "max_sentences=5 is not the first 5 lines"
printf 'bird eats\n\r\ncat\n' | "$LANDERMT" translate "${T[@]}" --set translate.input=- 2>/dev/null >"$WORK/three.txt"
[[ $(wc -l <"$WORK/three.txt") -eq 3 ]] && pass || fail "3 input lines (one empty) gave $(wc -l <"$WORK/three.txt")"

# Beam search; 2 ranks give the same lines (and token count) as 1 rank.
"$LANDERMT" translate "${T[@]}" --set translate.beam=4 >"$WORK/beam.txt" 2>"$WORK/beam.err" \
  && [[ $(wc -l <"$WORK/beam.txt") -eq $N ]] && pass || fail "beam 4: $(tail -2 "$WORK/beam.err")"
grep -q "beam 4" "$WORK/beam.err" && pass || fail "beam width not reported"
mpi "$LANDERMT" translate "${T[@]}" >"$WORK/split2.txt" 2>"$WORK/split2.err" \
  && cmp -s "$WORK/split.txt" "$WORK/split2.txt" && pass || fail "2 ranks (greedy) differ: $(tail -2 "$WORK/split2.err")"
tokens() { grep -o '[0-9]* tokens in' "$1"; }
[[ "$(tokens "$WORK/split.err")" == "$(tokens "$WORK/split2.err")" ]] && pass \
  || fail "token counts differ: $(tokens "$WORK/split.err") vs $(tokens "$WORK/split2.err")"
mpi "$LANDERMT" translate "${T[@]}" --set translate.beam=4 --set translate.input=- <"$WORK/src.txt" 2>/dev/null \
  | cmp -s "$WORK/beam.txt" - && pass || fail "2 ranks (beam, stdin) differ from 1 rank"

# Finetuned models: the training checkpoint (base + trained entries, per-
# direction gates) decodes exactly like its export, with CAR routing;
# per-direction gates know only their directions.
"$LANDERMT" detect -c "$CFG" --set model.checkpoint="$BASE" >"$WORK/detect.log" 2>&1 || fail "detect failed"
FT=(-c "$CFG" --set model.checkpoint="$BASE" --set train.neurons="$WORK/neurons.h5" --set train.mode=landermt
    --set train.steps=3 --set train.eval_every=0 --set train.save_every=0 --set routing.per_direction=true)
"$LANDERMT" train "${FT[@]}" --set train.out_dir="$WORK/lm" >"$WORK/lm.log" 2>&1 || fail "landermt training"
"$LANDERMT" export "${FT[@]}" "$WORK/lm/step_00000003.h5" "$WORK/lm.h5" >/dev/null 2>&1 || fail "export"
"$LANDERMT" translate "${T[@]}" --set model.checkpoint="$WORK/lm.h5" --set translate.direction=en-fr \
  >"$WORK/fr.txt" 2>"$WORK/fr.err" && grep -q "CAR routing" "$WORK/fr.err" && pass || fail "routed en-fr: $(tail -2 "$WORK/fr.err")"
"$LANDERMT" translate "${T[@]}" --set model.checkpoint="$WORK/lm/step_00000003.h5" --set translate.direction=en-fr \
  2>"$WORK/fr2.err" | cmp -s - "$WORK/fr.txt" && [[ -s $WORK/fr.txt ]] && pass \
  || fail "the training checkpoint decodes differently from its export: $(tail -2 "$WORK/fr2.err")"
expect_exit 2 "de-fr has no routing gate.*en-de, en-fr" "$LANDERMT" translate "${T[@]}" \
  --set model.checkpoint="$WORK/lm.h5" --set translate.direction=de-fr --set translate.input=file:"$WORK/src.txt"

# The base plus a /landermt group whose gates are zero (scale 2) decodes
# exactly like the base, whatever the classes.
/usr/bin/python3 - "$BASE" "$WORK/lm.h5" "$WORK/zero.h5" <<'PY' || fail "cannot build the zero-gate checkpoint"
import shutil, sys, h5py
shutil.copy(sys.argv[1], sys.argv[3])
with h5py.File(sys.argv[2], "r") as src, h5py.File(sys.argv[3], "r+") as dst:
    src.copy("landermt", dst)
    for layer in dst["landermt/gates"].values():
        layer["weight"][...] = 0
        layer["bias"][...] = 0
    assert dst["landermt"].attrs["routing_scale"] == 2.0
PY
"$LANDERMT" translate "${T[@]}" --set model.checkpoint="$WORK/zero.h5" >"$WORK/zero.txt" 2>"$WORK/zero.err"
grep -q "CAR routing" "$WORK/zero.err" && cmp -s "$WORK/zero.txt" "$WORK/split.txt" && pass \
  || fail "zero gates do not decode like the base: $(tail -2 "$WORK/zero.err")"

# errors
expect_exit 2 "missing required key translate.direction" "$LANDERMT" translate -c "$CFG" --set model.checkpoint="$BASE"
expect_exit 2 "missing required key model.checkpoint" "$LANDERMT" translate -c "$CFG" --set translate.direction=en-de
expect_exit 2 "translate.direction: expected a direction.*got \"german\"" "$LANDERMT" translate "${T[@]}" --set translate.direction=german
expect_exit 1 "no bitext stream 'de-fr' with split 'test'" "$LANDERMT" translate "${T[@]}" --set translate.direction=de-fr
expect_exit 1 "no bitext stream 'en-de' with split 'valid'" "$LANDERMT" translate "${T[@]}" --set translate.input=valid
expect_exit 1 "file:$WORK/nope.txt: cannot open" "$LANDERMT" translate "${T[@]}" --set translate.input=file:"$WORK/nope.txt"
expect_exit 1 "translate.output $WORK/no/dir/out.txt: cannot create" "$LANDERMT" translate "${T[@]}" \
  --set translate.output="$WORK/no/dir/out.txt"
make_corpus "$WORK/other.h5"
expect_exit 1 "corpus $WORK/other.h5 has another tokenizer" "$LANDERMT" translate "${T[@]}" \
  --set data.corpus="$WORK/other.h5" --set translate.input=file:"$WORK/src.txt"
expect_exit 1 "nope.txt: cannot open" mpi "$LANDERMT" translate "${T[@]}" --set translate.input=file:"$WORK/nope.txt"
ls "$WORK"/*.tmp.* >/dev/null 2>&1 && fail "temporary output files left behind" || pass
finish
