#!/usr/bin/env bash
# `landermt detect` end to end: the neurons file is the same on 1, 2 and 4
# ranks (scores within 1e-9 relative, identical layers and classes), inspect
# reads it, and bad settings fail clearly.
source "$(dirname "$0")/lib.bash"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
make_mt_corpus
run() { OPENBLAS_NUM_THREADS=1 mpirun --oversubscribe --mca pml ob1 --mca btl self,vader "$@"; }

# a briefly trained base, so the activations are not those of noise
"$LANDERMT" train -c "$CFG" --set train.steps=10 --set train.save_every=0 >"$WORK/base.log" 2>&1 \
  || fail "base training: $(tail -3 "$WORK/base.log")"
BASE="$WORK/base/step_00000010.h5"
for n in 1 2 4; do
  run -np $n "$LANDERMT" detect -c "$CFG" --set model.checkpoint="$BASE" \
    --set detect.output="$WORK/n$n.h5" >"$WORK/detect$n.log" 2>&1 \
    && pass || fail "detect on $n ranks: $(tail -3 "$WORK/detect$n.log")"
done
/usr/bin/python3 - "$WORK" <<'PY' && pass || fail "neurons files differ across rank counts"
import sys, h5py, numpy as np
w = sys.argv[1]
f = [h5py.File(f"{w}/n{n}.h5", "r") for n in (1, 2, 4)]
ok = True
for g in f[1:]:
    a, b = f[0]["awareness/scores"][()], g["awareness/scores"][()]
    rel = np.abs(a - b).max() / np.abs(a).max()
    same_sel = np.array_equal(f[0]["layer_relevance/selected"][()], g["layer_relevance/selected"][()])
    names = []
    f[0]["classes"].visit(lambda p: names.append(p) if isinstance(f[0]["classes"][p], h5py.Dataset) else None)
    same_cls = all(np.array_equal(f[0]["classes"][p][()], g["classes"][p][()]) for p in names)
    same_n = np.array_equal(f[0]["awareness/sentences"][()], g["awareness/sentences"][()])
    print(f"{g.filename}: max rel score diff {rel:.2e}, layers same {same_sel}, classes same {same_cls}, counts same {same_n}")
    ok &= rel <= 1e-9 and same_sel and same_cls and same_n and len(names) > 0
sys.exit(0 if ok else 1)
PY
"$LANDERMT" inspect "$WORK/n1.h5" >"$WORK/inspect.log" 2>&1 && grep -q "selected" "$WORK/inspect.log" \
  && grep -Eq "general [0-9]+ \| en-de [0-9]+ en-fr [0-9]+" "$WORK/inspect.log" && pass \
  || fail "inspect of the neurons file: $(head -5 "$WORK/inspect.log")"

# awareness.unit language: units are the languages; a direction then uses
# the specific neurons of both its languages
"$LANDERMT" detect -c "$CFG" --set model.checkpoint="$BASE" --set awareness.unit=language \
  --set detect.output="$WORK/lang.h5" >"$WORK/lang.log" 2>&1 || fail "language units: $(tail -3 "$WORK/lang.log")"
/usr/bin/python3 -c "
import h5py, sys
f = h5py.File(sys.argv[1], 'r')
units = [u.decode() if isinstance(u, bytes) else u for u in f['units'][()]]
assert f.attrs['unit'] == 'language' and units == ['en', 'de', 'fr'], units
" "$WORK/lang.h5" && pass || fail "language units are not en, de, fr"
"$LANDERMT" train -c "$CFG" --set model.checkpoint="$BASE" --set train.mode=landermt \
  --set train.neurons="$WORK/lang.h5" --set train.steps=3 --set train.warmup_steps=1 \
  --set train.out_dir="$WORK/lang_run" >"$WORK/lang_train.log" 2>&1 && pass \
  || fail "landermt with language units: $(tail -3 "$WORK/lang_train.log")"

D=(detect -c "$CFG" --set model.checkpoint="$BASE" --set detect.output="$WORK/bad.h5")
expect_exit 2 "layers.k = 9 is impossible for a model of 4 layers" "$LANDERMT" "${D[@]}" --set layers.k=9
expect_exit 2 "awareness.epsilon" "$LANDERMT" "${D[@]}" --set awareness.epsilon=1.0
expect_exit 1 "no bitext stream 'de-fr'" "$LANDERMT" "${D[@]}" --set 'data.directions=[en-de, de-fr]'
expect_exit 1 "vocab_size" "$LANDERMT" "${D[@]}" --set model.checkpoint= --set model.vocab_size=100
expect_exit 2 "at least two units" "$LANDERMT" "${D[@]}" --set 'data.directions=[en-de]'
[[ ! -e $WORK/bad.h5 ]] && pass || fail "a failed detect left an output file"
finish
