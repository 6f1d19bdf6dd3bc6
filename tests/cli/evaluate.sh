#!/usr/bin/env bash
# `landermt evaluate`: scores for several checkpoints side by side, the same
# on 1 and 2 ranks, a Markdown and a JSON report, and clear errors.
source "$(dirname "$0")/lib.bash"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
make_mt_corpus
run() { OPENBLAS_NUM_THREADS=1 mpirun --oversubscribe --mca pml ob1 --mca btl self,vader "$@"; }
"$LANDERMT" train -c "$CFG" --set train.steps=120 --set train.save_every=0 --set train.eval_every=0 \
  >"$WORK/base.log" 2>&1 || fail "base: $(tail -3 "$WORK/base.log")"
BASE="$WORK/base/step_00000120.h5"
"$LANDERMT" train -c "$CFG" --set model.checkpoint="$BASE" --set train.steps=30 --set train.save_every=0 \
  --set train.eval_every=0 --set train.out_dir="$WORK/full" >"$WORK/full.log" 2>&1 || fail "full"
E=(evaluate -c "$CFG" --set "evaluate.checkpoints=[base:$BASE, full:$WORK/full/step_00000030.h5]"
   --set 'evaluate.directions=[en-de, en-fr, de-en]' --set evaluate.max_sentences=40
   --set translate.max_new_tokens=32)
for n in 1 2; do
  run -np $n "$LANDERMT" "${E[@]}" --set evaluate.output="$WORK/eval$n" >"$WORK/eval$n.log" 2>&1 \
    && pass || fail "evaluate on $n ranks: $(tail -3 "$WORK/eval$n.log")"
done
cmp -s "$WORK/eval1/eval.json" "$WORK/eval2/eval.json" && pass || fail "eval.json differs between 1 and 2 ranks"
/usr/bin/python3 - "$WORK/eval1/eval.json" <<'PY' && pass || fail "eval.json content"
import json, sys
r = json.load(open(sys.argv[1]))
names = [c["name"] for c in r["checkpoints"]]
ok = names == ["base", "full"] and "tok:13a" in r["bleu_signature"]
for c in r["checkpoints"]:
    d = c["directions"]
    ok &= set(d) == {"en-de", "en-fr", "de-en"} and all(0 <= v["bleu"] <= 100 and 0 <= v["chrf"] <= 100 and v["sentences"] == 40 for v in d.values())
    ok &= set(c["perplexity"]) == {"en", "de", "fr"} and all(p > 1 for p in c["perplexity"].values())
# finetuning on en-de/en-fr must change the scores of those directions
ok &= r["checkpoints"][0]["directions"]["en-de"] != r["checkpoints"][1]["directions"]["en-de"]
print(names, r["checkpoints"][1]["directions"]["en-de"])
sys.exit(0 if ok else 1)
PY
# an external test set: the first lines of the en-de TSV
head -12 "$WORK/en-de.tsv" | cut -f1 >"$WORK/ext.en"
head -12 "$WORK/en-de.tsv" | cut -f2 >"$WORK/ext.de"
"$LANDERMT" "${E[@]}" --set evaluate.output="$WORK/ext" \
  --set "evaluate.external=[\"en-de:$WORK/ext.en,$WORK/ext.de\"]" >"$WORK/ext.log" 2>&1 \
  && grep -q '"en-de (external)": {"bleu": [0-9.]*, "chrf": [0-9.]*, "sentences": 12}' "$WORK/ext/eval.json" \
  && pass || fail "external test set: $(tail -3 "$WORK/ext.log")"
grep -q "^## BLEU change" "$WORK/eval1/eval.md" && grep -q "| en-de |" "$WORK/eval1/eval.md" && pass \
  || fail "eval.md lacks the tables"
expect_exit 1 "no such file" "$LANDERMT" evaluate -c "$CFG" --set "evaluate.checkpoints=[x:$WORK/none.h5]"
expect_exit 2 "needs checkpoints" "$LANDERMT" evaluate -c "$CFG"
expect_exit 1 "no bitext stream 'de-fr'" "$LANDERMT" "${E[@]}" --set 'evaluate.directions=[de-fr]' \
  --set evaluate.output="$WORK/e3"
finish
