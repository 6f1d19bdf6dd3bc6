#!/usr/bin/env bash
# Bad files, by class (issue 13): every one ends with exit 1 (data) or 2
# (usage/config) and an error naming the file, dataset or key - never a
# crash, a hang or a changed input.
#   - a dataset with more dimensions than the reader expects (h5_shape used
#     to copy them into a one-element array: a stack overflow under ASan)
#   - values out of range: a checkpoint step of -5, a data cursor of 2^50
#   - sizes that would allocate gigabytes before failing (neurons file)
#   - a damaged global heap on which HDF5 itself loops (the corpus attribute
#     reader used to spin for minutes) or crashes
#   - model.* keys that disagree with model.checkpoint
#   - inspect fails on what the loaders reject (version, shapes, ranges)
#   - usage errors: usage on stderr, exit 2; a malformed direction exits 2;
#     an empty argument exits 2 naming its position
#   - deep YAML nesting is refused at once
source "$(dirname "$0")/lib.bash"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
PY=/usr/bin/python3
make_mt_corpus
"$LANDERMT" train -c "$CFG" --set train.steps=4 --set train.save_every=2 --set train.eval_every=0 \
  >"$WORK/base.log" 2>&1 || fail "training the base: $(tail -3 "$WORK/base.log")"
CKPT="$WORK/base/step_00000004.h5"
"$LANDERMT" detect -c "$CFG" --set model.checkpoint="$CKPT" >"$WORK/detect.log" 2>&1 ||
  fail "detect: $(tail -3 "$WORK/detect.log")"

# h5py edit: copy SRC to DST, then run the Python statements on f (r+).
h5edit() {
  local src=$1 dst=$2; shift 2
  cp "$src" "$dst"
  "$PY" - "$dst" "$@" <<'PY' || fail "h5py edit of $dst"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    for stmt in sys.argv[2:]:
        exec(stmt)
PY
}

# --- a multi-dimensional dataset where one dimension is expected
O=bitext/en-de/train/tgt_offsets
h5edit "$WORK/mt.h5" "$WORK/rank.h5" "o = f['$O'][()]; del f['$O']; f['$O'] = o.reshape(-1, 1)"
expect_exit 1 "rank.h5.*/$O has 2 dimensions, expected 1" "$LANDERMT" inspect "$WORK/rank.h5"
expect_exit 1 "rank.h5.*/$O has 2 dimensions, expected 1" \
  "$LANDERMT" train -c "$CFG" --set data.corpus="$WORK/rank.h5" --set train.out_dir="$WORK/r"
M=train/metrics/step
h5edit "$CKPT" "$WORK/rank_ckpt.h5" "m = f['$M'][()]; del f['$M']; f['$M'] = np.stack([m, m])"
expect_exit 1 "rank_ckpt.h5.*/$M has 2 dimensions, expected 1" "$LANDERMT" inspect "$WORK/rank_ckpt.h5"
S=awareness/sentences
h5edit "$WORK/neurons.h5" "$WORK/rank_neurons.h5" "s = f['$S'][()]; del f['$S']; f['$S'] = np.stack([s, s, s])"
expect_exit 1 "rank_neurons.h5.*/$S has 2 dimensions, expected 1" "$LANDERMT" inspect "$WORK/rank_neurons.h5"

# --- out-of-range values in a checkpoint: resume and inspect refuse them
R=(train -c "$CFG" --set train.steps=6 --set train.save_every=2 --set train.eval_every=0)
mkdir -p "$WORK/neg" "$WORK/far"
h5edit "$CKPT" "$WORK/neg/step_00000004.h5" "f['train'].attrs['step'] = np.int64(-5)"
expect_exit 1 "step_00000004.h5: /train attribute step = -5 is out of range" \
  "$LANDERMT" "${R[@]}" --set train.out_dir="$WORK/neg" --set train.resume="$WORK/neg/step_00000004.h5"
expect_exit 1 "attribute step = -5 is out of range" "$LANDERMT" inspect "$WORK/neg/step_00000004.h5"
h5edit "$CKPT" "$WORK/far/step_00000004.h5" "f['train/cursors/position'][0] = 2**50"
expect_exit 1 "step_00000004.h5: data position 1125899906842624 of stream en-de is beyond its [0-9]+ sentences" \
  "$LANDERMT" "${R[@]}" --set train.out_dir="$WORK/far" --set train.resume=auto
[[ -f $WORK/far/step_00000004.h5 ]] && pass || fail "the refused checkpoint was removed"

# --- sizes that would allocate before failing: the scores must be in the file first
h5edit "$WORK/neurons.h5" "$WORK/huge.h5" "f.attrs['intermediate_size'] = np.int64(1 << 24)"
/usr/bin/time -f "%M" -o "$WORK/rss" "$LANDERMT" inspect "$WORK/huge.h5" >/dev/null 2>"$WORK/err"
rc=$?
((rc == 1)) && grep -q "huge.h5.*/awareness/scores has shape" "$WORK/err" && pass ||
  fail "neurons file with a huge intermediate_size: exit $rc: $(head -2 "$WORK/err")"
(($(tail -1 "$WORK/rss") < 400000)) && pass || fail "refusing it took $(tail -1 "$WORK/rss") KB"

