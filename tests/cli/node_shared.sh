#!/usr/bin/env bash
# train.node_shared: the trainable state once per node (shared memory, each
# rank updating its slice, gradients summed within the node and across
# nodes between slice owners) trains bit for bit like per-rank state at the
# same rank count — 1 and 2 ranks on one node, 4 ranks as 2 emulated nodes
# of 2 — in landermt (small gradient buckets), LoRA and full mode; a killed
# node-shared run resumes to the uninterrupted result.
source "$(dirname "$0")/lib.bash"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
make_mt_corpus
make_mt_base
T=(-c "$CFG" --set model.checkpoint="$BASE" --set train.neurons="$WORK/neurons.h5" --set train.steps=6
   --set train.save_every=3 --set train.eval_every=0 --set debug.pack_chunk_floats=2000)

same() {  # same A B GROUP: byte-identical datasets under GROUP
  /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import sys, h5py
a, b, grp = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r"), sys.argv[3]
names = []
a[grp].visit(lambda n: names.append(n) if isinstance(a[grp][n], h5py.Dataset) else None)
bad = [n for n in names if a[grp][n][()].tobytes() != b[grp][n][()].tobytes()]
sys.exit(1 if bad or not names else 0)
PY
}

for mode in landermt lora full; do
  grp=train/packed; [[ $mode == full ]] && grp=params
  for np in 1 2 4; do
    extra=(); [[ $np == 4 ]] && extra=(--set debug.ranks_per_node=2)
    for shared in false true; do
      run -np $np "$LANDERMT" train "${T[@]}" --set train.mode=$mode --set train.node_shared=$shared \
        "${extra[@]}" --set train.out_dir="$WORK/$mode.$np.$shared" >"$WORK/$mode.$np.$shared.log" 2>&1 \
        || fail "$mode, $np ranks, node_shared $shared: $(tail -3 "$WORK/$mode.$np.$shared.log")"
    done
    same "$WORK/$mode.$np.false/step_00000006.h5" "$WORK/$mode.$np.true/step_00000006.h5" $grp && pass \
      || fail "$mode on $np ranks: node-shared state trains differently from per-rank state"
  done
done
grep -q "gradient sums of [0-9]* bytes per micro-batch in 9 buckets" "$WORK/landermt.2.true.log" \
  && pass || fail "small buckets (4 chunks x 2 layers + gates): $(grep -o 'gradient sums.*' "$WORK/landermt.2.true.log")"

# kill and resume, node-shared on 2 emulated nodes
R=("${T[@]}" --set train.mode=landermt --set train.node_shared=true --set debug.ranks_per_node=2)
run -np 4 "$LANDERMT" train "${R[@]}" --set train.out_dir="$WORK/k" --set debug.exit_at_step=4 \
  >"$WORK/k.log" 2>&1 && fail "the run was not killed"
run -np 4 "$LANDERMT" train "${R[@]}" --set train.out_dir="$WORK/k" --set train.resume=auto \
  >>"$WORK/k.log" 2>&1 || fail "resume: $(tail -3 "$WORK/k.log")"
same "$WORK/landermt.4.true/step_00000006.h5" "$WORK/k/step_00000006.h5" train/packed && pass \
  || fail "a resumed node-shared run differs from the uninterrupted one"

expect_exit 2 "do not form nodes of 3 ranks" run -np 4 "$LANDERMT" train "${R[@]}" \
  --set debug.ranks_per_node=3 --set train.out_dir="$WORK/x"
finish