# --- a damaged global heap: HDF5 loops (or crashes) reading a string attribute
heap() {  # SRC DST spin|crash: patches the first object of the first heap collection
  "$PY" - "$@" <<'PY'
import struct, sys
src, dst, mode = sys.argv[1:]
b = bytearray(open(src, "rb").read())
at = b.find(b"GCOL") + 16
struct.pack_into("<HHIQ", b, at, 0, 0, 0, 0) if mode == "spin" else struct.pack_into("<Q", b, at + 8, 1 << 40)
open(dst, "wb").write(b)
PY
}
heap "$WORK/mt.h5" "$WORK/spin.h5" spin
heap "$WORK/mt.h5" "$WORK/crash.h5" crash
t0=$SECONDS
expect_exit 1 "spin.h5: the file is damaged: .* did not finish within" \
  "$LANDERMT" train -c "$CFG" --set data.corpus="$WORK/spin.h5" --set train.out_dir="$WORK/s"
((SECONDS - t0 < 60)) && pass || fail "the looping corpus took $((SECONDS - t0)) s to refuse"
expect_exit 1 "spin.h5: the file is damaged" "$LANDERMT" inspect "$WORK/spin.h5"
expect_exit 1 "crash.h5: the file is damaged" "$LANDERMT" inspect "$WORK/crash.h5"

# --- inspect fails where the loaders fail
h5edit "$CKPT" "$WORK/v99.h5" "f.attrs['format_version'] = np.int64(99)"
expect_exit 1 "v99.h5: format_version 99 is not supported" "$LANDERMT" inspect "$WORK/v99.h5"
expect_exit 1 "v99.h5: format_version 99 is not supported" \
  "$LANDERMT" translate -c "$CFG" --set model.checkpoint="$WORK/v99.h5" --set translate.direction=en-de
h5edit "$CKPT" "$WORK/nan.h5" "f['params/model.norm.weight'][0] = np.nan"
expect_exit 1 "nan.h5: tensor /params/model.norm.weight\[0\] is nan" "$LANDERMT" inspect "$WORK/nan.h5"
h5edit "$WORK/mt.h5" "$WORK/ids.h5" "f['bitext/en-de/dev/src_tokens'][0] = 99999"
expect_exit 1 "ids.h5: .*src_tokens\[0\] = 99999 is out of range for vocab_size" "$LANDERMT" inspect "$WORK/ids.h5"
head -c 20000 "$CKPT" >"$WORK/short.h5"
expect_exit 1 "short.h5: cannot open: the file is truncated or damaged" "$LANDERMT" inspect "$WORK/short.h5"
"$LANDERMT" inspect "$CKPT" >/dev/null 2>"$WORK/err" && pass || fail "inspect of a good checkpoint: $(cat "$WORK/err")"

# --- model.* keys that disagree with model.checkpoint are refused, naming both values
expect_exit 2 "model.hidden_size = 64 disagrees with model.checkpoint $CKPT, which has hidden_size = 32" \
  "$LANDERMT" translate -c "$CFG" --set model.checkpoint="$CKPT" --set translate.direction=en-de \
  --set model.hidden_size=64
expect_exit 2 "model.architecture = bloom disagrees" \
  "$LANDERMT" detect -c "$CFG" --set model.checkpoint="$CKPT" --set model.architecture=bloom
"$LANDERMT" translate -c "$CFG" --set model.checkpoint="$CKPT" --set translate.direction=en-de \
  --set translate.max_sentences=2 --set model.num_hidden_layers=4 >/dev/null 2>"$WORK/err" && pass ||
  fail "a model key equal to the checkpoint's is refused: $(cat "$WORK/err")"

# --- usage errors: usage on stderr and exit 2, a malformed direction exits 2
"$LANDERMT" >"$WORK/out" 2>"$WORK/err"
rc=$?
((rc == 2)) && [[ ! -s $WORK/out ]] && grep -q "^usage: landermt COMMAND" "$WORK/err" && pass ||
  fail "no command: exit $rc, stdout $(wc -c <"$WORK/out") bytes"
expect_exit 2 "translate.direction: expected a direction" \
  "$LANDERMT" translate -c "$CFG" --set model.checkpoint="$CKPT" --set translate.direction=ende
expect_exit 2 "evaluate.external\[0\]: expected SRC-TGT:SOURCE_FILE,REFERENCE_FILE" \
  "$LANDERMT" evaluate -c "$CFG" --set 'evaluate.external=["en_de:a,b"]'
expect_exit 2 "unknown command 'trian'" "$LANDERMT" trian
# an empty argument (an unset shell variable) is refused, never taken as a path that names nothing
expect_exit 2 "command-line argument 2 \(after 'inspect'\) is empty" "$LANDERMT" inspect ""
expect_exit 2 "command-line argument 3 \(after '-c'\) is empty" "$LANDERMT" train -c ""
expect_exit 2 "command-line argument 3 \(after '$WORK/en-de.tsv'\) is empty" "$LANDERMT" score "$WORK/en-de.tsv" ""
# a missing input is reported once
expect_exit 1 "checkpoint $WORK/none: no such file" "$LANDERMT" convert "$WORK/none" "$WORK/none.h5"
(($(grep -c "^error" "$WORK/err") == 1)) && pass || fail "convert of a missing input: $(cat "$WORK/err")"
"$LANDERMT" score "$WORK/en-de.tsv" "$WORK/en-de.tsv" >/dev/full 2>"$WORK/err"
rc=$?
((rc == 1)) && grep -q "cannot write to standard output" "$WORK/err" && pass ||
  fail "score to a full stdout: exit $rc: $(cat "$WORK/err")"

# --- deep YAML nesting is refused at once (libyaml alone takes a minute)
"$PY" -c "print('train: ' + '[' * 200000)" >"$WORK/deep.yaml"
t0=$SECONDS
expect_exit 2 "deep.yaml:1: nesting deeper than 32 levels" "$LANDERMT" train -c "$WORK/deep.yaml"
((SECONDS - t0 < 10)) && pass || fail "deep YAML took $((SECONDS - t0)) s"
finish
